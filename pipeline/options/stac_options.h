/* stac_options.h: the STAC search options (pipeline/discover/, docs/stac.md) declared once
 * for every table that offers them (detect, monitor): OFF is the table's offsetof macro
 * (its struct has a gd_stac_query stac), GROUP its help section, URL_HELP what --stac
 * does in that command, KEYED 1 when batch jobs take them as params keys (the option names
 * with '_': monitor's params.stac, params.collection...), 0 when not (detect's jobs have
 * their "stac" object, pipeline/batch). Not used outside pipeline/options/. */
#ifndef GD_STAC_OPTIONS_H
#define GD_STAC_OPTIONS_H

#define GD_STAC_KEY_0(k) .batch = GD_BATCH_NONE
#define GD_STAC_KEY_1(k) .batch_key = k, .batch = GD_BATCH_PARAMS
#define GD_STAC_OPT_ROWS(OFF, GROUP, URL_HELP, KEYED)                                          \
    {.name = "stac", .type = GD_OPT_STRING, .meta = "URL", .group = GROUP, .help = URL_HELP,   \
     .example = "http://127.0.0.1:8080/", .runid = GD_RUNID_NO,                                \
     GD_STAC_KEY_##KEYED("stac"), .off = OFF(stac.url), .off_given = GD_OPT_NOFIELD},          \
    {.name = "collection", .type = GD_OPT_STRING, .meta = "NAME", .group = GROUP,              \
     .help = "collection to search (required with --stac)", .example = "sentinel-2-l2a",       \
     .runid = GD_RUNID_NO, GD_STAC_KEY_##KEYED("collection"), .needs = "stac",                 \
     .off = OFF(stac.collection), .off_given = GD_OPT_NOFIELD},                                \
    {.name = "max-cloud", .type = GD_OPT_DOUBLE, .meta = "PCT", .lo = 0, .hi = 100,            \
     .what = "a percentage 0..100", .group = GROUP,                                            \
     .help = "only items with eo:cloud_cover <= PCT", .example = "20", .runid = GD_RUNID_NO,   \
     GD_STAC_KEY_##KEYED("max_cloud"), .needs = "stac", .off = OFF(stac.max_cloud),            \
     .off_given = GD_OPT_NOFIELD},                                                             \
    {.name = "min-coverage", .type = GD_OPT_DOUBLE, .meta = "F", .lo = 0, .hi = 1,             \
     .what = "a fraction 0..1", .group = GROUP,                                                \
     .help = "refuse a date whose acquisition covers less than this fraction of the AOI "      \
             "(below 1 is a warning)",                                                         \
     .def = "0.5", .example = "0.8", .runid = GD_RUNID_NO, GD_STAC_KEY_##KEYED("min_coverage"), \
     .needs = "stac", .off = OFF(stac.min_coverage), .off_given = GD_OPT_NOFIELD},             \
    {.name = "cache", .type = GD_OPT_PATH, .flags = GD_OPTF_NEW_PATH, .meta = "DIR",           \
     .group = GROUP,                                                                           \
     .help = "keep the fetched AOI windows (keyed by asset hrefs, ETags and window) and reuse " \
             "them instead of fetching again",                                                 \
     .example = "cache", .runid = GD_RUNID_NO, GD_STAC_KEY_##KEYED("cache"), .needs = "stac",  \
     .off = OFF(stac.cache), .off_given = GD_OPT_NOFIELD}

#endif
