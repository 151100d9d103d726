/*
 * mc_store_inv.h — invoices (发票, PROTOCOL.md §11) over mc_store:
 * arguments in, replies out. The functions are in lua/invoice.lua (one per
 * transition), which documents the keys:
 *
 *   inv:<oid>      the invoice of an order (hash), durable
 *   invid:<id>     invoice number -> oid
 *   invorg:<uscc>  zset oid -> requested_at; invall: every invoice
 *   titles:<uscc>  hash tid -> JSON of a saved title (at most 5)
 *   order:<oid>    PAY's order, only read
 *
 * Every write answers with the record as it is after the write, so that a
 * handler replies without reading again. Transitions take their from-states
 * and targets from the table of core/domain/mc_invoice.c.
 *
 * Errors, besides 503 store_unavailable: not_found (404), unknown_order
 * (404), order_not_paid, invoice_exists, too_many_titles, bad_transition
 * (409), stale (503: what the caller judged changed meanwhile: read again),
 * id_collision (503).
 *
 * Every call is async on an async store (mc_store.h): `out` and privdata
 * must live until cb runs; strings given are copied into the command before
 * the call returns.
 */
#ifndef MC_STORE_INV_H
#define MC_STORE_INV_H

#include <stddef.h>
#include <stdint.h>

#include "mc_invoice.h"
#include "mc_store.h"
#include "mc_store_rec.h"

/* What invoices read of an order ({mc}:order:<oid>, PAY's and the
 * renewals'). id "" when there is no such order. */
typedef struct mc_inv_order {
    char id[MC_INV_ID_LEN + 1];
    char kind[16];                /* app | renewal; "" (an order made before kinds) = app */
    char app[33];                 /* the application it pays ("" for a renewal) */
    char renewal[33];             /* the renewal it pays ("" for an application) */
    char uscc[19];
    char applicant[65];           /* the login that owns an application's order */
    char account[65];             /* a renewal's: the holder's account, "" */
    char by[65];                  /* a renewal's: the login that ordered it, "" */
    char payer[129];
    char name[160];
    int64_t amount;               /* fen */
    char state[16];
} mc_inv_order;

/* The login that owns an order (mc_policy_inv_*): its applicant, else the
 * renewal's holder account, else who ordered it. */
const char *mc_inv_order_owner(const mc_inv_order *o);
/* "app" or "renewal", and the id of what it pays. */
const char *mc_inv_order_kind(const mc_inv_order *o);
const char *mc_inv_order_ref(const mc_inv_order *o);

/* An order and its invoice, in one round trip. order.id "" if none;
 * inv.id "" if the order has no invoice. */
typedef struct mc_inv_ctx {
    mc_inv_order order;
    mc_invoice inv;
} mc_inv_ctx;
void mc_store_inv_ctx(mc_store *st, const char *oid, mc_inv_ctx *out, mc_store_cb cb,
                      void *privdata);
/* The order id of invoice number id into oid ("" if none). */
void mc_store_inv_locate(mc_store *st, const char *id, char oid[MC_INV_ID_LEN + 1],
                         mc_store_cb cb, void *privdata);

/* ---- titles ---- */

#define MC_INV_TITLE_JSON_MAX 2048
typedef struct mc_inv_titles {
    size_t n;
    char id[MC_INV_TITLES_MAX + 3][MC_INV_TID_LEN + 1];
    char json[MC_INV_TITLES_MAX + 3][MC_INV_TITLE_JSON_MAX];
} mc_inv_titles;
/* The organisation's saved titles (the JSON C wrote), in no order. */
void mc_store_inv_titles(mc_store *st, const char *uscc, mc_inv_titles *out, mc_store_cb cb,
                         void *privdata);
/* Save (add = 1: a new tid, at most MC_INV_TITLES_MAX, else too_many_titles;
 * add = 0: an existing tid, else not_found) the title's JSON. out: every
 * title after. */
void mc_store_inv_title_put(mc_store *st, const char *uscc, const char *tid, const char *json,
                            int add, const mc_actor *ac, mc_inv_titles *out, mc_store_cb cb,
                            void *privdata);
void mc_store_inv_title_del(mc_store *st, const char *uscc, const char *tid,
                            const mc_actor *ac, mc_inv_titles *out, mc_store_cb cb,
                            void *privdata);

/* ---- transitions ---- */

/* A new invoice `in` (id, order, kind, ref, uscc, owner, amount, title_*,
 * receiver_*, goods_* set) for its order, replacing the invoice numbered
 * old_id ("" if none) that the caller read. */
void mc_store_inv_request(mc_store *st, const mc_invoice *in, const char *old_id,
                          const mc_actor *ac, mc_invoice *out, mc_store_cb cb, void *privdata);
/* Issue inv (id, order as read) with the PDF blob pdf (size bytes; source
 * "generated" | "upload") and the receiver's email (subject, text) in the
 * same step. */
void mc_store_inv_issue(mc_store *st, const mc_invoice *inv, const char *pdf, int64_t size,
                        const char *source, const char *subject, const char *text,
                        const mc_actor *ac, mc_invoice *out, mc_store_cb cb, void *privdata);
/* Reject (MC_INV_EV_REJECT) or void (MC_INV_EV_VOID) with a reason;
 * operator = 0: only what the requester's side may (void a requested one;
 * one that an operator could void but the caller may not, i.e. issued
 * meanwhile, is not_permitted, 403). */
void mc_store_inv_finish(mc_store *st, const mc_invoice *inv, mc_inv_event ev, int operator,
                         const char *reason, const mc_actor *ac, mc_invoice *out,
                         mc_store_cb cb, void *privdata);

/* ---- lists ---- */

/* Order ids of invoices newest first (an organisation's, or every one when
 * uscc is NULL), at most MC_INV_LIST_MAX from the offset-th newest on: a
 * page; a full one may have more after it. */
typedef struct mc_inv_oids {
    size_t n;
    size_t page;                  /* members the page held: MC_INV_LIST_MAX, maybe more */
    char oid[MC_INV_LIST_MAX][MC_INV_ID_LEN + 1];
} mc_inv_oids;
void mc_store_inv_oids(mc_store *st, const char *uscc, size_t offset, mc_inv_oids *out,
                       mc_store_cb cb, void *privdata);
/* The invoices of oids[0..n) in one round trip (a missing one has id "").
 * out->v is owned: mc_inv_rows_free. */
typedef struct mc_inv_rows {
    mc_invoice *v;
    size_t n;
} mc_inv_rows;
void mc_store_inv_rows(mc_store *st, const mc_inv_oids *oids, mc_inv_rows *out,
                       mc_store_cb cb, void *privdata);
void mc_inv_rows_free(mc_inv_rows *r);

#endif
