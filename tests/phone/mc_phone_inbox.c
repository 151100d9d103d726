/*
 * mc_phone_inbox.c — the phone's inbox (PROTOCOL.md §8.4): the sign
 * requests waiting for this phone's certificate.
 *
 * Why: a sign request is opened by a platform, not by a browser next to the
 * phone, so there may be no QR to scan. The phone proves it holds the key
 * (a signature over the inbox TBS: base, fingerprint, time, a fresh nonce)
 * and gets the list, each entry with its match number; it then fetches and
 * answers a session exactly as after a scan (mc_phone_proto.c).
 *
 * Design: mc_phone_inbox_build makes the query (and the signed bytes)
 * without I/O, so tests can check and replay it; mc_phone_inbox sends it
 * and decodes the reply (mc_inbox_decode, strict). The inbox_* lies of
 * mc_phone_overrides change the nonce, the time, the signed base, the
 * fingerprint or the signature, one at a time.
 *
 * Non-goals: correcting the phone's clock from the reply's `now` (the
 * caller may), paging (the server sends at most MC_INBOX_MAX entries).
 */
#include "mc_phone_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mc_http.h"

/* base without trailing '/' into out (size bytes); lower-cased if lower. */
static int base_copy(char *out, size_t size, const char *base, int lower, mc_phone_err *err)
{
    if (base == NULL || base[0] == '\0')
        return mc_phone_fail(err, 400, "bad_url", "no base URL");
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n == 0 || n >= size)
        return mc_phone_fail(err, 400, "bad_url", "base URL empty or too long");
    for (size_t i = 0; i < n; i++)
        out[i] = lower ? (char)tolower((unsigned char)base[i]) : base[i];
    out[n] = '\0';
    return 0;
}

int mc_phone_inbox_build(const mc_phone *p, const char *base, int64_t now,
                         const mc_phone_overrides *ov, char *query, size_t size, mc_buf *tbs_out,
                         mc_phone_err *err)
{
    static const mc_phone_overrides none;
    char lbase[MC_PHONE_URL_MAX];
    uint8_t nonce[MC_INBOX_NONCE_LEN], sig[MC_SIG_MAX];
    char fp_hex[65], nonce_hex[2 * MC_INBOX_NONCE_LEN + 1], sig_hex[2 * MC_SIG_MAX + 1];
    size_t siglen = 0;
    mc_buf tbs = {0};
    mc_err e = {0};
    int rc = -1;

    mc_phone_err_clear(err);
    if (ov == NULL)
        ov = &none;
    if (query == NULL || size == 0)
        return mc_phone_fail(err, 400, "bad_request", "no query buffer");
    query[0] = '\0';
    if (base_copy(lbase, sizeof(lbase), base, 1, err) != 0)
        return -1;
    const uint8_t *fp = ov->inbox_fp;
    if (fp == NULL) {
        if (p == NULL || p->nchain == 0)
            return mc_phone_fail(err, 400, "no_certificate",
                                 "no certificate imported into this phone");
        fp = p->fp;
    }
    EVP_PKEY *key = ov->sign_key ? ov->sign_key : mc_phone_key(p);
    if (key == NULL)
        return mc_phone_fail(err, 400, "bad_request", "no key to sign with");
    int64_t ts = ov->set_inbox_ts ? ov->inbox_ts : now + ov->inbox_ts_skew;
    if (ov->inbox_nonce != NULL)
        memcpy(nonce, ov->inbox_nonce, sizeof(nonce));
    else
        mc_random(nonce, sizeof(nonce));

    mc_inbox_tbs_encode(ov->inbox_tbs_base ? ov->inbox_tbs_base : lbase, fp, ts, nonce, &tbs);
    if (mc_sign(key, tbs.ptr, tbs.len, sig, &siglen, &e) != 0) {
        mc_phone_err_from(err, &e);
        goto done;
    }
    if (ov->corrupt_inbox_sig && siglen > 0)
        sig[siglen - 1] ^= 1;
    mc_hex(fp, 32, fp_hex);
    mc_hex(nonce, sizeof(nonce), nonce_hex);
    mc_hex(sig, siglen, sig_hex);
    int n = snprintf(query, size, "fp=%s&ts=%" PRId64 "&nonce=%s&sig=%s", fp_hex, ts, nonce_hex,
                     sig_hex);
    if (n < 0 || (size_t)n >= size) {
        query[0] = '\0';
        mc_phone_fail(err, 400, "bad_request", "query buffer too small");
        goto done;
    }
    if (tbs_out != NULL)
        mc_buf_append(tbs_out, tbs.ptr, tbs.len);
    rc = 0;
done:
    mc_buf_free(&tbs);
    return rc;
}

int mc_phone_inbox(const mc_phone *p, const char *base, mc_inbox_entry *entries, size_t max,
                   size_t *count, int64_t *now, const mc_phone_overrides *ov,
                   mc_phone_err *err)
{
    char ubase[MC_PHONE_URL_MAX], query[512], url[MC_PHONE_URL_MAX];
    mc_http_reply reply = {0};
    mc_err e = {0};
    int64_t server_now = 0;
    size_t got = 0;
    int rc = -1;

    mc_phone_err_clear(err);
    *count = 0;
    if (now != NULL)
        *now = 0;
    if (base_copy(ubase, sizeof(ubase), base, 0, err) != 0 ||
        mc_phone_inbox_build(p, base, (int64_t)time(NULL), ov, query, sizeof(query), NULL,
                             err) != 0)
        return -1;
    int n = snprintf(url, sizeof(url), "%s/m/v1/inbox?%s", ubase, query);
    if (n < 0 || (size_t)n >= sizeof(url))
        return mc_phone_fail(err, 400, "bad_url", "URL too long");
    if (mc_phone_api_call("GET", url, NULL, 0, &reply, err) != 0)
        goto done;
    if (mc_inbox_decode(reply.body.ptr, reply.body.len, &server_now, entries, max, &got,
                        &e) != 0) {
        mc_phone_fail(err, 502, "bad_reply", "inbox: %s", e.msg);
        goto done;
    }
    *count = got;
    if (now != NULL)
        *now = server_now;
    rc = 0;
done:
    mc_http_reply_free(&reply);
    return rc;
}

const mc_inbox_entry *mc_phone_inbox_find(const mc_inbox_entry *entries, size_t n,
                                          const char *sid)
{
    for (size_t i = 0; entries != NULL && sid != NULL && i < n; i++)
        if (strcmp(entries[i].sid, sid) == 0)
            return &entries[i];
    return NULL;
}
