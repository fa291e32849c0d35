/* sar.c: what the SAR methods share (logratio, pcakmeans, SAR flood): the speckle filter,
 * windows and score options with each method's defaults, the decision before the MRF. */
#include "common.h"

#include <gd_kernels.h>
#include <math.h>
#include <string.h>

#define SAR_NR_WINDOW 3  /* --sar-score nr: Gong, Cao & Wu (2012) use 3x3 */
#define SAR_HYST_LOW 0.7 /* --sar-decision hysteresis: low threshold / threshold */
#define SAR_MRF_BETA 3.5 /* logratio, pcakmeans: Potts weight (sweep: docs/methods) */

int gd_sar_resolve(gd_job *job, const gd_detect_params *p, const gd_sar_defaults *d,
                   gd_sar_params *sp)
{
    static const char *const names[] = {"none", "lee", "refined-lee", "gamma-map"};
    sp->speckle = GD_SPECKLE_REFINED_LEE;
    if (p->speckle) {
        sp->speckle = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(p->speckle, names[k]) == 0)
                sp->speckle = k;
        if (sp->speckle < 0)
            return gd_job_error(job, GD_EUSAGE,
                                "--speckle '%s' is not none, lee, refined-lee or gamma-map",
                                p->speckle);
    }
    sp->speckle_window = p->speckle_window > 0 ? p->speckle_window : d->speckle_window;
    sp->smooth_window = p->smooth_window >= 0 ? p->smooth_window : d->smooth_window;
    if (sp->speckle_window < 3 || sp->speckle_window % 2 == 0 || sp->speckle_window > 31)
        return gd_job_error(job, GD_EUSAGE, "--speckle-window %d is not an odd number from 3 to 31",
                            sp->speckle_window);
    if (sp->smooth_window > 1 && (sp->smooth_window % 2 == 0 || sp->smooth_window > 31))
        return gd_job_error(job, GD_EUSAGE, "--smooth %d is not 0, 1 or an odd number up to 31",
                            sp->smooth_window);
    sp->nr_window = 0;
    if (p->sar_score && strcmp(p->sar_score, "nr") == 0) {
        sp->nr_window = p->nr_window > 0 ? p->nr_window : SAR_NR_WINDOW;
        if (sp->nr_window < 3 || sp->nr_window % 2 == 0 || sp->nr_window > 31)
            return gd_job_error(job, GD_EUSAGE, "--nr-window %d is not an odd number from 3 "
                                "to 31", sp->nr_window);
    } else if (p->sar_score && strcmp(p->sar_score, "ratio") != 0) {
        return gd_job_error(job, GD_EUSAGE, "--sar-score '%s' is not ratio or nr", p->sar_score);
    }
    return GD_OK;
}

int gd_sar_resolve_decision(gd_job *job, const gd_detect_params *p, const gd_sar_defaults *d,
                            gd_sar_setting *s)
{
    static const char *const names[] = {"threshold", "hysteresis", "flicm"};
    int st = gd_sar_resolve(job, p, d, &s->sp);
    if (st != GD_OK)
        return st;
    s->decision = p->sar_decision ? -1 : d->decision;
    for (int k = 0; k < 3 && p->sar_decision; k++)
        if (strcmp(p->sar_decision, names[k]) == 0)
            s->decision = k;
    if (s->decision < 0)
        return gd_job_error(job, GD_EUSAGE, "--sar-decision '%s' is not threshold, hysteresis "
                            "or flicm", p->sar_decision);
    s->hyst_low = p->hyst_low >= 0 ? p->hyst_low : SAR_HYST_LOW;
    s->mrf_beta = p->mrf_beta >= 0 ? p->mrf_beta : SAR_MRF_BETA;
    s->mrf_bias = !isnan(p->mrf_bias) ? p->mrf_bias : d->mrf_bias;
    return GD_OK;
}

void gd_sar_record_filter(const gd_detect_params *p, json_t *params)
{
    json_object_set_new(params, "speckle", p->speckle ? json_string(p->speckle) : json_null());
    json_object_set_new(params, "speckle_window",
                        p->speckle_window > 0 ? json_integer(p->speckle_window) : json_null());
    json_object_set_new(params, "smooth",
                        p->smooth_window >= 0 ? json_integer(p->smooth_window) : json_null());
}

void gd_sar_record_decision(const gd_detect_params *p, json_t *params)
{
    json_object_set_new(params, "mrf_beta", p->mrf_beta >= 0 ? json_real(p->mrf_beta) : json_null());
    if (p->sar_score)
        json_object_set_new(params, "sar_score", json_string(p->sar_score));
    if (p->nr_window > 0)
        json_object_set_new(params, "nr_window", json_integer(p->nr_window));
    if (p->sar_decision)
        json_object_set_new(params, "sar_decision", json_string(p->sar_decision));
    if (!isnan(p->mrf_bias))
        json_object_set_new(params, "mrf_bias", json_real(p->mrf_bias));
    if (p->hyst_low >= 0)
        json_object_set_new(params, "hyst_low", json_real(p->hyst_low));
}

int gd_sar_inputs(gd_job *job, gd_method_run *run)
{
    int st;
    if ((st = gd_source_find_role(job, run->bs, "before", run->p->bands_before, "sar",
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
    return GD_OK;
}

int gd_sar_score_for_decision(gd_job *job, const gd_sar_setting *s, gd_score *score)
{
    return s->decision == GD_SAR_HYSTERESIS ? gd_score_load(job, score) : GD_OK;
}

uint64_t gd_sar_decision_bytes(const gd_sar_setting *s)
{
    return s->decision == GD_SAR_HYSTERESIS ? 13u : 0u;
}

int gd_sar_decide_mrf(gd_job *job, const gd_sar_setting *s, const gd_score *score, double t,
                      int two_sided, uint8_t *classes)
{
    int st = gd_sar_decide(job, s->decision, s->hyst_low, score, t, two_sided, classes);
    return st != GD_OK ? st
                       : gd_sar_mrf(job, s->mrf_beta, s->mrf_bias, score, t, two_sided, classes);
}
