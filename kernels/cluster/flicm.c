/* flicm.c: two-class decisions of a change score beyond a single threshold: FLICM fuzzy
 * clustering (Krinidis & Chatzis 2010) and hysteresis growth of change seeds. */
#include "../kernels_internal.h"

#include <math.h>
#include <stdlib.h>

static inline double val(const float *x, size_t i, int absval)
{
    return absval ? fabs((double)x[i]) : (double)x[i];
}

/* A pixel's new membership from its own distances and its neighbours' fuzzy terms g0, g1,
 * into *t; its move into *dm (the largest), its terms into acc (u0^2 q, u0^2, u1^2 q, u1^2). */
static inline void update(double q, double g0, double g1, const double v[2], float u1_old,
                          float *t, double *dm, double acc[4])
{
    double d0 = (q - v[0]) * (q - v[0]) + g0, d1 = (q - v[1]) * (q - v[1]) + g1;
    double m1 = d0 + d1 > 0.0 ? d0 / (d0 + d1) : 0.5;
    *t = (float)m1;
    double dd = fabs(m1 - (double)u1_old);
    if (dd > *dm)
        *dm = dd;
    double p1 = *t, p0 = 1.0 - p1;
    acc[0] += p0 * p0 * q;
    acc[1] += p0 * p0;
    acc[2] += p1 * p1 * q;
    acc[3] += p1 * p1;
}

int gd_k_flicm(const float *restrict x, int w, int h, int absval, double v[2], int max_iter,
               double tol, float *restrict u1, float *restrict tmp, uint8_t *restrict labels)
{
    if (w < 1 || h < 1 || !(v[0] < v[1]) || max_iter < 1)
        return -1;
    const size_t n = (size_t)w * (size_t)h;
    /* start from the hard split at the midpoint of the initial centres */
    for (size_t i = 0; i < n; i++)
        u1[i] = isfinite(x[i]) ? (float)(val(x, i, absval) >= 0.5 * (v[0] + v[1])) : NAN;
    int it = 0;
    while (it < max_iter) {
        it++;
        /* the memberships of the whole image in one sweep, with the sums of the new
         * centres (Jacobi update: the result does not depend on the scan order) */
        double dmax, sums[4];
        gd_k_flicm_sweep(x, u1, w, h, absval, v, 0, h, tmp, &dmax, sums);
        for (size_t i = 0; i < n; i++)
            u1[i] = tmp[i];
        double s0 = sums[0], c0 = sums[1], s1 = sums[2], c1 = sums[3];
        if (c0 > 0.0)
            v[0] = s0 / c0;
        if (c1 > 0.0)
            v[1] = s1 / c1;
        if (dmax < tol)
            break;
    }
    for (size_t i = 0; i < n; i++)
        labels[i] = isfinite(u1[i]) ? u1[i] > 0.5f : 255;
    return it;
}

void gd_k_flicm_sweep_ref(const float *restrict x, const float *restrict u1, int w, int h,
                          int absval, const double v[2], int r0, int r1, float *restrict tmp,
                          double *dmax, double sums[4])
{
    /* one FLICM sweep over rows [r0, r1): gd_k_flicm runs it on the whole image, the
     * tiled decision (detect/sar.c) on each tile */
    double dm = 0.0, acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (int y = r0; y < r1; y++) {
        for (int xx = 0; xx < w; xx++) {
            size_t i = (size_t)y * (size_t)w + (size_t)xx;
            float *t = tmp + (size_t)(y - r0) * (size_t)w + (size_t)xx;
            if (!isfinite(x[i])) {
                *t = NAN;
                continue;
            }
            double g0 = 0.0, g1 = 0.0;
            for (int dy = -1; dy <= 1; dy++) {
                int yy = y + dy;
                if (yy < 0 || yy >= h)
                    continue;
                for (int dx = -1; dx <= 1; dx++) {
                    int x2 = xx + dx;
                    if ((dx == 0 && dy == 0) || x2 < 0 || x2 >= w)
                        continue;
                    size_t j = (size_t)yy * (size_t)w + (size_t)x2;
                    if (!isfinite(x[j]))
                        continue;
                    double wd = 1.0 / ((dx && dy ? M_SQRT2 : 1.0) + 1.0);
                    double q = val(x, j, absval), p1 = u1[j], p0 = 1.0 - p1;
                    g0 += wd * p1 * p1 * (q - v[0]) * (q - v[0]);
                    g1 += wd * p0 * p0 * (q - v[1]) * (q - v[1]);
                }
            }
            update(val(x, i, absval), g0, g1, v, u1[i], t, &dm, acc);
        }
    }
    *dmax = dm;
    for (int k = 0; k < 4; k++)
        sums[k] = acc[k];
}

