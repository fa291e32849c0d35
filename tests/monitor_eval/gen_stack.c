/* gen_stack.c: synthetic monitoring stacks with known changes (optical NDVI and red/NIR,
 * SAR gamma speckle) for the accuracy of `geodelta monitor` against pairwise detection. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the scene (all numbers are the documented design of docs/monitor-accuracy.md) ---- */
#define PIX 10.0           /* metres, UTM 20S like the Bolivia stack */
#define OPT_FIRST 17900    /* 2019-01-04 as days since 1970-01-01 */
#define OPT_STEP 8         /* Landsat 8 + 9 revisit */
#define OPT_N 91           /* to 2020-12-28 */
#define SAR_FIRST 17898    /* 2019-01-02 */
#define SAR_STEP 12        /* Sentinel-1 one satellite */
#define SAR_N 61           /* to 2020-12-27 */
#define START 18262        /* 2020-01-01: monitoring starts, 2019 is the baseline */
#define NCHANGE 12         /* forest patches cleared in the monitored year */
#define NFIELD 6           /* crop fields */

enum { FOREST = 0, CROP = 1 };

typedef struct rect {
    int x0, y0, x1, y1;
} rect;

typedef struct change {
    rect r;
    int day; /* first day of the new state */
} change;

typedef struct scene {
    int w, h;
    double looks;
    uint8_t *cover;  /* FOREST / CROP */
    int *field;      /* crop field index, -1 */
    int32_t *truth;  /* YYYYMMDD of the change start, 0 stable */
    int *change_day; /* days, or INT32_MAX */
    uint8_t *nuis;   /* 1 flooded field (SAR), 2 haze (optical), 3 early harvest, 4 wet forest */
    change ch[NCHANGE + 1];
    rect fields[NFIELD];
    int flood_field, early_field;
    int flood_day, haze_day, wet_day, early_days;
    rect haze, wet;
} scene;

/* ---- random numbers: splitmix64 (same stream on every libc) ---- */
static uint64_t rng_state;
static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double unif(void) { return ((double)(rnd64() >> 11) + 0.5) / 9007199254740992.0; }
static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(2.0 * M_PI * unif());
}
/* Marsaglia & Tsang (2000) gamma(shape a >= 1, scale 1) */
static double gamma_unit(double a)
{
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = gauss(), v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = unif();
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v;
    }
}

/* ---- dates ---- */
static void civil(int days, int *y, int *m, int *d)
{
    /* days since 1970-01-01 to the proleptic Gregorian date (H. Hinnant's algorithm) */
    int z = days + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}
static int32_t yyyymmdd(int days)
{
    int y, m, d;
    civil(days, &y, &m, &d);
    return y * 10000 + m * 100 + d;
}
static double year_frac(int days) { return fmod((days - 10957) / 365.25, 1.0); } /* 2000-01-01 */

/* ---- signals ---- */
static double bell(double doy_frac, double peak, double width)
{
    double d = doy_frac - peak;
    d -= round(d); /* circular distance in years */
    return exp(-0.5 * (d / width) * (d / width));
}

/* NDVI of a pixel without noise */
static double ndvi_clean(const scene *s, int i, int day)
{
    double f = year_frac(day);
    double v;
    if (s->cover[i] == FOREST) {
        /* dry-season dip (austral winter) of a dry tropical forest */
        v = 0.80 - 0.08 * bell(f, 0.62, 0.08);
    } else {
        /* crop: green-up from mid-April (0.30 of the year) to a peak, harvest at 0.72 (late
         * September; 45 days earlier on the early field in the monitored year) */
        double harvest = 0.72;
        if (s->field[i] == s->early_field && day >= START)
            harvest -= s->early_days / 365.25;
        v = (f > harvest || f < 0.30) ? 0.22 : 0.25 + 0.55 * bell(f, 0.62, 0.09);
    }
    if (day >= s->change_day[i]) {
        double yrs = (day - s->change_day[i]) / 365.25;
        v = 0.22 + 0.15 * yrs; /* bare soil, slow regrowth */
    }
    return v;
}

/* VV backscatter in dB without speckle */
static double vv_clean(const scene *s, int i, int day)
{
    double f = year_frac(day);
    double db;
    if (s->cover[i] == FOREST)
        db = -7.5 - 0.4 * bell(f, 0.62, 0.08);
    else
        db = -13.0 + 3.5 * bell(f, 0.62, 0.09);
    if (day >= s->change_day[i])
        db = -11.5 + 0.5 * sin(2.0 * M_PI * f); /* cleared: soil, moisture swings */
    return db;
}

