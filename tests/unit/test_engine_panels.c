/* test_engine_panels.c: the map's panels made by the score pass (gd_engine_panels) equal a
 * plain box average of the display bands (nodata and NaN left out), also where a box
 * spans two or three strips, and are bit-identical for 1 and 2 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/engine.h"
#include "geodelta/job.h"

#define W 301
#define H 517 /* strips of 256 rows: 256 + 256 + 5 */
#define NB 3
#define NODATA 7.0f

static char path[2][256];
static float *pix[2][NB];

static int noop_strip(void *user, const gd_strip *s)
{
    (void)user;
    (void)s;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    GDALAllRegister();
    srand(12345);
    for (int d = 0; d < 2; d++) {
        snprintf(path[d], sizeof path[d], "/tmp/gd_test_panels_%d_%d.tif", (int)getpid(), d);
        GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path[d], W, H, NB,
                                     GDT_Float32, NULL);
        assert_non_null(ds);
        for (int b = 0; b < NB; b++) {
            pix[d][b] = malloc(sizeof(float) * W * H);
            for (size_t i = 0; i < (size_t)W * H; i++) {
                int r = rand() % 100;
                pix[d][b][i] = r < 3 ? NAN : r < 6 ? NODATA : (float)(rand() % 10000) / 7.0f;
            }
            /* a block of nodata only: its panel pixels are NaN */
            for (int y = 300; y < 330; y++)
                for (int x = 0; x < 40; x++)
                    pix[d][b][(size_t)y * W + x] = NODATA;
            GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
            GDALSetRasterNoDataValue(band, NODATA);
            assert_int_equal(GDALRasterIO(band, GF_Write, 0, 0, W, H, pix[d][b], W, H,
                                          GDT_Float32, 0, 0), CE_None);
        }
        GDALClose(ds);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        unlink(path[d]);
        for (int b = 0; b < NB; b++)
            free(pix[d][b]);
    }
    return 0;
}

/* The panels of a pw x ph map made by gd_engine_run with `threads` workers. */
static void run_panels(int threads, int pw, int ph, float *out[2][NB])
{
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_threads(job, threads);
    GDALDatasetH ds[2];
    gd_band bands[2];
    for (int d = 0; d < 2; d++) {
        ds[d] = GDALOpen(path[d], GA_ReadOnly);
        assert_non_null(ds[d]);
        assert_int_equal(gd_band_from(job, ds[d], 1, &bands[d]), GD_OK);
    }
    gd_grid grid;
    memset(&grid, 0, sizeof grid);
    grid.width = W;
    grid.height = H;
    double gt[6] = {0, 1, 0, 0, 0, -1};
    memcpy(grid.gt, gt, sizeof gt);
    gd_engine_panels pn;
    memset(&pn, 0, sizeof pn);
    pn.nb = NB;
    pn.pw = pw;
    pn.ph = ph;
    for (int d = 0; d < 2; d++)
        for (int b = 0; b < NB; b++) {
            pn.bands[d][b] = NB - b; /* any order, as the display bands are */
            out[d][b] = pn.out[d][b] = malloc(sizeof(float) * (size_t)pw * (size_t)ph);
        }
    gd_engine_spec sp = {.grid = &grid, .before = &bands[0], .after = &bands[1], .nb = 1,
                         .fn = noop_strip, .panels = &pn};
    assert_int_equal(gd_engine_run(job, &sp), GD_OK);
    for (int d = 0; d < 2; d++)
        GDALClose(ds[d]);
    gd_job_destroy(job);
}

static void check(int pw, int ph)
{
    float *one[2][NB], *two[2][NB];
    run_panels(1, pw, ph, one);
    run_panels(2, pw, ph, two);
    int nan_seen = 0;
    for (int d = 0; d < 2; d++)
        for (int b = 0; b < NB; b++) {
            assert_memory_equal(one[d][b], two[d][b], sizeof(float) * (size_t)pw * (size_t)ph);
            const float *src = pix[d][NB - 1 - b];
            for (int py = 0; py < ph; py++)
                for (int px = 0; px < pw; px++) {
                    int y0 = py * H / ph, y1 = (py + 1) * H / ph;
                    int x0 = px * W / pw, x1 = (px + 1) * W / pw;
                    double s = 0;
                    long n = 0;
                    for (int y = y0; y < y1; y++)
                        for (int x = x0; x < x1; x++) {
                            float v = src[(size_t)y * W + x];
                            if (!isnan(v) && v != NODATA) {
                                s += v;
                                n++;
                            }
                        }
                    float got = one[d][b][(size_t)py * pw + px];
                    if (n == 0) {
                        assert_true(isnan(got));
                        nan_seen = 1;
                    } else {
                        double want = s / n;
                        if (fabs(got - want) > 1e-5 * fabs(want) + 1e-4)
                            fail_msg("date %d band %d panel (%d, %d): %.9g, box average %.9g",
                                     d, b, px, py, got, want);
                    }
                }
            free(one[d][b]);
            free(two[d][b]);
        }
    if (pw >= 40 && ph >= 40)
        assert_true(nan_seen);
}

/* boxes of 5.6 x 9.75 px: some straddle the strips' edges at rows 256 and 512 */
static void test_panels_small_boxes(void **state)
{
    (void)state;
    check(53, 53);
}

/* one box as tall as 258 rows (two strips), then the whole image (three) */
static void test_panels_boxes_over_strips(void **state)
{
    (void)state;
    check(7, 2);
    check(1, 1);
}

/* as many panel pixels as grid pixels: every box one pixel */
static void test_panels_full_size(void **state)
{
    (void)state;
    check(W, H);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_panels_small_boxes),
        cmocka_unit_test(test_panels_boxes_over_strips),
        cmocka_unit_test(test_panels_full_size),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
