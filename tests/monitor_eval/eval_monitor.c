/* eval_monitor.c: scores monitoring alerts against dated change references: detection rate,
 * false alarms per 1000 km2 per date and delay on synthetic stacks; kappa, F1 and alert
 * dates on a reference map of one year (Bolivia / Hansen). */
#include <gdal.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  eval_monitor synth --truth T.tif --start YYYYMMDD --end YYYYMMDD --name N\n"
            "               (--alert-date A.tif --ndates K [--mmu-px N] | --pairs LIST [--classes 1,2])\n"
            "               [--nuisance NUIS.tif] [--min-detect P] [--max-fa F] [--max-delay D]\n"
            "  eval_monitor year --ref REF.tif --year-value V --from YYYYMMDD --name N\n"
            "               --pred P.tif [--pred2 P2.tif] [--pred-kind yyyymmdd|decyear] [--band B]\n"
            "               [--compare C.tif --compare-kind yyyymmdd|decyear --compare-band B]\n"
            "               [--min-kappa K] [--min-f1 F]\n"
            "  eval_monitor enl --list LIST --before YYYYMMDD [--units db|linear]\n"
            "synth: T holds the change start date (YYYYMMDD, 0 stable); A the first date of a\n"
            "confirmed alert (YYYYMMDD, <= 0 none); LIST lines 'YYYYMMDD CHANGE.tif' give the\n"
            "pairwise change maps by the later date ('none': no map that date; classes counted as\n"
            "alarms: --classes,\n"
            "default 1). False alarms are counted on stable land (T = 0) from --start on, per\n"
            "1000 km2 of stable land and per analysis date (K monitored dates, or the number of\n"
            "pairs); polygons are 8-connected groups of false-alarm pixels of one analysis.\n"
            "--mmu-px N drops groups of alerted pixels smaller than N before scoring (detect's\n"
            "minimum mapping unit, 10 px = 0.1 ha at 10 m).\n"
            "year: REF is the reference (0 no change, V change in the scored year, any other\n"
            "value not scored); a prediction is positive when its date is >= --from; with --pred2\n"
            "the earlier of the two alert dates counts (stacks confirmed separately).\n");
}

/* ---- dates ---- */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}
static long ymd_days(long v) { return days_from_civil((int)(v / 10000), (int)(v / 100 % 100), (int)(v % 100)); }
/* BayTS decimal years: year + (day of year - 1) / 365 */
static long decyear_days(double v)
{
    int y = (int)floor(v);
    return days_from_civil(y, 1, 1) + lround((v - y) * 365.0);
}

/* ---- rasters ---- */
typedef struct grid {
    int w, h;
    double gt[6];
} grid;

static double *read_band(const char *path, int band, grid *g)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds) {
        fprintf(stderr, "eval_monitor: cannot open %s\n", path);
        exit(2);
    }
    int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    if (g->w && (g->w != w || g->h != h)) {
        fprintf(stderr, "eval_monitor: %s is %dx%d, expected %dx%d\n", path, w, h, g->w, g->h);
        exit(2);
    }
    g->w = w;
    g->h = h;
    if (GDALGetGeoTransform(ds, g->gt) != CE_None) {
        double id[6] = {0, 1, 0, 0, 0, -1};
        memcpy(g->gt, id, sizeof id);
    }
    if (band < 1 || band > GDALGetRasterCount(ds)) {
        fprintf(stderr, "eval_monitor: %s has no band %d\n", path, band);
        exit(2);
    }
    double *v = malloc((size_t)w * h * sizeof(double));
    GDALRasterBandH b = GDALGetRasterBand(ds, band);
    if (GDALRasterIO(b, GF_Read, 0, 0, w, h, v, w, h, GDT_Float64, 0, 0) != CE_None) {
        fprintf(stderr, "eval_monitor: cannot read %s\n", path);
        exit(2);
    }
    int has = 0;
    double nd = GDALGetRasterNoDataValue(b, &has);
    if (has)
        for (long i = 0; i < (long)w * h; i++)
            if (v[i] == nd || (nd < -1e37 && v[i] < -1e37))
                v[i] = NAN;
    GDALClose(ds);
    return v;
}

