/* state.c: the monitor's state inside alerts.gpkg: the per-pixel arrays as BLOBs per block
 * of rows, the dates processed with their hashes and the parameters, read at the start of
 * a run and written in the transaction that also rewrites the alerts (alerts_gpkg.c); and
 * the one-time conversion of a monitor.state file (v2) of earlier versions. */
#include "monitor_int.h"

#include "geodelta/files.h"
#include "geodelta/provenance.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <jansson.h>
#include <ogr_api.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_FORMAT "geodelta monitor state"
#define STATE_VERSION "3" /* 3: GeoPackage; 1 and 2 were the binary monitor.state */
#define LEGACY_NAME "monitor.state"
#define LEGACY_MAGIC "GDMONST2"
#define LEGACY_END "GDMONEND"
/* a BLOB holds about this many bytes: whole rows, so a block is y0 .. y0 + rows */
#define BLOCK_BYTES (1u << 20)

static void ymd_text(int32_t d, char buf[16])
{
    snprintf(buf, 16, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100));
}

/* The layouts the BLOBs hold, from the compiler's offsets: a state written by a build
 * whose structs differ is refused instead of read as garbage. */
#define FIELD(T, f, type) #f ":" type "@", offsetof(T, f)
static void layout_text(char *buf, size_t len, int which)
{
    if (which == 0)
        snprintf(buf, len,
                 "%s%zu %s%zu %s%zu %s%zu %s%zu %s%zu %s%zu %s%zu %s%zu %s%zu",
                 FIELD(px_state, alert_date, "int32"), FIELD(px_state, prov_date, "int32"),
                 FIELD(px_state, confirm_date, "int32"), FIELD(px_state, last_date, "int32"),
                 FIELD(px_state, status, "uint8"), FIELD(px_state, nflag, "uint8"),
                 FIELD(px_state, nmiss, "uint8"), FIELD(px_state, observed, "uint8"),
                 FIELD(px_state, raiser, "uint8"), FIELD(px_state, pad, "uint8[3]"));
    else
        snprintf(buf, len, "%s%zu %s%zu %s%zu %s%zu", FIELD(px_base, c0, "float32"),
                 FIELD(px_base, a1, "float32"), FIELD(px_base, b1, "float32"),
                 FIELD(px_base, sigma, "float32"));
}

static const char *byte_order(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one ? "little" : "big";
}

int gd_monitor_state_block_rows(const gd_grid *g)
{
    size_t row = (size_t)g->width * sizeof(px_state);
    size_t r = BLOCK_BYTES / (row ? row : 1);
    return r < 1 ? 1 : r > (size_t)g->height ? g->height : (int)r;
}

/* ---- reading ---- */

/* monitor_meta as a JSON object of key -> value text; NULL when the table is missing. */
static json_t *read_meta(GDALDatasetH ds)
{
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "monitor_meta");
    if (!l)
        return NULL;
    json_t *m = json_object();
    OGRFeatureH f;
    OGR_L_ResetReading(l);
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        const char *k = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "key"));
        const char *v = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "value"));
        if (k && v)
            json_object_set_new(m, k, json_string(v));
        OGR_F_Destroy(f);
    }
    return m;
}

static const char *meta(json_t *m, const char *k)
{
    const char *v = json_string_value(json_object_get(m, k));
    return v ? v : "";
}

json_t *gd_monitor_derived_json(const gd_monitor *mon)
{
    const gd_monitor_params *p = mon->p;
    return json_pack("{s:s?, s:s?, s:s?}", "population", p->population ? mon->pop_sha : NULL,
                     "zones", p->zones ? mon->zones_sha : NULL, "zone_field",
                     p->zones ? p->zone_field : NULL);
}

