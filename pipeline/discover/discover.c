/* discover.c: the discover stage as the chain sees it: search, choose, read the two
 * dates' AOI windows, and the record that goes into the manifest. */
#include "discover_int.h"

#include "geodelta/util.h"

#include <cpl_vsi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gd_discover {
    char tmpdir[4096];        /* removed by destroy; empty with --cache */
    char path[2][4096];
    json_t *record;
};

static json_t *query_json(const gd_stac_ctx *c)
{
    json_t *q = json_pack("{s:s, s:[s], s:[f,f,f,f], s:[s,s]}", "api", c->api, "collections",
                          c->q->collection, "bbox", c->bbox[0], c->bbox[1], c->bbox[2],
                          c->bbox[3], "datetime", "", "");
    json_t *dt = json_array();
    for (int d = 0; d < 2; d++)
        json_array_append_new(dt, json_sprintf("%s/%s", c->win[d].start, c->win[d].end));
    json_object_set_new(q, "datetime", dt);
    json_object_set_new(q, "max_cloud", c->q->max_cloud >= 0 ? json_real(c->q->max_cloud)
                                                              : json_null());
    json_object_set_new(q, "min_coverage",
                        json_real(c->q->min_coverage >= 0 ? c->q->min_coverage : 0.5));
    json_object_set_new(q, "search_method", json_string(c->used_post ? "POST" : "GET"));
    json_object_set_new(q, "cloud_filter", json_string(c->q->max_cloud < 0 ? "none"
                        : c->use_query_ext ? "query extension and client"
                        : c->use_filter_ext ? "CQL2 filter and client" : "client"));
    return q;
}

int gd_discover_run(gd_job *job, const gd_stac_query *q, gd_discover **out)
{
    gd_stac_ctx c;
    *out = NULL;
    gd_discover *d = calloc(1, sizeof *d);
    if (!d)
        return gd_job_error(job, GD_EPROC, "out of memory");
    /* progress in the caller's range: the search (pages), then each date's HEAD requests
     * and window read; cancels (SIGINT) end a request within a second */
    gd_job_progress_push(job, 0.0, 0.1);
    int st = gd_stac_ctx_search(job, q, &c, 1);
    gd_job_progress_pop(job);
    if (st == GD_OK)
        st = gd_stac_choose(job, &c);
    if (st == GD_OK && !q->cache) {
        const char *t = getenv("TMPDIR");
        snprintf(d->tmpdir, sizeof d->tmpdir, "%s/geodelta-discover.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(d->tmpdir)) {
            d->tmpdir[0] = '\0';
            st = gd_job_error(job, GD_EOUTPUT, "cannot make a temporary folder for the AOI "
                              "windows (TMPDIR)");
        }
    }
    json_t *dates = json_array();
    for (int k = 0; k < 2 && st == GD_OK; k++) {
        json_t *rec = json_object();
        gd_job_progress_push(job, 0.1 + 0.45 * k, 0.55 + 0.45 * k);
        st = gd_mosaic_date(job, &c, k, d->tmpdir, d->path[k], sizeof d->path[k], rec);
        gd_job_progress_pop(job);
        json_array_append_new(dates, rec);
    }
    if (st == GD_OK) {
        d->record = json_pack("{s:s, s:o, s:o}", "schema", "geodelta-discover/1", "query",
                              query_json(&c), "dates", dates);
        dates = NULL;
    }
    json_decref(dates);
    gd_stac_ctx_free(&c);
    if (st != GD_OK) {
        gd_discover_destroy(d);
        return st;
    }
    *out = d;
    return GD_OK;
}

const char *gd_discover_path(const gd_discover *d, int date)
{
    return d->path[date ? 1 : 0];
}

json_t *gd_discover_record(const gd_discover *d)
{
    return json_deep_copy(d->record);
}

void gd_discover_destroy(gd_discover *d)
{
    if (!d)
        return;
    if (d->tmpdir[0]) {
        VSIRmdirRecursive(d->tmpdir);
    }
    json_decref(d->record);
    free(d);
}
