/*
 * test_x509.c — unit tests of core/crypto/mc_x509.c: the CA (create, save, load,
 * issue), the trust store, and the acceptance checks of presented chains.
 *
 * Why: every login and signature depends on mc_cert_verify_chain saying
 * "no" to everything that is not a current, trusted, digitalSignature,
 * clientAuth, non-CA, SM2/P-256 certificate naming a valid USCC, with the
 * right error code. So
 * each refusal has its own test, built from a certificate that differs from
 * a good one in exactly that respect. Certificates that mc_ca_issue refuses
 * to make (P-384 or RSA keys, no USCC, no keyUsage, oversized) are crafted
 * with raw OpenSSL, signed with the real CA key read back from ca.key.
 *
 * Both CA algorithms are covered; an SM2 CA exercises the OpenSSL 3.0
 * distinguishing-ID handling on CSRs, leaves and intermediates.
 *
 * Non-goals: CLI or server behaviour (their own tests).
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mc_testenv.h"
#include "mc_x509.h"

#define USCC_OK "91350100M000100Y43"
#define USCC_OK2 "91110108MA01ABCDEN"
#define USCC_BAD "91350100M000100Y44" /* wrong check character */

/* ---------------------------------------------------------------- */
/* fixtures                                                           */

/* One CA with its key (read back from the saved ca.key, as an outsider
 * crafting certificates would need) and a trust store holding it. */
typedef struct test_ca {
    mc_ca *ca;
    EVP_PKEY *key;
    mc_alg alg;
    mc_trust *trust;
    char dir[64];
} test_ca;

typedef struct fixture {
    test_ca p256;  /* P-256 CA, "mcert Test CA" */
    test_ca sm2;   /* SM2 CA, "mcert SM2 Test CA" */
    test_ca other; /* unrelated P-256 CA with the same CN as p256 */
    test_ca third; /* a third-party root, trusted beside p256 in one test */
} fixture;

static void rm_dir(const char *dir)
{
    static const char *const files[] = {"ca.key", "ca.crt", "a.crt", "b.pem",
                                        "c.txt", "leaf.pem", "x.crt"};
    char p[256];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

static EVP_PKEY *read_key_pem(const char *dir)
{
    char p[256];
    FILE *f;
    EVP_PKEY *k;

    snprintf(p, sizeof(p), "%s/ca.key", dir);
    assert_non_null(f = fopen(p, "r"));
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static void test_ca_init(test_ca *t, mc_alg alg, const char *cn)
{
    mc_err err;
    snprintf(t->dir, sizeof(t->dir), "/tmp/mcert_x509_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    t->alg = alg;
    t->ca = mc_ca_create(alg, cn, 3650, &err);
    assert_non_null(t->ca);
    assert_int_equal(mc_ca_save(t->ca, t->dir, &err), 0);
    t->key = read_key_pem(t->dir);
    assert_non_null(t->trust = mc_trust_new());
    assert_int_equal(mc_trust_add(t->trust, mc_ca_cert(t->ca)), 0);
}

static void test_ca_fini(test_ca *t)
{
    mc_ca_free(t->ca);
    EVP_PKEY_free(t->key);
    mc_trust_free(t->trust);
    rm_dir(t->dir);
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    test_ca_init(&f->p256, MC_ALG_P256, "mcert Test CA");
    test_ca_init(&f->sm2, MC_ALG_SM2, "mcert SM2 Test CA");
    test_ca_init(&f->other, MC_ALG_P256, "mcert Test CA");
    test_ca_init(&f->third, MC_ALG_P256, "Example Third-Party Root CA");
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    test_ca_fini(&f->p256);
    test_ca_fini(&f->sm2);
    test_ca_fini(&f->other);
    test_ca_fini(&f->third);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- */
/* helpers                                                            */

typedef struct rdn {
    int nid;
    const char *val;
} rdn;

static const rdn subj_ok[] = {
    {NID_countryName, "CN"},
    {NID_organizationName, "福建某某科技有限公司"},
    {NID_organizationIdentifier, USCC_OK},
    {NID_organizationalUnitName, "dropped OU"},
    {NID_commonName, "张三"},
    {0, NULL},
};

static X509_NAME *make_name(const rdn *r)
{
    X509_NAME *n = X509_NAME_new();
    assert_non_null(n);
    for (; r->nid != 0; r++)
        assert_int_equal(X509_NAME_add_entry_by_NID(n, r->nid, MBSTRING_UTF8,
                                                    (const unsigned char *)r->val,
                                                    -1, -1, 0), 1);
    return n;
}

/* SM2: SM3 with the given ID (NULL: none, OpenSSL's empty default);
 * EC: SHA-256 (P-256) or SHA-384; RSA: SHA-256. Returns an md ctx ready
 * for X509_sign_ctx / X509_REQ_sign_ctx. */
static EVP_MD_CTX *sign_ctx(EVP_PKEY *key, const char *sm2_id)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *dg = EVP_sha256();

    assert_non_null(md);
    if (EVP_PKEY_is_a(key, "SM2"))
        dg = EVP_sm3();
    else if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 384)
        dg = EVP_sha384();
    assert_int_equal(EVP_DigestSignInit(md, &pctx, dg, NULL, key), 1);
    if (sm2_id != NULL)
        assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, sm2_id, strlen(sm2_id)), 1);
    return md;
}

static void buf_set(mc_buf *b, const void *p, size_t n)
{
    b->len = 0;
    mc_buf_append(b, p, n);
}

/* A CSR for key with subject r, signed with sm2_id for SM2 keys, as PEM
 * or DER into out (replaced). */
static void make_csr(EVP_PKEY *key, const rdn *r, const char *sm2_id, int pem,
                     mc_buf *out)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *n = make_name(r);
    EVP_MD_CTX *md = sign_ctx(key, sm2_id);

    assert_non_null(req);
    assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
    assert_int_equal(X509_REQ_set_subject_name(req, n), 1);
    assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
    assert_true(X509_REQ_sign_ctx(req, md) > 0);
    out->len = 0;
    if (pem) {
        BIO *b = BIO_new(BIO_s_mem());
        char *p;
        long len;
        assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
        len = BIO_get_mem_data(b, &p);
        mc_buf_append(out, p, (size_t)len);
        BIO_free(b);
    } else {
        unsigned char *der = NULL;
        int len = i2d_X509_REQ(req, &der);
        assert_true(len > 0);
        mc_buf_append(out, der, (size_t)len);
        OPENSSL_free(der);
    }
    EVP_MD_CTX_free(md);
    X509_NAME_free(n);
    X509_REQ_free(req);
}

static const char *sm2_id_for(EVP_PKEY *key)
{
    return EVP_PKEY_is_a(key, "SM2") ? MC_SM2_ID : NULL;
}

static X509 *issue(test_ca *c, EVP_PKEY *leaf_key, mc_err *err)
{
    mc_buf csr = {0};
    X509 *x;
    make_csr(leaf_key, subj_ok, sm2_id_for(leaf_key), 1, &csr);
    x = mc_ca_issue(c->ca, csr.ptr, csr.len, 365, err);
    mc_buf_free(&csr);
    return x;
}

/* Options of a certificate crafted with raw OpenSSL. */
typedef struct raw_opts {
    const rdn *subject;   /* default subj_ok */
    unsigned ku;          /* KU_* bits; 0 = no keyUsage extension, except
                             for a CA: keyCertSign+cRLSign */
    const char *eku;      /* extendedKeyUsage value; NULL = clientAuth for
                             a non-CA, none for a CA; "" = none */
    size_t pad;           /* bytes of nsComment padding */
    int ca;               /* basicConstraints CA:TRUE */
    int64_t nb, na;       /* validity; 0/0 = now-60 .. now+1 day */
} raw_opts;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *v)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ex;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    assert_non_null(ex = X509V3_EXT_nconf_nid(NULL, &ctx, nid, v));
    assert_int_equal(X509_add_ext(x, ex, -1), 1);
    X509_EXTENSION_free(ex);
}

/* A certificate for pub issued by (issuer_cert, issuer_key), bypassing
 * mc_ca_issue. SM2 issuers sign with MC_SM2_ID. */
