/*
 * test_sign_hostile.c — every way a hostile phone, platform or holder can
 * lie about signing (core/PROTOCOL.md §8, with §3.2's check order and §0's
 * common rules), against a real redis-server and the real mcertd, and proof
 * that each lie gets the documented status and code and stores nothing.
 *
 * The pattern (as in test_hostile.c): take the Redis DEBUG DIGEST, send one
 * lie, assert status + code + error format (msgpack on /m/, JSON on /api/),
 * take the digest again. Two writes are legitimate and accounted for
 * exactly rather than ignored:
 *   - an API key call increments the key's per-minute counter
 *     ({mc}:rl:apikey:<id>, §8.1) once it has authenticated: the helper
 *     reads the counter before and after, asserts it moved by exactly the
 *     expected amount (0 for refusals made before authentication: §0
 *     steps 4, 5, 7), puts it back and only then compares digests;
 *   - a refused inbox request claims its nonce from the `replayed` check on
 *     (§8.4): the helper asserts that exactly that key appeared, deletes it,
 *     and compares digests.
 * Where it makes sense the honest answer is sent afterwards and succeeds:
 * the lie did not burn the request.
 *
 * Layout: one mcertd for the whole file (a group setup); each test makes
 * its own accounts and phones (unique logins) so that tests do not depend
 * on each other. The expiry checks need a request of the minimum sign ttl
 * (30 s): the group setup opens it, and the last test waits only for what
 * is left of those 30 s.
 *
 * Non-goals: the happy paths and the API key's scope/organisation/rate
 * rules (tests/test_sign.c), bind/login lies (tests/test_hostile.c), store
 * faults (tests/test_faults.c).
 */
#define _GNU_SOURCE /* memmem */
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
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "mc_cms.h"
#include "mc_crypto.h"
#include "mc_http.h"
#include "mc_testhelp.h"

#define MSGPACK_CT "application/x-msgpack"
#define JSON_CT "application/json"
#define NDOCS 3

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

/* An account bound to its own phone through the real bind flow. */
typedef mc_testenv_holder holder;

/* A sign request opened and fetched by a phone. v.sign points at si: the
 * struct must not be copied. */
typedef struct sreq {
    char sid[MC_SID_LEN + 1];
    char poll[64];
    int match;
    int64_t signing_time, expires;
    mc_session_view v;
    mc_sign_info si;
} sreq;

typedef struct fixture {
    mc_testenv *env;
    char key[80], kid[20];   /* MC_TEST_ORG, scope sign,verify: opens requests */
    char key2[80], kid2[20]; /* MC_TEST_ORG, scope sign: opened none */
    /* the expiry test: requests of ttl 30 opened by the setup */
    holder exp;
    sreq *late;              /* fetched, never answered */
    mc_buf late_body;        /* its honest approval, built before expiry */
    sreq *early;             /* approved at once */
    mc_buf early_body;       /* that approval's bytes */
} fixture;

/* The decoded outcome of one phone request (a 200 that is not a
 * {state, account}, an inbox listing, leaves state ""). */
typedef mc_testenv_preply preply;

static fixture *fx(void **state)
{
    return *state;
}

/* An account of MC_TEST_ORG (staff) with a phone of alg; bound to it when
 * bind is set. */
static void holder_new(mc_testenv *env, holder *h, const char *login, mc_alg alg, int bind)
{
    mc_testenv_holder_new(env, h, login, MC_TEST_ORG, "staff", alg);
    if (bind)
        mc_testenv_bind(env, h->ph, h->tok);
}

/* Document i's digest: a fixed function of (i, salt). */
static void doc_digest(size_t i, unsigned salt, uint8_t out[32], char hex[65])
{
    char buf[64];
    snprintf(buf, sizeof(buf), "document %zu of set %u", i, salt);
    mc_sha256(buf, strlen(buf), out);
    if (hex)
        mc_hex(out, 32, hex);
}

/* n sha256 documents as JSON. */
static json_t *docs_json(size_t n, unsigned salt)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        uint8_t d[32];
        char hex[65], name[64];
        doc_digest(i, salt, d, hex);
        snprintf(name, sizeof(name), "投标文件-%zu.pdf", i);
        json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:s}", "name", name, "size",
                                           (int)(1000 + i), "alg", "sha256", "digest", hex));
    }
    return a;
}

/* Open a sign request for account (with the API key, or with tok if key is
 * NULL) of n documents and fetch its details as a phone does (the fetch
 * needs no key). ttl 0 = default. The caller frees it. */
static sreq *open_fetch(mc_testenv *env, const char *key, const char *tok, const char *account,
                        size_t n, unsigned salt, int ttl)
{
    sreq *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    json_t *body = json_pack("{s:o, s:s}", "documents", docs_json(n, salt), "text", "第1标段");
    if (account)
        json_object_set_new(body, "account", json_string(account));
    if (ttl)
        json_object_set_new(body, "ttl", json_integer(ttl));
    int st;
    json_t *r =
        key ? mc_testenv_api_apikey(env, "POST", "/api/v1/sign-requests?qr=none", key, body, &st)
            : mc_testenv_api(env, "POST", "/api/v1/sign-requests?qr=none", tok, body, &st);
    if (st != 201) {
        char *d = json_dumps(r, 0);
        fail_msg("open: %d %s", st, d);
    }
    snprintf(s->sid, sizeof(s->sid), "%s", mc_testenv_jstr(r, "sid"));
    snprintf(s->poll, sizeof(s->poll), "%s", mc_testenv_jstr(r, "poll_secret"));
    s->match = (int)json_integer_value(json_object_get(r, "match"));
    s->signing_time = json_integer_value(json_object_get(r, "signing_time"));
    s->expires = json_integer_value(json_object_get(r, "expires"));
    json_decref(r);
    mc_phone_err pe;
    if (mc_phone_fetch_any(env->base, s->sid, &s->v, &s->si, &pe) != 0)
        fail_msg("fetch %s: %d %s %s", s->sid, pe.status, pe.code, pe.msg);
    assert_int_equal(s->si.ndocs, n);
    assert_int_equal(s->si.signing_time, s->signing_time);
    return s;
}

static void build(const mc_phone *ph, const sreq *s, mc_phone_decision d, uint32_t number,
                  const mc_phone_overrides *ov, mc_buf *body)
{
    mc_phone_err pe;
    if (mc_phone_build(ph, &s->v, d, number, ov, NULL, body, &pe) != 0)
        fail_msg("build: %s %s", pe.code, pe.msg);
}

/* ------------------------------------------------------------------ */
/* Redis: digests and the two legitimate writes                        */
/* ------------------------------------------------------------------ */

static void redis_str(mc_testenv *env, const char *key, char *out, size_t n, int *exists)
{
    redisReply *r = mc_testenv_redis(env, "GET %s", key);
    *exists = r->type == REDIS_REPLY_STRING;
    snprintf(out, n, "%s", *exists ? r->str : "");
    freeReplyObject(r);
}

/* The API key's counter: before the call. */
typedef struct counter {
    char key[64];
    char v0[32];
    int had;
} counter;

static void counter_read(mc_testenv *env, const char *kid, counter *c)
{
    snprintf(c->key, sizeof(c->key), "{mc}:rl:apikey:%s", kid);
    redis_str(env, c->key, c->v0, sizeof(c->v0), &c->had);
}

/* After the call: the counter moved by exactly `counted` (0 or 1; a new
 * minute restarts it at 1), then is put back as it was. */
static void counter_restore(mc_testenv *env, const counter *c, int counted, const char *what)
{
    char v1[32];
    int has;
    redis_str(env, c->key, v1, sizeof(v1), &has);
    long long before = c->had ? atoll(c->v0) : 0, after = has ? atoll(v1) : 0;
    if (counted ? !(after == before + 1 || after == 1) : after != before)
        fail_msg("%s: the key's counter went %lld -> %lld (want +%d)", what, before, after,
                 counted);
    if (!c->had) {
        freeReplyObject(mc_testenv_redis(env, "DEL %s", c->key));
    } else if (has) {
        freeReplyObject(mc_testenv_redis(env, "SET %s %s KEEPTTL", c->key, c->v0));
    } else {
        freeReplyObject(mc_testenv_redis(env, "SET %s %s EX 60", c->key, c->v0));
    }
}

/* ------------------------------------------------------------------ */
/* Phone requests                                                      */
/* ------------------------------------------------------------------ */

static void phone_post(mc_testenv *env, const char *sid, const mc_buf *body, preply *out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%s/response", env->base, sid);
    mc_testenv_phone_req("POST", url, body->ptr, body->len, NULL, 0, out);
}

/* Post body; exact status and code; not one bit written. */
static void expect_post_reject(mc_testenv *env, const char *sid, const mc_buf *body, int status,
                               const char *code, const char *what)
{
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r;
    phone_post(env, sid, body, &r);
    if (r.status != status || strcmp(r.code, code) != 0)
        fail_msg("%s: want %d %s, got %d %s (%s)", what, status, code, r.status, r.code, r.msg);
    mc_testenv_digest(env, after);
    if (strcmp(before, after) != 0)
        fail_msg("%s: the refused answer (%d %s) changed the data set", what, status, code);
}

/* An answer with the given lies, refused. */
static void expect_lie(mc_testenv *env, const mc_phone *ph, const sreq *s, mc_phone_decision d,
                       const mc_phone_overrides *ov, int status, const char *code,
                       const char *what)
{
    mc_buf body = {0};
    build(ph, s, d, d == MC_PHONE_APPROVE ? (uint32_t)s->match : 0, ov, &body);
    expect_post_reject(env, s->sid, &body, status, code, what);
    mc_buf_free(&body);
}

/* The honest answer is accepted (and it does write: the digest moves). */
static void expect_honest(mc_testenv *env, const mc_phone *ph, const sreq *s,
                          mc_phone_decision d, const char *account)
{
    mc_buf body = {0};
    build(ph, s, d, d == MC_PHONE_APPROVE ? (uint32_t)s->match : 0, NULL, &body);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r;
    phone_post(env, s->sid, &body, &r);
    mc_buf_free(&body);
    if (r.status != 200)
        fail_msg("honest answer refused: %d %s (%s)", r.status, r.code, r.msg);
    assert_string_equal(r.state, d == MC_PHONE_APPROVE ? "approved" : "rejected");
    assert_string_equal(r.account, d == MC_PHONE_APPROVE ? account : "");
    mc_testenv_digest(env, after);
    assert_string_not_equal(before, after);
}

/* A case's start: a staff account login of MC_TEST_ORG bound to its new
 * P-256 phone, and a request of NDOCS documents (set salt) for it opened
 * with the fixture's key and fetched by the phone. */
static sreq *case_open(fixture *f, holder *h, const char *login, unsigned salt)
{
    holder_new(f->env, h, login, MC_ALG_P256, 1);
    return open_fetch(f->env, f->key, NULL, h->login, NDOCS, salt, 0);
}

/* A case's end: what was refused left the request answerable, so the
 * honest approval goes through; frees s and h. */
static void case_close(fixture *f, holder *h, sreq *s)
{
    expect_honest(f->env, h->ph, s, MC_PHONE_APPROVE, h->login);
    free(s);
    mc_testenv_holder_free(h);
}

/* ------------------------------------------------------------------ */
/* Web requests                                                        */
/* ------------------------------------------------------------------ */

/* A web request refused with status/code, storing nothing. With an API key
 * (kid != NULL) its counter must move by `counted` and is put back first. */
