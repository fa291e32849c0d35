/* objects.c: urban's object decision (regions over the threshold kept when their peak
 * score reaches a seed level and they are large enough), whole-image and streamed.
 *
 * The whole-image version walks each 8-connected region of class 1 breadth-first and
 * needs the score and 8 bytes per pixel of work space. The streamed one gives the same
 * classes over rows fed top to bottom twice, as hyst.c does for hysteresis: the first
 * scan labels the rows with a union-find that keeps per set its pixel count and peak
 * score (max and sum do not depend on the order the pixels are merged in); the second
 * scan recomputes the same provisional labels (a pixel's label depends only on its left
 * and upper neighbours' labels, never on the merges) and drops the class-1 pixels whose
 * set fails the rule. Memory: two rows of labels and 17 bytes per provisional label. */
#include "gd_kernels.h"
#include "rowlabel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int keep_region(float peak, uint64_t px, float seed, long min_px)
{
    return peak >= seed && (long long)px >= (long long)min_px;
}

static void count_region(gd_k_objects_counts *c, int keep, uint64_t px)
{
    if (keep) {
        c->kept++;
        c->kept_px += px;
    } else {
        c->dropped++;
        c->dropped_px += px;
    }
}

int gd_k_objects_whole(const float *restrict score, int w, int h, float seed, long min_px,
                       uint8_t *restrict classes, size_t *restrict work,
                       gd_k_objects_counts *counts)
{
    const size_t n = (size_t)w * (size_t)h;
    /* 2 marks a pixel of the region being walked, 3 a kept pixel (not walked again) */
    enum { WALKED = 2, KEPT = 3 };
    memset(counts, 0, sizeof *counts);
    for (size_t i0 = 0; i0 < n; i0++) {
        if (classes[i0] != 1)
            continue;
        /* breadth-first walk: work[0..m) is both the region and the queue */
        size_t m = 0, head = 0;
        float peak = -INFINITY;
        work[m++] = i0;
        classes[i0] = WALKED;
        while (head < m) {
            size_t p = work[head++];
            int x = (int)(p % (size_t)w), y = (int)(p / (size_t)w);
            if (score[p] > peak)
                peak = score[p];
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                        continue;
                    size_t q = (size_t)yy * (size_t)w + (size_t)xx;
                    if (classes[q] == 1) {
                        classes[q] = WALKED;
                        work[m++] = q;
                    }
                }
        }
        int keep = keep_region(peak, m, seed, min_px);
        for (size_t k = 0; k < m; k++)
            classes[work[k]] = keep ? KEPT : 0;
        count_region(counts, keep, m);
    }
    for (size_t i = 0; i < n; i++)
        if (classes[i] == KEPT)
            classes[i] = 1;
    return 0;
}

struct gd_k_objects {
    int w;
    float seed;
    long min_px;
    uint32_t *prev, *cur;   /* provisional labels of the previous and current row; 0 = none */
    uint32_t *parent;       /* union-find over labels 1..n (parent[0] unused) */
    float *peak;            /* per set (valid at roots): the highest score */
    uint64_t *px;           /* and the pixel count; after the scan, keep flag at roots */
    uint8_t *keep;
    uint32_t n, cap;
    int pass;               /* 1: scanning, 2: labelling */
    int first_row;
    gd_k_objects_counts counts;
};

gd_k_objects *gd_k_objects_create(int w, float seed, long min_px)
{
    if (w < 1)
        return NULL;
    gd_k_objects *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->w = w;
    o->seed = seed;
    o->min_px = min_px;
    o->prev = calloc((size_t)w, sizeof(uint32_t));
    o->cur = calloc((size_t)w, sizeof(uint32_t));
    o->cap = 1024;
    o->parent = malloc(sizeof(uint32_t) * o->cap);
    o->peak = malloc(sizeof(float) * o->cap);
    o->px = malloc(sizeof(uint64_t) * o->cap);
    if (!o->prev || !o->cur || !o->parent || !o->peak || !o->px) {
        gd_k_objects_destroy(o);
        return NULL;
    }
    o->pass = 1;
    o->first_row = 1;
    return o;
}

void gd_k_objects_destroy(gd_k_objects *o)
{
    if (!o)
        return;
    free(o->prev);
    free(o->cur);
    free(o->parent);
    free(o->peak);
    free(o->px);
    free(o->keep);
    free(o);
}

