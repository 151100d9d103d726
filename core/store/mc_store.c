/*
 * mc_store.c — the transport (see mc_store.h for the contract).
 *
 * Async mode keeps its own FIFO of the commands in flight on the current
 * connection (struct pend), in send order: Redis answers in that order, so
 * the head is always the next reply and the oldest command (its age is the
 * deadline check, O(1) per tick). Each pend is one allocation freed in the
 * hiredis callback of its command, which hiredis calls exactly once: with
 * the reply, or with NULL when the context goes away. When the connection
 * is given up, every pend in the FIFO is failed at once and "orphaned"
 * (pend->st = NULL): hiredis's later NULL callback then only frees it.
 *
 * A new connection is not used until it passed its version check (or the
 * library was loaded): commands made meanwhile wait in a second FIFO
 * (formatted, owned), under the same deadline, and go out in order once it
 * is ready — so no command ever meets a missing or foreign library.
 *
 * Dropping a connection: the context is detached first (data and callbacks
 * cleared), then redisAsyncFree'd; hiredis defers the free while it is
 * inside one of our callbacks, which is safe because nothing of ours is
 * reachable from the detached context any more.
 */
#include "mc_store_int.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

typedef enum pend_kind {
    PEND_USER,
    PEND_VERSION,   /* the version check sent first on a connection */
    PEND_LOAD,      /* FUNCTION LOAD REPLACE */
    PEND_FAILED,    /* never sent: failed on a later loop turn */
} pend_kind;

typedef struct pend {
    struct pend *next;
    mc_store *st;          /* NULL once orphaned */
    pend_kind kind;
    mc_reply_fn parse;
    void *out;
    mc_store_cb cb;
    void *privdata;
    int64_t sent_ms;
    char *fmt;             /* waiting: the formatted command (owned) */
    int fmtlen;
    mc_err err;            /* PEND_FAILED: what to report */
} pend;

