/* manifest.c: the provenance manifest: file hashes, versions, host, inputs, run id,
 * known error rates, verification. */
#include "geodelta/files.h"
#include "geodelta/provenance.h"
#include "geodelta/discover.h"
#include "geodelta/stages.h"
#include "geodelta/util.h"
#include "known_errors.h"

#include <cairo.h>
#include <cpl_conv.h>
#include <errno.h>
#include <fftw3.h>
#include <gd_kernels.h>
#include <gdal.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <openssl/crypto.h>
#include <png.h>
#include <proj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

int gd_manifest_add_file(gd_job *job, json_t *arr, const char *path, const char *record_as,
                         const char *role)
{
    char hex[65];
    uint64_t size = 0;
    int st = gd_sha256_file(job, path, hex, &size);
    if (st != GD_OK)
        return st;
    json_t *o = json_pack("{s:s, s:I, s:s}", "path", record_as, "size", (json_int_t)size,
                          "sha256", hex);
    if (role)
        json_object_set_new(o, "role", json_string(role));
    json_array_append_new(arr, o);
    return GD_OK;
}

int gd_json_write_atomic(gd_job *job, json_t *doc, const char *path)
{
    char tmp[4096];
    int st = gd_tmp_name(job, path, tmp, sizeof tmp);
    if (st != GD_OK)
        return st;
    FILE *f = gd_tmp_fopen(tmp);
    if (!f)
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", path, strerror(errno));
    /* a failed write is the stream's error, reported by gd_commit_stream */
    if (json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 && !ferror(f)) {
        fclose(f);
        remove(tmp);
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s: jansson failed", path);
    }
    return gd_commit_stream(job, f, tmp, path);
}

json_t *gd_library_versions(void)
{
    char projv[32];
    PJ_INFO pi = proj_info();
    snprintf(projv, sizeof projv, "%s", pi.version);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "gdal", GDALVersionInfo("RELEASE_NAME"),
                     "proj", projv, "fftw", fftwf_version, "libpng", png_get_libpng_ver(NULL),
                     "cairo", cairo_version_string(), "openssl",
                     OpenSSL_version(OPENSSL_VERSION), "jansson", JANSSON_VERSION);
}

json_t *gd_manifest_host(void)
{
    struct utsname u;
    json_t *o = json_object();
    if (uname(&u) == 0) {
        json_object_set_new(o, "hostname", json_string(u.nodename));
        json_object_set_new(o, "os", json_string(u.sysname));
        json_object_set_new(o, "kernel", json_string(u.release));
        json_object_set_new(o, "machine", json_string(u.machine));
    }
    /* the CPU model says which hardware produced the numbers; Linux only */
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *v = strchr(line, ':');
                if (v) {
                    v++;
                    while (*v == ' ' || *v == '\t')
                        v++;
                    v[strcspn(v, "\n")] = '\0';
                    json_object_set_new(o, "cpu_model", json_string(v));
                }
                break;
            }
        fclose(f);
    }
    json_object_set_new(o, "cpus_online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(o, "kernel_isa", json_string(gd_kernels_isa_name()));
    return o;
}

/* EPSG code of a CRS when it has one or can be identified, else 0. */
static int epsg_of(const char *wkt)
{
    int code = 0;
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    if (s && OSRSetFromUserInput(s, wkt) == OGRERR_NONE) {
        const char *auth = OSRGetAuthorityName(s, NULL);
        if (!(auth && strcmp(auth, "EPSG") == 0))
            OSRAutoIdentifyEPSG(s);
        auth = OSRGetAuthorityName(s, NULL);
        const char *c = OSRGetAuthorityCode(s, NULL);
        if (auth && c && strcmp(auth, "EPSG") == 0)
            code = atoi(c);
    }
    OSRDestroySpatialReference(s);
    return code;
}

