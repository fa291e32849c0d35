/* monitor.c: `geodelta monitor`: per-pixel baselines, per-date tests, alerts that confirm
 * themselves, and the state that lets the next run process only the new dates. */
#include "monitor_int.h"

#include "geodelta/engine.h"
#include "geodelta/files.h"
#include "geodelta/provenance.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <errno.h>
#include <gd_kernels.h>
#include <gd_timeseries.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the state's layout in the parameters: 3, kept in alerts.gpkg (state.c) */
#define STATE_MAGIC "gpkg-3"
/* the methods: a kind (its ops, mkind_*.c), a default direction and the band roles */
static const struct {
    const char *name;
    const gd_mon_kind *ops;
    int dir;
    const char *roles[2];
} methods[] = {
    {"sar", &gd_mon_kind_sar, GD_MON_DIR_BOTH, {"sar", NULL}},
    {"value", &gd_mon_kind_value, GD_MON_DIR_DECREASE, {NULL, NULL}},
    {"ndvi", &gd_mon_kind_index, GD_MON_DIR_DECREASE, {"nir", "red"}},
    {"nbr", &gd_mon_kind_index, GD_MON_DIR_DECREASE, {"nir", "swir2"}},
    {"mndwi", &gd_mon_kind_index, GD_MON_DIR_INCREASE, {"green", "swir1"}},
    {"ndmi", &gd_mon_kind_index, GD_MON_DIR_DECREASE, {"nir", "swir1"}},
};

