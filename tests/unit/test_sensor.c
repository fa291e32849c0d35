/* test_sensor.c: sensor profiles: detection from metadata and file names, and the
 * scale/offset each profile gives on tiny GeoTIFFs in /vsimem/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gd_kernels.h>

#include "geodelta/engine.h"
#include "geodelta/stages.h"

/* A 2 x 2 raster with band descriptions descs (nb bands), values dn, and the dataset
 * metadata md ("KEY=VALUE", NULL-terminated; may be NULL). */
static void make_raster(const char *path, GDALDataType dt, int nb, const char *const *descs,
                        double dn, const char *const *md)
{
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, 2, 2, nb, dt, NULL);
    assert_non_null(ds);
    for (int b = 0; b < nb; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        GDALSetDescription(band, descs[b]);
        GDALFillRaster(band, dn, 0);
    }
    for (int i = 0; md && md[i]; i++) {
        char *key = NULL;
        const char *v = CPLParseNameValue(md[i], &key);
        GDALSetMetadataItem(ds, key, v, NULL);
        CPLFree(key);
    }
    GDALClose(ds);
}

struct fx {
    gd_job *job;
    gd_source *src;
    gd_band bands[2];
    int idx[2];
};

/* Opens path and prepares bands 1..nb the way the chain does. */
static void open_fx(struct fx *f, const char *path, int nb)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(gd_job_create(&f->job), GD_OK);
    gd_job_set_quiet(f->job, 1);
    assert_int_equal(gd_source_open(f->job, path, "before", &f->src), GD_OK);
    for (int k = 0; k < nb; k++) {
        f->idx[k] = k + 1;
        assert_int_equal(gd_band_from(f->job, f->src->ds, k + 1, &f->bands[k]), GD_OK);
    }
}

static void close_fx(struct fx *f, const char *path)
{
    gd_source_destroy(f->src);
    gd_job_destroy(f->job);
    VSIUnlink(path);
}

static int detect(const char *path, GDALDataType dt, const char *const *md, char *why,
                  size_t len)
{
    static const char *const d[] = {"B04"};
    make_raster(path, dt, 1, d, 1000, md);
    struct fx f;
    open_fx(&f, path, 1);
    int p = gd_sensor_detect(f.src, why, len);
    close_fx(&f, path);
    return p;
}

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(gd_sensor_parse("auto"), GD_SENSOR_AUTO);
    assert_int_equal(gd_sensor_parse("s2l2a"), GD_SENSOR_S2L2A);
    assert_int_equal(gd_sensor_parse("landsat-c2l2"), GD_SENSOR_LANDSAT_C2L2);
    assert_int_equal(gd_sensor_parse("s1"), GD_SENSOR_S1);
    assert_int_equal(gd_sensor_parse("S2L2A"), -1);
    assert_int_equal(gd_sensor_parse(NULL), -1);
    assert_string_equal(gd_sensor_name(GD_SENSOR_S2L1C), "s2l1c");
}

static void test_detect(void **state)
{
    (void)state;
    char why[256];
    const char *const l2a[] = {"BOA_ADD_OFFSET_B4=-1000", NULL};
    assert_int_equal(detect("/vsimem/d1.tif", GDT_UInt16, l2a, why, sizeof why), GD_SENSOR_S2L2A);
    assert_non_null(strstr(why, "BOA_ADD_OFFSET_B4"));
    const char *const ptype[] = {"PRODUCT_TYPE=S2MSI2A", NULL};
    assert_int_equal(detect("/vsimem/d2.tif", GDT_UInt16, ptype, why, sizeof why), GD_SENSOR_S2L2A);
    assert_non_null(strstr(why, "PRODUCT_TYPE"));
    const char *const l1c[] = {"RADIO_ADD_OFFSET_B04=-1000", NULL};
    assert_int_equal(detect("/vsimem/d3.tif", GDT_UInt16, l1c, why, sizeof why), GD_SENSOR_S2L1C);
    const char *const lsat[] = {"LANDSAT_PRODUCT_ID=LC09_L2SP_044034_20230101_20230103_02_T1", NULL};
    assert_int_equal(detect("/vsimem/d4.tif", GDT_UInt16, lsat, why, sizeof why),
                     GD_SENSOR_LANDSAT_C2L2);
    assert_int_equal(detect("/vsimem/LC08_L2SP_044034_20230101_20230103_02_T1_SR.tif",
                            GDT_UInt16, NULL, why, sizeof why), GD_SENSOR_LANDSAT_C2L2);
    assert_non_null(strstr(why, "file name"));
    assert_int_equal(detect("/vsimem/S2B_MSIL2A_20230101T101329_N0509_R022_T32TQM.tif",
                            GDT_UInt16, NULL, why, sizeof why), GD_SENSOR_S2L2A);
    const char *const s1[] = {"MISSION_ID=S1A", "PRODUCT_TYPE=GRD", NULL};
    assert_int_equal(detect("/vsimem/d5.tif", GDT_Float32, s1, why, sizeof why), GD_SENSOR_S1);
    /* the samples' free-text SENSOR item is not a profile: raw values, as before */
    const char *const none[] = {"SENSOR=synthetic Sentinel-2 L1C-like", NULL};
    assert_int_equal(detect("/vsimem/d6.tif", GDT_UInt16, none, why, sizeof why), GD_SENSOR_NONE);
}

