/* mrf.c: two-class Gaussian statistics of a split and a Potts-MRF relabelling by ICM. */
#include "gd_kernels.h"

#include <math.h>
#include <stdlib.h>

void gd_k_split_sums(const float *restrict x, size_t n, int absval, double t, double s[2],
                     double c[2])
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        double v = absval ? fabs((double)x[i]) : (double)x[i];
        int k = v >= t;
        s[k] += v;
        c[k] += 1.0;
    }
}

void gd_k_split_ss(const float *restrict x, size_t n, int absval, double t,
                   const double mu[2], double *ss)
{
    double acc = *ss;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        double v = absval ? fabs((double)x[i]) : (double)x[i];
        double d = v - mu[v >= t];
        acc += d * d;
    }
    *ss = acc;
}

int gd_k_split_stats(const float *restrict x, size_t n, int absval, double t, double mu[2],
                     double *sigma)
{
    double s[2] = {0.0, 0.0}, c[2] = {0.0, 0.0};
    gd_k_split_sums(x, n, absval, t, s, c);
    if (c[0] == 0.0 || c[1] == 0.0)
        return -1;
    mu[0] = s[0] / c[0];
    mu[1] = s[1] / c[1];
    /* second pass around the means: no cancellation on scores of large offset */
    double ss = 0.0;
    gd_k_split_ss(x, n, absval, t, mu, &ss);
    *sigma = sqrt(ss / (c[0] + c[1]));
    return *sigma > 0.0 && isfinite(*sigma) ? 0 : -1;
}

int gd_k_icm_potts(const float *restrict x, int w, int h, int absval, const double mu[2],
                   double sigma, double beta, int max_iter, uint8_t *restrict labels,
                   size_t *flips)
{
    return gd_k_icm_potts_bias(x, w, h, absval, mu, sigma, beta, 0.0, max_iter, labels, flips);
}

/* One row of a sweep, in place: returns the pixels relabelled. */
static size_t icm_row(const float *restrict x, int w, int h, int y, int absval,
                      const double mu[2], double k2, double beta, double bias,
                      uint8_t *restrict labels)
{
    size_t moved = 0;
    for (int xx = 0; xx < w; xx++) {
        size_t i = (size_t)y * (size_t)w + (size_t)xx;
        if (labels[i] == 255 || !isfinite(x[i]))
            continue;
        int n1 = 0, nn = 0;
        for (int dy = -1; dy <= 1; dy++) {
            int yy = y + dy;
            if (yy < 0 || yy >= h)
                continue;
            for (int dx = -1; dx <= 1; dx++) {
                int x2 = xx + dx;
                if ((dx == 0 && dy == 0) || x2 < 0 || x2 >= w)
                    continue;
                uint8_t l = labels[(size_t)yy * (size_t)w + (size_t)x2];
                if (l == 255)
                    continue; /* nodata is no neighbour */
                nn++;
                n1 += l;
            }
        }
        double v = absval ? fabs((double)x[i]) : (double)x[i];
        double d0 = v - mu[0], d1 = v - mu[1];
        double u0 = d0 * d0 * k2 + beta * n1, u1 = d1 * d1 * k2 + beta * (nn - n1) + bias;
        uint8_t l = u1 < u0 ? 1 : u0 < u1 ? 0 : labels[i];
        if (l != labels[i]) {
            labels[i] = l;
            moved++;
        }
    }
    return moved;
}

int gd_k_icm_potts_bias_ref(const float *restrict x, int w, int h, int absval,
                            const double mu[2], double sigma, double beta, double bias,
                            int max_iter, uint8_t *restrict labels, size_t *flips)
{
    if (w < 1 || h < 1 || !(sigma > 0.0) || !(beta >= 0.0) || !isfinite(bias))
        return -1;
    const double k2 = 1.0 / (2.0 * sigma * sigma);
    size_t total = 0;
    int it = 0;
    while (it < max_iter) {
        size_t moved = 0;
        it++;
        /* in place, row by row (Besag's ICM): a pixel sees its neighbours' new labels */
        for (int y = 0; y < h; y++)
            moved += icm_row(x, w, h, y, absval, mu, k2, beta, bias, labels);
        total += moved;
        if (moved == 0)
            break;
    }
    if (flips)
        *flips = total;
    return it;
}

/* The reference's sweeps, with the rows that cannot change left out: a pixel's new label
 * follows from its value, its own label (ties) and its 8 neighbours' labels, so a row
 * none of whose labels, nor those of the rows above and below, changed since its last
 * evaluation (which then changed nothing in it either) would give every pixel its label
 * again. Each row's last evaluation and last change are stamped with a running clock; a
 * row is evaluated when a change in rows y-1..y+1 is as recent as its last evaluation.
 * Same labels, sweeps and flips as gd_k_icm_potts_bias_ref, bit for bit; after the first
 * sweeps only the rows around the few pixels still moving are visited. */
int gd_k_icm_potts_bias(const float *restrict x, int w, int h, int absval, const double mu[2],
                        double sigma, double beta, double bias, int max_iter,
                        uint8_t *restrict labels, size_t *flips)
{
    if (w < 1 || h < 1 || !(sigma > 0.0) || !(beta >= 0.0) || !isfinite(bias))
        return -1;
    uint64_t *chg = calloc((size_t)h, sizeof *chg), *ev = calloc((size_t)h, sizeof *ev);
    if (!chg || !ev) {
        free(chg);
        free(ev);
        return gd_k_icm_potts_bias_ref(x, w, h, absval, mu, sigma, beta, bias, max_iter,
                                       labels, flips);
    }
    const double k2 = 1.0 / (2.0 * sigma * sigma);
    uint64_t clock = 0;
    size_t total = 0;
    int it = 0;
    while (it < max_iter) {
        size_t moved = 0;
        it++;
        for (int y = 0; y < h; y++) {
            uint64_t c = chg[y];
            if (y > 0 && chg[y - 1] > c)
                c = chg[y - 1];
            if (y + 1 < h && chg[y + 1] > c)
                c = chg[y + 1];
            if (it > 1 && c < ev[y])
                continue; /* nothing it sees changed since it last changed nothing */
            ev[y] = ++clock;
            size_t m = icm_row(x, w, h, y, absval, mu, k2, beta, bias, labels);
            if (m) {
                chg[y] = clock;
                moved += m;
            }
        }
        total += moved;
        if (moved == 0)
            break;
    }
    free(chg);
    free(ev);
    if (flips)
        *flips = total;
    return it;
}
