/* pcakmeans.c: PCA-kmeans change detection (Celik 2009) on a difference image. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCK 9

/* The h x h neighbourhood of (x, y) of |d| as a vector, clamped at the image edges;
 * nodata neighbours take the centre's value. */
static void neighbourhood(const float *d, int w, int ht, int x, int y, int h, double *v)
{
    int r = h / 2, k = 0;
    double c = fabs((double)d[(size_t)y * (size_t)w + (size_t)x]);
    for (int j = -r; j < h - r; j++) {
        int yy = y + j < 0 ? 0 : (y + j >= ht ? ht - 1 : y + j);
        for (int i = -r; i < h - r; i++) {
            int xx = x + i < 0 ? 0 : (x + i >= w ? w - 1 : x + i);
            float e = d[(size_t)yy * (size_t)w + (size_t)xx];
            v[k++] = isfinite(e) ? fabs((double)e) : c;
        }
    }
}

int gd_detect_pcakmeans(gd_job *job, int block, gd_score *score)
{
    int st = GD_OK;
    const int w = score->width, ht = score->height, h = block, p = block * block;
    size_t n = (size_t)w * (size_t)ht;
    double mean[MAX_BLOCK * MAX_BLOCK], cov[MAX_BLOCK * MAX_BLOCK * MAX_BLOCK * MAX_BLOCK];
    double ev[MAX_BLOCK * MAX_BLOCK], v[MAX_BLOCK * MAX_BLOCK];
    float *feat = NULL;
    uint8_t *labels = NULL;
    if (h < 2 || h > MAX_BLOCK)
        return gd_job_error(job, GD_EUSAGE, "PCA-kmeans block size %d is not between 2 and %d", h,
                            MAX_BLOCK);
    /* the SAR score may have gone to a file (--mem): PCA-kmeans still works on the whole
     * image (its features, n x block^2 floats, are the larger part anyway) */
    if ((st = gd_score_load(job, score)) != GD_OK)
        return st;
    /* 1. the eigenvector space of non-overlapping h x h blocks without nodata */
    memset(mean, 0, sizeof mean);
    memset(cov, 0, sizeof cov);
    size_t nblocks = 0;
    for (int y = 0; y + h <= ht; y += h)
        for (int x = 0; x + h <= w; x += h) {
            int ok = 1;
            for (int j = 0; j < h && ok; j++)
                for (int i = 0; i < h && ok; i++)
                    ok = isfinite(score->data[(size_t)(y + j) * (size_t)w + (size_t)(x + i)]);
            if (!ok)
                continue;
            neighbourhood(score->data, w, ht, x + h / 2, y + h / 2, h, v);
            for (int a = 0; a < p; a++) {
                mean[a] += v[a];
                for (int b = 0; b <= a; b++)
                    cov[a * p + b] += v[a] * v[b];
            }
            nblocks++;
        }
    if (nblocks < (size_t)p + 1)
        return gd_job_error(job, GD_EINPUT,
                            "PCA-kmeans needs at least %d complete %dx%d blocks without nodata, "
                            "found %zu", p + 1, h, h, nblocks);
    for (int a = 0; a < p; a++)
        mean[a] /= (double)nblocks;
    for (int a = 0; a < p; a++)
        for (int b = 0; b <= a; b++) {
            cov[a * p + b] = cov[a * p + b] / (double)nblocks - mean[a] * mean[b];
            cov[b * p + a] = cov[a * p + b];
        }
    /* eigenvalues ascending; eigenvectors in the columns of cov (row-major) */
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', p, cov, p, ev);
    if (info != 0)
        return gd_job_error(job, GD_EPROC, "PCA-kmeans: eigen-decomposition failed (dsyev %d)",
                            (int)info);
    double total = 0.0;
    for (int a = 0; a < p; a++)
        total += ev[a] > 0.0 ? ev[a] : 0.0;
    if (!(total > 0.0))
        return gd_job_error(job, GD_EINPUT,
                            "PCA-kmeans: the difference image is constant, nothing to cluster");
    /* Celik keeps the leading components holding 90 % of the variance */
    int s = 0;
    double acc = 0.0;
    while (s < p && acc < 0.9 * total) {
        acc += ev[p - 1 - s] > 0.0 ? ev[p - 1 - s] : 0.0;
        s++;
    }
    /* 2. per-pixel feature vectors: centred neighbourhoods projected on the s components */
    feat = malloc(sizeof(float) * n * (size_t)s);
    labels = malloc(n);
    if (!feat || !labels) {
        st = gd_job_error(job, GD_EPROC, "out of memory for PCA-kmeans features");
        goto done;
    }
    for (int y = 0; y < ht; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            float *f = feat + i * (size_t)s;
            if (!isfinite(score->data[i])) {
                for (int c = 0; c < s; c++)
                    f[c] = NAN;
                continue;
            }
            neighbourhood(score->data, w, ht, x, y, h, v);
            for (int c = 0; c < s; c++) {
                double t = 0.0;
                int col = p - 1 - c;
                for (int a = 0; a < p; a++)
                    t += (v[a] - mean[a]) * cov[a * p + col];
                f[c] = (float)t;
            }
        }
    /* 3. k-means, k = 2, started from the feature vectors of the smallest and largest
     *    |difference| so that the run is deterministic */
    size_t imin = 0, imax = 0;
    float dmin = INFINITY, dmax = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(score->data[i]);
        if (!isfinite(d))
            continue;
        if (d < dmin) {
            dmin = d;
            imin = i;
        }
        if (d > dmax) {
            dmax = d;
            imax = i;
        }
    }
    double centres[2 * MAX_BLOCK * MAX_BLOCK];
    for (int c = 0; c < s; c++) {
        centres[c] = feat[imin * (size_t)s + (size_t)c];
        centres[s + c] = feat[imax * (size_t)s + (size_t)c];
    }
    int iters = gd_k_kmeans(feat, n, s, 2, 100, centres, labels);
    if (iters < 0) {
        st = gd_job_error(job, GD_EPROC, "out of memory for k-means");
        goto done;
    }
    /* the change cluster is the one whose pixels differ more */
    double sum[2] = {0, 0};
    size_t cnt[2] = {0, 0};
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 2) {
            sum[labels[i]] += fabs((double)score->data[i]);
            cnt[labels[i]]++;
        }
    int chg = (cnt[1] ? sum[1] / (double)cnt[1] : 0.0) > (cnt[0] ? sum[0] / (double)cnt[0] : 0.0);
    score->min = INFINITY;
    score->max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] >= 2) {
            score->data[i] = NAN;
            continue;
        }
        const float *f = feat + i * (size_t)s;
        double d0 = 0.0, d1 = 0.0;
        for (int c = 0; c < s; c++) {
            double a = (double)f[c] - centres[(1 - chg) * s + c];
            double b = (double)f[c] - centres[chg * s + c];
            d0 += a * a;
            d1 += b * b;
        }
        score->data[i] = (float)(sqrt(d0) - sqrt(d1));
    }
    score->valid = gd_k_minmax(score->data, n, &score->min, &score->max);
    json_object_set_new(gd_job_auto(job), "pcakmeans",
                        json_pack("{s:i, s:i, s:i, s:f, s:i, s:I, s:I}", "block", h,
                                  "components", s, "blocks", (int)nblocks,
                                  "variance_kept", acc / total, "kmeans_iterations", iters,
                                  "change_pixels", (json_int_t)cnt[chg],
                                  "no_change_pixels", (json_int_t)cnt[1 - chg]));
    gd_job_info(job, "PCA-kmeans: %d components of %d (%.1f %% variance), k-means %d iterations",
                s, p, 100.0 * acc / total, iters);
done:
    free(feat);
    free(labels);
    return st;
}
