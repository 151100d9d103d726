/*
 * mc_phone_int.h — internals shared by the mc_phone_*.c files (store,
 * protocol, scan). Not part of the phone's API: tests use mc_phone.h.
 */
#ifndef MC_PHONE_INT_H
#define MC_PHONE_INT_H

#include <sys/types.h>

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

/* "<base><path>" into out, tolerating a trailing '/' in base (mc_phone_proto.c);
 * bad_url for no base or a URL longer than size. */
int mc_phone_url(char *out, size_t size, const char *base, const char *path,
                 mc_phone_err *err);

/* Set a local error; returns -1. e may be NULL. */
int mc_phone_fail(mc_phone_err *e, int status, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reset to "no error". e may be NULL. */
void mc_phone_err_clear(mc_phone_err *e);

/* --- the store's files (mc_phone_store.c), for the other files. name is
 * relative to dir and may name a subdirectory ("keys/<fp>.key"). --- */

/* Read a file (at most 128 KiB) into out; *missing (may be NULL) is 1 when
 * it does not exist (still -1, bad_store). */
int mc_phone_store_read(const char *dir, const char *name, mc_buf *out, int *missing,
                        mc_phone_err *err);
/* Write atomically (temporary file, fsync, rename) with mode. */
int mc_phone_store_write(const char *dir, const char *name, const void *data, size_t len,
                         mode_t mode, mc_phone_err *err);
/* Remove a file; one that is not there is fine. */
int mc_phone_store_remove(const char *dir, const char *name, mc_phone_err *err);
/* Make a subdirectory (mode 0700) if it is not there. */
int mc_phone_store_mkdir(const char *dir, const char *name, mc_phone_err *err);
/* Decrypt a PKCS#8 key file under the PIN (bad_pin / bad_store as
 * mc_phone_open). Caller frees. */
EVP_PKEY *mc_phone_store_key(const char *dir, const char *name, const char *pin,
                             mc_phone_err *err);
/* A PEM public key file. Caller frees. */
EVP_PKEY *mc_phone_store_pub(const char *dir, const char *name, mc_phone_err *err);
/* key as key.pem (encrypted under pin) and pub.pem bytes, appended. */
int mc_phone_key_pems(EVP_PKEY *key, const char *pin, mc_buf *priv, mc_buf *pub,
                      mc_phone_err *err);
/* A chain (PEM, or one DER) into xs[0..*n) (caller frees), as import reads
 * it; bad_cert. And xs back as PEM. */
int mc_phone_chain_parse(const uint8_t *data, size_t len, X509 **xs, size_t *n,
                         mc_phone_err *err);
int mc_phone_chain_pem(X509 *const *xs, size_t n, mc_buf *out, mc_phone_err *err);

#endif
