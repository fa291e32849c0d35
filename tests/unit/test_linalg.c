/* test_linalg.c: cmocka tests of the eigen kernels (kernels/linalg): gd_k_eigh and the
 * 90 % component choice of PCA-kmeans, gd_k_cca of IR-MAD, against known answers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gd_kernels.h"

#include "test_rng.h"

#define P 6
#define SQRT2 1.4142135623730951
#define SQRT1_2 0.7071067811865476

/* |x - want| <= tol, with the values in the message when it is not */
static void near(double x, double want, double tol)
{
    if (!(fabs(x - want) <= tol))
        fail_msg("%.17g is not within %g of %.17g", x, tol, want);
}

/* m = u' s v (all p x p, row-major) */
static void sandwich(int p, const double *u, const double *s, const double *v, double *m)
{
    for (int r = 0; r < p; r++)
        for (int c = 0; c < p; c++) {
            double t = 0.0;
            for (int i = 0; i < p; i++)
                for (int j = 0; j < p; j++)
                    t += u[i * p + r] * s[i * p + j] * v[j * p + c];
            m[r * p + c] = t;
        }
}

/* a random orthogonal matrix: Gram-Schmidt on Gaussian columns */
static void random_orthogonal(int p, double *q)
{
    for (int i = 0; i < p * p; i++)
        q[i] = lcg_gauss();
    for (int k = 0; k < p; k++) {
        for (int j = 0; j < k; j++) {
            double d = 0.0;
            for (int r = 0; r < p; r++)
                d += q[r * p + k] * q[r * p + j];
            for (int r = 0; r < p; r++)
                q[r * p + k] -= d * q[r * p + j];
        }
        double n = 0.0;
        for (int r = 0; r < p; r++)
            n += q[r * p + k] * q[r * p + k];
        n = sqrt(n);
        for (int r = 0; r < p; r++)
            q[r * p + k] /= n;
    }
}

static void test_eigh_2x2(void **state)
{
    (void)state;
    /* [[2, 1], [1, 2]]: 1 along (1, -1), 3 along (1, 1) */
    double a[4] = {2, 1, 1, 2}, ev[2];
    assert_int_equal(gd_k_eigh(2, a, ev), 0);
    near(ev[0], 1.0, 1e-14);
    near(ev[1], 3.0, 1e-14);
    near(fabs(a[0]), SQRT1_2, 1e-14);
    near(a[0] * a[2], -0.5, 1e-14); /* opposite signs */
    near(a[1] * a[3], 0.5, 1e-14);  /* same signs */
}

static void test_eigh_3x3(void **state)
{
    (void)state;
    /* the 1-D Laplacian: 2 - sqrt 2, 2, 2 + sqrt 2; the middle vector (1, 0, -1)/sqrt 2 */
    double a[9] = {2, -1, 0, -1, 2, -1, 0, -1, 2}, ev[3];
    assert_int_equal(gd_k_eigh(3, a, ev), 0);
    near(ev[0], 2.0 - SQRT2, 1e-14);
    near(ev[1], 2.0, 1e-14);
    near(ev[2], 2.0 + SQRT2, 1e-14);
    near(fabs(a[0 * 3 + 1]), SQRT1_2, 1e-14);
    near(a[1 * 3 + 1], 0.0, 1e-14);
    near(a[0 * 3 + 1] + a[2 * 3 + 1], 0.0, 1e-14);
}

