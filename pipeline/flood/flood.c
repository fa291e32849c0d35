/* flood.c: the flood method: new and permanent water from a water index (optical) or
 * the SAR backscatter ratio (UN-SPIDER recommended practice), in the detect chain. */
#include "geodelta/detect.h"
#include "geodelta/engine.h"
#include "geodelta/stages.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* SAR: change where after/before (linear power) < 1/1.25, i.e. ln ratio < -ln 1.25 */
#define SAR_RATIO 1.25

int gd_flood_bands(gd_job *job, const gd_input_opts *o, const gd_source *bs,
                   const gd_source *as, int bidx[2], int aidx[2], size_t *nb, int *index)
{
    const char *aspec = o->bands_after ? o->bands_after : o->bands_before;
    int st, g[2], w[2], r[2], s[2];
    if ((st = gd_source_find_role(job, bs, "before", o->bands_before, "sar", &s[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "sar", &s[1])) != GD_OK ||
        (st = gd_source_find_role(job, bs, "before", o->bands_before, "green", &g[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "green", &g[1])) != GD_OK ||
        (st = gd_source_find_role(job, bs, "before", o->bands_before, "swir1", &w[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "swir1", &w[1])) != GD_OK ||
        (st = gd_source_find_role(job, bs, "before", o->bands_before, "nir", &r[0])) != GD_OK ||
        (st = gd_source_find_role(job, as, "after", aspec, "nir", &r[1])) != GD_OK)
        return st;
    if (!s[0] && !s[1] && g[0] && g[1] && ((w[0] && w[1]) || (r[0] && r[1]))) {
        /* MNDWI when both dates have SWIR, else McFeeters NDWI on both so they compare */
        *index = w[0] && w[1] ? GD_FLOOD_MNDWI : GD_FLOOD_NDWI;
        bidx[0] = g[0], bidx[1] = *index == GD_FLOOD_MNDWI ? w[0] : r[0];
        aidx[0] = g[1], aidx[1] = *index == GD_FLOOD_MNDWI ? w[1] : r[1];
        *nb = 2;
        return GD_OK;
    }
    /* no water index on both dates: one SAR band (sar role, else band 1, as logratio) */
    *index = GD_FLOOD_SAR;
    bidx[0] = s[0] ? s[0] : 1;
    aidx[0] = s[1] ? s[1] : 1;
    *nb = 1;
    if (!s[0] && !s[1] && (bs->nbands > 1 || as->nbands > 1))
        gd_job_warn(job, "flood: no green with swir1 or nir in both images and no sar band: "
                         "band 1 is taken as SAR backscatter (hint: --bands-before sar=N, or "
                         "green=N,swir1=M for optical)");
    return GD_OK;
}

static float ndiff(float x, float y)
{
    float s = x + y;
    return isnan(x) || isnan(y) || s == 0.0f ? NAN : (x - y) / s;
}

int gd_flood_optical(gd_job *job, const gd_grid *grid, const gd_band *before,
                     const gd_band *after, gd_score *out, uint8_t **water)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height, rows = 256;
    size_t n = (size_t)w * (size_t)h, sn = (size_t)w * (size_t)rows;
    float *buf = malloc(4 * sizeof(float) * sn);
    uint8_t *wat = malloc(n);
    gd_score_alloc(out, w, h);
    if (!buf || !wat || !out->data) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the flood index of %dx%d", w, h);
        goto done;
    }
    for (int y0 = 0; y0 < h; y0 += rows) {
        int nr = h - y0 < rows ? h - y0 : rows;
        float *bg = buf, *bw = buf + sn, *ag = buf + 2 * sn, *aw = buf + 3 * sn;
        if ((st = gd_band_read(job, &before[0], w, y0, nr, bg)) != GD_OK ||
            (st = gd_band_read(job, &before[1], w, y0, nr, bw)) != GD_OK ||
            (st = gd_band_read(job, &after[0], w, y0, nr, ag)) != GD_OK ||
            (st = gd_band_read(job, &after[1], w, y0, nr, aw)) != GD_OK)
            goto done;
        for (size_t i = 0; i < (size_t)w * (size_t)nr; i++) {
            size_t k = (size_t)y0 * (size_t)w + i;
            float ib = ndiff(bg[i], bw[i]), ia = ndiff(ag[i], aw[i]);
            out->data[k] = ia - ib; /* NaN when either date is NaN */
            wat[k] = (uint8_t)((ib > 0.0f ? 1 : 0) | (ia > 0.0f ? 2 : 0));
        }
        if (gd_job_progress(job, (double)(y0 + nr) / h) != GD_OK) {
            st = gd_job_error(job, GD_ECANCEL, "cancelled");
            goto done;
        }
    }
    out->valid = gd_k_minmax(out->data, n, &out->min, &out->max);
    if (out->valid == 0)
        st = gd_job_error(job, GD_EINPUT,
                          "no valid pixel where both dates have data (all nodata, or the "
                          "overlap is empty)");
done:
    free(buf);
    if (st != GD_OK) {
        free(wat);
        gd_score_free(out);
        return st;
    }
    *water = wat;
    return GD_OK;
}

int gd_flood_threshold(gd_job *job, const gd_score *s, int index, double fixed, int ki,
                       double *t, const char **mode)
{
    if (index == GD_FLOOD_SAR) {
        /* the ratio rule is the method: -t K replaces its factor (after/before < 1/K) */
        if (!isnan(fixed) && !(fixed > 1.0))
            return gd_job_error(job, GD_EUSAGE,
                                "flood on SAR: --threshold %g is not a ratio factor > 1 "
                                "(change where after/before < 1/factor; default %g)",
                                fixed, SAR_RATIO);
        *t = -log(isnan(fixed) ? SAR_RATIO : fixed);
        *mode = isnan(fixed) ? "unspider-ratio" : "fixed-ratio";
        return GD_OK;
    }
    if (!isnan(fixed)) {
        *t = fixed;
        *mode = "fixed";
        return GD_OK;
    }
    *mode = ki ? "ki" : "otsu";
    return ki ? gd_threshold_ki(job, s, 0, t) : gd_threshold_otsu(job, s, 0, t);
}

/* ---- SAR water: streamed like gd_detect_sar ----
 * A pass makes the before date's filtered dB a score (memory or file) for its
 * Kittler-Illingworth threshold; a second pass filters both dates again and writes the
 * water mask's rows. The speckle filter is read with a halo of speckle_window/2 rows, so
 * every value is the whole-image one. */
typedef struct water_pass {
    const gd_sar_params *sp;
    float cu2[2], eps, t;
    uint8_t *wat;                /* n bytes: each strip writes its own rows */
    uint64_t *counts;            /* per strip: before, after, both */
} water_pass;

static void *water_start(void *user, int width, int max_in_rows)
{
    (void)user;
    return malloc(sizeof(float) * (size_t)width * (size_t)max_in_rows);
}

static void water_stop(void *user, void *state)
{
    (void)user;
    free(state);
}

/* Rows [y0, y0 + rows) of date d filtered and in dB into out. */
static void strip_db(const water_pass *c, const gd_strip *s, int d, float *out)
{
    const float *in = d ? s->after[0] : s->before[0];
    size_t n = (size_t)s->width * (size_t)s->rows;
    if (c->sp->speckle != GD_SPECKLE_NONE)
        gd_k_speckle((gd_speckle)c->sp->speckle, in, s->width, s->in_rows,
                     c->sp->speckle_window, c->cu2[d], s->y0 - s->in_y0,
                     s->y0 - s->in_y0 + s->rows, out);
    else
        memcpy(out, in + (size_t)(s->y0 - s->in_y0) * (size_t)s->width, sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        out[i] = isnan(out[i]) ? NAN : 10.0f * log10f(fmaxf(out[i], 0.0f) + c->eps);
}

static int before_db_strip(void *user, void *state, const gd_strip *s)
{
    (void)state;
    strip_db(user, s, 0, s->out);
    return GD_OK;
}

static int water_strip(void *user, void *state, const gd_strip *s)
{
    const water_pass *c = user;
    float *bd = state;
    size_t n = (size_t)s->width * (size_t)s->rows;
    uint8_t *wat = c->wat + (size_t)s->y0 * (size_t)s->width;
    uint64_t nb = 0, na = 0, both = 0;
    /* the before date first, as bits, then the after date over the same buffer */
    strip_db(c, s, 0, bd);
    for (size_t i = 0; i < n; i++)
        wat[i] = bd[i] < c->t; /* NaN compares false */
    strip_db(c, s, 1, bd);
    for (size_t i = 0; i < n; i++) {
        int b = wat[i], a = bd[i] < c->t;
        wat[i] = (uint8_t)(b | (a << 1));
        nb += (uint64_t)b;
        na += (uint64_t)a;
        both += (uint64_t)(b & a);
    }
    uint64_t *k = c->counts + 3 * (size_t)s->index;
    k[0] = nb;
    k[1] = na;
    k[2] = both;
    return GD_OK;
}

int gd_flood_sar_water(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                       const gd_band *before, const gd_band *after, float eps, uint8_t **water)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height;
    size_t n = (size_t)w * (size_t)h;
    uint8_t *wat = malloc(n);
    gd_score s = {0};
    double t = NAN;
    water_pass c = {.sp = sp, .eps = eps, .wat = wat};
    if (!wat) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the SAR water masks of %dx%d", w, h);
        goto done;
    }
    if (sp->speckle != GD_SPECKLE_NONE) {
        if ((st = gd_sar_speckle_levels(job, sp, grid, before, after, c.cu2)) != GD_OK)
            goto done;
        for (int d = 0; d < 2; d++)
            c.cu2[d] = c.cu2[d] > 0.0f ? c.cu2[d] : 0.2732f;
    }
    gd_engine_spec spec = {.grid = grid, .before = before, .after = after, .nb = 1,
                           .halo = sp->speckle != GD_SPECKLE_NONE ? sp->speckle_window / 2 : 0,
                           .user = &c, .start = water_start, .generate = before_db_strip,
                           .stop = water_stop};
    /* one threshold for both dates, from the before date: the flood does not move it.
     * The engine refuses a date without a valid pixel; that is "no histogram" here */
    st = gd_engine_score(job, &spec, &s);
    if (st != GD_OK && st != GD_EINPUT)
        goto done;
    /* Kittler-Illingworth, not Otsu: open water is usually a small, narrow mode of the
     * dB histogram, and Otsu's between-class variance favours splitting the large land
     * mode instead (Bern: Otsu puts 41 % of the scene under "water", KI 1 %) */
    /* the whole-image version took min/max with gd_k_minmax from a zeroed score, so its
     * histogram always spanned 0: kept, so that flood outputs stay byte-identical */
    if (st == GD_OK) {
        s.min = fminf(s.min, 0.0f);
        s.max = fmaxf(s.max, 0.0f);
    }
    if (st != GD_OK || s.valid == 0 || gd_threshold_ki(job, &s, 0, &t) != GD_OK) {
        /* no histogram to split: no permanent water, new water as before */
        gd_job_warn(job, "flood on SAR: the before image's backscatter histogram cannot be "
                         "split (constant or empty): no permanent-water class");
        gd_job_clear_error(job);
        t = -INFINITY;
        st = GD_OK;
    }
    gd_score_free(&s);
    c.t = (float)t;
    int nstrips = gd_engine_strips(&spec, NULL);
    if (!(c.counts = calloc(3 * (size_t)nstrips, sizeof(uint64_t)))) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    spec.generate = water_strip;
    if ((st = gd_engine_run(job, &spec)) != GD_OK)
        goto done;
    uint64_t nb = 0, na = 0, both = 0;
    for (int k = 0; k < nstrips; k++) {
        nb += c.counts[3 * k];
        na += c.counts[3 * k + 1];
        both += c.counts[3 * k + 2];
    }
    json_object_set_new(gd_job_auto(job), "sar_water",
                        json_pack("{s:s, s:o, s:I, s:I, s:I}", "mode", "ki-before-db",
                                  "threshold_db", isfinite(t) ? json_real(t) : json_null(),
                                  "water_before_px", (json_int_t)nb, "water_after_px",
                                  (json_int_t)na, "water_both_px", (json_int_t)both));
    gd_job_say(job, "SAR water: below %.2f dB (Kittler-Illingworth on the before date): %llu px before, "
                    "%llu after, %llu both", t, (unsigned long long)nb, (unsigned long long)na,
               (unsigned long long)both);
done:
    free(c.counts);
    gd_score_free(&s);
    if (st != GD_OK) {
        free(wat);
        return st;
    }
    *water = wat;
    return GD_OK;
}

