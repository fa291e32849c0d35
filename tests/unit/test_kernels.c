/* test_kernels.c: cmocka unit tests of the compute kernels against hand-computed values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gd_kernels.h"

/* cmocka's macro casts its unparenthesised arguments */
#define FEQ(a, b, eps) assert_float_equal((a), (b), (eps))
#define EPS 1e-6f
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* written past the end of outputs to catch overruns */
#define GUARD -12345.0f

#include "test_rng.h" /* deterministic pseudo-random numbers so failures reproduce */

/* ---- dispatch ------------------------------------------------------------------ */

static void test_isa_name(void **state)
{
    (void)state;
    gd_kernels_init();
    gd_kernels_init(); /* idempotent */
    const char *name = gd_kernels_isa_name();
    assert_non_null(name);
    static const char *names[] = {"scalar", "avx2", "avx512"};
    int isa = (int)gd_kernels_isa();
    assert_in_range(isa, GD_ISA_SCALAR, GD_ISA_AVX512);
    assert_string_equal(name, names[isa]);
}

/* ---- gd_k_ndiff_delta ---------------------------------------------------------- */

static void test_ndiff_delta_values(void **state)
{
    (void)state;
    /* px0: before (3000-500)/3500 = 5/7, after (1200-900)/2100 = 1/7 -> -4/7
     * px1: before 0, after (0.8-0.2)/1 = 0.6 -> 0.6
     * px2: before (0-100)/100 = -1, after (100-0)/100 = 1 -> 2 */
    const float bx[] = {3000.0f, 0.5f, 0.0f}, by[] = {500.0f, 0.5f, 100.0f};
    const float ax[] = {1200.0f, 0.8f, 100.0f}, ay[] = {900.0f, 0.2f, 0.0f};
    float out[3];

    gd_k_ndiff_delta(bx, by, ax, ay, 1.0f, out, 3);
    FEQ(out[0], -4.0f / 7.0f, EPS);
    FEQ(out[1], 0.6f, EPS);
    FEQ(out[2], 2.0f, EPS);

    gd_k_ndiff_delta(bx, by, ax, ay, -1.0f, out, 3);
    FEQ(out[0], 4.0f / 7.0f, EPS);
    FEQ(out[1], -0.6f, EPS);
    FEQ(out[2], -2.0f, EPS);

    /* single-index sanity: same before/after -> 0 */
    gd_k_ndiff_delta(bx, by, bx, by, 1.0f, out, 3);
    for (int i = 0; i < 3; i++)
        FEQ(out[i], 0.0f, EPS);
}

static void test_ndiff_delta_nan(void **state)
{
    (void)state;
    /* px0: before x+y == 0 (0,0); px1: after x+y == 0 with nonzero terms (2,-2);
     * px2..5: a NaN in each of the four inputs; px6 valid control */
    const float bx[] = {0.0f, 3.0f, NAN, 3.0f, 3.0f, 3.0f, 3.0f};
    const float by[] = {0.0f, 1.0f, 1.0f, NAN, 1.0f, 1.0f, 1.0f};
    const float ax[] = {3.0f, 2.0f, 3.0f, 3.0f, NAN, 3.0f, 1.0f};
    const float ay[] = {1.0f, -2.0f, 1.0f, 1.0f, 1.0f, NAN, 3.0f};
    float out[7];
    gd_k_ndiff_delta(bx, by, ax, ay, 1.0f, out, 7);
    for (int i = 0; i < 6; i++)
        assert_true(isnan(out[i]));
    FEQ(out[6], -1.0f, EPS); /* -0.5 - 0.5 */
}

/* ---- gd_k_logratio ------------------------------------------------------------- */