/* 8-connected components among the pixels with mark[i] != 0 (mark is cleared) */
static long components(uint8_t *mark, int w, int h)
{
    long n = 0, *stack = malloc((size_t)w * h * sizeof(long));
    for (long s = 0; s < (long)w * h; s++) {
        if (!mark[s])
            continue;
        n++;
        long top = 0;
        stack[top++] = s;
        mark[s] = 0;
        while (top) {
            long i = stack[--top];
            int x = (int)(i % w), y = (int)(i / w);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                        continue;
                    long j = (long)yy * w + xx;
                    if (mark[j]) {
                        mark[j] = 0;
                        stack[top++] = j;
                    }
                }
        }
    }
    free(stack);
    return n;
}

/* Drops the groups (8-connected) of alerted pixels (a[i] > 0) smaller than mmu pixels, as
 * detect's minimum mapping unit does for its change polygons. */
static void apply_mmu(double *a, int w, int h, long mmu)
{
    long n = (long)w * h, *stack = malloc((size_t)n * sizeof(long));
    long *members = malloc((size_t)n * sizeof(long));
    uint8_t *seen = calloc((size_t)n, 1);
    for (long s = 0; s < n; s++) {
        if (seen[s] || !(a[s] > 0))
            continue;
        long top = 0, nm = 0;
        stack[top++] = s;
        seen[s] = 1;
        while (top) {
            long i = stack[--top];
            members[nm++] = i;
            int x = (int)(i % w), y = (int)(i / w);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                        continue;
                    long j = (long)yy * w + xx;
                    if (!seen[j] && a[j] > 0) {
                        seen[j] = 1;
                        stack[top++] = j;
                    }
                }
        }
        if (nm < mmu)
            for (long k = 0; k < nm; k++)
                a[members[k]] = 0;
    }
    free(stack);
    free(members);
    free(seen);
}

static const char *arg(int argc, char **argv, const char *key, const char *dflt)
{
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], key))
            return argv[i + 1];
    return dflt;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* ---- synthetic stacks ---- */
