/* kmz.c: change.kmz for Google Earth: the change polygons styled by class with their
 * figures in the balloon, and the change overlay (an RGBA PNG on a gx:LatLonQuad). */
#define _GNU_SOURCE /* open_memstream */
#include "geodelta/deliver.h"
#include "geodelta/exposure.h"
#include "geodelta/method.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The classes, nearest-neighbour to at most 1024 px on the long side, as an RGBA PNG:
 * change classes in their colours, the rest transparent. */
unsigned char *gd_deliver_overlay_png(gd_job *job, const gd_deliver_run *r, size_t *len)
{
    const uint8_t *classes = r->classes;
    const gd_grid *g = r->grid;
    double f = fmax(1.0, fmax(g->width, g->height) / 1024.0);
    int w = (int)ceil(g->width / f), h = (int)ceil(g->height / f);
    unsigned char *rgba = calloc((size_t)w * (size_t)h, 4), *out = NULL;
    if (!rgba)
        return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t sx = (size_t)fmin(g->width - 1, floor((x + 0.5) * f));
            size_t sy = (size_t)fmin(g->height - 1, floor((y + 0.5) * f));
            uint8_t c = classes[sy * (size_t)g->width + sx];
            if (c < 1 || c >= GD_MAX_CLASSES || !r->m->class_names[c])
                continue;
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            for (int k = 0; k < 3; k++)
                rgba[(size_t)k * (size_t)w * (size_t)h + i] = r->m->class_rgb[c][k];
            rgba[3 * (size_t)w * (size_t)h + i] = 210;
        }
    char name[160], vsi[64];
    snprintf(name, sizeof name, "MEM:::DATAPOINTER=%p,PIXELS=%d,LINES=%d,BANDS=4,DATATYPE=Byte",
             (void *)rgba, w, h);
    snprintf(vsi, sizeof vsi, "/vsimem/geodelta-overlay-%p.png", (void *)rgba);
    GDALDatasetH mem = GDALOpen(name, GA_ReadOnly);
    GDALDatasetH png = mem ? GDALCreateCopy(GDALGetDriverByName("PNG"), vsi, mem, FALSE, NULL,
                                            NULL, NULL)
                           : NULL;
    if (png)
        GDALClose(png);
    if (mem)
        GDALClose(mem);
    vsi_l_offset n = 0;
    GByte *b = png ? VSIGetMemFileBuffer(vsi, &n, FALSE) : NULL;
    if (b && (out = malloc((size_t)n)))
        memcpy(out, b, (size_t)n), *len = (size_t)n;
    VSIUnlink(vsi);
    char aux[96];
    snprintf(aux, sizeof aux, "%s.aux.xml", vsi);
    VSIUnlink(aux);
    free(rgba);
    if (!out)
        gd_job_error_gdal(job, GD_EOUTPUT, "cannot encode the KMZ overlay");
    return out;
}

