/* zones.c: zonal summaries: zone polygons rasterized on the analysis grid, class tallies. */
#include "geodelta/exposure.h"
#include "geodelta/files.h"
#include "geodelta/summary.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gd_zones_destroy(gd_zones *zs)
{
    if (!zs)
        return;
    for (size_t i = 0; i < zs->n; i++) {
        free(zs->z[i].name);
        if (zs->geoms && zs->geoms[i])
            OGR_G_DestroyGeometry((OGRGeometryH)zs->geoms[i]);
    }
    free(zs->z);
    free(zs->geoms);
    free(zs->field);
    free(zs);
}

uint64_t gd_zone_changed_px(const gd_zone *z)
{
    uint64_t c = 0;
    for (int k = 1; k < 255; k++)
        c += z->class_px[k];
    return c;
}

double gd_zone_changed_ha(const gd_zone *z)
{
    double a = 0.0;
    for (int k = 1; k < 255; k++)
        a += z->class_ha[k];
    return a;
}

double gd_zone_changed_pct(const gd_zone *z)
{
    return z->valid ? 100.0 * (double)gd_zone_changed_px(z) / (double)z->valid : 0.0;
}

double gd_zone_changed_people(const gd_zone *z)
{
    double p = 0.0;
    for (int k = 1; k < GD_MAX_CLASSES; k++)
        p += z->class_people[k];
    return p;
}

/* A feature counts in every zone that holds its point (zones may overlap), once. */
void gd_zones_add_exposure(gd_zones *zs, const gd_exposure *e)
{
    zs->has_features = 1;
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    for (size_t j = 0; j < e->n; j++) {
        const gd_exposed_feature *f = &e->f[j];
        if (!isfinite(f->lon))
            continue;
        OGR_G_SetPoint_2D(pt, 0, f->lon, f->lat);
        for (size_t i = 0; i < zs->n; i++) {
            if (!zs->geoms || !zs->geoms[i] || !OGR_G_Contains((OGRGeometryH)zs->geoms[i], pt))
                continue;
            gd_zone *z = &zs->z[i];
            z->features++;
            for (int k = 1; k < GD_MAX_CLASSES; k++)
                if (f->hit[k]) {
                    z->class_features[k]++;
                    z->class_feature_ha[k] += f->area_ha[k];
                }
        }
    }
    OGR_G_DestroyGeometry(pt);
}

/* Pixel window [x0,x1)×[y0,y1) of the grid covering envelope e; 0 when empty. */
static int window_of(const gd_grid *g, const OGREnvelope *e, int w[4])
{
    if (g->gt[2] != 0.0 || g->gt[4] != 0.0) { /* rotated grid: the whole grid */
        w[0] = 0, w[1] = 0, w[2] = g->width, w[3] = g->height;
        return 1;
    }
    double xa = (e->MinX - g->gt[0]) / g->gt[1], xb = (e->MaxX - g->gt[0]) / g->gt[1];
    double ya = (e->MinY - g->gt[3]) / g->gt[5], yb = (e->MaxY - g->gt[3]) / g->gt[5];
    /* one pixel of margin: all-touched reaches the pixel an edge merely grazes */
    double x0 = floor(fmin(xa, xb)) - 1, x1 = ceil(fmax(xa, xb)) + 1;
    double y0 = floor(fmin(ya, yb)) - 1, y1 = ceil(fmax(ya, yb)) + 1;
    x0 = fmax(x0, 0), y0 = fmax(y0, 0);
    x1 = fmin(x1, g->width), y1 = fmin(y1, g->height);
    if (!(x1 > x0 && y1 > y0))
        return 0;
    w[0] = (int)x0, w[1] = (int)y0, w[2] = (int)x1, w[3] = (int)y1;
    return 1;
}

