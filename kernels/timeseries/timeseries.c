/* timeseries.c: per-pixel series kernels: robust baseline (median, MAD), the gamma
 * likelihood-ratio change tests of Conradsen, Nielsen & Skriver (2016) for p = 1, and a
 * least-squares harmonic seasonal fit. */
#include "gd_timeseries.h"
#include "ts_internal.h"

#include <math.h>
#include <string.h>

/* ---- median / MAD ---- */

/* k-th smallest of a[0..n) (Hoare's selection; reorders a). Median-of-three pivot keeps
 * sorted and constant runs, common in per-pixel series, away from the quadratic case. */
static float select_kth(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float pivot = (x < y) ? ((y < z) ? y : (x < z ? z : x)) : ((x < z) ? x : (y < z ? z : y));
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* median of a[0..n), n >= 1 (reorders a); for even n the mean of the two middle values:
 * after selecting the upper middle, the lower one is the largest value left of it. */
static double median_inplace(float *a, int n)
{
    int h = n / 2;
    double hi = select_kth(a, n, h);
    if (n % 2)
        return hi;
    float lo = a[0];
    for (int i = 1; i < h; i++)
        if (a[i] > lo)
            lo = a[i];
    return 0.5 * ((double)lo + hi);
}

int gd_k_median_mad(const float *v, int n, float *tmp, float *median, float *sigma)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            tmp[m++] = v[i];
    if (m == 0) {
        *median = NAN;
        *sigma = NAN;
        return 0;
    }
    double med = median_inplace(tmp, m);
    /* deviations from the values again (tmp was reordered, and is as good a source) */
    for (int i = 0; i < m; i++)
        tmp[i] = (float)fabs((double)tmp[i] - med);
    double mad = median_inplace(tmp, m);
    *median = (float)med;
    *sigma = (float)(1.4826 * mad);
    return m;
}

/* ---- gamma change test R_j (p = 1) ---- */

/* ln R_j as a function of s = ln r (r = y / m), up to a constant: the LR statistic of a new
 * gamma sample against the mean of nseg earlier ones is r^L (r + nseg)^-(nseg+1)L; its
 * maximum is at r = 1 (s = 0). */
static double lr_shape(double s, double nseg)
{
    /* ln(e^s + N) without overflow for large s */
    double t = s > 0.0 ? s + log1p(nseg * exp(-s)) : log(exp(s) + nseg);
    return s - (nseg + 1.0) * t;
}

/* d lr_shape / ds = N (1 - e^s) / (e^s + N) */
static double lr_slope(double s, double nseg)
{
    if (s > 0.0) {
        double e = exp(-s);
        return nseg * (e - 1.0) / (1.0 + nseg * e);
    }
    double e = exp(s);
    return nseg * (1.0 - e) / (e + nseg);
}

/* the s on the other side of 0 where lr_shape equals target (< its maximum); side = +1
 * looks at s > 0, -1 at s < 0. Bracket by doubling, then Newton kept inside the bracket
 * (bisection when a step leaves it). */
static double lr_other_root(double target, double nseg, int side)
{
    double inner = 0.0, outer = side;
    for (int i = 0; i < 2000 && lr_shape(outer, nseg) > target; i++)
        outer *= 2.0;
    double s = 0.5 * (inner + outer);
    for (int it = 0; it < 200; it++) {
        double g = lr_shape(s, nseg) - target;
        if (g > 0.0)
            inner = s; /* still above the target: the root is further out */
        else
            outer = s;
        double slope = lr_slope(s, nseg);
        double next = slope != 0.0 ? s - g / slope : 0.5 * (inner + outer);
        double lo = inner < outer ? inner : outer, hi = inner < outer ? outer : inner;
        if (!(next > lo && next < hi))
            next = 0.5 * (inner + outer);
        if (fabs(next - s) <= 1e-13 * (1.0 + fabs(s)))
            return next;
        s = next;
    }
    return s;
}

double gd_k_gamma_change_p(double y, double m, int nseg, double enl, int *decrease)
{
    if (decrease)
        *decrease = 0;
    if (!isfinite(y) || !isfinite(m) || !isfinite(enl) || y < 0.0 || !(m > 0.0) || nseg < 1 ||
        !(enl > 0.0))
        return NAN;
    if (decrease)
        *decrease = y < m;
    double d1 = 2.0 * enl, d2 = 2.0 * enl * nseg, r = y / m;
    if (r == 1.0)
        return 1.0;
    if (r == 0.0 || isinf(r))
        return 0.0;
    double s = log(r), N = nseg;
    double target = lr_shape(s, N);
    double other = lr_other_root(target, N, s < 0.0 ? +1 : -1);
    double r_lo = exp(s < 0.0 ? s : other), r_hi = exp(s < 0.0 ? other : s);
    double p = gd_k_f_tail(r_lo, d1, d2, 0) + gd_k_f_tail(r_hi, d1, d2, 1);
    return p > 1.0 ? 1.0 : p;
}

/* ---- sequential omnibus test ---- */

static int observed(float v) { return isfinite(v) && v > 0.0f; }

/* p-value of the omnibus Q = k^k prod x_i / (sum x_i)^k (all to the power enl) for k
 * observations: -2 rho ln Q against chi-square(k - 1) with the omega2 term towards
 * chi-square(k + 3) (Conradsen et al. 2016, eqs. for p = 1). */
