/*
 * api/auth.c — password login, logout, and who am I.
 *
 *   POST /api/v1/login  {account, password}  -> {token, account, expires}
 *   POST /api/v1/logout
 *   GET  /api/v1/me
 *
 * Login: count the attempt and read the account in one step (counted
 * before the check, per account and client address, so parallel guesses
 * cannot pass the limit and a stranger cannot lock the owner out), check
 * the password on the worker pool (scrypt ~100 ms must never run on the
 * loop; an unknown account is checked against a dummy hash so both cost
 * the same), then open the web session. Full pool -> 503 busy.
 *
 * Non-goals: cookies (tokens travel as Bearer headers, so there is no CSRF
 * surface).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_crypto.h"
#include "mc_store_rec.h"
#include "mc_store_web.h"
#include "mc_token.h"
#include "mc_workers.h"

/* Password attempts: per account and client address, per address. */
static const mc_pw_limits pw_limits = {.per_account = 10, .per_address = 100, .window = 900};

typedef struct login_ctx {
    char login[MC_ACCOUNT_MAX + 1];
    char pw[257];
    size_t pwlen;
    mc_pw_attempt att;
    int ok;                       /* the password matched (set by the worker) */
    char tok[MC_TOKEN_MAX + 1], tok_hash[65];
    int64_t expires;
} login_ctx;

static void login_ctx_free(void *p)
{
    OPENSSL_cleanse(p, sizeof(login_ctx));
    free(p);
}

static void login_on_opened(void *privdata, const mc_err *err);
static void login_on_counted(void *privdata, const mc_err *err);
static void login_check(void *arg);
static void login_on_checked(void *arg, int ran);

void mc_api_login(mc_req *r)
{
    static const char *const allowed[] = {"account", "password", NULL};
    mc_err err;
    mc_err_clear(&err);
    const char *login, *pw;
    size_t loginlen, pwlen;
    if (mc_json_only(r->json, allowed, &err) != 0 ||
        mc_json_str(r->json, "account", MC_ACCOUNT_MAX, 1, &login, &loginlen, &err) != 0 ||
        mc_json_str(r->json, "password", 256, 1, &pw, &pwlen, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (!mc_account_name_valid(login, loginlen)) {
        mc_reply_errf(r, 401, "bad_credentials", "wrong account or password");
        return;
    }
    login_ctx *x = mc_req_ctx(r, sizeof(*x), login_ctx_free);
    if (x == NULL)
        return;
    memcpy(x->login, login, loginlen);
    memcpy(x->pw, pw, pwlen);
    x->pwlen = pwlen;
    mc_store_pw_attempt(r->node->store, x->login, r->ip, &pw_limits, &x->att, login_on_counted,
                        r);
}

static void login_on_counted(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    login_ctx *x = r->hctx;
    if (!x->att.allowed) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", x->att.retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", ra);
        mc_reply_errf(r, 429, "too_many_attempts",
                      "too many failed logins; try again later");
        return;
    }
    if (mc_workers_submit(r->node->workers, login_check, login_on_checked, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; try again in a moment");
}

/* On a worker thread: touches only the login_ctx. */
static void login_check(void *arg)
{
    mc_req *r = arg;
    login_ctx *x = r->hctx;
    const char *hash = x->att.acc.login[0] ? x->att.acc.pw : r->node->dummy_pw;
    x->ok = mc_password_verify(x->pw, x->pwlen, hash) == 0 && x->att.acc.login[0] != '\0';
}

static void login_on_checked(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    login_ctx *x = r->hctx;
    if (!x->ok) {
        mc_reply_errf(r, 401, "bad_credentials", "wrong account or password");
        return;
    }
    mc_token_new(x->login, x->tok, x->tok_hash);
    mc_store_web_open(r->node->store, x->tok_hash, x->login, r->node->cfg->web_ttl, r->ip,
                      &x->expires, login_on_opened, r);
}

static void login_on_opened(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    login_ctx *x = r->hctx;
    mc_reply_json(r, 200, json_pack("{s:s, s:s, s:I}", "token", x->tok, "account", x->login,
                                    "expires", (json_int_t)x->expires));
}

/* ---- logout ---- */

static void logout_on_closed(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_reply_json(r, 200, json_object());
}

void mc_api_logout(mc_req *r)
{
    mc_store_web_close(r->node->store, r->tok_hash, logout_on_closed, r);
}

/* ---- me ---- */

static void me_on_view(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_acct_view *v = r->hctx;
    json_t *o = mc_api_account_json(&r->who.acc, &v->cert);
    if (v->org.uscc[0])
        json_object_set_new(o, "org_name", json_string(v->org.name));
    json_object_set_new(o, "via", json_string(r->who.web.cert[0] ? "certificate" : "password"));
    json_object_set_new(o, "session_expires", json_integer(r->who.web.expires));
    mc_reply_json(r, 200, o);
}

void mc_api_me(mc_req *r)
{
    mc_acct_view *v = mc_req_ctx(r, sizeof(*v), NULL);
    if (v == NULL)
        return;
    mc_store_account_view(r->node->store, r->who.acc.org, r->who.acc.cert, v, me_on_view, r);
}
