/*
 * test_flows.c — end-to-end: bind, QR login and unbind against a real
 * redis-server and the real mcertd, with the reference phone library, for
 * SM2 and P-256 device keys. The browser side uses the JSON API exactly as
 * the web page does, including the long poll that a Redis pub/sub message
 * must wake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mc_http.h"
#include "mc_qr.h"
#include "mc_testenv.h"


/* In a child process: wait `delay_ms`, fetch and answer the session. */
static pid_t answer_later(mc_testenv *env, mc_phone *ph, const char *sid, int number,
                          int delay_ms)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        usleep((useconds_t)delay_ms * 1000);
        mc_session_view v;
        mc_phone_err pe;
        mc_phone_result res;
        if (mc_phone_fetch(env->base, sid, &v, &pe) != 0)
            _exit(10);
        if (mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)number, NULL, &res,
                             &pe) != 0)
            _exit(11);
        _exit(strcmp(res.state, "approved") == 0 ? 0 : 12);
    }
    return pid;
}

static void run_flow(mc_alg alg)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_phone *ph = mc_testenv_phone(env, "phone", alg, MC_TEST_ORG);
    char *tok = mc_testenv_login(env, "admin");

    /* --- bind --- */
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    json_t *open = NULL;
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, &open), 201);
    assert_true(match >= 10 && match <= 99);
    json_t *qr = json_object_get(open, "qr");
    assert_true(json_integer_value(json_object_get(qr, "version")) <= 5);
    assert_non_null(strstr(mc_testenv_jstr(qr, "svg"), "<svg"));
    assert_true(strlen(mc_testenv_jstr(qr, "png")) > 100);
    /* the QR payload says where and which session, nothing more */
    char payload[200], base[128], qsid[MC_SID_LEN + 1];
    snprintf(payload, sizeof(payload), "%s", mc_testenv_jstr(qr, "payload"));
    assert_null(strstr(payload, poll));
    mc_err err;
    assert_int_equal(mc_qr_parse(payload, strlen(payload), base, sizeof(base), qsid, &err), 0);
    assert_string_equal(qsid, sid);
    assert_string_equal(base, env->base);
    json_decref(open);

    /* the phone sees the details it must show */
    mc_session_view v;
    mc_phone_err pe;
    assert_int_equal(mc_phone_fetch(env->base, sid, &v, &pe), 0);
    assert_string_equal(v.s.sid, sid);
    assert_int_equal(v.s.purpose, MC_PURPOSE_BIND);
    assert_string_equal(v.s.origin, env->base);
    assert_string_equal(v.s.account, "admin");
    assert_string_equal(v.s.requester, "admin");
    assert_string_equal(v.requester_name, "User admin");
    assert_string_equal(v.s.ip, "127.0.0.1");
    assert_string_equal(v.s.state, "scanned");
    assert_int_equal(v.s.match, 0); /* never sent to the phone */
    assert_true(mc_phone_number_ok(&v, (uint32_t)match));

    /* the browser sees "scanned" at once */
    json_t *p = mc_testenv_poll(env, sid, poll, "pending", 5, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "scanned");
    json_decref(p);

    /* the long poll is woken by the phone's answer, not by its timeout */
    pid_t child = answer_later(env, ph, sid, match, 300);
    double t0 = mc_testenv_now();
    p = mc_testenv_poll(env, sid, poll, "scanned", 25, &st);
    double waited = mc_testenv_now() - t0;
    int ws;
    waitpid(child, &ws, 0);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    assert_string_equal(mc_testenv_jstr(p, "account"), "admin");
    assert_null(json_object_get(p, "token")); /* a bind mints no token */
    assert_true(waited < 20.0);
    json_decref(p);

    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", tok, NULL, &st);
    assert_int_equal(st, 200);
    json_t *cert = json_object_get(me, "cert");
    assert_true(json_is_object(cert));
    assert_string_equal(mc_testenv_jstr(cert, "alg"), alg == MC_ALG_SM2 ? "sm2" : "p256");
    assert_string_equal(mc_testenv_jstr(me, "bound_by"), "admin");
    char fp[65];
    snprintf(fp, sizeof(fp), "%s", mc_testenv_jstr(cert, "fp"));
    json_decref(me);
    mc_account acc;
    assert_int_equal(mc_sync_account_get(env->store, "admin", &acc, &err), 0);
    assert_string_equal(acc.cert, fp);

    /* --- QR login, no account on the login page --- */
    json_t *lr = NULL;
    st = mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, &lr);
    if (st != 201)
        fail_msg("open login: %d %s", st, json_dumps(lr, 0));
    json_decref(lr);
    assert_int_equal(mc_phone_fetch(env->base, sid, &v, &pe), 0);
    assert_string_equal(v.s.account, "");
    child = answer_later(env, ph, sid, match, 200);
    p = mc_testenv_poll(env, sid, poll, "scanned", 25, &st);
    waitpid(child, &ws, 0);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    assert_string_equal(mc_testenv_jstr(p, "account"), "admin");
    char *ctok = strdup(mc_testenv_jstr(p, "token"));
    assert_true(strlen(ctok) >= 40);
    json_decref(p);
    /* a read repeated by the poll-secret holder (its reply may have been
     * lost) gets the same token, not a second session */
    p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "token"), ctok);
    json_decref(p);
    /* only to the holder of the poll secret */
    p = mc_testenv_poll(env, sid, "not-the-secret-not-the-secret", NULL, 0, &st);
    assert_int_equal(st, 403);
    json_decref(p);

    me = mc_testenv_api(env, "GET", "/api/v1/me", ctok, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(me, "account"), "admin");
    assert_string_equal(mc_testenv_jstr(me, "via"), "certificate");
    json_decref(me);

    /* --- unbind: frees both sides, ends the certificate's web sessions --- */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/bindings/admin");
    json_t *u = mc_testenv_api(env, "DELETE", path, tok, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(u, "cert"), fp);
    json_decref(u);
    me = mc_testenv_api(env, "GET", "/api/v1/me", ctok, NULL, &st);
    assert_int_equal(st, 401);
    json_decref(me);
    me = mc_testenv_api(env, "GET", "/api/v1/me", tok, NULL, &st); /* password session lives */
    assert_int_equal(st, 200);
    assert_true(json_is_null(json_object_get(me, "cert")));
    json_decref(me);
    mc_cert_rec rec;
    int found;
    assert_int_equal(mc_sync_cert_get(env->store, fp, &rec, &found, &err), 0);
    assert_true(found);
    assert_string_equal(rec.account, "");
    assert_string_equal(rec.status, "valid");
    /* unbinding again: nothing bound */
    u = mc_testenv_api(env, "DELETE", path, tok, NULL, &st);
    assert_int_equal(st, 404);
    assert_string_equal(mc_testenv_jstr(u, "code"), "not_bound");
    json_decref(u);
    /* the freed certificate can log in no more, but can be bound again */
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_phone_fetch(env->base, sid, &v, &pe), 0);
    mc_phone_result res;
    assert_int_equal(mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL,
                                      &res, &pe), -1);
    assert_int_equal(pe.status, 404);
    assert_string_equal(pe.code, "not_bound");
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     0);
    assert_string_equal(res.state, "approved");

    /* the audit stream saw every change */
    long long n = 0;
    assert_int_equal(mc_store_audit_len(env->store, &n, &err), 0);
    assert_true(n >= 8);
    /* and mcertctl shows it, newest first: the re-bind, then the unbind */
    char cmdline[600];
    snprintf(cmdline, sizeof(cmdline),
             "%s/mcertctl --data %s/var --redis 127.0.0.1:%d audit --count 3", MCERT_BIN_DIR,
             env->dir, env->redis_port);
    FILE *pf = popen(cmdline, "r");
    assert_non_null(pf);
    char line[3][512];
    for (int i = 0; i < 3; i++)
        assert_non_null(fgets(line[i], sizeof(line[i]), pf));
    assert_int_equal(pclose(pf), 0);
    assert_non_null(strstr(line[0], "what=bind account=admin"));
    assert_non_null(strstr(line[0], "by=admin"));
    assert_non_null(strstr(line[1], "what=unbind account=admin"));
    assert_non_null(strstr(line[1], "who=admin from=127.0.0.1"));

    free(ctok);
    free(tok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

static void bind_login_unbind_with_p256_device_key(void **state)
{
    run_flow(MC_ALG_P256);
}

static void bind_login_unbind_with_sm2_device_key(void **state)
{
    run_flow(MC_ALG_SM2);
}

/* A rejected login: the browser learns "rejected", no token, no change to bindings. */
static void phone_rejection_reaches_the_browser(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_phone *ph = mc_testenv_phone(env, "phone", MC_ALG_P256, MC_TEST_ORG);
    mc_phone *stranger = mc_testenv_phone(env, "stranger", MC_ALG_P256, MC_TEST_ORG);
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    mc_session_view v;
    mc_phone_err pe;
    mc_phone_result res;
    /* only a certificate that could log in may reject a login: bind it */
    char *tok = mc_testenv_login(env, "admin");
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     0);
    free(tok);
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_phone_fetch(env->base, sid, &v, &pe), 0);
    /* a trusted but unbound certificate that sees the QR cannot end it */
    assert_int_equal(
        mc_phone_respond(stranger, env->base, &v, MC_PHONE_REJECT, 0, NULL, &res, &pe), -1);
    assert_int_equal(pe.status, 404);
    assert_string_equal(pe.code, "not_bound");
    json_t *p0 = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_string_equal(mc_testenv_jstr(p0, "state"), "scanned");
    json_decref(p0);
    assert_int_equal(mc_phone_respond(ph, env->base, &v, MC_PHONE_REJECT, 0, NULL, &res, &pe), 0);
    assert_string_equal(res.state, "rejected");
    json_t *p = mc_testenv_poll(env, sid, poll, "scanned", 5, &st);
    assert_string_equal(mc_testenv_jstr(p, "state"), "rejected");
    assert_null(json_object_get(p, "token"));
    json_decref(p);
    /* and a later approval cannot overturn it */
    assert_int_equal(mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL,
                                      &res, &pe), -1);
    assert_int_equal(pe.status, 409);
    assert_string_equal(pe.code, "session_done");
    mc_phone_free(ph);
    mc_phone_free(stranger);
    mc_testenv_stop(env);
}

