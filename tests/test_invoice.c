/*
 * test_invoice.c — invoices (发票, PROTOCOL.md §11): the pure rules of
 * core/domain/mc_invoice.c and the e-invoice PDF, then the whole capability
 * against a real redis-server and the real mcertd (tests/support):
 *
 *   saved titles (at most 5: the 6th is 409 too_many_titles; a bad 企业税号
 *   is 400 naming tax_id; edit, delete; another organisation sees none);
 *   a paid application's order -> POST /api/v1/invoices -> the operator's
 *   issue with the generated PDF (checked by qpdf --check and pdftotext: the
 *   title and the amount are in it) -> the email entry in {mc}:outbox;
 *   an issue with an uploaded PDF; reject with a reason, then a new request
 *   (a new number; the old one is gone); unpaid and refunded orders refused
 *   (order_not_paid), a second request refused (invoice_exists); a paid
 *   application's withdrawal refused while its invoice is open
 *   (invoice_open), allowed once it is voided; another organisation's
 *   invoices are 404; issue/reject/void are an operator's (403); mcertctl's
 *   invoice verbs; malformed, unknown-field and oversized bodies.
 *
 * Every refusal is checked to leave the data set unchanged (DEBUG DIGEST).
 * The orders (and the applications they pay) are written into Redis in
 * PAY's fields by the test, so that invoices are tested on their own.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "mc_apply.h"
#include "mc_crypto.h"
#include "mc_http.h"
#include "mc_invoice.h"
#include "mc_invoice_pdf.h"
#include "mc_testhelp.h"

#define CA_ORG "91110000MA0CAMPT0X" /* its check character is made by mc_testenv_uscc_fix */

static mc_testenv *env;
static char *tok_alice, *tok_bob, *tok_boss, *tok_other, *tok_op;

/* ---- the pure rules ---- */

static void the_state_table_is_the_protocols(void **state)
{
    assert_int_equal(mc_inv_next(MC_INV_REQUESTED, MC_INV_EV_ISSUE), MC_INV_ISSUED);
    assert_int_equal(mc_inv_next(MC_INV_REQUESTED, MC_INV_EV_REJECT), MC_INV_REJECTED);
    assert_int_equal(mc_inv_next(MC_INV_REQUESTED, MC_INV_EV_VOID), MC_INV_VOIDED);
    assert_int_equal(mc_inv_next(MC_INV_ISSUED, MC_INV_EV_VOID), MC_INV_VOIDED);
    assert_int_equal(mc_inv_next(MC_INV_ISSUED, MC_INV_EV_ISSUE), MC_INV_NONE);
    assert_int_equal(mc_inv_next(MC_INV_ISSUED, MC_INV_EV_REJECT), MC_INV_NONE);
    assert_int_equal(mc_inv_next(MC_INV_REJECTED, MC_INV_EV_VOID), MC_INV_NONE);
    assert_int_equal(mc_inv_next(MC_INV_VOIDED, MC_INV_EV_ISSUE), MC_INV_NONE);
    char l[64];
    assert_string_equal(mc_inv_from_list(MC_INV_EV_VOID, 1, l, sizeof(l)), "requested,issued");
    assert_string_equal(mc_inv_from_list(MC_INV_EV_VOID, 0, l, sizeof(l)), "requested");
    assert_string_equal(mc_inv_from_list(MC_INV_EV_ISSUE, 0, l, sizeof(l)), "");
    assert_string_equal(mc_inv_from_list(MC_INV_EV_ISSUE, 1, l, sizeof(l)), "requested");
    assert_true(mc_inv_holds("requested") && mc_inv_holds("issued"));
    assert_false(mc_inv_holds("rejected") || mc_inv_holds("voided") || mc_inv_holds(""));
    assert_int_equal(mc_inv_state_parse("voided"), MC_INV_VOIDED);
    assert_int_equal(mc_inv_state_parse("void"), MC_INV_NONE);
    assert_string_equal(mc_inv_state_label(MC_INV_ISSUED), "已开票");
}

static void title_fields_are_checked_in_the_forms_order(void **state)
{
    mc_inv_title t;
    memset(&t, 0, sizeof(t));
    const char *why;
    assert_string_equal(mc_inv_title_check(&t, &why), "name");
    snprintf(t.name, sizeof(t.name), "演示供应商有限公司");
    assert_string_equal(mc_inv_title_check(&t, &why), "tax_id");
    snprintf(t.tax_id, sizeof(t.tax_id), "91330100MA2DEM001X"); /* wrong check character */
    assert_string_equal(mc_inv_title_check(&t, &why), "tax_id");
    snprintf(t.tax_id, sizeof(t.tax_id), "%s", MC_TEST_ORG);
    assert_null(mc_inv_title_check(&t, &why));
    /* 100 characters of CJK (300 bytes) pass, 101 do not */
    char *p = t.name;
    for (int i = 0; i < 100; i++, p += 3)
        memcpy(p, "企", 3);
    *p = '\0';
    assert_null(mc_inv_title_check(&t, &why));
    memcpy(p, "企", 4);
    assert_string_equal(mc_inv_title_check(&t, &why), "name");
    snprintf(t.name, sizeof(t.name), "   ");
    assert_string_equal(mc_inv_title_check(&t, &why), "name");
    snprintf(t.name, sizeof(t.name), "ok");
    snprintf(t.phone, sizeof(t.phone), "0571-8888 6666");
    assert_null(mc_inv_title_check(&t, &why));
    snprintf(t.phone, sizeof(t.phone), "call me");
    assert_string_equal(mc_inv_title_check(&t, &why), "phone");
    t.phone[0] = '\0';
    snprintf(t.account, sizeof(t.account), "6222-0000 1111");
    assert_null(mc_inv_title_check(&t, &why));
    snprintf(t.account, sizeof(t.account), "IBAN12");
    assert_string_equal(mc_inv_title_check(&t, &why), "account");
    t.account[0] = '\0';
    snprintf(t.address, sizeof(t.address), "a\x01");
    assert_string_equal(mc_inv_title_check(&t, &why), "address");
    t.address[0] = '\0';
    snprintf(t.bank, sizeof(t.bank), "\xff");
    assert_string_equal(mc_inv_title_check(&t, &why), "bank");
    assert_null(mc_inv_receiver_check("13800138000", "a@b.cn", &why));
    assert_string_equal(mc_inv_receiver_check("0571-88886666", "a@b.cn", &why),
                        "receiver_phone");
    assert_string_equal(mc_inv_receiver_check("12800138000", "a@b.cn", &why), "receiver_phone");
    assert_string_equal(mc_inv_receiver_check("13800138000", "a@b", &why), "receiver_email");
}

static void the_goods_line_follows_the_order(void **state)
{
    mc_inv_goods g;
    assert_int_equal(mc_inv_goods_of("app", 20000, 20000, &g), 0);
    assert_string_equal(g.name, "移动证书");
    assert_string_equal(g.spec, "移动版");
    assert_string_equal(g.unit, "个");
    assert_int_equal(g.qty, 1);
    assert_int_equal(g.price, 20000);
    assert_int_equal(g.amount, 20000);
    assert_int_equal(mc_inv_goods_of("", 20000, 20000, &g), 0); /* an order before kinds */
    assert_string_equal(g.name, "移动证书");
    assert_int_equal(mc_inv_goods_of("renewal", 60000, 20000, &g), 0);
    assert_string_equal(g.name, "移动证书续费");
    assert_string_equal(g.unit, "年");
    assert_int_equal(g.qty, 3);
    assert_int_equal(g.price, 20000);
    assert_int_equal(g.amount, 60000);
    assert_int_equal(mc_inv_goods_of("renewal", 12345, 20000, &g), 0);
    assert_int_equal(g.qty, 1);
    assert_int_equal(g.price, 12345);
    assert_int_equal(mc_inv_goods_of("ukey", 20000, 20000, &g), -1);
    assert_int_equal(mc_inv_goods_of("app", 0, 20000, &g), -1);
}

