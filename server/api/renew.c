/*
 * api/renew.c — CA续费与延期 (PROTOCOL.md §10): renewals of a certificate,
 * paid through PAY, then used by the phone to extend it.
 *
 *   GET  /api/v1/renewals/candidates   the certificates that may be renewed
 *                                      (?bound=1: the bound ones; ?bound=0
 *                                      &serial=: an unbound one by serial)
 *   POST /api/v1/renewals              a renewal with its order
 *   GET  /api/v1/renewals              the organisation's (operators: all)
 *   GET  /api/v1/renewals/:id          one, with its order
 *   POST /api/v1/renewals/:id/refund   申请退款 (not extended yet)
 *   POST /api/v1/renewals/:id/renew-session   the extension's QR session
 *
 * The phone's answer to the extension's session (purpose renew) is
 * api/phone_renew.c's. Who may: a renewal is its certificate's holder's
 * and its organisation admins' — the same rule as an application's
 * (mc_policy_app_may_read / _may_act, with the holder as the applicant);
 * the holder when it was made and the holder now read it, the holder now
 * acts on it (ren_may_read, may_act_now); operators read everything and
 * act on nothing.
 * Non-goals: partial refunds, several certificates in one order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc_api.h"
#include "mc_crypto.h"
#include "mc_policy.h"
#include "mc_proto.h"
#include "mc_renew.h"
#include "mc_store_renew.h"
#include "mc_store_sign.h"
#include "mc_token.h"

#define PROVIDER_NAME "mcert 移动证书CA"

/* ---- replies ---- */

static json_t *ren_json(const mc_ren_pair *p)
{
    const mc_renewal *r = &p->r;
    int extended = strcmp(r->state, "extended") == 0;
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, "
        "s:I, s:I, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:b, s:I, s:s, s:I}",
        "id", r->id, "state", mc_ren_state_now(r->state, r->expires, p->now), "fp", r->fp,
        "serial", r->serial, "lock_id", r->serial, "provider", "mcert", "provider_name",
        PROVIDER_NAME, "cn", r->holder, "org_name", r->org_name, "uscc", r->uscc, "account",
        r->account, "account_name", r->holder, "years", (json_int_t)r->years, "fee",
        (json_int_t)r->fee, "order", r->order, "created", (json_int_t)r->created, "expires",
        (json_int_t)r->expires, "paid_at", (json_int_t)r->paid_at, "pay_method",
        p->o.paid_at ? p->o.provider : "", "extended_at", (json_int_t)r->extended_at,
        "old_not_after", (json_int_t)r->old_not_after, "not_after",
        (json_int_t)(extended ? r->new_not_after : r->old_not_after), "new_fp", r->new_fp,
        "new_serial", r->new_serial, "new_not_after",
        (json_int_t)(r->new_not_after ? r->new_not_after
                                      : mc_ren_new_not_after(r->old_not_after, r->years)),
        "rekey", strcmp(r->rekey, "1") == 0, "refund_at", (json_int_t)r->refund_at, "by",
        r->by, "now", (json_int_t)p->now);
}

/* The renewal with its order (the order as §9.6.2 shows it). */
static json_t *ren_full_json(mc_node *node, const mc_ren_pair *p)
{
    json_t *j = ren_json(p);
    json_object_set_new(j, "order_detail", mc_api_order_json(node, &p->o));
    return j;
}

static json_t *cert_json(const mc_cert_rec *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "fp",
                     c->fp, "serial", c->serial, "lock_id", c->serial, "provider", "mcert",
                     "provider_name", PROVIDER_NAME, "cn", c->cn, "org_name", c->org_name, "uscc",
                     c->uscc, "account", c->account, "account_name", c->cn, "not_before",
                     (json_int_t)c->not_before, "not_after", (json_int_t)c->not_after,
                     "status", c->status);
}

static int64_t grace_seconds(const mc_req *r)
{
    return (int64_t)r->node->cfg->renew_grace_days * 86400;
}

/* The renewal's owner as the application rules see it. */
static mc_app_owner ren_owner(const mc_renewal *ren)
{
    return (mc_app_owner){ren->account, ren->uscc};
}

