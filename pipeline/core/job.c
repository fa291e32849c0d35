/* job.c: the job context: first-error capture, run.log, warnings, GDAL-style progress. */
#include "geodelta/job.h"
#include "geodelta/files.h"

#include <cpl_error.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct gd_job {
    int status;
    char message[2048];
    int quiet;
    FILE *log;
    double range_lo, range_hi;
    int last_tick; /* last printed tick, 0..40 (every 2.5 %) */
    volatile int cancelled; /* read by worker threads (gd_job_cancelled) */
    struct gd_outdir *outdir; /* files.c */
    int threads;
    int mem_mb;
    char *workdir;
    json_t *params;
    json_t *autov;
    json_t *warnings;
    json_t *pending; /* messages held back while a progress line is on screen */
    char run_id[65]; /* "" until the chain knows it */
};

int gd_job_create(gd_job **out)
{
    gd_job *job = calloc(1, sizeof *job);
    if (!job)
        return GD_EPROC;
    job->range_hi = 1.0;
    job->last_tick = -1;
    job->params = json_object();
    job->autov = json_object();
    job->warnings = json_array();
    job->pending = json_array();
    if (!job->params || !job->autov || !job->warnings || !job->pending) {
        gd_job_destroy(job);
        return GD_EPROC;
    }
    *out = job;
    return GD_OK;
}

void gd_job_destroy(gd_job *job)
{
    if (!job)
        return;
    gd_outdir_release(job); /* its temporaries and lock, if the run did not release them */
    gd_job_close_log(job);
    json_decref(job->params);
    json_decref(job->autov);
    json_decref(job->warnings);
    json_decref(job->pending);
    free(job->workdir);
    free(job);
}

int gd_status_exit_code(int status)
{
    switch (status) {
    case GD_OK:
        return 0;
    case GD_EUSAGE:
        return 1;
    case GD_EINPUT:
        return 2;
    case GD_EOUTPUT:
        return 4;
    default:
        return 3;
    }
}

static void log_line(gd_job *job, const char *level, const char *msg)
{
    if (!job->log)
        return;
    time_t t = time(NULL);
    struct tm tm;
    char ts[32];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(job->log, "%s %s %s\n", ts, level, msg);
    fflush(job->log);
}

static int verror(gd_job *job, int code, const char *gdal_msg, const char *fmt, va_list ap)
{
    if (job->status == GD_OK) {
        job->status = code;
        vsnprintf(job->message, sizeof job->message, fmt, ap);
        if (gdal_msg && *gdal_msg) {
            size_t used = strlen(job->message);
            snprintf(job->message + used, sizeof job->message - used, " (%s)", gdal_msg);
        }
        log_line(job, "ERROR", job->message);
    }
    return code;
}

