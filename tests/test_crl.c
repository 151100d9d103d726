/*
 * test_crl.c — mc_crl (the CRL and OCSP responses) as a pure module: what
 * it builds is read back with OpenSSL's own decoders and verifiers (not
 * with mc_crl.c), hostile requests are refused, the reasons are exactly the
 * documented ones. The server around it: test_ca.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "mc_crl.h"

static mc_ca *new_ca(mc_alg alg)
{
    mc_err err;
    mc_ca *ca = mc_ca_create(alg, "Test-CRL-CA", 30, &err);
    assert_non_null(ca);
    return ca;
}

/* ---- reasons ---- */

static void reasons_are_the_documented_ones(void **state)
{
    (void)state;
    static const int allowed[] = {0, 1, 3, 4, 5, 9};
    for (int r = -2; r <= 12; r++) {
        int want = 0;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
            want |= allowed[i] == r;
        assert_int_equal(mc_reason_allowed(r), want);
        char num[8];
        snprintf(num, sizeof(num), "%d", r);
        assert_int_equal(mc_reason_parse(num, strlen(num)), want ? r : -1);
        const char *name = mc_reason_name(r);
        if (name != NULL)
            assert_int_equal(mc_reason_parse(name, strlen(name)), want ? r : -1);
    }
    assert_string_equal(mc_reason_name(1), "keyCompromise");
    assert_string_equal(mc_reason_name(9), "privilegeWithdrawn");
    assert_null(mc_reason_name(7));
    assert_null(mc_reason_name(11));
    static const char *const bad[] = {"", "01", "1 ", "+1", "keycompromise", "KeyCompromise",
                                      "keyCompromise\n", "certificateHold", "99", "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(mc_reason_parse(bad[i], strlen(bad[i])), -1);
    /* the length counts, not a NUL */
    assert_int_equal(mc_reason_parse("1\0", 2), -1);
    assert_int_equal(mc_reason_parse("keyCompromise", 3), -1);
}

/* ---- the CRL ---- */

static X509_CRL *parse_crl(const mc_buf *b)
{
    const unsigned char *p = b->ptr;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)b->len);
    assert_non_null(crl);
    assert_ptr_equal(p, b->ptr + b->len);
    return crl;
}

static void the_crl_verifies_and_holds_what_it_was_given(void **state)
{
    (void)state;
    mc_ca *ca = new_ca(MC_ALG_P256);
    mc_crl_entry e[3] = {
        {"7F00000000000000000000000000000A", 1795600000, 1},
        {"0123", 1795600100, 0},
        {"40112233445566778899AABBCCDDEEFF", 1795600200, 9},
    };
    mc_buf b = {0};
    mc_err err;
    assert_int_equal(mc_crl_build(ca, 42, 1795700000, e, 3, &b, &err), 0);
    X509_CRL *crl = parse_crl(&b);
    X509 *cacert = mc_ca_cert(ca);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(cacert)), 1);
    assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(cacert)), 0);
    int day, sec;
    assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_CRL_get0_lastUpdate(crl),
                                    X509_CRL_get0_nextUpdate(crl)),
                     1);
    assert_int_equal(day * 86400 + sec, MC_CRL_NEXT_UPDATE);
    time_t t = 1795700000; /* thisUpdate is `now`: not after it, after a second before */
    assert_int_equal(X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t), -1);
    t--;
    assert_int_equal(X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t), 1);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    assert_non_null(num);
    assert_int_equal(ASN1_INTEGER_get(num), 42);
    ASN1_INTEGER_free(num);
    AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    assert_non_null(akid);
    assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(cacert)), 0);
    AUTHORITY_KEYID_free(akid);
    STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(crl);
    assert_int_equal(sk_X509_REVOKED_num(rv), 3);
    /* sorted by serial: 0x0123, 0x40..., 0x7F... */
    static const char *const order[] = {"0123", "40112233445566778899AABBCCDDEEFF",
                                        "7F00000000000000000000000000000A"};
    static const int reasons[] = {-1, 9, 1};
    static const time_t at[] = {1795600100, 1795600200, 1795600000};
    for (int i = 0; i < 3; i++) {
        X509_REVOKED *r = sk_X509_REVOKED_value(rv, i);
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
        char *hex = BN_bn2hex(bn);
        assert_string_equal(hex, order[i]);
        OPENSSL_free(hex);
        BN_free(bn);
        time_t want = at[i];
        assert_int_equal(X509_cmp_time(X509_REVOKED_get0_revocationDate(r), &want), -1);
        want = at[i] - 1;
        assert_int_equal(X509_cmp_time(X509_REVOKED_get0_revocationDate(r), &want), 1);
        int crit = 0;
        ASN1_ENUMERATED *why = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
        if (reasons[i] < 0) {
            assert_null(why); /* unspecified: no extension at all */
        } else {
            assert_non_null(why);
            assert_int_equal(ASN1_ENUMERATED_get(why), reasons[i]);
            assert_int_equal(crit, 0);
        }
        ASN1_ENUMERATED_free(why);
    }
    X509_CRL_free(crl);
    /* an empty CRL, number 0 */
    b.len = 0;
    assert_int_equal(mc_crl_build(ca, 0, 1795700000, NULL, 0, &b, &err), 0);
    crl = parse_crl(&b);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(cacert)), 1);
    rv = X509_CRL_get_REVOKED(crl);
    assert_true(rv == NULL || sk_X509_REVOKED_num(rv) == 0);
    X509_CRL_free(crl);
    mc_buf_free(&b);
    mc_ca_free(ca);
}