/* Reading a renewal (§10.2) is for the holder when it was made (its
 * `account`), the holder now, the organisation's admins and operators.
 * The holder now is the account whose certificate is the one renewed, or
 * the one the extension issued (a binding may move after the renewal was
 * made; bindings are one certificate per account, so the caller's own
 * `cert`, read with its token, says so without reading the certificate). */
static int ren_may_read(const mc_req *r, const mc_ren_pair *p)
{
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_app_owner ow = ren_owner(&p->r);
    const char *mine = r->who.acc.cert;
    int holds = mine[0] != '\0' && (strcmp(mine, p->r.fp) == 0 || strcmp(mine, p->r.new_fp) == 0);
    return mc_policy_app_may_read(&me, &ow) || holds;
}

/* ---- GET /api/v1/renewals/candidates ---- */

typedef struct cand_ctx {
    mc_org_list list;             /* bound=1, admin: the organisation's accounts */
    mc_cert_rec one;              /* bound=1 staff: its own; bound=0: by serial */
    char fp[65];
    char serial[41];
    int bound;
    /* the certificates shown, then whether each has an open renewal */
    mc_cert_rec *certs[MC_REN_LIST_MAX];
    char fps[MC_REN_LIST_MAX][65];
    mc_ren_opens opens;
} cand_ctx;

static void cand_ctx_free(void *p)
{
    cand_ctx *x = p;
    mc_org_list_free(&x->list);
    free(x);
}

static void cand_on_opens(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    cand_ctx *x = r->hctx;
    json_t *list = json_array();
    for (size_t i = 0; i < x->opens.n; i++)
        if (!x->opens.open[i])
            json_array_append_new(list, cert_json(x->certs[i]));
    mc_reply_json(r, 200, json_pack("{s:o}", "certs", list));
}

/* Keep c when it is renewable now (valid, within the grace, of the
 * caller's organisation, bound or unbound as asked). */
static void cand_add(mc_req *r, cand_ctx *x, mc_cert_rec *c)
{
    int http;
    if (c->fp[0] == '\0' || x->opens.n >= MC_REN_LIST_MAX)
        return;
    if (mc_ren_cert_refusal(c->status, c->not_after, r->now, grace_seconds(r), &http) != NULL)
        return;
    if (strcmp(c->uscc, r->who.acc.org) != 0 || (c->account[0] != '\0') != x->bound)
        return;
    x->certs[x->opens.n] = c;
    memcpy(x->fps[x->opens.n], c->fp, 65);
    x->opens.n++;
}

static void cand_filter(mc_req *r)
{
    cand_ctx *x = r->hctx;
    if (x->opens.n == 0) {
        mc_reply_json(r, 200, json_pack("{s:[]}", "certs"));
        return;
    }
    x->opens.fp = (const char (*)[65])x->fps;
    mc_store_renew_opens(r->node->store, &x->opens, cand_on_opens, r);
}

static void cand_on_org(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    cand_ctx *x = r->hctx;
    for (size_t i = 0; i < x->list.n; i++)
        cand_add(r, x, &x->list.certs[i]);
    cand_filter(r);
}

static void cand_on_one(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    cand_ctx *x = r->hctx;
    cand_add(r, x, &x->one);
    cand_filter(r);
}

static void cand_on_serial(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    cand_ctx *x = r->hctx;
    if (x->fp[0] == '\0') {
        mc_reply_json(r, 200, json_pack("{s:[]}", "certs"));
        return;
    }
    mc_store_cert_get(r->node->store, x->fp, &x->one, cand_on_one, r);
}

