/* files.c: the output folder of a run held safely: its lock, its private temporary
 * folder, exclusive temporary files, and the clean-up of what a stopped run left. */
#include "geodelta/files.h"
#include "geodelta/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct gd_outdir {
    char *dir;          /* as the caller spells it: gd_tmp_name matches final paths on it */
    int dirfd;          /* OUTDIR, opened O_DIRECTORY | O_NOFOLLOW */
    int lockfd;         /* OUTDIR/.geodelta.lock, flock'ed */
    char tmpname[64];   /* .geodelta.tmp-XXXXXX, inside OUTDIR */
    char *tmpdir;       /* dir/tmpname */
    atomic_uint next;   /* numbers the temporaries: two of one output never collide */
};

/* Removes the entries of a folder opened as dfd (one level of sub-folders: GDAL puts
 * none there, a stale run's private folder has none either), then closes dfd. */
static void empty_folder(int dfd, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            continue;
        if ((errno == EISDIR || errno == EPERM) && depth > 0) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                empty_folder(sub, depth - 1);
                unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
            }
        }
    }
    closedir(d);
}

static void remove_tree_at(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    empty_folder(fd, 2);
    unlinkat(parent, name, AT_REMOVEDIR);
}

/* What interrupted runs left: their private folders and the NAME.tmp-* files of older
 * versions (score.tmp-PID.tif, map.png.tmp-PID...). Only called with the lock held, so
 * no other run is using any of them. Symbolic links are removed, never followed. */
static void remove_stale(int dirfd_)
{
    int fd = dup(dirfd_);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, GD_OUTDIR_TMP_PREFIX, strlen(GD_OUTDIR_TMP_PREFIX)) == 0) {
            struct stat sb;
            if (fstatat(dirfd_, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
                remove_tree_at(dirfd_, e->d_name);
            else
                unlinkat(dirfd_, e->d_name, 0);
        } else if (strstr(e->d_name, ".tmp-")) {
            unlinkat(dirfd_, e->d_name, 0); /* a folder of that name is left alone */
        }
    }
    closedir(d);
}

static void outdir_free(struct gd_outdir *od)
{
    if (!od)
        return;
    if (od->dirfd >= 0 && od->tmpname[0])
        remove_tree_at(od->dirfd, od->tmpname);
    if (od->lockfd >= 0) {
        /* unlinked while still held: a run that opened the old file and gets the lock
         * after us sees that the name no longer leads to its file, and tries again */
        if (od->dirfd >= 0)
            unlinkat(od->dirfd, GD_OUTDIR_LOCK, 0);
        close(od->lockfd);
    }
    if (od->dirfd >= 0)
        close(od->dirfd);
    free(od->dir);
    free(od->tmpdir);
    free(od);
}

/* The PID written in the lock file by the run that holds it ("?" when unreadable). */
static void holder_pid(int fd, char *buf, size_t len)
{
    ssize_t n = pread(fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    buf[strspn(buf, "0123456789")] = '\0';
    if (!buf[0])
        snprintf(buf, len, "?");
}

static int take_lock(gd_job *job, struct gd_outdir *od)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = openat(od->dirfd, GD_OUTDIR_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            return gd_job_error(job, GD_EOUTPUT, "cannot create the lock file %s/%s: %s%s",
                                od->dir, GD_OUTDIR_LOCK, strerror(errno),
                                errno == ELOOP ? " (a symbolic link: remove it)" : "");
        struct stat a, b;
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
            close(fd);
            return gd_job_error(job, GD_EOUTPUT, "%s/%s is not a regular file: remove it",
                                od->dir, GD_OUTDIR_LOCK);
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char pid[32];
            holder_pid(fd, pid, sizeof pid);
            close(fd);
            if (e == EWOULDBLOCK)
                return gd_job_error(job, GD_EOUTPUT,
                                    "output folder %s is in use by another geodelta run (PID %s): "
                                    "wait for it to finish or choose another folder",
                                    od->dir, pid);
            return gd_job_error(job, GD_EOUTPUT, "cannot lock %s/%s: %s", od->dir,
                                GD_OUTDIR_LOCK, strerror(e));
        }
        /* the file we locked must still be the one the name leads to (see outdir_free) */
        if (fstatat(od->dirfd, GD_OUTDIR_LOCK, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
            a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
                close(fd);
                return gd_job_error(job, GD_EOUTPUT, "cannot write the lock file %s/%s",
                                    od->dir, GD_OUTDIR_LOCK);
            }
            od->lockfd = fd;
            return GD_OK;
        }
        close(fd);
    }
    return gd_job_error(job, GD_EOUTPUT, "cannot lock output folder %s: its lock file keeps "
                        "being replaced", od->dir);
}

