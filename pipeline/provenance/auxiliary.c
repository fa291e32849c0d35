/* auxiliary.c: the auxiliary inputs of a run (DEM, permanent-water mask, cloud masks,
 * zones, map overlay): hashed with the two images, listed in the manifest, part of the
 * run id only when present so that runs without them keep their ids. */
#include "geodelta/detect.h"
#include "geodelta/provenance.h"

#include <jansson.h>
#include <assert.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <sys/stat.h>
#include <time.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* GDAL's archive handlers: their path after the prefix is a local file's */
static const char *const archive_prefixes[] = {"/vsizip/", "/vsitar/", "/vsigzip/", "/vsi7z/",
                                               "/vsirar/", NULL};

char *gd_input_abs_path(const char *p)
{
    char buf[PATH_MAX];
    if (strncmp(p, "/vsi", 4) != 0)
        return realpath(p, buf) ? strdup(buf) : strdup(p);
    /* /vsizip/rel/a.zip/b.tif, /vsizip/{rel/a.zip}/b.tif: the archive is found from the
     * current folder, which `verify --inputs` elsewhere does not share */
    for (int i = 0; archive_prefixes[i]; i++) {
        size_t n = strlen(archive_prefixes[i]);
        if (strncmp(p, archive_prefixes[i], n) != 0)
            continue;
        const char *rest = p + n;
        int brace = *rest == '{';
        if (brace)
            rest++;
        if (*rest == '/' || !getcwd(buf, sizeof buf))
            return strdup(p);
        size_t len = strlen(p) + strlen(buf) + 2;
        char *out = malloc(len);
        if (out)
            snprintf(out, len, "%.*s%s%s/%s", (int)n, p, brace ? "{" : "", buf, rest);
        return out;
    }
    return strdup(p);
}

static char *abs_path(const char *p) { return gd_input_abs_path(p); }

int gd_aux_collect(gd_job *job, const gd_detect_params *p, gd_aux_inputs *aux)
{
    /* the order is part of the run id: never reorder, only append new roles */
    const char *files[GD_AUX_MAX] = {p->flood.dem, p->flood.permanent_water, p->in.mask_before,
                                     p->in.mask_after, p->summary.zones,
                                     p->map.off ? NULL : p->map.overlay,
                                     p->map.off ? NULL : p->map.aoi, p->grid.aoi, p->exposure.population,
                                     p->exposure.features};
    static const char *const roles[GD_AUX_MAX] = {"dem", "permanent_water", "mask_before",
                                                  "mask_after", "zones", "map_overlay",
                                                  "map_aoi", "aoi", "population", "exposure"};
    static_assert(2 + GD_AUX_MAX <= GD_HASHER_MAX, "the hasher takes the images and all");
    memset(aux, 0, sizeof *aux);
    for (size_t i = 0; i < GD_AUX_MAX; i++) {
        if (!files[i])
            continue;
        aux->role[aux->n] = roles[i];
        if (!(aux->path[aux->n] = abs_path(files[i]))) {
            gd_aux_free(aux);
            return gd_job_error(job, GD_EPROC, "out of memory");
        }
        aux->n++;
    }
    return GD_OK;
}

void gd_aux_free(gd_aux_inputs *aux)
{
    for (size_t i = 0; i < aux->n; i++)
        free(aux->path[i]);
    memset(aux, 0, sizeof *aux);
}

void gd_aux_run_id_entry(const char *role, const char *sha256, char out[GD_AUX_ID_LEN])
{
    snprintf(out, GD_AUX_ID_LEN, "%s:%s", role, sha256 ? sha256 : "");
}

json_t *gd_aux_json(const gd_aux_inputs *aux, const gd_hasher *h, size_t first)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < aux->n && arr; i++) {
        const char *hex = gd_hasher_hex(h, first + i);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:I}", "role", aux->role[i],
                                             "path", aux->path[i], "sha256", hex, "size",
                                             (json_int_t)gd_hasher_size(h, first + i)));
    }
    return arr;
}

/* "YYYY-MM-DD" from the start of a date text written YYYY-MM-DD, YYYY:MM:DD (TIFF), or
 * YYYY/MM/DD; a bare year YYYY is kept as it is. 0 when it is none of these. */
