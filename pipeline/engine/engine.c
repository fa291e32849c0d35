/* engine.c: row strips of the grid through a pool of worker threads, one GDAL dataset
 * handle per thread; the score in memory or in a temporary GeoTIFF. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "geodelta/engine.h"
#include "geodelta/files.h"
#include "geodelta/util.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gd_kernels.h>
#include <jansson.h>
#include <math.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <pthread.h>
#include <stdint.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BANDS 64
#define DEFAULT_MEM_MB 1024
/* input bytes one worker reads per strip: bounds memory at threads x this */
#define STRIP_BUDGET ((size_t)48 << 20)
/* bytes per pixel reserved for what the chain holds besides the score: the class raster
 * (1) and the sieve/polygonize mask (1) today, since polygon ids are burned strip by
 * strip; the budget keeps the earlier 6 (which also covered ids), so --mem decides as
 * it always did and errs on the side of the file */
#define OTHER_BYTES_PER_PX 6

int gd_engine_default_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void gd_engine_configure(gd_job *job)
{
    if (gd_job_threads(job) <= 0)
        gd_job_set_threads(job, gd_engine_default_threads());
    if (gd_job_mem_mb(job) <= 0)
        gd_job_set_mem_mb(job, DEFAULT_MEM_MB);
    int mem = gd_job_mem_mb(job);
    const char *user_cache = CPLGetConfigOption("GDAL_CACHEMAX", NULL);
    if (!user_cache) {
        /* strips are block-aligned, so each block is decoded once and the cache only
         * needs a few rows of blocks: an eighth of the budget, 32..512 MB. GDAL's own
         * default (5 % of RAM) ignores container limits. */
        long mb = mem / 8;
        mb = mb < 32 ? 32 : (mb > 512 ? 512 : mb);
        GDALSetCacheMax64((GIntBig)mb << 20);
    }
    /* the workers already decode blocks in parallel: GDAL's own threads would only
     * oversubscribe the cores */
    const char *user_nt = CPLGetConfigOption("GDAL_NUM_THREADS", NULL);
    if (!user_nt)
        CPLSetConfigOption("GDAL_NUM_THREADS", "1");
    json_t *params = gd_job_params(job);
    json_object_set_new(params, "threads", json_integer(gd_job_threads(job)));
    json_object_set_new(params, "mem_mb", json_integer(mem));
    gd_job_info(job, "engine: %d threads, --mem %d MB, GDAL cache %lld MB%s, "
                     "GDAL_NUM_THREADS %s%s",
                gd_job_threads(job), mem, (long long)(GDALGetCacheMax64() >> 20),
                user_cache ? " (user)" : "", CPLGetConfigOption("GDAL_NUM_THREADS", "1"),
                user_nt ? " (user)" : "");
}

/* A new handle on the same data: a VRT (the warped after image) from its XML, anything
 * else from its name. NULL when the dataset cannot be reopened (e.g. in memory). */
static GDALDatasetH reopen(GDALDatasetH ds)
{
    GDALDriverH drv = GDALGetDatasetDriver(ds);
    const char *desc = GDALGetDescription(ds);
    VSIStatBufL st;
    CPLErrorReset();
    /* a .vrt file by its name: its sources may be relative to its folder, which its
     * XML alone does not carry (the warps of the chain have no name) */
    int vrt_file = desc && *desc && EQUAL(CPLGetExtension(desc), "vrt") && VSIStatL(desc, &st) == 0;
    if (drv && EQUAL(GDALGetDriverShortName(drv), "VRT") && !vrt_file) {
        char **xml = GDALGetMetadata(ds, "xml:VRT");
        if (xml && xml[0])
            return GDALOpenEx(xml[0], GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    }
    if (!desc || !*desc || (drv && EQUAL(GDALGetDriverShortName(drv), "MEM")))
        return NULL;
    return GDALOpenEx(desc, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
}

/* The engine's temporaries (score, kept dates) are uncompressed GeoTIFFs read back in
 * whole strips. GDAL's direct I/O reads such a request straight into the caller's
 * buffer; through the block cache each strip is a fresh block (11 MB at 10980 px)
 * allocated, faulted in and copied, which at 10980² cost 0.2 s a pass and most of the
 * outputs' system time. The option is read when a file is opened, so it is set for this
 * thread only and only around the open: inputs and outputs keep GDAL's defaults. */
static GDALDatasetH open_scratch(const char *path)
{
    CPLSetThreadLocalConfigOption("GTIFF_DIRECT_IO", "YES");
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    CPLSetThreadLocalConfigOption("GTIFF_DIRECT_IO", NULL);
    return ds;
}

/* Ends a temporary's pass: flushed, closed and opened again read-only (with direct I/O).
 * A flush leaves part of the file in the writer's buffers, so another handle (a later
 * pass's workers) would read missing blocks as nodata; nothing writes it after its pass. */
static int seal_scratch(gd_job *job, gd_score *s, const char *what)
{
    CPLErrorReset();
    GDALFlushCache(s->file);
    int bad = CPLGetLastErrorType() >= CE_Failure;
    GDALClose(s->file);
    s->file = NULL;
    if (bad || CPLGetLastErrorType() >= CE_Failure || !(s->file = open_scratch(s->file_path)))
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot write the temporary %s %s", what,
                                 s->file_path);
    return GD_OK;
}

typedef struct pool pool;

typedef struct worker {
    pool *p;
    pthread_t th;
    int started;
    GDALDatasetH bds, ads;   /* own handles, NULL when the originals are used */
    GDALDatasetH mds[2];     /* own handles on the dates' cloud masks (other files) */
    float *mbuf;             /* one mask plane */
    gd_band bb[MAX_BANDS], ab[MAX_BANDS];
    float *bbuf[MAX_BANDS], *abuf[MAX_BANDS];
    float *obuf;             /* strip output when the score goes to a file */
    double *psum;            /* their sums per panel pixel of one panel row, per band */
    uint32_t *pcnt;          /* and the counts of pixels with data */
    double *csum;            /* a panel row's column sums over its grid rows, one band */
    uint32_t *ccnt;          /* and their counts */
    void *state;             /* the spec's start() result, for this thread only */
} worker;

struct pool {
    const gd_job *job;       /* read by the workers only for its cancel flag */
    const gd_engine_spec *spec;
    gd_score *out;           /* NULL in a pass without a score */
    int strip, nstrips;
    size_t plane;            /* floats between the band planes of a strip buffer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next, done, stop;
    int ordered_next;        /* the strip whose turn it is in spec->ordered */
    int err_strip, err_code; /* the error of the lowest strip wins: same message always */
    char err_msg[1024];
    float *smin, *smax;
    size_t *svalid;
    /* the map's panels: column edges of the boxes, nodata per date and band, and per
     * strip up to two panel rows whose boxes reach into the strip above or below
     * (row number or -1; sums and counts of both dates), merged in strip order */
    int *pcol;
    /* what a strip reads of each date in one request: the method's bands, then the
     * display bands that are not among them; pplane: each display band's plane there */
    int rband[2][MAX_BANDS + 3];
    int nread[2];
    int pplane[2][3];
    int phas_nd[2][3];
    double pnd[2][3];
    int *ptag;
    double *pslot_sum;
    uint32_t *pslot_cnt;
};

static void fail(pool *p, int strip, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(pool *p, int strip, int code, const char *fmt, ...)
{
    pthread_mutex_lock(&p->mu);
    if (!p->err_code || strip < p->err_strip) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err_msg, sizeof p->err_msg, fmt, ap);
        va_end(ap);
        p->err_code = code;
        p->err_strip = strip;
    }
    p->stop = 1;
    /* the main thread and workers waiting for their ordered turn */
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Rows [y0, y0+rows) of the bands numbered map[0..nmap) of one dataset as float32
 * planes `plane` floats apart, in one request: a pixel-interleaved block is decoded and
 * copied out of GDAL's cache once for all of them (the map's display bands included). */
