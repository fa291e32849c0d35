/* util.c: atomic output files, streamed SHA-256, directories, clocks. */
#include "geodelta/util.h"
#include "geodelta/files.h"

#include <cpl_vsi.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int gd_commit_file(gd_job *job, const char *tmp_path, const char *final_path)
{
    /* after SIGINT/SIGTERM nothing more gets a final name (above all no manifest) */
    if (gd_job_cancelled(job)) {
        unlink(tmp_path);
        return gd_job_error(job, GD_ECANCEL, "cancelled before %s was finished", final_path);
    }
    /* the writers open temporaries by name: what is renamed must still be a plain file,
     * not a link someone put in its place (unlink removes the link, not its target) */
    if (!gd_is_plain_file(tmp_path)) {
        unlink(tmp_path);
        return gd_job_error(job, GD_EOUTPUT, "temporary file %s was replaced by something that "
                            "is not a regular file: %s not written", tmp_path, final_path);
    }
    /* on the disk before it is renamed: after a power cut a final name never points at
     * a file whose blocks were not written; some file systems (NFS, quotas) report a
     * full disk only here */
    int fd = open(tmp_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        int bad = fsync(fd) != 0 && errno != EINVAL && errno != EROFS;
        int e = errno;
        close(fd);
        if (bad) {
            unlink(tmp_path);
            return gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", final_path,
                                strerror(e));
        }
    }
    if (rename(tmp_path, final_path) != 0) {
        int e = errno;
        unlink(tmp_path);
        return gd_job_error(job, GD_EOUTPUT, "cannot rename %s to %s: %s", tmp_path,
                            final_path, strerror(e));
    }
    return GD_OK;
}

int gd_commit_stream(gd_job *job, FILE *f, const char *tmp_path, const char *final_path)
{
    /* a write that failed earlier leaves only the error indicator: fclose may well
     * succeed on what is left in the buffer, and the file would be committed short */
    int bad = ferror(f);
    errno = 0;
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        int e = errno;
        unlink(tmp_path);
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", final_path,
                            e ? strerror(e) : "a write failed");
    }
    return gd_commit_file(job, tmp_path, final_path);
}

/* /vsi paths (S3, HTTP, zip...) go through GDAL's virtual file layer, local files
 * through stdio; both are streamed in 64 KiB blocks, never loaded whole. */
int gd_sha256_file(gd_job *job, const char *path, char hex[65], uint64_t *size)
{
    return gd_sha256_file_ex(job, path, hex, size, NULL);
}

int gd_sha256_file_ex(gd_job *job, const char *path, char hex[65], uint64_t *size,
                      const atomic_int *cancel)
{
    return gd_sha256_fd(job, -1, path, hex, size, cancel);
}

static int cancel_gate(void *arg)
{
    const atomic_int *cancel = arg;
    return cancel && atomic_load(cancel);
}

int gd_sha256_fd(gd_job *job, int fd, const char *path, char hex[65], uint64_t *size,
                 const atomic_int *cancel)
{
    return gd_sha256_fd_gated(job, fd, path, hex, size, cancel_gate, (void *)cancel);
}

int gd_sha256_fd_gated(gd_job *job, int fd, const char *path, char hex[65], uint64_t *size,
                       int (*gate)(void *), void *arg)
{
    int st = GD_OK;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    uint64_t total = 0;
    unsigned char buf[1 << 16];
    EVP_MD_CTX *ctx = NULL;
    int vsi = fd < 0 && strncmp(path, "/vsi", 4) == 0;
    FILE *f = NULL;
    VSILFILE *vf = NULL;
    if (vsi)
        vf = VSIFOpenL(path, "rb");
    else if (fd >= 0)
        f = fdopen(fd, "rb");
    else
        f = fopen(path, "rb");
    if (!f && !vf) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return gd_job_error(job, GD_EINPUT, "cannot read %s: %s", path,
                            vsi ? "not found or not readable" : strerror(e));
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        st = gd_job_error(job, GD_EPROC, "OpenSSL SHA-256 initialisation failed");
        goto done;
    }
    size_t n;
    while ((n = vsi ? VSIFReadL(buf, 1, sizeof buf, vf) : fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(ctx, buf, n);
        total += n;
        if (gate(arg) || gd_signal_caught()) {
            st = gd_job_error(job, GD_ECANCEL, "hashing %s cancelled", path);
            goto done;
        }
    }
    /* GDAL 3.6 has no VSIFErrorL: a short read before the end is the error */
    if (vsi ? !VSIFEofL(vf) : ferror(f)) {
        st = gd_job_error(job, GD_EINPUT, "read error on %s", path);
        goto done;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    gd_hex(md, mdlen, hex);
    if (size)
        *size = total;
done:
    EVP_MD_CTX_free(ctx);
    if (f)
        fclose(f);
    if (vf)
        VSIFCloseL(vf);
    return st;
}

int gd_sha256_buf(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return GD_EPROC;
    gd_hex(md, mdlen, hex);
    return GD_OK;
}

void gd_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int gd_mkdir_p(gd_job *job, const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return gd_job_error(job, GD_EOUTPUT, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0775) != 0 && errno != EEXIST)
            return gd_job_error(job, GD_EOUTPUT, "cannot create directory %s: %s", tmp,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0775) != 0 && errno != EEXIST)
        return gd_job_error(job, GD_EOUTPUT, "cannot create directory %s: %s", tmp,
                            strerror(errno));
    struct stat sb;
    if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return gd_job_error(job, GD_EOUTPUT, "%s exists and is not a directory", tmp);
    return GD_OK;
}

int gd_path_join(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= len) ? GD_EOUTPUT : GD_OK;
}

void gd_utc_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double gd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gd_csv_field(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

void *gd_malloc_large(size_t n)
{
    const size_t huge = (size_t)2 << 20;
    if (n < huge)
        return malloc(n ? n : 1);
    void *p = NULL;
    if (posix_memalign(&p, huge, n) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* advice only (whole huge pages inside the buffer): without THP it is ordinary memory */
    (void)madvise(p, n / huge * huge, MADV_HUGEPAGE);
#endif
    return p;
}
