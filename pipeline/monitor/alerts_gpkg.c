/* alerts_gpkg.c: alerts.gpkg: the monitor's alert polygons, the dates it processed and the
 * per-zone series in one GeoPackage that QGIS opens as it is. Rebuilt from the per-pixel
 * state on every run, so a run that appends a date writes the bytes a full run writes. */
#include "monitor_int.h"

#include "geodelta/deliver.h"
#include "geodelta/provenance.h"
#include "geodelta/summary.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One 8-connected region of pixels with the same alert status. */
typedef struct region {
    uint8_t status;
    int32_t first, last; /* YYYYMMDD */
    uint64_t pixels;
    double m2;
    size_t first_px;     /* its first pixel in raster order */
    OGRGeometryH geom;
} region;

typedef struct gpkg_ctx {
    const gd_monitor *mon;
    const uint8_t *status;
    const int32_t *dates;
    int nd;
    const gd_zones *zs;
    const double *det, *conf;
} gpkg_ctx;

static int is_alert(uint8_t s) { return s == GD_MON_PROVISIONAL || s == GD_MON_CONFIRMED; }

static int32_t find(int32_t *parent, int32_t a)
{
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    return a;
}

/* Labels the 8-connected regions of equal alert status 1..n in the raster order of their
 * first pixel (0 elsewhere): union-find over provisional labels, then renumbered. */
static int label_regions(const gd_grid *g, const uint8_t *status, int32_t *lab, int32_t *n_out)
{
    const int W = g->width, H = g->height;
    size_t npx = (size_t)W * (size_t)H;
    int32_t n = 0, cap = 1024;
    int32_t *parent = malloc((size_t)cap * sizeof *parent);
    if (!parent)
        return -1;
    parent[0] = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            lab[i] = 0;
            if (!is_alert(status[i]))
                continue;
            /* the neighbours already seen: W, NW, N, NE */
            static const int dx[4] = {-1, -1, 0, 1}, dy[4] = {0, -1, -1, -1};
            int32_t l = 0;
            for (int k = 0; k < 4; k++) {
                int xx = x + dx[k], yy = y + dy[k];
                if (xx < 0 || xx >= W || yy < 0)
                    continue;
                size_t j = (size_t)yy * W + xx;
                if (!lab[j] || status[j] != status[i])
                    continue;
                int32_t r = find(parent, lab[j]);
                if (!l)
                    l = r;
                else if (r != l) {
                    if (r < l) {
                        parent[l] = r;
                        l = r;
                    } else {
                        parent[r] = l;
                    }
                }
            }
            if (!l) {
                if (n + 1 >= cap) {
                    int32_t *np = realloc(parent, (size_t)cap * 2 * sizeof *np);
                    if (!np) {
                        free(parent);
                        return -1;
                    }
                    parent = np;
                    cap *= 2;
                }
                l = ++n;
                parent[l] = l;
            }
            lab[i] = l;
        }
    /* final numbers: roots in the order their first pixel comes */
    int32_t *num = calloc((size_t)n + 1, sizeof *num), m = 0;
    if (!num) {
        free(parent);
        return -1;
    }
    for (size_t i = 0; i < npx; i++)
        if (lab[i]) {
            int32_t r = find(parent, lab[i]);
            if (!num[r])
                num[r] = ++m;
            lab[i] = num[r];
        }
    free(num);
    free(parent);
    *n_out = m;
    return 0;
}

static void ymd_text(int32_t d, char buf[16])
{
    snprintf(buf, 16, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100));
}

static void set_date(OGRFeatureH f, int idx, int32_t d)
{
    if (d > 0)
        OGR_F_SetFieldDateTimeEx(f, idx, d / 10000, d / 100 % 100, d % 100, 0, 0, 0.0f, 0);
    else
        OGR_F_SetFieldNull(f, idx);
}

