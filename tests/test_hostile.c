/*
 * test_hostile.c — every way a hostile phone or browser can lie to mcertd,
 * against a real redis-server and the real mcertd, and proof that each lie
 * is refused with the documented status and code (core/PROTOCOL.md §3.2,
 * §5, §6) and changes nothing.
 *
 * The pattern of every rejection test:
 *   1. open a session and let the phone fetch it (the fetch itself marks the
 *      session scanned, a legitimate write);
 *   2. take the Redis DEBUG DIGEST of the whole data set;
 *   3. send exactly one lie (mc_phone_overrides changes one thing only:
 *      the signed bytes, the message, the chain, the signature, or the
 *      transport);
 *   4. assert the HTTP status, the error code, and the error format
 *      (msgpack {code, message} on /m/, JSON {code, message} on /api/);
 *   5. assert the digest did not move (nothing was written);
 *   6. where it makes sense, answer honestly and see it succeed: the lie
 *      did not burn the session.
 *
 * Layout: one mcertd per group (starting one costs about a second). The
 * main group shares one env; each test makes its own accounts and phones
 * (unique login names), so that the tests do not depend on each other's
 * outcome. The "admin" account of MC_TEST_ORG is bound to its phone by the
 * group setup. The expiry test needs a 2-second session TTL and has its own
 * group.
 *
 * Non-goals: cosign, enroll/renew purposes (not in the server yet); sign
 * sessions have their own file (test_sign.c);
 * performance (scripts/bench).
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
#include <openssl/x509v3.h>

#include "mc_http.h"
#include "mc_testhelp.h"
#include "mc_token.h"

#define MSGPACK_CT "application/x-msgpack"
#define JSON_CT "application/json"

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

/* A platform user with a phone that holds a certificate for its org. */
typedef mc_testenv_holder holder;

typedef struct fixture {
    mc_testenv *env;
    holder admin;    /* MC_TEST_ORG admin, bound to its phone by setup */
} fixture;

/* A session opened on the web and fetched by a phone. */
typedef struct sess {
    char sid[MC_SID_LEN + 1];
    char poll[64];
    int match;
    mc_session_view v;
} sess;

/* The decoded outcome of one phone request. */
typedef mc_testenv_preply preply;


/* Open a session (201 required) and let the phone fetch it. */
static void open_fetch(mc_testenv *env, const char *tok, const char *purpose,
                       const char *account, sess *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(mc_testenv_open(env, tok, purpose, account, s->sid, s->poll, &s->match,
                                     NULL),
                     201);
    mc_phone_err pe;
    if (mc_phone_fetch(env->base, s->sid, &s->v, &pe) != 0)
        fail_msg("fetch %s: %d %s %s", s->sid, pe.status, pe.code, pe.msg);
    assert_string_equal(s->v.s.state, "scanned");
}

/* The body a phone would send, with the given lies (ov may be NULL). */
static void build(const mc_phone *ph, const sess *s, mc_phone_decision d, uint32_t number,
                  const mc_phone_overrides *ov, mc_buf *body)
{
    mc_phone_err pe;
    if (mc_phone_build(ph, &s->v, d, number, ov, NULL, body, &pe) != 0)
        fail_msg("build: %s %s", pe.code, pe.msg);
}

static void url_of(mc_testenv *env, const char *sid, char *url, size_t n)
{
    snprintf(url, n, "%s/m/v1/sessions/%s/response", env->base, sid);
}

static void phone_post(mc_testenv *env, const char *url_sid, const void *body, size_t len,
                       const char *ctype, preply *out)
{
    char url[256];
    url_of(env, url_sid, url, sizeof(url));
    mc_testenv_phone_req("POST", url, body, len, ctype, 1, out);
}

/* Send a hostile body: exact status and code, and not one bit written. */
static void expect_phone_reject(mc_testenv *env, const char *url_sid, const void *body,
                                size_t len, const char *ctype, int status, const char *code)
{
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r;
    phone_post(env, url_sid, body, len, ctype, &r);
    if (r.status != status || strcmp(r.code, code) != 0)
        fail_msg("want %d %s, got %d %s (%s)", status, code, r.status, r.code, r.msg);
    mc_testenv_digest(env, after);
    if (strcmp(before, after) != 0)
        fail_msg("the rejected request (%d %s) changed the data set", status, code);
}

/* Build an approval with the given lies and expect it refused. */
static void expect_lie(mc_testenv *env, const mc_phone *ph, const sess *s,
                       const mc_phone_overrides *ov, int status, const char *code)
{
    mc_buf body = {0};
    build(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, ov, &body);
    expect_phone_reject(env, ov && ov->url_sid ? ov->url_sid : s->sid, body.ptr, body.len, NULL,
                        status, code);
    mc_buf_free(&body);
}

/* The honest approval is accepted (the session was not burnt). */
static void expect_honest(mc_testenv *env, const mc_phone *ph, const sess *s,
                          const char *account)
{
    mc_buf body = {0};
    build(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &body);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r;
    phone_post(env, s->sid, body.ptr, body.len, NULL, &r);
    mc_buf_free(&body);
    if (r.status != 200)
        fail_msg("honest answer refused: %d %s (%s)", r.status, r.code, r.msg);
    assert_string_equal(r.state, "approved");
    assert_string_equal(r.account, account);
    /* the digest does see writes: the "unchanged" checks are not vacuous */
    mc_testenv_digest(env, after);
    assert_string_not_equal(before, after);
}

/* Bind h's own account to h's phone. */
static void bind_self(mc_testenv *env, holder *h)
{
    sess s;
    open_fetch(env, h->tok, "bind", NULL, &s);
    expect_honest(env, h->ph, &s, h->login);
}

static void account_cert(mc_testenv *env, const char *login, char out[65])
{
    mc_account acc;
    mc_err err;
    assert_int_equal(mc_sync_account_get(env->store, login, &acc, &err), 0);
    snprintf(out, 65, "%s", acc.cert);
}

static long long audit_len(mc_testenv *env)
{
    long long n = -1;
    mc_err err;
    assert_int_equal(mc_store_audit_len(env->store, &n, &err), 0);
    return n;
}

/* "what" of the newest audit entry. */
static void audit_last_what(mc_testenv *env, char *out, size_t n)
{
    redisContext *c = redisConnect("127.0.0.1", env->redis_port);
    assert_true(c != NULL && !c->err);
    redisReply *r = redisCommand(c, "XREVRANGE {mc}:audit + - COUNT 1");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    redisReply *fields = r->element[0]->element[1];
    out[0] = '\0';
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(fields->element[i]->str, "what") == 0)
            snprintf(out, n, "%s", fields->element[i + 1]->str);
    freeReplyObject(r);
    redisFree(c);
}

static void csr_of(mc_testenv *env, const holder *h, mc_buf *csr)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/phone-%s/%s", env->dir, h->login, MC_PHONE_CSR_FILE);
    mc_testenv_read_file(path, csr);
}

/* ------------------------------------------------------------------ */
/* Web helpers                                                         */
/* ------------------------------------------------------------------ */

/* A hostile web request: exact status and code, and nothing written. */
static void expect_web_reject(mc_testenv *env, const char *method, const char *path,
                              const char *const *headers, const char *body, size_t len,
                              int status, const char *code)
{
    char before[41], after[41];
    mc_testenv_digest(env, before);
    json_t *o = NULL;
    int st = mc_testenv_web_req(env, method, path, headers, body, len, &o);
    if (st != status || strcmp(mc_testenv_jstr(o, "code"), code) != 0)
        fail_msg("%s %s: want %d %s, got %d %s (%s)", method, path, status, code, st,
                 mc_testenv_jstr(o, "code"), mc_testenv_jstr(o, "message"));
    json_decref(o);
    mc_testenv_digest(env, after);
    if (strcmp(before, after) != 0)
        fail_msg("%s %s: the rejected request changed the data set", method, path);
}

#define CT_JSON_H "Content-Type: application/json"

static void bearer(char *out, size_t n, const char *tok)
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
    mc_testenv_holder_new(f->env, &f->admin, "admin", MC_TEST_ORG, "admin", MC_ALG_P256);
    bind_self(f->env, &f->admin);
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    mc_testenv_holder_free(&f->admin);
    mc_testenv_stop(f->env);
    free(f);
    return 0;
}