int gd_kmz_write(gd_job *job, const gd_deliver_run *r, const char *path,
                 const unsigned char *overlay, size_t overlay_len)
{
    int st = GD_OK;
    char *kml = NULL, src[4096];
    size_t kml_len = 0;
    GDALDatasetH ds = NULL;
    double lon[5], lat[5], bbox[4];
    if (!gd_deliver_footprint(r->grid, lon, lat, bbox))
        return GD_OK; /* a pixel grid has no place on the globe */
    FILE *f = open_memstream(&kml, &kml_len);
    if (!f)
        return gd_job_error(job, GD_EPROC, "out of memory");
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\" "
          "xmlns:gx=\"http://www.google.com/kml/ext/2.2\">\n<Document>\n<name>geodelta ", f);
    gd_xml_text(f, r->m->name);
    fputs(" change</name>\n", f);
    for (int c = 1; c < GD_MAX_CLASSES; c++) {
        if (!r->m->class_names[c])
            continue;
        const uint8_t *rgb = r->m->class_rgb[c];
        /* KML colours are aabbggrr */
        fprintf(f, "<Style id=\"class%d\"><LineStyle><color>ff%02x%02x%02x</color><width>1.5</width>"
                   "</LineStyle><PolyStyle><color>b0%02x%02x%02x</color></PolyStyle></Style>\n",
                c, rgb[2], rgb[1], rgb[0], rgb[2], rgb[1], rgb[0]);
    }
    fputs("<Folder><name>Change overlay</name>\n<GroundOverlay><name>change classes</name>"
          "<Icon><href>overlay.png</href></Icon>\n<gx:LatLonQuad><coordinates>", f);
    const int order[4] = {1, 2, 3, 0}; /* lower left, lower right, upper right, upper left */
    for (int i = 0; i < 4; i++)
        fprintf(f, "%s%.9f,%.9f", i ? " " : "", lon[order[i]], lat[order[i]]);
    fputs("</coordinates></gx:LatLonQuad>\n</GroundOverlay>\n</Folder>\n"
          "<Folder><name>Change polygons</name>\n", f);
    gd_path_join(src, sizeof src, r->outdir, "change.geojson");
    ds = GDALOpenEx(src, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRLayerH l = ds ? GDALDatasetGetLayer(ds, 0) : NULL;
    if (!l) {
        fclose(f);
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot read %s for the KMZ", src);
        goto done;
    }
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    int ip = OGR_FD_GetFieldIndex(defn, "people");
    OGRFeatureH ft;
    while ((ft = OGR_L_GetNextFeature(l)) != NULL) {
        int c = OGR_F_GetFieldAsInteger(ft, OGR_FD_GetFieldIndex(defn, "class"));
        fprintf(f, "<Placemark><name>");
        gd_xml_text(f, OGR_F_GetFieldAsString(ft, OGR_FD_GetFieldIndex(defn, "class_name")));
        fprintf(f, " #%d</name><styleUrl>#class%d</styleUrl>\n<description><![CDATA["
                   "<table><tr><td>class</td><td>%d %s</td></tr>"
                   "<tr><td>area</td><td>%.2f ha</td></tr>"
                   "<tr><td>pixels</td><td>%lld</td></tr>"
                   "<tr><td>mean score</td><td>%.4g</td></tr>",
                OGR_F_GetFieldAsInteger(ft, OGR_FD_GetFieldIndex(defn, "id")), c, c,
                OGR_F_GetFieldAsString(ft, OGR_FD_GetFieldIndex(defn, "class_name")),
                OGR_F_GetFieldAsDouble(ft, OGR_FD_GetFieldIndex(defn, "area_ha")),
                (long long)OGR_F_GetFieldAsInteger64(ft, OGR_FD_GetFieldIndex(defn, "pixels")),
                OGR_F_GetFieldAsDouble(ft, OGR_FD_GetFieldIndex(defn, "mean_score")));
        if (ip >= 0) {
            char ppl[64];
            gd_people_text(OGR_F_GetFieldAsDouble(ft, ip), ppl, sizeof ppl);
            fprintf(f, "<tr><td>people</td><td>%s</td></tr>", ppl);
        }
        fprintf(f, "<tr><td>run</td><td>%.16s</td></tr></table>]]></description>\n",
                r->run_id ? r->run_id : "");
        char *g = OGR_F_GetGeometryRef(ft) ? OGR_G_ExportToKML(OGR_F_GetGeometryRef(ft), NULL)
                                           : NULL;
        if (g)
            fputs(g, f);
        CPLFree(g);
        fputs("</Placemark>\n", f);
        OGR_F_Destroy(ft);
    }
    fputs("</Folder>\n</Document>\n</kml>\n", f);
    if (fclose(f) != 0 || !kml) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    gd_zip_entry e[2] = {{"doc.kml", (const unsigned char *)kml, kml_len},
                         {"overlay.png", overlay, overlay_len}};
    st = gd_zip_write(job, path, e, 2);
done:
    if (ds)
        GDALClose(ds);
    free(kml);
    return st;
}
