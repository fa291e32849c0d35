/* flicm_avx2.c: the FLICM sweep's neighbour terms and memberships, 4 pixels a step
 * (double lanes), the scalar reference's operations in its order (flicm.c). flicm_avx2.c
 * and flicm_avx512.c share this body; only the vector macros above it differ. */
#include "../kernels_internal.h"

#include <immintrin.h>
#include <math.h>

typedef __m256d VD;
typedef __m128 VF;
#define SET1(c) _mm256_set1_pd(c)
#define LOADF(p) _mm_loadu_ps(p)
#define STOREF(p, v) _mm_storeu_ps(p, v)
#define LOADD(p) _mm256_loadu_pd(p)
#define STORED(p, v) _mm256_storeu_pd(p, v)
#define CVT(f) _mm256_cvtps_pd(f)
#define CVTF(d) _mm256_cvtpd_ps(d)
#define ADD(a, b) _mm256_add_pd(a, b)
#define SUB(a, b) _mm256_sub_pd(a, b)
#define MUL(a, b) _mm256_mul_pd(a, b)
#define DIV(a, b) _mm256_div_pd(a, b)

/* all-ones lanes where the float is finite: v - v is 0 for finite v, NaN for NaN, +-Inf */
static inline __m128 finite_ps(VF v)
{
    return _mm_cmp_ps(_mm_sub_ps(v, v), _mm_setzero_ps(), _CMP_EQ_OQ);
}
static inline VD fin_vd(VF v)
{
    return _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm_castps_si128(finite_ps(v))));
}
#define FINITE(f) fin_vd(f)
#define MASKBITS(f) _mm_movemask_ps(finite_ps(f))
/* m (all-ones or zero lanes) ? a : b */
#define KEEP(m, a, b) _mm256_blendv_pd(b, a, m)
#define GT(a, b) _mm256_cmp_pd(a, b, _CMP_GT_OQ)
#define ABS(a) _mm256_and_pd(a, _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL)))
#define KEEPF(xf, tf) _mm_blendv_ps(_mm_set1_ps(NAN), tf, finite_ps(xf))

int gd_k_flicm_terms_avx2(const float *x, const float *u1, int absval, const double v[2],
                           int n, double *const out[4])
{
    /* the constants as flicm.c writes them (folded the same at compile time) */
    const VD we = SET1(1.0 / (1.0 + 1.0)), wdg = SET1(1.0 / (M_SQRT2 + 1.0));
    const VD v0 = SET1(v[0]), v1 = SET1(v[1]), one = SET1(1.0), zero = SET1(0.0);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
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

int gd_k_flicm_row_avx2(const float *x, const float *u1, int absval, const double v[2], int n,
                         const double *const g0p[8], const double *const g1p[8], float *t,
                         double *dm, double acc[4])
{
    const VD v0 = SET1(v[0]), v1 = SET1(v[1]), one = SET1(1.0), zero = SET1(0.0),
             half = SET1(0.5);
    double m = *dm, s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    double ldd[4], la0[4], la1[4], la2[4], la3[4];
    int i = 0;
    for (; i + 4 <= n; i += 4) {
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
        for (int l = 0; l < 4; l++) {
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
