/* detect.c: the method's kernel on each strip of rows the engine streams: the score. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int gd_band_from(gd_job *job, GDALDatasetH ds, int index, gd_band *out)
{
    memset(out, 0, sizeof *out);
    if (index < 1 || index > GDALGetRasterCount(ds))
        return gd_job_error(job, GD_EINPUT, "band %d does not exist in %s (it has %d bands)",
                            index, GDALGetDescription(ds), GDALGetRasterCount(ds));
    out->band = GDALGetRasterBand(ds, index);
    int ok = 0;
    out->scale = GDALGetRasterScale(out->band, &ok);
    if (!ok || out->scale == 0.0)
        out->scale = 1.0;
    out->offset = GDALGetRasterOffset(out->band, &ok);
    if (!ok)
        out->offset = 0.0;
    out->nodata = GDALGetRasterNoDataValue(out->band, &out->has_nodata);
    return GD_OK;
}

/* Whole rows of one band as float32: nodata to NaN, scale and offset applied (the
 * in-memory methods: SAR filters, IR-MAD). */
int gd_band_read(gd_job *job, const gd_band *b, int width, int y0, int rows, float *buf)
{
    CPLErr e = GDALRasterIO(b->band, GF_Read, 0, y0, width, rows, buf, width, rows,
                            GDT_Float32, 0, 0);
    if (e != CE_None)
        return gd_job_error_gdal(job, GD_EINPUT, "read error in rows %d-%d of %s", y0,
                                 y0 + rows - 1,
                                 GDALGetDescription(GDALGetBandDataset(b->band)));
    size_t n = (size_t)width * (size_t)rows;
    int nd_nan = b->has_nodata && isnan(b->nodata);
    float nd = (float)b->nodata;
    int apply = b->scale != 1.0 || b->offset != 0.0;
    float sc = (float)b->scale, of = (float)b->offset;
    for (size_t i = 0; i < n; i++) {
        float v = buf[i];
        if (b->has_nodata && !nd_nan && v == nd)
            buf[i] = NAN;
        else if (apply)
            buf[i] = v * sc + of;
    }
    return GD_OK;
}

/* What the method's kernel needs besides the strip. */
struct score_args {
    const gd_method *m;
    const float *weights;
    float logratio_eps;
};

/* The method's kernel on one strip; runs on the engine's worker threads. */
static int score_strip(void *user, const gd_strip *s)
{
    const struct score_args *a = user;
    size_t off = (size_t)(s->y0 - s->in_y0) * (size_t)s->width;
    size_t n = (size_t)s->width * (size_t)s->rows;
    const float *b[64], *af[64];
    for (size_t k = 0; k < s->nb && k < 64; k++) {
        b[k] = s->before[k] + off;
        af[k] = s->after[k] + off;
    }
    switch (a->m->kind) {
    case GD_KIND_NDIFF:
        gd_k_ndiff_delta(b[0], b[1], af[0], af[1], a->m->sign, s->out, n);
        break;
    case GD_KIND_LOGRATIO:
        gd_k_logratio(b[0], af[0], a->logratio_eps, s->out, n);
        break;
    default:
        gd_k_cva(b, af, a->weights, s->nb, s->out, n);
        break;
    }
    return GD_OK;
}

int gd_detect_score(gd_job *job, const gd_method *m, const gd_grid *grid,
                    const gd_band *before, const gd_band *after, size_t nb,
                    const float *weights, float logratio_eps, gd_score *out)
{
    struct score_args args = {m, weights, logratio_eps};
    gd_engine_spec spec = {grid, before, after, nb, 0, score_strip, &args};
    return gd_engine_score(job, &spec, out);
}
