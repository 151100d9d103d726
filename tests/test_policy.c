/*
 * test_policy.c — unit tests of core/domain/mc_policy.c: who may act for
 * whom.
 *
 * Why: handlers never compare roles themselves, so these rules are the
 * whole of the authorisation for bind/unbind (an organisation admin for
 * any account of its own organisation, staff only for themselves) and for
 * answering a QR session (only a certificate that could approve it may
 * approve, reject or end it with a wrong number — issue 9: whoever merely
 * sees a QR must not end someone else's session with any certificate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mc_policy.h"

#define ORG_A "91330100MA2DEM001H"
#define ORG_B "91110000MA0THER01E"

static const mc_principal admin_a = {"alice", ORG_A, "admin"};
static const mc_principal staff_a = {"bob", ORG_A, "staff"};
static const mc_principal staff_a2 = {"carol", ORG_A, "staff"};
static const mc_principal admin_b = {"dave", ORG_B, "admin"};
static const mc_principal staff_b = {"erin", ORG_B, "staff"};

static void anyone_may_manage_their_own_account(void **state)
{
    (void)state;
    assert_true(mc_policy_may_manage(&admin_a, &admin_a));
    assert_true(mc_policy_may_manage(&staff_a, &staff_a));
    assert_true(mc_policy_may_manage(&staff_b, &staff_b));
    /* the same login in other storage is the same account */
    mc_principal bob_again = {"bob", ORG_A, "staff"};
    assert_true(mc_policy_may_manage(&staff_a, &bob_again));
}

static void admin_may_manage_accounts_of_its_own_org_only(void **state)
{
    (void)state;
    assert_true(mc_policy_may_manage(&admin_a, &staff_a));
    assert_true(mc_policy_may_manage(&admin_a, &staff_a2));
    mc_principal admin_a2 = {"frank", ORG_A, "admin"};
    assert_true(mc_policy_may_manage(&admin_a, &admin_a2));
    /* another organisation's accounts, admins included */
    assert_false(mc_policy_may_manage(&admin_a, &staff_b));
    assert_false(mc_policy_may_manage(&admin_a, &admin_b));
    assert_false(mc_policy_may_manage(&admin_b, &staff_a));
    /* a login that exists in another org is not the admin's own account */
    mc_principal alice_b = {"alice", ORG_B, "staff"};
    assert_false(mc_policy_may_manage(&admin_a, &alice_b));
}

static void staff_may_not_manage_anyone_else(void **state)
{
    (void)state;
    assert_false(mc_policy_may_manage(&staff_a, &staff_a2));
    assert_false(mc_policy_may_manage(&staff_a, &admin_a));
    assert_false(mc_policy_may_manage(&staff_a, &staff_b));
    assert_false(mc_policy_may_manage(&staff_b, &admin_b));
    /* a role that is not "admin" is no admin */
    mc_principal odd = {"gina", ORG_A, "Admin"};
    assert_false(mc_policy_may_manage(&odd, &staff_a));
    mc_principal none = {"hank", ORG_A, ""};
    assert_false(mc_policy_may_manage(&none, &staff_a));
}

static void only_an_admin_may_list_its_org(void **state)
{
    (void)state;
    assert_true(mc_policy_may_list_org(&admin_a));
    assert_true(mc_policy_may_list_org(&admin_b));
    assert_false(mc_policy_may_list_org(&staff_a));
    mc_principal odd = {"gina", ORG_A, "administrator"};
    assert_false(mc_policy_may_list_org(&odd));
}

/* mc_policy_may_answer's verdict: NULL, or code with status. */
static void expect_answer(const mc_answer_facts *f, const char *code, int status)
{
    int st = -7;
    const char *got = mc_policy_may_answer(f, &st);
    if (code == NULL) {
        if (got != NULL)
            fail_msg("%s session, cert status \"%s\", account \"%s\", org %s/%s: refused with "
                     "%s, want allowed",
                     mc_purpose_name(f->purpose), f->cert_status, f->cert_account, f->cert_org,
                     f->session_org, got);
        return;
    }
    if (got == NULL || strcmp(got, code) != 0 || st != status)
        fail_msg("%s session, cert status \"%s\", account \"%s\": got %s %d, want %s %d",
                 mc_purpose_name(f->purpose), f->cert_status, f->cert_account,
                 got ? got : "NULL", st, code, status);
}

static void login_answer_needs_a_valid_bound_certificate(void **state)
{
    (void)state;
    /* bound and valid: may answer (login sessions name no org) */
    mc_answer_facts f = {MC_PURPOSE_LOGIN, "valid", "bob", ORG_A, "", "", NULL, NULL};
    expect_answer(&f, NULL, 0);
    f.cert_org = ORG_B;
    expect_answer(&f, NULL, 0);
    /* revoked, or any status but valid */
    mc_answer_facts revoked = {MC_PURPOSE_LOGIN, "revoked", "bob", ORG_A, "", "", NULL, NULL};
    expect_answer(&revoked, "cert_revoked", 403);
    revoked.cert_account = "";
    expect_answer(&revoked, "cert_revoked", 403);
    mc_answer_facts superseded = {MC_PURPOSE_LOGIN, "superseded", "bob", ORG_A, "", "", NULL, NULL};
    expect_answer(&superseded, "cert_superseded", 403);
    /* valid but unbound, or not recorded at all */
    mc_answer_facts unbound = {MC_PURPOSE_LOGIN, "valid", "", ORG_A, "", "", NULL, NULL};
    expect_answer(&unbound, "not_bound", 404);
    mc_answer_facts unrecorded = {MC_PURPOSE_LOGIN, "", "", ORG_A, "", "", NULL, NULL};
    expect_answer(&unrecorded, "not_bound", 404);
}

