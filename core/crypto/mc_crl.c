/*
 * mc_crl.c — the CA's CRL and OCSP responses (see mc_crl.h).
 *
 * Why here: both are things the CA signs about its certificates, like the
 * certificates themselves (mc_x509.c); this file only assembles OpenSSL
 * objects from facts it is given and signs them. Which facts are true
 * (what is revoked, since when, why) is the store's.
 *
 * Every OpenSSL object is made and freed within one call: nothing is
 * cached, nothing is shared but the borrowed CA (whose key and
 * certificate are only read).
 */
#include "mc_crl.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "mc_crypto.h"

/* ---- reasons ---- */

static const char *const reason_names[11] = {
    "unspecified",          "keyCompromise",      "cACompromise", "affiliationChanged",
    "superseded",           "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL",        "privilegeWithdrawn", "aACompromise",
};

int mc_reason_allowed(int reason)
{
    switch (reason) {
    case 0: case 1: case 3: case 4: case 5: case 9:
        return 1;
    default:
        return 0;
    }
}

const char *mc_reason_name(int reason)
{
    return reason >= 0 && reason <= 10 ? reason_names[reason] : NULL;
}

int mc_reason_parse(const char *s, size_t n)
{
    if (n >= 1 && n <= 2 && s[0] >= '0' && s[0] <= '9' &&
        (n == 1 || (s[0] != '0' && s[1] >= '0' && s[1] <= '9'))) {
        int v = n == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
        return mc_reason_allowed(v) ? v : -1;
    }
    for (int i = 0; i <= 10; i++)
        if (reason_names[i] != NULL && strlen(reason_names[i]) == n &&
            memcmp(reason_names[i], s, n) == 0)
            return mc_reason_allowed(i) ? i : -1;
    return -1;
}

/* ---- shared ---- */

/* A serial in upper-case hex (1..40 digits) as an ASN1_INTEGER; NULL if
 * it is not one. */
static ASN1_INTEGER *serial_of_hex(const char *hex)
{
    size_t n = strnlen(hex, 41);
    if (n == 0 || n > 40)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'A' && hex[i] <= 'F')))
            return NULL;
    BIGNUM *bn = NULL;
    if (BN_hex2bn(&bn, hex) != (int)n) {
        BN_free(bn);
        return NULL;
    }
    ASN1_INTEGER *a = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return a;
}

/* ---- the CRL ---- */

/* authorityKeyIdentifier of the CA: its SKI, or the SHA-1 of its key
 * (RFC 5280 §4.2.1.2 method 1) when it has none. 1 / 0. */
static int crl_add_aki(X509_CRL *crl, X509 *ca)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
    int ok = 0;
    if (akid == NULL)
        return 0;
    if (ski != NULL) {
        akid->keyid = ASN1_OCTET_STRING_dup(ski);
    } else {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        akid->keyid = ASN1_OCTET_STRING_new();
        if (akid->keyid == NULL || !X509_pubkey_digest(ca, EVP_sha1(), md, &mdlen) ||
            !ASN1_OCTET_STRING_set(akid->keyid, md, (int)mdlen))
            goto done;
    }
    ok = akid->keyid != NULL &&
         X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) == 1;
done:
    AUTHORITY_KEYID_free(akid);
    return ok;
}