static void expect_web_reject(mc_testenv *env, const char *method, const char *path,
                              const char *auth, const char *kid, int counted, const char *ctype,
                              const void *body, size_t len, int status, const char *code,
                              const char *what)
{
    char ct[96];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : JSON_CT);
    const char *h[4];
    size_t nh = 0;
    if (auth)
        h[nh++] = auth;
    if (len > 0)
        h[nh++] = ct;
    h[nh] = NULL;
    counter c;
    if (kid)
        counter_read(env, kid, &c);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    json_t *o = NULL;
    int st = mc_testenv_web_req(env, method, path, h, body, len, &o);
    if (st != status || strcmp(mc_testenv_jstr(o, "code"), code) != 0)
        fail_msg("%s: want %d %s, got %d %s (%s)", what, status, code, st,
                 mc_testenv_jstr(o, "code"), mc_testenv_jstr(o, "message"));
    json_decref(o);
    if (kid)
        counter_restore(env, &c, counted, what);
    mc_testenv_digest(env, after);
    if (strcmp(before, after) != 0)
        fail_msg("%s: the refused request (%d %s) changed the data set", what, status, code);
}

static void auth_key(char *out, size_t n, const char *key)
{
    snprintf(out, n, "Authorization: ApiKey %s", key);
}

static void auth_bearer(char *out, size_t n, const char *tok)
{
    snprintf(out, n, "Authorization: Bearer %s", tok);
}

/* ------------------------------------------------------------------ */
/* Group setup                                                         */
/* ------------------------------------------------------------------ */

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->env = mc_testenv_start(0);
    mc_testenv_org(f->env, MC_TEST_ORG2, "另一家供应商有限公司");
    mc_testenv_apikey(f->env, MC_TEST_ORG, "sign,verify", f->key, f->kid);
    mc_testenv_apikey(f->env, MC_TEST_ORG, "sign", f->key2, f->kid2);
    /* the expiry test's requests start their 30 s now */
    holder_new(f->env, &f->exp, "expiring", MC_ALG_P256, 1);
    f->late = open_fetch(f->env, f->key, NULL, "expiring", 2, 90, 30);
    f->early = open_fetch(f->env, f->key, NULL, "expiring", 2, 91, 30);
    build(f->exp.ph, f->late, MC_PHONE_APPROVE, (uint32_t)f->late->match, NULL, &f->late_body);
    build(f->exp.ph, f->early, MC_PHONE_APPROVE, (uint32_t)f->early->match, NULL,
          &f->early_body);
    preply r;
    phone_post(f->env, f->early->sid, &f->early_body, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "approved");
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    mc_testenv_holder_free(&f->exp);
    free(f->late);
    free(f->early);
    mc_buf_free(&f->late_body);
    mc_buf_free(&f->early_body);
    mc_testenv_stop(f->env);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The answer: document signatures (§8.6 step 8)                       */
/* ------------------------------------------------------------------ */

static void swapped_document_signatures_are_bad_doc_signature(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "swap", 1);
    static const size_t order[] = {1, 0};
    mc_phone_overrides ov = {.doc_sig_order = order, .doc_sig_order_len = 2};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ov, 403, "bad_doc_signature", "swapped");
    /* the last two swapped: document 1 is the first that fails */
    static const size_t order2[] = {0, 2, 1};
    mc_phone_overrides ov2 = {.doc_sig_order = order2, .doc_sig_order_len = 3};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ov2, 403, "bad_doc_signature", "1<->2");
    /* one document's signature sent for all */
    static const size_t order3[] = {0, 0, 0};
    mc_phone_overrides ov3 = {.doc_sig_order = order3, .doc_sig_order_len = 3};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ov3, 403, "bad_doc_signature", "0,0,0");
    /* the session stays answerable */
    case_close(f, &h, s);
}

static void signature_over_a_digest_or_time_not_requested_is_bad_doc_signature(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "digestlie", 2);
    uint8_t other[32];
    doc_digest(7, 99, other, NULL); /* a document nobody asked about */
    for (size_t i = 0; i < NDOCS; i++) {
        mc_phone_overrides ov = {.doc_digest = other, .doc_digest_index = i};
        char what[32];
        snprintf(what, sizeof(what), "digest of doc %zu", i);
        expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ov, 403, "bad_doc_signature", what);
    }
    /* another document of the same request */
    mc_phone_overrides ovx = {.doc_digest = s->si.docs[0].digest, .doc_digest_index = 2};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ovx, 403, "bad_doc_signature",
               "doc 0's digest as doc 2's");
    /* another signing time, a second either way */
    mc_phone_overrides ot = {.set_doc_signing_time = 1,
                             .doc_signing_time = s->signing_time + 1};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ot, 403, "bad_doc_signature", "time + 1");
    ot.doc_signing_time = s->signing_time - 1;
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ot, 403, "bad_doc_signature", "time - 1");
    /* a document signature by a key that is not the certificate's */
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    assert_non_null(k);
    uint8_t attrs[MC_CMS_ATTRS_LEN], sig[MC_SIG_MAX];
    size_t siglen;
    assert_int_equal(mc_cms_signed_attrs(s->signing_time, s->si.docs[0].digest, attrs, &err), 0);
    /* (the session signature stays the device's: only doc_sigs[0] lies) */
    mc_buf body = {0};
    build(h.ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &body);
    /* doc_sigs[0] is the first bin after the "doc_sigs" key and its array
     * header; the foreign signature replaces it in place, so it must have
     * the same DER length (ECDSA's varies by a byte or two: draw again) */
    static const uint8_t key[] = {0xa8, 'd', 'o', 'c', '_', 's', 'i', 'g', 's'};
    uint8_t *at = memmem(body.ptr, body.len, key, sizeof(key));
    assert_non_null(at);
    uint8_t *bin = at + sizeof(key) + 1; /* fixarray header */
    assert_int_equal(bin[0], 0xc4);
    int tries = 0;
    do {
        assert_int_equal(mc_sign(k, attrs, sizeof(attrs), sig, &siglen, &err), 0);
    } while (siglen != bin[1] && ++tries < 200);
    assert_int_equal(siglen, bin[1]);
    EVP_PKEY_free(k);
    memcpy(bin + 2, sig, siglen);
    expect_post_reject(f->env, s->sid, &body, 403, "bad_doc_signature", "foreign doc key");
    mc_buf_free(&body);
    case_close(f, &h, s);
}

/* §8.6 step 8: the document signatures are checked before the number, so a
 * bad one with a decoy number does not end the session; a good one with a
 * decoy number does (409 wrong_number), and the same bytes again get it
 * again. */
static void document_signatures_are_checked_before_the_number(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "decoy", 3);
    uint32_t decoy = 0;
    for (int i = 0; i < 3; i++)
        if (s->v.s.choices[i] != (uint32_t)s->match)
            decoy = s->v.s.choices[i];
    assert_true(decoy != 0);
    static const size_t order[] = {1, 0};
    mc_phone_overrides ov = {.doc_sig_order = order, .doc_sig_order_len = 2};
    mc_buf body = {0};
    build(h.ph, s, MC_PHONE_APPROVE, decoy, &ov, &body);
    expect_post_reject(f->env, s->sid, &body, 403, "bad_doc_signature", "decoy + swapped");
    mc_buf_free(&body);
    build(h.ph, s, MC_PHONE_APPROVE, decoy, NULL, &body);
    preply r;
    phone_post(f->env, s->sid, &body, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.code, "wrong_number");
    expect_post_reject(f->env, s->sid, &body, 409, "wrong_number", "decoy again");
    mc_buf_free(&body);
    /* ended: the honest answer is too late, the poll says why, no signatures */
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, NULL, 409, "session_done", "after decoy");
    int st;
    json_t *p = mc_testenv_poll(f->env, s->sid, s->poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "rejected");
    assert_string_equal(mc_testenv_jstr(p, "reason"), "wrong_number");
    assert_true(json_is_integer(json_object_get(p, "documents")));
    json_decref(p);
    free(s);
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* The answer: the session signature (§8.6 step 6)                     */
/* ------------------------------------------------------------------ */

static void session_signature_of_another_request_is_bad_signature(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "othersig", MC_ALG_P256, 1);
    sreq *a = open_fetch(f->env, f->key, NULL, h.login, NDOCS, 4, 0);
    sreq *b = open_fetch(f->env, f->key, NULL, h.login, NDOCS, 5, 0);
    mc_phone_overrides ov = {.tbs_view = &b->v};
    expect_lie(f->env, h.ph, a, MC_PHONE_APPROVE, &ov, 403, "bad_signature", "B's TBS for A");
    /* the same documents in another request: still another session */
    sreq *c = open_fetch(f->env, f->key, NULL, h.login, NDOCS, 4, 0);
    mc_phone_overrides ov2 = {.tbs_view = &c->v};
    expect_lie(f->env, h.ph, a, MC_PHONE_APPROVE, &ov2, 403, "bad_signature",
               "C's TBS (same docs) for A");
    /* and for a rejection */
    expect_lie(f->env, h.ph, a, MC_PHONE_REJECT, &ov, 403, "bad_signature", "B's TBS, reject");
    expect_honest(f->env, h.ph, a, MC_PHONE_APPROVE, h.login);
    expect_honest(f->env, h.ph, b, MC_PHONE_REJECT, h.login);
    free(a);
    free(b);
    free(c);
    mc_testenv_holder_free(&h);
}

static void tbs_without_or_with_other_documents_is_bad_signature(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "tbsdocs", 6);
    /* the 11-element TBS of §4, as for a bind or login */
    mc_phone_overrides ov = {.tbs_no_docs = 1};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ov, 403, "bad_signature", "11 elements");
    expect_lie(f->env, h.ph, s, MC_PHONE_REJECT, &ov, 403, "bad_signature",
               "11 elements, reject");
    /* other documents: one digest changed, one document left out, one
     * name, one size, another signing time */
    mc_sign_info *o = malloc(sizeof(*o));
    assert_non_null(o);
    struct {
        const char *what;
        int k;
    } lies[] = {{"a digest", 0}, {"a document fewer", 1}, {"a name", 2},
                {"a size", 3},   {"signing time", 4},    {"the order", 5}};
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        memcpy(o, &s->si, sizeof(*o));
        switch (lies[i].k) {
        case 0: o->docs[1].digest[31] ^= 1; break;
        case 1: o->ndocs = NDOCS - 1; break;
        case 2: o->docs[0].name[0] = 'X'; break;
        case 3: o->docs[2].size += 1; break;
        case 4: o->signing_time += 1; break;
        default: {
            mc_doc t = o->docs[0];
            o->docs[0] = o->docs[1];
            o->docs[1] = t;
        }
        }
        mc_phone_overrides ovs = {.tbs_sign = o};
        expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ovs, 403, "bad_signature", lies[i].what);
    }
    free(o);
    case_close(f, &h, s);
}

/* ------------------------------------------------------------------ */
/* The answer: doc_sigs' shape (§8.6 step 1 and step 8)                */
/* ------------------------------------------------------------------ */

static void doc_sigs_of_the_wrong_count_or_purpose_are_bad_field(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "docsigsn", 7);
    size_t counts[] = {NDOCS - 1, NDOCS + 1, 0, 1, MC_DOCS_MAX};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        mc_phone_overrides ov = {.set_doc_sigs_count = 1, .doc_sigs_count = counts[i]};
        char what[48];
        snprintf(what, sizeof(what), "%zu doc_sigs for %d documents", counts[i], NDOCS);
        expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ov, 400, "bad_field", what);
    }
    /* a sign answer without the key */
    mc_phone_overrides none = {.doc_sigs_key = -1};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &none, 400, "bad_field", "no doc_sigs");
    expect_lie(f->env, h.ph, s, MC_PHONE_REJECT, &none, 400, "bad_field",
               "no doc_sigs, reject");
    /* a rejection carrying signatures */
    for (size_t n = 1; n <= NDOCS; n += NDOCS - 1) {
        mc_phone_overrides rej = {.set_doc_sigs_count = 1, .doc_sigs_count = n};
        expect_lie(f->env, h.ph, s, MC_PHONE_REJECT, &rej, 400, "bad_field",
                   "rejection with doc_sigs");
    }
    /* the message says bind (no doc_sigs, as for a bind): the session's
     * purpose is sign */
    mc_phone_overrides mp = {.msg_purpose = "bind"};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &mp, 409, "purpose_mismatch", "msg bind");
    expect_honest(f->env, h.ph, s, MC_PHONE_REJECT, h.login);
    free(s);
    mc_testenv_holder_free(&h);
}

