/* stac.c: the STAC API client: HTTP (libcurl, GDAL's retry/timeout/credential settings),
 * the item search with paging, client-side filters, and the choice of one acquisition
 * per date window. */
#include "discover_int.h"

#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_PAGES 200
#define PAGE_LIMIT 100

void gd_stac_query_init(gd_stac_query *q)
{
    memset(q, 0, sizeof *q);
    q->max_cloud = -1.0;
    q->min_coverage = -1.0;
}

/* ---- HTTP ---- */

void gd_http_safe_url(const char *url, char *out, size_t len)
{
    /* user:password@ and ?token=... never reach a message or the log */
    const char *s = strstr(url, "://");
    const char *host = s ? s + 3 : url;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        host = at + 1;
    size_t n = 0;
    if (s) {
        n = (size_t)(s + 3 - url);
        if (n >= len)
            n = len - 1;
        memcpy(out, url, n);
    }
    size_t m = strcspn(host, "?#");
    if (n + m >= len)
        m = len - n - 1;
    memcpy(out + n, host, m);
    out[n + m] = '\0';
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    gd_http_resp *r = ud;
    size_t n = size * nmemb;
    if (r->len + n > (size_t)256 << 20) /* a search page is never this large */
        return 0;
    char *p = realloc(r->data, r->len + n + 1);
    if (!p)
        return 0;
    memcpy(p + r->len, ptr, n);
    r->data = p;
    r->len += n;
    p[r->len] = '\0';
    return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t len)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return;
    const char *v = line + k + 1, *e = line + n;
    while (v < e && isspace((unsigned char)*v))
        v++;
    while (e > v && isspace((unsigned char)e[-1]))
        e--;
    size_t m = (size_t)(e - v) < len - 1 ? (size_t)(e - v) : len - 1;
    memcpy(out, v, m);
    out[m] = '\0';
}

typedef struct {
    gd_http_resp *r;
    char retry_after[32];
} hdr_ctx;

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    hdr_ctx *h = ud;
    size_t n = size * nmemb;
    char len[32] = "";
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (redirect, retry) */
        h->r->etag[0] = h->r->last_modified[0] = '\0';
        h->r->size = -1;
        h->retry_after[0] = '\0';
    }
    header_value(line, n, "ETag", h->r->etag, sizeof h->r->etag);
    header_value(line, n, "Last-Modified", h->r->last_modified, sizeof h->r->last_modified);
    header_value(line, n, "Retry-After", h->retry_after, sizeof h->retry_after);
    header_value(line, n, "Content-Length", len, sizeof len);
    if (*len)
        h->r->size = atoll(len);
    return n;
}

static double cfg_double(const char *key, double dflt)
{
    const char *v = CPLGetConfigOption(key, NULL);
    return v && *v ? atof(v) : dflt;
}

/* GDAL_HTTP_HEADER_FILE: one "Name: value" per line, as GDAL reads it */
static struct curl_slist *auth_headers(struct curl_slist *l)
{
    const char *f = CPLGetConfigOption("GDAL_HTTP_HEADER_FILE", NULL);
    FILE *fp = f && *f ? fopen(f, "r") : NULL;
    char line[8192];
    while (fp && fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strchr(line, ':'))
            l = curl_slist_append(l, line);
    }
    if (fp)
        fclose(fp);
    return l;
}

/* libcurl calls this at least once a second, also while the server sends nothing: a
 * SIGINT (or the job's cancel) ends a stalled request here, not at GDAL_HTTP_TIMEOUT */
static int on_xfer(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return gd_job_cancelled(ud) ? 1 : 0;
}

void gd_http_resp_free(gd_http_resp *r)
{
    if (r) {
        free(r->data);
        memset(r, 0, sizeof *r);
    }
}

