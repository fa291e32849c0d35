/* rma.c: reduced-major-axis line fit of one band of two dates (relative radiometric
 * normalisation of the after image to the before image on invariant pixels). */
#include "gd_kernels.h"

#include <math.h>

/* Two passes in double (means, then centred sums) so that reflectances near 1e-4 with
 * millions of pixels keep their digits; scalar only: it runs a few times per band, far
 * from the per-pixel hot path. */
long gd_k_rma_fit(const float *restrict before, const float *restrict after,
                  const float *restrict sel, float cut, size_t n, double *gain, double *offset)
{
    *gain = 1.0;
    *offset = 0.0;
    double sx = 0.0, sy = 0.0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        float x = after[i], y = before[i];
        if (!isfinite(x) || !isfinite(y) || (sel && !(sel[i] <= cut)))
            continue;
        sx += x;
        sy += y;
        m++;
    }
    if (m < 2)
        return -1;
    double mx = sx / (double)m, my = sy / (double)m, vx = 0.0, vy = 0.0;
    for (size_t i = 0; i < n; i++) {
        float x = after[i], y = before[i];
        if (!isfinite(x) || !isfinite(y) || (sel && !(sel[i] <= cut)))
            continue;
        vx += (x - mx) * (x - mx);
        vy += (y - my) * (y - my);
    }
    if (!(vx > 0.0) || !(vy > 0.0))
        return -1;
    *gain = sqrt(vy / vx);
    *offset = my - *gain * mx;
    return (long)m;
}
