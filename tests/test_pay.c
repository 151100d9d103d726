/*
 * test_pay.c — payments (PROTOCOL.md §9.6) against a real redis-server and
 * the real mcertd:
 *
 *   an application in pending_payment -> POST .../pay (an order, its
 *   cashier; the same order again) -> the sandbox's 收银台 confirm -> the
 *   sandbox's signed notice through the callback check -> order paid and
 *   application pending_review in one step;
 *   notices posted to /api/v1/payments/sandbox/callback as an outside
 *   provider would, signed by this test with the key file mcertd made:
 *   forged, unsigned, wrong amount, stale and future ts, unknown order,
 *   unknown provider, misshapen, refunded-before-asked — each refused with
 *   its code and the data set unchanged (DEBUG DIGEST); a replay of the
 *   exact bytes, and another notice of the same (order, amount, status),
 *   answer 200 the same and change nothing; an expired order refuses its
 *   payment and is replaced by a new one;
 *   refunds: a paid application withdrawn (its order refund_pending and
 *   queued, as apply.lua leaves it) is refunded by the sweep of an mcertd
 *   that starts afterwards (the order survives mcertd stopping before the
 *   refund); a payment for an application withdrawn meanwhile is refunded
 *   at once; the refund notice replayed changes nothing.
 *
 * The applications are written into Redis in the data model's fields
 * (/tmp/w/issue7.md) by the test, so that payments are tested on their own.
 */
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
#include <hiredis/hiredis.h>

#include "mc_crypto.h"
#include "mc_pay.h"
#include "mc_policy.h"
#include "mc_testhelp.h"

static mc_testenv *env;
static uint8_t key[MC_PAY_KEY_LEN];
static char *tok_alice, *tok_bob, *tok_admin, *tok_other;

/* ---- helpers ---- */

/* An application as apply.lua leaves it, in the data model's fields. */
static void app_put(const char *id, const char *applicant, const char *uscc, const char *state,
                    int fee)
{
    redisReply *r = mc_testenv_redis(
        env,
        "HSET {mc}:app:%s id %s provider mcert kind mobile quantity 1 org_name %s org_type "
        "other uscc %s region 330000 licence L id_scan I auth_letter A holder_name 张三 "
        "holder_id 110101199003070011 mobile 13800000000 email a@b.cn alg p256 delivery "
        "online identity face_passed state %s fee %d reason %s applicant %s created 1 "
        "submitted_at 1 reviewed_at 0 reviewer %s order %s paid 0 cert %s gen 1",
        id, id, strcmp(uscc, MC_TEST_ORG) == 0 ? "演示供应商有限公司" : "另一家公司", uscc,
        state, fee, "", applicant, "", "", "");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
}

static json_t *call(const char *method, const char *path, const char *tok, json_t *body,
                    int want)
{
    return mc_testenv_api_want(env, method, path, tok, body, want);
}

static void expect_err(const char *method, const char *path, const char *tok, json_t *body,
                       int status, const char *code)
{
    json_t *o = call(method, path, tok, body, status);
    assert_string_equal(mc_testenv_jstr(o, "code"), code);
    json_decref(o);
}

/* POST .../pay as tok: the order id into oid. */
static json_t *pay(const char *app, const char *tok, int want, char oid[MC_PAY_OID_LEN + 1])
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/applications/%s/pay", app);
    json_t *o = call("POST", path, tok, NULL, want);
    snprintf(oid, MC_PAY_OID_LEN + 1, "%s", mc_testenv_jstr(o, "order"));
    return o;
}

/* A notice's bytes as a provider sends them. */
static void notice(char *out, size_t size, const char *oid, long long amount, const char *status,
                   const char *txn, long long ts)
{
    snprintf(out, size, "{\"order\":\"%s\",\"amount\":%lld,\"status\":\"%s\",\"txn\":\"%s\","
                        "\"ts\":%lld}", oid, amount, status, txn, ts);
}

