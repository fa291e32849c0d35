/* stats_avx2.c: AVX2 variants of min/max, histogram accumulation and classification. */
#include "../kernels_internal.h"

#include <immintrin.h>
#include <limits.h>

/* lanes holding a finite value: |v| < Inf is false for NaN and +-Inf */
static inline __m256 finite8(__m256 v)
{
    __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
    return _mm256_cmp_ps(a, _mm256_set1_ps(__builtin_inff()), _CMP_LT_OQ);
}

size_t gd_k_minmax_avx2(const float *restrict in, size_t n, float *mn, float *mx)
{
    const __m256 pinf = _mm256_set1_ps(__builtin_inff()), ninf = _mm256_set1_ps(-__builtin_inff());
    __m256 vlo = pinf, vhi = ninf;
    size_t count = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(in + i);
        __m256 f = finite8(v);
        vlo = _mm256_min_ps(vlo, _mm256_blendv_ps(pinf, v, f));
        vhi = _mm256_max_ps(vhi, _mm256_blendv_ps(ninf, v, f));
        count += (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(f));
    }
    float lo[8], hi[8];
    _mm256_storeu_ps(lo, vlo);
    _mm256_storeu_ps(hi, vhi);
    float l = *mn, h = *mx;
    for (int k = 0; k < 8; k++) {
        if (lo[k] < l)
            l = lo[k];
        if (hi[k] > h)
            h = hi[k];
    }
    *mn = l;
    *mx = h;
    return count + gd_k_minmax_scalar(in + i, n - i, mn, mx);
}

void gd_k_hist_accumulate_avx2(const float *restrict in, size_t n, int absval, double lo,
                               double hi, uint64_t *restrict bins, size_t nbins)
{
    if (nbins == 0)
        return;
    if (nbins > INT_MAX) {
        gd_k_hist_accumulate_scalar(in, n, absval, lo, hi, bins, nbins);
        return;
    }
    /* the scalar arithmetic in double lane by lane: (x - lo) * scale, clamped, truncated */
    double scale = hi > lo ? (double)nbins / (hi - lo) : 0.0;
    const __m256d vlo = _mm256_set1_pd(lo), vsc = _mm256_set1_pd(scale);
    const __m256d top = _mm256_set1_pd((double)(nbins - 1)), zero = _mm256_setzero_pd();
    const __m256d absmask = _mm256_set1_pd(absval ? -0.0 : 0.0);
    size_t i = 0;
    int32_t idx[8];
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(in + i);
        unsigned fin = (unsigned)_mm256_movemask_ps(finite8(v));
        if (!fin)
            continue;
        for (int h = 0; h < 2; h++) {
            __m256d x = _mm256_cvtps_pd(h ? _mm256_extractf128_ps(v, 1) : _mm256_castps256_ps128(v));
            x = _mm256_andnot_pd(absmask, x);
            __m256d f = _mm256_mul_pd(_mm256_sub_pd(x, vlo), vsc);
            f = _mm256_min_pd(_mm256_max_pd(f, zero), top);
            _mm_storeu_si128((__m128i *)(idx + 4 * h), _mm256_cvttpd_epi32(f));
        }
        for (unsigned m = fin; m; m &= m - 1)
            bins[idx[__builtin_ctz(m)]]++;
    }
    gd_k_hist_accumulate_scalar(in + i, n - i, absval, lo, hi, bins, nbins);
}

void gd_k_classify_avx2(const float *restrict score, size_t n, float t, int two_sided,
                        uint8_t *restrict out)
{
    const __m256 vt = _mm256_set1_ps(t), vnt = _mm256_set1_ps(-t);
    const __m256i c0 = _mm256_setzero_si256(), c1 = _mm256_set1_epi32(1);
    const __m256i c2 = _mm256_set1_epi32(two_sided ? 2 : 1), c255 = _mm256_set1_epi32(255);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i c[4];
        for (int q = 0; q < 4; q++) {
            __m256 v = _mm256_loadu_ps(score + i + 8 * q);
            __m256i r = _mm256_blendv_epi8(c0, c2, _mm256_castps_si256(_mm256_cmp_ps(v, vt, _CMP_GE_OQ)));
            if (two_sided) /* "<= -t" wins over ">= t", as in the scalar kernel */
                r = _mm256_blendv_epi8(r, c1, _mm256_castps_si256(_mm256_cmp_ps(v, vnt, _CMP_LE_OQ)));
            c[q] = _mm256_blendv_epi8(r, c255, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
        }
        __m256i p01 = _mm256_packs_epi32(c[0], c[1]), p23 = _mm256_packs_epi32(c[2], c[3]);
        __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p01, p23), perm);
        _mm256_storeu_si256((__m256i *)(out + i), b);
    }
    gd_k_classify_scalar(score + i, n - i, t, two_sided, out + i);
}

/* 8 floats a step, as doubles in two halves of 4; a skipped lane keeps its sum (blend,
 * not + 0: the scalar kernel does not add) */
void gd_k_colsum_add_avx2(const float *restrict row, size_t n, int has_nd, float nd,
                          double *restrict sum, uint32_t *restrict cnt)
{
    const __m256 vnd = _mm256_set1_ps(nd);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(row + i);
        __m256 ok = _mm256_cmp_ps(v, v, _CMP_ORD_Q);
        if (has_nd)
            ok = _mm256_andnot_ps(_mm256_cmp_ps(v, vnd, _CMP_EQ_OQ), ok);
        __m256i oki = _mm256_castps_si256(ok);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        __m256d mlo = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(oki)));
        __m256d mhi = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(oki, 1)));
        __m256d s0 = _mm256_loadu_pd(sum + i), s1 = _mm256_loadu_pd(sum + i + 4);
        _mm256_storeu_pd(sum + i, _mm256_blendv_pd(s0, _mm256_add_pd(s0, lo), mlo));
        _mm256_storeu_pd(sum + i + 4, _mm256_blendv_pd(s1, _mm256_add_pd(s1, hi), mhi));
        __m256i c = _mm256_loadu_si256((const __m256i *)(cnt + i));
        _mm256_storeu_si256((__m256i *)(cnt + i), _mm256_sub_epi32(c, oki)); /* ok = -1 */
    }
    gd_k_colsum_add_scalar(row + i, n - i, has_nd, nd, sum + i, cnt + i);
}

void gd_k_u16_to_unit_avx2(const uint16_t *restrict src, size_t n, float *restrict dst)
{
    const __m256 one = _mm256_set1_ps(65535.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_div_ps(_mm256_cvtepi32_ps(v), one));
    }
    gd_k_u16_to_unit_scalar(src + i, n - i, dst + i);
}

void gd_k_unit_to_u16_avx2(const float *restrict src, size_t n, uint16_t *restrict dst)
{
    const __m256 one = _mm256_set1_ps(65535.0f), big = _mm256_set1_ps(8388608.0f);
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(src + i);
        __m256 fin = _mm256_cmp_ps(_mm256_sub_ps(v, v), zero, _CMP_EQ_OQ);
        __m256 r = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(v, one), big), big);
        r = _mm256_min_ps(_mm256_max_ps(r, zero), one);
        __m256i k = _mm256_and_si256(_mm256_cvttps_epi32(r), _mm256_castps_si256(fin));
        /* 32 -> 16 bits per 128-bit lane, then the two lanes' low halves together */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(k, k), 0x08);
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_castsi256_si128(p));
    }
    gd_k_unit_to_u16_scalar(src + i, n - i, dst + i);
}
