/*
 * mc_cms.c — see mc_cms.h: the 107 signed-attribute bytes a phone signs per
 * document, the detached SignedData the server wraps around that signature,
 * and the parse of an untrusted one held to core/PROTOCOL.md §8.7.
 *
 * Why by hand: the server never holds the signer's private key, and
 * OpenSSL's CMS_sign path is built around one (and leaves SM2's
 * signatureAlgorithm empty). The profile is small and fixed, so the DER is
 * written directly with a tiny writer (der_wrap) into an mc_buf: contents
 * first, then the header inserted in front once the length is known.
 *
 * Parsing: OpenSSL's d2i_CMS_ContentInfo does the ASN.1; everything the
 * header promises is then checked with the CMS API, each refusal with its
 * own message. Two byte comparisons close the profile: the parsed
 * ContentInfo must re-encode to exactly the input (no BER, no trailing or
 * unsorted anything), and mc_cms_build's assembly fed with what was parsed
 * must give the input again (versions, no parameters, no CRLs, no unsigned
 * attributes, no other field) — so what parses is exactly what we build.
 *
 * Non-goals: chain trust and revocation (mc_x509 / the store: the caller's
 * job); attached content; signers identified by subjectKeyIdentifier; more
 * than one signer; BER.
 *
 * Thread-safety: no state; OpenSSL objects are per call. mc_cms_build and
 * mc_cms_parse abort on out-of-memory only (as mc_buf does), nothing else.
 */
#include "mc_cms.h"

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "mc_x509.h"

/* ------------------------------------------------------------------ */
/* fixed encodings (§8.6, §8.7)                                        */

/* OBJECT IDENTIFIER TLVs. */
static const uint8_t OID_SIGNED_DATA[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                          0x0d, 0x01, 0x07, 0x02};
static const uint8_t OID_DATA[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                   0x0d, 0x01, 0x07, 0x01};
static const uint8_t OID_SM3[] = {0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x11};
static const uint8_t OID_SM2_SM3[] = {0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf,
                                      0x55, 0x01, 0x83, 0x75};
static const uint8_t OID_SHA256[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                     0x03, 0x04, 0x02, 0x01};
static const uint8_t OID_ECDSA_SHA256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x04, 0x03, 0x02};

/* The signed attributes up to the 13 time characters, then the bytes
 * between the time and the 32 digest bytes (§8.6). */
static const uint8_t ATTRS_HEAD[] = {
    0x31, 0x69,
    /* contentType = id-data */
    0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03,
    0x31, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    /* signingTime */
    0x30, 0x1c, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05,
    0x31, 0x0f, 0x17, 0x0d};
static const uint8_t ATTRS_MID[] = {
    /* messageDigest */
    0x30, 0x2f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04,
    0x31, 0x22, 0x04, 0x20};
#define ATTRS_TIME_OFF sizeof(ATTRS_HEAD)
#define ATTRS_DIGEST_OFF (ATTRS_TIME_OFF + 13 + sizeof(ATTRS_MID))

_Static_assert(ATTRS_DIGEST_OFF + 32 == MC_CMS_ATTRS_LEN, "signed attributes are 107 bytes");

/* UTCTime covers 1950-01-01T00:00:00Z .. 2049-12-31T23:59:59Z. */
#define UTC_MIN (-631152000LL)
#define UTC_MAX 2524607999LL

/* The (digest, signature) AlgorithmIdentifier OIDs of an algorithm. */
typedef struct alg_oids {
    const uint8_t *digest;
    size_t digest_len;
    const uint8_t *sig;
    size_t sig_len;
    int digest_nid, sig_nid;
} alg_oids;

