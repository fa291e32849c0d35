/* alerts_gpkg.c: alerts.gpkg, the monitor's one file of state that QGIS opens as it is:
 * the alert polygons with ids kept from run to run and their history, the per-zone
 * series, and (state.c) the per-pixel state, the dates processed and the parameters; a
 * run's whole update is one SQLite transaction. */
#include "monitor_int.h"

#include "geodelta/deliver.h"
#include "geodelta/exposure.h"
#include "geodelta/files.h"
#include "geodelta/provenance.h"
#include "geodelta/summary.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One 8-connected region of pixels with the same alert status. */
typedef struct region {
    uint8_t status;
    int32_t first, last; /* YYYYMMDD */
    uint64_t pixels;
    double m2;
    int32_t conf;        /* the earliest confirmation date of its pixels, 0 */
    size_t first_px;     /* its first pixel in raster order */
    double people;
    int64_t id;          /* its alert id: kept from the last run or new */
    OGRGeometryH geom;
} region;

/* An alert of the last committed state: its id and status. */
typedef struct prev_alert {
    int64_t id;
    int status;
    int64_t pixels;
    double area_ha;
} prev_alert;

typedef struct gpkg_ctx {
    const gd_monitor *mon;
    const uint8_t *status;
    const int32_t *dates;
    int nd;
    const gd_zones *zs;
    const double *det, *conf;
    const float *people;   /* --population on the grid, NULL */
    int32_t *ids;          /* out: the alert id of each pixel, 0 */
    int64_t next;          /* the next new alert id */
    int32_t latest;        /* the latest date processed */
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


static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_prev(const void *a, const void *b)
{
    int64_t x = ((const prev_alert *)a)->id, y = ((const prev_alert *)b)->id;
    return x < y ? -1 : x > y;
}

/* One row of alert_history. */
static int history_row(gd_job *job, OGRLayerH l, int64_t id, int32_t date, const char *status,
                       int64_t into, int64_t pixels, double ha, int32_t recorded)
{
    OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
    OGR_F_SetFieldInteger64(f, 0, (GIntBig)id);
    set_date(f, 1, date);
    OGR_F_SetFieldString(f, 2, status);
    if (into > 0)
        OGR_F_SetFieldInteger64(f, 3, (GIntBig)into);
    else
        OGR_F_SetFieldNull(f, 3);
    OGR_F_SetFieldInteger64(f, 4, (GIntBig)pixels);
    if (ha >= 0)
        OGR_F_SetFieldDouble(f, 5, ha);
    else
        OGR_F_SetFieldNull(f, 5);
    set_date(f, 6, recorded);
    return gd_monitor_gpkg_put(job, l, f);
}

/* The figures of each labelled region from the per-pixel state px: status, first (the
 * earliest first detection the state holds: the confirmed alert's, or the first flag of
 * the one in progress), last seen, earliest confirmation, pixels, area (and people). */
static void region_figures(const gd_grid *g, const px_state *px, const int32_t *lab, region *r,
                           const float *people)
{
    size_t npx = (size_t)g->width * (size_t)g->height;
    for (size_t i = 0; i < npx; i++) {
        if (!lab[i])
            continue;
        const px_state *p = &px[i];
        region *q = &r[lab[i]];
        int32_t first = p->status == GD_MON_CONFIRMED ? p->alert_date : p->prov_date;
        if (!q->pixels) {
            q->status = p->status;
            q->first = first;
            q->first_px = i;
        }
        q->first = first < q->first ? first : q->first;
        q->last = p->last_date > q->last ? p->last_date : q->last;
        if (p->status == GD_MON_CONFIRMED && p->confirm_date > 0 &&
            (!q->conf || p->confirm_date < q->conf))
            q->conf = p->confirm_date;
        if (people)
            q->people += people[i];
        q->pixels++;
        if (g->row_area_m2)
            q->m2 += g->row_area_m2[i / (size_t)g->width];
    }
}

/* The alerts of the last committed state (the alerts layer an incremental run finds):
 * id, status and figures, sorted by id. */
static int load_prev(gd_job *job, GDALDatasetH ds, const gd_monitor *mon, prev_alert **out,
                     size_t *nout)
{
    prev_alert *pa = NULL;
    size_t np = 0, cap = 0;
    *out = NULL;
    *nout = 0;
    OGRLayerH ol = mon->in_place ? GDALDatasetGetLayerByName(ds, "alerts") : NULL;
    if (!ol)
        return GD_OK;
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(ol);
    int fi = OGR_FD_GetFieldIndex(fd, "alert_id"), fc = OGR_FD_GetFieldIndex(fd, "class"),
        fp = OGR_FD_GetFieldIndex(fd, "pixels"), fa = OGR_FD_GetFieldIndex(fd, "area_ha");
    OGRFeatureH f;
    OGR_L_ResetReading(ol);
    while (fi >= 0 && (f = OGR_L_GetNextFeature(ol)) != NULL) {
        if (np == cap) {
            prev_alert *q = realloc(pa, (cap = cap ? cap * 2 : 64) * sizeof *q);
            if (!q) {
                OGR_F_Destroy(f);
                free(pa);
                return gd_job_error(job, GD_EPROC, "out of memory");
            }
            pa = q;
        }
        pa[np].id = OGR_F_GetFieldAsInteger64(f, fi);
        pa[np].status = OGR_F_GetFieldAsInteger(f, fc);
        pa[np].pixels = OGR_F_GetFieldAsInteger64(f, fp);
        pa[np].area_ha = OGR_F_IsFieldSetAndNotNull(f, fa) ? OGR_F_GetFieldAsDouble(f, fa) : -1;
        np++;
        OGR_F_Destroy(f);
    }
    if (np)
        qsort(pa, np, sizeof *pa, cmp_prev);
    *out = pa;
    *nout = np;
    return GD_OK;
}

/* Gives each region an alert id: a region holding pixels of earlier alerts (pa, np: sorted
 * by id; prev_ids: the id per pixel, NULL none) keeps the id of the one, among those whose
 * pixels it holds most of, that brings it the most pixels (ties: the oldest, smallest id),
 * so that a large alert that absorbs a small one keeps its id; the others are merged into
 * it; an alert none of whose pixels is in a region any more is cleared; a region without
 * an earlier alert gets a new id, in raster order. Writes ids (per pixel) and the changes
 * to alert_history (hl), recorded on date. */
static int assign_ids(gd_job *job, OGRLayerH hl, gpkg_ctx *c, const int32_t *lab, region *r,
                      int32_t n, const prev_alert *pa, size_t np, const int32_t *prev_ids,
                      int32_t date, int32_t *ids)
{
    const gd_monitor *mon = c->mon;
    const gd_grid *g = mon->grid;
    size_t npx = (size_t)g->width * (size_t)g->height, nq = 0;
    uint64_t *pairs = NULL;
    int64_t *into = NULL; /* per previous alert: the id it continues as or merged into */
    size_t *claim = NULL; /* per region: the pixels the alert whose id it takes brings it */
    int32_t *home = NULL; /* per previous alert: the region holding most of its pixels */
    int st = GD_OK;
    if (!(pairs = malloc((npx ? npx : 1) * sizeof *pairs)) ||
        !(into = calloc(np ? np : 1, sizeof *into)) ||
        !(claim = calloc((size_t)n + 1, sizeof *claim)) ||
        !(home = calloc(np ? np : 1, sizeof *home))) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    for (size_t i = 0; prev_ids && i < npx; i++)
        if (lab[i] && prev_ids[i] > 0)
            pairs[nq++] = (uint64_t)(uint32_t)prev_ids[i] << 32 | (uint32_t)lab[i];
    qsort(pairs, nq, sizeof *pairs, cmp_u64);
    /* per earlier id (ascending): the region holding most of its pixels (ties: the first) */
    for (size_t a = 0; a < nq;) {
        int64_t id = (int64_t)(pairs[a] >> 32);
        int32_t best = 0;
        size_t bestn = 0;
        while (a < nq && (int64_t)(pairs[a] >> 32) == id) {
            int32_t l = (int32_t)(pairs[a] & 0xffffffffu);
            size_t k = a;
            while (a < nq && pairs[a] == pairs[k])
                a++;
            if (a - k > bestn)
                bestn = a - k, best = l;
        }
        /* ids come in ascending order: on a tie the oldest keeps the region */
        if (!r[best].id || bestn > claim[best]) {
            r[best].id = id;
            claim[best] = bestn;
        }
        prev_alert key = {id, 0, 0, 0};
        const prev_alert *p = np ? bsearch(&key, pa, np, sizeof *pa, cmp_prev) : NULL;
        if (p)
            home[p - pa] = best;
    }
    for (size_t k = 0; k < np; k++)
        into[k] = home[k] ? r[home[k]].id : 0;
    for (int32_t l = 1; l <= n; l++)
        if (!r[l].id)
            r[l].id = c->next++;
    for (size_t i = 0; i < npx; i++)
        ids[i] = lab[i] ? (int32_t)r[lab[i]].id : 0;
    /* alert_history: what changed */
    static const char *const sname[] = {"", "provisional", "confirmed", ""};
    for (int32_t l = 1; l <= n && st == GD_OK; l++) {
        double ha = g->row_area_m2 ? r[l].m2 / 1e4 : -1;
        prev_alert key = {r[l].id, 0, 0, 0};
        const prev_alert *p = np ? bsearch(&key, pa, np, sizeof *pa, cmp_prev) : NULL;
        int was = p ? p->status : 0;
        if (!p) /* new: raised on its first date (and, the state says, confirmed later) */
            st = history_row(job, hl, r[l].id, r[l].first, "provisional", 0,
                             (int64_t)r[l].pixels, ha, date);
        if (st == GD_OK && r[l].status != (p ? was : GD_MON_PROVISIONAL))
            st = history_row(job, hl, r[l].id,
                             r[l].status == GD_MON_CONFIRMED && r[l].conf ? r[l].conf : date,
                             sname[r[l].status & 3], 0, (int64_t)r[l].pixels, ha, date);
    }
    for (size_t k = 0; k < np && st == GD_OK; k++)
        if (into[k] != pa[k].id)
            st = history_row(job, hl, pa[k].id, date, into[k] ? "merged" : "cleared", into[k],
                             pa[k].pixels, pa[k].area_ha, date);
done:
    free(pairs);
    free(into);
    free(claim);
    free(home);
    return st;
}

/* alert_history date by date: the per-pixel state before the run (mon->px0) takes the
 * alert changes of each date tested (mon->chg, recorded by the strips) in date order, and
 * after each date with a change the alerts are labelled and given ids as a run ending on
 * that date would, so the history holds each change on the date it happened, whatever the
 * runs were (one full run, nightly runs, several dates at once: the same rows and ids).
 * pa/np/pids: in, the alerts before the run; out, after its last date (pids owned by *own). */
static int history_steps(gd_job *job, OGRLayerH hl, gpkg_ctx *c, prev_alert **pa, size_t *np,
                         const int32_t **pids, int32_t **own)
{
    const gd_monitor *mon = c->mon;
    const gd_grid *g = mon->grid;
    size_t npx = (size_t)g->width * (size_t)g->height;
    px_state *cur = mon->px0;
    uint8_t *stat = malloc(npx ? npx : 1);
    int32_t *lab = malloc((npx ? npx : 1) * sizeof *lab);
    size_t *at = calloc((size_t)(mon->nchg > 0 ? mon->nchg : 1), sizeof *at);
    int st = GD_OK;
    if (!stat || !lab || !at) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the alert history");
        goto done;
    }
    for (size_t i = 0; i < npx; i++)
        stat[i] = cur[i].status;
    for (int k = 0; k < mon->ntodo && st == GD_OK;) {
        int32_t d = mon->st[mon->todo[k].s].s->items[mon->todo[k].i].date;
        int k1 = k, changed = 0;
        while (k1 < mon->ntodo && mon->st[mon->todo[k1].s].s->items[mon->todo[k1].i].date == d)
            k1++;
        /* each strip's changes are in date order; a pixel's are all in its strip */
        for (int sI = 0; sI < mon->nchg; sI++) {
            const gd_mon_changes *cl = &mon->chg[sI];
            for (; at[sI] < cl->n && cl->v[at[sI]].k < k1; at[sI]++) {
                const gd_mon_change *e = &cl->v[at[sI]];
                cur[e->i] = e->now;
                stat[e->i] = e->now.status;
                changed = 1;
            }
        }
        k = k1;
        if (!changed)
            continue;
        int32_t n = 0;
        region *r = NULL;
        int32_t *ids = malloc((npx ? npx : 1) * sizeof *ids);
        prev_alert *na = NULL;
        if (!ids || label_regions(g, stat, lab, &n) != 0 ||
            !(r = calloc((size_t)n + 1, sizeof *r)) ||
            !(na = malloc(((size_t)n + 1) * sizeof *na))) {
            free(ids);
            free(r);
            st = gd_job_error(job, GD_EPROC, "out of memory for the alert history");
            break;
        }
        region_figures(g, cur, lab, r, NULL);
        st = assign_ids(job, hl, c, lab, r, n, *pa, *np, *pids, d, ids);
        for (int32_t l = 1; l <= n; l++)
            na[l - 1] = (prev_alert){r[l].id, r[l].status, (int64_t)r[l].pixels,
                                     g->row_area_m2 ? r[l].m2 / 1e4 : -1};
        if (n)
            qsort(na, (size_t)n, sizeof *na, cmp_prev);
        free(*pa);
        *pa = na;
        *np = (size_t)n;
        free(*own);
        *own = ids;
        *pids = ids;
        free(r);
    }
done:
    free(stat);
    free(lab);
    free(at);
    return st;
}

