/* sar.c: the SAR log-ratio score with speckle filtering and smoothing of the ratio, and the
 * MRF relabelling of its classes. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <cpl_error.h>
#include <gdal.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const speckle_names[] = {"none", "lee", "refined-lee", "gamma-map"};

/* ---- the speckle level: a first pass over both dates ----
 * gd_k_speckle_cu2's median over disjoint step x step windows, streamed: each strip
 * collects the windows whose top row is one of its own rows (the halo below holds the
 * rest of them) into its slot; the median of all slots is the whole-image value, exactly,
 * whatever the strips and the thread count. */
typedef struct cu2_pass {
    int win, step;
    float *vals[2];     /* per date: nstrips slots of cap floats each */
    size_t *nvals[2];   /* per date and strip: values in the slot */
    size_t cap;
} cu2_pass;

static int cu2_strip(void *user, const gd_strip *s)
{
    cu2_pass *c = user;
    int first = (s->y0 + c->step - 1) / c->step * c->step;
    for (int d = 0; d < 2; d++) {
        const float *in = d ? s->after[0] : s->before[0];
        float *v = c->vals[d] + (size_t)s->index * c->cap;
        size_t n = 0;
        for (int t = first; t < s->y0 + s->rows && t + c->step <= s->in_y0 + s->in_rows;
             t += c->step)
            n += gd_k_speckle_cu2_windows(in + (size_t)(t - s->in_y0) * (size_t)s->width,
                                          s->width, c->win, v + n);
        c->nvals[d][s->index] = n;
    }
    return GD_OK;
}

static gd_engine_spec levels_spec(const gd_grid *grid, const gd_band *before,
                                  const gd_band *after, cu2_pass *c)
{
    gd_engine_spec spec = {.grid = grid, .before = before, .after = after, .nb = 1,
                           .halo = c->step - 1, .fn = cu2_strip, .user = c};
    return spec;
}

/* The speckle levels' pass; with keep, it also keeps both dates for the score pass and
 * makes the map's panels (which need the raw bands in GDAL's cache). */
static int speckle_levels(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                          const gd_band *before, const gd_band *after, float cu2[2],
                          struct gd_engine_panels *panels, gd_score keep[2])
{
    int st = GD_OK;
    cu2_pass c = {.win = sp->speckle_window};
    c.step = 2 * (c.win / 2 > 0 ? c.win / 2 : 1) + 1;
    gd_engine_spec spec = levels_spec(grid, before, after, &c);
    if (keep) {
        spec.keep[0] = &keep[0];
        spec.keep[1] = &keep[1];
        spec.panels = panels;
    }
    int rows = 0, nstrips = gd_engine_strips(&spec, &rows);
    c.cap = (size_t)((rows + c.step - 1) / c.step) * (size_t)(grid->width / c.step + 1);
    for (int d = 0; d < 2; d++) {
        c.vals[d] = malloc(sizeof(float) * c.cap * (size_t)nstrips);
        c.nvals[d] = calloc((size_t)nstrips, sizeof(size_t));
        if (!c.vals[d] || !c.nvals[d]) {
            st = gd_job_error(job, GD_EPROC, "out of memory for the speckle level");
            goto done;
        }
    }
    if ((st = gd_engine_run(job, &spec)) != GD_OK)
        goto done;
    for (int d = 0; d < 2; d++) {
        /* the slots packed in strip order, then the median (order-free anyway) */
        size_t n = 0;
        for (int k = 0; k < nstrips; k++) {
            memmove(c.vals[d] + n, c.vals[d] + (size_t)k * c.cap,
                    sizeof(float) * c.nvals[d][k]);
            n += c.nvals[d][k];
        }
        cu2[d] = gd_k_speckle_cu2_median(c.vals[d], n);
    }
done:
    for (int d = 0; d < 2; d++) {
        free(c.vals[d]);
        free(c.nvals[d]);
    }
    return st;
}

int gd_sar_speckle_levels(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                          const gd_band *before, const gd_band *after, float cu2[2])
{
    return speckle_levels(job, sp, grid, before, after, cu2, NULL, NULL);
}

/* ---- the score: one streamed pass ----
 * Per strip: speckle filter of both dates, the ratio, the box mean. The strip is read
 * with a halo of speckle_window/2 + (nr_window/2) + smooth_window/2 rows, so every
 * window of every step sees what it sees in the whole image: the score is bit for bit
 * the whole-image one. */
typedef struct sar_pass {
    const gd_sar_params *sp;
    float cu2[2], eps;
    int hm;             /* rows of filtered values needed around the strip */
} sar_pass;

typedef struct sar_state {
    float *f[2];        /* filtered dates */
    float *r;           /* the raw ratio */
} sar_state;

static void sar_stop(void *user, void *state)
{
    (void)user;
    sar_state *t = state;
    if (!t)
        return;
    free(t->f[0]);
    free(t->f[1]);
    free(t->r);
    free(t);
}