/* Applies profile to bands B04 (and B8A) of a file with metadata md and value dn;
 * returns the first band's value as read, scale/offset in sc/of, warnings count. */
static float apply(const char *path, GDALDataType dt, const char *const *md, double dn,
                   int profile, int has_off, double off, double *sc, double *of, size_t *nwarn,
                   char *profile_out)
{
    static const char *const d[] = {"B04", "B8A"};
    make_raster(path, dt, 2, d, dn, md);
    struct fx f;
    open_fx(&f, path, 2);
    assert_int_equal(gd_sensor_apply(f.job, f.src, "before", profile, has_off, off, f.bands,
                                     f.idx, 2), GD_OK);
    float v[4];
    assert_int_equal(gd_band_read(f.job, &f.bands[0], 2, 0, 2, v), GD_OK);
    *sc = f.bands[0].scale;
    *of = f.bands[0].offset;
    *nwarn = json_array_size(gd_job_warnings(f.job));
    json_t *rec = json_object_get(json_object_get(gd_job_auto(f.job), "sensor"), "before");
    assert_non_null(rec);
    assert_int_equal(json_array_size(json_object_get(rec, "bands")), 2);
    snprintf(profile_out, 32, "%s", json_string_value(json_object_get(rec, "profile")));
    close_fx(&f, path);
    return v[0];
}

static void test_s2_offset_from_metadata(void **state)
{
    (void)state;
    double sc, of;
    size_t nw;
    char prof[32];
    /* per-band key in both spellings and the ESA band_id (B04 = 3) */
    const char *const md1[] = {"PROCESSING_BASELINE=05.09", "BOA_ADD_OFFSET_B4=-1000", NULL};
    float v = apply("/vsimem/o1.tif", GDT_UInt16, md1, 2000, GD_SENSOR_AUTO, 0, 0, &sc, &of, &nw, prof);
    assert_string_equal(prof, "s2l2a");
    assert_float_equal(v, 0.1f, 1e-6);
    assert_float_equal(sc, 1e-4, 1e-12);
    assert_float_equal(of, -0.1, 1e-12);
    const char *const md2[] = {"BOA_ADD_OFFSET_3=-1000", "BOA_QUANTIFICATION_VALUE=10000", NULL};
    v = apply("/vsimem/o2.tif", GDT_UInt16, md2, 2000, GD_SENSOR_AUTO, 0, 0, &sc, &of, &nw, prof);
    assert_float_equal(v, 0.1f, 1e-6);
    /* the metadata win over --s2-offset, with a warning */
    v = apply("/vsimem/o3.tif", GDT_UInt16, md1, 2000, GD_SENSOR_S2L2A, 1, -500, &sc, &of, &nw, prof);
    assert_float_equal(v, 0.1f, 1e-6);
    assert_true(nw >= 1);
}

