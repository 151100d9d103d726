/*
 * mc_proto_int.h — the strict decoding path of mc_proto.c, shared with the
 * other message files of core/proto (mc_enroll_proto.c), so that every
 * message from a phone is decoded the same way: mc_mp_check first (capped
 * at MC_PHONE_BODY_MAX), exactly one map, every key of the message's table
 * at most once, unknown keys refused, typed readers that reject rather
 * than truncate. Not for use outside core/proto.
 */
#ifndef MC_PROTO_INT_H
#define MC_PROTO_INT_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_err.h"

/* One value of a message map: k is the key's index in the message's key
 * table, [p, p+n) the whole input (for slices into it), out the message. */
typedef int (*mc_mp_field_fn)(int k, const msgpack_object *val, const uint8_t *p, size_t n,
                              void *out, mc_err *err);

/* The walk of a whole message [p, p+n): checked, unpacked, a map whose keys
 * are names[0..count) (count <= 32), each at most once, each value through
 * field(); every key of `required` (bit i = names[i]) must come. *seen
 * (may be NULL) tells which keys came. 0 / -1 with err (bad_msgpack,
 * too_large, bad_field, or the field handler's). */
int mc_mp_decode_map(const uint8_t *p, size_t n, const char *const *names, size_t count,
                     uint32_t required, mc_mp_field_fn field, void *out, uint32_t *seen,
                     mc_err *err);
/* All keys of a table of count keys. */
#define MC_MP_ALL(count) ((UINT32_C(1) << (count)) - 1)

/* A str copied into dst (NUL-terminated); too long or holding NUL: bad_field. */
int mc_mp_get_str(const msgpack_object *o, const char *field, char *dst, size_t dstsize,
                  mc_err *err);
/* A bin of min..max bytes as a slice into the input [base, base+n). */
int mc_mp_get_bin(const msgpack_object *o, const char *field, size_t min, size_t max,
                  const uint8_t *base, size_t n, mc_slice *out, mc_err *err);
/* "v": exactly MC_PROTO_VERSION (else bad_version; not an integer: bad_field). */
int mc_mp_get_version(const msgpack_object *o, mc_err *err);
/* A session id (mc_sid_valid) into dst (>= MC_SID_LEN + 1 bytes). */
int mc_mp_get_sid(const msgpack_object *o, char *dst, size_t dstsize, mc_err *err);

/* The two keys of a reply that hands a certificate over (mc_results.h's
 * renew result, mc_enroll_proto.h's reply). "fp": exactly 64 lower-case
 * hex into dst[65]. "chain": an array of 1..MC_CHAIN_MAX bins of
 * 1..MC_CERT_DER_MAX bytes, slices into the input [base, base+n), into
 * chain[MC_CHAIN_MAX] and *nchain. 0 / -1 with err (bad_field). */
int mc_mp_get_fp(const msgpack_object *o, char dst[65], mc_err *err);
int mc_mp_get_chain(const msgpack_object *o, const uint8_t *base, size_t n, mc_slice *chain,
                    size_t *nchain, mc_err *err);

/* The encoders' side: a packer writing into an mc_buf (never fails; mc_buf
 * aborts on out-of-memory), our own NUL-terminated strings (NULL as ""),
 * and bins. */
void mc_mp_packer_init(msgpack_packer *pk, mc_buf *out);
void mc_mp_str(msgpack_packer *pk, const char *s);
void mc_mp_bin(msgpack_packer *pk, const void *p, size_t n);
/* The pair "fp": fp, "chain": [bin...] (two entries of the map the caller
 * opened), as mc_mp_get_fp and mc_mp_get_chain read them. */
void mc_mp_fp_chain(msgpack_packer *pk, const char *fp, const mc_slice *chain, size_t n);

#endif
