/*
 * mc_session.c — pure rules of the QR session (see mc_session.h).
 *
 * Why: the identifiers of a session (sid, nonce, match number, choices) and
 * the small validators around them are used by the server, the store and the
 * reference phone alike; they live here once, with no I/O.
 *
 * Design:
 *  - sid: mc_base32 of 13 CSPRNG bytes gives 21 characters; the first 20 carry
 *    exactly 100 random bits (the 21st would carry only 4 and is dropped).
 *  - match: uniform in 10..99; choices: match plus two other distinct
 *    numbers of 10..99, then shuffled (Fisher-Yates), all via
 *    mc_random_below (rejection sampling, so no modulo bias).
 *  - mc_copy_printable: byte-wise scan of untrusted text. Printable ASCII and
 *    well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF) are kept;
 *    every other byte becomes '?'. Decoded-but-invisible controls that could
 *    mislead a reader of the phone screen (C1 controls U+0080..U+009F and the
 *    bidi embedding/override/isolate marks U+202A..U+202E, U+2066..U+2069)
 *    are replaced by one '?' for the whole sequence. The output is cut
 *    before a sequence that would not fit, so it is always valid UTF-8 and
 *    always NUL-terminated.
 *
 * Non-goals: no Unicode normalisation, no width/grapheme handling, no state
 * machine enforcement (the server decides the transitions).
 */
#include "mc_session.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <string.h>

#include "mc_crypto.h"

static const char mc_sid_alphabet[] = MC_BASE32_ALPHABET; /* what mc_base32 writes */

const char *mc_purpose_name(mc_purpose p)
{
    switch (p) {
    case MC_PURPOSE_BIND:
        return "bind";
    case MC_PURPOSE_LOGIN:
        return "login";
    case MC_PURPOSE_SIGN:
        return "sign";
    case MC_PURPOSE_ENROLL:
        return "enroll";
    case MC_PURPOSE_RENEW:
        return "renew";
    case MC_PURPOSE_NONE:
    default:
        return "";
    }
}

mc_purpose mc_purpose_parse(const char *s, size_t n)
{
    if (s == NULL)
        return MC_PURPOSE_NONE;
    if (n == 4 && memcmp(s, "bind", 4) == 0)
        return MC_PURPOSE_BIND;
    if (n == 5 && memcmp(s, "login", 5) == 0)
        return MC_PURPOSE_LOGIN;
    if (n == 4 && memcmp(s, "sign", 4) == 0)
        return MC_PURPOSE_SIGN;
    if (n == 6 && memcmp(s, "enroll", 6) == 0)
        return MC_PURPOSE_ENROLL;
    if (n == 5 && memcmp(s, "renew", 5) == 0)
        return MC_PURPOSE_RENEW;
    return MC_PURPOSE_NONE;
}

int mc_account_name_valid(const char *s, size_t n)
{
    if (s == NULL || n == 0 || n > MC_ACCOUNT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

uint32_t mc_sid_hash(const char *sid)
{
    uint32_t h = 2166136261u;
    for (const char *p = sid; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

int mc_sid_valid(const char *s, size_t n)
{
    if (s == NULL || n != MC_SID_LEN)
        return 0;
    /* memchr over the 32 alphabet characters, not the NUL after them, so a
     * NUL byte in s is rejected like any other foreign byte. */
    for (size_t i = 0; i < n; i++)
        if (memchr(mc_sid_alphabet, s[i], sizeof(mc_sid_alphabet) - 1) == NULL)
            return 0;
    return 1;
}

/* The randomness of one session, drawn from the CSPRNG in one call
 * (OpenSSL checks for a fork, a system call, on every call), then spent:
 * the sid, the nonce, and 32-bit words for the numbers. */
typedef struct rng_draw {
    uint8_t b[13 + MC_NONCE_LEN + 4 * 12];
    size_t pos;
} rng_draw;

static const uint8_t *draw_bytes(rng_draw *d, size_t n)
{
    if (d->pos + n > sizeof(d->b)) { /* rare: many rejections; draw again */
        mc_random(d->b, sizeof(d->b));
        d->pos = 0;
    }
    d->pos += n;
    return d->b + d->pos - n;
}

/* Uniform in [0, bound) without modulo bias (rejection sampling). */
static uint32_t draw_below(rng_draw *d, uint32_t bound)
{
    uint32_t min = (uint32_t)(-bound) % bound, r;
    do {
        memcpy(&r, draw_bytes(d, sizeof(r)), sizeof(r));
    } while (r < min);
    return r % bound;
}

void mc_session_init(mc_session *s, mc_purpose p, int64_t now, int ttl)
{
    rng_draw d;
    d.pos = 0;
    mc_random(d.b, sizeof(d.b));
    char b32[(13 * 8 + 4) / 5 + 1];

    memset(s, 0, sizeof(*s)); /* every field the caller does not set is "" / 0 */
    mc_base32(draw_bytes(&d, 13), 13, b32);
    memcpy(s->sid, b32, MC_SID_LEN);
    s->sid[MC_SID_LEN] = '\0';

    s->purpose = p;
    snprintf(s->state, sizeof(s->state), "%s", "pending");
    memcpy(s->nonce, draw_bytes(&d, MC_NONCE_LEN), MC_NONCE_LEN);
    s->created = now;
    s->expires = now + ttl;

    uint32_t c[3];
    c[0] = 10 + draw_below(&d, 90);
    do {
        c[1] = 10 + draw_below(&d, 90);
    } while (c[1] == c[0]);
    do {
        c[2] = 10 + draw_below(&d, 90);
    } while (c[2] == c[0] || c[2] == c[1]);
    s->match = c[0];
    for (uint32_t i = 2; i > 0; i--) { /* Fisher-Yates */
        uint32_t j = draw_below(&d, i + 1);
        uint32_t t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
    memcpy(s->choices, c, sizeof(c));
    OPENSSL_cleanse(&d, sizeof(d));
}

size_t mc_utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t v, min;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Valid but invisible code points that could disguise text on a screen. */
static int cp_is_hidden_control(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

void mc_copy_printable(char *dst, size_t dstsize, const char *src, size_t n)
{
    if (dst == NULL || dstsize == 0)
        return;
    const unsigned char *p = (const unsigned char *)src;
    size_t room = dstsize - 1;
    size_t o = 0;
    size_t i = 0;

    while (src != NULL && i < n && o < room) {
        unsigned char c = p[i];
        if (c >= 0x20 && c <= 0x7e) {
            dst[o++] = (char)c;
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = mc_utf8_seq(p + i, n - i, &cp);
        if (len == 0) {
            dst[o++] = '?';
            i++;
            continue;
        }
        if (cp_is_hidden_control(cp)) {
            dst[o++] = '?';
            i += len;
            continue;
        }
        if (room - o < len)
            break; /* would split the sequence: cut here */
        memcpy(dst + o, p + i, len);
        o += len;
        i += len;
    }
    dst[o] = '\0';
}