static void numbers_and_amounts(void **state)
{
    char id[MC_INV_ID_LEN + 1];
    /* 2026-12-01 16:00 UTC is already 2026-12-02 in UTC+8 */
    mc_inv_id_new(1796140800, id);
    assert_true(mc_inv_id_valid(id, strlen(id)));
    assert_memory_equal(id, "FP20261202", 10);
    assert_false(mc_inv_id_valid("PO202612020000000123", 20));
    assert_false(mc_inv_id_valid("FP20261202000000012", 19));
    assert_false(mc_inv_id_valid("FP2026120200000001x3", 20));
    char tid[MC_INV_TID_LEN + 1];
    mc_inv_tid_new(tid);
    assert_true(mc_inv_tid_valid(tid, strlen(tid)));
    assert_false(mc_inv_tid_valid("0123456789ABCDEF", 16));
    char w[160], y[32];
    assert_string_equal(mc_inv_amount_words(20000, w, sizeof(w)), "贰佰圆整");
    assert_string_equal(mc_inv_amount_words(12345, w, sizeof(w)), "壹佰贰拾叁圆肆角伍分");
    assert_string_equal(mc_inv_amount_words(100000, w, sizeof(w)), "壹仟圆整");
    assert_string_equal(mc_inv_amount_words(1000001, w, sizeof(w)), "壹万圆零壹分");
    assert_string_equal(mc_inv_amount_words(100500, w, sizeof(w)), "壹仟零伍圆整");
    assert_string_equal(mc_inv_amount_words(10000000000LL, w, sizeof(w)), "壹亿圆整");
    assert_string_equal(mc_inv_amount_words(10100000000LL, w, sizeof(w)), "壹亿零壹佰万圆整");
    assert_string_equal(mc_inv_amount_words(1000000000000LL, w, sizeof(w)), "壹佰亿圆整");
    assert_string_equal(mc_inv_amount_words(50, w, sizeof(w)), "伍角");
    assert_string_equal(mc_inv_amount_words(0, w, sizeof(w)), "零圆整");
    assert_string_equal(mc_inv_yuan(20000, y, sizeof(y)), "200.00");
    assert_string_equal(mc_inv_yuan(5, y, sizeof(y)), "0.05");
}

/* ---- the PDF, checked by qpdf and pdftotext (poppler) ---- */

/* Write bytes to a temporary file and run `cmd file` into out; status. */
static int tool_on(const uint8_t *p, size_t n, const char *cmd, char *out, size_t size)
{
    char path[] = "/tmp/test_invoice_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
    char line[512];
    snprintf(line, sizeof(line), "%s %s 2>&1", cmd, path);
    FILE *f = popen(line, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, size - 1, f);
    out[got] = '\0';
    int st = pclose(f);
    unlink(path);
    return st;
}

/* The PDF's structure by hand: every xref offset names its object. */
static void xref_is_exact(const uint8_t *p, size_t n)
{
    char *s = calloc(1, n + 1);
    assert_non_null(s);
    memcpy(s, p, n);
    char *sx = strstr(s, "startxref\n");
    assert_non_null(sx);
    long xref = strtol(sx + 10, NULL, 10);
    assert_memory_equal(s + xref, "xref\n0 10\n", 10);
    const char *e = s + xref + 10 + 20; /* past the free entry */
    for (int i = 1; i <= 9; i++, e += 20) {
        long off = strtol(e, NULL, 10);
        char want[16];
        int wl = snprintf(want, sizeof(want), "%d 0 obj\n", i);
        assert_memory_equal(s + off, want, (size_t)wl);
    }
    free(s);
}

