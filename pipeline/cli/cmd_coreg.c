/* cmd_coreg.c: `geodelta coreg`: measures the shift of a target image against a reference. */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/coreg.h"
#include "geodelta/stages.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: geodelta coreg -r REF -t TARGET [options]\n"
        "\n"
        "Measures how far TARGET's content is displaced against REF by phase correlation\n"
        "(FFTW, sub-pixel by upsampled DFT) and prints a JSON report on stdout. TARGET is\n"
        "first warped onto REF's grid when they differ (CRS, resolution, extent).\n"
        "Shifts are displacements of TARGET's content: a feature at REF pixel (x, y) shows\n"
        "at (x + dx, y + dy); map shifts are the same in REF's CRS units.\n"
        "\n"
        "Options:\n"
        "  -r, --ref FILE           reference image\n"
        "  -t, --target FILE        target image\n"
        "      --band B             band of both images (default: the red band when both\n"
        "                           say which it is, else 1)\n"
        "      --mode global|local  one shift from one window (default), or a grid of\n"
        "                           tie points fitted by an affine displacement field\n"
        "      --window PX          global window side (default 512)\n"
        "      --grid PX            local tie-point spacing (default 256; window 256)\n"
        "      --at X,Y             global window centred here (REF map coordinates);\n"
        "                           default: the best textured window without nodata\n"
        "      --min-reliability P  refuse below P %% (default 50)\n"
        "      --points             local: list every tie point in the report\n"
        "      --threads N          threads for local mode (default: all cores)\n"
        "  -q, --quiet              no messages on stderr\n"
        "  -h, --help               this help\n"
        "\n"
        "Exit codes: 0 ok, 1 usage, 2 input problem (incl. reliability below the floor),\n"
        "3 processing failure.\n");
}

enum { OPT_BAND = 256, OPT_MODE, OPT_WINDOW, OPT_GRID, OPT_AT, OPT_MINREL, OPT_POINTS,
       OPT_THREADS };

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
    static const struct option longopts[] = {
        {"ref", required_argument, NULL, 'r'},
        {"target", required_argument, NULL, 't'},
        {"band", required_argument, NULL, OPT_BAND},
        {"mode", required_argument, NULL, OPT_MODE},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"grid", required_argument, NULL, OPT_GRID},
        {"at", required_argument, NULL, OPT_AT},
        {"min-reliability", required_argument, NULL, OPT_MINREL},
        {"points", no_argument, NULL, OPT_POINTS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *ref = NULL, *tgt = NULL;
    gd_coreg_params p;
    gd_coreg_params_init(&p);
    int band = 0, quiet = 0, points = 0, threads = 0, c;
    long lv;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:t:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': ref = optarg; break;
        case 't': tgt = optarg; break;
        case OPT_BAND:
            if (gd_cli_parse_int(optarg, 1, 65535, &lv) != 0) {
                fprintf(stderr, "geodelta coreg: --band '%s' is not a band number\n", optarg);
                return 1;
            }
            band = (int)lv;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "global") == 0)
                p.mode = GD_COREG_GLOBAL;
            else if (strcmp(optarg, "local") == 0)
                p.mode = GD_COREG_LOCAL;
            else {
                fprintf(stderr, "geodelta coreg: --mode '%s' is not global or local\n", optarg);
                return 1;
            }
            break;
        case OPT_WINDOW:
        case OPT_GRID:
            if (gd_cli_parse_int(optarg, c == OPT_GRID ? 8 : 32, 8192, &lv) != 0) {
                fprintf(stderr, "geodelta coreg: %s '%s' is not a size in pixels (%s..8192)\n",
                        c == OPT_GRID ? "--grid" : "--window", optarg, c == OPT_GRID ? "8" : "32");
                return 1;
            }
            if (c == OPT_GRID)
                p.grid = (int)lv;
            else
                p.window = (int)lv;
            break;
        case OPT_AT: {
            char *end = NULL;
            p.at_x = strtod(optarg, &end);
            if (!end || *end != ',' || gd_cli_parse_double(end + 1, -1e12, 1e12, &p.at_y) != 0) {
                fprintf(stderr, "geodelta coreg: --at '%s' is not X,Y\n", optarg);
                return 1;
            }
            p.has_at = 1;
            break;
        }
        case OPT_MINREL:
            if (gd_cli_parse_double(optarg, 0.0, 100.0, &p.min_reliability) != 0) {
                fprintf(stderr, "geodelta coreg: --min-reliability '%s' is not 0..100\n", optarg);
                return 1;
            }
            break;
        case OPT_POINTS: points = 1; break;
        case OPT_THREADS:
            if (gd_cli_parse_int(optarg, 1, 64, &lv) != 0) {
                fprintf(stderr, "geodelta coreg: --threads '%s' is not 1..64\n", optarg);
                return 1;
            }
            threads = (int)lv;
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "geodelta coreg: option %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "geodelta coreg: unknown option %s (see geodelta coreg --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "geodelta coreg: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    if (!ref || !tgt) {
        fprintf(stderr, "geodelta coreg: %s is required (see geodelta coreg --help)\n",
                !ref ? "-r REF" : "-t TARGET");
        return 1;
    }
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
