/*
 * mc_phone.h — the reference phone: a device key store, and the phone side
 * of the session protocol (fetch the details, sign, answer).
 *
 * Why: mcertd must be tested, benchmarked and demonstrated end to end without
 * a real handset. This library does what the app does, from core/PROTOCOL.md
 * and the core headers only, and can also lie in every way a hostile phone
 * could (mc_phone_overrides), so that the integration tests can prove that
 * the server refuses each lie.
 *
 * Design:
 *  - Store: a directory (mode 0700) with
 *      key.pem     the device key, PKCS#8 encrypted under the PIN
 *                  (PBES2, AES-256-CBC; mode 0600). Never leaves this module.
 *      pub.pem     its public key, so that import and show need no PIN
 *      device.csr  the CSR (subject CN, O, organizationIdentifier = USCC),
 *                  self-signed (SM2 with ID MC_SM2_ID / ECDSA-SHA256)
 *      chain.pem   the issued chain, leaf first (after import)
 *    Files are written to a temporary name and renamed.
 *  - A PIN is 6..64 ASCII digits. A wrong PIN is told apart from a broken
 *    store (code "bad_pin" vs "bad_store"). This is device mode: there is no
 *    attempt counter here (the server counts only in cosign mode).
 *  - Protocol functions are synchronous (mc_http) with MC_PHONE_TIMEOUT_S.
 *  - Errors use mc_phone_err, not mc_err: the code of a server error is the
 *    server's own string, copied, so tests can compare it with strcmp.
 *
 *  - Signing (purpose "sign", PROTOCOL.md §8): the phone lists its inbox
 *    (mc_phone_inbox: a GET signed over the inbox TBS with a fresh nonce
 *    and the phone's clock), fetches a sign view with caller storage for
 *    its documents (mc_phone_fetch_any), and answers with the 13-element
 *    TBS signature plus one signature per document over that document's
 *    CMS signed attributes (mc_cms_signed_attrs), built from the view.
 *
 *  - Enrollment (PROTOCOL.md §9.7): the store's key and CSR (mc_phone_init)
 *    are sent with the application's id and the activation code from the
 *    SMS (mc_phone_enroll); the chain that comes back is imported like
 *    `import` does. Sending the same store's CSR again after a lost reply
 *    gets the same certificate.
 *
 * Non-goals: cosign mode, the renew purpose, a secure element, PIN
 * retry limits, https, checking locally that the documents' alg is the
 * key's (the server refuses that, alg_mismatch).
 *
 * Ownership: mc_phone is owned by the caller (mc_phone_free accepts NULL).
 * Borrowed results (mc_phone_key, mc_phone_chain) live as long as the phone.
 */
#ifndef MC_PHONE_H
#define MC_PHONE_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_crypto.h"
#include "mc_err.h"
#include "mc_enroll_proto.h"
#include "mc_proto.h"
#include "mc_session.h"
#include "mc_x509.h"

#define MC_PHONE_KEY_FILE "key.pem"
#define MC_PHONE_PUB_FILE "pub.pem"
#define MC_PHONE_CSR_FILE "device.csr"
#define MC_PHONE_CHAIN_FILE "chain.pem"
#define MC_PHONE_PIN_MIN 6
#define MC_PHONE_PIN_MAX 64
#define MC_PHONE_TIMEOUT_S 10
#define MC_PHONE_URL_MAX 512
#define MC_PHONE_IMPORT_MAX 65536 /* bytes of PEM/DER accepted by import */

typedef struct mc_phone mc_phone;

/* Error of a phone operation.
 *   remote == 1: the server refused; status is its HTTP status and code/msg
 *               are its {code, message} (code "http_error" if the body could
 *               not be decoded).
 *   remote == 0: a local failure; status/code/msg as an mc_err would carry
 *               them (e.g. 403 "bad_pin", 504 "http_timeout").
 * code is "" when there is no error. */
typedef struct mc_phone_err {
    int status;
    int remote;
    char code[32];
    char msg[160];
} mc_phone_err;

typedef enum mc_phone_decision {
    MC_PHONE_APPROVE = 1,
    MC_PHONE_REJECT = 2,
} mc_phone_decision;

