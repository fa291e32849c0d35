/* discover_int.h: what stac.c (HTTP, search, choice) and mosaic.c (windows, VRTs,
 * pixel hashes) share. Not used outside pipeline/discover/. */
#ifndef GD_DISCOVER_INT_H
#define GD_DISCOVER_INT_H

#include "geodelta/discover.h"

#include <jansson.h>
#include <gdal.h>
#include <ogr_api.h>
#include <stddef.h>

/* ---- HTTP (stac.c, libcurl) ---- */
typedef struct gd_http_resp {
    char *data;               /* body, NUL-terminated */
    size_t len;
    long status;
    char etag[256];
    char last_modified[128];
    long long size;           /* Content-Length, -1 when absent */
} gd_http_resp;

/* One request with GDAL's retry settings (GDAL_HTTP_MAX_RETRY, GDAL_HTTP_RETRY_DELAY)
 * on 429/502/503/504 and its timeouts (GDAL_HTTP_TIMEOUT, GDAL_HTTP_CONNECTTIMEOUT);
 * credentials only from GDAL_HTTP_HEADER_FILE / GDAL_HTTP_USERPWD. method: "GET",
 * "POST" (body JSON) or "HEAD". Transport failures are errors; the HTTP status is left
 * to the caller (r->status). */
int gd_http(gd_job *job, const char *method, const char *url, const char *body,
            gd_http_resp *r);
void gd_http_resp_free(gd_http_resp *r);
/* url without user info and query string, for messages */
void gd_http_safe_url(const char *url, char *out, size_t len);

/* ---- one item, one acquisition ---- */
typedef struct gd_stac_item {
    json_t *json;             /* borrowed from the search result */
    const char *id, *datetime, *platform, *orbit_state, *self;
    double cloud;             /* eo:cloud_cover, NaN when absent */
    long rel_orbit;           /* sat:relative_orbit, -1 when absent */
    double coverage;          /* fraction of the AOI this item covers */
    OGRGeometryH geom;        /* WGS84 */
} gd_stac_item;

typedef struct gd_stac_acq {
    char key[160];            /* day|platform|orbit|direction */
    char day[11];
    size_t n;
    gd_stac_item **items;     /* sorted by id */
    double coverage, cloud;   /* union's AOI fraction; the items' largest cloud cover */
} gd_stac_acq;

typedef struct gd_stac_window {
    char name[32];            /* in messages, the record and file names: before, after, range,
                                 or the day being read (monitor) */
    char start[32], end[32];  /* RFC 3339 */
    gd_stac_item *items;      /* usable items (collection, window, AOI, cloud) */
    size_t n;
    size_t found, cloudy;     /* before filtering; dropped by --max-cloud */
    gd_stac_acq *acqs;        /* best first */
    size_t nacq;
    const gd_stac_acq *chosen;
} gd_stac_window;

typedef struct gd_stac_ctx {
    const gd_stac_query *q;
    char api[2048];           /* root without the trailing slash */
    char search_url[2048];
    int post, used_post, use_query_ext, use_filter_ext;
    int progress;             /* report the search's pages in the job's progress range */
    OGRGeometryH aoi;         /* WGS84, union of the AOI's features */
    double bbox[4];           /* WGS84 */
    double aoi_area;
    json_t *pages;            /* every feature array fetched (owns the items' JSON) */
    int nwin;                 /* windows searched: 2 (detect, search), 1 (monitor's range) */
    gd_stac_window win[2];
} gd_stac_ctx;

/* progress: report the pages in the job's current progress range (detect; not search) */
int gd_stac_ctx_search(gd_job *job, const gd_stac_query *q, gd_stac_ctx *c, int progress);
/* Picks one acquisition per window (SAR: same relative orbit and direction); errors
 * explain what was found. */
int gd_stac_choose(gd_job *job, gd_stac_ctx *c);
void gd_stac_ctx_free(gd_stac_ctx *c);
/* the same relative orbit and orbit direction (SAR acquisitions of one geometry) */
int gd_stac_same_orbit(const gd_stac_acq *a, const gd_stac_acq *b);
json_t *gd_stac_item_brief(const gd_stac_item *it);

/* ---- mosaic.c ---- */
/* Reads the chosen acquisition of date d into dir/name.tif (or the cache) and fills the
 * date's record. */
int gd_mosaic_date(gd_job *job, gd_stac_ctx *c, int d, const char *dir, char *path,
                   size_t len, json_t *rec);

#endif
