/*
 * mc_testfault.h — faults between mcertd and Redis, for the integration
 * tests of tests/test_faults.c: a TCP proxy that can lose a reply after the
 * command that produced it has run.
 *
 * Why: "the write ran but its reply never came back" is the case that makes
 * a retrying client apply a write twice (or lose it). It cannot be made with
 * signals on redis-server (a stopped Redis runs nothing); it needs something
 * on the wire that lets the command through and drops what comes back.
 *
 * Design: one thread, poll(2) over a listening socket on a free loopback
 * port and over every accepted connection and its upstream connection to
 * the real Redis (blocking connect per accept). Bytes client→Redis are
 * always forwarded. Bytes Redis→client are forwarded, except once a
 * connection is *lost*: then everything Redis sends on it is read and
 * discarded, for the rest of its life (its reply stream has a hole, so no
 * later byte on it could be trusted either). A connection becomes lost when
 * the proxy is armed (mc_testfault_proxy_lose_reply) and a chunk arrives
 * from Redis while the caller's predicate says the write has happened, on
 * the connection that sent the latest command and that is not a pub/sub
 * subscriber (it sent no SUBSCRIBE): the chunk that carries the write's
 * reply is the first one dropped. Exactly one
 * connection is lost per arming; every other connection, and every new one,
 * forwards normally, so the client recovers by making a new connection.
 *
 * The predicate runs on the proxy thread, once per Redis→client chunk while
 * armed; it must not touch cmocka (no assertions) and should query Redis
 * directly (not through the proxy). Redis executes a command before it
 * writes its reply, so a predicate that looks at the data set sees the write
 * by the time its reply reaches the proxy.
 *
 * Non-goals: delays, partial writes, client→Redis faults, TLS, more than
 * MC_TESTFAULT_CONNS connections at once (further accepts are closed).
 *
 * Ownership: the caller owns the proxy; mc_testfault_proxy_free (NULL-safe)
 * stops the thread and closes every socket. Start it before the process that
 * uses it and free it after that process is gone.
 */
#ifndef MC_TESTFAULT_H
#define MC_TESTFAULT_H

#define MC_TESTFAULT_CONNS 64

typedef struct mc_testfault_proxy mc_testfault_proxy;

/* 1 when the write the caller waits for has been applied, else 0. */
typedef int (*mc_testfault_pred)(void *arg);

/* Listen on a free 127.0.0.1 port and forward to 127.0.0.1:upstream_port.
 * Fails the test (fail_msg) if it cannot start. */
mc_testfault_proxy *mc_testfault_proxy_start(int upstream_port);
void mc_testfault_proxy_free(mc_testfault_proxy *p);

int mc_testfault_proxy_port(const mc_testfault_proxy *p);

/* Arm: the first Redis→client chunk that arrives while written(arg) is 1
 * is dropped, and so is everything after it on that connection. arg is
 * borrowed until the proxy has fired or is freed. Re-arming replaces an
 * arming that has not fired. */
void mc_testfault_proxy_lose_reply(mc_testfault_proxy *p, mc_testfault_pred written,
                                   void *arg);

/* How many connections have been made lost so far. */
int mc_testfault_proxy_lost(mc_testfault_proxy *p);

#endif
