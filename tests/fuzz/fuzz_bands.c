/* fuzz_bands.c: fuzz target for the --bands-before/--bands-after spec parser, through
 * gd_source_find_role on a 4-band in-memory image (B02 B03 B04 B08). Oracle: either
 * GD_OK with a band in [0, 4], or GD_EUSAGE with a message; nothing else. */
#include <gdal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/stages.h"

static GDALDatasetH image(void)
{
    /* made once: the target runs many thousand times in one process */
    static GDALDatasetH ds;
    if (!ds) {
        GDALAllRegister();
        ds = GDALCreate(GDALGetDriverByName("MEM"), "bands", 4, 4, 4, GDT_UInt16, NULL);
        const char *names[4] = {"B02", "B03", "B04", "B08"};
        for (int b = 0; b < 4; b++)
            GDALSetDescription(GDALGetRasterBand(ds, b + 1), names[b]);
    }
    return ds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char spec[1024];
    size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, n);
    spec[n] = '\0';
    gd_source src = {0};
    src.path = "fuzz-bands";
    src.ds = image();
    src.width = src.height = src.nbands = 4;
    static const char *roles[] = {"red", "green", "blue", "nir", "swir1", "swir2", "sar"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        gd_job *job = NULL;
        if (gd_job_create(&job) != GD_OK)
            abort();
        gd_job_set_quiet(job, 1);
        int band = -7;
        int st = gd_source_find_role(job, &src, "before", spec, roles[i], &band);
        if (st == GD_OK && (band < 0 || band > 4))
            abort();
        if (st != GD_OK && (st != GD_EUSAGE || !gd_job_message(job) || !*gd_job_message(job)))
            abort();
        gd_job_destroy(job);
    }
    return 0;
}
