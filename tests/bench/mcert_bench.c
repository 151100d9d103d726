/*
 * mcert_bench.c — what `scripts/bench` runs: in ONE run on one machine,
 * the raw OpenSSL cost of the crypto a flow needs, next to what the server
 * spends per flow, and the ratio. Server CPU is read from /proc (utime +
 * stime of mcertd AND redis-server) around N complete QR-login flows, so it
 * includes HTTP, JSON, msgpack, Redis scripts and pub/sub — everything but
 * the phone's own signing (done in this process, not counted).
 *
 * Also: wake-up latency of a waiting browser after the phone's approval
 * (p50/p99), and many concurrent waiting browsers on one node.
 * Not a test: nothing here asserts a number; it prints them.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/resource.h>

#include "mc_crypto.h"
#include "mc_http.h"
#include "mc_proto.h"
#include "mc_testenv.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime+stime of a process, seconds. */
static double proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                            &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Raw OpenSSL: verifies per second of a TBS-sized message, the way the
 * server verifies (EVP_DigestVerify with a fresh context). */
static double raw_verify_rate(mc_alg alg)
{
    mc_err err;
    EVP_PKEY *k = mc_keygen(alg, &err);
    uint8_t msg[150], sig[MC_SIG_MAX];
    size_t siglen;
    memset(msg, 0x5a, sizeof(msg));
    mc_sign(k, msg, sizeof(msg), sig, &siglen, &err);
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 200; i++)
            if (mc_verify(k, msg, sizeof(msg), sig, siglen, &err) == 0)
                n++;
        t = now_s() - t0;
    } while (t < 1.5);
    EVP_PKEY_free(k);
    return (double)n / t;
}

/* A browser's and a phone's connections: keep-alive clients, or (NULL)
 * a new connection for every request. */
typedef struct ka {
    mc_http_client *browser, *phone;
} ka;

static int request(mc_testenv *env, mc_http_client *cl, const char *method, const char *path,
                   const char *const *headers, const void *body, size_t len, mc_http_reply *out)
{
    mc_err err;
    if (cl != NULL)
        return mc_http_client_request(cl, method, path, headers, body, len, 10, out, &err);
    char url[256];
    snprintf(url, sizeof(url), "%s%s", env->base, path);
    return mc_http_request(method, url, headers, body, len, 10, out, &err);
}

/* One complete QR login (open with an SVG as a web page would, phone fetch,
 * phone answer, browser poll that gets the token). 0 on success. */
static int login_flow(mc_testenv *env, mc_phone *ph, const ka *k)
{
    mc_err err;
    mc_http_reply rep;
    static const char open_body[] = "{\"purpose\":\"login\"}";
    const char *jh[] = {"Content-Type: application/json", NULL};
    if (request(env, k ? k->browser : NULL, "POST", "/api/v1/sessions?qr=svg", jh, open_body,
                sizeof(open_body) - 1, &rep) != 0)
        return -1;
    json_error_t je;
    json_t *o = rep.status == 201 ? json_loadb((const char *)rep.body.ptr, rep.body.len, 0, &je)
                                  : NULL;
    mc_http_reply_free(&rep);
    if (o == NULL)
        return -1;
    char sid[MC_SID_LEN + 1], poll[64], path[128], hdr[128];
    snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(o, "sid")));
    snprintf(poll, sizeof(poll), "%s", json_string_value(json_object_get(o, "poll_secret")));
    uint32_t match = (uint32_t)json_integer_value(json_object_get(o, "match"));
    json_decref(o);

    snprintf(path, sizeof(path), "/m/v1/sessions/%s", sid);
    if (request(env, k ? k->phone : NULL, "GET", path, NULL, NULL, 0, &rep) != 0)
        return -1;
    mc_session_view v;
    int ok = rep.status == 200 && mc_view_decode(rep.body.ptr, rep.body.len, &v, &err) == 0;
    mc_http_reply_free(&rep);
    if (!ok)
        return -1;
    mc_buf tbs = {0}, body = {0};
    mc_phone_err pe;
    if (mc_phone_build(ph, &v, MC_PHONE_APPROVE, match, NULL, &tbs, &body, &pe) != 0)
        return -1;
    const char *mh[] = {"Content-Type: application/x-msgpack", NULL};
    snprintf(path, sizeof(path), "/m/v1/sessions/%s/response", sid);
    int rc = request(env, k ? k->phone : NULL, "POST", path, mh, body.ptr, body.len, &rep);
    mc_buf_free(&tbs);
    mc_buf_free(&body);
    if (rc != 0)
        return -1;
    ok = rep.status == 200;
    mc_http_reply_free(&rep);
    if (!ok)
        return -1;
    snprintf(path, sizeof(path), "/api/v1/sessions/%s", sid);
    snprintf(hdr, sizeof(hdr), "X-Poll-Secret: %s", poll);
    const char *ph2[] = {hdr, NULL};
    if (request(env, k ? k->browser : NULL, "GET", path, ph2, NULL, 0, &rep) != 0)
        return -1;
    ok = rep.status == 200 && memmem(rep.body.ptr, rep.body.len, "\"token\"", 7) != NULL;
    mc_http_reply_free(&rep);
    return ok ? 0 : -1;
}