/* a random SPD matrix Q diag(l) Q' gives back l and, from its vectors, itself */
static void test_eigh_random_spd(void **state)
{
    (void)state;
    lcg_seed(20261206u);
    for (int trial = 0; trial < 20; trial++) {
        int p = 2 + trial % 8; /* 2..9 */
        double q[81], d[81] = {0}, a[81], v[81], ev[9], l[9], back[81], id[81] = {0};
        random_orthogonal(p, q);
        for (int k = 0; k < p; k++) {
            l[k] = 0.1 + k + lcg_uniform() * 0.5; /* distinct, ascending */
            d[k * p + k] = l[k];
            id[k * p + k] = 1.0;
        }
        /* a = q d q' = (q')' d (q') */
        double qt[81];
        for (int r = 0; r < p; r++)
            for (int c = 0; c < p; c++)
                qt[r * p + c] = q[c * p + r];
        sandwich(p, qt, d, qt, a);
        memcpy(v, a, sizeof(double) * (size_t)(p * p));
        assert_int_equal(gd_k_eigh(p, v, ev), 0);
        for (int k = 0; k < p; k++)
            near(ev[k], l[k], 1e-12);
        /* V' V = I and V diag(ev) V' = a */
        double vtv[81], vt[81], dd[81] = {0};
        sandwich(p, v, id, v, vtv);
        for (int i = 0; i < p * p; i++)
            near(vtv[i], id[i], 1e-12);
        for (int r = 0; r < p; r++)
            for (int c = 0; c < p; c++)
                vt[r * p + c] = v[c * p + r];
        for (int k = 0; k < p; k++)
            dd[k * p + k] = ev[k];
        sandwich(p, vt, dd, vt, back);
        for (int i = 0; i < p * p; i++)
            near(back[i], a[i], 1e-12);
    }
}

static void test_eigh_bad_args(void **state)
{
    (void)state;
    double a[1] = {1}, ev[1];
    assert_true(gd_k_eigh(0, a, ev) < 0);
    assert_true(gd_k_eigh(GD_K_EIG_MAX + 1, a, ev) < 0);
}

static void test_pca_keep(void **state)
{
    (void)state;
    double kept = -1.0;
    /* total 10: 8.4 is below 90 %, 8.4 + 1 = 9.4 reaches it */
    const double ev[4] = {0.1, 0.5, 1.0, 8.4};
    assert_int_equal(gd_k_pca_keep(ev, 4, 0.9, &kept), 2);
    near(kept, 0.94, 1e-15);
    /* exactly 90 % in the first component is enough */
    const double ev2[3] = {0.05, 0.05, 0.9};
    assert_int_equal(gd_k_pca_keep(ev2, 3, 0.9, &kept), 1);
    /* rounding noise below zero counts as nothing */
    const double ev3[3] = {-1e-3, 1.0, 1.0};
    assert_int_equal(gd_k_pca_keep(ev3, 3, 0.9, &kept), 2);
    near(kept, 1.0, 1e-15);
    assert_int_equal(gd_k_pca_keep(ev3, 3, 1.0, NULL), 2);
    /* nothing to keep from a constant image */
    const double ev4[2] = {0.0, -1e-17};
    assert_int_equal(gd_k_pca_keep(ev4, 2, 0.9, &kept), 0);
}

static void test_cca_1d(void **state)
{
    (void)state;
    /* var x 4, var y 9, cov 3: rho = 3 / 6; a = 1 / 2 (unit variance), b = (3/9) a / rho */
    double sxx = 4, syy = 9, sxy = 3, rho, a, b;
    int info = -7;
    assert_int_equal(gd_k_cca(1, &sxx, &syy, &sxy, &rho, &a, &b, &info), GD_K_CCA_OK);
    assert_int_equal(info, 0);
    near(rho, 0.5, 1e-15);
    near(fabs(a), 0.5, 1e-15);
    near(b, a * (1.0 / 3.0) / 0.5, 1e-15);
}

static void test_cca_diagonal(void **state)
{
    (void)state;
    /* independent pairs with correlations 0.8 and 0.3: ascending 0.3, 0.8 */
    double sxx[4] = {1, 0, 0, 1}, syy[4] = {4, 0, 0, 4}, sxy[4] = {0.3 * 2, 0, 0, 0.8 * 2};
    double rho[2], a[4], b[4];
    assert_int_equal(gd_k_cca(2, sxx, syy, sxy, rho, a, b, NULL), GD_K_CCA_OK);
    near(rho[0], 0.3, 1e-14);
    near(rho[1], 0.8, 1e-14);
    near(fabs(a[0 * 2 + 0]), 1.0, 1e-14);
    near(a[1 * 2 + 0], 0.0, 1e-14);
    near(b[0 * 2 + 0], a[0 * 2 + 0] * 0.5, 1e-14); /* sd of y is 2 */
    near(b[1 * 2 + 1], a[1 * 2 + 1] * 0.5, 1e-14);
}

/* covariances of a simulated pair: y = m x + noise; the result satisfies a' Sxx a = I,
 * b' Syy b = I and a' Sxy b = diag(rho), rho ascending in [0, 1] */
