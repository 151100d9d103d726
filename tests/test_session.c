/*
 * test_session.c — tests of core/domain/mc_session.c.
 *
 * Why: the session identifiers are security relevant (sid unguessable,
 * nonce fresh, match hidden among distinct choices) and the validators guard
 * every identifier that comes from a peer. These tests pin the rules.
 *
 * Design: pure functions, no server; statistical checks use enough draws
 * that a false failure is astronomically unlikely (noted where it matters).
 * Non-goals: no test of the CSPRNG itself (that is mc_crypto's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mc_session.h"

static void init_produces_valid_sid_state_and_times(void **state)
{
    (void)state;
    mc_session s;
    memset(&s, 0xAA, sizeof(s));
    mc_session_init(&s, MC_PURPOSE_BIND, 1700000000, 120);
    assert_int_equal(s.sid[MC_SID_LEN], '\0');
    assert_true(mc_sid_valid(s.sid, strlen(s.sid)));
    assert_string_equal(s.state, "pending");
    assert_int_equal(s.purpose, MC_PURPOSE_BIND);
    assert_int_equal(s.created, 1700000000);
    assert_int_equal(s.expires, 1700000120);
    /* Everything the caller sets is "" / 0, not left-over memory. */
    assert_string_equal(s.origin, "");
    assert_string_equal(s.account, "");
    assert_string_equal(s.requester, "");
    assert_string_equal(s.ip, "");
    assert_string_equal(s.ua, "");
    /* The nonce was written (P(32 random bytes all 0xAA) = 2^-256). */
    uint8_t stale[MC_NONCE_LEN];
    memset(stale, 0xAA, sizeof(stale));
    assert_memory_not_equal(s.nonce, stale, MC_NONCE_LEN);
}

static int cmp_sid(const void *a, const void *b)
{
    return memcmp(a, b, MC_SID_LEN + 1);
}

static int cmp_nonce(const void *a, const void *b)
{
    return memcmp(a, b, MC_NONCE_LEN);
}

static void init_1000_times_gives_distinct_sids_and_nonces(void **state)
{
    (void)state;
    enum { N = 1000 };
    char(*sids)[MC_SID_LEN + 1] = calloc(N, sizeof(*sids));
    uint8_t(*nonces)[MC_NONCE_LEN] = calloc(N, sizeof(*nonces));
    assert_non_null(sids);
    assert_non_null(nonces);
    for (int i = 0; i < N; i++) {
        mc_session s;
        mc_session_init(&s, MC_PURPOSE_LOGIN, 0, 60);
        assert_true(mc_sid_valid(s.sid, MC_SID_LEN));
        memcpy(sids[i], s.sid, sizeof(sids[i]));
        memcpy(nonces[i], s.nonce, sizeof(nonces[i]));
    }
    qsort(sids, N, sizeof(*sids), cmp_sid);
    qsort(nonces, N, sizeof(*nonces), cmp_nonce);
    for (int i = 1; i < N; i++) {
        assert_true(memcmp(sids[i - 1], sids[i], sizeof(sids[i])) != 0);
        assert_true(memcmp(nonces[i - 1], nonces[i], sizeof(nonces[i])) != 0);
    }
    free(sids);
    free(nonces);
}

/* 5000 draws: P(10 or 99 never drawn as match) ~ 2*(89/90)^5000 ~ 1e-24;
 * P(some position never holds the match) ~ 3*(2/3)^5000. */
static void init_match_is_one_of_three_distinct_choices_in_range(void **state)
{
    (void)state;
    uint32_t minm = 100, maxm = 0;
    int pos_seen[3] = {0, 0, 0};
    for (int i = 0; i < 5000; i++) {
        mc_session s;
        mc_session_init(&s, MC_PURPOSE_BIND, 0, 60);
        assert_in_range(s.match, 10, 99);
        int found = -1;
        for (int j = 0; j < 3; j++) {
            assert_in_range(s.choices[j], 10, 99);
            if (s.choices[j] == s.match)
                found = j;
        }
        assert_true(found >= 0);
        pos_seen[found]++;
        assert_true(s.choices[0] != s.choices[1]);
        assert_true(s.choices[0] != s.choices[2]);
        assert_true(s.choices[1] != s.choices[2]);
        if (s.match < minm)
            minm = s.match;
        if (s.match > maxm)
            maxm = s.match;
    }
    assert_int_equal(minm, 10);
    assert_int_equal(maxm, 99);
    for (int j = 0; j < 3; j++)
        assert_true(pos_seen[j] > 0);
}

