/* stats.c: scalar reference kernels for min/max, histograms, Otsu and classification. */
#include "../kernels_internal.h"

#include <math.h>

size_t gd_k_minmax_scalar(const float *restrict in, size_t n, float *mn, float *mx)
{
    size_t count = 0;
    float lo = *mn, hi = *mx;
    for (size_t i = 0; i < n; i++) {
        float v = in[i];
        if (!isfinite(v))
            continue;
        count++;
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    *mn = lo;
    *mx = hi;
    return count;
}

void gd_k_hist_accumulate_scalar(const float *restrict in, size_t n, int absval, double lo,
                          double hi, uint64_t *restrict bins, size_t nbins)
{
    if (nbins == 0)
        return;
    double scale = hi > lo ? (double)nbins / (hi - lo) : 0.0;
    for (size_t i = 0; i < n; i++) {
        float v = in[i];
        if (!isfinite(v))
            continue;
        double x = absval ? fabs((double)v) : (double)v;
        double f = (x - lo) * scale;
        size_t b;
        if (f <= 0.0)
            b = 0;
        else if (f >= (double)(nbins - 1))
            b = nbins - 1;
        else
            b = (size_t)f;
        bins[b]++;
    }
}

int gd_k_otsu(const uint64_t *bins, size_t nbins, double lo, double hi, double *threshold)
{
    double total = 0.0, sum_all = 0.0;
    size_t populated = 0;
    for (size_t i = 0; i < nbins; i++) {
        total += (double)bins[i];
        sum_all += (double)i * (double)bins[i];
        populated += bins[i] != 0;
    }
    if (total <= 0.0 || populated < 2)
        return -1;
    double w0 = 0.0, sum0 = 0.0, best = -1.0;
    size_t best_i = 0, best_last = 0;
    /* split between bin i and i+1: class 0 = bins [0..i] */
    for (size_t i = 0; i + 1 < nbins; i++) {
        w0 += (double)bins[i];
        sum0 += (double)i * (double)bins[i];
        double w1 = total - w0;
        if (w0 <= 0.0 || w1 <= 0.0)
            continue;
        double m0 = sum0 / w0, m1 = (sum_all - sum0) / w1;
        double between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if (between > best) {
            best = between;
            best_i = best_last = i;
        } else if (between == best && best_last + 1 == i) {
            /* splits inside an empty gap tie exactly: remember the run */
            best_last = i;
        }
    }
    double width = (hi - lo) / (double)nbins;
    *threshold = lo + ((double)(best_i + best_last) / 2.0 + 1.0) * width;
    return 0;
}

void gd_k_colsum_add_scalar(const float *restrict row, size_t n, int has_nd, float nd,
                            double *restrict sum, uint32_t *restrict cnt)
{
    for (size_t i = 0; i < n; i++) {
        float v = row[i];
        if (isnan(v) || (has_nd && v == nd))
            continue;
        sum[i] += v;
        cnt[i]++;
    }
}

void gd_k_u16_to_unit_scalar(const uint16_t *restrict src, size_t n, float *restrict dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)src[i] / 65535.0f;
}

void gd_k_unit_to_u16_scalar(const float *restrict src, size_t n, uint16_t *restrict dst)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(src[i])) {
            dst[i] = 0;
            continue;
        }
        /* adding and taking away 2^23 rounds to the nearest integer, ties to even (float
         * arithmetic, no contraction): lrintf's result without the call */
        float r = (src[i] * 65535.0f + 8388608.0f) - 8388608.0f;
        r = r < 0.0f ? 0.0f : r > 65535.0f ? 65535.0f : r;
        dst[i] = (uint16_t)r;
    }
}

void gd_k_classify_scalar(const float *restrict score, size_t n, float t, int two_sided,
                   uint8_t *restrict out)
{
    for (size_t i = 0; i < n; i++) {
        float v = score[i];
        if (isnan(v))
            out[i] = 255;
        else if (two_sided)
            out[i] = v <= -t ? 1 : (v >= t ? 2 : 0);
        else
            out[i] = v >= t ? 1 : 0;
    }
}

void gd_k_classify_breaks(const float *restrict score, size_t n, const float *restrict breaks,
                          size_t nbreaks, const uint8_t *restrict values, uint8_t *restrict out)
{
    for (size_t i = 0; i < n; i++) {
        float v = score[i];
        if (isnan(v)) {
            out[i] = 255;
            continue;
        }
        size_t k = 0;
        while (k < nbreaks && breaks[k] <= v)
            k++;
        out[i] = values[k];
    }
}

int gd_k_kittler(const uint64_t *bins, size_t nbins, double lo, double hi, double *threshold)
{
    double total = 0.0, s_all = 0.0, s2_all = 0.0;
    size_t populated = 0;
    for (size_t i = 0; i < nbins; i++) {
        double c = (double)bins[i], x = (double)i;
        total += c;
        s_all += c * x;
        s2_all += c * x * x;
        populated += bins[i] != 0;
    }
    if (total <= 0.0 || populated < 2)
        return -1;
    /* a class of a single bin would have zero variance and a criterion of -inf: the
     * quantisation variance of one bin (1/12) keeps the criterion finite */
    const double qvar = 1.0 / 12.0;
    double w0 = 0.0, s0 = 0.0, s20 = 0.0, best = INFINITY;
    size_t best_i = 0;
    int found = 0;
    for (size_t i = 0; i + 1 < nbins; i++) {
        double c = (double)bins[i], x = (double)i;
        w0 += c;
        s0 += c * x;
        s20 += c * x * x;
        double w1 = total - w0;
        if (w0 <= 0.0 || w1 <= 0.0 || bins[i + 1] == 0)
            continue; /* only splits just before a populated bin are distinct */
        double p0 = w0 / total, p1 = w1 / total;
        double m0 = s0 / w0, m1 = (s_all - s0) / w1;
        double v0 = fmax(0.0, s20 / w0 - m0 * m0) + qvar;
        double v1 = fmax(0.0, (s2_all - s20) / w1 - m1 * m1) + qvar;
        /* Kittler & Illingworth (1986): J = 1 + 2 (P0 ln s0 + P1 ln s1) - 2 (P0 ln P0 + P1 ln P1) */
        double j = 1.0 + p0 * log(v0) + p1 * log(v1) - 2.0 * (p0 * log(p0) + p1 * log(p1));
        if (j < best) {
            best = j;
            best_i = i;
            found = 1;
        }
    }
    if (!found)
        return -1;
    double width = (hi - lo) / (double)nbins;
    *threshold = lo + ((double)best_i + 1.0) * width;
    return 0;
}
