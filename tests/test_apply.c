/*
 * test_apply.c — applications (申领, PROTOCOL.md §9.1–§9.5) against a real
 * redis-server and the real mcertd (tests/support/mc_testenv.h):
 *
 *   scans uploaded (PNG, JPEG, PDF: stored content-addressed under
 *   DATA/blobs) -> a draft -> the identity check (sandbox) -> submit: the
 *   organisation's first certificate is free (legal_person) -> the operator's
 *   queue -> approve: the activation record and the SMS with its code in the
 *   outbox stream, in one step -> the phone enrolls with that code
 *   (mcert-phone's library: key, CSR, certificate) -> issued -> the
 *   certificate binds and logs in -> a second application costs 20000 fen and
 *   waits for payment; reject with a reason -> edit -> resubmit; paid then
 *   rejected -> the order is refunded (PAY's sandbox);
 *
 * and the hostile side: every illegal transition is 409 bad_transition with
 * the data set unchanged (DEBUG DIGEST); uploads over 5 MiB (413), of a
 * wrong type (415) or whose bytes are not their type (400); another
 * organisation's uploads and applications are not readable; field errors
 * name their field; the 11th identity check of a day is 429. mcertctl's
 * application verbs and the operator role.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "mc_crypto.h"
#include "mc_http.h"
#include "mc_testhelp.h"

#define HOLDER_ID "11010519491231002X"
#define CA_ORG "91110000MA0CAMPT0X" /* the check character is made by mc_testenv_uscc_fix */

/* ---- helpers ---- */

static const uint8_t PNG1[] = {
    0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0,    0,    0,    13,   'I',  'H',
    'D',  'R',  0,    0,    0,    1,    0,    0,    0,    1,    8,    6,    0,    0,
    0,    0x1f, 0x15, 0xc4, 0x89, 0,    0,    0,    10,   'I',  'D',  'A',  'T',  0x78,
    0x9c, 0x63, 0,    1,    0,    0,    5,    0,    1,    0x0d, 0x0a, 0x2d, 0xb4, 0,
    0,    0,    0,    'I',  'E',  'N',  'D',  0xae, 0x42, 0x60, 0x82,
};

/* A JPEG-shaped file of n bytes (SOI, JFIF APP0, filler, EOI); salt makes
 * different bytes. */
static void make_jpeg(uint8_t *p, size_t n, int salt)
{
    static const uint8_t head[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0};
    memcpy(p, head, sizeof(head));
    for (size_t i = sizeof(head); i < n - 2; i++)
        p[i] = (uint8_t)(i * 7 + (size_t)salt);
    p[n - 2] = 0xff;
    p[n - 1] = 0xd9;
}

static size_t make_pdf(char *p, size_t size, int salt)
{
    return (size_t)snprintf(p, size, "%%PDF-1.4\n%% 法人委托授权书 %d\n1 0 obj << >> endobj\n"
                                     "trailer << >>\n%%%%EOF\n", salt);
}

typedef struct reply {
    int status;
    json_t *json;
    char code[40];
    char msg[200];
    mc_buf body;
    char ctype[64];
} reply;

static void reply_free(reply *r)
{
    json_decref(r->json);
    mc_buf_free(&r->body);
    memset(r, 0, sizeof(*r));
}

/* Any request with a raw body of type ctype (NULL: none). */
static void raw(mc_testenv *env, const char *method, const char *path, const char *tok,
                const char *ctype, const void *body, size_t len, reply *out)
{
    memset(out, 0, sizeof(*out));
    char url[300], auth[200], ct[100];
    snprintf(url, sizeof(url), "%s%s", env->base, path);
    const char *h[4];
    size_t nh = 0;
    if (tok) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        h[nh++] = auth;
    }
    if (ctype) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        h[nh++] = ct;
    }
    h[nh] = NULL;
    mc_http_reply rep;
    memset(&rep, 0, sizeof(rep));
    mc_err err;
    if (mc_http_request(method, url, h, body, len, 40, &rep, &err) != 0)
        fail_msg("%s %s: %s", method, path, err.msg);
    out->status = rep.status;
    const char *t = mc_http_reply_header(&rep, "Content-Type");
    snprintf(out->ctype, sizeof(out->ctype), "%s", t ? t : "");
    mc_buf_append(&out->body, rep.body.ptr ? rep.body.ptr : (const uint8_t *)"", rep.body.len);
    json_error_t je;
    out->json = json_loadb((const char *)rep.body.ptr, rep.body.len, JSON_DECODE_ANY, &je);
    snprintf(out->code, sizeof(out->code), "%s", mc_testenv_jstr(out->json, "code"));
    snprintf(out->msg, sizeof(out->msg), "%s", mc_testenv_jstr(out->json, "message"));
    mc_http_reply_free(&rep);
}

/* JSON call: body (stolen, may be NULL) as JSON. */
static void api(mc_testenv *env, const char *method, const char *path, const char *tok,
                json_t *body, reply *out)
{
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    raw(env, method, path, tok, b ? "application/json" : NULL, b, b ? strlen(b) : 0, out);
    free(b);
}

/* Upload; the id into id (65). */
static void upload(mc_testenv *env, const char *tok, const char *type, const void *p, size_t n,
                   char id[65])
{
    reply r;
    raw(env, "POST", "/api/v1/uploads", tok, type, p, n, &r);
    if (r.status != 201)
        fail_msg("upload %s: %d %s %s", type, r.status, r.code, r.msg);
    snprintf(id, 65, "%s", mc_testenv_jstr(r.json, "id"));
    reply_free(&r);
}

typedef struct scans {
    char licence[65], id_scan[65], auth_letter[65];
} scans;

static void upload_scans(mc_testenv *env, const char *tok, int salt, scans *s)
{
    uint8_t jpg[3000];
    char pdf[300];
    make_jpeg(jpg, sizeof(jpg), salt);
    upload(env, tok, "image/png", PNG1, sizeof(PNG1), s->licence);
    upload(env, tok, "image/jpeg", jpg, sizeof(jpg), s->id_scan);
    upload(env, tok, "application/pdf", pdf, make_pdf(pdf, sizeof(pdf), salt), s->auth_letter);
}

