/* urban.h: the urban method (detect/urban.c): built-up change in optical multispectral
 * pairs (Sentinel-2, Landsat) by a normalised change vector on the fine bands. */
#ifndef GEODELTA_URBAN_H
#define GEODELTA_URBAN_H

#include "geodelta/stages.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gd_input_opts;

/* Default mean window over the score (--smooth): 3 x 3. It removes the thin lines of
 * change left along edges by a residual sub-pixel misregistration; without the object
 * decision no mean scored better on OSCD with Kittler-Illingworth (0.300 vs 0.272), with
 * it the 3 x 3 mean is better (docs/methods/urban.md, "Variants"). */
#define GD_URBAN_SMOOTH 3

/* Bands: blue, green, red, nir (all four needed on both dates), then swir1 and swir2
 * where both dates have them; *nb = 4..6, roles in this order (names[k], static
 * strings). A missing role is GD_EINPUT naming it. */
int gd_urban_bands(gd_job *job, const struct gd_input_opts *in, const gd_source *bs,
                   const gd_source *as, int bidx[6], int aidx[6], const char *names[6],
                   size_t *nb);

/* Streams on the engine (strips of the nb band pairs, never whole images): the after bands are
 * normalised to the before bands (reduced-major-axis fit per band, refitted twice on
 * the pixels whose change is below the median), then score = the change-vector
 * magnitude with each band divided by its before spread, averaged over smooth x smooth
 * (<= 1: none). names[k] names band pair k in messages and the manifest. Gains, offsets, weights and invariant pixel counts go into
 * auto.urban of the manifest. */
int gd_detect_urban(gd_job *job, const gd_grid *grid, const gd_band *before,
                    const gd_band *after, const char *const *names, size_t nb, int smooth,
                    gd_score *out);

/* Object-level decision (docs/methods/urban.md, "Variants"): a region of change (8-connected
 * pixels of class 1) is kept only when its strongest pixel scores at least
 * GD_URBAN_SEED_FACTOR x the threshold t and it has at least GD_URBAN_OBJECT_PX pixels;
 * other regions become class 0. OSCD's labels are buildings and building sites: a region
 * that only grazes the threshold is mostly a seasonal or illumination change. */
#define GD_URBAN_SEED_FACTOR 2.5
/* Pixels of at least this area (m2; Landsat's 30 m) take the pixel decision without a mean
 * by default: the defaults above were chosen on 10 m pixels (methods/urban.c) */
#define GD_URBAN_COARSE_M2 400.0
#define GD_URBAN_OBJECT_PX 20
/* Applies it to classes (w x h; 0, 1, 255 nodata) with the score (in memory or in its
 * temporary file), walking the score's rows twice (gd_k_objects_scan/label): two rows of
 * labels and 17 bytes per provisional region label. The regions kept and dropped go into
 * auto.urban.objects. */
int gd_urban_objects(gd_job *job, const gd_score *s, double t, double seed_factor,
                     long min_px, uint8_t *classes);

#ifdef __cplusplus
}
#endif
#endif
