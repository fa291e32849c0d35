/* classify.c: score -> classes, sieve to the minimum mapping unit, COG output. */
#include "geodelta/engine.h"
#include "geodelta/stages.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gd_kernels.h>
#include <gdal_alg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Classes from the score on the engine's pool: each strip writes its own rows. */
typedef struct class_pass {
    double t;
    int two_sided;
    const gd_class_table *table; /* NULL: the threshold classes of gd_k_classify */
    uint8_t *classes;
} class_pass;

static int class_strip(void *user, const gd_strip *s)
{
    const class_pass *c = user;
    const float *r = s->before[0] + (size_t)(s->y0 - s->in_y0) * (size_t)s->width;
    size_t n = (size_t)s->width * (size_t)s->rows;
    uint8_t *out = c->classes + (size_t)s->y0 * (size_t)s->width;
    if (c->table)
        gd_k_classify_breaks(r, n, c->table->breaks, (size_t)c->table->nbreaks,
                             c->table->values, out);
    else
        gd_k_classify(r, n, (float)c->t, c->two_sided, out);
    return 0;
}

static int classify(gd_job *job, const gd_score *s, double t, int two_sided,
                    const gd_class_table *table, uint8_t **classes)
{
    size_t n = (size_t)s->width * (size_t)s->height;
    class_pass cp = {.t = t, .two_sided = two_sided, .table = table,
                     .classes = gd_malloc_large(n)};
    if (!cp.classes)
        return gd_job_error(job, GD_EPROC, "out of memory for the class raster");
    gd_grid g = {.width = s->width, .height = s->height};
    gd_engine_spec spec = {.grid = &g, .nb = 1, .fn = class_strip, .user = &cp, .src = s};
    int st = gd_engine_run(job, &spec);
    if (st != GD_OK) {
        free(cp.classes);
        return st;
    }
    *classes = cp.classes;
    return GD_OK;
}

int gd_classify(gd_job *job, const gd_score *s, double t, int two_sided, uint8_t **classes)
{
    return classify(job, s, t, two_sided, NULL, classes);
}

int gd_classify_table(gd_job *job, const gd_score *s, const gd_class_table *t,
                      uint8_t **classes)
{
    return classify(job, s, 0.0, 0, t, classes);
}

/* ---- passes over the class raster on the engine's pool ----------------------------- */
#define CLASS_PASS_ROWS 512

/* A mask (1 where lo <= class <= hi): each strip writes its own rows. */
typedef struct mask_pass {
    const uint8_t *classes;
    uint8_t *mask;
    uint8_t lo, hi;
} mask_pass;

static int mask_strip(void *user, const gd_strip *s)
{
    const mask_pass *mp = user;
    size_t o = (size_t)s->y0 * (size_t)s->width, n = (size_t)s->rows * (size_t)s->width;
    const uint8_t *c = mp->classes + o;
    uint8_t *m = mp->mask + o;
    for (size_t i = 0; i < n; i++)
        m[i] = (uint8_t)(c[i] >= mp->lo && c[i] <= mp->hi);
    return 0;
}

int gd_class_all_below(const uint8_t *classes, size_t n, unsigned limit)
{
    if (limit > 255)
        return 1;
    if (limit == 0)
        return n == 0;
    /* a maximum without branches: the compiler makes it a vector loop */
    uint8_t mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = classes[i] > mx ? classes[i] : mx;
    return mx < limit;
}

int gd_class_mask(gd_job *job, const gd_grid *grid, const uint8_t *classes, uint8_t lo,
                  uint8_t hi, uint8_t **mask)
{
    size_t n = (size_t)grid->width * (size_t)grid->height;
    mask_pass mp = {.classes = classes, .mask = gd_malloc_large(n), .lo = lo, .hi = hi};
    if (!mp.mask)
        return gd_job_error(job, GD_EPROC, "out of memory for a %dx%d mask", grid->width,
                            grid->height);
    gd_engine_spec spec = {.grid = grid, .rows = CLASS_PASS_ROWS, .fn = mask_strip, .user = &mp};
    int st = gd_engine_run(job, &spec);
    if (st != GD_OK) {
        free(mp.mask);
        return st;
    }
    *mask = mp.mask;
    return GD_OK;
}

/* Per-row counts of each class and of valid pixels (not 255), into rows of user's array
 * (a strip's own rows); the sums over rows are made afterwards in row order, as one loop
 * over the image would add them. */