/* A complete form for org (its type, region), with the scans. */
static json_t *form(const char *org_type, const char *region, const char *holder,
                    const scans *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "org_type",
                     org_type, "region", region, "licence", s->licence, "holder_name", holder,
                     "holder_id", HOLDER_ID, "mobile", "13800138000", "email",
                     "zhang.san@example.com.cn", "id_scan", s->id_scan, "auth_letter",
                     s->auth_letter, "alg", "sm2", "identity", "paper");
}

/* Create a draft; its id into id (19). */
static void create(mc_testenv *env, const char *tok, json_t *body, char id[19])
{
    reply r;
    api(env, "POST", "/api/v1/applications", tok, body, &r);
    if (r.status != 201)
        fail_msg("create: %d %s %s", r.status, r.code, r.msg);
    assert_string_equal(mc_testenv_jstr(r.json, "state"), "draft");
    snprintf(id, 19, "%s", mc_testenv_jstr(r.json, "id"));
    assert_int_equal(strlen(id), 18);
    assert_memory_equal(id, "SQ", 2);
    reply_free(&r);
}

/* POST /api/v1/applications/<id>/<verb>; expects `status`; returns the
 * reply's state ("" for an error) into state (32). */
static void act(mc_testenv *env, const char *tok, const char *id, const char *verb,
                json_t *body, int status, char state[32], reply *keep)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/applications/%s/%s", id, verb);
    reply r;
    api(env, "POST", path, tok, body, &r);
    if (r.status != status)
        fail_msg("%s %s: %d %s %s (wanted %d)", verb, id, r.status, r.code, r.msg, status);
    if (state)
        snprintf(state, 32, "%s", mc_testenv_jstr(r.json, "state"));
    if (keep)
        *keep = r;
    else
        reply_free(&r);
}

static json_t *get_app(mc_testenv *env, const char *tok, const char *id, int *status)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/applications/%s", id);
    return mc_testenv_api(env, "GET", path, tok, NULL, status);
}

/* A world: the env, the supplier's admin and staff, a CA operator. */
typedef struct world {
    mc_testenv *env;
    char *boss, *clerk, *op;
    char org3[19];
} world;

static void world_start(world *w)
{
    memset(w, 0, sizeof(*w));
    w->env = mc_testenv_start(0);
    char ca[19];
    snprintf(ca, sizeof(ca), "%s", CA_ORG);
    mc_testenv_uscc_fix(ca);
    mc_testenv_org(w->env, ca, "mcert 本地移动证书CA");
    mc_testenv_org(w->env, MC_TEST_ORG2, "另一家供应商有限公司");
    mc_testenv_account(w->env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(w->env, "clerk", MC_TEST_ORG, "staff");
    mc_testenv_account(w->env, "op", ca, "operator");
    w->boss = mc_testenv_login(w->env, "boss");
    w->clerk = mc_testenv_login(w->env, "clerk");
    w->op = mc_testenv_login(w->env, "op");
    snprintf(w->org3, sizeof(w->org3), "%s", "92330106MA2HANGW0X");
    mc_testenv_uscc_fix(w->org3);
}

static void world_stop(world *w)
{
    free(w->boss);
    free(w->clerk);
    free(w->op);
    mc_testenv_stop(w->env);
}

/* The outbox's newest entry for app id: its text into text (512). */
static int outbox_text(mc_testenv *env, const char *id, char *text, char *to)
{
    redisReply *r = mc_testenv_redis(env, "XRANGE {mc}:outbox - +");
    int found = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        const char *t = NULL, *app = NULL, *dest = NULL, *kind = NULL;
        for (size_t k = 0; k + 1 < kv->elements; k += 2) {
            if (strcmp(kv->element[k]->str, "text") == 0)
                t = kv->element[k + 1]->str;
            if (strcmp(kv->element[k]->str, "app") == 0)
                app = kv->element[k + 1]->str;
            if (strcmp(kv->element[k]->str, "to") == 0)
                dest = kv->element[k + 1]->str;
            if (strcmp(kv->element[k]->str, "kind") == 0)
                kind = kv->element[k + 1]->str;
        }
        if (app && strcmp(app, id) == 0 && t && kind && strcmp(kind, "activation") == 0) {
            snprintf(text, 512, "%s", t);
            snprintf(to, 16, "%s", dest ? dest : "");
            found++;
        }
    }
    freeReplyObject(r);
    return found;
}

/* ---- the life of an application ---- */

