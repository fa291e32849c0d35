/* outputs.c: what a monitor run leaves: alert rasters, the latest map, summary.json, the
 * per-zone series (CSV and charts) and manifest.json last. All from the per-pixel state,
 * so a run that only appends a date writes exactly what a full run writes. */
#include "monitor_int.h"

#include "geodelta/files.h"
#include "geodelta/provenance.h"
#include "geodelta/summary.h"
#include "geodelta/util.h"

#include <cairo.h>
#include <cpl_string.h>
#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const status_names[4] = {"no alert", "provisional", "confirmed",
                                             "cleared (not confirmed)"};
const unsigned char gd_mon_status_rgb[4][3] = {
    {230, 230, 230}, {255, 176, 0}, {213, 32, 32}, {120, 170, 220}};
#define status_rgb gd_mon_status_rgb

static void ymd_text(int32_t d, char buf[16])
{
    snprintf(buf, 16, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100));
}

/* alert_date.tif: a COG of Int32 dates on the grid. */
static int write_dates(gd_job *job, const gd_monitor *mon, int32_t *data)
{
    char path[4096], tmp[4096];
    GDALDatasetH mem = NULL, out = NULL;
    char **opts = NULL;
    gd_path_join(path, sizeof path, mon->p->outdir, "alert_date.tif");
    int st = gd_tmp_name(job, path, tmp, sizeof tmp);
    if (st != GD_OK || (st = gd_mem_dataset(job, mon->grid, data, GDT_Int32, &mem)) != GD_OK)
        return st;
    GDALSetDescription(GDALGetRasterBand(mem, 1), "first detection date of the confirmed alert "
                       "(YYYYMMDD); 0 none, -1 never observed");
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "OVERVIEW_RESAMPLING", "NEAREST");
    opts = CSLSetNameValue(opts, "NUM_THREADS", "1");
    out = GDALCreateCopy(GDALGetDriverByName("COG"), tmp, mem, FALSE, opts, NULL, NULL);
    if (!out)
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write %s", path);
    else
        GDALClose(out);
    GDALClose(mem);
    CSLDestroy(opts);
    return st == GD_OK ? gd_commit_file(job, tmp, path) : st;
}

/* alert_status.tif: the change COG writer of detect with the alert classes as its class
 * table (colours, category names and attribute table in alert_status.tif.aux.xml) */
static int write_status(gd_job *job, const gd_monitor *mon, const uint8_t *status)
{
    gd_method m;
    char path[4096];
    memset(&m, 0, sizeof m);
    m.name = "monitor";
    for (int c = 0; c < 4; c++) {
        m.class_names[c] = status_names[c];
        memcpy(m.class_rgb[c], status_rgb[c], 3);
    }
    gd_path_join(path, sizeof path, mon->p->outdir, "alert_status.tif");
    return gd_write_change_cog(job, mon->grid, status, &m, NAN, path);
}

/* The latest map: alert status in its colours, never-observed pixels white, framed with
 * detect's map furniture (gd_map_furniture: graticule with lon/lat labels, scale bar,
 * north arrow), a legend below. */