static OGRLayerH make_layer(gd_job *job, GDALDatasetH ds, const char *name,
                            OGRSpatialReferenceH srs, OGRwkbGeometryType type,
                            const char *const *names, const OGRFieldType *types, int nf,
                            int bool_field)
{
    char **lco = CSLSetNameValue(NULL, "FID", "fid");
    if (type != wkbNone)
        lco = CSLSetNameValue(lco, "GEOMETRY_NAME", "geom");
    OGRLayerH l = GDALDatasetCreateLayer(ds, name, srs, type, lco);
    CSLDestroy(lco);
    for (int k = 0; l && k < nf; k++) {
        OGRFieldDefnH fd = OGR_Fld_Create(names[k], types[k]);
        if (k == bool_field)
            OGR_Fld_SetSubType(fd, OFSTBoolean);
        OGRErr e = OGR_L_CreateField(l, fd, TRUE);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE)
            l = NULL;
    }
    if (!l)
        gd_job_error_gdal(job, GD_EOUTPUT, "cannot create the %s layer of alerts.gpkg", name);
    return l;
}

static int put(gd_job *job, OGRLayerH l, OGRFeatureH f)
{
    OGRErr e = OGR_L_CreateFeature(l, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? GD_OK
                            : gd_job_error_gdal(job, GD_EOUTPUT, "cannot write a feature of %s "
                                                "to alerts.gpkg", OGR_L_GetName(l));
}

/* The zone (index) holding the centre of pixel i, first in the zones file's order; -1. */
static int zone_of(const gd_monitor *mon, const gd_zones *zs, OGRCoordinateTransformationH ct,
                   size_t i)
{
    const gd_grid *g = mon->grid;
    if (!zs || !zs->geoms || !ct)
        return -1;
    double px = (double)(i % (size_t)g->width) + 0.5, py = (double)(i / (size_t)g->width) + 0.5;
    double x = g->gt[0] + px * g->gt[1] + py * g->gt[2];
    double y = g->gt[3] + px * g->gt[4] + py * g->gt[5];
    if (!OCTTransform(ct, 1, &x, &y, NULL))
        return -1;
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_SetPoint_2D(pt, 0, x, y);
    int found = -1;
    for (size_t z = 0; z < zs->n && found < 0; z++)
        if (zs->geoms[z] && OGR_G_Contains((OGRGeometryH)zs->geoms[z], pt))
            found = (int)z;
    OGR_G_DestroyGeometry(pt);
    return found;
}

static int alerts_layer(gd_job *job, GDALDatasetH ds, const gpkg_ctx *c)
{
    const gd_monitor *mon = c->mon;
    const gd_grid *g = mon->grid;
    size_t npx = (size_t)g->width * (size_t)g->height;
    int32_t *lab = malloc(npx * sizeof *lab), n = 0;
    uint8_t *mask = malloc(npx);
    region *r = NULL;
    GDALDatasetH lds = NULL, mds = NULL, mem = NULL;
    OGRSpatialReferenceH srs = NULL, wgs = NULL;
    OGRCoordinateTransformationH ct = NULL;
    char **popts = NULL;
    int st = GD_OK;
    if (!lab || !mask || label_regions(g, c->status, lab, &n) != 0 ||
        !(r = calloc((size_t)n + 1, sizeof *r))) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the alert regions");
        goto done;
    }
    for (size_t i = 0; i < npx; i++) {
        mask[i] = lab[i] != 0;
        if (!lab[i])
            continue;
        const px_state *p = &mon->px[i];
        region *q = &r[lab[i]];
        /* first_seen: the first detection the state holds (the confirmed alert's, or the
         * first flag of the one in progress) */
        int32_t first = p->status == GD_MON_CONFIRMED ? p->alert_date : p->prov_date;
        if (!q->pixels) {
            q->status = p->status;
            q->first = first;
            q->first_px = i;
        }
        q->first = first < q->first ? first : q->first;
        q->last = p->last_date > q->last ? p->last_date : q->last;
        q->pixels++;
        if (g->row_area_m2)
            q->m2 += g->row_area_m2[i / (size_t)g->width];
    }
    if (g->wkt) {
        srs = OSRNewSpatialReference(NULL);
        OSRSetFromUserInput(srs, g->wkt);
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        if (c->zs) { /* the zones' geometries are WGS84 lon/lat (gd_zones.geoms) */
            wgs = OSRNewSpatialReference(NULL);
            OSRImportFromEPSG(wgs, 4326);
            OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
            ct = OCTNewCoordinateTransformation(srs, wgs);
        }
    }
    /* the label raster polygonized: each label is one region, so each polygon knows its
     * figures without burning the polygons back */
    if ((st = gd_mem_dataset(job, g, lab, GDT_Int32, &lds)) != GD_OK ||
        (st = gd_mem_dataset(job, g, mask, GDT_Byte, &mds)) != GD_OK)
        goto done;
    mem = GDALCreate(GDALGetDriverByName("Memory"), "regions", 0, 0, 0, GDT_Unknown, NULL);
    OGRLayerH ml = mem ? GDALDatasetCreateLayer(mem, "regions", srs, wkbPolygon, NULL) : NULL;
    if (!ml) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot create an in-memory vector dataset");
        goto done;
    }
    OGRFieldDefnH fd = OGR_Fld_Create("label", OFTInteger);
    OGR_L_CreateField(ml, fd, TRUE);
    OGR_Fld_Destroy(fd);
    popts = CSLSetNameValue(NULL, "8CONNECTED", "8");
    CPLErrorReset();
    if (GDALPolygonize(GDALGetRasterBand(lds, 1), GDALGetRasterBand(mds, 1), ml, 0, popts, NULL,
                       NULL) != CE_None) {
        st = gd_job_error_gdal(job, GD_EPROC, "polygonizing the alerts failed");
        goto done;
    }
    OGRFeatureH feat;
    OGR_L_ResetReading(ml);
    while ((feat = OGR_L_GetNextFeature(ml)) != NULL) {
        int l = OGR_F_GetFieldAsInteger(feat, 0);
        OGRGeometryH geom = OGR_F_StealGeometry(feat);
        OGR_F_Destroy(feat);
        if (l < 1 || l > n || !geom) {
            OGR_G_DestroyGeometry(geom);
            continue;
        }
        if (!r[l].geom) {
            r[l].geom = geom;
        } else { /* not expected of 8-connected labels; kept whole if it happens */
            OGRGeometryH u = OGR_G_Union(r[l].geom, geom);
            OGR_G_DestroyGeometry(geom);
            if (u) {
                OGR_G_DestroyGeometry(r[l].geom);
                r[l].geom = u;
            }
        }
    }
    /* class: the status as detect's change polygons number their classes, which the
     * layer's QGIS style categorizes */
    static const char *const names[] = {"class",   "status", "first_seen", "last_seen",
                                        "area_ha", "pixels", "zone"};
    static const OGRFieldType types[] = {OFTInteger, OFTString,    OFTDate,  OFTDate,
                                         OFTReal,    OFTInteger64, OFTString};
    OGRLayerH ol = make_layer(job, ds, "alerts", srs, wkbMultiPolygon, names, types, 7, -1);
    if (!ol) {
        st = gd_job_status(job);
        goto done;
    }
    static const char *const sname[] = {"", "provisional", "confirmed", ""};
    for (int32_t l = 1; l <= n && st == GD_OK; l++) {
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(ol));
        OGR_F_SetFieldInteger(f, 0, r[l].status);
        OGR_F_SetFieldString(f, 1, sname[r[l].status & 3]);
        set_date(f, 2, r[l].first);
        set_date(f, 3, r[l].last);
        if (g->row_area_m2)
            OGR_F_SetFieldDouble(f, 4, r[l].m2 / 1e4);
        else
            OGR_F_SetFieldNull(f, 4);
        OGR_F_SetFieldInteger64(f, 5, (GIntBig)r[l].pixels);
        int z = zone_of(mon, c->zs, ct, r[l].first_px);
        if (z >= 0)
            OGR_F_SetFieldString(f, 6, c->zs->z[z].name);
        else
            OGR_F_SetFieldNull(f, 6);
        if (r[l].geom) {
            /* 8-connected regions meet themselves at pixel corners: a ring through one
             * vertex twice is invalid for OGC (GEOS, PostGIS, QGIS's checker), its valid
             * form is polygons touching at that point; every feature a MultiPolygon so
             * the layer has one type */
            OGRGeometryH gv = OGR_G_IsValid(r[l].geom) ? NULL : OGR_G_MakeValid(r[l].geom);
            OGRwkbGeometryType t = gv ? wkbFlatten(OGR_G_GetGeometryType(gv)) : wkbUnknown;
            if (gv && t != wkbPolygon && t != wkbMultiPolygon) {
                OGR_G_DestroyGeometry(gv);
                gv = NULL;
            }
            if (gv) {
                OGR_G_DestroyGeometry(r[l].geom);
                r[l].geom = gv;
            }
            r[l].geom = OGR_G_ForceToMultiPolygon(r[l].geom);
            OGR_F_SetGeometry(f, r[l].geom);
        }
        st = put(job, ol, f);
    }
    if (st == GD_OK) {
        /* QGIS opens the layer styled: provisional and confirmed in the map's colours */
        gd_method m;
        memset(&m, 0, sizeof m);
        m.name = "monitor";
        for (int k = GD_MON_PROVISIONAL; k <= GD_MON_CONFIRMED; k++) {
            m.class_names[k] = sname[k];
            memcpy(m.class_rgb[k], gd_mon_status_rgb[k], 3);
        }
        char *qml = gd_style_classes_qml(&m), *sld = gd_style_classes_sld(&m, "alerts");
        st = qml && sld ? gd_gpkg_add_style(job, ds, "alerts", "geom", qml, sld)
                        : gd_job_error(job, GD_EPROC, "out of memory");
        free(qml);
        free(sld);
    }
    if (st == GD_OK)
        gd_job_info(job, "alerts.gpkg: %d alert polygon(s)", (int)n);
