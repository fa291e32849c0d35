/* deliver.c: the chain's deliverables step: styles, change.gpkg (and, as they come,
 * map.pdf, change.kmz, stac-item.json, report.html) from the run's finished outputs.
 * Each is on by default but map.pdf (--with pdf); --without LIST turns them off. */
#include "chain.h"

#include "geodelta/deliver.h"
#include "geodelta/exposure.h"
#include "geodelta/task.h"
#include "geodelta/util.h"

#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const deliverables[] = {"styles", "gpkg", "pdf", "kmz", "stac", "report"};
#define NDELIV (sizeof deliverables / sizeof deliverables[0])

/* the deliverables off unless --with names them: map.pdf measured at ~10 % of the CPU
 * and up to ~25 % of the time of a 1024 px run (docs/deliverables.md), more than the few %
 * a default may cost */
static const char *const off_by_default[] = {"pdf"};

static int deliver_list(gd_job *job, const char *opt, const char *list, unsigned *bits)
{
    *bits = 0;
    if (!list || !*list)
        return GD_OK;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return gd_job_error(job, GD_EPROC, "out of memory");
    int st = GD_OK;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        if (strcmp(t, "all") == 0) {
            *bits = (1u << NDELIV) - 1;
            continue;
        }
        for (i = 0; i < NDELIV && strcmp(t, deliverables[i]) != 0; i++)
            ;
        if (i == NDELIV) {
            st = gd_job_error(job, GD_EUSAGE, "--%s '%s': not one of styles, gpkg, pdf, "
                              "kmz, stac, report, all", opt, t);
            break;
        }
        *bits |= 1u << i;
    }
    free(copy);
    return st;
}

int gd_chain_deliver_parse(gd_job *job, const char *with, const char *without, unsigned *off)
{
    unsigned on = 0, no = 0;
    int st;
    *off = 0;
    for (size_t k = 0; k < sizeof off_by_default / sizeof off_by_default[0]; k++)
        for (size_t i = 0; i < NDELIV; i++)
            if (strcmp(off_by_default[k], deliverables[i]) == 0)
                *off |= 1u << i;
    if ((st = deliver_list(job, "with", with, &on)) != GD_OK ||
        (st = deliver_list(job, "without", without, &no)) != GD_OK)
        return st;
    /* --without applies after --with: "--with all --without kmz" is all but the KMZ */
    *off = (*off & ~on) | no;
    return GD_OK;
}

int gd_chain_deliver_on(const gd_chain *c, const char *name)
{
    for (size_t i = 0; i < NDELIV; i++)
        if (strcmp(name, deliverables[i]) == 0)
            return !(c->deliver_off & (1u << i));
    return 0;
}

