/*
 * test_unauth.c — the limits on unauthenticated work (issue 9), against a
 * real redis-server and the real mcertd: anyone on the internet may open QR
 * sessions, long-poll them and try passwords, so each of these is bounded
 * per client address (or per session), the client address is the TCP peer
 * unless a configured trusted proxy names it in X-Forwarded-For, and what
 * the phone shows of the requesting browser is cleaned.
 *
 * The contract tested (mcertd --help, server/mc_defaults.h):
 *   --limit-opens N    QR session opens per client address per minute;
 *   --limit-pending N  QR sessions open at once per client address;
 *                      over either: 429 too_many_sessions + Retry-After;
 *   --limit-waiters N  long polls waiting on one session (per event loop):
 *                      429 too_many_waiters; the polls that one change wakes
 *                      share one Redis read;
 *   --trusted-proxy C  X-Forwarded-For counts from this peer only, read from
 *                      the right up to the first untrusted entry;
 *   password logins:   10 attempts per account and address (counted before
 *                      the check, so parallel guesses never pass it), then
 *                      429 too_many_attempts; the checks run on a worker pool
 *                      (full: 503 busy), never on the event loop.
 * Every refusal is the documented JSON {code, message}.
 *
 * Layout: every test starts its own env, because each needs its own mcertd
 * flags and its own fresh counters. Concurrent requests run on threads, one
 * connection each (mc_testenv_send); threads never call cmocka: the main
 * thread checks their replies after joining them.
 *
 * Non-goals: the connection guard (test_edge.c), hostile phone messages
 * (test_hostile.c), performance numbers beyond a generous bound (the
 * measured ones are printed; scripts/bench measures).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "mc_testenv.h"
#include "mc_ua.h"

#define OPEN_PATH "/api/v1/sessions?qr=none"
#define LOGIN_BODY "{\"purpose\":\"login\"}"
#define PW_LIMIT 10             /* password attempts per account and address */
#define HEALTHZ_BOUND 1.5       /* seconds: /healthz during a login storm, generously */
#define WAKE_BOUND 5.0          /* seconds from the phone's fetch to a woken poll's reply */

typedef mc_testenv_reply reply;

/* ------------------------------------------------------------------ */
/* Requests and checks                                                 */
/* ------------------------------------------------------------------ */

/* Headers for a request "from" ip (X-Forwarded-For; NULL: none) with an
 * optional extra header line; bufs holds the formatted lines. */
typedef struct hdrs {
    char xff[96];
    const char *h[3];
} hdrs;

static const char *const *hdrs_of(hdrs *b, const char *ip, const char *extra)
{
    size_t n = 0;
    if (ip) {
        snprintf(b->xff, sizeof(b->xff), "X-Forwarded-For: %s", ip);
        b->h[n++] = b->xff;
    }
    if (extra)
        b->h[n++] = extra;
    b->h[n] = NULL;
    return b->h;
}

/* POST a login session open "from" ip (NULL: the peer), with an extra
 * header line (may be NULL). */
static void open_from(mc_testenv *env, const char *ip, const char *extra, reply *out)
{
    hdrs b;
    mc_testenv_send(env->base, "POST", OPEN_PATH, hdrs_of(&b, ip, extra), LOGIN_BODY, 10, out);
    if (out->status == 0)
        fail_msg("open: %s (server hung or crashed?)", out->err);
}

/* A password login "from" ip (NULL: the peer). */
static void login_from(mc_testenv *env, const char *account, const char *pw, const char *ip,
                       reply *out)
{
    char body[300];
    snprintf(body, sizeof(body), "{\"account\":\"%s\",\"password\":\"%s\"}", account, pw);
    hdrs b;
    mc_testenv_send(env->base, "POST", "/api/v1/login", hdrs_of(&b, ip, NULL), body, 20, out);
    if (out->status == 0)
        fail_msg("login: %s (server hung or crashed?)", out->err);
}

/* NULL if r is the error `status code` as {code, message} JSON, else
 * what is wrong, in buf. */
