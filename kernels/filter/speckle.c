/* speckle.c: scalar reference speckle filters (Lee, refined Lee, Gamma-MAP) and a box mean. */
#include "../kernels_internal.h"

#include <math.h>
#include <stdlib.h>

/* Mean and variance of the finite values of in over the window [x-r, x+r] x [y-r, y+r]
 * clipped to the buffer; *count = number of values used. */
static void window_stats(const float *in, int w, int h, int x, int y, int r, double *mean,
                         double *var, int *count)
{
    double s = 0.0, s2 = 0.0;
    int c = 0;
    int ya = y - r < 0 ? 0 : y - r, yb = y + r >= h ? h - 1 : y + r;
    int xa = x - r < 0 ? 0 : x - r, xb = x + r >= w ? w - 1 : x + r;
    for (int j = ya; j <= yb; j++) {
        const float *row = in + (size_t)j * (size_t)w;
        for (int i = xa; i <= xb; i++) {
            float v = row[i];
            if (isfinite(v)) {
                s += v;
                s2 += (double)v * v;
                c++;
            }
        }
    }
    *count = c;
    *mean = c ? s / c : NAN;
    *var = c > 1 ? fmax(0.0, s2 / c - (s / c) * (s / c)) : 0.0;
}

/* Lee (1980) minimum mean-square-error weight from the local and the noise variation
 * coefficients: homogeneous areas (ci2 <= cu2) take the local mean, edges keep the pixel. */
static float lee(float x, double m, double var, float cu2)
{
    if (!(m > 0.0))
        return (float)m;
    double ci2 = var / (m * m);
    double k = ci2 > 0.0 ? 1.0 - cu2 / ci2 : 0.0;
    if (k < 0.0)
        k = 0.0;
    return (float)(m + k * ((double)x - m));
}

/* Gamma-MAP (Lopes, Nezry, Touzi, Laur 1990): the maximum a posteriori estimate under a
 * Gamma-distributed scene, with L = 1/cu2 equivalent looks. */
static float gamma_map(float x, double m, double var, float cu2)
{
    if (!(m > 0.0) || !(cu2 > 0.0))
        return (float)m;
    double ci2 = var / (m * m);
    double cmax2 = 2.0 * cu2;
    if (ci2 <= cu2)
        return (float)m;
    if (ci2 >= cmax2)
        return x;
    double L = 1.0 / cu2;
    double alpha = (1.0 + cu2) / (ci2 - cu2);
    double b = alpha - L - 1.0;
    double d = m * m * b * b + 4.0 * alpha * L * m * (double)x;
    return (float)((b * m + sqrt(d > 0.0 ? d : 0.0)) / (2.0 * alpha));
}

/* Refined Lee's edge from the 3x3 sub-block means (empty ones, NaN, take the centre's):
 * the strongest of the gradients along x, along y and the two diagonals, returned as 0..3,
 * and in *side the neighbouring sub-block (+1 the high one, -1 the low one) whose mean is
 * nearer the centre's. */
static int edge_direction(double sm[3][3], int *side)
{
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            if (isnan(sm[a][b]))
                sm[a][b] = sm[1][1];
    double g[4];
    g[0] = (sm[0][2] + sm[1][2] + sm[2][2]) - (sm[0][0] + sm[1][0] + sm[2][0]);
    g[1] = (sm[2][0] + sm[2][1] + sm[2][2]) - (sm[0][0] + sm[0][1] + sm[0][2]);
    g[2] = (sm[0][1] + sm[0][2] + sm[1][2]) - (sm[1][0] + sm[2][0] + sm[2][1]);
    g[3] = (sm[1][2] + sm[2][2] + sm[2][1]) - (sm[0][0] + sm[0][1] + sm[1][0]);
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (fabs(g[k]) > fabs(g[best]))
            best = k;
    double c0 = sm[1][1], lo, hi;
    switch (best) {
    case 0: lo = sm[1][0]; hi = sm[1][2]; break;
    case 1: lo = sm[0][1]; hi = sm[2][1]; break;
    case 2: lo = sm[2][0]; hi = sm[0][2]; break;
    default: lo = sm[0][0]; hi = sm[2][2]; break;
    }
    *side = fabs(c0 - hi) <= fabs(c0 - lo) ? 1 : -1;
    return best;
}