static double omnibus_p(const float *x, int k, double enl)
{
    double sum = 0.0;
    int nobs = 0;
    for (int j = 0; j < k; j++)
        if (observed(x[j])) {
            sum += x[j];
            nobs++;
        }
    if (nobs < 2)
        return 1.0;
    double mean = sum / nobs, lnq = 0.0;
    /* sum of ln(x / mean): one term per date, no difference of large sums */
    for (int j = 0; j < k; j++)
        if (observed(x[j]))
            lnq += log(x[j] / mean);
    lnq *= enl;
    if (lnq > 0.0) /* rounding: ln Q <= 0 by the AM-GM inequality */
        lnq = 0.0;
    double kk = nobs, f = kk - 1.0;
    double rho = 1.0 - (kk / enl - 1.0 / (enl * kk)) / (6.0 * (kk - 1.0));
    double omega2 = -(kk - 1.0) / 4.0 * (1.0 - 1.0 / rho) * (1.0 - 1.0 / rho);
    double z = -2.0 * rho * lnq;
    double p = (1.0 - omega2) * gd_k_chi2_sf(z, f) + omega2 * gd_k_chi2_sf(z, f + 4.0);
    return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

int gd_k_omnibus_gamma(const float *x, int k, double enl, double alpha, uint8_t *change,
                       double *p_omni)
{
    if (k < 0 || !(enl > 0.0) || !isfinite(enl) || !(alpha > 0.0 && alpha < 1.0)) {
        if (p_omni)
            *p_omni = NAN;
        return -1;
    }
    double seg_sum = 0.0;
    int seg_n = 0, nchange = 0;
    for (int j = 0; j < k; j++) {
        change[j] = 0;
        if (!observed(x[j]))
            continue;
        if (seg_n > 0) {
            double p = gd_k_gamma_change_p(x[j], seg_sum / seg_n, seg_n, enl, NULL);
            if (p < alpha) {
                change[j] = 1;
                nchange++;
                seg_sum = 0.0;
                seg_n = 0;
            }
        }
        seg_sum += x[j];
        seg_n++;
    }
    if (p_omni)
        *p_omni = omnibus_p(x, k, enl);
    return nchange;
}

/* ---- harmonic fit ---- */

#define HMAX 8
#define PMAX (1 + 2 * HMAX)

static void harmonic_row(double t, int order, double *row)
{
    row[0] = 1.0;
    for (int h = 1; h <= order; h++) {
        /* the phase only needs the fraction of the year: keeps 2 pi h t small and exact */
        double frac = t - floor(t);
        double w = 2.0 * M_PI * h * frac;
        row[2 * h - 1] = cos(w);
        row[2 * h] = sin(w);
    }
}

double gd_k_harmonic_eval(const double *coef, int order, double t_years)
{
    if (order < 0 || order > HMAX)
        return NAN;
    double row[PMAX];
    harmonic_row(t_years, order, row);
    double v = 0.0;
    for (int i = 0; i < 1 + 2 * order; i++)
        v += coef[i] * row[i];
    return v;
}

int gd_k_harmonic_fit(const float *t_years, const float *v, int n, int order, double *coef,
                      double *rmse)
{
    if (rmse)
        *rmse = NAN;
    if (order < 0 || order > HMAX)
        return -1;
    int p = 1 + 2 * order;
    for (int i = 0; i < p; i++)
        coef[i] = NAN;
    /* normal equations in double: p <= 17 columns bounded by 1, so the squared condition
     * number is harmless unless the dates do not span the year, which the pivot test
     * below catches */
    double a[PMAX][PMAX], b[PMAX], row[PMAX];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    int used = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(t_years[i]) || !isfinite(v[i]))
            continue;
        harmonic_row(t_years[i], order, row);
        for (int r = 0; r < p; r++) {
            b[r] += row[r] * v[i];
            for (int c = 0; c <= r; c++)
                a[r][c] += row[r] * row[c];
        }
        used++;
    }
    if (used < p)
        return -1;
    /* Cholesky a = L L^T in place (lower triangle); a pivot that loses all but 1e-9 of its
     * column's own energy means that column is (nearly) a combination of the others */
    for (int j = 0; j < p; j++) {
        double d = a[j][j];
        for (int c = 0; c < j; c++)
            d -= a[j][c] * a[j][c];
        if (!(d > 1e-9 * a[j][j]))
            return -1;
        double l = sqrt(d);
        a[j][j] = l;
        for (int r = j + 1; r < p; r++) {
            double s = a[r][j];
            for (int c = 0; c < j; c++)
                s -= a[r][c] * a[j][c];
            a[r][j] = s / l;
        }
    }
    double z[PMAX], x[PMAX];
    for (int r = 0; r < p; r++) {
        double s = b[r];
        for (int c = 0; c < r; c++)
            s -= a[r][c] * z[c];
        z[r] = s / a[r][r];
    }
    for (int r = p - 1; r >= 0; r--) {
        double s = z[r];
        for (int c = r + 1; c < p; c++)
            s -= a[c][r] * x[c];
        x[r] = s / a[r][r];
    }
    for (int i = 0; i < p; i++)
        coef[i] = x[i];
    if (rmse && used > p) {
        double ssr = 0.0;
        for (int i = 0; i < n; i++) {
            if (!isfinite(t_years[i]) || !isfinite(v[i]))
                continue;
            double e = v[i] - gd_k_harmonic_eval(coef, order, t_years[i]);
            ssr += e * e;
        }
        *rmse = sqrt(ssr / (used - p));
    }
    return used;
}
