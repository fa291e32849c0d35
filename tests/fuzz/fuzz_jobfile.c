/* fuzz_jobfile.c: fuzz target for batch files: the bytes become JOBS.json in a private
 * folder next to two small readable images (before.tif, after.tif), then gd_batch_load
 * validates the whole file (JSON, fields, paths, methods, alert levels, ids) and the
 * shard resolution runs on the result. Nothing is run. Oracles: the status is GD_OK or
 * GD_EINPUT; GD_EINPUT comes with at least one validation message (each a non-empty
 * string) and GD_OK with none; the batch object always exists; shard in [0, N). */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/batch.h"

static char dir[256];

static void make_image(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    GDALDatasetH ds = drv ? GDALCreate(drv, path, 8, 8, 4, GDT_UInt16, NULL) : NULL;
    if (!ds)
        abort();
    double gt[6] = {400000, 10, 0, 5800000, 0, -10};
    GDALSetGeoTransform(ds, gt);
    static const char *names[4] = {"B02", "B03", "B04", "B08"};
    for (int b = 1; b <= 4; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        GDALSetDescription(band, names[b - 1]);
        GDALFillRaster(band, 1000.0 * b, 0.0);
    }
    GDALClose(ds);
}

static void cleanup(void)
{
    static const char *files[] = {"before.tif", "after.tif", "JOBS.json"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        GDALAllRegister();
        CPLSetErrorHandler(CPLQuietErrorHandler);
        CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
        snprintf(dir, sizeof dir, "%s/gd_fuzz_jobfile.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir))
            abort();
        make_image("before.tif");
        make_image("after.tif");
        atexit(cleanup);
        ready = 1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/JOBS.json", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    gd_job *job = NULL;
    gd_batch *b = NULL;
    if (gd_job_create(&job) != GD_OK)
        abort();
    gd_job_set_quiet(job, 1);
    int st = gd_batch_load(job, path, &b);
    if (st != GD_OK && st != GD_EINPUT)
        abort();
    if (!b) {
        /* only an unreadable file may leave no batch, and it must say why */
        const char *m = gd_job_message(job);
        if (st == GD_OK || !m || !*m)
            abort();
    } else {
        const json_t *errs = gd_batch_errors(b);
        size_t ne = errs ? json_array_size(errs) : 0;
        if ((st == GD_OK) != (ne == 0))
            abort();
        for (size_t i = 0; i < ne; i++) {
            const char *s = json_string_value(json_array_get(errs, i));
            if (!s || !*s)
                abort();
        }
        if (st == GD_OK) {
            int shard = -1, n = 0;
            const char *src = NULL;
            if (gd_batch_shard(job, b, NULL, &shard, &n, &src) == GD_OK &&
                (n < 1 || shard < 0 || shard >= n))
                abort();
            if (gd_batch_shard(job, b, "1/3", &shard, &n, &src) != GD_OK || shard != 1 || n != 3)
                abort();
        }
    }
    gd_batch_destroy(b);
    gd_job_destroy(job);
    return 0;
}
