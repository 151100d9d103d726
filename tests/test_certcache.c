/*
 * test_certcache.c — the verified-chain memo: hits give the same answer as
 * a full verification, and it never extends what verification would refuse
 * (expired leaf, untrusted chain, entry older than the TTL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
    int64_t nb, na;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    mc_err err;
    f->ca = mc_ca_create(MC_ALG_P256, "Cache CA", 10, &err);
    f->other = mc_ca_create(MC_ALG_P256, "Other CA", 10, &err);
    f->trust = mc_trust_new();
    mc_trust_add(f->trust, mc_ca_cert(f->ca));
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    mc_buf csr = {0};
    csr_for(k, &csr);
    int64_t now = (int64_t)time(NULL);
    f->nb = now - 60;
    f->na = now + 3600;
    X509 *x = mc_ca_issue_ex(f->ca, csr.ptr, csr.len, f->nb, f->na,
                             KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, &err);
    X509 *y = mc_ca_issue(f->other, csr.ptr, csr.len, 30, &err);
    assert_non_null(x);
    assert_non_null(y);
    mc_x509_der(x, &f->good);
    mc_x509_der(y, &f->foreign);
    X509_free(x);
    X509_free(y);
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
    free(f);
    return 0;
}

static void a_hit_answers_like_a_full_verification(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_slice ch = {f->good.ptr, f->good.len};
    mc_cert_info a, b;
    EVP_PKEY *pa = NULL, *pb = NULL;
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now, &a, &pa, &err), 0);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now, &b, &pb, &err), 0);
    unsigned long hits, misses;
    mc_certcache_stats(c, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 1);
    assert_memory_equal(a.fp, b.fp, 32);
    assert_string_equal(b.uscc, USCC);
    assert_ptr_equal(pa, pb);
    EVP_PKEY_free(pa);
    EVP_PKEY_free(pb);
    mc_certcache_free(c); /* the cache's own reference is freed here */
}

static void failures_are_not_remembered(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_slice ch = {f->foreign.ptr, f->foreign.len};
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now, NULL, NULL, &err), -1);
        assert_string_equal(err.code, "cert_untrusted");
    }
    unsigned long hits, misses;
    mc_certcache_stats(c, &hits, &misses);
    assert_int_equal(hits, 0);
    mc_certcache_free(c);
}

static void an_expired_leaf_is_verified_again_and_refused(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_slice ch = {f->good.ptr, f->good.len};
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now, NULL, NULL, &err), 0);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, f->na + 10, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "cert_expired");
    mc_certcache_free(c);
}

static void an_old_entry_is_verified_again(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(64);
    mc_slice ch = {f->good.ptr, f->good.len};
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now, NULL, NULL, &err), 0);
    assert_int_equal(mc_certcache_verify(c, f->trust, &ch, 1, now + MC_CERTCACHE_TTL, NULL, NULL,
                                         &err), 0);
    unsigned long hits, misses;
    mc_certcache_stats(c, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 2);
    mc_certcache_free(c);
}

static void a_different_chain_is_a_miss_even_in_the_same_slot(void **state)
{
    fixture *f = *state;
    mc_certcache *c = mc_certcache_new(1); /* every chain shares the one slot */
    mc_slice good = {f->good.ptr, f->good.len}, bad = {f->foreign.ptr, f->foreign.len};
    mc_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(mc_certcache_verify(c, f->trust, &good, 1, now, NULL, NULL, &err), 0);
    assert_int_equal(mc_certcache_verify(c, f->trust, &bad, 1, now, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "cert_untrusted");
    /* garbage is refused as by the full check */
    uint8_t junk[3] = {1, 2, 3};
    mc_slice j = {junk, sizeof(junk)};
    assert_int_equal(mc_certcache_verify(c, f->trust, &j, 1, now, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "bad_cert");
    mc_certcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hit_answers_like_a_full_verification),
        cmocka_unit_test(failures_are_not_remembered),
        cmocka_unit_test(an_expired_leaf_is_verified_again_and_refused),
        cmocka_unit_test(an_old_entry_is_verified_again),
        cmocka_unit_test(a_different_chain_is_a_miss_even_in_the_same_slot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