static void *sar_start(void *user, int width, int max_in_rows)
{
    (void)user;
    size_t n = (size_t)width * (size_t)max_in_rows;
    sar_state *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->f[0] = malloc(sizeof(float) * n);
    t->f[1] = malloc(sizeof(float) * n);
    t->r = malloc(sizeof(float) * n);
    if (!t->f[0] || !t->f[1] || !t->r) {
        sar_stop(user, t);
        return NULL;
    }
    return t;
}

static int sar_generate(void *user, void *state, const gd_strip *s)
{
    const sar_pass *c = user;
    const gd_sar_params *sp = c->sp;
    sar_state *t = state;
    const int w = s->width, in_end = s->in_y0 + s->in_rows;
    /* grid rows [f0, f1) are filtered: the strip and hm rows around it */
    int f0 = s->y0 - c->hm > s->in_y0 ? s->y0 - c->hm : s->in_y0;
    int f1 = s->y0 + s->rows + c->hm < in_end ? s->y0 + s->rows + c->hm : in_end;
    const int fr = f1 - f0;
    const float *f[2];
    for (int d = 0; d < 2; d++) {
        const float *in = d ? s->after[0] : s->before[0];
        if (sp->speckle == GD_SPECKLE_NONE) {
            f[d] = in + (size_t)(f0 - s->in_y0) * (size_t)w;
            continue;
        }
        gd_k_speckle((gd_speckle)sp->speckle, in, w, s->in_rows, sp->speckle_window,
                     c->cu2[d], f0 - s->in_y0, f1 - s->in_y0, t->f[d]);
        f[d] = t->f[d];
    }
    if (sp->nr_window > 1)
        gd_k_nratio(f[0], f[1], w, fr, sp->nr_window, c->eps, t->r);
    else
        gd_k_logratio(f[0], f[1], c->eps, t->r, (size_t)w * (size_t)fr);
    if (sp->smooth_window > 1)
        gd_k_box_mean(t->r, w, fr, sp->smooth_window, s->y0 - f0, s->y0 - f0 + s->rows, s->out);
    else
        memcpy(s->out, t->r + (size_t)(s->y0 - f0) * (size_t)w,
               sizeof(float) * (size_t)w * (size_t)s->rows);
    return GD_OK;
}

int gd_detect_sar(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                  const gd_band *before, const gd_band *after, float eps,
                  struct gd_engine_panels *panels, gd_score *out)
{
    int st = GD_OK;
    json_t *cu2 = json_object();
    sar_pass c = {.sp = sp, .eps = eps};
    gd_score kept[2];
    memset(kept, 0, sizeof kept);
    int keep = 0;
    memset(out, 0, sizeof *out);
    if (!cu2)
        return gd_job_error(job, GD_EPROC, "out of memory");
    c.hm = (sp->nr_window > 1 ? sp->nr_window / 2 : 0) +
           (sp->smooth_window > 1 ? sp->smooth_window / 2 : 0);
    int hs = sp->speckle != GD_SPECKLE_NONE ? sp->speckle_window / 2 : 0;
    gd_engine_spec spec = {.grid = grid, .before = before, .after = after, .nb = 1,
                           .halo = hs + c.hm, .user = &c, .start = sar_start,
                           .generate = sar_generate, .stop = sar_stop, .panels = panels};
    if (sp->speckle != GD_SPECKLE_NONE) {
        /* The levels' pass decodes both dates already: it keeps them (in memory or in
         * temporary files) so that the score pass does not decode them again, and makes
         * the map's panels, which its strips must then cut as the score pass's would (the
         * boxes split between strips are summed per strip) */
        cu2_pass lc = {.win = sp->speckle_window};
        lc.step = 2 * (lc.win / 2 > 0 ? lc.win / 2 : 1) + 1;
        gd_engine_spec ls = levels_spec(grid, before, after, &lc);
        int r1 = 0, r2 = 0;
        gd_engine_strips(&ls, &r1);
        gd_engine_strips(&spec, &r2);
        keep = r1 == r2;
        if ((st = speckle_levels(job, sp, grid, before, after, c.cu2, panels,
                                 keep ? kept : NULL)) != GD_OK)
            goto done;
        if (keep) {
            spec.kept[0] = &kept[0];
            spec.kept[1] = &kept[1];
            spec.panels = NULL;
        }
        static const char *const label[2] = {"before", "after"};
        for (int d = 0; d < 2; d++) {
            if (!(c.cu2[d] > 0.0f)) {
                /* no homogeneous window to learn from: a nominal single-look amplitude level */
                c.cu2[d] = 0.2732f;
                gd_job_warn(job, "%s image: speckle level not measurable, using single-look %g",
                            label[d], c.cu2[d]);
            }
            json_object_set_new(cu2, label[d], json_real(c.cu2[d]));
        }
    }
    /* the engine keeps the score in memory when it fits --mem, else in a temporary file,
     * and reports "no valid pixel" itself */
    if ((st = gd_engine_score(job, &spec, out)) != GD_OK)
        goto done;
    json_object_set_new(gd_job_auto(job), "sar",
                        json_pack("{s:s, s:i, s:o, s:s, s:i, s:i}", "speckle",
                                  speckle_names[sp->speckle], "speckle_window",
                                  sp->speckle_window, "speckle_cu2", cu2, "score",
                                  sp->nr_window > 1 ? "nr" : "ratio", "nr_window",
                                  sp->nr_window > 1 ? sp->nr_window : 0, "smooth_window",
                                  sp->smooth_window > 1 ? sp->smooth_window : 1));
    cu2 = NULL;
done:
    gd_score_free(&kept[0]);
    gd_score_free(&kept[1]);
    json_decref(cu2);
    return st;
}