static int in_rect(const rect *r, int x, int y)
{
    return x >= r->x0 && x < r->x1 && y >= r->y0 && y < r->y1;
}

static rect rand_rect(int w, int h, int minside, int maxside)
{
    int sw = minside + (int)(unif() * (maxside - minside + 1));
    int sh = minside + (int)(unif() * (maxside - minside + 1));
    rect r;
    r.x0 = (int)(unif() * (w - sw));
    r.y0 = (int)(unif() * (h - sh));
    r.x1 = r.x0 + sw;
    r.y1 = r.y0 + sh;
    return r;
}

static int overlaps(const rect *a, const rect *b, int gap)
{
    return !(a->x1 + gap <= b->x0 || b->x1 + gap <= a->x0 || a->y1 + gap <= b->y0 ||
             b->y1 + gap <= a->y0);
}

static void build_scene(scene *s)
{
    int n = s->w * s->h;
    s->cover = calloc((size_t)n, 1);
    s->field = malloc((size_t)n * sizeof(int));
    s->truth = calloc((size_t)n, sizeof(int32_t));
    s->change_day = malloc((size_t)n * sizeof(int));
    s->nuis = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) {
        s->field[i] = -1;
        s->change_day[i] = INT32_MAX;
    }
    /* crop fields in the lower third, forest elsewhere */
    for (int f = 0; f < NFIELD; f++) {
        int fw = s->w / NFIELD;
        s->fields[f] = (rect){f * fw + 2, s->h * 2 / 3 + 2, (f + 1) * fw - 2, s->h - 2};
    }
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++)
            for (int f = 0; f < NFIELD; f++)
                if (in_rect(&s->fields[f], x, y)) {
                    s->cover[y * s->w + x] = CROP;
                    s->field[y * s->w + x] = f;
                }
    /* clearings: forest rectangles not touching each other or the fields; the first one
     * in the baseline year (its pixels are neither stable nor monitored change) */
    rect forest = {0, 0, s->w, s->h * 2 / 3 - 4};
    for (int c = 0; c <= NCHANGE; c++) {
        rect r;
        int ok, tries = 0;
        do {
            if (++tries > 100000) {
                fprintf(stderr, "gen_stack: no room for %d clearings at this --size\n", NCHANGE + 1);
                exit(1);
            }
            r = rand_rect(forest.x1, forest.y1, 6, 22);
            ok = 1;
            for (int k = 0; k < c; k++)
                ok &= !overlaps(&r, &s->ch[k].r, 4);
        } while (!ok);
        s->ch[c].r = r;
        /* monitored ones between 2020-02-01 and 2020-10-31, spread evenly with jitter */
        s->ch[c].day = c == 0 ? START - 150
                              : START + 31 + (int)((c - 1 + unif()) * (304 - 31) / NCHANGE);
        for (int y = r.y0; y < r.y1; y++)
            for (int x = r.x0; x < r.x1; x++) {
                s->change_day[y * s->w + x] = s->ch[c].day;
                s->truth[y * s->w + x] = yyyymmdd(s->ch[c].day);
            }
    }
    /* nuisance passes in the monitored year */
    s->flood_field = 1;
    s->early_field = 4;
    s->early_days = 45;
    s->flood_day = START + 180;
    s->haze_day = START + 120;
    s->wet_day = START + 220;
    s->haze = (rect){s->w / 8, s->h / 8, s->w / 8 + s->w / 4, s->h / 8 + s->h / 5};
    s->wet = (rect){s->w / 2, s->h / 4, s->w / 2 + s->w / 5, s->h / 4 + s->h / 4};
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) {
            int i = y * s->w + x;
            if (s->field[i] == s->flood_field)
                s->nuis[i] = 1;
            else if (s->field[i] == s->early_field)
                s->nuis[i] = 3;
            else if (in_rect(&s->haze, x, y))
                s->nuis[i] = 2;
            else if (in_rect(&s->wet, x, y))
                s->nuis[i] = 4;
        }
}