static void test_cca_random(void **state)
{
    (void)state;
    lcg_seed(7u);
    const int n = 4000;
    for (int p = 2; p <= P; p += 2) {
        double m[P * P], x[P], y[P], mx[P] = {0}, my[P] = {0};
        double sxx[P * P] = {0}, syy[P * P] = {0}, sxy[P * P] = {0};
        for (int i = 0; i < p * p; i++)
            m[i] = lcg_gauss();
        double *xs = malloc(sizeof(double) * (size_t)(n * p));
        double *ys = malloc(sizeof(double) * (size_t)(n * p));
        assert_non_null(xs);
        assert_non_null(ys);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < p; k++)
                x[k] = lcg_gauss();
            for (int r = 0; r < p; r++) {
                y[r] = 0.5 * (r + 1) * lcg_gauss();
                for (int c = 0; c < p; c++)
                    y[r] += m[r * p + c] * x[c];
            }
            for (int k = 0; k < p; k++) {
                xs[i * p + k] = x[k];
                ys[i * p + k] = y[k];
                mx[k] += x[k] / n;
                my[k] += y[k] / n;
            }
        }
        for (int i = 0; i < n; i++)
            for (int r = 0; r < p; r++)
                for (int c = 0; c < p; c++) {
                    double dxr = xs[i * p + r] - mx[r], dyr = ys[i * p + r] - my[r];
                    sxx[r * p + c] += dxr * (xs[i * p + c] - mx[c]) / n;
                    syy[r * p + c] += dyr * (ys[i * p + c] - my[c]) / n;
                    sxy[r * p + c] += dxr * (ys[i * p + c] - my[c]) / n;
                }
        free(xs);
        free(ys);
        double rho[P], a[P * P], b[P * P], id[P * P] = {0}, t[P * P];
        for (int k = 0; k < p; k++)
            id[k * p + k] = 1.0;
        assert_int_equal(gd_k_cca(p, sxx, syy, sxy, rho, a, b, NULL), GD_K_CCA_OK);
        for (int k = 0; k < p; k++) {
            assert_true(rho[k] >= 0.0 && rho[k] <= 1.0);
            if (k)
                assert_true(rho[k] >= rho[k - 1]);
        }
        sandwich(p, a, sxx, a, t);
        for (int i = 0; i < p * p; i++)
            near(t[i], id[i], 1e-9);
        sandwich(p, b, syy, b, t);
        for (int i = 0; i < p * p; i++)
            near(t[i], id[i], 1e-9);
        sandwich(p, a, sxy, b, t);
        for (int r = 0; r < p; r++)
            for (int c = 0; c < p; c++)
                near(t[r * p + c], r == c ? rho[r] : 0.0, 1e-9);
    }
}

static void test_cca_singular(void **state)
{
    (void)state;
    /* the second band of y duplicates the first: Syy is singular */
    double sxx[4] = {2, 0.5, 0.5, 1}, syy[4] = {1, 1, 1, 1}, sxy[4] = {0.3, 0.3, 0.1, 0.1};
    double rho[2], a[4], b[4];
    assert_int_equal(gd_k_cca(2, sxx, syy, sxy, rho, a, b, NULL), GD_K_CCA_SINGULAR_Y);
    /* the same with x: a constant band */
    double sxx2[4] = {1, 0, 0, 0}, syy2[4] = {1, 0.2, 0.2, 1}, sxy2[4] = {0.5, 0.1, 0, 0};
    assert_int_equal(gd_k_cca(2, sxx2, syy2, sxy2, rho, a, b, NULL), GD_K_CCA_SINGULAR_X);
    assert_int_equal(gd_k_cca(0, sxx2, syy2, sxy2, rho, a, b, NULL), GD_K_CCA_BADARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eigh_2x2),
        cmocka_unit_test(test_eigh_3x3),
        cmocka_unit_test(test_eigh_random_spd),
        cmocka_unit_test(test_eigh_bad_args),
        cmocka_unit_test(test_pca_keep),
        cmocka_unit_test(test_cca_1d),
        cmocka_unit_test(test_cca_diagonal),
        cmocka_unit_test(test_cca_random),
        cmocka_unit_test(test_cca_singular),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
