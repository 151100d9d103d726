/*
 * test_proto.c — tests of core/proto/mc_proto.c: the signed bytes and the phone
 * messages.
 *
 * Why: the TBS bytes are a cross-implementation contract (a phone app in
 * another language must produce them bit for bit), so they are pinned to a
 * hex string derived by hand from the msgpack spec, not from msgpack-c's
 * output. The decoders face hostile phones, so each one gets the same
 * battery of malformed frames beside its round trip.
 *
 * Design: messages for the hostile cases are built from a small table of
 * (key, value-kind) entries packed with msgpack-c, so each test changes one
 * thing of an otherwise valid message. Non-goals: no network, no crypto.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mc_crypto.h"
#include "mc_proto.h"
#include "mc_results.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

/* Strip spaces from a hand-written hex string. */
static void hex_compact(const char *in, char *out)
{
    for (; *in; in++)
        if (*in != ' ' && *in != '\n')
            *out++ = *in;
    *out = '\0';
}

static void assert_buf_hex(const mc_buf *b, const char *spaced_hex)
{
    char *want = malloc(strlen(spaced_hex) + 1);
    char *got = malloc(2 * b->len + 1);
    assert_non_null(want);
    assert_non_null(got);
    hex_compact(spaced_hex, want);
    mc_hex(b->ptr, b->len, got);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

static int pk_write(void *data, const char *buf, size_t len)
{
    mc_buf_append((mc_buf *)data, buf, len);
    return 0;
}

typedef enum vkind {
    V_STR,      /* s, slen */
    V_UINT,     /* u */
    V_NEGINT,   /* i */
    V_BIN,      /* binlen bytes */
    V_NIL,
    V_F64,      /* 7.0: a float where the protocol wants something else */
    V_ARR_UINT, /* count elements u, u+1, ... */
    V_ARR_BIN,  /* count elements of binlen bytes */
    V_ARR_STR,  /* count elements "x" */
    V_RAW,      /* slen bytes of s, already msgpack, inserted as they are */
} vkind;

typedef struct entry {
    const char *key;
    vkind kind;
    const char *s;
    size_t slen;
    uint64_t u;
    int64_t i;
    size_t binlen;
    size_t count;
} entry;

#define E_STR(k, str) {(k), V_STR, (str), sizeof(str) - 1, 0, 0, 0, 0}
#define E_STRN(k, p, n) {(k), V_STR, (p), (n), 0, 0, 0, 0}
#define E_UINT(k, v) {(k), V_UINT, NULL, 0, (v), 0, 0, 0}
#define E_NEGINT(k, v) {(k), V_NEGINT, NULL, 0, 0, (v), 0, 0}
#define E_BIN(k, n) {(k), V_BIN, NULL, 0, 0, 0, (n), 0}
#define E_NIL(k) {(k), V_NIL, NULL, 0, 0, 0, 0, 0}
#define E_F64(k) {(k), V_F64, NULL, 0, 0, 0, 0, 0}
#define E_ARR_UINT(k, first, cnt) {(k), V_ARR_UINT, NULL, 0, (first), 0, 0, (cnt)}
#define E_ARR_BIN(k, binlen, cnt) {(k), V_ARR_BIN, NULL, 0, 0, 0, (binlen), (cnt)}
#define E_ARR_STR(k, cnt) {(k), V_ARR_STR, NULL, 0, 0, 0, 0, (cnt)}
#define E_RAW(k, p, n) {(k), V_RAW, (const char *)(p), (n), 0, 0, 0, 0}

static void pack_value(msgpack_packer *pk, const entry *e)
{
    static const uint8_t bytes[MC_CERT_DER_MAX + 16];
    switch (e->kind) {
    case V_STR:
        msgpack_pack_str(pk, e->slen);
        msgpack_pack_str_body(pk, e->s, e->slen);
        break;
    case V_UINT:
        msgpack_pack_uint64(pk, e->u);
        break;
    case V_NEGINT:
        msgpack_pack_int64(pk, e->i);
        break;
    case V_BIN:
        msgpack_pack_bin(pk, e->binlen);
        msgpack_pack_bin_body(pk, bytes, e->binlen);
        break;
    case V_NIL:
        msgpack_pack_nil(pk);
        break;
    case V_F64:
        msgpack_pack_double(pk, 7.0);
        break;
    case V_ARR_UINT:
        msgpack_pack_array(pk, e->count);
        for (size_t j = 0; j < e->count; j++)
            msgpack_pack_uint64(pk, e->u + j);
        break;
    case V_ARR_BIN:
        msgpack_pack_array(pk, e->count);
        for (size_t j = 0; j < e->count; j++) {
            msgpack_pack_bin(pk, e->binlen);
            msgpack_pack_bin_body(pk, bytes, e->binlen);
        }
        break;
    case V_ARR_STR:
        msgpack_pack_array(pk, e->count);
        for (size_t j = 0; j < e->count; j++) {
            msgpack_pack_str(pk, 1);
            msgpack_pack_str_body(pk, "x", 1);
        }
        break;
    case V_RAW: /* the packer writes through pk_write at once: no buffering */
        mc_buf_append((mc_buf *)pk->data, e->s, e->slen);
        break;
    }
}

static void pack_entries(mc_buf *out, const entry *e, size_t n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, pk_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_str(&pk, strlen(e[i].key));
        msgpack_pack_str_body(&pk, e[i].key, strlen(e[i].key));
        pack_value(&pk, &e[i]);
    }
}

static entry *find_entry(entry *e, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0)
            return &e[i];
    fail_msg("no entry %s", key);
    return NULL;
}

/* A valid response as entries. */
#define RESP_N 8
static const entry resp_base[RESP_N] = {
    E_UINT("v", 1),
    E_STR("sid", "ABCDEFGHJKMNPQRSTVWX"),
    E_STR("purpose", "bind"),
    E_STR("origin", "https://ca.example"),
    E_STR("decision", "approve"),
    E_UINT("number", 42),
    E_ARR_BIN("chain", 300, 2),
    E_BIN("sig", 71),
};

/* A valid session view as entries. */
#define VIEW_N 15
static const entry view_base[VIEW_N] = {
    E_UINT("v", 1),
    E_STR("sid", "ABCDEFGHJKMNPQRSTVWX"),
    E_STR("purpose", "login"),
    E_STR("state", "pending"),
    E_BIN("nonce", 32),
    E_STR("origin", "https://ca.example"),
    E_STR("account", ""),
    E_STR("requester", ""),
    E_STR("requester_name", ""),
    E_STR("org_name", ""),
    E_STR("ip", "192.0.2.1"),
    E_STR("ua", "Mozilla/5.0"),
    E_UINT("created", 1700000000),
    E_UINT("expires", 1700000120),
    E_ARR_UINT("choices", 10, 3),
};

static const uint8_t fixed_nonce[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t fixed_fp[32] = {
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
    0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
    0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

/* ------------------------------------------------------------------ */
/* TBS                                                                 */
/* ------------------------------------------------------------------ */

/*
 * The fixed example, derived by hand from the msgpack spec
 * (https://github.com/msgpack/msgpack/blob/master/spec.md):
 *
 *   9b                      fixarray, 11 elements (0x90 | 11)
 *   a9 6d6365 72742d 746273 fixstr len 9 (0xa0 | 9) "mcert-tbs"
 *   01                      positive fixint 1 (version)
 *   a4 62696e64             fixstr len 4 "bind"
 *   b4 4142434445464748 4a4b4d4e50515253 5456 5758
 *                           fixstr len 20 (0xa0 | 0x14) "ABCDEFGHJKMNPQRSTVWX"
 *   c4 20 00..1f            bin8 len 32: the nonce 00 01 .. 1f
 *   b2 68747470733a2f2f 63612e6578616d706c65
 *                           fixstr len 18 (0xa0 | 0x12) "https://ca.example"
 *   a5 616c696365           fixstr len 5 "alice"
 *   cd 03e8                 uint16 1000 (expires; > 0x7f and > 0xff so
 *                           neither fixint nor uint8)
 *   c4 20 e0..ff            bin8 len 32: cert_fp e0 e1 .. ff
 *   2a                      positive fixint 42 (number)
 *   a7 617070726f7665       fixstr len 7 "approve"
 * Total 1+10+1+5+21+34+19+6+3+34+1+8 = 143 bytes.
 */
#define TBS_FIXED_HEX                                                       \
    "9b"                                                                    \
    "a9 6d 63 65 72 74 2d 74 62 73"                                         \
    "01"                                                                    \
    "a4 62 69 6e 64"                                                        \
    "b4 41 42 43 44 45 46 47 48 4a 4b 4d 4e 50 51 52 53 54 56 57 58"        \
    "c4 20 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"                 \
    "      10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"                 \
    "b2 68 74 74 70 73 3a 2f 2f 63 61 2e 65 78 61 6d 70 6c 65"              \
    "a5 61 6c 69 63 65"                                                     \
    "cd 03 e8"                                                              \
    "c4 20 e0 e1 e2 e3 e4 e5 e6 e7 e8 e9 ea eb ec ed ee ef"                 \
    "      f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff"                 \
    "2a"                                                                    \
    "a7 61 70 70 72 6f 76 65"

static mc_tbs fixed_tbs(void)
{
    mc_tbs t = {
        .purpose = "bind",
        .sid = "ABCDEFGHJKMNPQRSTVWX",
        .nonce = fixed_nonce,
        .origin = "https://ca.example",
        .account = "alice",
        .expires = 1000,
        .cert_fp = fixed_fp,
        .number = 42,
        .decision = "approve",
    };
    return t;
}

static void tbs_fixed_example_matches_hand_derived_hex(void **state)
{
    (void)state;
    mc_tbs t = fixed_tbs();
    mc_buf b = {0};
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.len, 143);
    assert_buf_hex(&b, TBS_FIXED_HEX);
    mc_buf_free(&b);
}

/*
 * Second example: expires 1700000000 = 0x6553f100 needs uint32
 * (ce 65 53 f1 00); origin "https://" + 32 x 'a' is 40 bytes, past fixstr's
 * 31-byte limit, so str8: d9 28 (0x28 = 40); number 200 > 127 is uint8
 * (cc c8); account "" is fixstr a0; decision "reject" is a6 72656a656374.
 */
static void tbs_uint32_expires_and_str8_origin(void **state)
{
    (void)state;
    mc_tbs t = fixed_tbs();
    t.origin = "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assert_int_equal(strlen(t.origin), 40);
    t.account = "";
    t.expires = 1700000000;
    t.number = 200;
    t.decision = "reject";
    mc_buf b = {0};
    mc_tbs_encode(&t, &b);
    assert_buf_hex(&b,
        "9b"
        "a9 6d 63 65 72 74 2d 74 62 73"
        "01"
        "a4 62 69 6e 64"
        "b4 41 42 43 44 45 46 47 48 4a 4b 4d 4e 50 51 52 53 54 56 57 58"
        "c4 20 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
        "      10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"
        "d9 28 68 74 74 70 73 3a 2f 2f"
        "      61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61"
        "      61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61"
        "a0"
        "ce 65 53 f1 00"
        "c4 20 e0 e1 e2 e3 e4 e5 e6 e7 e8 e9 ea eb ec ed ee ef"
        "      f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff"
        "cc c8"
        "a6 72 65 6a 65 63 74");
    mc_buf_free(&b);
}

/* The origin header sits at offset 1+10+1+5+21+34 = 72. */
static void tbs_origin_fixstr_str8_boundary_at_31_32(void **state)
{
    (void)state;
    char origin[40];
    mc_tbs t = fixed_tbs();
    t.origin = origin;

    memset(origin, 'o', 31);
    origin[31] = '\0';
    mc_buf b = {0};
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.ptr[72], 0xbf);     /* fixstr 31 */
    assert_int_equal(b.ptr[73], 'o');
    assert_int_equal(b.len, 143 - 18 + 31);
    mc_buf_free(&b);

    memset(origin, 'o', 32);
    origin[32] = '\0';
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.ptr[72], 0xd9);     /* str8 */
    assert_int_equal(b.ptr[73], 0x20);     /* 32 */
    assert_int_equal(b.ptr[74], 'o');
    assert_int_equal(b.len, 143 - 18 + 1 + 32);
    mc_buf_free(&b);
}

/* Shortest int forms for expires at the width boundaries (offset 72+19+6). */
static void tbs_expires_uses_shortest_int_forms(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *hex;
    } cases[] = {
        {0, "00"},           {127, "7f"},
        {128, "cc80"},       {255, "ccff"},
        {256, "cd0100"},     {65535, "cdffff"},
        {65536, "ce00010000"},
        {4294967295LL, "ceffffffff"},
        {4294967296LL, "cf0000000100000000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mc_tbs t = fixed_tbs();
        t.expires = cases[i].v;
        mc_buf b = {0};
        mc_tbs_encode(&t, &b);
        size_t hl = strlen(cases[i].hex) / 2;
        char got[32];
        assert_true(b.len >= 97 + hl);
        mc_hex(b.ptr + 97, hl, got);
        assert_string_equal(got, cases[i].hex);
        assert_int_equal(b.ptr[97 + hl], 0xc4); /* cert_fp follows */
        mc_buf_free(&b);
    }
}

/* ------------------------------------------------------------------ */
/* round trips                                                         */
/* ------------------------------------------------------------------ */

static void response_encode_decode_round_trip(void **state)
{
    (void)state;
    uint8_t c0[500], c1[1200], sig[71];
    for (size_t i = 0; i < sizeof(c0); i++)
        c0[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(c1); i++)
        c1[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(sig); i++)
        sig[i] = (uint8_t)(0x30 + i);

    mc_response r;
    memset(&r, 0, sizeof(r));
    r.v = MC_PROTO_VERSION;
    strcpy(r.sid, "0123456789ABCDEFGHJK");
    strcpy(r.purpose, "login");
    strcpy(r.origin, "https://ca.example:8443");
    strcpy(r.decision, "approve");
    r.number = 57;
    r.chain[0] = (mc_slice){c0, sizeof(c0)};
    r.chain[1] = (mc_slice){c1, sizeof(c1)};
    r.nchain = 2;
    r.sig = (mc_slice){sig, sizeof(sig)};

    mc_buf b = {0};
    mc_response_encode(&r, &b);

    mc_response d;
    mc_err err;
    mc_err_clear(&err);
    assert_int_equal(mc_response_decode(b.ptr, b.len, &d, &err), 0);
    assert_int_equal(d.v, 1);
    assert_string_equal(d.sid, r.sid);
    assert_string_equal(d.purpose, "login");
    assert_string_equal(d.origin, r.origin);
    assert_string_equal(d.decision, "approve");
    assert_int_equal(d.number, 57);
    assert_int_equal(d.nchain, 2);
    assert_int_equal(d.chain[0].len, sizeof(c0));
    assert_memory_equal(d.chain[0].ptr, c0, sizeof(c0));
    assert_int_equal(d.chain[1].len, sizeof(c1));
    assert_memory_equal(d.chain[1].ptr, c1, sizeof(c1));
    assert_int_equal(d.sig.len, sizeof(sig));
    assert_memory_equal(d.sig.ptr, sig, sizeof(sig));
    /* slices point into the input buffer */
    assert_true(d.chain[0].ptr > b.ptr && d.chain[0].ptr < b.ptr + b.len);
    assert_true(d.sig.ptr > b.ptr && d.sig.ptr + d.sig.len == b.ptr + b.len);

    /* reject with number 0 and 4 certs (the most a chain holds) too */
    static uint8_t big[MC_CERT_DER_MAX];
    strcpy(r.decision, "reject");
    r.number = 0;
    for (int i = 0; i < 3; i++)
        r.chain[i] = (mc_slice){big, 1000};
    r.chain[3] = (mc_slice){big, 100};
    r.nchain = 4;
    b.len = 0;
    mc_response_encode(&r, &b);
    assert_int_equal(mc_response_decode(b.ptr, b.len, &d, &err), 0);
    assert_string_equal(d.decision, "reject");
    assert_int_equal(d.number, 0);
    assert_int_equal(d.nchain, 4);
    mc_buf_free(&b);
}

