/*
 * mc_phone_store.c — the phone's key store: create (key + CSR), import the
 * issued chain, describe, unlock with the PIN.
 *
 * Why a directory of PEM files: it is what a test or a person can inspect
 * with `openssl` (`openssl req -in device.csr -text`, `openssl pkey -in
 * key.pem` asks for the PIN), and nothing else is needed to play a phone.
 *
 * Design: every write goes to "<name>.tmp" and is renamed into place, so a
 * crash leaves either the old or the new file. key.pem is written last by
 * init, so an init that failed half-way can simply be run again. The private
 * key is encrypted as PKCS#8 (PBES2 + AES-256-CBC) under the PIN: with a
 * 6-digit PIN that only keeps out casual readers (an offline search of 10^6
 * PINs is quick); a real app keeps the key in a secure element.
 *
 * Non-goals: concurrent writers to one store, PIN change, key backup.
 */
#define _GNU_SOURCE /* memmem */
#include "mc_phone_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_PATH_MAX 4096
#define STORE_FILE_MAX (MC_PHONE_IMPORT_MAX * 2)

int mc_phone_fail(mc_phone_err *e, int status, const char *code,
                  const char *fmt, ...)
{
    if (e == NULL)
        return -1;
    e->status = status;
    e->remote = 0;
    snprintf(e->code, sizeof(e->code), "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -1;
}

void mc_phone_err_clear(mc_phone_err *e)
{
    if (e == NULL)
        return;
    memset(e, 0, sizeof(*e));
}

void mc_phone_err_from(mc_phone_err *pe, const mc_err *e)
{
    if (pe == NULL || e == NULL)
        return;
    pe->status = e->status ? e->status : 500;
    pe->remote = 0;
    snprintf(pe->code, sizeof(pe->code), "%s", e->code ? e->code : "internal");
    snprintf(pe->msg, sizeof(pe->msg), "%s", e->msg);
}

/* 1 if pin is MC_PHONE_PIN_MIN..MC_PHONE_PIN_MAX ASCII digits. */
static int pin_ok(const char *pin)
{
    size_t n = 0;
    if (pin == NULL)
        return 0;
    for (; pin[n] != '\0'; n++) {
        if (pin[n] < '0' || pin[n] > '9' || n >= MC_PHONE_PIN_MAX)
            return 0;
    }
    return n >= MC_PHONE_PIN_MIN;
}

static int store_path(char *out, size_t size, const char *dir, const char *name,
                      mc_phone_err *err)
{
    if (dir == NULL || dir[0] == '\0')
        return mc_phone_fail(err, 400, "bad_store", "no store directory given");
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return mc_phone_fail(err, 400, "bad_store", "store path too long");
    return 0;
}

/* Read dir/name (at most max bytes) into out. *missing (may be NULL) is set
 * to 1 if the file does not exist; that is still an error (-1). */
static int read_store_file(const char *dir, const char *name, size_t max,
                           mc_buf *out, int *missing, mc_phone_err *err)
{
    char path[STORE_PATH_MAX];
    int rc = -1, fd = -1;
    if (missing)
        *missing = 0;
    if (store_path(path, sizeof(path), dir, name, err) != 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && missing)
            *missing = 1;
        mc_phone_fail(err, 400, "bad_store", "%s: %s", name, strerror(errno));
        goto done;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        mc_phone_fail(err, 400, "bad_store", "%s: not a regular file or too large", name);
        goto done;
    }
    mc_buf_reserve(out, (size_t)st.st_size + 1);
    for (;;) {
        if (out->len == out->cap)
            mc_buf_reserve(out, 1);
        ssize_t r = read(fd, out->ptr + out->len, out->cap - out->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            mc_phone_fail(err, 500, "bad_store", "%s: %s", name, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        if (out->len > max) {
            mc_phone_fail(err, 400, "bad_store", "%s: too large", name);
            goto done;
        }
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Write dir/name atomically (temporary file, fsync, rename) with mode. */
static int write_store_file(const char *dir, const char *name, const void *data,
                            size_t len, mode_t mode, mc_phone_err *err)
{
    char path[STORE_PATH_MAX], tmp[STORE_PATH_MAX + 8];
    int rc = -1, fd = -1;
    if (store_path(path, sizeof(path), dir, name, err) != 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0 || fchmod(fd, mode) != 0) {
        mc_phone_fail(err, 500, "bad_store", "%s: %s", name, strerror(errno));
        goto done;
    }
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            mc_phone_fail(err, 500, "bad_store", "%s: %s", name, strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    int synced = fsync(fd) == 0 ? 0 : errno;
    int closed = close(fd) == 0 ? 0 : errno; /* close even when fsync failed */
    fd = -1;
    if (synced != 0 || closed != 0) {
        mc_phone_fail(err, 500, "bad_store", "%s: %s", name,
                      strerror(synced != 0 ? synced : closed));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        mc_phone_fail(err, 500, "bad_store", "%s: %s", name, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* Copy a memory BIO's contents into out. */
static void bio_to_buf(BIO *b, mc_buf *out)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n > 0)
        mc_buf_append(out, p, (size_t)n);
}

/* Self-sign req with key. SM2: SM3 with the MC_SM2_ID distinguishing ID
 * set on the signing context (OpenSSL 3.0 defaults to an empty ID). */
static int csr_sign(X509_REQ *req, EVP_PKEY *key, mc_alg alg, mc_phone_err *err)
{
    EVP_MD_CTX *mctx = NULL;
    int rc = -1;
    if (alg == MC_ALG_SM2) {
        EVP_PKEY_CTX *pctx = NULL;
        mctx = EVP_MD_CTX_new();
        if (mctx == NULL ||
            EVP_DigestSignInit(mctx, &pctx, EVP_sm3(), NULL, key) != 1 ||
            EVP_PKEY_CTX_set1_id(pctx, MC_SM2_ID, MC_SM2_ID_LEN) != 1 ||
            X509_REQ_sign_ctx(req, mctx) <= 0) {
            mc_phone_fail(err, 500, "internal", "cannot sign the SM2 CSR");
            goto done;
        }
    } else if (alg != MC_ALG_P256 || X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
        mc_phone_fail(err, 500, "internal", "cannot sign the P-256 CSR");
        goto done;
    }
    rc = 0;
done:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    return rc;
}

/* Build and self-sign the CSR (subject CN, O, organizationIdentifier). */
static X509_REQ *make_csr(EVP_PKEY *key, mc_alg alg, const char *cn,
                          const char *org_name, const char *uscc, mc_phone_err *err)
{
    X509_REQ *req = X509_REQ_new();
    int ok = 0;
    if (req == NULL || X509_REQ_set_version(req, 0) != 1 ||
        X509_REQ_set_pubkey(req, key) != 1) {
        mc_phone_fail(err, 500, "internal", "cannot create the CSR");
        goto done;
    }
    X509_NAME *name = X509_REQ_get_subject_name(req);
    if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)cn, -1, -1, 0) != 1) {
        mc_phone_fail(err, 400, "bad_subject", "CN must be 1..64 characters of UTF-8");
        goto done;
    }
    if (org_name[0] != '\0' &&
        X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                   (const unsigned char *)org_name, -1, -1, 0) != 1) {
        mc_phone_fail(err, 400, "bad_subject", "O must be 1..64 characters of UTF-8");
        goto done;
    }
    if (X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier, MBSTRING_UTF8,
                                   (const unsigned char *)uscc, -1, -1, 0) != 1) {
        mc_phone_fail(err, 400, "bad_uscc", "cannot put the USCC in the subject");
        goto done;
    }
    if (csr_sign(req, key, alg, err) != 0)
        goto done;
    ok = 1;
done:
    ERR_clear_error();
    if (!ok) {
        X509_REQ_free(req);
        req = NULL;
    }
    return req;
}

int mc_phone_init(const char *dir, mc_alg alg, const char *pin, const char *cn,
                  const char *org_name, const char *uscc, mc_phone_err *err)
{
    int rc = -1;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    BIO *b = NULL;
    mc_buf pub_pem = {0}, csr_pem = {0}, key_pem = {0};
    char path[STORE_PATH_MAX];
    struct stat st;
    mc_err e = {0};

    mc_phone_err_clear(err);
    if (!pin_ok(pin))
        return mc_phone_fail(err, 400, "bad_pin", "the PIN must be %d to %d digits",
                             MC_PHONE_PIN_MIN, MC_PHONE_PIN_MAX);
    if (alg != MC_ALG_SM2 && alg != MC_ALG_P256)
        return mc_phone_fail(err, 400, "bad_alg", "the algorithm must be sm2 or p256");
    if (cn == NULL || cn[0] == '\0')
        return mc_phone_fail(err, 400, "bad_subject", "a CN (holder name) is required");
    if (org_name == NULL)
        org_name = "";
    if (uscc == NULL || !mc_uscc_valid(uscc, strlen(uscc)))
        return mc_phone_fail(err, 400, "bad_uscc",
                             "not a valid unified social credit code");
    if (store_path(path, sizeof(path), dir, MC_PHONE_KEY_FILE, err) != 0)
        return -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return mc_phone_fail(err, 500, "bad_store", "mkdir %s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mc_phone_fail(err, 400, "bad_store", "%s is not a directory", dir);
    if (lstat(path, &st) == 0)
        return mc_phone_fail(err, 409, "store_exists",
                             "%s already holds a device key", dir);

    key = mc_keygen(alg, &e);
    if (key == NULL) {
        mc_phone_err_from(err, &e);
        goto done;
    }
    req = make_csr(key, alg, cn, org_name, uscc, err);
    if (req == NULL)
        goto done;

    b = BIO_new(BIO_s_mem());
    if (b == NULL || PEM_write_bio_X509_REQ(b, req) != 1) {
        mc_phone_fail(err, 500, "internal", "cannot encode the CSR");
        goto done;
    }
    bio_to_buf(b, &csr_pem);
    if (mc_phone_key_pems(key, pin, &key_pem, &pub_pem, err) != 0)
        goto done;

    /* A chain left over from an earlier key would not match the new one. */
    char chain_path[STORE_PATH_MAX];
    if (store_path(chain_path, sizeof(chain_path), dir, MC_PHONE_CHAIN_FILE, err) != 0)
        goto done;
    unlink(chain_path);
    if (write_store_file(dir, MC_PHONE_PUB_FILE, pub_pem.ptr, pub_pem.len, 0644, err) != 0 ||
        write_store_file(dir, MC_PHONE_CSR_FILE, csr_pem.ptr, csr_pem.len, 0644, err) != 0 ||
        write_store_file(dir, MC_PHONE_KEY_FILE, key_pem.ptr, key_pem.len, 0600, err) != 0)
        goto done;
    rc = 0;
done:
    ERR_clear_error();
    if (b != NULL) {
        /* The memory BIO may hold the encrypted key: clear before freeing. */
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0)
            OPENSSL_cleanse(p, (size_t)n);
        BIO_free(b);
    }
    mc_buf_free_secure(&key_pem);
    mc_buf_free(&pub_pem);
    mc_buf_free(&csr_pem);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    return rc;
}

/* Parse 1..MC_CHAIN_MAX certificates (PEM, or a single DER) into xs; *n
 * receives the count. Text around the PEM blocks and blocks of other types
 * are skipped; a CERTIFICATE block that does not parse is an error. The
 * caller frees xs[0..*n). 0 / -1 (bad_cert; on error nothing is left in xs). */
static int parse_chain(const uint8_t *data, size_t len, X509 **xs, size_t *n,
                       mc_phone_err *err)
{
    static const char begin[] = "-----BEGIN";
    BIO *b = NULL;
    int rc = -1;
    *n = 0;
    if (data == NULL || len == 0 || len > MC_PHONE_IMPORT_MAX) {
        mc_phone_fail(err, 400, "bad_cert", "empty or larger than %d bytes",
                      MC_PHONE_IMPORT_MAX);
        goto done;
    }
    if (memmem(data, len, begin, sizeof(begin) - 1) != NULL) {
        b = BIO_new_mem_buf(data, (int)len);
        if (b == NULL) {
            mc_phone_fail(err, 500, "internal", "BIO_new_mem_buf failed");
            goto done;
        }
        for (;;) {
            X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            if (x == NULL) {
                unsigned long e = ERR_peek_last_error();
                if (*n > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
                    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                    break;
                mc_phone_fail(err, 400, "bad_cert", "certificate %zu: bad PEM", *n + 1);
                goto done;
            }
            if (*n == MC_CHAIN_MAX) {
                X509_free(x);
                mc_phone_fail(err, 400, "bad_cert", "more than %d certificates",
                              MC_CHAIN_MAX);
                goto done;
            }
            xs[(*n)++] = x;
        }
    } else {
        const unsigned char *p = data;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        if (x == NULL || p != data + len) {
            X509_free(x);
            mc_phone_fail(err, 400, "bad_cert", "neither PEM nor one DER certificate");
            goto done;
        }
        xs[(*n)++] = x;
    }
    for (size_t i = 0; i < *n; i++) {
        int dlen = i2d_X509(xs[i], NULL);
        if (dlen <= 0 || dlen > MC_CERT_DER_MAX) {
            mc_phone_fail(err, 400, "bad_cert", "certificate %zu: larger than %d bytes",
                          i + 1, MC_CERT_DER_MAX);
            goto done;
        }
    }
    rc = 0;
done:
    ERR_clear_error();
    BIO_free(b);
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++)
            X509_free(xs[i]);
        *n = 0;
    }
    return rc;
}

