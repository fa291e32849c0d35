/* mosaic.c: an acquisition's band assets, mosaicked with GDALBuildVRT over /vsicurl/,
 * read for the AOI's window only into one local GeoTIFF per date, with a SHA-256 of the
 * decoded pixels of each band (the evidence of what was analysed). */
#include "discover_int.h"

#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_utils.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* pixels kept around the AOI's box: the warp's kernel and a co-registration shift read
 * a little outside the grid, and those pixels must be the file's, not nodata */
#define MARGIN_PX 32

/* the bands read, by eo:bands common name (or asset key), and the names the source
 * stage knows them by (Sentinel-2 numbering; SAR polarisations; SCL as the cloud mask) */
static const struct {
    const char *common, *key, *desc;
} BANDS[] = {{"blue", "blue", "B02"},     {"green", "green", "B03"},   {"red", "red", "B04"},
             {"nir", "nir", "B08"},       {"swir16", "swir16", "B11"}, {"swir22", "swir22", "B12"},
             {NULL, "scl", "SCL"},        {NULL, "vv", "VV"},          {NULL, "vh", "VH"}};
#define NBANDS (sizeof BANDS / sizeof BANDS[0])

static json_t *find_asset(json_t *item, size_t b, const char **key)
{
    json_t *assets = json_object_get(item, "assets"), *a;
    const char *k;
    if (BANDS[b].common)
        json_object_foreach(assets, k, a) {
            size_t i;
            json_t *eb;
            json_array_foreach(json_object_get(a, "eo:bands"), i, eb) {
                const char *cn = json_string_value(json_object_get(eb, "common_name"));
                if (cn && strcmp(cn, BANDS[b].common) == 0 && json_object_get(a, "href")) {
                    *key = k;
                    return a;
                }
            }
        }
    a = json_object_get(assets, BANDS[b].key);
    *key = BANDS[b].key;
    return json_string_value(json_object_get(a, "href")) ? a : NULL;
}

/* An asset href as a GDAL path: http(s) through /vsicurl/, s3:// through /vsis3/, a
 * relative href against the item's self link. */
static void gdal_path(const char *href, const char *self, char *out, size_t len)
{
    if (strncmp(href, "http://", 7) == 0 || strncmp(href, "https://", 8) == 0)
        snprintf(out, len, "/vsicurl/%s", href);
    else if (strncmp(href, "s3://", 5) == 0)
        snprintf(out, len, "/vsis3/%s", href + 5);
    else if (strncmp(href, "file://", 7) == 0)
        snprintf(out, len, "%s", href + 7);
    else if (href[0] == '/' || !self)
        snprintf(out, len, "%s", href);
    else {
        char base[4096];
        snprintf(base, sizeof base, "%s", self);
        char *slash = strrchr(base, '/');
        if (slash)
            slash[1] = '\0';
        char tmp[8192];
        snprintf(tmp, sizeof tmp, "%s%s", base, href);
        gdal_path(tmp, NULL, out, len);
    }
}

/* The asset's HTTP identity (ETag, Last-Modified, size) by HEAD; for a local file its
 * size and modification time. A missing asset is the error here, before GDAL's. */
static int asset_identity(gd_job *job, const char *href, const char *gpath, const char *what,
                          json_t *o)
{
    if (strncmp(gpath, "/vsicurl/", 9) == 0) {
        gd_http_resp r;
        char safe[1024];
        gd_http_safe_url(href, safe, sizeof safe);
        int st = gd_http(job, "HEAD", href, NULL, &r);
        if (st != GD_OK)
            return st;
        if (r.status != 200) {
            long s = r.status;
            gd_http_resp_free(&r);
            return gd_job_error(job, GD_EINPUT, "%s (%s): HTTP %ld%s", what, safe, s,
                                s == 404 ? " (not found)" : "");
        }
        json_object_set_new(o, "etag", r.etag[0] ? json_string(r.etag) : json_null());
        json_object_set_new(o, "last_modified",
                            r.last_modified[0] ? json_string(r.last_modified) : json_null());
        json_object_set_new(o, "size", r.size >= 0 ? json_integer(r.size) : json_null());
        gd_http_resp_free(&r);
        return GD_OK;
    }
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    if (strncmp(gpath, "/vsi", 4) != 0 && stat(gpath, &sb) != 0)
        return gd_job_error(job, GD_EINPUT, "%s (%s): no such file", what, gpath);
    if (strncmp(gpath, "/vsi", 4) != 0) {
        json_object_set_new(o, "size", json_integer((json_int_t)sb.st_size));
        json_object_set_new(o, "mtime", json_integer((json_int_t)sb.st_mtime));
    }
    return GD_OK;
}

/* GDAL's HTTP settings for the reads of this stage (thread-local: the discover stage runs
 * in the caller's thread; the chain reads only the local window afterwards). A value
 * the user set in the environment wins. */
typedef struct {
    char *old[4];
} cfg_saved;
static const char *const CFG_KEYS[4] = {"GDAL_HTTP_MAX_RETRY", "GDAL_HTTP_RETRY_DELAY",
                                        "GDAL_DISABLE_READDIR_ON_OPEN", "GDAL_HTTP_TIMEOUT"};
static const char *const CFG_VALS[4] = {"3", "1", "EMPTY_DIR", "60"};