static void fill_view(mc_session_view *v)
{
    memset(v, 0, sizeof(*v));
    strcpy(v->s.sid, "MNPQRSTVWXYZ01234567");
    v->s.purpose = MC_PURPOSE_BIND;
    strcpy(v->s.state, "scanned");
    for (int i = 0; i < MC_NONCE_LEN; i++)
        v->s.nonce[i] = (uint8_t)(0xa5 ^ i);
    strcpy(v->s.origin, "https://ca.example");
    strcpy(v->s.account, "bob.smith");
    strcpy(v->s.requester, "alice");
    strcpy(v->s.ip, "2001:db8::1");
    strcpy(v->s.ua, "Mozilla/5.0 (X11; Linux x86_64)");
    v->s.created = 1700000000;
    v->s.expires = 1700000120;
    v->s.match = 42;
    v->s.choices[0] = 17;
    v->s.choices[1] = 42;
    v->s.choices[2] = 99;
    strcpy(v->requester_name, "\xe5\xbc\xa0\xe4\xb8\x89"); /* 张三 */
    strcpy(v->org_name, "\xe6\x9f\x90\xe7\xa7\x91\xe6\x8a\x80\xe6\x9c\x89"
                        "\xe9\x99\x90\xe5\x85\xac\xe5\x8f\xb8"); /* 某科技有限公司 */
}

static void view_encode_decode_round_trip_without_match(void **state)
{
    (void)state;
    mc_session_view v, d = {.sign = NULL}; /* sign: caller storage, here none */
    fill_view(&v);
    mc_buf b = {0};
    mc_view_encode(&v, &b);
    mc_err err;
    mc_err_clear(&err);
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_string_equal(d.s.sid, v.s.sid);
    assert_int_equal(d.s.purpose, MC_PURPOSE_BIND);
    assert_string_equal(d.s.state, "scanned");
    assert_memory_equal(d.s.nonce, v.s.nonce, MC_NONCE_LEN);
    assert_string_equal(d.s.origin, v.s.origin);
    assert_string_equal(d.s.account, v.s.account);
    assert_string_equal(d.s.requester, v.s.requester);
    assert_string_equal(d.s.ip, v.s.ip);
    assert_string_equal(d.s.ua, v.s.ua);
    assert_int_equal(d.s.created, v.s.created);
    assert_int_equal(d.s.expires, v.s.expires);
    assert_int_equal(d.s.match, 0); /* never sent */
    assert_memory_equal(d.s.choices, v.s.choices, sizeof(v.s.choices));
    assert_string_equal(d.requester_name, v.requester_name);
    assert_string_equal(d.org_name, v.org_name);
    /* the match value is not in the bytes as a "match" key */
    assert_null(memmem(b.ptr, b.len, "match", 5));

    /* negative and large times survive */
    v.s.created = -5;
    v.s.expires = INT64_MAX;
    b.len = 0;
    mc_view_encode(&v, &b);
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_int_equal(d.s.created, -5);
    assert_int_equal(d.s.expires, INT64_MAX);
    mc_buf_free(&b);
}

