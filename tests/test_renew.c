/*
 * test_renew.c — renewal (续费) and extension (延期) end to end (PROTOCOL.md
 * §10) against a real redis-server and the real mcertd, with the reference
 * phone library (mc_phone_renew: what `mcert-phone renew` runs):
 *
 *   bind -> QR login -> a CMS signature -> renewal order -> the sandbox
 *   pays -> the extension's QR -> the phone approves keeping its key ->
 *   the new certificate runs on from the old expiry; the binding moved;
 *   the web session of the old certificate's QR login stays; the old one
 *   is superseded (login refused, on the CRL with reason superseded) ->
 *   QR login with the new one -> a second renewal with a new key -> the
 *   phone still holds the first key, the server lists every earlier
 *   certificate, and the signature made before still verifies with its
 *   certificate's status at signing time.
 *
 * Also: refunds (of an unextended order; refused after the extension; the
 * extension refused for an unpaid, refunded or revoked one), the grace
 * after expiry, an extension signed by a key that is not the current
 * certificate's, two extensions racing, a wrong number, a lost reply,
 * malformed requests, mcertctl renewal. Every refusal leaves the data set
 * as it was (DEBUG DIGEST), where it writes nothing by design.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mc_crypto.h"
#include "mc_renew.h"
#include "mc_results.h"
#include "mc_testhelp.h"
#include "mc_x509.h"
#include "mc_http.h"
#include "mc_store_sync.h"
#include <openssl/x509v3.h>
#include <time.h>

/* ---- helpers ---- */

static void phone_dir(mc_testenv *env, const char *name, char out[300])
{
    snprintf(out, 300, "%s/%s", env->dir, name);
}

/* The leaf of a phone store's current chain. */
static mc_cert_info leaf_of(const char *dir)
{
    mc_phone_err pe;
    mc_phone *ph = mc_phone_open(dir, MC_TEST_PIN, &pe);
    if (ph == NULL)
        fail_msg("open %s: %s %s", dir, pe.code, pe.msg);
    mc_slice ch[MC_CHAIN_MAX];
    size_t n = mc_phone_chain(ph, ch, MC_CHAIN_MAX);
    assert_true(n >= 1);
    const unsigned char *p = ch[0].ptr;
    X509 *x = d2i_X509(NULL, &p, (long)ch[0].len);
    assert_non_null(x);
    mc_cert_info ci;
    mc_err e;
    assert_int_equal(mc_cert_info_of(x, &ci, &e), 0);
    X509_free(x);
    mc_phone_free(ph);
    return ci;
}

/* A QR login with the phone store at dir: the web token, or NULL with the
 * refusal's code in code[] when the phone's answer is refused. */
static char *qr_login(mc_testenv *env, const char *dir, const mc_phone_overrides *ov,
                      char code[32])
{
    char sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    mc_phone_err pe;
    mc_phone *ph = mc_phone_open(dir, MC_TEST_PIN, &pe);
    assert_non_null(ph);
    mc_session_view v;
    memset(&v, 0, sizeof(v));
    assert_int_equal(mc_phone_fetch(env->base, sid, &v, &pe), 0);
    mc_phone_result res;
    int rc = mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match, ov, &res, &pe);
    mc_phone_free(ph);
    if (rc != 0) {
        snprintf(code, 32, "%s", pe.code);
        return NULL;
    }
    json_t *p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    char *tok = strdup(mc_testenv_jstr(p, "token"));
    json_decref(p);
    assert_true(strlen(tok) > 40);
    return tok;
}

/* GET /api/v1/me's bound certificate fingerprint, or "" with *status. */
static int me_cert(mc_testenv *env, const char *tok, char fp[65])
{
    int st;
    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", tok, NULL, &st);
    fp[0] = '\0';
    if (st == 200) {
        json_t *c = json_object_get(me, "cert");
        const char *f = json_is_object(c) ? mc_testenv_jstr(c, "fp") : mc_testenv_jstr(me, "cert");
        snprintf(fp, 65, "%s", f);
    }
    json_decref(me);
    return st;
}

/* POST /api/v1/renewals {fp, years}: the reply (status in *st). */
static json_t *renew_order(mc_testenv *env, const char *tok, const char *fp, int years, int *st)
{
    return mc_testenv_api(env, "POST", "/api/v1/renewals", tok,
                          json_pack("{s:s, s:i}", "fp", fp, "years", years), st);
}

/* A renewal of fp, paid through the sandbox: its id into rid. */
static void renew_paid(mc_testenv *env, const char *tok, const char *fp, int years,
                       char rid[MC_REN_ID_LEN + 1])
{
    int st;
    json_t *r = renew_order(env, tok, fp, years, &st);
    if (st != 201)
        fail_msg("renewal: %d %s", st, json_dumps(r, 0));
    json_t *ren = json_object_get(r, "renewal");
    json_t *ord = json_object_get(r, "order");
    snprintf(rid, MC_REN_ID_LEN + 1, "%s", mc_testenv_jstr(ren, "id"));
    assert_string_equal(mc_testenv_jstr(ren, "state"), "pending_payment");
    assert_int_equal(json_integer_value(json_object_get(ren, "fee")), 20000 * years);
    assert_int_equal(json_integer_value(json_object_get(ord, "amount")), 20000 * years);
    assert_string_equal(mc_testenv_jstr(ord, "kind"), "renewal");
    char path[120];
    snprintf(path, sizeof(path), "/pay/sandbox/%s/confirm", mc_testenv_jstr(ord, "order"));
    json_decref(r);
    json_t *c = mc_testenv_api(env, "POST", path, tok, json_pack("{s:s}", "method", "wechat"),
                               &st);
    if (st != 200)
        fail_msg("confirm: %d %s", st, json_dumps(c, 0));
    assert_string_equal(mc_testenv_jstr(c, "renewal"), rid);
    assert_string_equal(mc_testenv_jstr(c, "renewal_state"), "pending_extension");
    char back[64];
    snprintf(back, sizeof(back), "/renew?id=%s", rid);
    assert_string_equal(mc_testenv_jstr(c, "return"), back);
    json_decref(c);
}

/* The renewal as GET /api/v1/renewals/<rid> shows it (caller frees). */
static json_t *renew_get(mc_testenv *env, const char *tok, const char *rid, int *st)
{
    char path[80];
    snprintf(path, sizeof(path), "/api/v1/renewals/%s", rid);
    return mc_testenv_api(env, "GET", path, tok, NULL, st);
}

/* Open the extension's session: sid, poll, match. Returns the status. */
static int renew_session(mc_testenv *env, const char *tok, const char *rid,
                         char sid[MC_SID_LEN + 1], char poll[64], int *match, json_t **out)
{
    char path[120];
    int st;
    snprintf(path, sizeof(path), "/api/v1/renewals/%s/renew-session?qr=none", rid);
    json_t *r = mc_testenv_api(env, "POST", path, tok, NULL, &st);
    if (st == 201) {
        snprintf(sid, MC_SID_LEN + 1, "%s", mc_testenv_jstr(r, "sid"));
        snprintf(poll, 64, "%s", mc_testenv_jstr(r, "poll_secret"));
        *match = (int)json_integer_value(json_object_get(r, "match"));
        assert_string_equal(mc_testenv_jstr(r, "purpose"), "renew");
        assert_string_equal(mc_testenv_jstr(r, "renewal"), rid);
    }
    if (out != NULL)
        *out = r;
    else
        json_decref(r);
    return st;
}

