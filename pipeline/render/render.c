/* render.c: the map: after image, change overlay, title, legend (Cairo -> libpng). */
#include "geodelta/stages.h"
#include "geodelta/util.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TITLE_H 78
#define LEGEND_H 96
#define MARGIN 16

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* 2 % and 98 % of the finite values of buf (n values). */
static void stretch_limits(const float *buf, size_t n, float *lo, float *hi)
{
    float *v = malloc(sizeof(float) * n);
    size_t k = 0;
    *lo = 0.0f;
    *hi = 1.0f;
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        if (isfinite(buf[i]))
            v[k++] = buf[i];
    if (k > 0) {
        qsort(v, k, sizeof(float), cmp_float);
        *lo = v[(size_t)(0.02 * (double)(k - 1))];
        *hi = v[(size_t)(0.98 * (double)(k - 1))];
        if (!(*hi > *lo))
            *hi = *lo + 1.0f;
    }
    free(v);
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

static int write_png(gd_job *job, cairo_surface_t *surf, const char *path, const char *title,
                     const char *description)
{
    /* volatile: these live across libpng's setjmp */
    volatile int st = GD_OK;
    char tmp[4096];
    png_structp png = NULL;
    png_infop info = NULL;
    unsigned char *volatile row = NULL;
    FILE *volatile f = NULL;
    png_err *volatile perr = NULL;
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    const unsigned char *data = cairo_image_surface_get_data(surf);
    if ((st = gd_tmp_name(job, path, tmp, sizeof tmp)) != GD_OK)
        return st;
    f = fopen(tmp, "wb");
    if (!f)
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", tmp, strerror(errno));
    /* on the heap: a local written between setjmp and longjmp would be indeterminate */
    perr = calloc(1, sizeof *perr);
    png = perr ? png_create_write_struct(PNG_LIBPNG_VER_STRING, perr, png_error_fn, png_warning_fn)
               : NULL;
    info = png ? png_create_info_struct(png) : NULL;
    row = malloc((size_t)w * 3);
    if (!png || !info || !row) {
        st = gd_job_error(job, GD_EPROC, "cannot initialise libpng");
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        st = gd_job_error(job, GD_EOUTPUT, "libpng failed writing %s (%s)", path, perr->msg);
        goto done;
    }
    errno = 0;
    png_init_io(png, f);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text text[3];
    memset(text, 0, sizeof text);
    text[0].compression = PNG_TEXT_COMPRESSION_NONE;
    text[0].key = "Title";
    text[0].text = (char *)title;
    text[1].compression = PNG_TEXT_COMPRESSION_NONE;
    text[1].key = "Software";
    text[1].text = "geodelta " GD_VERSION;
    text[2].compression = PNG_TEXT_COMPRESSION_NONE;
    text[2].key = "Description";
    text[2].text = (char *)description;
    png_set_text(png, info, text, 3);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        const uint32_t *px = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            /* opaque ARGB32: premultiplication is the identity */
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
    free(perr);
    if (f && fclose(f) != 0 && st == GD_OK)
        st = gd_job_error(job, GD_EOUTPUT, "cannot finish writing %s: %s", path, strerror(errno));
    if (st == GD_OK)
        st = gd_commit_file(job, tmp, path);
    else
        remove(tmp);
    return st;
}

static void text_at(cairo_t *cr, double x, double y, double size, int bold, const char *s)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s);
}

