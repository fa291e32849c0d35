/* kernels_bench.c: kernel throughput in GB/s next to memcpy GB/s, in the same process.
 * GB/s counts the bytes a kernel must read plus write (memcpy: read + write), one thread,
 * buffers far larger than the caches. One ISA per process: measured in one process after
 * another ISA's variants, the AVX-512 ones ran several times slower on this machine.
 * usage: gd_bench_kernels [scalar|avx2|avx512] [MEGA_ELEMENTS] */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gd_kernels.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t rng = 2463534242u;
static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (float)(rng >> 8) / 16777216.0f;
}

enum { REPS = 7 };
static float *in[8], *out;
static uint8_t *cls;
static size_t n;
static uint64_t bins[4096];
static volatile float sink;

typedef void (*run_fn)(const gd_kernel_table *t);

static void r_memcpy(const gd_kernel_table *t) { (void)t; memcpy(out, in[0], n * sizeof(float)); }
static void r_ndiff(const gd_kernel_table *t) { t->ndiff_delta(in[0], in[1], in[2], in[3], 1.0f, out, n); }
static void r_logratio(const gd_kernel_table *t) { t->logratio(in[0], in[1], 1e-6f, out, n); }
static void r_cva(const gd_kernel_table *t)
{
    const float *b[4] = {in[0], in[1], in[2], in[3]}, *a[4] = {in[4], in[5], in[6], in[7]};
    const float w[4] = {1.0f, 0.5f, 2.0f, 1.0f};
    t->cva(b, a, w, 4, out, n);
}
static void r_minmax(const gd_kernel_table *t)
{
    float lo = INFINITY, hi = -INFINITY;
    t->minmax(in[0], n, &lo, &hi);
    sink = lo + hi;
}
static void r_hist(const gd_kernel_table *t) { t->hist_accumulate(in[0], n, 1, 0.0, 1.0, bins, 4096); }
static void r_classify(const gd_kernel_table *t) { t->classify(in[0], n, 0.3f, 1, cls); }

static double best(run_fn f, const gd_kernel_table *t)
{
    double b = 1e30;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        f(t);
        double dt = now() - t0;
        if (dt < b)
            b = dt;
    }
    return b;
}

int main(int argc, char **argv)
{
    static const char *isa_names[] = {"scalar", "avx2", "avx512"};
    int isa = -1;
    for (int k = 0; k < 3; k++)
        if (argc > 1 && strcmp(argv[1], isa_names[k]) == 0)
            isa = k;
    const gd_kernel_table *t = isa >= 0 ? gd_kernels_table((gd_isa)isa) : NULL;
    if (!t) {
        fprintf(stderr, "usage: gd_bench_kernels scalar|avx2|avx512 [MEGA_ELEMENTS] (ISA this CPU has)\n");
        return 1;
    }
    n = (size_t)((argc > 2 ? atof(argv[2]) : 16.0) * 1048576.0);
    for (int k = 0; k < 8; k++) {
        in[k] = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            in[k][i] = (i % 97 == 0) ? NAN : 0.02f + rnd();
    }
    out = malloc(n * sizeof(float));
    cls = malloc(n);
    memset(out, 0, n * sizeof(float));
    memset(cls, 0, n);
    const struct {
        const char *name;
        run_fn f;
        double bytes; /* per element, read + written */
    } ks[] = {{"ndiff_delta", r_ndiff, 20}, {"logratio", r_logratio, 12}, {"cva_4bands", r_cva, 36},
              {"minmax", r_minmax, 4},      {"hist_accumulate", r_hist, 4}, {"classify", r_classify, 5}};
    double mc = (double)n * 8 / best(r_memcpy, NULL) / 1e9;
    /* one line per kernel: name isa GB/s percent-of-memcpy memcpy-GB/s */
    for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
        double gbs = (double)n * ks[k].bytes / best(ks[k].f, t) / 1e9;
        printf("%s %s %.2f %.0f %.2f\n", ks[k].name, isa_names[isa], gbs, 100.0 * gbs / mc, mc);
    }
    return 0;
}
