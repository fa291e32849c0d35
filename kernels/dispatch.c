/* dispatch.c: chooses the kernel ISA once from CPU features or GEODELTA_ISA. */
#include "kernels_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GD_TABLE(sfx)                                                                        \
    {gd_k_ndiff_delta_##sfx, gd_k_logratio_##sfx,        gd_k_cva_##sfx,                     \
     gd_k_minmax_##sfx,      gd_k_hist_accumulate_##sfx, gd_k_classify_##sfx,                \
     gd_k_colsum_add_##sfx,  gd_k_u16_to_unit_##sfx,     gd_k_unit_to_u16_##sfx,             \
     gd_k_rlee_ring_##sfx,   gd_k_rlee_row_##sfx,        gd_k_flicm_terms_##sfx,            \
     gd_k_flicm_row_##sfx}

static const gd_kernel_table tables[] = {
    GD_TABLE(scalar),
#ifdef GD_HAVE_X86_SIMD
    GD_TABLE(avx2),
    GD_TABLE(avx512),
#endif
};

/* the only globals of the program: written once under pthread_once, read-only after */
static gd_isa chosen = GD_ISA_SCALAR;
static const gd_kernel_table *active = &tables[0];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static gd_isa detect_isa(void)
{
#if defined(GD_HAVE_X86_SIMD) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return GD_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return GD_ISA_AVX2;
#endif
    return GD_ISA_SCALAR;
}

static void choose(void)
{
    gd_isa best = detect_isa();
    const char *env = getenv("GEODELTA_ISA");
    gd_isa want = best;
    if (env && strcmp(env, "scalar") == 0)
        want = GD_ISA_SCALAR;
    else if (env && strcmp(env, "avx2") == 0)
        want = GD_ISA_AVX2;
    else if (env && strcmp(env, "avx512") == 0)
        want = GD_ISA_AVX512;
    /* never run an ISA the CPU lacks, whatever the environment asks */
    chosen = want > best ? best : want;
    active = &tables[chosen];
}

void gd_kernels_init(void)
{
    pthread_once(&once, choose);
}

gd_isa gd_kernels_isa(void)
{
    gd_kernels_init();
    return chosen;
}

const char *gd_kernels_isa_name(void)
{
    static const char *names[] = {"scalar", "avx2", "avx512"};
    return names[gd_kernels_isa()];
}

const gd_kernel_table *gd_kernels_table(gd_isa isa)
{
    if ((int)isa < 0 || (int)isa > (int)detect_isa())
        return NULL;
    return &tables[isa];
}

static inline const gd_kernel_table *table(void)
{
    gd_kernels_init();
    return active;
}

void gd_k_ndiff_delta(const float *restrict b_x, const float *restrict b_y,
                      const float *restrict a_x, const float *restrict a_y, float sign,
                      float *restrict out, size_t n)
{
    table()->ndiff_delta(b_x, b_y, a_x, a_y, sign, out, n);
}

void gd_k_logratio(const float *restrict before, const float *restrict after, float eps,
                   float *restrict out, size_t n)
{
    table()->logratio(before, after, eps, out, n);
}

void gd_k_cva(const float *const *before, const float *const *after, const float *w,
              size_t nbands, float *restrict out, size_t n)
{
    table()->cva(before, after, w, nbands, out, n);
}

size_t gd_k_minmax(const float *restrict in, size_t n, float *mn, float *mx)
{
    return table()->minmax(in, n, mn, mx);
}

void gd_k_hist_accumulate(const float *restrict in, size_t n, int absval, double lo,
                          double hi, uint64_t *restrict bins, size_t nbins)
{
    table()->hist_accumulate(in, n, absval, lo, hi, bins, nbins);
}

void gd_k_classify(const float *restrict score, size_t n, float t, int two_sided,
                   uint8_t *restrict out)
{
    table()->classify(score, n, t, two_sided, out);
}

void gd_k_colsum_add(const float *restrict row, size_t n, int has_nd, float nd,
                     double *restrict sum, uint32_t *restrict cnt)
{
    table()->colsum_add(row, n, has_nd, nd, sum, cnt);
}

void gd_k_u16_to_unit(const uint16_t *restrict src, size_t n, float *restrict dst)
{
    table()->u16_to_unit(src, n, dst);
}

void gd_k_unit_to_u16(const float *restrict src, size_t n, uint16_t *restrict dst)
{
    table()->unit_to_u16(src, n, dst);
}