static void the_pdf_is_a_valid_one_page_einvoice(void **state)
{
    mc_invoice v;
    memset(&v, 0, sizeof(v));
    snprintf(v.id, sizeof(v.id), "FP202612020000000123");
    snprintf(v.order, sizeof(v.order), "PO202612013318602270");
    v.amount = 20000;
    snprintf(v.title_name, sizeof(v.title_name), "演示供应商有限公司");
    snprintf(v.title_tax_id, sizeof(v.title_tax_id), "%s", MC_TEST_ORG);
    snprintf(v.title_address, sizeof(v.title_address), "杭州市西湖区文三路1号");
    mc_inv_goods g;
    mc_inv_goods_of("app", 20000, 20000, &g);
    mc_inv_set_goods(&v, &g);
    mc_buf pdf = {0};
    mc_inv_pdf_render(&v, 1796140800, "op", &pdf);
    assert_memory_equal(pdf.ptr, "%PDF-1.4\n", 9);
    assert_memory_equal(pdf.ptr + pdf.len - 6, "%%EOF\n", 6);
    assert_null(mc_upload_check("application/pdf", pdf.ptr, pdf.len));
    xref_is_exact(pdf.ptr, pdf.len);
    char out[8192];
    assert_int_equal(tool_on(pdf.ptr, pdf.len, "qpdf --check", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "No syntax or stream encoding errors"));
    assert_int_equal(tool_on(pdf.ptr, pdf.len, "pdfinfo", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Pages:           1\n"));
    char text[8192];
    assert_int_equal(tool_on(pdf.ptr, pdf.len, "sh -c 'pdftotext -layout \"$0\" -'", text,
                             sizeof(text)), 0);
    const char *wants[] = {"电子发票（普通发票）", "FP202612020000000123", "2026年12月02日",
                           "演示供应商有限公司", MC_TEST_ORG, "杭州市西湖区文三路1号",
                           "mcert 移动证书CA", "移动证书", "移动版", "200.00", "贰佰圆整",
                           "PO202612013318602270", NULL};
    for (int i = 0; wants[i] != NULL; i++)
        if (strstr(text, wants[i]) == NULL)
            fail_msg("pdftotext has no \"%s\" in:\n%s", wants[i], text);
    /* no font embedded: STSong-Light is named, not carried */
    assert_null(memmem(pdf.ptr, pdf.len, "/FontFile", 9));
    assert_non_null(memmem(pdf.ptr, pdf.len, "/BaseFont /STSong-Light", 23));
    mc_buf_free(&pdf);
}

/* n copies of the UTF-8 character ch into out. */
static void repeat(char *out, const char *ch, int n)
{
    size_t l = strlen(ch);
    for (int i = 0; i < n; i++, out += l)
        memcpy(out, ch, l);
    *out = '\0';
}

/* Every word pdftotext -bbox finds in the PDF stays on the page's frame
 * (x 30..650), a word of the buyer's column (left of the rule at x 340,
 * between y 65 and 155 from the top) stays left of it, and one of the
 * footer's left half (开票人, y > 360) left of 销售方 at x 350. */
static void words_stay_in_their_boxes(const mc_buf *pdf)
{
    static char out[65536];
    assert_int_equal(tool_on(pdf->ptr, pdf->len, "sh -c 'pdftotext -bbox \"$0\" -'", out,
                             sizeof(out)), 0);
    int words = 0;
    for (const char *w = strstr(out, "<word "); w != NULL; w = strstr(w + 1, "<word ")) {
        double x0, y0, x1, y1;
        assert_int_equal(sscanf(w, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%lf\"",
                                &x0, &y0, &x1, &y1), 4);
        const char *e = strchr(w, '>');
        int len = (int)(strstr(e, "</word>") - e - 1);
        words++;
        if (x0 < 29.5 || x1 > 650.5 || y0 < 0 || y1 > 420)
            fail_msg("word \"%.*s\" at x %.1f..%.1f y %.1f..%.1f leaves the page's frame", len,
                     e + 1, x0, x1, y0, y1);
        if (y0 >= 65 && y1 <= 155 && x0 < 340 && x1 > 340.5)
            fail_msg("word \"%.*s\" (x %.1f..%.1f) crosses into the seller's column", len,
                     e + 1, x0, x1);
        if (y0 > 360 && x0 < 350 && x1 > 350.5)
            fail_msg("word \"%.*s\" (x %.1f..%.1f) runs into 销售方", len, e + 1, x0, x1);
    }
    assert_true(words > 20);
}

/* The text of the PDF in content order, without white space. */
static void raw_text(const mc_buf *pdf, char *out, size_t size)
{
    assert_int_equal(tool_on(pdf->ptr, pdf->len, "sh -c 'pdftotext -raw \"$0\" - | tr -d \" \\n\"'",
                             out, size), 0);
}

static void the_pdf_keeps_the_longest_fields_inside_the_page(void **state)
{
    mc_invoice v;
    memset(&v, 0, sizeof(v));
    snprintf(v.id, sizeof(v.id), "FP202612020000000123");
    snprintf(v.order, sizeof(v.order), "PO202612013318602270");
    v.amount = 100000000; /* 壹佰万圆整 */
    repeat(v.title_name, "企", MC_INV_NAME_CHARS);
    repeat(v.title_address, "路", MC_INV_ADDRESS_CHARS);
    repeat(v.title_phone, "8", MC_INV_PHONE_MAX);
    repeat(v.title_bank, "行", MC_INV_BANK_CHARS);
    repeat(v.title_account, "6", MC_INV_ACCOUNT_MAX);
    snprintf(v.title_tax_id, sizeof(v.title_tax_id), "%s", MC_TEST_ORG);
    mc_inv_goods g;
    mc_inv_goods_of("renewal", v.amount, 20000, &g);
    mc_inv_set_goods(&v, &g);
    char drawer[65];
    repeat(drawer, "w", 64); /* the longest login */
    mc_buf pdf = {0};
    mc_inv_pdf_render(&v, 1796140800, drawer, &pdf);
    xref_is_exact(pdf.ptr, pdf.len);
    char out[8192];
    assert_int_equal(tool_on(pdf.ptr, pdf.len, "qpdf --check", out, sizeof(out)), 0);
    words_stay_in_their_boxes(&pdf);
    /* nothing is cut: every field is still there, whole, in its order */
    static char text[16384];
    raw_text(&pdf, text, sizeof(text));
    const char *wants[] = {v.title_name, v.title_address, v.title_phone, v.title_bank,
                           v.title_account, drawer, "壹佰万圆整", "1000000.00", NULL};
    for (int i = 0; wants[i] != NULL; i++)
        if (strstr(text, wants[i]) == NULL)
            fail_msg("pdftotext -raw has no \"%s\" in:\n%s", wants[i], text);
    mc_buf_free(&pdf);
}

/* The PDF's strings are hex, so a title's parentheses and backslashes are
 * text, not syntax; a character beyond the BMP is drawn as "?" (§11.5). */
static void the_pdf_shows_pdf_syntax_and_astral_characters_as_text(void **state)
{
    mc_invoice v;
    memset(&v, 0, sizeof(v));
    snprintf(v.id, sizeof(v.id), "FP202612020000000123");
    snprintf(v.order, sizeof(v.order), "PO202612013318602270");
    v.amount = 1; /* 壹分 */
    snprintf(v.title_name, sizeof(v.title_name), "甲(乙)\\丙) Tj ET (%s\xf0\x9f\x98\x80\xf0\xa0\x80\x80",
             "%%EOF");
    snprintf(v.title_tax_id, sizeof(v.title_tax_id), "%s", MC_TEST_ORG);
    mc_inv_goods g;
    mc_inv_goods_of("app", v.amount, 20000, &g);
    mc_inv_set_goods(&v, &g);
    mc_buf pdf = {0};
    mc_inv_pdf_render(&v, 1796140800, "op(x)\\", &pdf);
    xref_is_exact(pdf.ptr, pdf.len);
    char out[8192];
    assert_int_equal(tool_on(pdf.ptr, pdf.len, "qpdf --check", out, sizeof(out)), 0);
    static char text[16384];
    raw_text(&pdf, text, sizeof(text));
    const char *wants[] = {"甲(乙)\\丙)TjET(%%EOF??", "op(x)\\", "壹分", "0.01", NULL};
    for (int i = 0; wants[i] != NULL; i++)
        if (strstr(text, wants[i]) == NULL)
            fail_msg("pdftotext -raw has no \"%s\" in:\n%s", wants[i], text);
    words_stay_in_their_boxes(&pdf);
    mc_buf_free(&pdf);
}

/* Outside ASCII the font's glyphs are full width (/W covers CIDs 1..95
 * only): a title of 间隔号 (U+00B7, as in a transliterated name) or of
 * accented letters is measured so, and stays in its column. */
static void the_pdf_measures_latin1_letters_as_full_width(void **state)
{
    mc_invoice v;
    memset(&v, 0, sizeof(v));
    snprintf(v.id, sizeof(v.id), "FP202612020000000123");
    snprintf(v.order, sizeof(v.order), "PO202612013318602270");
    v.amount = 20000;
    repeat(v.title_name, "\xc2\xb7", MC_INV_NAME_CHARS);
    repeat(v.title_address, "\xc3\xa9", MC_INV_ADDRESS_CHARS);
    repeat(v.title_bank, "\xc2\xa0", MC_INV_BANK_CHARS);
    snprintf(v.title_tax_id, sizeof(v.title_tax_id), "%s", MC_TEST_ORG);
    mc_inv_goods g;
    mc_inv_goods_of("app", v.amount, 20000, &g);
    mc_inv_set_goods(&v, &g);
    mc_buf pdf = {0};
    mc_inv_pdf_render(&v, 1796140800, "op", &pdf);
    words_stay_in_their_boxes(&pdf);
    mc_buf_free(&pdf);
}

/* ---- against mcertd ---- */

/* An order as PAY leaves it (the kind and renewal fields of issue 8). */
static void order_put(const char *oid, const char *app, const char *uscc, const char *applicant,
                      const char *state, int amount)
{
    redisReply *r = mc_testenv_redis(
        env,
        "HSET {mc}:order:%s id %s kind app app %s renewal %s amount %d provider sandbox state %s "
        "created 1 expires 2 paid_at 1 txn T1 refund_req %s refund_txn %s refunded_at 0 "
        "uscc %s applicant %s payer %s name %s",
        oid, oid, app, "", amount, state, "", "", uscc, applicant, "演示供应商有限公司",
        "移动证书申领");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
}

/* A paid application in pending_review naming its order (apply.lua's fields). */
static void app_put(const char *id, const char *oid, const char *applicant)
{
    redisReply *r = mc_testenv_redis(
        env,
        "HSET {mc}:app:%s id %s provider mcert kind mobile quantity 1 org_name %s org_type "
        "other uscc %s region 330000 holder_name 张三 holder_id 110101199003070011 mobile "
        "13800000000 email a@b.cn alg p256 delivery online identity paper state "
        "pending_review fee 20000 applicant %s created 1 submitted_at 1 reviewed_at 0 order %s "
        "paid 1 gen 1",
        id, id, "演示供应商有限公司", MC_TEST_ORG, applicant, oid);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
}

static json_t *call(const char *method, const char *path, const char *tok, json_t *body,
                    int want)
{
    return mc_testenv_api_want(env, method, path, tok, body, want);
}

/* A refusal: its status and code, and the data set left as it was. */
static void refused(const char *method, const char *path, const char *tok, json_t *body,
                    int status, const char *code, const char *msg_prefix)
{
    char before[41], after[41];
    mc_testenv_digest(env, before);
    json_t *o = call(method, path, tok, body, status);
    assert_string_equal(mc_testenv_jstr(o, "code"), code);
    if (msg_prefix != NULL &&
        strncmp(mc_testenv_jstr(o, "message"), msg_prefix, strlen(msg_prefix)) != 0)
        fail_msg("%s %s: message \"%s\" does not start with \"%s\"", method, path,
                 mc_testenv_jstr(o, "message"), msg_prefix);
    json_decref(o);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
}

static json_t *title_body(const char *name, const char *tax_id)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "tax_id", tax_id,
                     "address", "杭州市西湖区文三路1号", "phone", "0571-88886666", "bank",
                     "中国银行杭州分行", "account", "6222 0000 1111");
}

static json_t *request_body(const char *oid, const char *name)
{
    return json_pack("{s:s, s:o, s:s, s:s}", "order", oid, "title",
                     title_body(name, MC_TEST_ORG), "receiver_phone", "13800138000",
                     "receiver_email", "caiwu@example.com.cn");
}

/* POST /api/v1/invoices as tok: 201, the invoice's number into id. */
static json_t *request(const char *oid, const char *tok, const char *name, char id[32])
{
    json_t *o = call("POST", "/api/v1/invoices", tok, request_body(oid, name), 201);
    snprintf(id, 32, "%s", mc_testenv_jstr(o, "id"));
    assert_true(mc_inv_id_valid(id, strlen(id)));
    assert_string_equal(mc_testenv_jstr(o, "state"), "requested");
    return o;
}