static const char *not_error(const reply *r, int status, const char *code, char *buf, size_t n)
{
    if (r->status == status && r->shaped && strcmp(r->code, code) == 0)
        return NULL;
    snprintf(buf, n, "want %d %s, got %d %s (%s)%s%s", status, code, r->status, r->code, r->msg,
             r->status && !r->shaped ? " (not a {code, message} reply)" : "", r->err);
    return buf;
}

static void expect_error(const reply *r, int status, const char *code, const char *what)
{
    char why[400];
    if (not_error(r, status, code, why, sizeof(why)))
        fail_msg("%s: %s", what, why);
}

/* The Retry-After of r: whole seconds in lo..hi. */
static int expect_retry_after(const reply *r, int lo, int hi, const char *what)
{
    const char *s = r->retry_after;
    if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 6)
        fail_msg("%s: Retry-After \"%s\" is not whole seconds", what, s);
    int v = atoi(s);
    if (v < lo || v > hi)
        fail_msg("%s: Retry-After %d, want %d..%d", what, v, lo, hi);
    return v;
}

/* 429 too_many_sessions with a Retry-After of lo..hi seconds. */
static void expect_too_many_sessions(const reply *r, int lo, int hi, const char *what)
{
    expect_error(r, 429, "too_many_sessions", what);
    expect_retry_after(r, lo, hi, what);
}

static void expect_opened(const reply *r, const char *what)
{
    if (r->status != 201 || strlen(mc_testenv_jstr(r->json, "sid")) != MC_SID_LEN)
        fail_msg("%s: want 201 with a sid, got %d %s (%s)", what, r->status, r->code, r->msg);
}

/* Keys matching a pattern, counted by Redis. */
static long long count_keys(mc_testenv *env, const char *pattern)
{
    return mc_testenv_redis_int(env, "EVAL %s 0 %s", "return #redis.call('KEYS', ARGV[1])",
                                pattern);
}

/* The phone's view of session sid (the fetch marks it scanned). */
static void phone_view(mc_testenv *env, const char *sid, mc_session_view *v)
{
    mc_phone_err pe;
    if (mc_phone_fetch(env->base, sid, v, &pe) != 0)
        fail_msg("phone fetch %s: %d %s %s", sid, pe.status, pe.code, pe.msg);
}

/* Open a login session "from" ip and return what the phone is shown. */
static void open_and_view(mc_testenv *env, const char *ip, const char *extra, mc_session_view *v)
{
    reply r;
    open_from(env, ip, extra, &r);
    expect_opened(&r, "open");
    char sid[MC_SID_LEN + 1];
    snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(r.json, "sid"));
    mc_testenv_reply_free(&r);
    phone_view(env, sid, v);
}

/* An integer field of a Redis INFO section, e.g. ("commandstats",
 * "cmdstat_fcall_ro", "calls"); 0 if the line is absent (never called). */
static long long info_field(mc_testenv *env, const char *section, const char *line,
                            const char *field)
{
    redisReply *r = mc_testenv_redis(env, "INFO %s", section);
    if (r->type != REDIS_REPLY_STRING)
        fail_msg("INFO %s: not a string reply", section);
    char key[80], fkey[40];
    snprintf(key, sizeof(key), "\n%s:", line);
    snprintf(fkey, sizeof(fkey), "%s=", field);
    long long v = 0;
    const char *p = strstr(r->str, key);
    if (p) {
        const char *eol = strchr(p + 1, '\n');
        const char *f = strstr(p, fkey);
        if (f == NULL || (eol && f > eol))
            fail_msg("INFO %s: %s has no %s", section, line, field);
        v = atoll(f + strlen(fkey));
    }
    freeReplyObject(r);
    return v;
}

/* The "waiters" of /healthz (long polls waiting on the loop that answered;
 * with --threads 1, all of them). */
