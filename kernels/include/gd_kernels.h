/* gd_kernels.h: the pure-C compute kernels of geodelta (no GDAL, no I/O). */
#ifndef GD_KERNELS_H
#define GD_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Inside kernels NaN means nodata: every kernel propagates it. */

typedef enum { GD_ISA_SCALAR = 0, GD_ISA_AVX2 = 1, GD_ISA_AVX512 = 2 } gd_isa;

/* Picks the best ISA once (GEODELTA_ISA=scalar|avx2|avx512 forces one, never above what
 * the CPU has); thread-safe, the first call wins; every gd_k_* call makes it if needed. */
void gd_kernels_init(void);
gd_isa gd_kernels_isa(void);
const char *gd_kernels_isa_name(void);

/* Index change: out = sign * (I(a_x, a_y) - I(b_x, b_y)) with I(x, y) = (x - y) / (x + y)
 * (NaN where x + y == 0 or any input is NaN). before = b_*, after = a_*. */
void gd_k_ndiff_delta(const float *restrict b_x, const float *restrict b_y,
                      const float *restrict a_x, const float *restrict a_y, float sign,
                      float *restrict out, size_t n);

/* Log-ratio: out = ln((after + eps) / (before + eps)); NaN where either is NaN or a
 * shifted value is <= 0. */
void gd_k_logratio(const float *restrict before, const float *restrict after, float eps,
                   float *restrict out, size_t n);

/* Change-vector magnitude: out = sqrt(sum_k (w_k * (after_k - before_k))^2); NaN where any
 * band is NaN. */
void gd_k_cva(const float *const *before, const float *const *after, const float *w,
              size_t nbands, float *restrict out, size_t n);

/* Running min/max of finite values (NaN and +-Inf skipped). *mn and *mx are updated; start
 * them at +INFINITY/-INFINITY. Returns the number of finite values seen. */
size_t gd_k_minmax(const float *restrict in, size_t n, float *mn, float *mx);

/* Adds the finite values of |in| (absval != 0) or in into nbins equal bins over [lo, hi];
 * values outside are clamped to the end bins. */
void gd_k_hist_accumulate(const float *restrict in, size_t n, int absval, double lo,
                          double hi, uint64_t *restrict bins, size_t nbins);

/* Otsu (1979) threshold of a histogram over [lo, hi]: the bin edge maximising the
 * between-class variance. Returns 0, or -1 if the histogram is empty or has one
 * populated bin (the threshold is undefined). When a run of splits ties (an empty gap
 * between the classes), the middle of the run is taken. */
int gd_k_otsu(const uint64_t *bins, size_t nbins, double lo, double hi, double *threshold);

/* Classes: NaN -> 255; two_sided: score <= -t -> 1, score >= t -> 2, else 0;
 * one-sided: score >= t -> 1, else 0. */
void gd_k_classify(const float *restrict score, size_t n, float t, int two_sided,
                   uint8_t *restrict out);

/* One set of the kernels above for one ISA. The public gd_k_* functions call through the
 * table chosen by gd_kernels_init(); every variant gives the same bits as the scalar one
 * (same operations in the same order per element, no FMA contraction), so outputs do not
 * depend on the ISA. */
typedef struct gd_kernel_table {
    void (*ndiff_delta)(const float *restrict b_x, const float *restrict b_y,
                        const float *restrict a_x, const float *restrict a_y, float sign,
                        float *restrict out, size_t n);
    void (*logratio)(const float *restrict before, const float *restrict after, float eps,
                     float *restrict out, size_t n);
    void (*cva)(const float *const *before, const float *const *after, const float *w,
                size_t nbands, float *restrict out, size_t n);
    size_t (*minmax)(const float *restrict in, size_t n, float *mn, float *mx);
    void (*hist_accumulate)(const float *restrict in, size_t n, int absval, double lo,
                            double hi, uint64_t *restrict bins, size_t nbins);
    void (*classify)(const float *restrict score, size_t n, float t, int two_sided,
                     uint8_t *restrict out);
} gd_kernel_table;

/* The kernels of one ISA, or NULL when this build or this CPU lacks it (for tests and
 * benchmarks that compare variants; stages use the gd_k_* functions). */
const gd_kernel_table *gd_kernels_table(gd_isa isa);

/* Natural logarithm used by gd_k_logratio (same bits in every ISA variant): a Cephes-style
 * polynomial; NaN for NaN or x < 0, -Inf for 0, +Inf for +Inf. Max error against glibc
 * logf is stated in README (tested in tests/unit/test_kernels_isa.c). */
float gd_k_logf(float x);

#ifdef __cplusplus
}
#endif
#endif