static void error_and_result_round_trip(void **state)
{
    (void)state;
    mc_err e;
    mc_err_set(&e, 403, "cert_untrusted", "certificate does not chain: %d", 7);
    mc_buf b = {0};
    mc_error_encode(&e, &b);
    char code[32], msg[160];
    assert_int_equal(mc_error_decode(b.ptr, b.len, code, sizeof(code), msg,
                                     sizeof(msg)), 0);
    assert_string_equal(code, "cert_untrusted");
    assert_string_equal(msg, "certificate does not chain: 7");
    /* code does not fit the caller's buffer: rejected, not truncated */
    assert_int_equal(mc_error_decode(b.ptr, b.len, code, 5, msg, sizeof(msg)),
                     -1);
    assert_string_equal(code, "");

    b.len = 0;
    mc_result_encode("approved", "alice", &b);
    char st[12], acct[MC_ACCOUNT_MAX + 1];
    mc_err err;
    assert_int_equal(mc_result_decode(b.ptr, b.len, st, sizeof(st), acct,
                                      sizeof(acct), &err), 0);
    assert_string_equal(st, "approved");
    assert_string_equal(acct, "alice");
    b.len = 0;
    mc_result_encode("rejected", "", &b);
    assert_int_equal(mc_result_decode(b.ptr, b.len, st, sizeof(st), acct,
                                      sizeof(acct), &err), 0);
    assert_string_equal(st, "rejected");
    assert_string_equal(acct, "");
    mc_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* mc_mp_check                                                         */
/* ------------------------------------------------------------------ */

static int mp_ok(const uint8_t *p, size_t n)
{
    mc_err err;
    mc_err_clear(&err);
    int rc = mc_mp_check(p, n, MC_PHONE_BODY_MAX, &err);
    if (rc != 0) {
        assert_non_null(err.code);
        assert_true(strcmp(err.code, "bad_msgpack") == 0 ||
                    strcmp(err.code, "too_large") == 0);
    }
    return rc;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mp_check_accepts_well_formed_objects(void **state)
{
    (void)state;
    static const uint8_t ok1[] = {0x01};
    static const uint8_t ok2[] = {0x90};
    static const uint8_t ok3[] = {0x80};
    static const uint8_t ok4[] = {0x92, 0xa1, 'x', 0x81, 0xc0, 0xc3};
    static const uint8_t ok5[] = {0xdd, 0, 0, 0, 3, 1, 2, 3}; /* array32 */
    static const uint8_t ok6[] = {0xde, 0, 1, 0xc2, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t ok7[] = {0xd4, 1, 2};               /* fixext1 */
    static const uint8_t ok8[] = {0xc7, 2, 5, 'a', 'b'};     /* ext8 */
    static const uint8_t ok9[] = {0xc6, 0, 0, 0, 1, 0xff};   /* bin32 */
    static const uint8_t ok10[] = {0xff};                    /* -1 */
    static const uint8_t ok11[] = {0xc8, 0, 1, 5, 'a'};      /* ext16 */
    static const uint8_t ok12[] = {0xc9, 0, 0, 0, 0, 5};     /* empty ext32 */
    assert_int_equal(mp_ok(ok1, sizeof(ok1)), 0);
    assert_int_equal(mp_ok(ok2, sizeof(ok2)), 0);
    assert_int_equal(mp_ok(ok3, sizeof(ok3)), 0);
    assert_int_equal(mp_ok(ok4, sizeof(ok4)), 0);
    assert_int_equal(mp_ok(ok5, sizeof(ok5)), 0);
    assert_int_equal(mp_ok(ok6, sizeof(ok6)), 0);
    assert_int_equal(mp_ok(ok7, sizeof(ok7)), 0);
    assert_int_equal(mp_ok(ok8, sizeof(ok8)), 0);
    assert_int_equal(mp_ok(ok9, sizeof(ok9)), 0);
    assert_int_equal(mp_ok(ok10, sizeof(ok10)), 0);
    assert_int_equal(mp_ok(ok11, sizeof(ok11)), 0);
    assert_int_equal(mp_ok(ok12, sizeof(ok12)), 0);
}

static void mp_check_rejects_malformed_structure(void **state)
{
    (void)state;
    static const uint8_t c1[] = {0xc1};
    static const uint8_t arr_c1[] = {0x91, 0xc1};
    static const uint8_t str_long[] = {0xa5, 'a', 'b'};
    static const uint8_t str8_hdr[] = {0xd9};
    static const uint8_t bin16_long[] = {0xc5, 0xff, 0xff, 0};
    static const uint8_t ext32_long[] = {0xc9, 0x7f, 0xff, 0xff, 0xff, 1, 0};
    static const uint8_t u64_short[] = {0xcf, 0, 0, 0};
    static const uint8_t two_objs[] = {0x01, 0x02};
    static const uint8_t arr_short[] = {0x93, 0x01, 0x02};
    static const uint8_t ext8_no_type[] = {0xc7, 0x00};     /* type byte cut */
    static const uint8_t ext32_no_type[] = {0xc9, 0, 0, 0, 0};
    static const uint8_t ext16_short[] = {0xc8, 0, 2, 5, 'a'};
    static const uint8_t fixext1_short[] = {0xd4, 1};
    static const uint8_t map_no_value[] = {0x81, 0x01};
    assert_int_equal(mp_ok(NULL, 0), -1);
    assert_int_equal(mp_ok(c1, sizeof(c1)), -1);
    assert_int_equal(mp_ok(arr_c1, sizeof(arr_c1)), -1);
    assert_int_equal(mp_ok(str_long, sizeof(str_long)), -1);
    assert_int_equal(mp_ok(str8_hdr, sizeof(str8_hdr)), -1);
    assert_int_equal(mp_ok(bin16_long, sizeof(bin16_long)), -1);
    assert_int_equal(mp_ok(ext32_long, sizeof(ext32_long)), -1);
    assert_int_equal(mp_ok(u64_short, sizeof(u64_short)), -1);
    assert_int_equal(mp_ok(two_objs, sizeof(two_objs)), -1);
    assert_int_equal(mp_ok(arr_short, sizeof(arr_short)), -1);
    assert_int_equal(mp_ok(ext8_no_type, sizeof(ext8_no_type)), -1);
    assert_int_equal(mp_ok(ext32_no_type, sizeof(ext32_no_type)), -1);
    assert_int_equal(mp_ok(ext16_short, sizeof(ext16_short)), -1);
    assert_int_equal(mp_ok(fixext1_short, sizeof(fixext1_short)), -1);
    assert_int_equal(mp_ok(map_no_value, sizeof(map_no_value)), -1);
}

static void mp_check_rejects_over_max_with_too_large(void **state)
{
    (void)state;
    static const uint8_t small[] = {0x92, 0x01, 0x02};
    mc_err err;
    assert_int_equal(mc_mp_check(small, sizeof(small), 2, &err), -1);
    assert_string_equal(err.code, "too_large");
    assert_int_equal(err.status, 413);
    assert_int_equal(mc_mp_check(small, sizeof(small), 3, &err), 0);
}

/* A 5-byte header claiming 2^32-1 elements must be refused by the
 * pre-check, quickly, with nothing allocated by msgpack-c. */
static void mp_check_rejects_array32_claiming_4g_elements_fast(void **state)
{
    (void)state;
    uint8_t *p = calloc(1, MC_PHONE_BODY_MAX);
    assert_non_null(p);
    p[0] = 0xdd;
    p[1] = p[2] = p[3] = p[4] = 0xff;
    mc_err err;
    mc_response r;
    mc_session_view v = {.sign = NULL};
    char a[64], b[64];

    double t0 = now_sec();
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(mc_mp_check(p, 5, MC_PHONE_BODY_MAX, &err), -1);
        assert_int_equal(mc_mp_check(p, MC_PHONE_BODY_MAX, MC_PHONE_BODY_MAX,
                                     &err), -1);
        assert_string_equal(err.code, "bad_msgpack");
    }
    double t1 = now_sec();
    assert_true(t1 - t0 < 0.5); /* 2000 checks; each is O(1) here */

    t0 = now_sec();
    for (int i = 0; i < 100; i++) {
        assert_int_equal(mc_response_decode(p, MC_PHONE_BODY_MAX, &r, &err), -1);
        assert_string_equal(err.code, "bad_msgpack");
        assert_int_equal(mc_view_decode(p, MC_PHONE_BODY_MAX, &v, &err), -1);
        assert_int_equal(mc_result_decode(p, 9, a, sizeof(a), b, sizeof(b),
                                          &err), -1);
        assert_int_equal(mc_error_decode(p, 9, a, sizeof(a), b, sizeof(b)), -1);
    }
    t1 = now_sec();
    assert_true(t1 - t0 < 0.5);

    /* The same for map32 inside a map. */
    static const uint8_t m32[] = {0x81, 0xa1, 'k', 0xdf, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(mc_mp_check(m32, sizeof(m32), MC_PHONE_BODY_MAX, &err), -1);
    free(p);
}

static void mp_check_rejects_map16_claiming_more_entries_than_bytes(void **state)
{
    (void)state;
    /* map16 of 16 entries needs >= 32 bytes; give 31 */
    uint8_t p[3 + 31];
    memset(p, 0x01, sizeof(p));
    p[0] = 0xde;
    p[1] = 0x00;
    p[2] = 0x10;
    mc_err err;
    assert_int_equal(mc_mp_check(p, sizeof(p), MC_PHONE_BODY_MAX, &err), -1);
    assert_string_equal(err.code, "bad_msgpack");
    assert_non_null(strstr(err.msg, "claims"));
    /* 32 bytes of fixints: a complete map of 16 int->int entries */
    uint8_t q[3 + 32];
    memset(q, 0x01, sizeof(q));
    q[0] = 0xde;
    q[1] = 0x00;
    q[2] = 0x10;
    assert_int_equal(mc_mp_check(q, sizeof(q), MC_PHONE_BODY_MAX, &err), 0);
    /* map16 0xffff */
    static const uint8_t big[] = {0xde, 0xff, 0xff, 0x01, 0x01};
    assert_int_equal(mc_mp_check(big, sizeof(big), MC_PHONE_BODY_MAX, &err), -1);
}

static void mp_check_depth_8_ok_depth_9_rejected(void **state)
{
    (void)state;
    uint8_t p[16];
    mc_err err;
    for (int d = 1; d <= 10; d++) {
        for (int i = 0; i < d - 1; i++)
            p[i] = 0x91;
        p[d - 1] = 0x90; /* innermost empty array */
        int rc = mc_mp_check(p, (size_t)d, MC_PHONE_BODY_MAX, &err);
        if (d <= MC_MP_DEPTH_MAX) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err.code, "bad_msgpack");
        }
    }
    /* 8 levels with a scalar inside the deepest one is fine */
    for (int i = 0; i < 8; i++)
        p[i] = 0x91;
    p[8] = 0x07;
    assert_int_equal(mc_mp_check(p, 9, MC_PHONE_BODY_MAX, &err), 0);
    /* maps count too: 4 arrays + 5 maps */
    static const uint8_t mix[] = {0x91, 0x91, 0x91, 0x91, 0x81, 0x00, 0x81, 0x00,
                                  0x81, 0x00, 0x81, 0x00, 0x81, 0x00, 0x00};
    assert_int_equal(mc_mp_check(mix, sizeof(mix), MC_PHONE_BODY_MAX, &err), -1);
}

/* ------------------------------------------------------------------ */
/* hostile input battery, shared by all four decoders                  */
/* ------------------------------------------------------------------ */

typedef int (*decode_fn)(const uint8_t *p, size_t n, mc_err *err);

/* A decoder under test. has_err is 0 only for mc_error_decode, which
 * reports no mc_err: its failures are checked by return value alone. */
typedef struct decoder {
    decode_fn fn;
    int has_err;
} decoder;

static int dec_response(const uint8_t *p, size_t n, mc_err *err)
{
    mc_response r;
    return mc_response_decode(p, n, &r, err);
}

static int dec_view(const uint8_t *p, size_t n, mc_err *err)
{
    mc_session_view v = {.sign = NULL};
    return mc_view_decode(p, n, &v, err);
}

static int dec_error(const uint8_t *p, size_t n, mc_err *err)
{
    char code[64], msg[160];
    mc_err_clear(err);
    return mc_error_decode(p, n, code, sizeof(code), msg, sizeof(msg));
}

static int dec_result(const uint8_t *p, size_t n, mc_err *err)
{
    char st[12], acct[MC_ACCOUNT_MAX + 1];
    return mc_result_decode(p, n, st, sizeof(st), acct, sizeof(acct), err);
}

static const decoder D_RESPONSE = {dec_response, 1};
static const decoder D_VIEW = {dec_view, 1};
static const decoder D_ERROR = {dec_error, 0};
static const decoder D_RESULT = {dec_result, 1};

static void expect_ok(const decoder *d, const uint8_t *p, size_t n)
{
    mc_err err;
    mc_err_clear(&err);
    if (d->fn(p, n, &err) != 0)
        fail_msg("valid message rejected: %s", err.msg);
}

/* d must reject [p, p+n); if it reports errors, with `code` (status 413
 * for too_large, else 400) and a message containing msg_part (if given). */
static void expect_fail(const decoder *d, const uint8_t *p, size_t n,
                        const char *code, const char *msg_part)
{
    mc_err err;
    mc_err_clear(&err);
    assert_int_equal(d->fn(p, n, &err), -1);
    if (!d->has_err)
        return;
    assert_non_null(err.code);
    assert_string_equal(err.code, code);
    assert_int_equal(err.status, strcmp(code, "too_large") == 0 ? 413 : 400);
    if (msg_part != NULL && strstr(err.msg, msg_part) == NULL)
        fail_msg("message \"%s\" does not name \"%s\"", err.msg, msg_part);
}

static void pack_expect_fail(const decoder *d, const entry *e, size_t n,
                             const char *code, const char *msg_part)
{
    mc_buf b = {0};
    pack_entries(&b, e, n);
    expect_fail(d, b.ptr, b.len, code, msg_part);
    mc_buf_free(&b);
}

/* Frames no decoder may accept, whatever its top-level type. */
static void frame_battery(const decoder *d, const mc_buf *valid)
{
    expect_ok(d, valid->ptr, valid->len);

    /* empty */
    static const uint8_t none[1] = {0};
    expect_fail(d, none, 0, "bad_msgpack", NULL);

    /* truncated at every byte position (exact-size heap copies, so ASan
     * sees any read past the end) */
    for (size_t k = 0; k < valid->len; k++) {
        uint8_t *c = malloc(k ? k : 1);
        assert_non_null(c);
        memcpy(c, valid->ptr, k);
        expect_fail(d, c, k, "bad_msgpack", NULL);
        free(c);
    }

    /* one trailing byte; a second complete message after the first */
    mc_buf t = {0};
    mc_buf_append(&t, valid->ptr, valid->len);
    mc_buf_append(&t, "\x00", 1);
    expect_fail(d, t.ptr, t.len, "bad_msgpack", "trailing");
    t.len = valid->len;
    mc_buf_append(&t, valid->ptr, valid->len);
    expect_fail(d, t.ptr, t.len, "bad_msgpack", "trailing");
    mc_buf_free(&t);

    /* oversized body: a valid message followed by padding up to max+1 */
    uint8_t *big = calloc(1, MC_PHONE_BODY_MAX + 1);
    assert_non_null(big);
    memcpy(big, valid->ptr, valid->len);
    expect_fail(d, big, MC_PHONE_BODY_MAX + 1, "too_large", NULL);
    free(big);

    /* oversized but well-formed: a map with one huge string value */
    char *s = malloc(MC_PHONE_BODY_MAX);
    assert_non_null(s);
    memset(s, 'a', MC_PHONE_BODY_MAX);
    const entry huge = E_STRN("x", s, MC_PHONE_BODY_MAX);
    pack_expect_fail(d, &huge, 1, "too_large", NULL);
    free(s);

    /* array32 claiming 2^32-1 elements */
    static const uint8_t a32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_fail(d, a32, sizeof(a32), "bad_msgpack", NULL);
    /* map16 claiming more entries than bytes */
    static const uint8_t m16[] = {0xde, 0x00, 0x10, 0xa1, 'v', 0x01};
    expect_fail(d, m16, sizeof(m16), "bad_msgpack", NULL);
    /* nesting depth 9 under a map key */
    static const uint8_t deep[] = {0x81, 0xa1, 'v', 0x91, 0x91, 0x91, 0x91,
                                   0x91, 0x91, 0x91, 0x90};
    expect_fail(d, deep, sizeof(deep), "bad_msgpack", NULL);
    /* never-used byte */
    static const uint8_t c1[] = {0x81, 0xa1, 'v', 0xc1};
    expect_fail(d, c1, sizeof(c1), "bad_msgpack", NULL);
}

/* frame_battery, and the top-level shapes a decoder of a map refuses. */
static void hostile_battery(const decoder *d, const mc_buf *valid)
{
    frame_battery(d, valid);
    /* wrong top-level types */
    static const uint8_t arr[] = {0x92, 0xa1, 'v', 0x01};
    expect_fail(d, arr, sizeof(arr), "bad_field", NULL);
    static const uint8_t str[] = {0xa3, 'a', 'b', 'c'};
    expect_fail(d, str, sizeof(str), "bad_field", NULL);
    static const uint8_t nil[] = {0xc0};
    expect_fail(d, nil, sizeof(nil), "bad_field", NULL);
    /* empty map: required keys missing */
    static const uint8_t empty_map[] = {0x80};
    expect_fail(d, empty_map, sizeof(empty_map), "bad_field", NULL);
    /* non-string keys: an int, and a bin holding the bytes of a real key */
    static const uint8_t intkey[] = {0x81, 0x01, 0x01};
    expect_fail(d, intkey, sizeof(intkey), "bad_field", NULL);
    static const uint8_t binkey[] = {0x81, 0xc4, 0x01, 'v', 0x01};
    expect_fail(d, binkey, sizeof(binkey), "bad_field", "not a string");
}

/* Replace the entry of repl.key in a copy of base; the decoder must fail. */
static void mutate_and_expect(const decoder *d, const entry *base, size_t n,
                              entry repl, const char *code,
                              const char *msg_part)
{
    entry *e = malloc(n * sizeof(*e));
    assert_non_null(e);
    memcpy(e, base, n * sizeof(*e));
    *find_entry(e, n, repl.key) = repl;
    pack_expect_fail(d, e, n, code, msg_part);
    free(e);
}

/* One value that a decoder must refuse. */
typedef struct mutation {
    entry repl;
    const char *code;
    const char *msg_part;
} mutation;

static void mutations_fail(const decoder *d, const entry *base, size_t n,
                           const mutation *m, size_t count)
{
    for (size_t i = 0; i < count; i++)
        mutate_and_expect(d, base, n, m[i].repl, m[i].code, m[i].msg_part);
}

/* Unknown key, duplicate key, each key missing, each key with a wrong type. */
static void key_rules(const decoder *d, const entry *base, size_t n)
{
    entry *e = calloc(n + 1, sizeof(*e));
    assert_non_null(e);
    mc_buf b = {0};

    /* valid as given */
    pack_entries(&b, base, n);
    expect_ok(d, b.ptr, b.len);
    mc_buf_free(&b);

    /* unknown key added */
    memcpy(e, base, n * sizeof(*e));
    e[n] = (entry)E_STR("zzz", "1");
    pack_expect_fail(d, e, n + 1, "bad_field", "\"zzz\"");

    for (size_t k = 0; k < n; k++) {
        const char *key = base[k].key;
        char name[64];
        snprintf(name, sizeof(name), "\"%s\"", key);

        /* duplicate of key k (same valid value) */
        memcpy(e, base, n * sizeof(*e));
        e[n] = base[k];
        pack_expect_fail(d, e, n + 1, "bad_field", name);

        /* key k missing */
        size_t m = 0;
        for (size_t j = 0; j < n; j++)
            if (j != k)
                e[m++] = base[j];
        pack_expect_fail(d, e, m, "bad_field", name);

        /* wrong types: nil and float always; str->uint, everything else->str */
        const entry wrong[3] = {
            E_NIL(key),
            E_F64(key),
            base[k].kind == V_STR ? (entry)E_UINT(key, 7) : (entry)E_STR(key, "7"),
        };
        for (size_t w = 0; w < 3; w++) {
            memcpy(e, base, n * sizeof(*e));
            e[k] = wrong[w];
            pack_expect_fail(d, e, n, "bad_field", name);
        }
    }
    free(e);
}

/* key_rules, then hostile_battery around the valid message e packs to:
 * every refusal of a message's shape, before its values. */
static void map_rules(const decoder *d, const entry *e, size_t n)
{
    key_rules(d, e, n);
    mc_buf b = {0};
    pack_entries(&b, e, n);
    hostile_battery(d, &b);
    mc_buf_free(&b);
}

static void response_decode_rejects_hostile_frames(void **state)
{
    (void)state;
    mc_buf b = {0};
    pack_entries(&b, resp_base, RESP_N);
    hostile_battery(&D_RESPONSE, &b);
    mc_buf_free(&b);
}

static void response_decode_enforces_key_rules(void **state)
{
    (void)state;
    key_rules(&D_RESPONSE, resp_base, RESP_N);
}

static void response_decode_rejects_bad_field_values(void **state)
{
    (void)state;
    char longorigin[MC_ORIGIN_MAX + 1];
    memset(longorigin, 'o', sizeof(longorigin));

    const mutation bad[] = {
        /* chain with 0 and 5 certificates; one cert too large; empty
         * cert; a str where a cert belongs */
        {E_ARR_BIN("chain", 300, 0), "bad_field", "chain"},
        {E_ARR_BIN("chain", 300, 5), "bad_field", "chain"},
        {E_ARR_BIN("chain", MC_CERT_DER_MAX + 1, 1), "bad_field", "chain"},
        {E_ARR_BIN("chain", 0, 1), "bad_field", "chain"},
        {E_ARR_STR("chain", 1), "bad_field", "chain"},
        /* sig too long, empty */
        {E_BIN("sig", MC_SIG_MAX + 1), "bad_field", "sig"},
        {E_BIN("sig", 0), "bad_field", "sig"},
        /* embedded NUL, including one that would leave a valid C string */
        {E_STR("origin", "https://a\0.example"), "bad_field", "origin"},
        {E_STR("decision", "reject\0"), "bad_field", "decision"},
        {E_STR("purpose", "bind\0"), "bad_field", "purpose"},
        {E_STR("sid", "ABCDEFGHJK\0MNPQRSTVW"), "bad_field", "sid"},
        /* string too long for its field */
        {E_STRN("origin", longorigin, sizeof(longorigin)), "bad_field",
         "origin"},
        /* v = 2, v = 0, v = -1, v = 2^64-1 */
        {E_UINT("v", 2), "bad_version", NULL},
        {E_UINT("v", 0), "bad_version", NULL},
        {E_NEGINT("v", -1), "bad_version", NULL},
        {E_UINT("v", UINT64_MAX), "bad_version", NULL},
        /* decision / purpose / sid values */
        {E_STR("decision", "maybe"), "bad_field", "decision"},
        {E_STR("decision", "approved"), "bad_field", "decision"},
        {E_STR("purpose", "admin"), "bad_field", "purpose"},
        {E_STR("sid", "abcdefghjkmnpqrstvwx"), "bad_field", "sid"},
        {E_STR("sid", "ABC"), "bad_field", "sid"},
        /* number out of uint32 range or negative */
        {E_UINT("number", UINT64_C(0x100000000)), "bad_field", "number"},
        {E_NEGINT("number", -3), "bad_field", "number"},
    };
    mutations_fail(&D_RESPONSE, resp_base, RESP_N, bad,
                   sizeof(bad) / sizeof(bad[0]));

    /* boundaries that are fine: 4 certs, sig of MC_SIG_MAX, origin 200,
     * number UINT32_MAX */
    entry ok[RESP_N];
    memcpy(ok, resp_base, sizeof(ok));
    *find_entry(ok, RESP_N, "chain") = (entry)E_ARR_BIN("chain", 1000, 4);
    *find_entry(ok, RESP_N, "sig") = (entry)E_BIN("sig", MC_SIG_MAX);
    *find_entry(ok, RESP_N, "origin") =
        (entry)E_STRN("origin", longorigin, MC_ORIGIN_MAX);
    *find_entry(ok, RESP_N, "number") = (entry)E_UINT("number", UINT32_MAX);
    mc_buf b = {0};
    pack_entries(&b, ok, RESP_N);
    mc_response r;
    mc_err err;
    assert_int_equal(mc_response_decode(b.ptr, b.len, &r, &err), 0);
    assert_int_equal(r.nchain, 4);
    assert_int_equal(r.sig.len, MC_SIG_MAX);
    assert_int_equal(strlen(r.origin), MC_ORIGIN_MAX);
    assert_int_equal(r.number, UINT32_MAX);

    /* and one certificate of exactly MC_CERT_DER_MAX bytes */
    *find_entry(ok, RESP_N, "chain") =
        (entry)E_ARR_BIN("chain", MC_CERT_DER_MAX, 1);
    b.len = 0;
    pack_entries(&b, ok, RESP_N);
    assert_int_equal(mc_response_decode(b.ptr, b.len, &r, &err), 0);
    assert_int_equal(r.nchain, 1);
    assert_int_equal(r.chain[0].len, MC_CERT_DER_MAX);
    mc_buf_free(&b);
}

static void response_decode_unknown_key_is_named(void **state)
{
    (void)state;
    entry e[RESP_N + 1];
    memcpy(e, resp_base, sizeof(resp_base));
    e[RESP_N] = (entry)E_STR("nonce\x01x", "1");
    pack_expect_fail(&D_RESPONSE, e, RESP_N + 1, "bad_field",
                     "unknown field \"nonce?x\"");
}

static void view_decode_rejects_hostile_frames(void **state)
{
    (void)state;
    mc_session_view v;
    fill_view(&v);
    mc_buf b = {0};
    mc_view_encode(&v, &b);
    hostile_battery(&D_VIEW, &b);
    mc_buf_free(&b);
}

static void view_decode_enforces_key_rules_and_values(void **state)
{
    (void)state;
    key_rules(&D_VIEW, view_base, VIEW_N);
    const mutation bad[] = {
        {E_UINT("v", 2), "bad_version", NULL},
        {E_BIN("nonce", 31), "bad_field", "nonce"},
        {E_BIN("nonce", 33), "bad_field", "nonce"},
        {E_ARR_UINT("choices", 10, 2), "bad_field", "choices"},
        {E_ARR_UINT("choices", 10, 4), "bad_field", "choices"},
        {E_ARR_STR("choices", 3), "bad_field", "choices"},
        /* the third choice is 2^32 */
        {E_ARR_UINT("choices", UINT32_MAX - 1, 3), "bad_field", "choices"},
        {E_STR("purpose", "x"), "bad_field", "purpose"},
        {E_STR("state", "pending-long!"), "bad_field", "state"},
        {E_STR("ua", "a\0b"), "bad_field", "ua"},
        {E_UINT("created", UINT64_MAX), "bad_field", "created"},
        {E_STR("sid", "ABCDEFGHJKMNPQRSTVWI"), "bad_field", "sid"},
    };
    mutations_fail(&D_VIEW, view_base, VIEW_N, bad,
                   sizeof(bad) / sizeof(bad[0]));
}

static void error_decode_rejects_hostile_frames(void **state)
{
    (void)state;
    mc_err e;
    mc_err_set(&e, 400, "bad_field", "field \"sid\" is missing");
    mc_buf b = {0};
    mc_error_encode(&e, &b);
    hostile_battery(&D_ERROR, &b);
    mc_buf_free(&b);
    static const entry base[2] = {E_STR("code", "x"), E_STR("message", "y")};
    key_rules(&D_ERROR, base, 2);
}

static void result_decode_rejects_hostile_frames(void **state)
{
    (void)state;
    mc_buf b = {0};
    mc_result_encode("approved", "alice", &b);
    hostile_battery(&D_RESULT, &b);
    mc_buf_free(&b);
    static const entry base[2] = {E_STR("state", "approved"),
                                  E_STR("account", "bob")};
    key_rules(&D_RESULT, base, 2);
    mutate_and_expect(&D_RESULT, base, 2,
                      (entry)E_STR("state", "approved-but-longer"),
                      "bad_field", "state");
}

/* ------------------------------------------------------------------ */
/* signing (purpose "sign", PROTOCOL.md §8)                            */
/* ------------------------------------------------------------------ */

static void fill_range(uint8_t *p, size_t n, uint8_t first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(first + i);
}

/* Two documents: "bid.pdf" (70000 bytes) and "报价.xlsx" (200 bytes), both
 * sm3, digests 20..3f and 40..5f; signing_time 1700000000. */
static void fill_sign(mc_sign_info *si)
{
    memset(si, 0, sizeof(*si));
    si->ndocs = 2;
    strcpy(si->docs[0].name, "bid.pdf");
    si->docs[0].size = 70000;
    strcpy(si->docs[0].alg, "sm3");
    fill_range(si->docs[0].digest, 32, 0x20);
    strcpy(si->docs[1].name, "\xe6\x8a\xa5\xe4\xbb\xb7.xlsx"); /* 报价.xlsx */
    si->docs[1].size = 200;
    strcpy(si->docs[1].alg, "sm3");
    fill_range(si->docs[1].digest, 32, 0x40);
    si->signing_time = 1700000000;
    strcpy(si->text, "\xe9\xa1\xb9\xe7\x9b\xae ZCY-2024-001 lot 2"); /* 项目 … */
}

/*
 * The sign example of PROTOCOL.md §8.6, by hand: the 143 bytes of the §4
 * example with purpose "sign" (a4 7369676e, as long as "bind") and
 * fixarray 13 (0x9d), then
 *   92                        fixarray 2: the documents
 *   94                        fixarray 4: document 0
 *     a7 6269642e706466       "bid.pdf"
 *     ce 00011170             uint32 70000 (> 0xffff)
 *     a3 736d33               "sm3"
 *     c4 20 20..3f            bin8 32: digest
 *   94                        document 1
 *     ab e68aa5 e4bbb7 2e786c7378   fixstr 11: "报价.xlsx" (UTF-8)
 *     cc c8                   uint8 200
 *     a3 736d33               "sm3"
 *     c4 20 40..5f            digest
 *   ce 6553f100               uint32 1700000000: signing_time
 * Total 143 + 1 + 52 + 53 + 5 = 254 bytes.
 */
#define TBS_SIGN_HEX                                                        \
    "9d"                                                                    \
    "a9 6d 63 65 72 74 2d 74 62 73"                                         \
    "01"                                                                    \
    "a4 73 69 67 6e"                                                        \
    "b4 41 42 43 44 45 46 47 48 4a 4b 4d 4e 50 51 52 53 54 56 57 58"        \
    "c4 20 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"                 \
    "      10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"                 \
    "b2 68 74 74 70 73 3a 2f 2f 63 61 2e 65 78 61 6d 70 6c 65"              \
    "a5 61 6c 69 63 65"                                                     \
    "cd 03 e8"                                                              \
    "c4 20 e0 e1 e2 e3 e4 e5 e6 e7 e8 e9 ea eb ec ed ee ef"                 \
    "      f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff"                 \
    "2a"                                                                    \
    "a7 61 70 70 72 6f 76 65"                                               \
    "92"                                                                    \
    "94 a7 62 69 64 2e 70 64 66"                                            \
    "   ce 00 01 11 70"                                                     \
    "   a3 73 6d 33"                                                        \
    "   c4 20 20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f"              \
    "         30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f"              \
    "94 ab e6 8a a5 e4 bb b7 2e 78 6c 73 78"                                \
    "   cc c8"                                                              \
    "   a3 73 6d 33"                                                        \
    "   c4 20 40 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f"              \
    "         50 51 52 53 54 55 56 57 58 59 5a 5b 5c 5d 5e 5f"              \
    "ce 65 53 f1 00"

static void tbs_sign_example_matches_hand_derived_hex(void **state)
{
    (void)state;
    mc_sign_info si;
    fill_sign(&si);
    mc_tbs t = fixed_tbs();
    t.purpose = "sign";
    t.sign = &si;
    mc_buf b = {0};
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.len, 254);
    assert_buf_hex(&b, TBS_SIGN_HEX);

    /* element 11 is exactly mc_docs_encode's bytes */
    mc_buf d = {0};
    mc_docs_encode(&si, &d);
    assert_int_equal(d.len, 106);
    assert_memory_equal(b.ptr + 143, d.ptr, d.len);
    mc_buf_free(&d);

    /* without t.sign: the 11 elements of §4, whatever the purpose says */
    t.sign = NULL;
    b.len = 0;
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.len, 143);
    assert_int_equal(b.ptr[0], 0x9b);
    mc_buf_free(&b);
}

