/*
 * mc_proto.c — the phone protocol: TBS bytes, message encoders, and strict
 * decoders for untrusted msgpack (see mc_proto.h).
 *
 * Why: the bytes the phone signs must be reproduced bit for bit by the
 * server, and every message from a phone is hostile until proven otherwise.
 * Both concerns live here, once, without I/O.
 *
 * Design:
 *  - Encoders use msgpack_packer with a write callback that appends to an
 *    mc_buf; msgpack-c picks the shortest int/str/bin header, which is the
 *    canonical form the TBS definition requires. Encoders never fail; they
 *    abort only on out-of-memory (through mc_buf_append).
 *  - Decoding is two-pass. mc_mp_check walks the raw bytes iteratively
 *    (explicit stack of remaining-element counts, depth <= MC_MP_DEPTH_MAX)
 *    and proves: the frame is <= max bytes, every header is complete, every
 *    str/bin/ext payload fits, no array/map claims more elements than bytes
 *    remain, and exactly one object ends exactly at n. Only then does
 *    msgpack_unpack_next see the bytes, so its up-front container
 *    allocations are bounded by the frame size; its return code and offset
 *    are still checked.
 *  - Messages are maps with short string keys, described by a key table per
 *    message; each key must appear exactly once (seen-bitmask), unknown keys
 *    are rejected. One walker (mp_decode_map) does this for every message
 *    and hands each value to the message's field handler. Field errors are
 *    "bad_field" (400) and name the field.
 *  - Strings are copied into fixed NUL-terminated fields; a string that
 *    does not fit or contains NUL is rejected, never truncated. Binary
 *    fields of a response (chain, sig) are slices into the caller's input.
 *
 * Non-goals: no streaming, no msgpack ext/float/nil support in messages, no
 * tolerance for future fields (a new field means a new protocol version).
 */
#include "mc_proto.h"

#include <inttypes.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

/* msgpack_packer_write into an mc_buf. Never fails (mc_buf aborts on OOM). */
static int mp_write_buf(void *data, const char *buf, size_t len)
{
    mc_buf_append((mc_buf *)data, buf, len);
    return 0;
}

