/*
 * test_phone.c — the reference phone (tests/phone/) without mcertd.
 *
 * What is proved here: the key store (SM2 and P-256 CSRs verify, the key is
 * encrypted under the PIN, a wrong PIN is "bad_pin" while a corrupt,
 * truncated, unencrypted or foreign store file is "bad_store", import refuses
 * a certificate for another key, garbage PEM/DER and too many certificates),
 * that what the phone signs is exactly the TBS rebuilt from the session view
 * and verifies with the leaf key, that each override lies in one place only,
 * the HTTP client (status, body, headers, methods, binary bodies, a deadline
 * against a server that never answers, connection refused, bad input; the
 * keep-alive client reuses its connection and recovers from a timeout), and
 * the protocol round trip against a tiny in-test evhttp server that speaks
 * the phone API — and lies in it (truncated, oversized, wrong-type msgpack,
 * another session's view, a result that is not one). A QR PNG drawn by
 * mc_qr is read back with the real decoder (zbarimg). Signing (§8): a sign
 * answer signs the 13-element TBS and each document's CMS signed
 * attributes (SM2 and P-256), each sign lie changes one thing only, the
 * inbox query is signed over the inbox TBS (and its lies), and a sign
 * view, the inbox and the answer round-trip through the in-test server.
 *
 * The in-test server runs its own event_base in a thread; it is stopped by
 * an atomic flag polled by a 20 ms timer (no libevent_pthreads needed).
 */
#define _GNU_SOURCE /* nftw */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mc_cms.h"
#include "mc_http.h"
#include "mc_phone.h"
#include "mc_qr.h"
#include "mc_testhelp.h"

#define PIN "246810"
#define USCC "91350100M000100Y43"
#define OTHER_USCC "91110000600037341L"
#define ORIGIN "http://127.0.0.1:8080"

/* ------------------------------------------------------------------ */
/* fixture: a temporary directory and a P-256 CA                       */

typedef struct fx {
    char root[64];
    mc_ca *ca;
} fx;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    mc_err e = {0};
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/test_phone.XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->ca = mc_ca_create(MC_ALG_P256, "Test Mobile CA", 30, &e);
    assert_non_null(f->ca);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    mc_ca_free(f->ca);
    free(f);
    return 0;
}

static void store_dir(const fx *f, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", f->root, name);
}

static X509_REQ *read_csr(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, MC_PHONE_CSR_FILE);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    X509_REQ *req = PEM_read_X509_REQ(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(req);
    return req;
}

/* Issue a leaf for the store's CSR; returns it as PEM in out. */
static X509 *issue_for(fx *f, const char *dir, mc_buf *pem_out)
{
    char path[256];
    mc_buf csr = {0};
    mc_err e = {0};
    snprintf(path, sizeof(path), "%s/%s", dir, MC_PHONE_CSR_FILE);
    mc_testenv_read_file(path, &csr);
    X509 *x = mc_ca_issue(f->ca, csr.ptr, csr.len, 30, &e);
    if (x == NULL)
        fail_msg("mc_ca_issue: %s: %s", e.code, e.msg);
    mc_buf_free(&csr);
    if (pem_out != NULL) {
        BIO *b = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_X509(b, x), 1);
        char *p;
        long n = BIO_get_mem_data(b, &p);
        mc_buf_append(pem_out, p, (size_t)n);
        BIO_free(b);
    }
    return x;
}

/* A ready phone: store initialised, certificate issued and imported. */
static mc_phone *make_phone(fx *f, const char *name, mc_alg alg)
{
    char dir[128];
    mc_phone_err pe;
    mc_buf pem = {0};
    store_dir(f, name, dir, sizeof(dir));
    assert_int_equal(mc_phone_init(dir, alg, PIN, "Zhang San", "Example Co.", USCC, &pe), 0);
    X509_free(issue_for(f, dir, &pem));
    if (mc_phone_import(dir, pem.ptr, pem.len, &pe) != 0)
        fail_msg("import: %s: %s", pe.code, pe.msg);
    mc_buf_free(&pem);
    mc_phone *p = mc_phone_open(dir, PIN, &pe);
    if (p == NULL)
        fail_msg("open: %s: %s", pe.code, pe.msg);
    return p;
}

static void make_view(mc_session_view *v, mc_purpose purpose)
{
    memset(v, 0, sizeof(*v));
    mc_session_init(&v->s, purpose, (int64_t)time(NULL), 120);
    snprintf(v->s.origin, sizeof(v->s.origin), "%s", ORIGIN);
    snprintf(v->s.account, sizeof(v->s.account), "%s",
             purpose == MC_PURPOSE_BIND ? "alice" : "");
    snprintf(v->s.requester, sizeof(v->s.requester), "admin");
    snprintf(v->s.ip, sizeof(v->s.ip), "127.0.0.1");
    snprintf(v->s.ua, sizeof(v->s.ua), "TestBrowser/1.0");
    snprintf(v->requester_name, sizeof(v->requester_name), "Li Si");
    snprintf(v->org_name, sizeof(v->org_name), "Example Co.");
}

/* The TBS as the server would rebuild it from its session and the sent leaf. */
static void expected_tbs(const mc_session_view *v, const mc_slice *leaf, uint32_t number,
                         const char *decision, mc_buf *out)
{
    uint8_t fp[32];
    assert_int_equal(mc_cert_fingerprint(leaf->ptr, leaf->len, fp), 0);
    mc_tbs t = {
        .purpose = mc_purpose_name(v->s.purpose), .sid = v->s.sid, .nonce = v->s.nonce,
        .origin = v->s.origin, .account = v->s.account, .expires = v->s.expires,
        .cert_fp = fp, .number = number, .decision = decision,
        .sign = v->s.purpose == MC_PURPOSE_SIGN ? v->sign : NULL,
    };
    mc_tbs_encode(&t, out);
}

/* Verify r's signature over tbs with the key of r's leaf. 0 / -1. */
static int verify_response(const mc_response *r, const mc_buf *tbs)
{
    const unsigned char *p = r->chain[0].ptr;
    X509 *x = d2i_X509(NULL, &p, (long)r->chain[0].len);
    assert_non_null(x);
    mc_err e = {0};
    int rc = mc_verify(X509_get0_pubkey(x), tbs->ptr, tbs->len, r->sig.ptr, r->sig.len, &e);
    X509_free(x);
    return rc;
}

/* ------------------------------------------------------------------ */
/* store                                                               */

static void check_init_csr_verifies(fx *f, mc_alg alg, const char *name)
{
    char dir[128], path[256];
    mc_phone_err pe;
    struct stat st;
    store_dir(f, name, dir, sizeof(dir));
    assert_int_equal(mc_phone_init(dir, alg, PIN, "Zhang San", "Example Co.", USCC, &pe), 0);

    X509_REQ *req = read_csr(dir);
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    assert_int_equal(mc_pkey_alg(pub), alg);
    if (alg == MC_ALG_SM2) {
        /* Without the ID the signature must not verify (it was made with it). */
        assert_int_not_equal(X509_REQ_verify(req, pub), 1);
        ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(id, (const unsigned char *)MC_SM2_ID, MC_SM2_ID_LEN);
        X509_REQ_set0_distinguishing_id(req, id);
    }
    assert_int_equal(X509_REQ_verify(req, pub), 1);

    X509_NAME *nm = X509_REQ_get_subject_name(req);
    char buf[64];
    assert_true(X509_NAME_get_text_by_NID(nm, NID_commonName, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "Zhang San");
    assert_true(X509_NAME_get_text_by_NID(nm, NID_organizationName, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "Example Co.");
    assert_true(X509_NAME_get_text_by_NID(nm, NID_organizationIdentifier, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, USCC);
    X509_REQ_free(req);

    /* The key file is private and encrypted; the CA accepts the CSR. */
    snprintf(path, sizeof(path), "%s/%s", dir, MC_PHONE_KEY_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    mc_buf key = {0};
    mc_testenv_read_file(path, &key);
    assert_true(key.len > 40);
    assert_memory_equal(key.ptr, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37);
    mc_buf_free(&key);
    X509_free(issue_for(f, dir, NULL));

    mc_phone_status ps;
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), 0);
    assert_int_equal(ps.alg, alg);
    assert_false(ps.has_cert);
    assert_string_equal(ps.leaf.uscc, USCC);
}

static void test_init_sm2_csr_verifies_with_the_distinguishing_id(void **state)
{
    check_init_csr_verifies(*state, MC_ALG_SM2, "sm2");
}

static void test_init_p256_csr_verifies(void **state)
{
    check_init_csr_verifies(*state, MC_ALG_P256, "p256");
}

static void test_init_refuses_bad_input_and_an_existing_store(void **state)
{
    fx *f = *state;
    char dir[128];
    mc_phone_err pe;
    store_dir(f, "s", dir, sizeof(dir));
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, "12345", "A", "B", USCC, &pe), -1);
    assert_string_equal(pe.code, "bad_pin");
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, "12345a", "A", "B", USCC, &pe), -1);
    assert_string_equal(pe.code, "bad_pin");
    assert_int_equal(mc_phone_init(dir, MC_ALG_NONE, PIN, "A", "B", USCC, &pe), -1);
    assert_string_equal(pe.code, "bad_alg");
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, PIN, "", "B", USCC, &pe), -1);
    assert_string_equal(pe.code, "bad_subject");
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, PIN, "A", "B", "91350100M000100Y44", &pe), -1);
    assert_string_equal(pe.code, "bad_uscc");
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, PIN, "A", "B", USCC, &pe), 0);
    assert_int_equal(mc_phone_init(dir, MC_ALG_P256, PIN, "A", "B", USCC, &pe), -1);
    assert_string_equal(pe.code, "store_exists");
    assert_int_equal(pe.remote, 0);
}

static void test_open_with_the_right_pin_and_not_with_a_wrong_one(void **state)
{
    fx *f = *state;
    char dir[128];
    mc_phone_err pe;
    store_dir(f, "s", dir, sizeof(dir));
    assert_int_equal(mc_phone_init(dir, MC_ALG_SM2, PIN, "A", "B", USCC, &pe), 0);

    mc_phone *p = mc_phone_open(dir, PIN, &pe);
    assert_non_null(p);
    assert_int_equal(mc_phone_alg(p), MC_ALG_SM2);
    assert_non_null(mc_phone_key(p));
    mc_slice chain[MC_CHAIN_MAX];
    assert_int_equal(mc_phone_chain(p, chain, MC_CHAIN_MAX), 0); /* not imported yet */
    mc_phone_free(p);

    const char *wrong[] = {"246811", "000000", "2468100", "24681", "", "abcdef"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        assert_null(mc_phone_open(dir, wrong[i], &pe));
        assert_string_equal(pe.code, "bad_pin");
    }
    store_dir(f, "missing", dir, sizeof(dir));
    assert_null(mc_phone_open(dir, PIN, &pe));
    assert_string_equal(pe.code, "bad_store");
    mc_phone_free(NULL);
}

