/* manifest.c: the provenance manifest: file hashes, library versions, verification. */
#include "geodelta/provenance.h"
#include "geodelta/util.h"

#include <cairo.h>
#include <errno.h>
#include <fftw3.h>
#include <gdal.h>
#include <jansson.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <png.h>
#include <proj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    errno = 0;
    if (json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        int e = errno;
        remove(tmp);
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", path,
                            e ? strerror(e) : "jansson failed");
    }
    return gd_commit_file(job, tmp, path);
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

static int check_list(gd_job *job, json_t *list, const char *base, const char *what, int *bad)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *p = json_string_value(json_object_get(e, "path"));
        const char *want = json_string_value(json_object_get(e, "sha256"));
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
        gd_job *probe = NULL;
        gd_job_create(&probe);
        int st = probe ? gd_sha256_file(probe, full, hex, &size) : GD_EPROC;
        gd_job_destroy(probe);
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
    char *copy = strdup(manifest_path);
    const char *base = dirname(copy);
    check_list(job, outputs, base, "output", bad);
    if (check_inputs)
        check_list(job, json_object_get(doc, "inputs"), base, "input", bad);
    free(copy);
    json_decref(doc);
    return GD_OK;
}
