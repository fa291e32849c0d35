/* batch.c: batch files: whole-file validation, one process per job, resume, index. */
#include "geodelta/batch.h"
#include "geodelta/detect.h"
#include "geodelta/files.h"
#include "geodelta/monitor.h"
#include "geodelta/options.h"
#include "geodelta/discover.h"
#include "geodelta/provenance.h"
#include "geodelta/stages.h"
#include "geodelta/summary.h"
#include "geodelta/util.h"

#include <cpl_error.h>
#include <dirent.h>
#include <errno.h>
#include <gdal.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct bjob {
    int index;
    char id[128];
    json_t *spec;        /* resolved: defaults merged, paths absolute (job.json) */
    gd_detect_params p;  /* strings borrowed from spec */
    gd_stac_query stac;  /* "stac": {...} instead of before/after (p.stac points here) */
    int monitor;         /* "kind": "monitor": a `geodelta monitor` of one area */
    gd_monitor_options *mo; /* its options (strings borrowed from spec); only then, so
                               that 80 000 detect jobs stay as small as they were */
} bjob;

struct gd_batch {
    char *path;
    json_t *doc;
    json_t *errors;
    bjob *jobs;
    size_t n;
    int shards;
};

/* Job fields: "id", "params" and the detect options declared as job fields. */
static int is_job_key(const char *k)
{
    return strcmp(k, "id") == 0 || strcmp(k, "params") == 0 || strcmp(k, "stac") == 0 ||
           strcmp(k, "kind") == 0 || strcmp(k, "stack") == 0 ||
           gd_opt_find_batch(gd_detect_option_table(), k, GD_BATCH_JOB) != NULL;
}

/* "a b c": the keys of the options at where (job fields or params), for messages. */
static void key_list(gd_batch_where where, char *buf, size_t len)
{
    const gd_opt_table *t = gd_detect_option_table();
    snprintf(buf, len, "%s", where == GD_BATCH_JOB ? "id" : "");
    for (size_t i = 0; i < t->n; i++)
        if (t->opts[i].batch == where) {
            size_t u = strlen(buf);
            snprintf(buf + u, len - u, "%s%s", u ? " " : "", t->opts[i].batch_key);
        }
    if (where == GD_BATCH_JOB) {
        size_t u = strlen(buf);
        snprintf(buf + u, len - u, " params stac");
    }
}



static void add_error(gd_batch *b, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_error(gd_batch *b, const char *who, const char *fmt, ...)
{
    char msg[1536], line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s: %s%s%s", b->path, who ? who : "", who ? ": " : "", msg);
    json_array_append_new(b->errors, json_string(line));
}

size_t gd_batch_count(const gd_batch *b) { return b->n; }
const json_t *gd_batch_errors(const gd_batch *b) { return b->errors; }
int gd_batch_shards(const gd_batch *b) { return b->shards; }

void gd_batch_destroy(gd_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->jobs[i].spec);
        free(b->jobs[i].mo);
    }
    free(b->jobs);
    json_decref(b->doc);
    json_decref(b->errors);
    free(b->path);
    free(b);
}

/* Paths in a batch file are relative to the file's folder. */
static json_t *resolve_path(const char *base, const char *p)
{
    char buf[PATH_MAX + 256], real[PATH_MAX];
    if (p[0] == '/' || strncmp(p, "/vsi", 4) == 0)
        return json_string(p);
    snprintf(buf, sizeof buf, "%s/%s", base, p);
    return json_string(realpath(buf, real) ? real : buf);
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 100 || s[0] == '.' || s[0] == '-')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* integrity: the names batch writes in OUTROOT next to the job folders */
static int reserved_id(const char *s)
{
    return strcmp(s, "batch.json") == 0 || strcmp(s, "batch.csv") == 0;
}

/* integrity: the duplicate check through a hash set (a JSON object: id -> job index), so
 * that validation stays linear in the number of jobs. Returns the earlier job's index,
 * or -1 (and remembers idx). */
static int id_seen(json_t *seen, const char *id, int idx)
{
    json_t *k = json_object_get(seen, id);
    if (k)
        return (int)json_integer_value(k);
    json_object_set_new(seen, id, json_integer(idx));
    return -1;
}

/* Sets option o from obj[key] exactly as the CLI would from its text: the JSON value must
 * have the option's type (flags true/false, numbers numbers, the rest strings); paths are
 * resolved against the batch file's folder (and written back into obj, so job.json holds
 * them absolute) and must be readable; a number given for a text option (a fixed
 * threshold) is written back as text. label is "field K" or "params.K". */
