/* masks.c: flood's auxiliary masks on the grid: slope from a DEM (steep terrain cannot be
 * new water) and permanent water from a raster or vector file (class 2). */
#include "geodelta/detect.h"
#include "geodelta/stages.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdal_utils.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* UN-SPIDER recommended practice: slopes of 5 degrees or more are masked from the flood */
#define MAX_SLOPE_DEFAULT 5.0
#define DEM_NODATA "-32768"
#define SLOPE_NODATA -9999.0

struct gd_flood_aux {
    uint8_t *steep;     /* 1 slope >= max, 0 below, 255 no DEM; NULL without --dem */
    uint8_t *perm;      /* 1 permanent water; NULL without --permanent-water */
    double max_slope;
    const char *slope_crs; /* where the slope was computed */
    const char *perm_kind; /* "raster" or "vector" */
};

void gd_flood_mask_classes(uint8_t *classes, const uint8_t *steep, const uint8_t *perm,
                           size_t n, gd_flood_mask_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        if (classes[i] == 255)
            continue; /* not observed: a mask does not make it known */
        if (steep && steep[i] == 255)
            c->no_dem++;
        if (steep && steep[i] == 1 && classes[i] == 1) {
            classes[i] = 0;
            c->steep_excluded++;
        }
        if (perm && perm[i]) {
            c->new_water_to_permanent += classes[i] == 1;
            classes[i] = 2;
            c->permanent++;
        }
    }
}

/* GDALWarp with the given arguments into a VRT; NULL on failure. */
static GDALDatasetH warp(gd_job *job, GDALDatasetH src, char **argv, const char *what)
{
    char **args = CSLDuplicate(argv);
    args = CSLAddString(args, "-of");
    args = CSLAddString(args, "VRT");
    GDALWarpAppOptions *opts = GDALWarpAppOptionsNew(args, NULL);
    CSLDestroy(args);
    if (!opts) {
        gd_job_error_gdal(job, GD_EPROC, "cannot set up the warp of %s", what);
        return NULL;
    }
    GDALDatasetH srcs[1] = {src};
    int usage_error = 0;
    CPLErrorReset();
    GDALDatasetH out = GDALWarp("", NULL, 1, srcs, opts, &usage_error);
    GDALWarpAppOptionsFree(opts);
    if (!out)
        gd_job_error_gdal(job, GD_EINPUT, "cannot warp %s onto the grid", what);
    return out;
}

/* src onto the grid (its CRS, extent and size), float32 with nodata, by resampling. */
static GDALDatasetH onto_grid(gd_job *job, const gd_grid *g, GDALDatasetH src,
                              const char *resampling, const char *nodata, const char *what)
{
    const char *args[] = {"-t_srs", g->wkt, "-r", resampling, "-ot", "Float32",
                          "-dstnodata", nodata, NULL};
    CPLErrorReset();
    GDALDatasetH out = gd_grid_warp(g, src, args);
    if (!out)
        gd_job_error_gdal(job, GD_EINPUT, "cannot warp %s onto the grid", what);
    return out;
}

static GDALDatasetH slope_of(gd_job *job, GDALDatasetH dem, double scale, const char *what)
{
    char sc[64];
    snprintf(sc, sizeof sc, "%.17g", scale);
    char *argv[] = {"-of", "MEM", "-compute_edges", "-s", sc, NULL};
    GDALDEMProcessingOptions *o = GDALDEMProcessingOptionsNew(argv, NULL);
    if (!o) {
        gd_job_error_gdal(job, GD_EPROC, "cannot set up the slope of %s", what);
        return NULL;
    }
    int usage_error = 0;
    CPLErrorReset();
    GDALDatasetH out = GDALDEMProcessing("", dem, "slope", NULL, o, &usage_error);
    GDALDEMProcessingOptionsFree(o);
    if (!out)
        gd_job_error_gdal(job, GD_EPROC, "cannot compute the slope of %s", what);
    return out;
}

/* Slope in degrees on the grid, thresholded into a->steep. The slope is computed where
 * horizontal distances are metres (or a known linear unit): on the grid itself when
 * its CRS is projected, else (geographic grids) on a local transverse Mercator centred
 * on the scene at the grid's resolution, then warped back (bilinear). A single
 * degrees-to-metres scale (111120) would be wrong east-west by 1/cos(latitude). */
