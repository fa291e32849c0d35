/* detect_options.c: the option table of `geodelta detect`, the one declaration of every
 * detect option (CLI parsing, --help, batch files, docs/cli.md). The defaults stated here
 * are those the methods resolve (pipeline/methods/: logratio.c, pcakmeans.c, flood.c
 * gd_sar_defaults, sar.c, urban.c; pipeline/chain/); tests/e2e/options.sh runs the
 * methods with their defaults and checks these against the manifest. */
#include "geodelta/options.h"
#include "stac_options.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(field) offsetof(gd_detect_options, field)
#define P(field) offsetof(gd_detect_options, p.field)
#define NOGIVEN .off_given = GD_OPT_NOFIELD

static const char G_REQ[] = "Required";
static const char G_GRID[] = "Grid";
static const char G_DET[] = "Detection";
static const char G_SAR[] = "SAR (logratio, pcakmeans, SAR flood)";
static const char G_FLOOD[] = "Flood";
static const char G_MAP[] = "Map";
static const char G_OUT[] = "Zones, alerts, outputs and the run";
static const char G_STAC[] = "Search (STAC API; --before and --after are then date windows "
                             "START[/END])";

static const gd_opt_choice thresholds[] = {{"auto", 0, 0}, {"otsu", 0, 0}, {"ki", 0, 0}, {NULL, 0, 0}};
static const gd_opt_choice pdf_sizes[] = {{"a4", 0, 0}, {"a3", 1, 0}, {NULL, 0, 0}};
static const gd_opt_choice coregs[] = {{"none", 0, 0}, {"global", 0, 0}, {"local", 0, 0}, {NULL, 0, 0}};
static const gd_opt_choice speckles[] = {{"refined-lee", 0, 0}, {"lee", 0, 0}, {"gamma-map", 0, 0},
                                         {"none", 0, 0}, {NULL, 0, 0}};
static const gd_opt_choice sar_scores[] = {{"ratio", 0, 0}, {"nr", 0, 0}, {NULL, 0, 0}};
static const gd_opt_choice sar_decisions[] = {{"threshold", 0, 0}, {"hysteresis", 0, 0},
                                              {"flicm", 0, 0}, {NULL, 0, 0}};
static const gd_opt_choice flood_rules[] = {{"adaptive", 0, 0}, {"ratio", 0, 0}, {NULL, 0, 0}};
static const gd_opt_choice nbr_classes[] = {{"usgs", 0, 0}, {"binary", 0, 0}, {NULL, 0, 0}};
/* the names of gd_sensor_parse (pipeline/source/sensor.c; unit.options checks them) */
static const gd_opt_choice sensors[] = {{"auto", 0, 0}, {"none", 0, 0}, {"s2l2a", 0, 0},
                                        {"s2l1c", 0, 0}, {"landsat-c2l2", 0, 0}, {"s1", 0, 0},
                                        {NULL, 0, 0}};
static const gd_opt_choice layouts[] = {{"triptych", 0, 0}, {"single", 1, 0}, {NULL, 0, 0}};
static const gd_opt_choice map_bands[] = {{"true-colour", 0, 0}, {"false-colour", 1, 0},
                                          {"true-color", 0, 1}, {"false-color", 1, 1},
                                          {NULL, 0, 0}};

/* methods/{logratio,flood,pcakmeans}.c: gd_sar_defaults.speckle_window */
static const gd_opt_default d_speckle_window[] = {{"logratio", "7"}, {"flood", "7"},
                                                  {"pcakmeans", "9"}, {NULL, NULL}};
/* gd_sar_defaults.smooth_window; urban: GD_URBAN_SMOOTH */
static const gd_opt_default d_smooth[] = {{"logratio", "3"}, {"pcakmeans", "0"}, {"urban", "3"},
                                          {NULL, NULL}};
/* gd_sar_defaults.mrf_bias */
static const gd_opt_default d_mrf_bias[] = {{"logratio", "-1.5"}, {"pcakmeans", "0"},
                                            {"flood", "-1.5"}, {NULL, NULL}};
/* gd_sar_defaults.decision */
static const gd_opt_default d_sar_decision[] = {{"logratio", "flicm"}, {"pcakmeans", "threshold"},
                                                {"flood", "hysteresis"}, {NULL, NULL}};
