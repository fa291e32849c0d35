/* gd_kernels.h: the pure-C compute kernels of geodelta (no GDAL, no I/O). */
#ifndef GD_KERNELS_H
#define GD_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "gd_phasecorr.h"  /* phase correlation (FFTW) */
#include "gd_timeseries.h" /* per-pixel time series (monitor) */

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

/* Column sums of a raster's rows: for each i < n where row[i] is not NaN and (has_nd)
 * not nd, sum[i] += row[i] and cnt[i] += 1 (+-Inf are values). Called row after row, it
 * gives each column's sum and count; a box average is then the sum over its columns. */
void gd_k_colsum_add(const float *restrict row, size_t n, int has_nd, float nd,
                     double *restrict sum, uint32_t *restrict cnt);

/* Fractions kept as 16-bit integers (FLICM's memberships between sweeps): to float,
 * dst = src / 65535; back, dst = the nearest integer to src x 65535 (ties to even),
 * clamped to 0..65535, and 0 where src is not finite. */
void gd_k_u16_to_unit(const uint16_t *restrict src, size_t n, float *restrict dst);
void gd_k_unit_to_u16(const float *restrict src, size_t n, uint16_t *restrict dst);

/* Adds the finite values of |in| (absval != 0) or in into nbins equal bins over [lo, hi];
 * values outside are clamped to the end bins. */
void gd_k_hist_accumulate(const float *restrict in, size_t n, int absval, double lo,
                          double hi, uint64_t *restrict bins, size_t nbins);

/* Otsu (1979) threshold of a histogram over [lo, hi]: the bin edge maximising the
 * between-class variance. Returns 0, or -1 if the histogram is empty or has one
 * populated bin (the threshold is undefined). When a run of splits ties (an empty gap
 * between the classes), the middle of the run is taken. */
int gd_k_otsu(const uint64_t *bins, size_t nbins, double lo, double hi, double *threshold);

/* Kittler & Illingworth (1986) minimum-error threshold of a histogram over [lo, hi]: the
 * bin edge minimising the criterion of a two-Gaussian mixture. Returns 0, or -1 when the
 * histogram is empty or has a single populated bin. */
int gd_k_kittler(const uint64_t *bins, size_t nbins, double lo, double hi, double *threshold);

/* Relative radiometric normalisation of one band: the reduced-major-axis (geometric mean)
 * line before ~ gain * after + offset over the pixels where both values are finite and,
 * when sel is not NULL, sel[i] <= cut (NaN in sel excludes the pixel): gain = sd(before) /
 * sd(after), offset = mean(before) - gain * mean(after). Symmetric in the two dates, unlike
 * least squares, which shrinks the gain by the noise of the after image. Returns the number
 * of pixels used, or -1 (gain 1, offset 0) when fewer than 2 or either spread is 0. */
long gd_k_rma_fit(const float *restrict before, const float *restrict after,
                  const float *restrict sel, float cut, size_t n, double *gain, double *offset);

/* ---- filters (kernels/filter) ---- */
typedef enum {
    GD_SPECKLE_NONE = 0,
    GD_SPECKLE_LEE = 1,
    GD_SPECKLE_REFINED_LEE = 2,
    GD_SPECKLE_GAMMA_MAP = 3
} gd_speckle;

/* Speckle filter of a w x h buffer (rows of a strip plus its halo) with a win x win
 * window (odd, >= 3); writes rows [y0, y1) of the buffer into out ((y1-y0) * w values).
 * Windows are clipped at the buffer's edges, so a halo of win/2 rows above and below
 * gives the same result as filtering the whole image. NaN and +-Inf are skipped inside
 * windows and kept where they are. cu2 = squared variation coefficient of the speckle
 * (1/looks for intensity). Lee (1980), refined Lee (1981), Gamma-MAP (Lopes 1990). */
void gd_k_speckle(gd_speckle kind, const float *restrict in, int w, int h, int win,
                  float cu2, int y0, int y1, float *restrict out);