static int date_text(const char *v, char *out, size_t len)
{
    while (v && *v == ' ')
        v++;
    if (!v || strlen(v) < 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    int full = strlen(v) >= 10 && strchr("-:/", v[4]) && v[7] == v[4];
    for (int i = 5; full && i < 10; i++)
        if (i != 7 && (v[i] < '0' || v[i] > '9'))
            full = 0;
    if (full) {
        snprintf(out, len, "%.4s-%.2s-%.2s", v, v + 5, v + 8);
        return 1;
    }
    if (v[4] == '\0' || v[4] == ' ' || v[4] == 'T') {
        snprintf(out, len, "%.4s", v);
        return 1;
    }
    return 0;
}

/* the metadata items that carry a data set's date, most specific first */
static const char *const DATE_KEYS[] = {"TIFFTAG_DATETIME", "DATE", "ACQUISITION_DATE",
                                        "PRODUCTION_DATE", "CREATION_DATE", "date",
                                        "timestamp", NULL};

static int md_date(char **md, const char *where, char *out, size_t len, char *why, size_t wlen)
{
    for (size_t k = 0; DATE_KEYS[k]; k++) {
        const char *v = CSLFetchNameValue(md, DATE_KEYS[k]);
        if (v && date_text(v, out, len)) {
            snprintf(why, wlen, "%s metadata %s", where, DATE_KEYS[k]);
            return 1;
        }
    }
    return 0;
}

int gd_aux_date(const char *path, char *out, size_t len, char *why, size_t wlen)
{
    out[0] = why[0] = '\0';
    if (!path)
        return 0;
    int found = 0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_VECTOR | GDAL_OF_READONLY,
                                 NULL, NULL, NULL);
    CPLPopErrorHandler();
    if (ds) {
        found = md_date(GDALGetMetadata(ds, NULL), "file", out, len, why, wlen);
        for (int b = 1; !found && b <= GDALGetRasterCount(ds) && b <= 1; b++)
            found = md_date(GDALGetMetadata(GDALGetRasterBand(ds, b), NULL), "band", out, len,
                            why, wlen);
        OGRLayerH l = GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL;
        if (!found && l)
            found = md_date(GDALGetMetadata((GDALMajorObjectH)l, NULL), "layer", out, len,
                            why, wlen);
        if (!found && l) {
            /* the latest value of the layer's first date field: when its features were
             * last surveyed or edited (OSM extracts carry such a field) */
            OGRFeatureDefnH fd = OGR_L_GetLayerDefn(l);
            int fi = -1;
            for (int i = 0; i < OGR_FD_GetFieldCount(fd) && fi < 0; i++) {
                OGRFieldType t = OGR_Fld_GetType(OGR_FD_GetFieldDefn(fd, i));
                if (t == OFTDate || t == OFTDateTime)
                    fi = i;
            }
            int best[3] = {0, 0, 0};
            OGRFeatureH f;
            OGR_L_ResetReading(l);
            while (fi >= 0 && (f = OGR_L_GetNextFeature(l)) != NULL) {
                int y, m, d, hh, mm, tz;
                float ss;
                if (OGR_F_IsFieldSetAndNotNull(f, fi) &&
                    OGR_F_GetFieldAsDateTimeEx(f, fi, &y, &m, &d, &hh, &mm, &ss, &tz) &&
                    y > 0 && (y > best[0] || (y == best[0] && (m > best[1] ||
                                              (m == best[1] && d > best[2]))))) {
                    best[0] = y, best[1] = m, best[2] = d;
                }
                OGR_F_Destroy(f);
            }
            if (best[0] > 0) {
                snprintf(out, len, "%04d-%02d-%02d", best[0], best[1], best[2]);
                snprintf(why, wlen, "latest value of field %s",
                         OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(fd, fi)));
                found = 1;
            }
        }
        GDALClose(ds);
    }
    if (!found) {
        /* the data say nothing: the file's modification time, labelled as such (a copy
         * or a download may have reset it) */
        struct stat sb;
        if (stat(path, &sb) != 0)
            return 0;
        struct tm tm;
        gmtime_r(&sb.st_mtime, &tm);
        char d[16];
        strftime(d, sizeof d, "%Y-%m-%d", &tm);
        snprintf(out, len, "file date %s", d);
        snprintf(why, wlen, "file modification time (the data carry no date)");
    }
    return 1;
}
