/* discover.h: the discover stage: a STAC search for an AOI and two date windows, the
 * chosen items' band assets read over HTTP (/vsicurl/) for the AOI only and mosaicked,
 * and the record of what was analysed (pipeline/discover/). */
#ifndef GEODELTA_DISCOVER_H
#define GEODELTA_DISCOVER_H

#include "geodelta/job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gd_stac_query {
    const char *url;        /* STAC API root (landing page) */
    const char *collection; /* collection id */
    const char *aoi;        /* any OGR vector: the area (its polygons, WGS84 for the search) */
    const char *window[2];  /* before, after: "START[/END]", dates YYYY-MM-DD or RFC 3339 */
    double max_cloud;       /* eo:cloud_cover limit in %; < 0: none */
    double min_coverage;    /* AOI fraction below which a date is refused; < 0: 0.5 */
    const char *cache;      /* keeps the fetched AOI windows; NULL: a temporary folder */
    int nwindows;           /* 0 or 2: window[0] before, window[1] after (detect); 1: only
                               window[0], the monitor's --from/--to range */
} gd_stac_query;

void gd_stac_query_init(gd_stac_query *q);

/* Usage checks of a query (dates, cloud, coverage); GD_EUSAGE with the reason. */
int gd_stac_query_check(gd_job *job, const gd_stac_query *q);

/* The candidates per window as JSON, without reading pixels: {"api", "search_method",
 * "windows": [{"role", "datetime", "items": [{id, datetime, cloud_cover, platform,
 * relative_orbit, orbit_state, coverage, chosen}], "chosen": {...} | null}]}.
 * A window without any usable item is not an error here (it is listed empty). */
int gd_stac_search(gd_job *job, const gd_stac_query *q, json_t **out);

typedef struct gd_discover gd_discover;
/* Searches, chooses one acquisition per window, reads the AOI's window of each band
 * asset (mosaicked over the acquisition's items) into a local GeoTIFF per date and hashes
 * the decoded pixels per band. Errors name the window, item or asset. */
int gd_discover_run(gd_job *job, const gd_stac_query *q, gd_discover **out);
/* The local stack of date d (0 before, 1 after): a GeoTIFF with band descriptions B02,
 * B03 ... (or VV, VH) the source stage reads as usual. */
const char *gd_discover_path(const gd_discover *d, int date);
/* The manifest's "discover" record (the job keeps nothing; the caller owns it). */
json_t *gd_discover_record(const gd_discover *d);
/* Removes the temporary folder (not the cache); NULL is a no-op. */
void gd_discover_destroy(gd_discover *d);

/* The monitor's series: searches q->window[0] (one range), takes one acquisition a day
 * (the best one of the day, as detect orders them; SAR: of the relative orbit and
 * direction seen most), reads each day's AOI window into the cache (q->cache, else dir:
 * files named by the key of their assets and window, so a later run over a longer range
 * fetches only the new days) and writes list, a monitor LIST ("YYYY-MM-DD PATH" a line).
 * *record: the manifest's "discover" record (the caller owns it). */
int gd_discover_series(gd_job *job, const gd_stac_query *q, const char *dir, const char *list,
                       json_t **record);

/* verify --inputs: re-fetches each asset's HTTP identity (ETag, Last-Modified, size) and
 * the analysed windows' pixels, comparing them with the record; each difference becomes
 * a warning of the job and counts in *bad. GD_OK whenever the check ran. */
int gd_discover_verify(gd_job *job, const json_t *record, int *bad);

#ifdef __cplusplus
}
#endif
#endif
