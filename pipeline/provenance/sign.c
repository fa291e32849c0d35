/* sign.c: Ed25519 signatures of the manifest and key pairs (OpenSSL EVP). */
#include "geodelta/files.h"
#include "geodelta/provenance.h"
#include "geodelta/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIG_LEN 64    /* Ed25519 */
#define MAX_SIGNED (64u << 20) /* a manifest is kilobytes; refuse to slurp anything huge */

struct gd_signer {
    EVP_PKEY *key;
    char fingerprint[65];
};

static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown OpenSSL error";
}

/* SHA-256 of the DER SubjectPublicKeyInfo of key. */
static int fingerprint(EVP_PKEY *key, char hex[65])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0)
        return GD_EPROC;
    int st = gd_sha256_buf(der, (size_t)n, hex);
    OPENSSL_free(der);
    return st;
}

static int read_all(gd_job *job, const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *data = NULL;
    *len = 0;
    if (!f)
        return gd_job_error(job, GD_EINPUT, "cannot read %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    int st = GD_OK;
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_SIGNED) {
                st = gd_job_error(job, GD_EINPUT, "%s is too large to be a manifest", path);
                break;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                st = gd_job_error(job, GD_EPROC, "out of memory reading %s", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (st == GD_OK && (!buf || ferror(f)))
        st = gd_job_error(job, GD_EINPUT, "cannot read %s", path);
    fclose(f);
    if (st != GD_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *len = n;
    return GD_OK;
}

int gd_signer_create(gd_job *job, const char *key_path, gd_signer **out)
{
    *out = NULL;
    FILE *f = fopen(key_path, "r");
    if (!f)
        return gd_job_error(job, GD_EUSAGE, "--sign-key %s: %s", key_path, strerror(errno));
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key)
        return gd_job_error(job, GD_EUSAGE,
                            "--sign-key %s is not a PEM private key (a public key? "
                            "geodelta keygen makes a pair)", key_path);
    if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        return gd_job_error(job, GD_EUSAGE,
                            "--sign-key %s is not an Ed25519 key (hint: geodelta keygen)",
                            key_path);
    }
    gd_signer *s = calloc(1, sizeof *s);
    if (!s || fingerprint(key, s->fingerprint) != GD_OK) {
        free(s);
        EVP_PKEY_free(key);
        return gd_job_error(job, GD_EPROC, "cannot encode the public key of %s", key_path);
    }
    s->key = key;
    *out = s;
    return GD_OK;
}

void gd_signer_destroy(gd_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    free(s);
}

const char *gd_signer_fingerprint(const gd_signer *s) { return s->fingerprint; }

int gd_signer_sign_file(gd_job *job, const gd_signer *s, const char *file,
                        const char *sig_path)
{
    unsigned char *data = NULL, sig[SIG_LEN];
    size_t len = 0, siglen = sizeof sig;
    char b64[4 * ((SIG_LEN + 2) / 3) + 1], tmp[4096];
    EVP_MD_CTX *ctx = NULL;
    FILE *f = NULL;
    int st = read_all(job, file, &data, &len);
    if (st != GD_OK)
        return st;
    /* Ed25519 is one-shot (PureEdDSA): no digest, the whole message at once */
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->key) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, data, len) != 1 || siglen != SIG_LEN) {
        st = gd_job_error(job, GD_EPROC, "Ed25519 signing of %s failed (%s)", file,
                          ossl_reason());
        goto done;
    }
    EVP_EncodeBlock((unsigned char *)b64, sig, SIG_LEN);
    if ((st = gd_tmp_name(job, sig_path, tmp, sizeof tmp)) != GD_OK)
        goto done;
    f = gd_tmp_fopen(tmp);
    if (!f) {
        st = gd_job_error(job, GD_EOUTPUT, "cannot write %s: %s", tmp, strerror(errno));
        remove(tmp);
        goto done;
    }
    fprintf(f, "%s\n", b64);
    st = gd_commit_stream(job, f, tmp, sig_path);
done:
    EVP_MD_CTX_free(ctx);
    free(data);
    return st;
}