static json_t *inv_act(const char *id, const char *verb, const char *tok, json_t *body,
                       int want)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/%s", id, verb);
    return call("POST", path, tok, body, want);
}

/* GET path as tok: the raw reply (status, bytes, type). */
static void get_raw(const char *path, const char *tok, mc_http_reply *rep)
{
    char url[300], auth[200];
    snprintf(url, sizeof(url), "%s%s", env->base, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    const char *h[] = {auth, NULL};
    mc_err err;
    memset(rep, 0, sizeof(*rep));
    if (mc_http_request("GET", url, h, NULL, 0, 20, rep, &err) != 0)
        fail_msg("GET %s: %s", path, err.msg);
}

/* The outbox entries of kind email for invoice id: how many; the last one's
 * to and pdf. */
static int outbox_email(const char *id, char to[160], char pdf[80])
{
    redisReply *r = mc_testenv_redis(env, "XRANGE {mc}:outbox - +");
    int n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        const char *kind = "", *inv = "", *t = "", *p = "";
        for (size_t k = 0; k + 1 < kv->elements; k += 2) {
            const char *f = kv->element[k]->str, *v = kv->element[k + 1]->str;
            if (strcmp(f, "kind") == 0)
                kind = v;
            else if (strcmp(f, "invoice") == 0)
                inv = v;
            else if (strcmp(f, "to") == 0)
                t = v;
            else if (strcmp(f, "pdf") == 0)
                p = v;
        }
        if (strcmp(kind, "email") == 0 && strcmp(inv, id) == 0) {
            n++;
            snprintf(to, 160, "%s", t);
            snprintf(pdf, 80, "%s", p);
        }
    }
    freeReplyObject(r);
    return n;
}

static int setup(void **state)
{
    env = mc_testenv_start(0);
    char ca[19];
    snprintf(ca, sizeof(ca), "%s", CA_ORG);
    mc_testenv_uscc_fix(ca);
    mc_testenv_org(env, ca, "mcert 本地移动证书CA");
    mc_testenv_org(env, MC_TEST_ORG2, "另一家公司");
    mc_testenv_account(env, "alice", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "bob", MC_TEST_ORG, "staff");
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "other", MC_TEST_ORG2, "admin");
    mc_testenv_account(env, "op", ca, "operator");
    tok_alice = mc_testenv_login(env, "alice");
    tok_bob = mc_testenv_login(env, "bob");
    tok_boss = mc_testenv_login(env, "boss");
    tok_other = mc_testenv_login(env, "other");
    tok_op = mc_testenv_login(env, "op");
    return 0;
}

static int teardown(void **state)
{
    free(tok_alice);
    free(tok_bob);
    free(tok_boss);
    free(tok_other);
    free(tok_op);
    mc_testenv_stop(env);
    return 0;
}

static void titles_at_most_five_checked_and_of_one_organisation(void **state)
{
    json_t *o = call("GET", "/api/v1/invoice-titles", tok_boss, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(o, "titles")), 0);
    json_decref(o);
    refused("POST", "/api/v1/invoice-titles", tok_alice, title_body("甲公司", "91330100MA2DEM001X"),
            400, "bad_field", "tax_id:");
    refused("POST", "/api/v1/invoice-titles", tok_alice, title_body("", MC_TEST_ORG), 400,
            "bad_field", "name:");
    refused("POST", "/api/v1/invoice-titles", tok_alice,
            json_pack("{s:s, s:s, s:s}", "name", "甲", "tax_id", MC_TEST_ORG, "fax", "1"), 400,
            "bad_field", NULL);
    refused("POST", "/api/v1/invoice-titles", tok_op, title_body("甲公司", MC_TEST_ORG), 403,
            "not_permitted", NULL);
    char first[32] = "";
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "抬头公司%d", i);
        o = call("POST", "/api/v1/invoice-titles", i % 2 ? tok_alice : tok_boss,
                 title_body(name, MC_TEST_ORG), 201);
        assert_string_equal(mc_testenv_jstr(o, "name"), name);
        assert_string_equal(mc_testenv_jstr(o, "tax_id"), MC_TEST_ORG);
        assert_true(mc_inv_tid_valid(mc_testenv_jstr(o, "id"), 16));
        if (i == 0)
            snprintf(first, sizeof(first), "%s", mc_testenv_jstr(o, "id"));
        json_decref(o);
    }
    refused("POST", "/api/v1/invoice-titles", tok_alice, title_body("第六个", MC_TEST_ORG), 409,
            "too_many_titles", NULL);
    o = call("GET", "/api/v1/invoice-titles", tok_bob, NULL, 200);
    json_t *arr = json_object_get(o, "titles");
    assert_int_equal(json_array_size(arr), 5);
    assert_string_equal(mc_testenv_jstr(json_array_get(arr, 0), "id"), first);
    assert_string_equal(mc_testenv_jstr(json_array_get(arr, 0), "address"), "杭州市西湖区文三路1号");
    json_decref(o);
    o = call("GET", "/api/v1/invoice-titles", tok_other, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(o, "titles")), 0);
    json_decref(o);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/invoice-titles/%s", first);
    o = call("PUT", path, tok_alice, title_body("改名公司", MC_TEST_ORG), 200);
    assert_string_equal(mc_testenv_jstr(o, "name"), "改名公司");
    assert_string_equal(mc_testenv_jstr(o, "id"), first);
    json_decref(o);
    refused("PUT", path, tok_other, title_body("他人", MC_TEST_ORG), 404, "not_found", NULL);
    refused("PUT", path, tok_alice, title_body("改名公司", "123"), 400, "bad_field", "tax_id:");
    refused("PUT", "/api/v1/invoice-titles/00000000000000zz", tok_alice,
            title_body("x", MC_TEST_ORG), 404, "not_found", NULL);
    refused("DELETE", "/api/v1/invoice-titles/0000000000000000", tok_alice, NULL, 404,
            "not_found", NULL);
    o = call("DELETE", path, tok_boss, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(o, "titles")), 4);
    json_decref(o);
    o = call("POST", "/api/v1/invoice-titles", tok_alice, title_body("第五个", MC_TEST_ORG), 201);
    json_decref(o);
    assert_int_equal(mc_testenv_audit_count(env, "invoice_title_add", "org", MC_TEST_ORG), 6);
    assert_int_equal(mc_testenv_audit_count(env, "invoice_title_delete", "org", MC_TEST_ORG), 1);
}

