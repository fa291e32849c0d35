/* limits.c: size guards: corrupt headers and rasters that cannot fit are refused early. */
#include "geodelta/limits.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

int gd_limits_check_dims(gd_job *job, const char *label, const char *path, int width,
                         int height, int nbands)
{
    uint64_t px = (uint64_t)(width > 0 ? width : 0) * (uint64_t)(height > 0 ? height : 0);
    if (px > GD_MAX_PIXELS)
        return gd_job_error(job, GD_EINPUT,
                            "%s image %s claims %dx%d pixels x %d bands (%.3g pixels), more "
                            "than geodelta accepts (%.3g): the header is probably corrupt "
                            "(hint: check it with gdalinfo; crop a real mosaic with "
                            "gdal_translate -srcwin or --aoi)",
                            label, path, width, height, nbands, (double)px,
                            (double)GD_MAX_PIXELS);
    return GD_OK;
}

/* current size of the address space, from /proc (0 when unknown) */
static uint64_t vm_size(void)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu", &pages) != 1)
        pages = 0;
    fclose(f);
    return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t gd_limits_memory_available(void)
{
    uint64_t avail = UINT64_MAX;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psize > 0)
        avail = (uint64_t)pages * (uint64_t)psize;
    const int res[2] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; i++) {
        struct rlimit rl;
        if (getrlimit(res[i], &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
            continue;
        uint64_t used = vm_size(), lim = (uint64_t)rl.rlim_cur;
        /* RLIMIT_DATA does not count the mapped libraries: vm_size over-counts, which
         * only makes the guard a little conservative */
        uint64_t left = lim > used ? lim - used : 0;
        if (left < avail)
            avail = left;
    }
    return avail;
}

int gd_limits_check_memory(gd_job *job, const char *what, uint64_t need_bytes)
{
    uint64_t avail = gd_limits_memory_available();
    if (need_bytes > avail)
        return gd_job_error(job, GD_EPROC,
                            "%s needs about %.0f MiB of memory but only %.0f MiB are available "
                            "(physical memory, ulimit -v / -d) (hint: crop with --aoi or "
                            "gdal_translate -srcwin, or raise the limit)",
                            what, (double)need_bytes / 1048576.0, (double)avail / 1048576.0);
    return GD_OK;
}