/* POST the raw body to the callback with X-Pay-Signature sig (NULL: none). */
static void post_notice(const char *base, const char *provider, const char *body,
                        const char *sig, mc_testenv_reply *rep)
{
    char path[96], hdr[160];
    snprintf(path, sizeof(path), "/api/v1/payments/%s/callback", provider);
    snprintf(hdr, sizeof(hdr), "X-Pay-Signature: %s", sig ? sig : "");
    const char *h[] = {hdr, NULL};
    mc_testenv_send(base, "POST", path, sig ? h : NULL, body, 10, rep);
    if (rep->status == 0)
        fail_msg("callback: %s", rep->err);
}

/* The body signed with k, posted; the status and code must be as wanted. */
static void expect_notice(const uint8_t *k, const char *body, int status, const char *code)
{
    char sig[65];
    mc_pay_sign(k, body, strlen(body), sig);
    mc_testenv_reply rep;
    post_notice(env->base, "sandbox", body, sig, &rep);
    if (rep.status != status || (code && strcmp(rep.code, code) != 0))
        fail_msg("notice %s: want %d %s, got %d %s (%s)", body, status, code ? code : "",
                 rep.status, rep.code, rep.msg);
    mc_testenv_reply_free(&rep);
}

/* Wait up to 10 s for the order to reach state. */
static void wait_order_state(const char *oid, const char *state)
{
    char k[64], v[256];
    snprintf(k, sizeof(k), "{mc}:order:%s", oid);
    for (int i = 0; i < 200; i++) {
        if (strcmp(mc_testenv_hget(env, k, "state", v, sizeof(v)), state) == 0)
            return;
        usleep(50 * 1000);
    }
    fail_msg("order %s stayed %s, never %s", oid, v, state);
}

