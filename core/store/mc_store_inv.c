/*
 * mc_store_inv.c — invoices: arguments in, replies out (see mc_store_inv.h;
 * the functions are in lua/invoice.lua).
 */
#include "mc_store_inv.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"

/* What a request writes besides the fields the function sets itself. */
#define INV_REQUEST_FIELDS                                                     \
    MC_FSTR(mc_invoice, title_name),     MC_FSTR(mc_invoice, title_tax_id),   \
    MC_FSTR(mc_invoice, title_address),  MC_FSTR(mc_invoice, title_phone),    \
    MC_FSTR(mc_invoice, title_bank),     MC_FSTR(mc_invoice, title_account),  \
    MC_FSTR(mc_invoice, receiver_phone), MC_FSTR(mc_invoice, receiver_email), \
    MC_FSTR(mc_invoice, goods_name),     MC_FSTR(mc_invoice, goods_spec),     \
    MC_FSTR(mc_invoice, goods_unit),     MC_FINT(mc_invoice, goods_qty),      \
    MC_FINT(mc_invoice, goods_price),    MC_FINT(mc_invoice, goods_amount)

/* Every field of the record, for reads. */
static const mc_field inv_fields[] = {
    MC_FSTR(mc_invoice, id),             MC_FSTR(mc_invoice, order),
    MC_FSTR(mc_invoice, kind),           MC_FSTR(mc_invoice, ref),
    MC_FSTR(mc_invoice, uscc),           MC_FSTR(mc_invoice, owner),
    MC_FINT(mc_invoice, amount),         MC_FSTR(mc_invoice, state),
    INV_REQUEST_FIELDS,
    MC_FSTR(mc_invoice, reason),         MC_FSTR(mc_invoice, pdf),
    MC_FSTR(mc_invoice, pdf_source),     MC_FINT(mc_invoice, requested_at),
    MC_FINT(mc_invoice, issued_at),      MC_FINT(mc_invoice, ended_at),
    MC_FSTR(mc_invoice, requester),      MC_FSTR(mc_invoice, by),
    MC_FINT(mc_invoice, gen),
};

static const mc_field request_fields[] = {INV_REQUEST_FIELDS};

static const mc_field order_fields[] = {
    MC_FSTR(mc_inv_order, id),        MC_FSTR(mc_inv_order, kind),
    MC_FSTR(mc_inv_order, app),       MC_FSTR(mc_inv_order, renewal),
    MC_FSTR(mc_inv_order, uscc),      MC_FSTR(mc_inv_order, applicant),
    MC_FSTR(mc_inv_order, account),   MC_FSTR(mc_inv_order, by),
    MC_FSTR(mc_inv_order, payer),     MC_FSTR(mc_inv_order, name),
    MC_FINT(mc_inv_order, amount),    MC_FSTR(mc_inv_order, state),
};

const char *mc_inv_order_owner(const mc_inv_order *o)
{
    if (o->applicant[0] != '\0')
        return o->applicant;
    if (o->account[0] != '\0')
        return o->account;
    return o->by;
}

const char *mc_inv_order_kind(const mc_inv_order *o)
{
    return strcmp(o->kind, "renewal") == 0 ? "renewal" : "app";
}

const char *mc_inv_order_ref(const mc_inv_order *o)
{
    return strcmp(o->kind, "renewal") == 0 ? o->renewal : o->app;
}

static void add_actor(mc_cmd *c, const mc_actor *ac)
{
    mc_cmd_add(c, ac->who);
    mc_cmd_add(c, ac->from);
}

static int read_inv(const redisReply *r, void *out, mc_err *err)
{
    return mc_fields_read(inv_fields, MC_NFIELDS(inv_fields), r, out);
}

/* ---- reads ---- */

static int read_ctx(const redisReply *r, void *out, mc_err *err)
{
    mc_inv_ctx *x = out;
    if (!mc_reply_is_array(r, 2) ||
        mc_fields_read(order_fields, MC_NFIELDS(order_fields), r->element[0], &x->order) != 0 ||
        read_inv(r->element[1], &x->inv, err) != 0)
        return MC_REPLY_SHAPE;
    return 0;
}

void mc_store_inv_ctx(mc_store *st, const char *oid, mc_inv_ctx *out, mc_store_cb cb,
                      void *privdata)
{
    char ko[64], ki[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "hgetall_many", 2, 1);
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", oid));
    mc_cmd_add(&c, mc_key(ki, sizeof(ki), "inv", oid));
    mc_store_call(st, &c, read_ctx, out, cb, privdata);
}