/* The server's answer to a response: state "approved" | "rejected". */
typedef struct mc_phone_result {
    char state[16];
    char account[MC_ACCOUNT_MAX + 1];
} mc_phone_result;

/* What a store holds, for "show" (no PIN needed). Without a certificate only
 * cn, org_name and uscc of `leaf` are filled (from the CSR). */
typedef struct mc_phone_status {
    mc_alg alg;
    int has_cert;
    size_t nchain;
    mc_cert_info leaf;
} mc_phone_status;

/*
 * Lies, for tests. Every field left zero/NULL means "tell the truth"; the
 * structure may be passed as NULL. All pointers are borrowed for the call.
 *
 * tbs_*: change only what is signed (the message keeps the true values).
 * msg_*: change only the message (the signature covers the true values).
 */
typedef struct mc_phone_overrides {
    const char *tbs_sid;
    const char *tbs_purpose;
    const char *tbs_origin;
    const char *tbs_account;
    const char *tbs_decision;
    const uint8_t *tbs_nonce;      /* MC_NONCE_LEN bytes */
    const uint8_t *tbs_cert_fp;    /* 32 bytes (default: mc_cert_fingerprint
                                      of the sent leaf) */
    int set_tbs_expires;
    int64_t tbs_expires;
    int set_tbs_number;
    uint32_t tbs_number;

    const char *msg_sid;           /* must fit mc_response's fields */
    const char *msg_purpose;
    const char *msg_origin;
    const char *msg_decision;
    int set_msg_number;
    uint32_t msg_number;
    int set_msg_version;
    uint32_t msg_version;

    /* The sid in the request path (default: the view's sid). Not checked. */
    const char *url_sid;

    /* Send this chain (DER, leaf first, 1..MC_CHAIN_MAX) instead of the
     * phone's; the TBS cert_fp follows its leaf. */
    const mc_slice *chain;
    size_t nchain;
    /* Sign with this key instead of the device key. */
    EVP_PKEY *sign_key;
    /* Flip the low bit of the signature's last byte (DER stays valid). */
    int corrupt_sig;
    /* Send these bytes as the signature (at most MC_SIG_MAX). */
    const mc_slice *sig;

    /* Send these bytes as the whole body instead (raw_len may be 0); then
     * the phone, view and chain are not used except for the URL. */
    const uint8_t *raw_body;
    size_t raw_len;

    /* --- purpose "sign" --- */
    /* TBS: build it from this other view (another session) instead of the
     * answered one; the tbs_* lies above still apply on top. */
    const mc_session_view *tbs_view;
    /* TBS: these documents (and signing_time) as elements 11-12 instead of
     * the view's; or tbs_no_docs: the 11-element TBS of §4. */
    const mc_sign_info *tbs_sign;
    int tbs_no_docs;
    /* Document signatures: sign this digest (32 bytes) instead of the one
     * shown for document doc_digest_index. */
    const uint8_t *doc_digest;
    size_t doc_digest_index;
    /* ... and/or this signing time instead of the view's, for every one. */
    int set_doc_signing_time;
    int64_t doc_signing_time;
    /* Send doc_sigs[i] = the signature of document doc_sig_order[i] (an
     * array of doc_sig_order_len indices < ndocs; shorter than ndocs:
     * the rest in order). {1, 0} swaps the first two. */
    const size_t *doc_sig_order;
    size_t doc_sig_order_len;
    /* Send this many doc_sigs (0..MC_DOCS_MAX) instead of one per document
     * (approve) or none (reject): fewer are the first ones, more repeat
     * them (or the session signature when there are no documents). */
    int set_doc_sigs_count;
    size_t doc_sigs_count;
    /* The doc_sigs key: 0 as the message's purpose says (sign only),
     * 1 always (e.g. on a bind answer), -1 never (a sign answer without). */
    int doc_sigs_key;

    /* --- the inbox request (mc_phone_inbox) --- */
    const uint8_t *inbox_nonce;    /* MC_INBOX_NONCE_LEN bytes instead of fresh */
    int64_t inbox_ts_skew;         /* added to the phone's clock (ts) */
    int set_inbox_ts;              /* ... or this ts exactly */
    int64_t inbox_ts;
    const char *inbox_tbs_base;    /* sign this base instead of the one used */
    const uint8_t *inbox_fp;       /* send (and sign) this fingerprint (32 bytes) */
    int corrupt_inbox_sig;         /* flip the low bit of the sig's last byte */
    /* (sign_key applies to the inbox signature too.) */

    /* --- enrollment (mc_phone_enroll; raw_body applies too) --- */
    const mc_slice *enroll_csr;    /* send these bytes as the CSR */
    int enroll_no_import;          /* leave the returned chain out of the store */
} mc_phone_overrides;

