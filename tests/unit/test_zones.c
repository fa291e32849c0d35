/* test_zones.c: zonal counts against the reference counts staged in ../shared/data/vector
 * (Essonne communes × OSCD saclay_e gt, both rasterization rules) and the rasterstats
 * fixture; alert levels on those figures. Exit 77 (skip) when the data are absent. */
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

#include "geodelta/stages.h"
#include "geodelta/summary.h"

static const char *data_dir;

/* Reads band 1 of path as a class raster: nodata (or NaN) -> 255, other values as is. */
static uint8_t *read_classes(const char *path, gd_grid **grid)
{
    gd_job *job = NULL;
    gd_source *src = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    assert_int_equal(gd_source_open(job, path, "zones", &src), GD_OK);
    assert_int_equal(gd_grid_from_source(job, src, grid), GD_OK);
    size_t n = (size_t)src->width * (size_t)src->height;
    double *v = malloc(n * sizeof *v);
    uint8_t *c = malloc(n);
    assert_non_null(v);
    assert_non_null(c);
    GDALRasterBandH b = GDALGetRasterBand(src->ds, 1);
    assert_int_equal(GDALRasterIO(b, GF_Read, 0, 0, src->width, src->height, v, src->width,
                                  src->height, GDT_Float64, 0, 0), CE_None);
    int has_nd = 0;
    double nd = GDALGetRasterNoDataValue(b, &has_nd);
    for (size_t i = 0; i < n; i++)
        c[i] = (isnan(v[i]) || (has_nd && v[i] == nd)) ? 255 : (uint8_t)v[i];
    free(v);
    gd_source_destroy(src);
    gd_job_destroy(job);
    return c;
}

static gd_zones *zones_of(const gd_grid *grid, const uint8_t *classes, const char *vec,
                          const char *field, int all_touched)
{
    gd_job *job = NULL;
    gd_zones *zs = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    gd_zone_opts o = {vec, field, all_touched, NULL};
    int st = gd_zones_compute(job, grid, classes, &o, &zs);
    if (st != GD_OK)
        fprintf(stderr, "%s\n", gd_job_message(job));
    assert_int_equal(st, GD_OK);
    gd_job_destroy(job);
    return zs;
}

static const gd_zone *find(const gd_zones *zs, const char *name)
{
    for (size_t i = 0; i < zs->n; i++)
        if (strcmp(zs->z[i].name, name) == 0)
            return &zs->z[i];
    return NULL;
}

static void check_essonne(int all_touched)
{
    char gt[1024], vec[1024], csv[1024], line[512];
    snprintf(gt, sizeof gt, "%s/oscd/saclay_e/gt.tif", data_dir);
    snprintf(vec, sizeof vec, "%s/vector/communes-91-essonne.geojson", data_dir);
    snprintf(csv, sizeof csv, "%s/vector/communes-91-essonne_x_oscd-saclay_e-gt_zonal.csv", data_dir);
    gd_grid *grid = NULL;
    uint8_t *classes = read_classes(gt, &grid);
    gd_zones *zs = zones_of(grid, classes, vec, "code", all_touched);
    assert_int_equal(zs->n, 196);
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    int rows = 0;
    size_t listed_nonzero = 0;
    while (fgets(line, sizeof line, f)) {
        char code[32], name[128];
        unsigned long long cc, chc, ca, cha;
        assert_int_equal(sscanf(line, "%31[^,],%127[^,],%llu,%llu,%llu,%llu", code, name, &cc,
                                &chc, &ca, &cha), 6);
        const gd_zone *z = find(zs, code);
        assert_non_null(z);
        unsigned long long want_px = all_touched ? ca : cc, want_ch = all_touched ? cha : chc;
        if (z->pixels != want_px || z->class_px[1] != want_ch)
            fprintf(stderr, "%s %s: %llu px %llu changed, expected %llu / %llu\n", code, name,
                    (unsigned long long)z->pixels, (unsigned long long)z->class_px[1], want_px,
                    want_ch);
        assert_int_equal(z->pixels, want_px);
        assert_int_equal(z->class_px[1], want_ch);
        assert_int_equal(z->valid, want_px); /* gt has no nodata */
        assert_int_equal(gd_zone_changed_px(z), want_ch);
        /* geodesic areas: 0.000115° pixels at 48.7°N are about 8.4 m × 12.8 m = 0.0108 ha */
        if (want_px) {
            double per_px = z->area_ha / (double)z->pixels;
            assert_true(per_px > 0.0105 && per_px < 0.0111);
            assert_true(fabs(z->class_ha[1] - (double)want_ch * per_px) <= 1e-3 * (1 + z->class_ha[1]));
        }
        listed_nonzero += want_px > 0;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 14);
    /* every commune absent from the reference lies outside the raster */
    size_t nonzero = 0;
    for (size_t i = 0; i < zs->n; i++)
        nonzero += zs->z[i].pixels > 0;
    assert_int_equal(nonzero, listed_nonzero);

    /* alerts on the same figures: Massy (1196 changed px ≈ 1.57 %) and Saulx are red */
    gd_job *job = NULL;
    gd_alerts *a = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    assert_int_equal(gd_alerts_parse(job, "{\"amber\": {\"changed_ha\": 2}, "
                                          "\"red\": {\"classes\": {\"1\": {\"changed_pct\": 1.3}}}}", &a),
                     GD_OK);
    int top = gd_zones_apply_alerts(zs, a, NULL);
    assert_int_equal(top, GD_ALERT_RED);
    for (size_t i = 0; i < zs->n; i++) {
        const gd_zone *z = &zs->z[i];
        int want = gd_zone_changed_pct(z) >= 1.3 ? GD_ALERT_RED
                 : gd_zone_changed_ha(z) >= 2 ? GD_ALERT_AMBER : GD_ALERT_GREEN;
        assert_int_equal(z->level, want);
    }
    assert_int_equal(find(zs, "91377")->level, GD_ALERT_RED);   /* Massy */
    assert_int_equal(find(zs, "91044")->level, GD_ALERT_GREEN); /* Ballainvilliers */
    gd_alerts_destroy(a);
    gd_job_destroy(job);
    gd_zones_destroy(zs);
    gd_grid_destroy(grid);
    free(classes);
}

