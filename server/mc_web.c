/*
 * mc_web.c — the JSON API for the web pages and the platform: password
 * login, QR sessions (open, long-poll), bindings (list, unbind).
 *
 * Rules kept here: the poll secret (never in the QR) is the only way to read
 * a session's outcome, and the login token is minted once, at the first
 * successful read by the poll-secret holder (mc_store_session_poll), and
 * stored only hashed. Staff may bind only themselves; an admin any account of
 * its own organisation. Unbinding is the same rule.
 *
 * Password guessing is throttled per account name (PW_FAIL_MAX failures per
 * PW_FAIL_WINDOW, then 429 without a password check).
 *
 * Non-goals: per-address rate limits (belongs in front of mcertd), cookies
 * (tokens travel as Bearer headers, so there is no CSRF surface).
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc_crypto.h"
#include "mc_events.h"
#include "mc_httpd.h"
#include "mc_qr.h"
#include "mc_session.h"
#include "mc_web.h"

#define SECRET_BYTES 32   /* web tokens and poll secrets: 256 random bits */
#define SECRET_LEN 43     /* base64url, unpadded */
#define PW_FAIL_MAX 10       /* failed password logins per account name ... */
#define PW_FAIL_WINDOW 900   /* ... per 15 minutes */

/* A new secret (web token or poll secret) and its SHA-256, which is all
 * the store ever keeps of it. */
static void new_secret(char secret[SECRET_LEN + 1], uint8_t hash[32])
{
    uint8_t raw[SECRET_BYTES];
    mc_random(raw, sizeof(raw));
    mc_base64url(raw, sizeof(raw), secret);
    mc_sha256(secret, SECRET_LEN, hash);
    OPENSSL_cleanse(raw, sizeof(raw));
}

/* A new web token and the hex of its hash (the store's key for it). */
static void new_token(char tok[SECRET_LEN + 1], char tok_hash[65])
{
    uint8_t h[32];
    new_secret(tok, h);
    mc_hex(h, 32, tok_hash);
}

/* c: the bound certificate's record, or NULL / fp "" when none is known. */
static json_t *account_json(const mc_account *a, const mc_cert_rec *c)
{
    json_t *cert;
    if (a->cert[0] == '\0')
        cert = json_null();
    else if (c == NULL || c->fp[0] == '\0')
        cert = json_pack("{s:s}", "fp", a->cert);
    else
        cert = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "fp", c->fp, "serial",
                         c->serial, "cn", c->cn, "org_name", c->org_name, "issuer", c->issuer,
                         "alg", c->alg, "not_before", (json_int_t)c->not_before, "not_after",
                         (json_int_t)c->not_after, "status", c->status);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s}", "account", a->login, "name",
                     a->name, "role", a->role, "org", a->org, "cert", cert, "bound_at",
                     (json_int_t)a->bound_at, "bound_by", a->bound_by);
}

/* The caller's own account with its certificate's record (one lookup). */
static json_t *my_account_json(mc_req *r)
{
    mc_cert_rec c;
    int found = 0;
    if (r->me.cert[0] == '\0' ||
        mc_store_cert_get(r->node->store, r->me.cert, &c, &found, NULL) != 0 || !found)
        return account_json(&r->me, NULL);
    return account_json(&r->me, &c);
}

