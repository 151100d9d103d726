/*
 * test_sign.c — signing bid documents end to end (PROTOCOL.md §8) against a
 * real redis-server and the real mcertd, with the reference phone library,
 * for SM2 and P-256 device keys:
 *
 *   the platform's API key (made by the real mcertctl) opens a request
 *   with 3 documents -> the phone finds it in its inbox (no QR) -> fetches
 *   the documents, approves -> the platform collects one CMS SignedData per
 *   document with its key -> each is checked by a path that is NOT mc_cms.c:
 *   P-256 by the `openssl cms -verify` command-line tool; SM2 by OpenSSL's
 *   own CMS parser and EVP with the GM/T 0009 ID, over the DER signed
 *   attributes -> POST /api/v1/verify and `mcertctl verify` agree, and say
 *   "revoked later" once the certificate is revoked.
 *
 * Also: a holder's own request from the web (token) with the QR path; the
 * history; a rejection; the API key's rules (scope, organisation, revoked,
 * rate limit); the inbox's replay and freshness rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mc_cms.h"
#include "mc_crypto.h"
#include "mc_testhelp.h"

/* ---- helpers ---- */

/* The digest of bytes with the certificate's algorithm, as hex. */
static void digest_hex(mc_alg alg, const void *p, size_t n, char hex[65], uint8_t raw[32])
{
    if (alg == MC_ALG_SM2)
        mc_sm3(p, n, raw);
    else
        mc_sha256(p, n, raw);
    mc_hex(raw, 32, hex);
}

typedef struct doc {
    char name[64];
    char path[300];
    uint8_t bytes[3000];
    size_t len;
    char hex[65];
    uint8_t raw[32];
} doc;

/* Three documents with different bytes, written to files under the env. */
static void make_docs(mc_testenv *env, mc_alg alg, doc d[3])
{
    static const char *const names[3] = {"投标文件-商务标.pdf", "技术标 第2册.pdf", "报价单.xlsx"};
    for (int i = 0; i < 3; i++) {
        snprintf(d[i].name, sizeof(d[i].name), "%s", names[i]);
        d[i].len = 1000 + (size_t)i * 700;
        for (size_t k = 0; k < d[i].len; k++)
            d[i].bytes[k] = (uint8_t)(k * 31 + (size_t)i * 7);
        snprintf(d[i].path, sizeof(d[i].path), "%s/doc%d.bin", env->dir, i);
        FILE *f = fopen(d[i].path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(d[i].bytes, 1, d[i].len, f), d[i].len);
        fclose(f);
        digest_hex(alg, d[i].bytes, d[i].len, d[i].hex, d[i].raw);
    }
}

static json_t *docs_json(const doc *d, size_t n, mc_alg alg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:s}", "name", d[i].name, "size",
                                           (int)d[i].len, "alg",
                                           alg == MC_ALG_SM2 ? "sm3" : "sha256", "digest",
                                           d[i].hex));
    return a;
}

/* The SM2 check that does not use mc_cms.c: OpenSSL's CMS parser gives the
 * signer info; its signed attributes re-encoded as a SET OF (DER) are what
 * was signed, with SM3 and the ID 1234567812345678, by the certificate's
 * key. Also: the messageDigest attribute is the document's digest. */