static int write_map(gd_job *job, const gd_monitor *mon, const uint8_t *status, int32_t last,
                     const uint64_t counts[4])
{
    const gd_grid *g = mon->grid;
    double scale = fmin(1024.0 / g->width, 1024.0 / g->height);
    if (scale > 1.0)
        scale = floor(scale) > 6 ? 6 : floor(scale);
    int w = (int)fmax(1.0, g->width * scale), h = (int)fmax(1.0, g->height * scale);
    /* the furniture's unit: its labels (7 u) stay readable on a small map; room for the
     * lat labels on both sides, a little above the frame and the lon labels below it */
    double u = fmax(1.4, fmin(w, h) / 600.0);
    int mx = (int)ceil(16 * u), top = (int)ceil(8 * u), below = (int)ceil(14 * u);
    int W = w + 2 * mx > 420 ? w + 2 * mx : 420, H = top + h + below + 100;
    double x0 = floor((W - w) / 2.0), y0 = top, yl = y0 + h + below;
    char path[4096], tmp[4096], text[160], d[16];
    gd_path_join(path, sizeof path, mon->p->outdir, "alert_map.png");
    int st = gd_tmp_name(job, path, tmp, sizeof tmp);
    if (st != GD_OK)
        return st;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, g->width, g->height);
    cairo_surface_t *out = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int y = 0; y < g->height; y++)
        for (int x = 0; x < g->width; x++) {
            uint8_t s = status[(size_t)y * g->width + x];
            uint32_t c = s < 4 ? ((uint32_t)status_rgb[s][0] << 16 | status_rgb[s][1] << 8 |
                                  status_rgb[s][2])
                               : 0xffffffu;
            ((uint32_t *)(px + (size_t)y * stride))[x] = c;
        }
    cairo_surface_mark_dirty(img);
    cairo_t *cr = cairo_create(out);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_save(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, (double)w / g->width, (double)h / g->height);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    /* the frame as map.png draws it; then its graticule, scale bar and north arrow (a
     * grid without CRS has none: the frame alone) */
    cairo_rectangle(cr, x0, y0, w, h);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_set_line_width(cr, 0.6 * u);
    cairo_stroke(cr);
    gd_map_furniture(cr, g, x0, y0, w, h, u);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0, 0, 0);
    ymd_text(last, d);
    snprintf(text, sizeof text, "Alerts as of %s", last ? d : "(no date tested)");
    cairo_move_to(cr, 10, yl + 22);
    cairo_show_text(cr, text);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    for (int c = 1; c < 4; c++) {
        double y = yl + 30 + 22 * (c - 1);
        cairo_set_source_rgb(cr, status_rgb[c][0] / 255.0, status_rgb[c][1] / 255.0,
                             status_rgb[c][2] / 255.0);
        cairo_rectangle(cr, 10, y + 4, 16, 14);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(text, sizeof text, "%s: %llu px", status_names[c], (unsigned long long)counts[c]);
        cairo_move_to(cr, 34, y + 16);
        cairo_show_text(cr, text);
    }
    cairo_destroy(cr);
    cairo_surface_flush(out);
    if (cairo_surface_write_to_png(out, tmp) != CAIRO_STATUS_SUCCESS)
        st = gd_job_error(job, GD_EOUTPUT, "cannot write %s", path);
    cairo_surface_destroy(out);
    cairo_surface_destroy(img);
    return st == GD_OK ? gd_commit_file(job, tmp, path) : st;
}

/* One zone's chart: the alert levels by date, stacked: hectares confirmed by then (red)
 * and, above them, hectares already detected but not yet confirmed, the provisional
 * level of those alerts then (orange); the top edge is the area detected by then. Steps:
 * an area holds until the next date. Light grid, dated ticks, a legend and the latest
 * figures, for a desk reading it at a glance. */
typedef struct chart_axes {
    const int32_t *dates;
    int nd;
    long x0;
    double span, ymax;
    int L, R, T, B, W, H;
} chart_axes;

/* date k's x; k = nd is the right end, a mean interval after the last date, so that the
 * last date's step has a width */
static double chart_x(const chart_axes *c, int k)
{
    long d = k < c->nd ? gd_monitor_days(c->dates[k]) : c->x0 + (long)c->span;
    return c->L + (c->W - c->L - c->R) * (double)(d - c->x0) / c->span;
}

static double chart_y(const chart_axes *c, double v)
{
    return c->H - c->B - (c->H - c->T - c->B) * v / c->ymax;
}

/* the band between lo (NULL: 0) and hi, as steps: a level holds until the next date */
static void fill_level(cairo_t *cr, const chart_axes *ax, const unsigned char rgb[3],
                       double alpha, const double *lo, const double *hi)
{
    cairo_move_to(cr, chart_x(ax, 0), chart_y(ax, hi[0]));
    for (int k = 0; k < ax->nd; k++) {
        cairo_line_to(cr, chart_x(ax, k), chart_y(ax, hi[k]));
        cairo_line_to(cr, chart_x(ax, k + 1), chart_y(ax, hi[k]));
    }
    for (int k = ax->nd - 1; k >= 0; k--) {
        cairo_line_to(cr, chart_x(ax, k + 1), chart_y(ax, lo ? lo[k] : 0.0));
        cairo_line_to(cr, chart_x(ax, k), chart_y(ax, lo ? lo[k] : 0.0));
    }
    cairo_close_path(cr);
    cairo_set_source_rgba(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, alpha);
    cairo_fill(cr);
}

