/* make_samples.c: writes a deterministic synthetic Sentinel-2-like before/after pair plus
 * the change truth, for the demo, the end-to-end tests and the coreg tests. */
#define _POSIX_C_SOURCE 200809L /* getpid() for the name.tmp-<pid> convention */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* GDAL's ogr_core.h has enumerators beyond int range; only -I builds see them (CMake's
 * imported targets use -isystem) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include "cpl_conv.h"
#include "gdal.h"
#include "ogr_srs_api.h"
#pragma GCC diagnostic pop

#define NBANDS 6 /* B02 B03 B04 B08, then B11 B12 with --swir */
#define STRIP_ROWS 256
#define PIXEL_M 10.0
#define ORIGIN_X 400000.0
#define ORIGIN_Y 5800000.0
#define EPSG_CODE 32633
#define NOISE_SIGMA 0.02
#define AFTER_GAIN 1.03
#define SEED UINT64_C(0x67656f64656c7461)

static const double TWO_PI = 6.28318530717958647692;

enum cover { C_VEG, C_SOIL, C_URBAN, C_WATER, C_NCOVER };
enum change { T_NONE = 0, T_BURNED = 1, T_FLOODED = 2, T_BUILT = 3, T_NCLASS };

/* ---- deterministic randomness: splitmix64 used as a counter-based hash, so every pixel's
 * noise depends only on (date, band, row, col) and never on the iteration order. ---- */