static void cfg_push(cfg_saved *s)
{
    for (int i = 0; i < 4; i++) {
        const char *v = CPLGetThreadLocalConfigOption(CFG_KEYS[i], NULL);
        s->old[i] = v ? CPLStrdup(v) : NULL;
        if (!CPLGetConfigOption(CFG_KEYS[i], NULL))
            CPLSetThreadLocalConfigOption(CFG_KEYS[i], CFG_VALS[i]);
    }
}

static void cfg_pop(cfg_saved *s)
{
    for (int i = 0; i < 4; i++) {
        CPLSetThreadLocalConfigOption(CFG_KEYS[i], s->old[i]);
        CPLFree(s->old[i]);
    }
}

/* One band of the stack: the GDAL paths of its assets, one per item. */
typedef struct {
    const char *desc;
    size_t n;
    char **paths;
} band_src;

/* The sources of one band's mosaic, all in the CRS of the first: an item in another CRS
 * (a scene across a UTM zone boundary) is warped into a VRT on the first item's grid
 * (same pixel size, edges snapped to its lattice, nearest neighbour: no new values, and
 * the scene classification stays classes). The warped VRT is lazy: the window read later
 * asks only for the source blocks it needs. The warped VRTs' paths replace the items'
 * and move to the front of the list. */
static int same_crs(gd_job *job, band_src *bs, size_t b, const char *tag, int *warped)
{
    int st = GD_OK;
    size_t nwarped = 0;
    GDALDatasetH ref = NULL;
    OGRSpatialReferenceH rs = NULL;
    double rgt[6];
    for (size_t i = 0; i < bs[b].n && st == GD_OK; i++) {
        GDALDatasetH ds = GDALOpenEx(bs[b].paths[i], GDAL_OF_RASTER, NULL, NULL, NULL);
        if (!ds) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot open the %s asset %s of the %s "
                                   "acquisition", bs[b].desc, bs[b].paths[i], tag);
            break;
        }
        const char *wkt = GDALGetProjectionRef(ds);
        OGRSpatialReferenceH s = wkt && *wkt ? OSRNewSpatialReference(wkt) : NULL;
        if (i == 0) {
            ref = ds, rs = s;
            if (!rs || GDALGetGeoTransform(ref, rgt) != CE_None)
                break; /* no CRS: BuildVRT's own checks say so */
            continue;
        }
        if (!s || OSRIsSame(s, rs)) {
            if (s)
                OSRDestroySpatialReference(s);
            GDALClose(ds);
            continue;
        }
        /* the source's extent in the first item's CRS, snapped outwards to its lattice */
        double gt[6], b4[4];
        int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds), ok = 0;
        if (GDALGetGeoTransform(ds, gt) == CE_None) {
            OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
            OSRSetAxisMappingStrategy(rs, OAMS_TRADITIONAL_GIS_ORDER);
            OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(s, rs);
            double x0 = gt[0], x1 = gt[0] + w * gt[1], y0 = gt[3] + h * gt[5], y1 = gt[3];
            ok = ct && OCTTransformBounds(ct, fmin(x0, x1), fmin(y0, y1), fmax(x0, x1),
                                          fmax(y0, y1), &b4[0], &b4[1], &b4[2], &b4[3], 21);
            if (ct)
                OCTDestroyCoordinateTransformation(ct);
        }
        OSRDestroySpatialReference(s);
        if (!ok) {
            GDALClose(ds);
            st = gd_job_error_gdal(job, GD_EINPUT, "the %s asset %s cannot be put into the "
                                   "CRS of the first item of the %s acquisition",
                                   bs[b].desc, bs[b].paths[i], tag);
            break;
        }
        double rx = fabs(rgt[1]), ry = fabs(rgt[5]);
        double ex0 = rgt[0] + floor((b4[0] - rgt[0]) / rx) * rx;
        double ex1 = rgt[0] + ceil((b4[2] - rgt[0]) / rx) * rx;
        double ey1 = rgt[3] - floor((rgt[3] - b4[3]) / ry) * ry;
        double ey0 = rgt[3] - ceil((rgt[3] - b4[1]) / ry) * ry;
        char te[4][40], tr[2][40], vrt[512];
        snprintf(te[0], sizeof te[0], "%.17g", ex0);
        snprintf(te[1], sizeof te[1], "%.17g", ey0);
        snprintf(te[2], sizeof te[2], "%.17g", ex1);
        snprintf(te[3], sizeof te[3], "%.17g", ey1);
        snprintf(tr[0], sizeof tr[0], "%.17g", rx);
        snprintf(tr[1], sizeof tr[1], "%.17g", ry);
        snprintf(vrt, sizeof vrt, "/vsimem/gd_discover/%s/%zu_%s_warp%zu.vrt", tag, b,
                 bs[b].desc, i);
        char *wkt_ref = NULL, nd[40];
        OSRExportToWkt(rs, &wkt_ref);
        /* the warped tile's corners outside its source are nodata (the source's, else 0:
         * Sentinel-2's and Landsat's fill value), so that they hide no other item */
        int has_nd = 0;
        double ndv = GDALGetRasterNoDataValue(GDALGetRasterBand(ds, 1), &has_nd);
        snprintf(nd, sizeof nd, "%.17g", has_nd ? ndv : 0.0);
        char *argv[] = {"-of", "VRT", "-t_srs", wkt_ref, "-te", te[0], te[1], te[2], te[3],
                        "-tr", tr[0], tr[1], "-r", "near", "-dstnodata", nd, NULL};
        GDALWarpAppOptions *o = GDALWarpAppOptionsNew(argv, NULL);
        int err = 0;
        CPLErrorReset();
        GDALDatasetH wds = o ? GDALWarp(vrt, NULL, 1, &ds, o, &err) : NULL;
        GDALWarpAppOptionsFree(o);
        CPLFree(wkt_ref);
        if (!wds || err) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot warp the %s asset %s into the CRS "
                                   "of the first item of the %s acquisition", bs[b].desc,
                                   bs[b].paths[i], tag);
        } else {
            GDALClose(wds); /* written to /vsimem/; BuildVRT reopens it by name */
            /* warped tiles go under the others (BuildVRT puts later sources on top): in
             * an overlap the pixels that were not resampled win */
            free(bs[b].paths[i]);
            memmove(bs[b].paths + nwarped + 1, bs[b].paths + nwarped,
                    (i - nwarped) * sizeof *bs[b].paths);
            bs[b].paths[nwarped++] = strdup(vrt);
            (*warped)++;
        }
        GDALClose(ds);
    }
    if (rs)
        OSRDestroySpatialReference(rs);
    if (ref)
        GDALClose(ref);
    return st;
}

