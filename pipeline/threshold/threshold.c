/* threshold.c: automatic thresholds on the score histogram. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <math.h>
#include <stdlib.h>

#define NBINS 4096
/* the minimum-error criterion needs populated bins to estimate class variances */
#define KI_BINS 256

static int hist_threshold(gd_job *job, const gd_score *s, int two_sided, int ki, double *t)
{
    double lo = two_sided ? 0.0 : s->min;
    double hi = two_sided ? fmax(fabs(s->min), fabs(s->max)) : s->max;
    if (!(hi > lo))
        return gd_job_error(job, GD_EINPUT,
                            "the change score is constant (%g) over all %zu valid pixels: "
                            "the threshold is undefined (hint: are both dates the same "
                            "image, or is a band empty?)", lo, s->valid);
    uint64_t *bins = calloc(NBINS, sizeof *bins);
    int rows = gd_score_strip_rows(s);
    float *buf = s->data ? NULL : malloc(sizeof(float) * (size_t)s->width * (size_t)rows);
    if (!bins || (!s->data && !buf)) {
        free(bins);
        free(buf);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    const int nbins = ki ? KI_BINS : NBINS;
    /* integer counts: the histogram does not depend on how the score is walked */
    for (int y0 = 0; y0 < s->height; y0 += rows) {
        int nr = s->height - y0 < rows ? s->height - y0 : rows;
        const float *r = gd_score_rows(job, s, y0, nr, buf);
        if (!r) {
            free(bins);
            free(buf);
            return gd_job_status(job);
        }
        gd_k_hist_accumulate(r, (size_t)s->width * (size_t)nr, two_sided, lo, hi, bins, nbins);
    }
    free(buf);
    int r = ki ? gd_k_kittler(bins, KI_BINS, lo, hi, t) : gd_k_otsu(bins, NBINS, lo, hi, t);
    free(bins);
    if (r != 0)
        return gd_job_error(job, GD_EINPUT,
                            "%s threshold undefined: the score histogram has a single "
                            "populated bin", ki ? "Kittler-Illingworth" : "Otsu");
    return GD_OK;
}

int gd_threshold_otsu(gd_job *job, const gd_score *s, int two_sided, double *t)
{
    return hist_threshold(job, s, two_sided, 0, t);
}

int gd_threshold_ki(gd_job *job, const gd_score *s, int two_sided, double *t)
{
    return hist_threshold(job, s, two_sided, 1, t);
}