static void test_import_refuses_a_certificate_for_another_key(void **state)
{
    fx *f = *state;
    char a[128], b[128];
    mc_phone_err pe;
    mc_buf pem_b = {0}, pem_a = {0};
    store_dir(f, "a", a, sizeof(a));
    store_dir(f, "b", b, sizeof(b));
    assert_int_equal(mc_phone_init(a, MC_ALG_P256, PIN, "A", "B", USCC, &pe), 0);
    assert_int_equal(mc_phone_init(b, MC_ALG_P256, PIN, "A", "B", USCC, &pe), 0);
    X509_free(issue_for(f, b, &pem_b));
    X509_free(issue_for(f, a, &pem_a));

    assert_int_equal(mc_phone_import(a, pem_b.ptr, pem_b.len, &pe), -1);
    assert_string_equal(pe.code, "key_mismatch");
    assert_int_equal(mc_phone_import(a, (const uint8_t *)"garbage", 7, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    assert_int_equal(mc_phone_import(a, pem_a.ptr, pem_a.len / 2, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    mc_phone_status ps;
    assert_int_equal(mc_phone_describe(a, &ps, &pe), 0);
    assert_false(ps.has_cert);

    /* The right one is stored, and a DER certificate is accepted too. */
    assert_int_equal(mc_phone_import(a, pem_a.ptr, pem_a.len, &pe), 0);
    assert_int_equal(mc_phone_describe(a, &ps, &pe), 0);
    assert_true(ps.has_cert);
    assert_int_equal(ps.nchain, 1);
    assert_string_equal(ps.leaf.cn, "A");
    assert_string_equal(ps.leaf.uscc, USCC);
    assert_int_equal(strlen(ps.leaf.fp_hex), 64);
    mc_phone *p = mc_phone_open(a, PIN, &pe);
    assert_non_null(p);
    mc_slice chain[MC_CHAIN_MAX];
    assert_int_equal(mc_phone_chain(p, chain, MC_CHAIN_MAX), 1);
    assert_int_equal(mc_phone_import(a, chain[0].ptr, chain[0].len, &pe), 0);
    mc_phone_free(p);
    mc_buf_free(&pem_a);
    mc_buf_free(&pem_b);
}

static void test_import_refuses_bad_pem_der_and_too_many_certificates(void **state)
{
    fx *f = *state;
    char dir[128], path[256];
    mc_phone_err pe;
    mc_phone_status ps;
    mc_buf pem = {0}, buf = {0};
    static const char junk_block[] = "-----BEGIN CERTIFICATE-----\n"
                                     "bm90IGEgY2VydGlmaWNhdGU=\n"
                                     "-----END CERTIFICATE-----\n";
    store_dir(f, "a", dir, sizeof(dir));
    assert_int_equal(mc_phone_init(dir, MC_ALG_P256, PIN, "A", "B", USCC, &pe), 0);
    X509 *x = issue_for(f, dir, &pem);

    /* A good certificate followed by a CERTIFICATE block of garbage. */
    mc_buf_append(&buf, pem.ptr, pem.len);
    mc_buf_append(&buf, junk_block, sizeof(junk_block) - 1);
    assert_int_equal(mc_phone_import(dir, buf.ptr, buf.len, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    /* One certificate more than a chain may hold. */
    buf.len = 0;
    for (int i = 0; i <= MC_CHAIN_MAX; i++)
        mc_buf_append(&buf, pem.ptr, pem.len);
    assert_int_equal(mc_phone_import(dir, buf.ptr, buf.len, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    /* PEM without a certificate in it (the CSR). */
    buf.len = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, MC_PHONE_CSR_FILE);
    mc_testenv_read_file(path, &buf);
    assert_int_equal(mc_phone_import(dir, buf.ptr, buf.len, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    /* DER with a trailing byte. */
    uint8_t *der = NULL;
    int dlen = i2d_X509(x, &der);
    assert_true(dlen > 0);
    buf.len = 0;
    mc_buf_append(&buf, der, (size_t)dlen);
    mc_buf_append(&buf, "", 1);
    OPENSSL_free(der);
    assert_int_equal(mc_phone_import(dir, buf.ptr, buf.len, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    /* Empty, and one byte over the limit. */
    assert_int_equal(mc_phone_import(dir, pem.ptr, 0, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    uint8_t *big = calloc(1, MC_PHONE_IMPORT_MAX + 1);
    assert_non_null(big);
    memcpy(big, pem.ptr, pem.len);
    assert_int_equal(mc_phone_import(dir, big, MC_PHONE_IMPORT_MAX + 1, &pe), -1);
    assert_string_equal(pe.code, "bad_cert");
    free(big);
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), 0);
    assert_false(ps.has_cert);

    /* Text around the blocks (as in `openssl x509 -text` output) is fine. */
    buf.len = 0;
    mc_buf_append(&buf, "subject=CN = A\n", 15);
    mc_buf_append(&buf, pem.ptr, pem.len);
    mc_buf_append(&buf, "trailing words\n", 15);
    assert_int_equal(mc_phone_import(dir, buf.ptr, buf.len, &pe), 0);
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), 0);
    assert_true(ps.has_cert);
    assert_int_equal(ps.nchain, 1);

    X509_free(x);
    mc_buf_free(&buf);
    mc_buf_free(&pem);
}

/* mc_phone_open on dir must fail with bad_store. */
static void check_bad_store(const char *dir, const char *what)
{
    mc_phone_err pe;
    mc_phone *p = mc_phone_open(dir, PIN, &pe);
    if (p != NULL)
        fail_msg("%s: the store opened", what);
    if (strcmp(pe.code, "bad_store") != 0)
        fail_msg("%s: %s (%s), not bad_store", what, pe.code, pe.msg);
}

static void test_a_corrupt_store_is_bad_store_and_only_a_wrong_pin_is_bad_pin(void **state)
{
    fx *f = *state;
    char dir[128], other[128], key[256], pub[256], chain[256], path[256];
    mc_phone_err pe;
    mc_phone_status ps;
    mc_buf key_pem = {0}, pub_pem = {0}, chain_pem = {0}, other_key = {0}, other_chain = {0};
    static const char junk[] = "not a PEM file at all";
    static const char junk_block[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                     "-----END CERTIFICATE-----\n";

    mc_phone_free(make_phone(f, "s", MC_ALG_SM2));
    mc_phone *o = make_phone(f, "o", MC_ALG_SM2);
    store_dir(f, "s", dir, sizeof(dir));
    store_dir(f, "o", other, sizeof(other));
    snprintf(key, sizeof(key), "%s/%s", dir, MC_PHONE_KEY_FILE);
    snprintf(pub, sizeof(pub), "%s/%s", dir, MC_PHONE_PUB_FILE);
    snprintf(chain, sizeof(chain), "%s/%s", dir, MC_PHONE_CHAIN_FILE);
    mc_testenv_read_file(key, &key_pem);
    mc_testenv_read_file(pub, &pub_pem);
    mc_testenv_read_file(chain, &chain_pem);
    snprintf(path, sizeof(path), "%s/%s", other, MC_PHONE_KEY_FILE);
    mc_testenv_read_file(path, &other_key);
    snprintf(path, sizeof(path), "%s/%s", other, MC_PHONE_CHAIN_FILE);
    mc_testenv_read_file(path, &other_chain);

    /* key.pem: garbage, cut in half, unencrypted, another store's. */
    mc_testenv_write_file(key, junk, sizeof(junk) - 1);
    check_bad_store(dir, "garbage key.pem");
    mc_testenv_write_file(key, key_pem.ptr, key_pem.len / 2);
    check_bad_store(dir, "truncated key.pem");
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, mc_phone_key(o), NULL, NULL, 0, NULL, NULL), 1);
    char *plain = NULL;
    long plain_len = BIO_get_mem_data(b, &plain);
    mc_testenv_write_file(key, plain, (size_t)plain_len);
    BIO_free(b);
    check_bad_store(dir, "unencrypted key.pem");
    mc_testenv_write_file(key, other_key.ptr, other_key.len);
    check_bad_store(dir, "another store's key.pem");
    /* ... while a wrong PIN on an intact key is bad_pin. */
    mc_testenv_write_file(key, key_pem.ptr, key_pem.len);
    assert_null(mc_phone_open(dir, "135790", &pe));
    assert_string_equal(pe.code, "bad_pin");

    /* pub.pem: garbage breaks open, describe and import. */
    mc_testenv_write_file(pub, junk, sizeof(junk) - 1);
    check_bad_store(dir, "garbage pub.pem");
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), -1);
    assert_string_equal(pe.code, "bad_store");
    assert_int_equal(mc_phone_import(dir, chain_pem.ptr, chain_pem.len, &pe), -1);
    assert_string_equal(pe.code, "bad_store");
    mc_testenv_write_file(pub, pub_pem.ptr, pub_pem.len);

    /* chain.pem: a garbage block, another key's chain, too large, not a file. */
    mc_testenv_write_file(chain, junk_block, sizeof(junk_block) - 1);
    check_bad_store(dir, "garbage chain.pem");
    assert_int_equal(mc_phone_describe(dir, &ps, &pe), -1);
    assert_string_equal(pe.code, "bad_store");
    mc_testenv_write_file(chain, other_chain.ptr, other_chain.len);
    check_bad_store(dir, "another key's chain.pem");
    size_t big_len = 4 * MC_PHONE_IMPORT_MAX;
    char *big = malloc(big_len);
    assert_non_null(big);
    memset(big, 'A', big_len);
    mc_testenv_write_file(chain, big, big_len);
    free(big);
    check_bad_store(dir, "oversized chain.pem");
    assert_int_equal(unlink(chain), 0);
    assert_int_equal(mkdir(chain, 0700), 0);
    check_bad_store(dir, "chain.pem a directory");
    assert_int_equal(rmdir(chain), 0);

    /* Restored, the store opens again: the failures above were the files. */
    mc_testenv_write_file(chain, chain_pem.ptr, chain_pem.len);
    mc_phone *p = mc_phone_open(dir, PIN, &pe);
    if (p == NULL)
        fail_msg("restored store: %s: %s", pe.code, pe.msg);
    mc_phone_free(p);

    mc_phone_free(o);
    mc_buf_free(&key_pem);
    mc_buf_free(&pub_pem);
    mc_buf_free(&chain_pem);
    mc_buf_free(&other_key);
    mc_buf_free(&other_chain);
}

/* ------------------------------------------------------------------ */
/* what the phone signs                                                */

static void check_signed_tbs(fx *f, mc_alg alg)
{
    mc_phone *p = make_phone(f, alg == MC_ALG_SM2 ? "sm2" : "p256", alg);
    mc_session_view v;
    make_view(&v, MC_PURPOSE_BIND);
    uint32_t number = v.s.choices[2];
    mc_buf tbs = {0}, body = {0}, expect = {0};
    mc_phone_err pe;
    mc_err e = {0};
    mc_response r;

    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, number, NULL, &tbs, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), 0);
    assert_int_equal(r.v, MC_PROTO_VERSION);
    assert_string_equal(r.sid, v.s.sid);
    assert_string_equal(r.purpose, "bind");
    assert_string_equal(r.origin, ORIGIN);
    assert_string_equal(r.decision, "approve");
    assert_int_equal(r.number, number);
    assert_int_equal(r.nchain, 1);

    /* The TBS is exactly what the server rebuilds from its own data. */
    expected_tbs(&v, &r.chain[0], number, "approve", &expect);
    assert_int_equal(tbs.len, expect.len);
    assert_memory_equal(tbs.ptr, expect.ptr, expect.len);
    assert_int_equal(verify_response(&r, &expect), 0);

    /* And the chain passes the server's checks against the CA. */
    mc_trust *t = mc_trust_new();
    assert_int_equal(mc_trust_add(t, mc_ca_cert(f->ca)), 0);
    mc_cert_info info;
    EVP_PKEY *pub = NULL;
    if (mc_cert_verify_chain(t, r.chain, r.nchain, (int64_t)time(NULL), &info, &pub, &e) != 0)
        fail_msg("chain: %s: %s", e.code, e.msg);
    assert_int_equal(info.alg, alg);
    assert_int_equal(mc_verify(pub, expect.ptr, expect.len, r.sig.ptr, r.sig.len, &e), 0);
    EVP_PKEY_free(pub);
    mc_trust_free(t);

    /* A rejection for login signs "reject" and the empty account. */
    mc_buf_free(&tbs);
    mc_buf_free(&body);
    mc_buf_free(&expect);
    make_view(&v, MC_PURPOSE_LOGIN);
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_REJECT, 0, NULL, NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), 0);
    assert_string_equal(r.decision, "reject");
    assert_string_equal(r.purpose, "login");
    expected_tbs(&v, &r.chain[0], 0, "reject", &expect);
    assert_int_equal(verify_response(&r, &expect), 0);

    mc_buf_free(&body);
    mc_buf_free(&expect);
    mc_phone_free(p);
}

static void test_sm2_signature_over_the_tbs_verifies_with_the_leaf_key(void **state)
{
    check_signed_tbs(*state, MC_ALG_SM2);
}

static void test_p256_signature_over_the_tbs_verifies_with_the_leaf_key(void **state)
{
    check_signed_tbs(*state, MC_ALG_P256);
}

/* Build with ov, decode; *verifies = whether the signature covers the
 * true TBS (from the view and the sent leaf). */
static void build_with(mc_phone *p, const mc_session_view *v, const mc_phone_overrides *ov,
                       mc_buf *body, mc_response *r, int *verifies)
{
    mc_phone_err pe;
    mc_err e = {0};
    mc_buf expect = {0};
    body->len = 0;
    if (mc_phone_build(p, v, MC_PHONE_APPROVE, v->s.choices[0], ov, NULL, body, &pe) != 0)
        fail_msg("build: %s: %s", pe.code, pe.msg);
    if (mc_response_decode(body->ptr, body->len, r, &e) != 0)
        fail_msg("decode: %s: %s", e.code, e.msg);
    expected_tbs(v, &r->chain[0], v->s.choices[0], "approve", &expect);
    *verifies = verify_response(r, &expect) == 0;
    mc_buf_free(&expect);
}

static void test_each_override_lies_in_one_place_only(void **state)
{
    fx *f = *state;
    mc_phone *p = make_phone(f, "p", MC_ALG_P256);
    mc_phone *q = make_phone(f, "q", MC_ALG_SM2);
    mc_session_view v;
    make_view(&v, MC_PURPOSE_BIND);
    mc_buf body = {0};
    mc_response r;
    int ok;

    build_with(p, &v, NULL, &body, &r, &ok);
    assert_true(ok);

    /* TBS lies: the message is true, the signature is not over it. */
    uint8_t nonce[MC_NONCE_LEN] = {1};
    const mc_phone_overrides tbs_lies[] = {
        {.tbs_sid = "ZZZZZZZZZZZZZZZZZZZZ"}, {.tbs_purpose = "login"},
        {.tbs_origin = "http://evil.example"}, {.tbs_account = "mallory"},
        {.tbs_nonce = nonce}, {.set_tbs_expires = 1, .tbs_expires = 1},
        {.tbs_cert_fp = nonce}, {.set_tbs_number = 1, .tbs_number = 7},
        {.tbs_decision = "reject"},
    };
    for (size_t i = 0; i < sizeof(tbs_lies) / sizeof(tbs_lies[0]); i++) {
        build_with(p, &v, &tbs_lies[i], &body, &r, &ok);
        assert_false(ok);
        assert_string_equal(r.sid, v.s.sid);
        assert_string_equal(r.origin, ORIGIN);
        assert_string_equal(r.purpose, "bind");
    }

    /* Message lies: the signature still covers the truth. */
    mc_phone_overrides ov = {.msg_sid = "ZZZZZZZZZZZZZZZZZZZZ"};
    build_with(p, &v, &ov, &body, &r, &ok);
    assert_true(ok);
    assert_string_equal(r.sid, "ZZZZZZZZZZZZZZZZZZZZ");
    ov = (mc_phone_overrides){.msg_origin = "http://evil.example", .msg_purpose = "login"};
    build_with(p, &v, &ov, &body, &r, &ok);
    assert_true(ok);
    assert_string_equal(r.origin, "http://evil.example");
    assert_string_equal(r.purpose, "login");
    ov = (mc_phone_overrides){.set_msg_number = 1, .msg_number = 5};
    build_with(p, &v, &ov, &body, &r, &ok);
    assert_true(ok);
    assert_int_equal(r.number, 5);
    ov = (mc_phone_overrides){.msg_sid = "this sid is far too long for the field"};
    mc_phone_err pe;
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, 1, &ov, NULL, &body, &pe), -1);
    assert_string_equal(pe.code, "bad_override");

    /* A corrupted signature does not verify. */
    ov = (mc_phone_overrides){.corrupt_sig = 1};
    build_with(p, &v, &ov, &body, &r, &ok);
    assert_false(ok);

    /* Another phone's chain, signed by its key: consistent, other leaf. */
    mc_slice qchain[MC_CHAIN_MAX];
    size_t nq = mc_phone_chain(q, qchain, MC_CHAIN_MAX);
    ov = (mc_phone_overrides){.chain = qchain, .nchain = nq, .sign_key = mc_phone_key(q)};
    build_with(p, &v, &ov, &body, &r, &ok);
    assert_true(ok);
    assert_int_equal(r.chain[0].len, qchain[0].len);
    assert_memory_equal(r.chain[0].ptr, qchain[0].ptr, qchain[0].len);
    /* ... the same chain signed by the wrong key does not verify. */
    ov.sign_key = NULL;
    build_with(p, &v, &ov, &body, &r, &ok);
    assert_false(ok);

    /* No certificate imported and no chain override: refused locally. */
    char dir[128];
    store_dir(f, "bare", dir, sizeof(dir));
    assert_int_equal(mc_phone_init(dir, MC_ALG_P256, PIN, "A", "B", USCC, &pe), 0);
    mc_phone *bare = mc_phone_open(dir, PIN, &pe);
    assert_non_null(bare);
    assert_int_equal(mc_phone_build(bare, &v, MC_PHONE_APPROVE, 1, NULL, NULL, &body, &pe), -1);
    assert_string_equal(pe.code, "no_certificate");
    mc_phone_free(bare);

    mc_buf_free(&body);
    mc_phone_free(p);
    mc_phone_free(q);
}

