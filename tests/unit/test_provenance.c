/* test_provenance.c: SHA-256 (files, /vsimem, buffers), the background hasher, run ids,
 * known error rates, Ed25519 keygen/sign/verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cpl_vsi.h>
#include <gdal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geodelta/detect.h"
#include "geodelta/provenance.h"
#include "geodelta/util.h"

/* FIPS 180-2 test vector */
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static char dir[256];

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    gd_job *job = NULL;
    char hex[65], p[512];
    uint64_t size = 0;
    assert_int_equal(gd_job_create(&job), GD_OK);
    assert_int_equal(gd_sha256_buf("abc", 3, hex), GD_OK);
    assert_string_equal(hex, ABC_SHA256);
    path_in(p, sizeof p, "abc.txt");
    write_file(p, "abc", 3);
    assert_int_equal(gd_sha256_file(job, p, hex, &size), GD_OK);
    assert_string_equal(hex, ABC_SHA256);
    assert_int_equal(size, 3);
    /* the same bytes through GDAL's virtual file layer */
    VSILFILE *vf = VSIFOpenL("/vsimem/abc.bin", "wb");
    assert_non_null(vf);
    assert_int_equal(VSIFWriteL("abc", 1, 3, vf), 3);
    VSIFCloseL(vf);
    assert_int_equal(gd_sha256_file(job, "/vsimem/abc.bin", hex, &size), GD_OK);
    assert_string_equal(hex, ABC_SHA256);
    VSIUnlink("/vsimem/abc.bin");
    assert_int_equal(gd_sha256_file(job, "/vsimem/none.bin", hex, &size), GD_EINPUT);
    gd_job_destroy(job);
}

static void test_hasher(void **state)
{
    (void)state;
    gd_job *job = NULL;
    gd_hasher *h = NULL;
    char a[512], b[512], want[65];
    /* bigger than one 64 KiB block, odd length */
    size_t n = 200001;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 31 + 7);
    path_in(a, sizeof a, "big.bin");
    path_in(b, sizeof b, "abc.txt");
    write_file(a, big, n);
    write_file(b, "abc", 3);
    assert_int_equal(gd_sha256_buf(big, n, want), GD_OK);
    assert_int_equal(gd_job_create(&job), GD_OK);
    const char *paths[2] = {a, b};
    assert_int_equal(gd_hasher_start(job, paths, 2, &h), GD_OK);
    assert_int_equal(gd_hasher_join(job, h), GD_OK);
    assert_string_equal(gd_hasher_hex(h, 0), want);
    assert_string_equal(gd_hasher_hex(h, 1), ABC_SHA256);
    assert_int_equal(gd_hasher_size(h, 0), n);
    gd_hasher_destroy(h);
    /* a missing file is reported at join, naming it */
    char missing[512];
    path_in(missing, sizeof missing, "missing.bin");
    const char *bad[2] = {a, missing};
    assert_int_equal(gd_hasher_start(job, bad, 2, &h), GD_OK);
    assert_int_equal(gd_hasher_join(job, h), GD_EINPUT);
    assert_non_null(strstr(gd_job_message(job), "missing.bin"));
    assert_null(gd_hasher_hex(h, 0));
    gd_hasher_destroy(h);
    /* destroying without join cancels and joins (no leak, no crash) */
    gd_hasher_destroy(NULL);
    assert_int_equal(gd_hasher_start(job, paths, 2, &h), GD_OK);
    gd_hasher_destroy(h);
    /* a hold: the thread stops after a block; join ends the hold (no deadlock) and the
     * hashes are whole; destroy while held cancels and returns */
    gd_hasher_hold(NULL, 1);
    assert_int_equal(gd_hasher_start(job, paths, 2, &h), GD_OK);
    gd_hasher_hold(h, 1);
    gd_hasher_hold(h, 0);
    gd_hasher_hold(h, 1);
    assert_int_equal(gd_hasher_join(job, h), GD_OK);
    assert_string_equal(gd_hasher_hex(h, 0), want);
    assert_string_equal(gd_hasher_hex(h, 1), ABC_SHA256);
    gd_hasher_destroy(h);
    assert_int_equal(gd_hasher_start(job, paths, 2, &h), GD_OK);
    gd_hasher_hold(h, 1);
    gd_hasher_destroy(h);
    gd_job_destroy(job);
    free(big);
}