struct mc_store {
    int async;
    char host[64];
    int port;
    int deadline_ms;
    mc_store_loop loop;
    redisAsyncContext *ac;     /* async: current connection, NULL when down */
    redisContext *c;           /* blocking: connection, NULL when down */
    int timeout_ms;            /* blocking */
    pend *head, *tail;         /* in flight on ac, oldest first */
    pend *whead, *wtail;       /* waiting for ac to be ready (not sent yet) */
    int ready;                 /* ac passed its version check (or load) */
    int loading;               /* a FUNCTION LOAD is in flight on ac */
    struct flush_tok *flush;   /* a flush is scheduled for this loop turn */
    int backoff_ms;
    int64_t next_try_ms;       /* background reconnect, after the back-off */
    int64_t last_try_ms;       /* last connection attempt */
    mc_store_stats stats;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- commands ---- */

void mc_cmd_plain(mc_cmd *c, const char *name)
{
    c->argc = 0;
    mc_cmd_add(c, name);
}

void mc_cmd_fcall(mc_cmd *c, const char *fn, int nkeys, int ro)
{
    mc_cmd_plain(c, ro ? "FCALL_RO" : "FCALL");
    mc_cmd_add(c, fn);
    mc_cmd_addi(c, nkeys);
}

void mc_cmd_addn(mc_cmd *c, const void *p, size_t n)
{
    if (c->argc >= MC_CMD_MAX)
        abort(); /* a family built too long a command: a bug */
    c->argv[c->argc] = p;
    c->len[c->argc] = n;
    c->argc++;
}

void mc_cmd_add(mc_cmd *c, const char *s)
{
    mc_cmd_addn(c, s, strlen(s));
}

void mc_cmd_addi(mc_cmd *c, long long v)
{
    if (c->argc >= MC_CMD_MAX)
        abort();
    int n = snprintf(c->nums[c->argc], sizeof(c->nums[0]), "%lld", v);
    mc_cmd_addn(c, c->nums[c->argc], (size_t)n);
}

const char *mc_key(char *buf, size_t size, const char *kind, const char *id)
{
    snprintf(buf, size, "{mc}:%s:%s", kind, id);
    return buf;
}

/* ---- error replies ---- */

/* Wire codes a function may refuse with, and their HTTP status. */
static const struct {
    const char *code;
    int status;
} codes[] = {
    {"unknown_session", 404}, {"session_expired", 410}, {"session_done", 409},
    {"purpose_mismatch", 409}, {"account_mismatch", 409}, {"not_found", 404},
    {"cert_revoked", 403},    {"cert_bound", 409},      {"account_bound", 409},
    {"org_mismatch", 403},    {"not_bound", 404},       {"not_permitted", 403},
    {"org_exists", 409},      {"account_exists", 409},  {"cert_exists", 409},
    {"sid_collision", 503},   {"bad_poll_secret", 403}, {"unauthorized", 401},
    {"stale", 503},           {"replayed", 409},        {"cert_expired", 403},
    {"apikey_exists", 409},   {"apikey_revoked", 409},
    /* enrollment (lua/enroll.lua) */
    {"no_activation", 404},   {"activation_locked", 403}, {"activation_expired", 410},
    {"activation_used", 409}, {"app_mismatch", 409},   {"too_many_reissues", 409},
    /* applications (lua/apply.lua) */
    {"bad_transition", 409},  {"too_many_attempts", 429}, {"id_collision", 503},
    /* payments (lua/pay.lua) */
    {"unknown_order", 404},   {"order_expired", 409},   {"amount_mismatch", 409},
    {"provider_mismatch", 409}, {"order_collision", 503}, /* and bad_transition, above */
    /* invoices (lua/invoice.lua); invoice_open also refuses refunds */
    {"invoice_exists", 409},  {"order_not_paid", 409},  {"too_many_titles", 409},
    {"invoice_open", 409},
    /* renewals (lua/renew.lua) */
    {"cert_superseded", 403}, {"renewal_open", 409},   {"not_current_cert", 403},
    {"binding_changed", 409},
};

void mc_store_err_map(const char *text, size_t len, mc_err *err)
{
    /* Redis 7 prefixes a function's error_reply text with "ERR " */
    if (len > 4 && memcmp(text, "ERR ", 4) == 0) {
        text += 4;
        len -= 4;
    }
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        size_t n = strlen(codes[i].code);
        if (len >= n && memcmp(text, codes[i].code, n) == 0 && (len == n || text[n] == ' ')) {
            mc_err_set(err, codes[i].status, codes[i].code, "%s", codes[i].code);
            return;
        }
    }
    mc_err_set(err, 503, "store_unavailable", "record store refused: %.*s",
               (int)(len > 100 ? 100 : len), text);
}

static int is_missing_function(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strstr(r->str, "Function not found") != NULL;
}

/* Map one reply for its caller: 0 ok, -1 err set, MC_REPLY_SHAPE. */
static int map_reply(const redisReply *r, mc_reply_fn parse, void *out, mc_err *err)
{
    if (r->type == REDIS_REPLY_ERROR) {
        mc_store_err_map(r->str, r->len, err);
        return -1;
    }
    int rc = parse ? parse(r, out, err) : 0;
    if (rc == MC_REPLY_SHAPE)
        mc_err_set(err, 503, "store_unavailable", "record store reply of unexpected shape");
    return rc;
}

void mc_store_sync_cb(void *privdata, const mc_err *err)
{
    *(mc_err *)privdata = *err;
}

/* ---- async: the FIFO and the connection ---- */

static void list_push(pend **head, pend **tail, pend *p)
{
    p->next = NULL;
    if (*tail)
        (*tail)->next = p;
    else
        *head = p;
    *tail = p;
}

static void fifo_push(mc_store *st, pend *p)
{
    list_push(&st->head, &st->tail, p);
}

static void fifo_pop(mc_store *st)
{
    st->head = st->head->next;
    if (st->head == NULL)
        st->tail = NULL;
}

static void deliver(pend *p, const mc_err *err)
{
    if (p->kind == PEND_USER || p->kind == PEND_FAILED)
        p->cb(p->privdata, err);
}

/* Fail and orphan every command in flight (their hiredis callbacks will
 * only free them). st->ac must already be NULL: callbacks may call again. */