/* One revoked entry into crl. 1 / 0 (-1: the entry is bad input). */
static int crl_add_entry(X509_CRL *crl, const mc_crl_entry *e)
{
    ASN1_INTEGER *sn = serial_of_hex(e->serial);
    if (sn == NULL || e->reason < 0 || e->reason > 10 || e->reason == 7) {
        ASN1_INTEGER_free(sn);
        return -1;
    }
    X509_REVOKED *rv = X509_REVOKED_new();
    ASN1_TIME *at = ASN1_TIME_set(NULL, (time_t)e->revoked_at);
    ASN1_ENUMERATED *why = NULL;
    int ok = rv != NULL && at != NULL && X509_REVOKED_set_serialNumber(rv, sn) &&
             X509_REVOKED_set_revocationDate(rv, at);
    if (ok && e->reason != MC_REASON_UNSPECIFIED) {
        why = ASN1_ENUMERATED_new();
        ok = why != NULL && ASN1_ENUMERATED_set(why, e->reason) &&
             X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, why, 0, 0) == 1;
    }
    if (ok && X509_CRL_add0_revoked(crl, rv))
        rv = NULL; /* the CRL owns it now */
    else
        ok = 0;
    X509_REVOKED_free(rv);
    ASN1_ENUMERATED_free(why);
    ASN1_TIME_free(at);
    ASN1_INTEGER_free(sn);
    return ok;
}

int mc_crl_build(const mc_ca *ca, int64_t number, int64_t now, const mc_crl_entry *e, size_t n,
                 mc_buf *out, mc_err *err)
{
    X509 *cacert = mc_ca_cert(ca);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = NULL;
    ASN1_INTEGER *num = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    int rc = -1, len;

    if (cacert == NULL || crl == NULL || number < 0)
        goto fail;
    if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(cacert)) ||
        (t = ASN1_TIME_set(NULL, (time_t)now)) == NULL || !X509_CRL_set1_lastUpdate(crl, t) ||
        ASN1_TIME_set(t, (time_t)(now + MC_CRL_NEXT_UPDATE)) == NULL ||
        !X509_CRL_set1_nextUpdate(crl, t))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        int r = crl_add_entry(crl, &e[i]);
        if (r < 0) {
            mc_err_set(err, 400, "bad_request", "revoked entry %zu is malformed", i);
            goto done;
        }
        if (r == 0)
            goto fail;
    }
    if (!X509_CRL_sort(crl) || (num = ASN1_INTEGER_new()) == NULL ||
        !ASN1_INTEGER_set_int64(num, number) ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 || !crl_add_aki(crl, cacert))
        goto fail;
    if ((md = mc_sign_ctx_new(mc_ca_key(ca), err)) == NULL)
        goto done;
    if (X509_CRL_sign_ctx(crl, md) <= 0 || (len = i2d_X509_CRL(crl, &der)) <= 0)
        goto fail;
    mc_buf_append(out, der, (size_t)len);
    rc = 0;
    goto done;
fail:
    mc_err_set(err, 500, "internal", "the CRL could not be built");
done:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
    return rc;
}

/* ---- OCSP ---- */

struct mc_ocsp_req {
    OCSP_REQUEST *req;            /* owned */
    size_t n;
    mc_ocsp_ask ask[MC_OCSP_REQ_MAX];
};

void mc_ocsp_req_free(mc_ocsp_req *q)
{
    if (q == NULL)
        return;
    OCSP_REQUEST_free(q->req);
    free(q);
}

const mc_ocsp_ask *mc_ocsp_asks(const mc_ocsp_req *q, size_t *n)
{
    *n = q->n;
    return q->ask;
}

/* 1 if the CertID names our CA: its issuer name and key hashes, under
 * its own hash algorithm, are those of the CA certificate. */
static int certid_is_ours(OCSP_CERTID *cid, X509 *ca)
{
    ASN1_OBJECT *alg = NULL;
    ASN1_INTEGER *sn = NULL;
    if (!OCSP_id_get0_info(NULL, &alg, NULL, &sn, cid) || alg == NULL || sn == NULL)
        return 0;
    const EVP_MD *md = EVP_get_digestbyobj(alg);
    if (md == NULL)
        return 0;
    OCSP_CERTID *mine =
        OCSP_cert_id_new(md, X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), sn);
    int ours = mine != NULL && OCSP_id_issuer_cmp(cid, mine) == 0;
    OCSP_CERTID_free(mine);
    return ours;
}

