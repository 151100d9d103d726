/*
 * test_ca.c — revocation with a reason, the CA's CRL and its OCSP responder
 * (PROTOCOL.md §9.8), against a real redis-server and the real mcertd, with
 * the reference phone library for the certificates' holders.
 *
 * The independent checker is the `openssl` command-line tool: `openssl
 * ocsp` asks the running server (its own request, its own nonce, its own
 * verification of the signed answer against ca.crt), `openssl crl
 * -verify -text` reads the CRL the server serves. Requests the tool will
 * not send (garbage, too many CertIDs, a wrong Content-Type) go over a raw
 * socket, and their answers are read back with `openssl ocsp -respin`.
 *
 * Also: who may revoke (holder, its organisation's admin, an operator;
 * nobody else), the reasons, revoking twice, what a revoked certificate
 * can no longer do (login, bind, sign), `mcertctl revoke --serial
 * --reason` and `mcertctl crl`, and the CRL cache following revocations
 * made elsewhere.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "mc_crypto.h"
#include "mc_testhelp.h"

/* ---- helpers ---- */

/* One request on a new connection, the raw reply body into out (if not
 * NULL) and its Content-Type into ctype (if not NULL). Returns the status. */
static int http_raw(mc_testenv *env, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, mc_buf *out, char ctype_out[96])
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)env->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char head[512];
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                      ctype ? "\r\n" : "", len);
    assert_int_equal(write(fd, head, (size_t)hn), hn);
    if (len > 0)
        assert_int_equal(write(fd, body, len), (ssize_t)len);
    mc_buf all = {0};
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        mc_buf_append(&all, buf, (size_t)n);
    close(fd);
    mc_buf_append(&all, "", 1);
    int status = 0;
    assert_int_equal(sscanf((const char *)all.ptr, "HTTP/1.1 %d", &status), 1);
    const char *end = strstr((const char *)all.ptr, "\r\n\r\n");
    assert_non_null(end);
    if (ctype_out != NULL) {
        const char *ct = strcasestr((const char *)all.ptr, "\r\nContent-Type: ");
        ctype_out[0] = '\0';
        if (ct != NULL && ct < end)
            sscanf(ct + 16, "%95[^\r]", ctype_out);
    }
    if (out != NULL) {
        out->len = 0;
        size_t off = (size_t)(end + 4 - (const char *)all.ptr);
        mc_buf_append(out, all.ptr + off, all.len - 1 - off);
    }
    mc_buf_free(&all);
    return status;
}

/* The CRL the server serves, saved as <env>/<name>.der; its path in out. */
static void get_crl(mc_testenv *env, const char *name, char path[300])
{
    mc_buf b = {0};
    char ct[96];
    assert_int_equal(http_raw(env, "GET", "/ca/crl", NULL, NULL, 0, &b, ct), 200);
    assert_string_equal(ct, "application/pkix-crl");
    snprintf(path, 300, "%s/%s.der", env->dir, name);
    mc_testenv_write_file(path, b.ptr, b.len);
    mc_buf_free(&b);
}

/* `openssl crl -verify` of a CRL file (against the env's CA) and its text
 * into out. Asserts that it verifies. */
static void crl_text(mc_testenv *env, const char *crl, char *out, size_t size)
{
    assert_int_equal(
        mc_testenv_sh_out(env, out, size,
                          "openssl crl -inform DER -in %s -CAfile %s/var/ca/ca.crt -noout "
                          "-verify -text",
                          crl, env->dir),
        0);
    assert_non_null(strstr(out, "verify OK"));
}

/* The CRL number printed by `openssl crl -text` (-1 if none). */
static long crl_number(const char *text)
{
    const char *p = strstr(text, "X509v3 CRL Number:");
    if (p == NULL)
        return -1;
    p += strlen("X509v3 CRL Number:");
    while (*p == ' ' || *p == '\n')
        p++;
    return strtol(p, NULL, 10);
}

/* `openssl ocsp` for a phone's leaf against the running server; the
 * output into out. Asserts the tool verified the response. extra: more
 * options ("" for none). */
static void ocsp_leaf(mc_testenv *env, const char *phone, const char *extra, char *out,
                      size_t size)
{
    int rc = mc_testenv_sh_out(env, out, size,
                               "openssl ocsp -issuer %s/var/ca/ca.crt %s -cert %s/%s/cert.pem -url "
                               "%s/ca/ocsp -CAfile %s/var/ca/ca.crt -resp_text",
                               env->dir, extra, env->dir, phone, env->base, env->dir);
    if (rc != 0 || strstr(out, "Response verify OK") == NULL)
        fail_msg("openssl ocsp: %d\n%s", rc, out);
    assert_null(strstr(out, "WARNING")); /* e.g. no nonce in the response */
}

