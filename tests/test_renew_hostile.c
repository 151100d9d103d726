/*
 * test_renew_hostile.c — the extension (延期, PROTOCOL.md §10) tried as an
 * attacker and as an operator would, against a real redis-server and the
 * real mcertd, with the reference phone's lies (mc_phone_overrides): every
 * hostile answer or request gets its exact status and code and writes
 * nothing (Redis DEBUG DIGEST equal before and after).
 *
 * Where the protocol says the session ends (a signed rejection, a wrong
 * number) the test asserts exactly that: the keys that changed are the
 * session's record and the certificate's inbox, and nothing else (a
 * per-key digest, DEBUG DIGEST-VALUE, before and after): no certificate,
 * no audit entry, the renewal still pending_extension.
 *
 * Covered:
 *   - TBS lies (§10.6): another renewal, another new_not_after, a csr_hash
 *     of other bytes, bin(32) for a kept key, bin(0) beside a CSR, the
 *     11-element TBS of §4, the 13-element sign TBS, the other elements of
 *     §4 — 403 bad_signature, on both curves;
 *   - the csr key (§3.2 step 1, §10.4): missing on a renew answer, present
 *     on bind and login answers, not a bin, repeated, non-empty on a
 *     reject — 400 bad_field; answers of another purpose — 409
 *     purpose_mismatch; another origin — 409 origin_mismatch;
 *   - rekey CSRs (§10.4 steps 12, 12'): not one DER PKCS#10 (garbage,
 *     truncated, trailing bytes, two, PEM, a non-minimal length), a broken
 *     proof of possession — 400 bad_csr; P-384 — 400 unsupported_key;
 *     another subject, the same subject re-encoded — 409 subject_mismatch;
 *     the other curve — 409 alg_mismatch; the current key — 409 same_key;
 *     and after all of them the session still extends;
 *   - the certificate (§10.4 steps 8, 8', 13): a twin (same key, same
 *     subject, another serial) and another valid one of the organisation —
 *     403 not_current_cert, also for a reject; revoked after the session
 *     opened — 403 cert_revoked; superseded by an extension — 403
 *     cert_superseded (the old chain on the next renewal, and on a second
 *     session of the renewal already extended); refunded after the session
 *     opened — 409 bad_transition at the atomic step, also once a new
 *     renewal of the certificate is paid;
 *   - replays (§3.2): the approved bytes to another session (409
 *     sid_mismatch), with the sid rewritten (403 bad_signature), after the
 *     session's record is gone (404 unknown_session); two different
 *     approvals racing (one 200, one 409 session_done, one certificate);
 *     two identical ones and a different one racing (the identical pair
 *     both get the same certificate, or both lose);
 *   - operator faults: renew_commit's reply lost after it ran (fault proxy:
 *     503, then the phone's resend of the same bytes gets the certificate
 *     recorded, never a second one); Redis hung during an extension (503
 *     store_unavailable within the deadline, then the resend extends);
 *   - the web side (§10.2): renew-session and refund by another
 *     organisation's admin or a colleague (404), an operator (403
 *     not_permitted), in every state but pending_extension (409
 *     bad_transition); two refunds racing (refunded once); renewals of one
 *     certificate made at once (never two open); an extension and a refund
 *     racing (exactly one happens);
 *   - a binding moved after the renewal was paid: the session must show the
 *     account the new certificate goes to; a binding that moves after the
 *     session opened is refused (binding_changed); the holder now reads
 *     the renewal (GET, the list) and extends it, the holder it was made
 *     for reads and does not act (403), a colleague holding neither 404;
 *     a refund judged for a holder whose binding moves before the atomic
 *     step is refused there (403 not_permitted, nothing written).
 *
 * Non-goals: the happy paths (tests/test_renew.c), the checks that §3.2
 * shares with bind and login (tests/test_hostile.c), the worker pool full
 * (503 busy: it cannot be made to happen on demand), store faults in
 * general (tests/test_faults.c).
 *
 * Layout: every test starts its own env (faults and states must not leak
 * into another test).
 */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mc_crypto.h"
#include "mc_http.h"
#include "mc_renew.h"
#include "mc_results.h"
#include "mc_testhelp.h"
#include "mc_x509.h"

#define MSGPACK_HDR "Content-Type: application/x-msgpack"
#define DEADLINE_ARGS {"--store-deadline", "1000", NULL}
#define UNAVAILABLE_BOUND 3.0 /* seconds: a 1000 ms store deadline, generously */
#define RESUME_BOUND 10.0     /* seconds until service is back after a fault */

/* ------------------------------------------------------------------ */
/* A rig: an env, a holder bound to its phone, its web token            */
/* ------------------------------------------------------------------ */

typedef struct rig {
    mc_testenv *env;
    mc_testfault_proxy *proxy; /* lossy rigs: mcertd reaches Redis through it */
    char login[32];
    char dir[300];             /* the holder's phone store */
    char fp[65];               /* its certificate when the rig started */
    char *tok;                 /* the holder's password-login token */
} rig;

/* mode 0: plain; 1: a 1 s store deadline; 2: that and the fault proxy. */
static void rig_start(rig *g, int mode, mc_alg alg)
{
    memset(g, 0, sizeof(*g));
    const char *const args[] = DEADLINE_ARGS;
    mc_testenv_opts o = {.mcertd_args = mode ? args : NULL, .proxy = mode == 2 ? &g->proxy : NULL};
    g->env = mc_testenv_start_opts(&o);
    snprintf(g->login, sizeof(g->login), "holder");
    mc_phone_free(mc_testenv_bound_phone(g->env, g->login, MC_TEST_ORG, "staff", alg, g->fp));
    snprintf(g->dir, sizeof(g->dir), "%s/%s", g->env->dir, g->login);
    g->tok = mc_testenv_login(g->env, g->login);
}

static void rig_stop(rig *g)
{
    free(g->tok);
    mc_testenv_stop(g->env);
    mc_testfault_proxy_free(g->proxy);
}

static mc_phone *phone_open(const char *dir)
{
    mc_phone_err pe;
    mc_phone *ph = mc_phone_open(dir, MC_TEST_PIN, &pe);
    if (ph == NULL)
        fail_msg("open %s: %s %s", dir, pe.code, pe.msg);
    return ph;
}

/* An admin of the organisation (admin: its token) unbinds the rig's
 * holder's certificate and, if to_tok is not NULL, binds the rig's phone
 * to the account whose token that is (login to_login): the certificate
 * then names to_login. */
static void rig_move_binding(rig *g, const char *admin, const char *to_tok, const char *to_login)
{
    char path[120];
    snprintf(path, sizeof(path), "/api/v1/bindings/%s", g->login);
    json_decref(mc_testenv_api_want(g->env, "DELETE", path, admin, NULL, 200));
    if (to_tok == NULL)
        return;
    mc_phone *ph = phone_open(g->dir);
    mc_testenv_bind(g->env, ph, to_tok);
    mc_phone_free(ph);
    mc_testenv_expect_field(g->env, "cert", g->fp, "account", to_login);
}

/* The phone's current leaf, parsed (caller frees). */
static X509 *phone_leaf(const mc_phone *ph)
{
    mc_slice ch[MC_CHAIN_MAX];
    assert_true(mc_phone_chain(ph, ch, MC_CHAIN_MAX) >= 1);
    const unsigned char *p = ch[0].ptr;
    X509 *x = d2i_X509(NULL, &p, (long)ch[0].len);
    assert_non_null(x);
    return x;
}

/* The phone's current chain, copied (leaf first) into out[0..*n). */
static void phone_chain_copy(const char *dir, mc_buf out[MC_CHAIN_MAX], size_t *n)
{
    mc_phone *ph = phone_open(dir);
    mc_slice ch[MC_CHAIN_MAX];
    *n = mc_phone_chain(ph, ch, MC_CHAIN_MAX);
    for (size_t i = 0; i < *n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        mc_buf_append(&out[i], ch[i].ptr, ch[i].len);
    }
    mc_phone_free(ph);
}

/* ------------------------------------------------------------------ */
/* Renewals and their sessions                                          */
/* ------------------------------------------------------------------ */

static json_t *renew_order(mc_testenv *env, const char *tok, const char *fp, int years, int *st)
{
    return mc_testenv_api(env, "POST", "/api/v1/renewals", tok,
                          json_pack("{s:s, s:i}", "fp", fp, "years", years), st);
}

/* Pay order oid through the sandbox's cashier. */
static void sandbox_pay(mc_testenv *env, const char *tok, const char *oid)
{
    char path[120];
    int st;
    snprintf(path, sizeof(path), "/pay/sandbox/%s/confirm", oid);
    json_t *c = mc_testenv_api(env, "POST", path, tok, json_pack("{s:s}", "method", "wechat"),
                               &st);
    if (st != 200)
        fail_msg("confirm: %d %s", st, mc_testenv_jstr(c, "code"));
    assert_string_equal(mc_testenv_jstr(c, "renewal_state"), "pending_extension");
    json_decref(c);
}

/* A renewal of fp made (201) and paid: its id into rid. */
static void renew_paid(mc_testenv *env, const char *tok, const char *fp, int years,
                       char rid[MC_REN_ID_LEN + 1])
{
    int st;
    json_t *r = renew_order(env, tok, fp, years, &st);
    if (st != 201)
        fail_msg("renewal: %d %s", st, mc_testenv_jstr(r, "code"));
    snprintf(rid, MC_REN_ID_LEN + 1, "%s", mc_testenv_jstr(json_object_get(r, "renewal"), "id"));
    char oid[40];
    snprintf(oid, sizeof(oid), "%s", mc_testenv_jstr(json_object_get(r, "order"), "order"));
    json_decref(r);
    sandbox_pay(env, tok, oid);
}

/* The renewal's state as GET /api/v1/renewals/<rid> shows it. */
static void renew_state(mc_testenv *env, const char *tok, const char *rid, char out[32])
{
    char path[80];
    int st;
    snprintf(path, sizeof(path), "/api/v1/renewals/%s", rid);
    json_t *g = mc_testenv_api(env, "GET", path, tok, NULL, &st);
    if (st != 200)
        fail_msg("GET %s: %d %s", path, st, mc_testenv_jstr(g, "code"));
    snprintf(out, 32, "%s", mc_testenv_jstr(g, "state"));
    json_decref(g);
}

static void expect_renew_state(mc_testenv *env, const char *tok, const char *rid,
                               const char *want)
{
    char s[32];
    renew_state(env, tok, rid, s);
    if (strcmp(s, want) != 0)
        fail_msg("renewal %s is %s, want %s", rid, s, want);
}

/* Wait (up to 5 s) until the renewal is in state want. */
static void await_renew_state(mc_testenv *env, const char *tok, const char *rid,
                              const char *want)
{
    char s[32] = "";
    for (int i = 0; i < 100; i++) {
        renew_state(env, tok, rid, s);
        if (strcmp(s, want) == 0)
            return;
        usleep(50000);
    }
    fail_msg("renewal %s stays %s, want %s", rid, s, want);
}

/* POST renew-session: the status, and the reply's code into code (may be
 * NULL); the sid etc. of a 201 into the caller's buffers (may be NULL). */
static int renew_session_req(mc_testenv *env, const char *tok, const char *rid,
                             char sid[MC_SID_LEN + 1], char poll[64], int *match,
                             char code[32])
{
    char path[120];
    int st;
    snprintf(path, sizeof(path), "/api/v1/renewals/%s/renew-session?qr=none", rid);
    json_t *r = mc_testenv_api(env, "POST", path, tok, NULL, &st);
    if (st == 201 && sid != NULL) {
        snprintf(sid, MC_SID_LEN + 1, "%s", mc_testenv_jstr(r, "sid"));
        snprintf(poll, 64, "%s", mc_testenv_jstr(r, "poll_secret"));
        *match = (int)json_integer_value(json_object_get(r, "match"));
    }
    if (code != NULL)
        snprintf(code, 32, "%s", mc_testenv_jstr(r, "code"));
    json_decref(r);
    return st;
}

/* An extension's session, opened and fetched by a phone. v.renew points
 * at ri: never copy the struct. */
typedef struct rsess {
    char sid[MC_SID_LEN + 1];
    char poll[64];
    int match;
    mc_session_view v;
    mc_renew_info ri;
} rsess;

