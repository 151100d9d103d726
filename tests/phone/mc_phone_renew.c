/*
 * mc_phone_renew.c — the phone side of a certificate's extension (延期,
 * PROTOCOL.md §10.6, §10.7): answer a renew session with the current key,
 * keep what a lost reply needs, and install the new certificate.
 *
 * Why here: like mc_phone_enroll.c, this is the thin client the real app
 * would contain, around core's codec (mc_proto.h's 14-element TBS, the csr
 * key; mc_results.h's renew reply), with the lies of mc_phone_overrides.
 *
 * Design:
 *  - What is signed comes from the view and from the CSR actually sent
 *    (mc_phone_build_renew); it is signed with the CURRENT key: that is
 *    the proof the server asks for.
 *  - A rekey's key and CSR are made once and kept (renew.key under the
 *    PIN, renew.pub, renew.csr) until a reply decides them; the message is
 *    written to renew.msg BEFORE it is sent, so that after a lost reply
 *    the same bytes go again (mc_phone_renew_resend) and get the first
 *    result (§3.2 idempotence) — a new signature would be another message
 *    (409 session_done).
 *  - The reply is trusted only as far as it checks: fp is its leaf's, the
 *    leaf is for the key the phone expects (the current one, or the new
 *    one of a rekey), its subject and issuer are the old certificate's.
 *  - Install order: the old key and chain are archived first (keys/<old
 *    fp>.key, .crt: byte copies of key.pem and chain.pem; never deleted,
 *    never overwritten), then the new key files (rekey), then chain.pem,
 *    then renew.* are removed. A crash at any point loses nothing: the
 *    archive and renew.* hold every byte.
 *
 * Non-goals: repairing a store whose install crashed between the renames
 * (key.pem new, chain.pem old: mc_phone_open then says bad_store), a
 * second pending renewal at once, https.
 */
#include "mc_phone_int.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "mc_http.h"

#define RENEW_KEY "renew.key"
#define RENEW_PUB "renew.pub"
#define RENEW_CSR "renew.csr"
#define RENEW_MSG "renew.msg"
#define ARCHIVE_DIR "keys"

/* The renew.* files that a decided session leaves behind. */
static void drop_pending(const char *dir, int with_key)
{
    mc_phone_store_remove(dir, RENEW_MSG, NULL);
    if (with_key) {
        mc_phone_store_remove(dir, RENEW_CSR, NULL);
        mc_phone_store_remove(dir, RENEW_PUB, NULL);
        mc_phone_store_remove(dir, RENEW_KEY, NULL);
    }
}

/* The current leaf of an open phone, parsed. */
static X509 *current_leaf(const mc_phone *p, mc_phone_err *err)
{
    if (p->nchain == 0) {
        mc_phone_fail(err, 400, "no_certificate", "no certificate imported into this phone");
        return NULL;
    }
    const unsigned char *q = p->der[0].ptr;
    X509 *x = d2i_X509(NULL, &q, (long)p->der[0].len);
    if (x == NULL)
        mc_phone_fail(err, 400, "bad_store", "%s: the leaf does not parse", MC_PHONE_CHAIN_FILE);
    ERR_clear_error();
    return x;
}

/* A rekey's CSR (DER into csr): the kept one if renew.* hold a matching
 * key and CSR for this subject, else a new key of alg and a new CSR,
 * written to renew.key/.pub/.csr first. */
