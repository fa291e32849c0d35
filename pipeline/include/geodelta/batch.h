/* batch.h: batch files: validation, one detect run per job, resumable, sharded, indexed. */
#ifndef GEODELTA_BATCH_H
#define GEODELTA_BATCH_H

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gd_batch gd_batch;

/* Loads and validates a whole batch file before any work. Every problem found is kept
 * (gd_batch_errors) and names the job (id, else #index) and the field; the status is
 * GD_EINPUT when there is at least one. *out is set even then (for the messages). */
int gd_batch_load(gd_job *job, const char *path, gd_batch **out);
void gd_batch_destroy(gd_batch *b);
size_t gd_batch_count(const gd_batch *b);
/* The validation errors, a JSON array of strings (borrowed). */
const json_t *gd_batch_errors(const gd_batch *b);
/* batch --check: opens every job's before and after image with GDAL (a file that is
 * not a regular file or not a raster is a problem, added to gd_batch_errors); GD_EINPUT
 * when any is. */
int gd_batch_check_inputs(gd_job *job, gd_batch *b);
/* "shards" of the file, 0 when not given. */
int gd_batch_shards(const gd_batch *b);

typedef struct gd_batch_opts {
    const char *outroot;
    int jobs;           /* concurrent job processes (>= 1) */
    int resume;         /* skip jobs whose folder is complete (see README) */
    int shard, nshards; /* run jobs with index % nshards == shard */
    int quiet;
} gd_batch_opts;

/* Runs the selected jobs, each in its own process (a crash or failure stays inside its
 * job), with one progress line per finished job; then writes OUTROOT/batch.json and
 * batch.csv when the run covered every job (nshards == 1). *failed receives the
 * number of failed jobs. GD_OK when the batch ran, whatever the jobs' outcome. */
int gd_batch_run(gd_job *job, gd_batch *b, const gd_batch_opts *o, int *failed);

/* Rebuilds OUTROOT/batch.json and batch.csv from the job folders; *failed receives the
 * number of jobs that are not complete (failed or never run). */
int gd_batch_merge(gd_job *job, gd_batch *b, const char *outroot, int *failed);

/* Resolves the shard from "K/N" (spec may be NULL), else SLURM_ARRAY_TASK_ID (minus
 * SLURM_ARRAY_TASK_MIN) with SLURM_ARRAY_TASK_COUNT, else JOB_COMPLETION_INDEX; the count
 * then comes from SLURM_ARRAY_TASK_COUNT, GEODELTA_SHARD_COUNT or the file's "shards".
 * Without any: shard 0 of 1. *source names where it came from. */
int gd_batch_shard(gd_job *job, const gd_batch *b, const char *spec, int *shard, int *nshards,
                   const char **source);

#ifdef __cplusplus
}
#endif
#endif