/* A reject signs the same 13 elements; number 0 and signing_time 0 take
 * their one-byte forms. */
static void tbs_sign_reject_and_small_time(void **state)
{
    (void)state;
    mc_sign_info si;
    fill_sign(&si);
    si.ndocs = 1;
    si.signing_time = 0;
    mc_tbs t = fixed_tbs();
    t.purpose = "sign";
    t.sign = &si;
    t.number = 0;
    t.decision = "reject";
    mc_buf b = {0};
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.ptr[0], 0x9d);
    /* ... 00 (number) a6 "reject" 91 <doc 0> 00 */
    assert_int_equal(b.len, 143 - 1 - 8 + 1 + 7 + 1 + 52 + 1);
    assert_int_equal(b.ptr[b.len - 1], 0x00);
    assert_int_equal(b.ptr[b.len - 54], 0x91);
    mc_buf_free(&b);
}

/*
 * PROTOCOL.md §8.4: base "http://127.0.0.1:8080", fp 00..1f, ts 1000,
 * nonce a0..af.
 *   96                                       fixarray 6
 *   ab 6d636572742d696e626f78                "mcert-inbox"
 *   01
 *   b5 687474703a2f2f3132372e302e302e313a38303830   fixstr 21
 *   c4 20 00..1f
 *   cd 03e8
 *   c4 10 a0..af
 * 1 + 12 + 1 + 22 + 34 + 3 + 18 = 91 bytes.
 */
static void inbox_tbs_matches_protocol_example(void **state)
{
    (void)state;
    uint8_t nonce[MC_INBOX_NONCE_LEN];
    fill_range(nonce, sizeof(nonce), 0xa0);
    mc_buf b = {0};
    mc_inbox_tbs_encode("http://127.0.0.1:8080", fixed_nonce, 1000, nonce, &b);
    assert_int_equal(b.len, 91);
    assert_buf_hex(&b,
        "96"
        "ab 6d 63 65 72 74 2d 69 6e 62 6f 78"
        "01"
        "b5 68 74 74 70 3a 2f 2f 31 32 37 2e 30 2e 30 2e 31 3a 38 30 38 30"
        "c4 20 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
        "      10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"
        "cd 03 e8"
        "c4 10 a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af");
    /* a ts of today takes uint32 */
    b.len = 0;
    mc_inbox_tbs_encode("http://127.0.0.1:8080", fixed_nonce, 1700000000, nonce, &b);
    assert_int_equal(b.len, 93);
    assert_int_equal(b.ptr[70], 0xce);
    mc_buf_free(&b);
}