static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static double unit_from(uint64_t h) /* (0, 1) */
{
    return ((double)(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double gauss(uint64_t key)
{
    const uint64_t h1 = splitmix64(key);
    const uint64_t h2 = splitmix64(h1 ^ UINT64_C(0xd1b54a32d192ed03));
    return sqrt(-2.0 * log(unit_from(h1))) * cos(TWO_PI * unit_from(h2));
}

static uint64_t pixel_key(int date, int band, long row, long col)
{
    uint64_t k = splitmix64(SEED ^ ((uint64_t)date << 8) ^ (uint64_t)band);
    k = splitmix64(k ^ (uint64_t)row);
    return k ^ ((uint64_t)col * UINT64_C(0x9e3779b97f4a7c15));
}

/* ---- the analytic scene: everything is a function of continuous normalised coordinates
 * (u, v) in [0,1]² (u east, v south), so a shift is exact and --size only changes the
 * sampling. ---- */

/* smooth field in about [-1, 1]: a few long-wavelength waves with fixed phases */
static double lowfreq(double u, double v, double phase)
{
    return 0.45 * sin(TWO_PI * (1.3 * u + 0.4 * v) + phase) +
           0.30 * sin(TWO_PI * (0.5 * u - 1.7 * v) + 2.1 * phase + 0.7) +
           0.25 * sin(TWO_PI * (2.9 * u + 2.3 * v) + 0.5 * phase + 1.9);
}

static double river_centre(double v)
{
    return 0.30 + 0.05 * sin(TWO_PI * 1.5 * v) + 0.02 * sin(TWO_PI * 4.0 * v + 1.0);
}

#define RIVER_HALF_WIDTH 0.012

static int in_lake(double u, double v)
{
    const double a = (u - 0.16) / 0.07, b = (v - 0.86) / 0.045;
    return a * a + b * b < 1.0;
}

static int in_town(double u, double v)
{
    const double a = fabs(u - 0.72) / 0.11, b = fabs(v - 0.24) / 0.08;
    return a * a * a * a + b * b * b * b < 1.0; /* superellipse: a blocky town */
}

/* fields in a grid rotated by ~12°, so parcel edges give the coreg something to lock on */
static void parcel(double u, double v, double *vigour_offset, int *bare)
{
    const double c = 0.97814760073, s = 0.20791169082;
    const double pu = c * u + s * v, pv = -s * u + c * v;
    const int64_t iu = (int64_t)floor(pu / 0.047), iv = (int64_t)floor(pv / 0.036);
    const uint64_t h = splitmix64(SEED ^ ((uint64_t)iu * UINT64_C(0x100000001b3)) ^
                                  ((uint64_t)iv << 32));
    *vigour_offset = 0.4 * (unit_from(h) - 0.5);
    *bare = (h & 0xff) < 36; /* ~14 % bare parcels */
}

static enum cover cover_at(double u, double v, double *vigour)
{
    double off;
    int bare;
    if (fabs(u - river_centre(v)) < RIVER_HALF_WIDTH || in_lake(u, v))
        return C_WATER;
    if (in_town(u, v))
        return C_URBAN;
    parcel(u, v, &off, &bare);
    *vigour = 0.5 + 0.3 * lowfreq(u, v, 0.3) + off;
    *vigour = *vigour < 0.0 ? 0.0 : *vigour > 1.0 ? 1.0 : *vigour;
    return bare ? C_SOIL : C_VEG;
}

/* burned: an irregular star-shaped blob */
static int in_burn(double u, double v)
{
    const double du = u - 0.66, dv = v - 0.70;
    const double t = atan2(dv, du);
    const double r = 0.140 * (1.0 + 0.25 * sin(3.0 * t + 0.4) + 0.15 * sin(5.0 * t + 2.0) +
                              0.10 * sin(7.0 * t + 1.1));
    return du * du + dv * dv < r * r;
}

/* flooded: a lens of land along the east bank of the river */
static int in_flood(double u, double v)
{
    const double d = u - river_centre(v) - RIVER_HALF_WIDTH;
    const double e = 1.0 - ((v - 0.43) / 0.21) * ((v - 0.43) / 0.21);
    if (d <= 0.0 || e <= 0.0)
        return 0;
    return d < 0.12 * sqrt(e) * (1.0 + 0.2 * sin(TWO_PI * 9.0 * v));
}

/* built-up: new rectangles (warehouses, a housing estate) */
static int in_built(double u, double v)
{
    static const double R[][4] = {/* u0, v0, u1, v1 */
                                  {0.84, 0.10, 0.91, 0.16},
                                  {0.52, 0.30, 0.57, 0.34},
                                  {0.86, 0.40, 0.93, 0.44},
                                  {0.08, 0.12, 0.12, 0.155}};
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        if (u >= R[i][0] && u < R[i][2] && v >= R[i][1] && v < R[i][3])
            return 1;
    return 0;
}

static enum change change_at(double u, double v, enum cover cov)
{
    if (cov == C_WATER)
        return T_NONE;
    if (in_built(u, v))
        return T_BUILT;
    if (cov != C_URBAN && in_flood(u, v))
        return T_FLOODED;
    if (cov == C_VEG && in_burn(u, v)) /* bare fields do not burn */
        return T_BURNED;
    return T_NONE;
}

/* top-of-atmosphere reflectance ×10000 for B02, B03, B04, B08, B11, B12 before any
 * noise/gain (B11 and B12 are written only with --swir) */
static void spectrum(double u, double v, int after, enum cover *cov_out, enum change *chg_out,
                     double out[NBANDS])
{
    double vig = 0.5;
    const enum cover cov = cover_at(u, v, &vig);
    const enum change chg = after ? change_at(u, v, cov) : T_NONE;
    const double lf = lowfreq(u, v, 1.7); /* brightness variation independent of vigour */
    switch (chg) {
    case T_BURNED:
        out[0] = 480 + 40 * lf; out[1] = 620 + 40 * lf;
        out[2] = 900 + 60 * lf; out[3] = 1100 + 200 * vig;
        /* char and ash: SWIR up, NIR down; severity varies with the former vigour */
        out[4] = 2100 + 100 * lf; out[5] = 1500 + 300 * lf + 300 * vig;
        break;
    case T_FLOODED: /* turbid flood water: brighter in the visible than the river */
        out[0] = 750 + 30 * lf; out[1] = 850 + 30 * lf; out[2] = 700 + 30 * lf; out[3] = 380;
        out[4] = 200 + 20 * lf; out[5] = 120 + 15 * lf; /* water absorbs the SWIR */
        break;
    case T_BUILT:
        out[0] = 2000 + 100 * lf; out[1] = 2150 + 100 * lf;
        out[2] = 2300 + 100 * lf; out[3] = 2800 + 100 * lf;
        out[4] = 3000 + 100 * lf; out[5] = 2700 + 100 * lf;
        break;
    case T_NONE:
    default:
        switch (cov) {
        case C_WATER:
            out[0] = 600; out[1] = 650; out[2] = 450; out[3] = 300;
            out[4] = 100; out[5] = 60;
            break;
        case C_URBAN: { /* street grid texture */
            const double st = sin(TWO_PI * 60.0 * u) * sin(TWO_PI * 55.0 * v) > 0.3 ? 1.0 : 0.0;
            out[0] = 1100 + 250 * st; out[1] = 1200 + 250 * st;
            out[2] = 1300 + 250 * st; out[3] = 1900 + 150 * st;
            out[4] = 2100 + 200 * st; out[5] = 1900 + 200 * st;
            break;
        }
        case C_SOIL:
            out[0] = 900 + 80 * lf; out[1] = 1100 + 90 * lf;
            out[2] = 1400 + 120 * lf; out[3] = 2200 + 150 * lf;
            out[4] = 2800 + 150 * lf; out[5] = 2300 + 150 * lf;
            break;
        case C_VEG:
        default: /* NDVI ~0.58 (vig 0) .. ~0.84 (vig 1) */
            out[0] = 420 - 60 * vig + 30 * lf; out[1] = 700 + 60 * lf;
            out[2] = 700 - 380 * vig + 40 * lf; out[3] = 2500 + 900 * vig + 150 * lf;
            out[4] = 1700 - 300 * vig + 60 * lf; out[5] = 800 - 250 * vig + 40 * lf;
            break;
        }
    }
    *cov_out = cov;
    *chg_out = chg;
}

/* The pixel as an optical sensor sees it: the scene weighted by a Gaussian point-spread
 * function (sigma 0.5 px, cut at +-1 px), sampled on (2 ss)^2 points, displaced by
 * (dx, dy). Point sampling alone gives stair-cased edges that move in whole pixels. */
static void footprint(long col, long row, double dx, double dy, int size, int ss, int after,
                      double out[NBANDS])
{
    double acc[NBANDS] = {0}, s[NBANDS], wsum = 0.0;
    enum cover cov;
    enum change chg;
    for (int a = 0; a < 2 * ss; a++)
        for (int b = 0; b < 2 * ss; b++) {
            const double oy = (a + 0.5) / ss - 1.0, ox = (b + 0.5) / ss - 1.0;
            const double w = exp(-(ox * ox + oy * oy) / (2.0 * 0.5 * 0.5));
            spectrum((col + 0.5 + ox - dx) / size, (row + 0.5 + oy - dy) / size, after, &cov,
                     &chg, s);
            for (int k = 0; k < NBANDS; k++)
                acc[k] += w * s[k];
            wsum += w;
        }
    for (int k = 0; k < NBANDS; k++)
        out[k] = acc[k] / wsum;
}

/* ---- output ---- */

struct outfile {
    const char *name;
    char *final_path;
    char *tmp_path;
    GDALDatasetH ds;
};

static int open_out(struct outfile *f, const char *dir, int size, int nbands, GDALDataType dt,
                    const char *date)
{
    static const char *const band_names[NBANDS] = {"B02", "B03", "B04", "B08", "B11", "B12"};
    const char *const opts[] = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE",
                    "PREDICTOR=2", NULL};
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    double gt[6] = {ORIGIN_X, PIXEL_M, 0.0, ORIGIN_Y, 0.0, -PIXEL_M};
    OGRSpatialReferenceH srs = NULL;
    const size_t n = strlen(dir) + strlen(f->name) + 40;

    f->final_path = malloc(n);
    f->tmp_path = malloc(n);
    if (!f->final_path || !f->tmp_path || !drv)
        return -1;
    snprintf(f->final_path, n, "%s/%s", dir, f->name);
    snprintf(f->tmp_path, n, "%s/%s.tmp-%ld", dir, f->name, (long)getpid());
    f->ds = GDALCreate(drv, f->tmp_path, size, size, nbands, dt, (CSLConstList)opts);
    if (!f->ds)
        return -1;
    GDALSetGeoTransform(f->ds, gt);
    srs = OSRNewSpatialReference(NULL);
    if (!srs || OSRImportFromEPSG(srs, EPSG_CODE) != OGRERR_NONE ||
        GDALSetSpatialRef(f->ds, srs) != CE_None) {
        OSRDestroySpatialReference(srs);
        return -1;
    }
    OSRDestroySpatialReference(srs);
    if (date) {
        GDALSetMetadataItem(f->ds, "ACQUISITION_DATE", date, NULL);
        GDALSetMetadataItem(f->ds, "SENSOR", "synthetic Sentinel-2 L1C-like", NULL);
        GDALSetMetadataItem(f->ds, "REFLECTANCE_SCALE", "10000", NULL);
        for (int b = 0; b < nbands; b++)
            GDALSetDescription(GDALGetRasterBand(f->ds, b + 1), band_names[b]);
    } else {
        GDALSetMetadataItem(f->ds, "CLASSES", "0=no change,1=burned,2=flooded,3=built-up", NULL);
        GDALSetDescription(GDALGetRasterBand(f->ds, 1), "change");
    }
    return 0;
}

static int close_out(struct outfile *f, int ok)
{
    if (f->ds) {
        CPLErrorReset();
        GDALClose(f->ds); /* GTiff flushes here; a failed flush raises a CPL error */
        f->ds = NULL;
        if (CPLGetLastErrorType() == CE_Failure || CPLGetLastErrorType() == CE_Fatal)
            ok = 0;
    }
    if (ok && VSIRename(f->tmp_path, f->final_path) != 0) {
        fprintf(stderr, "gd_make_samples: cannot rename %s to %s: %s\n", f->tmp_path,
                f->final_path, strerror(errno));
        ok = 0;
    }
    if (!ok && f->tmp_path)
        VSIUnlink(f->tmp_path);
    free(f->final_path);
    free(f->tmp_path);
    f->final_path = f->tmp_path = NULL;
    return ok;
}

static uint16_t to_dn(double refl, int date, int band, long row, long col)
{
    const double gain = date ? AFTER_GAIN : 1.0;
    double dn = refl * gain * (1.0 + NOISE_SIGMA * gauss(pixel_key(date, band, row, col)));
    dn = floor(dn + 0.5);
    return (uint16_t)(dn < 1.0 ? 1.0 : dn > 65535.0 ? 65535.0 : dn);
}

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "gd_make_samples: %s\n", msg);
    fprintf(stderr, "usage: gd_make_samples OUTDIR [--size N] [--shift DX,DY] [--supersample K]\n"
                    "                       [--swir]\n"
                    "  writes OUTDIR/before.tif, after.tif (4 bands UInt16, B02 B03 B04 B08)\n"
                    "  and truth.tif (0 none, 1 burned, 2 flooded, 3 built-up); the after\n"
                    "  image content is displaced by (DX,DY) pixels (east, south); --supersample K\n"
                    "  blurs the scene by a sensor-like PSF (Gaussian, sigma 0.5 px) sampled on\n"
                    "  (2K)^2 points per pixel (default 1: point sampling, whose stair-cased\n"
                    "  edges move in whole pixels and bias sub-pixel co-registration); --swir adds\n"
                    "  B11 and B12 (6 bands; nbr and flood need them; the 4 bands are unchanged)\n");
    return 1;
}

