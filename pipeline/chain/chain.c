/* chain.c: the detect chain, top to bottom as the design's picture: open, grid,
 * co-register, score, threshold, decide, classify, clean, vectorize, summarise, render,
 * record. The method is a plug-in (geodelta/method.h): this file only calls its ops. */
#include "chain.h"

#include "geodelta/coreg.h"
#include "geodelta/engine.h"
#include "geodelta/files.h" /* integrity: gd_outdir_lock/open_log/release */
#include "geodelta/limits.h"
#include "geodelta/task.h"
#include "geodelta/util.h"

#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gd_detect_params_init(gd_detect_params *p)
{
    memset(p, 0, sizeof *p);
    p->decide.threshold = "auto";
    p->decide.mmu_ha = -1.0;
    p->decide.mmu_px = -1;
    p->decide.urban_seed = -1.0;
    p->decide.urban_object_px = -1;
    p->sar.smooth_window = -1;
    p->sar.mrf_beta = -1.0;
    p->sar.hyst_low = -1.0;
    p->sar.mrf_bias = NAN;
    p->flood.max_slope = -1.0;
}


/* -t: auto, otsu, ki or a non-negative number; the method's auto may be KI (urban). */
static int parse_threshold(gd_job *job, const gd_detect_params *p, const gd_method *m,
                           gd_threshold_req *r)
{
    const char *t = p->decide.threshold ? p->decide.threshold : "auto";
    r->is_auto = strcmp(t, "auto") == 0;
    r->ki = strcmp(t, "ki") == 0 || (r->is_auto && m->ops->auto_ki);
    r->fixed = NAN;
    if (r->is_auto || r->ki || strcmp(t, "otsu") == 0)
        return GD_OK;
    char *endp = NULL;
    r->fixed = strtod(t, &endp);
    if (!endp || *endp || endp == t || !isfinite(r->fixed) || r->fixed < 0)
        return gd_job_error(job, GD_EUSAGE,
                            "--threshold '%s' is not auto, otsu, ki or a non-negative number",
                            p->decide.threshold);
    return GD_OK;
}

/* Usage checks, the output folder, run.log, and the inputs' hashing started in the
 * background (joined before the first output, which carries the run id). */
static int chain_start(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    int st;
    if ((st = parse_threshold(job, p, c->m, &c->treq)) != GD_OK ||
        (st = gd_severity_choose(job, &p->decide, &c->m, &c->mt, &c->ctab)) != GD_OK)
        return st;
    if ((st = gd_chain_deliver_parse(job, p->out.with, p->out.without, &c->deliver_off)) != GD_OK)
        return st;
    if ((p->flood.dem || p->flood.permanent_water) && !c->m->ops->takes_water_masks)
        return gd_job_error(job, GD_EUSAGE, "--dem and --permanent-water are options of -m flood");
    /* a bad key is found before any work is done */
    if (p->out.sign_key && (st = gd_signer_create(job, p->out.sign_key, &c->signer)) != GD_OK)
        return st;
    /* integrity: OUTDIR locked (a second run fails at once), opened without following
     * links, temporaries in a private folder; released in chain_free */
    if ((st = gd_outdir_lock(job, p->out.dir)) != GD_OK)
        return st;
    if ((st = gd_chain_prepare_outdir(job, &p->out)) != GD_OK)
        return st;
    /* integrity: run.log made fresh and renamed into place, never written through a link */
    if ((st = gd_outdir_open_log(job, "run.log")) != GD_OK)
        return st;
    gd_job_info(job, "geodelta %s, kernels %s", GD_VERSION, gd_kernels_isa_name());
    /* --stac: discover finds and reads the two dates' AOI windows into local files that
     * the chain opens as usual */
    if (p->in.stac) {
        /* the remote reads take a quarter of the bar; the chain's stages the rest (their
         * ranges nest in the slot pushed after; gd_job_progress_done closes it) */
        gd_job_progress_push(job, 0.0, 0.25);
        st = gd_discover_run(job, p->in.stac, &c->disc);
        gd_job_progress_pop(job);
        if (st != GD_OK)
            return st;
        gd_job_progress_push(job, 0.25, 1.0);
        c->pd = *p;
        c->pd.in.before = gd_discover_path(c->disc, 0);
        c->pd.in.after = gd_discover_path(c->disc, 1);
        c->p = p = &c->pd;
    }
    c->in_abs[0] = gd_chain_abs_path(p->in.before);
    c->in_abs[1] = gd_chain_abs_path(p->in.after);
    if (!c->in_abs[0] || !c->in_abs[1])
        return gd_job_error(job, GD_EPROC, "out of memory");
    if ((st = gd_aux_collect(job, p, &c->aux)) != GD_OK)
        return st;
    const char *hp[2 + GD_AUX_MAX] = {c->in_abs[0], c->in_abs[1]};
    for (size_t i = 0; i < c->aux.n; i++)
        hp[2 + i] = c->aux.path[i];
    if ((st = gd_hasher_start(job, hp, 2 + c->aux.n, &c->hasher)) != GD_OK)
        return st;
    gd_job_set_workdir(job, p->out.dir); /* the engine's temporary score, if any */
    gd_engine_configure(job);
    /* when the chain's threads take every CPU (co-registration reading both dates side by
     * side, the pool's score, threshold and classes passes), the inputs' hashing waits
     * for the sieve, which leaves a CPU idle (chain_decide ends the hold; so do the run
     * id's join and the chain's end) */
    if (gd_job_threads(job) >= gd_engine_default_threads())
        gd_hasher_hold(c->hasher, 1);
    return GD_OK;
}

