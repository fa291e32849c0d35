/* cmd_coreg.c: `geodelta coreg`: measures the shift of a target image against a reference. */
#include "cli.h"

#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/coreg.h"
#include "geodelta/options.h"
#include "geodelta/stages.h"

/* what `geodelta coreg` fills from its command line */
typedef struct coreg_cli {
    gd_coreg_params p;
    const char *ref, *tgt;
    int band, quiet, points, threads, help;
} coreg_cli;

/* --at X,Y: the global window's centre in map coordinates */
static int parse_at(const gd_opt *o, const char *text, void *target, char *what, size_t len)
{
    coreg_cli *c = target;
    char *end = NULL;
    (void)o;
    c->p.at_x = strtod(text, &end);
    if (end == text || !end || *end != ',' ||
        gd_cli_parse_double(end + 1, -1e12, 1e12, &c->p.at_y) != 0) {
        snprintf(what, len, "X,Y");
        return -1;
    }
    c->p.has_at = 1;
    return 0;
}

#define C(field) offsetof(coreg_cli, field)
#define NOG .off_given = GD_OPT_NOFIELD
static const char G_OPT[] = "Options";
static const gd_opt_choice modes[] = {{"global", GD_COREG_GLOBAL, 0}, {"local", GD_COREG_LOCAL, 0},
                                      {NULL, 0, 0}};
static const gd_opt coreg_opts[] = {
    {.name = "ref", .short_name = 'r', .type = GD_OPT_PATH, .flags = GD_OPTF_REQUIRED,
     .meta = "REF", .group = G_OPT, .help = "reference image", .off = C(ref), NOG},
    {.name = "target", .short_name = 't', .type = GD_OPT_PATH, .flags = GD_OPTF_REQUIRED,
     .meta = "TARGET", .group = G_OPT, .help = "target image", .off = C(tgt), NOG},
    {.name = "band", .type = GD_OPT_INT, .meta = "B", .lo = 1, .hi = 65535,
     .what = "a band number", .group = G_OPT, .help = "band of both images",
     .def = "the red band when both say which it is, else 1", .off = C(band), NOG},
    {.name = "mode", .type = GD_OPT_CHOICE, .flags = GD_OPTF_INDEX, .choices = modes,
     .meta = "MODE", .group = G_OPT,
     .help = "one shift from one window, or a grid of tie points fitted by an affine "
             "displacement field",
     .def = "global", .off = C(p.mode), NOG},
    {.name = "window", .type = GD_OPT_INT, .meta = "PX", .lo = 32, .hi = 8192,
     .what = "a size in pixels (32..8192)", .group = G_OPT, .help = "global window side",
     .def = "512", .off = C(p.window), NOG},
    {.name = "grid", .type = GD_OPT_INT, .meta = "PX", .lo = 8, .hi = 8192,
     .what = "a size in pixels (8..8192)", .group = G_OPT,
     .help = "local tie-point spacing (tie-point window 256)", .def = "256", .off = C(p.grid), NOG},
    {.name = "at", .type = GD_OPT_CUSTOM, .meta = "X,Y", .group = G_OPT,
     .help = "global window centred here (REF map coordinates)",
     .def = "the best textured window without nodata", .off = C(p.at_x), NOG,
     .parse = parse_at},
    {.name = "min-reliability", .type = GD_OPT_DOUBLE, .meta = "P", .lo = 0, .hi = 100,
     .what = "0..100", .group = G_OPT, .help = "refuse below P %", .def = "50",
     .off = C(p.min_reliability), NOG},
    {.name = "points", .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "local: list every tie point in the report", .off = C(points), NOG},
    {.name = "threads", .type = GD_OPT_INT, .meta = "N", .lo = 1, .hi = 64, .what = "1..64",
     .group = G_OPT, .help = "threads for local mode", .def = "all cores", .off = C(threads), NOG},
    {.name = "quiet", .short_name = 'q', .type = GD_OPT_FLAG, .group = G_OPT,
     .help = "no messages on stderr", .off = C(quiet), NOG},
    {.name = "help", .short_name = 'h', .type = GD_OPT_FLAG, .flags = GD_OPTF_HELP,
     .group = G_OPT, .help = "this help", .off = C(help), NOG},
};

