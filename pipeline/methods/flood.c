/* flood.c: new / permanent water (flood/flood.c): optical by MNDWI (else NDWI) rise and
 * water after and not before; SAR by the UN-SPIDER ratio rule; --dem slope and
 * --permanent-water masks (flood/masks.c). */
#include "colours.h"
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FLOOD_MIN_PX 8 /* UN-SPIDER: drop patches of fewer than 8 connected px */

static const gd_sar_defaults flood_sar_defaults = {
    .speckle_window = 7,           /* the SAR ratio rule was measured with 7 */
    .smooth_window = 3,
    .decision = GD_SAR_THRESHOLD,
};

typedef struct flood_state {
    gd_sar_params sp;
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
    gd_sar_record_filter(run->p, params);
    if (run->p->dem) /* only when given: runs without a DEM keep their run ids */
        json_object_set_new(params, "max_slope",
                            json_real(run->p->max_slope >= 0 ? run->p->max_slope : 5.0));
    return gd_sar_resolve(job, run->p, &flood_sar_defaults, &s->sp);
}

static int flood_inputs(gd_job *job, gd_method_run *run)
{
    static const char *const idx_names[] = {"mndwi", "ndwi", "sar-ratio"};
    flood_state *s = run->state;
    int st = gd_flood_bands(job, run->p, run->bs, run->as, run->bidx, run->aidx, &run->nb,
                            &s->index);
    if (st != GD_OK)
        return st;
    json_object_set_new(gd_job_auto(job), "flood_index", json_string(idx_names[s->index]));
    run->sar = run->map_sar = s->index == GD_FLOOD_SAR;
    return gd_flood_aux_load(job, run->p, run->grid, &s->aux);
}

/* 11 (score, classes, water mask, polygonize buffers) on SAR too, whose filters and water
 * masks stream (detect/sar.c, flood/flood.c); --dem 5 (the float slope and the steep
 * mask), --permanent-water 1 */
static uint64_t flood_bytes(const gd_method_run *run)
{
    return 11u + (run->p->dem ? 5u : 0u) + (run->p->permanent_water ? 1u : 0u);
}

static int flood_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    flood_state *s = run->state;
    if (s->index != GD_FLOOD_SAR)
        return gd_flood_optical(job, run->grid, run->bb, run->ab, out, &s->water);
    int st = gd_detect_sar(job, &s->sp, run->grid, &run->bb[0], &run->ab[0], run->eps, out);
    return st != GD_OK ? st
                       : gd_flood_sar_water(job, &s->sp, run->grid, &run->bb[0], &run->ab[0],
                                            run->eps, &s->water);
}

static int flood_threshold(gd_job *job, gd_method_run *run, const gd_score *sc,
                           const gd_threshold_req *req, double *t, const char **mode)
{
    const flood_state *s = run->state;
    return gd_flood_threshold(job, sc, s->index, req->fixed, req->ki, t, mode);
}

static int flood_classify(gd_job *job, gd_method_run *run, const gd_score *sc, double t,
                          uint8_t **classes)
{
    const flood_state *s = run->state;
    return gd_flood_classify(job, sc, s->water, s->index, t, classes);
}

static int flood_decide(gd_job *job, gd_method_run *run, const gd_score *sc, double t,
                        uint8_t *classes)
{
    (void)sc, (void)t;
    const flood_state *s = run->state;
    return gd_flood_aux_apply(job, s->aux, classes,
                              (size_t)run->grid->width * (size_t)run->grid->height);
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