/* The phone at dir fetches sid (a renew view) into v/ri. */
static void fetch_renew(mc_testenv *env, const char *sid, mc_session_view *v, mc_renew_info *ri)
{
    mc_phone_err pe;
    memset(v, 0, sizeof(*v));
    if (mc_phone_fetch_ex(env->base, sid, v, NULL, ri, &pe) != 0)
        fail_msg("fetch renew view: %s %s", pe.code, pe.msg);
    assert_int_equal(v->s.purpose, MC_PURPOSE_RENEW);
}

/* The phone at dir extends through session sid; asserts approval. */
static void extend(mc_testenv *env, const char *dir, const char *sid, int match, int rekey,
                   mc_phone_renewed *out)
{
    mc_session_view v;
    mc_renew_info ri;
    fetch_renew(env, sid, &v, &ri);
    mc_phone_err pe;
    if (mc_phone_renew(dir, MC_TEST_PIN, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match,
                       rekey, NULL, out, &pe) != 0)
        fail_msg("renew: %s %s", pe.code, pe.msg);
    assert_string_equal(out->state, "approved");
    assert_int_equal(out->installed, 1);
    assert_int_equal(out->rekey, rekey);
}

/* A web token's /api/v1/me status. */
static int me_status(mc_testenv *env, const char *tok)
{
    char fp[65];
    return me_cert(env, tok, fp);
}

/* Sign one document with the holder's phone (token tok; its phone at dir)
 * through the inbox; the CMS (base64) into cms, its digest hex into hex. */
static void sign_one(mc_testenv *env, const char *tok, const char *dir, mc_alg alg,
                     char *cms, size_t size, char hex[65])
{
    static const char doc[] = "投标文件 ZCY-2026-1201 第1标段";
    uint8_t raw[32];
    if (alg == MC_ALG_SM2)
        mc_sm3(doc, sizeof(doc) - 1, raw);
    else
        mc_sha256(doc, sizeof(doc) - 1, raw);
    mc_hex(raw, 32, hex);
    int st;
    json_t *docs = json_pack("[{s:s, s:i, s:s, s:s}]", "name", "bid.pdf", "size",
                             (int)sizeof(doc) - 1, "alg", alg == MC_ALG_SM2 ? "sm3" : "sha256",
                             "digest", hex);
    json_t *open = mc_testenv_api(env, "POST", "/api/v1/sign-requests?qr=none", tok,
                                  json_pack("{s:s, s:o}", "account", "alice", "documents", docs),
                                  &st);
    if (st != 201)
        fail_msg("sign open: %d %s", st, json_dumps(open, 0));
    char sid[MC_SID_LEN + 1], poll[64];
    snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(open, "sid"));
    snprintf(poll, sizeof(poll), "%s", mc_testenv_jstr(open, "poll_secret"));
    int match = (int)json_integer_value(json_object_get(open, "match"));
    json_decref(open);
    mc_phone_err pe;
    mc_phone *ph = mc_phone_open(dir, MC_TEST_PIN, &pe);
    assert_non_null(ph);
    mc_session_view v;
    mc_sign_info si;
    memset(&v, 0, sizeof(v));
    assert_int_equal(mc_phone_fetch_any(env->base, sid, &v, &si, &pe), 0);
    mc_phone_result res;
    if (mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL, &res,
                         &pe) != 0)
        fail_msg("sign respond: %s %s", pe.code, pe.msg);
    mc_phone_free(ph);
    json_t *p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    json_t *d0 = json_array_get(json_object_get(p, "documents"), 0);
    snprintf(cms, size, "%s", mc_testenv_jstr(d0, "cms"));
    assert_true(strlen(cms) > 100);
    json_decref(p);
}

/* ---- the whole life ---- */

