/* test_severity.c: class tables (nbr's USGS burn-severity breaks) and the multi-break
 * classify kernel: boundaries exactly at each break, NaN, infinities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "geodelta/stages.h"
#include <gd_kernels.h>

/* nextafterf below / at each break: the class changes exactly at the break */
static void test_usgs_breaks(void **state)
{
    (void)state;
    const gd_method *m = gd_method_find("nbr");
    assert_non_null(m);
    const gd_class_table *t = m->table;
    assert_non_null(t);
    assert_string_equal(t->name, "usgs");
    assert_int_equal(t->nbreaks, 6);
    /* the breaks, in order, compared in float32 */
    const float want[6] = {-0.25f, -0.10f, 0.10f, 0.27f, 0.44f, 0.66f};
    /* class just below break k, and at break k */
    const uint8_t below[6] = {6, 5, 0, 1, 2, 3}, at[6] = {5, 0, 1, 2, 3, 4};
    for (int k = 0; k < 6; k++) {
        assert_true(t->breaks[k] == want[k]);
        float in[3] = {nextafterf(want[k], -INFINITY), want[k], nextafterf(want[k], INFINITY)};
        uint8_t out[3];
        gd_k_classify_breaks(in, 3, t->breaks, (size_t)t->nbreaks, t->values, out);
        assert_int_equal(out[0], below[k]);
        assert_int_equal(out[1], at[k]);
        assert_int_equal(out[2], at[k]);
    }
    float in[8] = {NAN, -INFINITY, INFINITY, -0.5f, 0.0f, 0.2f, 0.5f, 1.3f};
    uint8_t out[8];
    const uint8_t exp[8] = {255, 6, 4, 6, 0, 1, 3, 4};
    gd_k_classify_breaks(in, 8, t->breaks, (size_t)t->nbreaks, t->values, out);
    assert_memory_equal(out, exp, 8);
    /* class 0 is unburned; the names say so */
    assert_string_equal(t->class_names[0], "unburned");
    assert_string_equal(t->class_names[4], "high severity");
    assert_string_equal(t->class_names[6], "enhanced regrowth, high");
}

static void test_ranges(void **state)
{
    (void)state;
    const gd_class_table *t = gd_method_find("nbr")->table;
    double lo, hi;
    assert_int_equal(gd_class_table_range(t, 6, &lo, &hi), 0);
    assert_true(isinf(lo) && lo < 0);
    assert_true(hi == (double)-0.25f);
    assert_int_equal(gd_class_table_range(t, 0, &lo, &hi), 0);
    assert_true(lo == (double)-0.10f && hi == (double)0.10f);
    assert_int_equal(gd_class_table_range(t, 4, &lo, &hi), 0);
    assert_true(lo == (double)0.66f && isinf(hi) && hi > 0);
    assert_int_equal(gd_class_table_range(t, 7, &lo, &hi), -1);
    /* every class value of the table has a name, a range and a distinct value */
    int seen[256] = {0};
    for (int k = 0; k <= t->nbreaks; k++) {
        assert_true(t->values[k] < GD_MAX_CLASSES);
        assert_int_equal(seen[t->values[k]]++, 0);
        assert_non_null(t->class_names[t->values[k]]);
    }
    for (int k = 1; k < t->nbreaks; k++)
        assert_true(t->breaks[k - 1] < t->breaks[k]);
}

/* the chain's copy of nbr carries the table's names and colours; others keep theirs */
static void test_method_with_table(void **state)
{
    (void)state;
    const gd_method *m = gd_method_find("nbr");
    gd_method mt;
    gd_method_with_table(m, m->table, &mt);
    assert_string_equal(mt.name, "nbr");
    assert_string_equal(mt.class_names[0], "unburned");
    assert_string_equal(mt.class_names[1], "low severity");
    assert_int_equal(mt.class_rgb[4][0], 164);
    assert_null(mt.class_names[7]);
    assert_string_equal(m->class_names[2], "burned"); /* the table itself is untouched */
    for (size_t i = 0; gd_method_at(i); i++)
        if (strcmp(gd_method_at(i)->name, "nbr") != 0)
            assert_null(gd_method_at(i)->table);
}

/* an empty table puts everything in values[0]; odd lengths */
static void test_kernel_generic(void **state)
{
    (void)state;
    const uint8_t v0[1] = {7};
    float in[5] = {1.0f, NAN, -3.0f, 0.0f, INFINITY};
    uint8_t out[5];
    gd_k_classify_breaks(in, 5, NULL, 0, v0, out);
    const uint8_t e0[5] = {7, 255, 7, 7, 7};
    assert_memory_equal(out, e0, 5);
    const float br[2] = {0.0f, 1.0f};
    const uint8_t v2[3] = {0, 1, 2};
    gd_k_classify_breaks(in, 5, br, 2, v2, out);
    const uint8_t e2[5] = {2, 255, 0, 1, 2};
    assert_memory_equal(out, e2, 5);
    gd_k_classify_breaks(in, 0, br, 2, v2, out); /* n = 0 writes nothing */
    assert_memory_equal(out, e2, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usgs_breaks),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_method_with_table),
        cmocka_unit_test(test_kernel_generic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