static int oids_of(mc_alg alg, alg_oids *o)
{
    switch (alg) {
    case MC_ALG_SM2:
        *o = (alg_oids){OID_SM3, sizeof(OID_SM3), OID_SM2_SM3, sizeof(OID_SM2_SM3),
                        NID_sm3, NID_SM2_with_SM3};
        return 0;
    case MC_ALG_P256:
        *o = (alg_oids){OID_SHA256, sizeof(OID_SHA256), OID_ECDSA_SHA256,
                        sizeof(OID_ECDSA_SHA256), NID_sha256, NID_ecdsa_with_SHA256};
        return 0;
    default:
        return -1;
    }
}

/* ------------------------------------------------------------------ */
/* time: unix seconds <-> UTCTime YYMMDDhhmmssZ                        */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), and back. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put2(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)('0' + v / 10);
    p[1] = (uint8_t)('0' + v % 10);
}

/* t must be in UTC_MIN..UTC_MAX. */
static void utctime_of(int64_t t, uint8_t out[13])
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400, y;
    unsigned m, d;

    civil_from_days(days, &y, &m, &d);
    put2(out, (unsigned)(y % 100));
    put2(out + 2, m);
    put2(out + 4, d);
    put2(out + 6, (unsigned)(secs / 3600));
    put2(out + 8, (unsigned)(secs / 60 % 60));
    put2(out + 10, (unsigned)(secs % 60));
    out[12] = 'Z';
}

/* Exactly YYMMDDhhmmssZ with fields in range (a day past the month's end
 * is caught later: it does not re-encode to the same bytes). 0 / -1. */