static void doc_sigs_on_a_bind_or_login_answer_are_bad_field(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "bindsigs", MC_ALG_P256, 0);
    /* a bind session with doc_sigs */
    sreq b;
    memset(&b, 0, sizeof(b));
    assert_int_equal(mc_testenv_open(f->env, h.tok, "bind", NULL, b.sid, b.poll, &b.match, NULL),
                     201);
    mc_phone_err pe;
    assert_int_equal(mc_phone_fetch(f->env->base, b.sid, &b.v, &pe), 0);
    mc_phone_overrides ov = {.doc_sigs_key = 1};
    expect_lie(f->env, h.ph, &b, MC_PHONE_APPROVE, &ov, 400, "bad_field", "bind + doc_sigs");
    mc_phone_overrides ov1 = {.doc_sigs_key = 1, .set_doc_sigs_count = 1, .doc_sigs_count = 1};
    expect_lie(f->env, h.ph, &b, MC_PHONE_APPROVE, &ov1, 400, "bad_field", "bind + 1 doc_sig");
    expect_lie(f->env, h.ph, &b, MC_PHONE_REJECT, &ov, 400, "bad_field", "bind reject + []");
    expect_honest(f->env, h.ph, &b, MC_PHONE_APPROVE, h.login);
    /* a login session with doc_sigs (now that the phone is bound) */
    sreq l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(mc_testenv_open(f->env, NULL, "login", NULL, l.sid, l.poll, &l.match, NULL),
                     201);
    assert_int_equal(mc_phone_fetch(f->env->base, l.sid, &l.v, &pe), 0);
    expect_lie(f->env, h.ph, &l, MC_PHONE_APPROVE, &ov, 400, "bad_field", "login + doc_sigs");
    expect_honest(f->env, h.ph, &l, MC_PHONE_APPROVE, h.login);
    mc_testenv_holder_free(&h);
}

/* A sign answer cut at every length (0 .. len - 1: the doc_sigs array is
 * the last key, so most cuts fall inside it) is bad_msgpack; doc_sigs
 * with one element a str instead of a bin (the same bytes, so a decoder
 * that let it through would verify it) is bad_field. Nothing is stored and
 * the honest answer still succeeds. */
static void a_sign_answer_cut_short_or_with_a_non_bin_doc_sig_is_refused(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "cutsign", 14);
    mc_buf body = {0};
    build(h.ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &body);
    char url[256], before[41], after[41];
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%s/response", f->env->base, s->sid);
    mc_testenv_digest(f->env, before);
    for (size_t n = 0; n < body.len; n++) {
        preply r;
        mc_testenv_phone_req("POST", url, body.ptr, n, NULL, 0, &r);
        if (r.status != 400 || strcmp(r.code, "bad_msgpack") != 0)
            fail_msg("sign answer cut to %zu of %zu bytes: %d %s", n, body.len, r.status,
                     r.code);
    }
    mc_testenv_digest(f->env, after);
    if (strcmp(before, after) != 0)
        fail_msg("a truncated sign answer changed the data set");
    /* doc_sigs: "doc_sigs" (fixstr 8), a fixarray of NDOCS bin8s */
    static const uint8_t key[] = {0xa8, 'd', 'o', 'c', '_', 's', 'i', 'g', 's'};
    const uint8_t *at = memmem(body.ptr, body.len, key, sizeof(key));
    assert_non_null(at);
    size_t arr = (size_t)(at - body.ptr) + sizeof(key);
    assert_int_equal(body.ptr[arr], 0x90 | NDOCS);
    static const size_t which[] = {0, NDOCS - 1};
    for (size_t w = 0; w < sizeof(which) / sizeof(which[0]); w++) {
        mc_buf lie = {0};
        mc_buf_append(&lie, body.ptr, body.len);
        size_t el = arr + 1;
        for (size_t i = 0; i < which[w]; i++) {
            assert_int_equal(lie.ptr[el], 0xc4);
            el += 2 + lie.ptr[el + 1];
        }
        assert_int_equal(lie.ptr[el], 0xc4);
        lie.ptr[el] = 0xd9; /* str8: same length byte, same bytes */
        char what[48];
        snprintf(what, sizeof(what), "doc_sigs[%zu] a str", which[w]);
        expect_post_reject(f->env, s->sid, &lie, 400, "bad_field", what);
        mc_buf_free(&lie);
    }
    mc_buf_free(&body);
    case_close(f, &h, s);
}

/* ------------------------------------------------------------------ */
/* The answer: who may answer (§8.6 steps 4, 6a)                       */
/* ------------------------------------------------------------------ */

static void certificate_revoked_between_request_and_answer_is_cert_revoked(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "revoked", 8);
    mc_buf approve = {0}, reject = {0};
    build(h.ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &approve);
    build(h.ph, s, MC_PHONE_REJECT, 0, NULL, &reject);
    /* revocation also unbinds: revoked comes first (§3.2 step 6a) */
    assert_int_equal(mc_testenv_ctl(f->env, "revoke --fp %s >/dev/null", h.fp), 0);
    expect_post_reject(f->env, s->sid, &approve, 403, "cert_revoked", "approve after revoke");
    expect_post_reject(f->env, s->sid, &reject, 403, "cert_revoked", "reject after revoke");
    mc_buf_free(&approve);
    mc_buf_free(&reject);
    /* nothing was signed: the platform sees it still open */
    int st;
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/sign-requests/%s", s->sid);
    json_t *p = mc_testenv_api_apikey(f->env, "GET", path, f->key, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "scanned");
    json_decref(p);
    free(s);
    mc_testenv_holder_free(&h);
}

static void certificate_unbound_or_bound_to_another_account_is_not_bound(void **state)
{
    fixture *f = fx(state);
    holder a, b, u;
    holder_new(f->env, &a, "signer", MC_ALG_P256, 1);
    holder_new(f->env, &b, "neighbour", MC_ALG_P256, 1);
    holder_new(f->env, &u, "loose", MC_ALG_P256, 0); /* never recorded */
    sreq *s = open_fetch(f->env, f->key, NULL, a.login, NDOCS, 9, 0);
    /* b's phone (same organisation, bound to b) answers a's request, with
     * its own chain and an honest signature of its own */
    expect_lie(f->env, b.ph, s, MC_PHONE_APPROVE, NULL, 404, "not_bound", "b approves");
    expect_lie(f->env, b.ph, s, MC_PHONE_REJECT, NULL, 404, "not_bound", "b rejects");
    expect_lie(f->env, u.ph, s, MC_PHONE_APPROVE, NULL, 404, "not_bound", "unrecorded");
    expect_honest(f->env, a.ph, s, MC_PHONE_APPROVE, a.login);
    /* a's own certificate after a unbinds it between request and answer */
    sreq *t = open_fetch(f->env, f->key, NULL, a.login, NDOCS, 10, 0);
    int st;
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/bindings/%s", a.login);
    json_decref(mc_testenv_api(f->env, "DELETE", path, a.tok, NULL, &st));
    assert_int_equal(st, 200);
    expect_lie(f->env, a.ph, t, MC_PHONE_APPROVE, NULL, 404, "not_bound", "after unbind");
    free(s);
    free(t);
    mc_testenv_holder_free(&a);
    mc_testenv_holder_free(&b);
    mc_testenv_holder_free(&u);
}

static void certificate_of_the_other_curve_is_alg_mismatch(void **state)
{
    fixture *f = fx(state);
    holder h, sm;
    holder_new(f->env, &h, "curvep", MC_ALG_P256, 1);
    holder_new(f->env, &sm, "curvesm", MC_ALG_SM2, 1);
    /* a sha256 request answered by an SM2 certificate */
    sreq *s = open_fetch(f->env, f->key, NULL, h.login, NDOCS, 11, 0);
    expect_lie(f->env, sm.ph, s, MC_PHONE_APPROVE, NULL, 409, "alg_mismatch", "SM2 on sha256");
    expect_lie(f->env, sm.ph, s, MC_PHONE_REJECT, NULL, 409, "alg_mismatch",
               "SM2 rejects sha256");
    expect_honest(f->env, h.ph, s, MC_PHONE_APPROVE, h.login);
    /* an sm3 request answered by a P-256 certificate */
    json_t *docs = json_array();
    uint8_t d[32];
    char hex[65];
    doc_digest(0, 12, d, hex);
    json_array_append_new(docs, json_pack("{s:s, s:i, s:s, s:s}", "name", "a.pdf", "size", 1,
                                          "alg", "sm3", "digest", hex));
    int st;
    json_t *r =
        mc_testenv_api_apikey(f->env, "POST", "/api/v1/sign-requests?qr=none", f->key,
                              json_pack("{s:s, s:o}", "account", sm.login, "documents", docs), &st);
    assert_int_equal(st, 201);
    sreq *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->sid, sizeof(t->sid), "%s", mc_testenv_jstr(r, "sid"));
    t->match = (int)json_integer_value(json_object_get(r, "match"));
    json_decref(r);
    mc_phone_err pe;
    assert_int_equal(mc_phone_fetch_any(f->env->base, t->sid, &t->v, &t->si, &pe), 0);
    expect_lie(f->env, h.ph, t, MC_PHONE_APPROVE, NULL, 409, "alg_mismatch", "P-256 on sm3");
    expect_honest(f->env, sm.ph, t, MC_PHONE_APPROVE, sm.login);
    free(s);
    free(t);
    mc_testenv_holder_free(&h);
    mc_testenv_holder_free(&sm);
}

/* ------------------------------------------------------------------ */
/* Answered twice, and races (§3.2 idempotence)                        */
/* ------------------------------------------------------------------ */

static void the_same_answer_again_gets_the_first_result_another_is_session_done(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "twice", 13);
    mc_buf body = {0};
    build(h.ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &body);
    preply r;
    phone_post(f->env, s->sid, &body, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "approved");
    /* the very same bytes: the same 200, nothing written */
    for (int i = 0; i < 2; i++) {
        char before[41], after[41];
        mc_testenv_digest(f->env, before);
        preply r2;
        phone_post(f->env, s->sid, &body, &r2);
        assert_int_equal(r2.status, 200);
        assert_string_equal(r2.state, "approved");
        assert_string_equal(r2.account, h.login);
        mc_testenv_digest(f->env, after);
        assert_string_equal(before, after);
    }
    mc_buf_free(&body);
    /* a new signature over the same TBS is another message */
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, NULL, 409, "session_done", "re-signed");
    expect_lie(f->env, h.ph, s, MC_PHONE_REJECT, NULL, 409, "session_done", "reject after");
    /* and a lie after the answer is session_done too (step 3 before 6) */
    mc_phone_overrides ov = {.tbs_no_docs = 1};
    expect_lie(f->env, h.ph, s, MC_PHONE_APPROVE, &ov, 409, "session_done", "lie after");
    free(s);
    mc_testenv_holder_free(&h);
}

/* Two children post at the same instant; returns their exit codes. */
static void race(mc_testenv *env, const char *sid, const mc_buf *b1, const mc_buf *b2, int *e1,
                 int *e2)
{
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t p1 = mc_testenv_racer(env, sid, b1, go);
    pid_t p2 = mc_testenv_racer(env, sid, b2, go);
    close(go[0]);
    usleep(100 * 1000); /* both children blocked in read() */
    close(go[1]);       /* ... and released at once */
    int w1, w2;
    assert_int_equal(waitpid(p1, &w1, 0), p1);
    assert_int_equal(waitpid(p2, &w2, 0), p2);
    assert_true(WIFEXITED(w1) && WIFEXITED(w2));
    *e1 = WEXITSTATUS(w1);
    *e2 = WEXITSTATUS(w2);
}

