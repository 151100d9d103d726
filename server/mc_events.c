/*
 * mc_events.c — see mc_events.h.
 *
 * Table: 4096 buckets of doubly linked waiters (FNV-1a of the sid); O(1)
 * insert/remove, O(waiters of that sid) per event. One subscription per
 * event loop.
 */
#include "mc_events.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_session.h"
#include "mc_store_rec.h"

#define NBUCKETS 4096

struct mc_waiter {
    mc_events *ev;
    mc_waiter *prev, *next;
    struct event *timer;
    unsigned bucket;
    char sid[MC_SID_LEN + 1];
    mc_wake_cb cb;
    void *privdata;
};

struct mc_events {
    struct event_base *base;
    redisAsyncContext *ac;
    struct event *retry;      /* reconnect timer */
    char host[64];
    int port;
    int subscribed;
    int freeing;
    uint64_t epoch;           /* counts deliveries (events and resyncs) */
    mc_approval recent[MC_APPROVALS]; /* the last event of a sid, by its hash */
    size_t nwaiters;
    mc_waiter *buckets[NBUCKETS];
};

static unsigned bucket_of(const char *sid)
{
    return mc_sid_hash(sid) % NBUCKETS;
}

static void unlink_waiter(mc_waiter *w)
{
    mc_events *ev = w->ev;
    if (w->prev)
        w->prev->next = w->next;
    else
        ev->buckets[w->bucket] = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    ev->nwaiters--;
}

static void free_waiter(mc_waiter *w)
{
    if (w->timer)
        event_free(w->timer);
    free(w);
}

/* Fire a waiter: unlink first, then call, then free. */
static void fire(mc_waiter *w, mc_wake why, const char *state)
{
    unlink_waiter(w);
    w->cb(w->privdata, why, state);
    free_waiter(w);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    fire(arg, MC_WAKE_TIMEOUT, NULL);
}

/* Call and free every waiter of a detached list (linked by `next`). */
static void call_list(mc_waiter *list, mc_wake why, const char *state)
{
    while (list != NULL) {
        mc_waiter *w = list;
        list = w->next;
        w->cb(w->privdata, why, state);
        free_waiter(w);
    }
}

/* Detach all waiters, then call each (callbacks may re-wait: those new
 * waiters are not woken again by this call). O(buckets + waiters). */
static void wake_all(mc_events *ev, mc_wake why)
{
    ev->epoch++;
    mc_waiter *all = NULL;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        while (ev->buckets[b] != NULL) {
            mc_waiter *w = ev->buckets[b];
            unlink_waiter(w);
            w->next = all;
            all = w;
        }
    }
    call_list(all, why, NULL);
}

/* A direct-mapped memory of each sid's last event — its epoch, and for an
 * approval what it named (the slot of a sid is its hash): a later
 * collision just forgets, and a reader then does a read. An approval's
 * facts stay when a later event of the same sid carries none. */
static void remember_event(mc_events *ev, const char *sid, const char *purpose,
                           const char *account, const char *fp)
{
    mc_approval *a = &ev->recent[bucket_of(sid) % MC_APPROVALS];
    if (strcmp(a->sid, sid) != 0 || purpose[0] != '\0') {
        snprintf(a->purpose, sizeof(a->purpose), "%s", purpose);
        snprintf(a->account, sizeof(a->account), "%s", purpose[0] ? account : "");
        snprintf(a->fp, sizeof(a->fp), "%s", purpose[0] ? fp : "");
    }
    snprintf(a->sid, sizeof(a->sid), "%s", sid);
    a->epoch = ev->epoch;
}

const mc_approval *mc_events_approval(const mc_events *ev, const char *sid)
{
    const mc_approval *a = &ev->recent[bucket_of(sid) % MC_APPROVALS];
    return strcmp(a->sid, sid) == 0 && a->purpose[0] != '\0' ? a : NULL;
}

uint64_t mc_events_last(const mc_events *ev, const char *sid)
{
    const mc_approval *a = &ev->recent[bucket_of(sid) % MC_APPROVALS];
    return strcmp(a->sid, sid) == 0 ? a->epoch : 0;
}

static void connect_sub(mc_events *ev);

