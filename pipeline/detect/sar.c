/* sar.c: the SAR log-ratio score with speckle filtering and smoothing of the ratio, and the
 * MRF relabelling of its classes. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const speckle_names[] = {"none", "lee", "refined-lee", "gamma-map"};

/* ---- the speckle level: a first pass over both dates ----
 * gd_k_speckle_cu2's median over disjoint step x step windows, streamed: each strip
 * collects the windows whose top row is one of its own rows (the halo below holds the
 * rest of them) into its slot; the median of all slots is the whole-image value, exactly,
 * whatever the strips and the thread count. */
typedef struct cu2_pass {
    int win, step;
    float *vals[2];     /* per date: nstrips slots of cap floats each */
    size_t *nvals[2];   /* per date and strip: values in the slot */
    size_t cap;
} cu2_pass;

static int cu2_strip(void *user, const gd_strip *s)
{
    cu2_pass *c = user;
    int first = (s->y0 + c->step - 1) / c->step * c->step;
    for (int d = 0; d < 2; d++) {
        const float *in = d ? s->after[0] : s->before[0];
        float *v = c->vals[d] + (size_t)s->index * c->cap;
        size_t n = 0;
        for (int t = first; t < s->y0 + s->rows && t + c->step <= s->in_y0 + s->in_rows;
             t += c->step)
            n += gd_k_speckle_cu2_windows(in + (size_t)(t - s->in_y0) * (size_t)s->width,
                                          s->width, c->win, v + n);
        c->nvals[d][s->index] = n;
    }
    return GD_OK;
}

/* cu2[0..1] of the before and after images (NaN where no window qualifies). */
static int speckle_levels(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                          const gd_band *before, const gd_band *after, float cu2[2])
{
    int st = GD_OK;
    cu2_pass c = {.win = sp->speckle_window};
    c.step = 2 * (c.win / 2 > 0 ? c.win / 2 : 1) + 1;
    gd_engine_spec spec = {.grid = grid, .before = before, .after = after, .nb = 1,
                           .halo = c.step - 1, .fn = cu2_strip, .user = &c};
    int rows = 0, nstrips = gd_engine_strips(&spec, &rows);
    c.cap = (size_t)((rows + c.step - 1) / c.step) * (size_t)(grid->width / c.step + 1);
    for (int d = 0; d < 2; d++) {
        c.vals[d] = malloc(sizeof(float) * c.cap * (size_t)nstrips);
        c.nvals[d] = calloc((size_t)nstrips, sizeof(size_t));
        if (!c.vals[d] || !c.nvals[d]) {
            st = gd_job_error(job, GD_EPROC, "out of memory for the speckle level");
            goto done;
        }
    }
    if ((st = gd_engine_run(job, &spec)) != GD_OK)
        goto done;
    for (int d = 0; d < 2; d++) {
        /* the slots packed in strip order, then the median (order-free anyway) */
        size_t n = 0;
        for (int k = 0; k < nstrips; k++) {
            memmove(c.vals[d] + n, c.vals[d] + (size_t)k * c.cap,
                    sizeof(float) * c.nvals[d][k]);
            n += c.nvals[d][k];
        }
        cu2[d] = gd_k_speckle_cu2_median(c.vals[d], n);
    }
done:
    for (int d = 0; d < 2; d++) {
        free(c.vals[d]);
        free(c.nvals[d]);
    }
    return st;
}

/* ---- the score: one streamed pass ----
 * Per strip: speckle filter of both dates, the ratio, the box mean. The strip is read
 * with a halo of speckle_window/2 + (nr_window/2) + smooth_window/2 rows, so every
 * window of every step sees what it sees in the whole image: the score is bit for bit
 * the whole-image one. */
typedef struct sar_pass {
    const gd_sar_params *sp;
    float cu2[2], eps;
    int hm;             /* rows of filtered values needed around the strip */
} sar_pass;

typedef struct sar_state {
    float *f[2];        /* filtered dates */
    float *r;           /* the raw ratio */
} sar_state;

static void sar_stop(void *user, void *state)
{
    (void)user;
    sar_state *t = state;
    if (!t)
        return;
    free(t->f[0]);
    free(t->f[1]);
    free(t->r);
    free(t);
}

