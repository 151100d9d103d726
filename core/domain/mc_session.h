/*
 * mc_session.h — the QR session, the unit of every phone interaction.
 *
 * A session is opened by the web (bind: a logged-in account; login: anyone),
 * shown as a QR, fetched by the phone, and answered once. States:
 *     pending -> scanned -> approved | rejected | expired
 * ("expired" is what a reader sees once now >= expires; Redis also drops the
 * key a little later). This header is pure data + pure rules: no I/O.
 *
 * Identifiers:
 *   sid    20 chars of upper-case Crockford base32 (100 random bits)
 *   nonce  32 random bytes, sent to the phone, part of the signed bytes
 *   match  the two-digit number (10..99) shown on the web page; the phone
 *          shows `choices` (three distinct two-digit numbers, one of them
 *          `match`, order random) and the user picks one.
 */
#ifndef MC_SESSION_H
#define MC_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "mc_err.h"

#define MC_SID_LEN 20
#define MC_NONCE_LEN 32
#define MC_ORIGIN_MAX 200
#define MC_ACCOUNT_MAX 64    /* account login names: [a-z0-9._-]{1,64} */
#define MC_UA_MAX 200
#define MC_IP_MAX 64
#define MC_SESSION_TTL_DEFAULT 120

typedef enum mc_purpose {
    MC_PURPOSE_NONE = 0,
    MC_PURPOSE_BIND,
    MC_PURPOSE_LOGIN,
    MC_PURPOSE_SIGN,    /* PROTOCOL.md §8: opened by POST /api/v1/sign-requests only */
    MC_PURPOSE_ENROLL,  /* PROTOCOL.md §9.7: opened by POST /api/v1/applications/<id>/
                           enroll-session only; answered by POST /m/v1/enroll */
    MC_PURPOSE_RENEW,   /* PROTOCOL.md §10: opened by POST /api/v1/renewals/<rid>/
                           renew-session only; answered like bind/login/sign, with a
                           csr key and the 14-element TBS (§10.6) */
} mc_purpose;

typedef struct mc_session {
    char sid[MC_SID_LEN + 1];
    mc_purpose purpose;
    char state[12];                      /* "pending", "scanned", ... */
    uint8_t nonce[MC_NONCE_LEN];
    char origin[MC_ORIGIN_MAX + 1];      /* web origin the session was opened from */
    char account[MC_ACCOUNT_MAX + 1];    /* bind: target account; login: "" until approved */
    char requester[MC_ACCOUNT_MAX + 1];  /* bind: who opened it; login: "" */
    char ip[MC_IP_MAX + 1];              /* requesting browser's address */
    char ua[MC_UA_MAX + 1];              /* requesting browser's User-Agent (sanitised) */
    int64_t created;                     /* unix seconds */
    int64_t expires;                     /* unix seconds */
    uint32_t match;                      /* 10..99 */
    uint32_t choices[3];
} mc_session;

const char *mc_purpose_name(mc_purpose p);   /* "bind", "login", "sign", "enroll", "renew", "" */
mc_purpose mc_purpose_parse(const char *s, size_t n);

/* 1 if s (len n) matches [a-z0-9._-]{1,64}. */
int mc_account_name_valid(const char *s, size_t n);
/* 1 if s is exactly MC_SID_LEN chars of the base32 alphabet. */
int mc_sid_valid(const char *s, size_t n);
/* A hash of a sid for the per-loop tables (FNV-1a; not for secrets). */
uint32_t mc_sid_hash(const char *sid);

/* Zero *s, then fill sid, nonce, match and choices from the CSPRNG;
 * created = now, expires = now + ttl, state "pending". Other fields are
 * left "" / 0 for the caller to set. */
void mc_session_init(mc_session *s, mc_purpose p, int64_t now, int ttl);

/* Length (2..4) of the well-formed multi-byte UTF-8 sequence at p (avail
 * bytes readable, avail >= 1), or 0 if the bytes there are not one (ASCII
 * included, overlongs, surrogates, > U+10FFFF, cut short). *cp receives
 * the code point. */
size_t mc_utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp);

/* Copy a peer-supplied string into a fixed field, replacing control and
 * non-printable ASCII bytes by '?' and truncating at a UTF-8 boundary. */
void mc_copy_printable(char *dst, size_t dstsize, const char *src, size_t n);

#endif
