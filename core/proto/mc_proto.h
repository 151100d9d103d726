/*
 * mc_proto.h — the phone protocol: the exact bytes that get signed, and the
 * msgpack messages between phone and server. core/PROTOCOL.md is the
 * normative description; this is its implementation. No I/O here.
 *
 * To-be-signed bytes (TBS) are one canonical msgpack array of 11 elements:
 *   [ "mcert-tbs", 1, purpose, sid, nonce, origin, account, expires,
 *     cert_fp, number, decision ]
 * (13 for sign: + documents, signing_time; 14 for renew: + renewal,
 * new_not_after, csr_hash)
 * with str for text, bin for nonce (32) and cert_fp (32), and the shortest
 * msgpack encoding for every integer and length (what msgpack-c's
 * msgpack_pack_* functions produce).
 *
 * Decoding untrusted msgpack: the frame is capped (MC_PHONE_BODY_MAX) and
 * pre-walked (mc_mp_check) so that no container claims more elements than
 * bytes remain and nesting is <= 8 deep, before msgpack-c sees it; trailing
 * bytes and truncation are errors. Unknown map keys are rejected (strict),
 * duplicates too.
 */
#ifndef MC_PROTO_H
#define MC_PROTO_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_err.h"
#include "mc_session.h"
#include "mc_x509.h"

#define MC_PROTO_VERSION 1
#define MC_PHONE_BODY_MAX 16384
#define MC_MP_DEPTH_MAX 8 /* deepest container nesting mc_mp_check accepts */

/* ---- enrollment (purpose "enroll", PROTOCOL.md §9.7; the messages are
 * in mc_enroll_proto.h) ---- */
#define MC_APP_ID_MAX 32 /* application ids: 1..32 of [0-9A-Z] */

/* ---- renewal (purpose "renew", PROTOCOL.md §10) ---- */
#define MC_RENEWAL_ID_LEN 20   /* "XF" + YYYYMMDD + 10 digits */
#define MC_SERIAL_HEX_MAX 40   /* mc_cert_info.serial_hex: upper-case hex */
#define MC_RENEW_YEARS_MAX 3   /* years of a renewal: 1..3 */
#define MC_RENEW_CSR_MAX 4096  /* the answer's csr: 0..4096 bytes */

/* What a renew session adds to a session's view (5 keys, §10.3): the
 * renewal's id, the current certificate's serial and notAfter, the
 * notAfter the new certificate will have, and the years paid for. */
typedef struct mc_renew_info {
    char renewal[33];              /* MC_RENEWAL_ID_LEN chars: "XF" + 18 digits */
    char serial[MC_SERIAL_HEX_MAX + 1]; /* 1..40 of [0-9A-F] */
    int64_t not_after;             /* unix seconds, >= 0 */
    int64_t new_not_after;         /* unix seconds, > 0 */
    uint32_t years;                /* 1..MC_RENEW_YEARS_MAX */
} mc_renew_info;

/* The 3 more TBS elements of a renew answer (§10.6): renewal (str),
 * new_not_after (positive int), csr_hash: bin(32) = SHA-256 of the
 * answer's csr bytes when has_csr, else bin(0) (keep the current key). */
typedef struct mc_renew_tbs {
    const char *renewal;
    int64_t new_not_after;
    uint8_t csr_hash[32];
    int has_csr;
} mc_renew_tbs;

/* ---- signing (purpose "sign", PROTOCOL.md §8) ---- */
#define MC_DOCS_MAX 32
#define MC_DOC_NAME_MAX 255
#define MC_SIGN_TEXT_MAX 512
#define MC_DIGEST_LEN 32
#define MC_INBOX_NONCE_LEN 16
#define MC_INBOX_MAX 100

/* One document to sign: what the phone shows and what its signature
 * covers. alg is "sm3" or "sha256". */
typedef struct mc_doc {
    char name[MC_DOC_NAME_MAX + 1];
    uint64_t size;                 /* <= 2^53 - 1 */
    char alg[8];
    uint8_t digest[MC_DIGEST_LEN];
} mc_doc;

/* What a sign session adds to a session. */
typedef struct mc_sign_info {
    mc_doc docs[MC_DOCS_MAX];
    size_t ndocs;                  /* 1..MC_DOCS_MAX */
    int64_t signing_time;          /* unix seconds, >= 0 */
    char text[MC_SIGN_TEXT_MAX + 1];
} mc_sign_info;

