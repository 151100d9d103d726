/*
 * mc_qr_payload.c — build and parse the text carried by a session QR code.
 *
 * Why: the payload is the one thing a phone reads from a screen, and the
 * server must agree with every phone on its exact shape. Keeping both
 * directions in one small file means one grammar:
 *
 *     payload = scheme "://" host [ ":" port ] "/M/" sid
 *     scheme  = "HTTP" | "HTTPS"          (either case on input)
 *     host    = 1*( ALPHA | DIGIT | "." | "-" ), first char ALPHA or DIGIT
 *     port    = 1*5DIGIT, 1..65535
 *     sid     = 20 chars of "0123456789ABCDEFGHJKMNPQRSTVWXYZ" (either case)
 *
 * Built payloads are upper case so that every byte is in the QR
 * alphanumeric set (0-9 A-Z space $%*+-./:) and the symbol stays small.
 * Parsing accepts either case (a scanner or a human may lower-case it) and
 * hands back the base lower-cased and the sid upper-cased.
 *
 * Design: pure string code, no allocation, no I/O. Input of mc_qr_parse is
 * treated as peer data: it is read by length only, and an embedded NUL, an
 * over-long input or any byte outside the grammar is "bad_qr" (400).
 *
 * Non-goals: no general URL parser — no paths, queries, fragments,
 * userinfo, IPv6 literals ('[' is not alphanumeric-mode) or percent
 * escapes; no IDN. The sid is checked by mc_sid_valid (core/domain/mc_session.h)
 * after upper-casing, so the sid alphabet is defined in one place.
 */
#include "mc_qr.h"

#include <string.h>

#include "mc_session.h"

static char mc_qr_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static char mc_qr_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int mc_qr_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int mc_qr_is_alnum(char c)
{
    return mc_qr_is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Upper-case s[0..n) (a sid in either case) into up and check it with
 * mc_sid_valid. 1 if valid; up is then the canonical sid. */
static int mc_qr_sid_upper(const char *s, size_t n, char up[MC_SID_LEN + 1])
{
    if (n != MC_SID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        up[i] = mc_qr_upper(s[i]);
    up[n] = '\0';
    return mc_sid_valid(up, n);
}

/*
 * Validate a base URL s[0..n) (either case, no trailing slash) against the
 * grammar above. Returns 1 if valid.
 */
static int mc_qr_base_ok(const char *s, size_t n)
{
    static const char *const schemes[] = {"http://", "https://"};
    size_t sl = 0;
    for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
        size_t m = strlen(schemes[k]);
        if (n < m)
            continue;
        size_t i = 0;
        while (i < m && mc_qr_lower(s[i]) == schemes[k][i])
            i++;
        if (i == m) {
            sl = m;
            break;
        }
    }
    if (sl == 0)
        return 0;

    size_t i = sl;
    size_t host_start = i;
    while (i < n && (mc_qr_is_alnum(s[i]) || s[i] == '.' || s[i] == '-'))
        i++;
    if (i == host_start || !mc_qr_is_alnum(s[host_start]))
        return 0;
    if (i < n) {
        if (s[i] != ':')
            return 0;
        i++;
        size_t port_start = i;
        unsigned long port = 0;
        while (i < n && mc_qr_is_digit(s[i]) && i - port_start < 5) {
            port = port * 10 + (unsigned long)(s[i] - '0');
            i++;
        }
        if (i == port_start || i != n || port == 0 || port > 65535)
            return 0;
    }
    return 1;
}

int mc_qr_payload(const char *base, const char *sid, char *out, mc_err *err)
{
    static const char sep[] = "/M/";
    if (base == NULL || sid == NULL || out == NULL)
        return mc_err_set(err, 500, "internal", "mc_qr_payload: NULL argument");
    out[0] = '\0';

    size_t bn = strlen(base);
    if (bn > 0 && base[bn - 1] == '/')
        bn--;                                 /* tolerate one trailing slash */
    if (!mc_qr_base_ok(base, bn))
        return mc_err_set(err, 500, "bad_base_url",
                          "base URL must be http(s)://host[:port] with host in [A-Za-z0-9.-]");

    char up[MC_SID_LEN + 1];
    if (!mc_qr_sid_upper(sid, strlen(sid), up))
        return mc_err_set(err, 500, "internal", "sid is not %d base32 characters", MC_SID_LEN);

    size_t total = bn + (sizeof(sep) - 1) + MC_SID_LEN;
    if (total > MC_QR_PAYLOAD_MAX)
        return mc_err_set(err, 500, "bad_base_url",
                          "QR payload would be %zu bytes (max %d): base URL too long",
                          total, MC_QR_PAYLOAD_MAX);

    size_t o = 0;
    for (size_t i = 0; i < bn; i++)
        out[o++] = mc_qr_upper(base[i]);
    memcpy(out + o, sep, sizeof(sep) - 1);
    o += sizeof(sep) - 1;
    memcpy(out + o, up, sizeof(up)); /* with its NUL */
    return 0;
}

int mc_qr_parse(const char *payload, size_t n, char *base, size_t basesz,
                char *sid, mc_err *err)
{
    if (base != NULL && basesz > 0)
        base[0] = '\0';
    if (sid != NULL)
        sid[0] = '\0';
    if (payload == NULL || base == NULL || sid == NULL)
        return mc_err_set(err, 500, "internal", "mc_qr_parse: NULL argument");
    if (n > MC_QR_PAYLOAD_MAX)
        return mc_err_set(err, 400, "bad_qr", "QR payload longer than %d bytes",
                          MC_QR_PAYLOAD_MAX);
    if (memchr(payload, '\0', n) != NULL)
        return mc_err_set(err, 400, "bad_qr", "QR payload contains a NUL byte");

    /* Split at the last "/M/": the sid follows it, the base precedes it. A
     * base has no '/' after its scheme, so anything else fails below. */
    size_t cut = n;
    for (size_t i = n; i >= 3; i--) {
        if (payload[i - 3] == '/' && mc_qr_upper(payload[i - 2]) == 'M' &&
            payload[i - 1] == '/') {
            cut = i - 3;
            break;
        }
    }
    if (cut == n)
        return mc_err_set(err, 400, "bad_qr", "QR payload has no /M/ segment");

    char up[MC_SID_LEN + 1];
    if (!mc_qr_sid_upper(payload + cut + 3, n - cut - 3, up))
        return mc_err_set(err, 400, "bad_qr", "QR payload sid is not %d base32 characters",
                          MC_SID_LEN);

    if (!mc_qr_base_ok(payload, cut))
        return mc_err_set(err, 400, "bad_qr", "QR payload base is not http(s)://host[:port]");
    if (cut + 1 > basesz)
        return mc_err_set(err, 500, "internal", "mc_qr_parse: base buffer too small");

    for (size_t i = 0; i < cut; i++)
        base[i] = mc_qr_lower(payload[i]);
    base[cut] = '\0';
    memcpy(sid, up, sizeof(up));
    return 0;
}