static int setup(void **state)
{
    env = mc_testenv_start(0);
    mc_testenv_org(env, MC_TEST_ORG2, "另一家公司");
    mc_testenv_account(env, "alice", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "bob", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "other", MC_TEST_ORG2, "admin");
    tok_alice = mc_testenv_login(env, "alice");
    tok_bob = mc_testenv_login(env, "bob");
    tok_admin = mc_testenv_login(env, "boss");
    tok_other = mc_testenv_login(env, "other");
    /* the key mcertd made at its first start */
    char path[300], hex[80];
    snprintf(path, sizeof(path), "%s/var/pay/sandbox.key", env->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(hex, 1, sizeof(hex), f);
    fclose(f);
    assert_int_equal(n, 65);
    assert_int_equal(hex[64], '\n');
    assert_int_equal(mc_unhex(hex, 64, key, sizeof(key)), 0);
    return 0;
}

static int teardown(void **state)
{
    free(tok_alice);
    free(tok_bob);
    free(tok_admin);
    free(tok_other);
    mc_testenv_stop(env);
    return 0;
}

/* ---- the pure rules (core/domain/mc_pay.c) ---- */

static void the_signature_is_hmac_sha256_of_the_raw_bytes(void **state)
{
    /* the example of PROTOCOL.md §9.6.4 (checked with Python's hmac) */
    uint8_t k[MC_PAY_KEY_LEN];
    for (int i = 0; i < MC_PAY_KEY_LEN; i++)
        k[i] = (uint8_t)i;
    mc_pay_notice n = {.amount = 20000, .ts = 1796126822};
    snprintf(n.order, sizeof(n.order), "PO202612013318602270");
    snprintf(n.status, sizeof(n.status), "paid");
    snprintf(n.txn, sizeof(n.txn), "T1");
    mc_err err;
    assert_int_equal(mc_pay_notice_check(&n, &err), 0);
    char body[MC_PAY_NOTICE_MAX], sig[65];
    size_t len = mc_pay_notice_format(&n, body, sizeof(body));
    assert_string_equal(body, "{\"order\":\"PO202612013318602270\",\"amount\":20000,"
                              "\"status\":\"paid\",\"txn\":\"T1\",\"ts\":1796126822}");
    assert_int_equal(len, strlen(body));
    mc_pay_sign(k, body, len, sig);
    assert_string_equal(sig, "3b813d26dd70da3dd6722f40f3382b0c28b46e6c49739ad0b9ae1d2267e325f9");
    assert_true(mc_pay_sig_ok(k, body, len, sig, 64));
    assert_true(mc_pay_sig_ok(k, body, len,
                              "3B813D26DD70DA3DD6722F40F3382B0C28B46E6C49739AD0B9AE1D2267E325F9",
                              64));
    assert_false(mc_pay_sig_ok(k, body, len, sig, 63));
    assert_false(mc_pay_sig_ok(k, body, len - 1, sig, 64));
    assert_false(mc_pay_sig_ok(k, body, len, NULL, 0));
    sig[0] = sig[0] == '3' ? '4' : '3';
    assert_false(mc_pay_sig_ok(k, body, len, sig, 64));
    assert_int_equal(mc_pay_notice_format(&n, body, 20), 0); /* does not fit */
    /* the window: ±300 s, both ends in */
    assert_true(mc_pay_fresh(1000, 1300));
    assert_true(mc_pay_fresh(1600, 1300));
    assert_false(mc_pay_fresh(999, 1300));
    assert_false(mc_pay_fresh(1601, 1300));
    /* shapes */
    char oid[MC_PAY_OID_LEN + 1];
    mc_pay_oid_new(1796126822, oid); /* 2026-12-01 UTC+8 */
    assert_true(mc_pay_oid_valid(oid, strlen(oid)));
    assert_int_equal(strncmp(oid, "PO20261201", 10), 0);
    assert_false(mc_pay_oid_valid("PO20261201333", 13));
    assert_false(mc_pay_oid_valid("XO202612013318602270", 20));
    assert_false(mc_pay_oid_valid("PO20261201331860227a", 20));
    assert_true(mc_pay_txn_valid("EXT-0001_a", 10));
    assert_false(mc_pay_txn_valid("", 0));
    assert_false(mc_pay_txn_valid("a b", 3));
    assert_false(mc_pay_amount_valid(0));
    assert_true(mc_pay_amount_valid(MC_PAY_AMOUNT_MAX));
    assert_false(mc_pay_amount_valid(MC_PAY_AMOUNT_MAX + 1));
    n.amount = -5;
    assert_int_equal(mc_pay_notice_check(&n, &err), -1);
    assert_string_equal(err.code, "bad_field");
    /* who pays, who reads */
    mc_principal alice = {.login = "alice", .org = MC_TEST_ORG, .role = "staff"},
                 boss = {.login = "boss", .org = MC_TEST_ORG, .role = "admin"},
                 bob = {.login = "bob", .org = MC_TEST_ORG, .role = "staff"},
                 op = {.login = "op", .org = MC_TEST_ORG2, .role = "operator"},
                 other = {.login = "other", .org = MC_TEST_ORG2, .role = "admin"};
    mc_app_owner app = {"alice", MC_TEST_ORG}; /* pay.c asks APP's rules */
    assert_true(mc_policy_app_may_act(&alice, &app));
    assert_true(mc_policy_app_may_act(&boss, &app));
    assert_false(mc_policy_app_may_act(&bob, &app));
    assert_false(mc_policy_app_may_act(&other, &app));
    assert_false(mc_policy_app_may_act(&op, &app));
    assert_true(mc_policy_app_may_read(&op, &app));
    assert_false(mc_policy_app_may_read(&bob, &app));
}

/* ---- tests ---- */

static void the_key_file_is_made_once_0600(void **state)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/var/pay/sandbox.key", env->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/var/pay", env->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* two loops and no leftovers of the write aside */
    assert_int_equal(mc_testenv_sh("test $(ls %s/var/pay | wc -l) -eq 1", env->dir), 0);
}

