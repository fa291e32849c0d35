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
 * (role names, VV/VH/HH/HV, band names read as a set: Sentinel-2, Landsat OLI or
 * TM/ETM+ numbering, see source.c name_family), then colour interpretation. *band = 1-based index or 0 when not found. GD_EUSAGE on a bad spec. */
int gd_source_find_role(gd_job *job, const gd_source *src, const char *label,
                        const char *spec, const char *role, int *band);

/* A band name's number: "B04", "B4", "SR_B4" -> 4, "B8A" -> 8 with *is_8a; 0 when name
 * is not a band name. *padded (written with a leading zero) and *sr (Landsat "SR_"
 * prefix) may be NULL. */
int gd_band_name_number(const char *name, int *is_8a, int *padded, int *sr);

/* ---- grid ------------------------------------------------------------------------- */
typedef struct gd_grid {
    int width, height;
    double gt[6];
    char *wkt;            /* NULL for a bare pixel grid */
    double *row_area_m2;  /* geodesic area of one pixel for each row; NULL on pixel grids */
    char *cutline;        /* AOI file: pixels outside its polygons are nodata for the
                             detection (gd_grid_cut); NULL: none */
} gd_grid;

/* A vector file's first layer to place on grid (grid/vlayer.c): its layer, the index of
 * field (-1 without one; a missing field is an error naming the fields there are), and
 * the transforms from the layer's CRS to the grid's and to WGS84 (a layer without CRS
 * is taken to be in the grid's, with a warning). what names the file in messages
 * ("zones file"). The grid needs a CRS. */
typedef struct gd_vlayer {
    GDALDatasetH ds;
    OGRLayerH layer;
    int field;
    OGRSpatialReferenceH lsrs, gsrs, wgs;
    OGRCoordinateTransformationH to_grid, to_wgs;
} gd_vlayer;
int gd_vlayer_open(gd_job *job, const char *path, const char *what, const gd_grid *grid,
                   const char *field, gd_vlayer **out);
void gd_vlayer_destroy(gd_vlayer *v);
/* A spatial reference from any GDAL/PROJ definition (NULL: WGS84), in traditional GIS
 * axis order (x = easting/longitude); NULL when it does not parse. */
OGRSpatialReferenceH gd_srs_new(const char *wkt_or_epsg4326);

/* The analysis grid: the before image's own grid. */
int gd_grid_from_source(gd_job *job, const gd_source *ref, gd_grid **out);
/* A grid of its own (--aoi, --t-srs, --res; NULL/0 = from the before image ref): CRS
 * t_srs (any PROJ/GDAL definition) or ref's; pixel size res (target CRS units) or
 * ref's own (same CRS) or GDAL's suggestion (reprojection); extent the AOI's (first
 * layer, all features) cut to ref's footprint, or ref's footprint. On ref's CRS and
 * pixel size the grid keeps ref's pixel lattice, so the before image is cropped, not
 * resampled; otherwise pixels are aligned on multiples of the pixel size. With an AOI
 * the grid's cutline is set. Records "grid" in the job's auto record. */
int gd_grid_build(gd_job *job, const gd_source *ref, const char *aoi, const char *t_srs,
                  double res, gd_grid **out);
void gd_grid_destroy(gd_grid *grid);
/* A dataset showing src on grid: src->ds itself when the grids already agree
 * (*owned = 0), else a warped VRT (*owned = 1, close with GDALClose). Disjoint
 * extents, CRS on one side only, or different sizes without CRS are input errors. */
int gd_grid_align(gd_job *job, const gd_grid *grid, const gd_source *src,
                  GDALDatasetH *out, int *owned);
/* Same with nearest-neighbour resampling in the source's data type (masks, classes). */
int gd_grid_align_nearest(gd_job *job, const gd_grid *grid, const gd_source *src,
                          GDALDatasetH *out, int *owned);