static void doc_name_and_text_rules(void **state)
{
    (void)state;
    char buf[600];
    assert_true(mc_doc_name_valid("a", 1));
    assert_true(mc_doc_name_valid("\xe6\x8a\xa5\xe4\xbb\xb7.pdf", 10));
    assert_true(mc_doc_name_valid("\xf0\x9f\x98\x80", 4)); /* U+1F600 */
    assert_true(mc_doc_name_valid("a b~", 4));
    assert_false(mc_doc_name_valid("", 0));
    assert_false(mc_doc_name_valid("a\0b", 3));
    assert_false(mc_doc_name_valid("a\x01", 2));
    assert_false(mc_doc_name_valid("a\x1f", 2));
    assert_false(mc_doc_name_valid("a\n", 2));
    assert_false(mc_doc_name_valid("a\x7f", 2));
    assert_false(mc_doc_name_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(mc_doc_name_valid("\x80", 1));             /* lone continuation */
    assert_false(mc_doc_name_valid("\xe6\x8a", 2));         /* cut short */
    assert_false(mc_doc_name_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(mc_doc_name_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(mc_doc_name_valid("\xff", 1));
    memset(buf, 'n', sizeof(buf));
    assert_true(mc_doc_name_valid(buf, 255));
    assert_false(mc_doc_name_valid(buf, 256));
    /* text: 0..512, same rule */
    assert_true(mc_text_valid("", 0));
    assert_true(mc_text_valid(NULL, 0));
    assert_true(mc_text_valid(buf, 512));
    assert_false(mc_text_valid(buf, 513));
    assert_false(mc_text_valid("lot\t2", 5));
    assert_false(mc_text_valid("\xe9\xa1", 2));
}

/* --- documents: the canonical array form --- */

static int dec_docs(const uint8_t *p, size_t n, mc_err *err)
{
    mc_sign_info si;
    return mc_docs_decode(p, n, &si, err);
}
static const decoder D_DOCS = {dec_docs, 1};

/* One document of a hand-built documents value: which field to spoil. */
typedef enum docbad {
    DB_NONE,
    DB_MISSING_DIGEST, /* map without "digest" / array of 3 */
    DB_EXTRA_KEY,      /* map with a 5th key / array of 5 */
    DB_DIGEST_31,
    DB_DIGEST_33,
    DB_DIGEST_STR,     /* hex str instead of bin */
    DB_NAME_BAD_UTF8,  /* "\xc0\xaf" */
    DB_NAME_256,
    DB_NAME_EMPTY,
    DB_NAME_CTRL,      /* "a\x1b[31m" */
    DB_ALG_SHA256,     /* alg "sha256" where the others say sm3 */
    DB_ALG_MD5,
    DB_SIZE_2_53,
    DB_SIZE_NEG,
    DB_DUP_NAME_KEY,   /* map only: "name" twice */
} docbad;

/* Pack `count` documents (maps for a view, 4-arrays for mc_docs_encode),
 * all like fill_sign's first one, document `which` spoiled by `bad`. */
static void pack_docs(mc_buf *out, int as_maps, size_t count, size_t which, docbad bad)
{
    static const uint8_t dg[40];
    static char longname[256];
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, pk_write);
    memset(longname, 'n', sizeof(longname));
    msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        docbad b = i == which ? bad : DB_NONE;
        const char *name = "bid.pdf";
        size_t namelen = 7;
        const char *alg = "sm3";
        size_t dglen = 32;
        size_t nfields = 4;
        if (b == DB_MISSING_DIGEST)
            nfields = 3;
        if (b == DB_EXTRA_KEY || b == DB_DUP_NAME_KEY)
            nfields = 5;
        if (b == DB_NAME_BAD_UTF8)
            name = "\xc0\xaf", namelen = 2;
        if (b == DB_NAME_256)
            name = longname, namelen = 256;
        if (b == DB_NAME_EMPTY)
            name = "", namelen = 0;
        if (b == DB_NAME_CTRL)
            name = "a\x1b[31m", namelen = 6;
        if (b == DB_ALG_SHA256)
            alg = "sha256";
        if (b == DB_ALG_MD5)
            alg = "md5";
        if (b == DB_DIGEST_31)
            dglen = 31;
        if (b == DB_DIGEST_33)
            dglen = 33;
        if (as_maps)
            msgpack_pack_map(&pk, nfields);
        else
            msgpack_pack_array(&pk, nfields);
#define KEY(k)                                         \
    do {                                               \
        if (as_maps) {                                 \
            msgpack_pack_str(&pk, strlen(k));          \
            msgpack_pack_str_body(&pk, (k), strlen(k)); \
        }                                              \
    } while (0)
        KEY("name");
        msgpack_pack_str(&pk, namelen);
        msgpack_pack_str_body(&pk, name, namelen);
        KEY("size");
        if (b == DB_SIZE_2_53)
            msgpack_pack_uint64(&pk, UINT64_C(1) << 53);
        else if (b == DB_SIZE_NEG)
            msgpack_pack_int64(&pk, -1);
        else
            msgpack_pack_uint64(&pk, 70000);
        KEY("alg");
        msgpack_pack_str(&pk, strlen(alg));
        msgpack_pack_str_body(&pk, alg, strlen(alg));
        if (nfields >= 4) {
            KEY("digest");
            if (b == DB_DIGEST_STR) {
                msgpack_pack_str(&pk, 64);
                msgpack_pack_str_body(&pk, longname, 64);
            } else {
                msgpack_pack_bin(&pk, dglen);
                msgpack_pack_bin_body(&pk, dg, dglen);
            }
        }
        if (b == DB_DUP_NAME_KEY) {
            KEY("name");
            msgpack_pack_str(&pk, 1);
            msgpack_pack_str_body(&pk, "x", 1);
        } else if (nfields == 5) {
            KEY("pages");
            msgpack_pack_uint64(&pk, 3);
        }
#undef KEY
    }
}

typedef struct docs_case {
    size_t count, which;
    docbad bad;
    const char *msg_part; /* NULL: only "documents" */
} docs_case;

/* The refusals shared by both forms of the documents (array and map).
 * Each message names the documents field and, for one document, its
 * index and the field. */
static const docs_case docs_bad_cases[] = {
    {33, 0, DB_NONE, "33 documents"},
    {0, 0, DB_NONE, "0 documents"},
    {2, 1, DB_MISSING_DIGEST, "document 1"},
    {2, 1, DB_EXTRA_KEY, "document 1"},
    {1, 0, DB_DIGEST_31, "\"digest\" has 31 bytes"},
    {1, 0, DB_DIGEST_33, "\"digest\" has 33 bytes"},
    {1, 0, DB_DIGEST_STR, "\"digest\" must be binary"},
    {3, 2, DB_NAME_BAD_UTF8, "document 2: field \"name\""},
    {1, 0, DB_NAME_256, "\"name\""},
    {1, 0, DB_NAME_EMPTY, "\"name\""},
    {1, 0, DB_NAME_CTRL, "\"name\""},
    {2, 1, DB_ALG_SHA256, "document 1: field \"alg\" differs"},
    {1, 0, DB_ALG_MD5, "\"alg\""},
    {1, 0, DB_SIZE_2_53, "\"size\""},
    {1, 0, DB_SIZE_NEG, "\"size\""},
};
#define DOCS_BAD_N (sizeof(docs_bad_cases) / sizeof(docs_bad_cases[0]))

static void docs_encode_decode_round_trip(void **state)
{
    (void)state;
    mc_sign_info si, d;
    fill_sign(&si);
    mc_buf b = {0};
    mc_docs_encode(&si, &b);
    mc_err err;
    mc_err_clear(&err);
    memset(&d, 0x5a, sizeof(d));
    d.signing_time = 77;
    assert_int_equal(mc_docs_decode(b.ptr, b.len, &d, &err), 0);
    assert_int_equal(d.ndocs, 2);
    assert_memory_equal(d.docs, si.docs, 2 * sizeof(mc_doc));
    assert_int_equal(d.signing_time, 77); /* docs/ndocs only */

    /* 32 documents of 255-byte names and the largest size; sha256 */
    for (size_t i = 0; i < MC_DOCS_MAX; i++) {
        memset(si.docs[i].name, 'a' + (int)(i % 26), MC_DOC_NAME_MAX);
        si.docs[i].name[MC_DOC_NAME_MAX] = '\0';
        si.docs[i].size = (UINT64_C(1) << 53) - 1;
        strcpy(si.docs[i].alg, "sha256");
        fill_range(si.docs[i].digest, 32, (uint8_t)i);
    }
    si.ndocs = MC_DOCS_MAX;
    b.len = 0;
    mc_docs_encode(&si, &b);
    assert_int_equal(mc_docs_decode(b.ptr, b.len, &d, &err), 0);
    assert_int_equal(d.ndocs, MC_DOCS_MAX);
    assert_memory_equal(d.docs, si.docs, sizeof(si.docs));
    mc_buf_free(&b);
}

static void docs_decode_rejects_hostile_input(void **state)
{
    (void)state;
    mc_sign_info si;
    fill_sign(&si);
    mc_buf b = {0};
    mc_docs_encode(&si, &b);
    frame_battery(&D_DOCS, &b);

    for (size_t i = 0; i < DOCS_BAD_N; i++) {
        const docs_case *c = &docs_bad_cases[i];
        b.len = 0;
        pack_docs(&b, 0, c->count, c->which, c->bad);
        expect_fail(&D_DOCS, b.ptr, b.len, "bad_field", "\"documents\"");
        expect_fail(&D_DOCS, b.ptr, b.len, "bad_field", c->msg_part);
    }
    /* the helper's valid output decodes (so the cases above test one thing) */
    b.len = 0;
    pack_docs(&b, 0, 3, 0, DB_NONE);
    expect_ok(&D_DOCS, b.ptr, b.len);

    /* not canonical: size 5 as uint64, alg as str8 */
    static const uint8_t u64size[] = {0x91, 0x94, 0xa1, 'a', 0xcf, 0, 0, 0, 0, 0, 0, 0, 5,
                                      0xa3, 's', 'm', '3', 0xc4, 0x20};
    b.len = 0;
    mc_buf_append(&b, u64size, sizeof(u64size));
    mc_buf_append(&b, fixed_nonce, 32);
    expect_fail(&D_DOCS, b.ptr, b.len, "bad_field", "canonical");
    static const uint8_t str8alg[] = {0x91, 0x94, 0xa1, 'a', 0x05, 0xd9, 0x03, 's', 'm', '3',
                                      0xc4, 0x20};
    b.len = 0;
    mc_buf_append(&b, str8alg, sizeof(str8alg));
    mc_buf_append(&b, fixed_nonce, 32);
    expect_fail(&D_DOCS, b.ptr, b.len, "bad_field", "canonical");
    /* the same document in canonical form is fine */
    static const uint8_t canon[] = {0x91, 0x94, 0xa1, 'a', 0x05, 0xa3, 's', 'm', '3',
                                    0xc4, 0x20};
    b.len = 0;
    mc_buf_append(&b, canon, sizeof(canon));
    mc_buf_append(&b, fixed_nonce, 32);
    expect_ok(&D_DOCS, b.ptr, b.len);
    /* wrong shapes: a map, a document that is a map, a str */
    static const uint8_t amap[] = {0x80};
    expect_fail(&D_DOCS, amap, sizeof(amap), "bad_field", "\"documents\"");
    b.len = 0;
    pack_docs(&b, 1, 1, 0, DB_NONE);
    expect_fail(&D_DOCS, b.ptr, b.len, "bad_field", "not an array of 4");
    mc_buf_free(&b);
}

/* --- the sign view --- */

static int dec_sign_view(const uint8_t *p, size_t n, mc_err *err)
{
    mc_sign_info si;
    mc_session_view v = {.sign = &si};
    return mc_view_decode(p, n, &v, err);
}
static const decoder D_SIGN_VIEW = {dec_sign_view, 1};

/* view_base as a sign view (18 entries), documents from pack_docs. */
#define SVIEW_N 18
static void sign_view_entries(entry *e, mc_buf *docs)
{
    memcpy(e, view_base, sizeof(view_base));
    *find_entry(e, VIEW_N, "purpose") = (entry)E_STR("purpose", "sign");
    *find_entry(e, VIEW_N, "account") = (entry)E_STR("account", "alice");
    pack_docs(docs, 1, 2, 0, DB_NONE);
    e[15] = (entry)E_RAW("documents", docs->ptr, docs->len);
    e[16] = (entry)E_STR("text", "lot 2");
    e[17] = (entry)E_UINT("signing_time", 1700000000);
}

static void fill_sign_view(mc_session_view *v, mc_sign_info *si)
{
    fill_view(v);
    fill_sign(si);
    v->s.purpose = MC_PURPOSE_SIGN;
    strcpy(v->s.requester, "");
    strcpy(v->requester_name, "\xe6\x94\xbf\xe9\x87\x87\xe4\xba\x91"); /* 政采云 */
    v->sign = si;
}

static void sign_view_encode_decode_round_trip(void **state)
{
    (void)state;
    mc_session_view v, d;
    mc_sign_info si, dsi;
    fill_sign_view(&v, &si);
    mc_buf b = {0};
    mc_view_encode(&v, &b);
    assert_int_equal(b.ptr[0], 0xde); /* map16: 18 keys */
    assert_int_equal(b.ptr[2], 18);
    mc_err err;
    mc_err_clear(&err);
    memset(&d, 0, sizeof(d));
    memset(&dsi, 0x5a, sizeof(dsi));
    d.sign = &dsi;
    d.s.match = 9;
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_ptr_equal(d.sign, &dsi);
    assert_int_equal(d.s.purpose, MC_PURPOSE_SIGN);
    assert_int_equal(d.s.match, 0);
    assert_string_equal(d.requester_name, v.requester_name);
    assert_memory_equal(d.s.choices, v.s.choices, sizeof(v.s.choices));
    assert_int_equal(dsi.ndocs, 2);
    assert_memory_equal(dsi.docs, si.docs, 2 * sizeof(mc_doc));
    assert_string_equal(dsi.text, si.text);
    assert_int_equal(dsi.signing_time, si.signing_time);
    /* the whole sign info compares equal: decode zeroed it first */
    assert_memory_equal(&dsi, &si, sizeof(si));

    /* decoded without storage: refused, and nothing is left behind */
    d.sign = NULL;
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), -1);
    assert_string_equal(err.code, "bad_field");
    assert_non_null(strstr(err.msg, "no storage"));
    assert_null(d.sign);
    assert_int_equal(d.s.purpose, MC_PURPOSE_NONE);

    /* a failed decode clears the caller's sign storage too */
    d.sign = &dsi;
    assert_int_equal(mc_view_decode(b.ptr, b.len - 1, &d, &err), -1);
    assert_int_equal(dsi.ndocs, 0);
    assert_int_equal(dsi.docs[0].name[0], '\0');

    /* empty text, signing_time 0 */
    si.text[0] = '\0';
    si.signing_time = 0;
    b.len = 0;
    mc_view_encode(&v, &b);
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_string_equal(dsi.text, "");
    assert_int_equal(dsi.signing_time, 0);
    mc_buf_free(&b);
}

/* Bind and login views keep exactly their 15 keys, even if v->sign is set;
 * and they decode the same with or without sign storage. */
static void bind_view_keeps_15_keys(void **state)
{
    (void)state;
    mc_session_view v, d = {.sign = NULL, .renew = NULL};
    mc_sign_info si, dsi;
    fill_view(&v);
    fill_sign(&si);
    v.sign = &si;
    mc_buf b = {0};
    mc_view_encode(&v, &b);
    assert_int_equal(b.ptr[0], 0x8f);
    assert_null(memmem(b.ptr, b.len, "documents", 9));
    mc_err err;
    d.sign = &dsi;
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_ptr_equal(d.sign, &dsi);
    assert_int_equal(dsi.ndocs, 0);
    d.sign = NULL;
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    mc_buf_free(&b);
}

static void sign_view_decode_enforces_key_rules_and_values(void **state)
{
    (void)state;
    entry e[SVIEW_N + 1];
    mc_buf docs = {0};
    sign_view_entries(e, &docs);
    key_rules(&D_SIGN_VIEW, e, SVIEW_N);

    mc_buf b = {0};
    pack_entries(&b, e, SVIEW_N);
    hostile_battery(&D_SIGN_VIEW, &b);

    /* the documents, as maps, with every refusal of the array form */
    for (size_t i = 0; i < DOCS_BAD_N; i++) {
        const docs_case *c = &docs_bad_cases[i];
        mc_buf bad = {0};
        pack_docs(&bad, 1, c->count, c->which, c->bad);
        mutate_and_expect(&D_SIGN_VIEW, e, SVIEW_N,
                          (entry)E_RAW("documents", bad.ptr, bad.len), "bad_field",
                          c->msg_part);
        mutate_and_expect(&D_SIGN_VIEW, e, SVIEW_N,
                          (entry)E_RAW("documents", bad.ptr, bad.len), "bad_field",
                          "\"documents\"");
        mc_buf_free(&bad);
    }
    mc_buf bad = {0};
    pack_docs(&bad, 1, 2, 0, DB_DUP_NAME_KEY);
    mutate_and_expect(&D_SIGN_VIEW, e, SVIEW_N, (entry)E_RAW("documents", bad.ptr, bad.len),
                      "bad_field", "\"name\" appears twice");
    bad.len = 0;
    pack_docs(&bad, 0, 1, 0, DB_NONE); /* the array form where maps belong */
    mutate_and_expect(&D_SIGN_VIEW, e, SVIEW_N, (entry)E_RAW("documents", bad.ptr, bad.len),
                      "bad_field", "not a map");
    mc_buf_free(&bad);

    char longtext[MC_SIGN_TEXT_MAX + 1];
    memset(longtext, 't', sizeof(longtext));
    const mutation m[] = {
        {E_STRN("text", longtext, sizeof(longtext)), "bad_field", "text"},
        {E_STR("text", "a\x01"), "bad_field", "text"},
        {E_STR("text", "\xe9\xa1"), "bad_field", "text"},
        {E_NEGINT("signing_time", -1), "bad_field", "signing_time"},
        {E_UINT("signing_time", UINT64_MAX), "bad_field", "signing_time"},
    };
    mutations_fail(&D_SIGN_VIEW, e, SVIEW_N, m, sizeof(m) / sizeof(m[0]));
    /* 512 bytes of text is fine */
    entry ok[SVIEW_N];
    memcpy(ok, e, sizeof(ok));
    ok[16] = (entry)E_STRN("text", longtext, MC_SIGN_TEXT_MAX);
    b.len = 0;
    pack_entries(&b, ok, SVIEW_N);
    expect_ok(&D_SIGN_VIEW, b.ptr, b.len);

    /* sign keys on a bind or login view: refused, each one */
    static const char *const purposes[] = {"bind", "login"};
    for (size_t pu = 0; pu < 2; pu++) {
        for (size_t k = 15; k < SVIEW_N; k++) {
            entry x[VIEW_N + 1];
            memcpy(x, e, VIEW_N * sizeof(entry));
            *find_entry(x, VIEW_N, "purpose") = (entry)E_STRN("purpose", purposes[pu],
                                                              strlen(purposes[pu]));
            x[VIEW_N] = e[k];
            char want[64];
            snprintf(want, sizeof(want), "\"%s\" is not allowed for purpose %s", e[k].key,
                     purposes[pu]);
            pack_expect_fail(&D_SIGN_VIEW, x, VIEW_N + 1, "bad_field", want);
        }
    }
    mc_buf_free(&b);
    mc_buf_free(&docs);
}

