/*
 * mc_store_sync.c — see mc_store_sync.h. A blocking store runs each call's
 * callback before the call returns, so a call is just the async one with
 * mc_store_sync_cb filling an mc_err.
 */
#include "mc_store_sync.h"

#include <string.h>

#define SYNC(call_with_cb_and_err)             \
    do {                                       \
        mc_err e_;                             \
        mc_err_clear(&e_);                     \
        call_with_cb_and_err;                  \
        if (err)                               \
            *err = e_;                         \
        return e_.status ? -1 : 0;             \
    } while (0)

mc_store *mc_store_connect(const char *host, int port, mc_err *err)
{
    return mc_store_open(host, port, 5000, err);
}

int mc_sync_org_create(mc_store *st, const mc_org *o, const mc_actor *a, mc_err *err)
{
    SYNC(mc_store_org_create(st, o, a, mc_store_sync_cb, &e_));
}

int mc_sync_account_create(mc_store *st, const mc_account *acc, const mc_actor *a, mc_err *err)
{
    SYNC(mc_store_account_create(st, acc, a, mc_store_sync_cb, &e_));
}

int mc_sync_account_get(mc_store *st, const char *login, mc_account *acc, mc_err *err)
{
    SYNC(mc_store_account_get(st, login, acc, mc_store_sync_cb, &e_));
}

int mc_sync_cert_put(mc_store *st, const mc_cert_rec *c, const mc_actor *a, mc_err *err)
{
    SYNC(mc_store_cert_put(st, c, a, mc_store_sync_cb, &e_));
}

int mc_sync_cert_get(mc_store *st, const char *fp, mc_cert_rec *c, int *found, mc_err *err)
{
    mc_err e;
    mc_err_clear(&e);
    mc_store_cert_get(st, fp, c, mc_store_sync_cb, &e);
    if (err)
        *err = e;
    *found = e.status == 0 && c->fp[0] != '\0';
    return e.status ? -1 : 0;
}
