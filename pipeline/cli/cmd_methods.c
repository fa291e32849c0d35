/* cmd_methods.c: `geodelta methods`: the methods and the bands each needs. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "geodelta/stages.h"

int gd_cmd_methods(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: geodelta methods\n\nLists the change-detection methods, the band "
               "roles each needs and its classes.\n");
        return 0;
    }
    printf("%-9s %-14s %s\n", "method", "bands", "classes / description");
    for (size_t i = 0; gd_method_at(i); i++) {
        const gd_method *m = gd_method_at(i);
        printf("%-9s %-14s %s1 = %s%s%s\n", m->name, m->bands,
               m->table ? "with -t or --nbr-classes binary: " : "", m->class_names[1],
               m->class_names[2] ? ", 2 = " : "", m->class_names[2] ? m->class_names[2] : "");
        if (m->table) {
            /* the default classes of this method: fixed breaks on the score */
            printf("%-9s %-14s default --%s-classes %s:\n", "", "", m->name, m->table->name);
            for (int c = 0; c < GD_MAX_CLASSES; c++) {
                double lo, hi;
                if (!m->table->class_names[c] || gd_class_table_range(m->table, c, &lo, &hi))
                    continue;
                char range[64];
                if (isinf(lo))
                    snprintf(range, sizeof range, "score < %g", hi);
                else if (isinf(hi))
                    snprintf(range, sizeof range, "score >= %g", lo);
                else
                    snprintf(range, sizeof range, "%g <= score < %g", lo, hi);
                printf("%-9s %-14s   %d = %s (%s)\n", "", "", c, m->table->class_names[c], range);
            }
        }
        printf("%-9s %-14s %s\n", "", "", m->summary);
    }
    return 0;
}
