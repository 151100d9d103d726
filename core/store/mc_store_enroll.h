/*
 * mc_store_enroll.h — what enrollment reads and changes (PROTOCOL.md §9.7;
 * the functions are in lua/enroll.lua): the activation's redemption, the
 * record of what the CA issued, and the enroll QR session.
 *
 * Keys (all under the hash tag {mc}):
 *   act:<app>     the activation (APP's approve makes it): hash, expires,
 *                 tries, state open|used|locked; + fp, csr, used_at,
 *                 locked_at written here
 *   app:<app>     the application (APP's record): state and cert written here
 *   cert:<fp>     the certificate record (cert_put's fields, DER kept, + app)
 *   serial:<S>    serial -> fp (the CA's index, lua/ca.lua)
 *   sess:<sid>    the enroll QR session (+ app, holder_name)
 *
 * Redemption is two calls around the CA's work: enroll_begin counts and
 * compares the code and reads what the CSR must match; the caller checks
 * the CSR and issues; enroll_commit re-checks and records it all at once.
 *
 * Every call is async on an async store (mc_store.h): outs live until cb.
 */
#ifndef MC_STORE_ENROLL_H
#define MC_STORE_ENROLL_H

#include <stdint.h>

#include "mc_buf.h"
#include "mc_proto.h"
#include "mc_store.h"
#include "mc_store_rec.h"
#include "mc_store_sess.h"

#define MC_ENROLL_TRIES 5       /* wrong codes that lock an activation */
/* Wrong codes one client address may send, all activations together, in a
 * window (then 429 too_many_attempts, the window doubling as for passwords):
 * so that one source guessing order numbers cannot lock others' activations. */
#define MC_ENROLL_TRIES_PER_ADDRESS 20
#define MC_ENROLL_WINDOW 900

/* The application as enrollment sees it (fields of APP's hash). */
typedef struct mc_enroll_app {
    char id[MC_APP_ID_MAX + 1];
    char state[32];
    char applicant[MC_ACCOUNT_MAX + 1];
    char uscc[MC_USCC_LEN + 1];
    char org_name[129];
    char holder_name[129];
    char alg[8];                  /* "sm2" | "p256" */
    char cert[65];                /* fp once issued, else "" */
} mc_enroll_app;

/* The application `id`; id "" in *out when there is none. */
void mc_store_enroll_app(mc_store *st, const char *id, mc_enroll_app *out, mc_store_cb cb,
                         void *privdata);

/* The outcome of enroll_begin (errors are refusals, nothing written). */
typedef enum mc_enroll_kind {
    MC_ENROLL_OPEN = 1,           /* right code, open: app holds what the CSR must match */
    MC_ENROLL_AGAIN,              /* right code, already issued for this CSR: fp */
    MC_ENROLL_WRONG,              /* wrong code, counted: tries_left */
    MC_ENROLL_LOCKED,             /* wrong code, the last one: now locked */
    MC_ENROLL_LIMITED,            /* the client address is over its wrong codes:
                                     tries_left holds the seconds to wait */
} mc_enroll_kind;
typedef struct mc_enroll_try {
    mc_enroll_kind kind;
    int tries_left;
    char fp[65];
    mc_enroll_app app;            /* OPEN: holder_name, org_name, uscc, alg, applicant */
} mc_enroll_try;

/* Redeem: code_hash = mc_enroll_code_hash(app, code), csr_hash the
 * SHA-256 hex of the CSR bytes, sid "" or the enroll session the phone
 * scanned (it must be answerable and for this application). Errors:
 * no_activation (404), activation_locked (403), activation_expired (410),
 * activation_used (409, another CSR), bad_transition (409, the
 * application is not approved_pending_issue), unknown_session,
 * session_expired, session_done, purpose_mismatch, app_mismatch. */
void mc_store_enroll_begin(mc_store *st, const char *app, const char *code_hash,
                           const char *csr_hash, const char *sid, const mc_actor *a,
                           mc_enroll_try *out, mc_store_cb cb, void *privdata);

/* The certificate of a repeated redemption: its record's status and DER
 * (der.len 0 if unrecorded or kept without DER). */
typedef struct mc_enroll_cert {
    char status[12];
    mc_buf der;                   /* owned by the caller: mc_buf_free */
} mc_enroll_cert;
void mc_store_enroll_cert(mc_store *st, const char *fp, mc_enroll_cert *out, mc_store_cb cb,
                          void *privdata);

/* Record what the CA issued for the redemption begun with the same
 * arguments (c: its record with DER): re-checks the activation (open,
 * unlocked, unexpired, same code), the application's state and that the
 * certificate is new; then the record, the activation used (fp, csr), the
 * application issued with cert = fp, the audit, and the session (if still
 * answerable) approved. again = 1 (fp: the one recorded before) when an
 * identical redemption won a race: c was not recorded. Errors: as begin,
 * and cert_exists (409). */
typedef struct mc_enroll_done {
    int again;
    char fp[65];
} mc_enroll_done;
void mc_store_enroll_commit(mc_store *st, const char *app, const char *code_hash,
                            const char *csr_hash, const char *sid, const mc_cert_rec *c,
                            const mc_actor *a, mc_enroll_done *out, mc_store_cb cb,
                            void *privdata);

/* Open the enroll QR session s (purpose enroll; fields as for
 * mc_store_sess_open, account = the applicant, requester = who opens it)
 * of application `app` (its org, holder_name for the view), if the
 * application can still be redeemed. Errors: not_found, bad_transition,
 * no_activation, activation_locked, activation_expired, activation_used. */
void mc_store_enroll_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32],
                          int ttl, const mc_open_limits *lim, const mc_enroll_app *app,
                          const char *requester_name, mc_open_result *out, mc_store_cb cb,
                          void *privdata);

#endif
