/* hasher.c: hashes the input files in a background thread while the chain runs. */
#include "geodelta/files.h"
#include "geodelta/provenance.h"
#include "geodelta/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES GD_HASHER_MAX

struct gd_hasher {
    pthread_t thread;
    int started, joined;
    size_t n;
    char *paths[MAX_FILES];
    int fd[MAX_FILES];           /* local files: opened at start, hashed through, closed */
    int have_id[MAX_FILES];      /* local files: their identity at start is in id[] */
    struct stat id[MAX_FILES];
    char hex[MAX_FILES][65];
    uint64_t size[MAX_FILES];
    atomic_int cancel;
    /* gd_hasher_hold: the thread waits between blocks while held */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int held;
    double held_s;      /* time the thread spent waiting on a hold */
    gd_job *err;        /* the thread's context (gd_job_fork): gd_job is not shared */
    int status;
    double seconds;     /* spent hashing, in the thread */
    double wait;        /* the caller waited in gd_hasher_join */
};

static int snapshot(gd_job *job, gd_hasher *h, size_t i);

/* Between blocks: waits while the hasher is held; non-zero once cancelled. */
static int gate(void *arg)
{
    gd_hasher *h = arg;
    pthread_mutex_lock(&h->mu);
    if (h->held && !atomic_load(&h->cancel)) {
        double t0 = gd_now();
        while (h->held && !atomic_load(&h->cancel))
            pthread_cond_wait(&h->cv, &h->mu);
        h->held_s += gd_now() - t0;
    }
    pthread_mutex_unlock(&h->mu);
    return atomic_load(&h->cancel) != 0;
}

static void *run(void *arg)
{
    gd_hasher *h = arg;
    double t0 = gd_now();
    h->status = GD_OK;
    for (size_t i = 0; i < h->n && h->status == GD_OK; i++) {
        h->status = gd_sha256_fd_gated(h->err, h->fd[i], h->paths[i], h->hex[i], &h->size[i],
                                       gate, h);
        h->fd[i] = -1; /* closed by gd_sha256_fd */
    }
    h->seconds = gd_now() - t0 - h->held_s;
    return NULL;
}

void gd_hasher_hold(gd_hasher *h, int hold)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->held = hold;
    if (!hold)
        pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
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
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    for (size_t i = 0; i < MAX_FILES; i++)
        h->fd[i] = -1;
    h->n = n;
    int st = gd_job_fork(job, &h->err);
    for (size_t i = 0; i < n && st == GD_OK; i++)
        if (!(h->paths[i] = strdup(paths[i])))
            st = GD_EPROC;
    if (st != GD_OK) {
        gd_hasher_destroy(h);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if ((st = snapshot(job, h, i)) != GD_OK) {
            gd_hasher_destroy(h);
            return st;
        }
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        /* no thread: hash in the caller's thread at join time instead */
        gd_job_warn(job, "cannot start the hashing thread: inputs are hashed at the end");
    } else {
        h->started = 1;
    }
    /* the test build can stop here with every input hashed, to swap or grow one */
    if (gd_test_pause_active("inputs-hashed")) {
        gd_hasher_join(job, h);
        gd_test_pause("inputs-hashed");
    }
    *out = h;
    return GD_OK;
}

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO (named pipe)"
         : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* A local input is opened here, in the caller's thread: a FIFO, device or socket is
 * refused at once (O_NONBLOCK: opening a FIFO would wait for a writer forever), and the
 * thread hashes the very file whose identity (device, inode, size, mtime) is kept for
 * gd_hasher_check_identity. A file that cannot be opened is left to the thread, which
 * reports it as before. */
static int snapshot(gd_job *job, gd_hasher *h, size_t i)
{
    if (strncmp(h->paths[i], "/vsi", 4) == 0)
        return GD_OK; /* remote or inside an archive: identified by its hash alone */
    int fd = open(h->paths[i], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return GD_OK;
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return gd_job_error(job, GD_EINPUT, "input %s is %s: only regular files are read "
                            "(copy the data to a file first)", h->paths[i],
                            file_kind(sb.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    h->fd[i] = fd;
    h->id[i] = sb;
    h->have_id[i] = 1;
    return GD_OK;
}

int gd_hasher_check_identity(gd_job *job, gd_hasher *h)
{
    gd_test_pause("before-manifest");
    for (size_t i = 0; i < h->n; i++) {
        if (!h->have_id[i])
            continue;
        const struct stat *a = &h->id[i];
        struct stat b;
        const char *what = NULL;
        char buf[160];
        if (stat(h->paths[i], &b) != 0) {
            snprintf(buf, sizeof buf, "it can no longer be read: %s", strerror(errno));
            what = buf;
        } else if (a->st_dev != b.st_dev || a->st_ino != b.st_ino) {
            what = "another file now has its name (replaced or moved)";
        } else if (a->st_size != b.st_size) {
            snprintf(buf, sizeof buf, "its size went from %lld to %lld bytes",
                     (long long)a->st_size, (long long)b.st_size);
            what = buf;
        } else if (a->st_mtim.tv_sec != b.st_mtim.tv_sec || a->st_mtim.tv_nsec != b.st_mtim.tv_nsec) {
            what = "it was modified (its modification time changed)";
        } else if (h->joined && h->status == GD_OK && h->size[i] != (uint64_t)b.st_size) {
            snprintf(buf, sizeof buf, "%llu bytes were hashed of %lld",
                     (unsigned long long)h->size[i], (long long)b.st_size);
            what = buf;
        }
        if (what)
            return gd_job_error(job, GD_EINPUT, "input %s changed during the run (%s): the "
                                "hash recorded at the start does not describe what was read; "
                                "no manifest written", h->paths[i], what);
    }
    return GD_OK;
}

int gd_hasher_join(gd_job *job, gd_hasher *h)
{
    if (!h->joined) {
        gd_hasher_hold(h, 0); /* a held thread would never finish */
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
        gd_hasher_hold(h, 0); /* wakes a held thread, which then sees the cancel */
        pthread_join(h->thread, NULL);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    for (size_t i = 0; i < h->n; i++) {
        free(h->paths[i]);
        if (h->fd[i] >= 0)
            close(h->fd[i]);
    }
    gd_job_destroy(h->err);
    free(h);
}
