/* cmd_batch.c: `geodelta batch`: a job file -> one output folder per job + batch index. */
#include "cli.h"

#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "geodelta/batch.h"
#include "geodelta/files.h"
#include "geodelta/options.h"

/* what `geodelta batch` fills from its command line */
typedef struct batch_cli {
    gd_batch_opts o;
    const char *file, *shard;
    int merge, check, help;
} batch_cli;

#define B(field) offsetof(batch_cli, field)
static const char G_OPT[] = "Options";
static const gd_opt batch_opts[] = {
    {.name = "output", .short_name = 'o', .type = GD_OPT_STRING, .meta = "DIR", .group = G_OPT,
     .help = "output root (created if missing); required unless --check", .off = B(o.outroot),
     .off_given = GD_OPT_NOFIELD},
    {.name = "jobs", .short_name = 'j', .type = GD_OPT_INT, .meta = "N", .lo = 1, .hi = 1024,
     .what = "between 1 and 1024", .group = G_OPT,
     .help = "run N jobs at once, each in its own process", .def = "1", .off = B(o.jobs),
     .off_given = GD_OPT_NOFIELD},
    {.name = "resume", .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "skip jobs whose folder is complete: same job.json, and a manifest whose every "
             "output verifies",
     .off = B(o.resume), .off_given = GD_OPT_NOFIELD},
    {.name = "shard", .type = GD_OPT_STRING, .meta = "K/N", .group = G_OPT,
     .help = "run only the jobs whose index % N == K (0-based); without it "
             "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX (count: "
             "GEODELTA_SHARD_COUNT or the file's \"shards\") are used when set. A shard writes "
             "its job folders only; --merge builds the index afterwards",
     .off = B(shard), .off_given = GD_OPT_NOFIELD},
    {.name = "merge", .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "run nothing: rebuild batch.json/csv from the job folders", .off = B(merge),
     .off_given = GD_OPT_NOFIELD},
    {.name = "check", .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "run nothing: validate the file and exit", .off = B(check),
     .off_given = GD_OPT_NOFIELD},
    {.name = "quiet", .short_name = 'q', .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "no progress lines (errors still printed)", .off = B(o.quiet),
     .off_given = GD_OPT_NOFIELD},
    {.name = "help", .short_name = 'h', .type = GD_OPT_FLAG, .flags = GD_OPTF_HELP,
     .group = G_OPT, .help = "this help", .off = B(help), .off_given = GD_OPT_NOFIELD},
};

static const gd_opt_table batch_table = {
    .command = "batch",
    .usage = "batch JOBS.json -o OUTROOT [--jobs N] [--resume] [--shard K/N]\n"
             "       geodelta batch JOBS.json -o OUTROOT --merge",
    .intro = "Runs every job of a batch file (README: \"Batch files\") into OUTROOT/<id>/ and\n"
             "writes the index OUTROOT/batch.json and batch.csv. The whole file is checked\n"
             "before any work. A failing job does not stop the others. A job's fields and\n"
             "\"params\" are the detect options with a batch key (geodelta detect --help-markdown).\n",
    .epilog = "Exit codes: 0 every job succeeded, 1 usage, 2 the batch file is invalid (nothing\n"
              "run), 3 at least one job failed or is missing, 4 the index cannot be written.\n",
    .opts = batch_opts,
    .n = sizeof batch_opts / sizeof batch_opts[0],
    .positional = "batch file",
    .off_positional = B(file),
};

const gd_opt_table *gd_cli_batch_table(void) { return &batch_table; }

int gd_cmd_batch(int argc, char **argv)
{
    batch_cli cl = {.o = {NULL, 1, 0, 0, 1, 0}};
    char err[1024];
    if (gd_opts_parse(&batch_table, argc, argv, &cl, err, sizeof err) != 0) {
        fprintf(stderr, "geodelta batch: %s\n", err);
        return 1;
    }
    if (cl.help) {
        gd_opts_help(&batch_table, stdout);
        return 0;
    }
    gd_batch_opts o = cl.o;
    const char *shard = cl.shard;
    int merge = cl.merge, check = cl.check;
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
    int st = gd_batch_load(job, cl.file, &b);
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
            printf("%s: %zu jobs, valid\n", cl.file, gd_batch_count(b));
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
                   "--merge\n", o.shard, o.nshards, failed, cl.file, o.outroot);
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
