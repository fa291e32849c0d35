/* pcakmeans.c: PCA-kmeans change detection (Celik 2009) on a difference image, streamed:
 * the eigenvector space and a k-means sample from walks over the score's rows, then the
 * new score through the engine (strips of the first score with a halo). */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCK 9
/* k-means runs on at most this many pixels (a regular subsample of the grid), and on
 * every pixel below it: the SAR scenes of the accuracy suite are all smaller, so their
 * results are those of k-means on the whole image */
#define MAX_SAMPLES (1u << 20)
/* and on at most this many bytes of features */
#define MAX_SAMPLE_BYTES ((size_t)64 << 20)

/* The h x h neighbourhood of (x, y) of |d| as a vector, clamped at the image's edges
 * (w x ht); nodata neighbours take the centre's value. d holds grid rows from b0 on, at
 * least the rows the window reaches. */
static void neighbourhood(const float *d, int w, int ht, int b0, int x, int y, int h, double *v)
{
    int r = h / 2, k = 0;
    double c = fabs((double)d[(size_t)(y - b0) * (size_t)w + (size_t)x]);
    for (int j = -r; j < h - r; j++) {
        int yy = y + j < 0 ? 0 : (y + j >= ht ? ht - 1 : y + j);
        for (int i = -r; i < h - r; i++) {
            int xx = x + i < 0 ? 0 : (x + i >= w ? w - 1 : x + i);
            float e = d[(size_t)(yy - b0) * (size_t)w + (size_t)xx];
            v[k++] = isfinite(e) ? fabs((double)e) : c;
        }
    }
}

/* The model: the mean neighbourhood, the s leading eigenvectors (columns p-1, p-2, ... of
 * vec) and the k-means centres, change cluster chg. */
typedef struct pca_model {
    int w, ht, h, p, s, chg;
    double mean[MAX_BLOCK * MAX_BLOCK], vec[MAX_BLOCK * MAX_BLOCK * MAX_BLOCK * MAX_BLOCK];
    double centres[2 * MAX_BLOCK * MAX_BLOCK];
    size_t *cnt;         /* per strip of the score pass: pixels of cluster 0 and 1 */
} pca_model;

/* The feature vector of (x, y): its centred neighbourhood on the s components. */
static void features(const pca_model *m, const float *d, int b0, int x, int y, float *f)
{
    double v[MAX_BLOCK * MAX_BLOCK];
    const int p = m->p;
    neighbourhood(d, m->w, m->ht, b0, x, y, m->h, v);
    for (int c = 0; c < m->s; c++) {
        double t = 0.0;
        int col = p - 1 - c;
        for (int a = 0; a < p; a++)
            t += (v[a] - m->mean[a]) * m->vec[a * p + col];
        f[c] = (float)t;
    }
}

/* A walk over the score's rows in chunks of a multiple of h rows, each read with the rows
 * a neighbourhood reaches around it (from memory in place, else from the file). */
typedef struct walk {
    gd_job *job;
    const gd_score *s;
    int h, step, y0, rows, b0;
    float *buf;
    const float *d;      /* grid rows [b0, ...) */
} walk;

static int walk_init(gd_job *job, const gd_score *s, int h, walk *wk)
{
    memset(wk, 0, sizeof *wk);
    wk->job = job;
    wk->s = s;
    wk->h = h;
    wk->step = (gd_score_strip_rows(s) + h - 1) / h * h;
    wk->y0 = -wk->step;
    if (!s->data &&
        !(wk->buf = malloc(sizeof(float) * (size_t)s->width * (size_t)(wk->step + h))))
        return gd_job_error(job, GD_EPROC, "out of memory for PCA-kmeans");
    return GD_OK;
}

/* The next chunk: 1, 0 at the end, < 0 on a read error (in the job). */
static int walk_next(walk *wk)
{
    const int ht = wk->s->height, r = wk->h / 2;
    wk->y0 += wk->step;
    if (wk->y0 >= ht)
        return 0;
    wk->rows = ht - wk->y0 < wk->step ? ht - wk->y0 : wk->step;
    int a = wk->y0 - r < 0 ? 0 : wk->y0 - r;
    int b = wk->y0 + wk->rows + (wk->h - r - 1) > ht ? ht : wk->y0 + wk->rows + (wk->h - r - 1);
    wk->b0 = a;
    wk->d = gd_score_rows(wk->job, wk->s, a, b - a, wk->buf);
    return wk->d ? 1 : -1;
}

/* The score pass (engine, the first score as input): d(no-change) - d(change) per pixel,
 * and each strip's cluster counts (the k-means assignment: the nearer centre, cluster 0
 * on a tie). */