static rsess *rsess_open(mc_testenv *env, const char *tok, const char *rid)
{
    rsess *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    char code[32];
    int st = renew_session_req(env, tok, rid, s->sid, s->poll, &s->match, code);
    if (st != 201)
        fail_msg("renew-session %s: %d %s", rid, st, code);
    mc_phone_err pe;
    if (mc_phone_fetch_ex(env->base, s->sid, &s->v, NULL, &s->ri, &pe) != 0)
        fail_msg("fetch %s: %d %s %s", s->sid, pe.status, pe.code, pe.msg);
    assert_int_equal(s->v.s.purpose, MC_PURPOSE_RENEW);
    assert_string_equal(s->ri.renewal, rid);
    return s;
}

/* The browser's poll of the session: its state into state (and its
 * reason, "" if none). */
static void session_state(mc_testenv *env, const rsess *s, char state[32], char reason[32])
{
    int st;
    json_t *p = mc_testenv_poll(env, s->sid, s->poll, NULL, 0, &st);
    if (st != 200)
        fail_msg("poll %s: %d %s", s->sid, st, mc_testenv_jstr(p, "code"));
    snprintf(state, 32, "%s", mc_testenv_jstr(p, "state"));
    if (reason != NULL)
        snprintf(reason, 32, "%s", mc_testenv_jstr(p, "reason"));
    json_decref(p);
}

/* ------------------------------------------------------------------ */
/* Phone answers: these exact bytes, decoded                           */
/* ------------------------------------------------------------------ */

typedef struct preply {
    int status;           /* 0: no reply (err says why) */
    double secs;
    char code[32];        /* an error's code ("" if it is not {code, message}) */
    char msg[160];
    char state[16];       /* a 200's */
    char account[MC_ACCOUNT_MAX + 1];
    char fp[65];          /* an approved extension's new certificate */
    mc_buf leaf;          /* ... and its DER */
    char err[200];
} preply;

static void preply_free(preply *r)
{
    mc_buf_free(&r->leaf);
}

static void post_answer(mc_testenv *env, const char *sid, const uint8_t *body, size_t len,
                        preply *out)
{
    memset(out, 0, sizeof(*out));
    char url[256];
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%s/response", env->base, sid);
    const char *const h[] = {MSGPACK_HDR, NULL};
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err e;
    double t0 = mc_testenv_now();
    int rc = mc_http_request("POST", url, h, body, len, 20, &rep, &e);
    out->secs = mc_testenv_now() - t0;
    if (rc != 0) {
        snprintf(out->err, sizeof(out->err), "%s", e.msg);
        return;
    }
    out->status = rep.status;
    if (rep.status >= 400) {
        if (mc_error_decode(rep.body.ptr, rep.body.len, out->code, sizeof(out->code), out->msg,
                            sizeof(out->msg)) != 0)
            out->code[0] = '\0';
    } else if (rep.status == 200) {
        mc_renew_result rr;
        if (mc_result_renew_decode(rep.body.ptr, rep.body.len, &rr, &e) == 0) {
            snprintf(out->state, sizeof(out->state), "%s", rr.state);
            snprintf(out->account, sizeof(out->account), "%s", rr.account);
            snprintf(out->fp, sizeof(out->fp), "%s", rr.fp);
            if (rr.nchain > 0)
                mc_buf_append(&out->leaf, rr.chain[0].ptr, rr.chain[0].len);
        } else if (mc_result_decode(rep.body.ptr, rep.body.len, out->state, sizeof(out->state),
                                    out->account, sizeof(out->account), &e) != 0) {
            snprintf(out->err, sizeof(out->err), "a 200 that is no result");
        }
    }
    mc_http_reply_free(&rep);
}

/* Build a renew answer (csr: the CSR sent; len 0 keeps the key). */
static void build_renew(const mc_phone *ph, const rsess *s, mc_phone_decision d, uint32_t number,
                        const mc_buf *csr, const mc_phone_overrides *ov, mc_buf *body)
{
    mc_phone_err pe;
    mc_slice c = csr ? (mc_slice){csr->ptr, csr->len} : (mc_slice){NULL, 0};
    body->len = 0;
    if (mc_phone_build_renew(ph, &s->v, d, number, c, ov, NULL, body, &pe) != 0)
        fail_msg("build: %s %s", pe.code, pe.msg);
}

/* Send body to sid: want status and code, and the data set unchanged. */
static void refused_raw(mc_testenv *env, const char *sid, const mc_buf *body, int status,
                        const char *code, const char *what)
{
    char d1[41], d2[41];
    mc_testenv_digest(env, d1);
    preply r;
    post_answer(env, sid, body->ptr, body->len, &r);
    if (r.status != status || strcmp(r.code, code) != 0)
        fail_msg("%s: want %d %s, got %d %s (%s)%s", what, status, code, r.status, r.code, r.msg,
                 r.err);
    preply_free(&r);
    mc_testenv_digest(env, d2);
    if (strcmp(d1, d2) != 0)
        fail_msg("%s: the data set changed", what);
}

/* A renew answer with these lies: refused with status and code, nothing
 * written. */
static void refused(mc_testenv *env, const mc_phone *ph, const rsess *s, mc_phone_decision d,
                    const mc_buf *csr, const mc_phone_overrides *ov, int status,
                    const char *code, const char *what)
{
    mc_buf body = {0};
    build_renew(ph, s, d, (uint32_t)s->match, csr, ov, &body);
    refused_raw(env, s->sid, &body, status, code, what);
    mc_buf_free(&body);
}

/* The phone store at dir extends through s the honest way (mc_phone_renew);
 * asserts approval and the install; the new fingerprint into fp. */
static void extend_ok(mc_testenv *env, const char *dir, const rsess *s, int rekey, char fp[65])
{
    mc_phone_err pe;
    mc_phone_renewed rn;
    if (mc_phone_renew(dir, MC_TEST_PIN, env->base, &s->v, MC_PHONE_APPROVE, (uint32_t)s->match,
                       rekey, NULL, &rn, &pe) != 0)
        fail_msg("the honest extension: %d %s %s", pe.status, pe.code, pe.msg);
    assert_string_equal(rn.state, "approved");
    assert_int_equal(rn.installed, 1);
    assert_int_equal(rn.rekey, rekey);
    if (fp != NULL)
        snprintf(fp, 65, "%s", rn.fp);
}

/* A CSR for key with subject (DER). */
static void csr_for(EVP_PKEY *key, const X509_NAME *subject, mc_buf *out)
{
    mc_phone_err pe;
    out->len = 0;
    if (mc_phone_csr_make(key, subject, out, &pe) != 0)
        fail_msg("csr: %s %s", pe.code, pe.msg);
}

static EVP_PKEY *keygen(mc_alg alg)
{
    mc_err e;
    EVP_PKEY *k = mc_keygen(alg, &e);
    assert_non_null(k);
    return k;
}

/* ------------------------------------------------------------------ */
/* Per-key digests: what an ended session may change                    */
/* ------------------------------------------------------------------ */

typedef struct snap {
    size_t n;
    char key[512][96];
    char dig[512][41];
} snap;

static void snap_take(mc_testenv *env, snap *s)
{
    s->n = 0;
    redisReply *k = mc_testenv_redis(env, "KEYS *");
    assert_int_equal(k->type, REDIS_REPLY_ARRAY);
    assert_true(k->elements <= 512);
    for (size_t i = 0; i < k->elements; i++) {
        snprintf(s->key[s->n], sizeof(s->key[0]), "%s", k->element[i]->str);
        redisReply *d = mc_testenv_redis(env, "DEBUG DIGEST-VALUE %s", k->element[i]->str);
        assert_int_equal(d->type, REDIS_REPLY_ARRAY);
        assert_int_equal(d->elements, 1);
        snprintf(s->dig[s->n], sizeof(s->dig[0]), "%s", d->element[0]->str);
        freeReplyObject(d);
        s->n++;
    }
    freeReplyObject(k);
}

static const char *snap_find(const snap *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->key[i], key) == 0)
            return s->dig[i];
    return NULL;
}

static int listed(const char *const *keys, const char *k)
{
    for (size_t i = 0; keys[i] != NULL; i++)
        if (strcmp(keys[i], k) == 0)
            return 1;
    return 0;
}

/* Every key that changed, appeared or went between a and b is one of
 * may[] (NULL-terminated), and each of must[] did change. */
static void snap_expect(const snap *a, const snap *b, const char *const *may,
                        const char *const *must, const char *what)
{
    for (size_t i = 0; i < b->n; i++) {
        const char *was = snap_find(a, b->key[i]);
        if ((was == NULL || strcmp(was, b->dig[i]) != 0) && !listed(may, b->key[i]))
            fail_msg("%s: %s %s", what, b->key[i], was ? "changed" : "appeared");
    }
    for (size_t i = 0; i < a->n; i++)
        if (snap_find(b, a->key[i]) == NULL && !listed(may, a->key[i]))
            fail_msg("%s: %s went", what, a->key[i]);
    for (size_t i = 0; must[i] != NULL; i++) {
        const char *x = snap_find(a, must[i]), *y = snap_find(b, must[i]);
        if (x != NULL && y != NULL && strcmp(x, y) == 0)
            fail_msg("%s: %s did not change", what, must[i]);
    }
}

/* ------------------------------------------------------------------ */
/* TBS lies                                                            */
/* ------------------------------------------------------------------ */

static void tbs_lies(mc_alg alg)
{
    rig g;
    rig_start(&g, 0, alg);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    X509 *leaf = phone_leaf(ph);
    EVP_PKEY *nk = keygen(alg);
    mc_buf csr = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);
    uint8_t other[32];
    mc_sha256("other bytes", 11, other);

    /* a sign TBS's documents, for the 13-element lie */
    mc_sign_info si;
    memset(&si, 0, sizeof(si));
    si.ndocs = 1;
    snprintf(si.docs[0].name, sizeof(si.docs[0].name), "bid.pdf");
    si.docs[0].size = 1;
    snprintf(si.docs[0].alg, sizeof(si.docs[0].alg), "%s", alg == MC_ALG_SM2 ? "sm3" : "sha256");
    memcpy(si.docs[0].digest, other, 32);
    si.signing_time = s->v.s.created;

    struct {
        const char *what;
        int rekey;            /* send the CSR */
        mc_phone_decision d;
        mc_phone_overrides ov;
    } cases[] = {
        {"another renewal id", 0, MC_PHONE_APPROVE, {.tbs_renewal = "XF202501010123456789"}},
        {"another renewal id (rekey)", 1, MC_PHONE_APPROVE,
         {.tbs_renewal = "XF202501010123456789"}},
        {"a day more", 0, MC_PHONE_APPROVE,
         {.set_tbs_new_not_after = 1, .tbs_new_not_after = s->ri.new_not_after + 86400}},
        {"a second less", 0, MC_PHONE_APPROVE,
         {.set_tbs_new_not_after = 1, .tbs_new_not_after = s->ri.new_not_after - 1}},
        {"the old notAfter", 1, MC_PHONE_APPROVE,
         {.set_tbs_new_not_after = 1, .tbs_new_not_after = s->ri.not_after}},
        {"a csr_hash of other bytes", 1, MC_PHONE_APPROVE, {.tbs_csr_hash = other}},
        {"bin(32) for a kept key", 0, MC_PHONE_APPROVE, {.tbs_csr_hash = other}},
        {"bin(0) beside a CSR", 1, MC_PHONE_APPROVE, {.tbs_csr_empty = 1}},
        {"the 11-element TBS", 0, MC_PHONE_APPROVE, {.tbs_no_renew = 1}},
        {"the 11-element TBS (rekey)", 1, MC_PHONE_APPROVE, {.tbs_no_renew = 1}},
        {"the 13-element sign TBS", 0, MC_PHONE_APPROVE,
         {.tbs_sign = &si, .tbs_purpose = "sign"}},
        {"the 13-element TBS, purpose renew", 0, MC_PHONE_APPROVE, {.tbs_sign = &si}},
        {"purpose bind in the TBS", 0, MC_PHONE_APPROVE, {.tbs_purpose = "bind"}},
        {"purpose login, 11 elements", 0, MC_PHONE_APPROVE,
         {.tbs_purpose = "login", .tbs_no_renew = 1}},
        {"another sid", 0, MC_PHONE_APPROVE, {.tbs_sid = "ABCDEFGHJKMNPQRSTVWX"}},
        {"another account", 0, MC_PHONE_APPROVE, {.tbs_account = "mallory"}},
        {"another origin", 0, MC_PHONE_APPROVE, {.tbs_origin = "https://evil.example"}},
        {"another expiry", 0, MC_PHONE_APPROVE,
         {.set_tbs_expires = 1, .tbs_expires = s->v.s.expires + 600}},
        {"another number", 0, MC_PHONE_APPROVE,
         {.set_tbs_number = 1, .tbs_number = (uint32_t)s->match + 1}},
        {"a reject's TBS on an approval", 0, MC_PHONE_APPROVE, {.tbs_decision = "reject"}},
        {"an approval's TBS on a reject", 0, MC_PHONE_REJECT, {.tbs_decision = "approve"}},
        {"a reject signed with a csr_hash", 0, MC_PHONE_REJECT, {.tbs_csr_hash = other}},
        {"a corrupt signature", 0, MC_PHONE_APPROVE, {.corrupt_sig = 1}},
        {"signed by the new key", 1, MC_PHONE_APPROVE, {.sign_key = nk}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refused(env, ph, s, cases[i].d, cases[i].rekey ? &csr : NULL, &cases[i].ov, 403,
                "bad_signature", cases[i].what);
    /* none of them burnt the session: the honest answer extends */
    char st[32];
    session_state(env, s, st, NULL);
    assert_string_equal(st, "scanned");
    expect_renew_state(env, g.tok, rid, "pending_extension");
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 0);
    extend_ok(env, g.dir, s, 1, NULL);
    expect_renew_state(env, g.tok, rid, "extended");
    mc_buf_free(&csr);
    EVP_PKEY_free(nk);
    X509_free(leaf);
    mc_phone_free(ph);
    free(s);
    rig_stop(&g);
}