done:
    for (int32_t l = 1; r && l <= n; l++)
        OGR_G_DestroyGeometry(r[l].geom);
    free(r);
    if (mem)
        GDALClose(mem);
    if (lds)
        GDALClose(lds);
    if (mds)
        GDALClose(mds);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (srs)
        OSRDestroySpatialReference(srs);
    if (wgs)
        OSRDestroySpatialReference(wgs);
    CSLDestroy(popts);
    free(lab);
    free(mask);
    return st;
}

/* dates: every date in the state, per stack, with the hash the state was made from. */
static int dates_layer(gd_job *job, GDALDatasetH ds, const gpkg_ctx *c)
{
    static const char *const names[] = {"stack", "date", "baseline", "list", "path", "sha256"};
    static const OGRFieldType types[] = {OFTInteger, OFTDate,   OFTInteger,
                                         OFTString,  OFTString, OFTString};
    OGRLayerH l = make_layer(job, ds, "dates", NULL, wkbNone, names, types, 6, 2);
    if (!l)
        return gd_job_status(job);
    int st = GD_OK;
    for (int s = 0; s < c->mon->ns && st == GD_OK; s++) {
        const mstack *ms = &c->mon->st[s];
        char *list = gd_input_abs_path(ms->s->list);
        for (int i = 0; i < ms->done && st == GD_OK; i++) {
            char *path = gd_input_abs_path(ms->s->items[i].path);
            OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
            OGR_F_SetFieldInteger(f, 0, s + 1);
            set_date(f, 1, ms->s->items[i].date);
            OGR_F_SetFieldInteger(f, 2, i < ms->nbase);
            OGR_F_SetFieldString(f, 3, list ? list : ms->s->list);
            OGR_F_SetFieldString(f, 4, path ? path : ms->s->items[i].path);
            OGR_F_SetFieldString(f, 5, ms->sha[i]);
            free(path);
            st = put(job, l, f);
        }
        free(list);
    }
    return st;
}