/* The grid's box (minx, miny, maxx, maxy) from its origin and far corner: gdalwarp's -te. */
void gd_grid_box(const gd_grid *grid, double b[4]);
/* A warped VRT of src on grid's extent and size (gdalwarp -of VRT -te -ts) with the
 * further gdalwarp options args (NULL-terminated: -t_srs, -r, -ot, -dstnodata...); NULL
 * with the CPL error set. Close it before src. */
GDALDatasetH gd_grid_warp(const gd_grid *grid, GDALDatasetH src, const char *const *args);
/* ds (on grid) with the pixels outside grid->cutline's polygons set to nodata (NaN,
 * Float32; a warped VRT holding a reference on ds: close it first). */
int gd_grid_cut(gd_job *job, const gd_grid *grid, GDALDatasetH ds, GDALDatasetH *out);
/* Total pixel area in m² of the pixels counted per row (counts[row]); -1 on pixel grids. */
double gd_grid_pixel_area(const gd_grid *grid, int row);

/* ---- methods: see geodelta/method.h (plug-ins under pipeline/methods/) ---------- */
/* Class values 0..GD_MAX_CLASSES-1 (0 = no change / unburned, 255 = nodata). */
#define GD_MAX_CLASSES 8

/* A fixed multi-break class table (e.g. the USGS dNBR burn-severity classes): a score s
 * gets values[k] where k = number of breaks <= s (breaks ascending, compared in float32),
 * so class k covers [breaks[k-1], breaks[k]). */
typedef struct gd_class_table {
    const char *name;             /* recorded as the threshold mode, e.g. "usgs" */
    int nbreaks;                  /* < GD_MAX_CLASSES */
    float breaks[GD_MAX_CLASSES - 1];
    uint8_t values[GD_MAX_CLASSES];
    const char *class_names[GD_MAX_CLASSES]; /* by class value; [0] names class 0 */
    unsigned char class_rgb[GD_MAX_CLASSES][3];
} gd_class_table;

typedef struct gd_method gd_method;
typedef struct gd_method_ops gd_method_ops;

/* What the stages after the decision (vectorize, COG, summary, map) know of a method:
 * its name and class table; the rest of a method lives in its ops (geodelta/method.h). */
struct gd_method {
    const char *name;
    const char *summary;
    const char *bands;           /* the bands it needs, for `geodelta methods` */
    const char *roles[2];        /* index methods: x, y of (x - y) / (x + y) */
    float sign;                  /* index methods: +1 after - before; -1 before - after */
    int two_sided;               /* classes 1 (score <= -t) and 2 (score >= t) */
    const char *class_names[GD_MAX_CLASSES]; /* index = class value; [0] unused */
    unsigned char class_rgb[GD_MAX_CLASSES][3];
    const gd_class_table *table; /* default multi-class table (nbr: USGS); NULL: none */
    const gd_method_ops *ops;    /* how it runs (geodelta/method.h) */
};

const gd_method *gd_method_find(const char *name);
const gd_method *gd_method_at(size_t i); /* NULL past the end */
/* *out = m with the class names and colours of table t (the chain classifies with t). */
void gd_method_with_table(const gd_method *m, const gd_class_table *t, gd_method *out);
/* The score interval [*lo, *hi) of class value c in t (-Inf/+Inf at the ends); -1 when
 * t has no such class. */
int gd_class_table_range(const gd_class_table *t, int c, double *lo, double *hi);

/* ---- detect ------------------------------------------------------------------------ */
typedef struct gd_band {
    GDALRasterBandH band;
    double scale, offset;
    int has_nodata;
    double nodata;
    const char *name;     /* file named in messages (a warped VRT has none of its own) */
    int db_to_linear;     /* values are decibels: 10^(v/10) after scale and offset */
    GDALRasterBandH mask; /* cloud mask on the same grid (NULL: none), read with the rows */
    int mask_kind;        /* GD_MASK_*: which mask values make a pixel nodata */
} gd_band;

