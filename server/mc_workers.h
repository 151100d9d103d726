/*
 * mc_workers.h — a bounded pool of threads for CPU work that must not run
 * on an event loop: anything longer than a signature verify (a scrypt
 * password check costs ~100 ms).
 *
 * Design: one pool per event loop (mc_node). A job's work runs on a pool
 * thread; its completion runs back on the loop, woken through a libevent
 * event activated from the thread (libevent is built thread-safe by
 * evthread_use_pthreads in main). The queue is bounded: a full queue is
 * refused at once, and the caller answers 503 `busy` with Retry-After, so a
 * flood of logins costs queue slots, not memory or the loop's time.
 *
 * Ownership: arg belongs to the caller; the pool only passes it. done runs
 * exactly once per accepted job: with ran = 1 after the work, or with
 * ran = 0 when the pool is freed before the work started (shutdown).
 */
#ifndef MC_WORKERS_H
#define MC_WORKERS_H

#include <event2/event.h>

typedef struct mc_workers mc_workers;
typedef void (*mc_work_fn)(void *arg);           /* on a pool thread */
typedef void (*mc_work_done)(void *arg, int ran); /* on the loop */

/* NULL on failure (threads or memory). */
mc_workers *mc_workers_new(struct event_base *base, int nthreads, int queue_max);
/* Joins the threads; calls done for every job not delivered yet. Call
 * from the loop's thread with the loop stopped. Accepts NULL. */
void mc_workers_free(mc_workers *w);
/* Queue a job. 0, or -1 if the queue is full (or out of memory). */
int mc_workers_submit(mc_workers *w, mc_work_fn fn, mc_work_done done, void *arg);
/* Jobs queued or running now. */
int mc_workers_load(mc_workers *w);

#endif
