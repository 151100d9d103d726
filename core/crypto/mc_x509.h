/*
 * mc_x509.h — the CA that issues mobile certificates, and the checks every
 * presented certificate must pass.
 *
 * Design:
 *  - The CA key is P-256 by default (a P-256 CA issuing SM2 leaves avoids
 *    OpenSSL 3.0's SM2-ID trouble in chain verification); an SM2 CA is
 *    possible (MC_ALG_SM2) and sets the distinguishing ID when it signs and
 *    when its signatures are verified.
 *  - Leaves carry in the subject: CN (holder name), O (organisation name),
 *    organizationIdentifier (2.5.4.97) = 统一社会信用代码 (USCC, 18 chars,
 *    [0-9A-HJ-NPQRTUWXY], check digit verified). Extensions: basicConstraints
 *    CA:FALSE (critical), keyUsage digitalSignature+nonRepudiation (critical),
 *    extendedKeyUsage clientAuth, SKI, AKI. Serial: 16 random bytes, positive.
 *  - Issuance requires proof of possession: the CSR's self-signature must
 *    verify (for an SM2 CSR, with MC_SM2_ID).
 *  - Presented chains are DER certificates, leaf first; intermediates are
 *    optional. A chain is accepted only if it verifies to a trust anchor of
 *    the mc_trust store at the given time, the leaf key is SM2 or P-256, the
 *    leaf has keyUsage with digitalSignature and extendedKeyUsage with
 *    clientAuth, is not a CA, and names a USCC.
 *    Revocation/supersession is the store's job (our records), not this
 *    module's.
 *
 * Non-goals: CRL/OCSP fetching, name constraints, policy checks.
 *
 * Files written by mc_ca_save: <dir>/ca.key (PKCS#8 PEM, mode 0600),
 * <dir>/ca.crt (PEM).
 *
 * Ownership: every returned pointer is owned by the caller and freed with
 * the matching *_free (which accepts NULL) or the OpenSSL free function named.
 */
#ifndef MC_X509_H
#define MC_X509_H

#include <openssl/x509.h>
#include <stdint.h>
#include <time.h>

#include "mc_buf.h"
#include "mc_crypto.h"
#include "mc_err.h"

#define MC_USCC_LEN 18
#define MC_CHAIN_MAX 4        /* leaf + up to 3 intermediates */
#define MC_CERT_DER_MAX 4096  /* larger certificates are refused */
#define MC_CSR_MAX 16384      /* larger CSRs are refused ("bad_csr") */
#define MC_LEAF_DAYS_MAX 3650 /* mc_ca_issue: days 1..this */
#define MC_CA_DAYS_MAX 36500  /* mc_ca_create: days 1..this */

typedef struct mc_ca mc_ca;
typedef struct mc_trust mc_trust;

/* What the checks extracted from an accepted leaf. */
typedef struct mc_cert_info {
    uint8_t fp[32];            /* mc_cert_fingerprint of the leaf */
    char fp_hex[65];
    char serial_hex[41];       /* upper-case hex, no leading zero octets */
    char uscc[MC_USCC_LEN + 1];/* organizationIdentifier; "" if absent,
                                  duplicated or not a valid USCC */
    char org_name[129];        /* O, UTF-8, may be empty */
    char cn[129];              /* CN, UTF-8 */
    char issuer_cn[129];       /* (longer names are cut at a UTF-8
                                  character boundary) */
    int64_t not_before;        /* unix seconds */
    int64_t not_after;
    int64_t path_not_after;    /* earliest notAfter of the whole verified
                                  path, leaf, intermediates and anchor
                                  (mc_cert_verify_chain); mc_cert_info_of:
                                  = not_after */
    mc_alg alg;                /* leaf key algorithm */
    unsigned self_signed;      /* mc_cert_verify_chain: bit i set when the
                                  presented chain[i] is self-signed (subject
                                  = issuer, X509_NAME_cmp): an anchor, not
                                  worth carrying in a SignedData; known
                                  from the parse the check makes anyway
                                  (and kept by the certificate cache).
                                  mc_cert_info_of: 0 */
} mc_cert_info;

