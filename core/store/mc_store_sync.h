/*
 * mc_store_sync.h — the record calls for a BLOCKING store (mc_store_open):
 * mcertctl and the tests, which may wait. Each returns 0, or -1 with err;
 * they are the async calls of mc_store_rec.h run through mc_store_sync_cb.
 *
 * Non-goal: use on an event loop (mcertd never calls these).
 */
#ifndef MC_STORE_SYNC_H
#define MC_STORE_SYNC_H

#include "mc_store.h"
#include "mc_store_rec.h"

/* A blocking store with a 5 s timeout. */
mc_store *mc_store_connect(const char *host, int port, mc_err *err);

int mc_sync_org_create(mc_store *st, const mc_org *o, const mc_actor *a, mc_err *err);
int mc_sync_account_create(mc_store *st, const mc_account *acc, const mc_actor *a,
                           mc_err *err);
int mc_sync_account_get(mc_store *st, const char *login, mc_account *acc, mc_err *err);
int mc_sync_cert_put(mc_store *st, const mc_cert_rec *c, const mc_actor *a, mc_err *err);
/* *found = 0 when there is no record (not an error). */
int mc_sync_cert_get(mc_store *st, const char *fp, mc_cert_rec *c, int *found, mc_err *err);
/* Revocation: mc_sync_ca_revoke (mc_store_ca.h). */

#endif
