/*
 * test_faults.c — mcertd when Redis misbehaves, against a real redis-server
 * and the real mcertd: a key of the wrong type and Redis Functions that
 * answer in the wrong shape (no reply ever reaches another request), a
 * hung Redis (503 store_unavailable within the store deadline, static pages
 * and /healthz at once, recovery without a restart), a crashed Redis (long
 * polls still end and still wake), replies lost after their write ran (a
 * retry gets the first result; nothing is applied twice), and a login
 * approved before a revoke or an unbind (no token).
 *
 * The contract tested (issue 5, core/PROTOCOL.md): a Redis command not
 * answered within `--store-deadline MS` fails every request in flight on
 * its connection with 503 {code: "store_unavailable", message} (JSON on
 * /api/, msgpack on /m/) and a Retry-After header; the connection is
 * replaced and no write is re-sent by mcertd. Repeating a signed answer or
 * a token collection returns the first result.
 *
 * Layout: every test starts its own env (tests that hang or crash Redis
 * must not leak into each other). Concurrent requests run on threads, each
 * with its own keep-alive connection (mc_http_client); threads never call
 * cmocka: they note violations in a verdict that the main thread checks
 * after joining them, and Redis is continued before any assertion can end
 * the test.
 *
 * Non-goals: the HTTP edge under load (test_hostile.c), performance
 * (scripts/bench).
 */
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

#include "mc_http.h"
#include "mc_testhelp.h"

#define MSGPACK_CT "application/x-msgpack"
#define JSON_CT "application/json"
#define DEADLINE_ARGS {"--store-deadline", "1000", NULL}
#define UNAVAILABLE_BOUND 3.0   /* seconds: a 1000 ms deadline, generously */
#define AT_ONCE_BOUND 0.5       /* seconds: requests that never wait for Redis */
#define RESUME_BOUND 10.0       /* seconds until service is back after a fault */

/* Integers that Redis computes, for "did the write run?" */
#define COUNT_KEYS "return #redis.call('KEYS', ARGV[1])"
#define COUNT_AUDIT "return redis.call('XLEN', ARGV[1])"

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

/* One HTTP exchange, decoded without assertions (threads use it too). */
typedef struct reply {
    int status;         /* 0: no reply at all (err says why) */
    double secs;        /* time from send to the whole reply */
    char retry_after[16];
    char ctype[64];
    char code[32];      /* error replies of the right shape: {code, message} */
    char msg[160];
    int shaped;         /* 1: an error reply of exactly {code, message} in the
                           API's format (JSON on /api/, msgpack on /m/) */
    json_t *json;       /* the parsed JSON body, if it was JSON */
    mc_buf raw;         /* the body (a NUL follows it, not counted in len) */
    char err[300];
} reply;

static void reply_free(reply *r)
{
    json_decref(r->json);
    mc_buf_free(&r->raw);
    memset(r, 0, sizeof(*r));
}

static void decode_error(reply *r, int phone)
{
    if (phone) {
        r->shaped = strcmp(r->ctype, MSGPACK_CT) == 0 &&
                    mc_error_decode(r->raw.ptr, r->raw.len, r->code, sizeof(r->code), r->msg,
                                    sizeof(r->msg)) == 0 &&
                    r->code[0] != '\0' && r->msg[0] != '\0';
        return;
    }
    json_t *o = r->json;
    r->shaped = strncmp(r->ctype, JSON_CT, strlen(JSON_CT)) == 0 && json_is_object(o) &&
                json_object_size(o) == 2 && json_is_string(json_object_get(o, "code")) &&
                json_is_string(json_object_get(o, "message"));
    if (r->shaped) {
        snprintf(r->code, sizeof(r->code), "%s", mc_testenv_jstr(o, "code"));
        snprintf(r->msg, sizeof(r->msg), "%s", mc_testenv_jstr(o, "message"));
    }
}

/* Send one request on cl (a keep-alive connection) or, if cl is NULL, on a
 * new connection to base. headers: NULL-terminated, may be NULL. */
static void request(mc_http_client *cl, const char *base, const char *method, const char *path,
                    const char *const *headers, const void *body, size_t len, int timeout_s,
                    reply *out)
{
    memset(out, 0, sizeof(*out));
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err e;
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    double t0 = mc_testenv_now();
    int rc = cl ? mc_http_client_request(cl, method, path, headers, body, len, timeout_s, &rep,
                                         &e)
                : mc_http_request(method, url, headers, body, len, timeout_s, &rep, &e);
    out->secs = mc_testenv_now() - t0;
    if (rc != 0) {
        snprintf(out->err, sizeof(out->err), "%s %s: %s", method, path, e.msg);
        mc_buf_append(&out->raw, "", 1);
        out->raw.len = 0;
        return;
    }
    out->status = rep.status;
    const char *h = mc_http_reply_header(&rep, "Retry-After");
    snprintf(out->retry_after, sizeof(out->retry_after), "%s", h ? h : "");
    h = mc_http_reply_header(&rep, "Content-Type");
    snprintf(out->ctype, sizeof(out->ctype), "%s", h ? h : "");
    out->raw = rep.body;
    memset(&rep.body, 0, sizeof(rep.body));
    mc_buf_append(&out->raw, "", 1); /* NUL-terminated for messages, not counted */
    out->raw.len--;
    json_error_t je;
    out->json = json_loadb((const char *)out->raw.ptr, out->raw.len, 0, &je);
    if (out->status >= 400)
        decode_error(out, strncmp(path, "/m/", 3) == 0);
    mc_http_reply_free(&rep);
}

/* A GET or bodiless POST with an optional bearer token. */
static void call(mc_http_client *cl, mc_testenv *env, const char *method, const char *path,
                 const char *tok, reply *out)
{
    char auth[200];
    const char *h[2] = {NULL, NULL};
    if (tok) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        h[0] = auth;
    }
    request(cl, env->base, method, path, h, NULL, 0, 10, out);
}

/* A JSON POST; body is stolen. */
static void post_json(mc_http_client *cl, mc_testenv *env, const char *path, const char *tok,
                      json_t *body, reply *out)
{
    char auth[200], *b = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    const char *h[3] = {"Content-Type: " JSON_CT, NULL, NULL};
    if (tok) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        h[1] = auth;
    }
    request(cl, env->base, "POST", path, h, b, strlen(b), 10, out);
    free(b);
}