static int utctime_parse(const uint8_t *s, size_t n, int64_t *t)
{
    unsigned v[6];
    if (n != 13 || s[12] != 'Z')
        return -1;
    for (int i = 0; i < 6; i++) {
        if (s[2 * i] < '0' || s[2 * i] > '9' || s[2 * i + 1] < '0' || s[2 * i + 1] > '9')
            return -1;
        v[i] = (unsigned)(s[2 * i] - '0') * 10 + (unsigned)(s[2 * i + 1] - '0');
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59)
        return -1;
    int64_t year = v[0] >= 50 ? 1900 + v[0] : 2000 + v[0];
    *t = days_from_civil(year, v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
    return 0;
}

int mc_cms_signed_attrs(int64_t signing_time, const uint8_t digest[32],
                        uint8_t out[MC_CMS_ATTRS_LEN], mc_err *err)
{
    if (signing_time < UTC_MIN || signing_time > UTC_MAX)
        return mc_err_set(err, 400, "bad_field",
                          "signing time %lld is outside UTCTime (1950..2049)",
                          (long long)signing_time);
    memcpy(out, ATTRS_HEAD, sizeof(ATTRS_HEAD));
    utctime_of(signing_time, out + ATTRS_TIME_OFF);
    memcpy(out + ATTRS_TIME_OFF + 13, ATTRS_MID, sizeof(ATTRS_MID));
    memcpy(out + ATTRS_DIGEST_OFF, digest, 32);
    return 0;
}

/* ------------------------------------------------------------------ */
/* DER writer                                                          */

/* Insert the tag and length header in front of b[from..len), making it
 * one TLV. */
static void der_wrap(mc_buf *b, size_t from, uint8_t tag)
{
    size_t n = b->len - from, hl = 2;
    uint8_t hdr[10];

    hdr[0] = tag;
    if (n < 0x80) {
        hdr[1] = (uint8_t)n;
    } else {
        size_t k = 0;
        for (size_t v = n; v > 0; v >>= 8)
            k++;
        hdr[1] = (uint8_t)(0x80 | k);
        for (size_t i = 0; i < k; i++)
            hdr[2 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
        hl = 2 + k;
    }
    mc_buf_reserve(b, hl);
    memmove(b->ptr + from + hl, b->ptr + from, n);
    memcpy(b->ptr + from, hdr, hl);
    b->len += hl;
}

/* AlgorithmIdentifier { oid } (no parameters). */
static void der_algid(mc_buf *b, const uint8_t *oid, size_t n)
{
    size_t at = b->len;
    mc_buf_append(b, oid, n);
    der_wrap(b, at, 0x30);
}

/* DER SET OF order: bytewise, a prefix first. */
static int slice_cmp(const void *a, const void *b)
{
    const mc_slice *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* The whole ContentInfo, appended to out. isn: the DER of issuer Name
 * followed by serialNumber INTEGER. certs[0..n) are appended sorted. */
static int assemble(const mc_slice *certs, size_t ncerts, const alg_oids *o,
                    const uint8_t *isn, size_t isn_len,
                    const uint8_t attrs[MC_CMS_ATTRS_LEN], const uint8_t *sig,
                    size_t siglen, mc_buf *out)
{
    static const uint8_t v1[] = {0x02, 0x01, 0x01};
    mc_slice *sorted = malloc(ncerts * sizeof(*sorted));
    size_t ci, sd, at;

    if (sorted == NULL)
        abort(); /* out of memory, as mc_buf */
    memcpy(sorted, certs, ncerts * sizeof(*sorted));
    qsort(sorted, ncerts, sizeof(*sorted), slice_cmp);

    ci = out->len;
    mc_buf_append(out, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA));
    sd = out->len;
    mc_buf_append(out, v1, sizeof(v1));
    /* digestAlgorithms SET { digest } */
    at = out->len;
    der_algid(out, o->digest, o->digest_len);
    der_wrap(out, at, 0x31);
    /* encapContentInfo { id-data } */
    at = out->len;
    mc_buf_append(out, OID_DATA, sizeof(OID_DATA));
    der_wrap(out, at, 0x30);
    /* certificates [0] IMPLICIT SET OF, in DER order */
    at = out->len;
    for (size_t i = 0; i < ncerts; i++)
        mc_buf_append(out, sorted[i].ptr, sorted[i].len);
    der_wrap(out, at, 0xa0);
    /* signerInfos SET { SignerInfo } */
    size_t set = out->len, si = out->len;
    mc_buf_append(out, v1, sizeof(v1));
    at = out->len;
    mc_buf_append(out, isn, isn_len);
    der_wrap(out, at, 0x30);
    der_algid(out, o->digest, o->digest_len);
    /* signedAttrs [0] IMPLICIT: the SET's content under tag 0xa0 */
    at = out->len;
    mc_buf_append(out, attrs + 2, MC_CMS_ATTRS_LEN - 2);
    der_wrap(out, at, 0xa0);
    der_algid(out, o->sig, o->sig_len);
    at = out->len;
    mc_buf_append(out, sig, siglen);
    der_wrap(out, at, 0x04);
    der_wrap(out, si, 0x30);
    der_wrap(out, set, 0x31);
    der_wrap(out, sd, 0x30);
    der_wrap(out, sd, 0xa0);
    der_wrap(out, ci, 0x30);
    free(sorted);
    return 0;
}

/* DER of issuer Name then serialNumber of x, into out (replaced). 0 / -1. */
static int issuer_and_serial(X509 *x, mc_buf *out)
{
    unsigned char *p = NULL;
    int n;

    out->len = 0;
    if ((n = i2d_X509_NAME(X509_get_issuer_name(x), &p)) <= 0)
        return -1;
    mc_buf_append(out, p, (size_t)n);
    OPENSSL_free(p);
    p = NULL;
    if ((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &p)) <= 0)
        return -1;
    mc_buf_append(out, p, (size_t)n);
    OPENSSL_free(p);
    return 0;
}

struct mc_cms_signer {
    const mc_slice *certs;        /* borrowed */
    size_t ncerts;
    alg_oids o;
    mc_buf isn;                   /* the signer's IssuerAndSerialNumber, DER */
};

mc_cms_signer *mc_cms_signer_new(const mc_slice *certs, size_t ncerts, mc_alg alg, mc_err *err)
{
    mc_cms_signer *s = calloc(1, sizeof(*s));
    X509 *x = NULL;
    const unsigned char *p;

    if (s == NULL)
        abort(); /* out of memory */
    s->certs = certs;
    s->ncerts = ncerts;
    if (oids_of(alg, &s->o) != 0) {
        mc_err_set(err, 400, "unsupported_key", "no CMS profile for this algorithm");
        goto fail;
    }
    if (ncerts == 0 || certs == NULL) {
        mc_err_set(err, 400, "bad_cert", "no signer certificate");
        goto fail;
    }
    p = certs[0].ptr;
    if (certs[0].len == 0 || certs[0].len > MC_CMS_MAX ||
        (x = d2i_X509(NULL, &p, (long)certs[0].len)) == NULL ||
        p != certs[0].ptr + certs[0].len) {
        ERR_clear_error();
        mc_err_set(err, 400, "bad_cert", "the signer certificate does not parse");
        goto fail;
    }
    if (mc_pkey_alg(X509_get0_pubkey(x)) != alg) {
        mc_err_set(err, 400, "unsupported_key", "the signer certificate's key is not %s",
                   mc_alg_name(alg));
        goto fail;
    }
    for (size_t i = 1; i < ncerts; i++) {
        /* shape only: the certificate's content is the caller's */
        if (!mc_der_one_seq(certs[i].ptr, certs[i].len)) {
            mc_err_set(err, 400, "bad_cert", "certificate %zu is not one DER SEQUENCE", i);
            goto fail;
        }
    }
    if (issuer_and_serial(x, &s->isn) != 0) {
        ERR_clear_error();
        mc_err_set(err, 500, "internal", "cannot encode the issuer and serial");
        goto fail;
    }
    X509_free(x);
    return s;
fail:
    X509_free(x);
    mc_cms_signer_free(s);
    return NULL;
}

void mc_cms_signer_free(mc_cms_signer *s)
{
    if (s == NULL)
        return;
    mc_buf_free(&s->isn);
    free(s);
}

int mc_cms_signer_build(const mc_cms_signer *s, const uint8_t digest[32], int64_t signing_time,
                        const uint8_t *sig, size_t siglen, mc_buf *out, mc_err *err)
{
    uint8_t attrs[MC_CMS_ATTRS_LEN];

    if (sig == NULL || siglen == 0 || siglen > MC_SIG_MAX)
        return mc_err_set(err, 403, "bad_signature", "signature length %zu", siglen);
    if (mc_cms_signed_attrs(signing_time, digest, attrs, err) != 0)
        return -1;
    return mc_cms_signer_put(s, attrs, sig, siglen, out, err);
}

int mc_cms_signer_put(const mc_cms_signer *s, const uint8_t attrs[MC_CMS_ATTRS_LEN],
                      const uint8_t *sig, size_t siglen, mc_buf *out, mc_err *err)
{
    size_t start = out->len;

    if (sig == NULL || siglen == 0 || siglen > MC_SIG_MAX)
        return mc_err_set(err, 403, "bad_signature", "signature length %zu", siglen);
    assemble(s->certs, s->ncerts, &s->o, s->isn.ptr, s->isn.len, attrs, sig, siglen, out);
    /* What we build, mc_cms_parse must take. */
    if (out->len - start > MC_CMS_MAX) {
        out->len = start;
        return mc_err_set(err, 400, "bad_cert", "the certificates make the CMS over %d bytes",
                          MC_CMS_MAX);
    }
    return 0;
}

int mc_cms_build(const mc_slice *certs, size_t ncerts, mc_alg alg, const uint8_t digest[32],
                 int64_t signing_time, const uint8_t *sig, size_t siglen, mc_buf *out,
                 mc_err *err)
{
    if (sig == NULL || siglen == 0 || siglen > MC_SIG_MAX)
        return mc_err_set(err, 403, "bad_signature", "signature length %zu", siglen);
    mc_cms_signer *s = mc_cms_signer_new(certs, ncerts, alg, err);
    if (s == NULL)
        return -1;
    int rc = mc_cms_signer_build(s, digest, signing_time, sig, siglen, out, err);
    mc_cms_signer_free(s);
    return rc;
}

/* ------------------------------------------------------------------ */
/* parse                                                               */

/* SET OF Attribute, for re-encoding the signed attributes with their
 * universal SET tag (OpenSSL's CMS_Attributes_Sign is not exported). */
typedef STACK_OF(X509_ATTRIBUTE) MC_CMS_ATTR_SET;
ASN1_ITEM_TEMPLATE(MC_CMS_ATTR_SET) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_OF, 0, MC_CMS_ATTR_SET, X509_ATTRIBUTE)
static_ASN1_ITEM_TEMPLATE_END(MC_CMS_ATTR_SET)

