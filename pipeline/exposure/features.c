/* features.c: the features of a vector file (buildings, health sites, schools...) that
 * the change reaches, per change class, with the area inside each class for polygons. */
#include "geodelta/exposure.h"
#include "geodelta/method.h"
#include "geodelta/files.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gd_exposure_destroy(gd_exposure *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->f[i].id);
    free(e->f);
    free(e->path);
    free(e->field);
    free(e->layer);
    free(e);
}

/* Pixel window [x0,x1)x[y0,y1) of the grid covering envelope e (one pixel of margin, as
 * all-touched reaches a pixel an edge merely grazes); 0 when it misses the grid. */
static int window_of(const gd_grid *g, const OGREnvelope *e, int w[4])
{
    if (g->gt[2] != 0.0 || g->gt[4] != 0.0) {
        w[0] = 0, w[1] = 0, w[2] = g->width, w[3] = g->height;
        return 1;
    }
    double xa = (e->MinX - g->gt[0]) / g->gt[1], xb = (e->MaxX - g->gt[0]) / g->gt[1];
    double ya = (e->MinY - g->gt[3]) / g->gt[5], yb = (e->MaxY - g->gt[3]) / g->gt[5];
    double x0 = fmax(floor(fmin(xa, xb)) - 1, 0), x1 = fmin(ceil(fmax(xa, xb)) + 1, g->width);
    double y0 = fmax(floor(fmin(ya, yb)) - 1, 0), y1 = fmin(ceil(fmax(ya, yb)) + 1, g->height);
    if (!(x1 > x0 && y1 > y0))
        return 0;
    w[0] = (int)x0, w[1] = (int)y0, w[2] = (int)x1, w[3] = (int)y1;
    return 1;
}

/* Burns geom all-touched into mask (ww x wh at grid window w). */
static int burn(const gd_grid *g, const int w[4], uint8_t *mask, OGRGeometryH geom)
{
    int ww = w[2] - w[0], wh = w[3] - w[1];
    memset(mask, 0, (size_t)ww * (size_t)wh);
    char name[160];
    snprintf(name, sizeof name, "MEM:::DATAPOINTER=%p,PIXELS=%d,LINES=%d,BANDS=1,DATATYPE=Byte",
             (void *)mask, ww, wh);
    GDALDatasetH mem = GDALOpen(name, GA_Update);
    if (!mem)
        return -1;
    double gt[6];
    memcpy(gt, g->gt, sizeof gt);
    gt[0] = g->gt[0] + w[0] * g->gt[1] + w[1] * g->gt[2];
    gt[3] = g->gt[3] + w[0] * g->gt[4] + w[1] * g->gt[5];
    GDALSetGeoTransform(mem, gt);
    char **ro = CSLSetNameValue(NULL, "ALL_TOUCHED", "TRUE");
    int band = 1;
    double one = 1.0;
    OGRGeometryH gs[1] = {geom};
    CPLErr e = GDALRasterizeGeometries(mem, 1, &band, 1, gs, NULL, NULL, &one, ro, NULL, NULL);
    CSLDestroy(ro);
    GDALClose(mem);
    return e == CE_None ? 0 : -1;
}