static void an_sm2_ca_signs_its_crl_with_sm2_sm3(void **state)
{
    (void)state;
    mc_ca *ca = new_ca(MC_ALG_SM2);
    mc_crl_entry e = {"0A0B", 1795600000, 4};
    mc_buf b = {0};
    mc_err err;
    assert_int_equal(mc_crl_build(ca, 1, 1795700000, &e, 1, &b, &err), 0);
    X509_CRL *crl = parse_crl(&b);
    assert_int_equal(X509_CRL_get_signature_nid(crl), NID_SM2_with_SM3);
    X509_CRL_free(crl);
    mc_buf_free(&b);
    mc_ca_free(ca);
}

static void malformed_entries_are_refused(void **state)
{
    (void)state;
    mc_ca *ca = new_ca(MC_ALG_P256);
    static const mc_crl_entry bad[] = {
        {"", 1, 0},
        {"0a0b", 1, 0},                                        /* lower case */
        {"XYZ", 1, 0},
        {"0A 0B", 1, 0},
        {"0A0B", 1, 7},                                        /* unassigned */
        {"0A0B", 1, 11},
        {"0A0B", 1, -1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mc_buf b = {0};
        mc_err err;
        mc_err_clear(&err);
        assert_int_equal(mc_crl_build(ca, 1, 1795700000, &bad[i], 1, &b, &err), -1);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.code, "bad_request");
        assert_int_equal(b.len, 0);
        mc_buf_free(&b);
    }
    mc_buf b = {0};
    mc_err err;
    mc_crl_entry e = {"0A", 1, 0};
    assert_int_equal(mc_crl_build(ca, -1, 1795700000, &e, 1, &b, &err), -1);
    mc_buf_free(&b);
    mc_ca_free(ca);
}

/* ---- OCSP ---- */

/* A DER OCSPRequest for the given CertIDs (issuer, md, serial hex), with a
 * nonce if nonce. */
typedef struct ask {
    X509 *issuer;
    const EVP_MD *md;
    const char *serial;
} ask;

static void make_request(const ask *a, size_t n, int nonce, mc_buf *out)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    for (size_t i = 0; i < n; i++) {
        BIGNUM *bn = NULL;
        assert_true(BN_hex2bn(&bn, a[i].serial) > 0);
        ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, NULL);
        OCSP_CERTID *id = OCSP_cert_id_new(a[i].md, X509_get_subject_name(a[i].issuer),
                                           X509_get0_pubkey_bitstr(a[i].issuer), sn);
        assert_non_null(OCSP_request_add0_id(req, id));
        ASN1_INTEGER_free(sn);
        BN_free(bn);
    }
    if (nonce)
        assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
    unsigned char *der = NULL;
    int len = i2d_OCSP_REQUEST(req, &der);
    assert_true(len > 0);
    out->len = 0;
    mc_buf_append(out, der, (size_t)len);
    OPENSSL_free(der);
    OCSP_REQUEST_free(req);
}