/* --- store --- */

/* Create a store in dir (created with mode 0700 if missing): a new device
 * key of `alg`, key.pem under `pin`, pub.pem and device.csr. Refuses
 * ("store_exists") if dir already holds a key. Errors: bad_pin (PIN not
 * 6..64 digits), bad_alg, bad_subject (cn empty; cn or org_name not
 * 1..64 characters of UTF-8), bad_uscc, bad_store (I/O). */
int mc_phone_init(const char *dir, mc_alg alg, const char *pin, const char *cn,
                  const char *org_name, const char *uscc, mc_phone_err *err);

/* Store the issued chain (PEM with 1..MC_CHAIN_MAX certificates, leaf first,
 * or one DER certificate) as chain.pem, replacing any previous one.
 * Errors: bad_cert (unparsable, too many, too large), key_mismatch (the
 * leaf's key is not this store's key), bad_store. No PIN needed. */
int mc_phone_import(const char *dir, const uint8_t *data, size_t len,
                    mc_phone_err *err);

/* What the store holds (no PIN needed). */
int mc_phone_describe(const char *dir, mc_phone_status *out, mc_phone_err *err);

/* Unlock the device key with the PIN, and load the chain if one was
 * imported (if not, mc_phone_chain returns 0 and responses need ov->chain).
 * Errors: bad_pin (a PIN that does not decrypt the well-formed key.pem),
 * bad_store (any file missing, malformed, unencrypted or not matching the
 * others). The leaf's fingerprint (the TBS cert_fp) is computed here, once. */
mc_phone *mc_phone_open(const char *dir, const char *pin, mc_phone_err *err);
void mc_phone_free(mc_phone *p);

mc_alg mc_phone_alg(const mc_phone *p);
/* The device key (borrowed; for tests that sign other things with it). */
EVP_PKEY *mc_phone_key(const mc_phone *p);
/* Borrowed DER slices of the chain, leaf first; returns the count copied
 * (at most max). */
size_t mc_phone_chain(const mc_phone *p, mc_slice *out, size_t max);

/* --- protocol --- */

/* GET <base>/m/v1/sessions/<sid>. base is "http://host:port" (a trailing
 * slash is tolerated). On success fills *out (the server now counts the
 * session as scanned). Local errors: bad_sid (not MC_SID_LEN base32 chars),
 * bad_url, http_* (mc_http), bad_reply (200 but not a view of that sid;
 * also a sign view: it needs mc_phone_fetch_any's storage). */
int mc_phone_fetch(const char *base, const char *sid, mc_session_view *out,
                   mc_phone_err *err);

/* mc_phone_fetch for a view of any purpose: a sign view's documents, text
 * and signing_time land in *si (caller storage, out->sign = si, zeroed for
 * other purposes). si may be NULL: then a sign view is bad_reply, as with
 * mc_phone_fetch (which is this with si NULL). */
int mc_phone_fetch_any(const char *base, const char *sid, mc_session_view *out,
                       mc_sign_info *si, mc_phone_err *err);

/* GET <base>/m/v1/inbox?fp=&ts=&nonce=&sig= (§8.4): the sign requests
 * waiting for this phone's certificate. Signs the inbox TBS (base
 * lower-cased, without trailing '/'; fp of the leaf; ts = the phone's
 * clock; a fresh 16-byte nonce) with the device key. Fills entries[0..
 * *count) (at most max; more is bad_reply) and *now (the server's clock;
 * may be NULL). ov: the inbox_* lies and sign_key (NULL = none). Errors:
 * no_certificate, bad_url, http_*, the server's refusals (stale_request,
 * replayed, bad_signature, not_bound, ...), bad_reply. */