int gd_http(gd_job *job, const char *method, const char *url, const char *body,
            gd_http_resp *r)
{
    static int inited;
    if (!inited) { /* the CLI is single-threaded while it discovers */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = 1;
    }
    memset(r, 0, sizeof *r);
    r->size = -1;
    char safe[1024];
    gd_http_safe_url(url, safe, sizeof safe);
    int max_retry = (int)cfg_double("GDAL_HTTP_MAX_RETRY", 3);
    double delay = cfg_double("GDAL_HTTP_RETRY_DELAY", 1.0);
    long timeout = (long)cfg_double("GDAL_HTTP_TIMEOUT", 60);
    long ctimeout = (long)cfg_double("GDAL_HTTP_CONNECTTIMEOUT", timeout < 30 ? timeout : 30);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    if (!h)
        return gd_job_error(job, GD_EPROC, "cannot start an HTTP session");
    hdrs = curl_slist_append(hdrs, "Accept: application/geo+json, application/json");
    if (body)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = auth_headers(hdrs);
    const char *userpwd = CPLGetConfigOption("GDAL_HTTP_USERPWD", NULL);
    hdr_ctx hc = {.r = r};
    int st = GD_OK;
    for (int attempt = 0;; attempt++) {
        free(r->data);
        r->data = NULL;
        r->len = 0;
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &hc);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, ctimeout);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "geodelta/" GD_VERSION);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, job);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        if (userpwd && *userpwd)
            curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
        if (strcmp(method, "HEAD") == 0)
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        else if (strcmp(method, "POST") == 0)
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        CURLcode cc = curl_easy_perform(h);
        if (cc == CURLE_ABORTED_BY_CALLBACK || gd_job_cancelled(job)) {
            st = gd_job_error(job, GD_ECANCEL, "%s %s: cancelled", method, safe);
            break;
        }
        if (cc == CURLE_OPERATION_TIMEDOUT) {
            st = gd_job_error(job, GD_EINPUT, "%s %s: no complete answer within %ld s (the "
                              "server stalled; GDAL_HTTP_TIMEOUT sets the limit)", method,
                              safe, timeout);
            break;
        }
        if (cc != CURLE_OK) {
            st = gd_job_error(job, GD_EINPUT, "%s %s: %s", method, safe, curl_easy_strerror(cc));
            break;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        int transient = r->status == 429 || r->status == 502 || r->status == 503 ||
                        r->status == 504;
        if (!transient || attempt >= max_retry)
            break;
        /* Retry-After in seconds when the server says so (capped), else GDAL's delay
         * doubling per attempt */
        double wait = delay * (double)(1 << attempt);
        if (hc.retry_after[0] && isdigit((unsigned char)hc.retry_after[0]))
            wait = fmin(atof(hc.retry_after), 60.0);
        gd_job_warn(job, "%s %s: HTTP %ld, retry %d of %d in %.1f s", method, safe, r->status,
                    attempt + 1, max_retry, wait);
        /* in tenths of a second, so that a cancel is not held up by the wait */
        for (double left = wait; left > 0 && !gd_job_cancelled(job); left -= 0.1) {
            double t = fmin(left, 0.1);
            struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (st != GD_OK)
        gd_http_resp_free(r);
    return st;
}

/* GET/POST a JSON document; a non-2xx status is an error naming it */
static int http_json(gd_job *job, const char *method, const char *url, json_t *body,
                     json_t **out, long *status)
{
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    gd_http_resp r;
    char safe[1024];
    gd_http_safe_url(url, safe, sizeof safe);
    *out = NULL;
    int st = gd_http(job, method, url, b, &r);
    free(b);
    if (st != GD_OK)
        return st;
    if (status)
        *status = r.status;
    if (r.status < 200 || r.status >= 300) {
        /* the caller may fall back (405 on POST); it clears this error then */
        st = gd_job_error(job, GD_EINPUT, "%s %s: HTTP %ld%s", method, safe, r.status,
                          r.status == 429 ? " (too many requests, retries exhausted)"
                          : r.status >= 500 ? " (server error)" : "");
        gd_http_resp_free(&r);
        return st;
    }
    json_error_t e;
    *out = r.data ? json_loadb(r.data, r.len, 0, &e) : NULL;
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        st = gd_job_error(job, GD_EINPUT, "%s %s: the answer is not a JSON object (%s)",
                          method, safe, r.data ? e.text : "empty body");
    }
    gd_http_resp_free(&r);
    return st;
}

/* ---- the query ---- */

/* "YYYY-MM-DD" or RFC 3339; end = 1 makes a bare date the day's last second */
static int parse_instant(const char *s, size_t n, int end, char out[32])
{
    int y, m, d;
    if (n == 10 && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3 && s[4] == '-' && s[7] == '-' &&
        m >= 1 && m <= 12 && d >= 1 && d <= 31) {
        snprintf(out, 32, "%04d-%02d-%02dT%s", y, m, d, end ? "23:59:59Z" : "00:00:00Z");
        return 0;
    }
    int hh, mm, ss;
    if (n >= 20 && n < 32 && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &m, &d, &hh, &mm, &ss) == 6 &&
        (s[n - 1] == 'Z' || s[n - 1] == 'z')) {
        memcpy(out, s, n);
        out[n] = '\0';
        return 0;
    }
    return -1;
}

