/* flood.c: the flood method: new and permanent water from a water index (optical) or
 * the SAR backscatter ratio (UN-SPIDER recommended practice), in the detect chain. */
#include "geodelta/detect.h"
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* SAR: change where after/before (linear power) < 1/1.25, i.e. ln ratio < -ln 1.25 */
#define SAR_RATIO 1.25

int gd_flood_bands(gd_job *job, const gd_detect_params *p, const gd_source *bs,
                   const gd_source *as, int bidx[2], int aidx[2], size_t *nb, int *index)
{
    const char *aspec = p->bands_after ? p->bands_after : p->bands_before;
    int st, g[2], w[2], r[2], s[2];
    if ((st = gd_source_find_role(job, bs, "before", p->bands_before, "sar", &s[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "sar", &s[1])) != GD_OK ||
        (st = gd_source_find_role(job, bs, "before", p->bands_before, "green", &g[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "green", &g[1])) != GD_OK ||
        (st = gd_source_find_role(job, bs, "before", p->bands_before, "swir1", &w[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "swir1", &w[1])) != GD_OK ||
        (st = gd_source_find_role(job, bs, "before", p->bands_before, "nir", &r[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "nir", &r[1])) != GD_OK)
        return st;
    if (!s[0] && !s[1] && g[0] && g[1] && ((w[0] && w[1]) || (r[0] && r[1]))) {
        /* MNDWI when both dates have SWIR, else McFeeters NDWI on both so they compare */
        *index = w[0] && w[1] ? GD_FLOOD_MNDWI : GD_FLOOD_NDWI;
        bidx[0] = g[0], bidx[1] = *index == GD_FLOOD_MNDWI ? w[0] : r[0];
        aidx[0] = g[1], aidx[1] = *index == GD_FLOOD_MNDWI ? w[1] : r[1];
        *nb = 2;
        return GD_OK;
    }
    /* no water index on both dates: one SAR band (sar role, else band 1, as logratio) */
    *index = GD_FLOOD_SAR;
    bidx[0] = s[0] ? s[0] : 1;
    aidx[0] = s[1] ? s[1] : 1;
    *nb = 1;
    if (!s[0] && !s[1] && (bs->nbands > 1 || as->nbands > 1))
        gd_job_warn(job, "flood: no green with swir1 or nir in both images and no sar band: "
                         "band 1 is taken as SAR backscatter (hint: --bands-before sar=N, or "
                         "green=N,swir1=M for optical)");
    return GD_OK;
}

static float ndiff(float x, float y)
{
    float s = x + y;
    return isnan(x) || isnan(y) || s == 0.0f ? NAN : (x - y) / s;
}

int gd_flood_optical(gd_job *job, const gd_grid *grid, const gd_band *before,
                     const gd_band *after, gd_score *out, uint8_t **water)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height, rows = 256;
    size_t n = (size_t)w * (size_t)h, sn = (size_t)w * (size_t)rows;
    float *buf = malloc(4 * sizeof(float) * sn);
    uint8_t *wat = malloc(n);
    gd_score_alloc(out, w, h);
    if (!buf || !wat || !out->data) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the flood index of %dx%d", w, h);
        goto done;
    }
    for (int y0 = 0; y0 < h; y0 += rows) {
        int nr = h - y0 < rows ? h - y0 : rows;
        float *bg = buf, *bw = buf + sn, *ag = buf + 2 * sn, *aw = buf + 3 * sn;
        if ((st = gd_band_read(job, &before[0], w, y0, nr, bg)) != GD_OK ||
            (st = gd_band_read(job, &before[1], w, y0, nr, bw)) != GD_OK ||
            (st = gd_band_read(job, &after[0], w, y0, nr, ag)) != GD_OK ||
            (st = gd_band_read(job, &after[1], w, y0, nr, aw)) != GD_OK)
            goto done;
        for (size_t i = 0; i < (size_t)w * (size_t)nr; i++) {
            size_t k = (size_t)y0 * (size_t)w + i;
            float ib = ndiff(bg[i], bw[i]), ia = ndiff(ag[i], aw[i]);
            out->data[k] = ia - ib; /* NaN when either date is NaN */
            wat[k] = (uint8_t)((ib > 0.0f ? 1 : 0) | (ia > 0.0f ? 2 : 0));
        }
        gd_job_progress(job, (double)(y0 + nr) / h);
    }
    out->valid = gd_k_minmax(out->data, n, &out->min, &out->max);
    if (out->valid == 0)
        st = gd_job_error(job, GD_EINPUT,
                          "no valid pixel where both dates have data (all nodata, or the "
                          "overlap is empty)");
done:
    free(buf);
    if (st != GD_OK) {
        free(wat);
        gd_score_free(out);
        return st;
    }
    *water = wat;
    return GD_OK;
}

int gd_flood_threshold(gd_job *job, const gd_score *s, int index, double fixed, int ki,
                       double *t, const char **mode)
{
    if (index == GD_FLOOD_SAR) {
        /* the ratio rule is the method: -t K replaces its factor (after/before < 1/K) */
        if (!isnan(fixed) && !(fixed > 1.0))
            return gd_job_error(job, GD_EUSAGE,
                                "flood on SAR: --threshold %g is not a ratio factor > 1 "
                                "(change where after/before < 1/factor; default %g)",
                                fixed, SAR_RATIO);
        *t = -log(isnan(fixed) ? SAR_RATIO : fixed);
        *mode = isnan(fixed) ? "unspider-ratio" : "fixed-ratio";
        return GD_OK;
    }
    if (!isnan(fixed)) {
        *t = fixed;
        *mode = "fixed";
        return GD_OK;
    }
    *mode = ki ? "ki" : "otsu";
    return ki ? gd_threshold_ki(job, s, 0, t) : gd_threshold_otsu(job, s, 0, t);
}

int gd_flood_classify(gd_job *job, const gd_score *s, const uint8_t *water, double t,
                      uint8_t **classes)
{
    size_t n = (size_t)s->width * (size_t)s->height;
    uint8_t *c = malloc(n);
    if (!c)
        return gd_job_error(job, GD_EPROC, "out of memory for the class raster");
    for (size_t i = 0; i < n; i++) {
        float v = s->data[i];
        if (isnan(v))
            c[i] = 255;
        else if (!water) /* SAR: darkening by more than the ratio */
            c[i] = v < (float)t ? 1 : 0;
        else if (water[i] == 3)
            c[i] = 2;
        else if (water[i] == 2 && v >= (float)t)
            c[i] = 1;
        else
            c[i] = 0;
    }
    *classes = c;
    return GD_OK;
}