static int read_planes(GDALDatasetH ds, const int *map, int nmap, int width, int y0, int rows,
                       float *buf, size_t plane)
{
    CPLErrorReset();
    CPLErr e = GDALDatasetRasterIO(ds, GF_Read, 0, y0, width, rows, buf, width, rows,
                                   GDT_Float32, nmap, (int *)map, 0, 0,
                                   (GSpacing)(plane * sizeof(float)));
    return e == CE_None ? GD_OK : GD_EINPUT;
}

/* First grid row of panel row py (py = ph: the grid's height). */
static int panel_row0(const gd_engine_panels *pn, int h, int py)
{
    return (int)((int64_t)py * h / pn->ph);
}

/* The map's panels: the display bands of rows [y0, y0 + rows) of date d, as the strip
 * read them (rows: row y0 of each plane of the date's read, before nodata and masks),
 * summed into the boxes of the panel rows they touch. A box inside the strip is finished
 * here; one that reaches into another strip goes to this strip's slots. */
static void panel_strip(worker *wk, int k, int d, const float *rows0, int y0, int rows)
{
    pool *p = wk->p;
    const gd_engine_panels *pn = p->spec->panels;
    const int w = p->spec->grid->width, h = p->spec->grid->height;
    const int nb = pn->nb, pw = pn->pw;
    int py = (int)((int64_t)y0 * pn->ph / h);
    while (py + 1 < pn->ph && panel_row0(pn, h, py + 1) <= y0)
        py++;
    while (py > 0 && panel_row0(pn, h, py) > y0)
        py--;
    for (; py < pn->ph && panel_row0(pn, h, py) < y0 + rows; py++) {
        int b0 = panel_row0(pn, h, py), b1 = panel_row0(pn, h, py + 1);
        int r0 = b0 > y0 ? b0 : y0, r1 = b1 < y0 + rows ? b1 : y0 + rows;
        /* each column's sum over the box's rows in this strip (a vector kernel), then
         * the columns of each box: integer data sums exactly in any order */
        for (int b = 0; b < nb; b++) {
            const int has_nd = p->phas_nd[d][b];
            const float nd = (float)p->pnd[d][b];
            double *sum = wk->psum + (size_t)b * (size_t)pw;
            uint32_t *cnt = wk->pcnt + (size_t)b * (size_t)pw;
            memset(wk->csum, 0, sizeof(double) * (size_t)w);
            memset(wk->ccnt, 0, sizeof(uint32_t) * (size_t)w);
            const float *plane0 = rows0 + (size_t)p->pplane[d][b] * p->plane;
            for (int r = r0; r < r1; r++)
                gd_k_colsum_add(plane0 + (size_t)(r - y0) * (size_t)w, (size_t)w, has_nd, nd,
                                wk->csum, wk->ccnt);
            for (int x = 0; x < pw; x++) {
                double s = 0.0;
                uint32_t c = 0;
                for (int i = p->pcol[x]; i < p->pcol[x + 1]; i++) {
                    s += wk->csum[i];
                    c += wk->ccnt[i];
                }
                sum[x] = s;
                cnt[x] = c;
            }
        }
        if (b0 >= y0 && b1 <= y0 + rows) {
            for (int b = 0; b < nb; b++)
                for (int x = 0; x < pw; x++) {
                    size_t i = (size_t)b * (size_t)pw + (size_t)x;
                    pn->out[d][b][(size_t)py * (size_t)pw + (size_t)x] =
                        wk->pcnt[i] ? (float)(wk->psum[i] / wk->pcnt[i]) : NAN;
                }
            continue;
        }
        /* slot 0: the box starts above the strip; slot 1: it ends below it */
        size_t slot = (size_t)k * 2 + (b0 < y0 ? 0 : 1);
        size_t n = (size_t)nb * (size_t)pw, off = (slot * 2 + (size_t)d) * n;
        p->ptag[slot] = py;
        memcpy(p->pslot_sum + off, wk->psum, sizeof(double) * n);
        memcpy(p->pslot_cnt + off, wk->pcnt, sizeof(uint32_t) * n);
    }
}

