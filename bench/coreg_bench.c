/* coreg_bench.c: times global and local co-registration on a 10980^2 synthetic pair
 * (a Sentinel-2 tile at 10 m). Run on demand (not in ctest):
 *   build/dev/bench/coreg_bench [DIR] [--size N]
 * writes DIR/ref.tif and DIR/tgt.tif (UInt16, tiled, uncompressed; removed at the end),
 * then prints the times, with a baseline measured in the same run: reading the whole
 * reference band once. */
#include <cpl_conv.h>
#include <fftw3.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "geodelta/coreg.h"

#define TEX 2048
#define TWO_PI 6.283185307179586

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* broadband periodic texture (1/f amplitude, random phase), scaled to 0..~4000 DN */
static float *texture(void)
{
    const int nc = TEX / 2 + 1;
    fftwf_complex *spec = fftwf_malloc(sizeof(fftwf_complex) * TEX * nc);
    float *img = fftwf_malloc(sizeof(float) * TEX * TEX);
    if (!spec || !img)
        return NULL;
    fftwf_plan plan = fftwf_plan_dft_c2r_2d(TEX, TEX, spec, img, FFTW_ESTIMATE);
    srand(12345);
    for (int k = 0; k < TEX; k++)
        for (int l = 0; l < nc; l++) {
            double fk = (k < TEX / 2 ? k : k - TEX) / (double)TEX, fl = l / (double)TEX;
            double f = hypot(fk, fl), a = (k || l) ? exp(-(f / 0.25) * (f / 0.25)) / (f + 0.002) : 0;
            double ph = TWO_PI * rand() / (double)RAND_MAX;
            spec[k * nc + l][0] = (float)(a * cos(ph));
            spec[k * nc + l][1] = (float)(a * sin(ph));
        }
    fftwf_execute(plan);
    double s2 = 0;
    for (size_t i = 0; i < (size_t)TEX * TEX; i++)
        s2 += (double)img[i] * img[i];
    float sd = (float)sqrt(s2 / ((double)TEX * TEX));
    for (size_t i = 0; i < (size_t)TEX * TEX; i++)
        img[i] = 2000.0f + 500.0f * img[i] / sd;
    fftwf_destroy_plan(plan);
    fftwf_free(spec);
    return img;
}

static double tex_at(const float *t, double x, double y)
{
    /* bilinear on the periodic texture: enough for a benchmark scene */
    double fx = floor(x), fy = floor(y), ax = x - fx, ay = y - fy;
    long ix = ((long)fx % TEX + TEX) % TEX, iy = ((long)fy % TEX + TEX) % TEX;
    long jx = (ix + 1) % TEX, jy = (iy + 1) % TEX;
    return (1 - ay) * ((1 - ax) * t[iy * TEX + ix] + ax * t[iy * TEX + jx]) +
           ay * ((1 - ax) * t[jy * TEX + ix] + ax * t[jy * TEX + jx]);
}

