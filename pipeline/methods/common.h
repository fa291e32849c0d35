/* common.h: helpers the method files share (methods/common.c, methods/sar.c); not used
 * outside pipeline/methods/. */
#ifndef GD_METHODS_COMMON_H
#define GD_METHODS_COMMON_H

#include "geodelta/method.h"

/* --bands-after, defaulting to --bands-before. */
const char *gd_method_after_spec(const gd_method_run *run);
/* Every band of the before image that the after image has (by description, else by
 * index), cloud-mask bands left out (cva, irmad). */
int gd_method_common_bands(gd_job *job, gd_method_run *run);
/* release op of the methods whose state is one malloc'd block. */
void gd_method_free_state(gd_method_run *run);
/* +-Inf -> NaN in a scored strip. */
void gd_method_inf_to_nan(float *out, size_t n);

/* ---- the SAR family (logratio, pcakmeans, SAR flood): methods/sar.c ---- */
typedef struct gd_sar_defaults {
    int speckle_window;          /* --speckle-window default */
    int smooth_window;           /* --smooth default */
    int decision;                /* --sar-decision default (GD_SAR_*) */
    double mrf_bias;             /* --mrf-bias default */
} gd_sar_defaults;

typedef struct gd_sar_setting {
    gd_sar_params sp;            /* filter, windows, score */
    int decision;                /* GD_SAR_* */
    double hyst_low;
    double mrf_beta, mrf_bias;
} gd_sar_setting;

/* The speckle filter, windows and score of p with defaults d (usage errors here). */
int gd_sar_resolve(gd_job *job, const gd_sar_opts *o, const gd_sar_defaults *d,
                   gd_sar_params *sp);
/* The decision and MRF options too (logratio, pcakmeans). */
int gd_sar_resolve_decision(gd_job *job, const gd_sar_opts *o, const gd_sar_defaults *d,
                            gd_sar_setting *s);
/* Records speckle, speckle_window and smooth as given (null: default) in params. */
void gd_sar_record_filter(const gd_sar_opts *o, json_t *params);
/* Records the decision and MRF options (only those given, so that runs with the defaults
 * keep their run ids). */
void gd_sar_record_decision(const gd_sar_opts *o, json_t *params);
/* The SAR band of each date (sar role, else band 1): logratio, pcakmeans. */
int gd_sar_inputs(gd_job *job, gd_method_run *run);
/* Threshold decision (FLICM, hysteresis) then the MRF, in place on the classes. */
int gd_sar_decide_mrf(gd_job *job, const gd_sar_setting *s, const gd_score *score, double t,
                      int two_sided, uint8_t *classes);

#endif