/* Load chain.pem if present. 0 with *n == 0 when there is none. */
static int load_chain(const char *dir, X509 **xs, size_t *n, mc_phone_err *err)
{
    mc_buf pem = {0};
    int missing = 0, rc = -1;
    *n = 0;
    if (read_store_file(dir, MC_PHONE_CHAIN_FILE, STORE_FILE_MAX, &pem, &missing,
                        err) != 0) {
        if (missing) {
            mc_phone_err_clear(err);
            rc = 0;
        }
        goto done;
    }
    if (parse_chain(pem.ptr, pem.len, xs, n, err) != 0) {
        if (err != NULL)
            snprintf(err->code, sizeof(err->code), "bad_store");
        goto done;
    }
    rc = 0;
done:
    mc_buf_free(&pem);
    return rc;
}

int mc_phone_import(const char *dir, const uint8_t *data, size_t len,
                    mc_phone_err *err)
{
    int rc = -1;
    EVP_PKEY *pub = NULL;
    X509 *xs[MC_CHAIN_MAX];
    size_t n = 0;
    BIO *b = NULL;
    mc_buf pem = {0};

    mc_phone_err_clear(err);
    pub = mc_phone_store_pub(dir, MC_PHONE_PUB_FILE, err);
    if (pub == NULL)
        goto done;
    if (parse_chain(data, len, xs, &n, err) != 0)
        goto done;
    if (EVP_PKEY_eq(X509_get0_pubkey(xs[0]), pub) != 1) {
        mc_phone_fail(err, 400, "key_mismatch",
                      "the certificate is not for this phone's key");
        goto done;
    }
    b = BIO_new(BIO_s_mem());
    for (size_t i = 0; b != NULL && i < n; i++) {
        if (PEM_write_bio_X509(b, xs[i]) != 1) {
            BIO_free(b);
            b = NULL;
        }
    }
    if (b == NULL) {
        mc_phone_fail(err, 500, "internal", "cannot encode the chain");
        goto done;
    }
    bio_to_buf(b, &pem);
    if (write_store_file(dir, MC_PHONE_CHAIN_FILE, pem.ptr, pem.len, 0644, err) != 0)
        goto done;
    rc = 0;
done:
    ERR_clear_error();
    BIO_free(b);
    mc_buf_free(&pem);
    for (size_t i = 0; i < n; i++)
        X509_free(xs[i]);
    EVP_PKEY_free(pub);
    return rc;
}

