/* index_avx2.c: AVX2 variants of the index, log-ratio and CVA kernels (8 floats a step). */
#include "../kernels_internal.h"

#include <immintrin.h>
#include <math.h>

/* (x - y) / (x + y), NaN where x + y == 0: the scalar ndi() lane by lane */
static inline __m256 ndi8(__m256 x, __m256 y)
{
    __m256 s = _mm256_add_ps(x, y);
    __m256 q = _mm256_div_ps(_mm256_sub_ps(x, y), s);
    __m256 zero = _mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_EQ_OQ);
    return _mm256_blendv_ps(q, _mm256_set1_ps(__builtin_nanf("")), zero);
}

void gd_k_ndiff_delta_avx2(const float *restrict b_x, const float *restrict b_y,
                           const float *restrict a_x, const float *restrict a_y, float sign,
                           float *restrict out, size_t n)
{
    __m256 sg = _mm256_set1_ps(sign);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = ndi8(_mm256_loadu_ps(a_x + i), _mm256_loadu_ps(a_y + i));
        __m256 b = ndi8(_mm256_loadu_ps(b_x + i), _mm256_loadu_ps(b_y + i));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(sg, _mm256_sub_ps(a, b)));
    }
    gd_k_ndiff_delta_scalar(b_x + i, b_y + i, a_x + i, a_y + i, sign, out + i, n - i);
}

/* gd_logf_scalar on 8 lanes, for x > 0 or NaN (the caller masks the rest) */
static inline __m256 log8(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 sub = _mm256_cmp_ps(x, _mm256_set1_ps(FLT_MIN), _CMP_LT_OQ);
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), sub);
    __m256 adj = _mm256_and_ps(sub, _mm256_set1_ps(-23.0f));
    __m256i u = _mm256_castps_si256(xs);
    __m256i ei = _mm256_sub_epi32(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(126));
    __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(ei), adj);
    u = _mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)),
                        _mm256_set1_epi32(0x3f000000));
    __m256 m = _mm256_castsi256_ps(u);
    __m256 lt = _mm256_cmp_ps(m, _mm256_set1_ps(GD_LOG_SQRTHF), _CMP_LT_OQ);
    e = _mm256_blendv_ps(e, _mm256_sub_ps(e, one), lt);
    m = _mm256_blendv_ps(m, _mm256_add_ps(m, m), lt);
    m = _mm256_sub_ps(m, one);
    __m256 z = _mm256_mul_ps(m, m);
    __m256 y = _mm256_set1_ps(GD_LOG_P0);
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P1));
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P2));
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P3));
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P4));
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P5));
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P6));
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P7));
    y = _mm256_add_ps(_mm256_mul_ps(y, m), _mm256_set1_ps(GD_LOG_P8));
    y = _mm256_mul_ps(y, m);
    y = _mm256_mul_ps(y, z);
    y = _mm256_add_ps(y, _mm256_mul_ps(_mm256_set1_ps(GD_LOG_Q1), e));
    y = _mm256_add_ps(y, _mm256_mul_ps(_mm256_set1_ps(-0.5f), z));
    __m256 r = _mm256_add_ps(m, y);
    r = _mm256_add_ps(r, _mm256_mul_ps(_mm256_set1_ps(GD_LOG_Q2), e));
    /* specials, as in the scalar form: NaN stays, 0 -> -Inf, +Inf -> +Inf */
    __m256 inf = _mm256_set1_ps(__builtin_inff());
    r = _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    r = _mm256_blendv_ps(r, _mm256_sub_ps(_mm256_setzero_ps(), inf),
                         _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, inf, _mm256_cmp_ps(x, inf, _CMP_EQ_OQ));
    return r;
}

void gd_k_logratio_avx2(const float *restrict before, const float *restrict after, float eps,
                        float *restrict out, size_t n)
{
    const __m256 ep = _mm256_set1_ps(eps), zero = _mm256_setzero_ps();
    const __m256 nan = _mm256_set1_ps(__builtin_nanf(""));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 b = _mm256_add_ps(_mm256_loadu_ps(before + i), ep);
        __m256 a = _mm256_add_ps(_mm256_loadu_ps(after + i), ep);
        /* not (> 0) also catches NaN, as in the scalar kernel */
        __m256 ok = _mm256_and_ps(_mm256_cmp_ps(b, zero, _CMP_GT_OQ),
                                  _mm256_cmp_ps(a, zero, _CMP_GT_OQ));
        __m256 r = log8(_mm256_div_ps(a, b));
        _mm256_storeu_ps(out + i, _mm256_blendv_ps(nan, r, ok));
    }
    gd_k_logratio_scalar(before + i, after + i, eps, out + i, n - i);
}

void gd_k_cva_avx2(const float *const *before, const float *const *after, const float *w,
                   size_t nbands, float *restrict out, size_t n)
{
    size_t i = 0;
    /* one pass over the bands per block: the per-element sum order is the scalar one */
    for (; i + 8 <= n; i += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (size_t k = 0; k < nbands; k++) {
            __m256 wk = _mm256_set1_ps(w ? w[k] : 1.0f);
            __m256 d = _mm256_mul_ps(
                wk, _mm256_sub_ps(_mm256_loadu_ps(after[k] + i), _mm256_loadu_ps(before[k] + i)));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(d, d));
        }
        _mm256_storeu_ps(out + i, _mm256_sqrt_ps(acc));
    }
    for (; i < n; i++) {
        float acc = 0.0f;
        for (size_t k = 0; k < nbands; k++) {
            float d = (w ? w[k] : 1.0f) * (after[k][i] - before[k][i]);
            acc = acc + d * d;
        }
        out[i] = sqrtf(acc);
    }
}
