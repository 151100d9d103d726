/*
 * api/invoice.c — invoices (发票, PROTOCOL.md §11):
 *
 *   GET    /api/v1/invoice-titles          the organisation's saved titles (≤ 5)
 *   POST   /api/v1/invoice-titles          save a new one
 *   PUT    /api/v1/invoice-titles/<tid>    change one
 *   DELETE /api/v1/invoice-titles/<tid>    delete one
 *   POST   /api/v1/invoices                ask for the invoice of a paid order
 *   GET    /api/v1/invoices?state=&order=  the caller's invoices, newest first
 *   GET    /api/v1/invoices/<id>           one
 *   GET    /api/v1/invoices/<id>/pdf       its PDF, once issued
 *   POST   /api/v1/invoices/<id>/issue     operator: {} (generate) | {"upload": <blob id>}
 *   POST   /api/v1/invoices/<id>/reject    operator: {"reason"}
 *   POST   /api/v1/invoices/<id>/void      operator (requested or issued); the
 *                                          requester's side: a requested one
 *
 * Rules kept here, in this order for an action on an invoice: the caller
 * may read it (mc_policy_inv_may_read: the order's owner, its admin,
 * operators; else 404 not_found), may do this (403 not_permitted), the state
 * allows it (the table of core/domain/mc_invoice.c; 409 bad_transition),
 * the fields are valid (400 bad_field, the message starting with the
 * field's name). The Redis Function (lua/invoice.lua) then re-checks the
 * state, the order and what was judged, atomically with its writes.
 *
 * Issue: an operator either names a PDF uploaded before (POST
 * /api/v1/uploads, type application/pdf) or lets the server make the
 * e-invoice (core/domain/mc_invoice_pdf.c). The PDF is rendered and stored
 * (mc_blob, blocking file I/O) on a worker thread, then one Redis Function
 * records the issue and the email to the receiver ({mc}:outbox, kind email,
 * with the invoice number and the PDF's blob id) in the same step. A PDF
 * stored for an issue that then fails (a racing operator) is an orphan blob,
 * content-addressed and harmless.
 *
 * Non-goals: sending the email (the sandbox gateway's stream is the
 * outbox); red-letter invoices (a wrong one is voided and asked again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_apply.h"
#include "mc_blob.h"
#include "mc_invoice.h"
#include "mc_invoice_pdf.h"
#include "mc_pay.h"
#include "mc_store_app.h"
#include "mc_store_inv.h"
#include "mc_workers.h"

/* ---- helpers ---- */

static mc_principal me_of(mc_req *r)
{
    return mc_api_principal(&r->who.acc);
}

static void actor_of(mc_req *r, mc_actor *a)
{
    a->who = r->who.acc.login;
    a->from = r->ip;
}

static json_t *title_json(const mc_inv_title *t)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", t->name, "tax_id",
                          t->tax_id, "address", t->address, "phone", t->phone, "bank", t->bank,
                          "account", t->account);
    if (t->id[0] != '\0')
        json_object_set_new(o, "id", json_string(t->id));
    return o;
}

static json_t *inv_json(const mc_invoice *v)
{
    mc_inv_title t;
    mc_inv_get_title(v, &t);
    json_t *goods = json_pack("[{s:s, s:s, s:s, s:I, s:I, s:I}]", "name", v->goods_name, "spec",
                              v->goods_spec, "unit", v->goods_unit, "qty",
                              (json_int_t)v->goods_qty, "price", (json_int_t)v->goods_price,
                              "amount", (json_int_t)v->goods_amount);
    json_t *o = json_object();
    struct {
        const char *k, *v;
    } s[] = {
        {"id", v->id},
        {"order", v->order},
        {"kind", v->kind},
        {"ref", v->ref},
        {"uscc", v->uscc},
        {"state", v->state},
        {"state_label", mc_inv_state_label(mc_inv_state_parse(v->state))},
        {"title_type", "企业"},
        {"invoice_type", "电子增值税普通发票"},
        {"receiver_phone", v->receiver_phone},
        {"receiver_email", v->receiver_email},
        {"reason", v->reason},
        {"pdf", v->pdf},
        {"pdf_source", v->pdf_source},
        {"requester", v->requester},
        {"owner", v->owner},
        {"by", v->by},
    };
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        json_object_set_new(o, s[i].k, json_string(s[i].v));
    json_object_set_new(o, "amount", json_integer(v->amount));
    json_object_set_new(o, "title", title_json(&t));
    json_object_set_new(o, "goods", goods);
    json_object_set_new(o, "requested_at", json_integer(v->requested_at));
    json_object_set_new(o, "issued_at", json_integer(v->issued_at));
    json_object_set_new(o, "ended_at", json_integer(v->ended_at));
    return o;
}