/* ------------------------------------------------------------------ */
/* an in-test HTTP server                                              */

typedef struct test_server {
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    pthread_t thread;
    atomic_int stop;
    int port;
    char url[64];
    mc_session_view view;         /* served at /m/v1/sessions/<sid> */
    pthread_mutex_t lock;
    mc_buf last_response;         /* last POSTed response body (under lock) */
    int canned_status;            /* non-zero: every /m/v1/sessions/ request */
    mc_buf canned;                /* gets this reply instead (under lock) */
    mc_sign_info sign;            /* view.sign points here for a sign view */
    mc_buf inbox;                 /* /m/v1/inbox: these encoded entries, */
    size_t inbox_entries;         /* this many (under lock) */
    char last_inbox_query[512];   /* the query it last got (under lock) */
} test_server;

static void reply_msgpack(struct evhttp_request *req, int status, const mc_buf *b)
{
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, b->ptr, b->len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/x-msgpack");
    evhttp_send_reply(req, status, "X", out);
    evbuffer_free(out);
}

static void reply_error(struct evhttp_request *req, int status, const char *code,
                        const char *msg)
{
    mc_err e = {0};
    mc_buf b = {0};
    mc_err_set(&e, status, code, "%s", msg);
    mc_error_encode(&e, &b);
    reply_msgpack(req, status, &b);
    mc_buf_free(&b);
}

static void server_cb(struct evhttp_request *req, void *arg)
{
    test_server *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t inlen = evbuffer_get_length(in);
    static const char prefix[] = "/m/v1/sessions/";

    if (strcmp(uri, "/hang") == 0)
        return; /* never answer */
    if (strcmp(uri, "/status/418") == 0) {
        struct evbuffer *out = evbuffer_new();
        evbuffer_add(out, "teapot", 6);
        evhttp_add_header(oh, "X-Test-Reply", "short and stout");
        evhttp_send_reply(req, 418, "I'm a teapot", out);
        evbuffer_free(out);
        return;
    }
    if (strncmp(uri, "/echo", 5) == 0) {
        static const char *const names[] = {"GET", "POST", "HEAD", "PUT", "DELETE",
                                            "OPTIONS", "TRACE", "CONNECT", "PATCH"};
        enum evhttp_cmd_type t = evhttp_request_get_command(req);
        const char *m = "?";
        for (unsigned i = 0; i < 9; i++)
            if (t == (enum evhttp_cmd_type)(1u << i))
                m = names[i];
        const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test");
        char *peer = NULL;
        ev_uint16_t peer_port = 0;
        char port_s[8];
        evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &peer_port);
        snprintf(port_s, sizeof(port_s), "%u", (unsigned)peer_port);
        evhttp_add_header(oh, "X-Peer-Port", port_s); /* tells connections apart */
        evhttp_add_header(oh, "X-Method", m);
        evhttp_add_header(oh, "X-Uri", uri);
        evhttp_add_header(oh, "X-Got-Header", h ? h : "(none)");
        evhttp_add_header(oh, "Content-Type", "application/octet-stream");
        struct evbuffer *out = evbuffer_new();
        evbuffer_add_buffer(out, in);
        evhttp_send_reply(req, 200, "OK", out);
        evbuffer_free(out);
        return;
    }
    if (strncmp(uri, "/m/v1/inbox?", 12) == 0) {
        mc_buf b = {0};
        pthread_mutex_lock(&s->lock);
        snprintf(s->last_inbox_query, sizeof(s->last_inbox_query), "%s", uri + 12);
        mc_inbox_reply_encode(1700000000, s->inbox.ptr, s->inbox.len, s->inbox_entries, &b);
        pthread_mutex_unlock(&s->lock);
        reply_msgpack(req, 200, &b);
        mc_buf_free(&b);
        return;
    }
    if (strncmp(uri, prefix, sizeof(prefix) - 1) == 0) {
        pthread_mutex_lock(&s->lock);
        int canned = s->canned_status;
        if (canned != 0)
            reply_msgpack(req, canned, &s->canned);
        pthread_mutex_unlock(&s->lock);
        if (canned != 0)
            return;
        const char *rest = uri + sizeof(prefix) - 1;
        size_t sidlen = strcspn(rest, "/");
        if (sidlen != strlen(s->view.s.sid) || memcmp(rest, s->view.s.sid, sidlen) != 0)
        {
            reply_error(req, 404, "unknown_session", "no such session");
            return;
        }
        mc_buf b = {0};
        if (rest[sidlen] == '\0' && evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
            mc_view_encode(&s->view, &b);
            reply_msgpack(req, 200, &b);
        } else if (strcmp(rest + sidlen, "/response") == 0 &&
                   evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
            uint8_t *body = malloc(inlen + 1);
            evbuffer_copyout(in, body, inlen);
            pthread_mutex_lock(&s->lock);
            s->last_response.len = 0;
            mc_buf_append(&s->last_response, body, inlen);
            pthread_mutex_unlock(&s->lock);
            mc_response r;
            mc_err e = {0};
            if (mc_response_decode(body, inlen, &r, &e) != 0) {
                reply_error(req, e.status, e.code, e.msg);
            } else if (strcmp(r.decision, "approve") == 0) {
                mc_result_encode("approved", s->view.s.account, &b);
                reply_msgpack(req, 200, &b);
            } else {
                mc_result_encode("rejected", s->view.s.account, &b);
                reply_msgpack(req, 200, &b);
            }
            free(body);
        } else {
            reply_error(req, 405, "bad_method", "method not allowed");
        }
        mc_buf_free(&b);
        return;
    }
    evhttp_send_error(req, 404, NULL);
}

static void server_tick(evutil_socket_t fd, short what, void *arg)
{
    test_server *s = arg;
    if (atomic_load(&s->stop))
        event_base_loopbreak(s->base);
}

static void *server_main(void *arg)
{
    test_server *s = arg;
    /* Writing a reply to a client that gave up (e.g. on a body too large)
     * raises SIGPIPE in this thread: keep it from killing the test. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    event_base_dispatch(s->base);
    return NULL;
}

/* max_body: 0 = no limit; else evhttp answers 413 above it. lingering: the
 * server drains a refused body before closing (EVHTTP_SERVER_LINGERING_CLOSE). */
static test_server *server_start_ex(size_t max_body, int lingering)
{
    test_server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    make_view(&s->view, MC_PURPOSE_BIND);
    s->base = event_base_new();
    s->http = evhttp_new(s->base);
    assert_non_null(s->http);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(s->http, server_cb, s);
    if (max_body > 0)
        evhttp_set_max_body_size(s->http, (ev_ssize_t)max_body);
    if (lingering)
        evhttp_set_flags(s->http, EVHTTP_SERVER_LINGERING_CLOSE);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
                                 &slen), 0);
    s->port = ntohs(sin.sin_port);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
    s->tick = event_new(s->base, -1, EV_PERSIST, server_tick, s);
    struct timeval tv = {0, 20000};
    event_add(s->tick, &tv);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static test_server *server_start(void)
{
    return server_start_ex(0, 0);
}

