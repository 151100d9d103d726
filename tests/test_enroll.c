/*
 * test_enroll.c — delivering an approved application's certificate to the
 * phone (PROTOCOL.md §9.7), against a real redis-server and the real
 * mcertd, with the reference phone library and the mcert-phone CLI:
 *
 *   an application approved with an activation code -> the phone makes
 *   its key and CSR and redeems the code -> issued: the chain verifies
 *   against the CA (openssl verify), the certificate is recorded with its
 *   DER and serial, the application is issued with cert = fp, the
 *   activation used, all audited -> the phone binds it and logs in;
 *   for P-256 and SM2 keys.
 *
 * Also: the web's enroll QR (who may open it, its view, the browser woken
 * by the enrollment), a repeated request after a lost reply (same
 * certificate), a code used twice, five wrong codes then the right one
 * (locked), an expired activation, CSRs whose subject or algorithm does not
 * match or whose self-signature is bad, malformed msgpack bodies (nothing
 * changes), and a node without a CA (503 no_ca).
 *
 * The application and its activation are written into Redis with the data
 * model's field names (as APP's approve leaves them), except in the test
 * that goes through APP's own approve endpoint and reads the code from the
 * sandbox SMS outbox.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mc_crypto.h"
#include "mc_enroll_proto.h"
#include "mc_http.h"
#include "mc_testhelp.h"

#define ORG_NAME "演示供应商有限公司" /* mc_testenv's organisation */
#define CODE "20261201"

/* ---- helpers ---- */

static mc_testenv *env_of(void **state)
{
    return *state;
}

static int setup(void **state)
{
    *state = mc_testenv_start(0);
    return 0;
}

static int teardown(void **state)
{
    mc_testenv_stop(*state);
    return 0;
}

/* A new application id in APP's format ("SQ" + 16 digits). */
static void new_id(char id[MC_APP_ID_MAX + 1])
{
    static unsigned n;
    snprintf(id, MC_APP_ID_MAX + 1, "SQ20261201%04u%04u", (unsigned)getpid() % 10000, ++n);
}

/* What APP's approve leaves: an application approved_pending_issue of
 * `applicant` for `holder` with key `alg`, and its open activation with
 * `code`, expiring in ttl seconds. */
static void approved_app(mc_testenv *env, const char *id, const char *applicant,
                         const char *holder, const char *alg, const char *code, long ttl)
{
    char hash[65];
    mc_enroll_code_hash(id, code, hash);
    long long now = (long long)time(NULL);
    redisReply *r = mc_testenv_redis(
        env,
        "HSET {mc}:app:%s id %s provider mcert kind mobile quantity 1 org_name %s org_type "
        "legal_person uscc %s region 330000 holder_name %s holder_id 330106199001011234 mobile "
        "13800138000 email a@example.com alg %s delivery online identity face_passed state "
        "approved_pending_issue fee 0 reason %s applicant %s created %lld order %s paid 0 cert "
        "%s gen 4",
        id, id, ORG_NAME, MC_TEST_ORG, holder, alg, "", applicant, now, "", "");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    r = mc_testenv_redis(env,
                         "HSET {mc}:act:%s app %s hash %s expires %lld tries 0 state open "
                         "created %lld",
                         id, id, hash, now + ttl, now);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
}

/* A phone store dir (under the env) with a key of alg and a CSR for cn,
 * org, uscc. */
static void phone_dir(mc_testenv *env, const char *name, mc_alg alg, const char *cn,
                      const char *org, const char *uscc, char dir[400])
{
    snprintf(dir, 400, "%s/%s", env->dir, name);
    mc_phone_err pe;
    if (mc_phone_init(dir, alg, MC_TEST_PIN, cn, org, uscc, &pe) != 0)
        fail_msg("phone init %s: %s %s", name, pe.code, pe.msg);
}

/* Enroll and expect the server's refusal (status, code). */
static void expect_refusal(mc_testenv *env, const char *dir, const char *id, const char *code,
                           const char *sid, const mc_phone_overrides *ov, int status,
                           const char *want)
{
    mc_phone_err pe;
    if (mc_phone_enroll(dir, env->base, id, code, sid, ov, NULL, &pe) == 0)
        fail_msg("enrolled, want %d %s", status, want);
    if (!pe.remote || pe.status != status || strcmp(pe.code, want) != 0)
        fail_msg("got %s %d %s (%s), want %d %s", pe.remote ? "remote" : "local", pe.status,
                 pe.code, pe.msg, status, want);
}

/* `openssl verify` of the store's leaf against the env's CA. */
static void openssl_verifies(mc_testenv *env, const char *dir)
{
    char leaf[500];
    snprintf(leaf, sizeof(leaf), "%s/leaf.pem", dir);
    /* the first certificate of chain.pem */
    assert_int_equal(mc_testenv_sh("awk '{print} /END CERTIFICATE/{exit}' %s/chain.pem >%s", dir,
                                   leaf),
                     0);
    assert_int_equal(mc_testenv_sh("openssl verify -CAfile %s/var/ca/ca.crt -purpose sslclient "
                                   "%s >/dev/null 2>&1",
                                   env->dir, leaf),
                     0);
}

/* Bind the phone of dir to `login` through the real bind flow, then log in
 * with it by QR; returns the fingerprint /me shows. */