static void paying_through_the_sandbox_makes_the_application_pending_review(void **state)
{
    app_put("SQ2026120100000001", "alice", MC_TEST_ORG, "pending_payment", 20000);
    char oid[MC_PAY_OID_LEN + 1], again[MC_PAY_OID_LEN + 1];
    int64_t t0 = mc_testenv_redis_time(env);
    json_t *o = pay("SQ2026120100000001", tok_alice, 201, oid);
    assert_true(mc_pay_oid_valid(oid, strlen(oid)));
    assert_int_equal(json_integer_value(json_object_get(o, "amount")), 20000);
    int64_t created = json_integer_value(json_object_get(o, "created"));
    assert_true(created >= t0 && created <= t0 + 2);
    assert_int_equal(json_integer_value(json_object_get(o, "expires")), created + 1800);
    char cashier[96];
    snprintf(cashier, sizeof(cashier), "/pay/sandbox?order=%s", oid);
    assert_string_equal(mc_testenv_jstr(o, "cashier"), cashier);
    assert_string_equal(mc_testenv_jstr(o, "state"), "pending");
    assert_string_equal(mc_testenv_jstr(o, "provider"), "sandbox");
    assert_string_equal(mc_testenv_jstr(o, "payer"), "演示供应商有限公司");
    json_decref(o);
    mc_testenv_expect_field(env, "app", "SQ2026120100000001", "order", oid);
    mc_testenv_expect_field(env, "app", "SQ2026120100000001", "gen", "2");
    /* asked again (its admin too): the same order, not another */
    json_decref(pay("SQ2026120100000001", tok_alice, 200, again));
    assert_string_equal(again, oid);
    json_decref(pay("SQ2026120100000001", tok_admin, 200, again));
    assert_string_equal(again, oid);
    assert_int_equal(mc_testenv_audit_count(env, "order_create", NULL, NULL), 1);

    /* the order, for the application's readers only */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/orders/%s", oid);
    o = call("GET", path, tok_alice, NULL, 200);
    assert_string_equal(mc_testenv_jstr(o, "order"), oid);
    assert_string_equal(mc_testenv_jstr(o, "app"), "SQ2026120100000001");
    assert_string_equal(mc_testenv_jstr(o, "name"), "移动证书申领 SQ2026120100000001");
    assert_string_equal(mc_testenv_jstr(o, "payee"), "mcert 移动证书CA (沙箱)");
    json_decref(o);
    json_decref(call("GET", path, tok_admin, NULL, 200));
    expect_err("GET", path, tok_bob, NULL, 404, "unknown_order");
    expect_err("GET", path, tok_other, NULL, 404, "unknown_order");
    expect_err("GET", path, NULL, NULL, 401, "unauthorized");
    expect_err("GET", "/api/v1/orders/PO202612010000000000", tok_alice, NULL, 404,
               "unknown_order");
    expect_err("GET", "/api/v1/orders/nonsense", tok_alice, NULL, 404, "unknown_order");

    /* the cashier page is served (strict CSP: mc_pages.c) */
    mc_testenv_reply page;
    char ppath[96];
    snprintf(ppath, sizeof(ppath), "/pay/sandbox?order=%s", oid);
    mc_testenv_send(env->base, "GET", ppath, NULL, NULL, 10, &page);
    assert_int_equal(page.status, 200);
    mc_testenv_reply_free(&page);
    mc_testenv_send(env->base, "GET", "/cashier.js", NULL, NULL, 10, &page);
    assert_int_equal(page.status, 200);
    mc_testenv_reply_free(&page);

    /* someone else of the organisation, another organisation: not theirs */
    char cpath[128];
    snprintf(cpath, sizeof(cpath), "/pay/sandbox/%s/confirm", oid);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    expect_err("POST", cpath, tok_bob, json_pack("{s:s}", "method", "alipay"), 404,
               "unknown_order");
    expect_err("POST", cpath, tok_other, json_pack("{s:s}", "method", "alipay"), 404,
               "unknown_order");
    expect_err("POST", cpath, tok_alice, json_pack("{s:s}", "method", "paypal"), 400,
               "bad_field");
    expect_err("POST", cpath, tok_alice, json_pack("{s:s, s:i}", "method", "alipay", "x", 1),
               400, "bad_field");
    expect_err("POST", cpath, NULL, json_pack("{s:s}", "method", "alipay"), 401,
               "unauthorized");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);

    /* 确认支付 */
    o = call("POST", cpath, tok_alice, json_pack("{s:s}", "method", "wechat"), 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "paid");
    assert_string_equal(mc_testenv_jstr(o, "app_state"), "pending_review");
    assert_string_equal(mc_testenv_jstr(o, "return"), "/apply?id=SQ2026120100000001");
    json_decref(o);
    mc_testenv_expect_field(env, "app", "SQ2026120100000001", "state", "pending_review");
    mc_testenv_expect_field(env, "app", "SQ2026120100000001", "paid", "1");
    mc_testenv_expect_field(env, "app", "SQ2026120100000001", "gen", "3");
    mc_testenv_expect_field(env, "order", oid, "state", "paid");
    char k[64], v[256];
    snprintf(k, sizeof(k), "{mc}:order:%s", oid);
    assert_int_equal(strncmp(mc_testenv_hget(env, k, "txn", v, sizeof(v)), "SBP", 3), 0);
    assert_true(strtoll(mc_testenv_hget(env, k, "paid_at", v, sizeof(v)), NULL, 10) >= created);
    assert_int_equal(mc_testenv_audit_count(env, "order_paid", NULL, NULL), 1);
    assert_int_equal(mc_testenv_audit_count(env, "app_paid", NULL, NULL), 1);

    /* paying again changes nothing; the application is no longer payable */
    mc_testenv_digest(env, before);
    o = call("POST", cpath, tok_alice, json_pack("{s:s}", "method", "alipay"), 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "paid");
    json_decref(o);
    expect_err("POST", "/api/v1/applications/SQ2026120100000001/pay", tok_alice, NULL, 409,
               "bad_transition");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
}

