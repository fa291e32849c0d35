/* job.c: the job context: first-error capture, run.log, warnings (GDAL's and PROJ's
 * too), nested GDAL-style progress, light contexts for other threads. */
#include "geodelta/job.h"

#include <cpl_error.h>
#include <jansson.h>
#include <proj.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* distinct GDAL/PROJ warnings kept per run: a warning GDAL repeats on every block read
 * is recorded once, and a flood of different ones cannot grow the manifest unbounded */
#define FOREIGN_MAX 16
#define PROGRESS_DEPTH 8

typedef struct foreign_msg {
    char text[512];
    unsigned long count;
    int merged; /* already a warning of the job */
} foreign_msg;

/* GDAL's and PROJ's warnings, written by their handlers from any thread and merged
 * into the job's warnings by the job's own thread */
typedef struct foreign {
    pthread_mutex_t mu;
    int installed;
    CPLErrorHandler prev;
    foreign_msg msg[FOREIGN_MAX];
    int n;
    unsigned long dropped;
    int dropped_said;
} foreign;

struct gd_job {
    int status;
    char message[2048];
    int quiet;
    FILE *log;
    gd_job *parent;   /* a light context of another thread (gd_job_fork): lines held */
    json_t *held;     /* its log lines, "I..." info and "W..." warnings, for the merge */
    pthread_t owner;  /* the thread the job belongs to */
    foreign *gdal;    /* while the log is open: GDAL's and PROJ's warnings */
    double range_lo, range_hi;
    struct { double lo, hi; } slot[PROGRESS_DEPTH]; /* nested stages' slots */
    int depth, overflow;
    int last_tick; /* last printed tick, 0..40 (every 2.5 %) */
    int cancelled;
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
    job->slot[0].hi = 1.0;
    job->last_tick = -1;
    job->owner = pthread_self();
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

int gd_job_fork(gd_job *job, gd_job **out)
{
    *out = NULL;
    gd_job *c = calloc(1, sizeof *c);
    if (!c)
        return GD_EPROC; /* not the job's error: some callers can do without a context */
    /* no parameters, automatic values or progress of its own: those stay the job's */
    c->parent = job;
    c->quiet = 1;
    c->threads = 1;
    c->mem_mb = job->mem_mb;
    c->range_hi = 1.0;
    c->slot[0].hi = 1.0;
    c->last_tick = 41;
    c->owner = pthread_self();
    c->held = json_array();
    c->warnings = json_array();
    c->pending = json_array();
    c->workdir = job->workdir ? strdup(job->workdir) : NULL;
    snprintf(c->run_id, sizeof c->run_id, "%s", job->run_id);
    if (!c->held || !c->warnings || !c->pending || (job->workdir && !c->workdir)) {
        gd_job_destroy(c);
        return GD_EPROC;
    }
    *out = c;
    return GD_OK;
}

int gd_job_merge(gd_job *job, gd_job *ctx)
{
    if (!ctx)
        return GD_OK;
    size_t i;
    json_t *l;
    json_array_foreach(ctx->held, i, l) {
        const char *t = json_string_value(l);
        if (t[0] == 'W')
            gd_job_warn(job, "%s", t + 1);
        else
            gd_job_info(job, "%s", t + 1);
    }
    int st = ctx->status;
    if (st != GD_OK)
        gd_job_error(job, st, "%s", ctx->message);
    gd_job_destroy(ctx);
    return st;
}

static void foreign_release(gd_job *job);
static void warn_line(gd_job *job, const char *msg, int to_stderr);

void gd_job_destroy(gd_job *job)
{
    if (!job)
        return;
    gd_job_close_log(job);
    foreign_release(job);
    json_decref(job->params);
    json_decref(job->autov);
    json_decref(job->warnings);
    json_decref(job->pending);
    json_decref(job->held);
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
    if (job->held && (level[0] == 'I' || level[0] == 'W')) {
        /* a context of another thread: its job logs the line when it merges it */
        char *t = malloc(strlen(msg) + 2);
        if (t) {
            t[0] = level[0];
            strcpy(t + 1, msg);
            json_array_append_new(job->held, json_string(t));
            free(t);
        }
        return;
    }
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
        /* not logged yet: a stage may still recover from it (gd_job_clear_error); the
         * log gets the error that is still there when it is closed */
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

/* ---- GDAL's and PROJ's messages ---------------------------------------------------- */

static void foreign_note(foreign *f, const char *who, const char *msg)
{
    char text[512];
    snprintf(text, sizeof text, "%s: %s", who, msg ? msg : "");
    /* one line: GDAL's messages can span several */
    for (char *c = text; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    pthread_mutex_lock(&f->mu);
    int i = 0;
    while (i < f->n && strcmp(f->msg[i].text, text) != 0)
        i++;
    if (i < f->n) {
        f->msg[i].count++;
    } else if (f->n < FOREIGN_MAX) {
        memcpy(f->msg[f->n].text, text, sizeof text);
        f->msg[f->n].count = 1;
        f->msg[f->n].merged = 0;
        f->n++;
    } else {
        f->dropped++;
    }
    pthread_mutex_unlock(&f->mu);
}

/* GDAL calls it from whichever thread raised the message, the global handler under
 * GDAL's own error mutex. Failures are not recorded here: CPLGetLastErrorMsg keeps
 * them per thread for gd_job_error_gdal, and many are recovered from inside GDAL. */
static void CPL_STDCALL gdal_handler(CPLErr cls, CPLErrorNum no, const char *msg)
{
    if (cls == CE_Debug) {
        /* a debug message can come while another handler is pushed on the thread (one
         * that lets debug through), whose user data is then not ours: leave it alone */
        if (getenv("GEODELTA_DEBUG"))
            CPLDefaultErrorHandler(cls, no, msg);
        return;
    }
    gd_job *job = CPLGetErrorHandlerUserData();
    if (job && job->gdal && cls == CE_Warning)
        foreign_note(job->gdal, "GDAL", msg);
    /* GEODELTA_DEBUG keeps GDAL's default handler: everything still shows on stderr */
    if (job && job->gdal && job->gdal->prev && job->gdal->prev != CPLQuietErrorHandler)
        job->gdal->prev(cls, no, msg);
}

/* PROJ's default context (libgeotiff's, for GeoKeys); OSR's own contexts report through
 * GDAL's handler. PROJ logs errors it recovers from too: they are warnings of the run. */
static void proj_handler(void *data, int level, const char *msg)
{
    gd_job *job = data;
    if (job && job->gdal && level == PJ_LOG_ERROR)
        foreign_note(job->gdal, "PROJ", msg);
    if (getenv("GEODELTA_DEBUG"))
        fprintf(stderr, "PROJ: %s\n", msg);
}

static void proj_silent(void *data, int level, const char *msg)
{
    (void)data;
    (void)level;
    if (getenv("GEODELTA_DEBUG"))
        fprintf(stderr, "PROJ: %s\n", msg);
}

static void foreign_capture(gd_job *job)
{
    if (job->gdal || job->parent)
        return;
    foreign *f = calloc(1, sizeof *f);
    if (!f)
        return; /* no capture: GDAL's warnings go where they went before */
    pthread_mutex_init(&f->mu, NULL);
    job->gdal = f;
    /* global, not pushed: GDAL's worker threads (and ours) do not see a handler pushed
     * on this thread's stack */
    f->prev = CPLSetErrorHandlerEx(gdal_handler, job);
    proj_log_func(PJ_DEFAULT_CTX, job, proj_handler);
    f->installed = 1;
}

/* The job's thread: new GDAL/PROJ warnings become the job's warnings (run.log and the
 * manifest). */
static void foreign_merge(gd_job *job)
{
    foreign *f = job->gdal;
    if (!f || !pthread_equal(pthread_self(), job->owner))
        return;
    char text[FOREIGN_MAX][512];
    int n = 0;
    unsigned long dropped = 0;
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->n; i++)
        if (!f->msg[i].merged) {
            memcpy(text[n++], f->msg[i].text, sizeof text[0]);
            f->msg[i].merged = 1;
        }
    if (f->dropped && !f->dropped_said) {
        dropped = f->dropped;
        f->dropped_said = 1;
    }
    pthread_mutex_unlock(&f->mu);
    /* not on stderr: there geodelta's own lines stay as they were (a failed run says
     * one line), GDAL's own messages always went unprinted */
    for (int i = 0; i < n; i++)
        warn_line(job, text[i], 0);
    if (dropped) {
        char line[160];
        snprintf(line, sizeof line, "more than %d distinct GDAL/PROJ warnings: the others are "
                 "not recorded (GEODELTA_DEBUG=1 shows them all on stderr)", FOREIGN_MAX);
        warn_line(job, line, 0);
    }
}

static void foreign_release(gd_job *job)
{
    foreign *f = job->gdal;
    if (!f)
        return;
    foreign_merge(job);
    if (f->installed) {
        CPLSetErrorHandlerEx(f->prev, NULL);
        proj_log_func(PJ_DEFAULT_CTX, NULL, proj_silent);
    }
    /* how often GDAL repeated what is recorded once */
    for (int i = 0; i < f->n; i++)
        if (f->msg[i].count > 1 && job->log) {
            char line[640];
            snprintf(line, sizeof line, "the warning '%s' came %lu times", f->msg[i].text,
                     f->msg[i].count);
            log_line(job, "INFO", line);
        }
    pthread_mutex_destroy(&f->mu);
    free(f);
    job->gdal = NULL;
}

int gd_job_open_log(gd_job *job, const char *path)
{
    gd_job_close_log(job);
    job->log = fopen(path, "w");
    if (!job->log)
        return gd_job_error(job, GD_EOUTPUT, "cannot write log file %s", path);
    foreign_capture(job);
    return GD_OK;
}

void gd_job_close_log(gd_job *job)
{
    foreign_release(job);
    if (job->log) {
        /* the error is final now: the run ends with it */
        if (job->status != GD_OK)
            log_line(job, "ERROR", job->message);
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

static void warn_line(gd_job *job, const char *msg, int to_stderr)
{
    log_line(job, "WARNING", msg);
    if (job->held)
        return; /* merged into its job, which records it */
    json_array_append_new(job->warnings, json_string(msg));
    if (to_stderr && !job->quiet)
        fprintf(stderr, "Warning: %s\n", msg);
}

void gd_job_warn(gd_job *job, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    warn_line(job, buf, 1);
}

void gd_job_progress_range(gd_job *job, double lo, double hi)
{
    /* [lo, hi] of the current slot: the whole job at depth 0 */
    double slo = job->slot[job->depth].lo, w = job->slot[job->depth].hi - slo;
    job->range_lo = slo + lo * w;
    job->range_hi = slo + hi * w;
}

void gd_job_progress_push(gd_job *job, double lo, double hi)
{
    gd_job_progress_range(job, lo, hi);
    if (job->depth + 1 >= PROGRESS_DEPTH) {
        /* deeper than any stage nests: the range above stands for the whole sub-stage */
        job->overflow++;
        return;
    }
    job->depth++;
    job->slot[job->depth].lo = job->range_lo;
    job->slot[job->depth].hi = job->range_hi;
}

void gd_job_progress_pop(gd_job *job)
{
    if (job->overflow > 0) {
        job->overflow--;
        return;
    }
    if (job->depth <= 0)
        return;
    /* the parent's current range is the slot that ends: progress(1) is its end */
    job->range_lo = job->slot[job->depth].lo;
    job->range_hi = job->slot[job->depth].hi;
    job->depth--;
}

double gd_job_progress_total(const gd_job *job, double f)
{
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    return job->range_lo + f * (job->range_hi - job->range_lo);
}

int gd_job_progress(gd_job *job, double f)
{
    if (job->cancelled)
        return GD_ECANCEL;
    foreign_merge(job);
    double total = gd_job_progress_total(job, f);
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
    job->depth = job->overflow = 0;
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
json_t *gd_job_params(gd_job *job) { return job->params; }
json_t *gd_job_auto(gd_job *job) { return job->autov; }
json_t *gd_job_warnings(gd_job *job)
{
    foreign_merge(job);
    return job->warnings;
}
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
