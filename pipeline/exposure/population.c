/* population.c: people per pixel of the analysis grid from a population raster of any
 * grid and CRS (WorldPop, GHSL...), area-weighted so that the count is preserved. */
#include "geodelta/exposure.h"
#include "geodelta/limits.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <geodesic.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Geodesic area (m²) of the quadrilateral with these lon/lat corners. */
static double quad_area(const struct geod_geodesic *g, const double lon[4], const double lat[4])
{
    double lo[4], la[4], area = 0.0, perim = 0.0;
    memcpy(lo, lon, sizeof lo);
    memcpy(la, lat, sizeof la);
    geod_polygonarea(g, la, lo, 4, &area, &perim);
    return fabs(area);
}

/* The true (geodesic) area of one source cell of row r, taken at column c: per row, as
 * the scale of the CRSs population grids come in (geographic, Mercator, Mollweide,
 * UTM) varies with latitude, not (or hardly) across a row. 0 when it cannot be found. */
static double cell_area(const struct geod_geodesic *g, OGRCoordinateTransformationH to_ll,
                        const double gt[6], double c, double r)
{
    double x[4], y[4], z[4] = {0};
    const double dc[4] = {0, 1, 1, 0}, dr[4] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++) {
        x[i] = gt[0] + (c + dc[i]) * gt[1] + (r + dr[i]) * gt[2];
        y[i] = gt[3] + (c + dc[i]) * gt[4] + (r + dr[i]) * gt[5];
    }
    if (to_ll && !OCTTransform(to_ll, 4, x, y, z))
        return 0.0;
    return quad_area(g, x, y);
}