static void a_paid_order_is_invoiced_issued_as_a_generated_pdf_and_emailed(void **state)
{
    const char *oid = "PO202612010000000001";
    order_put(oid, "SQ2026120100000001", MC_TEST_ORG, "alice", "paid", 20000);
    char id[32];
    json_t *o = request(oid, tok_alice, "演示供应商有限公司", id);
    assert_string_equal(mc_testenv_jstr(o, "order"), oid);
    assert_string_equal(mc_testenv_jstr(o, "kind"), "app");
    assert_string_equal(mc_testenv_jstr(o, "ref"), "SQ2026120100000001");
    assert_string_equal(mc_testenv_jstr(o, "title_type"), "企业");
    assert_string_equal(mc_testenv_jstr(o, "invoice_type"), "电子增值税普通发票");
    assert_int_equal(json_integer_value(json_object_get(o, "amount")), 20000);
    json_t *g = json_array_get(json_object_get(o, "goods"), 0);
    assert_string_equal(mc_testenv_jstr(g, "name"), "移动证书");
    assert_string_equal(mc_testenv_jstr(g, "unit"), "个");
    assert_int_equal(json_integer_value(json_object_get(g, "amount")), 20000);
    assert_string_equal(mc_testenv_jstr(json_object_get(o, "title"), "tax_id"), MC_TEST_ORG);
    json_decref(o);
    /* the admin and operators read it; bob (staff, not its owner) and
     * another organisation do not */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/invoices/%s", id);
    json_decref(call("GET", path, tok_boss, NULL, 200));
    json_decref(call("GET", path, tok_op, NULL, 200));
    refused("GET", path, tok_bob, NULL, 404, "not_found", NULL);
    refused("GET", path, tok_other, NULL, 404, "not_found", NULL);
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/pdf", id);
    refused("GET", path, tok_alice, NULL, 409, "bad_transition", NULL);
    o = call("GET", "/api/v1/invoices?state=requested", tok_op, NULL, 200);
    assert_true(json_array_size(json_object_get(o, "invoices")) >= 1);
    json_decref(o);

    o = inv_act(id, "issue", tok_op, json_object(), 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "issued");
    assert_string_equal(mc_testenv_jstr(o, "pdf_source"), "generated");
    assert_string_equal(mc_testenv_jstr(o, "by"), "op");
    char pdf[80];
    snprintf(pdf, sizeof(pdf), "%s", mc_testenv_jstr(o, "pdf"));
    assert_true(mc_blob_id_valid(pdf, strlen(pdf)));
    assert_true(json_integer_value(json_object_get(o, "issued_at")) > 0);
    json_decref(o);
    json_decref(inv_act(id, "issue", tok_op, json_object(), 409)); /* once */

    /* the PDF: its bytes, valid, with the title and the amount in its text */
    mc_http_reply rep;
    get_raw(path, tok_alice, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(mc_http_reply_header(&rep, "Content-Type"), "application/pdf");
    assert_non_null(strstr(mc_http_reply_header(&rep, "Content-Disposition"), "attachment"));
    uint8_t h[32];
    char hex[65];
    mc_sha256(rep.body.ptr, rep.body.len, h);
    mc_hex(h, 32, hex);
    assert_string_equal(hex, pdf);
    char out[8192];
    assert_int_equal(tool_on(rep.body.ptr, rep.body.len, "qpdf --check", out, sizeof(out)), 0);
    assert_int_equal(tool_on(rep.body.ptr, rep.body.len, "sh -c 'pdftotext -layout \"$0\" -'",
                             out, sizeof(out)), 0);
    assert_non_null(strstr(out, "演示供应商有限公司"));
    assert_non_null(strstr(out, "200.00"));
    assert_non_null(strstr(out, id));
    mc_http_reply_free(&rep);
    get_raw(path, tok_other, &rep);
    assert_int_equal(rep.status, 404);
    mc_http_reply_free(&rep);

    /* the email, in the same step as the issue */
    char to[160];
    assert_int_equal(outbox_email(id, to, out), 1);
    assert_string_equal(to, "caiwu@example.com.cn");
    assert_string_equal(out, pdf);
    assert_int_equal(mc_testenv_audit_count(env, "invoice_issue", "invoice", id), 1);
}

static void an_uploaded_pdf_may_be_the_invoice(void **state)
{
    const char *oid = "PO202612010000000002";
    order_put(oid, "SQ2026120100000002", MC_TEST_ORG, "alice", "paid", 20000);
    char id[32];
    json_decref(request(oid, tok_boss, "演示供应商有限公司", id));
    /* the tax office's PDF, uploaded by the operator */
    const char doc[] = "%PDF-1.4\n% 税务局开具的电子发票\n1 0 obj << >> endobj\ntrailer << >>\n"
                       "%%EOF\n";
    char url[200], auth[200];
    snprintf(url, sizeof(url), "%s/api/v1/uploads", env->base);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok_op);
    const char *h[] = {auth, "Content-Type: application/pdf", NULL};
    mc_http_reply rep;
    mc_err err;
    memset(&rep, 0, sizeof(rep));
    assert_int_equal(mc_http_request("POST", url, h, doc, strlen(doc), 20, &rep, &err), 0);
    assert_int_equal(rep.status, 201);
    json_error_t je;
    json_t *up = json_loadb((const char *)rep.body.ptr, rep.body.len, 0, &je);
    char blob[80];
    snprintf(blob, sizeof(blob), "%s", mc_testenv_jstr(up, "id"));
    json_decref(up);
    mc_http_reply_free(&rep);
    /* an upload that is not a PDF, one that does not exist, a malformed id */
    char png[80];
    {
        static const uint8_t PNG1[] = {
            0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0,
            0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 10, 'I', 'D', 'A',
            'T', 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 'I',
            'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82,
        };
        const char *hp[] = {auth, "Content-Type: image/png", NULL};
        memset(&rep, 0, sizeof(rep));
        assert_int_equal(mc_http_request("POST", url, hp, PNG1, sizeof(PNG1), 20, &rep, &err), 0);
        assert_int_equal(rep.status, 201);
        up = json_loadb((const char *)rep.body.ptr, rep.body.len, 0, &je);
        snprintf(png, sizeof(png), "%s", mc_testenv_jstr(up, "id"));
        json_decref(up);
        mc_http_reply_free(&rep);
    }
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/issue", id);
    refused("POST", path, tok_op, json_pack("{s:s}", "upload", png), 400, "bad_field",
            "upload:");
    refused("POST", path, tok_op,
            json_pack("{s:s}", "upload",
                      "0000000000000000000000000000000000000000000000000000000000000000"),
            400, "bad_field", "upload:");
    refused("POST", path, tok_op, json_pack("{s:s}", "upload", "nope"), 400, "bad_field",
            "upload:");
    refused("POST", path, tok_op, json_pack("{s:i}", "upload", 1), 400, "bad_field", NULL);
    json_t *o = inv_act(id, "issue", tok_op, json_pack("{s:s}", "upload", blob), 200);
    assert_string_equal(mc_testenv_jstr(o, "pdf"), blob);
    assert_string_equal(mc_testenv_jstr(o, "pdf_source"), "upload");
    json_decref(o);
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/pdf", id);
    get_raw(path, tok_boss, &rep);
    assert_int_equal(rep.status, 200);
    assert_int_equal(rep.body.len, strlen(doc));
    assert_memory_equal(rep.body.ptr, doc, strlen(doc));
    mc_http_reply_free(&rep);
    char to[160], pdf[80];
    assert_int_equal(outbox_email(id, to, pdf), 1);
    assert_string_equal(pdf, blob);
}

static void a_rejected_invoice_is_asked_for_again_under_a_new_number(void **state)
{
    const char *oid = "PO202612010000000003";
    order_put(oid, "SQ2026120100000003", MC_TEST_ORG, "alice", "paid", 20000);
    char id[32], id2[32], path[128];
    json_decref(request(oid, tok_alice, "写错的公司", id));
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/reject", id);
    refused("POST", path, tok_op, json_object(), 400, "bad_field", "reason:");
    refused("POST", path, tok_op, json_pack("{s:s}", "reason", ""), 400, "bad_field", "reason:");
    refused("POST", path, tok_op, json_pack("{s:s, s:s}", "reason", "x", "more", "y"), 400,
            "bad_field", NULL);
    json_t *o = inv_act(id, "reject", tok_op, json_pack("{s:s}", "reason", "发票抬头与付款单位不符"),
                        200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "rejected");
    assert_string_equal(mc_testenv_jstr(o, "reason"), "发票抬头与付款单位不符");
    json_decref(o);
    refused("POST", path, tok_op, json_pack("{s:s}", "reason", "again"), 409, "bad_transition",
            NULL);
    o = call("GET", "/api/v1/invoices?order=PO202612010000000003", tok_alice, NULL, 200);
    json_t *row = json_array_get(json_object_get(o, "invoices"), 0);
    assert_string_equal(mc_testenv_jstr(row, "state"), "rejected");
    json_decref(o);
    json_decref(request(oid, tok_alice, "演示供应商有限公司", id2));
    assert_string_not_equal(id, id2);
    snprintf(path, sizeof(path), "/api/v1/invoices/%s", id);
    refused("GET", path, tok_alice, NULL, 404, "not_found", NULL); /* replaced */
    snprintf(path, sizeof(path), "/api/v1/invoices/%s", id2);
    o = call("GET", path, tok_alice, NULL, 200);
    assert_string_equal(mc_testenv_jstr(json_object_get(o, "title"), "name"), "演示供应商有限公司");
    assert_string_equal(mc_testenv_jstr(o, "reason"), "");
    json_decref(o);
    /* the old one stays in the audit */
    assert_int_equal(mc_testenv_audit_count(env, "invoice_reject", "invoice", id), 1);
    assert_int_equal(mc_testenv_audit_count(env, "invoice_request", "replaces", id), 1);
}

