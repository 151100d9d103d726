/*
 * mc_phone_enroll.c — the phone side of enrollment (PROTOCOL.md §9.7):
 * send the store's CSR with the application's id and the activation code,
 * and keep the chain that comes back.
 *
 * Why here: like mc_phone_proto.c, this is the thin client the real app
 * would contain, around core's message codec (mc_enroll_proto.h), with the
 * hooks (mc_phone_overrides) that let tests play a hostile phone.
 *
 * Design: the CSR is the one the store made at init (device.csr), sent as
 * DER; it is never rebuilt, so a repeated enrollment after a lost reply
 * sends the same bytes and gets the same certificate. The reply is trusted
 * only as far as it checks: its fp must be the leaf's fingerprint, and the
 * import refuses a leaf that is not for this store's key.
 *
 * Non-goals: verifying the chain against a trust anchor (the phone has none
 * yet: the CA's certificate arrives in this very reply), https.
 */
#include "mc_phone_int.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "mc_http.h"

/* The chain's DER certificates as PEM (what mc_phone_import takes). */
static int chain_pem(const mc_enroll_reply *rp, mc_buf *out, mc_phone_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = b != NULL ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < rp->nchain; i++) {
        const unsigned char *p = rp->chain[i].ptr;
        X509 *x = d2i_X509(NULL, &p, (long)rp->chain[i].len);
        if (x == NULL || p != rp->chain[i].ptr + rp->chain[i].len ||
            PEM_write_bio_X509(b, x) != 1)
            rc = mc_phone_fail(err, 502, "bad_reply", "certificate %zu of the chain is not DER",
                               i);
        X509_free(x);
    }
    if (rc == 0) {
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);
        mc_buf_append(out, p, n > 0 ? (size_t)n : 0);
    } else if (b == NULL) {
        mc_phone_fail(err, 500, "internal", "out of memory");
    }
    ERR_clear_error();
    BIO_free(b);
    return rc;
}

int mc_phone_enroll(const char *dir, const char *base, const char *app, const char *code,
                    const char *sid, const mc_phone_overrides *ov, mc_phone_enrolled *out,
                    mc_phone_err *err)
{
    static const mc_phone_overrides none;
    char url[MC_PHONE_URL_MAX];
    mc_buf csr = {0}, body = {0}, pem = {0};
    mc_http_reply reply = {0};
    mc_enroll_reply rp;
    mc_err e = {0};
    int rc = -1;

    mc_phone_err_clear(err);
    if (ov == NULL)
        ov = &none;
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (mc_phone_url(url, sizeof(url), base, "/m/v1/enroll", err) != 0)
        return -1;
    if (ov->raw_body != NULL) {
        mc_buf_append(&body, ov->raw_body, ov->raw_len);
    } else {
        mc_enroll_req rq;
        memset(&rq, 0, sizeof(rq));
        if (app == NULL || code == NULL || strlen(app) > MC_APP_ID_MAX ||
            strlen(code) > MC_ENROLL_CODE_LEN ||
            (sid != NULL && strlen(sid) > MC_SID_LEN)) {
            rc = mc_phone_fail(err, 400, "bad_request", "application, code or sid too long");
            goto done;
        }
        snprintf(rq.app, sizeof(rq.app), "%s", app);
        snprintf(rq.code, sizeof(rq.code), "%s", code);
        snprintf(rq.sid, sizeof(rq.sid), "%s", sid ? sid : "");
        if (ov->enroll_csr != NULL) {
            rq.csr = *ov->enroll_csr;
        } else {
            if (mc_phone_csr_der(dir, &csr, err) != 0)
                goto done;
            rq.csr = (mc_slice){csr.ptr, csr.len};
        }
        mc_enroll_req_encode(&rq, &body);
        OPENSSL_cleanse(&rq, sizeof(rq));
    }
    if (mc_phone_api_call("POST", url, body.ptr, body.len, &reply, err) != 0)
        goto done;
    if (mc_enroll_reply_decode(reply.body.ptr, reply.body.len, &rp, &e) != 0) {
        mc_phone_fail(err, 502, "bad_reply", "enroll reply: %s", e.msg);
        goto done;
    }
    uint8_t fp[32];
    char hex[65];
    if (mc_cert_fingerprint(rp.chain[0].ptr, rp.chain[0].len, fp) != 0 ||
        (mc_hex(fp, 32, hex), strcmp(hex, rp.fp) != 0)) {
        mc_phone_fail(err, 502, "bad_reply", "the reply's fp is not its leaf's");
        goto done;
    }
    if (app != NULL && ov->raw_body == NULL && strcmp(rp.app, app) != 0) {
        mc_phone_fail(err, 502, "bad_reply", "the reply is for another application");
        goto done;
    }
    if (!ov->enroll_no_import &&
        (chain_pem(&rp, &pem, err) != 0 || mc_phone_import(dir, pem.ptr, pem.len, err) != 0))
        goto done;
    if (out != NULL) {
        memcpy(out->app, rp.app, sizeof(out->app));
        memcpy(out->fp, rp.fp, sizeof(out->fp));
        out->nchain = rp.nchain;
    }
    rc = 0;
done:
    mc_buf_free_secure(&body); /* it held the code */
    mc_buf_free(&csr);
    mc_buf_free(&pem);
    mc_http_reply_free(&reply);
    return rc;
}
