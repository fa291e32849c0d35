/* test_render.c: the map: cartographic helpers (north, geodesic scale, round lengths),
 * PNG size, chunks and byte-identical reruns, and a golden comparison of a small map.
 * GD_UPDATE_GOLDEN=1 rewrites the reference (look at it before committing it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cairo.h>
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geodelta/stages.h"

#define N 256
#define MAP_W 1000
#define GOLDEN GD_GOLDEN_DIR "/map_small.png"

static char tmpdir[256];

static char *wkt_of(int epsg)
{
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    char *wkt = NULL;
    OSRImportFromEPSG(s, epsg);
    OSRExportToWkt(s, &wkt);
    OSRDestroySpatialReference(s);
    return wkt;
}

static gd_grid make_grid(int epsg, const double gt[6], int w, int h, char **wkt)
{
    gd_grid g;
    memset(&g, 0, sizeof g);
    g.width = w;
    g.height = h;
    memcpy(g.gt, gt, sizeof g.gt);
    *wkt = epsg ? wkt_of(epsg) : NULL;
    g.wkt = *wkt;
    return g;
}

/* ---- helpers ------------------------------------------------------------------------ */

static void test_round_length(void **state)
{
    (void)state;
    assert_true(gd_map_round_length(1.0) == 1.0);
    assert_true(gd_map_round_length(999.0) == 500.0);
    assert_true(gd_map_round_length(1000.0) == 1000.0);
    assert_true(gd_map_round_length(3700.0) == 2000.0);
    assert_true(gd_map_round_length(0.07) == 0.05);
    assert_true(gd_map_round_length(0.0) == 0.0);
}

static double deg(double r) { return r * 180.0 / M_PI; }

static void test_north_geographic(void **state)
{
    (void)state;
    char *wkt;
    double gt[6] = {10.0, 0.001, 0, 44.0, 0, -0.001}, a;
    gd_grid g = make_grid(4326, gt, 100, 100, &wkt);
    assert_int_equal(gd_map_north_angle(&g, 50, 50, &a), GD_OK);
    assert_true(fabs(deg(a)) < 1e-6);
    CPLFree(wkt);
}

/* East of the central meridian, grid north is east of true north: true north points
 * left of "up" by the meridian convergence, about atan(tan(dlon) sin(lat)). */