static long long healthz_waiters(mc_testenv *env)
{
    reply r;
    mc_testenv_send(env->base, "GET", "/healthz", NULL, NULL, 5, &r);
    if (r.status != 200)
        fail_msg("/healthz: %d %s", r.status, r.err);
    long long n = (long long)json_integer_value(json_object_get(r.json, "waiters"));
    mc_testenv_reply_free(&r);
    return n;
}

/* Wait until n long polls wait (/healthz), within 10 s. */
static void until_waiters(mc_testenv *env, long long n)
{
    double t0 = mc_testenv_now();
    long long have;
    while ((have = healthz_waiters(env)) != n) {
        if (mc_testenv_now() - t0 > 10.0)
            fail_msg("%lld long polls wait after 10 s, want %lld", have, n);
        usleep(20000);
    }
}

/* ------------------------------------------------------------------ */
/* Requests on threads                                                 */
/* ------------------------------------------------------------------ */

/* One request sent by its own thread on its own connection. */
typedef struct shot {
    const char *base;
    const char *method;
    char path[200];
    char body[300];
    char hdr[160];
    const char *h[2];
    int timeout_s;
    pthread_barrier_t *go;        /* if not NULL: wait here, then send */
    reply rep;
    double ended;                 /* mc_testenv_now() when the reply was in */
    int done;                     /* atomic */
} shot;

static void *shot_run(void *p)
{
    shot *s = p;
    if (s->go)
        pthread_barrier_wait(s->go);
    mc_testenv_send(s->base, s->method, s->path, s->h, s->body[0] ? s->body : NULL,
                    s->timeout_s, &s->rep);
    s->ended = mc_testenv_now();
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* n wrong-password logins for account (numbered: "account-<i>", one
 * account each), each on its own thread, released together by go. */
static void login_shots(shot *s, size_t n, mc_testenv *env, const char *account, int numbered,
                        pthread_barrier_t *go)
{
    for (size_t i = 0; i < n; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        s[i].base = env->base;
        s[i].method = "POST";
        s[i].timeout_s = 30;
        s[i].go = go;
        snprintf(s[i].path, sizeof(s[i].path), "/api/v1/login");
        char name[64];
        if (numbered)
            snprintf(name, sizeof(name), "%s-%zu", account, i);
        else
            snprintf(name, sizeof(name), "%s", account);
        snprintf(s[i].body, sizeof(s[i].body),
                 "{\"account\":\"%s\",\"password\":\"wrong-guess-%zu\"}", name, i);
    }
}

/* n long polls of session sid (known state "pending", wait seconds). */
static void poll_shots(shot *s, size_t n, mc_testenv *env, const char *sid, const char *poll,
                       int wait)
{
    for (size_t i = 0; i < n; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        s[i].base = env->base;
        s[i].method = "GET";
        s[i].timeout_s = wait + 20;
        mc_testenv_poll_request(sid, poll, "pending", wait, s[i].path, s[i].hdr);
        s[i].h[0] = s[i].hdr;
    }
}

static void fire(shot *s, size_t n, pthread_t *th)
{
    for (size_t i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, shot_run, &s[i]) != 0)
            fail_msg("pthread_create %zu", i);
}

static void join(size_t n, pthread_t *th)
{
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static void shots_free(shot *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mc_testenv_reply_free(&s[i].rep);
}

/* A login session opened by the peer: sid and poll secret. */
static void open_session(mc_testenv *env, char sid[MC_SID_LEN + 1], char poll[64])
{
    int match;
    int st = mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL);
    if (st != 201)
        fail_msg("open a login session: %d", st);
}

/* ------------------------------------------------------------------ */
/* QR session opens                                                    */
/* ------------------------------------------------------------------ */

/* One address opening sessions as fast as it can: the first 20 of the
 * minute are stored, every other one is refused before anything is
 * stored. */
