/* monitor_int.h: what the files of pipeline/monitor/ share. */
#ifndef GEODELTA_MONITOR_INT_H
#define GEODELTA_MONITOR_INT_H

#include "geodelta/monitor.h"
#include "geodelta/stages.h"

#include <ogr_api.h>
#include <stdint.h>

typedef struct json_t json_t;
struct gd_zones;

/* baseline dates one stack may have (per-pixel buffers on the stack) */
#define GD_MON_MAX_BASE 1024
/* the smallest spread a baseline gets: a constant series (saturated, filled or synthetic)
 * would otherwise flag any difference at all */
#define GD_MON_MIN_SIGMA 1e-3f

/* a harmonic baseline needs a year of dates and this many valid values per pixel */
#define GD_MON_HARMONIC_MIN_OBS 12

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

struct gd_mon_kind;

typedef struct mstack {
    gd_stack *s;
    const struct gd_mon_kind *ops; /* the method's kind: how it reads, fits and flags */
    const char *method_name;
    const char *roles[2];          /* the method's band roles (kinds that read by role) */
    int method, direction, harmonic;
    int nbase;          /* dates before --start */
    double enl;         /* SAR: --enl or its estimate (dual-pol: VV's) */
    double enl2;        /* dual-pol SAR: VH's */
    int pol;            /* SAR: GD_MON_POL_* (0: the default band) */
    int done;           /* dates in the state (processed) */
    int saved;          /* dates already in alerts.gpkg's dates table (state.c) */
    px_base *base;
    float *fac;         /* the kind's per-baseline-size factors (fit_init), full runs */
    char (*sha)[65];
    uint64_t *size;
} mstack;

typedef struct obs {
    int s, i;
} obs;

/* A pixel whose alert status changed on date k of the run's dates to test (todo[k]):
 * its state after that date (for alert_history date by date, alerts_gpkg.c). */
typedef struct gd_mon_change {
    int32_t k;
    size_t i;
    px_state now;
} gd_mon_change;

/* One strip's changes, in date order. */
typedef struct gd_mon_changes {
    gd_mon_change *v;
    size_t n, cap;
} gd_mon_changes;

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
    json_t *discover;   /* --stac: the discover record for the manifest */
    /* state.c: per pixel the id of the alert region holding it in the last committed
     * state (0: none; NULL on a full run), the next new alert's id, whether alerts.gpkg is
     * updated in place (incremental) or written anew, and a monitor.state v2 to remove
     * once the state is committed (1: continued from it, 2: not usable) */
    int32_t *alert_id;
    int64_t next_alert;
    int in_place, legacy;
    /* the inputs of the figures derived from the alerts without testing a date (people
     * per alert from --population; zone, zone series from --zones, --zone-field): their
     * hashes, taken once a run (the manifest lists them too), are recorded in monitor_meta
     * "derived"; refresh: they differ from the state's, so a run without a new date
     * rewrites alerts.gpkg's alerts and zone series all the same */
    char pop_sha[65], zones_sha[65];
    uint64_t pop_size, zones_size;
    int refresh;
    /* this run's dates to test (in order) and, for alert_history date by date, the
     * per-pixel state before them (NULL: no date tested) and per strip the pixels whose
     * status each date changed */
    const obs *todo;
    int ntodo, nchg;
    px_state *px0;
    gd_mon_changes *chg;
} gd_monitor;

/* One date of one stack opened on the grid: the kind's bands with their scale, offset,
 * dB conversion and cloud mask. */
typedef struct mread {
    gd_source *src;
    GDALDatasetH ds, own[3];
    int owned, nb;
    gd_band b[2];
} mread;

/* A monitor method kind as a plug-in, like the detect methods' ops (pipeline/methods/):
 * the run and the strip loop only call these. One table per kind (mkind_*.c); the
 * methods of a kind differ only in their band roles and default direction. */
