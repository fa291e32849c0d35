/* eval_change.c: scores a change raster against a reference: PCC, kappa, F1, and floors. */
#include <gdal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: eval_change CHANGE.tif GT [--name N] [--gt-change-min V] [--gt-change-max V]\n"
            "                   [--gt-ignore V] [--change-max C]\n"
            "                   [--min-pcc X] [--min-kappa X] [--min-f1 X]\n"
            "CHANGE: class raster (0 none, 1..254 change, 255 nodata); with --change-max only\n"
            "classes 1..C count as change (e.g. the burned classes of nbr's USGS table).\n"
            "GT band 1: change where gt-change-min (default 1) <= value <= gt-change-max\n"
            "(default 255), pixels equal to gt-ignore skipped.\n");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        usage();
        return 2;
    }
    const char *name = argv[1];
    double gt_min = 1, gt_max = 255, change_max = 254, min_pcc = 0, min_kappa = -1, min_f1 = 0;
    int gt_ignore = -1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--name"))
            name = argv[i + 1];
        else if (!strcmp(argv[i], "--gt-change-min"))
            gt_min = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--gt-change-max"))
            gt_max = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--change-max"))
            change_max = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--gt-ignore"))
            gt_ignore = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--min-pcc"))
            min_pcc = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--min-kappa"))
            min_kappa = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--min-f1"))
            min_f1 = atof(argv[i + 1]);
        else {
            usage();
            return 2;
        }
    }
    GDALAllRegister();
    GDALDatasetH c = GDALOpen(argv[1], GA_ReadOnly), g = GDALOpen(argv[2], GA_ReadOnly);
    if (!c || !g) {
        fprintf(stderr, "eval_change: cannot open %s\n", !c ? argv[1] : argv[2]);
        return 2;
    }
    int w = GDALGetRasterXSize(c), h = GDALGetRasterYSize(c);
    if (w != GDALGetRasterXSize(g) || h != GDALGetRasterYSize(g)) {
        fprintf(stderr, "eval_change: sizes differ (%dx%d vs %dx%d)\n", w, h,
                GDALGetRasterXSize(g), GDALGetRasterYSize(g));
        return 2;
    }
    size_t n = (size_t)w * (size_t)h;
    uint8_t *cb = malloc(n), *gb = malloc(n);
    if (!cb || !gb ||
        GDALRasterIO(GDALGetRasterBand(c, 1), GF_Read, 0, 0, w, h, cb, w, h, GDT_Byte, 0, 0) != CE_None ||
        GDALRasterIO(GDALGetRasterBand(g, 1), GF_Read, 0, 0, w, h, gb, w, h, GDT_Byte, 0, 0) != CE_None) {
        fprintf(stderr, "eval_change: read error\n");
        return 2;
    }
    double tp = 0, fp = 0, fn = 0, tn = 0;
    for (size_t i = 0; i < n; i++) {
        if (gt_ignore >= 0 && gb[i] == gt_ignore)
            continue;
        int truth = gb[i] >= gt_min && gb[i] <= gt_max;
        /* nodata in the result counts as "no change found" */
        int found = cb[i] != 0 && cb[i] != 255 && cb[i] <= change_max;
        tp += found && truth;
        fp += found && !truth;
        fn += !found && truth;
        tn += !found && !truth;
    }
    double total = tp + fp + fn + tn;
    double pcc = (tp + tn) / total;
    double pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (total * total);
    double kappa = (pcc - pe) / (1 - pe);
    double f1 = 2 * tp / (2 * tp + fp + fn);
    printf("%-16s PCC %.4f  kappa %.4f  F1 %.4f  (TP %.0f FP %.0f FN %.0f TN %.0f)\n", name,
           pcc, kappa, f1, tp, fp, fn, tn);
    int fail = 0;
    if (pcc < min_pcc)
        fail = printf("  FAIL: PCC %.4f below the floor %.4f\n", pcc, min_pcc) > 0;
    if (kappa < min_kappa)
        fail = printf("  FAIL: kappa %.4f below the floor %.4f\n", kappa, min_kappa) > 0;
    if (f1 < min_f1)
        fail = printf("  FAIL: F1 %.4f below the floor %.4f\n", f1, min_f1) > 0;
    free(cb);
    free(gb);
    GDALClose(c);
    GDALClose(g);
    return fail;
}