static void set_option(gd_batch *b, const char *who, const char *label, const gd_opt *o,
                       json_t *obj, const char *key, const char *base, void *t)
{
    json_t *v = json_object_get(obj, key);
    char text[64], what[512];
    const char *s = NULL;
    int type_ok = 1;
    switch (o->type) {
    case GD_OPT_FLAG:
        type_ok = json_is_boolean(v);
        if (type_ok && !json_is_true(v))
            return; /* false: as not given */
        break;
    case GD_OPT_INT:
        type_ok = json_is_integer(v);
        if (type_ok)
            snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
        s = text;
        break;
    case GD_OPT_DOUBLE:
        type_ok = json_is_number(v);
        if (type_ok)
            snprintf(text, sizeof text, "%.17g", json_number_value(v));
        s = text;
        break;
    default:
        if (json_is_number(v) && (o->flags & GD_OPTF_NUMBER)) {
            snprintf(text, sizeof text, "%.17g", json_number_value(v));
            json_object_set_new(obj, key, json_string(text));
            v = json_object_get(obj, key);
        }
        type_ok = json_is_string(v) && (o->type != GD_OPT_PATH || *json_string_value(v));
        if (type_ok && o->type == GD_OPT_PATH) {
            json_object_set_new(obj, key, resolve_path(base, json_string_value(v)));
            v = json_object_get(obj, key);
            /* a folder the run creates (a cache) need not exist yet */
            if (!(o->flags & GD_OPTF_NEW_PATH) && strncmp(json_string_value(v), "/vsi", 4) != 0 &&
                access(json_string_value(v), R_OK) != 0) {
                add_error(b, who, "%s: %s cannot be read: %s", label, json_string_value(v),
                          strerror(errno));
                return;
            }
        }
        s = type_ok ? json_string_value(v) : NULL;
        break;
    }
    if (type_ok && gd_opt_set(o, s, t, what, sizeof what) == 0)
        return;
    if (o->flags & GD_OPTF_METHOD)
        add_error(b, who, "%s: %s%s%s (see geodelta methods)", label,
                  json_is_string(v) ? "unknown method '" : "missing or not a string",
                  json_is_string(v) ? json_string_value(v) : "", json_is_string(v) ? "'" : "");
    else {
        if (!type_ok)
            gd_opt_what(o, what, sizeof what);
        add_error(b, who, "%s: must be %s%s", label, o->type == GD_OPT_PATH ? "a file path" : what,
                  o->type == GD_OPT_PATH || type_ok ? "" : json_is_string(v) &&
                  (o->type == GD_OPT_INT || o->type == GD_OPT_DOUBLE) ? " (a JSON number, not a string)" : "");
    }
}

/* A "kind": "monitor" job: "stack" (a LIST path or an array of them, relative to the batch
 * file) and "method" (one name or one per stack) as the job fields, the monitor options
 * with a batch key in "params" (params.stac, collection, aoi, from, to...: the first stack
 * from a STAC search, then "stack" may be left out); the same checks as `geodelta
 * monitor`'s command line, from its option table. */
static void check_monitor(gd_job *job, gd_batch *b, const char *who, const char *base,
                          json_t *spec, json_t *params, bjob *j)
{
    const gd_opt_table *t = gd_monitor_option_table();
    const char *key;
    json_t *v;
    char what[512], label[160];
    if (!(j->mo = malloc(sizeof *j->mo))) {
        add_error(b, who, "out of memory");
        return;
    }
    gd_monitor_options_init(j->mo);
    j->monitor = 1;
    json_object_foreach(spec, key, v)
        if (strcmp(key, "id") != 0 && strcmp(key, "kind") != 0 && strcmp(key, "stack") != 0 &&
            strcmp(key, "method") != 0 && strcmp(key, "params") != 0)
            add_error(b, who, "field %s: not a field of a monitor job (id, kind, stack, method, "
                      "params)", key);
    const int stac = json_object_get(params, "stac") != NULL;
    static const char *const fields[2] = {"stack", "method"};
    for (int f = 0; f < 2; f++) {
        const gd_opt *o = gd_opt_find(t, fields[f]);
        json_t *val = json_object_get(spec, fields[f]);
        if (f == 0 && !val && stac)
            continue; /* the one stack comes from the search */
        if (json_is_string(val)) { /* one value: an array of one */
            json_t *arr = json_array();
            json_array_append(arr, val);
            json_object_set_new(spec, fields[f], arr);
            val = arr;
        }
        if (!json_is_array(val) || json_array_size(val) == 0) {
            add_error(b, who, "field %s: missing (a %s or an array of them%s)", fields[f],
                      f == 0 ? "LIST path" : "method name",
                      f == 0 ? "; or params.stac for a STAC search" : "");
            continue;
        }
        for (size_t i = 0; i < json_array_size(val); i++) {
            json_t *e = json_array_get(val, i);
            if (!json_is_string(e) || !*json_string_value(e)) {
                add_error(b, who, "field %s[%zu]: not a string", fields[f], i);
                continue;
            }
            if (f == 0) {
                json_array_set_new(val, i, resolve_path(base, json_string_value(e)));
                e = json_array_get(val, i);
                if (access(json_string_value(e), R_OK) != 0) {
                    add_error(b, who, "field stack[%zu]: %s cannot be read: %s", i,
                              json_string_value(e), strerror(errno));
                    continue;
                }
            }
            if (gd_opt_set(o, json_string_value(e), j->mo, what, sizeof what) != 0)
                add_error(b, who, "field %s[%zu]: must be %s", fields[f], i, what);
        }
    }
    json_object_foreach(params, key, v) {
        const gd_opt *opt = gd_opt_find_batch(t, key, GD_BATCH_PARAMS);
        snprintf(label, sizeof label, "params.%s", key);
        if (!opt)
            add_error(b, who, "params: unknown field '%s' of a monitor job", key);
        else
            set_option(b, who, label, opt, params, key, base, j->mo);
    }
    /* an option needing another (zone_field needs zones, collection needs stac): the
     * table's rule, as on the command line */
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *opt = &t->opts[i], *need = opt->needs ? gd_opt_find(t, opt->needs) : NULL;
        if (need && opt->batch == GD_BATCH_PARAMS && need->batch == GD_BATCH_PARAMS &&
            json_object_get(params, opt->batch_key) && !json_object_get(params, need->batch_key))
            add_error(b, who, "params.%s: needs params.%s", opt->batch_key, need->batch_key);
    }
    int nstacks = j->mo->p.nstacks + stac;
    if (j->mo->p.nmethods > 1 && j->mo->p.nmethods != nstacks)
        add_error(b, who, "field method: one name, or one per stack (%d for %d stacks%s)",
                  j->mo->p.nmethods, nstacks, stac ? ", the search's included" : "");
    if (stac) { /* --from/--to as the search window, then the query's own checks */
        if (gd_monitor_options_finish(j->mo, what, sizeof what) != 0) {
            add_error(b, who, "params.stac: needs params.from and params.to");
        } else {
            gd_job *ctx = NULL;
            if (gd_job_fork(job, &ctx) == GD_OK) {
                if (gd_stac_query_check(ctx, &j->mo->stac) != GD_OK)
                    add_error(b, who, "params.stac: %s", gd_job_message(ctx));
                gd_job_destroy(ctx);
            }
        }
    }
}