static int bad(mc_err *err, const char *what)
{
    return mc_err_set(err, 400, "bad_cms", "%s", what);
}

/* The algorithm OID of a, when it has no parameters; NID_undef if it has. */
static int algid_nid(const X509_ALGOR *a)
{
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;

    X509_ALGOR_get0(&obj, &ptype, &pval, a);
    return ptype == V_ASN1_UNDEF ? OBJ_obj2nid(obj) : NID_undef;
}

/* The three signed attributes: values into info, and their SET re-encoded
 * into info->attrs. 0 / -1 (err set). */
static int parse_attrs(CMS_SignerInfo *si, mc_cms_info *info, mc_err *err)
{
    const ASN1_OBJECT *ct;
    const ASN1_UTCTIME *tm;
    const ASN1_OCTET_STRING *md;
    uint8_t expect[MC_CMS_ATTRS_LEN];
    STACK_OF(X509_ATTRIBUTE) *set;
    unsigned char *enc = NULL;
    int n, rc = -1;

    if (CMS_signed_get_attr_count(si) != 3)
        return bad(err, "not exactly three signed attributes");
    /* lastpos -3: exactly one such attribute, with exactly one value. */
    ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3,
                                     V_ASN1_OBJECT);
    tm = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_signingTime), -3,
                                     V_ASN1_UTCTIME);
    md = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
                                     V_ASN1_OCTET_STRING);
    ERR_clear_error();
    if (ct == NULL || OBJ_obj2nid(ct) != NID_pkcs7_data)
        return bad(err, "no single contentType id-data attribute");
    if (tm == NULL || utctime_parse(ASN1_STRING_get0_data(tm),
                                    (size_t)ASN1_STRING_length(tm),
                                    &info->signing_time) != 0)
        return bad(err, "no single signingTime attribute of UTCTime YYMMDDhhmmssZ");
    if (md == NULL || ASN1_STRING_length(md) != 32)
        return bad(err, "no single messageDigest attribute of 32 bytes");
    memcpy(info->digest, ASN1_STRING_get0_data(md), 32);

    /* Re-encode what OpenSSL parsed as SET OF (tag 0x31) and hold it to
     * the bytes we would have built: only §8.6's exact form passes. */
    if ((set = sk_X509_ATTRIBUTE_new_null()) == NULL)
        abort(); /* out of memory */
    for (int i = 0; i < 3; i++)
        if (!sk_X509_ATTRIBUTE_push(set, CMS_signed_get_attr(si, i)))
            abort();
    n = ASN1_item_i2d((const ASN1_VALUE *)set, &enc, ASN1_ITEM_rptr(MC_CMS_ATTR_SET));
    sk_X509_ATTRIBUTE_free(set); /* the attributes stay si's */
    if (mc_cms_signed_attrs(info->signing_time, info->digest, expect, NULL) != 0 ||
        n != MC_CMS_ATTRS_LEN || memcmp(enc, expect, MC_CMS_ATTRS_LEN) != 0) {
        ERR_clear_error();
        bad(err, "the signed attributes are not the profile's encoding");
        goto done;
    }
    memcpy(info->attrs, enc, MC_CMS_ATTRS_LEN);
    info->attrs_len = MC_CMS_ATTRS_LEN;
    rc = 0;