int gd_population_on_grid(gd_job *job, const gd_grid *grid, const char *path, float **people,
                          double *source_total)
{
    int st = GD_OK;
    GDALDatasetH src = NULL, mem = NULL, warped = NULL;
    OGRSpatialReferenceH psrs = NULL, gsrs = NULL, wgs = NULL;
    OGRCoordinateTransformationH to_pop = NULL, to_ll = NULL;
    float *dens = NULL, *out = NULL;
    struct geod_geodesic geod;
    geod_init(&geod, 6378137.0, 1.0 / 298.257223563);
    *people = NULL;
    *source_total = 0.0;
    if (!grid->wkt || !grid->row_area_m2)
        return gd_job_error(job, GD_EINPUT, "--population %s: the images have no CRS, so the "
                            "population cannot be placed on them", path);
    src = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!src)
        return gd_job_error_gdal(job, GD_EINPUT, "cannot open population raster %s", path);
    double pgt[6];
    const char *pwkt = GDALGetProjectionRef(src);
    if (GDALGetGeoTransform(src, pgt) != CE_None || !pwkt || !*pwkt) {
        st = gd_job_error(job, GD_EINPUT, "population raster %s has no georeferencing (a CRS "
                          "and a geotransform are needed)", path);
        goto done;
    }
    psrs = OSRNewSpatialReference(NULL);
    gsrs = OSRNewSpatialReference(NULL);
    wgs = OSRNewSpatialReference(NULL);
    if (OSRSetFromUserInput(psrs, pwkt) != OGRERR_NONE ||
        OSRSetFromUserInput(gsrs, grid->wkt) != OGRERR_NONE) {
        st = gd_job_error_gdal(job, GD_EINPUT, "the CRS of population raster %s is not "
                               "understood", path);
        goto done;
    }
    OSRImportFromEPSG(wgs, 4326);
    OSRSetAxisMappingStrategy(psrs, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(gsrs, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    int geographic = OSRIsGeographic(psrs);
    if (!(to_pop = OCTNewCoordinateTransformation(gsrs, psrs)) ||
        (!geographic && !(to_ll = OCTNewCoordinateTransformation(psrs, wgs)))) {
        st = gd_job_error_gdal(job, GD_EINPUT, "the CRS of population raster %s cannot be "
                               "transformed to the images' CRS", path);
        goto done;
    }
    /* the source cells under the grid's box, with two cells of zeros around them so that
     * the warp's edge pixels average over "no people" instead of over fewer cells */
    double gb[4], pb[4];
    gd_grid_box(grid, gb);
    if (!OCTTransformBounds(to_pop, gb[0], gb[1], gb[2], gb[3], &pb[0], &pb[1], &pb[2], &pb[3],
                            21)) {
        st = gd_job_error_gdal(job, GD_EINPUT, "the grid cannot be placed in the CRS of "
                               "population raster %s", path);
        goto done;
    }
    double inv[6];
    if (!GDALInvGeoTransform(pgt, inv)) {
        st = gd_job_error(job, GD_EINPUT, "population raster %s has a degenerate geotransform",
                          path);
        goto done;
    }
    double c0 = INFINITY, c1 = -INFINITY, r0 = INFINITY, r1 = -INFINITY;
    for (int i = 0; i < 4; i++) {
        double x = pb[(i & 1) ? 2 : 0], y = pb[(i & 2) ? 3 : 1];
        double c = inv[0] + x * inv[1] + y * inv[2], r = inv[3] + x * inv[4] + y * inv[5];
        c0 = fmin(c0, c), c1 = fmax(c1, c), r0 = fmin(r0, r), r1 = fmax(r1, r);
    }
    int sw = GDALGetRasterXSize(src), sh = GDALGetRasterYSize(src);
    /* the window (x0, y0, w, h) in source cells; it may reach past the raster */
    double fx0 = floor(c0) - 2, fy0 = floor(r0) - 2, fx1 = ceil(c1) + 2, fy1 = ceil(r1) + 2;
    if (fx1 <= 0 || fy1 <= 0 || fx0 >= sw || fy0 >= sh) {
        gd_job_warn(job, "population raster %s does not overlap the images: 0 people", path);
        fx0 = 0, fy0 = 0, fx1 = 1, fy1 = 1;
    }
    if ((fx1 - fx0) * (fy1 - fy0) > 4e9) {
        st = gd_job_error(job, GD_EINPUT, "population raster %s: %.0fx%.0f cells under the "
                          "grid are too many", path, fx1 - fx0, fy1 - fy0);
        goto done;
    }
    int x0 = (int)fx0, y0 = (int)fy0, w = (int)(fx1 - fx0), h = (int)(fy1 - fy0);
    size_t npx = (size_t)grid->width * (size_t)grid->height;
    if ((st = gd_limits_check_memory(job, "the population on the grid",
                                     (uint64_t)w * (uint64_t)h * 4u + npx * 4u)) != GD_OK)
        goto done;
    dens = calloc((size_t)w * (size_t)h, sizeof *dens);
    out = malloc(npx * sizeof *out);
    if (!dens || !out) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the population");
        goto done;
    }
    int rx0 = x0 < 0 ? 0 : x0, ry0 = y0 < 0 ? 0 : y0;
    int rx1 = x0 + w > sw ? sw : x0 + w, ry1 = y0 + h > sh ? sh : y0 + h;
    GDALRasterBandH band = GDALGetRasterBand(src, 1);
    int has_nd = 0;
    double nd = GDALGetRasterNoDataValue(band, &has_nd);
    double total = 0.0;
    if (rx1 > rx0 && ry1 > ry0) {
        /* read row by row into the window (its stride is w) */
        for (int r = ry0; r < ry1; r++) {
            float *row = dens + (size_t)(r - y0) * (size_t)w + (size_t)(rx0 - x0);
            if (GDALRasterIO(band, GF_Read, rx0, r, rx1 - rx0, 1, row, rx1 - rx0, 1,
                             GDT_Float32, 0, 0) != CE_None) {
                st = gd_job_error_gdal(job, GD_EINPUT, "cannot read population raster %s", path);
                goto done;
            }
        }
        int ccol = (rx0 + rx1) / 2;
        for (int r = ry0; r < ry1; r++) {
            double a = cell_area(&geod, to_ll, pgt, ccol, r);
            float *row = dens + (size_t)(r - y0) * (size_t)w + (size_t)(rx0 - x0);
            for (int x = 0; x < rx1 - rx0; x++) {
                float v = row[x];
                if (!isfinite(v) || v < 0 || (has_nd && (double)v == (double)(float)nd)) {
                    row[x] = 0.0f;
                    continue;
                }
                total += v;
                row[x] = a > 0 ? (float)(v / a) : 0.0f;
            }
        }
    }
    *source_total = total;
    /* the window as a dataset of its own, in people per m² */
    char name[256];
    snprintf(name, sizeof name, "MEM:::DATAPOINTER=%p,PIXELS=%d,LINES=%d,BANDS=1,DATATYPE=Float32",
             (void *)dens, w, h);
    mem = GDALOpen(name, GA_Update);
    if (!mem) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot wrap the population window");
        goto done;
    }
    double wgt[6];
    memcpy(wgt, pgt, sizeof wgt);
    wgt[0] = pgt[0] + x0 * pgt[1] + y0 * pgt[2];
    wgt[3] = pgt[3] + x0 * pgt[4] + y0 * pgt[5];
    GDALSetGeoTransform(mem, wgt);
    GDALSetProjection(mem, pwkt);
    /* "average" weighs each source cell by the fraction of the grid pixel it covers:
     * the density's area-weighted mean, so density x pixel area keeps the count */
    const char *args[] = {"-t_srs", grid->wkt, "-r", "average", "-ot", "Float32",
                          "-wo", "INIT_DEST=0", "-dstnodata", "None", NULL};
    warped = gd_grid_warp(grid, mem, args);
    if (!warped) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot warp population raster %s onto the grid",
                               path);
        goto done;
    }
    if (GDALRasterIO(GDALGetRasterBand(warped, 1), GF_Read, 0, 0, grid->width, grid->height,
                     out, grid->width, grid->height, GDT_Float32, 0, 0) != CE_None) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot warp population raster %s onto the grid",
                               path);
        goto done;
    }
    double on_grid = 0.0;
    for (int r = 0; r < grid->height; r++) {
        float *row = out + (size_t)r * (size_t)grid->width;
        double a = grid->row_area_m2[r], s = 0.0;
        for (int x = 0; x < grid->width; x++) {
            row[x] = isfinite(row[x]) && row[x] > 0 ? (float)(row[x] * a) : 0.0f;
            s += row[x];
        }
        on_grid += s;
    }
    gd_job_info(job, "population %s: %.1f people on the grid (%.1f in the source cells the "
                "grid's box reaches)", path, on_grid, total);
    *people = out;
    out = NULL;
done:
    if (warped)
        GDALClose(warped);
    if (mem)
        GDALClose(mem);
    if (src)
        GDALClose(src);
    if (to_pop)
        OCTDestroyCoordinateTransformation(to_pop);
    if (to_ll)
        OCTDestroyCoordinateTransformation(to_ll);
    if (psrs)
        OSRDestroySpatialReference(psrs);
    if (gsrs)
        OSRDestroySpatialReference(gsrs);
    if (wgs)
        OSRDestroySpatialReference(wgs);
    free(dens);
    free(out);
    return st;
}

void gd_people_text(double people, char *buf, size_t len)
{
    double v = people > 0 && isfinite(people) ? people : 0.0;
    if (v >= 1000) { /* three significant figures: a count from a model, not a census */
        double mag = pow(10.0, floor(log10(v)) - 2);
        v = round(v / mag) * mag;
    } else {
        v = round(v);
    }
    char digits[32], grouped[48];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < sizeof grouped; i++) {
        if (i && (n - i) % 3 == 0)
            grouped[o++] = ' ';
        grouped[o++] = digits[i];
    }
    grouped[o] = '\0';
    snprintf(buf, len, "\xe2\x89\x88 %s %s", grouped, v == 1 ? "person" : "people");
}
