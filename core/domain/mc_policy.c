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
