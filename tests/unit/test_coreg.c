/* test_coreg.c: coreg stage: a known global shift and a known affine shift field are
 * recovered (0.05 px) and removed by the warped VRT; unrelated images are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cpl_conv.h>
#include <fftw3.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geodelta/coreg.h"

#define TWO_PI 6.283185307179586
#define SIZE 768   /* image side */
#define MARGIN 32  /* texture margin around the image, room for the shifts */
#define TEX (SIZE + 2 * MARGIN)

static uint64_t rng = 0x243f6a8885a308d3u;
static double urand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}
static double grand(void)
{
    return sqrt(-2.0 * log(urand() + 1e-300)) * cos(TWO_PI * urand());
}

/* A smooth random texture (1/f spectrum, Gaussian cut at 0.12 cycles/px so that bicubic
 * interpolation of it is accurate to well under 1 %), unit variance. */
static double *make_texture(void)
{
    const int nc = TEX / 2 + 1;
    fftw_complex *spec = fftw_malloc(sizeof(fftw_complex) * TEX * nc);
    double *img = fftw_malloc(sizeof(double) * TEX * TEX);
    assert_non_null(spec);
    assert_non_null(img);
    fftw_plan plan = fftw_plan_dft_c2r_2d(TEX, TEX, spec, img, FFTW_ESTIMATE);
    for (int k = 0; k < TEX; k++)
        for (int l = 0; l < nc; l++) {
            double fk = (k < TEX / 2 ? k : k - TEX) / (double)TEX, fl = l / (double)TEX;
            double f = hypot(fk, fl);
            double a = (k == 0 && l == 0) ? 0.0 : exp(-(f / 0.12) * (f / 0.12)) / (f + 0.005);
            double ph = TWO_PI * urand();
            spec[k * nc + l][0] = a * cos(ph);
            spec[k * nc + l][1] = a * sin(ph);
        }
    fftw_execute(plan);
    double s2 = 0.0;
    for (int i = 0; i < TEX * TEX; i++)
        s2 += img[i] * img[i];
    double sd = sqrt(s2 / (TEX * TEX));
    for (int i = 0; i < TEX * TEX; i++)
        img[i] /= sd;
    fftw_destroy_plan(plan);
    fftw_free(spec);
    return img;
}

static double keys(double t)
{
    t = fabs(t);
    if (t < 1)
        return (1.5 * t - 2.5) * t * t + 1;
    if (t < 2)
        return ((-0.5 * t + 2.5) * t - 4) * t + 2;
    return 0;
}

/* texture at continuous pixel-centre coordinates (x, y) of the image, bicubic */
static double sample(const double *tex, double x, double y)
{
    x += MARGIN;
    y += MARGIN;
    int x0 = (int)floor(x), y0 = (int)floor(y);
    double v = 0.0;
    for (int j = -1; j <= 2; j++)
        for (int i = -1; i <= 2; i++)
            v += tex[(y0 + j) * TEX + x0 + i] * keys(x - (x0 + i)) * keys(y - (y0 + j));
    return v;
}

typedef void (*field_fn)(double x, double y, double *dx, double *dy);

/* /vsimem GTiff with the image of the texture displaced by field (NULL: none) */
static GDALDatasetH make_image(const char *name, const double *tex, field_fn field, double noise)
{
    char path[128];
    snprintf(path, sizeof path, "/vsimem/%s.tif", name);
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, SIZE, SIZE, 1,
                                 GDT_Float32, NULL);
    assert_non_null(ds);
    double gt[6] = {500000, 10, 0, 5800000, 0, -10};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(s, 32633);
    GDALSetSpatialRef(ds, s);
    OSRDestroySpatialReference(s);
    float *row = malloc(sizeof(float) * SIZE);
    for (int y = 0; y < SIZE; y++) {
        for (int x = 0; x < SIZE; x++) {
            double dx = 0, dy = 0;
            if (field)
                field(x + 0.5, y + 0.5, &dx, &dy);
            /* content displaced by d: the value at p is the scene at p - d */
            row[x] = (float)(sample(tex, x - dx, y - dy) + noise * grand());
        }
        assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, y, SIZE, 1, row,
                                      SIZE, 1, GDT_Float32, 0, 0), CE_None);
    }
    free(row);
    return ds;
}

/* RMS difference of band 1 of a and b over the interior (away from edge nodata) */
static double rms_diff(GDALDatasetH a, GDALDatasetH b)
{
    const int m = 48, n = SIZE - 2 * m;
    float *fa = malloc(sizeof(float) * n * n), *fb = malloc(sizeof(float) * n * n);
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(a, 1), GF_Read, m, m, n, n, fa, n, n,
                                  GDT_Float32, 0, 0), CE_None);
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(b, 1), GF_Read, m, m, n, n, fb, n, n,
                                  GDT_Float32, 0, 0), CE_None);
    double s = 0.0;
    for (int i = 0; i < n * n; i++) {
        assert_true(isfinite(fa[i]) && isfinite(fb[i]));
        s += (fa[i] - fb[i]) * (fa[i] - fb[i]);
    }
    free(fa);
    free(fb);
    return sqrt(s / (n * n));
}

static double *tex;

static void global_field(double x, double y, double *dx, double *dy)
{
    (void)x;
    (void)y;
    *dx = 3.4;
    *dy = -2.15;
}

