/* speckle_avx512.c: refined Lee's sub-block ring and inner pixels, 8 pixels a step (double
 * lanes), the scalar reference's operations in its order (speckle.c). */
#include "../kernels_internal.h"

#include <immintrin.h>

/* lanes whose float is finite: v - v is 0 for finite v, NaN for NaN and +-Inf */
static inline __mmask8 finite8(__m256 v)
{
    return _mm256_cmp_ps_mask(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ);
}

int gd_k_rlee_ring_avx512(const float *in, int w, int sr, int xa, int xb, double *row)
{
    int cx = xa;
    for (; cx + 8 <= xb; cx += 8) {
        /* window_stats: s += v over the finite values, rows then columns */
        __m512d s = _mm512_setzero_pd(), c = _mm512_setzero_pd();
        const __m512d one = _mm512_set1_pd(1.0);
        for (int j = -sr; j <= sr; j++) {
            const float *src = in + (ptrdiff_t)j * w + cx - sr;
            for (int i = 0; i <= 2 * sr; i++) {
                __m256 v = _mm256_loadu_ps(src + i);
                __mmask8 f = finite8(v);
                s = _mm512_mask_add_pd(s, f, s, _mm512_cvtps_pd(v));
                c = _mm512_mask_add_pd(c, f, c, one);
            }
        }
        /* mean = c ? s / c : NaN */
        __mmask8 any = _mm512_cmp_pd_mask(c, _mm512_setzero_pd(), _CMP_NEQ_OQ);
        __m512d mean = _mm512_mask_div_pd(_mm512_set1_pd(__builtin_nan("")), any, s, c);
        _mm512_storeu_pd(row + cx, mean);
    }
    return cx;
}

