/*
 * test_certcache.c — the verified-chain memo: hits give the same answer as
 * a full verification, and it never extends what verification would refuse
 * (expired or not yet valid leaf, an intermediate or anchor that expires
 * while the chain is cached, untrusted or malformed chain, entry older than
 * the TTL, no trust store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mc_certcache.h"

#define USCC "91350100M000100Y43"

/* A P-256 CSR for `key` with CN and organizationIdentifier, as DER. */
static void csr_for(EVP_PKEY *key, mc_buf *out)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *nm = X509_REQ_get_subject_name(req);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"Holder", -1, -1, 0);
    X509_NAME_add_entry_by_NID(nm, NID_organizationIdentifier, MBSTRING_UTF8,
                               (const unsigned char *)USCC, -1, -1, 0);
    X509_REQ_set_pubkey(req, key);
    assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int len = i2d_X509_REQ(req, &der);
    assert_true(len > 0);
    mc_buf_append(out, der, (size_t)len);
    OPENSSL_free(der);
    X509_REQ_free(req);
}

typedef struct fixture {
    mc_ca *ca, *other;
    mc_trust *trust;
    mc_buf good, foreign;  /* leaf DER from our CA / from another CA */
    mc_buf brief;          /* leaf DER from our CA expiring within the TTL */
    int64_t nb, na;        /* validity of good */
    int64_t brief_na;
} fixture;

/* DER of a leaf for csr issued by ca, valid nb..na. */
static void issue_der(mc_ca *ca, const mc_buf *csr, int64_t nb, int64_t na, mc_buf *out)
{
    mc_err err;
    X509 *x = mc_ca_issue_ex(ca, csr->ptr, csr->len, nb, na,
                             KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, &err);
    assert_non_null(x);
    assert_int_equal(mc_x509_der(x, out), 0);
    X509_free(x);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    mc_err err;
    mc_buf csr = {0};
    EVP_PKEY *k;
    int64_t now = (int64_t)time(NULL);

    assert_non_null(f);
    assert_non_null(f->ca = mc_ca_create(MC_ALG_P256, "Cache CA", 10, &err));
    assert_non_null(f->other = mc_ca_create(MC_ALG_P256, "Other CA", 10, &err));
    assert_non_null(f->trust = mc_trust_new());
    assert_int_equal(mc_trust_add(f->trust, mc_ca_cert(f->ca)), 0);
    assert_non_null(k = mc_keygen(MC_ALG_P256, &err));
    csr_for(k, &csr);
    f->nb = now - 60;
    f->na = now + 3600;
    f->brief_na = now + MC_CERTCACHE_TTL / 4;
    issue_der(f->ca, &csr, f->nb, f->na, &f->good);
    issue_der(f->other, &csr, f->nb, f->na, &f->foreign);
    issue_der(f->ca, &csr, f->nb, f->brief_na, &f->brief);
    EVP_PKEY_free(k);
    mc_buf_free(&csr);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mc_ca_free(f->ca);
    mc_ca_free(f->other);
    mc_trust_free(f->trust);
    mc_buf_free(&f->good);
    mc_buf_free(&f->foreign);
    mc_buf_free(&f->brief);
    free(f);
    return 0;
}

/* Verify the one-certificate chain der through c at now. */
static int verify_at(mc_certcache *c, const fixture *f, const mc_buf *der, int64_t now,
                     mc_err *err)
{
    mc_slice ch = {der->ptr, der->len};
    mc_err_clear(err);
    return mc_certcache_verify(c, f->trust, &ch, 1, now, NULL, NULL, err);
}

static void assert_stats(const mc_certcache *c, unsigned long hits, unsigned long misses)
{
    unsigned long h, m;
    mc_certcache_stats(c, &h, &m);
    assert_int_equal(h, hits);
    assert_int_equal(m, misses);
}

