/* test_timeseries.c: cmocka tests of the time-series kernels (median/MAD, the gamma
 * change tests of Conradsen et al. 2016, harmonic fit, the chi-square / F tails). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gd_timeseries.h"

#include "test_rng.h"

/* relative comparison for p-values spanning many decades */
static void assert_rel(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want))) {
        print_error("got %.17g want %.17g (rel %.3g)\n", got, want, fabs(got - want) / fabs(want));
        fail();
    }
}

/* gamma intensity of mean mu with integer looks L: mean of L unit exponentials */
static double gamma_sample(double mu, int looks)
{
    double s = 0.0;
    for (int k = 0; k < looks; k++)
        s += -log(1.0 - lcg_uniform());
    return mu * s / looks;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* median by sorting: an independent reference for the selection algorithm */
static double sorted_median(float *a, int n)
{
    qsort(a, (size_t)n, sizeof *a, cmp_float);
    return n % 2 ? a[n / 2] : 0.5 * ((double)a[n / 2 - 1] + a[n / 2]);
}

static void test_median_mad_small(void **state)
{
    (void)state;
    float tmp[8], med, sig;
    const float odd[] = {3.0f, NAN, 1.0f, 2.0f, INFINITY};
    assert_int_equal(gd_k_median_mad(odd, 5, tmp, &med, &sig), 3);
    assert_float_equal(med, 2.0f, 0.0f);
    assert_float_equal(sig, 1.4826f, 1e-6f); /* deviations 1, 0, 1 */
    const float even[] = {4.0f, 1.0f, -INFINITY, 3.0f, 2.0f};
    assert_int_equal(gd_k_median_mad(even, 5, tmp, &med, &sig), 4);
    assert_float_equal(med, 2.5f, 0.0f);
    assert_float_equal(sig, 1.4826f, 1e-6f); /* deviations 1.5, 0.5, 0.5, 1.5 */
    /* v is not modified */
    assert_float_equal(even[0], 4.0f, 0.0f);
    const float nan3[] = {NAN, NAN, NAN};
    assert_int_equal(gd_k_median_mad(nan3, 3, tmp, &med, &sig), 0);
    assert_true(isnan(med) && isnan(sig));
    assert_int_equal(gd_k_median_mad(nan3, 0, tmp, &med, &sig), 0);
    const float one[] = {7.5f};
    assert_int_equal(gd_k_median_mad(one, 1, tmp, &med, &sig), 1);
    assert_float_equal(med, 7.5f, 0.0f);
    assert_float_equal(sig, 0.0f, 0.0f);
    const float zeros[] = {0.0f, 0.0f, 0.0f, 5.0f};
    assert_int_equal(gd_k_median_mad(zeros, 4, tmp, &med, &sig), 4);
    assert_float_equal(med, 0.0f, 0.0f);
    assert_float_equal(sig, 0.0f, 0.0f);
}

static void test_median_mad_random(void **state)
{
    (void)state;
    enum { N = 301 };
    static float v[N], tmp[N], ref[N];
    lcg_seed(11);
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + (int)(lcg_uniform() * N);
        if (n > N)
            n = N;
        int m = 0;
        for (int i = 0; i < n; i++) {
            double u = lcg_uniform();
            /* NaN gaps and many ties (values on a 0.25 grid) */
            v[i] = u < 0.2 ? NAN : (float)(floor(lcg_gauss() * 8.0) / 4.0);
            if (isfinite(v[i]))
                ref[m++] = v[i];
        }
        float med, sig;
        assert_int_equal(gd_k_median_mad(v, n, tmp, &med, &sig), m);
        if (m == 0)
            continue;
        double want = sorted_median(ref, m);
        for (int i = 0; i < m; i++)
            ref[i] = (float)fabs((double)ref[i] - want);
        double mad = sorted_median(ref, m);
        assert_float_equal(med, (float)want, 0.0f);
        assert_float_equal(sig, (float)(1.4826 * mad), 1e-6f);
    }
}

/* Reference values from tests/unit/timeseries_refs.py (Gauss-Legendre quadrature of the
 * densities in numpy, independent of the continued fractions under test). */