static void test_s2_baseline_rules(void **state)
{
    (void)state;
    double sc, of;
    size_t nw;
    char prof[32];
    /* baseline >= 04.00 without offset: -1000 assumed, never silently */
    const char *const b5[] = {"PROCESSING_BASELINE=05.09", NULL};
    float v = apply("/vsimem/b1.tif", GDT_UInt16, b5, 2000, GD_SENSOR_S2L2A, 0, 0, &sc, &of, &nw, prof);
    assert_float_equal(v, 0.1f, 1e-6);
    assert_int_equal(nw, 1);
    /* --s2-offset where the metadata have none */
    v = apply("/vsimem/b2.tif", GDT_UInt16, b5, 2000, GD_SENSOR_S2L2A, 1, -500, &sc, &of, &nw, prof);
    assert_float_equal(v, 0.15f, 1e-6);
    assert_int_equal(nw, 0);
    /* older baseline: no offset, nothing to warn about */
    const char *const b3[] = {"PROCESSING_BASELINE=03.01", NULL};
    v = apply("/vsimem/b3.tif", GDT_UInt16, b3, 2000, GD_SENSOR_S2L2A, 0, 0, &sc, &of, &nw, prof);
    assert_float_equal(v, 0.2f, 1e-6);
    assert_int_equal(nw, 0);
    /* baseline unknown: no offset and a warning */
    v = apply("/vsimem/b4.tif", GDT_UInt16, NULL, 2000, GD_SENSOR_S2L2A, 0, 0, &sc, &of, &nw, prof);
    assert_float_equal(v, 0.2f, 1e-6);
    assert_int_equal(nw, 1);
    /* baseline from the product name (_N0400_) */
    v = apply("/vsimem/S2A_MSIL2A_20230101T101329_N0400_R022_T32TQM.tif", GDT_UInt16, NULL,
              2000, GD_SENSOR_AUTO, 0, 0, &sc, &of, &nw, prof);
    assert_string_equal(prof, "s2l2a");
    assert_float_equal(v, 0.1f, 1e-6);
    assert_int_equal(nw, 1);
    /* L1C reads RADIO_ADD_OFFSET, not BOA_ADD_OFFSET */
    const char *const l1c[] = {"RADIO_ADD_OFFSET_B04=-1000", "BOA_ADD_OFFSET_B04=-7", NULL};
    v = apply("/vsimem/b5.tif", GDT_UInt16, l1c, 2000, GD_SENSOR_S2L1C, 0, 0, &sc, &of, &nw, prof);
    assert_float_equal(v, 0.1f, 1e-6);
}

static void test_landsat(void **state)
{
    (void)state;
    double sc, of;
    size_t nw;
    char prof[32];
    const char *const id[] = {"LANDSAT_PRODUCT_ID=LC08_L2SP_044034_20230101_20230103_02_T1", NULL};
    float v = apply("/vsimem/l1.tif", GDT_UInt16, id, 10000, GD_SENSOR_AUTO, 0, 0, &sc, &of, &nw, prof);
    assert_string_equal(prof, "landsat-c2l2");
    assert_float_equal(v, 10000 * 0.0000275 - 0.2, 1e-6);
    /* the MTL's per-band factors when present (band B04 -> _4) */
    const char *const mtl[] = {"REFLECTANCE_MULT_BAND_4=2.0E-05", "REFLECTANCE_ADD_BAND_4=-0.1", NULL};
    v = apply("/vsimem/l2.tif", GDT_UInt16, mtl, 10000, GD_SENSOR_AUTO, 0, 0, &sc, &of, &nw, prof);
    assert_string_equal(prof, "landsat-c2l2");
    assert_float_equal(v, 0.1f, 1e-6);
}