/* Merges defaults and job, checks every field; fills j. */
static int in_list(const char *k, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(k, *list) == 0)
            return 1;
    return 0;
}

/* "stac": {"url", "collection", "before", "after", "max_cloud", "min_coverage", "cache"}:
 * the job's dates found by a STAC search of its aoi (detect --stac). */
static void check_stac(gd_job *job, gd_batch *b, const char *who, const char *base,
                       json_t *spec, bjob *j, gd_detect_params *p)
{
    static const char *const stac_keys[] = {"url", "collection", "before", "after",
                                            "max_cloud", "min_coverage", "cache", NULL};
    json_t *s = json_deep_copy(json_object_get(spec, "stac")), *v;
    json_object_set_new(spec, "stac", s);
    const char *key;
    if (!json_is_object(s)) {
        add_error(b, who, "field stac: must be an object with url, collection, before, after");
        return;
    }
    json_object_foreach(s, key, v)
        if (!in_list(key, stac_keys))
            add_error(b, who, "field stac: unknown field '%s' (fields: url collection before "
                      "after max_cloud min_coverage cache)", key);
    if (json_object_get(spec, "before") || json_object_get(spec, "after"))
        add_error(b, who, "fields before/after: give the date windows in stac.before and "
                  "stac.after instead");
    gd_stac_query *q = &j->stac;
    gd_stac_query_init(q);
    q->url = json_string_value(json_object_get(s, "url"));
    q->collection = json_string_value(json_object_get(s, "collection"));
    q->window[0] = json_string_value(json_object_get(s, "before"));
    q->window[1] = json_string_value(json_object_get(s, "after"));
    json_t *mc = json_object_get(s, "max_cloud"), *mv = json_object_get(s, "min_coverage");
    if (mc && !json_is_number(mc))
        add_error(b, who, "field stac.max_cloud: must be a number (percent)");
    else if (mc)
        q->max_cloud = json_number_value(mc);
    if (mv && !json_is_number(mv))
        add_error(b, who, "field stac.min_coverage: must be a number (0..1)");
    else if (mv)
        q->min_coverage = json_number_value(mv);
    json_t *cv = json_object_get(s, "cache");
    if (cv && !json_is_string(cv))
        add_error(b, who, "field stac.cache: must be a folder path");
    else if (cv) {
        json_object_set_new(s, "cache", resolve_path(base, json_string_value(cv)));
        q->cache = json_string_value(json_object_get(s, "cache"));
    }
    q->aoi = json_string_value(json_object_get(spec, "aoi")); /* resolved by the caller */
    gd_job *ctx = NULL;
    if (gd_job_fork(job, &ctx) == GD_OK) {
        if (gd_stac_query_check(ctx, q) != GD_OK)
            add_error(b, who, "field stac: %s", gd_job_message(ctx));
        gd_job_destroy(ctx);
    }
    p->in.before = q->window[0];
    p->in.after = q->window[1];
    p->in.stac = q;
}

