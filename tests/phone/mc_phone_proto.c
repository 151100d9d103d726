/*
 * mc_phone_proto.c — the phone side of a session: fetch the details, build
 * and sign the response, post it, read the outcome.
 *
 * Why here and not in core: core/proto/mc_proto.c encodes and decodes the
 * messages and has no I/O; this file is the thin client around it that the
 * real app would contain, plus the hooks (mc_phone_overrides) that let tests
 * play a hostile phone.
 *
 * Design: what is signed is rebuilt from the server's view, never typed in:
 * purpose, sid, nonce, origin, account and expiry come from the session view,
 * cert_fp from the leaf actually sent, number and decision from the user.
 * Every override is applied at exactly one of three places (TBS, message,
 * transport) so that each test lie changes one thing only.
 *
 * A sign session (PROTOCOL.md §8.6) is answered the same way, with two more
 * TBS elements (the view's documents and signing_time) and, on approval,
 * one signature per document over the 107 bytes of its CMS signed
 * attributes, rebuilt from the view's digest and signing time: the phone
 * never signs bytes it was handed opaque.
 *
 * A renew session (PROTOCOL.md §10.6) is answered with the 14-element TBS
 * (the view's renewal and new_not_after, and the SHA-256 of the CSR the
 * message carries, or bin(0)) and the csr key; mc_phone_renew.c keeps the
 * message and installs the result.
 *
 * Non-goals: retries (a response is single-use; the server decides), the
 * enroll purpose, cosign.
 */
#include "mc_phone_int.h"

#include <stdio.h>
#include <string.h>

#include "mc_cms.h"
#include "mc_http.h"

int mc_phone_url(char *out, size_t size, const char *base, const char *path,
                 mc_phone_err *err)
{
    size_t blen = base != NULL ? strlen(base) : 0;
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (blen == 0)
        return mc_phone_fail(err, 400, "bad_url", "no base URL");
    int n = snprintf(out, size, "%.*s%s", (int)blen, base, path);
    if (n < 0 || (size_t)n >= size)
        return mc_phone_fail(err, 400, "bad_url", "URL too long");
    return 0;
}

/* "<base>/m/v1/sessions/<sid><suffix>". */
static int session_url(char *out, size_t size, const char *base, const char *sid,
                       const char *suffix, mc_phone_err *err)
{
    char path[MC_PHONE_URL_MAX];
    if (sid == NULL)
        return mc_phone_fail(err, 400, "bad_url", "no sid");
    int n = snprintf(path, sizeof(path), "/m/v1/sessions/%s%s", sid, suffix);
    if (n < 0 || (size_t)n >= sizeof(path))
        return mc_phone_fail(err, 400, "bad_url", "URL too long");
    return mc_phone_url(out, size, base, path, err);
}

/* A non-200 reply: the server's {code, message}, or http_error if its body
 * is not one. */
static int remote_error(const mc_http_reply *r, mc_phone_err *err)
{
    if (err == NULL)
        return -1;
    err->status = r->status;
    err->remote = 1;
    if (mc_error_decode(r->body.ptr, r->body.len, err->code, sizeof(err->code),
                        err->msg, sizeof(err->msg)) != 0 ||
        err->code[0] == '\0') {
        snprintf(err->code, sizeof(err->code), "http_error");
        char shown[64];
        mc_copy_printable(shown, sizeof(shown), (const char *)r->body.ptr,
                          r->body.len < 48 ? r->body.len : 48);
        snprintf(err->msg, sizeof(err->msg), "HTTP %d, undecodable body: %s",
                 r->status, shown);
    }
    return -1;
}

int mc_phone_api_call(const char *method, const char *url, const void *body, size_t len,
                      mc_http_reply *reply, mc_phone_err *err)
{
    static const char *const get_headers[] = {"Accept: " MSGPACK_TYPE, NULL};
    static const char *const post_headers[] = {"Content-Type: " MSGPACK_TYPE,
                                               "Accept: " MSGPACK_TYPE, NULL};
    mc_err e = {0};
    if (mc_http_request(method, url, strcmp(method, "GET") == 0 ? get_headers : post_headers,
                        body, len, MC_PHONE_TIMEOUT_S, reply, &e) != 0) {
        mc_phone_err_from(err, &e);
        return -1;
    }
    if (reply->status != 200)
        return remote_error(reply, err);
    return 0;
}

int mc_phone_fetch(const char *base, const char *sid, mc_session_view *out,
                   mc_phone_err *err)
{
    return mc_phone_fetch_any(base, sid, out, NULL, err);
}