/* Per band a mosaic VRT of its items (later items over earlier ones, items sorted by id),
 * then one VRT with the bands as separate layers. */
static int stack_open(gd_job *job, band_src *bs, size_t nb, const char *tag, GDALDatasetH *out)
{
    int st = GD_OK, warped = 0;
    char **names = NULL;
    *out = NULL;
    for (size_t b = 0; b < nb && st == GD_OK; b++) {
        char vrt[512];
        snprintf(vrt, sizeof vrt, "/vsimem/gd_discover/%s/%zu_%s.vrt", tag, b, bs[b].desc);
        if (bs[b].n > 1 && (st = same_crs(job, bs, b, tag, &warped)) != GD_OK)
            break;
        char *argv[] = {"-r", "nearest", NULL};
        GDALBuildVRTOptions *o = GDALBuildVRTOptionsNew(argv, NULL);
        int err = 0;
        CPLErrorReset();
        GDALDatasetH ds = GDALBuildVRT(vrt, (int)bs[b].n, NULL,
                                       (const char *const *)bs[b].paths, o, &err);
        GDALBuildVRTOptionsFree(o);
        if (!ds || err) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot open the %s assets of the %s "
                                   "acquisition (%s%s)", bs[b].desc, tag, bs[b].paths[0],
                                   bs[b].n > 1 ? " ..." : "");
            if (ds)
                GDALClose(ds);
            break;
        }
        if (GDALGetRasterCount(ds) != 1)
            st = gd_job_error(job, GD_EINPUT, "the %s asset %s has %d bands, not 1",
                              bs[b].desc, bs[b].paths[0], GDALGetRasterCount(ds));
        GDALClose(ds);
        names = CSLAddString(names, vrt);
    }
    if (warped)
        gd_job_warn(job, "the %.*s acquisition's items are in different CRSs: %d asset(s) "
                    "warped (nearest neighbour) onto the grid of the first item",
                    (int)(strrchr(tag, '-') ? (size_t)(strrchr(tag, '-') - tag) : strlen(tag)),
                    tag, warped);
    if (st == GD_OK) {
        char vrt[512];
        snprintf(vrt, sizeof vrt, "/vsimem/gd_discover/%s/stack.vrt", tag);
        char *argv[] = {"-separate", "-resolution", "highest", "-r", "nearest", NULL};
        GDALBuildVRTOptions *o = GDALBuildVRTOptionsNew(argv, NULL);
        int err = 0;
        CPLErrorReset();
        *out = GDALBuildVRT(vrt, CSLCount(names), NULL, (const char *const *)names, o, &err);
        GDALBuildVRTOptionsFree(o);
        if (!*out || err) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot stack the bands of the %s "
                                   "acquisition", tag);
            if (*out)
                GDALClose(*out);
            *out = NULL;
        }
    }
    CSLDestroy(names);
    return st;
}

static void stack_close(GDALDatasetH ds, const char *tag)
{
    if (ds)
        GDALClose(ds);
    char dir[256];
    snprintf(dir, sizeof dir, "/vsimem/gd_discover/%s", tag);
    VSIRmdirRecursive(dir);
}

/* The AOI's box (WGS84) in the stack's pixels, widened by MARGIN_PX, clipped. */
static int window_of(gd_job *job, GDALDatasetH ds, const double bbox[4], const char *tag,
                     int win[4])
{
    double gt[6], b[4];
    const char *wkt = GDALGetProjectionRef(ds);
    if (GDALGetGeoTransform(ds, gt) != CE_None || !wkt || !*wkt || gt[2] != 0 || gt[4] != 0)
        return gd_job_error(job, GD_EINPUT, "the %s assets are not north-up georeferenced "
                            "rasters", tag);
    OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL), s = OSRNewSpatialReference(wkt);
    OSRImportFromEPSG(wgs, 4326);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(wgs, s);
    int ok = ct && OCTTransformBounds(ct, bbox[0], bbox[1], bbox[2], bbox[3], &b[0], &b[1],
                                      &b[2], &b[3], 21);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(wgs);
    OSRDestroySpatialReference(s);
    if (!ok)
        return gd_job_error_gdal(job, GD_EINPUT, "the AOI cannot be transformed into the "
                                 "CRS of the %s assets", tag);
    int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    double c0 = floor((b[0] - gt[0]) / gt[1] + 1e-9) - MARGIN_PX;
    double c1 = ceil((b[2] - gt[0]) / gt[1] - 1e-9) + MARGIN_PX;
    double r0 = floor((b[3] - gt[3]) / gt[5] + 1e-9) - MARGIN_PX;
    double r1 = ceil((b[1] - gt[3]) / gt[5] - 1e-9) + MARGIN_PX;
    c0 = fmax(c0, 0), r0 = fmax(r0, 0), c1 = fmin(c1, w), r1 = fmin(r1, h);
    if (!(c0 < c1 && r0 < r1))
        return gd_job_error(job, GD_EINPUT, "the AOI does not overlap the pixels of the %s "
                            "assets", tag);
    win[0] = (int)c0, win[1] = (int)r0, win[2] = (int)(c1 - c0), win[3] = (int)(r1 - r0);
    return GD_OK;
}