static void tbs_lies_are_bad_signature_and_change_nothing_p256(void **state)
{
    (void)state;
    tbs_lies(MC_ALG_P256);
}

static void tbs_lies_are_bad_signature_and_change_nothing_sm2(void **state)
{
    (void)state;
    tbs_lies(MC_ALG_SM2);
}

/* ------------------------------------------------------------------ */
/* The csr key and the purpose                                          */
/* ------------------------------------------------------------------ */

/* Replace the first `from` (n bytes) in body by `to` (m bytes). */
static void patch(mc_buf *body, const void *from, size_t n, const void *to, size_t m)
{
    uint8_t *at = memmem(body->ptr, body->len, from, n);
    assert_non_null(at);
    size_t off = (size_t)(at - body->ptr), tail = body->len - off - n;
    mc_buf out = {0};
    mc_buf_append(&out, body->ptr, off);
    mc_buf_append(&out, to, m);
    mc_buf_append(&out, body->ptr + off + n, tail);
    body->len = 0;
    mc_buf_append(body, out.ptr, out.len);
    mc_buf_free(&out);
}

static void the_csr_key_belongs_to_renew_answers_and_purposes_do_not_mix(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    X509 *leaf = phone_leaf(ph);
    EVP_PKEY *nk = keygen(MC_ALG_P256);
    mc_buf csr = {0}, body = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);

    /* the renew answer without csr; a rejection carrying one */
    mc_phone_overrides ov = {.csr_key = -1};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &ov, 400, "bad_field", "renew without csr");
    refused(env, ph, s, MC_PHONE_REJECT, NULL, &ov, 400, "bad_field", "reject without csr");
    refused(env, ph, s, MC_PHONE_REJECT, &csr, NULL, 400, "bad_field", "a reject with a CSR");
    /* csr not a bin; repeated; nil */
    static const uint8_t key_bin0[] = {0xa3, 'c', 's', 'r', 0xc4, 0x00};
    static const uint8_t key_str0[] = {0xa3, 'c', 's', 'r', 0xa0};
    static const uint8_t key_nil[] = {0xa3, 'c', 's', 'r', 0xc0};
    static const uint8_t key_arr[] = {0xa3, 'c', 's', 'r', 0x90};
    const struct {
        const uint8_t *to;
        size_t n;
        const char *what;
    } types[] = {{key_str0, sizeof(key_str0), "csr a str"},
                 {key_nil, sizeof(key_nil), "csr nil"},
                 {key_arr, sizeof(key_arr), "csr an array"}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, NULL, &body);
        patch(&body, key_bin0, sizeof(key_bin0), types[i].to, types[i].n);
        refused_raw(env, s->sid, &body, 400, "bad_field", types[i].what);
    }
    build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, NULL, &body);
    assert_int_equal(body.ptr[0], 0x89); /* 9 keys */
    body.ptr[0] = 0x8a;
    mc_buf_append(&body, key_bin0, sizeof(key_bin0));
    refused_raw(env, s->sid, &body, 400, "bad_field", "csr twice");
    /* a CSR over 4096 bytes: the bin's length says 4097 */
    build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, NULL, &body);
    {
        uint8_t big[6 + 3 + 4097];
        memcpy(big, key_bin0, 4);
        big[4] = 0xc5;
        big[5] = 0x10;
        big[6] = 0x01;
        memset(big + 7, 0x30, 4097);
        patch(&body, key_bin0, sizeof(key_bin0), big, 7 + 4097);
        refused_raw(env, s->sid, &body, 400, "bad_field", "a csr of 4097 bytes");
    }

    /* answers of another purpose to the renew session */
    mc_phone_overrides as_login = {.msg_purpose = "login", .csr_key = -1};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &as_login, 409, "purpose_mismatch",
            "a login answer to a renew session");
    mc_phone_overrides as_bind = {.msg_purpose = "bind", .csr_key = -1};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &as_bind, 409, "purpose_mismatch",
            "a bind answer to a renew session");
    mc_phone_overrides as_sign = {.msg_purpose = "sign", .csr_key = -1, .doc_sigs_key = 1,
                                  .set_doc_sigs_count = 1, .doc_sigs_count = 1};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &as_sign, 409, "purpose_mismatch",
            "a sign answer to a renew session");
    mc_phone_overrides evil = {.msg_origin = "https://evil.example"};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &evil, 409, "origin_mismatch",
            "another origin");

    /* a login session: its answer with a csr; a renew answer to it */
    char lsid[MC_SID_LEN + 1], lpoll[64];
    int lmatch;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, lsid, lpoll, &lmatch, NULL), 201);
    mc_session_view lv;
    mc_phone_err pe;
    assert_int_equal(mc_phone_fetch(env->base, lsid, &lv, &pe), 0);
    mc_phone_overrides with_csr = {.csr_key = 1};
    body.len = 0;
    assert_int_equal(mc_phone_build(ph, &lv, MC_PHONE_APPROVE, (uint32_t)lmatch, &with_csr, NULL,
                                    &body, &pe),
                     0);
    refused_raw(env, lsid, &body, 400, "bad_field", "a login answer with csr");
    mc_phone_overrides renew_to_login = {.msg_purpose = "renew"};
    body.len = 0;
    assert_int_equal(mc_phone_build(ph, &lv, MC_PHONE_APPROVE, (uint32_t)lmatch, &renew_to_login,
                                    NULL, &body, &pe),
                     0);
    refused_raw(env, lsid, &body, 409, "purpose_mismatch", "purpose renew on a login session");
    /* the renew session's own answer sent to the login session's id */
    mc_phone_overrides to_login = {.msg_sid = lsid};
    build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, &csr, &to_login, &body);
    refused_raw(env, lsid, &body, 409, "purpose_mismatch", "a renew answer on a login session");

    /* a bind session (for a colleague without a certificate): with csr */
    mc_testenv_account(env, "newbie", MC_TEST_ORG, "staff");
    char *ntok = mc_testenv_login(env, "newbie");
    char bsid[MC_SID_LEN + 1], bpoll[64];
    int bmatch;
    assert_int_equal(mc_testenv_open(env, ntok, "bind", NULL, bsid, bpoll, &bmatch, NULL), 201);
    mc_session_view bv;
    assert_int_equal(mc_phone_fetch(env->base, bsid, &bv, &pe), 0);
    mc_phone *nph = mc_testenv_phone(env, "newbie-phone", MC_ALG_P256, MC_TEST_ORG);
    body.len = 0;
    assert_int_equal(mc_phone_build(nph, &bv, MC_PHONE_APPROVE, (uint32_t)bmatch, &with_csr, NULL,
                                    &body, &pe),
                     0);
    refused_raw(env, bsid, &body, 400, "bad_field", "a bind answer with csr");
    mc_phone_overrides to_bind = {.msg_sid = bsid};
    build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &to_bind, &body);
    refused_raw(env, bsid, &body, 409, "purpose_mismatch", "a renew answer on a bind session");

    /* a sign session of the holder: a renew answer to it */
    char doc_hex[65];
    uint8_t d[32];
    mc_sha256("bid", 3, d);
    mc_hex(d, 32, doc_hex);
    int st;
    json_t *docs = json_pack("[{s:s, s:i, s:s, s:s}]", "name", "bid.pdf", "size", 3, "alg",
                             "sha256", "digest", doc_hex);
    json_t *open = mc_testenv_api(env, "POST", "/api/v1/sign-requests?qr=none", g.tok,
                                  json_pack("{s:s, s:o}", "account", g.login, "documents", docs),
                                  &st);
    if (st != 201)
        fail_msg("sign open: %d %s", st, mc_testenv_jstr(open, "code"));
    char ssid[MC_SID_LEN + 1];
    snprintf(ssid, sizeof(ssid), "%s", mc_testenv_jstr(open, "sid"));
    json_decref(open);
    mc_session_view sv;
    mc_sign_info ssi;
    assert_int_equal(mc_phone_fetch_any(env->base, ssid, &sv, &ssi, &pe), 0);
    mc_phone_overrides to_sign = {.msg_sid = ssid};
    build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, &to_sign, &body);
    refused_raw(env, ssid, &body, 409, "purpose_mismatch", "a renew answer on a sign session");
    mc_phone_overrides sign_csr = {.csr_key = 1};
    body.len = 0;
    assert_int_equal(mc_phone_build(ph, &sv, MC_PHONE_APPROVE, 0, &sign_csr, NULL, &body, &pe), 0);
    refused_raw(env, ssid, &body, 400, "bad_field", "a sign answer with csr");

    /* the renew session was not touched by any of it */
    char sst[32];
    session_state(env, s, sst, NULL);
    assert_string_equal(sst, "scanned");
    extend_ok(env, g.dir, s, 0, NULL);
    mc_phone_free(nph);
    free(ntok);
    mc_buf_free(&body);
    mc_buf_free(&csr);
    EVP_PKEY_free(nk);
    X509_free(leaf);
    mc_phone_free(ph);
    free(s);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* Rekey CSRs                                                          */
/* ------------------------------------------------------------------ */

/* A P-384 CSR with subject (an unsupported curve). */
static void csr_p384(const X509_NAME *subject, mc_buf *out)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_non_null(k);
    X509_REQ *q = X509_REQ_new();
    assert_non_null(q);
    assert_int_equal(X509_REQ_set_version(q, 0), 1);
    assert_int_equal(X509_REQ_set_subject_name(q, subject), 1);
    assert_int_equal(X509_REQ_set_pubkey(q, k), 1);
    assert_true(X509_REQ_sign(q, k, EVP_sha384()) > 0);
    unsigned char *d = NULL;
    int n = i2d_X509_REQ(q, &d);
    assert_true(n > 0);
    out->len = 0;
    mc_buf_append(out, d, (size_t)n);
    OPENSSL_free(d);
    X509_REQ_free(q);
    EVP_PKEY_free(k);
}

/* The CSR in der with its public key replaced by pub's, not signed again:
 * a proof of possession by another key. */
static void csr_swap_key(const mc_buf *der, EVP_PKEY *pub, mc_buf *out)
{
    const unsigned char *p = der->ptr;
    X509_REQ *q = d2i_X509_REQ(NULL, &p, (long)der->len);
    assert_non_null(q);
    assert_int_equal(X509_REQ_set_pubkey(q, pub), 1);
    unsigned char *d = NULL;
    int n = i2d_X509_REQ(q, &d);
    assert_true(n > 0);
    out->len = 0;
    mc_buf_append(out, d, (size_t)n);
    OPENSSL_free(d);
    X509_REQ_free(q);
}

/* The subject with its CN re-encoded as BMPString: the same name to
 * X509_NAME_cmp, other bytes (the rule is byte-equal). Caller frees. */