static int rekey_csr(const char *dir, const char *pin, mc_alg alg, X509 *leaf, mc_buf *csr,
                     mc_phone_err *err)
{
    EVP_PKEY *key = NULL, *pub = NULL;
    X509_REQ *req = NULL;
    mc_buf pem = {0}, priv = {0}, pubpem = {0};
    BIO *b = NULL;
    mc_err e = {0};
    int missing = 0, rc = -1;

    /* the kept ones: renew.pub, and a CSR for it with the leaf's subject */
    if (mc_phone_store_read(dir, RENEW_CSR, &pem, &missing, err) == 0 &&
        (pub = mc_phone_store_pub(dir, RENEW_PUB, err)) != NULL) {
        b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
        req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
        EVP_PKEY *rpub = req ? X509_REQ_get0_pubkey(req) : NULL;
        unsigned char *d = NULL;
        int n;
        if (rpub != NULL && EVP_PKEY_eq(rpub, pub) == 1 && mc_pkey_alg(pub) == alg &&
            X509_NAME_cmp(X509_REQ_get_subject_name(req), X509_get_subject_name(leaf)) == 0 &&
            (n = i2d_X509_REQ(req, &d)) > 0) {
            /* its private half must still open with this PIN */
            key = mc_phone_store_key(dir, RENEW_KEY, pin, err);
            if (key != NULL && EVP_PKEY_eq(key, pub) == 1) {
                mc_buf_append(csr, d, (size_t)n);
                rc = 0;
            }
            OPENSSL_free(d);
            if (rc == 0 || (err != NULL && strcmp(err->code, "bad_pin") == 0))
                goto done;
        }
        EVP_PKEY_free(key);
        key = NULL;
    }
    mc_phone_err_clear(err);
    /* a new key and CSR */
    key = mc_keygen(alg, &e);
    if (key == NULL) {
        mc_phone_err_from(err, &e);
        goto done;
    }
    if (mc_phone_csr_make(key, X509_get_subject_name(leaf), csr, err) != 0 ||
        mc_phone_key_pems(key, pin, &priv, &pubpem, err) != 0)
        goto done;
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    const unsigned char *q = csr->ptr;
    X509_REQ_free(req);
    req = d2i_X509_REQ(NULL, &q, (long)csr->len);
    mc_buf_free(&pem);
    if (b == NULL || req == NULL || PEM_write_bio_X509_REQ(b, req) != 1) {
        mc_phone_fail(err, 500, "internal", "cannot encode the CSR");
        goto done;
    }
    char *bp = NULL;
    long bn = BIO_get_mem_data(b, &bp);
    mc_buf_append(&pem, bp, bn > 0 ? (size_t)bn : 0);
    /* the private key last: a renew.pub/.csr without it is not taken */
    mc_phone_store_remove(dir, RENEW_KEY, NULL);
    if (mc_phone_store_write(dir, RENEW_PUB, pubpem.ptr, pubpem.len, 0644, err) != 0 ||
        mc_phone_store_write(dir, RENEW_CSR, pem.ptr, pem.len, 0644, err) != 0 ||
        mc_phone_store_write(dir, RENEW_KEY, priv.ptr, priv.len, 0600, err) != 0)
        goto done;
    rc = 0;
done:
    ERR_clear_error();
    if (rc != 0)
        csr->len = 0;
    BIO_free(b);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    mc_buf_free(&pem);
    mc_buf_free_secure(&priv);
    mc_buf_free(&pubpem);
    return rc;
}

/* The reply's chain checked against what was asked: fp its leaf's, the
 * leaf for `want` (the key certified), with the old leaf's subject and
 * issuer. xs[0..*n) get the parsed chain (caller frees). */
