/* fuzz_zones.c: fuzz target for the zones reader: the bytes become /vsimem/zones.geojson
 * (any vector OGR can identify from them), rasterized per zone onto a 64 x 64 UTM grid
 * (EPSG:32633, 10 m) with a class raster of every class value (0, 1, 2, nodata 255),
 * then alert levels are applied and zones.csv / zones.geojson written to a private
 * folder. Oracles: gd_zones_compute answers GD_OK or GD_EINPUT (with a message); on
 * GD_OK every zone has valid <= pixels <= grid size, per-class pixels summing to valid,
 * areas that are finite and non-negative, and the outputs are written. */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <proj.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/stages.h"
#include "geodelta/summary.h"

#define N 64

static void proj_quiet(void *data, int level, const char *msg)
{
    (void)data;
    (void)level;
    (void)msg;
}

static char dir[256];
static gd_grid *grid;
static uint8_t classes[N * N];
static gd_alerts *alerts;

static void cleanup(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/zones.csv", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/zones.geojson", dir);
    unlink(path);
    rmdir(dir);
    gd_alerts_destroy(alerts);
    gd_grid_destroy(grid);
}

static void setup(void)
{
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);
    proj_log_func(PJ_DEFAULT_CTX, NULL, proj_quiet);
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
    snprintf(dir, sizeof dir, "%s/gd_fuzz_zones.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        abort();
    /* the grid as the chain makes it: from a georeferenced image */
    const char *img = "/vsimem/fuzz_zones_grid.tif";
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), img, N, N, 1, GDT_Byte, NULL);
    if (!ds)
        abort();
    double gt[6] = {400000, 10, 0, 5796000, 0, -10};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 32633);
    char *wkt = NULL;
    OSRExportToWkt(srs, &wkt);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
    GDALClose(ds);
    gd_job *job = NULL;
    gd_source *src = NULL;
    if (gd_job_create(&job) != GD_OK || gd_source_open(job, img, "before", &src) != GD_OK ||
        gd_grid_from_source(job, src, &grid) != GD_OK ||
        gd_alerts_parse(job, "{\"amber\": {\"changed_ha\": 0.5}, \"red\": {\"changed_pct\": 20}}",
                        &alerts) != GD_OK)
        abort();
    gd_source_destroy(src);
    gd_job_destroy(job);
    VSIUnlink(img);
    for (int i = 0; i < N * N; i++)
        classes[i] = (uint8_t)(i % 7 == 0 ? 255 : i % 5 == 0 ? 1 : i % 11 == 0 ? 2 : 0);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    const char *path = "/vsimem/zones.geojson";
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data, (vsi_l_offset)size, FALSE);
    if (!f)
        return 0;
    VSIFCloseL(f);
    gd_job *job = NULL;
    gd_zones *zs = NULL;
    if (gd_job_create(&job) != GD_OK)
        abort();
    gd_job_set_quiet(job, 1);
    const gd_method *m = gd_method_find("ndvi");
    for (int all = 0; all < 2; all++) {
        gd_zone_opts o = {path, all ? "name" : NULL, all, NULL};
        int st = gd_zones_compute(job, grid, classes, &o, &zs);
        if (st != GD_OK) {
            const char *msg = gd_job_message(job);
            if (st != GD_EINPUT || !msg || !*msg)
                abort();
            gd_zones_destroy(zs);
            zs = NULL;
            continue;
        }
        for (size_t i = 0; i < zs->n; i++) {
            const gd_zone *z = &zs->z[i];
            uint64_t sum = 0;
            for (int c = 0; c < GD_ZONE_NCLASS; c++)
                sum += z->class_px[c];
            if (z->valid > z->pixels || z->pixels > (uint64_t)N * N || sum != z->valid ||
                !(z->area_ha >= 0) || !isfinite(z->area_ha) || !z->name)
                abort();
        }
        int top = gd_zones_apply_alerts(zs, alerts, m);
        if (top < GD_ALERT_GREEN || top >= GD_ALERT_NLEVELS || (top > GD_ALERT_GREEN && zs->n == 0))
            abort();
        char out[512];
        snprintf(out, sizeof out, "%s/zones.csv", dir);
        if (gd_zones_write_csv(job, zs, m, out) != GD_OK)
            abort();
        snprintf(out, sizeof out, "%s/zones.geojson", dir);
        if (gd_zones_write_geojson(job, zs, m, out) != GD_OK)
            abort();
        gd_zones_destroy(zs);
        zs = NULL;
    }
    gd_job_destroy(job);
    VSIUnlink(path);
    return 0;
}
