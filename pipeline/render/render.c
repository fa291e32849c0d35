/* render.c: the print map: before | after | change panels with cartographic furniture
 * (scale bar, north arrow, graticule, legend, provenance), Cairo -> libpng. */
#define _GNU_SOURCE /* open_memstream */
#include "geodelta/files.h"
#include "geodelta/stages.h"
#include "geodelta/exposure.h"
#include "geodelta/task.h"
#include "geodelta/util.h"

#include <cairo.h>
#include <cpl_conv.h>
#include <cpl_string.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <geodesic.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CAVEAT "Preliminary analysis \xe2\x80\x94 not yet validated in the field"
#define DEFAULT_DPI 300.0
/* A4 landscape is 297 mm wide: the default width prints it edge to edge at the dpi */
#define A4_LANDSCAPE_MM 297.0
#define MAX_STRETCH_SAMPLES 262144
#define NODATA_RGB 0xe4e4e4u
#define DEG "\xc2\xb0"
#define MINUTE "\xe2\x80\xb2"
#define SECOND "\xe2\x80\xb3"
#define EMDASH "\xe2\x80\x94"
#define ENDASH "\xe2\x80\x93"
#define MIDDOT " \xc2\xb7 "

void gd_map_spec_init(gd_map_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->layout = GD_MAP_TRIPTYCH;
    spec->dpi = DEFAULT_DPI;
    spec->stretch_lo = 2.0;
    spec->stretch_hi = 98.0;
    /* zlib level 2: on noisy imagery level 6 saves about 13 % of the bytes for 4x the time
     * (measured on the 3508 px demo map: 0.35 s against 1.6 s) */
    spec->compression = 2;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *gd_map_spec_json(const gd_map_spec *spec)
{
    json_t *o = json_object();
    json_object_set_new(o, "layout", json_string(spec->layout == GD_MAP_SINGLE ? "single" : "triptych"));
    json_object_set_new(o, "width", json_integer(spec->width));
    json_object_set_new(o, "dpi", json_real(spec->dpi));
    json_object_set_new(o, "stretch", json_pack("[f, f]", spec->stretch_lo, spec->stretch_hi));
    json_object_set_new(o, "compression", json_integer(spec->compression));
    json_object_set_new(o, "title", str_or_null(spec->title));
    json_object_set_new(o, "area", str_or_null(spec->area));
    json_object_set_new(o, "credit", str_or_null(spec->credit));
    json_object_set_new(o, "caveat", str_or_null(spec->caveat));
    if (spec->note) /* only when set: the maps of other runs keep their run ids */
        json_object_set_new(o, "note", json_string(spec->note));
    json_object_set_new(o, "zones", str_or_null(spec->zones));
    json_object_set_new(o, "zone_field", str_or_null(spec->zone_field));
    json_object_set_new(o, "aoi", str_or_null(spec->aoi));
    return o;
}

void gd_render_cleanup(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}

/* ---- band choice ------------------------------------------------------------------ */

/* The band's description ("B04"), else its number. */
static void band_name(GDALDatasetH ds, int b, char *buf, size_t n)
{
    const char *d = GDALGetDescription(GDALGetRasterBand(ds, b));
    if (d && *d)
        snprintf(buf, n, "%s", d);
    else
        snprintf(buf, n, "%d", b);
}

int gd_map_pick_bands(gd_job *job, const gd_source *src, const char *label, const char *spec,
                      int mode, int sar, int fallback_band, gd_map_image *out)
{
    static const char *const roles[2][3] = {{"red", "green", "blue"}, {"nir", "red", "green"}};
    memset(out, 0, sizeof *out);
    out->ds = src->ds;
    int m = mode == GD_MAP_FALSE_COLOUR ? 1 : 0;
    for (; !sar && m >= 0; m--) {
        int ok = 1;
        for (int k = 0; k < 3; k++) {
            int st = gd_source_find_role(job, src, label, spec, roles[m][k], &out->bands[k]);
            if (st != GD_OK)
                return st;
            ok = ok && out->bands[k] > 0;
        }
        if (ok)
            break;
        memset(out->bands, 0, sizeof out->bands);
        if (m == 1)
            gd_job_warn(job, "false colour needs nir, red and green bands in the %s image: "
                             "trying true colour", label);
    }
    if (out->bands[0] > 0 && out->bands[1] > 0) {
        char a[20], b[20], c[20];
        band_name(src->ds, out->bands[0], a, sizeof a);
        band_name(src->ds, out->bands[1], b, sizeof b);
        band_name(src->ds, out->bands[2], c, sizeof c);
        int numbers = strspn(a, "0123456789") == strlen(a);
        snprintf(out->names, sizeof out->names, "%s (%s%s %s %s)",
                 m == 1 ? "false colour" : "true colour", numbers ? "bands " : "", a, b, c);
        return GD_OK;
    }
    out->bands[0] = fallback_band > 0 && fallback_band <= src->nbands ? fallback_band : 1;
    out->bands[1] = out->bands[2] = 0;
    out->db = sar;
    char a[20];
    band_name(src->ds, out->bands[0], a, sizeof a);
    snprintf(out->names, sizeof out->names, "%s (%s%s)", sar ? "SAR backscatter in dB" : "grey",
             strspn(a, "0123456789") == strlen(a) ? "band " : "", a);
    return GD_OK;
}

/* ---- georeferencing helpers ---------------------------------------------------------- */

typedef struct georef {
    double gt[6], inv[6];
    OGRSpatialReferenceH srs, geog;
    OGRCoordinateTransformationH to_ll, from_ll;
    struct geod_geodesic geod;
} georef;

static void georef_free(georef *r)
{
    if (r->to_ll)
        OCTDestroyCoordinateTransformation(r->to_ll);
    if (r->from_ll)
        OCTDestroyCoordinateTransformation(r->from_ll);
    if (r->srs)
        OSRDestroySpatialReference(r->srs);
    if (r->geog)
        OSRDestroySpatialReference(r->geog);
    memset(r, 0, sizeof *r);
}

/* Lon/lat are taken in the grid's own geographic CRS (no datum shift, no grids needed). */
static int georef_init(const gd_grid *grid, georef *r)
{
    memset(r, 0, sizeof *r);
    if (!grid->wkt)
        return GD_EINPUT;
    memcpy(r->gt, grid->gt, sizeof r->gt);
    if (!GDALInvGeoTransform(r->gt, r->inv))
        return GD_EINPUT;
    r->srs = OSRNewSpatialReference(NULL);
    if (OSRSetFromUserInput(r->srs, grid->wkt) != OGRERR_NONE)
        goto fail;
    r->geog = OSRCloneGeogCS(r->srs);
    if (!r->geog)
        goto fail;
    OSRSetAxisMappingStrategy(r->srs, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(r->geog, OAMS_TRADITIONAL_GIS_ORDER);
    r->to_ll = OCTNewCoordinateTransformation(r->srs, r->geog);
    r->from_ll = OCTNewCoordinateTransformation(r->geog, r->srs);
    if (!r->to_ll || !r->from_ll)
        goto fail;
    double a = OSRGetSemiMajor(r->geog, NULL), invf = OSRGetInvFlattening(r->geog, NULL);
    geod_init(&r->geod, a > 0 ? a : 6378137.0, invf > 0 ? 1.0 / invf : 0.0);
    return GD_OK;
fail:
    georef_free(r);
    return GD_EINPUT;
}

static int px_to_ll(const georef *r, double x, double y, double *lon, double *lat)
{
    double X = r->gt[0] + x * r->gt[1] + y * r->gt[2];
    double Y = r->gt[3] + x * r->gt[4] + y * r->gt[5];
    if (!OCTTransform(r->to_ll, 1, &X, &Y, NULL) || !isfinite(X) || !isfinite(Y))
        return GD_EINPUT;
    *lon = X;
    *lat = Y;
    return GD_OK;
}

static int ll_to_px(const georef *r, double lon, double lat, double *x, double *y)
{
    double X = lon, Y = lat;
    if (!OCTTransform(r->from_ll, 1, &X, &Y, NULL) || !isfinite(X) || !isfinite(Y))
        return GD_EINPUT;
    *x = r->inv[0] + X * r->inv[1] + Y * r->inv[2];
    *y = r->inv[3] + X * r->inv[4] + Y * r->inv[5];
    return GD_OK;
}

static int north_angle(const georef *r, double x, double y, double *angle)
{
    double lon, lat, x2, y2, d = 1e-4; /* about 11 m: local, far above rounding */
    if (px_to_ll(r, x, y, &lon, &lat) != GD_OK)
        return GD_EINPUT;
    if (lat + d > 90.0)
        d = -d;
    if (ll_to_px(r, lon, lat + d, &x2, &y2) != GD_OK)
        return GD_EINPUT;
    double dx = x2 - x, dy = y2 - y;
    if (d < 0) {
        dx = -dx;
        dy = -dy;
    }
    if (dx == 0 && dy == 0)
        return GD_EINPUT;
    *angle = atan2(dx, -dy);
    return GD_OK;
}

static int metres_per_pixel(const georef *r, double x, double y, double *m)
{
    double lon1, lat1, lon2, lat2, s12 = 0;
    if (px_to_ll(r, x - 5, y, &lon1, &lat1) != GD_OK || px_to_ll(r, x + 5, y, &lon2, &lat2) != GD_OK)
        return GD_EINPUT;
    geod_inverse(&r->geod, lat1, lon1, lat2, lon2, &s12, NULL, NULL);
    if (!(s12 > 0))
        return GD_EINPUT;
    *m = s12 / 10.0;
    return GD_OK;
}

int gd_map_north_angle(const gd_grid *grid, double x, double y, double *angle)
{
    georef r;
    if (georef_init(grid, &r) != GD_OK)
        return GD_EINPUT;
    int st = north_angle(&r, x, y, angle);
    georef_free(&r);
    return st;
}

int gd_map_metres_per_pixel(const gd_grid *grid, double x, double y, double *metres)
{
    georef r;
    if (georef_init(grid, &r) != GD_OK)
        return GD_EINPUT;
    int st = metres_per_pixel(&r, x, y, metres);
    georef_free(&r);
    return st;
}

double gd_map_round_length(double max_len)
{
    if (!(max_len > 0) || !isfinite(max_len))
        return 0.0;
    double p = pow(10.0, floor(log10(max_len)));
    /* guard against log10 landing a hair under an exact power of ten */
    if (p * 10.0 <= max_len)
        p *= 10.0;
    if (5 * p <= max_len)
        return 5 * p;
    if (2 * p <= max_len)
        return 2 * p;
    return p;
}

/* ---- imagery ---------------------------------------------------------------------- */

typedef struct panel_img {
    float *band[3];
    int nb;
} panel_img;

static void panel_img_free(panel_img *p)
{
    for (int b = 0; b < 3; b++)
        free(p->band[b]);
    memset(p, 0, sizeof *p);
}

/* Decimated read straight to the panel size: average resampling, and GDAL reads the
 * overviews when the file has them, so the I/O scales with the map, not the scene. */
static int read_panel(gd_job *job, const gd_grid *grid, const gd_map_image *im, int pw, int ph,
                      panel_img *out)
{
    size_t np = (size_t)pw * (size_t)ph;
    memset(out, 0, sizeof *out);
    out->nb = im->bands[1] > 0 && im->bands[2] > 0 ? 3 : 1;
    for (int b = 0; b < out->nb; b++)
        if (!GDALGetRasterBand(im->ds, im->bands[b]))
            return gd_job_error(job, GD_EINPUT, "the map's band %d does not exist", im->bands[b]);
    if (im->panel[0] && im->panel_w == pw && im->panel_h == ph) {
        /* made by the score pass: the inputs are not decoded a second time */
        float *all = malloc(sizeof(float) * np * (size_t)out->nb);
        if (!all)
            return gd_job_error(job, GD_EPROC, "out of memory for the map");
        for (int b = 0; b < out->nb; b++) {
            out->band[b] = b == 0 ? all : malloc(sizeof(float) * np);
            if (!out->band[b] || !im->panel[b])
                return gd_job_error(job, GD_EPROC, "out of memory for the map");
            memcpy(out->band[b], im->panel[b], sizeof(float) * np);
        }
        goto db;
    }
    /* all bands in one dataset read: a pixel-interleaved file (most multi-band GeoTIFFs)
     * is decoded once instead of once per band (two 10980² DEFLATE dates: 26.6 s -> 14.6 s, measured; 9.8 s with the before date on its own thread) */
    float *all = malloc(sizeof(float) * np * (size_t)out->nb);
    if (!all)
        return gd_job_error(job, GD_EPROC, "out of memory for the map");
    {
        GDALRasterIOExtraArg ex;
        INIT_RASTERIO_EXTRA_ARG(ex);
        ex.eResampleAlg = GRIORA_Average;
        int map[3] = {im->bands[0], im->bands[1], im->bands[2]};
        if (GDALDatasetRasterIOEx(im->ds, GF_Read, 0, 0, grid->width, grid->height, all, pw, ph,
                                  GDT_Float32, out->nb, map, 0, 0,
                                  (GSpacing)(sizeof(float) * np), &ex) != CE_None) {
            free(all);
            return gd_job_error_gdal(job, GD_EINPUT, "cannot read the image for the map");
        }
    }
    for (int b = 0; b < out->nb; b++) {
        GDALRasterBandH band = GDALGetRasterBand(im->ds, im->bands[b]);
        /* band[0] owns the read buffer; the caller frees what is set (panel_img_free) */
        out->band[b] = b == 0 ? all : malloc(sizeof(float) * np);
        if (!out->band[b])
            return gd_job_error(job, GD_EPROC, "out of memory for the map");
        if (b > 0)
            memcpy(out->band[b], all + (size_t)b * np, sizeof(float) * np);
        int has_nd = 0;
        double nd = GDALGetRasterNoDataValue(band, &has_nd);
        float *v = out->band[b];
        if (has_nd && !isnan(nd))
            for (size_t i = 0; i < np; i++)
                if (v[i] == (float)nd)
                    v[i] = NAN;
    }
db:
    for (int b = 0; b < out->nb; b++) {
        GDALRasterBandH band = GDALGetRasterBand(im->ds, im->bands[b]);
        float *v = out->band[b];
        if (im->db) {
            /* same offset rule as logratio: +1 on integer amplitudes that hold zeros */
            GDALDataType dt = GDALGetRasterDataType(band);
            float eps = (dt == GDT_Byte || dt == GDT_UInt16 || dt == GDT_Int16) ? 1.0f : 1e-6f;
            for (size_t i = 0; i < np; i++)
                v[i] = v[i] >= 0 ? 10.0f * log10f(v[i] + eps) : NAN;
        }
    }
    return GD_OK;
}

/* The before panel is read on its own thread while the after panel is read (two
 * datasets, two handles; the thread reports into its own context: gd_task). */
typedef struct panel_arg {
    const gd_grid *grid;
    const gd_map_image *im;
    int w, h;
    panel_img *out;
} panel_arg;

static int panel_task(gd_job *job, void *arg)
{
    const panel_arg *a = arg;
    return read_panel(job, a->grid, a->im, a->w, a->h, a->out);
}

typedef struct png_meta {
    const char *key, *value;
} png_meta;

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* libpng's default handlers print to stderr: its message (with errno, which says
 * "No space left on device" when that is the cause) goes into geodelta's one line */
typedef struct png_err {
    char msg[256];
} png_err;

static void png_error_fn(png_structp png, png_const_charp msg)
{
    png_err *e = png_get_error_ptr(png);
    int saved = errno;
    snprintf(e->msg, sizeof e->msg, "%s%s%s", msg, saved ? ": " : "", saved ? strerror(saved) : "");
    png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* The page or a panel as an RGB PNG into f: one filter (SUB) instead of libpng's per-row
 * trial of all five (same size within 0.3 % on the demo map, a third less encoding time)
 * at zlib level `level`; pHYs when dpi > 0. 0, or -1 with libpng's message in perr. */
static int png_encode(FILE *f, cairo_surface_t *surf, const png_meta *meta, int nmeta,
                      double dpi, int level, png_err *perr)
{
    /* volatile: these live across libpng's setjmp */
    volatile int rc = 0;
    png_structp png = NULL;
    png_infop info = NULL;
    unsigned char *volatile row = NULL;
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    cairo_surface_flush(surf);
    const unsigned char *data = cairo_image_surface_get_data(surf);
    png_text text[16];
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, perr, png_error_fn, png_warning_fn);
    info = png ? png_create_info_struct(png) : NULL;
    row = malloc((size_t)w * 3);
    if (!png || !info || !row) {
        snprintf(perr->msg, sizeof perr->msg, "cannot initialise libpng");
        rc = -1;
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = -1;
        goto done;
    }
    errno = 0;
    png_init_io(png, f);
    png_set_compression_level(png, level < 0 ? 0 : level > 9 ? 9 : level);
    png_set_filter(png, 0, PNG_FILTER_SUB);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (dpi > 0)
        png_set_pHYs(png, info, (png_uint_32)lround(dpi / 0.0254),
                     (png_uint_32)lround(dpi / 0.0254), PNG_RESOLUTION_METER);
    /* no tIME chunk and no date in the text: a rerun gives the same bytes */
    int nt = 0;
    memset(text, 0, sizeof text);
    for (int i = 0; i < nmeta && nt < 16; i++) {
        if (!meta[i].value || !*meta[i].value)
            continue;
        text[nt].key = (char *)meta[i].key;
        text[nt].text = (char *)meta[i].value;
        /* tEXt is Latin-1: UTF-8 text goes into iTXt */
        text[nt].compression = is_ascii(meta[i].value) ? PNG_TEXT_COMPRESSION_NONE
                                                       : PNG_ITXT_COMPRESSION_NONE;
        nt++;
    }
    if (nt)
        png_set_text(png, info, text, nt);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        const uint32_t *px = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            /* opaque ARGB32 / RGB24: premultiplication is the identity */
            row[3 * x + 0] = (unsigned char)(px[x] >> 16);
            row[3 * x + 1] = (unsigned char)(px[x] >> 8);
            row[3 * x + 2] = (unsigned char)px[x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
done:
    if (png)
        png_destroy_write_struct(&png, info ? &info : NULL);
    free(row);
    return rc;
}

static int write_png(gd_job *job, cairo_surface_t *surf, const char *path, const png_meta *meta,
                     int nmeta, double dpi, int level)
{
    int st = GD_OK;
    char tmp[4096];
    png_err perr = {{0}};
    if ((st = gd_tmp_name(job, path, tmp, sizeof tmp)) != GD_OK)
        return st;
    FILE *f = gd_tmp_fopen(tmp);
    if (!f)
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", tmp, strerror(errno));
    if (png_encode(f, surf, meta, nmeta, dpi, level, &perr) != 0) {
        fclose(f);
        remove(tmp);
        return gd_job_error(job, GD_EOUTPUT, "libpng failed writing %s (%s)", path, perr.msg);
    }
    return gd_commit_stream(job, f, tmp, path);
}

/* A panel as a PNG in memory (for report.html), at the map's zlib level: Cairo's own
 * writer (zlib's default level, all five filters per row) took 14 % of a default run's
 * CPU on a 4096² pair. */
static int panel_png(cairo_surface_t *s, int level, unsigned char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    png_err perr = {{0}};
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return -1;
    int rc = png_encode(f, s, NULL, 0, 0.0, level, &perr);
    if (fclose(f) != 0 || rc != 0) {
        free(buf);
        return -1;
    }
    free(*out);
    *out = (unsigned char *)buf;
    *len = n;
    return 0;
}

/* The panels' PNGs for report.html are encoded on their own thread while the map is
 * drawn and encoded: from copies of the panel images, as the map's drawing reads the
 * originals (Cairo keeps snapshot lists on a source surface). */
typedef struct panels_task {
    cairo_surface_t *s[3];
    int slot[3], n, st, level;
    gd_map_panels *out;
} panels_task;

static void *panels_thread(void *arg)
{
    panels_task *t = arg;
    for (int i = 0; i < t->n && t->st == 0; i++)
        t->st = panel_png(t->s[i], t->level, &t->out->png[t->slot[i]], &t->out->len[t->slot[i]]);
    return NULL;
}

static cairo_surface_t *surface_copy(cairo_surface_t *s)
{
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    cairo_surface_t *c = cairo_image_surface_create(cairo_image_surface_get_format(s), w, h);
    if (cairo_surface_status(c) != CAIRO_STATUS_SUCCESS ||
        cairo_image_surface_get_stride(c) != cairo_image_surface_get_stride(s)) {
        cairo_surface_destroy(c);
        return NULL;
    }
    cairo_surface_flush(s);
    cairo_surface_flush(c);
    memcpy(cairo_image_surface_get_data(c), cairo_image_surface_get_data(s),
           (size_t)cairo_image_surface_get_stride(s) * (size_t)h);
    cairo_surface_mark_dirty(c);
    return c;
}

void gd_map_panels_free(gd_map_panels *p)
{
    if (!p)
        return;
    for (int i = 0; i < 3; i++) {
        free(p->png[i]);
        p->png[i] = NULL;
        p->len[i] = 0;
    }
}

/* map.pdf is written from the recording while the PNG is encoded from the pixels: the
 * two share no Cairo object but the recording's read-only panel images */
typedef struct pdf_arg {
    cairo_surface_t *rec;
    int W, H;
    const gd_map_spec *spec;
    const char *title, *subject;
    const double *panel;
} pdf_arg;

static int pdf_task(gd_job *job, void *arg)
{
    const pdf_arg *a = arg;
    return gd_render_pdf(job, a->rec, a->W, a->H, a->spec, a->title, a->subject, a->panel);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Percentiles lo_pct and hi_pct of the finite values of up to two buffers together: both
 * dates share one stretch so that a brightness change on the map is a real one. */
static void stretch_limits(const float *a, const float *b, size_t n, double lo_pct, double hi_pct,
                           float *lo, float *hi)
{
    size_t total = b ? 2 * n : n;
    size_t step = total / MAX_STRETCH_SAMPLES + 1;
    float *v = malloc(sizeof(float) * (total / step + 2));
    size_t k = 0;
    *lo = 0.0f;
    *hi = 1.0f;
    if (!v)
        return;
    for (size_t i = 0; i < total; i += step) {
        float x = i < n ? a[i] : b[i - n];
        if (isfinite(x))
            v[k++] = x;
    }
    if (k > 0) {
        qsort(v, k, sizeof(float), cmp_float);
        *lo = v[(size_t)(lo_pct / 100.0 * (double)(k - 1))];
        *hi = v[(size_t)(hi_pct / 100.0 * (double)(k - 1))];
        if (!(*hi > *lo))
            *hi = *lo + 1.0f;
    }
    free(v);
}

static double stretch(float v, float lo, float hi)
{
    double t = (v - lo) / (hi - lo);
    return 255.0 * (t < 0 ? 0 : t > 1 ? 1 : t);
}

static uint32_t rgb_of(double r, double g, double b)
{
    return 0xff000000u | ((uint32_t)(r + 0.5) << 16) | ((uint32_t)(g + 0.5) << 8) |
           (uint32_t)(b + 0.5);
}

/* Pixel i of an image as 0..255 RGB; 0 when nodata. */
static int pixel_rgb(const panel_img *p, size_t i, const float lo[3], const float hi[3], double c[3])
{
    for (int k = 0; k < 3; k++) {
        int b = p->nb == 3 ? k : 0;
        float v = p->band[b][i];
        if (isnan(v))
            return 0;
        c[k] = stretch(v, lo[b], hi[b]);
    }
    return 1;
}

/* Class shown at each panel pixel: the commonest change class of the block it covers,
 * when change covers at least a quarter of it, so small patches survive decimation. */
static uint8_t *panel_classes(const gd_grid *grid, const uint8_t *classes, int pw, int ph)
{
    uint8_t *out = malloc((size_t)pw * (size_t)ph);
    if (!out)
        return NULL;
    for (int y = 0; y < ph; y++) {
        int y0 = (int)((double)y * grid->height / ph);
        int y1 = (int)((double)(y + 1) * grid->height / ph);
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int x = 0; x < pw; x++) {
            int x0 = (int)((double)x * grid->width / pw);
            int x1 = (int)((double)(x + 1) * grid->width / pw);
            if (x1 <= x0)
                x1 = x0 + 1;
            /* [0] none, [1..GD_MAX_CLASSES) classes, [GD_MAX_CLASSES] nodata */
            unsigned cnt[GD_MAX_CLASSES + 1] = {0};
            for (int yy = y0; yy < y1 && yy < grid->height; yy++)
                for (int xx = x0; xx < x1 && xx < grid->width; xx++) {
                    uint8_t c = classes[(size_t)yy * (size_t)grid->width + (size_t)xx];
                    cnt[c == 255 ? GD_MAX_CLASSES : c < GD_MAX_CLASSES ? c : 0]++;
                }
            unsigned tot = 0, changed = 0;
            int best = 1;
            for (int k = 0; k <= GD_MAX_CLASSES; k++)
                tot += cnt[k];
            for (int k = 1; k < GD_MAX_CLASSES; k++) {
                changed += cnt[k];
                if (cnt[k] > cnt[best]) /* ties go to the lower class value */
                    best = k;
            }
            uint8_t v = 0;
            if (4 * changed >= tot && changed > 0)
                v = (uint8_t)best;
            else if (2 * cnt[GD_MAX_CLASSES] > tot)
                v = 255;
            out[(size_t)y * (size_t)pw + (size_t)x] = v;
        }
    }
    return out;
}

enum { PANEL_IMAGE, PANEL_CHANGE, PANEL_TINT };

static cairo_surface_t *panel_surface(const panel_img *p, const float lo[3], const float hi[3],
                                      const uint8_t *pcls, const gd_method *m, int kind, int pw,
                                      int ph)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pw, ph);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    cairo_surface_flush(s);
    unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < ph; y++) {
        uint32_t *px = (uint32_t *)(d + (size_t)y * (size_t)stride);
        for (int x = 0; x < pw; x++) {
            size_t i = (size_t)y * (size_t)pw + (size_t)x;
            double c[3];
            int ok = pixel_rgb(p, i, lo, hi, c);
            uint8_t cls = pcls ? pcls[i] : 0;
            int changed = kind != PANEL_IMAGE && cls >= 1 && cls < GD_MAX_CLASSES && m->class_names[cls];
            if (kind == PANEL_CHANGE) {
                /* a pale grey context keeps the class colours the only saturated ones */
                double g = ok ? (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) : 0;
                c[0] = c[1] = c[2] = 150.0 + 0.4 * g;
                if ((!ok && !changed) || cls == 255) {
                    px[x] = NODATA_RGB | 0xff000000u;
                    continue;
                }
                if (changed)
                    for (int k = 0; k < 3; k++)
                        c[k] = m->class_rgb[cls][k];
            } else {
                if (!ok) {
                    px[x] = NODATA_RGB | 0xff000000u;
                    continue;
                }
                if (changed)
                    /* the change shows through a 70 % tint so the context stays readable */
                    for (int k = 0; k < 3; k++)
                        c[k] = 0.3 * c[k] + 0.7 * m->class_rgb[cls][k];
            }
            px[x] = rgb_of(c[0], c[1], c[2]);
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

/* ---- text ------------------------------------------------------------------------- */

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Shows s at (x, y) (align 0 left, 0.5 centre, 1 right), shrinking the font until it fits
 * max_w; returns the width drawn. */
static double show(cairo_t *cr, double x, double y, double size, int bold, double align,
                   double max_w, const char *s)
{
    font(cr, size, bold);
    double w = text_w(cr, s);
    if (max_w > 0 && w > max_w) {
        font(cr, size * max_w / w, bold);
        w = text_w(cr, s);
    }
    cairo_move_to(cr, x - align * w, y);
    cairo_show_text(cr, s);
    return w;
}

/* Dark text with a white halo: readable on dark and light imagery alike. */
static void show_halo(cairo_t *cr, double x, double y, double size, int bold, double align,
                      double halo, const char *s)
{
    font(cr, size, bold);
    double w = text_w(cr, s);
    cairo_move_to(cr, x - align * w, y);
    cairo_text_path(cr, s);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_width(cr, halo);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_stroke_preserve(cr);
    cairo_set_source_rgb(cr, 0.08, 0.08, 0.08);
    cairo_fill(cr);
}

/* ---- cartographic furniture -------------------------------------------------------- */

typedef struct panel_geom {
    double x, y, w, h; /* on the page */
    double sx, sy;     /* page pixels per grid pixel */
} panel_geom;

static double nice_step(double range)
{
    static const double steps[] = {1 / 3600.0, 2 / 3600.0, 5 / 3600.0, 10 / 3600.0, 15 / 3600.0,
                                   30 / 3600.0, 1 / 60.0, 2 / 60.0, 5 / 60.0, 10 / 60.0,
                                   15 / 60.0, 30 / 60.0, 1, 2, 5, 10, 15, 30, 45, 90};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (range / steps[i] <= 4.0)
            return steps[i];
    return 90;
}

static void fmt_angle(char *buf, size_t n, double v, double step, int is_lat)
{
    const char *hemi = v > 0 ? (is_lat ? "N" : "E") : v < 0 ? (is_lat ? "S" : "W") : "";
    double a = fabs(v);
    if (step >= 1.0 - 1e-9) {
        snprintf(buf, n, "%ld" DEG "%s", lround(a), hemi);
    } else if (step >= 1.0 / 60 - 1e-9) {
        long mins = lround(a * 60.0);
        snprintf(buf, n, "%ld" DEG "%02ld" MINUTE "%s", mins / 60, mins % 60, hemi);
    } else {
        long secs = lround(a * 3600.0);
        snprintf(buf, n, "%ld" DEG "%02ld" MINUTE "%02ld" SECOND "%s", secs / 3600,
                 (secs / 60) % 60, secs % 60, hemi);
    }
}

#define EDGE_SAMPLES 256

/* Lon (is_lat 0) or lat crossings along a panel edge from grid point (x0,y0) to (x1,y1):
 * ticks on the frame and labels outside it. side: 0 bottom, 1 top, 2 left, 3 right;
 * label: draw the text too. */
static void graticule_edge(cairo_t *cr, const georef *r, const panel_geom *pg, double x0,
                           double y0, double x1, double y1, int is_lat, int side, int label,
                           double step, double u)
{
    double v[EDGE_SAMPLES + 1];
    int ok[EDGE_SAMPLES + 1];
    for (int i = 0; i <= EDGE_SAMPLES; i++) {
        double t = (double)i / EDGE_SAMPLES, lon = 0, lat = 0;
        ok[i] = px_to_ll(r, x0 + t * (x1 - x0), y0 + t * (y1 - y0), &lon, &lat) == GD_OK;
        v[i] = is_lat ? lat : lon;
    }
    for (int i = 0; i < EDGE_SAMPLES; i++) {
        if (!ok[i] || !ok[i + 1] || fabs(v[i + 1] - v[i]) > 180)
            continue;
        double k0 = floor(v[i] / step), k1 = floor(v[i + 1] / step);
        if (k0 == k1)
            continue;
        double line = fmax(k0, k1) * step;
        double t = ((double)i + (line - v[i]) / (v[i + 1] - v[i])) / EDGE_SAMPLES;
        double gx = x0 + t * (x1 - x0), gy = y0 + t * (y1 - y0);
        double px = pg->x + gx * pg->sx, py = pg->y + gy * pg->sy;
        double len = 5 * u;
        double dx = side == 2 ? 1 : side == 3 ? -1 : 0, dy = side == 0 ? -1 : side == 1 ? 1 : 0;
        /* a tick inward with a halo so it shows on any imagery */
        cairo_move_to(cr, px, py);
        cairo_line_to(cr, px + dx * len, py + dy * len);
        cairo_set_line_width(cr, 2.2 * u);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_stroke_preserve(cr);
        cairo_set_line_width(cr, 0.9 * u);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_stroke(cr);
        if (!label)
            continue;
        char s[48];
        fmt_angle(s, sizeof s, line, step, is_lat);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        /* a label that would run past the frame into the next panel is left out */
        font(cr, 7 * u, 0);
        double hw = text_w(cr, s) / 2, slack = 3 * u;
        if (side == 0) {
            if (px - hw < pg->x - slack || px + hw > pg->x + pg->w + slack)
                continue;
            show(cr, px, py + 9 * u, 7 * u, 0, 0.5, 0, s);
        } else if (side == 2 || side == 3) {
            if (py - hw < pg->y - slack || py + hw > pg->y + pg->h + slack)
                continue;
            cairo_save(cr);
            cairo_translate(cr, side == 2 ? px - 3 * u : px + 3 * u, py);
            cairo_rotate(cr, side == 2 ? -M_PI / 2 : M_PI / 2);
            show(cr, 0, 0, 7 * u, 0, 0.5, 0, s);
            cairo_restore(cr);
        }
    }
}

/* Edge ranges of lon and lat over the panel, for the step. */
static void ll_ranges(const georef *r, const gd_grid *g, double *lon_range, double *lat_range)
{
    double lomin = 1e9, lomax = -1e9, lamin = 1e9, lamax = -1e9;
    for (int i = 0; i <= 32; i++)
        for (int e = 0; e < 4; e++) {
            double t = i / 32.0, x, y, lon, lat;
            x = e < 2 ? t * g->width : (e == 2 ? 0 : g->width);
            y = e < 2 ? (e == 0 ? g->height : 0) : t * g->height;
            if (px_to_ll(r, x, y, &lon, &lat) != GD_OK)
                continue;
            lomin = fmin(lomin, lon);
            lomax = fmax(lomax, lon);
            lamin = fmin(lamin, lat);
            lamax = fmax(lamax, lat);
        }
    *lon_range = lomax > lomin ? lomax - lomin : 1;
    *lat_range = lamax > lamin ? lamax - lamin : 1;
}

static void graticule(cairo_t *cr, const georef *r, const gd_grid *g, const panel_geom *pg,
                      int lat_left, int lat_right, double u)
{
    double lor, lar;
    ll_ranges(r, g, &lor, &lar);
    double slon = nice_step(lor), slat = nice_step(lar);
    double W = g->width, H = g->height;
    graticule_edge(cr, r, pg, 0, H, W, H, 0, 0, 1, slon, u);
    graticule_edge(cr, r, pg, 0, 0, W, 0, 0, 1, 0, slon, u);
    graticule_edge(cr, r, pg, 0, H, 0, 0, 1, 2, lat_left, slat, u);
    graticule_edge(cr, r, pg, W, H, W, 0, 1, 3, lat_right, slat, u);
}

static void box(cairo_t *cr, double x, double y, double w, double h)
{
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.92);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_stroke(cr);
}

static void fmt_length(char *buf, size_t n, double m)
{
    if (m >= 1000)
        snprintf(buf, n, "%g km", m / 1000);
    else
        snprintf(buf, n, "%g m", m);
}

/* Scale bar at the panel's bottom left, its length measured geodesically along the
 * image row through the map centre. */
static void scale_bar(cairo_t *cr, const georef *r, const gd_grid *g, const panel_geom *pg,
                      double u)
{
    double mpp;
    if (metres_per_pixel(r, g->width / 2.0, g->height / 2.0, &mpp) != GD_OK)
        return;
    double m_per_page_px = mpp / pg->sx;
    double len_m = gd_map_round_length(0.3 * pg->w * m_per_page_px);
    if (!(len_m > 0))
        return;
    double len = len_m / m_per_page_px;
    double bh = 3.2 * u, pad = 4 * u;
    char b[32];
    fmt_length(b, sizeof b, len_m);
    font(cr, 6.5 * u, 0);
    double tail = text_w(cr, b) / 2;
    double bw = len + 2 * pad + tail + 2 * u, bhgt = bh + 13 * u;
    double bx = pg->x + 5 * u, by = pg->y + pg->h - bhgt - 5 * u;
    cairo_set_line_width(cr, 0.6 * u);
    box(cr, bx, by, bw, bhgt);
    double x0 = bx + pad, y0 = by + bhgt - pad - bh;
    for (int i = 0; i < 4; i++) {
        cairo_rectangle(cr, x0 + i * len / 4, y0, len / 4, bh);
        if (i % 2 == 0)
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        else
            cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill(cr);
    }
    cairo_rectangle(cr, x0, y0, len, bh);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_line_width(cr, 0.5 * u);
    cairo_stroke(cr);
    show(cr, x0, y0 - 2 * u, 6.5 * u, 0, 0.5, 0, "0");
    show(cr, x0 + len, y0 - 2 * u, 6.5 * u, 0, 0.5, 0, b);
}

/* North arrow at the panel's top right, rotated to true north at the map centre. */
static void north_arrow(cairo_t *cr, const georef *r, const gd_grid *g, const panel_geom *pg,
                        double u)
{
    double ang;
    if (north_angle(r, g->width / 2.0, g->height / 2.0, &ang) != GD_OK)
        return;
    /* the box holds the arrow and its letter whatever the angle */
    double s = 30 * u, rr = 7 * u;
    double bx = pg->x + pg->w - s - 5 * u, by = pg->y + 5 * u;
    cairo_set_line_width(cr, 0.6 * u);
    box(cr, bx, by, s, s);
    double cx = bx + s / 2, cy = by + s / 2;
    cairo_save(cr);
    cairo_translate(cr, cx, cy);
    cairo_rotate(cr, ang);
    /* the classic half-filled arrow */
    cairo_move_to(cr, 0, -rr);
    cairo_line_to(cr, -0.5 * rr, 0.8 * rr);
    cairo_line_to(cr, 0, 0.45 * rr);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_fill(cr);
    cairo_move_to(cr, 0, -rr);
    cairo_line_to(cr, 0.5 * rr, 0.8 * rr);
    cairo_line_to(cr, 0, 0.45 * rr);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_line_width(cr, 0.5 * u);
    cairo_stroke(cr);
    /* the letter stays upright, placed beyond the tip */
    cairo_restore(cr);
    double lx = cx + sin(ang) * (rr + 4 * u), ly = cy - cos(ang) * (rr + 4 * u);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    show(cr, lx, ly + 3 * u, 8 * u, 1, 0.5, 0, "N");
}

/* Unhinted outlines: glyph shapes then depend on the font, not on the machine's hinting
 * settings, which keeps renderings comparable across machines. */
static void unhinted_fonts(cairo_t *cr)
{
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
}

/* The furniture of one panel: graticule ticks on its frame with labels below it and
 * beside it (lat_left, lat_right), and with bar_arrow the scale bar and the north arrow;
 * map.png draws it on each of its panels, gd_map_furniture on other maps of a grid. */
static void furniture(cairo_t *cr, const georef *r, const gd_grid *g, const panel_geom *pg,
                      int lat_left, int lat_right, int bar_arrow, double u)
{
    graticule(cr, r, g, pg, lat_left, lat_right, u);
    if (bar_arrow) {
        scale_bar(cr, r, g, pg, u);
        north_arrow(cr, r, g, pg, u);
    }
}

int gd_map_furniture(void *cairo, const gd_grid *grid, double x, double y, double w, double h,
                     double u)
{
    cairo_t *cr = cairo;
    georef r;
    if (!grid || grid->width <= 0 || grid->height <= 0 || georef_init(grid, &r) != GD_OK)
        return GD_EINPUT;
    panel_geom pg = {x, y, w, h, w / grid->width, h / grid->height};
    cairo_save(cr);
    unhinted_fonts(cr); /* map.png's: the labels' glyphs depend on the font only */
    furniture(cr, &r, grid, &pg, 1, 1, 1, u);
    cairo_restore(cr);
    georef_free(&r);
    return GD_OK;
}

/* ---- overlays --------------------------------------------------------------------- */

typedef struct overlay {
    OGRGeometryH *geom; /* in the grid's CRS */
    char **label;
    size_t n;
} overlay;

static void overlay_free(overlay *o)
{
    for (size_t i = 0; i < o->n; i++) {
        OGR_G_DestroyGeometry(o->geom[i]);
        CPLFree(o->label[i]);
    }
    free(o->geom);
    free(o->label);
    memset(o, 0, sizeof *o);
}

static int overlay_read(gd_job *job, const gd_grid *grid, const char *path, const char *field,
                        int labels, overlay *o)
{
    int st = GD_OK;
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    OGRSpatialReferenceH gsrs = NULL, lsrs = NULL;
    OGRCoordinateTransformationH ct = NULL;
    memset(o, 0, sizeof *o);
    if (!ds || GDALDatasetGetLayerCount(ds) < 1) {
        st = gd_job_error_gdal(job, GD_EINPUT, "map overlay %s: not a vector file GDAL reads", path);
        goto done;
    }
    OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int fi = -1;
    if (labels) {
        if (field) {
            fi = OGR_FD_GetFieldIndex(defn, field);
            if (fi < 0) {
                st = gd_job_error(job, GD_EINPUT, "map overlay %s has no field '%s'", path, field);
                goto done;
            }
        } else {
            for (int k = 0; k < OGR_FD_GetFieldCount(defn) && fi < 0; k++)
                if (OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, k)) == OFTString)
                    fi = k;
        }
    }
    OGRSpatialReferenceH l = OGR_L_GetSpatialRef(layer);
    if (l && grid->wkt) {
        lsrs = OSRClone(l);
        gsrs = OSRNewSpatialReference(NULL);
        OSRSetFromUserInput(gsrs, grid->wkt);
        OSRSetAxisMappingStrategy(lsrs, OAMS_TRADITIONAL_GIS_ORDER);
        OSRSetAxisMappingStrategy(gsrs, OAMS_TRADITIONAL_GIS_ORDER);
        if (!OSRIsSame(lsrs, gsrs)) {
            ct = OCTNewCoordinateTransformation(lsrs, gsrs);
            if (!ct) {
                st = gd_job_error_gdal(job, GD_EINPUT, "map overlay %s: cannot transform its "
                                                        "CRS to the grid's", path);
                goto done;
            }
        }
    }
    OGR_L_ResetReading(layer);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        if (g) {
            OGRGeometryH c = OGR_G_Clone(g);
            if (ct && OGR_G_Transform(c, ct) != OGRERR_NONE) {
                OGR_G_DestroyGeometry(c);
                OGR_F_Destroy(f);
                continue;
            }
            void *ng = realloc(o->geom, sizeof *o->geom * (o->n + 1));
            void *nl = ng ? realloc(o->label, sizeof *o->label * (o->n + 1)) : NULL;
            if (ng)
                o->geom = ng;
            if (!ng || !nl) {
                OGR_G_DestroyGeometry(c);
                OGR_F_Destroy(f);
                st = gd_job_error(job, GD_EPROC, "out of memory reading %s", path);
                goto done;
            }
            o->label = nl;
            o->geom[o->n] = c;
            o->label[o->n] = fi >= 0 && OGR_F_IsFieldSetAndNotNull(f, fi)
                                 ? CPLStrdup(OGR_F_GetFieldAsString(f, fi))
                                 : NULL;
            o->n++;
        }
        OGR_F_Destroy(f);
    }