static void racing_answers_exactly_one_wins(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "racer", MC_ALG_P256, 1);
    for (int round = 0; round < 3; round++) {
        sreq *s = open_fetch(f->env, f->key, NULL, h.login, NDOCS, 20 + (unsigned)round, 0);
        mc_buf b1 = {0}, b2 = {0};
        build(h.ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &b1);
        /* round 2: an approval against a rejection */
        build(h.ph, s, round == 2 ? MC_PHONE_REJECT : MC_PHONE_APPROVE,
              round == 2 ? 0 : (uint32_t)s->match, NULL, &b2);
        assert_false(b1.len == b2.len && memcmp(b1.ptr, b2.ptr, b1.len) == 0);
        long long ok0 = mc_testenv_audit_count(f->env, "sign_approve", NULL, NULL);
        long long rj0 = mc_testenv_audit_count(f->env, "sign_reject", NULL, NULL);
        int e1, e2;
        race(f->env, s->sid, &b1, &b2, &e1, &e2);
        if (round < 2) {
            if (!((e1 == 0 && e2 == 1) || (e1 == 1 && e2 == 0)))
                fail_msg("round %d: racers exited %d and %d (want one 200 approved, one 409 "
                         "session_done)", round, e1, e2);
            assert_int_equal(mc_testenv_audit_count(f->env, "sign_approve", NULL, NULL) - ok0, 1);
        } else {
            /* the rejecter exits 4 on its 200 rejected (not "approved") */
            if (!((e1 == 0 && e2 == 1) || (e1 == 1 && e2 == 4)))
                fail_msg("round 2: racers exited %d and %d", e1, e2);
            assert_int_equal(mc_testenv_audit_count(f->env, "sign_approve", NULL, NULL) - ok0,
                             e1 == 0);
            assert_int_equal(mc_testenv_audit_count(f->env, "sign_reject", NULL, NULL) - rj0,
                             e1 == 1);
        }
        mc_buf_free(&b1);
        mc_buf_free(&b2);
        free(s);
    }
    /* two identical answers racing: both get the first result */
    sreq *s = open_fetch(f->env, f->key, NULL, h.login, NDOCS, 23, 0);
    mc_buf b = {0};
    build(h.ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &b);
    long long ok0 = mc_testenv_audit_count(f->env, "sign_approve", NULL, NULL);
    int e1, e2;
    race(f->env, s->sid, &b, &b, &e1, &e2);
    if (e1 != 0 || e2 != 0)
        fail_msg("identical racers exited %d and %d (want both 200 approved)", e1, e2);
    assert_int_equal(mc_testenv_audit_count(f->env, "sign_approve", NULL, NULL) - ok0, 1);
    mc_buf_free(&b);
    free(s);
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/sign-requests: hostile bodies (§8.2)                   */
/* ------------------------------------------------------------------ */

#define GOOD_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define DOC(extra) "{\"name\":\"a.pdf\",\"size\":1,\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"" extra "}"

typedef struct body_case {
    const char *what;
    const char *json; /* with %s for the account where it is named */
    int status;
    const char *code;
} body_case;

/* tmpl with its first "@@" replaced by arg, into out (n bytes). */
static void subst(char *out, size_t n, const char *tmpl, const char *arg)
{
    const char *at = strstr(tmpl, "@@");
    if (at == NULL)
        snprintf(out, n, "%s", tmpl);
    else
        snprintf(out, n, "%.*s%s%s", (int)(at - tmpl), tmpl, arg, at + 2);
}

static void open_reject(fixture *f, const char *path, const char *body, size_t len,
                        const char *ctype, int counted, int status, const char *code,
                        const char *what)
{
    char auth[120];
    auth_key(auth, sizeof(auth), f->key);
    expect_web_reject(f->env, "POST", path, auth, f->kid, counted, ctype, body, len, status, code,
                      what);
}

/* documents: n copies of DOC("") joined, with prefix/suffix around */
static char *many_docs(size_t n, const char *account, const char *after)
{
    size_t cap = 256 + n * (sizeof(DOC("")) + 1) + strlen(after);
    char *s = malloc(cap);
    assert_non_null(s);
    size_t k = (size_t)snprintf(s, cap, "{\"account\":\"%s\",\"documents\":[", account);
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s" DOC(""), i ? "," : "");
    snprintf(s + k, cap - k, "]%s}", after);
    return s;
}

static void hostile_sign_request_bodies_are_refused_and_store_nothing(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "bodies", MC_ALG_P256, 1);
    char n256[300], t513[600];
    memset(n256, 'n', 256);
    n256[256] = '\0';
    memset(t513, 't', 513);
    t513[513] = '\0';
    char big_name[600];
    snprintf(big_name, sizeof(big_name),
             "{\"name\":\"%s\",\"size\":1,\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"}", n256);
    const body_case cases[] = {
        /* the top level */
        {"unknown field", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"x\":1}", 400,
         "bad_field"},
        {"account missing", "{\"documents\":[" DOC("") "]}", 400, "bad_field"},
        {"account a number", "{\"account\":5,\"documents\":[" DOC("") "]}", 400,
         "bad_field"},
        {"account 65 bytes",
         "{\"account\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
         "\"documents\":[" DOC("") "]}",
         400, "bad_field"},
        {"account not a login", "{\"account\":\"Bad Name!\",\"documents\":[" DOC("") "]}", 400,
         "bad_field"},
        {"documents missing", "{\"account\":\"@@\"}", 400, "bad_field"},
        {"documents empty", "{\"account\":\"@@\",\"documents\":[]}", 400, "bad_field"},
        {"documents an object", "{\"account\":\"@@\",\"documents\":{}}", 400, "bad_field"},
        {"documents a string", "{\"account\":\"@@\",\"documents\":\"a.pdf\"}", 400, "bad_field"},
        {"documents null", "{\"account\":\"@@\",\"documents\":null}", 400, "bad_field"},
        {"element a number", "{\"account\":\"@@\",\"documents\":[1]}", 400, "bad_field"},
        {"element an array", "{\"account\":\"@@\",\"documents\":[[\"a.pdf\",1]]}", 400,
         "bad_field"},
        {"second element not an object",
         "{\"account\":\"@@\",\"documents\":[" DOC("") ",\"b\"]}", 400, "bad_field"},
        /* a document */
        {"extra key", "{\"account\":\"@@\",\"documents\":[" DOC(",\"mime\":\"pdf\"") "]}", 400,
         "bad_field"},
        {"name missing",
         "{\"account\":\"@@\",\"documents\":[{\"size\":1,\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX
         "\"}]}",
         400, "bad_field"},
        {"size missing",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX
         "\"}]}",
         400, "bad_field"},
        {"alg missing",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"digest\":\"" GOOD_HEX
         "\"}]}",
         400, "bad_field"},
        {"digest missing",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\"}]}", 400,
         "bad_field"},
        {"name empty",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"\",\"size\":1,\"alg\":\"sha256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"name 256 bytes", NULL, 400, "bad_field"}, /* built below */
        {"name a number",
         "{\"account\":\"@@\",\"documents\":[{\"name\":7,\"size\":1,\"alg\":\"sha256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"name with U+0001",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\\u0001b\",\"size\":1,\"alg\":"
         "\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"name with a tab",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\\tb\",\"size\":1,\"alg\":"
         "\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"name with a newline",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\\nb\",\"size\":1,\"alg\":"
         "\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"name with U+001F",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"\\u001f\",\"size\":1,\"alg\":"
         "\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"name with DEL",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\\u007f\",\"size\":1,\"alg\":"
         "\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"size -1",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":-1,\"alg\":\"sha256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"size 2^53",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":9007199254740992,\"alg\":"
         "\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"size 2^63-1",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":9223372036854775807,"
         "\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"size a string",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":\"1\",\"alg\":\"sha256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"size 1.5",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1.5,\"alg\":\"sha256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"size 1.0",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1.0,\"alg\":\"sha256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"size null",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":null,\"alg\":\"sha256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"alg md5",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"md5\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"alg SHA256",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"SHA256\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"alg sha256 with a NUL-free suffix",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha2567\","
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"alg a number",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":256,"
         "\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"mixed algs",
         "{\"account\":\"@@\",\"documents\":[" DOC("") ",{\"name\":\"b\",\"size\":1,\"alg\":"
         "\"sm3\",\"digest\":\"" GOOD_HEX "\"}]}",
         400, "bad_field"},
        {"digest 63 hex",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\","
         "\"digest\":\"0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}",
         400, "bad_digest"},
        {"digest 65 hex",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\","
         "\"digest\":\"0" GOOD_HEX "\"}]}",
         400, "bad_digest"},
        {"digest not hex",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\","
         "\"digest\":\"g0112233445566778899aabbccddeeff00112233445566778899aabbccddeef\"}]}",
         400, "bad_digest"},
        {"digest empty",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\","
         "\"digest\":\"\"}]}",
         400, "bad_digest"},
        {"digest 0x-prefixed",
         "{\"account\":\"@@\",\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\","
         "\"digest\":\"0x112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}",
         400, "bad_digest"},
        /* text and ttl */
        {"text 513 bytes", NULL, 400, "bad_field"}, /* built below */
        {"text with U+0007",
         "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"text\":\"bid\\u0007\"}", 400,
         "bad_field"},
        {"text a number", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"text\":5}", 400,
         "bad_field"},
        {"ttl 29", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"ttl\":29}", 400,
         "bad_field"},
        {"ttl 86401", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"ttl\":86401}", 400,
         "bad_field"},
        {"ttl 0", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"ttl\":0}", 400, "bad_field"},
        {"ttl -300", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"ttl\":-300}", 400,
         "bad_field"},
        {"ttl \"300\"", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"ttl\":\"300\"}", 400,
         "bad_field"},
        {"ttl 300.5", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"ttl\":300.5}", 400,
         "bad_field"},
        {"ttl null", "{\"account\":\"@@\",\"documents\":[" DOC("") "],\"ttl\":null}", 400,
         "bad_field"},
        /* the JSON itself (§0 step 7, before authentication) */
        {"malformed JSON", "{\"account\":\"@@\",\"documents\":[", 400, "bad_json"},
        {"duplicate key",
         "{\"account\":\"@@\",\"account\":\"x\",\"documents\":[" DOC("") "]}", 400, "bad_json"},
        {"an array", "[{\"account\":\"@@\"}]", 400, "bad_json"},
        {"trailing garbage", "{\"account\":\"@@\",\"documents\":[" DOC("") "]}}", 400,
         "bad_json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[2048];
        if (strcmp(cases[i].what, "name 256 bytes") == 0)
            snprintf(body, sizeof(body), "{\"account\":\"%s\",\"documents\":[%s]}", h.login,
                     big_name);
        else if (strcmp(cases[i].what, "text 513 bytes") == 0)
            snprintf(body, sizeof(body),
                     "{\"account\":\"%s\",\"documents\":[" DOC("") "],\"text\":\"%s\"}", h.login,
                     t513);
        else
            subst(body, sizeof(body), cases[i].json, h.login);
        int counted = strcmp(cases[i].code, "bad_json") != 0;
        open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, counted,
                    cases[i].status, cases[i].code, cases[i].what);
    }
    /* 33 documents */
    char *b33 = many_docs(33, h.login, "");
    open_reject(f, "/api/v1/sign-requests", b33, strlen(b33), NULL, 1, 400,
                "too_many_documents", "33 documents");
    free(b33);
    /* a body over 32768 bytes: 413 before anything is read as JSON */
    char *big = malloc(40000);
    assert_non_null(big);
    int k = snprintf(big, 40000, "{\"account\":\"%s\",\"documents\":[" DOC("") "],\"text\":\"",
                     h.login);
    memset(big + k, 'x', 32769 - (size_t)k - 2);
    memcpy(big + 32769 - 2, "\"}", 2);
    open_reject(f, "/api/v1/sign-requests", big, 32769, NULL, 0, 413, "too_large",
                "32769 bytes");
    free(big);
    /* the wrong content type, and none */
    char ok[512];
    snprintf(ok, sizeof(ok), "{\"account\":\"%s\",\"documents\":[" DOC("") "]}", h.login);
    open_reject(f, "/api/v1/sign-requests", ok, strlen(ok), "text/plain", 0, 415,
                "unsupported_media_type", "text/plain");
    open_reject(f, "/api/v1/sign-requests", ok, strlen(ok), "application/x-msgpack", 0, 415,
                "unsupported_media_type", "msgpack");
    open_reject(f, "/api/v1/sign-requests", NULL, 0, NULL, 0, 400, "bad_json", "no body");
    /* a bad qr query */
    open_reject(f, "/api/v1/sign-requests?qr=gif", ok, strlen(ok), NULL, 1, 400, "bad_query",
                "qr=gif");
    /* the holder's own token: the same rules, no counter */
    char bearer[300];
    auth_bearer(bearer, sizeof(bearer), h.tok);
    char tb[512];
    snprintf(tb, sizeof(tb), "{\"documents\":[" DOC("") "],\"ttl\":29}");
    expect_web_reject(f->env, "POST", "/api/v1/sign-requests", bearer, NULL, 0, NULL, tb,
                      strlen(tb), 400, "bad_field", "token, ttl 29");
    snprintf(tb, sizeof(tb), "{\"documents\":[{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\","
                             "\"digest\":\"abc\"}]}");
    expect_web_reject(f->env, "POST", "/api/v1/sign-requests", bearer, NULL, 0, NULL, tb,
                      strlen(tb), 400, "bad_digest", "token, bad digest");
    mc_testenv_holder_free(&h);
}

