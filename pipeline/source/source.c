/* source.c: opens input rasters with GDAL and finds the bands that play each role. */
#include "geodelta/limits.h"
#include "geodelta/stages.h"

#include <cpl_conv.h>
#include <cpl_http.h>
#include <cpl_string.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static void read_date(gd_source *src)
{
    static const char *keys[] = {"ACQUISITION_DATE", "DATE_ACQUIRED", "SENSING_TIME",
                                 "DATATAKE_1_DATATAKE_SENSING_START", "TIFFTAG_DATETIME",
                                 NULL};
    for (int i = 0; keys[i]; i++) {
        const char *v = GDALGetMetadataItem(src->ds, keys[i], NULL);
        if (v && *v) {
            snprintf(src->date, sizeof src->date, "%.10s", v);
            /* TIFF datetime uses "YYYY:MM:DD" */
            for (char *p = src->date; *p; p++)
                if (*p == ':')
                    *p = '-';
            return;
        }
    }
}

/* Corners beyond 1e10 CRS units (metres, feet or degrees: the Earth spans ~4e7 m) are
 * a corrupt header, and GDAL 3.6 can loop for ever transforming such a point to WGS84. */
static int check_geotransform(gd_job *job, const gd_source *src, const char *label)
{
    const double lim = 1e10;
    int ok = 1;
    for (int i = 0; i < 6; i++)
        ok &= isfinite(src->gt[i]);
    ok &= src->gt[1] * src->gt[5] - src->gt[2] * src->gt[4] != 0.0;
    for (int c = 0; c < 4 && ok; c++) {
        double px = (c & 1) ? src->width : 0, py = (c & 2) ? src->height : 0;
        double x = src->gt[0] + px * src->gt[1] + py * src->gt[2];
        double y = src->gt[3] + px * src->gt[4] + py * src->gt[5];
        ok &= fabs(x) <= lim && fabs(y) <= lim;
    }
    if (!ok)
        return gd_job_error(job, GD_EINPUT,
                            "%s image %s has an implausible georeferencing (origin %g, %g; "
                            "pixel size %g x %g): the header is probably corrupt (hint: "
                            "check it with gdalinfo; fix it with gdal_edit.py -a_ullr)",
                            label, src->path, src->gt[0], src->gt[3], src->gt[1], src->gt[5]);
    return GD_OK;
}

/* For a /vsicurl/ URL GDAL could not open: the server's answer (an HTTP error such as
 * 404, or the connection error), which GDAL's own message leaves out. At most 64 KiB are
 * fetched. 1 when there is something to say. */