static void bind_and_login(mc_testenv *env, const char *dir, const char *login, const char *fp)
{
    mc_phone_err pe;
    mc_phone *ph = mc_phone_open(dir, MC_TEST_PIN, &pe);
    if (ph == NULL)
        fail_msg("open %s: %s", dir, pe.msg);
    char *tok = mc_testenv_login(env, login);
    mc_testenv_bind(env, ph, tok);
    free(tok);
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    mc_phone_result res;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    if (mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe) != 0)
        fail_msg("login: %s %s", pe.code, pe.msg);
    assert_string_equal(res.account, login);
    json_t *p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    const char *t = mc_testenv_jstr(p, "token");
    assert_true(strlen(t) > 20);
    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", t, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(me, "account"), login);
    assert_string_equal(mc_testenv_jstr(json_object_get(me, "cert"), "fp"), fp);
    json_decref(me);
    json_decref(p);
    mc_phone_free(ph);
}

/* ---- the whole delivery ---- */

static void enroll_flow(mc_testenv *env, mc_alg alg, const char *login, const char *holder)
{
    char id[MC_APP_ID_MAX + 1], dir[400];
    new_id(id);
    mc_testenv_account(env, login, MC_TEST_ORG, "staff");
    approved_app(env, id, login, holder, mc_alg_name(alg), CODE, 72 * 3600);
    phone_dir(env, login, alg, holder, ORG_NAME, MC_TEST_ORG, dir);

    mc_phone_enrolled got;
    mc_phone_err pe;
    if (mc_phone_enroll(dir, env->base, id, CODE, NULL, NULL, &got, &pe) != 0)
        fail_msg("enroll: %d %s %s", pe.status, pe.code, pe.msg);
    assert_string_equal(got.app, id);
    assert_int_equal(got.nchain, 2);
    assert_int_equal(strlen(got.fp), 64);

    /* the phone holds it: its key, the application's subject */
    mc_phone_status ps;
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), 0);
    assert_true(ps.has_cert);
    assert_int_equal(ps.alg, alg);
    assert_string_equal(ps.leaf.fp_hex, got.fp);
    assert_string_equal(ps.leaf.cn, holder);
    assert_string_equal(ps.leaf.org_name, ORG_NAME);
    assert_string_equal(ps.leaf.uscc, MC_TEST_ORG);
    assert_true(ps.leaf.not_after - ps.leaf.not_before >= 365 * 86400);
    openssl_verifies(env, dir);

    /* the records: application issued with cert, activation used, the
     * certificate with its DER and serial index, audited */
    mc_testenv_expect_field(env, "app", id, "state", "issued");
    mc_testenv_expect_field(env, "app", id, "cert", got.fp);
    mc_testenv_expect_field(env, "app", id, "gen", "5");
    mc_testenv_expect_field(env, "act", id, "state", "used");
    mc_testenv_expect_field(env, "act", id, "fp", got.fp);
    mc_testenv_expect_field(env, "act", id, "tries", "0");
    mc_testenv_expect_field(env, "cert", got.fp, "status", "valid");
    mc_testenv_expect_field(env, "cert", got.fp, "uscc", MC_TEST_ORG);
    mc_testenv_expect_field(env, "cert", got.fp, "cn", holder);
    mc_testenv_expect_field(env, "cert", got.fp, "alg", mc_alg_name(alg));
    mc_testenv_expect_field(env, "cert", got.fp, "account", "");
    mc_testenv_expect_field(env, "cert", got.fp, "app", id);
    mc_cert_rec rec;
    int found;
    mc_err err;
    assert_int_equal(mc_sync_cert_get(env->store, got.fp, &rec, &found, &err), 0);
    assert_true(found);
    assert_string_equal(rec.serial, ps.leaf.serial_hex);
    char skey[80], sfp[80];
    snprintf(skey, sizeof(skey), "{mc}:serial:%s", ps.leaf.serial_hex);
    redisReply *r = mc_testenv_redis(env, "GET %s", skey);
    snprintf(sfp, sizeof(sfp), "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    assert_string_equal(sfp, got.fp);
    r = mc_testenv_redis(env, "HGET {mc}:cert:%s der", got.fp);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    uint8_t fp[32];
    char hex[65];
    assert_int_equal(mc_cert_fingerprint((const uint8_t *)r->str, r->len, fp), 0);
    mc_hex(fp, 32, hex);
    assert_string_equal(hex, got.fp);
    freeReplyObject(r);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "app", id), 1);
    assert_int_equal(mc_testenv_audit_count(env, "app_issued", "app", id), 1);

    /* and it works: the holder binds it and logs in with it */
    bind_and_login(env, dir, login, got.fp);
}

static void p256_enrolls_then_binds_and_logs_in(void **state)
{
    enroll_flow(env_of(state), MC_ALG_P256, "zhang.wei", "张伟");
}

static void sm2_enrolls_then_binds_and_logs_in(void **state)
{
    enroll_flow(env_of(state), MC_ALG_SM2, "li.na", "李娜");
}

/* ---- retries and reuse ---- */