int gd_k_rlee_row_avx512(const float *p, const double *const sm[3], int d, const int *offt,
                         int n, float cu2, int xa, int xb, float *o)
{
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    const __m512d absmask = _mm512_castsi512_pd(_mm512_set1_epi64(0x7fffffffffffffffLL));
    const __m512d cu2d = _mm512_set1_pd((double)cu2);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int x = xa;
    for (; x + 8 <= xb; x += 8) {
        __m256 vf = _mm256_loadu_ps(p + x);
        __mmask8 vfin = finite8(vf);
        if (!vfin) {
            _mm256_storeu_ps(o + x, vf);
            continue;
        }
        /* edge_direction: the nine means, NaN ones replaced by the centre's */
        __m512d s_[3][3];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                s_[a][b] = _mm512_loadu_pd(sm[a] + x + (b - 1) * d);
        __m512d c0 = s_[1][1];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                __mmask8 nan = _mm512_cmp_pd_mask(s_[a][b], s_[a][b], _CMP_UNORD_Q);
                s_[a][b] = _mm512_mask_mov_pd(s_[a][b], nan, c0);
            }
#define ADD3(a, b, c) _mm512_add_pd(_mm512_add_pd(a, b), c)
        __m512d g[4];
        g[0] = _mm512_sub_pd(ADD3(s_[0][2], s_[1][2], s_[2][2]), ADD3(s_[0][0], s_[1][0], s_[2][0]));
        g[1] = _mm512_sub_pd(ADD3(s_[2][0], s_[2][1], s_[2][2]), ADD3(s_[0][0], s_[0][1], s_[0][2]));
        g[2] = _mm512_sub_pd(ADD3(s_[0][1], s_[0][2], s_[1][2]), ADD3(s_[1][0], s_[2][0], s_[2][1]));
        g[3] = _mm512_sub_pd(ADD3(s_[1][2], s_[2][2], s_[2][1]), ADD3(s_[0][0], s_[0][1], s_[1][0]));
#undef ADD3
        __m512d babs = _mm512_and_pd(g[0], absmask);
        __m512d lo = s_[1][0], hi = s_[1][2];
        __m256i best = _mm256_setzero_si256();
        static const int los[4][2] = {{1, 0}, {0, 1}, {2, 0}, {0, 0}};
        static const int his[4][2] = {{1, 2}, {2, 1}, {0, 2}, {2, 2}};
        for (int k = 1; k < 4; k++) {
            __m512d gabs = _mm512_and_pd(g[k], absmask);
            __mmask8 gt = _mm512_cmp_pd_mask(gabs, babs, _CMP_GT_OQ);
            babs = _mm512_mask_mov_pd(babs, gt, gabs);
            best = _mm256_mask_mov_epi32(best, gt, _mm256_set1_epi32(k));
            lo = _mm512_mask_mov_pd(lo, gt, s_[los[k][0]][los[k][1]]);
            hi = _mm512_mask_mov_pd(hi, gt, s_[his[k][0]][his[k][1]]);
        }
        __mmask8 up = _mm512_cmp_pd_mask(_mm512_and_pd(_mm512_sub_pd(c0, hi), absmask),
                                         _mm512_and_pd(_mm512_sub_pd(c0, lo), absmask),
                                         _CMP_LE_OQ);
        __m256i combo = _mm256_mask_add_epi32(_mm256_add_epi32(best, best), up,
                                              _mm256_add_epi32(best, best),
                                              _mm256_set1_epi32(1));
        /* the half-window: each lane its own offset list, row-major */
        __m256i base = _mm256_add_epi32(_mm256_set1_epi32(x), lane);
        __m512d s = zero, s2 = zero, c = zero;
        for (int q = 0; q < n; q++) {
            __m256i ofs = _mm256_permutexvar_epi32(
                combo, _mm256_loadu_si256((const __m256i *)(offt + (size_t)q * 8)));
            __m256 u = _mm256_i32gather_ps(p, _mm256_add_epi32(base, ofs), 4);
            __mmask8 f = finite8(u);
            __m512d ud = _mm512_cvtps_pd(u);
            s = _mm512_mask_add_pd(s, f, s, ud);
            s2 = _mm512_mask_add_pd(s2, f, s2, _mm512_mul_pd(ud, ud));
            c = _mm512_mask_add_pd(c, f, c, one);
        }
        /* mean, var = c > 1 ? fmax(0, s2 / c - mean²) : 0 (the sign of a zero variance
         * never reaches the output: lee takes k = 0 for ci2 = +-0) */
        __m512d mean = _mm512_div_pd(s, c);
        __m512d var = _mm512_sub_pd(_mm512_div_pd(s2, c), _mm512_mul_pd(mean, mean));
        __mmask8 keep = _mm512_cmp_pd_mask(c, one, _CMP_GT_OQ) &
                        _mm512_cmp_pd_mask(var, zero, _CMP_GT_OQ);
        var = _mm512_maskz_mov_pd(keep, var);
        /* lee(v, mean, var, cu2) */
        __m512d vd = _mm512_cvtps_pd(vf);
        __m512d ci2 = _mm512_div_pd(var, _mm512_mul_pd(mean, mean));
        __mmask8 ci2pos = _mm512_cmp_pd_mask(ci2, zero, _CMP_GT_OQ);
        __m512d k = _mm512_maskz_mov_pd(ci2pos, _mm512_sub_pd(one, _mm512_div_pd(cu2d, ci2)));
        k = _mm512_mask_mov_pd(k, _mm512_cmp_pd_mask(k, zero, _CMP_LT_OQ), zero);
        __m512d res = _mm512_add_pd(mean, _mm512_mul_pd(k, _mm512_sub_pd(vd, mean)));
        __mmask8 mpos = _mm512_cmp_pd_mask(mean, zero, _CMP_GT_OQ);
        res = _mm512_mask_mov_pd(mean, mpos, res); /* !(m > 0): m itself */
        __m256 rf = _mm512_cvtpd_ps(res);
        _mm256_storeu_ps(o + x, _mm256_mask_mov_ps(vf, vfin, rf));
    }
    return x;
}
