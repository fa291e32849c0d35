/* urban.h: the urban method (detect/urban.c): built-up change in optical multispectral
 * pairs (Sentinel-2, Landsat) by a normalised change vector on the fine bands. */
#ifndef GEODELTA_URBAN_H
#define GEODELTA_URBAN_H

#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gd_input_opts;

/* Default mean window over the score (--smooth): none. A 3x3 mean (which removes the
 * thin lines of change left along edges by a residual sub-pixel misregistration) scored
 * better on OSCD with Otsu, but worse than no mean with the default Kittler-Illingworth
 * threshold (README Accuracy). */
#define GD_URBAN_SMOOTH 0

/* Bands: blue, green, red, nir (all four needed on both dates), then swir1 and swir2
 * where both dates have them; *nb = 4..6, roles in this order (names[k], static
 * strings). A missing role is GD_EINPUT naming it. */
int gd_urban_bands(gd_job *job, const struct gd_input_opts *in, const gd_source *bs,
                   const gd_source *as, int bidx[6], int aidx[6], const char *names[6],
                   size_t *nb);

/* Holds the nb band pairs in memory (8 bytes per pixel and band): the after bands are
 * normalised to the before bands (reduced-major-axis fit per band, refitted twice on
 * the pixels whose change is below the median), then score = the change-vector
 * magnitude with each band divided by its before spread, averaged over smooth x smooth
 * (<= 1: none). names[k] names band pair k in messages and the manifest. Gains, offsets, weights and invariant pixel counts go into
 * auto.urban of the manifest. */
int gd_detect_urban(gd_job *job, const gd_grid *grid, const gd_band *before,
                    const gd_band *after, const char *const *names, size_t nb, int smooth,
                    gd_score *out);

#ifdef __cplusplus
}
#endif
#endif