/* GD_EINPUT when the file's state is of a layout this build cannot read. */
static int check_layout(gd_job *job, const char *path, json_t *m)
{
    char lay[512], want[32], had_t[600], now_t[600];
    const char *what = NULL, *had = NULL, *now = NULL;
    if (strcmp(meta(m, "format"), STATE_FORMAT) != 0) {
        what = "format", had = meta(m, "format"), now = STATE_FORMAT;
    } else if (strcmp(meta(m, "version"), STATE_VERSION) != 0) {
        what = "version", had = meta(m, "version"), now = STATE_VERSION;
    } else if (strcmp(meta(m, "byte_order"), byte_order()) != 0) {
        what = "byte order", had = meta(m, "byte_order"), now = byte_order();
    } else {
        layout_text(lay, sizeof lay, 0);
        snprintf(want, sizeof want, "%zu", sizeof(px_state));
        if (strcmp(meta(m, "px_state_size"), want) != 0 || strcmp(meta(m, "px_state_layout"), lay) != 0) {
            snprintf(had_t, sizeof had_t, "%s bytes: %s", meta(m, "px_state_size"),
                     meta(m, "px_state_layout"));
            snprintf(now_t, sizeof now_t, "%s bytes: %s", want, lay);
            what = "px_state layout", had = had_t, now = now_t;
        } else {
            layout_text(lay, sizeof lay, 1);
            snprintf(want, sizeof want, "%zu", sizeof(px_base));
            if (strcmp(meta(m, "px_base_size"), want) != 0 ||
                strcmp(meta(m, "px_base_layout"), lay) != 0) {
                snprintf(had_t, sizeof had_t, "%s bytes: %s", meta(m, "px_base_size"),
                         meta(m, "px_base_layout"));
                snprintf(now_t, sizeof now_t, "%s bytes: %s", want, lay);
                what = "px_base layout", had = had_t, now = now_t;
            }
        }
    }
    if (!what)
        return GD_OK;
    return gd_job_error(job, GD_EINPUT,
                        "%s holds a monitor state this geodelta cannot continue (%s '%s', this "
                        "build '%s'): move it out of the folder (or give another -o) to start "
                        "over with a full run", path, what, had, now);
}

/* The per-pixel arrays from monitor_state; 0 when every row of each array came. */
static int read_blocks(GDALDatasetH ds, gd_monitor *mon)
{
    const gd_grid *g = mon->grid;
    size_t w = (size_t)g->width, npx = w * (size_t)g->height;
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "monitor_state");
    if (!l)
        return -1;
    mon->px = calloc(npx, sizeof *mon->px);
    mon->alert_id = calloc(npx, sizeof *mon->alert_id);
    int ok = mon->px && mon->alert_id;
    for (int s = 0; ok && s < mon->ns; s++)
        ok = (mon->st[s].base = calloc(npx, sizeof *mon->st[s].base)) != NULL;
    /* rows filled per array: px_state, alert_id, one per stack */
    long filled[GD_MONITOR_MAX_STACKS + 2] = {0};
    OGRFeatureH f;
    OGR_L_ResetReading(l);
    while (ok && (f = OGR_L_GetNextFeature(l)) != NULL) {
        const char *kind = OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "kind"));
        int s = OGR_F_GetFieldAsInteger(f, OGR_F_GetFieldIndex(f, "stack"));
        int y0 = OGR_F_GetFieldAsInteger(f, OGR_F_GetFieldIndex(f, "y0"));
        int rows = OGR_F_GetFieldAsInteger(f, OGR_F_GetFieldIndex(f, "rows"));
        int nb = 0;
        const GByte *data = OGR_F_GetFieldAsBinary(f, OGR_F_GetFieldIndex(f, "data"), &nb);
        unsigned char *dst = NULL;
        size_t elt = 0;
        int slot = -1;
        if (strcmp(kind, "px_state") == 0)
            dst = (unsigned char *)mon->px, elt = sizeof *mon->px, slot = 0;
        else if (strcmp(kind, "alert_id") == 0)
            dst = (unsigned char *)mon->alert_id, elt = sizeof *mon->alert_id, slot = 1;
        else if (strcmp(kind, "px_base") == 0 && s >= 1 && s <= mon->ns)
            dst = (unsigned char *)mon->st[s - 1].base, elt = sizeof(px_base), slot = s + 1;
        ok = dst && y0 >= 0 && rows > 0 && y0 + rows <= g->height &&
             (size_t)nb == (size_t)rows * w * elt;
        if (ok) {
            memcpy(dst + (size_t)y0 * w * elt, data, (size_t)nb);
            filled[slot] += rows;
        }
        OGR_F_Destroy(f);
    }
    for (int k = 0; ok && k < mon->ns + 2; k++)
        ok = filled[k] == g->height;
    return ok ? 0 : -1;
}