static void the_pay_endpoint_refuses_what_cannot_be_paid(void **state)
{
    app_put("SQ2026120100000002", "alice", MC_TEST_ORG, "draft", 20000);
    app_put("SQ2026120100000003", "alice", MC_TEST_ORG, "pending_payment", 0);
    app_put("SQ2026120100000004", "alice", MC_TEST_ORG, "pending_payment", 20000);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    expect_err("POST", "/api/v1/applications/SQ2026120100000002/pay", tok_alice, NULL, 409,
               "bad_transition");
    expect_err("POST", "/api/v1/applications/SQ2026120100000003/pay", tok_alice, NULL, 409,
               "bad_transition");
    expect_err("POST", "/api/v1/applications/SQ2026120199999999/pay", tok_alice, NULL, 404,
               "not_found");
    expect_err("POST", "/api/v1/applications/bad-id!/pay", tok_alice, NULL, 404, "not_found");
    expect_err("POST", "/api/v1/applications/SQ2026120100000004/pay", tok_bob, NULL, 404,
               "not_found");
    expect_err("POST", "/api/v1/applications/SQ2026120100000004/pay", tok_other, NULL, 404,
               "not_found");
    expect_err("POST", "/api/v1/applications/SQ2026120100000004/pay?provider=paypal", tok_alice,
               NULL, 400, "bad_query");
    expect_err("POST", "/api/v1/applications/SQ2026120100000004/pay", NULL, NULL, 401,
               "unauthorized");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
}

