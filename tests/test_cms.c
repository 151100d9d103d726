/*
 * test_cms.c — unit tests of core/crypto/mc_cms.c: the signed-attribute
 * bytes a phone signs (§8.6), the detached SignedData the server builds
 * (§8.7), and the parse + check behind POST /api/v1/verify (§8.8).
 *
 * Why: a relying party checks these SignedData with its own tools, and the
 * verify endpoint takes them from anyone. So the tests do not trust
 * mc_cms.c to judge itself:
 *   - the 107 attribute bytes are compared as hex with the protocol's
 *     layout, at a known time and at both ends of the UTCTime range;
 *   - the builder's output is compared with an independent encoding of
 *     §8.7 written here (craft()), and P-256 results are verified by the
 *     real `openssl cms -verify`, which must also refuse a changed document;
 *   - SM2 results are verified with OpenSSL's own CMS parser and
 *     EVP_DigestVerify with the GM/T 0009 ID, without mc_cms.c
 *     (`openssl cms -verify` uses OpenSSL 3.0's empty ID and cannot);
 *   - a SignedData made by `openssl cms -sign` parses and checks;
 *   - hostile inputs, each differing from a good blob in one respect (made
 *     with craft()), are refused by mc_cms_parse with bad_cms, and wrong or
 *     moved signatures by mc_cms_check with bad_signature.
 *
 * Test certificates come from a P-256 CA made with mc_x509 (it issues both
 * the P-256 and the SM2 leaves). Files go to a fresh directory in /tmp.
 *
 * Non-goals: chain trust and revocation at verify time (test_x509, the
 * server's tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mc_cms.h"
#include "mc_x509.h"

#define USCC_OK "91350100M000100Y43"
#define T_KNOWN 1795511533 /* 2026-11-24T09:12:13Z */

/* ---------------------------------------------------------------- */
/* fixture                                                            */

typedef struct leaf {
    EVP_PKEY *key;
    mc_alg alg;
    X509 *x;
    mc_buf der;
} leaf;

typedef struct fixture {
    char dir[64];  /* temp dir: ca.crt (PEM) and scratch files */
    mc_ca *ca;     /* P-256 CA */
    mc_buf ca_der;
    leaf p256, sm2;
    leaf p256b;    /* a second P-256 holder */
} fixture;

static fixture *F;

static void make_csr(EVP_PKEY *key, const char *cn, mc_buf *out)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    EVP_MD_CTX *md;
    unsigned char *der = NULL;
    mc_err err;
    int len;

    assert_non_null(req);
    assert_non_null(n);
    assert_int_equal(X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8,
                                                (const unsigned char *)"福建某某科技有限公司",
                                                -1, -1, 0), 1);
    assert_int_equal(X509_NAME_add_entry_by_NID(n, NID_organizationIdentifier, MBSTRING_UTF8,
                                                (const unsigned char *)USCC_OK, -1, -1, 0), 1);
    assert_int_equal(X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
                                                (const unsigned char *)cn, -1, -1, 0), 1);
    assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
    assert_int_equal(X509_REQ_set_subject_name(req, n), 1);
    assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
    assert_non_null(md = mc_sign_ctx_new(key, &err)); /* SM2: with MC_SM2_ID */
    assert_true(X509_REQ_sign_ctx(req, md) > 0);
    assert_true((len = i2d_X509_REQ(req, &der)) > 0);
    out->len = 0;
    mc_buf_append(out, der, (size_t)len);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    X509_NAME_free(n);
    X509_REQ_free(req);
}

static void leaf_init(leaf *l, mc_alg alg, const char *cn)
{
    mc_buf csr = {0};
    mc_err err;

    l->alg = alg;
    assert_non_null(l->key = mc_keygen(alg, &err));
    make_csr(l->key, cn, &csr);
    l->x = mc_ca_issue(F->ca, csr.ptr, csr.len, 365, &err);
    assert_non_null(l->x);
    assert_int_equal(mc_x509_der(l->x, &l->der), 0);
    mc_buf_free(&csr);
}

static void leaf_fini(leaf *l)
{
    EVP_PKEY_free(l->key);
    X509_free(l->x);
    mc_buf_free(&l->der);
}

static int group_setup(void **state)
{
    mc_err err;
    F = calloc(1, sizeof(*F));
    if (F == NULL)
        return -1;
    snprintf(F->dir, sizeof(F->dir), "/tmp/mcert_cms_XXXXXX");
    if (mkdtemp(F->dir) == NULL)
        return -1;
    if ((F->ca = mc_ca_create(MC_ALG_P256, "mcert CMS Test CA", 3650, &err)) == NULL ||
        mc_ca_save(F->ca, F->dir, &err) != 0 || mc_x509_der(mc_ca_cert(F->ca), &F->ca_der) != 0)
        return -1;
    leaf_init(&F->p256, MC_ALG_P256, "张三");
    leaf_init(&F->sm2, MC_ALG_SM2, "李四");
    leaf_init(&F->p256b, MC_ALG_P256, "王五");
    *state = F;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    leaf_fini(&F->p256);
    leaf_fini(&F->sm2);
    leaf_fini(&F->p256b);
    mc_buf_free(&F->ca_der);
    mc_ca_free(F->ca);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", F->dir);
    free(F);
    return 0;
}

/* ---------------------------------------------------------------- */
/* helpers                                                            */

static void unhex(const char *hex, mc_buf *out)
{
    size_t n = strlen(hex) / 2;
    uint8_t tmp[512];
    assert_true(n <= sizeof(tmp));
    assert_int_equal(mc_unhex(hex, strlen(hex), tmp, n), 0);
    out->len = 0;
    mc_buf_append(out, tmp, n);
}

static void assert_hex(const uint8_t *p, size_t n, const char *hex)
{
    char got[1024];
    assert_true(2 * n < sizeof(got));
    mc_hex(p, n, got);
    assert_string_equal(got, hex);
}

static void doc_digest(mc_alg alg, const char *doc, uint8_t d[32])
{
    if (alg == MC_ALG_SM2)
        mc_sm3(doc, strlen(doc), d);
    else
        mc_sha256(doc, strlen(doc), d);
}

/* The phone's signature over the signed attributes of (t, digest). */
static void phone_sign(const leaf *l, int64_t t, const uint8_t digest[32], uint8_t *sig,
                       size_t *siglen)
{
    uint8_t attrs[MC_CMS_ATTRS_LEN];
    mc_err err;
    assert_int_equal(mc_cms_signed_attrs(t, digest, attrs, &err), 0);
    assert_int_equal(mc_sign(l->key, attrs, sizeof(attrs), sig, siglen, &err), 0);
}

/* A good SignedData of doc by l, with more certificates, into out. */
static void good_cms(const leaf *l, const char *doc, const mc_slice *more, size_t nmore,
                     mc_buf *out)
{
    uint8_t d[32], sig[MC_SIG_MAX];
    size_t siglen;
    mc_slice certs[4];
    mc_err err;

    assert_true(nmore < 4);
    doc_digest(l->alg, doc, d);
    phone_sign(l, T_KNOWN, d, sig, &siglen);
    certs[0] = (mc_slice){l->der.ptr, l->der.len};
    for (size_t i = 0; i < nmore; i++)
        certs[1 + i] = more[i];
    out->len = 0;
    assert_int_equal(mc_cms_build(certs, 1 + nmore, l->alg, d, T_KNOWN, sig, siglen, out, &err),
                     0);
}

static void write_file(const char *name, const void *p, size_t n)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", F->dir, name);
    assert_non_null(f = fopen(path, "wb"));
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void assert_bad_cms(const uint8_t *p, size_t n, const char *msg_part)
{
    mc_cms_info info;
    mc_err err;
    mc_err_clear(&err);
    assert_int_equal(mc_cms_parse(p, n, &info, &err), -1);
    assert_non_null(err.code);
    assert_string_equal(err.code, "bad_cms");
    assert_int_equal(err.status, 400);
    assert_null(info.signer); /* nothing left to free */
    assert_null(info.others);
    if (msg_part != NULL && strstr(err.msg, msg_part) == NULL)
        fail_msg("message \"%s\" does not say \"%s\"", err.msg, msg_part);
}

