/*
 * test_certs.c — the key history on the server (PROTOCOL.md §10.8:
 * api/certs.c, lua/cert.lua, mc_store_cert.c) and the `superseded` status
 * where it is read: POST /api/v1/verify (status at the signing time), the
 * revocation of a superseded certificate, the CRL's entry (§8.8, §9.8).
 *
 * Why: an old certificate must stay findable (by serial, as a SignedData
 * names its signer, and through the account's renewals) by exactly those
 * who may read it, and a replaced certificate must count as replaced from
 * the moment of its renewal, not before and not never.
 *
 * Renewals are set up the way renew.lua's renew_commit leaves the records
 * (old: superseded, superseded_at, superseded_by, next, account '', on the
 * CRL with reason 4; new: prev, renewal, the binding), written directly in
 * Redis: the real flow is test_renew's. Real redis-server and mcertd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mc_cms.h"
#include "mc_crypto.h"
#include "mc_phone.h"
#include "mc_testhelp.h"

typedef struct fixture {
    mc_testenv *env;
    char fa[65];                  /* alice's first certificate (real, bound, then replaced) */
    char sa[41];                  /* its serial */
    char fb[65], fc[65];          /* the renewals: B (replaced too), C (current) */
    char sb[41], sc[41];
    int64_t t_ab, t_bc;           /* when A and B were superseded */
    mc_phone *pa;
    char *ta, *tbob, *tboss, *trival, *top;
    char key[80], kid[20];        /* MC_TEST_ORG, verify */
    char key2[80], kid2[20];      /* MC_TEST_ORG2, verify */
    char key3[80], kid3[20];      /* MC_TEST_ORG, sign only */
} fixture;


/* A Redis command that must succeed. */
#define R(env, ...)                                                     \
    do {                                                                \
        redisReply *rr_ = mc_testenv_redis((env), __VA_ARGS__);         \
        assert_non_null(rr_);                                           \
        assert_int_not_equal(rr_->type, REDIS_REPLY_ERROR);             \
        freeReplyObject(rr_);                                           \
    } while (0)

/* A made-up fingerprint and serial for record n. */
static void fake_ids(int n, char fp[65], char serial[41])
{
    uint8_t d[32];
    char seed[32];
    snprintf(seed, sizeof(seed), "fake cert %d", n);
    mc_sha256(seed, strlen(seed), d);
    mc_hex(d, 32, fp);
    d[0] = (uint8_t)((d[0] & 0x7f) | 0x40);
    for (int i = 0; i < 16; i++)
        snprintf(serial + 2 * i, 3, "%02X", d[i]);
}

/* Record fp (serial) as the renewal of prev at t for account (uscc
 * MC_TEST_ORG, CN as alice's): prev superseded by it, put on the CRL with
 * reason 4, the account moved to it — what renew_commit writes. */
