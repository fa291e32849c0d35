/* gen_stack.c: synthetic monitoring stacks with known changes (optical NDVI and red/NIR,
 * SAR gamma speckle), for the accuracy of `geodelta monitor` against pairwise detection
 * (tests/monitor_eval, the default scene) and for the end-to-end tests of the monitor
 * (tests/e2e/monitor.sh: a small scene set by options, with the SAR stack on another
 * CRS; --dual adds VH and a two-band VV+VH stack), and the check of an alert_date.tif
 * against the stack's truth (`check`). */
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
/* the defaults; options change them (main) */
#define PIX 10.0           /* metres, UTM 20S like the Bolivia stack */
#define OPT_FIRST 17900    /* 2019-01-04 as days since 1970-01-01 */
#define OPT_STEP 8         /* Landsat 8 + 9 revisit */
#define OPT_N 91           /* to 2020-12-28 */
#define SAR_FIRST 17898    /* 2019-01-02 */
#define SAR_STEP 12        /* Sentinel-1 one satellite */
#define SAR_N 61           /* to 2020-12-27 */
#define START_DAY 18262    /* 2020-01-01: monitoring starts, 2019 is the baseline */
#define NCHANGE 12         /* forest patches cleared in the monitored year */
#define NFIELD 6           /* crop fields */
#define START (s->start)

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
    change ch[NCHANGE + 2];
    rect fields[NFIELD];
    int flood_field, early_field;
    int flood_day, haze_day, wet_day, early_days;
    rect haze, wet;
    /* the scene's settings (defaults: the #defines above) */
    int nchange, nfield, nuisance, start;
    int opt_first, opt_step, opt_n, sar_first, sar_step, sar_n;
    double pix, ox, oy, season, cleared_ndvi, cleared_db, noise, cloud_max;
    int epsg, sar_epsg, sar_db;
    int dual;                     /* --dual: VH too (sar_vh/, sar2/ with VV and VH) */
    double vh_db, cleared_vh_db;  /* forest and cleared VH, dB */
    double sar_pix;
    int has_patch;
    change patch;
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
/* VH's own stream (--dual): the other stacks' draws stay those of a run without it */
static uint64_t rng_vh = 0x5648564856485648ull;
static void swap_stream(void)
{
    uint64_t t = rng_state;
    rng_state = rng_vh;
    rng_vh = t;
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
        v = 0.80 - 0.08 * s->season * bell(f, 0.62, 0.08);
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
        v = s->cleared_ndvi + 0.15 * yrs; /* bare soil, slow regrowth */
    }
    return v;
}

/* VV backscatter in dB without speckle */
static double vv_clean(const scene *s, int i, int day)
{
    double f = year_frac(day);
    double db;
    if (s->cover[i] == FOREST)
        db = -7.5 - 0.4 * s->season * bell(f, 0.62, 0.08);
    else
        db = -13.0 + 3.5 * bell(f, 0.62, 0.09);
    if (day >= s->change_day[i])
        db = s->cleared_db + 0.5 * sin(2.0 * M_PI * f); /* cleared: soil, moisture swings */
    return db;
}

/* VH backscatter in dB without speckle (--dual): below VV, with a stronger crop cycle;
 * a clearing drops it to --cleared-vh-db */