static mc_inv_owner owner_of(const mc_invoice *v)
{
    return (mc_inv_owner){v->owner, v->uscc};
}

/* The title fields of the JSON object j (only these keys) into t, each a
 * string of at most its array; then the rule (mc_inv_title_check). 0, or
 * -1 with err (400 bad_field "<field>: why"). */
static int title_parse(json_t *j, mc_inv_title *t, mc_err *err)
{
    static const char *const KEYS[] = {"name", "tax_id", "address", "phone", "bank",
                                       "account", NULL};
    struct {
        const char *k;
        char *dst;
        size_t size;
        int required;
    } f[] = {
        {"name", t->name, sizeof(t->name), 1},
        {"tax_id", t->tax_id, sizeof(t->tax_id), 1},
        {"address", t->address, sizeof(t->address), 0},
        {"phone", t->phone, sizeof(t->phone), 0},
        {"bank", t->bank, sizeof(t->bank), 0},
        {"account", t->account, sizeof(t->account), 0},
    };
    memset(t, 0, sizeof(*t));
    if (!json_is_object(j))
        return mc_err_set(err, 400, "bad_field", "title: an object {name, tax_id, address, "
                                                 "phone, bank, account}");
    if (mc_json_only(j, KEYS, err) != 0) {
        char why[sizeof(err->msg)];
        snprintf(why, sizeof(why), "%s", err->msg);
        return mc_err_set(err, 400, "bad_field", "title: %s", why); /* the field it is in */
    }
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        json_t *v = json_object_get(j, f[i].k);
        if (v == NULL) {
            if (f[i].required)
                return mc_err_set(err, 400, "bad_field", "%s: required", f[i].k);
            continue;
        }
        size_t n = json_is_string(v) ? json_string_length(v) : 0;
        if (!json_is_string(v) || n >= f[i].size || memchr(json_string_value(v), 0, n))
            return mc_err_set(err, 400, "bad_field", "%s: a string of at most %zu bytes",
                              f[i].k, f[i].size - 1);
        memcpy(f[i].dst, json_string_value(v), n);
        f[i].dst[n] = '\0';
    }
    const char *why;
    const char *bad = mc_inv_title_check(t, &why);
    if (bad != NULL)
        return mc_err_set(err, 400, "bad_field", "%s: %s", bad, why);
    return 0;
}

/* A string field of at most max bytes into dst (required). */
static int str_field(json_t *j, const char *k, char *dst, size_t size, mc_err *err)
{
    json_t *v = json_object_get(j, k);
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (v == NULL)
        return mc_err_set(err, 400, "bad_field", "%s: required", k);
    if (!json_is_string(v) || n >= size || memchr(json_string_value(v), 0, n))
        return mc_err_set(err, 400, "bad_field", "%s: a string of at most %zu bytes", k,
                          size - 1);
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return 0;
}