static int score_strip(void *user, const gd_strip *s)
{
    const pca_model *m = user;
    const float *d = s->before[0];
    const int sdim = m->s, chg = m->chg;
    float f[MAX_BLOCK * MAX_BLOCK];
    size_t cnt[2] = {0, 0};
    for (int y = s->y0; y < s->y0 + s->rows; y++) {
        float *o = s->out + (size_t)(y - s->y0) * (size_t)s->width;
        for (int x = 0; x < s->width; x++) {
            if (!isfinite(d[(size_t)(y - s->in_y0) * (size_t)s->width + (size_t)x])) {
                o[x] = NAN;
                continue;
            }
            features(m, d, s->in_y0, x, y, f);
            double dd[2] = {0.0, 0.0};
            for (int k = 0; k < 2; k++)
                for (int c = 0; c < sdim; c++) {
                    double t = (double)f[c] - m->centres[k * sdim + c];
                    dd[k] += t * t;
                }
            cnt[dd[1] < dd[0]]++;
            o[x] = (float)(sqrt(dd[1 - chg]) - sqrt(dd[chg]));
        }
    }
    m->cnt[2 * (size_t)s->index] = cnt[0];
    m->cnt[2 * (size_t)s->index + 1] = cnt[1];
    return GD_OK;
}