static void *sar_start(void *user, int width, int max_in_rows)
{
    (void)user;
    size_t n = (size_t)width * (size_t)max_in_rows;
    sar_state *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->f[0] = malloc(sizeof(float) * n);
    t->f[1] = malloc(sizeof(float) * n);
    t->r = malloc(sizeof(float) * n);
    if (!t->f[0] || !t->f[1] || !t->r) {
        sar_stop(user, t);
        return NULL;
    }
    return t;
}

static int sar_generate(void *user, void *state, const gd_strip *s)
{
    const sar_pass *c = user;
    const gd_sar_params *sp = c->sp;
    sar_state *t = state;
    const int w = s->width, in_end = s->in_y0 + s->in_rows;
    /* grid rows [f0, f1) are filtered: the strip and hm rows around it */
    int f0 = s->y0 - c->hm > s->in_y0 ? s->y0 - c->hm : s->in_y0;
    int f1 = s->y0 + s->rows + c->hm < in_end ? s->y0 + s->rows + c->hm : in_end;
    const int fr = f1 - f0;
    const float *f[2];
    for (int d = 0; d < 2; d++) {
        const float *in = d ? s->after[0] : s->before[0];
        if (sp->speckle == GD_SPECKLE_NONE) {
            f[d] = in + (size_t)(f0 - s->in_y0) * (size_t)w;
            continue;
        }
        gd_k_speckle((gd_speckle)sp->speckle, in, w, s->in_rows, sp->speckle_window,
                     c->cu2[d], f0 - s->in_y0, f1 - s->in_y0, t->f[d]);
        f[d] = t->f[d];
    }
    if (sp->nr_window > 1)
        gd_k_nratio(f[0], f[1], w, fr, sp->nr_window, c->eps, t->r);
    else
        gd_k_logratio(f[0], f[1], c->eps, t->r, (size_t)w * (size_t)fr);
    if (sp->smooth_window > 1)
        gd_k_box_mean(t->r, w, fr, sp->smooth_window, s->y0 - f0, s->y0 - f0 + s->rows, s->out);
    else
        memcpy(s->out, t->r + (size_t)(s->y0 - f0) * (size_t)w,
               sizeof(float) * (size_t)w * (size_t)s->rows);
    return GD_OK;
}

int gd_detect_sar(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                  const gd_band *before, const gd_band *after, float eps, gd_score *out)
{
    int st = GD_OK;
    json_t *cu2 = json_object();
    sar_pass c = {.sp = sp, .eps = eps};
    memset(out, 0, sizeof *out);
    if (!cu2)
        return gd_job_error(job, GD_EPROC, "out of memory");
    if (sp->speckle != GD_SPECKLE_NONE) {
        if ((st = speckle_levels(job, sp, grid, before, after, c.cu2)) != GD_OK)
            goto done;
        static const char *const label[2] = {"before", "after"};
        for (int d = 0; d < 2; d++) {
            if (!(c.cu2[d] > 0.0f)) {
                /* no homogeneous window to learn from: a nominal single-look amplitude level */
                c.cu2[d] = 0.2732f;
                gd_job_warn(job, "%s image: speckle level not measurable, using single-look %g",
                            label[d], c.cu2[d]);
            }
            json_object_set_new(cu2, label[d], json_real(c.cu2[d]));
        }
    }
    c.hm = (sp->nr_window > 1 ? sp->nr_window / 2 : 0) +
           (sp->smooth_window > 1 ? sp->smooth_window / 2 : 0);
    int hs = sp->speckle != GD_SPECKLE_NONE ? sp->speckle_window / 2 : 0;
    gd_engine_spec spec = {.grid = grid, .before = before, .after = after, .nb = 1,
                           .halo = hs + c.hm, .user = &c, .start = sar_start,
                           .generate = sar_generate, .stop = sar_stop};
    /* the engine keeps the score in memory when it fits --mem, else in a temporary file,
     * and reports "no valid pixel" itself */
    if ((st = gd_engine_score(job, &spec, out)) != GD_OK)
        goto done;
    json_object_set_new(gd_job_auto(job), "sar",
                        json_pack("{s:s, s:i, s:o, s:s, s:i, s:i}", "speckle",
                                  speckle_names[sp->speckle], "speckle_window",
                                  sp->speckle_window, "speckle_cu2", cu2, "score",
                                  sp->nr_window > 1 ? "nr" : "ratio", "nr_window",
                                  sp->nr_window > 1 ? sp->nr_window : 0, "smooth_window",
                                  sp->smooth_window > 1 ? sp->smooth_window : 1));
    cu2 = NULL;
done:
    json_decref(cu2);
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