static int alerts_layer(gd_job *job, GDALDatasetH ds, gpkg_ctx *c)
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
    prev_alert *pa = NULL;
    size_t np = 0;
    const int32_t *pids = NULL;
    int32_t *own = NULL;
    int st = GD_OK;
    if (!lab || !mask || label_regions(g, c->status, lab, &n) != 0 ||
        !(r = calloc((size_t)n + 1, sizeof *r))) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the alert regions");
        goto done;
    }
    for (size_t i = 0; i < npx; i++)
        mask[i] = lab[i] != 0;
    region_figures(g, mon->px, lab, r, c->people);
    /* alert_history: the alerts before the run, each date's changes, then this state's
     * regions, which take the ids of the last date's (no row unless they differ) */
    static const char *const hn[] = {"alert_id", "date",   "status",  "merged_into",
                                     "pixels",   "area_ha", "recorded"};
    static const OGRFieldType ht[] = {OFTInteger64, OFTDate, OFTString, OFTInteger64,
                                      OFTInteger64, OFTReal, OFTDate};
    OGRLayerH hl = GDALDatasetGetLayerByName(ds, "alert_history");
    if (!hl && !(hl = gd_monitor_gpkg_layer(job, ds, "alert_history", NULL, wkbNone, hn, ht, 7, -1, 0))) {
        st = gd_job_status(job);
        goto done;
    }
    if ((st = load_prev(job, ds, mon, &pa, &np)) != GD_OK)
        goto done;
    pids = mon->alert_id;
    if (mon->px0 && (st = history_steps(job, hl, c, &pa, &np, &pids, &own)) != GD_OK)
        goto done;
    if ((st = assign_ids(job, hl, c, lab, r, n, pa, np, pids, c->latest, c->ids)) != GD_OK)
        goto done;
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
    static const char *const names[] = {"alert_id", "class",  "status", "first_seen",
                                        "last_seen", "area_ha", "people", "pixels", "zone"};
    static const OGRFieldType types[] = {OFTInteger64, OFTInteger, OFTString,
                                         OFTDate,      OFTDate,    OFTReal,
                                         OFTReal,      OFTInteger64, OFTString};
    /* an incremental run rewrites the rows of the layer it finds (same transaction) */
    OGRLayerH ol = GDALDatasetGetLayerByName(ds, "alerts");
    int styled = ol != NULL;
    if (ol)
        st = gd_monitor_state_clear(job, ds, "alerts");
    else if (!(ol = gd_monitor_gpkg_layer(job, ds, "alerts", srs, wkbMultiPolygon, names, types, 9, -1, 0)))
        st = gd_job_status(job);
    if (st != GD_OK)
        goto done;
    static const char *const sname[] = {"", "provisional", "confirmed", ""};
    for (int32_t l = 1; l <= n && st == GD_OK; l++) {
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(ol));
        OGR_F_SetFieldInteger64(f, 0, (GIntBig)r[l].id);
        OGR_F_SetFieldInteger(f, 1, r[l].status);
        OGR_F_SetFieldString(f, 2, sname[r[l].status & 3]);
        set_date(f, 3, r[l].first);
        set_date(f, 4, r[l].last);
        if (g->row_area_m2)
            OGR_F_SetFieldDouble(f, 5, r[l].m2 / 1e4);
        else
            OGR_F_SetFieldNull(f, 5);
        if (c->people)
            OGR_F_SetFieldDouble(f, 6, round(r[l].people * 100.0) / 100.0);
        else
            OGR_F_SetFieldNull(f, 6);
        OGR_F_SetFieldInteger64(f, 7, (GIntBig)r[l].pixels);
        int z = zone_of(mon, c->zs, ct, r[l].first_px);
        if (z >= 0)
            OGR_F_SetFieldString(f, 8, c->zs->z[z].name);
        else
            OGR_F_SetFieldNull(f, 8);
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
        st = gd_monitor_gpkg_put(job, ol, f);
    }
    if (st == GD_OK && !styled) {
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
    free(pa);
    free(own);
    return st;
}