static void check_job(gd_job *job, gd_batch *b, const char *base, const json_t *defaults,
                      json_t *raw, int idx, bjob *j, json_t *seen_ids)
{
    char who[192];
    snprintf(who, sizeof who, "job #%d", idx);
    j->index = idx;
    if (!json_is_object(raw)) {
        add_error(b, who, "must be an object with id, before, after, method...");
        return;
    }
    json_t *id = json_object_get(raw, "id");
    if (json_is_string(id)) {
        snprintf(who, sizeof who, "job \"%.100s\" (#%d)", json_string_value(id), idx);
        if (!valid_id(json_string_value(id)))
            add_error(b, who, "field id: use 1-100 letters, digits, '_', '-' or '.', not "
                      "starting with '.' or '-' (it names the output folder)");
        else if (reserved_id(json_string_value(id)))
            add_error(b, who, "field id: '%s' is the name of the batch index in OUTROOT",
                      json_string_value(id));
        int k = id_seen(seen_ids, json_string_value(id), idx);
        if (k >= 0)
            add_error(b, who, "field id: duplicate of job #%d", k);
        snprintf(j->id, sizeof j->id, "%s", json_string_value(id));
    } else {
        add_error(b, who, "field id: missing or not a string");
    }
    const char *key;
    json_t *v;
    char keys[1024];
    key_list(GD_BATCH_JOB, keys, sizeof keys);
    json_object_foreach(raw, key, v)
        if (!is_job_key(key))
            add_error(b, who, "unknown field '%s' (fields: %s)", key, keys);
    /* job fields override defaults; params merge key by key */
    json_t *spec = json_object();
    if (defaults)
        json_object_update(spec, (json_t *)defaults);
    json_object_update(spec, raw);
    json_t *params = json_object();
    json_t *dp = defaults ? json_object_get(defaults, "params") : NULL;
    json_t *jp = json_object_get(raw, "params");
    if (jp && !json_is_object(jp))
        add_error(b, who, "field params: must be an object");
    if (json_is_object(dp))
        json_object_update(params, dp);
    if (json_is_object(jp))
        json_object_update(params, jp);
    json_object_set_new(spec, "params", params);
    j->spec = spec;
    json_t *kind = json_object_get(spec, "kind");
    if (kind && !(json_is_string(kind) && (strcmp(json_string_value(kind), "monitor") == 0 ||
                                           strcmp(json_string_value(kind), "detect") == 0))) {
        add_error(b, who, "field kind: must be \"detect\" (the default) or \"monitor\"");
        return;
    }
    if (kind && strcmp(json_string_value(kind), "monitor") == 0) {
        check_monitor(job, b, who, base, spec, params, j);
        return;
    }
    if (json_object_get(spec, "stack"))
        add_error(b, who, "field stack: a field of monitor jobs (\"kind\": \"monitor\")");
    gd_detect_options o;
    gd_detect_options_init(&o);
    gd_detect_params *p = &o.p;

    /* the job fields, then params (the detect option table: the same checks as the CLI) */
    const gd_opt_table *t = gd_detect_option_table();
    const int stac = json_object_get(spec, "stac") != NULL;
    char label[160];
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *opt = &t->opts[i];
        if (opt->batch != GD_BATCH_JOB || (opt->flags & GD_OPTF_BATCH_JSON))
            continue;
        snprintf(label, sizeof label, "field %s", opt->batch_key);
        if (json_object_get(spec, opt->batch_key))
            set_option(b, who, label, opt, spec, opt->batch_key, base, &o);
        else if (stac && (opt->off == offsetof(gd_detect_options, p.in.before) ||
                          opt->off == offsetof(gd_detect_options, p.in.after)))
            continue; /* the stac object's date windows */
        else if (opt->flags & GD_OPTF_REQUIRED)
            add_error(b, who, "%s: missing%s", label,
                      opt->flags & GD_OPTF_METHOD ? " (see geodelta methods)" : "");
    }
    key_list(GD_BATCH_PARAMS, keys, sizeof keys);
    json_object_foreach(params, key, v) {
        const gd_opt *opt = gd_opt_find_batch(t, key, GD_BATCH_PARAMS);
        snprintf(label, sizeof label, "params.%s", key);
        if (!opt)
            add_error(b, who, "params: unknown field '%s' (fields: %s)", key, keys);
        else
            set_option(b, who, label, opt, params, key, base, &o);
    }
    /* an option needing another (--max-slope needs --dem): the same rule as the CLI */
    for (size_t i = 0; i < t->n; i++) {
        const gd_opt *opt = &t->opts[i], *need = opt->needs ? gd_opt_find(t, opt->needs) : NULL;
        json_t *in = opt->batch == GD_BATCH_JOB ? spec : params;
        json_t *nin = need && need->batch == GD_BATCH_JOB ? spec : params;
        json_t *ov = opt->batch != GD_BATCH_NONE ? json_object_get(in, opt->batch_key) : NULL;
        if (need && ov && !json_is_false(ov) && !json_object_get(nin, need->batch_key))
            add_error(b, who, "%s%s: needs %s%s", opt->batch == GD_BATCH_JOB ? "field " : "params.",
                      opt->batch_key, need->batch == GD_BATCH_JOB ? "" : "params.", need->batch_key);
    }
    if (stac) /* after the job fields: its AOI is resolved */
        check_stac(job, b, who, base, spec, j, p);
    const gd_method *m = p->method ? gd_method_find(p->method) : NULL;
    json_t *al = json_object_get(spec, "alerts");
    if (al) {
        /* the alerts' errors are findings of the check: held in a context, not the job's */
        gd_job *ctx = NULL;
        gd_alerts *a = NULL;
        gd_method mt;
        const gd_class_table *ct = NULL;
        const gd_method *em = m;
        if (gd_job_fork(job, &ctx) == GD_OK) {
            if (m && gd_severity_choose(ctx, &p->decide, &em, &mt, &ct) != GD_OK) {
                em = m; /* a params conflict is the run's error, not the alerts' */
                gd_job_clear_error(ctx);
            }
            if (gd_alerts_from_json(ctx, al, "field alerts", &a) != GD_OK ||
                (em && gd_alerts_check(ctx, a, em, "field alerts") != GD_OK))
                add_error(b, who, "%s", gd_job_message(ctx));
            else
                p->summary.alerts_json = al;
            gd_alerts_destroy(a);
            gd_job_destroy(ctx);
        }
    }
    if (!p->map.title && *j->id)
        p->map.title = j->id;
    p->out.overwrite = 1;
    j->p = *p;
}

