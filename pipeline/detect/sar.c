/* sar.c: the SAR log-ratio score with speckle filtering and smoothing of the ratio, and the
 * MRF relabelling of its classes. */
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const speckle_names[] = {"none", "lee", "refined-lee", "gamma-map"};

/* Reads a whole band, then speckle-filters it in place through tmp; records cu2. */
static int read_filtered(gd_job *job, const gd_sar_params *sp, const gd_band *b, int w, int h,
                         float *buf, float *tmp, const char *label, json_t *rec)
{
    int st = gd_band_read(job, b, w, 0, h, buf);
    if (st != GD_OK || sp->speckle == GD_SPECKLE_NONE)
        return st;
    float cu2 = gd_k_speckle_cu2(buf, w, h, sp->speckle_window);
    if (!(cu2 > 0.0f)) {
        /* no homogeneous window to learn from: a nominal single-look amplitude level */
        cu2 = 0.2732f;
        gd_job_warn(job, "%s image: speckle level not measurable, using single-look %g", label,
                    cu2);
    }
    json_object_set_new(rec, label, json_real(cu2));
    gd_k_speckle((gd_speckle)sp->speckle, buf, w, h, sp->speckle_window, cu2, 0, h, tmp);
    memcpy(buf, tmp, sizeof(float) * (size_t)w * (size_t)h);
    return GD_OK;
}

int gd_detect_sar(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                  const gd_band *before, const gd_band *after, float eps, gd_score *out)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height;
    size_t n = (size_t)w * (size_t)h;
    float *bb = malloc(sizeof(float) * n), *ab = malloc(sizeof(float) * n);
    float *tmp = malloc(sizeof(float) * n);
    json_t *cu2 = json_object();
    gd_score_alloc(out, w, h);
    if (!bb || !ab || !tmp || !out->data) {
        st = gd_job_error(job, GD_EPROC, "out of memory for a %dx%d SAR pair", w, h);
        goto done;
    }
    if ((st = read_filtered(job, sp, before, w, h, bb, tmp, "before", cu2)) != GD_OK)
        goto done;
    if (gd_job_progress(job, 0.4) != GD_OK) {
        st = gd_job_error(job, GD_ECANCEL, "cancelled");
        goto done;
    }
    if ((st = read_filtered(job, sp, after, w, h, ab, tmp, "after", cu2)) != GD_OK)
        goto done;
    if (gd_job_progress(job, 0.8) != GD_OK) {
        st = gd_job_error(job, GD_ECANCEL, "cancelled");
        goto done;
    }
    /* the score: log-ratio or neighbourhood ratio, then the optional mean */
    float *raw = sp->smooth_window > 1 ? tmp : out->data;
    if (sp->nr_window > 1)
        gd_k_nratio(bb, ab, w, h, sp->nr_window, eps, raw);
    else
        gd_k_logratio(bb, ab, eps, raw, n);
    if (sp->smooth_window > 1)
        gd_k_box_mean(tmp, w, h, sp->smooth_window, 0, h, out->data);
    out->valid = gd_k_minmax(out->data, n, &out->min, &out->max);
    json_object_set_new(gd_job_auto(job), "sar",
                        json_pack("{s:s, s:i, s:o, s:s, s:i, s:i}", "speckle",
                                  speckle_names[sp->speckle], "speckle_window",
                                  sp->speckle_window, "speckle_cu2", cu2, "score",
                                  sp->nr_window > 1 ? "nr" : "ratio", "nr_window",
                                  sp->nr_window > 1 ? sp->nr_window : 0, "smooth_window",
                                  sp->smooth_window > 1 ? sp->smooth_window : 1));
    cu2 = NULL;
    if (out->valid == 0)
        st = gd_job_error(job, GD_EINPUT,
                          "no valid pixel where both dates have data (all nodata, or the "
                          "overlap is empty)");
    gd_job_progress(job, 1.0);
done:
    json_decref(cu2);
    free(bb);
    free(ab);
    free(tmp);
    if (st != GD_OK)
        gd_score_free(out);
    return st;
}

#define FLICM_MAX_ITER 100
#define FLICM_TOL 1e-3

