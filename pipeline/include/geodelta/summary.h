/* summary.h: zonal summaries of a class raster per admin polygon, and alert levels. */
#ifndef GEODELTA_SUMMARY_H
#define GEODELTA_SUMMARY_H

#include <stdint.h>

#include "geodelta/job.h"
#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- alert levels ------------------------------------------------------------------ */
/* Levels in increasing order of severity; a zone gets the highest level whose rule it
 * meets, green when none. */
enum { GD_ALERT_GREEN = 0, GD_ALERT_YELLOW, GD_ALERT_AMBER, GD_ALERT_RED, GD_ALERT_NLEVELS };
const char *gd_alert_name(int level);
int gd_alert_from_name(const char *name); /* -1 when unknown */

typedef struct gd_alerts gd_alerts;

/* Parses an alert specification: a JSON object such as
 *   {"amber": {"changed_ha": 5}, "red": {"changed_pct": 10, "classes": {"2": {"changed_ha": 1}}}}
 * Each level holds criteria (changed_ha, changed_pct, changed_pixels, people: people in
 * the changed pixels, with --population) on all change
 * classes together and optionally per class (key = class value or class name); the level
 * is reached when any criterion is met (>=). `what` names the source in messages. */
int gd_alerts_from_json(gd_job *job, const json_t *spec, const char *what, gd_alerts **out);
/* text is either a JSON object or the path of a file holding one. */
int gd_alerts_parse(gd_job *job, const char *text, gd_alerts **out);
void gd_alerts_destroy(gd_alerts *a);
/* Checks that every per-class key names a class of method m. */
int gd_alerts_check(gd_job *job, const gd_alerts *a, const gd_method *m, const char *what);
/* The specification as given (for the manifest and summary); borrowed reference. */
const json_t *gd_alerts_spec(const gd_alerts *a);

/* ---- zonal summaries ---------------------------------------------------------------- */
#define GD_ZONE_NCLASS 256

typedef struct gd_zone {
    char *name;                        /* value of the zone field */
    uint64_t pixels;                   /* pixels of the zone on the grid */
    uint64_t valid;                    /* of which not nodata (class != 255) */
    double area_ha, valid_ha;          /* geodesic; NaN on pixel grids */
    uint64_t class_px[GD_ZONE_NCLASS]; /* valid pixels per class value */
    double class_ha[GD_ZONE_NCLASS];
    int level;                         /* GD_ALERT_* */
    /* exposure (only with --population / --exposure; see gd_zones.has_*) */
    double people;                     /* people in the zone's pixels */
    double class_people[GD_MAX_CLASSES];
    uint64_t class_features[GD_MAX_CLASSES]; /* exposed features placed in the zone */
    double class_feature_ha[GD_MAX_CLASSES];
    uint64_t features;                 /* of which reached by any change class */
} gd_zone;

typedef struct gd_zones {
    size_t n;
    gd_zone *z;
    char *field;
    int all_touched;
    void **geoms;                      /* OGRGeometryH in WGS84 lon/lat, for zones.geojson */
    int has_people, has_features;      /* people / feature columns in the outputs */
} gd_zones;

typedef struct gd_zone_opts {
    const char *path;       /* any vector GDAL/OGR reads */
    const char *field;      /* attribute naming each zone; NULL: the feature id */
    int all_touched;        /* GDAL ALL_TOUCHED=TRUE instead of the pixel-centre rule */
    const float *people;    /* people per grid pixel (--population); NULL: none */
} gd_zone_opts;

/* Rasterizes every zone polygon on the grid (GDALRasterizeGeometries, one zone at a
 * time in its own window so that overlapping zones and the pixels all-touched gives to
 * two neighbours are counted in each) and tallies the class raster per zone. */
int gd_zones_compute(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                     const gd_zone_opts *opts, gd_zones **out);
void gd_zones_destroy(gd_zones *zs);

/* Sets each zone's level; returns the highest level of all zones. a may be NULL. */
int gd_zones_apply_alerts(gd_zones *zs, const gd_alerts *a, const gd_method *m);

/* changed = classes 1..254 (every class but 0 = no change and 255 = nodata). */
uint64_t gd_zone_changed_px(const gd_zone *z);
double gd_zone_changed_ha(const gd_zone *z);
double gd_zone_changed_pct(const gd_zone *z);
/* people in the change classes (1..GD_MAX_CLASSES-1) of a zone */
double gd_zone_changed_people(const gd_zone *z);
/* Places each exposed feature (struct gd_exposure, geodelta/exposure.h) in the zones
 * whose polygon holds its point and counts it per change class. */
struct gd_exposure;
void gd_zones_add_exposure(gd_zones *zs, const struct gd_exposure *e);

/* The "zones" array for summary.json; m names the classes (NULL: "class N"). */
json_t *gd_zones_json(const gd_zones *zs, const gd_method *m);
/* zones.csv and zones.geojson (RFC 7946), written atomically. */
int gd_zones_write_csv(gd_job *job, const gd_zones *zs, const gd_method *m, const char *path);
int gd_zones_write_geojson(gd_job *job, const gd_zones *zs, const gd_method *m,
                           const char *path);

#ifdef __cplusplus
}
#endif
#endif