static int sm2_independent_check(const uint8_t *der, size_t len, const uint8_t digest[32])
{
    const unsigned char *p = der;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (ci == NULL)
        return -1;
    int ok = 0;
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(ci);
    STACK_OF(X509) *certs = CMS_get1_certs(ci);
    if (sk_CMS_SignerInfo_num(sis) == 1 && sk_X509_num(certs) >= 1) {
        CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
        X509 *signer = NULL;
        for (int i = 0; i < sk_X509_num(certs); i++)
            if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
                signer = sk_X509_value(certs, i);
        ASN1_OCTET_STRING *md = CMS_signed_get0_data_by_OBJ(
            si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING);
        int md_ok = CMS_signed_get_attr_count(si) == 3 && md != NULL &&
                    ASN1_STRING_length(md) == 32 &&
                    memcmp(ASN1_STRING_get0_data(md), digest, 32) == 0;
        /* the signed attributes as signed: the [0] IMPLICIT field of the
         * SignerInfo, found in the DER and retagged as a SET (0x31) */
        unsigned char *sidder = NULL;
        int slen = i2d_CMS_ContentInfo(ci, &sidder);
        /* find "a0 69" (the [0] IMPLICIT SET of 105 bytes) in the DER */
        const unsigned char *at = NULL;
        for (int i = 0; sidder != NULL && i + 107 <= slen; i++)
            if (sidder[i] == 0xa0 && sidder[i + 1] == 0x69 && sidder[i + 2] == 0x30) {
                at = sidder + i;
                break;
            }
        ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
        if (signer != NULL && md_ok && at != NULL && sig != NULL) {
            unsigned char set[107];
            memcpy(set, at, 107);
            set[0] = 0x31;
            EVP_MD_CTX *m = EVP_MD_CTX_new();
            EVP_PKEY_CTX *pctx = NULL;
            ok = EVP_DigestVerifyInit(m, &pctx, EVP_sm3(), NULL, X509_get0_pubkey(signer)) ==
                     1 &&
                 EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16) == 1 &&
                 EVP_DigestVerify(m, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
                                  set, sizeof(set)) == 1;
            EVP_MD_CTX_free(m);
        }
        OPENSSL_free(sidder);
    }
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(ci);
    return ok ? 0 : -1;
}

/* ---- the whole flow ---- */