/* coreg.c gd_coreg_chain: global for the optical methods, none for one SAR band */
static const gd_opt_default d_coreg[] = {{"logratio", "none"}, {"pcakmeans", "none"},
                                         {"flood", "global (optical), none (SAR)"},
                                         {NULL, NULL}};
/* methods/flood.c: FLOOD_MIN_PX (default_mmu_px) */
static const gd_opt_default d_mmu_px[] = {{"flood", "8"}, {NULL, NULL}};

/* --stretch LO,HI: two percentiles */
static int parse_stretch(const gd_opt *o, const char *text, void *target, char *what, size_t len)
{
    gd_detect_options *d = target;
    char lo[32], hi[32], *e1 = NULL, *e2 = NULL;
    const char *comma = strchr(text, ',');
    size_t n = comma ? (size_t)(comma - text) : 0;
    (void)o;
    if (comma && n > 0 && n < sizeof lo && strlen(comma + 1) < sizeof hi) {
        memcpy(lo, text, n);
        lo[n] = '\0';
        strcpy(hi, comma + 1);
        double a = strtod(lo, &e1), b = strtod(hi, &e2);
        if (*lo && *hi && !*e1 && !*e2 && a >= 0 && b <= 100 && b > a) {
            d->p.map.stretch_lo = a;
            d->p.map.stretch_hi = b;
            return 0;
        }
    }
    snprintf(what, len, "LO,HI percentiles with 0 <= LO < HI <= 100 (e.g. 2,98)");
    return -1;
}