static void test_tails_against_quadrature(void **state)
{
    (void)state;
    static const struct {
        double x, f, sf;
    } chi2[] = {
        {0.5, 1.0, 0.4795001221869523},
        {3.84, 1.0, 0.05004352124870499},
        {30.0, 3.0, 1.3800570312932534e-06},
        {150.0, 4.0, 2.0357640909741236e-31},
        {80.0, 99.0, 0.9191878735980799},
        {2.0, 7.0, 0.9598403687301011},
    };
    for (size_t i = 0; i < sizeof chi2 / sizeof chi2[0]; i++)
        assert_rel(gd_k_chi2_sf(chi2[i].x, chi2[i].f), chi2[i].sf, 1e-9);
    static const struct {
        double x, d1, d2, cdf, sf;
    } f[] = {
        {0.2, 8.0, 80.0, 0.009927219621549297, 0.9900727803784553},
        {2.5, 8.0, 80.0, 0.9822361970643347, 0.017763802935669523},
        {9.0, 8.0, 80.0, 0.99999998992168, 1.007832400532972e-08},
        {1.0, 2.0, 2.0, 0.5, 0.5},
        {0.01, 8.8, 440.0, 2.4025788755986446e-08, 0.9999999759742118},
        {3.3, 2.0, 1000.0, 0.9627147577239881, 0.03728524227592111},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        assert_rel(gd_k_f_tail(f[i].x, f[i].d1, f[i].d2, 0), f[i].cdf, 1e-9);
        assert_rel(gd_k_f_tail(f[i].x, f[i].d1, f[i].d2, 1), f[i].sf, 1e-9);
    }
    assert_true(isnan(gd_k_chi2_sf(1.0, 0.0)));
    assert_true(isnan(gd_k_f_tail(NAN, 1.0, 1.0, 0)));
    assert_float_equal(gd_k_chi2_sf(0.0, 3.0), 1.0, 0.0);
    assert_float_equal(gd_k_f_tail(INFINITY, 3.0, 4.0, 1), 0.0, 0.0);
}

/* Reference: the exact LR p-value from tests/unit/timeseries_refs.py, by a separate route:
 * the other root of h(r) = ln r - (N+1) ln(r + N) by bisection, then the two F tails by
 * quadrature of the beta density (d1 = 2 enl, d2 = 2 enl N). */
static void test_gamma_change_p_reference(void **state)
{
    (void)state;
    static const struct {
        double y, m;
        int nseg;
        double enl, p;
    } ref[] = {
        {0.5, 1.0, 10, 4.0, 0.23799643767786463},
        {2.0, 1.0, 10, 4.0, 0.1545842063128729},
        {0.2, 1.0, 5, 4.4, 0.011633531336898647},
        {0.1, 1.0, 40, 4.4, 0.0005801461841162972},
        {4.0, 1.0, 40, 4.4, 0.0003406733131422426},
        {1.3, 1.0, 1, 1.0, 0.8695652173913048},
        {0.05, 1.0, 100, 10.0, 2.2525452479273006e-10},
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        int dec = -1;
        double p = gd_k_gamma_change_p(ref[i].y, ref[i].m, ref[i].nseg, ref[i].enl, &dec);
        assert_rel(p, ref[i].p, 1e-8);
        assert_int_equal(dec, ref[i].y < ref[i].m);
        /* scale invariance: the test sees only y / m */
        assert_rel(gd_k_gamma_change_p(ref[i].y * 37.0, ref[i].m * 37.0, ref[i].nseg, ref[i].enl,
                                       NULL),
                   ref[i].p, 1e-9);
    }
}

static void test_gamma_change_p_edges(void **state)
{
    (void)state;
    int dec = -1;
    assert_float_equal(gd_k_gamma_change_p(1.0, 1.0, 5, 4.0, &dec), 1.0, 0.0);
    assert_int_equal(dec, 0);
    assert_float_equal(gd_k_gamma_change_p(0.0, 1.0, 5, 4.0, &dec), 0.0, 0.0);
    assert_int_equal(dec, 1);
    assert_true(isnan(gd_k_gamma_change_p(1.0, 0.0, 5, 4.0, NULL)));
    assert_true(isnan(gd_k_gamma_change_p(-1.0, 1.0, 5, 4.0, NULL)));
    assert_true(isnan(gd_k_gamma_change_p(NAN, 1.0, 5, 4.0, NULL)));
    assert_true(isnan(gd_k_gamma_change_p(1.0, 1.0, 0, 4.0, NULL)));
    assert_true(isnan(gd_k_gamma_change_p(1.0, 1.0, 5, 0.0, NULL)));
    /* p falls monotonically as y moves away from m on either side */
    double last = 1.0;
    for (double y = 0.95; y > 0.01; y *= 0.9) {
        double p = gd_k_gamma_change_p(y, 1.0, 8, 4.0, NULL);
        assert_true(p < last && p >= 0.0);
        last = p;
    }
    last = 1.0;
    for (double y = 1.05; y < 50.0; y *= 1.1) {
        double p = gd_k_gamma_change_p(y, 1.0, 8, 4.0, NULL);
        assert_true(p < last && p >= 0.0);
        last = p;
    }
}

