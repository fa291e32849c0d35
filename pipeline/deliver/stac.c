/* stac.c: stac-item.json, a STAC 1.0.0 Item describing the run's outputs, so that a
 * catalogue (or a STAC browser) takes the product as it is. */
#include "geodelta/deliver.h"
#include "geodelta/method.h"
#include "geodelta/provenance.h"
#include "geodelta/util.h"

#include <jansson.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STAC_FILE_EXT "https://stac-extensions.github.io/file/v2.1.0/schema.json"
#define STAC_PROC_EXT "https://stac-extensions.github.io/processing/v1.1.0/schema.json"

/* The grid's four corners in lon/lat (closed ring) and its bbox; 0 without a CRS. */
int gd_deliver_footprint(const gd_grid *g, double lon[5], double lat[5], double bbox[4])
{
    if (!g->wkt)
        return 0;
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL), w = OSRNewSpatialReference(NULL);
    OSRSetFromUserInput(s, g->wkt);
    OSRImportFromEPSG(w, 4326);
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(w, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(s, w);
    int ok = 0;
    if (ct) {
        const double cx[5] = {0, g->width, g->width, 0, 0}, cy[5] = {0, 0, g->height, g->height, 0};
        for (int i = 0; i < 5; i++) {
            lon[i] = g->gt[0] + cx[i] * g->gt[1] + cy[i] * g->gt[2];
            lat[i] = g->gt[3] + cx[i] * g->gt[4] + cy[i] * g->gt[5];
        }
        ok = OCTTransform(ct, 5, lon, lat, NULL);
        /* counter-clockwise (RFC 7946) from a north-up grid's corners: reverse */
        for (int i = 0; ok && i < 2; i++) {
            double t = lon[1 + i]; lon[1 + i] = lon[3 - i]; lon[3 - i] = t;
            t = lat[1 + i]; lat[1 + i] = lat[3 - i]; lat[3 - i] = t;
        }
        bbox[0] = bbox[1] = INFINITY, bbox[2] = bbox[3] = -INFINITY;
        for (int i = 0; ok && i < 4; i++) {
            bbox[0] = fmin(bbox[0], lon[i]), bbox[2] = fmax(bbox[2], lon[i]);
            bbox[1] = fmin(bbox[1], lat[i]), bbox[3] = fmax(bbox[3], lat[i]);
        }
        OCTDestroyCoordinateTransformation(ct);
    }
    OSRDestroySpatialReference(s);
    OSRDestroySpatialReference(w);
    return ok;
}

static const struct {
    const char *name, *type, *role, *title;
} asset_kinds[] = {
    {"change.tif", "image/tiff; application=geotiff; profile=cloud-optimized", "data",
     "Change classes (COG)"},
    {"change.tif.aux.xml", "application/xml", "metadata", "Class names and attribute table"},
    {"change.geojson", "application/geo+json", "data", "Change polygons"},
    {"change.gpkg", "application/geopackage+sqlite3", "data", "Vector package (styled)"},
    {"change.kmz", "application/vnd.google-earth.kmz", "overview", "Google Earth"},
    {"change.qml", "application/xml", "style", "QGIS style"},
    {"change.sld", "application/vnd.ogc.sld+xml", "style", "SLD style"},
    {"summary.json", "application/json", "metadata", "Summary"},
    {"zones.csv", "text/csv", "metadata", "Zonal figures"},
    {"zones.geojson", "application/geo+json", "data", "Zones with figures"},
    {"exposure.csv", "text/csv", "metadata", "Exposed features"},
    {"map.png", "image/png", "overview", "Print map"},
    {"map.pdf", "application/pdf", "overview", "Print map (Geospatial PDF)"},
    {"score.tif", "image/tiff; application=geotiff", "data", "Change score"},
};

static json_t *dt(const char *date)
{
    char buf[40];
    if (!date || strlen(date) < 10)
        return NULL;
    snprintf(buf, sizeof buf, "%.10sT00:00:00Z", date);
    return json_string(buf);
}

