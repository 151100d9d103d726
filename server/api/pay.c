/*
 * api/pay.c — paying an application's fee through a payment provider
 * (PROTOCOL.md §9.6):
 *
 *   POST /api/v1/applications/:id/pay        the order (30 min) + where to pay
 *   GET  /api/v1/orders/:oid                 an order, for the application's readers
 *   POST /api/v1/payments/:provider/callback a provider's signed notice
 *   GET  /pay/sandbox?order=                 the sandbox's 收银台 (mc_pages.c)
 *   POST /pay/sandbox/:oid/confirm           the sandbox provider pays
 *   mc_pay_refund()                          (C) refund a refund_pending order
 *
 * Design. A provider is a table of four operations (pay_ops): create an
 * order at the provider and say where the payer goes (its cashier), verify
 * a notice's signature, and ask for a refund — whose answer comes back
 * later as a notice. Every notice, whoever delivers it, goes through ONE
 * path (notice_apply): provider -> signature over the raw bytes -> strict
 * parse -> freshness (core/domain/mc_pay.h) -> the order -> pay_notify, the
 * one Redis Function (lua/pay.lua) that makes the order paid and the
 * application pending_review together, idempotently. The sandbox's own
 * "payment" (confirm) and "refund" build a notice, sign it with the
 * sandbox's key and hand it to that same path: nothing the sandbox does
 * skips a check an outside provider's notice meets.
 *
 * A real provider (Alipay / WeChat Pay style) adds a pay_ops: create makes
 * its prepay call and returns its cashier URL (that call being network I/O,
 * it becomes asynchronous then: create takes a callback), verify checks its
 * signature scheme, refund calls its refund API; its notices arrive at
 * /api/v1/payments/<name>/callback, are acknowledged 200 only once applied,
 * and a repeated one is answered the same (providers retry until 200).
 *
 * Keys: each provider keyed by HMAC has DATA/pay/<name>.key — 64 hex
 * characters (32 random bytes), created 0600 at the first start if missing
 * (written aside and linked into place, so that loops and processes
 * starting together agree on one key), read once per loop at start.
 *
 * Refunds. APP's withdraw/reject marks a paid order refund_pending (and
 * queues it in {mc}:refundq) in its own Redis Function, then calls
 * mc_pay_refund(). That records the refund request id once
 * (pay_refund_start) and asks the provider; the sandbox answers on a later
 * turn of the loop with a signed refunded notice through notice_apply. If
 * mcertd stops first, the order stays refund_pending and queued: loop 0 of
 * every mcertd sweeps the queue 1 s after its start and every 60 s after
 * (orders queued 60 s or longer), asking again — harmless, as notices are
 * idempotent by (order, amount, status).
 *
 * Non-goals: partial refunds; several orders of one application open at
 * once (its current one is returned until it expires); real providers.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mc_api.h"
#include "mc_apply.h"
#include "mc_crypto.h"
#include "mc_pay.h"
#include "mc_store_pay.h"

#define PAY_SWEEP_FIRST_S 1      /* the sweep after the start */
#define PAY_SWEEP_EVERY_S 60     /* then, for refunds queued at least this long */
#define PAY_SANDBOX_DELAY_MS 20  /* the sandbox answers a refund after this */

/* ---- providers ---- */

typedef struct pay_provider pay_provider;
typedef struct pay_ops {
    /* the provider's name: the callback path segment and its key file */
    const char *name;
    /* 收款单位 as the cashier shows it */
    const char *payee;
    /* Tell the provider about a new order o (once, when it is made). 0, or
     * -1 with err. A real provider's prepay call is network I/O: its create
     * becomes asynchronous (a callback) and keeps what the provider answers
     * (prepay id, cashier URL) on the order. */
    int (*create)(pay_provider *p, const mc_order *o, mc_err *err);
    /* Render/redirect: the URL (or path of this server) of its cashier,
     * where the payer is sent for order o, into url. */
    void (*cashier)(const pay_provider *p, const mc_order *o, char *url, size_t size);
    /* 1 if sig (the X-Pay-Signature header, siglen bytes) authenticates
     * the notice body. */
    int (*verify)(const pay_provider *p, const uint8_t *body, size_t len, const char *sig,
                  size_t siglen);
    /* Ask for the refund of o (o->refund_req: our request id). The answer
     * comes later as a refunded notice. 0 / -1 (not asked: the sweep asks
     * again). */
    int (*refund)(pay_provider *p, const mc_order *o);
} pay_ops;