int gd_batch_load(gd_job *job, const char *path, gd_batch **out)
{
    json_error_t err;
    gd_batch *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b)
        return gd_job_error(job, GD_EPROC, "out of memory");
    b->path = strdup(path);
    b->errors = json_array();
    *out = b;
    b->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!b->doc) {
        if (err.line < 0)
            add_error(b, NULL, "cannot be read: %s", err.text);
        else
            add_error(b, NULL, "not valid JSON: %s (line %d, column %d)", err.text, err.line,
                      err.column);
        return gd_job_error(job, GD_EINPUT, "%s: nothing was run", path);
    }
    char *copy = strdup(path), real[PATH_MAX];
    const char *dir = dirname(copy);
    const char *base = realpath(dir, real) ? real : dir;
    const char *key;
    json_t *v;
    if (!json_is_object(b->doc)) {
        add_error(b, NULL, "must be an object {\"defaults\": {...}, \"jobs\": [...]}");
        goto checked;
    }
    json_object_foreach(b->doc, key, v)
        if (strcmp(key, "defaults") && strcmp(key, "jobs") && strcmp(key, "shards") &&
            strcmp(key, "description"))
            add_error(b, NULL, "unknown top-level field '%s' (fields: description defaults "
                      "shards jobs)", key);
    json_t *defaults = json_object_get(b->doc, "defaults"), *jobs = json_object_get(b->doc, "jobs");
    json_t *shards = json_object_get(b->doc, "shards");
    if (shards && (!json_is_integer(shards) || json_integer_value(shards) < 1 ||
                   json_integer_value(shards) > 100000))
        add_error(b, NULL, "field shards: must be an integer >= 1");
    else if (shards)
        b->shards = (int)json_integer_value(shards);
    if (defaults && !json_is_object(defaults)) {
        add_error(b, "defaults", "must be an object");
        defaults = NULL;
    }
    json_object_foreach(defaults, key, v) {
        if (strcmp(key, "id") == 0)
            add_error(b, "defaults", "field id: an id belongs to each job, not to the defaults");
        else if (!is_job_key(key))
            add_error(b, "defaults", "unknown field '%s'", key);
        else if (strcmp(key, "params") == 0 && !json_is_object(v))
            add_error(b, "defaults", "field params: must be an object");
    }
    if (!json_is_array(jobs) || json_array_size(jobs) == 0) {
        add_error(b, NULL, "field jobs: must be a non-empty array of jobs");
        goto checked;
    }
    size_t n = json_array_size(jobs);
    b->jobs = calloc(n, sizeof *b->jobs);
    json_t *seen = json_object();
    if (!b->jobs || !seen) {
        json_decref(seen);
        free(copy);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    b->n = n;
    for (size_t i = 0; i < n; i++)
        check_job(job, b, base, defaults, json_array_get(jobs, i), (int)i, &b->jobs[i], seen);
    json_decref(seen);
checked:
    free(copy);
    if (json_array_size(b->errors))
        return gd_job_error(job, GD_EINPUT, "%s: %zu problem(s), nothing was run", path,
                            json_array_size(b->errors));
    return GD_OK;
}

/* ---- shards ---------------------------------------------------------------------- */
static int env_int(const char *name, long *v)
{
    const char *s = getenv(name);
    char *end = NULL;
    if (!s || !*s)
        return 0;
    errno = 0;
    *v = strtol(s, &end, 10);
    return !errno && end && !*end;
}

int gd_batch_shard(gd_job *job, const gd_batch *b, const char *spec, int *shard, int *nshards,
                   const char **source)
{
    long k = 0, n = 1, min = 0;
    *shard = 0, *nshards = 1, *source = "none";
    if (spec) {
        char *end = NULL;
        k = strtol(spec, &end, 10);
        if (end == spec || *end != '/' || (n = strtol(end + 1, &end, 10)) < 1 || *end || k < 0 ||
            k >= n)
            return gd_job_error(job, GD_EUSAGE, "--shard '%s' is not K/N with 0 <= K < N", spec);
        *source = "--shard";
    } else if (env_int("SLURM_ARRAY_TASK_ID", &k)) {
        *source = "SLURM_ARRAY_TASK_ID";
        if (env_int("SLURM_ARRAY_TASK_MIN", &min))
            k -= min;
        if (!env_int("SLURM_ARRAY_TASK_COUNT", &n) && !env_int("GEODELTA_SHARD_COUNT", &n))
            n = b->shards;
    } else if (env_int("JOB_COMPLETION_INDEX", &k)) {
        *source = "JOB_COMPLETION_INDEX";
        if (!env_int("GEODELTA_SHARD_COUNT", &n))
            n = b->shards;
    } else {
        return GD_OK;
    }
    if (n < 1 || k < 0 || k >= n)
        return gd_job_error(job, GD_EUSAGE, "shard from %s: index %ld of %ld shard(s) is out of "
                            "range (the count comes from SLURM_ARRAY_TASK_COUNT, "
                            "GEODELTA_SHARD_COUNT or the batch file's \"shards\")", *source, k, n);
    *shard = (int)k, *nshards = (int)n;
    return GD_OK;
}

/* integrity: --check opens each job's two images as GDAL does when the job runs, so
 * that a file that is no raster (a text file, a FIFO, a folder) is found before the
 * batch, not in the middle of it. */
int gd_batch_check_inputs(gd_job *job, gd_batch *b)
{
    size_t before = json_array_size(b->errors);
    json_t *good = json_object(); /* paths already opened: each file once */
    for (size_t i = 0; i < b->n; i++) {
        const bjob *j = &b->jobs[i];
        char who[192];
        snprintf(who, sizeof who, "job \"%.100s\" (#%zu)", j->id, i);
        const char *paths[2] = {j->p.in.before, j->p.in.after}, *fields[2] = {"before", "after"};
        for (int k = 0; k < 2 && !j->p.in.stac; k++) { /* stac: date windows, not files */
            struct stat sb;
            if (!paths[k] || json_object_get(good, paths[k]))
                continue;
            if (strncmp(paths[k], "/vsi", 4) != 0 &&
                (stat(paths[k], &sb) != 0 || !S_ISREG(sb.st_mode))) {
                add_error(b, who, "field %s: %s is not a regular file", fields[k], paths[k]);
                continue;
            }
            CPLErrorReset();
            GDALDatasetH ds = GDALOpenEx(paths[k], GDAL_OF_RASTER | GDAL_OF_READONLY, NULL,
                                         NULL, NULL);
            if (!ds)
                add_error(b, who, "field %s: %s cannot be read as a raster by GDAL%s%s%s",
                          fields[k], paths[k], CPLGetLastErrorMsg()[0] ? " (" : "",
                          CPLGetLastErrorMsg(), CPLGetLastErrorMsg()[0] ? ")" : "");
            else {
                GDALClose(ds);
                json_object_set_new(good, paths[k], json_true());
            }
        }
    }
    json_decref(good);
    size_t bad = json_array_size(b->errors) - before;
    if (bad)
        return gd_job_error(job, GD_EINPUT, "%s: %zu input(s) cannot be read as rasters",
                            b->path, bad);
    return GD_OK;
}

