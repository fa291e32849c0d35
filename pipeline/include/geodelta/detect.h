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
    const char *threshold;                  /* "auto", "otsu", "ki" or a number; NULL = auto */
    const char *coreg;                      /* none|global|local; NULL = by method */
    int coreg_window;                       /* co-registration window in px; 0 = default */
    double mmu_ha;                          /* < 0: default (0.1 ha, 0 on pixel grids) */
    int mmu_px;                             /* < 0: from mmu_ha; else minimum patch in pixels */
    const char *speckle;                    /* logratio/pcakmeans: none, lee, refined-lee,
                                               gamma-map; NULL = the SAR default */
    int speckle_window;                     /* <= 0: default */
    int smooth_window;                      /* < 0: default; 0 or 1: no smoothing */
    int pca_block;                          /* pcakmeans block size; <= 0: default */
    double mrf_beta;                        /* logratio/pcakmeans: Potts MRF weight after
                                               the threshold; < 0: default, 0: off */
    double mrf_bias;                        /* added to the MRF's change energy (an
                                               asymmetric class prior); NaN: default */
    const char *sar_score;                  /* logratio/pcakmeans: "ratio" (log-ratio, the
                                               default) or "nr" (neighbourhood ratio) */
    int nr_window;                          /* nr: window, odd; <= 0: 3 */
    const char *sar_decision;               /* logratio/pcakmeans: "threshold",
                                               "hysteresis" or "flicm", then the MRF; NULL:
                                               flicm (logratio), threshold (pcakmeans) */
    double hyst_low;                        /* hysteresis: low threshold as a fraction of
                                               the threshold; < 0: default 0.7 */
    const char *nbr_classes;                /* nbr: "usgs" (USGS severity classes, the
                                               default with -t auto) or "binary" (the
                                               threshold's 2 classes); NULL = default */
    const char *sensor;                     /* --sensor profile name; NULL = auto */
    int has_s2_offset;                      /* --s2-offset given: */
    double s2_offset;                       /* Sentinel-2 DN offset (e.g. -1000) */
    const char *mask_before, *mask_after;   /* cloud mask files (non-zero = masked);
                                               NULL: the image's SCL/QA_PIXEL band */
    const char *dem;                        /* flood: DEM for the slope mask; NULL = none */
    double max_slope;                       /* flood: degrees, < 0: default 5 */
    const char *permanent_water;            /* flood: raster (non-zero) or vector mask of
                                               permanent water (class 2); NULL = none */
    const char *flood_rule;                 /* flood on SAR: "adaptive" (log-ratio, Otsu,
                                               hysteresis, MRF: the default) or "ratio"
                                               (UN-SPIDER after/before < 1/1.25) */
    int no_map, overwrite, keep_score;
    const char *title, *credit;
    int map_width;                          /* 0: default */
    const char *sign_key;                   /* Ed25519 private key (PEM): signs the
                                               manifest into manifest.sig; NULL = none */
    int map_layout;                         /* 0 triptych, 1 single (GD_MAP_*) */
    int map_bands;                          /* 0 true colour, 1 false colour */
    double map_dpi;                         /* 0: 300 */
    double stretch_lo, stretch_hi;          /* percentiles; equal: default 2, 98 */
    const char *area, *caveat;              /* map subtitle and caveat; NULL: default */
    const char *map_overlay;                /* zones drawn on the map; NULL: none */
    const char *map_overlay_field;          /* their label field; NULL: first string */
    const char *map_aoi;                    /* AOI outline drawn on the map; NULL: --aoi */
    const char *aoi;                        /* analysis cut to these polygons; NULL: none */
    const char *t_srs;                      /* grid CRS; NULL: the before image's */
    double res;                             /* grid pixel size (CRS units); 0: default */
    const char *zones, *zone_field;         /* zonal summaries (pipeline/summary/) */
    int zones_all_touched;                  /* ALL_TOUCHED rasterization of the zones */
    const char *alerts;                     /* alert levels: JSON text or file */
    const char *population;                 /* people per pixel raster; NULL: none */
    const char *exposure, *exposure_field;  /* features to count (any OGR vector) */
    const char *without;                    /* deliverables turned off: "gpkg,pdf,..." */
    const char *with;                       /* deliverables off by default turned on: "pdf" */
    int pdf_a3;                             /* map.pdf on A3 instead of A4 */
    const json_t *alerts_json;              /* same, already parsed (batch files) */
    const struct gd_stac_query *stac;       /* --stac: before/after found and read by
                                               the discover stage; NULL: -b/-a files */
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
/* Checks the alert levels against the method and records "alerts", "zones",
 * "zone_field" and "zones_all_touched" in the job's parameters (part of the run id, so
 * called before it is computed). */
int gd_summary_params(gd_job *job, const gd_detect_params *p, const struct gd_method *m);
/* ex: people per pixel and exposed features for the zones' figures (NULL: none). */
struct gd_exposure_in;
int gd_summary_zones(gd_job *job, const gd_detect_params *p, const struct gd_grid *grid,
                     const unsigned char *classes, const struct gd_method *m, json_t *summary,
                     const struct gd_exposure_in *ex);

#ifdef __cplusplus
}
#endif
#endif