/* One client (browser + phone) running flows in its own thread. */
typedef struct client_arg {
    mc_testenv *env;
    mc_phone *ph;
    int keepalive, flows, fails;
} client_arg;

static void *client_thread(void *arg)
{
    client_arg *a = arg;
    mc_err err;
    ka k = {NULL, NULL};
    if (a->keepalive) {
        k.browser = mc_http_client_new(a->env->base, &err);
        k.phone = mc_http_client_new(a->env->base, &err);
    }
    for (int i = 0; i < a->flows; i++)
        a->fails += login_flow(a->env, a->ph, a->keepalive ? &k : NULL) != 0;
    mc_http_client_free(k.browser);
    mc_http_client_free(k.phone);
    return NULL;
}

/* `clients` concurrent clients run `flows` flows in all; prints the server
 * CPU per flow (mcertd + redis-server) and its ratio to raw_us. */
static void measure(mc_testenv *env, mc_phone *ph, const char *alg, const char *mode,
                    int clients, int keepalive, int flows, double raw_us)
{
    enum { MAXC = 16 };
    client_arg ca[MAXC];
    pthread_t th[MAXC];
    if (clients > MAXC)
        clients = MAXC;
    double m0 = proc_cpu(env->mcertd_pid), r0 = proc_cpu(env->redis_pid), t0 = now_s();
    for (int i = 0; i < clients; i++) {
        ca[i] = (client_arg){env, ph, keepalive, flows / clients, 0};
        pthread_create(&th[i], NULL, client_thread, &ca[i]);
    }
    int fails = 0, done = (flows / clients) * clients;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        fails += ca[i].fails;
    }
    double m1 = proc_cpu(env->mcertd_pid), r1 = proc_cpu(env->redis_pid), t1 = now_s();
    double pm = (m1 - m0) / done * 1e6, pr = (r1 - r0) / done * 1e6, per = pm + pr;
    printf("%-6s %-36s %d flows (failed %d) in %.2f s = %.0f/s: server CPU %7.1f us/flow "
           "(mcertd %.1f + redis %.1f); raw verify %6.1f us; ratio %.2fx\n",
           alg, mode, done, fails, t1 - t0, done / (t1 - t0), per, pm, pr, raw_us,
           per / raw_us);
}

typedef struct waiter_arg {
    mc_testenv *env;
    char sid[MC_SID_LEN + 1];
    char poll[64];
    double done;
    int ok;
} waiter_arg;

