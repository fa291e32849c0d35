/* monitor_options.c: the option table of `geodelta monitor` (parsing, --help, batch
 * validation and docs/cli.md come from it). */
#include "geodelta/options.h"
#include "stac_options.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --stack and -m may be repeated: each appends to its list */
static int parse_stack(const gd_opt *o, const char *text, void *target, char *what, size_t len)
{
    gd_monitor_options *m = target;
    (void)o;
    if (!text || !*text || m->p.nstacks >= GD_MONITOR_MAX_STACKS) {
        snprintf(what, len, "a LIST file, at most %d times", GD_MONITOR_MAX_STACKS);
        return -1;
    }
    m->p.stacks[m->p.nstacks++] = text;
    return 0;
}

static int parse_method(const gd_opt *o, const char *text, void *target, char *what, size_t len)
{
    gd_monitor_options *m = target;
    static const char *const names[] = {"sar", "value", "ndvi", "nbr", "mndwi", "ndmi"};
    (void)o;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], text) == 0 && m->p.nmethods < GD_MONITOR_MAX_STACKS) {
            m->p.methods[m->p.nmethods++] = text;
            return 0;
        }
    snprintf(what, len, "sar, value, ndvi, nbr, mndwi or ndmi (at most %d times)",
             GD_MONITOR_MAX_STACKS);
    return -1;
}

/* --enl L or auto (0) */
static int parse_enl(const gd_opt *o, const char *text, void *target, char *what, size_t len)
{
    gd_monitor_options *m = target;
    char *end = NULL;
    (void)o;
    if (strcmp(text, "auto") == 0) {
        m->p.enl = 0.0;
        return 0;
    }
    double v = strtod(text, &end);
    if (end == text || *end || !(v >= 0.5 && v <= 1000)) {
        snprintf(what, len, "auto or a number of looks from 0.5 to 1000");
        return -1;
    }
    m->p.enl = v;
    return 0;
}

#define F(field) offsetof(gd_monitor_options, field)
#define NOGIVEN .off_given = GD_OPT_NOFIELD
static const char G_REQ[] = "Required";
static const char G_TEST[] = "Baseline, test and confirmation";
static const char G_OUT[] = "Outputs and the run";
static const char G_STAC[] = "Search (STAC API; instead of or besides --stack)";
static const gd_opt_choice dirs[] = {{"decrease", GD_MON_DIR_DECREASE, 0},
                                     {"increase", GD_MON_DIR_INCREASE, 0},
                                     {"both", GD_MON_DIR_BOTH, 0},
                                     {NULL, 0, 0}};
static const gd_opt_choice bases[] = {{"auto", GD_MON_BASE_AUTO, 0},
                                      {"median", GD_MON_BASE_MEDIAN, 0},
                                      {"harmonic", GD_MON_BASE_HARMONIC, 0},
                                      {NULL, 0, 0}};
static const gd_opt_choice pols[] = {{"vv", GD_MON_POL_VV, 0},
                                     {"vh", GD_MON_POL_VH, 0},
                                     {"vv,vh", GD_MON_POL_DUAL, 0},
                                     {"dual", GD_MON_POL_DUAL, 1},
                                     {NULL, 0, 0}};