static void a_repeated_request_gets_the_same_certificate_and_another_csr_is_refused(
    void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], dir[400], dir2[400], before[41], after[41];
    new_id(id);
    approved_app(env, id, "wang.fang", "王芳", "p256", CODE, 3600);
    phone_dir(env, "retry", MC_ALG_P256, "王芳", ORG_NAME, MC_TEST_ORG, dir);
    mc_phone_enrolled a, b;
    mc_phone_err pe;
    /* the first reply is "lost": the phone does not keep the chain */
    mc_phone_overrides lost = {.enroll_no_import = 1};
    assert_int_equal(mc_phone_enroll(dir, env->base, id, CODE, NULL, &lost, &a, &pe), 0);
    mc_testenv_digest(env, before);
    assert_int_equal(mc_phone_enroll(dir, env->base, id, CODE, NULL, NULL, &b, &pe), 0);
    assert_string_equal(a.fp, b.fp);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after); /* nothing new recorded */
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "app", id), 1);
    mc_phone_status ps;
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), 0);
    assert_string_equal(ps.leaf.fp_hex, a.fp);

    /* the same code with another key's CSR: used */
    phone_dir(env, "retry2", MC_ALG_P256, "王芳", ORG_NAME, MC_TEST_ORG, dir2);
    expect_refusal(env, dir2, id, CODE, NULL, NULL, 409, "activation_used");
    /* a wrong code on a used activation is still a wrong code */
    expect_refusal(env, dir, id, "00000000", NULL, NULL, 403, "bad_code");
    mc_testenv_expect_field(env, "act", id, "tries", "1");
}

/* ---- the code's rules ---- */

static void five_wrong_codes_lock_the_activation_even_for_the_right_code(void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], dir[400], msg[40];
    new_id(id);
    approved_app(env, id, "zhao.lei", "赵磊", "p256", CODE, 3600);
    phone_dir(env, "locked", MC_ALG_P256, "赵磊", ORG_NAME, MC_TEST_ORG, dir);
    for (int i = 1; i <= 4; i++) {
        mc_phone_err pe;
        assert_int_equal(mc_phone_enroll(dir, env->base, id, "12345670", NULL, NULL, NULL, &pe),
                         -1);
        assert_int_equal(pe.status, 403);
        assert_string_equal(pe.code, "bad_code");
        snprintf(msg, sizeof(msg), "(%d tr", 5 - i);
        assert_non_null(strstr(pe.msg, msg));
        char want[8];
        snprintf(want, sizeof(want), "%d", i);
        mc_testenv_expect_field(env, "act", id, "tries", want);
    }
    expect_refusal(env, dir, id, "12345670", NULL, NULL, 403, "activation_locked");
    mc_testenv_expect_field(env, "act", id, "state", "locked");
    assert_int_equal(mc_testenv_audit_count(env, "activation_wrong_code", "app", id), 4);
    assert_int_equal(mc_testenv_audit_count(env, "activation_locked", "app", id), 1);
    /* later, the right code too; nothing is counted or written any more */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    expect_refusal(env, dir, id, CODE, NULL, NULL, 403, "activation_locked");
    expect_refusal(env, dir, id, "99999999", NULL, NULL, 403, "activation_locked");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    mc_testenv_expect_field(env, "app", id, "state", "approved_pending_issue");
}

/* One client address guessing codes across many activations is stopped
 * before it can lock them all: after 20 wrong codes (4 activations locked)
 * the next try of any activation is 429 — not compared, not counted on
 * the activation — and so is the right code, until the window ends. */
static void one_address_guessing_many_activations_is_429(void **state)
{
    mc_testenv *env = env_of(state);
    char key[96];
    snprintf(key, sizeof(key), "{mc}:enrollfail-ip:127.0.0.1");
    mc_testenv_redis_int(env, "DEL %s", key); /* the earlier tests' wrong codes */
    char ids[5][MC_APP_ID_MAX + 1], dir[400];
    phone_dir(env, "guesser", MC_ALG_P256, "钱七", ORG_NAME, MC_TEST_ORG, dir);
    for (int a = 0; a < 5; a++) {
        new_id(ids[a]);
        approved_app(env, ids[a], "qian.qi", "钱七", "p256", CODE, 3600);
    }
    for (int a = 0; a < 4; a++) {
        for (int i = 0; i < 4; i++)
            expect_refusal(env, dir, ids[a], "12345670", NULL, NULL, 403, "bad_code");
        expect_refusal(env, dir, ids[a], "12345670", NULL, NULL, 403, "activation_locked");
    }
    expect_refusal(env, dir, ids[4], "12345670", NULL, NULL, 429, "too_many_attempts");
    mc_testenv_expect_field(env, "act", ids[4], "tries", "0");
    expect_refusal(env, dir, ids[4], CODE, NULL, NULL, 429, "too_many_attempts");
    assert_true(mc_testenv_redis_int(env, "TTL %s", key) > 0);
    /* the window over: the right code works, and gives its try back */
    mc_testenv_redis_int(env, "DEL %s", key);
    mc_phone_err pe;
    if (mc_phone_enroll(dir, env->base, ids[4], CODE, NULL, NULL, NULL, &pe) != 0)
        fail_msg("enroll: %s %s", pe.code, pe.msg);
    redisReply *c = mc_testenv_redis(env, "GET %s", key);
    assert_int_equal(c->type, REDIS_REPLY_STRING);
    assert_string_equal(c->str, "0");
    freeReplyObject(c);
    mc_testenv_expect_field(env, "app", ids[4], "state", "issued");
}

