/* urban.c: the urban method: built-up change (new construction, demolition) in optical
 * multispectral pairs from a radiometrically normalised change vector on the fine bands. */
#include "geodelta/urban.h"

#include "geodelta/detect.h"

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

/* The q-quantile of the finite values of v on a regular subsample; NaN when none. */
static float sample_quantile(const float *v, size_t n, double q, float *tmp)
{
    size_t step = n / QUANTILE_SAMPLE + 1, m = 0;
    for (size_t i = 0; i < n; i += step)
        if (isfinite(v[i]))
            tmp[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(tmp, m, sizeof *tmp, cmp_float);
    return tmp[(size_t)(q * (double)(m - 1) + 0.5)];
}

int gd_detect_urban(gd_job *job, const gd_grid *grid, const gd_band *before,
                    const gd_band *after, const char *const *names, size_t nb, int smooth,
                    gd_score *out)
{
    int st = GD_OK;
    const int w = grid->width, h = grid->height;
    size_t n = (size_t)w * (size_t)h;
    float *x = NULL, *y = NULL, *d = NULL, *tmp = NULL;
    const float *xb[6], *yb[6];
    float wt[6];
    double gain[6], offset[6];
    long used[6] = {0};
    float cut = NAN;
    memset(out, 0, sizeof *out);
    if (nb < 1 || nb > 6)
        return gd_job_error(job, GD_EUSAGE, "urban: %zu bands (1 to 6 supported)", nb);
    if (smooth > 1 && (smooth % 2 == 0 || smooth > 31))
        return gd_job_error(job, GD_EUSAGE, "--smooth %d is not 0, 1 or an odd number up to 31",
                            smooth);
    x = malloc(sizeof(float) * n * nb);
    y = malloc(sizeof(float) * n * nb);
    d = malloc(sizeof(float) * n);
    tmp = malloc(sizeof(float) * (n < QUANTILE_SAMPLE + 1 ? n : QUANTILE_SAMPLE + 1));
    gd_score_alloc(out, w, h);
    if (!x || !y || !d || !tmp || !out->data) {
        st = gd_job_error(job, GD_EPROC, "out of memory for urban on %dx%dx%zu", w, h, nb);
        goto done;
    }
    for (size_t k = 0; k < nb; k++) {
        if ((st = gd_band_read(job, &before[k], w, 0, h, x + k * n)) != GD_OK ||
            (st = gd_band_read(job, &after[k], w, 0, h, y + k * n)) != GD_OK)
            goto done;
        xb[k] = x + k * n;
        yb[k] = y + k * n;
        gain[k] = 1.0;
        offset[k] = 0.0;
        if ((st = gd_job_progress(job, 0.4 * (double)(k + 1) / (double)nb)) != GD_OK) {
            gd_job_error(job, st, "cancelled");
            goto done;
        }
    }
    /* each band divided by its spread in the before image, as cva, so that the bright
     * SWIR bands do not outweigh the visible ones */
    for (size_t k = 0; k < nb; k++) {
        double s = 0.0, ss = 0.0;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(xb[k][i])) {
                s += xb[k][i];
                m++;
            }
        double mean = m ? s / (double)m : 0.0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(xb[k][i]))
                ss += (xb[k][i] - mean) * (xb[k][i] - mean);
        double sd = m > 1 ? sqrt(ss / (double)m) : 0.0;
        if (!(sd > 0.0)) {
            gd_job_warn(job, "urban: the %s band of the before image is constant: left out",
                        names[k]);
            wt[k] = 0.0f;
        } else {
            wt[k] = (float)(1.0 / sd);
        }
    }
    /* relative radiometric normalisation: season, sun and atmosphere change every pixel
     * of the after image alike, which CVA would count as change; the fit on the pixels
     * that change least leaves the changes that differ from the scene's trend. The after
     * bands are rescaled in place; the fit is affine-equivariant, so gains and offsets
     * compose. */
    for (int fit = 0; fit < NORM_FITS; fit++) {
        for (size_t k = 0; k < nb; k++) {
            double g, o;
            used[k] = gd_k_rma_fit(xb[k], yb[k], fit ? d : NULL, cut, n, &g, &o);
            if (used[k] < 0)
                continue; /* constant band or no data: left as it is */
            float *yk = y + k * n;
            for (size_t i = 0; i < n; i++)
                yk[i] = (float)(g * yk[i] + o);
            gain[k] *= g;
            offset[k] = g * offset[k] + o;
        }
        gd_k_cva(xb, yb, wt, nb, d, n);
        if (fit + 1 < NORM_FITS)
            cut = sample_quantile(d, n, INVARIANT_QUANTILE, tmp);
        if ((st = gd_job_progress(job, 0.4 + 0.5 * (double)(fit + 1) / NORM_FITS)) != GD_OK) {
            gd_job_error(job, st, "cancelled");
            goto done;
        }
    }
    if (smooth > 1)
        gd_k_box_mean(d, w, h, smooth, 0, h, out->data);
    else
        memcpy(out->data, d, sizeof(float) * n);
    out->min = INFINITY;
    out->max = -INFINITY;
    out->valid = gd_k_minmax(out->data, n, &out->min, &out->max);
    if (out->valid == 0) {
        st = gd_job_error(job, GD_EINPUT,
                          "no valid pixel where both dates have data (all nodata, or the "
                          "overlap is empty)");
        goto done;
    }
    {
        json_t *bands = json_array(), *jg = json_array(), *jo = json_array(),
               *jw = json_array(), *ju = json_array();
        for (size_t k = 0; k < nb; k++) {
            json_array_append_new(bands, json_string(names[k]));
            json_array_append_new(jg, json_real(gain[k]));
            json_array_append_new(jo, json_real(offset[k]));
            json_array_append_new(jw, json_real(wt[k]));
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
    free(x);
    free(y);
    free(d);
    free(tmp);
    if (st != GD_OK)
        gd_score_free(out);
    return st;
}
