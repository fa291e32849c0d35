/* monitor.c: `geodelta monitor`: per-pixel baselines, per-date tests, alerts that confirm
 * themselves, and the state that lets the next run process only the new dates. */
#include "monitor_int.h"

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
/* a harmonic baseline needs a year of dates and this many valid values per pixel */
#define HARMONIC_MIN_OBS 12

static const struct {
    const char *name;
    int kind, dir;
    const char *roles[2];
} methods[] = {
    {"sar", MK_SAR, GD_MON_DIR_BOTH, {"sar", NULL}},
    {"value", MK_VALUE, GD_MON_DIR_DECREASE, {NULL, NULL}},
    {"ndvi", MK_INDEX, GD_MON_DIR_DECREASE, {"nir", "red"}},
    {"nbr", MK_INDEX, GD_MON_DIR_DECREASE, {"nir", "swir2"}},
    {"mndwi", MK_INDEX, GD_MON_DIR_INCREASE, {"green", "swir1"}},
    {"ndmi", MK_INDEX, GD_MON_DIR_DECREASE, {"nir", "swir1"}},
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
typedef struct mread {
    gd_source *src;
    GDALDatasetH ds, own[3];
    int owned, nb;
    gd_band b[2];
} mread;

static void read_close(mread *r)
{
    for (int k = 2; k >= 0; k--) /* each warped VRT before the dataset it reads */
        if (r->own[k])
            GDALClose(r->own[k]);
    if (r->ds && r->owned)
        GDALClose(r->ds);
    gd_source_destroy(r->src);
    memset(r, 0, sizeof *r);
}

/* Opens date i of stack s on the grid: the method's bands as values (sensor scale and
 * offset, dB to linear, the image's own cloud mask). */
static int read_open(gd_job *job, gd_monitor *mon, int s, int i, mread *r)
{
    mstack *ms = &mon->st[s];
    const gd_stack_item *it = &ms->s->items[i];
    int idx[2] = {1, 0}, st;
    char label[64], date[16];
    memset(r, 0, sizeof *r);
    r->nb = ms->kind == MK_INDEX ? 2 : 1;
    ymd_text(it->date, date);
    snprintf(label, sizeof label, "stack%d %s", s + 1, date);
    if ((st = gd_source_open(job, it->path, label, &r->src)) != GD_OK ||
        (st = gd_grid_align(job, mon->grid, r->src, &r->ds, &r->owned)) != GD_OK)
        goto done;
    for (int k = 0; k < r->nb && ms->kind != MK_VALUE; k++) {
        const char *role = methods[ms->method].roles[k];
        if ((st = gd_source_find_role(job, r->src, label, mon->p->bands, role, &idx[k])) != GD_OK)
            goto done;
        if (!idx[k] && ms->kind == MK_SAR && r->src->nbands == 1)
            idx[k] = 1; /* a single-band image is its own SAR band */
        if (!idx[k]) {
            st = gd_job_error(job, GD_EINPUT, "%s (%s): no %s band for -m %s (name it with "
                              "--bands, e.g. --bands r=3,n=4)", it->path, label, role,
                              methods[ms->method].name);
            goto done;
        }
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
    if (ms->kind == MK_INDEX && (st = gd_sensor_apply(job, r->src, label, GD_SENSOR_AUTO, 0, 0,
                                                      r->b, idx, (size_t)r->nb)) != GD_OK)
        goto done;
    if (ms->kind == MK_SAR && (st = gd_sensor_sar_db(job, r->src, label, &r->b[0], idx[0])) != GD_OK)
        goto done;
    st = gd_mask_attach(job, mon->grid, r->src, label, NULL, NULL, NULL, r->b, (size_t)r->nb,
                        r->own);
done:
    if (st != GD_OK)
        read_close(r);
    return st;
}

/* Rows [y0, y0+rows) of an opened date as the method's values (NaN = unobserved). */
static int read_rows(gd_job *job, const gd_monitor *mon, const mstack *ms, mread *r, int y0,
                     int rows, float *out, float *tmp)
{
    const int w = mon->grid->width;
    size_t n = (size_t)w * (size_t)rows;
    int st;
    if ((st = gd_band_read(job, &r->b[0], w, y0, rows, out)) != GD_OK ||
        (st = gd_band_read_mask(job, &r->b[0], w, y0, rows, out)) != GD_OK)
        return st;
    if (r->nb == 2) {
        if ((st = gd_band_read(job, &r->b[1], w, y0, rows, tmp)) != GD_OK ||
            (st = gd_band_read_mask(job, &r->b[1], w, y0, rows, tmp)) != GD_OK)
            return st;
        for (size_t k = 0; k < n; k++) {
            float x = out[k], y = tmp[k], sum = x + y;
            out[k] = (isfinite(x) && isfinite(y) && sum != 0.0f) ? (x - y) / sum : NAN;
        }
    }
    if (ms->kind == MK_SAR) /* intensities are positive: zero or less is no observation */
        for (size_t k = 0; k < n; k++)
            if (!(out[k] > 0.0f))
                out[k] = NAN;
    return GD_OK;
}

int gd_monitor_read(gd_job *job, gd_monitor *mon, int s, int i, int y0, int rows, float *out,
                    float *tmp)
{
    mread r;
    int st = read_open(job, mon, s, i, &r);
    if (st == GD_OK)
        st = read_rows(job, mon, &mon->st[s], &r, y0, rows, out, tmp);
    read_close(&r);
    return st;
}

/* --enl auto: the equivalent number of looks of a SAR stack from its baseline dates, on a
 * fixed sample of rows (so it does not depend on --mem): per pixel mean^2 / variance of
 * its baseline intensities (the temporal ENL; any real variation only lowers it, so the
 * test errs towards fewer alarms), the lower quartile over the pixels: a stack warped
 * onto another grid has its looks vary from pixel to pixel (a pixel on a source pixel
 * keeps the source's, one between four averages them), and the test must hold where they
 * are fewest. */
#define ENL_ROWS 32
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int estimate_enl(gd_job *job, gd_monitor *mon, int s, double *enl)
{
    mstack *ms = &mon->st[s];
    const int w = mon->grid->width, h = mon->grid->height;
    int ny = h < ENL_ROWS ? h : ENL_ROWS, st = GD_OK;
    size_t n = (size_t)w * (size_t)ny;
    double *sum = calloc(n, sizeof *sum), *sq = calloc(n, sizeof *sq);
    int *cnt = calloc(n, sizeof *cnt);
    float *row = malloc((size_t)w * sizeof *row), *tmp = malloc((size_t)w * sizeof *tmp);
    float *ratio = malloc(n * sizeof *ratio);
    *enl = NAN;
    if (!sum || !sq || !cnt || !row || !tmp || !ratio) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    for (int j = 0; j < ms->nbase; j++) {
        mread r;
        if ((st = read_open(job, mon, s, j, &r)) != GD_OK)
            goto done;
        for (int k = 0; k < ny && st == GD_OK; k++) {
            int y = (int)((2LL * k + 1) * h / (2LL * ny)); /* row centres of ny equal bands */
            if ((st = read_rows(job, mon, ms, &r, y, 1, row, tmp)) != GD_OK)
                break;
            for (int x = 0; x < w; x++)
                if (isfinite(row[x])) {
                    size_t q = (size_t)k * (size_t)w + (size_t)x;
                    sum[q] += row[x];
                    sq[q] += (double)row[x] * row[x];
                    cnt[q]++;
                }
        }
        read_close(&r);
        if (st != GD_OK || (st = gd_job_progress(job, (double)(j + 1) / ms->nbase)) != GD_OK)
            goto done;
    }
    int m = 0, need = mon->p->min_baseline > 5 ? mon->p->min_baseline : 5;
    for (size_t q = 0; q < n; q++)
        if (cnt[q] >= need) {
            double mean = sum[q] / cnt[q];
            double var = (sq[q] - cnt[q] * mean * mean) / (cnt[q] - 1);
            if (var > 0.0)
                ratio[m++] = (float)(mean * mean / var);
        }
    float med = NAN;
    if (m > 0) {
        qsort(ratio, (size_t)m, sizeof *ratio, cmp_float);
        med = ratio[(m - 1) / 4];
    }
    if (!(med > 0.0f)) {
        st = gd_job_error(job, GD_EINPUT, "stack %s: cannot estimate the number of looks (no "
                          "pixel with %d valid baseline dates); give --enl", ms->s->list, need);
        goto done;
    }
    /* 3 significant digits: the value is recorded and compared between runs */
    char buf[32];
    snprintf(buf, sizeof buf, "%.3g", (double)med);
    *enl = strtod(buf, NULL);
    gd_job_info(job, "stack %s: ENL %.3g estimated from %d pixels x %d baseline dates", ms->s->list,
                *enl, m, ms->nbase);
done:
    free(sum);
    free(sq);
    free(cnt);
    free(row);
    free(tmp);
    free(ratio);
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

/* Fits the baseline of one pixel from its nb baseline values v (NaN = unobserved). */
static void fit_pixel(const mstack *ms, const gd_monitor_params *p, const float *fac,
                      const float *v, const float *t, int nb, float *vv, float *tt, float *tmp,
                      px_base *out)
{
    int n = 0;
    out->c0 = out->a1 = out->b1 = 0.0f;
    out->sigma = NAN;
    if (nb < p->min_baseline)
        return;
    if (ms->kind == MK_SAR) {
        /* the omnibus test over the baseline finds where its last change was; the stable
         * segment is what follows it (Conradsen et al. 2016: segments restart at a change) */
        uint8_t change[GD_MON_MAX_BASE];
        double pom = 1.0;
        int last = 0;
        gd_k_omnibus_gamma(v, nb, ms->enl, p->p_value, change, &pom);
        for (int j = 0; j < nb; j++)
            if (change[j])
                last = j;
        double sum = 0.0;
        for (int j = last; j < nb; j++)
            if (isfinite(v[j]) && v[j] > 0.0f) {
                sum += v[j];
                n++;
            }
        if (n < p->min_baseline && last > 0) {
            /* too short a segment to test against: the whole baseline instead */
            sum = 0.0;
            n = 0;
            for (int j = 0; j < nb; j++)
                if (isfinite(v[j]) && v[j] > 0.0f) {
                    sum += v[j];
                    n++;
                }
        }
        if (n >= p->min_baseline && sum > 0.0) {
            out->c0 = (float)sum;
            out->a1 = (float)n;
            out->sigma = 0.0f; /* marks a valid baseline */
        }
        return;
    }
    for (int j = 0; j < nb; j++)
        if (isfinite(v[j])) {
            vv[n] = v[j];
            tt[n] = t[j];
            n++;
        }
    if (n < p->min_baseline)
        return;
    float med = NAN, sig = NAN;
    if (ms->harmonic && n >= HARMONIC_MIN_OBS) {
        double coef[3], rmse;
        if (gd_k_harmonic_fit(tt, vv, n, 1, coef, &rmse) >= 0) {
            /* the spread is robust: 1.4826 MAD of the residuals, not the RMSE that a few
             * cloudy leftovers would inflate */
            for (int j = 0; j < n; j++) {
                double w = 2.0 * M_PI * tt[j];
                tmp[j] = vv[j] - (float)(coef[0] + coef[1] * cos(w) + coef[2] * sin(w));
            }
            memcpy(vv, tmp, (size_t)n * sizeof *vv);
            gd_k_median_mad(vv, n, tmp, &med, &sig);
            out->c0 = (float)coef[0];
            out->a1 = (float)coef[1];
            out->b1 = (float)coef[2];
            out->sigma = (sig > GD_MON_MIN_SIGMA ? sig : GD_MON_MIN_SIGMA) * fac[3 * n + 2];
            return;
        }
    }
    gd_k_median_mad(vv, n, tmp, &med, &sig);
    out->c0 = med;
    out->sigma = (sig > GD_MON_MIN_SIGMA ? sig : GD_MON_MIN_SIGMA) * fac[3 * n + (ms->direction == GD_MON_DIR_BOTH)];
}

/* Whether value v on date d departs from the baseline b (and, for SAR, the segment). */
static int flagged(const gd_monitor *mon, const mstack *ms, px_base *b, float v, float t)
{
    int dir = ms->direction;
    if (ms->kind == MK_SAR) {
        int dec = 0;
        double m = (double)b->c0 / (double)b->a1;
        double pv = gd_k_gamma_change_p(v, m, (int)b->a1, ms->enl, &dec);
        return pv < mon->p->p_value &&
               (dir == GD_MON_DIR_BOTH || (dir == GD_MON_DIR_DECREASE) == (dec == 1));
    }
    double w = 2.0 * M_PI * t;
    double e = b->c0 + (b->a1 != 0.0f || b->b1 != 0.0f ? b->a1 * cos(w) + b->b1 * sin(w) : 0.0);
    double z = ((double)v - e) / b->sigma;
    if (dir == GD_MON_DIR_DECREASE)
        return z < -mon->z1;
    if (dir == GD_MON_DIR_INCREASE)
        return z > mon->z1;
    return fabs(z) > mon->z2;
}

/* One valid observation of one pixel (stack s) through the alert rules: a flag raises a
 * provisional alert; K further flags from any stack confirm it; more than W - K
 * observations of the raising stack without a flag clear it. Only the raising stack's
 * misses count: a stack that cannot see this kind of change (C-band under a thin canopy,
 * a cloudy optical pass) supports an alert when it sees it, and never vetoes it. */
static void observe(const gd_monitor *mon, const mstack *ms, int s, px_state *ps, px_base *b,
                    float v, int32_t d, float t)
{
    if (!isfinite(b->sigma) || !isfinite(v))
        return; /* no baseline here, or no observation */
    ps->observed = 1;
    int f = flagged(mon, ms, b, v, t);
    if (f)
        ps->last_date = d; /* last_seen of the alert in progress or confirmed (alerts.gpkg) */
    if (ps->status == GD_MON_CONFIRMED)
        return; /* a confirmed alert stays: its date is the answer */
    if (ms->kind == MK_SAR && !f && ps->status != GD_MON_PROVISIONAL && b->a1 < 65535.0f) {
        b->c0 += v; /* the stable segment grows with each date that agrees with it */
        b->a1 += 1.0f;
    }
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

/* ---- the strip loop ---- */
static int process(gd_job *job, gd_monitor *mon, const obs *todo, int ntodo, int full)
{
    const gd_grid *g = mon->grid;
    const int W = g->width, H = g->height;
    int maxbase = 0, st = GD_OK;
    for (int s = 0; s < mon->ns && full; s++)
        maxbase = mon->st[s].nbase > maxbase ? mon->st[s].nbase : maxbase;
    /* memory: the baseline dates of one stack for a strip, plus two row buffers */
    double budget = (double)(mon->mem_mb > 0 ? mon->mem_mb : 1024) * 1048576.0 / 2.0;
    double per_row = 4.0 * W * (maxbase + 2);
    int rows = (int)fmin((double)H, fmax(1.0, floor(budget / per_row)));
    size_t sn = (size_t)W * (size_t)rows;
    float *vals = malloc(sn * (size_t)(maxbase > 0 ? maxbase : 1) * sizeof *vals);
    float *buf = malloc(sn * sizeof *buf), *tmp = malloc(sn * sizeof *tmp);
    float px[GD_MON_MAX_BASE], tv[GD_MON_MAX_BASE], vv[GD_MON_MAX_BASE], tt[GD_MON_MAX_BASE],
        ft[GD_MON_MAX_BASE];
    /* per baseline size n: the sigma factors of the median (one-, two-sided) and of the
     * harmonic fit (its direction's) */
    float *fac = calloc(3 * (size_t)(maxbase + 1), sizeof *fac);
    if (!vals || !buf || !tmp || !fac) {
        st = gd_job_error(job, GD_EPROC, "out of memory for strips of %d rows", rows);
        goto done;
    }
    for (int n = 1; full && n <= maxbase; n++) {
        fac[3 * n] = (float)gd_monitor_sigma_factor(mon->p->p_value, mon->z1, n, 1);
        fac[3 * n + 1] = (float)gd_monitor_sigma_factor(mon->p->p_value / 2, mon->z2, n, 1);
        fac[3 * n + 2] = (float)fac[3 * n]; /* set per stack below when two-sided */
    }
    gd_job_info(job, "monitor: %d strip(s) of %d rows, %d date(s) to test%s", (H + rows - 1) / rows,
                rows, ntodo, full ? " after the baselines" : "");
    int nsteps = (H + rows - 1) / rows * (ntodo + (full ? mon->nbase_total : 0)), step = 0;
    for (int y0 = 0; y0 < H; y0 += rows) {
        int r = H - y0 < rows ? H - y0 : rows;
        size_t n = (size_t)W * (size_t)r, off = (size_t)y0 * (size_t)W;
        for (int s = 0; full && s < mon->ns; s++) {
            mstack *ms = &mon->st[s];
            for (int j = 0; j < ms->nbase; j++) {
                if ((st = gd_monitor_read(job, mon, s, j, y0, r, vals + (size_t)j * n, tmp)) != GD_OK)
                    goto done;
                tv[j] = t_years(ms->s->items[j].date);
                if ((st = gd_job_progress(job, (double)++step / nsteps)) != GD_OK)
                    goto done;
            }
            int two = ms->direction == GD_MON_DIR_BOTH;
            for (int m = 1; m <= maxbase; m++)
                fac[3 * m + 2] = (float)gd_monitor_sigma_factor(
                    two ? mon->p->p_value / 2 : mon->p->p_value, two ? mon->z2 : mon->z1, m,
                    3);
            for (size_t i = 0; i < n; i++) {
                for (int j = 0; j < ms->nbase; j++)
                    px[j] = vals[(size_t)j * n + i];
                fit_pixel(ms, mon->p, fac, px, tv, ms->nbase, vv, tt, ft, &ms->base[off + i]);
            }
        }
        for (int k = 0; k < ntodo; k++) {
            const obs *o = &todo[k];
            mstack *ms = &mon->st[o->s];
            int32_t d = ms->s->items[o->i].date;
            float t = t_years(d);
            if ((st = gd_monitor_read(job, mon, o->s, o->i, y0, r, buf, tmp)) != GD_OK)
                goto done;
            for (size_t i = 0; i < n; i++)
                observe(mon, ms, o->s, &mon->px[off + i], &ms->base[off + i], buf[i], d, t);
            gd_test_pause("monitor-date");
            if ((st = gd_job_progress(job, (double)++step / nsteps)) != GD_OK)
                goto done;
        }
    }
done:
    free(vals);
    free(buf);
    free(tmp);
    free(fac);
    return st;
}

/* ---- the run ---- */
static void mon_free(gd_monitor *mon)
{
    for (int s = 0; s < mon->ns; s++) {
        gd_stack_destroy(mon->st[s].s);
        free(mon->st[s].base);
        free(mon->st[s].sha);
        free(mon->st[s].size);
    }
    free(mon->px);
    free(mon->alert_id);
    json_decref(mon->config);
    gd_grid_destroy(mon->grid);
}

/* Everything that makes the per-pixel state what it is, besides the dates' contents. */
static json_t *config_json(const gd_monitor *mon)
{
    const gd_monitor_params *p = mon->p;
    const gd_grid *g = mon->grid;
    json_t *stacks = json_array();
    for (int s = 0; s < mon->ns; s++)
        json_array_append_new(stacks, json_pack("{s:s, s:s, s:s, s:i, s:o}", "method",
                                                methods[mon->st[s].method].name, "direction",
                                                dir_name(mon->st[s].direction), "baseline",
                                                mon->st[s].kind == MK_SAR ? "gamma segment"
                                                : mon->st[s].harmonic ? "harmonic" : "median",
                                                "baseline_dates", mon->st[s].nbase, "enl",
                                                mon->st[s].kind == MK_SAR ? json_real(mon->st[s].enl)
                                                                          : json_null()));
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
    int st = GD_OK, ntodo = 0, full = 1;
    double t0 = gd_now();
    memset(&mon, 0, sizeof mon);
    mon.p = p;
    mon.mem_mb = gd_job_mem_mb(job);
    if (p->nstacks < 1 || !p->outdir)
        return gd_job_error(job, GD_EUSAGE, "--stack LIST and -o OUTDIR are required");
    if (p->nmethods != 1 && p->nmethods != p->nstacks)
        return gd_job_error(job, GD_EUSAGE, "give -m once (for every stack) or once per --stack "
                            "(%d -m for %d --stack)", p->nmethods, p->nstacks);
    if (p->confirm > p->window)
        return gd_job_error(job, GD_EUSAGE, "--confirm %d needs --window >= %d", p->confirm,
                            p->confirm);
    mon.start = p->start ? gd_monitor_parse_date(p->start) : 0;
    if (p->start && !mon.start)
        return gd_job_error(job, GD_EUSAGE, "--start %s is not a date YYYY-MM-DD", p->start);
    for (int s = 0; s < p->nstacks; s++) {
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
    mon.ns = p->nstacks;
    for (int s = 0; s < mon.ns; s++)
        if ((st = gd_stack_read(job, p->stacks[s], &mon.st[s].s)) != GD_OK)
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
        ms->kind = methods[ms->method].kind;
        ms->direction = p->direction ? p->direction : methods[ms->method].dir;
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
        long span = ms->nbase ? gd_monitor_days(ms->s->items[ms->nbase - 1].date) -
                                    gd_monitor_days(ms->s->items[0].date) : 0;
        /* a year of baseline: each date stands for its revisit interval, so dates every
         * 12 days through one year span 360 days and still cover it */
        long covered = ms->nbase > 1 ? span + span / (ms->nbase - 1) : span;
        ms->harmonic = ms->kind != MK_SAR &&
                       (p->baseline == GD_MON_BASE_HARMONIC ||
                        (p->baseline == GD_MON_BASE_AUTO && covered >= 365 &&
                         ms->nbase >= HARMONIC_MIN_OBS));
        mon.nbase_total += ms->nbase;
        for (int i = 0; i < ms->s->n; i++) {
            if ((st = gd_sha256_file(job, ms->s->items[i].path, ms->sha[i], &ms->size[i])) != GD_OK)
                goto done;
            if ((st = gd_job_progress(job, (double)++done_n / total)) != GD_OK)
                goto done;
        }
    }
    gd_job_progress_range(job, 0.1, 0.15);
    for (int s = 0; s < mon.ns; s++) {
        mstack *ms = &mon.st[s];
        ms->enl = p->enl;
        if (ms->kind == MK_SAR && !(p->enl > 0) && ms->nbase > 0 &&
            (st = estimate_enl(job, &mon, s, &ms->enl)) != GD_OK)
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
    gd_job_progress_done(job);
done:
    free(todo);
    mon_free(&mon);
    gd_outdir_release(job);
    gd_job_close_log(job);
    return st;
}