static X509_NAME *subject_bmp(const X509_NAME *subject)
{
    X509_NAME *n = X509_NAME_new();
    assert_non_null(n);
    int changed = 0;
    for (int i = 0; i < X509_NAME_entry_count(subject); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(subject, i);
        const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
        if (OBJ_obj2nid(o) != NID_commonName) {
            assert_int_equal(X509_NAME_add_entry(n, e, -1, 0), 1);
            continue;
        }
        unsigned char *u = NULL;
        int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
        assert_true(ul > 0);
        unsigned char bmp[512];
        size_t bn = 0;
        for (int k = 0; k < ul && bn + 2 <= sizeof(bmp);) {
            unsigned c = u[k];
            unsigned cp;
            int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : 3;
            cp = len == 1 ? c : len == 2 ? (c & 0x1f) : (c & 0x0f);
            for (int j = 1; j < len; j++)
                cp = (cp << 6) | (u[k + j] & 0x3f);
            k += len;
            bmp[bn++] = (unsigned char)(cp >> 8);
            bmp[bn++] = (unsigned char)cp;
        }
        OPENSSL_free(u);
        assert_int_equal(
            X509_NAME_add_entry_by_OBJ(n, o, V_ASN1_BMPSTRING, bmp, (int)bn, -1, 0), 1);
        changed = 1;
    }
    assert_true(changed);
    return n;
}

static void rekey_csrs(mc_alg alg)
{
    rig g;
    rig_start(&g, 0, alg);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    X509 *leaf = phone_leaf(ph);
    const X509_NAME *subj = X509_get_subject_name(leaf);
    EVP_PKEY *nk = keygen(alg), *nk2 = keygen(alg);
    EVP_PKEY *ok = keygen(alg == MC_ALG_SM2 ? MC_ALG_P256 : MC_ALG_SM2);
    mc_buf good = {0}, c = {0};
    csr_for(nk, subj, &good);

    struct {
        const char *what;
        int status;
        const char *code;
    } want;
#define TRY(WHAT, STATUS, CODE)                                                           \
    do {                                                                                  \
        want.what = (WHAT);                                                               \
        want.status = (STATUS);                                                           \
        want.code = (CODE);                                                               \
        refused(env, ph, s, MC_PHONE_APPROVE, &c, NULL, want.status, want.code, want.what); \
    } while (0)

    /* not one DER PKCS#10 */
    c.len = 0;
    mc_buf_append(&c, "\x30\x03\x02\x01\x01", 5);
    TRY("a SEQUENCE that is no CSR", 400, "bad_csr");
    c.len = 0;
    for (int i = 0; i < 200; i++)
        mc_buf_append(&c, "\xa5", 1);
    TRY("garbage", 400, "bad_csr");
    c.len = 0;
    mc_buf_append(&c, good.ptr, good.len - 10);
    TRY("a truncated CSR", 400, "bad_csr");
    c.len = 0;
    mc_buf_append(&c, good.ptr, good.len);
    mc_buf_append(&c, "\x00", 1);
    TRY("a trailing byte", 400, "bad_csr");
    c.len = 0;
    mc_buf_append(&c, good.ptr, good.len);
    mc_buf_append(&c, good.ptr, good.len);
    TRY("two CSRs", 400, "bad_csr");
    {
        const unsigned char *p = good.ptr;
        X509_REQ *q = d2i_X509_REQ(NULL, &p, (long)good.len);
        BIO *b = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_X509_REQ(b, q), 1);
        char *pem;
        long pl = BIO_get_mem_data(b, &pem);
        c.len = 0;
        mc_buf_append(&c, pem, (size_t)pl);
        BIO_free(b);
        X509_REQ_free(q);
        TRY("PEM", 400, "bad_csr");
    }
    /* a non-minimal outer length (BER, not DER): 30 81 xx or 30 82 xx xx */
    assert_int_equal(good.ptr[0], 0x30);
    c.len = 0;
    if (good.ptr[1] == 0x81) {
        mc_buf_append(&c, "\x30\x82\x00", 3);
        mc_buf_append(&c, good.ptr + 2, good.len - 2);
    } else {
        assert_int_equal(good.ptr[1], 0x82);
        mc_buf_append(&c, "\x30\x83\x00", 3);
        mc_buf_append(&c, good.ptr + 2, good.len - 2);
    }
    TRY("a non-minimal length", 400, "bad_csr");
    /* the proof of possession */
    c.len = 0;
    mc_buf_append(&c, good.ptr, good.len);
    c.ptr[c.len - 1] ^= 1;
    TRY("a broken self-signature", 400, "bad_csr");
    csr_swap_key(&good, nk2, &c);
    TRY("signed by another key than its own", 400, "bad_csr");
    /* the key */
    csr_p384(subj, &c);
    TRY("a P-384 key", 400, "unsupported_key");
    /* the key is judged before its proof (the proof's algorithm is the
     * key's: SM2 with its ID), so a broken P-384 one is unsupported_key */
    c.ptr[c.len - 1] ^= 1;
    TRY("a P-384 key with a broken self-signature", 400, "unsupported_key");
    csr_for(ok, subj, &c);
    TRY("the other algorithm", 409, "alg_mismatch");
    csr_for(mc_phone_key(ph), subj, &c);
    TRY("the current key", 409, "same_key");
    /* the subject */
    X509_NAME *other = X509_NAME_new();
    X509_NAME_add_entry_by_txt(other, "CN", MBSTRING_UTF8, (const unsigned char *)"mallory", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(other, "O", MBSTRING_UTF8, (const unsigned char *)"Holder Org",
                               -1, -1, 0);
    X509_NAME_add_entry_by_txt(other, "organizationIdentifier", MBSTRING_UTF8,
                               (const unsigned char *)MC_TEST_ORG, -1, -1, 0);
    csr_for(nk, other, &c);
    TRY("another subject", 409, "subject_mismatch");
    X509_NAME *bmp = subject_bmp(subj);
    assert_int_equal(X509_NAME_cmp(bmp, subj), 0); /* the same name, other bytes */
    csr_for(nk, bmp, &c);
    TRY("the subject re-encoded", 409, "subject_mismatch");
#undef TRY
    /* nothing of it burnt the session, nor issued anything */
    char st[32];
    session_state(env, s, st, NULL);
    assert_string_equal(st, "scanned");
    expect_renew_state(env, g.tok, rid, "pending_extension");
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 0);
    extend_ok(env, g.dir, s, 1, NULL);
    X509_NAME_free(other);
    X509_NAME_free(bmp);
    mc_buf_free(&good);
    mc_buf_free(&c);
    EVP_PKEY_free(nk);
    EVP_PKEY_free(nk2);
    EVP_PKEY_free(ok);
    X509_free(leaf);
    mc_phone_free(ph);
    free(s);
    rig_stop(&g);
}

static void rekey_csrs_that_are_not_one_good_request_change_nothing_p256(void **state)
{
    (void)state;
    rekey_csrs(MC_ALG_P256);
}

static void rekey_csrs_that_are_not_one_good_request_change_nothing_sm2(void **state)
{
    (void)state;
    rekey_csrs(MC_ALG_SM2);
}

/* ------------------------------------------------------------------ */
/* The certificate that answers                                         */
/* ------------------------------------------------------------------ */

/* The certificates of a PEM file (leaf first) as DER into out[0..*n). */
static void pem_chain(const char *path, mc_buf out[MC_CHAIN_MAX], size_t *n)
{
    mc_buf pem = {0};
    mc_testenv_read_file(path, &pem);
    BIO *b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    X509 *x;
    *n = 0;
    while (*n < MC_CHAIN_MAX && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        memset(&out[*n], 0, sizeof(out[*n]));
        assert_int_equal(mc_x509_der(x, &out[*n]), 0);
        (*n)++;
        X509_free(x);
    }
    BIO_free(b);
    mc_buf_free(&pem);
    assert_true(*n >= 1);
}

static void chain_free(mc_buf *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mc_buf_free(&c[i]);
}

static void fp_of(const mc_buf *der, char hex[65])
{
    uint8_t fp[32];
    assert_int_equal(mc_cert_fingerprint(der->ptr, der->len, fp), 0);
    mc_hex(fp, 32, hex);
}

static void another_valid_certificate_of_the_same_holder_is_not_current(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    X509 *leaf = phone_leaf(ph);

    /* a twin: the same key and subject, another serial (mcertctl issue of
     * the phone's own CSR again), recorded and valid */
    char twin_path[400], twin_fp[65];
    snprintf(twin_path, sizeof(twin_path), "%s/twin.pem", env->dir);
    assert_int_equal(mc_testenv_ctl(env, "issue --csr %s/device.csr --out %s 2>/dev/null", g.dir,
                                    twin_path),
                     0);
    mc_buf twin[MC_CHAIN_MAX];
    size_t ntwin;
    pem_chain(twin_path, twin, &ntwin);
    fp_of(&twin[0], twin_fp);
    assert_string_not_equal(twin_fp, g.fp);
    mc_testenv_expect_field(env, "cert", twin_fp, "status", "valid");
    mc_slice tw[MC_CHAIN_MAX];
    for (size_t i = 0; i < ntwin; i++)
        tw[i] = (mc_slice){twin[i].ptr, twin[i].len};
    mc_phone_overrides ov = {.chain = tw, .nchain = ntwin};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &ov, 403, "not_current_cert", "the twin");
    refused(env, ph, s, MC_PHONE_REJECT, NULL, &ov, 403, "not_current_cert",
            "the twin rejects");
    EVP_PKEY *nk = keygen(MC_ALG_P256);
    mc_buf csr = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);
    refused(env, ph, s, MC_PHONE_APPROVE, &csr, &ov, 403, "not_current_cert",
            "the twin with a new key");
    /* a colleague's valid certificate of the same organisation, unbound */
    mc_phone *col = mc_testenv_phone(env, "colleague", MC_ALG_P256, MC_TEST_ORG);
    mc_slice cch[MC_CHAIN_MAX];
    size_t nc = mc_phone_chain(col, cch, MC_CHAIN_MAX);
    mc_phone_overrides ov2 = {.chain = cch, .nchain = nc, .sign_key = mc_phone_key(col)};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &ov2, 403, "not_current_cert",
            "a colleague's certificate");
    refused(env, ph, s, MC_PHONE_REJECT, NULL, &ov2, 403, "not_current_cert",
            "a colleague's certificate rejects");
    /* a certificate of another organisation */
    mc_testenv_org(env, MC_TEST_ORG2, "别的单位");
    mc_phone *out = mc_testenv_phone(env, "outsider", MC_ALG_P256, MC_TEST_ORG2);
    mc_slice och[MC_CHAIN_MAX];
    size_t no = mc_phone_chain(out, och, MC_CHAIN_MAX);
    mc_phone_overrides ov3 = {.chain = och, .nchain = no, .sign_key = mc_phone_key(out)};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &ov3, 403, "not_current_cert",
            "another organisation's certificate");
    /* the session still extends with the right one */
    extend_ok(env, g.dir, s, 0, NULL);
    mc_testenv_expect_field(env, "cert", twin_fp, "status", "valid");
    mc_phone_free(out);
    mc_phone_free(col);
    mc_buf_free(&csr);
    EVP_PKEY_free(nk);
    chain_free(twin, ntwin);
    X509_free(leaf);
    mc_phone_free(ph);
    free(s);
    rig_stop(&g);
}

static void a_certificate_revoked_after_the_session_opened_cannot_answer(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1], path[160];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    X509 *leaf = phone_leaf(ph);
    int st;
    snprintf(path, sizeof(path), "/api/v1/certs/%s/revoke", g.fp);
    json_t *r = mc_testenv_api(env, "POST", path, g.tok,
                               json_pack("{s:s}", "reason", "keyCompromise"), &st);
    assert_int_equal(st, 200);
    json_decref(r);
    EVP_PKEY *nk = keygen(MC_ALG_P256);
    mc_buf csr = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, NULL, 403, "cert_revoked", "approve, revoked");
    refused(env, ph, s, MC_PHONE_APPROVE, &csr, NULL, 403, "cert_revoked", "rekey, revoked");
    refused(env, ph, s, MC_PHONE_REJECT, NULL, NULL, 403, "cert_revoked", "reject, revoked");
    {
        mc_buf body = {0};
        build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match + 1, NULL, NULL, &body);
        refused_raw(env, s->sid, &body, 403, "cert_revoked", "a wrong number, revoked");
        mc_buf_free(&body);
    }
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 0);
    char sst[32];
    session_state(env, s, sst, NULL);
    assert_string_equal(sst, "scanned");
    mc_buf_free(&csr);
    EVP_PKEY_free(nk);
    X509_free(leaf);
    mc_phone_free(ph);
    free(s);
    rig_stop(&g);
}

