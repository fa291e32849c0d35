/* source.c: opens input rasters with GDAL and finds the bands that play each role. */
#include "geodelta/limits.h"
#include "geodelta/stages.h"

#include <cpl_conv.h>
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
    if (!ds)
        return gd_job_error_gdal(job, GD_EINPUT,
                                 "%s image %s cannot be read as a raster by GDAL", label, path);
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
        if (strcmp(canon, role) == 0) {
            *band = (int)v;
            st = 1;
        }
    }
    CSLDestroy(items);
    return st;
}

static int desc_matches(const char *desc, const char *role)
{
    /* Sentinel-2 band names (also as "B4", "B04 (red)", "SR_B4" is Landsat: skipped) */
    static const char *s2[][2] = {{"B02", "blue"},  {"B2", "blue"},   {"B03", "green"},
                                  {"B3", "green"},  {"B04", "red"},   {"B4", "red"},
                                  {"B08", "nir"},   {"B8", "nir"},    {"B11", "swir1"},
                                  {"B12", "swir2"}, {"VV", "sar"},    {"VH", "sar"},
                                  {"HH", "sar"},    {"HV", "sar"}};
    char word[64];
    size_t n = 0;
    while (desc[n] && n + 1 < sizeof word && (isalnum((unsigned char)desc[n]) || desc[n] == '_'))
        n++;
    memcpy(word, desc, n);
    word[n] = '\0';
    if (strcasecmp(word, role) == 0)
        return 1;
    for (size_t i = 0; i < sizeof s2 / sizeof s2[0]; i++)
        if (strcasecmp(word, s2[i][0]) == 0 && strcmp(s2[i][1], role) == 0)
            return 1;
    return 0;
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
    for (int b = 1; b <= src->nbands; b++) {
        const char *d = GDALGetDescription(GDALGetRasterBand(src->ds, b));
        if (d && *d && desc_matches(d, role)) {
            *band = b;
            return GD_OK;
        }
    }
    /* B8A is the narrow NIR band: a fallback when B08 is absent */
    if (strcmp(role, "nir") == 0)
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
