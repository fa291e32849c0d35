/* method.h: a change-detection method as a plug-in: one ops table per file under
 * pipeline/methods/, listed once in methods/registry.c. The chain (pipeline/chain/) calls
 * these ops in order and never asks which method it runs. */
#ifndef GEODELTA_METHOD_H
#define GEODELTA_METHOD_H

#include <jansson.h>
#include <stdint.h>

#include "geodelta/detect.h"
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GD_METHOD_MAX_BANDS 64

/* One run of a method: what the chain hands to every op. The chain fills the inputs
 * (sources, grid, bands on the grid); the method fills what it decides. */
typedef struct gd_method_run {
    const gd_method *m;
    const gd_detect_params *p;
    void *state;                 /* the method's own, from configure; freed by release */

    /* set by the chain before inputs() */
    const gd_source *bs, *as;    /* the two dates as opened */
    const gd_grid *grid;

    /* set by the method in inputs() */
    size_t nb;                   /* band pairs used */
    int bidx[GD_METHOD_MAX_BANDS], aidx[GD_METHOD_MAX_BANDS]; /* 1-based, per date */
    int sar;                     /* one SAR backscatter band: no default co-registration,
                                    a log-ratio offset (eps) */
    int db_to_linear;            /* sigma0 in dB becomes linear power before scoring */
    int map_sar;                 /* the map shows the dates as SAR (grey dB panels) */
    const char *note;            /* the map's note after the caveat; NULL: none */
    int score_panels;            /* a method with its own score() whose engine pass fills
                                    `panels` as gd_method_stream does (the SAR score) */

    /* set by the chain after inputs(): the bands on the grid, in reflectance/linear */
    const gd_band *bb, *ab;
    float eps;                   /* SAR: offset keeping the ratio finite */
    /* set by the chain: the map's panels for the engine's score pass to fill
     * (gd_method_stream); NULL: none (the map then reads them itself) */
    struct gd_engine_panels *panels;
} gd_method_run;

/* A threshold request as the user gave it (-t). */
typedef struct gd_threshold_req {
    int is_auto;                 /* -t auto (or none) */
    int ki;                      /* Kittler-Illingworth (-t ki, or the method's auto) */
    double fixed;                /* -t VALUE; NaN otherwise */
} gd_threshold_req;

struct gd_method_ops {
    /* Resolves the method's parameters with their defaults from run->p (a bad value is a
     * GD_EUSAGE error, before any work) and records them in params (the run id's
     * parameters). May set run->state. Optional. */
    int (*configure)(gd_job *job, gd_method_run *run, json_t *params);
    /* Picks the bands of both dates (run->bidx/aidx/nb) and says what the input is
     * (sar, db_to_linear, map_sar). Required. */
    int (*inputs)(gd_job *job, gd_method_run *run);
    /* Bytes per grid pixel the method holds besides the engine's strips (memory check). */
    uint64_t (*bytes_per_pixel)(const gd_method_run *run);
    /* Scores a strip on the engine (halo extra rows above and below; user is the
     * gd_method_run); the chain streams the score with it when score is NULL. */
    gd_strip_fn score_strip;
    int halo;
    /* Computes the whole score itself (methods not yet on the engine's strips, or with a
     * statistics pass first). Optional: NULL streams score_strip. */
    int (*score)(gd_job *job, gd_method_run *run, gd_score *out);
    /* The threshold of the score for req. Optional: NULL is Otsu or KI on the histogram
     * (of |score| when two-sided), or the fixed value (gd_threshold_pick). */
    int (*threshold)(gd_job *job, gd_method_run *run, const gd_score *s,
                     const gd_threshold_req *req, double *t, const char **mode);
    /* Auto threshold is Kittler-Illingworth rather than Otsu. */
    int auto_ki;
    /* Classes from the score and threshold. Optional: NULL is gd_classify (two classes at
     * t, or one-sided). */
    int (*classify)(gd_job *job, gd_method_run *run, const gd_score *s, double t,
                    uint8_t **classes);
    /* A decision step on the classes after the threshold (FLICM, MRF, masks). Optional. */
    int (*decide)(gd_job *job, gd_method_run *run, const gd_score *s, double t,
                  uint8_t *classes);
    /* Default minimum mapping unit in pixels (0: the chain's 0.1 ha). */
    int default_mmu_px;
    /* Takes the method's flood-style masks (--dem, --permanent-water). */
    int takes_water_masks;
    /* Frees run->state. Optional. */
    void (*release)(gd_method_run *run);
};

/* The generic threshold: fixed, Otsu or KI (two-sided methods on |score|). */
int gd_threshold_pick(gd_job *job, const gd_method *m, const gd_score *s,
                      const gd_threshold_req *req, double *t, const char **mode);

/* Streams run's score through the engine with the method's score_strip (user: run). */
int gd_method_stream(gd_job *job, gd_method_run *run, gd_score *out);

/* The ops the shared families export for their method files. */
extern const gd_method_ops gd_index_ops;   /* normalised-difference indices (index.c) */

/* Band role lookup shared by the methods: the role's band of each date into bidx/aidx, or
 * an input error naming the bands there are. */
int gd_method_need_role(gd_job *job, gd_method_run *run, const char *role, int *bidx,
                        int *aidx);

#ifdef __cplusplus
}
#endif
#endif