static int load_slope(gd_job *job, const gd_grid *g, const char *path, gd_flood_aux *a)
{
    int st = GD_OK;
    GDALDatasetH dem = NULL, on = NULL, slope = NULL, back = NULL;
    OGRSpatialReferenceH srs = NULL;
    float *row = NULL;
    char **args = NULL;
    if (!g->wkt)
        return gd_job_error(job, GD_EINPUT, "--dem %s: the images have no CRS, so the DEM "
                                            "cannot be placed on them", path);
    CPLErrorReset();
    dem = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
    if (!dem)
        return gd_job_error_gdal(job, GD_EINPUT, "--dem %s cannot be opened as a raster", path);
    const char *dwkt = GDALGetProjectionRef(dem);
    if (!dwkt || !*dwkt) {
        st = gd_job_error(job, GD_EINPUT, "--dem %s has no CRS", path);
        goto done;
    }
    srs = OSRNewSpatialReference(g->wkt);
    if (!srs) {
        st = gd_job_error(job, GD_EPROC, "the grid's CRS cannot be read");
        goto done;
    }
    const size_t w = (size_t)g->width;
    if (!OSRIsGeographic(srs)) {
        /* gdaldem's scale: vertical units (metres) per horizontal unit of the grid */
        double scale = OSRGetLinearUnits(srs, NULL);
        if (!(on = onto_grid(job, g, dem, "bilinear", DEM_NODATA, path)) ||
            !(slope = slope_of(job, on, scale, path))) {
            st = gd_job_status(job);
            goto done;
        }
        back = slope;
        a->slope_crs = "grid";
    } else {
        /* local transverse Mercator through the scene's centre */
        double cx = g->gt[0] + 0.5 * g->width * g->gt[1] + 0.5 * g->height * g->gt[2];
        double cy = g->gt[3] + 0.5 * g->width * g->gt[4] + 0.5 * g->height * g->gt[5];
        char tm[256], tr[64], mte[4][64];
        snprintf(tm, sizeof tm, "+proj=tmerc +lat_0=%.10f +lon_0=%.10f +k=1 +x_0=0 +y_0=0 "
                                "+datum=WGS84 +units=m +no_defs", cy, cx);
        /* the pixel's north-south side in metres (shorter than or equal to east-west
         * only away from the equator: the finer of the two keeps the DEM's detail) */
        double res = fmin(fabs(g->gt[5]) * 110574.0,
                          fabs(g->gt[1]) * 111320.0 * cos(cy * M_PI / 180.0));
        snprintf(tr, sizeof tr, "%.17g", res > 0 ? res : 1.0);
        /* two pixels of margin so that the slope at the scene's edge has neighbours */
        double mx = 2.0 * fabs(g->gt[1]), my = 2.0 * fabs(g->gt[5]);
        double gb[4];
        gd_grid_box(g, gb);
        snprintf(mte[0], 64, "%.17g", gb[0] - mx);
        snprintf(mte[1], 64, "%.17g", gb[1] - my);
        snprintf(mte[2], 64, "%.17g", gb[2] + mx);
        snprintf(mte[3], 64, "%.17g", gb[3] + my);
        const char *v[] = {"-t_srs", tm, "-te", mte[0], mte[1], mte[2], mte[3], "-te_srs",
                           g->wkt, "-tr", tr, tr, "-r", "bilinear", "-ot", "Float32",
                           "-dstnodata", DEM_NODATA, NULL};
        for (int i = 0; v[i]; i++)
            args = CSLAddString(args, v[i]);
        if (!(on = warp(job, dem, args, path)) || !(slope = slope_of(job, on, 1.0, path))) {
            st = gd_job_status(job);
            goto done;
        }
        if (!(back = onto_grid(job, g, slope, "bilinear", "nan", "the DEM's slope"))) {
            st = gd_job_status(job);
            goto done;
        }
        a->slope_crs = "local transverse Mercator";
    }
    a->steep = malloc(w * (size_t)g->height);
    row = malloc(sizeof(float) * w);
    if (!a->steep || !row) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the slope mask");
        goto done;
    }
    GDALRasterBandH b = GDALGetRasterBand(back, 1);
    int has_nd = 0;
    double nd = GDALGetRasterNoDataValue(b, &has_nd);
    uint64_t covered = 0;
    for (int y = 0; y < g->height; y++) {
        if (GDALRasterIO(b, GF_Read, 0, y, g->width, 1, row, g->width, 1, GDT_Float32, 0, 0) !=
            CE_None) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot read the slope of %s", path);
            goto done;
        }
        uint8_t *s = a->steep + (size_t)y * w;
        for (size_t x = 0; x < w; x++) {
            float v = row[x];
            int nodata = isnan(v) || v < 0.0f || (has_nd && v == (float)nd);
            s[x] = nodata ? 255 : v >= (float)a->max_slope ? 1 : 0;
            covered += !nodata;
        }
    }
    if (covered == 0)
        st = gd_job_error(job, GD_EINPUT, "--dem %s does not cover the scene (no slope on "
                                          "any pixel of the grid)", path);
