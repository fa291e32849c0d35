/* parse.c: strict parsing of numbers given on the command line (also fuzzed alone). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>

int gd_cli_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int gd_cli_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !end || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}