static void refused_requests_change_nothing(void **state)
{
    order_put("PO202612010000000011", "SQ2026120100000011", MC_TEST_ORG, "alice", "pending", 20000);
    order_put("PO202612010000000012", "SQ2026120100000012", MC_TEST_ORG, "alice", "refunded", 20000);
    order_put("PO202612010000000013", "SQ2026120100000013", MC_TEST_ORG, "alice",
              "refund_pending", 20000);
    order_put("PO202612010000000014", "SQ2026120100000014", MC_TEST_ORG2, "other", "paid", 20000);
    order_put("PO202612010000000015", "SQ2026120100000015", MC_TEST_ORG, "alice", "paid", 20000);
    const char *P = "/api/v1/invoices";
    refused("POST", P, tok_alice, request_body("PO202612010000000011", "甲"), 409, "order_not_paid",
            NULL);
    refused("POST", P, tok_alice, request_body("PO202612010000000012", "甲"), 409, "order_not_paid",
            NULL);
    refused("POST", P, tok_alice, request_body("PO202612010000000013", "甲"), 409, "order_not_paid",
            NULL);
    refused("POST", P, tok_alice, request_body("PO202612010000000014", "甲"), 404, "unknown_order",
            NULL);
    {
        /* a field the title does not have is named as the title's */
        json_t *b = request_body("PO202612010000000011", "甲");
        json_object_set_new(json_object_get(b, "title"), "x", json_integer(1));
        refused("POST", P, tok_alice, b, 400, "bad_field", "title: ");
    }
    refused("POST", P, tok_alice, request_body("PO202612010000000099", "甲"), 404, "unknown_order",
            NULL);
    refused("POST", P, tok_bob, request_body("PO202612010000000015", "甲"), 404, "unknown_order",
            NULL);
    refused("POST", P, tok_op, request_body("PO202612010000000015", "甲"), 403, "not_permitted",
            NULL);
    /* fields, each naming itself */
    json_t *b = request_body("PO202612010000000015", "甲");
    json_object_set_new(json_object_get(b, "title"), "tax_id", json_string("91330100MA2DEM001X"));
    refused("POST", P, tok_alice, b, 400, "bad_field", "tax_id:");
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(b, "receiver_phone", json_string("0571-88886666"));
    refused("POST", P, tok_alice, b, 400, "bad_field", "receiver_phone:");
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(b, "receiver_email", json_string("caiwu@"));
    refused("POST", P, tok_alice, b, 400, "bad_field", "receiver_email:");
    /* §11.4's order: receiver_phone's rule before anything of receiver_email */
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(b, "receiver_phone", json_string("0571"));
    json_object_del(b, "receiver_email");
    refused("POST", P, tok_alice, b, 400, "bad_field", "receiver_phone:");
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(b, "receiver_phone", json_string("12800138000"));
    json_object_set_new(b, "receiver_email", json_integer(1));
    refused("POST", P, tok_alice, b, 400, "bad_field", "receiver_phone:");
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(b, "order", json_string("SQ2026120100000015"));
    refused("POST", P, tok_alice, b, 400, "bad_field", "order:");
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(b, "amount", json_integer(1));
    refused("POST", P, tok_alice, b, 400, "bad_field", NULL);
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(b, "title", json_string("甲"));
    refused("POST", P, tok_alice, b, 400, "bad_field", "title:");
    b = request_body("PO202612010000000015", "甲");
    json_object_set_new(json_object_get(b, "title"), "id", json_string("0000000000000000"));
    refused("POST", P, tok_alice, b, 400, "bad_field", NULL);
    refused("POST", P, tok_alice, json_object(), 400, "bad_field", "order:");
    refused("POST", P, tok_alice, NULL, 400, "bad_json", NULL);
    /* hostile bodies: not JSON, a key twice, not an object, over 8192 bytes */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok_alice);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    json_t *out = NULL;
    const char *bad[] = {"{\"order\":", "{\"order\":\"a\",\"order\":\"b\"}", "[1,2]", "\"x\"",
                         NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        assert_int_equal(mc_testenv_web_req(env, "POST", P, h, bad[i], strlen(bad[i]), &out),
                         400);
        assert_string_equal(mc_testenv_jstr(out, "code"), "bad_json");
        json_decref(out);
    }
    char *big = malloc(9000);
    assert_non_null(big);
    memset(big, ' ', 9000);
    memcpy(big, "{\"order\":\"", 10);
    big[8998] = '}';
    assert_int_equal(mc_testenv_web_req(env, "POST", P, h, big, 9000, &out), 413);
    assert_string_equal(mc_testenv_jstr(out, "code"), "too_large");
    json_decref(out);
    assert_int_equal(mc_testenv_web_req(env, "POST", "/api/v1/invoice-titles", h, big, 9000,
                                        &out), 413);
    json_decref(out);
    free(big);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    /* the one good request, then the same again: invoice_exists */
    char id[32];
    json_decref(request("PO202612010000000015", tok_alice, "演示供应商有限公司", id));
    refused("POST", P, tok_boss, request_body("PO202612010000000015", "乙"), 409, "invoice_exists",
            NULL);
    json_decref(inv_act(id, "issue", tok_op, json_object(), 200));
    refused("POST", P, tok_boss, request_body("PO202612010000000015", "乙"), 409, "invoice_exists",
            NULL);
    /* queries */
    refused("GET", "/api/v1/invoices?state=paid", tok_alice, NULL, 400, "bad_query", NULL);
    refused("GET", "/api/v1/invoices?order=PO1", tok_alice, NULL, 400, "bad_query", NULL);
    refused("GET", "/api/v1/invoices/FP1", tok_alice, NULL, 404, "not_found", NULL);
    refused("GET", "/api/v1/invoices/FP202612010000000000", tok_alice, NULL, 404, "not_found",
            NULL);
    json_t *o = call("GET", "/api/v1/invoices", tok_other, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(o, "invoices")), 0);
    json_decref(o);
    o = call("GET", "/api/v1/invoices", tok_bob, NULL, 200); /* staff: its own orders only */
    assert_int_equal(json_array_size(json_object_get(o, "invoices")), 0);
    json_decref(o);
    o = call("GET", "/api/v1/invoices?state=issued", tok_boss, NULL, 200);
    json_t *arr = json_object_get(o, "invoices");
    assert_true(json_array_size(arr) >= 1);
    for (size_t i = 0; i < json_array_size(arr); i++)
        assert_string_equal(mc_testenv_jstr(json_array_get(arr, i), "state"), "issued");
    json_decref(o);
}

static void a_paid_application_is_not_refunded_while_its_invoice_is_open(void **state)
{
    const char *oid = "PO202612010000000021", *app = "SQ2026120100000021";
    order_put(oid, app, MC_TEST_ORG, "alice", "paid", 20000);
    app_put(app, oid, "alice");
    char id[32], path[128];
    json_decref(request(oid, tok_alice, "演示供应商有限公司", id));
    snprintf(path, sizeof(path), "/api/v1/applications/%s/withdraw", app);
    refused("POST", path, tok_alice, NULL, 409, "invoice_open", NULL);
    snprintf(path, sizeof(path), "/api/v1/applications/%s/reject", app);
    refused("POST", path, tok_op, json_pack("{s:s}", "reason", "资料不全"), 409, "invoice_open",
            NULL);
    /* issued: still held */
    json_decref(inv_act(id, "issue", tok_op, json_object(), 200));
    snprintf(path, sizeof(path), "/api/v1/applications/%s/withdraw", app);
    refused("POST", path, tok_alice, NULL, 409, "invoice_open", NULL);
    /* the requester may not void an issued one; the operator may */
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/void", id);
    refused("POST", path, tok_alice, json_pack("{s:s}", "reason", "退款"), 403, "not_permitted",
            NULL);
    json_t *o = inv_act(id, "void", tok_op, json_pack("{s:s}", "reason", "申请退款，作废"), 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "voided");
    json_decref(o);
    refused("POST", path, tok_op, json_pack("{s:s}", "reason", "again"), 409, "bad_transition",
            NULL);
    snprintf(path, sizeof(path), "/api/v1/applications/%s/withdraw", app);
    o = call("POST", path, tok_alice, NULL, 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "withdrawn");
    assert_string_equal(mc_testenv_jstr(o, "refund_order"), oid);
    json_decref(o);
    /* the sandbox's refund notice lands: refunded, and no new invoice */
    char k[64], v[32];
    snprintf(k, sizeof(k), "{mc}:order:%s", oid);
    for (int i = 0; i < 200 && strcmp(mc_testenv_hget(env, k, "state", v, sizeof(v)),
                                      "refunded") != 0; i++)
        usleep(50 * 1000);
    assert_string_equal(v, "refunded");
    refused("POST", "/api/v1/invoices", tok_alice, request_body(oid, "甲"), 409, "order_not_paid",
            NULL);
}