static void whole_life(mc_alg alg)
{
    mc_testenv *env = mc_testenv_start(0);
    char fp0[65], dir[300], code[32], d1[41], d2[41];
    mc_phone *ph = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "admin", alg, fp0);
    mc_phone_free(ph);
    phone_dir(env, "alice", dir);
    char *pwtok = mc_testenv_login(env, "alice");
    mc_cert_info c0 = leaf_of(dir);
    assert_string_equal(c0.fp_hex, fp0);

    /* a QR login with the certificate; a signature made with it */
    char *qtok = qr_login(env, dir, NULL, code);
    assert_non_null(qtok);
    char cms[8192], hex[65];
    sign_one(env, pwtok, dir, alg, cms, sizeof(cms), hex);
    /* a signing time in the same second as the renewal would count as
     * after it (§8.8: an event at the signing time wins) */
    sleep(1);

    /* 给已绑定CA续费 lists it */
    int st;
    json_t *cand = mc_testenv_api(env, "GET", "/api/v1/renewals/candidates?bound=1", pwtok, NULL,
                                  &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(cand, "certs")), 1);
    json_t *c = json_array_get(json_object_get(cand, "certs"), 0);
    assert_string_equal(mc_testenv_jstr(c, "fp"), fp0);
    assert_string_equal(mc_testenv_jstr(c, "lock_id"), c0.serial_hex);
    assert_string_equal(mc_testenv_jstr(c, "account"), "alice");
    json_decref(cand);

    /* an order; asked again while unpaid, the same one */
    json_t *o1 = renew_order(env, pwtok, fp0, 1, &st);
    assert_int_equal(st, 201);
    char rid1[MC_REN_ID_LEN + 1];
    snprintf(rid1, sizeof(rid1), "%s", mc_testenv_jstr(json_object_get(o1, "renewal"), "id"));
    assert_true(mc_ren_id_valid(rid1, strlen(rid1)));
    json_t *o1b = renew_order(env, pwtok, fp0, 1, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(json_object_get(o1b, "renewal"), "id"), rid1);
    json_decref(o1b);
    /* unpaid: no extension */
    char sid[MC_SID_LEN + 1], poll[64];
    int match;
    mc_testenv_digest(env, d1);
    assert_int_equal(renew_session(env, pwtok, rid1, sid, poll, &match, NULL), 409);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    /* paid through the sandbox's cashier */
    char path[120];
    snprintf(path, sizeof(path), "/pay/sandbox/%s/confirm",
             mc_testenv_jstr(json_object_get(o1, "order"), "order"));
    json_decref(o1);
    json_t *cf = mc_testenv_api(env, "POST", path, pwtok, json_pack("{s:s}", "method", "alipay"),
                                &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(cf, "renewal_state"), "pending_extension");
    json_decref(cf);
    /* paid and not extended: not offered again, not ordered again */
    cand = mc_testenv_api(env, "GET", "/api/v1/renewals/candidates?bound=1", pwtok, NULL, &st);
    assert_int_equal(json_array_size(json_object_get(cand, "certs")), 0);
    json_decref(cand);
    json_t *again = renew_order(env, pwtok, fp0, 1, &st);
    assert_int_equal(st, 409);
    assert_string_equal(mc_testenv_jstr(again, "code"), "renewal_open");
    json_decref(again);

    /* 去延期: the QR; the phone also finds it in its inbox */
    assert_int_equal(renew_session(env, pwtok, rid1, sid, poll, &match, NULL), 201);
    ph = mc_phone_open(dir, MC_TEST_PIN, &(mc_phone_err){0});
    mc_inbox_entry entries[8];
    size_t n = 0;
    mc_phone_err pe;
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 8, &n, NULL, NULL, &pe), 0);
    mc_phone_free(ph);
    const mc_inbox_entry *e = mc_phone_inbox_find(entries, n, sid);
    assert_non_null(e);
    assert_string_equal(e->purpose, "renew");
    assert_int_equal(e->documents, 0);
    assert_int_equal(e->match, match);
    assert_non_null(strstr(e->text, "证书延期 1年"));
    mc_session_view v;
    mc_renew_info ri;
    fetch_renew(env, sid, &v, &ri);
    assert_string_equal(ri.renewal, rid1);
    assert_string_equal(ri.serial, c0.serial_hex);
    assert_int_equal(ri.not_after, c0.not_after);
    assert_int_equal(ri.new_not_after, c0.not_after + 365LL * 86400);
    assert_int_equal(ri.years, 1);
    assert_string_equal(v.s.account, "alice");

    /* the phone approves, keeping its key */
    mc_phone_renewed rn;
    assert_int_equal(mc_phone_renew(dir, MC_TEST_PIN, env->base, &v, MC_PHONE_APPROVE,
                                    (uint32_t)match, 0, NULL, &rn, &pe),
                     0);
    assert_string_equal(rn.state, "approved");
    assert_string_equal(rn.account, "alice");
    assert_string_equal(rn.old_fp, fp0);
    mc_cert_info c1 = leaf_of(dir);
    assert_string_equal(rn.fp, c1.fp_hex);
    assert_string_not_equal(c1.fp_hex, fp0);
    assert_string_not_equal(c1.serial_hex, c0.serial_hex);
    /* no day lost, none gained; same subject */
    assert_int_equal(c1.not_after, c0.not_after + 365LL * 86400);
    assert_string_equal(c1.cn, c0.cn);
    assert_string_equal(c1.uscc, c0.uscc);
    /* the browser's poll: approved with the new certificate */
    json_t *pp = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_string_equal(mc_testenv_jstr(pp, "state"), "approved");
    assert_string_equal(mc_testenv_jstr(pp, "cert"), c1.fp_hex);
    json_decref(pp);
    /* the records: extended; old superseded; the binding moved */
    json_t *g = renew_get(env, pwtok, rid1, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(g, "state"), "extended");
    assert_string_equal(mc_testenv_jstr(g, "new_fp"), c1.fp_hex);
    assert_string_equal(mc_testenv_jstr(g, "new_serial"), c1.serial_hex);
    assert_int_equal(json_integer_value(json_object_get(g, "not_after")), c1.not_after);
    assert_false(json_is_true(json_object_get(g, "rekey")));
    json_decref(g);
    mc_testenv_expect_field(env, "cert", fp0, "status", "superseded");
    mc_testenv_expect_field(env, "cert", fp0, "superseded_by", c1.fp_hex);
    mc_testenv_expect_field(env, "cert", fp0, "account", "");
    mc_testenv_expect_field(env, "cert", c1.fp_hex, "status", "valid");
    mc_testenv_expect_field(env, "cert", c1.fp_hex, "account", "alice");
    mc_testenv_expect_field(env, "cert", c1.fp_hex, "prev", fp0);
    mc_testenv_expect_field(env, "acct", "alice", "cert", c1.fp_hex);
    assert_int_equal(mc_testenv_audit_count(env, "renew_extend", "renewal", rid1), 1);
    /* the web session of the old certificate's QR login stays, and sees the
     * new certificate */
    char mefp[65];
    assert_int_equal(me_cert(env, qtok, mefp), 200);
    assert_int_equal(me_status(env, pwtok), 200);
    /* the old certificate is refused for login (same key, old chain) */
    char adir[400];
    snprintf(adir, sizeof(adir), "%s/keys/%s.crt", dir, fp0);
    assert_int_equal(access(adir, R_OK), 0);
    mc_buf oldpem = {0};
    mc_testenv_read_file(adir, &oldpem);
    BIO *bio = BIO_new_mem_buf(oldpem.ptr, (int)oldpem.len);
    X509 *oldx = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    mc_buf_free(&oldpem);
    assert_non_null(oldx);
    mc_buf oldder = {0};
    assert_int_equal(mc_x509_der(oldx, &oldder), 0);
    X509_free(oldx);
    mc_slice oldchain[1] = {{oldder.ptr, oldder.len}};
    mc_phone_overrides ov;
    memset(&ov, 0, sizeof(ov));
    ov.chain = oldchain;
    ov.nchain = 1;
    char *bad = qr_login(env, dir, &ov, code);
    assert_null(bad);
    assert_string_equal(code, "cert_superseded");
    /* ... and the CRL lists it as superseded */
    char out[8192];
    char crl[300];
    snprintf(crl, sizeof(crl), "%s/crl.der", env->dir);
    assert_int_equal(mc_testenv_sh("curl -sf -o %s %s/ca/crl", crl, env->base), 0);
    assert_int_equal(mc_testenv_sh_out(env, out, sizeof(out),
                                       "openssl crl -inform DER -in %s -noout -text", crl),
                     0);
    assert_non_null(strstr(out, c0.serial_hex));
    assert_non_null(strstr(out, "Superseded"));
    /* a QR login with the new certificate */
    char *qtok2 = qr_login(env, dir, NULL, code);
    assert_non_null(qtok2);

    /* the second renewal, with a new key */
    char rid2[MC_REN_ID_LEN + 1];
    renew_paid(env, pwtok, c1.fp_hex, 2, rid2);
    assert_int_equal(renew_session(env, pwtok, rid2, sid, poll, &match, NULL), 201);
    extend(env, dir, sid, match, 1, &rn);
    mc_cert_info c2 = leaf_of(dir);
    assert_string_equal(rn.fp, c2.fp_hex);
    assert_int_equal(c2.not_after, c1.not_after + 2 * 365LL * 86400);
    json_t *g2 = renew_get(env, pwtok, rid2, &st);
    assert_true(json_is_true(json_object_get(g2, "rekey")));
    json_decref(g2);
    /* the phone still holds the first key (and the second), by certificate */
    mc_phone_keyent keys[8];
    size_t nk = 0;
    assert_int_equal(mc_phone_keys(dir, keys, 8, &nk, &pe), 0);
    assert_int_equal(nk, 3);
    assert_int_equal(keys[0].current, 1);
    assert_string_equal(keys[0].leaf.fp_hex, c2.fp_hex);
    int seen0 = 0, seen1 = 0;
    for (size_t k = 1; k < nk; k++) {
        assert_int_equal(keys[k].current, 0);
        seen0 += strcmp(keys[k].leaf.fp_hex, fp0) == 0;
        seen1 += strcmp(keys[k].leaf.fp_hex, c1.fp_hex) == 0;
    }
    assert_int_equal(seen0 + seen1, 2);
    snprintf(adir, sizeof(adir), "%s/keys/%s.key", dir, fp0);
    assert_int_equal(access(adir, R_OK), 0);
    /* the server lists every earlier certificate of the binding */
    json_t *h = mc_testenv_api(env, "GET", "/api/v1/bindings/alice/certs", pwtok, NULL, &st);
    if (st != 200)
        fail_msg("history: %d %s", st, json_dumps(h, 0));
    json_t *hl = json_object_get(h, "certs");
    assert_int_equal(json_array_size(hl), 3);
    assert_string_equal(mc_testenv_jstr(json_array_get(hl, 0), "fp"), c2.fp_hex);
    assert_string_equal(mc_testenv_jstr(json_array_get(hl, 1), "fp"), c1.fp_hex);
    assert_string_equal(mc_testenv_jstr(json_array_get(hl, 2), "fp"), fp0);
    assert_string_equal(mc_testenv_jstr(json_array_get(hl, 2), "status"), "superseded");
    json_decref(h);
    snprintf(path, sizeof(path), "/api/v1/certs/%s", c0.serial_hex);
    json_t *cs = mc_testenv_api(env, "GET", path, pwtok, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(cs, "fp"), fp0);
    assert_string_equal(mc_testenv_jstr(cs, "next"), c1.fp_hex);
    json_decref(cs);
    /* both web sessions still work */
    assert_int_equal(me_status(env, qtok), 200);
    assert_int_equal(me_status(env, qtok2), 200);
    /* the signature made before the first renewal: valid, with its
     * certificate's status then; superseded now */
    char key[80], kid[20];
    mc_testenv_apikey(env, MC_TEST_ORG, "verify", key, kid);
    json_t *vr = mc_testenv_api_apikey(env, "POST", "/api/v1/verify", key,
                                       json_pack("{s:s, s:s}", "cms", cms, "digest", hex), &st);
    if (st != 200)
        fail_msg("verify: %d %s", st, json_dumps(vr, 0));
    if (!json_is_true(json_object_get(vr, "valid"))) fail_msg("verify: %s", json_dumps(vr, 0));
    assert_string_equal(mc_testenv_jstr(json_object_get(vr, "signer"), "fp"), fp0);
    assert_string_equal(mc_testenv_jstr(vr, "status_at_signing"), "valid");
    assert_string_equal(mc_testenv_jstr(vr, "status_now"), "superseded");
    json_decref(vr);
    /* the list shows both, newest first */
    json_t *l = mc_testenv_api(env, "GET", "/api/v1/renewals", pwtok, NULL, &st);
    assert_int_equal(st, 200);
    json_t *rl = json_object_get(l, "renewals");
    assert_int_equal(json_array_size(rl), 2);
    assert_string_equal(mc_testenv_jstr(json_array_get(rl, 0), "id"), rid2);
    json_decref(l);
    /* mcertctl */
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "renewal list --state extended"),
                     0);
    assert_non_null(strstr(out, rid1));
    assert_non_null(strstr(out, rid2));
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "renewal show --id %s", rid2), 0);
    assert_non_null(strstr(out, "rekey yes"));
    assert_non_null(strstr(out, c2.fp_hex));
    free(qtok);
    free(qtok2);
    free(pwtok);
    mc_buf_free(&oldder);
    mc_testenv_stop(env);
}