static X509 *raw_cert(X509 *issuer_cert, EVP_PKEY *issuer_key, EVP_PKEY *pub,
                      const raw_opts *o)
{
    X509 *x = X509_new();
    X509_NAME *n = make_name(o->subject ? o->subject : subj_ok);
    EVP_MD_CTX *md = sign_ctx(issuer_key, sm2_id_for(issuer_key));
    int64_t now = (int64_t)time(NULL);
    int64_t nb = o->nb ? o->nb : now - 60, na = o->na ? o->na : now + 86400;

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567), 1);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer_cert)), 1);
    assert_int_equal(X509_set_subject_name(x, n), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
    assert_int_equal(X509_set_pubkey(x, pub), 1);
    add_ext(x, issuer_cert, NID_basic_constraints,
            o->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (o->ca && o->ku == 0) {
        add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else if (o->ku != 0) {
        char v[128] = "critical";
        if (o->ku & KU_DIGITAL_SIGNATURE)
            strcat(v, ",digitalSignature");
        if (o->ku & KU_NON_REPUDIATION)
            strcat(v, ",nonRepudiation");
        if (o->ku & KU_KEY_ENCIPHERMENT)
            strcat(v, ",keyEncipherment");
        if (o->ku & KU_KEY_CERT_SIGN)
            strcat(v, ",keyCertSign");
        add_ext(x, issuer_cert, NID_key_usage, v);
    }
    if (o->eku != NULL ? o->eku[0] != '\0' : !o->ca)
        add_ext(x, issuer_cert, NID_ext_key_usage, o->eku != NULL ? o->eku : "clientAuth");
    add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
    add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always");
    if (o->pad > 0) {
        char *c = malloc(o->pad + 1);
        assert_non_null(c);
        memset(c, 'x', o->pad);
        c[o->pad] = '\0';
        add_ext(x, issuer_cert, NID_netscape_comment, c);
        free(c);
    }
    assert_true(X509_sign_ctx(x, md) > 0);
    EVP_MD_CTX_free(md);
    X509_NAME_free(n);
    return x;
}

/* dir/name holding a, then b (either may be NULL) as PEM. */
static void write_pem_cert(const char *dir, const char *name, X509 *a, X509 *b)
{
    char p[256];
    FILE *fp;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    assert_non_null(fp = fopen(p, "w"));
    if (a != NULL)
        assert_int_equal(PEM_write_X509(fp, a), 1);
    if (b != NULL)
        assert_int_equal(PEM_write_X509(fp, b), 1);
    fclose(fp);
}

static void der_of(X509 *x, mc_buf *out)
{
    out->len = 0;
    assert_int_equal(mc_x509_der(x, out), 0);
}

/* Verify the one-certificate chain [x] against t at now. */
static int verify1(const mc_trust *t, X509 *x, int64_t now, mc_cert_info *info,
                   mc_err *err)
{
    mc_buf der = {0};
    mc_slice s;
    int rc;
    der_of(x, &der);
    s = (mc_slice){der.ptr, der.len};
    mc_err_clear(err);
    rc = mc_cert_verify_chain(t, &s, 1, now, info, NULL, err);
    mc_buf_free(&der);
    return rc;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void assert_err(int rc, const mc_err *err, const char *code, int status)
{
    assert_int_equal(rc, -1);
    assert_non_null(err->code);
    assert_string_equal(err->code, code);
    assert_int_equal(err->status, status);
}

/* ---------------------------------------------------------------- */
/* USCC                                                               */

static void test_uscc_valid_good_and_bad(void **state)
{
    static const char *const good[] = {
        USCC_OK, USCC_OK2, "12100000400000123X", "5211000050000112X1",
        "92330106MA2H2KQ10A", "913501000000000240" /* check 31 -> '0' */,
    };
    static const char *const bad[] = {
        USCC_BAD,
        "91350100m000100Y43",  /* lower case */
        "91350100M000100Y4",   /* 17 chars */
        "91350100M000100Y430", /* 19 chars */
        "91350100I000100Y43",  /* I not in the alphabet */
        "91350100O000100Y43",  /* O */
        "91350100S000100Y43",  /* S */
        "91350100Z000100Y43",  /* Z */
        "9135010 M000100Y43",
        "",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(mc_uscc_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(mc_uscc_valid(bad[i], strlen(bad[i])));
    /* Length is taken from n, not from a NUL. */
    assert_false(mc_uscc_valid(USCC_OK "X", 18 + 1));
    assert_true(mc_uscc_valid(USCC_OK "X", 18));
    assert_false(mc_uscc_valid("91350100M000100Y4\0", 18));
    assert_false(mc_uscc_valid(NULL, 18));
}

/* ---------------------------------------------------------------- */
/* CA                                                                 */

static void check_ca_cert(X509 *x, const char *cn)
{
    int crit = -1;
    BASIC_CONSTRAINTS *bc;
    ASN1_BIT_STRING *ku;
    mc_cert_info info;
    mc_err err;

    assert_non_null(x);
    bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_true(bc->ca);
    assert_int_equal(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
    assert_non_null(ku);
    assert_int_equal(crit, 1);
    ASN1_BIT_STRING_free(ku);
    assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(x));
    assert_int_equal(X509_check_issued(x, x), X509_V_OK);
    assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
    assert_int_equal(mc_cert_info_of(x, &info, &err), 0);
    assert_string_equal(info.cn, cn);
    assert_string_equal(info.issuer_cn, cn);
    assert_int_equal(strlen(info.serial_hex), 32);
}

static void ca_round_trip(mc_alg alg)
{
    mc_err err;
    char dir[] = "/tmp/mcert_x509_rt_XXXXXX";
    char path[128];
    struct stat st;
    mc_ca *ca, *loaded;
    mc_buf d1 = {0}, d2 = {0};
    EVP_PKEY *leaf_key = mc_keygen(MC_ALG_P256, &err);
    X509 *leaf;
    mc_trust *t = mc_trust_new();

    assert_non_null(mkdtemp(dir));
    ca = mc_ca_create(alg, "Round Trip CA", 30, &err);
    check_ca_cert(mc_ca_cert(ca), "Round Trip CA");
    assert_int_equal(mc_pkey_alg(X509_get0_pubkey(mc_ca_cert(ca))), alg);
    assert_int_equal(mc_ca_save(ca, dir, &err), 0);
    snprintf(path, sizeof(path), "%s/ca.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Saving again over existing files works and keeps 0600. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(mc_ca_save(ca, dir, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    loaded = mc_ca_load(dir, &err);
    assert_non_null(loaded);
    der_of(mc_ca_cert(ca), &d1);
    der_of(mc_ca_cert(loaded), &d2);
    assert_int_equal(d1.len, d2.len);
    assert_memory_equal(d1.ptr, d2.ptr, d1.len);
    check_ca_cert(mc_ca_cert(loaded), "Round Trip CA");

    /* The loaded CA issues leaves that the original's certificate trusts. */
    assert_int_equal(mc_trust_add(t, mc_ca_cert(ca)), 0);
    test_ca tc = {.ca = loaded};
    leaf = issue(&tc, leaf_key, &err);
    assert_non_null(leaf);
    assert_int_equal(verify1(t, leaf, now_s(), NULL, &err), 0);

    X509_free(leaf);
    mc_trust_free(t);
    EVP_PKEY_free(leaf_key);
    mc_buf_free(&d1);
    mc_buf_free(&d2);
    mc_ca_free(ca);
    mc_ca_free(loaded);
    rm_dir(dir);
}

static void test_ca_p256_create_save_load_round_trip(void **state)
{
    ca_round_trip(MC_ALG_P256);
}

static void test_ca_sm2_create_save_load_round_trip(void **state)
{
    ca_round_trip(MC_ALG_SM2);
}

static void test_ca_load_refuses_missing_or_mismatched_files(void **state)
{
    fixture *f = *state;
    mc_err err;
    char dir[] = "/tmp/mcert_x509_mm_XXXXXX";
    char src[128], dst[128];
    FILE *in, *out;
    int c;

    assert_null(mc_ca_load("/nonexistent/mcert", &err));
    assert_string_equal(err.code, "ca_io");
    assert_non_null(mkdtemp(dir));
    assert_null(mc_ca_load(dir, &err));
    assert_string_equal(err.code, "ca_io");
    /* ca.key of one CA with ca.crt of another. */
    assert_int_equal(mc_ca_save(f->p256.ca, dir, &err), 0);
    snprintf(src, sizeof(src), "%s/ca.crt", f->other.dir);
    snprintf(dst, sizeof(dst), "%s/ca.crt", dir);
    assert_non_null(in = fopen(src, "r"));
    assert_non_null(out = fopen(dst, "w"));
    while ((c = fgetc(in)) != EOF)
        fputc(c, out);
    fclose(in);
    fclose(out);
    assert_null(mc_ca_load(dir, &err));
    assert_string_equal(err.code, "ca_io");
    /* Garbage key file. */
    snprintf(dst, sizeof(dst), "%s/ca.key", dir);
    assert_non_null(out = fopen(dst, "w"));
    fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", out);
    fclose(out);
    assert_null(mc_ca_load(dir, &err));
    assert_string_equal(err.code, "ca_io");
    rm_dir(dir);

    assert_null(mc_ca_create(MC_ALG_NONE, "x", 10, &err));
    assert_string_equal(err.code, "unsupported_key");
    assert_null(mc_ca_create(MC_ALG_P256, "", 10, &err));
    assert_null(mc_ca_create(MC_ALG_P256, "x", 0, &err));
    assert_string_equal(err.code, "bad_request");
}

static void test_ca_load_refuses_encrypted_oversized_or_special_files(void **state)
{
    fixture *f = *state;
    mc_err err;
    char dir[] = "/tmp/mcert_x509_hf_XXXXXX";
    char kpath[128], cpath[128];
    FILE *fp;
    mc_ca *ca;

    assert_non_null(mkdtemp(dir));
    snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
    snprintf(cpath, sizeof(cpath), "%s/ca.crt", dir);
    assert_int_equal(mc_ca_save(f->p256.ca, dir, &err), 0);
    assert_non_null(ca = mc_ca_load(dir, &err)); /* the control */
    mc_ca_free(ca);

    /* ca.crt above the 64 KiB file limit (valid PEM, then blank lines). */
    assert_non_null(fp = fopen(cpath, "a"));
    for (int i = 0; i < 65536; i++)
        fputc('\n', fp);
    fclose(fp);
    assert_null(mc_ca_load(dir, &err));
    assert_string_equal(err.code, "ca_io");

    /* An encrypted key is refused without prompting for a password. */
    assert_int_equal(mc_ca_save(f->p256.ca, dir, &err), 0);
    assert_non_null(fp = fopen(kpath, "w"));
    assert_int_equal(PEM_write_PKCS8PrivateKey(fp, f->p256.key, EVP_aes_256_cbc(), NULL, 0,
                                               NULL, (void *)"secret"), 1);
    fclose(fp);
    assert_null(mc_ca_load(dir, &err));
    assert_string_equal(err.code, "ca_io");

    /* ca.key that is not a regular file. */
    assert_int_equal(unlink(kpath), 0);
    assert_int_equal(mkdir(kpath, 0700), 0);
    assert_null(mc_ca_load(dir, &err));
    assert_string_equal(err.code, "ca_io");
    assert_int_equal(rmdir(kpath), 0);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- */
/* issuance and the good path                                         */

/* Both encodings verify; they must be the same certificate to our records. */
static void test_rewritten_signature_keeps_the_fingerprint(void **state)
{
    fixture *f = *state;
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    X509 *x = issue(&f->p256, k, &err);
    assert_non_null(x);
    mc_buf a = {0}, b = {0};
    der_of(x, &a);
    mc_testenv_malleate(a.ptr, a.len, &b);
    assert_true(a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0);
    mc_cert_info ia, ib;
    mc_slice sa = {a.ptr, a.len}, sb = {b.ptr, b.len};
    assert_int_equal(mc_cert_verify_chain(f->p256.trust, &sa, 1, now_s(), &ia, NULL, &err), 0);
    assert_int_equal(mc_cert_verify_chain(f->p256.trust, &sb, 1, now_s(), &ib, NULL, &err), 0);
    assert_memory_equal(ia.fp, ib.fp, 32);
    assert_string_equal(ia.fp_hex, ib.fp_hex);
    /* malformed shapes have no fingerprint */
    uint8_t fp[32];
    assert_int_equal(mc_cert_fingerprint(a.ptr, a.len - 1, fp), -1);
    assert_int_equal(mc_cert_fingerprint(a.ptr, a.len, fp), 0);
    static const uint8_t not_seq[] = {0x31, 0x03, 0x30, 0x01, 0x00};
    static const uint8_t inner_long[] = {0x30, 0x03, 0x30, 0x05, 0x00};
    static const uint8_t huge_len[] = {0x30, 0x85, 1, 0, 0, 0, 0};
    assert_int_equal(mc_cert_fingerprint(not_seq, sizeof(not_seq), fp), -1);
    assert_int_equal(mc_cert_fingerprint(inner_long, sizeof(inner_long), fp), -1);
    assert_int_equal(mc_cert_fingerprint(huge_len, sizeof(huge_len), fp), -1);
    assert_int_equal(mc_cert_fingerprint(NULL, 0, fp), -1);
    mc_buf_free(&a);
    mc_buf_free(&b);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void check_leaf(test_ca *c, X509 *leaf, EVP_PKEY *leaf_key)
{
    mc_err err;
    mc_buf der = {0};
    mc_slice s;
    mc_cert_info info, info2;
    EVP_PKEY *pub = NULL;
    uint8_t fp[32];
    int crit = -1;
    ASN1_BIT_STRING *ku;
    BASIC_CONSTRAINTS *bc;
    EXTENDED_KEY_USAGE *eku;
    const X509_NAME *subj = X509_get_subject_name(leaf);
    int64_t now = now_s();

    assert_non_null(leaf);
    der_of(leaf, &der);
    s = (mc_slice){der.ptr, der.len};
    memset(&info, 0x55, sizeof(info));
    assert_int_equal(mc_cert_verify_chain(c->trust, &s, 1, now, &info, &pub, &err), 0);
    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_eq(pub, leaf_key), 1);
    assert_string_equal(info.cn, "张三");
    assert_string_equal(info.org_name, "福建某某科技有限公司");
    assert_string_equal(info.uscc, USCC_OK);
    assert_string_equal(info.issuer_cn,
                        c->alg == MC_ALG_SM2 ? "mcert SM2 Test CA" : "mcert Test CA");
    assert_int_equal(info.alg, mc_pkey_alg(leaf_key));
    /* the fingerprint is over the signed part (tbsCertificate), as OpenSSL
     * itself encodes it */
    unsigned char *tbs = NULL;
    int tbslen = i2d_re_X509_tbs(leaf, &tbs);
    assert_true(tbslen > 0);
    mc_sha256(tbs, (size_t)tbslen, fp);
    OPENSSL_free(tbs);
    assert_memory_equal(info.fp, fp, 32);
    char hex[65];
    mc_hex(fp, 32, hex);
    assert_string_equal(info.fp_hex, hex);
    assert_int_equal(strlen(info.serial_hex), 32);
    assert_null(strpbrk(info.serial_hex, "abcdef"));
    assert_true(info.not_before <= now - 59 && info.not_before >= now - 70);
    assert_true(info.not_after - info.not_before == 365 * 86400 + 60);

    /* mc_cert_info_of agrees with what the checks extracted. */
    assert_int_equal(mc_cert_info_of(leaf, &info2, &err), 0);
    assert_memory_equal(&info, &info2, sizeof(info));

    /* Subject: only O, organizationIdentifier and CN, in CSR order. */
    assert_int_equal(X509_NAME_entry_count(subj), 3);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(subj, 0))),
                     NID_organizationName);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(subj, 1))),
                     NID_organizationIdentifier);
    assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(subj, 2))),
                     NID_commonName);

    /* Extensions. */
    bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_false(bc->ca);
    assert_int_equal(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    ku = X509_get_ext_d2i(leaf, NID_key_usage, &crit, NULL);
    assert_non_null(ku);
    assert_int_equal(crit, 1);
    ASN1_BIT_STRING_free(ku);
    assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
    eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, &crit, NULL);
    assert_non_null(eku);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_client_auth);
    EXTENDED_KEY_USAGE_free(eku);
    assert_non_null(X509_get0_subject_key_id(leaf));
    assert_non_null(X509_get0_authority_key_id(leaf));
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
                                           X509_get0_subject_key_id(mc_ca_cert(c->ca))), 0);
    assert_int_equal(X509_get_signature_nid(leaf),
                     c->alg == MC_ALG_SM2 ? NID_SM2_with_SM3 : NID_ecdsa_with_SHA256);

    EVP_PKEY_free(pub);
    mc_buf_free(&der);
}

