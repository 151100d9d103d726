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
#include <ctype.h>
#include <event2/keyvalq_struct.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "mc_api.h"
#include "phone_int.h"
#include "mc_certcache.h"
#include "mc_cms.h"
#include "mc_crypto.h"
#include "mc_policy.h"
#include "mc_proto.h"
#include "mc_results.h"
#include "mc_store_sess.h"
#include "mc_store_sign.h"
#include "mc_workers.h"

/* ---- fetch ---- */

typedef struct get_ctx {
    mc_session_view v;
    mc_sign_info si;
    mc_renew_info ri;
} get_ctx;

static void get_on_scanned(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_session_view *v = &((get_ctx *)r->hctx)->v;
    if (v->s.purpose != MC_PURPOSE_SIGN)
        v->sign = NULL;
    if (v->s.purpose != MC_PURPOSE_RENEW)
        v->renew = NULL;
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
    get_ctx *g = mc_req_ctx(r, sizeof(*g), NULL);
    if (g == NULL)
        return;
    g->v.sign = &g->si;  /* filled for a sign session */
    g->v.renew = &g->ri; /* ... and for a renew session */
    mc_store_sess_scan(r->node->store, r->param, &g->v, get_on_scanned, r);
}

/* ---- answer ---- */

static void answer_ctx_free(void *p)
{
    answer_ctx *x = p;
    EVP_PKEY_free(x->pub);
    for (size_t i = 0; i < MC_DOCS_MAX; i++)
        mc_buf_free(&x->cms[i]);
    mc_buf_free(&x->results);
    mc_buf_free(&x->newder);
    mc_buf_free(&x->again.der);
    free(x);
}

static void answer_on_ctx(void *privdata, const mc_err *err);
static void answer_on_applied(void *privdata, const mc_err *err);
static void sign_answer(mc_req *r);

void mc_api_phone_respond(mc_req *r)
{
    mc_err err;
    mc_err_clear(&err);
    if (!mc_sid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "unknown_session", "no such session");
        return;
    }
    answer_ctx *x = mc_req_ctx(r, sizeof(*x), answer_ctx_free);
    if (x == NULL)
        return;
    x->c.sign = &x->si;
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
        if (strcmp(x->m.purpose, "renew") == 0)
            mc_phone_renew_again(r);
        else
            mc_phone_answer_reply(r, x->c.result, x->c.account);
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
    int renew = s->purpose == MC_PURPOSE_RENEW;
    /* an extension may be proven with a certificate expired within the
     * renewal grace (§10.4: checked as of its notAfter) */
    int chain_rc =
        renew ? mc_cert_verify_chain_grace(r->node->trust, x->m.chain, x->m.nchain, r->now,
                                           (int64_t)r->node->cfg->renew_grace_days * 86400, &ci,
                                           &pub, &e)
              : mc_certcache_verify(r->node->certs, r->node->trust, x->m.chain, x->m.nchain,
                                    r->now, &ci, &pub, &e);
    if (chain_rc != 0) {
        mc_reply_err(r, &e);
        return;
    }
    const mc_sign_info *si = s->purpose == MC_PURPOSE_SIGN ? &x->si : NULL;
    if (si != NULL &&
        strcmp(ci.alg == MC_ALG_SM2 ? "sm3" : "sha256", si->docs[0].alg) != 0) {
        EVP_PKEY_free(pub);
        mc_reply_errf(r, 409, "alg_mismatch", "the documents' digests are %s: not this key's",
                      si->docs[0].alg);
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
        .sign = si,
    };
    mc_renew_tbs rt = {.renewal = x->c.renew.renewal, .new_not_after = x->c.renew.new_not_after,
                       .has_csr = x->m.csr.len > 0};
    if (renew) {
        if (rt.has_csr)
            mc_sha256(x->m.csr.ptr, x->m.csr.len, rt.csr_hash);
        t.renew = &rt;
    }
    mc_buf tbs = {0};
    mc_tbs_encode(&t, &tbs);
    int bad = mc_verify(pub, tbs.ptr, tbs.len, x->m.sig.ptr, x->m.sig.len, &e) != 0;
    mc_buf_free(&tbs);
    x->pub = pub; /* freed with the context; a sign approval's worker uses it */
    if (bad) {
        mc_reply_err(r, &e);
        return;
    }
    mc_answer_facts facts = {
        .purpose = s->purpose,
        .cert_status = x->c.cert_status,
        .cert_account = x->c.cert_account,
        .cert_org = ci.uscc,
        .session_org = x->c.org,
        .session_account = s->account,
        .cert_fp = ci.fp_hex,
        .session_want = x->c.want,
    };
    int status = 0;
    const char *refused = mc_policy_may_answer(&facts, &status);
    if (refused != NULL) {
        mc_reply_errf(r, status, refused,
                      strcmp(refused, "not_current_cert") == 0
                          ? "only the certificate being renewed proves the extension"
                          : "this certificate cannot answer this session");
        return;
    }
    mc_store *st = r->node->store;
    snprintf(x->who, sizeof(x->who), "phone:%.16s", ci.fp_hex);
    x->ci = ci;
    if (s->purpose == MC_PURPOSE_SIGN) {
        sign_answer(r);
        return;
    }
    if (renew) {
        mc_phone_renew_answer(r);
        return;
    }
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
    mc_actor actor = {x->who, r->ip};
    if (s->purpose == MC_PURPOSE_BIND) {
        mc_cert_rec_from_info(&ci, &x->rec);
        x->rec.der = x->m.chain[0]; /* kept for the inbox (§8.4) */
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
    mc_phone_answer_reply(r, x->res.result, x->res.account);
}

