/* cva.c: change-vector magnitude over all common bands, each scaled by its spread. */
#include "colours.h"
#include "common.h"

#include <gd_kernels.h>
#include <math.h>
#include <stdlib.h>

static uint64_t cva_bytes(const gd_method_run *run)
{
    (void)run;
    return 10u;
}

/* On the engine's worker threads; the weights are run->state. */
static int cva_strip(void *user, const gd_strip *s)
{
    const gd_method_run *run = user;
    size_t off = (size_t)(s->y0 - s->in_y0) * (size_t)s->width;
    size_t n = (size_t)s->width * (size_t)s->rows;
    const float *b[GD_METHOD_MAX_BANDS], *a[GD_METHOD_MAX_BANDS];
    for (size_t k = 0; k < s->nb && k < GD_METHOD_MAX_BANDS; k++) {
        b[k] = s->before[k] + off;
        a[k] = s->after[k] + off;
    }
    gd_k_cva(b, a, run->state, s->nb, s->out, n);
    gd_method_inf_to_nan(s->out, n);
    return GD_OK;
}

/* Each band scaled by its spread so that no band dominates by its units. */
static int cva_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    float *w = calloc(run->nb, sizeof *w);
    json_t *wj = json_array();
    int st = GD_OK;
    if (!w || !wj) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < run->nb; k++) {
        double mean, sd = NAN;
        /* our own sample (<= 1 Mpx, decimated read), not GDALComputeRasterStatistics:
         * that one writes the statistics into an .aux.xml beside the input (inputs are
         * evidence and may be read-only), counts +-Inf pixels and overflows near
         * FLT_MAX */
        if ((st = gd_band_finite_stats(job, &run->bb[k], &mean, &sd)) != GD_OK)
            goto done;
        if (!(sd > 0) || !isfinite(1.0 / sd)) {
            gd_job_warn(job, "band %d of the before image is constant: left out of CVA",
                        run->bidx[k]);
            w[k] = 0.0f;
        } else {
            w[k] = (float)(1.0 / sd);
        }
        json_array_append_new(wj, json_real(w[k]));
    }
    json_object_set_new(gd_job_auto(job), "cva_weights", wj);
    wj = NULL;
    run->state = w;
    st = gd_method_stream(job, run, out);
    run->state = NULL;
done:
    json_decref(wj);
    free(w);
    return st;
}

static const gd_method_ops cva_ops = {
    .inputs = gd_method_common_bands,
    .bytes_per_pixel = cva_bytes,
    .score_strip = cva_strip,
    .score = cva_score,
};

const gd_method gd_method_cva = {
    .name = "cva",
    .summary = "change-vector magnitude over all common bands, each scaled by its spread",
    .bands = "all common",
    .class_names = {NULL, "change", NULL},
    .class_rgb = {NOCOLOUR, VERMILLION, NOCOLOUR},
    .ops = &cva_ops,
};
