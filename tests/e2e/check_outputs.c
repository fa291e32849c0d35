/* check_outputs.c: structural checks on one geodelta detect output folder.
 *
 *   check_outputs OUTDIR
 *
 * Prints one line per failed check ("FAIL: ...") and exits 1 if any failed, 0 otherwise;
 * 2 on usage errors. */
#include <ctype.h>
#include <dirent.h>
#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int failures;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    failures++;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static const char *const OUTPUTS[] = {"change.tif", "change.geojson", "summary.json",
                                      "map.png",    "manifest.json",  "run.log"};
#define N_OUTPUTS (sizeof OUTPUTS / sizeof OUTPUTS[0])

static void check_files(const char *dir)
{
    for (size_t i = 0; i < N_OUTPUTS; i++) {
        char *p = join(dir, OUTPUTS[i]);
        struct stat st;
        if (stat(p, &st) != 0)
            fail("%s: missing", OUTPUTS[i]);
        else if (!S_ISREG(st.st_mode))
            fail("%s: not a regular file", OUTPUTS[i]);
        else if (st.st_size == 0)
            fail("%s: empty", OUTPUTS[i]);
        free(p);
    }
    DIR *d = opendir(dir);
    if (!d) {
        fail("%s: cannot list the folder", dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-"))
            fail("%s: temporary file left in the output folder", e->d_name);
    closedir(d);
}

/* summary.json: returns the parsed object (or NULL) */
static json_t *load_json(const char *dir, const char *name)
{
    char *p = join(dir, name);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    if (!j)
        fail("%s: does not parse (line %d: %s)", name, err.line, err.text);
    else if (!json_is_object(j)) {
        fail("%s: not a JSON object", name);
        json_decref(j);
        j = NULL;
    }
    free(p);
    return j;
}

static void check_tif(const char *dir, json_t *summary)
{
    char *p = join(dir, "change.tif");
    GDALDatasetH ds = GDALOpenEx(p, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    free(p);
    if (!ds) {
        fail("change.tif: GDAL cannot open it");
        return;
    }
    const char *layout = GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE");
    if (!layout || strcmp(layout, "COG") != 0)
        fail("change.tif: IMAGE_STRUCTURE LAYOUT is %s, expected COG", layout ? layout : "(unset)");
    if (GDALGetRasterCount(ds) < 1) {
        fail("change.tif: no band");
    } else {
        GDALRasterBandH b = GDALGetRasterBand(ds, 1);
        if (GDALGetRasterDataType(b) != GDT_Byte)
            fail("change.tif: band type %s, expected Byte",
                 GDALGetDataTypeName(GDALGetRasterDataType(b)));
        int has = 0;
        double nd = GDALGetRasterNoDataValue(b, &has);
        if (!has || nd != 255)
            fail("change.tif: nodata %s%g, expected 255", has ? "" : "unset ", nd);
    }
    json_t *grid = summary ? json_object_get(summary, "grid") : NULL;
    if (summary && !json_is_object(grid)) {
        fail("summary.json: no grid object");
    } else if (grid) {
        json_t *w = json_object_get(grid, "width"), *h = json_object_get(grid, "height");
        if (!json_is_integer(w) || !json_is_integer(h))
            fail("summary.json: grid.width/height missing or not integers");
        else if (json_integer_value(w) != GDALGetRasterXSize(ds) ||
                 json_integer_value(h) != GDALGetRasterYSize(ds))
            fail("change.tif: size %dx%d, summary.json grid %lldx%lld", GDALGetRasterXSize(ds),
                 GDALGetRasterYSize(ds), (long long)json_integer_value(w),
                 (long long)json_integer_value(h));
    }
    GDALClose(ds);
}

static int coords_ok(OGRGeometryH g)
{
    int sub = OGR_G_GetGeometryCount(g);
    for (int i = 0; i < sub; i++)
        if (!coords_ok(OGR_G_GetGeometryRef(g, i)))
            return 0;
    int n = OGR_G_GetPointCount(g);
    for (int i = 0; i < n; i++) {
        double x = OGR_G_GetX(g, i), y = OGR_G_GetY(g, i);
        if (!isfinite(x) || !isfinite(y) || x < -180 || x > 180 || y < -90 || y > 90)
            return 0;
    }
    return 1;
}

static void check_geojson(const char *dir, json_t *summary)
{
    char *p = join(dir, "change.geojson");
    GDALDatasetH ds = GDALOpenEx(p, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    free(p);
    if (!ds) {
        fail("change.geojson: OGR cannot open it");
        return;
    }
    if (GDALDatasetGetLayerCount(ds) < 1) {
        fail("change.geojson: no layer");
        GDALClose(ds);
        return;
    }
    OGRLayerH lyr = GDALDatasetGetLayer(ds, 0);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(lyr);
    static const char *const FIELDS[] = {"id",     "class",     "class_name",
                                         "area_ha", "pixels", "mean_score"};
    int idx[6];
    for (int i = 0; i < 6; i++) {
        idx[i] = OGR_FD_GetFieldIndex(defn, FIELDS[i]);
        if (idx[i] < 0)
            fail("change.geojson: field %s missing", FIELDS[i]);
    }
    long nfeat = 0, bad_area = 0, bad_coords = 0, no_geom = 0;
    double sum_ha = 0;
    OGR_L_ResetReading(lyr);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(lyr)) != NULL) {
        nfeat++;
        if (idx[3] >= 0) {
            double a = OGR_F_GetFieldAsDouble(f, idx[3]);
            if (!(a > 0))
                bad_area++;
            else
                sum_ha += a;
        }
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        if (!g)
            no_geom++;
        else if (!coords_ok(g))
            bad_coords++;
        OGR_F_Destroy(f);
    }
    if (nfeat < 1)
        fail("change.geojson: no feature");
    if (bad_area)
        fail("change.geojson: %ld feature(s) with area_ha <= 0", bad_area);
    if (no_geom)
        fail("change.geojson: %ld feature(s) without geometry", no_geom);
    if (bad_coords)
        fail("change.geojson: %ld feature(s) with coordinates outside WGS84 lon/lat range",
             bad_coords);
    json_t *ch = summary ? json_object_get(summary, "changed_ha") : NULL;
    if (summary && !json_is_number(ch)) {
        fail("summary.json: changed_ha missing or not a number");
    } else if (ch && idx[3] >= 0) {
        double want = json_number_value(ch);
        double tol = 0.005 * fabs(want);
        if (fabs(sum_ha - want) > tol && !(want == 0 && sum_ha == 0))
            fail("change.geojson: sum of area_ha %.4f differs from summary.json changed_ha "
                 "%.4f by more than 0.5 %%",
                 sum_ha, want);
    }
    GDALClose(ds);
}

static void check_png(const char *dir)
{
    char *p = join(dir, "map.png");
    FILE *fp = fopen(p, "rb");
    free(p);
    if (!fp) {
        fail("map.png: cannot open");
        return;
    }
    static const unsigned char SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    if (fread(head, 1, 8, fp) != 8 || memcmp(head, SIG, 8) != 0)
        fail("map.png: no PNG signature");
    /* walk the chunks; look for a tEXt chunk whose keyword is Software */
    int found = 0;
    unsigned char hdr[8];
    while (!found && fread(hdr, 1, 8, fp) == 8) {
        unsigned long len = ((unsigned long)hdr[0] << 24) | ((unsigned long)hdr[1] << 16) |
                            ((unsigned long)hdr[2] << 8) | hdr[3];
        if (!memcmp(hdr + 4, "tEXt", 4) || !memcmp(hdr + 4, "iTXt", 4) ||
            !memcmp(hdr + 4, "zTXt", 4)) {
            char key[16] = {0};
            size_t k = len < 9 ? len : 9;
            if (fread(key, 1, k, fp) != k)
                break;
            if (k == 9 && !memcmp(key, "Software", 9))
                found = 1;
            if (fseek(fp, (long)(len - k) + 4, SEEK_CUR) != 0)
                break;
        } else if (!memcmp(hdr + 4, "IEND", 4)) {
            break;
        } else if (fseek(fp, (long)len + 4, SEEK_CUR) != 0) {
            break;
        }
    }
    fclose(fp);
    if (!found)
        fail("map.png: no Software tEXt chunk");
}

static int is_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static void check_manifest(const char *dir)
{
    json_t *m = load_json(dir, "manifest.json");
    if (!m)
        return;
    const char *schema = json_string_value(json_object_get(m, "schema"));
    if (!schema || strncmp(schema, "geodelta-manifest/", 18) != 0)
        fail("manifest.json: schema is %s, expected geodelta-manifest/...",
             schema ? schema : "(missing)");
    json_t *in = json_object_get(m, "inputs");
    if (!json_is_array(in) || json_array_size(in) == 0) {
        fail("manifest.json: no inputs listed");
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(in, i, e)
        {
            const char *h = json_string_value(json_object_get(e, "sha256"));
            if (!is_hex64(h))
                fail("manifest.json: inputs[%zu] sha256 is not 64 hex characters", i);
        }
    }
    json_t *out = json_object_get(m, "outputs");
    if (!json_is_array(out) || json_array_size(out) == 0) {
        fail("manifest.json: no outputs listed");
    } else {
        size_t i;
        json_t *e;
        int has_tif = 0;
        json_array_foreach(out, i, e)
        {
            const char *path = json_string_value(json_object_get(e, "path"));
            if (path) {
                const char *base = strrchr(path, '/');
                base = base ? base + 1 : path;
                if (!strcmp(base, "change.tif"))
                    has_tif = 1;
            }
            if (!is_hex64(json_string_value(json_object_get(e, "sha256"))))
                fail("manifest.json: outputs[%zu] sha256 is not 64 hex characters", i);
        }
        if (!has_tif)
            fail("manifest.json: outputs do not include change.tif");
    }
    json_decref(m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: check_outputs OUTDIR\n");
        return 2;
    }
    const char *dir = argv[1];
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);

    check_files(dir);
    json_t *summary = load_json(dir, "summary.json");
    check_tif(dir, summary);
    check_geojson(dir, summary);
    check_png(dir);
    check_manifest(dir);
    json_decref(summary);

    if (failures) {
        printf("check_outputs %s: %d check(s) failed\n", dir, failures);
        return 1;
    }
    printf("check_outputs %s: all checks passed\n", dir);
    return 0;
}
