/*
 * mc_enroll_proto.h — the messages of enrollment (PROTOCOL.md §9.7): the
 * phone redeems an application's activation code with a CSR and gets its
 * certificate chain back. No I/O here.
 *
 *   request  (phone -> server, POST /m/v1/enroll), a map:
 *     {"v": 1, "app": str, "code": str, "csr": bin, "sid": str (optional)}
 *   reply    (server -> phone, 200), a map:
 *     {"state": "issued", "app": str, "fp": str (64 hex),
 *      "chain": [bin leaf DER, bin CA DER]}
 *
 * The request is decoded on the strict path every phone message takes
 * (mc_proto_int.h): mc_mp_check first (MC_PHONE_BODY_MAX), one map, every
 * key at most once, unknown keys refused, values of the exact type and
 * range (nothing is truncated). Refusals: bad_msgpack (400), too_large
 * (413), bad_version (400), bad_field (400, the message names the field).
 *
 * The enroll session's view (GET /m/v1/sessions/<sid>, purpose "enroll")
 * is mc_proto.h's mc_session_view with its two enroll keys (app,
 * holder_name).
 *
 * Ownership: slices point into the caller's input buffer and are valid
 * while it lives.
 */
#ifndef MC_ENROLL_PROTO_H
#define MC_ENROLL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_err.h"
#include "mc_proto.h"

#define MC_ENROLL_CODE_LEN 8     /* the activation code: 8 ASCII digits */
#define MC_ENROLL_CSR_MAX 4096   /* DER PKCS#10 */

/* 1 if s (n bytes) is an application id: 1..MC_APP_ID_MAX of [0-9A-Z]
 * (APP's order numbers are "SQ" + 16 digits). */
int mc_app_id_valid(const char *s, size_t n);
/* 1 if s (n bytes) is exactly MC_ENROLL_CODE_LEN ASCII digits. */
int mc_enroll_code_valid(const char *s, size_t n);
/* What the activation record keeps of a code: SHA-256 of "<app>:<code>"
 * as 64 lower-case hex characters (+ NUL). */
void mc_enroll_code_hash(const char *app, const char *code, char hex[65]);

typedef struct mc_enroll_req {
    char app[MC_APP_ID_MAX + 1];
    char code[MC_ENROLL_CODE_LEN + 1];
    mc_slice csr;                  /* 1..MC_ENROLL_CSR_MAX bytes (DER is the server's check) */
    char sid[MC_SID_LEN + 1];      /* "" when the phone came without a QR */
} mc_enroll_req;

/* Phone side; v is MC_PROTO_VERSION, sid left out when "". Never fails. */
void mc_enroll_req_encode(const mc_enroll_req *r, mc_buf *out);
/* Server side. 0 / -1 (above); *r zeroed on -1. */
int mc_enroll_req_decode(const uint8_t *p, size_t n, mc_enroll_req *r, mc_err *err);

typedef struct mc_enroll_reply {
    char state[12];                /* "issued" */
    char app[MC_APP_ID_MAX + 1];
    char fp[65];                   /* mc_cert_fingerprint of the leaf, hex */
    mc_slice chain[MC_CHAIN_MAX];  /* leaf first */
    size_t nchain;                 /* 1..MC_CHAIN_MAX */
} mc_enroll_reply;

/* Server side: chain[0..n) DER, leaf first. Never fails. */
void mc_enroll_reply_encode(const char *app, const char *fp, const mc_slice *chain, size_t n,
                            mc_buf *out);
/* Phone side: state must be "issued", fp 64 lower-case hex, chain 1..4
 * bins of 1..MC_CERT_DER_MAX bytes. 0 / -1 (as the request). */
int mc_enroll_reply_decode(const uint8_t *p, size_t n, mc_enroll_reply *r, mc_err *err);

#endif