/* DER SET OF order: bytewise, a prefix first. */
static int der_before(mc_slice a, mc_slice b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = memcmp(a.ptr, b.ptr, n);
    return c < 0 || (c == 0 && a.len < b.len);
}

/* ---------------------------------------------------------------- */
/* an independent encoder of §8.7, with one knob per way to be wrong   */

static void tlv(mc_buf *b, uint8_t tag, const void *p, size_t n)
{
    uint8_t h[6];
    size_t hl;
    h[0] = tag;
    if (n < 128) {
        h[1] = (uint8_t)n;
        hl = 2;
    } else if (n < 256) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hl = 3;
    } else {
        assert_true(n < 65536);
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    mc_buf_append(b, h, hl);
    mc_buf_append(b, p, n);
}

static void tlv_buf(mc_buf *b, uint8_t tag, const mc_buf *c)
{
    tlv(b, tag, c->ptr, c->len);
}

#define OID_SHA256 "0609608648016503040201"
#define OID_SM3 "06082a811ccf55018311"
#define OID_ECDSA_SHA256 "06082a8648ce3d040302"
#define OID_SM2_SM3 "06082a811ccf55018375"
#define OID_DATA "06092a864886f70d010701"
#define OID_SIGNED "06092a864886f70d010702"

/* Attribute TLVs (hex). */
#define A_CT "301806092a864886f70d010903310b06092a864886f70d010701"
#define A_TIME(utc_hex) "301c06092a864886f70d010905310f170d" utc_hex
#define A_MD(d_hex) "302f06092a864886f70d01090431220420" d_hex
#define ATTRS(utc_hex, d_hex) "3169" A_CT A_TIME(utc_hex) A_MD(d_hex)
#define D_SEQ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define UTC_KNOWN "3236313132343039313231335a" /* "261124091213Z" */

typedef struct craft_opts {
    const leaf *signer;      /* for issuer/serial and the default OIDs */
    const char *digest_oid;  /* hex TLV; default the signer's */
    const char *sig_oid;
    int null_params;         /* AlgorithmIdentifiers with NULL parameters */
    int sd_version, si_version; /* default 1 */
    int nsigners;            /* default 1 */
    const mc_buf *attrs;     /* SET (0x31 ...) of signed attributes; its
                                content goes under [0] */
    mc_slice certs[64];      /* certificates field, in this order */
    size_t ncerts;
    int no_certs;            /* omit the certificates field */
    const char *econtent;    /* eContent (attached), if non-NULL */
    int crls;                /* an empty crls [1] */
    const char *unsigned_attr; /* unsignedAttrs [1] holding this attribute */
    int ski;                 /* sid as subjectKeyIdentifier [0] */
    const char *outer_oid;   /* ContentInfo contentType, default signedData */
    const uint8_t *sig;
    size_t siglen;
} craft_opts;

static void hexapp(mc_buf *b, const char *hex)
{
    mc_buf t = {0};
    unhex(hex, &t);
    mc_buf_append(b, t.ptr, t.len);
    mc_buf_free(&t);
}

static void algid(mc_buf *b, const char *oid, int null_params)
{
    mc_buf c = {0};
    hexapp(&c, oid);
    if (null_params)
        hexapp(&c, "0500");
    tlv_buf(b, 0x30, &c);
    mc_buf_free(&c);
}

static void craft(const craft_opts *o, mc_buf *out)
{
    int sm2 = o->signer->alg == MC_ALG_SM2;
    const char *doid = o->digest_oid ? o->digest_oid : sm2 ? OID_SM3 : OID_SHA256;
    const char *soid = o->sig_oid ? o->sig_oid : sm2 ? OID_SM2_SM3 : OID_ECDSA_SHA256;
    mc_buf sd = {0}, t = {0}, u = {0}, si = {0}, sis = {0}, ci = {0};
    unsigned char *p = NULL;
    uint8_t v;
    int n;

    /* SignerInfo */
    v = (uint8_t)(o->si_version ? o->si_version : 1);
    tlv(&si, 0x02, &v, 1);
    if (o->ski) {
        tlv(&si, 0x80, "0123456789abcdefghij", 20);
    } else {
        assert_true((n = i2d_X509_NAME(X509_get_issuer_name(o->signer->x), &p)) > 0);
        mc_buf_append(&t, p, (size_t)n);
        OPENSSL_free(p);
        p = NULL;
        assert_true((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(o->signer->x), &p)) > 0);
        mc_buf_append(&t, p, (size_t)n);
        OPENSSL_free(p);
        tlv_buf(&si, 0x30, &t);
    }
    algid(&si, doid, o->null_params);
    assert_true(o->attrs->len >= 2 && o->attrs->ptr[0] == 0x31);
    {
        size_t hl = o->attrs->ptr[1] < 0x80 ? 2 : 2 + (o->attrs->ptr[1] & 0x7f);
        tlv(&si, 0xa0, o->attrs->ptr + hl, o->attrs->len - hl);
    }
    algid(&si, soid, o->null_params);
    tlv(&si, 0x04, o->sig, o->siglen);
    if (o->unsigned_attr != NULL) {
        t.len = 0;
        hexapp(&t, o->unsigned_attr);
        tlv_buf(&si, 0xa1, &t);
    }
    t.len = 0;
    tlv_buf(&t, 0x30, &si);
    for (int i = 0; i < (o->nsigners ? o->nsigners : 1); i++)
        mc_buf_append(&sis, t.ptr, t.len);

    /* SignedData */
    v = (uint8_t)(o->sd_version ? o->sd_version : 1);
    tlv(&sd, 0x02, &v, 1);
    t.len = 0;
    algid(&t, doid, o->null_params);
    tlv_buf(&sd, 0x31, &t);
    t.len = 0;
    hexapp(&t, OID_DATA);
    if (o->econtent != NULL) {
        u.len = 0;
        tlv(&u, 0x04, o->econtent, strlen(o->econtent));
        tlv_buf(&t, 0xa0, &u);
    }
    tlv_buf(&sd, 0x30, &t);
    if (!o->no_certs) {
        t.len = 0;
        for (size_t i = 0; i < o->ncerts; i++)
            mc_buf_append(&t, o->certs[i].ptr, o->certs[i].len);
        tlv_buf(&sd, 0xa0, &t);
    }
    if (o->crls)
        tlv(&sd, 0xa1, NULL, 0);
    tlv_buf(&sd, 0x31, &sis);

    /* ContentInfo */
    hexapp(&ci, o->outer_oid ? o->outer_oid : OID_SIGNED);
    t.len = 0;
    tlv_buf(&t, 0x30, &sd);
    tlv_buf(&ci, 0xa0, &t);
    out->len = 0;
    tlv_buf(out, 0x30, &ci);
    mc_buf_free(&sd);
    mc_buf_free(&t);
    mc_buf_free(&u);
    mc_buf_free(&si);
    mc_buf_free(&sis);
    mc_buf_free(&ci);
}

/* A craft_opts for a good SignedData by l over digest d at T_KNOWN: attrs
 * and sig are filled (attrs is the caller's buffer). */
static craft_opts good_opts(const leaf *l, const uint8_t d[32], mc_buf *attrs, uint8_t *sig,
                            size_t *siglen)
{
    craft_opts o = {0};
    uint8_t a[MC_CMS_ATTRS_LEN];
    mc_err err;
    assert_int_equal(mc_cms_signed_attrs(T_KNOWN, d, a, &err), 0);
    attrs->len = 0;
    mc_buf_append(attrs, a, sizeof(a));
    phone_sign(l, T_KNOWN, d, sig, siglen);
    o.signer = l;
    o.attrs = attrs;
    o.certs[0] = (mc_slice){l->der.ptr, l->der.len};
    o.ncerts = 1;
    o.sig = sig;
    o.siglen = *siglen;
    return o;
}