/* The same sweep with each neighbour's fuzzy terms computed once per pixel instead of
 * once for each of its eight neighbours: per pixel j, wd·u1²·(q−v0)² and wd·u0²·(q−v1)² for
 * both weights (edge 1/2, diagonal 1/(√2+1)), in the reference's order of operations, in a
 * ring of three rows; pixels that do not count (outside the buffer, not finite) add +0.0,
 * which leaves a sum of non-negative terms as it is. Bit-identical to the reference
 * (unit.filters). */
/* the scalar table's parts: everything is left to the loops below */
int gd_k_flicm_terms_scalar(const float *x, const float *u1, int absval, const double v[2],
                            int n, double *const out[4])
{
    (void)x;
    (void)u1;
    (void)absval;
    (void)v;
    (void)n;
    (void)out;
    return 0;
}

int gd_k_flicm_row_scalar(const float *x, const float *u1, int absval, const double v[2], int n,
                          const double *const g0p[8], const double *const g1p[8], float *t,
                          double *dm, double acc[4])
{
    (void)x;
    (void)u1;
    (void)absval;
    (void)v;
    (void)n;
    (void)g0p;
    (void)g1p;
    (void)t;
    (void)dm;
    (void)acc;
    return 0;
}

static void flicm_sweep(const gd_kernel_table *kt, const float *restrict x,
                        const float *restrict u1, int w, int h, int absval, const double v[2],
                        int r0, int r1, float *restrict tmp, double *dmax, double sums[4])
{
    const double we = 1.0 / (1.0 + 1.0), wdg = 1.0 / (M_SQRT2 + 1.0);
    /* ring[row % 3][k][x + 1]: k = 0 g0 edge, 1 g0 diagonal, 2 g1 edge, 3 g1 diagonal;
     * columns -1 and w hold zeros (the buffer's edges) */
    size_t stride = (size_t)w + 2;
    double *ring = malloc(sizeof(double) * 3 * 4 * stride);
    if (!ring) {
        gd_k_flicm_sweep_ref(x, u1, w, h, absval, v, r0, r1, tmp, dmax, sums);
        return;
    }
#define RING(row, k) (ring + ((size_t)((row) % 3) * 4 + (size_t)(k)) * stride + 1)
    int filled = r0 - 2; /* the highest row in the ring */
    double dm = 0.0, acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (int y = r0; y < r1; y++) {
        for (int yy = filled + 1 > y - 1 ? filled + 1 : y - 1; yy <= y + 1; yy++) {
            if (yy < 0)
                continue;
            for (int k = 0; k < 4; k++) {
                double *t = RING(yy, k);
                t[-1] = t[w] = 0.0;
            }
            double *e0 = RING(yy, 0), *d0 = RING(yy, 1), *e1 = RING(yy, 2), *d1 = RING(yy, 3);
            int xx0 = 0;
            if (yy < h) {
                double *const terms[4] = {e0, d0, e1, d1};
                size_t row = (size_t)yy * (size_t)w;
                xx0 = kt->flicm_terms(x + row, u1 + row, absval, v, w, terms);
            }
            for (int xx = xx0; xx < w; xx++) {
                size_t j = (size_t)yy * (size_t)w + (size_t)xx;
                if (yy >= h || !isfinite(x[j])) {
                    e0[xx] = d0[xx] = e1[xx] = d1[xx] = 0.0;
                    continue;
                }
                double q = val(x, j, absval), p1 = u1[j], p0 = 1.0 - p1;
                e0[xx] = we * p1 * p1 * (q - v[0]) * (q - v[0]);
                d0[xx] = wdg * p1 * p1 * (q - v[0]) * (q - v[0]);
                e1[xx] = we * p0 * p0 * (q - v[1]) * (q - v[1]);
                d1[xx] = wdg * p0 * p0 * (q - v[1]) * (q - v[1]);
            }
            filled = yy;
        }
        /* the row above the buffer (y = 0): zeros in the slot row y - 1 takes */
        if (y == 0)
            for (int k = 0; k < 4; k++) {
                double *t = RING(y + 2, k);
                for (int xx = -1; xx <= w; xx++)
                    t[xx] = 0.0;
            }
        const double *ue0 = RING(y + 2, 0), *ud0 = RING(y + 2, 1), *ue1 = RING(y + 2, 2),
                     *ud1 = RING(y + 2, 3); /* row y - 1 */
        const double *me0 = RING(y, 0), *me1 = RING(y, 2);
        const double *le0 = RING(y + 1, 0), *ld0 = RING(y + 1, 1), *le1 = RING(y + 1, 2),
                     *ld1 = RING(y + 1, 3); /* row y + 1 (zeros past the buffer) */
        const double *const g0p[8] = {ud0 - 1, ue0, ud0 + 1, me0 - 1,
                                      me0 + 1, ld0 - 1, le0, ld0 + 1};
        const double *const g1p[8] = {ud1 - 1, ue1, ud1 + 1, me1 - 1,
                                      me1 + 1, ld1 - 1, le1, ld1 + 1};
        size_t row = (size_t)y * (size_t)w;
        int xx0 = kt->flicm_row(x + row, u1 + row, absval, v, w, g0p, g1p,
                                tmp + (size_t)(y - r0) * (size_t)w, &dm, acc);
        for (int xx = xx0; xx < w; xx++) {
            size_t i = (size_t)y * (size_t)w + (size_t)xx;
            float *t = tmp + (size_t)(y - r0) * (size_t)w + (size_t)xx;
            if (!isfinite(x[i])) {
                *t = NAN;
                continue;
            }
            /* the reference's order: dy = -1, 0, 1; dx = -1, 0, 1; centre skipped */
            double g0 = 0.0, g1 = 0.0;
            g0 += ud0[xx - 1];
            g1 += ud1[xx - 1];
            g0 += ue0[xx];
            g1 += ue1[xx];
            g0 += ud0[xx + 1];
            g1 += ud1[xx + 1];
            g0 += me0[xx - 1];
            g1 += me1[xx - 1];
            g0 += me0[xx + 1];
            g1 += me1[xx + 1];
            g0 += ld0[xx - 1];
            g1 += ld1[xx - 1];
            g0 += le0[xx];
            g1 += le1[xx];
            g0 += ld0[xx + 1];
            g1 += ld1[xx + 1];
            update(val(x, i, absval), g0, g1, v, u1[i], t, &dm, acc);
        }
    }
#undef RING
    free(ring);
    *dmax = dm;
    for (int k = 0; k < 4; k++)
        sums[k] = acc[k];
}

