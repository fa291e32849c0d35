/* make_monitor_stack.c: a small synthetic stack for the monitor tests, and the check of
 * its answer.
 *   make_monitor_stack make DIR     writes 36 dates every 12 days from 2020-01-01:
 *                                    DIR/value/vNN.tif (NDVI-like, 48x40, EPSG:32633,
 *                                    clouds as nodata), DIR/sar/sNN.tif (VV in dB, gamma
 *                                    speckle of 4.4 looks, EPSG:3857: warped onto the first
 *                                    grid) and DIR/value.txt, DIR/sar.txt (the first 35 dates;
 *                                    the last is DIR/value_last.line / sar_last.line to append)
 *   make_monitor_stack check ALERT_DATE.TIF [YYYYMMDD]
 *                                    the change patch must be confirmed with its first
 *                                    detection on the change date (or the given one), and
 *                                    stable land have (almost) no confirmed alert
 * Change: the patch x 14..29, y 10..25 drops from date CHANGE_AT on (NDVI 0.8 -> 0.25,
 * VV -7 dB -> -17 dB). Values depend only on (date, pixel) and a fixed seed. */
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define W 48
#define H 40
#define NDATES 36
#define CHANGE_AT 28 /* index of the first changed date (2020-12-02) */
#define PX0 14
#define PX1 29
#define PY0 10
#define PY1 25

static uint64_t rng_state;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double nrand(void) { return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand()); }
/* Marsaglia-Tsang gamma(shape k, scale 1), k >= 1 */
static double grand(double k)
{
    double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = nrand(), v = 1 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = urand();
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v;
    }
}

static int in_patch(int x, int y) { return x >= PX0 && x <= PX1 && y >= PY0 && y <= PY1; }

/* date index i: 2020-01-01 + 12 i days, as text */
static void date_of(int i, char *buf)
{
    struct tm t = {0};
    t.tm_year = 120;
    t.tm_mon = 0;
    t.tm_mday = 1 + 12 * i;
    t.tm_hour = 12;
    timegm(&t);
    strftime(buf, 16, "%Y-%m-%d", &t);
}

static int write_tif(const char *path, const float *v, int w, int h, const char *srs, double ox,
                     double oy, double px, const char *unit)
{
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, 1, GDT_Float32, NULL);
    if (!ds)
        return -1;
    double gt[6] = {ox, px, 0, oy, 0, -px};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OSRSetFromUserInput(s, srs);
    char *wkt = NULL;
    OSRExportToWkt(s, &wkt);
    GDALSetProjection(ds, wkt);
    VSIFree(wkt);
    OSRDestroySpatialReference(s);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    GDALSetRasterNoDataValue(b, -9999);
    if (unit)
        GDALSetRasterUnitType(b, unit);
    CPLErr e = GDALRasterIO(b, GF_Write, 0, 0, w, h, (void *)v, w, h, GDT_Float32, 0, 0);
    GDALClose(ds);
    return e == CE_None ? 0 : -1;
}

/* The SAR grid: Web Mercator, 25 m, over the UTM grid with a margin; patch[] marks the SAR
 * pixels whose centre falls in the change patch of the UTM grid. */
