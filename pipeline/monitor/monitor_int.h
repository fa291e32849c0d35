/* monitor_int.h: what the files of pipeline/monitor/ share. */
#ifndef GEODELTA_MONITOR_INT_H
#define GEODELTA_MONITOR_INT_H

#include "geodelta/monitor.h"
#include "geodelta/stages.h"

#include <stdint.h>

typedef struct json_t json_t;
struct gd_zones;

/* baseline dates one stack may have (per-pixel buffers on the stack) */
#define GD_MON_MAX_BASE 1024
/* the smallest spread a baseline gets: a constant series (saturated, filled or synthetic)
 * would otherwise flag any difference at all */
#define GD_MON_MIN_SIGMA 1e-3f

enum { MK_SAR, MK_VALUE, MK_INDEX };

/* the colours of no alert, provisional, confirmed, cleared: map, status COG, alerts.gpkg
 * style (outputs.c) */
extern const unsigned char gd_mon_status_rgb[4][3];

/* Per pixel, shared by the stacks: the alert in progress and the answer. */
typedef struct px_state {
    int32_t alert_date;   /* first detection of the confirmed alert (YYYYMMDD), 0 */
    int32_t prov_date;    /* first flag of the alert in progress (or the last cleared) */
    int32_t confirm_date; /* date the alert was confirmed, 0 */
    int32_t last_date;    /* latest date a stack flagged the alert in progress (or confirmed) */
    uint8_t status;       /* GD_MON_NONE, PROVISIONAL, CONFIRMED, CLEARED */
    uint8_t nflag;        /* flagged observations after the first (any stack) */
    uint8_t nmiss;        /* unflagged observations after the first, of the raising stack */
    uint8_t observed;     /* at least one date was tested here */
    uint8_t raiser;       /* the stack whose flag raised the alert in progress */
    uint8_t pad[3];       /* explicit: the state file holds the struct's bytes */
} px_state;

/* Per pixel and stack: optical expected value c0 + a1 cos 2πt + b1 sin 2πt and robust
 * spread sigma; SAR: c0 = sum and a1 = number of the stable segment's intensities,
 * sigma = 0. sigma NaN: no baseline. */
typedef struct px_base {
    float c0, a1, b1, sigma;
} px_base;

typedef struct mstack {
    gd_stack *s;
    int method, kind, direction, harmonic;
    int nbase;          /* dates before --start */
    double enl;         /* SAR: --enl or its estimate */
    int done;           /* dates in the state (processed) */
    int saved;          /* dates already in alerts.gpkg's dates table (state.c) */
    px_base *base;
    char (*sha)[65];
    uint64_t *size;
} mstack;

typedef struct obs {
    int s, i;
} obs;

typedef struct gd_monitor {
    const gd_monitor_params *p;
    gd_grid *grid;
    int ns;
    mstack st[GD_MONITOR_MAX_STACKS];
    px_state *px;
    int32_t start;
    double z1, z2;      /* thresholds on the robust z: one- and two-sided */
    int mem_mb, nbase_total, full, ntested;
    json_t *config;
    /* state.c: per pixel the id of the alert region holding it in the last committed
     * state (0: none; NULL on a full run), the next new alert's id, whether alerts.gpkg is
     * updated in place (incremental) or written anew, and a monitor.state v2 to remove
     * once the state is committed (1: continued from it, 2: not usable) */
    int32_t *alert_id;
    int64_t next_alert;
    int in_place, legacy;
} gd_monitor;

int gd_monitor_method(const char *name);
const char *gd_monitor_method_names(void);
int gd_monitor_read(gd_job *job, gd_monitor *mon, int s, int i, int y0, int rows, float *out,
                    float *tmp);
/* the factor on a baseline's robust sigma that keeps the false-alarm rate at p (monitor.c) */
double gd_monitor_sigma_factor(double p, double z, int n, int ncoef);
/* state.c: the state in alerts.gpkg. load: *full = 0 when it holds these parameters and,
 * per stack, a prefix of the listed dates (same hashes) after which only monitored dates
 * follow, later than every date already tested; then mon's arrays are loaded and st[].done
 * set (a monitor.state v2 of earlier versions is continued the same way, once). A state of
 * a layout this build cannot read is GD_EINPUT. */
int gd_monitor_state_load(gd_job *job, gd_monitor *mon, int *full);
/* Inside the caller's transaction on the open alerts.gpkg (GDALDatasetH ds): the
 * per-pixel arrays (ids: the alert id per pixel), the dates not yet in the file, the
 * parameters and layouts. */
int gd_monitor_state_write(gd_job *job, void *ds, const gd_monitor *mon, const int32_t *ids,
                           int64_t next_alert);
int gd_monitor_state_clear(gd_job *job, void *ds, const char *table);
int gd_monitor_state_block_rows(const gd_grid *g);
/* After the commit: removes a converted (or unusable) monitor.state v2. */
void gd_monitor_state_done(gd_job *job, const gd_monitor *mon);
/* alert_date.tif, alert_status.tif, alert_map.png, summary.json, zone series, alerts.gpkg
 * (outputs.c) */
int gd_monitor_outputs(gd_job *job, gd_monitor *mon);
/* alerts.gpkg (alerts_gpkg.c), the monitor's state: the alert polygons with stable ids
 * and their history, the per-pixel state, the dates processed and, with zones (zs,
 * det/conf: nz x nd hectares or pixels per zone and monitored date), the zone series; one
 * transaction (a new file renamed into place on a full run). */
int gd_monitor_write_gpkg(gd_job *job, const gd_monitor *mon, const uint8_t *status,
                          const int32_t *dates, int nd, const struct gd_zones *zs,
                          const double *det, const double *conf);
int gd_monitor_manifest(gd_job *job, gd_monitor *mon, double t0);

#endif
