/* mask.c: the cloud-mask rules (Sentinel-2 SCL, Landsat QA_PIXEL, any non-zero value)
 * that make pixels nodata where the rows are read (band.c); the masks are found and put
 * on the grid by pipeline/mask/. */
#include "geodelta/stages.h"

#include <math.h>
#include <stdint.h>
#include <strings.h>

void gd_mask_apply(int kind, const float *mask, float *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float m = mask[i];
        int out = 0;
        if (isnan(m))
            continue;
        switch (kind) {
        case GD_MASK_SCL:
            out = m == 3.0f || m == 8.0f || m == 9.0f || m == 10.0f;
            break;
        case GD_MASK_QA_PIXEL: {
            uint32_t q = m >= 0.0f && m < 4294967296.0f ? (uint32_t)m : 0u;
            out = (q & ((1u << 1) | (1u << 3) | (1u << 4))) != 0;
            break;
        }
        case GD_MASK_NONZERO:
            out = m != 0.0f;
            break;
        default:
            break;
        }
        if (out)
            buf[i] = NAN;
    }
}

int gd_mask_band_kind(GDALRasterBandH band)
{
    const char *d = GDALGetDescription(band);
    if (d && strcasecmp(d, "SCL") == 0)
        return GD_MASK_SCL;
    if (d && strcasecmp(d, "QA_PIXEL") == 0)
        return GD_MASK_QA_PIXEL;
    return GD_MASK_NONE;
}
