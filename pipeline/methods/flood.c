/* flood.c: new / permanent water (flood/flood.c): optical by MNDWI (else NDWI) rise and
 * water after and not before; SAR by the UN-SPIDER ratio rule; --dem slope and
 * --permanent-water masks (flood/masks.c). */
#include "colours.h"
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FLOOD_MIN_PX 8 /* UN-SPIDER: drop patches of fewer than 8 connected px */

/* SAR: the log-ratio machinery of logratio (refined Lee 7, 3x3 mean, Otsu on |score|),
 * with hysteresis as the decision before the MRF: the one of tests/accuracy's SAR sweep
 * that takes new water (the decrease class) on Bern and Yellow River A to kappa >= 0.85
 * (docs/methods/flood.md); the ratio rule was measured with the same filter */
static const gd_sar_defaults flood_sar_defaults = {
    .speckle_window = 7,
    .smooth_window = 3,
    .decision = GD_SAR_HYSTERESIS,
    .mrf_bias = -1.5,
};

enum { RULE_ADAPTIVE, RULE_RATIO };

typedef struct flood_state {
    gd_sar_setting sar;            /* SAR: filter, score, decision, MRF */
    int rule;                      /* SAR: RULE_* */
    int index;                     /* GD_FLOOD_* */
    gd_flood_aux *aux;             /* slope and permanent-water masks */
    uint8_t *water;                /* water before (bit 0) / after (bit 1) */
} flood_state;

static int flood_configure(gd_job *job, gd_method_run *run, json_t *params)
{
    flood_state *s = calloc(1, sizeof *s);
    if (!s)
        return gd_job_error(job, GD_EPROC, "out of memory");
    run->state = s;
    s->index = -1;
    gd_sar_record_filter(&run->p->sar, params);
    if (run->p->flood.dem) /* only when given: runs without a DEM keep their run ids */
        json_object_set_new(params, "max_slope",
                            json_real(run->p->flood.max_slope >= 0 ? run->p->flood.max_slope : 5.0));
    const char *rule = run->p->flood.rule ? run->p->flood.rule : "adaptive";
    s->rule = strcmp(rule, "ratio") == 0 ? RULE_RATIO : RULE_ADAPTIVE;
    if (s->rule == RULE_ADAPTIVE && strcmp(rule, "adaptive") != 0)
        return gd_job_error(job, GD_EUSAGE, "--flood-rule '%s' is not adaptive or ratio", rule);
    return gd_sar_resolve_decision(job, &run->p->sar, &flood_sar_defaults, &s->sar);
}

static int flood_inputs(gd_job *job, gd_method_run *run)
{
    static const char *const idx_names[] = {"mndwi", "ndwi", "sar-ratio"};
    flood_state *s = run->state;
    int st = gd_flood_bands(job, &run->p->in, run->bs, run->as, run->bidx, run->aidx, &run->nb,
                            &s->index);
    if (st != GD_OK)
        return st;
    json_object_set_new(gd_job_auto(job), "flood_index", json_string(idx_names[s->index]));
    run->sar = run->map_sar = run->score_panels = s->index == GD_FLOOD_SAR;
    if (run->sar) { /* the rule and its decision options are part of the run id */
        json_t *params = gd_job_params(job);
        json_object_set_new(params, "flood_rule",
                            json_string(s->rule == RULE_RATIO ? "ratio" : "adaptive"));
        if (s->rule == RULE_ADAPTIVE)
            gd_sar_record_decision(&run->p->sar, params);
        run->note = s->rule == RULE_RATIO
                        ? "SAR flood: UN-SPIDER ratio rule (after/before < 1/1.25)"
                        : "SAR flood: adaptive log-ratio decision (Otsu, hysteresis, MRF)";
    }
    return gd_flood_aux_load(job, &run->p->flood, run->grid, &s->aux);
}

/* 11 (score, classes, water mask, polygonize buffers) on SAR too, whose filters and water
 * masks stream (detect/sar.c, flood/flood.c); --dem 5 (the float slope and the steep
 * mask), --permanent-water 1 */
