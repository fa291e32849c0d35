/* test_flood.c: the flood method's classes (new / permanent water, SAR ratio rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/job.h"
#include "geodelta/stages.h"

static void test_optical_classes(void **state)
{
    (void)state;
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    /* score = index rise; water bits: 1 before, 2 after */
    float v[8] = {0.5f, 0.5f, 0.1f, 0.3f, 0.5f, NAN, -0.2f, 0.3f};
    uint8_t w[8] = {2, 3, 2, 2, 0, 2, 1, 1};
    gd_score s = {0};
    s.data = v;
    s.width = 8;
    s.height = 1;
    uint8_t *c = NULL;
    assert_int_equal(gd_flood_classify(job, &s, w, 0.3, &c), GD_OK);
    /* new water needs water after only and a rise >= t (exactly t counts); water on
     * both dates is permanent whatever the score; water lost is not a class */
    const uint8_t want[8] = {1, 2, 0, 1, 0, 255, 0, 0};
    assert_memory_equal(c, want, 8);
    free(c);
    gd_job_destroy(job);
}

static void test_sar_rule(void **state)
{
    (void)state;
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    gd_score s = {0};
    double t = 0;
    const char *mode = NULL;
    assert_int_equal(gd_flood_threshold(job, &s, GD_FLOOD_SAR, NAN, 0, &t, &mode), GD_OK);
    assert_string_equal(mode, "unspider-ratio");
    assert_true(fabs(t - log(1.0 / 1.25)) < 1e-15);
    /* log-ratios just below and at ln(1/1.25): only a darkening beyond the ratio counts */
    float v[4] = {(float)log(0.79), (float)log(0.81), (float)log(2.0), NAN};
    s.data = v;
    s.width = 4;
    s.height = 1;
    uint8_t *c = NULL;
    assert_int_equal(gd_flood_classify(job, &s, NULL, t, &c), GD_OK);
    const uint8_t want[4] = {1, 0, 0, 255};
    assert_memory_equal(c, want, 4);
    free(c);
    assert_int_equal(gd_flood_threshold(job, &s, GD_FLOOD_SAR, 2.0, 0, &t, &mode), GD_OK);
    assert_true(fabs(t + log(2.0)) < 1e-15);
    assert_string_equal(mode, "fixed-ratio");
    assert_int_equal(gd_flood_threshold(job, &s, GD_FLOOD_SAR, 0.8, 0, &t, &mode), GD_EUSAGE);
    /* optical: a fixed -t is the index rise itself */
    assert_int_equal(gd_flood_threshold(job, &s, GD_FLOOD_MNDWI, 0.25, 0, &t, &mode), GD_OK);
    assert_true(t == 0.25);
    assert_string_equal(mode, "fixed");
    gd_job_destroy(job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optical_classes),
        cmocka_unit_test(test_sar_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