static void test_gdal_scale_and_float(void **state)
{
    (void)state;
    double sc, of;
    size_t nw;
    char prof[32];
    /* profile none keeps the band's own GDAL scale/offset */
    static const char *const d[] = {"B04", "B8A"};
    const char *path = "/vsimem/g1.tif";
    make_raster(path, GDT_UInt16, 2, d, 2000, NULL);
    GDALDatasetH ds = GDALOpen(path, GA_Update);
    GDALSetRasterScale(GDALGetRasterBand(ds, 1), 0.001);
    GDALSetRasterOffset(GDALGetRasterBand(ds, 1), 1.0);
    GDALSetMetadataItem(ds, "PROCESSING_BASELINE", "02.14", NULL);
    GDALClose(ds);
    struct fx f;
    open_fx(&f, path, 2);
    assert_int_equal(gd_sensor_apply(f.job, f.src, "before", GD_SENSOR_NONE, 0, 0, f.bands, f.idx, 2), GD_OK);
    assert_float_equal(f.bands[0].scale, 0.001, 1e-12);
    assert_float_equal(f.bands[0].offset, 1.0, 1e-12);
    /* a profile replaces it, with a warning */
    assert_int_equal(gd_sensor_apply(f.job, f.src, "before", GD_SENSOR_S2L2A, 0, 0, f.bands, f.idx, 2), GD_OK);
    assert_float_equal(f.bands[0].scale, 1e-4, 1e-12);
    assert_float_equal(f.bands[0].offset, 0.0, 1e-12);
    assert_int_equal(json_array_size(gd_job_warnings(f.job)), 1);
    close_fx(&f, path);
    /* auto on float bands of an S2 product: already reflectance, left alone */
    const char *const l2a[] = {"BOA_ADD_OFFSET_B4=-1000", NULL};
    float v = apply("/vsimem/g2.tif", GDT_Float32, l2a, 0.25, GD_SENSOR_AUTO, 0, 0, &sc, &of, &nw, prof);
    assert_string_equal(prof, "none");
    assert_float_equal(v, 0.25f, 1e-7);
}

/* One VV band of value v (type dt, unit type unit or NULL): db_to_linear and the value read. */
static float sar_read(const char *path, GDALDataType dt, const char *unit, double v, int *db)
{
    static const char *const d[] = {"VV"};
    make_raster(path, dt, 1, d, v, NULL);
    if (unit) {
        GDALDatasetH ds = GDALOpen(path, GA_Update);
        GDALSetRasterUnitType(GDALGetRasterBand(ds, 1), unit);
        GDALClose(ds);
    }
    struct fx f;
    open_fx(&f, path, 1);
    assert_int_equal(gd_sensor_apply(f.job, f.src, "before", GD_SENSOR_AUTO, 0, 0, f.bands,
                                     f.idx, 1), GD_OK);
    assert_int_equal(gd_sensor_sar_db(f.job, f.src, "before", &f.bands[0], 1), GD_OK);
    *db = f.bands[0].db_to_linear;
    json_t *sar = json_object_get(json_object_get(json_object_get(gd_job_auto(f.job), "sensor"),
                                                  "before"), "sar");
    assert_non_null(sar);
    assert_int_equal(json_is_true(json_object_get(sar, "db_to_linear")), *db);
    float out[4];
    assert_int_equal(gd_band_read(f.job, &f.bands[0], 2, 0, 2, out), GD_OK);
    close_fx(&f, path);
    return out[3];
}

static void test_sar_db(void **state)
{
    (void)state;
    int db;
    /* negative median: dB, converted to linear power */
    float v = sar_read("/vsimem/s1.tif", GDT_Float32, NULL, -12.0, &db);
    assert_true(db);
    assert_float_equal(v, pow(10.0, -1.2), 1e-6);
    /* linear sigma0 untouched */
    v = sar_read("/vsimem/s2.tif", GDT_Float32, NULL, 0.05, &db);
    assert_false(db);
    assert_float_equal(v, 0.05f, 1e-7);
    /* the unit type says dB even where values are positive */
    v = sar_read("/vsimem/s3.tif", GDT_Float32, "dB", 3.0, &db);
    assert_true(db);
    assert_float_equal(v, pow(10.0, 0.3), 1e-5);
    /* unsigned amplitudes are never dB */
    v = sar_read("/vsimem/s4.tif", GDT_UInt16, NULL, 200, &db);
    assert_false(db);
    assert_float_equal(v, 200.0f, 0);
}

/* A large image without overviews: the median comes from whole blocks spread over it.
 * The left 40 % of the columns are +5, the rest -20 dB, so only a sample that reaches
 * across the image finds the negative median (the first blocks alone would say +5);
 * with overviews, the decimated read of those (built from the same values) decides. */
