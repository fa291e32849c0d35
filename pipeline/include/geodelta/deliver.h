/* deliver.h: the deliverables for GIS desks, Google Earth and print, written from a
 * finished run's outputs: QGIS/SLD styles, change.gpkg, change.kmz, stac-item.json,
 * report.html (pipeline/deliver/). */
#ifndef GEODELTA_DELIVER_H
#define GEODELTA_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "geodelta/job.h"
#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- styles (styles.c): each a malloc'd NUL-terminated document ----------------------- */
/* change.tif as a paletted raster: class colours and names */
char *gd_style_raster_qml(const gd_method *m);
char *gd_style_raster_sld(const gd_method *m, const char *layer);
/* change polygons categorised on "class" */
char *gd_style_classes_qml(const gd_method *m);
char *gd_style_classes_sld(const gd_method *m, const char *layer);
/* zones categorised on "alert" (green, yellow, amber, red outlines and light fills) */
char *gd_style_zones_qml(void);
char *gd_style_zones_sld(const char *layer);
/* one symbol for every feature: polygons (fill alpha 0 = outline only, dashed), lines or
 * points (kind 2, 1, 0) in colour rgb */
char *gd_style_single_qml(int kind, const uint8_t rgb[3], double fill_alpha, int dashed);
char *gd_style_single_sld(int kind, const uint8_t rgb[3], double fill_alpha, int dashed,
                          const char *layer);

/* Writes text to path atomically (tmp + fsync + rename). */
int gd_write_text_atomic(gd_job *job, const char *path, const char *text);

/* ---- change.gpkg (gpkg.c) --------------------------------------------------------- */
typedef struct gd_gpkg_layer {
    const char *name;       /* layer name in the GeoPackage */
    const char *src;        /* vector file whose first layer is copied; NULL: skip */
    char *qml, *sld;        /* its style (owned by the caller) */
} gd_gpkg_layer;

/* Copies each layer into a new GeoPackage at path (atomically) with its style as the
 * default in the layer_styles table QGIS reads. Timestamps are pinned
 * (OGR_CURRENT_DATE) so that the same inputs give the same bytes. extra (may be NULL) is
 * called with the open dataset to add layers of its own. */
int gd_gpkg_write(gd_job *job, const char *path, const gd_gpkg_layer *layers, size_t n,
                  int (*extra)(gd_job *job, void *ds, void *arg), void *arg);
/* Adds a style row for table to an open GeoPackage (GDALDatasetH ds). */
int gd_gpkg_add_style(gd_job *job, void *ds, const char *table, const char *geom_col,
                      const char *qml, const char *sld);

/* ---- map.pdf georeferencing (pdfgeo.c) ------------------------------------------- */
/* Appends to path (a PDF written by gd_render_pdf) the Geospatial PDF viewport of the
 * change panel fr showing the whole grid, as an incremental update (atomically). A grid
 * without CRS or an invalid frame leaves the file as it is. */
int gd_pdf_georeference(gd_job *job, const char *path, const gd_map_frame *fr,
                        const gd_grid *grid);

#ifdef __cplusplus
}
#endif
#endif