/* §8.2 "Errors, in order": each document in turn (bad_field and bad_digest
 * as they come), the top-level fields first, text and ttl after every
 * document, qr after those, the login name's shape last. */
static void sign_request_errors_come_in_the_documented_order(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "order", MC_ALG_P256, 1);
    const char *bad_digest_doc =
        "{\"name\":\"a\",\"size\":1,\"alg\":\"sha256\",\"digest\":\"xyz\"}";
    const char *bad_name_doc =
        "{\"name\":\"\",\"size\":1,\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"}";
    struct {
        const char *what;
        const char *path;
        char body[1024];
        const char *code;
    } c[6];
    memset(c, 0, sizeof(c));
    c[0].what = "doc 0 bad digest, doc 1 bad name";
    snprintf(c[0].body, sizeof(c[0].body), "{\"account\":\"%s\",\"documents\":[%s,%s]}", h.login,
             bad_digest_doc, bad_name_doc);
    c[0].code = "bad_digest";
    c[1].what = "doc 0 bad name, doc 1 bad digest";
    snprintf(c[1].body, sizeof(c[1].body), "{\"account\":\"%s\",\"documents\":[%s,%s]}", h.login,
             bad_name_doc, bad_digest_doc);
    c[1].code = "bad_field";
    c[2].what = "bad digest and ttl 29";
    snprintf(c[2].body, sizeof(c[2].body), "{\"account\":\"%s\",\"documents\":[%s],\"ttl\":29}",
             h.login, bad_digest_doc);
    c[2].code = "bad_digest";
    c[3].what = "text with a control character and qr=gif";
    snprintf(c[3].body, sizeof(c[3].body),
             "{\"account\":\"%s\",\"documents\":[" DOC("") "],\"text\":\"\\u0001\"}", h.login);
    c[3].path = "/api/v1/sign-requests?qr=gif";
    c[3].code = "bad_field";
    c[4].what = "qr=gif and a bad login name";
    snprintf(c[4].body, sizeof(c[4].body), "{\"account\":\"Bad Name!\",\"documents\":[" DOC("") "]}");
    c[4].path = "/api/v1/sign-requests?qr=gif";
    c[4].code = "bad_query";
    c[5].what = "a bad login name and a bad digest";
    snprintf(c[5].body, sizeof(c[5].body), "{\"account\":\"Bad Name!\",\"documents\":[%s]}",
             bad_digest_doc);
    c[5].code = "bad_digest";
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        open_reject(f, c[i].path ? c[i].path : "/api/v1/sign-requests", c[i].body,
                    strlen(c[i].body), NULL, 1, 400, c[i].code, c[i].what);
    /* more than 32 documents, and a bad text: too_many_documents first;
     * an unknown field before both */
    char *b = many_docs(33, h.login, ",\"text\":\"\\u0001\"");
    open_reject(f, "/api/v1/sign-requests", b, strlen(b), NULL, 1, 400, "too_many_documents",
                "33 documents and a bad text");
    free(b);
    b = many_docs(33, h.login, ",\"extra\":1");
    open_reject(f, "/api/v1/sign-requests", b, strlen(b), NULL, 1, 400, "bad_field",
                "33 documents and an unknown field");
    free(b);
    /* refusals of the records come after the body's: a body error for an
     * account of another organisation, or one that does not exist */
    char body[512];
    snprintf(body, sizeof(body), "{\"account\":\"nobody\",\"documents\":[%s]}", bad_digest_doc);
    open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, 1, 400, "bad_digest",
                "no such account, bad digest");
    snprintf(body, sizeof(body), "{\"account\":\"nobody\",\"documents\":[" DOC("") "]}");
    open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, 1, 404, "not_found",
                "no such account");
    /* the key of another organisation: not_permitted after the body */
    mc_testenv_holder_free(&h);
}

/* Raw bytes that are not UTF-8 are not JSON text (RFC 8259 §8.1): §0
 * step 7, bad_json, before authentication (not counted). */
static void a_name_of_raw_invalid_utf8_is_bad_json(void **state)
{
    fixture *f = fx(state);
    static const char *const names[] = {"a\xff\xfe.pdf", "a\xc0\xaf.pdf", "\xed\xa0\x80.pdf",
                                        "a\xe6\x8a.pdf"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"account\":\"expiring\",\"documents\":[{\"name\":\"%s\",\"size\":1,"
                 "\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}",
                 names[i]);
        char what[32];
        snprintf(what, sizeof(what), "raw invalid UTF-8 #%zu", i);
        open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, 0, 400, "bad_json",
                    what);
    }
}

/* §0 rule 7: a JSON string holding the escape of a NUL (\u0000) or of a
 * lone surrogate (\ud800: grammatical, but no UTF-8 can hold it, RFC 8259
 * §8.2) is no text the server takes: 400 bad_json, before the API key is
 * looked at (nothing counted). */
static void escaped_nul_and_lone_surrogates_are_bad_json(void **state)
{
    fixture *f = fx(state);
    const char *body = "{\"account\":\"expiring\",\"documents\":[{\"name\":\"a\\u0000b\","
                       "\"size\":1,\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}";
    open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, 0, 400, "bad_json",
                "name with \\u0000");
    body = "{\"account\":\"expiring\",\"documents\":[" DOC("") "],\"text\":\"a\\u0000\"}";
    open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, 0, 400, "bad_json",
                "text with \\u0000");
    body = "{\"account\":\"expiring\",\"documents\":[{\"name\":\"a\\ud800b\","
           "\"size\":1,\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}";
    open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, 0, 400, "bad_json",
                "name with \\ud800");
    body = "{\"account\":\"expiring\",\"documents\":[{\"name\":\"a\\udc00b\","
           "\"size\":1,\"alg\":\"sha256\",\"digest\":\"" GOOD_HEX "\"}]}";
    open_reject(f, "/api/v1/sign-requests", body, strlen(body), NULL, 0, 400, "bad_json",
                "name with \\udc00");
}

/* The limits themselves are accepted: the refusals above are not vacuous. */
static void the_limits_themselves_are_accepted(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "limits", MC_ALG_P256, 1);
    char n255[256], t512[513];
    memset(n255, 'n', 255);
    n255[255] = '\0';
    memset(t512, 't', 512);
    t512[512] = '\0';
    const char *upper = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";
    json_t *docs = json_array();
    json_array_append_new(docs, json_pack("{s:s, s:I, s:s, s:s}", "name", n255, "size",
                                          (json_int_t)9007199254740991LL, "alg", "sha256",
                                          "digest", upper));
    json_array_append_new(docs, json_pack("{s:s, s:i, s:s, s:s}", "name", "零.pdf", "size", 0,
                                          "alg", "sha256", "digest", GOOD_HEX));
    int ttls[] = {30, 86400};
    for (int i = 0; i < 2; i++) {
        int st;
        json_t *r =
            mc_testenv_api_apikey(f->env, "POST", "/api/v1/sign-requests?qr=none", f->key,
                                  json_pack("{s:s, s:O, s:s, s:i}", "account", h.login, "documents",
                                            docs, "text", t512, "ttl", ttls[i]),
                                  &st);
        if (st != 201)
            fail_msg("limits (ttl %d): %d %s", ttls[i], st, mc_testenv_jstr(r, "code"));
        assert_int_equal(json_integer_value(json_object_get(r, "ttl")), ttls[i]);
        json_decref(r);
    }
    json_decref(docs);
    /* 32 documents */
    char *b = many_docs(32, h.login, "");
    char auth[120];
    auth_key(auth, sizeof(auth), f->key);
    const char *hd[] = {auth, "Content-Type: " JSON_CT, NULL};
    json_t *o = NULL;
    assert_int_equal(
        mc_testenv_web_req(f->env, "POST", "/api/v1/sign-requests?qr=none", hd, b, strlen(b), &o),
        201);
    assert_int_equal(json_integer_value(json_object_get(o, "documents")), 32);
    json_decref(o);
    free(b);
    /* the phone sees the 255-byte name and the upper-case digest as bytes */
    mc_inbox_entry e[8];
    size_t n;
    int64_t now;
    mc_phone_err pe;
    assert_int_equal(mc_phone_inbox(h.ph, f->env->base, e, 8, &n, &now, NULL, &pe), 0);
    assert_int_equal(n, 3);
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* Collection (§8.5)                                                   */
/* ------------------------------------------------------------------ */

static void collecting_without_the_right_credential_is_bad_poll_secret(void **state)
{
    fixture *f = fx(state);
    holder h;
    sreq *s = case_open(f, &h, "collect", 30);
    sreq *o = open_fetch(f->env, f->key, NULL, h.login, 1, 31, 0);
    expect_honest(f->env, h.ph, s, MC_PHONE_APPROVE, h.login);
    char path[96], spath[96], hdr[128], k2[120], k1[120];
    snprintf(path, sizeof(path), "/api/v1/sign-requests/%s", s->sid);
    snprintf(spath, sizeof(spath), "/api/v1/sessions/%s", s->sid);
    auth_key(k1, sizeof(k1), f->key);
    auth_key(k2, sizeof(k2), f->key2);
    /* a wrong poll secret, on both paths */
    char wrong[64];
    snprintf(wrong, sizeof(wrong), "%s", s->poll);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    snprintf(hdr, sizeof(hdr), "X-Poll-Secret: %s", wrong);
    expect_web_reject(f->env, "GET", path, hdr, NULL, 0, NULL, NULL, 0, 403, "bad_poll_secret",
                      "wrong secret, sign-requests");
    expect_web_reject(f->env, "GET", spath, hdr, NULL, 0, NULL, NULL, 0, 403, "bad_poll_secret",
                      "wrong secret, sessions");
    /* another request's poll secret */
    snprintf(hdr, sizeof(hdr), "X-Poll-Secret: %s", o->poll);
    expect_web_reject(f->env, "GET", path, hdr, NULL, 0, NULL, NULL, 0, 403, "bad_poll_secret",
                      "another request's secret");
    /* the API key of the same organisation that did not open it */
    expect_web_reject(f->env, "GET", path, k2, f->kid2, 1, NULL, NULL, 0, 403, "bad_poll_secret",
                      "another key");
    /* a holder-opened request, collected with an API key */
    sreq *w = open_fetch(f->env, NULL, h.tok, NULL, 1, 32, 0);
    expect_honest(f->env, h.ph, w, MC_PHONE_APPROVE, h.login);
    char wpath[96];
    snprintf(wpath, sizeof(wpath), "/api/v1/sign-requests/%s", w->sid);
    expect_web_reject(f->env, "GET", wpath, k1, f->kid, 1, NULL, NULL, 0, 403, "bad_poll_secret",
                      "holder's request, platform key");
    expect_web_reject(f->env, "GET", wpath, k2, f->kid2, 1, NULL, NULL, 0, 403,
                      "bad_poll_secret", "holder's request, other key");
    /* the right ones collect, and that is audited (the digest does move) */
    char before[41], after[41];
    mc_testenv_digest(f->env, before);
    int st;
    json_t *p = mc_testenv_api_apikey(f->env, "GET", path, f->key, NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(p, "documents")), NDOCS);
    json_decref(p);
    p = mc_testenv_poll(f->env, w->sid, w->poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(p, "documents")), 1);
    json_decref(p);
    mc_testenv_digest(f->env, after);
    assert_string_not_equal(before, after);
    free(s);
    free(o);
    free(w);
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/verify (§8.8)                                          */
/* ------------------------------------------------------------------ */