static const gd_opt monitor_opts[] = {
    {.name = "stack", .type = GD_OPT_CUSTOM, .meta = "LIST", .group = G_REQ,
     .help = "text file, one 'YYYY-MM-DD PATH' a line (paths relative to it, '#' comments); "
             "repeat for more stacks of the area (e.g. optical and SAR): all go on the grid "
             "of the first image of the first stack; required unless --stac gives the first",
     .example = "ndvi.txt", .batch_key = "stack", .batch = GD_BATCH_JOB, .runid = GD_RUNID_YES,
     .off = F(p.stacks), NOGIVEN, .parse = parse_stack},
    {.name = "method", .short_name = 'm', .type = GD_OPT_CUSTOM, .flags = GD_OPTF_REQUIRED,
     .meta = "METHOD", .group = G_REQ,
     .help = "sar (band 1 backscatter, dB or linear), value (band 1 as it is, e.g. NDVI), "
             "ndvi, nbr, mndwi, ndmi (from the bands); once for every stack or once per --stack",
     .example = "ndvi", .batch_key = "method", .batch = GD_BATCH_JOB, .runid = GD_RUNID_YES,
     .off = F(p.methods), NOGIVEN, .parse = parse_method},
    {.name = "output", .short_name = 'o', .type = GD_OPT_PATH, .flags = GD_OPTF_REQUIRED,
     .meta = "OUTDIR", .group = G_REQ,
     .help = "output folder; it keeps the monitor's state: a later run with more dates "
             "processes only those",
     .example = "out", .runid = GD_RUNID_NO, .off = F(p.outdir), NOGIVEN},
    {.name = "start", .type = GD_OPT_STRING, .meta = "DATE", .group = G_TEST,
     .help = "first monitored date (YYYY-MM-DD); earlier dates build the baseline",
     .def = "one year after the first date of the first stack", .example = "2016-01-01",
     .batch_key = "start", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES, .off = F(p.start),
     NOGIVEN},
    {.name = "p-value", .type = GD_OPT_DOUBLE, .meta = "P", .lo = 1e-12, .hi = 0.5,
     .what = "a probability from 1e-12 to 0.5", .group = G_TEST,
     .help = "false-alarm rate of one observation's test: the robust z threshold is the "
             "normal quantile (optical), the gamma test's level (SAR)",
     .def = "0.01", .example = "0.005", .batch_key = "p_value", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.p_value), NOGIVEN},
    {.name = "confirm", .type = GD_OPT_INT, .meta = "K", .lo = 0, .hi = 50, .group = G_TEST,
     .help = "further flagged observations (any stack) that confirm a provisional alert",
     .def = "2", .example = "3", .batch_key = "confirm", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.confirm), NOGIVEN},
    {.name = "window", .type = GD_OPT_INT, .meta = "N", .lo = 1, .hi = 100, .group = G_TEST,
     .help = "valid observations after the first flag within which the K must come, else "
             "the alert is cleared",
     .def = "4", .example = "5", .batch_key = "window", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.window), NOGIVEN},
    {.name = "direction", .type = GD_OPT_CHOICE, .flags = GD_OPTF_INDEX, .choices = dirs,
     .meta = "DIR", .group = G_TEST, .help = "which departure from the baseline is change",
     .def = "decrease for value, ndvi, nbr, ndmi; increase for mndwi; both for sar",
     .example = "decrease", .batch_key = "direction", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.direction), NOGIVEN},
    {.name = "baseline", .type = GD_OPT_CHOICE, .flags = GD_OPTF_INDEX, .choices = bases,
     .meta = "MODEL", .group = G_TEST,
     .help = "optical baseline: median and MAD, or a first-order harmonic (seasonal) fit with "
             "the MAD of its residuals; auto takes the harmonic fit when the baseline dates "
             "span a year and a pixel has 12 valid values",
     .def = "auto", .example = "median", .batch_key = "baseline", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.baseline), NOGIVEN},
    {.name = "min-baseline", .type = GD_OPT_INT, .meta = "N", .lo = 1, .hi = 1000,
     .group = G_TEST, .help = "valid baseline observations a pixel needs to be monitored",
     .def = "3", .example = "5", .batch_key = "min_baseline", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.min_baseline), NOGIVEN},
    {.name = "enl", .type = GD_OPT_CUSTOM, .meta = "L|auto", .group = G_TEST,
     .what = "auto or a number of looks from 0.5 to 1000",
     .help = "SAR equivalent number of looks of one date (Sentinel-1 IW GRD at 10 m: about "
             "4.4; more once resampled or filtered); auto: the lower quartile over pixels of "
             "mean^2 / variance of their baseline dates (per polarisation with --pol vv,vh), "
             "recorded",
     .def = "auto", .example = "4.4", .batch_key = "enl", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.enl), NOGIVEN, .parse = parse_enl},
    {.name = "pol", .type = GD_OPT_CHOICE, .flags = GD_OPTF_INDEX, .choices = pols,
     .meta = "POL", .group = G_TEST,
     .help = "polarisations of the -m sar stacks: vv or vh (that band, found by its "
             "description VV/VH, else the only band, or band 1/2 of two), or vv,vh (both "
             "intensities of each date, as two bands: the dual-pol omnibus test, each "
             "polarisation with its own --enl auto); not with --stac",
     .def = "the first band described VV, VH, HH or HV, or the only band", .example = "vv,vh",
     .batch_key = "pol", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES, .off = F(p.pol),
     NOGIVEN},
    {.name = "bands", .type = GD_OPT_STRING, .meta = "SPEC", .group = G_TEST,
     .help = "band roles of the index methods (r=3,n=4,...) or of --pol (vv=1,vh=2) when the "
             "images do not say",
     .example = "r=3,n=4", .batch_key = "bands", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_YES, .off = F(p.bands), NOGIVEN},
    {.name = "zones", .type = GD_OPT_PATH, .meta = "FILE", .group = G_OUT,
     .help = "zone polygons: per-zone series of alert hectares (zones_series.csv) and a chart "
             "per zone (zone_NNN.png)",
     .example = "zones.geojson", .batch_key = "zones", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_CONTENT, .off = F(p.zones), NOGIVEN},
    {.name = "zone-field", .type = GD_OPT_STRING, .meta = "NAME", .group = G_OUT,
     .help = "attribute naming each zone", .def = "the feature id", .example = "name",
     .batch_key = "zone_field", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_YES,
     .needs = "zones", .off = F(p.zone_field), NOGIVEN},
    {.name = "population", .type = GD_OPT_PATH, .meta = "RASTER", .group = G_OUT,
     .help = "people per pixel (any grid and CRS, e.g. WorldPop, GHSL): the people on each "
             "alert polygon (alerts.gpkg, field people), counted as detect counts them",
     .example = "worldpop.tif", .batch_key = "population", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_CONTENT, .off = F(p.population), NOGIVEN},
    /* ---- search (pipeline/discover/, docs/stac.md) ---- */
    GD_STAC_OPT_ROWS(F, G_STAC,
                     "STAC API root: the first stack is every date from --from to --to with an "
                     "acquisition over --aoi (one a date: the best of the day, SAR: of one "
                     "orbit), each date's AOI window read over HTTP and mosaicked into "
                     "OUTDIR/stac/ with the LIST OUTDIR/stac/stack.txt; a later run with a later "
                     "--to fetches only the new dates", 1),
    {.name = "aoi", .type = GD_OPT_PATH, .meta = "FILE", .group = G_STAC,
     .help = "the area to search (any OGR vector; required with --stac): the images are cut "
             "to its box (and a 32-pixel margin)",
     .example = "aoi.geojson", .batch_key = "aoi", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_NO, .needs = "stac", .off = F(stac.aoi), NOGIVEN},
    {.name = "from", .type = GD_OPT_STRING, .meta = "DATE", .group = G_STAC,
     .help = "first day searched (YYYY-MM-DD or RFC 3339 UTC; required with --stac)",
     .example = "2020-01-01", .batch_key = "from", .batch = GD_BATCH_PARAMS,
     .runid = GD_RUNID_NO, .needs = "stac", .off = F(from), NOGIVEN},
    {.name = "to", .type = GD_OPT_STRING, .meta = "DATE", .group = G_STAC,
     .help = "last day searched (required with --stac)", .example = "2020-12-31",
     .batch_key = "to", .batch = GD_BATCH_PARAMS, .runid = GD_RUNID_NO, .needs = "stac",
     .off = F(to), NOGIVEN},
    {.name = "threads", .type = GD_OPT_INT, .meta = "N", .lo = 1, .hi = 1024, .group = G_OUT,
     .help = "worker threads: row strips (at least one per thread) are read, fitted and "
             "tested in parallel; outputs are the same for any N", .def = "all cores",
     .runid = GD_RUNID_NO, .off = F(threads), NOGIVEN},
    {.name = "mem", .type = GD_OPT_INT, .meta = "MB", .lo = 1, .hi = 1048576,
     .what = "a number of MB between 1 and 1048576", .group = G_OUT,
     .help = "memory budget: half of it holds the baseline dates of one strip of rows per "
             "thread (fewer rows per strip when it is small); the per-pixel state (32 bytes + "
             "16 per stack) comes on top",
     .def = "1024", .example = "64", .runid = GD_RUNID_NO, .off = F(mem_mb), NOGIVEN},
    {.name = "quiet", .short_name = 'q', .type = GD_OPT_FLAG, .group = G_OUT,
     .help = "no progress or messages (errors still printed)", .runid = GD_RUNID_NO,
     .off = F(quiet), NOGIVEN},
    {.name = "help", .short_name = 'h', .type = GD_OPT_FLAG, .flags = GD_OPTF_HELP,
     .group = G_OUT, .help = "this help", .runid = GD_RUNID_NO, .off = F(help), NOGIVEN},
};

