/*
 * api/sign.c — signing bid documents for the web and the platform
 * (PROTOCOL.md §8):
 *
 *   POST /api/v1/sign-requests          open a sign session (token or API key)
 *   GET  /api/v1/sign-requests          the caller's history (token)
 *   POST /api/v1/verify                 check a CMS SignedData (token or API key)
 *
 * Collecting a sign session's results is the long poll of api/session.c
 * (also under /api/v1/sign-requests/<sid> for an API key); the phone's side
 * (the inbox, the answer) is api/phone.c.
 *
 * Rules kept here: a holder asks only for its own certificate's
 * signatures; an API key with scope `sign` for accounts of its own
 * organisation (mc_policy_may_request_sign). Nothing is stored for a
 * refused request. The document digests are named by the caller and shown
 * on the phone: the server never sees the documents, and never signs.
 * Verification runs on a worker thread (a CMS parse, one signature and a
 * chain check: more than the loop should carry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_cms.h"
#include "mc_cms_verify.h"
#include "mc_crypto.h"
#include "mc_proto.h"
#include "mc_qr.h"
#include "mc_store_sess.h"
#include "mc_store_sign.h"
#include "mc_token.h"
#include "mc_workers.h"

#define SIGN_TTL_DEFAULT 300
#define SIGN_TTL_MIN 30
#define SIGN_TTL_MAX 86400
#define JSON_SIZE_MAX 9007199254740991LL /* 2^53 - 1 */

/* The digest algorithm that goes with a certificate's key. */
static const char *digest_of(const char *key_alg)
{
    if (strcmp(key_alg, "sm2") == 0)
        return "sm3";
    if (strcmp(key_alg, "p256") == 0)
        return "sha256";
    return "";
}

/* ---- open ---- */

typedef struct open_ctx {
    mc_session s;
    mc_sign_info si;
    uint8_t poll_hash[32];
    char poll[MC_TOKEN_SECRET_LEN + 1];
    int ttl;
    int want_svg, want_png, want_text;
    mc_account target;
    mc_acct_view view;            /* the target's organisation and certificate */
    mc_open_result opened;
    char who[96];
} open_ctx;

static void open_ctx_free(void *p)
{
    OPENSSL_cleanse(p, sizeof(open_ctx));
    free(p);
}

/* The documents of the body into si. 0, or -1 with err. */
static int parse_docs(json_t *docs, mc_sign_info *si, mc_err *err)
{
    static const char *const allowed[] = {"name", "size", "alg", "digest", NULL};
    if (!json_is_array(docs) || json_array_size(docs) == 0)
        return mc_err_set(err, 400, "bad_field", "documents must be an array of 1..%d objects",
                          MC_DOCS_MAX);
    if (json_array_size(docs) > MC_DOCS_MAX)
        return mc_err_set(err, 400, "too_many_documents", "at most %d documents per request",
                          MC_DOCS_MAX);
    si->ndocs = json_array_size(docs);
    for (size_t i = 0; i < si->ndocs; i++) {
        json_t *d = json_array_get(docs, i);
        mc_doc *doc = &si->docs[i];
        const char *name, *alg, *digest;
        size_t namelen, alglen, digestlen;
        if (!json_is_object(d))
            return mc_err_set(err, 400, "bad_field", "documents[%zu] is not an object", i);
        if (mc_json_only(d, allowed, err) != 0 ||
            mc_json_str(d, "name", MC_DOC_NAME_MAX, 1, &name, &namelen, err) != 0)
            return -1;
        if (!mc_doc_name_valid(name, namelen))
            return mc_err_set(err, 400, "bad_field",
                              "documents[%zu].name must be 1..255 bytes of UTF-8 without "
                              "control characters", i);
        json_t *size = json_object_get(d, "size");
        if (!json_is_integer(size) || json_integer_value(size) < 0 ||
            json_integer_value(size) > JSON_SIZE_MAX)
            return mc_err_set(err, 400, "bad_field", "documents[%zu].size must be 0..2^53-1", i);
        if (mc_json_str(d, "alg", 8, 1, &alg, &alglen, err) != 0)
            return -1;
        if (!((alglen == 3 && memcmp(alg, "sm3", 3) == 0) ||
              (alglen == 6 && memcmp(alg, "sha256", 6) == 0)))
            return mc_err_set(err, 400, "bad_field", "documents[%zu].alg must be sm3 or sha256",
                              i);
        if (i > 0 && strcmp(si->docs[0].alg, alg) != 0)
            return mc_err_set(err, 400, "bad_field", "every document takes the same alg");
        json_t *dg = json_object_get(d, "digest");
        if (dg == NULL || !json_is_string(dg))
            return mc_err_set(err, 400, "bad_field", "documents[%zu].digest must be a string",
                              i);
        digest = json_string_value(dg);
        digestlen = json_string_length(dg);
        if (mc_unhex(digest, digestlen, doc->digest, MC_DIGEST_LEN) != 0)
            return mc_err_set(err, 400, "bad_digest",
                              "documents[%zu].digest must be 64 hex characters", i);
        memcpy(doc->name, name, namelen);
        doc->name[namelen] = '\0';
        memcpy(doc->alg, alg, alglen);
        doc->alg[alglen] = '\0';
        doc->size = (uint64_t)json_integer_value(size);
    }
    return 0;
}

