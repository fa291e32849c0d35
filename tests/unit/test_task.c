/* test_task.c: gd_task, a function on its own thread in a forked context merged back at
 * the join: threaded and in-line runs, errors (the job's first one wins), messages,
 * timing, and what the fork shares (OUTDIR, threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/files.h"
#include "geodelta/task.h"
#include "geodelta/util.h"

/* What the task saw, for the test to check. */
typedef struct probe {
    int fail;              /* record this error in the task's context */
    int ran;
    int other_thread;      /* ran on another thread than the caller's */
    pthread_t caller;
    gd_job *ctx;           /* the context it was given */
    int threads;           /* gd_job_threads of that context */
    struct gd_outdir *outdir;
    char tmp[4096];        /* a temporary name made on that context */
    int tmp_st;
    const char *final;     /* for the temporary name, when set */
} probe;

static int probe_task(gd_job *job, void *arg)
{
    probe *p = arg;
    p->ran++;
    p->other_thread = !pthread_equal(pthread_self(), p->caller);
    p->ctx = job;
    p->threads = gd_job_threads(job);
    p->outdir = gd_job_outdir(job);
    if (p->final)
        p->tmp_st = gd_tmp_name(job, p->final, p->tmp, sizeof p->tmp);
    usleep(20000); /* something for gd_task's clock to measure */
    gd_job_warn(job, "task warning");
    gd_job_info(job, "task info");
    if (p->fail)
        return gd_job_error(job, GD_EINPUT, "task failed");
    return GD_OK;
}

static gd_job *new_job(int threads)
{
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    gd_job_set_threads(job, threads);
    return job;
}

static size_t nwarn(gd_job *job)
{
    return json_array_size(gd_job_warnings(job));
}

static void test_threaded(void **state)
{
    (void)state;
    gd_job *job = new_job(2);
    probe p = {.caller = pthread_self()};
    gd_task t;
    assert_int_equal(gd_task_start(job, &t, probe_task, &p, 0), GD_OK);
    assert_true(t.threaded);
    /* whatever the thread did so far is held in its context until the join */
    assert_int_equal(nwarn(job), 0);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_OK);
    assert_int_equal(p.ran, 1);
    assert_true(p.other_thread);
    assert_ptr_not_equal(p.ctx, job);
    assert_int_equal(p.threads, 1); /* a fork's own count without GD_TASK_THREADS */
    assert_true(t.seconds >= 0.015 && t.seconds < 10.0);
    assert_int_equal(nwarn(job), 1);
    assert_string_equal(json_string_value(json_array_get(gd_job_warnings(job), 0)),
                        "task warning");
    assert_int_equal(gd_job_status(job), GD_OK);
    gd_job_destroy(job);
}

static void test_inline(void **state)
{
    (void)state;
    /* one thread: at once, on the job itself */
    gd_job *job = new_job(1);
    probe p = {.caller = pthread_self()};
    gd_task t;
    assert_int_equal(gd_task_start(job, &t, probe_task, &p, 0), GD_OK);
    assert_false(t.threaded);
    assert_int_equal(p.ran, 1);
    assert_false(p.other_thread);
    assert_ptr_equal(p.ctx, job);
    assert_int_equal(nwarn(job), 1); /* straight into the job */
    assert_true(t.seconds >= 0.015);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_OK);
    assert_int_equal(p.ran, 1); /* not again */
    assert_int_equal(nwarn(job), 1);
    /* failing in line: gd_task_start says so, and the error is the job's */
    probe f = {.caller = pthread_self(), .fail = 1};
    assert_int_equal(gd_task_start(job, &t, probe_task, &f, 0), GD_EINPUT);
    assert_int_equal(gd_job_status(job), GD_EINPUT);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_EINPUT);
    gd_job_destroy(job);

    /* threads 0 (the engine's default) is not "more than one" either */
    job = new_job(0);
    probe z = {.caller = pthread_self()};
    assert_int_equal(gd_task_start(job, &t, probe_task, &z, 0), GD_OK);
    assert_false(t.threaded);
    assert_int_equal(z.ran, 1);
    gd_task_join(job, &t, GD_OK);
    gd_job_destroy(job);
}

