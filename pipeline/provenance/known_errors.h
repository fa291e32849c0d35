/* known_errors.h: the manifest's known-error table, generated at build time from
 * docs/accuracy.csv (the one source of the accuracy figures) by gd_accuracy_gen. */
#ifndef GD_PROVENANCE_KNOWN_ERRORS_H
#define GD_PROVENANCE_KNOWN_ERRORS_H

#include <stddef.h>

struct gd_known_error {
    const char *method, *dataset;
    double pcc, kappa, f1;
};

/* the rows of docs/accuracy.csv with a manifest_dataset, in the file's order */
extern const struct gd_known_error gd_known_errors[];
extern const size_t gd_known_errors_count;

#endif
