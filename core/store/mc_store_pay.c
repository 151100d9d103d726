/*
 * mc_store_pay.c — payment orders: arguments in, replies out (see
 * mc_store_pay.h; the functions are in lua/pay.lua).
 */
#include "mc_store_pay.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "mc_store_int.h"

static const mc_field app_fields[] = {
    MC_FSTR(mc_pay_app, id),        MC_FSTR(mc_pay_app, state),
    MC_FSTR(mc_pay_app, uscc),      MC_FSTR(mc_pay_app, applicant),
    MC_FSTR(mc_pay_app, org_name),  MC_FSTR(mc_pay_app, holder_name),
    MC_FSTR(mc_pay_app, kind),      MC_FSTR(mc_pay_app, order),
    MC_FINT(mc_pay_app, fee),       MC_FINT(mc_pay_app, quantity),
};

static const mc_field order_fields[] = {
    MC_FSTR(mc_order, id),          MC_FSTR(mc_order, app),
    MC_FSTR(mc_order, kind),        MC_FSTR(mc_order, renewal),
    MC_FINT(mc_order, amount),      MC_FSTR(mc_order, provider),
    MC_FSTR(mc_order, state),       MC_FINT(mc_order, created),
    MC_FINT(mc_order, expires),     MC_FINT(mc_order, paid_at),
    MC_FINT(mc_order, refunded_at), MC_FSTR(mc_order, txn),
    MC_FSTR(mc_order, refund_req),  MC_FSTR(mc_order, refund_txn),
    MC_FSTR(mc_order, uscc),        MC_FSTR(mc_order, applicant),
    MC_FSTR(mc_order, payer),       MC_FSTR(mc_order, name),
};

const char *mc_order_state_now(const mc_order *o)
{
    if (strcmp(o->state, "pending") == 0 && o->now >= o->expires)
        return "expired";
    return o->state;
}

int mc_order_is_renewal(const mc_order *o)
{
    return strcmp(o->kind, "renewal") == 0;
}

int mc_order_read(const redisReply *hash, mc_order *o)
{
    return mc_fields_read(order_fields, MC_NFIELDS(order_fields), hash, o);
}

/* ---- the application ---- */

static int read_app(const redisReply *r, void *out, mc_err *err)
{
    if (mc_reply_is_array(r, 0) && r->elements == 0)
        return mc_err_set(err, 404, "not_found", "no such application");
    int rc = mc_fields_read(app_fields, MC_NFIELDS(app_fields), r, out);
    if (rc == 0 && ((mc_pay_app *)out)->id[0] == '\0')
        return mc_err_set(err, 404, "not_found", "no such application");
    return rc;
}

void mc_store_pay_app(mc_store *st, const char *app_id, mc_pay_app *out, mc_store_cb cb,
                      void *privdata)
{
    char ka[64];
    mc_cmd c;
    mc_cmd_plain(&c, "HGETALL");
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", app_id));
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

/* ---- orders ---- */

/* {now, order hash} into an mc_order. */
static int read_now_order(const redisReply *r, mc_order *o)
{
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]))
        return MC_REPLY_SHAPE;
    if (mc_fields_read(order_fields, MC_NFIELDS(order_fields), r->element[1], o) != 0)
        return MC_REPLY_SHAPE;
    o->now = r->element[0]->integer;
    o->created_now = 0;
    return 0;
}

static int read_order_opened(const redisReply *r, void *out, mc_err *err)
{
    mc_order *o = out;
    if (!mc_reply_is_array(r, 3) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_int(r->element[1]))
        return MC_REPLY_SHAPE;
    if (mc_fields_read(order_fields, MC_NFIELDS(order_fields), r->element[2], o) != 0)
        return MC_REPLY_SHAPE;
    o->created_now = r->element[0]->integer == 1;
    o->now = r->element[1]->integer;
    return 0;
}