/* The identity of a certificate: SHA-256 over its tbsCertificate, the part
 * the CA signed. Not over the whole DER: an ECDSA signature can be rewritten
 * by anyone (s -> n-s) into a second valid certificate with other bytes, and
 * records (binding, revocation) must not be escapable that way. der must be
 * one DER Certificate SEQUENCE exactly. 0 / -1 (malformed). */
int mc_cert_fingerprint(const uint8_t *der, size_t n, uint8_t fp[32]);

/* 1 if p[0..n) is exactly one DER SEQUENCE TLV by its header (definite
 * length of at most 4 octets, covering the rest); the content is not
 * looked at. */
int mc_der_one_seq(const uint8_t *p, size_t n);
/* 1 if s (length n) is a well-formed USCC with a correct check digit. */
int mc_uscc_valid(const char *s, size_t n);

/* --- CA --- */
/* mc_ca_create: new key + self-signed CA certificate (CN = cn, 1..64 bytes,
 * valid from now-60s for `days` days, basicConstraints CA:TRUE critical,
 * keyUsage keyCertSign+cRLSign critical, SKI). mc_ca_save / mc_ca_load:
 * the two files below; load checks that ca.crt is a CA certificate for
 * ca.key and refuses encrypted keys (err code "ca_io", 500). */
mc_ca *mc_ca_create(mc_alg alg, const char *cn, int days, mc_err *err);
int mc_ca_save(const mc_ca *ca, const char *dir, mc_err *err);
mc_ca *mc_ca_load(const char *dir, mc_err *err);
void mc_ca_free(mc_ca *ca);
X509 *mc_ca_cert(const mc_ca *ca); /* borrowed, valid while ca lives */
/* The CA's private key, for what else the CA signs (its CRL and OCSP
 * responses, mc_crl.h): borrowed, valid while ca lives; signing with it
 * from several threads at once is safe (OpenSSL 3 keys are read-only). */
EVP_PKEY *mc_ca_key(const mc_ca *ca);

/* Issue a leaf from a CSR (PEM or DER, auto-detected). Checks proof of
 * possession, key algorithm (SM2 or P-256, else "unsupported_key"), a CN
 * and a valid USCC in the CSR subject ("bad_csr"). The leaf is valid from
 * now-60s for `days` days. Returns the certificate (caller frees with
 * X509_free) or NULL with err set. */
/* days: 1..3650. */
X509 *mc_ca_issue(mc_ca *ca, const uint8_t *csr, size_t csrlen, int days,
                  mc_err *err);
/* The same from a request already parsed (DER or PEM, by the caller):
 * req is borrowed and modified (an SM2 request gets MC_SM2_ID attached
 * for its proof of possession), so it must not be in use elsewhere at
 * the time. NULL req: "bad_csr". Errors as mc_ca_issue. */
X509 *mc_ca_issue_req(mc_ca *ca, X509_REQ *req, int days, mc_err *err);
/* Same but with explicit validity (unix seconds) and key usage bits; for
 * tests that need expired or wrong-usage certificates. ku is an OpenSSL
 * KU_* bit mask (e.g. KU_DIGITAL_SIGNATURE|KU_NON_REPUDIATION), non-zero.
 * Issuance errors: "bad_csr" / "unsupported_key" (400) as above,
 * "bad_request" (400) for bad days/validity/ku, "internal" (500).
 * CSR extensions and attributes are ignored; the subject is rebuilt from the
 * CSR's CN, O and organizationIdentifier entries only. */
X509 *mc_ca_issue_ex(mc_ca *ca, const uint8_t *csr, size_t csrlen,
                     int64_t not_before, int64_t not_after, unsigned ku,
                     mc_err *err);

