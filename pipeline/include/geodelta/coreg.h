/* coreg.h: co-registration of the target (after) image onto the reference grid. */
#ifndef GEODELTA_COREG_H
#define GEODELTA_COREG_H

#include <gdal.h>
#include <stddef.h>

#include "geodelta/detect.h"
#include "geodelta/job.h"
#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { GD_COREG_NONE = 0, GD_COREG_GLOBAL = 1, GD_COREG_LOCAL = 2 };

typedef struct gd_coreg_params {
    int mode;               /* GD_COREG_GLOBAL or GD_COREG_LOCAL */
    int ref_band, tgt_band; /* 1-based */
    int window;             /* global window side in px (default 512) */
    int local_window;       /* tie-point window side (default 256) */
    int grid;               /* tie-point spacing in px (default 256) */
    double min_reliability; /* % below which a global shift / a tie point is refused */
    int upsample;           /* sub-pixel precision 1/upsample px (default 100) */
    int has_at;             /* global window centred at (at_x, at_y), map coordinates */
    double at_x, at_y;
} gd_coreg_params;

typedef struct gd_coreg_point {
    double x, y;          /* window centre, reference pixel coordinates */
    double dx, dy;        /* displacement of the target's content there, px */
    double reliability;   /* % */
    int used;             /* kept by the outlier rejection */
} gd_coreg_point;

/* Shifts are displacements of the target's content relative to the reference: a
 * feature at reference pixel (x, y) shows at target pixel (x + dx, y + dy). The
 * correction samples the target there. */
typedef struct gd_coreg_result {
    int mode;
    int window;                /* global: window side; local: tie-point window */
    double cx, cy;             /* global: window centre, reference px */
    double dx, dy;             /* global shift, or the affine field at the image centre */
    double dx_map, dy_map;     /* the same in map units (px on grids without CRS) */
    double reliability, peak;  /* global: of the window; local: median of the kept points */
    /* displacement field d(x, y) = (a[0] + a[1] x + a[2] y, a[3] + a[4] x + a[5] y) */
    double affine[6];
    gd_coreg_point *points;    /* local mode */
    size_t npoints, nused;
    double rmse_px;            /* local: RMS residual of the kept points to the fit */
    double seconds;
    int read_failed;           /* the error was a read error of an input (not skipped) */
} gd_coreg_result;

void gd_coreg_params_init(gd_coreg_params *p);

/* Estimates the shift of tgt (already on ref's grid, same size) relative to ref.
 * Global: the best textured, valid window among candidates; GD_EINPUT below
 * min_reliability. Local: a grid of tie points, outliers rejected, affine fit. */
int gd_coreg_estimate(gd_job *job, GDALDatasetH ref, GDALDatasetH tgt,
                      const gd_coreg_params *p, gd_coreg_result *out);
void gd_coreg_result_free(gd_coreg_result *r);
/* JSON record of a result; with_points adds every tie point. */
json_t *gd_coreg_result_json(const gd_coreg_result *r, int with_points);

/* A warped VRT of tgt (on ref's grid) with the displacement removed by GDAL's warper
 * (cubic, Float32, NaN nodata), on the same grid. The VRT holds a reference on tgt:
 * close it before tgt. */
int gd_coreg_apply(gd_job *job, GDALDatasetH ref, GDALDatasetH tgt, const gd_coreg_result *r,
                   GDALDatasetH *out);
/* The same for a displacement field d(x, y) (gd_coreg_result.affine); nearest != 0
 * resamples by nearest neighbour (class bands: cloud masks) instead of cubic. */
int gd_coreg_apply_field(gd_job *job, GDALDatasetH ref, GDALDatasetH tgt, const double affine[6],
                         int nearest, GDALDatasetH *out);

/* Detect-chain hook, right after the after image is aligned (bds: the before image on
 * the grid, the reference; ads: the after one): o->mode is "none",
 * "global", "local" or NULL (default: global for optical inputs on georeferenced
 * grids, none when sar says the input is SAR backscatter and on bare pixel grids). Matches
 * band bands[0] of before with band bands[1] of after, records the outcome under "coreg"
 * in the job's auto record and
 * replaces *ads (taking over its ownership when *owned) by the corrected VRT. When no
 * reliable shift is found, a warning says so and *ads is left as it is; a shift below
 * GD_COREG_MIN_APPLY_PX everywhere is recorded but not applied (a resampling for nothing).
 * *applied_px (may be NULL) receives the largest displacement applied, 0 when none, and
 * applied_field (may be NULL) the field applied (all 0 when none), for the cloud mask. */
#define GD_COREG_MIN_APPLY_PX 0.05
int gd_coreg_chain(gd_job *job, const gd_coreg_opts *o, int sar, const int bands[2],
                   const gd_source *bs, GDALDatasetH bds, GDALDatasetH *ads,
                   int *owned, double *applied_px, double applied_field[6]);

#ifdef __cplusplus
}
#endif
#endif
