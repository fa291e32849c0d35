/* sar.c: what the SAR methods share (logratio, pcakmeans, SAR flood): the speckle filter,
 * windows and score options with each method's defaults, the decision before the MRF. */
#include "common.h"

#include <gd_kernels.h>
#include <math.h>
#include <string.h>

#define SAR_NR_WINDOW 3  /* --sar-score nr: Gong, Cao & Wu (2012) use 3x3 */
#define SAR_HYST_LOW 0.7 /* --sar-decision hysteresis: low threshold / threshold */
#define SAR_MRF_BETA 3.5 /* logratio, pcakmeans: Potts weight (sweep: docs/methods) */

int gd_sar_resolve(gd_job *job, const gd_sar_opts *o, const gd_sar_defaults *d,
                   gd_sar_params *sp)
{
    static const char *const names[] = {"none", "lee", "refined-lee", "gamma-map"};
    sp->speckle = GD_SPECKLE_REFINED_LEE;
    if (o->speckle) {
        sp->speckle = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(o->speckle, names[k]) == 0)
                sp->speckle = k;
        if (sp->speckle < 0)
            return gd_job_error(job, GD_EUSAGE,
                                "--speckle '%s' is not none, lee, refined-lee or gamma-map",
                                o->speckle);
    }
    sp->speckle_window = o->speckle_window > 0 ? o->speckle_window : d->speckle_window;
    sp->smooth_window = o->smooth_window >= 0 ? o->smooth_window : d->smooth_window;
    if (sp->speckle_window < 3 || sp->speckle_window % 2 == 0 || sp->speckle_window > 31)
        return gd_job_error(job, GD_EUSAGE, "--speckle-window %d is not an odd number from 3 to 31",
                            sp->speckle_window);
    if (sp->smooth_window > 1 && (sp->smooth_window % 2 == 0 || sp->smooth_window > 31))
        return gd_job_error(job, GD_EUSAGE, "--smooth %d is not 0, 1 or an odd number up to 31",
                            sp->smooth_window);
    sp->nr_window = 0;
    if (o->score && strcmp(o->score, "nr") == 0) {
        sp->nr_window = o->nr_window > 0 ? o->nr_window : SAR_NR_WINDOW;
        if (sp->nr_window < 3 || sp->nr_window % 2 == 0 || sp->nr_window > 31)
            return gd_job_error(job, GD_EUSAGE, "--nr-window %d is not an odd number from 3 "
                                "to 31", sp->nr_window);
    } else if (o->score && strcmp(o->score, "ratio") != 0) {
        return gd_job_error(job, GD_EUSAGE, "--sar-score '%s' is not ratio or nr", o->score);
    }
    return GD_OK;
}

int gd_sar_resolve_decision(gd_job *job, const gd_sar_opts *o, const gd_sar_defaults *d,
                            gd_sar_setting *s)
{
    static const char *const names[] = {"threshold", "hysteresis", "flicm"};
    int st = gd_sar_resolve(job, o, d, &s->sp);
    if (st != GD_OK)
        return st;
    s->decision = o->decision ? -1 : d->decision;
    for (int k = 0; k < 3 && o->decision; k++)
        if (strcmp(o->decision, names[k]) == 0)
            s->decision = k;
    if (s->decision < 0)
        return gd_job_error(job, GD_EUSAGE, "--sar-decision '%s' is not threshold, hysteresis "
                            "or flicm", o->decision);
    s->hyst_low = o->hyst_low >= 0 ? o->hyst_low : SAR_HYST_LOW;
    s->mrf_beta = o->mrf_beta >= 0 ? o->mrf_beta : SAR_MRF_BETA;
    s->mrf_bias = !isnan(o->mrf_bias) ? o->mrf_bias : d->mrf_bias;
    return GD_OK;
}

void gd_sar_record_filter(const gd_sar_opts *o, json_t *params)
{
    json_object_set_new(params, "speckle", o->speckle ? json_string(o->speckle) : json_null());
    json_object_set_new(params, "speckle_window",
                        o->speckle_window > 0 ? json_integer(o->speckle_window) : json_null());
    json_object_set_new(params, "smooth",
                        o->smooth_window >= 0 ? json_integer(o->smooth_window) : json_null());
}

void gd_sar_record_decision(const gd_sar_opts *o, json_t *params)
{
    json_object_set_new(params, "mrf_beta", o->mrf_beta >= 0 ? json_real(o->mrf_beta) : json_null());
    if (o->score)
        json_object_set_new(params, "sar_score", json_string(o->score));
    if (o->nr_window > 0)
        json_object_set_new(params, "nr_window", json_integer(o->nr_window));
    if (o->decision)
        json_object_set_new(params, "sar_decision", json_string(o->decision));
    if (!isnan(o->mrf_bias))
        json_object_set_new(params, "mrf_bias", json_real(o->mrf_bias));
    if (o->hyst_low >= 0)
        json_object_set_new(params, "hyst_low", json_real(o->hyst_low));
}

int gd_sar_inputs(gd_job *job, gd_method_run *run)
{
    int st;
    if ((st = gd_source_find_role(job, run->bs, "before", run->p->in.bands_before, "sar",
                                  &run->bidx[0])) != GD_OK ||
        (st = gd_source_find_role(job, run->as, "after", gd_method_after_spec(run), "sar",
                                  &run->aidx[0])) != GD_OK)
        return st;
    if (!run->bidx[0])
        run->bidx[0] = 1;
    if (!run->aidx[0])
        run->aidx[0] = 1;
    run->nb = 1;
    run->sar = 1;
    run->db_to_linear = 1;
    run->score_panels = 1; /* gd_detect_sar's pass makes the map's panels */
    return GD_OK;
}

int gd_sar_decide_mrf(gd_job *job, const gd_sar_setting *s, const gd_score *score, double t,
                      int two_sided, uint8_t *classes)
{
    int st = gd_sar_decide(job, s->decision, s->hyst_low, score, t, two_sided, classes);
    return st != GD_OK ? st
                       : gd_sar_mrf(job, s->mrf_beta, s->mrf_bias, score, t, two_sided, classes);
}
