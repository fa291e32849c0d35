/* mkind_sar.c: the monitor kinds of `sar`: one polarisation (band 1 or the one --pol
 * names) or two (--pol vv,vh: VV and VH intensities, the diagonal-only dual-pol case) as
 * backscatter intensity (dB converted to linear), the baseline the stable segment after
 * the last change the omnibus test finds in the baseline dates (Conradsen, Nielsen &
 * Skriver 2016), and a gamma likelihood-ratio test of each new date against it with the
 * stack's equivalent number of looks (per polarisation). */
#include "monitor_int.h"

#include <gd_kernels.h>
#include <gd_timeseries.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int sar_calibrate(gd_job *job, mread *r, const char *label, const int *idx)
{
    return gd_sensor_sar_db(job, r->src, label, &r->b[0], idx[0]);
}

/* intensities are positive: zero or less is no observation */
static void sar_derive(float *out, float *unused, size_t n)
{
    (void)unused;
    for (size_t k = 0; k < n; k++)
        if (!(out[k] > 0.0f))
            out[k] = NAN;
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

/* Dual-pol: each polarisation's own estimate (enl[0] VV, enl[1] VH), on the same pixels
 * and dates (a date counts where both are observed, as in the test). */
static int estimate_enl(gd_job *job, gd_monitor *mon, int s, double *enl)
{
    mstack *ms = &mon->st[s];
    const int w = mon->grid->width, h = mon->grid->height, nv = GD_MON_NV(ms);
    int ny = h < ENL_ROWS ? h : ENL_ROWS, st = GD_OK;
    size_t n = (size_t)w * (size_t)ny;
    double *sum = calloc(n * nv, sizeof *sum), *sq = calloc(n * nv, sizeof *sq);
    int *cnt = calloc(n, sizeof *cnt);
    float *row = malloc((size_t)w * nv * sizeof *row), *tmp = malloc((size_t)w * sizeof *tmp);
    float *ratio = malloc(n * sizeof *ratio);
    for (int b = 0; b < nv; b++)
        enl[b] = NAN;
    if (!sum || !sq || !cnt || !row || !tmp || !ratio) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    for (int j = 0; j < ms->nbase; j++) {
        mread r;
        if ((st = gd_monitor_read_open(job, mon, s, j, &r)) != GD_OK)
            goto done;
        for (int k = 0; k < ny && st == GD_OK; k++) {
            int y = (int)((2LL * k + 1) * h / (2LL * ny)); /* row centres of ny equal bands */
            if ((st = gd_monitor_read_rows(job, mon, ms, &r, y, 1, row, tmp)) != GD_OK)
                break;
            for (int x = 0; x < w; x++)
                if (isfinite(row[x])) { /* dual-pol: derive left both NaN or neither */
                    size_t q = (size_t)k * (size_t)w + (size_t)x;
                    for (int b = 0; b < nv; b++) {
                        double v = row[(size_t)b * w + x];
                        sum[q + b * n] += v;
                        sq[q + b * n] += v * v;
                    }
                    cnt[q]++;
                }
        }
        gd_monitor_read_close(&r);
        if (st != GD_OK || (st = gd_job_progress(job, (double)(j + 1) / ms->nbase)) != GD_OK)
            goto done;
    }
    int m = 0, need = mon->p->min_baseline > 5 ? mon->p->min_baseline : 5;
    for (int b = 0; b < nv; b++) {
        m = 0;
        for (size_t q = 0; q < n; q++)
            if (cnt[q] >= need) {
                double mean = sum[q + b * n] / cnt[q];
                double var = (sq[q + b * n] - cnt[q] * mean * mean) / (cnt[q] - 1);
                if (var > 0.0)
                    ratio[m++] = (float)(mean * mean / var);
            }
        float med = NAN;
        if (m > 0) {
            qsort(ratio, (size_t)m, sizeof *ratio, cmp_float);
            med = ratio[(m - 1) / 4];
        }
        if (!(med > 0.0f)) {
            st = gd_job_error(job, GD_EINPUT, "stack %s: cannot estimate the number of looks "
                              "(no pixel with %d valid baseline dates); give --enl", ms->s->list,
                              need);
            goto done;
        }
        /* 3 significant digits: the value is recorded and compared between runs */
        char buf[32];
        snprintf(buf, sizeof buf, "%.3g", (double)med);
        enl[b] = strtod(buf, NULL);
    }
    if (nv == 2)
        gd_job_info(job, "stack %s: ENL VV %.3g, VH %.3g estimated from %d pixels x %d baseline "
                    "dates", ms->s->list, enl[0], enl[1], m, ms->nbase);
    else
        gd_job_info(job, "stack %s: ENL %.3g estimated from %d pixels x %d baseline dates",
                    ms->s->list, enl[0], m, ms->nbase);
done:
    free(sum);
    free(sq);
    free(cnt);
    free(row);
    free(tmp);
    free(ratio);
    return st;
}

static int sar_prepare(gd_job *job, gd_monitor *mon, int s)
{
    mstack *ms = &mon->st[s];
    ms->harmonic = 0;
    ms->enl = ms->enl2 = mon->p->enl; /* a given --enl holds for both polarisations */
    if (!(mon->p->enl > 0) && ms->nbase > 0) {
        double e[2] = {NAN, NAN};
        int st = estimate_enl(job, mon, s, e);
        ms->enl = e[0];
        ms->enl2 = e[1];
        return st;
    }
    return GD_OK;
}

/* c0 = sum and a1 = number of the stable segment's intensities; sigma 0 marks a valid
 * baseline */
static void sar_fit(const gd_monitor *mon, const mstack *ms, const float *v, const float *t,
                    int nb, float *vv, float *tt, float *tmp, px_base *out)
{
    (void)t, (void)vv, (void)tt, (void)tmp;
    const gd_monitor_params *p = mon->p;
    /* the omnibus test over the baseline finds where its last change was; the stable
     * segment is what follows it (Conradsen et al. 2016: segments restart at a change) */
    uint8_t change[GD_MON_MAX_BASE];
    double pom = 1.0, sum = 0.0;
    int last = 0, n = 0;
    gd_k_omnibus_gamma(v, nb, ms->enl, p->p_value, change, &pom);
    for (int j = 0; j < nb; j++)
        if (change[j])
            last = j;
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
        out->sigma = 0.0f;
    }
}