enum { GD_MASK_NONE, GD_MASK_SCL, GD_MASK_QA_PIXEL, GD_MASK_NONZERO };
/* In place: buf[i] = NaN where mask[i] is masked by kind: SCL classes 3 (cloud shadow),
 * 8, 9 (cloud medium/high probability), 10 (thin cirrus); QA_PIXEL bits 1 (dilated
 * cloud), 3 (cloud), 4 (cloud shadow); NONZERO: any value but 0 and NaN. */
void gd_mask_apply(int kind, const float *mask, float *buf, size_t n);
/* GD_MASK_SCL or GD_MASK_QA_PIXEL for a band described "SCL" / "QA_PIXEL", else NONE. */
int gd_mask_band_kind(GDALRasterBandH band);

int gd_band_from(gd_job *job, GDALDatasetH ds, int index, gd_band *out);
/* Reads rows [y0, y0+rows) of a band as float32 values (gd_band_to_values). */
int gd_band_read(gd_job *job, const gd_band *b, int width, int y0, int rows, float *buf);
/* Rows of b's cloud mask (if any) applied to buf (values of those rows): masked -> NaN. */
int gd_band_read_mask(gd_job *job, const gd_band *b, int width, int y0, int rows, float *buf);
/* In place: nodata -> NaN, scale and offset applied, dB -> linear when db_to_linear,
 * +-Inf -> NaN. */
void gd_band_to_values(const gd_band *b, float *buf, size_t n);
/* The file a band's messages name. */
const char *gd_band_file(const gd_band *b);
/* Mean and standard deviation of the finite, non-nodata values (scale and offset
 * applied) on a decimated read of at most ~1 Mpx; *sd = NaN when there are none. */
int gd_band_finite_stats(gd_job *job, const gd_band *b, double *mean, double *sd);

typedef struct gd_score {
    float *data;          /* width * height, NaN = nodata; NULL when kept in file */
    int width, height;
    float min, max;       /* of finite values */
    size_t valid;         /* finite values */
    GDALDatasetH file;    /* temporary float32 GeoTIFF when the score exceeds --mem */
    char *file_path;      /* removed by gd_score_free; read with gd_score_rows */
    int strip_rows;       /* rows per strip of the engine (block height of file) */
} gd_score;

void gd_score_free(gd_score *s);
/* An empty in-memory score of w x h (min/max not yet seen); s->data is NULL when the
 * allocation failed (the caller reports it with its own context). */
void gd_score_alloc(gd_score *s, int w, int h);

/* SAR single-band change score (detect/sar.c): speckle filter of both dates, log-ratio,
 * then a mean over smooth_window (<= 1: none). Streams through the engine (strips with
 * a halo, every worker thread); the speckle level comes from a first pass. The score is
 * in memory when it fits --mem, else in its temporary file. */
typedef struct gd_sar_params {
    int speckle;          /* gd_speckle from gd_kernels.h */
    int speckle_window;   /* odd >= 3 */
    int smooth_window;    /* odd; <= 1: no smoothing of the log-ratio */
    int nr_window;        /* > 1: neighbourhood ratio (gd_k_nratio) of this window instead
                             of the log-ratio (then smoothed the same way) */
} gd_sar_params;
struct gd_engine_panels;
/* panels: the map's panels for the score pass to box-average (NULL: none) */
int gd_detect_sar(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                  const gd_band *before, const gd_band *after, float eps,
                  struct gd_engine_panels *panels, gd_score *out);
/* The speckle level (gd_k_speckle_cu2 of sp->speckle_window) of the before (cu2[0]) and
 * after (cu2[1]) images in one streamed pass, exactly the whole-image values (NaN where
 * no window qualifies). */
