/* fuzz_numbers.c: fuzz target for gd_cli_parse_int / gd_cli_parse_double, the strict
 * number parsers behind --mmu-ha, --map-width and friends. Oracle: a value accepted
 * is within [lo, hi] (and finite for doubles); a rejected call leaves *out alone. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[256];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    static const long ilim[][2] = {{64, 20000}, {0, 1}, {-1000000, 1000000}, {1, 64}};
    for (size_t i = 0; i < sizeof ilim / sizeof ilim[0]; i++) {
        long v = 12345678;
        int r = gd_cli_parse_int(s, ilim[i][0], ilim[i][1], &v);
        if (r == 0 && (v < ilim[i][0] || v > ilim[i][1]))
            abort();
        if (r != 0 && v != 12345678)
            abort();
    }
    static const double dlim[][2] = {{0.0, 1e9}, {-1.0, 1.0}, {0.0, 0.0}};
    for (size_t i = 0; i < sizeof dlim / sizeof dlim[0]; i++) {
        double v = -42.5;
        int r = gd_cli_parse_double(s, dlim[i][0], dlim[i][1], &v);
        if (r == 0 && (!isfinite(v) || v < dlim[i][0] || v > dlim[i][1]))
            abort();
        if (r != 0 && v != -42.5)
            abort();
    }
    return 0;
}
