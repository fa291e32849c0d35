/* gd_timeseries.h: per-pixel time-series kernels for monitoring (robust baseline, gamma
 * omnibus change test, harmonic fit); pure C, scalar, no GDAL. */
#ifndef GD_TIMESERIES_H
#define GD_TIMESERIES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Median and robust spread of the finite values of v[0..n) (NaN = unobserved, +-Inf are
 * skipped too). tmp holds n floats (scratch, v is left as it is). sigma = 1.4826 * MAD,
 * the consistent estimate of a normal standard deviation. Even counts take the mean of the
 * two middle values. Returns the number of finite values; with none, median and sigma are
 * NaN. */
int gd_k_median_mad(const float *v, int n, float *tmp, float *median, float *sigma);

/* Two-sided p-value that one new intensity y (equivalent number of looks enl) has the mean
 * m of a stable segment of nseg dates (m = mean of those nseg intensities, same enl): the
 * likelihood-ratio test R_j of Conradsen, Nielsen & Skriver (2016) for p = 1, evaluated
 * exactly. Under H0 r = y/m ~ F(2 enl, 2 enl nseg); R_j is unimodal in r with its maximum at
 * r = 1, so the p-value is P(F <= r_lo) + P(F >= r_hi) where r_lo < 1 < r_hi have the same
 * R_j as the observation (not the equal-tailed 2 min(F, 1-F)). *decrease (may be NULL) is 1
 * when y < m. Returns NaN for y < 0, m <= 0, nseg < 1, enl <= 0 or a non-finite input. */
double gd_k_gamma_change_p(double y, double m, int nseg, double enl, int *decrease);

/* Sequential omnibus test over one pixel's series x[0..k) of intensities with looks enl.
 * NaN, +-Inf and values <= 0 are unobserved (a zero intensity is a fill value in SAR
 * products, not a gamma sample) and skipped. Going forward, each observation j is tested
 * against the segment of observations since the last change (R_j, gd_k_gamma_change_p);
 * change[j] = 1 where p < alpha, and the segment restarts at j (j is its first date);
 * otherwise change[j] = 0 (also where unobserved and at the first observation). This is
 * the change-point procedure of Conradsen et al. 2016 (section "when did change occur")
 * without gating on the omnibus p-value: callers that want the gate compare *p_omni
 * (may be NULL) with alpha. *p_omni is the p-value of the omnibus Q (all observed dates
 * equal) with the paper's rho / omega2 correction of the chi-square approximation; 1
 * with fewer than 2 observations. Returns the number of changes, or -1 for k < 0,
 * enl <= 0 or alpha outside (0, 1). */
int gd_k_omnibus_gamma(const float *x, int k, double enl, double alpha, uint8_t *change,
                       double *p_omni);

/* Dual polarisation (VV and VH intensities, the diagonal-only 2 x 2 covariance of
 * Sentinel-1 GRD; Conradsen, Nielsen & Skriver 2016 with p = 2): the determinant of a
 * diagonal matrix is the product of its entries, so the likelihood ratio R_j of the new
 * pair y[0..1] against the means m[0..1] of a stable segment of nseg dates is the product
 * of the two bands' gamma ratios and -2 ln R_j their sum; each band has its own looks
 * enl[b] (equal looks is the paper's case). p-value P(-2 ln R_j >= observed) under H0:
 *   _exact   the distribution of the sum of the two independent bands' exact terms
 *            (each ratio y/m ~ F(2L, 2L nseg)), by quadrature over band 0; the reference;
 *   _approx  the paper's chi-square approximation: the sum of the bands' -2 rho_j ln R_j
 *            is chi-square(2) with the omega2 term towards chi-square(6) (f = p = 2);
 *   gd_k_gamma2_change_p  the one the monitor uses (see its definition for which and why).
 * *decrease (may be NULL) is 1 when the new determinant is below the segment's,
 * (y0/m0)(y1/m1) < 1. NaN for y <= 0, m <= 0, nseg < 1, enl <= 0 or a non-finite input. */
double gd_k_gamma2_change_p(const double y[2], const double m[2], int nseg, const double enl[2],
                            int *decrease);
double gd_k_gamma2_change_p_exact(const double y[2], const double m[2], int nseg,
                                  const double enl[2], int *decrease);
double gd_k_gamma2_change_p_approx(const double y[2], const double m[2], int nseg,
                                   const double enl[2], int *decrease);

/* gd_k_omnibus_gamma for dual-pol series x0 (VV) and x1 (VH) with looks enl[0], enl[1]: a
 * date is observed only when both intensities are (finite and > 0); the sequential R_j
 * tests use gd_k_gamma2_change_p; *p_omni is the omnibus p-value, -2 ln Q the sum of the
 * bands', f = 2 (k - 1), rho and omega2 per band (p = 1) with omega2 summed. Same returns
 * and change[] as gd_k_omnibus_gamma. */
int gd_k_omnibus_gamma2(const float *x0, const float *x1, int k, const double enl[2],
                        double alpha, uint8_t *change, double *p_omni);

/* Least-squares harmonic fit v ~ c0 + sum_{h=1..order} a_h cos(2 pi h t) + b_h sin(2 pi h t)
 * over the samples where both t_years (decimal years) and v are finite. coef receives
 * 1 + 2 order values in the order c0, a_1, b_1, a_2, b_2, ... ; *rmse (may be NULL) the
 * residual standard deviation sqrt(SSR / (used - (1 + 2 order))), NaN when used equals the
 * number of coefficients. order 0..8. Returns the number of samples used, or -1 (coef all
 * NaN) when they are fewer than the coefficients or do not determine them (e.g. every
 * sample on the same day of the year). */
int gd_k_harmonic_fit(const float *t_years, const float *v, int n, int order, double *coef,
                      double *rmse);

/* Evaluates a fit of gd_k_harmonic_fit at t (decimal years). */
double gd_k_harmonic_eval(const double *coef, int order, double t_years);

/* Distribution tails used by the tests above, exposed for callers that threshold other
 * statistics (e.g. a robust z): upper tail of chi-square with f degrees of freedom, and
 * lower (upper = 0) or upper (upper = 1) tail of F(d1, d2) at x. NaN for bad arguments. */
double gd_k_chi2_sf(double x, double f);
double gd_k_f_tail(double x, double d1, double d2, int upper);

#ifdef __cplusplus
}
#endif
#endif