static void test_at_join(void **state)
{
    (void)state;
    gd_job *job = new_job(1);
    probe p = {.caller = pthread_self()};
    gd_task t;
    /* in line at the join, after the caller's work */
    assert_int_equal(gd_task_start(job, &t, probe_task, &p, GD_TASK_AT_JOIN), GD_OK);
    assert_int_equal(p.ran, 0);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_OK);
    assert_int_equal(p.ran, 1);
    assert_ptr_equal(p.ctx, job);
    assert_false(p.other_thread);
    assert_true(t.seconds >= 0.015);
    /* and not at all when the caller's work failed */
    probe q = {.caller = pthread_self()};
    assert_int_equal(gd_task_start(job, &t, probe_task, &q, GD_TASK_AT_JOIN), GD_OK);
    gd_job_error(job, GD_EOUTPUT, "caller failed");
    assert_int_equal(gd_task_join(job, &t, GD_EOUTPUT), GD_EOUTPUT);
    assert_int_equal(q.ran, 0);
    assert_int_equal(t.st, GD_OK);
    gd_job_destroy(job);

    /* GD_TASK_ALWAYS: a thread even with one, so AT_JOIN does not apply */
    job = new_job(1);
    probe a = {.caller = pthread_self()};
    assert_int_equal(gd_task_start(job, &t, probe_task, &a, GD_TASK_ALWAYS | GD_TASK_AT_JOIN),
                     GD_OK);
    assert_true(t.threaded);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_OK);
    assert_int_equal(a.ran, 1);
    assert_true(a.other_thread);
    gd_job_destroy(job);
}

static void test_errors(void **state)
{
    (void)state;
    /* the task's error reaches the job at the join */
    gd_job *job = new_job(2);
    probe p = {.caller = pthread_self(), .fail = 1};
    gd_task t;
    assert_int_equal(gd_task_start(job, &t, probe_task, &p, 0), GD_OK);
    assert_true(t.threaded);
    assert_int_equal(gd_job_status(job), GD_OK);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_EINPUT);
    assert_int_equal(t.st, GD_EINPUT);
    assert_int_equal(gd_job_status(job), GD_EINPUT);
    assert_string_equal(gd_job_message(job), "task failed");
    assert_int_equal(nwarn(job), 1); /* its messages too */
    gd_job_destroy(job);

    /* the job's own earlier error wins: status and message */
    job = new_job(2);
    probe q = {.caller = pthread_self(), .fail = 1};
    assert_int_equal(gd_task_start(job, &t, probe_task, &q, 0), GD_OK);
    int st = gd_job_error(job, GD_EOUTPUT, "caller failed first");
    assert_int_equal(gd_task_join(job, &t, st), GD_EOUTPUT);
    assert_int_equal(gd_job_status(job), GD_EOUTPUT);
    assert_string_equal(gd_job_message(job), "caller failed first");
    assert_int_equal(nwarn(job), 1); /* the task's warning still arrives */
    gd_job_destroy(job);

    /* a zeroed task that never started joins as nothing */
    job = new_job(2);
    gd_task z = {0};
    assert_int_equal(gd_task_join(job, &z, GD_OK), GD_OK);
    assert_int_equal(gd_task_join(job, &z, GD_EPROC), GD_EPROC);
    assert_int_equal(nwarn(job), 0);
    gd_job_destroy(job);
}

static void test_shares(void **state)
{
    (void)state;
    char dir[] = "/tmp/gd_test_task_XXXXXX";
    assert_non_null(mkdtemp(dir));
    gd_job *job = new_job(2);
    assert_int_equal(gd_outdir_lock(job, dir), GD_OK);
    struct gd_outdir *od = gd_job_outdir(job);
    assert_non_null(od);
    char final[4200];
    snprintf(final, sizeof final, "%s/out.bin", dir);
    probe p = {.caller = pthread_self(), .final = final};
    gd_task t;
    assert_int_equal(gd_task_start(job, &t, probe_task, &p, GD_TASK_OUTDIR | GD_TASK_THREADS),
                     GD_OK);
    assert_true(t.threaded);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_OK);
    assert_ptr_equal(p.outdir, od);
    assert_int_equal(p.threads, 2);
    /* the temporary is in the run's private folder, not beside the final name */
    assert_int_equal(p.tmp_st, GD_OK);
    assert_non_null(strstr(p.tmp, "/" GD_OUTDIR_TMP_PREFIX));
    /* the folder is still the job's after the fork is gone */
    assert_ptr_equal(gd_job_outdir(job), od);
    char tmp[4200];
    assert_int_equal(gd_tmp_name(job, final, tmp, sizeof tmp), GD_OK);
    assert_non_null(strstr(tmp, "/" GD_OUTDIR_TMP_PREFIX));
    /* without GD_TASK_OUTDIR the fork has none */
    probe q = {.caller = pthread_self()};
    assert_int_equal(gd_task_start(job, &t, probe_task, &q, 0), GD_OK);
    assert_int_equal(gd_task_join(job, &t, GD_OK), GD_OK);
    assert_null(q.outdir);
    gd_outdir_release(job);
    gd_job_destroy(job);
    assert_int_equal(rmdir(dir), 0); /* lock and private folder gone: empty */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threaded),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_at_join),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