static void sid_valid_accepts_only_20_crockford_chars(void **state)
{
    (void)state;
    assert_true(mc_sid_valid("0123456789ABCDEFGHJK", 20));
    assert_true(mc_sid_valid("MNPQRSTVWXYZ01234567", 20));
    assert_false(mc_sid_valid("0123456789ABCDEFGHJ", 19));
    assert_false(mc_sid_valid("0123456789ABCDEFGHJKM", 21));
    assert_false(mc_sid_valid("0123456789abcdefghjk", 20)); /* lower case */
    assert_false(mc_sid_valid("0123456789ABCDEFGHJI", 20)); /* I */
    assert_false(mc_sid_valid("0123456789ABCDEFGHJL", 20)); /* L */
    assert_false(mc_sid_valid("0123456789ABCDEFGHJO", 20)); /* O */
    assert_false(mc_sid_valid("0123456789ABCDEFGHJU", 20)); /* U */
    assert_false(mc_sid_valid("0123456789ABCDEFGH\0K", 20)); /* NUL */
    assert_false(mc_sid_valid("0123456789ABCDEFGHJ\0", 20)); /* NUL last */
    /* neighbours of the alphabet's ASCII ranges, and a high byte */
    assert_false(mc_sid_valid("0123456789ABCDEFGHJ/", 20));
    assert_false(mc_sid_valid("0123456789ABCDEFGHJ:", 20));
    assert_false(mc_sid_valid("0123456789ABCDEFGHJ@", 20));
    assert_false(mc_sid_valid("0123456789ABCDEFGHJ[", 20));
    assert_false(mc_sid_valid("0123456789ABCDEFGHJ\xb0", 20));
    assert_false(mc_sid_valid("", 0));
    assert_false(mc_sid_valid(NULL, 20));
}

static void purpose_parse_and_name_round_trip(void **state)
{
    (void)state;
    assert_int_equal(mc_purpose_parse("bind", 4), MC_PURPOSE_BIND);
    assert_int_equal(mc_purpose_parse("login", 5), MC_PURPOSE_LOGIN);
    assert_string_equal(mc_purpose_name(MC_PURPOSE_BIND), "bind");
    assert_string_equal(mc_purpose_name(MC_PURPOSE_LOGIN), "login");
    assert_string_equal(mc_purpose_name(MC_PURPOSE_NONE), "");
    assert_int_equal(mc_purpose_parse("BIND", 4), MC_PURPOSE_NONE);
    assert_int_equal(mc_purpose_parse("bin", 3), MC_PURPOSE_NONE);
    assert_int_equal(mc_purpose_parse("bindx", 5), MC_PURPOSE_NONE);
    assert_int_equal(mc_purpose_parse("bind", 3), MC_PURPOSE_NONE);
    assert_int_equal(mc_purpose_parse("", 0), MC_PURPOSE_NONE);
    assert_int_equal(mc_purpose_parse(NULL, 4), MC_PURPOSE_NONE);
}

static void account_name_valid_edges(void **state)
{
    (void)state;
    char name[66];
    memset(name, 'a', sizeof(name));
    assert_true(mc_account_name_valid(name, 64));
    assert_false(mc_account_name_valid(name, 65));
    assert_true(mc_account_name_valid("a", 1));
    assert_false(mc_account_name_valid("", 0));
    assert_false(mc_account_name_valid(NULL, 0));
    assert_true(mc_account_name_valid("alice.smith_2-x", 15));
    assert_false(mc_account_name_valid("Alice", 5));
    assert_false(mc_account_name_valid("al ice", 6));
    assert_false(mc_account_name_valid("al\0ce", 5));
    assert_false(mc_account_name_valid("al@ce", 5));
    assert_false(mc_account_name_valid("\xe4\xb8\xad", 3));
}

