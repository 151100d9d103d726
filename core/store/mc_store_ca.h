/*
 * mc_store_ca.h — revocation and the CA's published state over mc_store
 * (the functions are in lua/ca.lua; PROTOCOL.md §9.8).
 *
 * Keys (all under the hash tag {mc}, all durable):
 *   crl                  zset serial -> revoked_at
 *   crlinfo              hash serial -> reason (RFC 5280 CRLReason)
 *   crlver               counter, bumped by every revocation (cRLNumber)
 *   serial:<SERIAL HEX>  -> fp, written whenever a certificate is recorded
 *                        (cert_put, bind_approve: lua/mcert.lua's
 *                        cert_record). Records older than the index have
 *                        none (see lua/ca.lua).
 *
 * Every call is async on an async store (mc_store.h): outs and privdata
 * live until cb. The mc_sync_* calls are for blocking stores (mcertctl,
 * tests).
 */
#ifndef MC_STORE_CA_H
#define MC_STORE_CA_H

#include <stddef.h>
#include <stdint.h>

#include "mc_crl.h"
#include "mc_store.h"
#include "mc_store_rec.h"

/* What a revocation did. */
typedef struct mc_revoked {
    int64_t revoked_at;           /* Redis's clock */
    int64_t crlver;               /* the CRL version it made */
} mc_revoked;

/* Revoke fp with reason (mc_reason_allowed: the caller checks); `login`
 * is the account the record was read bound to ("" if none): that binding
 * ends, and so do the web sessions it made; the serial joins the CRL and
 * crlver moves on. Errors: not_found, cert_revoked (already: 403 by the
 * transport's table; the web answers it 409), stale (the binding changed
 * since it was read: read again). */
void mc_store_ca_revoke(mc_store *st, const char *fp, const char *login, int reason,
                        const mc_actor *a, mc_revoked *out, mc_store_cb cb, void *privdata);

/* The CRL's version now (0 before any revocation): one GET. */
void mc_store_crl_ver(mc_store *st, int64_t *ver, mc_store_cb cb, void *privdata);

/* Everything the CRL holds, as of one moment: O(N) in the revoked serials. */
typedef struct mc_crl_state {
    int64_t ver;
    int64_t now;                  /* Redis's clock */
    mc_crl_entry *e;              /* owned: mc_crl_state_free */
    size_t n;
} mc_crl_state;
void mc_store_crl_read(mc_store *st, mc_crl_state *out, mc_store_cb cb, void *privdata);
void mc_crl_state_free(mc_crl_state *s);

/* The statuses of an OCSP request's serials in one call: for each of the
 * n asks (mc_ocsp_parse), out->st[i]; asks that are not ours are unknown
 * and not looked up. Do not call with no ask of ours. */
typedef struct mc_ocsp_lookup {
    int64_t now;                  /* Redis's clock */
    mc_ocsp_status st[MC_OCSP_REQ_MAX];
    /* internal: which asks were sent */
    size_t sent[MC_OCSP_REQ_MAX], nsent;
} mc_ocsp_lookup;
void mc_store_ocsp_status(mc_store *st, const mc_ocsp_ask *asks, size_t n, mc_ocsp_lookup *out,
                          mc_store_cb cb, void *privdata);

/* ---- blocking ---- */

/* Read the record, then revoke with the binding it had (again if it
 * changed in between); out may be NULL. Errors as mc_store_ca_revoke. */
int mc_sync_ca_revoke(mc_store *st, const char *fp, int reason, const mc_actor *a,
                      mc_revoked *out, mc_err *err);
/* The fingerprint recorded for a serial (upper-case hex): *found = 0 if
 * none is indexed (not an error). */
int mc_sync_serial_fp(mc_store *st, const char *serial, char fp[65], int *found, mc_err *err);
int mc_sync_crl_read(mc_store *st, mc_crl_state *out, mc_err *err);

#endif
