/* vectorize.c: class raster -> polygons (GDALPolygonize) with geodesic area -> GeoJSON. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"
#include "geodelta/task.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gd_kernels.h>
#include <gdal_alg.h>
#include <geodesic.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdlib.h>
#include <string.h>

/* Opens the written GeoJSON again: it must parse and hold all nfeat features. */
static int check_written(gd_job *job, const char *tmp, const char *path, GIntBig nfeat)
{
    const char *drivers[] = {"GeoJSON", NULL};
    CPLErrorReset();
    GDALDatasetH ds = GDALOpenEx(tmp, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, NULL, NULL);
    OGRLayerH l = ds ? GDALDatasetGetLayer(ds, 0) : NULL;
    GIntBig got = l ? OGR_L_GetFeatureCount(l, TRUE) : -1;
    if (ds)
        GDALClose(ds);
    if (got != nfeat)
        return gd_job_error(job, GD_EOUTPUT,
                            "cannot write %s: the file written is incomplete (%lld of %lld "
                            "polygons; hint: is the disk full?)",
                            path, (long long)(got < 0 ? 0 : got), (long long)nfeat);
    return GD_OK;
}

/* Geodesic area (m²) of a lon/lat polygon: outer ring minus holes. */
static double ring_area(const struct geod_geodesic *g, OGRGeometryH ring)
{
    int n = OGR_G_GetPointCount(ring);
    if (n < 4)
        return 0.0;
    double *lon = malloc(sizeof(double) * (size_t)n), *lat = malloc(sizeof(double) * (size_t)n);
    double area = 0.0, perim = 0.0;
    if (lon && lat) {
        OGR_G_GetPoints(ring, lon, sizeof(double), lat, sizeof(double), NULL, 0);
        /* the ring is closed: the last point repeats the first */
        geod_polygonarea(g, lat, lon, n - 1, &area, &perim);
    }
    free(lon);
    free(lat);
    return fabs(area);
}

static double polygon_area_m2(const struct geod_geodesic *g, OGRGeometryH poly)
{
    double a = 0.0;
    int nr = OGR_G_GetGeometryCount(poly);
    for (int r = 0; r < nr; r++) {
        double ra = ring_area(g, OGR_G_GetGeometryRef(poly, r));
        a += r == 0 ? ra : -ra;
    }
    return a;
}

/* ---- each polygon's pixels from a labelling of the classes ------------------------- */
/* GDALPolygonize's polygons are the 4-connected regions of one class among the polygonized
 * pixels (classes 1..GD_MAX_CLASSES-1): gd_k_run_regions labels them from the runs along
 * rows, numbered in the raster order of their first pixels, and a polygon is found by the
 * corner of its top-left pixel, the first vertex of its exterior ring in raster order. The
 * sums are then made in raster order per region, as the strip-wise rasterization of the
 * polygons made them per polygon. */
#define LABEL_MAX_RUNS ((size_t)1 << 26) /* beyond this the rasterization is used */

/* The polygon's top-left pixel as a raster index, from its exterior ring; -1 when the
 * ring is not on the pixel grid. */
static int64_t poly_first_pixel(OGRGeometryH geom, const gd_grid *g)
{
    OGRGeometryH ring = geom ? OGR_G_GetGeometryRef(geom, 0) : NULL;
    int np = ring ? OGR_G_GetPointCount(ring) : 0;
    int64_t best = -1;
    for (int i = 0; i < np; i++) {
        double X = OGR_G_GetX(ring, i), Y = OGR_G_GetY(ring, i);
        double fx = (X - g->gt[0]) / g->gt[1], fy = (Y - g->gt[3]) / g->gt[5];
        double rx = floor(fx + 0.5), ry = floor(fy + 0.5);
        if (fabs(fx - rx) > 1e-6 || fabs(fy - ry) > 1e-6 || rx < 0 || ry < 0 ||
            rx >= g->width || ry >= g->height)
            continue; /* a corner on the right or bottom border is no pixel's top-left */
        int64_t idx = (int64_t)ry * g->width + (int64_t)rx;
        if (best < 0 || idx < best)
            best = idx;
    }
    return best;
}