static void a_renewal_refunded_after_the_session_opened_does_not_extend(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1], rid2[MC_REN_ID_LEN + 1], path[160];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    X509 *leaf = phone_leaf(ph);
    int st;
    snprintf(path, sizeof(path), "/api/v1/renewals/%s/refund", rid);
    json_t *r = mc_testenv_api(env, "POST", path, g.tok, NULL, &st);
    assert_int_equal(st, 200);
    json_decref(r);
    await_renew_state(env, g.tok, rid, "refunded");
    /* the atomic step finds the renewal refunded: the CA's work is thrown
     * away, nothing recorded */
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, NULL, 409, "bad_transition",
            "approve, refunded");
    EVP_PKEY *nk = keygen(MC_ALG_P256);
    mc_buf csr = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);
    refused(env, ph, s, MC_PHONE_APPROVE, &csr, NULL, 409, "bad_transition", "rekey, refunded");
    /* a new renewal of the certificate, paid: the old session does not
     * spend it */
    renew_paid(env, g.tok, g.fp, 1, rid2);
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, NULL, 409, "bad_transition",
            "the refunded renewal's session, another renewal paid");
    mc_phone_overrides other = {.tbs_renewal = rid2};
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, &other, 403, "bad_signature",
            "the refunded renewal's session signed for the new renewal");
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 0);
    char sst[32];
    session_state(env, s, sst, NULL);
    assert_string_equal(sst, "scanned");
    expect_renew_state(env, g.tok, rid2, "pending_extension");
    mc_testenv_expect_field(env, "cert", g.fp, "status", "valid");
    /* the new renewal's own session extends */
    rsess *s2 = rsess_open(env, g.tok, rid2);
    extend_ok(env, g.dir, s2, 0, NULL);
    expect_renew_state(env, g.tok, rid, "refunded");
    assert_int_equal(mc_testenv_audit_count(env, "renewal_refund", "renewal", rid), 1);
    free(s2);
    mc_buf_free(&csr);
    EVP_PKEY_free(nk);
    X509_free(leaf);
    mc_phone_free(ph);
    free(s);
    rig_stop(&g);
}

static void a_superseded_certificate_cannot_extend_again(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1], rid2[MC_REN_ID_LEN + 1], fp1[65];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *a = rsess_open(env, g.tok, rid);
    rsess *b = rsess_open(env, g.tok, rid); /* a second session of the same renewal */
    mc_buf old[MC_CHAIN_MAX];
    size_t nold;
    phone_chain_copy(g.dir, old, &nold);
    mc_slice oc[MC_CHAIN_MAX];
    for (size_t i = 0; i < nold; i++)
        oc[i] = (mc_slice){old[i].ptr, old[i].len};
    extend_ok(env, g.dir, a, 0, fp1); /* keeps the key: the old chain still signs */
    mc_testenv_expect_field(env, "cert", g.fp, "status", "superseded");
    mc_phone *ph = phone_open(g.dir); /* the new chain, the same key */
    mc_phone_overrides with_old = {.chain = oc, .nchain = nold};
    /* the other session of the extended renewal: with the new certificate
     * it is not the one renewed; with the old one it is superseded */
    refused(env, ph, b, MC_PHONE_APPROVE, NULL, NULL, 403, "not_current_cert",
            "the new certificate on the extended renewal's other session");
    refused(env, ph, b, MC_PHONE_APPROVE, NULL, &with_old, 403, "cert_superseded",
            "the old certificate on the extended renewal's other session");
    refused(env, ph, b, MC_PHONE_REJECT, NULL, &with_old, 403, "cert_superseded",
            "the old certificate rejects");
    /* the next renewal, of the new certificate: the old chain is refused */
    renew_paid(env, g.tok, fp1, 1, rid2);
    rsess *c = rsess_open(env, g.tok, rid2);
    X509 *leaf = phone_leaf(ph);
    EVP_PKEY *nk = keygen(MC_ALG_P256);
    mc_buf csr = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);
    refused(env, ph, c, MC_PHONE_APPROVE, NULL, &with_old, 403, "cert_superseded",
            "the old chain on the next renewal");
    refused(env, ph, c, MC_PHONE_APPROVE, &csr, &with_old, 403, "cert_superseded",
            "the old chain on the next renewal, rekey");
    /* and the renewal of a superseded certificate is not made */
    int st;
    char d1[41], d2[41];
    mc_testenv_digest(env, d1);
    json_t *r = renew_order(env, g.tok, g.fp, 1, &st);
    /* §10.2: superseded is told to anyone of its organisation, before the
     * holder check (it is bound to nobody) */
    if (st != 403 || strcmp(mc_testenv_jstr(r, "code"), "cert_superseded") != 0)
        fail_msg("renewing the superseded certificate: %d %s", st, mc_testenv_jstr(r, "code"));
    json_decref(r);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    extend_ok(env, g.dir, c, 1, NULL);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 1);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid2), 1);
    mc_buf_free(&csr);
    EVP_PKEY_free(nk);
    X509_free(leaf);
    mc_phone_free(ph);
    chain_free(old, nold);
    free(a);
    free(b);
    free(c);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* Replays and races                                                    */
/* ------------------------------------------------------------------ */

/* A racing phone that also reports the certificate it got: like
 * mc_testenv_racer (exit 0 approved, 1 session_done, 3 another 409, 4
 * anything else, 5 released wrongly, 6 no reply), and an approval's fp
 * written to the file `out`. */
static pid_t racer_fp(mc_testenv *env, const char *sid, const mc_buf *body, int go[2],
                      const char *out)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    close(go[1]);
    char c;
    if (read(go[0], &c, 1) != 0)
        _exit(5);
    preply r;
    post_answer(env, sid, body->ptr, body->len, &r);
    if (r.status == 0)
        _exit(6);
    if (r.status == 200 && strcmp(r.state, "approved") == 0 && strlen(r.fp) == 64) {
        FILE *f = fopen(out, "w");
        if (f == NULL)
            _exit(4);
        fputs(r.fp, f);
        fclose(f);
        char dpath[420];
        snprintf(dpath, sizeof(dpath), "%s.der", out);
        mc_testenv_write_file(dpath, r.leaf.ptr, r.leaf.len);
        _exit(0);
    }
    if (r.status == 409)
        _exit(strcmp(r.code, "session_done") == 0 ? 1 : 3);
    _exit(4);
}

static void read_fp(const char *path, char fp[65])
{
    mc_buf b = {0};
    mc_testenv_read_file(path, &b);
    assert_int_equal(b.len, 64);
    memcpy(fp, b.ptr, 64);
    fp[64] = '\0';
    mc_buf_free(&b);
}

/* Release n racers posting bodies[i] to sid; their exit codes into ex. */
static void race(mc_testenv *env, const char *sid, const mc_buf *bodies, size_t n, int *ex)
{
    int go[2];
    pid_t pid[8];
    assert_true(n <= 8);
    assert_int_equal(pipe(go), 0);
    for (size_t i = 0; i < n; i++) {
        char out[400];
        snprintf(out, sizeof(out), "%s/race-%zu.fp", env->dir, i);
        unlink(out);
        pid[i] = racer_fp(env, sid, &bodies[i], go, out);
    }
    close(go[0]);
    close(go[1]);
    for (size_t i = 0; i < n; i++) {
        int w;
        waitpid(pid[i], &w, 0);
        assert_true(WIFEXITED(w));
        ex[i] = WEXITSTATUS(w);
    }
}

static void replays_to_another_session_or_after_the_record_are_refused(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1], rid2[MC_REN_ID_LEN + 1], d1[41], d2[41];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *a = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    mc_buf body = {0};
    build_renew(ph, a, MC_PHONE_APPROVE, (uint32_t)a->match, NULL, NULL, &body);
    preply r;
    post_answer(env, a->sid, body.ptr, body.len, &r);
    if (r.status != 200)
        fail_msg("approve: %d %s", r.status, r.code);
    assert_string_equal(r.state, "approved");
    char fp1[65];
    snprintf(fp1, sizeof(fp1), "%s", r.fp);
    /* the phone installs the new certificate (the key is kept) */
    mc_phone_err pe;
    assert_int_equal(mc_phone_import(g.dir, r.leaf.ptr, r.leaf.len, &pe), 0);
    preply_free(&r);
    mc_phone_free(ph);
    ph = phone_open(g.dir);

    /* the next renewal's session: the approved bytes are not its answer */
    renew_paid(env, g.tok, fp1, 1, rid2);
    rsess *b = rsess_open(env, g.tok, rid2);
    refused_raw(env, b->sid, &body, 409, "sid_mismatch", "the approved bytes to another session");
    mc_buf moved = {0};
    mc_buf_append(&moved, body.ptr, body.len);
    patch(&moved, a->sid, MC_SID_LEN, b->sid, MC_SID_LEN);
    refused_raw(env, b->sid, &moved, 403, "bad_signature",
                "the approved bytes with the sid rewritten");
    /* to their own session, again: the first result, nothing written */
    mc_testenv_digest(env, d1);
    post_answer(env, a->sid, body.ptr, body.len, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.fp, fp1);
    preply_free(&r);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    /* once the session's record is gone (60 s after expires; here now) */
    char key[80];
    snprintf(key, sizeof(key), "{mc}:sess:%s", a->sid);
    assert_int_equal(mc_testenv_redis_int(env, "DEL %s", key), 1);
    refused_raw(env, a->sid, &body, 404, "unknown_session", "the approved bytes, record gone");
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 1);

    /* two different approvals of one session racing: one wins */
    mc_buf two[2] = {{0}, {0}};
    X509 *leaf = phone_leaf(ph);
    EVP_PKEY *nk = keygen(MC_ALG_P256);
    mc_buf csr = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);
    build_renew(ph, b, MC_PHONE_APPROVE, (uint32_t)b->match, NULL, NULL, &two[0]);
    build_renew(ph, b, MC_PHONE_APPROVE, (uint32_t)b->match, &csr, NULL, &two[1]);
    int ex[2];
    race(env, b->sid, two, 2, ex);
    if (!((ex[0] == 0 && ex[1] == 1) || (ex[0] == 1 && ex[1] == 0)))
        fail_msg("different approvals racing exited %d and %d", ex[0], ex[1]);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid2), 1);
    assert_int_equal(mc_testenv_audit_count(env, "renew_extend", "renewal", rid2), 1);
    char wfp[65], path[400], rk[8];
    snprintf(path, sizeof(path), "%s/race-%d.fp", env->dir, ex[0] == 0 ? 0 : 1);
    read_fp(path, wfp);
    char rkey[80];
    snprintf(rkey, sizeof(rkey), "{mc}:ren:%s", rid2);
    mc_testenv_expect_field(env, "ren", rid2, "new_fp", wfp);
    mc_testenv_hget(env, rkey, "rekey", rk, sizeof(rk));
    assert_string_equal(rk, ex[1] == 0 ? "1" : "0"); /* the winner's key */
    /* the loser's bytes again: still session_done, nothing written */
    refused_raw(env, b->sid, &two[ex[0] == 0 ? 1 : 0], 409, "session_done",
                "the losing approval again");
    mc_buf_free(&two[0]);
    mc_buf_free(&two[1]);
    mc_buf_free(&csr);
    mc_buf_free(&moved);
    mc_buf_free(&body);
    EVP_PKEY_free(nk);
    X509_free(leaf);
    mc_phone_free(ph);
    free(a);
    free(b);
    rig_stop(&g);
}

static void identical_approvals_racing_get_one_certificate(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_SM2);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone *ph = phone_open(g.dir);
    X509 *leaf = phone_leaf(ph);
    EVP_PKEY *nk = keygen(MC_ALG_SM2);
    mc_buf csr = {0};
    csr_for(nk, X509_get_subject_name(leaf), &csr);
    /* three copies of one rekey answer, and another answer (a new
     * signature over the kept key) */
    mc_buf b[4] = {{0}, {0}, {0}, {0}};
    build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, &csr, NULL, &b[0]);
    mc_buf_append(&b[1], b[0].ptr, b[0].len);
    mc_buf_append(&b[2], b[0].ptr, b[0].len);
    build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, NULL, &b[3]);
    int ex[4];
    race(env, s->sid, b, 4, ex);
    int copies_won = ex[0] == 0 && ex[1] == 0 && ex[2] == 0 && ex[3] == 1;
    int other_won = ex[0] == 1 && ex[1] == 1 && ex[2] == 1 && ex[3] == 0;
    if (!copies_won && !other_won)
        fail_msg("racers exited %d %d %d %d", ex[0], ex[1], ex[2], ex[3]);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 1);
    char want[65], got[65], path[400];
    snprintf(path, sizeof(path), "%s/race-%d.fp", env->dir, copies_won ? 0 : 3);
    read_fp(path, want);
    mc_testenv_expect_field(env, "ren", rid, "new_fp", want);
    if (copies_won) /* each copy got the one certificate recorded */
        for (int i = 1; i < 3; i++) {
            snprintf(path, sizeof(path), "%s/race-%d.fp", env->dir, i);
            read_fp(path, got);
            assert_string_equal(got, want);
        }
    for (int i = 0; i < 4; i++)
        mc_buf_free(&b[i]);
    mc_buf_free(&csr);
    EVP_PKEY_free(nk);
    X509_free(leaf);
    mc_phone_free(ph);
    free(s);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* Where the session ends: only the session                             */