static void open_on_target(void *privdata, const mc_err *err);
static void open_on_view(void *privdata, const mc_err *err);
static void open_on_stored(void *privdata, const mc_err *err);

void mc_api_sign_open(mc_req *r)
{
    static const char *const allowed[] = {"account", "documents", "text", "ttl", NULL};
    mc_err err;
    mc_err_clear(&err);
    if (r->via_key && !mc_apikey_has_scope(r->key.key.scopes, "sign")) {
        mc_reply_errf(r, 403, "not_permitted", "this API key may not ask for signatures");
        return;
    }
    open_ctx *x = mc_req_ctx(r, sizeof(*x), open_ctx_free);
    if (x == NULL)
        return;
    const char *target, *text;
    size_t targetlen, textlen;
    if (mc_json_only(r->json, allowed, &err) != 0 ||
        mc_json_str(r->json, "account", MC_ACCOUNT_MAX, r->via_key, &target, &targetlen,
                    &err) != 0 ||
        parse_docs(json_object_get(r->json, "documents"), &x->si, &err) != 0 ||
        mc_json_str(r->json, "text", MC_SIGN_TEXT_MAX, 0, &text, &textlen, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (text != NULL && !mc_text_valid(text, textlen)) {
        mc_reply_errf(r, 400, "bad_field", "text must be UTF-8 without control characters");
        return;
    }
    if (text != NULL) {
        memcpy(x->si.text, text, textlen);
        x->si.text[textlen] = '\0';
    }
    x->ttl = SIGN_TTL_DEFAULT;
    json_t *ttl = json_object_get(r->json, "ttl");
    if (ttl != NULL) {
        if (!json_is_integer(ttl) || json_integer_value(ttl) < SIGN_TTL_MIN ||
            json_integer_value(ttl) > SIGN_TTL_MAX) {
            mc_reply_errf(r, 400, "bad_field", "ttl must be %d..%d", SIGN_TTL_MIN, SIGN_TTL_MAX);
            return;
        }
        x->ttl = (int)json_integer_value(ttl);
    }
    if (mc_api_qr_wanted(r, &x->want_svg, &x->want_png, &x->want_text) != 0)
        return;
    if (target != NULL && !mc_account_name_valid(target, targetlen)) {
        mc_reply_errf(r, 400, "bad_field", "account is not a valid account name");
        return;
    }
    if (!r->via_key) {
        if (target != NULL && (targetlen != strlen(r->who.acc.login) ||
                               memcmp(target, r->who.acc.login, targetlen) != 0)) {
            mc_reply_errf(r, 403, "not_permitted", "a holder asks only for its own signatures");
            return;
        }
        x->target = r->who.acc;
        open_on_target(r, &err);
        return;
    }
    char login[MC_ACCOUNT_MAX + 1];
    memcpy(login, target, targetlen);
    login[targetlen] = '\0';
    mc_store_account_get(r->node->store, login, &x->target, open_on_target, r);
}

static void open_on_target(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    open_ctx *x = r->hctx;
    mc_principal them = mc_api_principal(&x->target);
    mc_sign_asker asker = {r->via_key ? NULL : r->who.acc.login,
                           r->via_key ? r->key.key.org : NULL};
    int status = 0;
    const char *refused = mc_policy_may_request_sign(&asker, &them, &status);
    if (refused != NULL) {
        mc_reply_errf(r, status, refused, "this caller may not ask this account to sign");
        return;
    }
    if (x->target.cert[0] == '\0') {
        mc_reply_errf(r, 404, "not_bound", "the account has no bound certificate");
        return;
    }
    mc_store_account_view(r->node->store, x->target.org, x->target.cert, &x->view, open_on_view,
                          r);
}

static void open_on_view(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    open_ctx *x = r->hctx;
    const mc_cert_rec *c = &x->view.cert;
    if (c->fp[0] == '\0') {
        mc_reply_errf(r, 404, "not_bound", "the account's certificate is not recorded");
        return;
    }
    if (strcmp(digest_of(c->alg), x->si.docs[0].alg) != 0) {
        mc_reply_errf(r, 409, "alg_mismatch", "the account's certificate (%s) signs %s digests",
                      c->alg, digest_of(c->alg));
        return;
    }
    mc_session *s = &x->s;
    mc_api_session_new(r, s, MC_PURPOSE_SIGN, x->ttl);
    snprintf(s->account, sizeof(s->account), "%s", x->target.login);
    snprintf(s->requester, sizeof(s->requester), "%s", r->via_key ? "" : r->who.acc.login);
    const char *rname = r->via_key ? r->key.key.name : r->who.acc.name;
    mc_secret_new(x->poll);
    mc_sha256(x->poll, MC_TOKEN_SECRET_LEN, x->poll_hash);

    mc_inbox_entry e = {.match = s->match, .documents = (uint32_t)x->si.ndocs};
    snprintf(e.requester_name, sizeof(e.requester_name), "%s", rname);
    snprintf(e.text, sizeof(e.text), "%s", x->si.text);
    mc_buf entry = {0};
    mc_inbox_entry_pack(&e, &entry);
    json_t *sum = json_pack("{s:s, s:s, s:o}", "requester_name", rname, "text", x->si.text,
                            "documents", mc_api_docs_json(&x->si));
    char *summary = sum ? json_dumps(sum, JSON_COMPACT) : NULL;
    json_decref(sum);
    if (summary == NULL) {
        mc_buf_free(&entry);
        mc_reply_errf(r, 400, "bad_field", "a name is not valid UTF-8");
        return;
    }
    mc_req_caller(r, x->who, sizeof(x->who));
    mc_sign_open so = {
        .si = &x->si,
        .alg = c->alg,
        .want = c->fp,
        .apikey = r->via_key ? r->key.key.id : "",
        .entry = (const char *)entry.ptr,
        .entry_len = entry.len,
        .summary = summary,
    };
    mc_actor actor = {x->who, r->ip};
    mc_store_sign_open(r->node->store, s, x->poll_hash, x->ttl, rname, x->target.org,
                       x->view.org.name, &so, &actor, &x->opened, open_on_stored, r);
    mc_buf_free(&entry);
    free(summary);
}

static void open_on_stored(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    open_ctx *x = r->hctx;
    json_t *qr;
    if (mc_api_session_opened(r, &x->s, &x->opened, x->want_svg, x->want_png, x->want_text,
                              &qr) != 0)
        return;
    mc_reply_json(r, 201,
                  json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:I, s:i, s:o}", "sid",
                            x->s.sid, "purpose", "sign", "account", x->s.account, "poll_secret",
                            x->poll, "match", (int)x->s.match, "expires",
                            (json_int_t)x->s.expires, "ttl", (int)(x->s.expires - x->s.created),
                            "signing_time", (json_int_t)x->s.created, "documents",
                            (int)x->si.ndocs, "qr", qr));
}

