/*
 * mc_phone_int.h — internals shared by the mc_phone_*.c files (store,
 * protocol, scan). Not part of the phone's API: tests use mc_phone.h.
 */
#ifndef MC_PHONE_INT_H
#define MC_PHONE_INT_H

#include "mc_phone.h"

/* An unlocked store. key is the private device key; der[i] are the chain
 * certificates (leaf first) as DER; fp is mc_cert_fingerprint(der[0]) (the
 * TBS cert_fp), computed once by mc_phone_open. */
struct mc_phone {
    EVP_PKEY *key;
    mc_alg alg;
    size_t nchain;
    mc_buf der[MC_CHAIN_MAX];
    uint8_t fp[32];
};

#define MSGPACK_TYPE "application/x-msgpack"

struct mc_http_reply;

/* One request to the phone API (mc_phone_proto.c). 0 only for a 200 reply
 * (in *reply, which the caller frees either way); else -1 with the local
 * error (mc_http) or the server's {code, message}. */
int mc_phone_api_call(const char *method, const char *url, const void *body, size_t len,
                      struct mc_http_reply *reply, mc_phone_err *err);

/* Set a local error; returns -1. e may be NULL. */
int mc_phone_fail(mc_phone_err *e, int status, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reset to "no error". e may be NULL. */
void mc_phone_err_clear(mc_phone_err *e);

#endif
