/*
 * mc_cms_verify.h — the whole check of a detached signature (PROTOCOL.md
 * §8.8) short of the record store: parse the SignedData to our profile,
 * compare its messageDigest with the document's, verify the signature over
 * the signed attributes, and chain the signer certificate to a trust anchor
 * AT THE SIGNING TIME. What the records say of the certificate since
 * (revoked or superseded, when) is added by mc_cms_verdict. Used by POST /api/v1/verify
 * (on a worker thread) and by mcertctl verify.
 *
 * Cost: one parse, one signature verify, one chain verify (a verify per
 * certificate of the path). Thread-safe (the trust store is read-only).
 */
#ifndef MC_CMS_VERIFY_H
#define MC_CMS_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "mc_err.h"
#include "mc_x509.h"

typedef struct mc_cms_result {
    const char *reason;           /* NULL: valid so far; else a §8.8 reason */
    mc_cert_info signer;          /* fp_hex "" when no signer could be read */
    int64_t signing_time;
    const char *digest_alg;       /* "sm3" | "sha256" */
    uint8_t digest[32];           /* the messageDigest attribute */
} mc_cms_result;

/* der (a ContentInfo) against a document: its digest (digest != NULL, 32
 * bytes) or its bytes (doc, n; hashed with the SignedData's algorithm).
 * 0 with *out filled (out->reason says whether it holds), or -1 with err
 * bad_cms (400) when der is not a SignedData of our profile. */
int mc_cms_verify(const mc_trust *trust, const uint8_t *der, size_t len, const uint8_t *digest,
                  const uint8_t *doc, size_t n, mc_cms_result *out, mc_err *err);

/* The verdict with the records: status_now is the record's status
 * ("unknown" when status is "" — never recorded). The status at the
 * signing time is the last of the record's events at or before it: a
 * revocation (status "revoked", revoked_at) makes the signature invalid
 * (revoked_before_signing); else a supersession (superseded_at, kept when
 * a superseded certificate is revoked later: a renewal replaced it, and
 * from then on it signs nothing) makes it invalid too
 * (superseded_before_signing); events after the signing time leave it
 * valid. Sets *status_at_signing ("valid" | "revoked" | "superseded"). */
void mc_cms_verdict(mc_cms_result *r, const char *status, int64_t revoked_at,
                    int64_t superseded_at, const char **status_now,
                    const char **status_at_signing);

#endif
