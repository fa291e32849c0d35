/* speckle_avx2.c: refined Lee's sub-block ring and inner pixels, 4 pixels a step (double
 * lanes), the scalar reference's operations in its order (speckle.c). */
#include "../kernels_internal.h"

#include <immintrin.h>

/* all-ones lanes where the float is finite: v - v is 0 for finite v, NaN for NaN, +-Inf */
static inline __m256d finite4(__m128 v)
{
    __m128 f = _mm_cmp_ps(_mm_sub_ps(v, v), _mm_setzero_ps(), _CMP_EQ_OQ);
    /* widen each 32-bit lane mask to 64 bits */
    return _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm_castps_si128(f)));
}

static inline __m256d sel(__m256d m, __m256d a, __m256d b) /* m ? b : a */
{
    return _mm256_blendv_pd(a, b, m);
}

int gd_k_rlee_ring_avx2(const float *in, int w, int sr, int xa, int xb, double *row)
{
    int cx = xa;
    const __m256d one = _mm256_set1_pd(1.0);
    for (; cx + 4 <= xb; cx += 4) {
        __m256d s = _mm256_setzero_pd(), c = _mm256_setzero_pd();
        for (int j = -sr; j <= sr; j++) {
            const float *src = in + (ptrdiff_t)j * w + cx - sr;
            for (int i = 0; i <= 2 * sr; i++) {
                __m128 v = _mm_loadu_ps(src + i);
                __m256d f = finite4(v);
                s = sel(f, s, _mm256_add_pd(s, _mm256_cvtps_pd(v)));
                c = sel(f, c, _mm256_add_pd(c, one));
            }
        }
        __m256d any = _mm256_cmp_pd(c, _mm256_setzero_pd(), _CMP_NEQ_OQ);
        __m256d mean = sel(any, _mm256_set1_pd(__builtin_nan("")), _mm256_div_pd(s, c));
        _mm256_storeu_pd(row + cx, mean);
    }
    return cx;
}