/* {"reason": 1..512 bytes of printable UTF-8} into out. 0 / -1 answered. */
static int reason_parse(mc_req *r, char out[MC_INV_REASON_MAX + 1])
{
    static const char *const allowed[] = {"reason", NULL};
    mc_err err;
    mc_err_clear(&err);
    const char *s;
    size_t n;
    if (r->json == NULL) {
        mc_reply_errf(r, 400, "bad_field", "reason: required");
        return -1;
    }
    if (mc_json_only(r->json, allowed, &err) != 0) {
        mc_reply_err(r, &err);
        return -1;
    }
    if (mc_json_str(r->json, "reason", MC_INV_REASON_MAX, 1, &s, &n, &err) != 0) {
        mc_reply_errf(r, 400, "bad_field", "reason: 1..512 bytes of printable UTF-8");
        return -1;
    }
    if (!mc_app_text_valid(s, n, MC_INV_REASON_MAX)) {
        mc_reply_errf(r, 400, "bad_field", "reason: 1..512 bytes of printable UTF-8");
        return -1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int operator_only(mc_req *r)
{
    mc_principal me = me_of(r);
    if (mc_policy_inv_may_issue(&me))
        return 0;
    mc_reply_errf(r, 403, "not_permitted", "only a CA operator issues, rejects or voids");
    return -1;
}

/* ---- titles ---- */

typedef struct titles_ctx {
    mc_inv_titles t;
    mc_inv_title title;           /* the one added or edited */
} titles_ctx;

static int may_keep_titles(mc_req *r)
{
    mc_principal me = me_of(r);
    if (mc_policy_inv_may_keep_titles(&me))
        return 0;
    mc_reply_errf(r, 403, "not_permitted", "operators keep no invoice titles");
    return -1;
}

/* A stored title (inv_title_put's JSON: the fields, id, created, seq) into
 * t, created and seq; -1 if it is not one. */
static int title_load(const char *id, const char *js, mc_inv_title *t, int64_t *created,
                      char seq[24])
{
    json_error_t je;
    json_t *o = json_loads(js, 0, &je);
    mc_err err;
    json_t *c = json_object_get(o, "created"), *q = json_object_get(o, "seq");
    *created = json_is_integer(c) ? json_integer_value(c) : 0;
    snprintf(seq, 24, "%s", json_is_string(q) ? json_string_value(q) : "");
    if (o != NULL) {
        json_object_del(o, "created");
        json_object_del(o, "seq");
        json_object_del(o, "id");
    }
    int rc = title_parse(o, t, &err);
    json_decref(o);
    snprintf(t->id, sizeof(t->id), "%s", id);
    return rc;
}

static json_t *title_out(const mc_inv_title *t, int64_t created)
{
    json_t *o = title_json(t);
    json_object_set_new(o, "created", json_integer(created));
    return o;
}

/* {titles: [...]} in the order they were added (a stored entry that does
 * not parse is left out); the one of id tid, if any, into *one. */
static json_t *titles_json(const mc_inv_titles *l, const char *tid, json_t **one)
{
    mc_inv_title t[MC_INV_TITLES_MAX + 3];
    int64_t created[MC_INV_TITLES_MAX + 3];
    char seq[MC_INV_TITLES_MAX + 3][24];
    size_t idx[MC_INV_TITLES_MAX + 3], n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (title_load(l->id[i], l->json[i], &t[i], &created[i], seq[i]) == 0)
            idx[n++] = i;
    for (size_t i = 1; i < n; i++) /* insertion sort: n <= 8 */
        for (size_t k = i; k > 0 && strcmp(seq[idx[k - 1]], seq[idx[k]]) > 0; k--) {
            size_t a = idx[k - 1];
            idx[k - 1] = idx[k];
            idx[k] = a;
        }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, title_out(&t[idx[i]], created[idx[i]]));
        if (one != NULL && tid != NULL && strcmp(t[idx[i]].id, tid) == 0)
            *one = title_out(&t[idx[i]], created[idx[i]]);
    }
    return json_pack("{s:o}", "titles", arr);
}

static void titles_on_read(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    titles_ctx *x = r->hctx;
    mc_reply_json(r, 200, titles_json(&x->t, NULL, NULL));
}

void mc_api_inv_titles(mc_req *r)
{
    if (may_keep_titles(r) != 0)
        return;
    titles_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    mc_store_inv_titles(r->node->store, r->who.acc.org, &x->t, titles_on_read, r);
}