static mc_testenv *env_of(void **state)
{
    return ((fixture *)*state)->env;
}

/* ------------------------------------------------------------------ */
/* Replays and races                                                   */
/* ------------------------------------------------------------------ */

/* The same answer sent again (a phone retrying after a lost reply) gets
 * the first answer's result and changes nothing; any other answer to the
 * answered session is session_done. */
static void replayed_approval_gets_the_first_result_and_writes_nothing(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "replay", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_buf body = {0};
    build(h.ph, &s, MC_PHONE_APPROVE, (uint32_t)s.match, NULL, &body);
    preply r;
    phone_post(env, s.sid, body.ptr, body.len, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "approved");
    /* the very same bytes again */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r2;
    phone_post(env, s.sid, body.ptr, body.len, NULL, &r2);
    assert_int_equal(r2.status, 200);
    assert_string_equal(r2.state, "approved");
    assert_string_equal(r2.account, r.account);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    mc_buf_free(&body);
    /* a fresh, honestly built answer to the answered session: refused too */
    expect_lie(env, h.ph, &s, NULL, 409, "session_done");
    mc_testenv_holder_free(&h);
}

static void racing_answers_one_wins_the_other_is_session_done(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "racer", MC_TEST_ORG, "staff", MC_ALG_P256);
    for (int round = 0; round < 3; round++) {
        sess s;
        open_fetch(env, h.tok, "bind", NULL, &s);
        /* two valid answers (ECDSA: different signatures, both good) */
        mc_buf b1 = {0}, b2 = {0};
        build(h.ph, &s, MC_PHONE_APPROVE, (uint32_t)s.match, NULL, &b1);
        build(h.ph, &s, MC_PHONE_APPROVE, (uint32_t)s.match, NULL, &b2);
        assert_false(b1.len == b2.len && memcmp(b1.ptr, b2.ptr, b1.len) == 0);
        long long before = audit_len(env);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t p1 = mc_testenv_racer(env, s.sid, &b1, go);
        pid_t p2 = mc_testenv_racer(env, s.sid, &b2, go);
        close(go[0]);
        usleep(100 * 1000); /* both children blocked in read() */
        close(go[1]);       /* ... and released at the same instant */
        int w1, w2;
        assert_int_equal(waitpid(p1, &w1, 0), p1);
        assert_int_equal(waitpid(p2, &w2, 0), p2);
        assert_true(WIFEXITED(w1) && WIFEXITED(w2));
        int e1 = WEXITSTATUS(w1), e2 = WEXITSTATUS(w2);
        if (!((e1 == 0 && e2 == 1) || (e1 == 1 && e2 == 0)))
            fail_msg("round %d: racers exited %d and %d (want one 0=200 and one 1=409 "
                     "session_done)",
                     round, e1, e2);
        /* bound once, audited once */
        char cert[65];
        account_cert(env, h.login, cert);
        assert_string_equal(cert, h.fp);
        mc_cert_rec rec;
        int found = 0;
        mc_err err;
        assert_int_equal(mc_sync_cert_get(env->store, h.fp, &rec, &found, &err), 0);
        assert_true(found);
        assert_string_equal(rec.account, h.login);
        assert_int_equal(audit_len(env) - before, 1);
        char what[32];
        audit_last_what(env, what, sizeof(what));
        assert_string_equal(what, "bind");
        mc_buf_free(&b1);
        mc_buf_free(&b2);
        /* unbind for the next round */
        int st;
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/bindings/%s", h.login);
        json_decref(mc_testenv_api(env, "DELETE", path, h.tok, NULL, &st));
        assert_int_equal(st, 200);
    }
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* Domain separation: sid, purpose, origin                             */
/* ------------------------------------------------------------------ */

static void answer_for_session_a_posted_to_b_is_sid_mismatch(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "sidmix", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess a, b;
    open_fetch(env, h.tok, "bind", NULL, &a);
    open_fetch(env, h.tok, "bind", NULL, &b);
    mc_phone_overrides ov = {.url_sid = b.sid};
    expect_lie(env, h.ph, &a, &ov, 409, "sid_mismatch");
    /* and B's answer posted to A's URL */
    ov.url_sid = a.sid;
    expect_lie(env, h.ph, &b, &ov, 409, "sid_mismatch");
    expect_honest(env, h.ph, &a, h.login);
    mc_testenv_holder_free(&h);
}

static void signature_over_another_sid_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "sidsig", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess a, b;
    open_fetch(env, h.tok, "bind", NULL, &a);
    open_fetch(env, h.tok, "bind", NULL, &b);
    /* message and URL say A, the signature was made for B */
    mc_phone_overrides ov = {.tbs_sid = b.sid};
    expect_lie(env, h.ph, &a, &ov, 403, "bad_signature");
    expect_honest(env, h.ph, &a, h.login);
    mc_testenv_holder_free(&h);
}

static void message_purpose_login_on_bind_session_is_purpose_mismatch(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "purp", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_phone_overrides ov = {.msg_purpose = "login"};
    expect_lie(env, h.ph, &s, &ov, 409, "purpose_mismatch");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

static void signed_purpose_changed_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "purpsig", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_phone_overrides ov = {.tbs_purpose = "login"};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    /* the other way round too: a login session answered with a bind signature */
    sess l;
    open_fetch(env, NULL, "login", NULL, &l);
    ov.tbs_purpose = "bind";
    expect_lie(env, ((fixture *)*state)->admin.ph, &l, &ov, 403, "bad_signature");
    expect_honest(env, h.ph, &s, h.login);
    expect_honest(env, ((fixture *)*state)->admin.ph, &l, "admin");
    mc_testenv_holder_free(&h);
}