static void renew_keep_then_rekey_p256(void **state)
{
    (void)state;
    whole_life(MC_ALG_P256);
}

static void renew_keep_then_rekey_sm2(void **state)
{
    (void)state;
    whole_life(MC_ALG_SM2);
}

/* ---- refunds and the states an extension needs ---- */

static void refunds_and_the_states_an_extension_needs(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65], dir[300], d1[41], d2[41];
    mc_phone_free(mc_testenv_bound_phone(env, "bob", MC_TEST_ORG, "staff", MC_ALG_P256, fp));
    phone_dir(env, "bob", dir);
    char *tok = mc_testenv_login(env, "bob");
    int st;

    /* paid, not extended: refunded (refunding, then the sandbox's notice) */
    char rid[MC_REN_ID_LEN + 1];
    renew_paid(env, tok, fp, 1, rid);
    char path[120];
    snprintf(path, sizeof(path), "/api/v1/renewals/%s/refund", rid);
    json_t *r = mc_testenv_api(env, "POST", path, tok, NULL, &st);
    if (st != 200)
        fail_msg("refund: %d %s", st, json_dumps(r, 0));
    assert_string_equal(mc_testenv_jstr(r, "state"), "refunding");
    json_decref(r);
    const char *rstate = "";
    json_t *g = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(g);
        g = renew_get(env, tok, rid, &st);
        rstate = mc_testenv_jstr(g, "state");
        if (strcmp(rstate, "refunded") == 0)
            break;
        usleep(50000);
    }
    assert_string_equal(rstate, "refunded");
    assert_string_equal(mc_testenv_jstr(json_object_get(g, "order_detail"), "state"), "refunded");
    json_decref(g);
    /* every step of the refund is audited under the renewal it pays back */
    assert_int_equal(mc_testenv_audit_count(env, "renewal_refund", "renewal", rid), 1);
    assert_int_equal(mc_testenv_audit_count(env, "refund_request", "renewal", rid), 1);
    assert_int_equal(mc_testenv_audit_count(env, "order_refunded", "renewal", rid), 1);
    /* refunded: no extension, no second refund; the certificate may be
     * renewed again */
    char sid[MC_SID_LEN + 1], poll[64];
    int match;
    mc_testenv_digest(env, d1);
    assert_int_equal(renew_session(env, tok, rid, sid, poll, &match, NULL), 409);
    r = mc_testenv_api(env, "POST", path, tok, NULL, &st);
    assert_int_equal(st, 409);
    assert_string_equal(mc_testenv_jstr(r, "code"), "bad_transition");
    json_decref(r);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);

    /* extended: its refund is refused */
    char rid2[MC_REN_ID_LEN + 1];
    renew_paid(env, tok, fp, 1, rid2);
    assert_int_equal(renew_session(env, tok, rid2, sid, poll, &match, NULL), 201);
    mc_phone_renewed rn;
    extend(env, dir, sid, match, 0, &rn);
    snprintf(path, sizeof(path), "/api/v1/renewals/%s/refund", rid2);
    mc_testenv_digest(env, d1);
    r = mc_testenv_api(env, "POST", path, tok, NULL, &st);
    assert_int_equal(st, 409);
    assert_string_equal(mc_testenv_jstr(r, "code"), "bad_transition");
    json_decref(r);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);

    /* revoked after paying: the answer is refused, nothing issued */
    char rid3[MC_REN_ID_LEN + 1];
    renew_paid(env, tok, rn.fp, 1, rid3);
    assert_int_equal(renew_session(env, tok, rid3, sid, poll, &match, NULL), 201);
    mc_session_view v;
    mc_renew_info ri;
    fetch_renew(env, sid, &v, &ri);
    snprintf(path, sizeof(path), "/api/v1/certs/%s/revoke", rn.fp);
    r = mc_testenv_api(env, "POST", path, tok, json_pack("{s:s}", "reason", "keyCompromise"),
                       &st);
    assert_int_equal(st, 200);
    json_decref(r);
    mc_phone_err pe;
    mc_testenv_digest(env, d1);
    assert_int_equal(mc_phone_renew(dir, MC_TEST_PIN, env->base, &v, MC_PHONE_APPROVE,
                                    (uint32_t)match, 0, NULL, &rn, &pe),
                     -1);
    assert_string_equal(pe.code, "cert_revoked");
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    /* and a revoked certificate is not renewed: its former holder and its
     * organisation's admin are told why */
    char fp3[65];
    json_t *g3 = renew_get(env, tok, rid3, &st);
    snprintf(fp3, sizeof(fp3), "%s", mc_testenv_jstr(g3, "fp"));
    json_decref(g3);
    r = renew_order(env, tok, fp3, 1, &st);
    assert_int_equal(st, 403);
    assert_string_equal(mc_testenv_jstr(r, "code"), "cert_revoked");
    json_decref(r);
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    char *atok = mc_testenv_login(env, "boss");
    r = renew_order(env, atok, fp3, 1, &st);
    assert_int_equal(st, 403);
    assert_string_equal(mc_testenv_jstr(r, "code"), "cert_revoked");
    json_decref(r);
    free(atok);
    free(tok);
    mc_testenv_stop(env);
}

