/*
 * mc_store_loop.h — the libevent adapter of the async store: attach a
 * hiredis context to a loop, run a function later in the same loop turn.
 */
#ifndef MC_STORE_LOOP_H
#define MC_STORE_LOOP_H

#include <event2/event.h>

#include "mc_store.h"

/* base is borrowed and must outlive every store given this. */
mc_store_loop mc_store_loop_libevent(struct event_base *base);

#endif
