/* test_kernels_isa.c: every ISA variant of every kernel against the scalar reference, and
 * the kernels' log against glibc logf. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gd_kernels.h"

#define BIG 4099 /* a large length that is not a multiple of any vector width */
#define PAD 4    /* unaligned starts: 0..3 floats into the buffers */
#define GUARD_BYTE 0xA5

static uint32_t rng = 12345u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static double uni(void) { return (double)(next() >> 8) / 16777216.0; }

/* Values of every kind the kernels meet: NaN, +-Inf, zeros, subnormals, negatives,
 * reflectances, DNs. */
static float special(double lo, double hi)
{
    double r = uni();
    if (r < 0.06)
        return NAN;
    if (r < 0.09)
        return INFINITY;
    if (r < 0.12)
        return -INFINITY;
    if (r < 0.15)
        return 0.0f;
    if (r < 0.17)
        return -0.0f;
    if (r < 0.19)
        return FLT_MIN * (float)uni(); /* subnormal */
    return (float)(lo + (hi - lo) * uni());
}

static void fill(float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = special(lo, hi);
}

/* same bits, or both NaN (the NaN payload is not part of the contract) */
static int same_float(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static void assert_same_floats(const float *got, const float *want, size_t n, const char *what,
                               int isa)
{
    for (size_t i = 0; i < n; i++)
        if (!same_float(got[i], want[i])) {
            fail_msg("%s isa %d: element %zu of %zu: got %a want %a", what, isa, i, n,
                     (double)got[i], (double)want[i]);
        }
}

static size_t lengths[80];
static size_t nlengths;

static int setup(void **state)
{
    (void)state;
    nlengths = 0;
    for (size_t n = 0; n <= 67; n++)
        lengths[nlengths++] = n;
    lengths[nlengths++] = 1000;
    lengths[nlengths++] = BIG;
    gd_kernels_init();
    return 0;
}

typedef struct bufs {
    float *in[8];
    float *out, *want;
    uint8_t *cout, *cwant;
} bufs;

static void bufs_alloc(bufs *b)
{
    for (int k = 0; k < 8; k++)
        b->in[k] = malloc(sizeof(float) * (BIG + PAD + 16));
    b->out = malloc(sizeof(float) * (BIG + PAD + 16));
    b->want = malloc(sizeof(float) * (BIG + PAD + 16));
    b->cout = malloc(BIG + PAD + 64);
    b->cwant = malloc(BIG + PAD + 64);
}

static void bufs_free(bufs *b)
{
    for (int k = 0; k < 8; k++)
        free(b->in[k]);
    free(b->out);
    free(b->want);
    free(b->cout);
    free(b->cwant);
}

/* fills outputs past n with a guard to catch overruns */
static void guard(float *o, size_t n)
{
    for (size_t i = n; i < n + 16; i++)
        o[i] = -777.0f;
}

static void check_guard(const float *o, size_t n)
{
    for (size_t i = n; i < n + 16; i++)
        assert_true(o[i] == -777.0f);
}

static void test_index_kernels(void **state)
{
    (void)state;
    const gd_kernel_table *ref = gd_kernels_table(GD_ISA_SCALAR);
    assert_non_null(ref);
    bufs b;
    bufs_alloc(&b);
    int tested = 0;
    for (int isa = GD_ISA_AVX2; isa <= GD_ISA_AVX512; isa++) {
        const gd_kernel_table *t = gd_kernels_table((gd_isa)isa);
        if (!t) {
            printf("# isa %d not available on this CPU: skipped\n", isa);
            continue;
        }
        tested++;
        for (size_t li = 0; li < nlengths; li++) {
            size_t n = lengths[li];
            size_t ooff = next() % PAD;
            float *in[8];
            for (int k = 0; k < 8; k++) {
                in[k] = b.in[k] + (next() % PAD);
                fill(in[k], n, k % 2 ? -0.2 : 0.0, k < 4 ? 1.0 : 12000.0);
            }
            float *out = b.out + ooff, *want = b.want + ooff;
            for (int sg = -1; sg <= 1; sg += 2) {
                ref->ndiff_delta(in[0], in[1], in[2], in[3], (float)sg, want, n);
                guard(out, n);
                t->ndiff_delta(in[0], in[1], in[2], in[3], (float)sg, out, n);
                assert_same_floats(out, want, n, "ndiff_delta", isa);
                check_guard(out, n);
            }
            const float eps[] = {0.0f, 1e-6f, 1.0f};
            for (int e = 0; e < 3; e++) {
                ref->logratio(in[4], in[5], eps[e], want, n);
                guard(out, n);
                t->logratio(in[4], in[5], eps[e], out, n);
                assert_same_floats(out, want, n, "logratio", isa);
                check_guard(out, n);
            }
            const float w[] = {0.5f, 2.0f, 1e-3f, 1.0f};
            const float *bp[] = {in[0], in[1], in[4], in[6]}, *ap[] = {in[2], in[3], in[5], in[7]};
            for (size_t nb = 1; nb <= 4; nb++)
                for (int weighted = 0; weighted <= 1; weighted++) {
                    ref->cva(bp, ap, weighted ? w : NULL, nb, want, n);
                    guard(out, n);
                    t->cva(bp, ap, weighted ? w : NULL, nb, out, n);
                    assert_same_floats(out, want, n, "cva", isa);
                    check_guard(out, n);
                }
        }
    }
    printf("# index kernels: %d SIMD variant(s) compared with scalar\n", tested);
    bufs_free(&b);
}

static void test_stats_kernels(void **state)
{
    (void)state;
    const gd_kernel_table *ref = gd_kernels_table(GD_ISA_SCALAR);
    bufs b;
    bufs_alloc(&b);
    uint64_t hw[4096], hg[4096];
    for (int isa = GD_ISA_AVX2; isa <= GD_ISA_AVX512; isa++) {
        const gd_kernel_table *t = gd_kernels_table((gd_isa)isa);
        if (!t)
            continue;
        for (size_t li = 0; li < nlengths; li++) {
            size_t n = lengths[li];
            float *in = b.in[0] + (next() % PAD);
            fill(in, n, -3.0, 5.0);
            /* values exactly at +-t for classify */
            if (n > 3) {
                in[n / 2] = 0.5f;
                in[n / 3] = -0.5f;
            }

            /* minmax from fresh and from already-set running values */
            const float starts[][2] = {{INFINITY, -INFINITY}, {-1.0f, 1.0f}, {10.0f, -10.0f}};
            for (int s = 0; s < 3; s++) {
                float wl = starts[s][0], wh = starts[s][1], gl = wl, gh = wh;
                size_t wc = ref->minmax(in, n, &wl, &wh);
                size_t gc = t->minmax(in, n, &gl, &gh);
                assert_int_equal(gc, wc);
                assert_true(gl == wl);
                assert_true(gh == wh);
            }

            /* histograms: one bin, odd counts, Otsu's 4096; ranges inside and around */
            const size_t nbins[] = {1, 7, 256, 4096};
            const double ranges[][2] = {{-3.0, 5.0}, {0.0, 5.0}, {-1.0, 1.0}, {2.0, 2.0}};
            for (int nbi = 0; nbi < 4; nbi++)
                for (int r = 0; r < 4; r++)
                    for (int absval = 0; absval <= 1; absval++) {
                        size_t nb = nbins[nbi];
                        memset(hw, 0, sizeof hw);
                        memset(hg, 0, sizeof hg);
                        ref->hist_accumulate(in, n, absval, ranges[r][0], ranges[r][1], hw, nb);
                        t->hist_accumulate(in, n, absval, ranges[r][0], ranges[r][1], hg, nb);
                        assert_memory_equal(hg, hw, sizeof hw);
                    }

            /* column sums: NaN, nodata (a value of the data, or NaN) and +-Inf lanes,
             * running sums from non-zero starts, two rows */
            {
                float *row = b.in[1] + (next() % PAD);
                memcpy(row, in, sizeof(float) * n);
                for (size_t i = 0; i < n; i += 1 + next() % 7) {
                    int kind = (int)(next() % 4);
                    row[i] = kind == 0 ? NAN : kind == 1 ? 1.25f : kind == 2 ? INFINITY : -0.0f;
                }
                double *sw = malloc(sizeof(double) * (n + 40)), *sg = malloc(sizeof(double) * (n + 40));
                uint32_t *cw = malloc(sizeof(uint32_t) * (n + 40)), *cg = malloc(sizeof(uint32_t) * (n + 40));
                for (int has_nd = 0; has_nd <= 2; has_nd++) {
                    float nd = has_nd == 2 ? NAN : 1.25f;
                    for (size_t i = 0; i < n + 40; i++) {
                        sw[i] = sg[i] = i % 3 ? (double)i * 0.5 : 0.0;
                        cw[i] = cg[i] = (uint32_t)(i % 5);
                    }
                    for (int rep = 0; rep < 2; rep++) {
                        ref->colsum_add(row, n, has_nd != 0, nd, sw, cw);
                        t->colsum_add(row, n, has_nd != 0, nd, sg, cg);
                    }
                    /* the guard past n stays as it was */
                    assert_memory_equal(sg, sw, sizeof(double) * (n + 40));
                    assert_memory_equal(cg, cw, sizeof(uint32_t) * (n + 40));
                }
                free(sw);
                free(sg);
                free(cw);
                free(cg);
            }

            /* 16-bit fractions both ways: every kind of float (NaN, +-Inf, -0, out of
             * 0..1, ties at k + 0.5 steps), all the ends of the u16 range */
            {
                uint16_t *uw = malloc(sizeof(uint16_t) * (n + 40));
                uint16_t *ug = malloc(sizeof(uint16_t) * (n + 40));
                float *fw = malloc(sizeof(float) * (n + 40)), *fg = malloc(sizeof(float) * (n + 40));
                float *src = b.in[2] + (next() % PAD);
                assert_true(uw && ug && fw && fg);
                for (size_t i = 0; i < n; i++) {
                    uint32_t r = next();
                    int kind = (int)(r % 9);
                    float u = (float)uni();
                    src[i] = kind == 0 ? NAN : kind == 1 ? INFINITY : kind == 2 ? -INFINITY
                           : kind == 3 ? -0.0f : kind == 4 ? 1.0f + u : kind == 5 ? -u
                           : kind == 6 ? ((float)(r % 65536) + 0.5f) / 65535.0f : u;
                    uw[i] = (uint16_t)(i % 7 == 0 ? 65535 : i % 11 == 0 ? 0 : r >> 16);
                }
                memcpy(ug, uw, sizeof(uint16_t) * n);
                for (size_t i = n; i < n + 40; i++) {
                    uw[i] = ug[i] = 0x5a5a;
                    fw[i] = fg[i] = 7.0f;
                }
                ref->u16_to_unit(uw, n, fw);
                t->u16_to_unit(ug, n, fg);
                assert_memory_equal(fg, fw, sizeof(float) * (n + 40));
                ref->unit_to_u16(src, n, uw);
                t->unit_to_u16(src, n, ug);
                assert_memory_equal(ug, uw, sizeof(uint16_t) * (n + 40));
                free(uw);
                free(ug);
                free(fw);
                free(fg);
            }

            /* classify, both modes, t = 0 and t = 0.5 */
            uint8_t *co = b.cout + (next() % PAD), *cw = b.cwant + (next() % PAD);
            const float ts[] = {0.0f, 0.5f, 2.5f};
            for (int ti = 0; ti < 3; ti++)
                for (int two = 0; two <= 1; two++) {
                    memset(co, GUARD_BYTE, n + 40);
                    ref->classify(in, n, ts[ti], two, cw);
                    t->classify(in, n, ts[ti], two, co);
                    assert_memory_equal(co, cw, n);
                    for (size_t i = n; i < n + 40; i++)
                        assert_int_equal(co[i], GUARD_BYTE);
                }
        }
    }
    bufs_free(&b);
}

/* distance in units in the last place between two finite floats of the same sign */
static double ulps(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0)
        ia = INT32_MIN - ia;
    if (ib < 0)
        ib = INT32_MIN - ib;
    return fabs((double)ia - (double)ib);
}

