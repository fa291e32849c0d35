/* ts_internal.h: special functions shared by the time-series kernels (not public). */
#ifndef GD_TS_INTERNAL_H
#define GD_TS_INTERNAL_H

/* I_x(a, b) or its complement (upper != 0); y = 1 - x given separately for precision. */
double gd_ts_ibeta(double a, double b, double x, double y, int upper);
/* Regularised upper incomplete gamma Q(a, x). */
double gd_ts_gamma_q(double a, double x);

#endif
