/*
 * test_qr.c — tests of qr/: payload grammar, symbol size, and that every
 * rendering shows the same symbol.
 *
 * Why: the QR is the one interface between a screen and a phone. The
 * payload parser takes peer data, so hostile inputs sit beside the happy
 * path; the PNG is checked by a real decoder (zbarimg from zbar-tools),
 * and the test FAILS if that decoder is missing — a skipped check would be
 * a check that cannot fail. SVG and text are parsed back into a module grid
 * and compared with mc_qr_dark, which is what the PNG is also compared
 * against (pixel by pixel, via libpng's simplified read API).
 *
 * Non-goals: no rasterising of SVG or text; no camera-like distortion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "mc_qr.h"
#include "mc_session.h"
#include "mc_testenv.h"

#define SID "0123456789ABCDEFGHJK"
#define LOCAL_PAYLOAD "HTTP://127.0.0.1:8080/M/" SID
#define LONG_PAYLOAD "HTTPS://ZCY-MCERT.EXAMPLE.GOV.CN:8443/M/" SID
#define QUIET 4

/* ---------------------------------------------------------------- payload */

static void test_payload_upper_cases_base_and_sid(void **state)
{
    (void)state;
    char out[MC_QR_PAYLOAD_MAX + 1];
    mc_err err = {0};
    assert_int_equal(mc_qr_payload("http://127.0.0.1:8080", SID, out, &err), 0);
    assert_string_equal(out, LOCAL_PAYLOAD);
    assert_int_equal(mc_qr_payload("https://zcy-mcert.Example.gov.cn:8443/", SID, out, &err), 0);
    assert_string_equal(out, LONG_PAYLOAD);
    assert_int_equal(mc_qr_payload("HTTP://localhost", "0123456789abcdefghjk", out, &err), 0);
    assert_string_equal(out, "HTTP://LOCALHOST/M/" SID);
}

static void test_payload_every_char_is_alphanumeric_mode(void **state)
{
    (void)state;
    static const char an[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    char out[MC_QR_PAYLOAD_MAX + 1];
    mc_err err = {0};
    assert_int_equal(mc_qr_payload("https://a-b.c-d.example:1", SID, out, &err), 0);
    for (const char *p = out; *p; p++)
        assert_non_null(strchr(an, *p));
}

static void test_payload_rejects_bad_base_and_sid(void **state)
{
    (void)state;
    static const char *const bad_base[] = {
        "ftp://example.com",   "example.com",           "http://",
        "http:///",            "http://host/path",      "http://host/path/",
        "http://user@host",    "http://host:0",         "http://host:65536",
        "http://host:",        "http://host:12a",       "http://host:123456",
        "http://host?x=1",     "http://host#f",         "http://ho_st",
        "http://[::1]:8080",   "http://.host",          "http://-host",
        "http://host//",       "https//host",           "",
    };
    char out[MC_QR_PAYLOAD_MAX + 1];
    for (size_t i = 0; i < sizeof(bad_base) / sizeof(bad_base[0]); i++) {
        mc_err err = {0};
        if (mc_qr_payload(bad_base[i], SID, out, &err) != -1)
            fail_msg("base accepted: \"%s\" -> \"%s\"", bad_base[i], out);
        assert_non_null(err.code);
        assert_string_equal(out, "");
    }

    static const char *const bad_sid[] = {
        "", "0123456789ABCDEFGHJ", "0123456789ABCDEFGHJKM", "0123456789ABCDEFGHJI",
        "0123456789ABCDEFGHJL", "0123456789ABCDEFGHJO", "0123456789ABCDEFGHJU",
        "0123456789ABCDEFGH-K", "0123456789ABCDEFGH K",
        "0123456789abcdefghju",       /* u: upper-cased, still not in the alphabet */
        "0123456789ABCDEFGHJ\xc3",    /* high byte */
    };
    for (size_t i = 0; i < sizeof(bad_sid) / sizeof(bad_sid[0]); i++) {
        mc_err err = {0};
        if (mc_qr_payload("http://host", bad_sid[i], out, &err) != -1)
            fail_msg("sid accepted: \"%s\"", bad_sid[i]);
        assert_non_null(err.code);
        assert_string_equal(out, "");
    }
}

static void test_payload_rejects_over_long_base(void **state)
{
    (void)state;
    char base[200];
    char out[MC_QR_PAYLOAD_MAX + 1];
    mc_err err = {0};
    /* "HTTP://" + host + "/M/" + 20 == MC_QR_PAYLOAD_MAX exactly: accepted. */
    size_t host = MC_QR_PAYLOAD_MAX - 7 - 3 - MC_SID_LEN;
    memcpy(base, "http://", 7);
    memset(base + 7, 'a', host);
    base[7 + host] = '\0';
    assert_int_equal(mc_qr_payload(base, SID, out, &err), 0);
    assert_int_equal(strlen(out), MC_QR_PAYLOAD_MAX);
    /* One more byte: refused. */
    base[7 + host] = 'a';
    base[8 + host] = '\0';
    assert_int_equal(mc_qr_payload(base, SID, out, &err), -1);
}

static void test_parse_round_trip(void **state)
{
    (void)state;
    static const char *const bases[] = {
        "http://127.0.0.1:8080", "https://zcy-mcert.example.gov.cn:8443", "http://localhost",
        "https://a.b",
    };
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        char payload[MC_QR_PAYLOAD_MAX + 1];
        char base[128];
        char sid[MC_SID_LEN + 1];
        mc_err err = {0};
        assert_int_equal(mc_qr_payload(bases[i], SID, payload, &err), 0);
        assert_int_equal(mc_qr_parse(payload, strlen(payload), base, sizeof(base), sid, &err), 0);
        assert_string_equal(base, bases[i]);
        assert_string_equal(sid, SID);
    }
}

