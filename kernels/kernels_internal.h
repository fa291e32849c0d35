/* kernels_internal.h: per-ISA kernel variants and the scalar log shared by all of them. */
#ifndef GD_KERNELS_INTERNAL_H
#define GD_KERNELS_INTERNAL_H

#include "gd_kernels.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

#define GD_DECLARE_VARIANT(sfx)                                                              \
    void gd_k_ndiff_delta_##sfx(const float *restrict b_x, const float *restrict b_y,        \
                                const float *restrict a_x, const float *restrict a_y,        \
                                float sign, float *restrict out, size_t n);                  \
    void gd_k_logratio_##sfx(const float *restrict before, const float *restrict after,      \
                             float eps, float *restrict out, size_t n);                      \
    void gd_k_cva_##sfx(const float *const *before, const float *const *after,               \
                        const float *w, size_t nbands, float *restrict out, size_t n);       \
    size_t gd_k_minmax_##sfx(const float *restrict in, size_t n, float *mn, float *mx);      \
    void gd_k_hist_accumulate_##sfx(const float *restrict in, size_t n, int absval,          \
                                    double lo, double hi, uint64_t *restrict bins,           \
                                    size_t nbins);                                           \
    void gd_k_classify_##sfx(const float *restrict score, size_t n, float t, int two_sided,  \
                             uint8_t *restrict out);                                         \
    void gd_k_colsum_add_##sfx(const float *restrict row, size_t n, int has_nd, float nd,    \
                               double *restrict sum, uint32_t *restrict cnt);                \
    void gd_k_u16_to_unit_##sfx(const uint16_t *restrict src, size_t n, float *restrict dst); \
    void gd_k_unit_to_u16_##sfx(const float *restrict src, size_t n, uint16_t *restrict dst); \
    int gd_k_rlee_ring_##sfx(const float *in, int w, int sr, int xa, int xb, double *row);  \
    int gd_k_rlee_row_##sfx(const float *p, const double *const sm[3], int d,                \
                            const int *offt, int n, float cu2, int xa, int xb, float *o);     \
    int gd_k_flicm_terms_##sfx(const float *x, const float *u1, int absval, const double v[2], \
                               int n, double *const out[4]);                                 \
    int gd_k_flicm_row_##sfx(const float *x, const float *u1, int absval, const double v[2],   \
                             int n, const double *const g0p[8], const double *const g1p[8],  \
                             float *t, double *dm, double acc[4]);

GD_DECLARE_VARIANT(scalar)
GD_DECLARE_VARIANT(avx2)
GD_DECLARE_VARIANT(avx512)

/* FLICM sweep's vector parts (flicm.c is the scalar reference, same contract as above:
 * whole vectors from index 0, the first index left is returned).
 * flicm_terms: a row's neighbour terms out[0..3] = edge/diagonal weight x u1² (q - v0)²,
 * and x u0² (q - v1)² (0 where x is not finite).
 * flicm_row: a row's new memberships t from g0 = sum of g0p[k][i] (k = 0..7, in that
 * order) and g1 likewise; *dm and acc continue the sweep's running max and sums in pixel
 * order. */
/* Refined Lee's vector parts (speckle.c is the scalar reference; speckle_avx*.c do its
 * operations in its order, lanes = adjacent pixels). Each does whole vectors from xa on
 * and returns the first x it left to the caller's scalar loop (xa for the scalar table).
 * rlee_ring: row[cx] = mean of the finite values of the (2 sr + 1)² window centred on
 * (cx, row `in`), NaN when none; the window lies inside the buffer.
 * rlee_row: pixels x of the row p (w values around it readable as the windows need): the
 * nine sub-block means from the ring rows sm[0..2] (centre rows y - d, y, y + d) at
 * x - d, x, x + d, the edge, then the half-window walk through offt[q * 8 + 2 * dir + side]
 * (q < n), the Lee weight with cu2; non-finite pixels are copied. */

/* Cephes logf (S. Moshier) coefficients: log(1+m) = m - m²/2 + m³ P(m), m in
 * [sqrt(1/2)-1, sqrt(2)-1]; ln 2 split in two parts so that e*ln2 adds exactly. */
#define GD_LOG_SQRTHF 0.707106781186547524f
#define GD_LOG_P0 7.0376836292e-2f
#define GD_LOG_P1 -1.1514610310e-1f
#define GD_LOG_P2 1.1676998740e-1f
#define GD_LOG_P3 -1.2420140846e-1f
#define GD_LOG_P4 1.4249322787e-1f
#define GD_LOG_P5 -1.6668057665e-1f
#define GD_LOG_P6 2.0000714765e-1f
#define GD_LOG_P7 -2.4999993993e-1f
#define GD_LOG_P8 3.3333331174e-1f
#define GD_LOG_Q1 -2.12194440e-4f
#define GD_LOG_Q2 0.693359375f

/* The scalar form of the vector log: the SIMD variants perform exactly these operations
 * (no fused multiply-add) lane by lane, which is what makes them bit-identical. */
static inline float gd_logf_scalar(float x)
{
    if (x != x || x < 0.0f)
        return x != x ? x : __builtin_nanf("");
    if (x == 0.0f)
        return -__builtin_inff();
    if (x > FLT_MAX)
        return x;
    float adj = 0.0f;
    if (x < FLT_MIN) { /* subnormal: scale into the normal range, exactly */
        x = x * 8388608.0f;
        adj = -23.0f;
    }
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    float e = (float)((int32_t)(u >> 23) - 126) + adj;
    u = (u & 0x007fffffu) | 0x3f000000u; /* mantissa in [0.5, 1) */
    float m;
    memcpy(&m, &u, sizeof m);
    if (m < GD_LOG_SQRTHF) {
        e = e - 1.0f;
        m = m + m;
    }
    m = m - 1.0f;
    float z = m * m;
    float y = GD_LOG_P0;
    y = y * m + GD_LOG_P1;
    y = y * m + GD_LOG_P2;
    y = y * m + GD_LOG_P3;
    y = y * m + GD_LOG_P4;
    y = y * m + GD_LOG_P5;
    y = y * m + GD_LOG_P6;
    y = y * m + GD_LOG_P7;
    y = y * m + GD_LOG_P8;
    y = y * m;
    y = y * z;
    y = y + GD_LOG_Q1 * e;
    y = y + -0.5f * z;
    float r = m + y;
    r = r + GD_LOG_Q2 * e;
    return r;
}

#endif