static void a_hit_answers_like_a_full_verification(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_slice ch = {f->good.ptr, f->good.len};
    mc_cert_info a, b, full;
    EVP_PKEY *pa = NULL, *pb = NULL;
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now, &a, &pa, &err), 0);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now, &b, &pb, &err), 0);
    assert_stats(c, 1, 1);
    assert_memory_equal(a.fp, b.fp, 32);
    assert_string_equal(b.uscc, USCC);
    assert_ptr_equal(pa, pb);
    assert_int_equal(mc_cert_verify_chain(f->trust, &ch, 1, now, &full, NULL, &err), 0);
    assert_memory_equal(&b, &full, sizeof(full));
    EVP_PKEY_free(pa);
    EVP_PKEY_free(pb);
    mc_certcache_free(c); /* the cache's own reference is freed here */
}

static void failures_are_not_remembered(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(verify_at(c, f, &f->foreign, now, &err), -1);
        assert_string_equal(err.code, "cert_untrusted");
    }
    assert_stats(c, 0, 2);
    mc_certcache_free(c);
}

static void an_expired_leaf_is_verified_again_and_refused(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(verify_at(c, f, &f->good, now, &err), 0);
    assert_int_equal(verify_at(c, f, &f->good, f->na + 10, &err), -1);
    assert_string_equal(err.code, "cert_expired");
    /* The same within the TTL, so only the entry's notAfter can refuse the
     * hit (f->na above is also past the TTL). */
    assert_int_equal(verify_at(c, f, &f->brief, now, &err), 0);
    assert_true(f->brief_na + 1 - now < MC_CERTCACHE_TTL);
    assert_int_equal(verify_at(c, f, &f->brief, f->brief_na + 1, &err), -1);
    assert_string_equal(err.code, "cert_expired");
    assert_stats(c, 0, 4);
    mc_certcache_free(c);
}

/* A CA certificate for key, valid nb..na, signed by issuer_key (self-signed
 * when issuer is NULL). */
static X509 *ca_cert(X509 *issuer, EVP_PKEY *issuer_key, const char *cn, EVP_PKEY *key,
                     int64_t nb, int64_t na)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    X509_EXTENSION *ex;

    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(na & 0xffffff)), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)cn, -1, -1, 0);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)), 1);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    assert_non_null(ex = X509V3_EXT_nconf_nid(NULL, &v3, NID_basic_constraints,
                                              "critical,CA:TRUE"));
    assert_int_equal(X509_add_ext(x, ex, -1), 1);
    X509_EXTENSION_free(ex);
    assert_non_null(ex = X509V3_EXT_nconf_nid(NULL, &v3, NID_key_usage,
                                              "critical,keyCertSign,cRLSign"));
    assert_int_equal(X509_add_ext(x, ex, -1), 1);
    X509_EXTENSION_free(ex);
    /* mc_ca_issue writes authorityKeyIdentifier keyid:always */
    assert_non_null(ex = X509V3_EXT_nconf_nid(NULL, &v3, NID_subject_key_identifier, "hash"));
    assert_int_equal(X509_add_ext(x, ex, -1), 1);
    X509_EXTENSION_free(ex);
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    return x;
}

