/* grid.c: the analysis grid, per-row geodesic pixel areas, and warping onto the grid. */
#include "geodelta/stages.h"

#include <cpl_conv.h>
#include <gdal_alg.h>
#include <jansson.h>
#include <ogr_api.h>
#include <cpl_string.h>
#include <gdal_utils.h>
#include <geodesic.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>

static OGRSpatialReferenceH srs_from_wkt(const char *wkt)
{
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    if (OSRSetFromUserInput(s, wkt) != OGRERR_NONE) {
        OSRDestroySpatialReference(s);
        return NULL;
    }
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    return s;
}

/* Transformation from a CRS to WGS84 longitude/latitude (in that order). */
static OGRCoordinateTransformationH to_wgs84(const char *wkt)
{
    OGRSpatialReferenceH s = srs_from_wkt(wkt), w = OSRNewSpatialReference(NULL);
    OGRCoordinateTransformationH ct = NULL;
    if (s && OSRImportFromEPSG(w, 4326) == OGRERR_NONE) {
        OSRSetAxisMappingStrategy(w, OAMS_TRADITIONAL_GIS_ORDER);
        ct = OCTNewCoordinateTransformation(s, w);
    }
    if (s)
        OSRDestroySpatialReference(s);
    OSRDestroySpatialReference(w);
    return ct;
}

static void pix2geo(const double gt[6], double px, double py, double *x, double *y)
{
    *x = gt[0] + px * gt[1] + py * gt[2];
    *y = gt[3] + px * gt[4] + py * gt[5];
}

/* Bounds (minx, miny, maxx, maxy) of the four corners of a w x h raster with geotransform gt. */
static void gt_bounds(const double gt[6], int w, int h, double b[4])
{
    double x[4], y[4];
    pix2geo(gt, 0, 0, &x[0], &y[0]);
    pix2geo(gt, w, 0, &x[1], &y[1]);
    pix2geo(gt, w, h, &x[2], &y[2]);
    pix2geo(gt, 0, h, &x[3], &y[3]);
    b[0] = fmin(fmin(x[0], x[1]), fmin(x[2], x[3]));
    b[1] = fmin(fmin(y[0], y[1]), fmin(y[2], y[3]));
    b[2] = fmax(fmax(x[0], x[1]), fmax(x[2], x[3]));
    b[3] = fmax(fmax(y[0], y[1]), fmax(y[2], y[3]));
}

void gd_grid_box(const gd_grid *grid, double b[4])
{
    double gx0 = grid->gt[0], gy0 = grid->gt[3];
    double gx1 = grid->gt[0] + grid->width * grid->gt[1] + grid->height * grid->gt[2];
    double gy1 = grid->gt[3] + grid->width * grid->gt[4] + grid->height * grid->gt[5];
    b[0] = fmin(gx0, gx1);
    b[1] = fmin(gy0, gy1);
    b[2] = fmax(gx0, gx1);
    b[3] = fmax(gy0, gy1);
}

/* The geodesic area of one pixel per row of g (g->wkt set); what names the CRS's
 * owner in messages. */
static int row_areas(gd_job *job, gd_grid *g, const char *what)
{
    int st = GD_OK;
    OGRCoordinateTransformationH ct = to_wgs84(g->wkt);
    if (!ct)
        return gd_job_error_gdal(job, GD_EINPUT, "CRS of %s cannot be transformed to WGS84",
                                 what);
    g->row_area_m2 = malloc(sizeof(double) * (size_t)g->height);
    if (!g->row_area_m2) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    struct geod_geodesic geod;
    geod_init(&geod, 6378137.0, 1.0 / 298.257223563);
    double col = floor(g->width / 2.0);
    for (int r = 0; r < g->height; r++) {
        /* geodesic area of the pixel in the middle column of this row */
        double x[4], y[4], z[4] = {0, 0, 0, 0};
        pix2geo(g->gt, col, r, &x[0], &y[0]);
        pix2geo(g->gt, col + 1, r, &x[1], &y[1]);
        pix2geo(g->gt, col + 1, r + 1, &x[2], &y[2]);
        pix2geo(g->gt, col, r + 1, &x[3], &y[3]);
        if (!OCTTransform(ct, 4, x, y, z)) {
            st = gd_job_error(job, GD_EINPUT,
                              "pixel corners of row %d of %s cannot be transformed to WGS84",
                              r, what);
            goto done;
        }
        double area = 0, perim = 0;
        geod_polygonarea(&geod, y, x, 4, &area, &perim);
        g->row_area_m2[r] = fabs(area);
    }
done:
    OCTDestroyCoordinateTransformation(ct);
    return st;
}