static int parse_window(const char *w, char start[32], char end[32])
{
    if (!w || !*w)
        return -1;
    const char *slash = strchr(w, '/');
    size_t n1 = slash ? (size_t)(slash - w) : strlen(w);
    if (parse_instant(w, n1, 0, start) != 0)
        return -1;
    if (parse_instant(slash ? slash + 1 : w, slash ? strlen(slash + 1) : n1, 1, end) != 0)
        return -1;
    return strncmp(start, end, 19) <= 0 ? 0 : -1;
}

int gd_stac_query_check(gd_job *job, const gd_stac_query *q)
{
    static const char *const names[2] = {"--before", "--after"};
    char a[32], b[32];
    int nw = q->nwindows == 1 ? 1 : 2;
    if (!q->url || (strncmp(q->url, "http://", 7) != 0 && strncmp(q->url, "https://", 8) != 0))
        return gd_job_error(job, GD_EUSAGE, "--stac '%s' is not an http(s) URL",
                            q->url ? q->url : "");
    if (!q->collection || !*q->collection)
        return gd_job_error(job, GD_EUSAGE, "--stac needs --collection NAME");
    if (!q->aoi)
        return gd_job_error(job, GD_EUSAGE, "--stac needs --aoi FILE (the area to search)");
    if (nw == 1 && parse_window(q->window[0], a, b) != 0)
        return gd_job_error(job, GD_EUSAGE, "--from/--to '%s' is not a date range FROM/TO "
                            "(YYYY-MM-DD or RFC 3339 UTC, FROM <= TO)",
                            q->window[0] ? q->window[0] : "");
    for (int d = 0; d < nw; d++)
        if (parse_window(q->window[d], a, b) != 0)
            return gd_job_error(job, GD_EUSAGE,
                                "%s '%s' is not a date window START[/END] (YYYY-MM-DD or "
                                "RFC 3339 UTC, START <= END)", names[d],
                                q->window[d] ? q->window[d] : "");
    if (q->max_cloud > 100.0)
        return gd_job_error(job, GD_EUSAGE, "--max-cloud %g is above 100 %%", q->max_cloud);
    if (q->min_coverage > 1.0)
        return gd_job_error(job, GD_EUSAGE, "--min-coverage %g is above 1", q->min_coverage);
    return GD_OK;
}

/* The AOI's features, united, in WGS84 longitude/latitude. */
static int load_aoi(gd_job *job, const char *path, gd_stac_ctx *c)
{
    int st = GD_OK;
    CPLErrorReset();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds)
        return gd_job_error_gdal(job, GD_EINPUT, "cannot open the AOI %s as vector data", path);
    OGRLayerH lyr = GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL;
    OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL), src = NULL;
    OGRCoordinateTransformationH ct = NULL;
    OSRImportFromEPSG(wgs, 4326);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    OGRGeometryH u = NULL;
    if (!lyr) {
        st = gd_job_error(job, GD_EINPUT, "the AOI %s has no layer", path);
        goto done;
    }
    if (OGR_L_GetSpatialRef(lyr)) {
        src = OSRClone(OGR_L_GetSpatialRef(lyr));
        OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
        if (!OSRIsSame(src, wgs) && !(ct = OCTNewCoordinateTransformation(src, wgs))) {
            st = gd_job_error_gdal(job, GD_EINPUT, "the AOI %s cannot be transformed to WGS84", path);
            goto done;
        }
    }
    OGR_L_ResetReading(lyr);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(lyr))) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        if (g && !OGR_G_IsEmpty(g)) {
            OGRGeometryH gc = OGR_G_Clone(g);
            if (ct)
                OGR_G_Transform(gc, ct);
            OGRGeometryH nu = u ? OGR_G_Union(u, gc) : OGR_G_Clone(gc);
            OGR_G_DestroyGeometry(gc);
            if (u)
                OGR_G_DestroyGeometry(u);
            u = nu;
        }
        OGR_F_Destroy(f);
    }
    if (!u || OGR_G_Area(u) <= 0.0) {
        st = gd_job_error(job, GD_EINPUT, "the AOI %s has no polygon with an area", path);
        goto done;
    }
    OGREnvelope e;
    OGR_G_GetEnvelope(u, &e);
    c->bbox[0] = e.MinX, c->bbox[1] = e.MinY, c->bbox[2] = e.MaxX, c->bbox[3] = e.MaxY;
    c->aoi_area = OGR_G_Area(u);
    c->aoi = u;
    u = NULL;
done:
    if (u)
        OGR_G_DestroyGeometry(u);
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (src)
        OSRDestroySpatialReference(src);
    OSRDestroySpatialReference(wgs);
    GDALClose(ds);
    return st;
}