/* The mc_ca of (cert, key), through the files mc_ca_load reads. */
static mc_ca *ca_of(X509 *cert, EVP_PKEY *key)
{
    char dir[] = "/tmp/mcert_cc_XXXXXX", kp[64], cp[64];
    FILE *fp;
    mc_err err;
    mc_ca *ca;

    assert_non_null(mkdtemp(dir));
    snprintf(kp, sizeof(kp), "%s/ca.key", dir);
    snprintf(cp, sizeof(cp), "%s/ca.crt", dir);
    assert_non_null(fp = fopen(kp, "w"));
    assert_int_equal(PEM_write_PKCS8PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
    assert_non_null(fp = fopen(cp, "w"));
    assert_int_equal(PEM_write_X509(fp, cert), 1);
    fclose(fp);
    ca = mc_ca_load(dir, &err);
    unlink(kp);
    unlink(cp);
    rmdir(dir);
    assert_non_null(ca);
    return ca;
}

/* root (trusted, long) -> intermediate (expires within the TTL) -> leaf
 * (long): the cached chain holds only until the intermediate's notAfter.
 * The same with the short-lived certificate as the anchor itself. */
static void a_chain_is_cached_only_until_its_earliest_expiry(void **state)
{
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    int64_t ina = now + MC_CERTCACHE_TTL / 4;
    EVP_PKEY *rkey = mc_keygen(MC_ALG_P256, &err), *ikey = mc_keygen(MC_ALG_P256, &err);
    EVP_PKEY *lkey = mc_keygen(MC_ALG_P256, &err);
    X509 *root = ca_cert(NULL, rkey, "Cache Root", rkey, now - 60, now + 86400);
    X509 *inter = ca_cert(root, rkey, "Cache Intermediate", ikey, now - 60, ina);
    mc_ca *ica = ca_of(inter, ikey);
    mc_buf csr = {0}, leaf = {0}, im = {0};
    mc_trust *rt = mc_trust_new(), *it = mc_trust_new();
    mc_certcache *c = mc_certcache_new(64);
    mc_cert_info info;

    assert_non_null(rt);
    assert_non_null(it);
    assert_int_equal(mc_trust_add(rt, root), 0);
    assert_int_equal(mc_trust_add(it, inter), 0);
    csr_for(lkey, &csr);
    issue_der(ica, &csr, now - 60, now + 3600, &leaf);
    assert_int_equal(mc_x509_der(inter, &im), 0);
    mc_slice ch[2] = {{leaf.ptr, leaf.len}, {im.ptr, im.len}};

    /* The full check reports the path's earliest expiry. */
    assert_int_equal(mc_cert_verify_chain(rt, ch, 2, now, &info, NULL, &err), 0);
    assert_int_equal(info.not_after, now + 3600);
    assert_int_equal(info.path_not_after, ina);

    /* Intermediate: cached, hit up to its notAfter, refused after it. */
    assert_int_equal(mc_certcache_verify(c, rt, ch, 2, now, NULL, NULL, &err), 0);
    assert_int_equal(mc_certcache_verify(c, rt, ch, 2, ina, NULL, NULL, &err), 0);
    assert_stats(c, 1, 1);
    assert_true(ina + 1 - now < MC_CERTCACHE_TTL); /* only the expiry can refuse */
    assert_int_equal(mc_certcache_verify(c, rt, ch, 2, ina + 1, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "cert_expired");
    assert_stats(c, 1, 2);

    /* Anchor: the intermediate trusted directly, the leaf presented alone. */
    assert_int_equal(mc_certcache_verify(c, it, ch, 1, now, NULL, NULL, &err), 0);
    assert_int_equal(mc_certcache_verify(c, it, ch, 1, ina, NULL, NULL, &err), 0);
    assert_stats(c, 2, 3);
    assert_int_equal(mc_certcache_verify(c, it, ch, 1, ina + 1, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "cert_expired");
    assert_stats(c, 2, 4);

    mc_certcache_free(c);
    mc_trust_free(rt);
    mc_trust_free(it);
    mc_ca_free(ica);
    X509_free(root);
    X509_free(inter);
    EVP_PKEY_free(rkey);
    EVP_PKEY_free(ikey);
    EVP_PKEY_free(lkey);
    mc_buf_free(&csr);
    mc_buf_free(&leaf);
    mc_buf_free(&im);
}

static void a_time_before_the_entry_is_verified_again(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(verify_at(c, f, &f->good, now, &err), 0);
    /* Before notBefore: refused as by the full check. */
    assert_int_equal(verify_at(c, f, &f->good, f->nb - 10, &err), -1);
    assert_string_equal(err.code, "cert_not_yet_valid");
    /* Within the validity but before the entry was made: verified again. */
    assert_int_equal(verify_at(c, f, &f->good, f->nb + 10, &err), 0);
    assert_stats(c, 0, 3);
    mc_certcache_free(c);
}

static void an_old_entry_is_verified_again(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(verify_at(c, f, &f->good, now, &err), 0);
    assert_int_equal(verify_at(c, f, &f->good, now + MC_CERTCACHE_TTL - 1, &err), 0);
    assert_stats(c, 1, 1);
    assert_int_equal(verify_at(c, f, &f->good, now + MC_CERTCACHE_TTL, &err), 0);
    assert_stats(c, 1, 2);
    mc_certcache_free(c);
}

static void a_different_chain_is_a_miss_even_in_the_same_slot(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(1); /* every chain shares the one slot */
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(verify_at(c, f, &f->good, now, &err), 0);
    assert_int_equal(verify_at(c, f, &f->foreign, now, &err), -1);
    assert_string_equal(err.code, "cert_untrusted");
    /* garbage is refused as by the full check */
    uint8_t junk[3] = {1, 2, 3};
    mc_slice j = {junk, sizeof(junk)};
    assert_int_equal(mc_certcache_verify(c, f->trust, &j, 1, now, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "bad_cert");
    /* failures did not evict the good entry */
    assert_int_equal(verify_at(c, f, &f->good, now, &err), 0);
    assert_stats(c, 1, 3);
    /* a different good chain replaces it */
    assert_int_equal(verify_at(c, f, &f->brief, now, &err), 0);
    assert_int_equal(verify_at(c, f, &f->good, now, &err), 0);
    assert_stats(c, 1, 5);
    mc_certcache_free(c);
}

/* Malformed chains get the full check's refusal (never a lookup), and no
 * entry is served without a trust store. */
static void malformed_chains_are_refused_as_by_the_full_check(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_slice ch[MC_CHAIN_MAX + 1];
    static uint8_t big[MC_CERT_DER_MAX + 1];
    EVP_PKEY *pub;
    mc_err err;
    int64_t now = (int64_t)time(NULL);

    assert_int_equal(verify_at(c, f, &f->good, now, &err), 0);
    for (size_t i = 0; i <= MC_CHAIN_MAX; i++)
        ch[i] = (mc_slice){f->good.ptr, f->good.len};
    assert_int_equal(mc_certcache_verify(c, f->trust, ch, 0, now, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "bad_cert");
    assert_int_equal(mc_certcache_verify(c, f->trust, ch, MC_CHAIN_MAX + 1, now, NULL, NULL,
                                         &err), -1);
    assert_string_equal(err.code, "bad_cert");
    assert_int_equal(mc_certcache_verify(c, f->trust, NULL, 1, now, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "bad_cert");
    /* Empty, pointer-less and oversized slices, also behind a good leaf. */
    mc_slice bad[] = {{f->good.ptr, 0}, {NULL, f->good.len}, {big, sizeof(big)}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ch[0] = bad[i];
        assert_int_equal(mc_certcache_verify(c, f->trust, ch, 1, now, NULL, NULL, &err), -1);
        assert_string_equal(err.code, "bad_cert");
        ch[0] = (mc_slice){f->good.ptr, f->good.len};
        ch[1] = bad[i];
        pub = (EVP_PKEY *)1;
        assert_int_equal(mc_certcache_verify(c, f->trust, ch, 2, now, NULL, &pub, &err), -1);
        assert_string_equal(err.code, "bad_cert");
        assert_null(pub);
    }
    /* The chain that is cached, but no trust store. */
    assert_int_equal(mc_certcache_verify(c, NULL, ch, 1, now, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "internal");
    assert_stats(c, 0, 1);
    mc_certcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hit_answers_like_a_full_verification),
        cmocka_unit_test(failures_are_not_remembered),
        cmocka_unit_test(an_expired_leaf_is_verified_again_and_refused),
        cmocka_unit_test(a_chain_is_cached_only_until_its_earliest_expiry),
        cmocka_unit_test(a_time_before_the_entry_is_verified_again),
        cmocka_unit_test(an_old_entry_is_verified_again),
        cmocka_unit_test(a_different_chain_is_a_miss_even_in_the_same_slot),
        cmocka_unit_test(malformed_chains_are_refused_as_by_the_full_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