int gd_sar_speckle_levels(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                          const gd_band *before, const gd_band *after, float cu2[2]);
/* Spatial-contextual decision on the classes of an in-memory score thresholded at t: a
 * two-class homoscedastic Gaussian model from the threshold's split and a Potts MRF of
 * weight beta solved by ICM relabel change / no change in place (two-sided: class by the
 * score's sign). bias is added to the change energy (> 0: fewer changes). beta <= 0:
 * classes untouched. Records "mrf" in the job's auto record. */
int gd_sar_mrf(gd_job *job, double beta, double bias, const gd_score *s, double t, int two_sided,
               uint8_t *classes);
/* The SAR decision before the MRF (detect/sar.c), in place on the classes of gd_classify
 * at t: GD_SAR_THRESHOLD keeps them; GD_SAR_HYSTERESIS keeps the change of |score| >= t
 * (two-sided) and grows it over 8-connected pixels >= low * t; GD_SAR_FLICM replaces them
 * by FLICM fuzzy clustering started from the threshold's class means. Two-sided: the side
 * of a change pixel is its score's sign. Records "sar_decision" in the auto record. */
enum { GD_SAR_THRESHOLD = 0, GD_SAR_HYSTERESIS = 1, GD_SAR_FLICM = 2 };
int gd_sar_decide(gd_job *job, int decision, double low, const gd_score *s, double t,
                  int two_sided, uint8_t *classes);
/* PCA-kmeans (Celik 2009) of |score| in h x h blocks, streamed: the eigenvectors and a
 * k-means sample (every pixel up to 2^20, else a regular subsample) from walks over the
 * score's rows, then the engine replaces the score (on grid) with d(no-change centre) -
 * d(change centre), so change is >= 0. */
int gd_detect_pcakmeans(gd_job *job, const gd_grid *grid, int block, gd_score *score);
/* IR-MAD (Nielsen 2007) over nb band pairs: the re-weighting iterates on a regular
 * subsample (at most 250000 pixels with data, from sample passes on the engine), then the
 * score streams: the chi-square statistic of the standardised MAD variates (nb degrees of
 * freedom) after the re-weighting converged (or max_iter). Singular covariances are GD_EINPUT. */
int gd_detect_irmad(gd_job *job, const gd_grid *grid, const gd_band *before,
                    const gd_band *after, size_t nb, int max_iter, gd_score *out);
/* Chi-square with k degrees of freedom: survival function and upper-tail quantile. */
double gd_irmad_chi2_sf(int k, double x);
int gd_irmad_chi2_quantile(int k, double q, double *out);

/* ---- sensor profiles (source/sensor.c) ------------------------------------------- */
enum { GD_SENSOR_AUTO, GD_SENSOR_NONE, GD_SENSOR_S2L2A, GD_SENSOR_S2L1C,
       GD_SENSOR_LANDSAT_C2L2, GD_SENSOR_S1 };
/* --sensor name (auto none s2l2a s2l1c landsat-c2l2 s1) -> GD_SENSOR_*; -1 if unknown. */
int gd_sensor_parse(const char *name);
const char *gd_sensor_name(int profile);
/* The profile src's metadata or file name points to (never AUTO; NONE when nothing
 * does); why receives the key or name that decided. */
int gd_sensor_detect(const gd_source *src, char *why, size_t len);
/* Sets scale/offset of bands[0..nb) (bands idx[k] of src) by profile (AUTO: detected),
 * so that every reader sees reflectances; records profile, per-band scale, offset and
 * why in gd_job_auto(job)["sensor"][label]. s2_offset (--s2-offset, when has_s2_offset)
 * is used only where the metadata give no offset; an assumed or unknown Sentinel-2
 * offset is a warning. */
int gd_sensor_apply(gd_job *job, const gd_source *src, const char *label, int profile,
                    int has_s2_offset, double s2_offset, gd_band *bands, const int *idx,
                    size_t nb);
/* SAR (logratio, pcakmeans): sets band->db_to_linear when the band of src (index idx)
 * holds decibels: unit type or UNITS metadata "dB", else a median below 0 on a decimated
 * read (linear sigma0 is never negative). Recorded in auto.sensor[label].sar. */