/* The labelling's half that needs no polygon: the regions of change pixels (runs joined
 * row to row) and each region's sums of the score and people, in raster order. It runs
 * on its own thread beside GDALPolygonize; stats_by_labels then matches the polygons. */
typedef struct label_sums {
    const gd_grid *g;
    const uint8_t *classes;
    const gd_score *score;
    const float *people;
    int ok;            /* 1: the regions and their sums are here; 0: rasterize instead */
    uint32_t *region;  /* per run, in raster order */
    int64_t *first;    /* per region: its first pixel (raster order), increasing */
    size_t nreg;
    double *rsum, *rpsum;
    uint64_t *rcnt;
} label_sums;

static void label_sums_free(label_sums *ls)
{
    free(ls->region);
    free(ls->first);
    free(ls->rsum);
    free(ls->rpsum);
    free(ls->rcnt);
    ls->region = NULL;
    ls->first = NULL;
    ls->rsum = ls->rpsum = NULL;
    ls->rcnt = NULL;
    ls->ok = 0;
}

/* A gd_task: ls->ok = 1 when done, 0 when the labelling does not apply (rotated grid,
 * too many runs, out of memory: the caller rasterizes); an error only when the score
 * cannot be read. */
static int label_sums_task(gd_job *job, void *arg)
{
    label_sums *ls = arg;
    const gd_grid *g = ls->g;
    const uint8_t *classes = ls->classes;
    const float *people = ls->people;
    ls->ok = 0;
    /* GEODELTA_POLY_RASTERIZE=1: the rasterization, for the tests that compare the two */
    const char *force = getenv("GEODELTA_POLY_RASTERIZE");
    if ((force && *force && strcmp(force, "0") != 0) || g->gt[2] != 0.0 || g->gt[4] != 0.0 ||
        g->gt[1] == 0.0 || g->gt[5] == 0.0)
        return GD_OK;
    int w = g->width, h = g->height, st = GD_OK;
    float *buf = NULL;
    int *runs = malloc(sizeof(int) * 3 * ((size_t)w + 1));
    if (!runs || gd_k_run_regions(classes, w, h, 1, GD_MAX_CLASSES - 1, LABEL_MAX_RUNS,
                                  &ls->region, &ls->first, &ls->nreg) != 0)
        goto done;
    ls->rsum = calloc(ls->nreg + 1, sizeof *ls->rsum);
    ls->rcnt = calloc(ls->nreg + 1, sizeof *ls->rcnt);
    ls->rpsum = people ? calloc(ls->nreg + 1, sizeof *ls->rpsum) : NULL;
    if (!ls->rsum || !ls->rcnt || (people && !ls->rpsum))
        goto done;
    /* pass 2: the same runs, in the same order, with the score's rows */
    int rows = gd_score_strip_rows(ls->score);
    buf = ls->score->data ? NULL : malloc(sizeof(float) * (size_t)w * (size_t)rows);
    if (!ls->score->data && !buf)
        goto done;
    size_t l = 0;
    for (int y0 = 0; y0 < h; y0 += rows) {
        int nr = h - y0 < rows ? h - y0 : rows;
        const float *sr = gd_score_rows(job, ls->score, y0, nr, buf);
        if (!sr) {
            st = gd_job_status(job);
            goto done;
        }
        for (int y = y0; y < y0 + nr; y++) {
            int nc = gd_k_row_runs(classes + (size_t)y * (size_t)w, w, 1, GD_MAX_CLASSES - 1,
                                   runs);
            const float *sc = sr + (size_t)(y - y0) * (size_t)w;
            const float *pp = people ? people + (size_t)y * (size_t)w : NULL;
            for (int i = 0; i < nc; i++, l++) {
                uint32_t r = ls->region[l];
                for (int x = runs[3 * i]; x < runs[3 * i + 1]; x++) {
                    if (pp)
                        ls->rpsum[r] += pp[x];
                    if (!isnan(sc[x])) {
                        ls->rsum[r] += sc[x];
                        ls->rcnt[r]++;
                    }
                }
            }
        }
    }
    ls->ok = 1;
done:
    free(runs);
    free(buf);
    if (!ls->ok)
        label_sums_free(ls);
    return st;
}

/* Fills sum/cnt/psum[1..nfeat] from the regions' sums: each polygon is its region, found
 * by its top-left pixel, every region once. 1 done, 0 not applicable (the caller
 * rasterizes). */