int gd_grid_from_source(gd_job *job, const gd_source *ref, gd_grid **out)
{
    int st = GD_OK;
    gd_grid *g = calloc(1, sizeof *g);
    *out = NULL;
    if (!g)
        return gd_job_error(job, GD_EPROC, "out of memory");
    g->width = ref->width;
    g->height = ref->height;
    memcpy(g->gt, ref->gt, sizeof g->gt);
    if (!ref->has_crs) {
        *out = g;
        return GD_OK;
    }
    if (!(g->wkt = strdup(ref->wkt))) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    if ((st = row_areas(job, g, ref->path)) != GD_OK)
        goto done;
    *out = g;
    g = NULL;
done:
    gd_grid_destroy(g);
    return st;
}

/* Bounds (minx, miny, maxx, maxy) in the CRS t of a box given in the CRS s. */
static int bounds_to(OGRSpatialReferenceH s, OGRSpatialReferenceH t, const double in[4],
                     double out[4])
{
    if (OSRIsSame(s, t)) {
        memcpy(out, in, 4 * sizeof(double));
        return 1;
    }
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(s, t);
    int ok = ct && OCTTransformBounds(ct, in[0], in[1], in[2], in[3], &out[0], &out[1], &out[2],
                                      &out[3], 21);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    return ok;
}

/* Extent of the first layer of the AOI file in the CRS tgt. */
static int aoi_bounds(gd_job *job, const char *aoi, OGRSpatialReferenceH tgt, double b[4],
                      long long *features)
{
    int st = GD_OK;
    CPLErrorReset();
    GDALDatasetH ds = GDALOpenEx(aoi, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds)
        return gd_job_error_gdal(job, GD_EINPUT, "cannot open the AOI %s as vector data", aoi);
    OGRLayerH lyr = GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL;
    OGREnvelope e;
    if (!lyr) {
        st = gd_job_error(job, GD_EINPUT, "the AOI %s has no layer", aoi);
        goto done;
    }
    if (GDALDatasetGetLayerCount(ds) > 1)
        gd_job_warn(job, "the AOI %s has %d layers: only the first (%s) is used", aoi,
                    GDALDatasetGetLayerCount(ds), OGR_L_GetName(lyr));
    *features = (long long)OGR_L_GetFeatureCount(lyr, TRUE);
    if (*features <= 0 || OGR_L_GetExtent(lyr, &e, TRUE) != OGRERR_NONE) {
        st = gd_job_error(job, GD_EINPUT, "the AOI %s has no feature with a geometry", aoi);
        goto done;
    }
    OGRSpatialReferenceH s = OGR_L_GetSpatialRef(lyr);
    if (!s) {
        st = gd_job_error(job, GD_EINPUT,
                          "the AOI %s has no CRS (hint: GeoJSON is WGS84 longitude/latitude; "
                          "other formats need their .prj or an embedded CRS)", aoi);
        goto done;
    }
    OGRSpatialReferenceH sc = OSRClone(s);
    OSRSetAxisMappingStrategy(sc, OAMS_TRADITIONAL_GIS_ORDER);
    double in[4] = {e.MinX, e.MinY, e.MaxX, e.MaxY};
    int ok = bounds_to(sc, tgt, in, b);
    OSRDestroySpatialReference(sc);
    if (!ok)
        st = gd_job_error_gdal(job, GD_EINPUT,
                               "the extent of the AOI %s cannot be transformed into the grid's "
                               "CRS", aoi);
done:
    GDALClose(ds);
    return st;
}