/* Every option with its default resolved: the run id is a digest of these. */
static int chain_params(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    json_t *params = gd_job_params(job);
    json_object_set_new(params, "method", json_string(c->m->name));
    json_object_set_new(params, "bands_before", p->in.bands_before ? json_string(p->in.bands_before) : json_null());
    json_object_set_new(params, "bands_after", p->in.bands_after ? json_string(p->in.bands_after)
                                               : p->in.bands_before ? json_string(p->in.bands_before) : json_null());
    json_object_set_new(params, "threshold",
                        !isnan(c->treq.fixed) ? json_real(c->treq.fixed)
                        : json_string(c->treq.ki ? "ki" : c->treq.is_auto ? "auto" : "otsu"));
    /* false, or the map's options once the display bands are known (chain_map_spec) */
    json_object_set_new(params, "map", json_false());
    json_object_set_new(params, "keep_score", json_boolean(p->out.keep_score));
    json_object_set_new(params, "mmu_px", p->decide.mmu_px >= 0 ? json_integer(p->decide.mmu_px) : json_null());
    if (c->m->table)
        json_object_set_new(params, "nbr_classes", json_string(c->ctab ? c->ctab->name : "binary"));
    c->sensor = gd_sensor_parse(p->in.sensor ? p->in.sensor : "auto");
    if (c->sensor < 0)
        return gd_job_error(job, GD_EUSAGE, "--sensor '%s' is not auto, none, s2l2a, s2l1c, "
                                            "landsat-c2l2 or s1", p->in.sensor);
    json_object_set_new(params, "sensor", json_string(gd_sensor_name(c->sensor)));
    json_object_set_new(params, "s2_offset", p->in.has_s2_offset ? json_real(p->in.s2_offset) : json_null());
    json_object_set_new(params, "aoi", p->grid.aoi ? json_string(p->grid.aoi) : json_null());
    json_object_set_new(params, "t_srs", p->grid.t_srs ? json_string(p->grid.t_srs) : json_null());
    json_object_set_new(params, "res", p->grid.res > 0.0 ? json_real(p->grid.res) : json_null());
    json_object_set_new(params, "mask_before", p->in.mask_before ? json_string(p->in.mask_before) : json_null());
    json_object_set_new(params, "mask_after", p->in.mask_after ? json_string(p->in.mask_after) : json_null());
    gd_chain_exposure_params(c);
    c->run.m = c->m;
    c->run.p = p;
    return c->m->ops->configure ? c->m->ops->configure(job, &c->run, params) : GD_OK;
}

/* Open both dates, build the grid, align them on it, pick the method's bands,
 * co-register, and cut to the AOI. */