int mc_phone_fetch_any(const char *base, const char *sid, mc_session_view *out,
                       mc_sign_info *si, mc_phone_err *err)
{
    return mc_phone_fetch_ex(base, sid, out, si, NULL, err);
}

int mc_phone_fetch_ex(const char *base, const char *sid, mc_session_view *out,
                      mc_sign_info *si, mc_renew_info *ri, mc_phone_err *err)
{
    char url[MC_PHONE_URL_MAX];
    mc_http_reply reply = {0};
    mc_err e = {0};
    int rc = -1;

    mc_phone_err_clear(err);
    memset(out, 0, sizeof(*out));
    out->sign = si; /* mc_view_decode fills them (zeroed for other purposes) */
    out->renew = ri;
    if (si != NULL)
        memset(si, 0, sizeof(*si));
    if (ri != NULL)
        memset(ri, 0, sizeof(*ri));
    if (sid == NULL || !mc_sid_valid(sid, strlen(sid)))
        return mc_phone_fail(err, 400, "bad_sid", "not a session id");
    if (session_url(url, sizeof(url), base, sid, "", err) != 0)
        return -1;
    if (mc_phone_api_call("GET", url, NULL, 0, &reply, err) != 0)
        goto done;
    if (mc_view_decode(reply.body.ptr, reply.body.len, out, &e) != 0) {
        mc_phone_fail(err, 502, "bad_reply", "session view: %s", e.msg);
        goto done;
    }
    if (strcmp(out->s.sid, sid) != 0) {
        mc_phone_fail(err, 502, "bad_reply", "the server sent another session");
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        out->sign = si;
        out->renew = ri;
        if (si != NULL)
            memset(si, 0, sizeof(*si));
        if (ri != NULL)
            memset(ri, 0, sizeof(*ri));
    }
    mc_http_reply_free(&reply);
    return rc;
}

int mc_phone_number_ok(const mc_session_view *v, uint32_t number)
{
    for (size_t i = 0; v != NULL && i < 3; i++) {
        if (v->s.choices[i] == number)
            return 1;
    }
    return 0;
}

