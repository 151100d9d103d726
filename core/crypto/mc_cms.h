/*
 * mc_cms.h — detached CMS SignedData (RFC 5652) for signatures that the
 * phone made: the exact signed-attribute bytes it signs, the SignedData the
 * server assembles around its signature, and the parse + check of one for
 * POST /api/v1/verify. core/PROTOCOL.md §8.6–§8.8 is the normative profile.
 *
 * Design: the signed attributes are three fixed attributes (contentType
 * id-data, signingTime UTCTime, messageDigest) in DER order, 107 bytes —
 * the phone builds the same bytes from what it was shown, so nothing opaque
 * is ever signed. The SignedData is assembled as DER by hand from the
 * signer's certificate, the digest, the time and the signature: the server
 * holds no private key of the holder and never signs (OpenSSL's CMS_sign
 * path wants one, and leaves SM2's signatureAlgorithm empty). Parsing of
 * untrusted input goes through OpenSSL's d2i_CMS_ContentInfo and is then
 * held to our profile.
 *
 * Algorithms: MC_ALG_SM2 → digest SM3 (1.2.156.10197.1.401), signature
 * SM2-with-SM3 (1.2.156.10197.1.501), ID 1234567812345678; MC_ALG_P256 →
 * SHA-256 (2.16.840.1.101.3.4.2.1), ecdsa-with-SHA256 (1.2.840.10045.4.3.2).
 * AlgorithmIdentifiers carry no parameters.
 *
 * No I/O, no event loop; every function is thread-safe (worker threads
 * call them). Cost: mc_cms_build parses the signer certificate (~90 µs
 * with OpenSSL 3's decoders, more than the signature verify it follows);
 * for many documents of one signer, mc_cms_signer_new parses once and
 * mc_cms_signer_build assembles each in a few µs. mc_cms_check is one
 * signature verify.
 */
#ifndef MC_CMS_H
#define MC_CMS_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_crypto.h"
#include "mc_err.h"

#define MC_CMS_ATTRS_LEN 107 /* the DER SET of the three signed attributes */
#define MC_CMS_MAX 16384     /* the largest ContentInfo we parse */

/* The DER SET OF Attribute (tag 0x31) of one document — exactly the bytes
 * the phone signs (§8.6). signing_time: unix seconds in 1950..2049 (UTCTime
 * range). 0 / -1 (err bad_field: time out of range). */
int mc_cms_signed_attrs(int64_t signing_time, const uint8_t digest[32],
                        uint8_t out[MC_CMS_ATTRS_LEN], mc_err *err);

/* A detached ContentInfo(SignedData) DER, appended to out (§8.7).
 * certs[0] is the signer's certificate (DER); certs[1..ncerts) are more
 * certificates to include (the caller passes the non-self-signed ones of
 * the chain). alg must be the signer key's (MC_ALG_SM2 / MC_ALG_P256).
 * sig is the phone's DER signature over mc_cms_signed_attrs(...), copied
 * as is (the caller has verified it). 0 / -1 with err (bad_cert when
 * certs[0] does not parse, unsupported_key). */
int mc_cms_build(const mc_slice *certs, size_t ncerts, mc_alg alg, const uint8_t digest[32],
                 int64_t signing_time, const uint8_t *sig, size_t siglen, mc_buf *out,
                 mc_err *err);

/* mc_cms_build in two steps: the signer (its certificates parsed and
 * checked once; certs is borrowed and must outlive it) and then each
 * document. Errors as mc_cms_build's. */
typedef struct mc_cms_signer mc_cms_signer;
mc_cms_signer *mc_cms_signer_new(const mc_slice *certs, size_t ncerts, mc_alg alg, mc_err *err);
int mc_cms_signer_build(const mc_cms_signer *s, const uint8_t digest[32], int64_t signing_time,
                        const uint8_t *sig, size_t siglen, mc_buf *out, mc_err *err);
/* mc_cms_signer_build with the signed attributes the caller already made
 * (mc_cms_signed_attrs: it verified the signature over these very bytes),
 * so that they are encoded once per document. */
int mc_cms_signer_put(const mc_cms_signer *s, const uint8_t attrs[MC_CMS_ATTRS_LEN],
                      const uint8_t *sig, size_t siglen, mc_buf *out, mc_err *err);
void mc_cms_signer_free(mc_cms_signer *s); /* accepts NULL */

/* What a ContentInfo says, after mc_cms_parse. */
typedef struct mc_cms_info {
    X509 *signer;                 /* owned (mc_cms_info_clear frees it) */
    STACK_OF(X509) *others;       /* owned: the other certificates, may be empty */
    mc_alg alg;                   /* of the signer's key, matching the OIDs */
    uint8_t digest[32];           /* messageDigest */
    int64_t signing_time;         /* signingTime, unix seconds */
    uint8_t attrs[MC_CMS_ATTRS_LEN]; /* the signed attributes re-encoded as SET (0x31) */
    size_t attrs_len;
    uint8_t sig[MC_SIG_MAX];
    size_t siglen;
} mc_cms_info;

/* Parse der (at most MC_CMS_MAX bytes) and hold it to the §8.7 profile:
 * one ContentInfo of type signedData, detached (no eContent; eContentType
 * id-data), exactly one SignerInfo identified by IssuerAndSerialNumber,
 * whose certificate is among `certificates`; digest and signature OIDs one
 * of the two pairs above and matching the certificate's key; exactly the
 * three signed attributes (contentType id-data, signingTime, messageDigest
 * of 32 bytes), each with one value; a signature of 1..MC_SIG_MAX bytes.
 * No trailing bytes. 0, or -1 with err bad_cms (400) saying what is wrong.
 * On 0 the caller owns info (mc_cms_info_clear). */
int mc_cms_parse(const uint8_t *der, size_t len, mc_cms_info *info, mc_err *err);
void mc_cms_info_clear(mc_cms_info *info);

/* The signature of info over its signed attributes, with the signer
 * certificate's key (SM2 with the GM/T 0009 ID). 0 valid, -1 with err
 * bad_signature (403). */
int mc_cms_check(const mc_cms_info *info, mc_err *err);

#endif
