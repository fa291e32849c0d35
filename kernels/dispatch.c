/* dispatch.c: chooses the kernel ISA once from CPU features or GEODELTA_ISA. */
#include "gd_kernels.h"

#include <stdlib.h>
#include <string.h>

static gd_isa chosen = GD_ISA_SCALAR;
static int initialised;

static gd_isa detect_isa(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return GD_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return GD_ISA_AVX2;
#endif
    return GD_ISA_SCALAR;
}

void gd_kernels_init(void)
{
    if (initialised)
        return;
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
    /* only the scalar variants exist so far: the ISA is reported as what runs */
    chosen = GD_ISA_SCALAR;
    initialised = 1;
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
