/*
 * mc_policy.c — see mc_policy.h. The same may_manage rule is re-checked
 * inside the bind_approve Redis Function (lua/mcert.lua), because the
 * opener's rights may change between opening a bind session and its
 * approval; keep both in step.
 */
#include "mc_policy.h"

#include <string.h>

static int is_admin(const mc_principal *p)
{
    return strcmp(p->role, "admin") == 0;
}

int mc_policy_may_manage(const mc_principal *me, const mc_principal *target)
{
    if (strcmp(me->org, target->org) != 0)
        return 0;
    return strcmp(me->login, target->login) == 0 || is_admin(me);
}

int mc_policy_may_list_org(const mc_principal *me)
{
    return is_admin(me);
}

const char *mc_policy_may_answer(const mc_answer_facts *f, int *status)
{
    if (f->cert_status[0] != '\0' && strcmp(f->cert_status, "valid") != 0) {
        *status = 403;
        return strcmp(f->cert_status, "superseded") == 0 ? "cert_superseded" : "cert_revoked";
    }
    if (f->purpose == MC_PURPOSE_RENEW) {
        /* only the certificate being renewed proves the extension (§10.4) */
        if (f->cert_fp == NULL || f->session_want == NULL ||
            strcmp(f->cert_fp, f->session_want) != 0) {
            *status = 403;
            return "not_current_cert";
        }
        return NULL;
    }
    if (f->purpose == MC_PURPOSE_LOGIN) {
        if (f->cert_account[0] == '\0') {
            *status = 404;
            return "not_bound";
        }
        return NULL;
    }
    if (f->purpose == MC_PURPOSE_SIGN) {
        /* only the certificate bound to the account asked of signs */
        if (strcmp(f->cert_account, f->session_account) != 0 || f->cert_account[0] == '\0') {
            *status = 404;
            return "not_bound";
        }
        return NULL;
    }
    if (strcmp(f->cert_org, f->session_org) != 0) {
        *status = 403;
        return "org_mismatch";
    }
    if (f->cert_account[0] != '\0') {
        *status = 409;
        return "cert_bound";
    }
    return NULL;
}

const char *mc_policy_may_request_sign(const mc_sign_asker *a, const mc_principal *target,
                                       int *status)
{
    int ok = a->holder != NULL ? strcmp(a->holder, target->login) == 0
                               : a->key_org != NULL && strcmp(a->key_org, target->org) == 0;
    if (ok)
        return NULL;
    *status = 403;
    return "not_permitted";
}

/* ---- applications ---- */

int mc_policy_is_operator(const mc_principal *me)
{
    return strcmp(me->role, "operator") == 0;
}

int mc_policy_app_may_create(const mc_principal *me)
{
    return is_admin(me) || strcmp(me->role, "staff") == 0;
}

int mc_policy_app_may_act(const mc_principal *me, const mc_app_owner *app)
{
    if (mc_policy_is_operator(me) || strcmp(me->org, app->org) != 0)
        return 0;
    return is_admin(me) || strcmp(me->login, app->applicant) == 0;
}

int mc_policy_app_may_read(const mc_principal *me, const mc_app_owner *app)
{
    return mc_policy_is_operator(me) || mc_policy_app_may_act(me, app);
}

int mc_policy_app_may_review(const mc_principal *me)
{
    return mc_policy_is_operator(me);
}

int mc_policy_app_sees_org(const mc_principal *me)
{
    return is_admin(me);
}

int mc_policy_upload_may_read(const mc_principal *me, int mine, int my_org)
{
    return mc_policy_is_operator(me) || mine || (my_org && is_admin(me));
}

/* ---- invoices ---- */

int mc_policy_inv_may_act(const mc_principal *me, const mc_inv_owner *inv)
{
    mc_app_owner ow = {inv->owner, inv->org};
    return mc_policy_app_may_act(me, &ow);
}

int mc_policy_inv_may_read(const mc_principal *me, const mc_inv_owner *inv)
{
    return mc_policy_is_operator(me) || mc_policy_inv_may_act(me, inv);
}

int mc_policy_inv_may_issue(const mc_principal *me)
{
    return mc_policy_is_operator(me);
}

int mc_policy_inv_may_keep_titles(const mc_principal *me)
{
    return mc_policy_app_may_create(me);
}

int mc_policy_inv_sees_org(const mc_principal *me)
{
    return is_admin(me);
}

/* ---- revocation ---- */

const char *mc_policy_may_revoke(const mc_principal *me, const mc_revoke_facts *f, int *status)
{
    int operator = strcmp(me->role, "operator") == 0;
    int holder = f->cert_account[0] != '\0' && strcmp(f->cert_account, me->login) == 0;
    int org_admin = is_admin(me) && strcmp(f->cert_org, me->org) == 0;
    if (operator || ((holder || org_admin) && f->reason != 9))
        return NULL;
    *status = 403;
    return "not_permitted";
}

/* ---- key history ---- */

int mc_policy_cert_may_read(const mc_principal *me, const char *cert_org, const char *holder)
{
    if (mc_policy_is_operator(me))
        return 1;
    if (holder[0] != '\0' && strcmp(holder, me->login) == 0)
        return 1;
    return is_admin(me) && cert_org[0] != '\0' && strcmp(me->org, cert_org) == 0;
}

int mc_policy_cert_key_may_read(const char *key_org, int has_verify, const char *cert_org)
{
    return has_verify && key_org[0] != '\0' && strcmp(key_org, cert_org) == 0;
}

int mc_policy_history_may_read(const mc_principal *me, const mc_principal *target)
{
    return mc_policy_is_operator(me) || mc_policy_may_manage(me, target);
}