static void test_north_utm_convergence(void **state)
{
    (void)state;
    char *wkt;
    double gt[6] = {700000, 10, 0, 5800000, 0, -10}, a;
    gd_grid g = make_grid(32633, gt, 100, 100, &wkt);
    assert_int_equal(gd_map_north_angle(&g, 50, 50, &a), GD_OK);
    /* the centre: 700500 E 5799500 N is about 17.93 E 52.31 N in zone 33 (CM 15 E) */
    OGRSpatialReferenceH s = OSRNewSpatialReference(wkt), ll = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(ll, 4326);
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(ll, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(s, ll);
    double x = 700500, y = 5799500;
    assert_true(OCTTransform(ct, 1, &x, &y, NULL));
    double gamma = atan(tan((x - 15.0) * M_PI / 180) * sin(y * M_PI / 180));
    assert_true(deg(a) < -2.0);
    assert_true(fabs(deg(a) + deg(gamma)) < 0.02);
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(s);
    OSRDestroySpatialReference(ll);
    CPLFree(wkt);
}

/* A grid whose "up" points 30 degrees east of north, on the central meridian. */
static void test_north_rotated(void **state)
{
    (void)state;
    char *wkt;
    double t = 30 * M_PI / 180, r = 10;
    double gt[6] = {500000, r * cos(t), -r * sin(t), 5800000, -r * sin(t), -r * cos(t)}, a;
    gd_grid g = make_grid(32633, gt, 100, 100, &wkt);
    assert_int_equal(gd_map_north_angle(&g, 50, 50, &a), GD_OK);
    assert_true(fabs(deg(a) + 30.0) < 0.05);
    CPLFree(wkt);
}

static void test_metres_per_pixel(void **state)
{
    (void)state;
    char *wkt;
    double m;
    /* on the central meridian the UTM scale factor is 0.9996 */
    double gt[6] = {500000 - 500, 10, 0, 5800000, 0, -10};
    gd_grid g = make_grid(32633, gt, 100, 100, &wkt);
    assert_int_equal(gd_map_metres_per_pixel(&g, 50, 50, &m), GD_OK);
    assert_true(fabs(m - 10.0 / 0.9996) < 1e-3);
    CPLFree(wkt);
    /* 0.0001 degree of longitude at 60 N: N(phi) cos(phi) dlon on WGS 84 */
    double gt2[6] = {10.0, 0.0001, 0, 60.005, 0, -0.0001};
    g = make_grid(4326, gt2, 100, 100, &wkt);
    assert_int_equal(gd_map_metres_per_pixel(&g, 50, 50, &m), GD_OK);
    double a = 6378137.0, f = 1 / 298.257223563, e2 = f * (2 - f), phi = 60.0 * M_PI / 180;
    double expect = a / sqrt(1 - e2 * sin(phi) * sin(phi)) * cos(phi) * 0.0001 * M_PI / 180;
    assert_true(fabs(m - expect) < 1e-4);
    CPLFree(wkt);
    /* no CRS: no metres */
    double gt3[6] = {0, 1, 0, 0, 0, 1};
    g = make_grid(0, gt3, 10, 10, &wkt);
    assert_int_equal(gd_map_metres_per_pixel(&g, 5, 5, &m), GD_EINPUT);
}

/* ---- rendering ---------------------------------------------------------------------- */

/* A smooth synthetic Sentinel-2-like scene (compresses well: the golden file stays small). */
static const char *make_scene(const char *name, int after)
{
    static char path[2][128];
    char *p = path[after];
    snprintf(p, 128, "/vsimem/%s.tif", name);
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), p, N, N, 4, GDT_UInt16, NULL);
    assert_non_null(ds);
    double gt[6] = {400000, 20, 0, 5800000, 0, -20};
    GDALSetGeoTransform(ds, gt);
    char *wkt = wkt_of(32633);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    GDALSetMetadataItem(ds, "ACQUISITION_DATE", after ? "2024-07-15" : "2024-06-01", NULL);
    GDALSetMetadataItem(ds, "SENSOR", "synthetic", NULL);
    static const char *names[4] = {"B02", "B03", "B04", "B08"};
    uint16_t *buf = malloc(sizeof(uint16_t) * N * N);
    assert_non_null(buf);
    for (int b = 0; b < 4; b++) {
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                double v = 800 + 300 * b + 400 * sin(x / 23.0) * cos(y / 31.0) + 2 * x;
                if (after && (x - 90) * (x - 90) + (y - 120) * (y - 120) < 900)
                    v = b == 3 ? 900 : 2200; /* bright, low NIR: the "loss" patch */
                buf[(size_t)y * N + (size_t)x] = (uint16_t)v;
            }
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        GDALSetDescription(band, names[b]);
        assert_int_equal(GDALRasterIO(band, GF_Write, 0, 0, N, N, buf, N, N, GDT_UInt16, 0, 0),
                         CE_None);
    }
    free(buf);
    GDALClose(ds);
    return p;
}

static const char *make_zones(void)
{
    static const char *p = "/vsimem/zones.geojson";
    const char *js =
        "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":"
        "{\"name\":\"urn:ogc:def:crs:EPSG::32633\"}},\"features\":["
        "{\"type\":\"Feature\",\"properties\":{\"name\":\"North\"},\"geometry\":{\"type\":"
        "\"Polygon\",\"coordinates\":[[[400000,5800000],[405120,5800000],[405120,5797440],"
        "[400000,5797440],[400000,5800000]]]}},"
        "{\"type\":\"Feature\",\"properties\":{\"name\":\"South\"},\"geometry\":{\"type\":"
        "\"Polygon\",\"coordinates\":[[[400000,5797440],[405120,5797440],[405120,5794880],"
        "[400000,5794880],[400000,5797440]]]}}]}";
    VSILFILE *f = VSIFOpenL(p, "wb");
    assert_non_null(f);
    VSIFWriteL(js, 1, strlen(js), f);
    VSIFCloseL(f);
    return p;
}

