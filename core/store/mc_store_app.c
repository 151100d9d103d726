/*
 * mc_store_app.c — applications, uploads' links, the identity counter:
 * arguments in, replies out (see mc_store_app.h; the functions are in
 * lua/apply.lua).
 */
#include "mc_store_app.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"

/* Every field of the record, for reads. */
static const mc_field app_fields[] = {
    MC_FSTR(mc_app, id),          MC_FSTR(mc_app, provider),    MC_FSTR(mc_app, kind),
    MC_FINT(mc_app, quantity),    MC_FSTR(mc_app, org_name),    MC_FSTR(mc_app, org_type),
    MC_FSTR(mc_app, uscc),        MC_FSTR(mc_app, region),      MC_FSTR(mc_app, licence),
    MC_FSTR(mc_app, holder_name), MC_FSTR(mc_app, holder_id),   MC_FSTR(mc_app, mobile),
    MC_FSTR(mc_app, email),       MC_FSTR(mc_app, id_scan),     MC_FSTR(mc_app, auth_letter),
    MC_FSTR(mc_app, alg),         MC_FSTR(mc_app, delivery),    MC_FSTR(mc_app, identity),
    MC_FSTR(mc_app, state),       MC_FINT(mc_app, fee),         MC_FSTR(mc_app, reason),
    MC_FSTR(mc_app, applicant),   MC_FINT(mc_app, created),     MC_FINT(mc_app, submitted_at),
    MC_FINT(mc_app, reviewed_at), MC_FSTR(mc_app, reviewer),    MC_FSTR(mc_app, order),
    MC_FSTR(mc_app, paid),        MC_FSTR(mc_app, cert),        MC_FINT(mc_app, gen),
};

/* The form: what create and edit write (uscc only at creation). */
static const mc_field form_fields[] = {
    MC_FSTR(mc_app, provider),    MC_FSTR(mc_app, kind),        MC_FINT(mc_app, quantity),
    MC_FSTR(mc_app, org_name),    MC_FSTR(mc_app, org_type),    MC_FSTR(mc_app, region),
    MC_FSTR(mc_app, licence),     MC_FSTR(mc_app, holder_name), MC_FSTR(mc_app, holder_id),
    MC_FSTR(mc_app, mobile),      MC_FSTR(mc_app, email),       MC_FSTR(mc_app, id_scan),
    MC_FSTR(mc_app, auth_letter), MC_FSTR(mc_app, alg),         MC_FSTR(mc_app, delivery),
    MC_FSTR(mc_app, identity),
};

static const mc_field order_fields[] = {
    MC_FSTR(mc_app_order, id),         MC_FSTR(mc_app_order, state),
    MC_FSTR(mc_app_order, provider),   MC_FINT(mc_app_order, amount),
    MC_FINT(mc_app_order, created),    MC_FINT(mc_app_order, expires),
    MC_FINT(mc_app_order, paid_at),    MC_FINT(mc_app_order, refunded_at),
};

static int read_app(const redisReply *r, void *out, mc_err *err)
{
    return mc_fields_read(app_fields, MC_NFIELDS(app_fields), r, out);
}

static int read_app_found(const redisReply *r, void *out, mc_err *err)
{
    if (mc_reply_is_array(r, 0) && r->elements == 0)
        return mc_err_set(err, 404, "not_found", "no such application");
    return read_app(r, out, err);
}

static int read_done(const redisReply *r, void *out, mc_err *err)
{
    mc_app_done *d = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_str(r->element[1]))
        return MC_REPLY_SHAPE;
    if (read_app(r->element[0], &d->app, err) != 0)
        return MC_REPLY_SHAPE;
    mc_reply_copy(d->refund, sizeof(d->refund), r->element[1]);
    return 0;
}

static void add_actor(mc_cmd *c, const mc_actor *ac)
{
    mc_cmd_add(c, ac->who);
    mc_cmd_add(c, ac->from);
}

static void add_from(mc_cmd *c, mc_app_event ev, char *buf, size_t size)
{
    mc_cmd_add(c, mc_app_from_list(ev, buf, size));
}

