/*
 * api/enroll.c — delivering an approved application's certificate to the
 * phone (PROTOCOL.md §9.7): mcertd is the online CA of enrollment.
 *
 *   POST /m/v1/enroll                               the phone redeems its code
 *   POST /api/v1/applications/:id/enroll-session    the web's enroll QR
 *
 * The redemption is checked in this order, each failure a 4xx/503 that
 * changes nothing but the count of wrong codes: the node has a CA (503
 * no_ca) -> the message (strict msgpack) -> the CSR is one DER PKCS#10
 * (400 bad_csr) -> [enroll_begin, one atomic step] the activation exists,
 * is not locked, not expired; the code is counted, then compared (a wrong
 * one 403 bad_code, the fifth 403 activation_locked); used for this very
 * CSR: the certificate issued then, again; used: 409 activation_used; the
 * application approved_pending_issue; the QR session, if named, open and
 * for this application -> the CSR's key is the application's algorithm
 * (409 alg_mismatch) and its subject exactly CN = holder_name, O =
 * org_name, organizationIdentifier = uscc (409 subject_mismatch) -> [a
 * worker] proof of possession (the CSR's self-signature, SM2 with the GM/T
 * ID; 400 bad_csr) and the CA's signature (mc_ca_issue_req: the CSR parsed
 * on the loop, not again) -> [enroll_commit,
 * one atomic step] everything that may have changed is checked again, and
 * the certificate recorded (DER kept), the activation used, the
 * application issued, the audit, the QR session approved (its browser
 * wakes). The signature work runs on a worker whatever the CA's algorithm
 * (an SM2 CA's signature costs ~300 µs), so the loop never carries it.
 *
 * A reply lost on the way: the phone sends the same request again (same
 * code, byte-identical CSR) and, while the activation lives, gets the same
 * certificate (the activation remembers the CSR's hash and the fp).
 *
 * The enroll QR session (purpose enroll) is opened by the applicant or an
 * admin of its organisation (mc_policy_app_may_act) while the application
 * is approved_pending_issue and its activation open. The QR carries only
 * the session: the phone still needs the code from the SMS.
 */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_apply.h"
#include "mc_crypto.h"
#include "mc_enroll_proto.h"
#include "mc_policy.h"
#include "mc_proto.h"
#include "mc_store_enroll.h"
#include "mc_token.h"
#include "mc_workers.h"
#include "mc_x509.h"

#define ENROLL_DAYS 365           /* the leaf's validity */
#define ENROLL_SESSION_TTL 600    /* the enroll QR: time to install, scan, type the code */

/* ---- the redemption ---- */

typedef struct enroll_ctx {
    mc_enroll_req m;              /* slices into r->body */
    X509_REQ *csr;                /* parsed on the loop */
    char code_hash[65];
    char csr_hash[65];
    char who[24];
    mc_enroll_try t;
    mc_enroll_cert again;         /* a repeated redemption's certificate */
    /* the worker's */
    mc_err werr;
    mc_buf leaf;                  /* DER */
    mc_cert_info ci;
    mc_enroll_done done;
} enroll_ctx;

static void enroll_ctx_free(void *p)
{
    enroll_ctx *x = p;
    X509_REQ_free(x->csr);
    mc_buf_free(&x->again.der);
    mc_buf_free(&x->leaf);
    OPENSSL_cleanse(x, sizeof(*x));
    free(x);
}

static void enroll_on_begun(void *privdata, const mc_err *err);
static void enroll_work(void *arg);
static void enroll_on_issued(void *arg, int ran);
static void enroll_on_committed(void *privdata, const mc_err *err);
static void enroll_on_again(void *privdata, const mc_err *err);