static int conforms(json_t *landing, const char *suffix)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(landing, "conformsTo"), i, v) {
        const char *s = json_string_value(v);
        size_t n = s ? strlen(s) : 0, k = strlen(suffix);
        if (n >= k && strcmp(s + n - k, suffix) == 0)
            return 1;
    }
    return 0;
}

/* The landing page: where to search, by which method, with which extensions. */
static int landing(gd_job *job, gd_stac_ctx *c)
{
    json_t *doc = NULL;
    int st = http_json(job, "GET", c->api, NULL, &doc, NULL);
    if (st != GD_OK)
        return st;
    if (!conforms(doc, "/item-search")) {
        json_decref(doc);
        return gd_job_error(job, GD_EINPUT, "%s is not a STAC API with item search (its "
                            "conformsTo lists no .../item-search)", c->api);
    }
    c->use_query_ext = conforms(doc, "item-search#query");
    c->use_filter_ext = !c->use_query_ext && conforms(doc, "item-search#filter");
    if ((size_t)snprintf(c->search_url, sizeof c->search_url, "%s/search", c->api) >=
        sizeof c->search_url) {
        json_decref(doc);
        return gd_job_error(job, GD_EUSAGE, "--stac URL is too long");
    }
    int get = 0, post = 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(doc, "links"), i, l) {
        const char *rel = json_string_value(json_object_get(l, "rel"));
        const char *href = json_string_value(json_object_get(l, "href"));
        const char *m = json_string_value(json_object_get(l, "method"));
        if (!rel || strcmp(rel, "search") != 0 || !href)
            continue;
        snprintf(c->search_url, sizeof c->search_url, "%s", href);
        if (m && strcasecmp(m, "POST") == 0)
            post = 1;
        else
            get = 1;
    }
    /* POST carries the AOI polygon itself; a server that only lists GET gets GET */
    c->post = post || !get;
    json_decref(doc);
    return GD_OK;
}

static void urlenc_append(char *buf, size_t len, const char *key, const char *val)
{
    char *e = curl_easy_escape(NULL, val, 0);
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s%s=%s", strchr(buf, '?') ? "&" : "?", key, e ? e : "");
    curl_free(e);
}

static json_t *search_body(gd_stac_ctx *c, int d)
{
    char dt[80];
    snprintf(dt, sizeof dt, "%s/%s", c->win[d].start, c->win[d].end);
    char *gj = OGR_G_ExportToJson(c->aoi);
    json_t *geom = gj ? json_loads(gj, 0, NULL) : NULL;
    CPLFree(gj);
    json_t *b = json_pack("{s:[s], s:s, s:i}", "collections", c->q->collection, "datetime", dt,
                          "limit", PAGE_LIMIT);
    if (geom)
        json_object_set_new(b, "intersects", geom);
    else
        json_object_set_new(b, "bbox", json_pack("[f,f,f,f]", c->bbox[0], c->bbox[1],
                                                 c->bbox[2], c->bbox[3]));
    if (c->q->max_cloud >= 0 && c->use_query_ext)
        json_object_set_new(b, "query", json_pack("{s:{s:f}}", "eo:cloud_cover", "lte",
                                                  c->q->max_cloud));
    else if (c->q->max_cloud >= 0 && c->use_filter_ext) {
        json_object_set_new(b, "filter-lang", json_string("cql2-json"));
        json_object_set_new(b, "filter", json_pack("{s:s, s:[{s:s}, f]}", "op", "<=", "args",
                                                   "property", "eo:cloud_cover",
                                                   c->q->max_cloud));
    }
    return b;
}

static void get_url(gd_stac_ctx *c, int d, char *buf, size_t len)
{
    char v[256];
    snprintf(buf, len, "%s", c->search_url);
    urlenc_append(buf, len, "collections", c->q->collection);
    snprintf(v, sizeof v, "%.9f,%.9f,%.9f,%.9f", c->bbox[0], c->bbox[1], c->bbox[2], c->bbox[3]);
    urlenc_append(buf, len, "bbox", v);
    snprintf(v, sizeof v, "%s/%s", c->win[d].start, c->win[d].end);
    urlenc_append(buf, len, "datetime", v);
    snprintf(v, sizeof v, "%d", PAGE_LIMIT);
    urlenc_append(buf, len, "limit", v);
    if (c->q->max_cloud >= 0 && c->use_filter_ext) {
        snprintf(v, sizeof v, "eo:cloud_cover<=%g", c->q->max_cloud);
        urlenc_append(buf, len, "filter", v);
        urlenc_append(buf, len, "filter-lang", "cql2-text");
    }
}

