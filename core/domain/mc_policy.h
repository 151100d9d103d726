/*
 * mc_policy.h — who may act for whom: the authorisation rules of the CA
 * module, as pure functions (no I/O). Handlers ask these; they never
 * compare roles themselves.
 *
 * Rules (from the source manual, CA绑定与解绑): an organisation admin
 * (机构管理员) binds and unbinds certificates for any account of its own
 * organisation; other staff only for their own account.
 */
#ifndef MC_POLICY_H
#define MC_POLICY_H

/* The facts a rule looks at (borrowed strings). */
typedef struct mc_principal {
    const char *login;
    const char *org;     /* USCC */
    const char *role;    /* "admin" | "staff" */
} mc_principal;

/* 1 if `me` may bind or unbind a certificate for `target`. */
int mc_policy_may_manage(const mc_principal *me, const mc_principal *target);
/* 1 if `me` may see the bindings of every account of its organisation. */
int mc_policy_may_list_org(const mc_principal *me);

#endif
