/* irmad.c: iteratively re-weighted MAD (Nielsen 2007): chi-square change statistic,
 * statistics from a regular subsample, then the score streamed through the engine. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXB 64

/* Regularised upper incomplete gamma Q(a, x): series below a + 1, Lentz continued
 * fraction above (Press et al., Numerical Recipes 6.2). */
static double gamma_q(double a, double x)
{
    if (!(x > 0.0))
        return 1.0;
    double lg = lgamma(a);
    if (x < a + 1.0) {
        double ap = a, sum = 1.0 / a, del = sum;
        for (int n = 0; n < 500; n++) {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-15)
                break;
        }
        double p = sum * exp(-x + a * log(x) - lg);
        return p > 1.0 ? 0.0 : 1.0 - p;
    }
    double b = x + 1.0 - a, c = 1.0 / 1e-300, d = 1.0 / b, h = d;
    for (int i = 1; i < 500; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < 1e-300)
            d = 1e-300;
        c = b + an / c;
        if (fabs(c) < 1e-300)
            c = 1e-300;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-15)
            break;
    }
    return exp(-x + a * log(x) - lg) * h;
}

/* The chi-square quantile with k degrees of freedom at upper tail probability q. */
static double chi2_upper_quantile(int k, double q)
{
    double lo = 0.0, hi = 10.0 * k + 100.0;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (gamma_q(0.5 * k, 0.5 * mid) > q)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

int gd_irmad_chi2_quantile(int k, double q, double *out)
{
    if (k < 1 || !(q > 0.0 && q < 1.0))
        return GD_EUSAGE;
    *out = chi2_upper_quantile(k, q);
    return GD_OK;
}

double gd_irmad_chi2_sf(int k, double x)
{
    return gamma_q(0.5 * k, 0.5 * x);
}

static int singular(gd_job *job, const char *which)
{
    return gd_job_error(job, GD_EINPUT,
                        "IR-MAD: the covariance of the %s bands is singular (a band is "
                        "constant, or two bands are duplicates or linear combinations of "
                        "each other): drop it with --bands-before/--bands-after or use cva",
                        which);
}

/* Statistics come from at most this many pixels (a regular subsample): the canonical
 * correlations of a million-pixel scene are stable well before that, and each
 * iteration costs O(samples * bands^2). */
#define MAX_SAMPLES 250000

/* The two passes over the engine's strips: the sample pass (no score) counts the pixels
 * with data in every band and keeps every stride-th pixel of the grid (row-major) that
 * has, in per-strip slots merged in strip order; the score pass computes the chi-square
 * of every pixel from the converged statistics. */
typedef struct irmad_pass {
    int p;
    size_t stride;
    size_t *nvalid;      /* per strip */
    float **samp;        /* per strip: nsamp pixels of 2p floats (the p x, then the p y) */
    size_t *nsamp;
    int nstrips;
    /* the score pass: the last iteration's statistics */
    const double *mx, *my, *a, *b, *rho;
} irmad_pass;

/* The chi-square of the standardised MAD variates of one pixel (dx, dy: its centred
 * values), the same arithmetic for the samples and for the score. */
static double mad_chi2(const irmad_pass *c, const double *dx, const double *dy)
{
    const int p = c->p;
    double chi2 = 0.0;
    for (int k = 0; k < p; k++) {
        double u = 0.0, v = 0.0;
        for (int r = 0; r < p; r++) {
            u += c->a[r * p + k] * dx[r];
            v += c->b[r * p + k] * dy[r];
        }
        double var = 2.0 * (1.0 - c->rho[k]);
        chi2 += (u - v) * (u - v) / (var > 1e-12 ? var : 1e-12);
    }
    return chi2;
}

static int all_finite(const gd_strip *s, size_t i)
{
    for (size_t k = 0; k < s->nb; k++)
        if (!isfinite(s->before[k][i]) || !isfinite(s->after[k][i]))
            return 0;
    return 1;
}

static int sample_strip(void *user, const gd_strip *s)
{
    irmad_pass *c = user;
    const size_t n = (size_t)s->width * (size_t)s->rows, base = (size_t)s->y0 * (size_t)s->width;
    const size_t p = (size_t)c->p;
    size_t valid = 0, ns = 0;
    for (size_t i = 0; i < n; i++)
        if (all_finite(s, i)) {
            valid++;
            ns += (base + i) % c->stride == 0;
        }
    float *v = ns ? malloc(sizeof(float) * 2 * p * ns) : NULL;
    if (ns && !v)
        return GD_EPROC;
    size_t j = 0;
    for (size_t i = (c->stride - base % c->stride) % c->stride; i < n && j < ns; i += c->stride)
        if (all_finite(s, i)) {
            for (size_t k = 0; k < p; k++) {
                v[j * 2 * p + k] = s->before[k][i];
                v[j * 2 * p + p + k] = s->after[k][i];
            }
            j++;
        }
    c->nvalid[s->index] = valid;
    c->samp[s->index] = v;
    c->nsamp[s->index] = ns;
    return GD_OK;
}

static int score_strip(void *user, const gd_strip *s)
{
    const irmad_pass *c = user;
    const size_t n = (size_t)s->width * (size_t)s->rows;
    double dx[MAXB], dy[MAXB];
    for (size_t i = 0; i < n; i++) {
        if (!all_finite(s, i)) {
            s->out[i] = NAN;
            continue;
        }
        for (int k = 0; k < c->p; k++) {
            dx[k] = s->before[k][i] - c->mx[k];
            dy[k] = s->after[k][i] - c->my[k];
        }
        s->out[i] = (float)mad_chi2(c, dx, dy);
    }
    return GD_OK;
}

static void free_samples(irmad_pass *c)
{
    for (int k = 0; c->samp && k < c->nstrips; k++) {
        free(c->samp[k]);
        c->samp[k] = NULL;
    }
}

/* The sample pass at c->stride; the number of pixels with data in every band in *valid. */
static int sample_pass(gd_job *job, const gd_engine_spec *spec, irmad_pass *c, size_t *valid)
{
    free_samples(c);
    int st = gd_engine_run(job, spec);
    *valid = 0;
    for (int k = 0; k < c->nstrips; k++)
        *valid += c->nvalid[k];
    return st;
}

int gd_detect_irmad(gd_job *job, const gd_grid *grid, const gd_band *before,
                    const gd_band *after, size_t nb, int max_iter, gd_score *out)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height, p = (int)nb;
    size_t n = (size_t)w * (size_t)h;
    float *xy = NULL, *wt = NULL;
    double rho[MAXB] = {0}, prev[MAXB], a[MAXB * MAXB], bm[MAXB * MAXB];
    double sxx[MAXB * MAXB], syy[MAXB * MAXB], sxy[MAXB * MAXB], mx[MAXB], my[MAXB];
    double dx[MAXB], dy[MAXB];
    int it = 0, converged = 0;
    irmad_pass c = {.p = p, .mx = mx, .my = my, .a = a, .b = bm, .rho = rho};
    gd_engine_spec spec = {.grid = grid, .before = before, .after = after, .nb = nb,
                           .fn = sample_strip, .user = &c};
    memset(out, 0, sizeof *out);
    if (p < 1 || p > MAXB)
        return gd_job_error(job, GD_EUSAGE, "IR-MAD: %d bands (1 to %d supported)", p, MAXB);
    c.nstrips = gd_engine_strips(&spec, NULL);
    c.nvalid = calloc((size_t)c.nstrips, sizeof *c.nvalid);
    c.nsamp = calloc((size_t)c.nstrips, sizeof *c.nsamp);
    c.samp = calloc((size_t)c.nstrips, sizeof *c.samp);
    if (!c.nvalid || !c.nsamp || !c.samp) {
        st = gd_job_error(job, GD_EPROC, "out of memory for IR-MAD on %dx%dx%d", w, h, p);
        goto done;
    }
    /* the stride is that of the pixels with data (at most MAX_SAMPLES of them), known only
     * after a pass: the first pass guesses that every pixel has data, and a second one runs
     * only when the count says otherwise */
    size_t valid = 0, stride;
    c.stride = n > MAX_SAMPLES ? (n + MAX_SAMPLES - 1) / MAX_SAMPLES : 1;
    gd_job_progress_push(job, 0.0, 0.3);
    st = sample_pass(job, &spec, &c, &valid);
    gd_job_progress_pop(job);
    if (st != GD_OK)
        goto done;
    if (valid < (size_t)(4 * p + 4)) {
        st = gd_job_error(job, GD_EINPUT, "IR-MAD: only %zu pixels have data in every band", valid);
        goto done;
    }
    stride = valid > MAX_SAMPLES ? (valid + MAX_SAMPLES - 1) / MAX_SAMPLES : 1;
    if (stride != c.stride) {
        c.stride = stride;
        gd_job_progress_push(job, 0.0, 0.3);
        st = sample_pass(job, &spec, &c, &valid);
        gd_job_progress_pop(job);
        if (st != GD_OK)
            goto done;
    }
    /* the samples in grid order, x then y of each: the order of every sum below */
    size_t ns = 0;
    for (int k = 0; k < c.nstrips; k++)
        ns += c.nsamp[k];
    xy = malloc(sizeof(float) * 2 * (size_t)p * (ns ? ns : 1));
    wt = malloc(sizeof(float) * (ns ? ns : 1));
    if (!xy || !wt) {
        st = gd_job_error(job, GD_EPROC, "out of memory for IR-MAD on %dx%dx%d", w, h, p);
        goto done;
    }
    for (size_t k = 0, j = 0; k < (size_t)c.nstrips; k++) {
        if (c.nsamp[k])
            memcpy(xy + j * 2 * (size_t)p, c.samp[k], sizeof(float) * 2 * (size_t)p * c.nsamp[k]);
        j += c.nsamp[k];
        free(c.samp[k]); /* the slots go as they are copied: one copy at a time */
        c.samp[k] = NULL;
    }
    for (size_t j = 0; j < ns; j++)
        wt[j] = 1.0f;
#define X(j, k) xy[(j) * 2 * (size_t)p + (size_t)(k)]
#define Y(j, k) xy[(j) * 2 * (size_t)p + (size_t)p + (size_t)(k)]
    for (int k = 0; k < p; k++)
        prev[k] = -2.0;
    for (it = 1;; it++) {
        /* weighted means and covariances over the subsample */
        double sw = 0.0;
        memset(mx, 0, sizeof mx);
        memset(my, 0, sizeof my);
        for (size_t j = 0; j < ns; j++) {
            if (wt[j] <= 0.0f)
                continue;
            sw += wt[j];
            for (int k = 0; k < p; k++) {
                mx[k] += wt[j] * X(j, k);
                my[k] += wt[j] * Y(j, k);
            }
        }
        if (!(sw > 0.0)) {
            st = gd_job_error(job, GD_EINPUT, "IR-MAD: every pixel was weighted out as change");
            goto done;
        }
        for (int k = 0; k < p; k++) {
            mx[k] /= sw;
            my[k] /= sw;
        }
        memset(sxx, 0, sizeof sxx);
        memset(syy, 0, sizeof syy);
        memset(sxy, 0, sizeof sxy);
        for (size_t j = 0; j < ns; j++) {
            double wi = wt[j];
            if (wi <= 0.0)
                continue;
            for (int k = 0; k < p; k++) {
                dx[k] = X(j, k) - mx[k];
                dy[k] = Y(j, k) - my[k];
            }
            for (int r = 0; r < p; r++) {
                double wr = wi * dx[r], vr = wi * dy[r];
                for (int q = 0; q <= r; q++) {
                    sxx[r * p + q] += wr * dx[q];
                    syy[r * p + q] += vr * dy[q];
                }
                for (int q = 0; q < p; q++)
                    sxy[r * p + q] += wr * dy[q];
            }
        }
        for (int r = 0; r < p; r++)
            for (int q = 0; q < p; q++) {
                if (q <= r) {
                    sxx[r * p + q] /= sw;
                    syy[r * p + q] /= sw;
                    sxx[q * p + r] = sxx[r * p + q];
                    syy[q * p + r] = syy[r * p + q];
                }
                sxy[r * p + q] /= sw;
            }
        /* ascending rho: MAD 1 is the least correlated pair, the most change */
        int info = 0;
        switch (gd_k_cca(p, sxx, syy, sxy, rho, a, bm, &info)) {
        case GD_K_CCA_OK:
            break;
        case GD_K_CCA_SINGULAR_Y:
            st = singular(job, "after");
            goto done;
        case GD_K_CCA_SINGULAR_X:
            st = singular(job, "before");
            goto done;
        default:
            st = gd_job_error(job, GD_EPROC, "IR-MAD: the eigenproblem did not converge (dsygv %d)",
                              info);
            goto done;
        }
        double delta = 0.0;
        for (int k = 0; k < p; k++) {
            delta = fmax(delta, fabs(rho[k] - prev[k]));
            prev[k] = rho[k];
        }
        converged = delta < 1e-6;
        if (converged || it == max_iter)
            break;
        /* new weights = no-change probability of the chi-square of the MADs */
        for (size_t j = 0; j < ns; j++) {
            for (int k = 0; k < p; k++) {
                dx[k] = X(j, k) - mx[k];
                dy[k] = Y(j, k) - my[k];
            }
            wt[j] = (float)gd_irmad_chi2_sf(p, mad_chi2(&c, dx, dy));
        }
        if ((st = gd_job_progress(job, 0.3 + 0.4 * (double)it / max_iter)) != GD_OK) {
            gd_job_error(job, st, "cancelled");
            goto done;
        }
    }
#undef X
#undef Y
    /* the statistic of every pixel from the last iteration's statistics */
    free(xy);
    xy = NULL;
    spec.fn = score_strip;
    gd_job_progress_push(job, 0.7, 1.0);
    st = gd_engine_score(job, &spec, out);
    gd_job_progress_pop(job);
    if (st != GD_OK)
        goto done;
    json_t *rj = json_array();
    for (int k = 0; k < p; k++)
        json_array_append_new(rj, json_real(rho[k]));
    json_object_set_new(gd_job_auto(job), "irmad",
                        json_pack("{s:i, s:b, s:o, s:i, s:I}", "iterations", it, "converged",
                                  converged, "canonical_correlations", rj, "degrees_of_freedom",
                                  p, "sample_stride", (json_int_t)c.stride));
    gd_job_info(job, "IR-MAD: %s after %d iterations (%zu samples); canonical correlations "
                "%.4f .. %.4f", converged ? "converged" : "not converged", it, ns, rho[0],
                rho[p - 1]);
    if (!converged)
        gd_job_warn(job, "IR-MAD did not converge in %d iterations (canonical correlations "
                         "still moving): the statistic is from the last iteration", it);
done:
    free_samples(&c);
    free(c.samp);
    free(c.nsamp);
    free(c.nvalid);
    free(xy);
    free(wt);
    if (st != GD_OK)
        gd_score_free(out);
    return st;
}
