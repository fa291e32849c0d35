/* attach.c: cloud masks (the image's SCL or QA_PIXEL band, or a mask file) put on the
 * analysis grid, shifted with the co-registration, and attached to the bands so that
 * every method skips clouds and shadows. */
#include "geodelta/coreg.h"
#include "geodelta/stages.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *kind_name(int kind)
{
    return kind == GD_MASK_SCL ? "scl" : kind == GD_MASK_QA_PIXEL ? "qa_pixel" : "nonzero";
}

/* The image's own SCL or QA_PIXEL band: 1-based index, 0 when none. */
static int find_mask_band(const gd_source *src, int *kind)
{
    for (int b = 1; b <= src->nbands; b++)
        if ((*kind = gd_mask_band_kind(GDALGetRasterBand(src->ds, b))) != GD_MASK_NONE)
            return b;
    return 0;
}

/* Masked pixels of the mask band mb (grid-sized) under rule kind, read in strips. */
static int count_masked(gd_job *job, GDALRasterBandH mb, int kind, int w, int h, long long *n)
{
    const int rows = 256;
    float *m = malloc(sizeof(float) * (size_t)w * (size_t)rows);
    float *v = malloc(sizeof(float) * (size_t)w * (size_t)rows);
    int st = GD_OK;
    *n = 0;
    if (!m || !v) {
        st = gd_job_error(job, GD_EPROC, "out of memory counting the cloud mask");
        goto done;
    }
    for (int y0 = 0; y0 < h; y0 += rows) {
        int nr = h - y0 < rows ? h - y0 : rows;
        size_t k = (size_t)w * (size_t)nr;
        CPLErrorReset();
        if (GDALRasterIO(mb, GF_Read, 0, y0, w, nr, m, w, nr, GDT_Float32, 0, 0) != CE_None) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot read the cloud mask");
            goto done;
        }
        for (size_t i = 0; i < k; i++)
            v[i] = 0.0f;
        gd_mask_apply(kind, m, v, k);
        for (size_t i = 0; i < k; i++)
            *n += isnan(v[i]);
    }
done:
    free(m);
    free(v);
    return st;
}

int gd_mask_attach(gd_job *job, const gd_grid *grid, const gd_source *src, const char *label,
                   const char *file, GDALDatasetH coreg_ref, const double *coreg_field,
                   gd_band *bands, size_t nb, GDALDatasetH owned[3])
{
    gd_source *msrc = NULL;
    const gd_source *from = src;
    GDALDatasetH ds = NULL;
    int kind = GD_MASK_NONE, index = 0, warped = 0, shifted = 0, st = GD_OK;
    owned[0] = owned[1] = owned[2] = NULL;
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
    if (coreg_field) {
        /* the date was co-registered: its clouds move with its pixels */
        for (int i = 0; i < 6 && !shifted; i++)
            shifted = coreg_field[i] != 0.0;
        GDALDatasetH cds = NULL;
        if (shifted) {
            if ((st = gd_coreg_apply_field(job, coreg_ref, ds, coreg_field, 1, &cds)) != GD_OK)
                goto done;
            owned[2] = cds;
            ds = cds;
        }
    }
    GDALRasterBandH mb = GDALGetRasterBand(ds, index);
    long long masked = 0;
    if ((st = count_masked(job, mb, kind, grid->width, grid->height, &masked)) != GD_OK)
        goto done;
    double frac = (double)masked / ((double)grid->width * (double)grid->height);
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
    gd_job_info(job, "%s image: %s cloud mask from %s%s%s: %lld px masked (%.1f %%)", label,
                kind_name(kind), what, warped ? ", nearest neighbour onto the grid" : "",
                shifted ? ", shifted with the co-registration" : "", masked, 100.0 * frac);
    if (masked > 0 && frac >= 0.5)
        gd_job_warn(job, "%s image: %.1f %% of the scene is masked as cloud or shadow: "
                         "change is only assessed on the rest", label, 100.0 * frac);
    json_t *rec = json_object_get(json_object_get(gd_job_auto(job), "sensor"), label);
    if (rec)
        json_object_set_new(
            rec, "mask",
            json_pack("{s:s, s:s, s:b, s:b, s:I, s:f, s:s}", "kind", kind_name(kind), "source",
                      what, "warped", warped, "coreg_shifted", shifted, "masked_pixels",
                      (json_int_t)masked, "masked_fraction", frac,
                      "rule", kind == GD_MASK_SCL ? "SCL classes 3, 8, 9, 10 masked"
                            : kind == GD_MASK_QA_PIXEL ? "QA_PIXEL bits 1, 3, 4 masked"
                                                       : "any value but 0 masked"));
done:
    gd_source_destroy(msrc);
    return st;
}