typedef struct fixture {
    gd_job *job;
    gd_source *bs, *as;
    gd_grid *grid;
    uint8_t *classes;
    gd_class_total totals[GD_MAX_CLASSES];
    gd_map_image mb, ma;
    gd_map_spec spec;
} fixture;

static void fixture_open(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    assert_int_equal(gd_job_create(&fx->job), GD_OK);
    gd_job_set_quiet(fx->job, 1);
    assert_int_equal(gd_source_open(fx->job, make_scene("rb", 0), "before", &fx->bs), GD_OK);
    assert_int_equal(gd_source_open(fx->job, make_scene("ra", 1), "after", &fx->as), GD_OK);
    assert_int_equal(gd_grid_from_source(fx->job, fx->bs, &fx->grid), GD_OK);
    fx->classes = calloc(N * N, 1);
    assert_non_null(fx->classes);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            uint8_t *c = &fx->classes[(size_t)y * N + (size_t)x];
            if ((x - 90) * (x - 90) + (y - 120) * (y - 120) < 900)
                *c = 1;
            else if (x > 180 && x < 220 && y > 30 && y < 60)
                *c = 2;
            else if (y > 250)
                *c = 255;
        }
    fx->totals[1] = (gd_class_total){2821, 112.84, 1, 0, 0.0};
    fx->totals[2] = (gd_class_total){1131, 45.24, 1, 0, 0.0};
    assert_int_equal(gd_map_pick_bands(fx->job, fx->bs, "before", NULL, GD_MAP_TRUE_COLOUR, 0, 1,
                                       &fx->mb), GD_OK);
    assert_int_equal(gd_map_pick_bands(fx->job, fx->as, "after", NULL, GD_MAP_TRUE_COLOUR, 0, 1,
                                       &fx->ma), GD_OK);
    assert_int_equal(fx->mb.bands[0], 3); /* B04 is red */
    assert_int_equal(fx->mb.bands[2], 1);
    gd_map_spec_init(&fx->spec);
    fx->spec.title = "Golden test map";
    fx->spec.area = "Test valley";
    fx->spec.date_before = fx->bs->date;
    fx->spec.date_after = fx->as->date;
    fx->spec.before_path = "before.tif";
    fx->spec.after_path = "after.tif";
    fx->spec.credit = "Synthetic data";
    fx->spec.run_id = "0123456789abcdef";
    fx->spec.threshold = 0.25;
    fx->spec.threshold_mode = "otsu";
    fx->spec.width = MAP_W;
    fx->spec.zones = make_zones();
}

static void fixture_close(fixture *fx)
{
    free(fx->classes);
    gd_grid_destroy(fx->grid);
    gd_source_destroy(fx->bs);
    gd_source_destroy(fx->as);
    gd_job_destroy(fx->job);
}

typedef struct decoded {
    int w, h;
    unsigned char *rgb;
    int ntext;
    char keys[16][80];
    char values[16][512];
    int has_time;
    png_uint_32 ppm_x, ppm_y;
    int unit;
} decoded;

static void decode(const char *path, decoded *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng cannot decode %s", path);
    png_init_io(png, f);
    png_read_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    d->w = (int)png_get_image_width(png, info);
    d->h = (int)png_get_image_height(png, info);
    assert_int_equal(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB);
    assert_int_equal(png_get_bit_depth(png, info), 8);
    png_bytepp rows = png_get_rows(png, info);
    d->rgb = malloc((size_t)d->w * (size_t)d->h * 3);
    assert_non_null(d->rgb);
    for (int y = 0; y < d->h; y++)
        memcpy(d->rgb + (size_t)y * (size_t)d->w * 3, rows[y], (size_t)d->w * 3);
    png_textp text = NULL;
    int nt = 0;
    png_get_text(png, info, &text, &nt);
    for (int i = 0; i < nt && i < 16; i++) {
        snprintf(d->keys[i], sizeof d->keys[i], "%s", text[i].key);
        snprintf(d->values[i], sizeof d->values[i], "%s", text[i].text);
    }
    d->ntext = nt;
    d->has_time = png_get_valid(png, info, PNG_INFO_tIME) != 0;
    png_get_pHYs(png, info, &d->ppm_x, &d->ppm_y, &d->unit);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
}