static void a_free_application_is_identified_submitted_reviewed_and_approved(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    scans s;
    upload_scans(env, w.clerk, 1, &s);
    /* the blob is on disk, content-addressed */
    uint8_t h[32];
    char hex[65], path[400];
    mc_sha256(PNG1, sizeof(PNG1), h);
    mc_hex(h, 32, hex);
    assert_string_equal(s.licence, hex);
    snprintf(path, sizeof(path), "%s/var/blobs/%.2s/%s", env->dir, hex, hex + 2);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, sizeof(PNG1));

    /* the fee before submission: the first certificate of a legal person is free */
    int st;
    json_t *fee =
        mc_testenv_api(env, "GET", "/api/v1/applications/fee?org_type=legal_person", w.clerk,
                       NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_integer_value(json_object_get(fee, "fee")), 0);
    assert_true(json_is_true(json_object_get(fee, "first")));
    json_decref(fee);
    fee = mc_testenv_api(env, "GET", "/api/v1/applications/fee?org_type=other", w.clerk, NULL,
                         &st);
    assert_int_equal(json_integer_value(json_object_get(fee, "fee")), 20000);
    json_decref(fee);

    /* a draft, half-filled, then completed */
    char id[19], stt[32];
    create(env, w.clerk, json_pack("{s:s}", "holder_name", "张三"), id);
    json_t *a = get_app(env, w.clerk, id, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(a, "org_name"), "演示供应商有限公司");
    assert_string_equal(mc_testenv_jstr(a, "uscc"), MC_TEST_ORG);
    assert_string_equal(mc_testenv_jstr(a, "applicant"), "clerk");
    assert_string_equal(mc_testenv_jstr(a, "state_label"), "草稿");
    assert_true(json_is_null(json_object_get(a, "order")));
    json_decref(a);
    json_t *f = form("legal_person", "330100", "张三", &s);
    json_object_set_new(f, "identity", json_string("none"));
    reply r;
    char p[160];
    snprintf(p, sizeof(p), "/api/v1/applications/%s", id);
    api(env, "PUT", p, w.clerk, f, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    /* not identified yet: submit names the field */
    act(env, w.clerk, id, "submit", NULL, 400, NULL, &r);
    assert_string_equal(r.code, "bad_field");
    assert_memory_equal(r.msg, "identity:", 9);
    reply_free(&r);
    /* the face check (sandbox) */
    act(env, w.clerk, id, "identity", json_object(), 200, NULL, &r);
    assert_string_equal(mc_testenv_jstr(r.json, "result"), "passed");
    assert_string_equal(mc_testenv_jstr(r.json, "identity"), "face_passed");
    assert_int_equal(json_integer_value(json_object_get(r.json, "attempts")), 1);
    reply_free(&r);

    act(env, w.clerk, id, "submit", NULL, 200, stt, &r);
    assert_string_equal(stt, "pending_review");
    assert_int_equal(json_integer_value(json_object_get(r.json, "fee")), 0);
    assert_string_equal(mc_testenv_jstr(r.json, "state_label"), "待审核");
    reply_free(&r);

    /* the operator's queue, by state and by order-number prefix */
    char q[200];
    snprintf(q, sizeof(q), "/api/v1/review?state=pending_review&q=%.12s", id);
    json_t *l = mc_testenv_api(env, "GET", q, w.op, NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_integer_value(json_object_get(l, "total")), 1);
    assert_string_equal(
        mc_testenv_jstr(json_array_get(json_object_get(l, "applications"), 0), "id"), id);
    json_decref(l);
    l = mc_testenv_api(env, "GET", "/api/v1/review?q=SQ1999", w.op, NULL, &st);
    assert_int_equal(json_integer_value(json_object_get(l, "total")), 0);
    json_decref(l);
    /* the supplier has no queue, and may not approve */
    l = mc_testenv_api(env, "GET", "/api/v1/review", w.boss, NULL, &st);
    assert_int_equal(st, 403);
    json_decref(l);
    act(env, w.boss, id, "approve", NULL, 403, NULL, NULL);
    /* the operator reads the scans */
    snprintf(p, sizeof(p), "/api/v1/uploads/%s", s.licence);
    raw(env, "GET", p, w.op, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "image/png");
    assert_int_equal(r.body.len, sizeof(PNG1));
    assert_memory_equal(r.body.ptr, PNG1, sizeof(PNG1));
    reply_free(&r);

    act(env, w.op, id, "approve", NULL, 200, stt, NULL);
    assert_string_equal(stt, "approved_pending_issue");
    /* the activation and its SMS, one step */
    char text[512], to[16], key[64], v[80];
    assert_int_equal(outbox_text(env, id, text, to), 1);
    assert_string_equal(to, "13800138000");
    const char *c = strstr(text, "激活码 ");
    assert_non_null(c);
    char code[9];
    snprintf(code, sizeof(code), "%.8s", c + strlen("激活码 "));
    for (int i = 0; i < 8; i++)
        assert_true(code[i] >= '0' && code[i] <= '9');
    char pre[40];
    snprintf(pre, sizeof(pre), "%s:%s", id, code);
    mc_sha256(pre, strlen(pre), h);
    mc_hex(h, 32, hex);
    snprintf(key, sizeof(key), "{mc}:act:%s", id);
    assert_string_equal(mc_testenv_hget(env, key, "hash", v, sizeof(v)), hex);
    assert_string_equal(mc_testenv_hget(env, key, "state", v, sizeof(v)), "open");
    assert_string_equal(mc_testenv_hget(env, key, "tries", v, sizeof(v)), "0");
    long long exp = atoll(mc_testenv_hget(env, key, "expires", v, sizeof(v)));
    long long cr = atoll(mc_testenv_hget(env, key, "created", v, sizeof(v)));
    assert_int_equal(exp - cr, 72 * 3600);
    /* the code is nowhere in the audit */
    redisReply *au = mc_testenv_redis(env, "XRANGE {mc}:audit - +");
    for (size_t i = 0; i < au->elements; i++) {
        redisReply *kv = au->element[i]->element[1];
        for (size_t k = 0; k < kv->elements; k++)
            assert_null(strstr(kv->element[k]->str, code));
    }
    freeReplyObject(au);
    a = get_app(env, w.boss, id, &st);
    assert_string_equal(mc_testenv_jstr(a, "state_label"), "审核通过,待制证");
    assert_string_equal(mc_testenv_jstr(a, "reviewer"), "op");
    json_decref(a);

    /* the phone redeems the code from the SMS: it makes its key and CSR,
     * gets its certificate (the application is issued), binds it to the
     * clerk's account and logs in with it — the whole life, end to end */
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/lifephone", env->dir);
    mc_phone_err pe;
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, MC_TEST_PIN, "张三", "演示供应商有限公司",
                                   MC_TEST_ORG, &pe),
                     0);
    mc_phone_enrolled got;
    if (mc_phone_enroll(dir, env->base, id, code, NULL, NULL, &got, &pe) != 0)
        fail_msg("enroll: %s %s", pe.code, pe.msg);
    a = get_app(env, w.clerk, id, &st);
    assert_string_equal(mc_testenv_jstr(a, "state"), "issued");
    assert_string_equal(mc_testenv_jstr(a, "cert"), got.fp);
    json_decref(a);
    mc_phone *life = mc_phone_open(dir, MC_TEST_PIN, &pe);
    assert_non_null(life);
    char sid[MC_SID_LEN + 1], poll[64];
    int match;
    assert_int_equal(mc_testenv_open(env, w.clerk, "bind", NULL, sid, poll, &match, NULL), 201);
    mc_phone_result res;
    if (mc_testenv_answer(env->base, life, sid, MC_PHONE_APPROVE, match, &res, &pe) != 0)
        fail_msg("bind: %s %s", pe.code, pe.msg);
    assert_string_equal(res.account, "clerk");
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_testenv_answer(env->base, life, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     0);
    json_t *lp = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_string_equal(mc_testenv_jstr(lp, "state"), "approved");
    assert_string_equal(mc_testenv_jstr(lp, "account"), "clerk");
    assert_true(strlen(mc_testenv_jstr(lp, "token")) > 40);
    json_decref(lp);
    mc_phone_free(life);
    /* the same CSR again (a reply lost) gets the same certificate; the
     * right code with another key's CSR is refused: the activation is used */
    mc_phone_enrolled again;
    mc_phone_overrides keep = {.enroll_no_import = 1};
    assert_int_equal(mc_phone_enroll(dir, env->base, id, code, NULL, &keep, &again, &pe), 0);
    assert_string_equal(again.fp, got.fp);
    char dir2[300];
    snprintf(dir2, sizeof(dir2), "%s/lifephone2", env->dir);
    assert_int_equal(mc_phone_init(dir2, MC_ALG_SM2, MC_TEST_PIN, "张三", "演示供应商有限公司",
                                   MC_TEST_ORG, &pe),
                     0);
    assert_int_equal(mc_phone_enroll(dir2, env->base, id, code, NULL, NULL, NULL, &pe), -1);
    assert_string_equal(pe.code, "activation_used");

    /* a second application of the organisation costs 200 CNY and waits for payment */
    scans s2;
    upload_scans(env, w.boss, 2, &s2);
    char id2[19];
    create(env, w.boss, form("legal_person", "330100", "李四", &s2), id2);
    a = get_app(env, w.boss, id2, &st);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "fee_preview"), "fee")),
                     20000);
    json_decref(a);
    act(env, w.boss, id2, "submit", NULL, 200, stt, &r);
    assert_string_equal(stt, "pending_payment");
    assert_int_equal(json_integer_value(json_object_get(r.json, "fee")), 20000);
    reply_free(&r);
    /* the admin sees both, the staff its own */
    l = mc_testenv_api(env, "GET", "/api/v1/applications", w.boss, NULL, &st);
    assert_int_equal(json_integer_value(json_object_get(l, "total")), 2);
    assert_string_equal(
        mc_testenv_jstr(json_array_get(json_object_get(l, "applications"), 0), "id"), id2);
    json_decref(l);
    l = mc_testenv_api(env, "GET", "/api/v1/applications?state=pending_payment", w.clerk, NULL,
                       &st);
    assert_int_equal(json_integer_value(json_object_get(l, "total")), 0);
    json_decref(l);
    /* withdraw the unpaid one */
    act(env, w.boss, id2, "withdraw", NULL, 200, stt, NULL);
    assert_string_equal(stt, "withdrawn");
    world_stop(&w);
}