/* Under H0 the exact p-value is uniform: the fraction below alpha must be alpha within a
 * binomial 4-sigma band (seeded, so reproducible). */
static void test_gamma_change_p_uniform_under_h0(void **state)
{
    (void)state;
    enum { TRIALS = 40000, NSEG = 9, LOOKS = 4 };
    lcg_seed(2016);
    int below05 = 0, below01 = 0;
    for (int t = 0; t < TRIALS; t++) {
        double s = 0.0;
        for (int i = 0; i < NSEG; i++)
            s += gamma_sample(3.0, LOOKS);
        double y = gamma_sample(3.0, LOOKS);
        double p = gd_k_gamma_change_p(y, s / NSEG, NSEG, LOOKS, NULL);
        below05 += p < 0.05;
        below01 += p < 0.01;
    }
    double f05 = (double)below05 / TRIALS, f01 = (double)below01 / TRIALS;
    assert_true(fabs(f05 - 0.05) < 4.0 * sqrt(0.05 * 0.95 / TRIALS));
    assert_true(fabs(f01 - 0.01) < 4.0 * sqrt(0.01 * 0.99 / TRIALS));
}

/* The exact p-value agrees with the paper's chi-square approximation of -2 rho_j ln R_j
 * (with omega2_j) where that approximation is good (enough looks). */
static void test_gamma_change_p_vs_paper_approximation(void **state)
{
    (void)state;
    const double n = 10.0;
    for (int nseg = 2; nseg <= 30; nseg += 7) {
        double j = nseg + 1.0;
        for (double y = 0.3; y < 3.5; y += 0.4) {
            double sprev = nseg * 1.0, sj = sprev + y;
            double lnr = n * (j * log(j) - (j - 1.0) * log(j - 1.0) + (j - 1.0) * log(sprev) +
                              log(y) - j * log(sj));
            double rho = 1.0 - (1.0 + 1.0 / (j * (j - 1.0))) / (6.0 * n);
            double w2 = -0.25 * (1.0 - 1.0 / rho) * (1.0 - 1.0 / rho);
            double z = -2.0 * rho * lnr;
            double approx = (1.0 - w2) * gd_k_chi2_sf(z, 1.0) + w2 * gd_k_chi2_sf(z, 5.0);
            double exact = gd_k_gamma_change_p(y, 1.0, nseg, n, NULL);
            assert_true(fabs(exact - approx) < 0.02 * exact + 1e-6);
        }
    }
}

static void test_omnibus_edges(void **state)
{
    (void)state;
    uint8_t ch[8];
    double p = -1.0;
    const float nan4[] = {NAN, NAN, NAN, NAN};
    memset(ch, 9, sizeof ch);
    assert_int_equal(gd_k_omnibus_gamma(nan4, 4, 4.0, 0.01, ch, &p), 0);
    assert_float_equal(p, 1.0, 0.0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ch[i], 0);
    const float one[] = {2.0f};
    assert_int_equal(gd_k_omnibus_gamma(one, 1, 4.0, 0.01, ch, &p), 0);
    assert_float_equal(p, 1.0, 0.0);
    assert_int_equal(gd_k_omnibus_gamma(one, 0, 4.0, 0.01, ch, &p), 0);
    /* zeros are fill values, not observations: a zero in a flat series changes nothing */
    const float zeros[] = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f};
    assert_int_equal(gd_k_omnibus_gamma(zeros, 5, 4.0, 0.01, ch, &p), 0);
    assert_float_equal(p, 1.0, 1e-12);
    const float allzero[] = {0.0f, 0.0f, 0.0f};
    assert_int_equal(gd_k_omnibus_gamma(allzero, 3, 4.0, 0.01, ch, &p), 0);
    assert_float_equal(p, 1.0, 0.0);
    assert_int_equal(gd_k_omnibus_gamma(one, 1, 0.0, 0.01, ch, &p), -1);
    assert_int_equal(gd_k_omnibus_gamma(one, 1, 4.0, 0.0, ch, &p), -1);
    assert_int_equal(gd_k_omnibus_gamma(one, -1, 4.0, 0.01, ch, NULL), -1);
}