/* --- the sign answer --- */

/* An approving answer (v 1, number 57) of purpose from origin whose chain
 * is cert alone and whose signature is sig, both filled with fill_range
 * (1 and 2): where the sign and renew round trips start. */
static void approve_one_cert(mc_response *r, const char *purpose, const char *origin,
                             uint8_t *cert, size_t ncert, uint8_t *sig, size_t nsig)
{
    fill_range(cert, ncert, 1);
    fill_range(sig, nsig, 2);
    memset(r, 0, sizeof(*r));
    r->v = 1;
    strcpy(r->sid, "0123456789ABCDEFGHJK");
    snprintf(r->purpose, sizeof(r->purpose), "%s", purpose);
    snprintf(r->origin, sizeof(r->origin), "%s", origin);
    strcpy(r->decision, "approve");
    r->number = 57;
    r->chain[0] = (mc_slice){cert, ncert};
    r->nchain = 1;
    r->sig = (mc_slice){sig, nsig};
}

#define SRESP_N 9
static void sign_resp_entries(entry *e)
{
    memcpy(e, resp_base, sizeof(resp_base));
    *find_entry(e, RESP_N, "purpose") = (entry)E_STR("purpose", "sign");
    e[RESP_N] = (entry)E_ARR_BIN("doc_sigs", 71, 2);
}

static void sign_response_encode_decode_round_trip(void **state)
{
    (void)state;
    uint8_t cert[300], sig[72], ds[MC_DOCS_MAX][MC_SIG_MAX];
    mc_response r;
    approve_one_cert(&r, "sign", "https://zcy.example", cert, sizeof(cert), sig, sizeof(sig));
    for (size_t i = 0; i < MC_DOCS_MAX; i++) {
        memset(ds[i], (int)i, sizeof(ds[i]));
        r.doc_sigs[i] = (mc_slice){ds[i], i % 2 ? MC_SIG_MAX : 1 + i};
    }
    static const size_t counts[] = {3, 0, MC_DOCS_MAX};
    mc_buf b = {0};
    for (size_t c = 0; c < 3; c++) {
        r.ndoc_sigs = counts[c];
        b.len = 0;
        mc_response_encode(&r, &b);
        assert_int_equal(b.ptr[0], 0x89);
        mc_response d;
        mc_err err;
        assert_int_equal(mc_response_decode(b.ptr, b.len, &d, &err), 0);
        assert_string_equal(d.purpose, "sign");
        assert_int_equal(d.ndoc_sigs, counts[c]);
        for (size_t i = 0; i < counts[c]; i++) {
            assert_int_equal(d.doc_sigs[i].len, r.doc_sigs[i].len);
            assert_memory_equal(d.doc_sigs[i].ptr, ds[i], d.doc_sigs[i].len);
            assert_true(d.doc_sigs[i].ptr > b.ptr &&
                        d.doc_sigs[i].ptr + d.doc_sigs[i].len <= b.ptr + b.len);
        }
        assert_int_equal(d.sig.len, sizeof(sig));
    }
    /* a bind answer never carries doc_sigs, whatever r holds */
    strcpy(r.purpose, "bind");
    b.len = 0;
    mc_response_encode(&r, &b);
    assert_int_equal(b.ptr[0], 0x88);
    assert_null(memmem(b.ptr, b.len, "doc_sigs", 8));
    mc_response d;
    mc_err err;
    assert_int_equal(mc_response_decode(b.ptr, b.len, &d, &err), 0);
    assert_int_equal(d.ndoc_sigs, 0);
    mc_buf_free(&b);
}

static void sign_response_decode_rejects_hostile_values(void **state)
{
    (void)state;
    entry e[SRESP_N + 1];
    sign_resp_entries(e);
    map_rules(&D_RESPONSE, e, SRESP_N);
    mc_buf b = {0};

    const mutation bad[] = {
        {E_ARR_BIN("doc_sigs", 71, MC_DOCS_MAX + 1), "bad_field", "33 signatures"},
        {E_ARR_BIN("doc_sigs", 0, 1), "bad_field", "\"doc_sigs\" has 0 bytes"},
        {E_ARR_BIN("doc_sigs", MC_SIG_MAX + 1, 2), "bad_field", "\"doc_sigs\" has 81 bytes"},
        {E_ARR_STR("doc_sigs", 2), "bad_field", "doc_sigs"},
        {E_BIN("doc_sigs", 71), "bad_field", "doc_sigs"},
        {E_ARR_UINT("doc_sigs", 1, 1), "bad_field", "doc_sigs"},
    };
    mutations_fail(&D_RESPONSE, e, SRESP_N, bad, sizeof(bad) / sizeof(bad[0]));

    /* boundaries that are fine: none (a reject), 32, 80 bytes */
    static const entry fine[] = {
        E_ARR_BIN("doc_sigs", 71, 0),
        E_ARR_BIN("doc_sigs", 1, MC_DOCS_MAX),
        E_ARR_BIN("doc_sigs", MC_SIG_MAX, 1),
    };
    for (size_t i = 0; i < 3; i++) {
        e[RESP_N] = fine[i];
        b.len = 0;
        pack_entries(&b, e, SRESP_N);
        expect_ok(&D_RESPONSE, b.ptr, b.len);
    }
    mc_buf_free(&b);

    /* doc_sigs missing on a sign answer (here: the key simply left out) */
    pack_expect_fail(&D_RESPONSE, e, RESP_N, "bad_field",
                     "\"doc_sigs\" is missing (purpose sign)");
    /* doc_sigs on a bind or login answer, even an empty array */
    entry x[SRESP_N];
    memcpy(x, resp_base, sizeof(resp_base));
    x[RESP_N] = (entry)E_ARR_BIN("doc_sigs", 71, 0);
    pack_expect_fail(&D_RESPONSE, x, SRESP_N, "bad_field",
                     "\"doc_sigs\" is not allowed for purpose bind");
    *find_entry(x, SRESP_N, "purpose") = (entry)E_STR("purpose", "login");
    pack_expect_fail(&D_RESPONSE, x, SRESP_N, "bad_field",
                     "\"doc_sigs\" is not allowed for purpose login");
}

/* --- the inbox --- */

static void fill_entry(mc_inbox_entry *e, size_t i)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->sid, sizeof(e->sid), "ABCDEFGHJKMNPQRS%04zu", i);
    strcpy(e->purpose, "sign");
    e->match = 10 + (uint32_t)(i % 90);
    e->created = 1700000000 + (int64_t)i;
    e->expires = e->created + 300;
    strcpy(e->requester_name, "\xe6\x94\xbf\xe9\x87\x87\xe4\xba\x91"); /* 政采云 */
    snprintf(e->text, sizeof(e->text), "lot %zu", i);
    e->documents = 1 + (uint32_t)(i % MC_DOCS_MAX);
}

static int dec_inbox(const uint8_t *p, size_t n, mc_err *err)
{
    static mc_inbox_entry out[MC_INBOX_MAX];
    int64_t now;
    size_t count;
    return mc_inbox_decode(p, n, &now, out, MC_INBOX_MAX, &count, err);
}
static const decoder D_INBOX = {dec_inbox, 1};

/* One entry map wrapped into a reply by mc_inbox_reply_encode. */
static int dec_inbox_entry(const uint8_t *p, size_t n, mc_err *err)
{
    mc_buf b = {0};
    mc_inbox_reply_encode(1700000000, p, n, 1, &b);
    int rc = dec_inbox(b.ptr, b.len, err);
    mc_buf_free(&b);
    return rc;
}
static const decoder D_INBOX_ENTRY = {dec_inbox_entry, 1};

static void inbox_encode_decode_round_trip(void **state)
{
    (void)state;
    static mc_inbox_entry in[MC_INBOX_MAX], out[MC_INBOX_MAX];
    mc_buf entries = {0}, b = {0};
    for (size_t i = 0; i < MC_INBOX_MAX; i++) {
        fill_entry(&in[i], i);
        mc_inbox_entry_encode(&in[i], &entries);
    }
    static const size_t counts[] = {0, 1, 2, MC_INBOX_MAX};
    for (size_t c = 0; c < 4; c++) {
        /* the first counts[c] entries: their bytes are a prefix */
        size_t len = 0;
        for (size_t i = 0; i < counts[c]; i++) {
            mc_buf one = {0};
            mc_inbox_entry_encode(&in[i], &one);
            len += one.len;
            mc_buf_free(&one);
        }
        b.len = 0;
        mc_inbox_reply_encode(1700000123, entries.ptr, len, counts[c], &b);
        int64_t now = 0;
        size_t count = 99;
        mc_err err;
        mc_err_clear(&err);
        memset(out, 0x5a, sizeof(out));
        assert_int_equal(mc_inbox_decode(b.ptr, b.len, &now, out, MC_INBOX_MAX, &count, &err),
                         0);
        assert_int_equal(now, 1700000123);
        assert_int_equal(count, counts[c]);
        for (size_t i = 0; i < counts[c]; i++)
            assert_memory_equal(&out[i], &in[i], sizeof(in[i]));
    }
    /* more entries than the caller has room for */
    int64_t now;
    size_t count;
    mc_err err;
    assert_int_equal(mc_inbox_decode(b.ptr, b.len, &now, out, 99, &count, &err), -1);
    assert_string_equal(err.code, "bad_field");
    assert_non_null(strstr(err.msg, "requests"));
    assert_int_equal(count, 0);
    assert_int_equal(now, 0);
    mc_buf_free(&b);
    mc_buf_free(&entries);
}

static void inbox_decode_rejects_hostile_replies(void **state)
{
    (void)state;
    mc_inbox_entry in;
    fill_entry(&in, 7);
    mc_buf one = {0}, b = {0};
    mc_inbox_entry_encode(&in, &one);
    mc_inbox_reply_encode(1700000000, one.ptr, one.len, 1, &b);
    hostile_battery(&D_INBOX, &b);

    /* the reply: every key exactly once, of its type */
    const entry reply[3] = {
        E_UINT("v", 1),
        E_UINT("now", 1700000000),
        E_RAW("requests", "\x90", 1),
    };
    key_rules(&D_INBOX, reply, 3);
    const mutation rbad[] = {
        {E_UINT("v", 2), "bad_version", NULL},
        {E_NEGINT("now", -1), "bad_field", "now"},
        {E_ARR_UINT("requests", 1, 1), "bad_field", "inbox entry"},
        {E_ARR_UINT("requests", 1, MC_INBOX_MAX + 1), "bad_field", "101 entries"},
    };
    mutations_fail(&D_INBOX, reply, 3, rbad, sizeof(rbad) / sizeof(rbad[0]));

    /* an entry: every key exactly once, of its type */
    const entry ent[8] = {
        E_STR("sid", "ABCDEFGHJKMNPQRSTVWX"),
        E_STR("purpose", "sign"),
        E_UINT("match", 42),
        E_UINT("created", 1700000000),
        E_UINT("expires", 1700000300),
        E_STR("requester_name", "zcy"),
        E_STR("text", ""),
        E_UINT("documents", 3),
    };
    key_rules(&D_INBOX_ENTRY, ent, 8);
    char longname[130];
    memset(longname, 'r', sizeof(longname));
    const mutation ebad[] = {
        {E_STR("sid", "abcdefghjkmnpqrstvwx"), "bad_field", "sid"},
        {E_STR("purpose", "bind"), "bad_field", "purpose"},
        {E_UINT("match", UINT64_C(0x100000000)), "bad_field", "match"},
        {E_STRN("requester_name", longname, 129), "bad_field", "requester_name"},
        {E_STR("text", "a\nb"), "bad_field", "text"},
        {E_UINT("documents", 0), "bad_field", "documents"},
        {E_UINT("documents", MC_DOCS_MAX + 1), "bad_field", "documents"},
    };
    mutations_fail(&D_INBOX_ENTRY, ent, 8, ebad, sizeof(ebad) / sizeof(ebad[0]));
    mc_buf_free(&one);
    mc_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* renewal (purpose "renew", PROTOCOL.md §10)                          */
/* ------------------------------------------------------------------ */

/*
 * The renew example of PROTOCOL.md §10.6, by hand: the §4 example with
 * purpose "renew" (a5 72656e6577: one byte longer than "bind", so 144
 * bytes for the first 11 elements) and fixarray 14 (0x9e), then
 *   b4 5846 3230323530313031 30313233343536373839
 *                             fixstr 20: "XF202501010123456789" (renewal)
 *   ce 6b36ec80               uint32 1798761600 (new_not_after,
 *                             2027-01-01T00:00:00Z)
 *   c4 20 80..9f              bin8 32: csr_hash (a rekey)
 * Total 144 + 21 + 5 + 34 = 204 bytes; with no CSR (a renewal of the same
 * key) the last element is c4 00, bin8 of 0 bytes: 172 bytes.
 */
#define TBS_RENEW_HEAD_HEX                                                  \
    "9e"                                                                    \
    "a9 6d 63 65 72 74 2d 74 62 73"                                         \
    "01"                                                                    \
    "a5 72 65 6e 65 77"                                                     \
    "b4 41 42 43 44 45 46 47 48 4a 4b 4d 4e 50 51 52 53 54 56 57 58"        \
    "c4 20 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"                 \
    "      10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"                 \
    "b2 68 74 74 70 73 3a 2f 2f 63 61 2e 65 78 61 6d 70 6c 65"              \
    "a5 61 6c 69 63 65"                                                     \
    "cd 03 e8"                                                              \
    "c4 20 e0 e1 e2 e3 e4 e5 e6 e7 e8 e9 ea eb ec ed ee ef"                 \
    "      f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 fa fb fc fd fe ff"                 \
    "2a"                                                                    \
    "a7 61 70 70 72 6f 76 65"                                               \
    "b4 58 46 32 30 32 35 30 31 30 31 30 31 32 33 34 35 36 37 38 39"        \
    "ce 6b 36 ec 80"
#define TBS_RENEW_REKEY_HEX                                                 \
    TBS_RENEW_HEAD_HEX                                                      \
    "c4 20 80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f"                 \
    "      90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f"
#define TBS_RENEW_SAME_KEY_HEX TBS_RENEW_HEAD_HEX "c4 00"

static mc_renew_tbs fixed_renew_tbs(int has_csr)
{
    mc_renew_tbs rt = {
        .renewal = "XF202501010123456789",
        .new_not_after = 1798761600,
        .has_csr = has_csr,
    };
    fill_range(rt.csr_hash, 32, 0x80);
    return rt;
}

static void tbs_renew_example_matches_hand_derived_hex(void **state)
{
    (void)state;
    mc_renew_tbs rt = fixed_renew_tbs(1);
    mc_tbs t = fixed_tbs();
    t.purpose = "renew";
    t.renew = &rt;
    mc_buf b = {0};
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.len, 204);
    assert_buf_hex(&b, TBS_RENEW_REKEY_HEX);

    /* no CSR: csr_hash is bin(0), c4 00, whatever csr_hash holds */
    rt.has_csr = 0;
    b.len = 0;
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.len, 172);
    assert_buf_hex(&b, TBS_RENEW_SAME_KEY_HEX);

    /* the first 11 elements are §4's with the purpose "renew" */
    mc_tbs base = fixed_tbs();
    base.purpose = "renew";
    mc_buf c = {0};
    mc_tbs_encode(&base, &c);
    assert_int_equal(c.len, 144);
    assert_int_equal(c.ptr[0], 0x9b);
    assert_memory_equal(b.ptr + 1, c.ptr + 1, c.len - 1);
    mc_buf_free(&c);

    /* sign wins over renew: no TBS has both */
    mc_sign_info si;
    fill_sign(&si);
    t.sign = &si;
    b.len = 0;
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.ptr[0], 0x9d);
    mc_buf_free(&b);
}

