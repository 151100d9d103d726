/*
 * test_apply_rules.c — the pure rules of applications (core/domain/mc_apply):
 * the GB 11643-1999 ID number with the standard's own examples and near
 * misses, mobile numbers, email addresses, GB/T 2260 regions, org types,
 * a whole application's first bad field, the upload signatures at both
 * ends, the order number, the fee table and the state-transition table
 * (every pair of state and event).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mc_apply.h"

#define V(s) mc_idnum_valid((s), strlen(s))

static void id_numbers_with_the_standards_examples_and_near_misses(void **state)
{
    /* GB 11643-1999's two examples */
    assert_true(V("11010519491231002X"));
    assert_true(V("440524188001010014"));
    assert_int_equal(mc_idnum_check_char("11010519491231002"), 'X');
    assert_int_equal(mc_idnum_check_char("44052418800101001"), '4');
    /* each wrong check character */
    const char *digits = "0123456789";
    for (int i = 0; i < 10; i++) {
        char s[19];
        snprintf(s, sizeof(s), "11010519491231002%c", digits[i]);
        assert_false(V(s));
    }
    assert_false(V("440524188001010015"));
    assert_false(V("11010519491231002x"));     /* lower-case x */
    assert_false(V("1101051949123100X"));      /* 17 characters */
    assert_false(V("11010519491231002XX"));    /* 19 */
    assert_false(V(""));
    /* a real date only */
    char s[19];
    memcpy(s, "11010519490230002", 17);        /* 30 February */
    s[17] = mc_idnum_check_char(s);
    s[18] = '\0';
    assert_false(V(s));
    memcpy(s, "11010520000229002", 17);        /* 29 February 2000: a leap year */
    s[17] = mc_idnum_check_char(s);
    assert_true(V(s));
    memcpy(s, "11010519000229002", 17);        /* 1900 was not */
    s[17] = mc_idnum_check_char(s);
    assert_false(V(s));
    memcpy(s, "11010517991231002", 17);        /* before 1800 */
    s[17] = mc_idnum_check_char(s);
    assert_false(V(s));
    /* a province that does not exist (99), with a right check digit */
    memcpy(s, "99010519491231002", 17);
    s[17] = mc_idnum_check_char(s);
    assert_false(V(s));
    assert_int_equal(mc_idnum_check_char("1101051949123100A"), 0);
}

static void mobiles_emails_regions_and_org_types(void **state)
{
    const char *good_m[] = {"13800138000", "19912345678", "16612345678"};
    const char *bad_m[] = {"12345678901", "1380013800", "138001380001", "23800138000",
                           "1380013800a", "+8613800138"};
    for (size_t i = 0; i < 3; i++)
        assert_true(mc_mobile_valid(good_m[i], strlen(good_m[i])));
    for (size_t i = 0; i < 6; i++)
        assert_false(mc_mobile_valid(bad_m[i], strlen(bad_m[i])));

    const char *good_e[] = {"zhang.san@example.com.cn", "a@b.cn", "li_si+bid@mail.zcy.gov.cn",
                            "X-1%y@sub-d.example.org"};
    const char *bad_e[] = {"zhangsan@", "@example.com", "a@b", "a@@b.cn", "a@b@c.cn",
                           ".a@b.cn", "a.@b.cn", "a..b@c.cn", "a@-b.cn", "a@b-.cn",
                           "a@b.c", "a@b.c1", "a b@c.cn", "张三@例子.中国", "a@b..cn"};
    for (size_t i = 0; i < sizeof(good_e) / sizeof(good_e[0]); i++)
        assert_true(mc_email_valid(good_e[i], strlen(good_e[i])));
    for (size_t i = 0; i < sizeof(bad_e) / sizeof(bad_e[0]); i++)
        if (mc_email_valid(bad_e[i], strlen(bad_e[i])))
            fail_msg("%s taken", bad_e[i]);
    char longe[200];
    memset(longe, 'a', 120);
    memcpy(longe + 120, "@b.cn", 6);
    assert_false(mc_email_valid(longe, strlen(longe))); /* local part over 64 */

    /* the 34 provincial-level divisions, and nothing else */
    int n = 0;
    for (int a = 0; a < 100; a++) {
        char p[3];
        snprintf(p, sizeof(p), "%02d", a);
        n += mc_province_valid(p);
    }
    assert_int_equal(n, 34);
    const char *good_r[] = {"110000", "330000", "330100", "440300", "650000", "710000",
                            "810000", "820000", "540100"};
    const char *bad_r[] = {"100000", "990000", "330101", "33010", "3301000", "33A100",
                           "830000", "000000"};
    for (size_t i = 0; i < sizeof(good_r) / sizeof(good_r[0]); i++)
        assert_true(mc_region_valid(good_r[i], 6));
    for (size_t i = 0; i < sizeof(bad_r) / sizeof(bad_r[0]); i++)
        assert_false(mc_region_valid(bad_r[i], strlen(bad_r[i])));

    assert_true(mc_org_type_valid("legal_person", 12));
    assert_true(mc_org_type_valid("individual", 10));
    assert_true(mc_org_type_valid("other", 5));
    assert_false(mc_org_type_valid("company", 7));
    assert_false(mc_org_type_valid("legal", 5));
    assert_string_equal(mc_org_type_label("individual"), "个体工商户");

    assert_true(mc_app_text_valid("张三", strlen("张三"), 64));
    assert_false(mc_app_text_valid("", 0, 64));
    assert_false(mc_app_text_valid("  ", 2, 64));
    assert_false(mc_app_text_valid("a\nb", 3, 64));
    assert_false(mc_app_text_valid("\xe5\xbc", 2, 64));          /* cut UTF-8 */
    assert_false(mc_app_text_valid("a\xe2\x80\xae" "b", 5, 64)); /* RLO */
}