static int chain_open_grid(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    int st;
    gd_job_progress_range(job, 0.0, 0.02);
    if ((st = gd_source_open(job, p->in.before, "before", &c->bs)) != GD_OK ||
        (st = gd_source_open(job, p->in.after, "after", &c->as)) != GD_OK ||
        (st = (p->grid.aoi || p->grid.t_srs || p->grid.res > 0.0)
                  ? gd_grid_build(job, c->bs, p->grid.aoi, p->grid.t_srs, p->grid.res, &c->grid)
                  : gd_grid_from_source(job, c->bs, &c->grid)) != GD_OK ||
        (st = gd_grid_align(job, c->grid, c->bs, &c->bds, &c->bds_owned)) != GD_OK ||
        (st = gd_grid_align(job, c->grid, c->as, &c->ads, &c->ads_owned)) != GD_OK)
        return st;
    c->run.bs = c->bs;
    c->run.as = c->as;
    c->run.grid = c->grid;
    if ((st = c->m->ops->inputs(job, &c->run)) != GD_OK)
        return st;
    /* the after image on the grid before co-registration: the corrected VRT keeps it open;
     * the dates are matched on their red band, else band 1 */
    c->ads_uncorrected = c->ads;
    int cb[2];
    if ((st = gd_source_find_role(job, c->bs, "before", p->in.bands_before, "red", &cb[0])) != GD_OK ||
        (st = gd_source_find_role(job, c->as, "after",
                                  p->in.bands_after ? p->in.bands_after : p->in.bands_before, "red",
                                  &cb[1])) != GD_OK)
        return st;
    for (int d = 0; d < 2; d++)
        cb[d] = cb[d] ? cb[d] : 1;
    if ((st = gd_coreg_chain(job, &p->coreg, c->run.sar, cb, c->bs, c->bds, &c->ads, &c->ads_owned,
                             &c->coreg_px, c->coreg_field)) != GD_OK)
        return st;
    if (c->grid->cutline) {
        /* detection sees the dates cut to the AOI; co-registration (above) and the map
         * see them whole, as the cut leaves no whole window to match */
        c->bfull = c->bds, c->bfull_owned = c->bds_owned;
        c->afull = c->ads, c->afull_owned = c->ads_owned;
        c->bds = c->ads = NULL;
        c->bds_owned = c->ads_owned = 0;
        if ((st = gd_grid_cut(job, c->grid, c->bfull, &c->bds)) != GD_OK)
            return st;
        c->bds_owned = 1;
        if ((st = gd_grid_cut(job, c->grid, c->afull, &c->ads)) != GD_OK)
            return st;
        c->ads_owned = 1;
    }
    if (!c->grid->wkt)
        gd_job_warn(job, "neither image has a CRS: comparing them pixel for pixel (%dx%d); "
                         "areas are given in pixels", c->grid->width, c->grid->height);
    return GD_OK;
}