/* The boxes split between strips, summed in strip order (the same for any number of
 * threads; integer inputs sum exactly anyway). */
static void panel_merge(pool *p)
{
    gd_engine_panels *pn = p->spec->panels;
    size_t n = (size_t)pn->nb * (size_t)pn->pw;
    double *acc = p->pslot_sum; /* slot 0 of strip 0 is never used: a strip above it */
    uint32_t *cnt = p->pslot_cnt;
    int cur = -1;
    for (int s = 1; s <= 2 * p->nstrips; s++) {
        int py = s < 2 * p->nstrips ? p->ptag[s] : -2;
        if (py == -1)
            continue;
        if (py != cur && cur >= 0)
            for (int d = 0; d < 2; d++)
                for (size_t i = 0; i < n; i++) {
                    size_t b = i / (size_t)pn->pw, x = i % (size_t)pn->pw;
                    pn->out[d][b][(size_t)cur * (size_t)pn->pw + x] =
                        cnt[d * n + i] ? (float)(acc[d * n + i] / cnt[d * n + i]) : NAN;
                }
        if (py < 0)
            break;
        size_t off = (size_t)s * 2 * n;
        if (py != cur) {
            memset(acc, 0, sizeof(double) * 2 * n);
            memset(cnt, 0, sizeof(uint32_t) * 2 * n);
            cur = py;
        }
        for (size_t i = 0; i < 2 * n; i++) {
            acc[i] += p->pslot_sum[off + i];
            cnt[i] += p->pslot_cnt[off + i];
        }
    }
}

/* nodata -> NaN, scale/offset, +-Inf -> NaN on rows read for band b. */
static void prepare_rows(const gd_band *b, int width, int rows, float *buf)
{
    gd_band_to_values(b, buf, (size_t)width * (size_t)rows);
}

/* One strip: read with its halo, prepare, compute, reduce and (to a file) write.
 * Returns 0, or -1 after fail() recorded the error. */