static void renew_to(mc_testenv *env, const char *prev, const char *fp, const char *serial,
                     const char *account, int64_t t)
{
    char kp[96], kn[96], pserial[64];
    snprintf(kp, sizeof(kp), "{mc}:cert:%s", prev);
    snprintf(kn, sizeof(kn), "{mc}:cert:%s", fp);
    mc_testenv_hget(env, kp, "serial", pserial, sizeof(pserial));
    R(env, "HSET %s fp %s serial %s uscc %s cn %s org_name %s issuer %s alg P-256 "
           "not_before %lld not_after %lld status valid account %s prev %s renewal XF%018lld",
      kn, fp, serial, MC_TEST_ORG, "alice", "测试公司", "mcert CA", (long long)t - 60,
      (long long)t + 365 * 86400, account, prev, (long long)t);
    R(env, "SET {mc}:serial:%s %s", serial, fp);
    R(env, "HSET %s status superseded superseded_at %lld superseded_by %s next %s account %s", kp,
      (long long)t, fp, fp, "");
    R(env, "ZADD {mc}:crl %lld %s", (long long)t, pserial);
    R(env, "HSET {mc}:crlinfo %s 4", pserial);
    R(env, "INCR {mc}:crlver");
    R(env, "HSET {mc}:acct:%s cert %s", account, fp);
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->env = mc_testenv_start(0);
    mc_testenv *env = f->env;
    mc_testenv_org(env, MC_TEST_ORG2, "另一家公司");
    f->pa = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", MC_ALG_P256, f->fa);
    mc_testenv_account(env, "bob", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "rival", MC_TEST_ORG2, "admin");
    mc_testenv_account(env, "op", MC_TEST_ORG2, "operator");
    f->ta = mc_testenv_login(env, "alice");
    f->tbob = mc_testenv_login(env, "bob");
    f->tboss = mc_testenv_login(env, "boss");
    f->trival = mc_testenv_login(env, "rival");
    f->top = mc_testenv_login(env, "op");
    mc_testenv_apikey(env, MC_TEST_ORG, "verify", f->key, f->kid);
    mc_testenv_apikey(env, MC_TEST_ORG2, "verify", f->key2, f->kid2);
    mc_testenv_apikey(env, MC_TEST_ORG, "sign", f->key3, f->kid3);
    char k[96];
    snprintf(k, sizeof(k), "{mc}:cert:%s", f->fa);
    mc_testenv_hget(env, k, "serial", f->sa, sizeof(f->sa));
    assert_int_equal(strlen(f->sa), 32);
    /* A -> B -> C: A replaced 20 s ago (its certificate, issued just now,
     * was valid from 60 s before its issue), B 10 s ago */
    int64_t now = mc_testenv_redis_time(env);
    f->t_ab = now - 20;
    f->t_bc = now - 10;
    fake_ids(1, f->fb, f->sb);
    fake_ids(2, f->fc, f->sc);
    renew_to(env, f->fa, f->fb, f->sb, "alice", f->t_ab);
    renew_to(env, f->fb, f->fc, f->sc, "alice", f->t_bc);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    free(f->ta);
    free(f->tbob);
    free(f->tboss);
    free(f->trival);
    free(f->top);
    mc_phone_free(f->pa);
    mc_testenv_stop(f->env);
    free(f);
    return 0;
}

static json_t *get(fixture *f, const char *tok, const char *path, int *st)
{
    return mc_testenv_api(f->env, "GET", path, tok, NULL, st);
}

static void expect_code(json_t *r, int st, int want_st, const char *code)
{
    if (st != want_st || strcmp(mc_testenv_jstr(r, "code"), code) != 0)
        fail_msg("want %d %s, got %d %s", want_st, code, st, mc_testenv_jstr(r, "code"));
}

/* ---- the history ---- */

