/* coreg.c: global and local co-registration by phase correlation, applied by GDAL's warper. */
#include "geodelta/coreg.h"
#include "geodelta/engine.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gd_kernels.h>
#include <gdal_alg.h>
#include <gdalwarper.h>
#include <jansson.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CAND_GRID 7     /* global: candidate windows on a 7x7 grid */
#define CAND_TRIES 5    /* ... of which the 5 most textured valid ones are correlated */
#define CAND_SAMPLES 64 /* candidates are screened on 64x64 samples */
/* up to this many pixels the screening reads each window decimated: that decodes about
 * the whole file, which is cheap there (tens of ms) and keeps the windows chosen on
 * small scenes (all of ../shared/data) as they always were */
#define SPARSE_MIN_PX ((int64_t)2048 * 2048)
#define LOCAL_BATCH 64  /* tie points read per batch, correlated in parallel */
#define LOCAL_MAX_NODATA 0.05

void gd_coreg_params_init(gd_coreg_params *p)
{
    memset(p, 0, sizeof *p);
    p->mode = GD_COREG_GLOBAL;
    p->ref_band = p->tgt_band = 1;
    p->window = 512;
    p->local_window = 256;
    p->grid = 256;
    /* measured: true matches 69..99 % (clouds and nodata included), unrelated or merely
     * self-similar areas 5..38 % */
    p->min_reliability = 50.0;
    p->upsample = 100;
}

void gd_coreg_result_free(gd_coreg_result *r)
{
    if (!r)
        return;
    free(r->points);
    r->points = NULL;
    r->npoints = r->nused = 0;
}

/* ---- reading windows -------------------------------------------------------------- */

typedef struct {
    GDALRasterBandH band;
    int has_nodata;
    double nodata;
    int zero_is_nodata; /* integer band without a nodata tag: 0 marks no data */
} src_band;

static int band_open(gd_job *job, GDALDatasetH ds, int b, const char *label, src_band *out)
{
    if (b < 1 || b > GDALGetRasterCount(ds))
        return gd_job_error(job, GD_EUSAGE, "the %s image has no band %d (it has %d)", label,
                            b, GDALGetRasterCount(ds));
    out->band = GDALGetRasterBand(ds, b);
    out->nodata = GDALGetRasterNoDataValue(out->band, &out->has_nodata);
    GDALDataType dt = GDALGetRasterDataType(out->band);
    /* Sentinel-2 and Landsat products fill outside the swath with 0 without saying so */
    out->zero_is_nodata = !out->has_nodata && !GDALDataTypeIsFloating(dt) &&
                          !GDALDataTypeIsComplex(dt);
    return GD_OK;
}

/* Reads the n x n source window at (x0, y0) into buf (bw x bw, decimated when bw < n),
 * nodata as NaN. Returns the count of NaN, or -1 on a read error. */
static long read_window(const src_band *b, int x0, int y0, int n, int bw, float *buf)
{
    if (GDALRasterIO(b->band, GF_Read, x0, y0, n, n, buf, bw, bw, GDT_Float32, 0, 0) != CE_None)
        return -1;
    long bad = 0;
    for (size_t i = 0; i < (size_t)bw * (size_t)bw; i++) {
        float v = buf[i];
        if ((b->has_nodata && (v == (float)b->nodata || (isnan(b->nodata) && isnan(v)))) ||
            (b->zero_is_nodata && v == 0.0f) || !isfinite(v)) {
            buf[i] = NAN;
            bad++;
        }
    }
    return bad;
}

/* A candidate's screening sample, bw x bw: the window decimated when the file has
 * overviews (GDAL reads those), else a full-resolution patch inside the one block that
 * holds the window's centre, so that screening decodes one block per window instead of
 * every block of it. Returns the count of nodata, or -1 on a read error. */
static int screen_sparse(const src_band *b, int n, int bw)
{
    int W = GDALGetRasterBandXSize(b->band), H = GDALGetRasterBandYSize(b->band);
    return bw < n && GDALGetOverviewCount(b->band) == 0 && (int64_t)W * H > SPARSE_MIN_PX;
}

static long screen_window(const src_band *b, int x0, int y0, int n, int bw, float *buf)
{
    int W = GDALGetRasterBandXSize(b->band), H = GDALGetRasterBandYSize(b->band);
    if (!screen_sparse(b, n, bw))
        return read_window(b, x0, y0, n, bw, buf);
    int bx = 0, by = 0;
    GDALGetBlockSize(b->band, &bx, &by);
    int org[2], size[2] = {bx, by}, lo[2] = {x0, y0}, dim[2] = {W, H};
    for (int k = 0; k < 2; k++) {
        int c = lo[k] + n / 2, blk = size[k] > 0 ? size[k] : 1;
        int o = c / blk * blk + (blk - bw) / 2;
        if (blk < bw)
            o = c - bw / 2; /* small blocks: the centre of the window */
        if (o > lo[k] + n - bw)
            o = lo[k] + n - bw;
        if (o < lo[k])
            o = lo[k];
        if (o > dim[k] - bw)
            o = dim[k] - bw;
        org[k] = o < 0 ? 0 : o;
    }
    return read_window(b, org[0], org[1], bw, bw, buf);
}