static void platform_flow(mc_alg alg)
{
    mc_testenv *env = mc_testenv_start(0);
    char fp[65];
    mc_phone *ph = mc_testenv_bound_phone(env, "alice", MC_TEST_ORG, "staff", alg, fp);
    char key[80], kid[20];
    mc_testenv_apikey(env, MC_TEST_ORG, "sign,verify", key, kid);
    doc d[3];
    make_docs(env, alg, d);

    /* the platform asks */
    int st;
    json_t *body = json_pack("{s:s, s:o, s:s, s:i}", "account", "alice", "documents",
                             docs_json(d, 3, alg), "text", "项目编号 ZCY-2026-0815 第1标段",
                             "ttl", 600);
    json_t *open =
        mc_testenv_api_apikey(env, "POST", "/api/v1/sign-requests?qr=none", key, body, &st);
    if (st != 201)
        fail_msg("open: %d %s", st, json_dumps(open, 0));
    char sid[MC_SID_LEN + 1];
    snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(open, "sid"));
    int match = (int)json_integer_value(json_object_get(open, "match"));
    int64_t signing_time = json_integer_value(json_object_get(open, "signing_time"));
    assert_int_equal(json_integer_value(json_object_get(open, "ttl")), 600);
    assert_int_equal(json_integer_value(json_object_get(open, "documents")), 3);
    assert_string_equal(mc_testenv_jstr(open, "purpose"), "sign");
    json_decref(open);

    /* the phone finds it in its inbox, with the match number */
    mc_inbox_entry entries[8];
    size_t n = 0;
    int64_t now = 0;
    mc_phone_err pe;
    if (mc_phone_inbox(ph, env->base, entries, 8, &n, &now, NULL, &pe) != 0)
        fail_msg("inbox: %s %s", pe.code, pe.msg);
    const mc_inbox_entry *e = mc_phone_inbox_find(entries, n, sid);
    assert_non_null(e);
    assert_int_equal(e->match, match);
    assert_int_equal(e->documents, 3);
    assert_string_equal(e->requester_name, "政采云电子交易平台");
    assert_string_equal(e->text, "项目编号 ZCY-2026-0815 第1标段");

    /* the documents as the phone shows them */
    mc_session_view v;
    mc_sign_info si;
    memset(&v, 0, sizeof(v));
    if (mc_phone_fetch_any(env->base, sid, &v, &si, &pe) != 0)
        fail_msg("fetch: %s %s", pe.code, pe.msg);
    assert_int_equal(v.s.purpose, MC_PURPOSE_SIGN);
    assert_string_equal(v.s.account, "alice");
    assert_string_equal(v.s.requester, "");
    assert_string_equal(v.requester_name, "政采云电子交易平台");
    assert_int_equal(si.ndocs, 3);
    assert_int_equal(si.signing_time, signing_time);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(si.docs[i].name, d[i].name);
        assert_int_equal(si.docs[i].size, d[i].len);
        assert_memory_equal(si.docs[i].digest, d[i].raw, 32);
    }

    /* nobody but the key that opened it collects: not another key */
    char key2[80], kid2[20];
    mc_testenv_apikey(env, MC_TEST_ORG, "sign", key2, kid2);
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/sign-requests/%s", sid);
    json_t *p = mc_testenv_api_apikey(env, "GET", path, key2, NULL, &st);
    assert_int_equal(st, 403);
    assert_string_equal(mc_testenv_jstr(p, "code"), "bad_poll_secret");
    json_decref(p);

    /* approve; the answer is idempotent */
    mc_phone_result res;
    if (mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match, NULL, &res,
                         &pe) != 0)
        fail_msg("respond: %s %s", pe.code, pe.msg);
    assert_string_equal(res.state, "approved");
    assert_string_equal(res.account, "alice");

    /* it left the inbox */
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 8, &n, &now, NULL, &pe), 0);
    assert_null(mc_phone_inbox_find(entries, n, sid));

    /* the platform collects with its key */
    p = mc_testenv_api_apikey(env, "GET", path, key, NULL, &st);
    if (st != 200)
        fail_msg("collect: %d %s", st, json_dumps(p, 0));
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    assert_int_equal(json_integer_value(json_object_get(p, "signing_time")), signing_time);
    json_t *docs = json_object_get(p, "documents");
    assert_int_equal(json_array_size(docs), 3);
    char ca[300];
    snprintf(ca, sizeof(ca), "%s/var/ca/ca.crt", env->dir);
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get(docs, i);
        assert_string_equal(mc_testenv_jstr(o, "name"), d[i].name);
        assert_string_equal(mc_testenv_jstr(o, "digest"), d[i].hex);
        const char *b64 = mc_testenv_jstr(o, "cms");
        uint8_t der[8192];
        int dl = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
        assert_true(dl > 100);
        dl -= (b64[strlen(b64) - 1] == '=') + (b64[strlen(b64) - 2] == '=');
        {
            /* the phone sent its chain with the CA; the anchor is not
             * carried: the signer's certificate alone */
            const unsigned char *q = der;
            CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &q, dl);
            assert_non_null(ci);
            STACK_OF(X509) *cs = CMS_get1_certs(ci);
            assert_int_equal(sk_X509_num(cs), 1);
            sk_X509_pop_free(cs, X509_free);
            CMS_ContentInfo_free(ci);
        }
        char p7s[320];
        snprintf(p7s, sizeof(p7s), "%s/doc%zu.p7s", env->dir, i);
        FILE *f = fopen(p7s, "wb");
        assert_non_null(f);
        fwrite(der, 1, (size_t)dl, f);
        fclose(f);
        if (alg == MC_ALG_P256) {
            /* the real openssl tool: good for its document, bad for another */
            assert_int_equal(mc_testenv_sh("openssl cms -verify -binary -inform DER -in %s "
                                           "-content %s -CAfile %s -purpose any -out /dev/null "
                                           "2>/dev/null",
                                           p7s, d[i].path, ca),
                             0);
            assert_true(mc_testenv_sh("openssl cms -verify -binary -inform DER -in %s "
                                      "-content %s -CAfile %s -purpose any -out /dev/null "
                                      "2>/dev/null",
                                      p7s, d[(i + 1) % 3].path, ca) != 0);
        } else {
            assert_int_equal(sm2_independent_check(der, (size_t)dl, d[i].raw), 0);
            assert_int_equal(sm2_independent_check(der, (size_t)dl, d[(i + 1) % 3].raw), -1);
        }
        /* mcertctl verify says valid for its document, invalid for another */
        char args[800], out[2048];
        snprintf(args, sizeof(args), "verify --cms %s --file %s", p7s, d[i].path);
        if (mc_testenv_ctl_out(env, out, sizeof(out), "%s", args) != 0)
            fail_msg("mcertctl verify: %s", out);
        assert_non_null(strstr(out, "VALID"));
        snprintf(args, sizeof(args), "verify --cms %s --file %s", p7s, d[(i + 1) % 3].path);
        assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "%s", args), 1);
        assert_non_null(strstr(out, "INVALID (digest_mismatch)"));
    }

    /* POST /api/v1/verify: valid; a changed digest is digest_mismatch */
    const char *cms0 = mc_testenv_jstr(json_array_get(docs, 0), "cms");
    json_t *vr =
        mc_testenv_api_apikey(env, "POST", "/api/v1/verify", key,
                              json_pack("{s:s, s:s}", "cms", cms0, "digest", d[0].hex), &st);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(vr, "valid")));
    assert_string_equal(mc_testenv_jstr(json_object_get(vr, "signer"), "fp"), fp);
    assert_string_equal(mc_testenv_jstr(vr, "status_now"), "valid");
    assert_int_equal(json_integer_value(json_object_get(vr, "signing_time")), signing_time);
    json_decref(vr);
    vr = mc_testenv_api_apikey(env, "POST", "/api/v1/verify", key,
                               json_pack("{s:s, s:s}", "cms", cms0, "digest", d[1].hex), &st);
    assert_int_equal(st, 200);
    assert_false(json_is_true(json_object_get(vr, "valid")));
    assert_string_equal(mc_testenv_jstr(vr, "reason"), "digest_mismatch");
    json_decref(vr);
    /* with the document itself */
    char *b64doc = mc_base64(d[0].bytes, d[0].len);
    vr = mc_testenv_api_apikey(env, "POST", "/api/v1/verify", key,
                               json_pack("{s:s, s:s}", "cms", cms0, "document", b64doc), &st);
    free(b64doc);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(vr, "valid")));
    json_decref(vr);

    /* revoked after signing: the signature stays valid, the status says so */
    sleep(1); /* the revocation comes strictly after the signing time */
    char rev[128];
    snprintf(rev, sizeof(rev), "revoke --fp %s >/dev/null", fp);
    assert_int_equal(mc_testenv_ctl(env, "%s", rev), 0);
    vr = mc_testenv_api_apikey(env, "POST", "/api/v1/verify", key,
                               json_pack("{s:s, s:s}", "cms", cms0, "digest", d[0].hex), &st);
    assert_int_equal(st, 200);
    assert_true(json_is_true(json_object_get(vr, "valid")));
    assert_string_equal(mc_testenv_jstr(vr, "status_now"), "revoked");
    assert_string_equal(mc_testenv_jstr(vr, "status_at_signing"), "valid");
    json_decref(vr);
    /* and the revoked phone's inbox gets nothing */
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 8, &n, &now, NULL, &pe), -1);
    assert_string_equal(pe.code, "not_bound"); /* revocation unbinds */

    json_decref(p);
    /* the audit names every step */
    redisReply *au = mc_testenv_redis(env, "XRANGE {mc}:audit - +");
    int seen_req = 0, seen_ok = 0, seen_col = 0;
    for (size_t i = 0; i < au->elements; i++) {
        redisReply *f = au->element[i]->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            if (strcmp(f->element[k]->str, "what") == 0) {
                seen_req += strcmp(f->element[k + 1]->str, "sign_request") == 0;
                seen_ok += strcmp(f->element[k + 1]->str, "sign_approve") == 0;
                seen_col += strcmp(f->element[k + 1]->str, "sign_collect") == 0;
            }
    }
    freeReplyObject(au);
    assert_int_equal(seen_req, 1);
    assert_int_equal(seen_ok, 1);
    assert_true(seen_col >= 1);

    mc_phone_free(ph);
    mc_testenv_stop(env);
}

