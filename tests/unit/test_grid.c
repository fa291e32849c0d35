/* test_grid.c: grid stage: same grid passes through, disjoint extents and CRS/size
 * mismatches are input errors, pixel areas are geodesic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <string.h>

#include "geodelta/stages.h"

/* A 1-band in-memory raster; epsg 0 = no CRS and no geotransform. */
static char *make_raster(const char *name, int w, int h, int epsg, double x0, double y0,
                         double res)
{
    static char path[8][256];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 256, "/vsimem/%s.tif", name);
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), p, w, h, 1, GDT_Byte, NULL);
    assert_non_null(ds);
    if (epsg) {
        double gt[6] = {x0, res, 0, y0, 0, -res};
        GDALSetGeoTransform(ds, gt);
        OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
        OSRImportFromEPSG(s, epsg);
        char *wkt = NULL;
        OSRExportToWkt(s, &wkt);
        GDALSetProjection(ds, wkt);
        CPLFree(wkt);
        OSRDestroySpatialReference(s);
    }
    GDALFillRaster(GDALGetRasterBand(ds, 1), 7, 0);
    GDALClose(ds);
    return p;
}

static void align(const char *a, const char *b, int expect, int expect_owned)
{
    gd_job *job = NULL;
    gd_source *sa = NULL, *sb = NULL;
    gd_grid *g = NULL;
    GDALDatasetH out = NULL;
    int owned = -1;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    assert_int_equal(gd_source_open(job, a, "before", &sa), GD_OK);
    assert_int_equal(gd_source_open(job, b, "after", &sb), GD_OK);
    assert_int_equal(gd_grid_from_source(job, sa, &g), GD_OK);
    int st = gd_grid_align(job, g, sb, &out, &owned);
    assert_int_equal(st, expect);
    if (st == GD_OK) {
        assert_int_equal(owned, expect_owned);
        assert_int_equal(GDALGetRasterXSize(out), g->width);
        assert_int_equal(GDALGetRasterYSize(out), g->height);
        if (owned)
            GDALClose(out);
    } else {
        assert_true(strlen(gd_job_message(job)) > 10);
    }
    gd_grid_destroy(g);
    gd_source_destroy(sa);
    gd_source_destroy(sb);
    gd_job_destroy(job);
}

static void test_same_grid(void **state)
{
    (void)state;
    char *a = make_raster("a1", 50, 40, 32633, 400000, 5800000, 10);
    char *b = make_raster("b1", 50, 40, 32633, 400000, 5800000, 10);
    align(a, b, GD_OK, 0);
}

static void test_other_grid_is_warped(void **state)
{
    (void)state;
    char *a = make_raster("a2", 50, 40, 32633, 400000, 5800000, 10);
    char *b = make_raster("b2", 30, 30, 32633, 400105, 5799905, 20);
    align(a, b, GD_OK, 1);
    /* another CRS over the same place is warped too */
    char *c = make_raster("c2", 60, 60, 32632, 808700, 5808700, 10);
    align(a, c, GD_OK, 1);
}

static void test_disjoint(void **state)
{
    (void)state;
    char *a = make_raster("a3", 50, 40, 32633, 400000, 5800000, 10);
    char *b = make_raster("b3", 50, 40, 32633, 500000, 5800000, 10);
    align(a, b, GD_EINPUT, 0);
}

static void test_no_crs(void **state)
{
    (void)state;
    char *a = make_raster("a4", 50, 40, 0, 0, 0, 0);
    char *b = make_raster("b4", 50, 40, 0, 0, 0, 0);
    char *c = make_raster("c4", 51, 40, 0, 0, 0, 0);
    char *d = make_raster("d4", 50, 40, 32633, 400000, 5800000, 10);
    align(a, b, GD_OK, 0);
    align(a, c, GD_EINPUT, 0);
    align(a, d, GD_EINPUT, 0);
}

static void test_pixel_area(void **state)
{
    (void)state;
    gd_job *job = NULL;
    gd_source *s = NULL;
    gd_grid *g = NULL;
    /* 10 m UTM pixels near the central meridian: 100 m² within the scale error */
    char *a = make_raster("a5", 10, 10, 32633, 499950, 5800000, 10);
    assert_int_equal(gd_job_create(&job), GD_OK);
    assert_int_equal(gd_source_open(job, a, "before", &s), GD_OK);
    assert_int_equal(gd_grid_from_source(job, s, &g), GD_OK);
    double area = gd_grid_pixel_area(g, 5);
    assert_true(fabs(area - 100.0) / 100.0 < 0.001);
    gd_grid_destroy(g);
    gd_source_destroy(s);
    /* 1e-4 degree pixels at 48.7 N: about 11.1 m x 7.3 m */
    char *b = make_raster("b5", 10, 10, 4326, 2.2, 48.7, 1e-4);
    assert_int_equal(gd_source_open(job, b, "before", &s), GD_OK);
    assert_int_equal(gd_grid_from_source(job, s, &g), GD_OK);
    area = gd_grid_pixel_area(g, 0);
    assert_true(area > 80.0 && area < 82.5);
    gd_grid_destroy(g);
    gd_source_destroy(s);
    gd_job_destroy(job);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_grid),       cmocka_unit_test(test_other_grid_is_warped),
        cmocka_unit_test(test_disjoint),        cmocka_unit_test(test_no_crs),
        cmocka_unit_test(test_pixel_area),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    GDALDestroyDriverManager();
    return r;
}
