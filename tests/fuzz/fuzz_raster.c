/* fuzz_raster.c: fuzz target for the raster input path: the bytes become a GeoTIFF in
 * /vsimem/, then gd_source_open, the band-role lookup, gd_band_from, a small read as
 * the detect stage does it, and the grid (pixel areas) for small images. Only GDAL's
 * GTiff driver is registered: the target exercises geodelta's handling of whatever a
 * TIFF header claims (GDAL's own drivers have their own fuzzers in OSS-Fuzz). */
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <gdal_frmts.h>
#include <proj.h>
#include <stdint.h>
#include <stdlib.h>

#include "geodelta/stages.h"

static void proj_quiet(void *data, int level, const char *msg)
{
    (void)data;
    (void)level;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        GDALRegister_GTiff();
        CPLSetErrorHandler(CPLQuietErrorHandler);
        proj_log_func(PJ_DEFAULT_CTX, NULL, proj_quiet);
        CPLSetConfigOption("GDAL_CACHEMAX", "8");
        CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
        ready = 1;
    }
    const char *path = "/vsimem/fuzz.tif";
    VSILFILE *f = VSIFileFromMemBuffer(path, (GByte *)data, (vsi_l_offset)size, FALSE);
    if (!f)
        return 0;
    VSIFCloseL(f);
    gd_job *job = NULL;
    gd_source *src = NULL;
    gd_grid *grid = NULL;
    if (gd_job_create(&job) != GD_OK)
        abort();
    gd_job_set_quiet(job, 1);
    if (gd_source_open(job, path, "before", &src) == GD_OK) {
        if (src->width <= 0 || src->height <= 0 || src->nbands <= 0)
            abort();
        static const char *roles[] = {"red", "green", "blue", "nir", "swir2", "sar"};
        for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
            int band = 0;
            if (gd_source_find_role(job, src, "before", NULL, roles[i], &band) != GD_OK ||
                band < 0 || band > src->nbands)
                abort();
        }
        float buf[16 * 16];
        int w = src->width < 16 ? src->width : 16, h = src->height < 16 ? src->height : 16;
        for (int b = 1; b <= src->nbands && b <= 4; b++) {
            gd_band band;
            if (gd_band_from(job, src->ds, b, &band) != GD_OK)
                abort();
            /* a read error is an answer too; what matters is that it does not crash */
            if (GDALRasterIO(band.band, GF_Read, 0, 0, w, h, buf, w, h, GDT_Float32, 0, 0) != CE_None)
                break;
        }
        /* one geodesic area per row: only for small images, to keep each run short */
        if (src->height <= 4096 && gd_grid_from_source(job, src, &grid) == GD_OK && grid->wkt) {
            double a = gd_grid_pixel_area(grid, grid->height / 2);
            (void)a;
        }
    }
    gd_grid_destroy(grid);
    gd_source_destroy(src);
    gd_job_destroy(job);
    VSIUnlink(path);
    return 0;
}