static void the_requester_withdraws_a_request_and_operators_alone_decide(void **state)
{
    const char *oid = "PO202612010000000031";
    order_put(oid, "SQ2026120100000031", MC_TEST_ORG, "alice", "paid", 20000);
    char id[32], path[128];
    json_decref(request(oid, tok_alice, "演示供应商有限公司", id));
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/issue", id);
    refused("POST", path, tok_alice, json_object(), 403, "not_permitted", NULL);
    refused("POST", path, tok_boss, json_object(), 403, "not_permitted", NULL);
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/reject", id);
    refused("POST", path, tok_boss, json_pack("{s:s}", "reason", "x"), 403, "not_permitted", NULL);
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/void", id);
    refused("POST", path, tok_other, json_pack("{s:s}", "reason", "x"), 404, "not_found", NULL);
    refused("POST", path, tok_bob, json_pack("{s:s}", "reason", "x"), 404, "not_found", NULL);
    json_t *o = inv_act(id, "void", tok_boss, json_pack("{s:s}", "reason", "申请人撤销申请"), 200);
    assert_string_equal(mc_testenv_jstr(o, "state"), "voided");
    assert_string_equal(mc_testenv_jstr(o, "by"), "boss");
    json_decref(o);
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/issue", id);
    refused("POST", path, tok_op, json_object(), 409, "bad_transition", NULL);
}

/* Two requests for one order that both read it without an invoice: the
 * second to reach Redis finds the first one's requested invoice, which is
 * 409 invoice_exists (§11.4's order: before 503 stale), not a 503 whose
 * retry would get the 409 anyway. Played with the function itself, as the
 * second request's handler calls it (old id ""). */
static void a_racing_second_request_is_invoice_exists(void **state)
{
    const char *oid = "PO202612010000000051";
    order_put(oid, "SQ2026120100000051", MC_TEST_ORG, "alice", "paid", 20000);
    char id[32];
    json_decref(request(oid, tok_alice, "演示供应商有限公司", id));
    char before[41], after[41];
    mc_testenv_digest(env, before);
    redisReply *r = mc_testenv_redis(
        env,
        "FCALL inv_request 7 {mc}:inv:%s {mc}:order:%s {mc}:invid:FP202612010000000051 "
        "{mc}:invid:- {mc}:invorg:%s {mc}:invall {mc}:audit boss 127.0.0.1 "
        "FP202612010000000051 %s %s alice app SQ2026120100000051 20000 title_name 乙",
        oid, oid, MC_TEST_ORG, "", MC_TEST_ORG);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "invoice_exists"));
    freeReplyObject(r);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
}

/* The requester withdraws while an operator issues: its handler judged
 * the invoice requested, and the function finds it issued. That is what
 * only an operator voids (§11.4: 403 not_permitted), not a state that
 * allows no void (409 bad_transition). Played with the function itself, as
 * the requester's handler calls it (from-states "requested", an
 * operator's "requested,issued"). */
static void a_withdrawal_that_loses_to_the_issue_is_not_permitted(void **state)
{
    const char *oid = "PO202612010000000052";
    order_put(oid, "SQ2026120100000052", MC_TEST_ORG, "alice", "paid", 20000);
    char id[32];
    json_decref(request(oid, tok_alice, "演示供应商有限公司", id));
    json_decref(inv_act(id, "issue", tok_op, json_object(), 200));
    char before[41], after[41];
    mc_testenv_digest(env, before);
    redisReply *r = mc_testenv_redis(env,
                                     "FCALL inv_finish 2 {mc}:inv:%s {mc}:audit alice 127.0.0.1 "
                                     "%s requested voided %s invoice_void requested,issued",
                                     oid, id, "不要了");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    if (strstr(r->str, "not_permitted") == NULL)
        fail_msg("inv_finish answered \"%s\", not not_permitted", r->str);
    freeReplyObject(r);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    /* rejected or voided stays bad_transition for everyone */
    json_decref(inv_act(id, "void", tok_op, json_pack("{s:s}", "reason", "作废"), 200));
    r = mc_testenv_redis(env,
                         "FCALL inv_finish 2 {mc}:inv:%s {mc}:audit alice 127.0.0.1 "
                         "%s requested voided %s invoice_void requested,issued",
                         oid, id, "不要了");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "bad_transition"));
    freeReplyObject(r);
}

/* A filtered list is at most 200 of the invoices that match, newest
 * first: a request older than the 200 newest invoices (all issued) is still
 * in the operator's ?state=requested queue and in its owner's list. */
static void a_filtered_list_reaches_past_the_200_newest(void **state)
{
    const char *oid = "PO202612010000000070";
    order_put(oid, "SQ2026120100000070", MC_TEST_ORG, "alice", "paid", 20000);
    char id[32];
    json_decref(request(oid, tok_alice, "演示供应商有限公司", id));
    int64_t t = mc_testenv_redis_time(env);
    for (int i = 0; i < 230; i++) { /* newer invoices of another organisation, issued */
        char o[24], n[24];
        snprintf(o, sizeof(o), "PO2026120199%08d", i);
        snprintf(n, sizeof(n), "FP2026120199%08d", i);
        redisReply *r = mc_testenv_redis(
            env,
            "HSET {mc}:inv:%s id %s order %s kind app ref SQ1 uscc %s owner other amount 20000 "
            "state issued requested_at %lld",
            o, n, o, MC_TEST_ORG2, (long long)(t + 10 + i));
        freeReplyObject(r);
        freeReplyObject(mc_testenv_redis(env, "SET {mc}:invid:%s %s", n, o));
        freeReplyObject(mc_testenv_redis(env, "ZADD {mc}:invall %lld %s", (long long)(t + 10 + i), o));
        freeReplyObject(mc_testenv_redis(env, "ZADD {mc}:invorg:%s %lld %s", MC_TEST_ORG2,
                                         (long long)(t + 10 + i), o));
    }
    json_t *o = call("GET", "/api/v1/invoices?state=requested", tok_op, NULL, 200);
    json_t *arr = json_object_get(o, "invoices");
    int found = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        assert_string_equal(mc_testenv_jstr(json_array_get(arr, i), "state"), "requested");
        found |= strcmp(mc_testenv_jstr(json_array_get(arr, i), "id"), id) == 0;
    }
    assert_true(found);
    json_decref(o);
    o = call("GET", "/api/v1/invoices", tok_op, NULL, 200); /* unfiltered: the 200 newest */
    assert_int_equal(json_array_size(json_object_get(o, "invoices")), 200);
    json_decref(o);
    char out[65536];
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice list --state requested"),
                     0);
    assert_non_null(strstr(out, id));
    /* the other organisation's 230 are gone again for the tests after */
    for (int i = 0; i < 230; i++) {
        char o2[24], n[24];
        snprintf(o2, sizeof(o2), "PO2026120199%08d", i);
        snprintf(n, sizeof(n), "FP2026120199%08d", i);
        freeReplyObject(mc_testenv_redis(env, "DEL {mc}:inv:%s {mc}:invid:%s", o2, n));
        freeReplyObject(mc_testenv_redis(env, "ZREM {mc}:invall %s", o2));
        freeReplyObject(mc_testenv_redis(env, "ZREM {mc}:invorg:%s %s", MC_TEST_ORG2, o2));
    }
}

/* Send one request on a new connection and hang up at once (the reply,
 * if any, is never read). */