static int check_reply(const mc_renew_result *rr, X509 *old, EVP_PKEY *want, X509 **xs,
                       size_t *n, mc_phone_err *err)
{
    uint8_t fp[32];
    char hex[65];
    *n = 0;
    if (mc_cert_fingerprint(rr->chain[0].ptr, rr->chain[0].len, fp) != 0 ||
        (mc_hex(fp, 32, hex), strcmp(hex, rr->fp) != 0))
        return mc_phone_fail(err, 502, "bad_reply", "the reply's fp is not its leaf's");
    for (size_t i = 0; i < rr->nchain; i++) {
        const unsigned char *q = rr->chain[i].ptr;
        X509 *x = d2i_X509(NULL, &q, (long)rr->chain[i].len);
        if (x == NULL || q != rr->chain[i].ptr + rr->chain[i].len) {
            X509_free(x);
            ERR_clear_error();
            return mc_phone_fail(err, 502, "bad_reply", "certificate %zu of the chain is not DER",
                                 i);
        }
        xs[(*n)++] = x;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(xs[0]), want) != 1)
        return mc_phone_fail(err, 502, "key_mismatch",
                             "the new certificate is not for the key this phone asked for");
    if (X509_NAME_cmp(X509_get_subject_name(xs[0]), X509_get_subject_name(old)) != 0)
        return mc_phone_fail(err, 502, "subject_mismatch",
                             "the new certificate's subject is not the old one's");
    if (X509_NAME_cmp(X509_get_issuer_name(xs[0]), X509_get_issuer_name(old)) != 0)
        return mc_phone_fail(err, 502, "bad_reply",
                             "the new certificate has another issuer than the old one");
    ERR_clear_error();
    return 0;
}

/* Archive name of a certificate's file: "keys/<fp hex>.<ext>". */
static void archive_name(char *out, size_t size, const char *fp_hex, const char *ext)
{
    snprintf(out, size, "%s/%s.%s", ARCHIVE_DIR, fp_hex, ext);
}

/* Copy the store file `from` to the archive file `to` unless it is there
 * already (a repeated install keeps the first copy). */
static int archive_copy(const char *dir, const char *from, const char *to, mode_t mode,
                        mc_phone_err *err)
{
    mc_buf have = {0}, data = {0};
    int missing = 0, rc = -1;
    if (mc_phone_store_read(dir, to, &have, &missing, NULL) == 0) {
        rc = 0; /* never overwritten */
        goto done;
    }
    if (mc_phone_store_read(dir, from, &data, NULL, err) != 0 ||
        mc_phone_store_write(dir, to, data.ptr, data.len, mode, err) != 0)
        goto done;
    rc = 0;
done:
    mc_buf_free_secure(&have);
    mc_buf_free_secure(&data);
    return rc;
}

/* Archive the current key and chain under old_fp, then make the new
 * chain (and, for a rekey, renew.key/.pub/.csr) current. */
static int install(const char *dir, const char *old_fp, X509 *const *xs, size_t n, int rekey,
                   mc_phone_err *err)
{
    char kname[96], cname[96];
    mc_buf pem = {0}, data = {0};
    int rc = -1;
    archive_name(kname, sizeof(kname), old_fp, "key");
    archive_name(cname, sizeof(cname), old_fp, "crt");
    if (mc_phone_store_mkdir(dir, ARCHIVE_DIR, err) != 0 ||
        archive_copy(dir, MC_PHONE_KEY_FILE, kname, 0600, err) != 0 ||
        archive_copy(dir, MC_PHONE_CHAIN_FILE, cname, 0644, err) != 0)
        goto done;
    if (mc_phone_chain_pem(xs, n, &pem, err) != 0)
        goto done;
    if (rekey) {
        static const struct {
            const char *from, *to;
            mode_t mode;
        } moves[] = {
            {RENEW_PUB, MC_PHONE_PUB_FILE, 0644},
            {RENEW_CSR, MC_PHONE_CSR_FILE, 0644},
            {RENEW_KEY, MC_PHONE_KEY_FILE, 0600},
        };
        for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
            data.len = 0;
            if (mc_phone_store_read(dir, moves[i].from, &data, NULL, err) != 0 ||
                mc_phone_store_write(dir, moves[i].to, data.ptr, data.len, moves[i].mode,
                                     err) != 0)
                goto done;
        }
    }
    if (mc_phone_store_write(dir, MC_PHONE_CHAIN_FILE, pem.ptr, pem.len, 0644, err) != 0)
        goto done;
    drop_pending(dir, 1);
    rc = 0;
