/* util.h: small shared helpers: atomic output files, hashing, paths, time. */
#ifndef GEODELTA_UTIL_H
#define GEODELTA_UTIL_H

#include <stdio.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Temporary name for an output, under a name nobody can guess (files.h: in the locked
 * OUTDIR's private folder, else "<final>.tmp-<random>"). buf must hold len bytes. */
int gd_tmp_name(gd_job *job, const char *final_path, char *buf, size_t len);
/* Renames tmp to final (the commit point of an output); removes tmp on failure, when
 * tmp is no longer a regular file (a link put in its place) and after a cancel. */
int gd_commit_file(gd_job *job, const char *tmp_path, const char *final_path);
/* Closes f, a stdio stream written to tmp_path (gd_tmp_open), and commits it as
 * gd_commit_file does. A write that failed (the stream's error indicator) or a failed
 * close removes tmp_path and is GD_EOUTPUT "cannot write final_path: reason". f is
 * closed in every case. */
int gd_commit_stream(gd_job *job, FILE *f, const char *tmp_path, const char *final_path);

/* SHA-256 of a file (streamed through OpenSSL EVP) as 64 hex chars + NUL; /vsi paths
 * are read through GDAL's VSI layer. Safe to call from any thread with its own job. */
int gd_sha256_file(gd_job *job, const char *path, char hex[65], uint64_t *size);
/* Same, stopping with GD_ECANCEL as soon as *cancel becomes non-zero (cancel may be NULL). */
int gd_sha256_file_ex(gd_job *job, const char *path, char hex[65], uint64_t *size,
                      const atomic_int *cancel);
/* Same, reading the open descriptor fd (which it closes) when fd >= 0: the bytes of the
 * file that was opened, whatever the name leads to meanwhile; path names it in errors. */
int gd_sha256_fd(gd_job *job, int fd, const char *path, char hex[65], uint64_t *size,
                 const atomic_int *cancel);
/* Same, calling gate(arg) after each block: it may block (a pause) and stops the hash
 * with GD_ECANCEL when it returns non-zero. */
int gd_sha256_fd_gated(gd_job *job, int fd, const char *path, char hex[65], uint64_t *size,
                       int (*gate)(void *), void *arg);
/* malloc for a buffer of a whole image (tens or hundreds of MB): aligned to 2 MiB and
 * marked for transparent huge pages where the kernel offers them only on request
 * (madvise), so that touching it takes one page fault per 2 MiB instead of per 4 KiB.
 * Freed with free(); NULL when out of memory. */
void *gd_malloc_large(size_t n);
/* SHA-256 of a buffer as 64 hex chars + NUL. */
int gd_sha256_buf(const void *data, size_t len, char hex[65]);

/* One CSV field (RFC 4180): as is, or quoted with quotes doubled when it holds a comma,
 * quote or line break; line breaks become spaces so that a row stays one line. NULL
 * writes nothing (an empty field). */
void gd_csv_field(FILE *f, const char *s);
/* n bytes as 2n lower-case hex digits + NUL into out. */
void gd_hex(const unsigned char *bytes, size_t n, char *out);

/* Creates a directory and its parents (mode 0775). */
int gd_mkdir_p(gd_job *job, const char *path);
/* path joined as dir/name into buf. */
int gd_path_join(char *buf, size_t len, const char *dir, const char *name);

/* UTC time now as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ". */
void gd_utc_now(char buf[32]);
/* Monotonic seconds. */
double gd_now(void);

#ifdef __cplusplus
}
#endif
#endif
