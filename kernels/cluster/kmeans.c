/* kmeans.c: scalar reference Lloyd k-means over small feature vectors. */
#include "gd_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int gd_k_kmeans(const float *restrict x, size_t n, int d, int k, int max_iter,
                double *restrict centres, uint8_t *restrict labels)
{
    if (k < 1 || k > 255 || d < 1)
        return -1;
    double *sum = malloc(sizeof(double) * (size_t)k * (size_t)d);
    size_t *cnt = malloc(sizeof(size_t) * (size_t)k);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return -1;
    }
    int it = 0;
    for (size_t i = 0; i < n; i++)
        labels[i] = 255;
    for (it = 1; it <= max_iter; it++) {
        size_t moved = 0;
        memset(sum, 0, sizeof(double) * (size_t)k * (size_t)d);
        memset(cnt, 0, sizeof(size_t) * (size_t)k);
        for (size_t i = 0; i < n; i++) {
            const float *v = x + i * (size_t)d;
            if (!isfinite(v[0])) {
                labels[i] = 255;
                continue;
            }
            int bk = 0;
            double bd = INFINITY;
            for (int c = 0; c < k; c++) {
                double dd = 0.0;
                for (int j = 0; j < d; j++) {
                    double t = (double)v[j] - centres[c * d + j];
                    dd += t * t;
                }
                if (dd < bd) {
                    bd = dd;
                    bk = c;
                }
            }
            moved += labels[i] != bk;
            labels[i] = (uint8_t)bk;
            cnt[bk]++;
            for (int j = 0; j < d; j++)
                sum[bk * d + j] += v[j];
        }
        for (int c = 0; c < k; c++)
            if (cnt[c]) /* an emptied cluster keeps its centre */
                for (int j = 0; j < d; j++)
                    centres[c * d + j] = sum[c * d + j] / (double)cnt[c];
        if (moved == 0)
            break;
    }
    free(sum);
    free(cnt);
    return it > max_iter ? max_iter : it;
}
