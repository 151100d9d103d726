/*
 * mc_x509.c — the CA that issues mobile certificates, the trust store, and
 * the checks every presented certificate chain must pass (see mc_x509.h).
 *
 * Why: issuance and acceptance are the two places where a certificate's
 * meaning is decided (whose key, which organisation, for what use), so both
 * live here, next to each other, with one definition of "valid USCC" and one
 * rule for the SM2 distinguishing ID.
 *
 * Design:
 *  - OpenSSL does the ASN.1 and the path validation (X509_verify_cert); this
 *    file adds what OpenSSL does not know: strict DER (exact length, DER
 *    re-encoding must match), size and count limits, the key-algorithm
 *    allow-list, keyUsage digitalSignature, extendedKeyUsage clientAuth, a
 *    leaf that is not a CA, and the USCC in the subject. These are checked
 *    on the leaf only, by hand rather than with an OpenSSL purpose, so that
 *    each refusal has its own error code.
 *  - SM2-signed certificates and CSRs: OpenSSL 3.0 verifies them with the
 *    ID stored on the object (empty by default), so the ID is attached
 *    (X509_set0_distinguishing_id / X509_REQ_set0_distinguishing_id) to
 *    every SM2-signed object before its signature is checked, and SM2
 *    signing goes through X509_sign_ctx with the ID set on the context.
 *  - The leaf subject is rebuilt from the CSR: only CN, O and
 *    organizationIdentifier are copied (entries unchanged, in CSR order);
 *    CSR extensions and attributes are ignored, the CA decides them all.
 *  - Re-issuance (renewal) copies the old certificate's subject as it is
 *    encoded (no rebuilding: the renewed certificate names the same holder
 *    byte for byte) and writes the same extensions as enrollment, through
 *    one leaf builder (leaf_build). A rekey CSR must match that subject
 *    byte for byte and the old key's algorithm (mc_csr_rekey_check).
 *  - The trust store sets X509_V_FLAG_PARTIAL_CHAIN: every certificate in it
 *    is a trust anchor (RFC 5280), so an intermediate can be the anchor. To
 *    keep that from trusting a leaf directly, mc_trust_add accepts only CA
 *    certificates.
 *  - Secrets: the CA key is serialised into secure-heap BIOs (cleared on
 *    free) and read through an mc_buf that is wiped.
 *
 * Non-goals: CRL/OCSP, name constraints, policies, RSA, encrypted CA keys,
 * CSR extensions (e.g. requested SANs) — all ignored or refused.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* timegm */
#endif
#include "mc_x509.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_FILE_MAX 65536   /* ca.key / ca.crt / trust files larger are refused */
#define NAME_MAX_BYTES 128  /* CN and O in a CSR, UTF-8 bytes */

struct mc_ca {
    EVP_PKEY *key;  /* CA private key, owned; SM2 or P-256 */
    X509 *cert;     /* CA certificate, owned; SM2 ID attached if SM2-signed */
};

struct mc_trust {
    X509_STORE *store; /* owned; anchors only, no untrusted certificates */
};

/* ------------------------------------------------------------------ */
/* USCC                                                                */

/* GB 32100-2015: 18 chars; char 18 is the check character over the first
 * 17 with these weights (3^i mod 31). */
static const char uscc_alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int uscc_weight[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                    29, 25, 13, 8,  24, 10, 30, 28};

static int uscc_index(char c)
{
    const char *p;
    if (c == '\0')
        return -1;
    p = strchr(uscc_alpha, c);
    return p == NULL ? -1 : (int)(p - uscc_alpha);
}

int mc_uscc_valid(const char *s, size_t n)
{
    int sum = 0, check, last;

    if (s == NULL || n != MC_USCC_LEN)
        return 0;
    for (size_t i = 0; i < 17; i++) {
        int v = uscc_index(s[i]);
        if (v < 0)
            return 0;
        sum += v * uscc_weight[i];
    }
    check = 31 - sum % 31;
    if (check == 31)
        check = 0;
    last = uscc_index(s[17]);
    return last >= 0 && last == check;
}

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* The PEM password callback: never prompt (the default one reads the
 * terminal), never decrypt. */