/* The kernels' log (bit-identical in every variant) against glibc logf: sweep of ratios
 * from subnormals to FLT_MAX, dense around 1 where the log-ratio of real images lives. */
/* refined Lee (gd_k_speckle_isa) of every ISA against the pixel-by-pixel reference, bit
 * for bit: widths around the vector lengths, every window up to 31, row ranges inside the
 * buffer, values of every kind (special(): NaN, +-Inf, +-0, subnormals, negatives), a
 * dynamic range of 10^12 (sums no longer exact: the order of additions must be the
 * reference's), small integers (ties between gradients and between the edge's sides) and
 * speckle across an edge */
static void test_refined_lee(void **state)
{
    (void)state;
    enum { WMAX = 83, H = 47 };
    static const int widths[] = {7, 16, 33, 40, 41, 57, 83};
    float *in = malloc(sizeof(float) * WMAX * H), *got = malloc(sizeof(float) * WMAX * H),
          *want = malloc(sizeof(float) * WMAX * H);
    assert_non_null(in);
    assert_non_null(got);
    assert_non_null(want);
    int tested = 0;
    for (int isa = GD_ISA_AVX2; isa <= GD_ISA_AVX512; isa++) {
        if (!gd_kernels_table((gd_isa)isa))
            continue;
        tested++;
        for (int rep = 0; rep < 4; rep++)
            for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
                int w = widths[wi];
                for (int i = 0; i < w * H; i++) {
                    double u = uni();
                    in[i] = rep == 0   ? special(-5.0, 300.0)
                            : rep == 1 ? (u < 0.05 ? special(0.0, 1.0)
                                                   : (float)pow(10.0, 12.0 * uni() - 6.0))
                            : rep == 2 ? (u < 0.03 ? NAN : (float)(1 + (int)(3.0 * uni())))
                                       : (u < 0.02 ? INFINITY
                                                   : (float)((i % w > w / 2 ? 90.0 : 30.0) *
                                                             (0.2 + 1.6 * uni())));
                }
                for (int win = 3; win <= 31; win += 2) {
                    int y0 = (rep * 3 + win) % 9, y1 = H - (rep * 5 + win) % 11;
                    for (int i = 0; i < w * H; i++)
                        got[i] = want[i] = -777.0f;
                    assert_int_equal(gd_k_speckle_isa((gd_isa)isa, GD_SPECKLE_REFINED_LEE, in,
                                                      w, H, win, 0.25f, y0, y1, got),
                                     0);
                    gd_k_speckle_ref(GD_SPECKLE_REFINED_LEE, in, w, H, win, 0.25f, y0, y1,
                                     want);
                    for (int i = 0; i < w * H; i++)
                        if (memcmp(&got[i], &want[i], sizeof(float)) != 0 &&
                            !(isnan(got[i]) && isnan(want[i])))
                            fail_msg("refined Lee isa %d rep %d w %d win %d: pixel %d (row "
                                     "%d) got %a want %a",
                                     isa, rep, w, win, i % w, y0 + i / w, (double)got[i],
                                     (double)want[i]);
                }
            }
    }
    printf("# refined Lee: %d SIMD variant(s) compared with the reference\n", tested);
    free(in);
    free(got);
    free(want);
}

