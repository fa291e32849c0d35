/* eval_change.c: scores a change raster against a reference: PCC, kappa, F1, floors, and
 * 95 % intervals by a spatial block bootstrap. */
#include <gdal.h>
#include <math.h>
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
            "                   [--bootstrap B] [--block S] [--seed N] [--dump FILE]\n"
            "CHANGE: class raster (0 none, 1..254 change, 255 nodata); with --change-max only\n"
            "classes 1..C count as change (e.g. the burned classes of nbr's USGS table).\n"
            "GT band 1: change where gt-change-min (default 1) <= value <= gt-change-max\n"
            "(default 255), pixels equal to gt-ignore skipped.\n"
            "--bootstrap B: 95 %% intervals of PCC, kappa and F1 from B resamples of S x S\n"
            "pixel blocks drawn with replacement (default S 32): neighbouring pixels are not\n"
            "independent evidence, blocks nearly are. Fixed seed: the same input gives the\n"
            "same interval (--seed N: another fixed sequence, e.g. one per dataset when the\n"
            "resamples of several are combined). --dump FILE: each resample's PCC, kappa\n"
            "and F1 on a line (for the interval of a mean over datasets).\n");
}

typedef struct counts {
    double tp, fp, fn, tn;
} counts;

static void metrics(const counts *k, double *pcc, double *kappa, double *f1)
{
    double total = k->tp + k->fp + k->fn + k->tn;
    *pcc = (k->tp + k->tn) / total;
    double pe = ((k->tp + k->fp) * (k->tp + k->fn) + (k->fn + k->tn) * (k->fp + k->tn)) /
                (total * total);
    *kappa = (*pcc - pe) / (1 - pe);
    *f1 = 2 * k->tp / (2 * k->tp + k->fp + k->fn);
}

/* splitmix64: a fixed, portable sequence (the interval must not depend on the libc) */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the 2.5 and 97.5 percentiles of v[0..n) (sorted in place; NaN resamples left out) */
static void interval(double *v, int n, double out[2])
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[k++] = v[i];
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    out[0] = k ? v[(int)floor(0.025 * (k - 1))] : NAN;
    out[1] = k ? v[(int)ceil(0.975 * (k - 1))] : NAN;
}

/* Block bootstrap: per-block confusion counts, nblocks drawn with replacement per
 * resample, the metrics of each resample's sum. */
static int bootstrap(const counts *blocks, size_t nblocks, int b, uint64_t seed, FILE *dump,
                     double ci[3][2])
{
    double *v[3];
    for (int m = 0; m < 3; m++)
        v[m] = malloc(sizeof(double) * (size_t)b);
    if (!v[0] || !v[1] || !v[2]) {
        for (int m = 0; m < 3; m++)
            free(v[m]);
        return -1;
    }
    for (int r = 0; r < b; r++) {
        counts sum = {0, 0, 0, 0};
        for (size_t i = 0; i < nblocks; i++) {
            const counts *k = &blocks[next_rand(&seed) % nblocks];
            sum.tp += k->tp, sum.fp += k->fp, sum.fn += k->fn, sum.tn += k->tn;
        }
        metrics(&sum, &v[0][r], &v[1][r], &v[2][r]);
        if (dump)
            fprintf(dump, "%.6f %.6f %.6f\n", v[0][r], v[1][r], v[2][r]);
    }
    for (int m = 0; m < 3; m++) {
        interval(v[m], b, ci[m]);
        free(v[m]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        usage();
        return 2;
    }
    const char *name = argv[1];
    double gt_min = 1, gt_max = 255, change_max = 254, min_pcc = 0, min_kappa = -1, min_f1 = 0;
    int gt_ignore = -1, nboot = 0, block = 32;
    uint64_t seed = 20261206u;
    const char *dump = NULL;
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
        else if (!strcmp(argv[i], "--bootstrap"))
            nboot = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--block"))
            block = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--dump"))
            dump = argv[i + 1];
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
    if (block < 1 || nboot < 0) {
        usage();
        return 2;
    }
    int bw = (w + block - 1) / block, bh = (h + block - 1) / block;
    counts all = {0, 0, 0, 0}, *blocks = calloc((size_t)bw * (size_t)bh, sizeof *blocks);
    if (!blocks) {
        fprintf(stderr, "eval_change: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (gt_ignore >= 0 && gb[i] == gt_ignore)
            continue;
        int truth = gb[i] >= gt_min && gb[i] <= gt_max;
        /* nodata in the result counts as "no change found" */
        int found = cb[i] != 0 && cb[i] != 255 && cb[i] <= change_max;
        counts *k = &blocks[(i / (size_t)w / (size_t)block) * (size_t)bw +
                            (i % (size_t)w) / (size_t)block];
        k->tp += found && truth;
        k->fp += found && !truth;
        k->fn += !found && truth;
        k->tn += !found && !truth;
    }
    for (size_t i = 0; i < (size_t)bw * (size_t)bh; i++)
        all.tp += blocks[i].tp, all.fp += blocks[i].fp, all.fn += blocks[i].fn,
            all.tn += blocks[i].tn;
    double pcc, kappa, f1;
    metrics(&all, &pcc, &kappa, &f1);
    printf("%-16s PCC %.4f  kappa %.4f  F1 %.4f  (TP %.0f FP %.0f FN %.0f TN %.0f)\n", name,
           pcc, kappa, f1, all.tp, all.fp, all.fn, all.tn);
    if (nboot > 0) {
        double ci[3][2];
        FILE *df = dump ? fopen(dump, "w") : NULL;
        if (dump && !df) {
            fprintf(stderr, "eval_change: cannot write %s\n", dump);
            return 2;
        }
        int bst = bootstrap(blocks, (size_t)bw * (size_t)bh, nboot, seed, df, ci);
        if (df && fclose(df) != 0)
            bst = -1;
        if (bst != 0) {
            fprintf(stderr, "eval_change: out of memory or cannot write %s\n",
                    dump ? dump : "-");
            return 2;
        }
        printf("%-16s 95%% CI (block bootstrap, %d px blocks, %d resamples): PCC %.4f-%.4f  "
               "kappa %.4f-%.4f  F1 %.4f-%.4f\n", name, block, nboot, ci[0][0], ci[0][1],
               ci[1][0], ci[1][1], ci[2][0], ci[2][1]);
    }
    free(blocks);
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