static int write_image(const char *path, int n, const float *t, int shifted)
{
    const char *opts[] = {"TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", NULL};
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, n, n, 1, GDT_UInt16,
                                 (char **)opts);
    if (!ds)
        return -1;
    double gt[6] = {300000, 10, 0, 5900040, 0, -10};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(s, 32633);
    GDALSetSpatialRef(ds, s);
    OSRDestroySpatialReference(s);
    uint16_t *row = malloc(sizeof(uint16_t) * (size_t)n);
    int rc = 0;
    for (int y = 0; y < n && !rc; y++) {
        for (int x = 0; x < n; x++) {
            /* target: a 2.3, -1.6 px shift plus a slight affine drift (0.8 px over the tile) */
            double dx = 0, dy = 0;
            if (shifted) {
                dx = 2.3 + 0.8 * x / n;
                dy = -1.6 + 0.5 * y / n;
            }
            double v = tex_at(t, x - dx, y - dy) + (double)(rand() % 21 - 10);
            row[x] = (uint16_t)(v < 1 ? 1 : v > 65535 ? 65535 : v);
        }
        rc = GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, y, n, 1, row, n, 1,
                          GDT_UInt16, 0, 0) != CE_None;
    }
    free(row);
    GDALClose(ds);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp/gd_bench_coreg";
    int n = 10980;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc)
            n = atoi(argv[++i]);
        else
            dir = argv[i];
    }
    GDALAllRegister();
    char ref[1024], tgt[1024];
    snprintf(ref, sizeof ref, "%s/ref.tif", dir);
    snprintf(tgt, sizeof tgt, "%s/tgt.tif", dir);
    VSIMkdir(dir, 0755);
    printf("coreg benchmark, %dx%d UInt16 pair in %s, %ld cores\n", n, n, dir,
           sysconf(_SC_NPROCESSORS_ONLN));
    float *t = texture();
    double t0 = now();
    if (!t || write_image(ref, n, t, 0) || write_image(tgt, n, t, 1)) {
        fprintf(stderr, "coreg_bench: cannot write the pair in %s\n", dir);
        return 1;
    }
    fftwf_free(t);
    printf("  pair written in %.1f s\n", now() - t0);

    GDALDatasetH r = GDALOpen(ref, GA_ReadOnly), g = GDALOpen(tgt, GA_ReadOnly);
    gd_job *job = NULL;
    gd_job_create(&job);
    gd_job_set_quiet(job, 1);

    /* baseline: one full read of the reference band (the page cache is warm after
     * writing, as it is for the second date in a real run) */
    uint16_t *buf = malloc(sizeof(uint16_t) * (size_t)n * 512);
    t0 = now();
    for (int y = 0; y < n; y += 512) {
        int h = n - y < 512 ? n - y : 512;
        if (GDALRasterIO(GDALGetRasterBand(r, 1), GF_Read, 0, y, n, h, buf, n, h, GDT_UInt16,
                         0, 0) != CE_None) {
            fprintf(stderr, "coreg_bench: cannot read %s\n", ref);
            return 1;
        }
    }
    double t_read = now() - t0;
    free(buf);
    printf("  baseline: read the whole reference band once   %7.3f s\n", t_read);

    gd_coreg_params p;
    gd_coreg_result res;
    gd_coreg_params_init(&p);
    t0 = now();
    int st = gd_coreg_estimate(job, r, g, &p, &res);
    double t_glob = now() - t0;
    if (st != GD_OK) {
        fprintf(stderr, "coreg_bench: global: %s\n", gd_job_message(job));
        return 1;
    }
    double ex = 2.3 + 0.8 * res.cx / n, ey = -1.6 + 0.5 * res.cy / n;
    printf("  global, window %d: %7.3f s  (%.2fx the baseline; target < 2 s)  shift %.3f, %.3f px "
           "(expected %.3f, %.3f), reliability %.1f %%\n",
           res.window, t_glob, t_glob / t_read, res.dx, res.dy, ex, ey, res.reliability);
    gd_coreg_result_free(&res);

    gd_coreg_params_init(&p);
    p.mode = GD_COREG_LOCAL;
    p.grid = (n - p.local_window) / 31; /* 32 x 32 = 1024 tie points */
    int threads[2] = {1, (int)sysconf(_SC_NPROCESSORS_ONLN)};
    for (int k = 0; k < 2; k++) {
        if (k == 1 && threads[1] == 1)
            break;
        gd_job_set_threads(job, threads[k]);
        t0 = now();
        st = gd_coreg_estimate(job, r, g, &p, &res);
        double t_loc = now() - t0;
        if (st != GD_OK) {
            fprintf(stderr, "coreg_bench: local: %s\n", gd_job_message(job));
            return 1;
        }
        printf("  local, %zu tie points (window %d, grid %d), %d thread(s): %7.3f s  (%.2fx the "
               "baseline, %.2f ms/point)  used %zu, fit residual %.3f px, field at centre %.3f, "
               "%.3f px\n",
               res.npoints, res.window, p.grid, threads[k], t_loc, t_loc / t_read,
               1e3 * t_loc / (double)res.npoints, res.nused, res.rmse_px, res.dx, res.dy);
        gd_coreg_result_free(&res);
    }
    gd_job_destroy(job);
    GDALClose(r);
    GDALClose(g);
    VSIUnlink(ref);
    VSIUnlink(tgt);
    VSIRmdir(dir);
    GDALDestroyDriverManager();
    return 0;
}