/* --- re-issuance (renewal; EST simplereenroll semantics, RFC 7030 4.2.2) --- */
/* A new leaf replacing old (a certificate of this CA, trusted by the
 * caller: only its subject and key are read): the subject of old copied
 * exactly (byte-equal DER name), key pub (borrowed; NULL = old's public
 * key), validity [not_before, not_after] (unix seconds), the extensions of
 * an enrolled leaf (basicConstraints CA:FALSE and keyUsage
 * digitalSignature+nonRepudiation, both critical; extendedKeyUsage
 * clientAuth; SKI; AKI) and a new random positive 16-byte serial. Signed
 * like mc_ca_issue's leaves (an SM2 CA: SM3 with MC_SM2_ID). Errors:
 * "bad_request" (400) not_after <= not_before or outside 1970..9999,
 * "unsupported_key" (400) pub neither SM2 nor P-256, "internal" (500).
 * Caller frees with X509_free. */
X509 *mc_ca_reissue(mc_ca *ca, X509 *old, EVP_PKEY *pub, int64_t not_before,
                    int64_t not_after, mc_err *err);

/* Check a rekey CSR against the current certificate old (borrowed):
 * csr[0..n) must be one DER PKCS#10 exactly (no trailing bytes, DER as it
 * re-encodes, n <= MC_CSR_MAX) whose self-signature verifies (proof of
 * possession; SM2 with MC_SM2_ID, as enrollment), for an SM2 or P-256
 * key of old's algorithm, with a subject byte-equal to old's, and a key
 * other than old's. In that order, errors:
 *   bad_csr (400)          not DER / trailing bytes / too large / PoP fails
 *   unsupported_key (400)  key neither SM2 nor P-256
 *   alg_mismatch (409)     SM2 for a P-256 certificate or the reverse
 *   subject_mismatch (409) subject DER differs from old's
 *   same_key (409)         the CSR's key is old's key
 *   internal (500)         old NULL or unreadable
 * Returns the CSR's public key (caller frees with EVP_PKEY_free), for
 * mc_ca_reissue. CSR extensions and attributes are ignored. Cost: one
 * signature verification. */
EVP_PKEY *mc_csr_rekey_check(const uint8_t *csr, size_t n, X509 *old,
                             mc_err *err);

/* --- trust store --- */
/* Load every *.crt / *.pem under dir (or a single file) as trust anchors.
 * Every certificate in the store is an anchor (X509_V_FLAG_PARTIAL_CHAIN):
 * an intermediate may be trusted directly. Fails (err "config", 500) if a
 * file has no usable CA certificate or nothing was loaded. */
mc_trust *mc_trust_load(const char *path, mc_err *err);
mc_trust *mc_trust_new(void);
/* Takes its own reference. Refuses (-1) certificates that are not CAs.
 * An SM2-signed anchor gets MC_SM2_ID attached if it has no ID. */
int mc_trust_add(mc_trust *t, X509 *anchor);
void mc_trust_free(mc_trust *t);

/* Verify a presented chain (DER, leaf first, n <= MC_CHAIN_MAX) at time
 * `now`. On success returns 0, fills *info, and if leaf_pub is non-NULL
 * stores the leaf public key there (caller frees). Errors (err->code):
 *   bad_cert (400)        garbage DER, trailing bytes, too large, n==0/too many
 *   unsupported_key (400) leaf key neither SM2 nor P-256 (e.g. P-384, RSA)
 *   cert_untrusted (403)  does not chain to an anchor / bad signature
 *   cert_expired (403)    now > notAfter;  cert_not_yet_valid (403)
 *   cert_key_usage (403)  no keyUsage or no digitalSignature bit
 *   cert_ext_key_usage (403) no extendedKeyUsage, or no clientAuth in it
 *                         (serverAuth, codeSigning or anyExtendedKeyUsage
 *                         alone are refused)
 *   cert_is_ca (403)      the leaf is a CA: basicConstraints CA:TRUE (with
 *                         any keyUsage), or keyCertSign without
 *                         basicConstraints, or a v1 self-signed root
 *   cert_no_org (403)     no (valid) organizationIdentifier in the subject
 * The checks run in that order after parsing: trust and time first, then
 * key, usage, purpose, not-a-CA, organisation. Intermediates and anchors
 * get OpenSSL's path checks only (their own EKU is not constrained). info may be NULL; *leaf_pub is NULL on failure.
 * Cost: one signature verification per certificate in the path, plus one
 * DER parse and re-encoding per presented certificate.
 */