/* ---------------------------------------------------------------- */
/* §8.6: the signed attributes                                        */

static void test_signed_attrs_are_the_protocol_bytes_at_a_known_time(void **state)
{
    uint8_t d[32], out[MC_CMS_ATTRS_LEN];
    mc_err err;
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)i;
    assert_int_equal(mc_cms_signed_attrs(T_KNOWN, d, out, &err), 0);
    assert_hex(out, sizeof(out), ATTRS(UTC_KNOWN, D_SEQ));
    assert_int_equal(MC_CMS_ATTRS_LEN, 107);
}

static void test_signed_attrs_at_the_ends_of_the_utctime_range(void **state)
{
    uint8_t d[32], out[MC_CMS_ATTRS_LEN];
    mc_err err;
    for (int i = 0; i < 32; i++)
        d[i] = (uint8_t)i;
    /* 2049-12-31T23:59:59Z, the last UTCTime second */
    assert_int_equal(mc_cms_signed_attrs(2524607999LL, d, out, &err), 0);
    assert_hex(out, sizeof(out), ATTRS("3439313233313233353935395a", D_SEQ));
    /* 1950-01-01T00:00:00Z, the first */
    assert_int_equal(mc_cms_signed_attrs(-631152000LL, d, out, &err), 0);
    assert_hex(out, sizeof(out), ATTRS("3530303130313030303030305a", D_SEQ));
    /* 1969-12-31T23:59:59Z (negative seconds), 2000-02-29 (leap day), epoch */
    assert_int_equal(mc_cms_signed_attrs(-1, d, out, &err), 0);
    assert_hex(out + 45, 13, "3639313233313233353935395a");
    assert_int_equal(mc_cms_signed_attrs(951782400LL, d, out, &err), 0);
    assert_hex(out + 45, 13, "3030303232393030303030305a");
    assert_int_equal(mc_cms_signed_attrs(0, d, out, &err), 0);
    assert_hex(out + 45, 13, "3730303130313030303030305a");
}

static void test_signed_attrs_refuse_times_outside_utctime(void **state)
{
    static const int64_t bad[] = {2524608000LL, -631152001LL, INT64_MAX, INT64_MIN,
                                  4102444800LL};
    uint8_t d[32] = {0}, out[MC_CMS_ATTRS_LEN];
    mc_err err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mc_err_clear(&err);
        assert_int_equal(mc_cms_signed_attrs(bad[i], d, out, &err), -1);
        assert_string_equal(err.code, "bad_field");
        assert_int_equal(err.status, 400);
    }
}

/* ---------------------------------------------------------------- */
/* §8.7: build, parse, check                                          */

static void round_trip(const leaf *l, const leaf *other)
{
    uint8_t d[32], sig[MC_SIG_MAX], attrs[MC_CMS_ATTRS_LEN];
    size_t siglen;
    mc_slice certs[3] = {{l->der.ptr, l->der.len},
                         {other->der.ptr, other->der.len},
                         {F->ca_der.ptr, F->ca_der.len}};
    mc_buf out = {0};
    mc_cms_info info;
    mc_err err;

    doc_digest(l->alg, "bid document, lot 3", d);
    phone_sign(l, T_KNOWN, d, sig, &siglen);
    for (size_t n = 1; n <= 3; n++) {
        out.len = 0;
        assert_int_equal(mc_cms_build(certs, n, l->alg, d, T_KNOWN, sig, siglen, &out, &err), 0);
        assert_true(out.len <= MC_CMS_MAX);
        if (mc_cms_parse(out.ptr, out.len, &info, &err) != 0)
            fail_msg("parse: %s", err.msg);
        assert_int_equal(info.alg, l->alg);
        assert_memory_equal(info.digest, d, 32);
        assert_int_equal(info.signing_time, T_KNOWN);
        assert_int_equal(mc_cms_signed_attrs(T_KNOWN, d, attrs, &err), 0);
        assert_int_equal(info.attrs_len, MC_CMS_ATTRS_LEN);
        assert_memory_equal(info.attrs, attrs, MC_CMS_ATTRS_LEN);
        assert_int_equal(info.siglen, siglen);
        assert_memory_equal(info.sig, sig, siglen);
        assert_int_equal(X509_cmp(info.signer, l->x), 0);
        assert_int_equal(sk_X509_num(info.others), (int)n - 1);
        if (mc_cms_check(&info, &err) != 0)
            fail_msg("check: %s", err.msg);
        mc_cms_info_clear(&info);
        assert_null(info.signer);
    }
    mc_cms_info_clear(&info); /* twice is harmless */
    mc_buf_free(&out);
}

static void test_p256_build_parse_check_round_trip(void **state)
{
    round_trip(&F->p256, &F->p256b);
}

static void test_sm2_build_parse_check_round_trip(void **state)
{
    round_trip(&F->sm2, &F->p256);
}

/* The builder's bytes are those of craft(), written from §8.7 here, with
 * the certificates in DER SET OF order whatever order they were passed in. */
static void test_build_is_the_profile_encoding_with_sorted_certificates(void **state)
{
    const leaf *ls[2] = {&F->p256, &F->sm2};
    for (int k = 0; k < 2; k++) {
        const leaf *l = ls[k];
        uint8_t d[32], sig[MC_SIG_MAX];
        size_t siglen;
        mc_buf attrs = {0}, want = {0}, got = {0};
        mc_slice passed[3] = {{l->der.ptr, l->der.len},
                              {F->ca_der.ptr, F->ca_der.len},
                              {F->p256b.der.ptr, F->p256b.der.len}};
        mc_err err;
        craft_opts o;

        doc_digest(l->alg, "doc", d);
        o = good_opts(l, d, &attrs, sig, &siglen);
        memcpy(o.certs, passed, sizeof(passed));
        o.ncerts = 3;
        for (size_t i = 0; i < 3; i++)
            for (size_t j = i + 1; j < 3; j++) {
                if (der_before(o.certs[j], o.certs[i])) {
                    mc_slice t = o.certs[i];
                    o.certs[i] = o.certs[j];
                    o.certs[j] = t;
                }
            }
        craft(&o, &want);
        assert_int_equal(mc_cms_build(passed, 3, l->alg, d, T_KNOWN, sig, siglen, &got, &err), 0);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.ptr, want.ptr, want.len);
        /* one certificate */
        o.certs[0] = passed[0];
        o.ncerts = 1;
        craft(&o, &want);
        got.len = 0;
        assert_int_equal(mc_cms_build(passed, 1, l->alg, d, T_KNOWN, sig, siglen, &got, &err), 0);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.ptr, want.ptr, want.len);
        mc_buf_free(&attrs);
        mc_buf_free(&want);
        mc_buf_free(&got);
    }
}