json_t *gd_manifest_input(const gd_source *src, const char *record_as, const char *role,
                          const char *sha256, uint64_t size)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:i, s:i}", "path", record_as,
                          "role", role, "size", (json_int_t)size, "sha256", sha256,
                          "driver", src->driver, "width", src->width, "height",
                          src->height, "bands", src->nbands);
    if (!o)
        return NULL;
    if (src->wkt) {
        int e = epsg_of(src->wkt);
        json_object_set_new(o, "crs", json_pack("{s:s, s:o}", "wkt", src->wkt, "epsg",
                                                e ? json_integer(e) : json_null()));
    } else {
        json_object_set_new(o, "crs", json_null());
    }
    if (src->has_gt)
        json_object_set_new(o, "geotransform",
                            json_pack("[f, f, f, f, f, f]", src->gt[0], src->gt[1], src->gt[2],
                                      src->gt[3], src->gt[4], src->gt[5]));
    else
        json_object_set_new(o, "geotransform", json_null());
    json_object_set_new(o, "acquisition_date",
                        *src->date ? json_string(src->date) : json_null());
    return o;
}

/* The known-error table (known_errors.h) is generated at build time from docs/accuracy.csv,
 * the figures measured by `ctest -L accuracy` on ../shared/data with each method's default
 * settings and automatic threshold (Otsu; k-means for pcakmeans; chi-square p < 0.01 for
 * irmad; default global co-registration for the optical methods), all labelled pixels
 * scored: one file feeds this disclosure, docs/accuracy.md and the accuracy tests' floors,
 * so they cannot drift apart. */
json_t *gd_method_error_rate(const char *method, int otsu)
{
    json_t *cases = json_array();
    double lo = 1.0, hi = 0.0, sum[3] = {0, 0, 0}, sum2[3] = {0, 0, 0};
    int block = 0, resamples = 0, nloo = 0;
    for (size_t i = 0; i < gd_known_errors_count; i++) {
        const struct gd_known_error *a = &gd_known_errors[i];
        if (strcmp(a->method, method) != 0)
            continue;
        /* 4 decimals, as in the table: no binary noise such as 0.0076000000000000512 */
        double err = round(1e4 * (1.0 - a->pcc)) / 1e4;
        lo = err < lo ? err : lo;
        hi = err > hi ? err : hi;
        json_t *c = json_pack("{s:s, s:f, s:f, s:f, s:f}", "dataset", a->dataset, "pcc", a->pcc,
                              "error_rate", err, "kappa", a->kappa, "f1", a->f1);
        const double v[3] = {a->pcc, a->kappa, a->f1};
        for (int m = 0; m < 3; m++) {
            sum[m] += v[m];
            sum2[m] += v[m] * v[m];
        }
        /* the interval of each figure (docs/accuracy.csv, tests/accuracy/intervals.sh) */
        if (c && a->ci_block > 0 && !isnan(a->lo[0])) {
            json_object_set_new(c, "interval_95",
                                json_pack("{s:[f, f], s:[f, f], s:[f, f]}", "pcc", a->lo[0],
                                          a->hi[0], "kappa", a->lo[1], a->hi[1], "f1",
                                          a->lo[2], a->hi[2]));
            block = a->ci_block;
            resamples = a->ci_resamples;
        }
        /* a default chosen on the benchmarks: the figure with this dataset left out of
         * the choice beside the in-sample one */
        if (c && (!isnan(a->loo_kappa) || !isnan(a->loo_f1))) {
            json_t *l = json_object();
            if (!isnan(a->loo_kappa))
                json_object_set_new(l, "kappa", json_real(a->loo_kappa));
            if (!isnan(a->loo_f1))
                json_object_set_new(l, "f1", json_real(a->loo_f1));
            json_object_set_new(c, "leave_one_out", l);
            nloo++;
        }
        json_array_append_new(cases, c);
    }
    if (json_array_size(cases) == 0) {
        json_decref(cases);
        return json_pack("{s:b, s:s}", "measured", 0, "note",
                         "no labelled benchmark has been run for this method yet: its error "
                         "rate is unknown");
    }
    json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:[f, f], s:o}", "measured", 1, "source",
                     "geodelta README.md, section Accuracy (ctest -L accuracy on the public "
                     "benchmarks in ../shared/data)",
                     "conditions", "default settings and automatic threshold (Otsu; k-means "
                     "for pcakmeans; chi-square p < 0.01 for irmad; Kittler-Illingworth for "
                     "urban), all "
                     "labelled pixels scored; PCC = overall accuracy, error_rate = 1 - PCC, "
                     "kappa = Cohen's kappa, F1 of the change class",
                     "caveat", "figures from benchmark scenes, not from this scene: the "
                     "error on other data can be higher",
                     "error_rate_range", lo, hi, "cases", cases);
    size_t n = json_array_size(cases);
    if (o && block > 0)
        json_object_set_new(
            o, "interval_method",
            json_pack("{s:s, s:f, s:i, s:i}", "method",
                      "spatial block bootstrap, percentile interval: the labelled pixels cut "
                      "into square blocks, as many blocks drawn with replacement per resample "
                      "(neighbouring pixels are not independent evidence)",
                      "level", 0.95, "block_px", block, "resamples", resamples));
    if (o && nloo > 0)
        json_object_set_new(o, "leave_one_out_note", json_string(
            "the default was chosen by a sweep on these benchmarks, so its in-sample figures "
            "are optimistic; leave_one_out is the figure of the setting chosen on the other "
            "benchmarks, scored on this one (tests/accuracy/sweep_*.sh)"));
    if (o && n > 1) {
        /* across the benchmarks: how much the figure moves from one scene to the next */
        json_t *sp = json_object();
        const char *names[3] = {"pcc", "kappa", "f1"};
        for (int m = 0; m < 3; m++) {
            double mean = sum[m] / (double)n;
            double var = (sum2[m] - (double)n * mean * mean) / (double)(n - 1);
            json_object_set_new(sp, names[m],
                                json_pack("{s:f, s:f}", "mean", round(1e4 * mean) / 1e4, "sd",
                                          round(1e4 * sqrt(var > 0 ? var : 0)) / 1e4));
        }
        json_object_set_new(o, "spread_across_cases", sp);
    }
    if (o && !otsu)
        json_object_set_new(o, "applies", json_string(
            "not directly: this run used a fixed threshold, the figures were measured with "
            "the automatic one"));
    return o;
}