static void test_sar_db_large_sample(void **state)
{
    (void)state;
    const char *path = "/vsimem/sar_large.tif";
    const int n = 2100;
    char **co = CSLSetNameValue(NULL, "TILED", "YES");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, n, n, 1, GDT_Float32, co);
    CSLDestroy(co);
    assert_non_null(ds);
    GDALSetDescription(GDALGetRasterBand(ds, 1), "VV");
    float *row = malloc(sizeof(float) * n);
    assert_non_null(row);
    for (int x = 0; x < n; x++)
        row[x] = x < n * 4 / 10 ? 5.0f : -20.0f;
    for (int y = 0; y < n; y++)
        assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, y, n, 1, row, n, 1,
                                      GDT_Float32, 0, 0), CE_None);
    free(row);
    GDALClose(ds);
    for (int ovr = 0; ovr <= 1; ovr++) {
        if (ovr) {
            ds = GDALOpen(path, GA_Update);
            int lv[] = {4};
            assert_int_equal(GDALBuildOverviews(ds, "NEAREST", 1, lv, 0, NULL, NULL, NULL),
                             CE_None);
            GDALClose(ds);
        }
        struct fx f;
        open_fx(&f, path, 1);
        char logp[] = "/tmp/gd_test_sensor_XXXXXX";
        int fd = mkstemp(logp);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(gd_job_open_log(f.job, logp), GD_OK);
        assert_int_equal(gd_sensor_apply(f.job, f.src, "before", GD_SENSOR_AUTO, 0, 0, f.bands,
                                         f.idx, 1), GD_OK);
        assert_int_equal(gd_sensor_sar_db(f.job, f.src, "before", &f.bands[0], 1), GD_OK);
        gd_job_close_log(f.job);
        assert_true(f.bands[0].db_to_linear);
        json_t *sar = json_object_get(
            json_object_get(json_object_get(gd_job_auto(f.job), "sensor"), "before"), "sar");
        assert_float_equal(json_real_value(json_object_get(sar, "median")), -20.0, 0.0);
        /* run.log says which sample it was: blocks without overviews only */
        char text[4096] = "";
        FILE *lf = fopen(logp, "r");
        assert_non_null(lf);
        size_t got = fread(text, 1, sizeof text - 1, lf);
        text[got] = '\0';
        fclose(lf);
        unlink(logp);
        assert_int_equal(strstr(text, "whole blocks spread over the image") != NULL, !ovr);
        gd_source_destroy(f.src);
        gd_job_destroy(f.job);
    }
    VSIUnlink(path);
}