static void test_build_appends_and_refuses_bad_arguments(void **state)
{
    const leaf *l = &F->p256;
    uint8_t d[32] = {1}, sig[MC_SIG_MAX];
    size_t siglen;
    mc_slice good = {l->der.ptr, l->der.len};
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    mc_slice bad_cert = {junk, sizeof(junk)};
    mc_slice trailing[1];
    mc_slice not_seq[2] = {good, {(const uint8_t *)"\x04\x01x", 3}};
    mc_buf out = {0}, tl = {0};
    mc_err err;

    phone_sign(l, T_KNOWN, d, sig, &siglen);
    mc_buf_append(&out, "prefix", 6);
    assert_int_equal(mc_cms_build(&good, 1, MC_ALG_P256, d, T_KNOWN, sig, siglen, &out, &err), 0);
    assert_memory_equal(out.ptr, "prefix", 6);
    assert_int_equal(out.ptr[6], 0x30);

#define BUILD_FAILS(certs, n, alg, t, sl, want)                                        \
    do {                                                                               \
        size_t before = out.len;                                                       \
        mc_err_clear(&err);                                                            \
        assert_int_equal(mc_cms_build(certs, n, alg, d, t, sig, sl, &out, &err), -1);  \
        assert_string_equal(err.code, want);                                           \
        assert_int_equal(out.len, before);                                             \
    } while (0)

    BUILD_FAILS(&good, 1, MC_ALG_NONE, T_KNOWN, siglen, "unsupported_key");
    BUILD_FAILS(&good, 1, MC_ALG_SM2, T_KNOWN, siglen, "unsupported_key"); /* not its key */
    BUILD_FAILS(&good, 0, MC_ALG_P256, T_KNOWN, siglen, "bad_cert");
    BUILD_FAILS(&bad_cert, 1, MC_ALG_P256, T_KNOWN, siglen, "bad_cert");
    mc_buf_append(&tl, l->der.ptr, l->der.len);
    mc_buf_append(&tl, "", 1);
    trailing[0] = (mc_slice){tl.ptr, tl.len};
    BUILD_FAILS(trailing, 1, MC_ALG_P256, T_KNOWN, siglen, "bad_cert");
    BUILD_FAILS(not_seq, 2, MC_ALG_P256, T_KNOWN, siglen, "bad_cert");
    BUILD_FAILS(&good, 1, MC_ALG_P256, 2524608000LL, siglen, "bad_field");
    BUILD_FAILS(&good, 1, MC_ALG_P256, T_KNOWN, 0, "bad_signature");
    BUILD_FAILS(&good, 1, MC_ALG_P256, T_KNOWN, MC_SIG_MAX + 1, "bad_signature");
#undef BUILD_FAILS
    mc_buf_free(&out);
    mc_buf_free(&tl);
}

/* What mc_cms_build makes, mc_cms_parse takes: it refuses certificates
 * that would take the SignedData over MC_CMS_MAX. */
/* The signer prepared once builds, for each document, exactly what
 * mc_cms_build builds; and refuses what mc_cms_build refuses. */
static void test_a_prepared_signer_builds_the_same_bytes(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        leaf l;
        memset(&l, 0, sizeof(l));
        leaf_init(&l, k ? MC_ALG_SM2 : MC_ALG_P256, "prepared");
        mc_slice certs[1] = {{l.der.ptr, l.der.len}};
        mc_err err;
        mc_cms_signer *s = mc_cms_signer_new(certs, 1, l.alg, &err);
        assert_non_null(s);
        for (int i = 0; i < 3; i++) {
            uint8_t d[32], sig[MC_SIG_MAX];
            size_t siglen;
            char doc[16];
            snprintf(doc, sizeof(doc), "document %d", i);
            doc_digest(l.alg, doc, d);
            phone_sign(&l, T_KNOWN + i, d, sig, &siglen);
            mc_buf a = {0}, b = {0};
            assert_int_equal(mc_cms_build(certs, 1, l.alg, d, T_KNOWN + i, sig, siglen, &a, &err),
                             0);
            assert_int_equal(mc_cms_signer_build(s, d, T_KNOWN + i, sig, siglen, &b, &err), 0);
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.ptr, b.ptr, a.len);
            /* an empty signature is refused, and nothing is appended */
            size_t before = b.len;
            assert_int_equal(mc_cms_signer_build(s, d, T_KNOWN, sig, 0, &b, &err), -1);
            assert_string_equal(err.code, "bad_signature");
            assert_int_equal(b.len, before);
            mc_buf_free(&a);
            mc_buf_free(&b);
        }
        mc_cms_signer_free(s);
        /* the wrong algorithm for the certificate's key */
        assert_null(mc_cms_signer_new(certs, 1, k ? MC_ALG_P256 : MC_ALG_SM2, &err));
        assert_string_equal(err.code, "unsupported_key");
        leaf_fini(&l);
    }
    mc_cms_signer_free(NULL);
}

static void test_build_refuses_more_than_the_parse_limit(void **state)
{
    const leaf *l = &F->p256;
    uint8_t d[32] = {2}, sig[MC_SIG_MAX];
    size_t siglen, n = 0, total;
    mc_slice certs[64];
    mc_buf out = {0};
    mc_cms_info info;
    mc_err err;

    phone_sign(l, T_KNOWN, d, sig, &siglen);
    certs[n++] = (mc_slice){l->der.ptr, l->der.len};
    for (total = l->der.len; total <= MC_CMS_MAX; total += F->ca_der.len) {
        assert_true(n < 64);
        certs[n++] = (mc_slice){F->ca_der.ptr, F->ca_der.len};
    }
    assert_int_equal(mc_cms_build(certs, n, MC_ALG_P256, d, T_KNOWN, sig, siglen, &out, &err), -1);
    assert_string_equal(err.code, "bad_cert");
    assert_int_equal(out.len, 0);
    /* a few fewer fit, and parse */
    while (n > 1 && mc_cms_build(certs, n, MC_ALG_P256, d, T_KNOWN, sig, siglen, &out, &err) != 0)
        n--;
    assert_true(n > 2);
    assert_true(out.len <= MC_CMS_MAX && out.len > MC_CMS_MAX - 2 * F->ca_der.len);
    assert_int_equal(mc_cms_parse(out.ptr, out.len, &info, &err), 0);
    assert_int_equal(sk_X509_num(info.others), (int)n - 1);
    assert_int_equal(mc_cms_check(&info, &err), 0);
    mc_cms_info_clear(&info);
    mc_buf_free(&out);
}

/* ---------------------------------------------------------------- */
/* outside checks                                                     */

/* The exit status of `openssl cms -verify` of F->dir/der over F->dir/doc
 * against the CA (its messages go to F->dir/openssl.log). */
static int cli_verify(const char *der, const char *doc)
{
    return sh("openssl cms -verify -binary -inform DER -in '%s/%s' -content '%s/%s' "
              "-CAfile '%s/ca.crt' -purpose any -out /dev/null 2>>'%s/openssl.log'",
              F->dir, der, F->dir, doc, F->dir, F->dir);
}

/* `openssl cms -verify` of a P-256 SignedData: valid for the document,
 * refused for a changed document and for a changed signature. */
static void test_p256_openssl_cms_verify_accepts_and_refuses_a_changed_document(void **state)
{
    const char *doc = "Tender for lot 3: 1,250,000 CNY\n";
    mc_slice more[1] = {{F->p256b.der.ptr, F->p256b.der.len}};
    mc_buf cms = {0};

    for (size_t nmore = 0; nmore <= 1; nmore++) {
        good_cms(&F->p256, doc, more, nmore, &cms);
        write_file("p256.der", cms.ptr, cms.len);
        write_file("doc", doc, strlen(doc));
        write_file("doc2", "Tender for lot 3: 9,250,000 CNY\n", strlen(doc));
        assert_int_equal(cli_verify("p256.der", "doc"), 0);
        assert_int_not_equal(cli_verify("p256.der", "doc2"), 0);
        /* the signature's last byte changed */
        cms.ptr[cms.len - 1] ^= 0x01;
        write_file("p256x.der", cms.ptr, cms.len);
        assert_int_not_equal(cli_verify("p256x.der", "doc"), 0);
    }
    mc_buf_free(&cms);
}

/* SET OF Attribute, to re-encode the signed attributes without mc_cms.c. */
typedef STACK_OF(X509_ATTRIBUTE) TEST_ATTR_SET;
ASN1_ITEM_TEMPLATE(TEST_ATTR_SET) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_OF, 0, TEST_ATTR_SET, X509_ATTRIBUTE)
static_ASN1_ITEM_TEMPLATE_END(TEST_ATTR_SET)