/* The browser's poll (wait seconds; known state may be NULL). */
static void poll_session(mc_testenv *env, const char *sid, const char *poll, const char *known,
                         int wait, reply *out)
{
    char path[160], hdr[128];
    mc_testenv_poll_request(sid, poll, known, wait, path, hdr);
    const char *h[] = {hdr, NULL};
    request(NULL, env->base, "GET", path, h, NULL, 0, wait + 20, out);
}

/* The phone's answer: these exact bytes. */
static void post_answer(mc_testenv *env, const char *sid, const mc_buf *body, reply *out)
{
    char path[128];
    snprintf(path, sizeof(path), "/m/v1/sessions/%s/response", sid);
    const char *h[] = {"Content-Type: " MSGPACK_CT, "Accept: " MSGPACK_CT, NULL};
    request(NULL, env->base, "POST", path, h, body->ptr, body->len, 10, out);
}

/* NULL if r is the 503 of a store fault (store_unavailable in the API's
 * format, a Retry-After of whole seconds, within `bound` seconds), else
 * what is wrong, in buf. */
static const char *not_unavailable(const reply *r, double bound, char *buf, size_t n)
{
    if (r->status == 0)
        snprintf(buf, n, "no reply after %.1f s: %s", r->secs, r->err);
    else if (r->status != 503 || !r->shaped || strcmp(r->code, "store_unavailable") != 0)
        snprintf(buf, n, "want 503 store_unavailable, got %d %s%s (%.80s)", r->status, r->code,
                 r->shaped ? "" : " (not a {code, message} reply)",
                 r->json ? (const char *)r->raw.ptr : "");
    else if (r->retry_after[0] == '\0' || strspn(r->retry_after, "0123456789") !=
                                              strlen(r->retry_after))
        snprintf(buf, n, "503 without a Retry-After of seconds (\"%s\")", r->retry_after);
    else if (r->secs >= bound)
        snprintf(buf, n, "503 after %.2f s, over the %.1f s bound", r->secs, bound);
    else
        return NULL;
    return buf;
}

static void expect_unavailable(const reply *r, const char *what)
{
    char why[300];
    if (not_unavailable(r, UNAVAILABLE_BOUND, why, sizeof(why)))
        fail_msg("%s: %s", what, why);
}

static void expect_error(const reply *r, int status, const char *code, const char *what)
{
    if (r->status != status || !r->shaped || strcmp(r->code, code) != 0)
        fail_msg("%s: want %d %s, got %d %s (%s)%s %s", what, status, code, r->status, r->code,
                 r->msg, r->shaped ? "" : " (not a {code, message} reply)", r->err);
}

/* Repeat a request while it answers 503 store_unavailable (mcertd is
 * making a new connection), up to RESUME_BOUND; the last reply in *out. */
typedef void (*send_fn)(mc_testenv *env, void *arg, reply *out);

static void until_available(mc_testenv *env, send_fn send, void *arg, reply *out)
{
    double t0 = mc_testenv_now();
    for (;;) {
        send(env, arg, out);
        if (!(out->status == 503 && strcmp(out->code, "store_unavailable") == 0) ||
            mc_testenv_now() - t0 > RESUME_BOUND)
            return;
        reply_free(out);
        usleep(100000);
    }
}

#define SETTLE_RUN 12

/* Wait until mcertd is back on Redis on every event loop (a loop that
 * dropped its connection answers 503 until its back-off has passed):
 * SETTLE_RUN /readyz in a row answer 200, each on a new connection (which
 * SO_REUSEPORT spreads over the loops), within RESUME_BOUND. */
static void settle(mc_testenv *env)
{
    double t0 = mc_testenv_now();
    for (int run = 0; run < SETTLE_RUN;) {
        reply r;
        call(NULL, env, "GET", "/readyz", NULL, &r);
        run = r.status == 200 ? run + 1 : 0;
        if (run == 0 && mc_testenv_now() - t0 > RESUME_BOUND)
            fail_msg("mcertd is not back on Redis after %.0f s: /readyz %d %s (%s) %s",
                     RESUME_BOUND, r.status, r.code, r.msg, r.err);
        reply_free(&r);
        if (run == 0)
            usleep(50000);
    }
}

/* ------------------------------------------------------------------ */
/* Concurrency: violations noted by threads                            */
/* ------------------------------------------------------------------ */

typedef struct verdict {
    pthread_mutex_t mu;
    int n;
    char first[512];
} verdict;

static void verdict_init(verdict *v)
{
    memset(v, 0, sizeof(*v));
    pthread_mutex_init(&v->mu, NULL);
}