static void platform_signs_three_documents_p256(void **state)
{
    (void)state;
    platform_flow(MC_ALG_P256);
}

static void platform_signs_three_documents_sm2(void **state)
{
    (void)state;
    platform_flow(MC_ALG_SM2);
}

/* A holder at the computer: its own request with the web token, the QR
 * path (the number picked from the choices), the poll secret collects;
 * then a rejection; the history shows both. */
static void holder_signs_from_the_web_and_sees_the_history(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65];
    mc_phone *ph = mc_testenv_bound_phone(env, "bob", MC_TEST_ORG, "staff", MC_ALG_P256, fp);
    char *tok = mc_testenv_login(env, "bob");
    doc d[3];
    make_docs(env, MC_ALG_P256, d);
    int st;
    json_t *open = mc_testenv_api(env, "POST", "/api/v1/sign-requests", tok,
                                  json_pack("{s:o}", "documents", docs_json(d, 1, MC_ALG_P256)),
                                  &st);
    if (st != 201)
        fail_msg("open: %d %s", st, json_dumps(open, 0));
    assert_string_equal(mc_testenv_jstr(open, "account"), "bob");
    assert_int_equal(json_integer_value(json_object_get(open, "ttl")), 300);
    char sid[MC_SID_LEN + 1], poll[64];
    snprintf(sid, sizeof(sid), "%s", mc_testenv_jstr(open, "sid"));
    snprintf(poll, sizeof(poll), "%s", mc_testenv_jstr(open, "poll_secret"));
    int match = (int)json_integer_value(json_object_get(open, "match"));
    /* the QR is drawn, and carries no secret */
    json_t *qr = json_object_get(open, "qr");
    assert_non_null(strstr(mc_testenv_jstr(qr, "svg"), "<svg"));
    assert_null(strstr(mc_testenv_jstr(qr, "payload"), poll));
    json_decref(open);

    mc_session_view v;
    mc_sign_info si;
    mc_phone_err pe;
    memset(&v, 0, sizeof(v));
    assert_int_equal(mc_phone_fetch_any(env->base, sid, &v, &si, &pe), 0);
    assert_string_equal(v.s.requester, "bob");
    assert_true(mc_phone_number_ok(&v, (uint32_t)match));
    json_t *p = mc_testenv_poll(env, sid, poll, "pending", 2, &st);
    assert_string_equal(mc_testenv_jstr(p, "state"), "scanned");
    assert_int_equal(json_integer_value(json_object_get(p, "documents")), 1);
    json_decref(p);
    mc_phone_result res;
    assert_int_equal(mc_phone_respond(ph, env->base, &v, MC_PHONE_APPROVE, (uint32_t)match,
                                      NULL, &res, &pe), 0);
    p = mc_testenv_poll(env, sid, poll, NULL, 0, &st);
    assert_int_equal(st, 200);
    assert_string_equal(mc_testenv_jstr(p, "state"), "approved");
    json_t *docs = json_object_get(p, "documents");
    assert_int_equal(json_array_size(docs), 1);
    assert_true(strlen(mc_testenv_jstr(json_array_get(docs, 0), "cms")) > 100);
    json_decref(p);
    /* the holder verifies with its token */
    json_t *vr = mc_testenv_api(env, "POST", "/api/v1/verify", tok, NULL, &st);
    assert_int_equal(st, 400); /* no body */
    json_decref(vr);

    /* a second request, rejected on the phone */
    open = mc_testenv_api(env, "POST", "/api/v1/sign-requests?qr=none", tok,
                          json_pack("{s:s, s:o, s:s}", "account", "bob", "documents",
                                    docs_json(d + 1, 2, MC_ALG_P256), "text", "拒绝我"),
                          &st);
    assert_int_equal(st, 201);
    char sid2[MC_SID_LEN + 1], poll2[64];
    snprintf(sid2, sizeof(sid2), "%s", mc_testenv_jstr(open, "sid"));
    snprintf(poll2, sizeof(poll2), "%s", mc_testenv_jstr(open, "poll_secret"));
    json_decref(open);
    memset(&v, 0, sizeof(v));
    assert_int_equal(mc_phone_fetch_any(env->base, sid2, &v, &si, &pe), 0);
    assert_int_equal(mc_phone_respond(ph, env->base, &v, MC_PHONE_REJECT, 0, NULL, &res, &pe),
                     0);
    assert_string_equal(res.state, "rejected");
    p = mc_testenv_poll(env, sid2, poll2, NULL, 0, &st);
    assert_string_equal(mc_testenv_jstr(p, "state"), "rejected");
    assert_true(json_is_integer(json_object_get(p, "documents"))); /* no signatures */
    json_decref(p);

    /* the history: newest first */
    json_t *h = mc_testenv_api(env, "GET", "/api/v1/sign-requests", tok, NULL, &st);
    assert_int_equal(st, 200);
    json_t *reqs = json_object_get(h, "requests");
    assert_int_equal(json_array_size(reqs), 2);
    assert_string_equal(mc_testenv_jstr(json_array_get(reqs, 0), "sid"), sid2);
    assert_string_equal(mc_testenv_jstr(json_array_get(reqs, 0), "state"), "rejected");
    assert_string_equal(mc_testenv_jstr(json_array_get(reqs, 0), "text"), "拒绝我");
    assert_string_equal(mc_testenv_jstr(json_array_get(reqs, 1), "state"), "approved");
    assert_int_equal(json_array_size(json_object_get(json_array_get(reqs, 1), "documents")), 1);
    json_decref(h);

    /* a holder asks only for itself */
    mc_testenv_account(env, "carol", MC_TEST_ORG, "staff");
    open = mc_testenv_api(env, "POST", "/api/v1/sign-requests", tok,
                          json_pack("{s:s, s:o}", "account", "carol", "documents",
                                    docs_json(d, 1, MC_ALG_P256)),
                          &st);
    assert_int_equal(st, 403);
    assert_string_equal(mc_testenv_jstr(open, "code"), "not_permitted");
    json_decref(open);
    free(tok);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* The API key's rules, each refusal storing nothing. */
