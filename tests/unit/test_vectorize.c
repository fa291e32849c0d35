/* test_vectorize.c: the polygons of a class raster (gd_vectorize) and the per-class totals
 * the summary and the map take from gd_class_totals (every class of the table, whatever
 * the caller's array held before); gd_class_mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gdal.h>
#include <jansson.h>
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


static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* The polygons' pixel counts, mean scores and people from the labelling of the classes
 * are those of the rasterization of the polygons (GEODELTA_POLY_RASTERIZE=1), byte for
 * byte in the GeoJSON: random classes in blobs and speckle, holes, nested islands,
 * regions touching at corners, nodata, NaN scores; north-up grids with either sign of
 * the pixel height. */
static void test_labels_equal_rasterize(void **state)
{
    (void)state;
    enum { RW = 97, RH = 83 };
    uint8_t *cls = malloc(RW * RH);
    float *score = malloc(sizeof(float) * RW * RH), *people = malloc(sizeof(float) * RW * RH);
    assert_non_null(cls);
    assert_non_null(score);
    assert_non_null(people);
    uint64_t rng = 12345;
    for (int trial = 0; trial < 12; trial++) {
        for (int i = 0; i < RW * RH; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(rng >> 33);
            int x = i % RW, y = i / RW;
            /* blobs of a class from a coarse pattern, then speckle */
            uint8_t c = (uint8_t)(((x / (3 + trial % 5)) * 7 + (y / (2 + trial % 3)) * 3) % 4);
            if (r % 9 == 0)
                c = (uint8_t)(r % 5);
            if (r % 37 == 0 && trial % 2)
                c = 255;
            cls[i] = c;
            score[i] = r % 23 == 0 ? NAN : (float)((r % 1000) / 997.0 - 0.4);
            people[i] = (float)((r >> 7) % 100) / 7.0f;
        }
        gd_grid g;
        memset(&g, 0, sizeof g);
        g.width = RW;
        g.height = RH;
        double gt[6] = {500000.0, 10.0, 0, 4000000.0, 0, trial % 3 ? -10.0 : 10.0};
        memcpy(g.gt, gt, sizeof gt);
        gd_score s;
        memset(&s, 0, sizeof s);
        s.data = score;
        s.width = RW;
        s.height = RH;
        char pa[256], pb[256];
        snprintf(pa, sizeof pa, "/tmp/gd_test_vlab_a_%ld.geojson", (long)getpid());
        snprintf(pb, sizeof pb, "/tmp/gd_test_vlab_b_%ld.geojson", (long)getpid());
        gd_job *job = NULL;
        assert_int_equal(gd_job_create(&job), GD_OK);
        gd_job_set_quiet(job, 1);
        const gd_method *m = gd_method_find("nbr");
        gd_class_total ta[GD_MAX_CLASSES], tb[GD_MAX_CLASSES];
        memset(ta, 0, sizeof ta);
        memset(tb, 0, sizeof tb);
        const float *pp = trial % 4 == 1 ? NULL : people;
        unsetenv("GEODELTA_POLY_RASTERIZE");
        assert_int_equal(gd_vectorize(job, &g, cls, &s, m, pp, pa, ta), GD_OK);
        assert_string_equal(json_string_value(json_object_get(gd_job_auto(job),
                                                              "polygon_pixels")), "labelling");
        setenv("GEODELTA_POLY_RASTERIZE", "1", 1);
        assert_int_equal(gd_vectorize(job, &g, cls, &s, m, pp, pb, tb), GD_OK);
        assert_string_equal(json_string_value(json_object_get(gd_job_auto(job),
                                                              "polygon_pixels")), "rasterization");
        unsetenv("GEODELTA_POLY_RASTERIZE");
        size_t na = 0, nb = 0;
        char *a = slurp(pa, &na), *b = slurp(pb, &nb);
        assert_non_null(a);
        assert_non_null(b);
        assert_true(strstr(a, "mean_score") != NULL);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        for (int c = 0; c < GD_MAX_CLASSES; c++)
            assert_int_equal(ta[c].polygons, tb[c].polygons);
        free(a);
        free(b);
        unlink(pa);
        unlink(pb);
        gd_job_destroy(job);
    }
    free(cls);
    free(score);
    free(people);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_totals_all_classes),
                                       cmocka_unit_test(test_labels_equal_rasterize)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