int gd_k_rlee_row_avx2(const float *p, const double *const sm[3], int d, const int *offt,
                       int n, float cu2, int xa, int xb, float *o)
{
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    const __m256d cu2d = _mm256_set1_pd((double)cu2);
    const __m128i lane = _mm_setr_epi32(0, 1, 2, 3);
    int x = xa;
    for (; x + 4 <= xb; x += 4) {
        __m128 vf = _mm_loadu_ps(p + x);
        __m128 vfin = _mm_cmp_ps(_mm_sub_ps(vf, vf), _mm_setzero_ps(), _CMP_EQ_OQ);
        if (_mm_movemask_ps(vfin) == 0) {
            _mm_storeu_ps(o + x, vf);
            continue;
        }
        __m256d s_[3][3];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                s_[a][b] = _mm256_loadu_pd(sm[a] + x + (b - 1) * d);
        __m256d c0 = s_[1][1];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                s_[a][b] = sel(_mm256_cmp_pd(s_[a][b], s_[a][b], _CMP_UNORD_Q), s_[a][b], c0);
#define ADD3(a, b, c) _mm256_add_pd(_mm256_add_pd(a, b), c)
        __m256d g[4];
        g[0] = _mm256_sub_pd(ADD3(s_[0][2], s_[1][2], s_[2][2]), ADD3(s_[0][0], s_[1][0], s_[2][0]));
        g[1] = _mm256_sub_pd(ADD3(s_[2][0], s_[2][1], s_[2][2]), ADD3(s_[0][0], s_[0][1], s_[0][2]));
        g[2] = _mm256_sub_pd(ADD3(s_[0][1], s_[0][2], s_[1][2]), ADD3(s_[1][0], s_[2][0], s_[2][1]));
        g[3] = _mm256_sub_pd(ADD3(s_[1][2], s_[2][2], s_[2][1]), ADD3(s_[0][0], s_[0][1], s_[1][0]));
#undef ADD3
        __m256d babs = _mm256_and_pd(g[0], absmask);
        __m256d lo = s_[1][0], hi = s_[1][2];
        __m128i best = _mm_setzero_si128();
        static const int los[4][2] = {{1, 0}, {0, 1}, {2, 0}, {0, 0}};
        static const int his[4][2] = {{1, 2}, {2, 1}, {0, 2}, {2, 2}};
        for (int k = 1; k < 4; k++) {
            __m256d gabs = _mm256_and_pd(g[k], absmask);
            __m256d gt = _mm256_cmp_pd(gabs, babs, _CMP_GT_OQ);
            babs = sel(gt, babs, gabs);
            /* the 64-bit lane masks narrowed to 32 bits (lanes 0, 2 of each half) */
            __m256i g64 = _mm256_castpd_si256(gt);
            __m128i nar = _mm_castps_si128(_mm_shuffle_ps(
                _mm_castsi128_ps(_mm256_castsi256_si128(g64)),
                _mm_castsi128_ps(_mm256_extracti128_si256(g64, 1)), _MM_SHUFFLE(2, 0, 2, 0)));
            best = _mm_blendv_epi8(best, _mm_set1_epi32(k), nar);
            lo = sel(gt, lo, s_[los[k][0]][los[k][1]]);
            hi = sel(gt, hi, s_[his[k][0]][his[k][1]]);
        }
        __m256d up = _mm256_cmp_pd(_mm256_and_pd(_mm256_sub_pd(c0, hi), absmask),
                                   _mm256_and_pd(_mm256_sub_pd(c0, lo), absmask), _CMP_LE_OQ);
        __m256i u64 = _mm256_castpd_si256(up);
        __m128i up32 = _mm_castps_si128(_mm_shuffle_ps(
            _mm_castsi128_ps(_mm256_castsi256_si128(u64)),
            _mm_castsi128_ps(_mm256_extracti128_si256(u64, 1)), _MM_SHUFFLE(2, 0, 2, 0)));
        /* combo = 2 best + (up ? 1 : 0); up32 lanes are -1 or 0 */
        __m128i combo = _mm_sub_epi32(_mm_add_epi32(best, best), up32);
        __m256i combo8 = _mm256_castsi128_si256(combo);
        __m128i base = _mm_add_epi32(_mm_set1_epi32(x), lane);
        __m256d s = zero, s2 = zero, c = zero;
        for (int q = 0; q < n; q++) {
            __m256i row = _mm256_loadu_si256((const __m256i *)(offt + (size_t)q * 8));
            __m128i ofs = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(row, combo8));
            __m128 u = _mm_i32gather_ps(p, _mm_add_epi32(base, ofs), 4);
            __m256d f = finite4(u);
            __m256d ud = _mm256_cvtps_pd(u);
            s = sel(f, s, _mm256_add_pd(s, ud));
            s2 = sel(f, s2, _mm256_add_pd(s2, _mm256_mul_pd(ud, ud)));
            c = sel(f, c, _mm256_add_pd(c, one));
        }
        __m256d mean = _mm256_div_pd(s, c);
        __m256d var = _mm256_sub_pd(_mm256_div_pd(s2, c), _mm256_mul_pd(mean, mean));
        __m256d keep = _mm256_and_pd(_mm256_cmp_pd(c, one, _CMP_GT_OQ),
                                     _mm256_cmp_pd(var, zero, _CMP_GT_OQ));
        var = _mm256_and_pd(keep, var);
        __m256d vd = _mm256_cvtps_pd(vf);
        __m256d ci2 = _mm256_div_pd(var, _mm256_mul_pd(mean, mean));
        __m256d ci2pos = _mm256_cmp_pd(ci2, zero, _CMP_GT_OQ);
        __m256d k = _mm256_and_pd(ci2pos, _mm256_sub_pd(one, _mm256_div_pd(cu2d, ci2)));
        k = sel(_mm256_cmp_pd(k, zero, _CMP_LT_OQ), k, zero);
        __m256d res = _mm256_add_pd(mean, _mm256_mul_pd(k, _mm256_sub_pd(vd, mean)));
        res = sel(_mm256_cmp_pd(mean, zero, _CMP_GT_OQ), mean, res);
        __m128 rf = _mm256_cvtpd_ps(res);
        _mm_storeu_ps(o + x, _mm_blendv_ps(vf, rf, vfin));
    }
    return x;
}