/* ---- the history ---- */

static void hist_free(void *p)
{
    mc_sign_hists_free(p);
    free(p);
}

static void hist_on_read(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_sign_hists *h = r->hctx;
    json_t *a = json_array();
    for (size_t i = 0; i < h->n; i++) {
        const mc_sign_hist *e = &h->h[i];
        json_t *o = json_loads(e->summary, 0, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            continue; /* a line this version cannot read: skipped, not fatal */
        }
        const char *state = e->state;
        if (strcmp(state, "pending") == 0 && h->now >= e->expires)
            state = "expired";
        json_object_set_new(o, "sid", json_string(e->sid));
        json_object_set_new(o, "state", json_string(state));
        json_object_set_new(o, "created", json_integer(e->created));
        json_object_set_new(o, "expires", json_integer(e->expires));
        json_object_set_new(o, "answered_at", json_integer(e->answered_at));
        json_array_append_new(a, o);
    }
    mc_reply_json(r, 200, json_pack("{s:o}", "requests", a));
}

void mc_api_sign_list(mc_req *r)
{
    mc_sign_hists *h = mc_req_ctx(r, sizeof(*h), hist_free);
    if (h == NULL)
        return;
    mc_store_sign_history(r->node->store, r->who.acc.login, h, hist_on_read, r);
}

