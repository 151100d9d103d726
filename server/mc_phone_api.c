/*
 * mc_phone_api.c — the msgpack API the phone app talks to.
 *
 *   GET  /m/v1/sessions/:sid           details to show; pending -> scanned
 *   POST /m/v1/sessions/:sid/response  the signed answer
 *
 * The answer is checked in this order, each failure a 4xx that changes
 * nothing: well-formed message (strict msgpack, capped) -> same sid as the
 * path -> session answerable (exists, unexpired, not answered) -> purpose
 * and origin equal the session's -> certificate chain trusted, valid,
 * digitalSignature, SM2 or P-256 -> signature over the TBS that the SERVER
 * builds from its own session record (never from the message) -> the picked
 * number is the session's -> then ONE atomic step in Redis
 * (mc_store_*_approve) checks every record condition (not revoked,
 * organisation, the requester's right, bindings) and answers the session,
 * so a racing second answer loses with session_done.
 */
#include <string.h>

#include "mc_certcache.h"
#include "mc_crypto.h"
#include "mc_proto.h"
#include "mc_web.h"

/* GET /m/v1/sessions/:sid */
void mc_phone_session_get(mc_req *r)
{
    mc_err err;
    mc_err_clear(&err);
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    mc_session_view v;
    memset(&v, 0, sizeof(v));
    mc_sess_extra x;
    if (mc_store_session_scan(r->node->store, r->param, r->now, &v.s, &x, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    snprintf(v.requester_name, sizeof(v.requester_name), "%s", x.requester_name);
    snprintf(v.org_name, sizeof(v.org_name), "%s", x.org_name);
    v.s.match = 0; /* never sent: the user must read it off the web page */
    mc_buf b = {0};
    mc_view_encode(&v, &b);
    mc_reply_msgpack(r, 200, &b);
    mc_buf_free(&b);
}

/* POST /m/v1/sessions/:sid/response */
void mc_phone_session_respond(mc_req *r)
{
    mc_err err;
    mc_err_clear(&err);
    mc_response m;
    EVP_PKEY *pub = NULL;
    mc_buf tbs = {0};
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_err_set(&err, 404, "unknown_session", "no such session");
        goto fail;
    }
    if (mc_response_decode(r->body, r->body_len, &m, &err) != 0)
        goto fail;
    if (strcmp(m.sid, r->param) != 0) {
        mc_err_set(&err, 409, "sid_mismatch", "the message is for another session");
        goto fail;
    }
    mc_session s;
    if (mc_store_session_get(r->node->store, m.sid, r->now, &s, NULL, &err) != 0)
        goto fail;
    if (strcmp(s.state, "expired") == 0) {
        mc_err_set(&err, 410, "session_expired", "the session has expired");
        goto fail;
    }
    if (strcmp(s.state, "pending") != 0 && strcmp(s.state, "scanned") != 0) {
        mc_err_set(&err, 409, "session_done", "the session was already answered");
        goto fail;
    }
    if (strcmp(m.purpose, mc_purpose_name(s.purpose)) != 0) {
        mc_err_set(&err, 409, "purpose_mismatch", "the session is for %s",
                   mc_purpose_name(s.purpose));
        goto fail;
    }
    if (strcmp(m.origin, s.origin) != 0) {
        mc_err_set(&err, 409, "origin_mismatch", "the session was opened from another origin");
        goto fail;
    }
    mc_cert_info ci;
    if (mc_certcache_verify(r->node->certs, r->node->trust, m.chain, m.nchain, r->now, &ci, &pub,
                            &err) != 0)
        goto fail;
    mc_tbs t = {
        .purpose = mc_purpose_name(s.purpose),
        .sid = s.sid,
        .nonce = s.nonce,
        .origin = s.origin,
        .account = s.account,
        .expires = s.expires,
        .cert_fp = ci.fp,
        .number = m.number,
        .decision = m.decision,
    };
    mc_tbs_encode(&t, &tbs);
    if (mc_verify(pub, tbs.ptr, tbs.len, m.sig.ptr, m.sig.len, &err) != 0)
        goto fail;

    mc_buf out = {0};
    if (strcmp(m.decision, "reject") == 0) {
        if (mc_store_session_reject(r->node->store, s.sid, ci.fp_hex, r->now, &err) != 0)
            goto fail;
        mc_result_encode("rejected", "", &out);
        mc_reply_msgpack(r, 200, &out);
        mc_buf_free(&out);
        goto done;
    }
    if (m.number != s.match) {
        mc_err_set(&err, 409, "wrong_number",
                   "the number picked is not the one on the web page");
        goto fail;
    }
    char who[80], login[MC_ACCOUNT_MAX + 1] = "";
    snprintf(who, sizeof(who), "phone:%.16s", ci.fp_hex);
    mc_actor actor = {who, r->ip};
    /* every record condition (revocation, organisation, rights, bindings)
     * is checked inside the one atomic step that answers the session */
    if (s.purpose == MC_PURPOSE_BIND) {
        mc_cert_rec c;
        mc_cert_rec_from_info(&ci, &c);
        if (mc_store_bind_approve(r->node->store, s.sid, s.account, &c, &actor, r->now, &err) != 0)
            goto fail;
        snprintf(login, sizeof(login), "%s", s.account);
    } else if (mc_store_login_approve(r->node->store, s.sid, ci.fp_hex, ci.uscc, &actor, r->now,
                                      login, &err) != 0) {
        goto fail;
    }
    mc_result_encode("approved", login, &out);
    mc_reply_msgpack(r, 200, &out);
    mc_buf_free(&out);
    goto done;
fail:
    if (err.status == 0)
        mc_err_set(&err, 500, "internal", "internal error");
    mc_reply_err(r, &err);
done:
    mc_buf_free(&tbs);
    EVP_PKEY_free(pub);
}