/* The dates in the state per stack (date text and hash, in order) as JSON arrays. */
static json_t *read_dates(GDALDatasetH ds, int ns)
{
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "dates");
    if (!l)
        return NULL;
    json_t *a = json_array();
    for (int s = 0; s < ns; s++)
        json_array_append_new(a, json_array());
    OGRFeatureH f;
    OGR_L_ResetReading(l);
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        int s = OGR_F_GetFieldAsInteger(f, OGR_F_GetFieldIndex(f, "stack"));
        int y = 0, mo = 0, d = 0, h, mi, tz;
        float sec;
        OGR_F_GetFieldAsDateTimeEx(f, OGR_F_GetFieldIndex(f, "date"), &y, &mo, &d, &h, &mi, &sec,
                                   &tz);
        char ds_[16];
        ymd_text(y * 10000 + mo * 100 + d, ds_);
        if (s >= 1 && s <= ns)
            json_array_append_new(json_array_get(a, (size_t)s - 1),
                                  json_pack("[s, s]", ds_,
                                            OGR_F_GetFieldAsString(
                                                f, OGR_F_GetFieldIndex(f, "sha256"))));
        else
            json_array_append_new(a, json_null()); /* a stack this run does not have */
        OGR_F_Destroy(f);
    }
    return a;
}

/* Whether dates (per stack [date, sha256] arrays) are a prefix of the lists after which
 * only monitored dates later than every tested one follow; done_n gets the counts. */
static const char *dates_usable(const gd_monitor *mon, json_t *dates, int *done_n)
{
    int32_t last = 0;
    if (!json_is_array(dates) || (int)json_array_size(dates) != mon->ns)
        return "its dates are not the first dates of the lists (or a file changed)";
    for (int s = 0; s < mon->ns; s++) {
        json_t *a = json_array_get(dates, (size_t)s);
        int k = (int)json_array_size(a);
        const mstack *ms = &mon->st[s];
        if (!json_is_array(a) || k > ms->s->n || k < ms->nbase)
            return "its dates are not the first dates of the lists (or a file changed)";
        for (int i = 0; i < k; i++) {
            json_t *e = json_array_get(a, (size_t)i);
            char d[16];
            ymd_text(ms->s->items[i].date, d);
            const char *ed = json_string_value(json_array_get(e, 0));
            const char *eh = json_string_value(json_array_get(e, 1));
            if (!ed || !eh || strcmp(ed, d) != 0 || strcmp(eh, ms->sha[i]) != 0)
                return "its dates are not the first dates of the lists (or a file changed)";
        }
        if (k > ms->nbase && ms->s->items[k - 1].date > last)
            last = ms->s->items[k - 1].date;
        done_n[s] = k;
    }
    /* a new date before one already tested would change the order of the tests */
    for (int s = 0; s < mon->ns; s++)
        if (done_n[s] < mon->st[s].s->n && mon->st[s].s->items[done_n[s]].date <= last)
            return "a new date comes before the last date tested";
    return NULL;
}

static void drop_arrays(gd_monitor *mon)
{
    free(mon->px);
    mon->px = NULL;
    free(mon->alert_id);
    mon->alert_id = NULL;
    for (int s = 0; s < mon->ns; s++) {
        free(mon->st[s].base);
        mon->st[s].base = NULL;
    }
}

/* monitor.state v2 of earlier versions: header JSON (parameters, dates with hashes), then
 * the arrays. Read once: the run continues from it and writes alerts.gpkg, then removes it.
 * Returns the reason it is not used, NULL when it is. */
