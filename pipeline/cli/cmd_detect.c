/* cmd_detect.c: `geodelta detect`: options -> gd_detect_params -> the chain. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/detect.h"
#include "geodelta/summary.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: geodelta detect -b BEFORE -a AFTER -m METHOD -o OUTDIR [options]\n"
        "\n"
        "Finds change between two images and writes change.tif (COG), change.geojson\n"
        "(RFC 7946), summary.json, map.png, manifest.json and run.log into OUTDIR.\n"
        "The after image is warped onto the before image's grid when they differ.\n"
        "\n"
        "Required:\n"
        "  -b, --before FILE        earlier image (any raster GDAL reads, /vsis3/ too)\n"
        "  -a, --after FILE         later image\n"
        "  -m, --method NAME        ndvi, nbr, ndwi, logratio, cva (geodelta methods)\n"
        "  -o, --output DIR         output folder (created if missing)\n"
        "\n"
        "Options:\n"
        "      --bands-before SPEC  band roles of the before image, e.g. red=3,nir=4\n"
        "                           (keys red green blue nir swir1 swir2 sar, or r g b n\n"
        "                           s1 s2); default: from band descriptions (B04, B08...)\n"
        "      --bands-after SPEC   same for the after image (default: --bands-before)\n"
        "  -t, --threshold T        auto (= otsu, default) or a fixed value; index\n"
        "                           methods threshold |score|\n"
        "      --mmu-ha H           minimum mapping unit in hectares (default 0.1; 0 on\n"
        "                           images without CRS)\n"
        "      --no-map             do not render map.png\n"
        "      --title TEXT         map title\n"
        "      --credit TEXT        data credit printed on the map\n"
        "      --map-width PX       width of the map's image panel (default 1200)\n"
        "      --keep-score         also write score.tif (float32 change score)\n"
        "      --zones FILE         zone polygons (any OGR vector): per-zone change in\n"
        "                           summary.json, zones.csv and zones.geojson\n"
        "      --zone-field NAME    attribute naming each zone (default: feature id)\n"
        "      --zones-all-touched  count every pixel a zone touches (default: the\n"
        "                           pixels whose centre lies in the zone)\n"
        "      --alerts SPEC        alert levels, JSON text or file, e.g.\n"
        "                           '{\"amber\":{\"changed_ha\":5},\"red\":{\"changed_pct\":10}}'\n"
        "      --overwrite          replace existing outputs in OUTDIR\n"
        "  -q, --quiet              no progress or messages (errors still printed)\n"
        "  -h, --help               this help\n"
        "\n"
        "Exit codes: 0 ok, 1 usage, 2 input data problem, 3 processing failure,\n"
        "4 output failure.\n");
}

enum { OPT_BB = 256, OPT_BA, OPT_MMU, OPT_NOMAP, OPT_TITLE, OPT_CREDIT, OPT_MAPW,
       OPT_KEEP, OPT_OVER, OPT_ZONES, OPT_ZFIELD, OPT_ZALL, OPT_ALERTS };

int gd_cmd_detect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"before", required_argument, NULL, 'b'},
        {"after", required_argument, NULL, 'a'},
        {"method", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, 't'},
        {"bands-before", required_argument, NULL, OPT_BB},
        {"bands-after", required_argument, NULL, OPT_BA},
        {"mmu-ha", required_argument, NULL, OPT_MMU},
        {"no-map", no_argument, NULL, OPT_NOMAP},
        {"title", required_argument, NULL, OPT_TITLE},
        {"credit", required_argument, NULL, OPT_CREDIT},
        {"map-width", required_argument, NULL, OPT_MAPW},
        {"keep-score", no_argument, NULL, OPT_KEEP},
        {"overwrite", no_argument, NULL, OPT_OVER},
        {"zones", required_argument, NULL, OPT_ZONES},
        {"zone-field", required_argument, NULL, OPT_ZFIELD},
        {"zones-all-touched", no_argument, NULL, OPT_ZALL},
        {"alerts", required_argument, NULL, OPT_ALERTS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    gd_detect_params p;
    gd_detect_params_init(&p);
    int quiet = 0, c;
    long lv;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":b:a:m:o:t:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': p.before = optarg; break;
        case 'a': p.after = optarg; break;
        case 'm': p.method = optarg; break;
        case 'o': p.outdir = optarg; break;
        case 't': p.threshold = optarg; break;
        case OPT_BB: p.bands_before = optarg; break;
        case OPT_BA: p.bands_after = optarg; break;
        case OPT_MMU:
            if (gd_cli_parse_double(optarg, 0.0, 1e9, &p.mmu_ha) != 0) {
                fprintf(stderr, "geodelta detect: --mmu-ha '%s' is not a number of hectares >= 0\n", optarg);
                return 1;
            }
            break;
        case OPT_NOMAP: p.no_map = 1; break;
        case OPT_TITLE: p.title = optarg; break;
        case OPT_CREDIT: p.credit = optarg; break;
        case OPT_MAPW:
            if (gd_cli_parse_int(optarg, 64, 20000, &lv) != 0) {
                fprintf(stderr, "geodelta detect: --map-width '%s' is not between 64 and 20000\n", optarg);
                return 1;
            }
            p.map_width = (int)lv;
            break;
        case OPT_KEEP: p.keep_score = 1; break;
        case OPT_OVER: p.overwrite = 1; break;
        case OPT_ZONES: p.zones = optarg; break;
        case OPT_ZFIELD: p.zone_field = optarg; break;
        case OPT_ZALL: p.zones_all_touched = 1; break;
        case OPT_ALERTS: p.alerts = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "geodelta detect: option %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "geodelta detect: unknown option %s (see geodelta detect --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "geodelta detect: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    const char *missing = !p.before ? "-b BEFORE" : !p.after ? "-a AFTER"
                        : !p.method ? "-m METHOD" : !p.outdir ? "-o OUTDIR" : NULL;
    if (missing) {
        fprintf(stderr, "geodelta detect: %s is required (see geodelta detect --help)\n", missing);
        return 1;
    }
    if ((p.zone_field || p.zones_all_touched) && !p.zones) {
        fprintf(stderr, "geodelta detect: --zone-field and --zones-all-touched need --zones FILE\n");
        return 1;
    }
    p.argc = argc;
    p.argv = argv;
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    if (p.alerts) {
        /* a bad alert spec is a usage error found before any work */
        gd_alerts *a = NULL;
        int ast = gd_alerts_parse(job, p.alerts, &a);
        if (ast == GD_OK)
            ast = gd_alerts_check(job, a, gd_method_find(p.method), "--alerts");
        gd_alerts_destroy(a);
        if (ast != GD_OK) {
            int rc = gd_cli_fail(ast, gd_job_message(job));
            gd_job_destroy(job);
            return rc;
        }
    }
    gd_job_set_quiet(job, quiet);
    int st = gd_detect_run(job, &p);
    int rc = 0;
    if (st != GD_OK) {
        if (!quiet)
            fputc('\n', stderr);
        rc = gd_cli_fail(st, gd_job_message(job));
    } else if (!quiet) {
        printf("outputs in %s\n", p.outdir);
    }
    gd_job_destroy(job);
    return rc;
}