static void test_logratio_values(void **state)
{
    (void)state;
    float out[4];
    const float b0[] = {2.0f, 10.0f, 5.0f, 1.0f}, a0[] = {8.0f, 1.0f, 5.0f, 2.718281828f};
    gd_k_logratio(b0, a0, 0.0f, out, 4);
    FEQ(out[0], 1.3862944f, EPS);  /* ln 4 */
    FEQ(out[1], -2.3025851f, EPS); /* ln 0.1 */
    FEQ(out[2], 0.0f, EPS);
    FEQ(out[3], 1.0f, EPS);

    /* eps = 1 shifts both: zeros and values above -1 become valid */
    const float b1[] = {0.0f, 1.0f, -0.5f, 3.0f}, a1[] = {1.0f, 3.0f, 0.0f, 0.0f};
    gd_k_logratio(b1, a1, 1.0f, out, 4);
    FEQ(out[0], 0.6931472f, EPS);  /* ln(2/1) */
    FEQ(out[1], 0.6931472f, EPS);  /* ln(4/2) */
    FEQ(out[2], 0.6931472f, EPS);  /* ln(1/0.5) */
    FEQ(out[3], -1.3862944f, EPS); /* ln(1/4) */
}

static void test_logratio_invalid(void **state)
{
    (void)state;
    float out[6];
    /* eps 0: zero before, zero after, negative before, negative after, NaN, NaN */
    const float b[] = {0.0f, 1.0f, -1.0f, 1.0f, NAN, 1.0f};
    const float a[] = {1.0f, 0.0f, 1.0f, -2.0f, 1.0f, NAN};
    gd_k_logratio(b, a, 0.0f, out, 6);
    for (int i = 0; i < 6; i++)
        assert_true(isnan(out[i]));

    /* eps 1: shifted to exactly 0 or below -> NaN */
    const float b1[] = {-1.0f, 1.0f, -3.0f, NAN}, a1[] = {1.0f, -1.0f, 1.0f, 0.0f};
    gd_k_logratio(b1, a1, 1.0f, out, 4);
    for (int i = 0; i < 4; i++)
        assert_true(isnan(out[i]));
}

/* ---- gd_k_cva ------------------------------------------------------------------ */

static void test_cva_two_bands(void **state)
{
    (void)state;
    /* px0: diffs (3, 4) -> 5; px1: (-3, -4) -> 5; px2: (0, 0) -> 0; px3: (1, 0) -> 1 */
    const float b0[] = {1.0f, 4.0f, 7.0f, 0.0f}, a0[] = {4.0f, 1.0f, 7.0f, 1.0f};
    const float b1[] = {2.0f, 6.0f, 7.0f, 5.0f}, a1[] = {6.0f, 2.0f, 7.0f, 5.0f};
    const float *before[] = {b0, b1}, *after[] = {a0, a1};
    float out[4];

    gd_k_cva(before, after, NULL, 2, out, 4);
    FEQ(out[0], 5.0f, EPS);
    FEQ(out[1], 5.0f, EPS);
    FEQ(out[2], 0.0f, EPS);
    FEQ(out[3], 1.0f, EPS);

    /* weights (2, 0.5): (6, 2) -> sqrt 40; (1*2, 0) -> 2 */
    const float w[] = {2.0f, 0.5f};
    gd_k_cva(before, after, w, 2, out, 4);
    FEQ(out[0], 6.3245553f, EPS);
    FEQ(out[1], 6.3245553f, EPS);
    FEQ(out[2], 0.0f, EPS);
    FEQ(out[3], 2.0f, EPS);

    /* unit weights equal NULL */
    const float w1[] = {1.0f, 1.0f};
    gd_k_cva(before, after, w1, 2, out, 4);
    FEQ(out[0], 5.0f, EPS);
}

