/* test_monitor.c: the monitor's pieces: dates, LIST files, the normal quantile and the
 * baseline spread factor that keeps one observation's false-alarm rate at --p-value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gd_timeseries.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/monitor.h"
#include "monitor_int.h"
#include "test_rng.h"

static void test_dates(void **state)
{
    (void)state;
    assert_int_equal(gd_monitor_parse_date("2016-01-01"), 20160101);
    assert_int_equal(gd_monitor_parse_date("2016-02-29"), 20160229);
    assert_int_equal(gd_monitor_parse_date("2015-02-29"), 0);
    assert_int_equal(gd_monitor_parse_date("2000-02-29"), 20000229);
    assert_int_equal(gd_monitor_parse_date("1900-02-29"), 0);
    assert_int_equal(gd_monitor_parse_date("2016-13-01"), 0);
    assert_int_equal(gd_monitor_parse_date("2016-1-01"), 0);
    assert_int_equal(gd_monitor_parse_date("2016-01-01x"), 0);
    assert_int_equal(gd_monitor_parse_date(NULL), 0);
    assert_int_equal(gd_monitor_days(19700101), 0);
    assert_int_equal(gd_monitor_days(20000101), 10957);
    assert_int_equal(gd_monitor_days(20160301) - gd_monitor_days(20160228), 2);
    assert_int_equal(gd_monitor_days(20150301) - gd_monitor_days(20150228), 1);
}

static void test_quantile(void **state)
{
    (void)state;
    /* reference values: R qnorm */
    assert_true(fabs(gd_monitor_norm_quantile(0.01) + 2.326347874040841) < 1e-12);
    assert_true(fabs(gd_monitor_norm_quantile(0.005) + 2.575829303548901) < 1e-12);
    assert_true(fabs(gd_monitor_norm_quantile(0.5)) < 1e-14);
    assert_true(fabs(gd_monitor_norm_quantile(0.975) - 1.959963984540054) < 1e-12);
    assert_true(fabs(gd_monitor_norm_quantile(1e-9) + 5.997807015007686) < 1e-9);
    assert_true(isinf(gd_monitor_norm_quantile(0.0)));
}

static int write_list(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void test_stack_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_monitor.XXXXXX", list[256], img[256];
    assert_non_null(mkdtemp(dir));
    snprintf(img, sizeof img, "%s/a.tif", dir);
    assert_int_equal(write_list(img, "not a raster, but readable"), 0);
    snprintf(list, sizeof list, "%s/l.txt", dir);
    gd_job *job = NULL;
    gd_stack *s = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    /* comments, blank lines, spaces around; paths relative to the list */
    assert_int_equal(write_list(list, "# x\n\n  2016-01-01   a.tif  \n2016-01-13 a.tif\n"), 0);
    assert_int_equal(gd_stack_read(job, list, &s), GD_OK);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->items[0].date, 20160101);
    assert_int_equal(s->items[1].line, 4);
    assert_string_equal(s->items[1].path, img);
    gd_stack_destroy(s);
    s = NULL;
    static const char *const bad[][2] = {
        {"2016-01-13 a.tif\n2016-01-01 a.tif\n", "line 2: date 2016-01-01 comes before"},
        {"2016-01-01 a.tif\n2016-01-01 a.tif\n", "repeats"},
        {"2016-01-01\n", "line 1: expected"},
        {"2016-01-01 b.tif\n", "line 1: image"},
        {"# only\n", "lists no image"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gd_job *j2 = NULL;
        assert_int_equal(gd_job_create(&j2), GD_OK);
        gd_job_set_quiet(j2, 1);
        assert_int_equal(write_list(list, bad[i][0]), 0);
        assert_int_equal(gd_stack_read(j2, list, &s), GD_EINPUT);
        assert_null(s);
        assert_non_null(strstr(gd_job_message(j2), bad[i][1]));
        gd_job_destroy(j2);
    }
    gd_job_destroy(job);
    unlink(list);
    unlink(img);
    rmdir(dir);
}

/* Box-Muller on the LCG: the tails matter here (the Irwin-Hall sum has none past 6) */
static double normal(void)
{
    double u = lcg_uniform(), v = lcg_uniform();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

/* With the factor, a new normal value beyond the threshold of a median/MAD baseline of n
 * values happens at rate p (within Monte-Carlo error); without it, far more often for
 * small n. */
static void test_sigma_factor(void **state)
{
    (void)state;
    const double p = 0.01, z = -gd_monitor_norm_quantile(p);
    const int trials = 200000;
    lcg_seed(20261206);
    for (int n = 8; n <= 64; n *= 2) {
        double fac = gd_monitor_sigma_factor(p, z, n, 1);
        assert_true(fac > 1.0);
        long hit = 0, hit_raw = 0;
        float v[64], tmp[64], med, sig;
        for (int t = 0; t < trials; t++) {
            for (int k = 0; k < n; k++)
                v[k] = (float)normal();
            gd_k_median_mad(v, n, tmp, &med, &sig);
            double x = normal(), zz = (x - med) / sig;
            hit += zz < -z * fac;
            hit_raw += zz < -z;
        }
        double rate = (double)hit / trials, raw = (double)hit_raw / trials;
        printf("n %2d: factor %.3f, false-alarm rate %.4f (without %.4f), wanted %.4f\n", n, fac,
               rate, raw, p);
        assert_true(rate > 0.5 * p && rate < 1.5 * p);
        assert_true(raw > rate);
    }
    /* large baselines need (almost) no widening */
    assert_true(gd_monitor_sigma_factor(p, z, 1000, 1) < 1.02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_stack_read),
        cmocka_unit_test(test_sigma_factor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