void mc_api_renew_candidates(mc_req *r)
{
    const char *bound = evhttp_find_header(&r->query, "bound");
    const char *serial = evhttp_find_header(&r->query, "serial");
    mc_principal me = mc_api_principal(&r->who.acc);
    if (bound == NULL || (strcmp(bound, "1") != 0 && strcmp(bound, "0") != 0)) {
        mc_reply_errf(r, 400, "bad_query", "bound must be 1 or 0");
        return;
    }
    cand_ctx *x = mc_req_ctx(r, sizeof(*x), cand_ctx_free);
    if (x == NULL)
        return;
    x->bound = bound[0] == '1';
    /* the query first, whoever asks (bad input is 400 for everyone) */
    if (!x->bound && (serial == NULL || mc_serial_norm(serial, strlen(serial), x->serial) != 0)) {
        mc_reply_errf(r, 400, "bad_query",
                      "serial is the certificate's serial number (证书序列号) in hex");
        return;
    }
    if (x->bound && serial != NULL) {
        mc_reply_errf(r, 400, "bad_query", "serial is for bound=0");
        return;
    }
    if (mc_policy_is_operator(&me)) {
        mc_reply_json(r, 200, json_pack("{s:[]}", "certs")); /* operators renew nothing */
        return;
    }
    if (!x->bound) {
        if (!mc_policy_may_list_org(&me)) {
            mc_reply_json(r, 200, json_pack("{s:[]}", "certs")); /* unbound: admins only */
            return;
        }
        mc_store_serial_fp(r->node->store, x->serial, x->fp, cand_on_serial, r);
        return;
    }
    if (mc_policy_may_list_org(&me)) {
        mc_store_org_list(r->node->store, r->who.acc.org, &x->list, cand_on_org, r);
        return;
    }
    if (r->who.acc.cert[0] == '\0') {
        mc_reply_json(r, 200, json_pack("{s:[]}", "certs"));
        return;
    }
    mc_store_cert_get(r->node->store, r->who.acc.cert, &x->one, cand_on_one, r);
}

/* ---- POST /api/v1/renewals ---- */

typedef struct create_ctx {
    char fp[65];
    char serial[41];
    int64_t years;
    mc_ren_cert rc;
    char rid[MC_REN_ID_LEN + 1];
    mc_ren_pair out;
    int tries;                    /* reads again after `stale` */
} create_ctx;

static void create_on_fp(void *privdata, const mc_err *err);
static void create_on_cert(void *privdata, const mc_err *err);
static void create_on_stored(void *privdata, const mc_err *err);

