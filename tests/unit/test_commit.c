/* test_commit.c: gd_commit_stream: a stdio output closed and committed to its final name,
 * or removed with one error naming the final file when a write or the close failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/files.h"
#include "geodelta/util.h"

typedef struct fixture {
    char dir[64], tmp[128], final[128];
    gd_job *job;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/gd_test_commit_XXXXXX");
    if (!mkdtemp(fx->dir) || gd_job_create(&fx->job) != GD_OK)
        return -1;
    gd_job_set_quiet(fx->job, 1);
    snprintf(fx->tmp, sizeof fx->tmp, "%s/out.csv.tmp-1", fx->dir);
    snprintf(fx->final, sizeof fx->final, "%s/out.csv", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    unlink(fx->tmp);
    unlink(fx->final);
    rmdir(fx->dir);
    gd_job_destroy(fx->job);
    free(fx);
    return 0;
}

static void test_committed(void **state)
{
    fixture *fx = *state;
    FILE *f = gd_tmp_fopen(fx->tmp);
    assert_non_null(f);
    fputs("a,b\n1,2\n", f);
    assert_int_equal(gd_commit_stream(fx->job, f, fx->tmp, fx->final), GD_OK);
    assert_int_equal(access(fx->tmp, F_OK), -1);
    FILE *r = fopen(fx->final, "r");
    assert_non_null(r);
    char buf[64] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, r);
    fclose(r);
    assert_int_equal(n, 8);
    assert_string_equal(buf, "a,b\n1,2\n");
    assert_int_equal(gd_job_status(fx->job), GD_OK);
}

/* a write that failed before the close: the stream's error indicator, the close itself
 * fine; nothing committed, the temporary removed */
static void test_write_failed(void **state)
{
    fixture *fx = *state;
    FILE *w = gd_tmp_fopen(fx->tmp);
    assert_non_null(w);
    fclose(w);
    FILE *f = fopen(fx->tmp, "r"); /* read-only: the write below fails (EBADF) */
    assert_non_null(f);
    fputc('x', f);
    assert_true(ferror(f));
    assert_int_equal(gd_commit_stream(fx->job, f, fx->tmp, fx->final), GD_EOUTPUT);
    assert_int_equal(access(fx->tmp, F_OK), -1);
    assert_int_equal(access(fx->final, F_OK), -1);
    char want[256];
    snprintf(want, sizeof want, "cannot write %s: ", fx->final);
    assert_memory_equal(gd_job_message(fx->job), want, strlen(want));
}

/* the close fails (a full disk: /dev/full takes the buffer only at the flush) */
static void test_close_failed(void **state)
{
    fixture *fx = *state;
    FILE *w = gd_tmp_fopen(fx->tmp);
    assert_non_null(w);
    fclose(w);
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    fputs("buffered", f);
    assert_false(ferror(f));
    assert_int_equal(gd_commit_stream(fx->job, f, fx->tmp, fx->final), GD_EOUTPUT);
    assert_int_equal(access(fx->tmp, F_OK), -1);
    assert_int_equal(access(fx->final, F_OK), -1);
    char want[256];
    snprintf(want, sizeof want, "cannot write %s: %s", fx->final, strerror(ENOSPC));
    assert_string_equal(gd_job_message(fx->job), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_failed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