done:
    OPENSSL_free(enc);
    return rc;
}

/* The signer among certs (moved into info->signer), the rest into
 * info->others. Consumes certs. 0 / -1. */
static int split_certs(CMS_SignerInfo *si, STACK_OF(X509) *certs, mc_cms_info *info,
                       mc_err *err)
{
    X509 *x;

    if ((info->others = sk_X509_new_null()) == NULL)
        abort();
    while ((x = sk_X509_shift(certs)) != NULL) {
        if (info->signer == NULL && CMS_SignerInfo_cert_cmp(si, x) == 0)
            info->signer = x;
        else if (!sk_X509_push(info->others, x))
            abort();
    }
    sk_X509_free(certs);
    if (info->signer == NULL)
        return bad(err, "the signer's certificate is not among the certificates");
    return 0;
}

/* Rebuild from what was parsed, as mc_cms_build would, and 0 if that gives
 * der. Assembled from the parsed signer directly (its issuer and serial):
 * mc_cms_build would parse the signer's certificate once more, and every
 * check it adds is already made (the key's algorithm: info->alg is the
 * signer key's; the signature's length: parse_checked; the signed
 * attributes: parse_attrs held them to mc_cms_signed_attrs's bytes). */
static int rebuilds_to(const mc_cms_info *info, const uint8_t *der, size_t len)
{
    int nothers = sk_X509_num(info->others);
    size_t n = 1 + (size_t)nothers;
    mc_slice *certs = calloc(n, sizeof(*certs));
    unsigned char **encs = calloc(n, sizeof(*encs));
    mc_buf isn = {0}, out = {0};
    alg_oids o;
    int rc = -1;

    if (certs == NULL || encs == NULL)
        abort();
    if (oids_of(info->alg, &o) != 0 || issuer_and_serial(info->signer, &isn) != 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        X509 *x = i == 0 ? info->signer : sk_X509_value(info->others, (int)i - 1);
        int l = i2d_X509(x, &encs[i]);
        if (l <= 0)
            goto done;
        certs[i] = (mc_slice){encs[i], (size_t)l};
    }
    assemble(certs, n, &o, isn.ptr, isn.len, info->attrs, info->sig, info->siglen, &out);
    if (out.len == len && memcmp(out.ptr, der, len) == 0)
        rc = 0;
done:
    for (size_t i = 0; i < n; i++)
        OPENSSL_free(encs[i]);
    free(encs);
    free(certs);
    mc_buf_free(&isn);
    mc_buf_free(&out);
    ERR_clear_error();
    return rc;
}

