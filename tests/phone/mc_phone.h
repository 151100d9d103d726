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
 *  - Renewal (purpose "renew", PROTOCOL.md §10.6, §10.7): the answer is
 *    signed with the CURRENT key over the 14-element TBS (csr_hash of the
 *    CSR sent, or bin(0) to keep the key). A rekey makes a new key of the
 *    same algorithm and a CSR with the current certificate's subject
 *    (byte-equal), kept pending in the store until the 200 reply; the
 *    answer's bytes are kept too (renew.msg), so that after a lost reply
 *    the very same message is sent again. On approval the new leaf must be
 *    for the expected key, with the old subject and issuer; then the old
 *    key and certificate go to the archive keys/<fp>.key, keys/<fp>.crt
 *    (never deleted) and the new ones become current. The archive is how
 *    a bid encrypted to, or signed with, an old certificate is still
 *    opened: mc_phone_find_key by fingerprint, issuer + serial or SKI.
 *
 *    Store files of a renewal (besides those above):
 *      keys/<fp>.key   the key of the certificate <fp> (as key.pem was)
 *      keys/<fp>.crt   that certificate's chain, leaf first (as chain.pem was)
 *      renew.key       rekey: the new key, under the PIN, until installed
 *      renew.pub       its public key
 *      renew.csr       its CSR (PEM)
 *      renew.msg       the answer as sent (msgpack), until a reply decides it
 *
 * Non-goals: cosign mode, a secure element, PIN retry limits, https,
 * checking locally that the documents' alg is the key's (the server
 * refuses that, alg_mismatch); recovering a store whose renewal install
 * crashed half-way (the files it needs are all kept: archive, renew.*).
 *
 * Ownership: mc_phone is owned by the caller (mc_phone_free accepts NULL).
 * Borrowed results (mc_phone_key, mc_phone_chain) live as long as the phone.
 */
#ifndef MC_PHONE_H
#define MC_PHONE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_crypto.h"
#include "mc_err.h"
#include "mc_enroll_proto.h"
#include "mc_proto.h"
#include "mc_results.h"
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

    /* --- renewal (mc_phone_build_renew, mc_phone_renew; sign_key, the
     * tbs_* and msg_* lies and raw_body apply too) --- */
    /* Send these bytes as the csr (0..MC_RENEW_CSR_MAX) instead of the
     * true one; the TBS csr_hash follows them (unless tbs_csr_hash). */
    const mc_slice *renew_csr;
    /* TBS element 11..13 lies: another renewal id, new_not_after, a
     * csr_hash (32 bytes) instead of the sent CSR's, bin(0) although a CSR
     * is sent, or the 11-element TBS of §4 (no renew elements). */
    const char *tbs_renewal;
    int set_tbs_new_not_after;
    int64_t tbs_new_not_after;
    const uint8_t *tbs_csr_hash;
    int tbs_csr_empty;
    int tbs_no_renew;
    /* The csr key: 0 as the message's purpose says (renew only), 1 always
     * (e.g. on a bind answer), -1 never (a renew answer without). */
    int csr_key;
    /* mc_phone_renew: keep the reply out of the store (nothing archived
     * or installed; renew.* stay), or skip keeping renew.msg. */
    int renew_no_install;
    int renew_no_keep;
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
 * mc_phone_fetch (which is this with si NULL). A renew view is bad_reply
 * here: it needs mc_phone_fetch_ex's storage. */
int mc_phone_fetch_any(const char *base, const char *sid, mc_session_view *out,
                       mc_sign_info *si, mc_phone_err *err);
/* ... and a renew view's 5 keys in *ri (out->renew = ri; zeroed for other
 * purposes). Either storage may be NULL (that purpose is then bad_reply). */
int mc_phone_fetch_ex(const char *base, const char *sid, mc_session_view *out,
                      mc_sign_info *si, mc_renew_info *ri, mc_phone_err *err);

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

/* mc_phone_build for a renew view (v->renew set) with the CSR to send:
 * csr.len 0 keeps the current key (csr_hash bin(0)), else csr is one DER
 * PKCS#10 and csr_hash its SHA-256. The TBS is signed with the phone's
 * key (the current one). mc_phone_build of a renew view is this with no
 * CSR. A reject sends the empty csr. */