static int do_strip(worker *wk, int k)
{
    pool *p = wk->p;
    const gd_engine_spec *sp = p->spec;
    const int w = sp->grid->width, h = sp->grid->height;
    int y0 = k * p->strip, rows = h - y0 < p->strip ? h - y0 : p->strip;
    /* the halo: up to `halo` rows above and below, clipped at the image's edges (the
     * kernels clip their windows at the buffer's edges, which are then the image's) */
    int iy0 = y0 - sp->halo < 0 ? 0 : y0 - sp->halo;
    int iy1 = y0 + rows + sp->halo > h ? h : y0 + rows + sp->halo;
    const float *src_rows[1] = {NULL};
    if (sp->src) {
        /* a score in memory is read in place; from its file through the worker's handle */
        if (sp->src->data) {
            src_rows[0] = sp->src->data + (size_t)iy0 * (size_t)w;
        } else {
            CPLErrorReset();
            if (GDALRasterIO(GDALGetRasterBand(wk->bds, 1), GF_Read, 0, iy0, w, iy1 - iy0,
                             wk->bbuf[0], w, iy1 - iy0, GDT_Float32, 0, 0) != CE_None) {
                fail(p, k, GD_EPROC, "cannot read rows %d-%d of the temporary score %s: %s",
                     iy0, iy1 - 1, sp->src->file_path, CPLGetLastErrorMsg());
                return -1;
            }
            src_rows[0] = wk->bbuf[0];
        }
    }
    const float *kin[2] = {NULL, NULL};
    for (int d = 0; d < 2 && sp->kept[0]; d++) {
        /* the dates as an earlier pass kept them: in place in memory, else read */
        const gd_score *kp = sp->kept[d];
        if (kp->data) {
            kin[d] = kp->data + (size_t)iy0 * (size_t)w;
            continue;
        }
        /* through its one read-only handle, taking turns (direct reads of uncompressed rows) */
        float *buf = d ? wk->abuf[0] : wk->bbuf[0];
        pthread_mutex_lock(&p->mu);
        CPLErrorReset();
        CPLErr e = GDALRasterIO(GDALGetRasterBand(kp->file, 1), GF_Read, 0, iy0, w, iy1 - iy0,
                                buf, w, iy1 - iy0, GDT_Float32, 0, 0);
        pthread_mutex_unlock(&p->mu);
        if (e != CE_None) {
            fail(p, k, GD_EPROC, "cannot read rows %d-%d of the temporary copy %s: %s", iy0,
                 iy1 - 1, kp->file_path, CPLGetLastErrorMsg());
            return -1;
        }
        kin[d] = buf;
    }
    for (int d = 0; d < 2 && !sp->src && !sp->kept[0] && sp->nb > 0; d++) {
        const gd_band *bands = d ? wk->ab : wk->bb;
        float *const *bufs = d ? wk->abuf : wk->bbuf;
        GDALDatasetH ds = GDALGetBandDataset(bands[0].band);
        if (read_planes(ds, p->rband[d], p->nread[d], w, iy0, iy1 - iy0, bufs[0], p->plane) !=
            GD_OK) {
            fail(p, k, GD_EINPUT, "read error in rows %d-%d of %s: %s (hint: the file may "
                 "be truncated or corrupt; gdalinfo -checksum shows where)", iy0, iy1 - 1,
                 gd_band_file(&bands[0]), CPLGetLastErrorMsg());
            return -1;
        }
        if (sp->panels)
            panel_strip(wk, k, d, bufs[0] + (size_t)(y0 - iy0) * (size_t)w, y0, rows);
        for (size_t b = 0; b < sp->nb; b++)
            prepare_rows(&bands[b], w, iy1 - iy0, bufs[b]);
        /* one mask per date, shared by its bands */
        if (bands[0].mask) {
            CPLErrorReset();
            if (GDALRasterIO(bands[0].mask, GF_Read, 0, iy0, w, iy1 - iy0, wk->mbuf, w,
                             iy1 - iy0, GDT_Float32, 0, 0) != CE_None) {
                fail(p, k, GD_EINPUT, "read error in rows %d-%d of the cloud mask of %s: "
                     "%s", iy0, iy1 - 1, gd_band_file(&bands[0]), CPLGetLastErrorMsg());
                return -1;
            }
            for (size_t b = 0; b < sp->nb; b++)
                gd_mask_apply(bands[b].mask_kind, wk->mbuf, bufs[b],
                              (size_t)w * (size_t)(iy1 - iy0));
        }
    }
    if (sp->keep[0]) {
        /* the strip's own rows of each date, for a later pass (kept) */
        size_t off = (size_t)(y0 - iy0) * (size_t)w, n = (size_t)w * (size_t)rows;
        int bad = 0;
        for (int d = 0; d < 2; d++)
            if (sp->keep[d]->data)
                memcpy(sp->keep[d]->data + (size_t)y0 * (size_t)w,
                       (d ? wk->abuf[0] : wk->bbuf[0]) + off, sizeof(float) * n);
        pthread_mutex_lock(&p->mu);
        CPLErrorReset();
        for (int d = 0; d < 2 && !bad; d++)
            if (!sp->keep[d]->data &&
                GDALRasterIO(GDALGetRasterBand(sp->keep[d]->file, 1), GF_Write, 0, y0, w, rows,
                             (d ? wk->abuf[0] : wk->bbuf[0]) + off, w, rows, GDT_Float32, 0,
                             0) != CE_None)
                bad = 1;
        pthread_mutex_unlock(&p->mu);
        if (bad) {
            fail(p, k, GD_EOUTPUT, "cannot write the temporary copy of the inputs: %s",
                 CPLGetLastErrorMsg());
            return -1;
        }
    }
    /* no score (gd_engine_run): the strip function keeps its results itself */
    float *o = !p->out ? NULL : p->out->data ? p->out->data + (size_t)y0 * (size_t)w : wk->obuf;
    gd_strip s = {.width = w, .y0 = y0, .rows = rows, .in_y0 = iy0, .in_rows = iy1 - iy0,
                  .nb = sp->nb, .before = (const float *const *)wk->bbuf,
                  .after = (const float *const *)wk->abuf, .out = o, .index = k};
    if (sp->src)
        s.before = s.after = src_rows;
    if (sp->kept[0]) {
        s.before = &kin[0];
        s.after = &kin[1];
    }
    int rc = sp->generate ? sp->generate(sp->user, wk->state, &s) : sp->fn(sp->user, &s);
    if (rc != GD_OK) {
        fail(p, k, rc, "computing rows %d-%d failed", y0, y0 + rows - 1);
        return -1;
    }
    if (sp->ordered) {
        /* strips are handed out in increasing order, so the one before this is being
         * computed by a running worker: the wait ends (or the pass stops) */
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->ordered_next != k)
            pthread_cond_wait(&p->cv, &p->mu);
        int stopped = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stopped)
            return -1;
        rc = sp->ordered(sp->user, &s);
        pthread_mutex_lock(&p->mu);
        p->ordered_next = k + 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (rc != GD_OK) {
            fail(p, k, rc, "reducing rows %d-%d failed", y0, y0 + rows - 1);
            return -1;
        }
    }
    if (o) {
        size_t n = (size_t)w * (size_t)rows;
        p->smin[k] = INFINITY;
        p->smax[k] = -INFINITY;
        p->svalid[k] = gd_k_minmax(o, n, &p->smin[k], &p->smax[k]);
    }
    pthread_mutex_lock(&p->mu);
    if (o && !p->out->data) {
        /* one handle on the file: writes take turns (each strip is its own block) */
        CPLErrorReset();
        if (GDALRasterIO(GDALGetRasterBand(p->out->file, 1), GF_Write, 0, y0, w, rows, o, w,
                         rows, GDT_Float32, 0, 0) != CE_None) {
            pthread_mutex_unlock(&p->mu);
            fail(p, k, GD_EOUTPUT, "cannot write the temporary score %s: %s",
                 p->out->file_path, CPLGetLastErrorMsg());
            return -1;
        }
    }
    p->done++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void *work(void *arg)
{
    worker *wk = arg;
    pool *p = wk->p;
    const gd_engine_spec *sp = p->spec;
    /* start/generate/stop: the worker's own state lives as long as the thread */
    if (sp->start && !(wk->state = sp->start(sp->user, sp->grid->width, p->strip + 2 * sp->halo))) {
        fail(p, -1, GD_EPROC, "out of memory for a worker's strip state");
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int k = (p->stop || p->next >= p->nstrips) ? -1 : p->next++;
        pthread_mutex_unlock(&p->mu);
        if (k < 0)
            break;
        /* SIGINT/SIGTERM: stop at the next strip */
        gd_test_pause("strip");
        if (gd_job_cancelled(p->job)) {
            fail(p, k, GD_ECANCEL, "cancelled");
            break;
        }
        if (do_strip(wk, k) != 0)
            break;
    }
    if (sp->stop && wk->state)
        sp->stop(sp->user, wk->state);
    wk->state = NULL;
    return NULL;
}