int gd_outdir_lock(gd_job *job, const char *dir)
{
    int st = gd_mkdir_p(job, dir);
    if (st != GD_OK)
        return st;
    gd_outdir_release(job); /* a job runs into one folder at a time */
    struct gd_outdir *od = calloc(1, sizeof *od);
    if (!od || !(od->dir = strdup(dir))) {
        free(od);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    od->lockfd = -1;
    atomic_init(&od->next, 0);
    od->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (od->dirfd < 0) {
        int e = errno;
        struct stat sb;
        if (lstat(dir, &sb) == 0 && S_ISLNK(sb.st_mode))
            st = gd_job_error(job, GD_EOUTPUT, "output folder %s is a symbolic link: give the "
                              "folder it leads to (outputs are never written through a link)",
                              dir);
        else
            st = gd_job_error(job, GD_EOUTPUT, "cannot open output folder %s: %s", dir,
                              strerror(e));
        goto fail;
    }
    if (faccessat(od->dirfd, ".", W_OK, 0) != 0) {
        st = gd_job_error(job, GD_EOUTPUT, "output folder %s is not writable: %s", dir,
                          strerror(errno));
        goto fail;
    }
    if ((st = take_lock(job, od)) != GD_OK)
        goto fail;
    remove_stale(od->dirfd);
    size_t len = strlen(dir) + sizeof GD_OUTDIR_TMP_PREFIX + 8;
    if (!(od->tmpdir = malloc(len))) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto fail;
    }
    snprintf(od->tmpdir, len, "%s/%sXXXXXX", dir, GD_OUTDIR_TMP_PREFIX);
    if (!mkdtemp(od->tmpdir)) {
        st = gd_job_error(job, GD_EOUTPUT, "cannot create a temporary folder in %s: %s", dir,
                          strerror(errno));
        goto fail;
    }
    snprintf(od->tmpname, sizeof od->tmpname, "%s", strrchr(od->tmpdir, '/') + 1);
    gd_job_set_outdir(job, od);
    gd_test_pause("outdir-locked");
    return GD_OK;
fail:
    outdir_free(od);
    return st;
}

void gd_outdir_release(gd_job *job)
{
    struct gd_outdir *od = gd_job_outdir(job);
    if (!od)
        return;
    gd_job_set_outdir(job, NULL);
    outdir_free(od);
}

int gd_outdir_open_log(gd_job *job, const char *name)
{
    struct gd_outdir *od = gd_job_outdir(job);
    char final[4096], tmp[4096];
    if (!od)
        return gd_job_error(job, GD_EPROC, "gd_outdir_open_log needs gd_outdir_lock first");
    if (gd_path_join(final, sizeof final, od->dir, name) != GD_OK)
        return gd_job_error(job, GD_EOUTPUT, "path too long: %s/%s", od->dir, name);
    int st = gd_tmp_name(job, final, tmp, sizeof tmp);
    if (st != GD_OK || (st = gd_job_open_log(job, tmp)) != GD_OK)
        return st;
    /* rename replaces the entry itself: a planted link's target is never opened */
    if (renameat(AT_FDCWD, tmp, od->dirfd, name) != 0) {
        int e = errno;
        gd_job_close_log(job);
        unlink(tmp);
        return gd_job_error(job, GD_EOUTPUT, "cannot write log file %s: %s", final, strerror(e));
    }
    return GD_OK;
}

/* Whether final_path is dir/NAME (NAME without a slash) for the locked dir. */
static const char *in_outdir(const struct gd_outdir *od, const char *final_path)
{
    size_t n = strlen(od->dir);
    if (strncmp(final_path, od->dir, n) != 0 || final_path[n] != '/')
        return NULL;
    const char *base = final_path + n + 1;
    return *base && !strchr(base, '/') ? base : NULL;
}

static int tmp_make(gd_job *job, const char *final_path, mode_t mode, int create, char *buf,
                    size_t len)
{
    if (gd_job_cancelled(job))
        return gd_job_error(job, GD_ECANCEL, "cancelled before writing %s", final_path);
    struct gd_outdir *od = gd_job_outdir(job);
    const char *base = od ? in_outdir(od, final_path) : NULL;
    if (base) {
        /* mkdtemp made the folder 0700 under a random name: nobody else can put a link
         * or a file in it, so the writer (GDAL, libpng, jansson) creates the file */
        unsigned k = atomic_fetch_add(&od->next, 1u);
        int n = snprintf(buf, len, "%s/%u-%s", od->tmpdir, k, base);
        if (n < 0 || (size_t)n >= len)
            return gd_job_error(job, GD_EOUTPUT, "output path too long: %s", final_path);
        int fd = create ? open(buf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) : 0;
        if (fd < 0)
            return gd_job_error(job, GD_EOUTPUT, "cannot create %s: %s", buf, strerror(errno));
        if (create)
            close(fd);
        return GD_OK;
    }
    /* elsewhere (the batch index, keys, failed.json): a 64-bit random name, free now */
    for (int attempt = 0; attempt < 64; attempt++) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r ^= (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(gd_now() * 1e9);
        int n = snprintf(buf, len, "%s.tmp-%016llx", final_path, (unsigned long long)r);
        if (n < 0 || (size_t)n >= len)
            return gd_job_error(job, GD_EOUTPUT, "output path too long: %s", final_path);
        struct stat sb;
        if (lstat(buf, &sb) != 0 && errno == ENOENT) {
            if (!create)
                return GD_OK;
            int fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
            if (fd >= 0) {
                close(fd);
                return GD_OK;
            }
            if (errno != EEXIST)
                return gd_job_error(job, GD_EOUTPUT, "cannot create %s: %s", buf,
                                    strerror(errno));
        }
    }
    return gd_job_error(job, GD_EOUTPUT, "cannot find a free temporary name for %s", final_path);
}

FILE *gd_tmp_fopen(const char *tmp_path)
{
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

int gd_tmp_open(gd_job *job, const char *final_path, char *tmp, size_t len, FILE **f)
{
    int st = gd_tmp_name(job, final_path, tmp, len);
    if (st != GD_OK)
        return st;
    *f = gd_tmp_fopen(tmp);
    return *f ? GD_OK : gd_job_error(job, GD_EOUTPUT, "cannot write %s", final_path);
}

int gd_is_plain_file(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int gd_tmp_name(gd_job *job, const char *final_path, char *buf, size_t len)
{
    return tmp_make(job, final_path, 0666, 0, buf, len);
}

int gd_tmp_create(gd_job *job, const char *final_path, mode_t mode, char *buf, size_t len)
{
    return tmp_make(job, final_path, mode, 1, buf, len);
}
