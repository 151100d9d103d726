/*
 * mc_store.h — every durable record and every session of mcert, in Redis.
 *
 * Why: mcertd nodes are stateless; all state lives here, and every change of
 * a durable record is one Lua script (atomic, single round trip) that also
 * appends to the audit stream. Sessions are answered at most once because
 * the state check and the state change are the same script.
 *
 * Keys (all under the one hash tag "{mc}", so every multi-key script stays in
 * one cluster slot; sharding by organisation is future work):
 *   {mc}:org:<uscc>        hash   organisation
 *   {mc}:acct:<login>      hash   account (password hash, role, bound cert)
 *   {mc}:orgaccts:<uscc>   set    logins of an organisation
 *   {mc}:cert:<fp>         hash   certificate record (status, bound account)
 *   {mc}:sess:<sid>        hash   QR session, expires at `expires`+60 s
 *   {mc}:web:<sha256(tok)> hash   web session (token stored hashed)
 *   {mc}:certweb:<fp>      set    web sessions created by that certificate,
 *                                expires with the newest of them
 *   {mc}:audit             stream who/what/when/from, one entry per change
 *   {mc}:pwfail:<login>    string failed password logins, expires with its window
 *   {mc}:events            pub/sub channel: "<sid> <state>" on every change
 *
 * Transport: a blocking hiredis context (loopback, one round trip per call);
 * the caller runs it on its event loop thread. A lost connection is retried
 * once per call. Failures of Redis itself are status 503 "store_unavailable".
 *
 * Non-goals: no caching (records change under other nodes), no pub/sub here
 * (the server's event adapter subscribes asynchronously).
 *
 * Ownership: every struct filled by a getter is the caller's; strings in it
 * are NUL-terminated fixed arrays. mc_store_free accepts NULL.
 */
#ifndef MC_STORE_H
#define MC_STORE_H

#include <stdint.h>

#include "mc_crypto.h"
#include "mc_err.h"
#include "mc_session.h"
#include "mc_x509.h"

#define MC_EVENTS_CHANNEL "{mc}:events"

typedef struct mc_store mc_store;

typedef struct mc_org {
    char uscc[MC_USCC_LEN + 1];
    char name[129];
    int64_t created;
} mc_org;

typedef struct mc_account {
    char login[MC_ACCOUNT_MAX + 1];
    char name[129];
    char org[MC_USCC_LEN + 1];
    char role[8];                 /* "admin" | "staff" */
    char pw[MC_PWHASH_MAX];       /* scrypt encoding, see mc_crypto.h */
    char cert[65];                /* fingerprint hex of the bound cert, "" if none */
    char bound_by[MC_ACCOUNT_MAX + 1];
    int64_t bound_at;
    int64_t created;
} mc_account;

typedef struct mc_cert_rec {
    char fp[65];
    char serial[41];
    char uscc[MC_USCC_LEN + 1];
    char cn[129];
    char org_name[129];
    char issuer[129];
    char alg[8];
    char status[12];              /* "valid" | "revoked" | "superseded" */
    char account[MC_ACCOUNT_MAX + 1]; /* bound account or "" */
    int64_t not_before, not_after;
} mc_cert_rec;

/* What a session hash holds besides the public mc_session fields. */
typedef struct mc_sess_extra {
    uint8_t poll_hash[32];        /* SHA-256 of the poll secret */
    char cert[65];                /* fp of the answering certificate, once answered */
    int claimed;                  /* login: token already handed out */
    int64_t answered_at;
    char requester_name[129];     /* filled by mc_store_session_scan only */
    char org_name[129];           /* (bind: the target account's organisation) */
} mc_sess_extra;

typedef struct mc_websess {
    char account[MC_ACCOUNT_MAX + 1];
    char cert[65];                /* "" for password logins */
    char ip[MC_IP_MAX + 1];
    int64_t created, expires;
} mc_websess;

/* Who does a change and from where, for the audit stream. */
typedef struct mc_actor {
    const char *who;              /* account login, "mcertctl", "phone:<fp>" */
    const char *from;             /* client address or "cli" */
} mc_actor;

mc_store *mc_store_connect(const char *host, int port, mc_err *err);
void mc_store_free(mc_store *st);
int mc_store_ping(mc_store *st, mc_err *err);

/* --- organisations and accounts --- */
int mc_store_org_create(mc_store *st, const mc_org *o, const mc_actor *a, mc_err *err);
int mc_store_org_get(mc_store *st, const char *uscc, mc_org *o, mc_err *err);
int mc_store_account_create(mc_store *st, const mc_account *acc, const mc_actor *a,
                            mc_err *err);
/* -1 with err not_found (404) if there is no such account. */
int mc_store_account_get(mc_store *st, const char *login, mc_account *acc, mc_err *err);
/* Every account of an organisation, sorted by login, and for each the
 * record of its bound certificate ((*certs)[i].fp is "" if unbound or
 * unrecorded). Three round trips whatever the count (SMEMBERS, then two
 * pipelines). The caller frees *accs and *certs with free(). */
int mc_store_org_bindings(mc_store *st, const char *uscc, mc_account **accs,
                          mc_cert_rec **certs, size_t *n, mc_err *err);