static const char *legacy_load(gd_monitor *mon, const char *path, int *done_n)
{
    size_t npx = (size_t)mon->grid->width * (size_t)mon->grid->height;
    FILE *f = fopen(path, "rb");
    if (!f)
        return "unreadable";
    char magic[8];
    uint64_t len = 0, n = 0;
    char *text = NULL;
    json_t *doc = NULL, *cfg = json_deep_copy(mon->config);
    const char *why = "unreadable, truncated or of a layout before v2";
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, LEGACY_MAGIC, 8) != 0 ||
        fread(&len, sizeof len, 1, f) != 1 || len > (1u << 30) || !(text = malloc(len + 1)) ||
        fread(text, 1, len, f) != len)
        goto done;
    text[len] = '\0';
    if (!(doc = json_loads(text, 0, NULL)))
        goto done;
    /* the v2 parameters named their file's layout; the rest must be these */
    json_object_set_new(cfg, "state", json_string(LEGACY_MAGIC));
    if (!json_equal(json_object_get(doc, "config"), cfg)) {
        why = "made with other parameters, stacks or grid";
        goto done;
    }
    if ((why = dates_usable(mon, json_object_get(doc, "dates"), done_n)) != NULL)
        goto done;
    why = "unreadable or truncated";
    if (fread(&n, sizeof n, 1, f) != 1 || n != npx)
        goto done;
    mon->px = malloc(npx * sizeof *mon->px);
    mon->alert_id = calloc(npx, sizeof *mon->alert_id);
    if (!mon->px || !mon->alert_id || fread(mon->px, sizeof *mon->px, npx, f) != npx)
        goto done;
    for (int s = 0; s < mon->ns; s++) {
        mon->st[s].base = malloc(npx * sizeof *mon->st[s].base);
        if (!mon->st[s].base || fread(mon->st[s].base, sizeof *mon->st[s].base, npx, f) != npx)
            goto done;
    }
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, LEGACY_END, 8) != 0)
        goto done;
    why = NULL;
done:
    fclose(f);
    free(text);
    json_decref(doc);
    json_decref(cfg);
    return why;
}

int gd_monitor_state_load(gd_job *job, gd_monitor *mon, int *full)
{
    char path[4096], legacy[4096];
    int st = GD_OK, done_n[GD_MONITOR_MAX_STACKS] = {0};
    const char *why = NULL;
    json_t *m = NULL, *cfg = NULL, *dates = NULL;
    GDALDatasetH ds = NULL;
    *full = 1;
    mon->in_place = 0;
    mon->legacy = 0;
    mon->next_alert = 1;
    gd_path_join(path, sizeof path, mon->p->outdir, "alerts.gpkg");
    gd_path_join(legacy, sizeof legacy, mon->p->outdir, LEGACY_NAME);
    if (access(path, F_OK) == 0) {
        /* update mode: a run killed inside its transaction left a hot journal, which
         * SQLite rolls back on this open (a read-only open could not) */
        const char *const drivers[] = {"GPKG", NULL};
        ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, drivers, NULL, NULL);
        if (!ds) {
            why = "alerts.gpkg cannot be opened as a GeoPackage";
            goto done;
        }
        if (!(m = read_meta(ds))) {
            /* the alerts.gpkg of a version that kept its state in monitor.state: an output
             * only, rebuilt below */
            GDALClose(ds);
            ds = NULL;
        } else {
            if ((st = check_layout(job, path, m)) != GD_OK)
                goto done;
            mon->in_place = 1; /* an incremental run updates the file in place */
            cfg = json_loads(meta(m, "config"), 0, NULL);
            if (!cfg || !json_equal(cfg, mon->config)) {
                why = "made with other parameters, stacks or grid";
                goto done;
            }
            if ((why = dates_usable(mon, dates = read_dates(ds, mon->ns), done_n)) != NULL)
                goto done;
            if (read_blocks(ds, mon) != 0) {
                why = "its per-pixel state is incomplete";
                goto done;
            }
            mon->next_alert = strtoll(meta(m, "next_alert_id"), NULL, 10);
            if (mon->next_alert < 1)
                mon->next_alert = 1;
            /* population or zones other than those of the state's figures (a state
             * without the record: other unless this run has neither) */
            json_t *had = json_loads(meta(m, "derived"), 0, NULL), *now = gd_monitor_derived_json(mon);
            mon->refresh = !had ? json_object_get(now, "population") != json_null() ||
                                      json_object_get(now, "zones") != json_null()
                                : !json_equal(had, now);
            if (mon->refresh) {
                char *nt = json_dumps(now, JSON_COMPACT | JSON_SORT_KEYS);
                gd_job_info(job, "monitor: the population or zones differ from those of the "
                            "state (%s, now %s): people and zone series are recomputed",
                            meta(m, "derived")[0] ? meta(m, "derived") : "not recorded",
                            nt ? nt : "?");
                free(nt);
            }
            json_decref(had);
            json_decref(now);
            *full = 0;
            goto done;
        }
    }
    if (access(legacy, F_OK) == 0) {
        /* the state of an earlier version: continued once, then alerts.gpkg holds it */
        if ((why = legacy_load(mon, legacy, done_n)) == NULL) {
            mon->legacy = 1;
            *full = 0;
            gd_job_info(job, "monitor: converting %s (v2) into alerts.gpkg; it is removed once "
                        "alerts.gpkg holds the state", legacy);
        } else {
            mon->legacy = 2; /* removed after the full run's commit all the same */
        }
    }