typedef struct gd_mon_kind {
    const char *name;
    int nb;        /* bands read per date */
    int nv;        /* values per date and pixel: 1 (0 reads as 1), or 2 (dual-pol: the
                      second band's values follow the first's as a second plane) */
    int by_role;   /* the bands are found by the method's roles (else band 1 as it is) */
    int lone_band; /* a single-band image is its own band when no role names it */
    /* after the bands are found: sensor scale/offset, dB to linear (NULL: none) */
    int (*calibrate)(gd_job *job, mread *r, const char *label, const int *idx);
    /* the per-date value from the bands read (b0 in place, b1 the second band, NaN =
     * unobserved; with nv = 2 b1 is the second plane, also in place); NULL: band 1 is
     * the value */
    void (*derive)(float *b0, float *b1, size_t n);
    /* per stack once its baseline dates are known, before the state is compared: the
     * baseline model (harmonic or not), the ENL (NULL: nothing) */
    int (*prepare)(gd_job *job, gd_monitor *mon, int s);
    /* full runs, before the fits: what the fits share (NULL: nothing) */
    int (*fit_init)(gd_job *job, const gd_monitor *mon, mstack *ms);
    /* one pixel's baseline from its nb baseline values v at times t (years; NaN =
     * unobserved; with nv = 2 the second values follow as v[nb..2nb)); vv, tt, tmp:
     * scratch of nb floats; out preset to no baseline */
    void (*fit)(const gd_monitor *mon, const mstack *ms, const float *v, const float *t, int nb,
                float *vv, float *tt, float *tmp, px_base *out);
    /* whether the value v[0] (and v[1] with nv = 2) at time t departs from baseline b */
    int (*flagged)(const gd_monitor *mon, const mstack *ms, const px_base *b, const float *v,
                   float t);
    /* after a valid observation of a pixel without a confirmed alert: the baseline learns
     * from it (NULL: it does not) */
    void (*observed)(px_base *b, const float *v, int flagged, int status);
    /* what it records in the parameters: the baseline's name and the ENL (or null) */
    const char *(*baseline_name)(const mstack *ms);
    json_t *(*enl_json)(const mstack *ms);
} gd_mon_kind;

extern const gd_mon_kind gd_mon_kind_sar, gd_mon_kind_sar2, gd_mon_kind_value,
    gd_mon_kind_index;

/* values per date and pixel of a stack's kind */
#define GD_MON_NV(ms) ((ms)->ops->nv == 2 ? 2 : 1)

int gd_monitor_method(const char *name);
const char *gd_monitor_method_names(void);
int gd_monitor_read_open(gd_job *job, const gd_monitor *mon, int s, int i, mread *r);
/* rows [y0, y0+rows) of an opened date as the kind's values (NaN = unobserved); out holds
 * GD_MON_NV planes of width x rows */
int gd_monitor_read_rows(gd_job *job, const gd_monitor *mon, const mstack *ms, mread *r, int y0,
                         int rows, float *out, float *tmp);
void gd_monitor_read_close(mread *r);
int gd_monitor_read(gd_job *job, const gd_monitor *mon, int s, int i, int y0, int rows,
                    float *out, float *tmp);
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
/* A new table of alerts.gpkg (GDALDatasetH ds): fid "fid", geometry "geom" unless type is
 * wkbNone, the nf fields (NOT NULL when not_null; field bool_field a Boolean, -1 none);
 * NULL with the job's error set. */
OGRLayerH gd_monitor_gpkg_layer(gd_job *job, GDALDatasetH ds, const char *name,
                                OGRSpatialReferenceH srs, OGRwkbGeometryType type,
                                const char *const *names, const OGRFieldType *types, int nf,
                                int bool_field, int not_null);
/* Writes feature f (and destroys it) to layer l. */
int gd_monitor_gpkg_put(gd_job *job, OGRLayerH l, OGRFeatureH f);
int gd_monitor_state_block_rows(const gd_grid *g);
/* monitor_meta "derived": {"population": SHA-256 | null, "zones": SHA-256 | null,
 * "zone_field": NAME | null} of this run. New reference. */
json_t *gd_monitor_derived_json(const gd_monitor *mon);
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