/* ---- the SAR decisions on tiles ----
 * FLICM and the MRF iterate over the whole image. Up to TILE_ROWS rows they run on it as
 * before; a taller grid is cut into tiles of TILE_ROWS whole rows, run on the worker
 * threads, with the score read tile by tile (from memory or from its temporary file), so
 * that they hold a few tiles instead of 9 bytes a pixel. FLICM keeps its global algorithm
 * (flicm_tiled below). The MRF's tiles overlap by TILE_HALO rows and each gives only its
 * core rows; they keep the global class model and run in two colours (even tiles, then
 * odd ones) so that a tile reads its halo's labels either untouched or final, whatever the
 * thread count. ICM carries information one pixel a sweep and stops after 2 to 20 sweeps
 * on the SAR pairs, so the overlap hides the tiles' edges (on the accuracy pairs cut into
 * 64-row tiles the labels are bit-identical). Tiles depend on the image's size only, never
 * on --mem, the storage of the score or the thread count. */
#define TILE_ROWS 512
#define TILE_HALO 32
#define TILE_MIN_ROWS 64

typedef struct tile_job tile_job;
/* one tile: x = score rows [a, b) (core rows [c0, c1)), work space in bufs */
typedef int (*tile_fn)(tile_job *tj, int k, const float *x, int a, int b, int c0, int c1,
                       float *u1, float *tmp, uint8_t *lab);

/* a worker's buffers; FLICM keeps them from sweep to sweep (fresh ones each sweep cost
 * a page fault per 4 KiB touched) */
typedef struct tile_bufs {
    float *xbuf, *u1, *tmp;
    uint8_t *lab;
    size_t cap;             /* the values each holds */
} tile_bufs;

static void tile_bufs_free(tile_bufs *tb, int n)
{
    for (int i = 0; tb && i < n; i++) {
        free(tb[i].xbuf);
        free(tb[i].u1);
        free(tb[i].tmp);
        free(tb[i].lab);
    }
}

struct tile_job {
    const gd_score *s;
    int rows, halo, ntiles, colours, colour, next, err;
    pthread_mutex_t mu;     /* the tile counter and the score file's one handle */
    size_t cap;             /* floats per work buffer */
    int need_f;             /* the tile function uses u1 and tmp */
    tile_fn fn;
    void *ctx;
    tile_bufs *keep;        /* NULL, or a slot per thread kept by the caller */
    int slot;               /* the next slot of keep */
};

static void *tile_worker(void *arg)
{
    tile_job *tj = arg;
    const gd_score *s = tj->s;
    const int w = s->width, h = s->height;
    tile_bufs own = {NULL, NULL, NULL, NULL, 0}, *tb = &own;
    if (tj->keep) {
        pthread_mutex_lock(&tj->mu);
        tb = &tj->keep[tj->slot++];
        pthread_mutex_unlock(&tj->mu);
        if (tb->cap < tj->cap) {
            /* tiles with a halo need more than the ones before them */
            tile_bufs_free(tb, 1);
            memset(tb, 0, sizeof *tb);
        }
    }
    tb->cap = tj->cap;
    if (!s->data && !tb->xbuf)
        tb->xbuf = malloc(sizeof(float) * tj->cap);
    if (tj->need_f && !tb->u1)
        tb->u1 = malloc(sizeof(float) * tj->cap);
    if (tj->need_f && !tb->tmp)
        tb->tmp = malloc(sizeof(float) * tj->cap);
    if (!tb->lab)
        tb->lab = malloc(tj->cap);
    float *xbuf = tb->xbuf, *u1 = tb->u1, *tmp = tb->tmp;
    uint8_t *lab = tb->lab;
    int bad = !lab || (!s->data && !xbuf) || (tj->need_f && (!u1 || !tmp));
    for (;;) {
        pthread_mutex_lock(&tj->mu);
        if (bad && !tj->err)
            tj->err = GD_EPROC;
        int k = -1;
        while (!tj->err && tj->next < tj->ntiles) {
            int c = tj->next++;
            if (c % tj->colours == tj->colour) {
                k = c;
                break;
            }
        }
        pthread_mutex_unlock(&tj->mu);
        if (k < 0)
            break;
        int c0 = k * tj->rows, c1 = c0 + tj->rows < h ? c0 + tj->rows : h;
        int a = c0 - tj->halo < 0 ? 0 : c0 - tj->halo;
        int b = c1 + tj->halo > h ? h : c1 + tj->halo;
        const float *x = s->data ? s->data + (size_t)a * (size_t)w : xbuf;
        int rc = GD_OK;
        if (!s->data) {
            pthread_mutex_lock(&tj->mu);
            CPLErrorReset();
            if (GDALRasterIO(GDALGetRasterBand(s->file, 1), GF_Read, 0, a, w, b - a, xbuf, w,
                             b - a, GDT_Float32, 0, 0) != CE_None)
                rc = GD_EINPUT;
            pthread_mutex_unlock(&tj->mu);
        }
        if (rc == GD_OK)
            rc = tj->fn(tj, k, x, a, b, c0, c1, u1, tmp, lab);
        if (rc != GD_OK) {
            pthread_mutex_lock(&tj->mu);
            if (!tj->err)
                tj->err = rc;
            pthread_mutex_unlock(&tj->mu);
            break;
        }
    }
    if (!tj->keep)
        tile_bufs_free(&own, 1);
    return NULL;
}

