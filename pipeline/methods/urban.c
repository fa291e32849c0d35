/* urban.c: built-up change (detect/urban.c): after normalised to before on invariant
 * pixels, change vector of blue, green, red, nir (+ swir1, swir2), Kittler-Illingworth. */
#include "colours.h"
#include "common.h"

#include "geodelta/urban.h"

#include <stdlib.h>

typedef struct urban_state {
    const char *names[6];          /* band roles in bidx/aidx order */
    int smooth;
} urban_state;

static int urban_configure(gd_job *job, gd_method_run *run, json_t *params)
{
    urban_state *s = calloc(1, sizeof *s);
    if (!s)
        return gd_job_error(job, GD_EPROC, "out of memory");
    run->state = s;
    s->smooth = run->p->sar.smooth_window >= 0 ? run->p->sar.smooth_window : GD_URBAN_SMOOTH;
    json_object_set_new(params, "smooth", run->p->sar.smooth_window >= 0
                                              ? json_integer(run->p->sar.smooth_window)
                                              : json_null());
    return GD_OK;
}

static int urban_inputs(gd_job *job, gd_method_run *run)
{
    urban_state *s = run->state;
    return gd_urban_bands(job, &run->p->in, run->bs, run->as, run->bidx, run->aidx, s->names,
                          &run->nb);
}

/* both dates, the change and the score */
static uint64_t urban_bytes(const gd_method_run *run)
{
    return 8u * (uint64_t)run->nb + 14u;
}

static int urban_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    const urban_state *s = run->state;
    return gd_detect_urban(job, run->grid, run->bb, run->ab, s->names, run->nb, s->smooth, out);
}

static const gd_method_ops urban_ops = {
    .configure = urban_configure,
    .inputs = urban_inputs,
    .bytes_per_pixel = urban_bytes,
    .score = urban_score,
    .auto_ki = 1, /* Kittler-Illingworth (docs/methods/urban.md, OSCD) */
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
