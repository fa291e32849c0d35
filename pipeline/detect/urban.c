/* urban.c: the urban method: built-up change (new construction, demolition) in optical
 * multispectral pairs from a radiometrically normalised change vector on the fine bands. */
#include "geodelta/urban.h"

#include "geodelta/detect.h"
#include "geodelta/engine.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Invariant pixels: those whose change is at most this quantile of the change */
#define INVARIANT_QUANTILE 0.5
/* Fits of the normalisation: all pixels first, then refits on the invariant pixels */
#define NORM_FITS 3
/* The quantile is taken on a regular subsample of at most this many pixels */
#define QUANTILE_SAMPLE 250000

static const char *const roles[6] = {"blue", "green", "red", "nir", "swir1", "swir2"};

int gd_urban_bands(gd_job *job, const gd_input_opts *o, const gd_source *bs,
                   const gd_source *as, int bidx[6], int aidx[6], const char *names[6],
                   size_t *nb)
{
    const char *aspec = o->bands_after ? o->bands_after : o->bands_before;
    *nb = 0;
    for (int r = 0; r < 6; r++) {
        int b = 0, a = 0, st;
        if ((st = gd_source_find_role(job, bs, "before", o->bands_before, roles[r], &b)) != GD_OK ||
            (st = gd_source_find_role(job, as, "after", aspec, roles[r], &a)) != GD_OK)
            return st;
        if (r < 4 && (!b || !a))
            return gd_job_error(job, GD_EINPUT,
                                "urban needs a %s band in both images: none found in %s "
                                "(hint: --bands-before b=N,g=N,r=N,n=N[,s1=N,s2=N])",
                                roles[r], b ? as->path : bs->path);
        /* SWIR (built-up surfaces, bare soil) is used where both dates have it */
        if (b && a) {
            bidx[*nb] = b;
            aidx[*nb] = a;
            names[*nb] = roles[r];
            (*nb)++;
        }
    }
    return GD_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The engine's passes. Every statistic is the one a loop over the whole image in grid
 * order gives (the sums are added pixel by pixel in that order, in the engine's ordered
 * step), so the score is byte-identical to holding both images in memory: for each fit a
 * pass of means and a pass of centred sums (gd_k_rma_fit's two passes; the first fit's
 * passes also give the spreads of the before bands and keep the quantile's subsample),
 * then the score pass on both threads with the mean's halo. When both dates' bands fit in
 * --mem beside the score, the first pass keeps them and the other passes walk that copy:
 * a warped after image (co-registration) is then warped once, not seven times. */
typedef struct urban_pass {
    size_t nb;
    int w;
    float wt[6];
    /* the fits applied to the after values before use, each in turn and rounded to float
     * as the in-place rescale did: fits [0, nfit) */
    int nfit;
    double g[NORM_FITS][6], o[NORM_FITS][6];
    int applied[NORM_FITS][6];
    /* the pass: 0 means, 1 centred sums; the fit selects pixels with change <= cut
     * (change after the fits applied) when sel */
    int var, sel;
    float cut;
    /* the quantile's regular subsample: grid pixels i with i % step == 0, raw values */
    size_t step, ns;
    float *sxb[6], *sya[6];
    /* the spreads of the before bands (first fit's passes) */
    double s[6], ss[6], mean[6];
    size_t m[6];
    /* the fit: sums over the pixels used (after = fx, before = fy, as gd_k_rma_fit) */
    double fx[6], fy[6], fvx[6], fvy[6], fmx[6], fmy[6];
    size_t fm[6];
    /* scratch of the ordered step (one strip at a time): normalised after, change */
    float *ya, *d;
    size_t plane;
    int smooth;
    /* the inputs kept by the first pass when they fit --mem: before k at plane 2k, after
     * k at 2k + 1, n floats each; NULL when every pass reads them */
    float *cache;
    size_t n;
} urban_pass;

/* The strip s with its inputs taken from the kept copy (rows from s->in_y0). */
static gd_strip cached_strip(const urban_pass *c, const gd_strip *s, const float **b,
                             const float **a)
{
    gd_strip t = *s;
    size_t off = (size_t)s->in_y0 * (size_t)s->width;
    for (size_t k = 0; k < c->nb; k++) {
        b[k] = c->cache + 2 * k * c->n + off;
        a[k] = c->cache + (2 * k + 1) * c->n + off;
    }
    t.nb = c->nb;
    t.before = b;
    t.after = a;
    return t;
}

/* The after values of n pixels of a strip normalised by the fits applied, into planes of
 * ya (`plane` floats apart), and their change magnitude into d. */
static void normalise(const urban_pass *c, const gd_strip *s, size_t n, float *ya, size_t plane,
                      float *d)
{
    const float *yb[6];
    for (size_t k = 0; k < c->nb; k++) {
        float *yk = ya + k * plane;
        memcpy(yk, s->after[k], sizeof(float) * n);
        for (int f = 0; f < c->nfit; f++) {
            if (!c->applied[f][k])
                continue;
            double g = c->g[f][k], o = c->o[f][k];
            for (size_t i = 0; i < n; i++)
                yk[i] = (float)(g * yk[i] + o);
        }
        yb[k] = yk;
    }
    gd_k_cva(s->before, yb, c->wt, c->nb, d, n);
}

/* The first pass keeps the inputs when there is a copy (disjoint rows per strip). */
static int stats_keep(void *user, const gd_strip *s)
{
    const urban_pass *c = user;
    if (!c->cache)
        return GD_OK;
    size_t off = (size_t)s->y0 * (size_t)s->width, n = (size_t)s->width * (size_t)s->rows;
    for (size_t k = 0; k < c->nb; k++) {
        memcpy(c->cache + 2 * k * c->n + off, s->before[k], sizeof(float) * n);
        memcpy(c->cache + (2 * k + 1) * c->n + off, s->after[k], sizeof(float) * n);
    }
    return GD_OK;
}

/* The sums of one strip, in grid order (the engine calls it strip after strip). */
static int stats_ordered(void *user, const gd_strip *s)
{
    urban_pass *c = user;
    const size_t n = (size_t)s->width * (size_t)s->rows;
    const size_t base = (size_t)s->y0 * (size_t)s->width;
    const float *yv[6];
    if (c->nfit > 0) {
        normalise(c, s, n, c->ya, c->plane, c->d);
        for (size_t k = 0; k < c->nb; k++)
            yv[k] = c->ya + k * c->plane;
    } else {
        for (size_t k = 0; k < c->nb; k++)
            yv[k] = s->after[k];
    }
    const float *sel = c->sel ? c->d : NULL;
    const float cut = c->cut;
    for (size_t k = 0; k < c->nb; k++) {
        const float *xb = s->before[k], *ya = yv[k];
        if (c->nfit == 0 && !c->var) {
            for (size_t i = 0; i < n; i++)
                if (isfinite(xb[i])) {
                    c->s[k] += xb[i];
                    c->m[k]++;
                }
        } else if (c->nfit == 0) {
            const double mean = c->mean[k];
            for (size_t i = 0; i < n; i++)
                if (isfinite(xb[i]))
                    c->ss[k] += (xb[i] - mean) * (xb[i] - mean);
        }
        /* gd_k_rma_fit's loops: x = after, y = before */
        if (!c->var) {
            double sx = c->fx[k], sy = c->fy[k];
            size_t m = c->fm[k];
            for (size_t i = 0; i < n; i++) {
                float x = ya[i], y = xb[i];
                if (!isfinite(x) || !isfinite(y) || (sel && !(sel[i] <= cut)))
                    continue;
                sx += x;
                sy += y;
                m++;
            }
            c->fx[k] = sx;
            c->fy[k] = sy;
            c->fm[k] = m;
        } else if (c->fm[k] >= 2) {
            double mx = c->fmx[k], my = c->fmy[k], vx = c->fvx[k], vy = c->fvy[k];
            for (size_t i = 0; i < n; i++) {
                float x = ya[i], y = xb[i];
                if (!isfinite(x) || !isfinite(y) || (sel && !(sel[i] <= cut)))
                    continue;
                vx += (x - mx) * (x - mx);
                vy += (y - my) * (y - my);
            }
            c->fvx[k] = vx;
            c->fvy[k] = vy;
        }
    }
    /* the subsample, raw (first pass only) */
    if (c->nfit == 0 && !c->var)
        for (size_t i = (c->step - base % c->step) % c->step; i < n; i += c->step) {
            size_t j = (base + i) / c->step;
            for (size_t k = 0; k < c->nb; k++) {
                c->sxb[k][j] = s->before[k][i];
                c->sya[k][j] = s->after[k][i];
            }
        }
    return GD_OK;
}

/* The q-quantile of the finite change of the subsample after the fits applied (the same
 * values as the change of those pixels in the whole image); NaN when none. */
static float sample_quantile(const urban_pass *c, double q, float *ya, float *d, float *tmp)
{
    const float *xb[6], *yb[6];
    for (size_t k = 0; k < c->nb; k++) {
        float *yk = ya + k * c->ns;
        memcpy(yk, c->sya[k], sizeof(float) * c->ns);
        for (int f = 0; f < c->nfit; f++) {
            if (!c->applied[f][k])
                continue;
            double g = c->g[f][k], o = c->o[f][k];
            for (size_t i = 0; i < c->ns; i++)
                yk[i] = (float)(g * yk[i] + o);
        }
        xb[k] = c->sxb[k];
        yb[k] = yk;
    }
    gd_k_cva(xb, yb, c->wt, c->nb, d, c->ns);
    size_t m = 0;
    for (size_t i = 0; i < c->ns; i++)
        if (isfinite(d[i]))
            tmp[m++] = d[i];
    if (m == 0)
        return NAN;
    qsort(tmp, m, sizeof *tmp, cmp_float);
    return tmp[(size_t)(q * (double)(m - 1) + 0.5)];
}

typedef struct score_state {
    float *ya, *d;
    size_t plane;
} score_state;

static void *score_start(void *user, int width, int max_in_rows)
{
    const urban_pass *c = user;
    score_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->plane = (size_t)width * (size_t)max_in_rows;
    st->ya = malloc(sizeof(float) * st->plane * c->nb);
    st->d = malloc(sizeof(float) * st->plane);
    if (!st->ya || !st->d) {
        free(st->ya);
        free(st->d);
        free(st);
        return NULL;
    }
    return st;
}

static int score_generate(void *user, void *state, const gd_strip *s0)
{
    const urban_pass *c = user;
    score_state *st = state;
    const float *b[6], *a[6];
    gd_strip t = c->cache ? cached_strip(c, s0, b, a) : *s0;
    const gd_strip *s = &t;
    const size_t w = (size_t)s->width;
    normalise(c, s, w * (size_t)s->in_rows, st->ya, st->plane, st->d);
    int r0 = s->y0 - s->in_y0;
    if (c->smooth > 1)
        gd_k_box_mean(st->d, s->width, s->in_rows, c->smooth, r0, r0 + s->rows, s->out);
    else
        memcpy(s->out, st->d + (size_t)r0 * w, sizeof(float) * w * (size_t)s->rows);
    return GD_OK;
}

static void score_stop(void *user, void *state)
{
    (void)user;
    score_state *st = state;
    if (!st)
        return;
    free(st->ya);
    free(st->d);
    free(st);
}

/* One stats pass, its progress in [p0, p1): on the engine, or over the kept copy once the
 * first pass has filled it. */
static int stats_pass(gd_job *job, const gd_engine_spec *spec, urban_pass *c, int first,
                      int strip_rows, double p0, double p1)
{
    int st = GD_OK;
    gd_job_progress_push(job, p0, p1);
    if (first || !c->cache) {
        st = gd_engine_run(job, spec);
    } else {
        const int h = spec->grid->height;
        for (int y0 = 0; y0 < h && st == GD_OK; y0 += strip_rows) {
            const float *b[6], *a[6];
            gd_strip s = {.width = c->w, .y0 = y0, .rows = h - y0 < strip_rows ? h - y0 : strip_rows,
                          .in_y0 = y0};
            s.in_rows = s.rows;
            s = cached_strip(c, &s, b, a);
            stats_ordered(c, &s);
            if ((st = gd_job_progress(job, (double)(y0 + s.rows) / h)) != GD_OK)
                gd_job_error(job, st, "cancelled");
        }
    }
    gd_job_progress_pop(job);
    return st;
}

int gd_detect_urban(gd_job *job, const gd_grid *grid, const gd_band *before,
                    const gd_band *after, const char *const *names, size_t nb, int smooth,
                    gd_score *out)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height;
    size_t n = (size_t)w * (size_t)h;
    float *tmp = NULL, *sbuf = NULL;
    double gain[6], offset[6];
    long used[6] = {0};
    float cut = NAN;
    urban_pass c;
    memset(&c, 0, sizeof c);
    memset(out, 0, sizeof *out);
    if (nb < 1 || nb > 6)
        return gd_job_error(job, GD_EUSAGE, "urban: %zu bands (1 to 6 supported)", nb);
    if (smooth > 1 && (smooth % 2 == 0 || smooth > 31))
        return gd_job_error(job, GD_EUSAGE, "--smooth %d is not 0, 1 or an odd number up to 31",
                            smooth);
    c.nb = nb;
    c.w = w;
    c.smooth = smooth;
    c.cut = NAN;
    c.step = n / QUANTILE_SAMPLE + 1;
    c.ns = (n + c.step - 1) / c.step;
    gd_engine_spec spec = {.grid = grid, .before = before, .after = after, .nb = nb,
                           .fn = stats_keep, .ordered = stats_ordered, .user = &c};
    int strip_rows = 0;
    gd_engine_strips(&spec, &strip_rows);
    c.plane = (size_t)w * (size_t)strip_rows;
    /* the subsample's values (raw, then normalised), its change and the sort's copy */
    sbuf = malloc(sizeof(float) * c.ns * (3 * nb + 2));
    c.ya = malloc(sizeof(float) * c.plane * nb);
    c.d = malloc(sizeof(float) * c.plane);
    c.n = n;
    /* the copy of the inputs beside the score in memory and what the engine counts
     * besides (as gd_engine_score decides where the score goes); a failed allocation
     * only means reading again */
    long mem_mb = gd_job_mem_mb(job) > 0 ? gd_job_mem_mb(job) : 1024;
    if ((double)n * (8.0 * (double)nb + 4.0 + 4.0 + 6.0) <= (double)mem_mb * 1048576.0)
        c.cache = malloc(sizeof(float) * 2 * nb * n);
    gd_job_info(job, "urban: inputs %s", c.cache ? "kept in memory after the first pass"
                                                 : "read again in each pass (over --mem)");
    if (!sbuf || !c.ya || !c.d) {
        st = gd_job_error(job, GD_EPROC, "out of memory for urban on %dx%dx%zu", w, h, nb);
        goto done;
    }
    for (size_t k = 0; k < nb; k++) {
        c.sxb[k] = sbuf + (2 * k) * c.ns;
        c.sya[k] = sbuf + (2 * k + 1) * c.ns;
        gain[k] = 1.0;
        offset[k] = 0.0;
    }
    float *sya_n = sbuf + 2 * nb * c.ns, *sd = sbuf + 3 * nb * c.ns;
    tmp = sd + c.ns;
    /* relative radiometric normalisation: season, sun and atmosphere change every pixel
     * of the after image alike, which CVA would count as change; the fit on the pixels
     * that change least leaves the changes that differ from the scene's trend. The fit is
     * affine-equivariant, so gains and offsets compose. */
    const double npass = 2.0 * NORM_FITS + 1.0;
    for (int fit = 0; fit < NORM_FITS; fit++) {
        c.nfit = fit;
        c.sel = fit > 0;
        c.cut = cut;
        memset(c.fx, 0, sizeof c.fx);
        memset(c.fy, 0, sizeof c.fy);
        memset(c.fm, 0, sizeof c.fm);
        memset(c.fvx, 0, sizeof c.fvx);
        memset(c.fvy, 0, sizeof c.fvy);
        c.var = 0;
        if ((st = stats_pass(job, &spec, &c, fit == 0, strip_rows, 2 * fit / npass,
                             (2 * fit + 1) / npass)) != GD_OK)
            goto done;
        if (fit == 0)
            /* each band divided by its spread in the before image, as cva, so that the
             * bright SWIR bands do not outweigh the visible ones */
            for (size_t k = 0; k < nb; k++)
                c.mean[k] = c.m[k] ? c.s[k] / (double)c.m[k] : 0.0;
        for (size_t k = 0; k < nb; k++)
            if (c.fm[k] >= 2) {
                c.fmx[k] = c.fx[k] / (double)c.fm[k];
                c.fmy[k] = c.fy[k] / (double)c.fm[k];
            }
        c.var = 1;
        if ((st = stats_pass(job, &spec, &c, 0, strip_rows, (2 * fit + 1) / npass,
                             (2 * fit + 2) / npass)) != GD_OK)
            goto done;
        if (fit == 0)
            for (size_t k = 0; k < nb; k++) {
                double sd_k = c.m[k] > 1 ? sqrt(c.ss[k] / (double)c.m[k]) : 0.0;
                if (!(sd_k > 0.0)) {
                    gd_job_warn(job, "urban: the %s band of the before image is constant: "
                                "left out", names[k]);
                    c.wt[k] = 0.0f;
                } else {
                    c.wt[k] = (float)(1.0 / sd_k);
                }
            }
        for (size_t k = 0; k < nb; k++) {
            /* gd_k_rma_fit's result from the two passes' sums */
            c.applied[fit][k] = 0;
            used[k] = -1;
            if (c.fm[k] < 2 || !(c.fvx[k] > 0.0) || !(c.fvy[k] > 0.0))
                continue; /* constant band or no data: left as it is */
            double g = sqrt(c.fvy[k] / c.fvx[k]), o = c.fmy[k] - g * c.fmx[k];
            c.g[fit][k] = g;
            c.o[fit][k] = o;
            c.applied[fit][k] = 1;
            used[k] = (long)c.fm[k];
            gain[k] *= g;
            offset[k] = g * offset[k] + o;
        }
        c.nfit = fit + 1;
        if (fit + 1 < NORM_FITS)
            cut = sample_quantile(&c, INVARIANT_QUANTILE, sya_n, sd, tmp);
    }
    /* the score: the change after every fit, with the mean's halo */
    c.nfit = NORM_FITS;
    c.sel = 0;
    spec.fn = NULL;
    spec.ordered = NULL;
    spec.start = score_start;
    spec.generate = score_generate;
    spec.stop = score_stop;
    spec.halo = smooth > 1 ? smooth / 2 : 0;
    /* with the copy, the engine walks it (as a source score: no band is read) */
    gd_score kept;
    memset(&kept, 0, sizeof kept);
    if (c.cache) {
        kept.width = w;
        kept.height = h;
        kept.data = c.cache;
        spec.src = &kept;
        spec.nb = 1;
    }
    free(c.ya);
    free(c.d);
    c.ya = c.d = NULL;
    free(sbuf);
    sbuf = NULL;
    gd_job_progress_push(job, (npass - 1.0) / npass, 1.0);
    st = gd_engine_score(job, &spec, out);
    gd_job_progress_pop(job);
    if (st != GD_OK)
        goto done;
    {
        json_t *bands = json_array(), *jg = json_array(), *jo = json_array(),
               *jw = json_array(), *ju = json_array();
        for (size_t k = 0; k < nb; k++) {
            json_array_append_new(bands, json_string(names[k]));
            json_array_append_new(jg, json_real(gain[k]));
            json_array_append_new(jo, json_real(offset[k]));
            json_array_append_new(jw, json_real(c.wt[k]));
            json_array_append_new(ju, json_integer(used[k]));
        }
        json_object_set_new(gd_job_auto(job), "urban",
                            json_pack("{s:o, s:o, s:o, s:o, s:f, s:o, s:o, s:i, s:i}",
                                      "bands", bands, "gain", jg, "offset", jo,
                                      "weights", jw, "invariant_quantile", INVARIANT_QUANTILE,
                                      "invariant_cut", isfinite(cut) ? json_real(cut) : json_null(), "invariant_pixels", ju,
                                      "fits", NORM_FITS, "smooth", smooth > 1 ? smooth : 0));
        gd_job_info(job, "urban: after bands normalised to before (%zu bands, last fit on "
                         "%ld invariant pixels)", nb, used[0]);
    }
done:
    free(sbuf);
    free(c.ya);
    free(c.d);
    free(c.cache);
    if (st != GD_OK)
        gd_score_free(out);
    return st;
}

int gd_urban_objects(gd_job *job, const gd_score *s, double t, double seed_factor,
                     long min_px, uint8_t *classes)
{
    int st = GD_OK;
    const int w = s->width, h = s->height, rows = gd_score_strip_rows(s);
    const float seed = (float)(seed_factor * t);
    float *buf = NULL;
    gd_k_objects *o = gd_k_objects_create(w, seed, min_px);
    if (!s->data)
        buf = malloc(sizeof(float) * (size_t)w * (size_t)rows);
    if (!o || (!s->data && !buf)) {
        st = gd_job_error(job, GD_EPROC, "out of memory for urban's object decision");
        goto done;
    }
    /* two walks down the rows: the regions' peaks and sizes, then the decision */
    for (int y0 = 0; y0 < h; y0 += rows) {
        int r = h - y0 < rows ? h - y0 : rows;
        const float *v = gd_score_rows(job, s, y0, r, buf);
        if (!v) {
            st = gd_job_status(job);
            goto done;
        }
        if (gd_k_objects_scan(o, classes + (size_t)y0 * (size_t)w, v, r) != 0) {
            st = gd_job_error(job, GD_EPROC, "out of memory for urban's object decision");
            goto done;
        }
        if (gd_job_cancelled(job)) {
            st = gd_job_error(job, GD_ECANCEL, "cancelled");
            goto done;
        }
    }
    for (int y0 = 0; y0 < h; y0 += rows) {
        int r = h - y0 < rows ? h - y0 : rows;
        if (gd_k_objects_label(o, classes + (size_t)y0 * (size_t)w, r) != 0) {
            st = gd_job_error(job, GD_EPROC, "out of memory for urban's object decision");
            goto done;
        }
    }
    gd_k_objects_counts n = gd_k_objects_result(o);
    json_t *u = json_object_get(gd_job_auto(job), "urban");
    if (u)
        json_object_set_new(u, "objects",
                            json_pack("{s:f, s:f, s:i, s:I, s:I, s:I, s:I}", "seed_factor",
                                      seed_factor, "seed_score", (double)seed, "min_px",
                                      (int)min_px, "kept", (json_int_t)n.kept, "kept_px",
                                      (json_int_t)n.kept_px, "dropped", (json_int_t)n.dropped,
                                      "dropped_px", (json_int_t)n.dropped_px));
    gd_job_info(job, "urban: %ld change regions kept (%ld px), %ld dropped (%ld px: peak "
                     "under %.4g or fewer than %ld px)",
                (long)n.kept, (long)n.kept_px, (long)n.dropped, (long)n.dropped_px,
                (double)seed, min_px);
done:
    gd_k_objects_destroy(o);
    free(buf);
    return st;
}