/* parameters that change how a run is executed but not its result */
static const char *const not_in_run_id[] = {"threads", "mem_mb", "mem", "quiet",
                                            "overwrite", "outdir", "output", NULL};

int gd_run_id(gd_job *job, const char *const *input_sha256, size_t n, json_t *params,
              char hex[65])
{
    int st = GD_OK;
    json_t *p = json_deep_copy(params), *ins = json_array(), *doc = NULL;
    char *text = NULL;
    if (!p || !ins) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    for (size_t i = 0; not_in_run_id[i]; i++)
        json_object_del(p, not_in_run_id[i]);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ins, json_string(input_sha256[i]));
    doc = json_pack("{s:s, s:O, s:O}", "scheme", GD_RUN_ID_SCHEME, "inputs", ins,
                    "parameters", p);
    text = doc ? json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (!text || gd_sha256_buf(text, strlen(text), hex) != GD_OK)
        st = gd_job_error(job, GD_EPROC, "cannot compute the run id");
done:
    free(text);
    json_decref(doc);
    json_decref(ins);
    json_decref(p);
    return st;
}

static int check_list(gd_job *job, json_t *list, const char *base, const char *what, int *bad)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *p = json_string_value(json_object_get(e, "path"));
        const char *want = json_string_value(json_object_get(e, "sha256"));
        if (json_is_string(json_object_get(e, "via")))
            continue; /* a remote input: checked through its "discover" record */
        if (!p || !want) {
            gd_job_warn(job, "%s entry %zu has no path or sha256", what, i);
            (*bad)++;
            continue;
        }
        char full[4096];
        if (p[0] == '/' || strncmp(p, "/vsi", 4) == 0)
            snprintf(full, sizeof full, "%s", p);
        else
            snprintf(full, sizeof full, "%s/%s", base, p);
        char hex[65];
        uint64_t size;
        /* a missing file is a finding, not an error of the check itself */
        gd_job *ctx = NULL;
        int st = gd_job_fork(job, &ctx);
        if (st == GD_OK)
            st = gd_sha256_file(ctx, full, hex, &size);
        gd_job_destroy(ctx); /* its error is the finding below */
        if (st != GD_OK) {
            gd_job_warn(job, "%s %s is missing or unreadable", what, full);
            (*bad)++;
        } else if (strcmp(hex, want) != 0) {
            gd_job_warn(job, "%s %s has been altered (sha256 %s, manifest says %s)", what,
                        full, hex, want);
            (*bad)++;
        }
    }
    return GD_OK;
}

