/* bench_render.c: the map of a full Sentinel-2 tile (10980^2, 3 bands): render time with
 * the file's overviews against without them, in the same run. On demand, not in ctest:
 *   build/release/tests/bench/bench_render [SIZE] [DIR]  */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/stages.h"
#include "geodelta/util.h"

static int make_scene(const char *path, int n)
{
    char **opts = NULL;
    opts = CSLSetNameValue(opts, "TILED", "YES");
    opts = CSLSetNameValue(opts, "COMPRESS", "ZSTD");
    opts = CSLSetNameValue(opts, "ZSTD_LEVEL", "1");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, n, n, 3, GDT_UInt16, opts);
    CSLDestroy(opts);
    if (!ds)
        return -1;
    double gt[6] = {600000, 10, 0, 5900040, 0, -10};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    char *wkt = NULL;
    OSRImportFromEPSG(s, 32633);
    OSRExportToWkt(s, &wkt);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(s);
    static const char *names[3] = {"B02", "B03", "B04"};
    uint16_t *row = malloc(sizeof(uint16_t) * (size_t)n * 256);
    for (int b = 0; b < 3; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        GDALSetDescription(band, names[b]);
        for (int y0 = 0; y0 < n; y0 += 256) {
            int h = y0 + 256 <= n ? 256 : n - y0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < n; x++)
                    row[(size_t)y * (size_t)n + (size_t)x] =
                        (uint16_t)(1000 + 300 * b + 500 * sin(x / 300.0) * cos((y0 + y) / 410.0) +
                                   ((x * 7 + (y0 + y) * 13) % 97));
            if (GDALRasterIO(band, GF_Write, 0, y0, n, h, row, n, h, GDT_UInt16, 0, 0) != CE_None)
                return -1;
        }
    }
    free(row);
    GDALClose(ds);
    return 0;
}

static double render_once(const char *scene, const char *out, const uint8_t *classes,
                          const char *log)
{
    gd_job *job = NULL;
    gd_source *src = NULL;
    gd_grid *grid = NULL;
    gd_map_image im;
    gd_map_spec spec;
    gd_class_total totals[GD_MAX_CLASSES] = {{0, 0, 0, 0, 0.0}};
    double t = -1;
    gd_job_create(&job);
    gd_job_set_quiet(job, 1);
    gd_job_open_log(job, log);
    if (gd_source_open(job, scene, "before", &src) != GD_OK ||
        gd_grid_from_source(job, src, &grid) != GD_OK ||
        gd_map_pick_bands(job, src, "before", NULL, GD_MAP_TRUE_COLOUR, 0, 1, &im) != GD_OK)
        goto done;
    gd_map_spec_init(&spec);
    spec.title = "bench";
    double t0 = gd_now();
    /* the same file for both dates: what matters is the read of each */
    if (gd_render_map(job, grid, &im, &im, classes, gd_method_find("ndvi"), totals, &spec, out) ==
        GD_OK)
        t = gd_now() - t0;
done:
    if (t < 0)
        fprintf(stderr, "bench_render: %s\n", gd_job_message(job));
    gd_grid_destroy(grid);
    gd_source_destroy(src);
    gd_job_close_log(job);
    gd_job_destroy(job);
    return t;
}

/* The render's own breakdown (read, draw, encode) from the last line of the log. */
static void print_last(const char *log, const char *what)
{
    char line[1024], last[1024] = "";
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "map "))
            snprintf(last, sizeof last, "%s", line);
    fclose(f);
    printf("  %s: %s", what, last);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10980;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    char scene[400], ovr[512], moved[512], out[512], log[512];
    snprintf(scene, sizeof scene, "%s/bench_render_%d.tif", dir, n);
    snprintf(ovr, sizeof ovr, "%s.ovr", scene);
    snprintf(moved, sizeof moved, "%s.ovr.off", scene);
    snprintf(out, sizeof out, "%s/bench_render_map.png", dir);
    snprintf(log, sizeof log, "%s/bench_render.log", dir);
    GDALAllRegister();
    if (n < 256)
        return 1;
    uint8_t *classes = calloc((size_t)n * (size_t)n, 1);
    if (!classes)
        return 1;
    for (size_t i = 0; i < (size_t)n * (size_t)n; i += 9973)
        classes[i] = 1;
    printf("writing a %dx%d 3-band scene to %s ...\n", n, n, scene);
    double t0 = gd_now();
    if (make_scene(scene, n) != 0)
        return 1;
    printf("  %.1f s; external overviews 2..32 (average) ...\n", gd_now() - t0);
    t0 = gd_now();
    GDALDatasetH ds = GDALOpen(scene, GA_ReadOnly);
    int levels[5] = {2, 4, 8, 16, 32};
    if (!ds || GDALBuildOverviews(ds, "AVERAGE", 5, levels, 0, NULL, NULL, NULL) != CE_None)
        return 1;
    GDALClose(ds);
    printf("  %.1f s\n", gd_now() - t0);
    double with[3], without[3];
    for (int r = 0; r < 3; r++)
        with[r] = render_once(scene, out, classes, log);
    print_last(log, "with overviews");
    rename(ovr, moved);
    for (int r = 0; r < 3; r++)
        without[r] = render_once(scene, out, classes, log);
    print_last(log, "without overviews");
    rename(moved, ovr);
    double bw = fmin(with[0], fmin(with[1], with[2]));
    double bo = fmin(without[0], fmin(without[1], without[2]));
    printf("render (triptych, default A4 300 dpi, best of 3): with overviews %.2f s, "
           "without %.2f s, ratio %.1fx\n", bw, bo, bo / bw);
    free(classes);
    unlink(scene);
    unlink(ovr);
    unlink(out);
    unlink(log);
    return bw > 0 && bo > 0 ? 0 : 1;
}