/* Mean squared gradient: how much texture the phase correlation can lock on to. */
static double texture(const float *w, int n)
{
    double s = 0.0;
    for (int y = 0; y + 1 < n; y++)
        for (int x = 0; x + 1 < n; x++) {
            double gx = w[y * n + x + 1] - w[y * n + x], gy = w[(y + 1) * n + x] - w[y * n + x];
            s += gx * gx + gy * gy;
        }
    return s / ((double)(n - 1) * (n - 1));
}

static void pix_to_map(const double gt[6], double x, double y, double *mx, double *my)
{
    *mx = gt[0] + x * gt[1] + y * gt[2];
    *my = gt[3] + x * gt[4] + y * gt[5];
}

static void shift_to_map(const double gt[6], double dx, double dy, double *mx, double *my)
{
    *mx = dx * gt[1] + dy * gt[2];
    *my = dx * gt[4] + dy * gt[5];
}

static int get_gt(GDALDatasetH ds, double gt[6])
{
    if (GDALGetGeoTransform(ds, gt) != CE_None) {
        const double id[6] = {0, 1, 0, 0, 0, 1};
        memcpy(gt, id, sizeof id);
        return 0;
    }
    return 1;
}

/* The job's threads, or every CPU this process may use when it names none (at most 64). */
static int coreg_threads(const gd_job *job)
{
    int n = gd_job_threads(job) > 0 ? gd_job_threads(job) : gd_engine_default_threads();
    return n < 1 ? 1 : n > 64 ? 64 : n;
}

/* ---- global ------------------------------------------------------------------------ */

/* One window read of a pair: the two dates are read side by side, the target's on a
 * thread of its own (its dataset is a handle of its own, never shared), so a window
 * costs the slower of the two decodes instead of their sum. */
typedef struct {
    const src_band *b;
    int x0, y0, n, bw;
    float *buf;
    int screen;  /* screen_window instead of read_window */
    long bad;    /* the read's result */
    char err[512];
} win_read;

static void *win_read_run(void *arg)
{
    win_read *w = arg;
    CPLErrorReset();
    w->bad = w->screen ? screen_window(w->b, w->x0, w->y0, w->n, w->bw, w->buf)
                       : read_window(w->b, w->x0, w->y0, w->n, w->bw, w->buf);
    if (w->bad < 0)
        snprintf(w->err, sizeof w->err, "%s", CPLGetLastErrorMsg());
    return NULL;
}

/* Reads r and t, t on a second thread when threaded; a read error's message (GDAL's,
 * which is per thread) is raised again on this thread for the caller's report. */
static void read_both(win_read *r, win_read *t, int threaded)
{
    pthread_t th;
    int started = threaded && pthread_create(&th, NULL, win_read_run, t) == 0;
    win_read_run(r);
    if (started)
        pthread_join(th, NULL);
    else
        win_read_run(t);
    const win_read *bad = r->bad < 0 ? r : t->bad < 0 ? t : NULL;
    if (bad)
        CPLError(CE_Failure, CPLE_AppDefined, "%s", bad->err);
}

typedef struct {
    int x0, y0;
    double score;
} candidate;

static int cmp_cand(const void *a, const void *b)
{
    double sa = ((const candidate *)a)->score, sb = ((const candidate *)b)->score;
    return (sa < sb) - (sa > sb);
}

