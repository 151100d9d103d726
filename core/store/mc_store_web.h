/*
 * mc_store_web.h — web sessions (the token a browser holds after logging
 * in), in Redis.
 *
 * Key: {mc}:web:<SHA-256 hex of the token>, a hash (struct mc_websess),
 * expiring with the session. The token itself is never stored. A token
 * names its account (see mc_web.c), so checking one is one read of the web
 * session and its account together (web_auth), with every key known before
 * the call.
 *
 * A web session made by a certificate login holds only while that
 * certificate stays bound to the account by the same binding: unbind and
 * revoke end it without having to find it (bind_gen is compared).
 */
#ifndef MC_STORE_WEB_H
#define MC_STORE_WEB_H

#include <stdint.h>

#include "mc_session.h"
#include "mc_store.h"
#include "mc_store_rec.h"

typedef struct mc_websess {
    char account[MC_ACCOUNT_MAX + 1];
    char cert[65];                /* "" for password logins */
    char ip[MC_IP_MAX + 1];
    char bind_gen[24];
    int64_t created, expires;
} mc_websess;

/* Password attempts are throttled per (account, client address) and per
 * address; each attempt is counted before the password is checked. */
typedef struct mc_pw_limits {
    int per_account;              /* attempts per account and address per window */
    int per_address;              /* attempts per address (any account) per window */
    int window;                   /* seconds */
} mc_pw_limits;
/* Count an attempt and read the account: allowed = 0 with retry_after
 * (seconds) when over a limit; else allowed = 1 and acc (acc.login "" if
 * there is no such account). */
typedef struct mc_pw_attempt {
    int allowed;
    int retry_after;
    mc_account acc;
} mc_pw_attempt;
void mc_store_pw_attempt(mc_store *st, const char *login, const char *ip,
                         const mc_pw_limits *lim, mc_pw_attempt *out, mc_store_cb cb,
                         void *privdata);
/* A password login that succeeded: creates the web session for `login`
 * (ttl seconds) and clears the attempt counters; *expires is set from
 * Redis's clock. Errors: not_found. */
void mc_store_web_open(mc_store *st, const char *tok_hash, const char *login, int ttl,
                       const char *ip, int64_t *expires, mc_store_cb cb, void *privdata);

/* The web session tok_hash of account `login`, and the account. Errors:
 * unauthorized (401) if missing, expired, of another account, its account
 * is gone, or its certificate's binding ended. */
typedef struct mc_authed {
    mc_websess web;
    mc_account acc;
} mc_authed;
void mc_store_web_auth(mc_store *st, const char *tok_hash, const char *login, mc_authed *out,
                       mc_store_cb cb, void *privdata);

/* End a web session (logout). */
void mc_store_web_close(mc_store *st, const char *tok_hash, mc_store_cb cb, void *privdata);

#endif