/* Every page of the search of window d, following "next" links; the features go into
 * c->pages, their count into *n. */
static int search_window(gd_job *job, gd_stac_ctx *c, int d, json_t *features)
{
    json_t *body = search_body(c, d), *page = NULL;
    char url[8192];
    const char *method = c->post ? "POST" : "GET";
    int st;
    long status = 0;
    if (c->post) {
        snprintf(url, sizeof url, "%s", c->search_url);
        st = http_json(job, "POST", url, body, &page, &status);
        /* a server that offers no POST (static, or GET-only) answers 405/404/501 */
        if (st != GD_OK && (status == 405 || status == 404 || status == 501)) {
            gd_job_clear_error(job);
            gd_job_info(job, "POST %s: HTTP %ld, searching with GET", c->search_url, status);
            c->post = 0;
            method = "GET";
        }
    }
    if (!c->post) {
        get_url(c, d, url, sizeof url);
        st = http_json(job, "GET", url, NULL, &page, NULL);
    }
    c->used_post = c->post;
    for (int n = 0; st == GD_OK; n++) {
        json_t *fs = json_object_get(page, "features");
        if (!json_is_array(fs)) {
            st = gd_job_error(job, GD_EINPUT, "%s %s: the answer has no \"features\" array "
                              "(not an ItemCollection)", method, c->search_url);
            break;
        }
        json_array_extend(features, fs);
        gd_job_info(job, "search %s: page %d, %zu items", c->win[d].name, n + 1,
                    json_array_size(fs));
        /* the number of pages is not known: each page halves what is left */
        if (c->progress && (st = gd_job_progress(job, (d + 1.0 - pow(0.5, n + 1)) / c->nwin)) != GD_OK) {
            gd_job_error(job, GD_ECANCEL, "search cancelled");
            break;
        }
        const char *next = NULL, *nm = "GET";
        json_t *nb = NULL;
        int merge = 0;
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(page, "links"), i, l) {
            const char *rel = json_string_value(json_object_get(l, "rel"));
            if (rel && strcmp(rel, "next") == 0) {
                next = json_string_value(json_object_get(l, "href"));
                const char *m = json_string_value(json_object_get(l, "method"));
                nm = m && strcasecmp(m, "POST") == 0 ? "POST" : "GET";
                nb = json_object_get(l, "body");
                merge = json_is_true(json_object_get(l, "merge"));
            }
        }
        if (!next || json_array_size(fs) == 0)
            break;
        if (n + 1 >= MAX_PAGES) {
            gd_job_warn(job, "search stopped after %d pages (%zu items)", MAX_PAGES,
                        json_array_size(features));
            break;
        }
        snprintf(url, sizeof url, "%s", next);
        json_t *pb = NULL;
        if (strcmp(nm, "POST") == 0) {
            pb = merge || !nb ? json_deep_copy(body) : json_object();
            if (nb)
                json_object_update(pb, nb);
        }
        json_decref(page);
        page = NULL;
        method = nm;
        st = http_json(job, nm, url, pb, &page, NULL);
        json_decref(pb);
    }
    json_decref(page);
    json_decref(body);
    return st;
}

/* ---- items ---- */

static const char *prop_s(json_t *it, const char *k)
{
    return json_string_value(json_object_get(json_object_get(it, "properties"), k));
}

static int item_parse(gd_stac_ctx *c, json_t *j, gd_stac_item *it)
{
    memset(it, 0, sizeof *it);
    it->json = j;
    it->id = json_string_value(json_object_get(j, "id"));
    it->datetime = prop_s(j, "datetime");
    if (!it->datetime)
        it->datetime = prop_s(j, "start_datetime");
    it->platform = prop_s(j, "platform");
    it->orbit_state = prop_s(j, "sat:orbit_state");
    json_t *props = json_object_get(j, "properties");
    json_t *cc = json_object_get(props, "eo:cloud_cover");
    it->cloud = json_is_number(cc) ? json_number_value(cc) : NAN;
    json_t *ro = json_object_get(props, "sat:relative_orbit");
    it->rel_orbit = json_is_integer(ro) ? (long)json_integer_value(ro) : -1;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(j, "links"), i, l) {
        const char *rel = json_string_value(json_object_get(l, "rel"));
        if (rel && strcmp(rel, "self") == 0)
            it->self = json_string_value(json_object_get(l, "href"));
    }
    json_t *g = json_object_get(j, "geometry");
    if (!it->id || !it->datetime || strlen(it->datetime) < 19 || !json_is_object(g))
        return -1;
    char *gs = json_dumps(g, JSON_COMPACT);
    it->geom = gs ? OGR_G_CreateGeometryFromJson(gs) : NULL;
    free(gs);
    if (!it->geom)
        return -1;
    OGRGeometryH x = OGR_G_Intersection(it->geom, c->aoi);
    it->coverage = x ? OGR_G_Area(x) / c->aoi_area : 0.0;
    if (x)
        OGR_G_DestroyGeometry(x);
    return 0;
}