static void *wait_thread(void *arg)
{
    waiter_arg *w = arg;
    char url[256], hdr[128];
    snprintf(url, sizeof(url), "%s/api/v1/sessions/%s?state=scanned&wait=20", w->env->base,
             w->sid);
    snprintf(hdr, sizeof(hdr), "X-Poll-Secret: %s", w->poll);
    const char *h[] = {hdr, NULL};
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err err;
    w->ok = mc_http_request("GET", url, h, NULL, 0, 30, &rep, &err) == 0 && rep.status == 200;
    w->done = now_s();
    mc_http_reply_free(&rep);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- many concurrent waiting browsers ---- */

#define CROWD_SESSIONS 100

typedef struct crowd {
    struct event_base *base;
    int total, done, ok, failed;
    double t_answered;     /* when the phones finished answering */
    double t_last;         /* when the last poll completed */
} crowd;

typedef struct crowd_req {
    crowd *c;
    struct evhttp_connection *conn;
} crowd_req;

static void crowd_done(struct evhttp_request *req, void *arg)
{
    crowd_req *cr = arg;
    crowd *c = cr->c;
    int st = req ? evhttp_request_get_response_code(req) : 0;
    if (st == 200)
        c->ok++;
    else
        c->failed++;
    c->done++;
    c->t_last = now_s();
    if (c->done == c->total)
        event_base_loopbreak(c->base);
}

typedef struct answerer {
    mc_testenv *env;
    mc_phone *ph;
    char (*sids)[MC_SID_LEN + 1];
    int n;
    double *t_answered;
    int failures;
} answerer;

static void *answer_all(void *arg)
{
    answerer *a = arg;
    sleep(4); /* let every poll connect and register */
    for (int i = 0; i < a->n; i++) {
        mc_session_view v;
        mc_phone_err pe;
        mc_phone_result res;
        if (mc_phone_fetch(a->env->base, a->sids[i], &v, &pe) != 0 ||
            mc_phone_respond(a->ph, a->env->base, &v, MC_PHONE_REJECT, 0, NULL, &res, &pe) != 0)
            a->failures++;
    }
    *a->t_answered = now_s();
    return NULL;
}

/* N browsers long-poll CROWD_SESSIONS sessions (N/CROWD_SESSIONS each) on
 * one mcertd; the phones then answer every session; every poll must come
 * back 200 (woken, not timed out). */
static void crowd_bench(mc_testenv *env, mc_phone *ph, int n)
{
    struct rlimit rl = {20000, 20000};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    static char sids[CROWD_SESSIONS][MC_SID_LEN + 1];
    static char polls[CROWD_SESSIONS][64];
    int match;
    for (int i = 0; i < CROWD_SESSIONS; i++)
        if (mc_testenv_open(env, NULL, "login", NULL, sids[i], polls[i], &match, NULL) != 201) {
            printf("crowd: cannot open sessions\n");
            return;
        }
    crowd c;
    memset(&c, 0, sizeof(c));
    c.base = event_base_new();
    c.total = n;
    crowd_req *reqs = calloc((size_t)n, sizeof(*reqs));
    int port = env->port;
    for (int i = 0; i < n; i++) {
        int s = i % CROWD_SESSIONS;
        reqs[i].c = &c;
        reqs[i].conn = evhttp_connection_base_new(c.base, NULL, "127.0.0.1", (ev_uint16_t)port);
        evhttp_connection_set_timeout(reqs[i].conn, 60);
        struct evhttp_request *req = evhttp_request_new(crowd_done, &reqs[i]);
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Host", "127.0.0.1");
        evhttp_add_header(h, "X-Poll-Secret", polls[s]);
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/sessions/%s?state=pending&wait=30", sids[s]);
        evhttp_make_request(reqs[i].conn, req, EVHTTP_REQ_GET, path);
    }
    double t_ans = 0;
    answerer a = {env, ph, sids, CROWD_SESSIONS, &t_ans, 0};
    pthread_t th;
    pthread_create(&th, NULL, answer_all, &a);
    struct timeval limit = {50, 0};
    event_base_loopexit(c.base, &limit);
    event_base_dispatch(c.base);
    pthread_join(th, NULL);
    printf("%d concurrent waiting browsers (%d sessions): %d answered 200, %d failed or "
           "timed out, phone answers failed %d; last poll answered %.0f ms after the last "
           "phone answer\n",
           n, CROWD_SESSIONS, c.ok, c.total - c.ok, a.failures,
           (c.t_last - t_ans) * 1e3);
    for (int i = 0; i < n; i++)
        evhttp_connection_free(reqs[i].conn);
    free(reqs);
    event_base_free(c.base);
}

static void bench(void **state)
{
    int flows = getenv("MCERT_BENCH_FLOWS") ? atoi(getenv("MCERT_BENCH_FLOWS")) : 400;
    printf("== raw OpenSSL (this process, one core) ==\n");
    double p256 = raw_verify_rate(MC_ALG_P256), sm2 = raw_verify_rate(MC_ALG_SM2);
    printf("P-256 ECDSA-SHA256 verify: %8.0f /s  (%6.1f us)\n", p256, 1e6 / p256);
    printf("SM2-SM3 verify:            %8.0f /s  (%6.1f us)\n", sm2, 1e6 / sm2);

    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_phone *phones[2] = {mc_testenv_phone(env, "p256", MC_ALG_P256, MC_TEST_ORG),
                           mc_testenv_phone(env, "sm2", MC_ALG_SM2, MC_TEST_ORG2)};
    (void)phones;
    mc_testenv_org(env, MC_TEST_ORG2, "Other");
    mc_testenv_account(env, "bob", MC_TEST_ORG2, "admin");
    char *tok[2] = {mc_testenv_login(env, "admin"), mc_testenv_login(env, "bob")};
    for (int i = 0; i < 2; i++) { /* bind both phones */
        char sid[MC_SID_LEN + 1], poll[64];
        int match;
        mc_session_view v;
        mc_phone_err pe;
        mc_phone_result res;
        if (mc_testenv_open(env, tok[i], "bind", NULL, sid, poll, &match, NULL) != 201 ||
            mc_phone_fetch(env->base, sid, &v, &pe) != 0 ||
            mc_phone_respond(phones[i], env->base, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL,
                             &res, &pe) != 0) {
            fprintf(stderr, "bench: bind failed: %s\n", pe.msg);
            exit(1);
        }
    }

    printf("\n== QR login, whole flow (open session, phone fetch, phone answer, poll + token) ==\n");
    printf("server CPU = mcertd + redis-server (utime+stime from /proc), %d flows each\n", flows);
    printf("(target: ratio <= 2.5x)\n");
    for (int i = 0; i < 2; i++) {
        const char *alg = i == 0 ? "P-256" : "SM2";
        double raw_us = 1e6 / (i == 0 ? p256 : sm2);
        measure(env, phones[i], alg, "warm-up", 1, 1, 20, raw_us);
        measure(env, phones[i], alg, "new connection per request:", 1, 0, flows, raw_us);
        measure(env, phones[i], alg, "keep-alive (browser + phone):", 1, 1, flows, raw_us);
        measure(env, phones[i], alg, "keep-alive, 8 clients at once:", 8, 1, flows, raw_us);
    }

    printf("\n== wake-up of a waiting browser after the phone's approval ==\n");
    int rounds = 200;
    double *lat = calloc((size_t)rounds, sizeof(double));
    int nlat = 0;
    for (int k = 0; k < rounds; k++) {
        waiter_arg w;
        memset(&w, 0, sizeof(w));
        w.env = env;
        int match;
        if (mc_testenv_open(env, NULL, "login", NULL, w.sid, w.poll, &match, NULL) != 201)
            continue;
        mc_session_view v;
        mc_phone_err pe;
        mc_phone_result res;
        if (mc_phone_fetch(env->base, w.sid, &v, &pe) != 0)
            continue;
        pthread_t th;
        pthread_create(&th, NULL, wait_thread, &w);
        usleep(3000); /* let the poll register */
        mc_buf tbs = {0}, body = {0};
        mc_phone_build(phones[0], &v, MC_PHONE_APPROVE, (uint32_t)match, NULL, &tbs, &body, &pe);
        mc_phone_overrides ov;
        memset(&ov, 0, sizeof(ov));
        ov.raw_body = body.ptr;
        ov.raw_len = body.len;
        double t_send = now_s();
        int rc = mc_phone_respond(phones[0], env->base, &v, MC_PHONE_APPROVE, (uint32_t)match,
                                  &ov, &res, &pe);
        pthread_join(th, NULL);
        if (rc == 0 && w.ok)
            lat[nlat++] = (w.done - t_send) * 1e3;
        mc_buf_free(&tbs);
        mc_buf_free(&body);
    }
    qsort(lat, (size_t)nlat, sizeof(double), cmp_double);
    if (nlat > 0)
        printf("phone POST sent -> browser's poll answered: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
               " (%d rounds; includes verify + Redis script + publish; target p99 <= 5 ms)\n",
               lat[nlat / 2], lat[(nlat * 99) / 100], lat[nlat - 1], nlat);
    free(lat);

    printf("\n== many concurrent waiting browsers on one node ==\n");
    int crowd_n = getenv("MCERT_BENCH_WAITERS") ? atoi(getenv("MCERT_BENCH_WAITERS")) : 10000;
    crowd_bench(env, phones[0], crowd_n);
    free(tok[0]);
    free(tok[1]);
    mc_phone_free(phones[0]);
    mc_phone_free(phones[1]);
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest t[] = {cmocka_unit_test(bench)};
    return cmocka_run_group_tests(t, NULL, NULL);
}
