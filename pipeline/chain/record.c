/* record.c: what a detect run records: summary.json, score.tif, and manifest.json last. */
#include "chain.h"

#include "geodelta/exposure.h"
#include "geodelta/limits.h"
#include "geodelta/util.h"

#include <cpl_string.h>
#include <gd_kernels.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gd_chain_write_score(gd_job *job, const gd_grid *grid, gd_score *s, const char *path)
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

/* integrity: relative archive paths inside /vsizip/... made absolute too */
char *gd_chain_abs_path(const char *p) { return gd_input_abs_path(p); }

int gd_chain_summary(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    const gd_grid *grid = c->grid;
    const gd_method *m = c->m;
    const uint8_t *classes = c->classes;
    const gd_class_total *totals = c->totals;
    char path[4096];
    int st;
    uint64_t valid = c->valid; /* gd_class_totals's */
    double valid_ha = c->valid_ha;
    uint64_t changed = 0, npoly = 0;
    double changed_ha = 0.0;
    json_t *cls = json_array();
    for (int k = 1; k < GD_MAX_CLASSES; k++) {
        changed += totals[k].pixels;
        changed_ha += totals[k].area_ha;
        npoly += totals[k].polygons;
        if (m->class_names[k]) {
            json_t *o = json_pack("{s:i, s:s, s:I, s:o, s:I}", "class", k,
                "name", m->class_names[k], "pixels", (json_int_t)totals[k].pixels,
                "area_ha", grid->wkt ? json_real(totals[k].area_ha) : json_null(),
                "polygons", (json_int_t)totals[k].polygons);
            if (c->ctab)
                gd_severity_class_json(c->ctab, k, o);
            json_array_append_new(cls, o);
        }
    }
    json_t *summary = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:o}, s:f, s:i, "
                                "s:{s:i, s:i, s:o}, s:I, s:o, s:I, s:o, s:f, s:o}",
        "schema", "geodelta-summary/1", "method", m->name,
        "before", "path", p->in.before, "date", c->bs->date,
        "after", "path", p->in.after, "date", c->as->date,
        "threshold", "mode", c->tmode, "value", isnan(c->t) ? json_null() : json_real(c->t),
        "mmu_ha", c->mmu, "mmu_pixels", c->min_px,
        "grid", "width", grid->width, "height", grid->height, "crs", crs_json(grid),
        "valid_pixels", (json_int_t)valid,
        "valid_ha", grid->wkt ? json_real(valid_ha) : json_null(),
        "changed_pixels", (json_int_t)changed,
        "changed_ha", grid->wkt ? json_real(changed_ha) : json_null(),
        "changed_percent", valid ? 100.0 * (double)changed / (double)valid : 0.0,
        "classes", cls);
    gd_path_join(path, sizeof path, p->out.dir, "summary.json");
    if (!summary)
        return gd_job_error(job, GD_EPROC, "cannot build summary.json");
    gd_job_progress_range(job, 0.78, 0.90);
    gd_chain_exposure_json(c, summary);
    gd_exposure_in ex = {c->people, p->exposure.population, c->people_source_total, c->expo};
    if ((st = gd_summary_zones(job, &p->summary, p->out.dir, grid, classes, m, summary, &ex)) != GD_OK ||
        (st = gd_json_write_atomic(job, summary, path)) != GD_OK) {
        json_decref(summary);
        return st;
    }
    json_decref(summary);
    if (grid->wkt)
        gd_job_say(job, "changed: %.2f ha of %.2f ha valid (%.2f %%), %llu polygons",
                   changed_ha, valid_ha, valid ? 100.0 * (double)changed / (double)valid : 0.0,
                   (unsigned long long)npoly);
    else
        gd_job_say(job, "changed: %llu of %llu valid pixels (%.2f %%)",
                   (unsigned long long)changed, (unsigned long long)valid,
                   valid ? 100.0 * (double)changed / (double)valid : 0.0);
    return GD_OK;
}

