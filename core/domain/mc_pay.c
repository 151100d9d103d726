/*
 * mc_pay.c — see mc_pay.h.
 */
#include "mc_pay.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mc_crypto.h"

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int mc_dated_id_valid(const char *prefix, const char *s, size_t n)
{
    return n == MC_DATED_ID_LEN && s[0] == prefix[0] && s[1] == prefix[1] &&
           all_digits(s + 2, n - 2);
}

void mc_dated_id_new(const char *prefix, int64_t now, char out[MC_DATED_ID_LEN + 1])
{
    time_t t = (time_t)(now + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(out, MC_DATED_ID_LEN + 1, "%c%c%04d%02d%02d", prefix[0], prefix[1],
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    for (int i = n; i < MC_DATED_ID_LEN; i++)
        out[i] = (char)('0' + mc_random_below(10));
    out[MC_DATED_ID_LEN] = '\0';
}

int mc_pay_oid_valid(const char *s, size_t n)
{
    return mc_dated_id_valid("PO", s, n);
}

void mc_pay_oid_new(int64_t now, char out[MC_PAY_OID_LEN + 1])
{
    mc_dated_id_new("PO", now, out);
}

int mc_pay_txn_valid(const char *s, size_t n)
{
    if (n == 0 || n > MC_PAY_TXN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void mc_pay_txn_new(const char *prefix, char out[MC_PAY_TXN_MAX + 1])
{
    uint8_t rnd[12];
    char hex[25];
    mc_random(rnd, sizeof(rnd));
    mc_hex(rnd, sizeof(rnd), hex);
    snprintf(out, MC_PAY_TXN_MAX + 1, "%.8s%s", prefix, hex);
}

int mc_pay_amount_valid(int64_t a)
{
    return a >= 1 && a <= MC_PAY_AMOUNT_MAX;
}

int mc_pay_notice_check(const mc_pay_notice *n, mc_err *err)
{
    if (!mc_pay_oid_valid(n->order, strlen(n->order)))
        return mc_err_set(err, 400, "bad_field", "order is not an order id");
    if (!mc_pay_amount_valid(n->amount))
        return mc_err_set(err, 400, "bad_field", "amount must be 1..%lld fen",
                          (long long)MC_PAY_AMOUNT_MAX);
    if (strcmp(n->status, "paid") != 0 && strcmp(n->status, "refunded") != 0)
        return mc_err_set(err, 400, "bad_field", "status must be paid or refunded");
    if (!mc_pay_txn_valid(n->txn, strlen(n->txn)))
        return mc_err_set(err, 400, "bad_field", "txn must be 1..64 of A-Z a-z 0-9 _ -");
    return 0;
}

int mc_pay_fresh(int64_t ts, int64_t now)
{
    return ts >= now - MC_PAY_WINDOW && ts <= now + MC_PAY_WINDOW;
}

size_t mc_pay_notice_format(const mc_pay_notice *n, char *out, size_t size)
{
    int w = snprintf(out, size,
                     "{\"order\":\"%s\",\"amount\":%" PRId64 ",\"status\":\"%s\",\"txn\":\"%s\","
                     "\"ts\":%" PRId64 "}",
                     n->order, n->amount, n->status, n->txn, n->ts);
    return w > 0 && (size_t)w < size ? (size_t)w : 0;
}

static void hmac(const uint8_t key[MC_PAY_KEY_LEN], const void *body, size_t len,
                 uint8_t mac[32])
{
    unsigned int maclen = 0;
    if (HMAC(EVP_sha256(), key, MC_PAY_KEY_LEN, body, len, mac, &maclen) == NULL ||
        maclen != 32)
        abort(); /* OpenSSL's HMAC cannot fail for SHA-256 short of out of memory */
}

void mc_pay_sign(const uint8_t key[MC_PAY_KEY_LEN], const void *body, size_t len,
                 char hex[65])
{
    uint8_t mac[32];
    hmac(key, body, len, mac);
    mc_hex(mac, sizeof(mac), hex);
    OPENSSL_cleanse(mac, sizeof(mac));
}

int mc_pay_sig_ok(const uint8_t key[MC_PAY_KEY_LEN], const void *body, size_t len,
                  const char *sig, size_t siglen)
{
    uint8_t want[32], got[32];
    if (sig == NULL || mc_unhex(sig, siglen, got, sizeof(got)) != 0)
        return 0;
    hmac(key, body, len, want);
    int ok = mc_ct_eq(want, got, sizeof(want));
    OPENSSL_cleanse(want, sizeof(want));
    return ok;
}
