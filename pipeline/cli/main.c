/* main.c: geodelta's entry point: global set-up, then one subcommand. */
#include "cli.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <errno.h>
#include <gd_kernels.h>
#include <gdal.h>
#include <jansson.h>
#include <proj.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/files.h"
#include "geodelta/job.h"
#include "geodelta/provenance.h"
#include "geodelta/stages.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: geodelta COMMAND [OPTIONS]\n"
            "\n"
            "Finds change between two dates of satellite imagery.\n"
            "\n"
            "Commands:\n"
            "  detect    two images -> change raster, polygons, summary, map, manifest\n"
            "  monitor   a stack of dates -> alerts that confirm themselves, kept across runs\n"
            "  search    list the STAC items of an AOI and two date windows\n"
            "  coreg     measure the sub-pixel shift of one image against another (JSON)\n"
            "  batch     run a batch file of jobs (resumable, sharded) with an index\n"
            "  verify    re-check the hashes recorded in a manifest.json\n"
            "  methods   list the change-detection methods and the bands each needs\n"
            "  keygen    make an Ed25519 key pair for signing manifests\n"
            "\n"
            "  geodelta COMMAND --help   options of one command\n"
            "  geodelta --version        version, libraries and kernel ISA\n");
}

static void proj_quiet(void *data, int level, const char *msg)
{
    (void)data;
    (void)level;
    (void)msg;
}

int gd_cli_fail(int status, const char *message)
{
    fprintf(stderr, "geodelta: %s\n", message && *message ? message : "failed");
    return gd_status_exit_code(status);
}

int gd_cli_interrupted(void)
{
    int sig = gd_signal_caught();
    fprintf(stderr, "geodelta: interrupted by %s: stopped, temporary files removed, no "
            "manifest written\n", sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal");
    return gd_signal_exit_code(sig);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    gd_kernels_init();
    GDALAllRegister();
    /* GDAL's messages are folded into geodelta's own, one line per error; while a run's
     * log is open its job takes GDAL's and PROJ's warnings (job.h) */
    if (!getenv("GEODELTA_DEBUG")) {
        CPLSetErrorHandler(CPLQuietErrorHandler);
        /* PROJ's default context (libgeotiff reaches it on odd GeoKeys) logs to stderr */
        proj_log_func(PJ_DEFAULT_CTX, NULL, proj_quiet);
    }
    int rc;
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        json_t *v = gd_library_versions();
        const char *key;
        json_t *val;
        printf("geodelta %s%s%s, kernels %s\n", GD_VERSION, *GD_GIT_REV ? " rev " : "",
               GD_GIT_REV, gd_kernels_isa_name());
        json_object_foreach(v, key, val) printf("  %-8s %s\n", key, json_string_value(val));
        json_decref(v);
        rc = 0;
    } else if (strcmp(cmd, "detect") == 0)
        rc = gd_cmd_detect(argc - 1, argv + 1);
    else if (strcmp(cmd, "monitor") == 0)
        rc = gd_cmd_monitor(argc - 1, argv + 1);
    else if (strcmp(cmd, "search") == 0)
        rc = gd_cmd_search(argc - 1, argv + 1);
    else if (strcmp(cmd, "coreg") == 0)
        rc = gd_cmd_coreg(argc - 1, argv + 1);
    else if (strcmp(cmd, "verify") == 0)
        rc = gd_cmd_verify(argc - 1, argv + 1);
    else if (strcmp(cmd, "keygen") == 0)
        rc = gd_cmd_keygen(argc - 1, argv + 1);
    else if (strcmp(cmd, "batch") == 0)
        rc = gd_cmd_batch(argc - 1, argv + 1);
    else if (strcmp(cmd, "methods") == 0)
        rc = gd_cmd_methods(argc - 1, argv + 1);
    else {
        fprintf(stderr, "geodelta: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 1;
    }
    GDALDestroyDriverManager();
    gd_render_cleanup();
    return rc;
}
