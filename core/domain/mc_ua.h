/*
 * mc_ua.h — what the phone shows of the requesting browser's User-Agent.
 *
 * Why: the phone shows who asked for a login (origin, address, device) so
 * that its user can spot a session opened by someone else (QRLjacking). The
 * User-Agent is chosen by that someone: left as it came, zero-width and
 * direction marks, line separators and runs of spaces let it draw a fake
 * "IP: 10.0.0.8 (您的内网)" line under the real one. So the phone is given
 * either a summary made only of fixed words and digits ("Chrome 120 on
 * Windows"), or, for a browser this module does not know, the User-Agent
 * cleaned down to one short line.
 *
 * Both functions are pure (no I/O, no allocation), read exactly n bytes of
 * ua (no NUL needed; NUL bytes are controls and dropped), and always
 * NUL-terminate out when outsz > 0. They return the length written, without
 * the NUL. Cost: O(n), one pass to clean plus a few token searches.
 *
 * Non-goals: exact browser identification (a User-Agent is a claim, and the
 * summary is only as true as the claim), Unicode normalisation, and a
 * complete list of combining marks (generic combining blocks are dropped;
 * script-specific marks, e.g. Thai, are kept).
 */
#ifndef MC_UA_H
#define MC_UA_H

#include <stddef.h>

#define MC_UA_SHOWN_MAX 120 /* bytes of a cleaned User-Agent, at most */

/* ua reduced to one line of at most MC_UA_SHOWN_MAX bytes (and outsz - 1):
 *  - dropped: invalid UTF-8 (byte by byte), C0 and C1 controls and DEL,
 *    format characters (soft hyphen, U+061C, U+180E, U+200B..U+200F,
 *    U+202A..U+202E, U+2060..U+206F, U+FEFF, U+FFF9..U+FFFB, tags),
 *    variation selectors, generic combining marks, private-use code points
 *    and noncharacters;
 *  - whitespace — ASCII space, tab and line breaks (LF, VT, FF, CR, NEL,
 *    U+2028, U+2029), U+00A0, U+1680, U+2000..U+200A, U+202F, U+205F,
 *    U+3000, and blank fillers (U+115F, U+1160, U+2800, U+3164, U+FFA0) —
 *    in runs of any length becomes one ASCII space; none at either end;
 *  - cut before the first character that would not fit, never inside a
 *    UTF-8 sequence. */
size_t mc_ua_clean(const char *ua, size_t n, char *out, size_t outsz);

/* "BROWSER[ MAJOR][ on OS]" when the cleaned ua names a known browser
 * (Chrome, Chromium, Edge, Firefox, Safari, Opera, Samsung Internet,
 * Yandex Browser, WeChat, QQ Browser, UC Browser, Internet Explorer), e.g.
 * "Chrome 120 on Windows", "Safari 17 on iOS", "Firefox 121 on Linux";
 * OS one of Windows, Windows Phone, iOS, Android, HarmonyOS, ChromeOS,
 * macOS, Linux, FreeBSD, OpenBSD. MAJOR is the version's first number (at
 * most 4 digits, else left out). Otherwise (curl, bots, unknown) the same
 * as mc_ua_clean; "" for an empty or wholly invisible ua. */
size_t mc_ua_summary(const char *ua, size_t n, char *out, size_t outsz);

#endif