/* The DER of an approved request's first CMS (collected with the key). */
static void collect_cms(fixture *f, const sreq *s, mc_buf *der)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/sign-requests/%s", s->sid);
    int st;
    json_t *p = mc_testenv_api_apikey(f->env, "GET", path, f->key, NULL, &st);
    assert_int_equal(st, 200);
    const char *b64 = mc_testenv_jstr(json_array_get(json_object_get(p, "documents"), 0), "cms");
    size_t n = strlen(b64);
    assert_true(n > 100 && n % 4 == 0);
    mc_buf_reserve(der, n);
    int len = EVP_DecodeBlock(der->ptr, (const unsigned char *)b64, (int)n);
    assert_true(len > 0);
    der->len = (size_t)len - (b64[n - 1] == '=') - (b64[n - 2] == '=');
    json_decref(p);
}

/* POST /api/v1/verify {cms, digest} with the token; 200 required. */
static json_t *verify(fixture *f, const char *tok, const uint8_t *der, size_t len,
                      const uint8_t digest[32])
{
    char *b64 = mc_base64(der, len);
    char hex[65];
    mc_hex(digest, 32, hex);
    int st;
    json_t *r = mc_testenv_api(f->env, "POST", "/api/v1/verify", tok,
                               json_pack("{s:s, s:s}", "cms", b64, "digest", hex), &st);
    free(b64);
    if (st != 200)
        fail_msg("verify: %d %s", st, mc_testenv_jstr(r, "code"));
    return r;
}

static void expect_invalid(json_t *r, const char *reason)
{
    assert_false(json_is_true(json_object_get(r, "valid")));
    const char *got = mc_testenv_jstr(r, "reason");
    if (strcmp(got, reason) != 0)
        fail_msg("verify: want reason %s, got \"%s\"", reason, got);
}

static void hostile_verify_bodies_are_refused(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "verifier", MC_ALG_P256, 1);
    char bearer[300];
    auth_bearer(bearer, sizeof(bearer), h.tok);
    uint8_t rnd[300];
    assert_int_equal(RAND_bytes(rnd, sizeof(rnd)), 1);
    char *garbage = mc_base64(rnd, sizeof(rnd));
    /* a CMS-looking start (SEQUENCE) followed by junk */
    rnd[0] = 0x30;
    rnd[1] = 0x82;
    rnd[2] = 0x01;
    rnd[3] = 0x28;
    char *seq = mc_base64(rnd, sizeof(rnd));
    char body[1200];
    struct {
        const char *what;
        const char *fmt;
        const char *arg;
        int status;
        const char *code;
    } c[] = {
        {"random bytes", "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\"}", garbage, 400, "bad_cms"},
        {"a SEQUENCE of junk", "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\"}", seq, 400,
         "bad_cms"},
        {"not base64", "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\"}", "!!!!not*base64!!", 400,
         "bad_field"},
        {"three bytes", "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\"}", "MIIB", 400, "bad_cms"},
        {"length not a multiple of 4", "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\"}", "MII", 400,
         "bad_field"},
        {"padding inside", "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\"}", "MI==MIIB", 400,
         "bad_field"},
        {"cms a number", "{\"cms\":5@@,\"digest\":\"" GOOD_HEX "\"}", "", 400, "bad_field"},
        {"both digest and document",
         "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\",\"document\":\"AAAA\"}", garbage, 400,
         "bad_field"},
        {"neither", "{\"cms\":\"@@\"}", garbage, 400, "bad_field"},
        {"no cms", "{\"digest\":\"" GOOD_HEX "\"@@}", "", 400, "bad_field"},
        {"an unknown field", "{\"cms\":\"@@\",\"digest\":\"" GOOD_HEX "\",\"alg\":\"sm3\"}",
         garbage, 400, "bad_field"},
        {"digest 63 hex",
         "{\"cms\":\"@@\",\"digest\":\"0112233445566778899aabbccddeeff00112233445566778899aabbc"
         "cddeeff\"}",
         garbage, 400, "bad_digest"},
        {"digest not hex",
         "{\"cms\":\"@@\",\"digest\":\"zz112233445566778899aabbccddeeff00112233445566778899aab"
         "bccddeeff\"}",
         garbage, 400, "bad_digest"},
        {"document not base64", "{\"cms\":\"@@\",\"document\":\"@@@@\"}", garbage, 400,
         "bad_field"},
        {"malformed JSON", "{\"cms\":\"@@\"", garbage, 400, "bad_json"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        subst(body, sizeof(body), c[i].fmt, c[i].arg);
        expect_web_reject(f->env, "POST", "/api/v1/verify", bearer, NULL, 0, NULL, body,
                          strlen(body), c[i].status, c[i].code, c[i].what);
    }
    /* a document over 65536 bytes decoded */
    size_t dn = 65537, bn = (dn + 2) / 3 * 4;
    size_t cap = bn + strlen(garbage) + 200;
    char *big = malloc(cap);
    assert_non_null(big);
    int k = snprintf(big, cap, "{\"cms\":\"%s\",\"document\":\"", garbage);
    memset(big + k, 'A', bn);
    big[k + bn - 1] = '='; /* 21846 * 3 - 1 = 65537 bytes */
    memcpy(big + k + bn, "\"}", 3);
    expect_web_reject(f->env, "POST", "/api/v1/verify", bearer, NULL, 0, NULL, big, strlen(big),
                      400, "bad_field", "document of 65537 bytes");
    free(big);
    /* a cms over 16384 bytes decoded */
    dn = 16385;
    bn = (dn + 2) / 3 * 4;
    big = malloc(bn + 200);
    assert_non_null(big);
    k = snprintf(big, bn + 200, "{\"cms\":\"");
    memset(big + k, 'A', bn);
    big[k + bn - 1] = '='; /* 5462 * 3 - 1 = 16385 bytes */
    snprintf(big + k + bn, 200, "\",\"digest\":\"" GOOD_HEX "\"}");
    expect_web_reject(f->env, "POST", "/api/v1/verify", bearer, NULL, 0, NULL, big, strlen(big),
                      400, "bad_field", "cms of 16385 bytes");
    free(big);
    /* an API key: the same, counted */
    char kh[120];
    auth_key(kh, sizeof(kh), f->key);
    snprintf(body, sizeof(body), "{\"cms\":\"%s\",\"digest\":\"" GOOD_HEX "\"}", garbage);
    expect_web_reject(f->env, "POST", "/api/v1/verify", kh, f->kid, 1, NULL, body, strlen(body),
                      400, "bad_cms", "key, random bytes");
    free(garbage);
    free(seq);
    mc_testenv_holder_free(&h);
}

static void a_tampered_or_foreign_cms_is_not_valid(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "tamper", MC_ALG_P256, 1);
    sreq *s = open_fetch(f->env, f->key, NULL, h.login, 1, 40, 0);
    expect_honest(f->env, h.ph, s, MC_PHONE_APPROVE, h.login);
    mc_buf der = {0};
    collect_cms(f, s, &der);
    const uint8_t *dg = s->si.docs[0].digest;
    json_t *r = verify(f, h.tok, der.ptr, der.len, dg);
    assert_true(json_is_true(json_object_get(r, "valid")));
    json_decref(r);
    /* the signature is the last field: flip the low bit of its last byte
     * (the DER stays well-formed, the signature does not verify) */
    der.ptr[der.len - 1] ^= 1;
    r = verify(f, h.tok, der.ptr, der.len, dg);
    expect_invalid(r, "bad_signature");
    json_decref(r);
    der.ptr[der.len - 1] ^= 1;
    /* the messageDigest changed: the signature covers it */
    static const uint8_t md_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                     0x0d, 0x01, 0x09, 0x04};
    uint8_t *at = memmem(der.ptr, der.len, md_oid, sizeof(md_oid));
    assert_non_null(at);
    uint8_t *md = at + sizeof(md_oid) + 4; /* 31 22 04 20 */
    assert_memory_equal(md, dg, 32);
    md[0] ^= 0x80;
    uint8_t dg2[32];
    memcpy(dg2, dg, 32);
    dg2[0] ^= 0x80;
    r = verify(f, h.tok, der.ptr, der.len, dg2);
    expect_invalid(r, "bad_signature");
    json_decref(r);
    md[0] ^= 0x80;
    /* ... and against another document */
    r = verify(f, h.tok, der.ptr, der.len, dg2);
    expect_invalid(r, "digest_mismatch");
    json_decref(r);
    mc_buf_free(&der);

    /* signed by a certificate from a CA this server does not trust: the
     * phone's own key and CSR, issued by a rogue CA */
    mc_err err;
    mc_ca *rogue = mc_ca_create(MC_ALG_P256, "Rogue CA", 30, &err);
    assert_non_null(rogue);
    char csrp[400];
    snprintf(csrp, sizeof(csrp), "%s/phone-%s/%s", f->env->dir, h.login, MC_PHONE_CSR_FILE);
    FILE *fp = fopen(csrp, "rb");
    assert_non_null(fp);
    uint8_t csr[8192];
    size_t cn = fread(csr, 1, sizeof(csr), fp);
    fclose(fp);
    X509 *leaf = mc_ca_issue(rogue, csr, cn, 30, &err);
    assert_non_null(leaf);
    mc_buf ld = {0};
    assert_int_equal(mc_x509_der(leaf, &ld), 0);
    X509_free(leaf);
    uint8_t attrs[MC_CMS_ATTRS_LEN], sig[MC_SIG_MAX];
    size_t siglen;
    int64_t t = mc_testenv_redis_time(f->env);
    assert_int_equal(mc_cms_signed_attrs(t, dg, attrs, &err), 0);
    assert_int_equal(mc_sign(mc_phone_key(h.ph), attrs, sizeof(attrs), sig, &siglen, &err), 0);
    mc_slice certs[1] = {{ld.ptr, ld.len}};
    mc_buf cms = {0};
    assert_int_equal(mc_cms_build(certs, 1, MC_ALG_P256, dg, t, sig, siglen, &cms, &err), 0);
    r = verify(f, h.tok, cms.ptr, cms.len, dg);
    expect_invalid(r, "cert_untrusted");
    assert_string_equal(mc_testenv_jstr(r, "status_now"), "unknown");
    json_decref(r);
    /* the rogue chain carried too: still no trust anchor */
    mc_buf cad = {0};
    assert_int_equal(mc_x509_der(mc_ca_cert(rogue), &cad), 0);
    mc_slice two[2] = {{ld.ptr, ld.len}, {cad.ptr, cad.len}};
    mc_buf cms2 = {0};
    assert_int_equal(mc_cms_build(two, 2, MC_ALG_P256, dg, t, sig, siglen, &cms2, &err), 0);
    r = verify(f, h.tok, cms2.ptr, cms2.len, dg);
    expect_invalid(r, "cert_untrusted");
    json_decref(r);
    /* the env's own certificate, but a signing time before it was valid */
    mc_slice chain[MC_CHAIN_MAX];
    assert_true(mc_phone_chain(h.ph, chain, MC_CHAIN_MAX) >= 1);
    int64_t old = t - 86400;
    assert_int_equal(mc_cms_signed_attrs(old, dg, attrs, &err), 0);
    assert_int_equal(mc_sign(mc_phone_key(h.ph), attrs, sizeof(attrs), sig, &siglen, &err), 0);
    mc_buf cms3 = {0};
    assert_int_equal(mc_cms_build(chain, 1, MC_ALG_P256, dg, old, sig, siglen, &cms3, &err), 0);
    r = verify(f, h.tok, cms3.ptr, cms3.len, dg);
    expect_invalid(r, "cert_untrusted");
    json_decref(r);
    mc_buf_free(&ld);
    mc_buf_free(&cad);
    mc_buf_free(&cms);
    mc_buf_free(&cms2);
    mc_buf_free(&cms3);
    mc_ca_free(rogue);
    free(s);
    mc_testenv_holder_free(&h);
}