/* Rows per tile: the whole grid up to TILE_ROWS rows, else tiles of TILE_ROWS rows, so
 * that the labels depend on the image only, never on --mem, the storage of the score or
 * the thread count. GEODELTA_TILE_ROWS (>= TILE_MIN_ROWS) overrides TILE_ROWS: the
 * accuracy suite uses it to measure what tiling does on images smaller than a tile. */
static int tile_rows(const gd_score *s)
{
    long rows = TILE_ROWS;
    const char *env = getenv("GEODELTA_TILE_ROWS");
    if (env && *env) {
        long v = strtol(env, NULL, 10);
        rows = v < TILE_MIN_ROWS ? TILE_MIN_ROWS : v;
    }
    return s->height <= rows ? s->height : (int)rows;
}

/* Threads for tiles of rows rows holding bytes_px bytes per pixel (and the score rows when
 * it is in its file): as many as the job has while their tiles fit half of --mem, at least
 * one (a tile that alone exceeds it runs anyway, with a warning). */
static int tile_threads(gd_job *job, const gd_score *s, int rows, size_t bytes_px,
                        const char *what)
{
    double budget = (double)(gd_job_mem_mb(job) > 0 ? gd_job_mem_mb(job) : 1024) * 1048576.0 / 2;
    int hrows = rows + 2 * TILE_HALO < s->height ? rows + 2 * TILE_HALO : s->height;
    double per = (double)s->width * hrows * (double)(bytes_px + (s->data ? 0 : sizeof(float)));
    int n = gd_job_threads(job) > 0 ? gd_job_threads(job) : 1;
    while (n > 1 && per * n > budget)
        n--;
    if (per > budget)
        gd_job_warn(job, "%s: a tile of %d rows takes %.0f MiB, more than half of --mem %d",
                    what, hrows, per / 1048576.0, gd_job_mem_mb(job));
    return n;
}

/* Runs fn over the tiles of s, colours at a time, on nthreads threads (tile_threads);
 * with keep (nthreads slots, zeroed the first time), the workers' buffers stay there for
 * the next call, on the same tiles' sizes (the caller frees them). */
static int run_tiles(gd_job *job, const gd_score *s, int rows, int halo, int colours,
                     int need_f, int nthreads, tile_fn fn, void *ctx, const char *what,
                     tile_bufs *keep)
{
    tile_job tj = {.s = s, .rows = rows, .halo = halo, .colours = colours, .need_f = need_f,
                   .fn = fn, .ctx = ctx, .keep = keep};
    tj.ntiles = (s->height + rows - 1) / rows;
    int hrows = rows + 2 * halo < s->height ? rows + 2 * halo : s->height;
    tj.cap = (size_t)s->width * (size_t)hrows;
    if (nthreads > tj.ntiles)
        nthreads = tj.ntiles;
    if (nthreads > 64)
        nthreads = 64;
    pthread_mutex_init(&tj.mu, NULL);
    for (tj.colour = 0; tj.colour < colours && !tj.err; tj.colour++) {
        pthread_t th[64];
        int started = 0;
        tj.next = 0;
        tj.slot = 0;
        /* the calling thread is one of the workers */
        for (int t = 1; t < nthreads; t++, started++)
            if (pthread_create(&th[t - 1], NULL, tile_worker, &tj) != 0)
                break;
        tile_worker(&tj);
        for (int t = 0; t < started; t++)
            pthread_join(th[t], NULL);
    }
    pthread_mutex_destroy(&tj.mu);
    if (tj.err == GD_EINPUT)
        return gd_job_error_gdal(job, GD_EPROC, "%s: cannot read the temporary score %s", what,
                                 s->file_path ? s->file_path : "(none)");
    if (tj.err)
        return gd_job_error(job, tj.err, "%s: out of memory for its tiles", what);
    return GD_OK;
}