static int strip_rows(const gd_engine_spec *sp)
{
    int bx = 0, by = 0;
    if (!sp->src && sp->nb == 0)
        return sp->rows > 0 ? sp->rows : 1; /* no inputs: the caller's strips */
    if (sp->src)
        by = sp->src->file ? gd_score_strip_rows(sp->src) : 0;
    else
        GDALGetBlockSize(sp->before[0].band, &bx, &by);
    size_t row_bytes = (size_t)sp->grid->width * sizeof(float) * (sp->src ? 1 : 2 * sp->nb);
    int rows = 256;
    while (rows > 16 && (size_t)(rows + 2 * sp->halo) * row_bytes > STRIP_BUDGET)
        rows /= 2;
    /* whole blocks per strip: each compressed block is decoded once */
    if (by > 1 && by <= 1024) {
        if (rows >= by)
            rows = rows / by * by;
        else if ((size_t)(by + 2 * sp->halo) * row_bytes <= 2 * STRIP_BUDGET)
            rows = by;
    }
    return rows;
}

static int create_file(gd_job *job, const gd_grid *grid, int rows, gd_score *out)
{
    char final[4096], path[4096];
    const char *dir = gd_job_workdir(job);
    /* never a final output: the name only places it with the run's temporaries (the
     * private folder of a locked OUTDIR, removed even when the run is stopped) */
    gd_path_join(final, sizeof final, dir ? dir : ".", "score.scratch.tif");
    int st = gd_tmp_name(job, final, path, sizeof path);
    if (st != GD_OK)
        return st;
    char blk[32];
    snprintf(blk, sizeof blk, "%d", rows);
    char **opts = NULL;
    opts = CSLSetNameValue(opts, "BLOCKYSIZE", blk);
    opts = CSLSetNameValue(opts, "BIGTIFF", "IF_SAFER");
    CPLErrorReset();
    out->file = GDALCreate(GDALGetDriverByName("GTiff"), path, grid->width, grid->height, 1,
                           GDT_Float32, opts);
    CSLDestroy(opts);
    if (!out->file)
        return gd_job_error_gdal(job, GD_EOUTPUT, "cannot create the temporary score %s", path);
    out->file_path = strdup(path);
    GDALSetGeoTransform(out->file, (double *)grid->gt);
    if (grid->wkt)
        GDALSetProjection(out->file, grid->wkt);
    GDALSetRasterNoDataValue(GDALGetRasterBand(out->file, 1), NAN);
    return out->file_path ? GD_OK : gd_job_error(job, GD_EPROC, "out of memory");
}

static void worker_free(worker *wk, size_t nb)
{
    (void)nb;
    free(wk->bbuf[0]); /* the planes of each date are one allocation */
    free(wk->abuf[0]);
    free(wk->obuf);
    free(wk->mbuf);
    free(wk->psum);
    free(wk->pcnt);
    free(wk->csum);
    free(wk->ccnt);
    for (int d = 0; d < 2; d++)
        if (wk->mds[d])
            GDALClose(wk->mds[d]);
    if (wk->bds)
        GDALClose(wk->bds);
    if (wk->ads)
        GDALClose(wk->ads);
}

/* Own handles and buffers for one worker; with own = 0 it uses the originals. */
static int worker_init(gd_job *job, worker *wk, const gd_engine_spec *sp, int own, size_t in_n,
                       size_t out_n)
{
    if (!sp->src && sp->nb == 0)
        return GD_OK; /* no inputs: nothing to reopen or buffer */
    if (sp->src) {
        /* a score in its file: the worker's own handle and one plane of rows */
        if (sp->src->file) {
            CPLErrorReset();
            wk->bds = open_scratch(sp->src->file_path);
            if (!wk->bds)
                return gd_job_error_gdal(job, GD_EPROC, "cannot reopen the temporary score %s",
                                         sp->src->file_path);
            if (!(wk->bbuf[0] = gd_malloc_large(sizeof(float) * in_n)))
                return gd_job_error(job, GD_EPROC, "out of memory for strip buffers");
        }
        if (out_n && !(wk->obuf = gd_malloc_large(sizeof(float) * out_n)))
            return gd_job_error(job, GD_EPROC, "out of memory for strip buffers");
        return GD_OK;
    }
    for (size_t b = 0; b < sp->nb; b++) {
        wk->bb[b] = sp->before[b];
        wk->ab[b] = sp->after[b];
    }
    if (own) {
        wk->bds = reopen(GDALGetBandDataset(sp->before[0].band));
        wk->ads = reopen(GDALGetBandDataset(sp->after[0].band));
        if (!wk->bds || !wk->ads)
            return GD_EINPUT; /* the caller falls back to one thread */
        for (size_t b = 0; b < sp->nb; b++) {
            wk->bb[b].band = GDALGetRasterBand(wk->bds, GDALGetBandNumber(sp->before[b].band));
            wk->ab[b].band = GDALGetRasterBand(wk->ads, GDALGetBandNumber(sp->after[b].band));
            if (!wk->bb[b].band || !wk->ab[b].band)
                return GD_EINPUT;
        }
        /* the masks: a band of the image itself, or of a file (or VRT) of their own */
        for (int d = 0; d < 2; d++) {
            const gd_band *orig = d ? sp->after : sp->before;
            gd_band *mine = d ? wk->ab : wk->bb;
            if (!orig[0].mask)
                continue;
            GDALDatasetH mds = GDALGetBandDataset(orig[0].mask);
            GDALDatasetH own_ds = d ? wk->ads : wk->bds;
            if (mds != GDALGetBandDataset(orig[0].band)) {
                if (!(wk->mds[d] = reopen(mds)))
                    return GD_EINPUT;
                own_ds = wk->mds[d];
            }
            GDALRasterBandH mb = GDALGetRasterBand(own_ds, GDALGetBandNumber(orig[0].mask));
            if (!mb)
                return GD_EINPUT;
            for (size_t b = 0; b < sp->nb; b++)
                mine[b].mask = mb;
        }
    }
    if ((sp->before[0].mask || sp->after[0].mask) &&
        !(wk->mbuf = gd_malloc_large(sizeof(float) * in_n)))
        return gd_job_error(job, GD_EPROC, "out of memory for strip buffers");
    /* one block of planes per date (the method's bands, then the map's others): the reads
     * fill all bands at once */
    wk->bbuf[0] = gd_malloc_large(sizeof(float) * in_n * (size_t)wk->p->nread[0]);
    wk->abuf[0] = gd_malloc_large(sizeof(float) * in_n * (size_t)wk->p->nread[1]);
    if (!wk->bbuf[0] || !wk->abuf[0])
        return gd_job_error(job, GD_EPROC, "out of memory for strip buffers");
    for (size_t b = 1; b < sp->nb; b++) {
        wk->bbuf[b] = wk->bbuf[0] + b * in_n;
        wk->abuf[b] = wk->abuf[0] + b * in_n;
    }
    if (out_n && !(wk->obuf = gd_malloc_large(sizeof(float) * out_n)))
        return gd_job_error(job, GD_EPROC, "out of memory for strip buffers");
    if (sp->panels) {
        const gd_engine_panels *pn = sp->panels;
        size_t n = (size_t)pn->nb * (size_t)pn->pw;
        wk->psum = malloc(sizeof(double) * n);
        wk->pcnt = malloc(sizeof(uint32_t) * n);
        wk->csum = malloc(sizeof(double) * (size_t)sp->grid->width);
        wk->ccnt = malloc(sizeof(uint32_t) * (size_t)sp->grid->width);
        if (!wk->psum || !wk->pcnt || !wk->csum || !wk->ccnt)
            return gd_job_error(job, GD_EPROC, "out of memory for the map's strip buffers");
    }
    return GD_OK;
}