/* gd_k_speckle with the kernels of one ISA (tests compare each with gd_k_speckle_ref);
 * returns -1 (and writes nothing) when this build or CPU lacks the ISA. */
int gd_k_speckle_isa(gd_isa isa, gd_speckle kind, const float *restrict in, int w, int h,
                     int win, float cu2, int y0, int y1, float *restrict out);
/* The same filter pixel by pixel as its definition reads (the reference gd_k_speckle is
 * tested against bit for bit; gd_k_speckle computes refined Lee's sub-block means once per
 * centre instead of once per pixel that uses them). */
void gd_k_speckle_ref(gd_speckle kind, const float *restrict in, int w, int h, int win,
                      float cu2, int y0, int y1, float *restrict out);

/* The speckle's squared variation coefficient estimated from the image: the median of
 * var/mean^2 over disjoint win x win windows without nodata. NaN when there are none. */
float gd_k_speckle_cu2(const float *restrict in, int w, int h, int win);
/* The same estimate streamed: the values of the disjoint windows whose top row is row 0 of
 * in (step = 2 * (win / 2) + 1 rows of w values must be readable), appended to v (at most
 * w / step values); returns how many. Windows start at rows and columns that are
 * multiples of step, as in gd_k_speckle_cu2. */
size_t gd_k_speckle_cu2_windows(const float *restrict in, int w, int win, float *restrict v);
/* The median (the value v[n / 2] would hold after sorting; v is reordered) of the values
 * above; NaN when n = 0. The order the values came in does not matter. */
float gd_k_speckle_cu2_median(float *restrict v, size_t n);

/* Mean of the finite values in a win x win window (same buffer and halo rules as
 * gd_k_speckle); NaN stays NaN. */
void gd_k_box_mean(const float *restrict in, int w, int h, int win, int y0, int y1,
                   float *restrict out);

/* ---- clustering (kernels/cluster) ---- */
/* Lloyd k-means of n vectors of d floats (x[i*d + j]); centres (k*d) hold the initial
 * centres and receive the final ones; labels[i] in 0..k-1, 255 for a vector whose first
 * value is not finite. Returns the number of iterations run (<= max_iter), -1 on error. */
int gd_k_kmeans(const float *restrict x, size_t n, int d, int k, int max_iter,
                double *restrict centres, uint8_t *restrict labels);

/* ---- small dense symmetric eigenproblems (kernels/linalg, LAPACKE) ----
 * Matrices are p x p, row-major, full (both triangles), p <= GD_K_EIG_MAX. */
#define GD_K_EIG_MAX 81 /* 9 x 9 PCA blocks; IR-MAD takes up to 64 bands */

/* Eigen-decomposition of the symmetric matrix a: eigenvalues ascending in ev, the unit
 * eigenvectors in the columns of a (a[r * p + k] is component r of vector k). Returns 0,
 * < 0 for a bad argument, > 0 when it did not converge (LAPACK dsyev's info). */
int gd_k_eigh(int p, double *restrict a, double *restrict ev);

/* Principal components to keep: how many of the largest eigenvalues (ev ascending, as
 * gd_k_eigh gives them; negative ones count as 0) it takes to hold at least frac of their
 * sum (Celik 2009 keeps 90 %). Returns that number, 0 when the sum is not positive;
 * *kept (if not NULL) receives the share they hold. */
int gd_k_pca_keep(const double *restrict ev, int p, double frac, double *kept);

/* Canonical correlations of X and Y from their covariances Sxx, Syy and cross-covariance
 * Sxy (Syx = Sxy'): the generalized symmetric problem Sxy Syy^-1 Syx a = rho^2 Sxx a.
 * rho (p) ascending in [0, 1] (the least correlated pair first: IR-MAD's MAD 1); the
 * columns of a (p x p) have unit variance a' Sxx a = 1, the columns of b are
 * Syy^-1 Syx a_k / rho_k (unit variance, correlation +rho_k with a_k' X). A covariance
 * whose Cholesky pivot vanishes (pivot^2 <= 1e-12 x the largest variance) is singular.
 * Returns GD_K_CCA_OK, a GD_K_CCA_SINGULAR_* code, or GD_K_CCA_NOCONV with LAPACK's
 * dsygv info in *info. */