/* The exposed features with their geometries, as a layer of change.gpkg. */
static int exposure_layer(gd_job *job, void *dsv, void *arg)
{
    gd_chain *c = arg;
    const gd_exposure *e = c->expo;
    GDALDatasetH out = dsv, src = NULL;
    int st = GD_OK;
    if (!e)
        return GD_OK;
    src = GDALOpenEx(e->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRLayerH sl = src ? GDALDatasetGetLayer(src, 0) : NULL;
    if (!sl) {
        st = gd_job_error_gdal(job, GD_EINPUT, "cannot open exposure file %s again", e->path);
        goto done;
    }
    OGRLayerH dl = GDALDatasetCreateLayer(out, "exposure", OGR_L_GetSpatialRef(sl),
                                          OGR_L_GetGeomType(sl), NULL);
    if (!dl) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot create the exposure layer");
        goto done;
    }
    static const struct { const char *n; OGRFieldType t; } fl[] = {
        {"id", OFTString}, {"source_fid", OFTInteger64}, {"classes", OFTString},
        {"area_ha", OFTReal}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fl[i].n, fl[i].t);
        OGR_L_CreateField(dl, fd, TRUE);
        OGR_Fld_Destroy(fd);
    }
    int kind = 0;
    OGRwkbGeometryType gt = wkbFlatten(OGR_L_GetGeomType(sl));
    kind = gt == wkbPolygon || gt == wkbMultiPolygon ? 2
           : gt == wkbLineString || gt == wkbMultiLineString ? 1 : 0;
    if (GDALDatasetStartTransaction(out, FALSE) != OGRERR_NONE) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write the exposure layer");
        goto done;
    }
    for (size_t j = 0; j < e->n; j++) {
        OGRFeatureH sf = OGR_L_GetFeature(sl, e->f[j].fid);
        OGRFeatureH df = OGR_F_Create(OGR_L_GetLayerDefn(dl));
        char cls[512] = "";
        double ha = 0.0;
        for (int k = 1; k < GD_MAX_CLASSES; k++)
            if (e->f[j].hit[k]) {
                size_t u = strlen(cls);
                snprintf(cls + u, sizeof cls - u, "%s%s", u ? "; " : "",
                         c->m->class_names[k] ? c->m->class_names[k] : "?");
                ha += e->f[j].area_ha[k];
            }
        OGR_F_SetFieldString(df, 0, e->f[j].id);
        OGR_F_SetFieldInteger64(df, 1, e->f[j].fid);
        OGR_F_SetFieldString(df, 2, cls);
        if (e->polygons)
            OGR_F_SetFieldDouble(df, 3, ha);
        if (sf && OGR_F_GetGeometryRef(sf))
            OGR_F_SetGeometry(df, OGR_F_GetGeometryRef(sf));
        OGRErr oe = OGR_L_CreateFeature(dl, df);
        OGR_F_Destroy(df);
        if (sf)
            OGR_F_Destroy(sf);
        if (oe != OGRERR_NONE) {
            GDALDatasetRollbackTransaction(out);
            st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write the exposure layer");
            goto done;
        }
    }
    if (GDALDatasetCommitTransaction(out) != OGRERR_NONE) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write the exposure layer");
        goto done;
    }
    {
        const uint8_t red[3] = {200, 0, 120};
        char *q = gd_style_single_qml(kind, red, 0.6, 0);
        char *s = gd_style_single_sld(kind, red, 0.6, 0, "exposure");
        st = gd_gpkg_add_style(job, out, "exposure", "geom", q, s);
        free(q);
        free(s);
    }
done:
    if (src)
        GDALClose(src);
    return st;
}

static int write_styles(gd_chain *c, gd_job *job)
{
    char path[4096];
    int st = GD_OK;
    char *qml = gd_style_raster_qml(c->m), *sld = gd_style_raster_sld(c->m, "change");
    if (!qml || !sld)
        st = gd_job_error(job, GD_EPROC, "out of memory");
    if (st == GD_OK) {
        gd_path_join(path, sizeof path, c->p->out.dir, "change.qml");
        st = gd_write_text_atomic(job, path, qml);
    }
    if (st == GD_OK) {
        gd_path_join(path, sizeof path, c->p->out.dir, "change.sld");
        st = gd_write_text_atomic(job, path, sld);
    }
    free(qml);
    free(sld);
    return st;
}

static int write_gpkg(gd_chain *c, gd_job *job)
{
    const gd_detect_params *p = c->p;
    char path[4096], geojson[4096], zones[4096];
    gd_path_join(geojson, sizeof geojson, p->out.dir, "change.geojson");
    gd_path_join(zones, sizeof zones, p->out.dir, "zones.geojson");
    const char *aoi = p->grid.aoi ? p->grid.aoi : p->map.aoi;
    const uint8_t aoi_rgb[3] = {20, 20, 20};
    gd_gpkg_layer layers[3] = {
        {"change", geojson, gd_style_classes_qml(c->m), gd_style_classes_sld(c->m, "change")},
        {"zones", access(zones, F_OK) == 0 ? zones : NULL, gd_style_zones_qml(),
         gd_style_zones_sld("zones")},
        {"aoi", aoi, gd_style_single_qml(2, aoi_rgb, 0.0, 1),
         gd_style_single_sld(2, aoi_rgb, 0.0, 1, "aoi")}};
    int st = GD_OK;
    for (size_t i = 0; i < 3; i++)
        if (!layers[i].qml || !layers[i].sld)
            st = gd_job_error(job, GD_EPROC, "out of memory");
    gd_path_join(path, sizeof path, p->out.dir, "change.gpkg");
    if (st == GD_OK)
        st = gd_gpkg_write(job, path, layers, 3, exposure_layer, c);
    for (size_t i = 0; i < 3; i++) {
        free(layers[i].qml);
        free(layers[i].sld);
    }
    return st;
}

