/*
 * mc_phone_int.h — internals shared by the mc_phone_*.c files (store,
 * protocol, scan). Not part of the phone's API: tests use mc_phone.h.
 */
#ifndef MC_PHONE_INT_H
#define MC_PHONE_INT_H

#include <openssl/x509.h>

#include "mc_phone.h"

/* An unlocked store. key is the private device key; der[i] are the chain
 * certificates (leaf first) as DER; fp the SHA-256 of der[0]. */
struct mc_phone {
    EVP_PKEY *key;
    mc_alg alg;
    size_t nchain;
    mc_buf der[MC_CHAIN_MAX];
    uint8_t fp[32];
};

/* Set a local error; returns -1. e may be NULL. */
int mc_phone_fail(mc_phone_err *e, int status, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reset to "no error". e may be NULL. */
void mc_phone_err_clear(mc_phone_err *e);

/* Parse 1..MC_CHAIN_MAX certificates (PEM, or a single DER) into xs; *n
 * receives the count. The caller frees xs[0..*n). 0 / -1 (bad_cert). */
int mc_phone_parse_chain(const uint8_t *data, size_t len, X509 **xs, size_t *n,
                         mc_phone_err *err);

#endif
