/* testhooks.c: the pause points of the test build (geodelta_hooks). With
 * GEODELTA_TEST_PAUSE_AT=NAME and GEODELTA_TEST_PAUSE_DIR=DIR the run stops once at the
 * point NAME: it creates DIR/NAME.reached (holding its PID) and waits for DIR/NAME.go,
 * or for SIGINT/SIGTERM, or 120 s. A test does its hostile act in between, so races are
 * reproduced exactly instead of with sleeps. These definitions replace the no-ops of
 * pipeline/core/testhook.c. */
#include "geodelta/files.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int gd_test_pause_active(const char *name)
{
    const char *at = getenv("GEODELTA_TEST_PAUSE_AT"), *dir = getenv("GEODELTA_TEST_PAUSE_DIR");
    return at && dir && strcmp(at, name) == 0;
}

void gd_test_pause(const char *name)
{
    static atomic_int once; /* "strip" is reached by every worker: the first one stops */
    if (!gd_test_pause_active(name) || atomic_exchange(&once, 1))
        return;
    const char *dir = getenv("GEODELTA_TEST_PAUSE_DIR");
    char reached[4096], go[4096];
    snprintf(reached, sizeof reached, "%s/%s.reached", dir, name);
    snprintf(go, sizeof go, "%s/%s.go", dir, name);
    FILE *f = fopen(reached, "w");
    if (f) {
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 12000 && access(go, F_OK) != 0 && !gd_signal_caught(); i++)
        nanosleep(&ts, NULL);
}