static void test_run_id(void **state)
{
    (void)state;
    gd_job *job = NULL;
    char id1[65], id2[65], id3[65], id4[65];
    const char *hx[2] = {ABC_SHA256,
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    assert_int_equal(gd_job_create(&job), GD_OK);
    json_t *p1 = json_pack("{s:s, s:f, s:s}", "method", "ndvi", "mmu_ha", 0.1, "threshold", "otsu");
    /* same content, other key order, plus settings that do not change the result */
    json_t *p2 = json_pack("{s:s, s:s, s:f, s:i, s:b, s:s}", "threshold", "otsu", "method",
                           "ndvi", "mmu_ha", 0.1, "threads", 8, "quiet", 1, "outdir", "/x");
    json_t *p3 = json_pack("{s:s, s:f, s:s}", "method", "ndvi", "mmu_ha", 0.2, "threshold", "otsu");
    assert_int_equal(gd_run_id(job, hx, 2, p1, id1), GD_OK);
    assert_int_equal(gd_run_id(job, hx, 2, p2, id2), GD_OK);
    assert_int_equal(gd_run_id(job, hx, 2, p3, id3), GD_OK);
    assert_int_equal(strlen(id1), 64);
    assert_string_equal(id1, id2);
    assert_string_not_equal(id1, id3);
    /* the inputs' order (before/after) matters */
    const char *swapped[2] = {hx[1], hx[0]};
    assert_int_equal(gd_run_id(job, swapped, 2, p1, id4), GD_OK);
    assert_string_not_equal(id1, id4);
    /* the caller's parameters are left alone */
    assert_non_null(json_object_get(p2, "threads"));
    json_decref(p1);
    json_decref(p2);
    json_decref(p3);
    gd_job_destroy(job);
}

static void test_aux_inputs(void **state)
{
    (void)state;
    gd_job *job = NULL;
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_detect_params p;
    gd_detect_params_init(&p);
    gd_aux_inputs aux;
    /* none given: nothing to hash, the run id's inputs stay the two images */
    assert_int_equal(gd_aux_collect(job, &p, &aux), GD_OK);
    assert_int_equal(aux.n, 0);
    gd_aux_free(&aux);
    /* a fixed role order whatever the options' order; the overlay only with a map */
    p.summary.zones = "/vsimem/z.geojson";
    p.map.overlay = "/vsimem/o.geojson";
    p.flood.dem = "/vsimem/dem.tif";
    p.in.mask_after = "/vsimem/m.tif";
    p.map.aoi = "/vsimem/aoi.geojson";
    assert_int_equal(gd_aux_collect(job, &p, &aux), GD_OK);
    assert_int_equal(aux.n, 5);
    assert_string_equal(aux.role[0], "dem");
    assert_string_equal(aux.role[1], "mask_after");
    assert_string_equal(aux.role[2], "zones");
    assert_string_equal(aux.role[3], "map_overlay");
    assert_string_equal(aux.role[4], "map_aoi");
    assert_string_equal(aux.path[0], "/vsimem/dem.tif");
    gd_aux_free(&aux);
    p.map.off = 1;
    assert_int_equal(gd_aux_collect(job, &p, &aux), GD_OK);
    assert_int_equal(aux.n, 3);
    gd_aux_free(&aux);
    /* the role is part of the id entry: the same file as DEM or as mask differs */
    char a[GD_AUX_ID_LEN], b[GD_AUX_ID_LEN];
    gd_aux_run_id_entry("dem", ABC_SHA256, a);
    gd_aux_run_id_entry("permanent_water", ABC_SHA256, b);
    assert_string_equal(a, "dem:" ABC_SHA256);
    assert_string_not_equal(a, b);
    gd_job_destroy(job);
}

static void test_error_rate(void **state)
{
    (void)state;
    json_t *lr = gd_method_error_rate("logratio", 1), *cva = gd_method_error_rate("cva", 0),
           *ndvi = gd_method_error_rate("ndvi", 1);
    assert_true(json_is_true(json_object_get(lr, "measured")));
    assert_int_equal(json_array_size(json_object_get(lr, "cases")), 5);
    assert_int_equal(json_array_size(json_object_get(cva, "cases")), 12); /* 2 Landsat + 10 OSCD */
    json_t *range = json_object_get(lr, "error_rate_range");
    double lo = json_real_value(json_array_get(range, 0)), hi = json_real_value(json_array_get(range, 1));
    assert_true(lo >= 0.0 && lo <= hi && hi <= 1.0);
    assert_true(json_is_false(json_object_get(ndvi, "measured")));
    /* Bern: PCC 0.9968 in the README table */
    json_t *bern = json_array_get(json_object_get(lr, "cases"), 0);
    assert_float_equal(json_real_value(json_object_get(bern, "error_rate")), 0.0032, 1e-12);
    assert_null(json_object_get(lr, "applies"));
    assert_non_null(json_object_get(cva, "applies"));
    /* every case carries its 95 % interval around its figures (docs/accuracy.csv's
     * pcc_lo..f1_hi, accuracy.floors checks the CSV the same way), and the method that
     * made them; logratio's default was chosen on its five pairs: each case also gives
     * its leave-one-pair-out kappa */
    const char *const metrics[3] = {"pcc", "kappa", "f1"};
    json_t *methods[2] = {lr, cva};
    for (int k = 0; k < 2; k++) {
        json_t *im = json_object_get(methods[k], "interval_method");
        assert_non_null(im);
        assert_int_equal(json_integer_value(json_object_get(im, "block_px")), 32);
        assert_true(json_integer_value(json_object_get(im, "resamples")) >= 1000);
        assert_non_null(json_object_get(methods[k], "spread_across_cases"));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(methods[k], "cases"), i, c) {
            json_t *iv = json_object_get(c, "interval_95");
            assert_non_null(iv);
            for (int m = 0; m < 3; m++) {
                double v = json_real_value(json_object_get(c, metrics[m]));
                json_t *pair = json_object_get(iv, metrics[m]);
                double a = json_real_value(json_array_get(pair, 0)),
                       b = json_real_value(json_array_get(pair, 1));
                assert_true(a <= b);
                assert_true(a - 5e-4 <= v && v <= b + 5e-4);
            }
            if (k == 0)
                assert_non_null(json_object_get(json_object_get(c, "leave_one_out"), "kappa"));
        }
    }
    assert_non_null(json_object_get(lr, "leave_one_out_note"));
    assert_null(json_object_get(cva, "leave_one_out_note"));
    json_decref(lr);
    json_decref(cva);
    json_decref(ndvi);
}