static int estimate_global(gd_job *job, const src_band *rb, const src_band *tb, int W, int H,
                           const double gt[6], const gd_coreg_params *p, gd_coreg_result *out)
{
    int st = GD_OK;
    int n = p->window;
    if (n > W)
        n = W;
    if (n > H)
        n = H;
    n &= ~1;
    if (n < 32)
        return gd_job_error(job, GD_EINPUT,
                            "the images (%dx%d) are too small for a co-registration window", W, H);
    gd_pc_plan *plan = NULL;
    gd_pc_work *work = NULL;
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n);
    candidate cand[CAND_GRID * CAND_GRID];
    int ncand = 0;
    if (!a || !b || gd_pc_plan_create(n, &plan) != 0 || gd_pc_work_create(plan, &work) != 0) {
        st = gd_job_error(job, GD_EPROC, "out of memory for a %d px co-registration window", n);
        goto done;
    }
    const int bw = n < CAND_SAMPLES ? n : CAND_SAMPLES;
    const int threaded = coreg_threads(job) > 1;
    if (p->has_at) {
        /* the window the user asked for, centred on a map point */
        double det = gt[1] * gt[5] - gt[2] * gt[4];
        double ex = p->at_x - gt[0], ey = p->at_y - gt[3];
        double px = (gt[5] * ex - gt[2] * ey) / det, py = (-gt[4] * ex + gt[1] * ey) / det;
        int x0 = (int)lround(px - n / 2.0), y0 = (int)lround(py - n / 2.0);
        if (px < 0 || py < 0 || px > W || py > H) {
            st = gd_job_error(job, GD_EUSAGE, "--at %.10g,%.10g lies outside the reference image",
                              p->at_x, p->at_y);
            goto done; /* the windows and the plan are allocated already */
        }
        cand[0].x0 = x0 < 0 ? 0 : x0 > W - n ? W - n : x0;
        cand[0].y0 = y0 < 0 ? 0 : y0 > H - n ? H - n : y0;
        cand[0].score = 1.0;
        ncand = 1;
    } else {
        for (int i = 0; i < CAND_GRID; i++)
            for (int j = 0; j < CAND_GRID; j++) {
                int x0 = (int)((W - n) * (j + 0.5) / CAND_GRID);
                int y0 = (int)((H - n) * (i + 0.5) / CAND_GRID);
                win_read wr = {rb, x0, y0, n, bw, a, 1, 0, ""};
                win_read wt = {tb, x0, y0, n, bw, b, 1, 0, ""};
                read_both(&wr, &wt, threaded);
                long br = wr.bad, bt = wt.bad;
                if (br < 0 || bt < 0) {
                    st = gd_job_error_gdal(job, GD_EINPUT, "cannot read a co-registration window");
                    out->read_failed = 1;
                    goto done;
                }
                if (br || bt)
                    continue; /* nodata in the window: edges of the swath or the overlap */
                double s = fmin(texture(a, bw), texture(b, bw));
                if (s > 0) {
                    cand[ncand].x0 = x0;
                    cand[ncand].y0 = y0;
                    cand[ncand].score = s;
                    ncand++;
                }
            }
        if (ncand == 0) {
            st = gd_job_error(job, GD_EINPUT,
                              "no %d px window without nodata and with texture in both images "
                              "(hint: a smaller --window; detect: --coreg-window)", n);
            goto done;
        }
        qsort(cand, (size_t)ncand, sizeof cand[0], cmp_cand);
    }
    /* the most textured windows can still hold clouds in one date: keep the one whose
     * correlation peak is the most reliable */
    out->reliability = -1.0;
    for (int c = 0, tried = 0; c < ncand && tried < CAND_TRIES; c++) {
        gd_pc_result r;
        win_read wr = {rb, cand[c].x0, cand[c].y0, n, n, a, 0, 0, ""};
        win_read wt = {tb, cand[c].x0, cand[c].y0, n, n, b, 0, 0, ""};
        read_both(&wr, &wt, threaded);
        long br = wr.bad, bt = wt.bad;
        if (br < 0 || bt < 0) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot read a co-registration window");
                    out->read_failed = 1;
            goto done;
        }
        /* screening saw a sample: nodata elsewhere in the window sends it back */
        if ((br || bt) && !p->has_at && (screen_sparse(rb, n, bw) || screen_sparse(tb, n, bw)))
            continue;
        tried++;
        if (gd_pc_correlate(plan, work, a, b, p->upsample, &r) != 0)
            continue;
        /* again on the target window moved by the whole-pixel part: the residual shift
         * is then small, and so is the pull of the fixed Hann taper toward zero */
        int ox = (int)lround(r.dx), oy = (int)lround(r.dy);
        int tx0 = cand[c].x0 + ox, ty0 = cand[c].y0 + oy;
        if ((ox || oy) && tx0 >= 0 && ty0 >= 0 && tx0 + n <= W && ty0 + n <= H) {
            gd_pc_result r2;
            bt = read_window(tb, tx0, ty0, n, n, b);
            if (bt < 0) {
                st = gd_job_error_gdal(job, GD_EINPUT, "cannot read a co-registration window");
                    out->read_failed = 1;
                goto done;
            }
            if (gd_pc_correlate(plan, work, a, b, p->upsample, &r2) == 0) {
                r2.dx += ox;
                r2.dy += oy;
                r = r2;
            }
        }
        gd_job_info(job, "coreg window at px (%d, %d): shift (%.3f, %.3f) px, reliability %.1f %%",
                    cand[c].x0, cand[c].y0, r.dx, r.dy, r.reliability);
        if (r.reliability > out->reliability) {
            out->reliability = r.reliability;
            out->peak = r.peak;
            out->dx = r.dx;
            out->dy = r.dy;
            out->cx = cand[c].x0 + n / 2.0;
            out->cy = cand[c].y0 + n / 2.0;
        }
    }
    out->window = n;
    if (out->reliability < 0) {
        st = gd_job_error(job, GD_EINPUT, "the co-registration windows are flat or empty");
        goto done;
    }
    out->affine[0] = out->dx;
    out->affine[3] = out->dy;
    shift_to_map(gt, out->dx, out->dy, &out->dx_map, &out->dy_map);
    if (out->reliability < p->min_reliability) {
        double mx, my;
        pix_to_map(gt, out->cx, out->cy, &mx, &my);
        st = gd_job_error(job, GD_EINPUT,
                          "co-registration refused: reliability %.1f %% is below %.0f %% (best "
                          "window of %d px centred at %.2f, %.2f; shift found %.3f, %.3f px). "
                          "The dates may differ too much there (clouds, change) (hint: another "
                          "--window or --at; detect: --coreg-window, or --coreg none)",
                          out->reliability, p->min_reliability, n, mx, my, out->dx, out->dy);
    }
