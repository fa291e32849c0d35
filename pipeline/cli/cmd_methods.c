/* cmd_methods.c: `geodelta methods`: the methods and the bands each needs. */
#include "cli.h"

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
        char bands[64];
        if (m->kind == GD_KIND_NDIFF)
            snprintf(bands, sizeof bands, "%s, %s", m->roles[0], m->roles[1]);
        else if (m->kind == GD_KIND_LOGRATIO)
            snprintf(bands, sizeof bands, "sar (or 1)");
        else
            snprintf(bands, sizeof bands, "all common");
        printf("%-9s %-14s 1 = %s%s%s\n", m->name, bands, m->class_names[1],
               m->class_names[2] ? ", 2 = " : "", m->class_names[2] ? m->class_names[2] : "");
        printf("%-9s %-14s %s\n", "", "", m->summary);
    }
    return 0;
}