static int http_status(const char *path, char *buf, size_t len)
{
    static const char prefix[] = "/vsicurl/";
    if (strncmp(path, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *url = path + sizeof prefix - 1;
    char *opts[] = {"MAX_FILE_SIZE=65536", "TIMEOUT=30", NULL};
    CPLHTTPResult *r = CPLHTTPFetch(url, opts);
    int said = 0;
    if (r && r->pszErrBuf && *r->pszErrBuf) {
        snprintf(buf, len, "%s", r->pszErrBuf);
        said = 1;
    }
    CPLHTTPDestroyResult(r);
    return said;
}

int gd_source_open(gd_job *job, const char *path, const char *label, gd_source **out)
{
    struct stat sb;
    gd_source *src = NULL;
    *out = NULL;
    /* GDAL's own message for a missing local file is vague: say it plainly first */
    if (strncmp(path, "/vsi", 4) != 0) {
        if (stat(path, &sb) != 0)
            return gd_job_error(job, GD_EINPUT, "%s image %s: %s", label, path,
                                strerror(errno));
        if (S_ISDIR(sb.st_mode))
            return gd_job_error(job, GD_EINPUT,
                                "%s image %s is a directory, expected a raster file", label,
                                path);
        if (sb.st_size == 0)
            return gd_job_error(job, GD_EINPUT, "%s image %s is an empty file", label, path);
    }
    CPLErrorReset();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds) {
        char http[256];
        if (http_status(path, http, sizeof http))
            return gd_job_error(job, GD_EINPUT, "%s image %s cannot be read: %s", label, path,
                                http);
        return gd_job_error_gdal(job, GD_EINPUT,
                                 "%s image %s cannot be read as a raster by GDAL", label, path);
    }
    src = calloc(1, sizeof *src);
    if (!src) {
        GDALClose(ds);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    src->ds = ds;
    src->path = strdup(path);
    src->width = GDALGetRasterXSize(ds);
    src->height = GDALGetRasterYSize(ds);
    src->nbands = GDALGetRasterCount(ds);
    snprintf(src->driver, sizeof src->driver, "%s", GDALGetDriverShortName(GDALGetDatasetDriver(ds)));
    if (src->width <= 0 || src->height <= 0 || src->nbands <= 0) {
        gd_source_destroy(src);
        return gd_job_error(job, GD_EINPUT, "%s image %s has no pixels or no bands (%dx%d, %d bands)",
                            label, path, GDALGetRasterXSize(ds), GDALGetRasterYSize(ds),
                            GDALGetRasterCount(ds));
    }
    int st = gd_limits_check_dims(job, label, path, src->width, src->height, src->nbands);
    if (st != GD_OK) {
        gd_source_destroy(src);
        return st;
    }
    src->has_gt = GDALGetGeoTransform(ds, src->gt) == CE_None;
    if (!src->has_gt) {
        double id[6] = {0, 1, 0, 0, 0, 1};
        memcpy(src->gt, id, sizeof id);
    }
    if ((st = check_geotransform(job, src, label)) != GD_OK) {
        gd_source_destroy(src);
        return st;
    }
    OGRSpatialReferenceH srs = GDALGetSpatialRef(ds);
    if (srs) {
        char *wkt = NULL;
        const char *opts[] = {"FORMAT=WKT2_2019", NULL};
        if (OSRExportToWktEx(srs, &wkt, opts) == OGRERR_NONE && wkt && *wkt) {
            src->wkt = strdup(wkt);
            src->has_crs = 1;
        }
        CPLFree(wkt);
    }
    read_date(src);
    gd_job_info(job, "%s: %s (%s, %dx%d, %d bands, %s)", label, path, src->driver,
                src->width, src->height, src->nbands, src->has_crs ? "with CRS" : "no CRS");
    *out = src;
    return GD_OK;
}

void gd_source_destroy(gd_source *src)
{
    if (!src)
        return;
    if (src->ds)
        GDALClose(src->ds);
    free(src->path);
    free(src->wkt);
    free(src);
}

/* long role name for a short key of --bands-* */
static const char *canonical_role(const char *key)
{
    static const char *map[][2] = {{"r", "red"},    {"g", "green"},  {"b", "blue"},
                                   {"n", "nir"},    {"s1", "swir1"}, {"s2", "swir2"},
                                   {"red", "red"},  {"green", "green"}, {"blue", "blue"},
                                   {"nir", "nir"},  {"swir1", "swir1"}, {"swir2", "swir2"},
                                   {"sar", "sar"},  {"vv", "sar"},   {"vh", "sar"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(key, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* looks role up in "key=idx,key=idx"; 1 found, 0 not there, <0 bad spec */
static int role_from_spec(gd_job *job, const gd_source *src, const char *label,
                          const char *spec, const char *role, int *band)
{
    int st = 0;
    char **items = CSLTokenizeString2(spec, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES);
    for (int i = 0; items && items[i]; i++) {
        char *eq = strchr(items[i], '=');
        if (!eq) {
            st = gd_job_error(job, GD_EUSAGE,
                              "--bands-%s: '%s' is not KEY=BAND (e.g. red=3,nir=4)", label,
                              items[i]);
            break;
        }
        *eq = '\0';
        const char *canon = canonical_role(items[i]);
        if (!canon) {
            st = gd_job_error(job, GD_EUSAGE,
                              "--bands-%s: unknown band role '%s' (use red green blue nir "
                              "swir1 swir2 sar or r g b n s1 s2)", label, items[i]);
            break;
        }
        char *end = NULL;
        long v = strtol(eq + 1, &end, 10);
        if (!end || *end || end == eq + 1 || v < 1 || v > src->nbands) {
            st = gd_job_error(job, GD_EUSAGE,
                              "--bands-%s: band '%s' for %s is not between 1 and %d (%s has %d bands)",
                              label, eq + 1, canon, src->nbands, src->path, src->nbands);
            break;
        }
        /* the key itself too: --pol asks for "vv" or "vh", which --bands-* map to "sar" */
        if (strcmp(canon, role) == 0 || strcasecmp(items[i], role) == 0) {
            *band = (int)v;
            st = 1;
        }
    }
    CSLDestroy(items);
    return st;
}

/* The first word of a band description ("B04 (red)" -> "B04"). */
static void first_word(const char *desc, char *word, size_t len)
{
    size_t n = 0;
    while (desc[n] && n + 1 < len && (isalnum((unsigned char)desc[n]) || desc[n] == '_'))
        n++;
    memcpy(word, desc, n);
    word[n] = '\0';
}

int gd_band_name_number(const char *name, int *is_8a, int *padded, int *sr)
{
    int p = 0, r = 0;
    *is_8a = 0;
    if (name && strncasecmp(name, "SR_", 3) == 0) {
        r = 1;
        name += 3;
    }
    if (padded)
        *padded = 0;
    if (sr)
        *sr = r;
    if (!name || toupper((unsigned char)name[0]) != 'B' || !isdigit((unsigned char)name[1]))
        return 0;
    p = name[1] == '0';
    char *end = NULL;
    long n = strtol(name + 1, &end, 10);
    if (toupper((unsigned char)*end) == 'A' && n == 8) {
        *is_8a = 1;
        end++;
    }
    if (*end != '\0' || n <= 0 || n >= 100)
        return 0;
    if (padded)
        *padded = p;
    return (int)n;
}

/* Which numbering the band names follow: Sentinel-2 (B02 ... B12, B8A), Landsat 8/9 OLI
 * (B2 blue ... B7 swir2) or Landsat 4-7 TM/ETM+ (B1 blue ... B5 swir1, B7 swir2). The
 * same "B2" is blue on Sentinel-2 and OLI but green on TM, so the whole set decides:
 * zero-padded names, B8A or B12 are Sentinel-2; SR_B names are Landsat Collection 2
 * (OLI when SR_B6 is there, TM/ETM+ otherwise, whose band 6 is thermal); plain names
 * with B7 but neither B6 nor B8 are a TM/ETM+ reflective stack; anything else plain is
 * read as Sentinel-2. */
enum { NAMES_S2, NAMES_OLI, NAMES_TM };

static int name_family(const gd_source *src)
{
    int s2 = 0, sr = 0, srb6 = 0, b6 = 0, b7 = 0, b8 = 0;
    for (int b = 1; b <= src->nbands; b++) {
        const char *d = GDALGetDescription(GDALGetRasterBand(src->ds, b));
        char word[64];
        int padded, is_sr, is_8a;
        if (!d)
            continue;
        first_word(d, word, sizeof word);
        int v = gd_band_name_number(word, &is_8a, &padded, &is_sr);
        s2 |= padded || is_8a || (v == 12 && !is_sr);
        sr |= is_sr && v > 0;
        srb6 |= is_sr && v == 6;
        b6 |= !is_sr && v == 6;
        b7 |= !is_sr && v == 7;
        b8 |= !is_sr && v == 8;
    }
    if (s2)
        return NAMES_S2;
    if (sr)
        return srb6 ? NAMES_OLI : NAMES_TM;
    if (b7 && !b6 && !b8)
        return NAMES_TM;
    return NAMES_S2;
}

static int desc_matches(const char *desc, int family, const char *role)
{
    /* band number -> role, per numbering (index = band number) */
    static const char *const s2[13] = {NULL, NULL, "blue", "green", "red", NULL, NULL, NULL,
                                       "nir", NULL, NULL, "swir1", "swir2"};
    static const char *const oli[8] = {NULL, NULL, "blue", "green", "red", "nir", "swir1",
                                       "swir2"};
    static const char *const tm[8] = {NULL, "blue", "green", "red", "nir", "swir1", NULL,
                                      "swir2"};
    static const char *const sar[] = {"VV", "VH", "HH", "HV"};
    char word[64];
    first_word(desc, word, sizeof word);
    if (strcasecmp(word, role) == 0)
        return 1;
    if (strcmp(role, "sar") == 0) {
        for (size_t i = 0; i < sizeof sar / sizeof sar[0]; i++)
            if (strcasecmp(word, sar[i]) == 0)
                return 1;
        return 0;
    }
    int padded, is_sr, is_8a;
    int v = gd_band_name_number(word, &is_8a, &padded, &is_sr);
    const char *r = NULL;
    if (is_8a) /* the narrow NIR: only a fallback when B08 is absent (below) */
        return 0;
    if (family == NAMES_S2 && !is_sr && v > 0 && v < 13)
        r = s2[v];
    else if (family == NAMES_OLI && v > 0 && v < 8)
        r = oli[v];
    else if (family == NAMES_TM && v > 0 && v < 8)
        r = tm[v];
    return r && strcmp(r, role) == 0;
}

int gd_source_find_role(gd_job *job, const gd_source *src, const char *label,
                        const char *spec, const char *role, int *band)
{
    *band = 0;
    if (spec && *spec) {
        int r = role_from_spec(job, src, label, spec, role, band);
        if (r < 0)
            return r;
        if (r > 0)
            return GD_OK;
    }
    const int family = name_family(src);
    for (int b = 1; b <= src->nbands; b++) {
        const char *d = GDALGetDescription(GDALGetRasterBand(src->ds, b));
        if (d && *d && desc_matches(d, family, role)) {
            *band = b;
            return GD_OK;
        }
    }
    /* B8A is the narrow NIR band: a fallback when B08 is absent */
    if (strcmp(role, "nir") == 0 && family == NAMES_S2)
        for (int b = 1; b <= src->nbands; b++) {
            const char *d = GDALGetDescription(GDALGetRasterBand(src->ds, b));
            if (d && strncasecmp(d, "B8A", 3) == 0) {
                *band = b;
                return GD_OK;
            }
        }
    GDALColorInterp want = strcmp(role, "red") == 0     ? GCI_RedBand
                           : strcmp(role, "green") == 0 ? GCI_GreenBand
                           : strcmp(role, "blue") == 0  ? GCI_BlueBand
                                                        : GCI_Undefined;
    if (want != GCI_Undefined)
        for (int b = 1; b <= src->nbands; b++)
            if (GDALGetRasterColorInterpretation(GDALGetRasterBand(src->ds, b)) == want) {
                *band = b;
                return GD_OK;
            }
    return GD_OK;
}