int gd_sensor_sar_db(gd_job *job, const gd_source *src, const char *label, gd_band *band,
                     int idx);
/* The same for n (1 or 2) dates at once: the medians' decimated reads (a decode of each
 * whole file) run side by side on two threads when the job has them. The same results
 * and records as n calls of gd_sensor_sar_db. */
int gd_sensor_sar_db_n(gd_job *job, const gd_source *const *src, const char *const *label,
                       gd_band *const *band, const int *idx, size_t n);

/* Attaches the cloud mask of one date to bands[0..nb): file (--mask-before/after, any
 * value but 0 masks; any grid, nearest neighbour) or else the image's own band described
 * "SCL" or "QA_PIXEL". When the date was co-registered (coreg_field: the field applied,
 * gd_coreg_chain; NULL or all 0 when none) the mask is shifted with it (nearest
 * neighbour, onto coreg_ref's grid). Datasets to GDALClose after detection go to
 * owned[0..2], to be closed from the last (NULL when none). Counts the masked pixels
 * and records the mask in auto.sensor[label].mask. */
int gd_mask_attach(gd_job *job, const gd_grid *grid, const gd_source *src, const char *label,
                   const char *file, GDALDatasetH coreg_ref, const double *coreg_field,
                   gd_band *bands, size_t nb, GDALDatasetH owned[3]);

/* ---- threshold ------------------------------------------------------------------- */
/* Otsu on the score histogram (of |score| when two_sided). */
int gd_threshold_otsu(gd_job *job, const gd_score *s, int two_sided, double *t);
/* Kittler-Illingworth minimum-error threshold on the same histogram. */
int gd_threshold_ki(gd_job *job, const gd_score *s, int two_sided, double *t);

/* ---- classify and clean ---------------------------------------------------------- */
/* classes: width*height uint8, 0 no change, 1..2 classes, 255 nodata. */
int gd_classify(gd_job *job, const gd_score *s, double t, int two_sided, uint8_t **classes);
/* classes by the breaks of a class table (scalar kernel gd_k_classify_breaks). */
int gd_classify_table(gd_job *job, const gd_score *s, const gd_class_table *t,
                      uint8_t **classes);
/* Fixed class tables in the chain (severity/severity.c). For a method with a table
 * (nbr), the table is used unless --nbr-classes binary or a threshold is given; then
 * *m points to mt, m's copy with the table's names and colours. */
struct gd_decide_opts;
struct gd_input_opts;
struct gd_flood_opts;
int gd_severity_choose(gd_job *job, const struct gd_decide_opts *o, const gd_method **m,
                       gd_method *mt, const gd_class_table **table);
/* Records mode, breaks and class ranges as the run's automatic "threshold" entry. */
void gd_severity_record(gd_job *job, const gd_class_table *t);
/* Adds score_from / score_to (null at an open end) of class c to obj. */
void gd_severity_class_json(const gd_class_table *t, int c, json_t *obj);
/* The flood method (flood/flood.c). Bands: one SAR band (sar role, or band 1 of
 * single-band images) -> GD_FLOOD_SAR, nb 1; else green + swir1 (MNDWI) on both dates,
 * else green + nir (NDWI), nb 2, indices into bidx/aidx. */
enum { GD_FLOOD_MNDWI, GD_FLOOD_NDWI, GD_FLOOD_SAR };
int gd_flood_bands(gd_job *job, const struct gd_input_opts *in, const gd_source *bs,
                   const gd_source *as, int bidx[2], int aidx[2], size_t *nb, int *index);
/* Optical: score = index(after) - index(before); water[i] bit 0: index(before) > 0,
 * bit 1: index(after) > 0 (malloc'd, the caller frees). */
int gd_flood_optical(gd_job *job, const gd_grid *grid, const gd_band *before,
                     const gd_band *after, gd_score *out, uint8_t **water);