static void history_lists_the_renewals_newest_first_to_those_who_may(void **state)
{
    fixture *f = *state;
    const char *toks[] = {f->ta, f->tboss, f->top};
    for (int i = 0; i < 3; i++) {
        int st;
        json_t *r = get(f, toks[i], "/api/v1/bindings/alice/certs", &st);
        if (st != 200)
            fail_msg("history %d: %d %s", i, st, mc_testenv_jstr(r, "code"));
        assert_string_equal(mc_testenv_jstr(r, "account"), "alice");
        json_t *c = json_object_get(r, "certs");
        assert_int_equal(json_array_size(c), 3);
        json_t *c0 = json_array_get(c, 0), *c1 = json_array_get(c, 1), *c2 = json_array_get(c, 2);
        assert_string_equal(mc_testenv_jstr(c0, "fp"), f->fc);
        assert_string_equal(mc_testenv_jstr(c0, "status"), "valid");
        assert_string_equal(mc_testenv_jstr(c0, "account"), "alice");
        assert_string_equal(mc_testenv_jstr(c0, "prev"), f->fb);
        assert_string_equal(mc_testenv_jstr(c0, "next"), "");
        assert_string_equal(mc_testenv_jstr(c0, "reason"), "");
        assert_string_equal(mc_testenv_jstr(c1, "fp"), f->fb);
        assert_string_equal(mc_testenv_jstr(c1, "serial"), f->sb);
        assert_string_equal(mc_testenv_jstr(c1, "status"), "superseded");
        assert_string_equal(mc_testenv_jstr(c1, "superseded_by"), f->fc);
        assert_string_equal(mc_testenv_jstr(c1, "next"), f->fc);
        assert_string_equal(mc_testenv_jstr(c1, "reason"), "superseded");
        assert_int_equal(json_integer_value(json_object_get(c1, "superseded_at")), f->t_bc);
        assert_string_equal(mc_testenv_jstr(c2, "fp"), f->fa);
        assert_string_equal(mc_testenv_jstr(c2, "serial"), f->sa);
        assert_string_equal(mc_testenv_jstr(c2, "prev"), "");
        assert_string_equal(mc_testenv_jstr(c2, "uscc"), MC_TEST_ORG);
        assert_int_equal(json_integer_value(json_object_get(c2, "superseded_at")), f->t_ab);
        assert_true(json_integer_value(json_object_get(c2, "not_after")) > f->t_ab);
        /* no DER in the list */
        assert_null(json_object_get(c2, "der"));
        assert_int_equal(json_object_size(c2), 17);
        json_decref(r);
    }
    /* another staff member, another organisation's admin, an unknown or
     * malformed account: the same 404 */
    const char *denied[][2] = {{f->tbob, "/api/v1/bindings/alice/certs"},
                               {f->trival, "/api/v1/bindings/alice/certs"},
                               {f->tboss, "/api/v1/bindings/nobody/certs"},
                               {f->tboss, "/api/v1/bindings/A%20B/certs"}};
    for (size_t i = 0; i < 4; i++) {
        int st;
        json_t *r = get(f, denied[i][0], denied[i][1], &st);
        expect_code(r, st, 404, "not_found");
        json_decref(r);
    }
    int st;
    json_t *r = get(f, NULL, "/api/v1/bindings/alice/certs", &st);
    expect_code(r, st, 401, "unauthorized");
    json_decref(r);
    /* an API key does not read histories */
    r = mc_testenv_api_apikey(f->env, "GET", "/api/v1/bindings/alice/certs", f->key, NULL, &st);
    expect_code(r, st, 401, "unauthorized");
    json_decref(r);
    /* an account with no certificate: an empty history */
    r = get(f, f->tbob, "/api/v1/bindings/bob/certs", &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(r, "certs")), 0);
    json_decref(r);
}

/* A chain longer than 64 is cut at 64; a link back to a record already
 * listed ends the walk. */
static void history_stops_at_64_and_at_a_loop(void **state)
{
    fixture *f = *state;
    mc_testenv *env = f->env;
    mc_testenv_account(env, "long", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "loop", MC_TEST_ORG, "staff");
    char fp[70][65], sn[70][41];
    for (int i = 0; i < 70; i++) {
        fake_ids(100 + i, fp[i], sn[i]);
        R(env, "HSET {mc}:cert:%s fp %s serial %s uscc %s status %s prev %s", fp[i], fp[i],
          sn[i], MC_TEST_ORG, i == 69 ? "valid" : "superseded", i > 0 ? fp[i - 1] : "");
    }
    R(env, "HSET {mc}:acct:long cert %s", fp[69]);
    char *tl = mc_testenv_login(env, "long");
    int st;
    json_t *r = get(f, tl, "/api/v1/bindings/long/certs", &st);
    assert_int_equal(st, 200);
    json_t *c = json_object_get(r, "certs");
    assert_int_equal(json_array_size(c), 64);
    assert_string_equal(mc_testenv_jstr(json_array_get(c, 0), "fp"), fp[69]);
    assert_string_equal(mc_testenv_jstr(json_array_get(c, 63), "fp"), fp[6]);
    json_decref(r);
    /* X <- Y <- X: two records, not a loop forever */
    char fx[65], fy[65], sx[41], sy[41];
    fake_ids(200, fx, sx);
    fake_ids(201, fy, sy);
    R(env, "HSET {mc}:cert:%s fp %s serial %s uscc %s status valid prev %s", fx, fx, sx,
      MC_TEST_ORG, fy);
    R(env, "HSET {mc}:cert:%s fp %s serial %s uscc %s status superseded prev %s", fy, fy, sy,
      MC_TEST_ORG, fx);
    R(env, "HSET {mc}:acct:loop cert %s", fx);
    char *tloop = mc_testenv_login(env, "loop");
    r = get(f, tloop, "/api/v1/bindings/loop/certs", &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(r, "certs")), 2);
    json_decref(r);
    free(tl);
    free(tloop);
}