void mc_api_renew_create(mc_req *r)
{
    static const char *const allowed[] = {"fp", "serial", "years", NULL};
    mc_err err;
    mc_err_clear(&err);
    const char *fp = NULL, *serial = NULL;
    size_t fplen = 0, slen = 0;
    if (mc_json_only(r->json, allowed, &err) != 0 ||
        mc_json_str(r->json, "fp", 64, 0, &fp, &fplen, &err) != 0 ||
        mc_json_str(r->json, "serial", 40, 0, &serial, &slen, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    json_t *y = json_object_get(r->json, "years");
    if (y == NULL || !json_is_integer(y) || json_integer_value(y) < 1 ||
        json_integer_value(y) > MC_REN_YEARS_MAX) {
        mc_reply_errf(r, 400, "bad_field", "years must be an integer 1..%d", MC_REN_YEARS_MAX);
        return;
    }
    if ((fp == NULL) == (serial == NULL)) {
        mc_reply_errf(r, 400, "bad_field", "give exactly one of fp and serial");
        return;
    }
    create_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    x->years = json_integer_value(y);
    if (fp != NULL) {
        uint8_t raw[32];
        if (fplen != 64 || mc_unhex(fp, 64, raw, 32) != 0) {
            mc_reply_errf(r, 400, "bad_field", "fp must be 64 hex digits");
            return;
        }
        mc_hex(raw, 32, x->fp);
        mc_store_renew_cert(r->node->store, x->fp, &x->rc, create_on_cert, r);
        return;
    }
    if (mc_serial_norm(serial, slen, x->serial) != 0) {
        mc_reply_errf(r, 400, "bad_field", "serial must be the certificate's serial in hex");
        return;
    }
    mc_store_serial_fp(r->node->store, x->serial, x->fp, create_on_fp, r);
}

static void create_on_fp(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    create_ctx *x = r->hctx;
    if (x->fp[0] == '\0') {
        mc_reply_errf(r, 404, "not_found", "no certificate with that serial");
        return;
    }
    mc_store_renew_cert(r->node->store, x->fp, &x->rc, create_on_cert, r);
}

static void create_on_cert(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    create_ctx *x = r->hctx;
    const mc_cert_rec *c = &x->rc.c;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_app_owner ow = {c->account, c->uscc};
    int ours = c->fp[0] != '\0' &&
               (mc_policy_is_operator(&me) || strcmp(c->uscc, r->who.acc.org) == 0);
    if (!ours) {
        mc_reply_errf(r, 404, "not_found", "no such certificate");
        return;
    }
    int http;
    const char *no = mc_ren_cert_refusal(c->status, c->not_after, r->now, grace_seconds(r),
                                         &http);
    if (no != NULL && strcmp(c->status, "valid") != 0) {
        /* revoked or superseded: bound to nobody, so no holder reads it;
         * its organisation is told why it cannot be renewed (§10.2) */
        mc_reply_errf(r, http, no, "this certificate cannot be renewed (%s)", c->status);
        return;
    }
    if (!mc_policy_app_may_read(&me, &ow)) {
        mc_reply_errf(r, 404, "not_found", "no such certificate");
        return;
    }
    if (!mc_policy_app_may_act(&me, &ow)) {
        mc_reply_errf(r, 403, "not_permitted",
                      "only the certificate's holder or an admin of its organisation renews it");
        return;
    }
    if (no != NULL) {
        mc_reply_errf(r, http, no, "this certificate cannot be renewed (%s)", c->status);
        return;
    }
    mc_ren_id_new(r->now, x->rid);
    mc_ren_new in = {
        .rc = &x->rc, .rid = x->rid, .years = x->years, .fee = mc_ren_fee(x->years),
        .provider = "sandbox", .ttl = MC_PAY_ORDER_TTL, .grace = grace_seconds(r),
    };
    mc_actor a = {r->who.acc.login, r->ip};
    mc_store_renew_create(r->node->store, &in, &a, &x->out, create_on_stored, r);
}

static void create_on_stored(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    create_ctx *x = r->hctx;
    if (err->status != 0 && err->code && strcmp(err->code, "stale") == 0 && x->tries++ < 2) {
        mc_store_renew_cert(r->node->store, x->fp, &x->rc, create_on_cert, r);
        return;
    }
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    mc_reply_json(r, x->out.created_now ? 201 : 200,
                  json_pack("{s:o, s:o}", "renewal", ren_json(&x->out), "order",
                            mc_api_order_json(r->node, &x->out.o)));
}

/* ---- GET /api/v1/renewals ---- */

typedef struct list_ctx {
    mc_ren_list list;
} list_ctx;

static void list_ctx_free(void *p)
{
    list_ctx *x = p;
    mc_ren_list_free(&x->list);
    free(x);
}

/* 1 if p passes the page's filters: provider, CA锁ID (a prefix of the
 * serial, either case), state. */
static int list_match(mc_req *r, const mc_ren_pair *p)
{
    const char *prov = evhttp_find_header(&r->query, "provider");
    const char *lock = evhttp_find_header(&r->query, "lock");
    const char *state = evhttp_find_header(&r->query, "state");
    if (prov != NULL && prov[0] != '\0' && strcmp(prov, "mcert") != 0)
        return 0;
    if (lock != NULL && strncasecmp(p->r.serial, lock, strlen(lock)) != 0)
        return 0;
    if (state != NULL && state[0] != '\0' &&
        strcmp(state, mc_ren_state_now(p->r.state, p->r.expires, p->now)) != 0)
        return 0;
    return 1;
}

static void list_on_rows(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *x = r->hctx;
    json_t *list = json_array();
    for (size_t i = 0; i < x->list.n; i++) {
        const mc_ren_pair *p = &x->list.p[i];
        if (p->r.id[0] != '\0' && ren_may_read(r, p) && list_match(r, p))
            json_array_append_new(list, ren_json(p));
    }
    mc_reply_json(r, 200, json_pack("{s:o, s:I}", "renewals", list, "now",
                                    (json_int_t)x->list.now));
}

void mc_api_renew_list(mc_req *r)
{
    const char *lock = evhttp_find_header(&r->query, "lock");
    if (lock != NULL && strlen(lock) > 40) {
        mc_reply_errf(r, 400, "bad_query", "lock is at most 40 characters");
        return;
    }
    list_ctx *x = mc_req_ctx(r, sizeof(*x), list_ctx_free);
    if (x == NULL)
        return;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_store_renew_list(r->node->store, mc_policy_is_operator(&me) ? NULL : r->who.acc.org,
                        &x->list, list_on_rows, r);
}

/* ---- GET /api/v1/renewals/:id and the steps that start with it ---- */

/* The renewal named by the path, read, and readable by the caller; else
 * answered 404. */
static int param_rid(mc_req *r)
{
    if (!mc_ren_id_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such renewal");
        return -1;
    }
    return 0;
}

static int readable(mc_req *r, const mc_ren_pair *p)
{
    if (strcmp(p->r.id, r->param) != 0 || !ren_may_read(r, p)) {
        mc_reply_errf(r, 404, "not_found", "no such renewal");
        return 0;
    }
    return 1;
}

/* Acting on a renewal (refund, extension) is for its certificate's holder
 * NOW (c: the record as read; a binding may have moved since the renewal
 * was made) and the organisation's admins; whoever may read it otherwise
 * (the holder when it was made, an operator) is told 403; anyone else 404. */
static int may_act_now(mc_req *r, const mc_ren_pair *p, const mc_cert_rec *c)
{
    mc_principal me = mc_api_principal(&r->who.acc);
    /* a certificate no longer valid (superseded by this very renewal, or
     * revoked) is bound to nobody: its holder is the one the renewal
     * names, and the state (409) or the answer (403 cert_revoked) refuses */
    const char *holder = strcmp(c->status, "valid") == 0 ? c->account : p->r.account;
    mc_app_owner now = {holder, p->r.uscc};
    mc_app_owner then = ren_owner(&p->r);
    if (strcmp(p->r.id, r->param) != 0 ||
        (!mc_policy_app_may_read(&me, &then) && !mc_policy_app_may_read(&me, &now))) {
        mc_reply_errf(r, 404, "not_found", "no such renewal");
        return 0;
    }
    if (!mc_policy_app_may_act(&me, &now)) {
        mc_reply_errf(r, 403, "not_permitted",
                      "only the certificate's holder or an admin of its organisation acts on it");
        return 0;
    }
    return 1;
}

static void get_on_ren(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_ren_pair *p = r->hctx;
    if (!readable(r, p))
        return;
    mc_reply_json(r, 200, ren_full_json(r->node, p));
}

void mc_api_renew_get(mc_req *r)
{
    if (param_rid(r) != 0)
        return;
    mc_ren_pair *p = mc_req_ctx(r, sizeof(*p), NULL);
    if (p == NULL)
        return;
    mc_store_renew_get(r->node->store, r->param, p, get_on_ren, r);
}

/* ---- POST /api/v1/renewals/:id/refund ---- */

typedef struct refund_ctx {
    mc_ren_pair p, out;
    mc_cert_rec cert;
} refund_ctx;

static void refund_on_ren(void *privdata, const mc_err *err);
static void refund_on_cert(void *privdata, const mc_err *err);
static void refund_on_done(void *privdata, const mc_err *err);

void mc_api_renew_refund(mc_req *r)
{
    if (param_rid(r) != 0)
        return;
    refund_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    mc_store_renew_get(r->node->store, r->param, &x->p, refund_on_ren, r);
}

static void refund_on_ren(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    refund_ctx *x = r->hctx;
    mc_store_cert_get(r->node->store, x->p.r.fp, &x->cert, refund_on_cert, r);
}

static void refund_on_cert(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    refund_ctx *x = r->hctx;
    if (!may_act_now(r, &x->p, &x->cert))
        return;
    if (strcmp(x->p.r.state, "pending_extension") != 0) {
        mc_reply_errf(r, 409, "bad_transition",
                      "the renewal is %s: only a paid one not yet extended is refunded",
                      mc_ren_state_now(x->p.r.state, x->p.r.expires, x->p.now));
        return;
    }
    /* re-checked by renew_refund: the holder this caller was judged to be
     * (the binding may move before the atomic step), or "*" when it acts
     * as whoever holds it (an admin of the organisation) */
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_app_owner anyone = {"", x->p.r.uscc};
    const char *holder = mc_policy_app_may_act(&me, &anyone) ? "*" : r->who.acc.login;
    mc_actor a = {r->who.acc.login, r->ip};
    mc_store_renew_refund(r->node->store, &x->p.r, holder, &a, &x->out, refund_on_done, r);
}

static void refund_on_done(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    refund_ctx *x = r->hctx;
    mc_actor a = {r->who.acc.login, r->ip};
    mc_pay_refund(r->node, x->out.r.order, &a); /* the sweep asks again if this fails */
    mc_reply_json(r, 200, ren_full_json(r->node, &x->out));
}

/* ---- POST /api/v1/renewals/:id/renew-session ---- */

typedef struct rsess_ctx {
    mc_ren_pair p;
    mc_cert_rec cert;
    mc_session s;
    uint8_t poll_hash[32];
    char poll[MC_TOKEN_SECRET_LEN + 1];
    int want_svg, want_png, want_text;
    mc_open_result opened;
} rsess_ctx;

static void rsess_ctx_free(void *p)
{
    OPENSSL_cleanse(p, sizeof(rsess_ctx));
    free(p);
}

static void rsess_on_ren(void *privdata, const mc_err *err);
static void rsess_on_cert(void *privdata, const mc_err *err);
static void rsess_on_stored(void *privdata, const mc_err *err);

void mc_api_renew_session(mc_req *r)
{
    if (param_rid(r) != 0)
        return;
    rsess_ctx *x = mc_req_ctx(r, sizeof(*x), rsess_ctx_free);
    if (x == NULL)
        return;
    if (mc_api_qr_wanted(r, &x->want_svg, &x->want_png, &x->want_text) != 0)
        return;
    mc_store_renew_get(r->node->store, r->param, &x->p, rsess_on_ren, r);
}

static void rsess_on_ren(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    rsess_ctx *x = r->hctx;
    mc_store_cert_get(r->node->store, x->p.r.fp, &x->cert, rsess_on_cert, r);
}

static void rsess_on_cert(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    rsess_ctx *x = r->hctx;
    const mc_renewal *ren = &x->p.r;
    if (!may_act_now(r, &x->p, &x->cert))
        return;
    if (strcmp(ren->state, "pending_extension") != 0) {
        mc_reply_errf(r, 409, "bad_transition",
                      "the renewal is %s: only a paid one (pending_extension) is extended",
                      mc_ren_state_now(ren->state, ren->expires, x->p.now));
        return;
    }
    mc_session *s = &x->s;
    mc_api_session_new(r, s, MC_PURPOSE_RENEW, MC_REN_SESSION_TTL);
    /* what the phone shows and signs: the account the new certificate
     * will be bound to, the holder now ("" if unbound); renew_commit
     * refuses if the binding moves before the answer */
    snprintf(s->account, sizeof(s->account), "%s", x->cert.account);
    snprintf(s->requester, sizeof(s->requester), "%s", r->who.acc.login);
    mc_secret_new(x->poll);
    mc_sha256(x->poll, MC_TOKEN_SECRET_LEN, x->poll_hash);
    /* the inbox entry (§8.4): no documents; the text says what is bought */
    mc_inbox_entry e = {.match = s->match, .documents = 0};
    time_t na = (time_t)(mc_ren_new_not_after(ren->old_not_after, ren->years) + 8 * 3600);
    struct tm tm;
    gmtime_r(&na, &tm);
    snprintf(e.requester_name, sizeof(e.requester_name), "%s", r->who.acc.name);
    snprintf(e.text, sizeof(e.text), "证书延期 %lld年 至 %04d-%02d-%02d", (long long)ren->years,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    mc_buf entry = {0};
    mc_inbox_entry_pack(&e, &entry);
    const mc_config *cfg = r->node->cfg;
    mc_open_limits lim = {cfg->limit_opens, cfg->limit_pending};
    mc_store_renew_open(r->node->store, s, x->poll_hash, MC_REN_SESSION_TTL, &lim, ren,
                        r->who.acc.name, (const char *)entry.ptr, entry.len, &x->opened,
                        rsess_on_stored, r);
    mc_buf_free(&entry);
}

static void rsess_on_stored(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    rsess_ctx *x = r->hctx;
    json_t *qr;
    if (mc_api_session_opened(r, &x->s, &x->opened, x->want_svg, x->want_png, x->want_text,
                              &qr) != 0)
        return;
    mc_reply_json(r, 201,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:o}", "sid", x->s.sid,
                            "purpose", "renew", "renewal", x->p.r.id, "account", x->s.account,
                            "poll_secret", x->poll, "match", (int)x->s.match, "expires",
                            (json_int_t)x->s.expires, "ttl", (int)(x->s.expires - x->s.created),
                            "qr", qr));
}