int gd_grid_build(gd_job *job, const gd_source *ref, const char *aoi, const char *t_srs,
                  double res, gd_grid **out)
{
    int st = GD_OK;
    gd_grid *g = calloc(1, sizeof *g);
    OGRSpatialReferenceH rs = NULL, ts = NULL;
    void *tr = NULL;
    long long features = 0;
    *out = NULL;
    if (!g)
        return gd_job_error(job, GD_EPROC, "out of memory");
    if (!ref->has_crs) {
        st = gd_job_error(job, GD_EINPUT,
                          "--aoi, --t-srs and --res need georeferenced images: %s has no CRS",
                          ref->path);
        goto done;
    }
    if (!(rs = srs_from_wkt(ref->wkt))) {
        st = gd_job_error_gdal(job, GD_EINPUT, "the CRS of %s cannot be read", ref->path);
        goto done;
    }
    if (t_srs) {
        ts = OSRNewSpatialReference(NULL);
        CPLErrorReset();
        if (OSRSetFromUserInput(ts, t_srs) != OGRERR_NONE) {
            st = gd_job_error_gdal(job, GD_EUSAGE,
                                   "--t-srs '%s' is not a CRS (e.g. EPSG:32633, a WKT or "
                                   "PROJ string)", t_srs);
            goto done;
        }
        OSRSetAxisMappingStrategy(ts, OAMS_TRADITIONAL_GIS_ORDER);
    } else {
        ts = OSRClone(rs);
        OSRSetAxisMappingStrategy(ts, OAMS_TRADITIONAL_GIS_ORDER);
    }
    const int same_crs = OSRIsSame(rs, ts);
    char *wkt = NULL;
    const char *wopts[] = {"FORMAT=WKT2_2019", NULL};
    if (OSRExportToWktEx(ts, &wkt, wopts) != OGRERR_NONE || !wkt) {
        CPLFree(wkt);
        st = gd_job_error_gdal(job, GD_EINPUT, "the grid's CRS cannot be written as WKT");
        goto done;
    }
    g->wkt = same_crs ? strdup(ref->wkt) : strdup(wkt);
    CPLFree(wkt);
    if (!g->wkt) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }

    /* the before image's footprint in the grid's CRS, and GDAL's suggested pixel size */
    double rb[4], fb[4], rx, ry;
    gt_bounds(ref->gt, ref->width, ref->height, rb);
    if (!bounds_to(rs, ts, rb, fb)) {
        st = gd_job_error_gdal(job, GD_EINPUT,
                               "the extent of %s cannot be transformed into the grid's CRS",
                               ref->path);
        goto done;
    }
    const int north_up = ref->gt[2] == 0.0 && ref->gt[4] == 0.0;
    if (same_crs && north_up) {
        rx = fabs(ref->gt[1]);
        ry = fabs(ref->gt[5]);
    } else {
        tr = GDALCreateGenImgProjTransformer(ref->ds, ref->wkt, NULL, g->wkt, FALSE, 0.0, 0);
        double sgt[6], ext[4];
        int sw = 0, sh = 0;
        if (!tr || GDALSuggestedWarpOutput2(ref->ds, GDALGenImgProjTransform, tr, sgt, &sw, &sh,
                                            ext, 0) != CE_None) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot work out %s's pixel size in the "
                                   "grid's CRS", ref->path);
            goto done;
        }
        rx = ry = fabs(sgt[1]);
    }
    if (res > 0.0)
        rx = ry = res;
    /* the lattice: the before image's own when it is kept, else multiples of the size */
    const int lattice = same_crs && north_up && fabs(rx - fabs(ref->gt[1])) <= 1e-9 * rx &&
                        fabs(ry - fabs(ref->gt[5])) <= 1e-9 * ry;
    const double ox = lattice ? ref->gt[0] : 0.0, oy = lattice ? ref->gt[3] : 0.0;

    double b[4];
    memcpy(b, fb, sizeof b);
    if (aoi) {
        double ab[4];
        if ((st = aoi_bounds(job, aoi, ts, ab, &features)) != GD_OK)
            goto done;
        b[0] = fmax(fb[0], ab[0]);
        b[1] = fmax(fb[1], ab[1]);
        b[2] = fmin(fb[2], ab[2]);
        b[3] = fmin(fb[3], ab[3]);
        if (!(b[0] < b[2] && b[1] < b[3])) {
            st = gd_job_error(job, GD_EINPUT,
                              "the AOI %s does not overlap the before image %s (AOI %.6g %.6g "
                              "%.6g %.6g, image %.6g %.6g %.6g %.6g in the grid's CRS)",
                              aoi, ref->path, ab[0], ab[1], ab[2], ab[3], fb[0], fb[1], fb[2],
                              fb[3]);
            goto done;
        }
        if (!(g->cutline = strdup(aoi))) {
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
    }
    /* outward to whole pixels of the lattice (a tiny tolerance keeps exact edges) */
    double x0 = ox + floor((b[0] - ox) / rx + 1e-9) * rx;
    double x1 = ox + ceil((b[2] - ox) / rx - 1e-9) * rx;
    double y1 = oy - floor((oy - b[3]) / ry + 1e-9) * ry;
    double y0 = oy - ceil((oy - b[1]) / ry - 1e-9) * ry;
    double w = round((x1 - x0) / rx), h = round((y1 - y0) / ry);
    if (w < 1 || h < 1 || w > 1e6 || h > 1e6 || w * h > 4e10) {
        st = gd_job_error(job, GD_EUSAGE,
                          "the grid would be %.0fx%.0f pixels (pixel size %g x %g): check --res "
                          "and --t-srs", w, h, rx, ry);
        goto done;
    }
    g->width = (int)w;
    g->height = (int)h;
    g->gt[0] = x0;
    g->gt[1] = rx;
    g->gt[2] = 0.0;
    g->gt[3] = y1;
    g->gt[4] = 0.0;
    g->gt[5] = -ry;
    if ((st = row_areas(job, g, "the grid")) != GD_OK)
        goto done;
    gd_job_info(job, "grid: %dx%d px of %g x %g, origin %.10g %.10g%s%s%s", g->width, g->height,
                rx, ry, x0, y1, lattice ? " (the before image's pixels)" : "",
                t_srs ? ", CRS " : "", t_srs ? t_srs : "");
    json_object_set_new(gd_job_auto(job), "grid",
                        json_pack("{s:i, s:i, s:[f,f,f,f,f,f], s:b, s:b, s:o}", "width", g->width,
                                  "height", g->height, "geotransform", g->gt[0], g->gt[1],
                                  g->gt[2], g->gt[3], g->gt[4], g->gt[5], "before_lattice",
                                  lattice, "reprojected", !same_crs, "aoi_features",
                                  aoi ? json_integer(features) : json_null()));
    *out = g;
    g = NULL;
done:
    if (tr)
        GDALDestroyGenImgProjTransformer(tr);
    if (rs)
        OSRDestroySpatialReference(rs);
    if (ts)
        OSRDestroySpatialReference(ts);
    gd_grid_destroy(g);
    return st;
}