static void ocsp_requests_are_read_and_answered(void **state)
{
    (void)state;
    mc_ca *ca = new_ca(MC_ALG_P256);
    mc_ca *other = new_ca(MC_ALG_P256);
    X509 *cacert = mc_ca_cert(ca);
    ask a[4] = {
        {cacert, EVP_sha1(), "7F00000000000000000000000000000A"},
        {cacert, EVP_sha256(), "0123"},
        {mc_ca_cert(other), EVP_sha1(), "0123"},
        {cacert, EVP_sha1(), "00FF"},
    };
    mc_buf req = {0};
    make_request(a, 4, 1, &req);
    mc_ocsp_req *q = mc_ocsp_parse(ca, req.ptr, req.len);
    assert_non_null(q);
    size_t n;
    const mc_ocsp_ask *asks = mc_ocsp_asks(q, &n);
    assert_int_equal(n, 4);
    assert_true(asks[0].ours);
    assert_string_equal(asks[0].serial, "7F00000000000000000000000000000A");
    assert_true(asks[1].ours);
    assert_string_equal(asks[1].serial, "0123");
    assert_false(asks[2].ours); /* another issuer */
    assert_string_equal(asks[2].serial, "");
    assert_true(asks[3].ours);
    assert_string_equal(asks[3].serial, "FF"); /* as mc_x509 writes serials */

    mc_ocsp_status st[4] = {
        {MC_OCSP_REVOKED, 1795600000, 1},
        {MC_OCSP_GOOD, 0, 0},
        {MC_OCSP_GOOD, 0, 0}, /* not ours: unknown whatever it says */
        {MC_OCSP_REVOKED, 1795600000, 0},
    };
    mc_buf resp = {0};
    mc_err err;
    assert_int_equal(mc_ocsp_respond(ca, q, st, 1795700000, &resp, &err), 0);

    /* read back with OpenSSL's own OCSP client side */
    const unsigned char *p = resp.ptr;
    OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)resp.len);
    assert_non_null(r);
    assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(r);
    assert_non_null(bs);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, cacert);
    /* the signature and the signer's chain; not OpenSSL's check that the
     * signer issued every CertID's certificate, which the foreign CertID
     * fails by design (our CA answers unknown for it, it cannot vouch) */
    assert_int_equal(OCSP_basic_verify(bs, NULL, store, OCSP_NOCHECKS), 1);
    const unsigned char *rp = req.ptr;
    OCSP_REQUEST *oreq = d2i_OCSP_REQUEST(NULL, &rp, (long)req.len);
    assert_int_equal(OCSP_check_nonce(oreq, bs), 1);
    static const int want[4] = {V_OCSP_CERTSTATUS_REVOKED, V_OCSP_CERTSTATUS_GOOD,
                                V_OCSP_CERTSTATUS_UNKNOWN, V_OCSP_CERTSTATUS_REVOKED};
    static const int why[4] = {1, -1, -1, -1};
    assert_int_equal(OCSP_resp_count(bs), 4);
    for (int i = 0; i < 4; i++) {
        OCSP_SINGLERESP *one = OCSP_resp_get0(bs, i);
        ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
        int reason = -5;
        assert_int_equal(OCSP_single_get0_status(one, &reason, &rev, &thisupd, &nextupd),
                         want[i]);
        assert_null(nextupd);
        if (want[i] == V_OCSP_CERTSTATUS_REVOKED) {
            assert_int_equal(reason, why[i]);
            time_t t = 1795600000;
            assert_int_equal(X509_cmp_time(rev, &t), -1);
        }
        /* the CertID is the request's own, in the request's order */
        assert_int_equal(OCSP_id_cmp((OCSP_CERTID *)OCSP_SINGLERESP_get0_id(one),
                                     OCSP_onereq_get0_id(OCSP_request_onereq_get0(oreq, i))),
                         0);
    }
    /* signed by a CA it does not chain to: refused */
    X509_STORE *wrong = X509_STORE_new();
    X509_STORE_add_cert(wrong, mc_ca_cert(other));
    assert_true(OCSP_basic_verify(bs, NULL, wrong, 0) <= 0);
    X509_STORE_free(wrong);
    X509_STORE_free(store);
    OCSP_REQUEST_free(oreq);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);

    /* without a nonce: none in the answer */
    make_request(a, 1, 0, &req);
    mc_ocsp_req_free(q);
    q = mc_ocsp_parse(ca, req.ptr, req.len);
    assert_non_null(q);
    resp.len = 0;
    assert_int_equal(mc_ocsp_respond(ca, q, st, 1795700000, &resp, &err), 0);
    p = resp.ptr;
    r = d2i_OCSP_RESPONSE(NULL, &p, (long)resp.len);
    bs = OCSP_response_get1_basic(r);
    assert_int_equal(OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1), -1);
    /* only our CertIDs: every check of OpenSSL's passes */
    store = X509_STORE_new();
    X509_STORE_add_cert(store, cacert);
    assert_int_equal(OCSP_basic_verify(bs, NULL, store, 0), 1);
    X509_STORE_free(store);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);

    mc_ocsp_req_free(q);
    mc_buf_free(&req);
    mc_buf_free(&resp);
    mc_ca_free(other);
    mc_ca_free(ca);
}

