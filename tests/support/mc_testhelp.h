/*
 * mc_testhelp.h — helpers that several integration tests share, built on a
 * running mc_testenv (mc_testenv.h): mcertctl and shell commands with their
 * output captured, API keys, phones bound through the real bind flow,
 * Redis readers for the data model's hashes and streams, small files.
 *
 * Why a second file: mc_testenv.c starts and stops the installation; what
 * is here only uses one, so tests that need none of it do not read it.
 * Helpers assert with cmocka (fail_msg) like mc_testenv's; they are for
 * tests only. Non-goal: helpers that one test file alone needs (they stay
 * in that file, beside the tests that explain them).
 */
#ifndef MC_TESTHELP_H
#define MC_TESTHELP_H

#include <stddef.h>
#include <stdint.h>

#include "mc_testenv.h"

/* ---- commands with captured output ---- */

/* A shell command (printf format) with stdout and stderr captured into
 * out (size bytes, NUL-terminated, cut at size - 1); returns its exit
 * status. The capture file is env->dir/sh.out, overwritten each call. */
int mc_testenv_sh_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* `mcertctl --data D --redis R <args>` (printf format) with stdout and
 * stderr captured into out as mc_testenv_sh_out does (env->dir/ctl.out);
 * returns the exit status. */
int mc_testenv_ctl_out(mc_testenv *env, char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- small files ---- */

/* Write n bytes at p to path (created or truncated). */
void mc_testenv_write_file(const char *path, const void *p, size_t n);
/* Append the whole file at path to out; fails the test if it cannot be
 * read. For small files (CSRs, certificates): no size limit is checked. */
void mc_testenv_read_file(const char *path, mc_buf *out);

/* ---- API keys ---- */

/* A new API key for org with scope (e.g. "sign,verify") by `mcertctl
 * apikey add`: the key ("mcak.<id>.<secret>", 65 chars) into key, its id
 * (16 chars) into id. */
void mc_testenv_apikey(mc_testenv *env, const char *org, const char *scope, char key[80],
                       char id[20]);

/* mc_testenv_api authenticated by an API key ("Authorization: ApiKey
 * <key>") instead of a token. body is stolen (may be NULL). */
json_t *mc_testenv_api_apikey(mc_testenv *env, const char *method, const char *path,
                              const char *key, json_t *body, int *status);

/* ---- the web API ---- */

/* mc_testenv_api by a token (tok may be NULL; body is stolen), failing the
 * test, with the reply shown, unless the status is want. Returns the body
 * (the caller json_decref()s it). */
json_t *mc_testenv_api_want(mc_testenv *env, const char *method, const char *path,
                            const char *tok, json_t *body, int want);

/* s (18 chars) with its GB 32100 check character put right, so that a
 * made-up 统一社会信用代码 passes mc_uscc_valid. */
void mc_testenv_uscc_fix(char s[19]);

/* ---- hostile requests ---- */

/* One request on the web API (env->base + path; headers NULL-terminated,
 * may be NULL; body of len bytes, may be NULL) on a new connection, with a
 * 20 s timeout: fails the test if no reply comes (a hung or crashed
 * server), and unless every error (status >= 400) is a JSON object of
 * exactly {code: str, message: str}. Returns the status; *out, if out is
 * not NULL, gets the parsed body (NULL if not JSON; the caller
 * json_decref()s it). */
int mc_testenv_web_req(mc_testenv *env, const char *method, const char *path,
                       const char *const *headers, const void *body, size_t len, json_t **out);

/* A racing phone: fork a child that waits until the write end of go is
 * closed in every process (the parent closes go[1] to release all racers
 * at once), then POSTs body (msgpack) to the session's /m/ response. The
 * child exits 0 for 200 "approved" (also an extension's, §10.4), 1 for 409 session_done, 3 for another
 * 409, 4 for anything else, 5 if released wrongly, 6 if no reply came.
 * Returns the child's pid (in the parent). */
pid_t mc_testenv_racer(mc_testenv *env, const char *sid, const mc_buf *body, int go[2]);

/* The decoded outcome of one request on the phone API (/m/). */
typedef struct mc_testenv_preply {
    int status;
    char code[32];   /* an error's */
    char msg[160];
    char state[16];  /* a 200 {state, account}'s */
    char account[MC_ACCOUNT_MAX + 1];
} mc_testenv_preply;

/* One request on the phone API (url absolute; ctype NULL: msgpack; body of
 * len bytes, may be NULL) with a 20 s timeout: fails the test if no reply
 * comes (a hung or crashed server), unless its Content-Type is msgpack,
 * and unless an error (status != 200) is a msgpack {code, message}, both
 * non-empty. A 200 is decoded as {state, account}; one that is not fails
 * the test if strict, else leaves state "" (an inbox listing, a view). */
void mc_testenv_phone_req(const char *method, const char *url, const void *body, size_t len,
                          const char *ctype, int strict, mc_testenv_preply *out);

/* ---- phones and holders ---- */

/* The SHA-256 fingerprint (hex) of the phone's leaf certificate. */
void mc_testenv_leaf_fp(const mc_phone *ph, char out[65]);

/* Bind the account whose web token is tok to ph through the real bind
 * flow (open a bind session, the phone fetches it and approves with the
 * shown number); fails the test unless the answer is "approved". */
void mc_testenv_bind(mc_testenv *env, const mc_phone *ph, const char *tok);

/* An account of org with role, and a new phone of alg (env->dir/<login>,
 * a certificate by `mcertctl issue`) bound to it by mc_testenv_bind; the
 * fingerprint /api/v1/me then shows (64 hex) into fp. The caller frees the
 * phone with mc_phone_free. */
mc_phone *mc_testenv_bound_phone(mc_testenv *env, const char *login, const char *org,
                                 const char *role, mc_alg alg, char fp[65]);

/* A platform user with a phone that holds a certificate for its org. */
typedef struct mc_testenv_holder {
    char login[32];
    mc_phone *ph;    /* owned */
    char *tok;       /* password-login web token, owned */
    char fp[65];     /* fingerprint hex of the phone's leaf */
} mc_testenv_holder;

/* Account login of org with role, its phone "phone-<login>" of alg for org
 * and its login token; not bound (mc_testenv_bind does that). */
void mc_testenv_holder_new(mc_testenv *env, mc_testenv_holder *h, const char *login,
                           const char *org, const char *role, mc_alg alg);
/* Frees the phone and token and zeroes h. */
void mc_testenv_holder_free(mc_testenv_holder *h);

/* ---- Redis readers ---- */

/* HGET key field as a string into out (size bytes; "" if the key or field
 * is missing); returns out. */
const char *mc_testenv_hget(mc_testenv *env, const char *key, const char *field, char *out,
                            size_t size);

/* Fails the test unless field of the hash {mc}:<kind>:<id> is want. */
void mc_testenv_expect_field(mc_testenv *env, const char *kind, const char *id,
                             const char *field, const char *want);

/* The number of {mc}:audit entries whose `what` is what and, if name is
 * not NULL, whose field name is value (e.g. "app", id). O(N) in the
 * stream's length: it reads the whole stream. */
int mc_testenv_audit_count(mc_testenv *env, const char *what, const char *name,
                           const char *value);

/* Redis's clock (TIME), in whole seconds: the clock the Lua scripts see. */
int64_t mc_testenv_redis_time(mc_testenv *env);

#endif
