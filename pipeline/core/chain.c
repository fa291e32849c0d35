/* chain.c: runs the detect chain stage by stage and writes the outputs and manifest. */
#include "geodelta/detect.h"
#include "geodelta/limits.h"
#include "geodelta/provenance.h"
#include "geodelta/stages.h"
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
                                      "map.png", "manifest.json", "run.log", "score.tif"};

/* run.log of an earlier failed run must not block a retry: it is simply replaced */
static int is_product(const char *name) { return strcmp(name, "run.log") != 0; }

void gd_detect_params_init(gd_detect_params *p)
{
    memset(p, 0, sizeof *p);
    p->threshold = "auto";
    p->mmu_ha = -1.0;
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
    if ((st = gd_mem_dataset(job, grid, s->data, GDT_Float32, &mem)) != GD_OK)
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
    GDALDatasetH ads = NULL;
    int ads_owned = 0;
    gd_band bb[64], ab[64];
    float weights[64];
    size_t nb = 0;
    gd_score score = {0};
    uint8_t *classes = NULL;
    json_t *summary = NULL, *manifest = NULL;
    char path[4096], start[32], end[32];
    double t0 = gd_now();
    const gd_method *m = gd_method_find(p->method ? p->method : "");
    gd_class_total totals[3];
    memset(totals, 0, sizeof totals);
    gd_utc_now(start);

    if (!m)
        return gd_job_error(job, GD_EUSAGE,
                            "unknown method '%s' (see 'geodelta methods' for the list)",
                            p->method ? p->method : "");
    double fixed_t = NAN;
    if (p->threshold && strcmp(p->threshold, "auto") != 0 && strcmp(p->threshold, "otsu") != 0) {
        char *endp = NULL;
        fixed_t = strtod(p->threshold, &endp);
        if (!endp || *endp || endp == p->threshold || !isfinite(fixed_t) || fixed_t < 0)
            return gd_job_error(job, GD_EUSAGE,
                                "--threshold '%s' is not auto, otsu or a non-negative number",
                                p->threshold);
    }
    if ((st = prepare_outdir(job, p)) != GD_OK)
        return st;
    gd_path_join(path, sizeof path, p->outdir, "run.log");
    if ((st = gd_job_open_log(job, path)) != GD_OK)
        return st;
    gd_job_info(job, "geodelta %s, kernels %s", GD_VERSION, gd_kernels_isa_name());

    json_t *params = gd_job_params(job);
    json_object_set_new(params, "method", json_string(m->name));
    json_object_set_new(params, "bands_before", p->bands_before ? json_string(p->bands_before) : json_null());
    json_object_set_new(params, "bands_after", p->bands_after ? json_string(p->bands_after) : json_null());
    json_object_set_new(params, "threshold", json_string(p->threshold ? p->threshold : "auto"));

    /* ---- source and grid ---- */
    gd_job_progress_range(job, 0.0, 0.02);
    if ((st = gd_source_open(job, p->before, "before", &bs)) != GD_OK ||
        (st = gd_source_open(job, p->after, "after", &as)) != GD_OK ||
        (st = gd_grid_from_source(job, bs, &grid)) != GD_OK ||
        (st = gd_grid_align(job, grid, as, &ads, &ads_owned)) != GD_OK)
        goto done;
    if (!grid->wkt)
        gd_job_warn(job, "neither image has a CRS: comparing them pixel for pixel (%dx%d); "
                         "areas are given in pixels", grid->width, grid->height);

    /* ---- bands ---- */
    int bidx[64], aidx[64];
    if (m->kind == GD_KIND_NDIFF) {
        for (int r = 0; r < 2; r++) {
            if ((st = need_role(job, bs, "before", p->bands_before, m->name, m->roles[r], &bidx[r])) != GD_OK ||
                (st = need_role(job, as, "after", p->bands_after ? p->bands_after : p->bands_before,
                                m->name, m->roles[r], &aidx[r])) != GD_OK)
                goto done;
        }
        nb = 2;
    } else if (m->kind == GD_KIND_LOGRATIO) {
        if ((st = gd_source_find_role(job, bs, "before", p->bands_before, "sar", &bidx[0])) != GD_OK ||
            (st = gd_source_find_role(job, as, "after", p->bands_after ? p->bands_after : p->bands_before,
                                      "sar", &aidx[0])) != GD_OK)
            goto done;
        if (!bidx[0])
            bidx[0] = 1;
        if (!aidx[0])
            aidx[0] = 1;
        nb = 1;
    } else {
        for (int b = 1; b <= bs->nbands && nb < 64; b++) {
            int k = match_band(bs, as, b);
            if (k > 0) {
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
        gd_band tmp;
        if ((st = gd_band_from(job, bs->ds, bidx[k], &bb[k])) != GD_OK ||
            (st = gd_band_from(job, ads, aidx[k], &ab[k])) != GD_OK ||
            (st = gd_band_from(job, as->ds, aidx[k], &tmp)) != GD_OK) {
            json_decref(bands_used);
            goto done;
        }
        /* a warped VRT does not carry the source's scale and offset */
        ab[k].scale = tmp.scale;
        ab[k].offset = tmp.offset;
        ab[k].name = tmp.name;
        json_array_append_new(bands_used, json_pack("{s:i, s:i}", "before", bidx[k], "after", aidx[k]));
    }
    json_object_set_new(gd_job_auto(job), "bands", bands_used);
    if (m->kind == GD_KIND_CVA) {
        /* each band scaled by its spread so that no band dominates by its units */
        json_t *wj = json_array();
        for (size_t k = 0; k < nb; k++) {
            double mn, mx, mean, sd = NAN;
            CPLErrorReset();
            if (GDALComputeRasterStatistics(bb[k].band, TRUE, &mn, &mx, &mean, &sd, NULL, NULL) == CE_None)
                sd *= fabs(bb[k].scale);
            /* GDAL's statistics count +-Inf pixels (nodata here) and overflow near FLT_MAX */
            if (!isfinite(sd) && (st = gd_band_finite_stats(job, &bb[k], &mean, &sd)) != GD_OK) {
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
    if (m->kind == GD_KIND_LOGRATIO) {
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
        if ((st = gd_limits_check_memory(job, what, 10u * px + strips)) != GD_OK)
            goto done;
    }

    /* ---- detect ---- */
    gd_job_progress_range(job, 0.02, 0.60);
    if ((st = gd_detect_score(job, m, grid, bb, ab, nb, weights, eps, &score)) != GD_OK)
        goto done;

    /* ---- threshold ---- */
    double t = fixed_t;
    const char *tmode = "fixed";
    if (isnan(t)) {
        tmode = "otsu";
        if ((st = gd_threshold_otsu(job, &score, m->two_sided, &t)) != GD_OK)
            goto done;
    }
    gd_job_say(job, "threshold (%s): %.6g%s", tmode, t, m->two_sided ? " on |score|" : "");
    json_object_set_new(gd_job_auto(job), "threshold",
                        json_pack("{s:s, s:f, s:b}", "mode", tmode, "value", t, "on_abs_score",
                                  m->two_sided));

    /* ---- classify and clean ---- */
    gd_job_progress_range(job, 0.60, 0.66);
    if ((st = gd_classify(job, &score, t, m->two_sided, &classes)) != GD_OK)
        goto done;
    double mmu = p->mmu_ha >= 0 ? p->mmu_ha : (grid->wkt ? 0.1 : 0.0);
    int min_px = 0;
    if (mmu > 0 && grid->wkt) {
        double px_m2 = gd_grid_pixel_area(grid, grid->height / 2);
        min_px = (int)ceil(mmu * 1e4 / px_m2 - 1e-9);
    } else if (mmu > 0) {
        gd_job_warn(job, "--mmu-ha %g ignored: a pixel grid without CRS has no area", mmu);
    }
    json_object_set_new(gd_job_auto(job), "mmu", json_pack("{s:f, s:i}", "ha", mmu, "min_pixels", min_px));
    if ((st = gd_clean_sieve(job, grid, classes, min_px)) != GD_OK)
        goto done;

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
        uint64_t changed = totals[1].pixels + totals[2].pixels;
        double changed_ha = totals[1].area_ha + totals[2].area_ha;
        json_t *cls = json_array();
        for (int c = 1; c < 3; c++)
            if (m->class_names[c])
                json_array_append_new(cls, json_pack("{s:i, s:s, s:I, s:o, s:I}", "class", c,
                    "name", m->class_names[c], "pixels", (json_int_t)totals[c].pixels,
                    "area_ha", grid->wkt ? json_real(totals[c].area_ha) : json_null(),
                    "polygons", (json_int_t)totals[c].polygons));
        summary = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:f}, s:f, s:i, "
                            "s:{s:i, s:i, s:o}, s:I, s:o, s:I, s:o, s:f, s:o}",
            "schema", "geodelta-summary/1", "method", m->name,
            "before", "path", p->before, "date", bs->date,
            "after", "path", p->after, "date", as->date,
            "threshold", "mode", tmode, "value", t,
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
        if ((st = gd_json_write_atomic(job, summary, path)) != GD_OK)
            goto done;
        if (grid->wkt)
            gd_job_say(job, "changed: %.2f ha of %.2f ha valid (%.2f %%), %llu polygons",
                       changed_ha, valid_ha, valid ? 100.0 * (double)changed / (double)valid : 0.0,
                       (unsigned long long)(totals[1].polygons + totals[2].polygons));
        else
            gd_job_say(job, "changed: %llu of %llu valid pixels (%.2f %%)",
                       (unsigned long long)changed, (unsigned long long)valid,
                       valid ? 100.0 * (double)changed / (double)valid : 0.0);
    }

    /* ---- map ---- */
    gd_job_progress_range(job, 0.90, 0.97);
    if (!p->no_map) {
        int rgb[3] = {0, 0, 0};
        gd_source_find_role(job, as, "after", p->bands_after ? p->bands_after : p->bands_before, "red", &rgb[0]);
        gd_source_find_role(job, as, "after", p->bands_after ? p->bands_after : p->bands_before, "green", &rgb[1]);
        gd_source_find_role(job, as, "after", p->bands_after ? p->bands_after : p->bands_before, "blue", &rgb[2]);
        if (!rgb[0] || !rgb[1] || !rgb[2]) {
            rgb[0] = aidx[0];
            rgb[1] = rgb[2] = 0;
        }
        char subtitle[512];
        snprintf(subtitle, sizeof subtitle, "before %s  |  after %s  |  method %s, threshold %.4g (%s)",
                 *bs->date ? bs->date : "(date unknown)", *as->date ? as->date : "(date unknown)",
                 m->name, t, tmode);
        gd_map_spec spec = {p->title, subtitle, p->credit, p->map_width};
        gd_path_join(path, sizeof path, p->outdir, "map.png");
        if ((st = gd_render_map(job, grid, ads, rgb, classes, m, totals, &spec, path)) != GD_OK)
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
        manifest = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:s, s:s, s:o, s:O, s:O, s:o, s:o, s:O, s:f}",
            "schema", GD_MANIFEST_SCHEMA,
            "tool", "name", "geodelta", "version", GD_VERSION, "git_revision", GD_GIT_REV,
            "libraries", gd_library_versions(),
            "started_utc", start, "finished_utc", end,
            "argv", argv,
            "parameters", gd_job_params(job),
            "auto", gd_job_auto(job),
            "inputs", inputs, "outputs", outs,
            "warnings", gd_job_warnings(job),
            "seconds", gd_now() - t0);
        if (!manifest) {
            st = gd_job_error(job, GD_EPROC, "cannot build the manifest");
            goto done;
        }
        json_object_set_new(json_object_get(manifest, "tool"), "isa", json_string(gd_kernels_isa_name()));
        const char *in_paths[2] = {p->before, p->after}, *roles[2] = {"before", "after"};
        for (int i = 0; i < 2; i++) {
            char *ap = abs_path(in_paths[i]);
            st = gd_manifest_add_file(job, inputs, ap, ap, roles[i]);
            free(ap);
            if (st != GD_OK)
                goto done;
        }
        for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
            if (strcmp(outputs[i], "manifest.json") == 0)
                continue;
            gd_path_join(path, sizeof path, p->outdir, outputs[i]);
            if (access(path, F_OK) != 0)
                continue;
            if ((st = gd_manifest_add_file(job, outs, path, outputs[i], NULL)) != GD_OK)
                goto done;
        }
        gd_path_join(path, sizeof path, p->outdir, "manifest.json");
        if ((st = gd_json_write_atomic(job, manifest, path)) != GD_OK)
            goto done;
    }
    gd_job_progress_done(job);
done:
    json_decref(summary);
    json_decref(manifest);
    free(classes);
    gd_score_free(&score);
    if (ads && ads_owned)
        GDALClose(ads);
    gd_grid_destroy(grid);
    gd_source_destroy(as);
    gd_source_destroy(bs);
    gd_job_close_log(job);
    return st;
}
