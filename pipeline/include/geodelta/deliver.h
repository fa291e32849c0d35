/* deliver.h: the deliverables for GIS desks, Google Earth and print, written from a
 * finished run's outputs: QGIS/SLD styles, change.gpkg, change.kmz, stac-item.json,
 * report.html (pipeline/deliver/). */
#ifndef GEODELTA_DELIVER_H
#define GEODELTA_DELIVER_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "geodelta/job.h"
#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* s escaped for XML/HTML text and attribute values (&lt; &gt; &amp; &quot; &apos;) */
void gd_xml_text(FILE *f, const char *s);

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
/* The same with the timestamp given (YYYY-MM-DDTHH:MM:SS.sssZ; NULL: 2000-01-01): a
 * GeoPackage rebuilt from data of a date says that date in gpkg_contents.last_change. */
int gd_gpkg_write_dated(gd_job *job, const char *path, const gd_gpkg_layer *layers, size_t n,
                        int (*extra)(gd_job *job, void *ds, void *arg), void *arg,
                        const char *date);
/* Adds a style row for table to an open GeoPackage (GDALDatasetH ds). */
int gd_gpkg_add_style(gd_job *job, void *ds, const char *table, const char *geom_col,
                      const char *qml, const char *sld);

/* ---- map.pdf georeferencing (pdfgeo.c) ------------------------------------------- */
/* Appends to path (a PDF written by gd_render_pdf) the Geospatial PDF viewport of the
 * change panel fr showing the whole grid, as an incremental update (atomically). A grid
 * without CRS or an invalid frame leaves the file as it is. */
int gd_pdf_georeference(gd_job *job, const char *path, const gd_map_frame *fr,
                        const gd_grid *grid);

/* ---- what stac.c, kmz.c and report.c need of a finished run ---------------------- */
typedef struct gd_deliver_run {
    const char *outdir;
    const char *run_id;
    const gd_method *m;
    const gd_grid *grid;
    const gd_class_total *totals;      /* GD_MAX_CLASSES entries */
    const uint8_t *classes;            /* the class raster on the grid */
    const char *before, *after;        /* input paths (absolute) */
    const char *before_sha256, *after_sha256;
    const char *date_before, *date_after; /* "YYYY-MM-DD" or "" */
    const char *summary_path;          /* summary.json */
    const char *const *outputs;        /* file names in outdir, in manifest order */
    size_t noutputs;
    double threshold;                  /* NaN: class table */
    const char *threshold_mode;
    const char *error_rate_json;       /* the manifest's known_error_rate as JSON text */
    const unsigned char *panel_png[3]; /* before, after, change panels (PNG); may be NULL */
    size_t panel_len[3];
} gd_deliver_run;

/* stac-item.json: a STAC 1.0.0 Item of the outputs present in outdir (assets with roles
 * and file:checksum as a SHA2-256 multihash, the processing extension, derived_from
 * links to the two images, start/end datetimes). */
int gd_stac_item_write(gd_job *job, const gd_deliver_run *r, const char *path);
/* change.kmz: the change polygons styled by class with their figures in the balloon,
 * and the change overlay (gd_deliver_overlay_png) as a gx:LatLonQuad image; a stored
 * zip with pinned times. */
int gd_kmz_write(gd_job *job, const gd_deliver_run *r, const char *path,
                 const unsigned char *overlay, size_t overlay_len);
/* report.html: one self-contained offline page (before/after swipe, change overlay
 * toggle, legend with hectares and people, method, inputs and outputs with hashes). */
int gd_report_write(gd_job *job, const gd_deliver_run *r, const char *path,
                    const unsigned char *overlay, size_t overlay_len);
/* The change classes as an RGBA PNG (at most 1024 px on the long side; change classes
 * in their colours, the rest transparent), malloc'd; NULL with the job's error set. */
unsigned char *gd_deliver_overlay_png(gd_job *job, const gd_deliver_run *r, size_t *len);

/* The grid's corners in lon/lat, counter-clockwise from the top left (top left, bottom
 * left, bottom right, top right, top left again) and its lon/lat box; 0 without a CRS. */
int gd_deliver_footprint(const gd_grid *g, double lon[5], double lat[5], double bbox[4]);

/* ---- small shared helpers (zip.c) ---- */
uint32_t gd_crc32(const unsigned char *p, size_t n);
typedef struct gd_zip_entry {
    const char *name;
    const unsigned char *data;
    size_t len;
} gd_zip_entry;
/* A zip of stored (uncompressed) entries with a pinned time, written atomically. */
int gd_zip_write(gd_job *job, const char *path, const gd_zip_entry *e, size_t n);
/* base64 of n bytes (malloc'd). */
char *gd_base64(const unsigned char *p, size_t n);
/* The whole file (malloc'd, NUL-terminated); NULL when unreadable. */
unsigned char *gd_read_file(const char *path, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
