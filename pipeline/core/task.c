/* task.c: a function on its own thread in a forked job context, merged back at the join. */
#include "geodelta/task.h"
#include "geodelta/util.h"

#include <string.h>

/* fn on the context it was given, timed; the body of the thread and of the in-line runs */
static void *task_run(void *arg)
{
    gd_task *t = arg;
    gd_job *ctx = t->job;
    double t0 = gd_now();
    t->st = t->fn(ctx, t->arg);
    t->seconds = gd_now() - t0;
    return NULL;
}

static int run_inline(gd_job *job, gd_task *t)
{
    t->job = job;
    task_run(t);
    t->job = NULL;
    return t->st;
}

int gd_task_start(gd_job *job, gd_task *t, gd_task_fn fn, void *arg, unsigned flags)
{
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->arg = arg;
    t->flags = flags;
    t->st = GD_OK;
    if (((flags & GD_TASK_ALWAYS) || gd_job_threads(job) > 1) &&
        gd_job_fork(job, &t->job) == GD_OK) {
        if (flags & GD_TASK_OUTDIR)
            gd_job_set_outdir(t->job, gd_job_outdir(job));
        if (flags & GD_TASK_THREADS)
            gd_job_set_threads(t->job, gd_job_threads(job));
        if (pthread_create(&t->th, NULL, task_run, t) == 0) {
            t->threaded = 1;
            return GD_OK;
        }
        gd_job_set_outdir(t->job, NULL); /* the job's: not released with the fork */
        gd_job_destroy(t->job);
        t->job = NULL;
    }
    if (flags & GD_TASK_AT_JOIN) {
        t->pending = 1;
        return GD_OK;
    }
    return run_inline(job, t);
}

int gd_task_join(gd_job *job, gd_task *t, int st)
{
    if (t->pending) {
        t->pending = 0;
        if (st == GD_OK)
            run_inline(job, t);
    } else if (t->threaded && t->job) {
        pthread_join(t->th, NULL);
        gd_job_set_outdir(t->job, NULL); /* the job's: not released with the fork */
        gd_job_merge(job, t->job);       /* its messages, and its error unless job has one */
        t->job = NULL;
    }
    return st != GD_OK ? st : t->st;
}