struct pay_provider {
    const pay_ops *ops;
    mc_pay *pay;
    uint8_t key[MC_PAY_KEY_LEN];   /* notices' HMAC key (wiped at free) */
};

/* A sandbox notice waiting for its turn of the loop. */
typedef struct pay_delivery {
    struct pay_delivery *next;
    pay_provider *p;
    mc_pay_notice n;
    struct event *ev;
} pay_delivery;

static const pay_ops sandbox_ops;
static const pay_ops *const provider_table[] = {&sandbox_ops};
#define NPROVIDERS (sizeof(provider_table) / sizeof(provider_table[0]))

struct mc_pay {
    mc_node *node;
    pay_provider prov[NPROVIDERS];
    struct event *sweep_first;     /* loop 0 only */
    struct event *sweep_every;     /* loop 0 only */
    /* Sandbox notices on timers, not yet delivered: freed with the state.
     * (A timer of ours rather than event_base_once: mc_node_free must be
     * able to cancel it before the store goes, or its callback would run
     * in the loop's last pass against a freed store, or leak.) */
    pay_delivery *deliveries;
};

static pay_provider *provider_find(mc_pay *pay, const char *name)
{
    for (size_t i = 0; pay != NULL && i < NPROVIDERS; i++)
        if (strcmp(pay->prov[i].ops->name, name) == 0)
            return &pay->prov[i];
    return NULL;
}

/* ---- the notice path: every notice, from outside or from the sandbox ---- */

typedef struct notice_job notice_job;
/* err->status 0: applied (j->out says how); the job is freed after. */
typedef void (*notice_cb)(void *privdata, const mc_err *err, const notice_job *j);

struct notice_job {
    mc_node *node;
    char provider[16];
    mc_pay_notice n;
    mc_order order;
    mc_pay_outcome out;
    char who[32];
    char from[MC_IP_MAX + 1];
    notice_cb cb;
    void *privdata;
};

/* The notice's JSON o (borrowed; NULL: not JSON) into n: one object of
 * exactly its five keys with their types. 0, or -1 with err (400 bad_json
 * / bad_field). */
static int notice_parse(json_t *o, mc_pay_notice *n, mc_err *err)
{
    if (!json_is_object(o))
        return mc_err_set(err, 400, "bad_json", "a notice is one JSON object");
    json_t *order = json_object_get(o, "order"), *amount = json_object_get(o, "amount"),
           *status = json_object_get(o, "status"), *txn = json_object_get(o, "txn"),
           *ts = json_object_get(o, "ts");
    if (json_object_size(o) != 5 || !json_is_string(order) || !json_is_integer(amount) ||
        !json_is_string(status) || !json_is_string(txn) || !json_is_integer(ts))
        return mc_err_set(err, 400, "bad_field",
                          "a notice has exactly order, amount, status, txn (strings but "
                          "amount) and ts (integers)");
    if (json_string_length(order) >= sizeof(n->order) ||
        json_string_length(status) >= sizeof(n->status) ||
        json_string_length(txn) >= sizeof(n->txn))
        return mc_err_set(err, 400, "bad_field", "a notice field is too long");
    memset(n, 0, sizeof(*n));
    memcpy(n->order, json_string_value(order), json_string_length(order));
    memcpy(n->status, json_string_value(status), json_string_length(status));
    memcpy(n->txn, json_string_value(txn), json_string_length(txn));
    n->amount = json_integer_value(amount);
    n->ts = json_integer_value(ts);
    /* a NUL inside a string would have cut it short: the check sees the cut */
    if (strlen(n->order) != json_string_length(order) ||
        strlen(n->status) != json_string_length(status) ||
        strlen(n->txn) != json_string_length(txn))
        return mc_err_set(err, 400, "bad_field", "a notice field contains NUL");
    return mc_pay_notice_check(n, err);
}

static void notice_finish(notice_job *j, const mc_err *err)
{
    j->cb(j->privdata, err, j);
    free(j);
}

static void notice_on_order(void *privdata, const mc_err *err);
static void notice_on_applied(void *privdata, const mc_err *err);