json_t *gd_stac_item_brief(const gd_stac_item *it)
{
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:f}", "id", it->id, "datetime",
                          it->datetime,
                          "cloud_cover", isnan(it->cloud) ? json_null() : json_real(it->cloud),
                          "platform", it->platform ? json_string(it->platform) : json_null(),
                          "relative_orbit", it->rel_orbit >= 0 ? json_integer(it->rel_orbit) : json_null(),
                          "orbit_state", it->orbit_state ? json_string(it->orbit_state) : json_null(),
                          "coverage", it->coverage);
    return o;
}

static int cmp_item_id(const void *a, const void *b)
{
    const gd_stac_item *x = *(gd_stac_item *const *)a, *y = *(gd_stac_item *const *)b;
    return strcmp(x->id, y->id);
}

static int full(const gd_stac_acq *a)
{
    return a->coverage >= 0.999;
}

/* best first: covers the AOI, least cloudy, most coverage, earliest, then key */
static int cmp_acq(const void *pa, const void *pb)
{
    const gd_stac_acq *a = pa, *b = pb;
    if (full(a) != full(b))
        return full(b) - full(a);
    double ca = isnan(a->cloud) ? 101.0 : a->cloud, cb = isnan(b->cloud) ? 101.0 : b->cloud;
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (a->coverage != b->coverage)
        return a->coverage > b->coverage ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* Items of one day, platform, relative orbit and direction are one acquisition. */
static int group(gd_job *job, gd_stac_ctx *c, gd_stac_window *w)
{
    w->acqs = calloc(w->n ? w->n : 1, sizeof *w->acqs);
    if (!w->acqs)
        return gd_job_error(job, GD_EPROC, "out of memory");
    for (size_t i = 0; i < w->n; i++) {
        gd_stac_item *it = &w->items[i];
        char key[160];
        snprintf(key, sizeof key, "%.10s|%s|%ld|%s", it->datetime,
                 it->platform ? it->platform : "", it->rel_orbit,
                 it->orbit_state ? it->orbit_state : "");
        gd_stac_acq *a = NULL;
        for (size_t k = 0; k < w->nacq && !a; k++)
            if (strcmp(w->acqs[k].key, key) == 0)
                a = &w->acqs[k];
        if (!a) {
            a = &w->acqs[w->nacq++];
            snprintf(a->key, sizeof a->key, "%s", key);
            snprintf(a->day, sizeof a->day, "%.10s", it->datetime);
            a->cloud = NAN;
        }
        gd_stac_item **ni = realloc(a->items, (a->n + 1) * sizeof *ni);
        if (!ni)
            return gd_job_error(job, GD_EPROC, "out of memory");
        a->items = ni;
        a->items[a->n++] = it;
        if (!isnan(it->cloud))
            a->cloud = isnan(a->cloud) ? it->cloud : fmax(a->cloud, it->cloud);
    }
    for (size_t k = 0; k < w->nacq; k++) {
        gd_stac_acq *a = &w->acqs[k];
        qsort(a->items, a->n, sizeof *a->items, cmp_item_id);
        OGRGeometryH u = NULL;
        for (size_t i = 0; i < a->n; i++) {
            OGRGeometryH nu = u ? OGR_G_Union(u, a->items[i]->geom) : OGR_G_Clone(a->items[i]->geom);
            if (u)
                OGR_G_DestroyGeometry(u);
            u = nu;
        }
        OGRGeometryH x = u ? OGR_G_Intersection(u, c->aoi) : NULL;
        a->coverage = x ? fmin(1.0, OGR_G_Area(x) / c->aoi_area) : 0.0;
        if (x)
            OGR_G_DestroyGeometry(x);
        if (u)
            OGR_G_DestroyGeometry(u);
    }
    qsort(w->acqs, w->nacq, sizeof *w->acqs, cmp_acq);
    return GD_OK;
}

int gd_stac_ctx_search(gd_job *job, const gd_stac_query *q, gd_stac_ctx *c, int progress)
{
    int st;
    memset(c, 0, sizeof *c);
    c->q = q;
    c->progress = progress;
    if ((st = gd_stac_query_check(job, q)) != GD_OK)
        return st;
    snprintf(c->api, sizeof c->api, "%s", q->url);
    size_t n = strlen(c->api);
    while (n > 0 && c->api[n - 1] == '/')
        c->api[--n] = '\0';
    c->nwin = q->nwindows == 1 ? 1 : 2;
    for (int d = 0; d < c->nwin; d++) {
        parse_window(q->window[d], c->win[d].start, c->win[d].end);
        snprintf(c->win[d].name, sizeof c->win[d].name, "%s",
                 c->nwin == 1 ? "range" : d ? "after" : "before");
    }
    if ((st = load_aoi(job, q->aoi, c)) != GD_OK || (st = landing(job, c)) != GD_OK)
        return st;
    c->pages = json_array();
    for (int d = 0; d < c->nwin; d++) {
        gd_stac_window *w = &c->win[d];
        json_t *fs = json_array();
        if ((st = search_window(job, c, d, fs)) != GD_OK) {
            json_decref(fs);
            return st;
        }
        json_array_append_new(c->pages, fs);
        w->found = json_array_size(fs);
        w->items = calloc(w->found ? w->found : 1, sizeof *w->items);
        if (!w->items)
            return gd_job_error(job, GD_EPROC, "out of memory");
        size_t i;
        json_t *j;
        /* the server's filters are not trusted (a static or partial API ignores them) */
        json_array_foreach(fs, i, j) {
            gd_stac_item *it = &w->items[w->n];
            const char *coll = json_string_value(json_object_get(j, "collection"));
            if (item_parse(c, j, it) != 0 || (coll && strcmp(coll, q->collection) != 0) ||
                strncmp(it->datetime, w->start, 19) < 0 || strncmp(it->datetime, w->end, 19) > 0 ||
                it->coverage <= 0.0) {
                if (it->geom)
                    OGR_G_DestroyGeometry(it->geom);
                continue;
            }
            if (q->max_cloud >= 0 && !(it->cloud <= q->max_cloud)) {
                w->cloudy++;
                OGR_G_DestroyGeometry(it->geom);
                continue;
            }
            w->n++;
        }
        if ((st = group(job, c, w)) != GD_OK)
            return st;
        gd_job_info(job, "%s window %s/%s: %zu items returned, %zu usable, %zu acquisitions",
                    w->name, w->start, w->end, w->found, w->n, w->nacq);
    }
    return GD_OK;
}

int gd_stac_same_orbit(const gd_stac_acq *a, const gd_stac_acq *b)
{
    const gd_stac_item *x = a->items[0], *y = b->items[0];
    return x->rel_orbit == y->rel_orbit &&
           (x->orbit_state && y->orbit_state ? strcmp(x->orbit_state, y->orbit_state) == 0
                                             : x->orbit_state == y->orbit_state);
}

static void orbit_list(const gd_stac_window *w, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t k = 0; k < w->nacq && k < 6; k++) {
        const gd_stac_item *it = w->acqs[k].items[0];
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s%s orbit %ld %s", k ? ", " : "", w->acqs[k].day,
                 it->rel_orbit, it->orbit_state ? it->orbit_state : "?");
    }
}

