/* exposure.c: the chain's exposure step (--population, --exposure): people per pixel and
 * the features the change reaches, before the polygons, the summary and the map use them. */
#include "chain.h"

#include "geodelta/exposure.h"
#include "geodelta/util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

/* Recorded only when given: runs without them keep their run ids. */
void gd_chain_exposure_params(gd_chain *c)
{
    json_t *params = gd_job_params(c->job);
    if (c->p->exposure.population)
        json_object_set_new(params, "population", json_string(c->p->exposure.population));
    if (c->p->exposure.features) {
        json_object_set_new(params, "exposure", json_string(c->p->exposure.features));
        json_object_set_new(params, "exposure_field", c->p->exposure.field
                                                          ? json_string(c->p->exposure.field)
                                                          : json_null());
    }
}

int gd_chain_exposure(gd_chain *c)
{
    gd_job *job = c->job;
    const gd_detect_params *p = c->p;
    char path[4096];
    int st;
    if (p->exposure.population) {
        if ((st = gd_population_on_grid(job, c->grid, p->exposure.population, &c->people,
                                        &c->people_source_total)) != GD_OK)
            return st;
        double per[GD_MAX_CLASSES] = {0};
        size_t w = (size_t)c->grid->width;
        for (int r = 0; r < c->grid->height; r++) {
            const uint8_t *cl = c->classes + (size_t)r * w;
            const float *pp = c->people + (size_t)r * w;
            double row[GD_MAX_CLASSES] = {0}, all = 0.0;
            for (size_t x = 0; x < w; x++) {
                all += pp[x];
                if (cl[x] < GD_MAX_CLASSES)
                    row[cl[x]] += pp[x];
            }
            for (int k = 0; k < GD_MAX_CLASSES; k++)
                per[k] += row[k];
            c->people_on_grid += all;
        }
        for (int k = 0; k < GD_MAX_CLASSES; k++) {
            c->totals[k].has_people = 1;
            c->totals[k].people = per[k];
        }
    }
    if (p->exposure.features) {
        if ((st = gd_exposure_compute(job, c->grid, c->classes, p->exposure.features, p->exposure.field,
                                      &c->expo)) != GD_OK)
            return st;
        gd_path_join(path, sizeof path, p->out.dir, "exposure.csv");
        if ((st = gd_exposure_write_csv(job, c->expo, c->m, path)) != GD_OK)
            return st;
    }
    return GD_OK;
}

/* people next to every area in summary.json, and the exposed features per class */
void gd_chain_exposure_json(gd_chain *c, json_t *summary)
{
    json_t *cls = json_object_get(summary, "classes");
    size_t i;
    json_t *o;
    if (c->people) {
        double changed = 0.0;
        json_array_foreach(cls, i, o) {
            int k = (int)json_integer_value(json_object_get(o, "class"));
            if (k >= 0 && k < GD_MAX_CLASSES)
                json_object_set_new(o, "people", json_real(c->totals[k].people));
        }
        for (int k = 1; k < GD_MAX_CLASSES; k++)
            changed += c->totals[k].people;
        json_object_set_new(summary, "changed_people", json_real(changed));
        json_object_set_new(summary, "population",
                            json_pack("{s:s, s:f, s:f, s:s}", "path", c->p->exposure.population,
                                      "people_on_grid", c->people_on_grid,
                                      "people_in_source_window", c->people_source_total,
                                      "method", "density (people per m2 of each source cell) "
                                      "warped with area-weighted average, times pixel area"));
    }
    if (c->expo) {
        const gd_exposure *e = c->expo;
        json_t *ec = json_array();
        uint64_t any = 0;
        for (int k = 1; k < GD_MAX_CLASSES; k++) {
            if (!c->m->class_names[k])
                continue;
            uint64_t n = 0;
            double ha = 0.0;
            for (size_t j = 0; j < e->n; j++)
                if (e->f[j].hit[k]) {
                    n++;
                    ha += e->f[j].area_ha[k];
                }
            json_t *x = json_pack("{s:i, s:s, s:I}", "class", k, "name", c->m->class_names[k],
                                  "features", (json_int_t)n);
            json_object_set_new(x, "area_ha", e->polygons ? json_real(ha) : json_null());
            json_array_append_new(ec, x);
        }
        any = e->n;
        json_object_set_new(summary, "exposure",
                            json_pack("{s:s, s:s, s:o, s:I, s:I, s:o, s:s}", "path", e->path,
                                      "layer", e->layer ? e->layer : "",
                                      "field", e->field ? json_string(e->field) : json_null(),
                                      "features_read", (json_int_t)e->nfeatures,
                                      "features_exposed", (json_int_t)any, "classes", ec,
                                      "list", "exposure.csv"));
        json_array_foreach(cls, i, o) {
            int k = (int)json_integer_value(json_object_get(o, "class"));
            json_t *x = json_array_get(ec, 0);
            size_t j;
            json_array_foreach(ec, j, x)
                if (json_integer_value(json_object_get(x, "class")) == k)
                    json_object_set(o, "exposed_features", json_object_get(x, "features"));
        }
    }
}

void gd_chain_exposure_free(gd_chain *c)
{
    free(c->people);
    c->people = NULL;
    gd_exposure_destroy(c->expo);
    c->expo = NULL;
}
