/* pdfgeo.c: Geospatial PDF georeferencing (ISO 32000 extension: a page viewport with a
 * GEO measure) of map.pdf's change panel, appended to Cairo's file as an incremental
 * update, so that GDAL, QGIS and Acrobat's geospatial tools place the panel on the map. */
#include "geodelta/deliver.h"
#include "geodelta/files.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
            fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* The last occurrence of needle in hay[0..len). */
static const char *rfind(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = len >= n ? len - n + 1 : 0; i-- > 0;)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

static const char *find_bytes(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* The page object: its number and its dictionary [dict, dict_end) without the final
 * ">>". Cairo writes one "<< /Type /Page" per page; "/Pages" is the tree. */
static int find_page(const char *buf, size_t len, int *num, const char **dict,
                     const char **dict_end)
{
    const char *p = buf;
    /* the file holds binary streams (NUL bytes): search bytes, not C strings */
    while ((p = find_bytes(p, (size_t)(buf + len - p), "<< /Type /Page")) != NULL) {
        if (p[14] == 's') {
            p += 14;
            continue;
        }
        /* "N 0 obj\n" just before */
        const char *q = p;
        while (q > buf && q[-1] != 'j')
            q--;
        const char *line = q;
        while (line > buf && line[-1] != '\n')
            line--;
        if (sscanf(line, "%d 0 obj", num) != 1)
            return -1;
        /* matching ">>", skipping comments to the end of their line */
        int depth = 0;
        for (const char *r = p; r < buf + len - 1; r++) {
            if (*r == '%') {
                while (r < buf + len && *r != '\n')
                    r++;
                continue;
            }
            if (r[0] == '<' && r[1] == '<')
                depth++, r++;
            else if (r[0] == '>' && r[1] == '>') {
                if (--depth == 0) {
                    *dict = p;
                    *dict_end = r;
                    return 0;
                }
                r++;
            }
        }
        return -1;
    }
    return -1;
}

/* A PDF literal string: ( ) and \ escaped. */
static void pdf_string(FILE *f, const char *s)
{
    fputc('(', f);
    for (; *s; s++) {
        if (*s == '(' || *s == ')' || *s == '\\')
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputc(')', f);
}

int gd_pdf_georeference(gd_job *job, const char *path, const gd_map_frame *fr,
                        const gd_grid *grid)
{
    int st = GD_OK;
    size_t len = 0;
    char *buf = NULL, *wkt = NULL, tmp[4096];
    FILE *out = NULL;
    OGRSpatialReferenceH srs = NULL, ll = NULL;
    OGRCoordinateTransformationH ct = NULL;
    if (!grid->wkt || !fr || !fr->valid)
        return GD_OK; /* nothing to place */
    if ((st = gd_tmp_name(job, path, tmp, sizeof tmp)) != GD_OK)
        return st;
    buf = read_all(path, &len);
    if (!buf)
        return gd_job_error(job, GD_EOUTPUT, "cannot read %s back", path);
    int page = 0, size = 0, root = 0, info = 0;
    long prev = -1;
    const char *dict = NULL, *dict_end = NULL;
    const char *tr = rfind(buf, len, "trailer"), *sx = rfind(buf, len, "startxref");
    const char *sz = tr ? strstr(tr, "/Size") : NULL, *rt = tr ? strstr(tr, "/Root") : NULL;
    const char *in = tr ? strstr(tr, "/Info") : NULL;
    if (find_page(buf, len, &page, &dict, &dict_end) != 0 || !tr || !sx || !sz || !rt ||
        sscanf(sz, "/Size %d", &size) != 1 || sscanf(rt, "/Root %d", &root) != 1 ||
        sscanf(sx, "startxref %ld", &prev) != 1 || (in && sscanf(in, "/Info %d", &info) != 1)) {
        st = gd_job_error(job, GD_EOUTPUT, "%s: not the PDF layout expected from Cairo "
                          "(no georeferencing added)", path);
        goto done;
    }
    /* the panel's corners in lon/lat: bottom-left, top-left, top-right, bottom-right as
     * the viewport's LPTS below */
    srs = OSRNewSpatialReference(NULL);
    OSRSetFromUserInput(srs, grid->wkt);
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    ll = OSRCloneGeogCS(srs);
    OSRSetAxisMappingStrategy(ll, OAMS_TRADITIONAL_GIS_ORDER);
    ct = OCTNewCoordinateTransformation(srs, ll);
    const char *wopts[] = {"FORMAT=WKT1_GDAL", NULL};
    if (!ct || OSRExportToWktEx(srs, &wkt, wopts) != OGRERR_NONE) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "%s: the grid's CRS cannot be written as "
                               "Geospatial PDF", path);
        goto done;
    }
    const double cx[4] = {0, 0, grid->width, grid->width};
    const double cy[4] = {grid->height, 0, 0, grid->height};
    double x[4], y[4];
    for (int i = 0; i < 4; i++) {
        x[i] = grid->gt[0] + cx[i] * grid->gt[1] + cy[i] * grid->gt[2];
        y[i] = grid->gt[3] + cx[i] * grid->gt[4] + cy[i] * grid->gt[5];
    }
    if (!OCTTransform(ct, 4, x, y, NULL)) {
        st = gd_job_error_gdal(job, GD_EOUTPUT, "%s: the panel's corners have no lon/lat", path);
        goto done;
    }
    out = gd_tmp_fopen(tmp);
    if (!out || fwrite(buf, 1, len, out) != len) {
        st = gd_job_error(job, GD_EOUTPUT, "cannot write %s", path);
        goto done;
    }
    if (buf[len - 1] != '\n')
        fputc('\n', out);
    long obj_at = ftell(out);
    /* PDF user space has its origin at the bottom left */
    double x0 = fr->x, x1 = fr->x + fr->w, y0 = fr->page_h - (fr->y + fr->h),
           y1 = fr->page_h - fr->y;
    fprintf(out, "%d 0 obj\n", page);
    fwrite(dict, 1, (size_t)(dict_end - dict), out);
    fprintf(out, "\n   /VP [ << /Type /Viewport /Name (change)\n"
                 "      /BBox [ %.4f %.4f %.4f %.4f ]\n"
                 "      /Measure << /Type /Measure /Subtype /GEO\n"
                 "         /Bounds [ 0 0 0 1 1 1 1 0 ]\n"
                 "         /LPTS [ 0 0 0 1 1 1 1 0 ]\n         /GPTS [",
            x0, y0, x1, y1);
    for (int i = 0; i < 4; i++)
        fprintf(out, " %.9f %.9f", y[i], x[i]); /* latitude, longitude */
    fputs(" ]\n         /GCS << /Type /PROJCS /WKT ", out);
    if (OSRIsGeographic(srs))
        fseek(out, -(long)strlen("PROJCS /WKT "), SEEK_CUR), fputs("GEOGCS /WKT ", out);
    pdf_string(out, wkt);
    fputs(" >>\n      >>\n   >> ]\n>>\nendobj\n", out);
    long xref_at = ftell(out);
    fprintf(out, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010ld 00000 n \n", page, obj_at);
    fprintf(out, "trailer\n<< /Size %d\n   /Root %d 0 R\n", size, root);
    if (info)
        fprintf(out, "   /Info %d 0 R\n", info);
    fprintf(out, "   /Prev %ld\n>>\nstartxref\n%ld\n%%%%EOF\n", prev, xref_at);
    st = gd_commit_stream(job, out, tmp, path);
    out = NULL;
done:
    if (out) {
        fclose(out);
        remove(tmp);
    } else if (st != GD_OK) {
        remove(tmp);
    }
    if (ct)
        OCTDestroyCoordinateTransformation(ct);
    if (srs)
        OSRDestroySpatialReference(srs);
    if (ll)
        OSRDestroySpatialReference(ll);
    CPLFree(wkt);
    free(buf);
    return st;
}
