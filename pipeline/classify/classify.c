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

/* table NULL: the threshold classes of gd_k_classify */
static int classify(gd_job *job, const gd_score *s, double t, int two_sided,
                    const gd_class_table *table, uint8_t **classes)
{
    size_t n = (size_t)s->width * (size_t)s->height;
    int rows = gd_score_strip_rows(s);
    uint8_t *c = malloc(n);
    float *buf = s->data ? NULL : malloc(sizeof(float) * (size_t)s->width * (size_t)rows);
    if (!c || (!s->data && !buf)) {
        free(c);
        free(buf);
        return gd_job_error(job, GD_EPROC, "out of memory for the class raster");
    }
    for (int y0 = 0; y0 < s->height; y0 += rows) {
        int nr = s->height - y0 < rows ? s->height - y0 : rows;
        const float *r = gd_score_rows(job, s, y0, nr, buf);
        if (!r) {
            free(c);
            free(buf);
            return gd_job_status(job);
        }
        if (table)
            gd_k_classify_breaks(r, (size_t)s->width * (size_t)nr, table->breaks,
                                 (size_t)table->nbreaks, table->values,
                                 c + (size_t)y0 * (size_t)s->width);
        else
            gd_k_classify(r, (size_t)s->width * (size_t)nr, (float)t, two_sided,
                          c + (size_t)y0 * (size_t)s->width);
    }
    free(buf);
    *classes = c;
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
    uint8_t *mask = malloc(n);
    if (!mask)
        return gd_job_error(job, GD_EPROC, "out of memory for the sieve mask");
    for (size_t i = 0; i < n; i++)
        mask[i] = classes[i] != 255;
    if ((st = gd_mem_dataset(job, grid, classes, GDT_Byte, &ds)) != GD_OK ||
        (st = gd_mem_dataset(job, grid, mask, GDT_Byte, &mds)) != GD_OK)
        goto done;
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    CPLErrorReset();
    if (GDALSieveFilter(band, GDALGetRasterBand(mds, 1), band, min_pixels, 4, NULL,
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