/* The method's bands on the grid as values: sensor scale/offset, dB to linear, clouds. */
static int chain_bands(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    gd_method_run *r = &c->run;
    int st;
    json_t *bands_used = json_array();
    for (size_t k = 0; k < r->nb; k++) {
        gd_band tmp, btmp;
        if ((st = gd_band_from(job, c->bds, r->bidx[k], &c->bb[k])) != GD_OK ||
            (st = gd_band_from(job, c->bs->ds, r->bidx[k], &btmp)) != GD_OK ||
            (st = gd_band_from(job, c->ads, r->aidx[k], &c->ab[k])) != GD_OK ||
            (st = gd_band_from(job, c->as->ds, r->aidx[k], &tmp)) != GD_OK) {
            json_decref(bands_used);
            return st;
        }
        /* a warped VRT does not carry the source's scale and offset */
        c->bb[k].scale = btmp.scale;
        c->bb[k].offset = btmp.offset;
        c->bb[k].name = btmp.name;
        c->ab[k].scale = tmp.scale;
        c->ab[k].offset = tmp.offset;
        c->ab[k].name = tmp.name;
        json_array_append_new(bands_used, json_pack("{s:i, s:i}", "before", r->bidx[k],
                                                    "after", r->aidx[k]));
    }
    json_object_set_new(gd_job_auto(job), "bands", bands_used);
    /* digital numbers to reflectance before any reader (engine, SAR, IR-MAD, CVA weights) */
    if ((st = gd_sensor_apply(job, c->bs, "before", c->sensor, p->in.has_s2_offset, p->in.s2_offset,
                              c->bb, r->bidx, r->nb)) != GD_OK ||
        (st = gd_sensor_apply(job, c->as, "after", c->sensor, p->in.has_s2_offset, p->in.s2_offset,
                              c->ab, r->aidx, r->nb)) != GD_OK)
        return st;
    /* sigma0 in dB becomes linear power before the log-ratio */
    if (r->db_to_linear) {
        const gd_source *src[2] = {c->bs, c->as};
        const char *const label[2] = {"before", "after"};
        gd_band *band[2] = {&c->bb[0], &c->ab[0]};
        const int idx[2] = {r->bidx[0], r->aidx[0]};
        if ((st = gd_sensor_sar_db_n(job, src, label, band, idx, 2)) != GD_OK)
            return st;
    }
    /* clouds and shadows become nodata where the rows are read */
    if ((st = gd_mask_attach(job, c->grid, c->bs, "before", p->in.mask_before, NULL, NULL, c->bb,
                             r->nb, c->mask_own[0])) != GD_OK ||
        (st = gd_mask_attach(job, c->grid, c->as, "after", p->in.mask_after, c->bds, c->coreg_field,
                             c->ab, r->nb, c->mask_own[1])) != GD_OK)
        return st;
    r->bb = c->bb;
    r->ab = c->ab;
    /* 8-bit SAR amplitudes hold zeros: +1 keeps the ratio finite; calibrated sigma0 is
     * small and gets a tiny offset instead */
    if (r->sar) {
        GDALDataType dt = GDALGetRasterDataType(GDALGetRasterBand(c->bs->ds, r->bidx[0]));
        r->eps = (dt == GDT_Byte || dt == GDT_UInt16 || dt == GDT_Int16) ? 1.0f : 1e-6f;
        json_object_set_new(gd_job_auto(job), "logratio_eps", json_real(r->eps));
    }
    return GD_OK;
}

/* Memory refused before allocating (the method's bytes per pixel and the engine's
 * strips of 256 rows per band and date), then the method's score. */
static int chain_score(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_grid *grid = c->grid;
    uint64_t px = (uint64_t)grid->width * (uint64_t)grid->height;
    uint64_t strips = 2u * c->run.nb * (uint64_t)grid->width *
                      (grid->height < 256 ? (uint64_t)grid->height : 256u) * 4u;
    char what[128];
    int st;
    snprintf(what, sizeof what, "the %dx%d grid of %s", grid->width, grid->height, c->p->in.before);
    if ((st = gd_limits_check_memory(job, what, c->m->ops->bytes_per_pixel(&c->run) * px +
                                                    strips)) != GD_OK)
        return st;
    gd_job_progress_range(job, 0.02, 0.60);
    return c->m->ops->score ? c->m->ops->score(job, &c->run, &c->score)
                            : gd_method_stream(job, &c->run, &c->score);
}

static int chain_threshold(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_method *m = c->m;
    int st = GD_OK;
    c->t = NAN;
    if (c->ctab)
        c->tmode = c->ctab->name; /* fixed breaks: no single threshold (t stays NaN) */
    else if (m->ops->threshold)
        st = m->ops->threshold(job, &c->run, &c->score, &c->treq, &c->t, &c->tmode);
    else
        st = gd_threshold_pick(job, m, &c->score, &c->treq, &c->t, &c->tmode);
    if (st != GD_OK)
        return st;
    if (c->ctab)
        gd_severity_record(job, c->ctab);
    else {
        gd_job_say(job, "threshold (%s): %.6g%s", c->tmode, c->t, m->two_sided ? " on |score|" : "");
        json_object_set_new(gd_job_auto(job), "threshold",
                            json_pack("{s:s, s:f, s:b}", "mode", c->tmode, "value", c->t,
                                      "on_abs_score", m->two_sided));
    }
    return GD_OK;
}