static int synth(int argc, char **argv)
{
    const char *truth_p = arg(argc, argv, "--truth", NULL), *name = arg(argc, argv, "--name", "?");
    const char *alert_p = arg(argc, argv, "--alert-date", NULL);
    const char *pairs_p = arg(argc, argv, "--pairs", NULL);
    const char *nuis_p = arg(argc, argv, "--nuisance", NULL);
    const char *classes = arg(argc, argv, "--classes", "1");
    long start = atol(arg(argc, argv, "--start", "0")), end = atol(arg(argc, argv, "--end", "0"));
    if (!truth_p || !start || !end || (!alert_p == !pairs_p)) {
        usage();
        return 1;
    }
    grid g = {0};
    double *truth = read_band(truth_p, 1, &g);
    long n = (long)g.w * g.h;
    double *nuis = nuis_p ? read_band(nuis_p, 1, &g) : NULL;
    double px_km2 = fabs(g.gt[1] * g.gt[5]) / 1e6;
    long *first = malloc((size_t)n * sizeof(long)); /* days of the first alarm, or LONG_MAX */
    uint8_t *mark = calloc((size_t)n, 1), *ever = calloc((size_t)n, 1);
    for (long i = 0; i < n; i++)
        first[i] = LONG_MAX;
    long fa_px = 0, fa_poly = 0, analyses = 0;
    long start_d = ymd_days(start), end_d = ymd_days(end);
    if (alert_p) {
        double *a = read_band(alert_p, 1, &g);
        analyses = atol(arg(argc, argv, "--ndates", "0"));
        long mmu = atol(arg(argc, argv, "--mmu-px", "0"));
        if (mmu > 1)
            apply_mmu(a, g.w, g.h, mmu);
        for (long i = 0; i < n; i++) {
            if (!(a[i] > 0))
                continue;
            long d = ymd_days((long)a[i]);
            if (d < start_d || d > end_d)
                continue;
            first[i] = d;
            if (truth[i] == 0) {
                mark[i] = ever[i] = 1;
                fa_px++;
            }
        }
        fa_poly = components(mark, g.w, g.h);
        free(a);
    } else {
        FILE *f = fopen(pairs_p, "r");
        if (!f) {
            fprintf(stderr, "eval_monitor: cannot read %s\n", pairs_p);
            return 2;
        }
        char line[4096], path[4096];
        long date;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "%ld %4095s", &date, path) != 2)
                continue;
            long d = ymd_days(date);
            if (d < start_d || d > end_d)
                continue;
            analyses++;
            if (!strcmp(path, "none"))
                continue; /* the pair had no common valid pixel: no alarm that date */
            double *c = read_band(path, 1, &g);
            for (long i = 0; i < n; i++) {
                int cls = isnan(c[i]) ? 0 : (int)c[i], hit = 0;
                for (const char *p = classes; *p; p++)
                    if (*p >= '0' && *p <= '9' && atoi(p) == cls && cls != 0 &&
                        (p == classes || p[-1] == ','))
                        hit = 1;
                if (!hit)
                    continue;
                if (first[i] == LONG_MAX)
                    first[i] = d;
                if (truth[i] == 0) {
                    mark[i] = ever[i] = 1;
                    fa_px++;
                }
            }
            fa_poly += components(mark, g.w, g.h);
            free(c);
        }
        fclose(f);
    }
    long nchg = 0, ndet = 0, nearly = 0, nstable = 0, *delay = malloc((size_t)n * sizeof(long));
    long nuis_n[5] = {0}, nuis_fa[5] = {0};
    for (long i = 0; i < n; i++) {
        if (truth[i] == 0) {
            nstable++;
            int k = nuis ? (int)nuis[i] : 0;
            if (k >= 1 && k <= 4) {
                nuis_n[k]++;
                nuis_fa[k] += ever[i];
            }
            continue;
        }
        long t = ymd_days((long)truth[i]);
        if (t < start_d || t > end_d)
            continue; /* changed before monitoring began: not scored */
        nchg++;
        if (first[i] == LONG_MAX)
            continue;
        if (first[i] < t) {
            nearly++;
            continue;
        }
        delay[ndet++] = first[i] - t;
    }
    double mean = 0.0;
    for (long i = 0; i < ndet; i++)
        mean += delay[i];
    mean = ndet ? mean / ndet : NAN;
    qsort(delay, (size_t)ndet, sizeof(long), cmp_long);
    double med = ndet ? (double)delay[ndet / 2] : NAN;
    double stable_kkm2 = nstable * px_km2 / 1000.0;
    double rate = nchg ? 100.0 * ndet / nchg : NAN;
    double fa_p = analyses ? fa_poly / stable_kkm2 / analyses : NAN;
    double fa_ha = analyses ? fa_px * px_km2 * 100.0 / stable_kkm2 / analyses : NAN;
    printf("%s: detected %.1f %% (%ld of %ld changed px; %ld alarmed before the change), "
           "false alarms %.1f polygons and %.1f ha per 1000 km2 per date (%ld analyses, %ld "
           "polygons, %ld px), delay mean %.1f d median %.0f d",
           name, rate, ndet, nchg, nearly, fa_p, fa_ha, analyses, fa_poly, fa_px, mean, med);
    if (nuis)
        printf(", nuisance areas alarmed: flood %.1f %% haze %.1f %% early-harvest %.1f %% "
               "wet-canopy %.1f %%",
               nuis_n[1] ? 100.0 * nuis_fa[1] / nuis_n[1] : NAN,
               nuis_n[2] ? 100.0 * nuis_fa[2] / nuis_n[2] : NAN,
               nuis_n[3] ? 100.0 * nuis_fa[3] / nuis_n[3] : NAN,
               nuis_n[4] ? 100.0 * nuis_fa[4] / nuis_n[4] : NAN);
    printf("\n");
    printf("ROW|%s|%.1f|%.1f|%.1f|%.1f|%.0f|%ld\n", name, rate, fa_p, fa_ha, mean, med, analyses);
    int rc = 0;
    const char *s;
    if ((s = arg(argc, argv, "--min-detect", NULL)) && !(rate >= atof(s))) {
        fprintf(stderr, "%s: detection rate %.1f %% below the floor %s\n", name, rate, s);
        rc = 1;
    }
    if ((s = arg(argc, argv, "--max-fa", NULL)) && !(fa_p <= atof(s))) {
        fprintf(stderr, "%s: %.1f false-alarm polygons above the ceiling %s\n", name, fa_p, s);
        rc = 1;
    }
    if ((s = arg(argc, argv, "--max-delay", NULL)) && !(mean <= atof(s))) {
        fprintf(stderr, "%s: mean delay %.1f d above the ceiling %s\n", name, mean, s);
        rc = 1;
    }
    free(truth);
    free(nuis);
    free(first);
    free(mark);
    free(ever);
    free(delay);
    return rc;
}