int gd_stac_choose(gd_job *job, gd_stac_ctx *c)
{
    static const char *const role[2] = {"before", "after"};
    double floor_cov = c->q->min_coverage >= 0 ? c->q->min_coverage : 0.5;
    for (int d = 0; d < 2; d++) {
        gd_stac_window *w = &c->win[d];
        if (w->nacq == 0) {
            if (w->cloudy)
                return gd_job_error(job, GD_EINPUT, "%s window %s/%s: all %zu items over the "
                                    "AOI have eo:cloud_cover above --max-cloud %g", role[d],
                                    w->start, w->end, w->cloudy, c->q->max_cloud);
            return gd_job_error(job, GD_EINPUT, "%s window %s/%s: no item of collection %s "
                                "over the AOI (%s%zu item%s returned, none of them in the "
                                "window, the collection and over the AOI)", role[d], w->start,
                                w->end, c->q->collection, w->found ? "" : "the search found "
                                "nothing: ", w->found, w->found == 1 ? "" : "s");
        }
        if (w->acqs[0].coverage < floor_cov)
            return gd_job_error(job, GD_EINPUT, "%s window %s/%s: no acquisition covers %.0f %% "
                                "of the AOI (best: %.1f %% on %s); --min-coverage sets the "
                                "floor", role[d], w->start, w->end, floor_cov * 100.0,
                                w->acqs[0].coverage * 100.0, w->acqs[0].day);
    }
    const gd_stac_acq *b = &c->win[0].acqs[0], *a = &c->win[1].acqs[0];
    int sar = b->items[0]->orbit_state || b->items[0]->rel_orbit >= 0 ||
              a->items[0]->orbit_state || a->items[0]->rel_orbit >= 0;
    if (sar && !gd_stac_same_orbit(a, b)) {
        /* the best pair with the same geometry of acquisition, before's order first */
        const gd_stac_acq *pb = NULL, *pa = NULL;
        for (size_t i = 0; i < c->win[0].nacq && !pb; i++)
            for (size_t k = 0; k < c->win[1].nacq && !pb; k++)
                if (c->win[0].acqs[i].coverage >= floor_cov &&
                    c->win[1].acqs[k].coverage >= floor_cov &&
                    gd_stac_same_orbit(&c->win[0].acqs[i], &c->win[1].acqs[k]))
                    pb = &c->win[0].acqs[i], pa = &c->win[1].acqs[k];
        if (!pb) {
            char lb[512], la[512];
            orbit_list(&c->win[0], lb, sizeof lb);
            orbit_list(&c->win[1], la, sizeof la);
            return gd_job_error(job, GD_EINPUT, "refusing a mixed pair: no before and after "
                                "acquisitions share a relative orbit and orbit direction "
                                "(before: %s; after: %s); images from different geometries "
                                "differ by more than the change", lb, la);
        }
        gd_job_warn(job, "the least cloudy acquisitions differ in orbit: using the pair of "
                         "relative orbit %ld %s (%s, %s)", pb->items[0]->rel_orbit,
                    pb->items[0]->orbit_state ? pb->items[0]->orbit_state : "?", pb->day, pa->day);
        b = pb, a = pa;
    }
    c->win[0].chosen = b;
    c->win[1].chosen = a;
    for (int d = 0; d < 2; d++) {
        const gd_stac_acq *x = c->win[d].chosen;
        if (x->coverage < 0.999)
            gd_job_warn(job, "%s: the chosen acquisition (%s) covers %.1f %% of the AOI; the "
                        "rest is nodata", role[d], x->day, x->coverage * 100.0);
        gd_job_info(job, "%s: %s, %zu item%s, cloud cover %g %%, AOI coverage %.1f %%", role[d],
                    x->day, x->n, x->n == 1 ? "" : "s", x->cloud, x->coverage * 100.0);
    }
    return GD_OK;
}