/* the gamma test of one intensity against the segment's mean, in the stack's direction */
static int sar_flagged(const gd_monitor *mon, const mstack *ms, const px_base *b,
                       const float *vp, float t)
{
    (void)t;
    float v = vp[0];
    int dir = ms->direction, dec = 0;
    double m = (double)b->c0 / (double)b->a1;
    double pv = gd_k_gamma_change_p(v, m, (int)b->a1, ms->enl, &dec);
    return pv < mon->p->p_value &&
           (dir == GD_MON_DIR_BOTH || (dir == GD_MON_DIR_DECREASE) == (dec == 1));
}

/* the stable segment grows with each date that agrees with it */
static void sar_observed(px_base *b, const float *v, int flagged, int status)
{
    if (!flagged && status != GD_MON_PROVISIONAL && b->a1 < 65535.0f) {
        b->c0 += v[0];
        b->a1 += 1.0f;
    }
}

static const char *sar_baseline_name(const mstack *ms)
{
    (void)ms;
    return "gamma segment";
}

static json_t *sar_enl(const mstack *ms) { return json_real(ms->enl); }

const gd_mon_kind gd_mon_kind_sar = {
    .name = "sar",
    .nb = 1,
    .by_role = 1,
    .lone_band = 1,
    .calibrate = sar_calibrate,
    .derive = sar_derive,
    .prepare = sar_prepare,
    .fit = sar_fit,
    .flagged = sar_flagged,
    .observed = sar_observed,
    .baseline_name = sar_baseline_name,
    .enl_json = sar_enl,
};

/* ---- dual polarisation: --pol vv,vh ---- */

/* the dB decision per band; the date's sensor record keeps both (sar: {vv, vh}) */
static int sar2_calibrate(gd_job *job, mread *r, const char *label, const int *idx)
{
    json_t *rec = json_object_get(json_object_get(gd_job_auto(job), "sensor"), label), *vv = NULL;
    int st = gd_sensor_sar_db(job, r->src, label, &r->b[0], idx[0]);
    if (st == GD_OK && rec && (vv = json_object_get(rec, "sar")))
        json_incref(vv);
    if (st == GD_OK)
        st = gd_sensor_sar_db(job, r->src, label, &r->b[1], idx[1]);
    json_t *vh = rec ? json_object_get(rec, "sar") : NULL;
    if (st == GD_OK && vv && vh)
        json_object_set_new(rec, "sar", json_pack("{s:O, s:O}", "vv", vv, "vh", vh));
    json_decref(vv);
    return st;
}