/* ---- one year against a reference map ---- */
static long *pred_days(const char *path, const char *kind, int band, grid *g)
{
    double *v = read_band(path, band, g);
    long n = (long)g->w * g->h, *d = malloc((size_t)n * sizeof(long));
    int dec = !strcmp(kind, "decyear");
    for (long i = 0; i < n; i++)
        d[i] = !(v[i] > 0) || !isfinite(v[i]) ? LONG_MAX : (dec ? decyear_days(v[i]) : ymd_days((long)v[i]));
    free(v);
    return d;
}

static int year(int argc, char **argv)
{
    const char *ref_p = arg(argc, argv, "--ref", NULL), *pred_p = arg(argc, argv, "--pred", NULL);
    const char *name = arg(argc, argv, "--name", "?");
    const char *cmp_p = arg(argc, argv, "--compare", NULL);
    long from = atol(arg(argc, argv, "--from", "0"));
    double yv = atof(arg(argc, argv, "--year-value", "-1"));
    if (!ref_p || !pred_p || !from || yv < 0) {
        usage();
        return 1;
    }
    grid g = {0};
    double *ref = read_band(ref_p, 1, &g);
    long n = (long)g.w * g.h, from_d = ymd_days(from);
    long *pd = pred_days(pred_p, arg(argc, argv, "--pred-kind", "yyyymmdd"),
                         atoi(arg(argc, argv, "--band", "1")), &g);
    const char *pred2_p = arg(argc, argv, "--pred2", NULL);
    if (pred2_p) {
        /* each stack confirmed on its own, the earlier alert wins */
        long *p2 = pred_days(pred2_p, arg(argc, argv, "--pred-kind", "yyyymmdd"), 1, &g);
        for (long i = 0; i < n; i++)
            if (p2[i] < pd[i])
                pd[i] = p2[i];
        free(p2);
    }
    long *cd = cmp_p ? pred_days(cmp_p, arg(argc, argv, "--compare-kind", "yyyymmdd"),
                                 atoi(arg(argc, argv, "--compare-band", "1")), &g)
                     : NULL;
    double tp = 0, fp = 0, fn = 0, tn = 0, day_sum = 0, diff_sum = 0;
    long ncommon = 0, earlier = 0;
    for (long i = 0; i < n; i++) {
        int truth;
        if (ref[i] == 0)
            truth = 0;
        else if (ref[i] == yv)
            truth = 1;
        else
            continue;
        int pos = pd[i] != LONG_MAX && pd[i] >= from_d;
        tp += truth && pos;
        fp += !truth && pos;
        fn += truth && !pos;
        tn += !truth && !pos;
        if (truth && pos) {
            day_sum += pd[i] - from_d;
            if (cd && cd[i] != LONG_MAX && cd[i] >= from_d) {
                diff_sum += pd[i] - cd[i];
                earlier += pd[i] < cd[i];
                ncommon++;
            }
        }
    }
    double tot = tp + fp + fn + tn, pcc = (tp + tn) / tot;
    double pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (tot * tot);
    double kappa = (pcc - pe) / (1 - pe), f1 = 2 * tp / (2 * tp + fp + fn);
    double mean_day = tp ? day_sum / tp : NAN;
    printf("%s: kappa %.3f F1 %.3f (TP %.0f FP %.0f FN %.0f TN %.0f), mean alert day %.1f after "
           "%ld",
           name, kappa, f1, tp, fp, fn, tn, mean_day, from);
    if (cd)
        printf(", vs the comparison on %ld common TP: %+.1f d mean (earlier on %ld)", ncommon,
               ncommon ? diff_sum / ncommon : NAN, earlier);
    printf("\n");
    printf("ROW|%s|%.3f|%.3f|%.0f|%.0f|%.0f|%.1f|%.1f\n", name, kappa, f1, tp, fp, fn, mean_day,
           ncommon ? diff_sum / ncommon : NAN);
    int rc = 0;
    const char *s;
    if ((s = arg(argc, argv, "--min-kappa", NULL)) && !(kappa >= atof(s))) {
        fprintf(stderr, "%s: kappa %.3f below the floor %s\n", name, kappa, s);
        rc = 1;
    }
    if ((s = arg(argc, argv, "--min-f1", NULL)) && !(f1 >= atof(s))) {
        fprintf(stderr, "%s: F1 %.3f below the floor %s\n", name, f1, s);
        rc = 1;
    }
    free(ref);
    free(pd);
    free(cd);
    return rc;
}

