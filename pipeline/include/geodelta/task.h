/* task.h: one function run on its own thread beside the caller's work, in its own job
 * context (gd_job_fork) merged back into the job when it is joined; in line on the job
 * itself when it cannot have a thread. */
#ifndef GEODELTA_TASK_H
#define GEODELTA_TASK_H

#include <pthread.h>

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of gd_task_start (or'ed). */
enum {
    /* the fork writes into the job's locked OUTDIR (gd_tmp_name places its temporaries in
     * the run's private folder); the folder stays the job's */
    GD_TASK_OUTDIR = 1u << 0,
    /* the fork has the job's thread count (a fork has one): for GDAL's own threads */
    GD_TASK_THREADS = 1u << 1,
    /* a thread even when the job has one: work that waits on another dataset or library
     * beside the caller's rather than taking a share of the job's cores */
    GD_TASK_ALWAYS = 1u << 2,
    /* without a thread the task runs in gd_task_join, after the caller's own work and only
     * when that succeeded (the serial order), instead of at once in gd_task_start */
    GD_TASK_AT_JOIN = 1u << 3
};

/* The task's work: job is its context (the fork on a thread, else the caller's job). */
typedef int (*gd_task_fn)(gd_job *job, void *arg);

/* Filled by gd_task_start; st, seconds and threaded may be read after gd_task_join. A
 * task zeroed ({0}) and never started joins as a no-op. */
typedef struct gd_task {
    gd_task_fn fn;
    void *arg;
    gd_job *job;     /* the fork while the thread runs; NULL otherwise */
    unsigned flags;
    int pending;     /* to run at the join (GD_TASK_AT_JOIN without a thread) */
    int threaded;    /* it ran (runs) on its own thread */
    int st;          /* fn's status; GD_OK when it never ran */
    double seconds;  /* the time fn took, wherever it ran */
    pthread_t th;
} gd_task;

/* Starts fn(ctx, arg) on its own thread with a fork of job when the job has more than
 * one thread (or with GD_TASK_ALWAYS). Without a thread (one thread, or the fork or the
 * thread could not be made) fn runs on job itself: here, or with GD_TASK_AT_JOIN in
 * gd_task_join. Returns fn's status when it ran here, else GD_OK. */
int gd_task_start(gd_job *job, gd_task *t, gd_task_fn fn, void *arg, unsigned flags);
/* Waits for the task and merges its context into job (its log lines and warnings, and
 * its error unless the job already has one). Returns st when it is an error, else the
 * task's status. Called on the job's thread, once per gd_task_start. */
int gd_task_join(gd_job *job, gd_task *t, int st);

#ifdef __cplusplus
}
#endif
#endif