int mc_phone_inbox(const mc_phone *p, const char *base, mc_inbox_entry *entries, size_t max,
                   size_t *count, int64_t *now, const mc_phone_overrides *ov,
                   mc_phone_err *err);

/* What mc_phone_inbox would send at the phone time `now`, without sending
 * it: the query "fp=..&ts=..&nonce=..&sig=.." into query (size bytes) and
 * the signed bytes appended to tbs (may be NULL). For tests and replays. */
int mc_phone_inbox_build(const mc_phone *p, const char *base, int64_t now,
                         const mc_phone_overrides *ov, char *query, size_t size, mc_buf *tbs,
                         mc_phone_err *err);

/* The entry of sid among entries[0..n), or NULL. */
const mc_inbox_entry *mc_phone_inbox_find(const mc_inbox_entry *entries, size_t n,
                                          const char *sid);

/* 1 if number is one of the view's three choices. */
int mc_phone_number_ok(const mc_session_view *v, uint32_t number);

/* Build what mc_phone_respond would send, without sending it: the TBS bytes
 * (appended to tbs, may be NULL) and the msgpack body (appended to body).
 * A sign view (v->sign set) is answered with the 13-element TBS and, on
 * approval, doc_sigs: per document, a signature over
 * mc_cms_signed_attrs(signing_time, digest) (none on a reject).
 * p may be NULL if ov supplies both chain and sign_key. raw_body and
 * url_sid are ignored here. Does not check number against the
 * choices (so that tests can send a wrong one). */
int mc_phone_build(const mc_phone *p, const mc_session_view *v,
                   mc_phone_decision decision, uint32_t number,
                   const mc_phone_overrides *ov, mc_buf *tbs, mc_buf *body,
                   mc_phone_err *err);

/* POST the response to <base>/m/v1/sessions/<sid>/response and decode the
 * result. 0 with *result filled when the server accepted it (state
 * "approved" or "rejected"); -1 with err (remote == 1 for the server's
 * {code, message}; bad_reply for a 200 that is not such a result).
 * result may be NULL. p and v may be NULL when
 * ov->raw_body is set (v then needs ov->url_sid). */
int mc_phone_respond(const mc_phone *p, const char *base,
                     const mc_session_view *v, mc_phone_decision decision,
                     uint32_t number, const mc_phone_overrides *ov,
                     mc_phone_result *result, mc_phone_err *err);

/* Decode a QR PNG with the real decoder (`zbarimg --raw -q`, stderr
 * discarded) and copy the first symbol's text into payload (size bytes,
 * NUL-terminated). Errors: no_decoder (zbarimg missing), qr_unreadable,
 * qr_too_long. mc_qr_parse then gives base and sid. Cost: one process. */
int mc_phone_scan_png(const char *path, char *payload, size_t size,
                      mc_phone_err *err);

/* --- enrollment (PROTOCOL.md §9.7) --- */

/* The store's CSR (device.csr) as DER, appended to out. Errors: bad_store. */
int mc_phone_csr_der(const char *dir, mc_buf *out, mc_phone_err *err);

/* What an enrollment got: the application, the leaf's fingerprint, the
 * chain's length (leaf + CA). */
typedef struct mc_phone_enrolled {
    char app[MC_APP_ID_MAX + 1];
    char fp[65];
    size_t nchain;
} mc_phone_enrolled;

/* POST <base>/m/v1/enroll {v, app, code, csr (the store's, DER), sid (if
 * not NULL or "")} and, on 200, import the chain into the store dir (the
 * leaf must be for its key and the reply's fp the leaf's). No PIN needed:
 * the CSR was signed at init. ov (may be NULL): enroll_csr, raw_body,
 * enroll_no_import. Errors: bad_url, http_*, the server's refusals
 * (remote: bad_code, activation_locked, activation_expired,
 * activation_used, subject_mismatch, alg_mismatch, bad_csr, ...),
 * bad_reply, key_mismatch, bad_store. out may be NULL. */
int mc_phone_enroll(const char *dir, const char *base, const char *app, const char *code,
                    const char *sid, const mc_phone_overrides *ov, mc_phone_enrolled *out,
                    mc_phone_err *err);

/* Copy an mc_err (local failure) into a phone error. */
void mc_phone_err_from(mc_phone_err *pe, const mc_err *e);

#endif