static void test_parse_accepts_either_case(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "http://127.0.0.1:8080/m/0123456789abcdefghjk",
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJK",
        "Http://127.0.0.1:8080/m/0123456789AbCdEfGhJk",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char base[128];
        char sid[MC_SID_LEN + 1];
        mc_err err = {0};
        if (mc_qr_parse(ok[i], strlen(ok[i]), base, sizeof(base), sid, &err) != 0)
            fail_msg("rejected \"%s\": %s", ok[i], err.msg);
        assert_string_equal(base, "http://127.0.0.1:8080");
        assert_string_equal(sid, SID);
    }
}

static void expect_bad_qr(const char *p, size_t n)
{
    char base[128];
    char sid[MC_SID_LEN + 1];
    mc_err err = {0};
    if (mc_qr_parse(p, n, base, sizeof(base), sid, &err) != -1)
        fail_msg("accepted hostile payload \"%.*s\" -> base \"%s\" sid \"%s\"", (int)n, p,
                 base, sid);
    assert_non_null(err.code);
    assert_string_equal(err.code, "bad_qr");
    assert_int_equal(err.status, 400);
    assert_string_equal(base, "");
    assert_string_equal(sid, "");
}

static void test_parse_rejects_hostile_payloads(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "HTTP://127.0.0.1:8080",                          /* no /M/ */
        "HTTP://127.0.0.1:8080/M/",                       /* missing sid */
        "HTTP://127.0.0.1:8080/M",                        /* missing sid */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJ",    /* 19 */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJKM",  /* 21 */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJI",   /* I not in alphabet */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJL",   /* L */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJO",   /* O */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJU",   /* U */
        "http://127.0.0.1:8080/m/0123456789abcdefghju",   /* u */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJ%",
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJK/",  /* trailing slash */
        "HTTP://127.0.0.1:8080/X/M/0123456789ABCDEFGHJK", /* extra path */
        "HTTP://127.0.0.1:8080/M/M/0123456789ABCDEFGHJK",
        "HTTP://127.0.0.1:8080//M/0123456789ABCDEFGHJK",
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJK/X",
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJK?A=1", /* query */
        "HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJK#F",
        "HTTP://127.0.0.1:8080/M?SID=0123456789ABCDEFGHJK",
        "FTP://127.0.0.1:8080/M/0123456789ABCDEFGHJK",    /* scheme */
        "HTTPX://127.0.0.1/M/0123456789ABCDEFGHJK",
        "//127.0.0.1:8080/M/0123456789ABCDEFGHJK",
        "/M/0123456789ABCDEFGHJK",
        "HTTP:///M/0123456789ABCDEFGHJK",                 /* empty host */
        "HTTP://U@HOST/M/0123456789ABCDEFGHJK",           /* userinfo */
        "HTTP://HOST:/M/0123456789ABCDEFGHJK",
        "HTTP://HOST:0/M/0123456789ABCDEFGHJK",
        "HTTP://HOST:99999/M/0123456789ABCDEFGHJK",
        "HTTP://HO ST/M/0123456789ABCDEFGHJK",
        "HTTP://[::1]:8080/M/0123456789ABCDEFGHJK",
        " HTTP://HOST/M/0123456789ABCDEFGHJK",
        "HTTP://HOST/M/0123456789ABCDEFGHJK ",
        "HTTP://HOST/M/0123456789ABCDEFGHJK\n",
        "HTTP://HOST/M/\xC3\xA9" "123456789ABCDEFGHJ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_bad_qr(bad[i], strlen(bad[i]));

    /* NUL inside: length says more than strlen would. */
    static const char nul_sid[] = "HTTP://HOST/M/0123456789\0BCDEFGHJK";
    expect_bad_qr(nul_sid, sizeof(nul_sid) - 1);
    static const char nul_host[] = "HTTP://HO\0ST/M/0123456789ABCDEFGHJK";
    expect_bad_qr(nul_host, sizeof(nul_host) - 1);
    static const char nul_tail[] = "HTTP://HOST/M/0123456789ABCDEFGHJK\0";
    expect_bad_qr(nul_tail, sizeof(nul_tail) - 1);

    /* Over-long: a valid shape, one byte beyond MC_QR_PAYLOAD_MAX; and far beyond. */
    char longp[4096];
    size_t host = MC_QR_PAYLOAD_MAX - 7 - 3 - MC_SID_LEN + 1;
    int n = snprintf(longp, sizeof(longp), "HTTP://%*s/M/%s", (int)host, "", SID);
    memset(longp + 7, 'A', host);
    assert_int_equal(n, MC_QR_PAYLOAD_MAX + 1);
    expect_bad_qr(longp, (size_t)n);
    memset(longp, 'A', sizeof(longp));
    expect_bad_qr(longp, sizeof(longp));

    /* NULL arguments are a caller bug: internal, and nothing written. */
    char base[128];
    char sid[MC_SID_LEN + 1];
    mc_err err = {0};
    assert_int_equal(mc_qr_parse(NULL, 5, base, sizeof(base), sid, &err), -1);
    assert_string_equal(err.code, "internal");
    assert_string_equal(base, "");
    assert_string_equal(sid, "");
    assert_int_equal(mc_qr_parse(LOCAL_PAYLOAD, strlen(LOCAL_PAYLOAD), base, sizeof(base), NULL,
                                 &err), -1);
    /* A base buffer too small for a valid base: refused, not truncated. */
    char small[8];
    assert_int_equal(mc_qr_parse(LOCAL_PAYLOAD, strlen(LOCAL_PAYLOAD), small, sizeof(small), sid,
                                 &err), -1);
    assert_string_equal(small, "");

    /* Exactly MC_QR_PAYLOAD_MAX is fine, and the base fits 128 bytes. */
    assert_int_equal(mc_qr_parse(longp + 0, 0, base, sizeof(base), sid, &err), -1);
    n = snprintf(longp, sizeof(longp), "HTTP://%*s/M/%s", (int)(host - 1), "", SID);
    memset(longp + 7, 'A', host - 1);
    assert_int_equal(n, MC_QR_PAYLOAD_MAX);
    assert_int_equal(mc_qr_parse(longp, (size_t)n, base, sizeof(base), sid, &err), 0);
    assert_int_equal(strlen(base), 7 + host - 1);
}