/* GDALTranslate -srcwin: only the window's blocks of each COG are requested. */
static int window_write(gd_job *job, GDALDatasetH stack, const int win[4], const char *tag,
                        const char *dest, int progress)
{
    char a[4][16];
    for (int i = 0; i < 4; i++)
        snprintf(a[i], sizeof a[i], "%d", win[i]);
    char *argv[] = {"-of", "GTiff", "-srcwin", a[0], a[1], a[2], a[3], "-co", "TILED=YES", NULL};
    GDALTranslateOptions *o = GDALTranslateOptionsNew(argv, NULL);
    int err = 0;
    /* between blocks a cancel (SIGINT) stops the copy; a request GDAL is waiting on ends
     * at GDAL_HTTP_TIMEOUT (GDAL offers no way into its transfer) */
    if (progress)
        GDALTranslateOptionsSetProgress(o, gd_job_gdal_progress, job);
    CPLErrorReset();
    GDALDatasetH out = GDALTranslate(dest, stack, o, &err);
    GDALTranslateOptionsFree(o);
    int failed = !out || err || CPLGetLastErrorType() >= CE_Failure;
    if (failed && gd_job_cancelled(job)) {
        if (out)
            GDALClose(out);
        VSIUnlink(dest);
        return gd_job_error(job, GD_ECANCEL, "reading the AOI window of the %s assets: "
                            "cancelled", tag);
    }
    if (failed) {
        int st = gd_job_error_gdal(job, GD_EINPUT, "reading the AOI window of the %s assets "
                                   "failed (truncated or unreachable asset?)", tag);
        if (out)
            GDALClose(out);
        VSIUnlink(dest);
        return st;
    }
    GDALClose(out);
    return GD_OK;
}

/* SHA-256 of each band's decoded samples, row-major, native type, host byte order. */
static int hash_bands(gd_job *job, const char *path, json_t *hashes)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds)
        return gd_job_error_gdal(job, GD_EINPUT, "cannot reopen %s", path);
    int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds), st = GD_OK;
    for (int b = 1; b <= GDALGetRasterCount(ds) && st == GD_OK; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        GDALDataType dt = GDALGetRasterDataType(band);
        size_t px = (size_t)GDALGetDataTypeSizeBytes(dt);
        unsigned char *row = malloc(px * (size_t)w);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!row || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
            st = gd_job_error(job, GD_EPROC, "out of memory");
        for (int y = 0; y < h && st == GD_OK; y++) {
            if (GDALRasterIO(band, GF_Read, 0, y, w, 1, row, w, 1, dt, 0, 0) != CE_None)
                st = gd_job_error_gdal(job, GD_EINPUT, "cannot read %s", path);
            else
                EVP_DigestUpdate(ctx, row, px * (size_t)w);
        }
        if (st == GD_OK) {
            unsigned char md[EVP_MAX_MD_SIZE];
            unsigned int n = 0;
            char hex[65];
            EVP_DigestFinal_ex(ctx, md, &n);
            gd_hex(md, 32, hex);
            json_array_append_new(hashes, json_string(hex));
        }
        EVP_MD_CTX_free(ctx);
        free(row);
    }
    GDALClose(ds);
    return st;
}

/* What a Sentinel-2 item says about its values: level, processing baseline, whether the
 * baseline-04.00 offset was already applied to the stored numbers. */
typedef struct {
    int s2;                   /* a Sentinel-2 item that states something about its values */
    int l1c;                  /* Level-1C (RADIO_ADD_OFFSET) rather than L2A (BOA_ADD_OFFSET) */
    double baseline;          /* NaN when unknown */
    int applied;              /* offset already in the numbers: 1, not: 0, unknown: -1 */
    char applied_key[64], baseline_key[64];
} item_values;

static const char *prop_str(json_t *props, const char *key)
{
    return json_string_value(json_object_get(props, key));
}