void mc_api_enroll(mc_req *r)
{
    mc_err err;
    mc_err_clear(&err);
    if (r->node->ca == NULL) {
        mc_reply_errf(r, 503, "no_ca", "this server issues no certificates (no CA in its data)");
        return;
    }
    enroll_ctx *x = mc_req_ctx(r, sizeof(*x), enroll_ctx_free);
    if (x == NULL)
        return;
    if (mc_enroll_req_decode(r->body.ptr, r->body.len, &x->m, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    /* one DER PKCS#10 exactly: no PEM, no trailing bytes */
    const unsigned char *p = x->m.csr.ptr;
    x->csr = d2i_X509_REQ(NULL, &p, (long)x->m.csr.len);
    if (x->csr == NULL || p != x->m.csr.ptr + x->m.csr.len) {
        ERR_clear_error();
        mc_reply_errf(r, 400, "bad_csr", "csr is not one DER PKCS#10 request");
        return;
    }
    uint8_t h[32];
    mc_sha256(x->m.csr.ptr, x->m.csr.len, h);
    mc_hex(h, 32, x->csr_hash);
    mc_enroll_code_hash(x->m.app, x->m.code, x->code_hash);
    snprintf(x->who, sizeof(x->who), "phone:enroll");
    mc_actor actor = {x->who, r->ip};
    mc_store_enroll_begin(r->node->store, x->m.app, x->code_hash, x->csr_hash, x->m.sid, &actor,
                          &x->t, enroll_on_begun, r);
}

/* The only entry of nid in name as UTF-8 equal to want: 1, else 0. */
static int name_is(const X509_NAME *name, int nid, const char *want)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(name, nid, i) >= 0)
        return 0;
    unsigned char *v = NULL;
    int n = ASN1_STRING_to_UTF8(&v, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    int same = n >= 0 && (size_t)n == strlen(want) && memcmp(v, want, (size_t)n) == 0;
    OPENSSL_free(v);
    return same;
}

/* The CSR against the application: its key's algorithm, then its subject
 * (exactly the three entries, equal byte for byte in UTF-8). NULL, or the
 * refusal's code with its status and message. */
static const char *csr_mismatch(X509_REQ *csr, const mc_enroll_app *a, int *status,
                                const char **why)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
    mc_alg alg = pub != NULL ? mc_pkey_alg(pub) : MC_ALG_NONE;
    if (alg == MC_ALG_NONE) {
        *status = 400;
        *why = "the CSR's key is neither SM2 nor P-256";
        return "unsupported_key";
    }
    if (alg != mc_alg_parse(a->alg)) {
        *status = 409;
        *why = "the CSR's key is not of the application's algorithm";
        return "alg_mismatch";
    }
    const X509_NAME *name = X509_REQ_get_subject_name(csr);
    if (X509_NAME_entry_count(name) != 3 || !name_is(name, NID_commonName, a->holder_name) ||
        !name_is(name, NID_organizationName, a->org_name) ||
        !name_is(name, NID_organizationIdentifier, a->uscc)) {
        *status = 409;
        *why = "the CSR's subject must be exactly CN = the holder's name, O = the "
               "organisation's name and organizationIdentifier = its USCC, as applied for";
        return "subject_mismatch";
    }
    return NULL;
}

