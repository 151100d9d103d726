/*
 * mc_testenv.c — see mc_testenv.h.
 */
#include "mc_testenv.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/x509.h>

#include "mc_http.h"

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        fail_msg("cannot find a free port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int mc_testenv_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int mc_testenv_ctl(mc_testenv *env, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    return mc_testenv_sh("%s/mcertctl --data %s/var --redis 127.0.0.1:%d %s", MCERT_BIN_DIR,
                         env->dir, env->redis_port, args);
}

static pid_t spawn(char *const argv[], const char *logpath)
{
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        /* die with the test, even when an assertion longjmps past stop() */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void start_redis(mc_testenv *env)
{
    char port[16], dir[300], log[320];
    snprintf(port, sizeof(port), "%d", env->redis_port);
    snprintf(dir, sizeof(dir), "%s/redis", env->dir);
    snprintf(log, sizeof(log), "%s/redis.log", env->dir);
    /* MCERT_REDIS_APPENDFSYNC lets the benchmark show what fsync costs;
     * tests always run with "always", as production does */
    char *fsync_mode = getenv("MCERT_REDIS_APPENDFSYNC") ? getenv("MCERT_REDIS_APPENDFSYNC")
                                                         : "always";
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir,
                    "--appendonly", "yes", "--appendfsync", fsync_mode, "--save", "",
                    "--enable-debug-command", "yes", NULL};
    env->redis_pid = spawn(argv, log);
    for (int i = 0; i < 200; i++) {
        redisContext *c = redisConnect("127.0.0.1", env->redis_port);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            if (r)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return;
        } else if (c) {
            redisFree(c);
        }
        int st;
        if (waitpid(env->redis_pid, &st, WNOHANG) == env->redis_pid)
            fail_msg("redis-server exited at start (is it installed? see %s)", log);
        sleep_ms(25);
    }
    fail_msg("redis-server did not answer on port %d", env->redis_port);
}

/* Start an mcertd on `port` (log file mcertd<suffix>.log) that reaches Redis
 * on redis_port, with extra arguments (NULL-terminated, may be NULL); wait
 * until healthy. */
static pid_t start_mcertd_with(mc_testenv *env, int port, const char *suffix, int redis_port,
                               const char *const *extra)
{
    char listen[64], redis[64], data[300], log[320], ttl[16], web[300], base[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    snprintf(redis, sizeof(redis), "127.0.0.1:%d", redis_port);
    snprintf(data, sizeof(data), "%s/var", env->dir);
    snprintf(log, sizeof(log), "%s/mcertd%s.log", env->dir, suffix);
    snprintf(ttl, sizeof(ttl), "%d", env->session_ttl ? env->session_ttl : 120);
    snprintf(web, sizeof(web), "%s/server/web", MCERT_SRC_DIR);
    char bin[300];
    snprintf(bin, sizeof(bin), "%s/mcertd", MCERT_BIN_DIR);
    char *argv[32] = {bin, "--listen", listen, "--redis", redis, "--data", data,
                      "--session-ttl", ttl, "--threads", "2", "--web", web, "--quiet"};
    size_t na = 14;
    for (size_t i = 0; extra && extra[i] && na < 31; i++)
        argv[na++] = (char *)extra[i];
    argv[na] = NULL;
    /* under `ulimit -n N`: sh sets it, then execs mcertd (same pid) */
    char ulim[80];
    char *shv[40] = {"/bin/sh", "-c", ulim};
    if (env->mcertd_nofile > 0) {
        snprintf(ulim, sizeof(ulim), "ulimit -n %d && exec \"$0\" \"$@\"", env->mcertd_nofile);
        for (size_t i = 0; i <= na; i++)
            shv[3 + i] = argv[i];
    }
    pid_t pid = spawn(env->mcertd_nofile > 0 ? shv : argv, log);
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", base);
    for (int i = 0; i < 300; i++) {
        mc_http_reply rep;
        memset(&rep, 0, sizeof(rep));
        mc_err err;
        int rc = mc_http_request("GET", url, NULL, NULL, 0, 2, &rep, &err);
        int st = rep.status;
        mc_http_reply_free(&rep);
        if (rc == 0 && st == 200)
            return pid;
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid)
            fail_msg("mcertd exited at start; see %s", log);
        sleep_ms(20);
    }
    fail_msg("mcertd did not become healthy; see %s", log);
    return -1;
}

static pid_t start_mcertd_on(mc_testenv *env, int port, const char *suffix)
{
    return start_mcertd_with(env, port, suffix, env->redis_port, NULL);
}