static int write_kmz_stac_report(gd_chain *c, gd_task *vt)
{
    const gd_detect_params *p = c->p;
    char path[4096], summary[4096];
    int st = GD_OK;
    gd_path_join(summary, sizeof summary, p->out.dir, "summary.json");
    json_t *er = gd_method_error_rate(c->m->name, isnan(c->treq.fixed) && !c->ctab);
    char *er_text = er ? json_dumps(er, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(er);
    gd_deliver_run r = {
        .outdir = p->out.dir, .run_id = c->run_id, .m = c->m, .grid = c->grid,
        .totals = c->totals, .classes = c->classes, .before = c->in_abs[0],
        .after = c->in_abs[1], .before_sha256 = gd_hasher_hex(c->hasher, 0),
        .after_sha256 = gd_hasher_hex(c->hasher, 1), .date_before = c->bs->date,
        .date_after = c->as->date, .summary_path = summary, .outputs = gd_chain_outputs,
        .noutputs = gd_chain_noutputs, .threshold = c->t, .threshold_mode = c->tmode,
        .error_rate_json = er_text};
    for (int i = 0; i < 3; i++)
        r.panel_png[i] = c->panels.png[i], r.panel_len[i] = c->panels.len[i];
    /* the overlay PNG once, for both the KMZ and the report */
    int kmz = gd_chain_deliver_on(c, "kmz"), report = gd_chain_deliver_on(c, "report");
    size_t olen = 0;
    unsigned char *ovl = kmz || report ? gd_deliver_overlay_png(c->job, &r, &olen) : NULL;
    if ((kmz || report) && !ovl)
        st = gd_job_status(c->job);
    if (st == GD_OK && kmz) {
        gd_path_join(path, sizeof path, p->out.dir, "change.kmz");
        st = gd_kmz_write(c->job, &r, path, ovl, olen);
    }
    /* the STAC item lists every output with its size, the report links them: after the
     * vector deliverables */
    st = gd_task_join(c->job, vt, st);
    if (st == GD_OK && gd_chain_deliver_on(c, "stac")) {
        gd_path_join(path, sizeof path, p->out.dir, "stac-item.json");
        st = gd_stac_item_write(c->job, &r, path);
    }
    if (st == GD_OK && report) {
        gd_path_join(path, sizeof path, p->out.dir, "report.html");
        st = gd_report_write(c->job, &r, path, ovl, olen);
    }
    free(ovl);
    free(er_text);
    return st;
}

/* The styles, change.gpkg and map.pdf's georeference: a task beside the overlay and the
 * KMZ (each reads and writes files of its own). */
static int deliver_vectors(gd_job *job, void *arg)
{
    gd_chain *c = arg;
    int st;
    if (gd_chain_deliver_on(c, "styles") && (st = write_styles(c, job)) != GD_OK)
        return st;
    if (gd_chain_deliver_on(c, "gpkg") && (st = write_gpkg(c, job)) != GD_OK)
        return st;
    if (gd_chain_deliver_on(c, "pdf") && !c->p->map.off) {
        char path[4096];
        gd_path_join(path, sizeof path, c->p->out.dir, "map.pdf");
        if ((st = gd_pdf_georeference(job, path, &c->frame, c->grid)) != GD_OK)
            return st;
    }
    return GD_OK;
}

int gd_chain_deliver(gd_chain *c)
{
    double t0 = gd_now();
    gd_task vt = {0};
    int st = gd_task_start(c->job, &vt, deliver_vectors, c, GD_TASK_OUTDIR | GD_TASK_AT_JOIN);
    /* write_kmz_stac_report joins vt whatever happens before */
    st = st == GD_OK ? write_kmz_stac_report(c, &vt) : gd_task_join(c->job, &vt, st);
    if (st != GD_OK)
        return st;
    gd_map_panels_free(&c->panels);
    gd_job_info(c->job, "deliverables written in %.3f s", gd_now() - t0);
    return GD_OK;
}