static void test_cva_three_bands(void **state)
{
    (void)state;
    /* px0: diffs (1, 2, 2) -> 3; px1: (2, 3, 6) -> 7; px2: NaN in band 2; px3: NaN in band 0 */
    const float b0[] = {0.0f, 1.0f, 0.0f, NAN}, a0[] = {1.0f, 3.0f, 0.0f, 0.0f};
    const float b1[] = {0.0f, 1.0f, 0.0f, 0.0f}, a1[] = {2.0f, 4.0f, 0.0f, 0.0f};
    const float b2[] = {0.0f, 0.0f, 0.0f, 0.0f}, a2[] = {2.0f, 6.0f, NAN, 0.0f};
    const float *before[] = {b0, b1, b2}, *after[] = {a0, a1, a2};
    float out[4];

    gd_k_cva(before, after, NULL, 3, out, 4);
    FEQ(out[0], 3.0f, EPS);
    FEQ(out[1], 7.0f, EPS);
    assert_true(isnan(out[2]));
    assert_true(isnan(out[3]));

    /* weights (2, 2, 2) double the magnitude; (0, 0, 1) keeps band 2 only */
    const float w2[] = {2.0f, 2.0f, 2.0f}, w3[] = {0.0f, 0.0f, 1.0f};
    gd_k_cva(before, after, w2, 3, out, 4);
    FEQ(out[0], 6.0f, EPS);
    FEQ(out[1], 14.0f, EPS);
    assert_true(isnan(out[2]));
    gd_k_cva(before, after, w3, 3, out, 4);
    FEQ(out[0], 2.0f, EPS);
    FEQ(out[1], 6.0f, EPS);
    assert_true(isnan(out[2])); /* NaN stays nodata even with weight 0 elsewhere */
}

/* ---- gd_k_minmax --------------------------------------------------------------- */

static void test_minmax(void **state)
{
    (void)state;
    const float in[] = {NAN, 3.0f, -2.0f, INFINITY, -INFINITY, 7.5f, NAN};
    float mn = INFINITY, mx = -INFINITY;
    assert_int_equal(gd_k_minmax(in, NELEM(in), &mn, &mx), 3);
    FEQ(mn, -2.0f, 0.0f);
    FEQ(mx, 7.5f, 0.0f);

    /* running: the previous extremes are kept unless beaten */
    const float more[] = {-5.0f, 1.0f};
    assert_int_equal(gd_k_minmax(more, 2, &mn, &mx), 2);
    FEQ(mn, -5.0f, 0.0f);
    FEQ(mx, 7.5f, 0.0f);

    /* all non-finite: untouched, 0 counted */
    const float bad[] = {NAN, INFINITY, -INFINITY, NAN};
    mn = INFINITY;
    mx = -INFINITY;
    assert_int_equal(gd_k_minmax(bad, NELEM(bad), &mn, &mx), 0);
    assert_true(isinf(mn) && mn > 0.0f);
    assert_true(isinf(mx) && mx < 0.0f);
    assert_int_equal(gd_k_minmax(bad, 0, &mn, &mx), 0);

    /* single value sets both */
    const float one[] = {0.25f};
    assert_int_equal(gd_k_minmax(one, 1, &mn, &mx), 1);
    FEQ(mn, 0.25f, 0.0f);
    FEQ(mx, 0.25f, 0.0f);
}

/* ---- gd_k_colsum_add ----------------------------------------------------------- */

static void test_colsum_add(void **state)
{
    (void)state;
    const float r1[] = {1.0f, NAN, 7.0f, INFINITY, 2.5f};
    const float r2[] = {3.0f, 4.0f, 7.0f, 1.0f, NAN};
    double sum[5] = {0};
    uint32_t cnt[5] = {0};
    gd_k_colsum_add(r1, 5, 0, 0.0f, sum, cnt);
    gd_k_colsum_add(r2, 5, 0, 0.0f, sum, cnt);
    const double want[5] = {4.0, 4.0, 14.0, INFINITY, 2.5};
    const uint32_t wc[5] = {2, 1, 2, 2, 1};
    for (int i = 0; i < 5; i++) {
        assert_true(sum[i] == want[i]);
        assert_int_equal(cnt[i], wc[i]);
    }
    /* 7 is the nodata value: skipped, the rest added */
    gd_k_colsum_add(r2, 5, 1, 7.0f, sum, cnt);
    assert_true(sum[2] == 14.0);
    assert_int_equal(cnt[2], 2);
    assert_true(sum[0] == 7.0);
    assert_int_equal(cnt[0], 3);
}

