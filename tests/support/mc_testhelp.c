/*
 * mc_testhelp.c — see mc_testhelp.h.
 */
#include "mc_testhelp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "mc_crypto.h"
#include "mc_http.h"
#include "mc_proto.h"

/* The capture file at path into out (size bytes, NUL-terminated). */
static void read_capture(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot read %s", path);
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* Run fmt/ap (through mcertctl if ctl) with its output captured into
 * env->dir/<name>, then read into out. */
static int capture_v(mc_testenv *env, int ctl, const char *name, char *out, size_t size,
                     const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
static int capture_v(mc_testenv *env, int ctl, const char *name, char *out, size_t size,
                     const char *fmt, va_list ap)
{
    char cmd[2048], path[300];
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    snprintf(path, sizeof(path), "%s/%s", env->dir, name);
    int rc = ctl ? mc_testenv_ctl(env, "%s >%s 2>&1", cmd, path)
                 : mc_testenv_sh("%s >%s 2>&1", cmd, path);
    read_capture(path, out, size);
    return rc;
}

int mc_testenv_sh_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = capture_v(env, 0, "sh.out", out, size, fmt, ap);
    va_end(ap);
    return rc;
}

int mc_testenv_ctl_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = capture_v(env, 1, "ctl.out", out, size, fmt, ap);
    va_end(ap);
    return rc;
}

void mc_testenv_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("cannot write %s", path);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

void mc_testenv_read_file(const char *path, mc_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot read %s", path);
    uint8_t tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        mc_buf_append(out, tmp, n);
    fclose(f);
}

void mc_testenv_apikey(mc_testenv *env, const char *org, const char *scope, char key[80],
                       char id[20])
{
    char out[1024];
    if (mc_testenv_ctl_out(env, out, sizeof(out),
                           "apikey add --name 政采云电子交易平台 --org %s --scope %s", org,
                           scope) != 0)
        fail_msg("apikey add: %s", out);
    const char *k = strstr(out, "mcak.");
    assert_non_null(k);
    snprintf(key, 80, "%.65s", k);
    snprintf(id, 20, "%.16s", k + 5);
}

json_t *mc_testenv_api_apikey(mc_testenv *env, const char *method, const char *path,
                              const char *key, json_t *body, int *status)
{
    char auth[120];
    snprintf(auth, sizeof(auth), "Authorization: ApiKey %s", key);
    const char *h[] = {auth, NULL};
    return mc_testenv_api_h(env, method, path, h, body, status);
}

json_t *mc_testenv_api_want(mc_testenv *env, const char *method, const char *path,
                            const char *tok, json_t *body, int want)
{
    int st;
    json_t *o = mc_testenv_api(env, method, path, tok, body, &st);
    if (st != want) {
        char *s = json_dumps(o, 0);
        fail_msg("%s %s: want %d, got %d %s", method, path, want, st, s ? s : "");
    }
    return o;
}

void mc_testenv_uscc_fix(char s[19])
{
    static const char cs[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (int)(strchr(cs, s[i]) - cs) * w[i];
    s[17] = cs[(31 - sum % 31) % 31];
}

int mc_testenv_web_req(mc_testenv *env, const char *method, const char *path,
                       const char *const *headers, const void *body, size_t len, json_t **out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", env->base, path);
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err e;
    if (mc_http_request(method, url, headers, body, len, 20, &rep, &e) != 0)
        fail_msg("%s %s: %s (server hung or crashed?)", method, path, e.msg);
    int st = rep.status;
    json_error_t je;
    json_t *o = json_loadb((const char *)rep.body.ptr, rep.body.len, 0, &je);
    if (st >= 400) {
        const char *ct = mc_http_reply_header(&rep, "Content-Type");
        if (ct == NULL || strncmp(ct, "application/json", 16) != 0)
            fail_msg("%s %s: error %d with Content-Type %s (request body: %.*s)", method, path,
                     st, ct ? ct : "-", (int)(len < 80 ? len : 80),
                     body ? (const char *)body : "");
        if (o == NULL || !json_is_object(o) || json_object_size(o) != 2 ||
            !json_is_string(json_object_get(o, "code")) ||
            !json_is_string(json_object_get(o, "message")))
            fail_msg("%s %s: error %d body is not {code, message}: %.*s", method, path, st,
                     (int)(rep.body.len < 200 ? rep.body.len : 200),
                     rep.body.ptr ? (const char *)rep.body.ptr : "");
    }
    mc_http_reply_free(&rep);
    if (out)
        *out = o;
    else
        json_decref(o);
    return st;
}

pid_t mc_testenv_racer(mc_testenv *env, const char *sid, const mc_buf *body, int go[2])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    close(go[1]);
    char c;
    if (read(go[0], &c, 1) != 0)
        _exit(5);
    char url[256];
    snprintf(url, sizeof(url), "%s/m/v1/sessions/%s/response", env->base, sid);
    const char *const headers[] = {"Content-Type: application/x-msgpack", NULL};
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err e;
    if (mc_http_request("POST", url, headers, body->ptr, body->len, 20, &rep, &e) != 0)
        _exit(6);
    char a[64], b[160];
    if (rep.status == 200 &&
        mc_result_decode(rep.body.ptr, rep.body.len, a, sizeof(a), b, sizeof(b), &e) == 0 &&
        strcmp(a, "approved") == 0)
        _exit(0);
    mc_renew_result rr; /* an extension's approval carries its certificate (§10.4) */
    if (rep.status == 200 && mc_result_renew_decode(rep.body.ptr, rep.body.len, &rr, &e) == 0 &&
        strcmp(rr.state, "approved") == 0)
        _exit(0);
    if (rep.status == 409 &&
        mc_error_decode(rep.body.ptr, rep.body.len, a, sizeof(a), b, sizeof(b)) == 0 &&
        strcmp(a, "session_done") == 0)
        _exit(1);
    _exit(rep.status == 409 ? 3 : 4);
}