/* Classes, the method's decision step, then the minimum mapping unit. */
static int chain_decide(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    const gd_method *m = c->m;
    const gd_grid *grid = c->grid;
    int st;
    gd_job_progress_range(job, 0.60, 0.66);
    if ((st = m->ops->classify ? m->ops->classify(job, &c->run, &c->score, c->t, &c->classes)
              : c->ctab ? gd_classify_table(job, &c->score, c->ctab, &c->classes)
                        : gd_classify(job, &c->score, c->t, m->two_sided, &c->classes)) != GD_OK)
        return st;
    if (m->ops->decide &&
        (st = m->ops->decide(job, &c->run, &c->score, c->t, c->classes)) != GD_OK)
        return st;
    int own_mmu = m->ops->default_mmu_px > 0;
    c->mmu = p->decide.mmu_ha >= 0 ? p->decide.mmu_ha : (grid->wkt && !own_mmu ? 0.1 : 0.0);
    c->min_px = 0;
    if (p->decide.mmu_px >= 0) {
        c->min_px = p->decide.mmu_px;
    } else if (own_mmu && p->decide.mmu_ha < 0) {
        c->min_px = m->ops->default_mmu_px;
    } else if (c->mmu > 0 && grid->wkt) {
        double px_m2 = gd_grid_pixel_area(grid, grid->height / 2);
        c->min_px = (int)ceil(c->mmu * 1e4 / px_m2 - 1e-9);
    } else if (c->mmu > 0) {
        gd_job_warn(job, "--mmu-ha %g ignored: a pixel grid without CRS has no area", c->mmu);
    }
    json_object_set_new(gd_job_auto(job), "mmu", json_pack("{s:f, s:i}", "ha", c->mmu,
                                                            "min_pixels", c->min_px));
    json_object_set_new(gd_job_params(job), "mmu_ha", json_real(c->mmu));
    gd_hasher_hold(c->hasher, 0); /* the sieve runs on one thread */
    return gd_clean_sieve(job, grid, c->classes, c->min_px);
}

/* The map's page size and layout (what its panels' size follows). */
static void map_layout(const gd_detect_params *p, gd_map_spec *spec)
{
    spec->layout = p->map.layout;
    spec->width = p->map.width;
    if (p->map.dpi > 0)
        spec->dpi = p->map.dpi;
}

/* The map's display bands, before the score pass: a method scored on the engine's strips
 * has the pass box-average them into the panels as strips go by (each input decoded
 * once). Not with an AOI cut (the map shows the dates uncut) nor for methods that score
 * themselves, unless their score pass makes them too (run.score_panels: the SAR score):
 * their map reads the panels itself. */
static int chain_map_bands(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    int st;
    if (p->map.off)
        return GD_OK;
    const char *bspec = p->in.bands_before, *aspec = p->in.bands_after ? p->in.bands_after : p->in.bands_before;
    int sar = c->run.map_sar;
    if ((st = gd_map_pick_bands(job, c->bs, "before", bspec, p->map.bands, sar, c->run.bidx[0],
                                &c->mb)) != GD_OK ||
        (st = gd_map_pick_bands(job, c->as, "after", aspec, p->map.bands, sar, c->run.aidx[0],
                                &c->ma)) != GD_OK)
        return st;
    c->mb.ds = c->bfull ? c->bfull : c->bds; /* the before date on the grid, uncut */
    if (sar) { /* images already in dB are shown as they are */
        c->mb.db = !c->bb[0].db_to_linear;
        c->ma.db = !c->ab[0].db_to_linear;
    }
    int nb = c->ma.bands[1] > 0 && c->ma.bands[2] > 0 ? 3 : 1;
    int nbb = c->mb.bands[1] > 0 && c->mb.bands[2] > 0 ? 3 : 1;
    if ((c->m->ops->score && !c->run.score_panels) || c->grid->cutline || nb != nbb)
        return GD_OK;
    gd_map_spec spec;
    gd_map_spec_init(&spec);
    map_layout(p, &spec);
    gd_engine_panels *pn = &c->pan;
    gd_map_panel_size(&spec, c->grid, spec.layout == GD_MAP_TRIPTYCH, &pn->pw, &pn->ph);
    pn->nb = nb;
    for (int b = 0; b < nb; b++) {
        pn->bands[0][b] = c->mb.bands[b];
        pn->bands[1][b] = c->ma.bands[b];
        for (int d = 0; d < 2; d++)
            if (!(pn->out[d][b] = malloc(sizeof(float) * (size_t)pn->pw * (size_t)pn->ph)))
                return gd_job_error(job, GD_EPROC, "out of memory for the map");
    }
    c->run.panels = pn;
    return GD_OK;
}