static void test_mask_rules(void **state)
{
    (void)state;
    const float scl[] = {0, 3, 4, 8, 9, 10, 11, NAN};
    float v[8];
    for (int i = 0; i < 8; i++)
        v[i] = 1.0f;
    gd_mask_apply(GD_MASK_SCL, scl, v, 8);
    const int scl_out[] = {0, 1, 0, 1, 1, 1, 0, 0};
    for (int i = 0; i < 8; i++)
        assert_int_equal(isnan(v[i]), scl_out[i]);
    /* QA_PIXEL 21824 = clear land (bit 6) on Landsat 8/9; 22280 = cloud (bits 3, 1...) */
    const float qa[] = {21824, 2, 8, 16, 1, 32, 22280, 64};
    const int qa_out[] = {0, 1, 1, 1, 0, 0, 1, 0};
    for (int i = 0; i < 8; i++)
        v[i] = 1.0f;
    gd_mask_apply(GD_MASK_QA_PIXEL, qa, v, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(isnan(v[i]), qa_out[i]);
    const float nz[] = {0, 1, -1, 255, NAN, 0, 0.5f, 0};
    const int nz_out[] = {0, 1, 1, 1, 0, 0, 1, 0};
    for (int i = 0; i < 8; i++)
        v[i] = 1.0f;
    gd_mask_apply(GD_MASK_NONZERO, nz, v, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(isnan(v[i]), nz_out[i]);
}

/* An image with bands B04 and SCL: SCL 9 (cloud) on the first row only. */
static void test_mask_band_in_image(void **state)
{
    (void)state;
    static const char *const d[] = {"B04", "SCL"};
    const char *path = "/vsimem/m1.tif";
    make_raster(path, GDT_UInt16, 2, d, 2000, NULL);
    GDALDatasetH ds = GDALOpen(path, GA_Update);
    uint16_t row[2] = {9, 9}, clear[2] = {4, 4};
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 2), GF_Write, 0, 0, 2, 1, row, 2, 1,
                                  GDT_UInt16, 0, 0), CE_None);
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 2), GF_Write, 0, 1, 2, 1, clear, 2, 1,
                                  GDT_UInt16, 0, 0), CE_None);
    GDALClose(ds);
    struct fx f;
    open_fx(&f, path, 1);
    gd_grid *grid = NULL;
    assert_int_equal(gd_grid_from_source(f.job, f.src, &grid), GD_OK);
    assert_int_equal(gd_sensor_apply(f.job, f.src, "before", GD_SENSOR_NONE, 0, 0, f.bands,
                                     f.idx, 1), GD_OK);
    GDALDatasetH owned[3];
    assert_int_equal(gd_mask_attach(f.job, grid, f.src, "before", NULL, NULL, NULL, f.bands, 1, owned), GD_OK);
    assert_null(owned[0]);
    assert_null(owned[1]);
    assert_int_equal(f.bands[0].mask_kind, GD_MASK_SCL);
    float v[4];
    assert_int_equal(gd_band_read(f.job, &f.bands[0], 2, 0, 2, v), GD_OK);
    assert_true(isnan(v[0]) && isnan(v[1]));
    assert_float_equal(v[2], 2000.0f, 0);
    assert_float_equal(v[3], 2000.0f, 0);
    json_t *m = json_object_get(json_object_get(json_object_get(gd_job_auto(f.job), "sensor"),
                                                "before"), "mask");
    assert_string_equal(json_string_value(json_object_get(m, "kind")), "scl");
    /* a mask file replaces the image's own band: non-zero masks */
    const char *mpath = "/vsimem/m1-mask.tif";
    static const char *const md[] = {"mask"};
    make_raster(mpath, GDT_Byte, 1, md, 0, NULL);
    ds = GDALOpen(mpath, GA_Update);
    uint8_t one = 1;
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 1, 1, 1, 1, &one, 1, 1,
                                  GDT_Byte, 0, 0), CE_None);
    GDALClose(ds);
    assert_int_equal(gd_mask_attach(f.job, grid, f.src, "before", mpath, NULL, NULL, f.bands, 1, owned), GD_OK);
    assert_non_null(owned[0]);
    assert_int_equal(f.bands[0].mask_kind, GD_MASK_NONZERO);
    assert_int_equal(gd_band_read(f.job, &f.bands[0], 2, 0, 2, v), GD_OK);
    assert_false(isnan(v[0]) || isnan(v[1]) || isnan(v[2]));
    assert_true(isnan(v[3]));
    GDALClose(owned[0]);
    VSIUnlink(mpath);
    gd_grid_destroy(grid);
    close_fx(&f, path);
}

/* A georeferenced w x h Byte raster (EPSG:32633, origin 500000, 4000000) of value v. */
static void make_geo(const char *path, int w, int h, double res, int v)
{
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, 1, GDT_Byte, NULL);
    assert_non_null(ds);
    double gt[6] = {500000, res, 0, 4000000, 0, -res};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 32633);
    char *wkt = NULL;
    OSRExportToWkt(srs, &wkt);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
    GDALFillRaster(GDALGetRasterBand(ds, 1), v, 0);
    GDALClose(ds);
}

/* An n x n image of 100 at res (opened into f, grid returned) and an m x m mask at mres
 * of 0 with one masked pixel (mx, my). */
static gd_grid *mask_fixture(struct fx *f, const char *path, int n, double res,
                             const char *mpath, int m, double mres, int mx, int my)
{
    make_geo(path, n, n, res, 100);
    make_geo(mpath, m, m, mres, 0);
    GDALDatasetH ds = GDALOpen(mpath, GA_Update);
    uint8_t one = 1;
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, mx, my, 1, 1, &one, 1, 1,
                                  GDT_Byte, 0, 0), CE_None);
    GDALClose(ds);
    open_fx(f, path, 1);
    gd_grid *grid = NULL;
    assert_int_equal(gd_grid_from_source(f->job, f->src, &grid), GD_OK);
    return grid;
}