int gd_render_map(gd_job *job, const gd_grid *grid, GDALDatasetH display, const int rgb[3],
                  const uint8_t *classes, const gd_method *m, const gd_class_total totals[3],
                  const gd_map_spec *spec, const char *path)
{
    int st = GD_OK;
    int pw = spec->width > 0 ? spec->width : 1200;
    int ph = (int)lround((double)pw * grid->height / grid->width);
    if (ph > 1600) {
        ph = 1600;
        pw = (int)lround((double)ph * grid->width / grid->height);
    }
    if (pw < 1)
        pw = 1;
    if (ph < 1)
        ph = 1;
    int W = pw + 2 * MARGIN, H = TITLE_H + ph + LEGEND_H;
    if (W < 640)
        W = 640;
    int nb = rgb[1] > 0 && rgb[2] > 0 ? 3 : 1;
    size_t np = (size_t)pw * (size_t)ph;
    float *buf[3] = {NULL, NULL, NULL};
    cairo_surface_t *img = NULL, *surf = NULL;
    cairo_t *cr = NULL;

    for (int b = 0; b < nb; b++) {
        buf[b] = malloc(sizeof(float) * np);
        if (!buf[b]) {
            st = gd_job_error(job, GD_EPROC, "out of memory for the map");
            goto done;
        }
        GDALRasterBandH band = GDALGetRasterBand(display, rgb[b]);
        GDALRasterIOExtraArg ex;
        INIT_RASTERIO_EXTRA_ARG(ex);
        ex.eResampleAlg = GRIORA_Average;
        if (GDALRasterIOEx(band, GF_Read, 0, 0, grid->width, grid->height, buf[b], pw, ph,
                           GDT_Float32, 0, 0, &ex) != CE_None) {
            st = gd_job_error_gdal(job, GD_EINPUT, "cannot read the image for the map");
            goto done;
        }
        int has_nd = 0;
        double nd = GDALGetRasterNoDataValue(band, &has_nd);
        if (has_nd && !isnan(nd))
            for (size_t i = 0; i < np; i++)
                if (buf[b][i] == (float)nd)
                    buf[b][i] = NAN;
    }
    img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pw, ph);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        st = gd_job_error(job, GD_EPROC, "cannot create a %dx%d image", pw, ph);
        goto done;
    }
    {
        float lo[3], hi[3];
        for (int b = 0; b < nb; b++)
            stretch_limits(buf[b], np, &lo[b], &hi[b]);
        cairo_surface_flush(img);
        unsigned char *d = cairo_image_surface_get_data(img);
        int stride = cairo_image_surface_get_stride(img);
        for (int y = 0; y < ph; y++) {
            uint32_t *px = (uint32_t *)(d + (size_t)y * (size_t)stride);
            size_t cy = (size_t)(((double)y + 0.5) * grid->height / ph);
            for (int x = 0; x < pw; x++) {
                size_t i = (size_t)y * (size_t)pw + (size_t)x;
                double c[3];
                int nodata = 0;
                for (int k = 0; k < 3; k++) {
                    int b = nb == 3 ? k : 0;
                    float v = buf[b][i];
                    if (isnan(v))
                        nodata = 1;
                    double t = (v - lo[b]) / (hi[b] - lo[b]);
                    c[k] = 255.0 * (t < 0 ? 0 : t > 1 ? 1 : t);
                }
                if (nodata)
                    c[0] = c[1] = c[2] = 255.0;
                size_t cx = (size_t)(((double)x + 0.5) * grid->width / pw);
                uint8_t cls = classes[cy * (size_t)grid->width + cx];
                if (cls >= 1 && cls <= 2 && m->class_names[cls]) {
                    /* the change shows through a 70 % tint so the context stays readable */
                    for (int k = 0; k < 3; k++)
                        c[k] = 0.3 * c[k] + 0.7 * m->class_rgb[cls][k];
                }
                px[x] = 0xff000000u | ((uint32_t)c[0] << 16) | ((uint32_t)c[1] << 8) |
                        (uint32_t)c[2];
            }
        }
        cairo_surface_mark_dirty(img);
    }
    surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    /* title and subtitle */
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, MARGIN, 34, 24, 1, spec->title ? spec->title : "Change detection");
    if (spec->subtitle) {
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        text_at(cr, MARGIN, 62, 15, 0, spec->subtitle);
    }
    /* image panel */
    double ox = (W - pw) / 2.0;
    cairo_set_source_surface(cr, img, ox, TITLE_H);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, ox - 0.5, TITLE_H - 0.5, pw + 1, ph + 1);
    cairo_stroke(cr);
    /* legend */
    double ly = TITLE_H + ph + 28;
    double lx = MARGIN;
    for (int c = 1; c < 3; c++) {
        if (!m->class_names[c])
            continue;
        char label[256];
        if (isnan(totals[c].area_ha))
            snprintf(label, sizeof label, "%s: %llu px", m->class_names[c],
                     (unsigned long long)totals[c].pixels);
        else
            snprintf(label, sizeof label, "%s: %.2f ha", m->class_names[c], totals[c].area_ha);
        cairo_set_source_rgb(cr, m->class_rgb[c][0] / 255.0, m->class_rgb[c][1] / 255.0,
                             m->class_rgb[c][2] / 255.0);
        cairo_rectangle(cr, lx, ly - 14, 22, 16);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, lx + 30, ly, 15, 0, label);
        cairo_text_extents_t ext;
        cairo_text_extents(cr, label, &ext);
        lx += 30 + ext.x_advance + 36;
    }
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    {
        char foot[512];
        snprintf(foot, sizeof foot, "%s%sgeodelta %s, method %s. Preliminary analysis: not "
                 "validated in the field.", spec->credit ? spec->credit : "",
                 spec->credit ? ". " : "", GD_VERSION, m->name);
        text_at(cr, MARGIN, ly + 36, 12, 0, foot);
    }
    cairo_surface_flush(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        st = gd_job_error(job, GD_EPROC, "drawing the map failed: %s",
                          cairo_status_to_string(cairo_status(cr)));
        goto done;
    }
    st = write_png(job, surf, path, spec->title ? spec->title : "Change detection",
                   spec->subtitle ? spec->subtitle : "");
done:
    if (cr)
        cairo_destroy(cr);
    if (surf)
        cairo_surface_destroy(surf);
    if (img)
        cairo_surface_destroy(img);
    for (int b = 0; b < 3; b++)
        free(buf[b]);
    return st;
}
