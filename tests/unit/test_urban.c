/* test_urban.c: the urban method: the RMA normalisation kernel and the score on a
 * synthetic pair whose after date differs by a gain and offset plus one built block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gd_kernels.h"
#include "geodelta/job.h"
#include "geodelta/stages.h"
#include "geodelta/urban.h"

#include "test_rng.h"

/* before = 2 after + 1 exactly: the fit recovers the line; NaN and +-Inf anywhere are
 * skipped without changing it */
static void test_rma_exact_line(void **state)
{
    (void)state;
    enum { N = 1001 };
    float b[N], a[N];
    lcg_state = 7;
    for (int i = 0; i < N; i++) {
        a[i] = (float)(1000.0 * lcg_uniform());
        b[i] = 2.0f * a[i] + 1.0f;
    }
    double g, o;
    assert_int_equal(gd_k_rma_fit(b, a, NULL, 0.0f, N, &g, &o), N);
    assert_true(fabs(g - 2.0) < 1e-6);
    assert_true(fabs(o - 1.0) < 1e-3);
    /* the other way round: the inverse line */
    assert_int_equal(gd_k_rma_fit(a, b, NULL, 0.0f, N, &g, &o), N);
    assert_true(fabs(g - 0.5) < 1e-6);
    assert_true(fabs(o + 0.5) < 1e-3);
    b[3] = NAN;
    a[10] = INFINITY;
    b[500] = -INFINITY;
    a[N - 1] = NAN; /* odd length, last value */
    assert_int_equal(gd_k_rma_fit(b, a, NULL, 0.0f, N, &g, &o), N - 4);
    assert_true(fabs(g - 2.0) < 1e-6);
    assert_true(fabs(o - 1.0) < 1e-3);
}

/* outliers (the "changed" pixels) pull the fit away unless sel excludes them */
static void test_rma_selection(void **state)
{
    (void)state;
    enum { N = 2000 };
    float b[N], a[N], sel[N];
    lcg_state = 11;
    for (int i = 0; i < N; i++) {
        a[i] = (float)(0.05 + 0.3 * lcg_uniform());
        b[i] = 0.8f * a[i] + 0.02f;
        sel[i] = 0.0f;
        if (i % 10 == 0) { /* 10 % changed: much brighter before */
            b[i] += 0.4f;
            sel[i] = 5.0f;
        }
    }
    sel[1] = NAN; /* no change measure: not invariant */
    double g, o;
    assert_int_equal(gd_k_rma_fit(b, a, NULL, 0.0f, N, &g, &o), N);
    assert_true(fabs(g - 0.8) > 0.05); /* all pixels: a wrong line */
    assert_int_equal(gd_k_rma_fit(b, a, sel, 1.0f, N, &g, &o), N - N / 10 - 1);
    assert_true(fabs(g - 0.8) < 1e-5);
    assert_true(fabs(o - 0.02) < 1e-5);
}

/* RMA treats both dates alike: with noise on both, the gains of the two directions are
 * exact inverses (least squares would shrink both) */
static void test_rma_symmetric(void **state)
{
    (void)state;
    enum { N = 5000 };
    float *b = malloc(N * sizeof *b), *a = malloc(N * sizeof *a);
    assert_non_null(b);
    assert_non_null(a);
    lcg_state = 3;
    for (int i = 0; i < N; i++) {
        double t = lcg_gauss();
        a[i] = (float)(t + 0.5 * lcg_gauss());
        b[i] = (float)(3.0 * t + 1.5 * lcg_gauss() + 10.0);
    }
    double g1, o1, g2, o2;
    assert_true(gd_k_rma_fit(b, a, NULL, 0.0f, N, &g1, &o1) == N);
    assert_true(gd_k_rma_fit(a, b, NULL, 0.0f, N, &g2, &o2) == N);
    assert_true(fabs(g1 * g2 - 1.0) < 1e-9);
    assert_true(fabs(g1 - 3.0) < 0.15);
    free(b);
    free(a);
}

static void test_rma_degenerate(void **state)
{
    (void)state;
    float b[4] = {1, 2, 3, 4}, a[4] = {5, 5, 5, 5}, nan4[4] = {NAN, NAN, NAN, 1};
    double g = 7, o = 7;
    assert_int_equal(gd_k_rma_fit(b, a, NULL, 0.0f, 4, &g, &o), -1); /* constant after */
    assert_true(g == 1.0 && o == 0.0);
    assert_int_equal(gd_k_rma_fit(a, b, NULL, 0.0f, 4, &g, &o), -1); /* constant before */
    assert_int_equal(gd_k_rma_fit(b, nan4, NULL, 0.0f, 4, &g, &o), -1); /* one pixel */
    assert_int_equal(gd_k_rma_fit(b, a, NULL, 0.0f, 0, &g, &o), -1);   /* empty */
}

