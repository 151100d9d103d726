/*
 * mc_testenv.h — a real mcert installation for integration tests: a
 * redis-server on a free loopback port with its own directory (AOF on,
 * appendfsync always, DEBUG enabled for DEBUG DIGEST), a CA made by the real
 * `mcertctl`, and the real `mcertd` (two event loops, so that the phone and
 * the browser may be served by different loops). Everything is started by
 * the test and the test FAILS if anything cannot start: nothing is skipped.
 *
 * Helpers assert with cmocka (fail_msg); they are for tests only.
 * Ownership: the env owns its processes and temp dir; mc_testenv_stop
 * kills them (checking that mcertd exits 0, i.e. no sanitizer report) and
 * removes the directory.
 */
#ifndef MC_TESTENV_H
#define MC_TESTENV_H

#include <jansson.h>
#include <sys/types.h>

#include "mc_phone.h"
#include "mc_store_sync.h"
#include "mc_testfault.h"

#define MC_TEST_ORG "91330100MA2DEM001H"
#define MC_TEST_ORG2 "91110000MA0THER01E"
#define MC_TEST_PIN "123456"

typedef struct mc_testenv {
    char dir[256];
    int redis_port;
    pid_t redis_pid;
    int port;
    pid_t mcertd_pid;
    char base[64];              /* http://127.0.0.1:port */
    mc_store *store;            /* direct connection, for checks */
    int session_ttl;
    pid_t node2_pid;            /* a second mcertd on the same Redis, if started */
    int node2_port;
    char node2_base[64];
    int mcertd_nofile;          /* mc_testenv_opts.mcertd_nofile */
} mc_testenv;

/* Start redis + CA + mcertd; session_ttl 0 = default. */
mc_testenv *mc_testenv_start(int session_ttl);

/* How mc_testenv_start_opts starts the env. Zero fields are the defaults. */
typedef struct mc_testenv_opts {
    int session_ttl;                 /* 0 = default */
    const char *const *mcertd_args;  /* extra mcertd arguments, NULL-terminated */
    /* If not NULL: mcertd reaches Redis through a new fault proxy
     * (mc_testfault.h), returned here; the caller frees it after
     * mc_testenv_stop. */
    mc_testfault_proxy **proxy;
    /* If > 0: mcertd runs under `ulimit -n` this (soft and hard limit). */
    int mcertd_nofile;
} mc_testenv_opts;
mc_testenv *mc_testenv_start_opts(const mc_testenv_opts *o);

/* SIGSTOP (paused = 1) or SIGCONT (0) the redis-server: a hung Redis whose
 * sockets still accept. */
void mc_testenv_pause_redis(mc_testenv *env, int paused);
void mc_testenv_stop(mc_testenv *env);

/* Start (once) a second mcertd process on the same Redis and data, as a
 * second node behind a load balancer; returns its base URL. */
const char *mc_testenv_second_node(mc_testenv *env);

/* Restart redis-server (SIGKILL, then start on the same dir and port). */
void mc_testenv_crash_redis(mc_testenv *env);

/* Run a shell command (through /bin/sh); returns its exit status. */
int mc_testenv_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* `mcertctl --data D --redis R <args>`; returns the exit status. */
int mc_testenv_ctl(mc_testenv *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mc_testenv_org(mc_testenv *env, const char *uscc, const char *name);
/* Account with password "pw-<login>-secret". */
void mc_testenv_account(mc_testenv *env, const char *login, const char *org, const char *role);

/* A phone store under env->dir/<name> with a certificate issued by the
 * env's CA through `mcertctl issue`; returns it opened with MC_TEST_PIN. */
mc_phone *mc_testenv_phone(mc_testenv *env, const char *name, mc_alg alg, const char *uscc);

/* The phone scans session sid at base and answers it (fetch + respond).
 * 0 / -1 with *pe. */
int mc_testenv_answer(const char *base, const mc_phone *ph, const char *sid,
                      mc_phone_decision d, int number, mc_phone_result *res, mc_phone_err *pe);

/* JSON API call. body is stolen (may be NULL); token may be NULL. Returns
 * the parsed reply (a JSON value; an object with "_raw" if unparsable) and
 * the status in *status. Caller json_decref()s. */
json_t *mc_testenv_api(mc_testenv *env, const char *method, const char *path,
                       const char *token, json_t *body, int *status);
/* Same with extra headers ("Name: value", NULL-terminated). */
json_t *mc_testenv_api_h(mc_testenv *env, const char *method, const char *path,
                         const char *const *headers, json_t *body, int *status);

/* Password login; returns a malloc'd token. */
char *mc_testenv_login(mc_testenv *env, const char *login);

/* An integer-answering Redis command (hiredis format, e.g. "TTL %s"). */
long long mc_testenv_redis_int(mc_testenv *env, const char *fmt, ...);

/* Any Redis command (hiredis format) on a fresh direct connection. The
 * reply is never NULL (the test fails if Redis does not answer); the caller
 * frees it with freeReplyObject. */
struct redisReply *mc_testenv_redis(mc_testenv *env, const char *fmt, ...);

/* Redis DEBUG DIGEST of the whole data set (40 hex chars). */
void mc_testenv_digest(mc_testenv *env, char out[41]);

/* Open a session (purpose "bind" or "login"); fills sid, poll secret and
 * match. account may be NULL. Returns the HTTP status; the reply in *reply
 * if reply != NULL (else freed). */
int mc_testenv_open(mc_testenv *env, const char *token, const char *purpose, const char *account,
                    char sid[MC_SID_LEN + 1], char poll[64], int *match, json_t **reply);

/* The path and X-Poll-Secret header of a poll (wait seconds, known state
 * or NULL), as mc_testenv_poll sends them. */
void mc_testenv_poll_request(const char *sid, const char *poll, const char *known, int wait,
                             char path[160], char hdr[128]);
/* Poll a session once (wait seconds, known state). Returns the reply. */
json_t *mc_testenv_poll(mc_testenv *env, const char *sid, const char *poll, const char *known,
                        int wait, int *status);

/* A second valid encoding of a certificate signed with ECDSA on P-256:
 * the issuer's signature (r, s) rewritten as (r, n - s), which anyone can
 * do. Appends the new DER to out. */
void mc_testenv_malleate(const uint8_t *der, size_t len, mc_buf *out);

/* String member of a JSON object, "" if missing or not a string. */
const char *mc_testenv_jstr(json_t *o, const char *key);
/* Monotonic seconds. */
double mc_testenv_now(void);

/* One web API request on a new connection that asserts nothing, so that
 * threads may send it: status 0 if no reply came (err says why). body, if
 * not NULL, is sent as JSON. */
typedef struct mc_testenv_reply {
    int status;
    double secs;              /* from send to the whole reply */
    char retry_after[16];     /* "" if none */
    json_t *json;             /* the parsed body, NULL if it is not JSON */
    int shaped;               /* an error of exactly {code: str, message: str} in JSON */
    char code[32], msg[160];  /* of a shaped error */
    char err[200];
} mc_testenv_reply;
void mc_testenv_send(const char *base, const char *method, const char *path,
                     const char *const *headers, const char *body, int timeout_s,
                     mc_testenv_reply *out);
void mc_testenv_reply_free(mc_testenv_reply *r);

#endif