void gd_stac_ctx_free(gd_stac_ctx *c)
{
    for (int d = 0; d < 2; d++) {
        gd_stac_window *w = &c->win[d];
        for (size_t i = 0; i < w->n; i++)
            OGR_G_DestroyGeometry(w->items[i].geom);
        for (size_t k = 0; k < w->nacq; k++)
            free(w->acqs[k].items);
        free(w->acqs);
        free(w->items);
    }
    if (c->aoi)
        OGR_G_DestroyGeometry(c->aoi);
    json_decref(c->pages);
    memset(c, 0, sizeof *c);
}

int gd_stac_search(gd_job *job, const gd_stac_query *q, json_t **out)
{
    static const char *const role[2] = {"before", "after"};
    gd_stac_ctx c;
    *out = NULL;
    int st = gd_stac_ctx_search(job, q, &c, 0);
    if (st == GD_OK) {
        /* which acquisitions would be taken, when both windows have one */
        if (c.win[0].nacq && c.win[1].nacq && gd_stac_choose(job, &c) != GD_OK)
            gd_job_clear_error(job);
        json_t *ws = json_array();
        for (int d = 0; d < 2; d++) {
            gd_stac_window *w = &c.win[d];
            json_t *items = json_array();
            for (size_t k = 0; k < w->nacq; k++)
                for (size_t i = 0; i < w->acqs[k].n; i++) {
                    json_t *o = gd_stac_item_brief(w->acqs[k].items[i]);
                    json_object_set_new(o, "acquisition_coverage", json_real(w->acqs[k].coverage));
                    json_object_set_new(o, "chosen", json_boolean(w->chosen == &w->acqs[k]));
                    json_array_append_new(items, o);
                }
            char dt[80];
            snprintf(dt, sizeof dt, "%s/%s", w->start, w->end);
            json_array_append_new(ws, json_pack("{s:s, s:s, s:I, s:I, s:o}", "role", role[d],
                                                "datetime", dt, "returned", (json_int_t)w->found,
                                                "above_max_cloud", (json_int_t)w->cloudy,
                                                "items", items));
        }
        *out = json_pack("{s:s, s:s, s:s, s:o}", "api", c.api, "collection", q->collection,
                         "search_method", c.used_post ? "POST" : "GET", "windows", ws);
    }
    gd_stac_ctx_free(&c);
    return st;
}
