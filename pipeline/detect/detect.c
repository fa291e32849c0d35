/* detect.c: streams the grid in strips of rows through the method's kernel into a score. */
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

void gd_score_free(gd_score *s)
{
    if (!s)
        return;
    free(s->data);
    s->data = NULL;
}

int gd_detect_score(gd_job *job, const gd_method *m, const gd_grid *grid,
                    const gd_band *before, const gd_band *after, size_t nb,
                    const float *weights, float logratio_eps, gd_score *out)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height;
    int strip = 256;
    size_t sn = (size_t)w * (size_t)strip;
    float **bb = calloc(nb, sizeof *bb), **ab = calloc(nb, sizeof *ab);
    memset(out, 0, sizeof *out);
    out->width = w;
    out->height = h;
    out->min = INFINITY;
    out->max = -INFINITY;
    out->data = malloc(sizeof(float) * (size_t)w * (size_t)h);
    if (!bb || !ab || !out->data) {
        st = gd_job_error(job, GD_EPROC, "out of memory for a %dx%d score", w, h);
        goto done;
    }
    for (size_t k = 0; k < nb; k++) {
        bb[k] = malloc(sizeof(float) * sn);
        ab[k] = malloc(sizeof(float) * sn);
        if (!bb[k] || !ab[k]) {
            st = gd_job_error(job, GD_EPROC, "out of memory for strip buffers");
            goto done;
        }
    }
    for (int y0 = 0; y0 < h; y0 += strip) {
        int rows = h - y0 < strip ? h - y0 : strip;
        size_t n = (size_t)w * (size_t)rows;
        for (size_t k = 0; k < nb; k++) {
            if ((st = gd_band_read(job, &before[k], w, y0, rows, bb[k])) != GD_OK ||
                (st = gd_band_read(job, &after[k], w, y0, rows, ab[k])) != GD_OK)
                goto done;
        }
        float *o = out->data + (size_t)y0 * (size_t)w;
        switch (m->kind) {
        case GD_KIND_NDIFF:
            gd_k_ndiff_delta(bb[0], bb[1], ab[0], ab[1], m->sign, o, n);
            break;
        case GD_KIND_LOGRATIO:
            gd_k_logratio(bb[0], ab[0], logratio_eps, o, n);
            break;
        default:
            gd_k_cva((const float *const *)bb, (const float *const *)ab, weights, nb, o, n);
            break;
        }
        out->valid += gd_k_minmax(o, n, &out->min, &out->max);
        if ((st = gd_job_progress(job, (double)(y0 + rows) / h)) != GD_OK) {
            gd_job_error(job, st, "cancelled");
            goto done;
        }
    }
    if (out->valid == 0)
        st = gd_job_error(job, GD_EINPUT,
                          "no valid pixel where both dates have data (all nodata, or the "
                          "overlap is empty)");
done:
    for (size_t k = 0; k < nb; k++) {
        if (bb)
            free(bb[k]);
        if (ab)
            free(ab[k]);
    }
    free(bb);
    free(ab);
    if (st != GD_OK)
        gd_score_free(out);
    return st;
}
