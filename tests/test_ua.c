/*
 * test_ua.c — unit tests of core/domain/mc_ua.c: the requesting browser's
 * User-Agent as the phone shows it.
 *
 * Why: the User-Agent is the one line of the phone's "who is asking"
 * screen that the asker writes. These tests hold that what comes out is one
 * short line with nothing invisible in it (the QRLjacking display attack of
 * issue 9: zero-width and direction marks, U+2028 and runs of spaces that
 * draw a fake "IP:" line), and that known browsers are reduced to fixed
 * words ("Chrome 120 on Windows").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mc_session.h"
#include "mc_ua.h"

/* Every byte of s is printable ASCII or part of well-formed UTF-8, and s
 * holds none of the characters a cleaned string may not hold. */
static void assert_clean_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        uint32_t cp = p[i];
        size_t len = 1;
        if (cp >= 0x80)
            assert_int_not_equal(len = mc_utf8_seq(p + i, n - i, &cp), 0);
        assert_true(cp >= 0x21 || (cp == 0x20 && i > 0 && i + 1 < n && p[i + 1] != ' '));
        assert_false(cp == 0x7f || (cp >= 0x80 && cp <= 0xa0));
        assert_false((cp >= 0x2000 && cp <= 0x206f) || cp == 0xfeff || cp == 0x3000);
        i += len;
    }
}

static void clean_removes_what_draws_a_fake_line(void **state)
{
    (void)state;
    char out[MC_UA_SHOWN_MAX + 1];
    /* ZWSP, LRM, U+2028 twice, NBSP runs, ZWJ, RLO, U+3000, BOM, U+2029 */
    static const char in[] = "Mozilla/5.0\xe2\x80\x8b (X11)\xe2\x80\xa8\xe2\x80\xa8IP:"
                             "\xc2\xa0\xc2\xa0   10.0.0.8\xe2\x80\x8e   \xe2\x80\x8d"
                             "(\xe6\x82\xa8\xe7\x9a\x84\xe5\x86\x85\xe7\xbd\x91)\xe2\x80\xae"
                             "\xe3\x80\x80\xef\xbb\xbf\xe2\x80\xa9";
    size_t n = mc_ua_clean(in, sizeof(in) - 1, out, sizeof(out));
    assert_string_equal(out, "Mozilla/5.0 (X11) IP: 10.0.0.8 (您的内网)");
    assert_int_equal(n, strlen(out));
    assert_clean_utf8(out);
}

static void clean_drops_controls_and_collapses_line_breaks(void **state)
{
    (void)state;
    char out[64];
    /* tab, CR LF, SOH, DEL, NEL (a line break), CSI (C1), ESC[ */
    static const char in[] = "a\tb\r\n\x01" "c\x7f\xc2\x85" "d\xc2\x9b" "e\x1b[0m";
    mc_ua_clean(in, sizeof(in) - 1, out, sizeof(out));
    assert_string_equal(out, "a b c de[0m");
    /* a NUL byte is a control like any other */
    mc_ua_clean("a\0b", 3, out, sizeof(out));
    assert_string_equal(out, "ab");
    /* combining marks (e + U+0301, a stack of U+0336) and a variation
     * selector go; letters of any script stay */
    static const char marks[] = "e\xcc\x81 x\xcc\xb6\xcc\xb6\xcc\xb6 \xe2\x9c\x93\xef\xb8\x8f"
                                " \xe4\xb8\xad\xe6\x96\x87 \xc3\xa9 \xf0\x9f\x98\x80";
    mc_ua_clean(marks, sizeof(marks) - 1, out, sizeof(out));
    assert_string_equal(out, "e x \xe2\x9c\x93 中文 \xc3\xa9 \xf0\x9f\x98\x80");
    assert_clean_utf8(out);
}

static void clean_drops_invalid_utf8(void **state)
{
    (void)state;
    char out[64];
    /* lone continuation, overlong '/', surrogate U+D800, > U+10FFFF, 0xff,
     * and a 3-byte lead cut short by the end of input */
    static const char in[] = "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80"
                             "e\xff" "f\xe4\xb8";
    size_t n = mc_ua_clean(in, sizeof(in) - 1, out, sizeof(out));
    assert_string_equal(out, "abcdef");
    assert_int_equal(n, 6);
}