static void values_of(const gd_stac_item *it, item_values *v)
{
    json_t *props = json_object_get(it->json, "properties"), *x;
    memset(v, 0, sizeof *v);
    v->baseline = NAN;
    v->applied = -1;
    /* Earth Search v1 and v0 names; the flag is the catalogue's statement that the
     * numbers were shifted back to the pre-04.00 range (and wins over raster:bands,
     * whose offset Earth Search has been seen to leave at -0.1 on such items) */
    static const char *const flags[] = {"earthsearch:boa_offset_applied",
                                        "sentinel:boa_offset_applied"};
    for (size_t i = 0; i < 2 && v->applied < 0; i++)
        if (json_is_boolean(x = json_object_get(props, flags[i]))) {
            v->applied = json_is_true(x);
            snprintf(v->applied_key, sizeof v->applied_key, "%s", flags[i]);
        }
    static const char *const bl[] = {"s2:processing_baseline", "sentinel:processing_baseline",
                                     "processing:version"};
    for (size_t i = 0; i < 3 && isnan(v->baseline); i++) {
        x = json_object_get(props, bl[i]);
        char *end = NULL;
        double b = json_is_string(x) ? strtod(json_string_value(x), &end)
                 : json_is_number(x) ? json_number_value(x) : NAN;
        if (isfinite(b) && b > 0 && b < 100 && (!end || *end == '\0')) {
            v->baseline = b;
            snprintf(v->baseline_key, sizeof v->baseline_key, "%s", bl[i]);
        }
    }
    const char *plat = it->platform ? it->platform : "";
    const char *pt = prop_str(props, "s2:product_type"), *lvl = prop_str(props, "processing:level");
    const char *coll = json_string_value(json_object_get(it->json, "collection"));
    int s2 = strncasecmp(plat, "sentinel-2", 10) == 0 || pt;
    v->l1c = (pt && strstr(pt, "1C")) || (lvl && strstr(lvl, "1C")) ||
             (!pt && !lvl && coll && (strstr(coll, "l1c") || strstr(coll, "L1C")));
    v->s2 = s2 && (v->applied >= 0 || !isnan(v->baseline));
}

/* Band names, date and the item's values on the local stack. A Sentinel-2 item that
 * states its baseline or offset flag gets the keys the sensor profiles read
 * (PRODUCT_TYPE, PROCESSING_BASELINE, per band BOA_ADD_OFFSET / RADIO_ADD_OFFSET and the
 * quantification), so auto picks the s2 profile and records why; otherwise the item's
 * raster:bands scale and offset go on the bands as GDAL scale/offset, the catalogue's own
 * statement of the values, which the profile "none" (what auto picks then) applies. */
static int label_stack(gd_job *job, const char *path, band_src *bs, json_t **scales, size_t nb,
                       const char *day, const char *ids, const item_values *v, json_t *bands)
{
    GDALDatasetH ds = GDALOpen(path, GA_Update);
    if (!ds)
        return gd_job_error_gdal(job, GD_EPROC, "cannot reopen %s", path);
    const char *prefix = v->l1c ? "RADIO_ADD_OFFSET" : "BOA_ADD_OFFSET";
    double quant = NAN;
    for (size_t b = 0; b < nb; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, (int)b + 1);
        GDALSetDescription(band, bs[b].desc);
        json_t *sc = scales[b], *bj = json_array_get(bands, b);
        json_t *jscale = json_object_get(sc, "scale"), *joff = json_object_get(sc, "offset");
        if (json_is_number(json_object_get(sc, "nodata")))
            GDALSetRasterNoDataValue(band, json_number_value(json_object_get(sc, "nodata")));
        int is_mask = strcmp(bs[b].desc, "SCL") == 0;
        if (!v->s2 || is_mask) {
            if (json_is_number(jscale))
                GDALSetRasterScale(band, json_number_value(jscale));
            if (json_is_number(joff))
                GDALSetRasterOffset(band, json_number_value(joff));
            continue;
        }
        json_t *dn = json_object_get(bj, "s2_offset_dn");
        if (json_is_number(dn)) {
            char val[64];
            snprintf(val, sizeof val, "%.10g", json_number_value(dn));
            GDALSetMetadataItem(band, prefix, val, NULL);
        }
        double sc_v = json_is_number(jscale) ? json_number_value(jscale) : NAN;
        if (isfinite(sc_v) && sc_v > 0 && isnan(quant))
            quant = 1.0 / sc_v;
    }
    if (v->s2) {
        char buf[64];
        GDALSetMetadataItem(ds, "PRODUCT_TYPE", v->l1c ? "S2MSI1C" : "S2MSI2A", NULL);
        if (!isnan(v->baseline)) {
            snprintf(buf, sizeof buf, "%05.2f", v->baseline);
            GDALSetMetadataItem(ds, "PROCESSING_BASELINE", buf, NULL);
        }
        if (!isnan(quant)) {
            snprintf(buf, sizeof buf, "%.10g", round(quant * 1e6) / 1e6);
            GDALSetMetadataItem(ds, v->l1c ? "QUANTIFICATION_VALUE" : "BOA_QUANTIFICATION_VALUE",
                                buf, NULL);
        }
    }
    GDALSetMetadataItem(ds, "ACQUISITION_DATE", day, NULL);
    GDALSetMetadataItem(ds, "STAC_ITEMS", ids, NULL);
    GDALClose(ds);
    return GD_OK;
}

static void free_bands(band_src *bs, size_t nb)
{
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < bs[b].n; i++)
            free(bs[b].paths[i]);
        free(bs[b].paths);
    }
}

/* the cache key: every asset's identity (href, ETag, size), the band order and the AOI's
 * box: known before any pixel or header is read, so a hit costs only HEAD requests */
static void cache_key(json_t *bands, json_t *values, const double bbox[4], char hex[65])
{
    json_t *k = json_pack("{s:s, s:O, s:[f,f,f,f], s:i}", "scheme", "geodelta-window/1",
                          "bands", bands, "bbox", bbox[0], bbox[1], bbox[2], bbox[3], "margin",
                          MARGIN_PX);
    /* the item's statement of its values is written into the window (absent: the key of
     * earlier versions, so their caches stay valid) */
    if (values)
        json_object_set(k, "values", values);
    char *s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
    gd_sha256_buf(s, strlen(s), hex);
    free(s);
    json_decref(k);
}

