/*
 * mc_ua.c — the User-Agent as the phone shows it (see mc_ua.h).
 *
 * Design:
 *  - Cleaning is one pass over the bytes: ASCII as is, multi-byte sequences
 *    decoded by mc_utf8_seq (so invalid UTF-8 is recognised exactly as
 *    mc_copy_printable does), then each code point is kept, dropped, or is
 *    whitespace. A whitespace run only sets a flag; the one space is written
 *    before the next kept character, so there is none at either end and a
 *    cut never leaves a trailing space.
 *  - The summary is built from the tables below only (fixed ASCII words)
 *    and at most 4 digits of version, so nothing of the attacker's choice
 *    but those digits reaches the phone when the browser is known. Tokens
 *    are searched in the User-Agent cleaned with a larger cap (the Edge
 *    token of a desktop Edge UA sits past 120 bytes), on token boundaries
 *    ("XChrome/" is not Chrome). Table order decides: browsers whose UAs
 *    also name Chrome or Safari come before them.
 *
 * Non-goals: see mc_ua.h.
 */
#include "mc_ua.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mc_session.h"

#define UA_SCAN_MAX 1024 /* cleaned bytes searched for the summary */

/* Whitespace of any kind, line breaks included, and characters that render
 * as a blank: each run of them becomes one space. */
static int cp_is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
           cp == 0x115f || cp == 0x1160 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2800 ||
           cp == 0x3000 || cp == 0x3164 || cp == 0xffa0;
}

/* Controls, format characters, marks that combine with (and can be drawn
 * over) their neighbours, private-use code points and noncharacters. Tested
 * after cp_is_space. */
static int cp_is_dropped(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
        return 1; /* C0, DEL, C1 */
    if (cp == 0xad || cp == 0x34f || cp == 0x61c || (cp >= 0x180b && cp <= 0x180f) ||
        (cp >= 0x17b4 && cp <= 0x17b5))
        return 1; /* soft hyphen, grapheme joiner, ALM, Mongolian, Khmer */
    if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xfffb))
        return 1; /* zero-width, LRM/RLM, bidi, invisible operators, BOM */
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x483 && cp <= 0x489) ||
        (cp >= 0x1ab0 && cp <= 0x1aff) || (cp >= 0x1dc0 && cp <= 0x1dff) ||
        (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
        (cp >= 0xfe20 && cp <= 0xfe2f))
        return 1; /* combining marks, variation selectors */
    if ((cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xe0000 || (cp >= 0xfdd0 && cp <= 0xfdef) ||
        (cp & 0xfffe) == 0xfffe)
        return 1; /* private use, tags + VS supplement, noncharacters */
    return 0;
}