/* The canonical msgpack of the documents: an array of ndocs arrays
 * [name, size, alg, digest] — TBS element 11, and how the store keeps
 * them. Never fails. */
void mc_docs_encode(const mc_sign_info *si, mc_buf *out);
/* Strict inverse of mc_docs_encode (1..32 entries, each exactly that
 * shape; alg "sm3" | "sha256", the same for all; name 1..255 bytes of
 * UTF-8 without control characters). Fills docs/ndocs only.
 * 0 / -1 (bad_msgpack, bad_field). */
int mc_docs_decode(const uint8_t *p, size_t n, mc_sign_info *si, mc_err *err);
/* 1 if name (n bytes) is a valid document name: 1..255 bytes of
 * well-formed UTF-8 with no C0 control character and no DEL. Also used
 * for the purpose text (mc_text_valid: 0..512 bytes, same rule). */
int mc_doc_name_valid(const char *name, size_t n);
int mc_text_valid(const char *s, size_t n);

/* The inbox TBS (§8.4): ["mcert-inbox", 1, base, fp, ts, nonce]. base is
 * the lower-cased public base URL. Never fails. */
void mc_inbox_tbs_encode(const char *base, const uint8_t fp[32], int64_t ts,
                         const uint8_t nonce[MC_INBOX_NONCE_LEN], mc_buf *out);

/* One inbox entry (§8.4): purpose "sign" (documents 1..32) or "renew"
 * (documents 0, §10.3). */
typedef struct mc_inbox_entry {
    char sid[MC_SID_LEN + 1];
    char purpose[12];
    uint32_t match;
    int64_t created, expires;
    char requester_name[129];
    char text[MC_SIGN_TEXT_MAX + 1];
    uint32_t documents;
} mc_inbox_entry;
/* The msgpack map of one entry (the server stores each entry's bytes). */
void mc_inbox_entry_encode(const mc_inbox_entry *e, mc_buf *out);
/* The inbox reply {"v":1, "now":, "requests": [...]} from n entries
 * already encoded by mc_inbox_entry_encode, concatenated in `entries`. */
void mc_inbox_reply_encode(int64_t now, const uint8_t *entries, size_t len, size_t n,
                           mc_buf *out);
/* Phone side: decode a reply. Up to max entries into out; *count gets the
 * number. 0 / -1 (bad_msgpack, bad_field, or more than max entries). */
int mc_inbox_decode(const uint8_t *p, size_t n, int64_t *now, mc_inbox_entry *out,
                    size_t max, size_t *count, mc_err *err);

/* The to-be-signed fields. Strings are borrowed, NUL-terminated. */
typedef struct mc_tbs {
    const char *purpose;
    const char *sid;
    const uint8_t *nonce;      /* MC_NONCE_LEN bytes */
    const char *origin;
    const char *account;
    int64_t expires;           /* >= 0 */
    const uint8_t *cert_fp;    /* 32 bytes, mc_cert_fingerprint of the leaf */
    uint32_t number;
    const char *decision;      /* "approve" or "reject" */
    /* purpose "sign" only (NULL otherwise): elements 11 (documents) and
     * 12 (signing_time) — 13 elements in all */
    const mc_sign_info *sign;
    /* purpose "renew" only (NULL otherwise): elements 11 (renewal), 12
     * (new_not_after) and 13 (csr_hash) — 14 elements in all. Ignored
     * when sign is set (no TBS has both). */
    const mc_renew_tbs *renew;
} mc_tbs;

/* Append the TBS bytes to out: 11 elements, 13 with sign, 14 with renew.
 * Never fails (aborts on OOM). */
void mc_tbs_encode(const mc_tbs *t, mc_buf *out);

/* Structural pre-check of untrusted msgpack: exactly one object filling
 * [p, p+n), n <= max, container counts plausible, depth <= 8.
 * 0 / -1 with err bad_msgpack (400) or too_large (413). */
int mc_mp_check(const uint8_t *p, size_t n, size_t max, mc_err *err);

