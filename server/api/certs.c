/*
 * api/certs.c — the key history on the server (PROTOCOL.md §10.8):
 *
 *   GET /api/v1/certs/<serial>             one certificate record, current
 *                                          or past, with its DER
 *   GET /api/v1/bindings/<account>/certs   an account's certificates, the
 *                                          current one first, then each one
 *                                          it renewed (at most 64)
 *
 * Why: a renewal with a new key (rekey) leaves documents encrypted to, and
 * signatures made with, the old certificate; the holder, its organisation
 * and the platform find that certificate (and from it the old key on the
 * phone) by its serial, as a SignedData's or EnvelopedData's
 * IssuerAndSerialNumber names it, or by walking the account's renewals.
 *
 * Who may read: mc_policy_cert_may_read / _cert_key_may_read /
 * _history_may_read. A caller that may not read a record gets the same
 * 404 not_found as for a serial that names none, so the endpoint does not
 * tell who holds which serial.
 *
 * Cost: by serial, two round trips (the serial index, the record); the
 * holder of a replaced certificate is found by walking its `next` links,
 * one round trip per renewal, and only for a caller that is neither an
 * operator nor an admin of its organisation. A history is one round trip
 * per certificate (mc_store_cert.h).
 *
 * Non-goals: searching by anything else; the DER in the history list (one
 * GET by serial has it).
 */
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_crl.h"
#include "mc_crypto.h"
#include "mc_policy.h"
#include "mc_store_cert.h"
#include "mc_store_sign.h"

/* The §10.8 fields of a record; with its DER (base64) when der != NULL. */
static json_t *cert_json(const mc_cert_hist *h, const mc_buf *der)
{
    const mc_cert_rec *c = &h->c;
    const char *reason = "";
    if (strcmp(c->status, "revoked") == 0)
        reason = mc_reason_name(h->l.reason[0] ? atoi(h->l.reason) : MC_REASON_UNSPECIFIED);
    else if (strcmp(c->status, "superseded") == 0)
        reason = mc_reason_name(4); /* superseded: its CRL entry's reason, §9.8 */
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s,"
                          " s:I, s:s, s:I, s:s}",
                          "fp", c->fp, "serial", c->serial, "status", c->status, "cn", c->cn,
                          "org_name", c->org_name, "uscc", c->uscc, "issuer", c->issuer,
                          "not_before", (json_int_t)c->not_before, "not_after",
                          (json_int_t)c->not_after, "account", c->account, "prev", h->l.prev,
                          "next", h->l.next, "renewal", h->l.renewal, "superseded_at",
                          (json_int_t)c->superseded_at, "superseded_by", h->l.superseded_by,
                          "revoked_at", (json_int_t)c->revoked_at, "reason",
                          reason != NULL ? reason : "");
    if (o != NULL && der != NULL) {
        char *b64 = mc_base64(der->ptr, der->len);
        json_object_set_new(o, "der", json_string(b64));
        free(b64);
    }
    return o;
}

/* ---- GET /api/v1/certs/<serial> ---- */

typedef struct one_ctx {
    mc_cert_hist h;
    mc_cert_walk w;               /* the holder of a replaced certificate */
} one_ctx;

static void one_free(void *p)
{
    one_ctx *x = p;
    mc_cert_hist_free(&x->h);
    mc_cert_walk_free(&x->w);
    free(x);
}

static void one_on_record(void *privdata, const mc_err *err);
static void one_on_successors(void *privdata, const mc_err *err);

static void one_not_found(mc_req *r)
{
    mc_reply_errf(r, 404, "not_found", "no such certificate");
}

void mc_api_cert_get(mc_req *r)
{
    char serial[41];
    if (r->via_key && !mc_apikey_has_scope(r->key.key.scopes, "verify")) {
        mc_reply_errf(r, 403, "not_permitted", "this API key may not read certificates");
        return;
    }
    if (mc_serial_norm(r->param, strlen(r->param), serial) != 0) {
        mc_reply_errf(r, 400, "bad_query",
                      "the serial is 2..40 hex digits (whole octets, either case)");
        return;
    }
    one_ctx *x = mc_req_ctx(r, sizeof(*x), one_free);
    if (x == NULL)
        return;
    mc_store_cert_by_serial(r->node->store, serial, 1, &x->h, one_on_record, r);
}

static void one_on_record(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    one_ctx *x = r->hctx;
    const mc_cert_rec *c = &x->h.c;
    if (c->fp[0] == '\0') {
        one_not_found(r);
        return;
    }
    if (r->via_key) {
        if (!mc_policy_cert_key_may_read(r->key.key.org, 1, c->uscc))
            one_not_found(r);
        else
            mc_reply_json(r, 200, cert_json(&x->h, &x->h.der));
        return;
    }
    mc_principal me = mc_api_principal(&r->who.acc);
    if (mc_policy_cert_may_read(&me, c->uscc, c->account)) {
        mc_reply_json(r, 200, cert_json(&x->h, &x->h.der));
        return;
    }
    /* bound to nobody since a renewal replaced it: its holder is the
     * newest successor's */
    if (c->account[0] != '\0' || x->h.l.next[0] == '\0') {
        one_not_found(r);
        return;
    }
    mc_store_cert_walk(r->node->store, x->h.l.next, MC_CERT_NEXT, MC_CERT_WALK_MAX, &x->w,
                       one_on_successors, r);
}

static void one_on_successors(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    one_ctx *x = r->hctx;
    mc_principal me = mc_api_principal(&r->who.acc);
    const char *holder = x->w.n > 0 ? x->w.v[x->w.n - 1].c.account : "";
    /* the successors name the same subject (renewal copies it): the same
     * organisation */
    if (x->w.n == 0 || !mc_policy_cert_may_read(&me, x->h.c.uscc, holder)) {
        one_not_found(r);
        return;
    }
    mc_reply_json(r, 200, cert_json(&x->h, &x->h.der));
}

/* ---- GET /api/v1/bindings/<account>/certs ---- */

typedef struct hist_ctx {
    mc_account target;
    mc_cert_walk w;
} hist_ctx;

static void hist_free(void *p)
{
    hist_ctx *x = p;
    mc_cert_walk_free(&x->w);
    OPENSSL_cleanse(&x->target, sizeof(x->target)); /* its password hash */
    free(x);
}

static void hist_on_account(void *privdata, const mc_err *err);
static void hist_on_chain(void *privdata, const mc_err *err);

void mc_api_cert_history(mc_req *r)
{
    if (!mc_account_name_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such account");
        return;
    }
    hist_ctx *x = mc_req_ctx(r, sizeof(*x), hist_free);
    if (x == NULL)
        return;
    mc_store_account_get(r->node->store, r->param, &x->target, hist_on_account, r);
}

static void hist_on_account(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    hist_ctx *x = r->hctx;
    if (err->status == 404) {
        mc_reply_errf(r, 404, "not_found", "no such account");
        return;
    }
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_principal them = mc_api_principal(&x->target);
    if (!mc_policy_history_may_read(&me, &them)) {
        mc_reply_errf(r, 404, "not_found", "no such account");
        return;
    }
    mc_store_cert_walk(r->node->store, x->target.cert, MC_CERT_PREV, MC_CERT_WALK_MAX, &x->w,
                       hist_on_chain, r);
}

static void hist_on_chain(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    hist_ctx *x = r->hctx;
    json_t *list = json_array();
    for (size_t i = 0; i < x->w.n; i++)
        json_array_append_new(list, cert_json(&x->w.v[i], NULL));
    mc_reply_json(r, 200, json_pack("{s:s, s:o}", "account", x->target.login, "certs", list));
}