/* gd_k_split_stats of a score in memory or in its file, the same bits either way. */
static int split_stats(gd_job *job, const gd_score *s, int two_sided, double t, double mu[2],
                       double *sigma, int *rc)
{
    *rc = GD_OK;
    if (s->data)
        return gd_k_split_stats(s->data, (size_t)s->width * (size_t)s->height, two_sided, t,
                                mu, sigma);
    int step = gd_score_strip_rows(s);
    float *buf = malloc(sizeof(float) * (size_t)s->width * (size_t)step);
    double sum[2] = {0.0, 0.0}, c[2] = {0.0, 0.0}, ss = 0.0;
    int ret = -1;
    if (!buf) {
        *rc = gd_job_error(job, GD_EPROC, "out of memory");
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < s->height; y += step) {
            int rows = s->height - y < step ? s->height - y : step;
            const float *x = gd_score_rows(job, s, y, rows, buf);
            if (!x) {
                *rc = gd_job_status(job);
                goto done;
            }
            size_t n = (size_t)s->width * (size_t)rows;
            if (pass == 0)
                gd_k_split_sums(x, n, two_sided, t, sum, c);
            else
                gd_k_split_ss(x, n, two_sided, t, mu, &ss);
        }
        if (pass == 0) {
            if (c[0] == 0.0 || c[1] == 0.0)
                goto done;
            mu[0] = sum[0] / c[0];
            mu[1] = sum[1] / c[1];
        }
    }
    *sigma = sqrt(ss / (c[0] + c[1]));
    ret = *sigma > 0.0 && isfinite(*sigma) ? 0 : -1;
done:
    free(buf);
    return ret;
}

/* Tiled decisions say so in their record (a whole-image one records what it always did). */
static void record_tiles(json_t *rec, int ntiles, int rows)
{
    json_object_set_new(rec, "tiles", json_integer(ntiles));
    json_object_set_new(rec, "tile_rows", json_integer(rows));
    json_object_set_new(rec, "tile_overlap", json_integer(TILE_HALO));
}

static inline uint8_t side_class(uint8_t l, int two_sided, float x)
{
    /* two-sided: the side of a change pixel is its score's sign */
    return l == 0 ? 0 : !two_sided ? 1 : x < 0.0f ? 1 : 2;
}

#define FLICM_MAX_ITER 100
#define FLICM_TOL 1e-3

/* FLICM on tiles: the whole image's Jacobi sweeps, tile by tile. Each sweep every tile
 * computes its core rows' new memberships from the previous sweep's (its own rows and the
 * row just above and below, saved before the sweep), all with the same centres, which are
 * then updated from the tiles' sums added in tile order. That is gd_k_flicm's algorithm;
 * only the memberships are kept between sweeps as 16-bit fractions (2 bytes a pixel
 * instead of 8) and the sums are added in another order. */
#define U_ONE 65535.0f
enum { FL_INIT, FL_SWEEP, FL_LABEL };

typedef struct flicm_ctx {
    int two_sided, mode, rows;
    double v[2];        /* this sweep's centres */
    uint16_t *u;        /* memberships of class 1 x U_ONE after the last sweep */
    uint16_t *edge;     /* per tile: the last sweep's row above and row below its core */
    double *sums;       /* per tile: gd_k_flicm_sweep's sums */
    double *dmax;       /* per tile */
    uint8_t *classes;
} flicm_ctx;

static int flicm_tile(tile_job *tj, int k, const float *x, int a, int b, int c0, int c1,
                      float *u1, float *tmp, uint8_t *lab)
{
    (void)lab;
    flicm_ctx *f = tj->ctx;
    const size_t w = (size_t)tj->s->width;
    const float *xc = x + (size_t)(c0 - a) * w;
    uint16_t *uc = f->u + (size_t)c0 * w;
    size_t n = (size_t)(c1 - c0) * w;
    if (f->mode == FL_INIT) {
        /* the hard split at the midpoint of the initial centres */
        double mid = 0.5 * (f->v[0] + f->v[1]);
        for (size_t i = 0; i < n; i++) {
            double q = f->two_sided ? fabs((double)xc[i]) : (double)xc[i];
            uc[i] = isfinite(xc[i]) && q >= mid ? (uint16_t)U_ONE : 0;
        }
        return GD_OK;
    }
    if (f->mode == FL_LABEL) {
        for (size_t i = 0; i < n; i++)
            if (isfinite(xc[i]))
                f->classes[(size_t)c0 * w + i] =
                    side_class(uc[i] > 32767, f->two_sided, xc[i]);
        return GD_OK;
    }
    /* the previous memberships of rows [a, b): the core from u, the rows around it as
     * they were before this sweep */
    for (int y = a; y < b; y++) {
        const uint16_t *src = y < c0 ? f->edge + (size_t)k * 2 * w
                            : y >= c1 ? f->edge + ((size_t)k * 2 + 1) * w
                                      : f->u + (size_t)y * w;
        gd_k_u16_to_unit(src, w, u1 + (size_t)(y - a) * w);
    }
    gd_k_flicm_sweep(x, u1, (int)w, b - a, f->two_sided, f->v, c0 - a, c1 - a, tmp,
                     &f->dmax[k], f->sums + 4 * k);
    gd_k_unit_to_u16(tmp, n, uc);
    return GD_OK;
}