/* Optical: Otsu/KI on the score (one-sided) or fixed; SAR: t = -ln 1.25 on the
 * log-ratio (UN-SPIDER), or -ln K for -t K (K > 1). */
int gd_flood_threshold(gd_job *job, const gd_score *s, int index, double fixed, int ki,
                       double *t, const char **mode);
/* Classes: optical 2 permanent water (water both dates), 1 new water (water after only
 * and score >= t), else 0; SAR (index GD_FLOOD_SAR): 2 where water == 3 (low backscatter
 * on both dates, water may be NULL), else 1 where log-ratio < t; NaN -> 255. */
int gd_flood_classify(gd_job *job, const gd_score *s, const uint8_t *water, int index,
                      double t, uint8_t **classes);
/* SAR: water on each date = speckle-filtered backscatter in dB below one threshold,
 * Kittler-Illingworth on the before date's dB histogram (auto.sar_water); water[i] bit 0 before, bit 1 after, as
 * gd_flood_optical (malloc'd). Reads and filters both dates again (as gd_detect_sar). */
int gd_flood_sar_water(gd_job *job, const gd_sar_params *sp, const gd_grid *grid,
                       const gd_band *before, const gd_band *after, float eps, uint8_t **water);
/* --dem slope mask and --permanent-water mask on the grid (flood/masks.c). */
typedef struct gd_flood_aux gd_flood_aux;
/* Loads what p asks for (*out stays NULL when neither option is given): the DEM's slope
 * in degrees (gdaldem on the grid when projected, on a local transverse Mercator when
 * geographic) and the permanent-water raster or vector, both on the grid. A DEM that
 * covers no pixel of the grid is GD_EINPUT. */
int gd_flood_aux_load(gd_job *job, const struct gd_flood_opts *o, const gd_grid *grid,
                      gd_flood_aux **out);
/* Applies the masks to the classes (gd_flood_mask_classes) and records the counts in
 * auto.flood_masks. NULL a is a no-op. */
int gd_flood_aux_apply(gd_job *job, const gd_flood_aux *a, uint8_t *classes, size_t n);
void gd_flood_aux_destroy(gd_flood_aux *a);
typedef struct gd_flood_mask_counts {
    uint64_t steep_excluded;        /* new water (1) set to 0: slope >= the maximum */
    uint64_t no_dem;                /* valid pixels without a slope (DEM nodata/extent) */
    uint64_t permanent;             /* valid pixels set to 2 by the permanent-water mask */
    uint64_t new_water_to_permanent; /* of which were new water */
} gd_flood_mask_counts;
/* Pure rule: steep[i] == 1 turns class 1 into 0 (steep terrain is radar shadow or
 * layover, not flood); perm[i] != 0 makes any valid class 2; 255 (nodata) stays; steep
 * or perm may be NULL. */
void gd_flood_mask_classes(uint8_t *classes, const uint8_t *steep, const uint8_t *perm,
                           size_t n, gd_flood_mask_counts *c);
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
    int has_people;   /* --population given: */
    double people;    /* people in the class's pixels */
} gd_class_total;

/* 1 when every one of the n classes is below limit (no nodata 255 when limit <= 255). */
int gd_class_all_below(const uint8_t *classes, size_t n, unsigned limit);
/* A mask of the class raster on the engine's pool: 1 where lo <= class <= hi, else 0
 * (the caller frees it). */
int gd_class_mask(gd_job *job, const gd_grid *grid, const uint8_t *classes, uint8_t lo,
                  uint8_t hi, uint8_t **mask);
/* Per-class pixels and geodesic area (NaN on pixel grids) of classes 1..GD_MAX_CLASSES-1
 * (0 for class 0), and the valid (not 255) pixels and their area, counted on the
 * engine's pool and added up in row order; polygons and people are left as they are. */