/* Burns geometry geom (grid CRS) into a window mask and tallies the classes under it. */
static int tally_zone(gd_job *job, const gd_grid *g, const uint8_t *classes, OGRGeometryH geom,
                      int all_touched, const float *people, gd_zone *z)
{
    OGREnvelope env;
    int w[4], st = GD_OK;
    OGR_G_GetEnvelope(geom, &env);
    if (!window_of(g, &env, w))
        return GD_OK; /* outside the grid: a zone with no pixels */
    int ww = w[2] - w[0], wh = w[3] - w[1];
    uint8_t *mask = calloc((size_t)ww * (size_t)wh, 1);
    GDALDatasetH mem = NULL;
    char **ropts = NULL;
    if (!mask)
        return gd_job_error(job, GD_EPROC, "out of memory for zone %s", z->name);
    char dsname[128];
    snprintf(dsname, sizeof dsname, "MEM:::DATAPOINTER=%p,PIXELS=%d,LINES=%d,BANDS=1,DATATYPE=Byte",
             (void *)mask, ww, wh);
    mem = GDALOpen(dsname, GA_Update);
    if (!mem) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot create the zone mask of %s", z->name);
        goto done;
    }
    double gt[6];
    memcpy(gt, g->gt, sizeof gt);
    gt[0] = g->gt[0] + w[0] * g->gt[1] + w[1] * g->gt[2];
    gt[3] = g->gt[3] + w[0] * g->gt[4] + w[1] * g->gt[5];
    GDALSetGeoTransform(mem, gt);
    if (all_touched)
        ropts = CSLSetNameValue(ropts, "ALL_TOUCHED", "TRUE");
    int band = 1;
    double burn = 1.0;
    OGRGeometryH geoms[1] = {geom};
    CPLErrorReset();
    if (GDALRasterizeGeometries(mem, 1, &band, 1, geoms, NULL, NULL, &burn, ropts, NULL, NULL) !=
        CE_None) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot rasterize zone %s", z->name);
        goto done;
    }
    for (int r = 0; r < wh; r++) {
        int row = w[1] + r;
        double px_ha = g->row_area_m2 ? g->row_area_m2[row] / 1e4 : NAN;
        const uint8_t *m = mask + (size_t)r * (size_t)ww;
        const uint8_t *c = classes + (size_t)row * (size_t)g->width + (size_t)w[0];
        uint64_t n = 0, cnt[GD_ZONE_NCLASS] = {0};
        for (int x = 0; x < ww; x++)
            if (m[x]) {
                n++;
                cnt[c[x]]++;
            }
        if (!n)
            continue;
        if (people) {
            const float *pp = people + (size_t)row * (size_t)g->width + (size_t)w[0];
            for (int x = 0; x < ww; x++)
                if (m[x]) {
                    z->people += pp[x];
                    if (c[x] < GD_MAX_CLASSES)
                        z->class_people[c[x]] += pp[x];
                }
        }
        z->pixels += n;
        z->area_ha += (double)n * px_ha;
        for (int k = 0; k < 255; k++)
            if (cnt[k]) {
                z->valid += cnt[k];
                z->valid_ha += (double)cnt[k] * px_ha;
                z->class_px[k] += cnt[k];
                z->class_ha[k] += (double)cnt[k] * px_ha;
            }
    }
done:
    if (mem)
        GDALClose(mem);
    CSLDestroy(ropts);
    free(mask);
    return st;
}

