/*
 * mc_qr.h — the QR payload of a session and its renderings.
 *
 * Payload: "<BASE>/M/<SID>" where BASE is the server's public base URL in
 * upper case (scheme and host are case-insensitive), e.g.
 *     HTTP://127.0.0.1:8080/M/0123456789ABCDEFGHJK
 * Every character is in QR alphanumeric mode (0-9 A-Z space $%*+-./:), so a
 * typical payload fits version 3-4 at level M (<= 5 is a hard rule; the
 * encoder is asked for level M, and mc_qr_encode fails if the result is
 * larger than version 5).
 *
 * The payload carries nothing that lets its viewer collect the result: the
 * poll secret is never in it.
 *
 * Renderings, all with a 4-module quiet zone:
 *   SVG   — one <path> of dark modules, viewBox in modules, scalable.
 *   PNG   — 8-bit grey, `scale` pixels per module (libpng).
 *   text  — UTF-8 half blocks (U+2580/2584/2588, space), two module rows per
 *           line; light modules are drawn as blocks, so on a terminal with
 *           a dark background the symbol reads dark-on-light.
 *
 * Ownership: every mc_buf result is owned by the caller (mc_buf_free).
 */
#ifndef MC_QR_H
#define MC_QR_H

#include <stddef.h>

#include "mc_buf.h"
#include "mc_err.h"

#define MC_QR_MAX_VERSION 5
#define MC_QR_PAYLOAD_MAX 120
#define MC_QR_PNG_SCALE_MAX 64 /* pixels per module; bounds the PNG size */

/* Build the payload from a base URL ("http://host:port", no trailing
 * slash required) and a sid. out must hold MC_QR_PAYLOAD_MAX+1.
 * 0 / -1 (base not http(s), characters outside alphanumeric mode, too long). */
int mc_qr_payload(const char *base, const char *sid, char *out, mc_err *err);

/* Parse a payload (either case). On success fills base (lower-cased,
 * "http://host:port", basesz >= 128) and sid (MC_SID_LEN+1). 0 / -1 with
 * err bad_qr (400). */
int mc_qr_parse(const char *payload, size_t n, char *base, size_t basesz,
                char *sid, mc_err *err);

typedef struct mc_qr mc_qr;   /* an encoded symbol, owned by the caller */

/* Level M. NULL on failure: err "qr_too_large" above MC_QR_MAX_VERSION,
 * "internal" otherwise. Free with mc_qr_free (accepts NULL). */
mc_qr *mc_qr_encode(const char *payload, mc_err *err);
void mc_qr_free(mc_qr *q);
/* Accessors return 0 for a NULL q. */
int mc_qr_version(const mc_qr *q);
int mc_qr_width(const mc_qr *q);          /* modules, without quiet zone */
int mc_qr_dark(const mc_qr *q, int x, int y); /* 1 if dark; 0 outside */

/* Renderers append to out (may be zeroed) and return 0, or -1 for a NULL
 * q/out. SVG and text are followed by a NUL not counted in out->len. PNG
 * also fails (err set, out unchanged) for scale outside
 * 1..MC_QR_PNG_SCALE_MAX. */
int mc_qr_svg(const mc_qr *q, mc_buf *out);
int mc_qr_png(const mc_qr *q, int scale, mc_buf *out, mc_err *err);
int mc_qr_text(const mc_qr *q, mc_buf *out);

#endif