/* Copy an override into a fixed message field; -1 if it does not fit. */
static int set_field(char *dst, size_t size, const char *src, const char *what,
                     mc_phone_err *err)
{
    size_t n = strlen(src);
    if (n >= size)
        return mc_phone_fail(err, 400, "bad_override",
                             "%s longer than the message field allows (%zu)", what,
                             size - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

/* The document signatures of a sign answer into sigs[]/lens[] (storage of
 * MC_DOCS_MAX), *n of them, for what the message will carry: one per
 * document over its signed attributes on approval, none on a reject, then
 * the doc_* lies. tbs_sig is the session signature (the filler when a lie
 * wants signatures and there are no documents). */
static int build_doc_sigs(EVP_PKEY *key, const mc_session_view *v, int approve,
                          const mc_phone_overrides *ov, const uint8_t *tbs_sig, size_t tbs_siglen,
                          uint8_t sigs[][MC_SIG_MAX], size_t *lens, size_t *n,
                          mc_phone_err *err)
{
    uint8_t mine[MC_DOCS_MAX][MC_SIG_MAX];
    size_t mylen[MC_DOCS_MAX];
    size_t nd = 0;
    mc_err e = {0};

    *n = 0;
    if (v->s.purpose == MC_PURPOSE_SIGN && v->sign != NULL && approve)
        nd = v->sign->ndocs <= MC_DOCS_MAX ? v->sign->ndocs : MC_DOCS_MAX;
    for (size_t i = 0; i < nd; i++) {
        const mc_doc *d = &v->sign->docs[i];
        uint8_t attrs[MC_CMS_ATTRS_LEN];
        const uint8_t *digest =
            ov->doc_digest != NULL && ov->doc_digest_index == i ? ov->doc_digest : d->digest;
        int64_t when = ov->set_doc_signing_time ? ov->doc_signing_time : v->sign->signing_time;
        if (mc_cms_signed_attrs(when, digest, attrs, &e) != 0 ||
            mc_sign(key, attrs, sizeof(attrs), mine[i], &mylen[i], &e) != 0) {
            mc_phone_err_from(err, &e);
            return -1;
        }
    }
    /* Order: doc_sig_order first, then the rest in order. */
    size_t count = ov->set_doc_sigs_count ? ov->doc_sigs_count : nd;
    if (count > MC_DOCS_MAX)
        return mc_phone_fail(err, 400, "bad_override", "doc_sigs_count over %d", MC_DOCS_MAX);
    if (ov->doc_sig_order_len > MC_DOCS_MAX)
        return mc_phone_fail(err, 400, "bad_override", "doc_sig_order too long");
    for (size_t i = 0; i < count; i++) {
        const uint8_t *src = tbs_sig;
        size_t len = tbs_siglen;
        if (nd > 0) {
            size_t j = i % nd;
            if (ov->doc_sig_order != NULL && i < ov->doc_sig_order_len) {
                j = ov->doc_sig_order[i];
                if (j >= nd)
                    return mc_phone_fail(err, 400, "bad_override",
                                         "doc_sig_order[%zu] = %zu, only %zu documents", i, j,
                                         nd);
            }
            src = mine[j];
            len = mylen[j];
        }
        memcpy(sigs[i], src, len);
        lens[i] = len;
    }
    *n = count;
    return 0;
}

/* msgpack_packer_write into an mc_buf (aborts on OOM, never fails). */
static int buf_write(void *data, const char *p, size_t n)
{
    mc_buf_append((mc_buf *)data, p, n);
    return 0;
}

/* The doc_sigs key against the message's purpose (ov->doc_sigs_key): the
 * encoder writes it iff the purpose is "sign", as its last key, so a lie
 * either appends it (map 8 -> 9) or cuts it off (map 9 -> 8) the message
 * that starts at body->ptr[start]. */
static int apply_doc_sigs_key(const mc_response *r, int lie, mc_buf *body, size_t start,
                              mc_phone_err *err)
{
    int has = strcmp(r->purpose, "sign") == 0;
    /* the map header without doc_sigs: 8 keys, 9 with csr */
    const uint8_t bare_hdr = (uint8_t)(0x88 + (r->has_csr != 0));
    if (lie == 0 || (lie > 0) == has)
        return 0;
    if (lie > 0) { /* add it: the signatures r holds */
        if (body->ptr[start] != bare_hdr)
            return mc_phone_fail(err, 500, "internal", "unexpected response encoding");
        body->ptr[start] = (uint8_t)(bare_hdr + 1);
        msgpack_packer pk;
        msgpack_packer_init(&pk, body, buf_write);
        msgpack_pack_str(&pk, 8);
        msgpack_pack_str_body(&pk, "doc_sigs", 8);
        msgpack_pack_array(&pk, r->ndoc_sigs);
        for (size_t i = 0; i < r->ndoc_sigs; i++) {
            msgpack_pack_bin(&pk, r->doc_sigs[i].len);
            msgpack_pack_bin_body(&pk, r->doc_sigs[i].ptr, r->doc_sigs[i].len);
        }
        return 0;
    }
    /* drop it: re-encode without signatures, and cut "doc_sigs" [] off */
    static const uint8_t tail[] = {0xa8, 'd', 'o', 'c', '_', 's', 'i', 'g', 's', 0x90};
    mc_response bare = *r;
    bare.ndoc_sigs = 0;
    body->len = start;
    mc_response_encode(&bare, body);
    if (body->ptr[start] != bare_hdr + 1 || body->len - start < sizeof(tail) ||
        memcmp(body->ptr + body->len - sizeof(tail), tail, sizeof(tail)) != 0)
        return mc_phone_fail(err, 500, "internal", "unexpected response encoding");
    body->ptr[start] = bare_hdr;
    body->len -= sizeof(tail);
    return 0;
}

/* The renew TBS elements of view tv for the CSR sent (csr), with the
 * renewal lies; NULL when tv is not a renew view or a lie drops them. */
static const mc_renew_tbs *renew_tbs(const mc_session_view *tv, mc_slice csr,
                                     const mc_phone_overrides *ov, mc_renew_tbs *rt)
{
    if (tv->s.purpose != MC_PURPOSE_RENEW || tv->renew == NULL || ov->tbs_no_renew)
        return NULL;
    memset(rt, 0, sizeof(*rt));
    rt->renewal = ov->tbs_renewal ? ov->tbs_renewal : tv->renew->renewal;
    rt->new_not_after =
        ov->set_tbs_new_not_after ? ov->tbs_new_not_after : tv->renew->new_not_after;
    if (ov->tbs_csr_hash != NULL) {
        memcpy(rt->csr_hash, ov->tbs_csr_hash, 32);
        rt->has_csr = 1;
    } else if (csr.len != 0) {
        mc_sha256(csr.ptr, csr.len, rt->csr_hash);
        rt->has_csr = 1;
    }
    if (ov->tbs_csr_empty)
        rt->has_csr = 0;
    return rt;
}

int mc_phone_build(const mc_phone *p, const mc_session_view *v,
                   mc_phone_decision decision, uint32_t number,
                   const mc_phone_overrides *ov, mc_buf *tbs_out, mc_buf *body,
                   mc_phone_err *err)
{
    return mc_phone_build_renew(p, v, decision, number, (mc_slice){NULL, 0}, ov, tbs_out, body,
                                err);
}

int mc_phone_build_renew(const mc_phone *p, const mc_session_view *v,
                         mc_phone_decision decision, uint32_t number, mc_slice csr,
                         const mc_phone_overrides *ov, mc_buf *tbs_out, mc_buf *body,
                         mc_phone_err *err)
{
    static const mc_phone_overrides none;
    mc_renew_tbs rt;
    mc_response r;
    mc_buf tbs = {0};
    uint8_t fp[32], sig[MC_SIG_MAX];
    uint8_t doc_sigs[MC_DOCS_MAX][MC_SIG_MAX];
    size_t doc_lens[MC_DOCS_MAX];
    const uint8_t *leaf_fp;
    size_t siglen = 0;
    mc_err e = {0};
    int rc = -1;

    mc_phone_err_clear(err);
    memset(&r, 0, sizeof(r));
    if (ov == NULL)
        ov = &none;
    const char *dec = decision == MC_PHONE_APPROVE ? "approve"
                      : decision == MC_PHONE_REJECT ? "reject" : NULL;
    if (dec == NULL || v == NULL)
        return mc_phone_fail(err, 400, "bad_request", "no view or no decision");
    if (v->s.purpose == MC_PURPOSE_SIGN && v->sign == NULL)
        return mc_phone_fail(err, 400, "bad_request", "a sign view without its documents");
    if (v->s.purpose == MC_PURPOSE_RENEW && v->renew == NULL)
        return mc_phone_fail(err, 400, "bad_request", "a renew view without its renewal");
    /* What the message carries as csr: the true one, or a lie. */
    mc_slice sent_csr = ov->renew_csr != NULL ? *ov->renew_csr : csr;
    if (sent_csr.len > MC_RENEW_CSR_MAX)
        return mc_phone_fail(err, 400, "bad_override", "csr over %d bytes", MC_RENEW_CSR_MAX);
    if (ov->chain != NULL) {
        if (ov->nchain == 0 || ov->nchain > MC_CHAIN_MAX)
            return mc_phone_fail(err, 400, "bad_override", "chain of 1..%d certificates",
                                 MC_CHAIN_MAX);
        r.nchain = ov->nchain;
        memcpy(r.chain, ov->chain, r.nchain * sizeof(r.chain[0]));
        /* A leaf that is not one DER certificate (a test's garbage) has no
         * fingerprint; any value will do, the server refuses the chain first. */
        if (mc_cert_fingerprint(r.chain[0].ptr, r.chain[0].len, fp) != 0)
            mc_sha256(r.chain[0].ptr, r.chain[0].len, fp);
        leaf_fp = fp;
    } else {
        r.nchain = mc_phone_chain(p, r.chain, MC_CHAIN_MAX);
        leaf_fp = p != NULL ? p->fp : NULL; /* hashed once, at open */
    }
    if (r.nchain == 0)
        return mc_phone_fail(err, 400, "no_certificate",
                             "no certificate imported into this phone");
    EVP_PKEY *key = ov->sign_key ? ov->sign_key : mc_phone_key(p);
    if (key == NULL)
        return mc_phone_fail(err, 400, "bad_request", "no key to sign with");

    /* What is signed: the view's data (or another view's, a lie), the sent
     * leaf, the user's choice. */
    const mc_session_view *tv = ov->tbs_view ? ov->tbs_view : v;
    const mc_sign_info *tsign = tv->s.purpose == MC_PURPOSE_SIGN ? tv->sign : NULL;
    if (ov->tbs_sign != NULL)
        tsign = ov->tbs_sign;
    if (ov->tbs_no_docs)
        tsign = NULL;
    mc_tbs t = {
        .purpose = ov->tbs_purpose ? ov->tbs_purpose : mc_purpose_name(tv->s.purpose),
        .sid = ov->tbs_sid ? ov->tbs_sid : tv->s.sid,
        .nonce = ov->tbs_nonce ? ov->tbs_nonce : tv->s.nonce,
        .origin = ov->tbs_origin ? ov->tbs_origin : tv->s.origin,
        .account = ov->tbs_account ? ov->tbs_account : tv->s.account,
        .expires = ov->set_tbs_expires ? ov->tbs_expires : tv->s.expires,
        .cert_fp = ov->tbs_cert_fp ? ov->tbs_cert_fp : leaf_fp,
        .number = ov->set_tbs_number ? ov->tbs_number : number,
        .decision = ov->tbs_decision ? ov->tbs_decision : dec,
        .sign = tsign,
        .renew = renew_tbs(tv, sent_csr, ov, &rt),
    };
    mc_tbs_encode(&t, &tbs);
    if (mc_sign(key, tbs.ptr, tbs.len, sig, &siglen, &e) != 0) {
        mc_phone_err_from(err, &e);
        goto done;
    }
    if (ov->sig != NULL) {
        if (ov->sig->len > sizeof(sig)) {
            mc_phone_fail(err, 400, "bad_override", "signature over %d bytes", MC_SIG_MAX);
            goto done;
        }
        memcpy(sig, ov->sig->ptr, ov->sig->len);
        siglen = ov->sig->len;
    }
    if (ov->corrupt_sig && siglen > 0)
        sig[siglen - 1] ^= 1;
    if (build_doc_sigs(key, v, decision == MC_PHONE_APPROVE, ov, sig, siglen, doc_sigs,
                       doc_lens, &r.ndoc_sigs, err) != 0)
        goto done;
    for (size_t i = 0; i < r.ndoc_sigs; i++)
        r.doc_sigs[i] = (mc_slice){doc_sigs[i], doc_lens[i]};

    /* What is sent: the true values unless a msg_* lie says otherwise. */
    r.v = ov->set_msg_version ? ov->msg_version : MC_PROTO_VERSION;
    if (set_field(r.sid, sizeof(r.sid), ov->msg_sid ? ov->msg_sid : v->s.sid, "sid",
                  err) != 0 ||
        set_field(r.purpose, sizeof(r.purpose),
                  ov->msg_purpose ? ov->msg_purpose : mc_purpose_name(v->s.purpose),
                  "purpose", err) != 0 ||
        set_field(r.origin, sizeof(r.origin), ov->msg_origin ? ov->msg_origin : v->s.origin,
                  "origin", err) != 0 ||
        set_field(r.decision, sizeof(r.decision), ov->msg_decision ? ov->msg_decision : dec,
                  "decision", err) != 0)
        goto done;
    r.number = ov->set_msg_number ? ov->msg_number : number;
    r.sig = (mc_slice){sig, siglen};
    r.has_csr = ov->csr_key > 0 || (ov->csr_key == 0 && strcmp(r.purpose, "renew") == 0);
    r.csr = sent_csr;
    size_t start = body->len;
    mc_response_encode(&r, body);
    if (apply_doc_sigs_key(&r, ov->doc_sigs_key, body, start, err) != 0) {
        body->len = start;
        goto done;
    }
    if (tbs_out != NULL)
        mc_buf_append(tbs_out, tbs.ptr, tbs.len);
    rc = 0;
done:
    mc_buf_free(&tbs);
    return rc;
}

int mc_phone_respond(const mc_phone *p, const char *base,
                     const mc_session_view *v, mc_phone_decision decision,
                     uint32_t number, const mc_phone_overrides *ov,
                     mc_phone_result *result, mc_phone_err *err)
{
    char url[MC_PHONE_URL_MAX];
    mc_buf body = {0};
    mc_http_reply reply = {0};
    mc_phone_result res;
    mc_err e = {0};
    const void *send;
    size_t sendlen;
    int rc = -1;

    mc_phone_err_clear(err);
    memset(&res, 0, sizeof(res));
    if (result != NULL)
        memset(result, 0, sizeof(*result));
    const char *sid = ov && ov->url_sid ? ov->url_sid : v ? v->s.sid : NULL;
    if (session_url(url, sizeof(url), base, sid, "/response", err) != 0)
        return -1;
    if (ov != NULL && ov->raw_body != NULL) {
        send = ov->raw_body;
        sendlen = ov->raw_len;
    } else {
        if (mc_phone_build(p, v, decision, number, ov, NULL, &body, err) != 0)
            goto done;
        send = body.ptr;
        sendlen = body.len;
    }
    if (mc_phone_api_call("POST", url, send, sendlen, &reply, err) != 0)
        goto done;
    if (mc_result_decode(reply.body.ptr, reply.body.len, res.state, sizeof(res.state),
                         res.account, sizeof(res.account), &e) != 0) {
        mc_phone_fail(err, 502, "bad_reply", "result: %s", e.msg);
        goto done;
    }
    /* A 200 means the server took the answer; nothing else may come with it. */
    if (strcmp(res.state, "approved") != 0 && strcmp(res.state, "rejected") != 0) {
        mc_phone_fail(err, 502, "bad_reply", "result: state is not approved or rejected");
        goto done;
    }
    if (result != NULL)
        *result = res;
    rc = 0;
done:
    mc_http_reply_free(&reply);
    mc_buf_free(&body);
    return rc;
}