static void mp_str_n(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Our own NUL-terminated strings (not peer data). */
static void mp_str(msgpack_packer *pk, const char *s)
{
    mp_str_n(pk, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* A fixed-size char array field: never reads past its end. */
#define MP_FIELD(pk, arr) mp_str_n((pk), (arr), strnlen((arr), sizeof(arr)))

static void mp_bin(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

void mc_tbs_encode(const mc_tbs *t, mc_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_array(&pk, 11);
    mp_str(&pk, "mcert-tbs");
    msgpack_pack_uint32(&pk, 1);
    mp_str(&pk, t->purpose);
    mp_str(&pk, t->sid);
    mp_bin(&pk, t->nonce, MC_NONCE_LEN);
    mp_str(&pk, t->origin);
    mp_str(&pk, t->account);
    /* expires >= 0 by contract; pack_int64 emits the unsigned forms for
     * non-negative values, i.e. exactly what pack_uint64 would. */
    msgpack_pack_int64(&pk, t->expires);
    mp_bin(&pk, t->cert_fp, 32);
    msgpack_pack_uint32(&pk, t->number);
    mp_str(&pk, t->decision);
}

void mc_view_encode(const mc_session_view *v, mc_buf *out)
{
    const mc_session *s = &v->s;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, 15);
    mp_str(&pk, "v");
    msgpack_pack_uint32(&pk, MC_PROTO_VERSION);
    mp_str(&pk, "sid");
    MP_FIELD(&pk, s->sid);
    mp_str(&pk, "purpose");
    mp_str(&pk, mc_purpose_name(s->purpose));
    mp_str(&pk, "state");
    MP_FIELD(&pk, s->state);
    mp_str(&pk, "nonce");
    mp_bin(&pk, s->nonce, MC_NONCE_LEN);
    mp_str(&pk, "origin");
    MP_FIELD(&pk, s->origin);
    mp_str(&pk, "account");
    MP_FIELD(&pk, s->account);
    mp_str(&pk, "requester");
    MP_FIELD(&pk, s->requester);
    mp_str(&pk, "requester_name");
    MP_FIELD(&pk, v->requester_name);
    mp_str(&pk, "org_name");
    MP_FIELD(&pk, v->org_name);
    mp_str(&pk, "ip");
    MP_FIELD(&pk, s->ip);
    mp_str(&pk, "ua");
    MP_FIELD(&pk, s->ua);
    mp_str(&pk, "created");
    msgpack_pack_int64(&pk, s->created);
    mp_str(&pk, "expires");
    msgpack_pack_int64(&pk, s->expires);
    mp_str(&pk, "choices");
    msgpack_pack_array(&pk, 3);
    for (size_t i = 0; i < 3; i++)
        msgpack_pack_uint32(&pk, s->choices[i]);
}

void mc_response_encode(const mc_response *r, mc_buf *out)
{
    msgpack_packer pk;
    size_t nchain = r->nchain <= MC_CHAIN_MAX ? r->nchain : MC_CHAIN_MAX;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, 8);
    mp_str(&pk, "v");
    msgpack_pack_uint32(&pk, r->v);
    mp_str(&pk, "sid");
    MP_FIELD(&pk, r->sid);
    mp_str(&pk, "purpose");
    MP_FIELD(&pk, r->purpose);
    mp_str(&pk, "origin");
    MP_FIELD(&pk, r->origin);
    mp_str(&pk, "decision");
    MP_FIELD(&pk, r->decision);
    mp_str(&pk, "number");
    msgpack_pack_uint32(&pk, r->number);
    mp_str(&pk, "chain");
    msgpack_pack_array(&pk, nchain);
    for (size_t i = 0; i < nchain; i++)
        mp_bin(&pk, r->chain[i].ptr, r->chain[i].len);
    mp_str(&pk, "sig");
    mp_bin(&pk, r->sig.ptr, r->sig.len);
}

void mc_error_encode(const mc_err *e, mc_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, 2);
    mp_str(&pk, "code");
    mp_str(&pk, e->code != NULL ? e->code : "internal"); /* no code: say so */
    mp_str(&pk, "message");
    MP_FIELD(&pk, e->msg);
}

void mc_result_encode(const char *state, const char *account, mc_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, 2);
    mp_str(&pk, "state");
    mp_str(&pk, state);
    mp_str(&pk, "account");
    mp_str(&pk, account);
}

/* ------------------------------------------------------------------ */
/* Structural pre-check                                                */
/* ------------------------------------------------------------------ */

