/*
 * api/health.c — liveness and readiness.
 *
 *   GET /healthz  200 at once, always: the loop is alive. Never waits for
 *                 Redis; says whether the store connection is up right now
 *                 and how many long polls wait on this loop.
 *   GET /readyz   200 if Redis answers a PING within the store deadline,
 *                 else 503 store_unavailable (take the node out of a load
 *                 balancer's rotation).
 */
#include "mc_api.h"
#include "mc_events.h"
#include "mc_store_int.h"
#include "mc_workers.h"

void mc_api_healthz(mc_req *r)
{
    mc_store_stats s;
    mc_store_get_stats(r->node->store, &s);
    mc_reply_json(r, 200,
                  json_pack("{s:b, s:b, s:i, s:i, s:I, s:I}", "store", mc_store_up(r->node->store),
                            "events", mc_events_connected(r->node->events), "waiters",
                            (int)mc_events_nwaiters(r->node->events), "workers",
                            mc_workers_load(r->node->workers), "store_drops",
                            (json_int_t)s.drops, "store_failed", (json_int_t)s.failed));
}

static void ready_on_pong(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_reply_json(r, 200, json_pack("{s:b}", "ready", 1));
}

void mc_api_readyz(mc_req *r)
{
    mc_cmd c;
    mc_cmd_plain(&c, "PING");
    mc_store_call(r->node->store, &c, NULL, NULL, ready_on_pong, r);
}