/* ------------------------------------------------------------------ */

/* The keys a renew session's end may touch: its record and the inbox of
 * the certificate renewed. */
static void session_keys(const rig *g, const rsess *s, char k[3][96])
{
    snprintf(k[0], 96, "{mc}:sess:%s", s->sid);
    snprintf(k[1], 96, "{mc}:inbox:%s", g->fp);
    snprintf(k[2], 96, "{mc}:inboxe:%s", g->fp);
}

static void a_rejection_or_a_wrong_number_ends_the_session_and_nothing_else(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1], k[3][96], st[32], reason[32];
    renew_paid(env, g.tok, g.fp, 1, rid);
    mc_phone *ph = phone_open(g.dir);
    static snap a, b;

    /* a signed rejection */
    rsess *s = rsess_open(env, g.tok, rid);
    session_keys(&g, s, k);
    const char *const may[] = {k[0], k[1], k[2], NULL};
    mc_buf rej = {0}, body = {0};
    build_renew(ph, s, MC_PHONE_REJECT, 0, NULL, NULL, &rej);
    snap_take(env, &a);
    preply r;
    post_answer(env, s->sid, rej.ptr, rej.len, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "rejected");
    assert_string_equal(r.account, "");
    preply_free(&r);
    snap_take(env, &b);
    snap_expect(&a, &b, may, may, "a rejection");
    session_state(env, s, st, NULL);
    assert_string_equal(st, "rejected");
    expect_renew_state(env, g.tok, rid, "pending_extension");
    /* the same bytes: the same result; an approval now: session_done */
    char d1[41], d2[41];
    mc_testenv_digest(env, d1);
    post_answer(env, s->sid, rej.ptr, rej.len, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "rejected");
    preply_free(&r);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, NULL, 409, "session_done",
            "an approval after the rejection");
    free(s);

    /* a wrong number */
    s = rsess_open(env, g.tok, rid);
    session_keys(&g, s, k);
    uint32_t wrong = 0;
    for (int i = 0; i < 3; i++)
        if ((int)s->v.s.choices[i] != s->match)
            wrong = s->v.s.choices[i];
    assert_true(wrong != 0);
    build_renew(ph, s, MC_PHONE_APPROVE, wrong, NULL, NULL, &body);
    snap_take(env, &a);
    post_answer(env, s->sid, body.ptr, body.len, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.code, "wrong_number");
    preply_free(&r);
    snap_take(env, &b);
    snap_expect(&a, &b, may, may, "a wrong number");
    session_state(env, s, st, reason);
    assert_string_equal(st, "rejected");
    assert_string_equal(reason, "wrong_number");
    refused_raw(env, s->sid, &body, 409, "wrong_number", "the wrong number again");
    refused(env, ph, s, MC_PHONE_APPROVE, NULL, NULL, 409, "session_done",
            "the right number after a wrong one");
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 0);
    expect_renew_state(env, g.tok, rid, "pending_extension");
    mc_testenv_expect_field(env, "cert", g.fp, "status", "valid");
    free(s);

    /* the renewal is still there to extend */
    s = rsess_open(env, g.tok, rid);
    extend_ok(env, g.dir, s, 0, NULL);
    free(s);
    mc_buf_free(&rej);
    mc_buf_free(&body);
    mc_phone_free(ph);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* Operator faults                                                      */
/* ------------------------------------------------------------------ */

/* Wait until mcertd is back on Redis on every event loop: 12 /readyz in a
 * row answer 200, within RESUME_BOUND. */
static void settle(mc_testenv *env)
{
    double t0 = mc_testenv_now();
    for (int run = 0; run < 12;) {
        mc_testenv_reply r;
        mc_testenv_send(env->base, "GET", "/readyz", NULL, NULL, 10, &r);
        run = r.status == 200 ? run + 1 : 0;
        mc_testenv_reply_free(&r);
        if (run == 0) {
            if (mc_testenv_now() - t0 > RESUME_BOUND)
                fail_msg("mcertd is not back on Redis after %.0f s", RESUME_BOUND);
            usleep(50000);
        }
    }
}

/* The phone's resend (mc_phone_renew_resend) until it is not 503
 * store_unavailable, within RESUME_BOUND. */
static int resend_until_available(const rig *g, mc_phone_renewed *rn, mc_phone_err *pe)
{
    double t0 = mc_testenv_now();
    for (;;) {
        int rc = mc_phone_renew_resend(g->dir, MC_TEST_PIN, g->env->base, NULL, rn, pe);
        if (rc == 0 || pe->status != 503 || strcmp(pe->code, "store_unavailable") != 0 ||
            mc_testenv_now() - t0 > RESUME_BOUND)
            return rc;
        usleep(100000);
    }
}

/* "renew_commit ran": the renewal's state is extended (read on the proxy
 * thread, on its own direct connection). */
typedef struct extended_pred {
    redisContext *c;
    char key[80];
} extended_pred;

static int renewal_extended(void *arg)
{
    extended_pred *p = arg;
    redisReply *r = redisCommand(p->c, "HGET %s state", p->key);
    int yes = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "extended") == 0;
    if (r)
        freeReplyObject(r);
    return yes;
}

static void a_lost_commit_reply_is_resent_to_the_same_certificate(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 2, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    extended_pred pd;
    pd.c = redisConnect("127.0.0.1", env->redis_port);
    assert_true(pd.c && !pd.c->err);
    snprintf(pd.key, sizeof(pd.key), "{mc}:ren:%s", rid);
    mc_testfault_proxy_lose_reply(g.proxy, renewal_extended, &pd);
    /* a rekey: the phone's new key must be the one certified, later */
    mc_phone_err pe;
    mc_phone_renewed rn;
    double t0 = mc_testenv_now();
    int rc = mc_phone_renew(g.dir, MC_TEST_PIN, env->base, &s->v, MC_PHONE_APPROVE,
                            (uint32_t)s->match, 1, NULL, &rn, &pe);
    double secs = mc_testenv_now() - t0;
    if (rc == 0 || pe.status != 503 || strcmp(pe.code, "store_unavailable") != 0)
        fail_msg("the extension whose reply was lost: rc %d, %d %s %s", rc, pe.status, pe.code,
                 pe.msg);
    assert_true(pe.remote);
    if (secs > UNAVAILABLE_BOUND)
        fail_msg("the 503 came after %.1f s", secs);
    assert_int_equal(mc_testfault_proxy_lost(g.proxy), 1);
    redisFree(pd.c);
    /* it did run: one certificate, the renewal extended */
    char new_fp[65], path[400];
    mc_testenv_hget(env, pd.key, "new_fp", new_fp, sizeof(new_fp));
    assert_int_equal(strlen(new_fp), 64);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 1);
    /* the phone kept the answer (and the new key) */
    int has = 0, rekey = 0;
    char ksid[MC_SID_LEN + 1];
    assert_int_equal(mc_phone_renew_pending(g.dir, &has, ksid, &rekey, &pe), 0);
    assert_int_equal(has, 1);
    assert_int_equal(rekey, 1);
    assert_string_equal(ksid, s->sid);
    mc_buf kept = {0};
    snprintf(path, sizeof(path), "%s/renew.msg", g.dir);
    mc_testenv_read_file(path, &kept);
    settle(env);
    /* the same bytes again: the certificate recorded, installed */
    if (resend_until_available(&g, &rn, &pe) != 0)
        fail_msg("the resend: %d %s %s", pe.status, pe.code, pe.msg);
    assert_string_equal(rn.state, "approved");
    assert_int_equal(rn.resent, 1);
    assert_int_equal(rn.installed, 1);
    assert_int_equal(rn.rekey, 1);
    assert_string_equal(rn.fp, new_fp);
    assert_string_equal(rn.old_fp, g.fp);
    mc_phone *ph = phone_open(g.dir);
    char cur[65];
    mc_testenv_leaf_fp(ph, cur);
    assert_string_equal(cur, new_fp);
    mc_phone_free(ph);
    /* and a third time, from the copy: the same again, nothing written */
    char d1[41], d2[41];
    mc_testenv_digest(env, d1);
    preply r;
    post_answer(env, s->sid, kept.ptr, kept.len, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.fp, new_fp);
    preply_free(&r);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 1);
    assert_int_equal(mc_testenv_audit_count(env, "renew_extend", "renewal", rid), 1);
    char st[32];
    session_state(env, s, st, NULL);
    assert_string_equal(st, "approved");
    mc_buf_free(&kept);
    free(s);
    rig_stop(&g);
}

static void a_hung_redis_during_an_extension_is_503_then_the_resend_extends(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 1, MC_ALG_P256);
    mc_testenv *env = g.env;
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    mc_phone_err pe;
    mc_phone_renewed rn;
    mc_testenv_pause_redis(env, 1);
    double t0 = mc_testenv_now();
    int rc = mc_phone_renew(g.dir, MC_TEST_PIN, env->base, &s->v, MC_PHONE_APPROVE,
                            (uint32_t)s->match, 0, NULL, &rn, &pe);
    double secs = mc_testenv_now() - t0;
    mc_testenv_pause_redis(env, 0);
    if (rc == 0 || pe.status != 503 || strcmp(pe.code, "store_unavailable") != 0 || !pe.remote)
        fail_msg("the extension during the hang: rc %d, %d %s %s", rc, pe.status, pe.code,
                 pe.msg);
    if (secs > UNAVAILABLE_BOUND)
        fail_msg("the 503 came after %.1f s", secs);
    settle(env);
    expect_renew_state(env, g.tok, rid, "pending_extension");
    if (resend_until_available(&g, &rn, &pe) != 0)
        fail_msg("the resend: %d %s %s", pe.status, pe.code, pe.msg);
    assert_string_equal(rn.state, "approved");
    assert_int_equal(rn.installed, 1);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 1);
    mc_testenv_expect_field(env, "ren", rid, "new_fp", rn.fp);
    free(s);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* The web side                                                        */
/* ------------------------------------------------------------------ */

/* POST /api/v1/renewals/<rid>/<what> with tok: want status and code. */
static void web_refused(mc_testenv *env, const char *tok, const char *rid, const char *what,
                        int status, const char *code, int check_digest)
{
    char d1[41], d2[41], path[160];
    if (check_digest)
        mc_testenv_digest(env, d1);
    snprintf(path, sizeof(path), "/api/v1/renewals/%s/%s", rid, what);
    int st;
    json_t *r = mc_testenv_api(env, "POST", path, tok, NULL, &st);
    if (st != status || strcmp(mc_testenv_jstr(r, "code"), code) != 0)
        fail_msg("%s: want %d %s, got %d %s", path, status, code, st, mc_testenv_jstr(r, "code"));
    json_decref(r);
    if (check_digest) {
        mc_testenv_digest(env, d2);
        if (strcmp(d1, d2) != 0)
            fail_msg("%s (%d %s): the data set changed", path, status, code);
    }
}

static void refused_both(mc_testenv *env, const char *tok, const char *rid, int status,
                         const char *code)
{
    web_refused(env, tok, rid, "renew-session?qr=none", status, code, 1);
    web_refused(env, tok, rid, "refund", status, code, 1);
}

