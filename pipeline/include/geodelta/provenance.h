/* provenance.h: manifest.json writing and verification. */
#ifndef GEODELTA_PROVENANCE_H
#define GEODELTA_PROVENANCE_H

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GD_MANIFEST_SCHEMA "geodelta-manifest/1"

/* Hashes path and appends {"path": record_as, "size", "sha256"} (plus "role" when
 * given) to the JSON array arr. */
int gd_manifest_add_file(gd_job *job, json_t *arr, const char *path, const char *record_as,
                         const char *role);
/* Writes a JSON document atomically (temp name, then rename). */
int gd_json_write_atomic(gd_job *job, json_t *doc, const char *path);
/* Library versions as a JSON object. */
json_t *gd_library_versions(void);

/* Re-hashes every output listed in the manifest (and every input with check_inputs);
 * *bad receives the number of missing or altered files, each also reported through
 * the job's warnings. Returns GD_OK when the check ran (even with mismatches). */
int gd_manifest_verify(gd_job *job, const char *manifest_path, int check_inputs, int *bad);

#ifdef __cplusplus
}
#endif
#endif