static void server_stop(test_server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    event_free(s->tick);
    evhttp_free(s->http);
    event_base_free(s->base);
    mc_buf_free(&s->last_response);
    mc_buf_free(&s->canned);
    mc_buf_free(&s->inbox);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* From now on, answer every phone API request with status and body (as
 * application/x-msgpack, whatever it holds): a hostile server. */
static void server_can(test_server *s, int status, const void *body, size_t len)
{
    pthread_mutex_lock(&s->lock);
    s->canned_status = status;
    s->canned.len = 0;
    mc_buf_append(&s->canned, body, len);
    pthread_mutex_unlock(&s->lock);
}

/* GET <server><path>. */
static int server_get(const test_server *s, const char *path, int timeout_s,
                      mc_http_reply *r, mc_err *e)
{
    char url[160];
    snprintf(url, sizeof(url), "%s%s", s->url, path);
    return mc_http_request("GET", url, NULL, NULL, 0, timeout_s, r, e);
}

/* A loopback port nothing listens on (bound, read, closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t slen = sizeof(sin);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

/* ------------------------------------------------------------------ */
/* HTTP client                                                         */

static void test_http_status_body_and_reply_header(void **state)
{
    test_server *s = server_start();
    mc_http_reply r;
    mc_err e = {0};
    assert_int_equal(server_get(s, "/status/418", 5, &r, &e), 0);
    assert_int_equal(r.status, 418);
    assert_int_equal(r.body.len, 6);
    assert_memory_equal(r.body.ptr, "teapot", 6);
    assert_string_equal(mc_http_reply_header(&r, "x-test-reply"), "short and stout");
    assert_string_equal(mc_http_reply_header(&r, "Content-Length"), "6");
    assert_null(mc_http_reply_header(&r, "X-Absent"));
    mc_http_reply_free(&r);
    mc_http_reply_free(&r); /* twice is fine */

    assert_int_equal(server_get(s, "/nowhere", 5, &r, &e), 0);
    assert_int_equal(r.status, 404);
    mc_http_reply_free(&r);
    server_stop(s);
}

static void test_http_sends_binary_bodies_methods_and_headers(void **state)
{
    test_server *s = server_start();
    char url[160];
    mc_http_reply r;
    mc_err e = {0};
    uint8_t body[3000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7); /* includes NUL bytes */
    const char *const hdrs[] = {"X-Test:   hello world", "Content-Type: application/x-msgpack",
                                NULL};
    snprintf(url, sizeof(url), "%s/echo?a=1&b=%%00", s->url);
    assert_int_equal(mc_http_request("POST", url, hdrs, body, sizeof(body), 5, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, sizeof(body));
    assert_memory_equal(r.body.ptr, body, sizeof(body));
    assert_string_equal(mc_http_reply_header(&r, "X-Method"), "POST");
    assert_string_equal(mc_http_reply_header(&r, "X-Uri"), "/echo?a=1&b=%00");
    assert_string_equal(mc_http_reply_header(&r, "X-Got-Header"), "hello world");
    assert_string_equal(mc_http_reply_header(&r, "content-type"), "application/octet-stream");
    mc_http_reply_free(&r);

    const char *methods[] = {"PUT", "DELETE", "PATCH", "GET"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(mc_http_request(methods[i], url, NULL, "x", 1, 5, &r, &e), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(mc_http_reply_header(&r, "X-Method"), methods[i]);
        assert_string_equal(mc_http_reply_header(&r, "X-Got-Header"), "(none)");
        mc_http_reply_free(&r);
    }
    /* An empty POST. */
    assert_int_equal(mc_http_request("POST", url, NULL, NULL, 0, 5, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    mc_http_reply_free(&r);
    server_stop(s);
}

static void check_large_body_refused(int lingering, size_t len)
{
    test_server *s = server_start_ex(16384, lingering);
    char url[128];
    mc_http_reply r;
    mc_err e = {0};
    uint8_t *big = calloc(1, len);
    assert_non_null(big);
    snprintf(url, sizeof(url), "%s/echo", s->url);
    if (mc_http_request("POST", url, NULL, big, len, 5, &r, &e) != 0)
        fail_msg("lingering=%d len=%zu: %s: %s", lingering, len, e.code, e.msg);
    assert_int_equal(r.status, 413);
    mc_http_reply_free(&r);
    free(big);
    server_stop(s);
}

static void test_http_reads_the_413_of_a_server_that_refuses_a_large_body(void **state)
{
    for (int i = 0; i < 5; i++) {
        check_large_body_refused(1, 16385);
        check_large_body_refused(1, 8u << 20);
        check_large_body_refused(0, 16385);
        check_large_body_refused(0, 8u << 20);
    }
}

static void test_http_times_out_on_a_server_that_never_answers(void **state)
{
    test_server *s = server_start();
    mc_http_reply r;
    mc_err e = {0};
    double t0 = mc_testenv_now();
    assert_int_equal(server_get(s, "/hang", 1, &r, &e), -1);
    double dt = mc_testenv_now() - t0;
    assert_string_equal(e.code, "http_timeout");
    assert_int_equal(e.status, 504);
    assert_true(dt >= 0.9 && dt < 3.0);
    assert_null(r.body.ptr);
    server_stop(s);
}

static void test_http_reports_connection_refused(void **state)
{
    char url[64];
    mc_http_reply r;
    mc_err e = {0};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", closed_port());
    double t0 = mc_testenv_now();
    assert_int_equal(mc_http_request("GET", url, NULL, NULL, 0, 5, &r, &e), -1);
    assert_string_equal(e.code, "http_connect");
    assert_true(mc_testenv_now() - t0 < 2.0);
}

static void test_http_refuses_bad_urls_methods_and_headers(void **state)
{
    mc_http_reply r;
    mc_err e = {0};
    const char *bad_urls[] = {"https://127.0.0.1/", "ftp://x/", "http://", "http://:80/",
                              "http://127.0.0.1:0/", "http://127.0.0.1:99999/",
                              "http://127.0.0.1:8x/", "http://[::1/", "http://127.0.0.1/a b",
                              "http://u@127.0.0.1/", NULL};
    for (size_t i = 0; bad_urls[i] != NULL; i++) {
        assert_int_equal(mc_http_request("GET", bad_urls[i], NULL, NULL, 0, 1, &r, &e), -1);
        assert_string_equal(e.code, "bad_url");
    }
    assert_int_equal(mc_http_request(NULL, "http://127.0.0.1/", NULL, NULL, 0, 1, &r, &e), -1);
    assert_string_equal(e.code, "bad_method");
    assert_int_equal(mc_http_request("BREW", "http://127.0.0.1/", NULL, NULL, 0, 1, &r, &e), -1);
    assert_string_equal(e.code, "bad_method");
    const char *const inject[] = {"X-A: b\r\nX-Evil: 1", NULL};
    assert_int_equal(mc_http_request("GET", "http://127.0.0.1:1/", inject, NULL, 0, 1, &r, &e),
                     -1);
    assert_string_equal(e.code, "bad_header");
    const char *const noname[] = {": v", NULL};
    assert_int_equal(mc_http_request("GET", "http://127.0.0.1:1/", noname, NULL, 0, 1, &r, &e),
                     -1);
    assert_string_equal(e.code, "bad_header");
}

static void test_http_client_reuses_its_connection_and_drops_it_after_a_timeout(void **state)
{
    test_server *s = server_start();
    mc_http_reply r;
    mc_err e = {0};
    char port[8], port2[8];
    mc_http_client *cl = mc_http_client_new(s->url, &e);
    assert_non_null(cl);

    assert_int_equal(mc_http_client_request(cl, "POST", "/echo", NULL, "abc", 3, 5, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 3);
    assert_memory_equal(r.body.ptr, "abc", 3);
    snprintf(port, sizeof(port), "%s", mc_http_reply_header(&r, "X-Peer-Port"));
    mc_http_reply_free(&r);
    assert_int_equal(mc_http_client_request(cl, "GET", "/echo", NULL, NULL, 0, 5, &r, &e), 0);
    assert_string_equal(mc_http_reply_header(&r, "X-Peer-Port"), port); /* kept alive */
    mc_http_reply_free(&r);

    /* A request that times out must not hold up the next one (it would if
     * it stayed queued on the connection). */
    double t0 = mc_testenv_now();
    assert_int_equal(mc_http_client_request(cl, "GET", "/hang", NULL, NULL, 0, 1, &r, &e), -1);
    assert_string_equal(e.code, "http_timeout");
    assert_null(r.body.ptr);
    if (mc_http_client_request(cl, "GET", "/status/418", NULL, NULL, 0, 5, &r, &e) != 0)
        fail_msg("after a timeout: %s: %s", e.code, e.msg);
    assert_int_equal(r.status, 418);
    assert_true(mc_testenv_now() - t0 < 4.0);
    mc_http_reply_free(&r);

    /* A closed connection is made again by itself. */
    const char *const close_hdr[] = {"Connection: close", NULL};
    assert_int_equal(mc_http_client_request(cl, "GET", "/echo", close_hdr, NULL, 0, 5, &r, &e),
                     0);
    snprintf(port2, sizeof(port2), "%s", mc_http_reply_header(&r, "X-Peer-Port"));
    mc_http_reply_free(&r);
    assert_int_equal(mc_http_client_request(cl, "GET", "/echo", NULL, NULL, 0, 5, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_string_not_equal(mc_http_reply_header(&r, "X-Peer-Port"), port2);
    mc_http_reply_free(&r);

    /* Refused before anything is sent. */
    assert_int_equal(mc_http_client_request(cl, "GET", "echo", NULL, NULL, 0, 5, &r, &e), -1);
    assert_string_equal(e.code, "bad_url");
    assert_int_equal(mc_http_client_request(cl, "BREW", "/echo", NULL, NULL, 0, 5, &r, &e), -1);
    assert_string_equal(e.code, "bad_method");
    assert_int_equal(mc_http_client_request(cl, "POST", "/echo", NULL, NULL, 1, 5, &r, &e), -1);
    assert_string_equal(e.code, "bad_body");
    mc_http_client_free(cl);
    mc_http_client_free(NULL);
    assert_null(mc_http_client_new("ftp://127.0.0.1/", &e));
    assert_string_equal(e.code, "bad_url");
    server_stop(s);
}

/* ------------------------------------------------------------------ */
/* protocol round trip against the in-test server                      */

static void test_fetch_and_respond_round_trip(void **state)
{
    fx *f = *state;
    test_server *s = server_start();
    mc_phone *p = make_phone(f, "p", MC_ALG_SM2);
    mc_session_view v;
    mc_phone_err pe;
    mc_phone_result res;

    assert_int_equal(mc_phone_fetch(s->url, s->view.s.sid, &v, &pe), 0);
    assert_string_equal(v.s.sid, s->view.s.sid);
    assert_memory_equal(v.s.nonce, s->view.s.nonce, MC_NONCE_LEN);
    assert_string_equal(v.s.origin, ORIGIN);
    assert_string_equal(v.s.account, "alice");
    assert_int_equal(v.s.expires, s->view.s.expires);
    assert_int_equal(v.s.match, 0); /* never sent */
    assert_true(mc_phone_number_ok(&v, s->view.s.choices[1]));
    assert_false(mc_phone_number_ok(&v, 100));

    /* A trailing slash on the base is fine. */
    char base_slash[80];
    snprintf(base_slash, sizeof(base_slash), "%s/", s->url);
    mc_session_view v2;
    assert_int_equal(mc_phone_fetch(base_slash, s->view.s.sid, &v2, &pe), 0);

    uint32_t number = v.s.choices[1];
    assert_int_equal(mc_phone_respond(p, s->url, &v, MC_PHONE_APPROVE, number, NULL, &res, &pe),
                     0);
    assert_string_equal(res.state, "approved");
    assert_string_equal(res.account, "alice");

    /* What reached the server verifies against the session's own data. */
    pthread_mutex_lock(&s->lock);
    mc_buf got = {0};
    mc_buf_append(&got, s->last_response.ptr, s->last_response.len);
    pthread_mutex_unlock(&s->lock);
    mc_response r;
    mc_err e = {0};
    mc_buf expect = {0};
    assert_int_equal(mc_response_decode(got.ptr, got.len, &r, &e), 0);
    expected_tbs(&s->view, &r.chain[0], number, "approve", &expect);
    assert_int_equal(verify_response(&r, &expect), 0);
    mc_buf_free(&expect);
    mc_buf_free(&got);

    assert_int_equal(mc_phone_respond(p, s->url, &v, MC_PHONE_REJECT, 0, NULL, &res, &pe), 0);
    assert_string_equal(res.state, "rejected");

    /* Server errors come back with the server's own code and status. */
    assert_int_equal(mc_phone_fetch(s->url, "ABCDEFGHJKMNPQRSTVWX", &v2, &pe), -1);
    assert_int_equal(pe.remote, 1);
    assert_int_equal(pe.status, 404);
    assert_string_equal(pe.code, "unknown_session");
    assert_string_equal(pe.msg, "no such session");

    const uint8_t junk[] = {0xc1, 0x00, 0xff};
    mc_phone_overrides ov = {.raw_body = junk, .raw_len = sizeof(junk)};
    assert_int_equal(mc_phone_respond(NULL, s->url, &v, MC_PHONE_APPROVE, 0, &ov, &res, &pe),
                     -1);
    assert_int_equal(pe.remote, 1);
    assert_int_equal(pe.status, 400);
    assert_string_equal(pe.code, "bad_msgpack");

    ov = (mc_phone_overrides){.url_sid = "ABCDEFGHJKMNPQRSTVWX"};
    assert_int_equal(mc_phone_respond(p, s->url, &v, MC_PHONE_APPROVE, number, &ov, &res, &pe),
                     -1);
    assert_string_equal(pe.code, "unknown_session");

    /* A malformed sid is refused before any request. */
    assert_int_equal(mc_phone_fetch(s->url, "ABCDEFGHJKMNPQRSTVW", &v2, &pe), -1);
    assert_string_equal(pe.code, "bad_sid");
    assert_int_equal(pe.remote, 0);

    mc_phone_free(p);
    server_stop(s);
}

static void test_fetch_reports_network_errors_locally(void **state)
{
    char base[64];
    mc_session_view v;
    mc_phone_err pe;
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", closed_port());
    assert_int_equal(mc_phone_fetch(base, "ABCDEFGHJKMNPQRSTVWX", &v, &pe), -1);
    assert_int_equal(pe.remote, 0);
    assert_string_equal(pe.code, "http_connect");

    test_server *s = server_start();
    char url[96];
    snprintf(url, sizeof(url), "%s/status/418", s->url); /* base whose paths 404 in HTML */
    assert_int_equal(mc_phone_fetch(s->url, "ABCDEFGHJKMNPQRSTVWX", &v, &pe), -1);
    assert_string_equal(pe.code, "unknown_session");
    assert_int_equal(mc_phone_fetch(url, "ABCDEFGHJKMNPQRSTVWX", &v, &pe), -1);
    assert_int_equal(pe.remote, 1);
    assert_int_equal(pe.status, 404);
    assert_string_equal(pe.code, "http_error");
    server_stop(s);
}

static int pack_to_buf(void *data, const char *p, size_t n)
{
    mc_buf_append(data, p, n);
    return 0;
}

/* A hostile server answers the fetch with status 200 and body: refused
 * locally as bad_reply, and the view is left empty. */
static void check_bad_view(test_server *s, const void *body, size_t len, const char *what)
{
    mc_session_view v;
    mc_phone_err pe;
    server_can(s, 200, body, len);
    if (mc_phone_fetch(s->url, s->view.s.sid, &v, &pe) == 0)
        fail_msg("%s: the phone took it", what);
    if (strcmp(pe.code, "bad_reply") != 0 || pe.remote != 0 || pe.status != 502)
        fail_msg("%s: %s (%d, remote %d): %s", what, pe.code, pe.status, pe.remote, pe.msg);
    assert_int_equal(v.s.sid[0], '\0');
}

/* Same for the reply to a response. */
static void check_bad_result(test_server *s, const mc_phone *p, const void *body, size_t len,
                             const char *what)
{
    mc_phone_result res;
    mc_phone_err pe;
    server_can(s, 200, body, len);
    if (mc_phone_respond(p, s->url, &s->view, MC_PHONE_REJECT, 0, NULL, &res, &pe) == 0)
        fail_msg("%s: the phone took it", what);
    if (strcmp(pe.code, "bad_reply") != 0 || pe.remote != 0)
        fail_msg("%s: %s: %s", what, pe.code, pe.msg);
    assert_int_equal(res.state[0], '\0');
}

/* And an error status with body: the status is kept, the code becomes
 * http_error when the body is not a {code, message} that fits. */
static void check_http_error(test_server *s, const void *body, size_t len, const char *what)
{
    mc_session_view v;
    mc_phone_err pe;
    server_can(s, 403, body, len);
    assert_int_equal(mc_phone_fetch(s->url, s->view.s.sid, &v, &pe), -1);
    if (strcmp(pe.code, "http_error") != 0 || pe.remote != 1 || pe.status != 403)
        fail_msg("%s: %s (%d, remote %d): %s", what, pe.code, pe.status, pe.remote, pe.msg);
    for (const char *c = pe.msg; *c != '\0'; c++)
        assert_true((unsigned char)*c >= 0x20); /* the peer's bytes are made printable */
}

static void test_phone_refuses_malformed_replies_from_a_hostile_server(void **state)
{
    fx *f = *state;
    test_server *s = server_start();
    mc_phone *p = make_phone(f, "p", MC_ALG_P256);
    mc_buf good = {0}, b = {0};
    msgpack_packer pk;

    /* --- the session view --- */
    mc_view_encode(&s->view, &good);
    check_bad_view(s, "", 0, "empty body");
    check_bad_view(s, "<html>oops</html>", 17, "HTML");
    check_bad_view(s, good.ptr, good.len - 1, "view cut by one byte");
    check_bad_view(s, good.ptr, good.len / 2, "view cut in half");
    mc_buf_append(&b, good.ptr, good.len);
    mc_buf_append(&b, "\xc0", 1);
    check_bad_view(s, b.ptr, b.len, "view with a trailing byte");
    /* sid sent as bin instead of str, everything else intact */
    const uint8_t *at = memmem(good.ptr, good.len, "\xa3sid\xb4", 5);
    assert_non_null(at);
    size_t off = (size_t)(at - good.ptr) + 4;
    b.len = 0;
    mc_buf_append(&b, good.ptr, off);
    mc_buf_append(&b, "\xc4\x14", 2);
    mc_buf_append(&b, good.ptr + off + 1, good.len - off - 1);
    check_bad_view(s, b.ptr, b.len, "sid of the wrong type");
    /* one key more than a view has */
    assert_int_equal(good.ptr[0] & 0xf0, 0x80); /* fixmap */
    uint8_t nkeys = good.ptr[0] & 0x0f;
    b.len = 0;
    uint8_t map16[3] = {0xde, 0, (uint8_t)(nkeys + 1)};
    mc_buf_append(&b, map16, 3);
    mc_buf_append(&b, good.ptr + 1, good.len - 1);
    mc_buf_append(&b, "\xa5" "extra" "\xc0", 7);
    check_bad_view(s, b.ptr, b.len, "view with an unknown key");
    b.len = 0;
    msgpack_packer_init(&pk, &b, pack_to_buf);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    check_bad_view(s, b.ptr, b.len, "an array, not a map");
    /* larger than any phone message may be */
    b.len = 0;
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "sid", 3);
    char *huge = calloc(1, MC_PHONE_BODY_MAX + 1);
    assert_non_null(huge);
    msgpack_pack_str_with_body(&pk, huge, MC_PHONE_BODY_MAX + 1);
    free(huge);
    check_bad_view(s, b.ptr, b.len, "oversized view");
    /* nested deeper than MC_MP_DEPTH_MAX, and a container claiming 2^31 items */
    b.len = 0;
    for (int i = 0; i < 3 * MC_MP_DEPTH_MAX; i++)
        mc_buf_append(&b, "\x91", 1);
    mc_buf_append(&b, "\xc0", 1);
    check_bad_view(s, b.ptr, b.len, "deep nesting");
    check_bad_view(s, "\xdd\x7f\xff\xff\xff", 5, "array claiming 2^31 elements");
    /* a well-formed view, of another session */
    mc_session_view other;
    make_view(&other, MC_PURPOSE_LOGIN);
    b.len = 0;
    mc_view_encode(&other, &b);
    check_bad_view(s, b.ptr, b.len, "view of another session");

    /* A reply above MC_HTTP_BODY_MAX is cut off by the HTTP client. */
    uint8_t *flood = calloc(1, MC_HTTP_BODY_MAX + 1);
    assert_non_null(flood);
    server_can(s, 200, flood, MC_HTTP_BODY_MAX + 1);
    free(flood);
    mc_session_view v;
    mc_phone_err pe;
    assert_int_equal(mc_phone_fetch(s->url, s->view.s.sid, &v, &pe), -1);
    assert_string_equal(pe.code, "http_too_large");
    assert_int_equal(pe.remote, 0);

    /* --- the result of a response --- */
    b.len = 0;
    mc_result_encode("pending", "alice", &b);
    check_bad_result(s, p, b.ptr, b.len, "a state that is not a result");
    b.len = 0;
    mc_result_encode("approved", "alice", &b);
    check_bad_result(s, p, b.ptr, b.len - 1, "result cut by one byte");
    mc_buf_append(&b, "\xc0", 1);
    check_bad_result(s, p, b.ptr, b.len, "result with a trailing byte");
    char long_account[MC_ACCOUNT_MAX + 2];
    memset(long_account, 'a', sizeof(long_account) - 1);
    long_account[sizeof(long_account) - 1] = '\0';
    b.len = 0;
    mc_result_encode("approved", long_account, &b);
    check_bad_result(s, p, b.ptr, b.len, "account too long");
    b.len = 0;
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "state", 5);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "account", 7);
    msgpack_pack_str_with_body(&pk, "", 0);
    check_bad_result(s, p, b.ptr, b.len, "state of the wrong type");
    b.len = 0;
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "state", 5);
    msgpack_pack_str_with_body(&pk, "approved", 8);
    msgpack_pack_str_with_body(&pk, "account", 7);
    msgpack_pack_str_with_body(&pk, "", 0);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_str_with_body(&pk, "", 0);
    check_bad_result(s, p, b.ptr, b.len, "result with an unknown key");

    /* --- error bodies --- */
    mc_err e = {0};
    char long_code[40];
    memset(long_code, 'x', sizeof(long_code) - 1);
    long_code[sizeof(long_code) - 1] = '\0';
    mc_err_set(&e, 403, long_code, "no");
    b.len = 0;
    mc_error_encode(&e, &b);
    check_http_error(s, b.ptr, b.len, "code longer than the phone keeps");
    check_http_error(s, b.ptr, b.len - 1, "error cut by one byte");
    mc_err_set(&e, 403, "", "empty code");
    b.len = 0;
    mc_error_encode(&e, &b);
    check_http_error(s, b.ptr, b.len, "empty code");
    b.len = 0;
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "code", 4);
    msgpack_pack_int(&pk, 7);
    msgpack_pack_str_with_body(&pk, "message", 7);
    msgpack_pack_str_with_body(&pk, "m", 1);
    check_http_error(s, b.ptr, b.len, "code of the wrong type");
    check_http_error(s, "\x1b[2J\x1b]0;pwned\x07", 14, "terminal escapes");

    /* The same server telling the truth again is believed. */
    server_can(s, 0, "", 0);
    if (mc_phone_fetch(s->url, s->view.s.sid, &v, &pe) != 0)
        fail_msg("honest server: %s: %s", pe.code, pe.msg);

    mc_buf_free(&good);
    mc_buf_free(&b);
    mc_phone_free(p);
    server_stop(s);
}

/* ------------------------------------------------------------------ */
/* QR PNG through the real decoder                                     */

static void test_scan_png_reads_what_mc_qr_draws(void **state)
{
    fx *f = *state;
    char payload[MC_QR_PAYLOAD_MAX + 1], got[MC_QR_PAYLOAD_MAX + 1], path[128];
    char base[128], sid[MC_SID_LEN + 1];
    mc_err e = {0};
    mc_phone_err pe;
    mc_buf png = {0};

    assert_int_equal(mc_qr_payload("http://127.0.0.1:8080", "0123456789ABCDEFGHJK", payload, &e),
                     0);
    mc_qr *q = mc_qr_encode(payload, &e);
    assert_non_null(q);
    assert_int_equal(mc_qr_png(q, 6, &png, &e), 0);
    mc_qr_free(q);
    snprintf(path, sizeof(path), "%s/qr.png", f->root);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(png.ptr, 1, png.len, fp), png.len);
    fclose(fp);
    mc_buf_free(&png);

    if (mc_phone_scan_png(path, got, sizeof(got), &pe) != 0)
        fail_msg("scan: %s: %s", pe.code, pe.msg);
    assert_string_equal(got, payload);
    assert_int_equal(mc_qr_parse(got, strlen(got), base, sizeof(base), sid, &e), 0);
    assert_string_equal(base, "http://127.0.0.1:8080");
    assert_string_equal(sid, "0123456789ABCDEFGHJK");

    char tiny[8];
    assert_int_equal(mc_phone_scan_png(path, tiny, sizeof(tiny), &pe), -1);
    assert_string_equal(pe.code, "qr_too_long");

    snprintf(path, sizeof(path), "%s/not.png", f->root);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("this is not an image", fp);
    fclose(fp);
    assert_int_equal(mc_phone_scan_png(path, got, sizeof(got), &pe), -1);
    assert_string_equal(pe.code, "qr_unreadable");
}

/* ------------------------------------------------------------------ */
/* signing (purpose "sign"): what the phone signs, and its lies        */

/* A sign view with n documents (alg for every one), in caller storage. */
static void make_sign_view(mc_session_view *v, mc_sign_info *si, size_t n, const char *alg)
{
    make_view(v, MC_PURPOSE_SIGN);
    snprintf(v->s.account, sizeof(v->s.account), "alice");
    v->s.requester[0] = '\0';
    snprintf(v->requester_name, sizeof(v->requester_name), "Platform");
    memset(si, 0, sizeof(*si));
    si->ndocs = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(si->docs[i].name, sizeof(si->docs[i].name), "doc-%zu.pdf", i);
        si->docs[i].size = 1000 + i;
        snprintf(si->docs[i].alg, sizeof(si->docs[i].alg), "%s", alg);
        for (size_t k = 0; k < MC_DIGEST_LEN; k++)
            si->docs[i].digest[k] = (uint8_t)(16 * i + k);
    }
    si->signing_time = v->s.created;
    snprintf(si->text, sizeof(si->text), "bid 2024-001");
    v->sign = si;
}

/* Does sig verify over document i's signed attributes (with this digest
 * and time) under r's leaf key? */
static int doc_sig_verifies(const mc_response *r, const mc_slice *sig, int64_t when,
                            const uint8_t digest[32])
{
    uint8_t attrs[MC_CMS_ATTRS_LEN];
    mc_err e = {0};
    assert_int_equal(mc_cms_signed_attrs(when, digest, attrs, &e), 0);
    const unsigned char *p = r->chain[0].ptr;
    X509 *x = d2i_X509(NULL, &p, (long)r->chain[0].len);
    assert_non_null(x);
    int rc = mc_verify(X509_get0_pubkey(x), attrs, sizeof(attrs), sig->ptr, sig->len, &e);
    X509_free(x);
    return rc == 0;
}

static void check_sign_answer(fx *f, mc_alg alg)
{
    mc_phone *p = make_phone(f, alg == MC_ALG_SM2 ? "sm2" : "p256", alg);
    mc_session_view v;
    mc_sign_info si;
    make_sign_view(&v, &si, 3, alg == MC_ALG_SM2 ? "sm3" : "sha256");
    mc_buf tbs = {0}, body = {0}, expect = {0};
    mc_phone_err pe;
    mc_err e = {0};
    mc_response r;
    uint32_t number = v.s.choices[1];

    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, number, NULL, &tbs, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), 0);
    assert_string_equal(r.purpose, "sign");
    assert_int_equal(r.ndoc_sigs, 3);
    /* the 13-element TBS, as the server rebuilds it from its record */
    expected_tbs(&v, &r.chain[0], number, "approve", &expect);
    assert_int_equal(expect.ptr[0], 0x9d);
    assert_int_equal(tbs.len, expect.len);
    assert_memory_equal(tbs.ptr, expect.ptr, expect.len);
    assert_int_equal(verify_response(&r, &expect), 0);
    /* one signature per document, over that document's signed attributes */
    for (size_t i = 0; i < 3; i++) {
        assert_true(doc_sig_verifies(&r, &r.doc_sigs[i], si.signing_time, si.docs[i].digest));
        assert_false(doc_sig_verifies(&r, &r.doc_sigs[i], si.signing_time,
                                      si.docs[(i + 1) % 3].digest));
        assert_false(doc_sig_verifies(&r, &r.doc_sigs[i], si.signing_time + 1,
                                      si.docs[i].digest));
    }

    /* a reject signs the 13 elements too, and carries no document signature */
    body.len = expect.len = 0;
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_REJECT, 0, NULL, NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), 0);
    assert_int_equal(r.ndoc_sigs, 0);
    expected_tbs(&v, &r.chain[0], 0, "reject", &expect);
    assert_int_equal(verify_response(&r, &expect), 0);

    /* a sign view without its documents is refused locally */
    v.sign = NULL;
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, 1, NULL, NULL, &body, &pe), -1);
    assert_string_equal(pe.code, "bad_request");

    mc_buf_free(&tbs);
    mc_buf_free(&body);
    mc_buf_free(&expect);
    mc_phone_free(p);
}