int gd_job_error(gd_job *job, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(job, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int gd_job_error_gdal(gd_job *job, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(job, code, CPLGetLastErrorType() != CE_None ? CPLGetLastErrorMsg() : NULL, fmt, ap);
    va_end(ap);
    return code;
}

const char *gd_job_message(const gd_job *job) { return job->message; }
int gd_job_status(const gd_job *job) { return job->status; }
void gd_job_clear_error(gd_job *job)
{
    job->status = GD_OK;
    job->message[0] = '\0';
}
void gd_job_set_quiet(gd_job *job, int quiet) { job->quiet = quiet; }
int gd_job_quiet(const gd_job *job) { return job->quiet; }

int gd_job_open_log(gd_job *job, const char *path)
{
    gd_job_close_log(job);
    /* never through a symbolic link planted under the log's name */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
    job->log = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!job->log && fd >= 0)
        close(fd);
    if (!job->log)
        return gd_job_error(job, GD_EOUTPUT, "cannot write log file %s", path);
    return GD_OK;
}

void gd_job_close_log(gd_job *job)
{
    if (job->log) {
        fclose(job->log);
        job->log = NULL;
    }
}

void gd_job_info(gd_job *job, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_line(job, "INFO", buf);
}

void gd_job_say(gd_job *job, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_line(job, "INFO", buf);
    if (job->quiet)
        return;
    if (job->last_tick >= 0 && job->last_tick <= 40) {
        json_array_append_new(job->pending, json_string(buf));
        return;
    }
    printf("%s\n", buf);
    fflush(stdout);
}

static void flush_pending(gd_job *job)
{
    size_t i;
    json_t *m;
    json_array_foreach(job->pending, i, m) printf("%s\n", json_string_value(m));
    json_array_clear(job->pending);
    fflush(stdout);
}

void gd_job_warn(gd_job *job, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_line(job, "WARNING", buf);
    json_array_append_new(job->warnings, json_string(buf));
    if (!job->quiet)
        fprintf(stderr, "Warning: %s\n", buf);
}

void gd_job_progress_range(gd_job *job, double lo, double hi)
{
    job->range_lo = lo;
    job->range_hi = hi;
}

int gd_job_progress(gd_job *job, double f)
{
    if (gd_job_cancelled(job))
        return GD_ECANCEL;
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    double total = job->range_lo + f * (job->range_hi - job->range_lo);
    int tick = (int)(total * 40.0 + 1e-9);
    if (job->quiet || job->last_tick > 40)
        return GD_OK;
    /* GDAL's layout: a number every 10 %, a dot every 2.5 % */
    while (job->last_tick < tick && job->last_tick < 40) {
        job->last_tick++;
        if (job->last_tick % 4 == 0)
            fprintf(stderr, "%d", job->last_tick / 4 * 10);
        else
            fputc('.', stderr);
    }
    fflush(stderr);
    return GD_OK;
}

void gd_job_progress_done(gd_job *job)
{
    gd_job_progress_range(job, 0, 1);
    gd_job_progress(job, 1.0);
    if (!job->quiet && job->last_tick == 40) {
        fprintf(stderr, " - done.\n");
        job->last_tick = 41;
    }
    flush_pending(job);
}

int gd_job_gdal_progress(double complete, const char *msg, void *arg)
{
    (void)msg;
    return gd_job_progress((gd_job *)arg, complete) == GD_OK;
}

void gd_job_progress_break(gd_job *job)
{
    /* only a progress line that was started and not finished needs ending */
    if (job->last_tick >= 0 && job->last_tick < 40) {
        fputc('\n', stderr);
        job->last_tick = 41;
    }
    flush_pending(job);
}

void gd_job_cancel(gd_job *job) { job->cancelled = 1; }
int gd_job_cancelled(const gd_job *job) { return job->cancelled || gd_signal_caught(); }
struct gd_outdir *gd_job_outdir(const gd_job *job) { return job->outdir; }
void gd_job_set_outdir(gd_job *job, struct gd_outdir *od) { job->outdir = od; }
json_t *gd_job_params(gd_job *job) { return job->params; }
json_t *gd_job_auto(gd_job *job) { return job->autov; }
json_t *gd_job_warnings(gd_job *job) { return job->warnings; }
void gd_job_set_threads(gd_job *job, int threads) { job->threads = threads; }
int gd_job_threads(const gd_job *job) { return job->threads; }
void gd_job_set_mem_mb(gd_job *job, int mem_mb) { job->mem_mb = mem_mb; }
int gd_job_mem_mb(const gd_job *job) { return job->mem_mb; }
void gd_job_set_run_id(gd_job *job, const char *run_id)
{
    snprintf(job->run_id, sizeof job->run_id, "%s", run_id ? run_id : "");
}
const char *gd_job_run_id(const gd_job *job) { return job->run_id[0] ? job->run_id : NULL; }

void gd_job_set_workdir(gd_job *job, const char *dir)
{
    free(job->workdir);
    job->workdir = dir ? strdup(dir) : NULL;
}

const char *gd_job_workdir(const gd_job *job) { return job->workdir; }