static const char *text_of(const decoded *d, const char *key)
{
    for (int i = 0; i < d->ntext; i++)
        if (strcmp(d->keys[i], key) == 0)
            return d->values[i];
    return NULL;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void render_to(fixture *fx, const char *name, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", tmpdir, name);
    int st = gd_render_map(fx->job, fx->grid, &fx->mb, &fx->ma, fx->classes,
                           gd_method_find("ndvi"), fx->totals, &fx->spec, path);
    if (st != GD_OK)
        fail_msg("render failed: %s", gd_job_message(fx->job));
}

static void test_png_chunks_and_rerun(void **state)
{
    (void)state;
    fixture fx;
    char p1[512], p2[512];
    fixture_open(&fx);
    render_to(&fx, "a.png", p1, sizeof p1);
    render_to(&fx, "b.png", p2, sizeof p2);
    decoded d;
    decode(p1, &d);
    assert_int_equal(d.w, MAP_W);
    assert_true(d.h > 400 && d.h < 600); /* square panels: about 0.3 W plus the furniture */
    assert_string_equal(text_of(&d, "Title"), "Golden test map");
    assert_string_equal(text_of(&d, "Author"), "Synthetic data");
    assert_string_equal(text_of(&d, "RunID"), "0123456789abcdef");
    assert_non_null(strstr(text_of(&d, "Software"), "geodelta"));
    assert_non_null(strstr(text_of(&d, "Source"), "before.tif"));
    assert_non_null(strstr(text_of(&d, "Description"), "vegetation loss 112.84 ha"));
    assert_non_null(strstr(text_of(&d, "Disclaimer"), "not yet validated in the field"));
    assert_false(d.has_time);
    assert_int_equal(d.unit, PNG_RESOLUTION_METER);
    assert_int_equal(d.ppm_x, 11811); /* 300 dpi */
    free(d.rgb);
    /* no clock in the file: the same inputs give the same bytes */
    size_t n1, n2;
    unsigned char *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    /* without a run id the chunk is absent */
    fx.spec.run_id = NULL;
    fx.spec.dpi = 150;
    render_to(&fx, "c.png", p1, sizeof p1);
    decode(p1, &d);
    assert_null(text_of(&d, "RunID"));
    assert_int_equal(d.ppm_x, 5906);
    free(d.rgb);
    fixture_close(&fx);
}

/* Mean absolute difference per channel, and the fraction of 8x8 blocks whose mean differs
 * by more than 24 in some channel. Block means absorb what differs between machines
 * (antialiasing and sub-pixel placement of glyphs of another FreeType or DejaVu build)
 * while a change class that appears, vanishes or moves alters whole blocks. */
#define BLOCK 8
static void compare(const decoded *a, const decoded *b, double *mad, double *frac)
{
    *mad = 1e9;
    *frac = 1.0;
    if (a->w != b->w || a->h != b->h)
        return;
    size_t n = (size_t)a->w * (size_t)a->h, bad = 0, blocks = 0;
    double sum = 0;
    for (size_t i = 0; i < 3 * n; i++)
        sum += abs((int)a->rgb[i] - (int)b->rgb[i]);
    for (int by = 0; by + BLOCK <= a->h; by += BLOCK)
        for (int bx = 0; bx + BLOCK <= a->w; bx += BLOCK) {
            double worst = 0;
            for (int k = 0; k < 3; k++) {
                double d = 0;
                for (int y = by; y < by + BLOCK; y++)
                    for (int x = bx; x < bx + BLOCK; x++) {
                        size_t i = 3 * ((size_t)y * (size_t)a->w + (size_t)x) + (size_t)k;
                        d += (int)a->rgb[i] - (int)b->rgb[i];
                    }
                d = fabs(d) / (BLOCK * BLOCK);
                if (d > worst)
                    worst = d;
            }
            bad += worst > 24;
            blocks++;
        }
    *mad = sum / (3.0 * (double)n);
    *frac = (double)bad / (double)blocks;
}

/* Measured: identical machine 0 / 0; with cairo's hint metrics switched on (glyph advances
 * rounded: every text line shifts) 2.15 / 0.37 %; slight hinting 0.45 / 0; the change
 * patch removed (below) 1.24 / 1.01 %; a 10-90 % stretch instead of 2-98 % (below)
 * 17.8 / 35.4 % */
#define MAX_MAD 3.0
#define MAX_FRAC 0.005

static void test_golden(void **state)
{
    (void)state;
    fixture fx;
    char p[512];
    fixture_open(&fx);
    fx.spec.compression = 9;
    fx.spec.aoi = fx.spec.zones; /* both overlays: the AOI dashed over the zones */
    fx.spec.zone_field = "name";
    render_to(&fx, "golden.png", p, sizeof p);
    if (getenv("GD_UPDATE_GOLDEN")) {
        size_t n;
        unsigned char *b = slurp(p, &n);
        FILE *f = fopen(GOLDEN, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, n, f), n);
        fclose(f);
        free(b);
        print_message("wrote %s (%zu bytes)\n", GOLDEN, n);
    }
    decoded got, ref;
    decode(p, &got);
    decode(GOLDEN, &ref);
    double mad, frac;
    compare(&got, &ref, &mad, &frac);
    print_message("golden: mean abs diff %.4f, differing 8x8 blocks %.4f %%\n", mad, 100 * frac);
    assert_true(mad <= MAX_MAD);
    assert_true(frac <= MAX_FRAC);
    free(got.rgb);

    /* the comparison can fail: a map with the change moved is caught */
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            if (fx.classes[(size_t)y * N + (size_t)x] == 1)
                fx.classes[(size_t)y * N + (size_t)x] = 0;
    render_to(&fx, "altered.png", p, sizeof p);
    decode(p, &got);
    compare(&got, &ref, &mad, &frac);
    print_message("altered: mean abs diff %.4f, differing 8x8 blocks %.4f %%\n", mad, 100 * frac);
    assert_true(mad > MAX_MAD || frac > MAX_FRAC);
    free(got.rgb);
    /* and so is another contrast stretch */
    fx.spec.stretch_lo = 10;
    fx.spec.stretch_hi = 90;
    render_to(&fx, "stretched.png", p, sizeof p);
    decode(p, &got);
    compare(&got, &ref, &mad, &frac);
    print_message("stretch: mean abs diff %.4f, differing 8x8 blocks %.4f %%\n", mad, 100 * frac);
    assert_true(mad > MAX_MAD || frac > MAX_FRAC);
    free(got.rgb);
    free(ref.rgb);
    fixture_close(&fx);
}

