/* threshold.c: automatic thresholds on the score histogram. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NBINS 4096
/* the minimum-error criterion needs populated bins to estimate class variances */
#define KI_BINS 256

/* One pass of the engine's pool over the score: each strip counts into its own slot of
 * per-strip histograms, added up afterwards (integer counts: the same histogram for any
 * number of threads or strips). */
typedef struct hist_pass {
    int two_sided;
    double lo, hi;
    int nbins;
    uint64_t *bins; /* nstrips * nbins */
} hist_pass;

static int hist_strip(void *user, const gd_strip *s)
{
    const hist_pass *h = user;
    const float *r = s->before[0] + (size_t)(s->y0 - s->in_y0) * (size_t)s->width;
    gd_k_hist_accumulate(r, (size_t)s->width * (size_t)s->rows, h->two_sided, h->lo, h->hi,
                         h->bins + (size_t)s->index * (size_t)h->nbins, h->nbins);
    return 0;
}

static int hist_threshold(gd_job *job, const gd_score *s, int two_sided, int ki, double *t)
{
    double lo = two_sided ? 0.0 : s->min;
    double hi = two_sided ? fmax(fabs(s->min), fabs(s->max)) : s->max;
    if (!(hi > lo))
        return gd_job_error(job, GD_EINPUT,
                            "the change score is constant (%g) over all %zu valid pixels: "
                            "the threshold is undefined (hint: are both dates the same "
                            "image, or is a band empty?)", lo, s->valid);
    const int nbins = ki ? KI_BINS : NBINS;
    gd_grid g = {.width = s->width, .height = s->height};
    hist_pass h = {.two_sided = two_sided, .lo = lo, .hi = hi, .nbins = nbins};
    gd_engine_spec spec = {.grid = &g, .nb = 1, .fn = hist_strip, .user = &h, .src = s};
    int nstrips = gd_engine_strips(&spec, NULL);
    uint64_t *bins = calloc((size_t)nbins, sizeof *bins);
    h.bins = calloc((size_t)nstrips * (size_t)nbins, sizeof *h.bins);
    if (!bins || !h.bins) {
        free(bins);
        free(h.bins);
        return gd_job_error(job, GD_EPROC, "out of memory for the score histogram");
    }
    int st = gd_engine_run(job, &spec);
    if (st == GD_OK)
        for (int k = 0; k < nstrips; k++)
            for (int b = 0; b < nbins; b++)
                bins[b] += h.bins[(size_t)k * (size_t)nbins + (size_t)b];
    free(h.bins);
    if (st != GD_OK) {
        free(bins);
        return st;
    }
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