static void message_origin_changed_is_origin_mismatch(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "orig", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_phone_overrides ov = {.msg_origin = "https://phish.example"};
    expect_lie(env, h.ph, &s, &ov, 409, "origin_mismatch");
    /* a prefix of the true origin is not the origin */
    char shorter[MC_ORIGIN_MAX + 1];
    snprintf(shorter, sizeof(shorter), "%.*s", (int)strlen(s.v.s.origin) - 1, s.v.s.origin);
    ov.msg_origin = shorter;
    expect_lie(env, h.ph, &s, &ov, 409, "origin_mismatch");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

static void signed_origin_changed_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "origsig", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_phone_overrides ov = {.tbs_origin = "https://phish.example"};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* The signed bytes and the signature                                  */
/* ------------------------------------------------------------------ */

static void signed_nonce_changed_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "nonce", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    uint8_t nonce[MC_NONCE_LEN];
    memcpy(nonce, s.v.s.nonce, sizeof(nonce));
    nonce[MC_NONCE_LEN - 1] ^= 0x80;
    mc_phone_overrides ov = {.tbs_nonce = nonce};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    /* a nonce of another session (a signature collected elsewhere) */
    sess other;
    open_fetch(env, h.tok, "bind", NULL, &other);
    ov.tbs_nonce = other.v.s.nonce;
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

static void signed_expiry_changed_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "expiry", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_phone_overrides ov = {.set_tbs_expires = 1, .tbs_expires = s.v.s.expires + 3600};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    ov.tbs_expires = s.v.s.expires - 1;
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

static void signed_account_changed_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "acctsig", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_phone_overrides ov = {.tbs_account = "admin"};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    ov.tbs_account = "";
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

static void signed_decision_changed_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "decsig", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    /* the user rejected on the phone; the message says approve */
    mc_phone_overrides ov = {.tbs_decision = "reject"};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    /* the user approved; the message says reject (a forged rejection) */
    mc_buf body = {0};
    mc_phone_overrides ov2 = {.tbs_decision = "approve"};
    build(h.ph, &s, MC_PHONE_REJECT, (uint32_t)s.match, &ov2, &body);
    expect_phone_reject(env, s.sid, body.ptr, body.len, NULL, 403, "bad_signature");
    mc_buf_free(&body);
    /* the signed number is not the sent one */
    mc_phone_overrides ov3 = {.set_tbs_number = 1, .tbs_number = (uint32_t)s.match + 1};
    expect_lie(env, h.ph, &s, &ov3, 403, "bad_signature");
    /* the signed certificate fingerprint is not the sent leaf's */
    uint8_t fp[32];
    memset(fp, 0x5a, sizeof(fp));
    mc_phone_overrides ov4 = {.tbs_cert_fp = fp};
    expect_lie(env, h.ph, &s, &ov4, 403, "bad_signature");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

static void corrupted_or_foreign_signature_is_bad_signature(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "sigbad", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_phone_overrides ov = {.corrupt_sig = 1};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    /* the right bytes signed by a key that is not the certificate's */
    mc_err err;
    EVP_PKEY *other = mc_keygen(MC_ALG_P256, &err);
    assert_non_null(other);
    mc_phone_overrides ov2 = {.sign_key = other};
    expect_lie(env, h.ph, &s, &ov2, 403, "bad_signature");
    EVP_PKEY_free(other);
    /* another holder's key, with its own valid certificate's key: still not
     * the sent certificate */
    mc_phone_overrides ov3 = {.sign_key = mc_phone_key(((fixture *)*state)->admin.ph)};
    expect_lie(env, h.ph, &s, &ov3, 403, "bad_signature");
    /* not DER at all */
    static const uint8_t junk[8] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    mc_slice js = {junk, sizeof(junk)};
    mc_phone_overrides ov4 = {.sig = &js};
    expect_lie(env, h.ph, &s, &ov4, 403, "bad_signature");
    expect_honest(env, h.ph, &s, h.login);
    mc_testenv_holder_free(&h);
}

/* A user who picks a decoy number gets no second try: the answer is
 * refused with wrong_number and the session ends rejected (the browser is
 * told why), so a later answer, even with the right number, is
 * session_done and nothing is bound. */
static void decoy_number_ends_the_session(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "decoy", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    uint32_t decoy = 0;
    for (int i = 0; i < 3; i++)
        if (s.v.s.choices[i] != (uint32_t)s.match)
            decoy = s.v.s.choices[i];
    assert_true(decoy != 0);
    /* signed honestly: the user really picked the decoy */
    mc_buf body = {0};
    build(h.ph, &s, MC_PHONE_APPROVE, decoy, NULL, &body);
    preply r;
    phone_post(env, s.sid, body.ptr, body.len, NULL, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.code, "wrong_number");
    /* sent again: the same refusal, not a second try */
    phone_post(env, s.sid, body.ptr, body.len, NULL, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.code, "wrong_number");
    mc_buf_free(&body);
    int st;
    json_t *p = mc_testenv_poll(env, s.sid, s.poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "rejected");
    assert_string_equal(mc_testenv_jstr(p, "reason"), "wrong_number");
    json_decref(p);
    expect_lie(env, h.ph, &s, NULL, 409, "session_done");
    mc_account acc;
    mc_err err;
    assert_int_equal(mc_sync_account_get(env->store, h.login, &acc, &err), 0);
    assert_string_equal(acc.cert, "");
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* Sessions that do not exist                                          */
/* ------------------------------------------------------------------ */

static void unknown_or_malformed_session_id_is_404(void **state)
{
    mc_testenv *env = env_of(state);
    fixture *f = *state;
    mc_session ghost;
    mc_session_init(&ghost, MC_PURPOSE_BIND, 0, 1); /* a fresh, valid, unused sid */
    char url[256], before[41], after[41];
    preply r;

    /* fetch */
    mc_testenv_digest(env, before);
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%s", env->base, ghost.sid);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.code, "unknown_session");
    static const char *const malformed[] = {
        "ABCDEFGHJKMNPQRSTVW",   /* 19 chars */
        "ABCDEFGHJKMNPQRSTVWXY", /* 21 chars */
        "abcdefghjkmnpqrstvwx",  /* lower case */
        "ABCDEFGHIJKLMNOPQRST",  /* I, L, O are not in the alphabet */
        "..",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        snprintf(url, sizeof(url), "%s/m/v1/sessions/%s", env->base, malformed[i]);
        mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
        if (r.status != 404 || strcmp(r.code, "unknown_session") != 0)
            fail_msg("GET sid %s: %d %s", malformed[i], r.status, r.code);
    }
    /* bytes the route does not even match: 404 too, still msgpack */
    snprintf(url, sizeof(url), "%s/m/v1/sessions/AB%%00CD", env->base);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 404);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);

    /* respond: a well-formed, signed answer naming the unknown sid */
    sess s;
    open_fetch(env, NULL, "login", NULL, &s);
    mc_phone_overrides ov = {.msg_sid = ghost.sid, .tbs_sid = ghost.sid, .url_sid = ghost.sid};
    expect_lie(env, f->admin.ph, &s, &ov, 404, "unknown_session");
    /* respond to a malformed sid: the route matches only [A-Za-z0-9._-] */
    mc_buf body = {0};
    build(f->admin.ph, &s, MC_PHONE_APPROVE, (uint32_t)s.match, NULL, &body);
    mc_testenv_digest(env, before);
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%%2e%%2e/response", env->base);
    mc_testenv_phone_req("POST", url, body.ptr, body.len, NULL, 1, &r);
    assert_int_equal(r.status, 404);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    /* a path of route characters that is not a sid names no session
     * (PROTOCOL.md §3.2: the path is checked first) */
    expect_phone_reject(env, "abcdefghjkmnpqrstvwx", body.ptr, body.len, NULL, 404,
                        "unknown_session");
    expect_phone_reject(env, "..", body.ptr, body.len, NULL, 404, "unknown_session");
    mc_buf_free(&body);
    expect_honest(env, f->admin.ph, &s, "admin");
}

/* ------------------------------------------------------------------ */
/* Certificates                                                        */
/* ------------------------------------------------------------------ */

static void der_of(X509 *x, mc_buf *out)
{
    assert_int_equal(mc_x509_der(x, out), 0);
}

static void certificate_from_untrusted_ca_is_cert_untrusted(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "rogue", MC_TEST_ORG, "staff", MC_ALG_P256);
    /* a CA that looks like ours (same name) but is not a trust anchor */
    mc_err err;
    mc_ca *rogue = mc_ca_create(MC_ALG_P256, "mcert Local Mobile CA", 30, &err);
    if (rogue == NULL)
        fail_msg("rogue CA: %s", err.msg);
    mc_buf csr = {0}, leaf = {0}, ca = {0};
    csr_of(env, &h, &csr);
    X509 *x = mc_ca_issue(rogue, csr.ptr, csr.len, 30, &err);
    if (x == NULL)
        fail_msg("rogue issue: %s", err.msg);
    der_of(x, &leaf);
    der_of(mc_ca_cert(rogue), &ca);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_slice chain[2] = {{leaf.ptr, leaf.len}, {ca.ptr, ca.len}};
    mc_phone_overrides ov = {.chain = chain, .nchain = 2};
    expect_lie(env, h.ph, &s, &ov, 403, "cert_untrusted");
    ov.nchain = 1; /* the leaf alone */
    expect_lie(env, h.ph, &s, &ov, 403, "cert_untrusted");
    /* the rogue CA certificate itself as the leaf */
    mc_slice self[1] = {{ca.ptr, ca.len}};
    mc_phone_overrides ov2 = {.chain = self, .nchain = 1};
    mc_buf body = {0};
    build(h.ph, &s, MC_PHONE_APPROVE, (uint32_t)s.match, &ov2, &body);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    preply r;
    phone_post(env, s.sid, body.ptr, body.len, NULL, &r);
    assert_int_equal(r.status, 403);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    mc_buf_free(&body);
    expect_honest(env, h.ph, &s, h.login);
    X509_free(x);
    mc_ca_free(rogue);
    mc_buf_free(&csr);
    mc_buf_free(&leaf);
    mc_buf_free(&ca);
    mc_testenv_holder_free(&h);
}

/* A certificate from the env's own CA with chosen validity and usage. */
static void issue_from_env_ca(mc_testenv *env, const holder *h, int64_t nb, int64_t na,
                              unsigned ku, mc_buf *leaf, mc_buf *cader)
{
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/var/ca", env->dir);
    mc_err err;
    mc_ca *ca = mc_ca_load(dir, &err);
    if (ca == NULL)
        fail_msg("load CA: %s", err.msg);
    mc_buf csr = {0};
    csr_of(env, h, &csr);
    X509 *x = mc_ca_issue_ex(ca, csr.ptr, csr.len, nb, na, ku, &err);
    if (x == NULL)
        fail_msg("issue_ex: %s", err.msg);
    der_of(x, leaf);
    der_of(mc_ca_cert(ca), cader);
    X509_free(x);
    mc_ca_free(ca);
    mc_buf_free(&csr);
}

