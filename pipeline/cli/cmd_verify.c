/* cmd_verify.c: `geodelta verify`: re-hash what a manifest lists. */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/provenance.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: geodelta verify [--inputs] [--pubkey PUB.pem] [-q] OUTDIR/manifest.json\n"
        "\n"
        "Recomputes the SHA-256 of every output listed in the manifest (and of every\n"
        "input with --inputs) and names each file that is missing or altered.\n"
        "\n"
        "  -i, --inputs          also re-hash the input images and auxiliary files (DEM,\n"
        "                        masks, zones, map overlay and AOI; absolute paths or /vsi)\n"
        "  -k, --pubkey PUB.pem  also check manifest.sig (next to the manifest) against\n"
        "                        this Ed25519 public key; a missing or non-matching\n"
        "                        signature fails the verification\n"
        "  -q, --quiet           print nothing when everything matches\n"
        "\n"
        "Exit 0 only if everything matches; 2 if something does not or the manifest\n"
        "is unreadable; 1 on usage errors.\n");
}

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
    static const struct option longopts[] = {{"inputs", no_argument, NULL, 'i'},
                                             {"pubkey", required_argument, NULL, 'k'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int inputs = 0, quiet = 0, c;
    const char *pubkey = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ik:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': inputs = 1; break;
        case 'k': pubkey = optarg; break;
        case 'q': quiet = 1; break;
        case ':':
            fprintf(stderr, "geodelta verify: option %s needs a value\n", argv[optind - 1]);
            return 1;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "geodelta verify: unknown option %s\n", argv[optind - 1]);
            return 1;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 1;
    }
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    gd_job_set_quiet(job, 1); /* findings are printed below, once */
    int bad = 0;
    int st = gd_manifest_verify(job, argv[optind], inputs, &bad);
    int sig_ok = 1;
    if (st == GD_OK && pubkey) {
        /* manifest.sig sits next to the manifest, whatever the manifest's own name */
        char sig[4096], *copy = strdup(argv[optind]);
        if (!copy)
            st = gd_job_error(job, GD_EPROC, "out of memory");
        else {
            snprintf(sig, sizeof sig, "%s/manifest.sig", dirname(copy));
            free(copy);
            st = gd_verify_signature(job, argv[optind], sig, pubkey, &sig_ok);
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
                   inputs ? "input and output" : "output", argv[optind],
                   pubkey ? "; the Ed25519 signature is valid" : "");
            /* hashes alone cannot show that the manifest itself was not rewritten */
            if (!pubkey)
                unchecked_notes(argv[optind]);
        }
        rc = bad ? 2 : 0;
    }
    gd_job_destroy(job);
    return rc;
}
