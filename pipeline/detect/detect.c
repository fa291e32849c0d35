/* detect.c: streams the grid in strips of rows through the method's kernel into a score. */
#include "geodelta/stages.h"

#include <cpl_error.h>
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
    out->name = GDALGetDescription(ds);
    return GD_OK;
}

/* nodata -> NaN, and so are +-Inf: no method can say anything about an infinite
 * reflectance, and an Inf score would poison the histogram and the GeoJSON */
static void to_values(const gd_band *b, float *buf, size_t n)
{
    int nd_nan = b->has_nodata && isnan(b->nodata);
    float nd = (float)b->nodata;
    int apply = b->scale != 1.0 || b->offset != 0.0;
    float sc = (float)b->scale, of = (float)b->offset;
    for (size_t i = 0; i < n; i++) {
        float v = buf[i];
        if (b->has_nodata && !nd_nan && v == nd) {
            buf[i] = NAN;
            continue;
        }
        if (apply)
            v = v * sc + of;
        buf[i] = isinf(v) ? NAN : v;
    }
}

static const char *band_file(const gd_band *b)
{
    if (b->name && *b->name)
        return b->name;
    const char *d = GDALGetDescription(GDALGetBandDataset(b->band));
    return d && *d ? d : "(unnamed dataset)";
}

/* Reads rows [y0, y0+rows) of a band as float32, nodata -> NaN, scale/offset applied. */
static int read_strip(gd_job *job, const gd_band *b, int width, int y0, int rows, float *buf)
{
    CPLErrorReset();
    CPLErr e = GDALRasterIO(b->band, GF_Read, 0, y0, width, rows, buf, width, rows,
                            GDT_Float32, 0, 0);
    if (e != CE_None)
        return gd_job_error_gdal(job, GD_EINPUT,
                                 "read error in rows %d-%d of %s (hint: the file may be "
                                 "truncated or corrupt; gdalinfo -checksum shows where)",
                                 y0, y0 + rows - 1, band_file(b));
    to_values(b, buf, (size_t)width * (size_t)rows);
    return GD_OK;
}

int gd_band_finite_stats(gd_job *job, const gd_band *b, double *mean, double *sd)
{
    GDALDatasetH ds = GDALGetBandDataset(b->band);
    int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    double f = sqrt((double)w * (double)h / 1048576.0);
    int bw = f > 1.0 ? (int)ceil(w / f) : w, bh = f > 1.0 ? (int)ceil(h / f) : h;
    size_t n = (size_t)bw * (size_t)bh;
    *mean = *sd = NAN;
    float *buf = malloc(sizeof(float) * n);
    if (!buf)
        return gd_job_error(job, GD_EPROC, "out of memory");
    CPLErrorReset();
    if (GDALRasterIO(b->band, GF_Read, 0, 0, w, h, buf, bw, bh, GDT_Float32, 0, 0) != CE_None) {
        free(buf);
        return gd_job_error_gdal(job, GD_EINPUT,
                                 "read error in %s (hint: the file may be truncated or corrupt)",
                                 band_file(b));
    }
    to_values(b, buf, n);
    /* Welford: values near FLT_MAX must not overflow a sum of squares */
    double m = 0.0, s2 = 0.0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(buf[i]))
            continue;
        double v = buf[i], d = v - m;
        k++;
        m += d / (double)k;
        s2 += d * (v - m);
    }
    free(buf);
    if (k > 0) {
        *mean = m;
        *sd = sqrt(s2 / (double)k);
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
            if ((st = read_strip(job, &before[k], w, y0, rows, bb[k])) != GD_OK ||
                (st = read_strip(job, &after[k], w, y0, rows, ab[k])) != GD_OK)
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
        /* finite inputs can still give +-Inf (x/0 where reflectances cancel): nodata */
        for (size_t i = 0; i < n; i++)
            if (isinf(o[i]))
                o[i] = NAN;
        out->valid += gd_k_minmax(o, n, &out->min, &out->max);
        if ((st = gd_job_progress(job, (double)(y0 + rows) / h)) != GD_OK) {
            gd_job_error(job, st, "cancelled");
            goto done;
        }
    }
    if (out->valid == 0)
        st = gd_job_error(job, GD_EINPUT,
                          "no valid pixel where both dates have data: %s and %s overlap only "
                          "where one of them is nodata, NaN or Inf (hint: gdalinfo -stats on "
                          "both; check their nodata values and footprints)",
                          band_file(&before[0]), band_file(&after[0]));
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