static void expired_certificate_is_cert_expired(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "oldcert", MC_TEST_ORG, "staff", MC_ALG_P256);
    int64_t now = (int64_t)time(NULL);
    mc_buf leaf = {0}, ca = {0};
    issue_from_env_ca(env, &h, now - 30 * 86400, now - 86400,
                      KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, &leaf, &ca);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_slice chain[2] = {{leaf.ptr, leaf.len}, {ca.ptr, ca.len}};
    mc_phone_overrides ov = {.chain = chain, .nchain = 2};
    expect_lie(env, h.ph, &s, &ov, 403, "cert_expired");
    ov.nchain = 1;
    expect_lie(env, h.ph, &s, &ov, 403, "cert_expired");
    mc_buf_free(&leaf);
    mc_buf_free(&ca);
    /* and one that is not valid yet */
    issue_from_env_ca(env, &h, now + 86400, now + 30 * 86400,
                      KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, &leaf, &ca);
    mc_slice chain2[1] = {{leaf.ptr, leaf.len}};
    mc_phone_overrides ov2 = {.chain = chain2, .nchain = 1};
    expect_lie(env, h.ph, &s, &ov2, 403, "cert_not_yet_valid");
    expect_honest(env, h.ph, &s, h.login);
    mc_buf_free(&leaf);
    mc_buf_free(&ca);
    mc_testenv_holder_free(&h);
}

static void certificate_without_digital_signature_is_cert_key_usage(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "kucert", MC_TEST_ORG, "staff", MC_ALG_P256);
    int64_t now = (int64_t)time(NULL);
    mc_buf leaf = {0}, ca = {0};
    issue_from_env_ca(env, &h, now - 60, now + 86400, KU_NON_REPUDIATION | KU_KEY_ENCIPHERMENT,
                      &leaf, &ca);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_slice chain[2] = {{leaf.ptr, leaf.len}, {ca.ptr, ca.len}};
    mc_phone_overrides ov = {.chain = chain, .nchain = 2};
    expect_lie(env, h.ph, &s, &ov, 403, "cert_key_usage");
    expect_honest(env, h.ph, &s, h.login);
    mc_buf_free(&leaf);
    mc_buf_free(&ca);
    mc_testenv_holder_free(&h);
}

static void certificate_of_another_org_is_org_mismatch(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "orgmix", MC_TEST_ORG, "staff", MC_ALG_P256);
    /* a valid certificate from our CA, but naming the other organisation */
    mc_phone *foreign = mc_testenv_phone(env, "phone-org2", MC_ALG_P256, MC_TEST_ORG2);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_buf body = {0};
    build(foreign, &s, MC_PHONE_APPROVE, (uint32_t)s.match, NULL, &body);
    expect_phone_reject(env, s.sid, body.ptr, body.len, NULL, 403, "org_mismatch");
    mc_buf_free(&body);
    char cert[65];
    account_cert(env, h.login, cert);
    assert_string_equal(cert, "");
    expect_honest(env, h.ph, &s, h.login);
    mc_phone_free(foreign);
    mc_testenv_holder_free(&h);
}

static void certificate_bound_to_another_account_is_cert_bound(void **state)
{
    mc_testenv *env = env_of(state);
    fixture *f = *state;
    holder alice;
    mc_testenv_holder_new(env, &alice, "alice", MC_TEST_ORG, "staff", MC_ALG_P256);
    /* the admin opens a bind session for alice and answers it with the
     * admin's own phone, whose certificate is bound to "admin" */
    sess s;
    open_fetch(env, f->admin.tok, "bind", "alice", &s);
    assert_string_equal(s.v.s.account, "alice");
    assert_string_equal(s.v.s.requester, "admin");
    expect_lie(env, f->admin.ph, &s, NULL, 409, "cert_bound");
    char cert[65];
    account_cert(env, "admin", cert);
    assert_string_equal(cert, f->admin.fp);
    account_cert(env, "alice", cert);
    assert_string_equal(cert, "");
    /* alice's own phone answers the same session */
    expect_honest(env, alice.ph, &s, "alice");
    account_cert(env, "alice", cert);
    assert_string_equal(cert, alice.fp);
    mc_testenv_holder_free(&alice);
}

static void revoked_certificate_cannot_log_in_and_its_binding_is_gone(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "revokee", MC_TEST_ORG, "staff", MC_ALG_P256);
    bind_self(env, &h);
    /* it logs in while valid */
    sess s;
    open_fetch(env, NULL, "login", NULL, &s);
    expect_honest(env, h.ph, &s, h.login);
    assert_int_equal(mc_testenv_ctl(env, "revoke --fp %s >/dev/null", h.fp), 0);
    /* the binding is gone on both sides */
    char cert[65];
    account_cert(env, h.login, cert);
    assert_string_equal(cert, "");
    mc_cert_rec rec;
    int found = 0;
    mc_err err;
    assert_int_equal(mc_sync_cert_get(env->store, h.fp, &rec, &found, &err), 0);
    assert_true(found);
    assert_string_equal(rec.status, "revoked");
    assert_string_equal(rec.account, "");
    int st;
    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", h.tok, NULL, &st);
    assert_int_equal(st, 200);
    assert_true(json_is_null(json_object_get(me, "cert")));
    json_decref(me);
    /* logging in with it now */
    open_fetch(env, NULL, "login", NULL, &s);
    expect_lie(env, h.ph, &s, NULL, 403, "cert_revoked");
    /* nor can it be bound again */
    sess b;
    open_fetch(env, h.tok, "bind", NULL, &b);
    expect_lie(env, h.ph, &b, NULL, 403, "cert_revoked");
    /* not even as a second encoding of itself (the CA's ECDSA signature
     * rewritten: other bytes, same certificate) */
    mc_slice chain[MC_CHAIN_MAX];
    size_t nchain = mc_phone_chain(h.ph, chain, MC_CHAIN_MAX);
    assert_true(nchain >= 1);
    mc_buf twin = {0};
    mc_testenv_malleate(chain[0].ptr, chain[0].len, &twin);
    chain[0] = (mc_slice){twin.ptr, twin.len};
    mc_phone_overrides ov;
    memset(&ov, 0, sizeof(ov));
    ov.chain = chain;
    ov.nchain = nchain;
    expect_lie(env, h.ph, &b, &ov, 403, "cert_revoked");
    mc_buf_free(&twin);
    /* the login session is still answerable by a valid certificate */
    expect_honest(env, ((fixture *)*state)->admin.ph, &s, "admin");
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* Who may bind and unbind                                             */
/* ------------------------------------------------------------------ */

static void open_bind_json(char *out, size_t n, const char *account)
{
    if (account)
        snprintf(out, n, "{\"purpose\":\"bind\",\"account\":\"%s\"}", account);
    else
        snprintf(out, n, "{\"purpose\":\"bind\"}");
}

static void staff_cannot_bind_or_unbind_another_account(void **state)
{
    mc_testenv *env = env_of(state);
    holder bob;
    mc_testenv_holder_new(env, &bob, "bob", MC_TEST_ORG, "staff", MC_ALG_P256);
    mc_testenv_account(env, "carol", MC_TEST_ORG, "staff"); /* unbound */
    char auth[200], body[128];
    bearer(auth, sizeof(auth), bob.tok);
    const char *const h[] = {auth, CT_JSON_H, NULL};
    /* binding the bound admin, and the unbound carol */
    open_bind_json(body, sizeof(body), "admin");
    expect_web_reject(env, "POST", "/api/v1/sessions", h, body, strlen(body), 403,
                      "not_permitted");
    open_bind_json(body, sizeof(body), "carol");
    expect_web_reject(env, "POST", "/api/v1/sessions", h, body, strlen(body), 403,
                      "not_permitted");
    /* unbinding the bound admin */
    const char *const hd[] = {auth, NULL};
    expect_web_reject(env, "DELETE", "/api/v1/bindings/admin", hd, NULL, 0, 403,
                      "not_permitted");
    char cert[65];
    account_cert(env, "admin", cert);
    assert_string_equal(cert, ((fixture *)*state)->admin.fp);
    /* bob may still bind himself */
    open_bind_json(body, sizeof(body), "bob");
    assert_int_equal(
        mc_testenv_web_req(env, "POST", "/api/v1/sessions", h, body, strlen(body), NULL), 201);
    mc_testenv_holder_free(&bob);
}