static void fail_in_flight(mc_store *st, const char *why)
{
    pend *list = st->head, *waiting = st->whead;
    st->head = st->tail = NULL;
    st->whead = st->wtail = NULL;
    st->loading = 0;
    st->ready = 0;
    mc_err err;
    mc_err_set(&err, 503, "store_unavailable", "record store unavailable: %s", why);
    for (pend *p = list; p != NULL; p = p->next) {
        p->st = NULL;
        st->stats.failed += p->kind == PEND_USER;
    }
    for (pend *p = list, *next; p != NULL; p = next) {
        next = p->next; /* p stays allocated until its hiredis callback */
        deliver(p, &err);
    }
    for (pend *p = waiting, *next; p != NULL; p = next) {
        next = p->next; /* never sent: no hiredis callback will come */
        st->stats.failed++;
        deliver(p, &err);
        redisFreeCommand(p->fmt);
        free(p);
    }
}

static void schedule_retry(mc_store *st)
{
    st->backoff_ms = st->backoff_ms ? st->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (st->backoff_ms > BACKOFF_MAX_MS)
        st->backoff_ms = BACKOFF_MAX_MS;
    st->next_try_ms = mono_ms() + st->backoff_ms;
}

/* The connection went away by itself (hiredis is freeing it). */
static void conn_lost(mc_store *st, const char *why)
{
    redisAsyncContext *ac = st->ac;
    if (ac == NULL)
        return;
    st->ac = NULL;
    ac->data = NULL;
    ac->onConnect = NULL;
    ac->onDisconnect = NULL;
    st->stats.drops++;
    schedule_retry(st);
    fail_in_flight(st, why);
}

/* We give the connection up: its reply order is in doubt. */
static void conn_kill(mc_store *st, const char *why)
{
    redisAsyncContext *ac = st->ac;
    if (ac == NULL)
        return;
    conn_lost(st, why);
    fprintf(stderr, "mcertd: store connection dropped: %s\n", why);
    redisAsyncFree(ac); /* deferred by hiredis if inside its callback */
}

static void send_internal(mc_store *st, pend_kind kind);
static void conn_ready(mc_store *st);
static void schedule_flush(mc_store *st);

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    pend *p = privdata;
    mc_store *st = p->st;
    redisReply *r = reply;
    if (st == NULL) { /* orphaned: already failed */
        free(p);
        return;
    }
    if (r == NULL) { /* the context is going away */
        conn_lost(st, "connection lost");
        free(p);
        return;
    }
    if (st->head != p) { /* cannot happen: replies come in order */
        conn_kill(st, "reply out of order");
        free(p);
        return;
    }
    fifo_pop(st);
    st->backoff_ms = 0;
    mc_err err;
    mc_err_clear(&err);
    if (p->kind == PEND_VERSION) {
        int same = r->type == REDIS_REPLY_STRING && strcmp(r->str, mc_lua_version) == 0;
        if (same)
            conn_ready(st);
        else if (!st->loading)
            send_internal(st, PEND_LOAD);
    } else if (p->kind == PEND_LOAD) {
        st->loading = 0;
        if (r->type == REDIS_REPLY_ERROR)
            fprintf(stderr, "mcertd: FUNCTION LOAD failed: %.200s\n", r->str);
        else
            st->stats.loads++;
        if (!st->ready)
            conn_ready(st);
    } else {
        if (is_missing_function(r) && !st->loading)
            send_internal(st, PEND_LOAD);
        int rc = map_reply(r, p->parse, p->out, &err);
        if (rc == MC_REPLY_SHAPE)
            conn_kill(st, "reply of unexpected shape");
        if (rc != 0)
            st->stats.failed++;
        deliver(p, &err);
    }
    free(p);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    mc_store *st = ac->data;
    if (st != NULL && status != REDIS_OK)
        conn_lost(st, "cannot connect"); /* hiredis frees ac after this */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    mc_store *st = ac->data;
    if (st != NULL)
        conn_lost(st, "disconnected");
}

/* The bookkeeping of a command just handed to ac. */
static void sent(mc_store *st, pend *p)
{
    fifo_push(st, p);
    st->stats.sent++;
    schedule_flush(st);
}