void gd_grid_destroy(gd_grid *grid)
{
    if (!grid)
        return;
    free(grid->wkt);
    free(grid->row_area_m2);
    free(grid->cutline);
    free(grid);
}

double gd_grid_pixel_area(const gd_grid *grid, int row)
{
    if (!grid->row_area_m2 || row < 0 || row >= grid->height)
        return -1.0;
    return grid->row_area_m2[row];
}

static int same_crs(const char *a, const char *b)
{
    OGRSpatialReferenceH sa = srs_from_wkt(a), sb = srs_from_wkt(b);
    int same = sa && sb && OSRIsSame(sa, sb);
    if (sa)
        OSRDestroySpatialReference(sa);
    if (sb)
        OSRDestroySpatialReference(sb);
    return same;
}

/* Bounds of src in the grid's CRS; 0 when they cannot be computed. */
static int src_bounds_in_grid(const gd_grid *grid, const gd_source *src, double b[4])
{
    double sb[4];
    gt_bounds(src->gt, src->width, src->height, sb);
    OGRSpatialReferenceH s = srs_from_wkt(src->wkt), t = srs_from_wkt(grid->wkt);
    int ok = s && t && bounds_to(s, t, sb, b);
    if (s)
        OSRDestroySpatialReference(s);
    if (t)
        OSRDestroySpatialReference(t);
    return ok;
}