/* Session details, server -> phone (GET /m/v1/sessions/<sid>). */
typedef struct mc_session_view {
    mc_session s;     /* all public fields; match is NOT sent (choices are) */
    char requester_name[129]; /* display name of who opened it (bind) */
    char org_name[129];       /* organisation of the target account (bind) */
    /* purpose "sign": the 3 more keys (documents, text, signing_time).
     * Encode reads it; decode fills it (caller storage; a sign view
     * decoded with sign == NULL is refused, bad_field). */
    mc_sign_info *sign;
    /* purpose "enroll" (§9.7): the 2 more keys app (the application's id,
     * its order number) and holder_name (申领人); org_name above is the
     * application's organisation. Sent and required for enroll only. */
    char app[MC_APP_ID_MAX + 1];
    char holder_name[129];
    /* purpose "renew" (§10.3): the 5 more keys renewal, serial,
     * not_after, new_not_after, years (20 keys in all). Like sign: encode
     * reads it (a renew view with renew == NULL is sent with its 15 keys
     * only, which a phone refuses); decode fills it (caller storage; a
     * renew view decoded with renew == NULL is refused, bad_field). */
    mc_renew_info *renew;
} mc_session_view;

void mc_view_encode(const mc_session_view *v, mc_buf *out);
/* Phone side. s.match is left 0. v->sign and v->renew are kept (the
 * caller's storage, zeroed); everything else is overwritten.
 * 0 / -1 (bad_msgpack, bad_field, bad_version). */
int mc_view_decode(const uint8_t *p, size_t n, mc_session_view *v, mc_err *err);

/* Response, phone -> server (POST /m/v1/sessions/<sid>/response).
 * Slices point into the caller's input buffer: valid while it lives. */
typedef struct mc_response {
    uint32_t v;              /* must be MC_PROTO_VERSION */
    char sid[MC_SID_LEN + 1];
    char purpose[12];
    char origin[MC_ORIGIN_MAX + 1];
    char decision[8];        /* "approve" | "reject" */
    uint32_t number;         /* picked number (approve); 0 allowed for reject */
    mc_slice chain[MC_CHAIN_MAX];
    size_t nchain;           /* 1..MC_CHAIN_MAX */
    mc_slice sig;            /* DER signature, <= MC_SIG_MAX */
    /* purpose "sign" only: the key doc_sigs (required for sign, refused
     * for bind/login), 0..MC_DOCS_MAX bins of 1..MC_SIG_MAX bytes */
    mc_slice doc_sigs[MC_DOCS_MAX];
    size_t ndoc_sigs;
    /* purpose "renew" only (§10.4): the key csr, bin 0..MC_RENEW_CSR_MAX —
     * empty: keep the current key; else one DER PKCS#10 for a new key.
     * Required for renew, refused for the other purposes, and empty for
     * a reject. has_csr: the key is there (decode); write it (encode). */
    mc_slice csr;
    int has_csr;
} mc_response;

/* Keys in this order: v, sid, purpose, origin, decision, number, chain,
 * sig, then csr iff r->has_csr, then doc_sigs iff purpose is "sign"
 * (8..10 keys). */
void mc_response_encode(const mc_response *r, mc_buf *out);
/* 0 / -1: bad_msgpack (400), too_large (413), bad_version (400),
 * bad_field (400, message names the field). */
int mc_response_decode(const uint8_t *p, size_t n, mc_response *r, mc_err *err);

/* Error body for the phone: {"code": str, "message": str}. A NULL e->code
 * is sent as "internal". */
void mc_error_encode(const mc_err *e, mc_buf *out);
/* Result body, server -> phone after a response: {"state": str, "account": str} */
void mc_result_encode(const char *state, const char *account, mc_buf *out);

/* Decoders of the two bodies above, into caller buffers (NUL-terminated).
 * 0 / -1 (bad_msgpack, too_large, bad_field); on -1 both buffers are "".
 * A value longer than its buffer, or holding a NUL, is rejected, never
 * truncated. mc_error_decode reports no mc_err: it is already decoding one. */
int mc_error_decode(const uint8_t *p, size_t n, char *code, size_t codesz,
                    char *msg, size_t msgsz);
int mc_result_decode(const uint8_t *p, size_t n, char *state, size_t statesz,
                     char *account, size_t accountsz, mc_err *err);

#endif