static void unite(gd_k_objects *o, uint32_t a, uint32_t b)
{
    uint32_t ra, rb;
    if (!gd_rowlabel_unite(o->parent, a, b, &ra, &rb))
        return;
    if (o->peak[rb] > o->peak[ra])
        o->peak[ra] = o->peak[rb];
    o->px[ra] += o->px[rb];
}

static int new_label(gd_k_objects *o, uint32_t *out)
{
    if (o->n + 1 >= o->cap) {
        if (o->cap > UINT32_MAX / 2)
            return -1;
        uint32_t cap = o->cap * 2;
        uint32_t *p = realloc(o->parent, sizeof(uint32_t) * cap);
        if (!p)
            return -1;
        o->parent = p;
        float *pk = realloc(o->peak, sizeof(float) * cap);
        if (!pk)
            return -1;
        o->peak = pk;
        uint64_t *px = realloc(o->px, sizeof(uint64_t) * cap);
        if (!px)
            return -1;
        o->px = px;
        o->cap = cap;
    }
    o->n++;
    o->parent[o->n] = o->n;
    o->peak[o->n] = -INFINITY;
    o->px[o->n] = 0;
    *out = o->n;
    return 0;
}

/* One row of provisional labels into o->cur (needs o->prev); pass 1 merges and gathers
 * peaks and counts (score is read), pass 2 writes the decision into classes. */
static int do_row(gd_k_objects *o, const float *score, uint8_t *classes, const uint8_t *in)
{
    const int w = o->w;
    uint32_t *cur = o->cur;
    const uint32_t *prev = o->prev;
    const int up = !o->first_row;
    for (int i = 0; i < w; i++) {
        if (in[i] != 1) {
            cur[i] = 0;
            continue;
        }
        /* neighbours already visited, in a fixed order: W, NW, N, NE */
        uint32_t nb[4];
        int k = gd_rowlabel_neighbours(cur, prev, i, w, up, nb);
        uint32_t lab;
        if (k == 0) {
            if (o->pass == 1) {
                if (new_label(o, &lab) != 0)
                    return -1;
            } else {
                lab = ++o->n;
            }
        } else {
            lab = nb[0];
        }
        cur[i] = lab;
        if (o->pass == 1) {
            for (int j = 1; j < k; j++)
                unite(o, lab, nb[j]);
            uint32_t r = gd_rowlabel_find(o->parent, lab);
            if (score[i] > o->peak[r])
                o->peak[r] = score[i];
            o->px[r]++;
        } else if (!o->keep[o->parent[lab]]) {
            classes[i] = 0;
        }
    }
    uint32_t *t = o->prev;
    o->prev = o->cur;
    o->cur = t;
    o->first_row = 0;
    return 0;
}

int gd_k_objects_scan(gd_k_objects *o, const uint8_t *classes, const float *score, int rows)
{
    if (!o || o->pass != 1)
        return -1;
    for (int r = 0; r < rows; r++) {
        size_t off = (size_t)r * (size_t)o->w;
        if (do_row(o, score + off, NULL, classes + off) != 0)
            return -1;
    }
    return 0;
}

int gd_k_objects_label(gd_k_objects *o, uint8_t *classes, int rows)
{
    if (!o)
        return -1;
    if (o->pass == 1) {
        /* the first labelling call closes the scan: every label points at its root, and
         * each root knows whether its region stays */
        o->keep = malloc((size_t)o->n + 1);
        if (!o->keep)
            return -1;
        memset(&o->counts, 0, sizeof o->counts);
        for (uint32_t a = 1; a <= o->n; a++) {
            o->parent[a] = gd_rowlabel_find(o->parent, a);
            if (o->parent[a] == a) {
                o->keep[a] = (uint8_t)keep_region(o->peak[a], o->px[a], o->seed, o->min_px);
                count_region(&o->counts, o->keep[a], o->px[a]);
            }
        }
        /* the peaks and counts are no longer needed */
        free(o->peak);
        free(o->px);
        o->peak = NULL;
        o->px = NULL;
        o->pass = 2;
        o->n = 0;
        o->first_row = 1;
    }
    for (int r = 0; r < rows; r++) {
        uint8_t *row = classes + (size_t)r * (size_t)o->w;
        if (do_row(o, NULL, row, row) != 0)
            return -1;
    }
    return 0;
}

gd_k_objects_counts gd_k_objects_result(const gd_k_objects *o)
{
    gd_k_objects_counts c = {0};
    return o ? o->counts : c;
}