/* ---- who answers ---- */

static void only_the_current_certificates_key_extends_it(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65], fpo[65], dir[300], odir[300], d1[41], d2[41];
    mc_phone_free(mc_testenv_bound_phone(env, "carol", MC_TEST_ORG, "staff", MC_ALG_P256, fp));
    mc_phone_free(mc_testenv_bound_phone(env, "dave", MC_TEST_ORG, "staff", MC_ALG_P256, fpo));
    phone_dir(env, "carol", dir);
    phone_dir(env, "dave", odir);
    char *tok = mc_testenv_login(env, "carol");
    char *otok = mc_testenv_login(env, "dave");
    char rid[MC_REN_ID_LEN + 1], sid[MC_SID_LEN + 1], poll[64];
    int match, st;
    /* staff renew their own only: another's is not even seen */
    json_t *r = renew_order(env, otok, fp, 1, &st);
    assert_int_equal(st, 404);
    assert_string_equal(mc_testenv_jstr(r, "code"), "not_found");
    json_decref(r);
    renew_paid(env, tok, fp, 1, rid);
    assert_int_equal(renew_session(env, otok, rid, sid, poll, &match, NULL), 404);
    assert_int_equal(renew_session(env, tok, rid, sid, poll, &match, NULL), 201);
    mc_session_view v;
    mc_renew_info ri;
    fetch_renew(env, sid, &v, &ri);
    mc_testenv_digest(env, d1);
    /* another valid certificate of the organisation: not the one renewed */
    mc_phone_err pe;
    mc_phone_renewed rn;
    assert_int_equal(mc_phone_renew(odir, MC_TEST_PIN, env->base, &v, MC_PHONE_APPROVE,
                                    (uint32_t)match, 0, NULL, &rn, &pe),
                     -1);
    assert_string_equal(pe.code, "not_current_cert");
    assert_int_equal(pe.status, 403);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    /* the right certificate, signed by another key: bad_signature */
    mc_phone *other = mc_phone_open(odir, MC_TEST_PIN, &pe);
    assert_non_null(other);
    mc_phone_overrides ov;
    memset(&ov, 0, sizeof(ov));
    ov.sign_key = (EVP_PKEY *)mc_phone_key(other);
    assert_int_equal(mc_phone_renew(dir, MC_TEST_PIN, env->base, &v, MC_PHONE_APPROVE,
                                    (uint32_t)match, 0, &ov, &rn, &pe),
                     -1);
    assert_string_equal(pe.code, "bad_signature");
    mc_phone_free(other);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    /* a wrong number ends the session; nothing issued */
    assert_int_equal(mc_phone_renew(dir, MC_TEST_PIN, env->base, &v, MC_PHONE_APPROVE,
                                    (uint32_t)(match == 99 ? 98 : match + 1) % 100, 0, NULL,
                                    &rn, &pe),
                     -1);
    assert_string_equal(pe.code, "wrong_number");
    json_t *g = renew_get(env, tok, rid, &st);
    assert_string_equal(mc_testenv_jstr(g, "state"), "pending_extension");
    json_decref(g);
    mc_testenv_expect_field(env, "cert", fp, "status", "valid");
    /* a new session: the right phone extends */
    assert_int_equal(renew_session(env, tok, rid, sid, poll, &match, NULL), 201);
    extend(env, dir, sid, match, 0, &rn);
    /* the one it replaced is not renewed again: its holder (and its
     * organisation) is told why */
    r = renew_order(env, tok, fp, 1, &st);
    assert_int_equal(st, 403);
    assert_string_equal(mc_testenv_jstr(r, "code"), "cert_superseded");
    json_decref(r);
    /* the holder may still revoke the certificate it replaced (its key was
     * lost, say): the superseded one is hers through its successor; a
     * colleague may not */
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/certs/%s/revoke", fp);
    r = mc_testenv_api(env, "POST", path, otok, json_pack("{s:s}", "reason", "keyCompromise"),
                       &st);
    assert_int_equal(st, 403);
    json_decref(r);
    r = mc_testenv_api(env, "POST", path, tok, json_pack("{s:s}", "reason", "keyCompromise"), &st);
    if (st != 200)
        fail_msg("holder revokes the superseded one: %d %s", st, json_dumps(r, 0));
    assert_string_equal(mc_testenv_jstr(r, "reason"), "keyCompromise");
    json_decref(r);
    mc_testenv_expect_field(env, "cert", fp, "status", "revoked");
    mc_testenv_expect_field(env, "cert", rn.fp, "status", "valid");
    free(tok);
    free(otok);
    mc_testenv_stop(env);
}

/* ---- races and repeats ---- */

