/* hasher.c: hashes the input files in a background thread while the chain runs. */
#include "geodelta/provenance.h"
#include "geodelta/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES GD_HASHER_MAX

struct gd_hasher {
    pthread_t thread;
    int started, joined;
    size_t n;
    char *paths[MAX_FILES];
    char hex[MAX_FILES][65];
    uint64_t size[MAX_FILES];
    atomic_int cancel;
    gd_job *err;        /* the thread's context (gd_job_fork): gd_job is not shared */
    int status;
    double seconds;     /* spent hashing, in the thread */
    double wait;        /* the caller waited in gd_hasher_join */
};

static void *run(void *arg)
{
    gd_hasher *h = arg;
    double t0 = gd_now();
    h->status = GD_OK;
    for (size_t i = 0; i < h->n && h->status == GD_OK; i++)
        h->status = gd_sha256_file_ex(h->err, h->paths[i], h->hex[i], &h->size[i], &h->cancel);
    h->seconds = gd_now() - t0;
    return NULL;
}

int gd_hasher_start(gd_job *job, const char *const *paths, size_t n, gd_hasher **out)
{
    *out = NULL;
    if (n > MAX_FILES)
        return gd_job_error(job, GD_EPROC, "at most %d files hashed in the background", MAX_FILES);
    gd_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return gd_job_error(job, GD_EPROC, "out of memory");
    atomic_init(&h->cancel, 0);
    h->n = n;
    int st = gd_job_fork(job, &h->err);
    for (size_t i = 0; i < n && st == GD_OK; i++)
        if (!(h->paths[i] = strdup(paths[i])))
            st = GD_EPROC;
    if (st != GD_OK) {
        gd_hasher_destroy(h);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        /* no thread: hash in the caller's thread at join time instead */
        gd_job_warn(job, "cannot start the hashing thread: inputs are hashed at the end");
    } else {
        h->started = 1;
    }
    *out = h;
    return GD_OK;
}

int gd_hasher_join(gd_job *job, gd_hasher *h)
{
    if (!h->joined) {
        double t0 = gd_now();
        if (h->started)
            pthread_join(h->thread, NULL);
        else
            run(h);
        h->wait = gd_now() - t0;
        h->joined = 1;
        gd_job_merge(job, h->err); /* its error (the first one wins) and its log lines */
        h->err = NULL;
    }
    return h->status;
}

const char *gd_hasher_hex(const gd_hasher *h, size_t i)
{
    return i < h->n && h->joined && h->status == GD_OK ? h->hex[i] : NULL;
}

uint64_t gd_hasher_size(const gd_hasher *h, size_t i)
{
    return i < h->n ? h->size[i] : 0;
}

double gd_hasher_seconds(const gd_hasher *h, double *waited)
{
    if (waited)
        *waited = h->wait;
    return h->seconds;
}

void gd_hasher_destroy(gd_hasher *h)
{
    if (!h)
        return;
    if (h->started && !h->joined) {
        /* an early failure of the chain: stop reading the inputs now */
        atomic_store(&h->cancel, 1);
        pthread_join(h->thread, NULL);
    }
    for (size_t i = 0; i < h->n; i++)
        free(h->paths[i]);
    gd_job_destroy(h->err);
    free(h);
}