void mc_store_app_create(mc_store *st, const mc_app *a, const mc_actor *ac, mc_app *out,
                         mc_store_cb cb, void *privdata)
{
    char ka[64], kz[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_create", 3, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", a->id));
    mc_cmd_add(&c, mc_key(kz, sizeof(kz), "apps", a->uscc));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, "id");
    mc_cmd_add(&c, a->id);
    mc_cmd_add(&c, "uscc");
    mc_cmd_add(&c, a->uscc);
    mc_cmd_add(&c, "applicant");
    mc_cmd_add(&c, a->applicant);
    mc_fields_add(&c, form_fields, MC_NFIELDS(form_fields), a);
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

void mc_store_app_edit(mc_store *st, const mc_app *a, const mc_actor *ac, mc_app *out,
                       mc_store_cb cb, void *privdata)
{
    char ka[64], from[128];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_edit", 2, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", a->id));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_addi(&c, (long long)a->gen);
    add_from(&c, MC_APP_EV_EDIT, from, sizeof(from));
    mc_fields_add(&c, form_fields, MC_NFIELDS(form_fields), a);
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

void mc_store_app_submit(mc_store *st, const mc_app *a, int64_t fee_first, int64_t fee_next,
                         const mc_actor *ac, mc_app *out, mc_store_cb cb, void *privdata)
{
    char ka[64], kl[64], ko[64], from[128];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_submit", 5, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", a->id));
    mc_cmd_add(&c, "{mc}:appq");
    mc_cmd_add(&c, mc_key(kl, sizeof(kl), "applive", a->uscc));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "orgcerts", a->uscc));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_addi(&c, (long long)a->gen);
    /* both submit events start from the same states (the table says so) */
    add_from(&c, MC_APP_EV_SUBMIT_FREE, from, sizeof(from));
    mc_cmd_addi(&c, (long long)fee_first);
    mc_cmd_addi(&c, (long long)fee_next);
    mc_cmd_add(&c, mc_app_state_name(mc_app_target(MC_APP_EV_SUBMIT_FREE)));
    mc_cmd_add(&c, mc_app_state_name(mc_app_target(MC_APP_EV_SUBMIT_FEE)));
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

static void end_call(mc_store *st, const char *fn, mc_app_event ev, const mc_app *a,
                     const char *reason, const mc_actor *ac, mc_app_done *out, mc_store_cb cb,
                     void *privdata)
{
    char ka[64], kl[64], ko[80], ki[80], from[128];
    mc_cmd c;
    mc_cmd_fcall(&c, fn, 6, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", a->id));
    mc_cmd_add(&c, mc_key(kl, sizeof(kl), "applive", a->uscc));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", a->order[0] ? a->order : "-"));
    mc_cmd_add(&c, "{mc}:refundq");
    mc_cmd_add(&c, "{mc}:audit");
    /* a paid order whose invoice holds the money is not refunded (§11) */
    mc_cmd_add(&c, mc_key(ki, sizeof(ki), "inv", a->order[0] ? a->order : "-"));
    add_actor(&c, ac);
    add_from(&c, ev, from, sizeof(from));
    mc_cmd_add(&c, mc_app_state_name(mc_app_target(ev)));
    if (reason != NULL)
        mc_cmd_add(&c, reason);
    mc_cmd_add(&c, a->order);
    mc_store_call(st, &c, read_done, out, cb, privdata);
}

void mc_store_app_withdraw(mc_store *st, const mc_app *a, const mc_actor *ac,
                           mc_app_done *out, mc_store_cb cb, void *privdata)
{
    end_call(st, "app_withdraw", MC_APP_EV_WITHDRAW, a, NULL, ac, out, cb, privdata);
}

void mc_store_app_reject(mc_store *st, const mc_app *a, const char *reason,
                         const mc_actor *ac, mc_app_done *out, mc_store_cb cb, void *privdata)
{
    end_call(st, "app_reject", MC_APP_EV_REJECT, a, reason, ac, out, cb, privdata);
}

void mc_store_app_approve(mc_store *st, const char *id, const char *code_hash, int ttl,
                          const char *sms, const mc_actor *ac, mc_app *out, mc_store_cb cb,
                          void *privdata)
{
    char ka[64], kt[64], from[128];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_approve", 4, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", id));
    mc_cmd_add(&c, mc_key(kt, sizeof(kt), "act", id));
    mc_cmd_add(&c, "{mc}:outbox");
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    add_from(&c, MC_APP_EV_APPROVE, from, sizeof(from));
    mc_cmd_add(&c, mc_app_state_name(mc_app_target(MC_APP_EV_APPROVE)));
    mc_cmd_add(&c, code_hash);
    mc_cmd_addi(&c, ttl);
    mc_cmd_add(&c, sms);
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