static void title_on_saved(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    titles_ctx *x = r->hctx;
    json_t *one = NULL;
    json_decref(titles_json(&x->t, x->title.id, &one));
    if (one == NULL) {
        mc_reply_errf(r, 503, "store_unavailable", "the title saved could not be read back");
        return;
    }
    mc_reply_json(r, r->route->method == EVHTTP_REQ_POST ? 201 : 200, one);
}

/* Parse and check the body's title, then store it as x->title.id (add: a
 * new id; edit: an existing one, else 404). */
static void title_save(mc_req *r, int add)
{
    if (may_keep_titles(r) != 0)
        return;
    if (!add && !mc_inv_tid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such invoice title");
        return;
    }
    titles_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    mc_err err;
    mc_err_clear(&err);
    if (title_parse(r->json, &x->title, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (add)
        mc_inv_tid_new(x->title.id);
    else
        memcpy(x->title.id, r->param, MC_INV_TID_LEN); /* checked: 16 hex */
    json_t *o = title_json(&x->title);
    json_object_del(o, "id");
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (js == NULL || strlen(js) >= MC_INV_TITLE_JSON_MAX - 96) {
        free(js);
        mc_reply_errf(r, 400, "bad_field", "name: the title is too long to keep");
        return;
    }
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_inv_title_put(r->node->store, r->who.acc.org, x->title.id, js, add, &ac, &x->t,
                           title_on_saved, r);
    free(js);
}

void mc_api_inv_title_add(mc_req *r)
{
    title_save(r, 1);
}

void mc_api_inv_title_edit(mc_req *r)
{
    title_save(r, 0);
}

void mc_api_inv_title_del(mc_req *r)
{
    if (may_keep_titles(r) != 0)
        return;
    if (!mc_inv_tid_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such invoice title");
        return;
    }
    titles_ctx *x = mc_req_ctx(r, sizeof(*x), NULL);
    if (x == NULL)
        return;
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_inv_title_del(r->node->store, r->who.acc.org, r->param, &ac, &x->t,
                           titles_on_read, r);
}

/* ---- request ---- */

typedef struct req_ctx {
    mc_inv_ctx x;
    mc_invoice in;                /* the new invoice */
    mc_invoice out;
    char oid[MC_INV_ID_LEN + 1];
} req_ctx;

static void request_on_ctx(void *privdata, const mc_err *err);
static void request_on_stored(void *privdata, const mc_err *err);

void mc_api_inv_request(mc_req *r)
{
    static const char *const KEYS[] = {"order", "title", "receiver_phone", "receiver_email",
                                       NULL};
    mc_err err;
    mc_err_clear(&err);
    req_ctx *c = mc_req_ctx(r, sizeof(*c), NULL);
    if (c == NULL)
        return;
    mc_inv_title t;
    const char *why, *bad;
    if (mc_json_only(r->json, KEYS, &err) != 0 ||
        str_field(r->json, "order", c->oid, sizeof(c->oid), &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (!mc_pay_oid_valid(c->oid, strlen(c->oid))) {
        mc_reply_errf(r, 400, "bad_field", "order: not an order id (PO + 18 digits)");
        return;
    }
    /* §11.4's order: the title, receiver_phone (present, then its rule),
     * then receiver_email */
    if (title_parse(json_object_get(r->json, "title"), &t, &err) != 0 ||
        str_field(r->json, "receiver_phone", c->in.receiver_phone,
                  sizeof(c->in.receiver_phone), &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if ((bad = mc_inv_receiver_check(c->in.receiver_phone, NULL, &why))) {
        mc_reply_errf(r, 400, "bad_field", "%s: %s", bad, why);
        return;
    }
    if (str_field(r->json, "receiver_email", c->in.receiver_email,
                  sizeof(c->in.receiver_email), &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if ((bad = mc_inv_receiver_check(c->in.receiver_phone, c->in.receiver_email, &why))) {
        mc_reply_errf(r, 400, "bad_field", "%s: %s", bad, why);
        return;
    }
    mc_inv_set_title(&c->in, &t);
    mc_store_inv_ctx(r->node->store, c->oid, &c->x, request_on_ctx, r);
}

static void request_on_ctx(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    req_ctx *c = r->hctx;
    const mc_inv_order *o = &c->x.order;
    mc_principal me = me_of(r);
    mc_inv_owner ow = {mc_inv_order_owner(o), o->uscc};
    if (o->id[0] == '\0' || !mc_policy_inv_may_read(&me, &ow)) {
        mc_reply_errf(r, 404, "unknown_order", "no such order");
        return;
    }
    if (!mc_policy_inv_may_act(&me, &ow)) {
        mc_reply_errf(r, 403, "not_permitted",
                      "only the order's owner or its organisation's admin asks for its invoice");
        return;
    }
    if (strcmp(o->state, "paid") != 0) {
        mc_reply_errf(r, 409, "order_not_paid", "the order is %s, not paid", o->state);
        return;
    }
    if (c->x.inv.id[0] != '\0' && mc_inv_holds(c->x.inv.state)) {
        mc_reply_errf(r, 409, "invoice_exists", "the order has invoice %s (%s)", c->x.inv.id,
                      c->x.inv.state);
        return;
    }
    mc_inv_goods g;
    if (mc_inv_goods_of(o->kind, o->amount, MC_FEE_UNIT, &g) != 0) {
        mc_reply_errf(r, 409, "order_not_paid", "the order has nothing to invoice");
        return;
    }
    mc_invoice *in = &c->in;
    mc_inv_id_new(r->now, in->id);
    snprintf(in->order, sizeof(in->order), "%s", o->id);
    snprintf(in->kind, sizeof(in->kind), "%s", mc_inv_order_kind(o));
    snprintf(in->ref, sizeof(in->ref), "%s", mc_inv_order_ref(o));
    snprintf(in->uscc, sizeof(in->uscc), "%s", o->uscc);
    snprintf(in->owner, sizeof(in->owner), "%s", mc_inv_order_owner(o));
    in->amount = o->amount;
    mc_inv_set_goods(in, &g);
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_inv_request(r->node->store, in, c->x.inv.id, &ac, &c->out, request_on_stored, r);
}

static void request_on_stored(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    req_ctx *c = r->hctx;
    mc_reply_json(r, 201, inv_json(&c->out));
}

/* ---- lists ---- */

/* A filtered list (by state, or a staff account's own) reads page after
 * page of the index, newest first, until it holds MC_INV_LIST_MAX rows or
 * the index ends, at most LIST_PAGES pages (O(pages) round trips; the
 * unfiltered lists of operators and admins take one). */
#define LIST_PAGES 50

typedef struct list_ctx {
    mc_inv_oids oids;
    mc_inv_rows rows;
    mc_inv_ctx one;
    char state[16];
    char order[MC_INV_ID_LEN + 1];
    const char *uscc;             /* the index read: NULL (every invoice) or me's org */
    size_t offset, pages;
    json_t *arr;                  /* the rows kept so far */
} list_ctx;

static void list_free(void *p)
{
    list_ctx *l = p;
    mc_inv_rows_free(&l->rows);
    json_decref(l->arr);
    free(l);
}

static void list_on_oids(void *privdata, const mc_err *err);
static void list_on_rows(void *privdata, const mc_err *err);
static void list_on_one(void *privdata, const mc_err *err);

void mc_api_inv_list(mc_req *r)
{
    const char *st = evhttp_find_header(&r->query, "state");
    const char *od = evhttp_find_header(&r->query, "order");
    if (st != NULL && st[0] != '\0' && mc_inv_state_parse(st) == MC_INV_NONE) {
        mc_reply_errf(r, 400, "bad_query", "state is requested, issued, rejected or voided");
        return;
    }
    if (od != NULL && od[0] != '\0' && !mc_pay_oid_valid(od, strlen(od))) {
        mc_reply_errf(r, 400, "bad_query", "order is an order id");
        return;
    }
    list_ctx *l = mc_req_ctx(r, sizeof(*l), list_free);
    if (l == NULL)
        return;
    l->arr = json_array();
    snprintf(l->state, sizeof(l->state), "%s", st ? st : "");
    snprintf(l->order, sizeof(l->order), "%s", od ? od : "");
    mc_principal me = me_of(r);
    if (l->order[0] != '\0') {
        mc_store_inv_ctx(r->node->store, l->order, &l->one, list_on_one, r);
        return;
    }
    l->uscc = mc_policy_inv_may_issue(&me) ? NULL : r->who.acc.org;
    mc_store_inv_oids(r->node->store, l->uscc, 0, &l->oids, list_on_oids, r);
}

static void list_on_oids(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *l = r->hctx;
    if (l->oids.n == 0) {
        mc_err ok;
        mc_err_clear(&ok);
        list_on_rows(r, &ok);
        return;
    }
    mc_store_inv_rows(r->node->store, &l->oids, &l->rows, list_on_rows, r);
}

/* Whether row v is in the caller's list. */
static int list_keeps(mc_req *r, const list_ctx *l, const mc_invoice *v)
{
    mc_principal me = me_of(r);
    mc_inv_owner ow = owner_of(v);
    if (v->id[0] == '\0' || !mc_policy_inv_may_read(&me, &ow))
        return 0;
    if (!mc_policy_inv_may_issue(&me) && !mc_policy_inv_sees_org(&me) &&
        strcmp(v->owner, me.login) != 0)
        return 0;
    return l->state[0] == '\0' || strcmp(v->state, l->state) == 0;
}

/* Those of the rows v[0..n) the caller's list keeps onto l->arr (at most
 * MC_INV_LIST_MAX in all). */
static void list_keep(mc_req *r, list_ctx *l, const mc_invoice *v, size_t n)
{
    for (size_t i = 0; i < n && json_array_size(l->arr) < MC_INV_LIST_MAX; i++)
        if (list_keeps(r, l, &v[i]))
            json_array_append_new(l->arr, inv_json(&v[i]));
}

static void list_reply(mc_req *r, list_ctx *l)
{
    json_t *arr = l->arr;
    l->arr = NULL;
    mc_reply_json(r, 200, json_pack("{s:o}", "invoices", arr));
}

static void list_on_rows(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *l = r->hctx;
    list_keep(r, l, l->rows.v, l->oids.n == 0 ? 0 : l->rows.n);
    /* a full page may have more after it: read on while the list is short */
    if (json_array_size(l->arr) < MC_INV_LIST_MAX && l->oids.page == MC_INV_LIST_MAX &&
        ++l->pages < LIST_PAGES) {
        l->offset += l->oids.page;
        mc_store_inv_oids(r->node->store, l->uscc, l->offset, &l->oids, list_on_oids, r);
        return;
    }
    list_reply(r, l);
}

static void list_on_one(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *l = r->hctx;
    list_keep(r, l, &l->one.inv, 1);
    list_reply(r, l);
}

/* ---- the steps shared by every action on one invoice ---- */

typedef struct act_ctx {
    char oid[MC_INV_ID_LEN + 1];
    mc_inv_ctx x;
    mc_invoice out;
    char reason[MC_INV_REASON_MAX + 1];
    char upload[MC_BLOB_ID_LEN + 1];
    mc_blob_meta meta;
    /* the worker's */
    char drawer[65];
    char pdf[MC_BLOB_ID_LEN + 1];
    int64_t size;
    mc_buf data;
    mc_err werr;
    void (*next)(mc_req *r);
} act_ctx;

static void act_free(void *p)
{
    act_ctx *c = p;
    mc_buf_free(&c->data);
    free(c);
}

static void act_on_located(void *privdata, const mc_err *err);
static void act_on_read(void *privdata, const mc_err *err);

/* Find invoice r->param, then, if the caller may read it, run next. */
static void act_begin(mc_req *r, act_ctx *c, void (*next)(mc_req *r))
{
    c->next = next;
    mc_store_inv_locate(r->node->store, r->param, c->oid, act_on_located, r);
}

/* The context of an action on invoice r->param; NULL when answered. */
static act_ctx *act_new(mc_req *r)
{
    if (!mc_inv_id_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such invoice");
        return NULL;
    }
    return mc_req_ctx(r, sizeof(act_ctx), act_free);
}

static void act_on_located(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    if (c->oid[0] == '\0') {
        mc_reply_errf(r, 404, "not_found", "no such invoice");
        return;
    }
    mc_store_inv_ctx(r->node->store, c->oid, &c->x, act_on_read, r);
}

static void act_on_read(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    mc_principal me = me_of(r);
    mc_inv_owner ow = owner_of(&c->x.inv);
    if (strcmp(c->x.inv.id, r->param) != 0 || !mc_policy_inv_may_read(&me, &ow)) {
        mc_reply_errf(r, 404, "not_found", "no such invoice");
        return;
    }
    c->next(r);
}

/* 409 unless `event` may happen in v's state. 0 / -1 (answered). */
static int state_allows(mc_req *r, const mc_invoice *v, mc_inv_event ev)
{
    return mc_api_transition_ok(r, mc_inv_next(mc_inv_state_parse(v->state), ev),
                                mc_inv_event_name(ev), v->state);
}

static void on_written(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    mc_reply_json(r, 200, inv_json(&c->out));
}

/* ---- get, pdf ---- */

static void get_judged(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_reply_json(r, 200, inv_json(&c->x.inv));
}

void mc_api_inv_get(mc_req *r)
{
    act_ctx *c = act_new(r);
    if (c != NULL)
        act_begin(r, c, get_judged);
}

static void pdf_work(void *arg)
{
    mc_req *r = arg;
    act_ctx *c = r->hctx;
    mc_err_clear(&c->werr);
    mc_blob_get(r->node->blobs, c->x.inv.pdf, MC_UPLOAD_MAX, &c->data, &c->werr);
}

static void pdf_on_read(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    act_ctx *c = r->hctx;
    if (c->werr.status != 0) {
        fprintf(stderr, "mcertd: invoice PDF %s not read: %s\n", c->x.inv.pdf, c->werr.msg);
        mc_reply_errf(r, 503, "busy", "the PDF could not be read; try again");
        return;
    }
    char disp[96];
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s.pdf\"", c->x.inv.id);
    const char *h[] = {"Content-Disposition", disp, "Content-Security-Policy",
                       "default-src 'none'; sandbox", NULL};
    mc_reply_body(r, 200, "application/pdf", c->data.ptr, c->data.len, h);
}

static void pdf_judged(mc_req *r)
{
    act_ctx *c = r->hctx;
    if (c->x.inv.pdf[0] == '\0') {
        mc_reply_errf(r, 409, "bad_transition", "the invoice is %s: it has no PDF",
                      c->x.inv.state);
        return;
    }
    if (mc_workers_submit(r->node->workers, pdf_work, pdf_on_read, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; try again in a moment");
}

void mc_api_inv_pdf(mc_req *r)
{
    act_ctx *c = act_new(r);
    if (c != NULL)
        act_begin(r, c, pdf_judged);
}

/* ---- issue (operator) ---- */

static void issue_store(mc_req *r, const char *source)
{
    act_ctx *c = r->hctx;
    char subject[160], text[1024];
    mc_inv_email(&c->x.inv, subject, sizeof(subject), text, sizeof(text));
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_inv_issue(r->node->store, &c->x.inv, c->pdf, c->size, source, subject, text, &ac,
                       &c->out, on_written, r);
}

/* On a worker thread: render the e-invoice and store it. Touches only the
 * act_ctx. */
static void issue_work(void *arg)
{
    mc_req *r = arg;
    act_ctx *c = r->hctx;
    mc_err_clear(&c->werr);
    mc_buf pdf = {0};
    mc_inv_pdf_render(&c->x.inv, r->now, c->drawer, &pdf);
    c->size = (int64_t)pdf.len;
    mc_blob_put(r->node->blobs, pdf.ptr, pdf.len, c->pdf, &c->werr);
    mc_buf_free(&pdf);
}

static void issue_on_stored(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    act_ctx *c = r->hctx;
    if (c->werr.status != 0) {
        fprintf(stderr, "mcertd: invoice PDF not stored: %s\n", c->werr.msg);
        mc_reply_errf(r, 503, "busy", "the PDF could not be stored; try again");
        return;
    }
    issue_store(r, "generated");
}

static void issue_on_meta(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    if (c->meta.id[0] == '\0') {
        mc_reply_errf(r, 400, "bad_field", "upload: no such upload");
        return;
    }
    if (strcmp(c->meta.type, "application/pdf") != 0) {
        mc_reply_errf(r, 400, "bad_field", "upload: not a PDF (it is %s)", c->meta.type);
        return;
    }
    snprintf(c->pdf, sizeof(c->pdf), "%s", c->meta.id);
    c->size = c->meta.size;
    issue_store(r, "upload");
}

static void issue_judged(mc_req *r)
{
    act_ctx *c = r->hctx;
    if (state_allows(r, &c->x.inv, MC_INV_EV_ISSUE) != 0)
        return;
    if (c->upload[0] != '\0') {
        mc_store_blob_meta(r->node->store, c->upload, r->who.acc.login, r->who.acc.org,
                           &c->meta, issue_on_meta, r);
        return;
    }
    snprintf(c->drawer, sizeof(c->drawer), "%s", r->who.acc.login);
    if (mc_workers_submit(r->node->workers, issue_work, issue_on_stored, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; try again in a moment");
}

void mc_api_inv_issue(mc_req *r)
{
    static const char *const allowed[] = {"upload", NULL};
    if (operator_only(r) != 0)
        return;
    mc_err err;
    mc_err_clear(&err);
    const char *up = NULL;
    size_t n = 0;
    if (r->json != NULL && mc_json_only(r->json, allowed, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (r->json != NULL && mc_json_str(r->json, "upload", MC_BLOB_ID_LEN, 0, &up, &n, &err)) {
        mc_reply_errf(r, 400, "bad_field", "upload: an upload id (64 hex)");
        return;
    }
    if (up != NULL && !mc_blob_id_valid(up, n)) {
        mc_reply_errf(r, 400, "bad_field", "upload: not an upload id (64 hex)");
        return;
    }
    act_ctx *c = act_new(r);
    if (c == NULL)
        return;
    if (up != NULL)
        memcpy(c->upload, up, n);
    act_begin(r, c, issue_judged);
}

/* ---- reject (operator), void ---- */

static void reject_judged(mc_req *r)
{
    act_ctx *c = r->hctx;
    if (state_allows(r, &c->x.inv, MC_INV_EV_REJECT) != 0)
        return;
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_inv_finish(r->node->store, &c->x.inv, MC_INV_EV_REJECT, 1, c->reason, &ac,
                        &c->out, on_written, r);
}

/* An action that carries a reason (reject, void): the body's reason, then
 * act_begin towards next. */
static void act_with_reason(mc_req *r, void (*next)(mc_req *r))
{
    char reason[MC_INV_REASON_MAX + 1];
    if (reason_parse(r, reason) != 0)
        return;
    act_ctx *c = act_new(r);
    if (c == NULL)
        return;
    memcpy(c->reason, reason, sizeof(reason));
    act_begin(r, c, next);
}

void mc_api_inv_reject(mc_req *r)
{
    if (operator_only(r) != 0)
        return;
    act_with_reason(r, reject_judged);
}

static void void_judged(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_principal me = me_of(r);
    mc_inv_owner ow = owner_of(&c->x.inv);
    int op = mc_policy_inv_may_issue(&me);
    if (!op && !mc_policy_inv_may_act(&me, &ow)) {
        mc_reply_errf(r, 403, "not_permitted", "only the order's owner, its admin or a CA "
                                               "operator");
        return;
    }
    if (state_allows(r, &c->x.inv, MC_INV_EV_VOID) != 0)
        return;
    if (!op && strcmp(c->x.inv.state, "requested") != 0) {
        mc_reply_errf(r, 403, "not_permitted", "only a CA operator voids an issued invoice");
        return;
    }
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_inv_finish(r->node->store, &c->x.inv, MC_INV_EV_VOID, op, c->reason, &ac, &c->out,
                        on_written, r);
}

void mc_api_inv_void(mc_req *r)
{
    act_with_reason(r, void_judged);
}
