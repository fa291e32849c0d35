/* chain.c: runs the detect chain stage by stage and writes the outputs and manifest. */
#include "geodelta/coreg.h"
#include "geodelta/detect.h"
#include "geodelta/engine.h"
#include "geodelta/limits.h"
#include "geodelta/provenance.h"
#include "geodelta/stages.h"
#include "geodelta/urban.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <errno.h>
#include <gd_kernels.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const outputs[] = {"change.tif", "change.geojson", "summary.json",
                                      "map.png", "manifest.json", "manifest.sig", "run.log",
                                      "score.tif", "zones.csv", "zones.geojson"};

/* run.log of an earlier failed run must not block a retry: it is simply replaced */
static int is_product(const char *name) { return strcmp(name, "run.log") != 0; }

void gd_detect_params_init(gd_detect_params *p)
{
    memset(p, 0, sizeof *p);
    p->threshold = "auto";
    p->mmu_ha = -1.0;
    p->mmu_px = -1;
    p->smooth_window = -1;
    p->mrf_beta = -1.0;
    p->hyst_low = -1.0;
    p->mrf_bias = NAN;
    p->max_slope = -1.0;
}

/* SAR defaults (logratio, pcakmeans), chosen from the accuracy suite: see README */
#define SAR_SPECKLE GD_SPECKLE_REFINED_LEE
#define SAR_SPECKLE_WINDOW 9      /* pcakmeans (with the MRF: sweep_sar.sh) */
/* logratio: Lee 7, FLICM, then the MRF with a prior towards change; the one setting of
 * sweep_sar.sh meeting the four issue-6 targets (README, SAR MRF) */
#define LOGRATIO_SPECKLE_WINDOW 7
#define LOGRATIO_DECISION GD_SAR_FLICM
#define LOGRATIO_MRF_BIAS -1.5
#define FLOOD_SPECKLE_WINDOW 7    /* flood's SAR ratio rule was measured with 7 */
#define SAR_SMOOTH_WINDOW 3      /* logratio; pcakmeans's blocks already average */
#define PCA_BLOCK 3
#define SAR_MRF_BETA 3.5         /* logratio, pcakmeans: Potts weight (sweep: README) */
#define SAR_NR_WINDOW 3          /* --sar-score nr: Gong, Cao & Wu (2012) use 3x3 */
#define SAR_HYST_LOW 0.7         /* --sar-decision hysteresis: low threshold / threshold */
#define IRMAD_MAX_ITER 50
#define IRMAD_P 0.01
#define FLOOD_MIN_PX 8           /* UN-SPIDER: drop patches of fewer than 8 connected px */

static int sar_params(gd_job *job, const gd_detect_params *p, gd_sar_params *sp)
{
    static const char *const names[] = {"none", "lee", "refined-lee", "gamma-map"};
    sp->speckle = SAR_SPECKLE;
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
    int kind = gd_method_find(p->method)->kind;
    sp->speckle_window = p->speckle_window > 0 ? p->speckle_window
                       : kind == GD_KIND_FLOOD    ? FLOOD_SPECKLE_WINDOW
                       : kind == GD_KIND_LOGRATIO ? LOGRATIO_SPECKLE_WINDOW
                                                  : SAR_SPECKLE_WINDOW;
    sp->smooth_window = p->smooth_window >= 0 ? p->smooth_window
                      : (gd_method_find(p->method)->kind == GD_KIND_PCAKMEANS ? 0 : SAR_SMOOTH_WINDOW);
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

/* --sar-decision: the decision of logratio/pcakmeans before the MRF */
static int sar_decision(gd_job *job, const gd_detect_params *p, int *decision, double *low)
{
    static const char *const names[] = {"threshold", "hysteresis", "flicm"};
    *decision = -1;
    if (!p->sar_decision)
        *decision = gd_method_find(p->method)->kind == GD_KIND_LOGRATIO ? LOGRATIO_DECISION
                                                                       : GD_SAR_THRESHOLD;
    for (int k = 0; k < 3 && p->sar_decision; k++)
        if (strcmp(p->sar_decision, names[k]) == 0)
            *decision = k;
    if (*decision < 0)
        return gd_job_error(job, GD_EUSAGE, "--sar-decision '%s' is not threshold, hysteresis "
                            "or flicm", p->sar_decision);
    *low = p->hyst_low >= 0 ? p->hyst_low : SAR_HYST_LOW;
    return GD_OK;
}

/* --overwrite: the old manifest goes first so that an interrupted rerun never looks
 * complete, then every other earlier output (one this run does not write again, such
 * as score.tif, must not be hashed into the new manifest). */
static int remove_old_outputs(gd_job *job, const gd_detect_params *p)
{
    char path[4096];
    gd_path_join(path, sizeof path, p->outdir, "manifest.json");
    if (unlink(path) != 0 && errno != ENOENT)
        return gd_job_error(job, GD_EOUTPUT, "cannot remove %s: %s", path, strerror(errno));
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        if (!is_product(outputs[i]))
            continue;
        gd_path_join(path, sizeof path, p->outdir, outputs[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return gd_job_error(job, GD_EOUTPUT, "cannot remove %s: %s", path, strerror(errno));
    }
    return GD_OK;
}

/* Checks the output folder before any work: writable, and no earlier outputs unless
 * --overwrite, which removes them all before run.log is rewritten (the old manifest
 * lists run.log: keeping it would leave a manifest that no longer verifies). */
static int prepare_outdir(gd_job *job, const gd_detect_params *p)
{
    int st = gd_mkdir_p(job, p->outdir);
    if (st != GD_OK)
        return st;
    if (access(p->outdir, W_OK) != 0)
        return gd_job_error(job, GD_EOUTPUT, "output folder %s is not writable: %s", p->outdir,
                            strerror(errno));
    char path[4096];
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0] && !p->overwrite; i++) {
        gd_path_join(path, sizeof path, p->outdir, outputs[i]);
        if (access(path, F_OK) == 0 && is_product(outputs[i]))
            return gd_job_error(job, GD_EOUTPUT,
                                "%s already exists (hint: --overwrite replaces the outputs in %s)",
                                path, p->outdir);
    }
    return p->overwrite ? remove_old_outputs(job, p) : GD_OK;
}

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