/* zone_series: the rows of zones_series.csv. */
static int zone_series_layer(gd_job *job, GDALDatasetH ds, const gpkg_ctx *c)
{
    int area = c->mon->grid->row_area_m2 != NULL;
    const char *names[] = {"zone", "chart", "date", area ? "detected_ha" : "detected_px",
                           area ? "confirmed_ha" : "confirmed_px"};
    static const OGRFieldType types[] = {OFTString, OFTString, OFTDate, OFTReal, OFTReal};
    OGRLayerH l = make_layer(job, ds, "zone_series", NULL, wkbNone, names, types, 5, -1);
    if (!l)
        return gd_job_status(job);
    int st = GD_OK;
    for (size_t z = 0; z < c->zs->n && st == GD_OK; z++) {
        char chart[32];
        snprintf(chart, sizeof chart, "zone_%03zu.png", z + 1);
        for (int k = 0; k < c->nd && st == GD_OK; k++) {
            OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
            OGR_F_SetFieldString(f, 0, c->zs->z[z].name);
            OGR_F_SetFieldString(f, 1, chart);
            set_date(f, 2, c->dates[k]);
            /* the CSV's 4 decimals: the table says what the file says */
            char v[64];
            snprintf(v, sizeof v, "%.4f", c->det[z * (size_t)c->nd + (size_t)k]);
            OGR_F_SetFieldDouble(f, 3, strtod(v, NULL));
            snprintf(v, sizeof v, "%.4f", c->conf[z * (size_t)c->nd + (size_t)k]);
            OGR_F_SetFieldDouble(f, 4, strtod(v, NULL));
            st = put(job, l, f);
        }
    }
    return st;
}

