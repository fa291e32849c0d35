/* registry.c: the list of methods, one line each; `geodelta methods` lists them in this order. */
#include "geodelta/method.h"

#include <math.h>
#include <string.h>

/* Adding a method: its file under pipeline/methods/ defines gd_method_<name>, and one line
 * here. */
#define GD_METHODS(X) \
    X(ndvi)           \
    X(nbr)            \
    X(ndwi)           \
    X(ndmi)           \
    X(flood)          \
    X(logratio)       \
    X(pcakmeans)      \
    X(irmad)          \
    X(urban)          \
    X(cva)

#define DECLARE(n) extern const gd_method gd_method_##n;
GD_METHODS(DECLARE)
#define ENTRY(n) &gd_method_##n,
static const gd_method *const methods[] = {GD_METHODS(ENTRY)};

const gd_method *gd_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i]->name, name) == 0)
            return methods[i];
    return NULL;
}

const gd_method *gd_method_at(size_t i)
{
    return i < sizeof methods / sizeof methods[0] ? methods[i] : NULL;
}

void gd_method_with_table(const gd_method *m, const gd_class_table *t, gd_method *out)
{
    *out = *m;
    memcpy(out->class_names, t->class_names, sizeof out->class_names);
    memcpy(out->class_rgb, t->class_rgb, sizeof out->class_rgb);
}

int gd_class_table_range(const gd_class_table *t, int c, double *lo, double *hi)
{
    for (int k = 0; k <= t->nbreaks; k++)
        if (t->values[k] == c) {
            *lo = k > 0 ? (double)t->breaks[k - 1] : -INFINITY;
            *hi = k < t->nbreaks ? (double)t->breaks[k] : INFINITY;
            return 0;
        }
    return -1;
}
