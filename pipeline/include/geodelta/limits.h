/* limits.h: size guards that reject absurd or unaffordable rasters before allocating. */
#ifndef GEODELTA_LIMITS_H
#define GEODELTA_LIMITS_H

#include <stdint.h>

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hard cap on width x height of one input: 2^34 px (e.g. 131072 x 131072), beyond
 * any single scene; a header that claims more is taken as corrupt. */
#define GD_MAX_PIXELS ((uint64_t)1 << 34)

/* GD_EINPUT when a raster header's dimensions are beyond GD_MAX_PIXELS. */
int gd_limits_check_dims(gd_job *job, const char *label, const char *path, int width,
                         int height, int nbands);

/* Bytes this process may still allocate: the smallest of physical memory and the
 * room left under RLIMIT_AS / RLIMIT_DATA (UINT64_MAX when none is known). */
uint64_t gd_limits_memory_available(void);

/* GD_EPROC when need_bytes (what the chain will allocate for `what`) exceeds
 * gd_limits_memory_available(); checked before the allocation is attempted. */
int gd_limits_check_memory(gd_job *job, const char *what, uint64_t need_bytes);

#ifdef __cplusplus
}
#endif
#endif