int mc_phone_csr_der(const char *dir, mc_buf *out, mc_phone_err *err)
{
    mc_buf pem = {0};
    BIO *b = NULL;
    X509_REQ *req = NULL;
    unsigned char *der = NULL;
    int rc = -1, n = 0;

    mc_phone_err_clear(err);
    if (read_store_file(dir, MC_PHONE_CSR_FILE, STORE_FILE_MAX, &pem, NULL, err) != 0)
        goto done;
    b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    if (req == NULL || (n = i2d_X509_REQ(req, &der)) <= 0) {
        mc_phone_fail(err, 400, "bad_store", "%s: not a PEM CSR", MC_PHONE_CSR_FILE);
        goto done;
    }
    mc_buf_append(out, der, (size_t)n);
    rc = 0;
done:
    ERR_clear_error();
    OPENSSL_free(der);
    X509_REQ_free(req);
    BIO_free(b);
    mc_buf_free(&pem);
    return rc;
}

/* Copy the UTF-8 value of the first `nid` entry of name into out ("" if
 * absent). */
static void name_entry(X509_NAME *name, int nid, char *out, size_t size)
{
    out[0] = '\0';
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
        return;
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n >= 0)
        mc_copy_printable(out, size, (const char *)u, (size_t)n);
    OPENSSL_free(u);
}