/* --- certificate records --- */
/* The record of a certificate that passed mc_cert_verify_chain or that
 * mcertctl issued (status "valid", no account). */
void mc_cert_rec_from_info(const mc_cert_info *ci, mc_cert_rec *c);
/* Record an issued certificate (status valid). Fails with cert_exists (409). */
int mc_store_cert_put(mc_store *st, const mc_cert_rec *c, const mc_actor *a, int64_t now,
                      mc_err *err);
/* 0 and *found=1/0 (a missing record is not an error). */
int mc_store_cert_get(mc_store *st, const char *fp, mc_cert_rec *c, int *found, mc_err *err);
/* Mark revoked; unbinds it and ends its web sessions. */
int mc_store_cert_revoke(mc_store *st, const char *fp, const mc_actor *a, int64_t now,
                         mc_err *err);

/* --- sessions --- */
int mc_store_session_create(mc_store *st, const mc_session *s, const uint8_t poll_hash[32],
                            mc_err *err);
/* Read a session. Errors: unknown_session (404). Expired sessions are read
 * with state "expired" (no error). */
int mc_store_session_get(mc_store *st, const char *sid, int64_t now, mc_session *s,
                         mc_sess_extra *x, mc_err *err);
/* The phone fetched it: pending -> scanned (publishes). Errors:
 * unknown_session (404), session_expired (410), session_done (409). */
int mc_store_session_scan(mc_store *st, const char *sid, int64_t now, mc_session *s,
                          mc_sess_extra *x, mc_err *err);
/* Approve a bind atomically: the session is pending/scanned and unexpired,
 * the certificate is not revoked/superseded and not bound, the account
 * exists, is of the certificate's organisation (c->uscc) and is not bound,
 * and the session's requester is that account or an admin of its
 * organisation; then binds both, records the cert if new, answers the
 * session, audits, publishes. Errors (in this order of checks):
 * session_*, purpose_mismatch, account_mismatch, cert_revoked, not_found,
 * org_mismatch, not_permitted, cert_bound, account_bound. */
int mc_store_bind_approve(mc_store *st, const char *sid, const char *login,
                          const mc_cert_rec *c, const mc_actor *a, int64_t now, mc_err *err);
/* Approve a login: the certificate is valid in our records and bound to an
 * account of organisation `uscc`, which is returned in `login`. Errors:
 * session_*, purpose_mismatch, cert_revoked, not_bound, org_mismatch. */
int mc_store_login_approve(mc_store *st, const char *sid, const char *fp, const char *uscc,
                           const mc_actor *a, int64_t now, char login[MC_ACCOUNT_MAX + 1],
                           mc_err *err);
/* What the browser's poll reads, in one step: checks the poll secret's
 * SHA-256 (bad_poll_secret 403), reads the session, and if it is an approved
 * login whose token was not handed out yet, creates the web session
 * `tok_hash` from w (ip, expires) and sets *claimed = 1. */
int mc_store_session_poll(mc_store *st, const char *sid, const uint8_t poll_hash[32],
                          const char *tok_hash, const mc_websess *w, const char *from,
                          int64_t now, mc_session *s, mc_sess_extra *x, int *claimed,
                          mc_err *err);
int mc_store_session_reject(mc_store *st, const char *sid, const char *fp, int64_t now,
                            mc_err *err);
/* --- web sessions --- */
int mc_store_web_create(mc_store *st, const char *tok_hash, const mc_websess *w,
                        const mc_actor *a, int64_t now, mc_err *err);
/* The web session of tok_hash and its account, in one round trip. -1 with
 * unauthorized (401) if missing, expired, or its account is gone. */
int mc_store_web_auth(mc_store *st, const char *tok_hash, int64_t now, mc_websess *w,
                      mc_account *acc, mc_err *err);
/* End a web session (and forget it in its certificate's set). */
int mc_store_web_delete(mc_store *st, const char *tok_hash, mc_err *err);

/* --- bindings --- */
/* Unbind account `login` from cert `fp` (both sides), end the web sessions
 * that came from that certificate. not_bound (404) if not bound to fp. */
int mc_store_unbind(mc_store *st, const char *login, const char *fp, const mc_actor *a,
                    int64_t now, mc_err *err);

/* --- password throttle --- */
/* Failed password logins of an account name in the current window. */
int mc_store_pwfail_count(mc_store *st, const char *login, long long *n, mc_err *err);
/* Count one failure; the window (seconds) starts at the first failure. */
int mc_store_pwfail_add(mc_store *st, const char *login, int window, mc_err *err);
int mc_store_pwfail_clear(mc_store *st, const char *login, mc_err *err);

/* The newest `count` audit entries, newest first: cb gets the entry id and
 * its field/value strings (valid only during the call). */
typedef void (*mc_audit_cb)(void *privdata, const char *id, const char *const *kv, size_t nkv);
int mc_store_audit_each(mc_store *st, size_t count, mc_audit_cb cb, void *privdata, mc_err *err);

/* Number of entries in the audit stream (tests). */
int mc_store_audit_len(mc_store *st, long long *n, mc_err *err);

#endif