/* A cached window whose pixels still hash as recorded: its window record, else NULL. */
static json_t *cache_hit(gd_job *job, const char *tif, const char *js, json_t *hashes)
{
    json_t *rec = json_load_file(js, 0, NULL), *now = json_array();
    int hit = 0;
    if (rec && json_is_object(json_object_get(rec, "window")) && access(tif, R_OK) == 0 &&
        hash_bands(job, tif, now) == GD_OK)
        hit = json_equal(now, json_object_get(rec, "pixels_sha256"));
    gd_job_clear_error(job);
    json_t *w = hit ? json_incref(json_object_get(rec, "window")) : NULL;
    if (hit)
        json_array_extend(hashes, now);
    json_decref(now);
    json_decref(rec);
    return w;
}

int gd_mosaic_date(gd_job *job, gd_stac_ctx *c, int d, const char *dir, char *path,
                   size_t len, json_t *rec)
{
    const char *role = c->win[d].name; /* before, after, or the date of a monitor series */
    const gd_stac_acq *a = c->win[d].chosen;
    band_src bs[NBANDS];
    json_t *scales[NBANDS];
    size_t nb = 0;
    int st = GD_OK, win[4], hit = 0;
    GDALDatasetH stack = NULL;
    char tag[64], key[65], js[4096];
    snprintf(tag, sizeof tag, "%s-%d", role, (int)getpid());
    cfg_saved cfg;
    cfg_push(&cfg);
    json_t *bands = json_array(), *items = json_array(), *hashes = json_array();
    char ids[4096] = "";
    memset(bs, 0, sizeof bs);
    for (size_t i = 0; i < a->n; i++) {
        const gd_stac_item *it = a->items[i];
        json_t *o = gd_stac_item_brief(it);
        json_object_set_new(o, "self", it->self ? json_string(it->self) : json_null());
        json_array_append_new(items, o);
        size_t n = strlen(ids);
        snprintf(ids + n, sizeof ids - n, "%s%s", i ? "," : "", it->id);
    }
    /* the bands every item of the acquisition has */
    for (size_t b = 0; b < NBANDS && st == GD_OK; b++) {
        const char *key;
        size_t have = 0;
        for (size_t i = 0; i < a->n; i++)
            have += find_asset(a->items[i]->json, b, &key) != NULL;
        if (have != a->n)
            continue;
        band_src *s = &bs[nb];
        s->desc = BANDS[b].desc;
        s->paths = calloc(a->n, sizeof *s->paths);
        json_t *assets = json_array();
        scales[nb] = NULL;
        for (size_t i = 0; i < a->n && st == GD_OK; i++) {
            json_t *as = find_asset(a->items[i]->json, b, &key);
            const char *href = json_string_value(json_object_get(as, "href"));
            char gp[8192], what[512];
            gdal_path(href, a->items[i]->self, gp, sizeof gp);
            s->paths[i] = strdup(gp);
            s->n++;
            snprintf(what, sizeof what, "asset %s of item %s", key, a->items[i]->id);
            json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "item", a->items[i]->id, "key", key,
                                  "href", href, "gdal_path", gp);
            json_t *ck = json_object_get(as, "file:checksum");
            if (json_is_string(ck))
                json_object_set(o, "file_checksum", ck);
            st = asset_identity(job, href, gp, what, o);
            json_array_append_new(assets, o);
            if (st == GD_OK && gd_job_progress(job, 0.2 * (double)(b + 1) / NBANDS) != GD_OK)
                st = gd_job_error(job, GD_ECANCEL, "cancelled while checking the assets");
            json_t *rb = json_array_get(json_object_get(as, "raster:bands"), 0);
            if (i == 0 && json_is_object(rb))
                scales[nb] = rb;
        }
        json_t *bj = json_pack("{s:s, s:o, s:o}", "name", s->desc, "common_name",
                               BANDS[b].common ? json_string(BANDS[b].common) : json_null(),
                               "assets", assets);
        static const char *const rk[] = {"scale", "offset", "nodata"};
        for (size_t k = 0; k < 3; k++)
            if (json_is_number(json_object_get(scales[nb], rk[k])))
                json_object_set(bj, rk[k], json_object_get(scales[nb], rk[k]));
        json_array_append_new(bands, bj);
        nb++;
    }
    if (st != GD_OK)
        goto done;
    if (nb == 0) {
        st = gd_job_error(job, GD_EINPUT, "%s: the items of %s have no band asset geodelta "
                          "reads (eo:bands common names blue, green, red, nir, swir16, "
                          "swir22, or assets vv, vh)", role, a->day);
        goto done;
    }
    /* one statement of the values for the acquisition: its tiles are mosaicked into one
     * band, so tiles that disagree (one harmonised, one not) cannot be read as one */
    item_values vals;
    values_of(a->items[0], &vals);
    for (size_t i = 1; i < a->n; i++) {
        item_values o;
        values_of(a->items[i], &o);
        if (o.s2 != vals.s2 || o.applied != vals.applied ||
            !(o.baseline == vals.baseline || (isnan(o.baseline) && isnan(vals.baseline)))) {
            st = gd_job_error(job, GD_EINPUT, "%s: the items %s and %s of %s state different "
                              "values (processing baseline or offset flag): they cannot be "
                              "mosaicked as one band", role, a->items[0]->id,
                              a->items[i]->id, a->day);
            goto done;
        }
    }
    if (vals.s2) {
        json_t *vj = json_pack("{s:s, s:o, s:o}", "level", vals.l1c ? "L1C" : "L2A",
                               "processing_baseline",
                               isnan(vals.baseline) ? json_null() : json_real(vals.baseline),
                               "offset_applied", vals.applied < 0 ? json_null()
                                                 : json_boolean(vals.applied));
        if (vals.applied_key[0])
            json_object_set_new(vj, "offset_applied_key", json_string(vals.applied_key));
        if (vals.baseline_key[0])
            json_object_set_new(vj, "baseline_key", json_string(vals.baseline_key));
        /* the offset in digital numbers per band: 0 when the flag says it is in the
         * numbers already; else raster:bands offset / scale; else none here, and the
         * profile's baseline rule decides (with its warning when it assumes) */
        for (size_t b = 0; b < nb; b++) {
            json_t *bj = json_array_get(bands, b);
            json_t *jo = json_object_get(bj, "offset"), *js2 = json_object_get(bj, "scale");
            double sc_v = json_is_number(js2) ? json_number_value(js2) : NAN;
            char why[160] = "";
            double dn = 0.0;
            if (strcmp(bs[b].desc, "SCL") == 0)
                continue;
            if (vals.applied == 1) {
                snprintf(why, sizeof why, "%s=true: offset already in the numbers",
                         vals.applied_key);
            } else if (json_is_number(jo) && isfinite(sc_v) && sc_v > 0) {
                dn = round(json_number_value(jo) / sc_v * 1e6) / 1e6;
                snprintf(why, sizeof why, "raster:bands offset %g / scale %g",
                         json_number_value(jo), sc_v);
            }
            if (*why) {
                json_object_set_new(bj, "s2_offset_dn", json_real(dn));
                json_object_set_new(bj, "s2_offset_why", json_string(why));
            }
        }
        json_object_set_new(rec, "values", vj);
    }
    cache_key(bands, json_object_get(rec, "values"), c->bbox, key);
    const char *cache = c->q->cache;
    if (cache) {
        if ((st = gd_mkdir_p(job, cache)) != GD_OK)
            goto done;
        snprintf(path, len, "%s/%s.tif", cache, key);
        snprintf(js, sizeof js, "%s/%s.json", cache, key);
    } else {
        snprintf(path, len, "%s/%s.tif", dir, role);
    }
    json_t *wrec = cache ? cache_hit(job, path, js, hashes) : NULL;
    hit = wrec != NULL;
    if (!hit) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
        double t0 = gd_now(), gt[6];
        if ((st = stack_open(job, bs, nb, tag, &stack)) != GD_OK ||
            (st = window_of(job, stack, c->bbox, role, win)) != GD_OK)
            goto done;
        gd_job_progress_range(job, 0.3, 0.95);
        if ((st = window_write(job, stack, win, role, tmp, 1)) != GD_OK ||
            (st = label_stack(job, tmp, bs, scales, nb, a->day, ids, &vals, bands)) != GD_OK ||
            (st = hash_bands(job, tmp, hashes)) != GD_OK) {
            VSIUnlink(tmp);
            goto done;
        }
        if ((st = gd_commit_file(job, tmp, path)) != GD_OK)
            goto done;
        gd_job_info(job, "%s: window %dx%d px at %d,%d of %d bands read in %.2f s", role,
                    win[2], win[3], win[0], win[1], (int)nb, gd_now() - t0);
        GDALGetGeoTransform(stack, gt);
        wrec = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:[f,f,f,f,f,f]}", "xoff", win[0],
                         "yoff", win[1], "width", win[2], "height", win[3], "mosaic_width",
                         GDALGetRasterXSize(stack), "mosaic_height", GDALGetRasterYSize(stack),
                         "mosaic_geotransform", gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]);
        if (cache) {
            /* written with core's temp-and-rename (provenance/ sits above this stage) */
            json_t *cj = json_pack("{s:O, s:O}", "pixels_sha256", hashes, "window", wrec);
            char jtmp[4096];
            if ((st = gd_tmp_name(job, js, jtmp, sizeof jtmp)) == GD_OK) {
                if (json_dump_file(cj, jtmp, JSON_INDENT(2)) != 0)
                    st = gd_job_error(job, GD_EOUTPUT, "cannot write %s", jtmp);
                else
                    st = gd_commit_file(job, jtmp, js);
            }
            json_decref(cj);
            if (st != GD_OK) {
                json_decref(wrec);
                goto done;
            }
        }
    } else {
        gd_job_info(job, "%s: window from the cache (%s)", role, path);
    }
    for (size_t b = 0; b < nb; b++)
        json_object_set(json_array_get(bands, b), "pixels_sha256", json_array_get(hashes, b));
    json_object_set_new(rec, "role", json_string(role));
    json_object_set_new(rec, "datetime", json_sprintf("%s/%s", c->win[d].start, c->win[d].end));
    json_object_set_new(rec, "acquisition", json_pack("{s:s, s:f, s:o}", "day", a->day,
                        "coverage", a->coverage, "cloud_cover",
                        isnan(a->cloud) ? json_null() : json_real(a->cloud)));
    json_object_set_new(rec, "items", items);
    json_object_set_new(rec, "bands", bands);
    json_object_set_new(rec, "window", wrec);
    json_object_set_new(rec, "pixel_hash", json_string("SHA-256 of each band's decoded samples "
                        "in the window, row-major, native data type, little-endian"));
    json_object_set_new(rec, "cache", json_string(!cache ? "off" : hit ? "hit" : "stored"));
    items = bands = NULL;