/* The map's options, chosen before the run id as they are part of it. */
static int chain_map_spec(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    gd_map_spec *spec = &c->spec;
    if (p->map.off)
        return GD_OK;
    gd_map_spec_init(spec);
    spec->title = p->map.title;
    spec->area = p->map.area;
    spec->date_before = c->bs->date;
    spec->date_after = c->as->date;
    spec->before_path = p->in.before;
    spec->after_path = p->in.after;
    spec->credit = p->map.credit;
    spec->caveat = p->map.caveat;
    spec->note = c->run.note;
    spec->threshold = c->t;
    spec->threshold_mode = c->tmode;
    map_layout(p, spec);
    if (p->map.stretch_hi > p->map.stretch_lo) {
        spec->stretch_lo = p->map.stretch_lo;
        spec->stretch_hi = p->map.stretch_hi;
    }
    spec->zones = p->map.overlay;
    spec->zone_field = p->map.overlay_field;
    spec->aoi = p->map.aoi ? p->map.aoi : p->grid.aoi;
    spec->population = p->exposure.population;
    spec->exposure = p->exposure.features;
    /* their dates on the credit line (not in the map's parameters: a file date is no
     * part of what the run id follows from; recorded in auto.aux_dates instead) */
    const char *auxp[2] = {p->exposure.population, p->exposure.features};
    static const char *const auxn[2] = {"population", "exposure"};
    for (int k = 0; k < 2; k++) {
        char why[160];
        if (!auxp[k] || !gd_aux_date(auxp[k], c->aux_date[k], sizeof c->aux_date[k], why,
                                     sizeof why))
            continue;
        json_t *ad = json_object_get(gd_job_auto(c->job), "aux_dates");
        if (!ad) {
            ad = json_object();
            json_object_set_new(gd_job_auto(c->job), "aux_dates", ad);
        }
        json_object_set_new(ad, auxn[k], json_pack("{s:s, s:s}", "date", c->aux_date[k],
                                                   "from", why));
    }
    spec->population_date = c->aux_date[0][0] ? c->aux_date[0] : NULL;
    spec->exposure_date = c->aux_date[1][0] ? c->aux_date[1] : NULL;
    json_t *mj = gd_map_spec_json(spec);
    json_object_set_new(mj, "bands", json_string(c->ma.names));
    json_object_set_new(gd_job_params(job), "map", mj);
    return GD_OK;
}

/* The run id, before the first output: the inputs' hashes and the parameters. */
static int chain_run_id(gd_chain *c)
{
    gd_job *job = c->job;
    int st;
    /* zones and alert levels are part of the run id too */
    if ((st = gd_summary_params(job, &c->p->summary, c->m)) != GD_OK ||
        (st = gd_hasher_join(job, c->hasher)) != GD_OK)
        return st;
    const char *hx[2 + GD_AUX_MAX] = {gd_hasher_hex(c->hasher, 0), gd_hasher_hex(c->hasher, 1)};
    char auxid[GD_AUX_MAX][GD_AUX_ID_LEN];
    for (size_t i = 0; i < c->aux.n; i++) {
        gd_aux_run_id_entry(c->aux.role[i], gd_hasher_hex(c->hasher, 2 + i), auxid[i]);
        hx[2 + i] = auxid[i];
    }
    if ((st = gd_run_id(job, hx, 2 + c->aux.n, gd_job_params(job), c->run_id)) != GD_OK)
        return st;
    c->hash_s = gd_hasher_seconds(c->hasher, &c->hash_wait);
    gd_job_set_run_id(job, c->run_id);
    gd_job_info(job, "inputs hashed in %.3f s in the background (waited %.3f s); run id %s",
                c->hash_s, c->hash_wait, c->run_id);
    return GD_OK;
}