static const gd_opt detect_opts[] = {
    /* ---- required ---- */
    {.name = "before", .short_name = 'b', .type = GD_OPT_PATH, .flags = GD_OPTF_REQUIRED,
     .meta = "BEFORE", .group = G_REQ, .help = "earlier image (any raster GDAL reads, /vsis3/ too)",
     .example = "s2/2024-06-01.tif", .batch_key = "before", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_CONTENT, .off = P(in.before), NOGIVEN},
    {.name = "after", .short_name = 'a', .type = GD_OPT_PATH, .flags = GD_OPTF_REQUIRED,
     .meta = "AFTER", .group = G_REQ, .help = "later image", .example = "s2/2024-06-15.tif",
     .batch_key = "after", .batch = GD_BATCH_JOB, .runid = GD_RUNID_CONTENT, .off = P(in.after), NOGIVEN},
    {.name = "method", .short_name = 'm', .type = GD_OPT_CHOICE,
     .flags = GD_OPTF_REQUIRED | GD_OPTF_METHOD, .meta = "METHOD", .group = G_REQ,
     .help = "change-detection method (geodelta methods)", .example = "ndvi",
     .batch_key = "method", .batch = GD_BATCH_JOB, .runid = GD_RUNID_YES, .off = P(method), NOGIVEN},
    {.name = "output", .short_name = 'o', .type = GD_OPT_STRING, .flags = GD_OPTF_REQUIRED,
     .meta = "OUTDIR", .group = G_REQ,
     .help = "output folder (created if missing); in a batch file: OUTROOT/<id>",
     .example = "out/run1", .runid = GD_RUNID_NO, .off = P(out.dir), NOGIVEN},

    /* ---- grid ---- */
    {.name = "aoi", .type = GD_OPT_PATH, .meta = "FILE", .group = G_GRID,
     .help = "analyse only inside these polygons (any OGR vector, first layer): the grid is cut "
             "to their extent and the pixels outside are nodata (also drawn on the map)",
     .example = "aoi.geojson", .batch_key = "aoi", .batch = GD_BATCH_JOB, .runid = GD_RUNID_YES,
     .off = P(grid.aoi), NOGIVEN},
    {.name = "t-srs", .type = GD_OPT_STRING, .meta = "CRS", .group = G_GRID,
     .help = "grid CRS (EPSG:32633, WKT, PROJ): both dates warped (bilinear)",
     .def = "the before image's", .example = "EPSG:32633", .batch_key = "t_srs",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES, .off = P(grid.t_srs), NOGIVEN},
    {.name = "res", .type = GD_OPT_DOUBLE, .meta = "R", .lo = 1e-12, .hi = 1e12,
     .what = "a pixel size > 0", .group = G_GRID, .help = "grid pixel size in --t-srs units",
     .def = "the before image's", .example = "20", .batch_key = "res", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = P(grid.res), NOGIVEN},

    /* ---- detection ---- */
    {.name = "bands-before", .type = GD_OPT_STRING, .meta = "SPEC", .group = G_DET,
     .help = "band roles of the before image, e.g. red=3,nir=4 (keys red green blue nir swir1 "
             "swir2 sar, or r g b n s1 s2)",
     .def = "from band descriptions (B04, B08...)", .example = "red=3,nir=4",
     .batch_key = "bands_before", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES,
     .off = P(in.bands_before), NOGIVEN},
    {.name = "bands-after", .type = GD_OPT_STRING, .meta = "SPEC", .group = G_DET,
     .help = "same for the after image", .def = "--bands-before", .example = "red=3,nir=4",
     .batch_key = "bands_after", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES,
     .off = P(in.bands_after), NOGIVEN},
    {.name = "threshold", .short_name = 't', .type = GD_OPT_CHOICE, .flags = GD_OPTF_NUMBER,
     .choices = thresholds, .lo = 0, .hi = INFINITY, .meta = "T", .group = G_DET,
     .help = "auto (Otsu; k-means for pcakmeans, chi-square p < 0.01 for irmad, "
             "Kittler-Illingworth for urban, USGS classes for nbr, ratio 1.25 for SAR flood), "
             "otsu, ki (Kittler-Illingworth) or a fixed value; index methods threshold |score|",
     .def = "auto", .example = "0.2", .batch_key = "threshold", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = P(decide.threshold), NOGIVEN},
    {.name = "coreg", .type = GD_OPT_CHOICE, .choices = coregs, .meta = "MODE", .group = G_DET,
     .help = "co-register the after image onto the before image first (none on images "
             "without CRS; an unreliable shift is skipped with a warning)",
     .def = "global", .method_defaults = d_coreg, .example = "local", .batch_key = "coreg",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES, .off = P(coreg.mode), NOGIVEN},
    {.name = "coreg-window", .type = GD_OPT_INT, .meta = "PX", .lo = 32, .hi = 8192,
     .what = "a number of pixels between 32 and 8192", .group = G_DET,
     .help = "co-registration window side", .def = "512 global, 256 per tie point for local",
     .example = "256", .batch_key = "coreg_window", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = P(coreg.window), NOGIVEN},
    {.name = "mmu-ha", .type = GD_OPT_DOUBLE, .meta = "H", .lo = 0, .hi = 1e9,
     .what = "a number of hectares >= 0", .group = G_DET,
     .help = "minimum mapping unit in hectares", .def = "0.1; 0 on images without CRS",
     .example = "0.5", .batch_key = "mmu_ha", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES,
     .off = P(decide.mmu_ha), NOGIVEN},
    {.name = "mmu-px", .type = GD_OPT_INT, .meta = "N", .lo = 0, .hi = 1000000,
     .what = "a whole number >= 0", .group = G_DET,
     .help = "minimum mapping unit in pixels (overrides --mmu-ha)", .def = "from --mmu-ha",
     .method_defaults = d_mmu_px, .example = "4", .batch_key = "mmu_px",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES, .off = P(decide.mmu_px), NOGIVEN},
    {.name = "nbr-classes", .type = GD_OPT_CHOICE, .choices = nbr_classes, .meta = "C",
     .applies = "nbr", .group = G_DET,
     .help = "usgs (USGS burn-severity classes from fixed dNBR breaks) or binary (regrowth / "
             "burned at the threshold)",
     .def = "usgs unless -t is given", .example = "binary", .batch_key = "nbr_classes",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_METHOD, .off = P(decide.nbr_classes), NOGIVEN},
    {.name = "smooth", .type = GD_OPT_INT, .flags = GD_OPTF_ODD | GD_OPTF_OFF01, .meta = "N",
     .lo = 0, .hi = 31, .applies = "logratio pcakmeans urban", .group = G_DET,
     .help = "mean over N x N of the log-ratio (urban: of the change); 0 = none",
     .method_defaults = d_smooth, .example = "5", .batch_key = "smooth",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_METHOD, .off = P(sar.smooth_window), NOGIVEN},
    {.name = "urban-seed", .type = GD_OPT_DOUBLE, .meta = "F", .lo = 0, .hi = 100,
     .applies = "urban", .group = G_DET,
     .help = "object decision: a region of change is kept only when its strongest pixel "
             "scores >= F x the threshold; 0 = off",
     .def = "2.5", .example = "2", .batch_key = "urban_seed", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_GIVEN, .off = P(decide.urban_seed), NOGIVEN},
    {.name = "urban-object-px", .type = GD_OPT_INT, .meta = "N", .lo = 1, .hi = 1000000,
     .applies = "urban", .group = G_DET,
     .help = "object decision: and only when it has at least N pixels (8-connected)",
     .def = "20", .example = "30", .batch_key = "urban_object_px", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_GIVEN, .off = P(decide.urban_object_px), NOGIVEN},
    {.name = "sensor", .type = GD_OPT_CHOICE, .choices = sensors, .meta = "P", .group = G_DET,
     .help = "digital numbers to reflectance (README: Sensors)", .def = "auto",
     .example = "none", .batch_key = "sensor", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES,
     .off = P(in.sensor), NOGIVEN},
    {.name = "s2-offset", .type = GD_OPT_DOUBLE, .meta = "N", .lo = -100000, .hi = 100000,
     .what = "a number of digital numbers (e.g. -1000)", .group = G_DET,
     .help = "Sentinel-2 DN offset when the metadata have none (e.g. -1000 for processing "
             "baseline >= 04.00)",
     .example = "-1000", .batch_key = "s2_offset", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = P(in.s2_offset), .off_given = P(in.has_s2_offset)},
    {.name = "mask-before", .type = GD_OPT_PATH, .meta = "FILE", .group = G_DET,
     .help = "cloud mask of the before image, non-zero = masked",
     .def = "its own SCL or QA_PIXEL band, if any", .example = "mask_before.tif",
     .batch_key = "mask_before", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES,
     .off = P(in.mask_before), NOGIVEN},
    {.name = "mask-after", .type = GD_OPT_PATH, .meta = "FILE", .group = G_DET,
     .help = "same for the after image", .def = "its own SCL or QA_PIXEL band, if any",
     .example = "mask_after.tif", .batch_key = "mask_after", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = P(in.mask_after), NOGIVEN},

    /* ---- SAR ---- */
    {.name = "speckle", .type = GD_OPT_CHOICE, .choices = speckles, .meta = "F",
     .applies = "logratio pcakmeans flood", .group = G_SAR, .help = "speckle filter of both dates",
     .def = "refined-lee", .example = "lee", .batch_key = "speckle", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_METHOD, .off = P(sar.speckle), NOGIVEN},
    {.name = "speckle-window", .type = GD_OPT_INT, .flags = GD_OPTF_ODD, .meta = "N", .lo = 3,
     .hi = 31, .applies = "logratio pcakmeans flood", .group = G_SAR,
     .help = "speckle filter window, odd", .method_defaults = d_speckle_window, .example = "5",
     .batch_key = "speckle_window", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_METHOD,
     .off = P(sar.speckle_window), NOGIVEN},
    {.name = "pca-block", .type = GD_OPT_INT, .meta = "H", .lo = 2, .hi = 9,
     .applies = "pcakmeans", .group = G_SAR, .help = "PCA block size", .def = "3",
     .example = "4", .batch_key = "pca_block", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_METHOD, .off = P(sar.pca_block), NOGIVEN},
    {.name = "mrf-beta", .type = GD_OPT_DOUBLE, .meta = "B", .lo = 0, .hi = 1000,
     .applies = "logratio pcakmeans flood", .group = G_SAR,
     .help = "after the threshold, relabel change / no change by an MRF (Potts prior of weight "
             "B over 8 neighbours, ICM); 0 = off",
     .def = "3.5", .example = "2", .batch_key = "mrf_beta", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_METHOD, .off = P(sar.mrf_beta), NOGIVEN},
    {.name = "mrf-bias", .type = GD_OPT_DOUBLE, .meta = "P", .lo = -100, .hi = 100,
     .applies = "logratio pcakmeans flood", .group = G_SAR,
     .help = "added to the MRF's change energy: > 0 fewer, < 0 more change pixels",
     .method_defaults = d_mrf_bias, .example = "0.5", .batch_key = "mrf_bias",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_GIVEN, .off = P(sar.mrf_bias), NOGIVEN},
    {.name = "sar-score", .type = GD_OPT_CHOICE, .choices = sar_scores, .meta = "S",
     .applies = "logratio pcakmeans flood", .group = G_SAR,
     .help = "ratio (log-ratio) or nr (neighbourhood ratio, Gong et al. 2012)", .def = "ratio",
     .example = "nr", .batch_key = "sar_score", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_GIVEN, .off = P(sar.score), NOGIVEN},
    {.name = "nr-window", .type = GD_OPT_INT, .flags = GD_OPTF_ODD, .meta = "N", .lo = 3,
     .hi = 31, .applies = "logratio pcakmeans flood", .group = G_SAR,
     .help = "neighbourhood window of --sar-score nr, odd", .def = "3", .example = "5",
     .batch_key = "nr_window", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_GIVEN,
     .off = P(sar.nr_window), NOGIVEN},
    {.name = "sar-decision", .type = GD_OPT_CHOICE, .choices = sar_decisions, .meta = "D",
     .applies = "logratio pcakmeans flood", .group = G_SAR,
     .help = "the decision before the MRF: threshold, hysteresis (change grown from the "
             "threshold into --hyst-low x threshold) or flicm (FLICM fuzzy clustering, "
             "Krinidis & Chatzis 2010)",
     .method_defaults = d_sar_decision, .example = "hysteresis", .batch_key = "sar_decision",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_GIVEN, .off = P(sar.decision), NOGIVEN},
    {.name = "hyst-low", .type = GD_OPT_DOUBLE, .meta = "F", .lo = 0, .hi = 1,
     .applies = "logratio pcakmeans flood", .group = G_SAR,
     .help = "hysteresis low threshold as a fraction of the threshold", .def = "0.7",
     .example = "0.6", .batch_key = "hyst_low", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_GIVEN, .off = P(sar.hyst_low), NOGIVEN},

    /* ---- flood ---- */
    {.name = "dem", .type = GD_OPT_PATH, .meta = "FILE", .applies = "flood", .group = G_FLOOD,
     .help = "DEM (any GDAL raster, metres): no new water where the slope is >= --max-slope",
     .example = "dem.tif", .batch_key = "dem", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_CONTENT, .off = P(flood.dem), NOGIVEN},
    {.name = "max-slope", .type = GD_OPT_DOUBLE, .meta = "DEG", .lo = 0, .hi = 90,
     .what = "a number of degrees from 0 to 90", .applies = "flood", .group = G_FLOOD,
     .help = "slope limit in degrees", .def = "5", .example = "8", .batch_key = "max_slope",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_GIVEN, .needs = "dem", .off = P(flood.max_slope),
     NOGIVEN},
    {.name = "flood-rule", .type = GD_OPT_CHOICE, .choices = flood_rules, .meta = "R",
     .applies = "flood", .group = G_FLOOD,
     .help = "flood on SAR: adaptive (the log-ratio decision of logratio restricted to a "
             "backscatter decrease: Otsu, hysteresis, MRF) or ratio (UN-SPIDER: after/before "
             "< 1/1.25, -t gives the factor); the map's caveat line names the rule",
     .def = "adaptive", .example = "ratio", .batch_key = "flood_rule",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_METHOD, .off = P(flood.rule), NOGIVEN},
    {.name = "permanent-water", .type = GD_OPT_PATH, .meta = "FILE", .applies = "flood",
     .group = G_FLOOD,
     .help = "permanent water, raster (non-zero = water) or vector polygons: class 2, never "
             "new water",
     .example = "water.gpkg", .batch_key = "permanent_water", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_CONTENT, .off = P(flood.permanent_water), NOGIVEN},

    /* ---- map ---- */
    {.name = "no-map", .type = GD_OPT_FLAG, .group = G_MAP, .help = "do not render map.png",
     .batch_key = "no_map", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES, .off = P(map.off),
     NOGIVEN},
    {.name = "title", .type = GD_OPT_STRING, .meta = "TEXT", .group = G_MAP, .help = "map title",
     .def = "none; in a batch file the job's id", .example = "Flood, 14 June",
     .batch_key = "title", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP, .off = P(map.title),
     NOGIVEN},
    {.name = "area", .type = GD_OPT_STRING, .meta = "NAME", .group = G_MAP,
     .help = "area name for the map's subtitle", .example = "Lower Oder",
     .batch_key = "area", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP, .off = P(map.area), NOGIVEN},
    {.name = "credit", .type = GD_OPT_STRING, .meta = "TEXT", .group = G_MAP,
     .help = "data credit printed on the map (PNG Author)", .example = "Copernicus Sentinel-2",
     .batch_key = "credit", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP, .off = P(map.credit),
     NOGIVEN},
    {.name = "caveat", .type = GD_OPT_STRING, .meta = "TEXT", .group = G_MAP,
     .help = "caveat line", .def = "\"Preliminary analysis \xe2\x80\x94 not yet validated in the field\"",
     .example = "Draft", .batch_key = "caveat", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP,
     .off = P(map.caveat), NOGIVEN},
    {.name = "layout", .type = GD_OPT_CHOICE, .flags = GD_OPTF_INDEX, .choices = layouts,
     .meta = "L", .group = G_MAP, .help = "triptych (before | after | change) or single",
     .def = "triptych", .example = "single", .batch_key = "layout", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_MAP, .off = P(map.layout), NOGIVEN},
    {.name = "map-bands", .type = GD_OPT_CHOICE, .flags = GD_OPTF_INDEX, .choices = map_bands,
     .meta = "B", .group = G_MAP,
     .help = "true-colour or false-colour (nir red green); logratio maps are always SAR "
             "backscatter in dB",
     .def = "true-colour", .example = "false-colour", .batch_key = "map_bands",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP, .off = P(map.bands), NOGIVEN},
    {.name = "stretch", .type = GD_OPT_CUSTOM, .meta = "LO,HI", .group = G_MAP,
     .help = "contrast stretch percentiles", .def = "2,98", .example = "1,99",
     .batch_key = "stretch", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP, .off = P(map.stretch_lo),
     NOGIVEN, .parse = parse_stretch},
    {.name = "map-width", .type = GD_OPT_INT, .meta = "PX", .lo = 320, .hi = 20000,
     .what = "a number of pixels between 320 and 20000", .group = G_MAP,
     .help = "width of the whole map", .def = "A4 landscape at --dpi", .example = "1200",
     .batch_key = "map_width", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP,
     .off = P(map.width), NOGIVEN},
    {.name = "dpi", .type = GD_OPT_DOUBLE, .meta = "D", .lo = 10, .hi = 2400,
     .what = "a number between 10 and 2400", .group = G_MAP,
     .help = "print resolution, PNG pHYs", .def = "300: 3508 px wide", .example = "150",
     .batch_key = "dpi", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP, .off = P(map.dpi),
     NOGIVEN},
    {.name = "map-overlay", .type = GD_OPT_PATH, .meta = "FILE", .group = G_MAP,
     .help = "zones (any vector GDAL reads) drawn with labels", .example = "districts.gpkg",
     .batch_key = "map_overlay", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP,
     .off = P(map.overlay), NOGIVEN},
    {.name = "map-overlay-field", .type = GD_OPT_STRING, .meta = "NAME", .group = G_MAP,
     .help = "attribute for the labels", .def = "first text field", .example = "name",
     .batch_key = "map_overlay_field", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_MAP,
     .needs = "map-overlay", .off = P(map.overlay_field), NOGIVEN},
    {.name = "map-aoi", .type = GD_OPT_PATH, .meta = "FILE", .group = G_MAP,
     .help = "area of interest drawn as a dashed outline", .def = "--aoi",
     .example = "aoi.geojson", .batch_key = "map_aoi", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_MAP, .off = P(map.aoi), NOGIVEN},

    /* ---- zones, alerts, outputs, run ---- */
    {.name = "keep-score", .type = GD_OPT_FLAG, .group = G_OUT,
     .help = "also write score.tif (float32 change score)", .batch_key = "keep_score",
     .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES, .off = P(out.keep_score), NOGIVEN},
    {.name = "zones", .type = GD_OPT_PATH, .meta = "FILE", .group = G_OUT,
     .help = "zone polygons (any OGR vector): per-zone change in summary.json, zones.csv and "
             "zones.geojson",
     .example = "districts.gpkg", .batch_key = "zones", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_YES, .off = P(summary.zones), NOGIVEN},
    {.name = "zone-field", .type = GD_OPT_STRING, .meta = "NAME", .group = G_OUT,
     .help = "attribute naming each zone", .def = "feature id", .example = "name",
     .batch_key = "zone_field", .batch = GD_BATCH_JOB, .runid = GD_RUNID_YES, .needs = "zones",
     .off = P(summary.zone_field), NOGIVEN},
    {.name = "zones-all-touched", .type = GD_OPT_FLAG, .group = G_OUT,
     .help = "count every pixel a zone touches (default: the pixels whose centre lies in the "
             "zone)",
     .batch_key = "zones_all_touched", .batch = GD_BATCH_JOB, .runid = GD_RUNID_YES,
     .needs = "zones", .off = P(summary.all_touched), NOGIVEN},
    {.name = "alerts", .type = GD_OPT_STRING, .flags = GD_OPTF_BATCH_JSON, .meta = "SPEC",
     .group = G_OUT,
     .help = "alert levels, JSON text or file (batch files: a JSON object), e.g. "
             "'{\"amber\":{\"changed_ha\":5},\"red\":{\"changed_pct\":10}}'",
     .example = "{\"red\":{\"changed_ha\":10}}", .batch_key = "alerts", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_YES, .off = P(summary.alerts), NOGIVEN},
    /* ---- exposure and deliverables (pipeline/exposure/, pipeline/deliver/) ---- */
    {.name = "population", .type = GD_OPT_PATH, .meta = "RASTER", .group = G_OUT,
     .help = "people per pixel (any grid and CRS, e.g. WorldPop, GHSL): people per change "
             "class, per zone, on the polygons and the map legend (docs/deliverables.md)",
     .example = "worldpop.tif", .batch_key = "population", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_GIVEN, .off = P(exposure.population), NOGIVEN},
    {.name = "exposure", .type = GD_OPT_PATH, .meta = "VECTOR", .group = G_OUT,
     .help = "features (buildings, health sites, schools; any OGR vector) counted per change "
             "class and zone; the affected ones listed in exposure.csv",
     .example = "buildings.gpkg", .batch_key = "exposure", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_GIVEN, .off = P(exposure.features), NOGIVEN},
    {.name = "exposure-field", .type = GD_OPT_STRING, .meta = "NAME", .group = G_OUT,
     .help = "attribute identifying the exposed features", .def = "the feature id",
     .example = "osm_id", .batch_key = "exposure_field", .batch = GD_BATCH_JOB,
     .runid = GD_RUNID_GIVEN, .needs = "exposure", .off = P(exposure.field), NOGIVEN},
    {.name = "with", .type = GD_OPT_STRING, .meta = "LIST", .group = G_OUT,
     .help = "deliverables off by default to write too: pdf (map.pdf adds ~10 % CPU and up "
             "to ~25 % time to a 1024 px run), or all",
     .example = "pdf", .batch_key = "with", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_NO, .off = P(out.with), NOGIVEN},
    {.name = "without", .type = GD_OPT_STRING, .meta = "LIST", .group = G_OUT,
     .help = "deliverables not to write, comma-separated: styles (change.qml/.sld), gpkg, "
             "kmz, stac, report, or all",
     .example = "kmz,report", .batch_key = "without", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_NO, .off = P(out.without), NOGIVEN},
    {.name = "pdf-size", .type = GD_OPT_CHOICE, .flags = GD_OPTF_INDEX, .choices = pdf_sizes,
     .meta = "S", .group = G_OUT, .help = "map.pdf page, landscape (with --with pdf)", .def = "a4",
     .example = "a3", .batch_key = "pdf_size", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_NO, .off = P(out.pdf_a3), NOGIVEN},
    {.name = "overwrite", .type = GD_OPT_FLAG, .group = G_OUT,
     .help = "replace existing outputs in OUTDIR (batch jobs always do)", .runid = GD_RUNID_NO,
     .off = P(out.overwrite), NOGIVEN},
    {.name = "sign-key", .type = GD_OPT_PATH, .meta = "KEY.pem", .group = G_OUT,
     .help = "sign manifest.json with this Ed25519 private key into manifest.sig (make one "
             "with geodelta keygen)",
     .example = "keys/geodelta.pem", .batch_key = "sign_key", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_NO, .off = P(out.sign_key), NOGIVEN},
    {.name = "threads", .type = GD_OPT_INT, .meta = "N", .lo = 1, .hi = 1024,
     .what = "a number between 1 and 1024", .group = G_OUT,
     .help = "worker threads; outputs are the same for any N",
     .def = "all cores this process may use", .example = "2", .runid = GD_RUNID_NO,
     .off = F(threads), NOGIVEN},
    /* ---- search (pipeline/discover/, docs/stac.md) ---- */
    GD_STAC_OPT_ROWS(F, G_STAC,
                     "STAC API root: find the scenes of --aoi (required) in the windows --before "
                     "START[/END] and --after START[/END] (YYYY-MM-DD or RFC 3339 UTC), read "
                     "only the AOI's pixels over HTTP and mosaic the tiles of one acquisition "
                     "(geodelta search lists the candidates)",
                     0),
    {.name = "mem", .type = GD_OPT_INT, .meta = "MB", .lo = 1, .hi = 1048576,
     .what = "a number of MB between 1 and 1048576", .group = G_OUT,
     .help = "memory budget: the change score stays in memory only when it fits, else it goes "
             "to a temporary file in OUTDIR; GDAL's cache gets 1/8 of it unless GDAL_CACHEMAX "
             "is set",
     .def = "1024", .example = "512", .runid = GD_RUNID_NO, .off = F(mem_mb), NOGIVEN},
    {.name = "quiet", .short_name = 'q', .type = GD_OPT_FLAG, .group = G_OUT,
     .help = "no progress or messages (errors still printed)", .runid = GD_RUNID_NO,
     .off = F(quiet), NOGIVEN},
    {.name = "help", .short_name = 'h', .type = GD_OPT_FLAG, .flags = GD_OPTF_HELP,
     .group = G_OUT, .help = "this help", .runid = GD_RUNID_NO, .off = F(help), NOGIVEN},
    {.name = "help-markdown", .type = GD_OPT_FLAG, .flags = GD_OPTF_HELP, .group = G_OUT,
     .help = "the command-line reference in Markdown (docs/cli.md)", .runid = GD_RUNID_NO,
     .off = F(help_markdown), NOGIVEN},
    {.name = "json-usage", .type = GD_OPT_FLAG, .flags = GD_OPTF_HELP, .group = G_OUT,
     .help = "this option table as JSON (types, ranges, defaults, batch keys)",
     .runid = GD_RUNID_NO, .off = F(json_usage), NOGIVEN},
};

static const gd_opt_table detect_table = {
    .command = "detect",
    .usage = "detect -b BEFORE -a AFTER -m METHOD -o OUTDIR [options]",
    .intro = "Finds change between two images and writes change.tif (COG), change.geojson\n"
             "(RFC 7946), summary.json, map.png, manifest.json and run.log into OUTDIR.\n"
             "The after image is warped onto the before image's grid when they differ\n"
             "(or both onto the grid of --aoi, --t-srs, --res).\n",
    .epilog = "Exit codes: 0 ok, 1 usage, 2 input data problem, 3 processing failure,\n"
              "4 output failure.\n",
    .opts = detect_opts,
    .n = sizeof detect_opts / sizeof detect_opts[0],
};

const gd_opt_table *gd_detect_option_table(void) { return &detect_table; }

void gd_detect_options_init(gd_detect_options *o)
{
    memset(o, 0, sizeof *o);
    gd_detect_params_init(&o->p);
    gd_stac_query_init(&o->stac);
}