static uint32_t be16(const uint8_t *p)
{
    return ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

/* O(n), no allocation, no recursion: one pass with a stack of at most
 * MC_MP_DEPTH_MAX remaining-element counters. */
int mc_mp_check(const uint8_t *p, size_t n, size_t max, mc_err *err)
{
    uint64_t left[MC_MP_DEPTH_MAX]; /* elements still due per open container */
    size_t depth = 0;
    size_t pos = 0;

    if (n > max)
        return mc_err_set(err, 413, "too_large",
                          "msgpack body of %zu bytes exceeds %zu", n, max);
    if (p == NULL && n != 0)
        return mc_err_set(err, 400, "bad_msgpack", "no input");

    for (;;) {
        if (pos >= n)
            return mc_err_set(err, 400, "bad_msgpack",
                              "truncated msgpack at byte %zu", pos);
        uint8_t c = p[pos];
        size_t avail = n - pos;  /* >= 1 */
        size_t hdr = 1;          /* header bytes incl. the type byte */
        size_t lenbytes = 0;     /* big-endian length/count field size */
        size_t exttype = 0;      /* ext8/16/32: 1 for the ext type byte */
        uint64_t payload = 0;    /* raw bytes after the header */
        uint64_t count = 0;      /* container elements (map: 2 * entries) */
        int container = 0;

        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, negative fixint, nil, false, true */
        } else if (c <= 0x8f) {
            container = 1, count = 2u * (c & 0x0fu);
        } else if (c <= 0x9f) {
            container = 1, count = c & 0x0fu;
        } else if (c <= 0xbf) {
            payload = c & 0x1fu;
        } else {
            switch (c) {
            case 0xc4: case 0xd9: lenbytes = 1; break; /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break; /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; break; /* bin32, str32 */
            case 0xc7: lenbytes = 1, exttype = 1; break; /* ext8 (+type) */
            case 0xc8: lenbytes = 2, exttype = 1; break; /* ext16 */
            case 0xc9: lenbytes = 4, exttype = 1; break; /* ext32 */
            case 0xca: payload = 4; break;             /* float32 */
            case 0xcb: payload = 8; break;             /* float64 */
            case 0xcc: case 0xd0: payload = 1; break;  /* (u)int8 */
            case 0xcd: case 0xd1: payload = 2; break;
            case 0xce: case 0xd2: payload = 4; break;
            case 0xcf: case 0xd3: payload = 8; break;
            case 0xd4: payload = 2; break;             /* fixext1: type+1 */
            case 0xd5: payload = 3; break;
            case 0xd6: payload = 5; break;
            case 0xd7: payload = 9; break;
            case 0xd8: payload = 17; break;
            case 0xdc: lenbytes = 2, container = 1; break; /* array16 */
            case 0xdd: lenbytes = 4, container = 1; break; /* array32 */
            case 0xde: lenbytes = 2, container = 2; break; /* map16 */
            case 0xdf: lenbytes = 4, container = 2; break; /* map32 */
            default: /* 0xc1: never used */
                return mc_err_set(err, 400, "bad_msgpack",
                                  "invalid msgpack byte 0x%02x at %zu",
                                  (unsigned)c, pos);
            }
        }
        if (lenbytes != 0) {
            if (avail < 1 + lenbytes)
                return mc_err_set(err, 400, "bad_msgpack",
                                  "truncated msgpack header at byte %zu", pos);
            uint64_t v = lenbytes == 1   ? p[pos + 1]
                         : lenbytes == 2 ? be16(p + pos + 1)
                                         : be32(p + pos + 1);
            hdr = 1 + lenbytes + exttype;
            if (container == 1)
                count = v;
            else if (container == 2)
                count = 2 * v;
            else
                payload = v;
        }
        if (avail < hdr)
            return mc_err_set(err, 400, "bad_msgpack",
                              "truncated msgpack header at byte %zu", pos);
        if (payload > avail - hdr)
            return mc_err_set(err, 400, "bad_msgpack",
                              "msgpack length at byte %zu exceeds the input",
                              pos);
        pos += hdr + (size_t)payload;

        if (depth > 0)
            left[depth - 1]--; /* this element belongs to the open container */
        if (container) {
            if (depth == MC_MP_DEPTH_MAX)
                return mc_err_set(err, 400, "bad_msgpack",
                                  "msgpack nested deeper than %d",
                                  MC_MP_DEPTH_MAX);
            /* Every element takes at least one byte. */
            if (count > n - pos)
                return mc_err_set(err, 400, "bad_msgpack",
                                  "msgpack container at byte %zu claims "
                                  "%" PRIu64 " elements, only %zu bytes left",
                                  pos - hdr, count, n - pos);
            left[depth++] = count;
        }
        while (depth > 0 && left[depth - 1] == 0)
            depth--;
        if (depth == 0)
            break;
    }
    if (pos != n)
        return mc_err_set(err, 400, "bad_msgpack",
                          "%zu trailing bytes after the msgpack object",
                          n - pos);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Decoding helpers                                                    */
/* ------------------------------------------------------------------ */

/* Pre-check, unpack, and require a map at the top. On success the caller
 * owns *u (msgpack_unpacked_destroy); on failure it is already destroyed. */
static int mp_open(const uint8_t *p, size_t n, msgpack_unpacked *u,
                   mc_err *err)
{
    if (mc_mp_check(p, n, MC_PHONE_BODY_MAX, err) != 0)
        return -1;
    size_t off = 0;
    msgpack_unpacked_init(u);
    msgpack_unpack_return rc =
        msgpack_unpack_next(u, (const char *)p, n, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != n) {
        msgpack_unpacked_destroy(u);
        return mc_err_set(err, 400, "bad_msgpack",
                          "msgpack decode failed (rc %d, offset %zu of %zu)",
                          (int)rc, off, n);
    }
    if (u->data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(u);
        return mc_err_set(err, 400, "bad_field", "message is not a map");
    }
    return 0;
}

/* Map a key to its index in names[0..count), rejecting non-string,
 * unknown and duplicate keys. count <= 32. */
static int mp_key(const msgpack_object *k, const char *const *names,
                  size_t count, uint32_t *seen, mc_err *err)
{
    if (k->type != MSGPACK_OBJECT_STR)
        return mc_err_set(err, 400, "bad_field", "map key is not a string");
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(names[i]);
        if (k->via.str.size == len && memcmp(k->via.str.ptr, names[i], len) == 0) {
            if (*seen & (UINT32_C(1) << i))
                return mc_err_set(err, 400, "bad_field",
                                  "field \"%s\" appears twice", names[i]);
            *seen |= UINT32_C(1) << i;
            return (int)i;
        }
    }
    char shown[33];
    mc_copy_printable(shown, sizeof(shown), k->via.str.ptr, k->via.str.size);
    return mc_err_set(err, 400, "bad_field", "unknown field \"%s\"", shown);
}