done:
    mc_buf_free(&pem);
    mc_buf_free_secure(&data);
    return rc;
}

/* Send body (a renew answer), then decide the kept files by the reply and
 * install an approval. p is the open phone (its current key and chain),
 * old its leaf (current_leaf). */
static int send_answer(const char *dir, const mc_phone *p, X509 *old, const char *base,
                       const uint8_t *body, size_t len, const mc_phone_overrides *ov,
                       mc_phone_renewed *out, mc_phone_err *err)
{
    char url[MC_PHONE_URL_MAX];
    mc_http_reply reply = {0};
    mc_response m;
    mc_renew_result rr;
    X509 *xs[MC_CHAIN_MAX];
    EVP_PKEY *want = NULL;
    X509_REQ *req = NULL;
    size_t nx = 0;
    mc_err e = {0};
    int rc = -1;

    /* what was sent: its session, and the key its CSR (if any) certifies */
    if (mc_response_decode(body, len, &m, &e) != 0)
        return mc_phone_fail(err, 400, "bad_request", "the answer does not decode: %s", e.msg);
    mc_hex(p->fp, 32, out->old_fp);
    out->rekey = m.has_csr && m.csr.len != 0;
    if (out->rekey) {
        const unsigned char *q = m.csr.ptr;
        req = d2i_X509_REQ(NULL, &q, (long)m.csr.len);
        want = req ? X509_REQ_get_pubkey(req) : NULL;
        ERR_clear_error();
    } else {
        want = p->key;
        EVP_PKEY_up_ref(want);
    }
    char path[32 + MC_SID_LEN];
    snprintf(path, sizeof(path), "/m/v1/sessions/%s/response", m.sid);
    if (mc_phone_url(url, sizeof(url), base, path, err) != 0)
        goto done;
    if (mc_phone_api_call("POST", url, body, len, &reply, err) != 0) {
        /* a refusal decides the session (4xx): the kept message is spent;
         * a lost reply or a 5xx may not have: keep it for a resend */
        if (err != NULL && err->remote && err->status >= 400 && err->status < 500 &&
            !ov->renew_no_keep)
            drop_pending(dir, 0);
        goto done;
    }
    if (mc_result_renew_decode(reply.body.ptr, reply.body.len, &rr, &e) != 0) {
        mc_phone_fail(err, 502, "bad_reply", "renew result: %s", e.msg);
        goto done;
    }
    snprintf(out->state, sizeof(out->state), "%s", rr.state);
    snprintf(out->account, sizeof(out->account), "%s", rr.account);
    if (strcmp(rr.state, "rejected") == 0) {
        if (!ov->renew_no_install)
            drop_pending(dir, 1);
        rc = 0;
        goto done;
    }
    snprintf(out->fp, sizeof(out->fp), "%s", rr.fp);
    if (want == NULL) {
        mc_phone_fail(err, 400, "bad_request", "the kept answer's CSR does not parse");
        goto done;
    }
    if (check_reply(&rr, old, want, xs, &nx, err) != 0)
        goto done;
    if (!ov->renew_no_install) {
        if (install(dir, out->old_fp, xs, nx, out->rekey, err) != 0)
            goto done;
        out->installed = 1;
    }
    rc = 0;
done:
    for (size_t i = 0; i < nx; i++)
        X509_free(xs[i]);
    X509_REQ_free(req);
    EVP_PKEY_free(want);
    mc_http_reply_free(&reply);
    return rc;
}

