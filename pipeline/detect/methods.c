/* methods.c: the change-detection methods: which bands each needs and how it classifies. */
#include "geodelta/stages.h"

#include <string.h>

/* Okabe-Ito colours: distinguishable with the common colour-vision deficiencies */
#define VERMILLION {213, 94, 0}
#define BLUE {0, 114, 178}
#define GREEN {0, 158, 115}
#define SKY {86, 180, 233}

static const gd_method methods[] = {
    {"ndvi", "NDVI difference (after - before): vegetation loss / gain; needs red, nir",
     GD_KIND_NDIFF, {"nir", "red"}, 1.0f, 1,
     {NULL, "vegetation loss", "vegetation gain"}, {{0, 0, 0}, VERMILLION, GREEN}},
    {"nbr", "dNBR (before - after): burned / regrowth; needs nir, swir2",
     GD_KIND_NDIFF, {"nir", "swir2"}, -1.0f, 1,
     {NULL, "regrowth", "burned"}, {{0, 0, 0}, GREEN, VERMILLION}},
    {"ndwi", "NDWI difference (after - before, McFeeters): water loss / new water; needs green, nir",
     GD_KIND_NDIFF, {"green", "nir"}, 1.0f, 1,
     {NULL, "water loss", "new water"}, {{0, 0, 0}, VERMILLION, BLUE}},
    {"logratio", "SAR log-ratio ln(after/before): backscatter decrease / increase; one band (sar, else band 1)",
     GD_KIND_LOGRATIO, {"sar", NULL}, 1.0f, 1,
     {NULL, "backscatter decrease", "backscatter increase"}, {{0, 0, 0}, SKY, VERMILLION}},
    {"pcakmeans", "PCA-kmeans (Celik 2009) on the SAR log-ratio of one band (sar, else band 1): change",
     GD_KIND_PCAKMEANS, {"sar", NULL}, 1.0f, 0,
     {NULL, "change", NULL}, {{0, 0, 0}, VERMILLION, {0, 0, 0}}},
    {"irmad", "IR-MAD (Nielsen 2007) chi-square over all common bands: change where the no-change p-value < 0.01",
     GD_KIND_IRMAD, {NULL, NULL}, 1.0f, 0,
     {NULL, "change", NULL}, {{0, 0, 0}, VERMILLION, {0, 0, 0}}},
    {"cva", "change-vector magnitude over all common bands, each scaled by its spread",
     GD_KIND_CVA, {NULL, NULL}, 1.0f, 0,
     {NULL, "change", NULL}, {{0, 0, 0}, VERMILLION, {0, 0, 0}}},
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