/* Tiled FLICM from the centres v (updated); returns the sweeps run or a GD_E* code. */
static int flicm_tiled(gd_job *job, const gd_score *s, int rows, int two_sided, double v[2],
                       uint8_t *classes, int *iters)
{
    int st = GD_OK, nthreads = 0;
    tile_bufs *bufs = NULL;
    const size_t w = (size_t)s->width;
    int ntiles = (s->height + rows - 1) / rows;
    flicm_ctx f = {.two_sided = two_sided, .rows = rows, .v = {v[0], v[1]},
                   .classes = classes};
    f.u = malloc(sizeof(uint16_t) * w * (size_t)s->height);
    f.edge = malloc(sizeof(uint16_t) * 2 * w * (size_t)ntiles);
    f.sums = calloc(4 * (size_t)ntiles, sizeof(double));
    f.dmax = calloc((size_t)ntiles, sizeof(double));
    if (!f.u || !f.edge || !f.sums || !f.dmax) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the FLICM memberships");
        goto done;
    }
    /* u1 and tmp per tile (and its score rows when the score is in its file) */
    nthreads = tile_threads(job, s, rows, 2 * sizeof(float), "FLICM");
    if (!(bufs = calloc((size_t)nthreads, sizeof *bufs))) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the FLICM memberships");
        goto done;
    }
    f.mode = FL_INIT;
    if ((st = run_tiles(job, s, rows, 0, 1, 0, nthreads, flicm_tile, &f, "FLICM", bufs)) !=
        GD_OK)
        goto done;
    int it = 0;
    f.mode = FL_SWEEP;
    while (it < FLICM_MAX_ITER) {
        it++;
        for (int k = 0; k < ntiles; k++) {
            int c0 = k * rows, c1 = c0 + rows < s->height ? c0 + rows : s->height;
            if (c0 > 0)
                memcpy(f.edge + (size_t)k * 2 * w, f.u + (size_t)(c0 - 1) * w, 2 * w);
            if (c1 < s->height)
                memcpy(f.edge + ((size_t)k * 2 + 1) * w, f.u + (size_t)c1 * w, 2 * w);
        }
        if ((st = run_tiles(job, s, rows, 1, 1, 1, nthreads, flicm_tile, &f, "FLICM", bufs)) !=
            GD_OK)
            goto done;
        double t4[4] = {0.0, 0.0, 0.0, 0.0}, dmax = 0.0;
        for (int k = 0; k < ntiles; k++) {
            for (int j = 0; j < 4; j++)
                t4[j] += f.sums[4 * k + j]; /* in tile order: any thread count */
            dmax = f.dmax[k] > dmax ? f.dmax[k] : dmax;
        }
        if (t4[1] > 0.0)
            f.v[0] = t4[0] / t4[1];
        if (t4[3] > 0.0)
            f.v[1] = t4[2] / t4[3];
        if (dmax < FLICM_TOL)
            break;
    }
    f.mode = FL_LABEL;
    if ((st = run_tiles(job, s, rows, 0, 1, 0, nthreads, flicm_tile, &f, "FLICM", bufs)) !=
        GD_OK)
        goto done;
    v[0] = f.v[0];
    v[1] = f.v[1];
    *iters = it;
done:
    tile_bufs_free(bufs, nthreads);
    free(bufs);
    free(f.u);
    free(f.edge);
    free(f.sums);
    free(f.dmax);
    return st;
}

/* FLICM on the whole image (the score in memory, or loaded a tile of all rows). */
typedef struct flicm_whole {
    int two_sided, it;
    double v[2];
    uint8_t *classes;
} flicm_whole;

static int flicm_whole_tile(tile_job *tj, int k, const float *x, int a, int b, int c0, int c1,
                            float *u1, float *tmp, uint8_t *lab)
{
    (void)k;
    (void)c0;
    (void)c1;
    flicm_whole *f = tj->ctx;
    size_t n = (size_t)tj->s->width * (size_t)(b - a);
    f->it = gd_k_flicm(x, tj->s->width, b - a, f->two_sided, f->v, FLICM_MAX_ITER, FLICM_TOL,
                       u1, tmp, lab);
    if (f->it < 0)
        return GD_EPROC;
    for (size_t i = 0; i < n; i++)
        if (lab[i] != 255)
            f->classes[i] = side_class(lab[i], f->two_sided, x[i]);
    return GD_OK;
}