static void schedule_retry(mc_events *ev)
{
    struct timeval tv = {0, 500000};
    evtimer_add(ev->retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    connect_sub(arg);
}

static void on_message(redisAsyncContext *ac, void *r, void *privdata)
{
    mc_events *ev = privdata;
    redisReply *reply = r;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return; /* disconnect: handled by on_disconnect */
    redisReply *kind = reply->element[0], *msg = reply->element[2];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        ev->subscribed = 1;
        /* (Re)subscribed: whatever happened while we were away must be re-read. */
        wake_all(ev, MC_WAKE_RESYNC);
        return;
    }
    if (strcmp(kind->str, "message") != 0 || msg->type != REDIS_REPLY_STRING)
        return;
    /* "<sid> <state>[ <purpose> <account> <fp>]" */
    if (msg->len < MC_SID_LEN + 2 || msg->len > 200 || msg->str[MC_SID_LEN] != ' ')
        return;
    char sid[MC_SID_LEN + 1], rest[201], state[16] = "", purpose[8] = "",
                                          account[MC_ACCOUNT_MAX + 1] = "", fp[65] = "";
    memcpy(sid, msg->str, MC_SID_LEN);
    sid[MC_SID_LEN] = '\0';
    memcpy(rest, msg->str + MC_SID_LEN + 1, msg->len - MC_SID_LEN - 1);
    rest[msg->len - MC_SID_LEN - 1] = '\0';
    int nf = sscanf(rest, "%15s %7s %64s %64s", state, purpose, account, fp);
    if (nf < 1)
        return;
    ev->epoch++;
    remember_event(ev, sid, nf == 4 && strcmp(state, "approved") == 0 ? purpose : "", account,
                   fp);
    /* Detach every waiter of this sid first, then call them: a callback may
     * add a new waiter for the same sid (it re-waits), which must not be
     * woken by this same event. */
    unsigned b = bucket_of(sid);
    mc_waiter *hit = NULL;
    for (mc_waiter *w = ev->buckets[b], *next; w != NULL; w = next) {
        next = w->next;
        if (strcmp(w->sid, sid) == 0) {
            unlink_waiter(w);
            w->next = hit;
            hit = w;
        }
    }
    call_list(hit, MC_WAKE_EVENT, state);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    mc_events *ev = ac->data;
    ev->ac = NULL;
    ev->subscribed = 0;
    if (!ev->freeing) {
        fprintf(stderr, "mcertd: event subscription lost; reconnecting\n");
        schedule_retry(ev);
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    mc_events *ev = ac->data;
    if (status != REDIS_OK) {
        ev->ac = NULL;
        schedule_retry(ev);
    }
}

static void connect_sub(mc_events *ev)
{
    redisAsyncContext *ac = redisAsyncConnect(ev->host, ev->port);
    if (ac == NULL || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(ev);
        return;
    }
    ac->data = ev;
    redisLibeventAttach(ac, ev->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    redisAsyncCommand(ac, on_message, ev, "SUBSCRIBE %s", MC_EVENTS_CHANNEL);
    ev->ac = ac;
}

mc_events *mc_events_new(struct event_base *base, const char *host, int port, mc_err *err)
{
    mc_events *ev = calloc(1, sizeof(*ev));
    if (ev == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    ev->base = base;
    snprintf(ev->host, sizeof(ev->host), "%s", host);
    ev->port = port;
    ev->retry = evtimer_new(base, on_retry, ev);
    if (ev->retry == NULL) {
        free(ev);
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    connect_sub(ev);
    return ev;
}

void mc_events_free(mc_events *ev)
{
    if (ev == NULL)
        return;
    ev->freeing = 1;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        while (ev->buckets[b] != NULL) {
            mc_waiter *w = ev->buckets[b];
            unlink_waiter(w);
            free_waiter(w);
        }
    }
    if (ev->ac)
        redisAsyncFree(ev->ac);
    event_free(ev->retry);
    free(ev);
}

mc_waiter *mc_events_wait(mc_events *ev, const char *sid, int timeout_ms, mc_wake_cb cb,
                          void *privdata)
{
    mc_waiter *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->ev = ev;
    snprintf(w->sid, sizeof(w->sid), "%s", sid);
    w->cb = cb;
    w->privdata = privdata;
    w->timer = evtimer_new(ev->base, on_timeout, w);
    if (w->timer == NULL) {
        free(w);
        return NULL;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(w->timer, &tv);
    w->bucket = bucket_of(sid);
    w->next = ev->buckets[w->bucket];
    if (w->next)
        w->next->prev = w;
    ev->buckets[w->bucket] = w;
    ev->nwaiters++;
    return w;
}

void mc_waiter_cancel(mc_waiter *w)
{
    if (w == NULL)
        return;
    unlink_waiter(w);
    free_waiter(w);
}

uint64_t mc_events_epoch(const mc_events *ev)
{
    return ev->epoch;
}

size_t mc_events_count(const mc_events *ev, const char *sid)
{
    size_t n = 0;
    for (const mc_waiter *w = ev->buckets[bucket_of(sid)]; w != NULL; w = w->next)
        n += strcmp(w->sid, sid) == 0;
    return n;
}

size_t mc_events_nwaiters(const mc_events *ev)
{
    return ev->nwaiters;
}

int mc_events_connected(const mc_events *ev)
{
    return ev->subscribed;
}