/* Send a command formatted earlier (it waited for the connection). 0 / -1. */
static int send_fmt(mc_store *st, pend *p, const char *fmt, int len)
{
    p->st = st;
    if (redisAsyncFormattedCommand(st->ac, on_reply, p, fmt, (size_t)len) != REDIS_OK)
        return -1;
    sent(st, p);
    return 0;
}

/* Send now: hiredis formats straight into its output buffer. 0 / -1. */
static int send_pend(mc_store *st, pend *p, int argc, const char *const *argv,
                     const size_t *lens)
{
    p->st = st;
    p->sent_ms = mono_ms();
    if (redisAsyncCommandArgv(st->ac, on_reply, p, argc, (const char **)argv, lens) != REDIS_OK)
        return -1;
    sent(st, p);
    return 0;
}

/* The connection passed its version check (or loaded the library): send
 * what waited for it, in order. */
static void conn_ready(mc_store *st)
{
    st->ready = 1;
    pend *list = st->whead;
    st->whead = st->wtail = NULL;
    for (pend *p = list, *next; p != NULL; p = next) {
        next = p->next;
        int rc = st->ac ? send_fmt(st, p, p->fmt, p->fmtlen) : -1;
        redisFreeCommand(p->fmt);
        p->fmt = NULL;
        if (rc != 0) {
            mc_err err;
            mc_err_set(&err, 503, "store_unavailable", "record store unavailable: cannot send");
            st->stats.failed++;
            deliver(p, &err);
            free(p);
        }
    }
}

/* Keep a command until the connection is ready. 0 / -1. */
static int wait_ready(mc_store *st, pend *p, int argc, const char *const *argv,
                      const size_t *lens)
{
    p->fmtlen = redisFormatCommandArgv(&p->fmt, argc, (const char **)argv, lens);
    if (p->fmtlen < 0)
        return -1;
    p->st = st;
    p->sent_ms = mono_ms();
    list_push(&st->whead, &st->wtail, p);
    return 0;
}

static void send_internal(mc_store *st, pend_kind kind)
{
    pend *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return;
    p->kind = kind;
    mc_cmd c;
    p->sent_ms = mono_ms();
    if (kind == PEND_VERSION) {
        mc_cmd_fcall(&c, "mc_version", 0, 1);
    } else {
        mc_cmd_plain(&c, "FUNCTION");
        mc_cmd_add(&c, "LOAD");
        mc_cmd_add(&c, "REPLACE");
        mc_cmd_addn(&c, mc_lua_src, mc_lua_len);
        st->loading = 1;
    }
    if (send_pend(st, p, c.argc, c.argv, c.len) != 0)
        free(p);
}