/* A drop to a twentieth of the backscatter (-13 dB) after date 12 with 8 looks and NaN
 * gaps: the change is placed at the first observed date of the new level (or, when that
 * one sample is not extreme enough, the next), the omnibus p-value is tiny, and the new
 * segment restarts there (no change after it). */
static void test_omnibus_finds_step(void **state)
{
    (void)state;
    enum { K = 30, L = 8 };
    float x[K];
    uint8_t ch[K];
    lcg_seed(77);
    int hits = 0, late = 0, wrong = 0;
    for (int trial = 0; trial < 200; trial++) {
        for (int j = 0; j < K; j++)
            x[j] = (float)gamma_sample(j < 12 ? 1.0 : 0.05, L);
        x[5] = NAN;
        x[12] = NAN; /* the first changed date is unobserved: change at 13 */
        double p;
        int n = gd_k_omnibus_gamma(x, K, L, 0.001, ch, &p);
        assert_true(p < 1e-10);
        assert_true(n >= 1);
        hits += ch[13];
        late += !ch[13] && ch[14];
        for (int j = 0; j < K; j++)
            wrong += ch[j] && j != 13 && !(j == 14 && !ch[13]);
    }
    print_message("step: %d at the change, %d one date late, %d elsewhere (of 200)\n", hits,
                  late, wrong);
    assert_true(hits >= 190);
    assert_true(hits + late >= 195);
    /* 28 tests per series at alpha 0.001: about 0.03 false changes per series */
    assert_true(wrong <= 20);
}

/* The omnibus p-value with the rho / omega2 correction is close to uniform under H0 even
 * with few looks (the correction is what makes it so). */
static void test_omnibus_uniform_under_h0(void **state)
{
    (void)state;
    enum { TRIALS = 20000, K = 12, L = 3 };
    float x[K];
    uint8_t ch[K];
    lcg_seed(3007);
    int below05 = 0, below01 = 0, changes = 0;
    for (int t = 0; t < TRIALS; t++) {
        for (int j = 0; j < K; j++)
            x[j] = (float)gamma_sample(0.2, L);
        double p;
        changes += gd_k_omnibus_gamma(x, K, L, 0.01, ch, &p);
        below05 += p < 0.05;
        below01 += p < 0.01;
    }
    double f05 = (double)below05 / TRIALS, f01 = (double)below01 / TRIALS;
    assert_true(fabs(f05 - 0.05) < 4.0 * sqrt(0.05 * 0.95 / TRIALS) + 0.002);
    assert_true(fabs(f01 - 0.01) < 4.0 * sqrt(0.01 * 0.99 / TRIALS) + 0.001);
    /* 11 exact tests at 0.01 per series (restarts aside): about 0.11 changes per series */
    double per_series = (double)changes / TRIALS;
    assert_true(per_series > 0.08 && per_series < 0.14);
}

/* ---- dual polarisation ---- */

/* -2 ln R_j of one band written out from the paper's determinants (independent of the
 * kernel's form): L [j ln j - (j-1) ln(j-1) + (j-1) ln S + ln y - j ln(S + y)] */
static double dev_paper(double y, double m, int nseg, double L)
{
    double j = nseg + 1.0, S = nseg * m;
    double t = (nseg > 0 ? (j - 1.0) * log(j - 1.0) : 0.0);
    return -2.0 * L * (j * log(j) - t + (j - 1.0) * log(S) + log(y) - j * log(S + y));
}

/* Exact identities of the factorised test: symmetric in the bands (equal looks), each
 * band's ratio is all that counts (scale), a band at its segment mean adds nothing to the
 * statistic but its chance, so the dual p-value is above the one-band exact p-value of
 * the other band; y = m in both is p = 1; bad arguments are NaN. */