void mc_store_app_reactivate(mc_store *st, const char *id, const char *code_hash, int ttl,
                             const char *sms, int reissues, const mc_actor *ac, mc_app *out,
                             mc_store_cb cb, void *privdata)
{
    char ka[64], kt[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_reactivate", 4, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", id));
    mc_cmd_add(&c, mc_key(kt, sizeof(kt), "act", id));
    mc_cmd_add(&c, "{mc}:outbox");
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, code_hash);
    mc_cmd_addi(&c, ttl);
    mc_cmd_add(&c, sms);
    mc_cmd_addi(&c, reissues);
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

static int read_idcount(const redisReply *r, void *out, mc_err *err)
{
    mc_idcount *x = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_int(r->element[1]))
        return MC_REPLY_SHAPE;
    x->count = r->element[0]->integer;
    x->day_left = r->element[1]->integer;
    return 0;
}

void mc_store_app_identity_count(mc_store *st, const char *holder_id, int limit,
                                 mc_idcount *out, mc_store_cb cb, void *privdata)
{
    char k[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_identity_count", 1, 0);
    mc_cmd_add(&c, mc_key(k, sizeof(k), "idck", holder_id));
    mc_cmd_addi(&c, limit);
    mc_store_call(st, &c, read_idcount, out, cb, privdata);
}

void mc_store_app_identity_set(mc_store *st, const mc_app *a, const char *identity,
                               const char *result, const mc_actor *ac, mc_app *out,
                               mc_store_cb cb, void *privdata)
{
    char ka[64], from[128];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_identity_set", 2, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", a->id));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    add_from(&c, MC_APP_EV_EDIT, from, sizeof(from));
    mc_cmd_add(&c, a->holder_id);
    mc_cmd_add(&c, identity);
    mc_cmd_add(&c, result);
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

static int read_first(const redisReply *r, void *out, mc_err *err)
{
    if (!mc_reply_is_int(r))
        return MC_REPLY_SHAPE;
    *(int *)out = r->integer != 0;
    return 0;
}

void mc_store_app_first(mc_store *st, const char *uscc, const char *except_id, int *first,
                        mc_store_cb cb, void *privdata)
{
    char kl[64], ko[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "app_first", 2, 1);
    mc_cmd_add(&c, mc_key(kl, sizeof(kl), "applive", uscc));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "orgcerts", uscc));
    mc_cmd_add(&c, except_id);
    mc_store_call(st, &c, read_first, first, cb, privdata);
}

/* ---- reads ---- */

/* An upload's hash judged for (login, org): u:<login> present -> mine;
 * a u:* whose value is org -> my_org. */
static int read_blob(const redisReply *r, mc_blob_meta *b, const char *login, const char *org)
{
    memset(b, 0, sizeof(*b));
    if (!mc_reply_is_array(r, 0) || r->elements % 2 != 0)
        return MC_REPLY_SHAPE;
    size_t ll = strlen(login), ol = strlen(org);
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (!mc_reply_is_str(k) || !mc_reply_is_str(v))
            return MC_REPLY_SHAPE;
        if (k->len > 2 && memcmp(k->str, "u:", 2) == 0) {
            if (k->len - 2 == ll && memcmp(k->str + 2, login, ll) == 0)
                b->mine = 1;
            if (v->len == ol && ol > 0 && memcmp(v->str, org, ol) == 0)
                b->my_org = 1;
        } else if (k->len == 2 && memcmp(k->str, "id", 2) == 0) {
            mc_reply_copy(b->id, sizeof(b->id), v);
        } else if (k->len == 4 && memcmp(k->str, "type", 4) == 0) {
            mc_reply_copy(b->type, sizeof(b->type), v);
        } else if (k->len == 4 && memcmp(k->str, "size", 4) == 0) {
            b->size = strtoll(v->str, NULL, 10);
        } else if (k->len == 7 && memcmp(k->str, "created", 7) == 0) {
            b->created = strtoll(v->str, NULL, 10);
        }
    }
    return 0;
}

