/* known_errors.h: the manifest's known-error table, generated at build time from
 * docs/accuracy.csv (the one source of the accuracy figures) by gd_accuracy_gen. */
#ifndef GD_PROVENANCE_KNOWN_ERRORS_H
#define GD_PROVENANCE_KNOWN_ERRORS_H

#include <stddef.h>

struct gd_known_error {
    const char *method, *dataset;
    double pcc, kappa, f1;
    /* 95 % spatial block-bootstrap interval of pcc, kappa, f1 (tests/accuracy/intervals.sh)
     * over ci_block x ci_block px blocks, ci_resamples resamples */
    double lo[3], hi[3];
    int ci_block, ci_resamples;
    /* leave-one-dataset-out figures of a default chosen by a sweep on the benchmarks; NAN
     * when the row's setting was not chosen that way */
    double loo_kappa, loo_f1;
};

/* the rows of docs/accuracy.csv with a manifest_dataset, in the file's order */
extern const struct gd_known_error gd_known_errors[];
extern const size_t gd_known_errors_count;

#endif
