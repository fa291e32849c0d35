/* test_filters.c: cmocka tests of the speckle filters, box mean, KI threshold, k-means
 * and the MRF (split statistics, ICM). */
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

/* gamma-like speckle: a mean of 4 exponentials, times the scene value */
static float speckled(double scene)
{
    double s = 0.0;
    for (int k = 0; k < 4; k++)
        s += -log(1.0 - lcg_uniform());
    return (float)(scene * s / 4.0);
}

static const gd_speckle kinds[] = {GD_SPECKLE_LEE, GD_SPECKLE_REFINED_LEE, GD_SPECKLE_GAMMA_MAP};

static void test_constant_image(void **state)
{
    (void)state;
    enum { W = 13, H = 11 };
    float in[W * H], out[W * H];
    for (int i = 0; i < W * H; i++)
        in[i] = 42.0f;
    for (size_t k = 0; k < 3; k++) {
        gd_k_speckle(kinds[k], in, W, H, 5, 0.25f, 0, H, out);
        for (int i = 0; i < W * H; i++)
            assert_float_equal(out[i], 42.0f, 1e-4);
    }
    gd_k_box_mean(in, W, H, 3, 0, H, out);
    for (int i = 0; i < W * H; i++)
        assert_float_equal(out[i], 42.0f, 1e-4);
}

static void test_speckle_reduces_variance_keeps_mean(void **state)
{
    (void)state;
    enum { W = 64, H = 64 };
    static float in[W * H], out[W * H];
    lcg_state = 7;
    for (int i = 0; i < W * H; i++)
        in[i] = speckled(100.0);
    float cu2 = gd_k_speckle_cu2(in, W, H, 7);
    /* 4-look intensity: cu2 = 1/4 (the median of window estimates is a bit lower) */
    assert_true(cu2 > 0.15f && cu2 < 0.30f);
    double m0 = 0, v0 = 0;
    for (int i = 0; i < W * H; i++)
        m0 += in[i];
    m0 /= W * H;
    for (int i = 0; i < W * H; i++)
        v0 += (in[i] - m0) * (in[i] - m0);
    for (size_t k = 0; k < 3; k++) {
        gd_k_speckle(kinds[k], in, W, H, 7, cu2, 0, H, out);
        double m = 0, v = 0;
        for (int i = 0; i < W * H; i++)
            m += out[i];
        m /= W * H;
        for (int i = 0; i < W * H; i++)
            v += (out[i] - m) * (out[i] - m);
        assert_true(fabs(m - m0) < 0.05 * m0);
        assert_true(v < 0.3 * v0);
    }
}

/* The streamed speckle level (window rows collected in any order, then the median) is
 * the whole-image one, with NaN holes and a height that is not a multiple of the step. */
static void test_cu2_streamed_matches_whole(void **state)
{
    (void)state;
    enum { W = 61, H = 53 };
    static float in[W * H], v[W * H];
    lcg_state = 5;
    for (int i = 0; i < W * H; i++)
        in[i] = speckled(i % W < 30 ? 50.0 : 200.0);
    in[7 * W + 9] = NAN;
    in[30 * W + 40] = NAN;
    for (int win = 3; win <= 9; win += 2) {
        float whole = gd_k_speckle_cu2(in, W, H, win);
        size_t n = 0;
        int step = win;
        /* bottom strips first: the order must not matter */
        for (int y = (H / step - 1) * step; y >= 0; y -= step)
            n += gd_k_speckle_cu2_windows(in + (size_t)y * W, W, win, v + n);
        assert_true(n > 0);
        assert_true(n <= (size_t)(W / step) * (size_t)(H / step));
        float streamed = gd_k_speckle_cu2_median(v, n);
        assert_memory_equal(&whole, &streamed, sizeof whole);
    }
    assert_true(isnan(gd_k_speckle_cu2_median(v, 0)));
}

static void test_edge_preserved_by_refined_lee(void **state)
{
    (void)state;
    enum { W = 40, H = 40 };
    static float in[W * H], out[W * H];
    lcg_state = 11;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            in[y * W + x] = speckled(x < 20 ? 10.0 : 200.0);
    gd_k_speckle(GD_SPECKLE_REFINED_LEE, in, W, H, 7, 0.25f, 0, H, out);
    /* the column just left of the edge stays dark: mean well under the half-way level */
    double left = 0, right = 0;
    for (int y = 5; y < H - 5; y++) {
        left += out[y * W + 19];
        right += out[y * W + 20];
    }
    left /= H - 10;
    right /= H - 10;
    assert_true(left < 40.0);
    assert_true(right > 150.0);
}

static void test_halo_matches_whole(void **state)
{
    (void)state;
    enum { W = 23, H = 31, WIN = 5, R = 2 };
    static float in[W * H], whole[W * H], part[W * H];
    lcg_state = 3;
    for (int i = 0; i < W * H; i++)
        in[i] = lcg_uniform() < 0.05 ? NAN : speckled(50.0 + 30.0 * (i % 7));
    for (size_t k = 0; k < 3; k++) {
        gd_k_speckle(kinds[k], in, W, H, WIN, 0.3f, 0, H, whole);
        /* rows 10..19 from a strip holding rows 10-R .. 19+R */
        const float *strip = in + (10 - R) * W;
        gd_k_speckle(kinds[k], strip, W, 10 + 2 * R, WIN, 0.3f, R, 10 + R, part);
        for (int i = 0; i < 10 * W; i++) {
            float a = whole[10 * W + i], b = part[i];
            if (isnan(a))
                assert_true(isnan(b));
            else
                assert_float_equal(a, b, 1e-5);
        }
    }
}