/* ---- a sign session's answer (PROTOCOL.md §8.6) ---- */

static void sign_work(void *arg);
static void sign_on_checked(void *arg, int ran);

/* After the session signature and who may answer: a rejection ends the
 * session; an approval has its document signatures checked and its
 * SignedData built on a worker, then the number, then the atomic step. */
static void sign_answer(mc_req *r)
{
    answer_ctx *x = r->hctx;
    const mc_session *s = &x->c.s;
    mc_actor actor = {x->who, r->ip};
    if (strcmp(x->m.decision, "reject") == 0) {
        if (x->m.ndoc_sigs != 0) {
            mc_reply_errf(r, 400, "bad_field", "a rejection carries no document signatures");
            return;
        }
        mc_store_sign_reject(r->node->store, s->sid, x->c.want, s->account, x->ci.fp_hex,
                             x->answer, "rejected", &actor, &x->res, answer_on_applied, r);
        return;
    }
    if (x->m.ndoc_sigs != x->si.ndocs) {
        mc_reply_errf(r, 400, "bad_field", "doc_sigs must hold one signature per document (%zu)",
                      x->si.ndocs);
        return;
    }
    x->bad_doc = -1;
    if (mc_workers_submit(r->node->workers, sign_work, sign_on_checked, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; send the same answer again");
}

/* On a worker thread: touches only the answer_ctx (its key is not used by
 * the loop meanwhile). One verify and one assembly per document, over the
 * same encoded signed attributes. */
static void sign_work(void *arg)
{
    mc_req *r = arg;
    answer_ctx *x = r->hctx;
    mc_err_clear(&x->werr);
    mc_slice certs[MC_CHAIN_MAX];
    size_t ncerts = 0;
    certs[ncerts++] = x->m.chain[0];
    for (size_t i = 1; i < x->m.nchain; i++)
        if (!(x->ci.self_signed & (1u << i))) /* an anchor is not carried */
            certs[ncerts++] = x->m.chain[i];
    mc_cms_signer *signer = mc_cms_signer_new(certs, ncerts, x->ci.alg, &x->werr);
    if (signer == NULL)
        return;
    for (size_t i = 0; i < x->si.ndocs; i++) {
        uint8_t attrs[MC_CMS_ATTRS_LEN];
        mc_err e;
        mc_err_clear(&e);
        const mc_slice *sig = &x->m.doc_sigs[i];
        if (mc_cms_signed_attrs(x->si.signing_time, x->si.docs[i].digest, attrs, &x->werr) != 0)
            break;
        if (mc_verify(x->pub, attrs, sizeof(attrs), sig->ptr, sig->len, &e) != 0) {
            x->bad_doc = (int)i;
            break;
        }
        if (mc_cms_signer_put(signer, attrs, sig->ptr, sig->len, &x->cms[i], &x->werr) != 0)
            break;
    }
    mc_cms_signer_free(signer);
    if (x->bad_doc < 0 && x->werr.status == 0)
        mc_results_encode(x->cms, x->si.ndocs, &x->results);
}

static void sign_on_checked(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    answer_ctx *x = r->hctx;
    const mc_session *s = &x->c.s;
    if (x->bad_doc >= 0) {
        mc_reply_errf(r, 403, "bad_doc_signature",
                      "the signature of document %d does not verify over its signed attributes",
                      x->bad_doc);
        return;
    }
    if (x->werr.status != 0) {
        mc_reply_err(r, &x->werr);
        return;
    }
    mc_actor actor = {x->who, r->ip};
    if (x->m.number != s->match) {
        mc_store_sign_reject(r->node->store, s->sid, x->c.want, s->account, x->ci.fp_hex,
                             x->answer, "wrong_number", &actor, &x->res, answer_on_applied, r);
        return;
    }
    mc_store_sign_approve(r->node->store, s->sid, x->ci.fp_hex, x->ci.uscc, s->account,
                          x->answer, &x->results, &x->si, &actor, &x->res, answer_on_applied, r);
}

/* ---- the inbox (PROTOCOL.md §8.4) ---- */

#define INBOX_SKEW 300 /* seconds a phone's clock may be off */

typedef struct inbox_ctx {
    uint8_t fp[32];
    char fp_hex[65];
    int64_t ts;
    uint8_t nonce[MC_INBOX_NONCE_LEN];
    char nonce_hex[2 * MC_INBOX_NONCE_LEN + 1];
    uint8_t sig[MC_SIG_MAX];
    size_t siglen;
    mc_inbox ib;
} inbox_ctx;

static void inbox_free(void *p)
{
    inbox_ctx *x = p;
    mc_buf_free(&x->ib.der);
    free(x);
}

/* 1 if s is exactly n lower-case hex characters. */
static int lower_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void inbox_on_list(void *privdata, const mc_err *err);

void mc_api_phone_inbox(mc_req *r)
{
    const char *fp = NULL, *ts = NULL, *nonce = NULL, *sig = NULL;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &r->query, next) {
        const char **slot = strcmp(kv->key, "fp") == 0      ? &fp
                            : strcmp(kv->key, "ts") == 0    ? &ts
                            : strcmp(kv->key, "nonce") == 0 ? &nonce
                            : strcmp(kv->key, "sig") == 0   ? &sig
                                                            : NULL;
        if (slot == NULL || *slot != NULL) {
            mc_reply_errf(r, 400, "bad_query", "the query is fp, ts, nonce and sig, once each");
            return;
        }
        *slot = kv->value;
    }
    inbox_ctx *x = mc_req_ctx(r, sizeof(*x), inbox_free);
    if (x == NULL)
        return;
    size_t tslen = ts ? strlen(ts) : 0, siglen = sig ? strlen(sig) : 0;
    int ok = fp && ts && nonce && sig && lower_hex(fp, 64) && lower_hex(nonce, 32) &&
             tslen >= 1 && tslen <= 12 && siglen >= 2 && siglen <= 2 * MC_SIG_MAX &&
             siglen % 2 == 0;
    for (size_t i = 0; ok && i < tslen; i++)
        ok = isdigit((unsigned char)ts[i]);
    if (!ok || mc_unhex(fp, 64, x->fp, 32) != 0 ||
        mc_unhex(nonce, 32, x->nonce, MC_INBOX_NONCE_LEN) != 0 ||
        mc_unhex(sig, siglen, x->sig, siglen / 2) != 0) {
        mc_reply_errf(r, 400, "bad_query", "fp (64 hex), ts (unix seconds), nonce (32 hex), "
                                           "sig (hex DER) are required");
        return;
    }
    x->siglen = siglen / 2;
    x->ts = strtoll(ts, NULL, 10);
    memcpy(x->fp_hex, fp, 65);
    memcpy(x->nonce_hex, nonce, sizeof(x->nonce_hex));
    if (x->ts > r->now + INBOX_SKEW || x->ts < r->now - INBOX_SKEW) {
        mc_reply_errf(r, 403, "stale_request", "ts is more than %d s from the server's clock",
                      INBOX_SKEW);
        return;
    }
    mc_store_inbox_list(r->node->store, x->fp_hex, x->nonce_hex, &x->ib, inbox_on_list, r);
}

static void inbox_on_list(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    inbox_ctx *x = r->hctx;
    /* the record's certificate, and the signature with its key over the
     * inbox TBS (the base as this server is reached, lower-cased) */
    const unsigned char *p = x->ib.der.ptr;
    X509 *c = d2i_X509(NULL, &p, (long)x->ib.der.len);
    uint8_t fp[32];
    int same = c != NULL && mc_cert_fingerprint(x->ib.der.ptr, x->ib.der.len, fp) == 0 &&
               memcmp(fp, x->fp, 32) == 0;
    EVP_PKEY *pub = c ? X509_get0_pubkey(c) : NULL;
    char base[sizeof(r->node->cfg->public_base)];
    size_t i;
    for (i = 0; r->node->cfg->public_base[i] != '\0' && i + 1 < sizeof(base); i++)
        base[i] = (char)tolower((unsigned char)r->node->cfg->public_base[i]);
    base[i] = '\0';
    while (i > 0 && base[i - 1] == '/')
        base[--i] = '\0';
    mc_buf tbs = {0};
    mc_inbox_tbs_encode(base, x->fp, x->ts, x->nonce, &tbs);
    mc_err e;
    mc_err_clear(&e);
    int good = same && pub != NULL && mc_verify(pub, tbs.ptr, tbs.len, x->sig, x->siglen, &e) == 0;
    mc_buf_free(&tbs);
    X509_free(c);
    if (!same) {
        mc_reply_errf(r, 503, "store_unavailable", "corrupt certificate record");
        return;
    }
    if (!good) {
        mc_reply_errf(r, 403, "bad_signature", "the inbox request is not signed by this certificate");
        return;
    }
    mc_buf entries = {0}, out = {0};
    for (size_t k = 0; k < x->ib.n; k++)
        mc_inbox_entry_encode(&x->ib.e[k], &entries);
    mc_inbox_reply_encode(x->ib.now, entries.ptr, entries.len, x->ib.n, &out);
    mc_buf_free(&entries);
    mc_reply_msgpack(r, 200, &out);
    mc_buf_free(&out);
}
