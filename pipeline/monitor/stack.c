/* stack.c: the dated image lists of `geodelta monitor` (LIST files), and date helpers. */
#include "geodelta/monitor.h"
#include "geodelta/util.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int32_t gd_monitor_parse_date(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && leap(y)))
        return 0;
    return (int32_t)(y * 10000 + m * 100 + d);
}

long gd_monitor_days(int32_t ymd)
{
    /* days from civil (H. Hinnant's algorithm): exact for every Gregorian date */
    long y = ymd / 10000, m = (ymd / 100) % 100, d = ymd % 100;
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void gd_stack_destroy(gd_stack *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        free(s->items[i].path);
    free(s->items);
    free(s->list);
    free(s);
}

int gd_stack_read(gd_job *job, const char *list, gd_stack **out)
{
    *out = NULL;
    FILE *f = fopen(list, "r");
    if (!f)
        return gd_job_error(job, GD_EINPUT, "stack list %s: %s", list, strerror(errno));
    gd_stack *s = calloc(1, sizeof *s);
    char *copy = strdup(list), *line = NULL;
    size_t cap = 0, alloc = 0;
    int st = GD_OK, ln = 0;
    if (!s || !copy) {
        st = gd_job_error(job, GD_EPROC, "out of memory");
        goto done;
    }
    s->list = strdup(list);
    const char *dir = dirname(copy);
    while (getline(&line, &cap, f) > 0) {
        ln++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1]))
            p[--len] = '\0';
        if (!*p || *p == '#')
            continue;
        char date[16] = "";
        size_t k = 0;
        while (p[k] && !isspace((unsigned char)p[k]) && k < sizeof date - 1) {
            date[k] = p[k];
            k++;
        }
        date[k] = '\0';
        char *path = p + k;
        while (isspace((unsigned char)*path))
            path++;
        int32_t d = gd_monitor_parse_date(date);
        if (!d || !*path) {
            st = gd_job_error(job, GD_EINPUT, "stack list %s line %d: expected 'YYYY-MM-DD PATH', "
                              "got '%.80s'", list, ln, p);
            goto done;
        }
        if (s->n && d <= s->items[s->n - 1].date) {
            st = gd_job_error(job, GD_EINPUT, "stack list %s line %d: date %s %s line %d's; "
                              "list the dates once each, in increasing order", list, ln, date,
                              d == s->items[s->n - 1].date ? "repeats" : "comes before",
                              s->items[s->n - 1].line);
            goto done;
        }
        char full[4096];
        if (path[0] == '/' || strncmp(path, "/vsi", 4) == 0)
            snprintf(full, sizeof full, "%s", path);
        else
            gd_path_join(full, sizeof full, dir, path);
        if (strncmp(full, "/vsi", 4) != 0 && access(full, R_OK) != 0) {
            st = gd_job_error(job, GD_EINPUT, "stack list %s line %d: image %s: %s", list, ln,
                              full, strerror(errno));
            goto done;
        }
        if ((size_t)s->n == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            gd_stack_item *ni = realloc(s->items, alloc * sizeof *ni);
            if (!ni) {
                st = gd_job_error(job, GD_EPROC, "out of memory");
                goto done;
            }
            s->items = ni;
        }
        s->items[s->n].date = d;
        s->items[s->n].line = ln;
        s->items[s->n].path = strdup(full);
        s->n++;
    }
    if (s->n == 0)
        st = gd_job_error(job, GD_EINPUT, "stack list %s lists no image", list);
done:
    fclose(f);
    free(line);
    free(copy);
    if (st != GD_OK)
        gd_stack_destroy(s);
    else
        *out = s;
    return st;
}

double gd_monitor_norm_quantile(double p)
{
    /* Acklam's rational approximation (relative error 1.15e-9), then one Newton step on
     * erfc: the thresholds are recorded, so they should be the exact quantile */
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    double x, q, r;
    if (p <= 0)
        return -INFINITY;
    if (p >= 1)
        return INFINITY;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
        q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double e = 0.5 * erfc(-x / sqrt(2)) - p;
    double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}