/* Verify an SM2 SignedData with OpenSSL's CMS parser and EVP_DigestVerify
 * (SM3, distinguishing ID id; NULL: OpenSSL's empty default). 1 valid. */
static int openssl_sm2_verify(const uint8_t *der, size_t len, const char *id,
                              const char *want_attrs_hex)
{
    const unsigned char *p = der;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    STACK_OF(CMS_SignerInfo) *sis;
    CMS_SignerInfo *si;
    STACK_OF(X509) *certs;
    STACK_OF(X509_ATTRIBUTE) *set;
    X509 *signer = NULL;
    X509_ALGOR *dig = NULL, *sa = NULL;
    const ASN1_OBJECT *obj;
    ASN1_OCTET_STRING *sig;
    unsigned char *enc = NULL;
    EVP_MD_CTX *md;
    EVP_PKEY_CTX *pctx = NULL;
    int n, ok;

    assert_non_null(ci);
    assert_ptr_equal(p, der + len);
    assert_int_equal(OBJ_obj2nid(CMS_get0_type(ci)), NID_pkcs7_signed);
    assert_int_equal(CMS_is_detached(ci), 1);
    sis = CMS_get0_SignerInfos(ci);
    assert_int_equal(sk_CMS_SignerInfo_num(sis), 1);
    si = sk_CMS_SignerInfo_value(sis, 0);
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sa);
    X509_ALGOR_get0(&obj, NULL, NULL, dig);
    assert_int_equal(OBJ_obj2nid(obj), NID_sm3);
    X509_ALGOR_get0(&obj, NULL, NULL, sa);
    assert_int_equal(OBJ_obj2nid(obj), NID_SM2_with_SM3);
    assert_non_null(certs = CMS_get1_certs(ci));
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
            signer = sk_X509_value(certs, i);
    assert_non_null(signer);

    assert_non_null(set = sk_X509_ATTRIBUTE_new_null());
    for (int i = 0; i < CMS_signed_get_attr_count(si); i++)
        assert_true(sk_X509_ATTRIBUTE_push(set, CMS_signed_get_attr(si, i)) > 0);
    n = ASN1_item_i2d((const ASN1_VALUE *)set, &enc, ASN1_ITEM_rptr(TEST_ATTR_SET));
    sk_X509_ATTRIBUTE_free(set);
    assert_int_equal(n, 107);
    assert_hex(enc, (size_t)n, want_attrs_hex);

    sig = CMS_SignerInfo_get0_signature(si);
    assert_non_null(md = EVP_MD_CTX_new());
    assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sm3(), NULL, X509_get0_pubkey(signer)),
                     1);
    if (id != NULL)
        assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, id, strlen(id)), 1);
    ok = EVP_DigestVerify(md, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), enc,
                          (size_t)n) == 1;
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    OPENSSL_free(enc);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(ci);
    return ok;
}

static void test_sm2_signed_data_verifies_with_openssl_alone(void **state)
{
    const char *doc = "SM2 bid document";
    uint8_t d[32];
    char dhex[65], want[256];
    mc_slice more[1] = {{F->ca_der.ptr, F->ca_der.len}};
    mc_buf cms = {0};

    mc_sm3(doc, strlen(doc), d);
    mc_hex(d, 32, dhex);
    snprintf(want, sizeof(want), ATTRS(UTC_KNOWN, "%s"), dhex);
    for (size_t nmore = 0; nmore <= 1; nmore++) {
        good_cms(&F->sm2, doc, more, nmore, &cms);
        assert_true(openssl_sm2_verify(cms.ptr, cms.len, "1234567812345678", want));
        /* the ID matters: OpenSSL's empty default does not verify it */
        assert_false(openssl_sm2_verify(cms.ptr, cms.len, NULL, want));
        /* a changed signature does not verify */
        cms.ptr[cms.len - 2] ^= 0x01;
        assert_false(openssl_sm2_verify(cms.ptr, cms.len, "1234567812345678", want));
        cms.ptr[cms.len - 2] ^= 0x01;
        /* the openssl tool parses and prints it */
        write_file("sm2.der", cms.ptr, cms.len);
        assert_int_equal(sh("openssl cms -cmsout -print -inform DER -in '%s/sm2.der' "
                            ">'%s/sm2.txt' 2>&1", F->dir, F->dir), 0);
        assert_int_equal(sh("grep -q 'SM2-with-SM3' '%s/sm2.txt' && grep -q 'sm3' '%s/sm2.txt'",
                            F->dir, F->dir), 0);
    }
    mc_buf_free(&cms);
}

/* A SignedData made by `openssl cms -sign` (without S/MIME capabilities:
 * then it has exactly the three attributes) parses and checks. */
