/* engine.h: the streaming engine: row strips of the grid through a pool of worker threads,
 * each with its own GDAL dataset handles. */
#ifndef GEODELTA_ENGINE_H
#define GEODELTA_ENGINE_H

#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One strip as a strip function sees it. Inputs hold in_rows rows starting at grid row
 * in_y0 (the strip plus up to `halo` rows above and below, clipped to the grid), float32,
 * nodata = NaN, scale/offset applied. The function writes rows [y0, y0 + rows) into out
 * (rows * width floats); row y of the grid is row y - in_y0 of the inputs. */
typedef struct gd_strip {
    int width;
    int y0, rows;
    int in_y0, in_rows;
    size_t nb;
    const float *const *before;
    const float *const *after;
    float *out;
} gd_strip;

/* Computes one strip. Runs on worker threads at the same time as other strips: it must
 * not touch the job or any shared state (user is read-only); returns 0 or a GD_E* code. */
typedef int (*gd_strip_fn)(void *user, const gd_strip *s);

typedef struct gd_engine_spec {
    const gd_grid *grid;
    /* nb bands each; the bands of one date come from one dataset, which the engine
     * reopens per thread (a VRT from its XML) */
    const gd_band *before, *after;
    size_t nb;
    int halo;                      /* extra input rows above and below each strip */
    gd_strip_fn fn;
    void *user;
} gd_engine_spec;

/* Runs fn over the whole grid with gd_job_threads() workers into a score kept in memory
 * when it fits gd_job_mem_mb(), else in a temporary float32 GeoTIFF in gd_job_workdir()
 * (removed by gd_score_free). Fills min, max and valid. The score's bytes do not depend
 * on the number of threads. */
int gd_engine_score(gd_job *job, const gd_engine_spec *spec, gd_score *out);

/* Rows [y0, y0 + rows) of a score: a pointer into memory, or buf (rows * width floats)
 * filled from the temporary file. NULL on a read error (recorded in the job). */
const float *gd_score_rows(gd_job *job, const gd_score *s, int y0, int rows, float *buf);
/* Rows per strip when a consumer walks a score. */
int gd_score_strip_rows(const gd_score *s);

/* Sets GDAL's block cache (a share of --mem) and GDAL_NUM_THREADS unless the user set
 * them (environment or --config), and records the engine settings in the job's auto
 * values. Call once before any raster is read. */
void gd_engine_configure(gd_job *job);

/* Logical CPUs this process may run on (affinity mask), at least 1. */
int gd_engine_default_threads(void);

#ifdef __cplusplus
}
#endif
#endif
