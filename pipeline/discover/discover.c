/* discover.c: the discover stage as the chain sees it: search, choose, read the two
 * dates' AOI windows, and the record that goes into the manifest. */
#include "discover_int.h"

#include "geodelta/util.h"

#include "geodelta/files.h"

#include <cpl_vsi.h>
#include <limits.h>
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
    for (int d = 0; d < c->nwin; d++)
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

static int cmp_day(const void *a, const void *b)
{
    return strcmp((*(const gd_stac_acq *const *)a)->day, (*(const gd_stac_acq *const *)b)->day);
}

/* The LIST line's path: the file's name when it lies in the LIST's folder, else absolute. */
static void list_path(const char *dir, const char *path, char *out, size_t len)
{
    size_t n = strlen(dir);
    char abs[PATH_MAX];
    if (strncmp(path, dir, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/'))
        snprintf(out, len, "%s", path + n + 1);
    else
        snprintf(out, len, "%s", realpath(path, abs) ? abs : path);
}

int gd_discover_series(gd_job *job, const gd_stac_query *q0, const char *dir, const char *list,
                       json_t **record)
{
    gd_stac_query q = *q0;
    gd_stac_ctx c;
    const gd_stac_acq **pick = NULL;
    size_t npick = 0, thin = 0, other_orbit = 0;
    json_t *dates = json_array();
    FILE *f = NULL;
    char tmp[4096] = "";
    *record = NULL;
    q.nwindows = 1;
    /* the dates are read into the cache (OUTDIR/stac unless --cache): a later run over a
     * longer range finds the earlier dates there (HEAD requests only) and the monitor's
     * state sees their hashes unchanged, so only the new dates are fetched and tested */
    if (!q.cache)
        q.cache = dir;
    gd_job_progress_push(job, 0.0, 0.1);
    int st = gd_stac_ctx_search(job, &q, &c, 1);
    gd_job_progress_pop(job);
    if (st != GD_OK)
        goto done;
    gd_stac_window *w = &c.win[0];
    if (w->nacq == 0) {
        if (w->cloudy)
            st = gd_job_error(job, GD_EINPUT, "range %s/%s: all %zu items over the AOI have "
                              "eo:cloud_cover above --max-cloud %g", w->start, w->end,
                              w->cloudy, q.max_cloud);
        else
            st = gd_job_error(job, GD_EINPUT, "range %s/%s: no item of collection %s over the "
                              "AOI (%s%zu item%s returned, none of them in the range, the "
                              "collection and over the AOI)", w->start, w->end, q.collection,
                              w->found ? "" : "the search found nothing: ", w->found,
                              w->found == 1 ? "" : "s");
        goto done;
    }
    /* SAR: one geometry for the whole series, the relative orbit and direction seen on
     * the most acquisitions (ties: the best acquisition's); a baseline of mixed orbits
     * would flag the difference in geometry as change */
    const gd_stac_acq *ref = NULL;
    size_t best = 0;
    for (size_t k = 0; k < w->nacq; k++) {
        const gd_stac_item *it = w->acqs[k].items[0];
        if (!it->orbit_state && it->rel_orbit < 0)
            continue;
        size_t n = 0;
        for (size_t j = 0; j < w->nacq; j++)
            n += gd_stac_same_orbit(&w->acqs[k], &w->acqs[j]);
        if (n > best)
            best = n, ref = &w->acqs[k];
    }
    double floor_cov = q.min_coverage >= 0 ? q.min_coverage : 0.5;
    pick = calloc(w->nacq, sizeof *pick);
    if (!pick) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    /* the acquisitions are in detect's order of preference: the first of a day is its best */
    for (size_t k = 0; k < w->nacq; k++) {
        const gd_stac_acq *a = &w->acqs[k];
        int seen = 0;
        for (size_t i = 0; i < npick && !seen; i++)
            seen = strcmp(pick[i]->day, a->day) == 0;
        if (seen)
            continue;
        if (ref && !gd_stac_same_orbit(ref, a)) {
            other_orbit++;
            continue;
        }
        if (a->coverage < floor_cov) {
            thin++;
            gd_job_warn(job, "%s left out: its acquisition covers %.1f %% of the AOI "
                        "(--min-coverage %g)", a->day, a->coverage * 100.0, floor_cov);
            continue;
        }
        pick[npick++] = a;
    }
    if (other_orbit)
        gd_job_info(job, "%zu acquisition(s) of other orbits than relative orbit %ld %s left "
                    "out", other_orbit, ref->items[0]->rel_orbit,
                    ref->items[0]->orbit_state ? ref->items[0]->orbit_state : "?");
    if (npick == 0) {
        st = gd_job_error(job, GD_EINPUT, "range %s/%s: no acquisition covers %.0f %% of the "
                          "AOI (best: %.1f %% on %s); --min-coverage sets the floor", w->start,
                          w->end, floor_cov * 100.0, w->acqs[0].coverage * 100.0,
                          w->acqs[0].day);
        goto done;
    }
    qsort(pick, npick, sizeof *pick, cmp_day);
    gd_job_info(job, "range %s/%s: %zu dates to read", w->start, w->end, npick);
    if ((st = gd_mkdir_p(job, dir)) != GD_OK || (st = gd_tmp_open(job, list, tmp, sizeof tmp, &f)) != GD_OK)
        goto done;
    fprintf(f, "# geodelta monitor --stac %s --collection %s: one acquisition a date\n", c.api,
            q.collection);
    for (size_t k = 0; k < npick && st == GD_OK; k++) {
        char path[4096], lp[4096];
        json_t *rec = json_object();
        w->chosen = pick[k];
        snprintf(w->name, sizeof w->name, "%s", pick[k]->day);
        gd_job_progress_push(job, 0.1 + 0.9 * (double)k / npick, 0.1 + 0.9 * (k + 1.0) / npick);
        st = gd_mosaic_date(job, &c, 0, dir, path, sizeof path, rec);
        gd_job_progress_pop(job);
        json_array_append_new(dates, rec);
        if (st == GD_OK) {
            list_path(dir, path, lp, sizeof lp);
            fprintf(f, "%s %s\n", pick[k]->day, lp);
        }
    }
    w->chosen = NULL;
    if (st != GD_OK)
        goto done;
    st = gd_commit_stream(job, f, tmp, list);
    f = NULL;
    if (st != GD_OK)
        goto done;
    tmp[0] = '\0';
    *record = json_pack("{s:s, s:o, s:o, s:{s:I, s:I}}", "schema", "geodelta-discover/1",
                        "query", query_json(&c), "dates", dates, "left_out", "low_coverage",
                        (json_int_t)thin, "other_orbit", (json_int_t)other_orbit);
    dates = NULL;
done:
    if (f)
        fclose(f);
    if (tmp[0])
        unlink(tmp);
    json_decref(dates);
    free(pick);
    gd_stac_ctx_free(&c);
    return st;
}
