/* severity.c: methods with a fixed class table (nbr: USGS burn severity) in the chain. */
#include "geodelta/detect.h"
#include "geodelta/stages.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gd_severity_choose(gd_job *job, const gd_decide_opts *o, const gd_method **m,
                       gd_method *mt, const gd_class_table **table)
{
    const gd_method *in = *m;
    int explicit_t = o->threshold && strcmp(o->threshold, "auto") != 0;
    *table = NULL;
    if (o->nbr_classes && !in->table)
        return gd_job_error(job, GD_EUSAGE, "--nbr-classes is for the nbr method only");
    int use = o->nbr_classes ? strcmp(o->nbr_classes, "usgs") == 0 : !explicit_t;
    if (!in->table || !use)
        return GD_OK;
    /* fixed breaks and a threshold contradict each other: refuse rather than guess */
    if (explicit_t)
        return gd_job_error(job, GD_EUSAGE,
                            "--nbr-classes %s uses fixed dNBR breaks: it takes no --threshold "
                            "(hint: --nbr-classes binary with -t %s)",
                            in->table->name, o->threshold);
    gd_method_with_table(in, in->table, mt);
    *table = in->table;
    *m = mt;
    return GD_OK;
}

/* A float32 break in its shortest decimal form (0.1, not 0.10000000149011612); JSON
 * cannot hold infinities: an open end of a class range is null. */
static json_t *bound(double v)
{
    char buf[32];
    if (!isfinite(v))
        return json_null();
    snprintf(buf, sizeof buf, "%.7g", v);
    return json_real(strtod(buf, NULL));
}

void gd_severity_class_json(const gd_class_table *t, int c, json_t *obj)
{
    double lo, hi;
    if (gd_class_table_range(t, c, &lo, &hi) != 0)
        return;
    json_object_set_new(obj, "score_from", bound(lo));
    json_object_set_new(obj, "score_to", bound(hi));
}

void gd_severity_record(gd_job *job, const gd_class_table *t)
{
    json_t *breaks = json_array(), *classes = json_array();
    for (int k = 0; k < t->nbreaks; k++)
        /* the breaks as compared (float32), printed in their shortest decimal form */
        json_array_append_new(breaks, bound((double)t->breaks[k]));
    for (int c = 0; c < GD_MAX_CLASSES; c++)
        if (t->class_names[c]) {
            json_t *o = json_pack("{s:i, s:s}", "class", c, "name", t->class_names[c]);
            gd_severity_class_json(t, c, o);
            json_array_append_new(classes, o);
        }
    json_object_set_new(gd_job_auto(job), "threshold",
                        json_pack("{s:s, s:n, s:b, s:o, s:o, s:s}", "mode", t->name, "value",
                                  "on_abs_score", 0, "breaks", breaks, "classes", classes,
                                  "interval", "[from, to): from <= score < to"));
    gd_job_say(job, "classes (%s): %d fixed breaks on the score", t->name, t->nbreaks);
}
