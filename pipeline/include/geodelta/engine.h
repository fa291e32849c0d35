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
    float *out;      /* NULL in a pass without a score (gd_engine_run) */
    int index;       /* strip number, 0..gd_engine_strips()-1: slot for per-strip results */
} gd_strip;

/* Computes one strip. Runs on worker threads at the same time as other strips: it must
 * not touch the job or any shared state (user is read-only); returns 0 or a GD_E* code. */
typedef int (*gd_strip_fn)(void *user, const gd_strip *s);

/* Per-worker state, as libvips's start/generate/stop: start runs once on each worker
 * thread before its first strip and returns that worker's state (scratch buffers for a
 * strip of at most max_in_rows rows of width floats, halo included), NULL when out of
 * memory; generate computes one strip with it; stop frees it on the same thread. Like
 * gd_strip_fn they must not touch the job; user stays read-only except for the per-strip
 * slot of s->index. */
typedef void *(*gd_strip_start_fn)(void *user, int width, int max_in_rows);
typedef int (*gd_strip_generate_fn)(void *user, void *state, const gd_strip *s);
typedef void (*gd_strip_stop_fn)(void *user, void *state);

/* The map's panels made by the score pass: as strips pass, each date's display bands
 * are box-averaged to the panel size (panel pixel (x, y) averages grid columns
 * [x*W/pw, (x+1)*W/pw) and rows [y*H/ph, (y+1)*H/ph), integer division, nodata and NaN
 * left out), so that the map needs no second read of the inputs. The bands come raw (no
 * scale, mask or dB) from the strip's one read of the dataset of each date's bands[0],
 * after the method's bands. The sums are merged in strip order: the panels do not depend
 * on the number of threads. */
typedef struct gd_engine_panels {
    int nb;                        /* display bands per date: 1 or 3 */
    int bands[2][3];               /* their numbers in the before [0] and after [1] dataset */
    int pw, ph;                    /* panel size, at most the grid's */
    float *out[2][3];              /* pw * ph each, the caller's; NaN where a box has no data */
} gd_engine_panels;

typedef struct gd_engine_spec {
    const gd_grid *grid;
    /* nb bands each; the bands of one date come from one dataset, which the engine
     * reopens per thread (a VRT from its XML) */
    const gd_band *before, *after;
    /* 0 (with gd_engine_run, no src, no panels): a pass without band inputs, in strips of
     * `rows` rows, whose strip function reads what it needs itself (the monitor's many
     * dates per strip) */
    size_t nb;
    int rows;
    int halo;                      /* extra input rows above and below each strip */
    gd_strip_fn fn;                /* stateless strip function, or NULL with generate */
    void *user;
    /* optional per-worker state (used instead of fn when generate is set) */
    gd_strip_start_fn start;
    gd_strip_generate_fn generate;
    gd_strip_stop_fn stop;
    /* optional: a score as the input instead of bands (a method's second stage on its
     * first score): the strips' before[0] and after[0] are both its rows (halo included);
     * nb is 1 and before/after are not read. It must outlive the pass. */
    const gd_score *src;
    gd_engine_panels *panels;      /* optional: the map's panels, filled by this pass */
    /* optional, nb 1: keep[d] receives each date's rows as the strips saw them (nodata
     * NaN, scale and masks applied), in memory when both dates and a score fit --mem,
     * else in temporary float32 files (freed with gd_score_free), so that a later pass
     * over the same grid takes them as `kept` instead of decoding the inputs again */
    gd_score *keep[2];
    /* optional, nb 1: the dates' rows from an earlier pass's keep instead of the bands
     * (before/after still give the strip size and the names in messages); no panels */
    const gd_score *kept[2];
    /* optional: called after fn/generate with the same strip (inputs, halo and output),
     * in strip order and one strip at a time; it may update user (never the job). For
     * reductions that must add pixel by pixel in grid order, as one loop over the whole
     * image would (sums of doubles: per-strip partial sums would change their last
     * bits). A worker whose strip is ahead waits, holding only its own buffers. */
    gd_strip_fn ordered;
} gd_engine_spec;

/* Runs fn over the whole grid with gd_job_threads() workers into a score kept in memory
 * when it fits gd_job_mem_mb(), else in a temporary float32 GeoTIFF in gd_job_workdir()
 * (removed by gd_score_free). Fills min, max and valid. The score's bytes do not depend
 * on the number of threads. */
int gd_engine_score(gd_job *job, const gd_engine_spec *spec, gd_score *out);

/* The same pass without a score (s->out is NULL): a sample pass whose results the strip
 * function leaves in per-strip slots of user (indexed by s->index), merged by the caller
 * in strip order so that they do not depend on the number of threads. */
int gd_engine_run(gd_job *job, const gd_engine_spec *spec);

/* The number of strips the engine cuts the grid into for spec (and their rows in
 * *strip_rows if not NULL): what a caller sizes its per-strip slots with. */
int gd_engine_strips(const gd_engine_spec *spec, int *strip_rows);

/* Rows [y0, y0 + rows) of a score: a pointer into memory, or buf (rows * width floats)
 * filled from the temporary file. NULL on a read error (recorded in the job). */
const float *gd_score_rows(gd_job *job, const gd_score *s, int y0, int rows, float *buf);
/* Brings a score kept in its temporary file into memory (and removes the file), for a
 * consumer that still needs the whole image at once; a no-op when it is in memory. */
int gd_score_load(gd_job *job, gd_score *s);
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
