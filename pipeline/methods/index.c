/* index.c: normalised-difference index methods (ndvi, nbr, ndwi; ndmi in its own file):
 * one table row each over the shared ops, score = sign * (index(after) - index(before)). */
#include "colours.h"
#include "common.h"

#include <gd_kernels.h>

static int index_inputs(gd_job *job, gd_method_run *run)
{
    int st;
    for (int r = 0; r < 2; r++)
        if ((st = gd_method_need_role(job, run, run->m->roles[r], &run->bidx[r],
                                      &run->aidx[r])) != GD_OK)
            return st;
    run->nb = 2;
    return GD_OK;
}

static uint64_t index_bytes(const gd_method_run *run)
{
    (void)run;
    return 10u; /* score f32, classes u8, polygonize mask u8 and ids i32 */
}

/* On the engine's worker threads; user is the run. */
static int index_strip(void *user, const gd_strip *s)
{
    const gd_method *m = ((const gd_method_run *)user)->m;
    size_t off = (size_t)(s->y0 - s->in_y0) * (size_t)s->width;
    size_t n = (size_t)s->width * (size_t)s->rows;
    gd_k_ndiff_delta(s->before[0] + off, s->before[1] + off, s->after[0] + off,
                     s->after[1] + off, m->sign, s->out, n);
    gd_method_inf_to_nan(s->out, n);
    return GD_OK;
}

const gd_method_ops gd_index_ops = {
    .inputs = index_inputs,
    .bytes_per_pixel = index_bytes,
    .score_strip = index_strip,
};

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

const gd_method gd_method_ndvi = {
    .name = "ndvi",
    .summary = "NDVI difference (after - before): vegetation loss / gain; needs red, nir",
    .bands = "nir, red",
    .roles = {"nir", "red"}, .sign = 1.0f, .two_sided = 1,
    .class_names = {NULL, "vegetation loss", "vegetation gain"},
    .class_rgb = {NOCOLOUR, VERMILLION, GREEN},
    .ops = &gd_index_ops,
};

const gd_method gd_method_nbr = {
    .name = "nbr",
    .summary = "dNBR (before - after): burned / regrowth; needs nir, swir2",
    .bands = "nir, swir2",
    .roles = {"nir", "swir2"}, .sign = -1.0f, .two_sided = 1,
    .class_names = {NULL, "regrowth", "burned"},
    .class_rgb = {NOCOLOUR, GREEN, VERMILLION},
    .table = &usgs_dnbr,
    .ops = &gd_index_ops,
};

const gd_method gd_method_ndwi = {
    .name = "ndwi",
    .summary = "NDWI difference (after - before, McFeeters): water loss / new water; needs "
               "green, nir",
    .bands = "green, nir",
    .roles = {"green", "nir"}, .sign = 1.0f, .two_sided = 1,
    .class_names = {NULL, "water loss", "new water"},
    .class_rgb = {NOCOLOUR, VERMILLION, BLUE},
    .ops = &gd_index_ops,
};
