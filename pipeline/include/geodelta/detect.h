/* detect.h: the whole detect chain, from two images to the six outputs. */
#ifndef GEODELTA_DETECT_H
#define GEODELTA_DETECT_H

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gd_detect_params {
    const char *before, *after, *method, *outdir;
    const char *bands_before, *bands_after; /* "red=3,nir=4"; NULL = from metadata */
    const char *threshold;                  /* "auto", "otsu" or a number; NULL = auto */
    double mmu_ha;                          /* < 0: default (0.1 ha, 0 on pixel grids) */
    int no_map, overwrite, keep_score;
    const char *title, *credit;
    int map_width;                          /* 0: default */
    const char *zones, *zone_field;         /* zonal summaries (pipeline/summary/) */
    int zones_all_touched;                  /* ALL_TOUCHED rasterization of the zones */
    const char *alerts;                     /* alert levels: JSON text or file */
    const json_t *alerts_json;              /* same, already parsed (batch files) */
    int argc;                               /* the command line, for the manifest */
    char **argv;
} gd_detect_params;

void gd_detect_params_init(gd_detect_params *p);
int gd_detect_run(gd_job *job, const gd_detect_params *p);

/* Zonal summaries and alert levels of a finished class raster (pipeline/summary/):
 * writes zones.csv and zones.geojson into p->outdir when p->zones is set and adds
 * "zones", "alerts" and "alert_level" to summary. */
struct gd_grid;
struct gd_method;
int gd_summary_zones(gd_job *job, const gd_detect_params *p, const struct gd_grid *grid,
                     const unsigned char *classes, const struct gd_method *m, json_t *summary);

#ifdef __cplusplus
}
#endif
#endif
