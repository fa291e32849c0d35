/* mkind_optical.c: the monitor kinds of optical values: `value` (band 1 as it is, e.g. a
 * precomputed NDVI) and `index` (a normalized difference of two bands found by role):
 * a robust baseline (median and MAD, or a harmonic seasonal fit over a year) and a
 * robust z per date. */
#include "monitor_int.h"

#include <gd_kernels.h>
#include <gd_timeseries.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int index_calibrate(gd_job *job, mread *r, const char *label, const int *idx)
{
    return gd_sensor_apply(job, r->src, label, GD_SENSOR_AUTO, 0, 0, r->b, idx, (size_t)r->nb);
}

/* (b0 - b1) / (b0 + b1): NDVI, NBR, MNDWI, NDMI by the method's roles */
static void index_derive(float *out, float *tmp, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        float x = out[k], y = tmp[k], sum = x + y;
        out[k] = (isfinite(x) && isfinite(y) && sum != 0.0f) ? (x - y) / sum : NAN;
    }
}

/* The harmonic model when asked, or (auto) when the baseline covers a year with enough
 * dates: a seasonal swing is then expected, not flagged. */
static int optical_prepare(gd_job *job, gd_monitor *mon, int s)
{
    (void)job;
    mstack *ms = &mon->st[s];
    const gd_monitor_params *p = mon->p;
    long span = ms->nbase ? gd_monitor_days(ms->s->items[ms->nbase - 1].date) -
                                gd_monitor_days(ms->s->items[0].date) : 0;
    /* a year of baseline: each date stands for its revisit interval, so dates every
     * 12 days through one year span 360 days and still cover it */
    long covered = ms->nbase > 1 ? span + span / (ms->nbase - 1) : span;
    ms->harmonic = p->baseline == GD_MON_BASE_HARMONIC ||
                   (p->baseline == GD_MON_BASE_AUTO && covered >= 365 &&
                    ms->nbase >= GD_MON_HARMONIC_MIN_OBS);
    return GD_OK;
}

/* Per baseline size n: the sigma factors of the median (one-, two-sided) and of the
 * harmonic fit (its direction's), so that every test compares with the same z. */
static int optical_fit_init(gd_job *job, const gd_monitor *mon, mstack *ms)
{
    const double p = mon->p->p_value;
    int two = ms->direction == GD_MON_DIR_BOTH;
    free(ms->fac);
    ms->fac = calloc(3 * (size_t)(ms->nbase + 1), sizeof *ms->fac);
    if (!ms->fac)
        return gd_job_error(job, GD_EPROC, "out of memory");
    for (int n = 1; n <= ms->nbase; n++) {
        ms->fac[3 * n] = (float)gd_monitor_sigma_factor(p, mon->z1, n, 1);
        ms->fac[3 * n + 1] = (float)gd_monitor_sigma_factor(p / 2, mon->z2, n, 1);
        ms->fac[3 * n + 2] = (float)gd_monitor_sigma_factor(two ? p / 2 : p, two ? mon->z2 : mon->z1,
                                                            n, 3);
    }
    return GD_OK;
}

static void optical_fit(const gd_monitor *mon, const mstack *ms, const float *v, const float *t,
                        int nb, float *vv, float *tt, float *tmp, px_base *out)
{
    const float *fac = ms->fac;
    int n = 0;
    for (int j = 0; j < nb; j++)
        if (isfinite(v[j])) {
            vv[n] = v[j];
            tt[n] = t[j];
            n++;
        }
    if (n < mon->p->min_baseline)
        return;
    float med = NAN, sig = NAN;
    if (ms->harmonic && n >= GD_MON_HARMONIC_MIN_OBS) {
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
    out->sigma = (sig > GD_MON_MIN_SIGMA ? sig : GD_MON_MIN_SIGMA) *
                 fac[3 * n + (ms->direction == GD_MON_DIR_BOTH)];
}

/* the robust z of v against the expected value at t, one- or two-sided */
static int optical_flagged(const gd_monitor *mon, const mstack *ms, const px_base *b,
                           const float *vp, float t)
{
    float v = vp[0];
    int dir = ms->direction;
    double w = 2.0 * M_PI * t;
    double e = b->c0 + (b->a1 != 0.0f || b->b1 != 0.0f ? b->a1 * cos(w) + b->b1 * sin(w) : 0.0);
    double z = ((double)v - e) / b->sigma;
    if (dir == GD_MON_DIR_DECREASE)
        return z < -mon->z1;
    if (dir == GD_MON_DIR_INCREASE)
        return z > mon->z1;
    return fabs(z) > mon->z2;
}

static const char *optical_baseline_name(const mstack *ms)
{
    return ms->harmonic ? "harmonic" : "median";
}

static json_t *optical_enl(const mstack *ms)
{
    (void)ms;
    return json_null();
}

const gd_mon_kind gd_mon_kind_value = {
    .name = "value",
    .nb = 1,
    .prepare = optical_prepare,
    .fit_init = optical_fit_init,
    .fit = optical_fit,
    .flagged = optical_flagged,
    .baseline_name = optical_baseline_name,
    .enl_json = optical_enl,
};

const gd_mon_kind gd_mon_kind_index = {
    .name = "index",
    .nb = 2,
    .by_role = 1,
    .calibrate = index_calibrate,
    .derive = index_derive,
    .prepare = optical_prepare,
    .fit_init = optical_fit_init,
    .fit = optical_fit,
    .flagged = optical_flagged,
    .baseline_name = optical_baseline_name,
    .enl_json = optical_enl,
};
