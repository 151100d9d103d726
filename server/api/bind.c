/*
 * api/bind.c — bindings (CA绑定与解绑): list them, unbind one. Binding
 * itself is a QR session (api/session.c) answered by the phone
 * (api/phone.c).
 *
 *   GET    /api/v1/bindings             admin: every account of its
 *                                       organisation; staff: itself
 *   DELETE /api/v1/bindings/:account    unbind (mc_policy_may_manage)
 *
 * Unbinding frees the certificate and the account; the web sessions that
 * certificate's QR logins made for the account stop working at once (the
 * store compares the binding generation on every request).
 */
#include <stdlib.h>
#include <string.h>

#include "mc_api.h"
#include "mc_policy.h"
#include "mc_store_rec.h"

/* ---- list ---- */

typedef struct list_ctx {
    mc_org_list list;             /* admin */
    mc_cert_rec cert;             /* staff: its own certificate */
} list_ctx;

static void list_ctx_free(void *p)
{
    list_ctx *x = p;
    mc_org_list_free(&x->list);
    free(x);
}

static void list_on_own(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *x = r->hctx;
    mc_reply_json(r, 200, json_pack("{s:[o]}", "bindings",
                                    mc_api_account_json(&r->who.acc, &x->cert)));
}

static void list_on_org(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    list_ctx *x = r->hctx;
    json_t *list = json_array();
    for (size_t i = 0; i < x->list.n; i++)
        json_array_append_new(list, mc_api_account_json(&x->list.accs[i], &x->list.certs[i]));
    mc_reply_json(r, 200, json_pack("{s:o}", "bindings", list));
}

void mc_api_bindings(mc_req *r)
{
    list_ctx *x = mc_req_ctx(r, sizeof(*x), list_ctx_free);
    if (x == NULL)
        return;
    mc_principal me = mc_api_principal(&r->who.acc);
    if (mc_policy_may_list_org(&me)) {
        mc_store_org_list(r->node->store, r->who.acc.org, &x->list, list_on_org, r);
        return;
    }
    if (r->who.acc.cert[0] == '\0') {
        list_on_own(r, &(mc_err){0});
        return;
    }
    mc_store_cert_get(r->node->store, r->who.acc.cert, &x->cert, list_on_own, r);
}

/* ---- unbind ---- */

static void unbind_on_target(void *privdata, const mc_err *err);
static void unbind_on_done(void *privdata, const mc_err *err);

void mc_api_unbind(mc_req *r)
{
    if (!mc_account_name_valid(r->param, strlen(r->param))) {
        mc_reply_errf(r, 404, "not_found", "no such account");
        return;
    }
    mc_account *target = mc_req_ctx(r, sizeof(*target), NULL);
    if (target == NULL)
        return;
    mc_store_account_get(r->node->store, r->param, target, unbind_on_target, r);
}

static void unbind_on_target(void *privdata, const mc_err *err)
{
    mc_req *r = privdata;
    MC_REQ_LIVE(r);
    mc_account *target = r->hctx;
    if (err->status != 0) {
        if (err->status == 404)
            mc_reply_errf(r, 404, "not_found", "no such account");
        else
            mc_reply_err(r, err);
        return;
    }
    mc_principal me = mc_api_principal(&r->who.acc);
    mc_principal them = mc_api_principal(target);
    if (!mc_policy_may_manage(&me, &them)) {
        mc_reply_errf(r, 403, "not_permitted",
                      "only an organisation admin may unbind another account");
        return;
    }
    if (target->cert[0] == '\0') {
        mc_reply_errf(r, 404, "not_bound", "the account has no certificate bound");
        return;
    }
    mc_actor actor = {r->who.acc.login, r->ip};
    mc_store_unbind(r->node->store, target->login, target->cert, &actor, unbind_on_done, r);
}

static void unbind_on_done(void *privdata, const mc_err *err)
{
    MC_STEP_BEGIN(r, privdata, err);
    mc_account *target = r->hctx;
    mc_reply_json(r, 200, json_pack("{s:s, s:s}", "account", target->login, "cert", target->cert));
}
