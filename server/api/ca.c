/*
 * api/ca.c — revocation and what the CA publishes about it (PROTOCOL.md
 * §9.8):
 *
 *   POST /api/v1/certs/<fp>/revoke   revoke with an RFC 5280 reason (token)
 *   GET  /ca/crl                     the CA's CRL (DER)
 *   POST /ca/ocsp                    the OCSP responder (RFC 6960)
 *
 * Rules kept here: the holder revokes its own bound certificate, an admin
 * any certificate of its organisation, an operator any
 * (mc_policy_may_revoke); the reason is one of mc_reason_allowed. The
 * revocation is one Redis Function (lua/ca.lua revoke): the record, the
 * unbinding (its web sessions end), the CRL entry and the CRL's version in
 * one step, so every node refuses the certificate at once and the CRL and
 * OCSP served after the reply show it.
 *
 * Freshness: an OCSP answer reads the live records (one call for all the
 * request's serials) and is signed per request. The CRL is cached per
 * event loop under its version: each GET costs one small read (crlver);
 * the CRL is rebuilt (one read of every entry, one signature) only when
 * the version moved or the cached one is an hour old (so that its
 * nextUpdate, 24 h out, never comes near). A CRL served is therefore never
 * behind a revocation that was answered before the GET was read.
 * Both sign on the worker pool, never on the event loop: an OCSP
 * answer's signature (about 20 us for the P-256 CA, 300 us for an SM2 one)
 * is asked for by anyone, and a CRL's build grows with its entries (every
 * revocation and every renewal's superseded certificate). A full pool is
 * OCSP's tryLater and the CRL's 503 busy.
 *
 * Non-goals: OCSP over GET, signed OCSP requests (ignored, not checked),
 * delegated responders, delta CRLs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_workers.h"
#include "mc_crl.h"
#include "mc_crypto.h"
#include "mc_store_ca.h"
#include "mc_store_cert.h"

#define CRL_REBUILD_AFTER 3600    /* seconds: rebuild an unchanged CRL this often */
#define REVOKE_TRIES 3            /* reads of a record whose binding keeps moving */

/* ---- the per-loop CRL cache ---- */

typedef struct mc_ca_state {
    int have;
    int64_t ver;                  /* the cRLNumber of der */
    int64_t built;                /* its thisUpdate (Redis's clock) */
    mc_buf der;
} mc_ca_state;

mc_ca_state *mc_api_ca_new(void)
{
    return calloc(1, sizeof(mc_ca_state));
}

void mc_api_ca_free(mc_ca_state *s)
{
    if (s == NULL)
        return;
    mc_buf_free(&s->der);
    free(s);
}

/* ---- POST /api/v1/certs/<fp>/revoke ---- */

typedef struct revoke_ctx {
    char fp[65];
    int reason;
    int tries;
    mc_cert_rec rec;
    mc_revoked done;
    mc_cert_walk walk;            /* a superseded one: to its newest successor */
    char holder[MC_ACCOUNT_MAX + 1];
} revoke_ctx;

static void revoke_ctx_free(void *p)
{
    revoke_ctx *x = p;
    mc_cert_walk_free(&x->walk);
    free(x);
}

static void revoke_read(mc_req *r);
static void revoke_on_record(void *privdata, const mc_err *err);
static void revoke_on_walk(void *privdata, const mc_err *err);
static void revoke_judge(mc_req *r);
static void revoke_on_done(void *privdata, const mc_err *err);

/* The body's reason: absent (unspecified), a number or a name. -1 if it
 * is none of the reasons that may be given. */
static int reason_of(json_t *v)
{
    if (v == NULL)
        return MC_REASON_UNSPECIFIED;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        return n >= 0 && n <= 10 && mc_reason_allowed((int)n) ? (int)n : -1;
    }
    if (json_is_string(v))
        return mc_reason_parse(json_string_value(v), json_string_length(v));
    return -1;
}