static int stats_by_labels(const gd_grid *g, const uint8_t *classes, const label_sums *ls,
                           OGRLayerH ml, GIntBig nfeat, double *sum, uint64_t *cnt,
                           double *psum)
{
    if (!ls->ok || (GIntBig)ls->nreg != nfeat)
        return 0;
    int32_t *reg_of_poly = malloc(sizeof *reg_of_poly * ((size_t)nfeat + 1));
    uint8_t *seen = calloc(ls->nreg + 1, 1);
    int ok = reg_of_poly && seen;
    OGR_L_ResetReading(ml);
    OGRFeatureH f;
    while (ok && (f = OGR_L_GetNextFeature(ml)) != NULL) {
        int cls = OGR_F_GetFieldAsInteger(f, 0), p = OGR_F_GetFieldAsInteger(f, 1);
        int64_t idx = poly_first_pixel(OGR_F_GetGeometryRef(f), g);
        OGR_F_Destroy(f);
        size_t lo = 0, hi = ls->nreg;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ls->first[mid] < idx)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (p < 1 || p > nfeat || idx < 0 || lo >= ls->nreg || ls->first[lo] != idx ||
            seen[lo] || classes[idx] != cls)
            ok = 0;
        else {
            seen[lo] = 1;
            reg_of_poly[p] = (int32_t)lo;
        }
    }
    for (GIntBig p = 1; ok && p <= nfeat; p++) {
        int32_t r = reg_of_poly[p];
        sum[p] = ls->rsum[r];
        cnt[p] = ls->rcnt[r];
        if (psum)
            psum[p] = ls->rpsum[r];
    }
    free(reg_of_poly);
    free(seen);
    return ok;
}