static void an_expired_activation_is_410_and_changes_nothing(void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], dir[400], before[41], after[41];
    new_id(id);
    approved_app(env, id, "sun.li", "孙丽", "p256", CODE, 3600);
    redisReply *r = mc_testenv_redis(env, "HSET {mc}:act:%s expires %lld", id,
                                     (long long)time(NULL) - 1);
    freeReplyObject(r);
    phone_dir(env, "expired", MC_ALG_P256, "孙丽", ORG_NAME, MC_TEST_ORG, dir);
    mc_testenv_digest(env, before);
    expect_refusal(env, dir, id, CODE, NULL, NULL, 410, "activation_expired");
    expect_refusal(env, dir, id, "11111111", NULL, NULL, 410, "activation_expired");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    /* an application nobody approved, or that does not exist */
    expect_refusal(env, dir, "SQ2026120199999999", CODE, NULL, NULL, 404, "no_activation");
}

/* ---- the CSR's rules ---- */

static void csrs_that_do_not_match_the_application_are_409(void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], dir[400], before[41], after[41];
    new_id(id);
    approved_app(env, id, "qian.jun", "钱军", "sm2", CODE, 3600);
    mc_testenv_digest(env, before);
    /* another holder, another organisation name, another (valid) USCC */
    phone_dir(env, "cn", MC_ALG_SM2, "钱君", ORG_NAME, MC_TEST_ORG, dir);
    expect_refusal(env, dir, id, CODE, NULL, NULL, 409, "subject_mismatch");
    phone_dir(env, "o", MC_ALG_SM2, "钱军", "演示供应商有限责任公司", MC_TEST_ORG, dir);
    expect_refusal(env, dir, id, CODE, NULL, NULL, 409, "subject_mismatch");
    phone_dir(env, "uscc", MC_ALG_SM2, "钱军", ORG_NAME, MC_TEST_ORG2, dir);
    expect_refusal(env, dir, id, CODE, NULL, NULL, 409, "subject_mismatch");
    /* the right subject with a P-256 key for an SM2 application */
    phone_dir(env, "alg", MC_ALG_P256, "钱军", ORG_NAME, MC_TEST_ORG, dir);
    expect_refusal(env, dir, id, CODE, NULL, NULL, 409, "alg_mismatch");
    /* right code, so nothing was counted */
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);

    /* the right subject and key, but the self-signature does not verify:
     * the last byte of the signature flipped (the DER stays valid) */
    phone_dir(env, "pop", MC_ALG_SM2, "钱军", ORG_NAME, MC_TEST_ORG, dir);
    mc_buf csr = {0};
    mc_phone_err pe;
    assert_int_equal(mc_phone_csr_der(dir, &csr, &pe), 0);
    csr.ptr[csr.len - 1] ^= 1;
    mc_slice bad = {csr.ptr, csr.len};
    mc_phone_overrides ov = {.enroll_csr = &bad};
    expect_refusal(env, dir, id, CODE, NULL, &ov, 400, "bad_csr");
    /* a CSR that is not DER, and one with a byte after it */
    static const uint8_t garbage[] = "-----BEGIN CERTIFICATE REQUEST-----";
    mc_slice g = {garbage, sizeof(garbage) - 1};
    ov.enroll_csr = &g;
    expect_refusal(env, dir, id, CODE, NULL, &ov, 400, "bad_csr");
    csr.ptr[csr.len - 1] ^= 1;
    mc_buf_append(&csr, "", 1);
    bad = (mc_slice){csr.ptr, csr.len};
    ov.enroll_csr = &bad;
    expect_refusal(env, dir, id, CODE, NULL, &ov, 400, "bad_csr");
    mc_buf_free(&csr);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    /* and the honest one is issued */
    mc_phone_enrolled got;
    assert_int_equal(mc_phone_enroll(dir, env->base, id, CODE, NULL, NULL, &got, &pe), 0);
    mc_testenv_expect_field(env, "app", id, "cert", got.fp);
}

/* ---- hostile bodies ---- */

/* A msgpack map built from n key/value pairs, each value given as raw
 * msgpack bytes. */
typedef struct kv {
    const char *k;
    const uint8_t *v;
    size_t n;
} kv;

static void mp_map(const kv *kvs, size_t n, mc_buf *out)
{
    uint8_t h = (uint8_t)(0x80 | n);
    mc_buf_append(out, &h, 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t kh = (uint8_t)(0xa0 | strlen(kvs[i].k));
        mc_buf_append(out, &kh, 1);
        mc_buf_append(out, kvs[i].k, strlen(kvs[i].k));
        mc_buf_append(out, kvs[i].v, kvs[i].n);
    }
}

/* msgpack str of s (< 32 bytes). */
static size_t mp_fixstr(const char *s, uint8_t *out)
{
    size_t n = strlen(s);
    out[0] = (uint8_t)(0xa0 | n);
    memcpy(out + 1, s, n);
    return n + 1;
}