/* ---- job folders ------------------------------------------------------------------ */
static json_t *load_json(const char *dir, const char *name)
{
    char path[4096];
    gd_path_join(path, sizeof path, dir, name);
    return json_load_file(path, 0, NULL);
}

/* A job is complete when its job.json equals the current spec and its manifest exists
 * and every output and input listed in it verifies. */
static int job_complete(gd_job *job, const bjob *j, const char *dir)
{
    json_t *spec = load_json(dir, "job.json");
    int same = spec && json_equal(spec, j->spec);
    json_decref(spec);
    if (!same)
        return 0;
    char path[4096];
    gd_path_join(path, sizeof path, dir, "manifest.json");
    if (access(path, F_OK) != 0)
        return 0;
    /* what the verification finds decides, it is not the batch's warning or error */
    gd_job *ctx = NULL;
    int bad = 1;
    if (gd_job_fork(job, &ctx) == GD_OK) {
        /* integrity: the inputs re-hashed too: a job whose input changed since is run again */
        if (gd_manifest_verify(ctx, path, 1, &bad) != GD_OK)
            bad = 1;
        gd_job_destroy(ctx);
    }
    return bad == 0;
}

/* Removes leftovers of an interrupted run (NAME.tmp-PID) and the previous failure. */
static void clean_folder(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-")) {
            gd_path_join(path, sizeof path, dir, e->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    gd_path_join(path, sizeof path, dir, "failed.json");
    unlink(path);
}

static json_int_t int_at(const json_t *o, const char *k)
{
    return o ? json_integer_value(json_object_get(o, k)) : 0;
}

/* The index record of one job, read back from its folder. */
static json_t *job_record(gd_job *job, const bjob *j, const char *outroot)
{
    char dir[4096], map[256], mpath[4096];
    gd_path_join(dir, sizeof dir, outroot, j->id);
    json_t *rec = json_pack("{s:s, s:i}", "id", j->id, "index", j->index);
    json_t *sum = NULL, *man = NULL, *fail = NULL;
    if (job_complete(job, j, dir)) {
        sum = load_json(dir, "summary.json");
        man = load_json(dir, "manifest.json");
    }
    if (sum && man) {
        json_object_set_new(rec, "status", json_string("ok"));
        json_object_set(rec, "changed_ha", json_object_get(sum, "changed_ha"));
        json_object_set(rec, "changed_pixels", json_object_get(sum, "changed_pixels"));
        json_object_set(rec, "changed_percent", json_object_get(sum, "changed_percent"));
        json_t *lvl = json_object_get(sum, "alert_level");
        json_object_set_new(rec, "alert_level", lvl ? json_copy(lvl) : json_null());
        json_t *zl = json_object_get(sum, "zones_at_level");
        /* null without zones: "0 zones at red" would claim zones were looked at */
        json_object_set_new(rec, "zones_amber", zl ? json_integer(int_at(zl, "amber")) : json_null());
        json_object_set_new(rec, "zones_red", zl ? json_integer(int_at(zl, "red")) : json_null());
        json_t *alerted = json_array(), *z;
        size_t i;
        json_array_foreach(json_object_get(sum, "zones"), i, z) {
            const char *l = json_string_value(json_object_get(z, "alert"));
            if (l && (strcmp(l, "amber") == 0 || strcmp(l, "red") == 0))
                json_array_append_new(alerted, json_pack("{s:O, s:s}", "zone",
                                                         json_object_get(z, "zone"), "alert", l));
        }
        json_object_set_new(rec, "zones_alerted", alerted);
        snprintf(map, sizeof map, "%s/%s", j->id, j->monitor ? "alert_map.png" : "map.png");
        gd_path_join(mpath, sizeof mpath, outroot, map);
        json_object_set_new(rec, "map", access(mpath, F_OK) == 0 ? json_string(map) : json_null());
        /* the run's own duration: the manifest keeps it under timing */
        json_object_set(rec, "seconds", json_object_get(json_object_get(man, "timing"), "seconds"));
        json_object_set_new(rec, "error", json_null());
    } else if ((fail = load_json(dir, "failed.json")) != NULL) {
        json_object_set_new(rec, "status", json_string("failed"));
        json_object_set(rec, "seconds", json_object_get(fail, "seconds"));
        json_object_set(rec, "exit_code", json_object_get(fail, "exit_code"));
        json_object_set(rec, "error", json_object_get(fail, "error"));
    } else {
        json_object_set_new(rec, "status", json_string("missing"));
        json_object_set_new(rec, "error", json_string("not run, or interrupted (no verified "
                                                       "manifest, no failure record)"));
    }
    json_decref(sum);
    json_decref(man);
    json_decref(fail);
    return rec;
}

static int write_csv(gd_job *job, json_t *recs, const char *path)
{
    char tmp[4096];
    FILE *f = NULL;
    int st = gd_tmp_open(job, path, tmp, sizeof tmp, &f);
    if (st != GD_OK)
        return st;
    fputs("id,status,changed_ha,alert_level,zones_amber,zones_red,zones_alerted,map,seconds,"
          "error\n", f);
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        gd_csv_field(f, json_string_value(json_object_get(r, "id")));
        fprintf(f, ",%s,", json_string_value(json_object_get(r, "status")));
        json_t *ha = json_object_get(r, "changed_ha");
        if (json_is_number(ha))
            fprintf(f, "%.4f", json_number_value(ha));
        fputc(',', f);
        gd_csv_field(f, json_string_value(json_object_get(r, "alert_level")));
        json_t *za = json_object_get(r, "zones_amber");
        if (json_is_integer(za))
            fprintf(f, ",%lld,%lld,", (long long)json_integer_value(za),
                    (long long)int_at(r, "zones_red"));
        else
            fputs(",,,", f);
        char zl[4096] = "";
        size_t k;
        json_t *z;
        json_array_foreach(json_object_get(r, "zones_alerted"), k, z) {
            size_t u = strlen(zl);
            snprintf(zl + u, sizeof zl - u, "%s%s:%s", k ? ";" : "",
                     json_string_value(json_object_get(z, "zone")),
                     json_string_value(json_object_get(z, "alert")));
        }
        gd_csv_field(f, zl);
        fputc(',', f);
        gd_csv_field(f, json_string_value(json_object_get(r, "map")));
        json_t *sec = json_object_get(r, "seconds");
        fputc(',', f);
        if (json_is_number(sec))
            fprintf(f, "%.3f", json_number_value(sec));
        fputc(',', f);
        gd_csv_field(f, json_string_value(json_object_get(r, "error")));
        fputc('\n', f);
    }
    return gd_commit_stream(job, f, tmp, path);
}