static int mp_require_all(uint32_t seen, const char *const *names,
                          size_t count, mc_err *err)
{
    for (size_t i = 0; i < count; i++)
        if (!(seen & (UINT32_C(1) << i)))
            return mc_err_set(err, 400, "bad_field", "field \"%s\" is missing",
                              names[i]);
    return 0;
}

/* Copy a str into dst (size dstsize, NUL-terminated). Too long or
 * containing NUL: bad_field. */
static int mp_get_str(const msgpack_object *o, const char *field, char *dst,
                      size_t dstsize, mc_err *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return mc_err_set(err, 400, "bad_field",
                          "field \"%s\" must be a string", field);
    size_t len = o->via.str.size;
    if (dstsize == 0 || len > dstsize - 1)
        return mc_err_set(err, 400, "bad_field",
                          "field \"%s\" is too long (%zu bytes, max %zu)",
                          field, len, dstsize ? dstsize - 1 : 0);
    if (len != 0 && memchr(o->via.str.ptr, '\0', len) != NULL)
        return mc_err_set(err, 400, "bad_field",
                          "field \"%s\" contains a NUL byte", field);
    if (len != 0)
        memcpy(dst, o->via.str.ptr, len);
    dst[len] = '\0';
    return 0;
}

static int mp_get_u32(const msgpack_object *o, const char *field,
                      uint32_t *out, mc_err *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
        return mc_err_set(err, 400, "bad_field",
                          "field \"%s\" must be an unsigned 32-bit integer",
                          field);
    *out = (uint32_t)o->via.u64;
    return 0;
}

static int mp_get_i64(const msgpack_object *o, const char *field,
                      int64_t *out, mc_err *err)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return mc_err_set(err, 400, "bad_field", "field \"%s\" must be an integer",
                      field);
}