#define SW 64
#define SH 56
static double sar_ox, sar_oy;
static unsigned char sar_patch[SW * SH];
static int sar_grid(void)
{
    OGRSpatialReferenceH u = OSRNewSpatialReference(NULL), m = OSRNewSpatialReference(NULL);
    OSRSetFromUserInput(u, "EPSG:32633");
    OSRSetFromUserInput(m, "EPSG:3857");
    OSRSetAxisMappingStrategy(u, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(m, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH to_m = OCTNewCoordinateTransformation(u, m);
    OGRCoordinateTransformationH to_u = OCTNewCoordinateTransformation(m, u);
    double x = 500000, y = 4600000;
    int ok = to_m && to_u && OCTTransform(to_m, 1, &x, &y, NULL);
    sar_ox = floor(x / 25) * 25 - 100;
    sar_oy = ceil(y / 25) * 25 + 100;
    for (int r = 0; ok && r < SH; r++)
        for (int c = 0; c < SW; c++) {
            double px = sar_ox + (c + 0.5) * 25, py = sar_oy - (r + 0.5) * 25;
            ok = OCTTransform(to_u, 1, &px, &py, NULL);
            int gx = (int)floor((px - 500000) / 20), gy = (int)floor((4600000 - py) / 20);
            sar_patch[r * SW + c] = ok && gx >= 0 && gy >= 0 && gx < W && gy < H && in_patch(gx, gy);
        }
    OCTDestroyCoordinateTransformation(to_m);
    OCTDestroyCoordinateTransformation(to_u);
    OSRDestroySpatialReference(u);
    OSRDestroySpatialReference(m);
    return ok ? 0 : -1;
}

static int make(const char *dir)
{
    char path[4096], d[16];
    float v[SW * SH];
    if (sar_grid())
        return 1;
    snprintf(path, sizeof path, "%s/value", dir);
    mkdir(dir, 0775);
    mkdir(path, 0775);
    snprintf(path, sizeof path, "%s/sar", dir);
    mkdir(path, 0775);
    FILE *lv, *ls, *av, *as;
    snprintf(path, sizeof path, "%s/value.txt", dir);
    lv = fopen(path, "w");
    snprintf(path, sizeof path, "%s/sar.txt", dir);
    ls = fopen(path, "w");
    snprintf(path, sizeof path, "%s/value_last.line", dir);
    av = fopen(path, "w");
    snprintf(path, sizeof path, "%s/sar_last.line", dir);
    as = fopen(path, "w");
    if (!lv || !ls || !av || !as)
        return 1;
    fprintf(lv, "# synthetic NDVI-like stack (make_monitor_stack)\n");
    for (int i = 0; i < NDATES; i++) {
        date_of(i, d);
        rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(i + 1) * 0x100000001b3ULL;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double base = 0.8 + 0.005 * sin(2 * M_PI * i / 30.0);
                double val = (in_patch(x, y) && i >= CHANGE_AT ? 0.25 : base) + 0.02 * nrand();
                /* a cloud over a corner on two dates, scattered gaps on every date */
                int cloud = (i == 5 || i == 19) && x < 12 && y < 12;
                v[y * W + x] = cloud || urand() < 0.03 ? -9999.0f : (float)val;
            }
        snprintf(path, sizeof path, "%s/value/v%02d.tif", dir, i);
        if (write_tif(path, v, W, H, "EPSG:32633", 500000, 4600000, 20, NULL))
            return 1;
        fprintf(i < NDATES - 1 ? lv : av, "%s value/v%02d.tif\n", d, i);
        /* SAR two days later, on a Web Mercator grid a little larger than the first */
        struct tm t = {0};
        t.tm_year = 120;
        t.tm_mday = 2 + 12 * i;
        t.tm_hour = 12;
        timegm(&t);
        strftime(d, sizeof d, "%Y-%m-%d", &t);
        for (int y = 0; y < SH; y++)
            for (int x = 0; x < SW; x++) {
                double db = sar_patch[y * SW + x] && i >= CHANGE_AT ? -17.0 : -7.0;
                double lin = pow(10, db / 10) * grand(4.4) / 4.4;
                v[y * SW + x] = (float)(10 * log10(lin));
            }
        snprintf(path, sizeof path, "%s/sar/s%02d.tif", dir, i);
        if (write_tif(path, v, SW, SH, "EPSG:3857", sar_ox, sar_oy, 25, "dB"))
            return 1;
        fprintf(i < NDATES - 1 ? ls : as, "%s sar/s%02d.tif\n", d, i);
    }
    fclose(lv);
    fclose(ls);
    fclose(av);
    fclose(as);
    return 0;
}

static int check(const char *path, int32_t want)
{
    char d[16];
    date_of(CHANGE_AT, d);
    int32_t cd = want ? want : atoi(d) * 10000 + atoi(d + 5) * 100 + atoi(d + 8);
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    /* on the value grid, or on the SAR grid when the SAR stack came first */
    int w = ds ? GDALGetRasterXSize(ds) : 0, h = ds ? GDALGetRasterYSize(ds) : 0;
    int sar = w == SW && h == SH;
    if (!ds || !((w == W && h == H) || sar) || sar_grid()) {
        fprintf(stderr, "FAIL: %s missing or neither %dx%d nor %dx%d\n", path, W, H, SW, SH);
        return 1;
    }
    static int32_t a[SW * SH];
    if (GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, w, h, a, w, h, GDT_Int32, 0, 0) !=
        CE_None)
        return 1;
    GDALClose(ds);
    long hit = 0, patch = 0, fa = 0, stable = 0, unobs = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int32_t v = a[y * w + x];
            unobs += v == -1;
            if (sar ? sar_patch[y * SW + x] : in_patch(x, y)) {
                patch++;
                hit += v == cd;
            } else {
                stable++;
                fa += v > 0;
            }
        }
    printf("patch pixels %ld, alert on the change date %ld (%.1f %%); stable pixels %ld, "
           "confirmed false alarms %ld; never observed %ld\n", patch, hit, 100.0 * hit / patch,
           stable, fa, unobs);
    if (hit < patch * 90 / 100 || fa > stable / 50) {
        fprintf(stderr, "FAIL: detection below 90 %% or false alarms above 2 %%\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    GDALAllRegister();
    if (argc >= 3 && strcmp(argv[1], "make") == 0)
        return make(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argc > 3 ? atoi(argv[3]) : 0);
    fprintf(stderr, "usage: make_monitor_stack make DIR | check ALERT_DATE.TIF [YYYYMMDD]\n");
    return 2;
}