static void verdict_note(verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verdict_note(verdict *v, const char *fmt, ...)
{
    pthread_mutex_lock(&v->mu);
    if (v->n++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->first, sizeof(v->first), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&v->mu);
}

/* Main thread, after every thread is joined. */
static void verdict_check(verdict *v, const char *what)
{
    if (v->n > 0)
        fail_msg("%s: %d violation(s); first: %s", what, v->n, v->first);
    pthread_mutex_destroy(&v->mu);
}

/* ------------------------------------------------------------------ */
/* Fixture pieces                                                      */
/* ------------------------------------------------------------------ */

/* An integer Redis computes with a script over one argument. */
static long long redis_count(mc_testenv *env, const char *script, const char *arg)
{
    return mc_testenv_redis_int(env, "EVAL %s 0 %s", script, arg);
}

/* "The write has run": redis_count grew past `before`. Evaluated on the
 * proxy thread, on its own direct connection. */
typedef struct grown {
    redisContext *c;
    const char *script;
    const char *arg;
    long long before;
} grown;

static int grown_past(void *arg)
{
    grown *g = arg;
    redisReply *r = redisCommand(g->c, "EVAL %s 0 %s", g->script, g->arg);
    int yes = r && r->type == REDIS_REPLY_INTEGER && r->integer > g->before;
    if (r)
        freeReplyObject(r);
    return yes;
}

static void grown_init(grown *g, mc_testenv *env, const char *script, const char *arg)
{
    g->c = redisConnect("127.0.0.1", env->redis_port);
    assert_true(g->c && !g->c->err);
    g->script = script;
    g->arg = arg;
    g->before = redis_count(env, script, arg);
}

/* Open a session (201 required), let the phone fetch it and build its
 * approval (the bytes the phone would send) into body. */
static void open_and_build(mc_testenv *env, const mc_phone *ph, const char *tok,
                           const char *purpose, char sid[MC_SID_LEN + 1], char poll[64],
                           mc_buf *body)
{
    int match;
    json_t *o = NULL;
    int st = mc_testenv_open(env, tok, purpose, NULL, sid, poll, &match, &o);
    if (st != 201)
        fail_msg("open %s: %d %s (%s)", purpose, st, mc_testenv_jstr(o, "code"),
                 mc_testenv_jstr(o, "message"));
    json_decref(o);
    mc_session_view v;
    mc_phone_err pe;
    if (mc_phone_fetch(env->base, sid, &v, &pe) != 0)
        fail_msg("phone fetch: %d %s", pe.status, pe.code);
    if (mc_phone_build(ph, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL, NULL, body, &pe) != 0)
        fail_msg("phone build: %s", pe.msg);
}

/* The phone's answer must be 200 {state: approved, account}. */
static void expect_approved(const reply *r, const char *account, const char *what)
{
    char state[16], acc[MC_ACCOUNT_MAX + 1];
    mc_err e;
    if (r->status != 200)
        fail_msg("%s: want 200 approved, got %d %s (%s) %s", what, r->status, r->code, r->msg,
                 r->err);
    if (mc_result_decode(r->raw.ptr, r->raw.len, state, sizeof(state), acc, sizeof(acc), &e) !=
        0)
        fail_msg("%s: 200 is not a msgpack {state, account}: %s", what, e.msg);
    assert_string_equal(state, "approved");
    assert_string_equal(acc, account);
}

/* Bind login's own account to ph through the phone API. */
static void bind_self(mc_testenv *env, const mc_phone *ph, const char *tok, const char *login)
{
    char sid[MC_SID_LEN + 1], poll[64];
    mc_buf body = {0};
    open_and_build(env, ph, tok, "bind", sid, poll, &body);
    reply r;
    post_answer(env, sid, &body, &r);
    expect_approved(&r, login, "bind");
    reply_free(&r);
    mc_buf_free(&body);
}

/* Bind admin to a phone and have the phone approve a login that the
 * browser has not polled yet. */
static void approved_login(mc_testenv *env, const mc_phone *ph, const char *tok,
                           char sid[MC_SID_LEN + 1], char poll[64])
{
    bind_self(env, ph, tok, "admin");
    mc_buf body = {0};
    open_and_build(env, ph, NULL, "login", sid, poll, &body);
    reply r;
    post_answer(env, sid, &body, &r);
    expect_approved(&r, "admin", "login approval");
    reply_free(&r);
    mc_buf_free(&body);
}

/* A token's /me must be 200 and name `account`. */
static void expect_me(mc_testenv *env, const char *tok, const char *account, const char *what)
{
    reply r;
    call(NULL, env, "GET", "/api/v1/me", tok, &r);
    if (r.status != 200)
        fail_msg("%s: /me %d %s %s", what, r.status, r.code, r.err);
    assert_string_equal(mc_testenv_jstr(r.json, "account"), account);
    reply_free(&r);
}

/* ------------------------------------------------------------------ */
/* Finding 1: every reply goes to its own request                      */
/* ------------------------------------------------------------------ */

enum { W_LIST, W_ME, W_BOB };

/* One thread of the storm: `rounds` requests of one kind on one keep-alive
 * connection, each checked against who asked. */
typedef struct worker {
    pthread_t th;
    mc_testenv *env;
    verdict *v;
    int kind;
    int rounds;
    const char *login;    /* W_ME: whose token; its reply must name this one */
    const char *role;
    const char *tok;
    const char *admin_tok; /* W_BOB: an admin opens bind sessions for bob */
    const char *const *accounts; /* W_LIST: every account a listing may name */
    int ok;               /* 2xx replies */
    int failed;           /* well-formed error replies */
} worker;

static int known_account(const char *const *accounts, const char *a)
{
    for (size_t i = 0; accounts[i]; i++)
        if (strcmp(accounts[i], a) == 0)
            return 1;
    return 0;
}

/* An error reply must be well-formed and 4xx or 503; `strict`: only 503
 * (the caller's own records are sound, so only a store fault may refuse). */
static int note_error(worker *w, const char *what, const reply *r, int strict)
{
    int ok_status = strict ? r->status == 503 : (r->status >= 400 && r->status < 500) ||
                                                    r->status == 503;
    if (!ok_status || !r->shaped) {
        verdict_note(w->v, "%s: %d %s%s %s %.80s", what, r->status, r->code,
                     r->shaped ? "" : " (not a {code, message} reply)", r->err,
                     (const char *)r->raw.ptr);
        return -1;
    }
    w->failed++;
    return 0;
}

static void work_me(worker *w, mc_http_client *cl)
{
    reply r;
    call(cl, w->env, "GET", "/api/v1/me", w->tok, &r);
    if (r.status == 200) {
        w->ok++;
        const char *a = mc_testenv_jstr(r.json, "account"), *role = mc_testenv_jstr(r.json,
                                                                                 "role");
        if (strcmp(a, w->login) != 0 || strcmp(role, w->role) != 0)
            verdict_note(w->v, "%s's /me answered account \"%s\" role \"%s\"", w->login, a,
                         role);
    } else {
        char what[64];
        snprintf(what, sizeof(what), "%s's /me", w->login);
        note_error(w, what, &r, 1);
    }
    reply_free(&r);
}

static void work_list(worker *w, mc_http_client *cl)
{
    reply r;
    call(cl, w->env, "GET", "/api/v1/bindings", w->tok, &r);
    if (r.status == 200) {
        w->ok++;
        json_t *l = json_object_get(r.json, "bindings");
        if (!json_is_array(l))
            verdict_note(w->v, "bindings: 200 without a list: %.80s", (const char *)r.raw.ptr);
        for (size_t i = 0; i < json_array_size(l); i++) {
            const char *a = mc_testenv_jstr(json_array_get(l, i), "account");
            if (!known_account(w->accounts, a))
                verdict_note(w->v, "bindings named \"%s\"", a);
        }
    } else {
        note_error(w, "bindings", &r, 0);
    }
    reply_free(&r);
}

/* Reads that touch bob's planted key: his /me, his password login, an
 * admin opening a bind session for him. A 2xx must be about bob. */
static void work_bob(worker *w, mc_http_client *cl, int i)
{
    reply r;
    const char *what;
    if (i % 3 == 0) {
        what = "bob's /me";
        call(cl, w->env, "GET", "/api/v1/me", w->tok, &r);
    } else if (i % 3 == 1) {
        what = "bob's password login";
        post_json(cl, w->env, "/api/v1/login", NULL,
                  json_pack("{s:s, s:s}", "account", "bob", "password", "pw-bob-secret"), &r);
    } else {
        what = "a bind session for bob";
        post_json(cl, w->env, "/api/v1/sessions", w->admin_tok,
                  json_pack("{s:s, s:s}", "purpose", "bind", "account", "bob"), &r);
    }
    if (r.status >= 200 && r.status < 300) {
        w->ok++;
        if (strcmp(mc_testenv_jstr(r.json, "account"), "bob") != 0)
            verdict_note(w->v, "%s answered %d about \"%s\"", what, r.status,
                         mc_testenv_jstr(r.json, "account"));
    } else {
        note_error(w, what, &r, 0);
    }
    reply_free(&r);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    mc_err e;
    mc_http_client *cl = mc_http_client_new(w->env->base, &e);
    if (cl == NULL) {
        verdict_note(w->v, "client: %s", e.msg);
        return NULL;
    }
    for (int i = 0; i < w->rounds; i++) {
        if (w->kind == W_ME)
            work_me(w, cl);
        else if (w->kind == W_LIST)
            work_list(w, cl);
        else
            work_bob(w, cl, i);
    }
    mc_http_client_free(cl);
    return NULL;
}

/* Tokens and accounts of the org used by the storms. */
typedef struct cast {
    char *admin, *alice, *bob;
} cast;

static const char *const cast_accounts[] = {"admin", "alice", "bob", "carol", "dave", NULL};

static void cast_new(mc_testenv *env, cast *c)
{
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "alice", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "bob", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "carol", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "dave", MC_TEST_ORG, "staff");
    c->admin = mc_testenv_login(env, "admin");
    c->alice = mc_testenv_login(env, "alice");
    c->bob = mc_testenv_login(env, "bob");
}