static void issue_and_check(test_ca *c, mc_alg leaf_alg)
{
    mc_err err;
    EVP_PKEY *k = mc_keygen(leaf_alg, &err);
    X509 *leaf = issue(c, k, &err);
    assert_non_null(leaf);
    check_leaf(c, leaf, k);
    X509_free(leaf);
    EVP_PKEY_free(k);
}

static void test_p256_ca_issues_p256_leaf_that_verifies(void **state)
{
    issue_and_check(&((fixture *)*state)->p256, MC_ALG_P256);
}

static void test_p256_ca_issues_sm2_leaf_that_verifies(void **state)
{
    issue_and_check(&((fixture *)*state)->p256, MC_ALG_SM2);
}

static void test_sm2_ca_issues_sm2_leaf_that_verifies(void **state)
{
    issue_and_check(&((fixture *)*state)->sm2, MC_ALG_SM2);
}

static void test_sm2_ca_issues_p256_leaf_that_verifies(void **state)
{
    issue_and_check(&((fixture *)*state)->sm2, MC_ALG_P256);
}

/* The OpenSSL 3.0 trap this module works around: a freshly parsed
 * SM2-signed certificate verifies only once the ID is attached to it. */
static void test_sm2_signed_leaf_needs_the_id_attached(void **state)
{
    fixture *f = *state;
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    X509 *leaf = issue(&f->sm2, k, &err), *fresh;
    mc_buf der = {0};
    const unsigned char *p;
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
    EVP_PKEY *ca_pub = X509_get0_pubkey(mc_ca_cert(f->sm2.ca));

    assert_non_null(leaf);
    assert_int_equal(X509_verify(leaf, ca_pub), 1); /* ID attached by issue */
    der_of(leaf, &der);
    p = der.ptr;
    assert_non_null(fresh = d2i_X509(NULL, &p, (long)der.len));
    assert_int_not_equal(X509_verify(fresh, ca_pub), 1);
    ERR_clear_error();
    assert_int_equal(ASN1_OCTET_STRING_set(id, (const unsigned char *)MC_SM2_ID,
                                           MC_SM2_ID_LEN), 1);
    X509_set0_distinguishing_id(fresh, id);
    assert_int_equal(X509_verify(fresh, ca_pub), 1);
    X509_free(fresh);
    X509_free(leaf);
    mc_buf_free(&der);
    EVP_PKEY_free(k);
}