/* ---------------------------------------------------------------- encode */

static mc_qr *encode_ok(const char *payload)
{
    mc_err err = {0};
    mc_qr *q = mc_qr_encode(payload, &err);
    if (q == NULL)
        fail_msg("mc_qr_encode(\"%s\"): %s", payload, err.msg);
    return q;
}

static void test_encode_realistic_payloads_are_small(void **state)
{
    (void)state;
    static const char *const payloads[] = {LOCAL_PAYLOAD, LONG_PAYLOAD};
    for (size_t i = 0; i < 2; i++) {
        mc_qr *q = encode_ok(payloads[i]);
        int v = mc_qr_version(q);
        int w = mc_qr_width(q);
        printf("# QR \"%s\" (%zu bytes): version %d, %dx%d modules\n", payloads[i],
               strlen(payloads[i]), v, w, w);
        assert_true(v >= 1 && v <= MC_QR_MAX_VERSION);
        assert_int_equal(w, 17 + 4 * v);
        mc_qr_free(q);
    }
}

static void test_encode_refuses_above_max_version(void **state)
{
    (void)state;
    char big[200];
    memset(big, 'A', 150);   /* alphanumeric, needs version 6 at level M */
    big[150] = '\0';
    mc_err err = {0};
    assert_null(mc_qr_encode(big, &err));
    assert_non_null(err.code);
    assert_string_equal(err.code, "qr_too_large");

    /* NULL-safe accessors, renderers and free. */
    mc_qr_free(NULL);
    assert_int_equal(mc_qr_version(NULL), 0);
    assert_int_equal(mc_qr_width(NULL), 0);
    assert_int_equal(mc_qr_dark(NULL, 0, 0), 0);
    mc_buf b = {0};
    assert_int_equal(mc_qr_svg(NULL, &b), -1);
    assert_int_equal(mc_qr_text(NULL, &b), -1);
    assert_int_equal(b.len, 0);
    mc_buf_free(&b);

    /* An empty payload is refused, not encoded. */
    err = (mc_err){0};
    assert_null(mc_qr_encode("", &err));
    assert_non_null(err.code);
}

