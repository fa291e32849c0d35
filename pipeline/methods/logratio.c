/* logratio.c: SAR log-ratio ln(after/before) of one band: speckle filter, mean, threshold,
 * FLICM, then a Potts MRF (detect/sar.c); the default setting is the one of
 * tests/accuracy/sweep_sar.sh meeting the four SAR targets (docs/methods/logratio.md). */
#include "colours.h"
#include "common.h"

#include <stdlib.h>

static const gd_sar_defaults logratio_defaults = {
    .speckle_window = 7,           /* refined Lee 7 */
    .smooth_window = 3,            /* 3x3 mean of the log-ratio */
    .decision = GD_SAR_FLICM,
    .mrf_bias = -1.5,              /* a prior towards change */
};

static int logratio_configure(gd_job *job, gd_method_run *run, json_t *params)
{
    gd_sar_setting *s = calloc(1, sizeof *s);
    if (!s)
        return gd_job_error(job, GD_EPROC, "out of memory");
    run->state = s;
    gd_sar_record_filter(&run->p->sar, params);
    gd_sar_record_decision(&run->p->sar, params);
    return gd_sar_resolve_decision(job, &run->p->sar, &logratio_defaults, s);
}

static int logratio_inputs(gd_job *job, gd_method_run *run)
{
    int st = gd_sar_inputs(job, run);
    run->map_sar = 1;
    return st;
}

/* the SAR score streams (engine, halos), FLICM/MRF run on tiles and hysteresis on
 * strips (detect/sar.c): what the index methods hold, the score, classes and polygonize
 * buffers (10) */
static uint64_t logratio_bytes(const gd_method_run *run)
{
    (void)run;
    return 10u;
}

static int logratio_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    const gd_sar_setting *s = run->state;
    return gd_detect_sar(job, &s->sp, run->grid, &run->bb[0], &run->ab[0], run->eps, run->panels, out);
}

static int logratio_decide(gd_job *job, gd_method_run *run, const gd_score *score, double t,
                           uint8_t *classes)
{
    return gd_sar_decide_mrf(job, run->state, score, t, run->m->two_sided, classes);
}

static const gd_method_ops logratio_ops = {
    .configure = logratio_configure,
    .inputs = logratio_inputs,
    .bytes_per_pixel = logratio_bytes,
    .score = logratio_score,
    .decide = logratio_decide,
    .release = gd_method_free_state,
};

const gd_method gd_method_logratio = {
    .name = "logratio",
    .summary = "SAR log-ratio ln(after/before): backscatter decrease / increase; one band "
               "(sar, else band 1)",
    .bands = "sar (or 1)",
    .roles = {"sar", NULL}, .sign = 1.0f, .two_sided = 1,
    .class_names = {NULL, "backscatter decrease", "backscatter increase"},
    .class_rgb = {NOCOLOUR, SKY, VERMILLION},
    .ops = &logratio_ops,
};
