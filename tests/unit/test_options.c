/* test_options.c: the detect option table's own consistency (unique names and keys, valid
 * offsets, examples accepted, ranges enforced, choices known to the stages that use them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/options.h"
#include "geodelta/stages.h"

static void test_unique_names_and_keys(void **state)
{
    (void)state;
    const gd_opt_table *t = gd_detect_option_table();
    assert_true(t->n > 40);
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *a = &t->opts[i];
        assert_true(a->off < sizeof(gd_detect_options));
        assert_non_null(a->help);
        assert_non_null(a->group);
        for (size_t k = i + 1; k < t->n; k++) {
            const gd_opt *b = &t->opts[k];
            assert_string_not_equal(a->name, b->name);
            if (a->short_name)
                assert_int_not_equal(a->short_name, b->short_name);
            if (a->batch_key && b->batch_key)
                assert_string_not_equal(a->batch_key, b->batch_key);
        }
        /* batch keys are the option names with '_' for '-' (one spelling to learn) */
        if (a->batch_key) {
            char key[64];
            snprintf(key, sizeof key, "%s", a->name);
            for (char *c = key; *c; c++)
                if (*c == '-')
                    *c = '_';
            assert_string_equal(a->batch_key, key);
            assert_int_not_equal(a->batch, GD_BATCH_NONE);
        }
        if (a->needs)
            assert_non_null(gd_opt_find(t, a->needs));
        for (const gd_opt_default *d = a->method_defaults; d && d->method; d++)
            assert_non_null(gd_method_find(d->method));
    }
}

static void test_examples_and_ranges(void **state)
{
    (void)state;
    const gd_opt_table *t = gd_detect_option_table();
    char what[512], buf[64];
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *o = &t->opts[i];
        gd_detect_options d;
        gd_detect_options_init(&d);
        if (o->example) {
            if (gd_opt_set(o, o->example, &d, what, sizeof what) != 0)
                fail_msg("--%s example '%s' refused: %s", o->name, o->example, what);
        }
        if (o->type == GD_OPT_INT) {
            snprintf(buf, sizeof buf, "%.0f", o->lo - 1);
            assert_int_not_equal(gd_opt_set(o, buf, &d, what, sizeof what), 0);
            snprintf(buf, sizeof buf, "%.0f", o->hi + 1);
            assert_int_not_equal(gd_opt_set(o, buf, &d, what, sizeof what), 0);
            assert_int_not_equal(gd_opt_set(o, "7x", &d, what, sizeof what), 0);
            if (o->flags & GD_OPTF_ODD) {
                assert_int_not_equal(gd_opt_set(o, "4", &d, what, sizeof what), 0);
                assert_int_equal(gd_opt_set(o, "5", &d, what, sizeof what), 0);
            }
        }
        if (o->type == GD_OPT_DOUBLE) {
            assert_int_not_equal(gd_opt_set(o, "nan", &d, what, sizeof what), 0);
            snprintf(buf, sizeof buf, "%.17g", o->hi * 2 + 1);
            assert_int_not_equal(gd_opt_set(o, buf, &d, what, sizeof what), 0);
        }
        if (o->type == GD_OPT_CHOICE && !(o->flags & GD_OPTF_NUMBER))
            assert_int_not_equal(gd_opt_set(o, "no-such-choice", &d, what, sizeof what), 0);
    }
}

/* the drifts of the old four declarations, as single checks */
static void test_known_drifts(void **state)
{
    (void)state;
    const gd_opt_table *t = gd_detect_option_table();
    gd_detect_options d;
    char what[512];
    gd_detect_options_init(&d);
    assert_int_equal(gd_opt_set(gd_opt_find(t, "threshold"), "ki", &d, what, sizeof what), 0);
    assert_int_not_equal(gd_opt_set(gd_opt_find(t, "map-width"), "319", &d, what, sizeof what), 0);
    assert_non_null(strstr(what, "320"));
    assert_int_not_equal(gd_opt_set(gd_opt_find(t, "speckle-window"), "8", &d, what, sizeof what), 0);
    assert_int_not_equal(gd_opt_set(gd_opt_find(t, "threshold"), "-1", &d, what, sizeof what), 0);
    /* every method of the registry is a choice of -m, and appears in the help */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    gd_opts_help(t, f);
    fclose(f);
    for (size_t i = 0; gd_method_at(i); i++) {
        assert_int_equal(gd_opt_set(gd_opt_find(t, "method"), gd_method_at(i)->name, &d, what,
                                    sizeof what), 0);
        assert_non_null(strstr(text, gd_method_at(i)->name));
    }
    free(text);
}

/* the choices of --sensor are the names the sensor stage parses */
static void test_sensor_choices(void **state)
{
    (void)state;
    const gd_opt *o = gd_opt_find(gd_detect_option_table(), "sensor");
    assert_non_null(o);
    for (const gd_opt_choice *c = o->choices; c->name; c++)
        assert_true(gd_sensor_parse(c->name) >= 0);
}

/* a whole command line through getopt_long, and its errors */
static void test_parse(void **state)
{
    (void)state;
    const gd_opt_table *t = gd_detect_option_table();
    gd_detect_options d;
    char err[1024];
    char *ok[] = {"detect", "-b", "b.tif", "-a", "a.tif", "-m", "logratio", "-o", "out",
                  "--speckle-window", "5", "--s2-offset", "-1000", "--layout", "single",
                  "--map-bands", "false-color", "--stretch", "1,99", "--threads", "2", "-q", NULL};
    gd_detect_options_init(&d);
    assert_int_equal(gd_opts_parse(t, 22, ok, &d, err, sizeof err), 0);
    assert_int_equal(d.p.sar.speckle_window, 5);
    assert_int_equal(d.p.in.has_s2_offset, 1);
    assert_true(d.p.in.s2_offset == -1000.0);
    assert_int_equal(d.p.map.layout, 1);
    assert_int_equal(d.p.map.bands, 1);
    assert_true(d.p.map.stretch_lo == 1.0 && d.p.map.stretch_hi == 99.0);
    assert_int_equal(d.threads, 2);
    assert_int_equal(d.quiet, 1);
    assert_string_equal(d.p.method, "logratio");
    char *bad[] = {"detect", "-b", "b.tif", "-a", "a.tif", "-m", "ndvi", "-o", "out",
                   "--max-slope", "5", NULL};
    gd_detect_options_init(&d);
    assert_int_not_equal(gd_opts_parse(t, 11, bad, &d, err, sizeof err), 0);
    assert_non_null(strstr(err, "--max-slope needs --dem"));
    char *missing[] = {"detect", "-b", "b.tif", "-a", "a.tif", "-o", "out", NULL};
    gd_detect_options_init(&d);
    assert_int_not_equal(gd_opts_parse(t, 7, missing, &d, err, sizeof err), 0);
    assert_non_null(strstr(err, "-m METHOD is required"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unique_names_and_keys),
        cmocka_unit_test(test_examples_and_ranges),
        cmocka_unit_test(test_known_drifts),
        cmocka_unit_test(test_sensor_choices),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