static void expect_body(mc_testenv *env, const char *dir, const mc_buf *body, int status,
                        const char *code)
{
    static const uint8_t empty[1];
    mc_phone_overrides ov = {.raw_body = body->len ? body->ptr : empty, .raw_len = body->len};
    expect_refusal(env, dir, NULL, NULL, NULL, &ov, status, code);
}

static void malformed_bodies_are_refused_and_change_nothing(void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], dir[400], before[41], after[41];
    new_id(id);
    approved_app(env, id, "zhou.min", "周敏", "p256", CODE, 3600);
    phone_dir(env, "hostile", MC_ALG_P256, "周敏", ORG_NAME, MC_TEST_ORG, dir);
    mc_buf csr = {0}, good = {0}, b = {0};
    mc_phone_err pe;
    assert_int_equal(mc_phone_csr_der(dir, &csr, &pe), 0);
    mc_enroll_req rq;
    memset(&rq, 0, sizeof(rq));
    snprintf(rq.app, sizeof(rq.app), "%s", id);
    snprintf(rq.code, sizeof(rq.code), "%s", CODE);
    rq.csr = (mc_slice){csr.ptr, csr.len};
    mc_enroll_req_encode(&rq, &good);
    mc_testenv_digest(env, before);

    /* truncated at every length, and with a byte after it */
    for (size_t n = 0; n < good.len; n += 1 + good.len / 40) {
        b.len = 0;
        mc_buf_append(&b, good.ptr, n);
        expect_body(env, dir, &b, 400, "bad_msgpack");
    }
    b.len = 0;
    mc_buf_append(&b, good.ptr, good.len);
    mc_buf_append(&b, "\xc0", 1);
    expect_body(env, dir, &b, 400, "bad_msgpack");
    /* not a map; a map claiming more entries than bytes; deep nesting */
    static const uint8_t arr[] = {0x91, 0x01};
    b.len = 0;
    mc_buf_append(&b, arr, sizeof(arr));
    expect_body(env, dir, &b, 400, "bad_field");
    static const uint8_t huge[] = {0xdf, 0x7f, 0xff, 0xff, 0xff};
    b.len = 0;
    mc_buf_append(&b, huge, sizeof(huge));
    expect_body(env, dir, &b, 400, "bad_msgpack");
    static const uint8_t deep[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x00};
    b.len = 0;
    mc_buf_append(&b, deep, sizeof(deep));
    expect_body(env, dir, &b, 400, "bad_msgpack");
    /* too large for the route */
    b.len = 0;
    mc_buf_reserve(&b, MC_PHONE_BODY_MAX + 10);
    memset(b.ptr, 0xc0, MC_PHONE_BODY_MAX + 10);
    b.len = MC_PHONE_BODY_MAX + 10;
    expect_body(env, dir, &b, 413, "too_large");

    /* field by field, around a well-formed message */
    uint8_t v1[] = {0x01}, v2[] = {0x02}, vneg[] = {0xff}, vstr[40], vapp[40], vcode[16],
            vsid[32], vbad[40], vnil[] = {0xc0};
    size_t napp = mp_fixstr(id, vapp), ncode = mp_fixstr(CODE, vcode);
    mc_buf vcsr = {0};
    uint8_t bh[3] = {0xc5, (uint8_t)(csr.len >> 8), (uint8_t)csr.len};
    mc_buf_append(&vcsr, bh, 3);
    mc_buf_append(&vcsr, csr.ptr, csr.len);
    kv base[] = {{"v", v1, 1}, {"app", vapp, napp}, {"code", vcode, ncode},
                 {"csr", vcsr.ptr, vcsr.len}};
    typedef struct lie {
        int field;                /* index in base to replace, or -1: add a key */
        const char *key;          /* NULL: the field's own key */
        const uint8_t *v;
        size_t n;
        int status;
        const char *code;
    } lie;
    lie cases[16];
    size_t nc = 0;
#define CASE(f, k, val, len, st, c) cases[nc++] = (lie){f, k, val, len, st, c}
    CASE(0, NULL, v2, 1, 400, "bad_version");
    CASE(0, NULL, vneg, 1, 400, "bad_version");
    CASE(0, NULL, vapp, napp, 400, "bad_field"); /* v as a string */
    size_t n = mp_fixstr("sq2026120112345678", vbad);
    CASE(1, NULL, vbad, n, 400, "bad_field"); /* lower case */
    CASE(1, NULL, vcode, ncode, 404, "no_activation"); /* well-formed, no such application */
    n = mp_fixstr("1234567", vstr);
    CASE(2, NULL, vstr, n, 400, "bad_field"); /* 7 digits */
    size_t n2 = mp_fixstr("1234567a", vsid);
    CASE(2, NULL, vsid, n2, 400, "bad_field");
    CASE(2, NULL, v1, 1, 400, "bad_field"); /* code as an integer */
    CASE(3, NULL, vcode, ncode, 400, "bad_field"); /* csr as a string */
    CASE(3, NULL, vnil, 1, 400, "bad_field");
    CASE(0, "vv", v1, 1, 400, "bad_field"); /* unknown key (and v missing) */
    CASE(-1, "app", vapp, napp, 400, "bad_field"); /* app twice */
    CASE(-1, "sid", vcode, ncode, 400, "bad_field"); /* not a session id */
    CASE(-1, "extra", v1, 1, 400, "bad_field");