int gd_monitor_method(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (name && strcmp(methods[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *gd_monitor_method_names(void) { return "sar, value, ndvi, nbr, mndwi or ndmi"; }

void gd_monitor_params_init(gd_monitor_params *p)
{
    memset(p, 0, sizeof *p);
    p->confirm = 2;
    p->window = 4;
    p->p_value = 0.01;
    p->enl = 0.0; /* auto */
    p->min_baseline = 3;
}

static const char *dir_name(int d)
{
    return d == GD_MON_DIR_DECREASE ? "decrease" : d == GD_MON_DIR_INCREASE ? "increase" : "both";
}

static void ymd_text(int32_t d, char buf[16])
{
    snprintf(buf, 16, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100));
}

/* years since 2000-01-01: the harmonic terms' phase */
static float t_years(int32_t d) { return (float)((double)(gd_monitor_days(d) - 10957) / 365.25); }

/* ---- reading one date's values on the grid ---- */
void gd_monitor_read_close(mread *r)
{
    for (int k = 2; k >= 0; k--) /* each warped VRT before the dataset it reads */
        if (r->own[k])
            GDALClose(r->own[k]);
    if (r->ds && r->owned)
        GDALClose(r->ds);
    gd_source_destroy(r->src);
    memset(r, 0, sizeof *r);
}

/* Opens date i of stack s on the grid: the kind's bands as values (sensor scale and
 * offset, dB to linear, the image's own cloud mask). */
int gd_monitor_read_open(gd_job *job, const gd_monitor *mon, int s, int i, mread *r)
{
    const mstack *ms = &mon->st[s];
    const gd_mon_kind *ops = ms->ops;
    const gd_stack_item *it = &ms->s->items[i];
    int idx[2] = {1, 0}, st;
    char label[64], date[16];
    memset(r, 0, sizeof *r);
    r->nb = ops->nb;
    ymd_text(it->date, date);
    snprintf(label, sizeof label, "stack%d %s", s + 1, date);
    if ((st = gd_source_open(job, it->path, label, &r->src)) != GD_OK ||
        (st = gd_grid_align(job, mon->grid, r->src, &r->ds, &r->owned)) != GD_OK)
        goto done;
    for (int k = 0; k < r->nb && ops->by_role; k++) {
        const char *role = ms->roles[k];
        if ((st = gd_source_find_role(job, r->src, label, mon->p->bands, role, &idx[k])) != GD_OK)
            goto done;
        if (!idx[k] && ops->lone_band && r->src->nbands == 1)
            idx[k] = 1; /* a single-band image is its own band */
        if (!idx[k] && ms->pol && r->src->nbands == 2)
            idx[k] = strcmp(role, "vh") == 0 ? 2 : 1; /* unnamed: Sentinel-1's VV, VH order */
        if (!idx[k] && ops->nv == 2) {
            st = gd_job_error(job, GD_EINPUT, "%s (%s): --pol vv,vh needs the VV and VH "
                              "intensities as two bands (described VV and VH, or bands 1 and "
                              "2, or named with --bands vv=1,vh=2); it has %d band(s) and no "
                              "%s band", it->path, label, r->src->nbands, role);
            goto done;
        }
        if (!idx[k]) {
            st = gd_job_error(job, GD_EINPUT, "%s (%s): no %s band for -m %s (name it with "
                              "--bands, e.g. --bands r=3,n=4)", it->path, label, role,
                              ms->method_name);
            goto done;
        }
    }
    if (ops->nv == 2 && idx[0] == idx[1]) {
        st = gd_job_error(job, GD_EINPUT, "%s (%s): VV and VH are both band %d (name them with "
                          "--bands vv=1,vh=2)", it->path, label, idx[0]);
        goto done;
    }
    for (int k = 0; k < r->nb; k++) {
        gd_band own_b;
        if ((st = gd_band_from(job, r->ds, idx[k], &r->b[k])) != GD_OK ||
            (st = gd_band_from(job, r->src->ds, idx[k], &own_b)) != GD_OK)
            goto done;
        /* a warped VRT does not carry the source's scale and offset */
        r->b[k].scale = own_b.scale;
        r->b[k].offset = own_b.offset;
        r->b[k].name = own_b.name;
    }
    if (ops->calibrate && (st = ops->calibrate(job, r, label, idx)) != GD_OK)
        goto done;
    st = gd_mask_attach(job, mon->grid, r->src, label, NULL, NULL, NULL, r->b, (size_t)r->nb,
                        r->own);
done:
    if (st != GD_OK)
        gd_monitor_read_close(r);
    return st;
}

int gd_monitor_read_rows(gd_job *job, const gd_monitor *mon, const mstack *ms, mread *r, int y0,
                         int rows, float *out, float *tmp)
{
    const int w = mon->grid->width;
    size_t n = (size_t)w * (size_t)rows;
    int st;
    if ((st = gd_band_read(job, &r->b[0], w, y0, rows, out)) != GD_OK ||
        (st = gd_band_read_mask(job, &r->b[0], w, y0, rows, out)) != GD_OK)
        return st;
    /* dual-pol: the second band is the second plane of out, not scratch */
    float *b1 = ms->ops->nv == 2 ? out + n : tmp;
    if (r->nb == 2 && ((st = gd_band_read(job, &r->b[1], w, y0, rows, b1)) != GD_OK ||
                       (st = gd_band_read_mask(job, &r->b[1], w, y0, rows, b1)) != GD_OK))
        return st;
    if (ms->ops->derive)
        ms->ops->derive(out, b1, n);
    return GD_OK;
}

int gd_monitor_read(gd_job *job, const gd_monitor *mon, int s, int i, int y0, int rows,
                    float *out, float *tmp)
{
    mread r;
    int st = gd_monitor_read_open(job, mon, s, i, &r);
    if (st == GD_OK)
        st = gd_monitor_read_rows(job, mon, &mon->st[s], &r, y0, rows, out, tmp);
    gd_monitor_read_close(&r);
    return st;
}

/* ---- per-pixel baseline and test ---- */

/* The upper p quantile of Student's t with df degrees of freedom, by bisection on the F
 * tail (t^2 ~ F(1, df)). */
static double t_quantile(double p, double df)
{
    double lo = 0.0, hi = 1e6;
    for (int it = 0; it < 200 && hi - lo > 1e-10 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * gd_k_f_tail(mid * mid, 1.0, df, 1) > p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* How much wider than the normal quantile z the threshold of a baseline of n values with
 * ncoef fitted coefficients must be for the per-observation false-alarm rate to be p: the
 * spread is estimated (Student's t; the MAD of n normal values is worth about
 * 0.44 n - 0.5 degrees of freedom, fitted by simulation for n = 6..96 at p = 0.01, one
 * less per further coefficient) and so is the expected value (a median has pi/2 the
 * variance of a mean: prediction factor sqrt(1 + 1.57 ncoef / n)). Folded into the stored
 * sigma, so that every test compares with the same z (unit.monitor checks the rate). */
double gd_monitor_sigma_factor(double p, double z, int n, int ncoef)
{
    double df = fmax(1.0, 0.44 * n - 0.5 - (ncoef - 1));
    return t_quantile(p, df) / z * sqrt(1.0 + 1.57 * ncoef / n);
}

/* One valid observation of one pixel (stack s) through the alert rules: a flag raises a
 * provisional alert; K further flags from any stack confirm it; more than W - K
 * observations of the raising stack without a flag clear it. Only the raising stack's
 * misses count: a stack that cannot see this kind of change (C-band under a thin canopy,
 * a cloudy optical pass) supports an alert when it sees it, and never vetoes it. */
static void observe(const gd_monitor *mon, const mstack *ms, int s, px_state *ps, px_base *b,
                    const float *v, int32_t d, float t)
{
    if (!isfinite(b->sigma) || !isfinite(v[0]))
        return; /* no baseline here, or no observation */
    ps->observed = 1;
    int f = ms->ops->flagged(mon, ms, b, v, t);
    if (f)
        ps->last_date = d; /* last_seen of the alert in progress or confirmed (alerts.gpkg) */
    if (ps->status == GD_MON_CONFIRMED)
        return; /* a confirmed alert stays: its date is the answer */
    if (ms->ops->observed)
        ms->ops->observed(b, v, f, ps->status);
    const int K = mon->p->confirm, W = mon->p->window;
    if (ps->status != GD_MON_PROVISIONAL) {
        if (!f)
            return;
        ps->status = GD_MON_PROVISIONAL;
        ps->prov_date = d;
        ps->raiser = (uint8_t)s;
        ps->nflag = 0;
        ps->nmiss = 0;
    } else if (f) {
        ps->nflag++;
    } else if (s == ps->raiser) {
        ps->nmiss++;
    }
    if (ps->nflag >= K) {
        ps->status = GD_MON_CONFIRMED;
        ps->alert_date = ps->prov_date;
        ps->confirm_date = d;
    } else if (ps->nmiss > W - K) {
        ps->status = GD_MON_CLEARED; /* K flags can no longer come within the window */
    }
}

/* ---- the strip loop: row strips through the engine's worker pool ---- */

/* What every strip shares (read-only but for its own pixels of the state and its own
 * context). */
typedef struct mpass {
    gd_monitor *mon;
    const gd_job *job;  /* read by the workers only for its cancel flag */
    const obs *todo;
    int ntodo, full, maxbase, maxnv;
    gd_job **ctx;       /* per strip: a light context for its errors */
} mpass;

/* one worker's strip buffers: the baseline dates of one stack, a date, a second band */
typedef struct mworker {
    float *vals, *buf, *tmp;
} mworker;

static void strip_stop(void *user, void *state)
{
    (void)user;
    mworker *wk = state;
    if (!wk)
        return;
    free(wk->vals);
    free(wk->buf);
    free(wk->tmp);
    free(wk);
}

static void *strip_start(void *user, int width, int max_rows)
{
    const mpass *mp = user;
    size_t sn = (size_t)width * (size_t)max_rows * (size_t)mp->maxnv;
    mworker *wk = calloc(1, sizeof *wk);
    if (!wk)
        return NULL;
    wk->vals = malloc(sn * (size_t)(mp->maxbase > 0 ? mp->maxbase : 1) * sizeof *wk->vals);
    wk->buf = malloc(sn * sizeof *wk->buf);
    wk->tmp = malloc(sn * sizeof *wk->tmp);
    if (!wk->vals || !wk->buf || !wk->tmp) {
        strip_stop(user, wk);
        return NULL;
    }
    return wk;
}

/* One strip: the baselines of its pixels (full runs), then every date to test in date
 * order. Pixels are independent, so strips may run in any order on any thread and the
 * state is the same. */
static int strip_generate(void *user, void *state, const gd_strip *s)
{
    const mpass *mp = user;
    mworker *wk = state;
    gd_monitor *mon = mp->mon;
    gd_job *ctx = mp->ctx[s->index];
    const int W = s->width, y0 = s->y0, r = s->rows;
    size_t n = (size_t)W * (size_t)r, off = (size_t)y0 * (size_t)W;
    float px[2 * GD_MON_MAX_BASE], tv[GD_MON_MAX_BASE], vv[GD_MON_MAX_BASE],
        tt[GD_MON_MAX_BASE], ft[GD_MON_MAX_BASE];
    int st;
    for (int si = 0; mp->full && si < mon->ns; si++) {
        mstack *ms = &mon->st[si];
        const size_t nv = (size_t)GD_MON_NV(ms); /* a date's planes: nv x n values */
        for (int j = 0; j < ms->nbase; j++) {
            if (gd_job_cancelled(mp->job))
                return gd_job_error(ctx, GD_ECANCEL, "cancelled");
            if ((st = gd_monitor_read(ctx, mon, si, j, y0, r, wk->vals + (size_t)j * n * nv,
                                      wk->tmp)) != GD_OK)
                return st;
            tv[j] = t_years(ms->s->items[j].date);
        }
        for (size_t i = 0; i < n; i++) {
            px_base *b = &ms->base[off + i];
            b->c0 = b->a1 = b->b1 = 0.0f;
            b->sigma = NAN; /* no baseline */
            if (ms->nbase < mon->p->min_baseline)
                continue;
            for (int j = 0; j < ms->nbase; j++)
                px[j] = wk->vals[(size_t)j * n * nv + i];
            for (int j = 0; nv == 2 && j < ms->nbase; j++)
                px[ms->nbase + j] = wk->vals[(size_t)j * n * nv + n + i];
            ms->ops->fit(mon, ms, px, tv, ms->nbase, vv, tt, ft, b);
        }
    }
    for (int k = 0; k < mp->ntodo; k++) {
        const obs *o = &mp->todo[k];
        mstack *ms = &mon->st[o->s];
        int32_t d = ms->s->items[o->i].date;
        float t = t_years(d);
        if (gd_job_cancelled(mp->job))
            return gd_job_error(ctx, GD_ECANCEL, "cancelled");
        if ((st = gd_monitor_read(ctx, mon, o->s, o->i, y0, r, wk->buf, wk->tmp)) != GD_OK)
            return st;
        const int two = GD_MON_NV(ms) == 2;
        gd_mon_changes *cl = &mon->chg[s->index];
        for (size_t i = 0; i < n; i++) {
            const float v[2] = {wk->buf[i], two ? wk->buf[n + i] : NAN};
            px_state *ps = &mon->px[off + i];
            uint8_t was = ps->status;
            observe(mon, ms, o->s, ps, &ms->base[off + i], v, d, t);
            if (ps->status == was)
                continue;
            /* the alert history replays these date by date (alerts_gpkg.c) */
            if (cl->n == cl->cap) {
                size_t cap = cl->cap ? cl->cap * 2 : 256;
                gd_mon_change *vc = realloc(cl->v, cap * sizeof *vc);
                if (!vc)
                    return gd_job_error(ctx, GD_EPROC, "out of memory for the alert history");
                cl->v = vc;
                cl->cap = cap;
            }
            cl->v[cl->n++] = (gd_mon_change){k, off + i, *ps};
        }
        gd_test_pause("monitor-date");
    }
    return GD_OK;
}

static int process(gd_job *job, gd_monitor *mon, const obs *todo, int ntodo, int full)
{
    const gd_grid *g = mon->grid;
    const int W = g->width, H = g->height;
    int maxbase = 0, maxnv = 1, st = GD_OK, nstrips = 0;
    int threads = gd_job_threads(job) > 0 ? gd_job_threads(job) : gd_engine_default_threads();
    gd_job **ctx = NULL;
    for (int s = 0; s < mon->ns && full; s++)
        maxbase = mon->st[s].nbase > maxbase ? mon->st[s].nbase : maxbase;
    for (int s = 0; s < mon->ns; s++)
        maxnv = GD_MON_NV(&mon->st[s]) > maxnv ? GD_MON_NV(&mon->st[s]) : maxnv;
    /* memory: per worker the baseline dates of one stack for a strip, plus two row
     * buffers; with several threads at least one strip each (pixels are independent, so
     * the strips change nothing but the time) */
    double budget = (double)(mon->mem_mb > 0 ? mon->mem_mb : 1024) * 1048576.0 / 2.0 / threads;
    double per_row = 4.0 * W * (maxbase + 2) * maxnv;
    int rows = (int)fmin((double)H, fmax(1.0, floor(budget / per_row)));
    if (threads > 1 && rows > (H + threads - 1) / threads)
        rows = (H + threads - 1) / threads;
    /* the dates once on this thread: their sensor records and messages go to the job
     * (the strips' own contexts hold only their errors), and a date that cannot be
     * opened fails here, before any strip */
    int nprobe = ntodo, done_n = 0;
    for (int s = 0; s < mon->ns && full; s++)
        nprobe += mon->st[s].nbase;
    gd_job_progress_push(job, 0.0, 0.1);
    for (int s = 0; s < mon->ns && full && st == GD_OK; s++)
        for (int j = 0; j < mon->st[s].nbase && st == GD_OK; j++) {
            mread rd;
            if ((st = gd_monitor_read_open(job, mon, s, j, &rd)) == GD_OK)
                st = gd_job_progress(job, (double)++done_n / nprobe);
            gd_monitor_read_close(&rd);
        }
    for (int k = 0; k < ntodo && st == GD_OK; k++) {
        mread rd;
        if ((st = gd_monitor_read_open(job, mon, todo[k].s, todo[k].i, &rd)) == GD_OK)
            st = gd_job_progress(job, (double)++done_n / nprobe);
        gd_monitor_read_close(&rd);
    }
    gd_job_progress_pop(job);
    for (int s = 0; s < mon->ns && full && st == GD_OK; s++)
        if (mon->st[s].ops->fit_init)
            st = mon->st[s].ops->fit_init(job, mon, &mon->st[s]);
    if (st != GD_OK)
        return st;
    mpass mp = {.mon = mon, .job = job, .todo = todo, .ntodo = ntodo, .full = full,
                .maxbase = maxbase, .maxnv = maxnv};
    gd_engine_spec spec = {.grid = g, .nb = 0, .rows = rows, .user = &mp, .start = strip_start,
                           .generate = strip_generate, .stop = strip_stop};
    nstrips = gd_engine_strips(&spec, NULL);
    ctx = calloc((size_t)nstrips, sizeof *ctx);
    if (!ctx)
        return gd_job_error(job, GD_EPROC, "out of memory");
    for (int k = 0; k < nstrips; k++)
        if (gd_job_fork(job, &ctx[k]) != GD_OK) {
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
    mp.ctx = ctx;
    if (!(mon->chg = calloc((size_t)nstrips, sizeof *mon->chg))) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    mon->nchg = nstrips;
    gd_job_info(job, "monitor: %d strip(s) of %d rows on %d thread(s), %d date(s) to test%s",
                nstrips, rows, threads < nstrips ? threads : nstrips, ntodo,
                full ? " after the baselines" : "");
    gd_job_progress_push(job, 0.1, 1.0);
    st = gd_engine_run(job, &spec);
    gd_job_progress_pop(job);
    if (st != GD_OK) {
        /* the first strip's own error is the root cause, not the pool's summary of it */
        for (int k = 0; k < nstrips; k++)
            if (gd_job_status(ctx[k]) != GD_OK) {
                gd_job_clear_error(job);
                st = gd_job_error(job, gd_job_status(ctx[k]), "%s", gd_job_message(ctx[k]));
                break;
            }
    }
done:
    /* their messages repeat the dates' opening on this thread: dropped */
    for (int k = 0; k < nstrips; k++)
        gd_job_destroy(ctx[k]);
    free(ctx);
    return st;
}

/* ---- the run ---- */
static void mon_free(gd_monitor *mon)
{
    json_decref(mon->discover);
    for (int s = 0; s < mon->ns; s++) {
        gd_stack_destroy(mon->st[s].s);
        free(mon->st[s].base);
        free(mon->st[s].fac);
        free(mon->st[s].sha);
        free(mon->st[s].size);
    }
    free(mon->px);
    free(mon->alert_id);
    free(mon->px0);
    for (int k = 0; k < mon->nchg; k++)
        free(mon->chg[k].v);
    free(mon->chg);
    json_decref(mon->config);
    gd_grid_destroy(mon->grid);
}

/* Everything that makes the per-pixel state what it is, besides the dates' contents. */
static json_t *config_json(const gd_monitor *mon)
{
    const gd_monitor_params *p = mon->p;
    const gd_grid *g = mon->grid;
    json_t *stacks = json_array();
    static const char *const pols[] = {NULL, "vv", "vh", "vv,vh"};
    for (int s = 0; s < mon->ns; s++) {
        json_t *e = json_pack("{s:s, s:s, s:s, s:i, s:o}", "method", mon->st[s].method_name,
                              "direction", dir_name(mon->st[s].direction), "baseline",
                              mon->st[s].ops->baseline_name(&mon->st[s]), "baseline_dates",
                              mon->st[s].nbase, "enl", mon->st[s].ops->enl_json(&mon->st[s]));
        if (mon->st[s].pol) /* only when given: the runs before --pol keep their config */
            json_object_set_new(e, "pol", json_string(pols[mon->st[s].pol]));
        json_array_append_new(stacks, e);
    }
    char start[16];
    ymd_text(mon->start, start);
    return json_pack("{s:s, s:o, s:s, s:i, s:i, s:f, s:s, s:i, s:s?, s:{s:i, s:i, s:[f,f,f,f,f,f], s:s?}}",
                     "state", STATE_MAGIC, "stacks", stacks, "start", start, "confirm",
                     p->confirm, "window", p->window, "p_value", p->p_value, "enl_given",
                     p->enl > 0 ? "yes" : "auto",
                     "min_baseline", p->min_baseline, "bands", p->bands, "grid", "width",
                     g->width, "height", g->height, "geotransform", g->gt[0], g->gt[1], g->gt[2],
                     g->gt[3], g->gt[4], g->gt[5], "wkt", g->wkt);
}

static int32_t default_start(int32_t first)
{
    int32_t d = first + 10000; /* one year of baseline */
    return d % 10000 == 229 ? d + 72 : d; /* 29 February of a year without it: 1 March */
}

int gd_monitor_run(gd_job *job, const gd_monitor_params *p)
{
    gd_monitor mon;
    obs *todo = NULL;
    int st = GD_OK, ntodo = 0, full = 1, pushed = 0;
    double t0 = gd_now();
    memset(&mon, 0, sizeof mon);
    mon.p = p;
    mon.mem_mb = gd_job_mem_mb(job);
    /* the lists: with --stac, the one written from the search comes first */
    const char *lists[GD_MONITOR_MAX_STACKS];
    char stacdir[4096], stacl[4096];
    int nl = 0;
    if (p->stac) {
        gd_path_join(stacdir, sizeof stacdir, p->outdir ? p->outdir : ".", "stac");
        gd_path_join(stacl, sizeof stacl, stacdir, "stack.txt");
        lists[nl++] = stacl;
    }
    if (p->nstacks + nl > GD_MONITOR_MAX_STACKS)
        return gd_job_error(job, GD_EUSAGE, "at most %d stacks (--stac counts as one)",
                            GD_MONITOR_MAX_STACKS);
    for (int s = 0; s < p->nstacks; s++)
        lists[nl++] = p->stacks[s];
    if (nl < 1 || !p->outdir)
        return gd_job_error(job, GD_EUSAGE, "--stack LIST (or --stac URL) and -o OUTDIR are "
                            "required");
    if (p->nmethods != 1 && p->nmethods != nl)
        return gd_job_error(job, GD_EUSAGE, "give -m once (for every stack) or once per --stack "
                            "(%d -m for %d stacks)", p->nmethods, nl);
    if (p->pol && p->stac)
        return gd_job_error(job, GD_EUSAGE, "--pol is for --stack lists: with --stac the SAR "
                            "stack is the search's VV (or VH) asset, one band");
    if (p->pol) {
        int any = 0;
        for (int s = 0; s < p->nmethods; s++)
            any |= strcmp(p->methods[s], "sar") == 0;
        if (!any)
            return gd_job_error(job, GD_EUSAGE, "--pol chooses the polarisations of -m sar "
                                "stacks; no stack is -m sar");
    }
    if (p->stac && (st = gd_stac_query_check(job, p->stac)) != GD_OK)
        return st;
    if (p->confirm > p->window)
        return gd_job_error(job, GD_EUSAGE, "--confirm %d needs --window >= %d", p->confirm,
                            p->confirm);
    mon.start = p->start ? gd_monitor_parse_date(p->start) : 0;
    if (p->start && !mon.start)
        return gd_job_error(job, GD_EUSAGE, "--start %s is not a date YYYY-MM-DD", p->start);
    for (int s = 0; s < nl; s++) {
        const char *m = p->methods[p->nmethods == 1 ? 0 : s];
        if ((mon.st[s].method = gd_monitor_method(m)) < 0)
            return gd_job_error(job, GD_EUSAGE, "-m %s: a monitor method is %s", m,
                                gd_monitor_method_names());
    }
    /* OUTDIR locked; the old manifest goes first: from here until the new one is written
     * last, the folder never claims to be complete */
    if ((st = gd_outdir_lock(job, p->outdir)) != GD_OK)
        return st;
    char path[4096];
    gd_path_join(path, sizeof path, p->outdir, "manifest.json");
    if (unlink(path) != 0 && errno != ENOENT) {
        st = gd_job_error(job, GD_EOUTPUT, "cannot remove the old %s: %s", path, strerror(errno));
        goto done;
    }
    if ((st = gd_outdir_open_log(job, "run.log")) != GD_OK)
        goto done;
    gd_job_set_workdir(job, p->outdir);
    gd_job_info(job, "geodelta %s monitor, kernels %s", GD_VERSION, gd_kernels_isa_name());
    if (p->stac) { /* search, read each date's window, write the LIST; the monitor after */
        gd_job_progress_push(job, 0.0, 0.4);
        st = gd_discover_series(job, p->stac, stacdir, stacl, &mon.discover);
        gd_job_progress_pop(job);
        if (st != GD_OK)
            goto done;
        gd_job_progress_push(job, 0.4, 1.0);
        pushed = 1;
    }
    mon.ns = nl;
    for (int s = 0; s < mon.ns; s++)
        if ((st = gd_stack_read(job, lists[s], &mon.st[s].s)) != GD_OK)
            goto done;
    if (!mon.start)
        mon.start = default_start(mon.st[0].s->items[0].date);
    /* the grid of the first image of the first stack; every other date is warped onto it */
    {
        gd_source *ref = NULL;
        if ((st = gd_source_open(job, mon.st[0].s->items[0].path, "stack1 first", &ref)) == GD_OK)
            st = gd_grid_from_source(job, ref, &mon.grid);
        gd_source_destroy(ref);
        if (st != GD_OK)
            goto done;
    }
    mon.z1 = -gd_monitor_norm_quantile(p->p_value);
    mon.z2 = -gd_monitor_norm_quantile(p->p_value / 2.0);
    gd_job_progress_range(job, 0.0, 0.1);
    int total = 0, done_n = 0;
    for (int s = 0; s < mon.ns; s++)
        total += mon.st[s].s->n;
    for (int s = 0; s < mon.ns; s++) {
        mstack *ms = &mon.st[s];
        ms->ops = methods[ms->method].ops;
        ms->method_name = methods[ms->method].name;
        ms->roles[0] = methods[ms->method].roles[0];
        ms->roles[1] = methods[ms->method].roles[1];
        ms->direction = p->direction ? p->direction : methods[ms->method].dir;
        if (ms->ops == &gd_mon_kind_sar && p->pol) {
            /* --pol: the SAR stacks' bands by their polarisation; both: the dual kind */
            ms->pol = p->pol;
            ms->roles[0] = p->pol == GD_MON_POL_VH ? "vh" : "vv";
            if (p->pol == GD_MON_POL_DUAL) {
                ms->ops = &gd_mon_kind_sar2;
                ms->roles[1] = "vh";
            }
        }
        ms->sha = calloc((size_t)ms->s->n, sizeof *ms->sha);
        ms->size = calloc((size_t)ms->s->n, sizeof *ms->size);
        if (!ms->sha || !ms->size) {
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
        while (ms->nbase < ms->s->n && ms->s->items[ms->nbase].date < mon.start)
            ms->nbase++;
        if (ms->nbase > GD_MON_MAX_BASE) {
            st = gd_job_error(job, GD_EINPUT, "stack %s has %d dates before --start: at most %d "
                              "build a baseline (start later or thin the list)", ms->s->list,
                              ms->nbase, GD_MON_MAX_BASE);
            goto done;
        }
        if (ms->nbase < p->min_baseline)
            gd_job_warn(job, "stack %s has %d date(s) before --start, fewer than --min-baseline "
                        "%d: it cannot raise alerts", ms->s->list, ms->nbase, p->min_baseline);
        mon.nbase_total += ms->nbase;
        for (int i = 0; i < ms->s->n; i++) {
            if ((st = gd_sha256_file(job, ms->s->items[i].path, ms->sha[i], &ms->size[i])) != GD_OK)
                goto done;
            if ((st = gd_job_progress(job, (double)++done_n / total)) != GD_OK)
                goto done;
        }
    }
    /* the derived figures' inputs, hashed once (state and manifest) */
    if (p->population &&
        (st = gd_sha256_file(job, p->population, mon.pop_sha, &mon.pop_size)) != GD_OK)
        goto done;
    if (p->zones && (st = gd_sha256_file(job, p->zones, mon.zones_sha, &mon.zones_size)) != GD_OK)
        goto done;
    gd_job_progress_range(job, 0.1, 0.15);
    /* each kind's own set-up: the baseline model, the SAR stacks' number of looks */
    for (int s = 0; s < mon.ns; s++) {
        mon.st[s].enl = p->enl;
        if (mon.st[s].ops->prepare && (st = mon.st[s].ops->prepare(job, &mon, s)) != GD_OK)
            goto done;
    }
    mon.config = config_json(&mon);
    size_t npx = (size_t)mon.grid->width * (size_t)mon.grid->height;
    /* the state of the last run, when it is of these parameters and these earlier dates */
    if ((st = gd_monitor_state_load(job, &mon, &full)) != GD_OK)
        goto done;
    if (full) {
        mon.px = calloc(npx, sizeof *mon.px);
        for (int s = 0; s < mon.ns; s++) {
            mon.st[s].base = calloc(npx, sizeof *mon.st[s].base);
            mon.st[s].done = 0;
            if (!mon.st[s].base)
                mon.px = NULL;
        }
        if (!mon.px) {
            st = gd_job_error(job, GD_EPROC, "out of memory for the state of %zu pixels", npx);
            goto done;
        }
    }
    /* the dates to test, all stacks merged in date order (ties: stack order) */
    todo = malloc((size_t)total * sizeof *todo);
    if (!todo) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    int cur[GD_MONITOR_MAX_STACKS];
    for (int s = 0; s < mon.ns; s++)
        cur[s] = full ? mon.st[s].nbase : mon.st[s].done;
    for (;;) {
        int best = -1;
        for (int s = 0; s < mon.ns; s++)
            if (cur[s] < mon.st[s].s->n &&
                (best < 0 || mon.st[s].s->items[cur[s]].date < mon.st[best].s->items[cur[best]].date))
                best = s;
        if (best < 0)
            break;
        todo[ntodo].s = best;
        todo[ntodo].i = cur[best]++;
        ntodo++;
    }
    gd_job_info(job, "monitor: %s run, %d new date(s) to test, monitoring from %04d-%02d-%02d, "
                "z %.4f (one-sided) / %.4f (two-sided) for p %g", full ? "full" : "incremental",
                ntodo, (int)(mon.start / 10000), (int)(mon.start / 100 % 100),
                (int)(mon.start % 100), mon.z1, mon.z2, p->p_value);
    gd_job_progress_range(job, 0.15, 0.85);
    /* the state before the dates: alert_history replays their changes date by date */
    mon.todo = todo;
    mon.ntodo = ntodo;
    if (ntodo > 0) {
        size_t npx0 = (size_t)mon.grid->width * (size_t)mon.grid->height;
        if (!(mon.px0 = malloc((npx0 ? npx0 : 1) * sizeof *mon.px0))) {
            st = gd_job_error(job, GD_EPROC, "out of memory for the state of %zu pixels", npx0);
            goto done;
        }
        memcpy(mon.px0, mon.px, npx0 * sizeof *mon.px0);
    }
    if ((st = process(job, &mon, todo, ntodo, full)) != GD_OK)
        goto done;
    for (int s = 0; s < mon.ns; s++)
        mon.st[s].done = mon.st[s].s->n;
    mon.full = full;
    mon.ntested = ntodo;
    /* the outputs, alerts.gpkg among them: it holds the state, committed in one
     * transaction; a kill before the commit leaves the old state (the dates are tested
     * again, the same outputs come), after it the next run only rewrites the outputs */
    gd_job_progress_range(job, 0.85, 1.0);
    if ((st = gd_monitor_outputs(job, &mon)) != GD_OK)
        goto done;
    gd_test_pause("before-manifest");
    st = gd_monitor_manifest(job, &mon, t0);
    if (pushed)
        gd_job_progress_pop(job);
    pushed = 0;
    gd_job_progress_done(job);
done:
    if (pushed)
        gd_job_progress_pop(job);
    free(todo);
    mon_free(&mon);
    gd_outdir_release(job);
    gd_job_close_log(job);
    return st;
}