/* What each date's strip read takes: the method's bands, then the display bands of the
 * map that are not among them (pplane: where each display band is). */
static void read_map_init(pool *p)
{
    const gd_engine_spec *sp = p->spec;
    const gd_engine_panels *pn = sp->panels;
    for (int d = 0; d < 2; d++) {
        const gd_band *bands = d ? sp->after : sp->before;
        p->nread[d] = (int)sp->nb;
        if (!bands || sp->src)
            continue; /* a pass over a score reads no bands */
        for (size_t b = 0; b < sp->nb; b++)
            p->rband[d][b] = GDALGetBandNumber(bands[b].band);
        for (int b = 0; pn && b < pn->nb; b++) {
            int j = 0;
            while (j < p->nread[d] && p->rband[d][j] != pn->bands[d][b])
                j++;
            if (j == p->nread[d])
                p->rband[d][p->nread[d]++] = pn->bands[d][b];
            p->pplane[d][b] = j;
        }
    }
}

/* The panels' column edges, nodata values and per-strip slots (pool p sized already). */
static int panels_init(gd_job *job, pool *p)
{
    const gd_engine_spec *sp = p->spec;
    const gd_engine_panels *pn = sp->panels;
    const int w = sp->grid->width, h = sp->grid->height;
    if (pn->nb < 1 || pn->nb > 3 || pn->pw < 1 || pn->ph < 1 || pn->pw > w || pn->ph > h)
        return gd_job_error(job, GD_EPROC, "engine: bad map panels (%d bands, %dx%d)", pn->nb,
                            pn->pw, pn->ph);
    for (int d = 0; d < 2; d++) {
        GDALDatasetH ds = GDALGetBandDataset((d ? sp->after : sp->before)[0].band);
        for (int b = 0; b < pn->nb; b++) {
            GDALRasterBandH band = pn->bands[d][b] > 0 ? GDALGetRasterBand(ds, pn->bands[d][b])
                                                       : NULL;
            if (!band || !pn->out[d][b])
                return gd_job_error(job, GD_EINPUT, "the map's band %d does not exist",
                                    pn->bands[d][b]);
            p->pnd[d][b] = GDALGetRasterNoDataValue(band, &p->phas_nd[d][b]);
            /* a NaN nodata is left out as every NaN is */
            p->phas_nd[d][b] = p->phas_nd[d][b] && !isnan(p->pnd[d][b]);
        }
    }
    size_t n = (size_t)pn->nb * (size_t)pn->pw, nslots = 2 * (size_t)p->nstrips;
    p->pcol = malloc(sizeof(int) * ((size_t)pn->pw + 1));
    p->ptag = malloc(sizeof(int) * nslots);
    p->pslot_sum = calloc(nslots * 2 * n, sizeof(double));
    p->pslot_cnt = calloc(nslots * 2 * n, sizeof(uint32_t));
    if (!p->pcol || !p->ptag || !p->pslot_sum || !p->pslot_cnt)
        return gd_job_error(job, GD_EPROC, "out of memory for the map's panels");
    for (int x = 0; x <= pn->pw; x++)
        p->pcol[x] = (int)((int64_t)x * w / pn->pw);
    for (size_t i = 0; i < nslots; i++)
        p->ptag[i] = -1;
    return GD_OK;
}

