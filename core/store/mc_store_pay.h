/*
 * mc_store_pay.h — payment orders (PROTOCOL.md §9.6): arguments in,
 * replies out. The functions are in lua/pay.lua, which documents the
 * records:
 *
 *   order:<oid>   an order (hash), durable
 *   refundq       zset oid -> marked: refunds not yet confirmed
 *   app:<id>      the application (apply.lua's); read here, and written by
 *                 pay.lua only in state / paid / order / gen
 *
 * Every call is async on an async store (mc_store.h); outs live until cb.
 */
#ifndef MC_STORE_PAY_H
#define MC_STORE_PAY_H

#include <stdint.h>

#include "mc_pay.h"
#include "mc_store.h"
#include "mc_store_rec.h"

#define MC_APP_ID_MAX 32

/* What payments read of an application. */
typedef struct mc_pay_app {
    char id[MC_APP_ID_MAX + 1];
    char state[32];
    char uscc[MC_USCC_LEN + 1];
    char applicant[MC_ACCOUNT_MAX + 1];
    char org_name[129];
    char holder_name[129];
    char kind[16];
    char order[MC_PAY_OID_LEN + 1];  /* the current order, "" if none */
    int64_t fee;                     /* fen */
    int64_t quantity;
} mc_pay_app;

typedef struct mc_order {
    char id[MC_PAY_OID_LEN + 1];     /* "" when there is no such order */
    char kind[12];                   /* "app" ("" in orders made before
                                        renewals) | "renewal" */
    char app[MC_APP_ID_MAX + 1];     /* what it pays: an application ... */
    char renewal[MC_PAY_OID_LEN + 1];/* ... or a renewal (lua/renew.lua) */
    int64_t amount;                  /* fen */
    char provider[16];
    char state[16];                  /* as stored: pending paid refund_pending refunded expired */
    int64_t created, expires, paid_at, refunded_at;
    char txn[MC_PAY_TXN_MAX + 1];
    char refund_req[MC_PAY_TXN_MAX + 1];
    char refund_txn[MC_PAY_TXN_MAX + 1];
    char uscc[MC_USCC_LEN + 1];
    char applicant[MC_ACCOUNT_MAX + 1];
    char payer[129];                 /* 付款单位: the organisation's name */
    char name[160];                  /* 订单名称 */
    /* not stored: Redis's clock at the read, and whether this call made it */
    int64_t now;
    int created_now;
} mc_order;

/* The state a reader is shown: "expired" for a pending order past expires. */
const char *mc_order_state_now(const mc_order *o);
/* 1 if o pays a renewal (else an application). */
int mc_order_is_renewal(const mc_order *o);

/* The application (errors: not_found). */
void mc_store_pay_app(mc_store *st, const char *app_id, mc_pay_app *out, mc_store_cb cb,
                      void *privdata);

/* The order for app (as read: app->order is its current one): the current
 * one again while pending, unexpired and of the fee, else a new one with
 * id oid. Errors: not_found, bad_transition (not pending_payment, no fee),
 * stale (the app changed since it was read: read again). */
typedef struct mc_pay_open {
    const mc_pay_app *app;
    const char *oid;                 /* the new order's id */
    const char *provider;
    int ttl;
    const char *name;                /* 订单名称 */
} mc_pay_open;
void mc_store_pay_order(mc_store *st, const mc_pay_open *in, const mc_actor *a, mc_order *out,
                        mc_store_cb cb, void *privdata);

/* An order (errors: unknown_order). */
void mc_store_order_get(mc_store *st, const char *oid, mc_order *out, mc_store_cb cb,
                        void *privdata);

/* An authenticated, fresh notice for order o (as read before: what it
 * pays, an application or a renewal).
 * Errors: unknown_order, provider_mismatch, amount_mismatch, order_expired,
 * bad_transition (refunded without a refund asked), stale. */
typedef struct mc_pay_outcome {
    char outcome[8];                 /* "ok" | "dup" | "refund" (refund it now) */
    char order_state[16];
    char app_state[32];
} mc_pay_outcome;
void mc_store_pay_notify(mc_store *st, const mc_pay_notice *n, const mc_order *o,
                         const char *provider, const mc_actor *a, mc_pay_outcome *out,
                         mc_store_cb cb, void *privdata);

/* Before asking the provider for order oid's refund: the order as it is
 * (id "" if none), with its refund request id (req_new the first time) when
 * it is refund_pending. */
void mc_store_pay_refund_start(mc_store *st, const char *oid, const char *req_new,
                               const mc_actor *a, mc_order *out, mc_store_cb cb,
                               void *privdata);

/* The queued refunds marked at least age seconds ago, oldest first, at
 * most MC_PAY_DUE_MAX. */
#define MC_PAY_DUE_MAX 100
typedef struct mc_pay_due {
    char oid[MC_PAY_DUE_MAX][MC_PAY_OID_LEN + 1];
    size_t n;
} mc_pay_due;
void mc_store_pay_refund_due(mc_store *st, int age, mc_pay_due *out, mc_store_cb cb,
                             void *privdata);

#endif