done:
    if (ds)
        GDALClose(ds);
    if (*full)
        mon->in_place = 0; /* a full run replaces the file */
    /* saved: the dates the file already lists; a converted v2 state goes to a new file */
    if (st == GD_OK && !*full)
        for (int s = 0; s < mon->ns; s++) {
            mon->st[s].done = done_n[s];
            mon->st[s].saved = mon->in_place ? done_n[s] : 0;
        }
    if (st == GD_OK && *full) {
        if (why)
            gd_job_info(job, "monitor: the state in %s is not used (%s): every date is "
                        "processed", mon->legacy == 2 ? legacy : path, why);
        drop_arrays(mon);
        mon->next_alert = 1;
        for (int s = 0; s < mon->ns; s++)
            mon->st[s].saved = 0;
    }
    json_decref(m);
    json_decref(cfg);
    json_decref(dates);
    return st;
}

/* ---- writing (inside the caller's transaction) ---- */

OGRLayerH gd_monitor_gpkg_layer(gd_job *job, GDALDatasetH ds, const char *name,
                                OGRSpatialReferenceH srs, OGRwkbGeometryType type,
                                const char *const *names, const OGRFieldType *types, int nf,
                                int bool_field, int not_null)
{
    char **lco = CSLSetNameValue(NULL, "FID", "fid");
    if (type != wkbNone)
        lco = CSLSetNameValue(lco, "GEOMETRY_NAME", "geom");
    OGRLayerH l = GDALDatasetCreateLayer(ds, name, srs, type, lco);
    CSLDestroy(lco);
    for (int k = 0; l && k < nf; k++) {
        OGRFieldDefnH fd = OGR_Fld_Create(names[k], types[k]);
        if (not_null)
            OGR_Fld_SetNullable(fd, FALSE);
        if (k == bool_field)
            OGR_Fld_SetSubType(fd, OFSTBoolean);
        if (OGR_L_CreateField(l, fd, TRUE) != OGRERR_NONE)
            l = NULL;
        OGR_Fld_Destroy(fd);
    }
    if (!l)
        gd_job_error_gdal(job, GD_EOUTPUT, "cannot create the %s table of alerts.gpkg", name);
    return l;
}