static void test_gamma2_identities(void **state)
{
    (void)state;
    const double L[2] = {4.4, 4.4};
    for (int nseg = 1; nseg <= 30; nseg += 9)
        for (double a = 0.15; a < 5.0; a *= 1.9)
            for (double b = 0.2; b < 5.0; b *= 2.3) {
                double y[2] = {a, b}, m[2] = {1.0, 1.0}, ys[2] = {b, a};
                double ys2[2] = {7.0 * a, 0.01 * b}, ms2[2] = {7.0, 0.01};
                double pe = gd_k_gamma2_change_p_exact(y, m, nseg, L, NULL);
                double pa = gd_k_gamma2_change_p_approx(y, m, nseg, L, NULL);
                assert_rel(gd_k_gamma2_change_p_exact(ys, m, nseg, L, NULL), pe, 1e-6);
                assert_rel(gd_k_gamma2_change_p_approx(ys, m, nseg, L, NULL), pa, 1e-12);
                assert_rel(gd_k_gamma2_change_p_exact(ys2, ms2, nseg, L, NULL), pe, 1e-9);
                assert_rel(gd_k_gamma2_change_p_approx(ys2, ms2, nseg, L, NULL), pa, 1e-9);
                /* the production test is the approximation */
                assert_true(gd_k_gamma2_change_p(y, m, nseg, L, NULL) == pa);
            }
    for (double a = 0.1; a < 6.0; a *= 1.7) {
        double y[2] = {a, 2.0}, m[2] = {1.0, 2.0};
        double p1 = gd_k_gamma_change_p(a, 1.0, 6, 4.4, NULL);
        double p2 = gd_k_gamma2_change_p_exact(y, m, 6, L, NULL);
        assert_true(p2 >= p1 - 1e-12);
        assert_true(p2 < 1.0 || fabs(a - 1.0) < 1e-9);
    }
    double one[2] = {1.0, 1.0};
    assert_float_equal(gd_k_gamma2_change_p_exact(one, one, 5, L, NULL), 1.0, 0.0);
    assert_float_equal(gd_k_gamma2_change_p_approx(one, one, 5, L, NULL), 1.0, 1e-12);
    int dec = -1;
    double y[2] = {0.5, 1.5}, m[2] = {1.0, 1.0};
    gd_k_gamma2_change_p(y, m, 5, L, &dec);
    assert_int_equal(dec, 1); /* 0.5 * 1.5 < 1: the determinant went down */
    y[1] = 2.5;
    gd_k_gamma2_change_p(y, m, 5, L, &dec);
    assert_int_equal(dec, 0);
    double bad[2] = {0.0, 1.0}, badl[2] = {4.4, 0.0};
    assert_true(isnan(gd_k_gamma2_change_p(bad, m, 5, L, NULL)));
    assert_true(isnan(gd_k_gamma2_change_p_exact(bad, m, 5, L, NULL)));
    assert_true(isnan(gd_k_gamma2_change_p(y, m, 0, L, NULL)));
    assert_true(isnan(gd_k_gamma2_change_p(y, m, 5, badl, NULL)));
}

/* The exact p-value is P(u0 + u1 >= U) for the two bands' independent terms: checked
 * against the fraction of simulated no-change pairs (the terms from the paper's
 * determinants) beyond each U, within a 4-sigma binomial band; unequal looks too. */
static void test_gamma2_exact_vs_simulation(void **state)
{
    (void)state;
    enum { TRIALS = 200000, NSEG = 3 };
    const int looks[2][2] = {{4, 4}, {2, 6}};
    const double U[] = {2.0, 6.0, 9.21, 13.0};
    double *u = malloc(TRIALS * sizeof *u);
    assert_non_null(u);
    lcg_seed(4711);
    for (int c = 0; c < 2; c++) {
        const double L[2] = {looks[c][0], looks[c][1]};
        for (int t = 0; t < TRIALS; t++) {
            u[t] = 0.0;
            for (int b = 0; b < 2; b++) {
                double s = 0.0;
                for (int i = 0; i < NSEG; i++)
                    s += gamma_sample(2.0, looks[c][b]);
                u[t] += dev_paper(gamma_sample(2.0, looks[c][b]), s / NSEG, NSEG, L[b]);
            }
        }
        for (size_t k = 0; k < sizeof U / sizeof U[0]; k++) {
            /* a pair with that U: band 1 at its mean, band 0 below it */
            double lo = 1e-9, hi = 1.0;
            for (int it = 0; it < 200; it++) {
                double mid = 0.5 * (lo + hi);
                if (dev_paper(mid, 1.0, NSEG, L[0]) > U[k])
                    lo = mid;
                else
                    hi = mid;
            }
            double y[2] = {lo, 1.0}, m[2] = {1.0, 1.0};
            double p = gd_k_gamma2_change_p_exact(y, m, NSEG, L, NULL);
            int beyond = 0;
            for (int t = 0; t < TRIALS; t++)
                beyond += u[t] >= U[k];
            double f = (double)beyond / TRIALS;
            print_message("looks %d,%d U %.2f: exact p %.5f simulated %.5f\n", looks[c][0],
                          looks[c][1], U[k], p, f);
            assert_true(fabs(f - p) < 4.0 * sqrt(p * (1.0 - p) / TRIALS) + 1e-5);
        }
    }
    free(u);
}