enum {
    GD_K_CCA_OK = 0,
    GD_K_CCA_BADARG = -1,
    GD_K_CCA_SINGULAR_X = -2,
    GD_K_CCA_SINGULAR_Y = -3,
    GD_K_CCA_NOCONV = -4
};
int gd_k_cca(int p, const double *restrict sxx, const double *restrict syy,
             const double *restrict sxy, double *restrict rho, double *restrict a,
             double *restrict b, int *info);

/* Two-class statistics of the finite values of x (|x| when absval) split at t (class 1:
 * >= t): the class means mu[0], mu[1] and the pooled within-class standard deviation, i.e.
 * the homoscedastic Gaussian mixture whose maximum-likelihood split is Otsu's threshold
 * (Kurita, Otsu & Abdelmalek 1992). Returns 0, or -1 when a class is empty or sigma is 0. */
int gd_k_split_stats(const float *restrict x, size_t n, int absval, double t, double mu[2],
                     double *sigma);
/* gd_k_split_stats in pieces, for a score read strip by strip: the first pass adds each
 * class's sum and count into s, c; the second adds the squared deviations from mu into
 * *ss. Fed the strips in order they give gd_k_split_stats's numbers bit for bit. */
void gd_k_split_sums(const float *restrict x, size_t n, int absval, double t, double s[2],
                     double c[2]);
void gd_k_split_ss(const float *restrict x, size_t n, int absval, double t,
                   const double mu[2], double *ss);
/* Binary MRF relabelling by ICM (Besag 1986) on a w x h grid: labels (0/1; 255 = nodata,
 * kept and not counted as a neighbour) are updated in place, row by row, to the class
 * minimising (v - mu_k)^2 / (2 sigma^2) + beta * (8-neighbours labelled otherwise), with v
 * = |x| when absval (a Potts prior; ties keep the label). Stops after a sweep that changes
 * nothing or after max_iter sweeps; returns the sweeps run (-1 on bad arguments) and the
 * total relabellings in *flips (if not NULL). */
int gd_k_icm_potts(const float *restrict x, int w, int h, int absval, const double mu[2],
                   double sigma, double beta, int max_iter, uint8_t *restrict labels,
                   size_t *flips);
/* gd_k_icm_potts with bias added to the change energy (the -log of a prior ratio
 * P(no change) / P(change): > 0 favours no change); bias 0 is gd_k_icm_potts. */
int gd_k_icm_potts_bias(const float *restrict x, int w, int h, int absval, const double mu[2],
                        double sigma, double beta, double bias, int max_iter,
                        uint8_t *restrict labels, size_t *flips);
/* The plain sweeps of every pixel that gd_k_icm_potts_bias (which skips rows that
 * cannot change) is tested against, bit for bit. */
int gd_k_icm_potts_bias_ref(const float *restrict x, int w, int h, int absval,
                            const double mu[2], double sigma, double beta, double bias,
                            int max_iter, uint8_t *restrict labels, size_t *flips);

/* FLICM (Krinidis & Chatzis 2010): two-class fuzzy local-information c-means (fuzzifier
 * m = 2, 8-neighbourhood, spatial weight 1 / (distance + 1)) of the finite values of x (|x|
 * when absval) on a w x h grid. v: initial centres, v[0] < v[1], receive the final ones.
 * u1, tmp: n floats of work space, u1 receives the membership of class 1 (NaN where x is
 * not finite). labels: 1 where u1 > 0.5, else 0, 255 for non-finite x. Memberships are
 * updated all at once per sweep (scan-order free); stops when no membership moves by
 * tol or more, or after max_iter sweeps. Returns the sweeps run, -1 on bad arguments. */
int gd_k_flicm(const float *restrict x, int w, int h, int absval, double v[2], int max_iter,
               double tol, float *restrict u1, float *restrict tmp, uint8_t *restrict labels);