done:
    stack_close(stack, tag);
    json_decref(items);
    json_decref(bands);
    json_decref(hashes);
    free_bands(bs, nb);
    cfg_pop(&cfg);
    return st;
}

/* one recorded asset against the server now */
static void verify_asset(gd_job *job, json_t *as, int *bad, int *unreachable)
{
    const char *href = json_string_value(json_object_get(as, "href"));
    const char *gp = json_string_value(json_object_get(as, "gdal_path"));
    json_t *now = json_object();
    char what[512], safe[1024];
    snprintf(what, sizeof what, "asset %s of item %s",
             json_string_value(json_object_get(as, "key")),
             json_string_value(json_object_get(as, "item")));
    gd_http_safe_url(href ? href : "", safe, sizeof safe);
    if (!href || !gp || asset_identity(job, href, gp, what, now) != GD_OK) {
        gd_job_warn(job, "remote input: %s", gd_job_message(job));
        gd_job_clear_error(job);
        (*bad)++;
        (*unreachable)++;
        json_decref(now);
        return;
    }
    static const char *const keys[] = {"etag", "last_modified", "size", "mtime"};
    for (size_t k = 0; k < 4; k++) {
        json_t *was = json_object_get(as, keys[k]), *is = json_object_get(now, keys[k]);
        if (was && !json_is_null(was) && !json_equal(was, is)) {
            char *a = json_dumps(was, JSON_ENCODE_ANY), *b = json_dumps(is, JSON_ENCODE_ANY);
            gd_job_warn(job, "remote input %s (%s): %s was %s, is now %s", what, safe, keys[k],
                        json_is_string(was) ? json_string_value(was) : a ? a : "?",
                        json_is_string(is) ? json_string_value(is) : b ? b : "null");
            free(a);
            free(b);
            (*bad)++;
        }
    }
    json_decref(now);
}

