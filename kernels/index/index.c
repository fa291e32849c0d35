/* index.c: scalar reference kernels for index differences, log-ratio and CVA. */
#include "../kernels_internal.h"

#include <math.h>

static inline float ndi(float x, float y)
{
    float s = x + y;
    /* NaN inputs propagate through the arithmetic; a zero sum has no index */
    return s == 0.0f ? NAN : (x - y) / s;
}

void gd_k_ndiff_delta_scalar(const float *restrict b_x, const float *restrict b_y,
                      const float *restrict a_x, const float *restrict a_y, float sign,
                      float *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = sign * (ndi(a_x[i], a_y[i]) - ndi(b_x[i], b_y[i]));
}

float gd_k_logf(float x)
{
    return gd_logf_scalar(x);
}

void gd_k_logratio_scalar(const float *restrict before, const float *restrict after, float eps,
                   float *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float b = before[i] + eps, a = after[i] + eps;
        /* !(x > 0) is also true for NaN */
        out[i] = (!(b > 0.0f) || !(a > 0.0f)) ? NAN : gd_logf_scalar(a / b);
    }
}

void gd_k_cva_scalar(const float *const *before, const float *const *after, const float *w,
              size_t nbands, float *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0.0f;
    for (size_t k = 0; k < nbands; k++) {
        const float *b = before[k], *a = after[k];
        float wk = w ? w[k] : 1.0f;
        for (size_t i = 0; i < n; i++) {
            float d = wk * (a[i] - b[i]);
            out[i] += d * d;
        }
    }
    for (size_t i = 0; i < n; i++)
        out[i] = sqrtf(out[i]);
}