static void test_single_sar_and_pixel_grid(void **state)
{
    (void)state;
    fixture fx;
    char p[512];
    fixture_open(&fx);
    /* SAR display: one band in dB, single layout */
    assert_int_equal(gd_map_pick_bands(fx.job, fx.as, "after", NULL, GD_MAP_TRUE_COLOUR, 1, 4,
                                       &fx.ma), GD_OK);
    assert_int_equal(fx.ma.bands[0], 4);
    assert_int_equal(fx.ma.bands[1], 0);
    assert_true(fx.ma.db);
    fx.spec.layout = GD_MAP_SINGLE;
    fx.spec.zones = NULL;
    render_to(&fx, "single.png", p, sizeof p);
    decoded d;
    decode(p, &d);
    assert_int_equal(d.w, MAP_W);
    assert_true(d.h > 750); /* one big panel */
    free(d.rgb);
    /* a grid without CRS still renders, without scale bar, north arrow or graticule */
    free(fx.grid->wkt);
    fx.grid->wkt = NULL;
    render_to(&fx, "pixels.png", p, sizeof p);
    decode(p, &d);
    assert_non_null(strstr(text_of(&d, "Description"), "No coordinate reference system"));
    free(d.rgb);
    /* false colour picks nir red green */
    assert_int_equal(gd_map_pick_bands(fx.job, fx.as, "after", NULL, GD_MAP_FALSE_COLOUR, 0, 1,
                                       &fx.ma), GD_OK);
    assert_int_equal(fx.ma.bands[0], 4);
    assert_int_equal(fx.ma.bands[1], 3);
    assert_int_equal(fx.ma.bands[2], 2);
    fixture_close(&fx);
}