static void cast_free(cast *c)
{
    free(c->admin);
    free(c->alice);
    free(c->bob);
}

#define STORM_MAX 16

/* Run `copies` threads of each kind in kinds[] at once (each its own
 * connection, so that every event loop serves some of each), join them,
 * check the verdict, and return the workers' counts in w[]. */
static size_t storm(mc_testenv *env, const cast *c, const int *kinds, size_t nkinds, int copies,
                    int rounds, worker *w)
{
    verdict v;
    verdict_init(&v);
    size_t n = 0;
    for (int k = 0; k < copies; k++)
        for (size_t i = 0; i < nkinds && n < STORM_MAX; i++) {
            worker *x = &w[n++];
            memset(x, 0, sizeof(*x));
            x->env = env;
            x->v = &v;
            x->kind = kinds[i];
            x->rounds = rounds;
            x->accounts = cast_accounts;
            x->admin_tok = c->admin;
            /* W_ME alternates admin and alice */
            int as_alice = kinds[i] == W_ME && (k + (int)i) % 2 == 1;
            x->login = kinds[i] == W_BOB ? "bob" : as_alice ? "alice" : "admin";
            x->role = as_alice ? "staff" : "admin";
            x->tok = kinds[i] == W_BOB ? c->bob : as_alice ? c->alice : c->admin;
        }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
    for (size_t i = 0; i < n; i++)
        pthread_join(w[i].th, NULL);
    verdict_check(&v, "replies during the storm");
    return n;
}

/* What shows that a storm was not vacuous: how many /me were answered
 * (200) and how many reads of the other kinds were refused. */
static void storm_counts(const worker *w, size_t n, int *me_ok, int *others_failed)
{
    *me_ok = *others_failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i].kind == W_ME)
            *me_ok += w[i].ok;
        else
            *others_failed += w[i].failed;
    }
}

static void send_me_alice(mc_testenv *env, void *arg, reply *out)
{
    call(NULL, env, "GET", "/api/v1/me", ((cast *)arg)->alice, out);
}

/* After a storm, service is sound again: alice's /me names alice. */
static void alice_is_served(mc_testenv *env, cast *c)
{
    reply r;
    until_available(env, send_me_alice, c, &r);
    if (r.status != 200)
        fail_msg("after the storm alice's /me is %d %s", r.status, r.code);
    assert_string_equal(mc_testenv_jstr(r.json, "account"), "alice");
    reply_free(&r);
}

static void a_wrong_type_key_never_sends_one_callers_reply_to_another(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    cast c;
    cast_new(env, &c);
    /* bob and carol, members of the org's account set, become strings: two,
     * so that at least one is not the last of any pipelined read */
    redisReply *r = mc_testenv_redis(env, "SET {mc}:acct:bob garbage");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = mc_testenv_redis(env, "SET {mc}:acct:carol garbage");
    freeReplyObject(r);
    assert_int_equal(mc_testenv_redis_int(env, "SISMEMBER {mc}:orgaccts:%s bob", MC_TEST_ORG),
                     1);

    worker w[STORM_MAX];
    const int kinds[] = {W_LIST, W_ME, W_ME, W_BOB};
    size_t n = storm(env, &c, kinds, 4, 2, 60, w);
    int me_ok, failed;
    storm_counts(w, n, &me_ok, &failed);
    assert_true(me_ok > 0);  /* the callers were served... */
    assert_true(failed > 0); /* ...while reads met the planted keys */
    alice_is_served(env, &c);
    cast_free(&c);
    mc_testenv_stop(env);
}

/* The ids of the clients of Redis that run commands (not pub/sub), other
 * than the connection c itself. */
static size_t command_clients(redisContext *c, long long *ids, size_t max)
{
    redisReply *r = redisCommand(c, "CLIENT LIST");
    assert_true(r && r->type == REDIS_REPLY_STRING);
    redisReply *me = redisCommand(c, "CLIENT ID");
    assert_true(me && me->type == REDIS_REPLY_INTEGER);
    size_t n = 0;
    for (char *line = r->str; line && *line && n < max;) {
        char *next = strchr(line, '\n');
        long long id = strtoll(line + 3, NULL, 10);
        int pubsub = strstr(line, " sub=0 ") == NULL || strstr(line, " psub=0 ") == NULL;
        if (strncmp(line, "id=", 3) == 0 && id != me->integer && !pubsub)
            ids[n++] = id;
        line = next ? next + 1 : NULL;
    }
    freeReplyObject(me);
    freeReplyObject(r);
    return n;
}