/* ---- verify ---- */

typedef struct verify_ctx {
    mc_buf cms;
    mc_buf doc;                   /* the document, if sent */
    uint8_t digest[32];           /* if sent */
    int have_digest;
    mc_err perr;                  /* the worker's: bad_cms */
    mc_cms_result res;            /* the worker's findings */
    mc_cert_rec rec;              /* the store's record of the signer */
    char who[96];
} verify_ctx;

static void verify_free(void *p)
{
    verify_ctx *x = p;
    mc_buf_free(&x->cms);
    mc_buf_free(&x->doc);
    free(x);
}

static void verify_work(void *arg);
static void verify_on_checked(void *arg, int ran);
static void verify_on_record(void *privdata, const mc_err *err);

/* Standard base64 (padded) of a JSON string into out, at most max bytes
 * decoded. 0 / -1. */
static int unbase64(json_t *s, size_t max, mc_buf *out)
{
    const char *p = json_string_value(s);
    size_t n = json_string_length(s);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '=' && i < n - 2)
            return -1;
    mc_buf_reserve(out, n / 4 * 3 + 1);
    int len = EVP_DecodeBlock(out->ptr, (const unsigned char *)p, (int)n);
    if (len < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as zero bytes */
    len -= (p[n - 1] == '=') + (p[n - 2] == '=');
    if ((size_t)len > max)
        return -1;
    out->len = (size_t)len;
    return 0;
}