static void conn_open(mc_store *st)
{
    st->last_try_ms = mono_ms();
    redisAsyncContext *ac = redisAsyncConnect(st->host, st->port);
    if (ac == NULL || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(st);
        return;
    }
    ac->data = st;
    if (st->loop.attach(ac, st->loop.data) != 0) {
        ac->data = NULL;
        redisAsyncFree(ac);
        schedule_retry(st);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    st->ac = ac;
    st->ready = 0;
    st->stats.reconnects++;
    send_internal(st, PEND_VERSION);
}

/* ---- write-through: one write per loop turn ----
 * hiredis's adapter would write a command on the next turn of the loop,
 * after polling for writability: two epoll_ctl and a wake-up per command.
 * Instead the commands of a turn are written at its end (deferred), while
 * the socket's write interest was added and removed in the same turn,
 * which libevent's change list folds into no system call at all. */
typedef struct flush_tok {
    mc_store *st;              /* NULL once the store is freed */
} flush_tok;

static void run_flush(void *arg)
{
    flush_tok *t = arg;
    mc_store *st = t->st;
    free(t);
    if (st == NULL)
        return;
    st->flush = NULL;
    if (st->ac != NULL && (st->ac->c.flags & REDIS_CONNECTED))
        redisAsyncHandleWrite(st->ac);
}

static void schedule_flush(mc_store *st)
{
    if (st->flush != NULL)
        return;
    flush_tok *t = malloc(sizeof(*t));
    if (t == NULL)
        return; /* the adapter still writes on the next turn */
    t->st = st;
    if (st->loop.defer(st->loop.data, run_flush, t) != 0) {
        free(t);
        return;
    }
    st->flush = t;
}

static void run_failed(void *arg)
{
    pend *p = arg;
    deliver(p, &p->err);
    free(p);
}

/* Fail a call on a later loop turn (never inside the call). */
static void fail_later(mc_store *st, pend *p, const char *why)
{
    p->kind = PEND_FAILED;
    mc_err_set(&p->err, 503, "store_unavailable", "record store unavailable: %s", why);
    st->stats.failed++;
    if (st->loop.defer(st->loop.data, run_failed, p) != 0)
        run_failed(p);
}

/* ---- blocking mode ---- */

static int blocking_connect(mc_store *st, mc_err *err);

static void blocking_drop(mc_store *st)
{
    if (st->c)
        redisFree(st->c);
    st->c = NULL;
}

static void blocking_call(mc_store *st, int argc, const char *const *argv, const size_t *lens,
                          mc_reply_fn parse, void *out, mc_store_cb cb, void *privdata)
{
    mc_err err;
    mc_err_clear(&err);
    redisReply *r = NULL;
    if (st->c != NULL || blocking_connect(st, &err) == 0) {
        r = redisCommandArgv(st->c, argc, (const char **)argv, lens);
        if (r == NULL) {
            mc_err_set(&err, 503, "store_unavailable", "record store unavailable: %s",
                       st->c->errstr);
            blocking_drop(st);
        } else if (map_reply(r, parse, out, &err) == MC_REPLY_SHAPE) {
            blocking_drop(st);
        }
    }
    if (r)
        freeReplyObject(r);
    cb(privdata, &err);
}

static int blocking_connect(mc_store *st, mc_err *err)
{
    struct timeval tv = {st->timeout_ms / 1000, (st->timeout_ms % 1000) * 1000};
    st->c = redisConnectWithTimeout(st->host, st->port, tv);
    if (st->c == NULL || st->c->err) {
        mc_err_set(err, 503, "store_unavailable", "redis %s:%d: %s", st->host, st->port,
                   st->c ? st->c->errstr : "cannot allocate");
        blocking_drop(st);
        return -1;
    }
    redisSetTimeout(st->c, tv);
    /* A blocking client (mcertctl, tests) loads the library only where
     * there is none: the servers own it, and an older mcertctl must never
     * replace a newer server's library (nor ping-pong with it). */
    redisReply *r = redisCommand(st->c, "FCALL_RO mc_version 0");
    int missing = r == NULL || r->type == REDIS_REPLY_ERROR;
    int other = !missing && (r->type != REDIS_REPLY_STRING || strcmp(r->str, mc_lua_version) != 0);
    if (r)
        freeReplyObject(r);
    if (other) {
        /* its functions may take other arguments: writing through them
         * could corrupt records */
        mc_err_set(err, 503, "store_unavailable",
                   "Redis holds another version of the mcert functions: start this "
                   "version's mcertd first (it loads them), then retry");
        blocking_drop(st);
        return -1;
    }
    if (!missing)
        return 0;
    const char *argv[] = {"FUNCTION", "LOAD", mc_lua_src};
    size_t lens[] = {8, 4, mc_lua_len};
    r = redisCommandArgv(st->c, 3, argv, lens);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        mc_err_set(err, 503, "store_unavailable", "FUNCTION LOAD: %.100s",
                   r ? r->str : st->c->errstr);
        if (r)
            freeReplyObject(r);
        blocking_drop(st);
        return -1;
    }
    freeReplyObject(r);
    st->stats.loads++;
    return 0;
}

/* ---- public ---- */

void mc_store_call(mc_store *st, const mc_cmd *c, mc_reply_fn parse, void *out, mc_store_cb cb,
                   void *privdata)
{
    mc_store_callv(st, c->argc, c->argv, c->len, parse, out, cb, privdata);
}

