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
    assert_int_equal(gd_flood_classify(job, &s, w, GD_FLOOD_MNDWI, 0.3, &c), GD_OK);
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
    assert_int_equal(gd_flood_classify(job, &s, NULL, GD_FLOOD_SAR, t, &c), GD_OK);
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

static void test_sar_permanent(void **state)
{
    (void)state;
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    /* dark on both dates is permanent water whatever the ratio; dark after only with a
     * darkening beyond the ratio is new water; dark before only (water gone) is 0 */
    float v[6] = {(float)log(0.5), (float)log(1.0), (float)log(0.5), (float)log(0.5),
                  (float)log(2.0), NAN};
    uint8_t w[6] = {3, 3, 2, 0, 1, 3};
    gd_score s = {0};
    s.data = v;
    s.width = 6;
    s.height = 1;
    uint8_t *c = NULL;
    assert_int_equal(gd_flood_classify(job, &s, w, GD_FLOOD_SAR, log(1.0 / 1.25), &c), GD_OK);
    const uint8_t want[6] = {2, 2, 1, 1, 0, 255};
    assert_memory_equal(c, want, 6);
    free(c);
    gd_job_destroy(job);
}

static void test_mask_rule(void **state)
{
    (void)state;
    uint8_t c[8] = {1, 1, 2, 0, 255, 1, 0, 1};
    const uint8_t steep[8] = {1, 0, 1, 1, 1, 255, 0, 0};
    const uint8_t perm[8] = {0, 0, 0, 1, 1, 0, 0, 1};
    gd_flood_mask_counts k;
    gd_flood_mask_classes(c, steep, perm, 8, &k);
    /* steep new water -> 0; steep permanent water stays; the mask makes any valid pixel
     * permanent water (new water too); nodata stays nodata; no DEM -> counted, kept */
    const uint8_t want[8] = {0, 1, 2, 2, 255, 1, 0, 2};
    assert_memory_equal(c, want, 8);
    assert_int_equal(k.steep_excluded, 1);
    assert_int_equal(k.no_dem, 1);
    assert_int_equal(k.permanent, 2);
    assert_int_equal(k.new_water_to_permanent, 1);
    /* either mask may be absent */
    uint8_t d[3] = {1, 2, 255};
    gd_flood_mask_classes(d, NULL, NULL, 3, &k);
    const uint8_t same[3] = {1, 2, 255};
    assert_memory_equal(d, same, 3);
    assert_int_equal(k.steep_excluded + k.no_dem + k.permanent, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optical_classes),
        cmocka_unit_test(test_sar_rule),
        cmocka_unit_test(test_sar_permanent),
        cmocka_unit_test(test_mask_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