/* 6 bands of 64 x 64: after = 1.3 before + 200 + noise (a different season), except a
 * 12 x 12 block that turns into a bright roof in the visible and SWIR bands. The
 * normalisation must recover 1 / 1.3 and -200 / 1.3, and the block must score above
 * everything that is not near it. */
enum { W = 64, H = 64, NB = 6, BX = 20, BY = 30, BS = 12 };

static GDALDatasetH make_ds(float gain, float off, int built)
{
    GDALDriverH drv = GDALGetDriverByName("MEM");
    GDALDatasetH ds = GDALCreate(drv, "", W, H, NB, GDT_Float32, NULL);
    assert_non_null(ds);
    float *buf = malloc(sizeof(float) * W * H);
    assert_non_null(buf);
    for (int k = 0; k < NB; k++) {
        lcg_state = 100u + (uint32_t)k; /* the same land cover on both dates */
        uint32_t noise = 999u * (uint32_t)(k + 1) + (uint32_t)built * 7u;
        for (int i = 0; i < W * H; i++) {
            double v = 800.0 + 400.0 * k + 300.0 * lcg_uniform();
            uint32_t save = lcg_state;
            lcg_state = noise;
            double e = 5.0 * lcg_gauss();
            noise = lcg_state;
            lcg_state = save;
            int x = i % W, y = i / W;
            if (built && x >= BX && x < BX + BS && y >= BY && y < BY + BS)
                v = k == 3 ? 900.0 : 3500.0; /* bright roof, low NIR */
            buf[i] = (float)(gain * v + off + e);
        }
        assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, k + 1), GF_Write, 0, 0, W, H, buf,
                                      W, H, GDT_Float32, 0, 0), CE_None);
    }
    free(buf);
    return ds;
}

static void test_detect_urban(void **state)
{
    (void)state;
    GDALAllRegister();
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    GDALDatasetH bds = make_ds(1.0f, 0.0f, 0), ads = make_ds(1.3f, 200.0f, 1);
    gd_band bb[NB], ab[NB];
    for (int k = 0; k < NB; k++) {
        assert_int_equal(gd_band_from(job, bds, k + 1, &bb[k]), GD_OK);
        assert_int_equal(gd_band_from(job, ads, k + 1, &ab[k]), GD_OK);
    }
    const char *names[NB] = {"blue", "green", "red", "nir", "swir1", "swir2"};
    gd_grid grid = {.width = W, .height = H, .gt = {0, 1, 0, 0, 0, -1}};
    gd_score s;
    assert_int_equal(gd_detect_urban(job, &grid, bb, ab, names, NB, 3, &s), GD_OK);
    assert_int_equal((int)s.valid, W * H);
    json_t *u = json_object_get(gd_job_auto(job), "urban");
    assert_non_null(u);
    for (int k = 0; k < NB; k++) {
        double g = json_real_value(json_array_get(json_object_get(u, "gain"), (size_t)k));
        double o = json_real_value(json_array_get(json_object_get(u, "offset"), (size_t)k));
        assert_true(fabs(g - 1.0 / 1.3) < 0.01);
        assert_true(fabs(o + 200.0 / 1.3) < 20.0);
    }
    assert_int_equal((int)json_integer_value(json_object_get(u, "smooth")), 3);
    /* the block's inside (1 px in from its edge: the 3x3 mean blurs it) against every
     * pixel 2 px or more away from it */
    float in_min = INFINITY, out_max = -INFINITY;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float v = s.data[y * W + x];
            if (x >= BX + 1 && x < BX + BS - 1 && y >= BY + 1 && y < BY + BS - 1)
                in_min = fminf(in_min, v);
            else if (x < BX - 2 || x >= BX + BS + 2 || y < BY - 2 || y >= BY + BS + 2)
                out_max = fmaxf(out_max, v);
        }
    assert_true(in_min > 2.0f * out_max);
    gd_score_free(&s);
    /* the same pair without smoothing keeps the block's edge sharp */
    assert_int_equal(gd_detect_urban(job, &grid, bb, ab, names, NB, 0, &s), GD_OK);
    assert_true(s.data[BY * W + BX] > 2.0f * out_max);
    assert_true(s.data[(BY - 1) * W + BX] < 0.5f * s.data[BY * W + BX]);
    gd_score_free(&s);
    /* a bad window is a usage error, no score left behind */
    assert_int_equal(gd_detect_urban(job, &grid, bb, ab, names, NB, 4, &s), GD_EUSAGE);
    assert_null(s.data);
    GDALClose(bds);
    GDALClose(ads);
    gd_job_destroy(job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rma_exact_line),
        cmocka_unit_test(test_rma_selection),
        cmocka_unit_test(test_rma_symmetric),
        cmocka_unit_test(test_rma_degenerate),
        cmocka_unit_test(test_detect_urban),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
