/* irmad.c: IR-MAD (Nielsen 2007) over all common bands (detect/irmad.c): change where the
 * chi-square p-value of no change is below 0.01. */
#include "colours.h"
#include "common.h"

#include <math.h>

#define IRMAD_MAX_ITER 50
#define IRMAD_P 0.01

/* the statistics come from a subsample and the score streams (detect/irmad.c): what the
 * index methods hold, the score, classes and polygonize buffers (10) */
static uint64_t irmad_bytes(const gd_method_run *run)
{
    (void)run;
    return 10u;
}

static int irmad_score(gd_job *job, gd_method_run *run, gd_score *out)
{
    return gd_detect_irmad(job, run->grid, run->bb, run->ab, run->nb, IRMAD_MAX_ITER, out);
}

/* auto: change where the chi-square p-value of no change is below IRMAD_P */
static int irmad_threshold(gd_job *job, gd_method_run *run, const gd_score *s,
                           const gd_threshold_req *req, double *t, const char **mode)
{
    if (!req->is_auto || req->ki)
        return gd_threshold_pick(job, run->m, s, req, t, mode);
    *mode = "chi2-pvalue";
    return gd_irmad_chi2_quantile((int)run->nb, IRMAD_P, t) == 0
               ? GD_OK
               : gd_job_error(job, GD_EPROC, "no chi-square quantile for %zu bands", run->nb);
}

static const gd_method_ops irmad_ops = {
    .inputs = gd_method_common_bands,
    .bytes_per_pixel = irmad_bytes,
    .score = irmad_score,
    .threshold = irmad_threshold,
};

const gd_method gd_method_irmad = {
    .name = "irmad",
    .summary = "IR-MAD (Nielsen 2007) chi-square over all common bands: change where the "
               "no-change p-value < 0.01",
    .bands = "all common",
    .class_names = {NULL, "change", NULL},
    .class_rgb = {NOCOLOUR, VERMILLION, NOCOLOUR},
    .ops = &irmad_ops,
};