static void admin_of_another_org_cannot_bind_or_unbind_our_account(void **state)
{
    mc_testenv *env = env_of(state);
    mc_testenv_account(env, "boss2", MC_TEST_ORG2, "admin");
    mc_testenv_account(env, "dave", MC_TEST_ORG, "staff"); /* unbound, our org */
    char *tok = mc_testenv_login(env, "boss2");
    char auth[200], body[128];
    bearer(auth, sizeof(auth), tok);
    const char *const h[] = {auth, CT_JSON_H, NULL};
    open_bind_json(body, sizeof(body), "dave");
    expect_web_reject(env, "POST", "/api/v1/sessions", h, body, strlen(body), 403,
                      "not_permitted");
    open_bind_json(body, sizeof(body), "admin");
    expect_web_reject(env, "POST", "/api/v1/sessions", h, body, strlen(body), 403,
                      "not_permitted");
    const char *const hd[] = {auth, NULL};
    expect_web_reject(env, "DELETE", "/api/v1/bindings/admin", hd, NULL, 0, 403,
                      "not_permitted");
    char cert[65];
    account_cert(env, "admin", cert);
    assert_string_equal(cert, ((fixture *)*state)->admin.fp);
    /* our own admin may open the bind for dave */
    char own[200];
    bearer(own, sizeof(own), ((fixture *)*state)->admin.tok);
    const char *const ho[] = {own, CT_JSON_H, NULL};
    open_bind_json(body, sizeof(body), "dave");
    assert_int_equal(
        mc_testenv_web_req(env, "POST", "/api/v1/sessions", ho, body, strlen(body), NULL), 201);
    free(tok);
}

static void bind_session_for_bound_account_is_account_bound(void **state)
{
    mc_testenv *env = env_of(state);
    fixture *f = *state;
    char auth[200], body[128];
    bearer(auth, sizeof(auth), f->admin.tok);
    const char *const h[] = {auth, CT_JSON_H, NULL};
    open_bind_json(body, sizeof(body), NULL);
    expect_web_reject(env, "POST", "/api/v1/sessions", h, body, strlen(body), 409,
                      "account_bound");
    open_bind_json(body, sizeof(body), "admin");
    expect_web_reject(env, "POST", "/api/v1/sessions", h, body, strlen(body), 409,
                      "account_bound");
    /* and an account that does not exist */
    open_bind_json(body, sizeof(body), "nobody");
    expect_web_reject(env, "POST", "/api/v1/sessions", h, body, strlen(body), 404, "not_found");
}

/* ------------------------------------------------------------------ */
/* Garbage on the phone API                                            */
/* ------------------------------------------------------------------ */

static void garbage_phone_bodies_are_4xx_and_the_session_survives(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "garbage", MC_TEST_ORG, "staff", MC_ALG_P256);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    mc_buf good = {0};
    build(h.ph, &s, MC_PHONE_APPROVE, (uint32_t)s.match, NULL, &good);

    /* random bytes (fixed seed: the same bytes every run) */
    uint8_t rnd[512];
    uint32_t x = 0x9e3779b9u;
    for (size_t i = 0; i < sizeof(rnd); i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        rnd[i] = (uint8_t)x;
    }
    expect_phone_reject(env, s.sid, rnd, sizeof(rnd), NULL, 400, "bad_msgpack");
    /* empty body */
    expect_phone_reject(env, s.sid, NULL, 0, NULL, 400, "bad_msgpack");

    /* every truncation (a stride of them, and the last byte) */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    for (size_t n = 1; n < good.len; n += (n + 13 < good.len ? 13 : 1)) {
        preply r;
        phone_post(env, s.sid, good.ptr, n, NULL, &r);
        if (r.status != 400 || strcmp(r.code, "bad_msgpack") != 0)
            fail_msg("body cut to %zu of %zu bytes: %d %s", n, good.len, r.status, r.code);
    }
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);

    /* one trailing byte */
    mc_buf longer = {0};
    mc_buf_append(&longer, good.ptr, good.len);
    mc_buf_append(&longer, "\x00", 1);
    expect_phone_reject(env, s.sid, longer.ptr, longer.len, NULL, 400, "bad_msgpack");
    mc_buf_free(&longer);

    /* an array32 claiming 4 billion elements: refused at once, no allocation */
    static const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03};
    double t0 = mc_testenv_now();
    expect_phone_reject(env, s.sid, huge, sizeof(huge), NULL, 400, "bad_msgpack");
    static const uint8_t hugemap[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x76, 0x01};
    expect_phone_reject(env, s.sid, hugemap, sizeof(hugemap), NULL, 400, "bad_msgpack");
    static const uint8_t hugebin[] = {0x81, 0xa3, 's', 'i', 'g', 0xc6, 0xff, 0xff, 0xff, 0xf0};
    expect_phone_reject(env, s.sid, hugebin, sizeof(hugebin), NULL, 400, "bad_msgpack");
    assert_true(mc_testenv_now() - t0 < 2.0);

    /* nested 100 deep */
    uint8_t deep[101];
    memset(deep, 0x91, 100);
    deep[100] = 0x01;
    expect_phone_reject(env, s.sid, deep, sizeof(deep), NULL, 400, "bad_msgpack");

    /* 20000 bytes */
    uint8_t *big = calloc(1, 20000);
    assert_non_null(big);
    memcpy(big, good.ptr, good.len);
    expect_phone_reject(env, s.sid, big, 20000, NULL, 413, "too_large");
    free(big);

    /* the right body with the wrong content type */
    expect_phone_reject(env, s.sid, good.ptr, good.len, "text/plain", 415,
                        "unsupported_media_type");
    expect_phone_reject(env, s.sid, good.ptr, good.len, "application/json", 415,
                        "unsupported_media_type");

    /* a chain whose certificate is not DER */
    static const uint8_t notder[] = "-----BEGIN CERTIFICATE-----garbage";
    mc_slice gchain[1] = {{notder, sizeof(notder) - 1}};
    mc_phone_overrides ov = {.chain = gchain, .nchain = 1};
    expect_lie(env, h.ph, &s, &ov, 400, "bad_cert");
    /* a real certificate followed by one byte of garbage in the same bin */
    mc_slice mine[MC_CHAIN_MAX];
    size_t nmine = mc_phone_chain(h.ph, mine, MC_CHAIN_MAX);
    assert_true(nmine >= 1);
    mc_buf padded = {0};
    mc_buf_append(&padded, mine[0].ptr, mine[0].len);
    mc_buf_append(&padded, "\x00", 1);
    gchain[0] = (mc_slice){padded.ptr, padded.len};
    expect_lie(env, h.ph, &s, &ov, 400, "bad_cert");
    mc_buf_free(&padded);

    /* a future protocol version */
    mc_phone_overrides ov2 = {.set_msg_version = 1, .msg_version = 2};
    expect_lie(env, h.ph, &s, &ov2, 400, "bad_version");
    /* a decision that is neither approve nor reject */
    mc_phone_overrides ov3 = {.msg_decision = "maybe", .tbs_decision = "maybe"};
    expect_lie(env, h.ph, &s, &ov3, 400, "bad_field");
    /* a purpose the protocol does not know */
    mc_phone_overrides ov4 = {.msg_purpose = "enroll"};
    expect_lie(env, h.ph, &s, &ov4, 400, "bad_field");
    /* a well-formed sign answer (with its doc_sigs) to a bind session */
    mc_phone_overrides ov5 = {.msg_purpose = "sign"};
    expect_lie(env, h.ph, &s, &ov5, 409, "purpose_mismatch");

    /* after all that, the honest answer */
    expect_honest(env, h.ph, &s, h.login);
    mc_buf_free(&good);
    mc_testenv_holder_free(&h);
}

