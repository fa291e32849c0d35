/* detect.h: the whole detect chain, from two images to the six outputs. */
#ifndef GEODELTA_DETECT_H
#define GEODELTA_DETECT_H

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The detect request, in one group per stage so that a stage is handed only its own
 * group (gd_coreg_chain the coreg group, the summary the summary group, ...). The
 * option table (pipeline/options/detect_options.c) fills it; gd_detect_params_init sets
 * the "default" sentinels documented per field. */
typedef struct gd_input_opts {              /* source stage: the two images */
    const char *before, *after;             /* files or /vsi paths; NULL with stac */
    const char *bands_before, *bands_after; /* "red=3,nir=4"; NULL = from metadata */
    const char *sensor;                     /* --sensor profile name; NULL = auto */
    int has_s2_offset;                      /* --s2-offset given: */
    double s2_offset;                       /* Sentinel-2 DN offset (e.g. -1000) */
    const char *mask_before, *mask_after;   /* cloud mask files (non-zero = masked);
                                               NULL: the image's SCL/QA_PIXEL band */
    const struct gd_stac_query *stac;       /* --stac: before/after found and read by
                                               the discover stage; NULL: -b/-a files */
} gd_input_opts;

typedef struct gd_grid_opts {               /* grid stage */
    const char *t_srs;                      /* grid CRS; NULL: the before image's */
    double res;                             /* grid pixel size (CRS units); 0: default */
    const char *aoi;                        /* analysis cut to these polygons; NULL: none */
} gd_grid_opts;

typedef struct gd_coreg_opts {              /* co-registration stage */
    const char *mode;                       /* none|global|local; NULL = by method */
    int window;                             /* window in px; 0 = default */
} gd_coreg_opts;

typedef struct gd_decide_opts {             /* threshold, classify and clean stages */
    const char *threshold;                  /* "auto", "otsu", "ki" or a number */
    double mmu_ha;                          /* < 0: default (0.1 ha, 0 on pixel grids) */
    int mmu_px;                             /* < 0: from mmu_ha; else minimum patch in px */
    const char *nbr_classes;                /* nbr: "usgs" (USGS severity classes, the
                                               default with -t auto) or "binary"; NULL =
                                               default */
    double urban_seed;                      /* urban: a change region is kept when its
                                               peak score is >= this x the threshold; < 0:
                                               default (GD_URBAN_SEED_FACTOR), 0: off */
    int urban_object_px;                    /* urban: and when it has at least this many
                                               pixels; < 0: default (GD_URBAN_OBJECT_PX) */
} gd_decide_opts;

typedef struct gd_sar_opts {                /* SAR family (logratio, pcakmeans, flood) */
    const char *speckle;                    /* none, lee, refined-lee, gamma-map; NULL =
                                               the method's default */
    int speckle_window;                     /* <= 0: default */
    int smooth_window;                      /* < 0: default; 0 or 1: no smoothing */
    int pca_block;                          /* pcakmeans block size; <= 0: default */
    double mrf_beta;                        /* Potts MRF weight after the threshold;
                                               < 0: default, 0: off */
    double mrf_bias;                        /* added to the MRF's change energy (an
                                               asymmetric class prior); NaN: default */
    const char *score;                      /* "ratio" (log-ratio, the default) or "nr"
                                               (neighbourhood ratio) */
    int nr_window;                          /* nr: window, odd; <= 0: 3 */
    const char *decision;                   /* "threshold", "hysteresis" or "flicm", then
                                               the MRF; NULL: the method's default */
    double hyst_low;                        /* hysteresis: low threshold as a fraction of
                                               the threshold; < 0: default 0.7 */
} gd_sar_opts;

typedef struct gd_flood_opts {              /* flood method's masks and rule */
    const char *dem;                        /* DEM for the slope mask; NULL = none */
    double max_slope;                       /* degrees, < 0: default 5 */
    const char *permanent_water;            /* raster (non-zero) or vector mask of
                                               permanent water (class 2); NULL = none */
    const char *rule;                       /* on SAR: "adaptive" (log-ratio, Otsu,
                                               hysteresis, MRF: the default) or "ratio"
                                               (UN-SPIDER after/before < 1/1.25) */
} gd_flood_opts;

typedef struct gd_map_opts {                /* render stage (map.png, map.pdf) */
    int off;                                /* --no-map */
    const char *title, *credit;
    int width;                              /* 0: default */
    int layout;                             /* 0 triptych, 1 single (GD_MAP_*) */
    int bands;                              /* 0 true colour, 1 false colour */
    double dpi;                             /* 0: 300 */
    double stretch_lo, stretch_hi;          /* percentiles; equal: default 2, 98 */
    const char *area, *caveat;              /* subtitle and caveat; NULL: default */
    const char *overlay;                    /* zones drawn on the map; NULL: none */
    const char *overlay_field;              /* their label field; NULL: first string */
    const char *aoi;                        /* AOI outline drawn; NULL: the grid's aoi */
} gd_map_opts;

typedef struct gd_summary_opts {            /* summary stage: zones and alert levels */
    const char *zones, *zone_field;         /* zonal summaries (pipeline/summary/) */
    int all_touched;                        /* ALL_TOUCHED rasterization of the zones */
    const char *alerts;                     /* alert levels: JSON text or file */
    const json_t *alerts_json;              /* same, already parsed (batch files) */
} gd_summary_opts;

typedef struct gd_exposure_opts {           /* exposure stage */
    const char *population;                 /* people per pixel raster; NULL: none */
    const char *features, *field;           /* features to count (any OGR vector) */
} gd_exposure_opts;

typedef struct gd_output_opts {             /* the output folder and what goes in it */
    const char *dir;
    int overwrite, keep_score;
    const char *sign_key;                   /* Ed25519 private key (PEM): signs the
                                               manifest into manifest.sig; NULL = none */
    const char *without;                    /* deliverables turned off: "gpkg,pdf,..." */
    const char *with;                       /* deliverables off by default turned on: "pdf" */
    int pdf_a3;                             /* map.pdf on A3 instead of A4 */
} gd_output_opts;

typedef struct gd_detect_params {
    const char *method;
    gd_input_opts in;
    gd_grid_opts grid;
    gd_coreg_opts coreg;
    gd_decide_opts decide;
    gd_sar_opts sar;
    gd_flood_opts flood;
    gd_map_opts map;
    gd_summary_opts summary;
    gd_exposure_opts exposure;
    gd_output_opts out;
    int argc;                               /* the command line, for the manifest */
    char **argv;
} gd_detect_params;

void gd_detect_params_init(gd_detect_params *p);
int gd_detect_run(gd_job *job, const gd_detect_params *p);

/* Zonal summaries and alert levels of a finished class raster (pipeline/summary/):
 * writes zones.csv and zones.geojson into p->out.dir when p->summary.zones is set and adds
 * "zones", "alerts" and "alert_level" to summary. */
struct gd_grid;
struct gd_method;
/* Checks the alert levels against the method and records "alerts", "zones",
 * "zone_field" and "zones_all_touched" in the job's parameters (part of the run id, so
 * called before it is computed). */
int gd_summary_params(gd_job *job, const gd_summary_opts *o, const struct gd_method *m);
/* ex: people per pixel and exposed features for the zones' figures (NULL: none). */
struct gd_exposure_in;
int gd_summary_zones(gd_job *job, const gd_summary_opts *o, const char *outdir,
                     const struct gd_grid *grid,
                     const unsigned char *classes, const struct gd_method *m, json_t *summary,
                     const struct gd_exposure_in *ex);

#ifdef __cplusplus
}
#endif
#endif