static void enroll_on_begun(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    enroll_ctx *x = r->hctx;
    switch (x->t.kind) {
    case MC_ENROLL_WRONG:
        mc_reply_errf(r, 403, "bad_code", "wrong activation code (%d %s left)", x->t.tries_left,
                      x->t.tries_left == 1 ? "try" : "tries");
        return;
    case MC_ENROLL_LOCKED:
        mc_reply_errf(r, 403, "activation_locked",
                      "%d wrong codes: the activation is locked",
                      MC_ENROLL_TRIES);
        return;
    case MC_ENROLL_LIMITED: {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", x->t.tries_left);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", ra);
        mc_reply_errf(r, 429, "too_many_attempts",
                      "too many wrong activation codes from this address; try again later");
        return;
    }
    case MC_ENROLL_AGAIN:
        mc_store_enroll_cert(r->node->store, x->t.fp, &x->again, enroll_on_again, r);
        return;
    case MC_ENROLL_OPEN:
        break;
    }
    int status = 0;
    const char *why = NULL;
    const char *refused = csr_mismatch(x->csr, &x->t.app, &status, &why);
    if (refused != NULL) {
        mc_reply_errf(r, status, refused, "%s", why);
        return;
    }
    mc_err_clear(&x->werr);
    if (mc_workers_submit(r->node->workers, enroll_work, enroll_on_issued, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; send the same request again");
}

/* On a worker thread: touches only the enroll_ctx (its CSR, parsed once on
 * the loop, which does not touch it until the completion) and the
 * (read-only) CA. Proof of possession, then the CA's signature; the leaf
 * encoded once, for the record and the reply. */
static void enroll_work(void *arg)
{
    mc_req *r = arg;
    enroll_ctx *x = r->hctx;
    X509 *leaf = mc_ca_issue_req(r->node->ca, x->csr, ENROLL_DAYS, &x->werr);
    if (leaf != NULL && mc_cert_info_der(leaf, &x->leaf, &x->ci, &x->werr) != 0 &&
        x->werr.status == 0)
        mc_err_set(&x->werr, 500, "internal", "cannot encode the issued certificate");
    X509_free(leaf);
}

static void enroll_on_issued(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    enroll_ctx *x = r->hctx;
    if (x->werr.status != 0) {
        mc_reply_err(r, &x->werr);
        return;
    }
    mc_cert_rec rec;
    mc_cert_rec_from_info(&x->ci, &rec);
    rec.der = (mc_slice){x->leaf.ptr, x->leaf.len};
    mc_actor actor = {x->who, r->ip};
    mc_store_enroll_commit(r->node->store, x->m.app, x->code_hash, x->csr_hash, x->m.sid, &rec,
                           &actor, &x->done, enroll_on_committed, r);
}

/* The reply: the leaf and the CA's certificate. */
static void enroll_reply(mc_req *r, const char *fp, const mc_buf *leaf)
{
    enroll_ctx *x = r->hctx;
    mc_buf out = {0};
    const mc_buf *ca = &r->node->ca_der;
    mc_slice chain[2] = {{leaf->ptr, leaf->len}, {ca->ptr, ca->len}};
    mc_enroll_reply_encode(x->m.app, fp, chain, 2, &out);
    mc_reply_msgpack(r, 200, &out);
    mc_buf_free(&out);
}

static void enroll_on_committed(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    enroll_ctx *x = r->hctx;
    if (x->done.again) {
        /* an identical redemption won the race: its certificate, not ours */
        snprintf(x->t.fp, sizeof(x->t.fp), "%s", x->done.fp);
        mc_store_enroll_cert(r->node->store, x->t.fp, &x->again, enroll_on_again, r);
        return;
    }
    enroll_reply(r, x->done.fp, &x->leaf);
}

static void enroll_on_again(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    enroll_ctx *x = r->hctx;
    uint8_t fp[32];
    char hex[65];
    if (x->again.der.len == 0 ||
        mc_cert_fingerprint(x->again.der.ptr, x->again.der.len, fp) != 0 ||
        (mc_hex(fp, 32, hex), strcmp(hex, x->t.fp) != 0)) {
        mc_reply_errf(r, 503, "store_unavailable", "corrupt certificate record");
        return;
    }
    if (strcmp(x->again.status, "valid") != 0) {
        mc_reply_errf(r, 403, "cert_revoked",
                      "the certificate issued for this activation is %s", x->again.status);
        return;
    }
    enroll_reply(r, x->t.fp, &x->again.der);
}

/* ---- the web's enroll QR ---- */

typedef struct esess_ctx {
    mc_session s;
    uint8_t poll_hash[32];
    char poll[MC_TOKEN_SECRET_LEN + 1];
    int want_svg, want_png, want_text;
    mc_enroll_app app;
    mc_open_result opened;
} esess_ctx;

static void esess_ctx_free(void *p)
{
    OPENSSL_cleanse(p, sizeof(esess_ctx));
    free(p);
}

static void esess_on_app(void *privdata, const mc_err *err);
static void esess_on_stored(void *privdata, const mc_err *err);

void mc_api_enroll_session(mc_req *r)
{
    if (!mc_app_number_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such application");
        return;
    }
    esess_ctx *x = mc_req_ctx(r, sizeof(*x), esess_ctx_free);
    if (x == NULL)
        return;
    if (mc_api_qr_wanted(r, &x->want_svg, &x->want_png, &x->want_text) != 0)
        return;
    mc_store_enroll_app(r->node->store, r->param, &x->app, esess_on_app, r);
}

static void esess_on_app(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    esess_ctx *x = r->hctx;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_app_owner owner = {x->app.applicant, x->app.uscc};
    if (strcmp(x->app.id, r->param) != 0 || !mc_policy_app_may_read(&me, &owner)) {
        mc_reply_errf(r, 404, "not_found", "no such application");
        return;
    }
    if (!mc_policy_app_may_act(&me, &owner)) {
        mc_reply_errf(r, 403, "not_permitted",
                      "only the applicant or an admin of its organisation receives it");
        return;
    }
    if (strcmp(x->app.state, "approved_pending_issue") != 0) {
        mc_reply_errf(r, 409, "bad_transition",
                      "the application is %s: only an approved one (approved_pending_issue) "
                      "is enrolled", x->app.state);
        return;
    }
    mc_session *s = &x->s;
    mc_api_session_new(r, s, MC_PURPOSE_ENROLL, ENROLL_SESSION_TTL);
    snprintf(s->account, sizeof(s->account), "%s", x->app.applicant);
    snprintf(s->requester, sizeof(s->requester), "%s", r->who.acc.login);
    mc_secret_new(x->poll);
    mc_sha256(x->poll, MC_TOKEN_SECRET_LEN, x->poll_hash);
    const mc_config *cfg = r->node->cfg;
    mc_open_limits lim = {cfg->limit_opens, cfg->limit_pending};
    mc_store_enroll_open(r->node->store, s, x->poll_hash, ENROLL_SESSION_TTL, &lim, &x->app,
                         r->who.acc.name, &x->opened, esess_on_stored, r);
}

static void esess_on_stored(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    esess_ctx *x = r->hctx;
    json_t *qr;
    if (mc_api_session_opened(r, &x->s, &x->opened, x->want_svg, x->want_png, x->want_text,
                              &qr) != 0)
        return;
    mc_reply_json(r, 201,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:o}", "sid", x->s.sid,
                            "purpose", "enroll", "app", x->app.id, "account", x->s.account,
                            "poll_secret", x->poll, "expires", (json_int_t)x->s.expires, "ttl",
                            (int)(x->s.expires - x->s.created), "qr", qr));
}