/* "v": an integer, and exactly MC_PROTO_VERSION. */
static int mp_get_version(const msgpack_object *o, uint32_t *out, mc_err *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
        o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return mc_err_set(err, 400, "bad_field",
                          "field \"v\" must be an integer");
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        o->via.u64 != MC_PROTO_VERSION)
        return mc_err_set(err, 400, "bad_version",
                          "unsupported protocol version (want %d)",
                          MC_PROTO_VERSION);
    *out = MC_PROTO_VERSION;
    return 0;
}

/* A bin of min..max bytes, as a slice into the input [base, base+n). */
static int mp_get_bin(const msgpack_object *o, const char *field, size_t min,
                      size_t max, const uint8_t *base, size_t n, mc_slice *out,
                      mc_err *err)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return mc_err_set(err, 400, "bad_field", "field \"%s\" must be binary",
                          field);
    size_t len = o->via.bin.size;
    if (len < min || len > max)
        return mc_err_set(err, 400, "bad_field",
                          "field \"%s\" has %zu bytes (want %zu..%zu)", field,
                          len, min, max);
    const uint8_t *ptr = (const uint8_t *)o->via.bin.ptr;
    /* msgpack_unpack_next references the input; make sure of it, since the
     * slice must outlive the unpacked zone. */
    if (len != 0 && (ptr < base || ptr > base + n || len > (size_t)(base + n - ptr)))
        return mc_err_set(err, 500, "internal",
                          "field \"%s\" not referenced from the input", field);
    out->ptr = len != 0 ? ptr : base;
    out->len = len;
    return 0;
}

static int mp_get_sid(const msgpack_object *o, char *dst, size_t dstsize,
                      mc_err *err)
{
    if (mp_get_str(o, "sid", dst, dstsize, err) != 0)
        return -1;
    if (!mc_sid_valid(dst, o->via.str.size))
        return mc_err_set(err, 400, "bad_field",
                          "field \"sid\" is not a valid session id");
    return 0;
}

/* "purpose": a str that is "bind" or "login", copied into dst (dstsize
 * bytes; a longer str is "too long"); *out (if not NULL) gets its value. */
static int mp_get_purpose(const msgpack_object *o, char *dst, size_t dstsize,
                          mc_purpose *out, mc_err *err)
{
    if (mp_get_str(o, "purpose", dst, dstsize, err) != 0)
        return -1;
    mc_purpose pp = mc_purpose_parse(dst, o->via.str.size);
    if (pp == MC_PURPOSE_NONE)
        return mc_err_set(err, 400, "bad_field",
                          "field \"purpose\" must be bind or login");
    if (out != NULL)
        *out = pp;
    return 0;
}

/* One value of a message map: k is the key's index in the message's key
 * table, [p, p+n) the whole input (for slices into it), out the message. */
typedef int (*mp_field_fn)(int k, const msgpack_object *val, const uint8_t *p,
                           size_t n, void *out, mc_err *err);

/* The walk every message decoder shares: mp_open, then each key through
 * mp_key (names[0..count)) and its value through field(), then
 * mp_require_all. 0 / -1; the caller resets *out on -1. */
static int mp_decode_map(const uint8_t *p, size_t n, const char *const *names,
                         size_t count, mp_field_fn field, void *out,
                         mc_err *err)
{
    msgpack_unpacked u;
    uint32_t seen = 0;
    int rc = -1;

    if (mp_open(p, n, &u, err) != 0)
        return -1;
    const msgpack_object_map *m = &u.data.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        int k = mp_key(&m->ptr[i].key, names, count, &seen, err);
        if (k < 0 || field(k, &m->ptr[i].val, p, n, out, err) != 0)
            goto done;
    }
    rc = mp_require_all(seen, names, count, err);
done:
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Response (phone -> server)                                          */
/* ------------------------------------------------------------------ */

enum {
    RK_V, RK_SID, RK_PURPOSE, RK_ORIGIN, RK_DECISION, RK_NUMBER, RK_CHAIN,
    RK_SIG, RK_COUNT
};
static const char *const mc_response_keys[RK_COUNT] = {
    "v", "sid", "purpose", "origin", "decision", "number", "chain", "sig",
};