/* ---- gd_k_u16_to_unit / gd_k_unit_to_u16 --------------------------------------- */

static void test_unit_u16(void **state)
{
    (void)state;
    const uint16_t u[] = {0, 1, 32767, 32768, 65535};
    float f[5];
    gd_k_u16_to_unit(u, 5, f);
    assert_true(f[0] == 0.0f && f[4] == 1.0f && f[1] == 1.0f / 65535.0f);
    uint16_t back[5];
    gd_k_unit_to_u16(f, 5, back);
    assert_memory_equal(back, u, sizeof u);
    /* non-finite -> 0; out of range clamped; 0.5 / 65535 rounds to even (0), 1.5 -> 2 */
    const float g[] = {NAN, INFINITY, -1.0f, 2.0f, 0.5f / 65535.0f, 1.5f / 65535.0f};
    uint16_t o[6];
    gd_k_unit_to_u16(g, 6, o);
    const uint16_t want[] = {0, 0, 0, 65535, 0, 2};
    assert_memory_equal(o, want, sizeof want);
}

/* ---- gd_k_hist_accumulate ------------------------------------------------------ */

static void test_hist_bins(void **state)
{
    (void)state;
    /* 8 bins over [0, 1], width 0.125: exactly representable values */
    uint64_t bins[8] = {0};
    const float in[] = {0.0f,   0.0625f, 0.125f, 0.3125f, 0.5f,  0.9375f,
                        0.999f, 1.0f,    0.875f, -0.375f, 1.5f,  -10.0f,
                        NAN,    INFINITY, -INFINITY};
    gd_k_hist_accumulate(in, NELEM(in), 0, 0.0, 1.0, bins, 8);
    /* bin0: 0, 0.0625, -0.375 (clamped), -10 (clamped); bin1: 0.125; bin2: 0.3125;
     * bin4: 0.5; bin7: 0.9375, 0.999, 1.0, 0.875, 1.5 (clamped) */
    const uint64_t want[8] = {4, 1, 1, 0, 1, 0, 0, 5};
    for (int i = 0; i < 8; i++)
        assert_int_equal(bins[i], want[i]);

    /* accumulates; absval folds negatives: -0.375 -> bin 3, -10 -> 10 clamped to bin 7 */
    gd_k_hist_accumulate(in, NELEM(in), 1, 0.0, 1.0, bins, 8);
    const uint64_t want2[8] = {4 + 2, 1 + 1, 1 + 1, 0 + 1, 1 + 1, 0, 0, 5 + 6};
    uint64_t total = 0;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(bins[i], want2[i]);
        total += bins[i];
    }
    assert_int_equal(total, 2 * 12); /* the 3 non-finite values are skipped twice */
}

static void test_hist_offset_range(void **state)
{
    (void)state;
    /* 4 bins over [-2, 2]: [-2,-1) [-1,0) [0,1) [1,2] */
    uint64_t bins[4] = {0};
    const float in[] = {-1.5f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 2.0f, 3.0f};
    gd_k_hist_accumulate(in, NELEM(in), 0, -2.0, 2.0, bins, 4);
    const uint64_t want[4] = {1, 2, 2, 3};
    for (int i = 0; i < 4; i++)
        assert_int_equal(bins[i], want[i]);
}

/* ---- gd_k_otsu ----------------------------------------------------------------- */

static void test_otsu_bimodal(void **state)
{
    (void)state;
    /* separated bumps on bins 2..4 and 14..16 of 20 over [0, 1] (width 0.05): every
     * split in the gap is optimal, the threshold must lie between the bumps */
    uint64_t bins[20] = {0};
    bins[2] = 10, bins[3] = 30, bins[4] = 10;
    bins[14] = 10, bins[15] = 30, bins[16] = 10;
    double t = -1.0;
    assert_int_equal(gd_k_otsu(bins, 20, 0.0, 1.0, &t), 0);
    assert_true(t >= 0.25 - 1e-12 && t <= 0.70 + 1e-12);

    /* touching symmetric bumps: the unique optimum is the edge after bin 4 -> 5.0
     * (between-class 12100 there vs 11906 one bin either side) */
    const uint64_t sym[10] = {1, 5, 10, 5, 1, 1, 5, 10, 5, 1};
    assert_int_equal(gd_k_otsu(sym, 10, 0.0, 10.0, &t), 0);
    assert_true(fabs(t - 5.0) <= 1.0); /* within one bin width */
    assert_true(fabs(t - 5.0) < 1e-9); /* and exactly the edge */
}

