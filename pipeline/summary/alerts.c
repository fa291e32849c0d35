/* alerts.c: alert levels (green < yellow < amber < red) evaluated on zonal figures. */
#include "geodelta/summary.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[GD_ALERT_NLEVELS] = {"green", "yellow", "amber", "red"};

const char *gd_alert_name(int level)
{
    return level >= 0 && level < GD_ALERT_NLEVELS ? level_names[level] : "green";
}

int gd_alert_from_name(const char *name)
{
    for (int i = 0; i < GD_ALERT_NLEVELS; i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* Criteria; NaN = not set. */
typedef struct rule {
    double ha, pct, px, people; /* people: in the changed pixels (--population) */
} rule;

typedef struct class_rule {
    char *key; /* class value ("2") or class name ("burned") */
    rule r;
} class_rule;

typedef struct level_rules {
    int set;
    rule all;
    class_rule *cls;
    size_t ncls;
} level_rules;

struct gd_alerts {
    level_rules lv[GD_ALERT_NLEVELS];
    json_t *spec;
};

void gd_alerts_destroy(gd_alerts *a)
{
    if (!a)
        return;
    for (int i = 0; i < GD_ALERT_NLEVELS; i++) {
        for (size_t k = 0; k < a->lv[i].ncls; k++)
            free(a->lv[i].cls[k].key);
        free(a->lv[i].cls);
    }
    json_decref(a->spec);
    free(a);
}

const json_t *gd_alerts_spec(const gd_alerts *a) { return a ? a->spec : NULL; }

static int parse_rule(gd_job *job, const json_t *o, const char *what, const char *where, rule *r)
{
    r->ha = r->pct = r->px = r->people = NAN;
    if (!json_is_object(o))
        return gd_job_error(job, GD_EUSAGE, "%s: %s must be an object such as "
                            "{\"changed_ha\": 5}", what, where);
    const char *key;
    json_t *v;
    int n = 0;
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "classes") == 0)
            continue;
        double *dst = strcmp(key, "changed_ha") == 0 ? &r->ha
                    : strcmp(key, "changed_pct") == 0 ? &r->pct
                    : strcmp(key, "changed_pixels") == 0 ? &r->px
                    : strcmp(key, "people") == 0 ? &r->people : NULL;
        if (!dst)
            return gd_job_error(job, GD_EUSAGE, "%s: %s has unknown criterion '%s' (use "
                                "changed_ha, changed_pct, changed_pixels, people or classes)",
                                what, where, key);
        if (!json_is_number(v) || json_number_value(v) < 0)
            return gd_job_error(job, GD_EUSAGE, "%s: %s.%s must be a number >= 0", what,
                                where, key);
        *dst = json_number_value(v);
        n++;
    }
    return n;
}

int gd_alerts_from_json(gd_job *job, const json_t *spec, const char *what, gd_alerts **out)
{
    *out = NULL;
    if (!json_is_object(spec))
        return gd_job_error(job, GD_EUSAGE, "%s: alert levels must be a JSON object such as "
                            "{\"amber\": {\"changed_ha\": 5}, \"red\": {\"changed_pct\": 10}}",
                            what);
    gd_alerts *a = calloc(1, sizeof *a);
    if (!a)
        return gd_job_error(job, GD_EPROC, "out of memory");
    a->spec = json_deep_copy(spec);
    int st = GD_OK;
    const char *lname;
    json_t *lv;
    json_object_foreach((json_t *)spec, lname, lv) {
        int level = gd_alert_from_name(lname);
        if (level <= GD_ALERT_GREEN) {
            st = gd_job_error(job, GD_EUSAGE, "%s: unknown alert level '%s' (levels: yellow, "
                              "amber, red; green is the default)", what, lname);
            goto done;
        }
        level_rules *L = &a->lv[level];
        char where[96];
        snprintf(where, sizeof where, "level %s", lname);
        int n = parse_rule(job, lv, what, where, &L->all);
        if (n < 0) {
            st = n;
            goto done;
        }
        json_t *cls = json_object_get(lv, "classes");
        if (cls) {
            if (!json_is_object(cls)) {
                st = gd_job_error(job, GD_EUSAGE, "%s: %s.classes must be an object "
                                  "{\"<class value or name>\": {criteria}}", what, where);
                goto done;
            }
            L->cls = calloc(json_object_size(cls) + 1, sizeof *L->cls);
            if (!L->cls) {
                st = gd_job_error(job, GD_EPROC, "out of memory");
                goto done;
            }
            const char *ck;
            json_t *cv;
            json_object_foreach(cls, ck, cv) {
                char w2[160];
                snprintf(w2, sizeof w2, "%s.classes.%s", where, ck);
                int k = parse_rule(job, cv, what, w2, &L->cls[L->ncls].r);
                if (k < 0) {
                    st = k;
                    goto done;
                }
                L->cls[L->ncls].key = strdup(ck);
                L->ncls++;
                n += k;
            }
        }
        if (n == 0) {
            st = gd_job_error(job, GD_EUSAGE, "%s: %s has no criterion", what, where);
            goto done;
        }
        L->set = 1;
    }
    *out = a;
    a = NULL;
done:
    gd_alerts_destroy(a);
    return st;
}