int mc_phone_describe(const char *dir, mc_phone_status *out, mc_phone_err *err)
{
    int rc = -1;
    EVP_PKEY *pub = NULL;
    X509 *xs[MC_CHAIN_MAX];
    size_t n = 0;
    mc_buf csr = {0};
    BIO *b = NULL;
    X509_REQ *req = NULL;
    mc_err e = {0};

    mc_phone_err_clear(err);
    memset(out, 0, sizeof(*out));
    pub = mc_phone_store_pub(dir, MC_PHONE_PUB_FILE, err);
    if (pub == NULL)
        goto done;
    out->alg = mc_pkey_alg(pub);
    if (load_chain(dir, xs, &n, err) != 0)
        goto done;
    if (n > 0) {
        if (mc_cert_info_of(xs[0], &out->leaf, &e) != 0) {
            mc_phone_err_from(err, &e);
            goto done;
        }
        out->has_cert = 1;
        out->nchain = n;
    } else {
        if (read_store_file(dir, MC_PHONE_CSR_FILE, STORE_FILE_MAX, &csr, NULL, err) != 0)
            goto done;
        b = BIO_new_mem_buf(csr.ptr, (int)csr.len);
        req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
        if (req == NULL) {
            mc_phone_fail(err, 400, "bad_store", "%s: not a PEM CSR", MC_PHONE_CSR_FILE);
            goto done;
        }
        X509_NAME *name = X509_REQ_get_subject_name(req);
        name_entry(name, NID_commonName, out->leaf.cn, sizeof(out->leaf.cn));
        name_entry(name, NID_organizationName, out->leaf.org_name,
                   sizeof(out->leaf.org_name));
        name_entry(name, NID_organizationIdentifier, out->leaf.uscc,
                   sizeof(out->leaf.uscc));
        out->leaf.alg = out->alg;
    }
    rc = 0;
done:
    ERR_clear_error();
    X509_REQ_free(req);
    BIO_free(b);
    mc_buf_free(&csr);
    for (size_t i = 0; i < n; i++)
        X509_free(xs[i]);
    EVP_PKEY_free(pub);
    return rc;
}