#undef CASE
    for (size_t i = 0; i < nc; i++) {
        kv m[5];
        size_t cnt = 0;
        for (size_t k = 0; k < 4; k++) {
            m[cnt] = base[k];
            if ((int)k == cases[i].field) {
                if (cases[i].key)
                    m[cnt].k = cases[i].key;
                m[cnt].v = cases[i].v;
                m[cnt].n = cases[i].n;
            }
            cnt++;
        }
        if (cases[i].field < 0)
            m[cnt++] = (kv){cases[i].key, cases[i].v, cases[i].n};
        b.len = 0;
        mp_map(m, cnt, &b);
        mc_phone_overrides ov = {.raw_body = b.ptr, .raw_len = b.len};
        mc_phone_err e2;
        if (mc_phone_enroll(dir, env->base, NULL, NULL, NULL, &ov, NULL, &e2) == 0)
            fail_msg("case %zu: enrolled", i);
        if (e2.status != cases[i].status || strcmp(e2.code, cases[i].code) != 0)
            fail_msg("case %zu: %d %s (%s), want %d %s", i, e2.status, e2.code, e2.msg,
                     cases[i].status, cases[i].code);
    }
    /* a CSR over 4096 bytes */
    mc_buf big = {0};
    mc_buf_reserve(&big, 4097);
    memset(big.ptr, 0x30, 4097);
    big.len = 4097;
    mc_slice bs = {big.ptr, big.len};
    mc_phone_overrides ov = {.enroll_csr = &bs};
    expect_refusal(env, dir, id, CODE, NULL, &ov, 400, "bad_field");
    mc_buf_free(&big);
    /* the plain well-formed message, sent by hand, still works at the end */
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    mc_phone_overrides ok = {.raw_body = good.ptr, .raw_len = good.len};
    mc_phone_enrolled got;
    assert_int_equal(mc_phone_enroll(dir, env->base, id, CODE, NULL, &ok, &got, &pe), 0);
    mc_buf_free(&vcsr);
    mc_buf_free(&csr);
    mc_buf_free(&good);
    mc_buf_free(&b);
}

/* ---- the web's enroll QR ---- */

static json_t *open_enroll(mc_testenv *env, const char *tok, const char *id, int *st)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/applications/%s/enroll-session?qr=none", id);
    return mc_testenv_api(env, "POST", path, tok, NULL, st);
}