mc_ocsp_req *mc_ocsp_parse(const mc_ca *ca, const uint8_t *der, size_t len)
{
    X509 *cacert = mc_ca_cert(ca);
    if (cacert == NULL || der == NULL || len == 0 || len > MC_OCSP_BODY_MAX)
        return NULL;
    mc_ocsp_req *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    const unsigned char *p = der;
    q->req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    /* one DER request and nothing after it */
    if (q->req == NULL || p != der + len)
        goto bad;
    int n = OCSP_request_onereq_count(q->req);
    if (n < 1 || n > MC_OCSP_REQ_MAX)
        goto bad;
    q->n = (size_t)n;
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(q->req, i));
        ASN1_INTEGER *sn = NULL;
        if (cid == NULL || !OCSP_id_get0_info(NULL, NULL, NULL, &sn, cid) || sn == NULL)
            goto bad;
        mc_ocsp_ask *a = &q->ask[i];
        a->ours = certid_is_ours(cid, cacert) && mc_serial_hex(sn, a->serial) == 0;
        if (!a->ours)
            a->serial[0] = '\0';
    }
    return q;
bad:
    mc_ocsp_req_free(q);
    return NULL;
}

int mc_ocsp_respond(const mc_ca *ca, const mc_ocsp_req *q, const mc_ocsp_status *st, int64_t now,
                    mc_buf *out, mc_err *err)
{
    X509 *cacert = mc_ca_cert(ca);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *thisupd = ASN1_TIME_set(NULL, (time_t)now);
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    int rc = -1, len;

    if (cacert == NULL || bs == NULL || thisupd == NULL)
        goto fail;
    for (size_t i = 0; i < q->n; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(q->req, (int)i));
        const mc_ocsp_status *s = &st[i];
        ASN1_TIME *revtime = NULL;
        int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS;
        if (q->ask[i].ours && s->state == MC_OCSP_GOOD) {
            status = V_OCSP_CERTSTATUS_GOOD;
        } else if (q->ask[i].ours && s->state == MC_OCSP_REVOKED) {
            status = V_OCSP_CERTSTATUS_REVOKED;
            if (s->reason > 0 && s->reason <= 10 && s->reason != 7)
                reason = s->reason;
            if ((revtime = ASN1_TIME_set(NULL, (time_t)s->revoked_at)) == NULL)
                goto fail;
        }
        /* the status is added with a copy of the request's own CertID */
        OCSP_SINGLERESP *one = OCSP_basic_add1_status(bs, cid, status, reason, revtime,
                                                      thisupd, NULL);
        ASN1_TIME_free(revtime);
        if (one == NULL)
            goto fail;
    }
    /* 1 also when the request has no nonce; 0 only on failure */
    if (OCSP_copy_nonce(bs, q->req) <= 0)
        goto fail;
    if ((md = mc_sign_ctx_new(mc_ca_key(ca), err)) == NULL)
        goto done;
    if (!OCSP_basic_sign_ctx(bs, cacert, md, NULL, OCSP_RESPID_KEY) ||
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL ||
        (len = i2d_OCSP_RESPONSE(resp, &der)) <= 0)
        goto fail;
    mc_buf_append(out, der, (size_t)len);
    rc = 0;
    goto done;
fail:
    mc_err_set(err, 500, "internal", "the OCSP response could not be built");
done:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    OCSP_RESPONSE_free(resp);
    ASN1_TIME_free(thisupd);
    OCSP_BASICRESP_free(bs);
    return rc;
}

void mc_ocsp_error(int status, mc_buf *out)
{
    OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
    unsigned char *der = NULL;
    int len = resp ? i2d_OCSP_RESPONSE(resp, &der) : -1;
    if (len <= 0)
        abort(); /* out of memory: nothing else fails here */
    mc_buf_append(out, der, (size_t)len);
    OPENSSL_free(der);
    OCSP_RESPONSE_free(resp);
}
