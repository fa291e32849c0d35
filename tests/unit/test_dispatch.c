/* test_dispatch.c: GEODELTA_ISA=scalar forces the scalar kernels (needs a fresh process). */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gd_kernels.h"

static void test_env_forces_scalar(void **state)
{
    (void)state;
    /* must happen before any other kernel call: the choice is made once */
    assert_int_equal(setenv("GEODELTA_ISA", "scalar", 1), 0);
    gd_kernels_init();
    assert_int_equal(gd_kernels_isa(), GD_ISA_SCALAR);
    assert_string_equal(gd_kernels_isa_name(), "scalar");
    /* a later change of the environment does not re-dispatch */
    assert_int_equal(setenv("GEODELTA_ISA", "avx512", 1), 0);
    gd_kernels_init();
    assert_int_equal(gd_kernels_isa(), GD_ISA_SCALAR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_forces_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