void mc_testenv_leaf_fp(const mc_phone *ph, char out[65])
{
    mc_slice chain[MC_CHAIN_MAX];
    assert_true(mc_phone_chain(ph, chain, MC_CHAIN_MAX) >= 1);
    uint8_t d[32];
    assert_int_equal(mc_cert_fingerprint(chain[0].ptr, chain[0].len, d), 0);
    mc_hex(d, 32, out);
}

void mc_testenv_bind(mc_testenv *env, const mc_phone *ph, const char *tok)
{
    char sid[MC_SID_LEN + 1], poll[64];
    int match;
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    mc_phone_result res;
    mc_phone_err pe;
    if (mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe) != 0)
        fail_msg("bind: %s %s", pe.code, pe.msg);
    assert_string_equal(res.state, "approved");
}

mc_phone *mc_testenv_bound_phone(mc_testenv *env, const char *login, const char *org,
                                 const char *role, mc_alg alg, char fp[65])
{
    mc_testenv_account(env, login, org, role);
    mc_phone *ph = mc_testenv_phone(env, login, alg, org);
    char *tok = mc_testenv_login(env, login);
    mc_testenv_bind(env, ph, tok);
    int st;
    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", tok, NULL, &st);
    snprintf(fp, 65, "%s", mc_testenv_jstr(json_object_get(me, "cert"), "fp"));
    assert_int_equal(strlen(fp), 64);
    json_decref(me);
    free(tok);
    return ph;
}

void mc_testenv_holder_new(mc_testenv *env, mc_testenv_holder *h, const char *login,
                           const char *org, const char *role, mc_alg alg)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->login, sizeof(h->login), "%s", login);
    mc_testenv_account(env, login, org, role);
    char pname[64];
    snprintf(pname, sizeof(pname), "phone-%s", login);
    h->ph = mc_testenv_phone(env, pname, alg, org);
    h->tok = mc_testenv_login(env, login);
    mc_testenv_leaf_fp(h->ph, h->fp);
}

void mc_testenv_holder_free(mc_testenv_holder *h)
{
    mc_phone_free(h->ph);
    free(h->tok);
    memset(h, 0, sizeof(*h));
}

const char *mc_testenv_hget(mc_testenv *env, const char *key, const char *field, char *out,
                            size_t size)
{
    redisReply *r = mc_testenv_redis(env, "HGET %s %s", key, field);
    snprintf(out, size, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return out;
}

void mc_testenv_expect_field(mc_testenv *env, const char *kind, const char *id,
                             const char *field, const char *want)
{
    char key[128], got[256];
    snprintf(key, sizeof(key), "{mc}:%s:%s", kind, id);
    mc_testenv_hget(env, key, field, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%s.%s = \"%s\", want \"%s\"", key, field, got, want);
}

int mc_testenv_audit_count(mc_testenv *env, const char *what, const char *name,
                           const char *value)
{
    redisReply *r = mc_testenv_redis(env, "XRANGE {mc}:audit - +");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    int n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        int is_what = 0, is_named = name == NULL;
        for (size_t k = 0; k + 1 < kv->elements; k += 2) {
            const char *f = kv->element[k]->str, *v = kv->element[k + 1]->str;
            is_what |= strcmp(f, "what") == 0 && strcmp(v, what) == 0;
            is_named |= name != NULL && strcmp(f, name) == 0 && strcmp(v, value) == 0;
        }
        n += is_what && is_named;
    }
    freeReplyObject(r);
    return n;
}

int64_t mc_testenv_redis_time(mc_testenv *env)
{
    redisReply *r = mc_testenv_redis(env, "TIME");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    int64_t t = strtoll(r->element[0]->str, NULL, 10);
    freeReplyObject(r);
    return t;
}

/* ---- the phone API ---- */

#define PHONE_CT "application/x-msgpack"

void mc_testenv_phone_req(const char *method, const char *url, const void *body, size_t len,
                          const char *ctype, int strict, mc_testenv_preply *out)
{
    char ct[128];
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : PHONE_CT);
    const char *const headers[] = {ct, "Accept: " PHONE_CT, NULL};
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err e;
    if (mc_http_request(method, url, headers, body, len, 20, &rep, &e) != 0)
        fail_msg("%s %s: %s (server hung or crashed?)", method, url, e.msg);
    memset(out, 0, sizeof(*out));
    out->status = rep.status;
    const char *rct = mc_http_reply_header(&rep, "Content-Type");
    if (rct == NULL || strcmp(rct, PHONE_CT) != 0)
        fail_msg("phone reply %d has Content-Type %s", rep.status, rct ? rct : "(none)");
    if (rep.status == 200) {
        if (mc_result_decode(rep.body.ptr, rep.body.len, out->state, sizeof(out->state),
                             out->account, sizeof(out->account), &e) != 0) {
            if (strict)
                fail_msg("200 reply is not a msgpack {state, account}: %s", e.msg);
            out->state[0] = out->account[0] = '\0';
        }
    } else if (mc_error_decode(rep.body.ptr, rep.body.len, out->code, sizeof(out->code),
                               out->msg, sizeof(out->msg)) != 0) {
        fail_msg("error reply %d is not a msgpack {code, message}", rep.status);
    } else if (out->code[0] == '\0' || out->msg[0] == '\0') {
        fail_msg("error reply %d has an empty code or message", rep.status);
    }
    mc_http_reply_free(&rep);
}