/* One sweep of gd_k_flicm on rows [r0, r1) of a w x h buffer (a tile of a larger grid with
 * one row above and below; neighbours outside the buffer do not count): x the score, u1
 * the memberships of class 1 after the previous sweep; tmp receives rows [r0, r1) of the
 * new ones ((r1 - r0) * w floats, NaN where x is not finite), *dmax their largest move,
 * sums the sums u0^2 v, u0^2, u1^2 v, u1^2 over those rows from which the centres are
 * updated. Tiles swept with the same centres and their sums added give gd_k_flicm's
 * sweep (up to the order of the additions). */
void gd_k_flicm_sweep(const float *restrict x, const float *restrict u1, int w, int h,
                      int absval, const double v[2], int r0, int r1, float *restrict tmp,
                      double *dmax, double sums[4]);
/* gd_k_flicm_sweep with the kernels of one ISA (for tests); -1 when this build or CPU
 * lacks the ISA. */
int gd_k_flicm_sweep_isa(gd_isa isa, const float *restrict x, const float *restrict u1, int w,
                         int h, int absval, const double v[2], int r0, int r1,
                         float *restrict tmp, double *dmax, double sums[4]);
/* The same sweep pixel by pixel as the definition reads (gd_k_flicm_sweep computes each
 * neighbour's terms once; tested against this bit for bit). */
void gd_k_flicm_sweep_ref(const float *restrict x, const float *restrict u1, int w, int h,
                          int absval, const double v[2], int r0, int r1, float *restrict tmp,
                          double *dmax, double sums[4]);
/* Hysteresis: labels 1 where v >= t_hi (v = |x| when absval) and where v >= t_lo in an
 * 8-connected run of such pixels reaching one, else 0 (255 for non-finite x). stack: n
 * size_t of work space. Returns the number of pixels grown from the seeds. */
size_t gd_k_hysteresis(const float *restrict x, int w, int h, int absval, double t_lo,
                       double t_hi, uint8_t *restrict labels, size_t *restrict stack);
/* The same hysteresis over rows streamed top to bottom, in bounded memory (hyst.c): feed
 * every row once to gd_k_hyst_scan, then every row again, in the same order, to
 * gd_k_hyst_label, which writes the labels gd_k_hysteresis gives (0, 1, 255). Both return
 * -1 when out of memory (or called out of order). gd_k_hyst_grown: pixels grown from the
 * seeds, as gd_k_hysteresis returns, once every row is labelled. */
typedef struct gd_k_hyst gd_k_hyst;
gd_k_hyst *gd_k_hyst_create(int w);
void gd_k_hyst_destroy(gd_k_hyst *h);
int gd_k_hyst_scan(gd_k_hyst *h, const float *x, int rows, int absval, double t_lo,
                   double t_hi);
int gd_k_hyst_label(gd_k_hyst *h, const float *x, int rows, int absval, double t_lo,
                    double t_hi, uint8_t *labels);
size_t gd_k_hyst_grown(const gd_k_hyst *h);
/* Runs of one value in [lo, hi] along a row of w bytes, as (x0, x1, value) triples into
 * runs (room for 3 * (w + 1) ints), left to right; returns their count (runlabel.c). */
int gd_k_row_runs(const uint8_t *row, int w, uint8_t lo, uint8_t hi, int *runs);
/* The 4-connected regions of equal value in [lo, hi] of a w x h byte raster, from its runs
 * in raster order (gd_k_row_runs row by row): *region (caller frees) holds each run's
 * region, regions numbered in the raster order of their first pixels, *first (caller
 * frees) the raster index of each region's first pixel (increasing), *nreg their count.
 * Returns 0, 1 when there are more than max_runs runs (nothing allocated), -1 out of
 * memory. */
int gd_k_run_regions(const uint8_t *v, int w, int h, uint8_t lo, uint8_t hi, size_t max_runs,
                     uint32_t **region, int64_t **first, size_t *nreg);