int gd_flood_classify(gd_job *job, const gd_score *s, const uint8_t *water, int index,
                      double t, uint8_t **classes)
{
    size_t n = (size_t)s->width * (size_t)s->height;
    uint8_t *c = malloc(n);
    /* the score strip by strip: it may be in its temporary file (--mem) */
    int step = gd_score_strip_rows(s);
    float *buf = s->data ? NULL : malloc(sizeof(float) * (size_t)s->width * (size_t)step);
    if (!c || (!s->data && !buf)) {
        free(c);
        free(buf);
        return gd_job_error(job, GD_EPROC, "out of memory for the class raster");
    }
    for (int y = 0; y < s->height; y += step) {
        int rows = s->height - y < step ? s->height - y : step;
        const float *x = gd_score_rows(job, s, y, rows, buf);
        if (!x) {
            free(c);
            free(buf);
            return gd_job_status(job);
        }
        size_t i0 = (size_t)y * (size_t)s->width, m = (size_t)rows * (size_t)s->width;
        for (size_t j = 0; j < m; j++) {
            size_t i = i0 + j;
            float v = x[j];
            if (isnan(v))
                c[i] = 255;
            else if (index == GD_FLOOD_SAR) /* dark on both dates, else darkening by the ratio */
                c[i] = water && water[i] == 3 ? 2 : v < (float)t ? 1 : 0;
            else if (water[i] == 3)
                c[i] = 2;
            else if (water[i] == 2 && v >= (float)t)
                c[i] = 1;
            else
                c[i] = 0;
        }
    }
    free(buf);
    *classes = c;
    return GD_OK;
}
