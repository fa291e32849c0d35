/* band.c: bands as values (nodata, scale, offset, Inf, cloud masks) for every reader of
 * the inputs (the engine, the whole-image methods). */
#include "geodelta/engine.h"
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
void gd_band_to_values(const gd_band *b, float *buf, size_t n)
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
        if (b->db_to_linear)
            v = powf(10.0f, 0.1f * v);
        buf[i] = isinf(v) ? NAN : v;
    }
}

const char *gd_band_file(const gd_band *b)
{
    if (b->name && *b->name)
        return b->name;
    const char *d = GDALGetDescription(GDALGetBandDataset(b->band));
    return d && *d ? d : "(unnamed dataset)";
}

/* Whole rows of one band as float32 values (the in-memory methods: SAR filters, IR-MAD). */
int gd_band_read(gd_job *job, const gd_band *b, int width, int y0, int rows, float *buf)
{
    CPLErrorReset();
    CPLErr e = GDALRasterIO(b->band, GF_Read, 0, y0, width, rows, buf, width, rows,
                            GDT_Float32, 0, 0);
    if (e != CE_None)
        return gd_job_error_gdal(job, GD_EINPUT,
                                 "read error in rows %d-%d of %s (hint: the file may be "
                                 "truncated or corrupt; gdalinfo -checksum shows where)",
                                 y0, y0 + rows - 1, gd_band_file(b));
    gd_band_to_values(b, buf, (size_t)width * (size_t)rows);
    return gd_band_read_mask(job, b, width, y0, rows, buf);
}

int gd_band_read_mask(gd_job *job, const gd_band *b, int width, int y0, int rows, float *buf)
{
    if (!b->mask)
        return GD_OK;
    size_t n = (size_t)width * (size_t)rows;
    float *m = malloc(sizeof(float) * n);
    if (!m)
        return gd_job_error(job, GD_EPROC, "out of memory");
    CPLErrorReset();
    CPLErr e = GDALRasterIO(b->mask, GF_Read, 0, y0, width, rows, m, width, rows, GDT_Float32,
                            0, 0);
    if (e == CE_None)
        gd_mask_apply(b->mask_kind, m, buf, n);
    free(m);
    if (e != CE_None)
        return gd_job_error_gdal(job, GD_EINPUT, "read error in rows %d-%d of the cloud mask "
                                 "of %s", y0, y0 + rows - 1, gd_band_file(b));
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
                                 gd_band_file(b));
    }
    gd_band_to_values(b, buf, n);
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