/* After the classes, the outputs that need only them run side by side: change.tif and
 * map.png each on its own thread (gd_task) while this one makes the polygons,
 * summary.json and score.tif. A side task's context shares the OUTDIR's private
 * temporaries and the job's threads (GDAL's compression); with one thread it runs in
 * line, on the job. */
typedef struct side_out {
    gd_chain *c;
    char path[4096];
} side_out;

static int cog_task(gd_job *job, void *arg)
{
    const side_out *o = arg;
    const gd_chain *c = o->c;
    return gd_write_change_cog(job, c->grid, c->classes, c->m, c->t, o->path);
}

static int map_task(gd_job *job, void *arg)
{
    const side_out *o = arg;
    gd_chain *c = o->c;
    return gd_render_map(job, c->grid, &c->mb, &c->ma, c->classes, c->m, c->totals, &c->spec,
                         o->path);
}

/* The map's inputs and options, made ready for map_task. */
static void chain_map_ready(gd_chain *c)
{
    const gd_detect_params *p = c->p;
    /* the after date on the grid; the co-registered one only when its correction shows
     * on the map (at least half a panel pixel): reading a decimated panel through the
     * resampling VRT costs a full-resolution warp of the scene */
    double map_w = c->spec.width > 0 ? c->spec.width : c->spec.dpi * 297.0 / 25.4;
    double panel_w = c->spec.layout == GD_MAP_SINGLE ? map_w : map_w / 3.0;
    double scale = panel_w / c->grid->width;
    c->ma.ds = c->coreg_px * scale >= 0.5 ? (c->afull ? c->afull : c->ads) : c->ads_uncorrected;
    if (c->run.panels) /* made by the score pass, the after date co-registered */
        for (int d = 0; d < 2; d++) {
            gd_map_image *im = d ? &c->ma : &c->mb;
            for (int b = 0; b < c->pan.nb; b++)
                im->panel[b] = c->pan.out[d][b];
            im->panel_w = c->pan.pw;
            im->panel_h = c->pan.ph;
        }
    c->spec.run_id = c->run_id;
    gd_path_join(c->pdf_path, sizeof c->pdf_path, p->out.dir, "map.pdf");
    c->spec.pdf_path = gd_chain_deliver_on(c, "pdf") ? c->pdf_path : NULL;
    c->spec.pdf_a3 = p->out.pdf_a3;
    c->spec.frame = &c->frame;
    c->spec.panels = gd_chain_deliver_on(c, "report") ? &c->panels : NULL;
}

/* change.tif, change.geojson, summary.json, map.png, score.tif. */
static int chain_outputs(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    char path[4096];
    int st;
    gd_job_progress_range(job, 0.66, 0.78);
    /* the figures the map and the summary print, before either starts */
    if ((st = gd_chain_exposure(c)) != GD_OK ||
        (st = gd_class_totals(job, c->grid, c->classes, c->totals, &c->valid, &c->valid_ha)) !=
            GD_OK)
        return st;
    const unsigned side = GD_TASK_OUTDIR | GD_TASK_THREADS;
    side_out cog_out = {.c = c}, map_out = {.c = c};
    gd_task cog = {0}, map = {0};
    gd_path_join(cog_out.path, sizeof cog_out.path, p->out.dir, "change.tif");
    if ((st = gd_task_start(job, &cog, cog_task, &cog_out, side)) != GD_OK)
        return st;
    if (!p->map.off) {
        chain_map_ready(c);
        gd_path_join(map_out.path, sizeof map_out.path, p->out.dir, "map.png");
        if ((st = gd_task_start(job, &map, map_task, &map_out, side)) != GD_OK)
            return gd_task_join(job, &cog, st);
    }
    gd_path_join(path, sizeof path, p->out.dir, "change.geojson");
    gd_job_progress_push(job, 0.78, 0.90); /* vectorize reports 0..1 of this slot */
    st = gd_vectorize(job, c->grid, c->classes, &c->score, c->m, c->people, path, c->totals);
    gd_job_progress_pop(job);
    if (st == GD_OK)
        st = gd_chain_summary(c);
    gd_job_progress_range(job, 0.90, 0.97);
    if (st == GD_OK && p->out.keep_score) {
        gd_path_join(path, sizeof path, p->out.dir, "score.tif");
        st = gd_chain_write_score(job, c->grid, &c->score, path);
    }
    double own = gd_now(), joined;
    st = gd_task_join(job, &map, st);
    st = gd_task_join(job, &cog, st);
    joined = gd_now();
    if (st == GD_OK && cog.threaded)
        gd_job_info(job, "change.tif written in %.2f s (beside the polygons and the map); "
                         "the polygons' thread then waited %.2f s for them",
                    cog.seconds, joined - own);
    return st;
}