done:
    gd_pc_work_destroy(work);
    gd_pc_plan_destroy(plan);
    free(a);
    free(b);
    return st;
}

/* ---- local ------------------------------------------------------------------------- */

typedef struct {
    const gd_pc_plan *plan;
    const float *ref, *tgt; /* batch windows, n*n each */
    const int *ok;
    gd_coreg_point *pts;
    size_t first, count, stride;
    int upsample, n;
    int failed;
} batch_task;

static void *batch_worker(void *arg)
{
    batch_task *t = arg;
    gd_pc_work *w = NULL;
    if (gd_pc_work_create(t->plan, &w) != 0) {
        t->failed = 1;
        return NULL;
    }
    const size_t nn = (size_t)t->n * (size_t)t->n;
    for (size_t i = t->first; i < t->count; i += t->stride) {
        gd_pc_result r;
        gd_coreg_point *pt = &t->pts[i];
        pt->reliability = 0.0;
        pt->dx = pt->dy = NAN;
        if (!t->ok[i] || gd_pc_correlate(t->plan, w, t->ref + i * nn, t->tgt + i * nn,
                                         t->upsample, &r) != 0)
            continue;
        pt->dx = r.dx;
        pt->dy = r.dy;
        pt->reliability = r.reliability;
    }
    gd_pc_work_destroy(w);
    return NULL;
}

/* Correlates the cnt window pairs of a batch on nthreads threads (ok[i] = 0: skipped,
 * NaN shift). Returns -1 when a worker had no memory. */