done:
    free(row);
    CSLDestroy(args);
    if (back && back != slope)
        GDALClose(back);
    if (slope)
        GDALClose(slope);
    if (on)
        GDALClose(on);
    if (dem)
        GDALClose(dem);
    if (srs)
        OSRDestroySpatialReference(srs);
    return st;
}

/* Permanent water: a raster (non-zero = water, nearest onto the grid; its nodata and
 * outside its extent = not water) or any OGR vector (polygons rasterized onto the grid,
 * pixel centres inside, reprojected by GDAL when their CRS differs). */
static int load_permanent(gd_job *job, const gd_grid *g, const char *path, gd_flood_aux *a)
{
    int st = GD_OK;
    size_t n = (size_t)g->width * (size_t)g->height;
    GDALDatasetH ds = NULL, on = NULL, mem = NULL;
    float *row = NULL;
    CPLErrorReset();
    ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_VECTOR | GDAL_OF_VERBOSE_ERROR, NULL, NULL,
                    NULL);
    if (!ds)
        return gd_job_error_gdal(job, GD_EINPUT, "--permanent-water %s cannot be opened", path);
    if (!(a->perm = calloc(n, 1))) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the permanent-water mask");
        goto done;
    }
    if (GDALGetRasterCount(ds) > 0) {
        a->perm_kind = "raster";
        const char *pw = GDALGetProjectionRef(ds);
        if (!g->wkt || !pw || !*pw) {
            /* without CRS on either side: pixel for pixel, sizes must agree */
            if (g->wkt || (pw && *pw) || GDALGetRasterXSize(ds) != g->width ||
                GDALGetRasterYSize(ds) != g->height) {
                st = gd_job_error(job, GD_EINPUT, "--permanent-water %s: %s", path,
                                  g->wkt ? "the mask has no CRS"
                                         : "the images have no CRS and the mask's size differs");
                goto done;
            }
            on = ds;
        } else {
            if (!(on = onto_grid(job, g, ds, "near", "nan", path))) {
                st = gd_job_status(job);
                goto done;
            }
        }
        GDALRasterBandH b = GDALGetRasterBand(on, 1);
        int has_nd = 0;
        double nd = GDALGetRasterNoDataValue(b, &has_nd);
        if (!(row = malloc(sizeof(float) * (size_t)g->width))) {
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
        for (int y = 0; y < g->height; y++) {
            if (GDALRasterIO(b, GF_Read, 0, y, g->width, 1, row, g->width, 1, GDT_Float32, 0,
                             0) != CE_None) {
                st = gd_job_error_gdal(job, GD_EINPUT, "cannot read %s", path);
                goto done;
            }
            uint8_t *m = a->perm + (size_t)y * (size_t)g->width;
            for (int x = 0; x < g->width; x++)
                m[x] = !isnan(row[x]) && row[x] != 0.0f && !(has_nd && row[x] == (float)nd);
        }
    } else if (GDALDatasetGetLayerCount(ds) > 0) {
        a->perm_kind = "vector";
        if (!g->wkt) {
            st = gd_job_error(job, GD_EINPUT, "--permanent-water %s is a vector file but the "
                                              "images have no CRS", path);
            goto done;
        }
        int nl = GDALDatasetGetLayerCount(ds), band = 1;
        OGRLayerH *layers = malloc(sizeof *layers * (size_t)nl);
        double *burn = malloc(sizeof *burn * (size_t)nl);
        if (!layers || !burn) {
            free(layers);
            free(burn);
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
        for (int i = 0; i < nl; i++) {
            layers[i] = GDALDatasetGetLayer(ds, i);
            burn[i] = 1.0;
        }
        if ((st = gd_mem_dataset(job, g, a->perm, GDT_Byte, &mem)) == GD_OK) {
            CPLErrorReset();
            if (GDALRasterizeLayers(mem, 1, &band, nl, layers, NULL, NULL, burn, NULL, NULL,
                                    NULL) != CE_None)
                st = gd_job_error_gdal(job, GD_EINPUT, "cannot rasterize %s onto the grid", path);
        }
        free(layers);
        free(burn);
    } else {
        st = gd_job_error(job, GD_EINPUT, "--permanent-water %s has neither raster bands nor "
                                          "vector layers", path);
    }
done:
    free(row);
    if (mem)
        GDALClose(mem);
    if (on && on != ds)
        GDALClose(on);
    GDALClose(ds);
    return st;
}

int gd_flood_aux_load(gd_job *job, const gd_flood_opts *o, const gd_grid *grid,
                      gd_flood_aux **out)
{
    *out = NULL;
    if (!o->dem && !o->permanent_water)
        return GD_OK;
    gd_flood_aux *a = calloc(1, sizeof *a);
    if (!a)
        return gd_job_error(job, GD_EPROC, "out of memory");
    a->max_slope = o->max_slope >= 0 ? o->max_slope : MAX_SLOPE_DEFAULT;
    int st = GD_OK;
    if (o->dem && (st = load_slope(job, grid, o->dem, a)) != GD_OK)
        goto done;
    if (o->permanent_water && (st = load_permanent(job, grid, o->permanent_water, a)) != GD_OK)
        goto done;
    if (o->dem)
        gd_job_info(job, "slope mask from %s (computed on the %s): new water only below %g "
                         "degrees", o->dem, a->slope_crs, a->max_slope);
    if (o->permanent_water)
        gd_job_info(job, "permanent water from %s (%s)", o->permanent_water, a->perm_kind);
done:
    if (st != GD_OK) {
        gd_flood_aux_destroy(a);
        return st;
    }
    *out = a;
    return GD_OK;
}

int gd_flood_aux_apply(gd_job *job, const gd_flood_aux *a, uint8_t *classes, size_t n)
{
    if (!a)
        return GD_OK;
    gd_flood_mask_counts c;
    gd_flood_mask_classes(classes, a->steep, a->perm, n, &c);
    json_t *rec = json_object();
    if (a->steep) {
        json_object_set_new(rec, "slope",
                            json_pack("{s:f, s:s, s:I, s:I}", "max_degrees", a->max_slope,
                                      "computed_on", a->slope_crs, "new_water_excluded_px",
                                      (json_int_t)c.steep_excluded, "no_dem_px",
                                      (json_int_t)c.no_dem));
        gd_job_say(job, "slope >= %g degrees: %llu px of new water set to 0", a->max_slope,
                   (unsigned long long)c.steep_excluded);
        if (c.no_dem)
            gd_job_warn(job, "the DEM does not cover %llu valid px of the scene: no slope mask "
                             "there", (unsigned long long)c.no_dem);
    }
    if (a->perm)
        json_object_set_new(rec, "permanent_water",
                            json_pack("{s:s, s:I, s:I}", "kind", a->perm_kind, "pixels",
                                      (json_int_t)c.permanent, "new_water_reclassified_px",
                                      (json_int_t)c.new_water_to_permanent));
    json_object_set_new(gd_job_auto(job), "flood_masks", rec);
    return GD_OK;
}

void gd_flood_aux_destroy(gd_flood_aux *a)
{
    if (!a)
        return;
    free(a->steep);
    free(a->perm);
    free(a);
}