void mc_store_fcall_keys(mc_store *st, const char *fn, size_t n, mc_key_at_fn key_at,
                         const void *arg, mc_reply_fn parse, void *out, mc_store_cb cb,
                         void *privdata)
{
    char (*keys)[64] = calloc(n + 1, sizeof(*keys));
    const char **argv = calloc(n + 3, sizeof(*argv));
    size_t *lens = calloc(n + 3, sizeof(*lens));
    char nk[24];
    if (keys == NULL || argv == NULL || lens == NULL)
        abort(); /* out of memory */
    snprintf(nk, sizeof(nk), "%zu", n);
    argv[0] = "FCALL_RO";
    argv[1] = fn;
    argv[2] = nk;
    for (size_t i = 0; i < n; i++) {
        key_at(arg, i, keys[i], sizeof(keys[i]));
        argv[3 + i] = keys[i];
    }
    for (size_t i = 0; i < n + 3; i++)
        lens[i] = strlen(argv[i]);
    mc_store_callv(st, (int)(n + 3), argv, lens, parse, out, cb, privdata);
    free(keys);
    free(argv);
    free(lens);
}

void mc_store_callv(mc_store *st, int argc, const char *const *argv, const size_t *lens,
                    mc_reply_fn parse, void *out, mc_store_cb cb, void *privdata)
{
    if (!st->async) {
        blocking_call(st, argc, argv, lens, parse, out, cb, privdata);
        return;
    }
    pend *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        mc_err err;
        mc_err_set(&err, 503, "store_unavailable", "out of memory");
        cb(privdata, &err); /* no memory to defer with: the one exception */
        return;
    }
    p->kind = PEND_USER;
    p->parse = parse;
    p->out = out;
    p->cb = cb;
    p->privdata = privdata;
    /* Demand reconnects at once (at most every BACKOFF_MIN_MS): a loop that
     * saw no traffic during an outage must not fail its first requests
     * for a whole back-off. The command then waits for the connection,
     * within the deadline. */
    if (st->ac == NULL && mono_ms() - st->last_try_ms >= BACKOFF_MIN_MS)
        conn_open(st);
    if (st->ac == NULL) {
        fail_later(st, p, "not connected");
        return;
    }
    int rc = st->ready ? send_pend(st, p, argc, argv, lens) : wait_ready(st, p, argc, argv, lens);
    if (rc != 0)
        fail_later(st, p, "cannot send");
}

mc_store *mc_store_new(const char *host, int port, const mc_store_loop *loop, int deadline_ms,
                       mc_err *err)
{
    mc_store *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    st->async = 1;
    snprintf(st->host, sizeof(st->host), "%s", host);
    st->port = port;
    st->deadline_ms = deadline_ms > 0 ? deadline_ms : 2000;
    st->loop = *loop;
    conn_open(st);
    return st;
}

mc_store *mc_store_open(const char *host, int port, int timeout_ms, mc_err *err)
{
    mc_store *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    snprintf(st->host, sizeof(st->host), "%s", host);
    st->port = port;
    st->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    if (blocking_connect(st, err) != 0) {
        free(st);
        return NULL;
    }
    return st;
}

void mc_store_free(mc_store *st)
{
    if (st == NULL)
        return;
    if (st->flush)
        st->flush->st = NULL;
    if (st->async) {
        redisAsyncContext *ac = st->ac;
        conn_lost(st, "shutting down");
        if (ac)
            redisAsyncFree(ac);
    }
    blocking_drop(st);
    free(st);
}

void mc_store_tick(mc_store *st)
{
    if (!st->async)
        return;
    int64_t now_ms = mono_ms(); /* deadlines are on the monotonic clock */
    int64_t oldest = st->head ? st->head->sent_ms : st->whead ? st->whead->sent_ms : now_ms;
    if (st->ac != NULL && now_ms - oldest > st->deadline_ms)
        conn_kill(st, "no reply within the deadline");
    if (st->ac == NULL && now_ms >= st->next_try_ms)
        conn_open(st);
}

int mc_store_up(const mc_store *st)
{
    return st->async ? st->ac != NULL && st->ready : st->c != NULL;
}

void mc_store_get_stats(const mc_store *st, mc_store_stats *out)
{
    *out = st->stats;
}