int gd_zones_compute(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                     const gd_zone_opts *opts, gd_zones **out)
{
    int st = GD_OK;
    gd_vlayer *v = NULL;
    gd_zones *zs = calloc(1, sizeof *zs);
    size_t cap = 0;
    *out = NULL;
    if (!zs)
        return gd_job_error(job, GD_EPROC, "out of memory");
    zs->all_touched = opts->all_touched;
    zs->has_people = opts->people != NULL;
    zs->field = opts->field ? strdup(opts->field) : NULL;
    if (!grid->wkt) {
        st = gd_job_error(job, GD_EINPUT, "--zones %s: the images have no CRS, so zones "
                          "cannot be placed on them", opts->path);
        goto done;
    }
    if ((st = gd_vlayer_open(job, opts->path, "zones file", grid, opts->field, &v)) != GD_OK)
        goto done;
    OGRLayerH lyr = v->layer;
    const int fidx = v->field;
    OGRCoordinateTransformationH to_grid = v->to_grid, to_wgs = v->to_wgs;
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(lyr)) != NULL) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(f);
        OGRwkbGeometryType t = geom ? wkbFlatten(OGR_G_GetGeometryType(geom)) : wkbUnknown;
        if (t != wkbPolygon && t != wkbMultiPolygon) {
            gd_job_warn(job, "zones file %s: feature %lld is not a polygon, skipped", opts->path,
                        (long long)OGR_F_GetFID(f));
            OGR_F_Destroy(f);
            continue;
        }
        if (zs->n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            gd_zone *nz = realloc(zs->z, nc * sizeof *nz);
            void **ng = nz ? realloc(zs->geoms, nc * sizeof *ng) : NULL;
            if (nz)
                zs->z = nz;
            if (ng)
                zs->geoms = ng;
            if (!nz || !ng) {
                OGR_F_Destroy(f);
                st = gd_job_error(job, GD_EPROC, "out of memory");
                goto done;
            }
            cap = nc;
        }
        gd_zone *z = &zs->z[zs->n];
        memset(z, 0, sizeof *z);
        zs->geoms[zs->n] = NULL;
        zs->n++;
        char fidbuf[32];
        snprintf(fidbuf, sizeof fidbuf, "%lld", (long long)OGR_F_GetFID(f));
        z->name = strdup(fidx >= 0 ? OGR_F_GetFieldAsString(f, fidx) : fidbuf);
        if (!grid->row_area_m2)
            z->area_ha = z->valid_ha = NAN;
        OGRGeometryH gg = OGR_G_Clone(geom), gw = OGR_G_Clone(geom);
        if (OGR_G_Transform(gg, to_grid) != OGRERR_NONE || OGR_G_Transform(gw, to_wgs) != OGRERR_NONE) {
            OGR_G_DestroyGeometry(gg);
            OGR_G_DestroyGeometry(gw);
            OGR_F_Destroy(f);
            st = gd_job_error(job, GD_EINPUT, "zone %s of %s cannot be transformed to the "
                              "images' CRS", z->name ? z->name : fidbuf, opts->path);
            goto done;
        }
        zs->geoms[zs->n - 1] = gw;
        OGR_F_Destroy(f);
        st = z->name ? tally_zone(job, grid, classes, gg, opts->all_touched, opts->people, z)
                     : gd_job_error(job, GD_EPROC, "out of memory");
        OGR_G_DestroyGeometry(gg);
        if (st != GD_OK)
            goto done;
        if ((st = gd_job_progress(job, 0.5)) != GD_OK)
            goto done;
    }
    if (zs->n == 0) {
        st = gd_job_error(job, GD_EINPUT, "zones file %s has no polygon", opts->path);
        goto done;
    }
    size_t inside = 0;
    for (size_t i = 0; i < zs->n; i++)
        inside += zs->z[i].pixels > 0;
    gd_job_info(job, "zones %s: %zu polygons, %zu on the grid (%s rule)", opts->path, zs->n,
                inside, opts->all_touched ? "all-touched" : "pixel-centre");
    if (inside == 0)
        gd_job_warn(job, "no zone of %s overlaps the images", opts->path);
    *out = zs;
    zs = NULL;
done:
    gd_vlayer_destroy(v);
    gd_zones_destroy(zs);
    return st;
}

/* Classes reported: the method's change classes, else every class value 1..254 seen. */
static int class_list(const gd_zones *zs, const gd_method *m, int list[254])
{
    int n = 0;
    for (int k = 1; k < 255; k++) {
        int use = 0;
        if (m)
            use = k < GD_MAX_CLASSES && m->class_names[k];
        else
            for (size_t i = 0; i < zs->n && !use; i++)
                use = zs->z[i].class_px[k] > 0;
        if (use)
            list[n++] = k;
    }
    return n;
}