static void session_open_flood_from_one_address_gets_429(void **state)
{
    (void)state;
    const char *const args[] = {"--limit-opens", "20", NULL};
    mc_testenv_opts o = {.mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    for (int i = 0; i < 25; i++) {
        reply r;
        char what[40];
        snprintf(what, sizeof(what), "open %d of 25", i + 1);
        open_from(env, NULL, NULL, &r);
        if (i < 20)
            expect_opened(&r, what);
        else
            expect_too_many_sessions(&r, 1, 60, what);
        mc_testenv_reply_free(&r);
    }
    long long n = count_keys(env, "{mc}:sess:*");
    if (n != 20)
        fail_msg("%lld session keys in Redis after the flood, want 20", n);
    mc_testenv_stop(env);
}

/* Sessions open at once per address: the 6th of 5 is refused until the
 * earlier ones expire, and then the address may open 5 again. */
static void open_sessions_per_address_are_capped_until_they_expire(void **state)
{
    (void)state;
    const char *const args[] = {"--limit-opens", "0", "--limit-pending", "5", NULL};
    mc_testenv_opts o = {.session_ttl = 2, .mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5; i++) {
            reply r;
            char what[60];
            snprintf(what, sizeof(what), "round %d, open %d of 5", round + 1, i + 1);
            open_from(env, NULL, NULL, &r);
            expect_opened(&r, what);
            mc_testenv_reply_free(&r);
        }
        reply r;
        open_from(env, NULL, NULL, &r);
        /* Retry-After: until the oldest of them expires (a 2 s TTL) */
        expect_too_many_sessions(&r, 1, 2, round ? "6th open after expiry" : "6th open");
        mc_testenv_reply_free(&r);
        if (round == 0)
            sleep(3);
    }
    mc_testenv_stop(env);
}

/* ------------------------------------------------------------------ */
/* The client address                                                  */
/* ------------------------------------------------------------------ */

/* Behind a trusted proxy, X-Forwarded-For names the client: its opens
 * are counted for it (not for the proxy, which carries everyone), and
 * the phone shows its address; entries the client wrote itself, left of
 * the proxy's, change nothing. */
