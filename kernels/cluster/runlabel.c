/* runlabel.c: 4-connected regions of equal value as runs along rows (the regions
 * GDALPolygonize makes polygons of), joined with the union-find shared by the other
 * labelling kernels (rowlabel.h). */
#include "gd_kernels.h"
#include "rowlabel.h"

#include <stdlib.h>

int gd_k_row_runs(const uint8_t *row, int w, uint8_t lo, uint8_t hi, int *runs)
{
    int n = 0;
    for (int x = 0; x < w;) {
        uint8_t c = row[x];
        int x0 = x;
        while (x < w && row[x] == c)
            x++;
        if (c >= lo && c <= hi) {
            runs[3 * n] = x0;
            runs[3 * n + 1] = x;
            runs[3 * n + 2] = c;
            n++;
        }
    }
    return n;
}

int gd_k_run_regions(const uint8_t *v, int w, int h, uint8_t lo, uint8_t hi, size_t max_runs,
                     uint32_t **region, int64_t **first, size_t *nreg)
{
    uint32_t *parent = NULL;
    int64_t *start = NULL, *fr = NULL;
    size_t n = 0, cap = 0;
    int *prev = malloc(sizeof(int) * 3 * ((size_t)w + 1));
    int *cur = malloc(sizeof(int) * 3 * ((size_t)w + 1));
    int np = 0, ret = -1;
    uint32_t pfirst = 0; /* label of the previous row's first run */
    *region = NULL;
    *first = NULL;
    *nreg = 0;
    if (!prev || !cur)
        goto done;
    for (int y = 0; y < h; y++) {
        int nc = gd_k_row_runs(v + (size_t)y * (size_t)w, w, lo, hi, cur);
        if (n + (size_t)nc > max_runs || n + (size_t)nc > UINT32_MAX) {
            ret = 1;
            goto done;
        }
        if (n + (size_t)nc > cap) {
            size_t nc2 = cap ? cap : 65536;
            while (nc2 < n + (size_t)nc)
                nc2 *= 2;
            uint32_t *p2 = realloc(parent, nc2 * sizeof *p2);
            if (p2)
                parent = p2;
            int64_t *s2 = p2 ? realloc(start, nc2 * sizeof *s2) : NULL;
            if (!s2)
                goto done;
            start = s2;
            cap = nc2;
        }
        uint32_t cfirst = (uint32_t)n;
        for (int i = 0; i < nc; i++, n++) {
            parent[n] = (uint32_t)n;
            start[n] = (int64_t)y * w + cur[3 * i];
        }
        /* join the runs of the row above that share a column and the value */
        for (int i = 0, j = 0; i < nc && j < np;) {
            int a1 = cur[3 * i + 1], b1 = prev[3 * j + 1];
            if (cur[3 * i] < b1 && prev[3 * j] < a1 && cur[3 * i + 2] == prev[3 * j + 2]) {
                uint32_t keep, gone;
                gd_rowlabel_unite(parent, cfirst + (uint32_t)i, pfirst + (uint32_t)j, &keep,
                                  &gone);
            }
            if (a1 < b1)
                i++;
            else
                j++;
        }
        int *t = prev;
        prev = cur;
        cur = t;
        np = nc;
        pfirst = cfirst;
    }
    /* regions numbered in the order of their roots: the smaller label is always the
     * root, so that is the raster order of their first pixels */
    if (!(fr = malloc((n ? n : 1) * sizeof *fr)))
        goto done;
    for (size_t l = 0; l < n; l++) /* every label to its root (labels only) */
        parent[l] = gd_rowlabel_find(parent, (uint32_t)l);
    size_t nr = 0;
    for (size_t l = 0; l < n; l++) {
        uint32_t r = parent[l];
        if (r == (uint32_t)l) {
            fr[nr] = start[l];
            parent[l] = (uint32_t)nr++;
        } else {
            parent[l] = parent[r]; /* r < l: already its region number */
        }
    }
    *region = parent;
    *first = fr;
    *nreg = nr;
    parent = NULL;
    fr = NULL;
    ret = 0;
done:
    free(parent);
    free(start);
    free(fr);
    free(prev);
    free(cur);
    return ret;
}