#define CENSUS_COLS (GD_MAX_CLASSES + 1)
typedef struct census_pass {
    const uint8_t *classes;
    uint64_t *rows; /* height * CENSUS_COLS: classes 0..GD_MAX_CLASSES-1, then valid */
} census_pass;

static int census_strip(void *user, const gd_strip *s)
{
    const census_pass *cp = user;
    for (int r = s->y0; r < s->y0 + s->rows; r++) {
        const uint8_t *row = cp->classes + (size_t)r * (size_t)s->width;
        uint64_t cn[256] = {0};
        for (int x = 0; x < s->width; x++)
            cn[row[x]]++;
        uint64_t *out = cp->rows + (size_t)r * CENSUS_COLS;
        for (int c = 0; c < GD_MAX_CLASSES; c++)
            out[c] = cn[c];
        out[GD_MAX_CLASSES] = (uint64_t)s->width - cn[255];
    }
    return 0;
}

int gd_class_totals(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                    gd_class_total totals[GD_MAX_CLASSES], uint64_t *valid, double *valid_ha)
{
    census_pass cp = {.classes = classes,
                      .rows = calloc((size_t)grid->height * CENSUS_COLS, sizeof(uint64_t))};
    if (!cp.rows)
        return gd_job_error(job, GD_EPROC, "out of memory for the class totals");
    gd_engine_spec spec = {.grid = grid, .rows = CLASS_PASS_ROWS, .fn = census_strip,
                           .user = &cp};
    int st = gd_engine_run(job, &spec);
    if (st != GD_OK) {
        free(cp.rows);
        return st;
    }
    for (int c = 0; c < GD_MAX_CLASSES; c++) {
        totals[c].pixels = 0;
        totals[c].area_ha = c >= 1 && !grid->wkt ? NAN : 0.0;
    }
    *valid = 0;
    *valid_ha = 0.0;
    for (int r = 0; r < grid->height; r++) {
        const uint64_t *cn = cp.rows + (size_t)r * CENSUS_COLS;
        for (int c = 1; c < GD_MAX_CLASSES; c++) {
            totals[c].pixels += cn[c];
            if (grid->wkt)
                totals[c].area_ha += (double)cn[c] * grid->row_area_m2[r] / 1e4;
        }
        *valid += cn[GD_MAX_CLASSES];
        if (grid->row_area_m2)
            *valid_ha += (double)cn[GD_MAX_CLASSES] * grid->row_area_m2[r] / 1e4;
    }
    free(cp.rows);
    return GD_OK;
}

int gd_mem_dataset(gd_job *job, const gd_grid *grid, void *data, GDALDataType type,
                   GDALDatasetH *out)
{
    char name[256];
    /* the MEM driver wraps an existing buffer when given its address */
    snprintf(name, sizeof name,
             "MEM:::DATAPOINTER=%p,PIXELS=%d,LINES=%d,BANDS=1,DATATYPE=%s", data,
             grid->width, grid->height, GDALGetDataTypeName(type));
    GDALDatasetH ds = GDALOpen(name, GA_Update);
    if (!ds)
        return gd_job_error_gdal(job, GD_EPROC, "cannot wrap a buffer as a MEM dataset");
    GDALSetGeoTransform(ds, (double *)grid->gt);
    if (grid->wkt)
        GDALSetProjection(ds, grid->wkt);
    *out = ds;
    return GD_OK;
}

int gd_clean_sieve(gd_job *job, const gd_grid *grid, uint8_t *classes, int min_pixels)
{
    if (min_pixels <= 1)
        return GD_OK;
    int st = GD_OK;
    size_t n = (size_t)grid->width * (size_t)grid->height;
    GDALDatasetH ds = NULL, mds = NULL;
    uint8_t *mask = NULL;
    /* nodata pixels (255) stay out of the polygons through a mask; without any, no mask
     * (GDAL's sieve reads an all-valid mask as no mask: the same result, a pass fewer) */
    if (memchr(classes, 255, n) &&
        ((st = gd_class_mask(job, grid, classes, 0, 254, &mask)) != GD_OK ||
         (st = gd_mem_dataset(job, grid, mask, GDT_Byte, &mds)) != GD_OK))
        goto done;
    if ((st = gd_mem_dataset(job, grid, classes, GDT_Byte, &ds)) != GD_OK)
        goto done;
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    CPLErrorReset();
    if (GDALSieveFilter(band, mds ? GDALGetRasterBand(mds, 1) : NULL, band, min_pixels, 4, NULL,
                        gd_job_gdal_progress, job) != CE_None)
        st = gd_job_error_gdal(job, GD_EPROC, "sieve filter failed");
done:
    if (ds)
        GDALClose(ds);
    if (mds)
        GDALClose(mds);
    free(mask);
    return st;
}

