/* gd_phasecorr.h: sub-pixel phase correlation of two square float windows (FFTW). */
#ifndef GD_PHASECORR_H
#define GD_PHASECORR_H

#ifdef __cplusplus
extern "C" {
#endif

/* A plan holds the FFTW plans and the Hann taper of one window size. Creating and
 * destroying plans is not thread-safe (FFTW's planner is global): make them once,
 * from one thread. A plan is then used read-only by any number of threads, each with
 * its own work area (FFTW's new-array execute functions are thread-safe). */
typedef struct gd_pc_plan gd_pc_plan;
typedef struct gd_pc_work gd_pc_work;

/* n: window side, even, 16..8192. Returns 0, or -1 (bad n or out of memory). */
int gd_pc_plan_create(int n, gd_pc_plan **out);
void gd_pc_plan_destroy(gd_pc_plan *plan);
int gd_pc_plan_size(const gd_pc_plan *plan);

int gd_pc_work_create(const gd_pc_plan *plan, gd_pc_work **out);
void gd_pc_work_destroy(gd_pc_work *work);

typedef struct gd_pc_result {
    /* Displacement of the target's content relative to the reference, in pixels
     * (x east/right, y down): target(x, y) ~ reference(x - dx, y - dy). */
    double dx, dy;
    double peak;        /* height of the correlation peak (1 = identical up to a shift) */
    /* Reliability in percent: 100 * (1 - second / peak), second = the highest value of
     * the correlation surface outside a 5x5 neighbourhood of the peak. ~0 for unrelated
     * windows (the noise has peaks as high as the "match"), > 90 for a clean match. */
    double reliability;
} gd_pc_result;

/* Phase correlation of ref and tgt (n*n row-major, n = the plan's size). Each window
 * has its (taper-weighted) mean removed and is tapered by a 2-D Hann window; NaN pixels
 * count as the mean (the caller should avoid windows with much nodata). The normalised
 * cross-power spectrum, weighted by a Gaussian low-pass (sd 0.4 x Nyquist) against
 * noise and aliasing, is inverse-transformed to find the integer peak, then the
 * peak is refined by matrix-multiply DFTs of the spectrum (Guizar-Sicairos, Thurman &
 * Fienup 2008) in stages of 1/4, 1/20 and 1/upsample px
 * (upsample clamped to 20..100). Returns 0, or -1 when a window is constant. */
int gd_pc_correlate(const gd_pc_plan *plan, gd_pc_work *work, const float *ref,
                    const float *tgt, int upsample, gd_pc_result *out);

#ifdef __cplusplus
}
#endif
#endif