static void two_extensions_racing_one_wins_and_a_repeat_gets_the_same(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65], dir[300];
    mc_phone *ph = mc_testenv_bound_phone(env, "erin", MC_TEST_ORG, "staff", MC_ALG_P256, fp);
    phone_dir(env, "erin", dir);
    char *tok = mc_testenv_login(env, "erin");
    char rid[MC_REN_ID_LEN + 1], sid[2][MC_SID_LEN + 1], poll[2][64];
    int match[2];
    renew_paid(env, tok, fp, 1, rid);
    /* two sessions of the same renewal, answered at once: one extends */
    mc_buf body[2] = {{0}, {0}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(renew_session(env, tok, rid, sid[i], poll[i], &match[i], NULL), 201);
        mc_session_view v;
        mc_renew_info ri;
        fetch_renew(env, sid[i], &v, &ri);
        mc_phone_err pe;
        assert_int_equal(mc_phone_build_renew(ph, &v, MC_PHONE_APPROVE, (uint32_t)match[i],
                                              (mc_slice){NULL, 0}, NULL, NULL, &body[i], &pe),
                         0);
    }
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t a = mc_testenv_racer(env, sid[0], &body[0], go);
    pid_t b = mc_testenv_racer(env, sid[1], &body[1], go);
    close(go[0]);
    close(go[1]);
    int wa, wb;
    waitpid(a, &wa, 0);
    waitpid(b, &wb, 0);
    assert_true(WIFEXITED(wa) && WIFEXITED(wb));
    int ea = WEXITSTATUS(wa), eb = WEXITSTATUS(wb);
    /* one 200; the other is refused: 409 bad_transition when both reached
     * the atomic step (the renewal was extended by the first), or 403
     * cert_superseded when its read came after the first's commit (exit 3:
     * another 409, 4: another status) */
    if (!((ea == 0 && (eb == 3 || eb == 4)) || ((ea == 3 || ea == 4) && eb == 0)))
        fail_msg("racers exited %d and %d", ea, eb);
    int lose = ea == 0 ? 1 : 0;
    int st0;
    json_t *lp = mc_testenv_poll(env, sid[lose], poll[lose], NULL, 0, &st0);
    assert_int_equal(st0, 200);
    assert_string_equal(mc_testenv_jstr(lp, "state"), "scanned");
    json_decref(lp);
    /* the loser's answer again: refused (its certificate is superseded now) */
    char lurl[300];
    snprintf(lurl, sizeof(lurl), "%s/m/v1/sessions/%s/response", env->base, sid[lose]);
    {
        const char *h[] = {"Content-Type: application/x-msgpack", NULL};
        mc_http_reply rep;
        memset(&rep, 0, sizeof(rep));
        mc_err e;
        assert_int_equal(mc_http_request("POST", lurl, h, body[lose].ptr, body[lose].len, 20,
                                         &rep, &e),
                         0);
        assert_int_equal(rep.status, 403);
        char c1[64], m1[160];
        assert_int_equal(mc_error_decode(rep.body.ptr, rep.body.len, c1, sizeof(c1), m1,
                                         sizeof(m1)),
                         0);
        assert_string_equal(c1, "cert_superseded");
        mc_http_reply_free(&rep);
    }
    assert_int_equal(mc_testenv_audit_count(env, "renew_extend", "renewal", rid), 1);
    assert_int_equal(mc_testenv_audit_count(env, "cert_issue", "renewal", rid), 1);
    /* the winner's bytes again (a lost reply): the same certificate */
    int w = ea == 0 ? 0 : 1;
    char full[300];
    snprintf(full, sizeof(full), "%s/m/v1/sessions/%s/response", env->base, sid[w]);
    const char *hdr[] = {"Content-Type: application/x-msgpack", NULL};
    char fps[2][65];
    mc_buf leaf[2] = {{0}, {0}};
    for (int k = 0; k < 2; k++) {
        mc_http_reply rep;
        memset(&rep, 0, sizeof(rep));
        mc_err e;
        assert_int_equal(mc_http_request("POST", full, hdr, body[w].ptr, body[w].len, 20, &rep,
                                         &e),
                         0);
        assert_int_equal(rep.status, 200);
        mc_renew_result rr;
        assert_int_equal(mc_result_renew_decode(rep.body.ptr, rep.body.len, &rr, &e), 0);
        assert_string_equal(rr.state, "approved");
        assert_int_equal(rr.nchain, 2);
        snprintf(fps[k], 65, "%s", rr.fp);
        mc_buf_append(&leaf[k], rr.chain[0].ptr, rr.chain[0].len);
        mc_http_reply_free(&rep);
    }
    assert_string_equal(fps[0], fps[1]);
    assert_int_equal(leaf[0].len, leaf[1].len);
    assert_memory_equal(leaf[0].ptr, leaf[1].ptr, leaf[0].len);
    int st;
    json_t *g = renew_get(env, tok, rid, &st);
    assert_string_equal(mc_testenv_jstr(g, "state"), "extended");
    assert_string_equal(mc_testenv_jstr(g, "new_fp"), fps[0]);
    json_decref(g);
    mc_buf_free(&leaf[0]);
    mc_buf_free(&leaf[1]);
    mc_buf_free(&body[0]);
    mc_buf_free(&body[1]);
    mc_phone_free(ph);
    free(tok);
    mc_testenv_stop(env);
}

/* ---- the grace after expiry ---- */

/* A phone store at env->dir/name holding a certificate of the env's CA
 * valid [nb, na), bound to nobody; its fingerprint into fp. The record is
 * made as `mcertctl issue` makes it (cert_put). */
static void expired_phone(mc_testenv *env, const char *name, int64_t nb, int64_t na,
                          char fp[65])
{
    char dir[300], cadir[300];
    phone_dir(env, name, dir);
    snprintf(cadir, sizeof(cadir), "%s/var/ca", env->dir);
    mc_phone_err pe;
    if (mc_phone_init(dir, MC_ALG_P256, MC_TEST_PIN, "张三", "演示单位", MC_TEST_ORG, &pe) != 0)
        fail_msg("init: %s %s", pe.code, pe.msg);
    mc_buf csr = {0};
    assert_int_equal(mc_phone_csr_der(dir, &csr, &pe), 0);
    mc_err e;
    mc_ca *ca = mc_ca_load(cadir, &e);
    assert_non_null(ca);
    X509 *x = mc_ca_issue_ex(ca, csr.ptr, csr.len, nb, na,
                             KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, &e);
    if (x == NULL)
        fail_msg("issue: %s", e.msg);
    /* the chain as PEM, imported like `mcert-phone import` */
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    PEM_write_bio_X509(b, mc_ca_cert(ca));
    char *pem;
    long pl = BIO_get_mem_data(b, &pem);
    if (mc_phone_import(dir, (const uint8_t *)pem, (size_t)pl, &pe) != 0)
        fail_msg("import: %s %s", pe.code, pe.msg);
    BIO_free(b);
    mc_buf der = {0};
    mc_cert_info ci;
    assert_int_equal(mc_cert_info_der(x, &der, &ci, &e), 0);
    mc_cert_rec rec;
    mc_cert_rec_from_info(&ci, &rec);
    rec.der = (mc_slice){der.ptr, der.len};
    mc_actor a = {"test", "test"};
    assert_int_equal(mc_sync_cert_put(env->store, &rec, &a, &e), 0);
    snprintf(fp, 65, "%s", ci.fp_hex);
    mc_buf_free(&der);
    mc_buf_free(&csr);
    X509_free(x);
    mc_ca_free(ca);
}

/* Replace the env's CA (DATA/ca and the trust anchor) by a P-256 CA made
 * `back` seconds ago, as a CA that has run for years is: a certificate that
 * expired a month ago was issued by a CA valid then. Only a node started
 * after this (mc_testenv_second_node) uses it. */
