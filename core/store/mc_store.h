/*
 * mc_store.h — the Redis transport under every record of mcert.
 *
 * Why: mcertd nodes are stateless; all state lives in Redis, and every
 * change of a record is one Redis Function (core/store/lua/mcert.lua) run
 * atomically. This file is the one way a command reaches Redis and its
 * reply comes back; the record families (mc_store_sess.h, mc_store_web.h,
 * mc_store_rec.h) map their arguments and replies on top of it.
 *
 * Two modes, one API:
 *   - async (mcertd): hiredis's async API on the caller's event loop. The
 *     loop is not named here (core has no libevent in it): the server gives
 *     an mc_store_loop whose attach() ties the hiredis context to its loop
 *     and whose defer() runs a function on the next loop turn. Requests share
 *     the connection, so their commands pipeline by themselves and Redis
 *     groups the fsyncs of the writes that arrive together.
 *   - blocking (mcertctl, tests): one blocking hiredis connection; the
 *     callback runs before the call returns.
 *
 * Exact replies: replies arrive in the order commands were sent. When that
 * order is in doubt — a reply of a shape the mapper did not expect, a lost
 * connection, or a command unanswered past the deadline (mc_store_tick) —
 * every command in flight on the connection fails with 503
 * store_unavailable, the connection is dropped, and a new one is made after
 * a back-off (100 ms doubling to 2 s; a call made while down tries at once,
 * at most every 100 ms). Nothing is ever re-sent: a write
 * whose reply was lost may have run, and only the caller (who knows whether
 * it is idempotent) may try again. While no connection is up and none may
 * be tried yet, calls fail at once (on the next loop turn) with 503.
 *
 * Durability: Redis runs with appendonly yes, appendfsync always (scripts/run,
 * the test harness and the bench start it so): a change of a durable record
 * (organisation, account, certificate, binding, web session) or of the
 * audit stream is acknowledged only after it is on disk. QR sessions, their
 * events and the throttle counters are not durable on purpose: the
 * functions write them with redis.set_repl(REPL_REPLICA) — to replicas (a
 * Sentinel failover keeps them), not to the AOF — so they cost no fsync. A
 * crash of Redis itself loses the QR sessions in flight (their browsers get
 * unknown_session and show a new code; nothing half-done survives, since a
 * bind writes its records durably in the same atomic step). Measured with
 * scripts/bench on the 2-core machine (2026-12-01): fsyncs per QR login
 * went from 4.0 to 2.0 with one flow at a time and from 1.65 to about 1.0
 * at 8 concurrent flows; Redis CPU per flow at 8 concurrent from about
 * 315 us to 250-265 us.

 * Functions: on every new connection the first command asks `mc_version`;
 * if the library is missing or another version, FUNCTION LOAD REPLACE loads
 * the one built into this binary. Calls made before that is settled wait
 * (within the deadline) and are sent after it, so none meets a missing or
 * foreign library — a Redis that lost its data, or whose library was
 * replaced, heals on the next connection. Non-goal: two mcertd versions
 * with different libraries on one Redis (a rolling upgrade must keep
 * functions compatible).
 *
 * Ownership: the store owns its connection. `out` buffers given to a call
 * and privdata must stay valid until the callback runs; every call's
 * callback runs exactly once (also on failure and on mc_store_free, which
 * fails what is in flight). In async mode the callback never runs inside
 * the call that issued it.
 */
#ifndef MC_STORE_H
#define MC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mc_err.h"

struct redisAsyncContext;
struct redisReply;

typedef struct mc_store mc_store;

/* How the async store reaches its event loop (given by the server). */
typedef struct mc_store_loop {
    void *data;
    /* Tie ac to the loop (redisLibeventAttach). 0 / -1. */
    int (*attach)(struct redisAsyncContext *ac, void *data);
    /* Run fn(arg) on a later turn of the loop. 0 / -1 (out of memory). */
    int (*defer)(void *data, void (*fn)(void *arg), void *arg);
} mc_store_loop;

/* The result of a call: err->status is 0 on success, else the error. */
typedef void (*mc_store_cb)(void *privdata, const mc_err *err);

/* Async store; connects in the background. deadline_ms bounds how long a
 * command may stay unanswered. NULL with err only on out of memory. */
mc_store *mc_store_new(const char *host, int port, const mc_store_loop *loop,
                       int deadline_ms, mc_err *err);
/* Blocking store: connects now and loads the functions if Redis has none.
 * It never replaces another version (that is mcertd's to do) and refuses
 * to work with one: its functions may take other arguments.
 * NULL with err (503 store_unavailable) if Redis cannot be reached. */
mc_store *mc_store_open(const char *host, int port, int timeout_ms, mc_err *err);
/* Fails whatever is in flight (callbacks run, with 503), then frees.
 * Accepts NULL. */
void mc_store_free(mc_store *st);

/* Async mode: check deadlines and reconnect; call every ~100 ms. */
void mc_store_tick(mc_store *st);
/* 1 if a connection is up and has passed its version check (it may still
 * be hung: see the deadline). */
int mc_store_up(const mc_store *st);
/* Counters since start, for /healthz and tests. */
typedef struct mc_store_stats {
    uint64_t sent, failed, drops, reconnects, loads;
} mc_store_stats;
void mc_store_get_stats(const mc_store *st, mc_store_stats *out);

/* Blocking mode: the callback result of one call, for callers that wait
 * (mcertctl). cb = mc_store_sync_cb, privdata = an mc_err to fill. */
void mc_store_sync_cb(void *privdata, const mc_err *err);

#endif