const char *mc_testenv_second_node(mc_testenv *env)
{
    if (env->node2_pid == 0) {
        env->node2_port = free_port();
        snprintf(env->node2_base, sizeof(env->node2_base), "http://127.0.0.1:%d",
                 env->node2_port);
        env->node2_pid = start_mcertd_on(env, env->node2_port, "2");
    }
    return env->node2_base;
}

mc_testenv *mc_testenv_start_opts(const mc_testenv_opts *o)
{
    signal(SIGPIPE, SIG_IGN);
    mc_testenv *env = calloc(1, sizeof(*env));
    assert_non_null(env);
    snprintf(env->dir, sizeof(env->dir), "/tmp/mcert-test-XXXXXX");
    if (mkdtemp(env->dir) == NULL)
        fail_msg("mkdtemp: %s", strerror(errno));
    mc_testenv_sh("mkdir -p %s/redis %s/var", env->dir, env->dir);
    env->session_ttl = o->session_ttl;
    env->mcertd_nofile = o->mcertd_nofile;
    env->redis_port = free_port();
    env->port = free_port();
    snprintf(env->base, sizeof(env->base), "http://127.0.0.1:%d", env->port);
    start_redis(env);
    mc_err err;
    env->store = mc_store_connect("127.0.0.1", env->redis_port, &err);
    if (env->store == NULL)
        fail_msg("store: %s", err.msg);
    if (mc_testenv_ctl(env, "ca init >/dev/null") != 0)
        fail_msg("mcertctl ca init failed");
    mc_testenv_org(env, MC_TEST_ORG, "演示供应商有限公司");
    int redis_port = env->redis_port;
    if (o->proxy) {
        *o->proxy = mc_testfault_proxy_start(env->redis_port);
        redis_port = mc_testfault_proxy_port(*o->proxy);
    }
    env->mcertd_pid = start_mcertd_with(env, env->port, "", redis_port, o->mcertd_args);
    return env;
}

mc_testenv *mc_testenv_start(int session_ttl)
{
    mc_testenv_opts o = {.session_ttl = session_ttl};
    return mc_testenv_start_opts(&o);
}

void mc_testenv_crash_redis(mc_testenv *env)
{
    kill(env->redis_pid, SIGKILL);
    waitpid(env->redis_pid, NULL, 0);
    start_redis(env);
}

void mc_testenv_pause_redis(mc_testenv *env, int paused)
{
    if (kill(env->redis_pid, paused ? SIGSTOP : SIGCONT) != 0)
        fail_msg("cannot %s redis-server: %s", paused ? "stop" : "continue", strerror(errno));
}

void mc_testenv_stop(mc_testenv *env)
{
    if (env == NULL)
        return;
    int st = 0, st2 = 0;
    if (env->node2_pid > 0) {
        kill(env->node2_pid, SIGTERM);
        waitpid(env->node2_pid, &st2, 0);
    }
    if (env->mcertd_pid > 0) {
        kill(env->mcertd_pid, SIGTERM);
        waitpid(env->mcertd_pid, &st, 0);
    }
    mc_store_free(env->store);
    if (env->redis_pid > 0) {
        kill(env->redis_pid, SIGTERM);
        waitpid(env->redis_pid, NULL, 0);
    }
    int clean = WIFEXITED(st) && WEXITSTATUS(st) == 0 && WIFEXITED(st2) &&
                WEXITSTATUS(st2) == 0;
    if (!clean) {
        mc_testenv_sh("tail -50 %s/mcertd.log >&2", env->dir);
        fail_msg("mcertd did not exit cleanly (status %d): sanitizer report or crash", st);
    }
    mc_testenv_sh("rm -rf %s", env->dir);
    free(env);
}

void mc_testenv_org(mc_testenv *env, const char *uscc, const char *name)
{
    if (mc_testenv_ctl(env, "org add --uscc %s --name '%s' >/dev/null", uscc, name) != 0)
        fail_msg("mcertctl org add %s failed", uscc);
}

void mc_testenv_account(mc_testenv *env, const char *login, const char *org, const char *role)
{
    int rc = mc_testenv_sh("echo 'pw-%s-secret' | %s/mcertctl --data %s/var --redis 127.0.0.1:%d "
                           "account add --login %s --name 'User %s' --org %s --role %s "
                           "--password-stdin >/dev/null",
                           login, MCERT_BIN_DIR, env->dir, env->redis_port, login, login, org,
                           role);
    if (rc != 0)
        fail_msg("mcertctl account add %s failed", login);
}

