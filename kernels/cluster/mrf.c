/* mrf.c: two-class Gaussian statistics of a split and a Potts-MRF relabelling by ICM. */
#include "gd_kernels.h"

#include <math.h>

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

int gd_k_icm_potts_bias(const float *restrict x, int w, int h, int absval, const double mu[2],
                        double sigma, double beta, double bias, int max_iter,
                        uint8_t *restrict labels, size_t *flips)
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
        for (int y = 0; y < h; y++) {
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
        }
        total += moved;
        if (moved == 0)
            break;
    }
    if (flips)
        *flips = total;
    return it;
}