/* The serial of a phone's certificate, as openssl prints it. */
static void leaf_serial(mc_testenv *env, const char *phone, char serial[64])
{
    char out[256];
    assert_int_equal(mc_testenv_sh_out(env, out, sizeof(out),
                                       "openssl x509 -in %s/%s/cert.pem -noout "
                                       "-serial",
                                       env->dir, phone),
                     0);
    assert_int_equal(sscanf(out, "serial=%63s", serial), 1);
}

/* POST /api/v1/certs/<fp>/revoke with body (stolen); the reply. */
static json_t *api_revoke(mc_testenv *env, const char *token, const char *fp, json_t *body,
                      int *st)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/certs/%s/revoke", fp);
    return mc_testenv_api(env, "POST", path, token, body, st);
}

static void expect_revoke(mc_testenv *env, const char *token, const char *fp, json_t *body,
                          int status, const char *code)
{
    int st;
    json_t *r = api_revoke(env, token, fp, body, &st);
    if (st != status || strcmp(mc_testenv_jstr(r, "code"), code) != 0)
        fail_msg("revoke: want %d %s, got %d %s", status, code, st, json_dumps(r, 0));
    json_decref(r);
}

/* A certificate issued by mcertctl and recorded, bound to nobody. */
static void unbound_cert(mc_testenv *env, const char *name, const char *org, char fp[65])
{
    mc_phone *ph = mc_testenv_phone(env, name, MC_ALG_P256, org);
    mc_phone_status ps;
    mc_phone_err pe;
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/%s", env->dir, name);
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), 0);
    snprintf(fp, 65, "%s", ps.leaf.fp_hex);
    mc_phone_free(ph);
}

/* ---- the whole story ---- */

