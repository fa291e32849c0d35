/* ndmi.c: NDMI difference (normalised difference moisture index, Gao 1996: NIR and SWIR1),
 * after - before: vegetation water stress, as drought early warning watches it. */
#include "colours.h"
#include "common.h"

const gd_method gd_method_ndmi = {
    .name = "ndmi",
    .summary = "NDMI difference (after - before, Gao 1996): vegetation moisture loss / gain "
               "(drought stress); needs nir, swir1",
    .bands = "nir, swir1",
    .roles = {"nir", "swir1"}, .sign = 1.0f, .two_sided = 1,
    .class_names = {NULL, "moisture loss", "moisture gain"},
    .class_rgb = {NOCOLOUR, VERMILLION, BLUE},
    .ops = &gd_index_ops,
};
