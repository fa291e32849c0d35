/* flicm_avx512.c: the FLICM sweep's neighbour terms and memberships, 8 pixels a step
 * (double lanes), the scalar reference's operations in its order (flicm.c). flicm_avx2.c
 * and flicm_avx512.c share this body; only the vector macros above it differ. */
#include "../kernels_internal.h"

#include <immintrin.h>
#include <math.h>

typedef __m512d VD;
typedef __m256 VF;
#define SET1(c) _mm512_set1_pd(c)
#define LOADF(p) _mm256_loadu_ps(p)
#define STOREF(p, v) _mm256_storeu_ps(p, v)
#define LOADD(p) _mm512_loadu_pd(p)
#define STORED(p, v) _mm512_storeu_pd(p, v)
#define CVT(f) _mm512_cvtps_pd(f)
#define CVTF(d) _mm512_cvtpd_ps(d)
#define ADD(a, b) _mm512_add_pd(a, b)
#define SUB(a, b) _mm512_sub_pd(a, b)
#define MUL(a, b) _mm512_mul_pd(a, b)
#define DIV(a, b) _mm512_div_pd(a, b)

/* lanes whose float is finite (v - v is 0 for finite v, NaN for NaN and +-Inf), as a
 * mask carried in a double vector's lanes for KEEP */
static inline __mmask8 finite_mask(VF v)
{
    return _mm256_cmp_ps_mask(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ);
}
static inline VD fin_vd(VF v)
{
    return _mm512_castsi512_pd(_mm512_maskz_set1_epi64(finite_mask(v), -1));
}
#define FINITE(f) fin_vd(f)
#define MASKBITS(f) ((int)finite_mask(f))
/* m (all-ones or zero lanes) ? a : b */
static inline VD keep(VD m, VD a, VD b)
{
    __mmask8 k = _mm512_test_epi64_mask(_mm512_castpd_si512(m), _mm512_castpd_si512(m));
    return _mm512_mask_mov_pd(b, k, a);
}
#define KEEP(m, a, b) keep(m, a, b)
static inline VD gt(VD a, VD b)
{
    return _mm512_castsi512_pd(_mm512_maskz_set1_epi64(_mm512_cmp_pd_mask(a, b, _CMP_GT_OQ), -1));
}
#define GT(a, b) gt(a, b)
#define ABS(a) _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(a), _mm512_set1_epi64(0x7fffffffffffffffLL)))
/* finite x: the new membership, else NaN */
#define KEEPF(xf, tf) _mm256_mask_mov_ps(_mm256_set1_ps(NAN), finite_mask(xf), tf)

int gd_k_flicm_terms_avx512(const float *x, const float *u1, int absval, const double v[2],
                           int n, double *const out[4])
{
    /* the constants as flicm.c writes them (folded the same at compile time) */
    const VD we = SET1(1.0 / (1.0 + 1.0)), wdg = SET1(1.0 / (M_SQRT2 + 1.0));
    const VD v0 = SET1(v[0]), v1 = SET1(v[1]), one = SET1(1.0), zero = SET1(0.0);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        VF xf = LOADF(x + i);
        VD fin = FINITE(xf);
        VD q = CVT(xf);
        if (absval)
            q = ABS(q);
        VD p1 = CVT(LOADF(u1 + i)), p0 = SUB(one, p1);
        VD a = SUB(q, v0), b = SUB(q, v1);
        STORED(out[0] + i, KEEP(fin, MUL(MUL(MUL(MUL(we, p1), p1), a), a), zero));
        STORED(out[1] + i, KEEP(fin, MUL(MUL(MUL(MUL(wdg, p1), p1), a), a), zero));
        STORED(out[2] + i, KEEP(fin, MUL(MUL(MUL(MUL(we, p0), p0), b), b), zero));
        STORED(out[3] + i, KEEP(fin, MUL(MUL(MUL(MUL(wdg, p0), p0), b), b), zero));
    }
    return i;
}

int gd_k_flicm_row_avx512(const float *x, const float *u1, int absval, const double v[2], int n,
                         const double *const g0p[8], const double *const g1p[8], float *t,
                         double *dm, double acc[4])
{
    const VD v0 = SET1(v[0]), v1 = SET1(v[1]), one = SET1(1.0), zero = SET1(0.0),
             half = SET1(0.5);
    double m = *dm, s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    double ldd[8], la0[8], la1[8], la2[8], la3[8];
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        VF xf = LOADF(x + i);
        VD fin = FINITE(xf);
        int bits = MASKBITS(xf);
        VD q = CVT(xf);
        if (absval)
            q = ABS(q);
        /* the reference's order: dy = -1, 0, 1; dx = -1, 0, 1; centre skipped */
        VD g0 = zero, g1 = zero;
        for (int k = 0; k < 8; k++) {
            g0 = ADD(g0, LOADD(g0p[k] + i));
            g1 = ADD(g1, LOADD(g1p[k] + i));
        }
        VD a = SUB(q, v0), b = SUB(q, v1);
        VD d0 = ADD(MUL(a, a), g0), d1 = ADD(MUL(b, b), g1);
        VD s = ADD(d0, d1);
        VD m1 = KEEP(GT(s, zero), DIV(d0, s), half);
        VF tf = CVTF(m1);
        STOREF(t + i, KEEPF(xf, tf));
        VD dd = ABS(SUB(m1, CVT(LOADF(u1 + i))));
        VD p1 = CVT(tf), p0 = SUB(one, p1);
        VD p00 = MUL(p0, p0), p11 = MUL(p1, p1);
        STORED(ldd, dd);
        STORED(la0, MUL(p00, q));
        STORED(la1, p00);
        STORED(la2, MUL(p11, q));
        STORED(la3, p11);
        (void)fin;
        /* the running max and the sums in pixel order, as the reference adds them */
        for (int l = 0; l < 8; l++) {
            if (!(bits >> l & 1))
                continue;
            if (ldd[l] > m)
                m = ldd[l];
            s0 += la0[l];
            s1 += la1[l];
            s2 += la2[l];
            s3 += la3[l];
        }
    }
    *dm = m;
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
    return i;
}
