/*
 * api/apply.c — certificate applications (申领, PROTOCOL.md §9.1–§9.5):
 *
 *   POST /api/v1/uploads                      a scan (raw JPEG/PNG/PDF) -> {id}
 *   GET  /api/v1/uploads/<id>                 the scan, to whom may see it
 *   GET  /api/v1/applications/fee             the fee before submission
 *   POST /api/v1/applications                 create a draft
 *   GET  /api/v1/applications                 the caller's list (state, q, page)
 *   GET  /api/v1/applications/<id>            one application
 *   PUT  /api/v1/applications/<id>            edit a draft or a rejected one
 *   POST /api/v1/applications/<id>/submit     -> pending_payment | pending_review
 *   POST /api/v1/applications/<id>/withdraw   -> withdrawn (refunded if paid)
 *   POST /api/v1/applications/<id>/identity   the face check (sandbox provider)
 *   GET  /api/v1/review                       the operator's queue
 *   POST /api/v1/applications/<id>/approve    operator: activation + SMS
 *   POST /api/v1/applications/<id>/activation applicant, its admin, operator:
 *                                             a new code (lost, locked, expired)
 *   POST /api/v1/applications/<id>/reject     operator: with a reason (refunded if paid)
 *
 * Rules kept here, in this order for every action on an application: the
 * caller may read it (mc_policy_app_may_read; else 404 not_found, the
 * number's existence is not revealed), may act on it (403 not_permitted),
 * the state allows it (the table of mc_apply.c; 409 bad_transition), the
 * fields are valid (400 bad_field, the message starting with the field's
 * name). The Redis Function then re-checks the state atomically.
 *
 * Uploads are stored content-addressed behind mc_blob (the node's store,
 * r->node->blobs; blocking file I/O, so on a worker thread) and then
 * linked to the uploader in Redis.
 * An application may only name uploads linked to its own organisation.
 *
 * The identity check is a provider interface (idcheck_provider) with one
 * provider, the sandbox; each check is counted per holder_id per day
 * BEFORE it is made (10 a day: 429 too_many_attempts).
 *
 * Payment and refunds are api/pay.c's: a withdraw or reject of a paid
 * application marks its order refund_pending in the same Redis Function,
 * then this file calls mc_pay_refund (fire-and-forget; PAY's sweep asks
 * again if that fails).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mc_api.h"
#include "mc_apply.h"
#include "mc_blob.h"
#include "mc_crypto.h"
#include "mc_store_app.h"
#include "mc_workers.h"

#define LIST_PER_PAGE 20
#define LIST_PAGE_MAX 1000

/* ---- helpers ---- */

static mc_principal me_of(mc_req *r)
{
    return mc_api_principal(&r->who.acc);
}

static mc_app_owner owner_of(const mc_app *a)
{
    return (mc_app_owner){a->applicant, a->uscc};
}

static json_t *app_json(const mc_app *a)
{
    mc_app_state st = mc_app_state_parse(a->state);
    json_t *o = json_object();
    struct {
        const char *k, *v;
    } s[] = {
        {"id", a->id},
        {"provider", a->provider},
        {"kind", a->kind},
        {"org_name", a->org_name},
        {"org_type", a->org_type},
        {"org_type_label", mc_org_type_label(a->org_type)},
        {"uscc", a->uscc},
        {"region", a->region},
        {"licence", a->licence},
        {"holder_name", a->holder_name},
        {"holder_id", a->holder_id},
        {"mobile", a->mobile},
        {"email", a->email},
        {"id_scan", a->id_scan},
        {"auth_letter", a->auth_letter},
        {"alg", a->alg},
        {"delivery", a->delivery},
        {"identity", a->identity},
        {"state", a->state},
        {"state_label", mc_app_state_label(st)},
        {"reason", a->reason},
        {"applicant", a->applicant},
        {"reviewer", a->reviewer},
        {"order_id", a->order},
        {"cert", a->cert},
    };
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        json_object_set_new(o, s[i].k, json_string(s[i].v));
    json_object_set_new(o, "quantity", json_integer(a->quantity));
    json_object_set_new(o, "fee", json_integer(a->fee));
    json_object_set_new(o, "paid", json_boolean(strcmp(a->paid, "1") == 0));
    json_object_set_new(o, "created", json_integer(a->created));
    json_object_set_new(o, "submitted_at", json_integer(a->submitted_at));
    json_object_set_new(o, "reviewed_at", json_integer(a->reviewed_at));
    json_object_set_new(o, "gen", json_integer(a->gen));
    return o;
}