static void the_enroll_qr_shows_the_application_and_wakes_the_browser(void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], id2[MC_APP_ID_MAX + 1], dir[400];
    new_id(id);
    new_id(id2);
    mc_testenv_account(env, "wu.gang", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "zheng.admin", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "feng.other", MC_TEST_ORG, "staff");
    mc_testenv_org(env, MC_TEST_ORG2, "另一家公司");
    mc_testenv_account(env, "chen.admin2", MC_TEST_ORG2, "admin");
    approved_app(env, id, "wu.gang", "吴刚", "sm2", CODE, 3600);
    approved_app(env, id2, "wu.gang", "吴刚", "sm2", "87654321", 3600);
    int st;

    /* who may open it: the applicant and its organisation's admin; another
     * staff member of the organisation (who may not read it, mc_policy.h)
     * and another organisation's admin do not learn that it exists; nobody
     * without a token */
    char *tok = mc_testenv_login(env, "wu.gang");
    char *adm = mc_testenv_login(env, "zheng.admin");
    char *other = mc_testenv_login(env, "feng.other");
    char *foreign = mc_testenv_login(env, "chen.admin2");
    json_t *o = open_enroll(env, other, id, &st);
    assert_int_equal(st, 404);
    assert_string_equal(mc_testenv_jstr(o, "code"), "not_found");
    json_decref(o);
    o = open_enroll(env, foreign, id, &st);
    assert_int_equal(st, 404);
    json_decref(o);
    o = open_enroll(env, NULL, id, &st);
    assert_int_equal(st, 401);
    json_decref(o);
    o = open_enroll(env, tok, "SQ2026120199999998", &st);
    assert_int_equal(st, 404);
    json_decref(o);
    o = open_enroll(env, tok, "sq-not-an-id", &st);
    assert_int_equal(st, 404);
    json_decref(o);
    o = open_enroll(env, adm, id, &st);
    assert_int_equal(st, 201);
    json_decref(o);

    o = open_enroll(env, tok, id, &st);
    assert_int_equal(st, 201);
    assert_string_equal(mc_testenv_jstr(o, "purpose"), "enroll");
    assert_string_equal(mc_testenv_jstr(o, "app"), id);
    assert_string_equal(mc_testenv_jstr(o, "account"), "wu.gang");
    char sid[MC_SID_LEN + 1], poll[64], payload[160];
    snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(o, "sid"));
    snprintf(poll, sizeof(poll), "%s", mc_testenv_jstr(o, "poll_secret"));
    snprintf(payload, sizeof(payload), "%s",
             mc_testenv_jstr(json_object_get(o, "qr"), "payload"));
    assert_non_null(strstr(payload, sid));
    assert_true(json_integer_value(json_object_get(o, "ttl")) >= 300);
    json_decref(o);

    /* the phone's view: the application, its organisation and holder */
    mc_session_view v;
    mc_phone_err pe;
    assert_int_equal(mc_phone_fetch(env->base, sid, &v, &pe), 0);
    assert_int_equal(v.s.purpose, MC_PURPOSE_ENROLL);
    assert_string_equal(v.app, id);
    assert_string_equal(v.holder_name, "吴刚");
    assert_string_equal(v.org_name, ORG_NAME);
    assert_string_equal(v.s.account, "wu.gang");
    assert_string_equal(v.s.state, "scanned");

    /* it is not answered by a session response (those carry no CSR) */
    phone_dir(env, "qr", MC_ALG_SM2, "吴刚", ORG_NAME, MC_TEST_ORG, dir);
    /* nor does another application's enrollment answer it */
    expect_refusal(env, dir, id2, "87654321", sid, NULL, 409, "app_mismatch");
    expect_refusal(env, dir, id, CODE, "ABCDEFGHJKMNPQRSTVWX", NULL, 404, "unknown_session");
    /* nor a session of another purpose (a login QR), with the right code:
     * refused, the activation's tries untouched, the login session not
     * answered */
    char lsid[MC_SID_LEN + 1], lpoll[64], kact[64], tries0[16], tries1[16];
    int lmatch;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, lsid, lpoll, &lmatch, NULL), 201);
    snprintf(kact, sizeof(kact), "{mc}:act:%s", id);
    mc_testenv_hget(env, kact, "tries", tries0, sizeof(tries0));
    expect_refusal(env, dir, id, CODE, lsid, NULL, 409, "purpose_mismatch");
    mc_testenv_hget(env, kact, "tries", tries1, sizeof(tries1));
    assert_string_equal(tries0, tries1);
    json_t *lp = mc_testenv_poll(env, lsid, lpoll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(lp, "state"), "pending");
    json_decref(lp);

    /* the phone enrolls a moment later; the browser's long poll wakes */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        usleep(300 * 1000);
        mc_phone_enrolled g;
        mc_phone_err e2;
        _exit(mc_phone_enroll(dir, env->base, id, CODE, sid, NULL, &g, &e2) == 0 ? 0 : 10);
    }
    double t0 = mc_testenv_now();
    json_t *p = mc_testenv_poll(env, sid, poll, "scanned", 20, &st);
    int ws;
    waitpid(child, &ws, 0);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_int_equal(st, 200);
    assert_true(mc_testenv_now() - t0 < 5);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    assert_string_equal(mc_testenv_jstr(p, "purpose"), "enroll");
    char fp[65], key[64];
    snprintf(key, sizeof(key), "{mc}:app:%s", id);
    mc_testenv_hget(env, key, "cert", fp, sizeof(fp));
    assert_int_equal(strlen(fp), 64);
    assert_string_equal(mc_testenv_jstr(p, "cert"), fp);
    json_decref(p);

    /* once issued, no second QR */
    o = open_enroll(env, tok, id, &st);
    assert_int_equal(st, 409);
    assert_string_equal(mc_testenv_jstr(o, "code"), "bad_transition");
    json_decref(o);
    /* a used session is done for another enrollment */
    expect_refusal(env, dir, id2, "87654321", sid, NULL, 409, "session_done");
    free(tok);
    free(adm);
    free(other);
    free(foreign);
}

/* ---- the CLI ---- */