int gd_discover_verify(gd_job *job, const json_t *record, int *bad)
{
    size_t d;
    json_t *rec;
    cfg_saved cfg;
    cfg_push(&cfg);
    json_array_foreach(json_object_get(record, "dates"), d, rec) {
        const char *role = json_string_value(json_object_get(rec, "role"));
        json_t *bands = json_object_get(rec, "bands"), *w = json_object_get(rec, "window");
        size_t nb = json_array_size(bands);
        band_src bs[NBANDS];
        memset(bs, 0, sizeof bs);
        int unreachable = 0;
        if (!role || nb == 0 || nb > NBANDS || !json_is_object(w)) {
            gd_job_warn(job, "the discover record of date %zu is incomplete", d);
            (*bad)++;
            continue;
        }
        for (size_t b = 0; b < nb; b++) {
            json_t *band = json_array_get(bands, b), *as;
            size_t i;
            bs[b].desc = json_string_value(json_object_get(band, "name"));
            bs[b].paths = calloc(json_array_size(json_object_get(band, "assets")) + 1, sizeof(char *));
            json_array_foreach(json_object_get(band, "assets"), i, as) {
                verify_asset(job, as, bad, &unreachable);
                const char *gp = json_string_value(json_object_get(as, "gdal_path"));
                bs[b].paths[bs[b].n++] = strdup(gp ? gp : "");
            }
        }
        if (!unreachable) {
            /* the same mosaic, the same window: the same decoded pixels, or a finding (also
             * after a changed ETag: the pixels tell whether what was analysed changed) */
            char tag[64], tmp[128];
            snprintf(tag, sizeof tag, "verify-%s-%d", role, (int)getpid());
            snprintf(tmp, sizeof tmp, "/vsimem/gd_discover/%s.tif", tag);
            int win[4] = {(int)json_integer_value(json_object_get(w, "xoff")),
                          (int)json_integer_value(json_object_get(w, "yoff")),
                          (int)json_integer_value(json_object_get(w, "width")),
                          (int)json_integer_value(json_object_get(w, "height"))};
            GDALDatasetH stack = NULL;
            json_t *hashes = json_array();
            if (stack_open(job, bs, nb, tag, &stack) != GD_OK ||
                GDALGetRasterXSize(stack) != json_integer_value(json_object_get(w, "mosaic_width")) ||
                GDALGetRasterYSize(stack) != json_integer_value(json_object_get(w, "mosaic_height")) ||
                window_write(job, stack, win, role, tmp, 0) != GD_OK ||
                hash_bands(job, tmp, hashes) != GD_OK) {
                gd_job_warn(job, "remote input %s: the analysed window cannot be read again%s%s",
                            role, *gd_job_message(job) ? ": " : " (the mosaic's size changed)",
                            gd_job_message(job));
                gd_job_clear_error(job);
                (*bad)++;
            } else {
                for (size_t b = 0; b < nb; b++) {
                    const char *was = json_string_value(
                        json_object_get(json_array_get(bands, b), "pixels_sha256"));
                    const char *is = json_string_value(json_array_get(hashes, b));
                    if (!was || !is || strcmp(was, is) != 0) {
                        gd_job_warn(job, "remote input %s band %s: the pixels of the analysed "
                                    "window changed (sha256 %s, recorded %s)", role, bs[b].desc,
                                    is ? is : "?", was ? was : "none");
                        (*bad)++;
                    }
                }
            }
            VSIUnlink(tmp);
            stack_close(stack, tag);
            json_decref(hashes);
        }
        free_bands(bs, nb);
    }
    cfg_pop(&cfg);
    return GD_OK;
}
