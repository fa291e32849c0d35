/* files.h: the output folder of a run held safely (lock, private temporary folder, no
 * symbolic link followed), SIGINT/SIGTERM turned into a cancel, and the test pause
 * points. */
#ifndef GEODELTA_FILES_H
#define GEODELTA_FILES_H

#include <stdio.h>
#include <sys/types.h>

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the lock file in an output folder; the run holding it writes its PID in it. */
#define GD_OUTDIR_LOCK ".geodelta.lock"
/* Prefix of a run's private temporary folder in the output folder. */
#define GD_OUTDIR_TMP_PREFIX ".geodelta.tmp-"

/* Creates OUTDIR if needed and opens it without following a symbolic link (O_DIRECTORY |
 * O_NOFOLLOW); takes its advisory lock (flock on OUTDIR/.geodelta.lock), so that a second
 * run into it fails at once (GD_EOUTPUT) naming the PID of the first; removes what
 * interrupted runs left (OUTDIR/.geodelta.tmp-* folders, *.tmp-* files) and makes this
 * run's private temporary folder OUTDIR/.geodelta.tmp-XXXXXX (mkdtemp: mode 0700, a name
 * nobody can guess or plant). From then on gd_tmp_name places the temporaries of files
 * in OUTDIR there. */
int gd_outdir_lock(gd_job *job, const char *dir);
/* Removes the private temporary folder with everything left in it (the temporaries of an
 * interrupted or failed run, GDAL's side files), releases the lock; a no-op without a
 * lock, so it may be called more than once. */
void gd_outdir_release(gd_job *job);
/* Opens OUTDIR/name as the job's log: a fresh file made in the private folder and
 * renamed into place, so that whatever had the name (a symbolic link, a hard link to
 * another file) is replaced, never written through. */
int gd_outdir_open_log(gd_job *job, const char *name);

/* A temporary for final_path under a name nobody can guess: in the private folder when
 * final_path is in the locked OUTDIR (mkdtemp made it 0700: nothing can be planted there,
 * and the writer, GDAL included, creates the file: GDAL's GeoJSON driver refuses an
 * existing one), else "<final_path>.tmp-<64 random bits>", free when chosen. Stdio
 * writers open it with gd_tmp_fopen (O_CREAT | O_EXCL | O_NOFOLLOW); gd_commit_file
 * renames only a regular file. gd_tmp_create also creates it, exclusively, with mode
 * (before the umask): for a private key. Both return GD_ECANCEL once the job is
 * cancelled: no output is started after a signal. (gd_tmp_name is declared in util.h.) */
int gd_tmp_create(gd_job *job, const char *final_path, mode_t mode, char *buf, size_t len);
/* Creates and opens a temporary named by gd_tmp_name for writing: exclusively, never
 * through a symbolic link. NULL with errno set on failure. */
FILE *gd_tmp_fopen(const char *tmp_path);
/* gd_tmp_name for final_path into tmp, then gd_tmp_fopen: *f open on it, or the status
 * with "cannot write final_path" in the job (the stdio writers' one opening). */
int gd_tmp_open(gd_job *job, const char *final_path, char *tmp, size_t len, FILE **f);
/* Whether path names a regular file itself (not a symbolic link, FIFO, device...). */
int gd_is_plain_file(const char *path);

/* ---- signals ---- */
/* Installs the SIGINT/SIGTERM handlers (a second signal ends the process at once). The
 * handler only records the signal; every job sees it through gd_job_cancelled. With
 * restart = 0 a blocking call returns EINTR (a batch waiting for its jobs). */
void gd_signals_install(int restart);
/* The signal received (SIGINT, SIGTERM), 0 if none. Safe from any thread. */
int gd_signal_caught(void);
/* The exit code of a run stopped by a signal: 128 + its number. */
int gd_signal_exit_code(int sig);

/* ---- test pause points ----
 * In the test build (geodelta_hooks) with GEODELTA_TEST_PAUSE_AT=name and
 * GEODELTA_TEST_PAUSE_DIR=dir, the run stops at the point name: it creates
 * dir/name.reached and waits until dir/name.go exists (or a signal arrives). The
 * geodelta binary has only this no-op. Points: "outdir-locked", "inputs-hashed",
 * "strip", "before-manifest"; the monitor's "monitor-date", "monitor-state-write" (inside
 * the state's transaction), "monitor-state-commit" (after it) and "monitor-state". */
void gd_test_pause(const char *name);
/* Whether the run will stop at the point name (only ever true in the test build). */
int gd_test_pause_active(const char *name);

#ifdef __cplusplus
}
#endif
#endif