static void api_keys_are_scoped_to_their_organisation_and_can_be_revoked(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65];
    mc_phone *ph = mc_testenv_bound_phone(env, "dave", MC_TEST_ORG, "staff", MC_ALG_SM2, fp);
    mc_testenv_org(env, MC_TEST_ORG2, "另一家公司");
    mc_testenv_account(env, "erin", MC_TEST_ORG, "staff"); /* no certificate */
    char kv[80], idv[20], ko[80], ido[20], ks[80], ids[20];
    mc_testenv_apikey(env, MC_TEST_ORG, "verify", kv, idv);
    mc_testenv_apikey(env, MC_TEST_ORG2, "sign", ko, ido);
    mc_testenv_apikey(env, MC_TEST_ORG, "sign", ks, ids);
    doc d[3];
    make_docs(env, MC_ALG_SM2, d);
    struct {
        const char *key;
        const char *account;
        const char *alg;
        int status;
        const char *code;
    } cases[] = {
        {kv, "dave", "sm3", 403, "not_permitted"},      /* no sign scope */
        {ko, "dave", "sm3", 403, "not_permitted"},      /* another organisation */
        {ks, "erin", "sm3", 404, "not_bound"},          /* no certificate */
        {ks, "nobody", "sm3", 404, "not_found"},        /* no such account */
        {ks, "dave", "sha256", 409, "alg_mismatch"},    /* SM2 certificate signs SM3 */
        {"mcak.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "dave", "sm3", 401,
         "unauthorized"},
        {"mcak.not-a-key", "dave", "sm3", 401, "unauthorized"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long keys0 = mc_testenv_redis_int(env, "DBSIZE");
        long long audit0 = mc_testenv_redis_int(env, "XLEN {mc}:audit");
        json_t *docs = json_array();
        json_array_append_new(docs, json_pack("{s:s, s:i, s:s, s:s}", "name", "a.pdf", "size", 1,
                                              "alg", cases[i].alg, "digest", d[0].hex));
        int st;
        json_t *r = mc_testenv_api_apikey(
            env, "POST", "/api/v1/sign-requests", cases[i].key,
            json_pack("{s:s, s:o}", "account", cases[i].account, "documents", docs), &st);
        if (st != cases[i].status || strcmp(mc_testenv_jstr(r, "code"), cases[i].code) != 0)
            fail_msg("case %zu: want %d %s, got %d %s", i, cases[i].status, cases[i].code, st,
                     json_dumps(r, 0));
        json_decref(r);
        /* nothing stored: no new key (the key's call counter of this
         * minute exists from the first call on), no audit entry */
        long long keys1 = mc_testenv_redis_int(env, "DBSIZE");
        assert_true(keys1 == keys0 || (keys1 == keys0 + 1 && i <= 4));
        assert_int_equal(mc_testenv_redis_int(env, "XLEN {mc}:audit"), audit0);
        redisReply *sk = mc_testenv_redis(env, "KEYS {mc}:inbox*");
        assert_int_equal(sk->elements, 0);
        freeReplyObject(sk);
    }
    /* revoked: refused at once */
    char args[80], out[512];
    snprintf(args, sizeof(args), "apikey revoke --id %s", ids);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "%s", args), 0);
    assert_int_equal(mc_testenv_ctl_out(env, out, sizeof(out), "apikey list"), 0);
    assert_non_null(strstr(out, "revoked"));
    int st;
    json_t *r = mc_testenv_api_apikey(env, "GET", "/api/v1/sign-requests/0123456789ABCDEFGHJK", ks,
                                      NULL, &st);
    assert_int_equal(st, 401);
    json_decref(r);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