static void test_dark_is_zero_outside_symbol(void **state)
{
    (void)state;
    mc_qr *q = encode_ok(LOCAL_PAYLOAD);
    int w = mc_qr_width(q);
    /* The finder patterns' corners are dark. */
    assert_int_equal(mc_qr_dark(q, 0, 0), 1);
    assert_int_equal(mc_qr_dark(q, w - 1, 0), 1);
    assert_int_equal(mc_qr_dark(q, 0, w - 1), 1);
    assert_int_equal(mc_qr_dark(q, -1, 0), 0);
    assert_int_equal(mc_qr_dark(q, 0, -1), 0);
    assert_int_equal(mc_qr_dark(q, w, 0), 0);
    assert_int_equal(mc_qr_dark(q, 0, w), 0);
    assert_int_equal(mc_qr_dark(q, 1 << 30, 1 << 30), 0);
    mc_qr_free(q);
}

static int count_dark(const mc_qr *q)
{
    int w = mc_qr_width(q);
    int n = 0;
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            n += mc_qr_dark(q, x, y);
    return n;
}

/* ---------------------------------------------------------------- PNG */

/* Decode a PNG from memory and compare it pixel by pixel with q. */
static void check_png_pixels(const mc_qr *q, const mc_buf *png, int scale)
{
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, png->ptr, png->len));
    int n = mc_qr_width(q) + 2 * QUIET;
    assert_int_equal(img.width, (png_uint_32)(n * scale));
    assert_int_equal(img.height, (png_uint_32)(n * scale));
    img.format = PNG_FORMAT_GRAY;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
    int dark_modules = 0;
    for (int y = 0; y < n * scale; y++) {
        for (int x = 0; x < n * scale; x++) {
            int want = mc_qr_dark(q, x / scale - QUIET, y / scale - QUIET);
            uint8_t v = px[(size_t)y * img.width + (size_t)x];
            if (v != (want ? 0 : 255))
                fail_msg("pixel (%d,%d) = %u, module dark = %d", x, y, v, want);
            if (x % scale == 0 && y % scale == 0)
                dark_modules += want;
        }
    }
    assert_int_equal(dark_modules, count_dark(q));
    free(px);
    png_image_free(&img);
}

/*
 * Run zbarimg on a PNG file. Returns NULL and the decoded text in out, or a
 * reason for failure (the caller fails the test: a missing decoder is a
 * failure, never a skip).
 */
static const char *zbar_decode(const char *path, char *out, size_t outsz)
{
    char cmd[512];
    out[0] = '\0';
    snprintf(cmd, sizeof(cmd), "zbarimg --raw -q '%s' 2>/dev/null", path);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return "popen(zbarimg) failed";
    size_t n = fread(out, 1, outsz - 1, f);
    out[n] = '\0';
    int st = pclose(f);
    if (st == -1 || !WIFEXITED(st))
        return "zbarimg did not exit normally";
    if (WEXITSTATUS(st) == 127)
        return "zbarimg not found: install zbar-tools (this test must not be skipped)";
    if (WEXITSTATUS(st) != 0)
        return "zbarimg found no symbol";
    if (n > 0 && out[n - 1] == '\n')
        out[n - 1] = '\0';
    return NULL;
}