static void hostile_ocsp_requests_are_malformed(void **state)
{
    (void)state;
    mc_ca *ca = new_ca(MC_ALG_P256);
    X509 *cacert = mc_ca_cert(ca);
    ask a[MC_OCSP_REQ_MAX + 1];
    for (size_t i = 0; i <= MC_OCSP_REQ_MAX; i++)
        a[i] = (ask){cacert, EVP_sha1(), "0A0B"};
    mc_buf req = {0};
    /* 16 is fine, 17 is not */
    make_request(a, MC_OCSP_REQ_MAX, 1, &req);
    mc_ocsp_req *q = mc_ocsp_parse(ca, req.ptr, req.len);
    assert_non_null(q);
    mc_ocsp_req_free(q);
    make_request(a, MC_OCSP_REQ_MAX + 1, 1, &req);
    assert_null(mc_ocsp_parse(ca, req.ptr, req.len));
    /* no CertID at all */
    make_request(a, 0, 0, &req);
    assert_null(mc_ocsp_parse(ca, req.ptr, req.len));
    /* every truncation, a trailing byte, garbage, nothing, too large */
    make_request(a, 2, 1, &req);
    for (size_t n = 0; n < req.len; n++)
        assert_null(mc_ocsp_parse(ca, req.ptr, n));
    mc_buf_append(&req, "", 1);
    assert_null(mc_ocsp_parse(ca, req.ptr, req.len));
    assert_null(mc_ocsp_parse(ca, (const uint8_t *)"garbage", 7));
    assert_null(mc_ocsp_parse(ca, NULL, 0));
    static uint8_t big[MC_OCSP_BODY_MAX + 1];
    assert_null(mc_ocsp_parse(ca, big, sizeof(big)));
    assert_null(mc_ocsp_parse(NULL, req.ptr, req.len - 1));
    /* the status-only answers are exactly OCSPResponse { status } */
    static const int codes[] = {MC_OCSP_MALFORMED, MC_OCSP_INTERNAL, MC_OCSP_TRY_LATER,
                                MC_OCSP_UNAUTHORIZED};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        mc_buf b = {0};
        mc_ocsp_error(codes[i], &b);
        const uint8_t want[5] = {0x30, 0x03, 0x0a, 0x01, (uint8_t)codes[i]};
        assert_int_equal(b.len, 5);
        assert_memory_equal(b.ptr, want, 5);
        mc_buf_free(&b);
    }
    mc_buf_free(&req);
    mc_ca_free(ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reasons_are_the_documented_ones),
        cmocka_unit_test(the_crl_verifies_and_holds_what_it_was_given),
        cmocka_unit_test(an_sm2_ca_signs_its_crl_with_sm2_sm3),
        cmocka_unit_test(malformed_entries_are_refused),
        cmocka_unit_test(ocsp_requests_are_read_and_answered),
        cmocka_unit_test(hostile_ocsp_requests_are_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