static int no_password_cb(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

static int is_sm2_signed(const X509 *x)
{
    return X509_get_signature_nid(x) == NID_SM2_with_SM3;
}

static ASN1_OCTET_STRING *sm2_id_new(void)
{
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
    if (id != NULL &&
        ASN1_OCTET_STRING_set(id, (const unsigned char *)MC_SM2_ID,
                              MC_SM2_ID_LEN) != 1) {
        ASN1_OCTET_STRING_free(id);
        id = NULL;
    }
    return id;
}

/* Attach MC_SM2_ID to x if its signature is SM2 and it has none yet, so
 * that X509_verify / X509_verify_cert check it with the standard ID.
 * 1 / 0. */
static int x509_attach_sm2_id(X509 *x)
{
    ASN1_OCTET_STRING *id;
    if (!is_sm2_signed(x) || X509_get0_distinguishing_id(x) != NULL)
        return 1;
    if ((id = sm2_id_new()) == NULL)
        return 0;
    X509_set0_distinguishing_id(x, id);
    return 1;
}

/* Sign x with key through mc_sign_ctx_new (SM3 + MC_SM2_ID for SM2,
 * SHA-256 for P-256; anything else fails), then attach the ID to an
 * SM2-signed x so that it verifies. 1 / 0. */
static int x509_sign(X509 *x, EVP_PKEY *key)
{
    EVP_MD_CTX *md = mc_sign_ctx_new(key, NULL);
    int ok = md != NULL && X509_sign_ctx(x, md) > 0 && x509_attach_sm2_id(x);

    EVP_MD_CTX_free(md);
    return ok;
}

/* Serial: 16 random bytes, top bit cleared (positive) and next bit set (so
 * it is always exactly 16 octets). 1 / 0. */
static int x509_set_random_serial(X509 *x)
{
    uint8_t b[16];
    BIGNUM *bn = NULL;
    int ok = 0;

    mc_random(b, sizeof(b));
    b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
    if ((bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL &&
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
        ok = 1;
    BN_free(bn);
    return ok;
}

static int x509_set_validity(X509 *x, int64_t nb, int64_t na)
{
    return ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) != NULL &&
           ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) != NULL;
}

/* Add one extension in openssl.cnf syntax; issuer may equal x. 1 / 0. */
static int x509_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ex;
    int ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    if ((ex = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
        return 0;
    ok = X509_add_ext(x, ex, -1);
    X509_EXTENSION_free(ex);
    return ok;
}

/* "critical,digitalSignature,..." for a KU_* mask; 0 if an unknown bit is
 * set or ku is empty. */
static int ku_string(unsigned ku, char *out, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {KU_DIGITAL_SIGNATURE, "digitalSignature"},
        {KU_NON_REPUDIATION, "nonRepudiation"},
        {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
        {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
        {KU_KEY_AGREEMENT, "keyAgreement"},
        {KU_KEY_CERT_SIGN, "keyCertSign"},
        {KU_CRL_SIGN, "cRLSign"},
        {KU_ENCIPHER_ONLY, "encipherOnly"},
        {KU_DECIPHER_ONLY, "decipherOnly"},
    };
    unsigned known = 0;
    size_t len;

    snprintf(out, cap, "critical");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        known |= names[i].bit;
        if (ku & names[i].bit) {
            len = strlen(out);
            snprintf(out + len, cap - len, ",%s", names[i].name);
        }
    }
    return ku != 0 && (ku & ~known) == 0;
}

/* Read a regular file of at most max bytes into out (appended). 0 / -1. */
static int read_small_file(const char *path, size_t max, mc_buf *out)
{
    int fd, rc = -1;
    struct stat st;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > max)
        goto done;
    mc_buf_reserve(out, (size_t)st.st_size + 1);
    for (;;) {
        ssize_t r;
        if (out->len >= max + 1)
            goto done; /* grew while we read */
        r = read(fd, out->ptr + out->len, out->cap - out->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto done;
        if (r == 0)
            break;
        out->len += (size_t)r;
        if (out->len == out->cap)
            mc_buf_reserve(out, 1024);
    }
    rc = out->len <= max ? 0 : -1;
done:
    close(fd);
    return rc;
}

/* Write p[0..n) to path atomically (path.tmp, fsync, rename) with the
 * given mode, also when the file existed with another mode. 0 / -1. */
static int write_file_atomic(const char *path, const void *p, size_t n,
                             mode_t mode)
{
    char tmp[PATH_MAX];
    const uint8_t *q = p;
    int fd, rc = -1;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -1;
    if (fchmod(fd, mode) != 0)
        goto done;
    while (n > 0) {
        ssize_t w = write(fd, q, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto done;
        q += w;
        n -= (size_t)w;
    }
    if (fsync(fd) != 0)
        goto done;
    rc = 0;
done:
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* The UTF-8 value of the only entry nid in name: 1 found (*out owned,
 * OPENSSL_free), 0 absent, -1 duplicated / unconvertible / contains NUL. */
static int name_get_utf8(const X509_NAME *name, int nid, unsigned char **out,
                         size_t *outlen)
{
    int idx = X509_NAME_get_index_by_NID(name, nid, -1);
    int len;

    *out = NULL;
    *outlen = 0;
    if (idx < 0)
        return 0;
    if (X509_NAME_get_index_by_NID(name, nid, idx) >= 0)
        return -1;
    len = ASN1_STRING_to_UTF8(
        out, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
    if (len < 0) {
        *out = NULL;
        return -1;
    }
    if (memchr(*out, '\0', (size_t)len) != NULL) {
        OPENSSL_free(*out);
        *out = NULL;
        return -1;
    }
    *outlen = (size_t)len;
    return 1;
}

/* Copy UTF-8 s into out (cap bytes incl. NUL), truncating at a character
 * boundary. */
static void copy_utf8(char *out, size_t cap, const unsigned char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && (s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Fill a text field from name; absent -> "". 0 / -1 (duplicate, bad). */
static int name_field(const X509_NAME *name, int nid, char *out, size_t cap)
{
    unsigned char *v;
    size_t n;
    int r = name_get_utf8(name, nid, &v, &n);

    out[0] = '\0';
    if (r < 0)
        return -1;
    if (r > 0)
        copy_utf8(out, cap, v, n);
    OPENSSL_free(v);
    return 0;
}

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

/* ------------------------------------------------------------------ */
/* CA                                                                  */

static mc_ca *ca_wrap(EVP_PKEY *key, X509 *cert)
{
    mc_ca *ca = calloc(1, sizeof(*ca));
    if (ca == NULL)
        return NULL;
    ca->key = key;
    ca->cert = cert;
    return ca;
}

mc_ca *mc_ca_create(mc_alg alg, const char *cn, int days, mc_err *err)
{
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    X509_NAME *name = NULL;
    mc_ca *ca = NULL;
    int64_t now = (int64_t)time(NULL);

    if (alg != MC_ALG_SM2 && alg != MC_ALG_P256) {
        mc_err_set(err, 400, "unsupported_key", "CA key must be SM2 or P-256");
        return NULL;
    }
    if (cn == NULL || cn[0] == '\0' || strlen(cn) > 64 || days < 1 ||
        days > MC_CA_DAYS_MAX) {
        mc_err_set(err, 400, "bad_request",
                   "CA needs a CN of 1..64 bytes and 1..%d days", MC_CA_DAYS_MAX);
        return NULL;
    }
    if ((key = mc_keygen(alg, err)) == NULL)
        return NULL;
    if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
        !X509_set_version(x, X509_VERSION_3) || !x509_set_random_serial(x) ||
        !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
        !x509_set_validity(x, now - 60, now + (int64_t)days * 86400) ||
        !X509_set_pubkey(x, key) ||
        !x509_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
        !x509_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !x509_add_ext(x, x, NID_subject_key_identifier, "hash") ||
        !x509_sign(x, key)) {
        mc_err_set(err, 500, "internal", "CA certificate creation failed");
        goto err;
    }
    if ((ca = ca_wrap(key, x)) == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto err;
    }
    X509_NAME_free(name);
    return ca;
err:
    ERR_clear_error();
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    return NULL;
}

void mc_ca_free(mc_ca *ca)
{
    if (ca == NULL)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca);
}

X509 *mc_ca_cert(const mc_ca *ca)
{
    return ca == NULL ? NULL : ca->cert;
}

EVP_PKEY *mc_ca_key(const mc_ca *ca)
{
    return ca == NULL ? NULL : ca->key;
}

static int ca_path(char *out, size_t cap, const char *dir, const char *file)
{
    return (size_t)snprintf(out, cap, "%s/%s", dir, file) < cap;
}

int mc_ca_save(const mc_ca *ca, const char *dir, mc_err *err)
{
    char kpath[PATH_MAX], cpath[PATH_MAX];
    BIO *kb = NULL, *cb = NULL;
    BUF_MEM *kmem = NULL, *cmem = NULL;
    int rc = -1;

    if (ca == NULL || dir == NULL || !ca_path(kpath, sizeof(kpath), dir, "ca.key") ||
        !ca_path(cpath, sizeof(cpath), dir, "ca.crt"))
        return mc_err_set(err, 400, "bad_request", "bad CA directory");
    /* secmem: the BIO's buffers are cleared when freed or grown. */
    if ((kb = BIO_new(BIO_s_secmem())) == NULL ||
        (cb = BIO_new(BIO_s_mem())) == NULL ||
        !PEM_write_bio_PKCS8PrivateKey(kb, ca->key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cb, ca->cert) || BIO_get_mem_ptr(kb, &kmem) <= 0 ||
        BIO_get_mem_ptr(cb, &cmem) <= 0) {
        mc_err_set(err, 500, "internal", "CA serialisation failed");
        goto done;
    }
    if (write_file_atomic(kpath, kmem->data, kmem->length, 0600) != 0 ||
        write_file_atomic(cpath, cmem->data, cmem->length, 0644) != 0) {
        mc_err_set(err, 500, "ca_io", "cannot write CA files in %s: %s", dir,
                   strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (rc != 0)
        ERR_clear_error();
    BIO_free(kb);
    BIO_free(cb);
    return rc;
}

mc_ca *mc_ca_load(const char *dir, mc_err *err)
{
    char kpath[PATH_MAX], cpath[PATH_MAX];
    mc_buf kbuf = {0}, cbuf = {0};
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    mc_ca *ca = NULL;

    if (dir == NULL || !ca_path(kpath, sizeof(kpath), dir, "ca.key") ||
        !ca_path(cpath, sizeof(cpath), dir, "ca.crt")) {
        mc_err_set(err, 400, "bad_request", "bad CA directory");
        return NULL;
    }
    if (read_small_file(kpath, CA_FILE_MAX, &kbuf) != 0 ||
        read_small_file(cpath, CA_FILE_MAX, &cbuf) != 0 || kbuf.len > INT_MAX ||
        cbuf.len > INT_MAX) {
        mc_err_set(err, 500, "ca_io", "cannot read %s/ca.key and ca.crt", dir);
        goto done;
    }
    if ((bio = BIO_new_mem_buf(kbuf.ptr, (int)kbuf.len)) == NULL ||
        (key = PEM_read_bio_PrivateKey(bio, NULL, no_password_cb, NULL)) == NULL) {
        mc_err_set(err, 500, "ca_io", "%s: not an unencrypted PEM private key",
                   kpath);
        goto done;
    }
    BIO_free(bio);
    if ((bio = BIO_new_mem_buf(cbuf.ptr, (int)cbuf.len)) == NULL ||
        (cert = PEM_read_bio_X509(bio, NULL, no_password_cb, NULL)) == NULL) {
        mc_err_set(err, 500, "ca_io", "%s: not a PEM certificate", cpath);
        goto done;
    }
    if (mc_pkey_alg(key) == MC_ALG_NONE) {
        mc_err_set(err, 500, "unsupported_key", "CA key is neither SM2 nor P-256");
        goto done;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1 ||
        X509_check_ca(cert) == 0) {
        mc_err_set(err, 500, "ca_io",
                   "ca.crt is not a CA certificate for ca.key");
        goto done;
    }
    if (!x509_attach_sm2_id(cert) || (ca = ca_wrap(key, cert)) == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto done;
    }
    key = NULL;
    cert = NULL;
done:
    if (ca == NULL)
        ERR_clear_error();
    BIO_free(bio);
    EVP_PKEY_free(key);
    X509_free(cert);
    mc_buf_free_secure(&kbuf);
    mc_buf_free(&cbuf);
    return ca;
}

/* ------------------------------------------------------------------ */
/* issuance                                                            */

/* PEM if the first non-blank bytes are "-----BEGIN", else DER that must
 * span exactly n bytes. NULL if neither parses. */
static X509_REQ *csr_parse(const uint8_t *p, size_t n)
{
    static const char pem_begin[] = "-----BEGIN";
    size_t i = 0;
    X509_REQ *req = NULL;

    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (n - i >= sizeof(pem_begin) - 1 &&
        memcmp(p + i, pem_begin, sizeof(pem_begin) - 1) == 0) {
        BIO *bio = BIO_new_mem_buf(p, (int)n);
        if (bio != NULL)
            req = PEM_read_bio_X509_REQ(bio, NULL, no_password_cb, NULL);
        BIO_free(bio);
        return req;
    }
    const unsigned char *q = p;
    req = d2i_X509_REQ(NULL, &q, (long)n);
    if (req != NULL && q != p + n) {
        X509_REQ_free(req);
        req = NULL;
    }
    return req;
}

/* Check the CSR subject and build the leaf subject from its CN, O and
 * organizationIdentifier entries (copied unchanged, in order). NULL with
 * err set ("bad_csr") if CN or the USCC is missing, duplicated or bad. */
static X509_NAME *csr_subject(const X509_NAME *in, mc_err *err)
{
    X509_NAME *out = NULL;
    unsigned char *v = NULL;
    size_t n;
    int r;

    r = name_get_utf8(in, NID_commonName, &v, &n);
    OPENSSL_free(v);
    if (r != 1 || n == 0 || n > NAME_MAX_BYTES) {
        mc_err_set(err, 400, "bad_csr",
                   "CSR subject needs exactly one CN of 1..%d bytes",
                   NAME_MAX_BYTES);
        return NULL;
    }
    r = name_get_utf8(in, NID_organizationName, &v, &n);
    OPENSSL_free(v);
    if (r < 0 || n > NAME_MAX_BYTES) {
        mc_err_set(err, 400, "bad_csr", "CSR subject O is duplicated or bad");
        return NULL;
    }
    r = name_get_utf8(in, NID_organizationIdentifier, &v, &n);
    if (r != 1 || !mc_uscc_valid((const char *)v, n)) {
        OPENSSL_free(v);
        mc_err_set(err, 400, "bad_csr",
                   "CSR subject needs one organizationIdentifier that is a "
                   "valid USCC");
        return NULL;
    }
    OPENSSL_free(v);

    if ((out = X509_NAME_new()) == NULL)
        goto err;
    for (int i = 0; i < X509_NAME_entry_count(in); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(in, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        if ((nid == NID_commonName || nid == NID_organizationName ||
             nid == NID_organizationIdentifier) &&
            !X509_NAME_add_entry(out, e, -1, 0))
            goto err;
    }
    return out;
err:
    X509_NAME_free(out);
    mc_err_set(err, 500, "internal", "out of memory");
    return NULL;
}

/* Proof of possession: req's self-signature verifies with pub (its own
 * key, of algorithm alg). OpenSSL 3.0 verifies an SM2 CSR with the ID
 * attached to the request object, empty unless set here, so an SM2 req
 * gets MC_SM2_ID attached (req is modified). 0 / -1 ("bad_csr", or
 * "internal" out of memory). */
static int csr_pop(X509_REQ *req, mc_alg alg, EVP_PKEY *pub, mc_err *err)
{
    if (alg == MC_ALG_SM2) {
        ASN1_OCTET_STRING *id = sm2_id_new();
        if (id == NULL)
            return mc_err_set(err, 500, "internal", "out of memory");
        X509_REQ_set0_distinguishing_id(req, id);
    }
    if (X509_REQ_verify(req, pub) != 1) {
        ERR_clear_error();
        return mc_err_set(err, 400, "bad_csr",
                          "CSR signature does not verify (proof of possession)");
    }
    return 0;
}

/* A leaf of ca for pub with subject subj (copied; its DER encoding is
 * kept as it is), a new random serial, the given validity and the
 * enrolled leaf's extensions: basicConstraints CA:FALSE and keyUsage kustr
 * (critical), extendedKeyUsage clientAuth, SKI, AKI. Signed by the CA key
 * (SM2: SM3 with MC_SM2_ID). NULL with err "internal". */
static X509 *leaf_build(mc_ca *ca, const X509_NAME *subj, EVP_PKEY *pub,
                        int64_t not_before, int64_t not_after, const char *kustr,
                        mc_err *err)
{
    X509 *x = NULL;

    if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
        !x509_set_random_serial(x) ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
        !X509_set_subject_name(x, subj) ||
        !x509_set_validity(x, not_before, not_after) ||
        !X509_set_pubkey(x, pub) ||
        !x509_add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
        !x509_add_ext(x, ca->cert, NID_key_usage, kustr) ||
        !x509_add_ext(x, ca->cert, NID_ext_key_usage, "clientAuth") ||
        !x509_add_ext(x, ca->cert, NID_subject_key_identifier, "hash") ||
        !x509_add_ext(x, ca->cert, NID_authority_key_identifier,
                      "keyid:always") ||
        !x509_sign(x, ca->key)) {
        ERR_clear_error();
        X509_free(x);
        mc_err_set(err, 500, "internal", "certificate construction failed");
        return NULL;
    }
    return x;
}

/* The leaf for req (borrowed; an SM2 request gets the GM/T ID attached
 * for its verification): proof of possession, the key's algorithm, the
 * subject, then the CA's signature. NULL req: the CSR did not parse. */
static X509 *issue_req(mc_ca *ca, X509_REQ *req, int64_t not_before, int64_t not_after,
                       unsigned ku, mc_err *err)
{
    X509_NAME *subj = NULL;
    X509 *x;
    EVP_PKEY *pub;
    char kustr[200];
    mc_alg alg;

    if (ca == NULL) {
        mc_err_set(err, 500, "internal", "no CA");
        return NULL;
    }
    if (not_after <= not_before || !ku_string(ku, kustr, sizeof(kustr))) {
        mc_err_set(err, 400, "bad_request", "bad validity or key usage");
        return NULL;
    }
    if (req == NULL) {
        mc_err_set(err, 400, "bad_csr", "CSR is not PEM or DER (max %d bytes)",
                   MC_CSR_MAX);
        goto err;
    }
    if ((pub = X509_REQ_get0_pubkey(req)) == NULL) {
        mc_err_set(err, 400, "bad_csr", "CSR public key unreadable");
        goto err;
    }
    if ((alg = mc_pkey_alg(pub)) == MC_ALG_NONE) {
        mc_err_set(err, 400, "unsupported_key",
                   "CSR key is neither SM2 nor P-256");
        goto err;
    }
    if (csr_pop(req, alg, pub, err) != 0)
        goto err;
    if ((subj = csr_subject(X509_REQ_get_subject_name(req), err)) == NULL)
        goto err;
    x = leaf_build(ca, subj, pub, not_before, not_after, kustr, err);
    X509_NAME_free(subj);
    return x;
err:
    ERR_clear_error();
    X509_NAME_free(subj);
    return NULL;
}

X509 *mc_ca_issue_ex(mc_ca *ca, const uint8_t *csr, size_t csrlen,
                     int64_t not_before, int64_t not_after, unsigned ku,
                     mc_err *err)
{
    X509_REQ *req = csr != NULL && csrlen > 0 && csrlen <= MC_CSR_MAX
                        ? csr_parse(csr, csrlen)
                        : NULL;
    X509 *x = issue_req(ca, req, not_before, not_after, ku, err);
    X509_REQ_free(req);
    return x;
}

/* mc_ca_issue's validity: from now-60s for days (1..MC_LEAF_DAYS_MAX). */
static int leaf_validity(int days, int64_t *nb, int64_t *na, mc_err *err)
{
    int64_t now = (int64_t)time(NULL);

    if (days < 1 || days > MC_LEAF_DAYS_MAX)
        return mc_err_set(err, 400, "bad_request", "validity must be 1..%d days",
                          MC_LEAF_DAYS_MAX);
    *nb = now - 60;
    *na = now + (int64_t)days * 86400;
    return 0;
}

X509 *mc_ca_issue(mc_ca *ca, const uint8_t *csr, size_t csrlen, int days,
                  mc_err *err)
{
    int64_t nb, na;

    if (leaf_validity(days, &nb, &na, err) != 0)
        return NULL;
    return mc_ca_issue_ex(ca, csr, csrlen, nb, na,
                          KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, err);
}

X509 *mc_ca_issue_req(mc_ca *ca, X509_REQ *req, int days, mc_err *err)
{
    int64_t nb, na;

    if (leaf_validity(days, &nb, &na, err) != 0)
        return NULL;
    return issue_req(ca, req, nb, na, KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, err);
}

/* ------------------------------------------------------------------ */
/* re-issuance (renewal, EST simplereenroll)                           */

/* Latest time a certificate may carry (9999-12-31T23:59:59Z, RFC 5280's
 * GeneralizedTime limit); earlier than 1970 is refused too. */
#define REISSUE_TIME_MAX INT64_C(253402300799)

/* 1 if a and b have the same DER encoding (a name's cached encoding: the
 * bytes received or issued, not a re-encoding). */
static int name_der_equal(const X509_NAME *a, const X509_NAME *b)
{
    const unsigned char *pa, *pb;
    size_t na, nb;

    if (a == NULL || b == NULL || X509_NAME_get0_der(a, &pa, &na) != 1 ||
        X509_NAME_get0_der(b, &pb, &nb) != 1) {
        ERR_clear_error();
        return 0;
    }
    return na == nb && memcmp(pa, pb, na) == 0;
}

X509 *mc_ca_reissue(mc_ca *ca, X509 *old, EVP_PKEY *pub, int64_t not_before,
                    int64_t not_after, mc_err *err)
{
    static const char kustr[] = "critical,digitalSignature,nonRepudiation";
    X509 *x;

    if (ca == NULL || old == NULL) {
        mc_err_set(err, 500, "internal", "no CA or no certificate");
        return NULL;
    }
    if (not_before < 0 || not_after <= not_before || not_after > REISSUE_TIME_MAX) {
        mc_err_set(err, 400, "bad_request", "bad validity");
        return NULL;
    }
    if (pub == NULL)
        pub = X509_get0_pubkey(old);
    if (pub == NULL) {
        ERR_clear_error();
        mc_err_set(err, 500, "internal", "certificate public key unreadable");
        return NULL;
    }
    if (mc_pkey_alg(pub) == MC_ALG_NONE) {
        mc_err_set(err, 400, "unsupported_key", "key is neither SM2 nor P-256");
        return NULL;
    }
    x = leaf_build(ca, X509_get_subject_name(old), pub, not_before, not_after,
                   kustr, err);
    /* X509_set_subject_name copies through DER, which keeps the name's
     * cached encoding; this holds it to that. */
    if (x != NULL &&
        !name_der_equal(X509_get_subject_name(x), X509_get_subject_name(old))) {
        X509_free(x);
        mc_err_set(err, 500, "internal", "subject did not copy exactly");
        return NULL;
    }
    return x;
}

EVP_PKEY *mc_csr_rekey_check(const uint8_t *csr, size_t n, X509 *old,
                             mc_err *err)
{
    const unsigned char *q = csr;
    unsigned char *re = NULL;
    X509_REQ *req = NULL;
    EVP_PKEY *pub, *oldpub, *out = NULL;
    mc_alg alg;
    int relen;

    if (old == NULL || (oldpub = X509_get0_pubkey(old)) == NULL) {
        ERR_clear_error();
        mc_err_set(err, 500, "internal", "no current certificate");
        return NULL;
    }
    /* One DER CertificationRequest spanning n exactly, as it re-encodes. */
    if (csr == NULL || n == 0 || n > MC_CSR_MAX ||
        (req = d2i_X509_REQ(NULL, &q, (long)n)) == NULL || q != csr + n ||
        (relen = i2d_X509_REQ(req, &re)) != (int)n || memcmp(re, csr, n) != 0) {
        mc_err_set(err, 400, "bad_csr", "CSR is not one DER PKCS#10 of at most %d bytes",
                   MC_CSR_MAX);
        goto done;
    }
    if ((pub = X509_REQ_get0_pubkey(req)) == NULL) {
        mc_err_set(err, 400, "bad_csr", "CSR public key unreadable");
        goto done;
    }
    if ((alg = mc_pkey_alg(pub)) == MC_ALG_NONE) {
        mc_err_set(err, 400, "unsupported_key", "CSR key is neither SM2 nor P-256");
        goto done;
    }
    if (csr_pop(req, alg, pub, err) != 0)
        goto done;
    if (alg != mc_pkey_alg(oldpub)) {
        mc_err_set(err, 409, "alg_mismatch",
                   "CSR key algorithm differs from the certificate's");
        goto done;
    }
    if (!name_der_equal(X509_REQ_get_subject_name(req), X509_get_subject_name(old))) {
        mc_err_set(err, 409, "subject_mismatch",
                   "CSR subject differs from the certificate's");
        goto done;
    }
    if (EVP_PKEY_eq(pub, oldpub) == 1) {
        mc_err_set(err, 409, "same_key", "CSR key is the certificate's key");
        goto done;
    }
    if (!EVP_PKEY_up_ref(pub)) {
        mc_err_set(err, 500, "internal", "EVP_PKEY_up_ref failed");
        goto done;
    }
    out = pub;
done:
    ERR_clear_error();
    OPENSSL_free(re);
    X509_REQ_free(req);
    return out;
}

/* ------------------------------------------------------------------ */
/* trust store                                                         */

mc_trust *mc_trust_new(void)
{
    mc_trust *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    /* Every certificate in the store is an anchor; verification contexts
     * inherit the flag (see the file comment and mc_trust_add). */
    if ((t->store = X509_STORE_new()) == NULL ||
        X509_STORE_set_flags(t->store, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
        X509_STORE_free(t->store);
        free(t);
        return NULL;
    }
    return t;
}

void mc_trust_free(mc_trust *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    free(t);
}

int mc_trust_add(mc_trust *t, X509 *anchor)
{
    if (t == NULL || anchor == NULL || X509_check_ca(anchor) == 0)
        return -1;
    if (!x509_attach_sm2_id(anchor) || X509_STORE_add_cert(t->store, anchor) != 1) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

/* Add every certificate of one PEM file; returns how many, -1 on error. */
static int trust_load_file(mc_trust *t, const char *path)
{
    mc_buf b = {0};
    BIO *bio = NULL;
    STACK_OF(X509_INFO) *infos = NULL;
    int count = -1, n = 0;

    if (read_small_file(path, CA_FILE_MAX, &b) != 0 || b.len > INT_MAX ||
        (bio = BIO_new_mem_buf(b.ptr, (int)b.len)) == NULL ||
        (infos = PEM_X509_INFO_read_bio(bio, NULL, no_password_cb, NULL)) == NULL)
        goto done;
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *xi = sk_X509_INFO_value(infos, i);
        if (xi->x509 == NULL)
            continue;
        if (mc_trust_add(t, xi->x509) != 0)
            goto done;
        n++;
    }
    count = n;
done:
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(bio);
    mc_buf_free_secure(&b); /* a stray key file must not linger in memory */
    return count;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

mc_trust *mc_trust_load(const char *path, mc_err *err)
{
    mc_trust *t = NULL;
    DIR *d = NULL;
    struct stat st;
    int total = 0, n;

    if (path == NULL || stat(path, &st) != 0) {
        mc_err_set(err, 500, "config", "trust path %s: %s",
                   path ? path : "(null)", strerror(errno));
        return NULL;
    }
    if ((t = mc_trust_new()) == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        struct dirent *de;
        if ((d = opendir(path)) == NULL) {
            mc_err_set(err, 500, "config", "trust dir %s: %s", path,
                       strerror(errno));
            goto err;
        }
        while ((de = readdir(d)) != NULL) {
            char fpath[PATH_MAX];
            if (!has_suffix(de->d_name, ".crt") && !has_suffix(de->d_name, ".pem"))
                continue;
            if ((size_t)snprintf(fpath, sizeof(fpath), "%s/%s", path,
                                 de->d_name) >= sizeof(fpath) ||
                (n = trust_load_file(t, fpath)) <= 0) {
                mc_err_set(err, 500, "config",
                           "trust file %s/%s: no usable CA certificate", path,
                           de->d_name);
                goto err;
            }
            total += n;
        }
    } else if ((n = trust_load_file(t, path)) > 0) {
        total = n;
    }
    if (total == 0) {
        mc_err_set(err, 500, "config", "no CA certificate found in %s", path);
        goto err;
    }
    if (d != NULL)
        closedir(d);
    return t;
err:
    ERR_clear_error();
    if (d != NULL)
        closedir(d);
    mc_trust_free(t);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* presented chains                                                    */

/* Parse one DER certificate strictly: size limits, the encoding spans the
 * slice exactly, and re-encoding gives the same bytes (no BER in what
 * OpenSSL re-encodes; tbsCertificate is kept as received, and it is what
 * the issuer signed). One encoding pass plus an allocation per certificate. */
static X509 *der_parse_strict(mc_slice s)
{
    const unsigned char *p = s.ptr;
    unsigned char *re = NULL;
    int relen;
    X509 *x;

    if (s.ptr == NULL || s.len == 0 || s.len > MC_CERT_DER_MAX)
        return NULL;
    if ((x = d2i_X509(NULL, &p, (long)s.len)) == NULL)
        return NULL;
    relen = i2d_X509(x, &re);
    if (p != s.ptr + s.len || relen != (int)s.len ||
        memcmp(re, s.ptr, s.len) != 0) {
        X509_free(x);
        x = NULL;
    }
    OPENSSL_free(re);
    return x;
}

/* Read a DER tag 0x30 (SEQUENCE) header at p[0..n): sets *hdr (header
 * bytes) and *len (content bytes). 0 / -1 (not a SEQUENCE, indefinite or
 * over-long length, or content beyond n). */
static int der_seq(const uint8_t *p, size_t n, size_t *hdr, size_t *len)
{
    if (n < 2 || p[0] != 0x30)
        return -1;
    size_t h = 2, l = p[1];
    if (l & 0x80) {
        size_t k = l & 0x7f;
        if (k == 0 || k > 4 || n < 2 + k)
            return -1;
        l = 0;
        for (size_t i = 0; i < k; i++)
            l = (l << 8) | p[2 + i];
        h += k;
    }
    if (l > n - h)
        return -1;
    *hdr = h;
    *len = l;
    return 0;
}

int mc_der_one_seq(const uint8_t *p, size_t n)
{
    size_t h, l;
    return p != NULL && der_seq(p, n, &h, &l) == 0 && h + l == n;
}

int mc_cert_fingerprint(const uint8_t *der, size_t n, uint8_t fp[32])
{
    size_t oh, ol, th, tl;
    /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, ... } */
    if (der == NULL || der_seq(der, n, &oh, &ol) != 0 || oh + ol != n ||
        der_seq(der + oh, ol, &th, &tl) != 0)
        return -1;
    mc_sha256(der + oh, th + tl, fp);
    return 0;
}

int mc_serial_hex(const ASN1_INTEGER *sn, char out[41])
{
    static const char digits[] = "0123456789ABCDEF";
    const unsigned char *p = sn != NULL ? ASN1_STRING_get0_data(sn) : NULL;
    int n = sn != NULL ? ASN1_STRING_length(sn) : 0;

    out[0] = '\0';
    if (p == NULL || ASN1_STRING_type(sn) != V_ASN1_INTEGER)
        return -1;
    while (n > 1 && p[0] == 0) {
        p++;
        n--;
    }
    if (n < 1 || n > 20)
        return -1;
    for (int i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
    return 0;
}

/* Fill info from x, whose exact DER encoding is der (the fingerprint is
 * taken over those bytes, so callers holding them need not re-encode). */
static int fill_info(X509 *x, mc_slice der, mc_cert_info *info, mc_err *err)
{
    unsigned char *uscc = NULL;
    size_t ulen;

    memset(info, 0, sizeof(*info));
    if (mc_cert_fingerprint(der.ptr, der.len, info->fp) != 0)
        return mc_err_set(err, 400, "bad_cert", "not a certificate");
    mc_hex(info->fp, sizeof(info->fp), info->fp_hex);

    if (mc_serial_hex(X509_get0_serialNumber(x), info->serial_hex) != 0)
        return mc_err_set(err, 400, "bad_cert", "serial number out of range");

    if (name_field(X509_get_subject_name(x), NID_commonName, info->cn,
                   sizeof(info->cn)) != 0 ||
        name_field(X509_get_subject_name(x), NID_organizationName,
                   info->org_name, sizeof(info->org_name)) != 0 ||
        name_field(X509_get_issuer_name(x), NID_commonName, info->issuer_cn,
                   sizeof(info->issuer_cn)) != 0)
        return mc_err_set(err, 400, "bad_cert",
                          "duplicate or unreadable CN or O");
    /* Absent, duplicated or invalid: no organisation (uscc stays ""). */
    if (name_get_utf8(X509_get_subject_name(x), NID_organizationIdentifier,
                      &uscc, &ulen) == 1 &&
        mc_uscc_valid((const char *)uscc, ulen))
        memcpy(info->uscc, uscc, MC_USCC_LEN);
    OPENSSL_free(uscc);
    if (!asn1_time_unix(X509_get0_notBefore(x), &info->not_before) ||
        !asn1_time_unix(X509_get0_notAfter(x), &info->not_after))
        return mc_err_set(err, 400, "bad_cert", "bad validity time");
    info->path_not_after = info->not_after;
    info->alg = mc_pkey_alg(X509_get0_pubkey(x));
    return 0;
}

int mc_cert_info_of(X509 *x, mc_cert_info *info, mc_err *err)
{
    unsigned char *der = NULL;
    int derlen, rc;

    if (x == NULL || info == NULL)
        return mc_err_set(err, 400, "bad_cert", "no certificate");
    if ((derlen = i2d_X509(x, &der)) <= 0)
        rc = mc_err_set(err, 400, "bad_cert", "certificate does not encode");
    else
        rc = fill_info(x, (mc_slice){der, (size_t)derlen}, info, err);
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}

int mc_cert_info_der(X509 *x, mc_buf *der, mc_cert_info *info, mc_err *err)
{
    size_t off = der->len;

    if (x == NULL || info == NULL)
        return mc_err_set(err, 400, "bad_cert", "no certificate");
    if (mc_x509_der(x, der) != 0) {
        ERR_clear_error();
        return mc_err_set(err, 400, "bad_cert", "certificate does not encode");
    }
    int rc = fill_info(x, (mc_slice){der->ptr + off, der->len - off}, info, err);
    ERR_clear_error();
    return rc;
}

/* The earliest notAfter over a verified path (leaf to anchor), into *out,
 * which holds the leaf's on entry. 0 / -1 (an unreadable time). */
static int path_not_after(STACK_OF(X509) *path, int64_t *out)
{
    for (int i = 0; i < sk_X509_num(path); i++) {
        int64_t na;
        if (!asn1_time_unix(X509_get0_notAfter(sk_X509_value(path, i)), &na))
            return -1;
        if (na < *out)
            *out = na;
    }
    return 0;
}

/* OpenSSL's path validation of certs[0] (untrusted: the rest) at time
 * `at`: 1 valid; 0 refused, with the X509_V_ERR_* in *e and its depth in
 * *depth; -1 out of memory (err set). sctx is (re)initialised here; its
 * chain is valid until the next call or its free. */
static int path_verify(const mc_trust *t, X509_STORE_CTX *sctx, X509 *leaf,
                       STACK_OF(X509) *untrusted, int64_t at, int *e, int *depth,
                       mc_err *err)
{
    X509_STORE_CTX_cleanup(sctx);
    if (!X509_STORE_CTX_init(sctx, t->store, leaf, untrusted))
        return mc_err_set(err, 500, "internal", "verify context setup failed");
    /* X509_V_FLAG_PARTIAL_CHAIN comes from the store (mc_trust_new). */
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(sctx), (time_t)at);
    if (X509_verify_cert(sctx) == 1)
        return 1;
    *e = X509_STORE_CTX_get_error(sctx);
    *depth = X509_STORE_CTX_get_error_depth(sctx);
    return 0;
}

/* The checks of mc_cert_verify_chain after the parse, on certs[0..n)
 * (borrowed, the SM2 ID attached), whose DER encodings are chain[0..n). */
static int verify_parsed(const mc_trust *t, X509 *const *certs, const mc_slice *chain,
                         size_t n, int64_t now, int64_t grace, mc_cert_info *info,
                         EVP_PKEY **leaf_pub, mc_err *err)
{
    STACK_OF(X509) *untrusted = NULL;
    X509_STORE_CTX *sctx = NULL;
    mc_cert_info li;
    EVP_PKEY *pub;
    int64_t leaf_na;
    int rc = -1, ok, e = 0, depth = 0;

    if ((untrusted = sk_X509_new_reserve(NULL, (int)n)) == NULL ||
        (sctx = X509_STORE_CTX_new()) == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto done;
    }
    for (size_t i = 1; i < n; i++)
        sk_X509_push(untrusted, certs[i]); /* borrowed; cannot fail (reserved) */
    if ((ok = path_verify(t, sctx, certs[0], untrusted, now, &e, &depth, err)) < 0)
        goto done;
    /* The grace case: at `now` the only fault is the leaf's expiry.
     * OpenSSL checks the path from the anchor down, signature then time at
     * each level, and stops at the first fault: a leaf expiry (depth 0)
     * means the anchor and intermediates were valid at now and the leaf's
     * signature verified. What comes after the time checks (name
     * constraints, policy) was not run, so the whole path is verified once
     * more at the leaf's last valid second (OpenSSL takes notAfter itself
     * as expired). */
    if (ok == 0 && grace > 0 && e == X509_V_ERR_CERT_HAS_EXPIRED && depth == 0 &&
        asn1_time_unix(X509_get0_notAfter(certs[0]), &leaf_na) && now > leaf_na &&
        now - leaf_na <= grace &&
        (ok = path_verify(t, sctx, certs[0], untrusted, leaf_na - 1, &e, &depth,
                          err)) < 0)
        goto done;
    if (ok == 0) {
        if (e == X509_V_ERR_CERT_HAS_EXPIRED)
            mc_err_set(err, 403, "cert_expired", "certificate has expired");
        else if (e == X509_V_ERR_CERT_NOT_YET_VALID)
            mc_err_set(err, 403, "cert_not_yet_valid",
                       "certificate is not yet valid");
        else
            mc_err_set(err, 403, "cert_untrusted", "certificate untrusted: %s",
                       X509_verify_cert_error_string(e));
        goto done;
    }
    pub = X509_get0_pubkey(certs[0]);
    if (mc_pkey_alg(pub) == MC_ALG_NONE) {
        mc_err_set(err, 400, "unsupported_key",
                   "certificate key is neither SM2 nor P-256");
        goto done;
    }
    if (!(X509_get_extension_flags(certs[0]) & EXFLAG_KUSAGE) ||
        !(X509_get_key_usage(certs[0]) & KU_DIGITAL_SIGNATURE)) {
        mc_err_set(err, 403, "cert_key_usage",
                   "certificate lacks keyUsage digitalSignature");
        goto done;
    }
    /* The purpose: a phone certificate authenticates a client. Required
     * outright (an absent extendedKeyUsage does not count as "any"): our CA
     * always writes clientAuth, and a third-party anchor's server or
     * code-signing leaves must not log anyone in. */
    if (!(X509_get_extension_flags(certs[0]) & EXFLAG_XKUSAGE) ||
        !(X509_get_extended_key_usage(certs[0]) & XKU_SSL_CLIENT)) {
        mc_err_set(err, 403, "cert_ext_key_usage",
                   "certificate lacks extendedKeyUsage clientAuth");
        goto done;
    }
    /* A CA is never a holder's certificate, whatever its keyUsage says:
     * basicConstraints CA:TRUE (EXFLAG_CA; X509_check_ca alone answers 0
     * for CA:TRUE with a keyUsage lacking keyCertSign), or what
     * mc_trust_add would take as a CA (keyCertSign without
     * basicConstraints, a v1 self-signed root). */
    if ((X509_get_extension_flags(certs[0]) & EXFLAG_CA) ||
        X509_check_ca(certs[0]) != 0) {
        mc_err_set(err, 403, "cert_is_ca", "certificate is a CA certificate");
        goto done;
    }
    if (fill_info(certs[0], chain[0], &li, err) != 0)
        goto done;
    if (li.uscc[0] == '\0') {
        mc_err_set(err, 403, "cert_no_org",
                   "certificate names no valid organizationIdentifier");
        goto done;
    }
    if (path_not_after(X509_STORE_CTX_get0_chain(sctx), &li.path_not_after) != 0) {
        mc_err_set(err, 400, "bad_cert", "bad validity time in the chain");
        goto done;
    }
    li.self_signed = 0;
    for (size_t i = 0; i < n && i < sizeof(li.self_signed) * 8; i++)
        if (X509_NAME_cmp(X509_get_subject_name(certs[i]), X509_get_issuer_name(certs[i])) == 0)
            li.self_signed |= 1u << i;
    if (info != NULL)
        *info = li;
    if (leaf_pub != NULL) {
        if (!EVP_PKEY_up_ref(pub)) {
            mc_err_set(err, 500, "internal", "EVP_PKEY_up_ref failed");
            goto done;
        }
        *leaf_pub = pub;
    }
    rc = 0;
done:
    if (rc != 0)
        ERR_clear_error();
    X509_STORE_CTX_free(sctx);
    sk_X509_free(untrusted);
    return rc;
}

/* The arguments every entry checks first. 0 / -1. */
static int verify_args(const mc_trust *t, const mc_slice *chain, size_t n,
                       EVP_PKEY **leaf_pub, mc_err *err)
{
    if (leaf_pub != NULL)
        *leaf_pub = NULL;
    if (t == NULL)
        return mc_err_set(err, 500, "internal", "no trust store");
    if (chain == NULL || n == 0 || n > MC_CHAIN_MAX)
        return mc_err_set(err, 400, "bad_cert",
                          "chain must hold 1..%d certificates", MC_CHAIN_MAX);
    return 0;
}

static int bad_der(size_t i, mc_err *err)
{
    return mc_err_set(err, 400, "bad_cert", "certificate %zu is not DER of at most %d bytes",
                      i, MC_CERT_DER_MAX);
}

/* mc_cert_verify_chain, and with grace > 0 mc_cert_verify_chain_grace. */
static int verify_chain(const mc_trust *t, const mc_slice *chain, size_t n,
                        int64_t now, int64_t grace, mc_cert_info *info,
                        EVP_PKEY **leaf_pub, mc_err *err)
{
    X509 *certs[MC_CHAIN_MAX] = {0};
    int rc = -1;

    if (verify_args(t, chain, n, leaf_pub, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((certs[i] = der_parse_strict(chain[i])) == NULL) {
            bad_der(i, err);
            goto done;
        }
        if (!x509_attach_sm2_id(certs[i])) {
            mc_err_set(err, 500, "internal", "out of memory");
            goto done;
        }
    }
    rc = verify_parsed(t, certs, chain, n, now, grace, info, leaf_pub, err);
done:
    if (rc != 0)
        ERR_clear_error();
    for (size_t i = 0; i < MC_CHAIN_MAX; i++)
        X509_free(certs[i]);
    return rc;
}

int mc_cert_verify_x509(const mc_trust *t, X509 *const *certs, const mc_slice *chain,
                        size_t n, int64_t now, mc_cert_info *info, EVP_PKEY **leaf_pub,
                        mc_err *err)
{
    if (verify_args(t, chain, n, leaf_pub, err) != 0)
        return -1;
    if (certs == NULL)
        return bad_der(0, err);
    /* der_parse_strict's limits; chain[i] is certs[i]'s own encoding, so
     * its re-encoding check holds by construction */
    for (size_t i = 0; i < n; i++) {
        if (certs[i] == NULL || chain[i].ptr == NULL || chain[i].len == 0 ||
            chain[i].len > MC_CERT_DER_MAX)
            return bad_der(i, err);
        if (!x509_attach_sm2_id(certs[i])) {
            ERR_clear_error();
            return mc_err_set(err, 500, "internal", "out of memory");
        }
    }
    return verify_parsed(t, certs, chain, n, now, 0, info, leaf_pub, err);
}

int mc_cert_verify_chain(const mc_trust *t, const mc_slice *chain, size_t n,
                         int64_t now, mc_cert_info *info, EVP_PKEY **leaf_pub,
                         mc_err *err)
{
    return verify_chain(t, chain, n, now, 0, info, leaf_pub, err);
}

int mc_cert_verify_chain_grace(const mc_trust *t, const mc_slice *chain,
                               size_t n, int64_t now, int64_t grace,
                               mc_cert_info *info, EVP_PKEY **leaf_pub,
                               mc_err *err)
{
    if (grace < 0)
        return mc_err_set(err, 500, "internal", "negative grace");
    return verify_chain(t, chain, n, now, grace, info, leaf_pub, err);
}

int mc_x509_der(X509 *x, mc_buf *out)
{
    int len;
    unsigned char *p;

    if (x == NULL || out == NULL || (len = i2d_X509(x, NULL)) <= 0)
        return -1;
    mc_buf_reserve(out, (size_t)len);
    p = out->ptr + out->len;
    if (i2d_X509(x, &p) != len)
        return -1;
    out->len += (size_t)len;
    return 0;
}

int mc_serial_norm(const char *s, size_t n, char out[41])
{
    uint8_t raw[20];
    if (n < 2 || n > 40 || n % 2 != 0 || mc_unhex(s, n, raw, n / 2) != 0)
        return -1;
    size_t k = 0;
    while (k + 1 < n / 2 && raw[k] == 0)
        k++;
    for (size_t j = k; j < n / 2; j++)
        snprintf(out + 2 * (j - k), 3, "%02X", raw[j]);
    out[2 * (n / 2 - k)] = '\0';
    return 0;
}
