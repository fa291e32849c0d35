/* cmd_keygen.c: `geodelta keygen`: an Ed25519 key pair for signing manifests. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>

#include "geodelta/provenance.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: geodelta keygen -o PREFIX\n"
        "\n"
        "Writes a new Ed25519 key pair: PREFIX.pem (private key, PKCS#8 PEM, mode 0600:\n"
        "give it to 'geodelta detect --sign-key') and PREFIX.pub.pem (public key, PEM:\n"
        "give it to whoever checks the outputs with 'geodelta verify --pubkey').\n"
        "Existing files are never overwritten.\n");
}

int gd_cmd_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *prefix = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': prefix = optarg; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "geodelta keygen: option %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "geodelta keygen: unknown option %s\n", argv[optind - 1]);
            return 1;
        }
    }
    if (!prefix || optind != argc) {
        usage(stderr);
        return 1;
    }
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    int st = gd_keygen(job, prefix);
    int rc = 0;
    if (st != GD_OK)
        rc = gd_cli_fail(st, gd_job_message(job));
    else
        printf("wrote %s.pem (private, keep it secret) and %s.pub.pem (public)\n", prefix,
               prefix);
    gd_job_destroy(job);
    return rc;
}