/* the FLICM sweep (gd_k_flicm_sweep_isa) of every ISA against the pixel-by-pixel
 * reference, bit for bit: memberships, largest move and sums, widths around the vector
 * lengths, row ranges inside the buffer, one- and two-sided, scores of every kind
 * (special(): NaN, +-Inf, +-0, subnormals, negatives) and memberships in [0, 1] */
static void test_flicm_sweep(void **state)
{
    (void)state;
    enum { WMAX = 45, H = 23 };
    static const int widths[] = {1, 3, 4, 7, 8, 9, 16, 17, 31, 45};
    float x[WMAX * H], u1[WMAX * H], got[WMAX * H], want[WMAX * H];
    int tested = 0;
    for (int isa = GD_ISA_AVX2; isa <= GD_ISA_AVX512; isa++) {
        if (!gd_kernels_table((gd_isa)isa))
            continue;
        tested++;
        for (int rep = 0; rep < 12; rep++)
            for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
                int w = widths[wi];
                for (int i = 0; i < w * H; i++) {
                    x[i] = rep % 3 == 0 ? special(-1.0, 3.0) : (float)(4.0 * uni() - 1.0);
                    if (rep % 3 == 2 && uni() < 0.1)
                        x[i] = uni() < 0.5 ? NAN : -INFINITY;
                    u1[i] = isfinite(x[i]) ? (rep % 4 == 3 ? (float)(uni() < 0.5)
                                                           : (float)uni())
                                           : NAN;
                }
                double v[2] = {0.05 + 0.1 * rep, 1.5 + 0.01 * rep};
                int r0 = rep % 5, r1 = H - rep % 4;
                double dmg, dmw, sg[4], sw[4];
                for (int i = 0; i < w * H; i++)
                    got[i] = want[i] = -777.0f;
                assert_int_equal(gd_k_flicm_sweep_isa((gd_isa)isa, x, u1, w, H, rep % 2, v,
                                                      r0, r1, got, &dmg, sg),
                                 0);
                gd_k_flicm_sweep_ref(x, u1, w, H, rep % 2, v, r0, r1, want, &dmw, sw);
                for (int i = 0; i < w * H; i++)
                    if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
                        fail_msg("FLICM isa %d rep %d w %d: pixel %d (row %d) got %a want %a",
                                 isa, rep, w, i % w, r0 + i / w, (double)got[i],
                                 (double)want[i]);
                if (memcmp(&dmg, &dmw, sizeof dmg) != 0 || memcmp(sg, sw, sizeof sg) != 0)
                    fail_msg("FLICM isa %d rep %d w %d: max move %a/%a, sums %a %a %a %a / "
                             "%a %a %a %a", isa, rep, w, dmg, dmw, sg[0], sg[1], sg[2], sg[3],
                             sw[0], sw[1], sw[2], sw[3]);
            }
    }
    printf("# FLICM sweep: %d SIMD variant(s) compared with the reference\n", tested);
}