int gd_class_totals(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                    gd_class_total totals[GD_MAX_CLASSES], uint64_t *valid, double *valid_ha);
/* Polygons of classes 1..GD_MAX_CLASSES-1 with class, class_name, area_ha (geodesic) and
 * mean_score (and people, when people per pixel is given; NULL: no such property),
 * written as RFC 7946 GeoJSON (atomically). totals[c].polygons receives the polygons of
 * each class (the other figures are gd_class_totals's and stay as they are: the map may
 * read them at the same time). */
int gd_vectorize(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                 const gd_score *score, const gd_method *m, const float *people,
                 const char *path, gd_class_total totals[GD_MAX_CLASSES]);

/* ---- render ---------------------------------------------------------------------- */
enum { GD_MAP_TRIPTYCH = 0, GD_MAP_SINGLE = 1 };              /* gd_map_spec.layout */
enum { GD_MAP_TRUE_COLOUR = 0, GD_MAP_FALSE_COLOUR = 1 };     /* gd_map_spec.bands */

typedef struct gd_map_spec {
    const char *title;        /* NULL: "Change detection" */
    const char *area;         /* area name for the subtitle; NULL: none */
    const char *date_before, *date_after; /* "" or NULL when unknown */
    const char *sensor;       /* NULL: from the images' metadata when present */
    const char *before_path, *after_path; /* the data source line names their files */
    const char *credit;       /* data credit, also the PNG Author; NULL: none */
    const char *caveat;       /* NULL: the default caveat */
    const char *note;         /* the method's note after the caveat (e.g. which rule a
                                 SAR flood map used); NULL: none */
    const char *run_id;       /* digest of inputs and parameters; NULL: not printed */
    double threshold;         /* printed in the footer */
    const char *threshold_mode;
    int layout;               /* GD_MAP_TRIPTYCH or GD_MAP_SINGLE */
    int width;                /* whole map in pixels; 0: A4 landscape width at dpi */
    double dpi;               /* pHYs chunk and default width; 0: 300 */
    double stretch_lo, stretch_hi; /* percentiles of the contrast stretch (2, 98) */
    int compression;          /* zlib level 0..9 of the PNG (default 2: fast) */
    const char *zones;        /* vector file of zones drawn with labels; NULL: none */
    const char *zone_field;   /* label attribute; NULL: the first string field */
    const char *aoi;          /* vector file drawn as the AOI outline; NULL: none */
    const char *population;   /* population raster named on the data line; NULL: none */
    const char *exposure;     /* exposure features named on the data line; NULL: none */
    const char *population_date, *exposure_date; /* their dates (gd_aux_date); NULL: none */
    /* the print map as vector PDF (Cairo's PDF surface, same layout, text as text) */
    const char *pdf_path;     /* NULL: no PDF */
    int pdf_a3;               /* A3 landscape instead of A4 */
    struct gd_map_frame *frame; /* out (may be NULL): where the change panel lies */
    struct gd_map_panels *panels; /* out (may be NULL): the panels as PNG, for report.html */
} gd_map_spec;

/* The map's panels as PNG files in memory: before, after, change (triptych) or only the
 * change (single layout); free with gd_map_panels_free. */
typedef struct gd_map_panels {
    unsigned char *png[3];
    size_t len[3];
} gd_map_panels;
void gd_map_panels_free(gd_map_panels *p);

/* Where the change panel lies on the PDF page (points from the top left) and the
 * grid window it shows, for the Geospatial PDF georeferencing. */
typedef struct gd_map_frame {
    int valid;
    double page_w, page_h;    /* page size in points */
    double x, y, w, h;        /* change panel on the page, points, y down */
} gd_map_frame;

/* Defaults: triptych, A4 at 300 dpi, 2-98 % stretch, compression 2, nothing else. */
void gd_map_spec_init(gd_map_spec *spec);

/* One date's imagery for the map: ds on the analysis grid, bands[3] 1-based (bands[1]
 * == 0: grey from bands[0]); db: grey shown in decibels (SAR). */