static void b_rejected_is_edited_and_resubmitted(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    mc_testenv_org(env, w.org3, "杭州某某个体商行");
    mc_testenv_account(env, "solo", w.org3, "admin");
    char *solo = mc_testenv_login(env, "solo");
    scans s;
    upload_scans(env, solo, 3, &s);
    char id[19], stt[32];
    create(env, solo, form("individual", "330000", "王五", &s), id);
    act(env, solo, id, "submit", NULL, 200, stt, NULL);
    assert_string_equal(stt, "pending_review");
    /* a reason is required, printable */
    act(env, w.op, id, "reject", json_object(), 400, NULL, NULL);
    act(env, w.op, id, "reject", json_pack("{s:s}", "reason", "a\001b"), 400, NULL, NULL);
    reply r;
    act(env, w.op, id, "reject", json_pack("{s:s}", "reason", "营业执照扫描件不清晰"), 200, stt,
        &r);
    assert_string_equal(stt, "rejected");
    assert_string_equal(mc_testenv_jstr(r.json, "refund_order"), "");
    reply_free(&r);
    int st;
    json_t *a = get_app(env, solo, id, &st);
    assert_string_equal(mc_testenv_jstr(a, "reason"), "营业执照扫描件不清晰");
    assert_string_equal(mc_testenv_jstr(a, "state_label"), "审核未通过");
    /* still free: a rejected application does not count */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "fee_preview"), "fee")),
                     0);
    json_decref(a);
    /* edit: a new licence scan */
    uint8_t jpg[5000];
    make_jpeg(jpg, sizeof(jpg), 99);
    char lic[65], p[160];
    upload(env, solo, "image/jpeg", jpg, sizeof(jpg), lic);
    snprintf(p, sizeof(p), "/api/v1/applications/%s", id);
    api(env, "PUT", p, solo, json_pack("{s:s}", "licence", lic), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(mc_testenv_jstr(r.json, "licence"), lic);
    assert_string_equal(mc_testenv_jstr(r.json, "state"), "rejected");
    reply_free(&r);
    act(env, solo, id, "submit", NULL, 200, stt, &r);
    assert_string_equal(stt, "pending_review");
    assert_int_equal(json_integer_value(json_object_get(r.json, "fee")), 0);
    assert_string_equal(mc_testenv_jstr(r.json, "reason"), "");
    reply_free(&r);
    act(env, w.op, id, "approve", NULL, 200, stt, NULL);
    assert_string_equal(stt, "approved_pending_issue");
    free(solo);
    world_stop(&w);
}

/* PAY's sandbox pays; the rejection refunds (the order refund_pending at
 * once, refunded when the sandbox's notice comes). */