static void trusted_proxy_xff_is_the_client_for_limits_and_phone(void **state)
{
    (void)state;
    const char *const args[] = {"--trusted-proxy", "127.0.0.1", "--limit-opens", "3", NULL};
    mc_testenv_opts o = {.mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    mc_session_view v;
    open_and_view(env, "203.0.113.9", NULL, &v);
    assert_string_equal(v.s.ip, "203.0.113.9");
    for (int i = 0; i < 2; i++) {
        reply r;
        open_from(env, "203.0.113.9", NULL, &r);
        expect_opened(&r, "open from 203.0.113.9");
        mc_testenv_reply_free(&r);
    }
    reply r;
    open_from(env, "203.0.113.9", NULL, &r);
    expect_too_many_sessions(&r, 1, 60, "4th open from 203.0.113.9");
    mc_testenv_reply_free(&r);
    /* a forged chain: our proxy appended 203.0.113.9 to what the client sent */
    open_from(env, "1.2.3.4, 203.0.113.9", NULL, &r);
    expect_too_many_sessions(&r, 1, 60, "open from 203.0.113.9 claiming 1.2.3.4 first");
    mc_testenv_reply_free(&r);
    /* another client behind the same proxy is not limited by it */
    open_and_view(env, "198.51.100.7", NULL, &v);
    assert_string_equal(v.s.ip, "198.51.100.7");
    open_and_view(env, "1.2.3.4, 198.51.100.7", NULL, &v);
    assert_string_equal(v.s.ip, "198.51.100.7");
    /* nor is the proxy itself (a request without the header) */
    open_and_view(env, NULL, NULL, &v);
    assert_string_equal(v.s.ip, "127.0.0.1");
    mc_testenv_stop(env);
}

/* From a peer that is not a trusted proxy the header is ignored: the
 * phone shows the peer, and every open counts for the peer whatever
 * address the header claims. */
static void xff_from_an_untrusted_peer_is_ignored(void **state)
{
    (void)state;
    const char *const args[] = {"--limit-opens", "3", NULL};
    mc_testenv_opts o = {.mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    mc_session_view v;
    open_and_view(env, "203.0.113.9", NULL, &v);
    assert_string_equal(v.s.ip, "127.0.0.1");
    open_and_view(env, "1.2.3.4, 203.0.113.9", NULL, &v);
    assert_string_equal(v.s.ip, "127.0.0.1");
    open_and_view(env, "198.51.100.7", NULL, &v);
    assert_string_equal(v.s.ip, "127.0.0.1");
    reply r;
    open_from(env, "192.0.2.1", NULL, &r);
    expect_too_many_sessions(&r, 1, 60, "4th open from 127.0.0.1 claiming 192.0.2.1");
    mc_testenv_reply_free(&r);
    mc_testenv_stop(env);
}

/* ------------------------------------------------------------------ */
/* Password guessing                                                   */
/* ------------------------------------------------------------------ */

/* A stranger guessing admin's password from one address locks only
 * admin-from-that-address: the owner, elsewhere, logs in. */
static void owner_logs_in_from_another_address_during_a_guessing_attack(void **state)
{
    (void)state;
    const char *const args[] = {"--trusted-proxy", "127.0.0.1", NULL};
    mc_testenv_opts o = {.mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    long waits[14] = {0};
    for (int i = 0; i < 14; i++) {
        reply r;
        char what[60], pw[32];
        snprintf(what, sizeof(what), "wrong password %d of 14 from 203.0.113.66", i + 1);
        snprintf(pw, sizeof(pw), "guess-%d", i);
        login_from(env, "admin", pw, "203.0.113.66", &r);
        if (i < PW_LIMIT) {
            expect_error(&r, 401, "bad_credentials", what);
        } else {
            expect_error(&r, 429, "too_many_attempts", what);
            expect_retry_after(&r, 1, 86400, what);
            waits[i] = strtol(r.retry_after, NULL, 10);
        }
        mc_testenv_reply_free(&r);
    }
    /* the first refusal waits out the window; each further one doubles it */
    assert_true(waits[PW_LIMIT] > 0 && waits[PW_LIMIT] <= 900);
    assert_true(waits[PW_LIMIT + 1] > 900 && waits[PW_LIMIT + 1] <= 1800);
    assert_true(waits[PW_LIMIT + 2] > 1800 && waits[PW_LIMIT + 2] <= 3600);
    assert_true(waits[PW_LIMIT + 3] > 3600 && waits[PW_LIMIT + 3] <= 7200);
    /* the right password from the guessing address stays refused */
    reply r;
    login_from(env, "admin", "pw-admin-secret", "203.0.113.66", &r);
    expect_error(&r, 429, "too_many_attempts", "right password from the guessing address");
    mc_testenv_reply_free(&r);
    /* the owner, from another address */
    login_from(env, "admin", "pw-admin-secret", "198.51.100.20", &r);
    if (r.status != 200 || mc_testenv_jstr(r.json, "token")[0] == '\0')
        fail_msg("owner's login from 198.51.100.20: want 200 with a token, got %d %s (%s)",
                 r.status, r.code, r.msg);
    assert_string_equal(mc_testenv_jstr(r.json, "account"), "admin");
    int st;
    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", mc_testenv_jstr(r.json, "token"), NULL,
                                &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(me, "account"), "admin");
    assert_string_equal(mc_testenv_jstr(me, "via"), "password");
    json_decref(me);
    mc_testenv_reply_free(&r);
    mc_testenv_stop(env);
}

/* 30 guesses at once, for one account from one address: each attempt is
 * counted before its check, so exactly the limit of them get a check
 * (401, or 503 busy if the pool's queue was full) and the rest are 429. */
static void parallel_wrong_guesses_never_pass_the_limit(void **state)
{
    (void)state;
    enum { N = 30 };
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "victim", MC_TEST_ORG, "staff");
    shot *s = calloc(N, sizeof(*s));
    pthread_t th[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    login_shots(s, N, env, "victim", 0, &go);
    fire(s, N, th);
    join(N, th);
    pthread_barrier_destroy(&go);
    int n401 = 0, n429 = 0, nbusy = 0;
    char why[400];
    for (size_t i = 0; i < N; i++) {
        const reply *r = &s[i].rep;
        if (!not_error(r, 401, "bad_credentials", why, sizeof(why))) {
            n401++;
        } else if (!not_error(r, 429, "too_many_attempts", why, sizeof(why))) {
            /* later refusals wait longer: at most a day */
            expect_retry_after(r, 1, 86400, "429 of a parallel guess");
            n429++;
        } else if (!not_error(r, 503, "busy", why, sizeof(why))) {
            expect_retry_after(r, 1, 60, "503 busy of a parallel guess");
            nbusy++;
        } else {
            fail_msg("parallel guess %zu: want 401, 429 or 503 busy; %s", i, why);
        }
    }
    printf("# %d parallel wrong guesses: %d x 401, %d x 429, %d x 503 busy\n", N, n401, n429,
           nbusy);
    if (n401 > PW_LIMIT)
        fail_msg("%d guesses were checked (401), over the limit of %d", n401, PW_LIMIT);
    assert_int_equal(n401 + nbusy, PW_LIMIT);
    assert_int_equal(n429, N - PW_LIMIT);
    shots_free(s, N);
    free(s);
    mc_testenv_stop(env);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* 40 logins for unknown accounts at once (each costs a full password
 * check): /healthz, probed all the while, stays fast, because the checks
 * run on the worker pool and not on the event loop. */
static void bogus_login_storm_leaves_healthz_fast(void **state)
{
    (void)state;
    enum { N = 40, PROBES_MAX = 4096 };
    mc_testenv *env = mc_testenv_start(0);
    shot *s = calloc(N, sizeof(*s));
    pthread_t th[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N + 1);
    login_shots(s, N, env, "nobody", 1, &go);
    fire(s, N, th);
    double *lat = calloc(PROBES_MAX, sizeof(*lat));
    size_t np = 0;
    pthread_barrier_wait(&go);
    double t0 = mc_testenv_now();
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < N; i++)
            done += (size_t)__atomic_load_n(&s[i].done, __ATOMIC_ACQUIRE);
        if (done == N || np == PROBES_MAX)
            break;
        reply r;
        mc_testenv_send(env->base, "GET", "/healthz", NULL, NULL, 10, &r);
        if (r.status != 200)
            fail_msg("/healthz during the storm: %d %s", r.status, r.err);
        lat[np++] = r.secs;
        mc_testenv_reply_free(&r);
        usleep(10000);
    }
    double storm = mc_testenv_now() - t0;
    join(N, th);
    pthread_barrier_destroy(&go);
    int n401 = 0, nbusy = 0;
    char why[400];
    for (size_t i = 0; i < N; i++) {
        const reply *r = &s[i].rep;
        if (!not_error(r, 401, "bad_credentials", why, sizeof(why)))
            n401++;
        else if (!not_error(r, 503, "busy", why, sizeof(why)))
            nbusy++;
        else
            fail_msg("bogus login %zu: want 401 or 503 busy; %s", i, why);
    }
    qsort(lat, np, sizeof(*lat), cmp_double);
    double p50 = np ? lat[np / 2] : 0, max = np ? lat[np - 1] : 0;
    printf("# %d bogus logins in %.2f s (%d x 401, %d x 503 busy); %zu /healthz meanwhile: "
           "p50 %.1f ms, max %.1f ms\n",
           N, storm, n401, nbusy, np, p50 * 1e3, max * 1e3);
    if (n401 == 0)
        fail_msg("no bogus login was checked at all");
    if (np < 5)
        fail_msg("only %zu /healthz probes during the storm: too short to say anything", np);
    if (max >= HEALTHZ_BOUND)
        fail_msg("/healthz took %.2f s during the storm (bound %.1f s): the loop was blocked",
                 max, HEALTHZ_BOUND);
    free(lat);
    shots_free(s, N);
    free(s);
    mc_testenv_stop(env);
}

/* ------------------------------------------------------------------ */
/* Long polls                                                          */
/* ------------------------------------------------------------------ */

/* n long polls (state=pending, wait=20) waiting on one login session of
 * an mcertd started with args. */
typedef struct waiting {
    mc_testenv *env;
    char sid[MC_SID_LEN + 1], poll[64];
    size_t n;
    shot *s;
    pthread_t *th;
} waiting;

static void waiting_start(waiting *w, const char *const *args, size_t n)
{
    mc_testenv_opts o = {.mcertd_args = args};
    w->env = mc_testenv_start_opts(&o);
    open_session(w->env, w->sid, w->poll);
    w->n = n;
    w->s = calloc(n, sizeof(*w->s));
    w->th = calloc(n, sizeof(*w->th));
    poll_shots(w->s, n, w->env, w->sid, w->poll, 20);
    fire(w->s, n, w->th);
    until_waiters(w->env, (long long)n);
}

/* The phone fetches the session (pending -> scanned): every poll is
 * answered 200 "scanned" within WAKE_BOUND. */
static void waiting_scan(waiting *w)
{
    mc_session_view v;
    double t_scan = mc_testenv_now();
    phone_view(w->env, w->sid, &v);
    join(w->n, w->th);
    for (size_t i = 0; i < w->n; i++) {
        const shot *s = &w->s[i];
        if (s->rep.status != 200 || strcmp(mc_testenv_jstr(s->rep.json, "state"), "scanned"))
            fail_msg("woken long poll %zu: want 200 scanned, got %d %s %s", i, s->rep.status,
                     mc_testenv_jstr(s->rep.json, "state"), s->rep.code);
        if (s->ended - t_scan > WAKE_BOUND)
            fail_msg("long poll %zu answered %.2f s after the scan", i, s->ended - t_scan);
    }
}

static void waiting_stop(waiting *w)
{
    shots_free(w->s, w->n);
    free(w->s);
    free(w->th);
    mc_testenv_stop(w->env);
}

/* At most 3 long polls wait on one session: a 4th is told to poll
 * without waiting, and the 3 are woken by the phone's scan. */
static void long_polls_per_session_are_capped_and_all_woken(void **state)
{
    (void)state;
    const char *const args[] = {"--limit-waiters", "3", "--threads", "1", NULL};
    waiting w;
    waiting_start(&w, args, 3);
    shot fourth;
    poll_shots(&fourth, 1, w.env, w.sid, w.poll, 20);
    shot_run(&fourth);
    expect_error(&fourth.rep, 429, "too_many_waiters", "a 4th long poll");
    expect_retry_after(&fourth.rep, 1, 60, "a 4th long poll");
    if (fourth.rep.secs > 2.0)
        fail_msg("the 4th long poll was refused only after %.2f s", fourth.rep.secs);
    mc_testenv_reply_free(&fourth.rep);
    /* a poll that does not wait is still answered */
    int st;
    json_t *now = mc_testenv_poll(w.env, w.sid, w.poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(now, "state"), "pending");
    json_decref(now);
    for (size_t i = 0; i < w.n; i++)
        if (__atomic_load_n(&w.s[i].done, __ATOMIC_ACQUIRE))
            fail_msg("long poll %zu ended before the session changed: %d %s", i,
                     w.s[i].rep.status, w.s[i].rep.code);
    waiting_scan(&w);
    waiting_stop(&w);
}

/* 50 browsers waiting on one session are woken by one change and read it
 * with one Redis call between them, not 50. */
static void woken_polls_of_one_session_share_one_read(void **state)
{
    (void)state;
    const char *const args[] = {"--limit-waiters", "0", "--threads", "1", NULL};
    waiting w;
    waiting_start(&w, args, 50);
    long long before = info_field(w.env, "commandstats", "cmdstat_fcall_ro", "calls");
    waiting_scan(&w);
    long long reads = info_field(w.env, "commandstats", "cmdstat_fcall_ro", "calls") - before;
    printf("# %zu woken long polls: %lld FCALL_RO between the scan and the last reply\n", w.n,
           reads);
    if (reads > 5)
        fail_msg("%lld Redis reads for %zu woken polls of one session, want at most 5", reads,
                 w.n);
    waiting_stop(&w);
}

/* ------------------------------------------------------------------ */
/* What the phone shows                                                */
/* ------------------------------------------------------------------ */

/* s holds none of the bytes that draw a second line or hide text: ZWSP,
 * LRM, RLM, U+2028, U+2029, NEL, other controls. */
static void expect_one_clean_line(const char *s)
{
    static const char *const bad[] = {"\xe2\x80\x8b", "\xe2\x80\x8e", "\xe2\x80\x8f",
                                      "\xe2\x80\xa8", "\xe2\x80\xa9", "\xc2\x85"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (strstr(s, bad[i]))
            fail_msg("the phone's ua \"%s\" holds U+%02X%02X%02X bytes", s,
                     (unsigned char)bad[i][0], (unsigned char)bad[i][1],
                     (unsigned char)bad[i][2]);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            fail_msg("the phone's ua \"%s\" holds control byte 0x%02x", s, *p);
}

/* A User-Agent built to draw a fake "IP:" line on the phone: the phone is
 * shown fixed words for a known browser, and one cleaned line for an
 * unknown one, exactly what mc_ua.h makes of it. */
static void ua_with_zero_width_and_separator_chars_reaches_the_phone_clean(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    /* ... Safari/537.36 ZWSP U+2028 "IP: 10.0.0.8 (您的内网)" LRM */
    static const char chrome[] =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36\xe2\x80\x8b\xe2\x80\xa8IP: 10.0.0.8 "
        "(\xe6\x82\xa8\xe7\x9a\x84\xe5\x86\x85\xe7\xbd\x91)\xe2\x80\x8e";
    /* an unknown client: LRM, U+2029 and a run of NBSP and spaces */
    static const char bot[] = "evil-bot/1.0\xe2\x80\x8e\xe2\x80\xa9\xc2\xa0\xc2\xa0   IP: "
                              "10.0.0.8\xe2\x80\x8b (\xe6\x82\xa8\xe7\x9a\x84\xe5\x86\x85"
                              "\xe7\xbd\x91)";
    const char *const uas[] = {chrome, bot};
    const char *const want[] = {"Chrome 120 on Windows", "evil-bot/1.0 IP: 10.0.0.8 (您的内网)"};
    for (size_t i = 0; i < 2; i++) {
        char hdr[400], expect[MC_UA_SHOWN_MAX + 1];
        snprintf(hdr, sizeof(hdr), "User-Agent: %s", uas[i]);
        mc_ua_summary(uas[i], strlen(uas[i]), expect, sizeof(expect));
        assert_string_equal(expect, want[i]);
        mc_session_view v;
        open_and_view(env, NULL, hdr, &v);
        expect_one_clean_line(v.s.ua);
        assert_string_equal(v.s.ua, expect);
        assert_string_equal(v.s.ip, "127.0.0.1");
    }
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(session_open_flood_from_one_address_gets_429),
        cmocka_unit_test(open_sessions_per_address_are_capped_until_they_expire),
        cmocka_unit_test(trusted_proxy_xff_is_the_client_for_limits_and_phone),
        cmocka_unit_test(xff_from_an_untrusted_peer_is_ignored),
        cmocka_unit_test(owner_logs_in_from_another_address_during_a_guessing_attack),
        cmocka_unit_test(parallel_wrong_guesses_never_pass_the_limit),
        cmocka_unit_test(bogus_login_storm_leaves_healthz_fast),
        cmocka_unit_test(long_polls_per_session_are_capped_and_all_woken),
        cmocka_unit_test(woken_polls_of_one_session_share_one_read),
        cmocka_unit_test(ua_with_zero_width_and_separator_chars_reaches_the_phone_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