static void send_and_hang_up(const char *method, const char *path, const char *tok,
                             const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)env->port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, tok, strlen(body), body);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    close(fd);
}

/* A client that hangs up while its issue (a PDF made on a worker, then
 * the store) or its download (a blob read on a worker) is in flight: the
 * server neither crashes nor leaks (the sanitizer build's mcertd exits 0
 * at teardown), and each invoice is whole: requested, or issued with its
 * PDF and its one email. */
static void a_client_hanging_up_mid_issue_or_download_leaves_all_whole(void **state)
{
    enum { N = 12 };
    char ids[N][32], oid[N][24], path[128];
    for (int i = 0; i < N; i++) {
        snprintf(oid[i], sizeof(oid[i]), "PO2026120100000006%02d", i);
        char app[24];
        snprintf(app, sizeof(app), "SQ20261201000006%02d", i);
        order_put(oid[i], app, MC_TEST_ORG, "alice", "paid", 20000);
        json_decref(request(oid[i], tok_alice, "演示供应商有限公司", ids[i]));
    }
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "/api/v1/invoices/%s/issue", ids[i]);
        send_and_hang_up("POST", path, tok_op, "{}");
        snprintf(path, sizeof(path), "/api/v1/invoices/%s/pdf", ids[i]);
        send_and_hang_up("GET", path, tok_alice, "");
    }
    usleep(500 * 1000);
    json_decref(call("GET", "/api/v1/invoices", tok_op, NULL, 200)); /* still serving */
    for (int i = 0; i < N; i++) {
        char k[64], st[32], pdf[80], to[160], mail_pdf[80];
        snprintf(k, sizeof(k), "{mc}:inv:%s", oid[i]);
        mc_testenv_hget(env, k, "state", st, sizeof(st));
        mc_testenv_hget(env, k, "pdf", pdf, sizeof(pdf));
        int mails = outbox_email(ids[i], to, mail_pdf);
        if (strcmp(st, "issued") == 0) {
            assert_int_equal(mails, 1);
            assert_string_equal(mail_pdf, pdf);
            assert_true(mc_blob_id_valid(pdf, strlen(pdf)));
        } else {
            assert_string_equal(st, "requested");
            assert_int_equal(mails, 0);
            assert_string_equal(pdf, "");
        }
    }
}

static void mcertctl_lists_shows_issues_rejects_and_voids(void **state)
{
    order_put("PO202612010000000041", "SQ2026120100000041", MC_TEST_ORG, "alice", "paid", 20000);
    order_put("PO202612010000000042", "SQ2026120100000042", MC_TEST_ORG, "alice", "paid", 20000);
    order_put("PO202612010000000043", "SQ2026120100000043", MC_TEST_ORG, "alice", "paid", 20000);
    char a[32], b[32], c[32];
    json_decref(request("PO202612010000000041", tok_alice, "命令行公司甲", a));
    json_decref(request("PO202612010000000042", tok_alice, "命令行公司乙", b));
    json_decref(request("PO202612010000000043", tok_alice, "命令行公司丙", c));
    char out[16384];
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice list --state requested"),
                     0);
    assert_non_null(strstr(out, a));
    assert_non_null(strstr(out, "命令行公司乙"));
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice show %s", a), 0);
    assert_non_null(strstr(out, "state requested"));
    assert_non_null(strstr(out, "title_name 命令行公司甲"));
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice issue %s", a), 0);
    assert_non_null(strstr(out, "issued"));
    mc_testenv_expect_field(env, "inv", "PO202612010000000041", "state", "issued");
    mc_testenv_expect_field(env, "inv", "PO202612010000000041", "pdf_source", "generated");
    mc_testenv_expect_field(env, "inv", "PO202612010000000041", "by", "mcertctl");
    char to[160], pdf[80], path[128];
    assert_int_equal(outbox_email(a, to, pdf), 1);
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/pdf", a);
    mc_http_reply rep;
    get_raw(path, tok_alice, &rep);
    assert_int_equal(rep.status, 200);
    assert_int_equal(tool_on(rep.body.ptr, rep.body.len, "sh -c 'pdftotext -layout \"$0\" -'",
                             out, sizeof(out)), 0);
    assert_non_null(strstr(out, "命令行公司甲"));
    mc_http_reply_free(&rep);
    /* --pdf FILE: the file is the invoice; not a PDF is refused */
    char file[300];
    snprintf(file, sizeof(file), "%s/inv.pdf", env->dir);
    const char doc[] = "%PDF-1.7\n% from the tax office\n%%EOF\n";
    mc_testenv_write_file(file, doc, strlen(doc));
    char notpdf[300];
    snprintf(notpdf, sizeof(notpdf), "%s/inv.txt", env->dir);
    mc_testenv_write_file(notpdf, "hello", 5);
    char before[41], after[41];
    mc_testenv_digest(env, before);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice issue %s --pdf %s", b,
                                        notpdf), 1);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice issue %s --pdf", b), 2);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice issue --pdf %s", file), 2);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice issue FP1"), 2);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice reject %s", c), 2);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice list --state paid"), 2);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice show FP202612010000000000"),
                     1);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice reject %s --reason x", a),
                     1); /* issued: bad_transition */
    assert_non_null(strstr(out, "bad_transition"));
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice issue %s --pdf %s", b,
                                        file), 0);
    mc_testenv_expect_field(env, "inv", "PO202612010000000042", "pdf_source", "upload");
    snprintf(path, sizeof(path), "/api/v1/invoices/%s/pdf", b);
    get_raw(path, tok_boss, &rep);
    assert_int_equal(rep.status, 200);
    assert_int_equal(rep.body.len, strlen(doc));
    mc_http_reply_free(&rep);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice reject %s --reason %s", c,
                                        "'税号有误'"), 0);
    mc_testenv_expect_field(env, "inv", "PO202612010000000043", "state", "rejected");
    mc_testenv_expect_field(env, "inv", "PO202612010000000043", "reason", "税号有误");
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice void %s --reason %s", a,
                                        "'开错了'"), 0);
    mc_testenv_expect_field(env, "inv", "PO202612010000000041", "state", "voided");
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "invoice show --help"), 0);
    assert_non_null(strstr(out, "invoice show ID"));
}

int main(void)
{
    const struct CMUnitTest units[] = {
        cmocka_unit_test(the_state_table_is_the_protocols),
        cmocka_unit_test(title_fields_are_checked_in_the_forms_order),
        cmocka_unit_test(the_goods_line_follows_the_order),
        cmocka_unit_test(numbers_and_amounts),
        cmocka_unit_test(the_pdf_is_a_valid_one_page_einvoice),
        cmocka_unit_test(the_pdf_keeps_the_longest_fields_inside_the_page),
        cmocka_unit_test(the_pdf_measures_latin1_letters_as_full_width),
        cmocka_unit_test(the_pdf_shows_pdf_syntax_and_astral_characters_as_text),
    };
    const struct CMUnitTest integration[] = {
        cmocka_unit_test(titles_at_most_five_checked_and_of_one_organisation),
        cmocka_unit_test(a_paid_order_is_invoiced_issued_as_a_generated_pdf_and_emailed),
        cmocka_unit_test(an_uploaded_pdf_may_be_the_invoice),
        cmocka_unit_test(a_rejected_invoice_is_asked_for_again_under_a_new_number),
        cmocka_unit_test(refused_requests_change_nothing),
        cmocka_unit_test(a_paid_application_is_not_refunded_while_its_invoice_is_open),
        cmocka_unit_test(the_requester_withdraws_a_request_and_operators_alone_decide),
        cmocka_unit_test(a_racing_second_request_is_invoice_exists),
        cmocka_unit_test(a_withdrawal_that_loses_to_the_issue_is_not_permitted),
        cmocka_unit_test(a_filtered_list_reaches_past_the_200_newest),
        cmocka_unit_test(a_client_hanging_up_mid_issue_or_download_leaves_all_whole),
        cmocka_unit_test(mcertctl_lists_shows_issues_rejects_and_voids),
    };
    int rc = cmocka_run_group_tests_name("invoice rules", units, NULL, NULL);
    return rc | cmocka_run_group_tests_name("invoices", integration, setup, teardown);
}