/* The strip pass behind gd_engine_score (out) and gd_engine_run (out NULL). */
static int run(gd_job *job, const gd_engine_spec *sp, gd_score *out)
{
    int st = GD_OK;
    const int w = sp->grid->width, h = sp->grid->height;
    worker *wks = NULL;
    int nthreads = gd_job_threads(job) > 0 ? gd_job_threads(job) : gd_engine_default_threads();
    long mem_mb = gd_job_mem_mb(job) > 0 ? gd_job_mem_mb(job) : DEFAULT_MEM_MB;
    pool p;
    memset(&p, 0, sizeof p);
    if (out) {
        memset(out, 0, sizeof *out);
        out->width = w;
        out->height = h;
        out->min = INFINITY;
        out->max = -INFINITY;
    }
    if ((!sp->fn && !sp->generate) || sp->halo < 0)
        return gd_job_error(job, GD_EPROC, "engine: no strip function or a negative halo");
    if (sp->src && (sp->nb != 1 || sp->src->width != w || sp->src->height != h))
        return gd_job_error(job, GD_EPROC, "engine: a source score takes nb 1 and the grid's size");
    if (sp->src && sp->panels)
        return gd_job_error(job, GD_EPROC, "engine: the map's panels come from bands, not a score");
    if ((sp->keep[0] || sp->kept[0]) &&
        (!sp->keep[0] != !sp->keep[1] || !sp->kept[0] != !sp->kept[1] ||
         (sp->keep[0] && sp->kept[0]) || sp->src || sp->nb != 1 ||
         (sp->kept[0] && (sp->panels || sp->kept[0]->width != w || sp->kept[0]->height != h ||
                          sp->kept[1]->width != w || sp->kept[1]->height != h))))
        return gd_job_error(job, GD_EPROC, "engine: bad kept inputs");
    if (sp->nb == 0 && !sp->src && (out || sp->panels))
        return gd_job_error(job, GD_EPROC, "engine: a pass without bands has no score or panels");
    if ((sp->nb == 0 && sp->src) || sp->nb > MAX_BANDS)
        return gd_job_error(job, GD_EPROC, "the engine takes 1 to %d bands, not %zu", MAX_BANDS,
                            sp->nb);
    gd_kernels_init(); /* before any thread calls a kernel */
    p.job = job;
    p.spec = sp;
    p.out = out;
    p.nstrips = gd_engine_strips(sp, &p.strip);
    if (out)
        out->strip_rows = p.strip;
    if (nthreads > p.nstrips)
        nthreads = p.nstrips;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);

    size_t npx = (size_t)w * (size_t)h;
    /* a source score in memory is held alongside */
    size_t src_px = sp->src && sp->src->data ? sizeof(float) : 0;
    if (sp->kept[0])
        src_px = (sp->kept[0]->data ? sizeof(float) : 0) + (sp->kept[1]->data ? sizeof(float) : 0);
    if (sp->keep[0]) {
        /* in memory when both dates and the next pass's score fit, as that pass counts */
        int mem = (double)npx * (3 * sizeof(float) + OTHER_BYTES_PER_PX) <=
                  (double)mem_mb * 1048576.0;
        memset(sp->keep[0], 0, sizeof *sp->keep[0]);
        memset(sp->keep[1], 0, sizeof *sp->keep[1]);
        for (int d = 0; d < 2; d++) {
            gd_score *kp = sp->keep[d];
            kp->width = w;
            kp->height = h;
            kp->strip_rows = p.strip;
            if (mem && (kp->data = gd_malloc_large(sizeof(float) * npx)) != NULL)
                continue;
            if ((st = create_file(job, sp->grid, p.strip, kp)) != GD_OK)
                goto done;
        }
        gd_job_info(job, "inputs kept for the next pass in %s",
                    sp->keep[0]->data ? "memory" : "temporary files");
    }
    int in_memory = !out || (double)npx * (sizeof(float) + src_px + OTHER_BYTES_PER_PX) <=
                                (double)mem_mb * 1048576.0;
    if (out && in_memory) {
        out->data = gd_malloc_large(sizeof(float) * npx);
        if (!out->data)
            in_memory = 0; /* the file keeps working where memory does not */
    }
    if (!in_memory && (st = create_file(job, sp->grid, p.strip, out)) != GD_OK)
        goto done;
    if (out) {
        gd_job_info(job, "score %dx%d in %s, strips of %d rows (halo %d), %d thread%s", w, h,
                    in_memory ? "memory" : out->file_path, p.strip, sp->halo, nthreads,
                    nthreads > 1 ? "s" : "");
        json_object_set_new(gd_job_auto(job), "score_storage",
                            json_string(in_memory ? "memory" : "file"));
    }

    if (sp->panels && (st = panels_init(job, &p)) != GD_OK)
        goto done;
    read_map_init(&p);
    p.smin = malloc(sizeof(float) * (size_t)p.nstrips);
    p.smax = malloc(sizeof(float) * (size_t)p.nstrips);
    p.svalid = calloc((size_t)p.nstrips, sizeof(size_t));
    wks = calloc((size_t)nthreads, sizeof *wks);
    if (!p.smin || !p.smax || !p.svalid || !wks) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    size_t in_n = (size_t)w * (size_t)(p.strip + 2 * sp->halo);
    p.plane = in_n;
    size_t out_n = in_memory ? 0 : (size_t)w * (size_t)p.strip;
    for (int t = 0; t < nthreads; t++) {
        wks[t].p = &p;
        /* every worker has its own handles, even with one thread: closing them at the
         * end also drops their blocks from GDAL's cache */
        st = worker_init(job, &wks[t], sp, 1, in_n, out_n);
        if (st == GD_EINPUT && gd_job_status(job) == GD_OK) {
            /* a dataset that cannot be reopened (in memory): one thread on the originals */
            gd_job_info(job, "inputs cannot be reopened per thread: running on one thread");
            worker_free(&wks[t], sp->nb);
            memset(&wks[t], 0, sizeof wks[t]);
            for (int u = 0; u < t; u++)
                worker_free(&wks[u], sp->nb);
            memset(wks, 0, sizeof *wks);
            wks[0].p = &p;
            nthreads = 1;
            st = worker_init(job, &wks[0], sp, 0, in_n, out_n);
            break;
        }
        if (st != GD_OK) {
            nthreads = t + 1;
            goto done;
        }
    }
    for (int t = 0; t < nthreads; t++) {
        if (pthread_create(&wks[t].th, NULL, work, &wks[t]) != 0) {
            fail(&p, -1, GD_EPROC, "cannot start a worker thread");
            break;
        }
        wks[t].started = 1;
    }
    /* the job belongs to this thread: it reports progress while the workers run */
    pthread_mutex_lock(&p.mu);
    while (!p.stop && p.done < p.nstrips) {
        pthread_cond_wait(&p.cv, &p.mu);
        int done = p.done;
        pthread_mutex_unlock(&p.mu);
        if (gd_job_progress(job, (double)done / p.nstrips) != GD_OK)
            fail(&p, -1, GD_ECANCEL, "cancelled");
        pthread_mutex_lock(&p.mu);
    }
    pthread_mutex_unlock(&p.mu);
    for (int t = 0; t < nthreads; t++)
        if (wks[t].started)
            pthread_join(wks[t].th, NULL);
    if (p.err_code) {
        st = gd_job_error(job, p.err_code, "%s", p.err_msg);
        goto done;
    }
    if (sp->panels)
        panel_merge(&p);
    for (int d = 0; d < 2 && sp->keep[0]; d++)
        if (sp->keep[d]->file && (st = seal_scratch(job, sp->keep[d], "copy")) != GD_OK)
            goto done;
    if (!out)
        goto done; /* a sample pass: its results are in the caller's per-strip slots */
    /* reductions merged in strip order: the same result for any thread count */
    for (int k = 0; k < p.nstrips; k++) {
        out->valid += p.svalid[k];
        if (p.smin[k] < out->min)
            out->min = p.smin[k];
        if (p.smax[k] > out->max)
            out->max = p.smax[k];
    }
    if (out->file && (st = seal_scratch(job, out, "score")) != GD_OK)
        goto done;
    if (out->valid == 0 && sp->src)
        st = gd_job_error(job, GD_EINPUT, "no valid pixel in the score");
    else if (out->valid == 0)
        st = gd_job_error(job, GD_EINPUT,
                          "no valid pixel where both dates have data: %s and %s overlap only "
                          "where one of them is nodata, NaN or Inf (hint: gdalinfo -stats on "
                          "both; check their nodata values and footprints)",
                          gd_band_file(&sp->before[0]), gd_band_file(&sp->after[0]));