static int write_index(gd_job *job, gd_batch *b, const char *outroot, int *failed)
{
    size_t counts[3] = {0};
    json_t *recs = json_array();
    for (size_t i = 0; i < b->n; i++) {
        json_t *r = job_record(job, &b->jobs[i], outroot);
        const char *s = json_string_value(json_object_get(r, "status"));
        counts[strcmp(s, "ok") == 0 ? 0 : strcmp(s, "failed") == 0 ? 1 : 2]++;
        json_array_append_new(recs, r);
    }
    *failed = (int)(counts[1] + counts[2]);
    json_t *idx = json_pack("{s:s, s:I, s:I, s:I, s:I, s:O}", "schema", "geodelta-batch/1",
                            "jobs_total", (json_int_t)b->n, "ok", (json_int_t)counts[0],
                            "failed", (json_int_t)counts[1], "missing", (json_int_t)counts[2],
                            "jobs", recs);
    char path[4096];
    gd_path_join(path, sizeof path, outroot, "batch.json");
    int st = idx ? gd_json_write_atomic(job, idx, path)
                 : gd_job_error(job, GD_EPROC, "cannot build the batch index");
    if (st == GD_OK) {
        gd_path_join(path, sizeof path, outroot, "batch.csv");
        st = write_csv(job, recs, path);
    }
    json_decref(idx);
    json_decref(recs);
    return st;
}

int gd_batch_merge(gd_job *job, gd_batch *b, const char *outroot, int *failed)
{
    return write_index(job, b, outroot, failed);
}

/* ---- running ------------------------------------------------------------------------ */
/* The child: one detect run; its outcome is its folder (manifest, or failed.json). */
static void run_child(const bjob *j, const char *dir, pid_t batch_pid)
{
    /* a batch killed (even by SIGKILL) takes its running jobs with it; the batch may be
     * PID 1 (a container), so the check compares with its own pid */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != batch_pid)
        _exit(3);
    gd_signals_install(1); /* integrity: the job's reads restart after a signal */
    gd_job *job = NULL;
    double t0 = gd_now();
    if (gd_job_create(&job) != GD_OK)
        _exit(3);
    gd_job_set_quiet(job, 1);
    gd_detect_params p = j->p;
    char *argv[] = {"geodelta", "batch", "--job", (char *)j->id, NULL};
    p.out.dir = dir;
    p.argc = 4;
    p.argv = argv;
    int st;
    if (j->monitor) { /* the job folder keeps the monitor's state: a rerun takes new dates */
        gd_monitor_params mp = j->mo->p;
        mp.outdir = dir;
        mp.argc = 4;
        mp.argv = argv;
        st = gd_monitor_run(job, &mp);
    } else {
        st = gd_detect_run(job, &p);
    }
    int rc = gd_status_exit_code(st);
    if (st != GD_OK) {
        char path[4096];
        gd_path_join(path, sizeof path, dir, "failed.json");
        json_t *f = json_pack("{s:s, s:s, s:i, s:f}", "status", "failed", "error",
                              gd_job_message(job), "exit_code", rc, "seconds", gd_now() - t0);
        /* best effort: the batch writes a record of its own when this one is missing */
        gd_job *w = NULL;
        if (f && gd_job_fork(job, &w) == GD_OK)
            gd_json_write_atomic(w, f, path);
        gd_job_destroy(w);
        json_decref(f);
    }
    gd_job_destroy(job);
    fflush(NULL);
    _exit(rc);
}

