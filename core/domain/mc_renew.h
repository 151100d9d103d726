/*
 * mc_renew.h — renewal (续费) and extension (延期) of a certificate, the
 * pure rules (PROTOCOL.md §10): the renewal's number, its states and what
 * a reader is shown, which certificates may be renewed, the fee and the
 * new certificate's validity.
 *
 * Why its own file: the same rules are used by the web handlers (which
 * decide before they call the store), the renewal's Redis Functions
 * (which re-check the state they read) and mcertctl; the numbers live
 * here once.
 *
 * Design: a renewal is an order for N certificate-years of one
 * certificate, paid first (pending_payment -> pending_extension), then
 * used by the phone (pending_extension -> extended), which proves the
 * current certificate's key; a paid, unused one may be refunded
 * (refunding -> refunded). The new certificate's validity runs on from
 * the old expiry: no day lost, none gained.
 * Non-goals: no I/O; partial refunds; renewing certificates of other CAs.
 */
#ifndef MC_RENEW_H
#define MC_RENEW_H

#include <stddef.h>
#include <stdint.h>

#include "mc_pay.h"

#define MC_REN_ID_LEN MC_DATED_ID_LEN  /* "XF" + YYYYMMDD (UTC+8) + 10 digits */
#define MC_REN_YEARS_MAX 3             /* one renewal buys 1..3 years */
#define MC_REN_GRACE_DAYS 30           /* default: renewable up to 30 days after expiry */
#define MC_REN_GRACE_DAYS_MAX 365
#define MC_REN_SESSION_TTL 300         /* seconds the extension's QR session lives */
#define MC_REN_YEAR_SECONDS (365LL * 86400)

/* 1 if s (n bytes) is a renewal number. */
int mc_ren_id_valid(const char *s, size_t n);
void mc_ren_id_new(int64_t now, char out[MC_REN_ID_LEN + 1]);

/* The fee in fen of `years` certificate-years (the application's fee
 * table, §9.5: every renewed year is paid; there is no free one), or -1
 * when years is not 1..MC_REN_YEARS_MAX. */
int64_t mc_ren_fee(int64_t years);

/* The state a reader is shown: "expired" for a renewal still
 * pending_payment at or after `expires` (its order can no longer be paid),
 * else the stored one. */
const char *mc_ren_state_now(const char *state, int64_t expires, int64_t now);

/* 1 if state (as mc_ren_state_now shows it) keeps the certificate's one
 * open renewal: an unexpired pending_payment or a pending_extension (the
 * manual: 已续费但未延期的CA不在此列表中展示). */
int mc_ren_state_open(const char *state_now);

/* Whether a certificate may be renewed (ordered or extended) at `now`:
 * NULL if yes, else the wire code and *status (403): cert_revoked,
 * cert_superseded, cert_expired (more than grace seconds past notAfter).
 * status is the record's ("valid", "revoked", "superseded"). */
const char *mc_ren_cert_refusal(const char *status, int64_t not_after, int64_t now,
                                int64_t grace, int *http);

/* The new certificate's notAfter: the old one plus `years` × 365 days. */
int64_t mc_ren_new_not_after(int64_t old_not_after, int64_t years);

#endif