/* The QR image route draws a session that exists (decoded back by zbarimg
 * to the payload the open returned), and nothing for an id that names no
 * session: no CPU work for made-up ids. */
static void qr_image_is_drawn_for_existing_sessions_only(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    int st;
    json_t *o = mc_testenv_api(env, "POST", "/api/v1/sessions?qr=none",
                               NULL, json_pack("{s:s}", "purpose", "login"), &st);
    assert_int_equal(st, 201);
    assert_null(json_object_get(json_object_get(o, "qr"), "png"));
    char sid[MC_SID_LEN + 1], payload[160], url[256], path[300], cmd[400], got[200] = "";
    snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(o, "sid"));
    snprintf(payload, sizeof(payload), "%s", mc_testenv_jstr(json_object_get(o, "qr"), "payload"));
    json_decref(o);
    for (int round = 0; round < 2; round++) { /* the second may come from the loop's cache */
        snprintf(url, sizeof(url), "%s/api/v1/sessions/%s/qr.png", env->base, sid);
        mc_http_reply rep;
        memset(&rep, 0, sizeof(rep));
        mc_err e;
        assert_int_equal(mc_http_request("GET", url, NULL, NULL, 0, 10, &rep, &e), 0);
        assert_int_equal(rep.status, 200);
        assert_string_equal(mc_http_reply_header(&rep, "Content-Type"), "image/png");
        snprintf(path, sizeof(path), "%s/qr-%d.png", env->dir, round);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(rep.body.ptr, 1, rep.body.len, f);
        fclose(f);
        mc_http_reply_free(&rep);
        snprintf(cmd, sizeof(cmd), "zbarimg --raw -q '%s' 2>/dev/null", path);
        FILE *z = popen(cmd, "r");
        assert_non_null(z);
        size_t n = fread(got, 1, sizeof(got) - 1, z);
        pclose(z);
        got[n] = '\0';
        while (n > 0 && (got[n - 1] == '\n' || got[n - 1] == '\r'))
            got[--n] = '\0';
        assert_string_equal(got, payload);
    }
    /* a well-formed id of no session */
    mc_session ghost;
    mc_session_init(&ghost, MC_PURPOSE_LOGIN, 0, 1);
    char p2[128];
    snprintf(p2, sizeof(p2), "/api/v1/sessions/%s/qr.svg", ghost.sid);
    o = mc_testenv_api(env, "GET", p2, NULL, NULL, &st);
    assert_int_equal(st, 404);
    assert_string_equal(mc_testenv_jstr(o, "code"), "unknown_session");
    json_decref(o);
    mc_testenv_stop(env);
}