/* Refined Lee (Lee 1981): the window is split into 3x3 sub-blocks; the strongest of
 * four gradients of their means gives the edge direction, and the statistics come from
 * the half-window on the centre's side of the edge, so edges are not blurred. */
static float refined_lee(const float *in, int w, int h, int x, int y, int r, float cu2)
{
    int sr = (2 * r) / 6 > 1 ? (2 * r) / 6 : 1; /* sub-block radius */
    int d = r - sr;                              /* sub-block centre offset */
    if (d < 1)
        d = 1;
    double sm[3][3];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double v;
            int c;
            window_stats(in, w, h, x + (b - 1) * d, y + (a - 1) * d, sr, &sm[a][b], &v, &c);
            if (!c)
                sm[a][b] = NAN;
        }
    int side, best = edge_direction(sm, &side);
    double s = 0.0, s2 = 0.0;
    int c = 0;
    for (int j = -r; j <= r; j++) {
        int yy = y + j;
        if (yy < 0 || yy >= h)
            continue;
        for (int i = -r; i <= r; i++) {
            int xx = x + i;
            if (xx < 0 || xx >= w)
                continue;
            int proj;
            switch (best) {
            case 0: proj = i; break;
            case 1: proj = j; break;
            case 2: proj = i - j; break; /* towards the top-right sub-block */
            default: proj = i + j; break;
            }
            if (proj * side < 0)
                continue;
            float v = in[(size_t)yy * (size_t)w + (size_t)xx];
            if (isfinite(v)) {
                s += v;
                s2 += (double)v * v;
                c++;
            }
        }
    }
    if (c == 0)
        return in[(size_t)y * (size_t)w + (size_t)x];
    double m = s / c, var = c > 1 ? fmax(0.0, s2 / c - m * m) : 0.0;
    return lee(in[(size_t)y * (size_t)w + (size_t)x], m, var, cu2);
}

void gd_k_speckle_ref(gd_speckle kind, const float *restrict in, int w, int h, int win,
                      float cu2, int y0, int y1, float *restrict out)
{
    int r = win / 2;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < w; x++) {
            float v = in[(size_t)y * (size_t)w + (size_t)x];
            float *o = out + (size_t)(y - y0) * (size_t)w + (size_t)x;
            if (!isfinite(v) || kind == GD_SPECKLE_NONE || r < 1) {
                *o = v;
                continue;
            }
            if (kind == GD_SPECKLE_REFINED_LEE) {
                *o = refined_lee(in, w, h, x, y, r, cu2);
                continue;
            }
            double m, var;
            int c;
            window_stats(in, w, h, x, y, r, &m, &var, &c);
            *o = kind == GD_SPECKLE_GAMMA_MAP ? gamma_map(v, m, var, cu2) : lee(v, m, var, cu2);
        }
}

/* ---- refined Lee, the same arithmetic in fewer loads ----
 * A pixel's nine sub-block means are the means of sub-blocks centred d px away, and a
 * sub-block centred at (cx, cy) is the same for every pixel that uses it: each is summed
 * once (by window_stats, as the reference does) into a ring of the
 * 2d + 1 rows of centres a row of pixels needs. The half-window of the chosen edge side is
 * walked through a list of its offsets in the reference's row-major order (the same sums)
 * instead of testing each of the (2r + 1)² offsets. Pixels whose window or sub-blocks
 * reach the buffer's edge take the reference. The ISA variants (speckle_avx*.c) do the
 * ring and the inner pixels with the same operations in the same order, a pixel a lane;
 * whatever they leave (the last partial vector) is done here. */

#define RL_MAX_R 15 /* windows up to 31: the offset lists' size */

/* the scalar table's parts: everything is left to the loops below */
int gd_k_rlee_ring_scalar(const float *in, int w, int sr, int xa, int xb, double *row)
{
    (void)in;
    (void)w;
    (void)sr;
    (void)xb;
    (void)row;
    return xa;
}

int gd_k_rlee_row_scalar(const float *p, const double *const sm[3], int d, const int *offt,
                         int n, float cu2, int xa, int xb, float *o)
{
    (void)p;
    (void)sm;
    (void)d;
    (void)offt;
    (void)n;
    (void)cu2;
    (void)xb;
    (void)o;
    return xa;
}

