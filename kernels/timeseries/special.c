/* special.c: regularised incomplete beta and gamma functions for the p-values of the
 * time-series tests (chi-square and F tails), accurate in the far tails. */
#include "gd_timeseries.h"
#include "ts_internal.h"

#include <math.h>

#define TINY 1e-300
#define EPS 1e-15
#define MAXIT 100000

/* lgamma_r: glibc's lgamma writes the global signgam, a data race when tiles run on
 * several threads. */
static double lngamma(double a)
{
    int sign;
    return lgamma_r(a, &sign);
}

/* -ln B(a, b) = ln(Gamma(a + b) / (Gamma(a) Gamma(b))) */
static double neg_ln_beta(double a, double b)
{
    return lngamma(a + b) - lngamma(a) - lngamma(b);
}

/* Continued fraction of I_x(a, b) (Abramowitz & Stegun 26.5.8) by the modified Lentz
 * method; converges fast for x < (a + 1) / (a + b + 2). */
static double beta_cf(double a, double b, double x)
{
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < TINY)
        d = TINY;
    d = 1.0 / d;
    double f = d;
    for (int m = 1; m <= MAXIT; m++) {
        double m2 = 2.0 * m;
        /* even step d_{2m} */
        double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + num * d;
        c = 1.0 + num / c;
        d = fabs(d) < TINY ? 1.0 / TINY : 1.0 / d;
        if (fabs(c) < TINY)
            c = TINY;
        f *= d * c;
        /* odd step d_{2m+1} */
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + num * d;
        c = 1.0 + num / c;
        d = fabs(d) < TINY ? 1.0 / TINY : 1.0 / d;
        if (fabs(c) < TINY)
            c = TINY;
        double delta = d * c;
        f *= delta;
        if (fabs(delta - 1.0) < EPS)
            break;
    }
    return f;
}

/* I_x(a, b) (upper = 0) or 1 - I_x(a, b) (upper = 1), with y = 1 - x passed separately so
 * that a tail near 1 keeps its digits (callers build x and y from the same ratio). The
 * fraction is always evaluated on the side where it converges, and the requested tail is
 * returned directly when it is the small one. */
double gd_ts_ibeta(double a, double b, double x, double y, int upper)
{
    if (!(a > 0.0) || !(b > 0.0) || isnan(x) || isnan(y))
        return NAN;
    if (x <= 0.0)
        return upper ? 1.0 : 0.0;
    if (y <= 0.0)
        return upper ? 0.0 : 1.0;
    double lfront = a * log(x) + b * log(y) + neg_ln_beta(a, b);
    if (x < (a + 1.0) / (a + b + 2.0)) {
        double lower = exp(lfront) * beta_cf(a, b, x) / a;
        return upper ? 1.0 - lower : lower;
    }
    double up = exp(lfront) * beta_cf(b, a, y) / b;
    return upper ? up : 1.0 - up;
}

/* Regularised upper incomplete gamma Q(a, x): the series of P below a + 1, Legendre's
 * continued fraction of Q (Lentz) above, each where it converges quickly. */
double gd_ts_gamma_q(double a, double x)
{
    if (!(a > 0.0) || isnan(x))
        return NAN;
    if (x <= 0.0)
        return 1.0;
    if (isinf(x))
        return 0.0;
    double lfront = -x + a * log(x) - lngamma(a);
    if (x < a + 1.0) {
        double term = 1.0 / a, sum = term;
        for (int n = 1; n < MAXIT; n++) {
            term *= x / (a + n);
            sum += term;
            if (fabs(term) < fabs(sum) * EPS)
                break;
        }
        double p = exp(lfront) * sum;
        return p >= 1.0 ? 0.0 : 1.0 - p;
    }
    double b = x + 1.0 - a, c = 1.0 / TINY, d = 1.0 / b, f = d;
    for (int i = 1; i < MAXIT; i++) {
        double num = -i * (i - a);
        b += 2.0;
        d = num * d + b;
        if (fabs(d) < TINY)
            d = TINY;
        c = b + num / c;
        if (fabs(c) < TINY)
            c = TINY;
        d = 1.0 / d;
        double delta = d * c;
        f *= delta;
        if (fabs(delta - 1.0) < EPS)
            break;
    }
    return exp(lfront) * f;
}

double gd_k_chi2_sf(double x, double f)
{
    if (!(f > 0.0) || isnan(x))
        return NAN;
    return gd_ts_gamma_q(0.5 * f, 0.5 * x);
}

double gd_k_f_tail(double x, double d1, double d2, int upper)
{
    if (!(d1 > 0.0) || !(d2 > 0.0) || isnan(x))
        return NAN;
    if (x <= 0.0)
        return upper ? 1.0 : 0.0;
    if (isinf(x))
        return upper ? 0.0 : 1.0;
    double den = d1 * x + d2;
    return gd_ts_ibeta(0.5 * d1, 0.5 * d2, d1 * x / den, d2 / den, upper);
}