static void revocation_shows_in_ocsp_and_the_crl_and_refuses_the_certificate(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65], serial[64], out[8192], crl[300];
    mc_phone *ph = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", MC_ALG_P256, fp);
    leaf_serial(env, "alice", serial);

    /* before: OCSP says good (SHA-1 CertID, the tool's default, and
     * SHA-256), the CRL is empty with number 0 */
    ocsp_leaf(env, "alice", "", out, sizeof(out));
    assert_non_null(strstr(out, "cert.pem: good"));
    assert_non_null(strstr(out, "Cert Status: good"));
    ocsp_leaf(env, "alice", "-sha256", out, sizeof(out));
    assert_non_null(strstr(out, "cert.pem: good"));
    get_crl(env, "crl0", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_int_equal(crl_number(out), 0);
    assert_non_null(strstr(out, "No Revoked Certificates"));
    assert_non_null(strstr(out, "Next Update"));

    /* a sign request open before the revocation, a login session too */
    char *tok = mc_testenv_login(env, "alice");
    int st;
    char dg[65];
    uint8_t raw[32];
    mc_sha256("bid", 3, raw);
    mc_hex(raw, 32, dg);
    json_t *sreq = mc_testenv_api(
        env, "POST", "/api/v1/sign-requests?qr=none", tok,
        json_pack("{s:[{s:s, s:i, s:s, s:s}]}", "documents", "name", "标书.pdf", "size", 3,
                  "alg", "sha256", "digest", dg),
        &st);
    assert_int_equal(st, 201);
    char ssid[MC_SID_LEN + 1];
    snprintf(ssid, sizeof(ssid), "%s", mc_testenv_jstr(sreq, "sid"));
    int smatch = (int)json_integer_value(json_object_get(sreq, "match"));
    json_decref(sreq);

    /* the holder revokes its own certificate: keyCompromise */
    json_t *r = api_revoke(env, tok, fp, json_pack("{s:s}", "reason", "keyCompromise"), &st);
    if (st != 200)
        fail_msg("revoke: %d %s", st, json_dumps(r, 0));
    assert_string_equal(mc_testenv_jstr(r, "fp"), fp);
    assert_string_equal(mc_testenv_jstr(r, "serial"), serial);
    assert_string_equal(mc_testenv_jstr(r, "status"), "revoked");
    assert_string_equal(mc_testenv_jstr(r, "reason"), "keyCompromise");
    assert_int_equal(json_integer_value(json_object_get(r, "reason_code")), 1);
    assert_string_equal(mc_testenv_jstr(r, "account"), "alice");
    assert_int_equal(json_integer_value(json_object_get(r, "crl_number")), 1);
    assert_true(json_integer_value(json_object_get(r, "revoked_at")) > 0);
    json_decref(r);

    /* OCSP: revoked, with the reason and time */
    ocsp_leaf(env, "alice", "", out, sizeof(out));
    assert_non_null(strstr(out, "cert.pem: revoked"));
    assert_non_null(strstr(out, "Reason: keyCompromise"));
    assert_non_null(strstr(out, "Revocation Time:"));

    /* the CRL: verifies, lists the serial with its reason, number 1 */
    get_crl(env, "crl1", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_int_equal(crl_number(out), 1);
    char want[96];
    snprintf(want, sizeof(want), "Serial Number: %s", serial);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "Key Compromise"));
    assert_non_null(strstr(out, "Authority Key Identifier"));

    /* twice: 409 cert_revoked */
    expect_revoke(env, tok, fp, json_pack("{s:i}", "reason", 1), 409, "cert_revoked");

    /* the certificate is refused: sign (the request made before) ... */
    mc_session_view v;
    mc_sign_info si;
    mc_phone_err pe;
    mc_phone_result res;
    memset(&v, 0, sizeof(v));
    assert_int_equal(mc_phone_fetch_any(env->base, ssid, &v, &si, &pe), 0);
    assert_int_equal(
        mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)smatch, NULL, &res, &pe),
        -1);
    assert_int_equal(pe.status, 403);
    assert_string_equal(pe.code, "cert_revoked");
    /* ... login ... */
    char sid[MC_SID_LEN + 1], poll[64];
    int match;
    assert_int_equal(mc_testenv_open(env, NULL, "login", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     -1);
    assert_int_equal(pe.status, 403);
    assert_string_equal(pe.code, "cert_revoked");
    /* ... and bind (the account is free again: revocation unbound it) */
    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", tok, NULL, &st);
    assert_int_equal(st, 200);
    assert_true(json_is_null(json_object_get(me, "cert")));
    json_decref(me);
    assert_int_equal(mc_testenv_open(env, tok, "bind", NULL, sid, poll, &match, NULL), 201);
    assert_int_equal(mc_testenv_answer(env->base, ph, sid, MC_PHONE_APPROVE, match, &res, &pe),
                     -1);
    assert_int_equal(pe.status, 403);
    assert_string_equal(pe.code, "cert_revoked");

    /* the record and the audit say who, why */
    redisReply *rr = mc_testenv_redis(env, "HGET {mc}:cert:%s reason", fp);
    assert_string_equal(rr->str, "1");
    freeReplyObject(rr);
    rr = mc_testenv_redis(env, "GET {mc}:serial:%s", serial);
    assert_string_equal(rr->str, fp);
    freeReplyObject(rr);
    rr = mc_testenv_redis(env, "XREVRANGE {mc}:audit + - COUNT 50");
    int seen = 0;
    for (size_t i = 0; i < rr->elements; i++) {
        redisReply *f = rr->element[i]->element[1];
        int is_revoke = 0, by_alice = 0, why = 0;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            is_revoke |= strcmp(f->element[k]->str, "what") == 0 &&
                         strcmp(f->element[k + 1]->str, "revoke") == 0;
            by_alice |= strcmp(f->element[k]->str, "who") == 0 &&
                        strcmp(f->element[k + 1]->str, "alice") == 0;
            why |= strcmp(f->element[k]->str, "reason") == 0 &&
                   strcmp(f->element[k + 1]->str, "1") == 0;
        }
        seen += is_revoke && by_alice && why;
    }
    freeReplyObject(rr);
    assert_int_equal(seen, 1);

    free(tok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* ---- who may revoke ---- */

static void only_the_holder_its_admin_and_operators_revoke(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_org(env, MC_TEST_ORG2, "另一家公司");
    char fa[65], fb[65], fc[65], fu[65];
    mc_phone *pa = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", MC_ALG_P256, fa);
    mc_phone *pb = mc_testenv_bound_phone(env, "bob", MC_TEST_ORG, "staff", MC_ALG_SM2, fb);
    mc_phone *pc = mc_testenv_bound_phone(env, "carol", MC_TEST_ORG, "staff", MC_ALG_P256, fc);
    unbound_cert(env, "spare", MC_TEST_ORG, fu);
    mc_testenv_account(env, "boss", MC_TEST_ORG, "admin");
    mc_testenv_account(env, "rival", MC_TEST_ORG2, "admin");
    char *ta = mc_testenv_login(env, "alice");
    char *tb = mc_testenv_login(env, "bob");
    char *tboss = mc_testenv_login(env, "boss");
    char *trival = mc_testenv_login(env, "rival");
    char before[41], after[41];
    mc_testenv_digest(env, before);

    /* staff revoking another's; another organisation's admin; a holder
     * claiming privilegeWithdrawn; nobody logged in */
    expect_revoke(env, ta, fb, json_pack("{}"), 403, "not_permitted");
    expect_revoke(env, ta, fu, json_pack("{}"), 403, "not_permitted");
    expect_revoke(env, trival, fa, json_pack("{s:s}", "reason", "affiliationChanged"), 403,
                  "not_permitted");
    expect_revoke(env, ta, fa, json_pack("{s:s}", "reason", "privilegeWithdrawn"), 403,
                  "not_permitted");
    expect_revoke(env, tboss, fa, json_pack("{s:i}", "reason", 9), 403, "not_permitted");
    expect_revoke(env, NULL, fa, json_pack("{}"), 401, "unauthorized");
    mc_testenv_digest(env, after);
    assert_string_equal(before, after); /* nothing written */

    /* the admin of the organisation: a bound one and an unbound one */
    int st;
    json_t *r = api_revoke(env, tboss, fb, json_pack("{s:s}", "reason", "affiliationChanged"), &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(r, "reason"), "affiliationChanged");
    assert_string_equal(mc_testenv_jstr(r, "account"), "bob");
    json_decref(r);
    r = api_revoke(env, tboss, fu, json_pack("{s:i}", "reason", 5), &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(r, "reason"), "cessationOfOperation");
    assert_string_equal(mc_testenv_jstr(r, "account"), "");
    assert_int_equal(json_integer_value(json_object_get(r, "crl_number")), 2);
    json_decref(r);
    /* bob's web session made by password goes on; its binding is gone */
    json_t *me = mc_testenv_api(env, "GET", "/api/v1/me", tb, NULL, &st);
    assert_int_equal(st, 200);
    assert_true(json_is_null(json_object_get(me, "cert")));
    json_decref(me);
    /* the holder itself, with no reason: unspecified */
    r = api_revoke(env, ta, fa, json_pack("{}"), &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(r, "reason"), "unspecified");
    assert_int_equal(json_integer_value(json_object_get(r, "crl_number")), 3);
    json_decref(r);

    /* the CRL has the three, each with its reason; unspecified has none */
    char crl[300], out[16384];
    get_crl(env, "crl", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_int_equal(crl_number(out), 3);
    assert_non_null(strstr(out, "Affiliation Changed"));
    assert_non_null(strstr(out, "Cessation Of Operation"));
    int entries = 0, reasons = 0;
    for (const char *p = out; (p = strstr(p, "Serial Number:")) != NULL; p++)
        entries++;
    for (const char *p = out; (p = strstr(p, "X509v3 CRL Reason Code")) != NULL; p++)
        reasons++;
    assert_int_equal(entries, 3);
    assert_int_equal(reasons, 2);
    /* OCSP for the unspecified one: revoked, no reason given */
    ocsp_leaf(env, "alice", "", out, sizeof(out));
    assert_non_null(strstr(out, "cert.pem: revoked"));
    assert_null(strstr(out, "Reason:"));
    /* carol's is still good */
    ocsp_leaf(env, "carol", "", out, sizeof(out));
    assert_non_null(strstr(out, "cert.pem: good"));

    free(ta);
    free(tb);
    free(tboss);
    free(trival);
    mc_phone_free(pa);
    mc_phone_free(pb);
    mc_phone_free(pc);
    mc_testenv_stop(env);
}

/* An operator (the CA's own account) revokes any organisation's
 * certificate, privilegeWithdrawn included. */
static void an_operator_revokes_any_certificate(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    mc_testenv_org(env, MC_TEST_ORG2, "CA运营方");
    char fa[65], out[8192];
    mc_phone *pa = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", MC_ALG_P256, fa);
    mc_testenv_account(env, "op", MC_TEST_ORG2, "operator");
    char *top = mc_testenv_login(env, "op");
    int st;
    json_t *r = api_revoke(env, top, fa, json_pack("{s:s}", "reason", "privilegeWithdrawn"), &st);
    if (st != 200)
        fail_msg("operator revoke: %d %s", st, json_dumps(r, 0));
    assert_string_equal(mc_testenv_jstr(r, "reason"), "privilegeWithdrawn");
    json_decref(r);
    /* OpenSSL 3.0's OCSP printer has no name for 9 ("(UNKNOWN)"): the
     * response's DER says it, ENUMERATED 9 in the revokedInfo */
    char resp[300];
    snprintf(resp, sizeof(resp), "-respout %s/resp.der", env->dir);
    ocsp_leaf(env, "alice", resp, out, sizeof(out));
    assert_non_null(strstr(out, "cert.pem: revoked"));
    assert_int_equal(
        mc_testenv_sh_out(env, out, sizeof(out),
                          "f=%s/resp.der; off=$(openssl asn1parse -inform DER -in $f | grep "
                          "-m1 'OCTET STRING' | cut -d: -f1); openssl asn1parse -inform DER "
                          "-in $f -strparse $off",
                          env->dir),
        0);
    assert_non_null(strstr(out, "ENUMERATED        :09"));
    /* and the CRL's reasonCode */
    char crl[300];
    get_crl(env, "crl", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_non_null(strstr(out, "Privilege Withdrawn"));
    expect_revoke(env, top, fa, json_pack("{}"), 409, "cert_revoked");
    free(top);
    mc_phone_free(pa);
    mc_testenv_stop(env);
}

/* ---- bad requests ---- */

static void bad_reasons_and_paths_change_nothing(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fa[65];
    mc_phone *pa = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", MC_ALG_P256, fa);
    char *ta = mc_testenv_login(env, "alice");
    char before[41], after[41];
    mc_testenv_digest(env, before);
    /* 2 cACompromise, 6 certificateHold (no un-revoke), 7 unassigned,
     * 8 removeFromCRL, 10 aACompromise, out of range, wrong types */
    json_t *bad[] = {
        json_pack("{s:i}", "reason", 2),          json_pack("{s:i}", "reason", 6),
        json_pack("{s:s}", "reason", "certificateHold"), json_pack("{s:i}", "reason", 7),
        json_pack("{s:i}", "reason", 8),          json_pack("{s:i}", "reason", 10),
        json_pack("{s:i}", "reason", 11),         json_pack("{s:i}", "reason", -1),
        json_pack("{s:s}", "reason", "keycompromise"), json_pack("{s:s}", "reason", "01"),
        json_pack("{s:s}", "reason", ""),          json_pack("{s:b}", "reason", 1),
        json_pack("{s:f}", "reason", 1.0),        json_pack("{s:n}", "reason"),
        json_pack("{s:[i]}", "reason", 1),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_revoke(env, ta, fa, bad[i], 400, "bad_reason");
    expect_revoke(env, ta, fa, json_pack("{s:i, s:s}", "reason", 1, "why", "x"), 400,
                  "bad_field");
    /* fingerprints: malformed, unknown */
    expect_revoke(env, ta, "nothex", json_pack("{}"), 404, "not_found");
    expect_revoke(env, ta, "00", json_pack("{}"), 404, "not_found");
    char unknown[65];
    memset(unknown, 'a', 64);
    unknown[64] = '\0';
    expect_revoke(env, ta, unknown, json_pack("{}"), 404, "not_found");
    /* no body, wrong method */
    mc_testenv_reply rep;
    char path[160], auth[256];
    snprintf(path, sizeof(path), "/api/v1/certs/%s/revoke", fa);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ta);
    const char *h[] = {auth, NULL};
    mc_testenv_send(env->base, "POST", path, h, NULL, 5, &rep);
    assert_int_equal(rep.status, 400);
    assert_string_equal(rep.code, "bad_json");
    mc_testenv_reply_free(&rep);
    mc_testenv_send(env->base, "GET", path, h, NULL, 5, &rep);
    assert_int_equal(rep.status, 405);
    mc_testenv_reply_free(&rep);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);
    free(ta);
    mc_phone_free(pa);
    mc_testenv_stop(env);
}

/* ---- OCSP's hostile inputs ---- */

/* The status line `openssl ocsp -respin` prints for a response. */
static void ocsp_resp_status(mc_testenv *env, const mc_buf *resp, char *out, size_t size)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/resp.der", env->dir);
    mc_testenv_write_file(path, resp->ptr, resp->len);
    mc_testenv_sh_out(env, out, size, "openssl ocsp -respin %s -resp_text -noverify", path);
}

static void ocsp_answers_malformed_unknown_and_foreign_requests(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fa[65], out[8192], path[300];
    mc_phone *pa = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", MC_ALG_P256, fa);
    mc_buf resp = {0};
    char ct[96];

    /* garbage, an empty body, a truncated request: malformedRequest, 200 */
    static const uint8_t garbage[] = "this is not an OCSP request";
    assert_int_equal(http_raw(env, "POST", "/ca/ocsp", "application/ocsp-request", garbage,
                              sizeof(garbage) - 1, &resp, ct),
                     200);
    assert_string_equal(ct, "application/ocsp-response");
    ocsp_resp_status(env, &resp, out, sizeof(out));
    assert_non_null(strstr(out, "Responder Error: malformedrequest (1)"));
    assert_int_equal(resp.len, 5); /* 30 03 0a 01 01: the status alone */
    assert_int_equal(http_raw(env, "POST", "/ca/ocsp", "application/ocsp-request", NULL, 0,
                              &resp, ct),
                     200);
    ocsp_resp_status(env, &resp, out, sizeof(out));
    assert_non_null(strstr(out, "malformedrequest (1)"));

    /* a real request made by the tool (with a nonce), then hostile
     * variants of it */
    snprintf(path, sizeof(path), "%s/req.der", env->dir);
    assert_int_equal(
        mc_testenv_sh_out(env, out, sizeof(out),
                          "openssl ocsp -issuer %s/var/ca/ca.crt -cert %s/alice/cert.pem "
                          "-reqout %s",
                          env->dir, env->dir, path),
        0);
    uint8_t req[4096];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t rl = fread(req, 1, sizeof(req), f);
    fclose(f);
    assert_true(rl > 20);
    assert_int_equal(http_raw(env, "POST", "/ca/ocsp", "application/ocsp-request", req, rl - 1,
                              &resp, ct),
                     200);
    ocsp_resp_status(env, &resp, out, sizeof(out));
    assert_non_null(strstr(out, "malformedrequest (1)"));
    uint8_t longer[4097];
    memcpy(longer, req, rl);
    longer[rl] = 0;
    assert_int_equal(http_raw(env, "POST", "/ca/ocsp", "application/ocsp-request", longer,
                              rl + 1, &resp, ct),
                     200);
    ocsp_resp_status(env, &resp, out, sizeof(out));
    assert_non_null(strstr(out, "malformedrequest (1)")); /* trailing bytes */
    /* the same bytes as JSON, or too large: the dispatcher's own refusals */
    assert_int_equal(http_raw(env, "POST", "/ca/ocsp", "application/json", req, rl, &resp, ct),
                     415);
    static uint8_t big[8193];
    assert_int_equal(http_raw(env, "POST", "/ca/ocsp", "application/ocsp-request", big,
                              sizeof(big), &resp, ct),
                     413);
    assert_int_equal(http_raw(env, "GET", "/ca/ocsp", NULL, NULL, 0, &resp, ct), 405);
    /* the CRL takes no body (§0): refused before any CRL is read or built */
    assert_int_equal(http_raw(env, "GET", "/ca/crl", "application/ocsp-request", req, rl, &resp,
                              ct),
                     400);
    mc_buf_append(&resp, "", 1);
    assert_non_null(strstr((const char *)resp.ptr, "\"unexpected_body\""));
    assert_int_equal(http_raw(env, "GET", "/ca/crl", NULL, NULL, 0, &resp, ct), 200);
    assert_string_equal(ct, "application/pkix-crl");
    /* the real one is answered good */
    assert_int_equal(http_raw(env, "POST", "/ca/ocsp", "application/ocsp-request", req, rl,
                              &resp, ct),
                     200);
    ocsp_resp_status(env, &resp, out, sizeof(out));
    assert_non_null(strstr(out, "OCSP Response Status: successful (0x0)"));
    assert_non_null(strstr(out, "Cert Status: good"));
    assert_non_null(strstr(out, "OCSP Nonce"));

    /* a serial nobody was issued: unknown (the response still verifies) */
    assert_int_equal(
        mc_testenv_sh_out(env, out, sizeof(out),
                          "openssl ocsp -issuer %s/var/ca/ca.crt -serial 0x0123456789ABCDEF "
                          "-url %s/ca/ocsp -CAfile %s/var/ca/ca.crt",
                          env->dir, env->base, env->dir),
        0);
    assert_non_null(strstr(out, "Response verify OK"));
    assert_non_null(strstr(out, "0x0123456789ABCDEF: unknown"));
    /* CertIDs of another issuer (a CA this server is not) only:
     * unauthorized, even for the serial of one of ours; beside one of ours:
     * unknown (and the response cannot be verified for it by the tool: our
     * CA is not that issuer's responder) */
    assert_int_equal(mc_testenv_sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                                   "-nodes -keyout %s/other.key -out %s/other.crt -subj "
                                   "/CN=Other-CA -days 2 2>/dev/null",
                                   env->dir, env->dir),
                     0);
    char serial[64];
    leaf_serial(env, "alice", serial);
    assert_int_equal(
        mc_testenv_sh_out(env, out, sizeof(out),
                          "openssl ocsp -issuer %s/other.crt -serial 0x%s -url %s/ca/ocsp "
                          "-CAfile %s/var/ca/ca.crt",
                          env->dir, serial, env->base, env->dir),
        1);
    assert_non_null(strstr(out, "Responder Error: unauthorized (6)"));
    mc_testenv_sh_out(
        env, out, sizeof(out),
        "openssl ocsp -issuer %s/var/ca/ca.crt -cert %s/alice/cert.pem -issuer %s/other.crt "
        "-serial 0x%s -url %s/ca/ocsp -CAfile %s/var/ca/ca.crt -noverify",
        env->dir, env->dir, env->dir, serial, env->base, env->dir);
    assert_non_null(strstr(out, "cert.pem: good"));
    char want[96];
    snprintf(want, sizeof(want), "0x%s: unknown", serial);
    assert_non_null(strstr(out, want));
    /* several CertIDs in one request, answered in order; 17 is too many */
    char args[4096];
    size_t an = 0;
    for (int i = 0; i < 16; i++)
        an += (size_t)snprintf(args + an, sizeof(args) - an, " -serial 0x%s%02X",
                               i == 3 ? "" : "77", i == 3 ? 0 : i);
    assert_int_equal(
        mc_testenv_sh_out(env, out, sizeof(out),
                          "openssl ocsp -issuer %s/var/ca/ca.crt -cert %s/alice/cert.pem%s "
                          "-url %s/ca/ocsp -CAfile %s/var/ca/ca.crt",
                          env->dir, env->dir, args, env->base, env->dir),
        1); /* 17 CertIDs: the tool exits 1 on malformedRequest */
    assert_non_null(strstr(out, "malformedrequest (1)"));
    assert_int_equal(mc_testenv_sh_out(env, out, sizeof(out),
                                       "openssl ocsp -issuer %s/var/ca/ca.crt -serial 0x7701 -cert "
                                       "%s/alice/cert.pem -serial 0x7702 -url %s/ca/ocsp -CAfile "
                                       "%s/var/ca/ca.crt",
                                       env->dir, env->dir, env->base, env->dir),
                                0);
    const char *u1 = strstr(out, "0x7701: unknown");
    const char *g = strstr(out, "cert.pem: good");
    const char *u2 = strstr(out, "0x7702: unknown");
    assert_true(u1 != NULL && g != NULL && u2 != NULL && u1 < g && g < u2);

    mc_buf_free(&resp);
    mc_phone_free(pa);
    mc_testenv_stop(env);
}