int gd_chain_manifest(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    char path[4096], end[32];
    int st = GD_OK;
    gd_utc_now(end);
    gd_job_info(job, "finished in %.2f s", gd_now() - c->t0);
    gd_job_close_log(job);
    json_t *argv = json_array(), *inputs = json_array(), *outs = json_array();
    for (int i = 0; i < p->argc; i++)
        json_array_append_new(argv, json_string(p->argv[i]));
    char *outdir_abs = gd_chain_abs_path(p->out.dir);
    json_t *manifest = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:s, s:s, s:o, s:O, s:{s:s, s:b, s:b, s:i, s:i}, s:O, s:o, s:o, s:O, s:o, s:{s:f, s:f, s:f}}",
        "schema", GD_MANIFEST_SCHEMA,
        "run_id", c->run_id,
        "tool", "name", "geodelta", "version", GD_VERSION, "git_revision", GD_GIT_REV,
        "libraries", gd_library_versions(),
        "host", gd_manifest_host(),
        "started_utc", c->start, "finished_utc", end,
        "argv", argv,
        "parameters", gd_job_params(job),
        "execution", "outdir", outdir_abs ? outdir_abs : p->out.dir,
        "overwrite", p->out.overwrite, "quiet", gd_job_quiet(job),
        "threads", gd_job_threads(job), "mem_mb", gd_job_mem_mb(job),
        "auto", gd_job_auto(job),
        "inputs", inputs, "outputs", outs,
        "warnings", gd_job_warnings(job),
        "known_error_rate", gd_method_error_rate(c->m->name, isnan(c->treq.fixed) && !c->ctab),
        "timing", "seconds", gd_now() - c->t0, "input_hash_seconds", c->hash_s,
        "input_hash_wait_seconds", c->hash_wait);
    free(outdir_abs);
    if (!manifest)
        return gd_job_error(job, GD_EPROC, "cannot build the manifest");
    json_object_set_new(json_object_get(manifest, "tool"), "isa", json_string(gd_kernels_isa_name()));
    const gd_source *srcs[2] = {c->bs, c->as};
    const char *roles[2] = {"before", "after"};
    for (int i = 0; i < 2; i++) {
        json_t *in = gd_manifest_input(srcs[i], c->in_abs[i], roles[i],
                                       gd_hasher_hex(c->hasher, (size_t)i),
                                       gd_hasher_size(c->hasher, (size_t)i));
        /* a remote input's local window is temporary: verify --inputs checks the
         * "discover" record against the server instead */
        if (c->disc)
            json_object_set_new(in, "via", json_string("discover"));
        json_array_append_new(inputs, in);
    }
    if (c->disc)
        json_object_set_new(manifest, "discover", gd_discover_record(c->disc));
    if (c->aux.n) /* absent without auxiliary files: such manifests stay as they were */
        json_object_set_new(manifest, "auxiliary_inputs", gd_aux_json(&c->aux, c->hasher, 2));
    for (size_t i = 0; i < gd_chain_noutputs; i++) {
        if (strncmp(gd_chain_outputs[i], "manifest.", 9) == 0)
            continue;
        gd_path_join(path, sizeof path, p->out.dir, gd_chain_outputs[i]);
        if (access(path, F_OK) != 0)
            continue;
        if ((st = gd_manifest_add_file(job, outs, path, gd_chain_outputs[i], NULL)) != GD_OK)
            goto done;
    }
    if (c->signer)
        json_object_set_new(manifest, "signature",
                            json_pack("{s:s, s:s, s:s, s:s}", "algorithm", "Ed25519",
                                      "file", "manifest.sig", "encoding", "base64",
                                      "public_key_sha256", gd_signer_fingerprint(c->signer)));
    gd_path_join(path, sizeof path, p->out.dir, "manifest.json");
    if ((st = gd_json_write_atomic(job, manifest, path)) != GD_OK)
        goto done;
    if (c->signer) {
        char sig[4096];
        gd_path_join(sig, sizeof sig, p->out.dir, "manifest.sig");
        st = gd_signer_sign_file(job, c->signer, path, sig);
    }
done:
    json_decref(manifest);
    return st;
}