static const char *class_name(const gd_method *m, int k, char buf[32])
{
    if (m && k < GD_MAX_CLASSES && m->class_names[k])
        return m->class_names[k];
    snprintf(buf, 32, "class %d", k);
    return buf;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static double pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

json_t *gd_zones_json(const gd_zones *zs, const gd_method *m)
{
    int list[254], nc = class_list(zs, m, list);
    json_t *arr = json_array();
    char buf[32];
    for (size_t i = 0; i < zs->n; i++) {
        const gd_zone *z = &zs->z[i];
        json_t *cls = json_array();
        for (int j = 0; j < nc; j++) {
            int k = list[j];
            json_t *co = json_pack("{s:i, s:s, s:I, s:o, s:f}", "class", k,
                "name", class_name(m, k, buf), "pixels", (json_int_t)z->class_px[k],
                "ha", num_or_null(z->class_ha[k]), "pct", pct(z->class_px[k], z->valid));
            if (zs->has_people)
                json_object_set_new(co, "people", json_real(k < GD_MAX_CLASSES ? z->class_people[k] : 0.0));
            if (zs->has_features && k < GD_MAX_CLASSES) {
                json_object_set_new(co, "features", json_integer((json_int_t)z->class_features[k]));
                json_object_set_new(co, "features_ha", json_real(z->class_feature_ha[k]));
            }
            json_array_append_new(cls, co);
        }
        json_array_append_new(arr, json_pack("{s:s, s:I, s:o, s:I, s:o, s:I, s:o, s:f, s:o, s:s}",
            "zone", z->name, "pixels", (json_int_t)z->pixels, "area_ha", num_or_null(z->area_ha),
            "valid_pixels", (json_int_t)z->valid, "valid_ha", num_or_null(z->valid_ha),
            "changed_pixels", (json_int_t)gd_zone_changed_px(z),
            "changed_ha", num_or_null(gd_zone_changed_ha(z)),
            "changed_pct", gd_zone_changed_pct(z), "classes", cls,
            "alert", gd_alert_name(z->level)));
        json_t *zo = json_array_get(arr, json_array_size(arr) - 1);
        if (zs->has_people) {
            json_object_set_new(zo, "people", json_real(z->people));
            json_object_set_new(zo, "changed_people", json_real(gd_zone_changed_people(z)));
        }
        if (zs->has_features)
            json_object_set_new(zo, "exposed_features", json_integer((json_int_t)z->features));
    }
    return arr;
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.4f", v);
    else
        fputs(",", f);
}

int gd_zones_write_csv(gd_job *job, const gd_zones *zs, const gd_method *m, const char *path)
{
    char tmp[4096], buf[32];
    FILE *f = NULL;
    int st = gd_tmp_open(job, path, tmp, sizeof tmp, &f);
    if (st != GD_OK)
        return st;
    int list[254], nc = class_list(zs, m, list);
    fputs("zone,pixels,area_ha,valid_pixels,valid_ha,changed_pixels,changed_ha,changed_pct", f);
    for (int j = 0; j < nc; j++)
        fprintf(f, ",class%d_pixels,class%d_ha,class%d_pct", list[j], list[j], list[j]);
    fputs(",alert", f);
    /* exposure columns come last: readers of the columns above keep their positions */
    if (zs->has_people) {
        fputs(",people,changed_people", f);
        for (int j = 0; j < nc; j++)
            fprintf(f, ",class%d_people", list[j]);
    }
    if (zs->has_features) {
        fputs(",exposed_features", f);
        for (int j = 0; j < nc; j++)
            fprintf(f, ",class%d_features,class%d_features_ha", list[j], list[j]);
    }
    fputs("\n", f);
    (void)buf;
    for (size_t i = 0; i < zs->n; i++) {
        const gd_zone *z = &zs->z[i];
        gd_csv_field(f, z->name);
        fprintf(f, ",%llu", (unsigned long long)z->pixels);
        csv_num(f, z->area_ha);
        fprintf(f, ",%llu", (unsigned long long)z->valid);
        csv_num(f, z->valid_ha);
        fprintf(f, ",%llu", (unsigned long long)gd_zone_changed_px(z));
        csv_num(f, gd_zone_changed_ha(z));
        csv_num(f, gd_zone_changed_pct(z));
        for (int j = 0; j < nc; j++) {
            int k = list[j];
            fprintf(f, ",%llu", (unsigned long long)z->class_px[k]);
            csv_num(f, z->class_ha[k]);
            csv_num(f, pct(z->class_px[k], z->valid));
        }
        fprintf(f, ",%s", gd_alert_name(z->level));
        if (zs->has_people) {
            csv_num(f, z->people);
            csv_num(f, gd_zone_changed_people(z));
            for (int j = 0; j < nc; j++)
                csv_num(f, list[j] < GD_MAX_CLASSES ? z->class_people[list[j]] : 0.0);
        }
        if (zs->has_features) {
            fprintf(f, ",%llu", (unsigned long long)z->features);
            for (int j = 0; j < nc; j++) {
                int k = list[j] < GD_MAX_CLASSES ? list[j] : 0;
                fprintf(f, ",%llu", (unsigned long long)(k ? z->class_features[k] : 0));
                csv_num(f, k ? z->class_feature_ha[k] : 0.0);
            }
        }
        fputc('\n', f);
    }
    return gd_commit_stream(job, f, tmp, path);
}

static void set_real(OGRFeatureH f, const char *name, double v)
{
    int i = OGR_F_GetFieldIndex(f, name);
    if (i < 0)
        return;
    if (isfinite(v))
        OGR_F_SetFieldDouble(f, i, v);
    else
        OGR_F_SetFieldNull(f, i);
}

static void set_int(OGRFeatureH f, const char *name, uint64_t v)
{
    int i = OGR_F_GetFieldIndex(f, name);
    if (i >= 0)
        OGR_F_SetFieldInteger64(f, i, (GIntBig)v);
}

int gd_zones_write_geojson(gd_job *job, const gd_zones *zs, const gd_method *m, const char *path)
{
    char tmp[4096], nm[64];
    int st = gd_tmp_name(job, path, tmp, sizeof tmp);
    GDALDatasetH out = NULL;
    OGRSpatialReferenceH wgs = gd_srs_new(NULL);
    char **lopts = NULL;
    if (st != GD_OK)
        goto done;
    GDALDriverH drv = GDALGetDriverByName("GeoJSON");
    out = drv ? GDALCreate(drv, tmp, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (!out) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot create %s", path);
        goto done;
    }
    lopts = CSLSetNameValue(lopts, "RFC7946", "YES");
    lopts = CSLSetNameValue(lopts, "WRITE_NAME", "NO");
    OGRLayerH lyr = GDALDatasetCreateLayer(out, "zones", wgs, wkbMultiPolygon, lopts);
    if (!lyr) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot create a layer in %s", path);
        goto done;
    }
    int list[254], nc = class_list(zs, m, list);
    struct { const char *name; OGRFieldType t; } base[] = {
        {"zone", OFTString}, {"pixels", OFTInteger64}, {"area_ha", OFTReal},
        {"valid_pixels", OFTInteger64}, {"valid_ha", OFTReal}, {"changed_pixels", OFTInteger64},
        {"changed_ha", OFTReal}, {"changed_pct", OFTReal}};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(base[i].name, base[i].t);
        OGR_L_CreateField(lyr, fd, TRUE);
        OGR_Fld_Destroy(fd);
    }
    for (int j = 0; j < nc; j++) {
        const char *suffix[3] = {"pixels", "ha", "pct"};
        for (int s = 0; s < 3; s++) {
            snprintf(nm, sizeof nm, "class%d_%s", list[j], suffix[s]);
            OGRFieldDefnH fd = OGR_Fld_Create(nm, s == 0 ? OFTInteger64 : OFTReal);
            OGR_L_CreateField(lyr, fd, TRUE);
            OGR_Fld_Destroy(fd);
        }
    }
    OGRFieldDefnH fd = OGR_Fld_Create("alert", OFTString);
    OGR_L_CreateField(lyr, fd, TRUE);
    OGR_Fld_Destroy(fd);
    if (zs->has_people) {
        const char *pn[2] = {"people", "changed_people"};
        for (int i = 0; i < 2; i++) {
            fd = OGR_Fld_Create(pn[i], OFTReal);
            OGR_L_CreateField(lyr, fd, TRUE);
            OGR_Fld_Destroy(fd);
        }
        for (int j = 0; j < nc; j++) {
            snprintf(nm, sizeof nm, "class%d_people", list[j]);
            fd = OGR_Fld_Create(nm, OFTReal);
            OGR_L_CreateField(lyr, fd, TRUE);
            OGR_Fld_Destroy(fd);
        }
    }
    if (zs->has_features) {
        fd = OGR_Fld_Create("exposed_features", OFTInteger64);
        OGR_L_CreateField(lyr, fd, TRUE);
        OGR_Fld_Destroy(fd);
        for (int j = 0; j < nc; j++) {
            snprintf(nm, sizeof nm, "class%d_features", list[j]);
            fd = OGR_Fld_Create(nm, OFTInteger64);
            OGR_L_CreateField(lyr, fd, TRUE);
            OGR_Fld_Destroy(fd);
            snprintf(nm, sizeof nm, "class%d_features_ha", list[j]);
            fd = OGR_Fld_Create(nm, OFTReal);
            OGR_L_CreateField(lyr, fd, TRUE);
            OGR_Fld_Destroy(fd);
        }
    }
    for (size_t i = 0; i < zs->n; i++) {
        const gd_zone *z = &zs->z[i];
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(lyr));
        OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "zone"), z->name);
        set_int(f, "pixels", z->pixels);
        set_real(f, "area_ha", z->area_ha);
        set_int(f, "valid_pixels", z->valid);
        set_real(f, "valid_ha", z->valid_ha);
        set_int(f, "changed_pixels", gd_zone_changed_px(z));
        set_real(f, "changed_ha", gd_zone_changed_ha(z));
        set_real(f, "changed_pct", gd_zone_changed_pct(z));
        for (int j = 0; j < nc; j++) {
            int k = list[j];
            snprintf(nm, sizeof nm, "class%d_pixels", k);
            set_int(f, nm, z->class_px[k]);
            snprintf(nm, sizeof nm, "class%d_ha", k);
            set_real(f, nm, z->class_ha[k]);
            snprintf(nm, sizeof nm, "class%d_pct", k);
            set_real(f, nm, pct(z->class_px[k], z->valid));
        }
        OGR_F_SetFieldString(f, OGR_F_GetFieldIndex(f, "alert"), gd_alert_name(z->level));
        if (zs->has_people) {
            set_real(f, "people", z->people);
            set_real(f, "changed_people", gd_zone_changed_people(z));
            for (int j = 0; j < nc; j++) {
                snprintf(nm, sizeof nm, "class%d_people", list[j]);
                set_real(f, nm, list[j] < GD_MAX_CLASSES ? z->class_people[list[j]] : 0.0);
            }
        }
        if (zs->has_features) {
            set_int(f, "exposed_features", z->features);
            for (int j = 0; j < nc; j++) {
                int k = list[j] < GD_MAX_CLASSES ? list[j] : 0;
                snprintf(nm, sizeof nm, "class%d_features", list[j]);
                set_int(f, nm, k ? z->class_features[k] : 0);
                snprintf(nm, sizeof nm, "class%d_features_ha", list[j]);
                set_real(f, nm, k ? z->class_feature_ha[k] : 0.0);
            }
        }
        OGR_F_SetGeometry(f, (OGRGeometryH)zs->geoms[i]);
        OGRErr e = OGR_L_CreateFeature(lyr, f);
        OGR_F_Destroy(f);
        if (e != OGRERR_NONE) {
            st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write zone %s to %s", z->name, path);
            goto done;
        }
    }
    GDALClose(out);
    out = NULL;
    st = gd_commit_file(job, tmp, path);
done:
    if (out) {
        GDALClose(out);
        remove(tmp);
    }
    CSLDestroy(lopts);
    if (wgs)
        OSRDestroySpatialReference(wgs);
    return st;
}
