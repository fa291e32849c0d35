/* index_avx512.c: AVX-512 variants of the index, log-ratio and CVA kernels (16 floats a
 * step, masked loads and stores for the tail). */
#include "../kernels_internal.h"

#include <immintrin.h>

static inline __mmask16 tail_mask(size_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

static inline __m512 ndi16(__m512 x, __m512 y)
{
    __m512 s = _mm512_add_ps(x, y);
    __m512 q = _mm512_div_ps(_mm512_sub_ps(x, y), s);
    __mmask16 zero = _mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_EQ_OQ);
    return _mm512_mask_blend_ps(zero, q, _mm512_set1_ps(__builtin_nanf("")));
}

/* One step of 16 lanes under mask k; inlined with the full mask in the main loop (plain
 * loads and stores) and with a partial mask once for the tail. */
static inline void ndiff16(const float *b_x, const float *b_y, const float *a_x,
                           const float *a_y, __m512 sg, float *out, __mmask16 k)
{
    __m512 a = ndi16(_mm512_maskz_loadu_ps(k, a_x), _mm512_maskz_loadu_ps(k, a_y));
    __m512 b = ndi16(_mm512_maskz_loadu_ps(k, b_x), _mm512_maskz_loadu_ps(k, b_y));
    _mm512_mask_storeu_ps(out, k, _mm512_mul_ps(sg, _mm512_sub_ps(a, b)));
}

void gd_k_ndiff_delta_avx512(const float *restrict b_x, const float *restrict b_y,
                             const float *restrict a_x, const float *restrict a_y, float sign,
                             float *restrict out, size_t n)
{
    __m512 sg = _mm512_set1_ps(sign);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        ndiff16(b_x + i, b_y + i, a_x + i, a_y + i, sg, out + i, 0xffff);
    if (i < n)
        ndiff16(b_x + i, b_y + i, a_x + i, a_y + i, sg, out + i, tail_mask(n - i));
}

/* gd_logf_scalar on 16 lanes (see index_avx2.c) */
static inline __m512 log16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __mmask16 sub = _mm512_cmp_ps_mask(x, _mm512_set1_ps(FLT_MIN), _CMP_LT_OQ);
    __m512 xs = _mm512_mask_mul_ps(x, sub, x, _mm512_set1_ps(8388608.0f));
    __m512 adj = _mm512_maskz_mov_ps(sub, _mm512_set1_ps(-23.0f));
    __m512i u = _mm512_castps_si512(xs);
    __m512i ei = _mm512_sub_epi32(_mm512_srli_epi32(u, 23), _mm512_set1_epi32(126));
    __m512 e = _mm512_add_ps(_mm512_cvtepi32_ps(ei), adj);
    u = _mm512_or_si512(_mm512_and_si512(u, _mm512_set1_epi32(0x007fffff)),
                        _mm512_set1_epi32(0x3f000000));
    __m512 m = _mm512_castsi512_ps(u);
    __mmask16 lt = _mm512_cmp_ps_mask(m, _mm512_set1_ps(GD_LOG_SQRTHF), _CMP_LT_OQ);
    e = _mm512_mask_sub_ps(e, lt, e, one);
    m = _mm512_mask_add_ps(m, lt, m, m);
    m = _mm512_sub_ps(m, one);
    __m512 z = _mm512_mul_ps(m, m);
    __m512 y = _mm512_set1_ps(GD_LOG_P0);
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P1));
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P2));
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P3));
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P4));
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P5));
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P6));
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P7));
    y = _mm512_add_ps(_mm512_mul_ps(y, m), _mm512_set1_ps(GD_LOG_P8));
    y = _mm512_mul_ps(y, m);
    y = _mm512_mul_ps(y, z);
    y = _mm512_add_ps(y, _mm512_mul_ps(_mm512_set1_ps(GD_LOG_Q1), e));
    y = _mm512_add_ps(y, _mm512_mul_ps(_mm512_set1_ps(-0.5f), z));
    __m512 r = _mm512_add_ps(m, y);
    r = _mm512_add_ps(r, _mm512_mul_ps(_mm512_set1_ps(GD_LOG_Q2), e));
    const __m512 inf = _mm512_set1_ps(__builtin_inff());
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_EQ_OQ),
                           _mm512_sub_ps(_mm512_setzero_ps(), inf));
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, inf, _CMP_EQ_OQ), inf);
    return r;
}

static inline void logratio16(const float *before, const float *after, __m512 ep,
                              float *out, __mmask16 k)
{
    const __m512 zero = _mm512_setzero_ps(), nan = _mm512_set1_ps(__builtin_nanf(""));
    __m512 b = _mm512_add_ps(_mm512_maskz_loadu_ps(k, before), ep);
    __m512 a = _mm512_add_ps(_mm512_maskz_loadu_ps(k, after), ep);
    __mmask16 ok = _mm512_cmp_ps_mask(b, zero, _CMP_GT_OQ) & _mm512_cmp_ps_mask(a, zero, _CMP_GT_OQ);
    __m512 r = log16(_mm512_div_ps(a, b));
    _mm512_mask_storeu_ps(out, k, _mm512_mask_blend_ps(ok, nan, r));
}

void gd_k_logratio_avx512(const float *restrict before, const float *restrict after,
                          float eps, float *restrict out, size_t n)
{
    const __m512 ep = _mm512_set1_ps(eps);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        logratio16(before + i, after + i, ep, out + i, 0xffff);
    if (i < n)
        logratio16(before + i, after + i, ep, out + i, tail_mask(n - i));
}

static inline void cva16(const float *const *before, const float *const *after,
                         const float *w, size_t nbands, float *out, size_t i, __mmask16 m)
{
    {
        __m512 acc = _mm512_setzero_ps();
        for (size_t k = 0; k < nbands; k++) {
            __m512 wk = _mm512_set1_ps(w ? w[k] : 1.0f);
            __m512 d = _mm512_mul_ps(wk, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, after[k] + i),
                                                       _mm512_maskz_loadu_ps(m, before[k] + i)));
            acc = _mm512_add_ps(acc, _mm512_mul_ps(d, d));
        }
        _mm512_mask_storeu_ps(out + i, m, _mm512_sqrt_ps(acc));
    }
}

void gd_k_cva_avx512(const float *const *before, const float *const *after, const float *w,
                     size_t nbands, float *restrict out, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        cva16(before, after, w, nbands, out, i, 0xffff);
    if (i < n)
        cva16(before, after, w, nbands, out, i, tail_mask(n - i));
}