/* A list row: what the list page shows (no ID number, no contacts). */
static json_t *app_row_json(const mc_app *a)
{
    mc_app_state st = mc_app_state_parse(a->state);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "id",
                     a->id, "provider", a->provider, "org_name", a->org_name, "holder_name",
                     a->holder_name, "applicant", a->applicant, "identity", a->identity,
                     "state", a->state, "state_label", mc_app_state_label(st), "reason",
                     a->reason, "fee", (json_int_t)a->fee, "created", (json_int_t)a->created,
                     "submitted_at", (json_int_t)a->submitted_at, "paid",
                     strcmp(a->paid, "1") == 0);
}

/* 409 unless `event` may happen in a's state (the table). 0 / -1 (answered). */
static int state_allows(mc_req *r, const mc_app *a, mc_app_event event)
{
    return mc_api_transition_ok(r, mc_app_next(mc_app_state_parse(a->state), event),
                                mc_app_event_name(event), a->state);
}

/* The form fields a body may set, each a string member of mc_app. */
typedef struct form_field {
    const char *name;
    size_t off, size;
} form_field;
#define FF(m) {#m, offsetof(mc_app, m), sizeof(((mc_app *)0)->m)}
static const form_field FORM[] = {
    FF(provider), FF(kind),     FF(org_name),  FF(org_type), FF(region),      FF(licence),
    FF(holder_name), FF(holder_id), FF(mobile), FF(email),  FF(id_scan),     FF(auth_letter),
    FF(alg),      FF(delivery), FF(identity),
};
#undef FF
static const char *const FORM_KEYS[] = {
    "provider", "kind",   "quantity", "org_name", "org_type",    "uscc",
    "region",   "licence", "holder_name", "holder_id", "mobile", "email",
    "id_scan",  "auth_letter", "alg", "delivery", "identity", NULL,
};

/* The body's fields onto a (only those present). uscc: taken only when
 * allow_uscc (creation). 0, or -1 with err naming the field. */