static void test_openssl_cms_sign_output_parses_and_checks(void **state)
{
    const char *doc = "made by the openssl tool\n";
    uint8_t d[32];
    FILE *f;
    char path[256];
    mc_buf der = {0};
    uint8_t chunk[4096];
    size_t n;
    mc_cms_info info;
    mc_err err;

    snprintf(path, sizeof(path), "%s/leaf.key", F->dir);
    assert_non_null(f = fopen(path, "w"));
    assert_int_equal(PEM_write_PrivateKey(f, F->p256.key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    snprintf(path, sizeof(path), "%s/leaf.pem", F->dir);
    assert_non_null(f = fopen(path, "w"));
    assert_int_equal(PEM_write_X509(f, F->p256.x), 1);
    fclose(f);
    write_file("odoc", doc, strlen(doc));
    assert_int_equal(sh("cd '%s' && openssl cms -sign -binary -nosmimecap -md sha256 -signer "
                        "leaf.pem -inkey leaf.key -in odoc -outform DER -out o.der",
                        F->dir), 0);
    snprintf(path, sizeof(path), "%s/o.der", F->dir);
    assert_non_null(f = fopen(path, "rb"));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        mc_buf_append(&der, chunk, n);
    fclose(f);
    if (mc_cms_parse(der.ptr, der.len, &info, &err) != 0)
        fail_msg("parse: %s", err.msg);
    mc_sha256(doc, strlen(doc), d);
    assert_memory_equal(info.digest, d, 32);
    assert_int_equal(info.alg, MC_ALG_P256);
    assert_int_equal(mc_cms_check(&info, &err), 0);
    mc_cms_info_clear(&info);
    mc_buf_free(&der);
}

/* ---------------------------------------------------------------- */
/* hostile SignedData                                                 */

static void test_parse_refuses_garbage_and_sizes(void **state)
{
    static const uint8_t fixed[][8] = {{0x30, 0x00}, {0x30, 0x80, 0x00, 0x00}, {0x00},
                                       {0x06, 0x03, 0x55, 0x04, 0x03}, {0x30, 0x84, 0xff, 0xff, 0xff, 0xff}};
    static const size_t fixed_len[] = {2, 4, 1, 5, 6};
    uint8_t *big = calloc(1, MC_CMS_MAX + 1);
    uint8_t rnd[2048];
    mc_buf cms = {0};

    assert_non_null(big);
    assert_bad_cms(NULL, 0, "empty");
    assert_bad_cms((const uint8_t *)"", 0, "empty");
    for (size_t i = 0; i < sizeof(fixed_len) / sizeof(fixed_len[0]); i++)
        assert_bad_cms(fixed[i], fixed_len[i], NULL);
    for (int i = 0; i < 2000; i++) {
        size_t n = 1 + mc_random_below(sizeof(rnd));
        mc_random(rnd, n);
        if (i % 2)
            rnd[0] = 0x30; /* a SEQUENCE at least */
        assert_bad_cms(rnd, n, NULL);
    }
    /* oversized: a good blob followed by padding to MC_CMS_MAX + 1 */
    good_cms(&F->p256, "x", NULL, 0, &cms);
    memcpy(big, cms.ptr, cms.len);
    assert_bad_cms(big, MC_CMS_MAX + 1, "16384");
    free(big);
    mc_buf_free(&cms);
}

static void test_parse_refuses_every_truncation_and_trailing_bytes(void **state)
{
    const leaf *ls[2] = {&F->p256, &F->sm2};
    mc_buf cms = {0};
    for (int k = 0; k < 2; k++) {
        good_cms(ls[k], "truncate me", NULL, 0, &cms);
        for (size_t n = 0; n < cms.len; n++)
            assert_bad_cms(cms.ptr, n, NULL);
        mc_buf_append(&cms, "\0", 1);
        assert_bad_cms(cms.ptr, cms.len, "trailing");
        cms.ptr[cms.len - 1] = 0x30;
        assert_bad_cms(cms.ptr, cms.len, "trailing");
    }
    mc_buf_free(&cms);
}

/* Every single-bit change of a good blob: parse and check never crash,
 * and nothing whose signed attributes or signature changed is valid (a
 * change inside a certificate that keeps its key may still check: the
 * chain is the caller's to verify). */
static void test_no_bit_flip_gives_a_valid_signature_over_other_attributes(void **state)
{
    mc_buf cms = {0};
    mc_cms_info orig, info;
    mc_err err;
    size_t valid = 0;

    good_cms(&F->p256, "flip", NULL, 0, &cms);
    assert_int_equal(mc_cms_parse(cms.ptr, cms.len, &orig, &err), 0);
    for (size_t i = 0; i < cms.len; i++) {
        for (int b = 0; b < 8; b++) {
            cms.ptr[i] ^= (uint8_t)(1u << b);
            if (mc_cms_parse(cms.ptr, cms.len, &info, &err) == 0) {
                if (mc_cms_check(&info, &err) == 0) {
                    valid++;
                    assert_memory_equal(info.attrs, orig.attrs, MC_CMS_ATTRS_LEN);
                    assert_int_equal(info.siglen, orig.siglen);
                    assert_memory_equal(info.sig, orig.sig, orig.siglen);
                }
                mc_cms_info_clear(&info);
            }
            cms.ptr[i] ^= (uint8_t)(1u << b);
        }
    }
    mc_cms_info_clear(&orig);
    mc_buf_free(&cms);
}

/* One hostile variant: craft with o (after mod), expect bad_cms. */
typedef void (*mod_fn)(craft_opts *o, mc_buf *attrs);

static void refused(const leaf *l, mod_fn mod, const char *msg_part)
{
    uint8_t d[32], sig[MC_SIG_MAX];
    size_t siglen;
    mc_buf attrs = {0}, cms = {0};
    mc_cms_info info;
    mc_err err;
    craft_opts o;

    doc_digest(l->alg, "hostile", d);
    o = good_opts(l, d, &attrs, sig, &siglen);
    /* unmodified, it is good */
    craft(&o, &cms);
    if (mc_cms_parse(cms.ptr, cms.len, &info, &err) != 0)
        fail_msg("the good variant does not parse: %s", err.msg);
    assert_int_equal(mc_cms_check(&info, &err), 0);
    mc_cms_info_clear(&info);
    mod(&o, &attrs);
    craft(&o, &cms);
    assert_bad_cms(cms.ptr, cms.len, msg_part);
    mc_buf_free(&attrs);
    mc_buf_free(&cms);
}

/* attrs = SET { the attribute TLVs in hex_content }, sorted into DER
 * order unless raw. */
static void set_attrs_as(mc_buf *attrs, const char *hex_content, int raw)
{
    mc_buf c = {0}, s = {0};
    mc_slice el[8];
    size_t n = 0;

    hexapp(&c, hex_content);
    for (size_t off = 0; off < c.len; off += el[n - 1].len) {
        assert_true(n < 8 && off + 2 <= c.len && c.ptr[off + 1] < 0x80);
        el[n++] = (mc_slice){c.ptr + off, 2 + (size_t)c.ptr[off + 1]};
    }
    for (size_t i = 0; i < n && !raw; i++)
        for (size_t j = i + 1; j < n; j++)
            if (der_before(el[j], el[i])) {
                mc_slice t = el[i];
                el[i] = el[j];
                el[j] = t;
            }
    for (size_t i = 0; i < n; i++)
        mc_buf_append(&s, el[i].ptr, el[i].len);
    attrs->len = 0;
    tlv_buf(attrs, 0x31, &s);
    mc_buf_free(&c);
    mc_buf_free(&s);
}

static void set_attrs(mc_buf *attrs, const char *hex_content)
{
    set_attrs_as(attrs, hex_content, 0);
}

/* The digest (32 bytes, hex) of an attrs SET made by mc_cms_signed_attrs. */
static void digest_hex_of(const mc_buf *attrs, char out[65])
{
    mc_hex(attrs->ptr + 75, 32, out);
}

static void mod_two_signers(craft_opts *o, mc_buf *a) { o->nsigners = 2; }
static void mod_missing_attr(craft_opts *o, mc_buf *a)
{
    char dh[65], h[256];
    digest_hex_of(a, dh);
    snprintf(h, sizeof(h), A_CT "302f06092a864886f70d01090431220420%s", dh);
    set_attrs(a, h);
}
static void mod_extra_attr(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    /* unstructuredName "x" sorts first (shortest) */
    snprintf(h, sizeof(h),
             "301006092a864886f70d0109023103130178" A_CT A_TIME(UTC_KNOWN) A_MD("%s"), dh);
    set_attrs(a, h);
}
static void mod_two_digests(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    /* three attributes, but contentType replaced by a second messageDigest */
    snprintf(h, sizeof(h), A_TIME(UTC_KNOWN) A_MD("%s") A_MD(D_SEQ), dh);
    set_attrs(a, h);
}
static void mod_two_values(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    /* contentType with two values (id-data twice) */
    snprintf(h, sizeof(h),
             "302306092a864886f70d010903311606092a864886f70d01070106092a864886f70d010701"
             A_TIME(UTC_KNOWN) A_MD("%s"), dh);
    set_attrs(a, h);
}
static void mod_generalized_time(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    /* signingTime as GeneralizedTime 20261124091213Z */
    snprintf(h, sizeof(h),
             A_CT "301e06092a864886f70d0109053111180f" "32303236313132343039313231335a"
             A_MD("%s"), dh);
    set_attrs(a, h);
}
static void mod_short_digest(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    dh[62] = '\0';
    snprintf(h, sizeof(h), A_CT A_TIME(UTC_KNOWN) "302e06092a864886f70d0109043121041f%s", dh);
    set_attrs(a, h);
}
static void mod_other_content_type(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    snprintf(h, sizeof(h),
             "301806092a864886f70d010903310b06092a864886f70d010702" A_TIME(UTC_KNOWN)
             A_MD("%s"), dh);
    set_attrs(a, h);
}
static void mod_bad_date(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    /* 2001-02-29 does not exist */
    snprintf(h, sizeof(h), A_CT A_TIME("3031303232393030303030305a") A_MD("%s"), dh);
    set_attrs(a, h);
}
static void mod_time_without_seconds(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    snprintf(h, sizeof(h),
             A_CT "301a06092a864886f70d010905310d170b" "323631313234303931325a" A_MD("%s"), dh);
    set_attrs(a, h);
}
static void mod_unsorted_attrs(craft_opts *o, mc_buf *a)
{
    char dh[65], h[512];
    digest_hex_of(a, dh);
    snprintf(h, sizeof(h), A_TIME(UTC_KNOWN) A_CT A_MD("%s"), dh);
    set_attrs_as(a, h, 1);
}
static void mod_p256_with_sm2_oids(craft_opts *o, mc_buf *a)
{
    o->digest_oid = OID_SM3;
    o->sig_oid = OID_SM2_SM3;
}
static void mod_sm2_with_p256_oids(craft_opts *o, mc_buf *a)
{
    o->digest_oid = OID_SHA256;
    o->sig_oid = OID_ECDSA_SHA256;
}
static void mod_mixed_oids(craft_opts *o, mc_buf *a) { o->digest_oid = OID_SM3; }
static void mod_mixed_oids2(craft_opts *o, mc_buf *a) { o->sig_oid = OID_ECDSA_SHA256; }
static void mod_null_params(craft_opts *o, mc_buf *a) { o->null_params = 1; }
static void mod_signer_cert_missing(craft_opts *o, mc_buf *a)
{
    o->certs[0] = (mc_slice){F->p256b.der.ptr, F->p256b.der.len};
}
static void mod_no_certificates(craft_opts *o, mc_buf *a) { o->no_certs = 1; }
static void mod_attached(craft_opts *o, mc_buf *a) { o->econtent = "hostile"; }
static void mod_sd_version3(craft_opts *o, mc_buf *a) { o->sd_version = 3; }
static void mod_si_version3(craft_opts *o, mc_buf *a) { o->si_version = 3; }
static void mod_ski(craft_opts *o, mc_buf *a)
{
    o->ski = 1;
    o->si_version = 3;
    o->sd_version = 3;
}
static void mod_crls(craft_opts *o, mc_buf *a) { o->crls = 1; }
static void mod_unsigned_attr(craft_opts *o, mc_buf *a)
{
    o->unsigned_attr = "301006092a864886f70d0109023103130178";
}
static void mod_not_signed_data(craft_opts *o, mc_buf *a)
{
    o->outer_oid = "06092a864886f70d010703"; /* envelopedData */
}
static void mod_unsorted_certs(craft_opts *o, mc_buf *a)
{
    /* two certificates against DER order */
    mc_slice x = o->certs[0], y = {F->ca_der.ptr, F->ca_der.len};
    if (der_before(x, y)) {
        o->certs[0] = y;
        o->certs[1] = x;
    } else {
        o->certs[1] = y;
    }
    o->ncerts = 2;
}
static void mod_empty_signature(craft_opts *o, mc_buf *a) { o->siglen = 0; }
static void mod_long_signature(craft_opts *o, mc_buf *a)
{
    static uint8_t s[MC_SIG_MAX + 1];
    memset(s, 0x30, sizeof(s));
    o->sig = s;
    o->siglen = sizeof(s);
}

static void test_parse_refuses_two_signers(void **state)
{
    refused(&F->p256, mod_two_signers, "one SignerInfo");
}

static void test_parse_refuses_missing_extra_or_duplicated_attributes(void **state)
{
    refused(&F->p256, mod_missing_attr, "three signed attributes");
    refused(&F->p256, mod_extra_attr, "three signed attributes");
    refused(&F->sm2, mod_extra_attr, "three signed attributes");
    refused(&F->p256, mod_two_digests, "contentType");
    refused(&F->p256, mod_two_values, "contentType");
}

static void test_parse_refuses_attribute_values_off_the_profile(void **state)
{
    refused(&F->p256, mod_generalized_time, "signingTime");
    refused(&F->p256, mod_time_without_seconds, "signingTime");
    refused(&F->p256, mod_bad_date, "profile's encoding");
    refused(&F->p256, mod_short_digest, "messageDigest");
    refused(&F->p256, mod_other_content_type, "contentType");
    refused(&F->p256, mod_unsorted_attrs, "not DER");
}

static void test_parse_refuses_algorithms_not_the_keys(void **state)
{
    refused(&F->p256, mod_p256_with_sm2_oids, "algorithms");
    refused(&F->sm2, mod_sm2_with_p256_oids, "algorithms");
    refused(&F->p256, mod_mixed_oids, "algorithms");
    refused(&F->sm2, mod_mixed_oids2, "algorithms");
    refused(&F->p256, mod_null_params, "parameters");
    refused(&F->sm2, mod_null_params, "parameters");
}

static void test_parse_refuses_a_missing_signer_certificate(void **state)
{
    refused(&F->p256, mod_signer_cert_missing, "not among the certificates");
    refused(&F->p256, mod_no_certificates, "certificates");
}

static void test_parse_refuses_attached_content(void **state)
{
    refused(&F->p256, mod_attached, "detached");
    refused(&F->sm2, mod_attached, "detached");
}

static void test_parse_refuses_other_fields_and_versions(void **state)
{
    refused(&F->p256, mod_sd_version3, "profile's SignedData");
    refused(&F->p256, mod_si_version3, "profile's SignedData");
    refused(&F->p256, mod_ski, "IssuerAndSerialNumber");
    refused(&F->p256, mod_crls, NULL);
    refused(&F->p256, mod_unsigned_attr, "profile's SignedData");
    refused(&F->p256, mod_not_signed_data, NULL);
    refused(&F->p256, mod_unsorted_certs, "not DER");
    refused(&F->p256, mod_empty_signature, "signature length");
    refused(&F->p256, mod_long_signature, "signature length");
}

/* BER forms of a good blob: indefinite and non-minimal lengths. */
static void test_parse_refuses_ber(void **state)
{
    mc_buf cms = {0}, ber = {0};
    good_cms(&F->p256, "ber", NULL, 0, &cms);
    assert_int_equal(cms.ptr[0], 0x30);
    assert_int_equal(cms.ptr[1], 0x82); /* a 2-byte length follows */
    /* indefinite outer length */
    mc_buf_append(&ber, "\x30\x80", 2);
    mc_buf_append(&ber, cms.ptr + 4, cms.len - 4);
    mc_buf_append(&ber, "\0\0", 2);
    assert_bad_cms(ber.ptr, ber.len, "not DER");
    /* outer length in three bytes */
    ber.len = 0;
    mc_buf_append(&ber, "\x30\x83\x00", 3);
    mc_buf_append(&ber, cms.ptr + 2, cms.len - 2);
    assert_bad_cms(ber.ptr, ber.len, "not DER");
    mc_buf_free(&cms);
    mc_buf_free(&ber);
}

/* The leaf and k copies of the CA certificate, in DER order. */
static void leaf_and_ca_copies(craft_opts *o, const leaf *l, size_t k)
{
    mc_slice lf = {l->der.ptr, l->der.len}, ca = {F->ca_der.ptr, F->ca_der.len};
    int leaf_first = der_before(lf, ca);
    assert_true(k + 1 <= sizeof(o->certs) / sizeof(o->certs[0]));
    o->ncerts = 0;
    if (leaf_first)
        o->certs[o->ncerts++] = lf;
    for (size_t i = 0; i < k; i++)
        o->certs[o->ncerts++] = ca;
    if (!leaf_first)
        o->certs[o->ncerts++] = lf;
}

/* A SignedData over the MC_CMS_MAX limit is refused even though it is
 * otherwise good (the same with fewer certificates parses). */
static void test_parse_refuses_an_oversized_but_good_signed_data(void **state)
{
    const leaf *l = &F->p256;
    uint8_t d[32], sig[MC_SIG_MAX];
    size_t siglen;
    mc_buf attrs = {0}, cms = {0};
    mc_cms_info info;
    mc_err err;
    craft_opts o;

    doc_digest(l->alg, "big", d);
    o = good_opts(l, d, &attrs, sig, &siglen);
    leaf_and_ca_copies(&o, l, MC_CMS_MAX / F->ca_der.len + 1);
    craft(&o, &cms);
    assert_true(cms.len > MC_CMS_MAX);
    assert_bad_cms(cms.ptr, cms.len, "over 16384");
    /* two copies: fine */
    leaf_and_ca_copies(&o, l, 2);
    craft(&o, &cms);
    if (mc_cms_parse(cms.ptr, cms.len, &info, &err) != 0)
        fail_msg("parse: %s", err.msg);
    assert_int_equal(sk_X509_num(info.others), 2);
    mc_cms_info_clear(&info);
    mc_buf_free(&attrs);
    mc_buf_free(&cms);
}

/* ---------------------------------------------------------------- */
/* mc_cms_check                                                       */

static void assert_bad_signature(const uint8_t *der, size_t len)
{
    mc_cms_info info;
    mc_err err;
    if (mc_cms_parse(der, len, &info, &err) != 0)
        fail_msg("parse: %s", err.msg);
    mc_err_clear(&err);
    assert_int_equal(mc_cms_check(&info, &err), -1);
    assert_string_equal(err.code, "bad_signature");
    assert_int_equal(err.status, 403);
    mc_cms_info_clear(&info);
}

static void test_check_refuses_a_wrong_signature(void **state)
{
    const leaf *ls[2] = {&F->p256, &F->sm2};
    for (int k = 0; k < 2; k++) {
        const leaf *l = ls[k];
        uint8_t d[32], sig[MC_SIG_MAX], osig[MC_SIG_MAX];
        size_t siglen, osiglen;
        mc_slice c = {l->der.ptr, l->der.len};
        mc_buf cms = {0};
        mc_err err;

        doc_digest(l->alg, "doc", d);
        phone_sign(l, T_KNOWN, d, sig, &siglen);
        /* a signature by another key (the other leaf of the same alg is
         * not at hand for SM2: a fresh key) */
        EVP_PKEY *other = mc_keygen(l->alg, &err);
        assert_non_null(other);
        uint8_t attrs[MC_CMS_ATTRS_LEN];
        assert_int_equal(mc_cms_signed_attrs(T_KNOWN, d, attrs, &err), 0);
        assert_int_equal(mc_sign(other, attrs, sizeof(attrs), osig, &osiglen, &err), 0);
        EVP_PKEY_free(other);
        assert_int_equal(mc_cms_build(&c, 1, l->alg, d, T_KNOWN, osig, osiglen, &cms, &err), 0);
        assert_bad_signature(cms.ptr, cms.len);
        /* its own signature at another signing time */
        cms.len = 0;
        assert_int_equal(mc_cms_build(&c, 1, l->alg, d, T_KNOWN + 1, sig, siglen, &cms, &err), 0);
        assert_bad_signature(cms.ptr, cms.len);
        /* a byte of r changed (still DER) */
        memcpy(osig, sig, siglen);
        osig[6] ^= 0x40;
        cms.len = 0;
        assert_int_equal(mc_cms_build(&c, 1, l->alg, d, T_KNOWN, osig, siglen, &cms, &err), 0);
        assert_bad_signature(cms.ptr, cms.len);
        /* not DER at all */
        cms.len = 0;
        assert_int_equal(mc_cms_build(&c, 1, l->alg, d, T_KNOWN, (const uint8_t *)"\x01", 1,
                                      &cms, &err), 0);
        assert_bad_signature(cms.ptr, cms.len);
        mc_buf_free(&cms);
    }
}

/* Document A's signature placed into document B's SignedData (B's digest
 * in the attributes) does not check. */
static void test_check_refuses_a_signature_moved_to_another_document(void **state)
{
    const leaf *ls[2] = {&F->p256, &F->sm2};
    for (int k = 0; k < 2; k++) {
        const leaf *l = ls[k];
        uint8_t da[32], db[32], sig[MC_SIG_MAX];
        size_t siglen;
        mc_slice c = {l->der.ptr, l->der.len};
        mc_buf cms = {0};
        mc_cms_info info;
        mc_err err;

        doc_digest(l->alg, "document A", da);
        doc_digest(l->alg, "document B", db);
        phone_sign(l, T_KNOWN, da, sig, &siglen);
        assert_int_equal(mc_cms_build(&c, 1, l->alg, da, T_KNOWN, sig, siglen, &cms, &err), 0);
        assert_int_equal(mc_cms_parse(cms.ptr, cms.len, &info, &err), 0);
        assert_int_equal(mc_cms_check(&info, &err), 0);
        mc_cms_info_clear(&info);
        cms.len = 0;
        assert_int_equal(mc_cms_build(&c, 1, l->alg, db, T_KNOWN, sig, siglen, &cms, &err), 0);
        assert_bad_signature(cms.ptr, cms.len);
        mc_buf_free(&cms);
    }
}

/* An SM2 signature made with OpenSSL 3.0's empty default ID is not one
 * made with the GM/T 0009 ID: refused. */
static void test_check_refuses_sm2_signed_with_the_empty_id(void **state)
{
    const leaf *l = &F->sm2;
    uint8_t d[32], attrs[MC_CMS_ATTRS_LEN], sig[MC_SIG_MAX];
    size_t siglen = sizeof(sig);
    mc_slice c = {l->der.ptr, l->der.len};
    mc_buf cms = {0};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    mc_err err;

    doc_digest(l->alg, "doc", d);
    assert_int_equal(mc_cms_signed_attrs(T_KNOWN, d, attrs, &err), 0);
    assert_non_null(md);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, l->key), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &siglen, attrs, sizeof(attrs)), 1);
    EVP_MD_CTX_free(md);
    assert_int_equal(mc_cms_build(&c, 1, l->alg, d, T_KNOWN, sig, siglen, &cms, &err), 0);
    assert_bad_signature(cms.ptr, cms.len);
    mc_buf_free(&cms);
}

