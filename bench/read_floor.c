/* read_floor.c: the I/O floor: GDAL reads every band of both dates in strips of 256 rows
 * with N threads (one handle per thread), native type, nothing computed.
 * usage: gd_bench_read THREADS BEFORE AFTER */
#include <cpl_conv.h>
#include <gdal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char *paths[2];
static int next_strip, nstrips, width, height, nbands;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int failed;

static void *work(void *arg)
{
    (void)arg;
    GDALDatasetH ds[2];
    for (int d = 0; d < 2; d++)
        ds[d] = GDALOpen(paths[d], GA_ReadOnly);
    size_t bytes = (size_t)width * 256 * (size_t)nbands * 2;
    void *buf = malloc(bytes);
    for (;;) {
        pthread_mutex_lock(&mu);
        int k = next_strip < nstrips ? next_strip++ : -1;
        pthread_mutex_unlock(&mu);
        if (k < 0)
            break;
        int y0 = k * 256, rows = height - y0 < 256 ? height - y0 : 256;
        for (int d = 0; d < 2; d++)
            if (!ds[d] || GDALDatasetRasterIO(ds[d], GF_Read, 0, y0, width, rows, buf, width, rows,
                                              GDT_UInt16, nbands, NULL, 0, 0, 0) != CE_None)
                failed = 1;
    }
    free(buf);
    for (int d = 0; d < 2; d++)
        if (ds[d])
            GDALClose(ds[d]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: gd_bench_read THREADS BEFORE AFTER\n");
        return 1;
    }
    int threads = atoi(argv[1]);
    paths[0] = argv[2];
    paths[1] = argv[3];
    GDALAllRegister();
    /* the same GDAL settings geodelta uses by default with --mem 1024 */
    GDALSetCacheMax64((GIntBig)128 << 20);
    CPLSetConfigOption("GDAL_NUM_THREADS", "1");
    GDALDatasetH ds = GDALOpen(paths[0], GA_ReadOnly);
    if (!ds)
        return 1;
    width = GDALGetRasterXSize(ds);
    height = GDALGetRasterYSize(ds);
    nbands = GDALGetRasterCount(ds);
    GDALClose(ds);
    nstrips = (height + 255) / 256;
    pthread_t th[64];
    if (threads < 1 || threads > 64)
        threads = 1;
    for (int t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, work, NULL);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    return failed;
}
