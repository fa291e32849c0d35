/* vlayer.c: a vector file's first layer made ready to place on the analysis grid, with
 * the transforms to the grid's CRS and to WGS84 (zones, exposure features). */
#include "geodelta/stages.h"

#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OGRSpatialReferenceH gd_srs_new(const char *wkt_or_epsg4326)
{
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OGRErr e = wkt_or_epsg4326 ? OSRSetFromUserInput(s, wkt_or_epsg4326)
                               : OSRImportFromEPSG(s, 4326);
    if (e != OGRERR_NONE) {
        OSRDestroySpatialReference(s);
        return NULL;
    }
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    return s;
}

int gd_vlayer_open(gd_job *job, const char *path, const char *what, const gd_grid *grid,
                   const char *field, gd_vlayer **out)
{
    int st = GD_OK;
    gd_vlayer *v = calloc(1, sizeof *v);
    *out = NULL;
    if (!v)
        return gd_job_error(job, GD_EPROC, "out of memory");
    v->field = -1;
    v->ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!v->ds) {
        st = gd_job_error_gdal(job, GD_EINPUT, "cannot open %s %s", what, path);
        goto done;
    }
    if (GDALDatasetGetLayerCount(v->ds) < 1) {
        st = gd_job_error(job, GD_EINPUT, "%s %s has no layer", what, path);
        goto done;
    }
    v->layer = GDALDatasetGetLayer(v->ds, 0);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(v->layer);
    if (field && (v->field = OGR_FD_GetFieldIndex(defn, field)) < 0) {
        char names[1024] = "";
        for (int i = 0; i < OGR_FD_GetFieldCount(defn) && strlen(names) < 900; i++) {
            size_t u = strlen(names);
            snprintf(names + u, sizeof names - u, "%s%s", i ? ", " : "",
                     OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
        }
        st = gd_job_error(job, GD_EINPUT, "%s %s has no field '%s' (fields: %s)", what, path,
                          field, names);
        goto done;
    }
    v->gsrs = gd_srs_new(grid->wkt);
    v->wgs = gd_srs_new(NULL);
    OGRSpatialReferenceH ls = OGR_L_GetSpatialRef(v->layer);
    if (ls) {
        v->lsrs = OSRClone(ls);
        OSRSetAxisMappingStrategy(v->lsrs, OAMS_TRADITIONAL_GIS_ORDER);
    } else if (v->gsrs) {
        gd_job_warn(job, "%s %s has no CRS: taken to be in the images' CRS", what, path);
        v->lsrs = OSRClone(v->gsrs);
    }
    if (!v->gsrs || !v->wgs || !v->lsrs ||
        !(v->to_grid = OCTNewCoordinateTransformation(v->lsrs, v->gsrs)) ||
        !(v->to_wgs = OCTNewCoordinateTransformation(v->lsrs, v->wgs))) {
        st = gd_job_error_gdal(job, GD_EINPUT, "the CRS of %s %s cannot be transformed to "
                               "the images' CRS", what, path);
        goto done;
    }
    OGR_L_ResetReading(v->layer);
    *out = v;
    v = NULL;
done:
    gd_vlayer_destroy(v);
    return st;
}

void gd_vlayer_destroy(gd_vlayer *v)
{
    if (!v)
        return;
    if (v->to_grid)
        OCTDestroyCoordinateTransformation(v->to_grid);
    if (v->to_wgs)
        OCTDestroyCoordinateTransformation(v->to_wgs);
    if (v->gsrs)
        OSRDestroySpatialReference(v->gsrs);
    if (v->wgs)
        OSRDestroySpatialReference(v->wgs);
    if (v->lsrs)
        OSRDestroySpatialReference(v->lsrs);
    if (v->ds)
        GDALClose(v->ds);
    free(v);
}
