/* stages.h: the stages of the detect chain; each takes the job and returns a status. */
#ifndef GEODELTA_STAGES_H
#define GEODELTA_STAGES_H

#include <gdal.h>
#include <stddef.h>
#include <stdint.h>

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- source ---------------------------------------------------------------------- */
typedef struct gd_source {
    char *path;
    GDALDatasetH ds;
    int width, height, nbands;
    int has_crs;     /* a spatial reference is set */
    int has_gt;      /* a geotransform is set */
    double gt[6];
    char *wkt;       /* NULL without CRS */
    char date[32];   /* acquisition date from metadata, "" when unknown */
    char driver[32];
} gd_source;

/* Opens a raster for reading; label ("before"/"after") names it in messages. */
int gd_source_open(gd_job *job, const char *path, const char *label, gd_source **out);
void gd_source_destroy(gd_source *src);

/* Band roles: red green blue nir swir1 swir2 sar. Looks the role up in spec
 * ("red=3,nir=4", short keys r g b n s1 s2 also accepted), then in band descriptions
 * (Sentinel-2 names B02 B03 B04 B08 B8A B11 B12, role names, VV/VH), then colour
 * interpretation. *band = 1-based index or 0 when not found. GD_EUSAGE on a bad spec. */
int gd_source_find_role(gd_job *job, const gd_source *src, const char *label,
                        const char *spec, const char *role, int *band);

/* ---- grid ------------------------------------------------------------------------- */
typedef struct gd_grid {
    int width, height;
    double gt[6];
    char *wkt;            /* NULL for a bare pixel grid */
    double *row_area_m2;  /* geodesic area of one pixel for each row; NULL on pixel grids */
} gd_grid;

/* The analysis grid: the before image's own grid. */
int gd_grid_from_source(gd_job *job, const gd_source *ref, gd_grid **out);
void gd_grid_destroy(gd_grid *grid);
/* A dataset showing src on grid: src->ds itself when the grids already agree
 * (*owned = 0), else a warped VRT (*owned = 1, close with GDALClose). Disjoint
 * extents, CRS on one side only, or different sizes without CRS are input errors. */
int gd_grid_align(gd_job *job, const gd_grid *grid, const gd_source *src,
                  GDALDatasetH *out, int *owned);
/* Total pixel area in m² of the pixels counted per row (counts[row]); -1 on pixel grids. */
double gd_grid_pixel_area(const gd_grid *grid, int row);

/* ---- methods ---------------------------------------------------------------------- */
enum { GD_KIND_NDIFF, GD_KIND_LOGRATIO, GD_KIND_CVA };

typedef struct gd_method {
    const char *name;
    const char *summary;
    int kind;
    const char *roles[2];        /* x, y of (x - y) / (x + y); roles[0] for logratio */
    float sign;                  /* +1: after - before; -1: before - after */
    int two_sided;               /* classes 1 (score <= -t) and 2 (score >= t) */
    const char *class_names[3];  /* index = class value; [0] unused */
    unsigned char class_rgb[3][3];
} gd_method;

const gd_method *gd_method_find(const char *name);
const gd_method *gd_method_at(size_t i); /* NULL past the end */

/* ---- detect ------------------------------------------------------------------------ */
typedef struct gd_band {
    GDALRasterBandH band;
    double scale, offset;
    int has_nodata;
    double nodata;
    const char *name;     /* file named in messages (a warped VRT has none of its own) */
} gd_band;

int gd_band_from(gd_job *job, GDALDatasetH ds, int index, gd_band *out);
/* Mean and standard deviation of the finite, non-nodata values (scale and offset
 * applied) on a decimated read of at most ~1 Mpx; *sd = NaN when there are none. */
int gd_band_finite_stats(gd_job *job, const gd_band *b, double *mean, double *sd);

typedef struct gd_score {
    float *data;          /* width * height, NaN = nodata */
    int width, height;
    float min, max;       /* of finite values */
    size_t valid;         /* finite values */
} gd_score;

/* Computes the change score of method over the grid from nb bands per date. */
int gd_detect_score(gd_job *job, const gd_method *m, const gd_grid *grid,
                    const gd_band *before, const gd_band *after, size_t nb,
                    const float *weights, float logratio_eps, gd_score *out);
void gd_score_free(gd_score *s);

/* ---- threshold ------------------------------------------------------------------- */
/* Otsu on the score histogram (of |score| when two_sided). */
int gd_threshold_otsu(gd_job *job, const gd_score *s, int two_sided, double *t);

/* ---- classify and clean ---------------------------------------------------------- */
/* classes: width*height uint8, 0 no change, 1..2 classes, 255 nodata. */
int gd_classify(gd_job *job, const gd_score *s, double t, int two_sided, uint8_t **classes);
/* Minimum mapping unit with GDALSieveFilter (4-connected); min_pixels <= 1 is a no-op. */
int gd_clean_sieve(gd_job *job, const gd_grid *grid, uint8_t *classes, int min_pixels);
/* Wraps a buffer as a one-band MEM dataset on the grid (no copy). */
int gd_mem_dataset(gd_job *job, const gd_grid *grid, void *data, GDALDataType type,
                   GDALDatasetH *out);
/* Writes the class raster as a Cloud Optimized GeoTIFF (atomically). */
int gd_write_change_cog(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                        const gd_method *m, double threshold, const char *path);

/* ---- vectorize ------------------------------------------------------------------- */
typedef struct gd_class_total {
    uint64_t pixels;
    double area_ha;   /* NaN on pixel grids */
    uint64_t polygons;
} gd_class_total;

/* Polygons of classes 1..2 with class, class_name, area_ha (geodesic) and mean_score,
 * written as RFC 7946 GeoJSON (atomically). totals[3] receives per-class figures. */
int gd_vectorize(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                 const gd_score *score, const gd_method *m, const char *path,
                 gd_class_total totals[3]);

/* ---- render ---------------------------------------------------------------------- */
typedef struct gd_map_spec {
    const char *title;
    const char *subtitle;
    const char *credit;
    int width;            /* of the image panel in pixels */
} gd_map_spec;

/* The after image (rgb[3] band indices, or rgb[0] only for grey) with the change
 * overlaid, a title and a legend; drawn with Cairo, written with libpng. */
int gd_render_map(gd_job *job, const gd_grid *grid, GDALDatasetH display, const int rgb[3],
                  const uint8_t *classes, const gd_method *m, const gd_class_total totals[3],
                  const gd_map_spec *spec, const char *path);

#ifdef __cplusplus
}
#endif
#endif