static void essonne_centre(void **state) { (void)state; check_essonne(0); }
static void essonne_all_touched(void **state) { (void)state; check_essonne(1); }

static void rasterstats(void **state)
{
    (void)state;
    char slope[1024], classes_tif[1024], vec[1024];
    snprintf(slope, sizeof slope, "%s/vector/rasterstats/slope.tif", data_dir);
    snprintf(classes_tif, sizeof classes_tif, "%s/vector/rasterstats/slope_classes.tif", data_dir);
    snprintf(vec, sizeof vec, "%s/vector/rasterstats/polygons.shp", data_dir);
    gd_grid *grid = NULL;
    uint8_t *c = read_classes(slope, &grid);
    /* the slope values themselves do not matter here: valid = not nodata */
    size_t n = (size_t)grid->width * (size_t)grid->height;
    for (size_t i = 0; i < n; i++)
        if (c[i] != 255)
            c[i] = 0;
    const unsigned long long want[2][2] = {{75, 50}, {95, 73}};
    for (int at = 0; at < 2; at++) {
        gd_zones *zs = zones_of(grid, c, vec, NULL, at);
        assert_int_equal(zs->n, 2);
        assert_int_equal(zs->z[0].valid, want[at][0]);
        assert_int_equal(zs->z[1].valid, want[at][1]);
        gd_zones_destroy(zs);
    }
    free(c);
    gd_grid_destroy(grid);
    grid = NULL;
    c = read_classes(classes_tif, &grid);
    gd_zones *zs = zones_of(grid, c, vec, NULL, 0);
    assert_int_equal(zs->z[0].class_px[1], 75);
    gd_zones_destroy(zs);
    free(c);
    gd_grid_destroy(grid);
}

static void bad_alerts(void **state)
{
    (void)state;
    const char *bad[] = {"{\"purple\": {\"changed_ha\": 1}}", "{\"red\": {\"changed_acres\": 1}}",
                         "{\"red\": {\"changed_ha\": -1}}", "{\"red\": {}}", "[1]", "{\"red\": 3}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gd_job *job = NULL;
        gd_alerts *a = NULL;
        assert_int_equal(gd_job_create(&job), GD_OK);
        assert_int_equal(gd_alerts_parse(job, bad[i], &a), GD_EUSAGE);
        assert_null(a);
        assert_true(strlen(gd_job_message(job)) > 0);
        gd_job_destroy(job);
    }
    gd_job *job = NULL;
    gd_alerts *a = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    assert_int_equal(gd_alerts_parse(job, "{\"red\": {\"classes\": {\"burned\": {\"changed_ha\": 1}}}}", &a), GD_OK);
    assert_int_equal(gd_alerts_check(job, a, gd_method_find("nbr"), "t"), GD_OK);
    assert_int_equal(gd_alerts_check(job, a, gd_method_find("ndvi"), "t"), GD_EUSAGE);
    gd_alerts_destroy(a);
    gd_job_destroy(job);
}

int main(int argc, char **argv)
{
    data_dir = argc > 1 ? argv[1] : "../shared/data";
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/vector/communes-91-essonne.geojson", data_dir);
    if (access(probe, R_OK) != 0) {
        printf("SKIP: %s not found\n", probe);
        return 77;
    }
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(essonne_centre),
        cmocka_unit_test(essonne_all_touched),
        cmocka_unit_test(rasterstats),
        cmocka_unit_test(bad_alerts),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    GDALDestroyDriverManager();
    return rc;
}
