/*
 * mc_crl.h — what the CA publishes about revocation: its CRL (RFC 5280 §5)
 * and OCSP responses (RFC 6960), built and signed with OpenSSL's own
 * X509_CRL_* and OCSP_* APIs from facts the caller read from the store.
 *
 * Design:
 *  - Pure: no I/O, no clock of its own (the caller passes `now`; only
 *    OCSP's producedAt is OpenSSL's reading of the clock), no globals:
 *    thread-safe. The CA is borrowed (mc_x509.h) and signs through
 *    mc_sign_ctx_new, so that an SM2 CA signs with the GM/T ID.
 *  - OCSP is two steps around the one store read: mc_ocsp_parse reads the
 *    request and says which serials are ours to look up (a CertID whose
 *    issuer name and key hashes, under the request's own hash algorithm,
 *    are our CA's); mc_ocsp_respond answers every CertID of the request
 *    in its order — good, revoked (time, reason) or unknown — signed by
 *    the CA (ResponderID by key hash, the CA certificate included), with
 *    the request's nonce copied. No nextUpdate: the answer is built from
 *    the live records at each request (RFC 6960 §4.2.2.1: newer
 *    information is always available).
 *  - A request that cannot be read (not one DER OCSPRequest, no CertID,
 *    more than MC_OCSP_REQ_MAX) is answered by mc_ocsp_error with
 *    malformedRequest (RFC 6960 §2.3: an OCSPResponse without
 *    responseBytes); the HTTP layer sends it with 200 (Appendix A.2: the
 *    HTTP response body is the OCSPResponse, whatever its status).
 *  - A CertID of another issuer, or under a hash algorithm OpenSSL does
 *    not know, is answered `unknown` (RFC 6960 §2.2: "the request
 *    indicates an unrecognized issuer that is not served by this
 *    responder"), without a store lookup; a request of such CertIDs
 *    only gets mc_ocsp_error(MC_OCSP_UNAUTHORIZED) from the HTTP layer
 *    (§2.3: not authoritative for any of them).
 *  - Reasons (RFC 5280 §5.3.1 CRLReason): reasonCode 0 (unspecified) is
 *    never written — the extension is left out instead, as §5.3.1 asks —
 *    in the CRL and in OCSP alike.
 *
 * Non-goals: signed OCSP requests (a request's signature is ignored, not
 * checked: the answers are public), delegated OCSP signers, delta CRLs,
 * partitioned CRLs, OCSP over GET.
 */
#ifndef MC_CRL_H
#define MC_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_err.h"
#include "mc_x509.h"

/* ---- reasons (RFC 5280 §5.3.1) ---- */

/* The reasons a revocation may give: 0 unspecified, 1 keyCompromise,
 * 3 affiliationChanged, 4 superseded, 5 cessationOfOperation,
 * 9 privilegeWithdrawn. Refused: 2 cACompromise and 10 aACompromise (about
 * a CA's or an attribute authority's key, not a holder's certificate: the
 * CA's own compromise is a new CA, not a CRL entry), 6 certificateHold (a
 * hold is lifted later, and a revocation here is final), 8 removeFromCRL
 * (delta CRLs only), 7 (unassigned). */
#define MC_REASON_UNSPECIFIED 0
#define MC_REASON_KEY_COMPROMISE 1
#define MC_REASON_PRIVILEGE_WITHDRAWN 9
/* 1 if reason is one that may be given. */
int mc_reason_allowed(int reason);
/* The RFC 5280 name of any reason 0..10 ("keyCompromise"), NULL for 7 and
 * out-of-range values. */
const char *mc_reason_name(int reason);
/* A reason given as its name (as mc_reason_name spells it; case-sensitive)
 * or its decimal number; n bytes of s. The reason, or -1 if it is neither
 * or not allowed (mc_reason_allowed). */
int mc_reason_parse(const char *s, size_t n);

/* ---- the CRL ---- */

typedef struct mc_crl_entry {
    char serial[41];              /* upper-case hex, as mc_cert_info.serial_hex */
    int64_t revoked_at;           /* unix seconds */
    int reason;                   /* 0..10 */
} mc_crl_entry;

#define MC_CRL_NEXT_UPDATE 86400  /* nextUpdate = thisUpdate + this */

/* The CA's CRL (v2) at `now`, DER appended to out: issuer = the CA's
 * subject, thisUpdate now, nextUpdate now + MC_CRL_NEXT_UPDATE, cRLNumber
 * `number` (>= 0), authorityKeyIdentifier (the CA's SKI, or the SHA-1 of
 * its key if it has none), one entry per e[i] (serial, revocationDate,
 * reasonCode unless 0), sorted by serial; signed by the CA. 0, or -1 with
 * err (400 bad_request: an entry's serial is not 1..40 hex digits or its
 * reason not 0..10; 500 internal). Cost: one signature, O(n log n). */
int mc_crl_build(const mc_ca *ca, int64_t number, int64_t now, const mc_crl_entry *e, size_t n,
                 mc_buf *out, mc_err *err);

/* ---- OCSP ---- */

#define MC_OCSP_REQ_MAX 16        /* CertIDs in one request */
#define MC_OCSP_BODY_MAX 8192     /* the largest request body read */

typedef struct mc_ocsp_req mc_ocsp_req;

/* What the request asks, in its order: for each CertID, whether it names
 * our CA (ours) and then its serial (upper-case hex, "" if not ours). */
typedef struct mc_ocsp_ask {
    int ours;
    char serial[41];
} mc_ocsp_ask;

/* Parse one DER OCSPRequest (exactly len bytes). NULL if it is malformed
 * (answer it with mc_ocsp_error(MC_OCSP_MALFORMED)). The request owns its
 * asks; free with mc_ocsp_req_free (accepts NULL). */
mc_ocsp_req *mc_ocsp_parse(const mc_ca *ca, const uint8_t *der, size_t len);
void mc_ocsp_req_free(mc_ocsp_req *q);
/* The request's CertIDs: *n of them (1..MC_OCSP_REQ_MAX), borrowed. */
const mc_ocsp_ask *mc_ocsp_asks(const mc_ocsp_req *q, size_t *n);

typedef enum mc_ocsp_state { MC_OCSP_GOOD, MC_OCSP_REVOKED, MC_OCSP_UNKNOWN } mc_ocsp_state;
typedef struct mc_ocsp_status {
    mc_ocsp_state state;
    int64_t revoked_at;           /* MC_OCSP_REVOKED */
    int reason;                   /* MC_OCSP_REVOKED: 0..10 (0: not written) */
} mc_ocsp_status;

/* The signed answer: st[i] for the request's i-th CertID (st has one per
 * ask; asks that are not ours are answered unknown whatever st says),
 * thisUpdate `now`, the nonce copied. A successful OCSPResponse appended
 * to out: 0, or -1 with err (500 internal). */
int mc_ocsp_respond(const mc_ca *ca, const mc_ocsp_req *q, const mc_ocsp_status *st, int64_t now,
                    mc_buf *out, mc_err *err);

/* An OCSPResponse of only a status (no responseBytes), appended to out:
 * MC_OCSP_MALFORMED (1), MC_OCSP_INTERNAL (2), MC_OCSP_TRY_LATER (3),
 * MC_OCSP_UNAUTHORIZED (6: a server that runs no CA). Never fails (aborts
 * on out of memory). */
#define MC_OCSP_MALFORMED 1
#define MC_OCSP_INTERNAL 2
#define MC_OCSP_TRY_LATER 3
#define MC_OCSP_UNAUTHORIZED 6
void mc_ocsp_error(int status, mc_buf *out);

#endif