/* ---- one certificate by serial ---- */

static void a_certificate_by_serial_with_its_der(void **state)
{
    fixture *f = *state;
    mc_slice chain[MC_CHAIN_MAX];
    assert_true(mc_phone_chain(f->pa, chain, MC_CHAIN_MAX) >= 1);
    char *want_der = mc_base64(chain[0].ptr, chain[0].len);
    char path[160], lower[41];
    for (size_t i = 0; i <= strlen(f->sa); i++)
        lower[i] = (char)(f->sa[i] >= 'A' && f->sa[i] <= 'F' ? f->sa[i] + 32 : f->sa[i]);
    /* the holder (through its newest certificate), its admin, an operator;
     * upper or lower case, leading zero octets */
    const char *spell[] = {f->sa, lower, NULL};
    char zero[48];
    snprintf(zero, sizeof(zero), "0000%s", f->sa);
    spell[2] = zero;
    const char *toks[] = {f->ta, f->tboss, f->top};
    for (int i = 0; i < 3; i++) {
        int st;
        snprintf(path, sizeof(path), "/api/v1/certs/%s", spell[i]);
        json_t *r = get(f, toks[i], path, &st);
        if (st != 200)
            fail_msg("by serial %d: %d %s", i, st, mc_testenv_jstr(r, "code"));
        assert_string_equal(mc_testenv_jstr(r, "fp"), f->fa);
        assert_string_equal(mc_testenv_jstr(r, "serial"), f->sa);
        assert_string_equal(mc_testenv_jstr(r, "status"), "superseded");
        assert_string_equal(mc_testenv_jstr(r, "next"), f->fb);
        assert_string_equal(mc_testenv_jstr(r, "account"), "");
        assert_string_equal(mc_testenv_jstr(r, "der"), want_der);
        assert_int_equal(json_object_size(r), 18);
        json_decref(r);
    }
    /* an API key with scope verify of the certificate's organisation */
    int st;
    snprintf(path, sizeof(path), "/api/v1/certs/%s", f->sc);
    json_t *r = mc_testenv_api_apikey(f->env, "GET", path, f->key, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(r, "fp"), f->fc);
    assert_string_equal(mc_testenv_jstr(r, "der"), ""); /* none recorded */
    char rid[24];
    snprintf(rid, sizeof(rid), "XF%018lld", (long long)f->t_bc);
    assert_string_equal(mc_testenv_jstr(r, "renewal"), rid);
    json_decref(r);
    /* another org's key, a key without verify, another staff member,
     * another org's admin: as if there were none */
    r = mc_testenv_api_apikey(f->env, "GET", path, f->key2, NULL, &st);
    expect_code(r, st, 404, "not_found");
    json_decref(r);
    r = mc_testenv_api_apikey(f->env, "GET", path, f->key3, NULL, &st);
    expect_code(r, st, 403, "not_permitted");
    json_decref(r);
    snprintf(path, sizeof(path), "/api/v1/certs/%s", f->sa);
    r = get(f, f->tbob, path, &st);
    expect_code(r, st, 404, "not_found");
    json_decref(r);
    r = get(f, f->trival, path, &st);
    expect_code(r, st, 404, "not_found");
    json_decref(r);
    r = get(f, NULL, path, &st);
    expect_code(r, st, 401, "unauthorized");
    json_decref(r);
    /* no such serial; not a serial */
    r = get(f, f->top, "/api/v1/certs/0123456789ABCDEF", &st);
    expect_code(r, st, 404, "not_found");
    json_decref(r);
    const char *bad[] = {"XYZ0", "ABC", "00112233445566778899AABBCCDDEEFF0011223344"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/api/v1/certs/%s", bad[i]);
        r = get(f, f->top, path, &st);
        expect_code(r, st, 400, "bad_query");
        json_decref(r);
    }
    free(want_der);
}