static void refused_notices_change_nothing_and_a_replay_answers_the_same(void **state)
{
    app_put("SQ2026120100000010", "alice", MC_TEST_ORG, "pending_payment", 20000);
    char oid[MC_PAY_OID_LEN + 1], body[512], sig[65];
    json_decref(pay("SQ2026120100000010", tok_alice, 201, oid));
    long long now = (long long)mc_testenv_redis_time(env);
    char before[41], after[41];
    mc_testenv_digest(env, before);

    /* forged: another key */
    uint8_t wrong[MC_PAY_KEY_LEN];
    memcpy(wrong, key, sizeof(wrong));
    wrong[0] ^= 1;
    notice(body, sizeof(body), oid, 20000, "paid", "T1", now);
    expect_notice(wrong, body, 401, "bad_signature");
    /* the right signature of other bytes: one byte changed (amount) */
    mc_pay_sign(key, body, strlen(body), sig);
    char forged[512];
    notice(forged, sizeof(forged), oid, 20001, "paid", "T1", now);
    mc_testenv_reply rep;
    post_notice(env->base, "sandbox", forged, sig, &rep);
    assert_int_equal(rep.status, 401);
    assert_string_equal(rep.code, "bad_signature");
    mc_testenv_reply_free(&rep);
    /* no signature, a misshapen one */
    post_notice(env->base, "sandbox", body, NULL, &rep);
    assert_int_equal(rep.status, 401);
    assert_string_equal(rep.code, "bad_signature");
    mc_testenv_reply_free(&rep);
    post_notice(env->base, "sandbox", body, "zz", &rep);
    assert_int_equal(rep.status, 401);
    mc_testenv_reply_free(&rep);
    /* signed, but: the wrong amount */
    notice(body, sizeof(body), oid, 19999, "paid", "T1", now);
    expect_notice(key, body, 409, "amount_mismatch");
    /* stale and future timestamps (±300 s) */
    notice(body, sizeof(body), oid, 20000, "paid", "T1", now - 400);
    expect_notice(key, body, 403, "stale_request");
    notice(body, sizeof(body), oid, 20000, "paid", "T1", now + 400);
    expect_notice(key, body, 403, "stale_request");
    /* an order that does not exist; a provider that does not exist */
    notice(body, sizeof(body), "PO202612010000000000", 20000, "paid", "T1", now);
    expect_notice(key, body, 404, "unknown_order");
    notice(body, sizeof(body), oid, 20000, "paid", "T1", now);
    mc_pay_sign(key, body, strlen(body), sig);
    post_notice(env->base, "alipay", body, sig, &rep);
    assert_int_equal(rep.status, 404);
    assert_string_equal(rep.code, "not_found");
    mc_testenv_reply_free(&rep);
    /* misshapen, though signed */
    snprintf(body, sizeof(body), "{\"order\":\"%s\",\"amount\":20000,\"status\":\"paid\","
                                 "\"txn\":\"T1\",\"ts\":%lld,\"extra\":1}", oid, now);
    expect_notice(key, body, 400, "bad_field");
    snprintf(body, sizeof(body), "{\"order\":\"%s\",\"amount\":\"20000\",\"status\":\"paid\","
                                 "\"txn\":\"T1\",\"ts\":%lld}", oid, now);
    expect_notice(key, body, 400, "bad_field");
    notice(body, sizeof(body), oid, 20000, "pending", "T1", now);
    expect_notice(key, body, 400, "bad_field");
    notice(body, sizeof(body), oid, 20000, "paid", "T 1", now);
    expect_notice(key, body, 400, "bad_field");
    notice(body, sizeof(body), oid, 20000, "paid", "T1", now);
    body[strlen(body) - 1] = '\0'; /* truncated */
    expect_notice(key, body, 400, "bad_json");
    /* a key twice: whichever value a lenient parser kept ("paid", last),
     * the notice is not one object of five keys */
    snprintf(body, sizeof(body), "{\"order\":\"%s\",\"amount\":20000,\"status\":\"refunded\","
                                 "\"txn\":\"T1\",\"ts\":%lld,\"status\":\"paid\"}", oid, now);
    expect_notice(key, body, 400, "bad_json");
    /* over MC_PAY_NOTICE_MAX (1024 bytes), though signed and otherwise
     * valid (the padding is JSON whitespace): refused before it is read */
    char big[MC_PAY_NOTICE_MAX + 64];
    notice(big, sizeof(big), oid, 20000, "paid", "T1", now);
    size_t bl = strlen(big);
    memset(big + bl - 1, ' ', sizeof(big) - bl - 1);
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    assert_true(strlen(big) > MC_PAY_NOTICE_MAX);
    expect_notice(key, big, 413, "too_large");
    /* a refund nobody asked for */
    notice(body, sizeof(body), oid, 20000, "refunded", "R1", now);
    expect_notice(key, body, 409, "bad_transition");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);

    /* the real thing */
    notice(body, sizeof(body), oid, 20000, "paid", "EXT-0001", now);
    mc_pay_sign(key, body, strlen(body), sig);
    mc_testenv_reply first, again;
    post_notice(env->base, "sandbox", body, sig, &first);
    assert_int_equal(first.status, 200);
    mc_testenv_expect_field(env, "order", oid, "state", "paid");
    mc_testenv_expect_field(env, "order", oid, "txn", "EXT-0001");
    mc_testenv_expect_field(env, "app", "SQ2026120100000010", "state", "pending_review");
    mc_testenv_digest(env, before);
    /* the exact bytes again: 200, the same answer, nothing changed */
    post_notice(env->base, "sandbox", body, sig, &again);
    assert_int_equal(again.status, 200);
    assert_true(json_equal(first.json, again.json));
    assert_string_equal(mc_testenv_jstr(first.json, "result"), "ok");
    mc_testenv_reply_free(&again);
    /* another notice of the same (order, amount, status): the same */
    notice(body, sizeof(body), oid, 20000, "paid", "EXT-0002", now + 1);
    expect_notice(key, body, 200, NULL);
    /* but not with another amount */
    notice(body, sizeof(body), oid, 100, "paid", "EXT-0003", now);
    expect_notice(key, body, 409, "amount_mismatch");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    mc_testenv_expect_field(env, "order", oid, "txn", "EXT-0001");
    mc_testenv_reply_free(&first);
}