int gd_alerts_parse(gd_job *job, const char *text, gd_alerts **out)
{
    json_error_t err;
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    json_t *doc = *p == '{' ? json_loads(text, 0, &err) : json_load_file(text, 0, &err);
    *out = NULL;
    if (!doc)
        return gd_job_error(job, GD_EUSAGE, "--alerts %s: %s (line %d)",
                            *p == '{' ? "JSON" : text, err.text, err.line);
    int st = gd_alerts_from_json(job, doc, *p == '{' ? "--alerts" : text, out);
    json_decref(doc);
    return st;
}

/* people is NaN without --population: a people criterion is then never met */
static int meets(const rule *r, uint64_t px, double ha, double pct, double people)
{
    return (isfinite(r->people) && isfinite(people) && people >= r->people) ||
           (isfinite(r->px) && (double)px >= r->px) ||
           (isfinite(r->ha) && isfinite(ha) && ha >= r->ha) ||
           (isfinite(r->pct) && pct >= r->pct);
}

/* Class value a per-class key refers to, or -1. */
static int class_of(const char *key, const gd_method *m)
{
    char *end = NULL;
    long v = strtol(key, &end, 10);
    if (end != key && *end == '\0' && v >= 1 && v <= 254)
        return (int)v;
    for (int k = 1; m && k < GD_MAX_CLASSES; k++)
        if (m->class_names[k] && strcmp(m->class_names[k], key) == 0)
            return k;
    return -1;
}

int gd_zones_apply_alerts(gd_zones *zs, const gd_alerts *a, const gd_method *m)
{
    double nan = NAN;
    int top = GD_ALERT_GREEN;
    for (size_t i = 0; i < zs->n; i++) {
        gd_zone *z = &zs->z[i];
        z->level = GD_ALERT_GREEN;
        for (int l = GD_ALERT_NLEVELS - 1; a && l > GD_ALERT_GREEN && z->level == GD_ALERT_GREEN; l--) {
            const level_rules *L = &a->lv[l];
            if (!L->set)
                continue;
            int hit = meets(&L->all, gd_zone_changed_px(z), gd_zone_changed_ha(z),
                            gd_zone_changed_pct(z),
                            zs->has_people ? gd_zone_changed_people(z) : nan);
            for (size_t k = 0; k < L->ncls && !hit; k++) {
                int c = class_of(L->cls[k].key, m);
                if (c < 0)
                    continue;
                double pc = z->valid ? 100.0 * (double)z->class_px[c] / (double)z->valid : 0.0;
                hit = meets(&L->cls[k].r, z->class_px[c], z->class_ha[c], pc,
                            zs->has_people && c < GD_MAX_CLASSES ? z->class_people[c] : nan);
            }
            if (hit)
                z->level = l;
        }
        if (z->level > top)
            top = z->level;
    }
    return top;
}

int gd_alerts_check(gd_job *job, const gd_alerts *a, const gd_method *m, const char *what)
{
    for (int l = 0; a && l < GD_ALERT_NLEVELS; l++)
        for (size_t k = 0; k < a->lv[l].ncls; k++)
            if (class_of(a->lv[l].cls[k].key, m) < 0)
                return gd_job_error(job, GD_EUSAGE, "%s: level %s: '%s' is not a class of "
                                    "method %s (use a class value or name, see geodelta methods)",
                                    what, gd_alert_name(l), a->lv[l].cls[k].key,
                                    m ? m->name : "-");
    return GD_OK;
}