/* ---- superseded in verify, revoke and the CRL ---- */

/* A CMS over dg by alice's first key, signed at t; POST /api/v1/verify. */
static json_t *verify_at(fixture *f, int64_t t)
{
    mc_err err;
    uint8_t dg[32], attrs[MC_CMS_ATTRS_LEN], sig[MC_SIG_MAX];
    size_t siglen;
    mc_sha256("bid document", 12, dg);
    mc_slice chain[MC_CHAIN_MAX];
    assert_true(mc_phone_chain(f->pa, chain, MC_CHAIN_MAX) >= 1);
    assert_int_equal(mc_cms_signed_attrs(t, dg, attrs, &err), 0);
    assert_int_equal(mc_sign(mc_phone_key(f->pa), attrs, sizeof(attrs), sig, &siglen, &err), 0);
    mc_buf cms = {0};
    assert_int_equal(mc_cms_build(chain, 1, MC_ALG_P256, dg, t, sig, siglen, &cms, &err), 0);
    char *b64 = mc_base64(cms.ptr, cms.len);
    char hex[65];
    mc_hex(dg, 32, hex);
    int st;
    json_t *r = mc_testenv_api(f->env, "POST", "/api/v1/verify", f->ta,
                               json_pack("{s:s, s:s}", "cms", b64, "digest", hex), &st);
    if (st != 200)
        fail_msg("verify: %d %s", st, mc_testenv_jstr(r, "code"));
    free(b64);
    mc_buf_free(&cms);
    return r;
}

static void expect_verdict(json_t *r, const char *reason, const char *then, const char *now)
{
    if (reason == NULL) {
        assert_true(json_is_true(json_object_get(r, "valid")));
        assert_null(json_object_get(r, "reason"));
    } else {
        assert_false(json_is_true(json_object_get(r, "valid")));
        assert_string_equal(mc_testenv_jstr(r, "reason"), reason);
    }
    assert_string_equal(mc_testenv_jstr(r, "status_at_signing"), then);
    assert_string_equal(mc_testenv_jstr(r, "status_now"), now);
}

/* The CRL's entry for serial: its revocation time and reason (-1: no
 * reasonCode); 0 if not listed. */
static int crl_entry(fixture *f, const char *serial, int64_t *at, int *reason)
{
    char out[256], path[300];
    snprintf(path, sizeof(path), "%s/crl.der", f->env->dir);
    assert_int_equal(mc_testenv_sh_out(f->env, out, sizeof(out), "curl -sf -o %s %s/ca/crl",
                                       path, f->env->base),
                     0);
    mc_buf der = {0};
    mc_testenv_read_file(path, &der);
    const unsigned char *p = der.ptr;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)der.len);
    assert_non_null(crl);
    BIGNUM *bn = NULL;
    assert_true(BN_hex2bn(&bn, serial) > 0);
    ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, NULL);
    X509_REVOKED *rev = NULL;
    int found = X509_CRL_get0_by_serial(crl, &rev, sn) == 1;
    if (found) {
        struct tm tm;
        assert_int_equal(ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(rev), &tm), 1);
        *at = (int64_t)timegm(&tm);
        ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        *reason = e != NULL ? (int)ASN1_ENUMERATED_get(e) : -1;
        ASN1_ENUMERATED_free(e);
    }
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    X509_CRL_free(crl);
    mc_buf_free(&der);
    return found;
}

/* Signed before its renewal: valid (superseded since); at or after it:
 * superseded_before_signing. Then revoked for keyCompromise of the old
 * key: allowed, once; the CRL entry takes the new reason and time; the
 * supersession still judges signatures made between the two. */