static void test_otsu_degenerate(void **state)
{
    (void)state;
    double t = 42.0;
    uint64_t empty[16] = {0};
    assert_int_equal(gd_k_otsu(empty, 16, 0.0, 1.0, &t), -1);
    uint64_t one[16] = {0};
    one[7] = 1000;
    assert_int_equal(gd_k_otsu(one, 16, 0.0, 1.0, &t), -1);
    assert_int_equal(gd_k_otsu(one, 0, 0.0, 1.0, &t), -1);
}

static void test_otsu_two_bins(void **state)
{
    (void)state;
    double t = 42.0;
    const uint64_t b[2] = {3, 5};
    assert_int_equal(gd_k_otsu(b, 2, -1.0, 1.0, &t), 0);
    assert_true(fabs(t - 0.0) < 1e-12);

    /* two populated bins far apart in a wider histogram: threshold between them */
    uint64_t c[10] = {0};
    c[1] = 4, c[8] = 4;
    assert_int_equal(gd_k_otsu(c, 10, 0.0, 10.0, &t), 0);
    assert_true(t >= 2.0 - 1e-12 && t <= 8.0 + 1e-12);
}

/* two gaussian-like clusters at 0.1 and 0.8 (equal counts), with a little nodata */
static void make_clusters(float *v, int n, double sigma, float *max0, float *min1)
{
    lcg_seed(12345u);
    *max0 = -INFINITY;
    *min1 = INFINITY;
    for (int i = 0; i < n; i++) {
        double mu = (i % 2) ? 0.8 : 0.1;
        v[i] = (float)(mu + sigma * lcg_gauss());
        if (i % 2)
            *min1 = fminf(*min1, v[i]);
        else
            *max0 = fmaxf(*max0, v[i]);
    }
    v[10] = NAN;
    v[12] = INFINITY;
}

static void test_otsu_from_clusters(void **state)
{
    (void)state;
    enum { N = 4000, NB = 256 };
    static float v[N];
    float max0, min1;

    /* sigma 0.1: the clusters overlap a little, so the optimum is a single edge near the
     * middle (0.44 with this seed) */
    make_clusters(v, N, 0.1, &max0, &min1);
    float mn = INFINITY, mx = -INFINITY;
    assert_int_equal(gd_k_minmax(v, N, &mn, &mx), N - 2);
    assert_true(mn < 0.1f && mx > 0.8f);

    uint64_t bins[NB] = {0};
    gd_k_hist_accumulate(v, N, 0, 0.0, 1.0, bins, NB);
    uint64_t total = 0;
    for (int i = 0; i < NB; i++)
        total += bins[i];
    assert_int_equal(total, N - 2);

    double t = -1.0;
    assert_int_equal(gd_k_otsu(bins, NB, 0.0, 1.0, &t), 0);
    assert_true(t > 0.3 && t < 0.6);

    /* sigma 0.05: fully separated clusters, every edge in the gap is equally optimal;
     * the threshold must fall in the gap (within one bin of its ends) */
    make_clusters(v, N, 0.05, &max0, &min1);
    assert_true(max0 < min1);
    memset(bins, 0, sizeof bins);
    gd_k_hist_accumulate(v, N, 0, 0.0, 1.0, bins, NB);
    assert_int_equal(gd_k_otsu(bins, NB, 0.0, 1.0, &t), 0);
    assert_true(t > max0 && t <= min1 + 1.0 / NB);
}

/* ---- gd_k_classify ------------------------------------------------------------- */