/* gd_k_speckle (refined Lee's sub-block means once per centre, offset lists) against
 * the pixel-by-pixel reference, bit for bit: every window up to 31, strips of the buffer
 * (y0, y1 inside a halo), NaN, +-Inf, zeros, and a dynamic range of 10^12 within windows
 * (where double sums stop being exact, the order of additions must be the reference's),
 * and small integers (ties between gradients and between the edge's two sides) */
static void test_refined_lee_matches_reference(void **state)
{
    (void)state;
    enum { W = 67, H = 53 };
    float *in = malloc(sizeof(float) * W * H), *a = malloc(sizeof(float) * W * H),
          *b = malloc(sizeof(float) * W * H);
    assert_non_null(in);
    assert_non_null(a);
    assert_non_null(b);
    for (int rep = 0; rep < 6; rep++) {
        for (int i = 0; i < W * H; i++) {
            double u = lcg_uniform();
            in[i] = u < 0.03 ? NAN : u < 0.04 ? (u < 0.035 ? INFINITY : -INFINITY)
                    : u < 0.06 ? 0.0f
                    : rep % 3 == 1 ? (float)pow(10.0, 12.0 * lcg_uniform() - 6.0)
                    : rep % 3 == 2 ? (float)(1 + (int)(3.0 * lcg_uniform())) /* ties */
                                   : speckled(50.0 + 40.0 * ((i % W) > W / 2));
        }
        for (int win = 3; win <= 31; win += 2) {
            int y0 = rep * 3 % 11, y1 = H - rep * 5 % 13;
            memset(a, 0, sizeof(float) * W * H);
            memset(b, 0, sizeof(float) * W * H);
            gd_k_speckle(GD_SPECKLE_REFINED_LEE, in, W, H, win, 0.25f, y0, y1, a);
            gd_k_speckle_ref(GD_SPECKLE_REFINED_LEE, in, W, H, win, 0.25f, y0, y1, b);
            assert_memory_equal(a, b, sizeof(float) * (size_t)W * (size_t)(y1 - y0));
        }
    }
    free(in);
    free(a);
    free(b);
}

/* gd_k_flicm_sweep (each neighbour's terms once, a ring of rows) against the pixel-by-
 * pixel reference, bit for bit: memberships, largest move and sums, on whole buffers and
 * on row ranges inside them, with NaN and +-Inf scores, one- and two-sided */