static int run_batch(const gd_pc_plan *plan, const float *ra, const float *ta, const int *ok,
                     gd_coreg_point *pts, size_t cnt, int nthreads, int upsample, int n)
{
    batch_task tasks[64];
    pthread_t th[64];
    int started[64] = {0}, failed = 0;
    for (int t = 0; t < nthreads; t++) {
        tasks[t] = (batch_task){plan, ra, ta, ok, pts, (size_t)t, cnt, (size_t)nthreads,
                                upsample, n, 0};
        if (t > 0)
            started[t] = pthread_create(&th[t], NULL, batch_worker, &tasks[t]) == 0;
    }
    for (int t = 0; t < nthreads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            batch_worker(&tasks[t]); /* this thread, or one that could not start */
        failed |= tasks[t].failed;
    }
    return failed ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Least-squares affine fit of the used points' displacements (LAPACK dgels), with
 * coordinates centred and scaled for conditioning. */
static int fit_affine(const gd_coreg_point *pts, size_t np, double cx, double cy, double sc,
                      double a[6])
{
    size_t m = 0;
    for (size_t i = 0; i < np; i++)
        m += pts[i].used;
    if (m < 3)
        return -1;
    double *A = malloc(sizeof(double) * m * 3), *B = malloc(sizeof(double) * m * 2);
    if (!A || !B) {
        free(A);
        free(B);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < np; i++) {
        if (!pts[i].used)
            continue;
        A[k * 3 + 0] = 1.0;
        A[k * 3 + 1] = (pts[i].x - cx) / sc;
        A[k * 3 + 2] = (pts[i].y - cy) / sc;
        B[k * 2 + 0] = pts[i].dx;
        B[k * 2 + 1] = pts[i].dy;
        k++;
    }
    lapack_int info = LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', (lapack_int)m, 3, 2, A, 3, B, 2);
    if (info == 0) {
        /* back to raw pixel coordinates: d = c0 + c1 (x - cx)/sc + c2 (y - cy)/sc */
        for (int r = 0; r < 2; r++) {
            double c0 = B[0 * 2 + r], c1 = B[1 * 2 + r] / sc, c2 = B[2 * 2 + r] / sc;
            a[r * 3 + 0] = c0 - c1 * cx - c2 * cy;
            a[r * 3 + 1] = c1;
            a[r * 3 + 2] = c2;
        }
    }
    free(A);
    free(B);
    return info == 0 ? 0 : -1;
}

static double residual(const gd_coreg_point *pt, const double a[6])
{
    double ex = pt->dx - (a[0] + a[1] * pt->x + a[2] * pt->y);
    double ey = pt->dy - (a[3] + a[4] * pt->x + a[5] * pt->y);
    return hypot(ex, ey);
}

static int estimate_local(gd_job *job, const src_band *rb, const src_band *tb, int W, int H,
                          const double gt[6], const gd_coreg_params *p, gd_coreg_result *out)
{
    int st = GD_OK;
    int n = p->local_window;
    if (n > W)
        n = W;
    if (n > H)
        n = H;
    n &= ~1;
    const int g = p->grid > 0 ? p->grid : n;
    if (n < 32)
        return gd_job_error(job, GD_EINPUT, "the images (%dx%d) are too small for tie points",
                            W, H);
    const int nx = (W - n) / g + 1, ny = (H - n) / g + 1;
    const size_t np = (size_t)nx * (size_t)ny, nn = (size_t)n * (size_t)n;
    gd_pc_plan *plan = NULL;
    float *ra = NULL, *ta = NULL;
    int ok[LOCAL_BATCH];
    double *tmp = NULL;
    out->points = calloc(np, sizeof *out->points);
    ra = malloc(sizeof(float) * nn * LOCAL_BATCH);
    ta = malloc(sizeof(float) * nn * LOCAL_BATCH);
    tmp = malloc(sizeof(double) * np);
    if (!out->points || !ra || !ta || !tmp || gd_pc_plan_create(n, &plan) != 0) {
        st = gd_job_error(job, GD_EPROC, "out of memory for %zu tie points", np);
        goto done;
    }
    out->npoints = np;
    out->window = n;
    const int nthreads = coreg_threads(job);
    /* the windows are read by this thread alone (a GDAL handle is never shared); the
     * FFTs run on nthreads, each with its own work area on the shared plan */
    for (size_t b0 = 0; b0 < np; b0 += LOCAL_BATCH) {
        size_t cnt = np - b0 < LOCAL_BATCH ? np - b0 : LOCAL_BATCH;
        for (size_t i = 0; i < cnt; i++) {
            size_t k = b0 + i;
            int x0 = (int)(k % (size_t)nx) * g, y0 = (int)(k / (size_t)nx) * g;
            gd_coreg_point *pt = &out->points[k];
            pt->x = x0 + n / 2.0;
            pt->y = y0 + n / 2.0;
            long br = read_window(rb, x0, y0, n, n, ra + i * nn);
            long bt = read_window(tb, x0, y0, n, n, ta + i * nn);
            if (br < 0 || bt < 0) {
                st = gd_job_error_gdal(job, GD_EINPUT, "cannot read a tie-point window");
                    out->read_failed = 1;
                goto done;
            }
            ok[i] = (double)(br > bt ? br : bt) <= LOCAL_MAX_NODATA * (double)nn;
        }
        if (run_batch(plan, ra, ta, ok, out->points + b0, cnt, nthreads, p->upsample, n) != 0) {
            st = gd_job_error(job, GD_EPROC, "out of memory in the tie-point workers");
            goto done;
        }
        if ((st = gd_job_progress(job, (double)(b0 + cnt) / (double)np)) != GD_OK)
            goto done;
    }

    /* outliers: points below the reliability floor go first, then those far from the
     * affine fit (3 scaled MADs of the residuals, at least 0.1 px), three rounds */
    size_t nrel = 0;
    for (size_t i = 0; i < np; i++) {
        gd_coreg_point *pt = &out->points[i];
        pt->used = isfinite(pt->dx) && pt->reliability >= p->min_reliability;
        nrel += pt->used;
    }
    const double cx = W / 2.0, cy = H / 2.0, sc = fmax(W, H) / 2.0;
    if (nrel < 3 || fit_affine(out->points, np, cx, cy, sc, out->affine) != 0) {
        st = gd_job_error(job, GD_EINPUT,
                          "co-registration refused: %zu of %zu tie points reach %.0f %% "
                          "reliability, at least 3 are needed (hint: --grid smaller)",
                          nrel, np, p->min_reliability);
        goto done;
    }
    for (int round = 0; round < 3; round++) {
        size_t m = 0;
        for (size_t i = 0; i < np; i++)
            if (out->points[i].used)
                tmp[m++] = residual(&out->points[i], out->affine);
        qsort(tmp, m, sizeof *tmp, cmp_double);
        double mad = m % 2 ? tmp[m / 2] : 0.5 * (tmp[m / 2 - 1] + tmp[m / 2]);
        double lim = fmax(3.0 * 1.4826 * mad, 0.1);
        size_t dropped = 0;
        for (size_t i = 0; i < np; i++)
            if (out->points[i].used && residual(&out->points[i], out->affine) > lim) {
                out->points[i].used = 0;
                dropped++;
            }
        if (!dropped || fit_affine(out->points, np, cx, cy, sc, out->affine) != 0)
            break;
    }
    double se = 0.0;
    size_t m = 0;
    for (size_t i = 0; i < np; i++)
        if (out->points[i].used) {
            double r = residual(&out->points[i], out->affine);
            se += r * r;
            tmp[m++] = out->points[i].reliability;
        }
    out->nused = m;
    out->rmse_px = m ? sqrt(se / (double)m) : NAN;
    qsort(tmp, m, sizeof *tmp, cmp_double);
    out->reliability = m ? tmp[m / 2] : 0.0;
    out->cx = cx;
    out->cy = cy;
    out->dx = out->affine[0] + out->affine[1] * cx + out->affine[2] * cy;
    out->dy = out->affine[3] + out->affine[4] * cx + out->affine[5] * cy;
    shift_to_map(gt, out->dx, out->dy, &out->dx_map, &out->dy_map);
done:
    gd_pc_plan_destroy(plan);
    free(ra);
    free(ta);
    free(tmp);
    return st;
}

int gd_coreg_estimate(gd_job *job, GDALDatasetH ref, GDALDatasetH tgt,
                      const gd_coreg_params *p, gd_coreg_result *out)
{
    int st;
    src_band rb, tb;
    double gt[6];
    double t0 = gd_now();
    memset(out, 0, sizeof *out);
    out->mode = p->mode;
    const int W = GDALGetRasterXSize(ref), H = GDALGetRasterYSize(ref);
    if (GDALGetRasterXSize(tgt) != W || GDALGetRasterYSize(tgt) != H)
        return gd_job_error(job, GD_EPROC, "co-registration needs the target on the reference grid");
    if ((st = band_open(job, ref, p->ref_band, "reference", &rb)) != GD_OK ||
        (st = band_open(job, tgt, p->tgt_band, "target", &tb)) != GD_OK)
        return st;
    get_gt(ref, gt);
    if (p->mode == GD_COREG_LOCAL)
        st = estimate_local(job, &rb, &tb, W, H, gt, p, out);
    else
        st = estimate_global(job, &rb, &tb, W, H, gt, p, out);
    out->seconds = gd_now() - t0;
    return st;
}

json_t *gd_coreg_result_json(const gd_coreg_result *r, int with_points)
{
    json_t *o = json_pack("{s:s, s:i, s:{s:f, s:f}, s:{s:f, s:f}, s:f, s:f}",
                          "mode", r->mode == GD_COREG_LOCAL ? "local" : "global",
                          "window", r->window,
                          "shift_px", "x", r->dx, "y", r->dy,
                          "shift_map", "x", r->dx_map, "y", r->dy_map,
                          "reliability", r->reliability, "seconds", r->seconds);
    if (!o)
        return NULL;
    json_object_set_new(o, "window_centre_px", json_pack("[f, f]", r->cx, r->cy));
    if (r->mode == GD_COREG_GLOBAL) {
        json_object_set_new(o, "peak", json_real(r->peak));
    } else {
        json_t *a = json_array();
        for (int i = 0; i < 6; i++)
            json_array_append_new(a, json_real(r->affine[i]));
        json_object_set_new(o, "affine", a);
        json_object_set_new(o, "tie_points", json_integer((json_int_t)r->npoints));
        json_object_set_new(o, "tie_points_used", json_integer((json_int_t)r->nused));
        json_object_set_new(o, "rmse_px", isfinite(r->rmse_px) ? json_real(r->rmse_px) : json_null());
        if (with_points) {
            json_t *pts = json_array();
            for (size_t i = 0; i < r->npoints; i++) {
                const gd_coreg_point *pt = &r->points[i];
                json_array_append_new(pts, json_pack("{s:f, s:f, s:o, s:o, s:f, s:b}",
                    "x", pt->x, "y", pt->y,
                    "dx", isfinite(pt->dx) ? json_real(pt->dx) : json_null(),
                    "dy", isfinite(pt->dy) ? json_real(pt->dy) : json_null(),
                    "reliability", pt->reliability, "used", pt->used));
            }
            json_object_set_new(o, "points", pts);
        }
    }
    return o;
}

/* ---- applying ------------------------------------------------------------------------ */

int gd_coreg_apply(gd_job *job, GDALDatasetH ref, GDALDatasetH tgt, const gd_coreg_result *r,
                   GDALDatasetH *out)
{
    return gd_coreg_apply_field(job, ref, tgt, r->affine, 0, out);
}

int gd_coreg_apply_field(gd_job *job, GDALDatasetH ref, GDALDatasetH tgt, const double affine[6],
                         int nearest, GDALDatasetH *out)
{
    *out = NULL;
    double G[6], S[6];
    get_gt(ref, G);
    const int W = GDALGetRasterXSize(ref), H = GDALGetRasterYSize(ref);
    const char *wkt = GDALGetProjectionRef(ref);
    if (wkt && !*wkt)
        wkt = NULL;
    /* target pixel p = M x + t for reference pixel x (M = I + linear part of the field):
     * giving the target the geotransform G M^-1 (p - t) makes the warper sample it where
     * each reference pixel's content sits */
    const double *a = affine;
    double m11 = 1.0 + a[1], m12 = a[2], m21 = a[4], m22 = 1.0 + a[5];
    double det = m11 * m22 - m12 * m21;
    if (!(fabs(det) > 1e-6))
        return gd_job_error(job, GD_EPROC, "the co-registration fit is degenerate");
    double i11 = m22 / det, i12 = -m12 / det, i21 = -m21 / det, i22 = m11 / det;
    S[1] = G[1] * i11 + G[2] * i21;
    S[2] = G[1] * i12 + G[2] * i22;
    S[4] = G[4] * i11 + G[5] * i21;
    S[5] = G[4] * i12 + G[5] * i22;
    S[0] = G[0] - (S[1] * a[0] + S[2] * a[3]);
    S[3] = G[3] - (S[4] * a[0] + S[5] * a[3]);

    const int nb = GDALGetRasterCount(tgt);
    GDALWarpOptions *wo = GDALCreateWarpOptions();
    wo->hSrcDS = tgt;
    wo->nBandCount = nb;
    wo->panSrcBands = CPLMalloc(sizeof(int) * (size_t)nb);
    wo->panDstBands = CPLMalloc(sizeof(int) * (size_t)nb);
    wo->padfDstNoDataReal = CPLMalloc(sizeof(double) * (size_t)nb);
    int any_nodata = 0;
    for (int b = 0; b < nb; b++) {
        wo->panSrcBands[b] = wo->panDstBands[b] = b + 1;
        wo->padfDstNoDataReal[b] = NAN;
        int has = 0;
        GDALGetRasterNoDataValue(GDALGetRasterBand(tgt, b + 1), &has);
        any_nodata |= has;
    }
    if (any_nodata) {
        wo->padfSrcNoDataReal = CPLMalloc(sizeof(double) * (size_t)nb);
        for (int b = 0; b < nb; b++) {
            int has = 0;
            double v = GDALGetRasterNoDataValue(GDALGetRasterBand(tgt, b + 1), &has);
            wo->padfSrcNoDataReal[b] = has ? v : NAN;
        }
    }
    /* cubic keeps the texture of the target that bilinear would smooth into "change";
     * class bands (cloud masks) must keep their codes */
    wo->eResampleAlg = nearest ? GRA_NearestNeighbour : GRA_Cubic;
    wo->eWorkingDataType = GDT_Float32;
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "NO_DATA");
    wo->pTransformerArg = GDALCreateGenImgProjTransformer3(wkt, S, wkt, G);
    wo->pfnTransformer = GDALGenImgProjTransform;
    if (!wo->pTransformerArg) {
        GDALDestroyWarpOptions(wo);
        return gd_job_error_gdal(job, GD_EPROC, "cannot set up the co-registration transform");
    }
    CPLErrorReset();
    GDALDatasetH vrt = GDALCreateWarpedVRT(tgt, W, H, G, wo);
    if (!vrt) {
        GDALDestroyGenImgProjTransformer(wo->pTransformerArg);
        GDALDestroyWarpOptions(wo);
        return gd_job_error_gdal(job, GD_EPROC, "cannot build the co-registered target");
    }
    /* the VRT owns the transformer now */
    GDALDestroyWarpOptions(wo);
    if (wkt)
        GDALSetProjection(vrt, wkt);
    for (int b = 1; b <= nb; b++) {
        GDALRasterBandH sb = GDALGetRasterBand(tgt, b), db = GDALGetRasterBand(vrt, b);
        GDALSetRasterNoDataValue(db, NAN);
        GDALSetDescription(db, GDALGetDescription(sb));
        GDALSetRasterColorInterpretation(db, GDALGetRasterColorInterpretation(sb));
    }
    *out = vrt;
    return GD_OK;
}

