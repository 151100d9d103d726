/*
 * mc_store_sess.h — QR sessions in Redis: open, the phone's fetch, the
 * answer (approve / reject), the browser's poll and the login token.
 *
 * Key: {mc}:sess:<sid>, a hash (fields as struct mc_sess_rec in
 * mc_store_sess.c); Redis drops it 60 s after `expires`. Readers see state
 * "expired" from `expires` on, judged by Redis's clock (TIME), which every
 * function returns or uses.
 *
 * Exactly once: an answer is identified by the SHA-256 of the phone's whole
 * message (`answer`, hex). The same answer sent again — after a lost reply
 * — gets the first answer's result (dup = 1), never a second effect and
 * never 409. The login token is derived from the poll secret (see
 * mc_web.c), so a poll repeated after a lost reply finds the same web
 * session (mint kind MC_MINT_AGAIN).
 *
 * Every call is async on an async store (mc_store.h): outs live until cb.
 */
#ifndef MC_STORE_SESS_H
#define MC_STORE_SESS_H

#include <stdint.h>

#include "mc_proto.h"
#include "mc_session.h"
#include "mc_store.h"
#include "mc_store_rec.h"

/* Open: s holds sid, purpose, nonce, match, choices, origin, account,
 * requester, ip, ua; Redis decides created and expires (now + ttl). The
 * names are what the phone will show (bind: who asks, the target's
 * organisation); org is the target's USCC (bind; "" for login). */
typedef struct mc_open_limits {
    int opens_per_minute;         /* per client address (s->ip); 0: none */
    int pending;                  /* open sessions per client address; 0: none */
} mc_open_limits;
/* What Redis decided: created and expires (its clock), or, when the client
 * address is over a limit, limited = 1 and the seconds until it eases
 * (nothing was stored). */
typedef struct mc_open_result {
    int64_t created, expires;
    int limited;
    int retry_after;
} mc_open_result;
void mc_store_sess_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32], int ttl,
                        const mc_open_limits *lim, const char *requester_name,
                        const char *org, const char *org_name, mc_open_result *out,
                        mc_store_cb cb, void *privdata);

/* *out = 1 if the session's record exists (any state), else 0. */
void mc_store_sess_exists(mc_store *st, const char *sid, long long *out, mc_store_cb cb,
                          void *privdata);

/* The phone fetched it: pending -> scanned (published). Errors:
 * unknown_session (404), session_expired (410), session_done (409). */
void mc_store_sess_scan(mc_store *st, const char *sid, mc_session_view *out, mc_store_cb cb,
                        void *privdata);

/* What checking an answer needs, in one read: the session, and the
 * certificate `fp`'s bound account and status ("" if unrecorded). If the
 * answer was applied already, dup = 1 with its result instead. Errors:
 * unknown_session, session_expired, session_done. */
typedef struct mc_answer_ctx {
    int dup;
    char result[16];                  /* dup: "approved", "rejected", "wrong_number" */
    char account[MC_ACCOUNT_MAX + 1]; /* dup: the result's account */
    mc_session s;
    char org[MC_USCC_LEN + 1];        /* bind: USCC of the account to bind */
    char cert_account[MC_ACCOUNT_MAX + 1];
    char cert_status[12];
    /* sign sessions: the caller points `sign` at storage before the call
     * (kept across it) and gets the documents there; alg "sm2" | "p256"
     * and want (the fingerprint asked to sign) from the record */
    mc_sign_info *sign;
    char alg[8];
    char want[65];                    /* sign: asked to sign; renew: being renewed */
    mc_renew_info renew;              /* renew sessions (§10.3) */
} mc_answer_ctx;
void mc_store_sess_answer_ctx(mc_store *st, const char *sid, const char *fp, const char *answer,
                              mc_answer_ctx *out, mc_store_cb cb, void *privdata);

/* The result of an answer (dup = 1: an earlier identical answer's). */
typedef struct mc_answer_res {
    int dup;
    char result[16];
    char account[MC_ACCOUNT_MAX + 1];
} mc_answer_res;

/* Approve a bind atomically: the session is open and for bind and for
 * `login`, the certificate is not revoked/superseded and not bound, the
 * account exists, is of the certificate's organisation (c->uscc) and is not
 * bound, and the requester may still manage it; then binds both, records
 * the certificate if new, answers the session, audits, publishes. Errors:
 * session_*, purpose_mismatch, account_mismatch, cert_revoked, not_found,
 * org_mismatch, not_permitted, cert_bound, account_bound. */
void mc_store_bind_approve(mc_store *st, const char *sid, const char *login,
                           const char *requester, const mc_cert_rec *c, const char *answer,
                           const mc_actor *a, mc_answer_res *out, mc_store_cb cb,
                           void *privdata);
/* Approve a login for `login`, the account certificate fp was read bound
 * to: still valid, still bound both ways, of organisation uscc. Errors:
 * session_*, purpose_mismatch, cert_revoked, not_bound, org_mismatch. */
void mc_store_login_approve(mc_store *st, const char *sid, const char *fp, const char *uscc,
                            const char *login, const char *answer, const mc_actor *a,
                            mc_answer_res *out, mc_store_cb cb, void *privdata);