static void test_classify(void **state)
{
    (void)state;
    const float s[] = {-1.0f, -0.5f, -0.49999f, 0.0f, 0.49999f, 0.5f,
                       1.0f,  NAN,   INFINITY,  -INFINITY};
    uint8_t out[NELEM(s)];
    gd_k_classify(s, NELEM(s), 0.5f, 1, out);
    const uint8_t two[] = {1, 1, 0, 0, 0, 2, 2, 255, 2, 1};
    for (size_t i = 0; i < NELEM(s); i++)
        assert_int_equal(out[i], two[i]);

    gd_k_classify(s, NELEM(s), 0.5f, 0, out);
    const uint8_t one[] = {0, 0, 0, 0, 0, 1, 1, 255, 1, 0};
    for (size_t i = 0; i < NELEM(s); i++)
        assert_int_equal(out[i], one[i]);

    /* t = 0 two-sided: 0 is both <= -0 and >= 0; the rule checks "<= -t" first */
    const float z[] = {0.0f, -0.0f, 1e-30f, -1e-30f};
    uint8_t oz[4];
    gd_k_classify(z, 4, 0.0f, 1, oz);
    assert_int_equal(oz[0], 1);
    assert_int_equal(oz[1], 1);
    assert_int_equal(oz[2], 2);
    assert_int_equal(oz[3], 1);
}

/* ---- odd lengths against per-element references -------------------------------- */

static const size_t odd_lengths[] = {0, 1, 7, 33};
#define MAXN 33

/* values in [lo, hi) with about one NaN in nine */
static void fill(float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lcg_uniform() < 0.11 ? NAN : (float)(lo + (hi - lo) * lcg_uniform());
}

static void check_out(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]))
            assert_true(isnan(got[i]));
        else
            FEQ(got[i], want[i], 1e-5f * (1.0f + fabsf(want[i])));
    }
    FEQ(got[n], GUARD, 0.0f); /* nothing written past n */
}

static void test_odd_lengths_index(void **state)
{
    (void)state;
    lcg_seed(777u);
    for (size_t k = 0; k < NELEM(odd_lengths); k++) {
        size_t n = odd_lengths[k];
        float bx[MAXN + 1], by[MAXN + 1], ax[MAXN + 1], ay[MAXN + 1];
        float out[MAXN + 1], want[MAXN + 1];
        fill(bx, n, 0.0, 5000.0);
        fill(by, n, 0.0, 5000.0);
        fill(ax, n, 0.0, 5000.0);
        fill(ay, n, 0.0, 5000.0);

        /* ndiff, both signs */
        for (int sg = -1; sg <= 1; sg += 2) {
            for (size_t i = 0; i < n; i++) {
                double sb = (double)bx[i] + by[i], sa = (double)ax[i] + ay[i];
                if (isnan(sb) || isnan(sa) || sb == 0.0 || sa == 0.0)
                    want[i] = NAN;
                else
                    want[i] = (float)(sg * ((ax[i] - ay[i]) / sa - (bx[i] - by[i]) / sb));
            }
            for (size_t i = 0; i <= n; i++)
                out[i] = GUARD;
            gd_k_ndiff_delta(bx, by, ax, ay, (float)sg, out, n);
            check_out(out, want, n);
        }

        /* log-ratio with eps 0 and 1, before shifted to include values <= 0 */
        for (size_t i = 0; i < n; i++)
            by[i] -= 1000.0f;
        for (int e = 0; e <= 1; e++) {
            for (size_t i = 0; i < n; i++) {
                /* the shift is done in float, as the kernel does */
                double b = by[i] + (float)e, a = ax[i] + (float)e;
                want[i] = (isnan(b) || isnan(a) || b <= 0.0 || a <= 0.0) ? NAN
                                                                          : (float)log(a / b);
            }
            for (size_t i = 0; i <= n; i++)
                out[i] = GUARD;
            gd_k_logratio(by, ax, (float)e, out, n);
            check_out(out, want, n);
        }

        /* CVA over 3 bands, weighted and not */
        const float *before[] = {bx, by, ay}, *after[] = {ax, ay, bx};
        const float w[] = {0.5f, 2.0f, 1.0f};
        for (int weighted = 0; weighted <= 1; weighted++) {
            for (size_t i = 0; i < n; i++) {
                double s = 0.0;
                for (int b = 0; b < 3; b++) {
                    double d = (weighted ? w[b] : 1.0) * ((double)after[b][i] - before[b][i]);
                    s += d * d;
                }
                want[i] = (float)sqrt(s);
            }
            for (size_t i = 0; i <= n; i++)
                out[i] = GUARD;
            gd_k_cva(before, after, weighted ? w : NULL, 3, out, n);
            check_out(out, want, n);
        }
    }
}