/* The approximation against the exact p-value over looks, segment lengths and both
 * bands' ratios: within 3 % (relative) wherever the exact p is in [0.001, 0.05]. */
static void test_gamma2_approx_vs_exact(void **state)
{
    (void)state;
    const double looks[] = {2.0, 4.4, 8.0, 19.0};
    const int segs[] = {1, 3, 10, 40};
    double worst = 0.0;
    int n = 0;
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++)
            for (double r0 = 0.2; r0 < 6.0; r0 *= 1.45)
                for (double r1 = 0.3; r1 < 4.0; r1 *= 1.6) {
                    const double L[2] = {looks[a], looks[a]};
                    double y[2] = {r0, r1}, m[2] = {1.0, 1.0};
                    double pe = gd_k_gamma2_change_p_exact(y, m, segs[b], L, NULL);
                    if (!(pe >= 0.001 && pe <= 0.05))
                        continue;
                    double pa = gd_k_gamma2_change_p_approx(y, m, segs[b], L, NULL);
                    double rel = fabs(pa - pe) / pe;
                    worst = rel > worst ? rel : worst;
                    n++;
                    assert_true(rel < 0.03);
                }
    print_message("approximation vs exact: %d points with p in [0.001, 0.05], worst %.4f\n", n,
                  worst);
    assert_true(n > 50);
}

/* Under simulated no-change gamma pairs the fraction with p below alpha is alpha, within
 * a 4-sigma binomial band, for the monitor's test and the exact one; and a change of the
 * same size in both bands is found more often with both than with VV alone. */
static void test_gamma2_false_alarms_and_power(void **state)
{
    (void)state;
    enum { TRIALS = 40000, EXACT = 6000, NSEG = 9, LOOKS = 4 };
    const double L[2] = {LOOKS, LOOKS};
    lcg_seed(2017);
    int b01 = 0, b05 = 0, e01 = 0, e05 = 0, dual = 0, single = 0;
    for (int t = 0; t < TRIALS; t++) {
        double s0 = 0.0, s1 = 0.0;
        for (int i = 0; i < NSEG; i++) {
            s0 += gamma_sample(0.2, LOOKS);
            s1 += gamma_sample(0.03, LOOKS);
        }
        double m[2] = {s0 / NSEG, s1 / NSEG};
        double y[2] = {gamma_sample(0.2, LOOKS), gamma_sample(0.03, LOOKS)};
        double p = gd_k_gamma2_change_p(y, m, NSEG, L, NULL);
        b01 += p < 0.01;
        b05 += p < 0.05;
        if (t < EXACT) {
            double pe = gd_k_gamma2_change_p_exact(y, m, NSEG, L, NULL);
            e01 += pe < 0.01;
            e05 += pe < 0.05;
        }
        /* power: both bands at half their mean (-3 dB) */
        double yc[2] = {gamma_sample(0.1, LOOKS), gamma_sample(0.015, LOOKS)};
        dual += gd_k_gamma2_change_p(yc, m, NSEG, L, NULL) < 0.01;
        single += gd_k_gamma_change_p(yc[0], m[0], NSEG, LOOKS, NULL) < 0.01;
    }
    double f01 = (double)b01 / TRIALS, f05 = (double)b05 / TRIALS;
    double g01 = (double)e01 / EXACT, g05 = (double)e05 / EXACT;
    print_message("H0: p<0.01 %.4f (exact %.4f), p<0.05 %.4f (exact %.4f); -3 dB found: dual "
                  "%.3f, VV alone %.3f\n", f01, g01, f05, g05, (double)dual / TRIALS,
                  (double)single / TRIALS);
    assert_true(fabs(f01 - 0.01) < 4.0 * sqrt(0.01 * 0.99 / TRIALS));
    assert_true(fabs(f05 - 0.05) < 4.0 * sqrt(0.05 * 0.95 / TRIALS));
    assert_true(fabs(g01 - 0.01) < 4.0 * sqrt(0.01 * 0.99 / EXACT));
    assert_true(fabs(g05 - 0.05) < 4.0 * sqrt(0.05 * 0.95 / EXACT));
    assert_true(dual > single * 1.2);
}