static void c_a_paid_application_rejected_is_refunded(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    scans s;
    upload_scans(env, w.boss, 4, &s);
    char id[19], stt[32];
    create(env, w.boss, form("other", "330100", "赵六", &s), id);
    reply r;
    act(env, w.boss, id, "submit", NULL, 200, stt, &r);
    assert_string_equal(stt, "pending_payment");
    assert_int_equal(json_integer_value(json_object_get(r.json, "fee")), 20000);
    reply_free(&r);
    /* approve before payment: refused, nothing changes */
    act(env, w.op, id, "approve", NULL, 409, NULL, &r);
    assert_string_equal(r.code, "bad_transition");
    reply_free(&r);
    act(env, w.boss, id, "pay", NULL, 201, NULL, &r);
    char oid[40];
    snprintf(oid, sizeof(oid), "%s", mc_testenv_jstr(r.json, "order"));
    reply_free(&r);
    assert_true(strlen(oid) > 0);
    char p[160];
    snprintf(p, sizeof(p), "/pay/sandbox/%s/confirm", oid);
    api(env, "POST", p, w.boss, json_pack("{s:s}", "method", "alipay"), &r);
    if (r.status != 200)
        fail_msg("confirm: %d %s %s", r.status, r.code, r.msg);
    reply_free(&r);
    int st;
    json_t *a = get_app(env, w.boss, id, &st);
    assert_string_equal(mc_testenv_jstr(a, "state"), "pending_review");
    assert_true(json_is_true(json_object_get(a, "paid")));
    json_decref(a);
    act(env, w.op, id, "reject", json_pack("{s:s}", "reason", "授权书未盖章"), 200, stt, &r);
    assert_string_equal(stt, "rejected");
    assert_string_equal(mc_testenv_jstr(r.json, "refund_order"), oid);
    assert_false(json_is_true(json_object_get(r.json, "paid")));
    reply_free(&r);
    char key[80], v[40];
    snprintf(key, sizeof(key), "{mc}:order:%s", oid);
    double t0 = mc_testenv_now();
    while (strcmp(mc_testenv_hget(env, key, "state", v, sizeof(v)), "refunded") != 0 &&
           mc_testenv_now() - t0 < 5)
        usleep(20000);
    assert_string_equal(v, "refunded");
    /* resubmitted after the refund: it pays again */
    act(env, w.boss, id, "submit", NULL, 200, stt, NULL);
    assert_string_equal(stt, "pending_payment");
    world_stop(&w);
}

/* ---- every illegal transition ---- */

static void check_refused(world *w, const char *tok, const char *id, const char *verb,
                          json_t *body, int status, const char *code)
{
    char before[41], after[41];
    mc_testenv_digest(w->env, before);
    reply r;
    if (strcmp(verb, "edit") == 0) {
        char p[160];
        snprintf(p, sizeof(p), "/api/v1/applications/%s", id);
        api(w->env, "PUT", p, tok, body, &r);
    } else {
        char p[160];
        snprintf(p, sizeof(p), "/api/v1/applications/%s/%s", id, verb);
        api(w->env, "POST", p, tok, body, &r);
    }
    if (r.status != status || strcmp(r.code, code) != 0)
        fail_msg("%s %s: %d %s (%s), wanted %d %s", verb, id, r.status, r.code, r.msg, status,
                 code);
    reply_free(&r);
    mc_testenv_digest(w->env, after);
    if (strcmp(before, after) != 0)
        fail_msg("%s %s refused but the data set changed", verb, id);
}