static void test_log_accuracy(void **state)
{
    (void)state;
    double max_ulp = 0.0, max_rel = 0.0, max_abs_near1 = 0.0;
    float worst = 0.0f;
    size_t count = 0;
    for (int i = 0; i < 2000000; i++) {
        float x;
        if (i % 2)
            x = (float)exp((uni() - 0.5) * 2.0 * 87.0); /* 1e-38 .. 1e38 */
        else
            x = (float)(0.5 + 1.5 * uni()); /* [0.5, 2): |log| < 0.7 */
        if (i % 1000 == 7)
            x = FLT_MIN * (float)uni();
        if (!(x > 0.0f) || isinf(x))
            continue;
        float got = gd_k_logf(x), want = logf(x);
        count++;
        double rel = want != 0.0f ? fabs(((double)got - want) / want) : fabs((double)got);
        double u = (got == 0.0f || want == 0.0f) ? (got == want ? 0.0 : 1e9) : ulps(got, want);
        if (u > max_ulp && !(fabs((double)want) < 1e-3)) {
            max_ulp = u;
            worst = x;
        }
        if (fabs((double)want) < 1e-3)
            max_abs_near1 = fmax(max_abs_near1, fabs((double)got - want));
        else
            max_rel = fmax(max_rel, rel);
    }
    printf("# gd_k_logf vs logf over %zu values: max %.0f ulp (at %a), max relative error "
           "%.3g for |log x| >= 1e-3, max absolute error %.3g below\n",
           count, max_ulp, (double)worst, max_rel, max_abs_near1);
    /* floors set just above the measured figures (README: kernels) */
    assert_true(max_ulp <= 1.0);
    assert_true(max_rel <= 1.5e-7);
    assert_true(max_abs_near1 <= 1e-10);
    /* the special values */
    assert_true(isnan(gd_k_logf(NAN)));
    assert_true(isnan(gd_k_logf(-1.0f)));
    assert_true(gd_k_logf(0.0f) == -INFINITY);
    assert_true(gd_k_logf(INFINITY) == INFINITY);
    assert_true(gd_k_logf(1.0f) == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_kernels),
        cmocka_unit_test(test_stats_kernels),
        cmocka_unit_test(test_log_accuracy),
        cmocka_unit_test(test_refined_lee),
        cmocka_unit_test(test_flicm_sweep),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
