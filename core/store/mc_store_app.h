/*
 * mc_store_app.h — applications (申领), their uploads' links and the
 * identity-check counter, over mc_store: arguments in, replies out. The
 * functions are in lua/apply.lua (one per transition); the keys are listed
 * there.
 *
 * Every write answers with the application as it is after the write
 * (mc_app), so that a handler replies without reading again. The
 * transitions take their from-states and targets from the table of
 * core/domain/mc_apply.c.
 *
 * Errors, besides 503 store_unavailable: not_found (404), bad_transition
 * (409: the state does not allow it; nothing changed), stale (503: the
 * record changed since it was read: read again), too_many_attempts (429),
 * id_collision (503: two creations drew the same order number),
 * invoice_open (409: withdraw or reject of a paid application whose order's
 * invoice is requested or issued: nothing refunded, nothing changed).
 *
 * Every call is async on an async store (mc_store.h): `out`, the strings
 * given and privdata must live until cb runs — except the strings, which
 * are copied into the command before the call returns.
 */
#ifndef MC_STORE_APP_H
#define MC_STORE_APP_H

#include <stddef.h>
#include <stdint.h>

#include "mc_apply.h"
#include "mc_store.h"
#include "mc_store_rec.h"

/* The write's reply: the application, and for withdraw and reject the
 * payment order to refund ("" when it was not paid). */
typedef struct mc_app_done {
    mc_app app;
    char refund[40];
} mc_app_done;

void mc_store_app_create(mc_store *st, const mc_app *a, const mc_actor *ac, mc_app *out,
                         mc_store_cb cb, void *privdata);
/* Write the form fields of a (merged and checked by the caller) if the
 * state allows an edit and gen is still a->gen. */
void mc_store_app_edit(mc_store *st, const mc_app *a, const mc_actor *ac, mc_app *out,
                       mc_store_cb cb, void *privdata);
/* Submit a (id, uscc, gen as read): the fee is fee_first or fee_next as
 * the organisation's records decide inside (§9.5). */
void mc_store_app_submit(mc_store *st, const mc_app *a, int64_t fee_first, int64_t fee_next,
                         const mc_actor *ac, mc_app *out, mc_store_cb cb, void *privdata);
/* a: id, uscc, order as read. */
void mc_store_app_withdraw(mc_store *st, const mc_app *a, const mc_actor *ac,
                           mc_app_done *out, mc_store_cb cb, void *privdata);
void mc_store_app_reject(mc_store *st, const mc_app *a, const char *reason,
                         const mc_actor *ac, mc_app_done *out, mc_store_cb cb, void *privdata);
/* The activation (code_hash: SHA-256 hex of "<id>:<code>", valid ttl s)
 * and the SMS (text, which holds the code) with the approval, atomically. */
void mc_store_app_approve(mc_store *st, const char *id, const char *code_hash, int ttl,
                          const char *sms, const mc_actor *ac, mc_app *out, mc_store_cb cb,
                          void *privdata);

/* A new activation for an approved application (the old code lost, locked
 * or expired): replaced with code_hash, tries reset, the SMS sent again, at
 * most `reissues` times. Errors: not_found, bad_transition,
 * activation_used, too_many_reissues (409). */
void mc_store_app_reactivate(mc_store *st, const char *id, const char *code_hash, int ttl,
                             const char *sms, int reissues, const mc_actor *ac, mc_app *out,
                             mc_store_cb cb, void *privdata);

/* One identity check of holder_id counted (before it is made): the count
 * today and the seconds left of the day; too_many_attempts past limit. */
typedef struct mc_idcount {
    int64_t count, day_left;
} mc_idcount;
void mc_store_app_identity_count(mc_store *st, const char *holder_id, int limit,
                                 mc_idcount *out, mc_store_cb cb, void *privdata);
/* Record the check's outcome; identity: what the field becomes. */
void mc_store_app_identity_set(mc_store *st, const mc_app *a, const char *identity,
                               const char *result, const mc_actor *ac, mc_app *out,
                               mc_store_cb cb, void *privdata);
/* 1 in *first if the organisation's next certificate is its first
 * (except_id: an application of it to leave out, or ""). */
void mc_store_app_first(mc_store *st, const char *uscc, const char *except_id, int *first,
                        mc_store_cb cb, void *privdata);

/* ---- reads ---- */

/* An upload as its record says, judged for one reader: mine (the reader
 * uploaded it), my_org (an uploader is of the reader's organisation).
 * id "" when there is no such upload. */
typedef struct mc_blob_meta {
    char id[MC_BLOB_ID_HEX + 1];
    char type[32];
    int64_t size, created;
    int mine, my_org;
} mc_blob_meta;

/* What a handler reads before it judges: the application (found = 0 if
 * missing), the organisation's name and up to three uploads, judged for
 * (login, org). One round trip. */
#define MC_APP_BLOBS 3
typedef struct mc_app_ctx {
    int found;
    mc_app app;
    char org_name[129];           /* "" if the organisation is unknown */
    mc_blob_meta blob[MC_APP_BLOBS];
    /* in: the reader, filled by the call */
    char login[65], org[19];
} mc_app_ctx;
/* id NULL: no application read; uscc NULL: no organisation; blobs[i]
 * NULL or "": that upload not read. */
void mc_store_app_ctx(mc_store *st, const char *id, const char *uscc,
                      const char *const blobs[MC_APP_BLOBS], const char *login,
                      const char *org, mc_app_ctx *out, mc_store_cb cb, void *privdata);
/* not_found if missing. */
void mc_store_app_get(mc_store *st, const char *id, mc_app *out, mc_store_cb cb,
                      void *privdata);

/* A list: the ids newest first (of an organisation, or the operator's
 * queue when uscc is NULL), at most MC_APP_LIST_MAX. */
#define MC_APP_LIST_MAX 2000
typedef struct mc_app_ids {
    char (*id)[MC_APP_ID_LEN + 1]; /* owned: mc_app_ids_free */
    size_t n;
} mc_app_ids;
void mc_store_app_ids(mc_store *st, const char *uscc, mc_app_ids *out, mc_store_cb cb,
                      void *privdata);
void mc_app_ids_free(mc_app_ids *l);
/* The applications of ids[0..n) in one round trip; a missing one has id
 * "". out->a is owned: mc_app_rows_free. */
typedef struct mc_app_rows {
    mc_app *a;
    size_t n;
} mc_app_rows;
void mc_store_app_rows(mc_store *st, char (*ids)[MC_APP_ID_LEN + 1], size_t n,
                       mc_app_rows *out, mc_store_cb cb, void *privdata);
void mc_app_rows_free(mc_app_rows *r);

/* A payment order as the application's detail shows it (id "" if none). */
typedef struct mc_app_order {
    char id[40];
    char state[20];
    char provider[33];
    int64_t amount, created, expires, paid_at, refunded_at;
} mc_app_order;
void mc_store_app_order(mc_store *st, const char *oid, mc_app_order *out, mc_store_cb cb,
                        void *privdata);

/* ---- uploads ---- */

/* Link an upload (its bytes already stored) to the uploader. */
void mc_store_blob_link(mc_store *st, const char *id, const char *type, int64_t size,
                        const char *login, const char *org, const mc_actor *ac,
                        mc_store_cb cb, void *privdata);
/* The upload's record judged for (login, org); out->id "" if none. */
void mc_store_blob_meta(mc_store *st, const char *id, const char *login, const char *org,
                        mc_blob_meta *out, mc_store_cb cb, void *privdata);

#endif
