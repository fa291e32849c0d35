/* summary.c: the summarise stage of the chain: zones and alert levels into the outputs. */
#include "geodelta/detect.h"
#include "geodelta/exposure.h"
#include "geodelta/summary.h"
#include "geodelta/util.h"

#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <stdlib.h>
#include <string.h>

int gd_summary_params(gd_job *job, const gd_summary_opts *o, const gd_method *m)
{
    int st = GD_OK;
    gd_alerts *alerts = NULL;
    json_t *params = gd_job_params(job);
    if (o->alerts_json)
        st = gd_alerts_from_json(job, o->alerts_json, "alerts", &alerts);
    else if (o->alerts)
        st = gd_alerts_parse(job, o->alerts, &alerts);
    if (st != GD_OK || (alerts && (st = gd_alerts_check(job, alerts, m, "alerts")) != GD_OK)) {
        gd_alerts_destroy(alerts);
        return st;
    }
    json_object_set_new(params, "alerts", alerts ? json_deep_copy(gd_alerts_spec(alerts)) : json_null());
    json_object_set_new(params, "zones", o->zones ? json_string(o->zones) : json_null());
    if (o->zones) {
        json_object_set_new(params, "zone_field", o->zone_field ? json_string(o->zone_field) : json_null());
        json_object_set_new(params, "zones_all_touched", json_boolean(o->all_touched));
    }
    gd_alerts_destroy(alerts);
    return GD_OK;
}

int gd_summary_zones(gd_job *job, const gd_summary_opts *o, const char *outdir,
                     const gd_grid *grid,
                     const unsigned char *classes, const gd_method *m, json_t *summary,
                     const gd_exposure_in *ex)
{
    const float *people = ex ? ex->people : NULL;
    int st = GD_OK;
    gd_alerts *alerts = NULL;
    gd_zones *zs = NULL;
    char path[4096];

    if (o->alerts_json)
        st = gd_alerts_from_json(job, o->alerts_json, "alerts", &alerts);
    else if (o->alerts)
        st = gd_alerts_parse(job, o->alerts, &alerts);
    if (st != GD_OK || (alerts && (st = gd_alerts_check(job, alerts, m, "alerts")) != GD_OK))
        goto done;
    if (o->zones) {
        gd_zone_opts zo = {o->zones, o->zone_field, o->all_touched, people};
        if ((st = gd_zones_compute(job, grid, classes, &zo, &zs)) != GD_OK)
            goto done;
        /* zones wholly outside the images say nothing: left out of the outputs */
        size_t kept = 0;
        for (size_t i = 0; i < zs->n; i++) {
            if (zs->z[i].pixels > 0) {
                zs->z[kept] = zs->z[i];
                zs->geoms[kept++] = zs->geoms[i];
                continue;
            }
            free(zs->z[i].name);
            OGR_G_DestroyGeometry((OGRGeometryH)zs->geoms[i]);
        }
        json_object_set_new(summary, "zones_outside", json_integer((json_int_t)(zs->n - kept)));
        zs->n = kept;
    } else if (alerts) {
        /* no zones: the alert levels apply to the whole analysed area as one zone */
        zs = calloc(1, sizeof *zs);
        gd_zone *z = zs ? calloc(1, sizeof *z) : NULL;
        if (!z) {
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
        zs->z = z;
        zs->n = 1;
        z->name = strdup("all");
        zs->has_people = people != NULL;
        for (int r = 0; r < grid->height; r++) {
            double px_ha = grid->row_area_m2 ? grid->row_area_m2[r] / 1e4 : NAN;
            const unsigned char *c = classes + (size_t)r * (size_t)grid->width;
            for (int x = 0; x < grid->width; x++) {
                z->pixels++;
                z->area_ha += px_ha;
                if (people) {
                    float pp = people[(size_t)r * (size_t)grid->width + (size_t)x];
                    z->people += pp;
                    if (c[x] < GD_MAX_CLASSES)
                        z->class_people[c[x]] += pp;
                }
                if (c[x] != 255) {
                    z->valid++;
                    z->valid_ha += px_ha;
                    z->class_px[c[x]]++;
                    z->class_ha[c[x]] += px_ha;
                }
            }
        }
    }
    if (!zs)
        goto done;
    if (o->zones && ex && ex->features)
        gd_zones_add_exposure(zs, ex->features);
    int top = gd_zones_apply_alerts(zs, alerts, m);
    size_t at[GD_ALERT_NLEVELS] = {0};
    for (size_t i = 0; i < zs->n; i++)
        at[zs->z[i].level]++;
    if (alerts) {
        json_object_set_new(summary, "alerts", json_deep_copy(gd_alerts_spec(alerts)));
        json_object_set_new(summary, "alert_level", json_string(gd_alert_name(top)));
        gd_job_say(job, "alert level: %s", gd_alert_name(top));
    }
    if (o->zones) {
        json_object_set_new(summary, "zones_source", json_pack("{s:s, s:o, s:s}", "path", o->zones,
            "field", o->zone_field ? json_string(o->zone_field) : json_null(),
            "rule", o->all_touched ? "all-touched" : "pixel-centre"));
        json_object_set_new(summary, "zones_at_level", json_pack("{s:I, s:I, s:I, s:I}",
            "green", (json_int_t)at[0], "yellow", (json_int_t)at[1], "amber", (json_int_t)at[2],
            "red", (json_int_t)at[3]));
        json_object_set_new(summary, "zones", gd_zones_json(zs, m));
        gd_path_join(path, sizeof path, outdir, "zones.csv");
        if ((st = gd_zones_write_csv(job, zs, m, path)) != GD_OK)
            goto done;
        gd_path_join(path, sizeof path, outdir, "zones.geojson");
        if ((st = gd_zones_write_geojson(job, zs, m, path)) != GD_OK)
            goto done;
        gd_job_say(job, "zones: %zu (%zu amber, %zu red)", zs->n, at[GD_ALERT_AMBER], at[GD_ALERT_RED]);
    }
done:
    gd_zones_destroy(zs);
    gd_alerts_destroy(alerts);
    return st;
}