static void clean_trims_and_may_leave_nothing(void **state)
{
    (void)state;
    char out[32];
    static const char in[] = "  \xe3\x80\x80\t x \xe2\x80\xa9 \xe2\x80\x8b ";
    mc_ua_clean(in, sizeof(in) - 1, out, sizeof(out));
    assert_string_equal(out, "x");
    static const char none[] = " \xe2\x80\x8b\xe2\x80\x8e\xef\xbb\xbf\r\n\x01";
    out[0] = 'Z';
    assert_int_equal(mc_ua_clean(none, sizeof(none) - 1, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(mc_ua_clean(NULL, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

static void clean_caps_length_at_a_character_boundary(void **state)
{
    (void)state;
    char in[400], out[300];
    size_t n;

    memset(in, 'a', 300);
    assert_int_equal(mc_ua_clean(in, 300, out, sizeof(out)), MC_UA_SHOWN_MAX);
    assert_int_equal(strlen(out), MC_UA_SHOWN_MAX);
    /* "a" + 50 x 中 (3 bytes): 39 fit in 120 (1 + 117), the 40th would not */
    in[0] = 'a';
    for (int i = 0; i < 50; i++)
        memcpy(in + 1 + 3 * i, "\xe4\xb8\xad", 3);
    n = mc_ua_clean(in, 151, out, sizeof(out));
    assert_int_equal(n, 118);
    assert_memory_equal(out + 115, "\xe4\xb8\xad", 3);
    assert_clean_utf8(out);
    /* a smaller buffer caps too (9 bytes: "a中中", the next would end at 10) */
    assert_int_equal(mc_ua_clean(in, 151, out, 10), 7);
    /* the space before a word that does not fit is not left at the end */
    memset(in, 'a', 119);
    memcpy(in + 119, "  b", 3);
    assert_int_equal(mc_ua_clean(in, 122, out, sizeof(out)), 119);
    assert_int_equal(out[118], 'a');
    /* outsz 1 and 0 */
    out[0] = 'Z';
    assert_int_equal(mc_ua_clean("xyz", 3, out, 1), 0);
    assert_int_equal(out[0], '\0');
    out[0] = 'Z';
    assert_int_equal(mc_ua_clean("xyz", 3, out, 0), 0);
    assert_int_equal(out[0], 'Z');
}

static void clean_and_summary_read_only_n_bytes(void **state)
{
    (void)state;
    /* heap bytes without a terminator: ASan flags any over-read */
    static const char ua[] = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 \xe4\xb8";
    char *src = malloc(sizeof(ua) - 1);
    char out[64];
    assert_non_null(src);
    memcpy(src, ua, sizeof(ua) - 1);
    mc_ua_clean(src, sizeof(ua) - 1, out, sizeof(out));
    assert_string_equal(out, "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0");
    mc_ua_summary(src, sizeof(ua) - 1, out, sizeof(out));
    assert_string_equal(out, "Chrome 120 on Windows");
    free(src);
}

static void summary_names_browser_and_os_families(void **state)
{
    (void)state;
    static const struct {
        const char *ua, *want;
    } cases[] = {
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36",
         "Chrome 120 on Windows"},
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
         "Edge 120 on Windows"},
        {"Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.6099.193 Mobile Safari/537.36 EdgA/120.0.2210.115",
         "Edge 120 on Android"},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
         "Safari 17 on iOS"},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.1 Safari/605.1.15",
         "Safari 17 on macOS"},
        {"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
         "Firefox 121 on Linux"},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
         "Firefox 121 on macOS"},
        {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Mobile Safari/537.36",
         "Chrome 120 on Android"},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
         "Chrome 120 on iOS"},
        {"Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
         "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 "
         "XWEB/5023 MMWEBSDK/20230405 MicroMessenger/8.0.35.2360(0x2800235B) WeChat/arm64",
         "WeChat 8 on Android"},
        {"Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 "
         "(KHTML, like Gecko) Chrome/99.0.4844.88 Mobile Safari/537.36",
         "Chrome 99 on HarmonyOS"},
        {"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
         "Internet Explorer 11 on Windows"},
        {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
         "Opera 106 on ChromeOS"},
        {"Chrome/120.0", "Chrome 120"},
        /* a version of more than 4 digits is left out */
        {"Mozilla/5.0 (Windows NT 10.0) Chrome/123456.0", "Chrome on Windows"},
        /* unknown browsers: the cleaned string */
        {"curl/8.1.2", "curl/8.1.2"},
        {"XChrome/120 (Windows)", "XChrome/120 (Windows)"},
        {"", ""},
    };
    char out[MC_UA_SHOWN_MAX + 1];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = mc_ua_summary(cases[i].ua, strlen(cases[i].ua), out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
        assert_int_equal(n, strlen(out));
    }
    /* the Edge token of case 2 lies past what is shown of a cleaned string */
    assert_true(strstr(cases[2].ua, "EdgA/") - cases[2].ua > MC_UA_SHOWN_MAX);
}

static void summary_of_a_hostile_ua_is_fixed_words(void **state)
{
    (void)state;
    char out[MC_UA_SHOWN_MAX + 1];
    /* a Chrome UA with a fake second line, and a token split by a ZWSP */
    static const char fake[] = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0\xe2\x80\xa8"
                               "IP: 10.0.0.8 (\xe6\x82\xa8\xe7\x9a\x84\xe5\x86\x85\xe7\xbd\x91)";
    mc_ua_summary(fake, sizeof(fake) - 1, out, sizeof(out));
    assert_string_equal(out, "Chrome 120 on Windows");
    static const char split[] = "Chr\xe2\x80\x8bome/120 (Windows NT 10.0)";
    mc_ua_summary(split, sizeof(split) - 1, out, sizeof(out));
    assert_string_equal(out, "Chrome 120 on Windows");
    /* an unknown one comes out cleaned */
    static const char bot[] = "evil\xe2\x80\xa8\xe2\x80\x8e   IP:\xc2\xa0" "10.0.0.8";
    mc_ua_summary(bot, sizeof(bot) - 1, out, sizeof(out));
    assert_string_equal(out, "evil IP: 10.0.0.8");
    /* a small buffer cuts the summary; 0 writes nothing */
    assert_int_equal(mc_ua_summary(fake, sizeof(fake) - 1, out, 7), 6);
    assert_string_equal(out, "Chrome");
    out[0] = 'Z';
    assert_int_equal(mc_ua_summary(fake, sizeof(fake) - 1, out, 0), 0);
    assert_int_equal(out[0], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_removes_what_draws_a_fake_line),
        cmocka_unit_test(clean_drops_controls_and_collapses_line_breaks),
        cmocka_unit_test(clean_drops_invalid_utf8),
        cmocka_unit_test(clean_trims_and_may_leave_nothing),
        cmocka_unit_test(clean_caps_length_at_a_character_boundary),
        cmocka_unit_test(clean_and_summary_read_only_n_bytes),
        cmocka_unit_test(summary_names_browser_and_os_families),
        cmocka_unit_test(summary_of_a_hostile_ua_is_fixed_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