static void test_sign_roundtrip(void **state)
{
    (void)state;
    gd_job *job = NULL;
    gd_signer *s = NULL;
    char prefix[512], priv[512], pub[512], doc[512], sig[512], prefix2[512], pub2[512];
    struct stat sb;
    int ok = -1;
    path_in(prefix, sizeof prefix, "key");
    path_in(priv, sizeof priv, "key.pem");
    path_in(pub, sizeof pub, "key.pub.pem");
    path_in(prefix2, sizeof prefix2, "other");
    path_in(pub2, sizeof pub2, "other.pub.pem");
    path_in(doc, sizeof doc, "doc.json");
    path_in(sig, sizeof sig, "doc.sig");
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    assert_int_equal(gd_keygen(job, prefix), GD_OK);
    assert_int_equal(stat(priv, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* never overwrites a key */
    assert_int_equal(gd_keygen(job, prefix), GD_EOUTPUT);
    gd_job_destroy(job);
    assert_int_equal(gd_job_create(&job), GD_OK);
    gd_job_set_quiet(job, 1);
    assert_int_equal(gd_keygen(job, prefix2), GD_OK);

    write_file(doc, "{\"a\": 1}\n", 9);
    assert_int_equal(gd_signer_create(job, priv, &s), GD_OK);
    assert_int_equal(strlen(gd_signer_fingerprint(s)), 64);
    assert_int_equal(gd_signer_sign_file(job, s, doc, sig), GD_OK);
    assert_int_equal(gd_verify_signature(job, doc, sig, pub, &ok), GD_OK);
    assert_int_equal(ok, 1);
    /* another key does not verify */
    assert_int_equal(gd_verify_signature(job, doc, sig, pub2, &ok), GD_OK);
    assert_int_equal(ok, 0);
    /* one changed byte of the document fails */
    write_file(doc, "{\"a\": 2}\n", 9);
    assert_int_equal(gd_verify_signature(job, doc, sig, pub, &ok), GD_OK);
    assert_int_equal(ok, 0);
    /* a missing signature fails */
    write_file(doc, "{\"a\": 1}\n", 9);
    unlink(sig);
    assert_int_equal(gd_verify_signature(job, doc, sig, pub, &ok), GD_OK);
    assert_int_equal(ok, 0);
    /* a public key is not a signing key; a missing key is a usage error */
    gd_signer *bad = NULL;
    assert_int_equal(gd_signer_create(job, pub, &bad), GD_EUSAGE);
    assert_null(bad);
    gd_signer_destroy(s);
    gd_signer_destroy(NULL);
    gd_job_destroy(job);
}

int main(void)
{
    GDALAllRegister();
    snprintf(dir, sizeof dir, "/tmp/gd_test_provenance.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_hasher),
        cmocka_unit_test(test_run_id),         cmocka_unit_test(test_error_rate),
        cmocka_unit_test(test_sign_roundtrip), cmocka_unit_test(test_aux_inputs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    GDALDestroyDriverManager();
    return rc;
}