static int form_parse(json_t *j, mc_app *a, int allow_uscc, mc_err *err)
{
    if (mc_json_only(j, FORM_KEYS, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(FORM) / sizeof(FORM[0]); i++) {
        const char *v;
        size_t n;
        if (mc_json_str(j, FORM[i].name, FORM[i].size - 1, 0, &v, &n, err) != 0)
            return mc_err_set(err, 400, "bad_field", "%s: a string of at most %zu bytes",
                              FORM[i].name, FORM[i].size - 1);
        if (v == NULL)
            continue;
        char *dst = (char *)a + FORM[i].off;
        memcpy(dst, v, n);
        dst[n] = '\0';
    }
    json_t *q = json_object_get(j, "quantity");
    if (q != NULL) {
        if (!json_is_integer(q) || json_integer_value(q) < 0 || json_integer_value(q) > 1000)
            return mc_err_set(err, 400, "bad_field", "quantity: an integer (1)");
        a->quantity = json_integer_value(q);
    }
    json_t *u = json_object_get(j, "uscc");
    if (u != NULL) {
        if (!allow_uscc)
            return mc_err_set(err, 400, "bad_field", "uscc: fixed at creation");
        if (!json_is_string(u) || json_string_length(u) != 18)
            return mc_err_set(err, 400, "bad_field", "uscc: 18 characters");
        if (strcmp(json_string_value(u), a->uscc) != 0)
            return mc_err_set(err, 403, "org_mismatch",
                              "uscc: an application is for the applicant's own organisation");
    }
    return 0;
}

/* The check of mc_apply.c answered: 0, or -1 (400 bad_field "<field>: why"). */
static int form_check(mc_req *r, const mc_app *a, int whole, int face_ok)
{
    const char *why = NULL;
    const char *bad = mc_app_check(a, whole, face_ok, r->node->cfg->providerv, &why);
    if (bad == NULL)
        return 0;
    mc_reply_errf(r, 400, "bad_field", "%s: %s", bad, why);
    return -1;
}

static const char *blob_field_name(int i)
{
    return i == 0 ? "licence" : i == 1 ? "id_scan" : "auth_letter";
}

static const char *blob_of(const mc_app *a, int i)
{
    return i == 0 ? a->licence : i == 1 ? a->id_scan : a->auth_letter;
}

/* Every upload the body named (present in j) must be one of the
 * application's organisation. 0 / -1 (answered). */
static int blobs_ok(mc_req *r, const mc_app_ctx *x, const mc_app *a, json_t *j)
{
    for (int i = 0; i < MC_APP_BLOBS; i++) {
        const char *id = blob_of(a, i);
        if (j != NULL && json_object_get(j, blob_field_name(i)) == NULL)
            continue; /* unchanged */
        if (id[0] == '\0')
            continue;
        const mc_blob_meta *b = &x->blob[i];
        if (b->id[0] == '\0' || strcmp(b->id, id) != 0) {
            mc_reply_errf(r, 400, "bad_field", "%s: no such upload", blob_field_name(i));
            return -1;
        }
        if (!b->my_org) {
            mc_reply_errf(r, 400, "bad_field", "%s: not an upload of this organisation",
                          blob_field_name(i));
            return -1;
        }
    }
    return 0;
}

static void actor_of(mc_req *r, mc_actor *a)
{
    a->who = r->who.acc.login;
    a->from = r->ip;
}

/* ---- create ---- */

typedef struct create_ctx {
    mc_app draft;                 /* being made */
    mc_app_ctx x;                 /* the organisation and the uploads it names */
    mc_app out;
} create_ctx;

static void create_on_ctx(void *privdata, const mc_err *err);
static void create_on_stored(void *privdata, const mc_err *err);

void mc_api_app_create(mc_req *r)
{
    mc_principal me = me_of(r);
    if (!mc_policy_app_may_create(&me)) {
        mc_reply_errf(r, 403, "not_permitted", "this account does not apply for certificates");
        return;
    }
    create_ctx *c = mc_req_ctx(r, sizeof(*c), NULL);
    if (c == NULL)
        return;
    mc_app *a = &c->draft;
    snprintf(a->provider, sizeof(a->provider), "%s", r->node->cfg->providers[0]);
    snprintf(a->kind, sizeof(a->kind), "mobile");
    a->quantity = 1;
    snprintf(a->delivery, sizeof(a->delivery), "online");
    snprintf(a->identity, sizeof(a->identity), "none");
    snprintf(a->uscc, sizeof(a->uscc), "%s", me.org);
    mc_err err;
    mc_err_clear(&err);
    if (form_parse(r->json, a, 1, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (form_check(r, a, 0, 0) != 0)
        return;
    mc_app_id_make(r->now, mc_random_below(100000000u), a->id);
    snprintf(a->applicant, sizeof(a->applicant), "%s", me.login);
    const char *blobs[MC_APP_BLOBS] = {a->licence, a->id_scan, a->auth_letter};
    mc_store_app_ctx(r->node->store, NULL, me.org, blobs, me.login, me.org, &c->x,
                     create_on_ctx, r);
}

static void create_on_ctx(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    create_ctx *c = r->hctx;
    mc_app *a = &c->draft;
    if (blobs_ok(r, &c->x, a, NULL) != 0)
        return;
    if (a->org_name[0] == '\0')
        snprintf(a->org_name, sizeof(a->org_name), "%s", c->x.org_name);
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_create(r->node->store, a, &ac, &c->out, create_on_stored, r);
}

static void create_on_stored(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    create_ctx *c = r->hctx;
    mc_reply_json(r, 201, app_json(&c->out));
}

/* ---- the steps shared by every action on one application ---- */

/* One action's context: the read, then the write's answer. */
typedef struct act_ctx {
    mc_app_ctx x;
    mc_app_done done;
    mc_app_order order;
    mc_idcount idc;
    int first;
    char reason[MC_APP_REASON_MAX + 1];
    char result[8];               /* identity: the sandbox's forced result, "" */
    char code_hash[65];
    char sms[MC_SMS_MAX];
    void (*next)(mc_req *r);      /* the action, once read and judged readable */
} act_ctx;

static void act_on_read(void *privdata, const mc_err *err);

/* The context of an action on application r->param; NULL when answered
 * (404 for a malformed number, 503 out of memory). */
static act_ctx *act_new(mc_req *r)
{
    if (!mc_app_number_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such application");
        return NULL;
    }
    return mc_req_ctx(r, sizeof(act_ctx), NULL);
}

/* Read the application (with the uploads the body names, for an edit),
 * then, if the caller may read it, run next. */
static void act_read(mc_req *r, act_ctx *c, void (*next)(mc_req *r))
{
    c->next = next;
    const char *blobs[MC_APP_BLOBS] = {NULL, NULL, NULL};
    for (int i = 0; r->json != NULL && i < MC_APP_BLOBS; i++) {
        json_t *v = json_object_get(r->json, blob_field_name(i));
        if (json_is_string(v) && mc_blob_id_valid(json_string_value(v), json_string_length(v)))
            blobs[i] = json_string_value(v);
    }
    mc_principal me = me_of(r);
    mc_store_app_ctx(r->node->store, r->param, NULL, blobs, me.login, me.org, &c->x,
                     act_on_read, r);
}

static void act_begin(mc_req *r, void (*next)(mc_req *r))
{
    act_ctx *c = act_new(r);
    if (c != NULL)
        act_read(r, c, next);
}

static void act_on_read(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    mc_principal me = me_of(r);
    mc_app_owner ow = owner_of(&c->x.app);
    if (!c->x.found || !mc_policy_app_may_read(&me, &ow)) {
        mc_reply_errf(r, 404, "not_found", "no such application");
        return;
    }
    c->next(r);
}

/* 0 if the caller may act (applicant, its admin), else answered 403. */
static int may_act(mc_req *r, const mc_app *a)
{
    mc_principal me = me_of(r);
    mc_app_owner ow = owner_of(a);
    if (mc_policy_app_may_act(&me, &ow))
        return 0;
    mc_reply_errf(r, 403, "not_permitted", "only the applicant or its organisation's admin");
    return -1;
}

static void on_app_written(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    mc_reply_json(r, 200, app_json(&c->done.app));
}

/* withdraw and reject: refund what was paid, then answer. */
static void on_app_ended(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    json_t *o = app_json(&c->done.app);
    if (c->done.refund[0] != '\0') {
        mc_actor ac;
        actor_of(r, &ac);
        if (mc_pay_refund(r->node, c->done.refund, &ac) != 0)
            fprintf(stderr, "mcertd: refund of %s not asked now; the sweep asks again\n",
                    c->done.refund);
    }
    json_object_set_new(o, "refund_order", json_string(c->done.refund));
    mc_reply_json(r, 200, o);
}

/* ---- read one ---- */

static void get_on_order(void *privdata, const mc_err *err);
static void get_on_first(void *privdata, const mc_err *err);

static void get_read(mc_req *r)
{
    act_ctx *c = r->hctx;
    if (c->x.app.order[0] != '\0') {
        mc_store_app_order(r->node->store, c->x.app.order, &c->order, get_on_order, r);
        return;
    }
    mc_err ok;
    mc_err_clear(&ok);
    get_on_order(r, &ok);
}

static void get_on_order(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    mc_app_state st = mc_app_state_parse(c->x.app.state);
    if (st == MC_APP_DRAFT || st == MC_APP_REJECTED) {
        mc_store_app_first(r->node->store, c->x.app.uscc, c->x.app.id, &c->first, get_on_first,
                           r);
        return;
    }
    c->first = -1;
    mc_err ok;
    mc_err_clear(&ok);
    get_on_first(r, &ok);
}

static void get_on_first(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    const mc_app *a = &c->x.app;
    json_t *o = app_json(a);
    const mc_app_order *od = &c->order;
    if (od->id[0] != '\0')
        json_object_set_new(o, "order",
                            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id", od->id,
                                      "state", od->state, "provider", od->provider, "amount",
                                      (json_int_t)od->amount, "created",
                                      (json_int_t)od->created, "expires",
                                      (json_int_t)od->expires, "paid_at",
                                      (json_int_t)od->paid_at, "refunded_at",
                                      (json_int_t)od->refunded_at));
    else
        json_object_set_new(o, "order", json_null());
    if (c->first >= 0) {
        int64_t fee = mc_app_fee(a->org_type, a->quantity ? a->quantity : 1, c->first);
        json_object_set_new(o, "fee_preview",
                            json_pack("{s:I, s:b, s:b}", "fee", (json_int_t)fee, "first",
                                      c->first, "known", a->org_type[0] != '\0'));
    }
    mc_reply_json(r, 200, o);
}

void mc_api_app_get(mc_req *r)
{
    act_begin(r, get_read);
}

/* ---- edit ---- */

static void edit_judge(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    if (may_act(r, a) != 0 || state_allows(r, a, MC_APP_EV_EDIT) != 0)
        return;
    char name0[sizeof(a->holder_name)], id0[sizeof(a->holder_id)], ident0[sizeof(a->identity)];
    memcpy(name0, a->holder_name, sizeof(name0));
    memcpy(id0, a->holder_id, sizeof(id0));
    memcpy(ident0, a->identity, sizeof(ident0));
    mc_err err;
    mc_err_clear(&err);
    if (form_parse(r->json, a, 0, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    /* face_passed is kept for the same holder, never set by the form */
    int keep_face = strcmp(ident0, "face_passed") == 0 && strcmp(name0, a->holder_name) == 0 &&
                    strcmp(id0, a->holder_id) == 0;
    json_t *ji = json_object_get(r->json, "identity");
    if (strcmp(ident0, "face_passed") == 0 && ji == NULL)
        snprintf(a->identity, sizeof(a->identity), "%s", keep_face ? "face_passed" : "none");
    if (form_check(r, a, 0, keep_face && ji == NULL) != 0 || blobs_ok(r, &c->x, a, r->json) != 0)
        return;
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_edit(r->node->store, a, &ac, &c->done.app, on_app_written, r);
}

void mc_api_app_edit(mc_req *r)
{
    act_begin(r, edit_judge);
}

/* ---- submit ---- */

static void submit_judge(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    if (may_act(r, a) != 0 || state_allows(r, a, MC_APP_EV_SUBMIT_FREE) != 0 ||
        form_check(r, a, 1, 1) != 0)
        return;
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_submit(r->node->store, a, mc_app_fee(a->org_type, a->quantity, 1),
                        mc_app_fee(a->org_type, a->quantity, 0), &ac, &c->done.app,
                        on_app_written, r);
}

void mc_api_app_submit(mc_req *r)
{
    act_begin(r, submit_judge);
}

/* ---- withdraw ---- */

static void withdraw_judge(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    if (may_act(r, a) != 0 || state_allows(r, a, MC_APP_EV_WITHDRAW) != 0)
        return;
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_withdraw(r->node->store, a, &ac, &c->done, on_app_ended, r);
}

void mc_api_app_withdraw(mc_req *r)
{
    static const char *const none[] = {NULL};
    mc_err err;
    mc_err_clear(&err);
    if (r->json != NULL && mc_json_only(r->json, none, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    act_begin(r, withdraw_judge);
}

/* ---- review (operator) ---- */

static int operator_only(mc_req *r)
{
    mc_principal me = me_of(r);
    if (mc_policy_app_may_review(&me))
        return 0;
    mc_reply_errf(r, 403, "not_permitted", "only a CA operator reviews applications");
    return -1;
}

static void approve_judge(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    if (state_allows(r, a, MC_APP_EV_APPROVE) != 0)
        return;
    mc_app_activation_new(a->id, c->code_hash, c->sms, sizeof(c->sms));
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_approve(r->node->store, a->id, c->code_hash, MC_ACTIVATION_TTL, c->sms, &ac,
                         &c->done.app, on_app_written, r);
    OPENSSL_cleanse(c->sms, sizeof(c->sms));
}

void mc_api_app_approve(mc_req *r)
{
    static const char *const none[] = {NULL};
    mc_err err;
    mc_err_clear(&err);
    if (operator_only(r) != 0)
        return;
    if (r->json != NULL && mc_json_only(r->json, none, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    act_begin(r, approve_judge);
}

/* ---- a new activation code (the old one lost, locked or expired) ---- */

#define ACTIVATION_REISSUES 5

static void reactivate_judge(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    mc_principal me = me_of(r);
    if (!mc_policy_app_may_review(&me) && may_act(r, a) != 0)
        return;
    if (strcmp(a->state, "approved_pending_issue") != 0) {
        mc_reply_errf(r, 409, "bad_transition", "a new activation code is for an approved "
                                                "application, not one in state %s", a->state);
        return;
    }
    mc_app_activation_new(a->id, c->code_hash, c->sms, sizeof(c->sms));
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_reactivate(r->node->store, a->id, c->code_hash, MC_ACTIVATION_TTL, c->sms,
                            ACTIVATION_REISSUES, &ac, &c->done.app, on_app_written, r);
    OPENSSL_cleanse(c->sms, sizeof(c->sms));
}

void mc_api_app_reactivate(mc_req *r)
{
    act_begin(r, reactivate_judge);
}

static void reject_judge(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    if (state_allows(r, a, MC_APP_EV_REJECT) != 0)
        return;
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_reject(r->node->store, a, c->reason, &ac, &c->done, on_app_ended, r);
}

void mc_api_app_reject(mc_req *r)
{
    static const char *const allowed[] = {"reason", NULL};
    mc_err err;
    mc_err_clear(&err);
    if (operator_only(r) != 0)
        return;
    const char *reason;
    size_t n;
    if (mc_json_only(r->json, allowed, &err) != 0 ||
        mc_json_str(r->json, "reason", MC_APP_REASON_MAX, 1, &reason, &n, &err) != 0) {
        mc_reply_err(r, &err);
        return;
    }
    if (!mc_app_text_valid(reason, n, MC_APP_REASON_MAX)) {
        mc_reply_errf(r, 400, "bad_field", "reason: 1..512 bytes of printable UTF-8");
        return;
    }
    act_ctx *c = act_new(r);
    if (c == NULL)
        return;
    memcpy(c->reason, reason, n);
    c->reason[n] = '\0';
    act_read(r, c, reject_judge);
}

/* ---- identity (the face check) ---- */

/* An identity-check provider: check(name, id number, hint) -> 1 passed,
 * 0 failed. A real provider is a network call (it then takes a callback);
 * the sandbox decides at once. */
typedef struct idcheck_provider {
    const char *name;
    int (*check)(const char *holder_name, const char *holder_id, const char *hint);
} idcheck_provider;

/* The sandbox: hint "pass"/"fail" decides; else it passes a valid ID
 * number with a name that does not contain "失败". */
static int sandbox_check(const char *holder_name, const char *holder_id, const char *hint)
{
    if (strcmp(hint, "pass") == 0)
        return 1;
    if (strcmp(hint, "fail") == 0)
        return 0;
    return mc_idnum_valid(holder_id, strlen(holder_id)) && holder_name[0] != '\0' &&
           strstr(holder_name, "失败") == NULL;
}

static const idcheck_provider IDCHECK_SANDBOX = {"sandbox", sandbox_check};

static void identity_on_counted(void *privdata, const mc_err *err);
static void identity_on_set(void *privdata, const mc_err *err);

static void identity_judge(mc_req *r)
{
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    if (may_act(r, a) != 0 || state_allows(r, a, MC_APP_EV_EDIT) != 0)
        return;
    if (!mc_app_text_valid(a->holder_name, strlen(a->holder_name), 64)) {
        mc_reply_errf(r, 400, "bad_field", "holder_name: save the holder's name first");
        return;
    }
    if (!mc_idnum_valid(a->holder_id, strlen(a->holder_id))) {
        mc_reply_errf(r, 400, "bad_field", "holder_id: save a valid 身份证号码 first");
        return;
    }
    mc_store_app_identity_count(r->node->store, a->holder_id, MC_IDCHECK_PER_DAY, &c->idc,
                                identity_on_counted, r);
}

static void identity_on_counted(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    if (err->status == 429) {
        /* until the day ends in UTC+8, by this node's clock */
        long left = 86400 - (long)((r->now + 28800) % 86400);
        char ra[16];
        snprintf(ra, sizeof(ra), "%ld", left);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", ra);
        mc_reply_errf(r, 429, "too_many_attempts",
                      "at most %d identity checks per ID number per day", MC_IDCHECK_PER_DAY);
        return;
    }
    if (err->status != 0) {
        mc_reply_err(r, err);
        return;
    }
    act_ctx *c = r->hctx;
    mc_app *a = &c->x.app;
    const idcheck_provider *p = &IDCHECK_SANDBOX;
    int passed = p->check(a->holder_name, a->holder_id, c->result);
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_app_identity_set(r->node->store, a, passed ? "face_passed" : a->identity,
                              passed ? "passed" : "failed", &ac, &c->done.app, identity_on_set,
                              r);
    snprintf(c->result, sizeof(c->result), "%s", passed ? "passed" : "failed");
}

static void identity_on_set(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    act_ctx *c = r->hctx;
    mc_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "result", c->result, "provider",
                            IDCHECK_SANDBOX.name, "identity", c->done.app.identity, "attempts",
                            (json_int_t)c->idc.count, "attempts_left",
                            (json_int_t)(MC_IDCHECK_PER_DAY - c->idc.count), "application",
                            app_json(&c->done.app)));
}

void mc_api_app_identity(mc_req *r)
{
    static const char *const allowed[] = {"result", NULL};
    mc_err err;
    mc_err_clear(&err);
    const char *res = NULL;
    size_t n = 0;
    if (r->json != NULL && (mc_json_only(r->json, allowed, &err) != 0 ||
                            mc_json_str(r->json, "result", 4, 0, &res, &n, &err) != 0)) {
        mc_reply_err(r, &err);
        return;
    }
    if (res != NULL && !(n == 4 && (memcmp(res, "pass", 4) == 0 || memcmp(res, "fail", 4) == 0))) {
        mc_reply_errf(r, 400, "bad_field", "result: pass or fail (the sandbox's)");
        return;
    }
    act_ctx *c = act_new(r);
    if (c == NULL)
        return;
    if (res != NULL)
        memcpy(c->result, res, n);
    act_read(r, c, identity_judge);
}

/* ---- lists ---- */

typedef struct list_ctx {
    mc_app_ids ids;
    mc_app_rows rows;
    char state[24];
    char q[MC_APP_ID_LEN + 1];
    int page;
    int own_only;                 /* staff: only its own applications */
    size_t n;                     /* ids kept after the prefix filter */
} list_ctx;

static void list_free(void *p)
{
    list_ctx *l = p;
    mc_app_ids_free(&l->ids);
    mc_app_rows_free(&l->rows);
    free(l);
}

static void list_on_ids(void *privdata, const mc_err *err);
static void list_on_rows(void *privdata, const mc_err *err);

static void list_begin(mc_req *r, int queue)
{
    mc_principal me = me_of(r);
    const char *st = evhttp_find_header(&r->query, "state");
    const char *q = evhttp_find_header(&r->query, "q");
    int page;
    if (mc_query_int(r, "page", 1, LIST_PAGE_MAX, 1, &page) != 0) {
        mc_reply_errf(r, 400, "bad_query", "page is 1..%d", LIST_PAGE_MAX);
        return;
    }
    if (st != NULL && st[0] != '\0' && mc_app_state_parse(st) == MC_APP_NONE) {
        mc_reply_errf(r, 400, "bad_query", "state is one of the application states");
        return;
    }
    if (q != NULL && strlen(q) > MC_APP_ID_LEN) {
        mc_reply_errf(r, 400, "bad_query", "q is a prefix of an order number");
        return;
    }
    list_ctx *l = mc_req_ctx(r, sizeof(*l), list_free);
    if (l == NULL)
        return;
    snprintf(l->state, sizeof(l->state), "%s", st ? st : "");
    snprintf(l->q, sizeof(l->q), "%s", q ? q : "");
    l->page = page;
    int op = mc_policy_is_operator(&me);
    l->own_only = !op && !mc_policy_app_sees_org(&me);
    mc_store_app_ids(r->node->store, queue || op ? NULL : me.org, &l->ids, list_on_ids, r);
}

static void list_on_ids(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *l = r->hctx;
    size_t ql = strlen(l->q);
    for (size_t i = 0; i < l->ids.n; i++)
        if (strncmp(l->ids.id[i], l->q, ql) == 0)
            memmove(l->ids.id[l->n++], l->ids.id[i], sizeof(l->ids.id[0]));
    if (l->n == 0) {
        mc_err ok;
        mc_err_clear(&ok);
        list_on_rows(r, &ok);
        return;
    }
    mc_store_app_rows(r->node->store, l->ids.id, l->n, &l->rows, list_on_rows, r);
}

static void list_on_rows(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *l = r->hctx;
    mc_principal me = me_of(r);
    json_t *arr = json_array();
    size_t total = 0, from = (size_t)(l->page - 1) * LIST_PER_PAGE;
    for (size_t i = 0; i < l->rows.n; i++) {
        const mc_app *a = &l->rows.a[i];
        if (a->id[0] == '\0')
            continue;
        if (l->state[0] != '\0' && strcmp(a->state, l->state) != 0)
            continue;
        if (l->own_only && strcmp(a->applicant, me.login) != 0)
            continue;
        if (total >= from && total < from + LIST_PER_PAGE)
            json_array_append_new(arr, app_row_json(a));
        total++;
    }
    mc_reply_json(r, 200,
                  json_pack("{s:o, s:I, s:i, s:i}", "applications", arr, "total",
                            (json_int_t)total, "page", l->page, "per_page", LIST_PER_PAGE));
}

void mc_api_app_list(mc_req *r)
{
    list_begin(r, 0);
}

void mc_api_app_review(mc_req *r)
{
    if (operator_only(r) != 0)
        return;
    list_begin(r, 1);
}

/* ---- the fee ---- */

typedef struct fee_ctx {
    int first;
    char org_type[16];
    int64_t quantity;
} fee_ctx;

static void fee_on_first(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    fee_ctx *f = r->hctx;
    int64_t fee = mc_app_fee(f->org_type, f->quantity, f->first);
    mc_reply_json(r, 200,
                  json_pack("{s:I, s:b, s:s, s:I, s:i, s:i, s:b}", "fee", (json_int_t)fee,
                            "first", f->first, "org_type", f->org_type, "quantity",
                            (json_int_t)f->quantity, "unit", MC_FEE_UNIT, "years",
                            MC_APP_YEARS, "first_free", mc_fee_first_free(f->org_type)));
}

void mc_api_app_fee(mc_req *r)
{
    mc_principal me = me_of(r);
    const char *t = evhttp_find_header(&r->query, "org_type");
    int q;
    if (t == NULL || !mc_org_type_valid(t, strlen(t))) {
        mc_reply_errf(r, 400, "bad_query", "org_type is legal_person, individual or other");
        return;
    }
    if (mc_query_int(r, "quantity", 1, 1, 1, &q) != 0) {
        mc_reply_errf(r, 400, "bad_query", "quantity is 1");
        return;
    }
    fee_ctx *f = mc_req_ctx(r, sizeof(*f), NULL);
    if (f == NULL)
        return;
    snprintf(f->org_type, sizeof(f->org_type), "%s", t);
    f->quantity = q;
    mc_store_app_first(r->node->store, me.org, "", &f->first, fee_on_first, r);
}

/* ---- uploads ---- */

typedef struct upload_ctx {
    char type[32];
    char id[MC_BLOB_ID_LEN + 1];
    mc_err werr;                  /* the worker's */
    mc_buf data;                  /* get: the bytes read */
    mc_blob_meta meta;
} upload_ctx;

static void upload_free(void *p)
{
    upload_ctx *u = p;
    mc_buf_free(&u->data);
    free(u);
}

static void upload_work(void *arg);
static void upload_on_stored(void *arg, int ran);
static void upload_on_linked(void *privdata, const mc_err *err);

void mc_api_upload(mc_req *r)
{
    const char *ct =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
    char type[32] = "";
    if (ct != NULL) {
        size_t n = strcspn(ct, "; ");
        if (n < sizeof(type)) {
            for (size_t i = 0; i < n; i++)
                type[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
            type[n] = '\0';
        }
    }
    if (!mc_upload_type_known(type)) {
        mc_reply_errf(r, 415, "unsupported_media_type",
                      "an upload is image/jpeg, image/png or application/pdf");
        return;
    }
    const char *bad = mc_upload_check(type, r->body.ptr, r->body.len);
    if (bad != NULL) {
        mc_reply_errf(r, 400, "bad_upload", "%s", bad);
        return;
    }
    upload_ctx *u = mc_req_ctx(r, sizeof(*u), upload_free);
    if (u == NULL)
        return;
    snprintf(u->type, sizeof(u->type), "%s", type);
    if (mc_workers_submit(r->node->workers, upload_work, upload_on_stored, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; try again in a moment");
}

/* On a worker thread: touches only the upload_ctx and the request body
 * (read-only; the loop leaves the request alone until the job is done). */
static void upload_work(void *arg)
{
    mc_req *r = arg;
    upload_ctx *u = r->hctx;
    mc_err_clear(&u->werr);
    mc_blob_put(r->node->blobs, r->body.ptr, r->body.len, u->id, &u->werr);
}

static void upload_on_stored(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    upload_ctx *u = r->hctx;
    if (u->werr.status != 0) {
        fprintf(stderr, "mcertd: upload not stored: %s\n", u->werr.msg);
        mc_reply_errf(r, 503, "busy", "the upload could not be stored; try again");
        return;
    }
    mc_actor ac;
    actor_of(r, &ac);
    mc_store_blob_link(r->node->store, u->id, u->type, (int64_t)r->body.len, r->who.acc.login,
                       r->who.acc.org, &ac, upload_on_linked, r);
}

static void upload_on_linked(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    upload_ctx *u = r->hctx;
    mc_reply_json(r, 201, json_pack("{s:s, s:s, s:I}", "id", u->id, "type", u->type, "size",
                                    (json_int_t)r->body.len));
}

static void download_on_meta(void *privdata, const mc_err *err);
static void download_work(void *arg);
static void download_on_read(void *arg, int ran);

void mc_api_upload_get(mc_req *r)
{
    if (!mc_blob_id_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such upload");
        return;
    }
    upload_ctx *u = mc_req_ctx(r, sizeof(*u), upload_free);
    if (u == NULL)
        return;
    memcpy(u->id, r->param, MC_BLOB_ID_LEN);
    u->id[MC_BLOB_ID_LEN] = '\0';
    mc_store_blob_meta(r->node->store, u->id, r->who.acc.login, r->who.acc.org, &u->meta,
                       download_on_meta, r);
}

static void download_on_meta(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    upload_ctx *u = r->hctx;
    mc_principal me = me_of(r);
    if (u->meta.id[0] == '\0' ||
        !mc_policy_upload_may_read(&me, u->meta.mine, u->meta.my_org)) {
        mc_reply_errf(r, 404, "not_found", "no such upload");
        return;
    }
    if (mc_workers_submit(r->node->workers, download_work, download_on_read, r) != 0)
        mc_reply_errf(r, 503, "busy", "the server is busy; try again in a moment");
}

static void download_work(void *arg)
{
    mc_req *r = arg;
    upload_ctx *u = r->hctx;
    mc_err_clear(&u->werr);
    mc_blob_get(r->node->blobs, u->id, MC_UPLOAD_MAX, &u->data, &u->werr);
}

static void download_on_read(void *arg, int ran)
{
    MC_WORK_BEGIN(r, arg, ran);
    upload_ctx *u = r->hctx;
    if (u->werr.status != 0) {
        fprintf(stderr, "mcertd: upload %s not read: %s\n", u->id, u->werr.msg);
        mc_reply_errf(r, 503, "busy", "the upload could not be read; try again");
        return;
    }
    const char *type = mc_upload_type_known(u->meta.type) ? u->meta.type
                                                          : "application/octet-stream";
    int pdf = strcmp(type, "application/pdf") == 0;
    char disp[128];
    snprintf(disp, sizeof(disp), "%s; filename=\"%.12s.%s\"", pdf ? "attachment" : "inline",
             u->id, pdf ? "pdf" : strcmp(type, "image/png") == 0 ? "png" : "jpg");
    const char *h[] = {"Content-Disposition", disp, "Content-Security-Policy",
                       "default-src 'none'; img-src 'self'; sandbox", NULL};
    mc_reply_body(r, 200, type, u->data.ptr, u->data.len, h);
}