static void an_expired_order_refuses_payment_and_is_replaced(void **state)
{
    app_put("SQ2026120100000020", "alice", MC_TEST_ORG, "pending_payment", 40000);
    char oid[MC_PAY_OID_LEN + 1], next[MC_PAY_OID_LEN + 1], body[512], path[128];
    json_decref(pay("SQ2026120100000020", tok_alice, 201, oid));
    /* 30 minutes pass (by Redis's clock, as the order sees it) */
    long long now = (long long)mc_testenv_redis_time(env);
    redisReply *r = mc_testenv_redis(env, "HSET {mc}:order:%s expires %lld", oid, now);
    freeReplyObject(r);
    snprintf(path, sizeof(path), "/api/v1/orders/%s", oid);
    json_t *o = call("GET", path, tok_alice, NULL, 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "expired");
    json_decref(o);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    notice(body, sizeof(body), oid, 40000, "paid", "LATE1", now);
    expect_notice(key, body, 409, "order_expired");
    snprintf(path, sizeof(path), "/pay/sandbox/%s/confirm", oid);
    expect_err("POST", path, tok_alice, json_pack("{s:s}", "method", "unionpay"), 409,
               "order_expired");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    mc_testenv_expect_field(env, "app", "SQ2026120100000020", "state", "pending_payment");

    /* paying again makes a new order; the old one is expired for good */
    json_decref(pay("SQ2026120100000020", tok_alice, 201, next));
    assert_string_not_equal(next, oid);
    mc_testenv_expect_field(env, "order", oid, "state", "expired");
    mc_testenv_expect_field(env, "app", "SQ2026120100000020", "order", next);
    expect_notice(key, body, 409, "order_expired");
    notice(body, sizeof(body), next, 40000, "paid", "ONTIME1", now);
    expect_notice(key, body, 200, NULL);
    mc_testenv_expect_field(env, "app", "SQ2026120100000020", "state", "pending_review");
}

static void a_payment_for_a_withdrawn_application_is_refunded_at_once(void **state)
{
    app_put("SQ2026120100000030", "alice", MC_TEST_ORG, "pending_payment", 20000);
    char oid[MC_PAY_OID_LEN + 1], body[512];
    json_decref(pay("SQ2026120100000030", tok_alice, 201, oid));
    /* withdrawn (撤销) while the payer was at the cashier */
    redisReply *r = mc_testenv_redis(env, "HSET {mc}:app:SQ2026120100000030 state withdrawn");
    freeReplyObject(r);
    notice(body, sizeof(body), oid, 20000, "paid", "LATEPAY",
           (long long)mc_testenv_redis_time(env));
    expect_notice(key, body, 200, NULL);
    wait_order_state(oid, "refunded");
    mc_testenv_expect_field(env, "app", "SQ2026120100000030", "state", "withdrawn");
    mc_testenv_expect_field(env, "app", "SQ2026120100000030", "paid", "0");
    mc_testenv_expect_field(env, "order", oid, "txn", "LATEPAY");
    assert_int_equal(mc_testenv_redis_int(env, "ZCARD {mc}:refundq"), 0);
    /* the paid notice again: answered the same, no second refund */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    expect_notice(key, body, 200, NULL);
    usleep(200 * 1000);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
}

