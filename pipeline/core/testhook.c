/* testhook.c: the pause points of the test build; a no-op in geodelta itself (the test
 * binary geodelta_hooks links tests/e2e/testhooks.c, whose definitions win). */
#include "geodelta/files.h"

__attribute__((weak)) void gd_test_pause(const char *name) { (void)name; }
__attribute__((weak)) int gd_test_pause_active(const char *name)
{
    (void)name;
    return 0;
}
