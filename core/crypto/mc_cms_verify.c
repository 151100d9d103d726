/*
 * mc_cms_verify.c — see mc_cms_verify.h.
 */
#include "mc_cms_verify.h"

#include <string.h>

#include "mc_buf.h"
#include "mc_cms.h"
#include "mc_crypto.h"

int mc_cms_verify(const mc_trust *trust, const uint8_t *der, size_t len, const uint8_t *digest,
                  const uint8_t *doc, size_t n, mc_cms_result *out, mc_err *err)
{
    mc_cms_info info;
    memset(out, 0, sizeof(*out));
    if (mc_cms_parse(der, len, &info, err) != 0)
        return -1;
    mc_err e;
    mc_err_clear(&e);
    out->signing_time = info.signing_time;
    memcpy(out->digest, info.digest, 32);
    out->digest_alg = info.alg == MC_ALG_SM2 ? "sm3" : "sha256";
    uint8_t want[32];
    if (digest != NULL)
        memcpy(want, digest, 32);
    else if (info.alg == MC_ALG_SM2)
        mc_sm3(doc, n, want);
    else
        mc_sha256(doc, n, want);

    /* the path: the signer (encoded once, for its facts and the path),
     * then the other certificates it carries */
    mc_buf ders[MC_CHAIN_MAX];
    mc_slice chain[MC_CHAIN_MAX];
    X509 *xs[MC_CHAIN_MAX];
    size_t k = 0;
    memset(ders, 0, sizeof(ders));
    int signer_ok = mc_cert_info_der(info.signer, &ders[k], &out->signer, &e) == 0;
    if (signer_ok) {
        xs[k] = info.signer;
        chain[k] = (mc_slice){ders[k].ptr, ders[k].len};
        k++;
    }
    for (int i = 0; i < sk_X509_num(info.others) && k < MC_CHAIN_MAX; i++) {
        if (mc_x509_der(sk_X509_value(info.others, i), &ders[k]) != 0)
            continue;
        xs[k] = sk_X509_value(info.others, i);
        chain[k] = (mc_slice){ders[k].ptr, ders[k].len};
        k++;
    }
    if (!signer_ok)
        out->reason = "cert_untrusted";
    else if (!mc_ct_eq(want, info.digest, 32))
        out->reason = "digest_mismatch";
    else if (mc_cms_check(&info, &e) != 0)
        out->reason = "bad_signature";
    /* the certificates as mc_cms_parse parsed them: not parsed again */
    else if (mc_cert_verify_x509(trust, xs, chain, k, info.signing_time, NULL, NULL, &e) != 0)
        out->reason = "cert_untrusted";
    for (size_t i = 0; i < MC_CHAIN_MAX; i++)
        mc_buf_free(&ders[i]);
    mc_cms_info_clear(&info);
    return 0;
}

void mc_cms_verdict(mc_cms_result *r, const char *status, int64_t revoked_at,
                    int64_t superseded_at, const char **status_now,
                    const char **status_at_signing)
{
    *status_now = status[0] != '\0' ? status : "unknown";
    /* a revocation comes after a supersession (renewal refuses a revoked
     * certificate), so the first that holds is the last event */
    int revoked = strcmp(status, "revoked") == 0 && revoked_at > 0 &&
                  revoked_at <= r->signing_time;
    int superseded = (strcmp(status, "superseded") == 0 || strcmp(status, "revoked") == 0) &&
                     superseded_at > 0 && superseded_at <= r->signing_time;
    *status_at_signing = revoked ? "revoked" : superseded ? "superseded" : "valid";
    if (r->reason == NULL && revoked)
        r->reason = "revoked_before_signing";
    else if (r->reason == NULL && superseded)
        r->reason = "superseded_before_signing";
}