int gd_sar_decide(gd_job *job, int decision, double low, const gd_score *s, double t,
                  int two_sided, uint8_t *classes)
{
    json_t *rec = NULL;
    if (decision == GD_SAR_THRESHOLD) {
        json_object_set_new(gd_job_auto(job), "sar_decision",
                            json_pack("{s:s}", "mode", "threshold"));
        return GD_OK;
    }
    int st = GD_OK;
    if (decision == GD_SAR_HYSTERESIS) {
        /* streamed: two passes over the score's strips (in memory or in its file) with a
         * union-find of the components, the flood fill's labels in bounded memory */
        int step = gd_score_strip_rows(s);
        size_t grown = 0;
        float *buf = s->data ? NULL : malloc(sizeof(float) * (size_t)s->width * (size_t)step);
        uint8_t *lab = malloc((size_t)s->width * (size_t)step);
        gd_k_hyst *hy = gd_k_hyst_create(s->width);
        if ((!s->data && !buf) || !lab || !hy) {
            st = gd_job_error(job, GD_EPROC, "out of memory for the hysteresis");
            goto hyst_done;
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int y = 0; y < s->height; y += step) {
                int rows = s->height - y < step ? s->height - y : step;
                const float *x = gd_score_rows(job, s, y, rows, buf);
                if (!x) {
                    st = gd_job_status(job);
                    goto hyst_done;
                }
                int rc = pass == 0
                             ? gd_k_hyst_scan(hy, x, rows, two_sided, low * t, t)
                             : gd_k_hyst_label(hy, x, rows, two_sided, low * t, t, lab);
                if (rc != 0) {
                    st = gd_job_error(job, GD_EPROC, "out of memory for the hysteresis");
                    goto hyst_done;
                }
                if (pass == 1) {
                    uint8_t *cl = classes + (size_t)y * (size_t)s->width;
                    size_t m = (size_t)s->width * (size_t)rows;
                    for (size_t i = 0; i < m; i++)
                        if (lab[i] != 255)
                            cl[i] = side_class(lab[i], two_sided, x[i]);
                }
            }
        }
        grown = gd_k_hyst_grown(hy);
    hyst_done:
        gd_k_hyst_destroy(hy);
        free(lab);
        free(buf);
        if (st != GD_OK)
            return st;
        gd_job_say(job, "hysteresis: %zu pixels grown from the change above %g into %g", grown,
                   t, low * t);
        rec = json_pack("{s:s, s:f, s:f, s:f, s:I}", "mode", "hysteresis", "low_fraction", low,
                        "high", t, "low", low * t, "grown", (json_int_t)grown);
        json_object_set_new(gd_job_auto(job), "sar_decision", rec);
        return GD_OK;
    }
    double mu[2], sigma;
    if (split_stats(job, s, two_sided, t, mu, &sigma, &st) != 0) {
        if (st != GD_OK)
            return st;
        /* one class empty: nothing to cluster, the threshold's classes stay */
        gd_job_warn(job, "FLICM skipped: the threshold %g leaves one class empty", t);
        json_object_set_new(gd_job_auto(job), "sar_decision",
                            json_pack("{s:s, s:b}", "mode", "flicm", "skipped", 1));
        return GD_OK;
    }
    int rows = tile_rows(s);
    int ntiles = (s->height + rows - 1) / rows, it = 0;
    double v[2] = {mu[0], mu[1]};
    if (ntiles == 1) {
        /* up to TILE_ROWS rows: on the whole image as always */
        flicm_whole f = {.two_sided = two_sided, .v = {mu[0], mu[1]}, .classes = classes};
        if ((st = run_tiles(job, s, rows, 0, 1, 1,
                            tile_threads(job, s, rows, 2 * sizeof(float) + 1, "FLICM"),
                            flicm_whole_tile, &f, "FLICM", NULL)) != GD_OK)
            return st;
        it = f.it;
        v[0] = f.v[0];
        v[1] = f.v[1];
        gd_job_say(job, "FLICM: centres %.4g / %.4g after %d sweeps", v[0], v[1], it);
    } else {
        if ((st = flicm_tiled(job, s, rows, two_sided, v, classes, &it)) != GD_OK)
            return st;
        gd_job_say(job, "FLICM on %d tiles of %d rows: centres %.4g / %.4g after %d sweeps",
                   ntiles, rows, v[0], v[1], it);
    }
    rec = json_pack("{s:s, s:f, s:f, s:f, s:f, s:i, s:i, s:f, s:i}", "mode", "flicm",
                    "init_no_change", mu[0], "init_change", mu[1], "centre_no_change", v[0],
                    "centre_change", v[1], "iterations", it, "max_iterations", FLICM_MAX_ITER,
                    "tolerance", FLICM_TOL, "fuzzifier", 2);
    if (ntiles > 1) {
        json_object_set_new(rec, "tiles", json_integer(ntiles));
        json_object_set_new(rec, "tile_rows", json_integer(rows));
        json_object_set_new(rec, "memberships", json_string("uint16 between sweeps"));
    }
    json_object_set_new(gd_job_auto(job), "sar_decision", rec);
    return GD_OK;
}