static void superseded_at_signing_time_and_revoked_later(void **state)
{
    fixture *f = *state;
    int64_t at;
    int reason;
    assert_int_equal(crl_entry(f, f->sa, &at, &reason), 1);
    assert_int_equal(at, f->t_ab);
    assert_int_equal(reason, 4);

    json_t *r = verify_at(f, f->t_ab - 1);
    expect_verdict(r, NULL, "valid", "superseded");
    assert_int_equal(json_integer_value(json_object_get(r, "superseded_at")), f->t_ab);
    assert_null(json_object_get(r, "revoked_at"));
    json_decref(r);
    r = verify_at(f, f->t_ab);
    expect_verdict(r, "superseded_before_signing", "superseded", "superseded");
    json_decref(r);
    r = verify_at(f, f->t_ab + 5);
    expect_verdict(r, "superseded_before_signing", "superseded", "superseded");
    json_decref(r);

    /* revoke the superseded certificate (its admin; the holder's old key
     * was compromised) */
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/certs/%s/revoke", f->fa);
    int st;
    char vbuf[24];
    redisReply *vr = mc_testenv_redis(f->env, "GET {mc}:crlver");
    assert_int_equal(vr->type, REDIS_REPLY_STRING);
    snprintf(vbuf, sizeof(vbuf), "%s", vr->str);
    freeReplyObject(vr);
    long long ver0 = atoll(vbuf);
    assert_true(ver0 >= 2);
    r = mc_testenv_api(f->env, "POST", path, f->tboss,
                       json_pack("{s:s}", "reason", "keyCompromise"), &st);
    if (st != 200)
        fail_msg("revoke superseded: %d %s", st, mc_testenv_jstr(r, "code"));
    assert_string_equal(mc_testenv_jstr(r, "status"), "revoked");
    int64_t revoked_at = json_integer_value(json_object_get(r, "revoked_at"));
    assert_true(revoked_at >= f->t_ab + 20);
    assert_int_equal(json_integer_value(json_object_get(r, "crl_number")), ver0 + 1);
    json_decref(r);
    mc_testenv_expect_field(f->env, "cert", f->fa, "status", "revoked");
    mc_testenv_expect_field(f->env, "cert", f->fa, "reason", "1");
    char sat[24];
    snprintf(sat, sizeof(sat), "%lld", (long long)f->t_ab);
    mc_testenv_expect_field(f->env, "cert", f->fa, "superseded_at", sat);
    /* the binding moved on with the renewal: the revocation leaves it */
    mc_testenv_expect_field(f->env, "acct", "alice", "cert", f->fc);
    assert_int_equal(crl_entry(f, f->sa, &at, &reason), 1);
    assert_int_equal(at, revoked_at);
    assert_int_equal(reason, 1);
    /* once */
    r = mc_testenv_api(f->env, "POST", path, f->tboss, json_pack("{s:s}", "reason", "superseded"),
                       &st);
    expect_code(r, st, 409, "cert_revoked");
    json_decref(r);

    r = verify_at(f, f->t_ab - 1);
    expect_verdict(r, NULL, "valid", "revoked");
    assert_int_equal(json_integer_value(json_object_get(r, "revoked_at")), revoked_at);
    json_decref(r);
    r = verify_at(f, f->t_ab + 5);
    expect_verdict(r, "superseded_before_signing", "superseded", "revoked");
    json_decref(r);
    r = verify_at(f, revoked_at);
    expect_verdict(r, "revoked_before_signing", "revoked", "revoked");
    json_decref(r);

    /* the history shows it revoked, its links kept */
    r = get(f, f->ta, "/api/v1/bindings/alice/certs", &st);
    assert_int_equal(st, 200);
    json_t *c2 = json_array_get(json_object_get(r, "certs"), 2);
    assert_string_equal(mc_testenv_jstr(c2, "status"), "revoked");
    assert_string_equal(mc_testenv_jstr(c2, "reason"), "keyCompromise");
    assert_string_equal(mc_testenv_jstr(c2, "next"), f->fb);
    assert_int_equal(json_integer_value(json_object_get(c2, "revoked_at")), revoked_at);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(history_lists_the_renewals_newest_first_to_those_who_may),
        cmocka_unit_test(history_stops_at_64_and_at_a_loop),
        cmocka_unit_test(a_certificate_by_serial_with_its_der),
        cmocka_unit_test(superseded_at_signing_time_and_revoked_later),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