static double vh_clean(const scene *s, int i, int day)
{
    double f = year_frac(day);
    double db;
    if (s->cover[i] == FOREST)
        db = s->vh_db - 0.6 * s->season * bell(f, 0.62, 0.08);
    else
        db = s->vh_db - 6.0 + 5.0 * bell(f, 0.62, 0.09);
    if (day >= s->change_day[i])
        db = s->cleared_vh_db + 0.5 * sin(2.0 * M_PI * f);
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
    for (int f = 0; f < s->nfield; f++) {
        int fw = s->w / s->nfield;
        s->fields[f] = (rect){f * fw + 2, s->h * 2 / 3 + 2, (f + 1) * fw - 2, s->h - 2};
    }
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++)
            for (int f = 0; f < s->nfield; f++)
                if (in_rect(&s->fields[f], x, y)) {
                    s->cover[y * s->w + x] = CROP;
                    s->field[y * s->w + x] = f;
                }
    /* clearings: forest rectangles not touching each other or the fields; the first one
     * in the baseline year (its pixels are neither stable nor monitored change) */
    rect forest = {0, 0, s->w, s->nfield ? s->h * 2 / 3 - 4 : s->h};
    for (int c = 0; s->nchange > 0 && c <= s->nchange; c++) {
        rect r;
        int ok, tries = 0;
        do {
            if (++tries > 100000) {
                fprintf(stderr, "gen_stack: no room for %d clearings at this --size\n", s->nchange + 1);
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
                              : START + 31 + (int)((c - 1 + unif()) * (304 - 31) / s->nchange);
        for (int y = r.y0; y < r.y1; y++)
            for (int x = r.x0; x < r.x1; x++) {
                s->change_day[y * s->w + x] = s->ch[c].day;
                s->truth[y * s->w + x] = yyyymmdd(s->ch[c].day);
            }
    }
    /* --patch: one more change, at a given place and date */
    if (s->has_patch) {
        int c = s->nchange > 0 ? s->nchange + 1 : 0;
        s->ch[c] = s->patch;
        for (int y = s->patch.r.y0; y < s->patch.r.y1; y++)
            for (int x = s->patch.r.x0; x < s->patch.r.x1; x++) {
                s->change_day[y * s->w + x] = s->patch.day;
                s->truth[y * s->w + x] = yyyymmdd(s->patch.day);
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
    if (!s->nuisance) { /* --nuisance 0: none of them */
        s->flood_field = s->early_field = -2;
        s->flood_day = s->haze_day = s->wet_day = INT32_MIN;
        s->haze = s->wet = (rect){0, 0, 0, 0};
    }
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
/* the grid of a file: origin, pixel size, EPSG code */
typedef struct grid {
    int w, h, epsg;
    double ox, oy, pix;
} grid;

static GDALDatasetH create(const char *path, const grid *g, int bands, GDALDataType t)
{
    char **opt = NULL;
    opt = CSLSetNameValue(opt, "COMPRESS", "DEFLATE");
    /* tiles of 256: a smaller image would be one padded tile, decoded whole for any row */
    if (g->w >= 256 && g->h >= 256)
        opt = CSLSetNameValue(opt, "TILED", "YES");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, g->w, g->h, bands, t, opt);
    CSLDestroy(opt);
    if (!ds) {
        fprintf(stderr, "gen_stack: cannot create %s\n", path);
        exit(4);
    }
    double gt[6] = {g->ox, g->pix, 0.0, g->oy, 0.0, -g->pix};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, g->epsg);
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
    /* the callers' buffers hold 32: room for any int year as far as the compiler knows */
    snprintf(out, 32, "%04d-%02d-%02d", y, m, d);
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

/* "YYYY-MM-DD" -> days since 1970-01-01 (inverse of civil), -1 when malformed */
static int parse_day(const char *t)
{
    int y, m, d;
    if (sscanf(t, "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int)doe - 719468;
}

/* FIRST,STEP,N of a series of dates */
static int parse_series(const char *t, int *first, int *step, int *n)
{
    char d[32];
    if (sscanf(t, "%31[^,],%d,%d", d, step, n) != 3 || (*first = parse_day(d)) < 0 || *step < 1 ||
        *n < 2)
        return -1;
    return 0;
}

/* The SAR grid of --sar-srs: the main grid's corners in that CRS, widened by 4 pixels; map[]
 * gives for each SAR pixel the main-grid pixel under its centre (-1 outside). */
static int sar_grid(const scene *s, const grid *g, grid *sg, int **map)
{
    OGRSpatialReferenceH u = OSRNewSpatialReference(NULL), m = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(u, g->epsg);
    OSRImportFromEPSG(m, s->sar_epsg);
    OSRSetAxisMappingStrategy(u, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(m, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH to_m = OCTNewCoordinateTransformation(u, m);
    OGRCoordinateTransformationH to_u = OCTNewCoordinateTransformation(m, u);
    double xs[4] = {g->ox, g->ox + g->w * g->pix, g->ox, g->ox + g->w * g->pix};
    double ys[4] = {g->oy, g->oy, g->oy - g->h * g->pix, g->oy - g->h * g->pix};
    int ok = to_m && to_u && OCTTransform(to_m, 4, xs, ys, NULL);
    double x0 = fmin(fmin(xs[0], xs[1]), fmin(xs[2], xs[3]));
    double x1 = fmax(fmax(xs[0], xs[1]), fmax(xs[2], xs[3]));
    double y0 = fmin(fmin(ys[0], ys[1]), fmin(ys[2], ys[3]));
    double y1 = fmax(fmax(ys[0], ys[1]), fmax(ys[2], ys[3]));
    sg->pix = s->sar_pix;
    sg->epsg = s->sar_epsg;
    sg->ox = floor(x0 / sg->pix) * sg->pix - 4 * sg->pix;
    sg->oy = ceil(y1 / sg->pix) * sg->pix + 4 * sg->pix;
    sg->w = (int)ceil((x1 - sg->ox) / sg->pix) + 4;
    sg->h = (int)ceil((sg->oy - y0) / sg->pix) + 4;
    *map = malloc((size_t)sg->w * sg->h * sizeof(int));
    for (int r = 0; ok && *map && r < sg->h; r++)
        for (int c = 0; c < sg->w; c++) {
            double px = sg->ox + (c + 0.5) * sg->pix, py = sg->oy - (r + 0.5) * sg->pix;
            ok = OCTTransform(to_u, 1, &px, &py, NULL);
            int gx = (int)floor((px - g->ox) / g->pix), gy = (int)floor((g->oy - py) / g->pix);
            (*map)[r * sg->w + c] = gx >= 0 && gy >= 0 && gx < g->w && gy < g->h ? gy * g->w + gx : -1;
        }
    OCTDestroyCoordinateTransformation(to_m);
    OCTDestroyCoordinateTransformation(to_u);
    OSRDestroySpatialReference(u);
    OSRDestroySpatialReference(m);
    return ok && *map ? 0 : -1;
}

static int32_t *read_int32(const char *path, int *w, int *h)
{
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds)
        return NULL;
    *w = GDALGetRasterXSize(ds);
    *h = GDALGetRasterYSize(ds);
    int32_t *a = malloc((size_t)*w * *h * sizeof *a);
    if (a && GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, *w, *h, a, *w, *h, GDT_Int32,
                          0, 0) != CE_None) {
        free(a);
        a = NULL;
    }
    GDALClose(ds);
    return a;
}

/* check DIR ALERT_DATE.TIF LIST...: on the grid of alert_date.tif (truth.tif's or
 * truth_sar.tif's), each changed pixel must be alerted on its first observation from the
 * change on (the first date of the LISTs, from the change date on, whose image has a value
 * there; an image on another grid counts as observed) for at least 90 % of the changed
 * pixels, and at most 2 % of the stable pixels may hold a confirmed alert. */
static int check(const char *dir, const char *alert, int nlists, char **lists)
{
    char path[4096];
    int w, h, tw, th;
    int32_t *a = read_int32(alert, &w, &h), *truth = NULL;
    snprintf(path, sizeof path, "%s/truth.tif", dir);
    if (a && (truth = read_int32(path, &tw, &th)) && (tw != w || th != h)) {
        free(truth);
        snprintf(path, sizeof path, "%s/truth_sar.tif", dir);
        truth = read_int32(path, &tw, &th);
    }
    if (!a || !truth || tw != w || th != h) {
        fprintf(stderr, "FAIL: %s or the truth of %s missing, or not on one grid\n", alert, dir);
        return 1;
    }
    size_t n = (size_t)w * h;
    int32_t *want = calloc(n, sizeof *want); /* 0: no observation from the change on */
    float *v = malloc(n * sizeof *v);
    for (int l = 0; l < nlists && want && v; l++) {
        FILE *f = fopen(lists[l], "r");
        char line[4096], d[32], rel[4000];
        if (!f) {
            fprintf(stderr, "FAIL: cannot read %s\n", lists[l]);
            return 1;
        }
        const char *slash = strrchr(lists[l], '/');
        int dl = slash ? (int)(slash - lists[l]) : 1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "%31s %3999s", d, rel) == 2 && d[0] != '#') {
                int32_t date = (int32_t)atoi(d) * 10000 + atoi(d + 5) * 100 + atoi(d + 8);
                snprintf(path, sizeof path, "%.*s/%s", dl, slash ? lists[l] : ".", rel);
                GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
                if (!ds) {
                    fprintf(stderr, "FAIL: cannot open %s\n", path);
                    return 1;
                }
                int same = GDALGetRasterXSize(ds) == w && GDALGetRasterYSize(ds) == h, has = 0;
                GDALRasterBandH b = GDALGetRasterBand(ds, 1);
                double nd = GDALGetRasterNoDataValue(b, &has);
                if (same && GDALRasterIO(b, GF_Read, 0, 0, w, h, v, w, h, GDT_Float32, 0, 0) != CE_None)
                    same = 0;
                for (size_t i = 0; i < n; i++)
                    if (truth[i] > 0 && date >= truth[i] && (!want[i] || date < want[i]) &&
                        (!same || (isfinite(v[i]) && !(has && v[i] == (float)nd))))
                        want[i] = date;
                GDALClose(ds);
            }
        fclose(f);
    }
    long hit = 0, changed = 0, fa = 0, stable = 0, unobs = 0, alerted = 0;
    double delay = 0.0; /* days from the change to the first detection, alerted pixels */
    for (size_t i = 0; i < n; i++) {
        unobs += a[i] == -1;
        if (truth[i] > 0) {
            changed++;
            hit += want[i] && a[i] == want[i];
            if (a[i] > 0) {
                char t0[16], t1[16];
                snprintf(t0, sizeof t0, "%04d-%02d-%02d", (int)(truth[i] / 10000),
                         (int)(truth[i] / 100 % 100), (int)(truth[i] % 100));
                snprintf(t1, sizeof t1, "%04d-%02d-%02d", (int)(a[i] / 10000),
                         (int)(a[i] / 100 % 100), (int)(a[i] % 100));
                delay += parse_day(t1) - parse_day(t0);
                alerted++;
            }
        } else {
            stable++;
            fa += a[i] > 0;
        }
    }
    printf("changed pixels %ld, alerted on their first observation from the change %ld "
           "(%.1f %%); stable pixels %ld, confirmed false alarms %ld; never observed %ld; "
           "changed pixels alerted at all %ld, mean delay %.1f d\n",
           changed, hit, changed ? 100.0 * hit / changed : 0.0, stable, fa, unobs, alerted,
           alerted ? delay / alerted : 0.0);
    free(a);
    free(truth);
    free(want);
    free(v);
    if (!changed || hit < changed * 90 / 100 || fa > stable / 50) {
        fprintf(stderr, "FAIL: detection below 90 %% or false alarms above 2 %%\n");
        return 1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: gen_stack OUTDIR [options]\n"
            "       gen_stack check OUTDIR ALERT_DATE.TIF LIST...\n"
            "Writes OUTDIR/{ndvi,rn,sar}/YYYY-MM-DD.tif, ndvi.list, rn.list, sar.list,\n"
            "truth.tif (Int32 YYYYMMDD of the change start, 0 stable; truth_sar.tif on the\n"
            "SAR grid with --sar-srs), nuisance.tif and scene.txt. Options (defaults: the\n"
            "scene of tests/monitor_eval, docs/monitor-accuracy.md):\n"
            "  --size N | WxH      grid (256)            --pixel M    metres (10)\n"
            "  --srs EPSG          grid CRS (32720)      --origin X,Y upper left (594555,8003065)\n"
            "  --seed S  --looks L (4.4)                 --noise S    optical noise (0.03)\n"
            "  --opt FIRST,STEP,N  optical dates (2019-01-04,8,91)\n"
            "  --sar FIRST,STEP,N  SAR dates (2019-01-02,12,61)\n"
            "  --start DATE        monitoring start (2020-01-01): clearings and nuisances after it\n"
            "  --changes K         random clearings (12; 0: none)\n"
            "  --patch X0,Y0,X1,Y1,DATE   one more change (pixels [X0,X1) x [Y0,Y1))\n"
            "  --fields N          crop fields in the lower third (6)\n"
            "  --nuisance 0|1      flood, haze, early harvest, wet canopy passes (1)\n"
            "  --season A          scale of the forest's seasonal swing (1)\n"
            "  --cleared-ndvi V (0.22)  --cleared-db DB (-11.5)   the cleared land\n"
            "  --cloud-max F       largest cloud cover of a date (1: some dates fully cloudy)\n"
            "  --sar-srs EPSG --sar-pixel M   the SAR stack on its own grid (warped by the monitor)\n"
            "  --sar-db            SAR values in dB (unit type dB), not linear\n"
            "  --dual              VH too: sar_vh/ (VH alone) and sar2/ (bands VV, VH), lists\n"
            "                      sar_vh.list and sar2.list; the other stacks are unchanged\n"
            "  --vh-db DB (-14)  --cleared-vh-db DB (-20)   VH of the forest, of the cleared land\n");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "check")) {
        GDALAllRegister();
        return check(argv[2], argv[3], argc - 4, argv + 4);
    }
    if (argc < 2)
        return usage();
    const char *out = argv[1];
    scene s = {.w = 256, .h = 256, .looks = 4.4, .nchange = NCHANGE, .nfield = NFIELD,
               .nuisance = 1, .start = START_DAY, .opt_first = OPT_FIRST, .opt_step = OPT_STEP,
               .opt_n = OPT_N, .sar_first = SAR_FIRST, .sar_step = SAR_STEP, .sar_n = SAR_N,
               .pix = PIX, .ox = 594555.0, .oy = 8003065.0, .season = 1.0, .cleared_ndvi = 0.22,
               .cleared_db = -11.5, .noise = 0.03, .cloud_max = 1.0, .epsg = 32720,
               .vh_db = -14.0, .cleared_vh_db = -20.0};
    rng_state = 20200101;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, used = 1;
        if (!strcmp(o, "--sar-db")) {
            s.sar_db = 1;
            used = 0;
        } else if (!strcmp(o, "--dual")) {
            s.dual = 1;
            used = 0;
        } else if (!v) {
            bad = 1;
        } else if (!strcmp(o, "--size")) {
            bad = sscanf(v, "%dx%d", &s.w, &s.h) < 1;
            if (!strchr(v, 'x'))
                s.h = s.w;
        } else if (!strcmp(o, "--seed")) {
            rng_state = strtoull(v, NULL, 10);
        } else if (!strcmp(o, "--looks")) {
            s.looks = atof(v);
        } else if (!strcmp(o, "--pixel")) {
            s.pix = atof(v);
        } else if (!strcmp(o, "--srs")) {
            s.epsg = atoi(strncmp(v, "EPSG:", 5) ? v : v + 5);
        } else if (!strcmp(o, "--origin")) {
            bad = sscanf(v, "%lf,%lf", &s.ox, &s.oy) != 2;
        } else if (!strcmp(o, "--noise")) {
            s.noise = atof(v);
        } else if (!strcmp(o, "--opt")) {
            bad = parse_series(v, &s.opt_first, &s.opt_step, &s.opt_n);
        } else if (!strcmp(o, "--sar")) {
            bad = parse_series(v, &s.sar_first, &s.sar_step, &s.sar_n);
        } else if (!strcmp(o, "--start")) {
            bad = (s.start = parse_day(v)) < 0;
        } else if (!strcmp(o, "--changes")) {
            s.nchange = atoi(v);
            bad = s.nchange < 0 || s.nchange > NCHANGE;
        } else if (!strcmp(o, "--patch")) {
            char d[32];
            rect *r = &s.patch.r;
            bad = sscanf(v, "%d,%d,%d,%d,%31s", &r->x0, &r->y0, &r->x1, &r->y1, d) != 5 ||
                  (s.patch.day = parse_day(d)) < 0;
            s.has_patch = 1;
        } else if (!strcmp(o, "--fields")) {
            s.nfield = atoi(v);
            bad = s.nfield < 0 || s.nfield > NFIELD;
        } else if (!strcmp(o, "--nuisance")) {
            s.nuisance = atoi(v);
        } else if (!strcmp(o, "--season")) {
            s.season = atof(v);
        } else if (!strcmp(o, "--cleared-ndvi")) {
            s.cleared_ndvi = atof(v);
        } else if (!strcmp(o, "--cleared-db")) {
            s.cleared_db = atof(v);
        } else if (!strcmp(o, "--vh-db")) {
            s.vh_db = atof(v);
        } else if (!strcmp(o, "--cleared-vh-db")) {
            s.cleared_vh_db = atof(v);
        } else if (!strcmp(o, "--cloud-max")) {
            s.cloud_max = atof(v);
        } else if (!strcmp(o, "--sar-srs")) {
            s.sar_epsg = atoi(strncmp(v, "EPSG:", 5) ? v : v + 5);
        } else if (!strcmp(o, "--sar-pixel")) {
            s.sar_pix = atof(v);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "gen_stack: bad option %s %s\n", o, v ? v : "");
            return usage();
        }
        i += used;
    }
    /* the clearings need room: 128 px for the default dozen */
    if (s.w < (s.nchange ? 128 : 16) || s.h < (s.nchange ? 128 : 16) || s.looks < 1.0 ||
        (s.has_patch && (s.patch.r.x0 < 0 || s.patch.r.y0 < 0 || s.patch.r.x1 > s.w ||
                         s.patch.r.y1 > s.h || s.patch.r.x0 >= s.patch.r.x1 ||
                         s.patch.r.y0 >= s.patch.r.y1)) ||
        (s.sar_epsg && !(s.sar_pix > 0))) {
        fprintf(stderr, "gen_stack: --size >= 128 (16 with --changes 0), --looks >= 1, --patch "
                        "inside the grid, --sar-pixel with --sar-srs\n");
        return 1;
    }
    GDALAllRegister();
    char path[4096];
    mkdir(out, 0755);
    const char *sub[] = {"ndvi", "rn", "sar", "sar_vh", "sar2"};
    for (int k = 0; k < (s.dual ? 5 : 3); k++) {
        snprintf(path, sizeof path, "%s/%s", out, sub[k]);
        mkdir(path, 0755);
    }
    build_scene(&s);
    int w = s.w, h = s.h, n = w * h;
    grid g = {w, h, s.epsg, s.ox, s.oy, s.pix}, sg = g;
    int *smap = NULL; /* SAR pixel -> scene pixel (--sar-srs), else the identity */
    if (s.sar_epsg && sar_grid(&s, &g, &sg, &smap)) {
        fprintf(stderr, "gen_stack: cannot make the SAR grid in EPSG:%d\n", s.sar_epsg);
        return 1;
    }
    int sn = sg.w * sg.h;
    float *a = malloc((size_t)(n > sn ? n : sn) * sizeof(float)), *b = malloc((size_t)n * sizeof(float));
    float *vh = s.dual ? malloc((size_t)sn * sizeof(float)) : NULL;
    uint8_t *cm = malloc((size_t)n);
    char ds_[32];
    snprintf(path, sizeof path, "%s/ndvi.list", out);
    FILE *lndvi = fopen(path, "w");
    snprintf(path, sizeof path, "%s/rn.list", out);
    FILE *lrn = fopen(path, "w");
    snprintf(path, sizeof path, "%s/sar.list", out);
    FILE *lsar = fopen(path, "w"), *lvh = NULL, *lsar2 = NULL;
    if (s.dual) {
        snprintf(path, sizeof path, "%s/sar_vh.list", out);
        lvh = fopen(path, "w");
        snprintf(path, sizeof path, "%s/sar2.list", out);
        lsar2 = fopen(path, "w");
    }
    if (!lndvi || !lrn || !lsar || (s.dual && (!lvh || !lsar2))) {
        fprintf(stderr, "gen_stack: cannot write the lists in %s\n", out);
        return 4;
    }
    const float NODATA = -9999.0f;
    for (int t = 0; t < s.opt_n; t++) {
        int day = s.opt_first + t * s.opt_step;
        /* cloud cover: a third of the dates clear, one in ten fully cloudy; the first and
         * the last date clear, so that pairwise first-vs-last detection sees everything */
        double u = unif(), frac = u < 0.33 ? 0.0 : (u < 0.90 ? 0.05 + 0.6 * unif() : 1.0);
        if (t == 0 || t == s.opt_n - 1)
            frac = 0.0;
        clouds(cm, w, h, fmin(frac, s.cloud_max));
        double offset = 0.015 * gauss(); /* per-date atmosphere / calibration */
        for (int i = 0; i < n; i++) {
            int x = i % w, y = i / w;
            double v = ndvi_clean(&s, i, day) + offset + s.noise * gauss();
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
        GDALDatasetH ds = create(path, &g, 2, GDT_Float32);
        write_band(ds, 1, a, GDT_Float32, w, h, "B04", 1, NODATA);
        write_band(ds, 2, b, GDT_Float32, w, h, "B08", 1, NODATA);
        GDALClose(ds);
        fprintf(lrn, "%s rn/%s.tif\n", ds_, ds_);
        for (int i = 0; i < n; i++)
            a[i] = a[i] == NODATA ? NODATA : (b[i] - a[i]) / (b[i] + a[i]);
        snprintf(path, sizeof path, "%s/ndvi/%s.tif", out, ds_);
        ds = create(path, &g, 1, GDT_Float32);
        write_band(ds, 1, a, GDT_Float32, w, h, "NDVI", 1, NODATA);
        GDALClose(ds);
        fprintf(lndvi, "%s ndvi/%s.tif\n", ds_, ds_);
    }
    for (int t = 0; t < s.sar_n; t++) {
        int day = s.sar_first + t * s.sar_step;
        double offset = 0.2 * gauss(); /* calibration / incidence jitter, dB */
        for (int j = 0; j < sn; j++) {
            /* the scene pixel under the SAR pixel; outside the scene: stable forest */
            int i = smap ? smap[j] : j, x = i % w, y = i / w;
            double db = (i >= 0 ? vv_clean(&s, i, day)
                                : -7.5 - 0.4 * s.season * bell(year_frac(day), 0.62, 0.08)) +
                        offset;
            if (i >= 0 && day == s.flood_day && s.nuis[i] == 1)
                db = -19.0; /* flooded field: specular */
            if (i >= 0 && day == s.wet_day && in_rect(&s.wet, x, y))
                db -= 2.5; /* wet / frozen canopy pass */
            /* per-pixel texture (0.5 dB) times gamma speckle of L looks */
            double mu = pow(10.0, (db + 0.5 * gauss()) / 10.0);
            a[j] = (float)(mu * gamma_unit(s.looks) / s.looks);
            if (s.sar_db)
                a[j] = (float)(10.0 * log10(a[j]));
        }
        datestr(day, ds_);
        snprintf(path, sizeof path, "%s/sar/%s.tif", out, ds_);
        GDALDatasetH ds = create(path, &sg, 1, GDT_Float32);
        write_band(ds, 1, a, GDT_Float32, sg.w, sg.h, "VV", 0, 0);
        if (s.sar_db)
            GDALSetRasterUnitType(GDALGetRasterBand(ds, 1), "dB");
        GDALClose(ds);
        fprintf(lsar, "%s sar/%s.tif\n", ds_, ds_);
        if (!s.dual)
            continue;
        swap_stream(); /* VH from its own stream; same date offset (one calibration) */
        for (int j = 0; j < sn; j++) {
            int i = smap ? smap[j] : j, x = i % w, y = i / w;
            double db = (i >= 0 ? vh_clean(&s, i, day)
                                : s.vh_db - 0.6 * s.season * bell(year_frac(day), 0.62, 0.08)) +
                        offset;
            if (i >= 0 && day == s.flood_day && s.nuis[i] == 1)
                db = -26.0;
            if (i >= 0 && day == s.wet_day && in_rect(&s.wet, x, y))
                db -= 2.5;
            double mu = pow(10.0, (db + 0.5 * gauss()) / 10.0);
            vh[j] = (float)(mu * gamma_unit(s.looks) / s.looks);
            if (s.sar_db)
                vh[j] = (float)(10.0 * log10(vh[j]));
        }
        swap_stream();
        snprintf(path, sizeof path, "%s/sar_vh/%s.tif", out, ds_);
        ds = create(path, &sg, 1, GDT_Float32);
        write_band(ds, 1, vh, GDT_Float32, sg.w, sg.h, "VH", 0, 0);
        if (s.sar_db)
            GDALSetRasterUnitType(GDALGetRasterBand(ds, 1), "dB");
        GDALClose(ds);
        fprintf(lvh, "%s sar_vh/%s.tif\n", ds_, ds_);
        snprintf(path, sizeof path, "%s/sar2/%s.tif", out, ds_);
        ds = create(path, &sg, 2, GDT_Float32);
        write_band(ds, 1, a, GDT_Float32, sg.w, sg.h, "VV", 0, 0);
        write_band(ds, 2, vh, GDT_Float32, sg.w, sg.h, "VH", 0, 0);
        for (int k = 1; s.sar_db && k <= 2; k++)
            GDALSetRasterUnitType(GDALGetRasterBand(ds, k), "dB");
        GDALClose(ds);
        fprintf(lsar2, "%s sar2/%s.tif\n", ds_, ds_);
    }
    if (lvh)
        fclose(lvh);
    if (lsar2)
        fclose(lsar2);
    fclose(lndvi);
    fclose(lrn);
    fclose(lsar);
    snprintf(path, sizeof path, "%s/truth.tif", out);
    GDALDatasetH ds = create(path, &g, 1, GDT_Int32);
    write_band(ds, 1, s.truth, GDT_Int32, w, h, "change start YYYYMMDD", 0, 0);
    GDALClose(ds);
    if (smap) { /* the truth on the SAR grid too */
        int32_t *st = malloc((size_t)sn * sizeof *st);
        for (int j = 0; st && j < sn; j++)
            st[j] = smap[j] >= 0 ? s.truth[smap[j]] : 0;
        snprintf(path, sizeof path, "%s/truth_sar.tif", out);
        ds = create(path, &sg, 1, GDT_Int32);
        write_band(ds, 1, st, GDT_Int32, sg.w, sg.h, "change start YYYYMMDD", 0, 0);
        GDALClose(ds);
        free(st);
    }
    snprintf(path, sizeof path, "%s/nuisance.tif", out);
    ds = create(path, &g, 1, GDT_Byte);
    write_band(ds, 1, s.nuis, GDT_Byte, w, h,
               "1 flooded field (SAR), 2 haze (optical), 3 early harvest, 4 wet forest (SAR)", 0,
               0);
    GDALClose(ds);
    snprintf(path, sizeof path, "%s/scene.txt", out);
    FILE *f = fopen(path, "w");
    if (!f)
        return 4;
    fprintf(f, "size %d %d pixel %.0f m looks %.2f start %d\n", w, h, s.pix, s.looks,
            yyyymmdd(s.start));
    for (int c = 0; c <= s.nchange + (s.nchange > 0 ? s.has_patch : s.has_patch - 1); c++)
        fprintf(f, "change %d rect %d %d %d %d date %d\n", c, s.ch[c].r.x0, s.ch[c].r.y0,
                s.ch[c].r.x1, s.ch[c].r.y1, yyyymmdd(s.ch[c].day));
    if (s.nuisance)
        fprintf(f, "nuisance flood %d haze %d wet %d early_harvest_days %d\n",
                yyyymmdd(s.flood_day), yyyymmdd(s.haze_day), yyyymmdd(s.wet_day), s.early_days);
    else
        fprintf(f, "nuisance none\n");
    fclose(f);
    free(a);
    free(b);
    free(vh);
    free(cm);
    free(s.cover);
    free(s.field);
    free(s.truth);
    free(s.change_day);
    free(s.nuis);
    free(smap);
    return 0;
}