static const gd_opt_table coreg_table = {
    .command = "coreg",
    .usage = "coreg -r REF -t TARGET [options]",
    .intro = "Measures how far TARGET's content is displaced against REF by phase correlation\n"
             "(FFTW, sub-pixel by upsampled DFT) and prints a JSON report on stdout. TARGET is\n"
             "first warped onto REF's grid when they differ (CRS, resolution, extent).\n"
             "Shifts are displacements of TARGET's content: a feature at REF pixel (x, y) shows\n"
             "at (x + dx, y + dy); map shifts are the same in REF's CRS units.\n",
    .epilog = "Exit codes: 0 ok, 1 usage, 2 input problem (incl. reliability below the floor),\n"
              "3 processing failure.\n",
    .opts = coreg_opts,
    .n = sizeof coreg_opts / sizeof coreg_opts[0],
};

const gd_opt_table *gd_cli_coreg_table(void) { return &coreg_table; }

static int pick_band(gd_job *job, const gd_source *r, const gd_source *t)
{
    int br = 0, bt = 0;
    if (gd_source_find_role(job, r, "reference", NULL, "red", &br) == GD_OK &&
        gd_source_find_role(job, t, "target", NULL, "red", &bt) == GD_OK && br && bt && br == bt)
        return br;
    return 1;
}

int gd_cmd_coreg(int argc, char **argv)
{
    coreg_cli cl = {0};
    char err[1024];
    gd_coreg_params_init(&cl.p);
    if (gd_opts_parse(&coreg_table, argc, argv, &cl, err, sizeof err) != 0) {
        fprintf(stderr, "geodelta coreg: %s\n", err);
        return 1;
    }
    if (cl.help) {
        gd_opts_help(&coreg_table, stdout);
        return 0;
    }
    gd_coreg_params p = cl.p;
    const char *ref = cl.ref, *tgt = cl.tgt;
    int band = cl.band, quiet = cl.quiet, points = cl.points, threads = cl.threads;
    gd_job *job = NULL;
    gd_source *rs = NULL, *ts = NULL;
    gd_grid *grid = NULL;
    GDALDatasetH tds = NULL;
    int owned = 0, rc = 0;
    gd_coreg_result r;
    memset(&r, 0, sizeof r);
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    gd_job_set_quiet(job, quiet);
    gd_job_set_threads(job, threads);
    int st = gd_source_open(job, ref, "reference", &rs);
    if (st == GD_OK)
        st = gd_source_open(job, tgt, "target", &ts);
    if (st == GD_OK)
        st = gd_grid_from_source(job, rs, &grid);
    if (st == GD_OK)
        st = gd_grid_align(job, grid, ts, &tds, &owned);
    if (st == GD_OK) {
        p.ref_band = p.tgt_band = band ? band : pick_band(job, rs, ts);
        st = gd_coreg_estimate(job, rs->ds, tds, &p, &r);
    }
    if (st == GD_OK) {
        json_t *o = gd_coreg_result_json(&r, points);
        json_object_set_new(o, "reference", json_string(ref));
        json_object_set_new(o, "target", json_string(tgt));
        json_object_set_new(o, "band", json_integer(p.ref_band));
        json_object_set_new(o, "target_warped", json_boolean(owned));
        json_object_set_new(o, "convention",
                            json_string("target content at reference pixel + shift_px"));
        if (grid->wkt) {
            double mx = grid->gt[0] + r.cx * grid->gt[1] + r.cy * grid->gt[2];
            double my = grid->gt[3] + r.cx * grid->gt[4] + r.cy * grid->gt[5];
            json_object_set_new(o, "window_centre_map", json_pack("[f, f]", mx, my));
        }
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(8));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        rc = gd_cli_fail(st, gd_job_message(job));
    }
    gd_coreg_result_free(&r);
    if (tds && owned)
        GDALClose(tds);
    gd_grid_destroy(grid);
    gd_source_destroy(ts);
    gd_source_destroy(rs);
    gd_job_destroy(job);
    return rc;
}
