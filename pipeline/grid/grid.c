/* grid.c: the analysis grid, per-row geodesic pixel areas, and warping onto the grid. */
#include "geodelta/stages.h"

#include <cpl_conv.h>
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

int gd_grid_from_source(gd_job *job, const gd_source *ref, gd_grid **out)
{
    int st = GD_OK;
    OGRCoordinateTransformationH ct = NULL;
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
    g->wkt = strdup(ref->wkt);
    ct = to_wgs84(ref->wkt);
    if (!ct) {
        st = gd_job_error_gdal(job, GD_EINPUT, "CRS of %s cannot be transformed to WGS84",
                               ref->path);
        goto done;
    }
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
                              r, ref->path);
            goto done;
        }
        double area = 0, perim = 0;
        geod_polygonarea(&geod, y, x, 4, &area, &perim);
        g->row_area_m2[r] = fabs(area);
    }
    *out = g;
    g = NULL;
done:
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    gd_grid_destroy(g);
    return st;
}

void gd_grid_destroy(gd_grid *grid)
{
    if (!grid)
        return;
    free(grid->wkt);
    free(grid->row_area_m2);
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
    double x[4], y[4];
    pix2geo(src->gt, 0, 0, &x[0], &y[0]);
    pix2geo(src->gt, src->width, 0, &x[1], &y[1]);
    pix2geo(src->gt, src->width, src->height, &x[2], &y[2]);
    pix2geo(src->gt, 0, src->height, &x[3], &y[3]);
    double minx = fmin(fmin(x[0], x[1]), fmin(x[2], x[3]));
    double maxx = fmax(fmax(x[0], x[1]), fmax(x[2], x[3]));
    double miny = fmin(fmin(y[0], y[1]), fmin(y[2], y[3]));
    double maxy = fmax(fmax(y[0], y[1]), fmax(y[2], y[3]));
    OGRSpatialReferenceH s = srs_from_wkt(src->wkt), t = srs_from_wkt(grid->wkt);
    OGRCoordinateTransformationH ct = (s && t) ? OCTNewCoordinateTransformation(s, t) : NULL;
    int ok = 0;
    if (ct)
        ok = OCTTransformBounds(ct, minx, miny, maxx, maxy, &b[0], &b[1], &b[2], &b[3], 21);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (s)
        OSRDestroySpatialReference(s);
    if (t)
        OSRDestroySpatialReference(t);
    return ok;
}

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
    double b[4];
    double gx0 = grid->gt[0], gy0 = grid->gt[3];
    double gx1 = grid->gt[0] + grid->width * grid->gt[1] + grid->height * grid->gt[2];
    double gy1 = grid->gt[3] + grid->width * grid->gt[4] + grid->height * grid->gt[5];
    if (!src_bounds_in_grid(grid, src, b))
        return gd_job_error_gdal(job, GD_EINPUT,
                                 "the extent of %s cannot be transformed into the before "
                                 "image's CRS", src->path);
    if (b[2] <= fmin(gx0, gx1) || b[0] >= fmax(gx0, gx1) || b[3] <= fmin(gy0, gy1) ||
        b[1] >= fmax(gy0, gy1))
        return gd_job_error(job, GD_EINPUT,
                            "the two dates do not overlap: %s lies outside the before image's "
                            "extent (hint: check that both images cover the same area)",
                            src->path);

    char te[4][64], ts[2][32];
    snprintf(te[0], sizeof te[0], "%.17g", fmin(gx0, gx1));
    snprintf(te[1], sizeof te[1], "%.17g", fmin(gy0, gy1));
    snprintf(te[2], sizeof te[2], "%.17g", fmax(gx0, gx1));
    snprintf(te[3], sizeof te[3], "%.17g", fmax(gy0, gy1));
    snprintf(ts[0], sizeof ts[0], "%d", grid->width);
    snprintf(ts[1], sizeof ts[1], "%d", grid->height);
    char *argv[] = {"-of", "VRT", "-t_srs", grid->wkt, "-te", te[0], te[1], te[2], te[3],
                    "-ts", ts[0], ts[1], "-r", "bilinear", "-ot", "Float32",
                    "-dstnodata", "nan", NULL};
    if (nearest) { /* class and bit-flag rasters: never interpolated, keep their type */
        argv[13] = "near";
        argv[14] = NULL;
    }
    GDALWarpAppOptions *opts = GDALWarpAppOptionsNew(argv, NULL);
    if (!opts)
        return gd_job_error_gdal(job, GD_EPROC, "cannot set up the warp of %s", src->path);
    GDALDatasetH srcs[1] = {src->ds};
    int usage_error = 0;
    CPLErrorReset();
    GDALDatasetH vrt = GDALWarp("", NULL, 1, srcs, opts, &usage_error);
    GDALWarpAppOptionsFree(opts);
    if (!vrt)
        return gd_job_error_gdal(job, GD_EPROC, "cannot warp %s onto the before image's grid",
                                 src->path);
    gd_job_info(job, "%s warped onto the before grid (%dx%d, %s)", src->path,
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