static int write_score(gd_job *job, const gd_grid *grid, gd_score *s, const char *path)
{
    char tmp[4096];
    int st = gd_tmp_name(job, path, tmp, sizeof tmp);
    GDALDatasetH mem = NULL, out = NULL;
    char **opts = NULL;
    if (st != GD_OK)
        return st;
    if (s->file)
        mem = s->file; /* the engine's temporary file already is a float32 GeoTIFF */
    else if ((st = gd_mem_dataset(job, grid, s->data, GDT_Float32, &mem)) != GD_OK)
        return st;
    GDALSetRasterNoDataValue(GDALGetRasterBand(mem, 1), NAN);
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "PREDICTOR", "3");
    opts = CSLSetNameValue(opts, "TILED", "YES");
    out = GDALCreateCopy(GDALGetDriverByName("GTiff"), tmp, mem, FALSE, opts, NULL, NULL);
    if (!out)
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write %s", path);
    else {
        GDALClose(out);
        st = gd_commit_file(job, tmp, path);
    }
    if (mem != s->file)
        GDALClose(mem);
    CSLDestroy(opts);
    return st;
}

static json_t *crs_json(const gd_grid *g)
{
    if (!g->wkt)
        return json_null();
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    json_t *o = json_object();
    if (OSRSetFromUserInput(s, g->wkt) == OGRERR_NONE) {
        const char *name = OSRGetName(s);
        const char *auth = OSRGetAuthorityName(s, NULL), *code = OSRGetAuthorityCode(s, NULL);
        if (name)
            json_object_set_new(o, "name", json_string(name));
        if (auth && code) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s:%s", auth, code);
            json_object_set_new(o, "id", json_string(buf));
        }
    }
    OSRDestroySpatialReference(s);
    return o;
}

static char *abs_path(const char *p)
{
    char buf[PATH_MAX];
    if (strncmp(p, "/vsi", 4) != 0 && realpath(p, buf))
        return strdup(buf);
    return strdup(p);
}