/* the 2 x 2 test needs both intensities of a date: a pixel with either unobserved (<= 0,
 * NaN, masked) is unobserved in both planes */
static void sar2_derive(float *vv, float *vh, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!(vv[k] > 0.0f) || !(vh[k] > 0.0f))
            vv[k] = vh[k] = NAN;
}

/* c0 = VV sum, b1 = VH sum, a1 = number of the stable segment's dates (px_base keeps
 * its layout: the state file of single-pol runs reads the same); sigma 0: a baseline */
static void sar2_fit(const gd_monitor *mon, const mstack *ms, const float *v, const float *t,
                     int nb, float *vv, float *tt, float *tmp, px_base *out)
{
    (void)t, (void)vv, (void)tt, (void)tmp;
    const gd_monitor_params *p = mon->p;
    const float *vh = v + nb;
    const double enl[2] = {ms->enl, ms->enl2};
    uint8_t change[GD_MON_MAX_BASE];
    double pom = 1.0, sum[2] = {0.0, 0.0};
    int last = 0, n = 0;
    gd_k_omnibus_gamma2(v, vh, nb, enl, p->p_value, change, &pom);
    for (int j = 0; j < nb; j++)
        if (change[j])
            last = j;
    for (int pass = 0; pass < 2; pass++) {
        /* the segment after the last change; too short a one: the whole baseline */
        int from = pass == 0 ? last : 0;
        if (pass == 1 && !(n < p->min_baseline && last > 0))
            break;
        sum[0] = sum[1] = 0.0;
        n = 0;
        for (int j = from; j < nb; j++)
            if (isfinite(v[j]) && isfinite(vh[j])) {
                sum[0] += v[j];
                sum[1] += vh[j];
                n++;
            }
    }
    if (n >= p->min_baseline && sum[0] > 0.0 && sum[1] > 0.0) {
        out->c0 = (float)sum[0];
        out->b1 = (float)sum[1];
        out->a1 = (float)n;
        out->sigma = 0.0f;
    }
}

/* the dual-pol test of the pair against the segment's means; the direction is that of
 * the determinant VV x VH (both fall on a clearing) */
static int sar2_flagged(const gd_monitor *mon, const mstack *ms, const px_base *b,
                        const float *v, float t)
{
    (void)t;
    int dir = ms->direction, dec = 0;
    const double y[2] = {v[0], v[1]};
    const double m[2] = {(double)b->c0 / (double)b->a1, (double)b->b1 / (double)b->a1};
    const double enl[2] = {ms->enl, ms->enl2};
    double pv = gd_k_gamma2_change_p(y, m, (int)b->a1, enl, &dec);
    return pv < mon->p->p_value &&
           (dir == GD_MON_DIR_BOTH || (dir == GD_MON_DIR_DECREASE) == (dec == 1));
}

static void sar2_observed(px_base *b, const float *v, int flagged, int status)
{
    if (!flagged && status != GD_MON_PROVISIONAL && b->a1 < 65535.0f) {
        b->c0 += v[0];
        b->b1 += v[1];
        b->a1 += 1.0f;
    }
}

static const char *sar2_baseline_name(const mstack *ms)
{
    (void)ms;
    return "gamma segment VV+VH";
}

/* both numbers of looks: VV's, VH's */
static json_t *sar2_enl(const mstack *ms) { return json_pack("[f, f]", ms->enl, ms->enl2); }

const gd_mon_kind gd_mon_kind_sar2 = {
    .name = "sar",
    .nb = 2,
    .nv = 2,
    .by_role = 1,
    .lone_band = 0,
    .calibrate = sar2_calibrate,
    .derive = sar2_derive,
    .prepare = sar_prepare,
    .fit = sar2_fit,
    .flagged = sar2_flagged,
    .observed = sar2_observed,
    .baseline_name = sar2_baseline_name,
    .enl_json = sar2_enl,
};