/* Category names and a raster attribute table (value, pixel count, class name, colour)
 * where QGIS and ArcGIS read them. GeoTIFF has no tag for either: GDAL keeps them in the
 * PAM sidecar <file>.aux.xml, which the COG driver writes next to the file it creates,
 * so the .tif's own bytes stay as they were. */
static int set_categories(GDALRasterBandH b, const gd_method *m, const uint8_t *classes,
                          size_t n)
{
    uint64_t count[256] = {0};
    for (size_t i = 0; i < n; i++)
        count[classes[i]]++;
    int top = 0;
    for (int c = 0; c < GD_MAX_CLASSES; c++)
        if (m->class_names[c])
            top = c;
    char **names = NULL;
    for (int c = 0; c <= top; c++)
        names = CSLAddString(names, m->class_names[c] ? m->class_names[c]
                                    : c == 0 ? "no change" : "");
    GDALSetRasterCategoryNames(b, names);
    CSLDestroy(names);
    GDALRasterAttributeTableH rat = GDALCreateRasterAttributeTable();
    GDALRATSetTableType(rat, GRTT_THEMATIC);
    GDALRATCreateColumn(rat, "Value", GFT_Integer, GFU_MinMax);
    GDALRATCreateColumn(rat, "Count", GFT_Real, GFU_PixelCount);
    GDALRATCreateColumn(rat, "Class", GFT_String, GFU_Name);
    GDALRATCreateColumn(rat, "Red", GFT_Integer, GFU_Red);
    GDALRATCreateColumn(rat, "Green", GFT_Integer, GFU_Green);
    GDALRATCreateColumn(rat, "Blue", GFT_Integer, GFU_Blue);
    int row = 0;
    for (int c = 0; c <= top; c++) {
        if (c > 0 && !m->class_names[c])
            continue;
        int rgb[3] = {200, 200, 200};
        if (c > 0)
            for (int k = 0; k < 3; k++)
                rgb[k] = m->class_rgb[c][k];
        GDALRATSetValueAsInt(rat, row, 0, c);
        GDALRATSetValueAsDouble(rat, row, 1, (double)count[c]);
        GDALRATSetValueAsString(rat, row, 2, m->class_names[c] ? m->class_names[c] : "no change");
        for (int k = 0; k < 3; k++)
            GDALRATSetValueAsInt(rat, row, 3 + k, rgb[k]);
        row++;
    }
    CPLErr e = GDALSetDefaultRAT(b, rat);
    GDALDestroyRasterAttributeTable(rat);
    return e == CE_None ? 0 : -1;
}

