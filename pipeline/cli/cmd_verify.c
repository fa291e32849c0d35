/* cmd_verify.c: `geodelta verify`: re-hash what a manifest lists. */
#include "cli.h"

#include <stddef.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/options.h"
#include "geodelta/provenance.h"

/* what `geodelta verify` fills from its command line */
typedef struct verify_cli {
    const char *manifest, *pubkey;
    int inputs, quiet, help;
} verify_cli;

#define V(field) offsetof(verify_cli, field)
static const char G_OPT[] = "Options";
static const gd_opt verify_opts[] = {
    {.name = "inputs", .short_name = 'i', .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "also re-hash the input images and auxiliary files (DEM, masks, zones, map "
             "overlay and AOI; absolute paths or /vsi)",
     .off = V(inputs), .off_given = GD_OPT_NOFIELD},
    {.name = "pubkey", .short_name = 'k', .type = GD_OPT_PATH, .meta = "PUB.pem", .group = G_OPT,
     .help = "also check manifest.sig (next to the manifest) against this Ed25519 public key; "
             "a missing or non-matching signature fails the verification",
     .off = V(pubkey), .off_given = GD_OPT_NOFIELD},
    {.name = "quiet", .short_name = 'q', .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "print nothing when everything matches", .off = V(quiet),
     .off_given = GD_OPT_NOFIELD},
    {.name = "help", .short_name = 'h', .type = GD_OPT_FLAG, .flags = GD_OPTF_HELP,
     .group = G_OPT, .help = "this help", .off = V(help), .off_given = GD_OPT_NOFIELD},
};

static const gd_opt_table verify_table = {
    .command = "verify",
    .usage = "verify [--inputs] [--pubkey PUB.pem] [-q] OUTDIR/manifest.json",
    .intro = "Recomputes the SHA-256 of every output listed in the manifest (and of every\n"
             "input with --inputs) and names each file that is missing or altered.\n",
    .epilog = "Exit 0 only if everything matches; 2 if something does not or the manifest\n"
              "is unreadable; 1 on usage errors.\n",
    .opts = verify_opts,
    .n = sizeof verify_opts / sizeof verify_opts[0],
    .positional = "manifest.json",
    .off_positional = V(manifest),
};

const gd_opt_table *gd_cli_verify_table(void) { return &verify_table; }

/* Without --pubkey: says that a signature is there unchecked (named in the manifest or
 * a manifest.sig beside it), and which fields no hash covers, so that an edit to them
 * (warnings, known_error_rate...) is not taken as verified. */
static void unchecked_notes(const char *manifest)
{
    json_t *doc = json_load_file(manifest, 0, NULL);
    const char *fp = json_string_value(
        json_object_get(json_object_get(doc, "signature"), "public_key_sha256"));
    char sig[4096], *copy = strdup(manifest);
    int sig_file = 0;
    if (copy) {
        snprintf(sig, sizeof sig, "%s/manifest.sig", dirname(copy));
        sig_file = access(sig, F_OK) == 0;
        free(copy);
    }
    if (fp)
        printf("note: the manifest is signed (public key sha256 %s) but the signature "
               "was not checked: add --pubkey PUB.pem\n", fp);
    else if (sig_file)
        printf("note: %s is present but was not checked (and the manifest names no "
               "signature): add --pubkey PUB.pem\n", sig);
    json_t *unc = doc ? gd_manifest_uncovered(doc) : NULL;
    if (unc && json_array_size(unc)) {
        size_t i;
        json_t *f;
        printf("note: no hash covers these manifest fields (only a checked signature does):");
        json_array_foreach(unc, i, f) printf("%s %s", i ? "," : "", json_string_value(f));
        printf("\n");
    }
    json_decref(unc);
    json_decref(doc);
}

int gd_cmd_verify(int argc, char **argv)
{
    verify_cli cl = {0};
    char err[1024];
    if (gd_opts_parse(&verify_table, argc, argv, &cl, err, sizeof err) != 0) {
        fprintf(stderr, "geodelta verify: %s\n", err);
        return 1;
    }
    if (cl.help) {
        gd_opts_help(&verify_table, stdout);
        return 0;
    }
    int inputs = cl.inputs, quiet = cl.quiet;
    const char *pubkey = cl.pubkey;
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    gd_job_set_quiet(job, 1); /* findings are printed below, once */
    int bad = 0;
    int st = gd_manifest_verify(job, cl.manifest, inputs, &bad);
    int sig_ok = 1;
    if (st == GD_OK && pubkey) {
        /* manifest.sig sits next to the manifest, whatever the manifest's own name */
        char sig[4096], *copy = strdup(cl.manifest);
        if (!copy)
            st = gd_job_error(job, GD_EPROC, "out of memory");
        else {
            snprintf(sig, sizeof sig, "%s/manifest.sig", dirname(copy));
            free(copy);
            st = gd_verify_signature(job, cl.manifest, sig, pubkey, &sig_ok);
            if (!sig_ok)
                bad++;
        }
    }
    int rc;
    if (st != GD_OK) {
        rc = gd_cli_fail(st, gd_job_message(job));
    } else {
        size_t i;
        json_t *w;
        json_array_foreach(gd_job_warnings(job), i, w)
            fprintf(stderr, "geodelta verify: %s\n", json_string_value(w));
        if (bad)
            fprintf(stderr, "geodelta verify: FAILED: %d finding(s), listed above\n", bad);
        else if (!quiet) {
            printf("OK: every %s hash in %s matches%s\n",
                   inputs ? "input and output" : "output", cl.manifest,
                   pubkey ? "; the Ed25519 signature is valid" : "");
            /* hashes alone cannot show that the manifest itself was not rewritten */
            if (!pubkey)
                unchecked_notes(cl.manifest);
        }
        rc = bad ? 2 : 0;
    }
    gd_job_destroy(job);
    return rc;
}