mc_phone *mc_phone_open(const char *dir, const char *pin, mc_phone_err *err)
{
    mc_phone *p = NULL;
    EVP_PKEY *pub = NULL;
    X509 *xs[MC_CHAIN_MAX];
    size_t n = 0;
    int ok = 0;

    mc_phone_err_clear(err);
    if (!pin_ok(pin)) {
        mc_phone_fail(err, 403, "bad_pin", "wrong PIN");
        goto done;
    }
    pub = mc_phone_store_pub(dir, MC_PHONE_PUB_FILE, err);
    if (pub == NULL)
        goto done;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        mc_phone_fail(err, 500, "internal", "out of memory");
        goto done;
    }
    p->key = mc_phone_store_key(dir, MC_PHONE_KEY_FILE, pin, err);
    if (p->key == NULL)
        goto done;
    if (EVP_PKEY_eq(p->key, pub) != 1 ||
        (p->alg = mc_pkey_alg(p->key)) == MC_ALG_NONE) {
        mc_phone_fail(err, 400, "bad_store", "%s and %s do not match",
                      MC_PHONE_KEY_FILE, MC_PHONE_PUB_FILE);
        goto done;
    }
    if (load_chain(dir, xs, &n, err) != 0)
        goto done;
    if (n > 0 && EVP_PKEY_eq(X509_get0_pubkey(xs[0]), pub) != 1) {
        mc_phone_fail(err, 400, "bad_store", "%s is not for this key", MC_PHONE_CHAIN_FILE);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (mc_x509_der(xs[i], &p->der[i]) != 0) {
            mc_phone_fail(err, 500, "internal", "cannot DER-encode the chain");
            goto done;
        }
        p->nchain = i + 1;
    }
    if (p->nchain > 0 && mc_cert_fingerprint(p->der[0].ptr, p->der[0].len, p->fp) != 0) {
        mc_phone_fail(err, 500, "internal", "cannot fingerprint the leaf");
        goto done;
    }
    ok = 1;
