/* threshold.c: automatic thresholds on the score histogram. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <math.h>
#include <stdlib.h>

#define NBINS 4096

int gd_threshold_otsu(gd_job *job, const gd_score *s, int two_sided, double *t)
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
    /* integer counts: the histogram does not depend on how the score is walked */
    for (int y0 = 0; y0 < s->height; y0 += rows) {
        int nr = s->height - y0 < rows ? s->height - y0 : rows;
        const float *r = gd_score_rows(job, s, y0, nr, buf);
        if (!r) {
            free(bins);
            free(buf);
            return gd_job_status(job);
        }
        gd_k_hist_accumulate(r, (size_t)s->width * (size_t)nr, two_sided, lo, hi, bins, NBINS);
    }
    free(buf);
    int r = gd_k_otsu(bins, NBINS, lo, hi, t);
    free(bins);
    if (r != 0)
        return gd_job_error(job, GD_EINPUT,
                            "Otsu threshold undefined: the score histogram has a single "
                            "populated bin");
    return GD_OK;
}