/* A CMS made with a revoked certificate's key for a signing time at or
 * after the revocation is revoked_before_signing; one second before it,
 * the signature stands (status_now says revoked). */
static void a_signature_made_after_revocation_is_revoked_before_signing(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "revsig", MC_ALG_P256, 1);
    assert_int_equal(mc_testenv_ctl(f->env, "revoke --fp %s >/dev/null", h.fp), 0);
    char key[100], ra[32];
    snprintf(key, sizeof(key), "{mc}:cert:%s", h.fp);
    redisReply *rr = mc_testenv_redis(f->env, "HGET %s revoked_at", key);
    assert_int_equal(rr->type, REDIS_REPLY_STRING);
    snprintf(ra, sizeof(ra), "%s", rr->str);
    freeReplyObject(rr);
    int64_t revoked_at = atoll(ra);
    assert_true(revoked_at > 0);
    uint8_t dg[32];
    doc_digest(0, 50, dg, NULL);
    mc_slice chain[MC_CHAIN_MAX];
    assert_true(mc_phone_chain(h.ph, chain, MC_CHAIN_MAX) >= 1);
    int64_t times[] = {revoked_at + 5, revoked_at, revoked_at - 1};
    for (int i = 0; i < 3; i++) {
        mc_err err;
        uint8_t attrs[MC_CMS_ATTRS_LEN], sig[MC_SIG_MAX];
        size_t siglen;
        assert_int_equal(mc_cms_signed_attrs(times[i], dg, attrs, &err), 0);
        assert_int_equal(mc_sign(mc_phone_key(h.ph), attrs, sizeof(attrs), sig, &siglen, &err),
                         0);
        mc_buf cms = {0};
        assert_int_equal(
            mc_cms_build(chain, 1, MC_ALG_P256, dg, times[i], sig, siglen, &cms, &err), 0);
        json_t *r = verify(f, h.tok, cms.ptr, cms.len, dg);
        assert_string_equal(mc_testenv_jstr(r, "status_now"), "revoked");
        assert_int_equal(json_integer_value(json_object_get(r, "revoked_at")), revoked_at);
        assert_int_equal(json_integer_value(json_object_get(r, "signing_time")), times[i]);
        if (i < 2) {
            expect_invalid(r, "revoked_before_signing");
            assert_string_equal(mc_testenv_jstr(r, "status_at_signing"), "revoked");
        } else {
            assert_true(json_is_true(json_object_get(r, "valid")));
            assert_null(json_object_get(r, "reason"));
            assert_string_equal(mc_testenv_jstr(r, "status_at_signing"), "valid");
        }
        json_decref(r);
        mc_buf_free(&cms);
    }
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* The inbox query (§8.4)                                              */
/* ------------------------------------------------------------------ */

typedef struct iq {
    char fp[80], ts[40], nonce[80], sig[200];
} iq;

/* A valid inbox query for the phone at time now, split into its values. */
static void inbox_query(const mc_phone *ph, const char *base, int64_t now,
                        const mc_phone_overrides *ov, iq *q)
{
    char query[600];
    mc_phone_err pe;
    if (mc_phone_inbox_build(ph, base, now, ov, query, sizeof(query), NULL, &pe) != 0)
        fail_msg("inbox build: %s %s", pe.code, pe.msg);
    memset(q, 0, sizeof(*q));
    char *save = NULL;
    for (char *kv = strtok_r(query, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = '\0';
        int is_sig = strcmp(kv, "sig") == 0;
        char *dst = strcmp(kv, "fp") == 0      ? q->fp
                    : strcmp(kv, "ts") == 0    ? q->ts
                    : strcmp(kv, "nonce") == 0 ? q->nonce
                    : is_sig                   ? q->sig
                                               : NULL;
        assert_non_null(dst);
        snprintf(dst, is_sig ? sizeof(q->sig) : sizeof(q->fp), "%s", eq + 1);
    }
    assert_true(q->fp[0] && q->ts[0] && q->nonce[0] && q->sig[0]);
}

static void inbox_get(mc_testenv *env, const char *query, preply *out)
{
    char url[900];
    snprintf(url, sizeof(url), "%s/m/v1/inbox%s%s", env->base, query[0] ? "?" : "", query);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 0, out);
}

static void expect_inbox_reject(mc_testenv *env, const char *query, int status, const char *code,
                                const char *what)
{
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r;
    inbox_get(env, query, &r);
    if (r.status != status || strcmp(r.code, code) != 0)
        fail_msg("inbox %s: want %d %s, got %d %s (%s) [%s]", what, status, code, r.status,
                 r.code, r.msg, query);
    mc_testenv_digest(env, after);
    if (strcmp(before, after) != 0)
        fail_msg("inbox %s: the refused request changed the data set", what);
}

/* A query refused after its nonce was claimed (§8.4: bad_signature): exact
 * status and code, and the one write is that nonce's key (TTL 900 s),
 * which stays claimed. */
static void expect_inbox_refused_claims_nonce(mc_testenv *env, const iq *v, int status,
                                              const char *code, const char *what)
{
    char q[900], before[41], after[41], nkey[200];
    snprintf(q, sizeof(q), "fp=%s&ts=%s&nonce=%s&sig=%s", v->fp, v->ts, v->nonce, v->sig);
    snprintf(nkey, sizeof(nkey), "{mc}:nonce:%s:%s", v->fp, v->nonce);
    assert_int_equal(mc_testenv_redis_int(env, "EXISTS %s", nkey), 0);
    mc_testenv_digest(env, before);
    preply r;
    inbox_get(env, q, &r);
    if (r.status != status || strcmp(r.code, code) != 0)
        fail_msg("inbox %s: want %d %s, got %d %s (%s)", what, status, code, r.status, r.code,
                 r.msg);
    long long ttl = mc_testenv_redis_int(env, "TTL %s", nkey);
    if (!(ttl > 800 && ttl <= 900))
        fail_msg("inbox %s: its nonce's TTL is %lld (want 800..900)", what, ttl);
    freeReplyObject(mc_testenv_redis(env, "DEL %s", nkey));
    mc_testenv_digest(env, after);
    if (strcmp(before, after) != 0)
        fail_msg("inbox %s: the refused request wrote more than its nonce", what);
    freeReplyObject(mc_testenv_redis(env, "SET %s 1 EX 900", nkey)); /* put it back */
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 'a' + 'A');
}

static void malformed_inbox_queries_are_bad_query(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "inboxq", MC_ALG_P256, 1);
    iq q;
    inbox_query(h.ph, f->env->base, (int64_t)time(NULL), NULL, &q);
    char fpU[80], nonceU[80];
    snprintf(fpU, sizeof(fpU), "%s", q.fp);
    upper(fpU);
    snprintf(nonceU, sizeof(nonceU), "%s", q.nonce);
    upper(nonceU);
    char sig_odd[200], sig_long[400], sig_nonhex[200], ts13[48];
    snprintf(sig_odd, sizeof(sig_odd), "%.*s", (int)strlen(q.sig) - 1, q.sig);
    snprintf(sig_long, sizeof(sig_long), "%s", q.sig);
    while (strlen(sig_long) < 162)
        strcat(sig_long, "00");
    snprintf(sig_nonhex, sizeof(sig_nonhex), "%s", q.sig);
    sig_nonhex[4] = 'g';
    snprintf(ts13, sizeof(ts13), "%s000", q.ts); /* 13 digits */
    /* a parameter twice with two values each valid on its own: the other
     * bound phone's fp, a second honest query's nonce and sig, a ts a
     * second earlier; both orders, so neither "first wins" nor "last
     * wins" lets one through */
    holder o;
    holder_new(f->env, &o, "inboxq2", MC_ALG_P256, 1);
    iq q2;
    inbox_query(h.ph, f->env->base, (int64_t)time(NULL), NULL, &q2);
    assert_string_not_equal(q.nonce, q2.nonce);
    char ts_1[40];
    snprintf(ts_1, sizeof(ts_1), "%lld", atoll(q.ts) - 1);
    struct {
        const char *what;
        char query[1200];
    } c[48];
    size_t n = 0;
