/*
 * mc_events.h — wake-ups for long polls, driven by Redis pub/sub.
 *
 * Why: a browser waits for its session to change state while the phone's
 * answer may reach any node. Every state change is published (by the same
 * Lua script that makes it) on MC_EVENTS_CHANNEL as "<sid> <state>" (an
 * approval adds " <purpose> <account> <fp>"); each
 * event loop holds one asynchronous subscription (hiredis async + libevent
 * adapter) and a table of local waiters keyed by sid, so a wake-up costs one
 * hash lookup — no polling, no sleep loops.
 *
 * If the subscription drops, it is re-established (every 500 ms until it
 * works) and then every waiter is woken with MC_WAKE_RESYNC so that it
 * re-reads its session: no event lost during the gap goes unnoticed.
 *
 * Ownership: a waiter belongs to mc_events from mc_events_wait until its
 * callback runs (then it is freed, after the callback) or until
 * mc_waiter_cancel (freed at once). The callback must not cancel its own
 * waiter.
 */
#ifndef MC_EVENTS_H
#define MC_EVENTS_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_err.h"
#include "mc_session.h"

typedef struct mc_events mc_events;
typedef struct mc_waiter mc_waiter;

typedef enum mc_wake {
    MC_WAKE_EVENT,    /* a state change was published for the sid */
    MC_WAKE_TIMEOUT,  /* the wait's deadline passed */
    MC_WAKE_RESYNC,   /* the subscription was re-established; re-check */
} mc_wake;

/* Called on the event loop thread. `state` is the published state for
 * MC_WAKE_EVENT (valid only during the call), else NULL. */
typedef void (*mc_wake_cb)(void *privdata, mc_wake why, const char *state);

mc_events *mc_events_new(struct event_base *base, const char *redis_host, int redis_port,
                         mc_err *err);
void mc_events_free(mc_events *ev); /* wakes nobody; frees all waiters */

/* Wait for an event on sid for at most timeout_ms. NULL only on OOM. */
mc_waiter *mc_events_wait(mc_events *ev, const char *sid, int timeout_ms, mc_wake_cb cb,
                          void *privdata);
void mc_waiter_cancel(mc_waiter *w);

/* What an approval's event said (published by the approving function):
 * a hint of which account and certificate to name when collecting the
 * login, so that a poll needs no read first. Only a hint: the store
 * function that uses it checks it against the session. */
#define MC_APPROVALS 1024
typedef struct mc_approval {
    char sid[MC_SID_LEN + 1];
    uint64_t epoch;               /* of the last event for sid (any state) */
    char purpose[8];
    char account[MC_ACCOUNT_MAX + 1];
    char fp[65];
} mc_approval;
/* The last approval heard for sid on this loop, or NULL. Valid until the
 * next event. */
const mc_approval *mc_events_approval(const mc_events *ev, const char *sid);
/* The epoch (mc_events_epoch) of the last event heard for sid, 0 if none
 * is remembered. A reader that read a session at epoch E and sees a later
 * value here must read again before it waits: the event came between its
 * read and its wait (events and replies arrive on different connections). */
uint64_t mc_events_last(const mc_events *ev, const char *sid);

size_t mc_events_nwaiters(const mc_events *ev);
/* Waiters of one sid on this loop. O(waiters in its bucket). */
size_t mc_events_count(const mc_events *ev, const char *sid);
/* A number that changes with every delivery (one event's waiters, or a
 * resync): callbacks run by the same delivery see the same value, so they
 * may share one read of the session made after it. */
uint64_t mc_events_epoch(const mc_events *ev);
int mc_events_connected(const mc_events *ev);

#endif
