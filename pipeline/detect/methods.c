/* methods.c: the change-detection methods: which bands each needs and how it classifies. */
#include "geodelta/stages.h"

#include <math.h>
#include <string.h>

/* Okabe-Ito colours: distinguishable with the common colour-vision deficiencies */
#define VERMILLION {213, 94, 0}
#define BLUE {0, 114, 178}
#define GREEN {0, 158, 115}
#define SKY {86, 180, 233}

/* USGS dNBR burn-severity classes (Key & Benson 2006, FIREMON; the UN-SPIDER recommended
 * practice "burn severity mapping" uses the same breaks and colours). Class 0 stays
 * unburned so that "0 = no change" holds for every method; the burned classes come
 * first (1..4 by severity), enhanced regrowth last (5 low, 6 high). */
static const gd_class_table usgs_dnbr = {
    "usgs", 6,
    {-0.25f, -0.10f, 0.10f, 0.27f, 0.44f, 0.66f},
    {6, 5, 0, 1, 2, 3, 4},
    {"unburned", "low severity", "moderate-low severity", "moderate-high severity",
     "high severity", "enhanced regrowth, low", "enhanced regrowth, high", NULL},
    {{10, 224, 66}, {255, 247, 11}, {255, 175, 56}, {255, 100, 27}, {164, 31, 214},
     {172, 190, 77}, {122, 135, 55}, {0, 0, 0}},
};

static const gd_method methods[] = {
    {"ndvi", "NDVI difference (after - before): vegetation loss / gain; needs red, nir",
     GD_KIND_NDIFF, {"nir", "red"}, 1.0f, 1,
     {NULL, "vegetation loss", "vegetation gain"}, {{0, 0, 0}, VERMILLION, GREEN}, NULL},
    {"nbr", "dNBR (before - after): burned / regrowth; needs nir, swir2",
     GD_KIND_NDIFF, {"nir", "swir2"}, -1.0f, 1,
     {NULL, "regrowth", "burned"}, {{0, 0, 0}, GREEN, VERMILLION}, &usgs_dnbr},
    {"ndwi", "NDWI difference (after - before, McFeeters): water loss / new water; needs green, nir",
     GD_KIND_NDIFF, {"green", "nir"}, 1.0f, 1,
     {NULL, "water loss", "new water"}, {{0, 0, 0}, VERMILLION, BLUE}, NULL},
    {"flood", "new / permanent water: MNDWI (green, swir1; else NDWI green, nir) > 0 after and not before plus the index rise (Otsu); SAR (one band): after/before < 1/1.25 (UN-SPIDER)",
     GD_KIND_FLOOD, {"green", "swir1"}, 1.0f, 0,
     {NULL, "new water", "permanent water"}, {{0, 0, 0}, BLUE, SKY}, NULL},
    {"logratio", "SAR log-ratio ln(after/before): backscatter decrease / increase; one band (sar, else band 1)",
     GD_KIND_LOGRATIO, {"sar", NULL}, 1.0f, 1,
     {NULL, "backscatter decrease", "backscatter increase"}, {{0, 0, 0}, SKY, VERMILLION}, NULL},
    {"pcakmeans", "PCA-kmeans (Celik 2009) on the SAR log-ratio of one band (sar, else band 1): change",
     GD_KIND_PCAKMEANS, {"sar", NULL}, 1.0f, 0,
     {NULL, "change", NULL}, {{0, 0, 0}, VERMILLION, {0, 0, 0}}, NULL},
    {"irmad", "IR-MAD (Nielsen 2007) chi-square over all common bands: change where the no-change p-value < 0.01",
     GD_KIND_IRMAD, {NULL, NULL}, 1.0f, 0,
     {NULL, "change", NULL}, {{0, 0, 0}, VERMILLION, {0, 0, 0}}, NULL},
    {"urban", "built-up change (new construction / demolition): after normalised to before on invariant pixels, change vector of blue, green, red, nir (+ swir1, swir2), Kittler-Illingworth",
     GD_KIND_URBAN, {NULL, NULL}, 1.0f, 0,
     {NULL, "change", NULL}, {{0, 0, 0}, VERMILLION, {0, 0, 0}}, NULL},
    {"cva", "change-vector magnitude over all common bands, each scaled by its spread",
     GD_KIND_CVA, {NULL, NULL}, 1.0f, 0,
     {NULL, "change", NULL}, {{0, 0, 0}, VERMILLION, {0, 0, 0}}, NULL},
};

const gd_method *gd_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, name) == 0)
            return &methods[i];
    return NULL;
}

const gd_method *gd_method_at(size_t i)
{
    return i < sizeof methods / sizeof methods[0] ? &methods[i] : NULL;
}

void gd_method_with_table(const gd_method *m, const gd_class_table *t, gd_method *out)
{
    *out = *m;
    memcpy(out->class_names, t->class_names, sizeof out->class_names);
    memcpy(out->class_rgb, t->class_rgb, sizeof out->class_rgb);
}

int gd_class_table_range(const gd_class_table *t, int c, double *lo, double *hi)
{
    for (int k = 0; k <= t->nbreaks; k++)
        if (t->values[k] == c) {
            *lo = k > 0 ? (double)t->breaks[k - 1] : -INFINITY;
            *hi = k < t->nbreaks ? (double)t->breaks[k] : INFINITY;
            return 0;
        }
    return -1;
}
