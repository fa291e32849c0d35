/* make_bad_inputs.c: writes the malformed and awkward rasters of the error catalogue.
 *
 *   make_bad_inputs SAMPLES_DIR OUTDIR
 *
 * OUTDIR receives:
 *   huge.tif       224-byte TIFF whose header claims 1000000 x 1000000 pixels x 13 bands
 *   wide.tif       TIFF header claiming 2000000000 x 4 pixels (a strip no machine holds)
 *   big.tif        TIFF header claiming 40000 x 40000 pixels (16 GB for the chain)
 *   zero.tif       TIFF header claiming 0 x 10 pixels
 *   truncated.tif  the first half of SAMPLES_DIR/after.tif
 *   naninf.tif     after.tif as Float32 with NaN, +Inf, -Inf and +-FLT_MAX blocks
 *   allnodata.tif  after.tif moved half its width east, nodata over the whole overlap
 * Exits 0 on success, 1 on failure (with a message). */
#include <float.h>
#include <gdal.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A classic little-endian TIFF with one strip of 64 bytes: only the header matters. */
static int write_tiff_header(const char *path, uint32_t w, uint32_t h, uint16_t spp)
{
    unsigned char b[512];
    size_t n = 0;
    const uint16_t nent = 10;
    const uint32_t ifd = 8, data = ifd + 2 + nent * 12u + 4u;
    const uint32_t bps_off = data, strip_off = data + (spp > 2 ? 2u * spp : 0u);
#define PUT16(v) (b[n++] = (unsigned char)((v) & 0xff), b[n++] = (unsigned char)(((v) >> 8) & 0xff))
#define PUT32(v) (PUT16((uint32_t)(v) & 0xffff), PUT16(((uint32_t)(v) >> 16) & 0xffff))
#define ENTRY(tag, type, count, value) (PUT16(tag), PUT16(type), PUT32(count), PUT32(value))
    b[n++] = 'I';
    b[n++] = 'I';
    PUT16(42);
    PUT32(ifd);
    PUT16(nent);
    ENTRY(256, 4, 1, w);                                 /* ImageWidth */
    ENTRY(257, 4, 1, h);                                 /* ImageLength */
    ENTRY(258, 3, spp, spp > 2 ? bps_off : 16u | 16u << 16); /* BitsPerSample */
    ENTRY(259, 3, 1, 1);                                 /* no compression */
    ENTRY(262, 3, 1, 1);                                 /* MinIsBlack */
    ENTRY(273, 4, 1, strip_off);                         /* StripOffsets */
    ENTRY(277, 3, 1, spp);                               /* SamplesPerPixel */
    ENTRY(278, 4, 1, h);                                 /* RowsPerStrip: one strip */
    ENTRY(279, 4, 1, 64);                                /* StripByteCounts (a lie) */
    ENTRY(284, 3, 1, 1);                                 /* contiguous */
    PUT32(0);
    if (spp > 2)
        for (uint16_t i = 0; i < spp; i++)
            PUT16(16);
    memset(b + n, 0, 64);
    n += 64;
#undef ENTRY
#undef PUT32
#undef PUT16
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int truncate_copy(const char *src, const char *dst)
{
    FILE *f = fopen(src, "rb");
    if (!f) {
        perror(src);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    size_t half = (size_t)(size / 2);
    char *buf = malloc(half);
    int bad = !buf || fread(buf, 1, half, f) != half;
    fclose(f);
    FILE *o = bad ? NULL : fopen(dst, "wb");
    bad = bad || !o || fwrite(buf, 1, half, o) != half;
    if (o && fclose(o) != 0)
        bad = 1;
    free(buf);
    if (bad)
        fprintf(stderr, "make_bad_inputs: cannot write %s\n", dst);
    return bad;
}

/* Copies src to a Float32 GTiff, letting edit() change the pixels and geotransform. */
static int float_copy(const char *src, const char *dst, double nodata,
                      void (*edit)(float *px, int w, int h, int band, double gt[6]))
{
    GDALDatasetH in = GDALOpen(src, GA_ReadOnly);
    if (!in) {
        fprintf(stderr, "make_bad_inputs: cannot open %s\n", src);
        return 1;
    }
    int w = GDALGetRasterXSize(in), h = GDALGetRasterYSize(in), nb = GDALGetRasterCount(in);
    double gt[6];
    GDALGetGeoTransform(in, gt);
    GDALDatasetH out = GDALCreate(GDALGetDriverByName("GTiff"), dst, w, h, nb, GDT_Float32, NULL);
    float *px = malloc(sizeof(float) * (size_t)w * (size_t)h);
    int bad = !out || !px;
    for (int b = 1; b <= nb && !bad; b++) {
        GDALRasterBandH ib = GDALGetRasterBand(in, b), ob = GDALGetRasterBand(out, b);
        bad = GDALRasterIO(ib, GF_Read, 0, 0, w, h, px, w, h, GDT_Float32, 0, 0) != CE_None;
        if (bad)
            break;
        /* scale and offset of the sample apply to the float copy as well */
        int ok = 0;
        double sc = GDALGetRasterScale(ib, &ok), of = GDALGetRasterOffset(ib, &ok);
        GDALSetRasterScale(ob, sc);
        GDALSetRasterOffset(ob, of);
        GDALSetDescription(ob, GDALGetDescription(ib));
        if (!isnan(nodata))
            GDALSetRasterNoDataValue(ob, nodata);
        edit(px, w, h, b, gt);
        bad = GDALRasterIO(ob, GF_Write, 0, 0, w, h, px, w, h, GDT_Float32, 0, 0) != CE_None;
    }
    if (!bad) {
        GDALSetGeoTransform(out, gt);
        GDALSetProjection(out, GDALGetProjectionRef(in));
    }
    free(px);
    if (out)
        GDALClose(out);
    GDALClose(in);
    if (bad)
        fprintf(stderr, "make_bad_inputs: cannot write %s\n", dst);
    return bad;
}

/* Blocks of 32 rows: NaN, +Inf, -Inf, FLT_MAX, -FLT_MAX, NaN in one band only. */
static void edit_naninf(float *px, int w, int h, int band, double gt[6])
{
    (void)gt;
    const float special[5] = {NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX};
    for (int y = 0; y < h; y++) {
        int block = (y / 32) % 8;
        for (int x = 0; x < w / 2; x++) {
            float *p = &px[(size_t)y * (size_t)w + (size_t)x];
            if (block < 5)
                *p = special[block];
            else if (block == 5 && band == 4)
                *p = NAN;
        }
    }
}

/* Moved east by half the width; the west half (the overlap with before) is nodata. */
static void edit_allnodata(float *px, int w, int h, int band, double gt[6])
{
    (void)band;
    if (band == 1)
        gt[0] += gt[1] * (w / 2);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w / 2 + 1; x++)
            px[(size_t)y * (size_t)w + (size_t)x] = -9999.0f;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_bad_inputs SAMPLES_DIR OUTDIR\n");
        return 2;
    }
    char src[4096], dst[4096];
    const char *out = argv[2];
    int bad = 0;
    GDALAllRegister();
    snprintf(src, sizeof src, "%s/after.tif", argv[1]);
#define DST(name) (snprintf(dst, sizeof dst, "%s/%s", out, name), dst)
    bad |= write_tiff_header(DST("huge.tif"), 1000000u, 1000000u, 13);
    bad |= write_tiff_header(DST("wide.tif"), 2000000000u, 4u, 1);
    bad |= write_tiff_header(DST("big.tif"), 40000u, 40000u, 1);
    bad |= write_tiff_header(DST("zero.tif"), 0u, 10u, 1);
    bad |= truncate_copy(src, DST("truncated.tif"));
    bad |= float_copy(src, DST("naninf.tif"), NAN, edit_naninf);
    bad |= float_copy(src, DST("allnodata.tif"), -9999.0, edit_allnodata);
#undef DST
    GDALDestroyDriverManager();
    return bad ? 1 : 0;
}