static void test_flicm_sweep_matches_reference(void **state)
{
    (void)state;
    enum { W = 41, H = 37 };
    float x[W * H], u1[W * H], a[W * H], b[W * H];
    for (int rep = 0; rep < 8; rep++) {
        for (int i = 0; i < W * H; i++) {
            double u = lcg_uniform();
            x[i] = u < 0.04 ? NAN : u < 0.05 ? INFINITY : (float)(4.0 * lcg_uniform() - 1.0);
            u1[i] = isfinite(x[i]) ? (float)lcg_uniform() : NAN;
        }
        double v[2] = {0.1 + 0.1 * rep, 1.5};
        int r0 = rep % 2 ? 0 : rep, r1 = rep % 3 ? H : H - rep;
        double dma, dmb, sa[4], sb[4];
        memset(a, 0, sizeof a);
        memset(b, 0, sizeof b);
        gd_k_flicm_sweep(x, u1, W, H, rep % 2, v, r0, r1, a, &dma, sa);
        gd_k_flicm_sweep_ref(x, u1, W, H, rep % 2, v, r0, r1, b, &dmb, sb);
        assert_memory_equal(a, b, sizeof(float) * (size_t)W * (size_t)(r1 - r0));
        assert_memory_equal(&dma, &dmb, sizeof dma);
        assert_memory_equal(sa, sb, sizeof sa);
    }
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The speckle level's median (a selection, not a sort) is the value a sort puts at n / 2:
 * lengths 1..300 and 100001, many ties, +Inf, sorted and reversed inputs */
static void test_cu2_median_is_sorted_middle(void **state)
{
    (void)state;
    enum { N = 100001 };
    float *v = malloc(sizeof(float) * N), *w = malloc(sizeof(float) * N);
    assert_non_null(v);
    assert_non_null(w);
    for (int rep = 0; rep < 5; rep++)
        for (size_t n = 1; n <= N; n = n < 300 ? n + 1 : n == 300 ? N : N + 1) {
            for (size_t i = 0; i < n; i++) {
                double u = lcg_uniform();
                v[i] = rep == 0   ? (float)u
                       : rep == 1 ? (float)(int)(4.0 * u) /* ties */
                       : rep == 2 ? (u < 0.1 ? INFINITY : (float)(u * 1e-30))
                       : rep == 3 ? (float)i                /* sorted */
                                  : (float)(n - i);         /* reversed */
            }
            memcpy(w, v, sizeof(float) * n);
            qsort(w, n, sizeof(float), cmp_f);
            float got = gd_k_speckle_cu2_median(v, n);
            if (memcmp(&got, &w[n / 2], sizeof got) != 0)
                fail_msg("rep %d n %zu: median %a, sorted middle %a", rep, n, (double)got,
                         (double)w[n / 2]);
        }
    free(v);
    free(w);
}

static void test_nan_kept(void **state)
{
    (void)state;
    enum { W = 9, H = 9 };
    float in[W * H], out[W * H];
    for (int i = 0; i < W * H; i++)
        in[i] = (float)(10 + i % 5);
    in[40] = NAN;
    in[3] = INFINITY;
    for (size_t k = 0; k < 3; k++) {
        gd_k_speckle(kinds[k], in, W, H, 3, 0.2f, 0, H, out);
        assert_true(isnan(out[40]));
        assert_true(isinf(out[3]));
        for (int i = 0; i < W * H; i++)
            if (i != 40 && i != 3)
                assert_true(isfinite(out[i]));
    }
    gd_k_box_mean(in, W, H, 3, 0, H, out);
    assert_true(isnan(out[40]));
    assert_true(isfinite(out[41]));
}

static void test_box_mean_values(void **state)
{
    (void)state;
    float in[3 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out[9];
    gd_k_box_mean(in, 3, 3, 3, 0, 3, out);
    assert_float_equal(out[4], 5.0f, 1e-6);
    assert_float_equal(out[0], (1 + 2 + 4 + 5) / 4.0f, 1e-6);
    assert_float_equal(out[8], (5 + 6 + 8 + 9) / 4.0f, 1e-6);
}

static void test_kittler_unequal_classes(void **state)
{
    (void)state;
    /* 95 % narrow class at 0.2, 5 % wide class at 0.7: KI puts the threshold near the
     * crossing of the two weighted densities */
    enum { NB = 256 };
    uint64_t bins[NB] = {0};
    lcg_state = 5;
    float v[20000];
    for (int i = 0; i < 20000; i++)
        v[i] = (float)(i < 19000 ? 0.2 + 0.03 * lcg_gauss() : 0.7 + 0.08 * lcg_gauss());
    gd_k_hist_accumulate(v, 20000, 0, 0.0, 1.0, bins, NB);
    double t = -1;
    assert_int_equal(gd_k_kittler(bins, NB, 0.0, 1.0, &t), 0);
    assert_true(t > 0.28 && t < 0.45);
    uint64_t one[NB] = {0};
    one[10] = 100;
    assert_int_equal(gd_k_kittler(one, NB, 0.0, 1.0, &t), -1);
    uint64_t empty[NB] = {0};
    assert_int_equal(gd_k_kittler(empty, NB, 0.0, 1.0, &t), -1);
}

static void test_kmeans_two_clusters(void **state)
{
    (void)state;
    enum { N = 1001, D = 2 };
    static float x[N * D];
    static uint8_t lab[N];
    lcg_state = 9;
    for (int i = 0; i < N; i++) {
        double c = i < 700 ? 0.0 : 5.0;
        x[i * D] = (float)(c + 0.5 * lcg_gauss());
        x[i * D + 1] = (float)(-c + 0.5 * lcg_gauss());
    }
    x[500 * D] = NAN;
    double centres[2 * D] = {1.0, 1.0, 2.0, -2.0};
    int it = gd_k_kmeans(x, N, D, 2, 50, centres, lab);
    assert_true(it >= 1 && it < 50);
    assert_int_equal(lab[500], 255);
    int errors = 0;
    for (int i = 0; i < N; i++)
        if (i != 500)
            errors += lab[i] != (i < 700 ? 0 : 1);
    assert_true(errors <= 2);
    assert_float_equal(centres[2], 5.0, 0.1);
    assert_float_equal(centres[3], -5.0, 0.1);
}

/* a known homoscedastic mixture: the split at the midpoint gives back its parameters */
static void test_split_stats_known_mixture(void **state)
{
    (void)state;
    enum { N = 20000 };
    float *x = malloc(sizeof(float) * N);
    assert_non_null(x);
    lcg_state = 7;
    for (int i = 0; i < N; i++) {
        int c = i % 5 < 2; /* 40 % change */
        double v = (c ? 1.0 : 0.2) + 0.1 * lcg_gauss();
        /* the sign is thrown away with absval: a two-sided score */
        x[i] = (float)(i % 2 ? -v : v);
    }
    x[3] = NAN;
    x[11] = -INFINITY;
    double mu[2], sigma;
    assert_int_equal(gd_k_split_stats(x, N, 1, 0.6, mu, &sigma), 0);
    assert_float_equal(mu[0], 0.2, 0.005);
    assert_float_equal(mu[1], 1.0, 0.005);
    assert_float_equal(sigma, 0.1, 0.005);
    /* one-sided: the negative half falls into class 0 and widens it */
    assert_int_equal(gd_k_split_stats(x, N, 0, 0.6, mu, &sigma), 0);
    assert_true(mu[0] < 0.0 && sigma > 0.3);
    /* nothing above t: no second class */
    assert_int_equal(gd_k_split_stats(x, N, 1, 5.0, mu, &sigma), -1);
    free(x);
}

/* a noisy disc on a background: ICM with a Potts prior recovers the regions much better
 * than the per-pixel decision, which it equals with beta 0; nodata stays nodata */
/* the row-skipping ICM against the plain sweeps, bit for bit: labels, sweeps and flips,
 * over widths from 1, strong and weak priors, biases both ways, nodata, a two-sided
 * score, sweep caps that stop it mid-way, and a checkerboard prior that keeps pixels
 * flipping (the rows around them stay dirty sweep after sweep) */
static void test_icm_skip_matches_reference(void **state)
{
    (void)state;
    const int dims[][2] = {{1, 1}, {1, 9}, {9, 1}, {17, 13}, {96, 80}, {33, 200}};
    const double betas[] = {0.0, 0.3, 1.0, 3.5}, biases[] = {0.0, -1.5, 2.0};
    const int caps[] = {1, 2, 5, 30};
    lcg_state = 29;
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        int W = dims[di][0], H = dims[di][1];
        size_t N = (size_t)W * (size_t)H;
        float *x = malloc(sizeof(float) * N);
        uint8_t *init = malloc(N), *a = malloc(N), *b = malloc(N);
        assert_true(x && init && a && b);
        for (int absval = 0; absval <= 1; absval++) {
            for (size_t k = 0; k < N; k++) {
                int blob = ((int)(k % (size_t)W) / 7 + (int)(k / (size_t)W) / 5) % 2;
                x[k] = (float)((absval && k % 2 ? -1.0 : 1.0) * (blob + 0.6 * lcg_gauss()));
                init[k] = k % 23 == 4 ? 255 : lcg_gauss() > 0.0;
            }
            if (N > 3)
                x[N / 3] = NAN;
            const double mu[2] = {0.0, 1.0};
            for (size_t bi = 0; bi < 4; bi++)
                for (size_t ci = 0; ci < 3; ci++)
                    for (size_t ki = 0; ki < 4; ki++) {
                        size_t fa = 7, fb = 9;
                        memcpy(a, init, N);
                        memcpy(b, init, N);
                        int ia = gd_k_icm_potts_bias_ref(x, W, H, absval, mu, 0.6, betas[bi],
                                                         biases[ci], caps[ki], a, &fa);
                        int ib = gd_k_icm_potts_bias(x, W, H, absval, mu, 0.6, betas[bi],
                                                     biases[ci], caps[ki], b, &fb);
                        assert_int_equal(ib, ia);
                        assert_int_equal(fb, fa);
                        assert_memory_equal(b, a, N);
                    }
        }
        free(x);
        free(init);
        free(a);
        free(b);
    }
    /* pixels that never settle: a flat score between the means and a strong prior on a
     * checkerboard start flips every pixel each sweep until the cap */
    enum { W = 40, H = 30, N = W * H };
    float x[N];
    uint8_t a[N], b[N];
    for (int k = 0; k < N; k++) {
        x[k] = 0.5f;
        a[k] = b[k] = (uint8_t)((k % W + k / W) % 2);
    }
    const double mu[2] = {0.0, 1.0};
    size_t fa = 0, fb = 0;
    int ia = gd_k_icm_potts_bias_ref(x, W, H, 0, mu, 1.0, 1.0, 0.0, 12, a, &fa);
    int ib = gd_k_icm_potts_bias(x, W, H, 0, mu, 1.0, 1.0, 0.0, 12, b, &fb);
    assert_int_equal(ib, ia);
    assert_int_equal(fb, fa);
    assert_true(fa > 0);
    assert_memory_equal(b, a, N);
}

static void test_icm_recovers_regions(void **state)
{
    (void)state;
    enum { W = 96, H = 80, N = W * H };
    float *x = malloc(sizeof(float) * N);
    uint8_t *truth = malloc(N), *lab = malloc(N), *pix = malloc(N);
    assert_true(x && truth && lab && pix);
    lcg_state = 11;
    for (int y = 0; y < H; y++)
        for (int i = 0; i < W; i++) {
            size_t k = (size_t)y * W + (size_t)i;
            truth[k] = (i - 40) * (i - 40) + (y - 40) * (y - 40) < 25 * 25;
            x[k] = (float)(truth[k] + 0.45 * lcg_gauss()); /* ~13 % wrong per pixel */
        }
    x[5 * W + 5] = NAN;
    double mu[2], sigma;
    assert_int_equal(gd_k_split_stats(x, N, 0, 0.5, mu, &sigma), 0);
    for (size_t k = 0; k < N; k++)
        pix[k] = isfinite(x[k]) ? (double)x[k] >= 0.5 * (mu[0] + mu[1]) : 255;
    memcpy(lab, pix, N);
    size_t flips = 99;
    assert_int_equal(gd_k_icm_potts(x, W, H, 0, mu, sigma, 0.0, 30, lab, &flips), 1);
    assert_int_equal(flips, 0);
    assert_memory_equal(lab, pix, N);
    int it = gd_k_icm_potts(x, W, H, 0, mu, sigma, 1.0, 30, lab, &flips);
    assert_true(it >= 2 && it <= 30);
    assert_true(flips > 0);
    assert_int_equal(lab[5 * W + 5], 255);
    int err_pix = 0, err_icm = 0;
    for (size_t k = 0; k < N; k++) {
        if (k == 5 * W + 5)
            continue;
        err_pix += pix[k] != truth[k];
        err_icm += lab[k] != truth[k];
    }
    assert_true(err_pix > N / 12);
    assert_true(err_icm * 10 < err_pix);
    /* a bias for no change: fewer change pixels than without, one against: more */
    size_t n_plain = 0, n_less = 0, n_more = 0;
    for (size_t k = 0; k < N; k++)
        n_plain += lab[k] == 1;
    memcpy(lab, pix, N);
    assert_true(gd_k_icm_potts_bias(x, W, H, 0, mu, sigma, 1.0, 2.0, 30, lab, NULL) >= 1);
    for (size_t k = 0; k < N; k++)
        n_less += lab[k] == 1;
    memcpy(lab, pix, N);
    assert_true(gd_k_icm_potts_bias(x, W, H, 0, mu, sigma, 1.0, -2.0, 30, lab, NULL) >= 1);
    for (size_t k = 0; k < N; k++)
        n_more += lab[k] == 1;
    assert_true(n_less < n_plain && n_plain < n_more);
    /* bad arguments */
    assert_int_equal(gd_k_icm_potts_bias(x, W, H, 0, mu, sigma, 1.0, NAN, 30, lab, NULL), -1);
    assert_int_equal(gd_k_icm_potts(x, W, H, 0, mu, 0.0, 1.0, 30, lab, NULL), -1);
    assert_int_equal(gd_k_icm_potts(x, W, H, 0, mu, sigma, -1.0, 30, lab, NULL), -1);
    free(x);
    free(truth);
    free(lab);
    free(pix);
}

/* the neighbourhood ratio by hand on a 3x3 pair: window sums of min/max, theta the pooled
 * coefficient of variation; equal dates give 0, the sign follows after - before, NaN
 * stays NaN and is left out of its neighbours' windows */
static void test_nratio_values(void **state)
{
    (void)state;
    float b[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, a[9] = {1, 1, 1, 1, 4, 1, 1, 1, 1}, out[9];
    gd_k_nratio(b, b, 3, 3, 3, 0.0f, out);
    for (int i = 0; i < 9; i++)
        assert_float_equal(out[i], 0.0f, 1e-7);
    gd_k_nratio(b, a, 3, 3, 3, 0.0f, out);
    /* centre: values 1 x 17 and 4 once: mean 21/18, variance 33/18 - (21/18)^2 */
    double mean = 21.0 / 18.0, theta = sqrt(33.0 / 18.0 - mean * mean) / mean;
    double nr = theta * 0.25 + (1.0 - theta) * 9.0 / 12.0;
    assert_float_equal(out[4], (float)-log(nr), 1e-5);
    assert_true(out[4] > 0.0f);
    /* corner (window of 4 pixels, 8 values: 7 ones and a 4): pixel ratio 1 */
    mean = 11.0 / 8.0;
    theta = sqrt(23.0 / 8.0 - mean * mean) / mean;
    nr = theta * 1.0 + (1.0 - theta) * 4.0 / 7.0;
    assert_float_equal(out[0], (float)-log(nr), 1e-5);
    gd_k_nratio(a, b, 3, 3, 3, 0.0f, out);
    assert_true(out[4] < 0.0f); /* decrease: negative as the log-ratio */
    b[0] = NAN;
    gd_k_nratio(b, a, 3, 3, 3, 0.0f, out);
    assert_true(isnan(out[0]));
    mean = 19.0 / 16.0; /* centre without the NaN pixel: 15 ones and a 4 */
    theta = sqrt(31.0 / 16.0 - mean * mean) / mean;
    nr = theta * 0.25 + (1.0 - theta) * 8.0 / 11.0;
    assert_float_equal(out[4], (float)-log(nr), 1e-5);
}

/* a disc of change in noise: FLICM from rough centres finds the class means and beats the
 * per-pixel decision at the midpoint; nodata gives 255; bad centres are refused */
/* One gd_k_flicm sweep computed on row tiles (each with one row above and below) gives the
 * whole-image memberships bit for bit, and the tiles' sums add up to the whole one's. */
static void test_flicm_sweep_tiles_match_whole(void **state)
{
    (void)state;
    enum { W = 23, H = 37 };
    static float x[W * H], u1[W * H], whole[W * H], tiled[W * H];
    lcg_state = 3;
    for (int i = 0; i < W * H; i++) {
        x[i] = (float)((i % W > 11 ? 1.0 : 0.1) + 0.3 * (lcg_uniform() - 0.5));
        u1[i] = (float)lcg_uniform();
    }
    x[5 * W + 5] = NAN;
    const double v[2] = {0.15, 0.9};
    double dmax_w, sums_w[4];
    gd_k_flicm_sweep(x, u1, W, H, 1, v, 0, H, whole, &dmax_w, sums_w);
    double dmax_t = 0.0, sums_t[4] = {0.0, 0.0, 0.0, 0.0};
    for (int c0 = 0; c0 < H; c0 += 8) {
        int c1 = c0 + 8 < H ? c0 + 8 : H;
        int a = c0 > 0 ? c0 - 1 : 0, b = c1 < H ? c1 + 1 : H;
        double dm, sm[4];
        gd_k_flicm_sweep(x + (size_t)a * W, u1 + (size_t)a * W, W, b - a, 1, v, c0 - a,
                         c1 - a, tiled + (size_t)c0 * W, &dm, sm);
        dmax_t = dm > dmax_t ? dm : dmax_t;
        for (int j = 0; j < 4; j++)
            sums_t[j] += sm[j];
    }
    assert_memory_equal(whole, tiled, sizeof whole);
    assert_true(isnan(whole[5 * W + 5]));
    assert_true(dmax_t == dmax_w);
    for (int j = 0; j < 4; j++)
        assert_float_equal(sums_t[j], sums_w[j], 1e-9 * fabs(sums_w[j]) + 1e-12);
    assert_true(sums_w[1] > 0.0 && sums_w[3] > 0.0);
}

/* gd_k_split_stats in pieces (strips in order) gives the same bits. */
static void test_split_stats_pieces(void **state)
{
    (void)state;
    enum { N = 1000 };
    static float x[N];
    lcg_state = 9;
    for (int i = 0; i < N; i++)
        x[i] = (float)(lcg_uniform() * 4.0 - 2.0);
    x[17] = NAN;
    double mu[2], sigma;
    assert_int_equal(gd_k_split_stats(x, N, 1, 1.0, mu, &sigma), 0);
    double s[2] = {0.0, 0.0}, c[2] = {0.0, 0.0}, ss = 0.0, m2[2];
    for (int i = 0; i < N; i += 300)
        gd_k_split_sums(x + i, N - i < 300 ? N - i : 300, 1, 1.0, s, c);
    m2[0] = s[0] / c[0];
    m2[1] = s[1] / c[1];
    for (int i = 0; i < N; i += 300)
        gd_k_split_ss(x + i, N - i < 300 ? N - i : 300, 1, 1.0, m2, &ss);
    double sg = sqrt(ss / (c[0] + c[1]));
    assert_memory_equal(mu, m2, sizeof mu);
    assert_memory_equal(&sigma, &sg, sizeof sg);
    assert_true(c[0] + c[1] == N - 1);
}

static void test_flicm_recovers_regions(void **state)
{
    (void)state;
    enum { W = 96, H = 80, N = W * H };
    float *x = malloc(sizeof(float) * N), *u1 = malloc(sizeof(float) * N);
    float *tmp = malloc(sizeof(float) * N);
    uint8_t *truth = malloc(N), *lab = malloc(N);
    assert_true(x && u1 && tmp && truth && lab);
    lcg_state = 17;
    for (int y = 0; y < H; y++)
        for (int i = 0; i < W; i++) {
            size_t k = (size_t)y * W + (size_t)i;
            truth[k] = (i - 40) * (i - 40) + (y - 40) * (y - 40) < 25 * 25;
            x[k] = (float)(truth[k] + 0.45 * lcg_gauss());
        }
    x[3 * W + 7] = NAN;
    double v[2] = {0.2, 0.7};
    int it = gd_k_flicm(x, W, H, 0, v, 100, 1e-4, u1, tmp, lab);
    assert_true(it >= 2 && it <= 100);
    assert_float_equal(v[0], 0.0, 0.1);
    assert_float_equal(v[1], 1.0, 0.1);
    assert_int_equal(lab[3 * W + 7], 255);
    assert_true(isnan(u1[3 * W + 7]));
    int err_pix = 0, err_fl = 0;
    for (size_t k = 0; k < N; k++) {
        if (k == 3 * W + 7)
            continue;
        assert_true(u1[k] >= 0.0f && u1[k] <= 1.0f);
        err_pix += (x[k] >= 0.5f) != truth[k];
        err_fl += lab[k] != truth[k];
    }
    assert_true(err_pix > N / 12);
    assert_true(err_fl * 3 < err_pix);
    /* absval: clustering -x on |x| is clustering |x| */
    float *ax = malloc(sizeof(float) * N);
    uint8_t *lab2 = malloc(N);
    assert_true(ax && lab2);
    for (size_t k = 0; k < N; k++) {
        ax[k] = fabsf(x[k]);
        x[k] = -x[k];
    }
    double v1[2] = {0.2, 0.7}, v2[2] = {0.2, 0.7};
    it = gd_k_flicm(ax, W, H, 0, v1, 100, 1e-4, u1, tmp, lab);
    assert_int_equal(gd_k_flicm(x, W, H, 1, v2, 100, 1e-4, u1, tmp, lab2), it);
    assert_memory_equal(lab, lab2, N);
    assert_float_equal(v1[1], v2[1], 1e-12);
    free(ax);
    double bad[2] = {0.7, 0.2};
    assert_int_equal(gd_k_flicm(x, W, H, 1, bad, 100, 1e-4, u1, tmp, lab2), -1);
    free(lab2);
    free(x);
    free(u1);
    free(tmp);
    free(truth);
    free(lab);
}

/* hysteresis: seeds >= t_hi grow through 8-connected pixels >= t_lo only; a weak run not
 * touching a seed stays 0; |x| when absval; NaN -> 255 and blocks the growth */
static void test_hysteresis_growth(void **state)
{
    (void)state;
    enum { W = 7, H = 3, N = W * H };
    const float x[N] = {0.9f, 0.6f, 0.0f, 0.6f, 0.6f, 0.0f, 0.0f,
                        0.0f, 0.0f, 0.6f, 0.0f, 0.0f, NAN,  0.6f,
                        0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.9f};
    const uint8_t want[N] = {1, 1, 0, 1, 1, 0, 0,
                             0, 0, 1, 0, 0, 255, 1,
                             0, 0, 0, 0, 0, 0, 1};
    uint8_t lab[N];
    size_t stack[N];
    assert_int_equal(gd_k_hysteresis(x, W, H, 0, 0.5, 0.8, lab, stack), 5);
    assert_memory_equal(lab, want, N);
    float xn[N];
    for (int i = 0; i < N; i++)
        xn[i] = -x[i];
    assert_int_equal(gd_k_hysteresis(xn, W, H, 1, 0.5, 0.8, lab, stack), 5);
    assert_memory_equal(lab, want, N);
    /* one-sided: negative values are no change */
    assert_int_equal(gd_k_hysteresis(xn, W, H, 0, 0.5, 0.8, lab, stack), 0);
    /* t_lo == t_hi: the plain threshold */
    assert_int_equal(gd_k_hysteresis(x, W, H, 0, 0.8, 0.8, lab, stack), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(lab[i], isnan(x[i]) ? 255 : x[i] >= 0.8f);
}

/* streamed hysteresis (hyst.c) gives gd_k_hysteresis's labels and count on random
 * fields (blobs of several sizes, NaNs, both signs), whatever the rows per call */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void test_hysteresis_streamed(void **state)
{
    (void)state;
    enum { W = 61, H = 47, N = W * H };
    float *x = malloc(sizeof(float) * N);
    uint8_t *want = malloc(N), *got = malloc(N);
    size_t *stack = malloc(sizeof(size_t) * N);
    assert_non_null(x);
    assert_non_null(want);
    assert_non_null(got);
    assert_non_null(stack);
    uint32_t seed = 12345u;
    for (int trial = 0; trial < 40; trial++) {
        /* smooth-ish field: sum of a few random boxes plus noise */
        for (int i = 0; i < N; i++)
            x[i] = (float)(lcg(&seed) % 1000) / 2000.0f - 0.25f;
        for (int b = 0; b < 12; b++) {
            int bx = (int)(lcg(&seed) % W), by = (int)(lcg(&seed) % H);
            int bw = 1 + (int)(lcg(&seed) % 15), bh = 1 + (int)(lcg(&seed) % 15);
            float a = (float)((int)(lcg(&seed) % 2000) - 1000) / 1000.0f;
            for (int y = by; y < by + bh && y < H; y++)
                for (int xx = bx; xx < bx + bw && xx < W; xx++)
                    x[y * W + xx] += a;
        }
        for (int k = 0; k < 20; k++)
            x[lcg(&seed) % N] = NAN;
        int absval = trial % 2;
        double lo = 0.3 + 0.01 * (trial % 7), hi = 0.7;
        size_t g0 = gd_k_hysteresis(x, W, H, absval, lo, hi, want, stack);
        int step = 1 + trial % 9;
        gd_k_hyst *hy = gd_k_hyst_create(W);
        assert_non_null(hy);
        for (int y = 0; y < H; y += step)
            assert_int_equal(gd_k_hyst_scan(hy, x + (size_t)y * W, y + step > H ? H - y : step,
                                            absval, lo, hi), 0);
        for (int y = 0; y < H; y += step)
            assert_int_equal(gd_k_hyst_label(hy, x + (size_t)y * W,
                                             y + step > H ? H - y : step, absval, lo, hi,
                                             got + (size_t)y * W), 0);
        assert_int_equal(gd_k_hyst_grown(hy), g0);
        assert_memory_equal(got, want, N);
        gd_k_hyst_destroy(hy);
    }
    gd_k_hyst_destroy(NULL);
    assert_null(gd_k_hyst_create(0));
    free(x);
    free(want);
    free(got);
    free(stack);
}

/* urban's object decision: a region stays when its peak reaches the seed level and it is
 * large enough; other classes are untouched */
static void test_objects_rule(void **state)
{
    (void)state;
    enum { W = 8, H = 4, N = W * H };
    /* A (3 px, peak 0.9); B (5 px, peak 0.6) and C (3 px, peak 0.95) joined diagonally
     * between rows 2 and 3: one region; 255 is nodata */
    static const uint8_t in[N] = {1, 1, 0, 0, 1, 1, 0, 255,
                                  1, 0, 0, 0, 1, 1, 0, 0,
                                  0, 0, 0, 0, 0, 1, 0, 1,
                                  0, 0, 0, 0, 0, 0, 1, 1};
    float score[N];
    for (int i = 0; i < N; i++)
        score[i] = 0.55f;
    score[1] = 0.9f;  /* A */
    score[5] = 0.6f;  /* B */
    score[31] = 0.95f; /* C */
    uint8_t cls[N];
    size_t work[N];
    gd_k_objects_counts c;
    /* A is too small despite its peak; B + C (8 px) reaches the seed through C */
    memcpy(cls, in, N);
    assert_int_equal(gd_k_objects_whole(score, W, H, 0.8f, 4, cls, work, &c), 0);
    assert_int_equal(c.kept, 1);
    assert_int_equal(c.kept_px, 8);
    assert_int_equal(c.dropped, 1);
    assert_int_equal(c.dropped_px, 3);
    assert_int_equal(cls[0], 0);
    assert_int_equal(cls[4], 1);
    assert_int_equal(cls[31], 1);
    assert_int_equal(cls[7], 255);
    /* seed above every peak: all dropped */
    memcpy(cls, in, N);
    gd_k_objects_whole(score, W, H, 0.99f, 1, cls, work, &c);
    assert_int_equal(c.kept, 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(cls[i], in[i] == 255 ? 255 : 0);
}

/* the streamed object decision gives gd_k_objects_whole's classes and counts on random
 * fields, whatever the rows per call of each pass */
static void test_objects_streamed(void **state)
{
    (void)state;
    enum { W = 59, H = 53, N = W * H };
    float *x = malloc(sizeof(float) * N);
    uint8_t *in = malloc(N), *want = malloc(N), *got = malloc(N);
    size_t *work = malloc(sizeof(size_t) * N);
    assert_non_null(x);
    assert_non_null(in);
    assert_non_null(want);
    assert_non_null(got);
    assert_non_null(work);
    uint32_t seed = 777u;
    uint64_t kept_any = 0, dropped_any = 0;
    for (int trial = 0; trial < 60; trial++) {
        for (int i = 0; i < N; i++)
            x[i] = (float)(lcg(&seed) % 1000) / 2000.0f;
        for (int b = 0; b < 14; b++) {
            int bx = (int)(lcg(&seed) % W), by = (int)(lcg(&seed) % H);
            int bw = 1 + (int)(lcg(&seed) % 17), bh = 1 + (int)(lcg(&seed) % 17);
            float a = (float)((int)(lcg(&seed) % 1000)) / 1000.0f;
            for (int y = by; y < by + bh && y < H; y++)
                for (int xx = bx; xx < bx + bw && xx < W; xx++)
                    x[y * W + xx] += a;
        }
        float t = 0.35f + 0.02f * (float)(trial % 9);
        for (int i = 0; i < N; i++)
            in[i] = x[i] >= t ? 1 : 0;
        for (int k = 0; k < 25; k++)
            in[lcg(&seed) % N] = 255;
        float sf = t * (1.0f + 0.25f * (float)(trial % 5));
        long min_px = (long)(trial % 4) * 5;
        gd_k_objects_counts cw, cs;
        memcpy(want, in, N);
        assert_int_equal(gd_k_objects_whole(x, W, H, sf, min_px, want, work, &cw), 0);
        int step1 = 1 + trial % 11, step2 = 1 + (trial * 7) % 13;
        gd_k_objects *o = gd_k_objects_create(W, sf, min_px);
        assert_non_null(o);
        for (int y = 0; y < H; y += step1)
            assert_int_equal(gd_k_objects_scan(o, in + (size_t)y * W, x + (size_t)y * W,
                                               y + step1 > H ? H - y : step1), 0);
        memcpy(got, in, N);
        for (int y = 0; y < H; y += step2)
            assert_int_equal(gd_k_objects_label(o, got + (size_t)y * W,
                                                y + step2 > H ? H - y : step2), 0);
        /* a second scan after labelling is refused */
        assert_int_equal(gd_k_objects_scan(o, in, x, 1), -1);
        cs = gd_k_objects_result(o);
        assert_memory_equal(got, want, N);
        assert_int_equal(cs.kept, cw.kept);
        assert_int_equal(cs.kept_px, cw.kept_px);
        assert_int_equal(cs.dropped, cw.dropped);
        assert_int_equal(cs.dropped_px, cw.dropped_px);
        kept_any += cw.kept;
        dropped_any += cw.dropped;
        gd_k_objects_destroy(o);
    }
    /* the fields exercised both outcomes */
    assert_true(kept_any > 0);
    assert_true(dropped_any > 0);
    gd_k_objects_destroy(NULL);
    assert_null(gd_k_objects_create(0, 0.0f, 0));
    free(x);
    free(in);
    free(want);
    free(got);
    free(work);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_image),
        cmocka_unit_test(test_speckle_reduces_variance_keeps_mean),
        cmocka_unit_test(test_edge_preserved_by_refined_lee),
        cmocka_unit_test(test_cu2_streamed_matches_whole),
        cmocka_unit_test(test_halo_matches_whole),
        cmocka_unit_test(test_refined_lee_matches_reference),
        cmocka_unit_test(test_flicm_sweep_matches_reference),
        cmocka_unit_test(test_nan_kept),
        cmocka_unit_test(test_cu2_median_is_sorted_middle),
        cmocka_unit_test(test_box_mean_values),
        cmocka_unit_test(test_kittler_unequal_classes),
        cmocka_unit_test(test_kmeans_two_clusters),
        cmocka_unit_test(test_split_stats_known_mixture),
        cmocka_unit_test(test_icm_recovers_regions),
        cmocka_unit_test(test_icm_skip_matches_reference),
        cmocka_unit_test(test_nratio_values),
        cmocka_unit_test(test_flicm_recovers_regions),
        cmocka_unit_test(test_flicm_sweep_tiles_match_whole),
        cmocka_unit_test(test_split_stats_pieces),
        cmocka_unit_test(test_hysteresis_growth),
        cmocka_unit_test(test_hysteresis_streamed),
        cmocka_unit_test(test_objects_rule),
        cmocka_unit_test(test_objects_streamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