/* A reject signs the same 14 elements; a small new_not_after takes its
 * shortest form, and the csr_hash is what the caller computed (SHA-256 of
 * the CSR bytes) — the TBS does not hash. */
static void tbs_renew_reject_and_real_hash(void **state)
{
    (void)state;
    static const uint8_t csr[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    mc_renew_tbs rt = fixed_renew_tbs(1);
    mc_sha256(csr, sizeof(csr), rt.csr_hash);
    rt.new_not_after = 1;
    mc_tbs t = fixed_tbs();
    t.purpose = "renew";
    t.renew = &rt;
    t.number = 0;
    t.decision = "reject";
    mc_buf b = {0};
    mc_tbs_encode(&t, &b);
    assert_int_equal(b.ptr[0], 0x9e);
    /* ... a6 "reject" b4 <renewal> 01 c4 20 <hash> */
    assert_int_equal(b.len, 144 - 8 + 7 + 21 + 1 + 34);
    assert_int_equal(b.ptr[b.len - 35], 0x01);
    assert_int_equal(b.ptr[b.len - 34], 0xc4);
    assert_int_equal(b.ptr[b.len - 33], 0x20);
    assert_memory_equal(b.ptr + b.len - 32, rt.csr_hash, 32);
    mc_buf_free(&b);
}

static mc_renew_info fixed_renew_info(void)
{
    mc_renew_info ri;
    memset(&ri, 0, sizeof(ri));
    strcpy(ri.renewal, "XF202501010123456789");
    strcpy(ri.serial, "7A3F00C1D2E3F405162738495A6B7C8D");
    ri.not_after = 1767225600;
    ri.new_not_after = 1798761600;
    ri.years = 1;
    return ri;
}

static void fill_renew_view(mc_session_view *v, mc_renew_info *ri)
{
    fill_view(v);
    *ri = fixed_renew_info();
    v->s.purpose = MC_PURPOSE_RENEW;
    v->renew = ri;
}

static int dec_renew_view(const uint8_t *p, size_t n, mc_err *err)
{
    static mc_renew_info ri;
    mc_session_view v = {.sign = NULL, .renew = &ri};
    return mc_view_decode(p, n, &v, err);
}
static const decoder D_RENEW_VIEW = {dec_renew_view, 1};

/* view_base as a renew view (20 entries). */
#define RVIEW_N 20
static void renew_view_entries(entry *e)
{
    memcpy(e, view_base, sizeof(view_base));
    *find_entry(e, VIEW_N, "purpose") = (entry)E_STR("purpose", "renew");
    *find_entry(e, VIEW_N, "account") = (entry)E_STR("account", "alice");
    e[15] = (entry)E_STR("renewal", "XF202501010123456789");
    e[16] = (entry)E_STR("serial", "7A3F00C1D2E3F405162738495A6B7C8D");
    e[17] = (entry)E_UINT("not_after", 1767225600);
    e[18] = (entry)E_UINT("new_not_after", 1798761600);
    e[19] = (entry)E_UINT("years", 1);
}

static void renew_view_encode_decode_round_trip(void **state)
{
    (void)state;
    mc_session_view v, d;
    mc_renew_info ri, dri;
    fill_renew_view(&v, &ri);
    mc_buf b = {0};
    mc_view_encode(&v, &b);
    assert_int_equal(b.ptr[0], 0xde); /* map16: 20 keys */
    assert_int_equal(b.ptr[1], 0);
    assert_int_equal(b.ptr[2], 20);
    assert_non_null(memmem(b.ptr, b.len, "\xa5renew", 6));
    mc_err err;
    mc_err_clear(&err);
    memset(&d, 0, sizeof(d));
    memset(&dri, 0x5a, sizeof(dri));
    d.renew = &dri;
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_ptr_equal(d.renew, &dri);
    assert_null(d.sign);
    assert_int_equal(d.s.purpose, MC_PURPOSE_RENEW);
    assert_string_equal(d.s.account, v.s.account);
    assert_memory_equal(&dri, &ri, sizeof(ri)); /* zeroed first, then filled */

    /* decoded without storage: refused, nothing left behind */
    d.renew = NULL;
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), -1);
    assert_string_equal(err.code, "bad_field");
    assert_non_null(strstr(err.msg, "no storage"));
    assert_int_equal(d.s.purpose, MC_PURPOSE_NONE);

    /* a failed decode clears the renew storage too */
    d.renew = &dri;
    assert_int_equal(mc_view_decode(b.ptr, b.len - 1, &d, &err), -1);
    assert_int_equal(dri.renewal[0], '\0');
    assert_int_equal(dri.years, 0);

    /* a renew view without its data goes out with 15 keys: a phone refuses it */
    v.renew = NULL;
    b.len = 0;
    mc_view_encode(&v, &b);
    assert_int_equal(b.ptr[0], 0x8f);
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), -1);
    assert_non_null(strstr(err.msg, "\"renewal\" is missing (purpose renew)"));

    /* a bind view never carries the renew keys, even with v->renew set;
     * and decodes with renew storage, which stays zeroed */
    fill_renew_view(&v, &ri);
    v.s.purpose = MC_PURPOSE_BIND;
    b.len = 0;
    mc_view_encode(&v, &b);
    assert_int_equal(b.ptr[0], 0x8f);
    assert_null(memmem(b.ptr, b.len, "new_not_after", 13));
    memset(&dri, 0x5a, sizeof(dri));
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_int_equal(dri.years, 0);
    assert_int_equal(dri.renewal[0], '\0');

    /* the largest values: 40 hex digits of serial, years 3 */
    fill_renew_view(&v, &ri);
    memset(ri.serial, 'F', 40);
    ri.serial[40] = '\0';
    ri.years = MC_RENEW_YEARS_MAX;
    ri.not_after = 0;
    b.len = 0;
    mc_view_encode(&v, &b);
    assert_int_equal(mc_view_decode(b.ptr, b.len, &d, &err), 0);
    assert_memory_equal(&dri, &ri, sizeof(ri));
    mc_buf_free(&b);
}

static void renew_view_decode_enforces_key_rules_and_values(void **state)
{
    (void)state;
    entry e[RVIEW_N + 1];
    renew_view_entries(e);
    map_rules(&D_RENEW_VIEW, e, RVIEW_N);
    mc_buf b = {0};

    char longserial[MC_SERIAL_HEX_MAX + 1];
    memset(longserial, 'A', sizeof(longserial));
    const mutation m[] = {
        {E_STR("renewal", "XF20250101012345678"), "bad_field", "renewal"},   /* 19 */
        {E_STR("renewal", "XF2025010101234567890"), "bad_field", "renewal"}, /* 21 */
        {E_STR("renewal", "PO202501010123456789"), "bad_field", "renewal"},  /* an order id */
        {E_STR("renewal", "XF20250101012345678A"), "bad_field", "renewal"},
        {E_STR("renewal", "xf202501010123456789"), "bad_field", "renewal"},
        {E_STR("renewal", "XF2025010101234567\0" "9"), "bad_field", "renewal"},
        {E_STR("renewal", ""), "bad_field", "renewal"},
        {E_STR("serial", ""), "bad_field", "serial"},
        {E_STR("serial", "7a3f"), "bad_field", "serial"}, /* lower case */
        {E_STR("serial", "7A3G"), "bad_field", "serial"},
        {E_STR("serial", "-7A3F"), "bad_field", "serial"},
        {E_STRN("serial", longserial, sizeof(longserial)), "bad_field", "serial"},
        {E_NEGINT("not_after", -1), "bad_field", "not_after"},
        {E_UINT("not_after", UINT64_MAX), "bad_field", "not_after"},
        {E_UINT("new_not_after", 0), "bad_field", "new_not_after"},
        {E_NEGINT("new_not_after", -5), "bad_field", "new_not_after"},
        {E_UINT("years", 0), "bad_field", "years"},
        {E_UINT("years", MC_RENEW_YEARS_MAX + 1), "bad_field", "years"},
        {E_UINT("years", UINT64_C(0x100000001)), "bad_field", "years"},
        {E_NEGINT("years", -1), "bad_field", "years"},
    };
    mutations_fail(&D_RENEW_VIEW, e, RVIEW_N, m, sizeof(m) / sizeof(m[0]));

    /* the renew keys on a bind, login or sign view: refused, each one */
    static const char *const purposes[] = {"bind", "login"};
    for (size_t pu = 0; pu < 2; pu++) {
        for (size_t k = 15; k < RVIEW_N; k++) {
            entry x[VIEW_N + 1];
            memcpy(x, e, VIEW_N * sizeof(entry));
            *find_entry(x, VIEW_N, "purpose") = (entry)E_STRN("purpose", purposes[pu],
                                                              strlen(purposes[pu]));
            x[VIEW_N] = e[k];
            char want[64];
            snprintf(want, sizeof(want), "\"%s\" is not allowed for purpose %s", e[k].key,
                     purposes[pu]);
            pack_expect_fail(&D_RENEW_VIEW, x, VIEW_N + 1, "bad_field", want);
        }
    }
    /* the sign keys or the enroll keys on a renew view */
    entry y[RVIEW_N + 1];
    memcpy(y, e, sizeof(entry) * RVIEW_N);
    y[RVIEW_N] = (entry)E_STR("app", "SQ0000000000000001");
    pack_expect_fail(&D_RENEW_VIEW, y, RVIEW_N + 1, "bad_field",
                     "\"app\" is not allowed for purpose renew");
    y[RVIEW_N] = (entry)E_UINT("signing_time", 1);
    pack_expect_fail(&D_RENEW_VIEW, y, RVIEW_N + 1, "bad_field", "signing_time");
    /* the purpose last in the map: the missing/forbidden keys are judged
     * after the map, so the renew keys before it are fine */
    memcpy(y, e, sizeof(entry) * RVIEW_N);
    entry pu = *find_entry(y, RVIEW_N, "purpose");
    for (size_t i = 2; i + 1 < RVIEW_N; i++)
        y[i] = y[i + 1];
    y[RVIEW_N - 1] = pu;
    b.len = 0;
    pack_entries(&b, y, RVIEW_N);
    expect_ok(&D_RENEW_VIEW, b.ptr, b.len);
    mc_buf_free(&b);
}

/* --- the renew answer --- */

#define RRESP_N 9
static void renew_resp_entries(entry *e, size_t csrlen)
{
    memcpy(e, resp_base, sizeof(resp_base));
    *find_entry(e, RESP_N, "purpose") = (entry)E_STR("purpose", "renew");
    e[RESP_N] = (entry)E_BIN("csr", csrlen);
}

static void renew_response_encode_decode_round_trip(void **state)
{
    (void)state;
    static uint8_t csr[MC_RENEW_CSR_MAX];
    uint8_t cert[300], sig[72];
    mc_response r;
    approve_one_cert(&r, "renew", "https://ca.example", cert, sizeof(cert), sig, sizeof(sig));
    fill_range(csr, sizeof(csr), 3);
    r.has_csr = 1;
    static const size_t lens[] = {0, 1, 437, MC_RENEW_CSR_MAX};
    mc_buf b = {0};
    for (size_t c = 0; c < 4; c++) {
        r.csr = (mc_slice){csr, lens[c]};
        b.len = 0;
        mc_response_encode(&r, &b);
        assert_int_equal(b.ptr[0], 0x89);
        mc_response d;
        mc_err err;
        mc_err_clear(&err);
        if (mc_response_decode(b.ptr, b.len, &d, &err) != 0)
            fail_msg("csr of %zu bytes: %s", lens[c], err.msg);
        assert_string_equal(d.purpose, "renew");
        assert_int_equal(d.has_csr, 1);
        assert_int_equal(d.csr.len, lens[c]);
        if (lens[c] != 0) {
            assert_memory_equal(d.csr.ptr, csr, lens[c]);
            assert_true(d.csr.ptr > b.ptr && d.csr.ptr + d.csr.len <= b.ptr + b.len);
        }
        assert_int_equal(d.ndoc_sigs, 0);
    }
    /* the empty csr is "csr" c4 00 at the end */
    r.csr = (mc_slice){NULL, 0};
    b.len = 0;
    mc_response_encode(&r, &b);
    assert_memory_equal(b.ptr + b.len - 6, "\xa3" "csr\xc4\x00", 6);
    /* a reject with the empty csr is fine */
    strcpy(r.decision, "reject");
    b.len = 0;
    mc_response_encode(&r, &b);
    mc_response d;
    mc_err err;
    assert_int_equal(mc_response_decode(b.ptr, b.len, &d, &err), 0);
    assert_string_equal(d.decision, "reject");
    /* without has_csr the key is not written (and a renew answer is then refused) */
    r.has_csr = 0;
    b.len = 0;
    mc_response_encode(&r, &b);
    assert_int_equal(b.ptr[0], 0x88);
    assert_int_equal(mc_response_decode(b.ptr, b.len, &d, &err), -1);
    assert_non_null(strstr(err.msg, "\"csr\" is missing (purpose renew)"));
    /* a bind answer decodes with has_csr 0 */
    strcpy(r.purpose, "bind");
    b.len = 0;
    mc_response_encode(&r, &b);
    assert_int_equal(mc_response_decode(b.ptr, b.len, &d, &err), 0);
    assert_int_equal(d.has_csr, 0);
    assert_int_equal(d.csr.len, 0);
    mc_buf_free(&b);
}