static void d_every_illegal_transition_is_409_and_changes_nothing(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    scans s;
    upload_scans(env, w.boss, 5, &s);
    char draft[19], review[19], approved[19], gone[19], stt[32];
    create(env, w.boss, form("legal_person", "330100", "张三", &s), draft);
    create(env, w.boss, form("legal_person", "330100", "张三", &s), review);
    act(env, w.boss, review, "submit", NULL, 200, stt, NULL);
    assert_string_equal(stt, "pending_review");
    create(env, w.boss, form("legal_person", "330100", "张三", &s), approved);
    create(env, w.boss, form("legal_person", "330100", "张三", &s), gone);
    act(env, w.boss, gone, "withdraw", NULL, 200, stt, NULL);
    assert_string_equal(stt, "withdrawn");
    /* approved: submit a 2nd free-looking one is paid now; approve `review` */
    act(env, w.op, review, "approve", NULL, 200, stt, NULL);
    snprintf(approved, sizeof(approved), "%s", review);
    char review2[19];
    create(env, w.boss, form("legal_person", "330100", "张三", &s), review2);
    act(env, w.boss, review2, "submit", NULL, 200, stt, NULL);
    assert_string_equal(stt, "pending_payment");

    json_t *reason = json_pack("{s:s}", "reason", "不符合要求");
    struct {
        const char *id, *verb;
        int op;
    } bad[] = {
        {draft, "approve", 1},       {draft, "reject", 1},       {approved, "approve", 1},
        {approved, "reject", 1},     {approved, "submit", 0},    {approved, "withdraw", 0},
        {approved, "edit", 0},       {approved, "identity", 0},  {gone, "submit", 0},
        {gone, "withdraw", 0},       {gone, "edit", 0},          {gone, "approve", 1},
        {review2, "submit", 0},      {review2, "approve", 1},    {review2, "reject", 1},
        {review2, "edit", 0},        {review2, "identity", 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *body = NULL;
        if (strcmp(bad[i].verb, "reject") == 0)
            body = json_incref(reason);
        else if (strcmp(bad[i].verb, "edit") == 0)
            body = json_pack("{s:s}", "mobile", "13900139000");
        else if (strcmp(bad[i].verb, "identity") == 0)
            body = json_object();
        check_refused(&w, bad[i].op ? w.op : w.boss, bad[i].id, bad[i].verb, body, 409,
                      "bad_transition");
    }
    json_decref(reason);
    /* and who may not: the operator does not submit; another org does not see */
    check_refused(&w, w.op, draft, "submit", NULL, 403, "not_permitted");
    mc_testenv_account(env, "other", MC_TEST_ORG2, "admin");
    char *other = mc_testenv_login(env, "other");
    check_refused(&w, other, draft, "submit", NULL, 404, "not_found");
    check_refused(&w, other, draft, "withdraw", NULL, 404, "not_found");
    check_refused(&w, w.boss, "SQ0000000000000000", "submit", NULL, 404, "not_found");
    check_refused(&w, w.boss, "nonsense", "submit", NULL, 404, "not_found");
    int st;
    json_t *a = get_app(env, other, draft, &st);
    assert_int_equal(st, 404);
    json_decref(a);
    /* staff may not act on the admin's application */
    check_refused(&w, w.clerk, draft, "withdraw", NULL, 404, "not_found");
    free(other);
    world_stop(&w);
}

/* ---- uploads ---- */

static void e_uploads_are_checked_by_size_type_and_magic_and_kept_to_their_org(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    reply r;
    /* over 5 MiB: 413 */
    size_t big = 5 * 1024 * 1024 + 1;
    uint8_t *b = malloc(big);
    make_jpeg(b, big, 0);
    raw(env, "POST", "/api/v1/uploads", w.clerk, "image/jpeg", b, big, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.code, "too_large");
    reply_free(&r);
    /* exactly 5 MiB: taken (past the 128 KiB of other routes) */
    make_jpeg(b, big - 1, 0);
    raw(env, "POST", "/api/v1/uploads", w.clerk, "image/jpeg", b, big - 1, &r);
    assert_int_equal(r.status, 201);
    assert_int_equal(json_integer_value(json_object_get(r.json, "size")), big - 1);
    reply_free(&r);
    /* the other routes keep their cap */
    raw(env, "POST", "/api/v1/applications", w.clerk, "application/json", b, 200 * 1024, &r);
    assert_int_equal(r.status, 413);
    reply_free(&r);
    free(b);
    /* wrong types */
    static const uint8_t gif[] = "GIF89a\001\000\001\000\200\000\000\000\000\000;";
    raw(env, "POST", "/api/v1/uploads", w.clerk, "image/gif", gif, sizeof(gif) - 1, &r);
    assert_int_equal(r.status, 415);
    assert_string_equal(r.code, "unsupported_media_type");
    reply_free(&r);
    raw(env, "POST", "/api/v1/uploads", w.clerk, "image/png", gif, sizeof(gif) - 1, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.code, "bad_upload");
    reply_free(&r);
    static const char txt[] = "这不是扫描件, just text\n";
    raw(env, "POST", "/api/v1/uploads", w.clerk, "text/plain", txt, sizeof(txt) - 1, &r);
    assert_int_equal(r.status, 415);
    reply_free(&r);
    raw(env, "POST", "/api/v1/uploads", w.clerk, "application/pdf", txt, sizeof(txt) - 1, &r);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    /* a lying Content-Type: a whole PNG sent as a PDF is refused, and
     * neither stored nor linked (its id would be its SHA-256) */
    raw(env, "POST", "/api/v1/uploads", w.clerk, "application/pdf", PNG1, sizeof(PNG1), &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.code, "bad_upload");
    reply_free(&r);
    {
        uint8_t h[32];
        char hex[65];
        mc_sha256(PNG1, sizeof(PNG1), h);
        mc_hex(h, 32, hex);
        assert_int_equal(mc_testenv_redis_int(env, "EXISTS {mc}:blob:%s", hex), 0);
    }
    /* a JPEG header on garbage: no end-of-image marker */
    uint8_t fake[600];
    make_jpeg(fake, sizeof(fake), 5);
    fake[sizeof(fake) - 1] = 0x00;
    raw(env, "POST", "/api/v1/uploads", w.clerk, "image/jpeg", fake, sizeof(fake), &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.code, "bad_upload");
    reply_free(&r);
    /* a PNG cut short */
    raw(env, "POST", "/api/v1/uploads", w.clerk, "image/png", PNG1, sizeof(PNG1) - 3, &r);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    /* empty, none, and no token */
    raw(env, "POST", "/api/v1/uploads", w.clerk, "image/png", "", 0, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.code, "bad_upload");
    reply_free(&r);
    raw(env, "POST", "/api/v1/uploads", NULL, "image/png", PNG1, sizeof(PNG1), &r);
    assert_int_equal(r.status, 401);
    reply_free(&r);

    /* who reads an upload: the uploader, its org's admin, operators */
    char pdf[300], id[65], p[160];
    size_t n = make_pdf(pdf, sizeof(pdf), 77);
    upload(env, w.clerk, "application/pdf; charset=binary", pdf, n, id);
    snprintf(p, sizeof(p), "/api/v1/uploads/%s", id);
    const char *ok[] = {w.clerk, w.boss, w.op};
    for (int i = 0; i < 3; i++) {
        raw(env, "GET", p, ok[i], NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.ctype, "application/pdf");
        assert_int_equal(r.body.len, n);
        assert_memory_equal(r.body.ptr, pdf, n);
        reply_free(&r);
    }
    mc_testenv_account(env, "other", MC_TEST_ORG2, "admin");
    mc_testenv_account(env, "clerk2", MC_TEST_ORG, "staff");
    char *other = mc_testenv_login(env, "other");
    char *clerk2 = mc_testenv_login(env, "clerk2");
    raw(env, "GET", p, other, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    raw(env, "GET", p, clerk2, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    raw(env, "GET", "/api/v1/uploads/../../etc/passwd", w.op, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    /* another organisation may not name it in its application */
    api(env, "POST", "/api/v1/applications", other, json_pack("{s:s}", "licence", id), &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.code, "bad_field");
    assert_memory_equal(r.msg, "licence:", 8);
    reply_free(&r);
    /* the same bytes uploaded by the other org are then its own too */
    upload(env, other, "application/pdf", pdf, n, id);
    raw(env, "GET", p, other, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    free(other);
    free(clerk2);
    world_stop(&w);
}

/* ---- field validation ---- */

static void f_field_errors_name_their_field(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    struct {
        const char *field, *value;
    } bad[] = {
        {"holder_id", "110105194912310021"}, /* wrong check digit */
        {"holder_id", "11010519491231002x"}, /* lower-case x */
        {"holder_id", "110105194902300020"}, /* 30 February (and its digit) */
        {"mobile", "12345678901"},
        {"mobile", "1380013800"},
        {"email", "zhangsan@"},
        {"email", "a@b"},
        {"region", "990000"},
        {"region", "330101"},
        {"org_type", "company"},
        {"alg", "rsa"},
        {"kind", "ukey"},
        {"provider", "someone-else"},
        {"holder_name", ""},
        {"identity", "face_passed"},
        {"licence", "abc"},
        {"delivery", "post"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reply r;
        json_t *b = json_pack("{s:s}", bad[i].field, bad[i].value);
        if (strcmp(bad[i].field, "holder_name") == 0)
            json_object_set_new(b, "holder_name", json_string(" "));
        api(env, "POST", "/api/v1/applications", w.clerk, b, &r);
        if (r.status != 400 || strcmp(r.code, "bad_field") != 0 ||
            strncmp(r.msg, bad[i].field, strlen(bad[i].field)) != 0 ||
            r.msg[strlen(bad[i].field)] != ':')
            fail_msg("%s=%s: %d %s %s", bad[i].field, bad[i].value, r.status, r.code, r.msg);
        reply_free(&r);
    }
    reply r;
    api(env, "POST", "/api/v1/applications", w.clerk, json_pack("{s:s}", "colour", "red"), &r);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    api(env, "POST", "/api/v1/applications", w.clerk, json_pack("{s:i}", "quantity", 2), &r);
    assert_int_equal(r.status, 400);
    assert_memory_equal(r.msg, "quantity:", 9);
    reply_free(&r);
    api(env, "POST", "/api/v1/applications", w.clerk,
        json_pack("{s:s}", "uscc", MC_TEST_ORG2), &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.code, "org_mismatch");
    reply_free(&r);
    api(env, "POST", "/api/v1/applications", w.op, json_object(), &r);
    assert_int_equal(r.status, 403);
    reply_free(&r);
    /* a half-filled draft is saved; its submission names the first field missing */
    char id[19];
    create(env, w.clerk, json_object(), id);
    act(env, w.clerk, id, "submit", NULL, 400, NULL, &r);
    assert_string_equal(r.code, "bad_field");
    assert_memory_equal(r.msg, "org_type:", 9);
    reply_free(&r);
    /* the lists' queries */
    int st;
    json_t *l = mc_testenv_api(env, "GET", "/api/v1/applications?state=nope", w.clerk, NULL, &st);
    assert_int_equal(st, 400);
    json_decref(l);
    l = mc_testenv_api(env, "GET", "/api/v1/applications?page=0", w.clerk, NULL, &st);
    assert_int_equal(st, 400);
    json_decref(l);
    l = mc_testenv_api(env, "GET", "/api/v1/applications/fee?org_type=company", w.clerk, NULL,
                       &st);
    assert_int_equal(st, 400);
    json_decref(l);
    world_stop(&w);
}

/* ---- identity attempts ---- */

static void g_the_eleventh_identity_check_of_a_day_is_429(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    char id[19], id2[19];
    create(env, w.clerk, json_pack("{s:s, s:s}", "holder_name", "张失败", "holder_id", HOLDER_ID),
           id);
    create(env, w.boss, json_pack("{s:s, s:s}", "holder_name", "张三", "holder_id", HOLDER_ID),
           id2);
    reply r;
    for (int i = 1; i <= 9; i++) {
        act(env, w.clerk, id, "identity", json_object(), 200, NULL, &r);
        assert_string_equal(mc_testenv_jstr(r.json, "result"), "failed");
        assert_string_equal(mc_testenv_jstr(r.json, "identity"), "none");
        assert_int_equal(json_integer_value(json_object_get(r.json, "attempts")), i);
        reply_free(&r);
    }
    /* the same holder on another application shares the count */
    act(env, w.boss, id2, "identity", json_object(), 200, NULL, &r);
    assert_string_equal(mc_testenv_jstr(r.json, "result"), "passed");
    assert_int_equal(json_integer_value(json_object_get(r.json, "attempts_left")), 0);
    reply_free(&r);
    char p[160];
    snprintf(p, sizeof(p), "/api/v1/applications/%s/identity", id2);
    mc_testenv_reply tr;
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w.boss);
    const char *h[] = {auth, NULL};
    mc_testenv_send(env->base, "POST", p, h, "{\"result\":\"pass\"}", 10, &tr);
    assert_int_equal(tr.status, 429);
    assert_string_equal(tr.code, "too_many_attempts");
    assert_true(atoi(tr.retry_after) >= 1 && atoi(tr.retry_after) <= 86400);
    mc_testenv_reply_free(&tr);
    /* the refused check changed nothing on the application */
    int st;
    json_t *a = get_app(env, w.boss, id2, &st);
    assert_string_equal(mc_testenv_jstr(a, "identity"), "face_passed");
    json_decref(a);
    /* a missing or invalid holder is checked before counting */
    char id3[19];
    create(env, w.clerk, json_object(), id3);
    act(env, w.clerk, id3, "identity", json_object(), 400, NULL, &r);
    assert_memory_equal(r.msg, "holder_name:", 12);
    reply_free(&r);
    act(env, w.clerk, id3, "identity", json_pack("{s:s}", "result", "maybe"), 400, NULL, NULL);
    world_stop(&w);
}

/* ---- mcertctl ---- */

/* A certificate the organisation already holds, however it came (here:
 * `mcertctl issue`, no application), uses up its free first one: every
 * path that records a certificate adds it to the organisation's set. */
static void i_a_certificate_held_makes_the_next_one_paid(void **state)
{
    (void)state;
    world w;
    world_start(&w);
    int st;
    json_t *fee = mc_testenv_api(w.env, "GET", "/api/v1/applications/fee?org_type=legal_person",
                                 w.clerk, NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_integer_value(json_object_get(fee, "fee")), 0);
    json_decref(fee);
    mc_phone *ph = mc_testenv_phone(w.env, "held", MC_ALG_P256, MC_TEST_ORG);
    assert_int_equal(mc_testenv_redis_int(w.env, "SCARD {mc}:orgcerts:%s", MC_TEST_ORG), 1);
    fee = mc_testenv_api(w.env, "GET", "/api/v1/applications/fee?org_type=legal_person", w.clerk,
                         NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_integer_value(json_object_get(fee, "fee")), 20000);
    assert_false(json_is_true(json_object_get(fee, "first")));
    json_decref(fee);
    mc_phone_free(ph);
    world_stop(&w);
}

/* The code of the newest activation SMS of id into code (9). */
static void newest_code(mc_testenv *env, const char *id, int want_sms, char code[9])
{
    char text[512], to[16];
    assert_int_equal(outbox_text(env, id, text, to), want_sms);
    const char *c = strstr(text, "激活码 ");
    assert_non_null(c);
    snprintf(code, 9, "%.8s", c + strlen("激活码 "));
}

/* An activation locked by 5 wrong codes (or lost, or expired) gets a new
 * code on request: the old one stops working, the tries start again, the
 * SMS goes out again; at most 5 times; never once the certificate is issued. */
static void j_a_locked_activation_gets_a_new_code(void **state)
{
    (void)state;
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    scans s;
    upload_scans(env, w.clerk, 7, &s);
    char id[19], stt[32], code[9], dir[300];
    create(env, w.clerk, form("legal_person", "330100", "张三", &s), id);
    act(env, w.clerk, id, "submit", NULL, 200, stt, NULL);
    act(env, w.op, id, "approve", NULL, 200, stt, NULL);
    newest_code(env, id, 1, code);
    snprintf(dir, sizeof(dir), "%s/relock", env->dir);
    mc_phone_err pe;
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, MC_TEST_PIN, "张三", "演示供应商有限公司",
                                   MC_TEST_ORG, &pe),
                     0);
    char wrong[12];
    snprintf(wrong, sizeof(wrong), "%08d", (atoi(code) + 1) % 100000000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(mc_phone_enroll(dir, env->base, id, wrong, NULL, NULL, NULL, &pe), -1);
    assert_string_equal(pe.code, "activation_locked");
    /* another organisation's admin may not; the applicant may */
    reply r;
    mc_testenv_account(env, "stranger", MC_TEST_ORG2, "admin");
    char *stranger = mc_testenv_login(env, "stranger");
    act(env, stranger, id, "activation", NULL, 404, NULL, NULL);
    free(stranger);
    act(env, w.clerk, id, "activation", NULL, 200, stt, NULL);
    assert_string_equal(stt, "approved_pending_issue");
    char code2[9];
    newest_code(env, id, 2, code2);
    /* the old code is dead, the new one works */
    if (strcmp(code, code2) != 0) {
        assert_int_equal(mc_phone_enroll(dir, env->base, id, code, NULL, NULL, NULL, &pe), -1);
        assert_string_equal(pe.code, "bad_code");
    }
    /* the operator may too; 4 more, then refused */
    for (int i = 0; i < 4; i++)
        act(env, w.op, id, "activation", NULL, 200, NULL, NULL);
    act(env, w.clerk, id, "activation", NULL, 409, NULL, &r);
    assert_string_equal(r.code, "too_many_reissues");
    reply_free(&r);
    char code6[9];
    newest_code(env, id, 6, code6);
    if (mc_phone_enroll(dir, env->base, id, code6, NULL, NULL, NULL, &pe) != 0)
        fail_msg("enroll: %s %s", pe.code, pe.msg);
    /* issued: no new code any more */
    act(env, w.clerk, id, "activation", NULL, 409, NULL, &r);
    assert_string_equal(r.code, "bad_transition");
    reply_free(&r);
    world_stop(&w);
}

static void h_mcertctl_lists_shows_approves_and_rejects(void **state)
{
    world w;
    world_start(&w);
    mc_testenv *env = w.env;
    char out[8192];
    /* the role is strict */
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out),
                                        "account add --login x --name X --org %s --role root",
                                        MC_TEST_ORG),
                     2);
    scans s;
    upload_scans(env, w.boss, 6, &s);
    char id[19], id2[19], stt[32];
    create(env, w.boss, form("legal_person", "330100", "张三", &s), id);
    act(env, w.boss, id, "submit", NULL, 200, stt, NULL);
    create(env, w.boss, form("legal_person", "330100", "李四", &s), id2);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "application list"), 0);
    assert_non_null(strstr(out, id));
    assert_null(strstr(out, id2)); /* a draft is not in the queue */
    assert_int_equal(
        mc_testenv_ctl_out(env, out, sizeof(out), "application list --org %s", MC_TEST_ORG), 0);
    assert_non_null(strstr(out, id2));
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "application show --id %s", id), 0);
    assert_non_null(strstr(out, "state pending_review (待审核)"));
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "application approve --id %s", id2),
                     1);
    assert_non_null(strstr(out, "bad_transition"));
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "application approve --id %s", id),
                     0);
    char text[512], to[16];
    assert_int_equal(outbox_text(env, id, text, to), 1);
    assert_int_equal(
        mc_testenv_ctl_out(env, out, sizeof(out), "application reject --id %s --reason 重复", id),
        1);
    act(env, w.boss, id2, "submit", NULL, 200, stt, NULL);
    assert_string_equal(stt, "pending_payment");
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "application show --id SQ1"), 1);
    world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_free_application_is_identified_submitted_reviewed_and_approved),
        cmocka_unit_test(b_rejected_is_edited_and_resubmitted),
        cmocka_unit_test(c_a_paid_application_rejected_is_refunded),
        cmocka_unit_test(d_every_illegal_transition_is_409_and_changes_nothing),
        cmocka_unit_test(e_uploads_are_checked_by_size_type_and_magic_and_kept_to_their_org),
        cmocka_unit_test(f_field_errors_name_their_field),
        cmocka_unit_test(g_the_eleventh_identity_check_of_a_day_is_429),
        cmocka_unit_test(h_mcertctl_lists_shows_approves_and_rejects),
        cmocka_unit_test(i_a_certificate_held_makes_the_next_one_paid),
        cmocka_unit_test(j_a_locked_activation_gets_a_new_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