void mc_api_verify(mc_req *r)
{
    static const char *const allowed[] = {"cms", "digest", "document", NULL};
    mc_err err;
    mc_err_clear(&err);
    if (r->via_key && !mc_apikey_has_scope(r->key.key.scopes, "verify") &&
        !mc_apikey_has_scope(r->key.key.scopes, "sign")) {
        mc_reply_errf(r, 403, "not_permitted", "this API key may not verify");
        return;
    }
    if (mc_json_only(r->json, allowed, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    json_t *cms = json_object_get(r->json, "cms");
    json_t *digest = json_object_get(r->json, "digest");
    json_t *doc = json_object_get(r->json, "document");
    if (!json_is_string(cms) || (digest == NULL) == (doc == NULL) ||
        (digest != NULL && !json_is_string(digest)) || (doc != NULL && !json_is_string(doc))) {
        mc_reply_errf(r, 400, "bad_field",
                      "send cms (base64) and exactly one of digest (hex) and document (base64)");
        return;
    }
    verify_ctx *x = mc_req_ctx(r, sizeof(*x), verify_free);
    if (x == NULL)
        return;
    if (unbase64(cms, MC_CMS_MAX, &x->cms) != 0) {
        mc_reply_errf(r, 400, "bad_field", "cms must be base64 of at most %d bytes", MC_CMS_MAX);
        return;
    }
    if (digest != NULL) {
        if (mc_unhex(json_string_value(digest), json_string_length(digest), x->digest, 32) != 0) {
            mc_reply_errf(r, 400, "bad_digest", "digest must be 64 hex characters");
            return;
        }
        x->have_digest = 1;
    } else if (json_string_length(doc) != 0 && unbase64(doc, 65536, &x->doc) != 0) {
        mc_reply_errf(r, 400, "bad_field", "document must be base64 of at most 65536 bytes");
        return;
    }
    if (mc_workers_submit(r->node->workers, verify_work, verify_on_checked, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; try again in a moment");
}

/* On a worker thread: touches only the verify_ctx and the (read-only)
 * trust store. */
static void verify_work(void *arg)
{
    mc_req *r = arg;
    verify_ctx *x = r->hctx;
    mc_err_clear(&x->perr);
    mc_cms_verify(r->node->trust, x->cms.ptr, x->cms.len, x->have_digest ? x->digest : NULL,
                  x->doc.ptr, x->doc.len, &x->res, &x->perr);
}

static void verify_on_checked(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    verify_ctx *x = r->hctx;
    if (x->perr.status != 0) {
        mc_reply_err(r, &x->perr);
        return;
    }
    mc_req_caller(r, x->who, sizeof(x->who));
    mc_actor actor = {x->who, r->ip};
    mc_store_verify_note(r->node->store, x->res.signer.fp_hex,
                         x->res.reason ? x->res.reason : "valid", &actor, &x->rec,
                         verify_on_record, r);
}

static void verify_on_record(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    verify_ctx *x = r->hctx;
    const char *now, *then;
    mc_cms_verdict(&x->res, x->rec.fp[0] ? x->rec.status : "", x->rec.revoked_at,
                   x->rec.superseded_at, &now, &then);
    const mc_cert_info *ci = &x->res.signer;
    char dg[65];
    mc_hex(x->res.digest, 32, dg);
    json_t *o = json_pack("{s:b, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:I, s:s, s:s, s:s, s:s}",
                          "valid", x->res.reason == NULL, "signer", "cn", ci->cn, "org_name",
                          ci->org_name, "uscc", ci->uscc, "serial", ci->serial_hex, "fp",
                          ci->fp_hex, "issuer", ci->issuer_cn, "alg", mc_alg_name(ci->alg),
                          "signing_time", (json_int_t)x->res.signing_time, "digest_alg",
                          x->res.digest_alg, "digest", dg, "status_at_signing", then,
                          "status_now", now);
    if (o != NULL && x->res.reason != NULL)
        json_object_set_new(o, "reason", json_string(x->res.reason));
    if (o != NULL && strcmp(now, "revoked") == 0)
        json_object_set_new(o, "revoked_at", json_integer(x->rec.revoked_at));
    if (o != NULL && x->rec.fp[0] != '\0' && x->rec.superseded_at > 0)
        json_object_set_new(o, "superseded_at", json_integer(x->rec.superseded_at));
    mc_reply_json(r, 200, o);
}
