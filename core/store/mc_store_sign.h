/*
 * mc_store_sign.h — what signing adds to the records (PROTOCOL.md §8):
 * the phone's inbox, the account's history of sign requests, and the
 * platform's API keys. The sign sessions themselves are QR sessions
 * (mc_store_sess.h).
 *
 * Keys (all under the hash tag {mc}):
 *   inbox:<fp>, inboxe:<fp>   the open sign sessions of a certificate: a
 *                             zset sid -> expires and a hash sid -> entry;
 *                             volatile like the sessions they point at
 *   nonce:<fp>:<hex>          an inbox request's nonce, kept 900 s, durable
 *   signs:<login>, signh:<login>  the account's history: newest 100, 30 days
 *   apikey:<id>, apikeys      the API keys (a hash each; the set of ids)
 *   rl:apikey:<id>            a key's calls in the current minute (volatile)
 *
 * Every call is async on an async store (mc_store.h); outs live until cb.
 */
#ifndef MC_STORE_SIGN_H
#define MC_STORE_SIGN_H

#include <stdint.h>

#include "mc_buf.h"
#include "mc_proto.h"
#include "mc_store.h"
#include "mc_store_rec.h"

/* ---- the inbox ---- */

/* What an inbox request gets once fresh: the certificate's DER (for the
 * caller's signature check) and the open entries, oldest first. */
typedef struct mc_inbox {
    mc_buf der;                   /* owned by the caller: mc_buf_free */
    int64_t now;                  /* Redis's clock */
    mc_inbox_entry e[MC_INBOX_MAX];
    size_t n;
} mc_inbox;
/* The certificate must be recorded with its DER and bound (not_bound),
 * valid (cert_revoked), unexpired (cert_expired); the nonce (hex) is then
 * claimed for 900 s (replayed). */
void mc_store_inbox_list(mc_store *st, const char *fp, const char *nonce_hex, mc_inbox *out,
                         mc_store_cb cb, void *privdata);

/* The entry bytes of mc_sign_open.entry for e (match, documents,
 * requester_name, text), appended to out. */
void mc_inbox_entry_pack(const mc_inbox_entry *e, mc_buf *out);

/* ---- the history ---- */

typedef struct mc_sign_hist {
    char sid[MC_SID_LEN + 1];
    char state[12];               /* as stored: pending | approved | rejected */
    int64_t created, expires, answered_at;
    char *summary;                /* owned (the server's JSON), NUL-terminated */
} mc_sign_hist;
typedef struct mc_sign_hists {
    int64_t now;
    mc_sign_hist *h;              /* owned: mc_sign_hists_free */
    size_t n;
} mc_sign_hists;
void mc_store_sign_history(mc_store *st, const char *login, mc_sign_hists *out,
                           mc_store_cb cb, void *privdata);
void mc_sign_hists_free(mc_sign_hists *h);

/* ---- verification (§8.8) ---- */

/* The signer's record now (c->fp "" if unrecorded), and the audit line
 * "verify" of who checked it with what verdict ("valid" or the reason). */
void mc_store_verify_note(mc_store *st, const char *fp, const char *verdict, const mc_actor *a,
                          mc_cert_rec *c, mc_store_cb cb, void *privdata);

/* ---- API keys ---- */

#define MC_APIKEY_ID_LEN 16
typedef struct mc_apikey {
    char id[MC_APIKEY_ID_LEN + 1];
    char hash[65];                /* SHA-256 hex of the whole key */
    char name[129];
    char org[24];                 /* USCC */
    char scopes[32];              /* "sign", "verify", "sign,verify" */
    int64_t created, revoked_at;  /* revoked_at 0: in force */
} mc_apikey;
/* Errors: apikey_exists (409). */
void mc_store_apikey_create(mc_store *st, const mc_apikey *k, const mc_actor *a,
                            mc_store_cb cb, void *privdata);
/* Errors: not_found, apikey_revoked. */
void mc_store_apikey_revoke(mc_store *st, const char *id, const mc_actor *a, mc_store_cb cb,
                            void *privdata);
/* A call made with key `id` whose SHA-256 is hash: limited = 1 with
 * retry_after when over `per_minute` (0: none), else the key. Errors:
 * unauthorized (no such key, wrong secret, revoked). */
typedef struct mc_apikey_auth {
    int limited, retry_after;
    mc_apikey key;
} mc_apikey_auth;
void mc_store_apikey_auth(mc_store *st, const char *id, const char *hash, int per_minute,
                          mc_apikey_auth *out, mc_store_cb cb, void *privdata);
/* Every key (mcertctl apikey list): owned array, free() it. */
typedef struct mc_apikeys {
    mc_apikey *k;
    size_t n;
} mc_apikeys;
int mc_sync_apikey_list(mc_store *st, mc_apikeys *out, mc_err *err);
int mc_sync_apikey_create(mc_store *st, const mc_apikey *k, const mc_actor *a, mc_err *err);
int mc_sync_apikey_revoke(mc_store *st, const char *id, const mc_actor *a, mc_err *err);

/* 1 if `scopes` (comma-separated) holds `scope`. */
int mc_apikey_has_scope(const char *scopes, const char *scope);

#endif