GDALDatasetH gd_grid_warp(const gd_grid *grid, GDALDatasetH src, const char *const *args)
{
    char te[4][64], ts[2][32];
    double gb[4];
    gd_grid_box(grid, gb);
    for (int i = 0; i < 4; i++)
        snprintf(te[i], sizeof te[i], "%.17g", gb[i]);
    snprintf(ts[0], sizeof ts[0], "%d", grid->width);
    snprintf(ts[1], sizeof ts[1], "%d", grid->height);
    char *argv[32] = {"-of", "VRT", "-te", te[0], te[1], te[2], te[3], "-ts", ts[0], ts[1]};
    size_t n = 10;
    for (size_t i = 0; args[i] && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    CPLErrorReset();
    GDALWarpAppOptions *opts = GDALWarpAppOptionsNew(argv, NULL);
    if (!opts)
        return NULL;
    GDALDatasetH srcs[1] = {src};
    int usage_error = 0;
    GDALDatasetH vrt = GDALWarp("", NULL, 1, srcs, opts, &usage_error);
    GDALWarpAppOptionsFree(opts);
    return vrt;
}

/* below this fraction of the grid covered by a date, the run warns (issue 20) */
#define GD_MIN_OVERLAP 0.10

static int align(gd_job *job, const gd_grid *grid, const gd_source *src, int nearest,
                 GDALDatasetH *out, int *owned)
{
    *out = NULL;
    *owned = 0;
    if (!grid->wkt || !src->has_crs) {
        if (grid->wkt || src->has_crs)
            return gd_job_error(job, GD_EINPUT,
                                "%s has %s CRS but the before image has %s: both dates need "
                                "a CRS, or neither",
                                src->path, src->has_crs ? "a" : "no", grid->wkt ? "one" : "none");
        if (src->width != grid->width || src->height != grid->height)
            return gd_job_error(job, GD_EINPUT,
                                "%s has no CRS and is %dx%d while the before image is %dx%d: "
                                "without a CRS both images must have the same size",
                                src->path, src->width, src->height, grid->width, grid->height);
        *out = src->ds;
        return GD_OK;
    }
    int same_gt = 1;
    for (int i = 0; i < 6; i++)
        same_gt &= fabs(grid->gt[i] - src->gt[i]) <= 1e-9 * fmax(1.0, fabs(grid->gt[i]));
    int same = same_gt && src->width == grid->width && src->height == grid->height &&
               same_crs(grid->wkt, src->wkt);
    if (same) {
        *out = src->ds;
        return GD_OK;
    }
    /* extents must overlap */
    double b[4], gb[4];
    gd_grid_box(grid, gb);
    if (!src_bounds_in_grid(grid, src, b))
        return gd_job_error_gdal(job, GD_EINPUT,
                                 "the extent of %s cannot be transformed into the before "
                                 "image's CRS", src->path);
    if (b[2] <= gb[0] || b[0] >= gb[2] || b[3] <= gb[1] || b[1] >= gb[3])
        return gd_job_error(job, GD_EINPUT,
                            "the two dates do not overlap: %s lies outside the analysis grid "
                            "(the before image's extent, or the AOI) (hint: check that both "
                            "images cover the same area)",
                            src->path);
    if (!nearest) {
        /* a sliver of overlap runs to the end with changes found only there: said */
        double ix = fmin(b[2], gb[2]) - fmax(b[0], gb[0]), iy = fmin(b[3], gb[3]) - fmax(b[1], gb[1]);
        double frac = ix * iy / ((gb[2] - gb[0]) * (gb[3] - gb[1]));
        if (frac < GD_MIN_OVERLAP)
            gd_job_warn(job, "%s covers only %.2f %% of the analysis grid: change can only be "
                        "found there (hint: check that both images cover the same area)",
                        src->path, 100.0 * frac);
    }

    const char *args[] = {"-t_srs", grid->wkt, "-r", "bilinear", "-ot", "Float32",
                          "-dstnodata", "nan", NULL};
    if (nearest) { /* class and bit-flag rasters: never interpolated, keep their type */
        args[3] = "near";
        args[4] = NULL;
    }
    GDALDatasetH vrt = gd_grid_warp(grid, src->ds, args);
    if (!vrt)
        return gd_job_error_gdal(job, GD_EPROC, "cannot warp %s onto the analysis grid",
                                 src->path);
    gd_job_info(job, "%s warped onto the analysis grid (%dx%d, %s)", src->path,
                grid->width, grid->height, nearest ? "nearest" : "bilinear");
    *out = vrt;
    *owned = 1;
    return GD_OK;
}

int gd_grid_align(gd_job *job, const gd_grid *grid, const gd_source *src,
                  GDALDatasetH *out, int *owned)
{
    return align(job, grid, src, 0, out, owned);
}

int gd_grid_align_nearest(gd_job *job, const gd_grid *grid, const gd_source *src,
                          GDALDatasetH *out, int *owned)
{
    return align(job, grid, src, 1, out, owned);
}

int gd_grid_cut(gd_job *job, const gd_grid *grid, GDALDatasetH ds, GDALDatasetH *out)
{
    /* same grid, nearest: every pixel inside the polygons is copied as it is */
    const char *args[] = {"-r", "near", "-ot", "Float32", "-dstnodata", "nan", "-cutline",
                          grid->cutline, NULL};
    if (!(*out = gd_grid_warp(grid, ds, args)))
        return gd_job_error_gdal(job, GD_EINPUT, "cannot cut the images to the AOI %s",
                                 grid->cutline);
    return GD_OK;
}
