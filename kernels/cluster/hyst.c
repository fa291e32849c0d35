/* hyst.c: hysteresis growth of change seeds over rows streamed top to bottom.
 *
 * gd_k_hysteresis (flicm.c) floods from the seeds and needs the whole score plus 9 bytes
 * per pixel of work space. The result is the same as keeping every 8-connected component
 * of M = {v >= t_lo or v >= t_hi} that holds a seed (v >= t_hi): a pixel of M joined to a
 * seed through M is reached by the flood, and the flood never leaves M. So the rows are
 * labelled twice in one fixed order (classic two-pass connected components with a
 * union-find): the first scan merges the components and marks those holding a seed; the
 * second recomputes the same provisional labels (a pixel's provisional label depends only
 * on its left and upper neighbours' provisional labels, never on the merges) and writes
 * 1 where the label's root holds a seed. Memory: two rows of labels and 5 bytes per
 * provisional label, whatever the image size. */
#include "gd_kernels.h"
#include "rowlabel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct gd_k_hyst {
    int w;
    uint32_t *prev, *cur;   /* provisional labels of the previous and current row; 0 = none */
    uint32_t *parent;       /* union-find over labels 1..n (parent[0] unused) */
    uint8_t *seed;          /* the label's set holds a seed (valid at roots) */
    uint32_t n, cap;
    int pass;               /* 1: scanning, 2: labelling */
    int first_row;
    size_t grown;
};

gd_k_hyst *gd_k_hyst_create(int w)
{
    if (w < 1)
        return NULL;
    gd_k_hyst *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->w = w;
    h->prev = calloc((size_t)w, sizeof(uint32_t));
    h->cur = calloc((size_t)w, sizeof(uint32_t));
    h->cap = 1024;
    h->parent = malloc(sizeof(uint32_t) * h->cap);
    h->seed = malloc(h->cap);
    if (!h->prev || !h->cur || !h->parent || !h->seed) {
        gd_k_hyst_destroy(h);
        return NULL;
    }
    h->pass = 1;
    h->first_row = 1;
    return h;
}

void gd_k_hyst_destroy(gd_k_hyst *h)
{
    if (!h)
        return;
    free(h->prev);
    free(h->cur);
    free(h->parent);
    free(h->seed);
    free(h);
}

static void unite(gd_k_hyst *h, uint32_t a, uint32_t b)
{
    uint32_t ra, rb;
    if (gd_rowlabel_unite(h->parent, a, b, &ra, &rb))
        h->seed[ra] |= h->seed[rb];
}

static int new_label(gd_k_hyst *h, uint32_t *out)
{
    if (h->n + 1 >= h->cap) {
        if (h->cap > UINT32_MAX / 2)
            return -1;
        uint32_t cap = h->cap * 2;
        uint32_t *p = realloc(h->parent, sizeof(uint32_t) * cap);
        if (!p)
            return -1;
        h->parent = p;
        uint8_t *s = realloc(h->seed, cap);
        if (!s)
            return -1;
        h->seed = s;
        h->cap = cap;
    }
    h->n++;
    h->parent[h->n] = h->n;
    h->seed[h->n] = 0;
    *out = h->n;
    return 0;
}

static inline double val(float x, int absval)
{
    return absval ? fabs((double)x) : (double)x;
}

/* One row of provisional labels into h->cur (needs h->prev); pass 1 also merges and marks
 * seeds, pass 2 writes labels. Returns -1 when the labels run out of memory. */
static int do_row(gd_k_hyst *h, const float *x, int absval, double t_lo, double t_hi,
                  uint8_t *labels)
{
    const int w = h->w;
    uint32_t *cur = h->cur;
    const uint32_t *prev = h->prev;
    const int up = !h->first_row;
    /* pass 2 numbers labels again from 1 in the same order */
    for (int i = 0; i < w; i++) {
        float xi = x[i];
        if (!isfinite(xi)) {
            cur[i] = 0;
            if (labels)
                labels[i] = 255;
            continue;
        }
        double v = val(xi, absval);
        int is_seed = v >= t_hi;
        if (!(v >= t_lo) && !is_seed) {
            cur[i] = 0;
            if (labels)
                labels[i] = 0;
            continue;
        }
        /* neighbours already visited, in a fixed order: W, NW, N, NE */
        uint32_t nb[4];
        int k = gd_rowlabel_neighbours(cur, prev, i, w, up, nb);
        uint32_t lab;
        if (k == 0) {
            if (h->pass == 1) {
                if (new_label(h, &lab) != 0)
                    return -1;
            } else {
                lab = ++h->n;
            }
        } else {
            lab = nb[0];
        }
        cur[i] = lab;
        if (h->pass == 1) {
            for (int j = 1; j < k; j++)
                unite(h, lab, nb[j]);
            if (is_seed)
                h->seed[gd_rowlabel_find(h->parent, lab)] = 1;
        } else {
            uint8_t on = h->seed[h->parent[lab]];
            labels[i] = on;
            if (on && !is_seed)
                h->grown++;
        }
    }
    uint32_t *t = h->prev;
    h->prev = h->cur;
    h->cur = t;
    h->first_row = 0;
    return 0;
}

int gd_k_hyst_scan(gd_k_hyst *h, const float *x, int rows, int absval, double t_lo,
                   double t_hi)
{
    if (!h || h->pass != 1)
        return -1;
    for (int r = 0; r < rows; r++)
        if (do_row(h, x + (size_t)r * (size_t)h->w, absval, t_lo, t_hi, NULL) != 0)
            return -1;
    return 0;
}

int gd_k_hyst_label(gd_k_hyst *h, const float *x, int rows, int absval, double t_lo,
                    double t_hi, uint8_t *labels)
{
    if (!h)
        return -1;
    if (h->pass == 1) {
        /* the first labelling call closes the scan: every label points at its root */
        for (uint32_t a = 1; a <= h->n; a++)
            h->parent[a] = gd_rowlabel_find(h->parent, a);
        h->pass = 2;
        h->n = 0;
        h->first_row = 1;
        h->grown = 0;
    }
    for (int r = 0; r < rows; r++)
        if (do_row(h, x + (size_t)r * (size_t)h->w, absval, t_lo, t_hi,
                   labels + (size_t)r * (size_t)h->w) != 0)
            return -1;
    return 0;
}

size_t gd_k_hyst_grown(const gd_k_hyst *h)
{
    return h ? h->grown : 0;
}