int gd_monitor_gpkg_put(gd_job *job, OGRLayerH l, OGRFeatureH f)
{
    OGRErr e = OGR_L_CreateFeature(l, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? GD_OK
                            : gd_job_error_gdal(job, GD_EOUTPUT, "cannot write a row of %s to "
                                                "alerts.gpkg", OGR_L_GetName(l));
}

/* the state's attribute tables: the one the file has, else a new one of NOT NULL fields */
static OGRLayerH attr_layer(gd_job *job, GDALDatasetH ds, const char *name,
                            const char *const *names, const OGRFieldType *types, int nf,
                            int bool_field)
{
    OGRLayerH l = GDALDatasetGetLayerByName(ds, name);
    return l ? l : gd_monitor_gpkg_layer(job, ds, name, NULL, wkbNone, names, types, nf, bool_field, 1);
}

/* Empties a table of the open file (the rows are rewritten in the same transaction). */
int gd_monitor_state_clear(gd_job *job, void *dsv, const char *table)
{
    GDALDatasetH ds = dsv;
    if (!GDALDatasetGetLayerByName(ds, table))
        return GD_OK;
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", table);
    CPLErrorReset();
    OGRLayerH r = GDALDatasetExecuteSQL(ds, sql, NULL, NULL);
    if (r)
        GDALDatasetReleaseResultSet(ds, r);
    if (CPLGetLastErrorType() >= CE_Failure)
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot empty %s in alerts.gpkg", table);
    return GD_OK;
}

static int put_blocks(gd_job *job, OGRLayerH l, const char *kind, int stack, const void *arr,
                      size_t elt, const gd_grid *g)
{
    int br = gd_monitor_state_block_rows(g), st = GD_OK;
    size_t w = (size_t)g->width;
    for (int y0 = 0; y0 < g->height && st == GD_OK; y0 += br) {
        int rows = y0 + br <= g->height ? br : g->height - y0;
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
        OGR_F_SetFieldString(f, 0, kind);
        OGR_F_SetFieldInteger(f, 1, stack);
        OGR_F_SetFieldInteger(f, 2, y0);
        OGR_F_SetFieldInteger(f, 3, rows);
        OGR_F_SetFieldBinary(f, 4, (int)((size_t)rows * w * elt),
                             (const unsigned char *)arr + (size_t)y0 * w * elt);
        st = gd_monitor_gpkg_put(job, l, f);
    }
    return st;
}

int gd_monitor_state_write(gd_job *job, void *dsv, const gd_monitor *mon, const int32_t *ids,
                           int64_t next_alert)
{
    GDALDatasetH ds = dsv;
    const gd_grid *g = mon->grid;
    int st;
    /* monitor_state: the per-pixel arrays, replaced whole */
    static const char *const sn[] = {"kind", "stack", "y0", "rows", "data"};
    static const OGRFieldType stt[] = {OFTString, OFTInteger, OFTInteger, OFTInteger, OFTBinary};
    OGRLayerH l = attr_layer(job, ds, "monitor_state", sn, stt, 5, -1);
    if (!l)
        return gd_job_status(job);
    if ((st = gd_monitor_state_clear(job, ds, "monitor_state")) != GD_OK ||
        (st = put_blocks(job, l, "px_state", 0, mon->px, sizeof *mon->px, g)) != GD_OK ||
        (st = put_blocks(job, l, "alert_id", 0, ids, sizeof *ids, g)) != GD_OK)
        return st;
    for (int s = 0; s < mon->ns; s++)
        if ((st = put_blocks(job, l, "px_base", s + 1, mon->st[s].base, sizeof(px_base), g)) != GD_OK)
            return st;
    gd_test_pause("monitor-state-write");
    /* dates: the new ones appended (a full run writes a new file: all of them) */
    static const char *const dn[] = {"stack", "date", "baseline", "list", "path", "sha256"};
    static const OGRFieldType dt[] = {OFTInteger, OFTDate, OFTInteger, OFTString, OFTString,
                                      OFTString};
    OGRLayerH dl = attr_layer(job, ds, "dates", dn, dt, 6, 2);
    if (!dl)
        return gd_job_status(job);
    for (int s = 0; s < mon->ns && st == GD_OK; s++) {
        const mstack *ms = &mon->st[s];
        char *list = gd_input_abs_path(ms->s->list);
        for (int i = ms->saved; i < ms->done && st == GD_OK; i++) {
            char *path = gd_input_abs_path(ms->s->items[i].path);
            int32_t d = ms->s->items[i].date;
            OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(dl));
            OGR_F_SetFieldInteger(f, 0, s + 1);
            OGR_F_SetFieldDateTimeEx(f, 1, d / 10000, d / 100 % 100, d % 100, 0, 0, 0.0f, 0);
            OGR_F_SetFieldInteger(f, 2, i < ms->nbase);
            OGR_F_SetFieldString(f, 3, list ? list : ms->s->list);
            OGR_F_SetFieldString(f, 4, path ? path : ms->s->items[i].path);
            OGR_F_SetFieldString(f, 5, ms->sha[i]);
            free(path);
            st = gd_monitor_gpkg_put(job, dl, f);
        }
        free(list);
    }
    if (st != GD_OK)
        return st;
    /* monitor_meta: what the BLOBs are and the parameters they were made with */
    static const char *const mn[] = {"key", "value"};
    static const OGRFieldType mt[] = {OFTString, OFTString};
    OGRLayerH ml = attr_layer(job, ds, "monitor_meta", mn, mt, 2, -1);
    if (!ml || (st = gd_monitor_state_clear(job, ds, "monitor_meta")) != GD_OK)
        return ml ? st : gd_job_status(job);
    char lay0[512], lay1[256], s0[32], s1[32], w[32], h[32], br[32], na[32], last[16];
    layout_text(lay0, sizeof lay0, 0);
    layout_text(lay1, sizeof lay1, 1);
    snprintf(s0, sizeof s0, "%zu", sizeof(px_state));
    snprintf(s1, sizeof s1, "%zu", sizeof(px_base));
    snprintf(w, sizeof w, "%d", g->width);
    snprintf(h, sizeof h, "%d", g->height);
    snprintf(br, sizeof br, "%d", gd_monitor_state_block_rows(g));
    snprintf(na, sizeof na, "%lld", (long long)next_alert);
    int32_t ld = 0;
    for (int s = 0; s < mon->ns; s++)
        if (mon->st[s].done > 0 && mon->st[s].s->items[mon->st[s].done - 1].date > ld)
            ld = mon->st[s].s->items[mon->st[s].done - 1].date;
    ymd_text(ld, last);
    char *cfg = json_dumps(mon->config, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_t *dj = gd_monitor_derived_json(mon);
    char *der = json_dumps(dj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(dj);
    const char *kv[][2] = {
        {"format", STATE_FORMAT},
        {"version", STATE_VERSION},
        {"byte_order", byte_order()},
        {"px_state_size", s0},
        {"px_state_layout", lay0},
        {"px_base_size", s1},
        {"px_base_layout", lay1},
        {"alert_id", "int32 per pixel: the alert (alerts.alert_id) holding it, 0 none"},
        {"blocks", "monitor_state: kind px_state | alert_id (stack 0) | px_base (stack 1..n), "
                   "rows y0 .. y0+rows-1 of the grid, row-major, native byte order"},
        {"width", w},
        {"height", h},
        {"block_rows", br},
        {"next_alert_id", na},
        {"latest_date", last},
        {"config", cfg ? cfg : "{}"},
        {"derived", der ? der : "{}"},
    };
    for (size_t k = 0; k < sizeof kv / sizeof kv[0] && st == GD_OK; k++) {
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(ml));
        OGR_F_SetFieldString(f, 0, kv[k][0]);
        OGR_F_SetFieldString(f, 1, kv[k][1]);
        st = gd_monitor_gpkg_put(job, ml, f);
    }
    free(cfg);
    free(der);
    return st;
}

/* After the commit: the v2 file the state came from (or that was not used) goes. */
void gd_monitor_state_done(gd_job *job, const gd_monitor *mon)
{
    char legacy[4096];
    if (!mon->legacy)
        return;
    gd_path_join(legacy, sizeof legacy, mon->p->outdir, LEGACY_NAME);
    if (unlink(legacy) == 0)
        gd_job_info(job, "monitor: %s removed: alerts.gpkg holds the state", legacy);
}