static void backdated_ca(mc_testenv *env, int64_t back)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    assert_non_null(k);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"Old Mobile CA",
                               -1, -1, 0);
    X509_set_issuer_name(x, n);
    time_t t = time(NULL);
    ASN1_TIME_adj(X509_getm_notBefore(x), t, (int)(-back / 86400), 0);
    ASN1_TIME_adj(X509_getm_notAfter(x), t, 3650, 0);
    X509_set_pubkey(x, k);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    const char *ext[][2] = {{"basicConstraints", "critical,CA:TRUE"},
                            {"keyUsage", "critical,keyCertSign,cRLSign"},
                            {"subjectKeyIdentifier", "hash"}};
    for (size_t i = 0; i < 3; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &ctx, ext[i][0], ext[i][1]);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    char path[400];
    const char *files[] = {"var/ca/ca.crt", "var/trust/ca.crt"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", env->dir, files[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        PEM_write_X509(f, x);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/var/ca/ca.key", env->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_PKCS8PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void renewal_is_allowed_for_30_days_after_expiry(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    backdated_ca(env, 500 * 86400LL);
    const char *base2 = mc_testenv_second_node(env); /* with that CA */
    mc_testenv_account(env, "admin", MC_TEST_ORG, "admin");
    char *tok = mc_testenv_login(env, "admin");
    int64_t now = mc_testenv_redis_time(env);
    char fp31[65], fp29[65], d1[41], d2[41], dir29[300];
    int64_t na29 = now - 29 * 86400LL;
    expired_phone(env, "old31", now - 400 * 86400LL, now - 31 * 86400LL, fp31);
    expired_phone(env, "old29", now - 400 * 86400LL, na29, fp29);
    phone_dir(env, "old29", dir29);
    int st;
    /* 31 days after expiry: refused, nothing written */
    mc_testenv_digest(env, d1);
    json_t *r = renew_order(env, tok, fp31, 1, &st);
    assert_int_equal(st, 403);
    assert_string_equal(mc_testenv_jstr(r, "code"), "cert_expired");
    json_decref(r);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    /* 29 days: the unbound certificate, found by its serial as a person
     * types it (给未绑定CA续费: lower case, a leading zero octet) */
    mc_cert_info c29 = leaf_of(dir29);
    char typed[50], path[160];
    snprintf(typed, sizeof(typed), "00%s", c29.serial_hex);
    for (char *q = typed; *q; q++)
        *q = (char)((*q >= 'A' && *q <= 'F') ? *q + 32 : *q);
    snprintf(path, sizeof(path), "/api/v1/renewals/candidates?bound=0&serial=%s", typed);
    json_t *cand = mc_testenv_api(env, "GET", path, tok, NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(cand, "certs")), 1);
    assert_string_equal(mc_testenv_jstr(json_array_get(json_object_get(cand, "certs"), 0), "fp"),
                        fp29);
    json_decref(cand);
    /* the bound list does not show it */
    cand = mc_testenv_api(env, "GET", "/api/v1/renewals/candidates?bound=1", tok, NULL, &st);
    assert_int_equal(json_array_size(json_object_get(cand, "certs")), 0);
    json_decref(cand);
    r = mc_testenv_api(env, "POST", "/api/v1/renewals", tok,
                       json_pack("{s:s, s:i}", "serial", typed, "years", 1), &st);
    if (st != 201)
        fail_msg("by serial: %d %s", st, json_dumps(r, 0));
    char rid[MC_REN_ID_LEN + 1], oid[32];
    snprintf(rid, sizeof(rid), "%s", mc_testenv_jstr(json_object_get(r, "renewal"), "id"));
    snprintf(oid, sizeof(oid), "%s", mc_testenv_jstr(json_object_get(r, "order"), "order"));
    assert_string_equal(mc_testenv_jstr(json_object_get(r, "renewal"), "account"), "");
    json_decref(r);
    snprintf(path, sizeof(path), "/pay/sandbox/%s/confirm", oid);
    r = mc_testenv_api(env, "POST", path, tok, json_pack("{s:s}", "method", "unionpay"), &st);
    assert_int_equal(st, 200);
    json_decref(r);
    /* the phone extends with its expired certificate, on the node with the
     * CA that issued it; the new one runs on from the old expiry */
    char sid[MC_SID_LEN + 1], poll[64];
    int match;
    assert_int_equal(renew_session(env, tok, rid, sid, poll, &match, NULL), 201);
    mc_session_view v;
    mc_renew_info ri;
    mc_phone_err pe;
    memset(&v, 0, sizeof(v));
    assert_int_equal(mc_phone_fetch_ex(base2, sid, &v, NULL, &ri, &pe), 0);
    assert_int_equal(ri.new_not_after, na29 + 365 * 86400LL);
    mc_phone_renewed rn;
    if (mc_phone_renew(dir29, MC_TEST_PIN, base2, &v, MC_PHONE_APPROVE, (uint32_t)match, 1, NULL,
                       &rn, &pe) != 0)
        fail_msg("renew within the grace: %s %s", pe.code, pe.msg);
    assert_string_equal(rn.account, "");
    mc_cert_info cn = leaf_of(dir29);
    assert_int_equal(cn.not_after, na29 + 365 * 86400LL);
    mc_testenv_expect_field(env, "cert", fp29, "status", "superseded");
    mc_testenv_expect_field(env, "cert", cn.fp_hex, "account", "");
    free(tok);
    mc_testenv_stop(env);
}

/* ---- bad requests ---- */

