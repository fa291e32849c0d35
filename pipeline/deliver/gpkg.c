/* gpkg.c: change.gpkg: the run's vector layers in one GeoPackage, each with its QGIS
 * style as the default in the layer_styles table, so that QGIS opens them styled. */
#include "geodelta/deliver.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <stdio.h>
#include <string.h>

/* the one timestamp written anywhere in the file: the same inputs give the same bytes */
#define PINNED_DATE "2000-01-01T00:00:00.000Z"

static OGRLayerH styles_layer(GDALDatasetH ds)
{
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "layer_styles");
    if (l)
        return l;
    /* QGIS's own layout of the table (QgsOgrProviderUtils / saveStyle) */
    char **lco = CSLSetNameValue(NULL, "FID", "id");
    l = GDALDatasetCreateLayer(ds, "layer_styles", NULL, wkbNone, lco);
    CSLDestroy(lco);
    if (!l)
        return NULL;
    static const struct { const char *name; OGRFieldType t; int width; } fields[] = {
        {"f_table_catalog", OFTString, 256}, {"f_table_schema", OFTString, 256},
        {"f_table_name", OFTString, 256},    {"f_geometry_column", OFTString, 256},
        {"styleName", OFTString, 30},        {"styleQML", OFTString, 0},
        {"styleSLD", OFTString, 0},          {"useAsDefault", OFTInteger, 0},
        {"description", OFTString, 0},       {"owner", OFTString, 30},
        {"ui", OFTString, 30},               {"update_time", OFTDateTime, 0}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[i].name, fields[i].t);
        if (fields[i].width)
            OGR_Fld_SetWidth(fd, fields[i].width);
        if (strcmp(fields[i].name, "useAsDefault") == 0)
            OGR_Fld_SetSubType(fd, OFSTBoolean);
        OGR_L_CreateField(l, fd, TRUE);
        OGR_Fld_Destroy(fd);
    }
    return l;
}

int gd_gpkg_add_style(gd_job *job, void *dsv, const char *table, const char *geom_col,
                      const char *qml, const char *sld)
{
    GDALDatasetH ds = dsv;
    OGRLayerH l = styles_layer(ds);
    if (!l)
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot create the layer_styles table");
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_table_catalog"), "");
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_table_schema"), "");
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_table_name"), table);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "f_geometry_column"), geom_col);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "styleName"), table);
    if (qml)
        OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "styleQML"), qml);
    if (sld)
        OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "styleSLD"), sld);
    OGR_F_SetFieldInteger(f, OGR_F_GetFieldIndex(f, "useAsDefault"), 1);
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "description"), "geodelta");
    OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "owner"), "");
    OGR_F_SetFieldDateTimeEx(f, OGR_F_GetFieldIndex(f, "update_time"), 2000, 1, 1, 0, 0, 0.0f,
                             100);
    OGRErr e = OGR_L_CreateFeature(l, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? GD_OK
                            : gd_job_error_gdal(job, GD_EOUTPUT, "cannot store the style of %s",
                                                table);
}

int gd_gpkg_write(gd_job *job, const char *path, const gd_gpkg_layer *layers, size_t n,
                  int (*extra)(gd_job *job, void *ds, void *arg), void *arg)
{
    return gd_gpkg_write_dated(job, path, layers, n, extra, arg, NULL);
}

int gd_gpkg_write_dated(gd_job *job, const char *path, const gd_gpkg_layer *layers, size_t n,
                        int (*extra)(gd_job *job, void *ds, void *arg), void *arg,
                        const char *date)
{
    char tmp[4096], base[4096];
    int st = gd_tmp_name(job, path, base, sizeof base);
    GDALDatasetH out = NULL;
    if (st != GD_OK)
        return st;
    /* the driver wants the .gpkg extension */
    if (snprintf(tmp, sizeof tmp, "%s.gpkg", base) >= (int)sizeof tmp)
        return gd_job_error(job, GD_EOUTPUT, "output path too long: %s", path);
    GDALDriverH drv = GDALGetDriverByName("GPKG");
    if (!drv)
        return gd_job_error(job, GD_EPROC, "GDAL has no GPKG driver");
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", date ? date : PINNED_DATE);
    VSIUnlink(tmp);
    out = GDALCreate(drv, tmp, 0, 0, 0, GDT_Unknown, NULL);
    if (!out) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot create %s", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!layers[i].src)
            continue;
        GDALDatasetH src = GDALOpenEx(layers[i].src, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL,
                                      NULL, NULL);
        OGRLayerH sl = src && GDALDatasetGetLayerCount(src) > 0 ? GDALDatasetGetLayer(src, 0)
                                                                : NULL;
        OGRLayerH dl = sl ? GDALDatasetCopyLayer(out, sl, layers[i].name, NULL) : NULL;
        if (src)
            GDALClose(src);
        if (!dl) {
            st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot copy %s into %s", layers[i].src,
                                   path);
            goto done;
        }
        if ((st = gd_gpkg_add_style(job, out, layers[i].name, "geom", layers[i].qml,
                                    layers[i].sld)) != GD_OK)
            goto done;
    }
    if (extra && (st = extra(job, out, arg)) != GD_OK)
        goto done;
    CPLErrorReset();
    GDALClose(out);
    out = NULL;
    if (CPLGetLastErrorType() >= CE_Failure) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot finish writing %s", path);
        goto done;
    }
    st = gd_commit_file(job, tmp, path);
done:
    if (out)
        GDALClose(out);
    if (st != GD_OK)
        VSIUnlink(tmp);
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", NULL);
    return st;
}
