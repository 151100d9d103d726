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

#include "mc_session.h"

/* The facts a rule looks at (borrowed strings). */
typedef struct mc_principal {
    const char *login;
    const char *org;     /* USCC */
    const char *role;    /* "admin" | "staff" | "operator" */
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
 *          names the organisation of the account to bind (session_org);
 *   sign:  the certificate is not revoked and is bound to the account
 *          whose signature was asked for (session_account);
 *   renew: the certificate is valid and is the one the renewal is for
 *          (session_want), bound or not.
 * A superseded certificate (replaced by its renewal) is refused for all
 * with cert_superseded, a revoked one with cert_revoked.
 * Returns NULL, or the wire code of the refusal (status in *status). The
 * atomic approval step re-checks the record conditions. */
typedef struct mc_answer_facts {
    mc_purpose purpose;           /* of the session */
    const char *cert_status;      /* "" if the certificate is not recorded */
    const char *cert_account;     /* "" if unbound */
    const char *cert_org;         /* USCC in the certificate */
    const char *session_org;      /* bind: USCC of the account to bind */
    const char *session_account;  /* sign: the account whose certificate must sign */
    const char *cert_fp;          /* renew: the answering leaf's fingerprint (hex) */
    const char *session_want;     /* renew: the certificate the renewal is for */
} mc_answer_facts;
const char *mc_policy_may_answer(const mc_answer_facts *f, int *status);

/* Who may ask for an account's signatures (PROTOCOL.md §8.2): a holder
 * only for its own account; the platform, by an API key with scope sign
 * (checked by the caller), for any account of the key's organisation.
 * Exactly one of holder (its login) and key_org (the key's USCC) is set. */
typedef struct mc_sign_asker {
    const char *holder;
    const char *key_org;
} mc_sign_asker;
/* NULL, or the wire code of the refusal (403 not_permitted). */
const char *mc_policy_may_request_sign(const mc_sign_asker *a, const mc_principal *target,
                                       int *status);

/* ---- applications (申领, PROTOCOL.md §9) ----
 * An application belongs to its organisation (uscc) and to the account
 * that created it (applicant). The applicant and its organisation's admin
 * read, edit, submit, identify and withdraw it; a CA operator (role
 * operator) reads every application and alone approves and rejects.
 * Operators do not apply (their organisation is the CA's). A principal
 * that may not read an application is answered 404 not_found (it does not
 * learn that the number exists); one that may read but not act, 403
 * not_permitted. */
typedef struct mc_app_owner {
    const char *applicant;        /* login */
    const char *org;              /* USCC */
} mc_app_owner;
int mc_policy_is_operator(const mc_principal *me);
/* 1 if me may create an application (for its own organisation). */
int mc_policy_app_may_create(const mc_principal *me);
int mc_policy_app_may_read(const mc_principal *me, const mc_app_owner *app);
/* edit, submit, the identity check, withdraw, pay */
int mc_policy_app_may_act(const mc_principal *me, const mc_app_owner *app);
/* approve, reject, the review queue */
int mc_policy_app_may_review(const mc_principal *me);
/* 1 if me sees every application of its organisation in the list (admin),
 * not only its own (staff). */
int mc_policy_app_sees_org(const mc_principal *me);

/* An upload (a scan) is linked to every account that uploaded its bytes,
 * with that account's organisation. It may be read by an operator, by an
 * account that uploaded it, and by an admin of an organisation one of its
 * uploaders belongs to. mine: me uploaded it; my_org: one of its
 * uploaders is of me's organisation. */
int mc_policy_upload_may_read(const mc_principal *me, int mine, int my_org);

/* ---- invoices (发票, PROTOCOL.md §11) ----
 * An invoice belongs to its order: the order's organisation (uscc) and the
 * login that owns the order (an application's applicant; a renewal's
 * holder). The same people who act on the order — its owner and its
 * organisation's admin (mc_policy_app_may_act: one rule) — request an
 * invoice for it, read it, and withdraw (void) a request not yet issued;
 * an organisation's saved titles are kept by its admins and staff. CA
 * operators read every invoice and alone issue, reject, and void an issued
 * one; they request none and keep no titles. Not a reader: 404. */
typedef struct mc_inv_owner {
    const char *owner;            /* login */
    const char *org;              /* USCC */
} mc_inv_owner;
int mc_policy_inv_may_read(const mc_principal *me, const mc_inv_owner *inv);
/* request, withdraw a requested one */
int mc_policy_inv_may_act(const mc_principal *me, const mc_inv_owner *inv);
/* issue, reject, void an issued one, the operators' queue */
int mc_policy_inv_may_issue(const mc_principal *me);
/* list, add, edit and delete the saved titles of me's organisation */
int mc_policy_inv_may_keep_titles(const mc_principal *me);
/* 1 if me's list holds every invoice of its organisation (admin), not only
 * those of its own orders (staff). */
int mc_policy_inv_sees_org(const mc_principal *me);

/* ---- revocation (PROTOCOL.md §9.8) ----
 * Who may revoke a certificate: its holder (the account it is bound to),
 * an admin of the organisation the certificate names (its USCC), or a CA
 * operator (role "operator") — any certificate. privilegeWithdrawn (9) is
 * the CA's own verdict: an operator's alone. The reason itself is checked
 * before (mc_reason_allowed). */
typedef struct mc_revoke_facts {
    const char *cert_org;         /* the record's USCC */
    const char *cert_account;     /* the account it is bound to, "" if none */
    int reason;                   /* RFC 5280 CRLReason */
} mc_revoke_facts;
/* NULL, or the wire code of the refusal (403 not_permitted). */
const char *mc_policy_may_revoke(const mc_principal *me, const mc_revoke_facts *f, int *status);

/* ---- key history (PROTOCOL.md §10.8) ----
 * A certificate's record, current or past, may be read by its holder, by
 * an admin of the organisation the certificate names (the record's USCC)
 * and by a CA operator; GET /api/v1/certs/<serial> also by an API key with
 * scope verify of that organisation. The holder is the account the
 * certificate is bound to or, for one a renewal replaced (bound to nobody
 * since), the account its newest successor is bound to: the caller finds
 * it ("" if none). A caller that may not read is answered 404 not_found,
 * as for a serial with no record: it does not learn that one exists. */
int mc_policy_cert_may_read(const mc_principal *me, const char *cert_org, const char *holder);
/* key_org: the API key's USCC; has_verify: the key has scope verify. */
int mc_policy_cert_key_may_read(const char *key_org, int has_verify, const char *cert_org);
/* An account's key history (GET /api/v1/bindings/<account>/certs): the
 * account itself, an admin of its organisation, an operator. */
int mc_policy_history_may_read(const mc_principal *me, const mc_principal *target);

#endif