/* a round step of about a fifth of the range */
static double nice_step(double range)
{
    double raw = range / 5.0, m = pow(10.0, floor(log10(raw))), f = raw / m;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * m;
}

static int write_chart(gd_job *job, const gd_monitor *mon, const char *zone, int zi,
                       const int32_t *dates, int nd, const double *det, const double *conf,
                       const double *prov)
{
    char name[64], path[4096], tmp[4096], text[256], d[16];
    snprintf(name, sizeof name, "zone_%03d.png", zi + 1);
    gd_path_join(path, sizeof path, mon->p->outdir, name);
    int st = gd_tmp_name(job, path, tmp, sizeof tmp);
    if (st != GD_OK)
        return st;
    const char *unit = mon->grid->row_area_m2 ? "ha" : "px";
    chart_axes ax = {.dates = dates, .nd = nd, .L = 70, .R = 20, .T = 78, .B = 56, .W = 800, .H = 430};
    /* the provisional level: alerts detected and not yet confirmed by then, both those
     * confirmed later and those still provisional at the end */
    double *top = malloc((size_t)nd * sizeof *top);
    if (!top)
        return gd_job_error(job, GD_EPROC, "out of memory");
    double ymax = 0.0;
    for (int k = 0; k < nd; k++) {
        top[k] = fmax(det[k], conf[k]) + prov[k];
        ymax = fmax(ymax, top[k]);
    }
    double step = nice_step(ymax > 0.0 ? ymax : 1.0);
    ax.ymax = ymax > 0.0 ? ceil(ymax / step) * step : 5.0 * step;
    ax.x0 = gd_monitor_days(dates[0]);
    long x1 = gd_monitor_days(dates[nd - 1]);
    /* the last date's step as wide as the mean interval between dates (stacks merged, an
     * optical and a SAR date may be a day apart) */
    long gap = nd > 1 ? (x1 - ax.x0 + (nd - 2)) / (nd - 1) : 1;
    ax.span = (double)(x1 - ax.x0 + (gap > 0 ? gap : 1));
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, ax.W, ax.H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    /* horizontal grid with its values */
    cairo_set_line_width(cr, 1);
    for (double v = 0.0; v <= ax.ymax + 1e-9 * ax.ymax; v += step) {
        double y = floor(chart_y(&ax, v)) + 0.5;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, ax.L, y);
        cairo_line_to(cr, ax.W - ax.R, y);
        cairo_stroke(cr);
        cairo_text_extents_t te;
        snprintf(text, sizeof text, "%g", v);
        cairo_text_extents(cr, text, &te);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, ax.L - 6 - te.x_advance, y + 4);
        cairo_show_text(cr, text);
    }
    /* the levels: confirmed at the bottom, provisional (detected, awaiting confirmation)
     * stacked on it */
    fill_level(cr, &ax, status_rgb[1], 0.75, conf, top);
    fill_level(cr, &ax, status_rgb[2], 0.85, NULL, conf);
    /* axes, and up to 7 dated ticks on monitored dates */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, ax.L + 0.5, ax.T);
    cairo_line_to(cr, ax.L + 0.5, ax.H - ax.B + 0.5);
    cairo_line_to(cr, ax.W - ax.R, ax.H - ax.B + 0.5);
    cairo_stroke(cr);
    int nt = nd < 7 ? nd : 7;
    double last_right = -1e9;
    for (int t = 0; t < nt; t++) {
        int k = nt > 1 ? (int)((long)t * (nd - 1) / (nt - 1)) : 0;
        double x = floor(chart_x(&ax, k)) + 0.5;
        cairo_text_extents_t te;
        ymd_text(dates[k], d);
        cairo_text_extents(cr, d, &te);
        double tx = fmin(fmax(x - te.x_advance / 2, 2.0), ax.W - 2 - te.x_advance);
        if (tx < last_right + 8)
            continue; /* dates close together: the labels would overlap */
        cairo_move_to(cr, x, ax.H - ax.B + 0.5);
        cairo_line_to(cr, x, ax.H - ax.B + 5.5);
        cairo_stroke(cr);
        cairo_move_to(cr, tx, ax.H - ax.B + 18);
        cairo_show_text(cr, d);
        last_right = tx + te.x_advance;
    }
    snprintf(text, sizeof text, "%s of alerts", unit);
    cairo_move_to(cr, 4, ax.T - 8);
    cairo_show_text(cr, text);
    /* legend */
    static const char *const lab[2] = {"confirmed", "provisional (detected, not yet confirmed)"};
    double lx = ax.L;
    for (int c = 0; c < 2; c++) {
        const unsigned char *rgb = status_rgb[2 - c];
        cairo_set_source_rgba(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0,
                              c ? 0.75 : 0.85);
        cairo_rectangle(cr, lx, ax.T - 44, 14, 12);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_text_extents_t te;
        cairo_text_extents(cr, lab[c], &te);
        cairo_move_to(cr, lx + 20, ax.T - 34);
        cairo_show_text(cr, lab[c]);
        lx += 20 + te.x_advance + 24;
    }
    /* the latest figures */
    ymd_text(dates[nd - 1], d);
    snprintf(text, sizeof text, "on %s: %.2f %s confirmed, %.2f %s provisional", d, conf[nd - 1],
             unit, top[nd - 1] - conf[nd - 1], unit);
    cairo_move_to(cr, ax.L, ax.H - 14);
    cairo_show_text(cr, text);
    cairo_set_font_size(cr, 15);
    snprintf(text, sizeof text, "Zone %.200s: alert levels by date", zone);
    cairo_move_to(cr, ax.L, 22);
    cairo_show_text(cr, text);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    if (cairo_surface_write_to_png(s, tmp) != CAIRO_STATUS_SUCCESS)
        st = gd_job_error(job, GD_EOUTPUT, "cannot write %s", path);
    cairo_surface_destroy(s);
    free(top);
    return st == GD_OK ? gd_commit_file(job, tmp, path) : st;
}