/* Urban's object decision (objects.c): each 8-connected region of class-1 pixels stays 1
 * when its highest score is >= seed and it has at least min_px pixels, else becomes 0;
 * other classes are left as they are. gd_k_objects_whole does it on the whole image
 * (work: w * h size_t); the streamed version gives the same classes in bounded memory:
 * feed every row of classes and score once to gd_k_objects_scan, then every row of
 * classes again, in the same order, to gd_k_objects_label, which rewrites them. Both
 * return -1 when out of memory (or called out of order). The counts are of regions and
 * their pixels, kept and dropped (gd_k_objects_result once every row is labelled). */
typedef struct gd_k_objects_counts {
    uint64_t kept, kept_px, dropped, dropped_px;
} gd_k_objects_counts;
int gd_k_objects_whole(const float *restrict score, int w, int h, float seed, long min_px,
                       uint8_t *restrict classes, size_t *restrict work,
                       gd_k_objects_counts *counts);
typedef struct gd_k_objects gd_k_objects;
gd_k_objects *gd_k_objects_create(int w, float seed, long min_px);
void gd_k_objects_destroy(gd_k_objects *o);
int gd_k_objects_scan(gd_k_objects *o, const uint8_t *classes, const float *score, int rows);
int gd_k_objects_label(gd_k_objects *o, uint8_t *classes, int rows);
gd_k_objects_counts gd_k_objects_result(const gd_k_objects *o);
/* Neighbourhood ratio (Gong, Cao & Wu 2012) of two co-registered amplitude images over a
 * win x win window: NR = theta * min/max of the pixel + (1 - theta) * sum(min) / sum(max)
 * of the window, theta = coefficient of variation of the window's values of both dates
 * (clamped to 1; the pixel ratio weighs more where the window is heterogeneous). Values
 * below 0 count as 0, eps is added to every value. out = -ln NR (>= 0, 0 = no change),
 * negative where after < before as the log-ratio; NaN where either date is not finite;
 * non-finite neighbours are left out of the window sums. */
void gd_k_nratio(const float *restrict before, const float *restrict after, int w, int h,
                 int win, float eps, float *restrict out);

/* Classes: NaN -> 255; two_sided: score <= -t -> 1, score >= t -> 2, else 0;
 * one-sided: score >= t -> 1, else 0. */
void gd_k_classify(const float *restrict score, size_t n, float t, int two_sided,
                   uint8_t *restrict out);
/* Multi-break classes: NaN -> 255, else values[k] with k = number of breaks[0..nbreaks)
 * that are <= score (breaks ascending; -Inf -> values[0], +Inf -> values[nbreaks]).
 * Scalar only: it runs once per pixel after the score, far from the hot path. */
void gd_k_classify_breaks(const float *restrict score, size_t n, const float *restrict breaks,
                          size_t nbreaks, const uint8_t *restrict values,
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
    void (*colsum_add)(const float *restrict row, size_t n, int has_nd, float nd,
                       double *restrict sum, uint32_t *restrict cnt);
    void (*u16_to_unit)(const uint16_t *restrict src, size_t n, float *restrict dst);
    void (*unit_to_u16)(const float *restrict src, size_t n, uint16_t *restrict dst);
    /* refined Lee's inner pixels (kernels_internal.h); used through gd_k_speckle */
    int (*rlee_ring)(const float *in, int w, int sr, int xa, int xb, double *row);
    int (*rlee_row)(const float *p, const double *const sm[3], int d, const int *offt, int n,
                    float cu2, int xa, int xb, float *o);
    /* the FLICM sweep's rows (kernels_internal.h); used through gd_k_flicm_sweep */
    int (*flicm_terms)(const float *x, const float *u1, int absval, const double v[2], int n,
                       double *const out[4]);
    int (*flicm_row)(const float *x, const float *u1, int absval, const double v[2], int n,
                     const double *const g0p[8], const double *const g1p[8], float *t,
                     double *dm, double acc[4]);
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
