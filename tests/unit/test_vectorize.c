/* test_vectorize.c: the polygons of a class raster (gd_vectorize) and the per-class totals
 * the summary and the map take from gd_class_totals (every class of the table, whatever
 * the caller's array held before); gd_class_mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/engine.h"
#include "geodelta/job.h"
#include "geodelta/stages.h"

#define W 70
#define H 40

/* Classes 0..7 in vertical bands of 10 columns (class c in columns 10c-10 .. 10c-1 for
 * c = 1..7), with a nodata row at the bottom and, in class 3's band, a hole of class 0
 * that splits it into two polygons. */
static void make_classes(uint8_t *cls, uint64_t px[GD_MAX_CLASSES], uint64_t poly[GD_MAX_CLASSES])
{
    memset(px, 0, GD_MAX_CLASSES * sizeof *px);
    for (int c = 0; c < GD_MAX_CLASSES; c++)
        poly[c] = c ? 1 : 0;
    poly[3] = 2;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t c = (uint8_t)(x / 10 + 1);
            if (y == H - 1)
                c = 255;
            else if (c == 3 && y == 20)
                c = 0;
            cls[y * W + x] = c;
            if (c < GD_MAX_CLASSES)
                px[c]++;
        }
}

static void test_totals_all_classes(void **state)
{
    (void)state;
    uint8_t *cls = malloc(W * H);
    float *score = malloc(sizeof(float) * W * H);
    assert_non_null(cls);
    assert_non_null(score);
    uint64_t px[GD_MAX_CLASSES], poly[GD_MAX_CLASSES];
    make_classes(cls, px, poly);
    for (int i = 0; i < W * H; i++)
        score[i] = cls[i] == 255 ? NAN : (float)cls[i];
    gd_grid g;
    memset(&g, 0, sizeof g);
    g.width = W;
    g.height = H;
    double gt[6] = {0, 1, 0, 0, 0, 1};
    memcpy(g.gt, gt, sizeof gt);
    gd_score s;
    memset(&s, 0, sizeof s);
    s.data = score;
    s.width = W;
    s.height = H;
    char path[256];
    snprintf(path, sizeof path, "/tmp/gd_test_vectorize_%ld.geojson", (long)getpid());

    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    const gd_method *m = gd_method_find("nbr");
    assert_non_null(m);
    /* what a caller's stack may hold: every total must be set, not only the first ones */
    gd_class_total totals[GD_MAX_CLASSES];
    memset(totals, 0xA5, sizeof totals);
    uint64_t valid = 0;
    double valid_ha = -1.0;
    assert_int_equal(gd_class_totals(job, &g, cls, totals, &valid, &valid_ha), GD_OK);
    assert_int_equal(gd_vectorize(job, &g, cls, &s, m, NULL, path, totals), GD_OK);
    uint64_t nodata = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        nodata += cls[i] == 255;
    assert_int_equal(valid, (uint64_t)W * H - nodata);
    assert_true(valid_ha == 0.0); /* no row areas on a pixel grid */
    uint8_t *mask = NULL;
    assert_int_equal(gd_class_mask(job, &g, cls, 2, 4, &mask), GD_OK);
    uint64_t on = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        assert_int_equal(mask[i], cls[i] >= 2 && cls[i] <= 4);
        on += mask[i];
    }
    assert_int_equal(on, px[2] + px[3] + px[4]);
    free(mask);
    /* the nodata row: not all below 8; without it, all below 8 but not all below 7 */
    assert_false(gd_class_all_below(cls, (size_t)W * H, GD_MAX_CLASSES));
    assert_true(gd_class_all_below(cls, (size_t)W * (H - 1), GD_MAX_CLASSES));
    assert_false(gd_class_all_below(cls, (size_t)W * (H - 1), GD_MAX_CLASSES - 1));
    assert_true(gd_class_all_below(cls, (size_t)W * H, 256));
    for (int c = 1; c < GD_MAX_CLASSES; c++) {
        assert_int_equal(totals[c].pixels, px[c]);
        assert_int_equal(totals[c].polygons, poly[c]);
        assert_true(isnan(totals[c].area_ha)); /* a pixel grid has no area */
    }
    unlink(path);
    gd_job_destroy(job);
    free(cls);
    free(score);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_totals_all_classes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