/* POST /api/v1/login {account, password} */
void mc_web_login(mc_req *r)
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
    /* Throttle guessing: after PW_FAIL_MAX failures for an account name,
     * refuse without checking the password until the window ends. */
    long long fails = 0;
    int valid_name = mc_account_name_valid(login, loginlen);
    if (valid_name && mc_store_pwfail_count(r->node->store, login, &fails, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (fails >= PW_FAIL_MAX) {
        mc_reply_errf(r, 429, "too_many_attempts",
                      "too many failed logins for this account; try again later");
        return;
    }
    mc_account acc;
    int have = valid_name &&
               mc_store_account_get(r->node->store, login, &acc, &err) == 0;
    if (!have && err.status >= 500) {
        mc_reply_err(r, &err);
        return;
    }
    int ok = mc_password_verify(pw, pwlen, have ? acc.pw : r->node->dummy_pw) == 0;
    if (!have || !ok) {
        if (valid_name)
            mc_store_pwfail_add(r->node->store, login, PW_FAIL_WINDOW, NULL);
        mc_reply_errf(r, 401, "bad_credentials", "wrong account or password");
        goto done;
    }
    if (fails > 0)
        mc_store_pwfail_clear(r->node->store, login, NULL);
    char tok[SECRET_LEN + 1], tok_hash[65];
    new_token(tok, tok_hash);
    mc_websess w;
    memset(&w, 0, sizeof(w));
    snprintf(w.account, sizeof(w.account), "%s", acc.login);
    snprintf(w.ip, sizeof(w.ip), "%s", r->ip);
    w.created = r->now;
    w.expires = r->now + r->node->cfg->web_ttl;
    mc_actor actor = {acc.login, r->ip};
    if (mc_store_web_create(r->node->store, tok_hash, &w, &actor, r->now, &err) != 0) {
        mc_reply_err(r, &err);
        goto done;
    }
    mc_reply_json(r, 200, json_pack("{s:s, s:s, s:I}", "token", tok, "account", acc.login,
                                    "expires", (json_int_t)w.expires));
    OPENSSL_cleanse(tok, sizeof(tok));
done:
    OPENSSL_cleanse(&acc, sizeof(acc));
}

/* POST /api/v1/logout */
void mc_web_logout(mc_req *r)
{
    mc_err err;
    if (mc_store_web_delete(r->node->store, r->tok_hash, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    mc_reply_json(r, 200, json_object());
}

/* GET /api/v1/me */
void mc_web_me(mc_req *r)
{
    mc_org org;
    mc_err err;
    json_t *o = my_account_json(r);
    if (mc_store_org_get(r->node->store, r->me.org, &org, &err) == 0)
        json_object_set_new(o, "org_name", json_string(org.name));
    json_object_set_new(o, "via", json_string(r->web.cert[0] ? "certificate" : "password"));
    json_object_set_new(o, "session_expires", json_integer(r->web.expires));
    mc_reply_json(r, 200, o);
}

/* Whether `me` may bind or unbind `target` (same org; self or admin). */
static int may_manage(const mc_account *me, const mc_account *target)
{
    if (strcmp(me->org, target->org) != 0)
        return 0;
    return strcmp(me->login, target->login) == 0 || strcmp(me->role, "admin") == 0;
}

/* Parse "svg,png,text" / "none" into the three flags. 0 / -1. */
static int qr_formats(const char *q, int *svg, int *png, int *text)
{
    *svg = *png = *text = 0;
    size_t n = strlen(q);
    if (n == 0 || n > 32)
        return -1;
    for (const char *p = q; p <= q + n;) {
        size_t len = strcspn(p, ",");
        if (len == 3 && memcmp(p, "svg", 3) == 0)
            *svg = 1;
        else if (len == 3 && memcmp(p, "png", 3) == 0)
            *png = 1;
        else if (len == 4 && memcmp(p, "text", 4) == 0)
            *text = 1;
        else if (!(len == 4 && memcmp(p, "none", 4) == 0))
            return -1;
        p += len + 1;
    }
    return 0;
}

/* POST /api/v1/sessions {purpose, account?} */
void mc_web_session_open(mc_req *r)
{
    static const char *const allowed[] = {"purpose", "account", NULL};
    mc_err err;
    mc_err_clear(&err);
    const char *ps, *target;
    size_t pslen, targetlen;
    if (mc_json_only(r->json, allowed, &err) != 0 ||
        mc_json_str(r->json, "purpose", 16, 1, &ps, &pslen, &err) != 0 ||
        mc_json_str(r->json, "account", MC_ACCOUNT_MAX, 0, &target, &targetlen, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    mc_purpose purpose = mc_purpose_parse(ps, pslen);
    if (purpose == MC_PURPOSE_NONE) {
        mc_reply_errf(r, 400, "bad_field", "purpose must be \"bind\" or \"login\"");
        return;
    }
    /* ?qr=svg,png,text (default all three; "none": the payload only) picks
     * the renderings to send. A PNG costs ~10x an SVG to draw. */
    int want_svg = 1, want_png = 1, want_text = 1;
    const char *qrq = evhttp_find_header(&r->query, "qr");
    if (qrq != NULL && qr_formats(qrq, &want_svg, &want_png, &want_text) != 0) {
        mc_reply_errf(r, 400, "bad_query", "qr lists svg, png, text or none, comma-separated");
        return;
    }
    mc_session s;
    mc_session_init(&s, purpose, r->now, r->node->cfg->session_ttl);
    if (purpose == MC_PURPOSE_BIND) {
        if (!r->authed) {
            mc_reply_errf(r, 401, "unauthorized", "log in to bind a certificate");
            return;
        }
        mc_account acc;
        if (target == NULL) {
            acc = r->me;
        } else if (!mc_account_name_valid(target, targetlen)) {
            mc_reply_errf(r, 400, "bad_field", "account is not a valid account name");
            return;
        } else if (mc_store_account_get(r->node->store, target, &acc, &err) != 0) {
            if (err.status == 404)
                mc_err_set(&err, 404, "not_found", "no such account");
            mc_reply_err(r, &err);
            return;
        }
        if (!may_manage(&r->me, &acc)) {
            mc_reply_errf(r, 403, "not_permitted",
                          "only an organisation admin may bind another account");
            return;
        }
        if (acc.cert[0] != '\0') {
            mc_reply_errf(r, 409, "account_bound", "the account already has a certificate");
            return;
        }
        snprintf(s.account, sizeof(s.account), "%s", acc.login);
        snprintf(s.requester, sizeof(s.requester), "%s", r->me.login);
    } else if (target != NULL) {
        mc_reply_errf(r, 400, "bad_field", "a login session names no account");
        return;
    }
    snprintf(s.origin, sizeof(s.origin), "%s", r->origin);
    snprintf(s.ip, sizeof(s.ip), "%s", r->ip);
    const char *ua = evhttp_find_header(evhttp_request_get_input_headers(r->req), "User-Agent");
    if (ua)
        mc_copy_printable(s.ua, sizeof(s.ua), ua, strnlen(ua, 1024));

    uint8_t poll_hash[32];
    char poll[SECRET_LEN + 1];
    new_secret(poll, poll_hash);
    char payload[MC_QR_PAYLOAD_MAX + 1];
    mc_qr *q = NULL;
    mc_buf svg = {0}, png = {0}, text = {0};
    char *png64 = NULL;
    if (mc_qr_payload(r->node->cfg->public_base, s.sid, payload, &err) != 0 ||
        (q = mc_qr_encode(payload, &err)) == NULL || (want_svg && mc_qr_svg(q, &svg) != 0) ||
        (want_png && mc_qr_png(q, 6, &png, &err) != 0) ||
        (want_text && mc_qr_text(q, &text) != 0)) {
        if (err.status == 0)
            mc_err_set(&err, 500, "internal", "QR rendering failed");
        mc_reply_err(r, &err);
        goto done;
    }
    if (mc_store_session_create(r->node->store, &s, poll_hash, &err) != 0) {
        mc_reply_err(r, &err);
        goto done;
    }
    json_t *qr = json_pack("{s:s, s:i, s:i}", "payload", payload, "version", mc_qr_version(q),
                           "modules", mc_qr_width(q));
    if (want_svg)
        json_object_set_new(qr, "svg", json_stringn((const char *)svg.ptr, svg.len));
    if (want_png) {
        png64 = mc_base64(png.ptr, png.len);
        json_object_set_new(qr, "png", json_string(png64));
    }
    if (want_text)
        json_object_set_new(qr, "text", json_stringn((const char *)text.ptr, text.len));
    mc_reply_json(r, 201,
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:o}", "sid", s.sid, "purpose",
                            mc_purpose_name(purpose), "account", s.account, "poll_secret", poll,
                            "match", (int)s.match, "expires", (json_int_t)s.expires, "ttl",
                            r->node->cfg->session_ttl, "qr", qr));
done:
    OPENSSL_cleanse(poll, sizeof(poll));
    free(png64);
    mc_buf_free(&svg);
    mc_buf_free(&png);
    mc_buf_free(&text);
    mc_qr_free(q);
}

/* ---- long poll ---- */

/* One read of a session by the holder of its poll secret (one Redis step,
 * mc_store_session_poll): for an approved login this mints the web token,
 * once. Returns the HTTP status; *out receives the body and state (if not
 * NULL, >= 12 bytes) the session's state ("" on error). */
static int session_result(mc_node *node, const char *sid, const uint8_t poll_hash[32],
                          const char *ip, json_t **out, char *state)
{
    mc_session s;
    mc_sess_extra x;
    mc_err err;
    mc_err_clear(&err);
    int64_t now = (int64_t)time(NULL);
    /* minted on every read, used only by the one read that claims the
     * login (~2 us next to the Redis round trip of the read itself) */
    char tok[SECRET_LEN + 1], tok_hash[65];
    new_token(tok, tok_hash);
    mc_websess w;
    memset(&w, 0, sizeof(w));
    snprintf(w.ip, sizeof(w.ip), "%s", ip);
    w.expires = now + node->cfg->web_ttl;
    int claimed = 0;
    if (state)
        state[0] = '\0';
    if (mc_store_session_poll(node->store, sid, poll_hash, tok_hash, &w, ip, now, &s, &x,
                              &claimed, &err) != 0) {
        OPENSSL_cleanse(tok, sizeof(tok));
        *out = json_pack("{s:s, s:s}", "code", err.code ? err.code : "internal", "message",
                         err.msg);
        return err.status ? err.status : 500;
    }
    if (state)
        snprintf(state, 12, "%s", s.state);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "sid", s.sid, "purpose",
                          mc_purpose_name(s.purpose), "state", s.state, "expires",
                          (json_int_t)s.expires);
    if (strcmp(s.state, "approved") == 0) {
        json_object_set_new(o, "account", json_string(s.account));
        json_object_set_new(o, "cert", json_string(x.cert));
        if (claimed) {
            json_object_set_new(o, "token", json_string(tok));
            json_object_set_new(o, "token_expires", json_integer(w.expires));
        } else if (s.purpose == MC_PURPOSE_LOGIN) {
            json_object_set_new(o, "claimed", json_true());
        }
    }
    OPENSSL_cleanse(tok, sizeof(tok));
    *out = o;
    return 200;
}

typedef struct poll_ctx {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    mc_node *node;
    mc_waiter *waiter;
    char sid[MC_SID_LEN + 1];
    char known[12];
    uint8_t poll_hash[32];
    char ip[MC_IP_MAX + 1];
    int64_t deadline_ms;
} poll_ctx;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void poll_closed(struct evhttp_connection *conn, void *arg);

static void poll_reply(poll_ctx *p, int status, json_t *o)
{
    evhttp_connection_set_closecb(p->conn, NULL, NULL);
    mc_reply_json_req(p->req, status, o);
    OPENSSL_cleanse(p->poll_hash, sizeof(p->poll_hash));
    free(p);
}

static void poll_wake(void *privdata, mc_wake why, const char *state)
{
    poll_ctx *p = privdata;
    p->waiter = NULL;
    json_t *o = NULL;
    char now_state[12];
    int status = session_result(p->node, p->sid, p->poll_hash, p->ip, &o, now_state);
    int64_t left = p->deadline_ms - now_ms();
    /* an event for an unchanged state, or a resync: keep waiting */
    if (status == 200 && why != MC_WAKE_TIMEOUT && left > 0 &&
        strcmp(now_state, p->known) == 0) {
        json_decref(o);
        p->waiter = mc_events_wait(p->node->events, p->sid, (int)left, poll_wake, p);
        if (p->waiter != NULL)
            return;
        status = session_result(p->node, p->sid, p->poll_hash, p->ip, &o, now_state);
    }
    poll_reply(p, status, o);
}

static void poll_closed(struct evhttp_connection *conn, void *arg)
{
    poll_ctx *p = arg;
    mc_waiter_cancel(p->waiter);
    OPENSSL_cleanse(p->poll_hash, sizeof(p->poll_hash));
    free(p);
}

/* GET /api/v1/sessions/:sid?state=<known>&wait=<seconds>, X-Poll-Secret */
void mc_web_session_poll(mc_req *r)
{
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    const char *secret =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Poll-Secret");
    if (secret == NULL) {
        mc_reply_errf(r, 401, "bad_poll_secret", "the X-Poll-Secret header is required");
        return;
    }
    int wait;
    if (mc_query_int(r, "wait", 0, r->node->cfg->poll_wait_max, 0, &wait) != 0) {
        mc_reply_errf(r, 400, "bad_query", "wait must be 0..%d", r->node->cfg->poll_wait_max);
        return;
    }
    const char *known = evhttp_find_header(&r->query, "state");
    if (known != NULL && strlen(known) >= sizeof(((poll_ctx *)0)->known)) {
        mc_reply_errf(r, 400, "bad_query", "unknown state");
        return;
    }
    uint8_t h[32];
    mc_sha256(secret, strnlen(secret, 256), h);
    json_t *o = NULL;
    char state[12];
    int status = session_result(r->node, r->param, h, r->ip, &o, state);
    int waiting = status == 200 && wait > 0 && known != NULL && strcmp(known, state) == 0 &&
                  (strcmp(state, "pending") == 0 || strcmp(state, "scanned") == 0);
    if (!waiting) {
        mc_reply_json(r, status, o);
        return;
    }
    int64_t expires = json_integer_value(json_object_get(o, "expires"));
    json_decref(o);
    poll_ctx *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        mc_reply_errf(r, 503, "internal", "out of memory");
        return;
    }
    p->req = r->req;
    p->conn = evhttp_request_get_connection(r->req);
    p->node = r->node;
    snprintf(p->sid, sizeof(p->sid), "%.20s", r->param);
    snprintf(p->known, sizeof(p->known), "%s", known);
    memcpy(p->poll_hash, h, sizeof(h));
    snprintf(p->ip, sizeof(p->ip), "%s", r->ip);
    /* never wait past the session's expiry (+ a little, so that "expired" is seen) */
    int64_t until = expires * 1000 + 100;
    p->deadline_ms = now_ms() + (int64_t)wait * 1000;
    if (p->deadline_ms > until)
        p->deadline_ms = until;
    int64_t left = p->deadline_ms - now_ms();
    p->waiter = mc_events_wait(r->node->events, p->sid, left > 0 ? (int)left : 0, poll_wake, p);
    if (p->waiter == NULL) {
        free(p);
        mc_reply_errf(r, 503, "internal", "out of memory");
        return;
    }
    evhttp_connection_set_closecb(p->conn, poll_closed, p);
}

/* GET /api/v1/bindings */
void mc_web_bindings(mc_req *r)
{
    if (strcmp(r->me.role, "admin") != 0) {
        mc_reply_json(r, 200, json_pack("{s:[o]}", "bindings", my_account_json(r)));
        return;
    }
    mc_err err;
    mc_account *accs;
    mc_cert_rec *certs;
    size_t n;
    if (mc_store_org_bindings(r->node->store, r->me.org, &accs, &certs, &n, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, account_json(&accs[i], &certs[i]));
    OPENSSL_cleanse(accs, n * sizeof(*accs)); /* password hashes */
    free(accs);
    free(certs);
    mc_reply_json(r, 200, json_pack("{s:o}", "bindings", list));
}

/* DELETE /api/v1/bindings/:account */
void mc_web_unbind(mc_req *r)
{
    mc_err err;
    mc_err_clear(&err);
    mc_account target;
    if (!mc_account_name_valid(r->param, strlen(r->param)) ||
        mc_store_account_get(r->node->store, r->param, &target, &err) != 0) {
        if (err.status >= 500)
            mc_reply_err(r, &err);
        else
            mc_reply_errf(r, 404, "not_found", "no such account");
        return;
    }
    if (!may_manage(&r->me, &target)) {
        mc_reply_errf(r, 403, "not_permitted",
                      "only an organisation admin may unbind another account");
        return;
    }
    if (target.cert[0] == '\0') {
        mc_reply_errf(r, 404, "not_bound", "the account has no certificate bound");
        return;
    }
    mc_actor actor = {r->me.login, r->ip};
    if (mc_store_unbind(r->node->store, target.login, target.cert, &actor, r->now, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    mc_reply_json(r, 200, json_pack("{s:s, s:s}", "account", target.login, "cert", target.cert));
}

/* GET /healthz */
void mc_web_health(mc_req *r)
{
    mc_err err;
    int ok = mc_store_ping(r->node->store, &err) == 0;
    mc_reply_json(r, ok ? 200 : 503,
                  json_pack("{s:b, s:b, s:i}", "store", ok, "events",
                            mc_events_connected(r->node->events), "waiters",
                            (int)mc_events_nwaiters(r->node->events)));
}
