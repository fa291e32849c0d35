/* test_phasecorr.c: phase correlation recovers known integer and sub-pixel shifts of a
 * synthetic texture with noise (RMSE <= 0.05 px), and rates unrelated windows low. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <fftw3.h>

#include "gd_phasecorr.h"

#define TWO_PI 6.283185307179586
#define DOMAIN 512 /* periodic texture domain; windows are cut from its middle */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static double urand(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}
static double grand(void)
{
    return sqrt(-2.0 * log(urand() + 1e-300)) * cos(TWO_PI * urand());
}

/* A broadband random texture defined by its spectrum on a periodic DOMAIN^2 (amplitude
 * falling as 1/f like natural scenes, random phases, Nyquist terms zero): shifting it by
 * any real (dx, dy) is exact, a phase ramp on the spectrum. */
typedef struct {
    double re[DOMAIN][DOMAIN / 2 + 1], im[DOMAIN][DOMAIN / 2 + 1];
} texture;

static void texture_init(texture *t)
{
    for (int k = 0; k < DOMAIN; k++)
        for (int l = 0; l <= DOMAIN / 2; l++) {
            double fk = k < DOMAIN / 2 ? k : k - DOMAIN, f = hypot(fk, l) / DOMAIN;
            double a = (k == DOMAIN / 2 || l == DOMAIN / 2 || (k == 0 && l == 0))
                           ? 0.0 : 1.0 / (f + 0.01);
            double ph = TWO_PI * urand();
            t->re[k][l] = a * cos(ph);
            t->im[k][l] = a * sin(ph);
        }
}

/* out(x, y) = texture(x - dx, y - dy) + noise * N(0, 1) over the central n x n, with the
 * texture scaled to unit standard deviation */
static void render(const texture *t, int n, double dx, double dy, double noise, float *out)
{
    const int nc = DOMAIN / 2 + 1;
    fftw_complex *spec = fftw_malloc(sizeof(fftw_complex) * DOMAIN * nc);
    double *img = fftw_malloc(sizeof(double) * DOMAIN * DOMAIN);
    assert_non_null(spec);
    assert_non_null(img);
    fftw_plan plan = fftw_plan_dft_c2r_2d(DOMAIN, DOMAIN, spec, img, FFTW_ESTIMATE);
    for (int k = 0; k < DOMAIN; k++)
        for (int l = 0; l < nc; l++) {
            double fk = k < DOMAIN / 2 ? k : k - DOMAIN;
            double a = -TWO_PI * (fk * dy + l * dx) / DOMAIN;
            double c = cos(a), s = sin(a);
            spec[k * nc + l][0] = t->re[k][l] * c - t->im[k][l] * s;
            spec[k * nc + l][1] = t->re[k][l] * s + t->im[k][l] * c;
        }
    fftw_execute(plan);
    double s2 = 0.0;
    for (int i = 0; i < DOMAIN * DOMAIN; i++)
        s2 += img[i] * img[i];
    const double sd = sqrt(s2 / (DOMAIN * DOMAIN));
    const int o = (DOMAIN - n) / 2;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            out[(size_t)y * n + x] = (float)(img[(y + o) * DOMAIN + x + o] / sd + noise * grand());
    fftw_destroy_plan(plan);
    fftw_free(spec);
    fftw_free(img);
}

static void known_shifts(void **state)
{
    (void)state;
    const int n = 256;
    gd_pc_plan *plan = NULL;
    gd_pc_work *work = NULL;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(gd_pc_plan_create(n, &plan), 0);
    assert_int_equal(gd_pc_work_create(plan, &work), 0);
    static texture t, u;
    texture_init(&t);
    /* integer and sub-pixel, both signs, up to +-20 px */
    const double shifts[][2] = {{0, 0},       {1, 0},        {0, -1},      {3, -7},
                                {-20, 20},    {20, -13},     {0.5, 0.5},   {-0.5, 0.25},
                                {1.3, -0.7},  {-2.71, 4.09}, {7.77, 0.01}, {-15.35, -19.6},
                                {19.9, 11.1}, {-0.13, 0.87}, {12.5, -12.5}, {-6.62, -3.38}};
    const size_t ns = sizeof shifts / sizeof shifts[0];
    /* noise sd relative to the texture's (1): 0.3 is ~ 10 dB SNR */
    const double noise = 0.3;
    double se = 0.0, worst = 0.0, min_rel = 100.0;
    for (size_t i = 0; i < ns; i++) {
        gd_pc_result r;
        render(&t, n, 0, 0, noise, a);
        render(&t, n, shifts[i][0], shifts[i][1], noise, b);
        assert_int_equal(gd_pc_correlate(plan, work, a, b, 100, &r), 0);
        double ex = r.dx - shifts[i][0], ey = r.dy - shifts[i][1];
        se += ex * ex + ey * ey;
        worst = fmax(worst, hypot(ex, ey));
        min_rel = fmin(min_rel, r.reliability);
        print_message("shift (%7.2f, %7.2f) -> (%8.3f, %8.3f)  peak %.3f  reliability %5.1f %%\n",
                      shifts[i][0], shifts[i][1], r.dx, r.dy, r.peak, r.reliability);
    }
    double rmse = sqrt(se / (double)ns);
    print_message("phase correlation, %dx%d, noise sd %.2f: RMSE %.4f px, worst %.4f px, "
                  "lowest reliability %.1f %%\n", n, n, noise, rmse, worst, min_rel);
    assert_true(rmse <= 0.05);
    assert_true(min_rel > 80.0);

    /* unrelated windows: the peak does not stand out */
    gd_pc_result r;
    texture_init(&u);
    render(&t, n, 0, 0, noise, a);
    render(&u, n, 0, 0, noise, b);
    assert_int_equal(gd_pc_correlate(plan, work, a, b, 100, &r), 0);
    print_message("unrelated windows: reliability %.1f %%\n", r.reliability);
    assert_true(r.reliability < 30.0);

    /* a constant window cannot be matched */
    for (int i = 0; i < n * n; i++)
        b[i] = 5.0f;
    assert_int_equal(gd_pc_correlate(plan, work, a, b, 100, &r), -1);

    gd_pc_work_destroy(work);
    gd_pc_plan_destroy(plan);
    free(a);
    free(b);
}

static void bad_sizes(void **state)
{
    (void)state;
    gd_pc_plan *p = (gd_pc_plan *)1;
    assert_int_equal(gd_pc_plan_create(15, &p), -1);
    assert_null(p);
    assert_int_equal(gd_pc_plan_create(8, &p), -1);
    gd_pc_plan_destroy(NULL);
    gd_pc_work_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_shifts),
        cmocka_unit_test(bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