static void wrong_method_and_unknown_path_on_phone_api_are_msgpack_errors(void **state)
{
    mc_testenv *env = env_of(state);
    char url[256], before[41], after[41];
    preply r;
    mc_testenv_digest(env, before);
    snprintf(url, sizeof(url), "%s/m/v1/nothing-here", env->base);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.code, "not_found");
    snprintf(url, sizeof(url), "%s/m/v1/sessions/ABC!DEFGHJKMNPQRSTVW", env->base);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.code, "unknown_session");
    snprintf(url, sizeof(url), "%s/m/v1/sessions/ABCDEFGHJKMNPQRSTVWX/response", env->base);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.code, "method_not_allowed");
    mc_testenv_phone_req("DELETE", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.code, "method_not_allowed");
    mc_testenv_phone_req("PUT", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.code, "method_not_allowed");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
}

/* ------------------------------------------------------------------ */
/* Garbage on the web API                                              */
/* ------------------------------------------------------------------ */

static void malformed_web_json_is_400_and_oversized_is_413(void **state)
{
    mc_testenv *env = env_of(state);
    const char *const h[] = {CT_JSON_H, NULL};
    const char *p = "/api/v1/sessions";
#define REJ(body, st, code) expect_web_reject(env, "POST", p, h, body, strlen(body), st, code)
    REJ("{\"purpose\":\"login\"", 400, "bad_json");
    REJ("{purpose:login}", 400, "bad_json");
    REJ("\xff\xfe{}", 400, "bad_json");
    REJ("[{\"purpose\":\"login\"}]", 400, "bad_json");
    REJ("\"login\"", 400, "bad_json");
    REJ("null", 400, "bad_json");
    REJ("{\"purpose\":\"login\",\"extra\":1}", 400, "bad_field");
    REJ("{\"purpose\":5}", 400, "bad_field");
    REJ("{\"purpose\":null}", 400, "bad_field");
    REJ("{\"purpose\":[\"login\"]}", 400, "bad_field");
    REJ("{}", 400, "bad_field");
    REJ("{\"purpose\":\"sign\"}", 400, "bad_field");
    REJ("{\"purpose\":\"log\\u0000in\"}", 400, "bad_json"); /* jansson refuses \u0000 */
    REJ("{\"purpose\":\"login\",\"purpose\":\"login\"}", 400, "bad_json");
    REJ("{\"purpose\":\"login\",\"account\":\"admin\"}", 400, "bad_field");
#undef REJ
    expect_web_reject(env, "POST", p, h, "", 0, 400, "bad_json");
    /* 10000 bytes of otherwise valid JSON */
    char *big = malloc(10001);
    assert_non_null(big);
    int n = snprintf(big, 10001, "{\"purpose\":\"login\",\"account\":\"");
    memset(big + n, 'a', 10000 - (size_t)n - 2);
    memcpy(big + 10000 - 2, "\"}", 2);
    big[10000] = '\0';
    expect_web_reject(env, "POST", p, h, big, 10000, 413, "too_large");
    free(big);
    /* the login page's JSON with the wrong content type */
    const char *const ht[] = {"Content-Type: text/plain", NULL};
    const char *ok = "{\"purpose\":\"login\"}";
    expect_web_reject(env, "POST", p, ht, ok, strlen(ok), 415, "unsupported_media_type");
    /* the honest request works */
    assert_int_equal(mc_testenv_web_req(env, "POST", p, h, ok, strlen(ok), NULL), 201);
}

