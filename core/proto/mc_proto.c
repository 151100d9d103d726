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
 *    are rejected. One walker (mp_walk_map, on any map object, top level or
 *    nested: a view's documents, the inbox entries) does this for every
 *    message and hands each value to the message's field handler. Field
 *    errors are "bad_field" (400) and name the field.
 *  - Keys that only purpose "sign" carries (the view's documents, text,
 *    signing_time; the answer's doc_sigs) are left out of the walker's
 *    required set and judged after the walk (mp_require_for_purpose):
 *    present iff the purpose, wherever it sits in the map, is "sign". The
 *    view's enroll keys (app, holder_name), its renew keys (renewal,
 *    serial, not_after, new_not_after, years) and the answer's csr (purpose
 *    "renew") are judged the same way; so are an inbox entry's documents
 *    against its purpose (1..32 for sign, 0 for renew).
 *  - mc_proto_int.h shares the walker and the field readers with the other
 *    message files (mc_enroll_proto.c), so that every message from a phone
 *    goes through the same strict path.
 *  - The documents have two forms with one field handler: maps in the view,
 *    4-arrays in mc_docs_encode (TBS element 11 and the store's copy).
 *    mc_docs_decode takes only the canonical bytes (it re-encodes and
 *    compares), so what the store holds is what gets signed.
 *  - Strings are copied into fixed NUL-terminated fields; a string that
 *    does not fit or contains NUL is rejected, never truncated. Binary
 *    fields of a response (chain, sig) are slices into the caller's input.
 *
 * Non-goals: no streaming, no msgpack ext/float/nil support in messages, no
 * tolerance for future fields (a new field means a new protocol version).
 * Text rules beyond the byte level (Unicode categories, bidi controls in
 * document names) are the server's sanitising, not this file's.
 */
#include "mc_proto.h"
#include "mc_proto_int.h"
#include "mc_renew.h"

#include <inttypes.h>
#include <string.h>

_Static_assert(MC_RENEWAL_ID_LEN == MC_REN_ID_LEN, "a view's renewal is mc_renew.h's id");

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
    const mc_renew_tbs *rn = t->sign == NULL ? t->renew : NULL;
    msgpack_pack_array(&pk, t->sign != NULL ? 13 : rn != NULL ? 14 : 11);
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
    if (t->sign != NULL) {
        /* The packer does not buffer (every pack call writes through
         * mp_write_buf at once), so appending element 11 to out directly
         * keeps the order. */
        mc_docs_encode(t->sign, out);
        msgpack_pack_int64(&pk, t->sign->signing_time);
    }
    if (rn != NULL) {
        mp_str(&pk, rn->renewal);
        msgpack_pack_int64(&pk, rn->new_not_after);
        mp_bin(&pk, rn->csr_hash, rn->has_csr ? 32 : 0); /* c4 20 ... or c4 00 */
    }
}

static size_t docs_count(const mc_sign_info *si)
{
    return si->ndocs <= MC_DOCS_MAX ? si->ndocs : MC_DOCS_MAX;
}

void mc_docs_encode(const mc_sign_info *si, mc_buf *out)
{
    msgpack_packer pk;
    size_t nd = docs_count(si);
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_array(&pk, nd);
    for (size_t i = 0; i < nd; i++) {
        const mc_doc *d = &si->docs[i];
        msgpack_pack_array(&pk, 4);
        MP_FIELD(&pk, d->name);
        msgpack_pack_uint64(&pk, d->size);
        MP_FIELD(&pk, d->alg);
        mp_bin(&pk, d->digest, MC_DIGEST_LEN);
    }
}

void mc_inbox_tbs_encode(const char *base, const uint8_t fp[32], int64_t ts,
                         const uint8_t nonce[MC_INBOX_NONCE_LEN], mc_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_array(&pk, 6);
    mp_str(&pk, "mcert-inbox");
    msgpack_pack_uint32(&pk, 1);
    mp_str(&pk, base);
    mp_bin(&pk, fp, 32);
    msgpack_pack_int64(&pk, ts);
    mp_bin(&pk, nonce, MC_INBOX_NONCE_LEN);
}

void mc_inbox_entry_encode(const mc_inbox_entry *e, mc_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, 8);
    mp_str(&pk, "sid");
    MP_FIELD(&pk, e->sid);
    mp_str(&pk, "purpose");
    MP_FIELD(&pk, e->purpose);
    mp_str(&pk, "match");
    msgpack_pack_uint32(&pk, e->match);
    mp_str(&pk, "created");
    msgpack_pack_int64(&pk, e->created);
    mp_str(&pk, "expires");
    msgpack_pack_int64(&pk, e->expires);
    mp_str(&pk, "requester_name");
    MP_FIELD(&pk, e->requester_name);
    mp_str(&pk, "text");
    MP_FIELD(&pk, e->text);
    mp_str(&pk, "documents");
    msgpack_pack_uint32(&pk, e->documents);
}