int gd_write_change_cog(gd_job *job, const gd_grid *grid, const uint8_t *classes,
                        const gd_method *m, double threshold, const char *path)
{
    char aux_tmp[4200], aux[4200];
    int st = GD_OK;
    char tmp[4096], buf[64];
    GDALDatasetH mem = NULL, out = NULL;
    GDALColorTableH ct = NULL;
    char **opts = NULL;
    GDALDriverH cog = GDALGetDriverByName("COG");
    if (!cog)
        return gd_job_error(job, GD_EPROC, "GDAL has no COG driver (GDAL >= 3.1 needed)");
    if ((st = gd_tmp_name(job, path, tmp, sizeof tmp)) != GD_OK)
        return st;
    snprintf(aux_tmp, sizeof aux_tmp, "%s.aux.xml", tmp);
    snprintf(aux, sizeof aux, "%s.aux.xml", path);
    /* the COG driver only reads the source: casting away const is safe */
    if ((st = gd_mem_dataset(job, grid, (void *)classes, GDT_Byte, &mem)) != GD_OK)
        return st;
    GDALRasterBandH b = GDALGetRasterBand(mem, 1);
    GDALSetRasterNoDataValue(b, 255);
    GDALSetDescription(b, "change class");
    ct = GDALCreateColorTable(GPI_RGB);
    for (int c = 0; c < 256; c++) {
        GDALColorEntry e = {0, 0, 0, 0};
        if (c == 0)
            e = (GDALColorEntry){200, 200, 200, 255};
        else if (c < GD_MAX_CLASSES && m->class_names[c])
            e = (GDALColorEntry){m->class_rgb[c][0], m->class_rgb[c][1], m->class_rgb[c][2], 255};
        GDALSetColorEntry(ct, c, &e);
    }
    GDALSetRasterColorTable(b, ct);
    /* the class names also travel as GEODELTA_CLASS_n metadata items, inside the .tif */
    if (set_categories(b, m, classes, (size_t)grid->width * (size_t)grid->height) != 0) {
        st = gd_job_error_gdal(job, GD_EPROC, "cannot set the class names of %s", path);
        goto done;
    }
    GDALSetMetadataItem(mem, "GEODELTA_METHOD", m->name, NULL);
    if (!isnan(threshold)) {
        snprintf(buf, sizeof buf, "%.9g", threshold);
        GDALSetMetadataItem(mem, "GEODELTA_THRESHOLD", buf, NULL);
    } else if (m->table) {
        /* fixed class breaks instead of a threshold: "usgs:-0.25,-0.1,..." */
        char br[256];
        size_t used = (size_t)snprintf(br, sizeof br, "%s:", m->table->name);
        for (int k = 0; k < m->table->nbreaks && used < sizeof br; k++)
            used += (size_t)snprintf(br + used, sizeof br - used, "%s%.7g", k ? "," : "",
                                     (double)m->table->breaks[k]);
        GDALSetMetadataItem(mem, "GEODELTA_CLASS_BREAKS", br, NULL);
    }
    /* class 0 is named only by class tables ("unburned"): other methods keep their bytes */
    for (int c = 0; c < GD_MAX_CLASSES; c++)
        if (m->class_names[c]) {
            char key[32];
            snprintf(key, sizeof key, "GEODELTA_CLASS_%d", c);
            GDALSetMetadataItem(mem, key, m->class_names[c], NULL);
        }
    /* points back to manifest.json, which records the same id */
    if (gd_job_run_id(job))
        GDALSetMetadataItem(mem, "GEODELTA_RUN_ID", gd_job_run_id(job), NULL);
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "BLOCKSIZE", "512");
    opts = CSLSetNameValue(opts, "OVERVIEW_RESAMPLING", "NEAREST");
    /* GDAL compresses the blocks on the job's threads; they are written in order, so the
     * bytes are the same for any count (e2e.engine_determinism) */
    char nt[16];
    snprintf(nt, sizeof nt, "%d", gd_job_threads(job) > 1 ? gd_job_threads(job) : 1);
    opts = CSLSetNameValue(opts, "NUM_THREADS", nt);
    /* the overviews' temporary file uncompressed unless the user chose: GDAL 3.6 writes it
     * with ZSTD, which set up a fresh context per strip (half of the COG's time on a 4096²
     * pair; the file is a third of the class raster's bytes and is deleted after). The
     * bytes of change.tif do not change. Thread-local: this runs beside other stages. */
    int tmp_comp = !CPLGetConfigOption("COG_TMP_COMPRESSION", NULL);
    if (tmp_comp)
        CPLSetThreadLocalConfigOption("COG_TMP_COMPRESSION", "NONE");
    CPLErrorReset();
    out = GDALCreateCopy(cog, tmp, mem, FALSE, opts, gd_job_gdal_progress, job);
    if (tmp_comp)
        CPLSetThreadLocalConfigOption("COG_TMP_COMPRESSION", NULL);
    if (!out) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "cannot write %s", path);
        VSIUnlink(tmp);
        VSIUnlink(aux_tmp);
        goto done;
    }
    GDALClose(out);
    out = NULL;
    /* the sidecar first: change.tif never stands without its class names */
    if (access(aux_tmp, F_OK) != 0) {
        st = gd_job_error(job, GD_EOUTPUT, "GDAL wrote no %s (class names and attribute "
                          "table)", aux);
        VSIUnlink(tmp);
        goto done;
    }
    if ((st = gd_commit_file(job, aux_tmp, aux)) != GD_OK) {
        VSIUnlink(tmp);
        goto done;
    }
    st = gd_commit_file(job, tmp, path);
done:
    if (mem)
        GDALClose(mem);
    if (ct)
        GDALDestroyColorTable(ct);
    CSLDestroy(opts);
    return st;
}