static int response_field(int k, const msgpack_object *val, const uint8_t *p,
                          size_t n, void *out, mc_err *err)
{
    mc_response *r = out;

    switch (k) {
    case RK_V:
        return mp_get_version(val, &r->v, err);
    case RK_SID:
        return mp_get_sid(val, r->sid, sizeof(r->sid), err);
    case RK_PURPOSE:
        return mp_get_purpose(val, r->purpose, sizeof(r->purpose), NULL, err);
    case RK_ORIGIN:
        return mp_get_str(val, "origin", r->origin, sizeof(r->origin), err);
    case RK_DECISION:
        if (mp_get_str(val, "decision", r->decision, sizeof(r->decision), err) != 0)
            return -1;
        if (strcmp(r->decision, "approve") != 0 && strcmp(r->decision, "reject") != 0)
            return mc_err_set(err, 400, "bad_field",
                              "field \"decision\" must be approve or reject");
        return 0;
    case RK_NUMBER:
        return mp_get_u32(val, "number", &r->number, err);
    case RK_CHAIN:
        if (val->type != MSGPACK_OBJECT_ARRAY)
            return mc_err_set(err, 400, "bad_field",
                              "field \"chain\" must be an array");
        if (val->via.array.size < 1 || val->via.array.size > MC_CHAIN_MAX)
            return mc_err_set(err, 400, "bad_field",
                              "field \"chain\" must hold 1..%d certificates",
                              MC_CHAIN_MAX);
        for (uint32_t i = 0; i < val->via.array.size; i++)
            if (mp_get_bin(&val->via.array.ptr[i], "chain", 1, MC_CERT_DER_MAX,
                           p, n, &r->chain[i], err) != 0)
                return -1;
        r->nchain = val->via.array.size;
        return 0;
    case RK_SIG:
        return mp_get_bin(val, "sig", 1, MC_SIG_MAX, p, n, &r->sig, err);
    default:
        return mc_err_set(err, 500, "internal", "unhandled response field");
    }
}