static mc_app whole(void)
{
    mc_app a;
    memset(&a, 0, sizeof(a));
    snprintf(a.provider, sizeof(a.provider), "mcert");
    snprintf(a.kind, sizeof(a.kind), "mobile");
    a.quantity = 1;
    snprintf(a.org_name, sizeof(a.org_name), "演示供应商有限公司");
    snprintf(a.org_type, sizeof(a.org_type), "legal_person");
    snprintf(a.uscc, sizeof(a.uscc), "91330100MA2DEM001H");
    snprintf(a.region, sizeof(a.region), "330100");
    memset(a.licence, 'a', 64);
    snprintf(a.holder_name, sizeof(a.holder_name), "张三");
    snprintf(a.holder_id, sizeof(a.holder_id), "11010519491231002X");
    snprintf(a.mobile, sizeof(a.mobile), "13800138000");
    snprintf(a.email, sizeof(a.email), "zhang@example.com");
    memset(a.id_scan, 'b', 64);
    memset(a.auth_letter, 'c', 64);
    snprintf(a.alg, sizeof(a.alg), "sm2");
    snprintf(a.delivery, sizeof(a.delivery), "online");
    snprintf(a.identity, sizeof(a.identity), "face_passed");
    return a;
}

static void a_whole_application_names_its_first_bad_field(void **state)
{
    static const char *const prov[] = {"mcert", NULL};
    const char *why;
    mc_app a = whole();
    assert_null(mc_app_check(&a, 1, 1, prov, &why));
    /* face_passed is not the caller's to claim */
    assert_string_equal(mc_app_check(&a, 1, 0, prov, &why), "identity");
    /* in the form's order: the first of two bad fields */
    a.mobile[0] = '2';
    a.holder_id[17] = '0';
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "holder_id");
    assert_non_null(why);
    a = whole();
    a.region[1] = '9';
    a.email[0] = '\0';
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "region");
    /* a draft: empty fields pass, bad ones do not */
    mc_app d;
    memset(&d, 0, sizeof(d));
    assert_null(mc_app_check(&d, 0, 0, prov, &why));
    assert_string_equal(mc_app_check(&d, 1, 0, prov, &why), "provider");
    snprintf(d.email, sizeof(d.email), "nope");
    assert_string_equal(mc_app_check(&d, 0, 0, prov, &why), "email");
    /* each field in turn */
    a = whole();
    snprintf(a.provider, sizeof(a.provider), "other-ca");
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "provider");
    a = whole();
    snprintf(a.kind, sizeof(a.kind), "ukey");
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "kind");
    a = whole();
    a.quantity = 2;
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "quantity");
    a = whole();
    a.uscc[17] = a.uscc[17] == 'H' ? 'J' : 'H';
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "uscc");
    a = whole();
    snprintf(a.alg, sizeof(a.alg), "rsa");
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "alg");
    a = whole();
    snprintf(a.delivery, sizeof(a.delivery), "post");
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "delivery");
    a = whole();
    a.licence[3] = 'G';
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "licence");
    a = whole();
    snprintf(a.identity, sizeof(a.identity), "none");
    assert_string_equal(mc_app_check(&a, 1, 1, prov, &why), "identity");
    snprintf(a.identity, sizeof(a.identity), "paper");
    assert_null(mc_app_check(&a, 1, 0, prov, &why));
}