void mc_inbox_reply_encode(int64_t now, const uint8_t *entries, size_t len, size_t n,
                           mc_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, 3);
    mp_str(&pk, "v");
    msgpack_pack_uint32(&pk, MC_PROTO_VERSION);
    mp_str(&pk, "now");
    msgpack_pack_int64(&pk, now);
    mp_str(&pk, "requests");
    msgpack_pack_array(&pk, n);
    if (len != 0)
        mc_buf_append(out, entries, len); /* n encoded entries, as they are */
}

void mc_view_encode(const mc_session_view *v, mc_buf *out)
{
    const mc_session *s = &v->s;
    /* The 3 sign keys only for a sign session with its data, the 2
     * enroll keys only for an enroll session; a bind or login view keeps
     * exactly its 15 keys whatever v->sign holds. */
    const mc_sign_info *si = s->purpose == MC_PURPOSE_SIGN ? v->sign : NULL;
    const mc_renew_info *ri = s->purpose == MC_PURPOSE_RENEW ? v->renew : NULL;
    int enroll = s->purpose == MC_PURPOSE_ENROLL;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, si != NULL ? 18 : enroll ? 17 : ri != NULL ? 20 : 15);
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
    if (enroll) {
        mp_str(&pk, "app");
        MP_FIELD(&pk, v->app);
        mp_str(&pk, "holder_name");
        MP_FIELD(&pk, v->holder_name);
        return;
    }
    if (ri != NULL) {
        mp_str(&pk, "renewal");
        MP_FIELD(&pk, ri->renewal);
        mp_str(&pk, "serial");
        MP_FIELD(&pk, ri->serial);
        mp_str(&pk, "not_after");
        msgpack_pack_int64(&pk, ri->not_after);
        mp_str(&pk, "new_not_after");
        msgpack_pack_int64(&pk, ri->new_not_after);
        mp_str(&pk, "years");
        msgpack_pack_uint32(&pk, ri->years);
        return;
    }
    if (si == NULL)
        return;
    size_t nd = docs_count(si);
    mp_str(&pk, "documents");
    msgpack_pack_array(&pk, nd);
    for (size_t i = 0; i < nd; i++) {
        const mc_doc *d = &si->docs[i];
        msgpack_pack_map(&pk, 4);
        mp_str(&pk, "name");
        MP_FIELD(&pk, d->name);
        mp_str(&pk, "size");
        msgpack_pack_uint64(&pk, d->size);
        mp_str(&pk, "alg");
        MP_FIELD(&pk, d->alg);
        mp_str(&pk, "digest");
        mp_bin(&pk, d->digest, MC_DIGEST_LEN);
    }
    mp_str(&pk, "text");
    MP_FIELD(&pk, si->text);
    mp_str(&pk, "signing_time");
    msgpack_pack_int64(&pk, si->signing_time);
}