done:
    ERR_clear_error();
    for (size_t i = 0; i < n; i++)
        X509_free(xs[i]);
    EVP_PKEY_free(pub);
    if (!ok) {
        mc_phone_free(p);
        p = NULL;
    }
    return p;
}

void mc_phone_free(mc_phone *p)
{
    if (p == NULL)
        return;
    EVP_PKEY_free(p->key); /* OpenSSL clears the private scalar on free */
    for (size_t i = 0; i < MC_CHAIN_MAX; i++)
        mc_buf_free(&p->der[i]);
    OPENSSL_cleanse(p, sizeof(*p));
    free(p);
}

mc_alg mc_phone_alg(const mc_phone *p)
{
    return p ? p->alg : MC_ALG_NONE;
}

EVP_PKEY *mc_phone_key(const mc_phone *p)
{
    return p ? p->key : NULL;
}

size_t mc_phone_chain(const mc_phone *p, mc_slice *out, size_t max)
{
    size_t n = 0;
    for (; p != NULL && n < p->nchain && n < max; n++)
        out[n] = (mc_slice){p->der[n].ptr, p->der[n].len};
    return n;
}

/* ---- shared with the other mc_phone_*.c files (mc_phone_int.h) ---- */

int mc_phone_store_read(const char *dir, const char *name, mc_buf *out, int *missing,
                        mc_phone_err *err)
{
    return read_store_file(dir, name, STORE_FILE_MAX, out, missing, err);
}

int mc_phone_store_write(const char *dir, const char *name, const void *data, size_t len,
                         mode_t mode, mc_phone_err *err)
{
    return write_store_file(dir, name, data, len, mode, err);
}

int mc_phone_store_remove(const char *dir, const char *name, mc_phone_err *err)
{
    char path[STORE_PATH_MAX];
    if (store_path(path, sizeof(path), dir, name, err) != 0)
        return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return mc_phone_fail(err, 500, "bad_store", "%s: %s", name, strerror(errno));
    return 0;
}

int mc_phone_store_mkdir(const char *dir, const char *name, mc_phone_err *err)
{
    char path[STORE_PATH_MAX];
    struct stat st;
    if (store_path(path, sizeof(path), dir, name, err) != 0)
        return -1;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return mc_phone_fail(err, 500, "bad_store", "mkdir %s: %s", name, strerror(errno));
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return mc_phone_fail(err, 400, "bad_store", "%s is not a directory", name);
    return 0;
}

/* The encrypted structure is parsed before anything is decrypted, so that a
 * broken (or unencrypted) key file is bad_store and only a PIN that does not
 * decrypt a well-formed one is bad_pin. */
EVP_PKEY *mc_phone_store_key(const char *dir, const char *name, const char *pin,
                             mc_phone_err *err)
{
    mc_buf pem = {0};
    BIO *b = NULL;
    X509_SIG *p8 = NULL;
    PKCS8_PRIV_KEY_INFO *p8inf = NULL;
    EVP_PKEY *key = NULL;

    if (!pin_ok(pin)) {
        mc_phone_fail(err, 403, "bad_pin", "wrong PIN");
        goto done;
    }
    if (read_store_file(dir, name, STORE_FILE_MAX, &pem, NULL, err) != 0)
        goto done;
    b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    p8 = b ? PEM_read_bio_PKCS8(b, NULL, NULL, NULL) : NULL;
    if (p8 == NULL) {
        mc_phone_fail(err, 400, "bad_store", "%s: not an encrypted PKCS#8 key", name);
        goto done;
    }
    p8inf = PKCS8_decrypt(p8, pin, (int)strlen(pin));
    if (p8inf == NULL) {
        mc_phone_fail(err, 403, "bad_pin", "wrong PIN");
        goto done;
    }
    key = EVP_PKCS82PKEY(p8inf);
    if (key == NULL || mc_pkey_alg(key) == MC_ALG_NONE) {
        EVP_PKEY_free(key);
        key = NULL;
        mc_phone_fail(err, 400, "bad_store", "%s: not an SM2 or P-256 key", name);
    }
done:
    ERR_clear_error();
    PKCS8_PRIV_KEY_INFO_free(p8inf); /* clears the cleartext key */
    X509_SIG_free(p8);
    BIO_free(b);
    mc_buf_free_secure(&pem);
    return key;
}

