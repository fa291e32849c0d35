/* sensor.c: sensor profiles: digital numbers to reflectance (Sentinel-2 L1C/L2A, Landsat
 * Collection 2 Level-2) chosen from the metadata, recorded with the key that decided. */
#include "geodelta/stages.h"
#include "geodelta/task.h"

#include <cpl_string.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const names[] = {"auto", "none", "s2l2a", "s2l1c", "landsat-c2l2", "s1"};
#define NPROFILES ((int)(sizeof names / sizeof names[0]))

/* Landsat 8/9 Collection 2 Level-2 surface reflectance (USGS product guide) */
#define LANDSAT_C2L2_SCALE 0.0000275
#define LANDSAT_C2L2_OFFSET -0.2
/* Sentinel-2 quantification value and the offset of processing baseline >= 04.00 */
#define S2_QUANTIFICATION 10000.0
#define S2_BASELINE4_OFFSET -1000.0

int gd_sensor_parse(const char *name)
{
    for (int i = 0; name && i < NPROFILES; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *gd_sensor_name(int profile)
{
    return profile >= 0 && profile < NPROFILES ? names[profile] : "?";
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int has_prefix_ci(const char *s, const char *prefix)
{
    return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int contains_ci(const char *s, const char *needle)
{
    if (!s)
        return 0;
    for (size_t n = strlen(needle); *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    return 0;
}

/* The first metadata key of ds (default domain) starting with prefix, or NULL. */
static const char *key_with_prefix(GDALDatasetH ds, const char *prefix, char *key, size_t len)
{
    char **md = GDALGetMetadata(ds, NULL);
    for (int i = 0; md && md[i]; i++) {
        const char *eq = strchr(md[i], '=');
        if (eq && has_prefix_ci(md[i], prefix)) {
            snprintf(key, len, "%.*s", (int)(eq - md[i]), md[i]);
            return key;
        }
    }
    return NULL;
}

int gd_sensor_detect(const gd_source *src, char *why, size_t len)
{
    GDALDatasetH ds = src->ds;
    const char *base = base_name(src->path);
    const char *v;
    char key[128];
    /* Sentinel-2: the SAFE driver's and sen2cor's keys first, then the product name */
    if (key_with_prefix(ds, "BOA_ADD_OFFSET", key, sizeof key) ||
        key_with_prefix(ds, "BOA_QUANTIFICATION_VALUE", key, sizeof key)) {
        snprintf(why, len, "metadata %s", key);
        return GD_SENSOR_S2L2A;
    }
    if (key_with_prefix(ds, "RADIO_ADD_OFFSET", key, sizeof key)) {
        snprintf(why, len, "metadata %s", key);
        return GD_SENSOR_S2L1C;
    }
    const char *ptype = GDALGetMetadataItem(ds, "PRODUCT_TYPE", NULL);
    const char *level = GDALGetMetadataItem(ds, "PROCESSING_LEVEL", NULL);
    const char *craft = GDALGetMetadataItem(ds, "SPACECRAFT_NAME", NULL);
    /* PRODUCT_TYPE is S2MSI2A in the SAFE metadata, MSIL2A in product names */
    if (contains_ci(ptype, "MSI2A") || contains_ci(ptype, "MSIL2A") || (contains_ci(craft, "Sentinel-2") && contains_ci(level, "2A"))) {
        snprintf(why, len, "metadata %s=%s", ptype ? "PRODUCT_TYPE" : "PROCESSING_LEVEL",
                 ptype ? ptype : level);
        return GD_SENSOR_S2L2A;
    }
    if (contains_ci(ptype, "MSI1C") || contains_ci(ptype, "MSIL1C") || (contains_ci(craft, "Sentinel-2") && contains_ci(level, "1C"))) {
        snprintf(why, len, "metadata %s=%s", ptype ? "PRODUCT_TYPE" : "PROCESSING_LEVEL",
                 ptype ? ptype : level);
        return GD_SENSOR_S2L1C;
    }
    if (contains_ci(base, "MSIL2A")) {
        snprintf(why, len, "file name %s", base);
        return GD_SENSOR_S2L2A;
    }
    if (contains_ci(base, "MSIL1C")) {
        snprintf(why, len, "file name %s", base);
        return GD_SENSOR_S2L1C;
    }
    /* Landsat 8/9 Collection 2 Level-2: MTL keys, product id, file name */
    static const char *const lc[] = {"LC08_L2SP", "LC09_L2SP", "LC08_L2SR", "LC09_L2SR"};
    v = GDALGetMetadataItem(ds, "LANDSAT_PRODUCT_ID", NULL);
    for (int i = 0; i < 4; i++) {
        if (has_prefix_ci(v, lc[i])) {
            snprintf(why, len, "metadata LANDSAT_PRODUCT_ID=%s", v);
            return GD_SENSOR_LANDSAT_C2L2;
        }
        if (has_prefix_ci(base, lc[i])) {
            snprintf(why, len, "file name %s", base);
            return GD_SENSOR_LANDSAT_C2L2;
        }
    }
    if (key_with_prefix(ds, "REFLECTANCE_MULT_BAND_", key, sizeof key)) {
        snprintf(why, len, "metadata %s", key);
        return GD_SENSOR_LANDSAT_C2L2;
    }
    /* Sentinel-1 */
    v = GDALGetMetadataItem(ds, "MISSION_ID", NULL);
    const char *sat = GDALGetMetadataItem(ds, "SATELLITE_IDENTIFIER", NULL);
    if (has_prefix_ci(v, "S1") || contains_ci(sat, "SENTINEL-1")) {
        snprintf(why, len, "metadata %s=%s", v ? "MISSION_ID" : "SATELLITE_IDENTIFIER", v ? v : sat);
        return GD_SENSOR_S1;
    }
    if (has_prefix_ci(base, "S1A_") || has_prefix_ci(base, "S1B_") || has_prefix_ci(base, "S1C_")) {
        snprintf(why, len, "file name %s", base);
        return GD_SENSOR_S1;
    }
    snprintf(why, len, "no sensor metadata");
    return GD_SENSOR_NONE;
}

/* A metadata value as a number; 0 when absent or not a number. */
static int md_number(char **md, const char *key, double *out)
{
    const char *v = CSLFetchNameValue(md, key);
    char *end = NULL;
    if (!v || !*v)
        return 0;
    double x = strtod(v, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (!end || *end || !isfinite(x))
        return 0;
    *out = x;
    return 1;
}

/* Sentinel-2 additive offset of one band (BOA_ADD_OFFSET for L2A, RADIO_ADD_OFFSET for
 * L1C): the band's own item, then the dataset's per-band keys (B4, B04 or the ESA band_id,
 * 0-based with B8A = 8), then a single dataset key. */
static int s2_band_offset(GDALDatasetH ds, GDALRasterBandH band, const char *prefix,
                          double *off, char *key, size_t len)
{
    char **bmd = GDALGetMetadata(band, NULL), **md = GDALGetMetadata(ds, NULL);
    int is_8a = 0, n = gd_band_name_number(GDALGetDescription(band), &is_8a, NULL, NULL);
    char cand[4][64];
    int nc = 0;
    if (n > 0) {
        snprintf(cand[nc++], sizeof cand[0], "%s_B%d%s", prefix, n, is_8a ? "A" : "");
        snprintf(cand[nc++], sizeof cand[0], "%s_B%02d%s", prefix, n, is_8a ? "A" : "");
        snprintf(cand[nc++], sizeof cand[0], "%s_%d", prefix, is_8a ? 8 : n <= 8 ? n - 1 : n);
    }
    snprintf(cand[nc++], sizeof cand[0], "%s", prefix);
    if (md_number(bmd, prefix, off)) {
        snprintf(key, len, "band metadata %s", prefix);
        return 1;
    }
    for (int i = 0; i < nc; i++)
        if (md_number(md, cand[i], off)) {
            snprintf(key, len, "metadata %.60s", cand[i]);
            return 1;
        }
    return 0;
}

/* The band in the input file itself: bands[k] may read a warped or co-registered copy,
 * which has neither the description, the metadata nor the data type of the source. */
static GDALRasterBandH src_band(const gd_source *src, int index)
{
    return GDALGetRasterBand(src->ds, index);
}

static json_t *band_record(int index, GDALRasterBandH band, double scale, double offset,
                           const char *why)
{
    const char *d = GDALGetDescription(band);
    return json_pack("{s:i, s:s, s:f, s:f, s:s}", "band", index, "name", d && *d ? d : "-",
                     "scale", scale, "offset", offset, "why", why);
}

/* Sentinel-2 L1C/L2A: reflectance = (DN + offset) / quantification. */
static int apply_s2(gd_job *job, const gd_source *src, const char *label, int l2a,
                    int has_user_offset, double user_offset, gd_band *bands, const int *idx,
                    size_t nb, json_t *rec)
{
    const char *prefix = l2a ? "BOA_ADD_OFFSET" : "RADIO_ADD_OFFSET";
    char **md = GDALGetMetadata(src->ds, NULL);
    double q = S2_QUANTIFICATION, baseline = NAN;
    const char *qkey = l2a ? "BOA_QUANTIFICATION_VALUE" : "QUANTIFICATION_VALUE";
    if (!md_number(md, qkey, &q) || !(q > 0)) {
        q = S2_QUANTIFICATION;
        qkey = "default 10000";
    }
    const char *bkey = "PROCESSING_BASELINE";
    if (!md_number(md, bkey, &baseline)) {
        /* product names carry the baseline as _Nxxyy_ (N0509 = 05.09) */
        const char *n = strstr(base_name(src->path), "_N");
        bkey = "unknown";
        if (n && isdigit((unsigned char)n[2]) && isdigit((unsigned char)n[3]) &&
            isdigit((unsigned char)n[4]) && isdigit((unsigned char)n[5]) && n[6] == '_') {
            baseline = (n[2] - '0') * 10 + (n[3] - '0') + ((n[4] - '0') * 10 + (n[5] - '0')) / 100.0;
            bkey = "file name";
        }
    }
    json_object_set_new(rec, "quantification", json_real(q));
    json_object_set_new(rec, "quantification_why", json_string(qkey));
    json_object_set_new(rec, "processing_baseline", isnan(baseline) ? json_null() : json_real(baseline));
    json_object_set_new(rec, "processing_baseline_why", json_string(bkey));
    json_t *arr = json_array();
    int warned = 0;
    for (size_t k = 0; k < nb; k++) {
        double off = 0.0;
        char why[160];
        if (s2_band_offset(src->ds, src_band(src, idx[k]), prefix, &off, why, sizeof why)) {
            if (has_user_offset && off != user_offset && !warned++)
                gd_job_warn(job, "%s image %s: --s2-offset %g ignored, the metadata say %s "
                                 "= %g", label, src->path, user_offset, prefix, off);
        } else if (has_user_offset) {
            off = user_offset;
            snprintf(why, sizeof why, "--s2-offset");
        } else if (!isnan(baseline) && baseline >= 4.0) {
            off = S2_BASELINE4_OFFSET;
            snprintf(why, sizeof why, "assumed: baseline %05.2f >= 04.00 without %s", baseline, prefix);
            if (!warned++)
                gd_job_warn(job, "%s image %s: processing baseline %05.2f but no %s in the "
                                 "metadata: the -1000 offset of baselines >= 04.00 is ASSUMED "
                                 "(hint: --s2-offset N to set it)", label, src->path, baseline, prefix);
        } else if (!isnan(baseline)) {
            snprintf(why, sizeof why, "baseline %05.2f < 04.00: no offset", baseline);
        } else {
            snprintf(why, sizeof why, "UNKNOWN: no baseline nor %s, no offset applied", prefix);
            if (!warned++)
                gd_job_warn(job, "%s image %s: Sentinel-2 offset UNKNOWN (no PROCESSING_BASELINE "
                                 "nor %s in the metadata): no offset applied; products of "
                                 "baseline >= 04.00 (from 25 January 2022) need --s2-offset "
                                 "-1000", label, src->path, prefix);
        }
        bands[k].scale = 1.0 / q;
        bands[k].offset = off / q;
        json_array_append_new(arr, band_record(idx[k], src_band(src, idx[k]), bands[k].scale,
                                               bands[k].offset, why));
    }
    json_object_set_new(rec, "bands", arr);
    return GD_OK;
}

/* Landsat C2 L2: the MTL's REFLECTANCE_MULT/ADD_BAND_n when present, else the constants. */
static void apply_landsat(const gd_source *src, gd_band *bands, const int *idx, size_t nb,
                          json_t *rec)
{
    char **md = GDALGetMetadata(src->ds, NULL);
    json_t *arr = json_array();
    for (size_t k = 0; k < nb; k++) {
        int is_8a = 0, n = gd_band_name_number(GDALGetDescription(src_band(src, idx[k])), &is_8a, NULL, NULL);
        double sc = LANDSAT_C2L2_SCALE, of = LANDSAT_C2L2_OFFSET;
        char why[160] = "Collection 2 Level-2 constants";
        char km[64], ka[64];
        snprintf(km, sizeof km, "REFLECTANCE_MULT_BAND_%d", n);
        snprintf(ka, sizeof ka, "REFLECTANCE_ADD_BAND_%d", n);
        double m2, a2;
        if (n > 0 && md_number(md, km, &m2) && md_number(md, ka, &a2) && m2 != 0.0) {
            sc = m2;
            of = a2;
            snprintf(why, sizeof why, "metadata %s, %s", km, ka);
        }
        bands[k].scale = sc;
        bands[k].offset = of;
        json_array_append_new(arr, band_record(idx[k], src_band(src, idx[k]), sc, of, why));
    }
    json_object_set_new(rec, "bands", arr);
}

int gd_sensor_apply(gd_job *job, const gd_source *src, const char *label, int profile,
                    int has_s2_offset, double s2_offset, gd_band *bands, const int *idx,
                    size_t nb)
{
    char why[512];
    int chosen = profile;
    if (profile < 0 || profile >= NPROFILES)
        return gd_job_error(job, GD_EUSAGE, "unknown sensor profile %d", profile);
    if (profile == GD_SENSOR_AUTO) {
        chosen = gd_sensor_detect(src, why, sizeof why);
        /* a float band of an optical product was already converted by whoever wrote it */
        if ((chosen == GD_SENSOR_S2L2A || chosen == GD_SENSOR_S2L1C ||
             chosen == GD_SENSOR_LANDSAT_C2L2) && nb > 0 &&
            (GDALGetRasterDataType(src_band(src, idx[0])) == GDT_Float32 ||
             GDALGetRasterDataType(src_band(src, idx[0])) == GDT_Float64)) {
            size_t used = strlen(why);
            snprintf(why + used, sizeof why - used, " says %s, but the bands are floating "
                     "point: taken as reflectance already", gd_sensor_name(chosen));
            chosen = GD_SENSOR_NONE;
        }
    } else {
        snprintf(why, sizeof why, "--sensor %s", gd_sensor_name(profile));
    }
    json_t *rec = json_pack("{s:s, s:s}", "profile", gd_sensor_name(chosen), "why", why);
    int st = GD_OK;
    /* the profile's rule wins over a scale/offset in the file (profile none keeps it) */
    int replaced = 0;
    for (size_t k = 0; k < nb && chosen != GD_SENSOR_NONE && chosen != GD_SENSOR_S1; k++)
        replaced |= bands[k].scale != 1.0 || bands[k].offset != 0.0;
    if (replaced)
        gd_job_warn(job, "%s image %s: the bands' own GDAL scale/offset are replaced by the "
                         "%s profile (--sensor none keeps them)", label, src->path,
                    gd_sensor_name(chosen));
    json_object_set_new(rec, "gdal_scale_offset_replaced", json_boolean(replaced));
    switch (chosen) {
    case GD_SENSOR_S2L2A:
    case GD_SENSOR_S2L1C:
        st = apply_s2(job, src, label, chosen == GD_SENSOR_S2L2A, has_s2_offset, s2_offset,
                      bands, idx, nb, rec);
        break;
    case GD_SENSOR_LANDSAT_C2L2:
        apply_landsat(src, bands, idx, nb, rec);
        break;
    default: {
        /* none and s1: the values as stored, with the band's own GDAL scale and offset */
        json_t *arr = json_array();
        for (size_t k = 0; k < nb; k++)
            json_array_append_new(arr, band_record(idx[k], src_band(src, idx[k]), bands[k].scale,
                                                   bands[k].offset, "GDAL band scale/offset"));
        json_object_set_new(rec, "bands", arr);
        break;
    }
    }
    if (chosen != GD_SENSOR_NONE)
        gd_job_info(job, "%s image: sensor profile %s (%s)", label, gd_sensor_name(chosen), why);
    json_t *all = json_object_get(gd_job_auto(job), "sensor");
    if (!all) {
        all = json_object();
        json_object_set_new(gd_job_auto(job), "sensor", all);
    }
    json_t *other = json_object_get(all, strcmp(label, "before") == 0 ? "after" : "before");
    const char *op = json_string_value(json_object_get(other, "profile"));
    if (op && strcmp(op, gd_sensor_name(chosen)) != 0)
        gd_job_warn(job, "the before and after images have different sensor profiles (%s, "
                         "%s): their values may not be comparable (hint: --sensor)",
                    strcmp(label, "before") == 0 ? gd_sensor_name(chosen) : op,
                    strcmp(label, "before") == 0 ? op : gd_sensor_name(chosen));
    json_object_set_new(all, label, rec);
    return st;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The sample the median is taken on: about this many pixels. */
#define MEDIAN_SAMPLE_PX 1048576
/* Above this many pixels, and without overviews, the sample is whole blocks spread over
 * the image: a decimated read of a large file decodes every block of it (1.5 s a date at
 * 10980² float32). Smaller images (all of ../shared/data) keep the decimated read and the
 * medians they always had. */
#define MEDIAN_SPARSE_MIN_PX ((int64_t)2048 * 2048)

/* Whole blocks on a grid over the image, nearly MEDIAN_SAMPLE_PX pixels in all, read into
 * buf (cap floats); returns the count read, 0 when blocks do not suit (one block holds
 * most of the image), -1 on a read error. */
static long read_block_sample(GDALRasterBandH band, float *buf, size_t cap)
{
    int w = GDALGetRasterBandXSize(band), h = GDALGetRasterBandYSize(band), bx = 0, by = 0;
    GDALGetBlockSize(band, &bx, &by);
    bx = bx < 1 || bx > w ? w : bx;
    by = by < 1 || by > h ? h : by;
    size_t per = (size_t)bx * (size_t)by;
    if (per > MEDIAN_SAMPLE_PX / 4)
        return 0;
    int nbx = (w + bx - 1) / bx, nby = (h + by - 1) / by;
    double want = ceil((double)MEDIAN_SAMPLE_PX / (double)per);
    /* as many block rows and columns as the image's shape asks, each at most all */
    int gy = (int)ceil(sqrt(want * nby / nbx));
    gy = gy < 1 ? 1 : gy > nby ? nby : gy;
    int gx = (int)ceil(want / gy);
    gx = gx < 1 ? 1 : gx > nbx ? nbx : gx;
    size_t k = 0;
    for (int j = 0; j < gy; j++)
        for (int i = 0; i < gx; i++) {
            /* the block at the middle of each cell of a gx x gy grid of blocks */
            int x0 = (int)(((int64_t)2 * i + 1) * nbx / (2 * gx)) * bx;
            int y0 = (int)(((int64_t)2 * j + 1) * nby / (2 * gy)) * by;
            int cw = x0 + bx > w ? w - x0 : bx, ch = y0 + by > h ? h - y0 : by;
            if (k + (size_t)cw * (size_t)ch > cap)
                return (long)k;
            if (GDALRasterIO(band, GF_Read, x0, y0, cw, ch, buf + k, cw, ch, GDT_Float32, 0,
                             0) != CE_None)
                return -1;
            k += (size_t)cw * (size_t)ch;
        }
    return (long)k;
}

/* Median of the finite values (scale and offset applied) on a sample of about 1 Mpx: a
 * decimated read of the image (from its overviews when it has them), or whole blocks
 * spread over a large image without overviews. */
static int sample_median(gd_job *job, const gd_band *b, double *median)
{
    GDALRasterBandH band = b->band;
    int w = GDALGetRasterBandXSize(band), h = GDALGetRasterBandYSize(band);
    double f = sqrt((double)w * (double)h / (double)MEDIAN_SAMPLE_PX);
    int bw = f > 1.0 ? (int)ceil(w / f) : w, bh = f > 1.0 ? (int)ceil(h / f) : h;
    int sparse = (int64_t)w * h > MEDIAN_SPARSE_MIN_PX && GDALGetOverviewCount(band) == 0;
    size_t dec = (size_t)bw * (size_t)bh, n = 0, k = 0;
    size_t cap = sparse && dec < 2 * (size_t)MEDIAN_SAMPLE_PX ? 2 * (size_t)MEDIAN_SAMPLE_PX : dec;
    float *buf = malloc(sizeof(float) * cap);
    *median = NAN;
    if (!buf)
        return gd_job_error(job, GD_EPROC, "out of memory");
    CPLErrorReset();
    long got = sparse ? read_block_sample(band, buf, cap) : 0;
    int blocks = got > 0;
    if (got == 0) /* the decimated read */
        got = GDALRasterIO(band, GF_Read, 0, 0, w, h, buf, bw, bh, GDT_Float32, 0, 0) == CE_None
                  ? (long)dec
                  : -1;
    if (got < 0) {
        free(buf);
        return gd_job_error_gdal(job, GD_EINPUT, "read error in %s (hint: the file may be "
                                 "truncated or corrupt)", gd_band_file(b));
    }
    n = (size_t)got;
    if (blocks)
        gd_job_info(job, "%s: median of %zu px in whole blocks spread over the image (no "
                         "overviews to read a decimated copy from)", gd_band_file(b), n);
    gd_band b2 = *b;
    b2.db_to_linear = 0;
    gd_band_to_values(&b2, buf, n);
    for (size_t i = 0; i < n; i++)
        if (!isnan(buf[i]))
            buf[k++] = buf[i];
    if (k > 0) {
        qsort(buf, k, sizeof(float), cmp_float);
        *median = k % 2 ? buf[k / 2] : 0.5 * ((double)buf[k / 2 - 1] + (double)buf[k / 2]);
    }
    free(buf);
    return GD_OK;
}

static int says_db(const char *v)
{
    return v && (strcasecmp(v, "dB") == 0 || strcasecmp(v, "decibel") == 0 ||
                 strcasecmp(v, "decibels") == 0);
}

/* The decision from the band's tags and type alone: 1 with *db and why set, 0 when the
 * sample's median must decide. */
static int sar_db_from_tags(const gd_source *src, int idx, int *db, char *why, size_t whyn)
{
    GDALRasterBandH sb = src_band(src, idx);
    GDALDataType dt = GDALGetRasterDataType(sb);
    *db = 0;
    if (says_db(GDALGetRasterUnitType(sb))) {
        *db = 1;
        snprintf(why, whyn, "band unit type dB");
    } else if (says_db(GDALGetMetadataItem(sb, "UNITS", NULL)) ||
               says_db(GDALGetMetadataItem(src->ds, "UNITS", NULL))) {
        *db = 1;
        snprintf(why, whyn, "metadata UNITS=dB");
    } else if (dt == GDT_Byte || dt == GDT_UInt16 || dt == GDT_UInt32) {
        /* unsigned digital numbers (amplitudes) cannot be decibels */
        snprintf(why, whyn, "unsigned integer data: linear");
    } else {
        return 0;
    }
    return 1;
}

static void sar_db_record(gd_job *job, const char *label, gd_band *band, int db,
                          const char *why, double median)
{
    band->db_to_linear = db;
    if (db)
        gd_job_info(job, "%s image: SAR values in dB (%s), converted to linear power "
                         "10^(x/10) before the log-ratio", label, why);
    json_t *rec = json_object_get(json_object_get(gd_job_auto(job), "sensor"), label);
    if (rec)
        json_object_set_new(rec, "sar", json_pack("{s:b, s:s, s:o}", "db_to_linear", db, "why",
                                                  why, "median", isnan(median) ? json_null()
                                                                 : json_real(median)));
}

/* One date's sample median, on its own thread when there is one (gd_task). */
typedef struct median_arg {
    const gd_band *band;
    double *median;
} median_arg;

static int median_task(gd_job *job, void *arg)
{
    median_arg *m = arg;
    return sample_median(job, m->band, m->median);
}

int gd_sensor_sar_db_n(gd_job *job, const gd_source *const *src, const char *const *label,
                       gd_band *const *band, const int *idx, size_t n)
{
    char why[2][160];
    int db[2], need[2];
    double median[2] = {NAN, NAN};
    if (n > 2)
        return gd_job_error(job, GD_EPROC, "gd_sensor_sar_db_n: at most 2 dates");
    for (size_t i = 0; i < n; i++)
        need[i] = !sar_db_from_tags(src[i], idx[i], &db[i], why[i], sizeof why[i]);
    /* each median decodes a sample of its file (up to all of it, decimated): both dates
     * at once, each on its own dataset, when there are threads for it; else one after
     * the other */
    int side = n == 2 && need[0] && need[1] &&
               GDALGetBandDataset(band[0]->band) != GDALGetBandDataset(band[1]->band);
    median_arg m1 = {.band = side ? band[1] : NULL, .median = &median[1]};
    gd_task t = {0};
    if (side)
        gd_task_start(job, &t, median_task, &m1, GD_TASK_AT_JOIN);
    int st = GD_OK;
    for (size_t i = 0; i < n && st == GD_OK; i++)
        if (need[i] && !(side && i == 1))
            st = sample_median(job, band[i], &median[i]);
    st = gd_task_join(job, &t, st); /* its error unless the job has one */
    if (st != GD_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (need[i]) {
            db[i] = median[i] < 0.0;
            snprintf(why[i], sizeof why[i], "median %.4g %s 0: %s", median[i],
                     db[i] ? "<" : ">=", db[i] ? "dB" : "linear");
        }
        sar_db_record(job, label[i], band[i], db[i], why[i], median[i]);
    }
    return GD_OK;
}

int gd_sensor_sar_db(gd_job *job, const gd_source *src, const char *label, gd_band *band,
                     int idx)
{
    return gd_sensor_sar_db_n(job, &src, &label, &band, &idx, 1);
}