/* ---- output ---- */
static GDALDatasetH create(const char *path, int w, int h, int bands, GDALDataType t)
{
    char **opt = NULL;
    opt = CSLSetNameValue(opt, "COMPRESS", "DEFLATE");
    opt = CSLSetNameValue(opt, "TILED", "YES");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, bands, t, opt);
    CSLDestroy(opt);
    if (!ds) {
        fprintf(stderr, "gen_stack: cannot create %s\n", path);
        exit(4);
    }
    double gt[6] = {594555.0, PIX, 0.0, 8003065.0, 0.0, -PIX};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 32720);
    char *wkt = NULL;
    OSRExportToWkt(srs, &wkt);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
    return ds;
}

static void write_band(GDALDatasetH ds, int b, const void *buf, GDALDataType t, int w, int h,
                       const char *desc, int has_nodata, double nodata)
{
    GDALRasterBandH band = GDALGetRasterBand(ds, b);
    if (desc)
        GDALSetDescription(band, desc);
    if (has_nodata)
        GDALSetRasterNoDataValue(band, nodata);
    if (GDALRasterIO(band, GF_Write, 0, 0, w, h, (void *)buf, w, h, t, 0, 0) != CE_None) {
        fprintf(stderr, "gen_stack: write failed\n");
        exit(4);
    }
}