int gd_sar_decide(gd_job *job, int decision, double low, const gd_score *s, double t,
                  int two_sided, uint8_t *classes)
{
    json_t *rec = NULL;
    if (decision == GD_SAR_THRESHOLD) {
        json_object_set_new(gd_job_auto(job), "sar_decision",
                            json_pack("{s:s}", "mode", "threshold"));
        return GD_OK;
    }
    if (!s->data)
        return gd_job_error(job, GD_EPROC, "the SAR decision needs the score in memory");
    size_t n = (size_t)s->width * (size_t)s->height;
    uint8_t *lab = malloc(n);
    if (!lab)
        return gd_job_error(job, GD_EPROC, "out of memory for the SAR decision");
    int st = GD_OK;
    if (decision == GD_SAR_HYSTERESIS) {
        size_t *stack = malloc(sizeof(size_t) * n);
        if (!stack) {
            st = gd_job_error(job, GD_EPROC, "out of memory for the hysteresis");
            goto done;
        }
        size_t grown = gd_k_hysteresis(s->data, s->width, s->height, two_sided, low * t, t,
                                       lab, stack);
        free(stack);
        gd_job_say(job, "hysteresis: %zu pixels grown from the change above %g into %g", grown,
                   t, low * t);
        rec = json_pack("{s:s, s:f, s:f, s:f, s:I}", "mode", "hysteresis", "low_fraction", low,
                        "high", t, "low", low * t, "grown", (json_int_t)grown);
    } else {
        double mu[2], sigma;
        float *u1 = malloc(sizeof(float) * n), *tmp = malloc(sizeof(float) * n);
        int it = -1;
        if (u1 && tmp && gd_k_split_stats(s->data, n, two_sided, t, mu, &sigma) == 0) {
            double v[2] = {mu[0], mu[1]};
            it = gd_k_flicm(s->data, s->width, s->height, two_sided, v, FLICM_MAX_ITER,
                            FLICM_TOL, u1, tmp, lab);
            if (it >= 0) {
                gd_job_say(job, "FLICM: centres %.4g / %.4g after %d sweeps", v[0], v[1], it);
                rec = json_pack("{s:s, s:f, s:f, s:f, s:f, s:i, s:i, s:f, s:i}", "mode",
                                "flicm", "init_no_change", mu[0], "init_change", mu[1],
                                "centre_no_change", v[0], "centre_change", v[1], "iterations",
                                it, "max_iterations", FLICM_MAX_ITER, "tolerance", FLICM_TOL,
                                "fuzzifier", 2);
            }
        }
        free(u1);
        free(tmp);
        if (it < 0) {
            /* one class empty: nothing to cluster, the threshold's classes stay */
            gd_job_warn(job, "FLICM skipped: the threshold %g leaves one class empty", t);
            json_object_set_new(gd_job_auto(job), "sar_decision",
                                json_pack("{s:s, s:b}", "mode", "flicm", "skipped", 1));
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (lab[i] != 255)
            classes[i] = lab[i] == 0 ? 0 : !two_sided ? 1 : s->data[i] < 0.0f ? 1 : 2;
    json_object_set_new(gd_job_auto(job), "sar_decision", rec);
done:
    free(lab);
    return st;
}

/* ICM stops long before this on the SAR pairs (2 to 20 sweeps); a cap keeps the time
 * bounded on an image that oscillates */
#define MRF_MAX_ITER 30

int gd_sar_mrf(gd_job *job, double beta, double bias, const gd_score *s, double t, int two_sided,
               uint8_t *classes)
{
    if (!(beta > 0.0)) {
        json_object_set_new(gd_job_auto(job), "mrf", json_pack("{s:f}", "beta", 0.0));
        return GD_OK;
    }
    if (!s->data)
        return gd_job_error(job, GD_EPROC, "the MRF needs the score in memory");
    size_t n = (size_t)s->width * (size_t)s->height;
    double mu[2], sigma;
    /* class statistics of the threshold's split (|score| when two-sided) */
    if (gd_k_split_stats(s->data, n, two_sided, t, mu, &sigma) != 0) {
        gd_job_warn(job, "MRF skipped: the threshold %g leaves one class empty or without "
                         "spread", t);
        json_object_set_new(gd_job_auto(job), "mrf",
                            json_pack("{s:f, s:b}", "beta", beta, "skipped", 1));
        return GD_OK;
    }
    uint8_t *lab = malloc(n);
    if (!lab)
        return gd_job_error(job, GD_EPROC, "out of memory for the MRF labels");
    for (size_t i = 0; i < n; i++)
        lab[i] = classes[i] == 255 ? 255 : classes[i] != 0;
    size_t flips = 0;
    int it = gd_k_icm_potts_bias(s->data, s->width, s->height, two_sided, mu, sigma, beta,
                                 bias, MRF_MAX_ITER, lab, &flips);
    if (it < 0) {
        free(lab);
        return gd_job_error(job, GD_EPROC, "MRF: invalid model (sigma %g, beta %g)", sigma,
                            beta);
    }
    for (size_t i = 0; i < n; i++) {
        if (lab[i] == 255)
            continue;
        /* two-sided: the side of a pixel the MRF made change is its score's sign */
        classes[i] = lab[i] == 0 ? 0 : !two_sided ? 1 : s->data[i] < 0.0f ? 1 : 2;
    }
    free(lab);
    gd_job_say(job, "MRF (beta %g): class means %.4g / %.4g, sigma %.4g; %zu pixels "
                    "relabelled in %d ICM sweeps", beta, mu[0], mu[1], sigma, flips, it);
    json_object_set_new(gd_job_auto(job), "mrf",
                        json_pack("{s:f, s:f, s:s, s:f, s:f, s:f, s:b, s:i, s:i, s:I}", "beta",
                                  beta, "bias", bias,
                                  "model", "homoscedastic gaussian from the threshold split",
                                  "mean_no_change", mu[0], "mean_change", mu[1], "sigma", sigma,
                                  "on_abs_score", two_sided, "iterations", it,
                                  "max_iterations", MRF_MAX_ITER, "relabelled",
                                  (json_int_t)flips));
    return GD_OK;
}