/* zone_series: the rows of zones_series.csv. */
static int zone_series_layer(gd_job *job, GDALDatasetH ds, const gpkg_ctx *c)
{
    int area = c->mon->grid->row_area_m2 != NULL;
    const char *names[] = {"zone", "chart", "date", area ? "detected_ha" : "detected_px",
                           area ? "confirmed_ha" : "confirmed_px"};
    static const OGRFieldType types[] = {OFTString, OFTString, OFTDate, OFTReal, OFTReal};
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "zone_series");
    int st = GD_OK;
    if (l && (st = gd_monitor_state_clear(job, ds, "zone_series")) != GD_OK)
        return st;
    if (!l && !(l = gd_monitor_gpkg_layer(job, ds, "zone_series", NULL, wkbNone, names, types, 5, -1, 0)))
        return gd_job_status(job);
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
            st = gd_monitor_gpkg_put(job, l, f);
        }
    }
    return st;
}


static int fill(gd_job *job, void *dsv, void *arg)
{
    GDALDatasetH ds = dsv;
    gpkg_ctx *c = arg;
    /* the whole update in one transaction: a kill before the commit leaves the last state,
     * SQLite's journal rolls the file back on the next open */
    if (GDALDatasetStartTransaction(ds, FALSE) != OGRERR_NONE)
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot start a transaction in alerts.gpkg");
    int st = alerts_layer(job, ds, c);
    if (st == GD_OK)
        st = gd_monitor_state_write(job, ds, c->mon, c->ids, c->next);
    if (st == GD_OK)
        st = c->zs ? zone_series_layer(job, ds, c) : gd_monitor_state_clear(job, ds, "zone_series");
    /* the driver keeps some writes of a layer (gpkg_contents.last_change, its feature
     * count triggers) until the layer is synced, at close at the latest: synced here they
     * are part of the transaction, not writes after the commit that a kill would lose */
    for (int k = 0; st == GD_OK && k < GDALDatasetGetLayerCount(ds); k++)
        if (OGR_L_SyncToDisk(GDALDatasetGetLayer(ds, k)) != OGRERR_NONE)
            st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write %s to alerts.gpkg",
                                   OGR_L_GetName(GDALDatasetGetLayer(ds, k)));
    if (st != GD_OK) {
        GDALDatasetRollbackTransaction(ds);
        return st;
    }
    if (GDALDatasetCommitTransaction(ds) != OGRERR_NONE)
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot commit alerts.gpkg");
    gd_test_pause("monitor-state-commit");
    return GD_OK;
}