static void malformed_renewal_requests_are_4xx_and_change_nothing(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65], d1[41], d2[41];
    mc_phone_free(mc_testenv_bound_phone(env, "frank", MC_TEST_ORG, "staff", MC_ALG_P256, fp));
    char *tok = mc_testenv_login(env, "frank");
    mc_testenv_digest(env, d1);
    struct {
        const char *body;
        int status;
        const char *code;
    } cases[] = {
        {"{", 400, "bad_json"},
        {"[]", 400, "bad_json"},
        {"{\"years\":1}", 400, "bad_field"},
        {"{\"fp\":\"zz\",\"years\":1}", 400, "bad_field"},
        {"{\"serial\":\"XYZ\",\"years\":1}", 400, "bad_field"},
        {"{\"serial\":\"0\",\"years\":1}", 400, "bad_field"},
        {"{\"years\":0,\"serial\":\"0A\"}", 400, "bad_field"},
        {"{\"years\":4,\"serial\":\"0A\"}", 400, "bad_field"},
        {"{\"years\":\"1\",\"serial\":\"0A\"}", 400, "bad_field"},
        {"{\"years\":1.5,\"serial\":\"0A\"}", 400, "bad_field"},
        {"{\"years\":1,\"serial\":\"0A\",\"fp\":\"00\"}", 400, "bad_field"},
        {"{\"years\":1,\"serial\":\"0A\",\"x\":1}", 400, "bad_field"},
        {"{\"years\":1,\"serial\":\"0A\",\"years\":2}", 400, "bad_json"},
        {"{\"years\":1,\"serial\":\"0A\"}", 404, "not_found"},
        {"{\"years\":1,\"fp\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
         404, "not_found"},
    };
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *h[] = {auth, "Content-Type: application/json", NULL};
        mc_testenv_reply rep;
        mc_testenv_send(env->base, "POST", "/api/v1/renewals", h, cases[i].body, 10, &rep);
        if (rep.status != cases[i].status || !rep.shaped ||
            strcmp(rep.code, cases[i].code) != 0)
            fail_msg("%s: got %d %s, want %d %s", cases[i].body, rep.status, rep.code,
                     cases[i].status, cases[i].code);
        mc_testenv_reply_free(&rep);
    }
    /* the same refusals for a body that is otherwise a good order of
     * frank's own certificate (one that gets through makes a renewal, which
     * the digest below sees): §0 steps 4, 5 and 7, then §10.2's fields */
    {
        char good[160], dup[240], cut[160], big[8300];
        snprintf(good, sizeof(good), "{\"fp\":\"%s\",\"years\":1}", fp);
        snprintf(dup, sizeof(dup), "{\"fp\":\"%s\",\"years\":1,\"fp\":\"%s\"}", fp, fp);
        snprintf(cut, sizeof(cut), "%.*s", (int)strlen(good) - 1, good);
        size_t gl = strlen(good);
        memcpy(big, good, gl - 1);
        memset(big + gl - 1, ' ', 8193 - gl); /* JSON whitespace: 8193 bytes in all */
        big[8192] = '}';
        big[8193] = '\0';
        char fpnum[160], fparr[160], extra[200];
        snprintf(fpnum, sizeof(fpnum), "{\"fp\":1,\"years\":1}");
        snprintf(fparr, sizeof(fparr), "{\"fp\":[\"%s\"],\"years\":1}", fp);
        snprintf(extra, sizeof(extra), "{\"fp\":\"%s\",\"years\":1,\"pay\":true}", fp);
        const char *ct_json = "Content-Type: application/json", *ct_text = "Content-Type: text/plain";
        const struct {
            const char *body, *ct;
            int status;
            const char *code;
        } good_ish[] = {
            {big, ct_json, 413, "too_large"},
            {good, ct_text, 415, "unsupported_media_type"},
            {good, NULL, 415, "unsupported_media_type"},
            {dup, ct_json, 400, "bad_json"},
            {cut, ct_json, 400, "bad_json"},
            {fpnum, ct_json, 400, "bad_field"},
            {fparr, ct_json, 400, "bad_field"},
            {extra, ct_json, 400, "bad_field"},
        };
        for (size_t i = 0; i < sizeof(good_ish) / sizeof(good_ish[0]); i++) {
            const char *h[] = {auth, good_ish[i].ct, NULL};
            json_t *o = NULL;
            int st = mc_testenv_web_req(env, "POST", "/api/v1/renewals", h, good_ish[i].body,
                                        strlen(good_ish[i].body), &o);
            if (st != good_ish[i].status || strcmp(mc_testenv_jstr(o, "code"), good_ish[i].code))
                fail_msg("case %zu (%.60s): got %d %s, want %d %s", i, good_ish[i].body, st,
                         mc_testenv_jstr(o, "code"), good_ish[i].status, good_ish[i].code);
            json_decref(o);
        }
        /* GET of the list takes no body */
        const char *h[] = {auth, ct_json, NULL};
        json_t *o = NULL;
        int st = mc_testenv_web_req(env, "GET", "/api/v1/renewals", h, good, strlen(good), &o);
        if (st != 400 || strcmp(mc_testenv_jstr(o, "code"), "unexpected_body") != 0)
            fail_msg("GET with a body: %d %s", st, mc_testenv_jstr(o, "code"));
        json_decref(o);
    }
    /* paths and queries */
    struct {
        const char *method, *path;
        int status;
        const char *code;
    } paths[] = {
        {"GET", "/api/v1/renewals/XF1", 404, "not_found"},
        {"GET", "/api/v1/renewals/XF20261201000000000A", 404, "not_found"},
        {"GET", "/api/v1/renewals/XF202612010000000000", 404, "not_found"},
        {"POST", "/api/v1/renewals/XF202612010000000000/refund", 404, "not_found"},
        {"POST", "/api/v1/renewals/XF202612010000000000/renew-session", 404, "not_found"},
        {"GET", "/api/v1/renewals/candidates", 400, "bad_query"},
        {"GET", "/api/v1/renewals/candidates?bound=2", 400, "bad_query"},
        {"GET", "/api/v1/renewals/candidates?bound=0", 400, "bad_query"},
        {"GET", "/api/v1/renewals/candidates?bound=0&serial=G1", 400, "bad_query"},
        {"GET", "/api/v1/renewals/candidates?bound=1&serial=0A", 400, "bad_query"},
        {"GET",
         "/api/v1/renewals?lock=0123456789012345678901234567890123456789012345678901234567890",
         400, "bad_query"},
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const char *h[] = {auth, NULL};
        mc_testenv_reply rep;
        mc_testenv_send(env->base, paths[i].method, paths[i].path, h, NULL, 10, &rep);
        if (rep.status != paths[i].status || !rep.shaped || strcmp(rep.code, paths[i].code) != 0)
            fail_msg("%s %s: got %d %s, want %d %s", paths[i].method, paths[i].path, rep.status,
                     rep.code, paths[i].status, paths[i].code);
        mc_testenv_reply_free(&rep);
    }
    /* no token */
    mc_testenv_reply rep;
    mc_testenv_send(env->base, "GET", "/api/v1/renewals", NULL, NULL, 10, &rep);
    assert_int_equal(rep.status, 401);
    mc_testenv_reply_free(&rep);
    mc_testenv_digest(env, d2);
    assert_string_equal(d1, d2);
    /* another organisation's admin sees nothing of frank's certificate */
    mc_testenv_org(env, MC_TEST_ORG2, "别的单位");
    mc_testenv_account(env, "other", MC_TEST_ORG2, "admin");
    char *otok = mc_testenv_login(env, "other");
    int st;
    json_t *r = renew_order(env, otok, fp, 1, &st);
    assert_int_equal(st, 404);
    json_decref(r);
    free(otok);
    /* a malformed query is 400 bad_query whoever asks: operators (who are
     * shown no candidates) and staff (unbound ones: admins only) too */
    mc_testenv_account(env, "op", MC_TEST_ORG2, "operator");
    char *optok = mc_testenv_login(env, "op");
    static const char *const bad[] = {
        "/api/v1/renewals/candidates",
        "/api/v1/renewals/candidates?bound=2",
        "/api/v1/renewals/candidates?bound=0",
        "/api/v1/renewals/candidates?bound=0&serial=G1",
        "/api/v1/renewals/candidates?bound=1&serial=0A",
    };
    const char *const askers[] = {optok, tok};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            r = mc_testenv_api(env, "GET", bad[i], askers[k], NULL, &st);
            if (st != 400 || strcmp(mc_testenv_jstr(r, "code"), "bad_query") != 0)
                fail_msg("%s by %s: got %d %s, want 400 bad_query", bad[i],
                         k == 0 ? "an operator" : "staff", st, mc_testenv_jstr(r, "code"));
            json_decref(r);
        }
    r = mc_testenv_api(env, "GET", "/api/v1/renewals/candidates?bound=0&serial=0A", optok, NULL,
                       &st);
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(r, "certs")), 0);
    json_decref(r);
    free(optok);
    free(tok);
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renew_keep_then_rekey_p256),
        cmocka_unit_test(renew_keep_then_rekey_sm2),
        cmocka_unit_test(refunds_and_the_states_an_extension_needs),
        cmocka_unit_test(only_the_current_certificates_key_extends_it),
        cmocka_unit_test(two_extensions_racing_one_wins_and_a_repeat_gets_the_same),
        cmocka_unit_test(renewal_is_allowed_for_30_days_after_expiry),
        cmocka_unit_test(malformed_renewal_requests_are_4xx_and_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
