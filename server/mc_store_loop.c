/*
 * mc_store_loop.c — the store's way onto a libevent loop (mc_store_loop,
 * core/store/mc_store.h): core has no libevent in it, so the server hands
 * it these two functions. Used by every mcertd loop and by the tests that
 * run a store on a loop of their own.
 */
#include "mc_store_loop.h"

#include <hiredis/adapters/libevent.h>
#include <stdlib.h>

static int loop_attach(struct redisAsyncContext *ac, void *data)
{
    return redisLibeventAttach(ac, data) == REDIS_OK ? 0 : -1;
}

typedef struct deferred {
    void (*fn)(void *);
    void *arg;
} deferred;

static void run_deferred(evutil_socket_t fd, short what, void *arg)
{
    deferred d = *(deferred *)arg;
    free(arg);
    d.fn(d.arg);
}

/* fn runs in this same turn of the loop, after the callback now running
 * (an activated event, not a timer): the store flushes the commands of a
 * whole turn with one write, before the loop polls again. */
static int loop_defer(void *data, void (*fn)(void *), void *arg)
{
    deferred *d = malloc(sizeof(*d));
    if (d == NULL)
        return -1;
    d->fn = fn;
    d->arg = arg;
    if (event_base_once(data, -1, EV_TIMEOUT, run_deferred, d, NULL) != 0) {
        free(d);
        return -1;
    }
    return 0;
}

mc_store_loop mc_store_loop_libevent(struct event_base *base)
{
    return (mc_store_loop){base, loop_attach, loop_defer};
}
