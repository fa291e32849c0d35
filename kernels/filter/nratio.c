/* nratio.c: the neighbourhood-ratio change operator of Gong, Cao & Wu (2012). */
#include "gd_kernels.h"

#include <math.h>

void gd_k_nratio(const float *restrict before, const float *restrict after, int w, int h,
                 int win, float eps, float *restrict out)
{
    const int r = win / 2;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            float b0 = before[i], a0 = after[i];
            if (!isfinite(b0) || !isfinite(a0)) {
                out[i] = NAN;
                continue;
            }
            /* sums over the window of both dates: min/max for the neighbourhood ratio,
             * mean and variance of the pooled values for the heterogeneity weight */
            double smin = 0.0, smax = 0.0, s = 0.0, ss = 0.0;
            int c = 0;
            for (int dy = -r; dy <= r; dy++) {
                int yy = y + dy;
                if (yy < 0 || yy >= h)
                    continue;
                for (int dx = -r; dx <= r; dx++) {
                    int xx = x + dx;
                    if (xx < 0 || xx >= w)
                        continue;
                    size_t j = (size_t)yy * (size_t)w + (size_t)xx;
                    double b = before[j], a = after[j];
                    if (!isfinite(b) || !isfinite(a))
                        continue;
                    b = fmax(b, 0.0) + eps;
                    a = fmax(a, 0.0) + eps;
                    smin += fmin(a, b);
                    smax += fmax(a, b);
                    s += a + b;
                    ss += a * a + b * b;
                    c += 2;
                }
            }
            double mean = s / c, var = ss / c - mean * mean;
            double theta = var > 0.0 ? sqrt(var) / mean : 0.0;
            if (theta > 1.0)
                theta = 1.0;
            double b = fmax((double)b0, 0.0) + eps, a = fmax((double)a0, 0.0) + eps;
            double nr = theta * fmin(a, b) / fmax(a, b) + (1.0 - theta) * smin / smax;
            /* -ln NR >= 0 grows with the change; the sign of after - before keeps the side */
            double v = -log(nr);
            out[i] = (float)(a < b ? -v : v);
        }
    }
}
