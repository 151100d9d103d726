/*
 * mc_qr_render.c — encode a payload as a QR symbol and draw it as SVG, PNG
 * or terminal text.
 *
 * Why: the web page shows the session QR as SVG or PNG and operators (and
 * the reference phone's tests) want it in a terminal; all three must scan
 * with a real decoder. One module owns the symbol so the three drawings
 * cannot disagree.
 *
 * Design:
 *   - mc_qr wraps a libqrencode QRcode. Encoding is at level M with
 *     QRcode_encodeString(..., QR_MODE_8, casesensitive=1): libqrencode's
 *     splitter picks alphanumeric (and numeric) segments by itself for an
 *     upper-case payload — the hint only matters for Kanji — and case
 *     sensitivity must be on or lower-case data would be upper-cased.
 *     Measured: "HTTP://127.0.0.1:8080/M/<sid>" and
 *     "HTTPS://ZCY-MCERT.EXAMPLE.GOV.CN:8443/M/<sid>" are both version 3
 *     (29x29). Anything above MC_QR_MAX_VERSION is refused ("qr_too_large").
 *   - Every rendering has a 4-module quiet zone and appends to the caller's
 *     mc_buf (which may be zeroed). SVG and text are additionally followed
 *     by a NUL byte that is not counted in out->len, so they can be used as
 *     C strings.
 *   - SVG: a white background rect and a single <path> made of one
 *     rectangle subpath per horizontal run of dark modules
 *     ("M x y h n v1 h-n z"); viewBox in modules, crispEdges.
 *   - PNG: 8-bit greyscale through libpng with a write callback into the
 *     mc_buf; libpng errors longjmp back into mc_qr_png (locals changed after
 *     setjmp are volatile) and are reported through mc_err, never stderr.
 *   - Text: UTF-8 half blocks, two module rows per line. Light modules are
 *     drawn as blocks (for light-on-dark terminals), so the image reads as
 *     dark-on-light; the row past the bottom edge counts as "not drawn".
 *
 * Non-goals: no colours, no logos, no other ECC levels, no Micro QR.
 *
 * Functions that may abort: the renderers via mc_buf_append (OOM only).
 */
#include "mc_qr.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MC_QR_QUIET 4          /* quiet zone, modules, every rendering */

struct mc_qr {
    QRcode *code;   /* owned; width*width bytes, bit 0 = dark */
};