int mc_cert_verify_chain(const mc_trust *t, const mc_slice *chain, size_t n,
                         int64_t now, mc_cert_info *info, EVP_PKEY **leaf_pub,
                         mc_err *err);

/* mc_cert_verify_chain with a grace period for an expired leaf (renewal
 * after notAfter): when at `now` the only fault is that the leaf has
 * expired (the anchor and intermediates valid at now, every signature
 * good) and now <= leaf notAfter + grace, the whole path is verified once
 * more at the leaf's last valid second (notAfter - 1: OpenSSL's validity
 * excludes notAfter itself), and every other check runs as usual. Past the
 * grace, or with any other fault, the errors of mc_cert_verify_chain
 * (cert_expired for an expiry). info->not_after is the leaf's notAfter as
 * usual (the caller sees that it has passed). grace (seconds) >= 0; 0 is
 * mc_cert_verify_chain. Cost: that of mc_cert_verify_chain, plus one more
 * path verification only in the grace case. */
int mc_cert_verify_chain_grace(const mc_trust *t, const mc_slice *chain,
                               size_t n, int64_t now, int64_t grace,
                               mc_cert_info *info, EVP_PKEY **leaf_pub,
                               mc_err *err);

/* mc_cert_verify_chain for certificates already parsed (e.g. taken from a
 * CMS SignedData): certs[0..n) borrowed (an SM2-signed one gets MC_SM2_ID
 * attached, so they must not be in use elsewhere at the time), chain[i]
 * the DER encoding of certs[i] as i2d gives it (mc_x509_der). The same
 * checks and errors, without parsing the certificates again (one d2i per
 * certificate saved). */
int mc_cert_verify_x509(const mc_trust *t, X509 *const *certs, const mc_slice *chain,
                        size_t n, int64_t now, mc_cert_info *info, EVP_PKEY **leaf_pub,
                        mc_err *err);
/* Fill info from a certificate without any trust checks (e.g. mcertctl
 * printing what it issued). 0 / -1. */
int mc_cert_info_of(X509 *x, mc_cert_info *info, mc_err *err);

/* mc_cert_info_of and mc_x509_der in one encoding: x's DER appended to
 * der, info filled from those bytes. 0 / -1 (der may have grown). */
int mc_cert_info_der(X509 *x, mc_buf *der, mc_cert_info *info, mc_err *err);

/* A certificate serial as mc_cert_info.serial_hex writes it (upper-case
 * hex of its magnitude, no leading zero octets; the CRL's and OCSP's
 * serials too, mc_crl.h): 0, or -1 ("" in out) for a negative one or one
 * of more than 20 octets. */
int mc_serial_hex(const ASN1_INTEGER *sn, char out[41]);

/* A serial as a person or a client gives it (s, n bytes: hex, either
 * case, an even number of 2..40 digits, leading zero octets allowed) in
 * mc_serial_hex's form, the serial index's: upper-case, no leading zero
 * octets. 0 / -1 (not such a serial). */
int mc_serial_norm(const char *s, size_t n, char out[41]);

/* DER encode, appended to the owned buffer out (usually empty). 0 / -1. */
int mc_x509_der(X509 *x, mc_buf *out);

#endif