static void test_omnibus2_edges(void **state)
{
    (void)state;
    uint8_t ch[8];
    double p = -1.0;
    const double L[2] = {4.0, 4.0}, L0[2] = {4.0, 0.0};
    /* a date is observed only with both bands: VH missing on every other date leaves three
     * equal pairs, no change */
    const float vv[] = {1.0f, 9.0f, 1.0f, 9.0f, 1.0f}, vh[] = {0.1f, NAN, 0.1f, 0.0f, 0.1f};
    assert_int_equal(gd_k_omnibus_gamma2(vv, vh, 5, L, 0.01, ch, &p), 0);
    assert_float_equal(p, 1.0, 1e-12);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ch[i], 0);
    assert_int_equal(gd_k_omnibus_gamma2(vv, vh, 1, L, 0.01, ch, &p), 0);
    assert_float_equal(p, 1.0, 0.0);
    assert_int_equal(gd_k_omnibus_gamma2(vv, vh, 5, L0, 0.01, ch, &p), -1);
    assert_int_equal(gd_k_omnibus_gamma2(vv, vh, 5, L, 1.0, ch, &p), -1);
    assert_int_equal(gd_k_omnibus_gamma2(vv, vh, -1, L, 0.01, ch, NULL), -1);
}

/* A drop in VH only (VV unchanged) after date 12: the dual series finds it at the first
 * changed date (VV alone cannot), the omnibus p-value is tiny, and a no-change dual
 * series has a near-uniform omnibus p-value (f = 2 (k - 1) with the corrections). */
static void test_omnibus2_step_and_h0(void **state)
{
    (void)state;
    enum { K = 30, L = 8, TRIALS = 20000, K0 = 12, L0 = 3 };
    const double enl[2] = {L, L}, enl0[2] = {L0, L0};
    float x0[K], x1[K];
    uint8_t ch[K];
    lcg_seed(78);
    int hits = 0, wrong = 0, vv_hits = 0;
    for (int trial = 0; trial < 200; trial++) {
        for (int j = 0; j < K; j++) {
            x0[j] = (float)gamma_sample(0.2, L);
            x1[j] = (float)gamma_sample(j < 12 ? 0.05 : 0.005, L);
        }
        double p;
        int n = gd_k_omnibus_gamma2(x0, x1, K, enl, 0.001, ch, &p);
        assert_true(p < 1e-10);
        assert_true(n >= 1);
        hits += ch[12];
        for (int j = 0; j < K; j++)
            wrong += ch[j] && j != 12;
        gd_k_omnibus_gamma(x0, K, L, 0.001, ch, NULL);
        vv_hits += ch[12];
    }
    print_message("VH step: %d at the change (VV alone %d), %d elsewhere (of 200)\n", hits,
                  vv_hits, wrong);
    assert_true(hits >= 190);
    assert_true(vv_hits <= 10);
    assert_true(wrong <= 20);
    int below05 = 0, below01 = 0;
    for (int t = 0; t < TRIALS; t++) {
        for (int j = 0; j < K0; j++) {
            x0[j] = (float)gamma_sample(0.2, L0);
            x1[j] = (float)gamma_sample(0.04, L0);
        }
        double p;
        gd_k_omnibus_gamma2(x0, x1, K0, enl0, 0.01, ch, &p);
        below05 += p < 0.05;
        below01 += p < 0.01;
    }
    double f05 = (double)below05 / TRIALS, f01 = (double)below01 / TRIALS;
    print_message("omnibus H0: p<0.05 %.4f, p<0.01 %.4f\n", f05, f01);
    assert_true(fabs(f05 - 0.05) < 4.0 * sqrt(0.05 * 0.95 / TRIALS) + 0.002);
    assert_true(fabs(f01 - 0.01) < 4.0 * sqrt(0.01 * 0.99 / TRIALS) + 0.001);
}