static void a_withdrawn_paid_application_is_refunded_by_the_sweep(void **state)
{
    app_put("SQ2026120100000040", "alice", MC_TEST_ORG, "pending_payment", 20000);
    char oid[MC_PAY_OID_LEN + 1], path[128], k[64], v[256], body[512], txn[80];
    json_decref(pay("SQ2026120100000040", tok_alice, 201, oid));
    snprintf(path, sizeof(path), "/pay/sandbox/%s/confirm", oid);
    json_decref(call("POST", path, tok_alice, json_pack("{s:s}", "method", "alipay"), 200));
    mc_testenv_expect_field(env, "app", "SQ2026120100000040", "state", "pending_review");
    /* withdrawn as apply.lua does it: the order refund_pending and queued,
     * and then mcertd stopped before it asked for the refund */
    redisReply *r = mc_testenv_redis(
        env, "EVAL %s 0",
        "redis.call('HSET', '{mc}:app:SQ2026120100000040', 'state', 'withdrawn') "
        "local o = redis.call('HGET', '{mc}:app:SQ2026120100000040', 'order') "
        "redis.call('HSET', '{mc}:order:' .. o, 'state', 'refund_pending') "
        "redis.call('ZADD', '{mc}:refundq', redis.call('TIME')[1], o) return 1");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    /* an mcertd that starts now sweeps the queue */
    const char *base2 = mc_testenv_second_node(env);
    wait_order_state(oid, "refunded");
    snprintf(k, sizeof(k), "{mc}:order:%s", oid);
    assert_int_equal(strncmp(mc_testenv_hget(env, k, "refund_req", v, sizeof(v)), "RF", 2), 0);
    snprintf(txn, sizeof(txn), "%s", mc_testenv_hget(env, k, "refund_txn", v, sizeof(v)));
    assert_int_equal(strncmp(txn, "SBR", 3), 0);
    assert_true(strtoll(mc_testenv_hget(env, k, "refunded_at", v, sizeof(v)), NULL, 10) > 0);
    mc_testenv_expect_field(env, "app", "SQ2026120100000040", "paid", "0");
    mc_testenv_expect_field(env, "app", "SQ2026120100000040", "state", "withdrawn");
    assert_int_equal(mc_testenv_redis_int(env, "ZCARD {mc}:refundq"), 0);
    assert_int_equal(mc_testenv_audit_count(env, "refund_request", NULL, NULL),
                     2); /* this one and the withdrawn app's */

    /* the refund notice replayed (to either node: they share the key) */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    long long amount = strtoll(mc_testenv_hget(env, k, "amount", v, sizeof(v)), NULL, 10);
    notice(body, sizeof(body), oid, amount, "refunded", txn, (long long)mc_testenv_redis_time(env));
    expect_notice(key, body, 200, NULL);
    char sig[65];
    mc_pay_sign(key, body, strlen(body), sig);
    mc_testenv_reply rep;
    post_notice(base2, "sandbox", body, sig, &rep);
    assert_int_equal(rep.status, 200);
    mc_testenv_reply_free(&rep);
    /* and a paid notice for it now: already paid, nothing changes */
    notice(body, sizeof(body), oid, amount, "paid", "AGAIN", (long long)mc_testenv_redis_time(env));
    expect_notice(key, body, 200, NULL);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_signature_is_hmac_sha256_of_the_raw_bytes),
        cmocka_unit_test(the_key_file_is_made_once_0600),
        cmocka_unit_test(paying_through_the_sandbox_makes_the_application_pending_review),
        cmocka_unit_test(the_pay_endpoint_refuses_what_cannot_be_paid),
        cmocka_unit_test(refused_notices_change_nothing_and_a_replay_answers_the_same),
        cmocka_unit_test(an_expired_order_refuses_payment_and_is_replaced),
        cmocka_unit_test(a_payment_for_a_withdrawn_application_is_refunded_at_once),
        cmocka_unit_test(a_withdrawn_paid_application_is_refunded_by_the_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