mc_qr *mc_qr_encode(const char *payload, mc_err *err)
{
    if (payload == NULL || payload[0] == '\0') {
        mc_err_set(err, 500, "internal", "mc_qr_encode: empty payload");
        return NULL;
    }
    errno = 0;
    QRcode *code = QRcode_encodeString(payload, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (code == NULL) {
        if (errno == ERANGE)
            mc_err_set(err, 500, "qr_too_large", "QR payload does not fit any QR version");
        else
            mc_err_set(err, 500, "internal", "QR encoding failed (errno %d)", errno);
        return NULL;
    }
    if (code->version > MC_QR_MAX_VERSION) {
        mc_err_set(err, 500, "qr_too_large", "QR payload needs version %d (max %d)",
                   code->version, MC_QR_MAX_VERSION);
        QRcode_free(code);
        return NULL;
    }
    mc_qr *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        QRcode_free(code);
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    q->code = code;
    return q;
}

void mc_qr_free(mc_qr *q)
{
    if (q == NULL)
        return;
    QRcode_free(q->code);
    free(q);
}

int mc_qr_version(const mc_qr *q)
{
    return q != NULL ? q->code->version : 0;
}

int mc_qr_width(const mc_qr *q)
{
    return q != NULL ? q->code->width : 0;
}

int mc_qr_dark(const mc_qr *q, int x, int y)
{
    if (q == NULL)
        return 0;
    int w = q->code->width;
    if (x < 0 || y < 0 || x >= w || y >= w)
        return 0;
    return q->code->data[(size_t)y * (size_t)w + (size_t)x] & 1;
}

/* Append printf-formatted text to b. Short fragments only (< 128 bytes). */
static void mc_qr_appendf(mc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void mc_qr_appendf(mc_buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        mc_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Terminate b with a NUL that is not counted in b->len. */
static void mc_qr_terminate(mc_buf *b)
{
    mc_buf_reserve(b, 1);
    b->ptr[b->len] = '\0';
}

int mc_qr_svg(const mc_qr *q, mc_buf *out)
{
    if (q == NULL || out == NULL)
        return -1;
    int w = q->code->width;
    int n = w + 2 * MC_QR_QUIET;
    mc_qr_appendf(out,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                  "shape-rendering=\"crispEdges\">",
                  n, n);
    mc_qr_appendf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", n, n);
    mc_qr_appendf(out, "<path fill=\"#000\" d=\"");
    for (int y = 0; y < w; y++) {
        int x = 0;
        while (x < w) {
            if (!mc_qr_dark(q, x, y)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && mc_qr_dark(q, x + run, y))
                run++;
            mc_qr_appendf(out, "M%d %dh%dv1h-%dz", x + MC_QR_QUIET, y + MC_QR_QUIET, run, run);
            x += run;
        }
    }
    mc_qr_appendf(out, "\"/></svg>\n");
    mc_qr_terminate(out);
    return 0;
}

/* libpng glue: where bytes go and how errors come back. */
typedef struct mc_qr_png_io {
    mc_buf *out;
    mc_err *err;
} mc_qr_png_io;

static void mc_qr_png_write(png_structp png, png_bytep data, size_t len)
{
    mc_qr_png_io *io = png_get_io_ptr(png);
    mc_buf_append(io->out, data, len);
}

static void mc_qr_png_flush(png_structp png)
{
    (void)png;
}

static void mc_qr_png_error(png_structp png, png_const_charp msg)
{
    mc_qr_png_io *io = png_get_error_ptr(png);
    mc_err_set(io->err, 500, "internal", "libpng: %s", msg);
    png_longjmp(png, 1);
}

static void mc_qr_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/*
 * Cost: O((width+8)^2 * scale^2) bytes through zlib, plus zlib's fixed
 * setup: about 0.5 ms for version 3 at scale 8 here (encode: ~50 us).
 */
int mc_qr_png(const mc_qr *q, int scale, mc_buf *out, mc_err *err)
{
    if (q == NULL || out == NULL)
        return mc_err_set(err, 500, "internal", "mc_qr_png: NULL argument");
    if (scale < 1 || scale > MC_QR_PNG_SCALE_MAX)
        return mc_err_set(err, 400, "bad_request", "QR scale must be 1..%d",
                          MC_QR_PNG_SCALE_MAX);

    int w = q->code->width;
    int n = w + 2 * MC_QR_QUIET;
    size_t px = (size_t)n * (size_t)scale;
    size_t start_len = out->len;
    mc_qr_png_io io = {out, err};
    png_structp png = NULL;
    png_infop info = NULL;
    /* Touched after setjmp, hence volatile (see -Wclobbered). */
    png_bytep volatile row = NULL;
    volatile int rc = -1;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, mc_qr_png_error,
                                  mc_qr_png_warning);
    if (png == NULL) {
        mc_err_set(err, 500, "internal", "png_create_write_struct failed");
        goto done;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        mc_err_set(err, 500, "internal", "png_create_info_struct failed");
        goto done;
    }
    row = malloc(px);
    if (row == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto done;
    }
    if (setjmp(png_jmpbuf(png)))
        goto done;   /* err already set by mc_qr_png_error */

    png_set_write_fn(png, &io, mc_qr_png_write, mc_qr_png_flush);
    /* Rows repeat `scale` times and are runs of 0/255: the UP filter turns
     * repeats into zeros and run-length deflate finds the rest. Halves the
     * time of libpng's adaptive default for about the same size. */
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
    png_set_compression_strategy(png, Z_RLE);
    png_set_IHDR(png, info, (png_uint_32)px, (png_uint_32)px, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int my = 0; my < n; my++) {
        for (int mx = 0; mx < n; mx++) {
            uint8_t v = mc_qr_dark(q, mx - MC_QR_QUIET, my - MC_QR_QUIET) ? 0 : 255;
            memset(row + (size_t)mx * (size_t)scale, v, (size_t)scale);
        }
        for (int r = 0; r < scale; r++)
            png_write_row(png, row);
    }
    png_write_end(png, info);
    rc = 0;

done:
    if (png != NULL)
        png_destroy_write_struct(&png, info != NULL ? &info : NULL);
    free(row);
    if (rc != 0)
        out->len = start_len;   /* drop a partial image */
    return rc;
}

/*
 * One line per two module rows: U+2588 both light, U+2580 top light,
 * U+2584 bottom light, space both dark. Line count is (width+8+1)/2, each
 * line width+8 characters plus '\n'.
 */
int mc_qr_text(const mc_qr *q, mc_buf *out)
{
    static const char *const cell[4] = {
        " ",              /* top dark, bottom dark */
        "\xE2\x96\x84",   /* top dark, bottom light: lower half U+2584 */
        "\xE2\x96\x80",   /* top light, bottom dark: upper half U+2580 */
        "\xE2\x96\x88",   /* both light: full block U+2588 */
    };
    if (q == NULL || out == NULL)
        return -1;
    int n = q->code->width + 2 * MC_QR_QUIET;
    for (int y = 0; y < n; y += 2) {
        for (int x = 0; x < n; x++) {
            int top_light = !mc_qr_dark(q, x - MC_QR_QUIET, y - MC_QR_QUIET);
            int bot_light = y + 1 < n && !mc_qr_dark(q, x - MC_QR_QUIET, y + 1 - MC_QR_QUIET);
            const char *c = cell[top_light * 2 + bot_light];
            mc_buf_append(out, c, strlen(c));
        }
        mc_buf_append(out, "\n", 1);
    }
    mc_qr_terminate(out);
    return 0;
}