static void print_line(const gd_batch_opts *o, json_t *rec, size_t done, size_t total,
                       size_t nfail, double elapsed, int reused)
{
    if (o->quiet)
        return;
    const char *status = json_string_value(json_object_get(rec, "status"));
    char what[1400];
    if (strcmp(status, "ok") == 0) {
        json_t *ha = json_object_get(rec, "changed_ha"), *lvl = json_object_get(rec, "alert_level");
        char hs[64], ls[64] = "";
        if (json_is_number(ha))
            snprintf(hs, sizeof hs, "%.2f ha changed", json_number_value(ha));
        else
            snprintf(hs, sizeof hs, "%lld px changed", (long long)int_at(rec, "changed_pixels"));
        if (json_is_string(lvl) && json_is_integer(json_object_get(rec, "zones_amber")))
            snprintf(ls, sizeof ls, ", alert %s (%lld amber, %lld red zones)",
                     json_string_value(lvl), (long long)int_at(rec, "zones_amber"),
                     (long long)int_at(rec, "zones_red"));
        else if (json_is_string(lvl))
            snprintf(ls, sizeof ls, ", alert %s", json_string_value(lvl));
        snprintf(what, sizeof what, "%s, %s%s", reused ? "done already (outputs verified)" : "ok",
                 hs, ls);
    } else {
        snprintf(what, sizeof what, "%s: %s", status,
                 json_string_value(json_object_get(rec, "error")));
    }
    json_t *sec = json_object_get(rec, "seconds");
    char ss[32] = "";
    if (!reused && json_is_number(sec))
        snprintf(ss, sizeof ss, " in %.1f s", json_number_value(sec));
    double eta = done ? elapsed / (double)done * (double)(total - done) : 0;
    fprintf(stderr, "[%zu/%zu] %s: %s%s | %zu failed, %.0f s elapsed, ETA %.0f s\n", done, total,
            json_string_value(json_object_get(rec, "id")), what, ss, nfail, elapsed, eta);
}

/* integrity: SIGINT/SIGTERM stop the batch: no new job, no index */
static int stop_on_signal(gd_job *job)
{
    int sig = gd_signal_caught();
    return sig ? gd_job_error(job, GD_ECANCEL, "batch stopped by signal %d", sig) : GD_OK;
}

int gd_batch_run(gd_job *job, gd_batch *b, const gd_batch_opts *o, int *failed)
{
    int st = GD_OK;
    *failed = 0;
    if ((st = gd_mkdir_p(job, o->outroot)) != GD_OK)
        return st;
    size_t total = 0;
    for (size_t i = 0; i < b->n; i++)
        total += (int)(i % (size_t)o->nshards) == o->shard;
    pid_t *pids = calloc(b->n, sizeof *pids);
    if (!pids)
        return gd_job_error(job, GD_EPROC, "out of memory");
    double t0 = gd_now();
    size_t next = 0, done = 0, nfail = 0;
    int running = 0;
    char dir[4096], path[4096];
    while (done < total) {
        if ((st = stop_on_signal(job)) != GD_OK)
            goto done; /* running jobs get SIGTERM there and clean up after themselves */
        /* start jobs up to the concurrency limit; complete ones are skipped at once */
        while (running < o->jobs && next < b->n) {
            size_t i = next++;
            bjob *j = &b->jobs[i];
            if ((int)(i % (size_t)o->nshards) != o->shard)
                continue;
            gd_path_join(dir, sizeof dir, o->outroot, j->id);
            if (o->resume && job_complete(job, j, dir)) {
                json_t *rec = job_record(job, j, o->outroot);
                done++;
                print_line(o, rec, done, total, nfail, gd_now() - t0, 1);
                json_decref(rec);
                continue;
            }
            if ((st = gd_mkdir_p(job, dir)) != GD_OK)
                goto done;
            clean_folder(dir);
            /* the spec first: a folder whose job.json differs is never taken as done */
            gd_path_join(path, sizeof path, dir, "job.json");
            if ((st = gd_json_write_atomic(job, j->spec, path)) != GD_OK)
                goto done;
            fflush(NULL);
            pid_t self = getpid(), pid = fork();
            if (pid < 0) {
                st = gd_job_error(job, GD_EPROC, "cannot start job %s: %s", j->id, strerror(errno));
                goto done;
            }
            if (pid == 0)
                run_child(j, dir, self);
            pids[i] = pid;
            running++;
        }
        if (running == 0)
            continue;
        int ws;
        pid_t pid = waitpid(-1, &ws, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            st = gd_job_error(job, GD_EPROC, "waiting for jobs: %s", strerror(errno));
            goto done;
        }
        size_t i = 0;
        while (i < b->n && pids[i] != pid)
            i++;
        if (i == b->n)
            continue;
        pids[i] = 0;
        running--;
        bjob *j = &b->jobs[i];
        gd_path_join(dir, sizeof dir, o->outroot, j->id);
        gd_path_join(path, sizeof path, dir, "failed.json");
        if (!WIFEXITED(ws) || (WEXITSTATUS(ws) != 0 && access(path, F_OK) != 0)) {
            /* the job died without a word: its failure record is written here */
            char msg[128];
            if (WIFEXITED(ws))
                snprintf(msg, sizeof msg, "job process exited with code %d and no message",
                         WEXITSTATUS(ws));
            else
                snprintf(msg, sizeof msg, "job process killed by signal %d",
                         WIFSIGNALED(ws) ? WTERMSIG(ws) : -1);
            json_t *f = json_pack("{s:s, s:s, s:i, s:n}", "status", "failed", "error", msg,
                                  "exit_code", 3, "seconds");
            if (f)
                gd_json_write_atomic(job, f, path);
            json_decref(f);
        }
        json_t *rec = job_record(job, j, o->outroot);
        nfail += strcmp(json_string_value(json_object_get(rec, "status")), "ok") != 0;
        done++;
        print_line(o, rec, done, total, nfail, gd_now() - t0, 0);
        json_decref(rec);
    }
    *failed = (int)nfail;
    if (o->nshards == 1) {
        int f2 = 0;
        if ((st = write_index(job, b, o->outroot, &f2)) != GD_OK)
            goto done;
        *failed = f2;
    }
done:
    /* on an error of the batch itself, running jobs are stopped, not orphaned */
    for (size_t i = 0; i < b->n; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGTERM);
            waitpid(pids[i], NULL, 0);
        }
    free(pids);
    return st;
}