static void test_sm2_sign_answer_signs_the_13_elements_and_each_document(void **state)
{
    check_sign_answer(*state, MC_ALG_SM2);
}

static void test_p256_sign_answer_signs_the_13_elements_and_each_document(void **state)
{
    check_sign_answer(*state, MC_ALG_P256);
}

/* Build a sign approval with ov; r is decoded (must decode). */
static void sign_build(mc_phone *p, const mc_session_view *v, const mc_phone_overrides *ov,
                       mc_buf *body, mc_response *r)
{
    mc_phone_err pe;
    mc_err e = {0};
    body->len = 0;
    if (mc_phone_build(p, v, MC_PHONE_APPROVE, v->s.choices[0], ov, NULL, body, &pe) != 0)
        fail_msg("build: %s: %s", pe.code, pe.msg);
    if (mc_response_decode(body->ptr, body->len, r, &e) != 0)
        fail_msg("decode: %s: %s", e.code, e.msg);
}

/* Does r's session signature cover the true TBS of v (approve, choices[0])? */
static int tbs_sig_true(const mc_session_view *v, const mc_response *r)
{
    mc_buf expect = {0};
    expected_tbs(v, &r->chain[0], v->s.choices[0], "approve", &expect);
    int ok = verify_response(r, &expect) == 0;
    mc_buf_free(&expect);
    return ok;
}