static void test_csr_pem_and_der_both_accepted(void **state)
{
    fixture *f = *state;
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *k = mc_keygen(MC_ALG_SM2, &err);
    X509 *x;

    make_csr(k, subj_ok, MC_SM2_ID, 0, &csr);
    assert_non_null(x = mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    X509_free(x);
    make_csr(k, subj_ok, MC_SM2_ID, 1, &csr);
    assert_non_null(x = mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    X509_free(x);
    /* Leading blank line before PEM. */
    mc_buf pem = {0};
    mc_buf_append(&pem, "\r\n \n", 4);
    mc_buf_append(&pem, csr.ptr, csr.len);
    assert_non_null(x = mc_ca_issue(f->p256.ca, pem.ptr, pem.len, 30, &err));
    X509_free(x);
    mc_buf_free(&pem);
    mc_buf_free(&csr);
    EVP_PKEY_free(k);
}

static void test_chain_with_intermediate_verifies(void **state)
{
    fixture *f = *state;
    test_ca *roots[] = {&f->p256, &f->sm2};

    for (size_t i = 0; i < 2; i++) {
        test_ca *root = roots[i];
        mc_err err;
        char dir[] = "/tmp/mcert_x509_im_XXXXXX";
        EVP_PKEY *ikey = mc_keygen(root->alg, &err);
        EVP_PKEY *lkey = mc_keygen(MC_ALG_P256, &err);
        raw_opts o = {.ca = 1};
        X509 *icert = raw_cert(mc_ca_cert(root->ca), root->key, ikey, &o);
        mc_ca *ica;
        X509 *leaf;
        mc_buf d0 = {0}, d1 = {0};
        mc_slice chain[2];
        mc_cert_info info;
        char path[128];
        FILE *fp;

        /* Wrap the intermediate as an mc_ca through the file format. */
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/ca.key", dir);
        assert_non_null(fp = fopen(path, "w"));
        assert_int_equal(PEM_write_PKCS8PrivateKey(fp, ikey, NULL, NULL, 0, NULL, NULL), 1);
        fclose(fp);
        snprintf(path, sizeof(path), "%s/ca.crt", dir);
        assert_non_null(fp = fopen(path, "w"));
        assert_int_equal(PEM_write_X509(fp, icert), 1);
        fclose(fp);
        assert_non_null(ica = mc_ca_load(dir, &err));
        test_ca itc = {.ca = ica, .alg = root->alg};
        assert_non_null(leaf = issue(&itc, lkey, &err));

        der_of(leaf, &d0);
        der_of(icert, &d1);
        chain[0] = (mc_slice){d0.ptr, d0.len};
        chain[1] = (mc_slice){d1.ptr, d1.len};
        assert_int_equal(mc_cert_verify_chain(root->trust, chain, 2, now_s(), &info, NULL, &err), 0);
        assert_string_equal(info.uscc, USCC_OK);
        assert_int_equal(info.self_signed, 0); /* leaf and intermediate: none */
        {
            /* the root sent along is marked as the anchor it is (a
             * SignedData leaves it out) */
            mc_buf d2 = {0};
            der_of(mc_ca_cert(root->ca), &d2);
            mc_slice c3[3] = {chain[0], chain[1], {d2.ptr, d2.len}};
            assert_int_equal(mc_cert_verify_chain(root->trust, c3, 3, now_s(), &info, NULL, &err),
                             0);
            assert_int_equal(info.self_signed, 1u << 2);
            mc_buf_free(&d2);
        }
        /* Without the intermediate the leaf does not chain. */
        assert_err(mc_cert_verify_chain(root->trust, chain, 1, now_s(), &info, NULL, &err),
                   &err, "cert_untrusted", 403);
        /* The intermediate under another root does not chain either. */
        assert_err(mc_cert_verify_chain(f->other.trust, chain, 2, now_s(), &info, NULL, &err),
                   &err, "cert_untrusted", 403);
        /* Every certificate in a trust store is an anchor: trusting only the
         * intermediate accepts its leaves, with or without it in the chain. */
        mc_trust *it = mc_trust_new();
        assert_non_null(it);
        assert_int_equal(mc_trust_add(it, icert), 0);
        assert_int_equal(mc_cert_verify_chain(it, chain, 1, now_s(), &info, NULL, &err), 0);
        assert_int_equal(mc_cert_verify_chain(it, chain, 2, now_s(), &info, NULL, &err), 0);
        mc_trust_free(it);

        X509_free(leaf);
        X509_free(icert);
        mc_ca_free(ica);
        EVP_PKEY_free(ikey);
        EVP_PKEY_free(lkey);
        mc_buf_free(&d0);
        mc_buf_free(&d1);
        rm_dir(dir);
    }
}

/* ---------------------------------------------------------------- */
/* refusals: validity, trust, usage, organisation, key               */

static void test_expired_leaf_refused(void **state)
{
    fixture *f = *state;
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    int64_t now = now_s();
    X509 *x;

    make_csr(k, subj_ok, NULL, 1, &csr);
    x = mc_ca_issue_ex(f->p256.ca, csr.ptr, csr.len, now - 30 * 86400, now - 86400,
                       KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, &err);
    assert_non_null(x);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_expired", 403);
    X509_free(x);
    /* Expired seconds ago; the same certificate was fine while valid (the
     * CA itself is valid from its creation - 60 s). */
    x = mc_ca_issue_ex(f->p256.ca, csr.ptr, csr.len, now - 50, now - 20,
                       KU_DIGITAL_SIGNATURE, &err);
    assert_non_null(x);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_expired", 403);
    assert_int_equal(verify1(f->p256.trust, x, now - 30, NULL, &err), 0);
    X509_free(x);

    /* A current certificate checked at a time after notAfter. */
    x = mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 1, &err);
    assert_non_null(x);
    assert_err(verify1(f->p256.trust, x, now + 2 * 86400, NULL, &err), &err,
               "cert_expired", 403);
    X509_free(x);
    mc_buf_free(&csr);
    EVP_PKEY_free(k);
}

static void test_not_yet_valid_leaf_refused(void **state)
{
    fixture *f = *state;
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *k = mc_keygen(MC_ALG_SM2, &err);
    int64_t now = now_s();
    X509 *x;

    make_csr(k, subj_ok, MC_SM2_ID, 0, &csr);
    x = mc_ca_issue_ex(f->sm2.ca, csr.ptr, csr.len, now + 86400, now + 10 * 86400,
                       KU_DIGITAL_SIGNATURE, &err);
    assert_non_null(x);
    assert_err(verify1(f->sm2.trust, x, now, NULL, &err), &err, "cert_not_yet_valid", 403);
    assert_int_equal(verify1(f->sm2.trust, x, now + 2 * 86400, NULL, &err), 0);
    X509_free(x);
    mc_buf_free(&csr);
    EVP_PKEY_free(k);
}

static void test_leaf_of_other_ca_untrusted(void **state)
{
    fixture *f = *state;
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    X509 *x = issue(&f->other, k, &err); /* same CA name as f->p256 */
    mc_buf d0 = {0}, d1 = {0};
    mc_slice chain[2];

    assert_non_null(x);
    assert_err(verify1(f->p256.trust, x, now_s(), NULL, &err), &err, "cert_untrusted", 403);
    assert_err(verify1(f->sm2.trust, x, now_s(), NULL, &err), &err, "cert_untrusted", 403);
    /* Presenting the other CA's certificate as an intermediate changes
     * nothing: it is not an anchor. */
    der_of(x, &d0);
    der_of(mc_ca_cert(f->other.ca), &d1);
    chain[0] = (mc_slice){d0.ptr, d0.len};
    chain[1] = (mc_slice){d1.ptr, d1.len};
    assert_err(mc_cert_verify_chain(f->p256.trust, chain, 2, now_s(), NULL, NULL, &err),
               &err, "cert_untrusted", 403);
    /* But its own CA accepts it. */
    assert_int_equal(verify1(f->other.trust, x, now_s(), NULL, &err), 0);
    X509_free(x);
    mc_buf_free(&d0);
    mc_buf_free(&d1);
    EVP_PKEY_free(k);
}

static void test_tampered_leaf_signature_untrusted(void **state)
{
    fixture *f = *state;
    test_ca *cas[] = {&f->p256, &f->sm2};

    for (size_t i = 0; i < 2; i++) {
        mc_err err;
        EVP_PKEY *k = mc_keygen(MC_ALG_SM2, &err);
        X509 *x = issue(cas[i], k, &err);
        mc_buf der = {0};
        mc_slice s;
        uint8_t *cn;

        assert_non_null(x);
        der_of(x, &der);
        s = (mc_slice){der.ptr, der.len};
        assert_int_equal(mc_cert_verify_chain(cas[i]->trust, &s, 1, now_s(), NULL, NULL, &err), 0);
        /* Change one byte of the CN inside the signed part. */
        cn = memmem(der.ptr, der.len, "张三", strlen("张三"));
        assert_non_null(cn);
        cn[0] ^= 0x01;
        assert_err(mc_cert_verify_chain(cas[i]->trust, &s, 1, now_s(), NULL, NULL, &err),
                   &err, "cert_untrusted", 403);
        cn[0] ^= 0x01;
        /* Change the last byte of the signature. */
        der.ptr[der.len - 1] ^= 0x01;
        assert_err(mc_cert_verify_chain(cas[i]->trust, &s, 1, now_s(), NULL, NULL, &err),
                   &err, "cert_untrusted", 403);
        X509_free(x);
        mc_buf_free(&der);
        EVP_PKEY_free(k);
    }
}

static void test_wrong_key_usage_refused(void **state)
{
    fixture *f = *state;
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    int64_t now = now_s();
    raw_opts none = {.ku = 0};
    X509 *x;

    make_csr(k, subj_ok, NULL, 1, &csr);
    x = mc_ca_issue_ex(f->p256.ca, csr.ptr, csr.len, now - 60, now + 86400,
                       KU_KEY_ENCIPHERMENT, &err);
    assert_non_null(x);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_key_usage", 403);
    X509_free(x);
    /* nonRepudiation alone is not enough either. */
    x = mc_ca_issue_ex(f->p256.ca, csr.ptr, csr.len, now - 60, now + 86400,
                       KU_NON_REPUDIATION, &err);
    assert_non_null(x);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_key_usage", 403);
    X509_free(x);
    /* No keyUsage extension at all (crafted). */
    x = raw_cert(mc_ca_cert(f->p256.ca), f->p256.key, k, &none);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_key_usage", 403);
    X509_free(x);
    /* The CA certificate itself presented as a leaf: keyCertSign only. */
    assert_err(verify1(f->p256.trust, mc_ca_cert(f->p256.ca), now, NULL, &err), &err,
               "cert_key_usage", 403);
    mc_buf_free(&csr);
    EVP_PKEY_free(k);
}

static void test_missing_or_bad_uscc_refused(void **state)
{
    fixture *f = *state;
    static const rdn no_org[] = {
        {NID_organizationName, "某公司"}, {NID_commonName, "李四"}, {0, NULL}};
    static const rdn bad_org[] = {
        {NID_organizationIdentifier, USCC_BAD}, {NID_commonName, "李四"}, {0, NULL}};
    static const rdn two_org[] = {
        {NID_organizationIdentifier, USCC_OK},
        {NID_organizationIdentifier, USCC_OK2},
        {NID_commonName, "李四"}, {0, NULL}};
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    int64_t now = now_s();
    X509 *x;

    /* mc_ca_issue refuses such CSRs. */
    make_csr(k, no_org, NULL, 1, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    make_csr(k, bad_org, NULL, 1, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    make_csr(k, two_org, NULL, 1, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);

    /* Crafted certificates from the trusted CA key, bypassing issuance. */
    raw_opts o = {.subject = no_org, .ku = KU_DIGITAL_SIGNATURE};
    x = raw_cert(mc_ca_cert(f->p256.ca), f->p256.key, k, &o);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_no_org", 403);
    X509_free(x);
    o.subject = bad_org;
    x = raw_cert(mc_ca_cert(f->p256.ca), f->p256.key, k, &o);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_no_org", 403);
    X509_free(x);
    o.subject = two_org;
    x = raw_cert(mc_ca_cert(f->p256.ca), f->p256.key, k, &o);
    assert_err(verify1(f->p256.trust, x, now, NULL, &err), &err, "cert_no_org", 403);
    X509_free(x);
    /* And the same crafting with a good subject passes (the control). */
    o.subject = subj_ok;
    x = raw_cert(mc_ca_cert(f->p256.ca), f->p256.key, k, &o);
    assert_int_equal(verify1(f->p256.trust, x, now, NULL, &err), 0);
    X509_free(x);
    mc_buf_free(&csr);
    EVP_PKEY_free(k);
}

static void test_unsupported_leaf_keys_refused(void **state)
{
    fixture *f = *state;
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    raw_opts o = {.ku = KU_DIGITAL_SIGNATURE};
    test_ca *cas[] = {&f->p256, &f->sm2};
    X509 *x;

    assert_non_null(p384);
    assert_non_null(rsa);
    /* Issuance refuses P-384 and RSA CSRs. */
    make_csr(p384, subj_ok, NULL, 1, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "unsupported_key", 400);
    make_csr(rsa, subj_ok, NULL, 0, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "unsupported_key", 400);

    /* Crafted trusted certificates with such keys are refused. */
    for (size_t i = 0; i < 2; i++) {
        x = raw_cert(mc_ca_cert(cas[i]->ca), cas[i]->key, p384, &o);
        assert_err(verify1(cas[i]->trust, x, now_s(), NULL, &err), &err,
                   "unsupported_key", 400);
        X509_free(x);
        x = raw_cert(mc_ca_cert(cas[i]->ca), cas[i]->key, rsa, &o);
        assert_err(verify1(cas[i]->trust, x, now_s(), NULL, &err), &err,
                   "unsupported_key", 400);
        X509_free(x);
    }
    mc_buf_free(&csr);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
}

/* A third-party CA trusted beside ours (as in a trust/ directory holding
 * both), issuing through an intermediate: its leaves for other purposes, and
 * a CA certificate with digitalSignature presented as a leaf, are refused;
 * its clientAuth leaves and our own CA's leaves are accepted. */
static void test_third_party_leaf_needs_client_auth_and_no_ca(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *eku;
        int ca;
        unsigned ku;
        const char *code; /* NULL: accepted */
    } cases[] = {
        {"clientAuth", 0, 0, NULL},
        {"serverAuth,clientAuth", 0, 0, NULL},
        {"serverAuth", 0, 0, "cert_ext_key_usage"},
        {"codeSigning", 0, 0, "cert_ext_key_usage"},
        {"anyExtendedKeyUsage", 0, 0, "cert_ext_key_usage"},
        {"", 0, 0, "cert_ext_key_usage"}, /* no extendedKeyUsage at all */
        {"clientAuth", 1, 0, "cert_is_ca"},
        {"clientAuth", 1, KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN, "cert_is_ca"},
        {"", 1, 0, "cert_ext_key_usage"}, /* purpose is checked first */
    };
    mc_err err;
    char dir[] = "/tmp/mcert_x509_3p_XXXXXX";
    EVP_PKEY *ikey = mc_keygen(MC_ALG_P256, &err);
    EVP_PKEY *lkey = mc_keygen(MC_ALG_SM2, &err);
    raw_opts io = {.ca = 1};
    X509 *icert = raw_cert(mc_ca_cert(f->third.ca), f->third.key, ikey, &io);
    X509 *ours = issue(&f->p256, lkey, &err);
    mc_buf d0 = {0}, d1 = {0};
    mc_slice chain[2];
    mc_cert_info info;
    mc_trust *t;

    assert_non_null(ours);
    assert_non_null(mkdtemp(dir));
    write_pem_cert(dir, "a.crt", mc_ca_cert(f->p256.ca), NULL);
    write_pem_cert(dir, "b.pem", mc_ca_cert(f->third.ca), NULL);
    assert_non_null(t = mc_trust_load(dir, &err));
    /* What our CA issues (EKU clientAuth, CA:FALSE) still passes. */
    assert_int_equal(verify1(t, ours, now_s(), &info, &err), 0);
    assert_string_equal(info.uscc, USCC_OK);

    der_of(icert, &d1);
    chain[1] = (mc_slice){d1.ptr, d1.len};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_opts o = {.ku = cases[i].ku ? cases[i].ku
                                        : KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION,
                      .eku = cases[i].eku,
                      .ca = cases[i].ca};
        X509 *x = raw_cert(icert, ikey, lkey, &o);
        der_of(x, &d0);
        chain[0] = (mc_slice){d0.ptr, d0.len};
        mc_err_clear(&err);
        int rc = mc_cert_verify_chain(t, chain, 2, now_s(), &info, NULL, &err);
        if (cases[i].code == NULL) {
            if (rc != 0)
                fail_msg("case %zu: refused with %s", i, err.code);
            assert_string_equal(info.uscc, USCC_OK);
        } else {
            assert_err(rc, &err, cases[i].code, 403);
        }
        X509_free(x);
    }
    mc_trust_free(t);
    X509_free(ours);
    X509_free(icert);
    EVP_PKEY_free(ikey);
    EVP_PKEY_free(lkey);
    mc_buf_free(&d0);
    mc_buf_free(&d1);
    rm_dir(dir);
}

/* ---------------------------------------------------------------- */
/* refusals: malformed input                                          */

/* The one-certificate chain p[0..len) is refused as "bad_cert" (400). */
static void assert_bad_cert(const mc_trust *t, const uint8_t *p, size_t len)
{
    mc_err err;
    mc_slice s = {p, len};
    assert_err(mc_cert_verify_chain(t, &s, 1, now_s(), NULL, NULL, &err), &err, "bad_cert",
               400);
}

static void test_bad_der_refused(void **state)
{
    fixture *f = *state;
    const mc_trust *t = f->p256.trust;
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    X509 *x = issue(&f->p256, k, &err), *big;
    mc_buf der = {0}, tmp = {0};
    mc_slice s, chain[MC_CHAIN_MAX + 1];
    static const uint8_t garbage[] = "this is not a certificate at all";
    raw_opts pad = {.ku = KU_DIGITAL_SIGNATURE, .pad = 4200};
    int64_t now = now_s();

    assert_non_null(x);
    der_of(x, &der);
    s = (mc_slice){der.ptr, der.len};
    assert_int_equal(mc_cert_verify_chain(t, &s, 1, now, NULL, NULL, &err), 0);

    /* Garbage. */
    assert_bad_cert(t, garbage, sizeof(garbage) - 1);
    /* Trailing byte. */
    buf_set(&tmp, der.ptr, der.len);
    mc_buf_append(&tmp, "\0", 1);
    assert_bad_cert(t, tmp.ptr, tmp.len);
    /* Truncated, at several lengths. */
    for (size_t cut = 1; cut < der.len; cut += der.len / 7 + 1)
        assert_bad_cert(t, der.ptr, der.len - cut);
    /* Zero-length slice, NULL pointer. */
    assert_bad_cert(t, der.ptr, 0);
    assert_bad_cert(t, NULL, der.len);
    /* Non-minimal (BER) outer length: 30 82 LL LL -> 30 83 00 LL LL. */
    assert_int_equal(der.ptr[0], 0x30);
    assert_int_equal(der.ptr[1], 0x82);
    tmp.len = 0;
    mc_buf_append(&tmp, "\x30\x83\x00", 3);
    mc_buf_append(&tmp, der.ptr + 2, der.len - 2);
    assert_bad_cert(t, tmp.ptr, tmp.len);
    /* Wrong type: a well-formed DER CSR (same key and subject) is not a
     * certificate. */
    make_csr(k, subj_ok, NULL, 0, &tmp);
    assert_bad_cert(t, tmp.ptr, tmp.len);
    /* Oversized: a real, trusted certificate above MC_CERT_DER_MAX. */
    big = raw_cert(mc_ca_cert(f->p256.ca), f->p256.key, k, &pad);
    der_of(big, &tmp);
    assert_true(tmp.len > MC_CERT_DER_MAX);
    assert_bad_cert(t, tmp.ptr, tmp.len);
    X509_free(big);
    /* Chain counts: zero, too many, NULL. */
    for (size_t i = 0; i <= MC_CHAIN_MAX; i++)
        chain[i] = (mc_slice){der.ptr, der.len};
    assert_err(mc_cert_verify_chain(t, chain, 0, now, NULL, NULL, &err), &err, "bad_cert", 400);
    assert_err(mc_cert_verify_chain(t, chain, MC_CHAIN_MAX + 1, now, NULL, NULL, &err), &err,
               "bad_cert", 400);
    assert_err(mc_cert_verify_chain(t, NULL, 1, now, NULL, NULL, &err), &err, "bad_cert", 400);
    /* A garbage intermediate spoils a good leaf. */
    chain[1] = (mc_slice){garbage, sizeof(garbage) - 1};
    assert_err(mc_cert_verify_chain(t, chain, 2, now, NULL, NULL, &err), &err, "bad_cert", 400);
    /* MC_CHAIN_MAX copies of the leaf are well-formed and still verify. */
    chain[1] = chain[0];
    EVP_PKEY *pub = (EVP_PKEY *)1;
    assert_int_equal(mc_cert_verify_chain(t, chain, MC_CHAIN_MAX, now, NULL, &pub, &err), 0);
    assert_int_equal(EVP_PKEY_eq(pub, k), 1);
    EVP_PKEY_free(pub);
    /* On failure leaf_pub is NULL. */
    pub = (EVP_PKEY *)1;
    s = (mc_slice){garbage, sizeof(garbage) - 1};
    assert_int_equal(mc_cert_verify_chain(t, &s, 1, now, NULL, &pub, &err), -1);
    assert_null(pub);

    X509_free(x);
    mc_buf_free(&der);
    mc_buf_free(&tmp);
    EVP_PKEY_free(k);
}

static void test_tampered_csr_fails_proof_of_possession(void **state)
{
    fixture *f = *state;
    static const rdn subj[] = {
        {NID_organizationIdentifier, USCC_OK}, {NID_commonName, "Tamper Me"}, {0, NULL}};
    EVP_PKEY *keys[2];
    mc_err err;

    keys[0] = mc_keygen(MC_ALG_SM2, &err);
    keys[1] = mc_keygen(MC_ALG_P256, &err);
    for (size_t i = 0; i < 2; i++) {
        mc_buf csr = {0};
        uint8_t *p;
        X509 *x;

        make_csr(keys[i], subj, sm2_id_for(keys[i]), 0, &csr);
        assert_non_null(x = mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
        X509_free(x);
        /* Change the CN: still well-formed, signature no longer matches. */
        assert_non_null(p = memmem(csr.ptr, csr.len, "Tamper Me", 9));
        p[0] = 'D';
        assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
        assert_err(-1, &err, "bad_csr", 400);
        p[0] = 'T';
        /* Flip a bit in the signature. */
        csr.ptr[csr.len - 3] ^= 0x04;
        assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
        assert_err(-1, &err, "bad_csr", 400);
        mc_buf_free(&csr);
    }
    /* An SM2 CSR signed with another ID, or with OpenSSL 3.0's empty
     * default, does not prove possession under the standard ID. */
    mc_buf csr = {0};
    make_csr(keys[0], subj, "ALICE123@YAHOO.COM", 0, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    make_csr(keys[0], subj, NULL, 1, &csr);
    assert_null(mc_ca_issue(f->sm2.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    mc_buf_free(&csr);
    EVP_PKEY_free(keys[0]);
    EVP_PKEY_free(keys[1]);
}

static void test_issue_refuses_bad_requests(void **state)
{
    fixture *f = *state;
    static const rdn no_cn[] = {
        {NID_organizationIdentifier, USCC_OK}, {NID_organizationName, "X"}, {0, NULL}};
    static const rdn two_cn[] = {
        {NID_organizationIdentifier, USCC_OK}, {NID_commonName, "A"},
        {NID_commonName, "B"}, {0, NULL}};
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    int64_t now = now_s();
    uint8_t big[MC_CSR_MAX + 1];
    X509 *x;

    make_csr(k, subj_ok, NULL, 0, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 0, &err));
    assert_err(-1, &err, "bad_request", 400);
    assert_null(mc_ca_issue_ex(f->p256.ca, csr.ptr, csr.len, now, now, KU_DIGITAL_SIGNATURE, &err));
    assert_err(-1, &err, "bad_request", 400);
    assert_null(mc_ca_issue_ex(f->p256.ca, csr.ptr, csr.len, now, now + 10, 0, &err));
    assert_err(-1, &err, "bad_request", 400);
    assert_null(mc_ca_issue(f->p256.ca, NULL, 0, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    assert_null(mc_ca_issue(f->p256.ca, (const uint8_t *)"garbage", 7, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    assert_null(mc_ca_issue(f->p256.ca, (const uint8_t *)"-----BEGIN junk", 15, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    /* DER with a trailing byte, truncated DER. */
    mc_buf_append(&csr, "\0", 1);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len - 10, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    /* Oversized: a PEM CSR padded with trailing blanks (which PEM parsing
     * ignores) is accepted at exactly MC_CSR_MAX bytes, refused one above. */
    make_csr(k, subj_ok, NULL, 1, &csr);
    assert_true(csr.len < MC_CSR_MAX);
    memset(big, '\n', sizeof(big));
    memcpy(big, csr.ptr, csr.len);
    assert_non_null(x = mc_ca_issue(f->p256.ca, big, MC_CSR_MAX, 30, &err));
    X509_free(x);
    assert_null(mc_ca_issue(f->p256.ca, big, sizeof(big), 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    /* Wrong type: a certificate, DER and PEM, is not a CSR. */
    der_of(mc_ca_cert(f->p256.ca), &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    {
        BIO *b = BIO_new(BIO_s_mem());
        char *pem;
        long n;
        assert_int_equal(PEM_write_bio_X509(b, mc_ca_cert(f->p256.ca)), 1);
        n = BIO_get_mem_data(b, &pem);
        assert_null(mc_ca_issue(f->p256.ca, (const uint8_t *)pem, (size_t)n, 30, &err));
        assert_err(-1, &err, "bad_csr", 400);
        BIO_free(b);
    }
    /* Subject without CN, with two CNs. */
    make_csr(k, no_cn, NULL, 1, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    make_csr(k, two_cn, NULL, 1, &csr);
    assert_null(mc_ca_issue(f->p256.ca, csr.ptr, csr.len, 30, &err));
    assert_err(-1, &err, "bad_csr", 400);
    mc_buf_free(&csr);
    EVP_PKEY_free(k);
}

/* ---------------------------------------------------------------- */
/* trust store, helpers                                               */

static void test_trust_load_dir_and_file(void **state)
{
    fixture *f = *state;
    mc_err err;
    char dir[] = "/tmp/mcert_x509_tr_XXXXXX";
    char p[128];
    EVP_PKEY *k = mc_keygen(MC_ALG_SM2, &err);
    X509 *l1 = issue(&f->p256, k, &err), *l2 = issue(&f->sm2, k, &err);
    X509 *l3 = issue(&f->other, k, &err);
    mc_trust *t;

    assert_non_null(mkdtemp(dir));
    /* Empty directory: nothing to trust is a configuration error. */
    assert_null(mc_trust_load(dir, &err));
    assert_string_equal(err.code, "config");
    assert_null(mc_trust_load("/nonexistent/mcert", &err));
    assert_string_equal(err.code, "config");

    write_pem_cert(dir, "a.crt", mc_ca_cert(f->p256.ca), NULL);
    write_pem_cert(dir, "b.pem", mc_ca_cert(f->sm2.ca), NULL);
    write_pem_cert(dir, "c.txt", mc_ca_cert(f->other.ca), NULL); /* ignored */
    assert_non_null(t = mc_trust_load(dir, &err));
    assert_int_equal(verify1(t, l1, now_s(), NULL, &err), 0);
    assert_int_equal(verify1(t, l2, now_s(), NULL, &err), 0);
    assert_err(verify1(t, l3, now_s(), NULL, &err), &err, "cert_untrusted", 403);
    mc_trust_free(t);

    /* A single file with two anchors. */
    write_pem_cert(dir, "x.crt", mc_ca_cert(f->sm2.ca), mc_ca_cert(f->other.ca));
    snprintf(p, sizeof(p), "%s/x.crt", dir);
    assert_non_null(t = mc_trust_load(p, &err));
    assert_int_equal(verify1(t, l2, now_s(), NULL, &err), 0);
    assert_int_equal(verify1(t, l3, now_s(), NULL, &err), 0);
    assert_err(verify1(t, l1, now_s(), NULL, &err), &err, "cert_untrusted", 403);
    /* A leaf is not accepted as an anchor. */
    assert_int_equal(mc_trust_add(t, l1), -1);
    assert_err(verify1(t, l1, now_s(), NULL, &err), &err, "cert_untrusted", 403);
    mc_trust_free(t);

    /* A directory holding a leaf certificate file is refused. */
    write_pem_cert(dir, "leaf.pem", l1, NULL);
    assert_null(mc_trust_load(dir, &err));
    assert_string_equal(err.code, "config");

    mc_trust_free(NULL);
    mc_ca_free(NULL);
    X509_free(l1);
    X509_free(l2);
    X509_free(l3);
    EVP_PKEY_free(k);
    rm_dir(dir);
}

static void test_x509_der_appends_and_info_of_rejects_null(void **state)
{
    fixture *f = *state;
    mc_err err;
    mc_buf b = {0};
    mc_cert_info info;
    X509 *x = mc_ca_cert(f->p256.ca);
    int n = i2d_X509(x, NULL);

    mc_buf_append(&b, "ab", 2);
    assert_int_equal(mc_x509_der(x, &b), 0);
    assert_int_equal(b.len, (size_t)n + 2);
    assert_memory_equal(b.ptr, "ab", 2);
    assert_int_equal(b.ptr[2], 0x30);
    assert_int_equal(mc_x509_der(NULL, &b), -1);
    assert_int_equal(mc_cert_info_of(NULL, &info, &err), -1);
    assert_string_equal(err.code, "bad_cert");
    mc_buf_free(&b);
}

/* ---------------------------------------------------------------- */
/* re-issuance (renewal) and rekey CSRs                               */

/* The DER of a name, as the certificate or CSR carries it. */
static void name_der(const X509_NAME *n, mc_buf *out)
{
    const unsigned char *p;
    size_t len;
    out->len = 0;
    assert_int_equal(X509_NAME_get0_der(n, &p, &len), 1);
    mc_buf_append(out, p, len);
}

/* `openssl verify` of x against c's CA certificate (an SM2 CA's
 * signature on the leaf is checked with the GM/T ID). */
static void openssl_verify(test_ca *c, X509 *x)
{
    write_pem_cert(c->dir, "leaf.pem", x, NULL);
    assert_int_equal(mc_testenv_sh("openssl verify -CAfile %s/ca.crt -purpose sslclient %s "
                                   "%s/leaf.pem >/dev/null 2>&1",
                                   c->dir,
                                   c->alg == MC_ALG_SM2 ? "-vfyopt distid:" MC_SM2_ID : "",
                                   c->dir),
                     0);
}

/* Reissue a leaf of c (key alg) once with its own key (renew) and once with
 * a new key (rekey): subject byte-equal, validity as asked, a new serial,
 * the enrolled leaf's extensions, verifies here and with openssl. */
static void reissue_and_check(test_ca *c, mc_alg alg)
{
    mc_err err;
    EVP_PKEY *k = mc_keygen(alg, &err), *k2 = mc_keygen(alg, &err);
    X509 *old = issue(c, k, &err), *x;
    mc_buf a = {0}, b = {0};
    int64_t now = now_s();
    mc_cert_info oi, ni;

    assert_non_null(old);
    assert_int_equal(mc_cert_info_of(old, &oi, &err), 0);
    for (int rekey = 0; rekey <= 1; rekey++) {
        int64_t nb = now - 60, na = oi.not_after + 2 * 365 * 86400;
        x = mc_ca_reissue(c->ca, old, rekey ? k2 : NULL, nb, na, &err);
        assert_non_null(x);
        name_der(X509_get_subject_name(old), &a);
        name_der(X509_get_subject_name(x), &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.ptr, b.ptr, a.len);
        assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), rekey ? k2 : k), 1);
        assert_int_equal(mc_cert_info_of(x, &ni, &err), 0);
        assert_int_equal(ni.not_before, nb);
        assert_int_equal(ni.not_after, na);
        assert_int_equal(strlen(ni.serial_hex), 32);
        assert_string_not_equal(ni.serial_hex, oi.serial_hex);
        assert_memory_not_equal(ni.fp, oi.fp, 32);
        /* check_leaf's checks (extensions, signature algorithm, info),
         * validity aside: it expects 365 days from issuance. */
        assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
        assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
        assert_true(X509_get_extension_flags(x) & EXFLAG_BCONS);
        assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
        assert_int_equal(X509_get_ext_count(x), X509_get_ext_count(old));
        for (int i = 0; i < X509_get_ext_count(old); i++) {
            X509_EXTENSION *eo = X509_get_ext(old, i), *en = X509_get_ext(x, i);
            assert_int_equal(OBJ_cmp(X509_EXTENSION_get_object(eo),
                                     X509_EXTENSION_get_object(en)), 0);
            assert_int_equal(X509_EXTENSION_get_critical(eo),
                             X509_EXTENSION_get_critical(en));
        }
        assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
                                               X509_get0_subject_key_id(mc_ca_cert(c->ca))), 0);
        assert_int_equal(X509_get_signature_nid(x),
                         c->alg == MC_ALG_SM2 ? NID_SM2_with_SM3 : NID_ecdsa_with_SHA256);
        assert_int_equal(verify1(c->trust, x, now, &ni, &err), 0);
        assert_string_equal(ni.cn, "张三");
        assert_string_equal(ni.uscc, USCC_OK);
        assert_int_equal(ni.alg, alg);
        /* valid until its notAfter (the renewal's point), not after it */
        assert_int_equal(verify1(c->trust, x, na - 1, NULL, &err), 0);
        assert_err(verify1(c->trust, x, na + 1, NULL, &err), &err, "cert_expired", 403);
        openssl_verify(c, x);
        X509_free(x);
    }
    mc_buf_free(&a);
    mc_buf_free(&b);
    X509_free(old);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
}

static void test_reissue_p256_ca_keeps_subject_both_leaf_curves(void **state)
{
    reissue_and_check(&((fixture *)*state)->p256, MC_ALG_P256);
    reissue_and_check(&((fixture *)*state)->p256, MC_ALG_SM2);
}

static void test_reissue_sm2_ca_keeps_subject_both_leaf_curves(void **state)
{
    reissue_and_check(&((fixture *)*state)->sm2, MC_ALG_SM2);
    reissue_and_check(&((fixture *)*state)->sm2, MC_ALG_P256);
}

/* A subject the CA would not build from a CSR (C and OU kept, odd order,
 * PrintableString C) comes through byte for byte: copied, not rebuilt. */
static void test_reissue_copies_an_unusual_subject_exactly(void **state)
{
    fixture *f = *state;
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    raw_opts o = {.ku = KU_DIGITAL_SIGNATURE};
    X509 *old = raw_cert(mc_ca_cert(f->p256.ca), f->p256.key, k, &o), *x;
    mc_buf a = {0}, b = {0};

    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(old)), 5);
    x = mc_ca_reissue(f->p256.ca, old, NULL, now_s() - 60, now_s() + 86400, &err);
    assert_non_null(x);
    name_der(X509_get_subject_name(old), &a);
    name_der(X509_get_subject_name(x), &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    /* and the issued certificate's own DER carries those bytes */
    mc_buf der = {0};
    der_of(x, &der);
    assert_non_null(memmem(der.ptr, der.len, a.ptr, a.len));
    /* keyUsage is the CA's choice, not the old certificate's */
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
    mc_buf_free(&der);
    mc_buf_free(&a);
    mc_buf_free(&b);
    X509_free(x);
    X509_free(old);
    EVP_PKEY_free(k);
}

static void test_reissue_refuses_bad_validity_and_keys(void **state)
{
    fixture *f = *state;
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_SM2, &err);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    X509 *old = issue(&f->sm2, k, &err);
    int64_t now = now_s();

    assert_non_null(old);
    assert_non_null(p384);
    mc_err_clear(&err);
    assert_null(mc_ca_reissue(f->sm2.ca, old, NULL, now, now, &err));
    assert_string_equal(err.code, "bad_request");
    assert_int_equal(err.status, 400);
    mc_err_clear(&err);
    assert_null(mc_ca_reissue(f->sm2.ca, old, NULL, now, now - 1, &err));
    assert_string_equal(err.code, "bad_request");
    mc_err_clear(&err);
    assert_null(mc_ca_reissue(f->sm2.ca, old, NULL, -1, now, &err));
    assert_string_equal(err.code, "bad_request");
    mc_err_clear(&err);
    assert_null(mc_ca_reissue(f->sm2.ca, old, NULL, now, INT64_C(253402300800), &err));
    assert_string_equal(err.code, "bad_request");
    mc_err_clear(&err);
    assert_null(mc_ca_reissue(f->sm2.ca, old, p384, now, now + 86400, &err));
    assert_string_equal(err.code, "unsupported_key");
    mc_err_clear(&err);
    assert_null(mc_ca_reissue(f->sm2.ca, NULL, NULL, now, now + 86400, &err));
    assert_string_equal(err.code, "internal");
    mc_err_clear(&err);
    assert_null(mc_ca_reissue(NULL, old, NULL, now, now + 86400, &err));
    assert_string_equal(err.code, "internal");
    /* the last second a certificate may carry is fine */
    X509 *x = mc_ca_reissue(f->sm2.ca, old, NULL, now, INT64_C(253402300799), &err);
    assert_non_null(x);
    X509_free(x);
    X509_free(old);
    EVP_PKEY_free(k);
    EVP_PKEY_free(p384);
}

/* make_csr's subject for a leaf issued from subj_ok is O, orgId, CN: the
 * leaf's subject. */
static const rdn subj_leaf[] = {
    {NID_organizationName, "福建某某科技有限公司"},
    {NID_organizationIdentifier, USCC_OK},
    {NID_commonName, "张三"},
    {0, NULL},
};

static void rekey_expect(const mc_buf *csr, X509 *old, const char *code, int status)
{
    mc_err err;
    mc_err_clear(&err);
    EVP_PKEY *p = mc_csr_rekey_check(csr->ptr, csr->len, old, &err);
    if (code == NULL) {
        assert_non_null(p);
        EVP_PKEY_free(p);
        return;
    }
    assert_null(p);
    assert_non_null(err.code);
    assert_string_equal(err.code, code);
    assert_int_equal(err.status, status);
}

static void rekey_case(test_ca *c, mc_alg alg)
{
    mc_err err;
    mc_alg other = alg == MC_ALG_SM2 ? MC_ALG_P256 : MC_ALG_SM2;
    EVP_PKEY *k = mc_keygen(alg, &err), *k2 = mc_keygen(alg, &err);
    EVP_PKEY *ko = mc_keygen(other, &err);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    X509 *old = issue(c, k, &err);
    mc_buf csr = {0}, tmp = {0};
    static const rdn subj_other_cn[] = {
        {NID_organizationName, "福建某某科技有限公司"},
        {NID_organizationIdentifier, USCC_OK},
        {NID_commonName, "李四"},
        {0, NULL},
    };
    static const rdn subj_reordered[] = {
        {NID_organizationIdentifier, USCC_OK},
        {NID_organizationName, "福建某某科技有限公司"},
        {NID_commonName, "张三"},
        {0, NULL},
    };

    assert_non_null(old);
    /* good: a new key of the same algorithm, the same subject; the key
     * returned is the CSR's, and a reissue with it verifies */
    make_csr(k2, subj_leaf, sm2_id_for(k2), 0, &csr);
    mc_err_clear(&err);
    EVP_PKEY *got = mc_csr_rekey_check(csr.ptr, csr.len, old, &err);
    assert_non_null(got);
    assert_int_equal(EVP_PKEY_eq(got, k2), 1);
    X509 *x = mc_ca_reissue(c->ca, old, got, now_s() - 60, now_s() + 86400, &err);
    assert_non_null(x);
    assert_int_equal(verify1(c->trust, x, now_s(), NULL, &err), 0);
    X509_free(x);
    EVP_PKEY_free(got);

    /* trailing byte, cut short, empty, PEM, over MC_CSR_MAX */
    buf_set(&tmp, csr.ptr, csr.len);
    mc_buf_append(&tmp, "\0", 1);
    rekey_expect(&tmp, old, "bad_csr", 400);
    buf_set(&tmp, csr.ptr, csr.len - 1);
    rekey_expect(&tmp, old, "bad_csr", 400);
    tmp.len = 0;
    rekey_expect(&tmp, old, "bad_csr", 400);
    make_csr(k2, subj_leaf, sm2_id_for(k2), 1, &tmp);
    rekey_expect(&tmp, old, "bad_csr", 400);
    buf_set(&tmp, csr.ptr, csr.len);
    mc_buf_reserve(&tmp, MC_CSR_MAX + 1);
    memset(tmp.ptr + tmp.len, 0, MC_CSR_MAX + 1 - tmp.len);
    tmp.len = MC_CSR_MAX + 1;
    rekey_expect(&tmp, old, "bad_csr", 400);
    /* proof of possession: a flipped signature bit; for SM2 also a CSR
     * signed with OpenSSL's empty default ID instead of the GM/T one */
    buf_set(&tmp, csr.ptr, csr.len);
    tmp.ptr[tmp.len - 3] ^= 0x01;
    rekey_expect(&tmp, old, "bad_csr", 400);
    if (alg == MC_ALG_SM2) {
        make_csr(k2, subj_leaf, NULL, 0, &tmp);
        rekey_expect(&tmp, old, "bad_csr", 400);
    }
    /* key outside the allow-list */
    make_csr(p384, subj_leaf, NULL, 0, &tmp);
    rekey_expect(&tmp, old, "unsupported_key", 400);
    /* the other algorithm */
    make_csr(ko, subj_leaf, sm2_id_for(ko), 0, &tmp);
    rekey_expect(&tmp, old, "alg_mismatch", 409);
    /* other CN; same entries in another order; the CSR's full subj_ok
     * (C and OU that the CA drops at enrollment) */
    make_csr(k2, subj_other_cn, sm2_id_for(k2), 0, &tmp);
    rekey_expect(&tmp, old, "subject_mismatch", 409);
    make_csr(k2, subj_reordered, sm2_id_for(k2), 0, &tmp);
    rekey_expect(&tmp, old, "subject_mismatch", 409);
    make_csr(k2, subj_ok, sm2_id_for(k2), 0, &tmp);
    rekey_expect(&tmp, old, "subject_mismatch", 409);
    /* the current key */
    make_csr(k, subj_leaf, sm2_id_for(k), 0, &tmp);
    rekey_expect(&tmp, old, "same_key", 409);
    /* no current certificate */
    mc_err_clear(&err);
    assert_null(mc_csr_rekey_check(csr.ptr, csr.len, NULL, &err));
    assert_string_equal(err.code, "internal");

    mc_buf_free(&csr);
    mc_buf_free(&tmp);
    X509_free(old);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(ko);
    EVP_PKEY_free(p384);
}

static void test_rekey_csr_checks_p256(void **state)
{
    rekey_case(&((fixture *)*state)->p256, MC_ALG_P256);
}

static void test_rekey_csr_checks_sm2(void **state)
{
    rekey_case(&((fixture *)*state)->sm2, MC_ALG_SM2);
}

static int verify1_grace(const mc_trust *t, X509 *x, int64_t now, int64_t grace,
                         mc_cert_info *info, EVP_PKEY **pub, mc_err *err)
{
    mc_buf der = {0};
    mc_slice s;
    int rc;
    der_of(x, &der);
    s = (mc_slice){der.ptr, der.len};
    mc_err_clear(err);
    rc = mc_cert_verify_chain_grace(t, &s, 1, now, grace, info, pub, err);
    mc_buf_free(&der);
    return rc;
}

/* A CA whose certificate has been valid since nb (the fixture's are valid
 * from their creation, later than the expired leaves these tests need):
 * a self-signed certificate made here, saved with its key, read back with
 * mc_ca_load. */
static void old_ca_init(test_ca *t, mc_alg alg, const char *cn, int64_t nb)
{
    mc_err err;
    EVP_PKEY *key = mc_keygen(alg, &err);
    X509 *x = X509_new();
    const rdn name[] = {{NID_commonName, cn}, {0, NULL}};
    X509_NAME *n = make_name(name);
    EVP_MD_CTX *md = sign_ctx(key, sm2_id_for(key));
    char p[256];
    FILE *fp;

    assert_non_null(key);
    snprintf(t->dir, sizeof(t->dir), "/tmp/mcert_x509_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x7654321), 1);
    assert_int_equal(X509_set_issuer_name(x, n), 1);
    assert_int_equal(X509_set_subject_name(x, n), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now_s() + 3650 * 86400)));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, x, NID_subject_key_identifier, "hash");
    assert_true(X509_sign_ctx(x, md) > 0);
    write_pem_cert(t->dir, "ca.crt", x, NULL);
    snprintf(p, sizeof(p), "%s/ca.key", t->dir);
    assert_non_null(fp = fopen(p, "w"));
    assert_int_equal(PEM_write_PKCS8PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
    assert_non_null(t->ca = mc_ca_load(t->dir, &err));
    t->alg = alg;
    t->key = key;
    assert_non_null(t->trust = mc_trust_new());
    assert_int_equal(mc_trust_add(t->trust, mc_ca_cert(t->ca)), 0);
    EVP_MD_CTX_free(md);
    X509_NAME_free(n);
    X509_free(x);
}

/* An expired leaf inside the grace verifies (with its facts and key), one
 * second past it does not; other faults are not excused by the grace. */
static void test_grace_accepts_an_expired_leaf_only_inside_it(void **state)
{
    fixture *f = *state;
    test_ca cas[2];
    mc_err err;
    int64_t now = now_s(), grace = 30 * 86400;

    old_ca_init(&cas[0], MC_ALG_P256, "mcert Old CA", now - 200 * 86400);
    old_ca_init(&cas[1], MC_ALG_SM2, "mcert Old SM2 CA", now - 200 * 86400);
    for (int i = 0; i < 2; i++) {
        test_ca *c = &cas[i];
        EVP_PKEY *k = mc_keygen(MC_ALG_SM2, &err), *pub = NULL;
        mc_buf csr = {0};
        mc_cert_info info;
        int64_t na = now - 10 * 86400;
        X509 *x;

        make_csr(k, subj_ok, MC_SM2_ID, 0, &csr);
        x = mc_ca_issue_ex(c->ca, csr.ptr, csr.len, now - 100 * 86400, na,
                           KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, &err);
        assert_non_null(x);
        /* plain: expired */
        assert_err(verify1(c->trust, x, now, NULL, &err), &err, "cert_expired", 403);
        assert_err(verify1_grace(c->trust, x, now, 0, NULL, NULL, &err), &err,
                   "cert_expired", 403);
        /* inside the grace: accepted, facts as usual */
        memset(&info, 0x55, sizeof(info));
        assert_int_equal(verify1_grace(c->trust, x, now, grace, &info, &pub, &err), 0);
        assert_non_null(pub);
        assert_int_equal(EVP_PKEY_eq(pub, k), 1);
        EVP_PKEY_free(pub);
        assert_int_equal(info.not_after, na);
        assert_string_equal(info.uscc, USCC_OK);
        /* the edges: notAfter + grace is in, one second more is out */
        assert_int_equal(verify1_grace(c->trust, x, na + grace, grace, NULL, NULL, &err), 0);
        assert_err(verify1_grace(c->trust, x, na + grace + 1, grace, NULL, &pub, &err),
                   &err, "cert_expired", 403);
        assert_null(pub);
        /* a current leaf is unaffected by a grace */
        X509 *cur = issue(c, k, &err);
        assert_int_equal(verify1_grace(c->trust, cur, now, grace, NULL, NULL, &err), 0);
        X509_free(cur);
        /* not yet valid is not excused */
        X509_free(x);
        x = mc_ca_issue_ex(c->ca, csr.ptr, csr.len, now + 86400, now + 2 * 86400,
                           KU_DIGITAL_SIGNATURE, &err);
        assert_err(verify1_grace(c->trust, x, now, grace, NULL, NULL, &err), &err,
                   "cert_not_yet_valid", 403);
        X509_free(x);
        /* an expired leaf of another CA is untrusted, not accepted */
        x = mc_ca_issue_ex(f->other.ca, csr.ptr, csr.len, now - 100 * 86400, na,
                           KU_DIGITAL_SIGNATURE, &err);
        assert_err(verify1_grace(c->trust, x, now, grace, NULL, NULL, &err), &err,
                   "cert_untrusted", 403);
        X509_free(x);
        /* an expired leaf with a broken signature is untrusted */
        x = mc_ca_issue_ex(c->ca, csr.ptr, csr.len, now - 100 * 86400, na,
                           KU_DIGITAL_SIGNATURE, &err);
        {
            mc_buf der = {0};
            mc_slice s;
            der_of(x, &der);
            der.ptr[der.len - 2] ^= 0x01;
            s = (mc_slice){der.ptr, der.len};
            mc_err_clear(&err);
            assert_err(mc_cert_verify_chain_grace(c->trust, &s, 1, now, grace, NULL, NULL,
                                                  &err),
                       &err, "cert_untrusted", 403);
            mc_buf_free(&der);
        }
        X509_free(x);
        /* the leaf-level checks still run after the grace: no clientAuth */
        raw_opts o = {.ku = KU_DIGITAL_SIGNATURE, .eku = "serverAuth",
                      .nb = now - 100 * 86400, .na = na};
        x = raw_cert(mc_ca_cert(c->ca), c->key, k, &o);
        assert_err(verify1_grace(c->trust, x, now, grace, NULL, NULL, &err), &err,
                   "cert_ext_key_usage", 403);
        X509_free(x);
        mc_err_clear(&err);
        assert_int_equal(mc_cert_verify_chain_grace(c->trust, NULL, 0, now, -1, NULL,
                                                    NULL, &err), -1);
        /* A CA not yet valid at the leaf's notAfter (the fixture's, made
         * now): the path at that time does not hold, so no grace. */
        test_ca *young = i == 0 ? &f->p256 : &f->sm2;
        x = mc_ca_issue_ex(young->ca, csr.ptr, csr.len, now - 100 * 86400, na,
                           KU_DIGITAL_SIGNATURE, &err);
        assert_err(verify1_grace(young->trust, x, now, grace, NULL, NULL, &err), &err,
                   "cert_not_yet_valid", 403);
        X509_free(x);
        mc_buf_free(&csr);
        EVP_PKEY_free(k);
        test_ca_fini(c);
    }
}

/* The grace covers the leaf only: an intermediate that has expired is
 * refused whatever the grace, even with the leaf inside it. */
static void test_grace_does_not_cover_an_expired_intermediate(void **state)
{
    test_ca oc, *c = &oc;
    mc_err err;
    int64_t now = now_s(), grace = 30 * 86400;
    EVP_PKEY *ik = mc_keygen(MC_ALG_P256, &err), *lk = mc_keygen(MC_ALG_P256, &err);
    raw_opts io = {.ca = 1, .subject = NULL, .nb = now - 100 * 86400, .na = now - 5 * 86400};
    old_ca_init(c, MC_ALG_P256, "mcert Old CA", now - 200 * 86400);
    static const rdn inter_name[] = {{NID_commonName, "mcert Intermediate"}, {0, NULL}};
    io.subject = inter_name;
    X509 *inter = raw_cert(mc_ca_cert(c->ca), c->key, ik, &io);
    raw_opts lo = {.ku = KU_DIGITAL_SIGNATURE, .nb = now - 90 * 86400, .na = now - 10 * 86400};
    X509 *leaf = raw_cert(inter, ik, lk, &lo);
    mc_buf d0 = {0}, d1 = {0};
    der_of(leaf, &d0);
    der_of(inter, &d1);
    mc_slice s[2] = {{d0.ptr, d0.len}, {d1.ptr, d1.len}};

    mc_err_clear(&err);
    assert_err(mc_cert_verify_chain_grace(c->trust, s, 2, now, grace, NULL, NULL, &err),
               &err, "cert_expired", 403);
    /* the same chain inside both validities verifies */
    mc_err_clear(&err);
    assert_int_equal(mc_cert_verify_chain_grace(c->trust, s, 2, now - 20 * 86400, grace,
                                                NULL, NULL, &err), 0);
    /* leaf expired, intermediate valid: the grace applies to the path */
    mc_err_clear(&err);
    assert_int_equal(mc_cert_verify_chain_grace(c->trust, s, 2, now - 7 * 86400, grace,
                                                NULL, NULL, &err), 0);
    mc_buf_free(&d0);
    mc_buf_free(&d1);
    X509_free(leaf);
    X509_free(inter);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(lk);
    test_ca_fini(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uscc_valid_good_and_bad),
        cmocka_unit_test(test_ca_p256_create_save_load_round_trip),
        cmocka_unit_test(test_ca_sm2_create_save_load_round_trip),
        cmocka_unit_test(test_ca_load_refuses_missing_or_mismatched_files),
        cmocka_unit_test(test_ca_load_refuses_encrypted_oversized_or_special_files),
        cmocka_unit_test(test_p256_ca_issues_p256_leaf_that_verifies),
        cmocka_unit_test(test_p256_ca_issues_sm2_leaf_that_verifies),
        cmocka_unit_test(test_sm2_ca_issues_sm2_leaf_that_verifies),
        cmocka_unit_test(test_sm2_ca_issues_p256_leaf_that_verifies),
        cmocka_unit_test(test_sm2_signed_leaf_needs_the_id_attached),
        cmocka_unit_test(test_csr_pem_and_der_both_accepted),
        cmocka_unit_test(test_chain_with_intermediate_verifies),
        cmocka_unit_test(test_expired_leaf_refused),
        cmocka_unit_test(test_not_yet_valid_leaf_refused),
        cmocka_unit_test(test_leaf_of_other_ca_untrusted),
        cmocka_unit_test(test_tampered_leaf_signature_untrusted),
        cmocka_unit_test(test_wrong_key_usage_refused),
        cmocka_unit_test(test_missing_or_bad_uscc_refused),
        cmocka_unit_test(test_unsupported_leaf_keys_refused),
        cmocka_unit_test(test_third_party_leaf_needs_client_auth_and_no_ca),
        cmocka_unit_test(test_bad_der_refused),
        cmocka_unit_test(test_tampered_csr_fails_proof_of_possession),
        cmocka_unit_test(test_issue_refuses_bad_requests),
        cmocka_unit_test(test_trust_load_dir_and_file),
        cmocka_unit_test(test_x509_der_appends_and_info_of_rejects_null),
        cmocka_unit_test(test_rewritten_signature_keeps_the_fingerprint),
        cmocka_unit_test(test_reissue_p256_ca_keeps_subject_both_leaf_curves),
        cmocka_unit_test(test_reissue_sm2_ca_keeps_subject_both_leaf_curves),
        cmocka_unit_test(test_reissue_copies_an_unusual_subject_exactly),
        cmocka_unit_test(test_reissue_refuses_bad_validity_and_keys),
        cmocka_unit_test(test_rekey_csr_checks_p256),
        cmocka_unit_test(test_rekey_csr_checks_sm2),
        cmocka_unit_test(test_grace_accepts_an_expired_leaf_only_inside_it),
        cmocka_unit_test(test_grace_does_not_cover_an_expired_intermediate),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
