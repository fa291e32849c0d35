/* monitor.h: `geodelta monitor`: dated stacks of one area watched against a per-pixel
 * baseline, with alerts that confirm themselves and state kept across runs. */
#ifndef GEODELTA_MONITOR_H
#define GEODELTA_MONITOR_H

#include <stdint.h>

#include "geodelta/discover.h"
#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GD_MONITOR_MAX_STACKS 8

/* alert_status.tif values */
enum { GD_MON_NONE = 0, GD_MON_PROVISIONAL = 1, GD_MON_CONFIRMED = 2, GD_MON_CLEARED = 3,
       GD_MON_UNOBSERVED = 255 };
/* --direction */
enum { GD_MON_DIR_DEFAULT = 0, GD_MON_DIR_DECREASE, GD_MON_DIR_INCREASE, GD_MON_DIR_BOTH };
/* --pol: which SAR polarisations (-m sar); DEFAULT: the first band named VV, VH, HH or
 * HV, or the only band, as before --pol existed */
enum { GD_MON_POL_DEFAULT = 0, GD_MON_POL_VV, GD_MON_POL_VH, GD_MON_POL_DUAL };
/* --baseline */
enum { GD_MON_BASE_AUTO = 0, GD_MON_BASE_MEDIAN, GD_MON_BASE_HARMONIC };

typedef struct gd_monitor_params {
    const char *stacks[GD_MONITOR_MAX_STACKS];  /* --stack LIST (repeatable) */
    int nstacks;
    const char *methods[GD_MONITOR_MAX_STACKS]; /* -m (once for all, or once per stack) */
    int nmethods;
    const char *outdir;
    const char *start;     /* YYYY-MM-DD; NULL: one year after the first date */
    int confirm;           /* further flagged observations that confirm (default 2) */
    int window;            /* ... within this many valid observations after the first (4) */
    double p_value;        /* per-observation false-alarm rate (0.01) */
    double enl;            /* SAR equivalent number of looks; 0: estimated (auto) */
    int direction;         /* GD_MON_DIR_* */
    int baseline;          /* GD_MON_BASE_* */
    int min_baseline;      /* valid baseline observations a pixel needs (3) */
    int pol;               /* GD_MON_POL_*: the SAR stacks' polarisations */
    const char *bands;     /* band roles, "r=3,n=4" (index methods) */
    const char *zones, *zone_field;
    const char *population; /* people per pixel raster: people on each alert */
    /* --stac: the first stack comes from a STAC search over one range (window[0]),
     * mosaicked per date into OUTDIR/stac/ (pipeline/discover/); --stack adds more */
    const gd_stac_query *stac;
    int argc;
    char **argv;
} gd_monitor_params;

void gd_monitor_params_init(gd_monitor_params *p);
/* Runs (or continues) the monitor of p->outdir: only the dates not yet in its state are
 * processed when the state matches the parameters and the earlier dates. */
int gd_monitor_run(gd_job *job, const gd_monitor_params *p);

/* ---- pieces, exposed for tests ---- */
/* "YYYY-MM-DD" -> YYYYMMDD (calendar-checked); 0 when not a date. */
int32_t gd_monitor_parse_date(const char *s);
/* Days since 1970-01-01 of YYYYMMDD. */
long gd_monitor_days(int32_t ymd);

typedef struct gd_stack_item {
    int32_t date;  /* YYYYMMDD */
    char *path;    /* resolved against the list's folder */
    int line;
} gd_stack_item;

typedef struct gd_stack {
    char *list;            /* the LIST file */
    gd_stack_item *items;
    int n;
} gd_stack;

/* Reads a LIST file (one "YYYY-MM-DD PATH" a line, '#' comments, blank lines skipped,
 * paths relative to the LIST's folder). Unreadable, malformed, unsorted or duplicate
 * dates and missing images are GD_EINPUT naming the line. */
int gd_stack_read(gd_job *job, const char *list, gd_stack **out);
void gd_stack_destroy(gd_stack *s);

/* The normal quantile: x with Phi(x) = p, 0 < p < 1. */
double gd_monitor_norm_quantile(double p);

#ifdef __cplusplus
}
#endif
#endif