/* The checks in order; each failure says what is wrong. */
static int parse_checked(CMS_ContentInfo *ci, const uint8_t *der, size_t len,
                         mc_cms_info *info, mc_err *err)
{
    STACK_OF(CMS_SignerInfo) *sis;
    CMS_SignerInfo *si;
    ASN1_OCTET_STRING *keyid = NULL, **content;
    X509_NAME *issuer = NULL;
    ASN1_INTEGER *serial = NULL;
    X509_ALGOR *dig = NULL, *sa = NULL;
    const ASN1_OBJECT *ect;
    ASN1_OCTET_STRING *sig;
    STACK_OF(X509) *certs;
    alg_oids o;

    if (OBJ_obj2nid(CMS_get0_type(ci)) != NID_pkcs7_signed)
        return bad(err, "not a SignedData");
    content = CMS_get0_content(ci);
    if (content == NULL || *content != NULL)
        return bad(err, "not detached (eContent present)");
    ect = CMS_get0_eContentType(ci);
    if (ect == NULL || OBJ_obj2nid(ect) != NID_pkcs7_data)
        return bad(err, "eContentType is not id-data");
    sis = CMS_get0_SignerInfos(ci);
    if (sk_CMS_SignerInfo_num(sis) != 1)
        return bad(err, "not exactly one SignerInfo");
    si = sk_CMS_SignerInfo_value(sis, 0);
    if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) != 1 ||
        issuer == NULL || serial == NULL || keyid != NULL)
        return bad(err, "the signer is not identified by IssuerAndSerialNumber");

    if ((certs = CMS_get1_certs(ci)) == NULL)
        return bad(err, "no certificates");
    if (split_certs(si, certs, info, err) != 0)
        return -1;
    info->alg = mc_pkey_alg(X509_get0_pubkey(info->signer));
    if (oids_of(info->alg, &o) != 0)
        return bad(err, "the signer's key is neither SM2 nor P-256");
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sa);
    if (dig == NULL || sa == NULL || algid_nid(dig) != o.digest_nid ||
        algid_nid(sa) != o.sig_nid)
        return mc_err_set(err, 400, "bad_cms",
                          "digest and signature algorithms are not %s's (or have parameters)",
                          info->alg == MC_ALG_SM2 ? "SM3, SM2-with-SM3" : "SHA-256, ecdsa-with-SHA256");
    if (parse_attrs(si, info, err) != 0)
        return -1;
    sig = CMS_SignerInfo_get0_signature(si);
    if (sig == NULL || ASN1_STRING_length(sig) < 1 || ASN1_STRING_length(sig) > MC_SIG_MAX)
        return bad(err, "signature length not 1..80 bytes");
    info->siglen = (size_t)ASN1_STRING_length(sig);
    memcpy(info->sig, ASN1_STRING_get0_data(sig), info->siglen);
    if (rebuilds_to(info, der, len) != 0)
        return bad(err, "not the profile's SignedData (version, parameters, CRLs, "
                        "unsigned attributes or other fields)");
    return 0;
}