/* Check a notice (raw body as received, the signature header) and apply
 * it. parsed: the body already parsed as JSON by the dispatcher (borrowed;
 * the callback route), NULL to parse it here after the signature (the
 * sandbox's). cb runs exactly once: at once for a notice refused before
 * the store, else from the store's callback. Borrowed arguments are
 * copied. */
static void notice_apply(mc_node *node, const char *provider, const uint8_t *body, size_t len,
                         json_t *parsed, const char *sig, size_t siglen, const char *from,
                         notice_cb cb, void *privdata)
{
    mc_err err;
    mc_err_clear(&err);
    mc_pay_notice n;
    pay_provider *p = provider_find(node->pay, provider);
    if (p == NULL) {
        mc_err_set(&err, 404, "not_found", "no such payment provider");
        cb(privdata, &err, NULL);
        return;
    }
    if (!p->ops->verify(p, body, len, sig, siglen)) {
        mc_err_set(&err, 401, "bad_signature", "the notice's X-Pay-Signature does not verify");
        cb(privdata, &err, NULL);
        return;
    }
    json_t *o = parsed;
    if (o == NULL) {
        json_error_t jerr;
        o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    }
    int bad = notice_parse(o, &n, &err) != 0;
    if (o != parsed)
        json_decref(o);
    if (bad) {
        cb(privdata, &err, NULL);
        return;
    }
    if (!mc_pay_fresh(n.ts, (int64_t)time(NULL))) {
        mc_err_set(&err, 403, "stale_request", "the notice's ts is more than %d s from now",
                   MC_PAY_WINDOW);
        cb(privdata, &err, NULL);
        return;
    }
    notice_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        mc_err_set(&err, 503, "busy", "out of memory");
        cb(privdata, &err, NULL);
        return;
    }
    j->node = node;
    snprintf(j->provider, sizeof(j->provider), "%s", provider);
    j->n = n;
    snprintf(j->who, sizeof(j->who), "provider:%s", provider);
    snprintf(j->from, sizeof(j->from), "%s", from);
    j->cb = cb;
    j->privdata = privdata;
    mc_store_order_get(node->store, n.order, &j->order, notice_on_order, j);
}

static void notice_on_order(void *privdata, const mc_err *err)
{
    notice_job *j = privdata;
    if (err->status != 0) {
        notice_finish(j, err);
        return;
    }
    mc_actor a = {j->who, j->from};
    mc_store_pay_notify(j->node->store, &j->n, &j->order, j->provider, &a, &j->out,
                        notice_on_applied, j);
}

static void notice_on_applied(void *privdata, const mc_err *err)
{
    notice_job *j = privdata;
    if (err->status == 0 && strcmp(j->out.outcome, "refund") == 0) {
        /* paid for an application that can no longer take it: back */
        mc_actor a = {j->who, j->from};
        mc_pay_refund(j->node, j->n.order, &a);
    }
    notice_finish(j, err);
}

/* ---- the sandbox provider ---- */

static int sandbox_create(pay_provider *p, const mc_order *o, mc_err *err)
{
    return 0; /* the sandbox keeps no state of its own: the order is all */
}

static void sandbox_cashier(const pay_provider *p, const mc_order *o, char *url, size_t size)
{
    snprintf(url, size, "/pay/sandbox?order=%s", o->id); /* our page (mc_pages.c) */
}

static int sandbox_verify(const pay_provider *p, const uint8_t *body, size_t len,
                          const char *sig, size_t siglen)
{
    return mc_pay_sig_ok(p->key, body, len, sig, siglen);
}

/* The notice n, signed with the sandbox's key, into the notice path. */
static void sandbox_deliver(pay_provider *p, const mc_pay_notice *n, const char *from,
                            notice_cb cb, void *privdata)
{
    char body[MC_PAY_NOTICE_MAX], sig[65];
    size_t len = mc_pay_notice_format(n, body, sizeof(body));
    mc_pay_sign(p->key, body, len, sig);
    notice_apply(p->pay->node, p->ops->name, (const uint8_t *)body, len, NULL, sig, 64, from,
                 cb, privdata);
}

static void on_refund_noticed(void *privdata, const mc_err *err, const notice_job *j)
{
    mc_pay *pay = privdata;
    (void)pay;
    if (err->status != 0)
        fprintf(stderr, "mcertd: sandbox refund notice refused: %s (%s); the sweep asks again\n",
                err->code ? err->code : "?", err->msg);
}

