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

/* Who may answer a QR session at all — approve it, reject it, or end it
 * with a wrong number: only a certificate that could approve it, so that
 * whoever merely sees a QR cannot end someone else's session with any
 * certificate they hold. The facts, as read with the session:
 *   login: the certificate is valid in our records and bound to an account;
 *   bind:  the certificate is not revoked, not bound to an account, and
 *          names the organisation of the account to bind (session_org).
 * Returns NULL, or the wire code of the refusal (status in *status). The
 * atomic approval step re-checks the record conditions. */
typedef struct mc_answer_facts {
    int bind;                     /* 1: a bind session, 0: login */
    const char *cert_status;      /* "" if the certificate is not recorded */
    const char *cert_account;     /* "" if unbound */
    const char *cert_org;         /* USCC in the certificate */
    const char *session_org;      /* bind: USCC of the account to bind */
} mc_answer_facts;
const char *mc_policy_may_answer(const mc_answer_facts *f, int *status);

#endif