/* Monitored dates of all stacks, merged and unique. */
static int monitored_dates(const gd_monitor *mon, int32_t **out)
{
    int n = 0, cap = 0;
    for (int s = 0; s < mon->ns; s++)
        cap += mon->st[s].s->n;
    int32_t *d = malloc((size_t)(cap ? cap : 1) * sizeof *d);
    if (!d)
        return -1;
    for (int s = 0; s < mon->ns; s++)
        for (int i = mon->st[s].nbase; i < mon->st[s].s->n; i++)
            d[n++] = mon->st[s].s->items[i].date;
    /* insertion sort then unique: lists are short and already sorted per stack */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
            int32_t t = d[j];
            d[j] = d[j - 1];
            d[j - 1] = t;
        }
    int u = 0;
    for (int i = 0; i < n; i++)
        if (u == 0 || d[u - 1] != d[i])
            d[u++] = d[i];
    *out = d;
    return u;
}

static int rank_of(const int32_t *dates, int nd, int32_t d)
{
    int lo = 0, hi = nd - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (dates[mid] == d)
            return mid + 1;
        if (dates[mid] < d)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* Per zone and monitored date: hectares whose confirmed alert was first detected by then
 * (det) and confirmed by then (conf), and, for the charts only, those of the alerts still
 * provisional at the end first flagged by then (prov). The zones are rasterized by the
 * summary stage (gd_zones_compute) over class rasters holding each pixel's date rank, 253
 * dates a pass. */
typedef struct zseries {
    gd_zones *zs;
    double *det, *conf; /* nz x nd */
} zseries;

static int zone_series(gd_job *job, const gd_monitor *mon, const int32_t *dates, int nd,
                       json_t *summary, zseries *out)
{
    const gd_grid *g = mon->grid;
    size_t npx = (size_t)g->width * (size_t)g->height;
    uint8_t *cls = malloc(npx);
    double *det = NULL, *conf = NULL, *prov = NULL;
    gd_zones *zs = NULL;
    FILE *f = NULL;
    char path[4096], tmp[4096];
    int st = GD_OK;
    size_t nz = 0;
    gd_zone_opts zo = {mon->p->zones, mon->p->zone_field, 0, NULL};
    if (!cls)
        return gd_job_error(job, GD_EPROC, "out of memory");
    for (int pass = 0; pass < 3 && st == GD_OK; pass++) {
        double *acc = NULL;
        for (int off = 0; off < nd; off += 253) {
            for (size_t i = 0; i < npx; i++) {
                const px_state *p = &mon->px[i];
                int r = 0;
                if (p->status == GD_MON_CONFIRMED && pass < 2)
                    r = rank_of(dates, nd, pass == 0 ? p->alert_date : p->confirm_date);
                else if (p->status == GD_MON_PROVISIONAL && pass == 2)
                    r = rank_of(dates, nd, p->prov_date);
                cls[i] = !p->observed ? 255 : (r > off && r <= off + 253) ? (uint8_t)(r - off) : 0;
            }
            gd_zones_destroy(zs);
            zs = NULL;
            if ((st = gd_zones_compute(job, g, cls, &zo, &zs)) != GD_OK)
                break;
            if (!acc) {
                nz = zs->n;
                acc = calloc(nz * (size_t)nd + 1, sizeof *acc);
                if (!acc) {
                    st = gd_job_error(job, GD_EPROC, "out of memory");
                    break;
                }
            }
            for (size_t z = 0; z < nz; z++)
                for (int k = 1; k <= 253 && off + k <= nd; k++) {
                    double ha = zs->z[z].class_ha[k];
                    acc[z * (size_t)nd + (size_t)(off + k - 1)] =
                        isfinite(ha) ? ha : (double)zs->z[z].class_px[k];
                }
        }
        /* cumulative over the dates */
        for (size_t z = 0; acc && z < nz; z++)
            for (int k = 1; k < nd; k++)
                acc[z * (size_t)nd + (size_t)k] += acc[z * (size_t)nd + (size_t)k - 1];
        if (pass == 0)
            det = acc;
        else if (pass == 1)
            conf = acc;
        else
            prov = acc;
    }
    if (st != GD_OK)
        goto done;
    gd_path_join(path, sizeof path, mon->p->outdir, "zones_series.csv");
    if ((st = gd_tmp_open(job, path, tmp, sizeof tmp, &f)) != GD_OK)
        goto done;
    int area = g->row_area_m2 != NULL;
    fprintf(f, "zone,chart,date,%s,%s\n", area ? "detected_ha" : "detected_px",
            area ? "confirmed_ha" : "confirmed_px");
    json_t *zj = json_array();
    for (size_t z = 0; z < nz; z++) {
        char chart[32], d[16];
        snprintf(chart, sizeof chart, "zone_%03zu.png", z + 1);
        for (int k = 0; k < nd; k++) {
            ymd_text(dates[k], d);
            gd_csv_field(f, zs->z[z].name);
            fprintf(f, ",%s,%s,%.4f,%.4f\n", chart, d, det[z * (size_t)nd + (size_t)k],
                    conf[z * (size_t)nd + (size_t)k]);
        }
        json_array_append_new(zj, json_pack("{s:s, s:s, s:f, s:f}", "zone", zs->z[z].name,
                                            "chart", chart, area ? "confirmed_ha" : "confirmed_px",
                                            conf[z * (size_t)nd + (size_t)nd - 1],
                                            area ? "area_ha" : "pixels",
                                            area ? zs->z[z].area_ha : (double)zs->z[z].pixels));
    }
    json_object_set_new(summary, "zones", zj);
    st = gd_commit_stream(job, f, tmp, path);
    f = NULL;
    if (st != GD_OK)
        goto done;
    for (size_t z = 0; z < nz && st == GD_OK; z++)
        st = write_chart(job, mon, zs->z[z].name, (int)z, dates, nd, det + z * (size_t)nd,
                         conf + z * (size_t)nd, prov + z * (size_t)nd);
done:
    if (f)
        fclose(f);
    free(cls);
    free(prov);
    /* the series go on to alerts.gpkg */
    out->zs = zs;
    out->det = det;
    out->conf = conf;
    return st;
}

int gd_monitor_outputs(gd_job *job, gd_monitor *mon)
{
    const gd_grid *g = mon->grid;
    size_t npx = (size_t)g->width * (size_t)g->height;
    int32_t *date = malloc(npx * sizeof *date), *dates = NULL;
    uint8_t *status = malloc(npx);
    uint64_t counts[4] = {0, 0, 0, 0}, unobserved = 0;
    double ha[4] = {0, 0, 0, 0};
    zseries zser = {NULL, NULL, NULL};
    int st = GD_OK;
    if (!date || !status) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < npx; i++) {
        const px_state *p = &mon->px[i];
        int row = (int)(i / (size_t)g->width);
        date[i] = !p->observed ? -1 : p->status == GD_MON_CONFIRMED ? p->alert_date : 0;
        status[i] = p->observed ? p->status : GD_MON_UNOBSERVED;
        if (p->observed) {
            counts[p->status]++;
            if (g->row_area_m2)
                ha[p->status] += g->row_area_m2[row] / 1e4;
        } else {
            unobserved++;
        }
    }
    if ((st = write_dates(job, mon, date)) != GD_OK || (st = write_status(job, mon, status)) != GD_OK)
        goto done;
    int nd = monitored_dates(mon, &dates);
    if (nd < 0) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    if ((st = write_map(job, mon, status, nd ? dates[nd - 1] : 0, counts)) != GD_OK)
        goto done;
    json_t *sum = json_object();
    uint64_t valid = counts[0] + counts[1] + counts[2] + counts[3];
    char d[16];
    json_t *classes = json_object();
    for (int c = 0; c < 4; c++)
        json_object_set_new(classes, status_names[c],
                            json_pack("{s:I, s:o}", "pixels", (json_int_t)counts[c], "ha",
                                      g->row_area_m2 ? json_real(ha[c]) : json_null()));
    json_object_set_new(sum, "status", classes);
    json_object_set_new(sum, "never_observed_pixels", json_integer((json_int_t)unobserved));
    /* the batch index's figures: the confirmed alerts are the change */
    json_object_set_new(sum, "changed_pixels", json_integer((json_int_t)counts[2]));
    json_object_set_new(sum, "changed_ha", g->row_area_m2 ? json_real(ha[2]) : json_null());
    json_object_set_new(sum, "changed_percent",
                        json_real(valid ? 100.0 * (double)counts[2] / (double)valid : 0.0));
    json_t *dl = json_array();
    for (int k = 0; k < nd; k++) {
        ymd_text(dates[k], d);
        json_array_append_new(dl, json_string(d));
    }
    json_object_set_new(sum, "monitored_dates", dl);
    if (nd) {
        ymd_text(dates[nd - 1], d);
        json_object_set_new(sum, "latest_date", json_string(d));
    }
    if (mon->p->zones && nd > 0 && (st = zone_series(job, mon, dates, nd, sum, &zser)) != GD_OK) {
        json_decref(sum);
        goto done;
    }
    if ((st = gd_monitor_write_gpkg(job, mon, status, dates, nd, zser.zs, zser.det,
                                    zser.conf)) != GD_OK) {
        json_decref(sum);
        goto done;
    }
    char path[4096];
    gd_path_join(path, sizeof path, mon->p->outdir, "summary.json");
    st = gd_json_write_atomic(job, sum, path);
    json_decref(sum);
    if (st == GD_OK)
        gd_job_say(job, "alerts: %llu confirmed, %llu provisional, %llu cleared of %llu observed "
                   "pixels", (unsigned long long)counts[2], (unsigned long long)counts[1],
                   (unsigned long long)counts[3], (unsigned long long)valid);
done:
    free(date);
    free(status);
    free(dates);
    gd_zones_destroy(zser.zs);
    free(zser.det);
    free(zser.conf);
    return st;
}