static void uploads_are_judged_by_both_ends(void **state)
{
    static const uint8_t png[] = {
        0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0,    0,    0,    13,   'I',  'H',
        'D',  'R',  0,    0,    0,    1,    0,    0,    0,    1,    8,    6,    0,    0,
        0,    0x1f, 0x15, 0xc4, 0x89, 0,    0,    0,    10,   'I',  'D',  'A',  'T',  0x78,
        0x9c, 0x63, 0,    1,    0,    0,    5,    0,    1,    0x0d, 0x0a, 0x2d, 0xb4, 0,
        0,    0,    0,    'I',  'E',  'N',  'D',  0xae, 0x42, 0x60, 0x82,
    };
    assert_null(mc_upload_check("image/png", png, sizeof(png)));
    assert_non_null(mc_upload_check("image/png", png, sizeof(png) - 1));
    assert_non_null(mc_upload_check("image/jpeg", png, sizeof(png)));
    uint8_t jpg[64] = {0xff, 0xd8, 0xff, 0xe0};
    jpg[62] = 0xff;
    jpg[63] = 0xd9;
    assert_null(mc_upload_check("image/jpeg", jpg, sizeof(jpg)));
    jpg[63] = 0;
    assert_non_null(mc_upload_check("image/jpeg", jpg, sizeof(jpg))); /* header on garbage */
    static const char pdf[] = "%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n";
    assert_null(mc_upload_check("application/pdf", (const uint8_t *)pdf, sizeof(pdf) - 1));
    assert_non_null(mc_upload_check("application/pdf", (const uint8_t *)pdf, 20));
    static const char gif[] = "GIF89a................";
    assert_non_null(mc_upload_check("image/png", (const uint8_t *)gif, sizeof(gif) - 1));
    assert_non_null(mc_upload_check("image/gif", (const uint8_t *)gif, sizeof(gif) - 1));
    assert_non_null(mc_upload_check("image/png", png, 0));
    assert_true(mc_upload_type_known("application/pdf"));
    assert_false(mc_upload_type_known("image/gif"));
    assert_false(mc_upload_type_known("text/plain"));
}

static void order_numbers(void **state)
{
    char id[MC_APP_ID_LEN + 1];
    /* 2026-12-01 16:30 UTC is 2026-12-02 00:30 in UTC+8 */
    mc_app_id_make(1796142600, 12345678, id);
    assert_string_equal(id, "SQ2026120212345678");
    mc_app_id_make(1796142600, 7, id);
    assert_string_equal(id, "SQ2026120200000007");
    assert_true(mc_app_number_valid(id, strlen(id)));
    assert_false(mc_app_number_valid("SQ202612020000000", 17));
    assert_false(mc_app_number_valid("XQ2026120200000007", 18));
    assert_false(mc_app_number_valid("SQ20261202000000A7", 18));
}

