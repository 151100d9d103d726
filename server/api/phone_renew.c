/*
 * api/phone_renew.c — the phone's answer to an extension (延期, purpose
 * renew, PROTOCOL.md §10.4): the holder proves the CURRENT certificate's
 * key and either keeps that key (renew) or sends a CSR for a new one
 * (rekey, EST simplereenroll: the same subject); the CA issues the new
 * certificate, and one Redis Function moves everything to it.
 *
 * api/phone.c makes the checks every purpose shares, with the renew
 * variants (the chain within the renewal grace after its notAfter, the
 * 14-element TBS, the certificate being renewed: mc_policy_may_answer);
 * then here, in this order, each failure changing nothing:
 *   a rejection ends the session -> the number -> a CA -> [worker: the
 *   CSR's checks and proof of possession, the CA's signature] ->
 *   renew_commit.
 * The number is checked before the CA signs: a guess costs no signature.
 * Non-goals: cosign keys; changing the subject (that is a new application).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_crypto.h"
#include "mc_results.h"
#include "mc_store_renew.h"
#include "mc_workers.h"
#include "mc_x509.h"
#include "phone_int.h"

#define NOT_BEFORE_SKEW 60 /* the new certificate is valid from a minute ago */

static void renew_on_applied(void *privdata, const mc_err *err);
static void renew_work(void *arg);
static void renew_on_issued(void *arg, int ran);

/* The reply of an approved extension: the new certificate and the CA's. */
static void renew_reply(mc_req *r, const char *account, const char *fp, const mc_buf *leaf)
{
    mc_buf out = {0};
    const mc_buf *ca = &r->node->ca_der;
    mc_slice chain[2] = {{leaf->ptr, leaf->len}, {ca->ptr, ca->len}};
    if (mc_result_renew_encode("approved", account, fp, chain, 2, &out) != 0)
        mc_reply_errf(r, 500, "internal", "cannot encode the reply");
    else
        mc_reply_msgpack(r, 200, &out);
    mc_buf_free(&out);
}

void mc_phone_renew_answer(mc_req *r)
{
    answer_ctx *x = r->hctx;
    const mc_session *s = &x->c.s;
    if (strcmp(x->m.decision, "reject") == 0 || x->m.number != s->match) {
        /* a guess must not get a second try: a wrong number ends it too */
        mc_store_renew_reject(r->node->store, s->sid, x->c.want, x->ci.fp_hex, x->answer,
                              strcmp(x->m.decision, "reject") == 0 ? "rejected"
                                                                    : "wrong_number",
                              &x->res, renew_on_applied, r);
        return;
    }
    if (r->node->ca == NULL) {
        mc_reply_errf(r, 503, "no_ca", "this server runs no CA: it cannot extend");
        return;
    }
    if (mc_workers_submit(r->node->workers, renew_work, renew_on_issued, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; send the same answer again");
}

/* On a worker thread: touches only the answer_ctx. The rekey CSR's checks
 * (one signature verification) and the CA's signature. */
static void renew_work(void *arg)
{
    mc_req *r = arg;
    answer_ctx *x = r->hctx;
    mc_err_clear(&x->werr);
    const unsigned char *p = x->m.chain[0].ptr;
    X509 *old = d2i_X509(NULL, &p, (long)x->m.chain[0].len);
    EVP_PKEY *key = NULL;
    X509 *nc = NULL;
    if (old == NULL) {
        mc_err_set(&x->werr, 400, "bad_cert", "the leaf does not parse");
        goto done;
    }
    if (x->m.csr.len > 0) {
        key = mc_csr_rekey_check(x->m.csr.ptr, x->m.csr.len, old, &x->werr);
        if (key == NULL)
            goto done;
    }
    nc = mc_ca_reissue(r->node->ca, old, key, r->now - NOT_BEFORE_SKEW,
                       x->c.renew.new_not_after, &x->werr);
    if (nc == NULL)
        goto done;
    if (mc_cert_info_der(nc, &x->newder, &x->nci, &x->werr) != 0)
        goto done;
done:
    X509_free(nc);
    EVP_PKEY_free(key);
    X509_free(old);
}

static void renew_on_issued(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    answer_ctx *x = r->hctx;
    const mc_session *s = &x->c.s;
    if (x->werr.status != 0) {
        mc_reply_err(r, &x->werr);
        return;
    }
    mc_cert_rec_from_info(&x->nci, &x->rec);
    x->rec.der = (mc_slice){x->newder.ptr, x->newder.len};
    mc_ren_commit in = {
        .sid = s->sid,
        .answer = x->answer,
        .rid = x->c.renew.renewal,
        .old_fp = x->ci.fp_hex,
        .login = x->c.cert_account,
        .rekey = x->m.csr.len > 0,
        .new_not_after = x->c.renew.new_not_after,
        .nc = &x->rec,
    };
    mc_actor a = {x->who, r->ip};
    mc_store_renew_commit(r->node->store, &in, &a, &x->res, renew_on_applied, r);
}

static void renew_on_applied(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    answer_ctx *x = r->hctx;
    if (x->res.dup) {
        /* an identical answer won meanwhile: its result, its certificate */
        snprintf(x->c.result, sizeof(x->c.result), "%s", x->res.result);
        snprintf(x->c.account, sizeof(x->c.account), "%s", x->res.account);
        mc_phone_renew_again(r);
        return;
    }
    if (strcmp(x->res.result, "approved") != 0) {
        mc_phone_answer_reply(r, x->res.result, x->res.account);
        return;
    }
    renew_reply(r, x->res.account, x->nci.fp_hex, &x->newder);
}

/* ---- the same answer again ---- */

static void again_on_poll(void *privdata, const mc_err *err);
static void again_on_cert(void *privdata, const mc_err *err);

void mc_phone_renew_again(mc_req *r)
{
    answer_ctx *x = r->hctx;
    if (strcmp(x->c.result, "approved") != 0) {
        mc_phone_answer_reply(r, x->c.result, x->c.account);
        return;
    }
    if (r->node->ca == NULL) {
        mc_reply_errf(r, 503, "no_ca", "this server runs no CA");
        return;
    }
    mc_store_sess_poll(r->node->store, x->m.sid, &x->poll, again_on_poll, r);
}

static void again_on_poll(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    answer_ctx *x = r->hctx;
    if (strlen(x->poll.cert) != 64) {
        mc_reply_errf(r, 503, "store_unavailable", "the extension's certificate is not recorded");
        return;
    }
    mc_store_enroll_cert(r->node->store, x->poll.cert, &x->again, again_on_cert, r);
}

static void again_on_cert(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    answer_ctx *x = r->hctx;
    if (x->again.der.len == 0) {
        mc_reply_errf(r, 503, "store_unavailable", "the extension's certificate is not recorded");
        return;
    }
    renew_reply(r, x->c.account, x->poll.cert, &x->again.der);
}
