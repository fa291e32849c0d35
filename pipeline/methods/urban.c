/* urban.c: built-up change (detect/urban.c): after normalised to before on invariant
 * pixels, change vector of blue, green, red, nir (+ swir1, swir2), Kittler-Illingworth. */
#include "colours.h"
#include "common.h"

#include "geodelta/urban.h"

#include <jansson.h>
#include <stdlib.h>

typedef struct urban_state {
    const char *names[6];          /* band roles in bidx/aidx order */
    int smooth;
    double seed;                   /* object decision: peak >= seed x threshold; 0: off */
    long object_px;                /* and at least this many pixels */
} urban_state;

static int urban_configure(gd_job *job, gd_method_run *run, json_t *params)
{
    urban_state *s = calloc(1, sizeof *s);
    if (!s)
        return gd_job_error(job, GD_EPROC, "out of memory");
    run->state = s;
    /* < 0: the default, resolved on the grid's pixel size (urban_resolve) */
    s->smooth = run->p->sar.smooth_window;
    json_object_set_new(params, "smooth", run->p->sar.smooth_window >= 0
                                              ? json_integer(run->p->sar.smooth_window)
                                              : json_null());
    s->seed = run->p->decide.urban_seed;
    s->object_px = run->p->decide.urban_object_px >= 0 ? run->p->decide.urban_object_px : GD_URBAN_OBJECT_PX;
    /* only when given, so that runs with the defaults keep their run ids */
    if (run->p->decide.urban_seed >= 0)
        json_object_set_new(params, "urban_seed", json_real(run->p->decide.urban_seed));
    if (run->p->decide.urban_object_px >= 0)
        json_object_set_new(params, "urban_object_px", json_integer(run->p->decide.urban_object_px));
    return GD_OK;
}

static int urban_inputs(gd_job *job, gd_method_run *run)
{
    urban_state *s = run->state;
    return gd_urban_bands(job, &run->p->in, run->bs, run->as, run->bidx, run->aidx, s->names,
                          &run->nb);
}

/* the statistics come from ordered passes over the engine's strips and the score streams
 * (detect/urban.c): what the index methods hold, the score, classes and polygonize
 * buffers (10). The object decision adds two rows of labels and 17 bytes per region
 * label, not per pixel. */
static uint64_t urban_bytes(const gd_method_run *run)
{
    (void)run;
    return 10u;
}

/* The defaults of the mean and of the object decision were chosen on Sentinel-2's 10 m
 * pixels (OSCD); on pixels of GD_URBAN_COARSE_M2 or more (Landsat's 30 m) both lowered the
 * Landsat benchmarks (Taizhou kappa 0.958 -> 0.856, Nanjing 0.704 -> 0.603), so there the
 * defaults stay the pixel decision without a mean. Pixel grids without CRS count as fine. */
static void urban_resolve(gd_job *job, gd_method_run *run)
{
    urban_state *s = run->state;
    double a = gd_grid_pixel_area(run->grid, run->grid->height / 2);
    int coarse = a >= GD_URBAN_COARSE_M2;
    if (s->smooth < 0)
        s->smooth = coarse ? 0 : GD_URBAN_SMOOTH;
    if (s->seed < 0)
        s->seed = coarse ? 0.0 : GD_URBAN_SEED_FACTOR;
    json_object_set_new(gd_job_auto(job), "urban_defaults",
                        json_pack("{s:s, s:f, s:i, s:f, s:I}", "pixels",
                                  coarse ? "coarse" : "fine", "pixel_area_m2", a > 0 ? a : 0.0,
                                  "smooth", s->smooth, "seed_factor", s->seed, "object_px",
                                  (json_int_t)s->object_px));
}

/* the object decision (gd_urban_objects); off with --urban-seed 0 */
static int urban_decide(gd_job *job, gd_method_run *run, const gd_score *s, double t,
                        uint8_t *classes)
{
    const urban_state *st = run->state;
    if (!(st->seed > 0))
        return GD_OK;
    return gd_urban_objects(job, s, t, st->seed, st->object_px, classes);
}

static int urban_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    const urban_state *s = run->state;
    urban_resolve(job, run);
    return gd_detect_urban(job, run->grid, run->bb, run->ab, s->names, run->nb, s->smooth, out);
}

static const gd_method_ops urban_ops = {
    .configure = urban_configure,
    .inputs = urban_inputs,
    .bytes_per_pixel = urban_bytes,
    .score = urban_score,
    .auto_ki = 1, /* Kittler-Illingworth (docs/methods/urban.md, OSCD) */
    .decide = urban_decide,
    .release = gd_method_free_state,
};

const gd_method gd_method_urban = {
    .name = "urban",
    .summary = "built-up change (new construction / demolition): after normalised to before "
               "on invariant pixels, change vector of blue, green, red, nir (+ swir1, swir2), "
               "Kittler-Illingworth",
    .bands = "b g r n s1 s2",
    .class_names = {NULL, "change", NULL},
    .class_rgb = {NOCOLOUR, VERMILLION, NOCOLOUR},
    .ops = &urban_ops,
};