/* A key over its calls per minute gets 429 with Retry-After. */
static void an_api_key_over_its_rate_is_429(void **state)
{
    (void)state;
    static const char *const args[] = {"--limit-apikey", "3", NULL};
    mc_testenv_opts o = {.mcertd_args = args};
    mc_testenv *env = mc_testenv_start_opts(&o);
    char key[80], id[20];
    mc_testenv_apikey(env, MC_TEST_ORG, "verify", key, id);
    char auth[120];
    snprintf(auth, sizeof(auth), "Authorization: ApiKey %s", key);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    for (int i = 0; i < 4; i++) {
        mc_testenv_reply rep;
        mc_testenv_send(env->base, "POST", "/api/v1/verify", h, "{\"cms\":\"AAAA\"}", 5, &rep);
        if (i < 3) {
            assert_int_equal(rep.status, 400);
        } else {
            assert_int_equal(rep.status, 429);
            assert_string_equal(rep.code, "too_many_requests");
            assert_true(atoi(rep.retry_after) >= 1);
        }
        mc_testenv_reply_free(&rep);
    }
    mc_testenv_stop(env);
}

/* The inbox: fresh, signed, never twice. */
static void the_inbox_refuses_replays_stale_times_and_foreign_keys(void **state)
{
    (void)state;
    mc_testenv *env = mc_testenv_start(0);
    char fp[65];
    mc_phone *ph = mc_testenv_bound_phone(env, "frank", MC_TEST_ORG, "staff", MC_ALG_P256, fp);
    mc_inbox_entry entries[4];
    size_t n;
    int64_t now;
    mc_phone_err pe;
    uint8_t nonce[MC_INBOX_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    mc_phone_overrides ov = {.inbox_nonce = nonce};
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 4, &n, &now, &ov, &pe), 0);
    assert_int_equal(n, 0);
    /* the same nonce again: a replay */
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 4, &n, &now, &ov, &pe), -1);
    assert_int_equal(pe.status, 409);
    assert_string_equal(pe.code, "replayed");
    /* ten minutes off */
    mc_phone_overrides skew = {.inbox_ts_skew = -600};
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 4, &n, &now, &skew, &pe), -1);
    assert_string_equal(pe.code, "stale_request");
    /* a bad signature */
    mc_phone_overrides bad = {.corrupt_inbox_sig = 1};
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 4, &n, &now, &bad, &pe), -1);
    assert_string_equal(pe.code, "bad_signature");
    /* signed for another server */
    mc_phone_overrides other = {.inbox_tbs_base = "http://evil.example"};
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 4, &n, &now, &other, &pe), -1);
    assert_string_equal(pe.code, "bad_signature");
    /* another key claiming this certificate */
    mc_err err;
    EVP_PKEY *k = mc_keygen(MC_ALG_P256, &err);
    mc_phone_overrides foreign = {.sign_key = k};
    assert_int_equal(mc_phone_inbox(ph, env->base, entries, 4, &n, &now, &foreign, &pe), -1);
    assert_string_equal(pe.code, "bad_signature");
    EVP_PKEY_free(k);
    /* an unbound certificate's phone gets nothing */
    mc_phone *stranger = mc_testenv_phone(env, "stranger", MC_ALG_P256, MC_TEST_ORG);
    assert_int_equal(mc_phone_inbox(stranger, env->base, entries, 4, &n, &now, NULL, &pe), -1);
    assert_string_equal(pe.code, "not_bound");
    mc_phone_free(stranger);
    mc_phone_free(ph);
    mc_testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(platform_signs_three_documents_p256),
        cmocka_unit_test(platform_signs_three_documents_sm2),
        cmocka_unit_test(holder_signs_from_the_web_and_sees_the_history),
        cmocka_unit_test(api_keys_are_scoped_to_their_organisation_and_can_be_revoked),
        cmocka_unit_test(an_api_key_over_its_rate_is_429),
        cmocka_unit_test(the_inbox_refuses_replays_stale_times_and_foreign_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
