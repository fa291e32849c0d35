/* test_job.c: the job context: nested progress slots. */
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

int main(void)
{
    CPLSetErrorHandler(CPLQuietErrorHandler);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