/* End the session unapproved: result "rejected" (a signed rejection) or
 * "wrong_number" (an approval with the wrong number). Errors: session_*. */
void mc_store_sess_reject(mc_store *st, const char *sid, const char *fp, const char *answer,
                          const char *result, mc_answer_res *out, mc_store_cb cb,
                          void *privdata);

/* The browser's read. The caller checks the poll secret against poll_hash
 * (mc_ct_eq) before using anything else: one read may serve every browser
 * waiting on the session. Errors: unknown_session (404). */
typedef struct mc_sess_poll {
    uint8_t poll_hash[32];            /* SHA-256 of the session's poll secret */
    mc_session s;                     /* state "expired" once past expires */
    char cert[65];                    /* answering certificate, once answered */
    char result[16];                  /* "approved" | "rejected" | "wrong_number" | "" */
    int claimed;                      /* login: web session created */
    int64_t now;                      /* Redis's clock */
    /* sign sessions */
    char apikey[24];                  /* the API key that opened it, "" if a holder */
    char want[65];                    /* the certificate asked to sign */
    int ndocs;
    int64_t signing_time;
} mc_sess_poll;
void mc_store_sess_poll(mc_store *st, const char *sid, mc_sess_poll *out, mc_store_cb cb,
                        void *privdata);

/* Hand out the web session `tok_hash` of an approved login for `login` with
 * certificate fp: created once (MC_MINT_NEW), found again by later calls
 * (MC_MINT_AGAIN), or MC_MINT_ENDED if it was collected and has ended.
 * Re-checks that the certificate is still valid and still bound to that
 * account. Errors: bad_poll_secret, session_done (not an approved login),
 * cert_revoked (403), not_bound (404), stale (503). */
enum { MC_MINT_NEW = 1, MC_MINT_AGAIN, MC_MINT_ENDED };
typedef struct mc_mint {
    int kind;
    int64_t expires;              /* the web session's */
    int64_t session_expires;      /* the QR session's */
} mc_mint;
void mc_store_login_mint(mc_store *st, const char *sid, const uint8_t poll_hash[32],
                         const char *tok_hash, int ttl, const char *ip, const char *login,
                         const char *fp, mc_mint *out, mc_store_cb cb, void *privdata);

/* ---- sign sessions (PROTOCOL.md §8) ---- */

/* Open a sign session: the session (s as for mc_store_sess_open, purpose
 * sign; signing_time = created, Redis's clock), its entry in the inbox of
 * the certificate `want`, its line in the account's history, audited (the
 * documents as "alg:hex,..."). */
typedef struct mc_sign_open {
    const mc_sign_info *si;       /* documents, text */
    const char *alg;              /* "sm2" | "p256": the bound certificate's */
    const char *want;             /* its fingerprint (hex) */
    const char *apikey;           /* the asking API key's id, "" for a holder */
    /* the inbox entry without its times: "<match>\0<ndocs>\0<requester
     * name>\0<text>" (mc_store_sign.c reads it back) */
    const char *entry;
    size_t entry_len;
    const char *summary;          /* history line (opaque; JSON by the server) */
} mc_sign_open;
void mc_store_sign_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32], int ttl,
                        const char *requester_name, const char *org, const char *org_name,
                        const mc_sign_open *so, const mc_actor *a, mc_open_result *out,
                        mc_store_cb cb, void *privdata);

/* Approve a sign session atomically with the CMS results (an msgpack array
 * of bin, opaque here): the session is answerable, the certificate fp is
 * valid and bound to `login` both ways, the account is of organisation
 * uscc; it leaves the inbox; history and audit (si: the session's
 * documents, named in the audit line as sign_open names them). Errors:
 * session_*, purpose_mismatch, cert_revoked, not_bound, org_mismatch. */
void mc_store_sign_approve(mc_store *st, const char *sid, const char *fp, const char *uscc,
                           const char *login, const char *answer, const mc_buf *results,
                           const mc_sign_info *si, const mc_actor *a, mc_answer_res *out,
                           mc_store_cb cb, void *privdata);
/* End a sign session unapproved (result "rejected" | "wrong_number"),
 * out of the inbox of `want`, in `login`'s history, audited. */
void mc_store_sign_reject(mc_store *st, const char *sid, const char *want, const char *login,
                          const char *fp, const char *answer, const char *result,
                          const mc_actor *a, mc_answer_res *out, mc_store_cb cb,
                          void *privdata);
/* The results of an approved sign session, for the poll-secret holder
 * (poll_hash) or the API key that opened it (poll_hash NULL, apikey id);
 * audited. Errors: unknown_session, bad_poll_secret, session_done. */
typedef struct mc_sign_results {
    mc_sign_info si;              /* the documents */
    mc_buf results;               /* owned by the caller: mc_results.h's array */
} mc_sign_results;
void mc_store_sign_collect(mc_store *st, const char *sid, const uint8_t *poll_hash,
                           const char *apikey, const mc_actor *a, mc_sign_results *results,
                           mc_store_cb cb, void *privdata);

#endif