void mc_api_cert_revoke(mc_req *r)
{
    static const char *const allowed[] = {"reason", NULL};
    mc_err err;
    mc_err_clear(&err);
    uint8_t raw[32];
    if (mc_unhex(r->param, strlen(r->param), raw, sizeof(raw)) != 0) {
        mc_reply_errf(r, 404, "not_found", "no such certificate");
        return;
    }
    if (mc_json_only(r->json, allowed, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    int reason = reason_of(json_object_get(r->json, "reason"));
    if (reason < 0) {
        mc_reply_errf(r, 400, "bad_reason",
                      "reason is unspecified (0), keyCompromise (1), affiliationChanged (3), "
                      "superseded (4), cessationOfOperation (5) or privilegeWithdrawn (9)");
        return;
    }
    revoke_ctx *x = mc_req_ctx(r, sizeof(*x), revoke_ctx_free);
    if (x == NULL)
        return;
    mc_hex(raw, sizeof(raw), x->fp);
    x->reason = reason;
    revoke_read(r);
}

static void revoke_read(mc_req *r)
{
    revoke_ctx *x = r->hctx;
    mc_store_cert_get(r->node->store, x->fp, &x->rec, revoke_on_record, r);
}

static void revoke_on_record(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    revoke_ctx *x = r->hctx;
    if (x->rec.fp[0] == '\0') {
        mc_reply_errf(r, 404, "not_found", "no such certificate");
        return;
    }
    /* first: a revoked certificate is bound to nobody any more, and its
     * state is public (the CRL, OCSP) */
    if (strcmp(x->rec.status, "revoked") == 0) {
        mc_reply_errf(r, 409, "cert_revoked", "the certificate is already revoked");
        return;
    }
    snprintf(x->holder, sizeof(x->holder), "%s", x->rec.account);
    if (strcmp(x->rec.status, "superseded") == 0 && x->rec.account[0] == '\0') {
        /* a renewal replaced it and took its binding: its holder is its
         * newest successor's (§9.8, as for reading it, §10.8) */
        mc_cert_walk_free(&x->walk);
        memset(&x->walk, 0, sizeof(x->walk));
        mc_store_cert_walk(r->node->store, x->fp, MC_CERT_NEXT, MC_CERT_WALK_MAX, &x->walk,
                           revoke_on_walk, r);
        return;
    }
    revoke_judge(r);
}

static void revoke_on_walk(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    revoke_ctx *x = r->hctx;
    if (x->walk.n > 0)
        snprintf(x->holder, sizeof(x->holder), "%s", x->walk.v[x->walk.n - 1].c.account);
    revoke_judge(r);
}

/* Who may, now that the holder is known, then the revocation itself. */
static void revoke_judge(mc_req *r)
{
    revoke_ctx *x = r->hctx;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_revoke_facts f = {x->rec.uscc, x->holder, x->reason};
    int status = 0;
    const char *refused = mc_policy_may_revoke(&me, &f, &status);
    if (refused != NULL) {
        mc_reply_errf(r, status, refused,
                      x->reason == MC_REASON_PRIVILEGE_WITHDRAWN
                          ? "privilegeWithdrawn is the CA operator's to give"
                          : "only the holder, its organisation's admin or a CA operator "
                            "revokes this certificate");
        return;
    }
    mc_actor actor = {r->who.acc.login, r->ip};
    mc_store_ca_revoke(r->node->store, x->fp, x->rec.account, x->reason, &actor, &x->done,
                       revoke_on_done, r);
}

static void revoke_on_done(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    revoke_ctx *x = r->hctx;
    if (err->status != 0 && strcmp(err->code, "stale") == 0 && ++x->tries < REVOKE_TRIES) {
        revoke_read(r); /* bound or unbound meanwhile: judge the new binding */
        return;
    }
    if (err->status != 0 && strcmp(err->code, "cert_revoked") == 0) {
        mc_reply_errf(r, 409, "cert_revoked", "the certificate is already revoked");
        return;
    }
    if (err->status != 0 && strcmp(err->code, "stale") == 0) {
        mc_reply_errf(r, 503, "store_unavailable", "the binding keeps changing; try again");
        return;
    }
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    mc_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I}", "fp", x->fp, "serial",
                            x->rec.serial, "status", "revoked", "reason",
                            mc_reason_name(x->reason), "reason_code", x->reason, "account",
                            x->rec.account, "revoked_at", (json_int_t)x->done.revoked_at,
                            "crl_number", (json_int_t)x->done.crlver));
}

/* ---- GET /ca/crl ---- */

typedef struct crl_ctx {
    int64_t ver;
    mc_crl_state cs;
    mc_buf der;                   /* worker: the CRL built */
    mc_err werr;                  /* worker: why it could not be */
} crl_ctx;

static void crl_ctx_free(void *p)
{
    crl_ctx *x = p;
    mc_crl_state_free(&x->cs);
    mc_buf_free(&x->der);
    free(x);
}

static void crl_on_ver(void *privdata, const mc_err *err);
static void crl_on_read(void *privdata, const mc_err *err);

static void crl_reply(mc_req *r, const mc_buf *der)
{
    mc_reply_body(r, 200, "application/pkix-crl", der->ptr, der->len, NULL);
}

void mc_api_ca_crl(mc_req *r)
{
    if (r->node->ca == NULL) {
        mc_reply_errf(r, 404, "no_ca", "this server runs no CA");
        return;
    }
    crl_ctx *x = mc_req_ctx(r, sizeof(*x), crl_ctx_free);
    if (x == NULL)
        return;
    mc_store_crl_ver(r->node->store, &x->ver, crl_on_ver, r);
}

static void crl_on_ver(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    crl_ctx *x = r->hctx;
    const mc_ca_state *c = r->node->ca_state;
    if (c->have && c->ver == x->ver && r->now - c->built < CRL_REBUILD_AFTER) {
        crl_reply(r, &c->der);
        return;
    }
    mc_store_crl_read(r->node->store, &x->cs, crl_on_read, r);
}

/* On a worker thread: O(N) in the revoked (and superseded) serials, one
 * signature; touches only the crl_ctx and the CA's read-only key. */