static int has_id(const long long *ids, size_t n, long long id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* A library with mcertd's library name and function names (and flags), in
 * which every function answers {{1}, 'x', 3}: a shape no caller expects. */
static void wrong_shaped_library(redisReply *lib, mc_buf *out)
{
    const char *name = NULL;
    redisReply *fns = NULL;
    for (size_t i = 0; i + 1 < lib->elements; i += 2) {
        if (strcmp(lib->element[i]->str, "library_name") == 0)
            name = lib->element[i + 1]->str;
        if (strcmp(lib->element[i]->str, "functions") == 0)
            fns = lib->element[i + 1];
    }
    assert_non_null(name);
    assert_non_null(fns);
    char line[512];
    snprintf(line, sizeof(line), "#!lua name=%s\n", name);
    mc_buf_append(out, line, strlen(line));
    for (size_t f = 0; f < fns->elements; f++) {
        redisReply *fn = fns->element[f];
        const char *fname = NULL;
        char flags[128] = "";
        for (size_t i = 0; i + 1 < fn->elements; i += 2) {
            if (strcmp(fn->element[i]->str, "name") == 0)
                fname = fn->element[i + 1]->str;
            if (strcmp(fn->element[i]->str, "flags") == 0)
                for (size_t k = 0; k < fn->element[i + 1]->elements; k++) {
                    size_t l = strlen(flags);
                    snprintf(flags + l, sizeof(flags) - l, "%s'%s'", l ? "," : "",
                             fn->element[i + 1]->element[k]->str);
                }
        }
        assert_non_null(fname);
        snprintf(line, sizeof(line),
                 "redis.register_function{function_name='%s', flags={%s}, "
                 "callback=function(keys, args) return {{1}, 'x', 3} end}\n",
                 fname, flags);
        mc_buf_append(out, line, strlen(line));
    }
}

static void wrong_shaped_function_replies_fail_their_requests_and_replace_the_connection(
    void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    cast c;
    cast_new(env, &c);
    expect_me(env, c.alice, "alice", "before");
    expect_me(env, c.admin, "admin", "before");
    redisContext *rc = redisConnect("127.0.0.1", env->redis_port);
    assert_true(rc && !rc->err);
    redisReply *libs = redisCommand(rc, "FUNCTION LIST WITHCODE");
    assert_true(libs && libs->type == REDIS_REPLY_ARRAY);
    if (libs->elements != 1)
        fail_msg("want mcertd's one Redis Functions library loaded, found %zu",
                 libs->elements);
    redisReply *lib = libs->element[0];
    const char *code = NULL;
    for (size_t i = 0; i + 1 < lib->elements; i += 2)
        if (strcmp(lib->element[i]->str, "library_code") == 0)
            code = lib->element[i + 1]->str;
    assert_non_null(code);
    long long before[64];
    size_t nbefore = command_clients(rc, before, 64);
    assert_true(nbefore > 0);

    mc_buf bad = {0};
    wrong_shaped_library(lib, &bad);
    redisReply *r = redisCommand(rc, "FUNCTION LOAD REPLACE %b", bad.ptr, bad.len);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        fail_msg("cannot load the wrong-shaped library: %s", r ? r->str : rc->errstr);
    freeReplyObject(r);
    mc_buf_free(&bad);
    /* the very next call meets a wrong shape */
    reply first;
    call(NULL, env, "GET", "/api/v1/me", c.alice, &first);
    expect_unavailable(&first, "the first /me after the library changed");
    reply_free(&first);

    worker w[STORM_MAX];
    const int kinds[] = {W_LIST, W_ME, W_ME};
    storm(env, &c, kinds, 3, 2, 30, w);

    r = redisCommand(rc, "FUNCTION LOAD REPLACE %s", code);
    assert_true(r && r->type != REDIS_REPLY_ERROR);
    freeReplyObject(r);
    settle(env);
    /* mcertd dropped connections whose reply order was in doubt and made new ones */
    long long after[64];
    size_t nafter = command_clients(rc, after, 64);
    int gone = 0, fresh = 0;
    for (size_t i = 0; i < nbefore; i++)
        gone += !has_id(after, nafter, before[i]);
    for (size_t i = 0; i < nafter; i++)
        fresh += !has_id(before, nbefore, after[i]);
    if (gone == 0 || fresh == 0)
        fail_msg("mcertd kept its Redis connections (%d gone, %d new)", gone, fresh);

    freeReplyObject(libs);
    redisFree(rc);
    alice_is_served(env, &c);
    expect_me(env, c.admin, "admin", "after the library is restored");
    cast_free(&c);
    mc_testenv_stop(env);
}

/* ------------------------------------------------------------------ */
/* Finding 2: a hung Redis                                             */
/* ------------------------------------------------------------------ */

#define STOP_SECONDS 8.0

/* During the stop, on its own connection: /me again and again, each a
 * 503 within the bound. */
typedef struct hung_me {
    pthread_t th;
    mc_testenv *env;
    const char *tok;
    double until;
    verdict *v;
    int n;
} hung_me;

static void *hung_me_main(void *arg)
{
    hung_me *h = arg;
    mc_err e;
    mc_http_client *cl = mc_http_client_new(h->env->base, &e);
    while (cl && mc_testenv_now() < h->until) {
        reply r;
        call(cl, h->env, "GET", "/api/v1/me", h->tok, &r);
        char why[300];
        if (not_unavailable(&r, UNAVAILABLE_BOUND, why, sizeof(why)))
            verdict_note(h->v, "/me during the stop: %s", why);
        h->n++;
        reply_free(&r);
    }
    mc_http_client_free(cl);
    return NULL;
}

/* One request that must not wait for Redis: 200 at once. */
static void at_once(mc_testenv *env, const char *path, verdict *v, int *store_seen)
{
    reply r;
    call(NULL, env, "GET", path, NULL, &r);
    if (r.status != 200 || r.secs >= AT_ONCE_BOUND)
        verdict_note(v, "%s during the stop: %d after %.2f s %s", path, r.status, r.secs, r.err);
    if (strcmp(path, "/healthz") == 0 && r.status == 200) {
        if (!json_is_boolean(json_object_get(r.json, "store")))
            verdict_note(v, "/healthz without a boolean \"store\": %.80s",
                         (const char *)r.raw.ptr);
        *store_seen = 1;
    }
    reply_free(&r);
}

/* A request that needs Redis, during the stop: 503 within the bound. */
static void unavailable_now(mc_testenv *env, const char *method, const char *path,
                            verdict *v)
{
    reply r;
    if (strcmp(method, "POST") == 0)
        post_json(NULL, env, path, NULL, json_pack("{s:s}", "purpose", "login"), &r);
    else
        call(NULL, env, method, path, NULL, &r);
    char why[300];
    if (not_unavailable(&r, UNAVAILABLE_BOUND, why, sizeof(why)))
        verdict_note(v, "%s %s during the stop: %s", method, path, why);
    reply_free(&r);
}

static void send_me_tok(mc_testenv *env, void *arg, reply *out)
{
    call(NULL, env, "GET", "/api/v1/me", arg, out);
}

static void a_hung_redis_gets_503_in_time_static_pages_at_once_and_service_resumes(
    void **state)
{
    const char *const args[] = DEADLINE_ARGS;
    mc_testenv_opts o = {.mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    char *tok = mc_testenv_login(env, "admin");
    char sid[MC_SID_LEN + 1], poll[64], phone_path[64];
    int match;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    snprintf(phone_path, sizeof(phone_path), "/m/v1/sessions/%s", sid);
    reply r;
    call(NULL, env, "GET", "/readyz", NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);

    verdict v;
    verdict_init(&v);
    double t0 = mc_testenv_now();
    mc_testenv_pause_redis(env, 1);
    /* requests that need Redis end before the stop does */
    double last_bound = t0 + STOP_SECONDS - UNAVAILABLE_BOUND - 0.5;
    hung_me h = {.env = env, .tok = tok, .until = last_bound, .v = &v};
    assert_int_equal(pthread_create(&h.th, NULL, hung_me_main, &h), 0);
    int rounds = 0, store_seen = 0;
    while (mc_testenv_now() < t0 + STOP_SECONDS - AT_ONCE_BOUND) {
        at_once(env, "/healthz", &v, &store_seen);
        at_once(env, "/", &v, &store_seen);
        at_once(env, "/app.js", &v, &store_seen);
        at_once(env, "/style.css", &v, &store_seen);
        /* one set of Redis-bound requests a second or so */
        if (rounds++ % 8 == 0 && mc_testenv_now() < last_bound) {
            unavailable_now(env, "POST", "/api/v1/sessions", &v);
            unavailable_now(env, "GET", phone_path, &v);
            unavailable_now(env, "GET", "/readyz", &v);
        }
        usleep(100000);
    }
    pthread_join(h.th, NULL);
    mc_testenv_pause_redis(env, 0);
    verdict_check(&v, "while Redis was stopped");
    assert_true(store_seen);
    assert_true(h.n >= 2); /* several /me answered within the stop */
    assert_true(rounds >= 10);

    /* service resumes without a restart */
    until_available(env, send_me_tok, tok, &r);
    if (r.status != 200)
        fail_msg("/me after SIGCONT: %d %s", r.status, r.code);
    assert_string_equal(mc_testenv_jstr(r.json, "account"), "admin");
    reply_free(&r);
    settle(env);
    /* every loop's store connection comes back by itself, within its
     * back-off (at most 2 s), without any request needing it */
    double back = mc_testenv_now();
    for (;;) {
        call(NULL, env, "GET", "/healthz", NULL, &r);
        assert_int_equal(r.status, 200);
        int up = json_is_true(json_object_get(r.json, "store"));
        reply_free(&r);
        if (up)
            break;
        if (mc_testenv_now() - back > RESUME_BOUND)
            fail_msg("/healthz: the store connection did not come back");
        usleep(100000);
    }
    free(tok);
    mc_testenv_stop(env);
}

/* ------------------------------------------------------------------ */
/* A rig: an env with "admin", its phone and its password token         */
/* ------------------------------------------------------------------ */

typedef struct rig {
    mc_testenv *env;
    mc_testfault_proxy *proxy; /* lossy rigs: mcertd reaches Redis through it */
    mc_phone *ph;
    char *tok;
} rig;

/* lossy: through the fault proxy, with a 1 s store deadline. */
static void rig_start(rig *g, int lossy, mc_alg alg)
{
    memset(g, 0, sizeof(*g));
    const char *const args[] = DEADLINE_ARGS;
    mc_testenv_opts o = {.mcertd_args = lossy ? args : NULL, .proxy = lossy ? &g->proxy : NULL};
    g->env = mc_testenv_start_opts(&o);
    mc_testenv_account(g->env, "admin", MC_TEST_ORG, "admin");
    g->ph = mc_testenv_phone(g->env, "phone", alg, MC_TEST_ORG);
    g->tok = mc_testenv_login(g->env, "admin");
}

static void rig_stop(rig *g)
{
    free(g->tok);
    mc_phone_free(g->ph);
    mc_testenv_stop(g->env);
    mc_testfault_proxy_free(g->proxy);
}

/* The fingerprint of the certificate bound to admin ("" if none). */
static void admin_cert(mc_testenv *env, char fp[65])
{
    redisReply *r = mc_testenv_redis(env, "HGET {mc}:acct:admin cert");
    snprintf(fp, 65, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
}

/* ------------------------------------------------------------------ */
/* A crashed Redis                                                     */
/* ------------------------------------------------------------------ */

#define CRASH_WAIT 8

typedef struct waiting_poll {
    pthread_t th;
    mc_testenv *env;
    const char *sid, *poll;
    reply r;
} waiting_poll;

static void *waiting_poll_main(void *arg)
{
    waiting_poll *p = arg;
    poll_session(p->env, p->sid, p->poll, "scanned", CRASH_WAIT, &p->r);
    return NULL;
}

/* In a child process: wait, then approve the fetched session. */
static pid_t approve_later(mc_testenv *env, const char *sid, const mc_buf *body, int delay_ms)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        usleep((useconds_t)delay_ms * 1000);
        reply r;
        post_answer(env, sid, body, &r);
        _exit(r.status == 200 ? 0 : 1);
    }
    return pid;
}

static void long_polls_end_across_a_redis_crash_and_wake_after_it(void **state)
{
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    mc_testenv *env = g.env;
    bind_self(env, g.ph, g.tok, "admin");

    /* a poll that waits while Redis dies and comes back */
    char sid[MC_SID_LEN + 1], poll[64];
    mc_buf body = {0};
    open_and_build(env, g.ph, NULL, "login", sid, poll, &body);
    waiting_poll wp = {.env = env, .sid = sid, .poll = poll};
    assert_int_equal(pthread_create(&wp.th, NULL, waiting_poll_main, &wp), 0);
    usleep(500000);
    mc_testenv_crash_redis(env);
    pthread_join(wp.th, NULL);
    char why[300];
    if (wp.r.status == 0)
        fail_msg("the poll waiting during the crash got no reply: %s", wp.r.err);
    if (wp.r.secs > CRASH_WAIT + 2.0)
        fail_msg("the poll waiting during the crash took %.1f s (wait=%d)", wp.r.secs,
                 CRASH_WAIT);
    if (wp.r.status == 200) /* woken and read again */
        assert_true(strlen(mc_testenv_jstr(wp.r.json, "state")) > 0);
    else if (wp.r.status == 404) /* QR sessions are not durable: a crash of Redis loses them */
        assert_string_equal(wp.r.code, "unknown_session");
    else if (not_unavailable(&wp.r, CRASH_WAIT + 2.0, why, sizeof(why)))
        fail_msg("the poll waiting during the crash: %s", why);
    reply_free(&wp.r);
    mc_buf_free(&body);

    /* service is back; a poll opened now still wakes on the phone's answer */
    reply r;
    until_available(env, send_me_tok, g.tok, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    settle(env);
    open_and_build(env, g.ph, NULL, "login", sid, poll, &body);
    pid_t child = approve_later(env, sid, &body, 1500);
    poll_session(env, sid, poll, "scanned", 25, &r);
    int ws;
    waitpid(child, &ws, 0);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    if (r.status != 200)
        fail_msg("poll after the crash: %d %s %s", r.status, r.code, r.err);
    assert_string_equal(mc_testenv_jstr(r.json, "state"), "approved");
    if (r.secs > 10.0)
        fail_msg("the poll after the crash was not woken (%.1f s)", r.secs);
    reply_free(&r);
    mc_buf_free(&body);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* Finding 3: exactly once                                             */
/* ------------------------------------------------------------------ */

/* The reply to the write that grows g is lost on its way to mcertd. */
static void lose_next_write(rig *l, grown *g)
{
    mc_testfault_proxy_lose_reply(l->proxy, grown_past, g);
}

/* The reply was lost after the write ran; then wait for mcertd to have
 * replaced the connection. */
static void expect_lost(rig *l, grown *g, int nlost)
{
    assert_int_equal(mc_testfault_proxy_lost(l->proxy), nlost); /* the fault did happen */
    assert_true(redis_count(l->env, g->script, g->arg) > g->before); /* after the write ran */
    redisFree(g->c);
    settle(l->env);
}

typedef struct answer_arg {
    const char *sid;
    const mc_buf *body;
} answer_arg;

static void send_answer(mc_testenv *env, void *arg, reply *out)
{
    answer_arg *a = arg;
    post_answer(env, a->sid, a->body, out);
}

/* The phone's approval of a new `purpose` session (audited as `what`)
 * runs, but its reply is lost: 503; the same bytes sent again get the first
 * result, and the approval was applied once. */
static void lose_approval(rig *l, const char *purpose, const char *what, int nlost)
{
    char sid[MC_SID_LEN + 1], poll[64];
    mc_buf body = {0};
    open_and_build(l->env, l->ph, strcmp(purpose, "bind") == 0 ? l->tok : NULL, purpose, sid,
                   poll, &body);
    grown g;
    grown_init(&g, l->env, COUNT_AUDIT, "{mc}:audit");
    lose_next_write(l, &g);
    reply r;
    post_answer(l->env, sid, &body, &r);
    expect_unavailable(&r, "the approval whose reply was lost");
    reply_free(&r);
    expect_lost(l, &g, nlost);
    assert_int_equal(mc_testenv_audit_count(l->env, what, "account", "admin"), 1);

    /* the phone sends the same bytes again: the first result, not 409 */
    answer_arg a = {sid, &body};
    until_available(l->env, send_answer, &a, &r);
    expect_approved(&r, "admin", "the re-sent approval");
    reply_free(&r);
    post_answer(l->env, sid, &body, &r);
    expect_approved(&r, "admin", "the approval sent a third time");
    reply_free(&r);
    assert_int_equal(mc_testenv_audit_count(l->env, what, "account", "admin"), 1);
    poll_session(l->env, sid, poll, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(mc_testenv_jstr(r.json, "state"), "approved");
    assert_string_equal(mc_testenv_jstr(r.json, "account"), "admin");
    char fp[65];
    admin_cert(l->env, fp);
    assert_string_equal(mc_testenv_jstr(r.json, "cert"), fp); /* the binding is there */
    reply_free(&r);
    mc_buf_free(&body);
}

static void a_lost_approval_reply_is_answered_again_with_the_first_result(void **state)
{
    rig l;
    rig_start(&l, 1, MC_ALG_P256);
    lose_approval(&l, "bind", "bind", 1);
    lose_approval(&l, "login", "login_approve", 2);
    rig_stop(&l);
}

typedef struct poll_arg {
    const char *sid, *poll;
} poll_arg;

static void send_poll(mc_testenv *env, void *arg, reply *out)
{
    poll_arg *p = arg;
    poll_session(env, p->sid, p->poll, NULL, 0, out);
}

/* The token of an approved login's poll reply (it must carry one). */
static void token_of(const reply *r, char token[128], const char *what)
{
    if (r->status != 200)
        fail_msg("%s: %d %s (%s) %s", what, r->status, r->code, r->msg, r->err);
    assert_string_equal(mc_testenv_jstr(r->json, "state"), "approved");
    snprintf(token, 128, "%s", mc_testenv_jstr(r->json, "token"));
    if (strlen(token) < 40)
        fail_msg("%s carries no token: %.200s", what, r->json ? (const char *)r->raw.ptr : "");
}

/* Polling again, `times` times, gives the same token; it works; one web
 * session (web0 + 1) exists for it. */
static void same_token(mc_testenv *env, const char *sid, const char *poll, const char *token,
                       int times, long long web0)
{
    for (int i = 0; i < times; i++) {
        reply r;
        char again[128];
        poll_session(env, sid, poll, NULL, 0, &r);
        token_of(&r, again, "polling again");
        assert_string_equal(again, token);
        reply_free(&r);
    }
    expect_me(env, token, "admin", "the collected token");
    assert_int_equal(redis_count(env, COUNT_KEYS, "{mc}:web:*"), web0 + 1);
}

static void a_lost_token_reply_is_polled_again_to_the_same_working_token(void **state)
{
    rig l;
    rig_start(&l, 1, MC_ALG_P256);
    char sid[MC_SID_LEN + 1], poll[64], token[128];
    approved_login(l.env, l.ph, l.tok, sid, poll);
    reply r;
    grown g;
    grown_init(&g, l.env, COUNT_KEYS, "{mc}:web:*");
    lose_next_write(&l, &g);
    poll_session(l.env, sid, poll, NULL, 0, &r);
    expect_unavailable(&r, "the poll whose token reply was lost");
    reply_free(&r);
    expect_lost(&l, &g, 1);
    /* the retried poll (same poll secret) gets the token, and it works */
    poll_arg p = {sid, poll};
    until_available(l.env, send_poll, &p, &r);
    token_of(&r, token, "the retried poll");
    reply_free(&r);
    same_token(l.env, sid, poll, token, 2, g.before);
    rig_stop(&l);
}

static void send_open_login(mc_testenv *env, void *arg, reply *out)
{
    post_json(NULL, env, "/api/v1/sessions", NULL, json_pack("{s:s}", "purpose", "login"), out);
}

static void a_lost_session_open_reply_is_opened_again_without_sid_collision(void **state)
{
    rig l;
    rig_start(&l, 1, MC_ALG_P256);
    grown g;
    grown_init(&g, l.env, COUNT_KEYS, "{mc}:sess:*");
    lose_next_write(&l, &g);
    reply r;
    send_open_login(l.env, NULL, &r);
    expect_unavailable(&r, "the session open whose reply was lost");
    reply_free(&r);
    expect_lost(&l, &g, 1);
    for (int i = 0; i < 3; i++) {
        until_available(l.env, send_open_login, NULL, &r);
        if (r.status != 201)
            fail_msg("open after the lost reply: %d %s", r.status, r.code);
        char sid[MC_SID_LEN + 1], poll[64];
        snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(r.json, "sid"));
        snprintf(poll, sizeof(poll), "%s", mc_testenv_jstr(r.json, "poll_secret"));
        reply_free(&r);
        poll_session(l.env, sid, poll, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(mc_testenv_jstr(r.json, "state"), "pending");
        reply_free(&r);
    }
    rig_stop(&l);
}

static void the_same_signed_answer_twice_returns_the_first_result_twice(void **state)
{
    rig g;
    rig_start(&g, 0, MC_ALG_SM2);
    const char *purposes[] = {"bind", "login"};
    const char *audits[] = {"bind", "login_approve"};
    for (size_t p = 0; p < 2; p++) {
        char sid[MC_SID_LEN + 1], poll[64];
        mc_buf body = {0};
        open_and_build(g.env, g.ph, p == 0 ? g.tok : NULL, purposes[p], sid, poll, &body);
        int before = mc_testenv_audit_count(g.env, audits[p], "account", "admin");
        reply first, again;
        post_answer(g.env, sid, &body, &first);
        expect_approved(&first, "admin", purposes[p]);
        post_answer(g.env, sid, &body, &again);
        expect_approved(&again, "admin", "the same answer again");
        assert_int_equal(again.raw.len, first.raw.len);
        assert_memory_equal(again.raw.ptr, first.raw.ptr, first.raw.len);
        reply_free(&first);
        reply_free(&again);
        assert_int_equal(mc_testenv_audit_count(g.env, audits[p], "account", "admin"),
                         before + 1); /* applied once */
        mc_buf_free(&body);
    }
    rig_stop(&g);
}

static void polling_an_approved_login_returns_the_same_token_until_logout(void **state)
{
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    char sid[MC_SID_LEN + 1], poll[64], token[128];
    approved_login(g.env, g.ph, g.tok, sid, poll);
    long long web0 = redis_count(g.env, COUNT_KEYS, "{mc}:web:*");
    reply r;
    poll_session(g.env, sid, poll, NULL, 0, &r);
    token_of(&r, token, "the first poll");
    reply_free(&r);
    same_token(g.env, sid, poll, token, 3, web0);
    /* after logout, polling hands out nothing that works */
    call(NULL, g.env, "POST", "/api/v1/logout", token, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    poll_session(g.env, sid, poll, NULL, 0, &r);
    const char *t = mc_testenv_jstr(r.json, "token");
    if (t[0] != '\0') {
        reply me;
        call(NULL, g.env, "GET", "/api/v1/me", t, &me);
        assert_int_equal(me.status, 401);
        reply_free(&me);
    }
    reply_free(&r);
    rig_stop(&g);
}

/* ------------------------------------------------------------------ */
/* Finding 4: the minting re-checks the certificate                    */
/* ------------------------------------------------------------------ */

/* A login is approved; then the certificate is revoked (or unbound); then
 * the browser polls: no token (status, code), twice, and no web session. */
static void approved_then_changed(int revoke, int status, const char *code)
{
    rig g;
    rig_start(&g, 0, MC_ALG_P256);
    char sid[MC_SID_LEN + 1], poll[64], fp[65];
    approved_login(g.env, g.ph, g.tok, sid, poll);
    admin_cert(g.env, fp);
    long long web0 = redis_count(g.env, COUNT_KEYS, "{mc}:web:*");
    reply r;
    if (revoke) {
        assert_int_equal(mc_testenv_ctl(g.env, "revoke --fp %s >/dev/null", fp), 0);
    } else {
        call(NULL, g.env, "DELETE", "/api/v1/bindings/admin", g.tok, &r);
        assert_int_equal(r.status, 200);
        reply_free(&r);
    }
    for (int i = 0; i < 2; i++) {
        poll_session(g.env, sid, poll, NULL, 0, &r);
        if (json_object_get(r.json, "token"))
            fail_msg("a token was minted: %d %.200s", r.status, (const char *)r.raw.ptr);
        expect_error(&r, status, code, "the poll after the change");
        reply_free(&r);
    }
    assert_int_equal(redis_count(g.env, COUNT_KEYS, "{mc}:web:*"), web0);
    rig_stop(&g);
}

static void a_login_approved_then_revoked_before_the_poll_gets_no_token(void **state)
{
    approved_then_changed(1, 403, "cert_revoked");
}

static void a_login_approved_then_unbound_before_the_poll_gets_no_token(void **state)
{
    approved_then_changed(0, 404, "not_bound");
}

/* An argument runs only the tests whose names match it (a cmocka pattern). */
int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_wrong_type_key_never_sends_one_callers_reply_to_another),
        cmocka_unit_test(a_hung_redis_gets_503_in_time_static_pages_at_once_and_service_resumes),
        cmocka_unit_test(long_polls_end_across_a_redis_crash_and_wake_after_it),
        cmocka_unit_test(a_lost_approval_reply_is_answered_again_with_the_first_result),
        cmocka_unit_test(a_lost_token_reply_is_polled_again_to_the_same_working_token),
        cmocka_unit_test(a_lost_session_open_reply_is_opened_again_without_sid_collision),
        cmocka_unit_test(the_same_signed_answer_twice_returns_the_first_result_twice),
        cmocka_unit_test(polling_an_approved_login_returns_the_same_token_until_logout),
        cmocka_unit_test(a_login_approved_then_revoked_before_the_poll_gets_no_token),
        cmocka_unit_test(a_login_approved_then_unbound_before_the_poll_gets_no_token),
        cmocka_unit_test(
            wrong_shaped_function_replies_fail_their_requests_and_replace_the_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