static void test_bad_overlay(void **state)
{
    (void)state;
    fixture fx;
    char p[512];
    fixture_open(&fx);
    fx.spec.zones = "/nonexistent/zones.gpkg";
    snprintf(p, sizeof p, "%s/bad.png", tmpdir);
    assert_int_equal(gd_render_map(fx.job, fx.grid, &fx.mb, &fx.ma, fx.classes,
                                   gd_method_find("ndvi"), fx.totals, &fx.spec, p), GD_EINPUT);
    assert_non_null(strstr(gd_job_message(fx.job), "/nonexistent/zones.gpkg"));
    assert_int_equal(access(p, F_OK), -1);
    fixture_close(&fx);
    fixture_open(&fx);
    fx.spec.zone_field = "nope";
    assert_int_equal(gd_render_map(fx.job, fx.grid, &fx.mb, &fx.ma, fx.classes,
                                   gd_method_find("ndvi"), fx.totals, &fx.spec, p), GD_EINPUT);
    assert_non_null(strstr(gd_job_message(fx.job), "nope"));
    fixture_close(&fx);
}

/* ---- gd_map_furniture (the monitor's alert_map.png) ---------------------------------- */

/* dark pixels (any channel below 128) of an RGB24 surface in [x0,x1) x [y0,y1) */
static int dark_in(cairo_surface_t *s, int x0, int y0, int x1, int y1)
{
    unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s), n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint32_t c = ((uint32_t *)(d + (size_t)y * stride))[x];
            n += ((c >> 16) & 255) < 128 || ((c >> 8) & 255) < 128 || (c & 255) < 128;
        }
    return n;
}

/* map.png's furniture around a 300 x 240 frame at (60, 30): lat labels left and right of
 * it, lon labels below it, the scale bar inside its bottom left corner, the north arrow
 * inside its top right one; without a CRS, GD_EINPUT and nothing drawn. */
static void test_furniture(void **state)
{
    (void)state;
    /* 48 x 40 pixels of 20 m in UTM 33N, the grid of e2e.monitor */
    const double gt[6] = {500000, 20, 0, 4600000, 0, -20};
    char *wkt;
    const int W = 420, H = 320, fx = 60, fy = 30, fw = 300, fh = 240;
    for (int crs = 1; crs >= 0; crs--) {
        gd_grid g = make_grid(crs ? 32633 : 0, gt, 48, 40, &wkt);
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
        cairo_t *cr = cairo_create(s);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        int st = gd_map_furniture(cr, &g, fx, fy, fw, fh, 1.5);
        cairo_destroy(cr);
        cairo_surface_flush(s);
        int left = dark_in(s, 0, fy, fx, fy + fh), right = dark_in(s, fx + fw, fy, W, fy + fh);
        int below = dark_in(s, fx, fy + fh + 2, fx + fw, H);
        int bar = dark_in(s, fx, fy + fh - 40, fx + 120, fy + fh - 2);
        int arrow = dark_in(s, fx + fw - 60, fy + 2, fx + fw, fy + 60);
        int inside = dark_in(s, fx + 130, fy + 70, fx + fw - 70, fy + fh - 50);
        if (crs) {
            assert_int_equal(st, GD_OK);
            assert_true(left > 20 && right > 20); /* lat labels on both sides */
            assert_true(below > 20);               /* lon labels */
            assert_true(bar > 20 && arrow > 20);
            assert_int_equal(inside, 0);           /* the middle of the map stays clear */
        } else {
            assert_int_equal(st, GD_EINPUT);
            assert_int_equal(left + right + below + bar + arrow, 0);
        }
        cairo_surface_destroy(s);
        CPLFree(wkt);
    }
}

int main(void)
{
    GDALAllRegister();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gd_test_render_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_length),
        cmocka_unit_test(test_north_geographic),
        cmocka_unit_test(test_north_utm_convergence),
        cmocka_unit_test(test_north_rotated),
        cmocka_unit_test(test_metres_per_pixel),
        cmocka_unit_test(test_furniture),
        cmocka_unit_test(test_png_chunks_and_rerun),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_single_sar_and_pixel_grid),
        cmocka_unit_test(test_bad_overlay),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    GDALDestroyDriverManager();
    gd_render_cleanup();
    return rc;
}