done:
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (lsrs)
        OSRDestroySpatialReference(lsrs);
    if (gsrs)
        OSRDestroySpatialReference(gsrs);
    if (ds)
        GDALClose(ds);
    if (st != GD_OK)
        overlay_free(o);
    return st;
}

static void to_page(const double inv[6], const panel_geom *pg, double X, double Y, double *px,
                    double *py)
{
    double x = inv[0] + X * inv[1] + Y * inv[2], y = inv[3] + X * inv[4] + Y * inv[5];
    *px = pg->x + x * pg->sx;
    *py = pg->y + y * pg->sy;
}

static void geom_path(cairo_t *cr, OGRGeometryH g, const double inv[6], const panel_geom *pg)
{
    int n = OGR_G_GetGeometryCount(g);
    if (n > 0) {
        for (int i = 0; i < n; i++)
            geom_path(cr, OGR_G_GetGeometryRef(g, i), inv, pg);
        return;
    }
    int np = OGR_G_GetPointCount(g);
    for (int i = 0; i < np; i++) {
        double px, py;
        to_page(inv, pg, OGR_G_GetX(g, i), OGR_G_GetY(g, i), &px, &py);
        if (i == 0)
            cairo_move_to(cr, px, py);
        else
            cairo_line_to(cr, px, py);
    }
    if (np > 2 && OGR_G_GetX(g, 0) == OGR_G_GetX(g, np - 1) &&
        OGR_G_GetY(g, 0) == OGR_G_GetY(g, np - 1))
        cairo_close_path(cr);
}