typedef struct gd_map_image {
    GDALDatasetH ds;
    int bands[3];
    int db;
    char names[96];           /* "true colour (B04 B03 B02)", for the imagery line */
    /* the panel made by the score pass (gd_engine_panels: box averages of bands[], raw
     * values, NaN = no data) when its size is the map's; NULL: read from ds */
    const float *panel[3];
    int panel_w, panel_h;
} gd_map_image;

/* Picks the display bands of src (roles as in gd_source_find_role with spec): true
 * colour (red green blue) or false colour (nir red green), grey from fallback_band when
 * the roles are missing; sar: grey in dB. out->ds = src->ds (the caller replaces it by
 * the aligned dataset for the after date). */
int gd_map_pick_bands(gd_job *job, const gd_source *src, const char *label, const char *spec,
                      int mode, int sar, int fallback_band, gd_map_image *out);

/* The map: before | after | change panels (or the after image with the change on it),
 * title, subtitle, legend with hectares, scale bar, north arrow, graticule labels,
 * projection, source, credit, caveat, footer; Cairo, then libpng (atomically). before
 * may be NULL for the single layout. */
/* The map drawn on a Cairo recording surface (W x H map pixels) as a PDF page of A4 or
 * A3 landscape, scaled to fit; written atomically (render/pdf.c). */
int gd_render_pdf(gd_job *job, void *recording, int W, int H, const gd_map_spec *spec,
                  const char *title, const char *subject, const double panel[4]);

/* The size in pixels of the map's image panels for spec on grid (triptych: three panels,
 * else one), never more than the grid's: what gd_render_map reads or takes from
 * gd_map_image.panel. */
void gd_map_panel_size(const gd_map_spec *spec, const gd_grid *grid, int triptych, int *w,
                       int *h);

int gd_render_map(gd_job *job, const gd_grid *grid, const gd_map_image *before,
                  const gd_map_image *after, const uint8_t *classes, const gd_method *m,
                  const gd_class_total totals[GD_MAX_CLASSES], const gd_map_spec *spec,
                  const char *path);

/* map.png's cartographic furniture for another map of grid (the monitor's alert_map.png),
 * drawn by the same code: on the Cairo context cr (a cairo_t *; void * keeps Cairo out of
 * this header), around the grid drawn at (x, y) with size w x h page pixels, graticule
 * ticks on its frame with lon labels below it and lat labels on both sides (leave about
 * 14 u of room there), a scale bar inside its bottom left corner and a north arrow inside
 * its top right one. u: the unit of every length (map.png: a thousandth of the page
 * width; its labels are 7 u high). GD_EINPUT, nothing drawn, when the grid has no CRS. */
int gd_map_furniture(void *cr, const gd_grid *grid, double x, double y, double w, double h,
                     double u);

/* The options that shape the map, for the manifest's parameters (and so the run id):
 * layout, width, dpi, stretch, title, area, credit, caveat, overlays. New reference. */
json_t *gd_map_spec_json(const gd_map_spec *spec);

/* Releases Cairo's and fontconfig's process-wide font caches; call once at exit (after
 * the last map) so that leak checkers see only real leaks. */
void gd_render_cleanup(void);

/* Cartographic helpers (exposed for tests). Grid pixel coordinates (x, y) are in the
 * grid's pixel/line space. All return GD_EINPUT on grids without CRS. */
/* Angle of true north at (x, y), radians clockwise from "up" in the image. */
int gd_map_north_angle(const gd_grid *grid, double x, double y, double *angle);
/* Geodesic ground length in metres of one grid pixel step along the row at (x, y). */
int gd_map_metres_per_pixel(const gd_grid *grid, double x, double y, double *metres);
/* The largest 1, 2 or 5 x 10^k not above max_len (max_len > 0). */
double gd_map_round_length(double max_len);

#ifdef __cplusplus
}
#endif
#endif