/* Bindings survive a crash of redis-server (AOF, appendfsync always). */
static void binding_survives_a_redis_crash(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_phone *ph = mc_testenv_phone(env, "phone", MC_ALG_SM2, MC_TEST_ORG);
    char *tok = mc_testenv_login(env, "admin");
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    mc_phone_err pe;
    mc_phone_result res;
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     0);
    mc_testenv_crash_redis(env);
    /* mcertd reconnects by itself; the binding and the web session are there */
    json_t *me = NULL;
    for (int i = 0; i < 50; i++) {
        me = mc_testenv_api(env, "GET", "/api/v1/me", tok, NULL, &st);
        if (st == 200)
            break;
        json_decref(me);
        me = NULL;
        usleep(100000);
    }
    assert_int_equal(st, 200);
    assert_true(json_is_object(json_object_get(me, "cert")));
    json_decref(me);
    /* and the pub/sub subscription came back: a new login wakes the poll */
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    pid_t child = answer_later(env, ph, sid, match, 300);
    json_t *p = mc_testenv_poll(env, sid, poll, "pending", 25, &st);
    if (strcmp(mc_testenv_jstr(p, "state"), "scanned") == 0) {
        json_decref(p);
        p = mc_testenv_poll(env, sid, poll, "scanned", 25, &st);
    }
    int ws;
    waitpid(child, &ws, 0);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    json_decref(p);
    free(tok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* An admin lists every account of its organisation, sorted, with the bound
 * certificate's record; staff see only themselves. */
static void bindings_list_the_organisation_for_admins_only(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "zed", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "alice", MC_TEST_ORG, "staff");
    mc_phone *ph = mc_testenv_phone(env, "phone", MC_ALG_SM2, MC_TEST_ORG);
    char *tok = mc_testenv_login(env, "admin"), *atok = mc_testenv_login(env, "alice");
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    assert_int_equal(mc_testenv_open(env, tok, "bind", "alice", sid, poll, &match, NULL), 201);
    mc_phone_err pe;
    mc_phone_result res;
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     0);
    json_t *b = mc_testenv_api(env, "GET", "/api/v1/bindings", tok, NULL, &st);
    assert_int_equal(st, 200);
    json_t *l = json_object_get(b, "bindings");
    assert_int_equal(json_array_size(l), 3);
    const char *order[] = {"admin", "alice", "zed"};
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(mc_testenv_jstr(json_array_get(l, i), "account"), order[i]);
    json_t *ac = json_object_get(json_array_get(l, 1), "cert");
    assert_string_equal(mc_testenv_jstr(ac, "alg"), "sm2");
    assert_string_equal(mc_testenv_jstr(ac, "status"), "valid");
    assert_true(strlen(mc_testenv_jstr(ac, "serial")) > 0);
    assert_string_equal(mc_testenv_jstr(json_array_get(l, 1), "bound_by"), "admin");
    assert_true(json_is_null(json_object_get(json_array_get(l, 0), "cert")));
    assert_true(json_is_null(json_object_get(json_array_get(l, 2), "cert")));
    json_decref(b);
    b = mc_testenv_api(env, "GET", "/api/v1/bindings", atok, NULL, &st);
    assert_int_equal(st, 200);
    l = json_object_get(b, "bindings");
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(mc_testenv_jstr(json_array_get(l, 0), "account"), "alice");
    assert_string_equal(
        mc_testenv_jstr(json_object_get(json_array_get(l, 0), "cert"), "alg"), "sm2");
    json_decref(b);
    free(tok);
    free(atok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* A logout ends the web session of a QR login: the token stops working,
 * and polling the session again no longer hands it out. */
static void logout_ends_a_qr_login_for_good(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_phone *ph = mc_testenv_phone(env, "phone", MC_ALG_P256, MC_TEST_ORG);
    char *tok = mc_testenv_login(env, "admin");
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    mc_phone_err pe;
    mc_phone_result res;
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     0);
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     0);
    json_t *p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    char ctok[160], key[96], hex[65];
    snprintf(ctok, sizeof(ctok), "%s", mc_testenv_jstr(p, "token"));
    json_decref(p);
    uint8_t h[32];
    mc_sha256(ctok, strlen(ctok), h);
    mc_hex(h, 32, hex);
    snprintf(key, sizeof(key), "{mc}:web:%s", hex);
    long long ttl = mc_testenv_redis_int(env, "TTL %s", key);
    assert_true(ttl > 0 && ttl <= 8 * 3600);
    json_t *o = mc_testenv_api(env, "POST", "/api/v1/logout", ctok, NULL, &st);
    assert_int_equal(st, 200);
    json_decref(o);
    assert_int_equal(mc_testenv_redis_int(env, "EXISTS %s", key), 0);
    p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_null(json_object_get(p, "token"));
    assert_true(json_is_true(json_object_get(p, "claimed")));
    json_decref(p);
    o = mc_testenv_api(env, "GET", "/api/v1/me", ctok, NULL, &st);
    assert_int_equal(st, 401);
    json_decref(o);
    free(tok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* A browser that hangs up while its long poll waits is forgotten: the
 * later state change finds no dangling waiter (ASan would see a use after
 * free in mcertd, and mc_testenv_stop checks that mcertd exits cleanly). */
static void a_browser_that_hangs_up_while_waiting_is_forgotten(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_phone *ph = mc_testenv_phone(env, "phone", MC_ALG_P256, MC_TEST_ORG);
    char *tok = mc_testenv_login(env, "admin");
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        json_t *p = mc_testenv_poll(env, sid, poll, "pending", 25, &st);
        _exit(p != NULL ? 0 : 1);
    }
    usleep(400000); /* the poll is waiting */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    usleep(100000); /* mcertd sees the close */
    mc_session_view v;
    mc_phone_err pe;
    mc_phone_result res;
    assert_int_equal(mc_phone_fetch(env->base, sid, &v, &pe), 0); /* publishes "scanned" */
    assert_int_equal(mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL,
                                      &res, &pe), 0);           /* publishes "approved" */
    json_t *p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    json_decref(p);
    free(tok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* The phone reaches another node than the browser: the answer is accepted
 * there, and the browser's long poll on the first node wakes at once. */
static void phone_on_another_node_wakes_the_browser(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_phone *ph = mc_testenv_phone(env, "phone", MC_ALG_P256, MC_TEST_ORG);
    const char *node2 = mc_testenv_second_node(env);
    char *tok = mc_testenv_login(env, "admin");
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    mc_session_view v;
    mc_phone_err pe;
    assert_int_equal(mc_phone_fetch(node2, sid, &v, &pe), 0); /* node 2 serves the phone */
    assert_string_equal(v.s.origin, env->base);               /* opened on node 1 */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        usleep(300000);
        mc_phone_result res;
        _exit(mc_phone_respond(ph, node2, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL, &res,
                               &pe) == 0 ? 0 : 1);
    }
    double t0 = mc_testenv_now();
    json_t *p = mc_testenv_poll(env, sid, poll, "scanned", 25, &st); /* node 1 */
    double waited = mc_testenv_now() - t0;
    int ws;
    waitpid(pid, &ws, 0);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    assert_true(waited < 20.0);
    json_decref(p);
    /* and a token minted on node 1 is accepted by node 2 */
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_phone_fetch(node2, sid, &v, &pe), 0);
    mc_phone_result res;
    assert_int_equal(mc_phone_respond(ph, node2, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL,
                                      &res, &pe), 0);
    p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", mc_testenv_jstr(p, "token"));
    json_decref(p);
    char url[160];
    snprintf(url, sizeof(url), "%s/api/v1/me", node2);
    const char *h[] = {auth, NULL};
    mc_http_reply rep;
    mc_err err;
    assert_int_equal(mc_http_request("GET", url, h, NULL, 0, 10, &rep, &err), 0);
    assert_int_equal(rep.status, 200);
    mc_http_reply_free(&rep);
    free(tok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* Password guessing is throttled per account; a success resets the count. */
static void password_guessing_is_throttled(void **state)
{
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "alice", MC_TEST_ORG, "staff");
    int st;
    json_t *r;
    /* a success clears earlier failures */
    for (int i = 0; i < 5; i++) {
        r = mc_testenv_api(env, "POST", "/api/v1/login", NULL,
                           json_pack("{s:s, s:s}", "account", "admin", "password", "guess"), &st);
        assert_int_equal(st, 401);
        json_decref(r);
    }
    free(mc_testenv_login(env, "admin"));
    for (int i = 0; i < 10; i++) {
        r = mc_testenv_api(env, "POST", "/api/v1/login", NULL,
                           json_pack("{s:s, s:s}", "account", "admin", "password", "guess"), &st);
        assert_int_equal(st, 401);
        assert_string_equal(mc_testenv_jstr(r, "code"), "bad_credentials");
        json_decref(r);
    }
    /* now even the right password is refused, without being checked */
    r = mc_testenv_api(env, "POST", "/api/v1/login", NULL,
                       json_pack("{s:s, s:s}", "account", "admin", "password",
                                 "pw-admin-secret"), &st);
    assert_int_equal(st, 429);
    assert_string_equal(mc_testenv_jstr(r, "code"), "too_many_attempts");
    json_decref(r);
    /* other accounts are not affected */
    free(mc_testenv_login(env, "alice"));
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bind_login_unbind_with_p256_device_key),
        cmocka_unit_test(bind_login_unbind_with_sm2_device_key),
        cmocka_unit_test(phone_rejection_reaches_the_browser),
        cmocka_unit_test(binding_survives_a_redis_crash),
        cmocka_unit_test(password_guessing_is_throttled),
        cmocka_unit_test(phone_on_another_node_wakes_the_browser),
        cmocka_unit_test(bindings_list_the_organisation_for_admins_only),
        cmocka_unit_test(logout_ends_a_qr_login_for_good),
        cmocka_unit_test(qr_image_is_drawn_for_existing_sessions_only),
        cmocka_unit_test(a_browser_that_hangs_up_while_waiting_is_forgotten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