static int parse_args(int argc, char **argv, const char **dir, int *size, double *dx, double *dy,
                      int *ss, int *nb)
{
    *dir = NULL;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--size")) {
            long n;
            if (++i >= argc)
                return usage("--size needs a value");
            errno = 0;
            n = strtol(argv[i], &end, 10);
            if (errno || *end || end == argv[i] || n < 16 || n > 65536)
                return usage("--size must be an integer in [16, 65536]");
            *size = (int)n;
        } else if (!strcmp(argv[i], "--supersample")) {
            long k;
            if (++i >= argc)
                return usage("--supersample needs a value");
            errno = 0;
            k = strtol(argv[i], &end, 10);
            if (errno || *end || end == argv[i] || k < 1 || k > 8)
                return usage("--supersample must be an integer in [1, 8]");
            *ss = (int)k;
        } else if (!strcmp(argv[i], "--shift")) {
            if (++i >= argc)
                return usage("--shift needs DX,DY");
            errno = 0;
            *dx = strtod(argv[i], &end);
            if (errno || end == argv[i] || *end != ',')
                return usage("--shift must be DX,DY (pixels)");
            const char *s = end + 1;
            *dy = strtod(s, &end);
            if (errno || end == s || *end || !isfinite(*dx) || !isfinite(*dy))
                return usage("--shift must be DX,DY (pixels)");
        } else if (!strcmp(argv[i], "--swir")) {
            *nb = 6;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(NULL);
            exit(0);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "gd_make_samples: unknown option %s\n", argv[i]);
            return usage(NULL);
        } else if (*dir) {
            return usage("only one OUTDIR");
        } else {
            *dir = argv[i];
        }
    }
    if (!*dir)
        return usage("OUTDIR is required");
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int size = 1024, rc = 0, ss = 1;
    double dx = 0.0, dy = 0.0;
    struct outfile out[3] = {{.name = "before.tif"}, {.name = "after.tif"}, {.name = "truth.tif"}};
    long n_truth[T_NCLASS] = {0}, n_after[T_NCLASS] = {0}, n_cover[C_NCOVER] = {0};
    uint16_t *img[2] = {NULL, NULL};
    uint8_t *truth = NULL;
    int band_map[NBANDS] = {1, 2, 3, 4, 5, 6};
    int nb = 4; /* --swir: 6 */

    if (parse_args(argc, argv, &dir, &size, &dx, &dy, &ss, &nb))
        return 1;
    if (VSIMkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gd_make_samples: cannot create %s: %s\n", dir, strerror(errno));
        return 2;
    }
    GDALAllRegister();
    CPLSetConfigOption("GDAL_NUM_THREADS", "1"); /* deterministic bytes */

    const size_t strip = (size_t)size * STRIP_ROWS;
    img[0] = malloc(strip * NBANDS * sizeof *img[0]);
    img[1] = malloc(strip * NBANDS * sizeof *img[1]);
    truth = malloc(strip);
    if (!img[0] || !img[1] || !truth) {
        fprintf(stderr, "gd_make_samples: out of memory\n");
        rc = 2;
        goto done;
    }
    if (open_out(&out[0], dir, size, nb, GDT_UInt16, "2024-06-01") ||
        open_out(&out[1], dir, size, nb, GDT_UInt16, "2024-07-15") ||
        open_out(&out[2], dir, size, 1, GDT_Byte, NULL)) {
        fprintf(stderr, "gd_make_samples: cannot create output in %s: %s\n", dir,
                CPLGetLastErrorMsg());
        rc = 2;
        goto done;
    }

    for (int r0 = 0; r0 < size; r0 += STRIP_ROWS) {
        const int nr = size - r0 < STRIP_ROWS ? size - r0 : STRIP_ROWS;
        for (int r = 0; r < nr; r++) {
            const long row = r0 + r;
            for (long col = 0; col < size; col++) {
                const size_t i = (size_t)r * (size_t)size + (size_t)col;
                const size_t plane = (size_t)nr * (size_t)size;
                const double u = (col + 0.5) / size, v = (row + 0.5) / size;
                double s[NBANDS];
                enum cover cov;
                enum change chg;

                spectrum(u, v, 0, &cov, &chg, s);
                n_cover[cov]++;
                if (ss > 1)
                    footprint(col, row, 0.0, 0.0, size, ss, 0, s);
                for (int b = 0; b < nb; b++)
                    img[0][b * plane + i] = to_dn(s[b], 0, b, row, col);
                /* the after content is displaced by (dx, dy): sample the scene there */
                spectrum((col + 0.5 - dx) / size, (row + 0.5 - dy) / size, 1, &cov, &chg, s);
                n_after[chg]++;
                if (ss > 1)
                    footprint(col, row, dx, dy, size, ss, 1, s);
                for (int b = 0; b < nb; b++)
                    img[1][b * plane + i] = to_dn(s[b], 1, b, row, col);
                /* truth lives on the before grid: what coreg + detect should find */
                {
                    double vig;
                    chg = change_at(u, v, cover_at(u, v, &vig));
                }
                truth[i] = (uint8_t)chg;
                n_truth[chg]++;
            }
        }
        for (int k = 0; k < 2; k++)
            if (GDALDatasetRasterIO(out[k].ds, GF_Write, 0, r0, size, nr, img[k], size, nr,
                                    GDT_UInt16, nb, band_map, 0, 0, 0) != CE_None)
                rc = 2;
        if (GDALDatasetRasterIO(out[2].ds, GF_Write, 0, r0, size, nr, truth, size, nr, GDT_Byte,
                                1, band_map, 0, 0, 0) != CE_None)
            rc = 2;
        if (rc) {
            fprintf(stderr, "gd_make_samples: write failed: %s\n", CPLGetLastErrorMsg());
            goto done;
        }
    }