int gd_verify_signature(gd_job *job, const char *file, const char *sig_path,
                        const char *pub_path, int *ok)
{
    unsigned char *data = NULL, *sigtxt = NULL, sig[66];
    size_t len = 0, siglen = 0;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *ctx = NULL;
    int st = GD_OK;
    *ok = 0;
    FILE *f = fopen(pub_path, "r");
    if (!f)
        return gd_job_error(job, GD_EUSAGE, "--pubkey %s: %s", pub_path, strerror(errno));
    key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        st = gd_job_error(job, GD_EUSAGE, "--pubkey %s is not an Ed25519 public key in PEM",
                          pub_path);
        goto done;
    }
    {
        /* a missing signature is a finding, not a failure of the check */
        gd_job *ctx = NULL;
        if (gd_job_fork(job, &ctx) != GD_OK) {
            st = gd_job_error(job, GD_EPROC, "out of memory");
            goto done;
        }
        int rs = read_all(ctx, sig_path, &sigtxt, &siglen);
        gd_job_destroy(ctx); /* its error is the finding below */
        if (rs != GD_OK) {
            gd_job_warn(job, "signature %s is missing or unreadable", sig_path);
            goto done;
        }
    }
    while (siglen > 0 && (sigtxt[siglen - 1] == '\n' || sigtxt[siglen - 1] == '\r'))
        siglen--;
    /* 64 bytes are 88 base64 characters, the last two of them padding */
    if (siglen != 88 || EVP_DecodeBlock(sig, sigtxt, 88) != 66) {
        gd_job_warn(job, "signature %s is not a base64 Ed25519 signature", sig_path);
        goto done;
    }
    if ((st = read_all(job, file, &data, &len)) != GD_OK)
        goto done;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1) {
        st = gd_job_error(job, GD_EPROC, "OpenSSL verification set-up failed (%s)",
                          ossl_reason());
        goto done;
    }
    if (EVP_DigestVerify(ctx, sig, SIG_LEN, data, len) == 1)
        *ok = 1;
    else
        gd_job_warn(job, "signature %s does not match %s under the key %s: the manifest "
                         "was altered or signed with another key", sig_path, file, pub_path);
done:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    free(sigtxt);
    free(data);
    return st;
}

/* Writes key as PEM (private or public) to path through a temp file created with mode. */
static int write_pem(gd_job *job, const char *path, mode_t mode, EVP_PKEY *key, int priv)
{
    char tmp[4096];
    /* the private key never exists with wider permissions, not even for a moment */
    int st = gd_tmp_create(job, path, mode, tmp, sizeof tmp);
    if (st != GD_OK)
        return st;
    int fd = open(tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC); /* made by gd_tmp_create */
    if (fd < 0)
        return gd_job_error(job, GD_EOUTPUT, "cannot create %s: %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        remove(tmp);
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s", tmp);
    }
    int okw = priv ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                   : PEM_write_PUBKEY(f, key);
    if (fclose(f) != 0 || okw != 1) {
        remove(tmp);
        return gd_job_error(job, GD_EOUTPUT, "cannot write %s", path);
    }
    return gd_commit_file(job, tmp, path);
}

int gd_keygen(gd_job *job, const char *prefix)
{
    char priv[4096], pub[4096];
    int n1 = snprintf(priv, sizeof priv, "%s.pem", prefix);
    int n2 = snprintf(pub, sizeof pub, "%s.pub.pem", prefix);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof priv || (size_t)n2 >= sizeof pub)
        return gd_job_error(job, GD_EUSAGE, "key prefix too long: %s", prefix);
    /* never overwrite a key: losing a private key loses the ability to sign */
    if (access(priv, F_OK) == 0 || access(pub, F_OK) == 0)
        return gd_job_error(job, GD_EOUTPUT, "%s or %s already exists: not overwritten",
                            priv, pub);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!key)
        return gd_job_error(job, GD_EPROC, "Ed25519 key generation failed (%s)",
                            ossl_reason());
    int st = write_pem(job, priv, 0600, key, 1);
    if (st == GD_OK && (st = write_pem(job, pub, 0644, key, 0)) != GD_OK)
        remove(priv);
    EVP_PKEY_free(key);
    return st;
}
