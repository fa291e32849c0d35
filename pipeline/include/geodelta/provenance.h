/* provenance.h: manifest.json writing and verification, run ids, signatures. */
#ifndef GEODELTA_PROVENANCE_H
#define GEODELTA_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version 2 added host, execution, per-input raster facts, run_id, known_error_rate,
 * timing and signature; README "Manifest" and docs/manifest.schema.json describe it. */
#define GD_MANIFEST_SCHEMA "geodelta-manifest/2"
/* Tag of the run-id construction (part of the digested document). */
#define GD_RUN_ID_SCHEME "geodelta-run-id/1"

struct gd_source;

/* Hashes path and appends {"path": record_as, "size", "sha256"} (plus "role" when
 * given) to the JSON array arr. */
int gd_manifest_add_file(gd_job *job, json_t *arr, const char *path, const char *record_as,
                         const char *role);
/* The manifest entry of an input: path, role, size, sha256 (already computed), GDAL
 * driver, width, height, bands, CRS (WKT2 and EPSG code when identifiable),
 * geotransform and acquisition date (null when absent). */
json_t *gd_manifest_input(const struct gd_source *src, const char *record_as,
                          const char *role, const char *sha256, uint64_t size);
/* Writes a JSON document atomically (temp name, then rename). */
int gd_json_write_atomic(gd_job *job, json_t *doc, const char *path);
/* Library versions as a JSON object. */
json_t *gd_library_versions(void);
/* The machine: hostname, OS, kernel, architecture, CPU model, online CPUs and the
 * kernel ISA in use. */
json_t *gd_manifest_host(void);
/* The method's known error rate: its accuracy figures from the README's accuracy table
 * (kept in a static table in manifest.c), or {"measured": false, ...}. otsu = 0 adds a
 * note that the figures were measured with automatic thresholds. */
json_t *gd_method_error_rate(const char *method, int otsu);

/* Run id: SHA-256 (hex) of the canonical JSON (sorted keys, compact) of
 * {"scheme": GD_RUN_ID_SCHEME, "inputs": [sha256...], "parameters": params}, leaving out
 * the parameters that do not change the result (threads, memory, quiet, overwrite,
 * output folder). Same inputs and settings, same id, whatever the paths, host or time. */
int gd_run_id(gd_job *job, const char *const *input_sha256, size_t n, json_t *params,
              char hex[65]);

/* ---- background hashing of the inputs ---- */
typedef struct gd_hasher gd_hasher;
/* Starts hashing up to GD_HASHER_MAX files (local or /vsi) in a background thread.
 * Local files that are not regular files (FIFO, device, socket, folder) are refused at
 * once (GD_EINPUT). */
#define GD_HASHER_MAX 12
int gd_hasher_start(gd_job *job, const char *const *paths, size_t n, gd_hasher **out);
/* hold 1: the thread pauses after its current block, until hold 0 (or join, or
 * destroy). For a stage that keeps every CPU busy: the hashing is moved to a later stage
 * that leaves one idle rather than slowing this one down. NULL is a no-op. */
void gd_hasher_hold(gd_hasher *h, int hold);
/* Waits for the thread (ending any hold); the first error (unreadable file) goes into
 * job. */
int gd_hasher_join(gd_job *job, gd_hasher *h);
/* Results after a successful join (NULL / 0 otherwise). */
const char *gd_hasher_hex(const gd_hasher *h, size_t i);
uint64_t gd_hasher_size(const gd_hasher *h, size_t i);
/* Seconds the thread spent hashing; *waited = seconds the caller waited in join. */
double gd_hasher_seconds(const gd_hasher *h, double *waited);
/* Each local file's identity (device, inode, size, modification time) against the one
 * taken when hashing started: a file replaced, moved, grown or rewritten during the run
 * is an input error (GD_EINPUT) naming it; called before the manifest is written. */
int gd_hasher_check_identity(gd_job *job, gd_hasher *h);
/* Cancels (when not joined yet), joins and frees; NULL is a no-op. */
void gd_hasher_destroy(gd_hasher *h);