static void copy_printable_replaces_control_chars(void **state)
{
    (void)state;
    char out[32];
    mc_copy_printable(out, sizeof(out), "a\tb\nc\x01\x7f\x1b[0m", 11);
    assert_string_equal(out, "a?b?c???[0m");
    mc_copy_printable(out, sizeof(out), "x\0y", 3);
    assert_string_equal(out, "x?y");
}

static void copy_printable_keeps_valid_utf8(void **state)
{
    (void)state;
    char out[64];
    /* 中文 (3-byte), é (2-byte), U+1F600 (4-byte) */
    const char *in = "\xe4\xb8\xad\xe6\x96\x87 \xc3\xa9 \xf0\x9f\x98\x80";
    mc_copy_printable(out, sizeof(out), in, strlen(in));
    assert_string_equal(out, in);
}

static void copy_printable_replaces_invalid_utf8_bytewise(void **state)
{
    (void)state;
    char out[64];
    /* lone continuation, overlong '/', surrogate U+D800, > U+10FFFF,
     * 0xff, and a 3-byte lead cut short by the end of input */
    static const char in[] = "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80"
                             "e\xff" "f\xe4\xb8";
    mc_copy_printable(out, sizeof(out), in, sizeof(in) - 1);
    assert_string_equal(out, "a?b??c???d????e?f??");
}

static void copy_printable_replaces_c1_and_bidi_controls(void **state)
{
    (void)state;
    char out[32];
    /* U+0085 NEL, U+202E RIGHT-TO-LEFT OVERRIDE, U+2067 RLI */
    static const char in[] = "a\xc2\x85" "b\xe2\x80\xae" "c\xe2\x81\xa7" "d";
    mc_copy_printable(out, sizeof(out), in, sizeof(in) - 1);
    assert_string_equal(out, "a?b?c?d");
}

static void copy_printable_truncates_at_utf8_boundary(void **state)
{
    (void)state;
    char out[8];
    const char *in = "ab\xe4\xb8\xad"; /* "ab中", 5 bytes */
    /* dstsize 5: room for 4 bytes; the 3-byte sequence would end at 5. */
    mc_copy_printable(out, 5, in, 5);
    assert_string_equal(out, "ab");
    mc_copy_printable(out, 6, in, 5);
    assert_string_equal(out, in);
    mc_copy_printable(out, 4, in, 5);
    assert_string_equal(out, "ab");
    mc_copy_printable(out, 2, "xyz", 3);
    assert_string_equal(out, "x");
    out[0] = 'Z';
    mc_copy_printable(out, 1, "xyz", 3);
    assert_int_equal(out[0], '\0');
    out[0] = 'Z';
    mc_copy_printable(out, 0, "xyz", 3); /* writes nothing */
    assert_int_equal(out[0], 'Z');
    mc_copy_printable(out, sizeof(out), NULL, 0);
    assert_string_equal(out, "");
}

static void copy_printable_reads_only_n_bytes(void **state)
{
    (void)state;
    /* Heap buffer without a terminator: ASan flags any over-read. */
    char *src = malloc(3);
    assert_non_null(src);
    memcpy(src, "ab\xe4", 3);
    char out[16];
    mc_copy_printable(out, sizeof(out), src, 3);
    assert_string_equal(out, "ab?");
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_produces_valid_sid_state_and_times),
        cmocka_unit_test(init_1000_times_gives_distinct_sids_and_nonces),
        cmocka_unit_test(init_match_is_one_of_three_distinct_choices_in_range),
        cmocka_unit_test(sid_valid_accepts_only_20_crockford_chars),
        cmocka_unit_test(purpose_parse_and_name_round_trip),
        cmocka_unit_test(account_name_valid_edges),
        cmocka_unit_test(copy_printable_replaces_control_chars),
        cmocka_unit_test(copy_printable_keeps_valid_utf8),
        cmocka_unit_test(copy_printable_replaces_invalid_utf8_bytewise),
        cmocka_unit_test(copy_printable_replaces_c1_and_bidi_controls),
        cmocka_unit_test(copy_printable_truncates_at_utf8_boundary),
        cmocka_unit_test(copy_printable_reads_only_n_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