/* about 1.5 px of variation across the image, like a small rotation and scale error */
static void affine_field(double x, double y, double *dx, double *dy)
{
    *dx = 0.8 + 0.0012 * x - 0.0008 * y;
    *dy = -0.6 + 0.0009 * x + 0.0010 * y;
}

static void global_shift(void **state)
{
    (void)state;
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    GDALDatasetH ref = make_image("g_ref", tex, NULL, 0.05);
    GDALDatasetH tgt = make_image("g_tgt", tex, global_field, 0.05);
    gd_coreg_params p;
    gd_coreg_params_init(&p);
    gd_coreg_result r;
    assert_int_equal(gd_coreg_estimate(job, ref, tgt, &p, &r), GD_OK);
    print_message("global: found (%.3f, %.3f) px for (3.4, -2.15), map (%.2f, %.2f), "
                  "reliability %.1f %%\n", r.dx, r.dy, r.dx_map, r.dy_map, r.reliability);
    assert_true(fabs(r.dx - 3.4) <= 0.05 && fabs(r.dy + 2.15) <= 0.05);
    assert_true(fabs(r.dx_map - 10 * r.dx) < 1e-9 && fabs(r.dy_map + 10 * r.dy) < 1e-9);
    assert_true(r.reliability > 80);

    GDALDatasetH fixed = NULL;
    assert_int_equal(gd_coreg_apply(job, ref, tgt, &r, &fixed), GD_OK);
    assert_int_equal(GDALGetRasterDataType(GDALGetRasterBand(fixed, 1)), GDT_Float32);
    double before = rms_diff(ref, tgt), after = rms_diff(ref, fixed);
    print_message("global: RMS difference to the reference %.3f before, %.3f after\n", before,
                  after);
    /* the floor is the noise of the two images, sqrt(2) * 0.05 */
    assert_true(before > 0.5 && after < 0.08);
    GDALClose(fixed);
    gd_coreg_result_free(&r);
    GDALClose(tgt);
    GDALClose(ref);
    gd_job_destroy(job);
}

static void local_field(void **state)
{
    (void)state;
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    gd_job_set_threads(job, 2);
    GDALDatasetH ref = make_image("l_ref", tex, NULL, 0.05);
    GDALDatasetH tgt = make_image("l_tgt", tex, affine_field, 0.05);
    gd_coreg_params p;
    gd_coreg_params_init(&p);
    p.mode = GD_COREG_LOCAL;
    p.grid = 128;
    gd_coreg_result r;
    assert_int_equal(gd_coreg_estimate(job, ref, tgt, &p, &r), GD_OK);
    /* the fitted field against the true one over the image */
    double se = 0.0, worst = 0.0;
    int cnt = 0;
    for (double y = 0; y <= SIZE; y += SIZE / 8.0)
        for (double x = 0; x <= SIZE; x += SIZE / 8.0) {
            double tx, ty;
            affine_field(x, y, &tx, &ty);
            double ex = r.affine[0] + r.affine[1] * x + r.affine[2] * y - tx;
            double ey = r.affine[3] + r.affine[4] * x + r.affine[5] * y - ty;
            se += ex * ex + ey * ey;
            worst = fmax(worst, hypot(ex, ey));
            cnt++;
        }
    double rmse = sqrt(se / cnt);
    print_message("local: %zu tie points, %zu used, fit residual %.3f px; field RMSE %.4f px, "
                  "worst %.4f px\n", r.npoints, r.nused, r.rmse_px, rmse, worst);
    assert_true(r.nused >= r.npoints * 3 / 4);
    assert_true(rmse <= 0.05);

    GDALDatasetH fixed = NULL;
    assert_int_equal(gd_coreg_apply(job, ref, tgt, &r, &fixed), GD_OK);
    double before = rms_diff(ref, tgt), after = rms_diff(ref, fixed);
    print_message("local: RMS difference to the reference %.3f before, %.3f after\n", before,
                  after);
    assert_true(before > 0.15 && after < 0.08);
    GDALClose(fixed);
    gd_coreg_result_free(&r);
    GDALClose(tgt);
    GDALClose(ref);
    gd_job_destroy(job);
}

static void unrelated_refused(void **state)
{
    (void)state;
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    GDALDatasetH ref = make_image("u_ref", tex, NULL, 0.05);
    double *other = make_texture();
    GDALDatasetH tgt = make_image("u_tgt", other, NULL, 0.05);
    gd_coreg_params p;
    gd_coreg_params_init(&p);
    gd_coreg_result r;
    assert_int_equal(gd_coreg_estimate(job, ref, tgt, &p, &r), GD_EINPUT);
    print_message("unrelated: %s\n", gd_job_message(job));
    assert_non_null(strstr(gd_job_message(job), "reliability"));
    gd_coreg_result_free(&r);
    gd_coreg_result_free(NULL);
    fftw_free(other);
    GDALClose(tgt);
    GDALClose(ref);
    gd_job_destroy(job);
}

int main(void)
{
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);
    tex = make_texture();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(global_shift),
        cmocka_unit_test(local_field),
        cmocka_unit_test(unrelated_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fftw_free(tex);
    GDALDestroyDriverManager();
    return rc;
}