/* ---- auxiliary inputs (auxiliary.c) ----
 * Files besides the two images that change the result: --dem, --permanent-water,
 * --mask-before, --mask-after, --zones, --map-overlay and --map-aoi (unless --no-map),
 * --aoi, --population, --exposure. */
#define GD_AUX_MAX 10
#define GD_AUX_ID_LEN 96
struct gd_detect_params;
typedef struct gd_aux_inputs {
    size_t n;
    const char *role[GD_AUX_MAX]; /* "dem", "permanent_water", "mask_before", ... */
    char *path[GD_AUX_MAX];       /* absolute (or the /vsi path) */
} gd_aux_inputs;
/* The auxiliary files given in p, in a fixed role order. Free with gd_aux_free. */
int gd_aux_collect(gd_job *job, const struct gd_detect_params *p, gd_aux_inputs *aux);
void gd_aux_free(gd_aux_inputs *aux);
/* The run id's input entry of an auxiliary file: "role:sha256" (the images' entries are
 * their bare sha256, so the ids of runs without auxiliary files do not change). */
void gd_aux_run_id_entry(const char *role, const char *sha256, char out[GD_AUX_ID_LEN]);
/* The date of an auxiliary file for the map's credit line: a date the data carry (GDAL
 * metadata TIFFTAG_DATETIME, DATE, ACQUISITION_DATE ... of the file, its first band or
 * first layer; else the latest value of the first layer's first Date/DateTime field),
 * else the file's modification time as "file date YYYY-MM-DD". out: "2020-06-30" (or
 * "2020"); why: where it came from. 0 when the file cannot be found. */
int gd_aux_date(const char *path, char *out, size_t len, char *why, size_t wlen);
/* The manifest's "auxiliary_inputs": [{role, path, sha256, size}], hashes from h
 * starting at index first. */
json_t *gd_aux_json(const gd_aux_inputs *aux, const gd_hasher *h, size_t first);

/* The path an input is recorded under: absolute for a local file (symbolic links
 * resolved), and for a relative archive inside /vsizip/, /vsitar/, /vsigzip/, /vsi7z/,
 * /vsirar/ (so that `verify --inputs` finds it from any folder); other /vsi paths as
 * they are. Caller frees. */
char *gd_input_abs_path(const char *p);

/* ---- verification ---- */
/* Re-hashes every output listed in the manifest (and every input and auxiliary input
 * with check_inputs);
 * *bad receives the number of missing or altered files, each also reported through
 * the job's warnings. Returns GD_OK when the check ran (even with mismatches). */
int gd_manifest_verify(gd_job *job, const char *manifest_path, int check_inputs, int *bad);

/* The manifest fields that no hash checked by verify covers (only a signature does):
 * top-level names, and "inputs[].path"-style names for the per-input facts. A JSON
 * array of strings; caller owns it. */
json_t *gd_manifest_uncovered(const json_t *doc);

/* ---- Ed25519 signatures (OpenSSL) ---- */
typedef struct gd_signer gd_signer;
/* Loads an Ed25519 private key (PEM, PKCS#8). Errors are GD_EUSAGE. */
int gd_signer_create(gd_job *job, const char *key_path, gd_signer **out);
void gd_signer_destroy(gd_signer *s);
/* SHA-256 (hex) of the public key's DER encoding: names the key in the manifest. */
const char *gd_signer_fingerprint(const gd_signer *s);
/* Signs the exact bytes of file into sig_path: the 64-byte signature in base64 on one
 * line, written atomically. */
int gd_signer_sign_file(gd_job *job, const gd_signer *s, const char *file,
                        const char *sig_path);
/* Checks sig_path over file with the public key in pub_path (PEM). *ok = 1 when the
 * signature is valid; GD_OK whenever the check ran (a missing or bad signature is a
 * finding reported through the job's warnings, not an error). */
int gd_verify_signature(gd_job *job, const char *file, const char *sig_path,
                        const char *pub_path, int *ok);
/* Writes a new Ed25519 key pair: prefix.pem (private, mode 0600) and prefix.pub.pem. */
int gd_keygen(gd_job *job, const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