static void test_each_sign_lie_changes_one_thing(void **state)
{
    fx *f = *state;
    mc_phone *p = make_phone(f, "p", MC_ALG_P256);
    mc_session_view v, other;
    mc_sign_info si, osi;
    make_sign_view(&v, &si, 3, "sha256");
    make_sign_view(&other, &osi, 3, "sha256"); /* another session: other sid, nonce */
    other.s.choices[0] = v.s.choices[0];        /* (tbs_sig_true signs choices[0]) */
    mc_buf body = {0};
    mc_response r;
    mc_err e = {0};
    mc_phone_err pe;
    int64_t when = si.signing_time;

    /* swap two documents' signatures */
    static const size_t swap[] = {1, 0};
    mc_phone_overrides ov = {.doc_sig_order = swap, .doc_sig_order_len = 2};
    sign_build(p, &v, &ov, &body, &r);
    assert_true(tbs_sig_true(&v, &r));
    assert_int_equal(r.ndoc_sigs, 3);
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[0], when, si.docs[1].digest));
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[1], when, si.docs[0].digest));
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[2], when, si.docs[2].digest));
    assert_false(doc_sig_verifies(&r, &r.doc_sigs[0], when, si.docs[0].digest));

    /* sign a digest other than the one shown, for document 2 only */
    uint8_t evil[32];
    memset(evil, 0xee, sizeof(evil));
    ov = (mc_phone_overrides){.doc_digest = evil, .doc_digest_index = 2};
    sign_build(p, &v, &ov, &body, &r);
    assert_true(tbs_sig_true(&v, &r));
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[0], when, si.docs[0].digest));
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[1], when, si.docs[1].digest));
    assert_false(doc_sig_verifies(&r, &r.doc_sigs[2], when, si.docs[2].digest));
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[2], when, evil));

    /* another signing time in the document signatures */
    ov = (mc_phone_overrides){.set_doc_signing_time = 1, .doc_signing_time = when - 3600};
    sign_build(p, &v, &ov, &body, &r);
    assert_true(tbs_sig_true(&v, &r));
    assert_false(doc_sig_verifies(&r, &r.doc_sigs[0], when, si.docs[0].digest));
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[0], when - 3600, si.docs[0].digest));

    /* another session's TBS: the message and documents are this one's */
    ov = (mc_phone_overrides){.tbs_view = &other};
    sign_build(p, &v, &ov, &body, &r);
    assert_false(tbs_sig_true(&v, &r));
    assert_true(tbs_sig_true(&other, &r));
    assert_string_equal(r.sid, v.s.sid);
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[0], when, si.docs[0].digest));

    /* the TBS over other documents, or without any (11 elements) */
    ov = (mc_phone_overrides){.tbs_sign = &osi};
    osi.docs[1].size = 7;
    sign_build(p, &v, &ov, &body, &r);
    assert_false(tbs_sig_true(&v, &r));
    ov = (mc_phone_overrides){.tbs_no_docs = 1};
    sign_build(p, &v, &ov, &body, &r);
    assert_false(tbs_sig_true(&v, &r));
    {
        mc_buf b11 = {0};
        uint8_t fp[32];
        assert_int_equal(mc_cert_fingerprint(r.chain[0].ptr, r.chain[0].len, fp), 0);
        mc_tbs t = {.purpose = "sign", .sid = v.s.sid, .nonce = v.s.nonce, .origin = v.s.origin,
                    .account = v.s.account, .expires = v.s.expires, .cert_fp = fp,
                    .number = v.s.choices[0], .decision = "approve"};
        mc_tbs_encode(&t, &b11);
        assert_int_equal(b11.ptr[0], 0x9b);
        assert_int_equal(verify_response(&r, &b11), 0);
        mc_buf_free(&b11);
    }

    /* n-1 document signatures; and more than there are documents */
    ov = (mc_phone_overrides){.set_doc_sigs_count = 1, .doc_sigs_count = 2};
    sign_build(p, &v, &ov, &body, &r);
    assert_int_equal(r.ndoc_sigs, 2);
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[1], when, si.docs[1].digest));
    ov = (mc_phone_overrides){.set_doc_sigs_count = 1, .doc_sigs_count = 4};
    sign_build(p, &v, &ov, &body, &r);
    assert_int_equal(r.ndoc_sigs, 4);
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[3], when, si.docs[0].digest));
    /* signatures on a reject */
    body.len = 0;
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_REJECT, 0, &ov, NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), 0);
    assert_int_equal(r.ndoc_sigs, 4); /* the session signature, repeated */
    assert_memory_equal(r.doc_sigs[0].ptr, r.sig.ptr, r.sig.len);

    /* a sign answer without the doc_sigs key: the decoder refuses it */
    ov = (mc_phone_overrides){.doc_sigs_key = -1};
    body.len = 0;
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, 1, &ov, NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), -1);
    assert_non_null(strstr(e.msg, "\"doc_sigs\" is missing"));
    assert_null(memmem(body.ptr, body.len, "doc_sigs", 8));

    /* doc_sigs on a bind answer (the session signature as the one entry) */
    mc_session_view bv;
    make_view(&bv, MC_PURPOSE_BIND);
    ov = (mc_phone_overrides){.doc_sigs_key = 1, .set_doc_sigs_count = 1, .doc_sigs_count = 1};
    body.len = 0;
    assert_int_equal(mc_phone_build(p, &bv, MC_PHONE_APPROVE, 1, &ov, NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), -1);
    assert_non_null(strstr(e.msg, "\"doc_sigs\" is not allowed for purpose bind"));
    /* ... and with an empty array; the message is otherwise the true one */
    ov = (mc_phone_overrides){.doc_sigs_key = 1};
    body.len = 0;
    assert_int_equal(mc_phone_build(p, &bv, MC_PHONE_APPROVE, 1, &ov, NULL, &body, &pe), 0);
    assert_int_equal(body.ptr[0], 0x89);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), -1);
    body.len = 0;
    assert_int_equal(mc_phone_build(p, &bv, MC_PHONE_APPROVE, 1, NULL, NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), 0);

    /* bad lies are refused, not half-applied */
    static const size_t far[] = {5};
    ov = (mc_phone_overrides){.doc_sig_order = far, .doc_sig_order_len = 1};
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, 1, &ov, NULL, &body, &pe), -1);
    assert_string_equal(pe.code, "bad_override");
    ov = (mc_phone_overrides){.set_doc_sigs_count = 1, .doc_sigs_count = MC_DOCS_MAX + 1};
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, 1, &ov, NULL, &body, &pe), -1);
    assert_string_equal(pe.code, "bad_override");

    mc_buf_free(&body);
    mc_phone_free(p);
}

/* The value of key k in query q ("a=1&b=2"), into out. */
static void query_get(const char *q, const char *k, char *out, size_t size)
{
    size_t kl = strlen(k);
    for (const char *c = q; c != NULL && *c != '\0';) {
        const char *end = strchr(c, '&');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len > kl && strncmp(c, k, kl) == 0 && c[kl] == '=') {
            assert_true(len - kl - 1 < size);
            memcpy(out, c + kl + 1, len - kl - 1);
            out[len - kl - 1] = '\0';
            return;
        }
        c = end ? end + 1 : NULL;
    }
    fail_msg("no %s in %s", k, q);
}

/* Does the query's sig verify over tbs with the phone's key? */
static int inbox_sig_verifies(mc_phone *p, const char *query, const mc_buf *tbs)
{
    char hex[2 * MC_SIG_MAX + 1];
    uint8_t sig[MC_SIG_MAX];
    mc_err e = {0};
    query_get(query, "sig", hex, sizeof(hex));
    size_t n = strlen(hex) / 2;
    assert_int_equal(mc_unhex(hex, strlen(hex), sig, n), 0);
    mc_slice chain[MC_CHAIN_MAX];
    assert_true(mc_phone_chain(p, chain, MC_CHAIN_MAX) >= 1);
    const unsigned char *d = chain[0].ptr;
    X509 *x = d2i_X509(NULL, &d, (long)chain[0].len);
    int rc = mc_verify(X509_get0_pubkey(x), tbs->ptr, tbs->len, sig, n, &e);
    X509_free(x);
    return rc == 0;
}