static void test_harmonic_exact(void **state)
{
    (void)state;
    enum { N = 60 };
    float t[N], v[N];
    const double truth[5] = {0.6, 0.2, -0.1, 0.05, 0.03};
    for (int i = 0; i < N; i++) {
        t[i] = (float)(2015.0 + i * 16.0 / 365.25);
        v[i] = (float)gd_k_harmonic_eval(truth, 2, t[i]);
    }
    v[3] = NAN;
    t[7] = NAN;
    double coef[5], rmse;
    assert_int_equal(gd_k_harmonic_fit(t, v, N, 2, coef, &rmse), N - 2);
    for (int i = 0; i < 5; i++)
        assert_float_equal(coef[i], truth[i], 1e-5);
    assert_true(rmse < 1e-5);
    /* order 0 is the mean */
    assert_int_equal(gd_k_harmonic_fit(t, v, 10, 0, coef, &rmse), 8);
    double mean = 0.0;
    for (int i = 0; i < 10; i++)
        if (i != 3 && i != 7)
            mean += v[i];
    assert_float_equal(coef[0], mean / 8.0, 1e-6);
}

static void test_harmonic_noise_rmse(void **state)
{
    (void)state;
    enum { N = 400 };
    static float t[N], v[N];
    const double truth[3] = {0.5, 0.25, -0.15};
    lcg_seed(5);
    for (int i = 0; i < N; i++) {
        t[i] = (float)(2010.0 + 6.0 * lcg_uniform());
        v[i] = (float)(gd_k_harmonic_eval(truth, 1, t[i]) + 0.05 * lcg_gauss());
    }
    double coef[3], rmse;
    assert_int_equal(gd_k_harmonic_fit(t, v, N, 1, coef, &rmse), N);
    for (int i = 0; i < 3; i++)
        assert_float_equal(coef[i], truth[i], 0.015);
    assert_float_equal(rmse, 0.05, 0.006);
}

static void test_harmonic_degenerate(void **state)
{
    (void)state;
    float t[6] = {2001.25f, 2002.25f, 2003.25f, 2004.25f, 2005.25f, 2006.25f};
    float v[6] = {1, 2, 3, 4, 5, 6};
    double coef[5], rmse = 0.0;
    /* same day of every year: the seasonal terms are not determined */
    assert_int_equal(gd_k_harmonic_fit(t, v, 6, 1, coef, &rmse), -1);
    assert_true(isnan(coef[0]) && isnan(rmse));
    /* too few samples */
    float t2[3] = {2001.0f, 2001.3f, 2001.6f};
    assert_int_equal(gd_k_harmonic_fit(t2, v, 3, 2, coef, NULL), -1);
    /* exactly as many as coefficients: a fit, no residual spread */
    assert_int_equal(gd_k_harmonic_fit(t2, v, 3, 1, coef, &rmse), 3);
    assert_true(isnan(rmse));
    for (int i = 0; i < 3; i++)
        assert_float_equal(gd_k_harmonic_eval(coef, 1, t2[i]), v[i], 1e-6);
    float nan3[3] = {NAN, NAN, NAN};
    assert_int_equal(gd_k_harmonic_fit(t2, nan3, 3, 0, coef, NULL), -1);
    assert_int_equal(gd_k_harmonic_fit(t2, v, 3, 9, coef, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median_mad_small),
        cmocka_unit_test(test_median_mad_random),
        cmocka_unit_test(test_tails_against_quadrature),
        cmocka_unit_test(test_gamma_change_p_reference),
        cmocka_unit_test(test_gamma_change_p_edges),
        cmocka_unit_test(test_gamma_change_p_uniform_under_h0),
        cmocka_unit_test(test_gamma_change_p_vs_paper_approximation),
        cmocka_unit_test(test_omnibus_edges),
        cmocka_unit_test(test_omnibus_finds_step),
        cmocka_unit_test(test_omnibus_uniform_under_h0),
        cmocka_unit_test(test_gamma2_identities),
        cmocka_unit_test(test_gamma2_exact_vs_simulation),
        cmocka_unit_test(test_gamma2_approx_vs_exact),
        cmocka_unit_test(test_gamma2_false_alarms_and_power),
        cmocka_unit_test(test_omnibus2_edges),
        cmocka_unit_test(test_omnibus2_step_and_h0),
        cmocka_unit_test(test_harmonic_exact),
        cmocka_unit_test(test_harmonic_noise_rmse),
        cmocka_unit_test(test_harmonic_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
