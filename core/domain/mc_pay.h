/*
 * mc_pay.h — the rules of payments (PROTOCOL.md §9.6), pure: no I/O, no
 * event loop, no store.
 *
 * A payment order pays one application's fee (integer fen). Its provider
 * (the sandbox now; Alipay / WeChat Pay style providers later) tells the
 * server what happened by a **notice**: the raw bytes of a JSON object
 *
 *   {"order":"PO…","amount":20000,"status":"paid"|"refunded","txn":"…","ts":1795511533}
 *
 * authenticated by the provider's signature over exactly those bytes. For
 * the sandbox (and any provider keyed the same way) the signature is the
 * lower- or upper-case hex of HMAC-SHA256(key, body) with the provider's
 * 32-byte key, sent as `X-Pay-Signature`. Rules kept here:
 *
 *   - the signature is checked over the raw bytes, before anything in them
 *     is believed, in constant time (mc_pay_sig_ok);
 *   - `ts` (the provider's clock, unix seconds) must be within
 *     MC_PAY_WINDOW seconds of the answering node's clock, either side
 *     (mc_pay_fresh): an old notice is refused even though it is signed;
 *   - the fields have exact shapes (mc_pay_notice_check).
 *
 * Idempotence — a notice is identified by (order, amount, status): a notice
 * whose order already reached that status is answered as the first one was
 * and changes nothing, whatever its txn or ts. That step is applied
 * atomically with the order's state in lua/pay.lua (pay_notify), not here:
 * only the store sees the state.
 *
 * Who may pay for, or read, an application's order is APP's rule:
 * mc_policy_app_may_act / mc_policy_app_may_read (mc_policy.h).
 *
 * Non-goals: other signature schemes (a real provider's RSA2 or
 * certificate-based signatures belong to its own provider code in
 * server/api/pay.c); currencies other than CNY.
 */
#ifndef MC_PAY_H
#define MC_PAY_H

#include <stddef.h>
#include <stdint.h>

#include "mc_err.h"

#define MC_PAY_ORDER_TTL 1800      /* seconds an order may be paid: 30 minutes */
#define MC_PAY_WINDOW 300          /* a notice's ts: within ±300 s of now */
#define MC_PAY_KEY_LEN 32          /* HMAC key bytes (the key file holds them in hex) */
#define MC_PAY_OID_LEN 20          /* "PO" + YYYYMMDD (UTC+8) + 10 random digits */
#define MC_PAY_TXN_MAX 64          /* a provider's transaction id */
#define MC_PAY_AMOUNT_MAX 100000000LL /* fen: 1,000,000 CNY */
#define MC_PAY_NOTICE_MAX 1024     /* bytes of a notice body */

typedef struct mc_pay_notice {
    char order[MC_PAY_OID_LEN + 1];
    int64_t amount;                /* fen */
    char status[12];               /* "paid" | "refunded" */
    char txn[MC_PAY_TXN_MAX + 1];
    int64_t ts;                    /* unix seconds, the provider's clock */
} mc_pay_notice;

/* The ids the manual shows as numbers (订单编号, 续费单号, 发票号): a
 * two-letter prefix, the date (UTC+8, YYYYMMDD) and 10 random digits from
 * the CSPRNG — 20 characters. Orders are "PO", renewals "XF", invoices "FP". */
#define MC_DATED_ID_LEN 20
int mc_dated_id_valid(const char *prefix, const char *s, size_t n);
void mc_dated_id_new(const char *prefix, int64_t now, char out[MC_DATED_ID_LEN + 1]);

/* 1 if s (n bytes) is an order id: "PO", 8 digits of a date, 10 digits. */
int mc_pay_oid_valid(const char *s, size_t n);
/* A new order id for time now (the date is UTC+8's, as the manual shows
 * order numbers); 10 random digits from the CSPRNG. */
void mc_pay_oid_new(int64_t now, char out[MC_PAY_OID_LEN + 1]);
/* 1 if s (n bytes) is a transaction id: 1..64 of [A-Za-z0-9_-]. */
int mc_pay_txn_valid(const char *s, size_t n);
/* A new transaction id: prefix (≤ 8 chars of the same alphabet) + 24 hex. */
void mc_pay_txn_new(const char *prefix, char out[MC_PAY_TXN_MAX + 1]);
/* 1 if a is an amount an order may have: 1..MC_PAY_AMOUNT_MAX fen. */
int mc_pay_amount_valid(int64_t a);

/* The fields of a parsed notice: order id, amount, status, txn. 0, or -1
 * with err (400 bad_field). */
int mc_pay_notice_check(const mc_pay_notice *n, mc_err *err);
/* 1 if ts is within MC_PAY_WINDOW seconds of now (either side). */
int mc_pay_fresh(int64_t ts, int64_t now);

/* The notice's bytes as a provider sends them (fields in the order above,
 * no spaces): what the sandbox signs. n must pass mc_pay_notice_check (its
 * strings then need no escaping). Returns the length written (< size), or
 * 0 if it does not fit. */
size_t mc_pay_notice_format(const mc_pay_notice *n, char *out, size_t size);

/* HMAC-SHA256(key, body) as lower-case hex. */
void mc_pay_sign(const uint8_t key[MC_PAY_KEY_LEN], const void *body, size_t len,
                 char hex[65]);
/* 1 if sig (siglen bytes of hex, either case) is HMAC-SHA256(key, body);
 * compared in constant time. */
int mc_pay_sig_ok(const uint8_t key[MC_PAY_KEY_LEN], const void *body, size_t len,
                  const char *sig, size_t siglen);

#endif