int gd_manifest_verify(gd_job *job, const char *manifest_path, int check_inputs, int *bad)
{
    json_error_t err;
    *bad = 0;
    json_t *doc = json_load_file(manifest_path, 0, &err);
    if (!doc)
        return gd_job_error(job, GD_EINPUT, "%s is not a readable JSON manifest: %s (line %d)",
                            manifest_path, err.text, err.line);
    const char *schema = json_string_value(json_object_get(doc, "schema"));
    json_t *outputs = json_object_get(doc, "outputs");
    if (!schema || strncmp(schema, "geodelta-manifest/", 18) != 0 || !json_is_array(outputs)) {
        json_decref(doc);
        return gd_job_error(job, GD_EINPUT, "%s is not a geodelta manifest", manifest_path);
    }
    /* the run id must follow from what the manifest says went in: a manifest edited to
     * claim other inputs or settings no longer matches the id embedded in the outputs */
    const char *rid = json_string_value(json_object_get(doc, "run_id"));
    json_t *ins = json_object_get(doc, "inputs"), *params = json_object_get(doc, "parameters");
    json_t *aux = json_object_get(doc, "auxiliary_inputs");
    if (rid && json_is_array(ins) && json_is_object(params)) {
        const char *hx[4 + GD_AUX_MAX];
        char auxid[GD_AUX_MAX][GD_AUX_ID_LEN];
        size_t n = json_array_size(ins) < 4 ? json_array_size(ins) : 4;
        int complete = json_array_size(aux) <= GD_AUX_MAX;
        for (size_t i = 0; i < n; i++)
            complete &= (hx[i] = json_string_value(
                             json_object_get(json_array_get(ins, i), "sha256"))) != NULL;
        /* auxiliary files enter the id as "role:sha256", after the images */
        for (size_t i = 0; complete && i < json_array_size(aux); i++) {
            json_t *e = json_array_get(aux, i);
            const char *role = json_string_value(json_object_get(e, "role"));
            const char *sha = json_string_value(json_object_get(e, "sha256"));
            complete &= role && sha;
            if (complete) {
                gd_aux_run_id_entry(role, sha, auxid[i]);
                hx[n++] = auxid[i];
            }
        }
        char want[65];
        if (!complete || gd_run_id(job, hx, n, params, want) != GD_OK ||
            strcmp(want, rid) != 0) {
            gd_job_warn(job, "run_id %s does not follow from the recorded input hashes and "
                             "parameters: the manifest has been edited", rid);
            (*bad)++;
        }
    }
    char *copy = strdup(manifest_path);
    const char *base = dirname(copy);
    check_list(job, outputs, base, "output", bad);
    if (check_inputs) {
        check_list(job, json_object_get(doc, "inputs"), base, "input", bad);
        if (json_is_array(aux))
            check_list(job, aux, base, "auxiliary input", bad);
        if (json_is_object(json_object_get(doc, "discover")))
            gd_discover_verify(job, json_object_get(doc, "discover"), bad);
    }
    free(copy);
    json_decref(doc);
    return GD_OK;
}

json_t *gd_manifest_uncovered(const json_t *doc)
{
    /* what the hashes tie down: the outputs by their sha256, the inputs' sha256 and the
     * parameters through the run id (recomputed by verify); inputs and auxiliary inputs
     * are covered only in their sha256 (and the role, part of the run id entry) */
    static const char *const covered[] = {"schema", "run_id", "parameters", "outputs", NULL};
    json_t *out = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        int c = 0;
        for (int i = 0; covered[i] && !c; i++)
            c = strcmp(key, covered[i]) == 0;
        if (strcmp(key, "inputs") == 0 || strcmp(key, "auxiliary_inputs") == 0) {
            size_t i;
            json_t *e;
            const char *k2;
            json_t *v2;
            char name[128];
            json_t *seen = json_object();
            json_array_foreach(v, i, e) json_object_foreach(e, k2, v2) {
                if (strcmp(k2, "sha256") == 0 || strcmp(k2, "role") == 0 ||
                    json_object_get(seen, k2))
                    continue;
                json_object_set_new(seen, k2, json_true());
                snprintf(name, sizeof name, "%s[].%s", key, k2);
                json_array_append_new(out, json_string(name));
            }
            json_decref(seen);
            continue;
        }
        if (!c)
            json_array_append_new(out, json_string(key));
    }
    return out;
}
