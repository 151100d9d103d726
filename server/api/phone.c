/*
 * api/phone.c — the msgpack API the phone app talks to.
 *
 *   GET  /m/v1/sessions/:sid           details to show; pending -> scanned
 *   POST /m/v1/sessions/:sid/response  the signed answer
 *
 * The answer is checked in this order, each failure a 4xx that changes
 * nothing: well-formed message (strict msgpack, capped) -> same sid as the
 * path -> [one read: the session and the certificate's record] the same
 * answer applied before? then its result again -> session answerable
 * (exists, unexpired, not answered) -> purpose and origin equal the
 * session's -> certificate chain trusted, valid, digitalSignature, SM2 or
 * P-256 -> signature over the TBS that the SERVER builds from its own
 * session record (never from the message) -> for a rejection: the session
 * ends rejected -> the picked number is the session's (a wrong one ends the
 * session: 409 wrong_number) -> then ONE atomic step in Redis
 * (mc_store_*_approve) checks every record condition (not revoked,
 * organisation, the requester's right, bindings) and answers the session,
 * so a racing second answer loses with session_done, and an identical
 * second answer gets the first one's result.
 */
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_certcache.h"
#include "mc_crypto.h"
#include "mc_policy.h"
#include "mc_proto.h"
#include "mc_store_sess.h"

/* ---- fetch ---- */

static void get_on_scanned(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_session_view *v = r->hctx;
    v->s.match = 0; /* never sent: the user must read it off the web page */
    mc_buf b = {0};
    mc_view_encode(v, &b);
    mc_reply_msgpack(r, 200, &b);
    mc_buf_free(&b);
}

void mc_api_phone_get(mc_req *r)
{
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    mc_session_view *v = mc_req_ctx(r, sizeof(*v), NULL);
    if (v == NULL)
        return;
    mc_store_sess_scan(r->node->store, r->param, v, get_on_scanned, r);
}

/* ---- answer ---- */

typedef struct answer_ctx {
    mc_response m;                /* slices point into r->body */
    char answer[65];              /* SHA-256 hex of the whole message */
    char fp[65];                  /* the leaf's fingerprint, "-" if unparsable */
    mc_answer_ctx c;
    mc_answer_res res;
    mc_cert_rec rec;
    char who[80];
} answer_ctx;

static void answer_on_ctx(void *privdata, const mc_err *err);
static void answer_on_applied(void *privdata, const mc_err *err);

void mc_api_phone_respond(mc_req *r)
{
    mc_err err;
    mc_err_clear(&err);
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    answer_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    if (mc_response_decode(r->body.ptr, r->body.len, &x->m, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (strcmp(x->m.sid, r->param) != 0) {
        mc_reply_errf(r, 409, "sid_mismatch", "the message is for another session");
        return;
    }
    uint8_t h[32];
    mc_sha256(r->body.ptr, r->body.len, h);
    mc_hex(h, 32, x->answer);
    if (mc_cert_fingerprint(x->m.chain[0].ptr, x->m.chain[0].len, h) == 0)
        mc_hex(h, 32, x->fp);
    else
        snprintf(x->fp, sizeof(x->fp), "-");
    mc_store_sess_answer_ctx(r->node->store, x->m.sid, x->fp, x->answer, &x->c, answer_on_ctx,
                             r);
}

/* The result body of an applied answer (also of one applied before). */
static void answer_reply(mc_req *r, const char *result, const char *account)
{
    if (strcmp(result, "wrong_number") == 0) {
        mc_reply_errf(r, 409, "wrong_number",
                      "the number picked is not the one on the web page; the session has ended");
        return;
    }
    mc_buf out = {0};
    mc_result_encode(result, account, &out);
    mc_reply_msgpack(r, 200, &out);
    mc_buf_free(&out);
}

static void answer_on_ctx(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    answer_ctx *x = r->hctx;
    mc_err e;
    mc_err_clear(&e);
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    if (x->c.dup) {
        answer_reply(r, x->c.result, x->c.account);
        return;
    }
    const mc_session *s = &x->c.s;
    if (strcmp(x->m.purpose, mc_purpose_name(s->purpose)) != 0) {
        mc_reply_errf(r, 409, "purpose_mismatch", "the session is for %s",
                      mc_purpose_name(s->purpose));
        return;
    }
    if (strcmp(x->m.origin, s->origin) != 0) {
        mc_reply_errf(r, 409, "origin_mismatch", "the session was opened from another origin");
        return;
    }
    mc_cert_info ci;
    EVP_PKEY *pub = NULL;
    if (mc_certcache_verify(r->node->certs, r->node->trust, x->m.chain, x->m.nchain, r->now, &ci,
                            &pub, &e) != 0) {
        mc_reply_err(r, &e);
        return;
    }
    mc_tbs t = {
        .purpose = mc_purpose_name(s->purpose),
        .sid = s->sid,
        .nonce = s->nonce,
        .origin = s->origin,
        .account = s->account,
        .expires = s->expires,
        .cert_fp = ci.fp,
        .number = x->m.number,
        .decision = x->m.decision,
    };
    mc_buf tbs = {0};
    mc_tbs_encode(&t, &tbs);
    int bad = mc_verify(pub, tbs.ptr, tbs.len, x->m.sig.ptr, x->m.sig.len, &e) != 0;
    mc_buf_free(&tbs);
    EVP_PKEY_free(pub);
    if (bad) {
        mc_reply_err(r, &e);
        return;
    }
    mc_answer_facts facts = {
        .bind = s->purpose == MC_PURPOSE_BIND,
        .cert_status = x->c.cert_status,
        .cert_account = x->c.cert_account,
        .cert_org = ci.uscc,
        .session_org = x->c.org,
    };
    int status = 0;
    const char *refused = mc_policy_may_answer(&facts, &status);
    if (refused != NULL) {
        mc_reply_errf(r, status, refused, "this certificate cannot answer this session");
        return;
    }
    mc_store *st = r->node->store;
    if (strcmp(x->m.decision, "reject") == 0) {
        mc_store_sess_reject(st, s->sid, ci.fp_hex, x->answer, "rejected", &x->res,
                             answer_on_applied, r);
        return;
    }
    if (x->m.number != s->match) {
        /* a guess must not get a second try: the session ends */
        mc_store_sess_reject(st, s->sid, ci.fp_hex, x->answer, "wrong_number", &x->res,
                             answer_on_applied, r);
        return;
    }
    snprintf(x->who, sizeof(x->who), "phone:%.16s", ci.fp_hex);
    mc_actor actor = {x->who, r->ip};
    if (s->purpose == MC_PURPOSE_BIND) {
        mc_cert_rec_from_info(&ci, &x->rec);
        mc_store_bind_approve(st, s->sid, s->account, s->requester, &x->rec, x->answer, &actor,
                              &x->res, answer_on_applied, r);
        return;
    }
    mc_store_login_approve(st, s->sid, ci.fp_hex, ci.uscc, x->c.cert_account, x->answer, &actor,
                           &x->res, answer_on_applied, r);
}

static void answer_on_applied(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    answer_ctx *x = r->hctx;
    answer_reply(r, x->res.result, x->res.account);
}
