/* zip.c: a minimal zip writer (stored entries, pinned 1980-01-01 time: repeatable bytes)
 * for change.kmz, base64 for report.html, and reading a file whole. */
#include "geodelta/deliver.h"
#include "geodelta/files.h"
#include "geodelta/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t gd_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void le16(FILE *f, unsigned v)
{
    fputc((int)(v & 0xff), f);
    fputc((int)((v >> 8) & 0xff), f);
}

static void le32(FILE *f, uint32_t v)
{
    le16(f, v & 0xffff);
    le16(f, v >> 16);
}

int gd_zip_write(gd_job *job, const char *path, const gd_zip_entry *e, size_t n)
{
    char tmp[4096];
    FILE *f = NULL;
    int st = gd_tmp_open(job, path, tmp, sizeof tmp, &f);
    if (st != GD_OK)
        return st;
    uint32_t *off = calloc(n ? n : 1, sizeof *off), *crc = calloc(n ? n : 1, sizeof *crc);
    if (!off || !crc) {
        fclose(f);
        remove(tmp);
        free(off);
        free(crc);
        return gd_job_error(job, GD_EPROC, "out of memory");
    }
    const unsigned dos_time = 0, dos_date = (0 << 9) | (1 << 5) | 1; /* 1980-01-01 00:00 */
    for (size_t i = 0; i < n; i++) {
        off[i] = (uint32_t)ftell(f);
        crc[i] = gd_crc32(e[i].data, e[i].len);
        le32(f, 0x04034b50u);
        le16(f, 20), le16(f, 0), le16(f, 0), le16(f, dos_time), le16(f, dos_date);
        le32(f, crc[i]), le32(f, (uint32_t)e[i].len), le32(f, (uint32_t)e[i].len);
        le16(f, (unsigned)strlen(e[i].name)), le16(f, 0);
        fputs(e[i].name, f);
        fwrite(e[i].data, 1, e[i].len, f);
    }
    uint32_t cd = (uint32_t)ftell(f);
    for (size_t i = 0; i < n; i++) {
        le32(f, 0x02014b50u);
        le16(f, 20), le16(f, 20), le16(f, 0), le16(f, 0), le16(f, dos_time), le16(f, dos_date);
        le32(f, crc[i]), le32(f, (uint32_t)e[i].len), le32(f, (uint32_t)e[i].len);
        le16(f, (unsigned)strlen(e[i].name)), le16(f, 0), le16(f, 0), le16(f, 0), le16(f, 0);
        le32(f, 0), le32(f, off[i]);
        fputs(e[i].name, f);
    }
    uint32_t cd_len = (uint32_t)ftell(f) - cd;
    le32(f, 0x06054b50u);
    le16(f, 0), le16(f, 0), le16(f, (unsigned)n), le16(f, (unsigned)n);
    le32(f, cd_len), le32(f, cd), le16(f, 0);
    free(off);
    free(crc);
    return gd_commit_stream(job, f, tmp, path);
}

char *gd_base64(const unsigned char *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = t[v >> 18 & 63];
        *o++ = t[v >> 12 & 63];
        *o++ = i + 1 < n ? t[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? t[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

unsigned char *gd_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
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