int mc_cms_parse(const uint8_t *der, size_t len, mc_cms_info *info, mc_err *err)
{
    CMS_ContentInfo *ci = NULL;
    const unsigned char *p = der;
    unsigned char *enc = NULL;
    int n, rc = -1;

    memset(info, 0, sizeof(*info));
    if (der == NULL || len == 0)
        return bad(err, "empty");
    if (len > MC_CMS_MAX)
        return mc_err_set(err, 400, "bad_cms", "over %d bytes", MC_CMS_MAX);
    if ((ci = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL) {
        bad(err, "not a CMS ContentInfo");
        goto done;
    }
    if (p != der + len) {
        bad(err, "trailing bytes after the ContentInfo");
        goto done;
    }
    n = i2d_CMS_ContentInfo(ci, &enc);
    if (n < 0 || (size_t)n != len || memcmp(enc, der, len) != 0) {
        bad(err, "not DER (does not re-encode to the same bytes)");
        goto done;
    }
    rc = parse_checked(ci, der, len, info, err);
done:
    ERR_clear_error();
    OPENSSL_free(enc);
    CMS_ContentInfo_free(ci);
    if (rc != 0)
        mc_cms_info_clear(info);
    return rc;
}

void mc_cms_info_clear(mc_cms_info *info)
{
    if (info == NULL)
        return;
    X509_free(info->signer);
    sk_X509_pop_free(info->others, X509_free);
    memset(info, 0, sizeof(*info));
}

int mc_cms_check(const mc_cms_info *info, mc_err *err)
{
    EVP_PKEY *pub;

    if (info == NULL || info->signer == NULL || info->attrs_len != MC_CMS_ATTRS_LEN)
        return mc_err_set(err, 403, "bad_signature", "no parsed SignedData");
    pub = X509_get0_pubkey(info->signer);
    if (pub == NULL || mc_pkey_alg(pub) != info->alg) {
        ERR_clear_error();
        return mc_err_set(err, 403, "bad_signature", "the signer's key is not %s",
                          mc_alg_name(info->alg));
    }
    if (mc_verify(pub, info->attrs, info->attrs_len, info->sig, info->siglen, err) != 0)
        return mc_err_set(err, 403, "bad_signature",
                          "the %s signature does not verify over the signed attributes",
                          mc_alg_name(info->alg));
    return 0;
}