void mc_store_pay_order(mc_store *st, const mc_pay_open *in, const mc_actor *a, mc_order *out,
                        mc_store_cb cb, void *privdata)
{
    char ka[64], ko[64], kn[64];
    const char *cur = in->app->order;
    mc_cmd c;
    mc_cmd_fcall(&c, "pay_order", 4, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", in->app->id));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", cur[0] ? cur : "-"));
    mc_cmd_add(&c, mc_key(kn, sizeof(kn), "order", in->oid));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, in->oid);
    mc_cmd_add(&c, in->provider);
    mc_cmd_addi(&c, in->ttl);
    mc_cmd_add(&c, in->name);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add(&c, cur);
    mc_store_call(st, &c, read_order_opened, out, cb, privdata);
}

static int read_order(const redisReply *r, void *out, mc_err *err)
{
    return read_now_order(r, out);
}

void mc_store_order_get(mc_store *st, const char *oid, mc_order *out, mc_store_cb cb,
                        void *privdata)
{
    char ko[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "pay_order_get", 1, 1);
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", oid));
    mc_store_call(st, &c, read_order, out, cb, privdata);
}

/* ---- notices ---- */

static int read_outcome(const redisReply *r, void *out, mc_err *err)
{
    mc_pay_outcome *o = out;
    if (!mc_reply_is_array(r, 3))
        return MC_REPLY_SHAPE;
    for (int i = 0; i < 3; i++)
        if (!mc_reply_is_str(r->element[i]))
            return MC_REPLY_SHAPE;
    mc_reply_copy(o->outcome, sizeof(o->outcome), r->element[0]);
    mc_reply_copy(o->order_state, sizeof(o->order_state), r->element[1]);
    mc_reply_copy(o->app_state, sizeof(o->app_state), r->element[2]);
    return 0;
}

void mc_store_pay_notify(mc_store *st, const mc_pay_notice *n, const mc_order *o,
                         const char *provider, const mc_actor *a, mc_pay_outcome *out,
                         mc_store_cb cb, void *privdata)
{
    char ko[64], ka[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "pay_notify", 4, 0);
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", n->order));
    if (mc_order_is_renewal(o))
        mc_cmd_add(&c, mc_key(ka, sizeof(ka), "ren", o->renewal));
    else
        mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", o->app));
    mc_cmd_add(&c, "{mc}:refundq");
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, n->order);
    mc_cmd_addi(&c, (long long)n->amount);
    mc_cmd_add(&c, n->status);
    mc_cmd_add(&c, n->txn);
    mc_cmd_add(&c, provider);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, read_outcome, out, cb, privdata);
}

/* ---- refunds ---- */

void mc_store_pay_refund_start(mc_store *st, const char *oid, const char *req_new,
                               const mc_actor *a, mc_order *out, mc_store_cb cb,
                               void *privdata)
{
    char ko[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "pay_refund_start", 3, 0);
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", oid));
    mc_cmd_add(&c, "{mc}:refundq");
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, oid);
    mc_cmd_add(&c, req_new);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, read_order, out, cb, privdata);
}

static int read_due(const redisReply *r, void *out, mc_err *err)
{
    mc_pay_due *d = out;
    d->n = 0;
    if (!mc_reply_is_array(r, 0))
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < r->elements && d->n < MC_PAY_DUE_MAX; i++) {
        if (!mc_reply_is_str(r->element[i]))
            return MC_REPLY_SHAPE;
        if (!mc_pay_oid_valid(r->element[i]->str, r->element[i]->len))
            continue; /* not ours to ask about */
        mc_reply_copy(d->oid[d->n], sizeof(d->oid[0]), r->element[i]);
        d->n++;
    }
    return 0;
}

void mc_store_pay_refund_due(mc_store *st, int age, mc_pay_due *out, mc_store_cb cb,
                             void *privdata)
{
    mc_cmd c;
    mc_cmd_fcall(&c, "pay_refund_due", 1, 1);
    mc_cmd_add(&c, "{mc}:refundq");
    mc_cmd_addi(&c, age);
    mc_cmd_addi(&c, MC_PAY_DUE_MAX);
    mc_store_call(st, &c, read_due, out, cb, privdata);
}