static void sign_answer_needs_the_certificate_bound_to_the_signing_account(void **state)
{
    (void)state;
    mc_answer_facts f = {MC_PURPOSE_SIGN, "valid", "alice", ORG_A, "", "alice", NULL, NULL};
    expect_answer(&f, NULL, 0);
    /* bound, but to another account than the one asked of */
    f.cert_account = "bob";
    expect_answer(&f, "not_bound", 404);
    f.cert_account = "";
    expect_answer(&f, "not_bound", 404);
    /* never recorded: bound to nobody */
    mc_answer_facts unrecorded = {MC_PURPOSE_SIGN, "", "", ORG_A, "", "alice", NULL, NULL};
    expect_answer(&unrecorded, "not_bound", 404);
    mc_answer_facts revoked = {MC_PURPOSE_SIGN, "revoked", "alice", ORG_A, "", "alice", NULL, NULL};
    expect_answer(&revoked, "cert_revoked", 403);
    mc_answer_facts superseded = {MC_PURPOSE_SIGN, "superseded", "alice", ORG_A, "", "alice", NULL, NULL};
    expect_answer(&superseded, "cert_superseded", 403);
}

static void renew_answer_needs_the_certificate_being_renewed(void **state)
{
    (void)state;
    mc_answer_facts f = {MC_PURPOSE_RENEW, "valid", "alice", ORG_A, "", "alice", "aa", "aa"};
    expect_answer(&f, NULL, 0);
    /* unbound certificates are renewed too */
    f.cert_account = "";
    expect_answer(&f, NULL, 0);
    /* another certificate of the same holder and organisation */
    f.cert_fp = "bb";
    expect_answer(&f, "not_current_cert", 403);
    f.cert_fp = NULL;
    expect_answer(&f, "not_current_cert", 403);
    /* the status comes first */
    mc_answer_facts sup = {MC_PURPOSE_RENEW, "superseded", "", ORG_A, "", "", "aa", "aa"};
    expect_answer(&sup, "cert_superseded", 403);
    mc_answer_facts rev = {MC_PURPOSE_RENEW, "revoked", "", ORG_A, "", "", "aa", "aa"};
    expect_answer(&rev, "cert_revoked", 403);
}

static void bind_answer_needs_an_unbound_certificate_of_the_org(void **state)
{
    (void)state;
    /* a certificate not yet recorded, of the target's org: may answer */
    mc_answer_facts f = {MC_PURPOSE_BIND, "", "", ORG_A, ORG_A, "", NULL, NULL};
    expect_answer(&f, NULL, 0);
    /* recorded valid and unbound (e.g. unbound earlier): may answer */
    mc_answer_facts unbound = {MC_PURPOSE_BIND, "valid", "", ORG_A, ORG_A, "", NULL, NULL};
    expect_answer(&unbound, NULL, 0);
    /* revoked comes first, whatever else holds */
    mc_answer_facts revoked = {MC_PURPOSE_BIND, "revoked", "", ORG_A, ORG_A, "", NULL, NULL};
    expect_answer(&revoked, "cert_revoked", 403);
    revoked.cert_org = ORG_B;
    expect_answer(&revoked, "cert_revoked", 403);
    /* another organisation's certificate */
    mc_answer_facts other = {MC_PURPOSE_BIND, "", "", ORG_B, ORG_A, "", NULL, NULL};
    expect_answer(&other, "org_mismatch", 403);
    other.cert_status = "valid";
    expect_answer(&other, "org_mismatch", 403);
    /* already bound, to anyone */
    mc_answer_facts bound = {MC_PURPOSE_BIND, "valid", "bob", ORG_A, ORG_A, "", NULL, NULL};
    expect_answer(&bound, "cert_bound", 409);
    bound.cert_account = "carol";
    expect_answer(&bound, "cert_bound", 409);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anyone_may_manage_their_own_account),
        cmocka_unit_test(admin_may_manage_accounts_of_its_own_org_only),
        cmocka_unit_test(staff_may_not_manage_anyone_else),
        cmocka_unit_test(only_an_admin_may_list_its_org),
        cmocka_unit_test(login_answer_needs_a_valid_bound_certificate),
        cmocka_unit_test(renew_answer_needs_the_certificate_being_renewed),
        cmocka_unit_test(bind_answer_needs_an_unbound_certificate_of_the_org),
        cmocka_unit_test(sign_answer_needs_the_certificate_bound_to_the_signing_account),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