static void check_png_scans(const char *payload, int scale)
{
    mc_qr *q = encode_ok(payload);
    mc_buf png = {0};
    mc_err err = {0};
    if (mc_qr_png(q, scale, &png, &err) != 0)
        fail_msg("mc_qr_png: %s", err.msg);
    assert_true(png.len > 8);
    assert_memory_equal(png.ptr, "\x89PNG\r\n\x1a\n", 8);
    check_png_pixels(q, &png, scale);

    char path[] = "/tmp/mcert_test_qr_XXXXXX.png";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, png.ptr, png.len), (ssize_t)png.len);
    close(fd);
    char got[512];
    const char *why = zbar_decode(path, got, sizeof(got));
    unlink(path);
    mc_buf_free(&png);
    mc_qr_free(q);
    if (why != NULL)
        fail_msg("%s (payload \"%s\", scale %d)", why, payload, scale);
    if (strcmp(got, payload) != 0)
        fail_msg("zbarimg read \"%s\", expected \"%s\" (scale %d)", got, payload, scale);
}

static void test_png_scans_with_zbarimg(void **state)
{
    (void)state;
    check_png_scans(LOCAL_PAYLOAD, 4);
    check_png_scans(LOCAL_PAYLOAD, 8);
    check_png_scans(LONG_PAYLOAD, 4);
    check_png_scans(LONG_PAYLOAD, 8);
}

static void test_png_rejects_bad_scale_and_appends(void **state)
{
    (void)state;
    mc_qr *q = encode_ok(LOCAL_PAYLOAD);
    mc_buf b = {0};
    mc_err err = {0};
    assert_int_equal(mc_qr_png(q, 0, &b, &err), -1);
    assert_non_null(err.code);
    assert_int_equal(mc_qr_png(q, -3, &b, &err), -1);
    assert_int_equal(mc_qr_png(q, 100000, &b, &err), -1);
    assert_int_equal(mc_qr_png(q, MC_QR_PNG_SCALE_MAX + 1, &b, &err), -1);
    assert_int_equal(b.len, 0);
    /* The largest scale is accepted. */
    assert_int_equal(mc_qr_png(q, MC_QR_PNG_SCALE_MAX, &b, &err), 0);
    assert_memory_equal(b.ptr, "\x89PNG", 4);
    b.len = 0;
    assert_int_equal(mc_qr_png(NULL, 4, &b, &err), -1);
    mc_buf_append(&b, "prefix", 6);
    assert_int_equal(mc_qr_png(q, 2, &b, &err), 0);
    assert_memory_equal(b.ptr, "prefix\x89PNG", 10);
    mc_buf_free(&b);
    mc_qr_free(q);
}

static void test_encode_and_png_timing(void **state)
{
    (void)state;
    enum { N = 200 };
    double t0 = mc_testenv_now();
    size_t bytes = 0;
    for (int i = 0; i < N; i++) {
        mc_qr *q = encode_ok(LONG_PAYLOAD);
        mc_buf b = {0};
        assert_int_equal(mc_qr_png(q, 8, &b, NULL), 0);
        bytes = b.len;
        mc_buf_free(&b);
        mc_qr_free(q);
    }
    double per = (mc_testenv_now() - t0) / N;
    printf("# encode+PNG(scale 8, %zu bytes): %.1f us each (sanitizer builds are slower)\n",
           bytes, per * 1e6);
    assert_true(per < 0.05);
}

/* ---------------------------------------------------------------- SVG */

