/* test_job.c: the job context: nested progress slots, light contexts for other threads
 * (fork/merge), errors logged only when final, GDAL's warnings forwarded (from any
 * thread, once each, capped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cpl_error.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/job.h"

#define near(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static gd_job *new_job(void)
{
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    return job;
}

static void test_progress_nested(void **state)
{
    (void)state;
    gd_job *job = new_job();
    near(gd_job_progress_total(job, 0.5), 0.5);
    gd_job_progress_range(job, 0.2, 0.6); /* top level: fractions of the whole job */
    near(gd_job_progress_total(job, 0.5), 0.4);
    /* like gd_job_progress_range, push takes fractions of the current slot (here the
     * whole job) and opens a slot there for a stage */
    gd_job_progress_push(job, 0.4, 0.6);
    near(gd_job_progress_total(job, 0.0), 0.4);
    near(gd_job_progress_total(job, 1.0), 0.6);
    gd_job_progress_range(job, 0.0, 0.5); /* its first half */
    near(gd_job_progress_total(job, 1.0), 0.5);
    gd_job_progress_push(job, 0.25, 0.5); /* a sub-stage: the second quarter of the stage */
    near(gd_job_progress_total(job, 0.0), 0.45);
    gd_job_progress_range(job, 0.0, 1.0);
    near(gd_job_progress_total(job, 1.0), 0.5);
    gd_job_progress_pop(job); /* back in the stage, at the end of the sub-stage's slot */
    near(gd_job_progress_total(job, 0.0), 0.45);
    near(gd_job_progress_total(job, 1.0), 0.5);
    gd_job_progress_range(job, 0.5, 1.0);
    near(gd_job_progress_total(job, 1.0), 0.6);
    gd_job_progress_pop(job);
    gd_job_progress_range(job, 0.6, 0.8); /* top level again: absolute */
    near(gd_job_progress_total(job, 0.5), 0.7);
    /* deeper than the stack and more pops than pushes: the state stays sane */
    gd_job_progress_push(job, 0.6, 0.8);
    for (int i = 0; i < 20; i++)
        gd_job_progress_push(job, 0.0, 1.0);
    near(gd_job_progress_total(job, 0.5), 0.7);
    for (int i = 0; i < 25; i++)
        gd_job_progress_pop(job);
    gd_job_progress_range(job, 0.1, 0.3);
    near(gd_job_progress_total(job, 0.5), 0.2);
    /* fractions outside 0..1 are clamped */
    near(gd_job_progress_total(job, -1.0), 0.1);
    near(gd_job_progress_total(job, 2.0), 0.3);
    gd_job_destroy(job);
}

typedef struct task {
    gd_job *ctx;
    int fail;
} task;

static void *thread_work(void *arg)
{
    task *t = arg;
    gd_job_warn(t->ctx, "thread warning %d", t->fail);
    gd_job_info(t->ctx, "thread info");
    if (t->fail)
        gd_job_error(t->ctx, GD_EINPUT, "thread failed");
    return NULL;
}