static void draw_overlay(cairo_t *cr, const overlay *o, const double inv[6],
                         const panel_geom *pg, int aoi, double u)
{
    cairo_save(cr);
    cairo_rectangle(cr, pg->x, pg->y, pg->w, pg->h);
    cairo_clip(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t i = 0; i < o->n; i++) {
        cairo_new_path(cr);
        geom_path(cr, o->geom[i], inv, pg);
        cairo_set_line_width(cr, (aoi ? 4.2 : 3.4) * u);
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_stroke_preserve(cr);
        if (aoi) {
            double dash[2] = {5 * u, 2.5 * u};
            cairo_set_dash(cr, dash, 2, 0);
        }
        cairo_set_line_width(cr, (aoi ? 2.0 : 1.6) * u);
        cairo_set_source_rgb(cr, aoi ? 0.0 : 0.2, aoi ? 0.0 : 0.2, aoi ? 0.0 : 0.2);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    for (size_t i = 0; i < o->n && !aoi; i++) {
        if (!o->label[i] || !*o->label[i])
            continue;
        OGRGeometryH p = OGR_G_PointOnSurface(o->geom[i]);
        if (!p)
            continue;
        double px, py;
        to_page(inv, pg, OGR_G_GetX(p, 0), OGR_G_GetY(p, 0), &px, &py);
        OGR_G_DestroyGeometry(p);
        if (px > pg->x && px < pg->x + pg->w && py > pg->y && py < pg->y + pg->h)
            show_halo(cr, px, py, 7 * u, 1, 0.5, 2 * u, o->label[i]);
    }
    cairo_restore(cr);
}

/* ---- PNG -------------------------------------------------------------------------- */

/* ---- the page --------------------------------------------------------------------- */

static void sensor_of(GDALDatasetH ds, char *buf, size_t n)
{
    static const char *const keys[] = {"SENSOR", "SPACECRAFT_NAME", "SPACECRAFT", "SATELLITE",
                                       "PLATFORM", "MISSION", "SPACECRAFT_ID", NULL};
    static const char *const ids[] = {"SOURCE_PRODUCT", "PRODUCT_ID", "PRODUCT_URI",
                                      "LANDSAT_PRODUCT_ID", NULL};
    static const struct { const char *prefix, *name; } known[] = {
        {"S2A", "Sentinel-2A MSI"}, {"S2B", "Sentinel-2B MSI"}, {"S2C", "Sentinel-2C MSI"},
        {"S1A", "Sentinel-1A SAR"}, {"S1B", "Sentinel-1B SAR"}, {"LC08", "Landsat 8 OLI"},
        {"LC09", "Landsat 9 OLI"}, {"LE07", "Landsat 7 ETM+"}, {"LT05", "Landsat 5 TM"}};
    buf[0] = '\0';
    if (!ds)
        return;
    for (int i = 0; keys[i]; i++) {
        const char *v = GDALGetMetadataItem(ds, keys[i], NULL);
        if (v && *v) {
            snprintf(buf, n, "%s", v);
            return;
        }
    }
    for (int i = 0; ids[i]; i++) {
        const char *v = GDALGetMetadataItem(ds, ids[i], NULL);
        if (!v)
            continue;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (strncmp(v, known[k].prefix, strlen(known[k].prefix)) == 0) {
                snprintf(buf, n, "%s", known[k].name);
                return;
            }
    }
}

/* "20150704" -> "2015-07-04"; other forms unchanged. */
static void fmt_date(const char *d, char *buf, size_t n)
{
    if (!d || !*d)
        snprintf(buf, n, "(date unknown)");
    else if (strlen(d) == 8 && strspn(d, "0123456789") == 8)
        snprintf(buf, n, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    else
        snprintf(buf, n, "%s", d);
}

static void projection_line(const gd_grid *grid, char *buf, size_t n)
{
    if (!grid->wkt) {
        snprintf(buf, n, "No coordinate reference system: pixel grid; no scale bar, north "
                         "arrow or graticule");
        return;
    }
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    const char *name = NULL, *auth = NULL, *code = NULL;
    if (OSRSetFromUserInput(s, grid->wkt) == OGRERR_NONE) {
        if (!OSRGetAuthorityCode(s, NULL))
            OSRAutoIdentifyEPSG(s);
        name = OSRGetName(s);
        auth = OSRGetAuthorityName(s, NULL);
        code = OSRGetAuthorityCode(s, NULL);
    }
    char id[64] = "no EPSG code";
    if (auth && code)
        snprintf(id, sizeof id, "%s:%s", auth, code);
    snprintf(buf, n, "Projection %s " EMDASH " %s" MIDDOT "graticule in geographic lon/lat"
             MIDDOT "scale bar true at the map centre (geodesic)%s", id,
             name ? name : "unnamed CRS",
             OSRIsGeographic(s) ? ", east" ENDASH "west only: degrees are not square on the "
                                  "ground" : "");
    OSRDestroySpatialReference(s);
}

/* Footer text of the classification: a threshold, or the name of fixed class breaks
 * (threshold NaN, e.g. the USGS burn-severity classes). */
static void threshold_text(const gd_map_spec *spec, char *buf, size_t len)
{
    const char *mode = spec->threshold_mode ? spec->threshold_mode : "fixed";
    if (isnan(spec->threshold))
        snprintf(buf, len, "%s classes", mode);
    else
        snprintf(buf, len, "threshold %.4g (%s)", spec->threshold, mode);
}

/* The panels' size on the page (before the grid's own size caps what is read). */
static void panel_layout(const gd_map_spec *spec, const gd_grid *grid, int triptych, int *pw,
                         int *ph)
{
    int npan = triptych ? 3 : 1;
    double dpi = spec->dpi > 0 ? spec->dpi : DEFAULT_DPI;
    int W = spec->width > 0 ? spec->width : (int)lround(A4_LANDSCAPE_MM / 25.4 * dpi);
    double u = W / 1000.0;
    double M = 14 * u, LM = 12 * u, RM = 12 * u, G = 8 * u;
    double aspect = (double)grid->height / grid->width;
    double avail = W - 2 * M - LM - RM - (npan - 1) * G;
    double pwd = avail / npan;
    double max_h = triptych ? 1.4 * pwd : 0.75 * W;
    if (pwd * aspect > max_h)
        pwd = max_h / aspect;
    *pw = (int)floor(pwd);
    *ph = (int)lround(pwd * aspect);
    if (*pw < 1)
        *pw = 1;
    if (*ph < 1)
        *ph = 1;
}

void gd_map_panel_size(const gd_map_spec *spec, const gd_grid *grid, int triptych, int *w,
                       int *h)
{
    int pw, ph;
    panel_layout(spec, grid, triptych, &pw, &ph);
    /* never more pixels than the grid has: a small scene is enlarged by Cairo */
    *w = pw > grid->width ? grid->width : pw;
    *h = ph > grid->height ? grid->height : ph;
}

int gd_render_map(gd_job *job, const gd_grid *grid, const gd_map_image *before,
                  const gd_map_image *after, const uint8_t *classes, const gd_method *m,
                  const gd_class_total totals[GD_MAX_CLASSES], const gd_map_spec *spec,
                  const char *path)
{
    int st = GD_OK;
    double t0 = gd_now();
    int triptych = spec->layout == GD_MAP_TRIPTYCH && before != NULL;
    int npan = triptych ? 3 : 1;
    double dpi = spec->dpi > 0 ? spec->dpi : DEFAULT_DPI;
    int W = spec->width > 0 ? spec->width : (int)lround(A4_LANDSCAPE_MM / 25.4 * dpi);
    /* every length is in units of a thousandth of the page width: the same layout at
     * any size, and 1 unit = 0.297 mm on an A4 print */
    double u = W / 1000.0;
    double M = 14 * u, G = 8 * u;
    int pw, ph;
    panel_layout(spec, grid, triptych, &pw, &ph);
    double header = M + 44 * u, caption = triptych ? 14 * u : 0;
    /* more than 3 named classes (class tables such as nbr's USGS severity) take two
     * legend rows: one row would run off the page */
    int nnamed = 0;
    for (int c = 1; c < GD_MAX_CLASSES; c++)
        nnamed += m->class_names[c] != NULL;
    int legend_rows = nnamed > 3 ? 2 : 1, per_row = (nnamed + legend_rows - 1) / legend_rows;
    double below = 14 * u + 16 * u + 4 * 11 * u + 0.5 * M + (legend_rows - 1) * 13 * u;
    int H = (int)ceil(header + caption + ph + below);
    double row_w = npan * pw + (npan - 1) * G;
    double px0 = (W - row_w) / 2.0, py0 = header + caption;

    panel_img ib = {0}, ia = {0};
    uint8_t *pcls = NULL;
    cairo_surface_t *ps[3] = {NULL, NULL, NULL}, *surf = NULL, *rec = NULL;
    double change_panel[4] = {0, 0, 0, 0};
    cairo_t *cr = NULL;
    georef gr;
    int have_geo = georef_init(grid, &gr) == GD_OK;
    overlay zones = {0}, aoi = {0};
    char *desc = NULL;
    panels_task pt_panels = {.n = 0};
    pthread_t panels_th;
    int panels_threaded = 0;

    if (spec->zones && (st = overlay_read(job, grid, spec->zones, spec->zone_field, 1, &zones)) != GD_OK)
        goto done;
    if (spec->aoi && (st = overlay_read(job, grid, spec->aoi, NULL, 0, &aoi)) != GD_OK)
        goto done;
    /* never read more pixels than the grid has: a small scene is enlarged by Cairo with
     * crisp nearest-neighbour pixels instead of being resampled by the warper */
    int rw, rh;
    gd_map_panel_size(spec, grid, triptych, &rw, &rh);
    {
        /* on a thread whatever the job's count: the two reads wait on two datasets; with
         * no thread the before panel is read after the after one */
        panel_arg bt = {grid, before, rw, rh, &ib};
        gd_task t = {0};
        if (triptych)
            gd_task_start(job, &t, panel_task, &bt, GD_TASK_ALWAYS | GD_TASK_AT_JOIN);
        st = read_panel(job, grid, after, rw, rh, &ia);
        st = gd_task_join(job, &t, st); /* its warnings, and its error unless st has one */
        if (st != GD_OK)
            goto done;
    }
    double t_read = gd_now() - t0;
    if (triptych && ib.nb != ia.nb) {
        st = gd_job_error(job, GD_EINPUT, "the map needs the same kind of display bands on "
                                          "both dates");
        goto done;
    }
    float lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
    size_t np = (size_t)rw * (size_t)rh;
    for (int b = 0; b < ia.nb; b++)
        stretch_limits(ia.band[b], triptych ? ib.band[b] : NULL, np, spec->stretch_lo,
                       spec->stretch_hi, &lo[b], &hi[b]);
    pcls = panel_classes(grid, classes, rw, rh);
    if (!pcls) {
        st = gd_job_error(job, GD_EPROC, "out of memory for the map");
        goto done;
    }
    if (triptych) {
        ps[0] = panel_surface(&ib, lo, hi, NULL, m, PANEL_IMAGE, rw, rh);
        ps[1] = panel_surface(&ia, lo, hi, NULL, m, PANEL_IMAGE, rw, rh);
        ps[2] = panel_surface(&ia, lo, hi, pcls, m, PANEL_CHANGE, rw, rh);
    } else {
        ps[0] = panel_surface(&ia, lo, hi, pcls, m, PANEL_TINT, rw, rh);
    }
    for (int i = 0; i < npan; i++)
        if (cairo_surface_status(ps[i]) != CAIRO_STATUS_SUCCESS) {
            st = gd_job_error(job, GD_EPROC, "cannot create a %dx%d image", rw, rh);
            goto done;
        }
    if (spec->panels) {
        pt_panels.out = spec->panels;
        pt_panels.level = spec->compression;
        for (int i = 0; i < npan; i++) {
            pt_panels.slot[i] = triptych ? i : 2;
            if (!(pt_panels.s[i] = surface_copy(ps[i]))) {
                st = gd_job_error(job, GD_EPROC, "out of memory for the map's panels");
                goto done;
            }
            pt_panels.n = i + 1;
        }
        if (pthread_create(&panels_th, NULL, panels_thread, &pt_panels) == 0)
            panels_threaded = 1;
        else
            panels_thread(&pt_panels); /* no thread: encoded here */
    }

    /* drawn once on a recording surface, replayed onto the PNG's pixels and, with
     * spec->pdf_path, onto a PDF page as vectors and text */
    rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA,
                                         &(cairo_rectangle_t){0, 0, W, H});
    cr = cairo_create(rec);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        st = gd_job_error(job, GD_EPROC, "cannot create a %dx%d map", W, H);
        goto done;
    }
    unhinted_fonts(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);

    /* ---- header ---- */
    char sensor[128] = "", dbuf[32], abuf[32], sub[1024];
    if (spec->sensor)
        snprintf(sensor, sizeof sensor, "%s", spec->sensor);
    else
        sensor_of(before ? before->ds : after->ds, sensor, sizeof sensor);
    fmt_date(spec->date_before, dbuf, sizeof dbuf);
    fmt_date(spec->date_after, abuf, sizeof abuf);
    snprintf(sub, sizeof sub, "%s%sBefore %s " EMDASH " after %s%s%s", spec->area ? spec->area : "",
             spec->area ? MIDDOT : "", dbuf, abuf, *sensor ? MIDDOT : "", sensor);
    const char *title = spec->title ? spec->title : "Change detection";
    cairo_set_source_rgb(cr, 0.08, 0.08, 0.08);
    show(cr, M, M + 17 * u, 19 * u, 1, 0, W - 2 * M, title);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    show(cr, M, M + 33 * u, 10.5 * u, 0, 0, W - 2 * M, sub);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 0.5 * u);
    cairo_move_to(cr, M, header - 6 * u);
    cairo_line_to(cr, W - M, header - 6 * u);
    cairo_stroke(cr);

    /* ---- panels ---- */
    for (int i = 0; i < npan; i++) {
        panel_geom pg = {px0 + i * (pw + G), py0, pw, ph, (double)pw / grid->width,
                         (double)ph / grid->height};
        cairo_save(cr);
        cairo_rectangle(cr, pg.x, pg.y, pg.w, pg.h);
        cairo_clip(cr);
        cairo_translate(cr, pg.x, pg.y);
        cairo_scale(cr, (double)pw / rw, (double)ph / rh);
        cairo_set_source_surface(cr, ps[i], 0, 0);
        /* enlarged pixels stay crisp squares; slight enlargements are smoothed */
        cairo_pattern_set_filter(cairo_get_source(cr), (double)pw / rw >= 2.0
                                                           ? CAIRO_FILTER_NEAREST
                                                           : CAIRO_FILTER_BILINEAR);
        cairo_paint(cr);
        cairo_restore(cr);
        if (triptych) {
            char cap[128];
            if (i < 2)
                snprintf(cap, sizeof cap, "%s %s", i == 0 ? "Before" : "After", i == 0 ? dbuf : abuf);
            else
                snprintf(cap, sizeof cap, "Change (%s)", m->name);
            cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
            show(cr, pg.x, pg.y - 4 * u, 9 * u, 1, 0, pw, cap);
        }
        for (int k = 0; k < 2; k++) {
            const overlay *o = k == 0 ? &zones : &aoi;
            if (o->n)
                draw_overlay(cr, o, have_geo ? gr.inv : (double[6]){0, 1, 0, 0, 0, 1}, &pg, k,
                             u);
        }
        if (i == npan - 1) { /* the change panel (or the single one) */
            change_panel[0] = pg.x, change_panel[1] = pg.y;
            change_panel[2] = pg.w, change_panel[3] = pg.h;
        }
        cairo_rectangle(cr, pg.x, pg.y, pg.w, pg.h);
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        cairo_set_line_width(cr, 0.6 * u);
        cairo_stroke(cr);
        if (have_geo)
            furniture(cr, &gr, grid, &pg, i == 0, i == npan - 1, i == npan - 1, u);
    }

    /* ---- legend ---- */
    double y = py0 + ph + 14 * u + 12 * u, x = M;
    for (int c = 1, shown = 0; c < GD_MAX_CLASSES; c++) {
        if (!m->class_names[c])
            continue;
        if (shown++ == per_row && legend_rows > 1) {
            x = M;
            y += 13 * u;
        }
        char label[256];
        if (isnan(totals[c].area_ha))
            snprintf(label, sizeof label, "%s: %llu px", m->class_names[c],
                     (unsigned long long)totals[c].pixels);
        else
            snprintf(label, sizeof label, "%s: %.2f ha", m->class_names[c], totals[c].area_ha);
        if (totals[c].has_people) {
            char ppl[64];
            gd_people_text(totals[c].people, ppl, sizeof ppl);
            size_t used = strlen(label);
            snprintf(label + used, sizeof label - used, ", %s", ppl);
        }
        cairo_rectangle(cr, x, y - 7.5 * u, 14 * u, 9 * u);
        cairo_set_source_rgb(cr, m->class_rgb[c][0] / 255.0, m->class_rgb[c][1] / 255.0,
                             m->class_rgb[c][2] / 255.0);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_set_line_width(cr, 0.4 * u);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        x += 18 * u + show(cr, x + 18 * u, y, 9 * u, 0, 0, 0, label) + 16 * u;
    }
    int any_nodata = 0;
    for (size_t i = 0; i < np && !any_nodata; i++)
        any_nodata = pcls[i] == 255 || isnan(ia.band[0][i]);
    if (any_nodata) {
        cairo_rectangle(cr, x, y - 7.5 * u, 14 * u, 9 * u);
        cairo_set_source_rgb(cr, (NODATA_RGB >> 16) / 255.0, ((NODATA_RGB >> 8) & 0xff) / 255.0,
                             (NODATA_RGB & 0xff) / 255.0);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_set_line_width(cr, 0.4 * u);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        x += 18 * u + show(cr, x + 18 * u, y, 9 * u, 0, 0, 0, "no data") + 16 * u;
    }
    if (zones.n || aoi.n) {
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        show(cr, x, y, 8 * u, 0, 0, 0,
             zones.n && aoi.n ? "lines: zones (solid), area of interest (dashed)"
             : zones.n        ? "lines: zones" : "dashed line: area of interest");
    }

    /* ---- information lines ---- */
    char line[2048], proj[512];
    projection_line(grid, proj, sizeof proj);
    double ly = y + 16 * u, fs = 7.5 * u, maxw = W - 2 * M;
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    show(cr, M, ly, fs, 0, 0, maxw, proj);
    snprintf(line, sizeof line,
             "Imagery: %s, %g" ENDASH "%g %% stretch%s" MIDDOT "Data: %s%s%s%s%s%s%s%s%s%s%s%s%s%s%s",
             after->names, spec->stretch_lo, spec->stretch_hi,
             triptych ? " shared by both dates" : "",
             spec->before_path ? CPLGetFilename(spec->before_path) : "",
             spec->before_path && spec->after_path ? ", " : "",
             spec->after_path ? CPLGetFilename(spec->after_path) : "",
             spec->population ? "; population: " : "",
             spec->population ? CPLGetFilename(spec->population) : "",
             spec->population && spec->population_date ? " (" : "",
             spec->population && spec->population_date ? spec->population_date : "",
             spec->population && spec->population_date ? ")" : "",
             spec->exposure ? "; exposure: " : "",
             spec->exposure ? CPLGetFilename(spec->exposure) : "",
             spec->exposure && spec->exposure_date ? " (" : "",
             spec->exposure && spec->exposure_date ? spec->exposure_date : "",
             spec->exposure && spec->exposure_date ? ")" : "",
             spec->credit ? MIDDOT "Credit: " : "", spec->credit ? spec->credit : "");
    ly += 11 * u;
    show(cr, M, ly, fs, 0, 0, maxw, line);
    ly += 11 * u;
    cairo_set_source_rgb(cr, 0.62, 0.22, 0.0);
    const char *caveat = spec->caveat ? spec->caveat : DEFAULT_CAVEAT;
    char cav[512];
    if (spec->note) {
        snprintf(cav, sizeof cav, "%s" MIDDOT "%s", caveat, spec->note);
        caveat = cav;
    }
    show(cr, M, ly, fs, 1, 0, maxw, caveat);
    char thr[96];
    threshold_text(spec, thr, sizeof thr);
    snprintf(line, sizeof line, "geodelta %s" MIDDOT "method %s, %s%s%s", GD_VERSION, m->name,
             thr, spec->run_id ? MIDDOT "run " : "", spec->run_id ? spec->run_id : "");
    ly += 11 * u;
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    show(cr, M, ly, 6.5 * u, 0, 0, maxw, line);

    surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    {
        cairo_t *ic = cairo_create(surf);
        cairo_set_source_surface(ic, rec, 0, 0);
        cairo_paint(ic);
        cairo_destroy(ic);
    }
    cairo_surface_flush(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS ||
        cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        st = gd_job_error(job, GD_EPROC, "drawing the map failed: %s",
                          cairo_status_to_string(cairo_status(cr)));
        goto done;
    }
    {
        char cls[512] = "";
        for (int c = 1; c < GD_MAX_CLASSES; c++) {
            if (!m->class_names[c])
                continue;
            size_t used = strlen(cls);
            if (isnan(totals[c].area_ha))
                snprintf(cls + used, sizeof cls - used, "; %s %llu px", m->class_names[c],
                         (unsigned long long)totals[c].pixels);
            else
                snprintf(cls + used, sizeof cls - used, "; %s %.2f ha", m->class_names[c],
                         totals[c].area_ha);
        }
        if (isnan(spec->threshold))
            desc = CPLStrdup(CPLSPrintf("%s. Change by %s (%s classes)%s. %s", sub, m->name,
                                        spec->threshold_mode ? spec->threshold_mode : "fixed",
                                        cls, proj));
        else
            desc = CPLStrdup(CPLSPrintf("%s. Change by %s (threshold %.4g, %s)%s. %s", sub,
                                        m->name, spec->threshold,
                                        spec->threshold_mode ? spec->threshold_mode : "fixed",
                                        cls, proj));
        char source[2048];
        /* file names only: the same inputs elsewhere give the same bytes (the manifest
         * has the full paths) */
        snprintf(source, sizeof source, "%s%s%s",
                 spec->before_path ? CPLGetFilename(spec->before_path) : "",
                 spec->before_path && spec->after_path ? "; " : "",
                 spec->after_path ? CPLGetFilename(spec->after_path) : "");
        png_meta meta[] = {{"Title", title},
                           {"Author", spec->credit},
                           {"Description", desc},
                           {"Software", "geodelta " GD_VERSION},
                           {"Source", source},
                           {"Disclaimer", spec->caveat ? spec->caveat : DEFAULT_CAVEAT},
                           {"RunID", spec->run_id}};
        double t1 = gd_now();
        /* on a thread whatever the job's count (Cairo's PDF surface beside libpng); with
         * no thread, the PDF after the PNG, on this job. Its temporary goes where the
         * job's do (the OUTDIR's private folder), as the PNG's does */
        pdf_arg pa = {rec, W, H, spec, title, desc, change_panel};
        gd_task pt = {0};
        if (spec->pdf_path)
            gd_task_start(job, &pt, pdf_task, &pa,
                          GD_TASK_ALWAYS | GD_TASK_AT_JOIN | GD_TASK_OUTDIR);
        st = write_png(job, surf, path, meta, (int)(sizeof meta / sizeof meta[0]), dpi,
                       spec->compression);
        st = gd_task_join(job, &pt, st); /* its error unless st has one */
        if (pt.threaded && pt.st == GD_OK)
            gd_job_info(job, "map.pdf written in %.2f s (beside the PNG)", pt.seconds);
        if (st == GD_OK)
            gd_job_info(job, "map %dx%d px (%d px panels read at %dx%d): read in %.2f s, "
                             "drawn in %.2f s, encoded in %.2f s", W, H, pw, rw, rh, t_read,
                        t1 - t0 - t_read, gd_now() - t1);

    }
done:
    if (panels_threaded)
        pthread_join(panels_th, NULL);
    if (pt_panels.st != 0 && st == GD_OK)
        st = gd_job_error(job, GD_EPROC, "cannot encode the map's panels");
    for (int i = 0; i < 3; i++)
        if (pt_panels.s[i])
            cairo_surface_destroy(pt_panels.s[i]);
    CPLFree(desc);
    if (cr)
        cairo_destroy(cr);
    if (surf)
        cairo_surface_destroy(surf);
    if (rec)
        cairo_surface_destroy(rec);
    for (int i = 0; i < 3; i++)
        if (ps[i])
            cairo_surface_destroy(ps[i]);
    free(pcls);
    panel_img_free(&ia);
    panel_img_free(&ib);
    overlay_free(&zones);
    overlay_free(&aoi);
    if (have_geo)
        georef_free(&gr);
    return st;
}