static void speckle_rlee(const gd_kernel_table *t, const float *restrict in, int w, int h,
                         int r, float cu2, int y0, int y1, float *restrict out)
{
    int sr = (2 * r) / 6 > 1 ? (2 * r) / 6 : 1, d = r - sr;
    if (d < 1)
        d = 1;
    /* pixels with everything inside the buffer: x, y in [m, size - m) */
    int m = r > d + sr ? r : d + sr;
    int rows = 2 * d + 1;
    double *ring = malloc(sizeof(double) * (size_t)rows * (size_t)(w > 0 ? w : 1));
    /* offsets of the half-windows in row-major order, interleaved: offt[q * 8 + 2 * k + sd]
     * for direction k and side sd (0: -1, 1: +1); every half-window has n = (r + 1)(2r + 1)
     * offsets (the centre line and one side) */
    const int n = (r + 1) * (2 * r + 1);
    int *offt = malloc(sizeof(int) * 8 * (size_t)n);
    if (!ring || !offt) {
        free(ring);
        free(offt);
        gd_k_speckle_ref(GD_SPECKLE_REFINED_LEE, in, w, h, 2 * r + 1, cu2, y0, y1, out);
        return;
    }
    for (int k = 0; k < 4; k++)
        for (int sd = 0; sd < 2; sd++) {
            int side = sd ? 1 : -1, q = 0;
            for (int j = -r; j <= r; j++)
                for (int i = -r; i <= r; i++) {
                    int proj = k == 0 ? i : k == 1 ? j : k == 2 ? i - j : i + j;
                    if (proj * side < 0)
                        continue;
                    offt[(size_t)q++ * 8 + (size_t)(2 * k + sd)] = j * w + i;
                }
        }
    int last = y0 - 2; /* the last row of pixels whose centre rows the ring holds */
    for (int y = y0; y < y1; y++) {
        int inner_y = y >= m && y < h - m;
        if (inner_y) {
            /* centre rows y - d .. y + d in ring slots (row mod 2d + 1); the row before
             * left y - d .. y + d - 1 there already */
            for (int cy = last == y - 1 ? y + d : y - d; cy <= y + d; cy++) {
                double *row = ring + (size_t)(cy % rows) * (size_t)w;
                int cx = w - sr > sr ? t->rlee_ring(in + (size_t)cy * (size_t)w, w, sr, sr,
                                                    w - sr, row)
                                     : sr;
                for (; cx < w - sr; cx++) {
                    double var;
                    int c;
                    window_stats(in, w, h, cx, cy, sr, &row[cx], &var, &c);
                }
            }
            last = y;
        }
        float *orow = out + (size_t)(y - y0) * (size_t)w;
        const float *prow = in + (size_t)y * (size_t)w;
        const double *sm3[3];
        int xa = 0, xb = 0;
        if (inner_y && w - m > m) {
            for (int a = 0; a < 3; a++)
                sm3[a] = ring + (size_t)((y + (a - 1) * d) % rows) * (size_t)w;
            xa = t->rlee_row(prow, sm3, d, offt, n, cu2, m, w - m, orow);
            xb = w - m;
        }
        for (int x = 0; x < w; x++) {
            if (x == m && xa > m)
                x = xa; /* the variant did [m, xa) */
            float v = prow[x];
            float *o = orow + x;
            if (!isfinite(v)) {
                *o = v;
                continue;
            }
            if (!inner_y || x < m || x >= xb) {
                *o = refined_lee(in, w, h, x, y, r, cu2);
                continue;
            }
            double sm[3][3];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    sm[a][b] = sm3[a][x + (b - 1) * d];
            int side, best = edge_direction(sm, &side);
            const int *ofs = offt + 2 * best + (side > 0);
            const float *p = prow + x;
            double s = 0.0, s2 = 0.0;
            int c = 0;
            for (int q = 0; q < n; q++) {
                float u = p[ofs[(size_t)q * 8]];
                if (isfinite(u)) {
                    s += u;
                    s2 += (double)u * u;
                    c++;
                }
            }
            /* c >= 1: the centre pixel itself is finite and in every half-window */
            double mean = s / c, var = c > 1 ? fmax(0.0, s2 / c - mean * mean) : 0.0;
            *o = lee(v, mean, var, cu2);
        }
    }
    free(ring);
    free(offt);
}