/* ---- the equivalent number of looks of a SAR stack, from its baseline ---- */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* For each pixel with >= 10 baseline dates: mean^2 / variance of the linear intensity (the
 * ENL of a gamma variable); the median over pixels. Seasonal or real change in a baseline
 * only lowers the estimate, so it errs towards a conservative test. */
static int enl(int argc, char **argv)
{
    const char *list = arg(argc, argv, "--list", NULL);
    long before = atol(arg(argc, argv, "--before", "0"));
    int db = !strcmp(arg(argc, argv, "--units", "db"), "db");
    if (!list || !before) {
        usage();
        return 1;
    }
    FILE *f = fopen(list, "r");
    if (!f) {
        fprintf(stderr, "eval_monitor: cannot read %s\n", list);
        return 2;
    }
    grid g = {0};
    double *s1 = NULL, *s2 = NULL;
    int *cnt = NULL;
    char line[4096], path[4096], date[32];
    long n = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %4095s", date, path) != 2 || date[0] == '#')
            continue;
        int y, m, d;
        if (sscanf(date, "%d-%d-%d", &y, &m, &d) != 3 || y * 10000L + m * 100 + d >= before)
            continue;
        char full[8300];
        if (path[0] == '/')
            snprintf(full, sizeof full, "%s", path);
        else {
            /* relative to the list, as geodelta monitor reads it */
            const char *slash = strrchr(list, '/');
            int dl = slash ? (int)(slash - list) : 1;
            snprintf(full, sizeof full, "%.*s/%s", dl, slash ? list : ".", path);
        }
        double *v = read_band(full, 1, &g);
        if (!s1) {
            n = (long)g.w * g.h;
            s1 = calloc((size_t)n, sizeof(double));
            s2 = calloc((size_t)n, sizeof(double));
            cnt = calloc((size_t)n, sizeof(int));
        }
        for (long i = 0; i < n; i++) {
            if (!isfinite(v[i]) || (!db && !(v[i] > 0)))
                continue;
            double x = db ? pow(10.0, v[i] / 10.0) : v[i];
            s1[i] += x;
            s2[i] += x * x;
            cnt[i]++;
        }
        free(v);
    }
    fclose(f);
    double *e = malloc((size_t)(n ? n : 1) * sizeof(double));
    long ne = 0;
    for (long i = 0; i < n; i++) {
        if (cnt[i] < 10)
            continue;
        double mean = s1[i] / cnt[i], var = (s2[i] - cnt[i] * mean * mean) / (cnt[i] - 1);
        if (var > 0)
            e[ne++] = mean * mean / var;
    }
    qsort(e, (size_t)ne, sizeof(double), cmp_double);
    printf("%.1f\n", ne ? e[ne / 2] : NAN);
    fprintf(stderr, "enl: median of %ld pixels, quartiles %.1f %.1f\n", ne, ne ? e[ne / 4] : NAN,
            ne ? e[3 * ne / 4] : NAN);
    free(s1);
    free(s2);
    free(cnt);
    free(e);
    return ne ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 1;
    }
    GDALAllRegister();
    if (!strcmp(argv[1], "synth"))
        return synth(argc, argv);
    if (!strcmp(argv[1], "year"))
        return year(argc, argv);
    if (!strcmp(argv[1], "enl"))
        return enl(argc, argv);
    usage();
    return 1;
}