done:
    for (int k = 0; k < 3; k++)
        if (out[k].tmp_path && !close_out(&out[k], rc == 0))
            rc = 2;
    if (rc == 0) {
        const double np = (double)size * size;
        printf("%s/before.tif: %dx%d, %dxUInt16, 2024-06-01; cover vegetation=%ld soil=%ld "
               "urban=%ld water=%ld\n",
               dir, size, size, nb, n_cover[C_VEG], n_cover[C_SOIL], n_cover[C_URBAN],
               n_cover[C_WATER]);
        printf("%s/after.tif: %dx%d, %dxUInt16, 2024-07-15, gain %.2f, shift %g,%g; changed "
               "burned=%ld flooded=%ld built-up=%ld\n",
               dir, size, size, nb, AFTER_GAIN, dx, dy, n_after[T_BURNED], n_after[T_FLOODED],
               n_after[T_BUILT]);
        printf("%s/truth.tif: %dx%d, UInt8; changed burned=%ld (%.1f%%) flooded=%ld (%.1f%%) "
               "built-up=%ld (%.1f%%) none=%ld\n",
               dir, size, size, n_truth[T_BURNED], 100.0 * n_truth[T_BURNED] / np,
               n_truth[T_FLOODED], 100.0 * n_truth[T_FLOODED] / np, n_truth[T_BUILT],
               100.0 * n_truth[T_BUILT] / np, n_truth[T_NONE]);
    }
    free(img[0]);
    free(img[1]);
    free(truth);
    GDALDestroyDriverManager();
    return rc;
}
