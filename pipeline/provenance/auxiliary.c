/* auxiliary.c: the auxiliary inputs of a run (DEM, permanent-water mask, cloud masks,
 * zones, map overlay): hashed with the two images, listed in the manifest, part of the
 * run id only when present so that runs without them keep their ids. */
#include "geodelta/detect.h"
#include "geodelta/provenance.h"

#include <jansson.h>
#include <assert.h>

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