static void check_inbox_query(fx *f, mc_alg alg)
{
    mc_phone *p = make_phone(f, alg == MC_ALG_SM2 ? "ism2" : "ip256", alg);
    char q[512], q2[512], val[200];
    mc_buf tbs = {0}, expect = {0};
    mc_phone_err pe;

    /* the base as the phone talks to it, lower-cased, no trailing '/' */
    assert_int_equal(mc_phone_inbox_build(p, "HTTP://127.0.0.1:8080/", 1000, NULL, q, sizeof(q),
                                          &tbs, &pe), 0);
    mc_slice chain[MC_CHAIN_MAX];
    assert_int_equal(mc_phone_chain(p, chain, MC_CHAIN_MAX), 1);
    uint8_t fp[32], nonce[MC_INBOX_NONCE_LEN];
    char fp_hex[65];
    assert_int_equal(mc_cert_fingerprint(chain[0].ptr, chain[0].len, fp), 0);
    mc_hex(fp, 32, fp_hex);
    query_get(q, "fp", val, sizeof(val));
    assert_string_equal(val, fp_hex);
    query_get(q, "ts", val, sizeof(val));
    assert_string_equal(val, "1000");
    query_get(q, "nonce", val, sizeof(val));
    assert_int_equal(strlen(val), 32);
    for (const char *c = val; *c; c++)
        assert_non_null(strchr("0123456789abcdef", *c));
    assert_int_equal(mc_unhex(val, 32, nonce, sizeof(nonce)), 0);
    mc_inbox_tbs_encode("http://127.0.0.1:8080", fp, 1000, nonce, &expect);
    assert_int_equal(tbs.len, expect.len);
    assert_memory_equal(tbs.ptr, expect.ptr, expect.len);
    assert_true(inbox_sig_verifies(p, q, &tbs));
    /* only the four parameters */
    assert_int_equal(strncmp(q, "fp=", 3), 0);
    int amps = 0;
    for (const char *c = q; *c; c++)
        amps += *c == '&';
    assert_int_equal(amps, 3);

    /* a fresh nonce every time */
    assert_int_equal(mc_phone_inbox_build(p, "http://127.0.0.1:8080", 1000, NULL, q2,
                                          sizeof(q2), NULL, &pe), 0);
    char n1[40], n2[40];
    query_get(q, "nonce", n1, sizeof(n1));
    query_get(q2, "nonce", n2, sizeof(n2));
    assert_string_not_equal(n1, n2);

    /* lies: a fixed (replayed) nonce, a skewed or set ts, a bad signature,
     * another base signed, another fingerprint */
    uint8_t fixed[MC_INBOX_NONCE_LEN];
    memset(fixed, 0xab, sizeof(fixed));
    mc_phone_overrides ov = {.inbox_nonce = fixed, .inbox_ts_skew = -301};
    tbs.len = 0;
    assert_int_equal(mc_phone_inbox_build(p, "http://127.0.0.1:8080", 1000, &ov, q, sizeof(q),
                                          &tbs, &pe), 0);
    query_get(q, "nonce", val, sizeof(val));
    assert_string_equal(val, "abababababababababababababababab");
    query_get(q, "ts", val, sizeof(val));
    assert_string_equal(val, "699");
    assert_true(inbox_sig_verifies(p, q, &tbs)); /* honest signature over the lie */
    ov = (mc_phone_overrides){.set_inbox_ts = 1, .inbox_ts = 42};
    tbs.len = 0;
    assert_int_equal(mc_phone_inbox_build(p, "http://127.0.0.1:8080", 1000, &ov, q, sizeof(q),
                                          &tbs, &pe), 0);
    query_get(q, "ts", val, sizeof(val));
    assert_string_equal(val, "42");
    ov = (mc_phone_overrides){.corrupt_inbox_sig = 1};
    tbs.len = 0;
    assert_int_equal(mc_phone_inbox_build(p, "http://127.0.0.1:8080", 1000, &ov, q, sizeof(q),
                                          &tbs, &pe), 0);
    assert_false(inbox_sig_verifies(p, q, &tbs));
    ov = (mc_phone_overrides){.inbox_tbs_base = "http://evil.example"};
    tbs.len = 0;
    assert_int_equal(mc_phone_inbox_build(p, "http://127.0.0.1:8080", 1000, &ov, q, sizeof(q),
                                          &tbs, &pe), 0);
    assert_non_null(memmem(tbs.ptr, tbs.len, "http://evil.example", 19));
    uint8_t ofp[32];
    memset(ofp, 0x11, sizeof(ofp));
    ov = (mc_phone_overrides){.inbox_fp = ofp};
    assert_int_equal(mc_phone_inbox_build(p, "http://127.0.0.1:8080", 1000, &ov, q, sizeof(q),
                                          NULL, &pe), 0);
    query_get(q, "fp", val, sizeof(val));
    assert_string_equal(val, "1111111111111111111111111111111111111111111111111111111111111111");

    /* no certificate: refused locally */
    char dir[128];
    store_dir(f, alg == MC_ALG_SM2 ? "ibare2" : "ibare", dir, sizeof(dir));
    assert_int_equal(mc_phone_init(dir, alg, PIN, "A", "B", USCC, &pe), 0);
    mc_phone *bare = mc_phone_open(dir, PIN, &pe);
    assert_non_null(bare);
    assert_int_equal(mc_phone_inbox_build(bare, "http://x", 1, NULL, q, sizeof(q), NULL, &pe),
                     -1);
    assert_string_equal(pe.code, "no_certificate");
    mc_phone_free(bare);

    mc_buf_free(&tbs);
    mc_buf_free(&expect);
    mc_phone_free(p);
}

static void test_sm2_inbox_query_is_signed_over_the_inbox_tbs(void **state)
{
    check_inbox_query(*state, MC_ALG_SM2);
}

static void test_p256_inbox_query_is_signed_over_the_inbox_tbs(void **state)
{
    check_inbox_query(*state, MC_ALG_P256);
}

/* The in-test server as a sign server: a sign view, an inbox. */
static void test_sign_fetch_inbox_and_answer_round_trip(void **state)
{
    fx *f = *state;
    test_server *s = server_start();
    mc_phone *p = make_phone(f, "p", MC_ALG_SM2);
    mc_phone_err pe;

    pthread_mutex_lock(&s->lock);
    make_sign_view(&s->view, &s->sign, 2, "sm3");
    s->inbox_entries = 1;
    mc_inbox_entry en = {.match = s->view.s.match, .created = s->view.s.created,
                         .expires = s->view.s.expires, .documents = 2};
    snprintf(en.sid, sizeof(en.sid), "%s", s->view.s.sid);
    snprintf(en.purpose, sizeof(en.purpose), "sign");
    snprintf(en.requester_name, sizeof(en.requester_name), "Platform");
    mc_inbox_entry_encode(&en, &s->inbox);
    pthread_mutex_unlock(&s->lock);

    /* without sign storage a sign view is a bad reply */
    mc_session_view v;
    assert_int_equal(mc_phone_fetch(s->url, s->view.s.sid, &v, &pe), -1);
    assert_string_equal(pe.code, "bad_reply");
    mc_sign_info si;
    assert_int_equal(mc_phone_fetch_any(s->url, s->view.s.sid, &v, &si, &pe), 0);
    assert_ptr_equal(v.sign, &si);
    assert_int_equal(si.ndocs, 2);
    assert_memory_equal(si.docs, s->sign.docs, 2 * sizeof(mc_doc));

    /* the inbox: entries, the server's clock, and what the phone sent */
    mc_inbox_entry got[4];
    size_t n = 0;
    int64_t now = 0;
    assert_int_equal(mc_phone_inbox(p, s->url, got, 4, &n, &now, NULL, &pe), 0);
    assert_int_equal(n, 1);
    assert_int_equal(now, 1700000000);
    const mc_inbox_entry *e = mc_phone_inbox_find(got, n, v.s.sid);
    assert_non_null(e);
    assert_int_equal(e->match, s->view.s.match);
    assert_null(mc_phone_inbox_find(got, n, "ABCDEFGHJKMNPQRSTVWX"));
    pthread_mutex_lock(&s->lock);
    assert_int_equal(strncmp(s->last_inbox_query, "fp=", 3), 0);
    pthread_mutex_unlock(&s->lock);
    /* room for none: more entries than max is a bad reply */
    assert_int_equal(mc_phone_inbox(p, s->url, got, 0, &n, &now, NULL, &pe), -1);
    assert_string_equal(pe.code, "bad_reply");

    /* answer with the inbox's match: one signature per document arrives */
    mc_phone_result res;
    assert_int_equal(mc_phone_respond(p, s->url, &v, MC_PHONE_APPROVE, e->match, NULL, &res,
                                      &pe), 0);
    assert_string_equal(res.state, "approved");
    pthread_mutex_lock(&s->lock);
    mc_buf body = {0};
    mc_buf_append(&body, s->last_response.ptr, s->last_response.len);
    pthread_mutex_unlock(&s->lock);
    mc_response r;
    mc_err me = {0};
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &me), 0);
    assert_int_equal(r.ndoc_sigs, 2);
    assert_int_equal(r.number, s->view.s.match);
    assert_true(doc_sig_verifies(&r, &r.doc_sigs[1], si.signing_time, si.docs[1].digest));
    mc_buf_free(&body);

    mc_phone_free(p);
    server_stop(s);
}

/* ------------------------------------------------------------------ */
/* renewal (PROTOCOL.md §10.6, §10.7)                                  */

static void read_store(const char *dir, const char *name, mc_buf *out)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    out->len = 0;
    mc_testenv_read_file(path, out);
}