EVP_PKEY *mc_phone_store_pub(const char *dir, const char *name, mc_phone_err *err)
{
    mc_buf pem = {0};
    EVP_PKEY *pub = NULL;
    BIO *b = NULL;
    if (read_store_file(dir, name, STORE_FILE_MAX, &pem, NULL, err) != 0)
        goto done;
    b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    pub = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    if (pub == NULL || mc_pkey_alg(pub) == MC_ALG_NONE) {
        EVP_PKEY_free(pub);
        pub = NULL;
        mc_phone_fail(err, 400, "bad_store", "%s: not an SM2 or P-256 public key", name);
    }
done:
    ERR_clear_error();
    BIO_free(b);
    mc_buf_free(&pem);
    return pub;
}

int mc_phone_key_pems(EVP_PKEY *key, const char *pin, mc_buf *priv, mc_buf *pub,
                      mc_phone_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = -1;
    if (b == NULL || PEM_write_bio_PUBKEY(b, key) != 1) {
        mc_phone_fail(err, 500, "internal", "cannot encode the public key");
        goto done;
    }
    bio_to_buf(b, pub);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    if (b == NULL ||
        PEM_write_bio_PrivateKey(b, key, EVP_aes_256_cbc(), (const unsigned char *)pin,
                                 (int)strlen(pin), NULL, NULL) != 1) {
        mc_phone_fail(err, 500, "internal", "cannot encrypt the key");
        goto done;
    }
    bio_to_buf(b, priv);
    rc = 0;
done:
    ERR_clear_error();
    if (b != NULL) {
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0)
            OPENSSL_cleanse(p, (size_t)n);
        BIO_free(b);
    }
    return rc;
}

int mc_phone_chain_parse(const uint8_t *data, size_t len, X509 **xs, size_t *n,
                         mc_phone_err *err)
{
    return parse_chain(data, len, xs, n, err);
}

int mc_phone_chain_pem(X509 *const *xs, size_t n, mc_buf *out, mc_phone_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    for (size_t i = 0; b != NULL && i < n; i++) {
        if (PEM_write_bio_X509(b, xs[i]) != 1) {
            BIO_free(b);
            b = NULL;
        }
    }
    if (b == NULL) {
        ERR_clear_error();
        return mc_phone_fail(err, 500, "internal", "cannot encode the chain");
    }
    bio_to_buf(b, out);
    BIO_free(b);
    return 0;
}

int mc_phone_csr_make(EVP_PKEY *key, const X509_NAME *subject, mc_buf *der, mc_phone_err *err)
{
    X509_REQ *req = X509_REQ_new();
    unsigned char *d = NULL;
    int rc = -1, n;
    mc_alg alg = key != NULL ? mc_pkey_alg(key) : MC_ALG_NONE;

    mc_phone_err_clear(err);
    if (alg == MC_ALG_NONE || subject == NULL) {
        mc_phone_fail(err, 400, "bad_alg", "no SM2 or P-256 key, or no subject");
        goto done;
    }
    /* X509_REQ_set_subject_name copies the name through its DER: the
     * CSR's subject is byte-equal to the one given. */
    if (req == NULL || X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
        X509_REQ_set_subject_name(req, subject) != 1) {
        mc_phone_fail(err, 500, "internal", "cannot create the CSR");
        goto done;
    }
    if (csr_sign(req, key, alg, err) != 0)
        goto done;
    if ((n = i2d_X509_REQ(req, &d)) <= 0) {
        mc_phone_fail(err, 500, "internal", "cannot encode the CSR");
        goto done;
    }
    mc_buf_append(der, d, (size_t)n);
    rc = 0;
done:
    ERR_clear_error();
    OPENSSL_free(d);
    X509_REQ_free(req);
    return rc;
}