static OGRGeometryH pixel_square(const gd_grid *g, int x, int y)
{
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    const int dx[5] = {0, 1, 1, 0, 0}, dy[5] = {0, 0, 1, 1, 0};
    for (int i = 0; i < 5; i++) {
        double px = x + dx[i], py = y + dy[i];
        OGR_G_AddPoint_2D(ring, g->gt[0] + px * g->gt[1] + py * g->gt[2],
                          g->gt[3] + px * g->gt[4] + py * g->gt[5]);
    }
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

/* Tallies one feature (grid CRS) into f; kind 2 polygon, 1 line, 0 point. */
static int tally(const gd_grid *g, const uint8_t *classes, OGRGeometryH geom, int kind,
                 uint8_t **buf, size_t *cap, gd_exposed_feature *f)
{
    OGREnvelope env;
    int w[4];
    OGR_G_GetEnvelope(geom, &env);
    if (!window_of(g, &env, w))
        return 0;
    int ww = w[2] - w[0], wh = w[3] - w[1];
    size_t need = 2 * (size_t)ww * (size_t)wh;
    if (need > *cap) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb)
            return -1;
        *buf = nb, *cap = need;
    }
    uint8_t *touched = *buf, *edge = *buf + (size_t)ww * (size_t)wh;
    if (burn(g, w, touched, geom) != 0)
        return -1;
    OGRGeometryH boundary = kind == 2 ? OGR_G_Boundary(geom) : NULL;
    if (kind == 2 && (!boundary || burn(g, w, edge, boundary) != 0)) {
        OGR_G_DestroyGeometry(boundary);
        return -1;
    }
    double px_area = fabs(g->gt[1] * g->gt[5] - g->gt[2] * g->gt[4]);
    for (int r = 0; r < wh; r++)
        for (int x = 0; x < ww; x++) {
            size_t i = (size_t)r * (size_t)ww + (size_t)x;
            if (!touched[i])
                continue;
            int gx = w[0] + x, gy = w[1] + r;
            uint8_t k = classes[(size_t)gy * (size_t)g->width + (size_t)gx];
            if (k < 1 || k >= GD_MAX_CLASSES)
                continue;
            if (kind != 2) {
                f->hit[k] = 1;
                continue;
            }
            /* a pixel the boundary does not touch lies wholly inside the polygon */
            double frac = 1.0;
            if (edge[i]) {
                OGRGeometryH sq = pixel_square(g, gx, gy);
                OGRGeometryH in = OGR_G_Intersection(geom, sq);
                frac = in ? OGR_G_Area(in) / px_area : 0.0;
                OGR_G_DestroyGeometry(in);
                OGR_G_DestroyGeometry(sq);
            }
            if (frac <= 1e-12)
                continue;
            f->hit[k] = 1;
            f->area_ha[k] += fmin(frac, 1.0) * g->row_area_m2[gy] / 1e4;
        }
    OGR_G_DestroyGeometry(boundary);
    return 0;
}