int gd_k_speckle_isa(gd_isa isa, gd_speckle kind, const float *restrict in, int w, int h,
                     int win, float cu2, int y0, int y1, float *restrict out)
{
    const gd_kernel_table *t = gd_kernels_table(isa);
    if (!t)
        return -1;
    int r = win / 2;
    if (kind != GD_SPECKLE_REFINED_LEE || r < 1 || r > RL_MAX_R)
        gd_k_speckle_ref(kind, in, w, h, win, cu2, y0, y1, out);
    else
        speckle_rlee(t, in, w, h, r, cu2, y0, y1, out);
    return 0;
}

void gd_k_speckle(gd_speckle kind, const float *restrict in, int w, int h, int win,
                  float cu2, int y0, int y1, float *restrict out)
{
    gd_k_speckle_isa(gd_kernels_isa(), kind, in, w, h, win, cu2, y0, y1, out);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

size_t gd_k_speckle_cu2_windows(const float *restrict in, int w, int win, float *restrict v)
{
    /* windows [x, x + step) of rows [0, step): clipped nowhere, so their statistics are
     * those of the same windows in the whole image */
    int r = win / 2 > 0 ? win / 2 : 1, step = 2 * r + 1;
    size_t n = 0;
    for (int x = r; x + r < w; x += step) {
        double m, var;
        int c;
        window_stats(in, w, step, x, r, r, &m, &var, &c);
        if (c == step * step && m > 0.0)
            v[n++] = (float)(var / (m * m));
    }
    return n;
}

/* The k-th smallest of v[0..n) (v reordered): Hoare's selection with a median-of-three
 * pivot, which finds the same value a sort would put at k (the values are never NaN here:
 * variation coefficients of windows without nodata) in linear time instead of n log n; a
 * range that keeps shrinking slowly is sorted instead (bounded worst case). */
static float select_kth(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    int budget = 64;
    while (hi > lo) {
        if (budget-- == 0) {
            qsort(v + lo, hi - lo + 1, sizeof *v, cmp_float);
            return v[k];
        }
        size_t mid = lo + (hi - lo) / 2;
        /* order v[lo], v[mid], v[hi]; the median of the three is the pivot */
        if (v[mid] < v[lo]) { float t = v[mid]; v[mid] = v[lo]; v[lo] = t; }
        if (v[hi] < v[lo]) { float t = v[hi]; v[hi] = v[lo]; v[lo] = t; }
        if (v[hi] < v[mid]) { float t = v[hi]; v[hi] = v[mid]; v[mid] = t; }
        float pivot = v[mid];
        size_t i = lo, j = hi;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (pivot < v[j])
                j--;
            if (i >= j)
                break;
            float t = v[i];
            v[i] = v[j];
            v[j] = t;
            i++;
            j--;
        }
        /* v[lo..j] <= pivot <= v[j+1..hi] */
        if (k <= j)
            hi = j;
        else
            lo = j + 1;
    }
    return v[k];
}

float gd_k_speckle_cu2_median(float *restrict v, size_t n)
{
    if (n == 0)
        return NAN;
    return select_kth(v, n, n / 2);
}

float gd_k_speckle_cu2(const float *restrict in, int w, int h, int win)
{
    /* the median variation coefficient of disjoint windows: most windows of a scene are
     * homogeneous, so the median estimates the speckle's own variation */
    int r = win / 2 > 0 ? win / 2 : 1, step = 2 * r + 1;
    size_t cap = (size_t)(w / step + 1) * (size_t)(h / step + 1), n = 0;
    float *v = malloc(cap * sizeof *v);
    if (!v)
        return NAN;
    for (int y = 0; y + step <= h; y += step)
        n += gd_k_speckle_cu2_windows(in + (size_t)y * (size_t)w, w, win, v + n);
    float res = gd_k_speckle_cu2_median(v, n);
    free(v);
    return res;
}

void gd_k_box_mean(const float *restrict in, int w, int h, int win, int y0, int y1,
                   float *restrict out)
{
    int r = win / 2;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < w; x++) {
            float v = in[(size_t)y * (size_t)w + (size_t)x];
            float *o = out + (size_t)(y - y0) * (size_t)w + (size_t)x;
            if (isnan(v) || r < 1) {
                *o = v;
                continue;
            }
            double m, var;
            int c;
            window_stats(in, w, h, x, y, r, &m, &var, &c);
            *o = (float)m;
        }
}
