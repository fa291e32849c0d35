/* eigen.c: the small dense symmetric eigenproblems of PCA-kmeans and IR-MAD (LAPACKE). */
#include "gd_kernels.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

int gd_k_eigh(int p, double *restrict a, double *restrict ev)
{
    if (p < 1 || p > GD_K_EIG_MAX)
        return -1;
    return (int)LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', p, a, p, ev);
}

int gd_k_pca_keep(const double *restrict ev, int p, double frac, double *kept)
{
    double total = 0.0, acc = 0.0;
    int s = 0;
    for (int a = 0; a < p; a++)
        total += ev[a] > 0.0 ? ev[a] : 0.0;
    if (kept)
        *kept = 0.0;
    if (!(total > 0.0))
        return 0;
    /* the leading (largest) components first: ev is ascending */
    while (s < p && acc < frac * total) {
        acc += ev[p - 1 - s] > 0.0 ? ev[p - 1 - s] : 0.0;
        s++;
    }
    if (kept)
        *kept = acc / total;
    return s;
}

int gd_k_cca(int p, const double *restrict sxx, const double *restrict syy,
             const double *restrict sxy, double *restrict rho, double *restrict a,
             double *restrict b, int *info)
{
    double bm[GD_K_EIG_MAX * GD_K_EIG_MAX], z[GD_K_EIG_MAX * GD_K_EIG_MAX], ev[GD_K_EIG_MAX];
    if (info)
        *info = 0;
    if (p < 1 || p > GD_K_EIG_MAX)
        return GD_K_CCA_BADARG;
    /* a pivot that vanishes relative to the largest variance is a singular matrix even
     * where the factorisation itself goes through on rounding noise */
    double dmax = 0.0;
    for (int k = 0; k < p; k++)
        dmax = fmax(dmax, fmax(sxx[k * p + k], syy[k * p + k]));
    /* Z = Syy^-1 Syx through a Cholesky factor of Syy */
    memcpy(bm, syy, sizeof(double) * (size_t)(p * p));
    for (int r = 0; r < p; r++)
        for (int c = 0; c < p; c++)
            z[r * p + c] = sxy[c * p + r];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', p, bm, p) != 0)
        return GD_K_CCA_SINGULAR_Y;
    for (int k = 0; k < p; k++)
        if (!(bm[k * p + k] * bm[k * p + k] > 1e-12 * dmax))
            return GD_K_CCA_SINGULAR_Y;
    if (LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', p, p, bm, p, z, p) != 0)
        return GD_K_CCA_SINGULAR_Y;
    /* Sxy Syy^-1 Syx a = rho^2 Sxx a: the canonical correlation problem */
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
    lapack_int li = LAPACKE_dsygv(LAPACK_ROW_MAJOR, 1, 'V', 'U', p, a, p, bm, p, ev);
    if (li > p)
        return GD_K_CCA_SINGULAR_X; /* Sxx is not positive definite */
    if (li != 0) {
        if (info)
            *info = (int)li;
        return GD_K_CCA_NOCONV;
    }
    /* bm now holds the Cholesky factor of Sxx */
    for (int k = 0; k < p; k++)
        if (!(bm[k * p + k] * bm[k * p + k] > 1e-12 * dmax))
            return GD_K_CCA_SINGULAR_X;
    for (int k = 0; k < p; k++)
        rho[k] = sqrt(fmin(1.0, fmax(0.0, ev[k])));
    /* b_k = Syy^-1 Syx a_k / rho_k has unit variance and correlation +rho_k */
    for (int k = 0; k < p; k++) {
        double rk = rho[k] > 1e-9 ? rho[k] : 1e-9;
        for (int r = 0; r < p; r++) {
            double t = 0.0;
            for (int c = 0; c < p; c++)
                t += z[r * p + c] * a[c * p + k];
            b[r * p + k] = t / rk;
        }
    }
    return GD_K_CCA_OK;
}