void mc_response_encode(const mc_response *r, mc_buf *out)
{
    msgpack_packer pk;
    size_t nchain = r->nchain <= MC_CHAIN_MAX ? r->nchain : MC_CHAIN_MAX;
    size_t nsigs = r->ndoc_sigs <= MC_DOCS_MAX ? r->ndoc_sigs : MC_DOCS_MAX;
    /* doc_sigs iff the message says purpose "sign"; it is the last key.
     * csr iff has_csr (the caller's say: tests send it against the purpose
     * too), before doc_sigs. */
    int sign = strncmp(r->purpose, "sign", sizeof(r->purpose)) == 0;
    size_t csrlen = r->csr.len <= MC_RENEW_CSR_MAX ? r->csr.len : MC_RENEW_CSR_MAX;
    msgpack_packer_init(&pk, out, mp_write_buf);
    msgpack_pack_map(&pk, 8 + (size_t)(sign != 0) + (size_t)(r->has_csr != 0));
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
    if (r->has_csr) {
        mp_str(&pk, "csr");
        mp_bin(&pk, r->csr.ptr, csrlen);
    }
    if (!sign)
        return;
    mp_str(&pk, "doc_sigs");
    msgpack_pack_array(&pk, nsigs);
    for (size_t i = 0; i < nsigs; i++)
        mp_bin(&pk, r->doc_sigs[i].ptr, r->doc_sigs[i].len);
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

/* Every key of `required` (bit i = names[i]) that is not in `seen` is
 * reported missing (the first one). */
static int mp_require(uint32_t seen, uint32_t required, const char *const *names,
                      size_t count, mc_err *err)
{
    for (size_t i = 0; i < count; i++)
        if ((required & (UINT32_C(1) << i)) && !(seen & (UINT32_C(1) << i)))
            return mc_err_set(err, 400, "bad_field", "field \"%s\" is missing",
                              names[i]);
    return 0;
}

/* The keys of `mask` that only some purposes carry: all present when
 * `wanted`, all absent otherwise (purpose names the message's purpose). */
static int mp_require_for_purpose(uint32_t seen, uint32_t mask, int wanted,
                                  const char *purpose, const char *const *names,
                                  size_t count, mc_err *err)
{
    for (size_t i = 0; i < count; i++) {
        if (!(mask & (UINT32_C(1) << i)))
            continue;
        int has = (seen & (UINT32_C(1) << i)) != 0;
        if (wanted && !has)
            return mc_err_set(err, 400, "bad_field",
                              "field \"%s\" is missing (purpose %s)", names[i],
                              purpose);
        if (!wanted && has)
            return mc_err_set(err, 400, "bad_field",
                              "field \"%s\" is not allowed for purpose %s",
                              names[i], purpose[0] ? purpose : "(none)");
    }
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

/* "purpose": a str that is "bind", "login", "sign", "enroll" or "renew", copied into dst
 * (dstsize bytes; a longer str is "too long"); *out (if not NULL) gets its value. */
static int mp_get_purpose(const msgpack_object *o, char *dst, size_t dstsize,
                          mc_purpose *out, mc_err *err)
{
    if (mp_get_str(o, "purpose", dst, dstsize, err) != 0)
        return -1;
    mc_purpose pp = mc_purpose_parse(dst, o->via.str.size);
    if (pp == MC_PURPOSE_NONE)
        return mc_err_set(err, 400, "bad_field",
                          "field \"purpose\" must be bind, login, sign, enroll or renew");
    if (out != NULL)
        *out = pp;
    return 0;
}

/* The walk every map shares, top level or nested: each key through
 * mp_key (names[0..count), count <= 32) and its value through field(),
 * then every key of `required` must have been seen. Keys outside
 * `required` are optional here; *seen (may be NULL) tells the caller which
 * came, for the rules that depend on another field (the purpose): those
 * are checked after the walk, since map order is the sender's. */
static int mp_walk_map(const msgpack_object *obj, const char *what,
                       const char *const *names, size_t count, uint32_t required,
                       mc_mp_field_fn field, const uint8_t *p, size_t n, void *out,
                       uint32_t *seen_out, mc_err *err)
{
    uint32_t seen = 0;

    if (obj->type != MSGPACK_OBJECT_MAP)
        return mc_err_set(err, 400, "bad_field", "%s is not a map", what);
    const msgpack_object_map *m = &obj->via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        int k = mp_key(&m->ptr[i].key, names, count, &seen, err);
        if (k < 0 || field(k, &m->ptr[i].val, p, n, out, err) != 0)
            return -1;
    }
    if (seen_out != NULL)
        *seen_out = seen;
    return mp_require(seen, required, names, count, err);
}

/* The walk of a whole message: mp_open, then mp_walk_map on its top-level
 * map. 0 / -1; the caller resets *out on -1. */
static int mp_decode_map(const uint8_t *p, size_t n, const char *const *names,
                         size_t count, uint32_t required, mc_mp_field_fn field,
                         void *out, uint32_t *seen, mc_err *err)
{
    msgpack_unpacked u;

    if (mp_open(p, n, &u, err) != 0)
        return -1;
    int rc = mp_walk_map(&u.data, "message", names, count, required, field, p, n,
                         out, seen, err);
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Text rules and documents (purpose "sign")                           */
/* ------------------------------------------------------------------ */

/* Well-formed UTF-8 of at most max bytes without C0 controls or DEL. */
static int utf8_printable(const char *str, size_t n, size_t min, size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n < min || n > max || (n != 0 && s == NULL))
        return 0;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            if (s[i] < 0x20 || s[i] == 0x7f)
                return 0;
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = mc_utf8_seq(s + i, n - i, &cp);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

int mc_doc_name_valid(const char *name, size_t n)
{
    return utf8_printable(name, n, 1, MC_DOC_NAME_MAX);
}

int mc_text_valid(const char *s, size_t n)
{
    return utf8_printable(s, n, 0, MC_SIGN_TEXT_MAX);
}

/* A time (signing_time): a non-negative integer. */
static int mp_get_time(const msgpack_object *o, const char *field, int64_t *out,
                       mc_err *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > INT64_MAX)
        return mc_err_set(err, 400, "bad_field",
                          "field \"%s\" must be a non-negative integer", field);
    *out = (int64_t)o->via.u64;
    return 0;
}

#define MC_DOC_SIZE_MAX ((UINT64_C(1) << 53) - 1)

/* The four fields of a document, in the order of both of its forms: the
 * map of the view {name, size, alg, digest} and the array [name, size,
 * alg, digest] of mc_docs_encode. */
enum { DK_NAME, DK_SIZE, DK_ALG, DK_DIGEST, DK_COUNT };
static const char *const mc_doc_keys[DK_COUNT] = {"name", "size", "alg", "digest"};

static int doc_field(int k, const msgpack_object *val, const uint8_t *p, size_t n,
                     void *out, mc_err *err)
{
    mc_doc *d = out;
    mc_slice dg;

    switch (k) {
    case DK_NAME:
        if (mp_get_str(val, "name", d->name, sizeof(d->name), err) != 0)
            return -1;
        if (!mc_doc_name_valid(d->name, val->via.str.size))
            return mc_err_set(err, 400, "bad_field",
                              "field \"name\" is not 1..%d bytes of UTF-8 without "
                              "control characters", MC_DOC_NAME_MAX);
        return 0;
    case DK_SIZE:
        if (val->type != MSGPACK_OBJECT_POSITIVE_INTEGER || val->via.u64 > MC_DOC_SIZE_MAX)
            return mc_err_set(err, 400, "bad_field",
                              "field \"size\" must be an integer 0..2^53-1");
        d->size = val->via.u64;
        return 0;
    case DK_ALG:
        if (mp_get_str(val, "alg", d->alg, sizeof(d->alg), err) != 0)
            return -1;
        if (strcmp(d->alg, "sm3") != 0 && strcmp(d->alg, "sha256") != 0)
            return mc_err_set(err, 400, "bad_field", "field \"alg\" must be sm3 or sha256");
        return 0;
    case DK_DIGEST:
        if (mp_get_bin(val, "digest", MC_DIGEST_LEN, MC_DIGEST_LEN, p, n, &dg, err) != 0)
            return -1;
        memcpy(d->digest, dg.ptr, MC_DIGEST_LEN);
        return 0;
    default:
        return mc_err_set(err, 500, "internal", "unhandled document field");
    }
}

/* The documents of a view (as_maps: an array of maps) or of
 * mc_docs_encode (an array of 4-arrays) into si->docs/ndocs: 1..32, every
 * field valid, one alg for all. Errors name the document's index. */
static int docs_get(const msgpack_object *val, int as_maps, const uint8_t *p, size_t n,
                    mc_sign_info *si, mc_err *err)
{
    if (val->type != MSGPACK_OBJECT_ARRAY)
        return mc_err_set(err, 400, "bad_field", "field \"documents\" must be an array");
    uint32_t nd = val->via.array.size;
    if (nd < 1 || nd > MC_DOCS_MAX)
        return mc_err_set(err, 400, "bad_field",
                          "field \"documents\" holds %u documents (want 1..%d)",
                          (unsigned)nd, MC_DOCS_MAX);
    for (uint32_t i = 0; i < nd; i++) {
        const msgpack_object *o = &val->via.array.ptr[i];
        mc_doc *d = &si->docs[i];
        int rc = 0;
        if (as_maps) {
            rc = mp_walk_map(o, "a document", mc_doc_keys, DK_COUNT, MC_MP_ALL(DK_COUNT),
                             doc_field, p, n, d, NULL, err);
        } else if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != DK_COUNT) {
            rc = mc_err_set(err, 400, "bad_field", "a document is not an array of %d",
                            DK_COUNT);
        } else {
            for (int k = 0; k < DK_COUNT && rc == 0; k++)
                rc = doc_field(k, &o->via.array.ptr[k], p, n, d, err);
        }
        if (rc == 0 && i > 0 && strcmp(d->alg, si->docs[0].alg) != 0)
            rc = mc_err_set(err, 400, "bad_field",
                            "field \"alg\" differs from the first document's");
        if (rc != 0) {
            if (err != NULL) {
                char inner[sizeof(err->msg)];
                memcpy(inner, err->msg, sizeof(inner));
                mc_err_set(err, err->status, err->code,
                           "field \"documents\", document %u: %s", (unsigned)i, inner);
            }
            return -1;
        }
    }
    si->ndocs = nd;
    return 0;
}

