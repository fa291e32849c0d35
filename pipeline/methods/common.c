/* common.c: what several methods share: band roles, all common bands, streaming a score
 * through the engine, the generic threshold. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void band_names(const gd_source *s, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int b = 1; b <= s->nbands && b <= 16; b++) {
        const char *d = GDALGetDescription(GDALGetRasterBand(s->ds, b));
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%d:%s", b > 1 ? ", " : "", b, d && *d ? d : "-");
    }
}

static int need_role(gd_job *job, const gd_source *s, const char *label, const char *spec,
                     const char *method, const char *role, int *band)
{
    int st = gd_source_find_role(job, s, label, spec, role, band);
    if (st != GD_OK)
        return st;
    if (*band == 0) {
        char names[1024];
        band_names(s, names, sizeof names);
        return gd_job_error(job, GD_EINPUT,
                            "method %s needs a '%s' band but the %s image %s has none that "
                            "says so (bands %s; hint: --bands-%s %s=N)",
                            method, role, label, s->path, names, label, role);
    }
    return GD_OK;
}

const char *gd_method_after_spec(const gd_method_run *run)
{
    return run->p->in.bands_after ? run->p->in.bands_after : run->p->in.bands_before;
}

int gd_method_need_role(gd_job *job, gd_method_run *run, const char *role, int *bidx,
                        int *aidx)
{
    int st = need_role(job, run->bs, "before", run->p->in.bands_before, run->m->name, role, bidx);
    return st != GD_OK ? st
                       : need_role(job, run->as, "after", gd_method_after_spec(run),
                                   run->m->name, role, aidx);
}

/* Band of src matching before band b by description, else the same index. */
static int match_band(const gd_source *bsrc, const gd_source *asrc, int b)
{
    const char *d = GDALGetDescription(GDALGetRasterBand(bsrc->ds, b));
    if (d && *d)
        for (int k = 1; k <= asrc->nbands; k++) {
            const char *e = GDALGetDescription(GDALGetRasterBand(asrc->ds, k));
            if (e && strcmp(d, e) == 0)
                return k;
        }
    return b <= asrc->nbands ? b : 0;
}

int gd_method_common_bands(gd_job *job, gd_method_run *run)
{
    run->nb = 0;
    for (int b = 1; b <= run->bs->nbands && run->nb < GD_METHOD_MAX_BANDS; b++) {
        int k = match_band(run->bs, run->as, b);
        /* a cloud mask band (SCL, QA_PIXEL) is a mask, not a measurement */
        if (k > 0 && gd_mask_band_kind(GDALGetRasterBand(run->bs->ds, b)) == GD_MASK_NONE) {
            run->bidx[run->nb] = b;
            run->aidx[run->nb] = k;
            run->nb++;
        }
    }
    if (run->nb == 0)
        return gd_job_error(job, GD_EINPUT, "the two images have no band in common");
    return GD_OK;
}

int gd_method_stream(gd_job *job, gd_method_run *run, gd_score *out)
{
    gd_engine_spec spec = {.grid = run->grid, .before = run->bb, .after = run->ab,
                           .nb = run->nb, .halo = run->m->ops->halo,
                           .fn = run->m->ops->score_strip, .user = run};
    return gd_engine_score(job, &spec, out);
}

void gd_method_free_state(gd_method_run *run)
{
    free(run->state);
    run->state = NULL;
}

/* finite inputs can still give +-Inf (x/0 where reflectances cancel): nodata */
void gd_method_inf_to_nan(float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isinf(out[i]))
            out[i] = NAN;
}

int gd_threshold_pick(gd_job *job, const gd_method *m, const gd_score *s,
                      const gd_threshold_req *req, double *t, const char **mode)
{
    if (!isnan(req->fixed)) {
        *t = req->fixed;
        *mode = "fixed";
        return GD_OK;
    }
    *mode = req->ki ? "ki" : "otsu";
    return req->ki ? gd_threshold_ki(job, s, m->two_sided, t)
                   : gd_threshold_otsu(job, s, m->two_sided, t);
}