static void the_extension_is_opened_only_by_who_may_and_only_when_paid(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    mc_testenv_org(env, MC_TEST_ORG2, "别的单位");
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "mate", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "other", MC_TEST_ORG2, "admin");
    mc_testenv_account(env, "op", MC_TEST_ORG2, "operator");
    char *boss = mc_testenv_login(env, "boss"), *mate = mc_testenv_login(env, "mate");
    char *other = mc_testenv_login(env, "other"), *op = mc_testenv_login(env, "op");
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);

    /* who may: another organisation's admin and a colleague see nothing;
     * an operator reads and does not act */
    refused_both(env, other, rid, 404, "not_found");
    refused_both(env, mate, rid, 404, "not_found");
    refused_both(env, op, rid, 403, "not_permitted");
    int st;
    char path[120];
    snprintf(path, sizeof(path), "/api/v1/renewals/%s", rid);
    json_decref(mc_testenv_api(env, "GET", path, other, NULL, &st));
    assert_int_equal(st, 404);
    json_decref(mc_testenv_api(env, "GET", path, op, NULL, &st));
    assert_int_equal(st, 200);
    /* a well-formed id of no renewal; no token */
    refused_both(env, g.tok, "XF202501010123456789", 404, "not_found");
    {
        char d1[41], d2[41];
        mc_testenv_digest(env, d1);
        mc_testenv_reply rep;
        snprintf(path, sizeof(path), "/api/v1/renewals/%s/renew-session", rid);
        mc_testenv_send(env->base, "POST", path, NULL, NULL, 10, &rep);
        assert_int_equal(rep.status, 401);
        mc_testenv_reply_free(&rep);
        mc_testenv_digest(env, d2);
        assert_string_equal(d1, d2);
    }
    /* both take no body (§10.2; §0 step 4): the holder's own refund and
     * session, each of which would write, are refused with one */
    {
        static const char *const acts[] = {"refund", "renew-session?qr=none"};
        static const char *const bodies[] = {"{}", "{\"years\":1}", "x"};
        char auth[200], d1[41], d2[41];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g.tok);
        const char *h[] = {auth, "Content-Type: application/json", NULL};
        for (size_t a = 0; a < 2; a++)
            for (size_t b = 0; b < 3; b++) {
                mc_testenv_digest(env, d1);
                snprintf(path, sizeof(path), "/api/v1/renewals/%s/%s", rid, acts[a]);
                json_t *o = NULL;
                st = mc_testenv_web_req(env, "POST", path, h, bodies[b], strlen(bodies[b]), &o);
                if (st != 400 || strcmp(mc_testenv_jstr(o, "code"), "unexpected_body") != 0)
                    fail_msg("%s with body %s: %d %s", acts[a], bodies[b], st,
                             mc_testenv_jstr(o, "code"));
                json_decref(o);
                mc_testenv_digest(env, d2);
                if (strcmp(d1, d2) != 0)
                    fail_msg("%s with body %s: the data set changed", acts[a], bodies[b]);
            }
        expect_renew_state(env, g.tok, rid, "pending_extension");
    }
    /* the organisation's admin may: the session is the holder's */
    rsess *s = rsess_open(env, boss, rid);
    assert_string_equal(s->v.s.account, g.login);
    assert_string_equal(s->v.s.requester, "boss");

    /* the states: a second holder's renewals */
    char fp2[65], dir2[300], ra[MC_REN_ID_LEN + 1], rb[MC_REN_ID_LEN + 1];
    mc_phone_free(mc_testenv_bound_phone(env, "second", MC_TEST_ORG, "staff", MC_ALG_SM2, fp2));
    snprintf(dir2, sizeof(dir2), "%s/second", env->dir);
    char *tok2 = mc_testenv_login(env, "second");
    json_t *r = renew_order(env, tok2, fp2, 1, &st);
    assert_int_equal(st, 201);
    snprintf(ra, sizeof(ra), "%s", mc_testenv_jstr(json_object_get(r, "renewal"), "id"));
    json_decref(r);
    refused_both(env, tok2, ra, 409, "bad_transition"); /* pending_payment */
    r = renew_order(env, tok2, fp2, 2, &st); /* another number of years: ra closed */
    assert_int_equal(st, 201);
    snprintf(rb, sizeof(rb), "%s", mc_testenv_jstr(json_object_get(r, "renewal"), "id"));
    char oid[40];
    snprintf(oid, sizeof(oid), "%s", mc_testenv_jstr(json_object_get(r, "order"), "order"));
    json_decref(r);
    expect_renew_state(env, tok2, ra, "expired");
    refused_both(env, tok2, ra, 409, "bad_transition"); /* expired */
    sandbox_pay(env, tok2, oid);
    web_refused(env, tok2, rb, "refund", 200, "", 0);
    /* refunding, or already refunded (the sandbox answers in ~20 ms) */
    web_refused(env, tok2, rb, "renew-session?qr=none", 409, "bad_transition", 0);
    await_renew_state(env, tok2, rb, "refunded");
    refused_both(env, tok2, rb, 409, "bad_transition"); /* refunded */
    /* extended */
    extend_ok(env, g.dir, s, 0, NULL);
    refused_both(env, g.tok, rid, 409, "bad_transition");
    refused_both(env, boss, rid, 409, "bad_transition");
    free(s);
    free(tok2);
    free(boss);
    free(mate);
    free(other);
    free(op);
    rig_stop(&g);
}

/* One web request on a thread, released with the others. */
typedef struct webcall {
    pthread_t th;
    pthread_barrier_t *go;
    const char *base, *method, *path, *tok;
    char body[200];
    mc_testenv_reply rep;
} webcall;

static void *webcall_main(void *arg)
{
    webcall *w = arg;
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->tok);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    pthread_barrier_wait(w->go);
    mc_testenv_send(w->base, w->method, w->path, h, w->body[0] ? w->body : NULL, 20, &w->rep);
    return NULL;
}

static void at_once(webcall *w, size_t n)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        w[i].go = &go;
        assert_int_equal(pthread_create(&w[i].th, NULL, webcall_main, &w[i]), 0);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(w[i].th, NULL);
    pthread_barrier_destroy(&go);
}

static void two_refunds_racing_refund_once(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    char *boss = mc_testenv_login(env, "boss");
    char rid[MC_REN_ID_LEN + 1], path[120];
    renew_paid(env, g.tok, g.fp, 1, rid);
    snprintf(path, sizeof(path), "/api/v1/renewals/%s/refund", rid);
    webcall w[4];
    memset(w, 0, sizeof(w));
    for (size_t i = 0; i < 4; i++) {
        w[i].base = env->base;
        w[i].method = "POST";
        w[i].path = path;
        w[i].tok = i % 2 ? boss : g.tok; /* the holder and the admin at once */
    }
    at_once(w, 4);
    int ok = 0;
    for (size_t i = 0; i < 4; i++) {
        if (w[i].rep.status == 200)
            ok++;
        else if (w[i].rep.status != 409 || strcmp(w[i].rep.code, "bad_transition") != 0)
            fail_msg("refund %zu: %d %s %s", i, w[i].rep.status, w[i].rep.code, w[i].rep.err);
        mc_testenv_reply_free(&w[i].rep);
    }
    assert_int_equal(ok, 1);
    await_renew_state(env, g.tok, rid, "refunded");
    usleep(300000); /* a second refund would have been asked by now */
    assert_int_equal(mc_testenv_audit_count(env, "renewal_refund", "renewal", rid), 1);
    assert_int_equal(mc_testenv_audit_count(env, "order_refunded", "renewal", rid), 1);
    free(boss);
    rig_stop(&g);
}

/* The renewals of the organisation whose state is pending_payment (and
 * unexpired), and the certificate's open renewal. */
static int open_renewals(mc_testenv *env, const char *fp, char open_id[MC_REN_ID_LEN + 1])
{
    redisReply *ids = mc_testenv_redis(env, "ZRANGE {mc}:renorg:%s 0 -1", MC_TEST_ORG);
    int n = 0;
    for (size_t i = 0; i < ids->elements; i++) {
        char key[80], stt[32], f[65];
        snprintf(key, sizeof(key), "{mc}:ren:%s", ids->element[i]->str);
        mc_testenv_hget(env, key, "state", stt, sizeof(stt));
        mc_testenv_hget(env, key, "fp", f, sizeof(f));
        if (strcmp(f, fp) == 0 &&
            (strcmp(stt, "pending_payment") == 0 || strcmp(stt, "pending_extension") == 0))
            n++;
    }
    freeReplyObject(ids);
    redisReply *o = mc_testenv_redis(env, "GET {mc}:renof:%s", fp);
    snprintf(open_id, MC_REN_ID_LEN + 1, "%s", o->type == REDIS_REPLY_STRING ? o->str : "");
    freeReplyObject(o);
    return n;
}

static void renewals_made_at_once_for_one_certificate_leave_one_open(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    char *boss = mc_testenv_login(env, "boss");
    webcall w[4];
    memset(w, 0, sizeof(w));
    for (size_t i = 0; i < 4; i++) {
        w[i].base = env->base;
        w[i].method = "POST";
        w[i].path = "/api/v1/renewals";
        w[i].tok = i % 2 ? boss : g.tok;
        snprintf(w[i].body, sizeof(w[i].body), "{\"fp\":\"%s\",\"years\":1}", g.fp);
    }
    at_once(w, 4);
    char made[MC_REN_ID_LEN + 1] = "";
    int n201 = 0;
    for (size_t i = 0; i < 4; i++)
        if (w[i].rep.status == 201) {
            n201++;
            snprintf(made, sizeof(made), "%s",
                     mc_testenv_jstr(json_object_get(w[i].rep.json, "renewal"), "id"));
        }
    assert_int_equal(n201, 1);
    for (size_t i = 0; i < 4; i++) {
        int s = w[i].rep.status;
        if (s == 200)
            assert_string_equal(
                mc_testenv_jstr(json_object_get(w[i].rep.json, "renewal"), "id"), made);
        else if (s == 503)
            assert_int_equal(strlen(w[i].rep.retry_after) > 0, 1);
        else if (s != 201)
            fail_msg("renewal %zu: %d %s %s", i, s, w[i].rep.code, w[i].rep.err);
        mc_testenv_reply_free(&w[i].rep);
    }
    char open_id[MC_REN_ID_LEN + 1];
    assert_int_equal(open_renewals(env, g.fp, open_id), 1);
    assert_string_equal(open_id, made);
    assert_int_equal(mc_testenv_redis_int(env, "ZCARD {mc}:renorg:%s", MC_TEST_ORG), 1);
    assert_int_equal(mc_testenv_audit_count(env, "renewal_create", "cert", g.fp), 1);

    /* other numbers of years at once: each replaces the open one, and one
     * stays open */
    for (size_t i = 0; i < 4; i++) {
        memset(&w[i].rep, 0, sizeof(w[i].rep));
        snprintf(w[i].body, sizeof(w[i].body), "{\"fp\":\"%s\",\"years\":%zu}", g.fp,
                 i % 3 + 1);
    }
    at_once(w, 4);
    for (size_t i = 0; i < 4; i++) {
        int s = w[i].rep.status;
        if (s != 200 && s != 201 && s != 503)
            fail_msg("renewal %zu: %d %s %s", i, s, w[i].rep.code, w[i].rep.err);
        mc_testenv_reply_free(&w[i].rep);
    }
    assert_int_equal(open_renewals(env, g.fp, open_id), 1);
    char stt[32];
    renew_state(env, g.tok, open_id, stt);
    assert_string_equal(stt, "pending_payment");
    free(boss);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* An extension and a refund at once; a binding moved meanwhile          */
/* ------------------------------------------------------------------ */

static void an_extension_and_a_refund_racing_never_both_happen(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    char fp[65], path[120];
    snprintf(fp, sizeof(fp), "%s", g.fp);
    int extended = 0, refunded = 0;
    for (int round = 0; round < 4; round++) {
        char rid[MC_REN_ID_LEN + 1];
        renew_paid(env, g.tok, fp, 1, rid);
        rsess *s = rsess_open(env, g.tok, rid);
        mc_phone *ph = phone_open(g.dir);
        mc_buf body = {0};
        build_renew(ph, s, MC_PHONE_APPROVE, (uint32_t)s->match, NULL, NULL, &body);
        mc_phone_free(ph);
        /* the refund on a thread, the answer in a child, released at once */
        snprintf(path, sizeof(path), "/api/v1/renewals/%s/refund", rid);
        webcall w;
        memset(&w, 0, sizeof(w));
        w.base = env->base;
        w.method = "POST";
        w.path = path;
        w.tok = g.tok;
        int go[2];
        assert_int_equal(pipe(go), 0);
        char out[400];
        snprintf(out, sizeof(out), "%s/race-x.fp", env->dir);
        unlink(out);
        pid_t child = racer_fp(env, s->sid, &body, go, out);
        pthread_barrier_t one;
        pthread_barrier_init(&one, NULL, 1);
        w.go = &one;
        close(go[0]);
        close(go[1]);
        /* the refund later each round: at once, then 20, 40, 60 ms after
         * the answer (which needs a signature check and the CA's) */
        usleep((useconds_t)round * 20000);
        assert_int_equal(pthread_create(&w.th, NULL, webcall_main, &w), 0);
        pthread_join(w.th, NULL);
        pthread_barrier_destroy(&one);
        int ws;
        waitpid(child, &ws, 0);
        assert_true(WIFEXITED(ws));
        int ex = WEXITSTATUS(ws);
        int rok = w.rep.status == 200;
        if (!rok && (w.rep.status != 409 || strcmp(w.rep.code, "bad_transition") != 0))
            fail_msg("round %d: refund %d %s", round, w.rep.status, w.rep.code);
        mc_testenv_reply_free(&w.rep);
        /* exactly one of them */
        if ((ex == 0) == rok)
            fail_msg("round %d: extension exit %d, refund %s", round, ex,
                     rok ? "200" : "409");
        if (ex != 0 && ex != 3) /* 3: 409 (bad_transition at the atomic step) */
            fail_msg("round %d: extension exit %d", round, ex);
        int ne = mc_testenv_audit_count(env, "renew_extend", "renewal", rid);
        int nr = mc_testenv_audit_count(env, "renewal_refund", "renewal", rid);
        assert_int_equal(ne + nr, 1);
        if (ex == 0) {
            extended++;
            char nfp[65];
            read_fp(out, nfp);
            mc_testenv_expect_field(env, "ren", rid, "state", "extended");
            /* the phone takes the new certificate (the same key) */
            char dpath[420];
            snprintf(dpath, sizeof(dpath), "%s.der", out);
            mc_buf der = {0};
            mc_testenv_read_file(dpath, &der);
            mc_phone_err pe;
            if (mc_phone_import(g.dir, der.ptr, der.len, &pe) != 0)
                fail_msg("import the new certificate: %s %s", pe.code, pe.msg);
            mc_buf_free(&der);
            snprintf(fp, sizeof(fp), "%s", nfp);
        } else {
            refunded++;
            await_renew_state(env, g.tok, rid, "refunded");
            mc_testenv_expect_field(env, "cert", fp, "status", "valid");
        }
        mc_buf_free(&body);
        free(s);
    }
    print_message("extensions %d, refunds %d\n", extended, refunded);
    rig_stop(&g);
}

/* The certificate unbound from its holder and bound to a colleague after
 * the renewal was paid: the extension's session names the account the new
 * certificate goes to, and the new certificate goes there.
 * (Found by this test: the session named the holder when the renewal was
 * made. It now names the holder when the session is opened, and
 * renew_commit refuses binding_changed if the binding moves after.) */
static void a_binding_moved_after_the_renewal_is_what_the_session_shows(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "heir", MC_TEST_ORG, "staff");
    char *boss = mc_testenv_login(env, "boss"), *heir = mc_testenv_login(env, "heir");
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rig_move_binding(&g, boss, heir, "heir");
    rsess *s = rsess_open(env, boss, rid);
    char fp1[65];
    mc_phone_err pe;
    mc_phone_renewed rn;
    if (mc_phone_renew(g.dir, MC_TEST_PIN, env->base, &s->v, MC_PHONE_APPROVE,
                       (uint32_t)s->match, 0, NULL, &rn, &pe) != 0)
        fail_msg("extend: %d %s %s", pe.status, pe.code, pe.msg);
    snprintf(fp1, sizeof(fp1), "%s", rn.fp);
    mc_testenv_expect_field(env, "cert", fp1, "account", "heir");
    assert_string_equal(rn.account, "heir");
    /* what the holder was shown and signed (§10.3: the certificate's
     * holder; §10.4: the account the new certificate is bound to) */
    if (strcmp(s->v.s.account, rn.account) != 0)
        fail_msg("the session showed account \"%s\"; the new certificate went to \"%s\"",
                 s->v.s.account, rn.account);
    free(s);
    free(boss);
    free(heir);
    rig_stop(&g);
}

