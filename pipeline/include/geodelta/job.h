/* job.h: the job context every stage takes: errors, log, progress, provenance record. */
#ifndef GEODELTA_JOB_H
#define GEODELTA_JOB_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: 0 ok, negative on error. The CLI maps them to exit codes 1..4. */
enum {
    GD_OK = 0,
    GD_EUSAGE = -1,  /* bad options or arguments          -> exit 1 */
    GD_EINPUT = -2,  /* input data problem                -> exit 2 */
    GD_EPROC = -3,   /* processing failure                -> exit 3 */
    GD_EOUTPUT = -4, /* output cannot be written          -> exit 4 */
    GD_ECANCEL = -5  /* cancelled through the progress    -> exit 3 */
};

typedef struct gd_job gd_job;
typedef struct json_t json_t;

int gd_job_create(gd_job **out);
void gd_job_destroy(gd_job *job);

/* Exit code for a status (0 for GD_OK). */
int gd_status_exit_code(int status);

/* A light context for work on another thread (or a check whose failure is a finding,
 * not the job's error): it takes gd_job_error/warn/info like the job but only holds
 * them, and has no parameters, automatic values, log or progress of its own (those
 * calls are no-ops on it). gd_job_merge, on the job's own thread, passes its first
 * error (unless the job has one) and its log lines and warnings to the job and destroys
 * it, returning its status; gd_job_destroy discards it. gd_job_fork returns GD_EPROC
 * when out of memory without recording it in the job. */
int gd_job_fork(gd_job *job, gd_job **ctx);
int gd_job_merge(gd_job *job, gd_job *ctx);

/* Records an error (the first one wins: it is the root cause) and returns code. The
 * error reaches run.log only if it is still there when the log is closed: an error a
 * stage recovers from (gd_job_clear_error) is never logged as an ERROR. */
int gd_job_error(gd_job *job, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like gd_job_error, appending GDAL's last error message when there is one. */
int gd_job_error_gdal(gd_job *job, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *gd_job_message(const gd_job *job);
int gd_job_status(const gd_job *job);
/* Forgets the recorded error, for a stage that recovers from it (after a warning). */
void gd_job_clear_error(gd_job *job);

/* Logging: info goes to run.log (and stderr unless quiet, when verbose); warnings go
 * to run.log, stderr (unless quiet) and the manifest. While the log is open, GDAL's
 * warnings (from any thread) and the errors PROJ's default context logs become the
 * job's warnings too ("GDAL: ...", "PROJ: ...", in run.log and the manifest but not on
 * stderr, where a failed run says one line), each distinct one once and at most
 * 16; they are merged on the job's thread (at each progress step, when the warnings
 * are read and when the log closes). GDAL has one global handler: one job per process
 * at a time has its log open (as the CLI and batch's job processes do). */
void gd_job_set_quiet(gd_job *job, int quiet);
int gd_job_quiet(const gd_job *job);
int gd_job_open_log(gd_job *job, const char *path);
void gd_job_close_log(gd_job *job);
void gd_job_info(gd_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gd_job_warn(gd_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a line for the user on stdout (unless quiet) and logs it; while a progress
 * line is on screen the line is held back until the progress ends. */
void gd_job_say(gd_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Progress over the whole job in GDAL's style (0...10...20 ... 100 - done.) on stderr.
 * A stage reports fractions 0..1 of its own slot. gd_job_progress_range sets the range
 * [lo, hi] (fractions of the current slot: the whole job at the top) that
 * gd_job_progress's fraction maps into; gd_job_progress_push does the same and makes
 * that range the slot of a sub-stage, which then sets its own ranges in 0..1, until
 * gd_job_progress_pop (as GDALCreateScaledProgress nests). gd_job_progress returns
 * GD_ECANCEL when the job was cancelled. */
void gd_job_progress_range(gd_job *job, double lo, double hi);
void gd_job_progress_push(gd_job *job, double lo, double hi);
void gd_job_progress_pop(gd_job *job);
/* Where fraction f of the current range lies in the whole job, 0..1. */
double gd_job_progress_total(const gd_job *job, double f);
int gd_job_progress(gd_job *job, double stage_fraction);
void gd_job_progress_done(gd_job *job);
/* Ends a started progress line so that a message can follow on its own line. */
void gd_job_progress_break(gd_job *job);
/* A GDALProgressFunc that forwards into the job's current range. */
int gd_job_gdal_progress(double complete, const char *msg, void *job);
void gd_job_cancel(gd_job *job);

/* Provenance: the job's record of parameters and automatically chosen values. The
 * job keeps ownership of the returned objects. */
json_t *gd_job_params(gd_job *job);
json_t *gd_job_auto(gd_job *job);
json_t *gd_job_warnings(gd_job *job);
/* The run id (64 hex digits) that every output embeds; NULL until it is known. */
void gd_job_set_run_id(gd_job *job, const char *run_id);
const char *gd_job_run_id(const gd_job *job);

/* Resource settings. */
void gd_job_set_threads(gd_job *job, int threads);
int gd_job_threads(const gd_job *job);
void gd_job_set_mem_mb(gd_job *job, int mem_mb);
int gd_job_mem_mb(const gd_job *job);
/* Folder for temporary files of the job (the output folder); NULL: the current one. */
void gd_job_set_workdir(gd_job *job, const char *dir);
const char *gd_job_workdir(const gd_job *job);

#ifdef __cplusplus
}
#endif
#endif