static int fill(gd_job *job, void *dsv, void *arg)
{
    GDALDatasetH ds = dsv;
    const gpkg_ctx *c = arg;
    /* one transaction: SQLite commits each insert on its own otherwise */
    if (GDALDatasetStartTransaction(ds, FALSE) != OGRERR_NONE)
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot start a transaction in alerts.gpkg");
    int st = alerts_layer(job, ds, c);
    if (st == GD_OK)
        st = dates_layer(job, ds, c);
    if (st == GD_OK && c->zs)
        st = zone_series_layer(job, ds, c);
    if (st != GD_OK) {
        GDALDatasetRollbackTransaction(ds);
        return st;
    }
    if (GDALDatasetCommitTransaction(ds) != OGRERR_NONE)
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot commit alerts.gpkg");
    return GD_OK;
}

int gd_monitor_write_gpkg(gd_job *job, const gd_monitor *mon, const uint8_t *status,
                          const int32_t *dates, int nd, const gd_zones *zs, const double *det,
                          const double *conf)
{
    gpkg_ctx c = {mon, status, dates, nd, zs, det, conf};
    char path[4096], when[40], d[16];
    /* the file's one timestamp (gpkg_contents.last_change): the latest date processed,
     * the same in a full run and in the run that appended that date */
    int32_t last = 0;
    for (int s = 0; s < mon->ns; s++)
        if (mon->st[s].done > 0 && mon->st[s].s->items[mon->st[s].done - 1].date > last)
            last = mon->st[s].s->items[mon->st[s].done - 1].date;
    ymd_text(last ? last : 20000101, d);
    snprintf(when, sizeof when, "%sT00:00:00.000Z", d);
    gd_path_join(path, sizeof path, mon->p->outdir, "alerts.gpkg");
    return gd_gpkg_write_dated(job, path, NULL, 0, fill, &c, when);
}