static void chain_free(gd_chain *c)
{
    if (c->m && c->m->ops->release)
        c->m->ops->release(&c->run);
    gd_outdir_release(c->job); /* integrity: the run's temporaries go, the lock is released */
    gd_hasher_destroy(c->hasher);
    gd_signer_destroy(c->signer);
    free(c->in_abs[0]);
    free(c->in_abs[1]);
    gd_aux_free(&c->aux);
    gd_chain_exposure_free(c);
    gd_map_panels_free(&c->panels);
    for (int d = 0; d < 2; d++)
        for (int b = 0; b < 3; b++)
            free(c->pan.out[d][b]);
    free(c->classes);
    gd_score_free(&c->score);
    for (int d = 0; d < 2; d++)
        for (int i = 2; i >= 0; i--) /* each warped VRT before the dataset it reads */
            if (c->mask_own[d][i])
                GDALClose(c->mask_own[d][i]);
    if (c->ads && c->ads_owned)
        GDALClose(c->ads);
    if (c->bds && c->bds_owned)
        GDALClose(c->bds);
    if (c->afull && c->afull_owned)
        GDALClose(c->afull);
    if (c->bfull && c->bfull_owned)
        GDALClose(c->bfull);
    gd_grid_destroy(c->grid);
    gd_source_destroy(c->as);
    gd_source_destroy(c->bs);
    gd_discover_destroy(c->disc);
    gd_job_close_log(c->job);
}

int gd_detect_run(gd_job *job, const gd_detect_params *p)
{
    gd_chain *c = calloc(1, sizeof *c);
    if (!c)
        return gd_job_error(job, GD_EPROC, "out of memory");
    c->job = job;
    c->p = p;
    c->t0 = gd_now();
    gd_utc_now(c->start);
    c->m = gd_method_find(p->method ? p->method : "");
    int st;
    if (!c->m) {
        st = gd_job_error(job, GD_EUSAGE,
                          "unknown method '%s' (see 'geodelta methods' for the list)",
                          p->method ? p->method : "");
        free(c);
        return st;
    }
    /* each stage's wall time, in run.log: where a run's time goes, without a profiler */
    static const struct {
        const char *name;
        int (*fn)(gd_chain *);
    } stages[] = {{"start", chain_start},       {"params", chain_params},
                  {"grid", chain_open_grid},    {"bands", chain_bands},
                  {"panels", chain_map_bands},  {"score", chain_score},
                  {"threshold", chain_threshold}, {"decide", chain_decide},
                  {"map-spec", chain_map_spec}, {"run-id", chain_run_id},
                  {"outputs", chain_outputs},   {"deliver", gd_chain_deliver}};
    char times[512];
    size_t tl = 0;
    times[0] = '\0';
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        double s0 = gd_now();
        if ((st = stages[i].fn(c)) != GD_OK)
            goto done;
        double dt = gd_now() - s0;
        if (dt >= 0.005 && tl < sizeof times)
            tl += (size_t)snprintf(times + tl, sizeof times - tl, "%s%s %.2f s", tl ? ", " : "",
                                   stages[i].name, dt);
    }
    gd_job_info(job, "stage times: %s", times);
    gd_job_progress_range(job, 0.97, 1.0);
    /* integrity: an input swapped, grown or rewritten since it was hashed: exit 2 */
    if ((st = gd_hasher_check_identity(job, c->hasher)) != GD_OK ||
        (st = gd_chain_manifest(c)) != GD_OK)
        goto done;
    gd_job_progress_done(job);
done:
    chain_free(c);
    free(c);
    return st;
}