int gd_exposure_compute(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                        const char *path, const char *field, gd_exposure **out)
{
    int st = GD_OK;
    gd_vlayer *v = NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, fcap = 0;
    gd_exposure *e = calloc(1, sizeof *e);
    *out = NULL;
    if (!e)
        return gd_job_error(job, GD_EPROC, "out of memory");
    e->path = strdup(path);
    e->field = field ? strdup(field) : NULL;
    if (!grid->wkt || !grid->row_area_m2) {
        st = gd_job_error(job, GD_EINPUT, "--exposure %s: the images have no CRS, so the "
                          "features cannot be placed on them", path);
        goto done;
    }
    if ((st = gd_vlayer_open(job, path, "exposure file", grid, field, &v)) != GD_OK)
        goto done;
    OGRLayerH lyr = v->layer;
    const int fidx = v->field;
    OGRCoordinateTransformationH to_grid = v->to_grid, to_wgs = v->to_wgs;
    e->layer = strdup(OGR_L_GetName(lyr));
    OGRFeatureH feat;
    int kinds_seen[3] = {0};
    while ((feat = OGR_L_GetNextFeature(lyr)) != NULL) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(feat);
        e->nfeatures++;
        if (!geom || OGR_G_IsEmpty(geom)) {
            OGR_F_Destroy(feat);
            continue;
        }
        OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(geom));
        int kind = (t == wkbPolygon || t == wkbMultiPolygon) ? 2
                   : (t == wkbLineString || t == wkbMultiLineString) ? 1 : 0;
        kinds_seen[kind] = 1;
        gd_exposed_feature f;
        memset(&f, 0, sizeof f);
        OGRGeometryH gg = OGR_G_Clone(geom);
        int rc = OGR_G_Transform(gg, to_grid) == OGRERR_NONE
                     ? tally(grid, classes, gg, kind, &buf, &cap, &f) : 1;
        OGR_G_DestroyGeometry(gg);
        if (rc < 0) {
            OGR_F_Destroy(feat);
            st = gd_job_error_gdal(job, GD_EPROC, "cannot place feature %lld of %s on the grid",
                                   (long long)OGR_F_GetFID(feat), path);
            goto done;
        }
        int any = 0;
        for (int k = 1; k < GD_MAX_CLASSES; k++)
            any |= f.hit[k];
        if (!any) {
            OGR_F_Destroy(feat);
            continue;
        }
        /* a point on the feature places it in one zone */
        OGRGeometryH pt = kind == 2 ? OGR_G_PointOnSurface(geom) : NULL;
        if (!pt) {
            pt = OGR_G_CreateGeometry(wkbPoint);
            if (OGR_G_Centroid(geom, pt) != OGRERR_NONE) {
                OGREnvelope ev;
                OGR_G_GetEnvelope(geom, &ev);
                OGR_G_SetPoint_2D(pt, 0, (ev.MinX + ev.MaxX) / 2, (ev.MinY + ev.MaxY) / 2);
            }
        }
        if (OGR_G_Transform(pt, to_wgs) == OGRERR_NONE) {
            f.lon = OGR_G_GetX(pt, 0);
            f.lat = OGR_G_GetY(pt, 0);
        } else {
            f.lon = f.lat = NAN;
        }
        OGR_G_DestroyGeometry(pt);
        f.fid = OGR_F_GetFID(feat);
        char fidbuf[32];
        snprintf(fidbuf, sizeof fidbuf, "%lld", (long long)f.fid);
        f.id = strdup(fidx >= 0 ? OGR_F_GetFieldAsString(feat, fidx) : fidbuf);
        OGR_F_Destroy(feat);
        if (e->n == fcap) {
            size_t nc = fcap ? 2 * fcap : 64;
            gd_exposed_feature *nf = realloc(e->f, nc * sizeof *nf);
            if (!nf) {
                free(f.id);
                st = gd_job_error(job, GD_EPROC, "out of memory");
                goto done;
            }
            e->f = nf, fcap = nc;
        }
        e->f[e->n++] = f;
        if (!f.id) {
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
        if (e->nfeatures % 1024 == 0 && (st = gd_job_progress(job, 0.5)) != GD_OK)
            goto done;
    }
    e->polygons = kinds_seen[2] && !kinds_seen[1] && !kinds_seen[0];
    gd_job_info(job, "exposure %s: %zu features, %zu reached by the change", path,
                e->nfeatures, e->n);
    *out = e;
    e = NULL;
done:
    gd_vlayer_destroy(v);
    free(buf);
    gd_exposure_destroy(e);
    return st;
}

int gd_exposure_write_csv(gd_job *job, const gd_exposure *e, const gd_method *m,
                          const char *path)
{
    char tmp[4096];
    FILE *f = NULL;
    int st = gd_tmp_open(job, path, tmp, sizeof tmp, &f);
    if (st != GD_OK)
        return st;
    fputs("id,fid,class,class_name,area_ha,lon,lat\n", f);
    for (size_t i = 0; i < e->n; i++) {
        const gd_exposed_feature *x = &e->f[i];
        for (int k = 1; k < GD_MAX_CLASSES; k++) {
            if (!x->hit[k])
                continue;
            gd_csv_field(f, x->id);
            fprintf(f, ",%lld,%d,", (long long)x->fid, k);
            gd_csv_field(f, m->class_names[k] ? m->class_names[k] : "");
            if (e->polygons)
                fprintf(f, ",%.6f", x->area_ha[k]);
            else
                fputs(",", f);
            fprintf(f, ",%.7f,%.7f\n", x->lon, x->lat);
        }
    }
    return gd_commit_stream(job, f, tmp, path);
}
