/*
 * mc_store_renew.h — renewals (续费) and extensions (延期), PROTOCOL.md §10:
 * arguments in, replies out. The functions are in lua/renew.lua, which
 * documents the records:
 *
 *   ren:<rid>      the renewal (hash), durable
 *   renof:<fp>     the certificate's open renewal
 *   renorg:<uscc>, renall   zsets rid -> created, for the lists
 *   order:<oid>    its order, pay.lua's record (kind renewal). A renewal has
 *                  exactly one order, whose id is the renewal's with "PO"
 *                  for "XF" (mc_ren_order_id): both are read in one call.
 *
 * Every call is async on an async store (mc_store.h); outs live until cb.
 */
#ifndef MC_STORE_RENEW_H
#define MC_STORE_RENEW_H

#include <stdint.h>

#include "mc_renew.h"
#include "mc_store.h"
#include "mc_store_pay.h"
#include "mc_store_rec.h"
#include "mc_store_sess.h"

typedef struct mc_renewal {
    char id[MC_REN_ID_LEN + 1];      /* "" when there is no such renewal */
    char fp[65];
    char serial[41];
    char uscc[MC_USCC_LEN + 1];
    char org_name[129];
    char holder[129];                /* the certificate's CN */
    char account[MC_ACCOUNT_MAX + 1];/* its holder when ordered, "" if unbound */
    char order[MC_PAY_OID_LEN + 1];
    char state[20];                  /* as stored (mc_ren_state_now for readers) */
    char by[80];
    char new_fp[65];
    char new_serial[41];
    char rekey[4];
    int64_t years, fee, created, expires, paid_at, extended_at;
    int64_t old_not_after, new_not_after, refund_at, gen;
} mc_renewal;

/* A renewal with its order, and Redis's clock at the read. */
typedef struct mc_ren_pair {
    mc_renewal r;
    mc_order o;
    int64_t now;
    int created_now;                 /* renew_create: 1 if this call made it */
} mc_ren_pair;

#define MC_REN_LIST_MAX 200         /* the newest renewals a list shows */

/* The order id of renewal rid ("XF..." -> "PO..."). */
void mc_ren_order_id(const char *rid, char out[MC_PAY_OID_LEN + 1]);

/* What deciding about a certificate's renewal needs: its record (fp ""
 * if none) and its open renewal's id ("" if none). */
typedef struct mc_ren_cert {
    mc_cert_rec c;
    char open[MC_REN_ID_LEN + 1];
} mc_ren_cert;
void mc_store_renew_cert(mc_store *st, const char *fp, mc_ren_cert *out, mc_store_cb cb,
                         void *privdata);

/* The fingerprint indexed under serial (mc_serial_norm's form) into fp,
 * "" if none (not an error). */
void mc_store_serial_fp(mc_store *st, const char *serial, char fp[65], mc_store_cb cb,
                        void *privdata);

/* For n certificates (n <= MC_REN_LIST_MAX): whether each has an open
 * renewal now (mc_ren_state_open of its state as shown): open[i] = 1.
 * Two calls (the certificates' renof, then those renewals). */
typedef struct mc_ren_opens {
    size_t n;
    const char (*fp)[65];            /* borrowed: the caller's, n of them */
    int open[MC_REN_LIST_MAX];
    /* internal */
    char rid[MC_REN_LIST_MAX][MC_REN_ID_LEN + 1];
    size_t asked[MC_REN_LIST_MAX], nasked;
    mc_store *st;
    mc_store_cb cb;
    void *privdata;
} mc_ren_opens;
void mc_store_renew_opens(mc_store *st, mc_ren_opens *out, mc_store_cb cb, void *privdata);

/* A new renewal of certificate rc (as read: its open renewal and holder)
 * with its order; the open pending_payment one of the same years again
 * (created_now 0). Errors: not_found, cert_revoked, cert_superseded,
 * cert_expired (past the grace), renewal_open, stale (read again),
 * order_collision. */
typedef struct mc_ren_new {
    const mc_ren_cert *rc;
    const char *rid;
    int64_t years, fee;
    const char *provider;
    int ttl;                         /* of the order: MC_PAY_ORDER_TTL */
    int64_t grace;                   /* seconds */
} mc_ren_new;
void mc_store_renew_create(mc_store *st, const mc_ren_new *in, const mc_actor *a,
                           mc_ren_pair *out, mc_store_cb cb, void *privdata);

/* A renewal and its order. Errors: not_found. */
void mc_store_renew_get(mc_store *st, const char *rid, mc_ren_pair *out, mc_store_cb cb,
                        void *privdata);

/* The newest renewals (at most MC_REN_LIST_MAX) of organisation uscc, or
 * of all (uscc NULL: operators), each with its order: two calls. */
typedef struct mc_ren_list {
    mc_ren_pair *p;                  /* owned: mc_ren_list_free */
    size_t n;
    int64_t now;
    /* internal */
    char (*ids)[MC_REN_ID_LEN + 1];
    mc_store *st;
    mc_store_cb cb;
    void *privdata;
} mc_ren_list;
void mc_store_renew_list(mc_store *st, const char *uscc, mc_ren_list *out, mc_store_cb cb,
                         void *privdata);
void mc_ren_list_free(mc_ren_list *l);

/* 申请退款 of a pending_extension renewal: refunding, its order
 * refund_pending and queued (the caller then asks PAY: mc_pay_refund).
 * holder: the holder now the caller was judged to be (re-checked: the
 * binding may move meanwhile), or "*" for an admin of the organisation.
 * Errors: not_found, not_permitted (the holder moved), bad_transition,
 * invoice_open. */
void mc_store_renew_refund(mc_store *st, const mc_renewal *r, const char *holder,
                           const mc_actor *a, mc_ren_pair *out, mc_store_cb cb, void *privdata);

/* The extension's QR session (purpose renew) of pending_extension renewal
 * r, also put in its certificate's inbox (entry: mc_inbox_entry_pack's
 * bytes). Errors: not_found, bad_transition; limited as sess_open. */
void mc_store_renew_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32],
                         int ttl, const mc_open_limits *lim, const mc_renewal *r,
                         const char *requester_name, const char *entry, size_t entry_len,
                         mc_open_result *out, mc_store_cb cb, void *privdata);

/* The extension, atomically (lua/renew.lua renew_commit). Errors:
 * session_*, purpose_mismatch, bad_transition, not_current_cert,
 * cert_revoked, cert_superseded, binding_changed, cert_exists. */
typedef struct mc_ren_commit {
    const char *sid;
    const char *answer;              /* SHA-256 hex of the phone's message */
    const char *rid;
    const char *old_fp;
    const char *login;               /* the old certificate's account as read */
    int rekey;
    int64_t new_not_after;
    const mc_cert_rec *nc;           /* the new certificate (der set) */
} mc_ren_commit;
void mc_store_renew_commit(mc_store *st, const mc_ren_commit *in, const mc_actor *a,
                           mc_answer_res *out, mc_store_cb cb, void *privdata);

/* A renew session ended unapproved ("rejected" | "wrong_number"), out of
 * the inbox of want. Errors: session_*. */
void mc_store_renew_reject(mc_store *st, const char *sid, const char *want, const char *fp,
                           const char *answer, const char *result, mc_answer_res *out,
                           mc_store_cb cb, void *privdata);

#endif