static void test_fork_merge(void **state)
{
    (void)state;
    gd_job *job = new_job();
    task t[2] = {{NULL, 0}, {NULL, 1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gd_job_fork(job, &t[i].ctx), GD_OK);
        assert_int_equal(pthread_create(&th[i], NULL, thread_work, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    /* nothing reached the job before the merge */
    assert_int_equal(json_array_size(gd_job_warnings(job)), 0);
    assert_int_equal(gd_job_status(job), GD_OK);
    assert_int_equal(gd_job_merge(job, t[0].ctx), GD_OK);
    assert_int_equal(gd_job_status(job), GD_OK);
    assert_int_equal(gd_job_merge(job, t[1].ctx), GD_EINPUT);
    assert_int_equal(gd_job_status(job), GD_EINPUT);
    assert_string_equal(gd_job_message(job), "thread failed");
    json_t *w = gd_job_warnings(job);
    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(json_string_value(json_array_get(w, 0)), "thread warning 0");
    assert_string_equal(json_string_value(json_array_get(w, 1)), "thread warning 1");
    /* the job's first error stays the root cause; NULL merges as nothing */
    gd_job *ctx = NULL;
    assert_int_equal(gd_job_fork(job, &ctx), GD_OK);
    gd_job_error(ctx, GD_EPROC, "later");
    assert_int_equal(gd_job_merge(job, ctx), GD_EPROC);
    assert_string_equal(gd_job_message(job), "thread failed");
    assert_int_equal(gd_job_merge(job, NULL), GD_OK);
    /* a context that is only looked at, then dropped, leaves the job as it was */
    assert_int_equal(gd_job_fork(job, &ctx), GD_OK);
    gd_job_warn(ctx, "dropped");
    assert_null(gd_job_params(ctx));
    gd_job_destroy(ctx);
    assert_int_equal(json_array_size(gd_job_warnings(job)), 2);
    gd_job_destroy(job);
}

static int count_lines(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

static void test_error_logged_when_final(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "/tmp/gd_test_job_%ld.log", (long)getpid());
    gd_job *job = new_job();
    assert_int_equal(gd_job_open_log(job, path), GD_OK);
    gd_job_error(job, GD_EINPUT, "recovered from");
    gd_job_warn(job, "went on without it");
    gd_job_clear_error(job);
    gd_job_close_log(job);
    assert_int_equal(count_lines(path, " ERROR "), 0);
    assert_int_equal(count_lines(path, " WARNING went on without it"), 1);

    assert_int_equal(gd_job_open_log(job, path), GD_OK);
    gd_job_error(job, GD_EINPUT, "root cause");
    gd_job_error(job, GD_EPROC, "consequence");
    gd_job_close_log(job);
    assert_int_equal(count_lines(path, " ERROR "), 1);
    assert_int_equal(count_lines(path, " ERROR root cause"), 1);
    gd_job_destroy(job);
    unlink(path);
}

static void *gdal_warns(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        CPLError(CE_Warning, CPLE_AppDefined, "from a worker");
    return NULL;
}

static void test_gdal_warnings(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "/tmp/gd_test_job_gdal_%ld.log", (long)getpid());
    gd_job *job = new_job();
    CPLError(CE_Warning, CPLE_AppDefined, "before the log: not the job's");
    assert_int_equal(gd_job_open_log(job, path), GD_OK);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, gdal_warns, NULL), 0);
    CPLError(CE_Warning, CPLE_AppDefined, "from the job's thread");
    CPLError(CE_Failure, CPLE_AppDefined, "a failure is for gd_job_error_gdal");
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    json_t *w = gd_job_warnings(job);
    assert_int_equal(json_array_size(w), 2);
    int worker = 0, own = 0;
    size_t i;
    json_t *v;
    json_array_foreach(w, i, v) {
        worker += strcmp(json_string_value(v), "GDAL: from a worker") == 0;
        own += strcmp(json_string_value(v), "GDAL: from the job's thread") == 0;
    }
    assert_int_equal(worker, 1);
    assert_int_equal(own, 1);
    /* a flood of distinct warnings is capped, with one line saying so */
    for (int k = 0; k < 40; k++)
        CPLError(CE_Warning, CPLE_AppDefined, "distinct %d", k);
    w = gd_job_warnings(job);
    assert_int_equal(json_array_size(w), 17);
    assert_non_null(strstr(json_string_value(json_array_get(w, 16)), "more than 16 distinct"));
    gd_job_close_log(job);
    assert_int_equal(count_lines(path, " WARNING GDAL: from a worker"), 1);
    assert_int_equal(count_lines(path, "came 200 times"), 1);
    /* the log closed: GDAL's warnings are not the job's any more */
    CPLError(CE_Warning, CPLE_AppDefined, "after");
    assert_int_equal(json_array_size(gd_job_warnings(job)), 17);
    gd_job_destroy(job);
    unlink(path);
}

int main(void)
{
    CPLSetErrorHandler(CPLQuietErrorHandler);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_nested),
        cmocka_unit_test(test_fork_merge),
        cmocka_unit_test(test_error_logged_when_final),
        cmocka_unit_test(test_gdal_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