static int read_ctx(const redisReply *r, void *out, mc_err *err)
{
    mc_app_ctx *x = out;
    if (!mc_reply_is_array(r, 2 + MC_APP_BLOBS))
        return MC_REPLY_SHAPE;
    const redisReply *ra = r->element[0], *ro = r->element[1];
    if (!mc_reply_is_array(ra, 0) || !mc_reply_is_array(ro, 0) || ro->elements % 2 != 0)
        return MC_REPLY_SHAPE;
    x->found = ra->elements > 0;
    if (read_app(ra, &x->app, err) != 0)
        return MC_REPLY_SHAPE;
    x->org_name[0] = '\0';
    for (size_t i = 0; i + 1 < ro->elements; i += 2)
        if (mc_reply_is_str(ro->element[i]) && ro->element[i]->len == 4 &&
            memcmp(ro->element[i]->str, "name", 4) == 0 && mc_reply_is_str(ro->element[i + 1]))
            mc_reply_copy(x->org_name, sizeof(x->org_name), ro->element[i + 1]);
    for (int i = 0; i < MC_APP_BLOBS; i++)
        if (read_blob(r->element[2 + i], &x->blob[i], x->login, x->org) != 0)
            return MC_REPLY_SHAPE;
    return 0;
}

void mc_store_app_ctx(mc_store *st, const char *id, const char *uscc,
                      const char *const blobs[MC_APP_BLOBS], const char *login,
                      const char *org, mc_app_ctx *out, mc_store_cb cb, void *privdata)
{
    char ka[64], ko[64], kb[MC_APP_BLOBS][96];
    snprintf(out->login, sizeof(out->login), "%s", login);
    snprintf(out->org, sizeof(out->org), "%s", org);
    mc_cmd c;
    mc_cmd_fcall(&c, "hgetall_many", 2 + MC_APP_BLOBS, 1);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", id ? id : "-"));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "org", uscc ? uscc : "-"));
    for (int i = 0; i < MC_APP_BLOBS; i++)
        mc_cmd_add(&c, mc_key(kb[i], sizeof(kb[i]), "blob",
                              blobs && blobs[i] && blobs[i][0] ? blobs[i] : "-"));
    mc_store_call(st, &c, read_ctx, out, cb, privdata);
}

void mc_store_app_get(mc_store *st, const char *id, mc_app *out, mc_store_cb cb,
                      void *privdata)
{
    char ka[64];
    mc_cmd c;
    mc_cmd_plain(&c, "HGETALL");
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", id));
    mc_store_call(st, &c, read_app_found, out, cb, privdata);
}

void mc_app_ids_free(mc_app_ids *l)
{
    if (l == NULL)
        return;
    free(l->id);
    l->id = NULL;
    l->n = 0;
}

static int read_ids(const redisReply *r, void *out, mc_err *err)
{
    mc_app_ids *l = out;
    mc_app_ids_free(l);
    if (!mc_reply_is_array(r, 0))
        return MC_REPLY_SHAPE;
    l->id = calloc(r->elements + 1, sizeof(*l->id));
    if (l->id == NULL)
        abort();
    for (size_t i = 0; i < r->elements; i++) {
        if (!mc_reply_is_str(r->element[i]))
            return MC_REPLY_SHAPE;
        mc_reply_copy(l->id[l->n], sizeof(l->id[0]), r->element[i]);
        l->n++;
    }
    return 0;
}

void mc_store_app_ids(mc_store *st, const char *uscc, mc_app_ids *out, mc_store_cb cb,
                      void *privdata)
{
    char k[64];
    mc_cmd c;
    mc_cmd_plain(&c, "ZREVRANGE");
    mc_cmd_add(&c, uscc ? mc_key(k, sizeof(k), "apps", uscc) : "{mc}:appq");
    mc_cmd_addi(&c, 0);
    mc_cmd_addi(&c, MC_APP_LIST_MAX - 1);
    mc_store_call(st, &c, read_ids, out, cb, privdata);
}