int mc_phone_build_renew(const mc_phone *p, const mc_session_view *v,
                         mc_phone_decision decision, uint32_t number, mc_slice csr,
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

/* --- renewal (PROTOCOL.md §10.6, §10.7) --- */

/* What a renewal answer got. */
typedef struct mc_phone_renewed {
    char state[16];                /* "approved" | "rejected" */
    char account[MC_ACCOUNT_MAX + 1];
    char fp[65];                   /* approved: the new certificate */
    char old_fp[65];               /* the certificate that was current */
    int rekey;                     /* 1: a new key was certified */
    int resent;                    /* 1: the kept answer (renew.msg) was sent */
    int installed;                 /* 1: the store now holds the new certificate */
} mc_phone_renewed;

/* Answer a renew view (from mc_phone_fetch_ex) with the store's current
 * key. rekey (approve only): a new key of the current algorithm and a CSR
 * with the current certificate's subject — renew.key/renew.pub/renew.csr,
 * reused if already there (a retry) — else keep the key (empty csr). The
 * message is kept as renew.msg before it is sent. Then, on 200 approved:
 * the reply's fp must be its leaf's, the leaf for the expected key (the
 * current one, or renew.pub) with the old subject and issuer
 * (key_mismatch, subject_mismatch, bad_reply otherwise); the old key and
 * chain are archived in keys/<old fp>.key/.crt and the new ones installed;
 * renew.* removed. On 200 rejected: renew.* removed. On a refusal (4xx)
 * renew.msg is removed (the session is decided; renew.key/.csr stay for
 * the next session); on a transport error or 5xx it stays, for
 * mc_phone_renew_resend. ov (may be NULL): the renewal lies above, and the
 * lies of mc_phone_build. out may be NULL. Errors: bad_pin, bad_store,
 * no_certificate, bad_request (not a renew view), http_*, the server's
 * refusals (remote), bad_reply, key_mismatch, subject_mismatch. */
int mc_phone_renew(const char *dir, const char *pin, const char *base,
                   const mc_session_view *v, mc_phone_decision decision, uint32_t number,
                   int rekey, const mc_phone_overrides *ov, mc_phone_renewed *out,
                   mc_phone_err *err);

/* The kept answer (renew.msg), if any: *has 1 and its session id, and
 * *rekey 1 when it carries a CSR. No PIN needed. */
int mc_phone_renew_pending(const char *dir, int *has, char sid[MC_SID_LEN + 1], int *rekey,
                           mc_phone_err *err);

/* Send the kept answer again, byte for byte (a lost reply: the server
 * answers it with the first result), and handle the reply as
 * mc_phone_renew does. Errors: not_found (nothing kept), and those of
 * mc_phone_renew. */
int mc_phone_renew_resend(const char *dir, const char *pin, const char *base,
                          const mc_phone_overrides *ov, mc_phone_renewed *out,
                          mc_phone_err *err);

/* One key of the store's history: the current certificate or an archived
 * one (keys/<fp>.crt, whose key is keys/<fp>.key). */
typedef struct mc_phone_keyent {
    int current;                   /* 1: key.pem + chain.pem; 0: archived */
    mc_cert_info leaf;             /* serial_hex, fp_hex, not_after, cn, ... */
} mc_phone_keyent;

#define MC_PHONE_KEYS_MAX 64

/* The current certificate first (if any), then every archived one, newest
 * notAfter first; up to max into out, *count of them (more: the first
 * max). No PIN needed. Errors: bad_store (an archive file that does not
 * parse, or whose name is not its fingerprint). */
int mc_phone_keys(const char *dir, mc_phone_keyent *out, size_t max, size_t *count,
                  mc_phone_err *err);

/* How a certificate is named where an old bid refers to it: its
 * fingerprint (§7), or a CMS SignerIdentifier / RecipientIdentifier
 * (SignerInfo.sid, KeyTransRecipientInfo.rid, KeyAgreeRecipientInfo's
 * RecipientEncryptedKey.rid): issuerAndSerialNumber or
 * subjectKeyIdentifier. Set one of fp, (issuer and serial), ski. */
typedef struct mc_phone_keyid {
    const uint8_t *fp;             /* 32 bytes, or NULL */
    const X509_NAME *issuer;       /* with serial, or NULL */
    const ASN1_INTEGER *serial;
    const ASN1_OCTET_STRING *ski;  /* or NULL */
} mc_phone_keyid;

/* The private key of the certificate id names, current or archived (the
 * archive is never deleted: a certificate this phone ever held is found).
 * Returns the key (caller frees); *cert (may be NULL) gets the
 * certificate (caller frees), *current (may be NULL) 1 if it is the
 * current one. Errors: bad_request (id names nothing), not_found,
 * bad_pin, bad_store. */
EVP_PKEY *mc_phone_find_key(const char *dir, const char *pin, const mc_phone_keyid *id,
                            X509 **cert, int *current, mc_phone_err *err);

/* A CSR (DER, appended to der) for key with exactly this subject (copied
 * byte for byte), self-signed like init's. For rekey and for tests that
 * send another CSR. Errors: bad_alg, internal. */
int mc_phone_csr_make(EVP_PKEY *key, const X509_NAME *subject, mc_buf *der, mc_phone_err *err);

/* Copy an mc_err (local failure) into a phone error. */
void mc_phone_err_from(mc_phone_err *pe, const mc_err *e);

#endif