mc_phone *mc_testenv_phone(mc_testenv *env, const char *name, mc_alg alg, const char *uscc)
{
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/%s", env->dir, name);
    mc_phone_err pe;
    memset(&pe, 0, sizeof(pe));
    if (mc_phone_init(dir, alg, MC_TEST_PIN, name, "Holder Org", uscc, &pe) != 0)
        fail_msg("phone init %s: %s", name, pe.msg);
    if (mc_testenv_ctl(env, "issue --csr %s/device.csr --out %s/cert.pem 2>/dev/null", dir, dir) != 0)
        fail_msg("mcertctl issue for %s failed", name);
    char path[500];
    snprintf(path, sizeof(path), "%s/cert.pem", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t buf[16384];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (mc_phone_import(dir, buf, n, &pe) != 0)
        fail_msg("phone import %s: %s", name, pe.msg);
    mc_phone *p = mc_phone_open(dir, MC_TEST_PIN, &pe);
    if (p == NULL)
        fail_msg("phone open %s: %s", name, pe.msg);
    return p;
}

int mc_testenv_answer(const char *base, const mc_phone *ph, const char *sid,
                      mc_phone_decision d, int number, mc_phone_result *res, mc_phone_err *pe)
{
    mc_session_view v;
    if (mc_phone_fetch(base, sid, &v, pe) != 0)
        return -1;
    return mc_phone_respond(ph, base, &v, d, (uint32_t)number, NULL, res, pe);
}

json_t *mc_testenv_api_h(mc_testenv *env, const char *method, const char *path,
                         const char *const *headers, json_t *body, int *status)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", env->base, path);
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    const char *h[16];
    size_t nh = 0;
    if (b)
        h[nh++] = "Content-Type: application/json";
    for (size_t i = 0; headers && headers[i] && nh < 15; i++)
        h[nh++] = headers[i];
    h[nh] = NULL;
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err err;
    if (mc_http_request(method, url, h, b, b ? strlen(b) : 0, 40, &rep, &err) != 0)
        fail_msg("%s %s: %s", method, path, err.msg);
    free(b);
    *status = rep.status;
    json_error_t je;
    json_t *out = json_loadb((const char *)rep.body.ptr, rep.body.len, JSON_DECODE_ANY, &je);
    if (out == NULL)
        out = json_pack("{s:s%}", "_raw", rep.body.ptr ? (const char *)rep.body.ptr : "",
                        rep.body.len);
    mc_http_reply_free(&rep);
    return out;
}

json_t *mc_testenv_api(mc_testenv *env, const char *method, const char *path, const char *token,
                       json_t *body, int *status)
{
    char auth[200];
    const char *h[2] = {NULL, NULL};
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h[0] = auth;
    }
    return mc_testenv_api_h(env, method, path, h, body, status);
}

char *mc_testenv_login(mc_testenv *env, const char *login)
{
    char pw[128];
    snprintf(pw, sizeof(pw), "pw-%s-secret", login);
    int st;
    json_t *r = mc_testenv_api(env, "POST", "/api/v1/login", NULL,
                               json_pack("{s:s, s:s}", "account", login, "password", pw), &st);
    if (st != 200)
        fail_msg("login %s: status %d", login, st);
    char *tok = strdup(json_string_value(json_object_get(r, "token")));
    json_decref(r);
    return tok;
}

static redisReply *redis_v(mc_testenv *env, const char *fmt, va_list ap)
{
    redisContext *c = redisConnect("127.0.0.1", env->redis_port);
    assert_true(c && !c->err);
    redisReply *r = redisvCommand(c, fmt, ap);
    if (r == NULL)
        fail_msg("redis command %s: no reply (%s)", fmt, c->errstr);
    redisFree(c);
    return r;
}

long long mc_testenv_redis_int(mc_testenv *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redis_v(env, fmt, ap);
    va_end(ap);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("redis command %s: no integer reply", fmt);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

redisReply *mc_testenv_redis(mc_testenv *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redis_v(env, fmt, ap);
    va_end(ap);
    return r;
}

void mc_testenv_digest(mc_testenv *env, char out[41])
{
    redisContext *c = redisConnect("127.0.0.1", env->redis_port);
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "DEBUG DIGEST");
    if (r == NULL || r->type != REDIS_REPLY_STATUS || r->len != 40)
        fail_msg("DEBUG DIGEST failed");
    memcpy(out, r->str, 40);
    out[40] = '\0';
    freeReplyObject(r);
    redisFree(c);
}