/* A mask on a coarser grid is put on the analysis grid by nearest neighbour. */
static void test_mask_other_grid(void **state)
{
    (void)state;
    const char *path = "/vsimem/g4.tif", *mpath = "/vsimem/g4-mask.tif";
    struct fx f;
    gd_grid *grid = mask_fixture(&f, path, 4, 10.0, mpath, 2, 20.0, 0, 0);
    GDALDatasetH owned[3];
    assert_int_equal(gd_mask_attach(f.job, grid, f.src, "before", mpath, NULL, NULL, f.bands, 1, owned), GD_OK);
    assert_non_null(owned[0]);
    assert_non_null(owned[1]); /* the warped VRT */
    float v[16];
    assert_int_equal(gd_band_read(f.job, &f.bands[0], 4, 0, 4, v), GD_OK);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            assert_int_equal(isnan(v[y * 4 + x]), x < 2 && y < 2);
    GDALClose(owned[1]);
    GDALClose(owned[0]);
    VSIUnlink(mpath);
    gd_grid_destroy(grid);
    close_fx(&f, path);
}

/* Band names decide the roles as a set: the same "B2" is blue on Sentinel-2 and Landsat
 * OLI, green on TM/ETM+. */
static void expect_roles(const char *const *descs, int nb, const int want[6])
{
    static const char *const roles[6] = {"blue", "green", "red", "nir", "swir1", "swir2"};
    const char *path = "/vsimem/roles.tif";
    make_raster(path, GDT_UInt16, nb, descs, 100, NULL);
    struct fx f;
    open_fx(&f, path, 0);
    for (int r = 0; r < 6; r++) {
        int band = -1;
        assert_int_equal(gd_source_find_role(f.job, f.src, "before", NULL, roles[r], &band), GD_OK);
        if (band != want[r])
            fail_msg("%s (%s ...): %s is band %d, expected %d", descs[0], descs[1], roles[r],
                     band, want[r]);
    }
    close_fx(&f, path);
}

static void test_band_name_families(void **state)
{
    (void)state;
    /* Sentinel-2, padded */
    static const char *const s2[] = {"B01", "B02", "B03", "B04", "B05", "B06", "B07",
                                     "B08", "B8A", "B09", "B10", "B11", "B12"};
    expect_roles(s2, 13, (const int[]){2, 3, 4, 8, 12, 13});
    /* a plain 10 m Sentinel-2 stack */
    static const char *const s2p[] = {"B2", "B3", "B4", "B8"};
    expect_roles(s2p, 4, (const int[]){1, 2, 3, 4, 0, 0});
    /* TM/ETM+ reflective stack (the Landsat benchmark pairs): B6 is thermal, left out */
    static const char *const tm[] = {"B1", "B2", "B3", "B4", "B5", "B7"};
    expect_roles(tm, 6, (const int[]){1, 2, 3, 4, 5, 6});
    /* Landsat 8/9 Collection 2 */
    static const char *const oli[] = {"SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6",
                                      "SR_B7", "QA_PIXEL"};
    expect_roles(oli, 8, (const int[]){2, 3, 4, 5, 6, 7});
    /* Landsat 5/7 Collection 2 (no SR_B6) */
    static const char *const etm[] = {"SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B7"};
    expect_roles(etm, 6, (const int[]){1, 2, 3, 4, 5, 6});
}

/* A co-registered date's mask moves with its pixels: a displacement of +2 px in x (a
 * feature at reference x shows at target x + 2) brings the masked target pixel (5, 3) to
 * reference pixel (3, 3); the masked pixels are counted in the auto record. */
static void test_mask_follows_coreg(void **state)
{
    (void)state;
    const char *path = "/vsimem/c8.tif", *mpath = "/vsimem/c8-mask.tif";
    struct fx f;
    gd_grid *grid = mask_fixture(&f, path, 8, 10.0, mpath, 8, 10.0, 5, 3);
    assert_int_equal(gd_sensor_apply(f.job, f.src, "after", GD_SENSOR_NONE, 0, 0, f.bands,
                                     f.idx, 1), GD_OK);
    const double field[6] = {2.0, 0, 0, 0, 0, 0};
    GDALDatasetH owned[3];
    assert_int_equal(gd_mask_attach(f.job, grid, f.src, "after", mpath, f.src->ds, field,
                                    f.bands, 1, owned), GD_OK);
    assert_non_null(owned[0]);
    assert_non_null(owned[2]); /* the shifted VRT */
    float v[64];
    assert_int_equal(gd_band_read(f.job, &f.bands[0], 8, 0, 8, v), GD_OK);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            assert_int_equal(isnan(v[y * 8 + x]) != 0, x == 3 && y == 3);
    json_t *m = json_object_get(json_object_get(json_object_get(gd_job_auto(f.job), "sensor"),
                                                "after"), "mask");
    assert_true(json_is_true(json_object_get(m, "coreg_shifted")));
    assert_int_equal(json_integer_value(json_object_get(m, "masked_pixels")), 1);
    for (int i = 2; i >= 0; i--)
        if (owned[i])
            GDALClose(owned[i]);
    VSIUnlink(mpath);
    gd_grid_destroy(grid);
    close_fx(&f, path);
}