static int read_locate(const redisReply *r, void *out, mc_err *err)
{
    char *oid = out;
    oid[0] = '\0';
    if (r->type == REDIS_REPLY_NIL)
        return 0;
    if (!mc_reply_is_str(r))
        return MC_REPLY_SHAPE;
    mc_reply_copy(oid, MC_INV_ID_LEN + 1, r);
    return 0;
}

void mc_store_inv_locate(mc_store *st, const char *id, char oid[MC_INV_ID_LEN + 1],
                         mc_store_cb cb, void *privdata)
{
    char k[64];
    mc_cmd c;
    mc_cmd_plain(&c, "GET");
    mc_cmd_add(&c, mc_key(k, sizeof(k), "invid", id));
    mc_store_call(st, &c, read_locate, oid, cb, privdata);
}

/* ---- titles ---- */

static int read_titles(const redisReply *r, void *out, mc_err *err)
{
    mc_inv_titles *t = out;
    t->n = 0;
    if (!mc_reply_is_array(r, 0) || r->elements % 2 != 0)
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (!mc_reply_is_str(k) || !mc_reply_is_str(v) || k->len != MC_INV_TID_LEN ||
            v->len >= MC_INV_TITLE_JSON_MAX || t->n >= MC_INV_TITLES_MAX + 3)
            return MC_REPLY_SHAPE; /* not what inv_title_put writes */
        mc_reply_copy(t->id[t->n], sizeof(t->id[0]), k);
        mc_reply_copy(t->json[t->n], sizeof(t->json[0]), v);
        t->n++;
    }
    return 0;
}

void mc_store_inv_titles(mc_store *st, const char *uscc, mc_inv_titles *out, mc_store_cb cb,
                         void *privdata)
{
    char k[64];
    mc_cmd c;
    mc_cmd_plain(&c, "HGETALL");
    mc_cmd_add(&c, mc_key(k, sizeof(k), "titles", uscc));
    mc_store_call(st, &c, read_titles, out, cb, privdata);
}

void mc_store_inv_title_put(mc_store *st, const char *uscc, const char *tid, const char *json,
                            int add, const mc_actor *ac, mc_inv_titles *out, mc_store_cb cb,
                            void *privdata)
{
    char k[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "inv_title_put", 2, 0);
    mc_cmd_add(&c, mc_key(k, sizeof(k), "titles", uscc));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, tid);
    mc_cmd_add(&c, json);
    mc_cmd_addi(&c, MC_INV_TITLES_MAX);
    mc_cmd_add(&c, add ? "add" : "edit");
    mc_cmd_add(&c, uscc);
    mc_store_call(st, &c, read_titles, out, cb, privdata);
}

void mc_store_inv_title_del(mc_store *st, const char *uscc, const char *tid,
                            const mc_actor *ac, mc_inv_titles *out, mc_store_cb cb,
                            void *privdata)
{
    char k[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "inv_title_del", 2, 0);
    mc_cmd_add(&c, mc_key(k, sizeof(k), "titles", uscc));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, tid);
    mc_cmd_add(&c, uscc);
    mc_store_call(st, &c, read_titles, out, cb, privdata);
}

/* ---- transitions ---- */

void mc_store_inv_request(mc_store *st, const mc_invoice *in, const char *old_id,
                          const mc_actor *ac, mc_invoice *out, mc_store_cb cb, void *privdata)
{
    char ki[64], ko[64], kid[64], kold[64], korg[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "inv_request", 7, 0);
    mc_cmd_add(&c, mc_key(ki, sizeof(ki), "inv", in->order));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", in->order));
    mc_cmd_add(&c, mc_key(kid, sizeof(kid), "invid", in->id));
    mc_cmd_add(&c, mc_key(kold, sizeof(kold), "invid", old_id[0] ? old_id : "-"));
    mc_cmd_add(&c, mc_key(korg, sizeof(korg), "invorg", in->uscc));
    mc_cmd_add(&c, "{mc}:invall");
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, in->id);
    mc_cmd_add(&c, old_id);
    mc_cmd_add(&c, in->uscc);
    mc_cmd_add(&c, in->owner);
    mc_cmd_add(&c, in->kind);
    mc_cmd_add(&c, in->ref);
    mc_cmd_addi(&c, (long long)in->amount);
    mc_fields_add(&c, request_fields, MC_NFIELDS(request_fields), in);
    mc_store_call(st, &c, read_inv, out, cb, privdata);
}

