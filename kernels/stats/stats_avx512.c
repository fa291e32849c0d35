/* stats_avx512.c: AVX-512 variants of min/max, histogram accumulation and classification
 * (16 floats a step, masked tails). */
#include "../kernels_internal.h"

#include <immintrin.h>
#include <limits.h>

static inline __mmask16 tail_mask(size_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

static inline __mmask16 finite16(__mmask16 k, __m512 v)
{
    __m512 a = _mm512_abs_ps(v);
    return _mm512_mask_cmp_ps_mask(k, a, _mm512_set1_ps(__builtin_inff()), _CMP_LT_OQ);
}

size_t gd_k_minmax_avx512(const float *restrict in, size_t n, float *mn, float *mx)
{
    const __m512 pinf = _mm512_set1_ps(__builtin_inff()), ninf = _mm512_set1_ps(-__builtin_inff());
    __m512 vlo = pinf, vhi = ninf;
    size_t count = 0;
    for (size_t i = 0; i < n; i += 16) {
        /* plain loads in the main loop: the compiler folds the constant full mask */
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        __m512 v = n - i >= 16 ? _mm512_loadu_ps(in + i) : _mm512_maskz_loadu_ps(k, in + i);
        __mmask16 f = finite16(k, v);
        vlo = _mm512_mask_min_ps(vlo, f, vlo, v);
        vhi = _mm512_mask_max_ps(vhi, f, vhi, v);
        count += (size_t)__builtin_popcount((unsigned)f);
    }
    float l = _mm512_reduce_min_ps(vlo), h = _mm512_reduce_max_ps(vhi);
    if (l < *mn)
        *mn = l;
    if (h > *mx)
        *mx = h;
    return count;
}

void gd_k_hist_accumulate_avx512(const float *restrict in, size_t n, int absval, double lo,
                                 double hi, uint64_t *restrict bins, size_t nbins)
{
    if (nbins == 0)
        return;
    if (nbins > INT_MAX) {
        gd_k_hist_accumulate_scalar(in, n, absval, lo, hi, bins, nbins);
        return;
    }
    double scale = hi > lo ? (double)nbins / (hi - lo) : 0.0;
    const __m512d vlo = _mm512_set1_pd(lo), vsc = _mm512_set1_pd(scale);
    const __m512d top = _mm512_set1_pd((double)(nbins - 1)), zero = _mm512_setzero_pd();
    int32_t idx[16];
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 v = n - i >= 16 ? _mm512_loadu_ps(in + i) : _mm512_maskz_loadu_ps(k, in + i);
        unsigned fin = finite16(k, v);
        if (!fin)
            continue;
        if (absval)
            v = _mm512_abs_ps(v);
        for (int h = 0; h < 2; h++) {
            __m256 half = h ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v);
            __m512d f = _mm512_mul_pd(_mm512_sub_pd(_mm512_cvtps_pd(half), vlo), vsc);
            f = _mm512_min_pd(_mm512_max_pd(f, zero), top);
            _mm256_storeu_si256((__m256i *)(idx + 8 * h), _mm512_cvttpd_epi32(f));
        }
        for (unsigned m = fin; m; m &= m - 1)
            bins[idx[__builtin_ctz(m)]]++;
    }
}

void gd_k_classify_avx512(const float *restrict score, size_t n, float t, int two_sided,
                          uint8_t *restrict out)
{
    const __m512 vt = _mm512_set1_ps(t), vnt = _mm512_set1_ps(-t);
    const __m512i c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(two_sided ? 2 : 1);
    const __m512i c255 = _mm512_set1_epi32(255);
    size_t full = n & ~(size_t)15;
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 v = i < full ? _mm512_loadu_ps(score + i) : _mm512_maskz_loadu_ps(k, score + i);
        __m512i r = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(v, vt, _CMP_GE_OQ), c2);
        if (two_sided)
            r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, vnt, _CMP_LE_OQ), c1);
        r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), c255);
        if (i < full)
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi32_epi8(r));
        else
            _mm512_mask_cvtepi32_storeu_epi8(out + i, k, r);
    }
}

/* 16 floats a step, as doubles in two halves of 8, masked adds (a skipped lane is left
 * as it is, as in the scalar kernel) and a masked tail */
void gd_k_colsum_add_avx512(const float *restrict row, size_t n, int has_nd, float nd,
                            double *restrict sum, uint32_t *restrict cnt)
{
    const __m512 vnd = _mm512_set1_ps(nd);
    const __m512i one = _mm512_set1_epi32(1);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 v = n - i >= 16 ? _mm512_loadu_ps(row + i) : _mm512_maskz_loadu_ps(k, row + i);
        __mmask16 ok = _mm512_mask_cmp_ps_mask(k, v, v, _CMP_ORD_Q);
        if (has_nd)
            ok = _mm512_mask_cmp_ps_mask(ok, v, vnd, _CMP_NEQ_UQ);
        __mmask8 klo = (__mmask8)(ok & 0xff), khi = (__mmask8)(ok >> 8);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        __m512d s0 = _mm512_maskz_loadu_pd((__mmask8)(k & 0xff), sum + i);
        __m512d s1 = _mm512_maskz_loadu_pd((__mmask8)(k >> 8), sum + i + 8);
        _mm512_mask_storeu_pd(sum + i, klo, _mm512_add_pd(s0, lo));
        _mm512_mask_storeu_pd(sum + i + 8, khi, _mm512_add_pd(s1, hi));
        __m512i c = _mm512_maskz_loadu_epi32(k, cnt + i);
        _mm512_mask_storeu_epi32(cnt + i, ok, _mm512_add_epi32(c, one));
    }
}

void gd_k_u16_to_unit_avx512(const uint16_t *restrict src, size_t n, float *restrict dst)
{
    const __m512 one = _mm512_set1_ps(65535.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, src + i));
        _mm512_mask_storeu_ps(dst + i, k, _mm512_div_ps(_mm512_cvtepi32_ps(v), one));
    }
}

void gd_k_unit_to_u16_avx512(const float *restrict src, size_t n, uint16_t *restrict dst)
{
    const __m512 one = _mm512_set1_ps(65535.0f), big = _mm512_set1_ps(8388608.0f);
    const __m512 zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, src + i);
        __mmask16 fin = _mm512_cmp_ps_mask(_mm512_sub_ps(v, v), zero, _CMP_EQ_OQ);
        __m512 r = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(v, one), big), big);
        r = _mm512_min_ps(_mm512_max_ps(r, zero), one);
        __m512i q = _mm512_maskz_mov_epi32(fin, _mm512_cvttps_epi32(r));
        _mm256_mask_storeu_epi16(dst + i, k, _mm512_cvtepi32_epi16(q));
    }
}