int gd_monitor_manifest(gd_job *job, gd_monitor *mon, double t0)
{
    const gd_monitor_params *p = mon->p;
    char path[4096], now[32], out[4096];
    int st = GD_OK;
    gd_utc_now(now);
    json_t *inputs = json_array(), *outs = json_array(), *argv = json_array();
    for (int i = 0; i < p->argc; i++)
        json_array_append_new(argv, json_string(p->argv[i]));
    for (int s = 0; s < mon->ns && st == GD_OK; s++) {
        mstack *ms = &mon->st[s];
        char role[32];
        snprintf(role, sizeof role, "stack%d_list", s + 1);
        char *abs = gd_input_abs_path(ms->s->list);
        st = gd_manifest_add_file(job, inputs, ms->s->list, abs ? abs : ms->s->list, role);
        free(abs);
        snprintf(role, sizeof role, "stack%d", s + 1);
        for (int i = 0; i < ms->s->n; i++) {
            char d[16];
            ymd_text(ms->s->items[i].date, d);
            char *a = gd_input_abs_path(ms->s->items[i].path);
            json_array_append_new(inputs, json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}", "path",
                                                    a ? a : ms->s->items[i].path, "role", role,
                                                    "date", d, "sha256", ms->sha[i], "size",
                                                    (json_int_t)ms->size[i], "baseline",
                                                    i < ms->nbase));
            free(a);
        }
    }
    /* zones and population as gd_manifest_add_file records them, with the hashes the
     * run took (the state records them too) */
    for (int k = 0; k < 2 && st == GD_OK; k++) {
        const char *f = k == 0 ? p->zones : p->population;
        if (!f)
            continue;
        char *abs = gd_input_abs_path(f);
        json_array_append_new(inputs, json_pack("{s:s, s:I, s:s, s:s}", "path", abs ? abs : f,
                                                "size", (json_int_t)(k == 0 ? mon->zones_size : mon->pop_size),
                                                "sha256", k == 0 ? mon->zones_sha : mon->pop_sha,
                                                "role", k == 0 ? "zones" : "population"));
        free(abs);
    }
    static const char *const names[] = {"alert_date.tif", "alert_status.tif",
                                        "alert_status.tif.aux.xml", "alert_map.png",
                                        "summary.json", "alerts.gpkg", "zones_series.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && st == GD_OK; i++) {
        gd_path_join(out, sizeof out, p->outdir, names[i]);
        if (i == 6 && !p->zones)
            continue;
        st = gd_manifest_add_file(job, outs, out, names[i], NULL);
    }
    for (size_t z = 1; p->zones && st == GD_OK; z++) {
        char name[32];
        snprintf(name, sizeof name, "zone_%03zu.png", z);
        gd_path_join(out, sizeof out, p->outdir, name);
        if (access(out, F_OK) != 0)
            break;
        st = gd_manifest_add_file(job, outs, out, name, NULL);
    }
    int ndates = 0;
    for (int s = 0; s < mon->ns; s++)
        ndates += mon->st[s].s->n;
    json_t *params = json_deep_copy(mon->config);
    json_object_set_new(params, "z_one_sided", json_real(mon->z1));
    json_object_set_new(params, "z_two_sided", json_real(mon->z2));
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:O, s:O, s:{s:s, s:i, s:i}, "
        "s:{s:f}}",
        "schema", GD_MANIFEST_SCHEMA, "kind", "monitor", "created", now, "geodelta", "version",
        GD_VERSION, "git", GD_GIT_REV, "kernels", gd_kernels_isa_name(), "libraries",
        gd_library_versions(), "host", gd_manifest_host(), "command", argv, "parameters", params,
        "inputs", inputs, "auto", gd_job_auto(job), "warnings", gd_job_warnings(job), "monitor",
        "run", mon->full ? "full" : "incremental", "dates_tested_this_run", mon->ntested,
        "dates_total", ndates, "timing", "seconds", gd_now() - t0);
    if (!doc) {
        json_decref(outs);
        return gd_job_error(job, GD_EPROC, "cannot build the manifest");
    }
    json_object_set_new(doc, "outputs", outs);
    if (mon->discover) /* --stac: the query, the items and assets of each date, their pixels */
        json_object_set(doc, "discover", mon->discover);
    if (st == GD_OK) {
        gd_path_join(path, sizeof path, p->outdir, "manifest.json");
        st = gd_json_write_atomic(job, doc, path);
    }
    json_decref(doc);
    return st;
}