int gd_vectorize(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                 const gd_score *score, const gd_method *m, const float *people,
                 const char *path, gd_class_total totals[GD_MAX_CLASSES])
{
    double *psum = NULL;
    int st = GD_OK;
    char tmp[4096];
    label_sums ls = {.g = grid, .classes = classes, .score = score, .people = people};
    gd_task lt = {0};
    uint8_t *mask = NULL;
    int32_t *pid = NULL;
    double *sum = NULL;
    uint64_t *cnt = NULL;
    GDALDatasetH cds = NULL, mds = NULL, pds = NULL, mem = NULL, out = NULL;
    OGRSpatialReferenceH srs = NULL, wgs = NULL;
    OGRCoordinateTransformationH ct = NULL;
    char **lopts = NULL;
    struct geod_geodesic geod;
    geod_init(&geod, 6378137.0, 1.0 / 298.257223563);
    /* the figures this stage counts; people (the exposure step's) stay as they are */
    uint64_t polygons[GD_MAX_CLASSES] = {0};
    size_t n = (size_t)grid->width * (size_t)grid->height;

    if ((st = gd_tmp_name(job, path, tmp, sizeof tmp)) != GD_OK)
        return st;
    /* the polygons are of classes 1..GD_MAX_CLASSES-1: when every pixel is below
     * GD_MAX_CLASSES (no nodata), the classes are their own mask (0 = no polygon) and no
     * mask of the scene's size is made */
    if (!gd_class_all_below(classes, n, GD_MAX_CLASSES)) {
        if ((st = gd_class_mask(job, grid, classes, 1, GD_MAX_CLASSES - 1, &mask)) != GD_OK)
            goto done;
    }
    if ((st = gd_mem_dataset(job, grid, (void *)classes, GDT_Byte, &cds)) != GD_OK ||
        (mask && (st = gd_mem_dataset(job, grid, mask, GDT_Byte, &mds)) != GD_OK))
        goto done;
    if (grid->wkt) {
        srs = OSRNewSpatialReference(NULL);
        OSRSetFromUserInput(srs, grid->wkt);
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        wgs = OSRNewSpatialReference(NULL);
        OSRImportFromEPSG(wgs, 4326);
        OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
        ct = OCTNewCoordinateTransformation(srs, wgs);
        if (!ct) {
            st = gd_job_error_gdal(job, GD_EPROC, "no transformation from the grid CRS to WGS84");
            goto done;
        }
    }
    mem = GDALCreate(GDALGetDriverByName("Memory"), "polys", 0, 0, 0, GDT_Unknown, NULL);
    if (!mem) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot create an in-memory vector dataset");
        goto done;
    }
    OGRLayerH ml = GDALDatasetCreateLayer(mem, "polys", srs, wkbPolygon, NULL);
    OGRFieldDefnH f = OGR_Fld_Create("class", OFTInteger);
    OGR_L_CreateField(ml, f, TRUE);
    OGR_Fld_Destroy(f);
    f = OGR_Fld_Create("pid", OFTInteger);
    OGR_L_CreateField(ml, f, TRUE);
    OGR_Fld_Destroy(f);
    /* the regions' sums on their own thread (they need the classes and the score, not
     * the polygons) while GDAL polygonizes; matched to the polygons after */
    if ((st = gd_task_start(job, &lt, label_sums_task, &ls, GD_TASK_AT_JOIN)) != GD_OK)
        goto done;
    /* polygonize then write: halves of the slot the chain gives */
    gd_job_progress_range(job, 0.0, 0.5);
    CPLErrorReset();
    GDALRasterBandH cband = GDALGetRasterBand(cds, 1);
    double t_poly = gd_now();
    if (GDALPolygonize(cband, mds ? GDALGetRasterBand(mds, 1) : cband, ml, 0, NULL,
                       gd_job_gdal_progress, job) != CE_None)
        st = gd_job_error_gdal(job, GD_EPROC, "polygonize failed");
    double t_join = gd_now();
    if ((st = gd_task_join(job, &lt, st)) != GD_OK)
        goto done;
    if (lt.threaded)
        gd_job_info(job, "polygonized in %.2f s; the regions' sums beside it took %.2f s "
                         "(waited %.2f s)", t_join - t_poly, lt.seconds, gd_now() - t_join);
    /* the mask is not needed any more: give its pixel a byte back before the next step */
    if (mds)
        GDALClose(mds);
    mds = NULL;
    free(mask);
    mask = NULL;
    GIntBig nfeat = OGR_L_GetFeatureCount(ml, TRUE);
    /* number the polygons and burn the numbers to find each polygon's pixels */
    OGR_L_ResetReading(ml);
    OGRFeatureH feat;
    int k = 0;
    while ((feat = OGR_L_GetNextFeature(ml)) != NULL) {
        OGR_F_SetFieldInteger(feat, 1, ++k);
        OGRErr oe = OGR_L_SetFeature(ml, feat);
        OGR_F_Destroy(feat);
        if (oe != OGRERR_NONE) {
            st = gd_job_error_gdal(job, GD_EPROC, "cannot number the polygons");
            goto done;
        }
    }
    sum = calloc((size_t)nfeat + 1, sizeof *sum);
    cnt = calloc((size_t)nfeat + 1, sizeof *cnt);
    psum = people ? calloc((size_t)nfeat + 1, sizeof *psum) : NULL;
    if (!sum || !cnt || (people && !psum)) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    int by_labels = stats_by_labels(grid, classes, &ls, ml, nfeat, sum, cnt, psum);
    label_sums_free(&ls);
    gd_job_info(job, "polygons' pixels found by %s",
                by_labels ? "a labelling of the classes" : "rasterizing the polygons");
    json_object_set_new(gd_job_auto(job), "polygon_pixels",
                        json_string(by_labels ? "labelling" : "rasterization"));
    if (!by_labels) {
        /* the score may live in a temporary file: walk it strip by strip, and burn the
         * polygon numbers strip by strip too (a strip-sized id raster instead of 4 bytes
         * per pixel of the scene), pixel-centre rule as GDALPolygonize's edges */
        int rows = gd_score_strip_rows(score), w = grid->width;
        float *buf = score->data ? NULL : malloc(sizeof(float) * (size_t)w * (size_t)rows);
        pid = malloc(sizeof *pid * (size_t)w * (size_t)rows);
        if ((!score->data && !buf) || !pid) {
            free(buf);
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
        char **ropts = CSLSetNameValue(NULL, "ATTRIBUTE", "pid");
        for (int y0 = 0; y0 < grid->height; y0 += rows) {
            int nr = grid->height - y0 < rows ? grid->height - y0 : rows;
            const float *sr = gd_score_rows(job, score, y0, nr, buf);
            if (!sr) {
                free(buf);
                CSLDestroy(ropts);
                st = gd_job_status(job);
                goto done;
            }
            gd_grid sg = *grid;
            sg.height = nr;
            sg.gt[0] = grid->gt[0] + y0 * grid->gt[2];
            sg.gt[3] = grid->gt[3] + y0 * grid->gt[5];
            memset(pid, 0, sizeof *pid * (size_t)w * (size_t)nr);
            int bands[1] = {1};
            OGRLayerH layers[1] = {ml};
            /* only the polygons that reach this strip: the bounding box of its corners */
            double x0 = INFINITY, x1 = -INFINITY, yy0 = INFINITY, yy1 = -INFINITY;
            for (int c = 0; c < 4; c++) {
                double px = (c & 1) ? w : 0, py = (c & 2) ? nr : 0;
                double mx = sg.gt[0] + px * sg.gt[1] + py * sg.gt[2];
                double my = sg.gt[3] + px * sg.gt[4] + py * sg.gt[5];
                x0 = fmin(x0, mx), x1 = fmax(x1, mx), yy0 = fmin(yy0, my), yy1 = fmax(yy1, my);
            }
            OGR_L_SetSpatialFilterRect(ml, x0, yy0, x1, yy1);
            CPLErr e = CE_Failure;
            /* on a pixel grid neither side has a CRS, and GDAL warns that it assumes they
             * match: they do, the layer is ours; the warning is no news for the run */
            if (!grid->wkt)
                CPLPushErrorHandler(CPLQuietErrorHandler);
            if (gd_mem_dataset(job, &sg, pid, GDT_Int32, &pds) == GD_OK)
                e = GDALRasterizeLayers(pds, 1, bands, 1, layers, NULL, NULL, NULL, ropts,
                                        NULL, NULL);
            if (!grid->wkt)
                CPLPopErrorHandler();
            if (pds)
                GDALClose(pds);
            pds = NULL;
            OGR_L_SetSpatialFilter(ml, NULL);
            if (e != CE_None) {
                free(buf);
                CSLDestroy(ropts);
                st = gd_job_error_gdal(job, GD_EPROC, "rasterizing the polygons failed");
                goto done;
            }
            const int32_t *pr = pid;
            if (people) {
                const float *pp = people + (size_t)y0 * (size_t)w;
                for (size_t i = 0; i < (size_t)w * (size_t)nr; i++)
                    if (pr[i] > 0 && pr[i] <= nfeat)
                        psum[pr[i]] += pp[i];
            }
            for (size_t i = 0; i < (size_t)w * (size_t)nr; i++) {
                int32_t p = pr[i];
                if (p > 0 && p <= nfeat && !isnan(sr[i])) {
                    sum[p] += sr[i];
                    cnt[p]++;
                }
            }
        }
        CSLDestroy(ropts);
        free(buf);
    }
    /* GeoJSON (RFC 7946: WGS84 lon/lat, reprojected by the driver) */
    GDALDriverH gj = GDALGetDriverByName("GeoJSON");
    out = gj ? GDALCreate(gj, tmp, 0, 0, 0, GDT_Unknown, NULL) : NULL;
    if (!out) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot create %s", path);
        goto done;
    }
    /* a pixel grid has no WGS84 position: plain GeoJSON in pixel/line coordinates */
    lopts = CSLSetNameValue(lopts, "RFC7946", grid->wkt ? "YES" : "NO");
    lopts = CSLSetNameValue(lopts, "WRITE_NAME", "NO");
    /* GDAL 3.6 has no FOREIGN_MEMBERS_COLLECTION (3.9+), but the driver copies the
     * members of NATIVE_DATA to the FeatureCollection: the run id rides there */
    char native[128];
    if (gd_job_run_id(job)) {
        snprintf(native, sizeof native, "{\"geodelta_run_id\": \"%s\"}", gd_job_run_id(job));
        lopts = CSLSetNameValue(lopts, "NATIVE_MEDIA_TYPE", "application/vnd.geo+json");
        lopts = CSLSetNameValue(lopts, "NATIVE_DATA", native);
    }
    OGRLayerH ol = GDALDatasetCreateLayer(out, "change", srs, wkbPolygon, lopts);
    if (!ol) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot create the layer of %s", path);
        goto done;
    }
    const struct {
        const char *name;
        OGRFieldType type;
    } fields[] = {{"id", OFTInteger},      {"class", OFTInteger},    {"class_name", OFTString},
                  {"area_ha", OFTReal},    {"pixels", OFTInteger64}, {"mean_score", OFTReal}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        f = OGR_Fld_Create(fields[i].name, fields[i].type);
        OGR_L_CreateField(ol, f, TRUE);
        OGR_Fld_Destroy(f);
    }
    if (people) { /* only with --population: other runs keep their bytes */
        f = OGR_Fld_Create("people", OFTReal);
        OGR_L_CreateField(ol, f, TRUE);
        OGR_Fld_Destroy(f);
    }
    gd_job_progress_range(job, 0.5, 1.0);
    OGR_L_ResetReading(ml);
    k = 0;
    while ((feat = OGR_L_GetNextFeature(ml)) != NULL) {
        k++;
        int cls = OGR_F_GetFieldAsInteger(feat, 0);
        int p = OGR_F_GetFieldAsInteger(feat, 1);
        OGRGeometryH geom = OGR_F_GetGeometryRef(feat);
        OGRFeatureH of = OGR_F_Create(OGR_L_GetLayerDefn(ol));
        OGR_F_SetFieldInteger(of, 0, k);
        OGR_F_SetFieldInteger(of, 1, cls);
        OGR_F_SetFieldString(of, 2, cls >= 1 && cls < GD_MAX_CLASSES && m->class_names[cls] ? m->class_names[cls] : "");
        if (ct && geom) {
            OGRGeometryH g = OGR_G_Clone(geom);
            if (OGR_G_Transform(g, ct) == OGRERR_NONE)
                OGR_F_SetFieldDouble(of, 3, polygon_area_m2(&geod, g) / 1e4);
            OGR_G_DestroyGeometry(g);
        }
        OGR_F_SetFieldInteger64(of, 4, p > 0 && p <= nfeat ? (GIntBig)cnt[p] : 0);
        if (p > 0 && p <= nfeat && cnt[p] > 0)
            OGR_F_SetFieldDouble(of, 5, sum[p] / (double)cnt[p]);
        if (people)
            OGR_F_SetFieldDouble(of, 6, p > 0 && p <= nfeat ? psum[p] : 0.0);
        OGR_F_SetGeometry(of, geom);
        if (cls >= 1 && cls < GD_MAX_CLASSES)
            polygons[cls]++;
        OGRErr oe = OGR_L_CreateFeature(ol, of);
        OGR_F_Destroy(of);
        OGR_F_Destroy(feat);
        if (oe != OGRERR_NONE) {
            st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write a feature to %s", path);
            goto done;
        }
        if (k % 256 == 0 && nfeat > 0 && gd_job_progress(job, (double)k / (double)nfeat) != GD_OK) {
            st = gd_job_error(job, GD_ECANCEL, "cancelled");
            goto done;
        }
    }
    CPLErrorReset();
    GDALClose(out);
    out = NULL;
    if (CPLGetLastErrorType() >= CE_Failure) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot finish writing %s", path);
        goto done;
    }
    /* the GeoJSON writer does not report a short write (disk full): read the file back
     * before it gets its final name */
    if ((st = check_written(job, tmp, path, k)) != GD_OK)
        goto done;
    st = gd_commit_file(job, tmp, path);
    for (int c = 0; c < GD_MAX_CLASSES; c++)
        totals[c].polygons = polygons[c];
    gd_job_info(job, "%lld polygons written to %s", (long long)nfeat, path);
done:
    label_sums_free(&ls);
    if (out) {
        GDALClose(out);
        VSIUnlink(tmp);
    } else if (st != GD_OK) {
        VSIUnlink(tmp);
    }
    if (mem)
        GDALClose(mem);
    if (cds)
        GDALClose(cds);
    if (mds)
        GDALClose(mds);
    if (pds)
        GDALClose(pds);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (srs)
        OSRDestroySpatialReference(srs);
    if (wgs)
        OSRDestroySpatialReference(wgs);
    CSLDestroy(lopts);
    free(mask);
    free(pid);
    free(sum);
    free(cnt);
    free(psum);
    return st;
}