static uint64_t flood_bytes(const gd_method_run *run)
{
    return 11u + (run->p->flood.dem ? 5u : 0u) + (run->p->flood.permanent_water ? 1u : 0u);
}

static int flood_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    flood_state *s = run->state;
    if (s->index != GD_FLOOD_SAR)
        return gd_flood_optical(job, run->grid, run->bb, run->ab, out, &s->water);
    int st = gd_detect_sar(job, &s->sar.sp, run->grid, &run->bb[0], &run->ab[0], run->eps, run->panels, out);
    return st != GD_OK ? st
                       : gd_flood_sar_water(job, &s->sar.sp, run->grid, &run->bb[0], &run->ab[0],
                                            run->eps, &s->water);
}

static int flood_threshold(gd_job *job, gd_method_run *run, const gd_score *sc,
                           const gd_threshold_req *req, double *t, const char **mode)
{
    const flood_state *s = run->state;
    if (s->index != GD_FLOOD_SAR || s->rule == RULE_RATIO)
        return gd_flood_threshold(job, sc, s->index, req->fixed, req->ki, t, mode);
    /* adaptive: as logratio, on |score| */
    if (!isnan(req->fixed)) {
        *t = req->fixed;
        *mode = "fixed";
        return GD_OK;
    }
    *mode = req->ki ? "ki" : "otsu";
    return req->ki ? gd_threshold_ki(job, sc, 1, t) : gd_threshold_otsu(job, sc, 1, t);
}

static int flood_classify(gd_job *job, gd_method_run *run, const gd_score *sc, double t,
                          uint8_t **classes)
{
    const flood_state *s = run->state;
    if (s->index == GD_FLOOD_SAR && s->rule == RULE_ADAPTIVE) /* decrease 1, increase 2 */
        return gd_classify(job, sc, t, 1, classes);
    return gd_flood_classify(job, sc, s->water, s->index, t, classes);
}

static int flood_decide(gd_job *job, gd_method_run *run, const gd_score *sc, double t,
                        uint8_t *classes)
{
    const flood_state *s = run->state;
    size_t n = (size_t)run->grid->width * (size_t)run->grid->height;
    if (s->index == GD_FLOOD_SAR && s->rule == RULE_ADAPTIVE) {
        /* the log-ratio's decision on both classes, then new water is the decrease that
         * is not dark on both dates (permanent water, 2); an increase is not flooding */
        int st = gd_sar_decide_mrf(job, &s->sar, sc, t, 1, classes);
        if (st != GD_OK)
            return st;
        for (size_t i = 0; i < n; i++)
            if (classes[i] != 255)
                classes[i] = s->water && s->water[i] == 3 ? 2 : classes[i] == 1 ? 1 : 0;
    }
    return gd_flood_aux_apply(job, s->aux, classes, n);
}

static void flood_release(gd_method_run *run)
{
    flood_state *s = run->state;
    if (s) {
        gd_flood_aux_destroy(s->aux);
        free(s->water);
        free(s);
    }
    run->state = NULL;
}

static const gd_method_ops flood_ops = {
    .configure = flood_configure,
    .inputs = flood_inputs,
    .bytes_per_pixel = flood_bytes,
    .score = flood_score,
    .threshold = flood_threshold,
    .classify = flood_classify,
    .decide = flood_decide,
    .default_mmu_px = FLOOD_MIN_PX,
    .takes_water_masks = 1,
    .release = flood_release,
};

const gd_method gd_method_flood = {
    .name = "flood",
    .summary = "new / permanent water: MNDWI (green, swir1; else NDWI green, nir) > 0 after "
               "and not before plus the index rise (Otsu); SAR (one band): after/before < "
               "1/1.25 (UN-SPIDER)",
    .bands = "green, swir1|nir or sar",
    .roles = {"green", "swir1"}, .sign = 1.0f,
    .class_names = {NULL, "new water", "permanent water"},
    .class_rgb = {NOCOLOUR, BLUE, SKY},
    .ops = &flood_ops,
};