static void renew_response_decode_rejects_hostile_values(void **state)
{
    (void)state;
    entry e[RRESP_N + 1];
    renew_resp_entries(e, 437);
    map_rules(&D_RESPONSE, e, RRESP_N);
    mc_buf b = {0};

    const mutation bad[] = {
        {E_BIN("csr", MC_RENEW_CSR_MAX + 1), "bad_field", "\"csr\" has 4097 bytes"},
        {E_STR("csr", "0\x82"), "bad_field", "\"csr\" must be binary"},
        {E_ARR_BIN("csr", 10, 1), "bad_field", "csr"},
        {E_NIL("csr"), "bad_field", "csr"},
    };
    mutations_fail(&D_RESPONSE, e, RRESP_N, bad, sizeof(bad) / sizeof(bad[0]));

    /* csr missing on a renew answer */
    pack_expect_fail(&D_RESPONSE, e, RESP_N, "bad_field", "\"csr\" is missing (purpose renew)");
    /* csr on a bind, login or sign answer, even empty */
    static const char *const purposes[] = {"bind", "login"};
    for (size_t i = 0; i < 2; i++) {
        entry x[RRESP_N];
        memcpy(x, e, sizeof(x));
        *find_entry(x, RRESP_N, "purpose") =
            (entry)E_STRN("purpose", purposes[i], strlen(purposes[i]));
        x[RESP_N] = (entry)E_BIN("csr", 0);
        char want[64];
        snprintf(want, sizeof(want), "\"csr\" is not allowed for purpose %s", purposes[i]);
        pack_expect_fail(&D_RESPONSE, x, RRESP_N, "bad_field", want);
    }
    entry s[SRESP_N + 1];
    sign_resp_entries(s);
    s[SRESP_N] = (entry)E_BIN("csr", 0);
    pack_expect_fail(&D_RESPONSE, s, SRESP_N + 1, "bad_field",
                     "\"csr\" is not allowed for purpose sign");
    /* doc_sigs on a renew answer */
    memcpy(s, e, sizeof(entry) * RRESP_N);
    s[RRESP_N] = (entry)E_ARR_BIN("doc_sigs", 71, 0);
    pack_expect_fail(&D_RESPONSE, s, RRESP_N + 1, "bad_field",
                     "\"doc_sigs\" is not allowed for purpose renew");
    /* a reject with a CSR */
    entry x[RRESP_N];
    memcpy(x, e, sizeof(x));
    *find_entry(x, RRESP_N, "decision") = (entry)E_STR("decision", "reject");
    pack_expect_fail(&D_RESPONSE, x, RRESP_N, "bad_field", "\"csr\" must be empty for a reject");
    x[RESP_N] = (entry)E_BIN("csr", 0);
    b.len = 0;
    pack_entries(&b, x, RRESP_N);
    expect_ok(&D_RESPONSE, b.ptr, b.len);
    /* error order: a bad entry before the csr wins over the reject rule */
    *find_entry(x, RRESP_N, "sig") = (entry)E_BIN("sig", 0);
    x[RESP_N] = (entry)E_BIN("csr", 5);
    pack_expect_fail(&D_RESPONSE, x, RRESP_N, "bad_field", "\"sig\"");
    /* and an enroll answer is refused whatever it carries */
    memcpy(x, e, sizeof(x));
    *find_entry(x, RRESP_N, "purpose") = (entry)E_STR("purpose", "enroll");
    pack_expect_fail(&D_RESPONSE, x, RRESP_N, "bad_field", "enroll session");
    mc_buf_free(&b);
}

/* --- the renew reply --- */

static int dec_renew_result(const uint8_t *p, size_t n, mc_err *err)
{
    mc_renew_result r;
    return mc_result_renew_decode(p, n, &r, err);
}
static const decoder D_RENEW_RESULT = {dec_renew_result, 1};

static const char FP64[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void renew_result_encode_decode_round_trip(void **state)
{
    (void)state;
    uint8_t leaf[500], ca[400];
    fill_range(leaf, sizeof(leaf), 7);
    fill_range(ca, sizeof(ca), 9);
    mc_slice chain[2] = {{leaf, sizeof(leaf)}, {ca, sizeof(ca)}};
    mc_buf b = {0};
    assert_int_equal(mc_result_renew_encode("approved", "alice", FP64, chain, 2, &b), 0);
    assert_int_equal(b.ptr[0], 0x84);
    mc_renew_result r;
    mc_err err;
    mc_err_clear(&err);
    assert_int_equal(mc_result_renew_decode(b.ptr, b.len, &r, &err), 0);
    assert_string_equal(r.state, "approved");
    assert_string_equal(r.account, "alice");
    assert_string_equal(r.fp, FP64);
    assert_int_equal(r.nchain, 2);
    assert_int_equal(r.chain[0].len, sizeof(leaf));
    assert_memory_equal(r.chain[0].ptr, leaf, sizeof(leaf));
    assert_memory_equal(r.chain[1].ptr, ca, sizeof(ca));

    /* the reject is mc_result_encode's bytes exactly */
    mc_buf c = {0};
    b.len = 0;
    assert_int_equal(mc_result_renew_encode("rejected", "", FP64, chain, 2, &b), 0);
    mc_result_encode("rejected", "", &c);
    assert_int_equal(b.len, c.len);
    assert_memory_equal(b.ptr, c.ptr, c.len);
    assert_int_equal(mc_result_renew_decode(b.ptr, b.len, &r, &err), 0);
    assert_string_equal(r.state, "rejected");
    assert_int_equal(r.nchain, 0);
    assert_string_equal(r.fp, "");
    mc_buf_free(&c);

    /* a caller's bug writes nothing */
    b.len = 0;
    assert_int_equal(mc_result_renew_encode("approved", "alice", "abc", chain, 2, &b), -1);
    assert_int_equal(mc_result_renew_encode("approved", "alice", FP64, chain, 0, &b), -1);
    assert_int_equal(mc_result_renew_encode("approved", "alice", NULL, chain, 1, &b), -1);
    assert_int_equal(
        mc_result_renew_encode("approved", "alice", FP64, chain, MC_CHAIN_MAX + 1, &b), -1);
    assert_int_equal(b.len, 0);
    mc_buf_free(&b);
}

static void renew_result_decode_rejects_hostile_replies(void **state)
{
    (void)state;
    uint8_t leaf[64];
    fill_range(leaf, sizeof(leaf), 1);
    mc_slice chain[1] = {{leaf, sizeof(leaf)}};
    mc_buf b = {0};
    mc_result_renew_encode("approved", "alice", FP64, chain, 1, &b);
    hostile_battery(&D_RENEW_RESULT, &b);
    mc_buf_free(&b);

    const entry ok[4] = {
        E_STR("state", "approved"),
        E_STR("account", "alice"),
        E_STR("fp", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
        E_ARR_BIN("chain", 300, 2),
    };
    key_rules(&D_RENEW_RESULT, ok, 4);
    char longacct[MC_ACCOUNT_MAX + 1];
    memset(longacct, 'a', sizeof(longacct));
    const mutation bad[] = {
        {E_STR("state", "issued"), "bad_field", "state"},
        {E_STR("state", "approved\0"), "bad_field", "state"},
        {E_STRN("account", longacct, sizeof(longacct)), "bad_field", "account"},
        {E_STR("fp", "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"),
         "bad_field", "fp"},
        {E_STR("fp", "0011"), "bad_field", "fp"},
        {E_ARR_BIN("chain", 300, 0), "bad_field", "chain"},
        {E_ARR_BIN("chain", 300, MC_CHAIN_MAX + 1), "bad_field", "chain"},
        {E_ARR_BIN("chain", 0, 1), "bad_field", "chain"},
        {E_ARR_BIN("chain", MC_CERT_DER_MAX + 1, 1), "bad_field", "chain"},
        {E_BIN("chain", 300), "bad_field", "chain"},
    };
    mutations_fail(&D_RENEW_RESULT, ok, 4, bad, sizeof(bad) / sizeof(bad[0]));

    /* rejected: exactly {state, account}; fp or chain with it is refused */
    const entry rej[3] = {
        E_STR("state", "rejected"),
        E_STR("account", ""),
        E_ARR_BIN("chain", 300, 1),
    };
    b.len = 0;
    pack_entries(&b, rej, 2);
    expect_ok(&D_RENEW_RESULT, b.ptr, b.len);
    pack_expect_fail(&D_RENEW_RESULT, rej, 3, "bad_field",
                     "\"chain\" is not allowed (state rejected)");
    entry rej2[3] = {rej[0], rej[1], ok[2]};
    pack_expect_fail(&D_RENEW_RESULT, rej2, 3, "bad_field", "\"fp\" is not allowed");
    /* approved without fp or chain */
    pack_expect_fail(&D_RENEW_RESULT, ok, 3, "bad_field", "\"chain\" is missing (state approved)");
    entry noc[3] = {ok[0], ok[1], ok[3]};
    pack_expect_fail(&D_RENEW_RESULT, noc, 3, "bad_field", "\"fp\" is missing (state approved)");
    /* state last: the rule is judged after the map */
    entry last[4] = {ok[1], ok[2], ok[3], ok[0]};
    b.len = 0;
    pack_entries(&b, last, 4);
    expect_ok(&D_RENEW_RESULT, b.ptr, b.len);
    mc_buf_free(&b);
}

/* --- a renew session in the inbox --- */

static void inbox_renew_entry_rules(void **state)
{
    (void)state;
    mc_inbox_entry in, out[2];
    fill_entry(&in, 3);
    strcpy(in.purpose, "renew");
    in.documents = 0;
    strcpy(in.text, "\xe8\xaf\x81\xe4\xb9\xa6\xe5\xbb\xb6\xe6\x9c\x9f 1\xe5\xb9\xb4 "
                    "\xe8\x87\xb3 2027-01-01"); /* 证书延期 1年 至 2027-01-01 */
    mc_buf one = {0}, b = {0};
    mc_inbox_entry_encode(&in, &one);
    mc_inbox_reply_encode(1700000000, one.ptr, one.len, 1, &b);
    int64_t now;
    size_t count;
    mc_err err;
    mc_err_clear(&err);
    assert_int_equal(mc_inbox_decode(b.ptr, b.len, &now, out, 2, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_memory_equal(&out[0], &in, sizeof(in));

    const entry ent[8] = {
        E_STR("sid", "ABCDEFGHJKMNPQRSTVWX"),
        E_STR("purpose", "renew"),
        E_UINT("match", 42),
        E_UINT("created", 1700000000),
        E_UINT("expires", 1700000300),
        E_STR("requester_name", "zcy"),
        E_STR("text", ""),
        E_UINT("documents", 0),
    };
    key_rules(&D_INBOX_ENTRY, ent, 8);
    const mutation ebad[] = {
        {E_UINT("documents", 1), "bad_field", "must be 0 (purpose renew)"},
        {E_UINT("documents", MC_DOCS_MAX + 1), "bad_field", "documents"},
        {E_STR("purpose", "enroll"), "bad_field", "purpose"},
        {E_STR("purpose", "renew\0"), "bad_field", "purpose"},
    };
    mutations_fail(&D_INBOX_ENTRY, ent, 8, ebad, sizeof(ebad) / sizeof(ebad[0]));
    /* documents before purpose: judged after the entry's map */
    entry order[8] = {ent[7], ent[0], ent[2], ent[3], ent[4], ent[5], ent[6], ent[1]};
    one.len = 0;
    pack_entries(&one, order, 8);
    expect_ok(&D_INBOX_ENTRY, one.ptr, one.len);
    order[0] = (entry)E_UINT("documents", 2);
    pack_expect_fail(&D_INBOX_ENTRY, order, 8, "bad_field", "must be 0 (purpose renew)");
    order[7] = (entry)E_STR("purpose", "sign");
    one.len = 0;
    pack_entries(&one, order, 8);
    expect_ok(&D_INBOX_ENTRY, one.ptr, one.len);
    order[0] = (entry)E_UINT("documents", 0);
    pack_expect_fail(&D_INBOX_ENTRY, order, 8, "bad_field", "documents");
    mc_buf_free(&one);
    mc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tbs_fixed_example_matches_hand_derived_hex),
        cmocka_unit_test(tbs_uint32_expires_and_str8_origin),
        cmocka_unit_test(tbs_origin_fixstr_str8_boundary_at_31_32),
        cmocka_unit_test(tbs_expires_uses_shortest_int_forms),
        cmocka_unit_test(response_encode_decode_round_trip),
        cmocka_unit_test(view_encode_decode_round_trip_without_match),
        cmocka_unit_test(error_and_result_round_trip),
        cmocka_unit_test(mp_check_accepts_well_formed_objects),
        cmocka_unit_test(mp_check_rejects_malformed_structure),
        cmocka_unit_test(mp_check_rejects_over_max_with_too_large),
        cmocka_unit_test(mp_check_rejects_array32_claiming_4g_elements_fast),
        cmocka_unit_test(mp_check_rejects_map16_claiming_more_entries_than_bytes),
        cmocka_unit_test(mp_check_depth_8_ok_depth_9_rejected),
        cmocka_unit_test(response_decode_rejects_hostile_frames),
        cmocka_unit_test(response_decode_enforces_key_rules),
        cmocka_unit_test(response_decode_rejects_bad_field_values),
        cmocka_unit_test(response_decode_unknown_key_is_named),
        cmocka_unit_test(view_decode_rejects_hostile_frames),
        cmocka_unit_test(view_decode_enforces_key_rules_and_values),
        cmocka_unit_test(error_decode_rejects_hostile_frames),
        cmocka_unit_test(result_decode_rejects_hostile_frames),
        cmocka_unit_test(tbs_sign_example_matches_hand_derived_hex),
        cmocka_unit_test(tbs_sign_reject_and_small_time),
        cmocka_unit_test(inbox_tbs_matches_protocol_example),
        cmocka_unit_test(doc_name_and_text_rules),
        cmocka_unit_test(docs_encode_decode_round_trip),
        cmocka_unit_test(docs_decode_rejects_hostile_input),
        cmocka_unit_test(sign_view_encode_decode_round_trip),
        cmocka_unit_test(bind_view_keeps_15_keys),
        cmocka_unit_test(sign_view_decode_enforces_key_rules_and_values),
        cmocka_unit_test(sign_response_encode_decode_round_trip),
        cmocka_unit_test(sign_response_decode_rejects_hostile_values),
        cmocka_unit_test(inbox_encode_decode_round_trip),
        cmocka_unit_test(inbox_decode_rejects_hostile_replies),
        cmocka_unit_test(tbs_renew_example_matches_hand_derived_hex),
        cmocka_unit_test(tbs_renew_reject_and_real_hash),
        cmocka_unit_test(renew_view_encode_decode_round_trip),
        cmocka_unit_test(renew_view_decode_enforces_key_rules_and_values),
        cmocka_unit_test(renew_response_encode_decode_round_trip),
        cmocka_unit_test(renew_response_decode_rejects_hostile_values),
        cmocka_unit_test(renew_result_encode_decode_round_trip),
        cmocka_unit_test(renew_result_decode_rejects_hostile_replies),
        cmocka_unit_test(inbox_renew_entry_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