static void crl_build(void *arg)
{
    mc_req *r = arg;
    crl_ctx *x = r->hctx;
    mc_err_clear(&x->werr);
    if (mc_crl_build(r->node->ca, x->cs.ver, x->cs.now, x->cs.e, x->cs.n, &x->der, &x->werr) !=
        0)
        mc_buf_free(&x->der);
}

static void crl_on_built(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    crl_ctx *x = r->hctx;
    mc_ca_state *c = r->node->ca_state;
    if (x->werr.status != 0) {
        mc_reply_err(r, &x->werr);
        return;
    }
    /* another request of this loop may have built a newer one meanwhile */
    if (!c->have || x->cs.ver > c->ver || (x->cs.ver == c->ver && x->cs.now >= c->built)) {
        mc_buf_free(&c->der);
        c->der = x->der;
        x->der = (mc_buf){0};
        c->ver = x->cs.ver;
        c->built = x->cs.now;
        c->have = 1;
        crl_reply(r, &c->der);
        return;
    }
    crl_reply(r, &x->der);
}

static void crl_on_read(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    if (mc_workers_submit(r->node->workers, crl_build, crl_on_built, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; ask again");
}

/* ---- POST /ca/ocsp ---- */

typedef struct ocsp_ctx {
    mc_ocsp_req *q;
    mc_ocsp_lookup lk;
    mc_buf out;                   /* worker: the signed OCSPResponse */
    mc_err werr;                  /* worker: why it could not be signed */
} ocsp_ctx;

static void ocsp_ctx_free(void *p)
{
    ocsp_ctx *x = p;
    mc_ocsp_req_free(x->q);
    mc_buf_free(&x->out);
    free(x);
}

static void ocsp_on_status(void *privdata, const mc_err *err);

static void ocsp_reply(mc_req *r, const mc_buf *der)
{
    mc_reply_body(r, 200, "application/ocsp-response", der->ptr, der->len, NULL);
}

/* An OCSPResponse of only a status (malformedRequest, tryLater, ...):
 * still 200 (RFC 6960 A.2: the HTTP body is the OCSPResponse). */
static void ocsp_reply_status(mc_req *r, int status)
{
    mc_buf b = {0};
    mc_ocsp_error(status, &b);
    ocsp_reply(r, &b);
    mc_buf_free(&b);
}

/* On a worker thread: the CA's signature over the answer (an SM2 CA's
 * costs ~300 us, a P-256 one's ~20 us: for anyone who asks, unauthenticated,
 * so never on the event loop). Touches only the ocsp_ctx and the CA's
 * read-only key. */
static void ocsp_sign(void *arg)
{
    mc_req *r = arg;
    ocsp_ctx *x = r->hctx;
    mc_err_clear(&x->werr);
    if (mc_ocsp_respond(r->node->ca, x->q, x->lk.st, x->lk.now, &x->out, &x->werr) != 0)
        mc_buf_free(&x->out);
}

static void ocsp_on_signed(void *arg, int ran)
{
    mc_req *r = arg;
    MC_REQ_LIVE(r);
    ocsp_ctx *x = r->hctx;
    if (!ran) {
        ocsp_reply_status(r, MC_OCSP_TRY_LATER); /* the server is stopping */
        return;
    }
    if (x->werr.status != 0) {
        ocsp_reply_status(r, MC_OCSP_INTERNAL);
        return;
    }
    ocsp_reply(r, &x->out);
}

void mc_api_ca_ocsp(mc_req *r)
{
    if (r->node->ca == NULL) {
        ocsp_reply_status(r, MC_OCSP_UNAUTHORIZED);
        return;
    }
    ocsp_ctx *x = mc_req_ctx(r, sizeof(*x), ocsp_ctx_free);
    if (x == NULL)
        return;
    x->q = mc_ocsp_parse(r->node->ca, r->body.ptr, r->body.len);
    if (x->q == NULL) {
        ocsp_reply_status(r, MC_OCSP_MALFORMED);
        return;
    }
    size_t n, ours = 0;
    const mc_ocsp_ask *asks = mc_ocsp_asks(x->q, &n);
    for (size_t i = 0; i < n; i++) {
        x->lk.st[i].state = MC_OCSP_UNKNOWN;
        ours += asks[i].ours != 0;
    }
    if (ours == 0) {
        /* not one CertID of our CA: not ours to answer (RFC 6960 §2.3) */
        ocsp_reply_status(r, MC_OCSP_UNAUTHORIZED);
        return;
    }
    mc_store_ocsp_status(r->node->store, asks, n, &x->lk, ocsp_on_status, r);
}

static void ocsp_on_status(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    if (err->status != 0) {
        ocsp_reply_status(r, MC_OCSP_TRY_LATER);
        return;
    }
    /* a full pool is the responder's tryLater (RFC 6960 §2.3), as a
     * failed store is */
    if (mc_workers_submit(r->node->workers, ocsp_sign, ocsp_on_signed, r) != 0)
        ocsp_reply_status(r, MC_OCSP_TRY_LATER);
}