static void test_check_refuses_an_empty_info(void **state)
{
    mc_cms_info info;
    mc_err err;
    memset(&info, 0, sizeof(info));
    assert_int_equal(mc_cms_check(&info, &err), -1);
    assert_string_equal(err.code, "bad_signature");
    assert_int_equal(mc_cms_check(NULL, &err), -1);
    mc_cms_info_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_attrs_are_the_protocol_bytes_at_a_known_time),
        cmocka_unit_test(test_signed_attrs_at_the_ends_of_the_utctime_range),
        cmocka_unit_test(test_signed_attrs_refuse_times_outside_utctime),
        cmocka_unit_test(test_p256_build_parse_check_round_trip),
        cmocka_unit_test(test_sm2_build_parse_check_round_trip),
        cmocka_unit_test(test_build_is_the_profile_encoding_with_sorted_certificates),
        cmocka_unit_test(test_build_appends_and_refuses_bad_arguments),
        cmocka_unit_test(test_build_refuses_more_than_the_parse_limit),
        cmocka_unit_test(test_a_prepared_signer_builds_the_same_bytes),
        cmocka_unit_test(test_p256_openssl_cms_verify_accepts_and_refuses_a_changed_document),
        cmocka_unit_test(test_sm2_signed_data_verifies_with_openssl_alone),
        cmocka_unit_test(test_openssl_cms_sign_output_parses_and_checks),
        cmocka_unit_test(test_parse_refuses_garbage_and_sizes),
        cmocka_unit_test(test_parse_refuses_every_truncation_and_trailing_bytes),
        cmocka_unit_test(test_no_bit_flip_gives_a_valid_signature_over_other_attributes),
        cmocka_unit_test(test_parse_refuses_two_signers),
        cmocka_unit_test(test_parse_refuses_missing_extra_or_duplicated_attributes),
        cmocka_unit_test(test_parse_refuses_attribute_values_off_the_profile),
        cmocka_unit_test(test_parse_refuses_algorithms_not_the_keys),
        cmocka_unit_test(test_parse_refuses_a_missing_signer_certificate),
        cmocka_unit_test(test_parse_refuses_attached_content),
        cmocka_unit_test(test_parse_refuses_other_fields_and_versions),
        cmocka_unit_test(test_parse_refuses_ber),
        cmocka_unit_test(test_parse_refuses_an_oversized_but_good_signed_data),
        cmocka_unit_test(test_check_refuses_a_wrong_signature),
        cmocka_unit_test(test_check_refuses_a_signature_moved_to_another_document),
        cmocka_unit_test(test_check_refuses_sm2_signed_with_the_empty_id),
        cmocka_unit_test(test_check_refuses_an_empty_info),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