int mc_testenv_open(mc_testenv *env, const char *token, const char *purpose, const char *account,
                    char sid[MC_SID_LEN + 1], char poll[64], int *match, json_t **reply)
{
    json_t *body = json_pack("{s:s}", "purpose", purpose);
    if (account)
        json_object_set_new(body, "account", json_string(account));
    int st;
    json_t *r = mc_testenv_api(env, "POST", "/api/v1/sessions", token, body, &st);
    if (st == 201) {
        snprintf(sid, MC_SID_LEN + 1, "%s", json_string_value(json_object_get(r, "sid")));
        snprintf(poll, 64, "%s", json_string_value(json_object_get(r, "poll_secret")));
        *match = (int)json_integer_value(json_object_get(r, "match"));
    }
    if (reply)
        *reply = r;
    else
        json_decref(r);
    return st;
}

void mc_testenv_poll_request(const char *sid, const char *poll, const char *known, int wait,
                             char path[160], char hdr[128])
{
    snprintf(path, 160, "/api/v1/sessions/%s?wait=%d%s%s", sid, wait, known ? "&state=" : "",
             known ? known : "");
    snprintf(hdr, 128, "X-Poll-Secret: %s", poll);
}

json_t *mc_testenv_poll(mc_testenv *env, const char *sid, const char *poll, const char *known,
                        int wait, int *status)
{
    char path[160], hdr[128];
    mc_testenv_poll_request(sid, poll, known, wait, path, hdr);
    const char *h[] = {hdr, NULL};
    return mc_testenv_api_h(env, "GET", path, h, NULL, status);
}

void mc_testenv_malleate(const uint8_t *der, size_t len, mc_buf *out)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *alg;
    X509_get0_signature(&sig, &alg, x);
    const unsigned char *q = ASN1_STRING_get0_data(sig);
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, ASN1_STRING_length(sig));
    assert_non_null(es);
    BIGNUM *n = BN_new(), *s2 = BN_new();
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    assert_true(n && s2 && g && EC_GROUP_get_order(g, n, NULL));
    assert_true(BN_sub(s2, n, ECDSA_SIG_get0_s(es)));
    assert_true(ECDSA_SIG_set0(es, BN_dup(ECDSA_SIG_get0_r(es)), s2));
    unsigned char *enc = NULL;
    int elen = i2d_ECDSA_SIG(es, &enc);
    assert_true(elen > 0);
    assert_true(ASN1_BIT_STRING_set((ASN1_BIT_STRING *)sig, enc, elen));
    assert_int_equal(mc_x509_der(x, out), 0);
    OPENSSL_free(enc);
    ECDSA_SIG_free(es);
    BN_free(n);
    EC_GROUP_free(g);
    X509_free(x);
}

const char *mc_testenv_jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

double mc_testenv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mc_testenv_send(const char *base, const char *method, const char *path,
                     const char *const *headers, const char *body, int timeout_s,
                     mc_testenv_reply *out)
{
    memset(out, 0, sizeof(*out));
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    const char *h[MC_HTTP_HEADERS_MAX + 1];
    size_t nh = 0;
    if (body)
        h[nh++] = "Content-Type: application/json";
    for (size_t i = 0; headers && headers[i] && nh < MC_HTTP_HEADERS_MAX; i++)
        h[nh++] = headers[i];
    h[nh] = NULL;
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err err;
    double t0 = mc_testenv_now();
    int rc = mc_http_request(method, url, h, body, body ? strlen(body) : 0, timeout_s, &rep,
                             &err);
    out->secs = mc_testenv_now() - t0;
    if (rc != 0) {
        snprintf(out->err, sizeof(out->err), "%s %s: %s", method, path, err.msg);
        return;
    }
    out->status = rep.status;
    const char *ra = mc_http_reply_header(&rep, "Retry-After");
    snprintf(out->retry_after, sizeof(out->retry_after), "%s", ra ? ra : "");
    const char *ct = mc_http_reply_header(&rep, "Content-Type");
    json_error_t je;
    out->json = json_loadb((const char *)rep.body.ptr, rep.body.len, JSON_DECODE_ANY, &je);
    json_t *o = out->json;
    out->shaped = ct != NULL && strncmp(ct, "application/json", 16) == 0 && json_is_object(o) &&
                  json_object_size(o) == 2 && json_is_string(json_object_get(o, "code")) &&
                  json_is_string(json_object_get(o, "message"));
    if (out->shaped) {
        snprintf(out->code, sizeof(out->code), "%s", mc_testenv_jstr(o, "code"));
        snprintf(out->msg, sizeof(out->msg), "%s", mc_testenv_jstr(o, "message"));
    }
    mc_http_reply_free(&rep);
}

void mc_testenv_reply_free(mc_testenv_reply *r)
{
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}
