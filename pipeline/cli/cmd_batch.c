/* cmd_batch.c: `geodelta batch`: a job file -> one output folder per job + batch index. */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "geodelta/batch.h"
#include "geodelta/files.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: geodelta batch JOBS.json -o OUTROOT [--jobs N] [--resume] [--shard K/N]\n"
        "       geodelta batch JOBS.json -o OUTROOT --merge\n"
        "\n"
        "Runs every job of a batch file (README: \"Batch files\") into OUTROOT/<id>/ and\n"
        "writes the index OUTROOT/batch.json and batch.csv. The whole file is checked\n"
        "before any work. A failing job does not stop the others.\n"
        "\n"
        "Options:\n"
        "  -o, --output DIR     output root (created if missing)\n"
        "  -j, --jobs N         run N jobs at once, each in its own process (default 1)\n"
        "      --resume         skip jobs whose folder is complete: same job.json, and a\n"
        "                       manifest whose every output verifies\n"
        "      --shard K/N      run only the jobs whose index %% N == K (0-based); without\n"
        "                       it SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or\n"
        "                       JOB_COMPLETION_INDEX (count: GEODELTA_SHARD_COUNT or the\n"
        "                       file's \"shards\") are used when set. A shard writes its\n"
        "                       job folders only; --merge builds the index afterwards\n"
        "      --merge          run nothing: rebuild batch.json/csv from the job folders\n"
        "      --check          run nothing: validate the file and exit\n"
        "  -q, --quiet          no progress lines (errors still printed)\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit codes: 0 every job succeeded, 1 usage, 2 the batch file is invalid (nothing\n"
        "run), 3 at least one job failed or is missing, 4 the index cannot be written.\n");
}

enum { OPT_RESUME = 256, OPT_SHARD, OPT_MERGE, OPT_CHECK };

int gd_cmd_batch(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"jobs", required_argument, NULL, 'j'},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"merge", no_argument, NULL, OPT_MERGE},
        {"check", no_argument, NULL, OPT_CHECK},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    gd_batch_opts o = {NULL, 1, 0, 0, 1, 0};
    const char *shard = NULL;
    int merge = 0, check = 0, c;
    long lv;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:j:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.outroot = optarg; break;
        case 'j':
            if (gd_cli_parse_int(optarg, 1, 1024, &lv) != 0) {
                fprintf(stderr, "geodelta batch: --jobs '%s' is not between 1 and 1024\n", optarg);
                return 1;
            }
            o.jobs = (int)lv;
            break;
        case OPT_RESUME: o.resume = 1; break;
        case OPT_SHARD: shard = optarg; break;
        case OPT_MERGE: merge = 1; break;
        case OPT_CHECK: check = 1; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "geodelta batch: option %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "geodelta batch: unknown option %s (see geodelta batch --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "geodelta batch: give one batch file (see geodelta batch --help)\n");
        return 1;
    }
    if (!o.outroot && !check) {
        fprintf(stderr, "geodelta batch: -o OUTROOT is required\n");
        return 1;
    }
    if (merge && (shard || o.resume)) {
        fprintf(stderr, "geodelta batch: --merge runs nothing: it takes no --shard or --resume\n");
        return 1;
    }
    gd_job *job = NULL;
    gd_batch *b = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    gd_job_set_quiet(job, o.quiet);
    int rc = 0, failed = 0;
    int st = gd_batch_load(job, argv[optind], &b);
    if (st != GD_OK) {
        size_t i;
        json_t *e;
        if (b)
            json_array_foreach((json_t *)gd_batch_errors(b), i, e)
                fprintf(stderr, "geodelta: %s\n", json_string_value(e));
        rc = gd_cli_fail(st, gd_job_message(job));
        goto done;
    }
    if (check && (st = gd_batch_check_inputs(job, b)) != GD_OK) {
        size_t i;
        json_t *e;
        json_array_foreach((json_t *)gd_batch_errors(b), i, e)
            fprintf(stderr, "geodelta: %s\n", json_string_value(e));
        rc = gd_cli_fail(st, gd_job_message(job));
        goto done;
    }
    if (check) {
        if (!o.quiet)
            printf("%s: %zu jobs, valid\n", argv[optind], gd_batch_count(b));
        goto done;
    }
    if (merge) {
        if ((st = gd_batch_merge(job, b, o.outroot, &failed)) != GD_OK) {
            rc = gd_cli_fail(st, gd_job_message(job));
            goto done;
        }
        if (!o.quiet)
            printf("index of %zu jobs in %s/batch.json and batch.csv: %zu ok, %d failed or "
                   "missing\n", gd_batch_count(b), o.outroot, gd_batch_count(b) - (size_t)failed,
                   failed);
        rc = failed ? 3 : 0;
        goto done;
    }
    const char *source = NULL;
    if ((st = gd_batch_shard(job, b, shard, &o.shard, &o.nshards, &source)) != GD_OK) {
        rc = gd_cli_fail(st, gd_job_message(job));
        goto done;
    }
    if (!o.quiet && o.nshards > 1)
        fprintf(stderr, "shard %d/%d (from %s)\n", o.shard, o.nshards, source);
    gd_signals_install(0); /* SIGINT/SIGTERM: running jobs stopped and cleaned, 130/143 */
    if ((st = gd_batch_run(job, b, &o, &failed)) != GD_OK) {
        rc = gd_signal_caught() ? gd_cli_interrupted() : gd_cli_fail(st, gd_job_message(job));
        goto done;
    }
    if (!o.quiet) {
        if (o.nshards > 1)
            printf("shard %d/%d finished: %d failed; after every shard: geodelta batch %s -o %s "
                   "--merge\n", o.shard, o.nshards, failed, argv[optind], o.outroot);
        else
            printf("index in %s/batch.json and batch.csv: %d failed or missing\n", o.outroot,
                   failed);
    }
    rc = failed ? 3 : 0;
done:
    gd_batch_destroy(b);
    gd_job_destroy(job);
    return rc;
}