static void test_svg_draws_every_dark_module_once(void **state)
{
    (void)state;
    static const char *const payloads[] = {LOCAL_PAYLOAD, LONG_PAYLOAD};
    for (size_t k = 0; k < 2; k++) {
        mc_qr *q = encode_ok(payloads[k]);
        mc_buf b = {0};
        assert_int_equal(mc_qr_svg(q, &b), 0);
        const char *s = (const char *)b.ptr;
        assert_int_equal(strlen(s), b.len);   /* NUL-terminated, no NUL inside */
        assert_int_equal(strncmp(s, "<svg", 4), 0);
        int w = mc_qr_width(q);
        int n = w + 2 * QUIET;
        char vb[64];
        snprintf(vb, sizeof(vb), "viewBox=\"0 0 %d %d\"", n, n);
        assert_non_null(strstr(s, vb));
        assert_non_null(strstr(s, "shape-rendering=\"crispEdges\""));
        assert_non_null(strstr(s, "fill=\"#fff\""));
        assert_non_null(strstr(s, "</svg>"));
        /* Exactly one path. */
        const char *path = strstr(s, "<path");
        assert_non_null(path);
        assert_null(strstr(path + 1, "<path"));
        const char *d = strstr(path, " d=\"");
        assert_non_null(d);
        d += 4;

        /* Rebuild the grid from "Mx yhNv1h-Nz" subpaths. */
        uint8_t *grid = calloc((size_t)n * (size_t)n, 1);
        assert_non_null(grid);
        int drawn = 0;
        while (*d == 'M') {
            int x, y, r1, r2, used = 0;
            assert_int_equal(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &r1, &r2, &used), 4);
            assert_true(used > 0);
            assert_int_equal(r1, r2);
            assert_true(x >= QUIET && y >= QUIET && r1 >= 1 && x + r1 <= n - QUIET &&
                        y < n - QUIET);
            for (int i = 0; i < r1; i++) {
                assert_int_equal(grid[(size_t)y * (size_t)n + (size_t)(x + i)], 0);
                grid[(size_t)y * (size_t)n + (size_t)(x + i)] = 1;
                drawn++;
            }
            d += used;
        }
        assert_int_equal(*d, '"');
        assert_int_equal(drawn, count_dark(q));
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                assert_int_equal(grid[(size_t)y * (size_t)n + (size_t)x],
                                 mc_qr_dark(q, x - QUIET, y - QUIET));
        free(grid);
        mc_buf_free(&b);
        mc_qr_free(q);
    }
}

/* ---------------------------------------------------------------- text */

static void test_text_is_half_blocks_two_rows_per_line(void **state)
{
    (void)state;
    mc_qr *q = encode_ok(LONG_PAYLOAD);
    mc_buf b = {0};
    assert_int_equal(mc_qr_text(q, &b), 0);
    assert_int_equal(strlen((const char *)b.ptr), b.len);
    int n = mc_qr_width(q) + 2 * QUIET;
    int lines = 0, col = 0;
    size_t i = 0;
    while (i < b.len) {
        const uint8_t *p = b.ptr + i;
        int top_light, bot_light;
        if (p[0] == '\n') {
            assert_int_equal(col, n);
            lines++;
            col = 0;
            i++;
            continue;
        } else if (p[0] == ' ') {
            top_light = 0, bot_light = 0;
            i += 1;
        } else if (i + 3 <= b.len && memcmp(p, "\xE2\x96\x80", 3) == 0) {
            top_light = 1, bot_light = 0;
            i += 3;
        } else if (i + 3 <= b.len && memcmp(p, "\xE2\x96\x84", 3) == 0) {
            top_light = 0, bot_light = 1;
            i += 3;
        } else if (i + 3 <= b.len && memcmp(p, "\xE2\x96\x88", 3) == 0) {
            top_light = 1, bot_light = 1;
            i += 3;
        } else {
            fail_msg("unexpected byte 0x%02x at %zu", p[0], i);
        }
        int y = 2 * lines, x = col;
        assert_int_equal(top_light, !mc_qr_dark(q, x - QUIET, y - QUIET));
        if (y + 1 < n)
            assert_int_equal(bot_light, !mc_qr_dark(q, x - QUIET, y + 1 - QUIET));
        else
            assert_int_equal(bot_light, 0);
        col++;
    }
    assert_int_equal(col, 0);                 /* ends with '\n' */
    assert_int_equal(lines, (n + 1) / 2);
    /* The quiet zone is light: first line is all full blocks. */
    for (int x = 0; x < n; x++)
        assert_memory_equal(b.ptr + 3 * x, "\xE2\x96\x88", 3);
    mc_buf_free(&b);
    mc_qr_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_upper_cases_base_and_sid),
        cmocka_unit_test(test_payload_every_char_is_alphanumeric_mode),
        cmocka_unit_test(test_payload_rejects_bad_base_and_sid),
        cmocka_unit_test(test_payload_rejects_over_long_base),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_accepts_either_case),
        cmocka_unit_test(test_parse_rejects_hostile_payloads),
        cmocka_unit_test(test_encode_realistic_payloads_are_small),
        cmocka_unit_test(test_encode_refuses_above_max_version),
        cmocka_unit_test(test_dark_is_zero_outside_symbol),
        cmocka_unit_test(test_png_scans_with_zbarimg),
        cmocka_unit_test(test_png_rejects_bad_scale_and_appends),
        cmocka_unit_test(test_encode_and_png_timing),
        cmocka_unit_test(test_svg_draws_every_dark_module_once),
        cmocka_unit_test(test_text_is_half_blocks_two_rows_per_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