/* The binding moves after the session was opened (shown and signed with
 * its holder): the extension is refused at the atomic step, 409
 * binding_changed, and nothing is written; a new session names the new
 * holder and extends. */
static void a_binding_that_moves_after_the_session_opened_is_binding_changed(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    char *boss = mc_testenv_login(env, "boss");
    char rid[MC_REN_ID_LEN + 1], d1[41], d2[41];
    renew_paid(env, g.tok, g.fp, 1, rid);
    rsess *s = rsess_open(env, g.tok, rid);
    assert_string_equal(s->v.s.account, g.login);
    rig_move_binding(&g, boss, NULL, NULL);
    mc_testenv_digest(env, d1);
    mc_phone_err pe;
    mc_phone_renewed rn;
    assert_int_equal(mc_phone_renew(g.dir, MC_TEST_PIN, env->base, &s->v, MC_PHONE_APPROVE,
                                    (uint32_t)s->match, 0, NULL, &rn, &pe),
                     -1);
    assert_int_equal(pe.status, 409);
    assert_string_equal(pe.code, "binding_changed");
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    free(s);
    /* unbound now: the admin opens a new session, which names nobody */
    s = rsess_open(env, boss, rid);
    assert_string_equal(s->v.s.account, "");
    if (mc_phone_renew(g.dir, MC_TEST_PIN, env->base, &s->v, MC_PHONE_APPROVE,
                       (uint32_t)s->match, 0, NULL, &rn, &pe) != 0)
        fail_msg("extend: %d %s %s", pe.status, pe.code, pe.msg);
    assert_string_equal(rn.account, "");
    mc_testenv_expect_field(env, "cert", rn.fp, "account", "");
    free(s);
    free(boss);
    rig_stop(&g);
}


/* A renewal made before its certificate's binding moved is read by the
 * holder now as well as by the one it was made for (§10.2: reading is for
 * the holder when the renewal was made or the holder now): GET and the
 * list show it to the new holder, who may also act on it. A colleague who
 * holds neither still gets 404. */
static void the_holder_now_reads_a_renewal_made_before_the_binding_moved(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "heir", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "mate", MC_TEST_ORG, "staff");
    char *boss = mc_testenv_login(env, "boss"), *mate = mc_testenv_login(env, "mate");
    char rid[MC_REN_ID_LEN + 1], path[120];
    renew_paid(env, g.tok, g.fp, 1, rid);
    char *heir = mc_testenv_login(env, "heir"); /* logged in before the bind */
    rig_move_binding(&g, boss, heir, "heir");
    free(heir);
    heir = mc_testenv_login(env, "heir");
    int st;
    /* the holder now reads it */
    snprintf(path, sizeof(path), "/api/v1/renewals/%s", rid);
    json_t *r = mc_testenv_api(env, "GET", path, heir, NULL, &st);
    if (st != 200)
        fail_msg("GET by the holder now: %d %s", st, mc_testenv_jstr(r, "code"));
    assert_string_equal(mc_testenv_jstr(r, "account"), g.login); /* made for the old one */
    json_decref(r);
    r = mc_testenv_api(env, "GET", "/api/v1/renewals", heir, NULL, &st);
    assert_int_equal(st, 200);
    json_t *list = json_object_get(r, "renewals");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(list); i++)
        seen += strcmp(mc_testenv_jstr(json_array_get(list, i), "id"), rid) == 0;
    assert_int_equal(seen, 1);
    json_decref(r);
    /* ... and still the holder it was made for, who no longer acts */
    json_decref(mc_testenv_api(env, "GET", path, g.tok, NULL, &st));
    assert_int_equal(st, 200);
    web_refused(env, g.tok, rid, "renew-session?qr=none", 403, "not_permitted", 1);
    /* a colleague holding neither: nothing */
    json_decref(mc_testenv_api(env, "GET", path, mate, NULL, &st));
    assert_int_equal(st, 404);
    r = mc_testenv_api(env, "GET", "/api/v1/renewals", mate, NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(r, "renewals")), 0);
    json_decref(r);
    /* the holder now extends it; the extended renewal stays readable */
    rsess *s = rsess_open(env, heir, rid);
    assert_string_equal(s->v.s.account, "heir");
    extend_ok(env, g.dir, s, 0, NULL);
    free(s);
    expect_renew_state(env, heir, rid, "extended");
    free(heir);
    heir = mc_testenv_login(env, "heir"); /* as a new page load would */
    expect_renew_state(env, heir, rid, "extended");
    free(boss);
    free(mate);
    free(heir);
    rig_stop(&g);
}


/* A refund judged for the holder now, whose binding moves before the
 * atomic step (two requests interleaving between the C read and the Lua
 * write): renew_refund re-checks that the holder C judged is still the
 * holder and refuses (403 not_permitted, nothing written); an admin's
 * refund ("*": admins act whoever holds it) is not bound to a holder. The
 * function is called here as the losing handler would call it. */
static void a_refund_whose_holder_moved_before_the_atomic_step_is_refused(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "heir", MC_TEST_ORG, "staff");
    char *boss = mc_testenv_login(env, "boss"), *heir = mc_testenv_login(env, "heir");
    char rid[MC_REN_ID_LEN + 1], oid[MC_REN_ID_LEN + 1], d1[41], d2[41];
    renew_paid(env, g.tok, g.fp, 1, rid);
    snprintf(oid, sizeof(oid), "PO%s", rid + 2);
    rig_move_binding(&g, boss, heir, "heir");
    /* the old holder's refund, judged before the binding moved */
    mc_testenv_digest(env, d1);
    redisReply *rep = mc_testenv_redis(
        env,
        "FCALL renew_refund 7 {mc}:ren:%s {mc}:order:%s {mc}:renof:%s {mc}:refundq {mc}:inv:%s "
        "{mc}:audit {mc}:cert:%s %s %s 127.0.0.1 %s",
        rid, oid, g.fp, oid, g.fp, rid, g.login, g.login);
    if (rep->type != REDIS_REPLY_ERROR || strstr(rep->str, "not_permitted") == NULL)
        fail_msg("the moved holder's refund: type %d %s", rep->type,
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "(applied)");
    freeReplyObject(rep);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    expect_renew_state(env, boss, rid, "pending_extension");
    /* the holder now refunds it */
    web_refused(env, heir, rid, "refund", 200, "", 0);
    await_renew_state(env, boss, rid, "refunded");
    assert_int_equal(mc_testenv_audit_count(env, "renewal_refund", "renewal", rid), 1);
    free(boss);
    free(heir);
    rig_stop(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tbs_lies_are_bad_signature_and_change_nothing_p256),
        cmocka_unit_test(tbs_lies_are_bad_signature_and_change_nothing_sm2),
        cmocka_unit_test(the_csr_key_belongs_to_renew_answers_and_purposes_do_not_mix),
        cmocka_unit_test(rekey_csrs_that_are_not_one_good_request_change_nothing_p256),
        cmocka_unit_test(rekey_csrs_that_are_not_one_good_request_change_nothing_sm2),
        cmocka_unit_test(another_valid_certificate_of_the_same_holder_is_not_current),
        cmocka_unit_test(a_certificate_revoked_after_the_session_opened_cannot_answer),
        cmocka_unit_test(a_renewal_refunded_after_the_session_opened_does_not_extend),
        cmocka_unit_test(a_superseded_certificate_cannot_extend_again),
        cmocka_unit_test(replays_to_another_session_or_after_the_record_are_refused),
        cmocka_unit_test(identical_approvals_racing_get_one_certificate),
        cmocka_unit_test(a_rejection_or_a_wrong_number_ends_the_session_and_nothing_else),
        cmocka_unit_test(a_lost_commit_reply_is_resent_to_the_same_certificate),
        cmocka_unit_test(a_hung_redis_during_an_extension_is_503_then_the_resend_extends),
        cmocka_unit_test(the_extension_is_opened_only_by_who_may_and_only_when_paid),
        cmocka_unit_test(two_refunds_racing_refund_once),
        cmocka_unit_test(renewals_made_at_once_for_one_certificate_leave_one_open),
        cmocka_unit_test(an_extension_and_a_refund_racing_never_both_happen),
        cmocka_unit_test(a_binding_moved_after_the_renewal_is_what_the_session_shows),
        cmocka_unit_test(a_binding_that_moves_after_the_session_opened_is_binding_changed),
        cmocka_unit_test(the_holder_now_reads_a_renewal_made_before_the_binding_moved),
        cmocka_unit_test(a_refund_whose_holder_moved_before_the_atomic_step_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