static void the_fee_table(void **state)
{
    /* first certificate free for legal persons and individual businesses */
    assert_int_equal(mc_app_fee("legal_person", 1, 1), 0);
    assert_int_equal(mc_app_fee("individual", 1, 1), 0);
    assert_int_equal(mc_app_fee("other", 1, 1), 20000);
    /* every further one: 200 CNY per certificate-year */
    assert_int_equal(mc_app_fee("legal_person", 1, 0), 20000);
    assert_int_equal(mc_app_fee("individual", 1, 0), 20000);
    assert_int_equal(mc_app_fee("other", 1, 0), 20000);
    assert_int_equal(mc_app_fee("legal_person", 3, 1), 40000);
    assert_int_equal(mc_app_fee("legal_person", 3, 0), 60000);
    assert_int_equal(mc_app_fee("legal_person", 0, 1), 0);
    assert_true(mc_fee_first_free("legal_person"));
    assert_false(mc_fee_first_free("other"));
}

static void the_transition_table_for_every_state_and_event(void **state)
{
    /* the expected next state of each (state, event); NONE = 409 */
    static const struct {
        mc_app_state from;
        mc_app_state to[MC_APP_NEVENTS]; /* edit, free, fee, paid, approve, reject, issue, withdraw */
    } want[] = {
        {MC_APP_DRAFT, {MC_APP_DRAFT, MC_APP_PENDING_REVIEW, MC_APP_PENDING_PAYMENT, -1, -1, -1,
                        -1, MC_APP_WITHDRAWN}},
        {MC_APP_PENDING_PAYMENT, {-1, -1, -1, MC_APP_PENDING_REVIEW, -1, -1, -1,
                                  MC_APP_WITHDRAWN}},
        {MC_APP_PENDING_REVIEW, {-1, -1, -1, -1, MC_APP_APPROVED, MC_APP_REJECTED, -1,
                                 MC_APP_WITHDRAWN}},
        {MC_APP_APPROVED, {-1, -1, -1, -1, -1, -1, MC_APP_ISSUED, -1}},
        {MC_APP_ISSUED, {-1, -1, -1, -1, -1, -1, -1, -1}},
        {MC_APP_REJECTED, {MC_APP_REJECTED, MC_APP_PENDING_REVIEW, MC_APP_PENDING_PAYMENT, -1,
                           -1, -1, -1, MC_APP_WITHDRAWN}},
        {MC_APP_WITHDRAWN, {-1, -1, -1, -1, -1, -1, -1, -1}},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        for (int e = 0; e < MC_APP_NEVENTS; e++)
            if (mc_app_next(want[i].from, (mc_app_event)e) != want[i].to[e])
                fail_msg("%s + %s", mc_app_state_name(want[i].from),
                         mc_app_event_name((mc_app_event)e));
    char buf[128];
    assert_string_equal(mc_app_from_list(MC_APP_EV_WITHDRAW, buf, sizeof(buf)),
                        "draft,pending_payment,pending_review,rejected");
    assert_string_equal(mc_app_from_list(MC_APP_EV_SUBMIT_FREE, buf, sizeof(buf)),
                        "draft,rejected");
    assert_string_equal(mc_app_from_list(MC_APP_EV_APPROVE, buf, sizeof(buf)), "pending_review");
    assert_int_equal(mc_app_target(MC_APP_EV_REJECT), MC_APP_REJECTED);
    /* names and labels round-trip */
    static const char *const labels[] = {"草稿", "待支付", "待审核", "审核通过,待制证",
                                         "审核通过,已发证", "审核未通过", "已撤销"};
    for (int s = 0; s < MC_APP_NSTATES; s++) {
        assert_int_equal(mc_app_state_parse(mc_app_state_name((mc_app_state)s)), s);
        assert_string_equal(mc_app_state_label((mc_app_state)s), labels[s]);
    }
    assert_int_equal(mc_app_state_parse("approved"), MC_APP_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(id_numbers_with_the_standards_examples_and_near_misses),
        cmocka_unit_test(mobiles_emails_regions_and_org_types),
        cmocka_unit_test(a_whole_application_names_its_first_bad_field),
        cmocka_unit_test(uploads_are_judged_by_both_ends),
        cmocka_unit_test(order_numbers),
        cmocka_unit_test(the_fee_table),
        cmocka_unit_test(the_transition_table_for_every_state_and_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