void mc_app_rows_free(mc_app_rows *r)
{
    if (r == NULL)
        return;
    free(r->a);
    r->a = NULL;
    r->n = 0;
}

static int read_rows(const redisReply *r, void *out, mc_err *err)
{
    mc_app_rows *x = out;
    if (!mc_reply_is_array(r, 0) || r->elements != x->n)
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < r->elements; i++)
        if (read_app(r->element[i], &x->a[i], err) != 0)
            return MC_REPLY_SHAPE;
    return 0;
}

static void rows_key_at(const void *arg, size_t i, char *buf, size_t size)
{
    const char(*ids)[MC_APP_ID_LEN + 1] = arg;
    mc_key(buf, size, "app", ids[i]);
}

/* O(n) keys in one call (mc_store_fcall_keys). Aborts on out of memory. */
void mc_store_app_rows(mc_store *st, char (*ids)[MC_APP_ID_LEN + 1], size_t n,
                       mc_app_rows *out, mc_store_cb cb, void *privdata)
{
    mc_app_rows_free(out);
    out->a = calloc(n + 1, sizeof(*out->a));
    if (out->a == NULL)
        abort();
    out->n = n;
    mc_store_fcall_keys(st, "hgetall_many", n, rows_key_at, ids, read_rows, out, cb, privdata);
}

static int read_order(const redisReply *r, void *out, mc_err *err)
{
    return mc_fields_read(order_fields, MC_NFIELDS(order_fields), r, out);
}

void mc_store_app_order(mc_store *st, const char *oid, mc_app_order *out, mc_store_cb cb,
                        void *privdata)
{
    char k[80];
    mc_cmd c;
    mc_cmd_plain(&c, "HGETALL");
    mc_cmd_add(&c, mc_key(k, sizeof(k), "order", oid));
    mc_store_call(st, &c, read_order, out, cb, privdata);
}

/* ---- uploads ---- */

void mc_store_blob_link(mc_store *st, const char *id, const char *type, int64_t size,
                        const char *login, const char *org, const mc_actor *ac,
                        mc_store_cb cb, void *privdata)
{
    char kb[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "blob_link", 2, 0);
    mc_cmd_add(&c, mc_key(kb, sizeof(kb), "blob", id));
    mc_cmd_add(&c, "{mc}:audit");
    add_actor(&c, ac);
    mc_cmd_add(&c, id);
    mc_cmd_add(&c, type);
    mc_cmd_addi(&c, (long long)size);
    mc_cmd_add(&c, login);
    mc_cmd_add(&c, org);
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}

/* The meta read's reader: its (login, org) and the caller's. Aborts on
 * out of memory. */
typedef struct blob_call {
    char login[65], org[19];
    mc_blob_meta *out;
    mc_store_cb cb;
    void *privdata;
} blob_call;

static int read_blob_meta(const redisReply *r, void *out, mc_err *err)
{
    blob_call *bc = out;
    return read_blob(r, bc->out, bc->login, bc->org);
}

static void on_blob_meta(void *privdata, const mc_err *err)
{
    blob_call *bc = privdata;
    mc_store_cb cb = bc->cb;
    void *pd = bc->privdata;
    free(bc);
    cb(pd, err);
}

void mc_store_blob_meta(mc_store *st, const char *id, const char *login, const char *org,
                        mc_blob_meta *out, mc_store_cb cb, void *privdata)
{
    blob_call *bc = calloc(1, sizeof(*bc));
    if (bc == NULL)
        abort(); /* out of memory */
    memset(out, 0, sizeof(*out));
    bc->out = out;
    bc->cb = cb;
    bc->privdata = privdata;
    snprintf(bc->login, sizeof(bc->login), "%s", login);
    snprintf(bc->org, sizeof(bc->org), "%s", org);
    char kb[96];
    mc_cmd c;
    mc_cmd_plain(&c, "HGETALL");
    mc_cmd_add(&c, mc_key(kb, sizeof(kb), "blob", id));
    mc_store_call(st, &c, read_blob_meta, bc, on_blob_meta, bc);
}