static void on_delivery_due(evutil_socket_t fd, short what, void *arg)
{
    pay_delivery *d = arg;
    mc_pay *pay = d->p->pay;
    for (pay_delivery **pp = &pay->deliveries; *pp != NULL; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    d->n.ts = (int64_t)time(NULL);
    sandbox_deliver(d->p, &d->n, "sandbox", on_refund_noticed, pay);
    event_free(d->ev);
    free(d);
}

static int sandbox_refund(pay_provider *p, const mc_order *o)
{
    pay_delivery *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -1;
    d->p = p;
    snprintf(d->n.order, sizeof(d->n.order), "%s", o->id);
    d->n.amount = o->amount;
    snprintf(d->n.status, sizeof(d->n.status), "refunded");
    mc_pay_txn_new("SBR", d->n.txn); /* the sandbox's own refund transaction */
    d->ev = evtimer_new(p->pay->node->base, on_delivery_due, d);
    struct timeval tv = {0, PAY_SANDBOX_DELAY_MS * 1000};
    if (d->ev == NULL || evtimer_add(d->ev, &tv) != 0) {
        if (d->ev)
            event_free(d->ev);
        free(d);
        return -1;
    }
    d->next = p->pay->deliveries;
    p->pay->deliveries = d;
    return 0;
}

static const pay_ops sandbox_ops = {
    .name = "sandbox",
    .payee = "mcert 移动证书CA (沙箱)",
    .create = sandbox_create,
    .cashier = sandbox_cashier,
    .verify = sandbox_verify,
    .refund = sandbox_refund,
};

/* ---- refunds ---- */

typedef struct refund_job {
    mc_node *node;
    mc_order o;
    char oid[MC_PAY_OID_LEN + 1];
} refund_job;

static void refund_on_started(void *privdata, const mc_err *err)
{
    refund_job *j = privdata;
    /* on failure nothing here touches j->node->pay: it may be gone (stop) */
    if (err->status != 0) {
        fprintf(stderr, "mcertd: refund of %s not asked yet: %s; the sweep asks again\n",
                j->oid, err->msg);
    } else if (strcmp(j->o.state, "refund_pending") == 0) {
        pay_provider *p = provider_find(j->node->pay, j->o.provider);
        if (p == NULL || p->ops->refund(p, &j->o) != 0)
            fprintf(stderr, "mcertd: refund of %s not asked (provider %s); the sweep asks "
                            "again\n", j->oid, j->o.provider);
    }
    free(j);
}

int mc_pay_refund(mc_node *node, const char *order_id, const mc_actor *a)
{
    if (node->pay == NULL || !mc_pay_oid_valid(order_id, strlen(order_id)))
        return -1;
    refund_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -1;
    j->node = node;
    snprintf(j->oid, sizeof(j->oid), "%s", order_id);
    char req[MC_PAY_TXN_MAX + 1];
    mc_pay_txn_new("RF", req);
    mc_store_pay_refund_start(node->store, j->oid, req, a, &j->o, refund_on_started, j);
    return 0;
}

/* ---- the sweep (loop 0) ---- */

typedef struct sweep_job {
    mc_node *node;
    mc_pay_due due;
} sweep_job;

static void sweep_on_due(void *privdata, const mc_err *err)
{
    sweep_job *j = privdata;
    if (err->status != 0) {
        fprintf(stderr, "mcertd: refund sweep: %s\n", err->msg);
    } else {
        mc_actor a = {"mcertd:sweep", "local"};
        for (size_t i = 0; i < j->due.n; i++)
            mc_pay_refund(j->node, j->due.oid[i], &a);
    }
    free(j);
}

static void sweep(mc_pay *pay, int age)
{
    sweep_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return;
    j->node = pay->node;
    mc_store_pay_refund_due(pay->node->store, age, &j->due, sweep_on_due, j);
}

static void on_sweep_first(evutil_socket_t fd, short what, void *arg)
{
    sweep(arg, 0);
}

static void on_sweep_every(evutil_socket_t fd, short what, void *arg)
{
    sweep(arg, PAY_SWEEP_EVERY_S);
}

/* ---- keys and the per-loop state ---- */

/* DATA/pay/<name>.key into key: made (0600) if missing. 0 / -1 with err. */
static int key_load(const char *data_dir, const char *name, uint8_t key[MC_PAY_KEY_LEN],
                    mc_err *err)
{
    char dir[600], path[700], tmp[720], hex[2 * MC_PAY_KEY_LEN + 2];
    snprintf(dir, sizeof(dir), "%s/pay", data_dir);
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return mc_err_set(err, 2, "config", "cannot make %s: %s", dir, strerror(errno));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        uint8_t k[MC_PAY_KEY_LEN];
        mc_random(k, sizeof(k));
        mc_hex(k, sizeof(k), hex);
        OPENSSL_cleanse(k, sizeof(k));
        hex[2 * MC_PAY_KEY_LEN] = '\n';
        uint32_t rnd = mc_random_below(1000000000);
        snprintf(tmp, sizeof(tmp), "%s.%ld.%u.tmp", path, (long)getpid(), rnd);
        int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int ok = w >= 0 && write(w, hex, sizeof(hex) - 1) == (ssize_t)(sizeof(hex) - 1) &&
                 fsync(w) == 0;
        if (w >= 0)
            close(w);
        /* link() refuses an existing name: whoever links first, all read it */
        if (!ok || (link(tmp, path) != 0 && errno != EEXIST)) {
            mc_err_set(err, 2, "config", "cannot write %s: %s", path, strerror(errno));
            unlink(tmp);
            OPENSSL_cleanse(hex, sizeof(hex));
            return -1;
        }
        unlink(tmp);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return mc_err_set(err, 2, "config", "cannot read %s: %s", path, strerror(errno));
    ssize_t n = read(fd, hex, sizeof(hex));
    close(fd);
    if (n > 0 && hex[n - 1] == '\n')
        n--;
    int rc = 0;
    if (n != 2 * MC_PAY_KEY_LEN || mc_unhex(hex, (size_t)n, key, MC_PAY_KEY_LEN) != 0)
        rc = mc_err_set(err, 2, "config", "%s must hold %d hex characters", path,
                        2 * MC_PAY_KEY_LEN);
    OPENSSL_cleanse(hex, sizeof(hex));
    return rc;
}

mc_pay *mc_api_pay_new(mc_node *node, mc_err *err)
{
    mc_pay *pay = calloc(1, sizeof(*pay));
    if (pay == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    pay->node = node;
    for (size_t i = 0; i < NPROVIDERS; i++) {
        pay->prov[i].ops = provider_table[i];
        pay->prov[i].pay = pay;
        if (key_load(node->cfg->data_dir, provider_table[i]->name, pay->prov[i].key, err) != 0)
            goto fail;
    }
    if (node->id == 0) {
        struct timeval first = {PAY_SWEEP_FIRST_S, 0}, every = {PAY_SWEEP_EVERY_S, 0};
        pay->sweep_first = evtimer_new(node->base, on_sweep_first, pay);
        pay->sweep_every = event_new(node->base, -1, EV_PERSIST, on_sweep_every, pay);
        if (pay->sweep_first == NULL || pay->sweep_every == NULL ||
            evtimer_add(pay->sweep_first, &first) != 0 ||
            evtimer_add(pay->sweep_every, &every) != 0) {
            mc_err_set(err, 500, "internal", "cannot start the refund sweep");
            goto fail;
        }
    }
    return pay;
fail:
    mc_api_pay_free(pay);
    return NULL;
}

void mc_api_pay_free(mc_pay *pay)
{
    if (pay == NULL)
        return;
    if (pay->sweep_first)
        event_free(pay->sweep_first);
    if (pay->sweep_every)
        event_free(pay->sweep_every);
    for (pay_delivery *d = pay->deliveries, *next; d != NULL; d = next) {
        next = d->next;
        event_free(d->ev);
        free(d); /* not delivered: the order stays queued for the sweep */
    }
    OPENSSL_cleanse(pay->prov, sizeof(pay->prov));
    free(pay);
}

/* ---- replies ---- */

json_t *mc_api_order_json(mc_node *node, const mc_order *o)
{
    pay_provider *p = provider_find(node->pay, o->provider);
    char cashier[160] = "";
    if (p != NULL)
        p->ops->cashier(p, o, cashier, sizeof(cashier));
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:I, s:s, s:I, "
                     "s:s, s:s, s:s, s:s}",
                     "order", o->id, "kind", mc_order_is_renewal(o) ? "renewal" : "app",
                     "app", o->app, "renewal", o->renewal, "amount", (json_int_t)o->amount,
                     "provider", o->provider, "state", mc_order_state_now(o), "created",
                     (json_int_t)o->created, "expires", (json_int_t)o->expires, "now",
                     (json_int_t)o->now, "txn", o->txn, "paid_at", (json_int_t)o->paid_at,
                     "refund_txn", o->refund_txn, "refunded_at", (json_int_t)o->refunded_at,
                     "name", o->name, "payer", o->payer, "payee", p ? p->ops->payee : "",
                     "cashier", cashier);
}

/* 1 if the route's :param is an order id (into oid). */
static int param_oid(mc_req *r, char oid[MC_PAY_OID_LEN + 1])
{
    size_t n = strlen(r->param);
    if (!mc_pay_oid_valid(r->param, n))
        return 0;
    memcpy(oid, r->param, n + 1);
    return 1;
}

/* ---- POST /api/v1/applications/:id/pay ---- */

typedef struct open_ctx {
    mc_pay_app app;
    mc_order order;
    char oid[MC_PAY_OID_LEN + 1];
    char name[160];
    pay_provider *p;
    int tries;                     /* reads again after `stale` */
} open_ctx;

static void open_on_app(void *privdata, const mc_err *err);
static void open_on_order(void *privdata, const mc_err *err);

void mc_api_pay_open(mc_req *r)
{
    if (!mc_app_number_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such application");
        return;
    }
    const char *name = evhttp_find_header(&r->query, "provider");
    pay_provider *p = provider_find(r->node->pay, name ? name : "sandbox");
    if (p == NULL) {
        mc_reply_errf(r, 400, "bad_query", "provider must be one of: sandbox");
        return;
    }
    open_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    x->p = p;
    mc_store_pay_app(r->node->store, r->param, &x->app, open_on_app, r);
}

static void open_on_app(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    open_ctx *x = r->hctx;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_app_owner ow = {x->app.applicant, x->app.uscc};
    if (!mc_policy_app_may_read(&me, &ow)) {
        mc_reply_errf(r, 404, "not_found", "no such application");
        return;
    }
    if (!mc_policy_app_may_act(&me, &ow)) {
        mc_reply_errf(r, 403, "not_permitted", "only the applicant or its admin pays");
        return;
    }
    if (strcmp(x->app.state, "pending_payment") != 0 || x->app.fee <= 0) {
        mc_reply_errf(r, 409, "bad_transition", "the application is %s, not pending_payment",
                      x->app.state);
        return;
    }
    if (!mc_pay_amount_valid(x->app.fee)) {
        mc_reply_errf(r, 409, "bad_transition", "the fee is not an amount an order may have");
        return;
    }
    mc_pay_oid_new(r->now, x->oid);
    snprintf(x->name, sizeof(x->name), "移动证书申领 %s", x->app.id);
    mc_pay_open in = {
        .app = &x->app, .oid = x->oid, .provider = x->p->ops->name,
        .ttl = MC_PAY_ORDER_TTL, .name = x->name,
    };
    mc_actor a = {r->who.acc.login, r->ip};
    mc_store_pay_order(r->node->store, &in, &a, &x->order, open_on_order, r);
}

static void open_on_order(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    open_ctx *x = r->hctx;
    if (err->status != 0 && err->code && strcmp(err->code, "stale") == 0 && x->tries++ < 2) {
        /* the application changed between the read and the write: again */
        mc_store_pay_app(r->node->store, x->app.id, &x->app, open_on_app, r);
        return;
    }
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    mc_err e;
    if (x->order.created_now && x->p->ops->create(x->p, &x->order, &e) != 0) {
        mc_reply_err(r, &e);
        return;
    }
    mc_reply_json(r, x->order.created_now ? 201 : 200, mc_api_order_json(r->node, &x->order));
}

/* ---- GET /api/v1/orders/:oid ---- */

static void get_on_order(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_order *o = r->hctx;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_app_owner ow = {o->applicant, o->uscc};
    if (!mc_policy_app_may_read(&me, &ow)) {
        mc_reply_errf(r, 404, "unknown_order", "no such order");
        return;
    }
    mc_reply_json(r, 200, mc_api_order_json(r->node, o));
}

void mc_api_order_get(mc_req *r)
{
    char oid[MC_PAY_OID_LEN + 1];
    if (!param_oid(r, oid)) {
        mc_reply_errf(r, 404, "unknown_order", "no such order");
        return;
    }
    mc_order *o = mc_req_ctx(r, sizeof(*o), NULL);
    if (o == NULL)
        return;
    mc_store_order_get(r->node->store, oid, o, get_on_order, r);
}

/* ---- POST /api/v1/payments/:provider/callback ---- */

static void callback_on_applied(void *privdata, const mc_err *err, const notice_job *j)
{
    MC_STEP_BEGIN(r, privdata, err);
    /* the same bytes for the first notice and every repeat of it */
    mc_reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "result", "ok", "order", j->n.order,
                                    "status", j->n.status));
}