static void test_odd_lengths_stats(void **state)
{
    (void)state;
    lcg_seed(4242u);
    for (size_t k = 0; k < NELEM(odd_lengths); k++) {
        size_t n = odd_lengths[k];
        float x[MAXN + 1];
        fill(x, n, -2.0, 2.0);
        if (n > 3)
            x[3] = -INFINITY;

        /* minmax */
        float emn = INFINITY, emx = -INFINITY;
        size_t ecount = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(x[i]))
                continue;
            ecount++;
            emn = fminf(emn, x[i]);
            emx = fmaxf(emx, x[i]);
        }
        float mn = INFINITY, mx = -INFINITY;
        assert_int_equal(gd_k_minmax(x, n, &mn, &mx), ecount);
        assert_true(mn == emn && mx == emx);

        /* histogram, 5 bins over [-1, 1] with clamping; absval over [0, 2] */
        for (int absval = 0; absval <= 1; absval++) {
            double lo = absval ? 0.0 : -1.0, hi = absval ? 2.0 : 1.0;
            uint64_t bins[6] = {0}, want[6] = {0};
            for (size_t i = 0; i < n; i++) {
                if (!isfinite(x[i]))
                    continue;
                double v = absval ? fabs((double)x[i]) : (double)x[i];
                long b = (long)floor((v - lo) / (hi - lo) * 5.0);
                b = b < 0 ? 0 : (b > 4 ? 4 : b);
                want[b]++;
            }
            bins[5] = 99; /* guard */
            gd_k_hist_accumulate(x, n, absval, lo, hi, bins, 5);
            for (int b = 0; b < 5; b++)
                assert_int_equal(bins[b], want[b]);
            assert_int_equal(bins[5], 99);
        }

        /* classify */
        uint8_t out[MAXN + 1];
        for (int two = 0; two <= 1; two++) {
            out[n] = 77;
            gd_k_classify(x, n, 0.5f, two, out);
            for (size_t i = 0; i < n; i++) {
                uint8_t e;
                if (isnan(x[i]))
                    e = 255;
                else if (two)
                    e = x[i] <= -0.5f ? 1 : (x[i] >= 0.5f ? 2 : 0);
                else
                    e = x[i] >= 0.5f ? 1 : 0;
                assert_int_equal(out[i], e);
            }
            assert_int_equal(out[n], 77);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isa_name),
        cmocka_unit_test(test_ndiff_delta_values),
        cmocka_unit_test(test_ndiff_delta_nan),
        cmocka_unit_test(test_logratio_values),
        cmocka_unit_test(test_logratio_invalid),
        cmocka_unit_test(test_cva_two_bands),
        cmocka_unit_test(test_cva_three_bands),
        cmocka_unit_test(test_minmax),
        cmocka_unit_test(test_colsum_add),
        cmocka_unit_test(test_unit_u16),
        cmocka_unit_test(test_hist_bins),
        cmocka_unit_test(test_hist_offset_range),
        cmocka_unit_test(test_otsu_bimodal),
        cmocka_unit_test(test_otsu_degenerate),
        cmocka_unit_test(test_otsu_two_bins),
        cmocka_unit_test(test_otsu_from_clusters),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_odd_lengths_index),
        cmocka_unit_test(test_odd_lengths_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