static const gd_opt_table monitor_table = {
    .command = "monitor",
    .usage = "monitor --stack LIST -m METHOD -o OUTDIR [options]\n"
             "       geodelta monitor --stac URL --collection NAME --aoi FILE --from DATE "
             "--to DATE -m METHOD -o OUTDIR [options]",
    .intro = "Watches an area over time: each date from --start on is tested against a\n"
             "per-pixel baseline of the earlier dates (robust z for optical values, the\n"
             "gamma likelihood-ratio test for SAR); a flagged pixel is a provisional alert,\n"
             "confirmed by --confirm further flags within --window observations, else\n"
             "cleared. Writes alert_date.tif, alert_status.tif, alert_map.png, summary.json,\n"
             "alerts.gpkg (the state: alert polygons with their history, dates, zone\n"
             "series, per-pixel state; QGIS opens it), the zone series with --zones and\n"
             "manifest.json into OUTDIR;\n"
             "run again with more dates, only the new ones are processed (docs/monitor.md).\n",
    .epilog = "Exit codes: 0 ok, 1 usage, 2 input data problem, 3 processing failure,\n"
              "4 output failure.\n",
    .opts = monitor_opts,
    .n = sizeof monitor_opts / sizeof monitor_opts[0],
};

const gd_opt_table *gd_monitor_option_table(void) { return &monitor_table; }

void gd_monitor_options_init(gd_monitor_options *o)
{
    memset(o, 0, sizeof *o);
    gd_monitor_params_init(&o->p);
    gd_stac_query_init(&o->stac);
    o->stac.nwindows = 1;
    o->mem_mb = 1024;
}

int gd_monitor_options_finish(gd_monitor_options *o, char *err, size_t len)
{
    if (!o->stac.url)
        return 0;
    if (!o->from || !o->to) {
        snprintf(err, len, "--stac needs --from DATE and --to DATE");
        return -1;
    }
    snprintf(o->range, sizeof o->range, "%s/%s", o->from, o->to);
    o->stac.window[0] = o->range;
    o->p.stac = &o->stac;
    return 0;
}