void mc_api_pay_callback(mc_req *r)
{
    const char *sig =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Pay-Signature");
    /* the dispatcher has parsed the body (400 bad_json before this): the
     * signature is still checked over the raw bytes, the parse not redone */
    notice_apply(r->node, r->param, r->body.ptr, r->body.len, r->json, sig,
                 sig ? strnlen(sig, 130) : 0, r->ip, callback_on_applied, r);
}

/* ---- POST /pay/sandbox/:oid/confirm ---- */

typedef struct confirm_ctx {
    mc_order order;
    char method[16];
} confirm_ctx;

static void confirm_on_order(void *privdata, const mc_err *err);
static void confirm_on_applied(void *privdata, const mc_err *err, const notice_job *j);

void mc_api_pay_sandbox_confirm(mc_req *r)
{
    static const char *const allowed[] = {"method", NULL};
    static const char *const methods[] = {"alipay", "wechat", "unionpay", NULL};
    mc_err err;
    mc_err_clear(&err);
    char oid[MC_PAY_OID_LEN + 1];
    if (!param_oid(r, oid)) {
        mc_reply_errf(r, 404, "unknown_order", "no such order");
        return;
    }
    const char *method;
    size_t mlen;
    if (mc_json_only(r->json, allowed, &err) != 0 ||
        mc_json_str(r->json, "method", 15, 1, &method, &mlen, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    int known = 0;
    for (size_t i = 0; methods[i] != NULL; i++)
        known |= strlen(methods[i]) == mlen && memcmp(methods[i], method, mlen) == 0;
    if (!known) {
        mc_reply_errf(r, 400, "bad_field", "method must be alipay, wechat or unionpay");
        return;
    }
    confirm_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    memcpy(x->method, method, mlen);
    mc_store_order_get(r->node->store, oid, &x->order, confirm_on_order, r);
}

static void confirm_on_order(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    confirm_ctx *x = r->hctx;
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_app_owner ow = {x->order.applicant, x->order.uscc};
    if (!mc_policy_app_may_read(&me, &ow)) {
        mc_reply_errf(r, 404, "unknown_order", "no such order");
        return;
    }
    if (!mc_policy_app_may_act(&me, &ow)) {
        mc_reply_errf(r, 403, "not_permitted", "only the applicant or its admin pays");
        return;
    }
    pay_provider *p = provider_find(r->node->pay, "sandbox");
    if (p == NULL || strcmp(x->order.provider, "sandbox") != 0) {
        mc_reply_errf(r, 409, "provider_mismatch", "this order is not the sandbox's");
        return;
    }
    /* the sandbox pays: its notice goes the way an outside one goes */
    mc_pay_notice n = {.amount = x->order.amount, .ts = (int64_t)time(NULL)};
    snprintf(n.order, sizeof(n.order), "%s", x->order.id);
    snprintf(n.status, sizeof(n.status), "paid");
    mc_pay_txn_new("SBP", n.txn);
    sandbox_deliver(p, &n, r->ip, confirm_on_applied, r);
}

static void confirm_on_applied(void *privdata, const mc_err *err, const notice_job *j)
{
    MC_STEP_BEGIN(r, privdata, err);
    confirm_ctx *x = r->hctx;
    char back[80];
    if (mc_order_is_renewal(&x->order)) {
        snprintf(back, sizeof(back), "/renew?id=%s", x->order.renewal);
        mc_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "order", x->order.id,
                                        "state", j->out.order_state, "renewal",
                                        x->order.renewal, "renewal_state", j->out.app_state,
                                        "method", x->method, "return", back));
        return;
    }
    snprintf(back, sizeof(back), "/apply?id=%s", x->order.app);
    mc_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "order", x->order.id,
                                    "state", j->out.order_state, "app", x->order.app,
                                    "app_state", j->out.app_state, "method", x->method,
                                    "return", back));
}
