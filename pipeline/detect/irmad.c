/* irmad.c: iteratively re-weighted MAD (Nielsen 2007): chi-square change statistic. */
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <lapacke.h>
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

int gd_detect_irmad(gd_job *job, const gd_grid *grid, const gd_band *before,
                    const gd_band *after, size_t nb, int max_iter, gd_score *out)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height, p = (int)nb;
    size_t n = (size_t)w * (size_t)h;
    float *x = NULL, *y = NULL, *wt = NULL;
    double rho[MAXB] = {0}, prev[MAXB], ev[MAXB], a[MAXB * MAXB], bm[MAXB * MAXB], z[MAXB * MAXB];
    double sxx[MAXB * MAXB], syy[MAXB * MAXB], sxy[MAXB * MAXB], mx[MAXB], my[MAXB];
    double dx[MAXB], dy[MAXB];
    int it = 0, converged = 0;
    memset(out, 0, sizeof *out);
    if (p < 1 || p > MAXB)
        return gd_job_error(job, GD_EUSAGE, "IR-MAD: %d bands (1 to %d supported)", p, MAXB);
    x = malloc(sizeof(float) * n * nb);
    y = malloc(sizeof(float) * n * nb);
    wt = malloc(sizeof(float) * n);
    gd_score_alloc(out, w, h);
    if (!x || !y || !wt || !out->data) {
        st = gd_job_error(job, GD_EPROC, "out of memory for IR-MAD on %dx%dx%d", w, h, p);
        goto done;
    }
    /* band-sequential in memory: x[k*n + i] */
    for (size_t k = 0; k < nb; k++) {
        if ((st = gd_band_read(job, &before[k], w, 0, h, x + k * n)) != GD_OK ||
            (st = gd_band_read(job, &after[k], w, 0, h, y + k * n)) != GD_OK)
            goto done;
        if (gd_job_progress(job, 0.3 * (double)(k + 1) / (double)nb) != GD_OK) {
            st = gd_job_error(job, GD_ECANCEL, "cancelled");
            goto done;
        }
    }
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t k = 0; k < nb && ok; k++)
            ok = isfinite(x[k * n + i]) && isfinite(y[k * n + i]);
        wt[i] = ok ? 1.0f : 0.0f;
        valid += ok;
    }
    if (valid < (size_t)(4 * p + 4)) {
        st = gd_job_error(job, GD_EINPUT, "IR-MAD: only %zu pixels have data in every band", valid);
        goto done;
    }
    size_t stride = valid > MAX_SAMPLES ? (valid + MAX_SAMPLES - 1) / MAX_SAMPLES : 1;
    for (int k = 0; k < p; k++)
        prev[k] = -2.0;
    for (it = 1; it <= max_iter; it++) {
        /* weighted means and covariances over the subsample */
        double sw = 0.0;
        memset(mx, 0, sizeof mx);
        memset(my, 0, sizeof my);
        for (size_t i = 0; i < n; i += stride) {
            if (wt[i] <= 0.0f)
                continue;
            sw += wt[i];
            for (int k = 0; k < p; k++) {
                mx[k] += wt[i] * x[(size_t)k * n + i];
                my[k] += wt[i] * y[(size_t)k * n + i];
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
        for (size_t i = 0; i < n; i += stride) {
            double wi = wt[i];
            if (wi <= 0.0)
                continue;
            for (int k = 0; k < p; k++) {
                dx[k] = x[(size_t)k * n + i] - mx[k];
                dy[k] = y[(size_t)k * n + i] - my[k];
            }
            for (int r = 0; r < p; r++) {
                double wr = wi * dx[r], vr = wi * dy[r];
                for (int c = 0; c <= r; c++) {
                    sxx[r * p + c] += wr * dx[c];
                    syy[r * p + c] += vr * dy[c];
                }
                for (int c = 0; c < p; c++)
                    sxy[r * p + c] += wr * dy[c];
            }
        }
        for (int r = 0; r < p; r++)
            for (int c = 0; c < p; c++) {
                if (c <= r) {
                    sxx[r * p + c] /= sw;
                    syy[r * p + c] /= sw;
                    sxx[c * p + r] = sxx[r * p + c];
                    syy[c * p + r] = syy[r * p + c];
                }
                sxy[r * p + c] /= sw;
            }
        /* Z = Syy^-1 Syx through a Cholesky factor; a failed factorisation or a
         * vanishing pivot relative to the largest variance means a singular Syy */
        double dmax = 0.0;
        for (int k = 0; k < p; k++)
            dmax = fmax(dmax, fmax(sxx[k * p + k], syy[k * p + k]));
        memcpy(bm, syy, sizeof(double) * (size_t)(p * p));
        for (int r = 0; r < p; r++)
            for (int c = 0; c < p; c++)
                z[r * p + c] = sxy[c * p + r];
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', p, bm, p) != 0) {
            st = singular(job, "after");
            goto done;
        }
        for (int k = 0; k < p; k++)
            if (!(bm[k * p + k] * bm[k * p + k] > 1e-12 * dmax)) {
                st = singular(job, "after");
                goto done;
            }
        if (LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', p, p, bm, p, z, p) != 0) {
            st = singular(job, "after");
            goto done;
        }
        /* Sxy Syy^-1 Syx a = rho^2 Sxx a, the canonical correlation problem */
        for (int r = 0; r < p; r++)
            for (int c = 0; c < p; c++) {
                double t = 0.0;
                for (int k = 0; k < p; k++)
                    t += sxy[r * p + k] * z[k * p + c];
                a[r * p + c] = t;
            }
        for (int r = 0; r < p; r++) /* symmetric up to rounding */
            for (int c = 0; c < r; c++)
                a[r * p + c] = a[c * p + r] = 0.5 * (a[r * p + c] + a[c * p + r]);
        memcpy(bm, sxx, sizeof(double) * (size_t)(p * p));
        lapack_int info = LAPACKE_dsygv(LAPACK_ROW_MAJOR, 1, 'V', 'U', p, a, p, bm, p, ev);
        if (info > p) {
            st = singular(job, "before");
            goto done;
        }
        if (info != 0) {
            st = gd_job_error(job, GD_EPROC, "IR-MAD: the eigenproblem did not converge (dsygv %d)",
                              (int)info);
            goto done;
        }
        for (int k = 0; k < p; k++)
            if (!(bm[k * p + k] * bm[k * p + k] > 1e-12 * dmax)) {
                st = singular(job, "before");
                goto done;
            }
        /* ascending rho^2: MAD 1 is the least correlated pair, the most change */
        double delta = 0.0;
        for (int k = 0; k < p; k++) {
            rho[k] = sqrt(fmin(1.0, fmax(0.0, ev[k])));
            delta = fmax(delta, fabs(rho[k] - prev[k]));
            prev[k] = rho[k];
        }
        /* b_k = Syy^-1 Syx a_k / rho_k has unit variance and correlation +rho_k */
        for (int k = 0; k < p; k++) {
            double rk = rho[k] > 1e-9 ? rho[k] : 1e-9;
            for (int r = 0; r < p; r++) {
                double t = 0.0;
                for (int c = 0; c < p; c++)
                    t += z[r * p + c] * a[c * p + k];
                bm[r * p + k] = t / rk;
            }
        }
        /* chi-square of the standardised MADs; new weights = no-change probability */
        int last = delta < 1e-6 || it == max_iter;
        for (size_t i = 0; i < n; i++) {
            int ok = 1;
            for (int k = 0; k < p && ok; k++)
                ok = isfinite(x[(size_t)k * n + i]) && isfinite(y[(size_t)k * n + i]);
            if (!ok) {
                if (last)
                    out->data[i] = NAN;
                continue;
            }
            if (!last && i % stride != 0)
                continue;
            for (int k = 0; k < p; k++) {
                dx[k] = x[(size_t)k * n + i] - mx[k];
                dy[k] = y[(size_t)k * n + i] - my[k];
            }
            double chi2 = 0.0;
            for (int k = 0; k < p; k++) {
                double u = 0.0, v = 0.0;
                for (int r = 0; r < p; r++) {
                    u += a[r * p + k] * dx[r];
                    v += bm[r * p + k] * dy[r];
                }
                double var = 2.0 * (1.0 - rho[k]);
                chi2 += (u - v) * (u - v) / (var > 1e-12 ? var : 1e-12);
            }
            wt[i] = (float)gd_irmad_chi2_sf(p, chi2);
            if (last)
                out->data[i] = (float)chi2;
        }
        if (delta < 1e-6) {
            converged = 1;
            break;
        }
        if ((st = gd_job_progress(job, 0.3 + 0.7 * (double)it / max_iter)) != GD_OK) {
            gd_job_error(job, st, "cancelled");
            goto done;
        }
    }
    if (it > max_iter)
        it = max_iter;
    out->valid = gd_k_minmax(out->data, n, &out->min, &out->max);
    json_t *rj = json_array();
    for (int k = 0; k < p; k++)
        json_array_append_new(rj, json_real(rho[k]));
    json_object_set_new(gd_job_auto(job), "irmad",
                        json_pack("{s:i, s:b, s:o, s:i, s:I}", "iterations", it, "converged",
                                  converged, "canonical_correlations", rj, "degrees_of_freedom",
                                  p, "sample_stride", (json_int_t)stride));
    gd_job_info(job, "IR-MAD: %s after %d iterations; canonical correlations %.4f .. %.4f",
                converged ? "converged" : "not converged", it, rho[0], rho[p - 1]);
    if (!converged)
        gd_job_warn(job, "IR-MAD did not converge in %d iterations (canonical correlations "
                         "still moving): the statistic is from the last iteration", it);
done:
    free(x);
    free(y);
    free(wt);
    if (st != GD_OK)
        gd_score_free(out);
    return st;
}
