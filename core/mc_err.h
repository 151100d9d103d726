/*
 * mc_err.h — the one error type of mcert.
 *
 * Why: every layer (crypto, x509, protocol, store, server) must be able to say
 * *why* something failed in a way that reaches the wire unchanged: a stable
 * machine code ("cert_untrusted"), the HTTP status the server should use, and
 * a short human message. Core code decides the code; the server only copies it
 * into `{code, message}`.
 *
 * Non-goals: no errno mapping, no chaining. The message never contains a secret
 * (no keys, PINs, tokens, passwords): it may be sent to a peer and logged.
 */
#ifndef MC_ERR_H
#define MC_ERR_H

#include <stdarg.h>

typedef struct mc_err {
    int status;          /* HTTP status the server should reply with (4xx/5xx); 0 = no error */
    const char *code;    /* static string, stable wire code, e.g. "cert_untrusted"; NULL = none */
    char msg[160];       /* human readable, NUL-terminated, no secrets */
} mc_err;

/* Set err (may be NULL, then nothing happens). Always returns -1 so that
 * callers can write `return mc_err_set(err, 400, "bad_json", "...")`. */
int mc_err_set(mc_err *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset to "no error". err may be NULL. */
void mc_err_clear(mc_err *err);

#endif