int mc_phone_renew(const char *dir, const char *pin, const char *base,
                   const mc_session_view *v, mc_phone_decision decision, uint32_t number,
                   int rekey, const mc_phone_overrides *ov, mc_phone_renewed *out,
                   mc_phone_err *err)
{
    static const mc_phone_overrides none;
    mc_phone_renewed got;
    mc_buf csr = {0}, body = {0};
    X509 *leaf = NULL;
    int rc = -1;

    mc_phone_err_clear(err);
    memset(&got, 0, sizeof(got));
    if (ov == NULL)
        ov = &none;
    if (v == NULL || v->s.purpose != MC_PURPOSE_RENEW || v->renew == NULL)
        return mc_phone_fail(err, 400, "bad_request", "not a renew view");
    mc_phone *p = mc_phone_open(dir, pin, err);
    if (p == NULL)
        return -1;
    if ((leaf = current_leaf(p, err)) == NULL)
        goto done;
    if (rekey && decision == MC_PHONE_APPROVE &&
        rekey_csr(dir, pin, p->alg, leaf, &csr, err) != 0)
        goto done;
    if (ov->raw_body != NULL) {
        mc_buf_append(&body, ov->raw_body, ov->raw_len);
    } else if (mc_phone_build_renew(p, v, decision, number, (mc_slice){csr.ptr, csr.len}, ov,
                                    NULL, &body, err) != 0) {
        goto done;
    }
    /* kept before it is sent: a lost reply is answered by these bytes */
    if (!ov->renew_no_keep && ov->raw_body == NULL &&
        mc_phone_store_write(dir, RENEW_MSG, body.ptr, body.len, 0600, err) != 0)
        goto done;
    rc = send_answer(dir, p, leaf, base, body.ptr, body.len, ov, &got, err);
done:
    if (out != NULL)
        *out = got;
    X509_free(leaf);
    mc_phone_free(p);
    mc_buf_free(&csr);
    mc_buf_free(&body);
    return rc;
}

int mc_phone_renew_pending(const char *dir, int *has, char sid[MC_SID_LEN + 1], int *rekey,
                           mc_phone_err *err)
{
    mc_buf msg = {0};
    mc_response m;
    mc_err e = {0};
    int missing = 0, rc = -1;

    mc_phone_err_clear(err);
    *has = 0;
    sid[0] = '\0';
    if (rekey != NULL)
        *rekey = 0;
    if (mc_phone_store_read(dir, RENEW_MSG, &msg, &missing, err) != 0) {
        if (missing) {
            mc_phone_err_clear(err);
            rc = 0;
        }
        goto done;
    }
    if (mc_response_decode(msg.ptr, msg.len, &m, &e) != 0) {
        mc_phone_fail(err, 400, "bad_store", "%s: %s", RENEW_MSG, e.msg);
        goto done;
    }
    *has = 1;
    memcpy(sid, m.sid, MC_SID_LEN + 1);
    if (rekey != NULL)
        *rekey = m.has_csr && m.csr.len != 0;
    rc = 0;
done:
    mc_buf_free(&msg);
    return rc;
}

int mc_phone_renew_resend(const char *dir, const char *pin, const char *base,
                          const mc_phone_overrides *ov, mc_phone_renewed *out,
                          mc_phone_err *err)
{
    static const mc_phone_overrides none;
    mc_phone_renewed got;
    mc_buf msg = {0};
    X509 *leaf = NULL;
    int missing = 0, rc = -1;

    mc_phone_err_clear(err);
    memset(&got, 0, sizeof(got));
    if (ov == NULL)
        ov = &none;
    mc_phone *p = mc_phone_open(dir, pin, err);
    if (p == NULL)
        return -1;
    if (mc_phone_store_read(dir, RENEW_MSG, &msg, &missing, err) != 0) {
        if (missing)
            mc_phone_fail(err, 404, "not_found", "no renewal answer is kept in this store");
        goto done;
    }
    if ((leaf = current_leaf(p, err)) == NULL)
        goto done;
    got.resent = 1;
    rc = send_answer(dir, p, leaf, base, msg.ptr, msg.len, ov, &got, err);
done:
    if (out != NULL)
        *out = got;
    X509_free(leaf);
    mc_phone_free(p);
    mc_buf_free(&msg);
    return rc;
}