int gd_detect_pcakmeans(gd_job *job, const gd_grid *grid, int block, gd_score *score)
{
    int st = GD_OK, more;
    const int w = score->width, ht = score->height, h = block, p = block * block;
    size_t n = (size_t)w * (size_t)ht;
    double cov[MAX_BLOCK * MAX_BLOCK * MAX_BLOCK * MAX_BLOCK];
    double ev[MAX_BLOCK * MAX_BLOCK], v[MAX_BLOCK * MAX_BLOCK];
    pca_model *m = NULL;
    float *feat = NULL, *absd = NULL;
    uint8_t *labels = NULL;
    gd_score out;
    walk wk = {0};
    memset(&out, 0, sizeof out);
    if (h < 2 || h > MAX_BLOCK)
        return gd_job_error(job, GD_EUSAGE, "PCA-kmeans block size %d is not between 2 and %d", h,
                            MAX_BLOCK);
    if (!(m = calloc(1, sizeof *m)))
        return gd_job_error(job, GD_EPROC, "out of memory for PCA-kmeans");
    m->w = w;
    m->ht = ht;
    m->h = h;
    m->p = p;
    /* 1. the eigenvector space of non-overlapping h x h blocks without nodata, and the
     *    pixels of the smallest and largest |difference| (the k-means start): one walk in
     *    grid order, the order of every sum */
    memset(cov, 0, sizeof cov);
    size_t nblocks = 0, imin = 0, imax = 0;
    float dmin = INFINITY, dmax = -INFINITY;
    if ((st = walk_init(job, score, h, &wk)) != GD_OK)
        goto done;
    while ((more = walk_next(&wk)) > 0) {
        for (int y = wk.y0; y < wk.y0 + wk.rows; y++)
            for (int x = 0; x < w; x++) {
                float dv = fabsf(wk.d[(size_t)(y - wk.b0) * (size_t)w + (size_t)x]);
                if (!isfinite(dv))
                    continue;
                if (dv < dmin) {
                    dmin = dv;
                    imin = (size_t)y * (size_t)w + (size_t)x;
                }
                if (dv > dmax) {
                    dmax = dv;
                    imax = (size_t)y * (size_t)w + (size_t)x;
                }
            }
        /* chunks hold whole rows of blocks (their first row is a multiple of h) */
        for (int y = wk.y0; y + h <= ht && y < wk.y0 + wk.rows; y += h)
            for (int x = 0; x + h <= w; x += h) {
                int ok = 1;
                for (int j = 0; j < h && ok; j++)
                    for (int i = 0; i < h && ok; i++)
                        ok = isfinite(wk.d[(size_t)(y + j - wk.b0) * (size_t)w + (size_t)(x + i)]);
                if (!ok)
                    continue;
                neighbourhood(wk.d, w, ht, wk.b0, x + h / 2, y + h / 2, h, v);
                for (int a = 0; a < p; a++) {
                    m->mean[a] += v[a];
                    for (int b = 0; b <= a; b++)
                        cov[a * p + b] += v[a] * v[b];
                }
                nblocks++;
            }
    }
    if (more < 0) {
        st = gd_job_status(job);
        goto done;
    }
    if (nblocks < (size_t)p + 1) {
        st = gd_job_error(job, GD_EINPUT,
                          "PCA-kmeans needs at least %d complete %dx%d blocks without nodata, "
                          "found %zu", p + 1, h, h, nblocks);
        goto done;
    }
    for (int a = 0; a < p; a++)
        m->mean[a] /= (double)nblocks;
    for (int a = 0; a < p; a++)
        for (int b = 0; b <= a; b++) {
            cov[a * p + b] = cov[a * p + b] / (double)nblocks - m->mean[a] * m->mean[b];
            cov[b * p + a] = cov[a * p + b];
        }
    /* eigenvalues ascending; eigenvectors in the columns (row-major) */
    int info = gd_k_eigh(p, cov, ev);
    if (info != 0) {
        st = gd_job_error(job, GD_EPROC, "PCA-kmeans: eigen-decomposition failed (dsyev %d)",
                          info);
        goto done;
    }
    memcpy(m->vec, cov, sizeof(double) * (size_t)(p * p));
    /* Celik keeps the leading components holding 90 % of the variance */
    double kept = 0.0;
    m->s = gd_k_pca_keep(ev, p, 0.9, &kept);
    if (m->s == 0) {
        st = gd_job_error(job, GD_EINPUT,
                          "PCA-kmeans: the difference image is constant, nothing to cluster");
        goto done;
    }
    const int s = m->s;
    /* 2. the k-means sample: every stride-th pixel of the grid, all of them when few */
    size_t cap = MAX_SAMPLE_BYTES / (sizeof(float) * (size_t)s);
    cap = cap < MAX_SAMPLES ? cap : MAX_SAMPLES;
    size_t stride = n > cap ? (n + cap - 1) / cap : 1, ns = (n + stride - 1) / stride;
    feat = malloc(sizeof(float) * ns * (size_t)s);
    absd = malloc(sizeof(float) * ns);
    labels = malloc(ns);
    if (!feat || !absd || !labels) {
        st = gd_job_error(job, GD_EPROC, "out of memory for PCA-kmeans features");
        goto done;
    }
    float fmin[MAX_BLOCK * MAX_BLOCK] = {0}, fmax[MAX_BLOCK * MAX_BLOCK] = {0};
    wk.y0 = -wk.step;
    size_t j = 0;
    while ((more = walk_next(&wk)) > 0) {
        size_t i0 = (size_t)wk.y0 * (size_t)w, i1 = i0 + (size_t)wk.rows * (size_t)w;
        for (size_t i = (i0 + stride - 1) / stride * stride; i < i1; i += stride, j++) {
            int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
            float dv = wk.d[(size_t)(y - wk.b0) * (size_t)w + (size_t)x];
            absd[j] = fabsf(dv);
            if (!isfinite(dv)) {
                for (int c = 0; c < s; c++)
                    feat[j * (size_t)s + (size_t)c] = NAN;
                continue;
            }
            features(m, wk.d, wk.b0, x, y, feat + j * (size_t)s);
        }
        for (int e = 0; e < 2; e++) {
            size_t i = e ? imax : imin;
            if (i >= i0 && i < i1)
                features(m, wk.d, wk.b0, (int)(i % (size_t)w), (int)(i / (size_t)w),
                         e ? fmax : fmin);
        }
    }
    if (more < 0) {
        st = gd_job_status(job);
        goto done;
    }
    /* 3. k-means, k = 2, started from the feature vectors of the smallest and largest
     *    |difference| so that the run is deterministic */
    for (int c = 0; c < s; c++) {
        m->centres[c] = fmin[c];
        m->centres[s + c] = fmax[c];
    }
    int iters = gd_k_kmeans(feat, ns, s, 2, 100, m->centres, labels);
    if (iters < 0) {
        st = gd_job_error(job, GD_EPROC, "out of memory for k-means");
        goto done;
    }
    /* the change cluster is the one whose pixels differ more */
    double sum[2] = {0, 0};
    size_t scnt[2] = {0, 0};
    for (size_t i = 0; i < ns; i++)
        if (labels[i] < 2) {
            sum[labels[i]] += (double)absd[i];
            scnt[labels[i]]++;
        }
    m->chg = (scnt[1] ? sum[1] / (double)scnt[1] : 0.0) > (scnt[0] ? sum[0] / (double)scnt[0] : 0.0);
    free(feat);
    free(absd);
    free(labels);
    free(wk.buf);
    feat = absd = NULL;
    labels = NULL;
    wk.buf = NULL;
    /* 4. the new score from strips of the first one (a halo of h/2 rows) */
    gd_engine_spec spec = {.grid = grid, .nb = 1, .halo = h / 2, .fn = score_strip,
                           .user = m, .src = score};
    int nstrips = gd_engine_strips(&spec, NULL);
    if (!(m->cnt = calloc(2 * (size_t)nstrips, sizeof *m->cnt))) {
        st = gd_job_error(job, GD_EPROC, "out of memory for PCA-kmeans");
        goto done;
    }
    if ((st = gd_engine_score(job, &spec, &out)) != GD_OK)
        goto done;
    size_t cnt[2] = {0, 0};
    for (int k = 0; k < nstrips; k++) {
        cnt[0] += m->cnt[2 * (size_t)k];
        cnt[1] += m->cnt[2 * (size_t)k + 1];
    }
    gd_score_free(score);
    *score = out;
    memset(&out, 0, sizeof out);
    json_object_set_new(gd_job_auto(job), "pcakmeans",
                        json_pack("{s:i, s:i, s:i, s:f, s:i, s:I, s:I, s:I}", "block", h,
                                  "components", s, "blocks", (int)nblocks, "variance_kept",
                                  kept, "kmeans_iterations", iters, "kmeans_sample_stride",
                                  (json_int_t)stride, "change_pixels",
                                  (json_int_t)cnt[m->chg], "no_change_pixels",
                                  (json_int_t)cnt[1 - m->chg]));
    gd_job_info(job, "PCA-kmeans: %d components of %d (%.1f %% variance), k-means %d "
                "iterations on %zu pixels", s, p, 100.0 * kept, iters, ns);
done:
    if (m)
        free(m->cnt);
    free(m);
    free(feat);
    free(absd);
    free(labels);
    free(wk.buf);
    gd_score_free(&out);
    return st;
}