int mc_docs_decode(const uint8_t *p, size_t n, mc_sign_info *si, mc_err *err)
{
    msgpack_unpacked u;
    mc_buf again = {0};
    int rc = -1;

    memset(si->docs, 0, sizeof(si->docs));
    si->ndocs = 0;
    if (mc_mp_check(p, n, MC_PHONE_BODY_MAX, err) != 0)
        return -1;
    size_t off = 0;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char *)p, n, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != n) {
        mc_err_set(err, 400, "bad_msgpack", "msgpack decode failed");
        goto done;
    }
    if (docs_get(&u.data, 0, p, n, si, err) != 0)
        goto done;
    /* Strict inverse: only the canonical bytes (shortest forms) decode, so
     * that decode then encode gives back exactly the input — the bytes the
     * TBS carries. */
    mc_docs_encode(si, &again);
    if (again.len != n || memcmp(again.ptr, p, n) != 0) {
        mc_err_set(err, 400, "bad_field", "documents are not in canonical msgpack");
        goto done;
    }
    rc = 0;
done:
    msgpack_unpacked_destroy(&u);
    mc_buf_free(&again);
    if (rc != 0) {
        memset(si->docs, 0, sizeof(si->docs));
        si->ndocs = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Inbox (server -> phone)                                             */
/* ------------------------------------------------------------------ */

enum {
    EK_SID, EK_PURPOSE, EK_MATCH, EK_CREATED, EK_EXPIRES, EK_REQUESTER_NAME, EK_TEXT,
    EK_DOCUMENTS, EK_COUNT
};
static const char *const mc_entry_keys[EK_COUNT] = {
    "sid", "purpose", "match", "created", "expires", "requester_name", "text",
    "documents",
};

static int entry_field(int k, const msgpack_object *val, const uint8_t *p, size_t n,
                       void *out, mc_err *err)
{
    mc_inbox_entry *e = out;
    (void)p, (void)n;

    switch (k) {
    case EK_SID:
        return mp_get_sid(val, e->sid, sizeof(e->sid), err);
    case EK_PURPOSE:
        if (mp_get_str(val, "purpose", e->purpose, sizeof(e->purpose), err) != 0)
            return -1;
        if (strcmp(e->purpose, "sign") != 0 && strcmp(e->purpose, "renew") != 0)
            return mc_err_set(err, 400, "bad_field",
                              "field \"purpose\" must be sign or renew");
        return 0;
    case EK_MATCH:
        return mp_get_u32(val, "match", &e->match, err);
    case EK_CREATED:
        return mp_get_i64(val, "created", &e->created, err);
    case EK_EXPIRES:
        return mp_get_i64(val, "expires", &e->expires, err);
    case EK_REQUESTER_NAME:
        return mp_get_str(val, "requester_name", e->requester_name,
                          sizeof(e->requester_name), err);
    case EK_TEXT:
        if (mp_get_str(val, "text", e->text, sizeof(e->text), err) != 0)
            return -1;
        if (!mc_text_valid(e->text, val->via.str.size))
            return mc_err_set(err, 400, "bad_field",
                              "field \"text\" is not UTF-8 without control characters");
        return 0;
    case EK_DOCUMENTS:
        /* 1..32 for sign, 0 for renew: judged after the walk (entry_check),
         * since the purpose may come later in the map */
        if (mp_get_u32(val, "documents", &e->documents, err) != 0)
            return -1;
        if (e->documents > MC_DOCS_MAX)
            return mc_err_set(err, 400, "bad_field", "field \"documents\" must be 1..%d",
                              MC_DOCS_MAX);
        return 0;
    default:
        return mc_err_set(err, 500, "internal", "unhandled inbox entry field");
    }
}

/* After an entry's walk: its documents against its purpose. */
static int entry_check(const mc_inbox_entry *e, mc_err *err)
{
    int renew = strcmp(e->purpose, "renew") == 0;
    if (renew && e->documents != 0)
        return mc_err_set(err, 400, "bad_field",
                          "field \"documents\" must be 0 (purpose renew)");
    if (!renew && e->documents < 1)
        return mc_err_set(err, 400, "bad_field", "field \"documents\" must be 1..%d",
                          MC_DOCS_MAX);
    return 0;
}

enum { IK_V, IK_NOW, IK_REQUESTS, IK_COUNT };
static const char *const mc_inbox_keys[IK_COUNT] = {"v", "now", "requests"};

/* Where the inbox reply lands: the caller's arrays. */
typedef struct inbox_out {
    int64_t now;
    mc_inbox_entry *entries;
    size_t max, count;
} inbox_out;

static int inbox_field(int k, const msgpack_object *val, const uint8_t *p, size_t n,
                       void *out, mc_err *err)
{
    inbox_out *o = out;
    uint32_t ver;

    switch (k) {
    case IK_V:
        return mp_get_version(val, &ver, err);
    case IK_NOW:
        return mp_get_time(val, "now", &o->now, err);
    case IK_REQUESTS:
        if (val->type != MSGPACK_OBJECT_ARRAY)
            return mc_err_set(err, 400, "bad_field", "field \"requests\" must be an array");
        if (val->via.array.size > o->max || val->via.array.size > MC_INBOX_MAX)
            return mc_err_set(err, 400, "bad_field",
                              "field \"requests\" holds %u entries (max %zu)",
                              (unsigned)val->via.array.size,
                              o->max < MC_INBOX_MAX ? o->max : (size_t)MC_INBOX_MAX);
        for (uint32_t i = 0; i < val->via.array.size; i++) {
            memset(&o->entries[i], 0, sizeof(o->entries[i]));
            if (mp_walk_map(&val->via.array.ptr[i], "an inbox entry", mc_entry_keys,
                            EK_COUNT, MC_MP_ALL(EK_COUNT), entry_field, p, n,
                            &o->entries[i], NULL, err) != 0 ||
                entry_check(&o->entries[i], err) != 0)
                return -1;
        }
        o->count = val->via.array.size;
        return 0;
    default:
        return mc_err_set(err, 500, "internal", "unhandled inbox field");
    }
}

int mc_inbox_decode(const uint8_t *p, size_t n, int64_t *now, mc_inbox_entry *out,
                    size_t max, size_t *count, mc_err *err)
{
    inbox_out o = {0, out, out != NULL ? max : 0, 0};

    *now = 0;
    *count = 0;
    if (mp_decode_map(p, n, mc_inbox_keys, IK_COUNT, MC_MP_ALL(IK_COUNT), inbox_field, &o,
                      NULL, err) != 0) {
        if (out != NULL && max != 0)
            memset(out, 0, max * sizeof(*out));
        return -1;
    }
    *now = o.now;
    *count = o.count;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Response (phone -> server)                                          */
/* ------------------------------------------------------------------ */

enum {
    RK_V, RK_SID, RK_PURPOSE, RK_ORIGIN, RK_DECISION, RK_NUMBER, RK_CHAIN,
    RK_SIG, RK_DOC_SIGS, RK_CSR, RK_COUNT
};
static const char *const mc_response_keys[RK_COUNT] = {
    "v", "sid", "purpose", "origin", "decision", "number", "chain", "sig",
    "doc_sigs", "csr",
};
/* Keys of purpose "sign" only: present for sign, absent for the others;
 * the same for "renew". */
#define RK_SIGN_ONLY (UINT32_C(1) << RK_DOC_SIGS)
#define RK_RENEW_ONLY (UINT32_C(1) << RK_CSR)

static int response_field(int k, const msgpack_object *val, const uint8_t *p,
                          size_t n, void *out, mc_err *err)
{
    mc_response *r = out;

    switch (k) {
    case RK_V:
        return mp_get_version(val, &r->v, err);
    case RK_SID:
        return mp_get_sid(val, r->sid, sizeof(r->sid), err);
    case RK_PURPOSE: {
        mc_purpose pp;
        if (mp_get_purpose(val, r->purpose, sizeof(r->purpose), &pp, err) != 0)
            return -1;
        if (pp == MC_PURPOSE_ENROLL) /* its answer is POST /m/v1/enroll (§9.7) */
            return mc_err_set(err, 400, "bad_field",
                              "field \"purpose\": an enroll session is not answered here");
        return 0;
    }
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
    case RK_DOC_SIGS:
        /* 0..32 here; "exactly one per document" is the server's check
         * (§8.6 step 8), against its record. */
        if (val->type != MSGPACK_OBJECT_ARRAY)
            return mc_err_set(err, 400, "bad_field",
                              "field \"doc_sigs\" must be an array");
        if (val->via.array.size > MC_DOCS_MAX)
            return mc_err_set(err, 400, "bad_field",
                              "field \"doc_sigs\" holds %u signatures (max %d)",
                              (unsigned)val->via.array.size, MC_DOCS_MAX);
        for (uint32_t i = 0; i < val->via.array.size; i++)
            if (mp_get_bin(&val->via.array.ptr[i], "doc_sigs", 1, MC_SIG_MAX, p, n,
                           &r->doc_sigs[i], err) != 0)
                return -1;
        r->ndoc_sigs = val->via.array.size;
        return 0;
    case RK_CSR:
        /* 0..4096 here; "one DER PKCS#10" is the server's check (§10.4:
         * bad_csr), like the enrollment's CSR. */
        if (mp_get_bin(val, "csr", 0, MC_RENEW_CSR_MAX, p, n, &r->csr, err) != 0)
            return -1;
        r->has_csr = 1;
        return 0;
    default:
        return mc_err_set(err, 500, "internal", "unhandled response field");
    }
}

int mc_response_decode(const uint8_t *p, size_t n, mc_response *r, mc_err *err)
{
    uint32_t seen = 0;
    memset(r, 0, sizeof(*r));
    if (mp_decode_map(p, n, mc_response_keys, RK_COUNT,
                      MC_MP_ALL(RK_COUNT) & ~RK_SIGN_ONLY & ~RK_RENEW_ONLY, response_field, r,
                      &seen, err) != 0 ||
        mp_require_for_purpose(seen, RK_SIGN_ONLY, strcmp(r->purpose, "sign") == 0,
                               r->purpose, mc_response_keys, RK_COUNT, err) != 0 ||
        mp_require_for_purpose(seen, RK_RENEW_ONLY, strcmp(r->purpose, "renew") == 0,
                               r->purpose, mc_response_keys, RK_COUNT, err) != 0)
        goto fail;
    /* A reject asks for no certificate (§10.4). */
    if (r->has_csr && r->csr.len != 0 && strcmp(r->decision, "reject") == 0) {
        mc_err_set(err, 400, "bad_field", "field \"csr\" must be empty for a reject");
        goto fail;
    }
    return 0;
fail:
    memset(r, 0, sizeof(*r));
    return -1;
}

/* ------------------------------------------------------------------ */
/* Session view (server -> phone)                                      */
/* ------------------------------------------------------------------ */

enum {
    VK_V, VK_SID, VK_PURPOSE, VK_STATE, VK_NONCE, VK_ORIGIN, VK_ACCOUNT,
    VK_REQUESTER, VK_REQUESTER_NAME, VK_ORG_NAME, VK_IP, VK_UA, VK_CREATED,
    VK_EXPIRES, VK_CHOICES, VK_DOCUMENTS, VK_TEXT, VK_SIGNING_TIME, VK_APP,
    VK_HOLDER_NAME, VK_RENEWAL, VK_SERIAL, VK_NOT_AFTER, VK_NEW_NOT_AFTER, VK_YEARS,
    VK_COUNT
};
static const char *const mc_view_keys[VK_COUNT] = {
    "v", "sid", "purpose", "state", "nonce", "origin", "account", "requester",
    "requester_name", "org_name", "ip", "ua", "created", "expires", "choices",
    "documents", "text", "signing_time", "app", "holder_name", "renewal", "serial",
    "not_after", "new_not_after", "years",
};
#define VK_SIGN_ONLY \
    ((UINT32_C(1) << VK_DOCUMENTS) | (UINT32_C(1) << VK_TEXT) | \
     (UINT32_C(1) << VK_SIGNING_TIME))
#define VK_ENROLL_ONLY ((UINT32_C(1) << VK_APP) | (UINT32_C(1) << VK_HOLDER_NAME))
#define VK_RENEW_ONLY \
    ((UINT32_C(1) << VK_RENEWAL) | (UINT32_C(1) << VK_SERIAL) | \
     (UINT32_C(1) << VK_NOT_AFTER) | (UINT32_C(1) << VK_NEW_NOT_AFTER) | \
     (UINT32_C(1) << VK_YEARS))

/* The sign fields need the caller's storage (v->sign). */
static mc_sign_info *view_sign(mc_session_view *v, const char *field, mc_err *err)
{
    if (v->sign == NULL)
        mc_err_set(err, 400, "bad_field",
                   "field \"%s\": a sign view, and no storage for one", field);
    return v->sign;
}

/* The renew fields need the caller's storage (v->renew). */
static mc_renew_info *view_renew(mc_session_view *v, const char *field, mc_err *err)
{
    if (v->renew == NULL)
        mc_err_set(err, 400, "bad_field",
                   "field \"%s\": a renew view, and no storage for one", field);
    return v->renew;
}

/* A serial as mc_cert_info writes it: 1..40 upper-case hex digits. */
static int serial_hex_ok(const char *s, size_t n)
{
    if (n < 1 || n > MC_SERIAL_HEX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

static int view_field(int k, const msgpack_object *val, const uint8_t *p,
                      size_t n, void *out, mc_err *err)
{
    mc_session_view *v = out;
    mc_session *s = &v->s;
    uint32_t ver;
    char purpose[8];
    mc_slice nonce;
    mc_sign_info *si;
    mc_renew_info *ri;

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
    case VK_DOCUMENTS:
        if ((si = view_sign(v, "documents", err)) == NULL)
            return -1;
        return docs_get(val, 1, p, n, si, err);
    case VK_TEXT:
        if ((si = view_sign(v, "text", err)) == NULL)
            return -1;
        if (mp_get_str(val, "text", si->text, sizeof(si->text), err) != 0)
            return -1;
        if (!mc_text_valid(si->text, val->via.str.size))
            return mc_err_set(err, 400, "bad_field",
                              "field \"text\" is not UTF-8 without control characters");
        return 0;
    case VK_SIGNING_TIME:
        if ((si = view_sign(v, "signing_time", err)) == NULL)
            return -1;
        return mp_get_time(val, "signing_time", &si->signing_time, err);
    case VK_APP:
        return mp_get_str(val, "app", v->app, sizeof(v->app), err);
    case VK_HOLDER_NAME:
        return mp_get_str(val, "holder_name", v->holder_name, sizeof(v->holder_name), err);
    case VK_RENEWAL:
        if ((ri = view_renew(v, "renewal", err)) == NULL ||
            mp_get_str(val, "renewal", ri->renewal, sizeof(ri->renewal), err) != 0)
            return -1;
        /* the date in it is not judged here */
        if (!mc_ren_id_valid(ri->renewal, val->via.str.size))
            return mc_err_set(err, 400, "bad_field",
                              "field \"renewal\" is not a renewal id (XF + 18 digits)");
        return 0;
    case VK_SERIAL:
        if ((ri = view_renew(v, "serial", err)) == NULL ||
            mp_get_str(val, "serial", ri->serial, sizeof(ri->serial), err) != 0)
            return -1;
        if (!serial_hex_ok(ri->serial, val->via.str.size))
            return mc_err_set(err, 400, "bad_field",
                              "field \"serial\" is not 1..%d upper-case hex digits",
                              MC_SERIAL_HEX_MAX);
        return 0;
    case VK_NOT_AFTER:
        if ((ri = view_renew(v, "not_after", err)) == NULL)
            return -1;
        return mp_get_time(val, "not_after", &ri->not_after, err);
    case VK_NEW_NOT_AFTER:
        if ((ri = view_renew(v, "new_not_after", err)) == NULL ||
            mp_get_time(val, "new_not_after", &ri->new_not_after, err) != 0)
            return -1;
        if (ri->new_not_after == 0)
            return mc_err_set(err, 400, "bad_field", "field \"new_not_after\" must be positive");
        return 0;
    case VK_YEARS:
        if ((ri = view_renew(v, "years", err)) == NULL ||
            mp_get_u32(val, "years", &ri->years, err) != 0)
            return -1;
        if (ri->years < 1 || ri->years > MC_RENEW_YEARS_MAX)
            return mc_err_set(err, 400, "bad_field", "field \"years\" must be 1..%d",
                              MC_RENEW_YEARS_MAX);
        return 0;
    default:
        return mc_err_set(err, 500, "internal", "unhandled view field");
    }
}

/* Zero *v but keep (and zero) the caller's sign and renew storage. */
static void view_reset(mc_session_view *v, mc_sign_info *si, mc_renew_info *ri)
{
    memset(v, 0, sizeof(*v));
    v->sign = si;
    v->renew = ri;
    if (si != NULL)
        memset(si, 0, sizeof(*si));
    if (ri != NULL)
        memset(ri, 0, sizeof(*ri));
}

int mc_view_decode(const uint8_t *p, size_t n, mc_session_view *v, mc_err *err)
{
    mc_sign_info *si = v->sign; /* caller storage: kept, and cleared */
    mc_renew_info *ri = v->renew;
    uint32_t seen = 0;

    view_reset(v, si, ri);
    if (mp_decode_map(p, n, mc_view_keys, VK_COUNT,
                      MC_MP_ALL(VK_COUNT) & ~VK_SIGN_ONLY & ~VK_ENROLL_ONLY & ~VK_RENEW_ONLY,
                      view_field, v, &seen, err) != 0 ||
        mp_require_for_purpose(seen, VK_SIGN_ONLY, v->s.purpose == MC_PURPOSE_SIGN,
                               mc_purpose_name(v->s.purpose), mc_view_keys, VK_COUNT,
                               err) != 0 ||
        mp_require_for_purpose(seen, VK_ENROLL_ONLY, v->s.purpose == MC_PURPOSE_ENROLL,
                               mc_purpose_name(v->s.purpose), mc_view_keys, VK_COUNT,
                               err) != 0 ||
        mp_require_for_purpose(seen, VK_RENEW_ONLY, v->s.purpose == MC_PURPOSE_RENEW,
                               mc_purpose_name(v->s.purpose), mc_view_keys, VK_COUNT,
                               err) != 0)
        goto fail;
    /* (A sign or renew view decoded without its storage: its keys failed
     * in view_sign / view_renew, or are missing.) */
    return 0;
fail:
    view_reset(v, si, ri);
    return -1;
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
    if (mp_decode_map(p, n, pr.keys, 2, MC_MP_ALL(2), pair_field, &pr, NULL, err) != 0) {
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

/* ------------------------------------------------------------------ */
/* Shared with the other message files (mc_proto_int.h)                */
/* ------------------------------------------------------------------ */

int mc_mp_decode_map(const uint8_t *p, size_t n, const char *const *names, size_t count,
                     uint32_t required, mc_mp_field_fn field, void *out, uint32_t *seen,
                     mc_err *err)
{
    return mp_decode_map(p, n, names, count, required, field, out, seen, err);
}

int mc_mp_get_str(const msgpack_object *o, const char *field, char *dst, size_t dstsize,
                  mc_err *err)
{
    return mp_get_str(o, field, dst, dstsize, err);
}

int mc_mp_get_bin(const msgpack_object *o, const char *field, size_t min, size_t max,
                  const uint8_t *base, size_t n, mc_slice *out, mc_err *err)
{
    return mp_get_bin(o, field, min, max, base, n, out, err);
}

int mc_mp_get_version(const msgpack_object *o, mc_err *err)
{
    uint32_t v;
    return mp_get_version(o, &v, err);
}

int mc_mp_get_sid(const msgpack_object *o, char *dst, size_t dstsize, mc_err *err)
{
    return mp_get_sid(o, dst, dstsize, err);
}

int mc_mp_get_fp(const msgpack_object *o, char dst[65], mc_err *err)
{
    if (mp_get_str(o, "fp", dst, 65, err) != 0)
        return -1;
    if (o->via.str.size != 64)
        return mc_err_set(err, 400, "bad_field", "field \"fp\" must be 64 hex");
    for (size_t i = 0; i < 64; i++)
        if (!((dst[i] >= '0' && dst[i] <= '9') || (dst[i] >= 'a' && dst[i] <= 'f')))
            return mc_err_set(err, 400, "bad_field", "field \"fp\" must be 64 hex");
    return 0;
}

int mc_mp_get_chain(const msgpack_object *o, const uint8_t *base, size_t n, mc_slice *chain,
                    size_t *nchain, mc_err *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 ||
        o->via.array.size > MC_CHAIN_MAX)
        return mc_err_set(err, 400, "bad_field",
                          "field \"chain\" must be an array of 1..%d certificates",
                          MC_CHAIN_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++)
        if (mp_get_bin(&o->via.array.ptr[i], "chain", 1, MC_CERT_DER_MAX, base, n, &chain[i],
                       err) != 0)
            return -1;
    *nchain = o->via.array.size;
    return 0;
}

void mc_mp_packer_init(msgpack_packer *pk, mc_buf *out)
{
    msgpack_packer_init(pk, out, mp_write_buf);
}

void mc_mp_str(msgpack_packer *pk, const char *s)
{
    mp_str(pk, s);
}

void mc_mp_bin(msgpack_packer *pk, const void *p, size_t n)
{
    mp_bin(pk, p, n);
}

void mc_mp_fp_chain(msgpack_packer *pk, const char *fp, const mc_slice *chain, size_t n)
{
    mp_str(pk, "fp");
    mp_str(pk, fp);
    mp_str(pk, "chain");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        mp_bin(pk, chain[i].ptr, chain[i].len);
}
