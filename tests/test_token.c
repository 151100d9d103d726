/*
 * test_token.c — web session tokens (core/domain/mc_token.c): the form
 * "<43 chars>.<login>", only its SHA-256 kept; a QR login's token is the
 * same for the same poll secret and session, and differs for any other;
 * presented tokens of any other form are refused before any lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mc_crypto.h"
#include "mc_token.h"

static void a_new_token_names_its_account_and_parses_back(void **state)
{
    char tok[MC_TOKEN_MAX + 1], hash[65], login[MC_ACCOUNT_MAX + 1], hash2[65];
    mc_token_new("alice.w-1", tok, hash);
    assert_int_equal(strlen(tok), MC_TOKEN_SECRET_LEN + 1 + strlen("alice.w-1"));
    assert_int_equal(tok[MC_TOKEN_SECRET_LEN], '.');
    assert_int_equal(mc_token_parse(tok, strlen(tok), login, hash2), 0);
    assert_string_equal(login, "alice.w-1");
    assert_string_equal(hash, hash2);
    /* the hash is SHA-256 of the whole token */
    uint8_t h[32];
    char hex[65];
    mc_sha256(tok, strlen(tok), h);
    mc_hex(h, 32, hex);
    assert_string_equal(hash, hex);
    /* two tokens for one account differ */
    char tok2[MC_TOKEN_MAX + 1];
    mc_token_new("alice.w-1", tok2, hash2);
    assert_string_not_equal(tok, tok2);
}

static void a_derived_token_is_the_same_for_the_same_secret_and_session_only(void **state)
{
    char a[MC_TOKEN_MAX + 1], b[MC_TOKEN_MAX + 1], ha[65], hb[65];
    const char *poll = "x4Qm0a1Lh0b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r";
    mc_token_derive(poll, strlen(poll), "ABCDEFGHJKMNPQRSTVWX", "admin", a, ha);
    mc_token_derive(poll, strlen(poll), "ABCDEFGHJKMNPQRSTVWX", "admin", b, hb);
    assert_string_equal(a, b);
    assert_string_equal(ha, hb);
    /* another session, another secret, another account: another token */
    mc_token_derive(poll, strlen(poll), "ABCDEFGHJKMNPQRSTVWY", "admin", b, hb);
    assert_string_not_equal(a, b);
    mc_token_derive(poll, strlen(poll) - 1, "ABCDEFGHJKMNPQRSTVWX", "admin", b, hb);
    assert_string_not_equal(a, b);
    mc_token_derive(poll, strlen(poll), "ABCDEFGHJKMNPQRSTVWX", "admim", b, hb);
    assert_string_not_equal(ha, hb);
    /* and the poll secret does not appear in it */
    assert_null(strstr(a, poll));
}

static void tokens_of_another_form_are_refused(void **state)
{
    char login[MC_ACCOUNT_MAX + 1], hash[65], tok[MC_TOKEN_MAX + 1];
    mc_token_new("bob", tok, hash);
    size_t n = strlen(tok);
    assert_int_equal(mc_token_parse(tok, n - 4, login, hash), -1);  /* login cut off */
    assert_int_equal(mc_token_parse(tok, 43, login, hash), -1);     /* secret only */
    assert_int_equal(mc_token_parse(tok, 44, login, hash), -1);     /* empty login */
    assert_int_equal(mc_token_parse("", 0, login, hash), -1);
    char bad[MC_TOKEN_MAX + 2];
    memcpy(bad, tok, n + 1);
    bad[MC_TOKEN_SECRET_LEN] = '-';                                  /* no dot */
    assert_int_equal(mc_token_parse(bad, n, login, hash), -1);
    memcpy(bad, tok, n + 1);
    bad[n - 1] = 'B';                                                /* not a login name */
    assert_int_equal(mc_token_parse(bad, n, login, hash), -1);
    /* too long: a 65-byte login */
    char longtok[200];
    memset(longtok, 'a', sizeof(longtok));
    longtok[MC_TOKEN_SECRET_LEN] = '.';
    assert_int_equal(mc_token_parse(longtok, MC_TOKEN_SECRET_LEN + 1 + 65, login, hash), -1);
    assert_int_equal(mc_token_parse(longtok, MC_TOKEN_SECRET_LEN + 1 + 64, login, hash), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_token_names_its_account_and_parses_back),
        cmocka_unit_test(a_derived_token_is_the_same_for_the_same_secret_and_session_only),
        cmocka_unit_test(tokens_of_another_form_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
