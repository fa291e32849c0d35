/* test_rng.h: the unit tests' deterministic random numbers (a 32-bit LCG), so that a
 * failing case can be replayed from its seed. Header-only: each test program has one. */
#ifndef GD_TEST_RNG_H
#define GD_TEST_RNG_H

#include <stdint.h>

static uint32_t lcg_state;

static inline void lcg_seed(uint32_t s) { lcg_state = s; }

static inline double lcg_uniform(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (double)(lcg_state >> 8) / 16777216.0;
}

/* Irwin-Hall approximation of a standard normal */
static inline double lcg_gauss(void)
{
    double s = 0.0;
    for (int i = 0; i < 12; i++)
        s += lcg_uniform();
    return s - 6.0;
}

#endif
