/* mask.c: cloud masks (Sentinel-2 SCL, Landsat QA_PIXEL, or a mask file) that make
 * pixels nodata where the rows are read, so every method skips clouds and shadows. */
#include "geodelta/stages.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

void gd_mask_apply(int kind, const float *mask, float *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float m = mask[i];
        int out = 0;
        if (isnan(m))
            continue;
        switch (kind) {
        case GD_MASK_SCL:
            out = m == 3.0f || m == 8.0f || m == 9.0f || m == 10.0f;
            break;
        case GD_MASK_QA_PIXEL: {
            uint32_t q = m >= 0.0f && m < 4294967296.0f ? (uint32_t)m : 0u;
            out = (q & ((1u << 1) | (1u << 3) | (1u << 4))) != 0;
            break;
        }
        case GD_MASK_NONZERO:
            out = m != 0.0f;
            break;
        default:
            break;
        }
        if (out)
            buf[i] = NAN;
    }
}

static const char *kind_name(int kind)
{
    return kind == GD_MASK_SCL ? "scl" : kind == GD_MASK_QA_PIXEL ? "qa_pixel" : "nonzero";
}

int gd_mask_band_kind(GDALRasterBandH band)
{
    const char *d = GDALGetDescription(band);
    if (d && strcasecmp(d, "SCL") == 0)
        return GD_MASK_SCL;
    if (d && strcasecmp(d, "QA_PIXEL") == 0)
        return GD_MASK_QA_PIXEL;
    return GD_MASK_NONE;
}

/* The image's own SCL or QA_PIXEL band: 1-based index, 0 when none. */
static int find_mask_band(const gd_source *src, int *kind)
{
    for (int b = 1; b <= src->nbands; b++)
        if ((*kind = gd_mask_band_kind(GDALGetRasterBand(src->ds, b))) != GD_MASK_NONE)
            return b;
    return 0;
}

int gd_mask_attach(gd_job *job, const gd_grid *grid, const gd_source *src, const char *label,
                   const char *file, gd_band *bands, size_t nb, GDALDatasetH owned[2])
{
    gd_source *msrc = NULL;
    const gd_source *from = src;
    GDALDatasetH ds = NULL;
    int kind = GD_MASK_NONE, index = 0, warped = 0, st = GD_OK;
    owned[0] = owned[1] = NULL;
    if (file) {
        if ((st = gd_source_open(job, file, label, &msrc)) != GD_OK)
            return st;
        from = msrc;
        kind = GD_MASK_NONZERO;
        index = 1;
    } else if (!(index = find_mask_band(src, &kind))) {
        return GD_OK;
    }
    if ((st = gd_grid_align_nearest(job, grid, from, &ds, &warped)) != GD_OK)
        goto done;
    if (warped)
        owned[1] = ds;
    if (msrc) { /* the mask file's handle outlives its gd_source */
        owned[0] = msrc->ds;
        msrc->ds = NULL;
    }
    GDALRasterBandH mb = GDALGetRasterBand(ds, index);
    for (size_t k = 0; k < nb; k++) {
        bands[k].mask = mb;
        bands[k].mask_kind = kind;
    }
    char what[512];
    const char *d = GDALGetDescription(GDALGetRasterBand(from->ds ? from->ds : ds, index));
    if (file)
        snprintf(what, sizeof what, "%s band 1", file);
    else
        snprintf(what, sizeof what, "band %d (%s) of %s", index, d ? d : "?", src->path);
    gd_job_info(job, "%s image: %s cloud mask from %s%s", label, kind_name(kind), what,
                warped ? ", nearest neighbour onto the grid" : "");
    json_t *rec = json_object_get(json_object_get(gd_job_auto(job), "sensor"), label);
    if (rec)
        json_object_set_new(
            rec, "mask",
            json_pack("{s:s, s:s, s:b, s:s}", "kind", kind_name(kind), "source", what,
                      "warped", warped,
                      "rule", kind == GD_MASK_SCL ? "SCL classes 3, 8, 9, 10 masked"
                            : kind == GD_MASK_QA_PIXEL ? "QA_PIXEL bits 1, 3, 4 masked"
                                                       : "any value but 0 masked"));
    if (warped && !file && gd_job_auto(job))
        gd_job_info(job, "the %s mask follows the grid alignment only (no co-registration "
                         "shift)", label);
done:
    gd_source_destroy(msrc);
    return st;
}