/* ICM stops long before this on the SAR pairs (2 to 20 sweeps); a cap keeps the time
 * bounded on an image that oscillates */
#define MRF_MAX_ITER 30

typedef struct mrf_ctx {
    int two_sided;
    double mu[2], sigma, beta, bias;
    uint8_t *classes;
    int *iters;         /* per tile */
    size_t *flips;      /* per tile (halo rows included) */
} mrf_ctx;

static int mrf_tile(tile_job *tj, int k, const float *x, int a, int b, int c0, int c1,
                    float *u1, float *tmp, uint8_t *lab)
{
    (void)u1;
    (void)tmp;
    mrf_ctx *m = tj->ctx;
    const size_t w = (size_t)tj->s->width;
    const uint8_t *in = m->classes + (size_t)a * w;
    for (size_t i = 0, n = (size_t)(b - a) * w; i < n; i++)
        lab[i] = in[i] == 255 ? 255 : in[i] != 0;
    int it = gd_k_icm_potts_bias(x, (int)w, b - a, m->two_sided, m->mu, m->sigma, m->beta,
                                 m->bias, MRF_MAX_ITER, lab, &m->flips[k]);
    m->iters[k] = it;
    if (it < 0)
        return GD_EPROC;
    size_t off = (size_t)(c0 - a) * w, n = (size_t)(c1 - c0) * w;
    uint8_t *cl = m->classes + (size_t)c0 * w;
    for (size_t i = 0; i < n; i++)
        if (lab[off + i] != 255)
            cl[i] = side_class(lab[off + i], m->two_sided, x[off + i]);
    return GD_OK;
}

int gd_sar_mrf(gd_job *job, double beta, double bias, const gd_score *s, double t, int two_sided,
               uint8_t *classes)
{
    if (!(beta > 0.0)) {
        json_object_set_new(gd_job_auto(job), "mrf", json_pack("{s:f}", "beta", 0.0));
        return GD_OK;
    }
    int st = GD_OK;
    mrf_ctx m = {.two_sided = two_sided, .beta = beta, .bias = bias, .classes = classes};
    /* class statistics of the threshold's split (|score| when two-sided) */
    if (split_stats(job, s, two_sided, t, m.mu, &m.sigma, &st) != 0) {
        if (st != GD_OK)
            return st;
        gd_job_warn(job, "MRF skipped: the threshold %g leaves one class empty or without "
                         "spread", t);
        json_object_set_new(gd_job_auto(job), "mrf",
                            json_pack("{s:f, s:b}", "beta", beta, "skipped", 1));
        return GD_OK;
    }
    if (!(m.sigma > 0.0) || !isfinite(bias))
        return gd_job_error(job, GD_EPROC, "MRF: invalid model (sigma %g, beta %g)", m.sigma,
                            beta);
    int rows = tile_rows(s);
    int ntiles = (s->height + rows - 1) / rows;
    m.iters = calloc((size_t)ntiles, sizeof(int));
    m.flips = calloc((size_t)ntiles, sizeof(size_t));
    if (!m.iters || !m.flips) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the MRF labels");
        goto done;
    }
    /* two colours: a tile's halo is never written while it is read */
    if ((st = run_tiles(job, s, rows, TILE_HALO, 2, 0,
                         tile_threads(job, s, rows, 1, "MRF"), mrf_tile, &m, "MRF", NULL)) !=
        GD_OK)
        goto done;
    int it = 0;
    size_t flips = 0;
    for (int k = 0; k < ntiles; k++) {
        it = m.iters[k] > it ? m.iters[k] : it;
        flips += m.flips[k];
    }
    gd_job_say(job, "MRF (beta %g): class means %.4g / %.4g, sigma %.4g; %zu pixels "
                    "relabelled in %d ICM sweeps", beta, m.mu[0], m.mu[1], m.sigma, flips, it);
    json_t *rec = json_pack("{s:f, s:f, s:s, s:f, s:f, s:f, s:b, s:i, s:i, s:I}", "beta", beta,
                            "bias", bias, "model",
                            "homoscedastic gaussian from the threshold split", "mean_no_change",
                            m.mu[0], "mean_change", m.mu[1], "sigma", m.sigma, "on_abs_score",
                            two_sided, "iterations", it, "max_iterations", MRF_MAX_ITER,
                            "relabelled", (json_int_t)flips);
    if (ntiles > 1)
        record_tiles(rec, ntiles, rows);
    json_object_set_new(gd_job_auto(job), "mrf", rec);
done:
    free(m.iters);
    free(m.flips);
    return st;
}
