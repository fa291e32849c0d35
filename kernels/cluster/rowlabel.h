/* rowlabel.h: the pieces shared by the kernels that label 8-connected components over rows
 * streamed top to bottom with a union-find (hyst.c, objects.c); internal to kernels/. */
#ifndef GD_KERNELS_ROWLABEL_H
#define GD_KERNELS_ROWLABEL_H

#include <stdint.h>

/* The root of label a, compressing the path on the way. */
static inline uint32_t gd_rowlabel_find(uint32_t *parent, uint32_t a)
{
    uint32_t r = a;
    while (parent[r] != r)
        r = parent[r];
    while (parent[a] != r) {
        uint32_t next = parent[a];
        parent[a] = r;
        a = next;
    }
    return r;
}

/* Joins the components of labels a and b: the smaller root becomes the parent (the same
 * forest whatever the thread or run). 0 when they were one already; else 1 with the kept
 * root in *keep and the absorbed one in *gone, whose payload the caller merges. */
static inline int gd_rowlabel_unite(uint32_t *parent, uint32_t a, uint32_t b, uint32_t *keep,
                                    uint32_t *gone)
{
    uint32_t ra = gd_rowlabel_find(parent, a), rb = gd_rowlabel_find(parent, b);
    if (ra == rb)
        return 0;
    if (rb < ra) {
        uint32_t t = ra;
        ra = rb;
        rb = t;
    }
    parent[rb] = ra;
    *keep = ra;
    *gone = rb;
    return 1;
}

/* The provisional labels of pixel i's neighbours already visited, in a fixed order (W, NW,
 * N, NE; the upper row only when up), into nb; returns how many. The first one becomes the
 * pixel's label, so both passes of a kernel number the labels alike. */
static inline int gd_rowlabel_neighbours(const uint32_t *cur, const uint32_t *prev, int i,
                                         int w, int up, uint32_t nb[4])
{
    int k = 0;
    if (i > 0 && cur[i - 1])
        nb[k++] = cur[i - 1];
    if (up) {
        if (i > 0 && prev[i - 1])
            nb[k++] = prev[i - 1];
        if (prev[i])
            nb[k++] = prev[i];
        if (i + 1 < w && prev[i + 1])
            nb[k++] = prev[i + 1];
    }
    return k;
}

#endif