static void missing_or_invalid_bearer_is_401(void **state)
{
    mc_testenv *env = env_of(state);
    expect_web_reject(env, "GET", "/api/v1/me", NULL, NULL, 0, 401, "unauthorized");
    const char *const bad[][2] = {
        {"Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},
        {"Authorization: Bearer short", NULL},
        {"Authorization: Basic YWRtaW46cHc=", NULL},
        {"Authorization: bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_web_reject(env, "GET", "/api/v1/me", bad[i], NULL, 0, 401, "unauthorized");
    /* a bind session needs a login (a stale token counts as none) */
    const char *const h[] = {CT_JSON_H, NULL};
    const char *b = "{\"purpose\":\"bind\",\"account\":\"admin\"}";
    expect_web_reject(env, "POST", "/api/v1/sessions", h, b, strlen(b), 401, "unauthorized");
    const char *const hb[] = {CT_JSON_H, bad[0][0], NULL};
    expect_web_reject(env, "POST", "/api/v1/sessions", hb, b, strlen(b), 401, "unauthorized");
    const char *self = "{\"purpose\":\"bind\"}";
    expect_web_reject(env, "POST", "/api/v1/sessions", hb, self, strlen(self), 401,
                      "unauthorized");
    expect_web_reject(env, "DELETE", "/api/v1/bindings/admin", bad[0], NULL, 0, 401,
                      "unauthorized");
    /* a token that was logged out */
    char *tok = mc_testenv_login(env, "admin");
    char auth[200];
    bearer(auth, sizeof(auth), tok);
    const char *const ha[] = {auth, NULL};
    assert_int_equal(mc_testenv_web_req(env, "GET", "/api/v1/me", ha, NULL, 0, NULL), 200);
    assert_int_equal(mc_testenv_web_req(env, "POST", "/api/v1/logout", ha, NULL, 0, NULL), 200);
    expect_web_reject(env, "GET", "/api/v1/me", ha, NULL, 0, 401, "unauthorized");
    free(tok);
    /* A token names its account: a live token's secret under another
     * account's name, a changed secret, an oversized or misshapen name are
     * all just unknown tokens. */
    tok = mc_testenv_login(env, "admin");
    size_t n = strlen(tok);
    assert_true(n > MC_TOKEN_SECRET_LEN + 1 && tok[MC_TOKEN_SECRET_LEN] == '.');
    char forged[5][300];
    snprintf(forged[0], sizeof(forged[0]), "Authorization: Bearer %.*s.%s",
             MC_TOKEN_SECRET_LEN, tok, "alice");
    snprintf(forged[1], sizeof(forged[1]), "Authorization: Bearer %s", tok);
    char *last = forged[1] + strlen("Authorization: Bearer ") + MC_TOKEN_SECRET_LEN - 1;
    *last = *last == 'A' ? 'B' : 'A';                                  /* secret changed */
    snprintf(forged[2], sizeof(forged[2]), "Authorization: Bearer %.*s.%065d",
             MC_TOKEN_SECRET_LEN, tok, 0);                            /* 65-byte name */
    snprintf(forged[3], sizeof(forged[3]), "Authorization: Bearer %.*s.ADMIN",
             MC_TOKEN_SECRET_LEN, tok);                               /* not a login name */
    snprintf(forged[4], sizeof(forged[4]), "Authorization: Bearer %s extra", tok);
    for (int i = 0; i < 5; i++) {
        const char *const hf[] = {forged[i], NULL};
        expect_web_reject(env, "GET", "/api/v1/me", hf, NULL, 0, 401, "unauthorized");
    }
    bearer(auth, sizeof(auth), tok); /* the real one still works */
    assert_int_equal(mc_testenv_web_req(env, "GET", "/api/v1/me", ha, NULL, 0, NULL), 200);
    free(tok);
}

/* ?qr= names renderings exactly; an unknown one is refused before anything
 * is written, and the known ones give exactly what was asked for. */
static void qr_query_lists_known_renderings_only(void **state)
{
    mc_testenv *env = env_of(state);
    const char *const h[] = {CT_JSON_H, NULL};
    const char *body = "{\"purpose\":\"login\"}";
    const char *bad[] = {"bogus", "svgpng", "svg,,png", "svg,", "SVG", "png,text,x", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[96];
        snprintf(path, sizeof(path), "/api/v1/sessions?qr=%s", bad[i]);
        expect_web_reject(env, "POST", path, h, body, strlen(body), 400, "bad_query");
    }
    static const struct {
        const char *q;
        int svg, png, text;
    } ok[] = {{"svg", 1, 0, 0}, {"png,text", 0, 1, 1}, {"none", 0, 0, 0},
              {"text,svg,png", 1, 1, 1}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char path[96];
        snprintf(path, sizeof(path), "/api/v1/sessions?qr=%s", ok[i].q);
        json_t *o = NULL;
        assert_int_equal(mc_testenv_web_req(env, "POST", path, h, body, strlen(body), &o), 201);
        json_t *qr = json_object_get(o, "qr");
        assert_true(json_is_string(json_object_get(qr, "payload")));
        assert_int_equal(json_object_get(qr, "svg") != NULL, ok[i].svg);
        assert_int_equal(json_object_get(qr, "png") != NULL, ok[i].png);
        assert_int_equal(json_object_get(qr, "text") != NULL, ok[i].text);
        json_decref(o);
    }
}

/* Past the absolute HTTP caps (64 KiB body, 16 KiB headers) libevent itself
 * refuses the request (a bare 4xx, not our JSON): still nothing written,
 * and the server keeps serving. */
static void bodies_and_headers_past_the_http_caps_are_refused(void **state)
{
    mc_testenv *env = env_of(state);
    char url[160], before[41], after[41];
    snprintf(url, sizeof(url), "%s/api/v1/login", env->base);
    size_t n = 100 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    big[0] = '{';
    const char *const hj[] = {CT_JSON_H, NULL};
    mc_testenv_digest(env, before);
    mc_http_reply rep;
    mc_err e;
    assert_int_equal(mc_http_request("POST", url, hj, big, n, 10, &rep, &e), 0);
    assert_int_equal(rep.status, 413);
    mc_http_reply_free(&rep);
    /* one 20 KiB header */
    char *hdr = malloc(20 * 1024 + 16);
    assert_non_null(hdr);
    memcpy(hdr, "X-Junk: ", 8);
    memset(hdr + 8, 'b', 20 * 1024);
    hdr[8 + 20 * 1024] = '\0';
    const char *const hh[] = {hdr, NULL};
    snprintf(url, sizeof(url), "%s/healthz", env->base);
    int rc = mc_http_request("GET", url, hh, NULL, 0, 10, &rep, &e);
    /* libevent answers 400 or just closes the connection; either way no 2xx */
    if (rc == 0) {
        assert_true(rep.status >= 400 && rep.status < 500);
        mc_http_reply_free(&rep);
    }
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    assert_int_equal(mc_testenv_web_req(env, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
    free(big);
    free(hdr);
}

static void poll_without_secret_is_401_wrong_secret_403_bad_wait_400(void **state)
{
    mc_testenv *env = env_of(state);
    char sid[MC_SID_LEN + 1], poll[64], path[160], hs[128];
    int match;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    snprintf(path, sizeof(path), "/api/v1/sessions/%s?wait=0", sid);
    expect_web_reject(env, "GET", path, NULL, NULL, 0, 401, "bad_poll_secret");
    const char *const wrong[] = {"X-Poll-Secret: not-the-secret-not-the-secret-not-the", NULL};
    expect_web_reject(env, "GET", path, wrong, NULL, 0, 403, "bad_poll_secret");
    /* the secret of another session */
    char sid2[MC_SID_LEN + 1], poll2[64];
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid2, poll2, &match, NULL), 201);
    snprintf(hs, sizeof(hs), "X-Poll-Secret: %s", poll2);
    const char *const other[] = {hs, NULL};
    expect_web_reject(env, "GET", path, other, NULL, 0, 403, "bad_poll_secret");
    /* near misses and oversized secrets: the whole header is the secret */
    char near[3][6000];
    snprintf(near[0], sizeof(near[0]), "X-Poll-Secret: %sx", poll);       /* one byte more */
    snprintf(near[1], sizeof(near[1]), "X-Poll-Secret: %.*s", (int)strlen(poll) - 1, poll);
    int k = snprintf(near[2], sizeof(near[2]), "X-Poll-Secret: %s", poll); /* then 5 KB */
    memset(near[2] + k, 'A', 5000);
    near[2][k + 5000] = '\0';
    for (int i = 0; i < 3; i++) {
        const char *const hn[] = {near[i], NULL};
        expect_web_reject(env, "GET", path, hn, NULL, 0, 403, "bad_poll_secret");
    }
    /* the right secret with a bad wait */
    snprintf(hs, sizeof(hs), "X-Poll-Secret: %s", poll);
    const char *const right[] = {hs, NULL};
    static const char *const waits[] = {"abc", "-1", "31", "1x", ""};
    for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
        snprintf(path, sizeof(path), "/api/v1/sessions/%s?wait=%s&state=pending", sid,
                 waits[i]);
        expect_web_reject(env, "GET", path, right, NULL, 0, 400, "bad_query");
    }
    /* unknown and malformed sessions */
    snprintf(path, sizeof(path), "/api/v1/sessions/ABCDEFGHJKMNPQRSTVWX?wait=0");
    expect_web_reject(env, "GET", path, right, NULL, 0, 404, "unknown_session");
    expect_web_reject(env, "GET", "/api/v1/sessions/not-a-sid?wait=0", right, NULL, 0, 404,
                      "unknown_session");
    /* and the right request works */
    snprintf(path, sizeof(path), "/api/v1/sessions/%s?wait=0", sid);
    json_t *o = NULL;
    assert_int_equal(mc_testenv_web_req(env, "GET", path, right, NULL, 0, &o), 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "pending");
    json_decref(o);
}

static void foreign_origin_on_post_is_bad_origin(void **state)
{
    mc_testenv *env = env_of(state);
    fixture *f = *state;
    const char *l = "{\"purpose\":\"login\"}";
    static const char *const origins[] = {
        "Origin: https://phish.example",
        "Origin: null",
        "Origin: http://127.0.0.1",            /* right host, no port */
        "Origin: http://localhost:1",
    };
    for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
        const char *const h[] = {CT_JSON_H, origins[i], NULL};
        expect_web_reject(env, "POST", "/api/v1/sessions", h, l, strlen(l), 403, "bad_origin");
    }
    /* a foreign page trying to bind with a stolen token, or to log in */
    char auth[200];
    bearer(auth, sizeof(auth), f->admin.tok);
    const char *const hb[] = {CT_JSON_H, auth, "Origin: https://phish.example", NULL};
    const char *b = "{\"purpose\":\"bind\",\"account\":\"admin\"}";
    expect_web_reject(env, "POST", "/api/v1/sessions", hb, b, strlen(b), 403, "bad_origin");
    const char *lg = "{\"account\":\"admin\",\"password\":\"pw-admin-secret\"}";
    const char *const hl[] = {CT_JSON_H, "Origin: https://phish.example", NULL};
    expect_web_reject(env, "POST", "/api/v1/login", hl, lg, strlen(lg), 403, "bad_origin");
    const char *const hd[] = {auth, "Origin: https://phish.example", NULL};
    expect_web_reject(env, "DELETE", "/api/v1/bindings/admin", hd, NULL, 0, 403, "bad_origin");
    /* our own origin is fine */
    char own[128];
    snprintf(own, sizeof(own), "Origin: %s", env->base);
    const char *const ho[] = {CT_JSON_H, own, NULL};
    json_t *o = NULL;
    assert_int_equal(mc_testenv_web_req(env, "POST", "/api/v1/sessions", ho, l, strlen(l), &o),
                     201);
    json_decref(o);
}

static void unknown_path_is_404_and_wrong_method_is_405(void **state)
{
    mc_testenv *env = env_of(state);
    expect_web_reject(env, "GET", "/api/v1/nothing", NULL, NULL, 0, 404, "not_found");
    expect_web_reject(env, "GET", "/api/v2/me", NULL, NULL, 0, 404, "not_found");
    expect_web_reject(env, "GET", "/api/v1/me/", NULL, NULL, 0, 404, "not_found");
    /* a session id with characters no id has is an unknown session */
    expect_web_reject(env, "GET", "/api/v1/sessions/ABC!DEF", NULL, NULL, 0, 404,
                      "unknown_session");
    expect_web_reject(env, "GET", "/api/v1/sessions/A%20B/qr.png", NULL, NULL, 0, 404,
                      "unknown_session");
    expect_web_reject(env, "GET", "/api/v1/login", NULL, NULL, 0, 405, "method_not_allowed");
    expect_web_reject(env, "DELETE", "/api/v1/sessions", NULL, NULL, 0, 405,
                      "method_not_allowed");
    expect_web_reject(env, "POST", "/api/v1/me", NULL, NULL, 0, 405, "method_not_allowed");
    expect_web_reject(env, "PUT", "/api/v1/me", NULL, NULL, 0, 405, "method_not_allowed");
    expect_web_reject(env, "PATCH", "/api/v1/sessions", NULL, NULL, 0, 405,
                      "method_not_allowed");
    expect_web_reject(env, "OPTIONS", "/api/v1/login", NULL, NULL, 0, 405,
                      "method_not_allowed");
    /* HEAD: the same status, and no body by definition */
    char url[256];
    snprintf(url, sizeof(url), "%s/api/v1/login", env->base);
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err e;
    assert_int_equal(mc_http_request("HEAD", url, NULL, NULL, 0, 10, &rep, &e), 0);
    assert_int_equal(rep.status, 405);
    mc_http_reply_free(&rep);
    /* a body where none is taken */
    const char *const h[] = {CT_JSON_H, NULL};
    expect_web_reject(env, "GET", "/api/v1/me", h, "{}", 2, 400, "unexpected_body");
}

/* ------------------------------------------------------------------ */
/* SM2                                                                 */
/* ------------------------------------------------------------------ */

static void sm2_phone_lies_are_refused_and_its_honest_answer_binds(void **state)
{
    mc_testenv *env = env_of(state);
    holder h;
    mc_testenv_holder_new(env, &h, "sm2holder", MC_TEST_ORG, "staff", MC_ALG_SM2);
    assert_int_equal(mc_phone_alg(h.ph), MC_ALG_SM2);
    sess s;
    open_fetch(env, h.tok, "bind", NULL, &s);
    uint8_t nonce[MC_NONCE_LEN];
    memcpy(nonce, s.v.s.nonce, sizeof(nonce));
    nonce[0] ^= 1;
    mc_phone_overrides ov = {.tbs_nonce = nonce};
    expect_lie(env, h.ph, &s, &ov, 403, "bad_signature");
    mc_phone_overrides ov2 = {.corrupt_sig = 1};
    expect_lie(env, h.ph, &s, &ov2, 403, "bad_signature");
    /* an ECDSA-on-P-256 signature presented with the SM2 certificate */
    mc_phone_overrides ov3 = {.sign_key = mc_phone_key(((fixture *)*state)->admin.ph)};
    expect_lie(env, h.ph, &s, &ov3, 403, "bad_signature");
    mc_phone_overrides ov4 = {.msg_origin = "https://phish.example"};
    expect_lie(env, h.ph, &s, &ov4, 409, "origin_mismatch");
    expect_honest(env, h.ph, &s, h.login);
    char cert[65];
    account_cert(env, h.login, cert);
    assert_string_equal(cert, h.fp);
    mc_testenv_holder_free(&h);
}

/* ------------------------------------------------------------------ */
/* Expiry (its own env: session TTL 2 s)                               */
/* ------------------------------------------------------------------ */

static void expired_session_is_410_for_fetch_and_answer_and_poll_says_expired(void **state)
{
    mc_testenv *env = mc_testenv_start(2);
    holder h;
    mc_testenv_holder_new(env, &h, "late", MC_TEST_ORG, "staff", MC_ALG_P256);
    /* A: fetched and answered too late; B: never fetched */
    sess a;
    open_fetch(env, h.tok, "bind", NULL, &a);
    char bsid[MC_SID_LEN + 1], bpoll[64];
    int bmatch;
    assert_int_equal(mc_testenv_open(env, h.tok, "bind", NULL, bsid, bpoll, &bmatch, NULL), 201);
    mc_buf body = {0};
    build(h.ph, &a, MC_PHONE_APPROVE, (uint32_t)a.match, NULL, &body);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    sleep(3);

    char url[256];
    preply r;
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%s", env->base, a.sid);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 410);
    assert_string_equal(r.code, "session_expired");
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%s", env->base, bsid);
    mc_testenv_phone_req("GET", url, NULL, 0, NULL, 1, &r);
    assert_int_equal(r.status, 410);
    assert_string_equal(r.code, "session_expired");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after); /* B was not marked scanned */
    expect_phone_reject(env, a.sid, body.ptr, body.len, NULL, 410, "session_expired");
    mc_buf_free(&body);

    int st;
    json_t *p = mc_testenv_poll(env, a.sid, a.poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "expired");
    assert_null(json_object_get(p, "account"));
    json_decref(p);
    p = mc_testenv_poll(env, bsid, bpoll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "expired");
    json_decref(p);
    /* a long poll on an expired session answers at once */
    double t0 = mc_testenv_now();
    p = mc_testenv_poll(env, a.sid, a.poll, "scanned", 10, &st);
    assert_true(mc_testenv_now() - t0 < 2.0);
    assert_string_equal(mc_testenv_jstr(p, "state"), "expired");
    json_decref(p);
    char cert[65];
    account_cert(env, h.login, cert);
    assert_string_equal(cert, "");
    mc_testenv_holder_free(&h);
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest hostile[] = {
        cmocka_unit_test(replayed_approval_gets_the_first_result_and_writes_nothing),
        cmocka_unit_test(racing_answers_one_wins_the_other_is_session_done),
        cmocka_unit_test(answer_for_session_a_posted_to_b_is_sid_mismatch),
        cmocka_unit_test(signature_over_another_sid_is_bad_signature),
        cmocka_unit_test(message_purpose_login_on_bind_session_is_purpose_mismatch),
        cmocka_unit_test(signed_purpose_changed_is_bad_signature),
        cmocka_unit_test(message_origin_changed_is_origin_mismatch),
        cmocka_unit_test(signed_origin_changed_is_bad_signature),
        cmocka_unit_test(signed_nonce_changed_is_bad_signature),
        cmocka_unit_test(signed_expiry_changed_is_bad_signature),
        cmocka_unit_test(signed_account_changed_is_bad_signature),
        cmocka_unit_test(signed_decision_changed_is_bad_signature),
        cmocka_unit_test(corrupted_or_foreign_signature_is_bad_signature),
        cmocka_unit_test(decoy_number_ends_the_session),
        cmocka_unit_test(unknown_or_malformed_session_id_is_404),
        cmocka_unit_test(certificate_from_untrusted_ca_is_cert_untrusted),
        cmocka_unit_test(expired_certificate_is_cert_expired),
        cmocka_unit_test(certificate_without_digital_signature_is_cert_key_usage),
        cmocka_unit_test(certificate_of_another_org_is_org_mismatch),
        cmocka_unit_test(certificate_bound_to_another_account_is_cert_bound),
        cmocka_unit_test(revoked_certificate_cannot_log_in_and_its_binding_is_gone),
        cmocka_unit_test(staff_cannot_bind_or_unbind_another_account),
        cmocka_unit_test(admin_of_another_org_cannot_bind_or_unbind_our_account),
        cmocka_unit_test(bind_session_for_bound_account_is_account_bound),
        cmocka_unit_test(garbage_phone_bodies_are_4xx_and_the_session_survives),
        cmocka_unit_test(wrong_method_and_unknown_path_on_phone_api_are_msgpack_errors),
        cmocka_unit_test(malformed_web_json_is_400_and_oversized_is_413),
        cmocka_unit_test(missing_or_invalid_bearer_is_401),
        cmocka_unit_test(poll_without_secret_is_401_wrong_secret_403_bad_wait_400),
        cmocka_unit_test(qr_query_lists_known_renderings_only),
        cmocka_unit_test(bodies_and_headers_past_the_http_caps_are_refused),
        cmocka_unit_test(foreign_origin_on_post_is_bad_origin),
        cmocka_unit_test(unknown_path_is_404_and_wrong_method_is_405),
        cmocka_unit_test(sm2_phone_lies_are_refused_and_its_honest_answer_binds),
    };
    const struct CMUnitTest expiry[] = {
        cmocka_unit_test(expired_session_is_410_for_fetch_and_answer_and_poll_says_expired),
    };
    /* HOSTILE_FILTER=<glob> runs only the matching tests (for debugging) */
    if (getenv("HOSTILE_FILTER") != NULL)
        cmocka_set_test_filter(getenv("HOSTILE_FILTER"));
    int failed = cmocka_run_group_tests_name("hostile", hostile, group_setup, group_teardown);
    failed += cmocka_run_group_tests_name("expiry", expiry, NULL, NULL);
    return failed;
}
