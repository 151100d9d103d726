/*
 * mc_proto.h — the phone protocol: the exact bytes that get signed, and the
 * msgpack messages between phone and server. core/PROTOCOL.md is the
 * normative description; this is its implementation. No I/O here.
 *
 * To-be-signed bytes (TBS) are one canonical msgpack array of 11 elements:
 *   [ "mcert-tbs", 1, purpose, sid, nonce, origin, account, expires,
 *     cert_fp, number, decision ]
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
} mc_tbs;

/* Append the TBS bytes to out. Never fails (aborts on OOM). */
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
} mc_session_view;

void mc_view_encode(const mc_session_view *v, mc_buf *out);
/* Phone side. s.match is left 0. 0 / -1 (bad_msgpack). */
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
} mc_response;

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
