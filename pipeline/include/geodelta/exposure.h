/* exposure.h: who and what the change reaches: people from a population raster and
 * features (buildings, health sites...) from a vector file, per change class. */
#ifndef GEODELTA_EXPOSURE_H
#define GEODELTA_EXPOSURE_H

#include <stddef.h>
#include <stdint.h>

#include "geodelta/job.h"
#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- population (population.c) ----------------------------------------------------- */
/* People per pixel of the analysis grid from a raster of people per pixel in any grid
 * and CRS. Count-preserving both ways: the population becomes a density (people per m²
 * of each source cell's geodesic area), is warped onto the grid with GDAL's area-weighted
 * "average" resampling (fractional cell overlaps), and is multiplied by each grid pixel's
 * geodesic area. Nodata and everything outside the raster count as no people.
 * *people: width*height floats (free()); *source_total: the people of the source
 * cells the grid's bounding box reaches (for the log's preservation check). */
int gd_population_on_grid(gd_job *job, const gd_grid *grid, const char *path, float **people,
                          double *source_total);

/* "≈ 12 400 people": three significant figures, thousands apart by a space (UTF-8). */
void gd_people_text(double people, char *buf, size_t len);

/* ---- exposed features (features.c) -------------------------------------------------- */
typedef struct gd_exposed_feature {
    int64_t fid;
    char *id;                       /* --exposure-field's value, else the FID as text */
    double lon, lat;                /* a point on the feature (WGS84), to place it in a zone */
    uint8_t hit[GD_MAX_CLASSES];    /* 1: intersects change class k */
    double area_ha[GD_MAX_CLASSES]; /* polygons: geodesic area inside class k; else 0 */
} gd_exposed_feature;

typedef struct gd_exposure {
    char *path, *field, *layer;
    int polygons;                   /* the layer holds polygons (areas are meaningful) */
    size_t nfeatures;               /* features read (on the grid or not) */
    size_t n;                       /* features intersecting at least one change class */
    gd_exposed_feature *f;
} gd_exposure;

/* Reads every feature of the first layer of path, places it on the grid and records the
 * change classes (1..GD_MAX_CLASSES-1) it intersects: polygons by area (exact on the
 * pixels their boundary crosses, whole pixels inside), lines by every pixel they touch,
 * points by the pixel they fall in. field names the id column (NULL: the FID). */
int gd_exposure_compute(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                        const char *path, const char *field, gd_exposure **out);
void gd_exposure_destroy(gd_exposure *e);
/* Affected features as CSV: id,fid,class,class_name,area_ha,lon,lat (one row per
 * feature and class it intersects), written atomically. */
int gd_exposure_write_csv(gd_job *job, const gd_exposure *e, const gd_method *m,
                          const char *path);

/* What the summariser needs besides the classes; any member may be NULL. */
typedef struct gd_exposure_in {
    const float *people;            /* people per grid pixel (--population) */
    const char *population_path;
    double population_source_total;
    const gd_exposure *features;    /* --exposure */
} gd_exposure_in;

#ifdef __cplusplus
}
#endif
#endif