int gd_stac_item_write(gd_job *job, const gd_deliver_run *r, const char *path)
{
    double lon[5], lat[5], bbox[4];
    char p[4096], hex[65], id[96];
    int st = GD_OK;
    json_t *item = json_object(), *props = json_object(), *assets = json_object();
    json_object_set_new(item, "type", json_string("Feature"));
    json_object_set_new(item, "stac_version", json_string("1.0.0"));
    json_object_set_new(item, "stac_extensions",
                        json_pack("[s, s]", STAC_FILE_EXT, STAC_PROC_EXT));
    snprintf(id, sizeof id, "geodelta-%s-%.16s", r->m->name, r->run_id ? r->run_id : "norun");
    json_object_set_new(item, "id", json_string(id));
    if (gd_deliver_footprint(r->grid, lon, lat, bbox)) {
        json_t *ring = json_array();
        for (int i = 0; i < 5; i++)
            json_array_append_new(ring, json_pack("[f, f]", lon[i], lat[i]));
        json_object_set_new(item, "geometry", json_pack("{s:s, s:[o]}", "type", "Polygon",
                                                        "coordinates", ring));
        json_object_set_new(item, "bbox", json_pack("[f, f, f, f]", bbox[0], bbox[1], bbox[2],
                                                    bbox[3]));
    } else {
        json_object_set_new(item, "geometry", json_null()); /* a pixel grid has no place */
    }
    /* the change lies between the two acquisitions */
    json_t *t0 = dt(r->date_before), *t1 = dt(r->date_after);
    if (t0 && t1) {
        json_object_set_new(props, "datetime", json_null());
        json_object_set_new(props, "start_datetime", t0);
        json_object_set_new(props, "end_datetime", t1);
    } else {
        json_decref(t0);
        json_decref(t1);
        json_t *one = dt(r->date_after);
        if (!one)
            one = dt(r->date_before);
        /* STAC needs a datetime: with neither date known, the epoch and a flag say so */
        json_object_set_new(props, "datetime", one ? one : json_string("1970-01-01T00:00:00Z"));
        if (!one)
            json_object_set_new(props, "geodelta:dates_unknown", json_true());
    }
    json_object_set_new(props, "title", json_string("geodelta change detection"));
    json_object_set_new(props, "processing:software",
                        json_pack("{s:s}", "geodelta", GD_VERSION));
    char lineage[512];
    if (isnan(r->threshold))
        snprintf(lineage, sizeof lineage, "geodelta detect -m %s (%s classes) on the two "
                 "images linked as derived_from", r->m->name,
                 r->threshold_mode ? r->threshold_mode : "fixed");
    else
        snprintf(lineage, sizeof lineage, "geodelta detect -m %s, threshold %.6g (%s), on the "
                 "two images linked as derived_from", r->m->name, r->threshold,
                 r->threshold_mode ? r->threshold_mode : "fixed");
    json_object_set_new(props, "processing:lineage", json_string(lineage));
    json_object_set_new(props, "processing:level", json_string("L4"));
    json_object_set_new(props, "geodelta:method", json_string(r->m->name));
    if (r->run_id)
        json_object_set_new(props, "geodelta:run_id", json_string(r->run_id));
    json_object_set_new(item, "properties", props);
    json_t *links = json_array();
    const char *in[2] = {r->before, r->after}, *ih[2] = {r->before_sha256, r->after_sha256};
    const char *it[2] = {"before image", "after image"};
    for (int i = 0; i < 2; i++) {
        json_t *l = json_pack("{s:s, s:s, s:s}", "rel", "derived_from", "href", in[i], "title",
                              it[i]);
        if (ih[i]) {
            char mh[80];
            snprintf(mh, sizeof mh, "1220%s", ih[i]);
            json_object_set_new(l, "file:checksum", json_string(mh));
        }
        json_array_append_new(links, l);
    }
    json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "via", "href",
                                           "manifest.json", "title",
                                           "provenance manifest (verify with geodelta verify)"));
    json_object_set_new(item, "links", links);
    for (size_t i = 0; i < sizeof asset_kinds / sizeof asset_kinds[0]; i++) {
        gd_path_join(p, sizeof p, r->outdir, asset_kinds[i].name);
        if (access(p, F_OK) != 0)
            continue;
        uint64_t size = 0;
        if ((st = gd_sha256_file(job, p, hex, &size)) != GD_OK)
            goto done;
        char mh[80], key[64];
        snprintf(mh, sizeof mh, "1220%s", hex); /* multihash: sha2-256, 32 bytes */
        snprintf(key, sizeof key, "%s", asset_kinds[i].name);
        for (char *k = key; *k; k++)
            if (*k == '.')
                *k = '_';
        json_object_set_new(assets, key,
                            json_pack("{s:s, s:s, s:s, s:[s], s:s, s:I}", "href",
                                      asset_kinds[i].name, "type", asset_kinds[i].type, "title",
                                      asset_kinds[i].title, "roles", asset_kinds[i].role,
                                      "file:checksum", mh, "file:size", (json_int_t)size));
    }
    json_object_set_new(item, "assets", assets);
    assets = NULL;
    st = gd_json_write_atomic(job, item, path);
done:
    json_decref(assets);
    json_decref(item);
    return st;
}