/* The strip engine on two threads: the before image's own SCL band masks its rows (the
 * mask is a band of the same file, reopened per thread). */
/* the log-ratio of a strip's core rows: a stand-in method for the engine's read path */
static int logratio_strip(void *user, const gd_strip *s)
{
    (void)user;
    size_t off = (size_t)(s->y0 - s->in_y0) * (size_t)s->width;
    gd_k_logratio(s->before[0] + off, s->after[0] + off, 1.0f, s->out,
                  (size_t)s->width * (size_t)s->rows);
    return GD_OK;
}

static void test_mask_in_engine(void **state)
{
    (void)state;
    const char *path = "/vsimem/e1.tif";
    const int w = 64, h = 600; /* several strips */
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, 2, GDT_UInt16, NULL);
    assert_non_null(ds);
    GDALSetDescription(GDALGetRasterBand(ds, 1), "VV");
    GDALSetDescription(GDALGetRasterBand(ds, 2), "SCL");
    GDALFillRaster(GDALGetRasterBand(ds, 1), 100, 0);
    uint16_t *scl = malloc(sizeof(uint16_t) * (size_t)w * (size_t)h);
    assert_non_null(scl);
    for (int i = 0; i < w * h; i++)
        scl[i] = (i / w) % 7 == 0 ? 8 : 4; /* every 7th row cloudy */
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 2), GF_Write, 0, 0, w, h, scl, w, h,
                                  GDT_UInt16, 0, 0), CE_None);
    free(scl);
    GDALClose(ds);
    struct fx f;
    open_fx(&f, path, 1);
    gd_job_set_threads(f.job, 2);
    gd_engine_configure(f.job);
    gd_grid *grid = NULL;
    assert_int_equal(gd_grid_from_source(f.job, f.src, &grid), GD_OK);
    gd_band after = f.bands[0];
    GDALDatasetH owned[3];
    assert_int_equal(gd_mask_attach(f.job, grid, f.src, "before", NULL, NULL, NULL, f.bands, 1, owned), GD_OK);
    assert_non_null(f.bands[0].mask);
    gd_score sc = {0};
    gd_engine_spec spec = {.grid = grid, .before = &f.bands[0], .after = &after, .nb = 1,
                           .fn = logratio_strip};
    assert_int_equal(gd_engine_score(f.job, &spec, &sc), GD_OK);
    float *row = malloc(sizeof(float) * (size_t)w);
    assert_non_null(row);
    size_t masked = 0;
    for (int y = 0; y < h; y++) {
        const float *r = gd_score_rows(f.job, &sc, y, 1, row);
        assert_non_null(r);
        for (int x = 0; x < w; x++) {
            assert_int_equal(isnan(r[x]), y % 7 == 0);
            masked += isnan(r[x]) != 0;
        }
    }
    assert_int_equal(masked, (size_t)w * (size_t)((h + 6) / 7));
    free(row);
    gd_score_free(&sc);
    gd_grid_destroy(grid);
    close_fx(&f, path);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_s2_offset_from_metadata),
        cmocka_unit_test(test_s2_baseline_rules),
        cmocka_unit_test(test_landsat),
        cmocka_unit_test(test_gdal_scale_and_float),
        cmocka_unit_test(test_sar_db),
        cmocka_unit_test(test_sar_db_large_sample),
        cmocka_unit_test(test_mask_rules),
        cmocka_unit_test(test_mask_band_in_image),
        cmocka_unit_test(test_mask_other_grid),
        cmocka_unit_test(test_mask_follows_coreg),
        cmocka_unit_test(test_band_name_families),
        cmocka_unit_test(test_mask_in_engine),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    GDALDestroyDriverManager();
    return rc;
}