static void mcert_phone_enroll_by_qr_payload_and_again_after_a_lost_reply(void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], store[400];
    new_id(id);
    mc_testenv_account(env, "he.jing", MC_TEST_ORG, "staff");
    approved_app(env, id, "he.jing", "何静", "p256", CODE, 3600);
    char *tok = mc_testenv_login(env, "he.jing");
    int st;
    json_t *o = open_enroll(env, tok, id, &st);
    assert_int_equal(st, 201);
    char payload[160];
    snprintf(payload, sizeof(payload), "%s",
             mc_testenv_jstr(json_object_get(o, "qr"), "payload"));
    json_decref(o);
    snprintf(store, sizeof(store), "%s/cli-phone", env->dir);
    char out[500];
    snprintf(out, sizeof(out), "%s/cli.out", env->dir);
    /* a wrong code: refused (exit 1), but the key and CSR are made */
    assert_int_equal(mc_testenv_sh("%s/mcert-phone --store %s enroll --payload '%s' --code "
                                   "11112222 --alg p256 --pin %s --cn 何静 --org-name %s --uscc "
                                   "%s >%s 2>&1",
                                   MCERT_BIN_DIR, store, payload, MC_TEST_PIN, ORG_NAME,
                                   MC_TEST_ORG, out),
                     1);
    assert_int_equal(mc_testenv_sh("grep -q bad_code %s", out), 0);
    /* the right one: the same key and CSR, issued */
    assert_int_equal(mc_testenv_sh("%s/mcert-phone --store %s enroll --payload '%s' --code %s "
                                   "--pin %s >%s 2>&1",
                                   MCERT_BIN_DIR, store, payload, CODE, MC_TEST_PIN, out),
                     0);
    assert_int_equal(mc_testenv_sh("grep -q 'Receive the certificate of application %s' %s && "
                                   "grep -q 'Issued:' %s",
                                   id, out, out),
                     0);
    mc_phone_status ps;
    mc_phone_err pe;
    assert_int_equal(mc_phone_describe(store, &ps, &pe), 0);
    assert_true(ps.has_cert);
    mc_testenv_expect_field(env, "app", id, "cert", ps.leaf.fp_hex);
    /* a store that holds a certificate is left alone */
    assert_int_equal(mc_testenv_sh("%s/mcert-phone --store %s enroll --server %s --app %s "
                                   "--code %s --pin %s >%s 2>&1",
                                   MCERT_BIN_DIR, store, env->base, id, CODE, MC_TEST_PIN, out),
                     1);
    /* usage errors */
    assert_int_equal(mc_testenv_sh("%s/mcert-phone --store %s/x enroll --server %s --app %s "
                                   "--code 123 --pin %s >/dev/null 2>&1",
                                   MCERT_BIN_DIR, env->dir, env->base, id, MC_TEST_PIN),
                     2);
    free(tok);

    /* the QR as the page draws it (PNG), read by the phone's real decoder */
    char id2[MC_APP_ID_MAX + 1], store2[400], png[450];
    new_id(id2);
    approved_app(env, id2, "he.jing", "何静", "sm2", CODE, 3600);
    tok = mc_testenv_login(env, "he.jing");
    o = open_enroll(env, tok, id2, &st);
    assert_int_equal(st, 201);
    char sid[MC_SID_LEN + 1];
    snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(o, "sid"));
    json_decref(o);
    snprintf(png, sizeof(png), "%s/enroll-qr.png", env->dir);
    char url[300];
    snprintf(url, sizeof(url), "%s/api/v1/sessions/%s/qr.png", env->base, sid);
    mc_http_reply hr;
    mc_err herr;
    memset(&hr, 0, sizeof(hr));
    assert_int_equal(mc_http_request("GET", url, NULL, NULL, 0, 10, &hr, &herr), 0);
    assert_int_equal(hr.status, 200);
    FILE *f = fopen(png, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(hr.body.ptr, 1, hr.body.len, f), hr.body.len);
    fclose(f);
    mc_http_reply_free(&hr);
    snprintf(store2, sizeof(store2), "%s/cli-phone-png", env->dir);
    assert_int_equal(mc_testenv_sh("%s/mcert-phone --store %s enroll --png %s --code %s --alg sm2 "
                                   "--pin %s --cn 何静 --org-name %s --uscc %s >%s 2>&1",
                                   MCERT_BIN_DIR, store2, png, CODE, MC_TEST_PIN, ORG_NAME,
                                   MC_TEST_ORG, out),
                     0);
    mc_testenv_expect_field(env, "app", id2, "state", "issued");
    /* --png and --payload together: a usage error */
    assert_int_equal(mc_testenv_sh("%s/mcert-phone --store %s/y enroll --png %s --payload '%s' "
                                   "--code %s --pin %s >/dev/null 2>&1",
                                   MCERT_BIN_DIR, env->dir, png, payload, CODE, MC_TEST_PIN),
                     2);
    free(tok);
}

/* ---- a node without a CA ---- */

static void a_node_without_a_ca_answers_503_no_ca(void **state)
{
    mc_testenv *env = env_of(state);
    char id[MC_APP_ID_MAX + 1], dir[400], before[41], after[41];
    new_id(id);
    approved_app(env, id, "lin.tao", "林涛", "p256", CODE, 3600);
    phone_dir(env, "noca", MC_ALG_P256, "林涛", ORG_NAME, MC_TEST_ORG, dir);
    assert_int_equal(mc_testenv_sh("mv %s/var/ca %s/var/ca.away", env->dir, env->dir), 0);
    const char *base2 = mc_testenv_second_node(env);
    assert_int_equal(mc_testenv_sh("mv %s/var/ca.away %s/var/ca", env->dir, env->dir), 0);
    mc_testenv_digest(env, before);
    mc_phone_err pe;
    assert_int_equal(mc_phone_enroll(dir, base2, id, CODE, NULL, NULL, NULL, &pe), -1);
    assert_int_equal(pe.status, 503);
    assert_string_equal(pe.code, "no_ca");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after); /* not even a try counted */
    /* the node with its CA issues it */
    assert_int_equal(mc_phone_enroll(dir, env->base, id, CODE, NULL, NULL, NULL, &pe), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(p256_enrolls_then_binds_and_logs_in),
        cmocka_unit_test(sm2_enrolls_then_binds_and_logs_in),
        cmocka_unit_test(a_repeated_request_gets_the_same_certificate_and_another_csr_is_refused),
        cmocka_unit_test(five_wrong_codes_lock_the_activation_even_for_the_right_code),
        cmocka_unit_test(an_expired_activation_is_410_and_changes_nothing),
        cmocka_unit_test(csrs_that_do_not_match_the_application_are_409),
        cmocka_unit_test(malformed_bodies_are_refused_and_change_nothing),
        cmocka_unit_test(the_enroll_qr_shows_the_application_and_wakes_the_browser),
        cmocka_unit_test(mcert_phone_enroll_by_qr_payload_and_again_after_a_lost_reply),
        cmocka_unit_test(a_node_without_a_ca_answers_503_no_ca),
        cmocka_unit_test(one_address_guessing_many_activations_is_429),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
