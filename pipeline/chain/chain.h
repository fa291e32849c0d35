/* chain.h: the detect chain's state, shared by its files (chain.c: the stages in order;
 * outdir.c: the output folder; record.c: summary, score and manifest). Not used outside
 * pipeline/chain/. */
#ifndef GD_CHAIN_H
#define GD_CHAIN_H

#include "geodelta/detect.h"
#include "geodelta/discover.h"
#include "geodelta/engine.h"
#include "geodelta/method.h"
#include "geodelta/provenance.h"
#include "geodelta/stages.h"

#include <gdal.h>

typedef struct gd_chain {
    gd_job *job;
    const gd_detect_params *p;
    const gd_method *m;              /* the method, with its class table's names (nbr) */
    gd_method mt;                    /* storage for that copy */
    const gd_class_table *ctab;      /* nbr: the USGS severity classes; NULL: none */
    gd_method_run run;
    gd_threshold_req treq;
    int sensor;                      /* GD_SENSOR_* */
    double t0;
    char start[32];

    /* --stac: the discover stage's result and the parameters with its two inputs */
    gd_discover *disc;
    gd_detect_params pd;

    /* provenance */
    gd_hasher *hasher;
    gd_signer *signer;
    char *in_abs[2];
    gd_aux_inputs aux;               /* --dem, --permanent-water, masks, zones, overlay */
    char run_id[65];
    double hash_s, hash_wait;

    /* open, grid, co-register */
    gd_source *bs, *as;
    gd_grid *grid;
    GDALDatasetH bds, ads, ads_uncorrected;
    GDALDatasetH bfull, afull;       /* with --aoi: the dates on the grid, uncut */
    int bds_owned, ads_owned, bfull_owned, afull_owned;
    double coreg_px, coreg_field[6];
    GDALDatasetH mask_own[2][3];     /* cloud masks (mask.c) */
    gd_band bb[GD_METHOD_MAX_BANDS], ab[GD_METHOD_MAX_BANDS];

    /* score, threshold, decide, clean */
    gd_score score;
    double t;
    const char *tmode;
    uint8_t *classes;
    double mmu;
    int min_px;

    /* finish */
    gd_class_total totals[GD_MAX_CLASSES];
    uint64_t valid;                  /* pixels not nodata (255) in the classes */
    double valid_ha;                 /* their geodesic area; 0 on pixel grids */
    gd_map_image mb, ma;
    gd_map_spec spec;
    gd_engine_panels pan;            /* the map's panels made by the score pass */

    /* exposure (exposure.c): --population, --exposure */
    float *people;                   /* people per grid pixel; NULL: none */
    double people_on_grid, people_source_total;
    struct gd_exposure *expo;
    char aux_date[2][80];            /* population's and exposure's dates (credit line) */

    /* deliverables (deliver.c) turned off by --without: bits in deliverables[] order */
    unsigned deliver_off;
    gd_map_frame frame;              /* the change panel on map.pdf's page */
    char pdf_path[4096];             /* map.pdf's, for the map's options */
    gd_map_panels panels;            /* the map's panels as PNG, for report.html */
} gd_chain;

/* outdir.c */
int gd_chain_prepare_outdir(gd_job *job, const gd_output_opts *o);
/* The files a run may write, in manifest order. */
extern const char *const gd_chain_outputs[];
extern const size_t gd_chain_noutputs;

/* record.c */
char *gd_chain_abs_path(const char *p);
int gd_chain_write_score(gd_job *job, const gd_grid *grid, gd_score *s, const char *path);
int gd_chain_summary(gd_chain *c);
int gd_chain_manifest(gd_chain *c);

/* exposure.c */
void gd_chain_exposure_params(gd_chain *c);
int gd_chain_exposure(gd_chain *c);
void gd_chain_exposure_json(gd_chain *c, json_t *summary);
void gd_chain_exposure_free(gd_chain *c);

/* deliver.c */
int gd_chain_deliver_parse(gd_job *job, const char *with, const char *without, unsigned *off);
int gd_chain_deliver_on(const gd_chain *c, const char *name);
int gd_chain_deliver(gd_chain *c);

#endif