/* ---- the CLI, and the CRL cache following revocations made elsewhere ---- */

static void mcertctl_revokes_by_serial_and_writes_the_crl(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fa[65], fb[65], out[16384], crl[300], serial[64];
    mc_phone *pa = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", MC_ALG_SM2, fa);
    mc_phone *pb = mc_testenv_bound_phone(env, "bob", MC_TEST_ORG, "staff", MC_ALG_P256, fb);
    leaf_serial(env, "alice", serial);

    /* the server caches its CRL ... */
    get_crl(env, "c0", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_int_equal(crl_number(out), 0);
    get_crl(env, "c0b", crl);

    /* usage errors change nothing */
    char before[41], after[41];
    mc_testenv_digest(env, before);
    assert_int_equal(mc_testenv_ctl(env, "revoke --serial %s --reason certificateHold "
                                         "2>/dev/null",
                                    serial),
                     2);
    assert_int_equal(mc_testenv_ctl(env, "revoke --serial %s --fp %s 2>/dev/null", serial, fa),
                     2);
    assert_int_equal(mc_testenv_ctl(env, "revoke --serial XYZ 2>/dev/null"), 2);
    assert_int_equal(mc_testenv_ctl(env, "revoke 2>/dev/null"), 2);
    assert_int_equal(mc_testenv_ctl(env, "revoke --serial 0DEADBEEF0 2>/dev/null"), 1);
    mc_testenv_digest(env, after);
    assert_string_equal(before, after);

    /* by serial (lower case, a leading zero octet: the same serial) */
    char lower[80];
    snprintf(lower, sizeof(lower), "00%s", serial);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out),
                                        "revoke --serial %s --reason superseded", lower),
                     0);
    assert_non_null(strstr(out, "revoked (superseded), CRL number 1"));
    /* ... and follows it at once */
    get_crl(env, "c1", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_int_equal(crl_number(out), 1);
    assert_non_null(strstr(out, serial));
    assert_non_null(strstr(out, "Superseded"));
    ocsp_leaf(env, "alice", "", out, sizeof(out));
    assert_non_null(strstr(out, "Reason: superseded"));

    /* the old verb still works: --fp, reason unspecified by default */
    assert_int_equal(mc_testenv_ctl(env, "revoke --fp %s >/dev/null", fb), 0);
    assert_int_equal(mc_testenv_ctl(env, "revoke --fp %s 2>/dev/null", fb), 1);
    /* mcertctl crl: the same CRL the server serves */
    char ctlcrl[300];
    snprintf(ctlcrl, sizeof(ctlcrl), "%s/ctl.crl", env->dir);
    assert_int_equal(mc_testenv_ctl(env, "crl --out %s 2>/dev/null", ctlcrl), 0);
    crl_text(env, ctlcrl, out, sizeof(out));
    assert_int_equal(crl_number(out), 2);
    int entries = 0;
    for (const char *p = out; (p = strstr(p, "Serial Number:")) != NULL; p++)
        entries++;
    assert_int_equal(entries, 2);
    get_crl(env, "c2", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_int_equal(crl_number(out), 2);
    /* on a second node too */
    const char *base2 = mc_testenv_second_node(env);
    assert_int_equal(
        mc_testenv_sh_out(env, out, sizeof(out),
                          "openssl ocsp -issuer %s/var/ca/ca.crt -cert %s/bob/cert.pem -url "
                          "%s/ca/ocsp -CAfile %s/var/ca/ca.crt",
                          env->dir, env->dir, base2, env->dir),
        0);
    assert_non_null(strstr(out, "cert.pem: revoked"));

    mc_phone_free(pa);
    mc_phone_free(pb);
    mc_testenv_stop(env);
}

/* RFC 5280 §3.3: an entry may leave the CRL once it has appeared on a CRL
 * issued after its certificate's validity: it is left out from a day after
 * notAfter; OCSP keeps answering revoked. (The records' notAfter is set
 * back directly: the CA issues no certificate already expired.) */
static void expired_entries_leave_the_crl_and_ocsp_still_says_revoked(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fold[65], fnew[65], sold[64], snew[64], crl[300], out[16384];
    unbound_cert(env, "gone", MC_TEST_ORG, fold);
    unbound_cert(env, "fresh", MC_TEST_ORG, fnew);
    leaf_serial(env, "gone", sold);
    leaf_serial(env, "fresh", snew);
    int64_t now = mc_testenv_redis_time(env);
    char key[96];
    snprintf(key, sizeof(key), "{mc}:cert:%s", fold);
    freeReplyObject(mc_testenv_redis(env, "HSET %s not_after %lld", key,
                                     (long long)(now - 2 * 86400)));
    snprintf(key, sizeof(key), "{mc}:cert:%s", fnew);
    freeReplyObject(mc_testenv_redis(env, "HSET %s not_after %lld", key,
                                     (long long)(now - 3600)));
    assert_int_equal(mc_testenv_ctl(env, "revoke --fp %s --reason keyCompromise >/dev/null", fold),
                     0);
    assert_int_equal(mc_testenv_ctl(env, "revoke --fp %s --reason keyCompromise >/dev/null", fnew),
                     0);
    get_crl(env, "pruned", crl);
    crl_text(env, crl, out, sizeof(out));
    assert_int_equal(crl_number(out), 2);
    assert_null(strstr(out, sold));    /* expired two days ago: left out */
    assert_non_null(strstr(out, snew)); /* an hour ago: still listed */
    /* mcertctl crl writes the same */
    char ctlcrl[320];
    snprintf(ctlcrl, sizeof(ctlcrl), "%s/ctl.der", env->dir);
    assert_int_equal(mc_testenv_ctl(env, "crl --out %s 2>/dev/null", ctlcrl), 0);
    crl_text(env, ctlcrl, out, sizeof(out));
    assert_null(strstr(out, sold));
    assert_non_null(strstr(out, snew));
    /* OCSP answers from the live records, not the CRL */
    ocsp_leaf(env, "gone", "", out, sizeof(out));
    assert_non_null(strstr(out, "cert.pem: revoked"));
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(revocation_shows_in_ocsp_and_the_crl_and_refuses_the_certificate),
        cmocka_unit_test(only_the_holder_its_admin_and_operators_revoke),
        cmocka_unit_test(an_operator_revokes_any_certificate),
        cmocka_unit_test(bad_reasons_and_paths_change_nothing),
        cmocka_unit_test(ocsp_answers_malformed_unknown_and_foreign_requests),
        cmocka_unit_test(mcertctl_revokes_by_serial_and_writes_the_crl),
        cmocka_unit_test(expired_entries_leave_the_crl_and_ocsp_still_says_revoked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
