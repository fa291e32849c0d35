/* pcakmeans.c: PCA-kmeans (Celik 2009) on the SAR log-ratio of one band
 * (detect/pcakmeans.c), then the MRF. */
#include "colours.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define PCA_BLOCK 3

static const gd_sar_defaults pcakmeans_defaults = {
    .speckle_window = 9,           /* refined Lee 9 (with the MRF: sweep_sar.sh) */
    .smooth_window = 0,            /* the blocks already average */
    .decision = GD_SAR_THRESHOLD,
    .mrf_bias = 0.0,
};

typedef struct pca_state {
    gd_sar_setting sar;
    int block;
} pca_state;

static int pca_configure(gd_job *job, gd_method_run *run, json_t *params)
{
    pca_state *s = calloc(1, sizeof *s);
    if (!s)
        return gd_job_error(job, GD_EPROC, "out of memory");
    run->state = s;
    s->block = run->p->sar.pca_block > 0 ? run->p->sar.pca_block : PCA_BLOCK;
    gd_sar_record_filter(&run->p->sar, params);
    gd_sar_record_decision(&run->p->sar, params);
    json_object_set_new(params, "pca_block",
                        run->p->sar.pca_block > 0 ? json_integer(run->p->sar.pca_block) : json_null());
    return gd_sar_resolve_decision(job, &run->p->sar, &pcakmeans_defaults, &s->sar);
}

/* the SAR score and PCA-kmeans stream (detect/pcakmeans.c): what logratio holds (10) and
 * the first score while the second is made (4); the k-means sample is bounded apart */
static uint64_t pca_bytes(const gd_method_run *run)
{
    (void)run;
    return 14u;
}

static int pca_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    const pca_state *s = run->state;
    int st = gd_detect_sar(job, &s->sar.sp, run->grid, &run->bb[0], &run->ab[0], run->eps, run->panels, out);
    return st != GD_OK ? st : gd_detect_pcakmeans(job, run->grid, s->block, out);
}

/* auto: the score is the difference of the distances to the k-means centres */
static int pca_threshold(gd_job *job, gd_method_run *run, const gd_score *s,
                         const gd_threshold_req *req, double *t, const char **mode)
{
    if (!req->is_auto || req->ki)
        return gd_threshold_pick(job, run->m, s, req, t, mode);
    *mode = "kmeans";
    *t = 0.0;
    return GD_OK;
}

static int pca_decide(gd_job *job, gd_method_run *run, const gd_score *score, double t,
                      uint8_t *classes)
{
    const pca_state *s = run->state;
    return gd_sar_decide_mrf(job, &s->sar, score, t, run->m->two_sided, classes);
}

static const gd_method_ops pcakmeans_ops = {
    .configure = pca_configure,
    .inputs = gd_sar_inputs,
    .bytes_per_pixel = pca_bytes,
    .score = pca_score,
    .threshold = pca_threshold,
    .decide = pca_decide,
    .release = gd_method_free_state,
};

const gd_method gd_method_pcakmeans = {
    .name = "pcakmeans",
    .summary = "PCA-kmeans (Celik 2009) on the SAR log-ratio of one band (sar, else band 1): "
               "change",
    .bands = "sar (or 1)",
    .roles = {"sar", NULL}, .sign = 1.0f,
    .class_names = {NULL, "change", NULL},
    .class_rgb = {NOCOLOUR, VERMILLION, NOCOLOUR},
    .ops = &pcakmeans_ops,
};