int gd_k_flicm_sweep_isa(gd_isa isa, const float *restrict x, const float *restrict u1, int w,
                         int h, int absval, const double v[2], int r0, int r1,
                         float *restrict tmp, double *dmax, double sums[4])
{
    const gd_kernel_table *kt = gd_kernels_table(isa);
    if (!kt)
        return -1;
    flicm_sweep(kt, x, u1, w, h, absval, v, r0, r1, tmp, dmax, sums);
    return 0;
}

void gd_k_flicm_sweep(const float *restrict x, const float *restrict u1, int w, int h,
                      int absval, const double v[2], int r0, int r1, float *restrict tmp,
                      double *dmax, double sums[4])
{
    flicm_sweep(gd_kernels_table(gd_kernels_isa()), x, u1, w, h, absval, v, r0, r1, tmp, dmax,
                sums);
}

size_t gd_k_hysteresis(const float *restrict x, int w, int h, int absval, double t_lo,
                       double t_hi, uint8_t *restrict labels, size_t *restrict stack)
{
    const size_t n = (size_t)w * (size_t)h;
    size_t top = 0, grown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            labels[i] = 255;
            continue;
        }
        labels[i] = val(x, i, absval) >= t_hi;
        if (labels[i])
            stack[top++] = i;
    }
    /* every pixel enters the stack at most once: when it is labelled 1 */
    while (top > 0) {
        size_t i = stack[--top];
        int y = (int)(i / (size_t)w), xx = (int)(i % (size_t)w);
        for (int dy = -1; dy <= 1; dy++) {
            int yy = y + dy;
            if (yy < 0 || yy >= h)
                continue;
            for (int dx = -1; dx <= 1; dx++) {
                int x2 = xx + dx;
                if (x2 < 0 || x2 >= w)
                    continue;
                size_t j = (size_t)yy * (size_t)w + (size_t)x2;
                if (labels[j] != 0 || val(x, j, absval) < t_lo)
                    continue;
                labels[j] = 1;
                grown++;
                stack[top++] = j;
            }
        }
    }
    return grown;
}