done:
    if (wks)
        for (int t = 0; t < nthreads; t++)
            worker_free(&wks[t], sp->nb);
    free(wks);
#ifdef __GLIBC__
    /* the workers' strip buffers (tens of MB, below glibc's mmap threshold) stay in their
     * arenas after free; handing them back keeps them out of the next stage's peak */
    malloc_trim(0);
#endif
    free(p.smin);
    free(p.smax);
    free(p.svalid);
    free(p.pcol);
    free(p.ptag);
    free(p.pslot_sum);
    free(p.pslot_cnt);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    if (st != GD_OK && out)
        gd_score_free(out);
    if (st != GD_OK && sp->keep[0])
        for (int d = 0; d < 2; d++)
            gd_score_free(sp->keep[d]);
    return st;
}

int gd_engine_score(gd_job *job, const gd_engine_spec *sp, gd_score *out)
{
    return run(job, sp, out);
}

int gd_engine_run(gd_job *job, const gd_engine_spec *sp)
{
    return run(job, sp, NULL);
}

int gd_engine_strips(const gd_engine_spec *sp, int *rows_out)
{
    int rows = strip_rows(sp);
    if (rows_out)
        *rows_out = rows;
    return (sp->grid->height + rows - 1) / rows;
}

const float *gd_score_rows(gd_job *job, const gd_score *s, int y0, int rows, float *buf)
{
    if (s->data)
        return s->data + (size_t)y0 * (size_t)s->width;
    CPLErrorReset();
    if (!s->file || GDALRasterIO(GDALGetRasterBand(s->file, 1), GF_Read, 0, y0, s->width, rows,
                                 buf, s->width, rows, GDT_Float32, 0, 0) != CE_None) {
        gd_job_error_gdal(job, GD_EPROC, "cannot read rows %d-%d of the temporary score %s",
                          y0, y0 + rows - 1, s->file_path ? s->file_path : "(none)");
        return NULL;
    }
    return buf;
}

int gd_score_load(gd_job *job, gd_score *s)
{
    if (s->data)
        return GD_OK;
    size_t n = (size_t)s->width * (size_t)s->height;
    float *d = gd_malloc_large(sizeof(float) * n);
    if (!d)
        return gd_job_error(job, GD_EPROC, "out of memory for a %dx%d score", s->width,
                            s->height);
    if (!gd_score_rows(job, s, 0, s->height, d)) {
        free(d);
        return gd_job_status(job);
    }
    /* the file is no longer needed: the score now lives in memory */
    GDALClose(s->file);
    s->file = NULL;
    if (s->file_path)
        VSIUnlink(s->file_path);
    free(s->file_path);
    s->file_path = NULL;
    s->data = d;
    return GD_OK;
}

int gd_score_strip_rows(const gd_score *s)
{
    return s->strip_rows > 0 ? s->strip_rows : 256;
}

void gd_score_alloc(gd_score *s, int w, int h)
{
    memset(s, 0, sizeof *s);
    s->width = w;
    s->height = h;
    s->min = INFINITY;
    s->max = -INFINITY;
    s->data = gd_malloc_large(sizeof(float) * (size_t)w * (size_t)h);
}

void gd_score_free(gd_score *s)
{
    if (!s)
        return;
    free(s->data);
    s->data = NULL;
    if (s->file)
        GDALClose(s->file);
    s->file = NULL;
    if (s->file_path)
        VSIUnlink(s->file_path);
    free(s->file_path);
    s->file_path = NULL;
}