int gd_detect_run(gd_job *job, const gd_detect_params *p)
{
    int st = GD_OK;
    gd_source *bs = NULL, *as = NULL;
    gd_grid *grid = NULL;
    GDALDatasetH ads = NULL, ads_uncorrected = NULL, bds = NULL;
    GDALDatasetH bfull = NULL, afull = NULL; /* with --aoi: the dates on the grid, uncut */
    int ads_owned = 0, bds_owned = 0, bfull_owned = 0, afull_owned = 0;
    double coreg_px = 0.0, coreg_field[6] = {0, 0, 0, 0, 0, 0};
    gd_band bb[64], ab[64];
    float weights[64];
    size_t nb = 0;
    gd_score score = {0};
    uint8_t *classes = NULL;
    json_t *summary = NULL, *manifest = NULL;
    char path[4096], start[32], end[32];
    double t0 = gd_now();
    const gd_method *m = gd_method_find(p->method ? p->method : "");
    gd_class_total totals[GD_MAX_CLASSES];
    gd_method mt;                       /* m with the names of its class table */
    const gd_class_table *ctab = NULL;  /* nbr: the USGS severity classes */
    uint8_t *water = NULL;              /* flood, optical: water before (1) / after (2) */
    int flood_index = -1;               /* flood: GD_FLOOD_* */
    gd_hasher *hasher = NULL;
    gd_signer *signer = NULL;
    char *in_abs[2] = {NULL, NULL};
    gd_aux_inputs aux = {0};            /* --dem, --permanent-water, masks, zones, overlay */
    gd_flood_aux *faux = NULL;          /* flood: slope and permanent-water masks */
    char run_id[65] = "";
    gd_map_image mb, ma;
    gd_map_spec spec;
    double hash_s = 0.0, hash_wait = 0.0;
    GDALDatasetH mask_own[2][3] = {{NULL, NULL, NULL}, {NULL, NULL, NULL}}; /* cloud masks (mask.c) */
    memset(totals, 0, sizeof totals);
    gd_utc_now(start);

    if (!m)
        return gd_job_error(job, GD_EUSAGE,
                            "unknown method '%s' (see 'geodelta methods' for the list)",
                            p->method ? p->method : "");
    double fixed_t = NAN;
    int use_ki = p->threshold && strcmp(p->threshold, "ki") == 0;
    /* urban: Kittler-Illingworth is its automatic threshold (README Accuracy, OSCD) */
    if (m->kind == GD_KIND_URBAN && (!p->threshold || strcmp(p->threshold, "auto") == 0))
        use_ki = 1;
    if (p->threshold && strcmp(p->threshold, "auto") != 0 && strcmp(p->threshold, "otsu") != 0 &&
        !use_ki) {
        char *endp = NULL;
        fixed_t = strtod(p->threshold, &endp);
        if (!endp || *endp || endp == p->threshold || !isfinite(fixed_t) || fixed_t < 0)
            return gd_job_error(job, GD_EUSAGE,
                                "--threshold '%s' is not auto, otsu, ki or a non-negative number",
                                p->threshold);
    }
    if ((st = gd_severity_choose(job, p, &m, &mt, &ctab)) != GD_OK)
        return st;
    if ((p->dem || p->permanent_water) && m->kind != GD_KIND_FLOOD)
        return gd_job_error(job, GD_EUSAGE, "--dem and --permanent-water are options of -m flood");
    /* a bad key is found before any work is done */
    if (p->sign_key && (st = gd_signer_create(job, p->sign_key, &signer)) != GD_OK)
        return st;
    if ((st = prepare_outdir(job, p)) != GD_OK)
        goto done;
    gd_path_join(path, sizeof path, p->outdir, "run.log");
    if ((st = gd_job_open_log(job, path)) != GD_OK)
        goto done;
    gd_job_info(job, "geodelta %s, kernels %s", GD_VERSION, gd_kernels_isa_name());
    /* the inputs are hashed while source, grid and detect run; joined before the first
     * output because the outputs carry the run id, which needs the hashes */
    in_abs[0] = abs_path(p->before);
    in_abs[1] = abs_path(p->after);
    if (!in_abs[0] || !in_abs[1]) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    if ((st = gd_aux_collect(job, p, &aux)) != GD_OK)
        goto done;
    {
        const char *hp[2 + GD_AUX_MAX] = {in_abs[0], in_abs[1]};
        for (size_t i = 0; i < aux.n; i++)
            hp[2 + i] = aux.path[i];
        if ((st = gd_hasher_start(job, hp, 2 + aux.n, &hasher)) != GD_OK)
            goto done;
    }
    gd_job_set_workdir(job, p->outdir); /* the engine's temporary score, if any */
    gd_engine_configure(job);

    /* every option with its default resolved: the run id is a digest of these */
    json_t *params = gd_job_params(job);
    json_object_set_new(params, "method", json_string(m->name));
    json_object_set_new(params, "bands_before", p->bands_before ? json_string(p->bands_before) : json_null());
    json_object_set_new(params, "bands_after", p->bands_after ? json_string(p->bands_after)
                                               : p->bands_before ? json_string(p->bands_before) : json_null());
    json_object_set_new(params, "threshold",
                        !isnan(fixed_t) ? json_real(fixed_t)
                        : json_string(use_ki ? "ki"
                                      : p->threshold && strcmp(p->threshold, "otsu") == 0 ? "otsu"
                                                                                          : "auto"));
    /* false, or the map's options once the display bands are known (see below) */
    json_object_set_new(params, "map", json_false());
    json_object_set_new(params, "keep_score", json_boolean(p->keep_score));
    json_object_set_new(params, "mmu_px", p->mmu_px >= 0 ? json_integer(p->mmu_px) : json_null());
    if (m->table)
        json_object_set_new(params, "nbr_classes", json_string(ctab ? ctab->name : "binary"));
    if (m->kind == GD_KIND_LOGRATIO || m->kind == GD_KIND_PCAKMEANS || m->kind == GD_KIND_FLOOD) {
        json_object_set_new(params, "speckle", p->speckle ? json_string(p->speckle) : json_null());
        json_object_set_new(params, "speckle_window", p->speckle_window > 0 ? json_integer(p->speckle_window) : json_null());
        json_object_set_new(params, "smooth", p->smooth_window >= 0 ? json_integer(p->smooth_window) : json_null());
    }
    if (m->kind == GD_KIND_URBAN)
        json_object_set_new(params, "smooth", p->smooth_window >= 0 ? json_integer(p->smooth_window) : json_null());
    int sensor = gd_sensor_parse(p->sensor ? p->sensor : "auto");
    if (sensor < 0) {
        st = gd_job_error(job, GD_EUSAGE, "--sensor '%s' is not auto, none, s2l2a, s2l1c, "
                                          "landsat-c2l2 or s1", p->sensor);
        goto done;
    }
    json_object_set_new(params, "sensor", json_string(gd_sensor_name(sensor)));
    json_object_set_new(params, "s2_offset", p->has_s2_offset ? json_real(p->s2_offset) : json_null());
    json_object_set_new(params, "aoi", p->aoi ? json_string(p->aoi) : json_null());
    json_object_set_new(params, "t_srs", p->t_srs ? json_string(p->t_srs) : json_null());
    json_object_set_new(params, "res", p->res > 0.0 ? json_real(p->res) : json_null());
    json_object_set_new(params, "mask_before", p->mask_before ? json_string(p->mask_before) : json_null());
    json_object_set_new(params, "mask_after", p->mask_after ? json_string(p->mask_after) : json_null());
    if (m->kind == GD_KIND_LOGRATIO || m->kind == GD_KIND_PCAKMEANS) {
        json_object_set_new(params, "mrf_beta", p->mrf_beta >= 0 ? json_real(p->mrf_beta) : json_null());
        /* only when given: runs with the defaults keep their run ids */
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
    if (p->dem) /* only when given: runs without a DEM keep their run ids */
        json_object_set_new(params, "max_slope", json_real(p->max_slope >= 0 ? p->max_slope : 5.0));
    if (m->kind == GD_KIND_PCAKMEANS)
        json_object_set_new(params, "pca_block", p->pca_block > 0 ? json_integer(p->pca_block) : json_null());

    /* ---- source and grid ---- */
    gd_job_progress_range(job, 0.0, 0.02);
    if ((st = gd_source_open(job, p->before, "before", &bs)) != GD_OK ||
        (st = gd_source_open(job, p->after, "after", &as)) != GD_OK ||
        (st = (p->aoi || p->t_srs || p->res > 0.0)
                  ? gd_grid_build(job, bs, p->aoi, p->t_srs, p->res, &grid)
                  : gd_grid_from_source(job, bs, &grid)) != GD_OK ||
        (st = gd_grid_align(job, grid, bs, &bds, &bds_owned)) != GD_OK ||
        (st = gd_grid_align(job, grid, as, &ads, &ads_owned)) != GD_OK)
        goto done;
    /* the after image on the grid before co-registration: the corrected VRT keeps it open */
    ads_uncorrected = ads;
    if ((st = gd_coreg_chain(job, p, m, bs, as, bds, &ads, &ads_owned, &coreg_px,
                             coreg_field)) != GD_OK)
        goto done;
    if (grid->cutline) {
        /* detection sees the dates cut to the AOI; co-registration (above) and the map
         * see them whole, as the cut leaves no whole window to match */
        bfull = bds, bfull_owned = bds_owned;
        afull = ads, afull_owned = ads_owned;
        bds = ads = NULL;
        bds_owned = ads_owned = 0;
        if ((st = gd_grid_cut(job, grid, bfull, &bds)) != GD_OK)
            goto done;
        bds_owned = 1;
        if ((st = gd_grid_cut(job, grid, afull, &ads)) != GD_OK)
            goto done;
        ads_owned = 1;
    }
    if (!grid->wkt)
        gd_job_warn(job, "neither image has a CRS: comparing them pixel for pixel (%dx%d); "
                         "areas are given in pixels", grid->width, grid->height);

    /* ---- bands ---- */
    int bidx[64], aidx[64];
    const char *urban_names[6] = {NULL};
    if (m->kind == GD_KIND_NDIFF) {
        for (int r = 0; r < 2; r++) {
            if ((st = need_role(job, bs, "before", p->bands_before, m->name, m->roles[r], &bidx[r])) != GD_OK ||
                (st = need_role(job, as, "after", p->bands_after ? p->bands_after : p->bands_before,
                                m->name, m->roles[r], &aidx[r])) != GD_OK)
                goto done;
        }
        nb = 2;
    } else if (m->kind == GD_KIND_LOGRATIO || m->kind == GD_KIND_PCAKMEANS) {
        if ((st = gd_source_find_role(job, bs, "before", p->bands_before, "sar", &bidx[0])) != GD_OK ||
            (st = gd_source_find_role(job, as, "after", p->bands_after ? p->bands_after : p->bands_before,
                                      "sar", &aidx[0])) != GD_OK)
            goto done;
        if (!bidx[0])
            bidx[0] = 1;
        if (!aidx[0])
            aidx[0] = 1;
        nb = 1;
    } else if (m->kind == GD_KIND_FLOOD) {
        static const char *const idx_names[] = {"mndwi", "ndwi", "sar-ratio"};
        if ((st = gd_flood_bands(job, p, bs, as, bidx, aidx, &nb, &flood_index)) != GD_OK)
            goto done;
        json_object_set_new(gd_job_auto(job), "flood_index", json_string(idx_names[flood_index]));
        if ((st = gd_flood_aux_load(job, p, grid, &faux)) != GD_OK)
            goto done;
    } else if (m->kind == GD_KIND_URBAN) {
        if ((st = gd_urban_bands(job, p, bs, as, bidx, aidx, urban_names, &nb)) != GD_OK)
            goto done;
    } else {
        for (int b = 1; b <= bs->nbands && nb < 64; b++) {
            int k = match_band(bs, as, b);
            /* a cloud mask band (SCL, QA_PIXEL) is a mask, not a measurement */
            if (k > 0 && gd_mask_band_kind(GDALGetRasterBand(bs->ds, b)) == GD_MASK_NONE) {
                bidx[nb] = b;
                aidx[nb] = k;
                nb++;
            }
        }
        if (nb == 0) {
            st = gd_job_error(job, GD_EINPUT, "the two images have no band in common");
            goto done;
        }
    }
    json_t *bands_used = json_array();
    for (size_t k = 0; k < nb; k++) {
        gd_band tmp, btmp;
        if ((st = gd_band_from(job, bds, bidx[k], &bb[k])) != GD_OK ||
            (st = gd_band_from(job, bs->ds, bidx[k], &btmp)) != GD_OK ||
            (st = gd_band_from(job, ads, aidx[k], &ab[k])) != GD_OK ||
            (st = gd_band_from(job, as->ds, aidx[k], &tmp)) != GD_OK) {
            json_decref(bands_used);
            goto done;
        }
        /* a warped VRT does not carry the source's scale and offset */
        bb[k].scale = btmp.scale;
        bb[k].offset = btmp.offset;
        bb[k].name = btmp.name;
        ab[k].scale = tmp.scale;
        ab[k].offset = tmp.offset;
        ab[k].name = tmp.name;
        json_array_append_new(bands_used, json_pack("{s:i, s:i}", "before", bidx[k], "after", aidx[k]));
    }
    json_object_set_new(gd_job_auto(job), "bands", bands_used);
    /* digital numbers to reflectance before any reader (engine, SAR, IR-MAD, CVA weights) */
    if ((st = gd_sensor_apply(job, bs, "before", sensor, p->has_s2_offset, p->s2_offset, bb,
                              bidx, nb)) != GD_OK ||
        (st = gd_sensor_apply(job, as, "after", sensor, p->has_s2_offset, p->s2_offset, ab,
                              aidx, nb)) != GD_OK)
        goto done;
    /* sigma0 in dB becomes linear power before the log-ratio */
    if ((m->kind == GD_KIND_LOGRATIO || m->kind == GD_KIND_PCAKMEANS) &&
        ((st = gd_sensor_sar_db(job, bs, "before", &bb[0], bidx[0])) != GD_OK ||
         (st = gd_sensor_sar_db(job, as, "after", &ab[0], aidx[0])) != GD_OK))
        goto done;
    /* clouds and shadows become nodata where the rows are read */
    if ((st = gd_mask_attach(job, grid, bs, "before", p->mask_before, NULL, NULL, bb, nb,
                             mask_own[0])) != GD_OK ||
        (st = gd_mask_attach(job, grid, as, "after", p->mask_after, bds, coreg_field, ab, nb,
                             mask_own[1])) != GD_OK)
        goto done;
    if (m->kind == GD_KIND_CVA) {
        /* each band scaled by its spread so that no band dominates by its units */
        json_t *wj = json_array();
        for (size_t k = 0; k < nb; k++) {
            double mean, sd = NAN;
            /* our own sample (<= 1 Mpx, decimated read), not GDALComputeRasterStatistics:
             * that one writes the statistics into an .aux.xml beside the input (inputs are
             * evidence and may be read-only), counts +-Inf pixels and overflows near
             * FLT_MAX */
            if ((st = gd_band_finite_stats(job, &bb[k], &mean, &sd)) != GD_OK) {
                json_decref(wj);
                goto done;
            }
            if (!(sd > 0) || !isfinite(1.0 / sd)) {
                gd_job_warn(job, "band %d of the before image is constant: left out of CVA", bidx[k]);
                weights[k] = 0.0f;
            } else {
                weights[k] = (float)(1.0 / sd);
            }
            json_array_append_new(wj, json_real(weights[k]));
        }
        json_object_set_new(gd_job_auto(job), "cva_weights", wj);
    }
    /* 8-bit SAR amplitudes hold zeros: +1 keeps the ratio finite; calibrated sigma0 is
     * small and gets a tiny offset instead */
    float eps = 0.0f;
    int sar_path = m->kind == GD_KIND_LOGRATIO || m->kind == GD_KIND_PCAKMEANS ||
                   flood_index == GD_FLOOD_SAR;
    if (sar_path) {
        GDALDataType dt = GDALGetRasterDataType(GDALGetRasterBand(bs->ds, bidx[0]));
        eps = (dt == GDT_Byte || dt == GDT_UInt16 || dt == GDT_Int16) ? 1.0f : 1e-6f;
        json_object_set_new(gd_job_auto(job), "logratio_eps", json_real(eps));
    }

    /* ---- memory: refused before allocating (score f32 + classes u8 + polygonize mask
     * u8 and ids i32 per pixel, and strips of 256 rows per band and date) ---- */
    {
        uint64_t px = (uint64_t)grid->width * (uint64_t)grid->height;
        uint64_t strips = 2u * nb * (uint64_t)grid->width * (grid->height < 256 ? (uint64_t)grid->height : 256u) * 4u;
        char what[128];
        snprintf(what, sizeof what, "the %dx%d grid of %s", grid->width, grid->height, p->before);
        /* the SAR filters, PCA-kmeans and IR-MAD hold whole images: SAR 16 bytes/pixel
         * (both dates, a work buffer, the score), PCA-kmeans another 4 per feature
         * (block^2) and 1 for the labels, IR-MAD 8 per band pair + 8; SAR flood 13 more
         * for its water masks, --dem 5 (the float slope and the steep mask),
         * --permanent-water 1 */
        uint64_t per_px = 10u;
        /* feat/stream: logratio streams its score (engine, halos) and tiles FLICM/MRF
         * within --mem, so it holds what the index methods hold (10) */
        if (m->kind == GD_KIND_PCAKMEANS)
            per_px = 22u;
        if (m->kind == GD_KIND_PCAKMEANS) {
            uint64_t hb = (uint64_t)(p->pca_block > 0 ? p->pca_block : PCA_BLOCK);
            per_px += 4u * hb * hb + 1u;
        }
        if (m->kind == GD_KIND_IRMAD)
            per_px = 8u * (uint64_t)nb + 14u;
        if (m->kind == GD_KIND_URBAN) /* both dates, the change and the score */
            per_px = 8u * (uint64_t)nb + 14u;
        if (m->kind == GD_KIND_FLOOD) /* feat/stream: SAR water streams, as optical */
            per_px = 11u + (p->dem ? 5u : 0u) + (p->permanent_water ? 1u : 0u);
        if ((st = gd_limits_check_memory(job, what, per_px * px + strips)) != GD_OK)
            goto done;
    }

    /* ---- detect ---- */
    gd_job_progress_range(job, 0.02, 0.60);
    if (sar_path) {
        gd_sar_params sp;
        if ((st = sar_params(job, p, &sp)) != GD_OK ||
            (st = gd_detect_sar(job, &sp, grid, &bb[0], &ab[0], eps, &score)) != GD_OK)
            goto done;
        if (flood_index == GD_FLOOD_SAR &&
            (st = gd_flood_sar_water(job, &sp, grid, &bb[0], &ab[0], eps, &water)) != GD_OK)
            goto done;
        if (m->kind == GD_KIND_PCAKMEANS &&
            (st = gd_detect_pcakmeans(job, p->pca_block > 0 ? p->pca_block : PCA_BLOCK,
                                      &score)) != GD_OK)
            goto done;
    } else if (m->kind == GD_KIND_FLOOD) {
        if ((st = gd_flood_optical(job, grid, bb, ab, &score, &water)) != GD_OK)
            goto done;
    } else if (m->kind == GD_KIND_IRMAD) {
        if ((st = gd_detect_irmad(job, grid, bb, ab, nb, IRMAD_MAX_ITER, &score)) != GD_OK)
            goto done;
    } else if (m->kind == GD_KIND_URBAN) {
        if ((st = gd_detect_urban(job, grid, bb, ab, urban_names, nb,
                                  p->smooth_window >= 0 ? p->smooth_window : GD_URBAN_SMOOTH,
                                  &score)) != GD_OK)
            goto done;
    } else if ((st = gd_detect_score(job, m, grid, bb, ab, nb, weights, eps, &score)) != GD_OK) {
        goto done;
    }

    /* ---- threshold ---- */
    double t = fixed_t;
    const char *tmode = "fixed";
    if (m->kind == GD_KIND_FLOOD) {
        if ((st = gd_flood_threshold(job, &score, flood_index, fixed_t, use_ki, &t, &tmode)) != GD_OK)
            goto done;
    } else if (isnan(t) && m->kind == GD_KIND_PCAKMEANS && !use_ki &&
        strcmp(p->threshold ? p->threshold : "auto", "auto") == 0) {
        tmode = "kmeans"; /* the score is the difference of the distances to the centres */
        t = 0.0;
    } else if (isnan(t) && m->kind == GD_KIND_IRMAD && !use_ki &&
               strcmp(p->threshold ? p->threshold : "auto", "auto") == 0) {
        /* change where the chi-square p-value of no change is below IRMAD_P */
        tmode = "chi2-pvalue";
        gd_irmad_chi2_quantile((int)nb, IRMAD_P, &t);
    } else if (ctab) {
        tmode = ctab->name; /* fixed breaks: no single threshold (t stays NaN) */
    } else if (isnan(t)) {
        tmode = use_ki ? "ki" : "otsu";
        st = use_ki ? gd_threshold_ki(job, &score, m->two_sided, &t)
                    : gd_threshold_otsu(job, &score, m->two_sided, &t);
        if (st != GD_OK)
            goto done;
    }
    if (ctab)
        gd_severity_record(job, ctab);
    else {
        gd_job_say(job, "threshold (%s): %.6g%s", tmode, t, m->two_sided ? " on |score|" : "");
        json_object_set_new(gd_job_auto(job), "threshold",
                            json_pack("{s:s, s:f, s:b}", "mode", tmode, "value", t, "on_abs_score",
                                      m->two_sided));
    }

    /* ---- classify and clean ---- */
    gd_job_progress_range(job, 0.60, 0.66);
    if ((st = m->kind == GD_KIND_FLOOD ? gd_flood_classify(job, &score, water, flood_index, t, &classes)
              : ctab ? gd_classify_table(job, &score, ctab, &classes)
                   : gd_classify(job, &score, t, m->two_sided, &classes)) != GD_OK)
        goto done;
    int sar_dec = GD_SAR_THRESHOLD;
    double hyst_low = SAR_HYST_LOW;
    if ((m->kind == GD_KIND_LOGRATIO || m->kind == GD_KIND_PCAKMEANS) &&
        ((st = sar_decision(job, p, &sar_dec, &hyst_low)) != GD_OK ||
         (st = gd_sar_decide(job, sar_dec, hyst_low, &score, t, m->two_sided, classes)) != GD_OK))
        goto done;
    if ((m->kind == GD_KIND_LOGRATIO || m->kind == GD_KIND_PCAKMEANS) &&
        (st = gd_sar_mrf(job, p->mrf_beta >= 0 ? p->mrf_beta : SAR_MRF_BETA, !isnan(p->mrf_bias) ? p->mrf_bias
                         : m->kind == GD_KIND_LOGRATIO ? LOGRATIO_MRF_BIAS : 0.0, &score, t,
                         m->two_sided, classes)) != GD_OK)
        goto done;
    if ((st = gd_flood_aux_apply(job, faux, classes, (size_t)grid->width * (size_t)grid->height)) != GD_OK)
        goto done;
    double mmu = p->mmu_ha >= 0 ? p->mmu_ha : (grid->wkt && m->kind != GD_KIND_FLOOD ? 0.1 : 0.0);
    int min_px = 0;
    if (p->mmu_px >= 0) {
        min_px = p->mmu_px;
    } else if (m->kind == GD_KIND_FLOOD && p->mmu_ha < 0) {
        min_px = FLOOD_MIN_PX;
    } else if (mmu > 0 && grid->wkt) {
        double px_m2 = gd_grid_pixel_area(grid, grid->height / 2);
        min_px = (int)ceil(mmu * 1e4 / px_m2 - 1e-9);
    } else if (mmu > 0) {
        gd_job_warn(job, "--mmu-ha %g ignored: a pixel grid without CRS has no area", mmu);
    }
    json_object_set_new(gd_job_auto(job), "mmu", json_pack("{s:f, s:i}", "ha", mmu, "min_pixels", min_px));
    json_object_set_new(params, "mmu_ha", json_real(mmu));
    if ((st = gd_clean_sieve(job, grid, classes, min_px)) != GD_OK)
        goto done;

    /* ---- map options: chosen now, as they are part of the run id ---- */
    if (!p->no_map) {
        const char *bspec = p->bands_before, *aspec = p->bands_after ? p->bands_after : p->bands_before;
        int sar = m->kind == GD_KIND_LOGRATIO || flood_index == GD_FLOOD_SAR;
        if ((st = gd_map_pick_bands(job, bs, "before", bspec, p->map_bands, sar, bidx[0], &mb)) != GD_OK ||
            (st = gd_map_pick_bands(job, as, "after", aspec, p->map_bands, sar, aidx[0], &ma)) != GD_OK)
            goto done;
        mb.ds = bfull ? bfull : bds; /* the before date on the grid, uncut */
        if (sar) { /* images already in dB are shown as they are */
            mb.db = !bb[0].db_to_linear;
            ma.db = !ab[0].db_to_linear;
        }
        gd_map_spec_init(&spec);
        spec.title = p->title;
        spec.area = p->area;
        spec.date_before = bs->date;
        spec.date_after = as->date;
        spec.before_path = p->before;
        spec.after_path = p->after;
        spec.credit = p->credit;
        spec.caveat = p->caveat;
        spec.threshold = t;
        spec.threshold_mode = tmode;
        spec.layout = p->map_layout;
        spec.width = p->map_width;
        if (p->map_dpi > 0)
            spec.dpi = p->map_dpi;
        if (p->stretch_hi > p->stretch_lo) {
            spec.stretch_lo = p->stretch_lo;
            spec.stretch_hi = p->stretch_hi;
        }
        spec.zones = p->map_overlay;
        spec.zone_field = p->map_overlay_field;
        spec.aoi = p->map_aoi ? p->map_aoi : p->aoi;
        json_t *mj = gd_map_spec_json(&spec);
        json_object_set_new(mj, "bands", json_string(ma.names));
        json_object_set_new(gd_job_params(job), "map", mj);
    }

    /* zones and alert levels are part of the run id too */
    if ((st = gd_summary_params(job, p, m)) != GD_OK)
        goto done;

    /* ---- run id, before the first output ---- */
    if ((st = gd_hasher_join(job, hasher)) != GD_OK)
        goto done;
    {
        const char *hx[2 + GD_AUX_MAX] = {gd_hasher_hex(hasher, 0), gd_hasher_hex(hasher, 1)};
        char auxid[GD_AUX_MAX][GD_AUX_ID_LEN];
        for (size_t i = 0; i < aux.n; i++) {
            gd_aux_run_id_entry(aux.role[i], gd_hasher_hex(hasher, 2 + i), auxid[i]);
            hx[2 + i] = auxid[i];
        }
        if ((st = gd_run_id(job, hx, 2 + aux.n, params, run_id)) != GD_OK)
            goto done;
        hash_s = gd_hasher_seconds(hasher, &hash_wait);
        gd_job_set_run_id(job, run_id);
        gd_job_info(job, "inputs hashed in %.3f s in the background (waited %.3f s); run id %s",
                    hash_s, hash_wait, run_id);
    }

    /* ---- outputs ---- */
    gd_job_progress_range(job, 0.66, 0.78);
    gd_path_join(path, sizeof path, p->outdir, "change.tif");
    if ((st = gd_write_change_cog(job, grid, classes, m, t, path)) != GD_OK)
        goto done;
    gd_path_join(path, sizeof path, p->outdir, "change.geojson");
    if ((st = gd_vectorize(job, grid, classes, &score, m, path, totals)) != GD_OK)
        goto done;

    /* ---- summary ---- */
    {
        uint64_t valid = 0;
        double valid_ha = 0.0;
        size_t w = (size_t)grid->width;
        for (int r = 0; r < grid->height; r++) {
            uint64_t c = 0;
            for (size_t x = 0; x < w; x++)
                c += classes[(size_t)r * w + x] != 255;
            valid += c;
            if (grid->row_area_m2)
                valid_ha += (double)c * grid->row_area_m2[r] / 1e4;
        }
        uint64_t changed = 0, npoly = 0;
        double changed_ha = 0.0;
        json_t *cls = json_array();
        for (int c = 1; c < GD_MAX_CLASSES; c++) {
            changed += totals[c].pixels;
            changed_ha += totals[c].area_ha;
            npoly += totals[c].polygons;
            if (m->class_names[c]) {
                json_t *o = json_pack("{s:i, s:s, s:I, s:o, s:I}", "class", c,
                    "name", m->class_names[c], "pixels", (json_int_t)totals[c].pixels,
                    "area_ha", grid->wkt ? json_real(totals[c].area_ha) : json_null(),
                    "polygons", (json_int_t)totals[c].polygons);
                if (ctab)
                    gd_severity_class_json(ctab, c, o);
                json_array_append_new(cls, o);
            }
        }
        summary = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:o}, s:f, s:i, "
                            "s:{s:i, s:i, s:o}, s:I, s:o, s:I, s:o, s:f, s:o}",
            "schema", "geodelta-summary/1", "method", m->name,
            "before", "path", p->before, "date", bs->date,
            "after", "path", p->after, "date", as->date,
            "threshold", "mode", tmode, "value", isnan(t) ? json_null() : json_real(t),
            "mmu_ha", mmu, "mmu_pixels", min_px,
            "grid", "width", grid->width, "height", grid->height, "crs", crs_json(grid),
            "valid_pixels", (json_int_t)valid,
            "valid_ha", grid->wkt ? json_real(valid_ha) : json_null(),
            "changed_pixels", (json_int_t)changed,
            "changed_ha", grid->wkt ? json_real(changed_ha) : json_null(),
            "changed_percent", valid ? 100.0 * (double)changed / (double)valid : 0.0,
            "classes", cls);
        gd_path_join(path, sizeof path, p->outdir, "summary.json");
        if (!summary) {
            st = gd_job_error(job, GD_EPROC, "cannot build summary.json");
            goto done;
        }
        gd_job_progress_range(job, 0.78, 0.90);
        if ((st = gd_summary_zones(job, p, grid, classes, m, summary)) != GD_OK)
            goto done;
        if ((st = gd_json_write_atomic(job, summary, path)) != GD_OK)
            goto done;
        if (grid->wkt)
            gd_job_say(job, "changed: %.2f ha of %.2f ha valid (%.2f %%), %llu polygons",
                       changed_ha, valid_ha, valid ? 100.0 * (double)changed / (double)valid : 0.0,
                       (unsigned long long)npoly);
        else
            gd_job_say(job, "changed: %llu of %llu valid pixels (%.2f %%)",
                       (unsigned long long)changed, (unsigned long long)valid,
                       valid ? 100.0 * (double)changed / (double)valid : 0.0);
    }

    /* ---- map ---- */
    gd_job_progress_range(job, 0.90, 0.97);
    if (!p->no_map) {
        /* the after date on the grid; the co-registered one only when its correction shows
         * on the map (at least half a panel pixel): reading a decimated panel through the
         * resampling VRT costs a full-resolution warp of the scene */
        {
            double map_w = spec.width > 0 ? spec.width : spec.dpi * 297.0 / 25.4;
            double panel_w = spec.layout == GD_MAP_SINGLE ? map_w : map_w / 3.0;
            double scale = panel_w / grid->width;
            ma.ds = coreg_px * scale >= 0.5 ? (afull ? afull : ads) : ads_uncorrected;
        }
        spec.run_id = run_id;
        gd_path_join(path, sizeof path, p->outdir, "map.png");
        if ((st = gd_render_map(job, grid, &mb, &ma, classes, m, totals, &spec, path)) != GD_OK)
            goto done;
    }
    if (p->keep_score) {
        gd_path_join(path, sizeof path, p->outdir, "score.tif");
        if ((st = write_score(job, grid, &score, path)) != GD_OK)
            goto done;
    }

    /* ---- manifest, last ---- */
    gd_job_progress_range(job, 0.97, 1.0);
    gd_utc_now(end);
    gd_job_info(job, "finished in %.2f s", gd_now() - t0);
    gd_job_close_log(job);
    {
        json_t *argv = json_array(), *inputs = json_array(), *outs = json_array();
        for (int i = 0; i < p->argc; i++)
            json_array_append_new(argv, json_string(p->argv[i]));
        char *outdir_abs = abs_path(p->outdir);
        manifest = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:s, s:s, s:o, s:O, s:{s:s, s:b, s:b, s:i, s:i}, s:O, s:o, s:o, s:O, s:o, s:{s:f, s:f, s:f}}",
            "schema", GD_MANIFEST_SCHEMA,
            "run_id", run_id,
            "tool", "name", "geodelta", "version", GD_VERSION, "git_revision", GD_GIT_REV,
            "libraries", gd_library_versions(),
            "host", gd_manifest_host(),
            "started_utc", start, "finished_utc", end,
            "argv", argv,
            "parameters", gd_job_params(job),
            "execution", "outdir", outdir_abs ? outdir_abs : p->outdir,
            "overwrite", p->overwrite, "quiet", gd_job_quiet(job),
            "threads", gd_job_threads(job), "mem_mb", gd_job_mem_mb(job),
            "auto", gd_job_auto(job),
            "inputs", inputs, "outputs", outs,
            "warnings", gd_job_warnings(job),
            "known_error_rate", gd_method_error_rate(m->name, isnan(fixed_t) && !ctab),
            "timing", "seconds", gd_now() - t0, "input_hash_seconds", hash_s,
            "input_hash_wait_seconds", hash_wait);
        free(outdir_abs);
        if (!manifest) {
            st = gd_job_error(job, GD_EPROC, "cannot build the manifest");
            goto done;
        }
        json_object_set_new(json_object_get(manifest, "tool"), "isa", json_string(gd_kernels_isa_name()));
        const gd_source *srcs[2] = {bs, as};
        const char *roles[2] = {"before", "after"};
        for (int i = 0; i < 2; i++)
            json_array_append_new(inputs, gd_manifest_input(srcs[i], in_abs[i], roles[i],
                                                            gd_hasher_hex(hasher, (size_t)i),
                                                            gd_hasher_size(hasher, (size_t)i)));
        if (aux.n) /* absent without auxiliary files: such manifests stay as they were */
            json_object_set_new(manifest, "auxiliary_inputs", gd_aux_json(&aux, hasher, 2));
        for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
            if (strncmp(outputs[i], "manifest.", 9) == 0)
                continue;
            gd_path_join(path, sizeof path, p->outdir, outputs[i]);
            if (access(path, F_OK) != 0)
                continue;
            if ((st = gd_manifest_add_file(job, outs, path, outputs[i], NULL)) != GD_OK)
                goto done;
        }
        if (signer)
            json_object_set_new(manifest, "signature",
                                json_pack("{s:s, s:s, s:s, s:s}", "algorithm", "Ed25519",
                                          "file", "manifest.sig", "encoding", "base64",
                                          "public_key_sha256", gd_signer_fingerprint(signer)));
        gd_path_join(path, sizeof path, p->outdir, "manifest.json");
        if ((st = gd_json_write_atomic(job, manifest, path)) != GD_OK)
            goto done;
        if (signer) {
            char sig[4096];
            gd_path_join(sig, sizeof sig, p->outdir, "manifest.sig");
            if ((st = gd_signer_sign_file(job, signer, path, sig)) != GD_OK)
                goto done;
        }
    }
    gd_job_progress_done(job);
done:
    gd_hasher_destroy(hasher);
    gd_signer_destroy(signer);
    free(in_abs[0]);
    free(in_abs[1]);
    gd_aux_free(&aux);
    gd_flood_aux_destroy(faux);
    json_decref(summary);
    json_decref(manifest);
    free(classes);
    free(water);
    gd_score_free(&score);
    for (int d = 0; d < 2; d++)
        for (int i = 2; i >= 0; i--) /* each warped VRT before the dataset it reads */
            if (mask_own[d][i])
                GDALClose(mask_own[d][i]);
    if (ads && ads_owned)
        GDALClose(ads);
    if (bds && bds_owned)
        GDALClose(bds);
    if (afull && afull_owned)
        GDALClose(afull);
    if (bfull && bfull_owned)
        GDALClose(bfull);
    gd_grid_destroy(grid);
    gd_source_destroy(as);
    gd_source_destroy(bs);
    gd_job_close_log(job);
    return st;
}