int gd_monitor_write_gpkg(gd_job *job, const gd_monitor *mon, const uint8_t *status,
                          const int32_t *dates, int nd, const gd_zones *zs, const double *det,
                          const double *conf)
{
    gpkg_ctx c = {mon, status, dates, nd, zs, det, conf, NULL, NULL, mon->next_alert, 0};
    char path[4096], when[40], d[16];
    float *people = NULL;
    size_t npx = (size_t)mon->grid->width * (size_t)mon->grid->height;
    int st = GD_OK;
    /* the file's timestamp (gpkg_contents.last_change): the latest date processed, the
     * same in every run that ends on that date */
    for (int s = 0; s < mon->ns; s++)
        if (mon->st[s].done > 0 && mon->st[s].s->items[mon->st[s].done - 1].date > c.latest)
            c.latest = mon->st[s].s->items[mon->st[s].done - 1].date;
    ymd_text(c.latest ? c.latest : 20000101, d);
    snprintf(when, sizeof when, "%sT00:00:00.000Z", d);
    gd_path_join(path, sizeof path, mon->p->outdir, "alerts.gpkg");
    if (mon->in_place && mon->ntested == 0 && !mon->refresh) {
        /* nothing new: the state stays as it was committed (a run killed after its commit
         * comes back here and leaves the same bytes) */
        gd_job_info(job, "alerts.gpkg: no new date, the state is left as it is");
        return GD_OK;
    }
    if (mon->in_place && mon->ntested == 0) /* the same alerts: no history row, no date */
        gd_job_info(job, "alerts.gpkg: no new date; the alerts' people and zones and the zone "
                    "series are rewritten for the population and zones given");
    if (mon->p->population) {
        double src = 0.0;
        if ((st = gd_population_on_grid(job, mon->grid, mon->p->population, &people, &src)) != GD_OK)
            return st;
        c.people = people;
    }
    if (!(c.ids = malloc((npx ? npx : 1) * sizeof *c.ids))) {
        free(people);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    if (mon->in_place) {
        /* updated in place: the transaction, not a rename, makes it all or nothing */
        const char *const drivers[] = {"GPKG", NULL};
        CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", when);
        GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, NULL, NULL);
        if (!ds)
            st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot open %s to update it", path);
        else
            st = fill(job, ds, &c);
        CPLErrorReset();
        if (ds)
            GDALClose(ds);
        if (st == GD_OK && CPLGetLastErrorType() >= CE_Failure)
            st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot finish writing %s", path);
        CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", NULL);
    } else {
        st = gd_gpkg_write_dated(job, path, NULL, 0, fill, &c, when);
    }
    if (st == GD_OK) {
        gd_test_pause("monitor-state");
        gd_monitor_state_done(job, mon);
        gd_job_info(job, "alerts.gpkg: state %s, next alert id %lld",
                    mon->in_place ? "updated in place" : "written", (long long)c.next);
    }
    free(c.ids);
    free(people);
    return st;
}