/* mc_ua_clean with an explicit byte cap (besides outsz - 1). */
static size_t ua_clean(const char *ua, size_t n, char *out, size_t outsz, size_t cap)
{
    const unsigned char *p = (const unsigned char *)ua;
    size_t o = 0, i = 0;
    int space = 0;

    if (out == NULL || outsz == 0)
        return 0;
    if (cap > outsz - 1)
        cap = outsz - 1;
    while (ua != NULL && i < n) {
        uint32_t cp = p[i];
        size_t len = 1;
        if (cp >= 0x80 && (len = mc_utf8_seq(p + i, n - i, &cp)) == 0) {
            i++; /* not UTF-8: this byte is dropped */
            continue;
        }
        if (cp_is_space(cp)) {
            space = o > 0;
        } else if (!cp_is_dropped(cp)) {
            if (o + (size_t)space + len > cap)
                break;
            if (space)
                out[o++] = ' ';
            space = 0;
            memcpy(out + o, p + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = '\0';
    return o;
}

size_t mc_ua_clean(const char *ua, size_t n, char *out, size_t outsz)
{
    return ua_clean(ua, n, out, outsz, MC_UA_SHOWN_MAX);
}

static int is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The first occurrence of tok in s (NUL-terminated, ours) that starts a
 * token, and, if tok ends in a letter or digit, also ends one. Returns the
 * byte after it, or NULL. */
static const char *find_token(const char *s, const char *tok)
{
    size_t tl = strlen(tok);
    for (const char *p = strstr(s, tok); p != NULL; p = strstr(p + 1, tok))
        if ((p == s || !is_alnum(p[-1])) && (!is_alnum(tok[tl - 1]) || !is_alnum(p[tl])))
            return p + tl;
    return NULL;
}

/* The first number at p: 1..4 digits not followed by a fifth, else "". */
static void major_version(const char *p, char ver[5])
{
    size_t k = 0;
    while (p != NULL && k < 5 && p[k] >= '0' && p[k] <= '9')
        k++;
    if (k == 0 || k > 4)
        k = 0;
    else
        memcpy(ver, p, k);
    ver[k] = '\0';
}

typedef struct ua_family {
    const char *token;   /* searched for */
    const char *name;    /* shown */
    const char *version; /* token the version follows; NULL = token itself */
} ua_family;

/* First match wins: browsers that also name Chrome or Safari come first. */
static const ua_family ua_browsers[] = {
    {"MicroMessenger/", "WeChat", NULL},
    {"MQQBrowser/", "QQ Browser", NULL},
    {"QQBrowser/", "QQ Browser", NULL},
    {"UCBrowser/", "UC Browser", NULL},
    {"SamsungBrowser/", "Samsung Internet", NULL},
    {"YaBrowser/", "Yandex Browser", NULL},
    {"EdgA/", "Edge", NULL},
    {"EdgiOS/", "Edge", NULL},
    {"Edg/", "Edge", NULL},
    {"Edge/", "Edge", NULL},
    {"OPR/", "Opera", NULL},
    {"OPiOS/", "Opera", NULL},
    {"FxiOS/", "Firefox", NULL},
    {"Firefox/", "Firefox", NULL},
    {"Chromium/", "Chromium", NULL},
    {"CriOS/", "Chrome", NULL},
    {"Chrome/", "Chrome", NULL},
    {"MSIE ", "Internet Explorer", NULL},
    {"Trident/", "Internet Explorer", "rv:"},
};

/* iOS before macOS ("like Mac OS X"), HarmonyOS before Android, Android
 * before Linux. */
static const ua_family ua_systems[] = {
    {"HarmonyOS", "HarmonyOS", NULL}, {"OpenHarmony", "HarmonyOS", NULL},
    {"Windows Phone", "Windows Phone", NULL}, {"Windows", "Windows", NULL},
    {"iPhone", "iOS", NULL}, {"iPad", "iOS", NULL}, {"iPod", "iOS", NULL},
    {"Android", "Android", NULL}, {"CrOS", "ChromeOS", NULL},
    {"Macintosh", "macOS", NULL}, {"Mac OS X", "macOS", NULL},
    {"Linux", "Linux", NULL}, {"FreeBSD", "FreeBSD", NULL}, {"OpenBSD", "OpenBSD", NULL},
};

static const ua_family *ua_match(const char *s, const ua_family *t, size_t nt)
{
    for (size_t i = 0; i < nt; i++)
        if (find_token(s, t[i].token) != NULL)
            return &t[i];
    return NULL;
}

size_t mc_ua_summary(const char *ua, size_t n, char *out, size_t outsz)
{
    char scan[UA_SCAN_MAX + 1], ver[5] = "";
    const char *browser = NULL, *os;
    const ua_family *b, *sys;
    int len;

    if (out == NULL || outsz == 0)
        return 0;
    ua_clean(ua, n, scan, sizeof(scan), UA_SCAN_MAX);
    if ((b = ua_match(scan, ua_browsers, sizeof(ua_browsers) / sizeof(ua_browsers[0]))) != NULL) {
        browser = b->name;
        major_version(find_token(scan, b->version ? b->version : b->token), ver);
    } else if (find_token(scan, "Safari/") != NULL && find_token(scan, "Version/") != NULL) {
        /* Safari's own token carries the WebKit build; its version is Version/ */
        browser = "Safari";
        major_version(find_token(scan, "Version/"), ver);
    }
    if (browser == NULL)
        return mc_ua_clean(ua, n, out, outsz);
    sys = ua_match(scan, ua_systems, sizeof(ua_systems) / sizeof(ua_systems[0]));
    os = sys != NULL ? sys->name : NULL;
    len = snprintf(out, outsz, "%s%s%s%s%s", browser, ver[0] ? " " : "", ver,
                   os ? " on " : "", os ? os : "");
    if (len < 0)
        len = 0;
    return (size_t)len < outsz ? (size_t)len : outsz - 1;
}