#define QCASE(w, ...)                                                    \
    do {                                                                 \
        c[n].what = (w);                                                 \
        snprintf(c[n].query, sizeof(c[n].query), __VA_ARGS__);           \
        n++;                                                             \
    } while (0)
    QCASE("no query", "%s", "");
    QCASE("fp missing", "ts=%s&nonce=%s&sig=%s", q.ts, q.nonce, q.sig);
    QCASE("ts missing", "fp=%s&nonce=%s&sig=%s", q.fp, q.nonce, q.sig);
    QCASE("nonce missing", "fp=%s&ts=%s&sig=%s", q.fp, q.ts, q.sig);
    QCASE("sig missing", "fp=%s&ts=%s&nonce=%s", q.fp, q.ts, q.nonce);
    QCASE("fp twice", "fp=%s&fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.fp, q.ts, q.nonce, q.sig);
    QCASE("ts twice", "fp=%s&ts=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.ts, q.nonce, q.sig);
    QCASE("sig twice", "fp=%s&ts=%s&nonce=%s&sig=%s&sig=%s", q.fp, q.ts, q.nonce, q.sig, q.sig);
    QCASE("fp twice, another's first", "fp=%s&fp=%s&ts=%s&nonce=%s&sig=%s", o.fp, q.fp, q.ts,
          q.nonce, q.sig);
    QCASE("fp twice, another's last", "fp=%s&fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, o.fp, q.ts,
          q.nonce, q.sig);
    QCASE("ts twice, other first", "fp=%s&ts=%s&ts=%s&nonce=%s&sig=%s", q.fp, ts_1, q.ts, q.nonce,
          q.sig);
    QCASE("ts twice, other last", "fp=%s&ts=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, ts_1, q.nonce,
          q.sig);
    QCASE("nonce twice, other first", "fp=%s&ts=%s&nonce=%s&nonce=%s&sig=%s", q.fp, q.ts,
          q2.nonce, q.nonce, q.sig);
    QCASE("nonce twice, other last", "fp=%s&ts=%s&nonce=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce,
          q2.nonce, q.sig);
    QCASE("sig twice, other first", "fp=%s&ts=%s&nonce=%s&sig=%s&sig=%s", q.fp, q.ts, q.nonce,
          q2.sig, q.sig);
    QCASE("sig twice, other last", "fp=%s&ts=%s&nonce=%s&sig=%s&sig=%s", q.fp, q.ts, q.nonce,
          q.sig, q2.sig);
    QCASE("unknown parameter", "fp=%s&ts=%s&nonce=%s&sig=%s&v=1", q.fp, q.ts, q.nonce, q.sig);
    QCASE("FP (key case)", "FP=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("a bare key", "fp=%s&ts=%s&nonce=%s&sig=%s&x", q.fp, q.ts, q.nonce, q.sig);
    QCASE("an empty key", "fp=%s&ts=%s&nonce=%s&sig=%s&=1", q.fp, q.ts, q.nonce, q.sig);
    QCASE("upper-case fp", "fp=%s&ts=%s&nonce=%s&sig=%s", fpU, q.ts, q.nonce, q.sig);
    QCASE("63-hex fp", "fp=%.63s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("65-hex fp", "fp=%s0&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("empty fp", "fp=&ts=%s&nonce=%s&sig=%s", q.ts, q.nonce, q.sig);
    QCASE("31-hex nonce", "fp=%s&ts=%s&nonce=%.31s&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("33-hex nonce", "fp=%s&ts=%s&nonce=%s0&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("upper-case nonce", "fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, nonceU, q.sig);
    QCASE("non-digit ts", "fp=%s&ts=%.5sx%s&nonce=%s&sig=%s", q.fp, q.ts, q.ts + 6, q.nonce,
          q.sig);
    QCASE("13-digit ts", "fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, ts13, q.nonce, q.sig);
    QCASE("negative ts", "fp=%s&ts=-%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("+ts", "fp=%s&ts=%%2B%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("ts with a space", "fp=%s&ts=%%20%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, q.sig);
    QCASE("empty ts", "fp=%s&ts=&nonce=%s&sig=%s", q.fp, q.nonce, q.sig);
    QCASE("hex ts", "fp=%s&ts=0x10&nonce=%s&sig=%s", q.fp, q.nonce, q.sig);
    QCASE("odd-length sig", "fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, sig_odd);
    QCASE("one hex sig", "fp=%s&ts=%s&nonce=%s&sig=3", q.fp, q.ts, q.nonce);
    QCASE("empty sig", "fp=%s&ts=%s&nonce=%s&sig=", q.fp, q.ts, q.nonce);
    QCASE("162-hex sig", "fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, sig_long);
    QCASE("non-hex sig", "fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, sig_nonhex);
#undef QCASE
    assert_true(n <= sizeof(c) / sizeof(c[0]));
    for (size_t i = 0; i < n; i++)
        expect_inbox_reject(f->env, c[i].query, 400, "bad_query", c[i].what);
    /* the sig in upper case is fine (either case) — this one is honest and
     * claims its nonce */
    char sigU[200], ok[900];
    snprintf(sigU, sizeof(sigU), "%s", q.sig);
    upper(sigU);
    snprintf(ok, sizeof(ok), "fp=%s&ts=%s&nonce=%s&sig=%s", q.fp, q.ts, q.nonce, sigU);
    preply r;
    inbox_get(f->env, ok, &r);
    if (r.status != 200)
        fail_msg("upper-case sig: %d %s %s", r.status, r.code, r.msg);
    /* ... and the same nonce again is a replay */
    expect_inbox_reject(f->env, ok, 409, "replayed", "the same query again");
    mc_testenv_holder_free(&o);
    mc_testenv_holder_free(&h);
}

static void a_refused_inbox_request_leaves_only_its_nonce(void **state)
{
    fixture *f = fx(state);
    holder h;
    holder_new(f->env, &h, "inboxn", MC_ALG_P256, 1);
    sreq *s = open_fetch(f->env, f->key, NULL, h.login, 1, 60, 0);
    char q[900];
    iq v;
    int64_t now = (int64_t)time(NULL);
    /* stale: nothing at all */
    inbox_query(h.ph, f->env->base, now - 400, NULL, &v);
    snprintf(q, sizeof(q), "fp=%s&ts=%s&nonce=%s&sig=%s", v.fp, v.ts, v.nonce, v.sig);
    expect_inbox_reject(f->env, q, 403, "stale_request", "400 s behind");
    inbox_query(h.ph, f->env->base, now + 400, NULL, &v);
    snprintf(q, sizeof(q), "fp=%s&ts=%s&nonce=%s&sig=%s", v.fp, v.ts, v.nonce, v.sig);
    expect_inbox_reject(f->env, q, 403, "stale_request", "400 s ahead");
    /* a certificate nobody recorded: nothing */
    uint8_t nofp[32];
    memset(nofp, 0x42, sizeof(nofp));
    mc_phone_overrides nf = {.inbox_fp = nofp};
    inbox_query(h.ph, f->env->base, now, &nf, &v);
    snprintf(q, sizeof(q), "fp=%s&ts=%s&nonce=%s&sig=%s", v.fp, v.ts, v.nonce, v.sig);
    expect_inbox_reject(f->env, q, 404, "not_bound", "unknown fp");
    /* a bad signature: refused, and its nonce (only it) is now used */
    uint8_t nonce[MC_INBOX_NONCE_LEN];
    assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
    mc_phone_overrides bad = {.inbox_nonce = nonce, .corrupt_inbox_sig = 1};
    inbox_query(h.ph, f->env->base, now, &bad, &v);
    expect_inbox_refused_claims_nonce(f->env, &v, 403, "bad_signature", "corrupt sig");
    /* so the same nonce, now honestly signed, is a replay */
    mc_phone_overrides same = {.inbox_nonce = nonce};
    inbox_query(h.ph, f->env->base, now, &same, &v);
    snprintf(q, sizeof(q), "fp=%s&ts=%s&nonce=%s&sig=%s", v.fp, v.ts, v.nonce, v.sig);
    expect_inbox_reject(f->env, q, 409, "replayed", "nonce of the refused request");
    /* another bound phone, with a request of its own */
    holder o;
    holder_new(f->env, &o, "inboxo", MC_ALG_P256, 1);
    sreq *so = open_fetch(f->env, f->key, NULL, o.login, 1, 61, 0);
    /* signed by the other phone's key for this fingerprint */
    mc_phone_overrides foreign = {.sign_key = mc_phone_key(o.ph)};
    inbox_query(h.ph, f->env->base, now, &foreign, &v);
    expect_inbox_refused_claims_nonce(f->env, &v, 403, "bad_signature", "other key, own fp");
    /* a valid signature by this phone's own key over the other phone's
     * fingerprint: not the other's inbox */
    uint8_t ofp[32];
    assert_int_equal(mc_unhex(o.fp, 64, ofp, sizeof(ofp)), 0);
    mc_phone_overrides theirs = {.inbox_fp = ofp};
    inbox_query(h.ph, f->env->base, now, &theirs, &v);
    assert_string_equal(v.fp, o.fp);
    expect_inbox_refused_claims_nonce(f->env, &v, 403, "bad_signature", "own key, other fp");
    /* each request is still listed for its own phone only */
    mc_inbox_entry e[8];
    size_t n;
    int64_t snow;
    mc_phone_err pe;
    assert_int_equal(mc_phone_inbox(h.ph, f->env->base, e, 8, &n, &snow, NULL, &pe), 0);
    assert_non_null(mc_phone_inbox_find(e, n, s->sid));
    assert_null(mc_phone_inbox_find(e, n, so->sid));
    assert_int_equal(mc_phone_inbox(o.ph, f->env->base, e, 8, &n, &snow, NULL, &pe), 0);
    assert_null(mc_phone_inbox_find(e, n, s->sid));
    assert_non_null(mc_phone_inbox_find(e, n, so->sid));
    free(s);
    free(so);
    mc_testenv_holder_free(&o);
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* Expiry (runs last: the setup's 30 s requests)                       */
/* ------------------------------------------------------------------ */

static void an_expired_request_is_session_expired_and_leaves_the_inbox(void **state)
{
    fixture *f = fx(state);
    mc_testenv *env = f->env;
    /* still listed before it expires */
    mc_inbox_entry e[8];
    size_t n;
    int64_t now;
    mc_phone_err pe;
    assert_int_equal(mc_phone_inbox(f->exp.ph, env->base, e, 8, &n, &now, NULL, &pe), 0);
    int listed = mc_phone_inbox_find(e, n, f->late->sid) != NULL;
    while (mc_testenv_redis_time(env) < f->late->expires)
        usleep(200 * 1000);
    if (!listed && now < f->late->expires)
        fail_msg("the open request was not in the inbox before it expired");
    /* the answer built before: 410, nothing written */
    expect_post_reject(env, f->late->sid, &f->late_body, 410, "session_expired",
                       "answer after expiry");
    /* any other answer too, and a rejection */
    expect_lie(env, f->exp.ph, f->late, MC_PHONE_REJECT, NULL, 410, "session_expired",
               "reject after expiry");
    /* the details: 410 */
    mc_session_view v;
    mc_sign_info si;
    assert_int_equal(mc_phone_fetch_any(env->base, f->late->sid, &v, &si, &pe), -1);
    assert_int_equal(pe.status, 410);
    assert_string_equal(pe.code, "session_expired");
    /* gone from the inbox */
    assert_int_equal(mc_phone_inbox(f->exp.ph, env->base, e, 8, &n, &now, NULL, &pe), 0);
    assert_null(mc_phone_inbox_find(e, n, f->late->sid));
    assert_null(mc_phone_inbox_find(e, n, f->early->sid));
    /* the platform and the poll say expired, with no signatures */
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/sign-requests/%s", f->late->sid);
    int st;
    json_t *p = mc_testenv_api_apikey(env, "GET", path, f->key, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "expired");
    assert_int_equal(json_integer_value(json_object_get(p, "documents")), 2);
    json_decref(p);
    p = mc_testenv_poll(env, f->late->sid, f->late->poll, "scanned", 5, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "expired");
    json_decref(p);
    /* the history too */
    json_t *hl = mc_testenv_api(env, "GET", "/api/v1/sign-requests", f->exp.tok, NULL, &st);
    assert_int_equal(st, 200);
    json_t *reqs = json_object_get(hl, "requests");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(reqs); i++)
        if (strcmp(mc_testenv_jstr(json_array_get(reqs, i), "sid"), f->late->sid) == 0) {
            assert_string_equal(mc_testenv_jstr(json_array_get(reqs, i), "state"), "expired");
            seen = 1;
        }
    assert_true(seen);
    json_decref(hl);
    /* the request answered before it expired: its bytes again still get
     * the first result (§3.2: "even after expires"), and change nothing */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r;
    phone_post(env, f->early->sid, &f->early_body, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "approved");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    /* and its signatures can still be collected */
    snprintf(path, sizeof(path), "/api/v1/sign-requests/%s", f->early->sid);
    p = mc_testenv_api_apikey(env, "GET", path, f->key, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    assert_int_equal(json_array_size(json_object_get(p, "documents")), 2);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(swapped_document_signatures_are_bad_doc_signature),
        cmocka_unit_test(signature_over_a_digest_or_time_not_requested_is_bad_doc_signature),
        cmocka_unit_test(document_signatures_are_checked_before_the_number),
        cmocka_unit_test(session_signature_of_another_request_is_bad_signature),
        cmocka_unit_test(tbs_without_or_with_other_documents_is_bad_signature),
        cmocka_unit_test(doc_sigs_of_the_wrong_count_or_purpose_are_bad_field),
        cmocka_unit_test(doc_sigs_on_a_bind_or_login_answer_are_bad_field),
        cmocka_unit_test(a_sign_answer_cut_short_or_with_a_non_bin_doc_sig_is_refused),
        cmocka_unit_test(certificate_revoked_between_request_and_answer_is_cert_revoked),
        cmocka_unit_test(certificate_unbound_or_bound_to_another_account_is_not_bound),
        cmocka_unit_test(certificate_of_the_other_curve_is_alg_mismatch),
        cmocka_unit_test(the_same_answer_again_gets_the_first_result_another_is_session_done),
        cmocka_unit_test(racing_answers_exactly_one_wins),
        cmocka_unit_test(hostile_sign_request_bodies_are_refused_and_store_nothing),
        cmocka_unit_test(sign_request_errors_come_in_the_documented_order),
        cmocka_unit_test(a_name_of_raw_invalid_utf8_is_bad_json),
        cmocka_unit_test(escaped_nul_and_lone_surrogates_are_bad_json),
        cmocka_unit_test(the_limits_themselves_are_accepted),
        cmocka_unit_test(collecting_without_the_right_credential_is_bad_poll_secret),
        cmocka_unit_test(hostile_verify_bodies_are_refused),
        cmocka_unit_test(a_tampered_or_foreign_cms_is_not_valid),
        cmocka_unit_test(a_signature_made_after_revocation_is_revoked_before_signing),
        cmocka_unit_test(malformed_inbox_queries_are_bad_query),
        cmocka_unit_test(a_refused_inbox_request_leaves_only_its_nonce),
        /* last: waits for the setup's 30 s requests to expire */
        cmocka_unit_test(an_expired_request_is_session_expired_and_leaves_the_inbox),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