/* ---- detect-chain hook ------------------------------------------------------------- */

int gd_coreg_chain(gd_job *job, const gd_coreg_opts *co, int sar, const int bands[2],
                   const gd_source *bs, GDALDatasetH ref, GDALDatasetH *tgt,
                   int *owned, double *applied_px, double applied_field[6])
{
    int m, st;
    const char *mode = co->mode;
    if (applied_px)
        *applied_px = 0.0;
    if (applied_field)
        memset(applied_field, 0, 6 * sizeof(double));
    if (!mode)
        m = !sar && bs->has_crs
                ? GD_COREG_GLOBAL
                : GD_COREG_NONE; /* SAR speckle defeats phase correlation on one window */
    else if (strcmp(mode, "none") == 0)
        m = GD_COREG_NONE;
    else if (strcmp(mode, "global") == 0)
        m = GD_COREG_GLOBAL;
    else if (strcmp(mode, "local") == 0)
        m = GD_COREG_LOCAL;
    else
        return gd_job_error(job, GD_EUSAGE, "--coreg '%s' is not none, global or local", mode);
    json_t *rec = json_pack("{s:s, s:s}", "requested", mode ? mode : "default",
                            "mode", m == GD_COREG_NONE ? "none" : m == GD_COREG_GLOBAL ? "global" : "local");
    json_object_set_new(gd_job_auto(job), "coreg", rec);
    json_object_set_new(gd_job_params(job), "coreg", mode ? json_string(mode) : json_null());
    if (m == GD_COREG_NONE)
        return GD_OK;
    int ref_band = bands[0], tgt_band = bands[1];
    json_object_set_new(rec, "bands", json_pack("{s:i, s:i}", "before", ref_band, "after", tgt_band));

    gd_coreg_params p;
    gd_coreg_params_init(&p);
    p.mode = m;
    if (co->window > 0) {
        p.window = co->window;
        p.local_window = co->window;
    }
    json_object_set_new(gd_job_params(job), "coreg_window",
                        co->window > 0 ? json_integer(co->window) : json_null());
    p.ref_band = ref_band;
    p.tgt_band = tgt_band;
    if (co->window <= 0 && m == GD_COREG_GLOBAL) {
        /* a small grid (an AOI) gets the largest power-of-two window that fits */
        int side = GDALGetRasterXSize(ref) < GDALGetRasterYSize(ref) ? GDALGetRasterXSize(ref)
                                                                     : GDALGetRasterYSize(ref);
        while (p.window > 64 && p.window > side)
            p.window /= 2;
    }
    gd_coreg_result r;
    st = gd_coreg_estimate(job, ref, *tgt, &p, &r);
    if (st != GD_OK && st != GD_ECANCEL && st != GD_EUSAGE && !r.read_failed) {
        /* a pair that cannot be matched is still worth comparing as it is; a file that
         * cannot be read is not */
        gd_job_warn(job, "co-registration skipped, images compared as they are: %s",
                    gd_job_message(job));
        json_object_set_new(rec, "applied", json_false());
        json_object_set_new(rec, "reason", json_string(gd_job_message(job)));
        gd_job_clear_error(job);
        gd_coreg_result_free(&r);
        return GD_OK;
    }
    if (st != GD_OK) {
        gd_coreg_result_free(&r);
        return st;
    }
    json_object_set_new(rec, "result", gd_coreg_result_json(&r, 0));
    /* the largest displacement of the fitted field over the grid's corners */
    double dmax = 0.0;
    {
        const double *a = r.affine;
        const double W = GDALGetRasterXSize(ref), H = GDALGetRasterYSize(ref);
        const double cx[4] = {0, W, 0, W}, cy[4] = {0, 0, H, H};
        for (int i = 0; i < 4; i++) {
            double ex = a[0] + a[1] * cx[i] + a[2] * cy[i], ey = a[3] + a[4] * cx[i] + a[5] * cy[i];
            dmax = fmax(dmax, fmax(fabs(ex), fabs(ey)));
        }
    }
    if (dmax < GD_COREG_MIN_APPLY_PX) {
        gd_job_say(job, "co-registration (%s): shift %.3f, %.3f px, reliability %.1f %%: below "
                        "%.2f px everywhere, not applied",
                   m == GD_COREG_GLOBAL ? "global" : "local", r.dx, r.dy, r.reliability,
                   GD_COREG_MIN_APPLY_PX);
        json_object_set_new(rec, "applied", json_false());
        json_object_set_new(rec, "reason", json_string("shift below 0.05 px everywhere: not worth a resampling"));
        gd_coreg_result_free(&r);
        return GD_OK;
    }
    GDALDatasetH corrected = NULL;
    if ((st = gd_coreg_apply(job, ref, *tgt, &r, &corrected)) != GD_OK) {
        gd_coreg_result_free(&r);
        return st;
    }
    json_object_set_new(rec, "applied", json_true());
    if (applied_px)
        *applied_px = dmax;
    if (applied_field)
        memcpy(applied_field, r.affine, 6 * sizeof(double));
    gd_job_say(job, "co-registration (%s): shift %.3f, %.3f px (%.2f, %.2f map units), "
                    "reliability %.1f %%",
               m == GD_COREG_GLOBAL ? "global" : "local", r.dx, r.dy, r.dx_map, r.dy_map,
               r.reliability);
    /* the corrected VRT holds a reference on the old target: hand ours over to it */
    if (*owned)
        GDALDereferenceDataset(*tgt);
    *tgt = corrected;
    *owned = 1;
    gd_coreg_result_free(&r);
    return GD_OK;
}