int mc_response_decode(const uint8_t *p, size_t n, mc_response *r, mc_err *err)
{
    memset(r, 0, sizeof(*r));
    if (mp_decode_map(p, n, mc_response_keys, RK_COUNT, response_field, r,
                      err) != 0) {
        memset(r, 0, sizeof(*r));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Session view (server -> phone)                                      */
/* ------------------------------------------------------------------ */

enum {
    VK_V, VK_SID, VK_PURPOSE, VK_STATE, VK_NONCE, VK_ORIGIN, VK_ACCOUNT,
    VK_REQUESTER, VK_REQUESTER_NAME, VK_ORG_NAME, VK_IP, VK_UA, VK_CREATED,
    VK_EXPIRES, VK_CHOICES, VK_COUNT
};
static const char *const mc_view_keys[VK_COUNT] = {
    "v", "sid", "purpose", "state", "nonce", "origin", "account", "requester",
    "requester_name", "org_name", "ip", "ua", "created", "expires", "choices",
};

static int view_field(int k, const msgpack_object *val, const uint8_t *p,
                      size_t n, void *out, mc_err *err)
{
    mc_session_view *v = out;
    mc_session *s = &v->s;
    uint32_t ver;
    char purpose[8];
    mc_slice nonce;

    switch (k) {
    case VK_V:
        return mp_get_version(val, &ver, err);
    case VK_SID:
        return mp_get_sid(val, s->sid, sizeof(s->sid), err);
    case VK_PURPOSE:
        return mp_get_purpose(val, purpose, sizeof(purpose), &s->purpose, err);
    case VK_STATE:
        return mp_get_str(val, "state", s->state, sizeof(s->state), err);
    case VK_NONCE:
        if (mp_get_bin(val, "nonce", MC_NONCE_LEN, MC_NONCE_LEN, p, n, &nonce,
                       err) != 0)
            return -1;
        memcpy(s->nonce, nonce.ptr, MC_NONCE_LEN);
        return 0;
    case VK_ORIGIN:
        return mp_get_str(val, "origin", s->origin, sizeof(s->origin), err);
    case VK_ACCOUNT:
        return mp_get_str(val, "account", s->account, sizeof(s->account), err);
    case VK_REQUESTER:
        return mp_get_str(val, "requester", s->requester, sizeof(s->requester),
                          err);
    case VK_REQUESTER_NAME:
        return mp_get_str(val, "requester_name", v->requester_name,
                          sizeof(v->requester_name), err);
    case VK_ORG_NAME:
        return mp_get_str(val, "org_name", v->org_name, sizeof(v->org_name),
                          err);
    case VK_IP:
        return mp_get_str(val, "ip", s->ip, sizeof(s->ip), err);
    case VK_UA:
        return mp_get_str(val, "ua", s->ua, sizeof(s->ua), err);
    case VK_CREATED:
        return mp_get_i64(val, "created", &s->created, err);
    case VK_EXPIRES:
        return mp_get_i64(val, "expires", &s->expires, err);
    case VK_CHOICES:
        if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size != 3)
            return mc_err_set(err, 400, "bad_field",
                              "field \"choices\" must be an array of 3");
        for (uint32_t i = 0; i < 3; i++)
            if (mp_get_u32(&val->via.array.ptr[i], "choices", &s->choices[i],
                           err) != 0)
                return -1;
        return 0;
    default:
        return mc_err_set(err, 500, "internal", "unhandled view field");
    }
}

int mc_view_decode(const uint8_t *p, size_t n, mc_session_view *v, mc_err *err)
{
    memset(v, 0, sizeof(*v));
    if (mp_decode_map(p, n, mc_view_keys, VK_COUNT, view_field, v, err) != 0) {
        memset(v, 0, sizeof(*v));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Two-string bodies: error {code, message}, result {state, account}   */
/* ------------------------------------------------------------------ */

/* Caller buffers of a two-string body; keys[k] lands in dst[k]. */
typedef struct mp_pair {
    const char *keys[2];
    char *dst[2];
    size_t dstsize[2];
} mp_pair;

static int pair_field(int k, const msgpack_object *val, const uint8_t *p,
                      size_t n, void *out, mc_err *err)
{
    const mp_pair *pr = out;
    (void)p, (void)n;
    return mp_get_str(val, pr->keys[k], pr->dst[k], pr->dstsize[k], err);
}

static void pair_clear(const mp_pair *pr)
{
    for (size_t k = 0; k < 2; k++)
        if (pr->dst[k] != NULL && pr->dstsize[k] != 0)
            pr->dst[k][0] = '\0';
}

/* Decode a map of exactly the two string keys k0, k1 into caller buffers;
 * both are "" on failure. */
static int mp_decode_pair(const uint8_t *p, size_t n, const char *k0,
                          char *d0, size_t d0sz, const char *k1, char *d1,
                          size_t d1sz, mc_err *err)
{
    mp_pair pr = {{k0, k1}, {d0, d1}, {d0sz, d1sz}};

    pair_clear(&pr);
    if (mp_decode_map(p, n, pr.keys, 2, pair_field, &pr, err) != 0) {
        pair_clear(&pr);
        return -1;
    }
    return 0;
}

int mc_error_decode(const uint8_t *p, size_t n, char *code, size_t codesz,
                    char *msg, size_t msgsz)
{
    mc_err err;
    mc_err_clear(&err);
    return mp_decode_pair(p, n, "code", code, codesz, "message", msg, msgsz,
                          &err);
}

int mc_result_decode(const uint8_t *p, size_t n, char *state, size_t statesz,
                     char *account, size_t accountsz, mc_err *err)
{
    return mp_decode_pair(p, n, "state", state, statesz, "account", account,
                          accountsz, err);
}