static void datestr(int day, char *out)
{
    int y, m, d;
    civil(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* clouds of one optical date: discs until the drawn cover fraction is reached */
static void clouds(uint8_t *mask, int w, int h, double frac)
{
    memset(mask, 0, (size_t)w * h);
    long want = (long)(frac * w * h), have = 0;
    while (have < want) {
        double cx = unif() * w, cy = unif() * h, r = 8.0 + unif() * (w / 5.0);
        for (int y = (int)fmax(0, cy - r); y < (int)fmin(h, cy + r + 1); y++)
            for (int x = (int)fmax(0, cx - r); x < (int)fmin(w, cx + r + 1); x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r && !mask[y * w + x]) {
                    mask[y * w + x] = 1;
                    have++;
                }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_stack OUTDIR [--size N] [--seed S] [--looks L]\n"
                        "Writes OUTDIR/{ndvi,rn,sar}/YYYY-MM-DD.tif, ndvi.list, rn.list,\n"
                        "sar.list, truth.tif (Int32 YYYYMMDD of the change start, 0 stable),\n"
                        "nuisance.tif and scene.txt.\n");
        return 1;
    }
    const char *out = argv[1];
    scene s = {.w = 256, .h = 256, .looks = 4.4};
    rng_state = 20200101;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--size"))
            s.w = s.h = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            rng_state = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--looks"))
            s.looks = atof(argv[i + 1]);
    }
    if (s.w < 128 || s.looks < 1.0) {
        fprintf(stderr, "gen_stack: --size >= 128, --looks >= 1\n");
        return 1;
    }
    GDALAllRegister();
    char path[4096];
    mkdir(out, 0755);
    const char *sub[] = {"ndvi", "rn", "sar"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", out, sub[k]);
        mkdir(path, 0755);
    }
    build_scene(&s);
    int w = s.w, h = s.h, n = w * h;
    float *a = malloc((size_t)n * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
    uint8_t *cm = malloc((size_t)n);
    char ds_[16];
    snprintf(path, sizeof path, "%s/ndvi.list", out);
    FILE *lndvi = fopen(path, "w");
    snprintf(path, sizeof path, "%s/rn.list", out);
    FILE *lrn = fopen(path, "w");
    snprintf(path, sizeof path, "%s/sar.list", out);
    FILE *lsar = fopen(path, "w");
    if (!lndvi || !lrn || !lsar) {
        fprintf(stderr, "gen_stack: cannot write the lists in %s\n", out);
        return 4;
    }
    const float NODATA = -9999.0f;
    for (int t = 0; t < OPT_N; t++) {
        int day = OPT_FIRST + t * OPT_STEP;
        /* cloud cover: a third of the dates clear, one in ten fully cloudy; the first and
         * the last date clear, so that pairwise first-vs-last detection sees everything */
        double u = unif(), frac = u < 0.33 ? 0.0 : (u < 0.90 ? 0.05 + 0.6 * unif() : 1.0);
        if (t == 0 || t == OPT_N - 1)
            frac = 0.0;
        clouds(cm, w, h, frac);
        double offset = 0.015 * gauss(); /* per-date atmosphere / calibration */
        for (int i = 0; i < n; i++) {
            int x = i % w, y = i / w;
            double v = ndvi_clean(&s, i, day) + offset + 0.03 * gauss();
            if (day == s.haze_day && in_rect(&s.haze, x, y))
                v -= 0.30; /* thin haze / shadow the cloud mask missed */
            v = fmin(fmax(v, -0.2), 0.95);
            if (cm[i]) {
                a[i] = b[i] = NODATA;
                continue;
            }
            /* red and NIR with exactly this NDVI */
            double nir = 0.20 + 0.15 * v, red = nir * (1.0 - v) / (1.0 + v);
            a[i] = (float)red;
            b[i] = (float)nir;
        }
        datestr(day, ds_);
        snprintf(path, sizeof path, "%s/rn/%s.tif", out, ds_);
        GDALDatasetH ds = create(path, w, h, 2, GDT_Float32);
        write_band(ds, 1, a, GDT_Float32, w, h, "B04", 1, NODATA);
        write_band(ds, 2, b, GDT_Float32, w, h, "B08", 1, NODATA);
        GDALClose(ds);
        fprintf(lrn, "%s rn/%s.tif\n", ds_, ds_);
        for (int i = 0; i < n; i++)
            a[i] = a[i] == NODATA ? NODATA : (b[i] - a[i]) / (b[i] + a[i]);
        snprintf(path, sizeof path, "%s/ndvi/%s.tif", out, ds_);
        ds = create(path, w, h, 1, GDT_Float32);
        write_band(ds, 1, a, GDT_Float32, w, h, "NDVI", 1, NODATA);
        GDALClose(ds);
        fprintf(lndvi, "%s ndvi/%s.tif\n", ds_, ds_);
    }
    for (int t = 0; t < SAR_N; t++) {
        int day = SAR_FIRST + t * SAR_STEP;
        double offset = 0.2 * gauss(); /* calibration / incidence jitter, dB */
        for (int i = 0; i < n; i++) {
            int x = i % w, y = i / w;
            double db = vv_clean(&s, i, day) + offset;
            if (day == s.flood_day && s.nuis[i] == 1)
                db = -19.0; /* flooded field: specular */
            if (day == s.wet_day && in_rect(&s.wet, x, y))
                db -= 2.5; /* wet / frozen canopy pass */
            /* per-pixel texture (0.5 dB) times gamma speckle of L looks */
            double mu = pow(10.0, (db + 0.5 * gauss()) / 10.0);
            a[i] = (float)(mu * gamma_unit(s.looks) / s.looks);
        }
        datestr(day, ds_);
        snprintf(path, sizeof path, "%s/sar/%s.tif", out, ds_);
        GDALDatasetH ds = create(path, w, h, 1, GDT_Float32);
        write_band(ds, 1, a, GDT_Float32, w, h, "VV", 0, 0);
        GDALClose(ds);
        fprintf(lsar, "%s sar/%s.tif\n", ds_, ds_);
    }
    fclose(lndvi);
    fclose(lrn);
    fclose(lsar);
    snprintf(path, sizeof path, "%s/truth.tif", out);
    GDALDatasetH ds = create(path, w, h, 1, GDT_Int32);
    write_band(ds, 1, s.truth, GDT_Int32, w, h, "change start YYYYMMDD", 0, 0);
    GDALClose(ds);
    snprintf(path, sizeof path, "%s/nuisance.tif", out);
    ds = create(path, w, h, 1, GDT_Byte);
    write_band(ds, 1, s.nuis, GDT_Byte, w, h,
               "1 flooded field (SAR), 2 haze (optical), 3 early harvest, 4 wet forest (SAR)", 0,
               0);
    GDALClose(ds);
    snprintf(path, sizeof path, "%s/scene.txt", out);
    FILE *f = fopen(path, "w");
    if (!f)
        return 4;
    fprintf(f, "size %d %d pixel %.0f m looks %.2f start %d\n", w, h, PIX, s.looks,
            yyyymmdd(START));
    for (int c = 0; c <= NCHANGE; c++)
        fprintf(f, "change %d rect %d %d %d %d date %d\n", c, s.ch[c].r.x0, s.ch[c].r.y0,
                s.ch[c].r.x1, s.ch[c].r.y1, yyyymmdd(s.ch[c].day));
    fprintf(f, "nuisance flood %d haze %d wet %d early_harvest_days %d\n", yyyymmdd(s.flood_day),
            yyyymmdd(s.haze_day), yyyymmdd(s.wet_day), s.early_days);
    fclose(f);
    free(a);
    free(b);
    free(cm);
    free(s.cover);
    free(s.field);
    free(s.truth);
    free(s.change_day);
    free(s.nuis);
    return 0;
}