static int store_has(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* The canned 200 of an approval: the reply for leaf x and the CA. */
static void can_approval(test_server *s, fx *f, X509 *x)
{
    mc_buf leaf = {0}, ca = {0}, body = {0};
    uint8_t fp[32];
    char hex[65];
    assert_int_equal(mc_x509_der(x, &leaf), 0);
    assert_int_equal(mc_x509_der(mc_ca_cert(f->ca), &ca), 0);
    assert_int_equal(mc_cert_fingerprint(leaf.ptr, leaf.len, fp), 0);
    mc_hex(fp, 32, hex);
    mc_slice chain[2] = {{leaf.ptr, leaf.len}, {ca.ptr, ca.len}};
    assert_int_equal(mc_result_renew_encode("approved", "alice", hex, chain, 2, &body), 0);
    server_can(s, 200, body.ptr, body.len);
    mc_buf_free(&leaf);
    mc_buf_free(&ca);
    mc_buf_free(&body);
}

/* A rekey whose reply is lost (503): the answer (signed with the current
 * key over the 14 elements, csr_hash of the CSR it carries) and the new key
 * are kept; sent again, the same bytes get the certificate, which is
 * installed with the old key and chain archived and findable. */
static void test_renew_rekey_keeps_its_answer_and_archives_the_old_key(void **state)
{
    fx *f = *state;
    test_server *s = server_start();
    char dir[128], oldfp[65], kname[96];
    mc_phone *p = make_phone(f, "ren", MC_ALG_P256);
    store_dir(f, "ren", dir, sizeof(dir));
    mc_slice old_leaf;
    assert_int_equal(mc_phone_chain(p, &old_leaf, 1), 1);
    const unsigned char *q = old_leaf.ptr;
    X509 *oldx = d2i_X509(NULL, &q, (long)old_leaf.len);
    assert_non_null(oldx);
    uint8_t ofp[32];
    assert_int_equal(mc_cert_fingerprint(old_leaf.ptr, old_leaf.len, ofp), 0);
    mc_hex(ofp, 32, oldfp);

    mc_session_view v;
    mc_renew_info ri = {.renewal = "XF202501010123456789", .serial = "0A", .not_after = 1000,
                        .new_not_after = 1798761600, .years = 2};
    make_view(&v, MC_PURPOSE_RENEW);
    v.renew = &ri;
    uint32_t number = v.s.choices[1];
    mc_phone_err pe;
    mc_phone_renewed out;
    mc_err e = {0};

    /* the reply is lost: everything is kept */
    mc_err se = {0};
    mc_buf eb = {0};
    mc_err_set(&se, 503, "store_unavailable", "down");
    mc_error_encode(&se, &eb);
    server_can(s, 503, eb.ptr, eb.len);
    assert_int_equal(mc_phone_renew(dir, PIN, s->url, &v, MC_PHONE_APPROVE, number, 1, NULL, &out,
                                    &pe), -1);
    assert_int_equal(pe.remote, 1);
    assert_string_equal(pe.code, "store_unavailable");
    assert_true(store_has(dir, "renew.msg") && store_has(dir, "renew.key") &&
                store_has(dir, "renew.csr"));
    int has = 0, rekey = 0;
    char sid[MC_SID_LEN + 1];
    assert_int_equal(mc_phone_renew_pending(dir, &has, sid, &rekey, &pe), 0);
    assert_true(has && rekey);
    assert_string_equal(sid, v.s.sid);

    /* what was sent: the 14 elements with the CSR's hash, signed with the
     * OLD (current) key; the CSR has the old subject and a new P-256 key */
    mc_buf msg = {0}, tbs = {0};
    read_store(dir, "renew.msg", &msg);
    mc_response r;
    assert_int_equal(mc_response_decode(msg.ptr, msg.len, &r, &e), 0);
    assert_true(r.has_csr && r.csr.len > 0);
    mc_renew_tbs rt = {.renewal = ri.renewal, .new_not_after = ri.new_not_after, .has_csr = 1};
    mc_sha256(r.csr.ptr, r.csr.len, rt.csr_hash);
    mc_tbs t = {.purpose = "renew", .sid = v.s.sid, .nonce = v.s.nonce, .origin = v.s.origin,
                .account = v.s.account, .expires = v.s.expires, .cert_fp = ofp,
                .number = number, .decision = "approve", .renew = &rt};
    mc_tbs_encode(&t, &tbs);
    assert_int_equal(tbs.ptr[0], 0x9e);
    assert_int_equal(mc_verify(X509_get0_pubkey(oldx), tbs.ptr, tbs.len, r.sig.ptr, r.sig.len,
                               &e), 0);
    q = r.csr.ptr;
    X509_REQ *req = d2i_X509_REQ(NULL, &q, (long)r.csr.len);
    assert_non_null(req);
    assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), X509_get_subject_name(oldx)),
                     0);
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), X509_get0_pubkey(oldx)), 0);
    assert_int_equal(mc_pkey_alg(X509_REQ_get0_pubkey(req)), MC_ALG_P256);

    /* a second try for the same session reuses the kept key and CSR */
    mc_buf msg2 = {0};
    assert_int_equal(mc_phone_renew(dir, PIN, s->url, &v, MC_PHONE_APPROVE, number, 1, NULL, &out,
                                    &pe), -1);
    read_store(dir, "renew.msg", &msg2);
    mc_response r2;
    assert_int_equal(mc_response_decode(msg2.ptr, msg2.len, &r2, &e), 0);
    assert_int_equal(r2.csr.len, r.csr.len);
    assert_memory_equal(r2.csr.ptr, r.csr.ptr, r.csr.len);

    /* a reply whose leaf is for another key than the CSR's: refused, nothing installed */
    can_approval(s, f, oldx);
    assert_int_equal(mc_phone_renew_resend(dir, PIN, s->url, NULL, &out, &pe), -1);
    assert_string_equal(pe.code, "key_mismatch");
    assert_false(store_has(dir, "keys"));
    assert_true(store_has(dir, "renew.msg"));

    /* the kept bytes again, and this time the certificate of the CSR */
    mc_buf csrpem = {0};
    read_store(dir, "renew.csr", &csrpem);
    X509 *newx = mc_ca_issue(f->ca, csrpem.ptr, csrpem.len, 30, &e);
    assert_non_null(newx);
    can_approval(s, f, newx);
    assert_int_equal(mc_phone_renew_resend(dir, PIN, s->url, NULL, &out, &pe), 0);
    assert_true(out.resent && out.rekey && out.installed);
    assert_string_equal(out.state, "approved");
    assert_string_equal(out.old_fp, oldfp);
    assert_false(store_has(dir, "renew.msg") || store_has(dir, "renew.key") ||
                 store_has(dir, "renew.csr") || store_has(dir, "renew.pub"));
    snprintf(kname, sizeof(kname), "keys/%s.key", oldfp);
    assert_true(store_has(dir, kname));
    snprintf(kname, sizeof(kname), "keys/%s.crt", oldfp);
    assert_true(store_has(dir, kname));

    /* the store now opens with the new key and certificate */
    mc_phone *p2 = mc_phone_open(dir, PIN, &pe);
    assert_non_null(p2);
    assert_int_equal(EVP_PKEY_eq(mc_phone_key(p2), X509_get0_pubkey(newx)), 1);
    mc_phone_free(p2);

    /* keys: current first, then the archived one */
    mc_phone_keyent ents[4];
    size_t n = 0;
    assert_int_equal(mc_phone_keys(dir, ents, 4, &n, &pe), 0);
    assert_int_equal(n, 2);
    assert_true(ents[0].current && !ents[1].current);
    assert_string_equal(ents[0].leaf.fp_hex, out.fp);
    assert_string_equal(ents[1].leaf.fp_hex, oldfp);

    /* the old key, by fingerprint and by issuer + serial (a CMS rid) */
    X509 *got = NULL;
    int current = -1;
    mc_phone_keyid byfp = {.fp = ofp};
    EVP_PKEY *k = mc_phone_find_key(dir, PIN, &byfp, &got, &current, &pe);
    assert_non_null(k);
    assert_int_equal(current, 0);
    assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(oldx)), 1);
    assert_int_equal(X509_cmp(got, oldx), 0);
    EVP_PKEY_free(k);
    X509_free(got);
    mc_phone_keyid byis = {.issuer = X509_get_issuer_name(oldx),
                           .serial = X509_get0_serialNumber(oldx)};
    k = mc_phone_find_key(dir, PIN, &byis, NULL, &current, &pe);
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(oldx)), 1);
    EVP_PKEY_free(k);
    mc_phone_keyid byski = {.ski = X509_get0_subject_key_id(newx)};
    k = mc_phone_find_key(dir, PIN, &byski, NULL, &current, &pe);
    assert_non_null(k);
    assert_int_equal(current, 1);
    EVP_PKEY_free(k);
    uint8_t nofp[32] = {1};
    mc_phone_keyid none = {.fp = nofp};
    assert_null(mc_phone_find_key(dir, PIN, &none, NULL, NULL, &pe));
    assert_string_equal(pe.code, "not_found");
    assert_null(mc_phone_find_key(dir, "999999", &byfp, NULL, NULL, &pe));
    assert_string_equal(pe.code, "bad_pin");

    /* a renewal keeping the key: csr empty, csr_hash bin(0); a reply that
     * is not for the current key is refused, and a refusal (4xx) spends
     * the kept answer */
    can_approval(s, f, oldx);
    assert_int_equal(mc_phone_renew(dir, PIN, s->url, &v, MC_PHONE_APPROVE, number, 0, NULL, &out,
                                    &pe), -1);
    assert_string_equal(pe.code, "key_mismatch");
    read_store(dir, "renew.msg", &msg);
    assert_int_equal(mc_response_decode(msg.ptr, msg.len, &r, &e), 0);
    assert_true(r.has_csr);
    assert_int_equal(r.csr.len, 0);
    mc_err_set(&se, 409, "wrong_number", "no");
    eb.len = 0;
    mc_error_encode(&se, &eb);
    server_can(s, 409, eb.ptr, eb.len);
    assert_int_equal(mc_phone_renew_resend(dir, PIN, s->url, NULL, &out, &pe), -1);
    assert_string_equal(pe.code, "wrong_number");
    assert_false(store_has(dir, "renew.msg"));

    X509_REQ_free(req);
    X509_free(oldx);
    X509_free(newx);
    mc_buf_free(&csrpem);
    mc_buf_free(&msg);
    mc_buf_free(&msg2);
    mc_buf_free(&tbs);
    mc_buf_free(&eb);
    mc_phone_free(p);
    server_stop(s);
}

/* The renewal lies change one thing each: the TBS's renewal,
 * new_not_after, csr_hash, or the CSR sent (the hash follows it). */
static void test_each_renew_lie_changes_one_thing(void **state)
{
    fx *f = *state;
    mc_phone *p = make_phone(f, "renlie", MC_ALG_SM2);
    mc_session_view v;
    mc_renew_info ri = {.renewal = "XF202501010123456789", .serial = "0A", .not_after = 1000,
                        .new_not_after = 1798761600, .years = 1};
    make_view(&v, MC_PURPOSE_RENEW);
    v.renew = &ri;
    static const uint8_t csr[] = {0x30, 0x03, 0x02, 0x01, 0x00}, other[] = {0x30, 0x00};
    const mc_slice oth = {other, sizeof(other)};
    uint8_t h[32], zero[32] = {0};
    mc_sha256(csr, sizeof(csr), h);
    mc_phone_err pe;
    mc_err e = {0};
    struct {
        mc_phone_overrides ov;
        const char *renewal;
        int64_t nna;
        const uint8_t *hash; /* NULL: bin(0) */
        size_t sent;         /* csr bytes sent */
    } cases[] = {
        {{0}, "XF202501010123456789", 1798761600, h, sizeof(csr)},
        {{.tbs_renewal = "XF209901010123456789"}, "XF209901010123456789", 1798761600, h,
         sizeof(csr)},
        {{.set_tbs_new_not_after = 1, .tbs_new_not_after = 5}, "XF202501010123456789", 5, h,
         sizeof(csr)},
        {{.tbs_csr_hash = zero}, "XF202501010123456789", 1798761600, zero, sizeof(csr)},
        {{.tbs_csr_empty = 1}, "XF202501010123456789", 1798761600, NULL, sizeof(csr)},
        {{.renew_csr = &oth}, "XF202501010123456789", 1798761600, NULL, sizeof(other)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mc_buf tbs = {0}, body = {0}, want = {0};
        uint8_t oh[32];
        if (mc_phone_build_renew(p, &v, MC_PHONE_APPROVE, 42, (mc_slice){csr, sizeof(csr)},
                                 &cases[i].ov, &tbs, &body, &pe) != 0)
            fail_msg("case %zu: %s", i, pe.msg);
        mc_response r;
        assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), 0);
        assert_int_equal(r.csr.len, cases[i].sent);
        const uint8_t *hash = cases[i].hash;
        if (cases[i].ov.renew_csr != NULL) {
            mc_sha256(other, sizeof(other), oh);
            hash = oh;
        }
        mc_renew_tbs rt = {.renewal = cases[i].renewal, .new_not_after = cases[i].nna,
                           .has_csr = hash != NULL};
        if (hash != NULL)
            memcpy(rt.csr_hash, hash, 32);
        uint8_t fp[32];
        assert_int_equal(mc_cert_fingerprint(r.chain[0].ptr, r.chain[0].len, fp), 0);
        mc_tbs t = {.purpose = "renew", .sid = v.s.sid, .nonce = v.s.nonce,
                    .origin = v.s.origin, .account = v.s.account, .expires = v.s.expires,
                    .cert_fp = fp, .number = 42, .decision = "approve", .renew = &rt};
        mc_tbs_encode(&t, &want);
        assert_int_equal(tbs.len, want.len);
        assert_memory_equal(tbs.ptr, want.ptr, want.len);
        assert_int_equal(verify_response(&r, &want), 0);
        mc_buf_free(&tbs);
        mc_buf_free(&body);
        mc_buf_free(&want);
    }
    /* csr_key: on a bind answer, and left out of a renew one */
    mc_phone_overrides add = {.csr_key = 1}, drop = {.csr_key = -1};
    mc_buf body = {0};
    mc_response r;
    assert_int_equal(mc_phone_build_renew(p, &v, MC_PHONE_APPROVE, 42, (mc_slice){NULL, 0}, &drop,
                                          NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), -1);
    assert_non_null(strstr(e.msg, "\"csr\" is missing"));
    mc_session_view bv;
    make_view(&bv, MC_PURPOSE_BIND);
    body.len = 0;
    assert_int_equal(mc_phone_build(p, &bv, MC_PHONE_APPROVE, 42, &add, NULL, &body, &pe), 0);
    assert_int_equal(mc_response_decode(body.ptr, body.len, &r, &e), -1);
    assert_non_null(strstr(e.msg, "\"csr\" is not allowed for purpose bind"));
    /* a renew view without its data is not answered */
    v.renew = NULL;
    assert_int_equal(mc_phone_build(p, &v, MC_PHONE_APPROVE, 42, NULL, NULL, &body, &pe), -1);
    assert_string_equal(pe.code, "bad_request");
    mc_buf_free(&body);
    mc_phone_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_init_sm2_csr_verifies_with_the_distinguishing_id),
        T(test_init_p256_csr_verifies),
        T(test_init_refuses_bad_input_and_an_existing_store),
        T(test_open_with_the_right_pin_and_not_with_a_wrong_one),
        T(test_import_refuses_a_certificate_for_another_key),
        T(test_import_refuses_bad_pem_der_and_too_many_certificates),
        T(test_a_corrupt_store_is_bad_store_and_only_a_wrong_pin_is_bad_pin),
        T(test_sm2_signature_over_the_tbs_verifies_with_the_leaf_key),
        T(test_p256_signature_over_the_tbs_verifies_with_the_leaf_key),
        T(test_each_override_lies_in_one_place_only),
        cmocka_unit_test(test_http_status_body_and_reply_header),
        cmocka_unit_test(test_http_sends_binary_bodies_methods_and_headers),
        cmocka_unit_test(test_http_reads_the_413_of_a_server_that_refuses_a_large_body),
        cmocka_unit_test(test_http_times_out_on_a_server_that_never_answers),
        cmocka_unit_test(test_http_reports_connection_refused),
        cmocka_unit_test(test_http_refuses_bad_urls_methods_and_headers),
        cmocka_unit_test(test_http_client_reuses_its_connection_and_drops_it_after_a_timeout),
        T(test_fetch_and_respond_round_trip),
        cmocka_unit_test(test_fetch_reports_network_errors_locally),
        T(test_phone_refuses_malformed_replies_from_a_hostile_server),
        T(test_scan_png_reads_what_mc_qr_draws),
        T(test_sm2_sign_answer_signs_the_13_elements_and_each_document),
        T(test_p256_sign_answer_signs_the_13_elements_and_each_document),
        T(test_each_sign_lie_changes_one_thing),
        T(test_sm2_inbox_query_is_signed_over_the_inbox_tbs),
        T(test_p256_inbox_query_is_signed_over_the_inbox_tbs),
        T(test_sign_fetch_inbox_and_answer_round_trip),
        T(test_renew_rekey_keeps_its_answer_and_archives_the_old_key),
        T(test_each_renew_lie_changes_one_thing),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
