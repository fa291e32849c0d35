/* cmd_search.c: `geodelta search`: the candidate items of a STAC query per date window,
 * as a table or JSON, without reading any pixel. */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "geodelta/discover.h"

static void usage(FILE *f)
{
    fputs("Usage: geodelta search --stac URL --collection NAME --aoi FILE\n"
          "                       --before START[/END] --after START[/END] [options]\n"
          "\n"
          "Lists the items of a STAC API over the AOI in each date window (id, datetime,\n"
          "cloud cover, orbit, coverage of the AOI) and marks the acquisition detect\n"
          "--stac would choose with '*'. Reads no pixels.\n"
          "\n"
          "      --max-cloud PCT      only items with eo:cloud_cover <= PCT\n"
          "      --min-coverage F     coverage floor of a usable acquisition (default 0.5)\n"
          "      --json               print JSON instead of the table\n"
          "  -h, --help               this help\n"
          "\n"
          "Exit codes: 0 ok (also when a window is empty: the table says so), 1 usage,\n"
          "2 the API cannot be searched.\n",
          f);
}

static void table(json_t *r)
{
    size_t d;
    json_t *w;
    printf("STAC API %s, collection %s (search by %s)\n",
           json_string_value(json_object_get(r, "api")),
           json_string_value(json_object_get(r, "collection")),
           json_string_value(json_object_get(r, "search_method")));
    json_array_foreach(json_object_get(r, "windows"), d, w) {
        json_t *items = json_object_get(w, "items"), *it;
        printf("\n%s %s: %zu usable of %lld returned",
               json_string_value(json_object_get(w, "role")),
               json_string_value(json_object_get(w, "datetime")), json_array_size(items),
               (long long)json_integer_value(json_object_get(w, "returned")));
        long long cloudy = (long long)json_integer_value(json_object_get(w, "above_max_cloud"));
        if (cloudy)
            printf(", %lld above --max-cloud", cloudy);
        printf("\n");
        if (!json_array_size(items)) {
            printf("  (no usable item)\n");
            continue;
        }
        printf("  %-1s %-40s %-24s %7s %-14s %8s %8s\n", "", "id", "datetime", "cloud%",
               "orbit", "item%", "acq%");
        size_t i;
        json_array_foreach(items, i, it) {
            char orbit[64] = "-";
            json_t *ro = json_object_get(it, "relative_orbit");
            const char *os = json_string_value(json_object_get(it, "orbit_state"));
            if (json_is_integer(ro) || os)
                snprintf(orbit, sizeof orbit, "%lld %s",
                         json_is_integer(ro) ? (long long)json_integer_value(ro) : -1LL,
                         os ? os : "?");
            json_t *cc = json_object_get(it, "cloud_cover");
            char cloud[32] = "-";
            if (json_is_number(cc))
                snprintf(cloud, sizeof cloud, "%.1f", json_number_value(cc));
            printf("  %-1s %-40s %-24s %7s %-14s %8.1f %8.1f\n",
                   json_is_true(json_object_get(it, "chosen")) ? "*" : "",
                   json_string_value(json_object_get(it, "id")),
                   json_string_value(json_object_get(it, "datetime")), cloud, orbit,
                   100.0 * json_number_value(json_object_get(it, "coverage")),
                   100.0 * json_number_value(json_object_get(it, "acquisition_coverage")));
        }
    }
}

enum { OPT_STAC = 256, OPT_COLLECTION, OPT_AOI, OPT_BEFORE, OPT_AFTER, OPT_MAXCLOUD,
       OPT_MINCOV, OPT_JSON };

int gd_cmd_search(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"stac", required_argument, NULL, OPT_STAC},
        {"collection", required_argument, NULL, OPT_COLLECTION},
        {"aoi", required_argument, NULL, OPT_AOI},
        {"before", required_argument, NULL, OPT_BEFORE},
        {"after", required_argument, NULL, OPT_AFTER},
        {"max-cloud", required_argument, NULL, OPT_MAXCLOUD},
        {"min-coverage", required_argument, NULL, OPT_MINCOV},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    gd_stac_query q;
    gd_stac_query_init(&q);
    int c, as_json = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_STAC: q.url = optarg; break;
        case OPT_COLLECTION: q.collection = optarg; break;
        case OPT_AOI: q.aoi = optarg; break;
        case OPT_BEFORE: q.window[0] = optarg; break;
        case OPT_AFTER: q.window[1] = optarg; break;
        case OPT_JSON: as_json = 1; break;
        case OPT_MAXCLOUD:
            if (gd_cli_parse_double(optarg, 0.0, 100.0, &q.max_cloud) != 0) {
                fprintf(stderr, "geodelta search: --max-cloud '%s' is not a percentage 0..100\n",
                        optarg);
                return 1;
            }
            break;
        case OPT_MINCOV:
            if (gd_cli_parse_double(optarg, 0.0, 1.0, &q.min_coverage) != 0) {
                fprintf(stderr, "geodelta search: --min-coverage '%s' is not a fraction 0..1\n",
                        optarg);
                return 1;
            }
            break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "geodelta search: option %s needs a value\n", argv[optind - 1]);
            return 1;
        default:
            fprintf(stderr, "geodelta search: unknown option %s (see geodelta search --help)\n",
                    argv[optind - 1]);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "geodelta search: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    gd_job *job = NULL;
    if (gd_job_create(&job) != GD_OK)
        return gd_cli_fail(GD_EPROC, "out of memory");
    gd_job_set_quiet(job, 1);
    json_t *r = NULL;
    int st = gd_stac_search(job, &q, &r), rc = 0;
    if (st != GD_OK) {
        rc = gd_cli_fail(st, gd_job_message(job));
    } else if (as_json) {
        json_dumpf(r, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        table(r);
    }
    json_decref(r);
    gd_job_destroy(job);
    return rc;
}