void mc_store_inv_issue(mc_store *st, const mc_invoice *inv, const char *pdf, int64_t size,
                        const char *source, const char *subject, const char *text,
                        const mc_actor *ac, mc_invoice *out, mc_store_cb cb, void *privdata)
{
    char ki[64], kb[96], from[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "inv_issue", 4, 0);
    mc_cmd_add(&c, mc_key(ki, sizeof(ki), "inv", inv->order));
    mc_cmd_add(&c, mc_key(kb, sizeof(kb), "blob", pdf));
    mc_cmd_add(&c, "{mc}:outbox");
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, inv->id);
    mc_cmd_add(&c, mc_inv_from_list(MC_INV_EV_ISSUE, 1, from, sizeof(from)));
    mc_cmd_add(&c, mc_inv_state_name(mc_inv_target(MC_INV_EV_ISSUE)));
    mc_cmd_add(&c, pdf);
    mc_cmd_addi(&c, (long long)size);
    mc_cmd_add(&c, source);
    mc_cmd_add(&c, subject);
    mc_cmd_add(&c, text);
    mc_store_call(st, &c, read_inv, out, cb, privdata);
}

void mc_store_inv_finish(mc_store *st, const mc_invoice *inv, mc_inv_event ev, int operator,
                         const char *reason, const mc_actor *ac, mc_invoice *out,
                         mc_store_cb cb, void *privdata)
{
    char ki[64], from[64], anyone[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "inv_finish", 2, 0);
    mc_cmd_add(&c, mc_key(ki, sizeof(ki), "inv", inv->order));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, inv->id);
    mc_cmd_add(&c, mc_inv_from_list(ev, operator, from, sizeof(from)));
    mc_cmd_add(&c, mc_inv_state_name(mc_inv_target(ev)));
    mc_cmd_add(&c, reason);
    mc_cmd_add(&c, ev == MC_INV_EV_REJECT ? "invoice_reject" : "invoice_void");
    mc_cmd_add(&c, mc_inv_from_list(ev, 1, anyone, sizeof(anyone)));
    mc_store_call(st, &c, read_inv, out, cb, privdata);
}

/* ---- lists ---- */

static int read_oids(const redisReply *r, void *out, mc_err *err)
{
    mc_inv_oids *l = out;
    l->n = 0;
    if (!mc_reply_is_array(r, 0))
        return MC_REPLY_SHAPE;
    l->page = r->elements;
    for (size_t i = 0; i < r->elements && l->n < MC_INV_LIST_MAX; i++) {
        if (!mc_reply_is_str(r->element[i]))
            return MC_REPLY_SHAPE;
        if (r->element[i]->len != MC_INV_ID_LEN)
            continue; /* not an order id: not ours */
        mc_reply_copy(l->oid[l->n], sizeof(l->oid[0]), r->element[i]);
        l->n++;
    }
    return 0;
}

void mc_store_inv_oids(mc_store *st, const char *uscc, size_t offset, mc_inv_oids *out,
                       mc_store_cb cb, void *privdata)
{
    char k[64];
    mc_cmd c;
    mc_cmd_plain(&c, "ZREVRANGE");
    mc_cmd_add(&c, uscc ? mc_key(k, sizeof(k), "invorg", uscc) : "{mc}:invall");
    mc_cmd_addi(&c, (long long)offset);
    mc_cmd_addi(&c, (long long)(offset + MC_INV_LIST_MAX - 1));
    mc_store_call(st, &c, read_oids, out, cb, privdata);
}

void mc_inv_rows_free(mc_inv_rows *r)
{
    if (r == NULL)
        return;
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

static int read_rows(const redisReply *r, void *out, mc_err *err)
{
    mc_inv_rows *x = out;
    if (!mc_reply_is_array(r, x->n))
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < r->elements; i++)
        if (read_inv(r->element[i], &x->v[i], err) != 0)
            return MC_REPLY_SHAPE;
    return 0;
}

static void rows_key_at(const void *arg, size_t i, char *buf, size_t size)
{
    const mc_inv_oids *oids = arg;
    mc_key(buf, size, "inv", oids->oid[i]);
}

/* O(n) keys in one call (mc_store_fcall_keys). Aborts on out of memory. */
void mc_store_inv_rows(mc_store *st, const mc_inv_oids *oids, mc_inv_rows *out,
                       mc_store_cb cb, void *privdata)
{
    mc_inv_rows_free(out);
    out->v = calloc(oids->n + 1, sizeof(*out->v));
    if (out->v == NULL)
        abort();
    out->n = oids->n;
    mc_store_fcall_keys(st, "hgetall_many", oids->n, rows_key_at, oids, read_rows, out, cb,
                        privdata);
}
