/*
 * mc_store_int.h — what the record families (mc_store_sess.c, ...) use of
 * the transport: a command under construction and one call.
 *
 * A family function builds an mc_cmd (keys built into the caller's stack
 * buffers are fine: the command is formatted before mc_store_call returns),
 * names a reply mapper, and hands the caller's `out` through. The mapper
 * sees only replies in order and not errors (error replies are mapped to
 * wire codes by the transport, mc_store_err_map); it returns 0, -1 with err
 * set (a refusal carried in a valid reply), or MC_REPLY_SHAPE when the reply
 * is not what it expects — then the connection is dropped, because the
 * order of replies is in doubt.
 */
#ifndef MC_STORE_INT_H
#define MC_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mc_store.h"

#define MC_CMD_MAX 64
#define MC_REPLY_SHAPE (-2)

typedef struct mc_cmd {
    int argc;
    const char *argv[MC_CMD_MAX];
    size_t len[MC_CMD_MAX];
    char nums[MC_CMD_MAX][24];
} mc_cmd;

/* Start "FCALL fn nkeys" (or FCALL_RO when ro): keys and args follow. */
void mc_cmd_fcall(mc_cmd *c, const char *fn, int nkeys, int ro);
/* Start a plain command. */
void mc_cmd_plain(mc_cmd *c, const char *name);
/* Append an argument. Aborts if more than MC_CMD_MAX (a bug, not input). */
void mc_cmd_add(mc_cmd *c, const char *s);
void mc_cmd_addn(mc_cmd *c, const void *p, size_t n);
void mc_cmd_addi(mc_cmd *c, long long v);
struct mc_cert_rec;
/* Append a certificate record's 9 fields in the order lua/mcert.lua's
 * cert_record takes them: serial, uscc, cn, org_name, issuer, alg,
 * not_before, not_after, der. */
void mc_cmd_add_cert(mc_cmd *c, const struct mc_cert_rec *cr);
/* Append the two keys cert_record writes besides the certificate: its
 * serial index and its organisation's set of certificates, built in ks and
 * ko. */
void mc_cmd_add_cert_keys(mc_cmd *c, const struct mc_cert_rec *cr, char ks[80], char ko[64]);
/* Append "{mc}:<kind>:<id>" built in buf (>= 16 + strlen(kind) + strlen(id)). */
const char *mc_key(char *buf, size_t size, const char *kind, const char *id);

typedef int (*mc_reply_fn)(const struct redisReply *r, void *out, mc_err *err);

/* Send c; when its reply comes, parse it into out and call cb. parse may be
 * NULL (any non-error reply is success). */
void mc_store_call(mc_store *st, const mc_cmd *c, mc_reply_fn parse, void *out, mc_store_cb cb,
                   void *privdata);

/* The same with an argv built by the caller (long key lists). */
void mc_store_callv(mc_store *st, int argc, const char *const *argv, const size_t *lens,
                    mc_reply_fn parse, void *out, mc_store_cb cb, void *privdata);

/* The i-th key of a many-key call, written into buf[size] (size is 64:
 * mc_key's form, for the ids of the record families). arg is the
 * caller's, handed through. */
typedef void (*mc_key_at_fn)(const void *arg, size_t i, char *buf, size_t size);

/* Send "FCALL_RO fn n key_0 ... key_n-1", the keys written by key_at,
 * then as mc_store_call: one call for a read of n keys (hgetall_many, a
 * list's rows), longer than an mc_cmd holds. O(n) memory, freed before it
 * returns (the command is formatted by then). Aborts on out of memory. */
void mc_store_fcall_keys(mc_store *st, const char *fn, size_t n, mc_key_at_fn key_at,
                         const void *arg, mc_reply_fn parse, void *out, mc_store_cb cb,
                         void *privdata);

/* An error reply's text -> wire code and status (unknown -> 503). */
void mc_store_err_map(const char *text, size_t len, mc_err *err);

/* Reading a hash (a flat field/value array) into a struct by a table:
 * one row per member, named as the hash field. */
typedef enum mc_ftype { MC_F_STR, MC_F_INT } mc_ftype;
typedef struct mc_field {
    const char *name;
    mc_ftype type;
    size_t off;
    size_t size;   /* MC_F_STR: the array's size */
} mc_field;
#define MC_FSTR(T, m) {#m, MC_F_STR, offsetof(T, m), sizeof(((T *)0)->m)}
#define MC_FINT(T, m) {#m, MC_F_INT, offsetof(T, m), sizeof(int64_t)}
#define MC_NFIELDS(tab) (sizeof(tab) / sizeof((tab)[0]))

/* Zero the struct, then fill it from r (an array of an even number of
 * strings; unknown fields are ignored). 0, or MC_REPLY_SHAPE. */
int mc_fields_read(const mc_field *tab, size_t n, const struct redisReply *r, void *out);
/* Append field/value pairs of every row of the table, from the struct. */
void mc_fields_add(mc_cmd *c, const mc_field *tab, size_t n, const void *in);

/* Reply shape checks used by the mappers. */
int mc_reply_is_array(const struct redisReply *r, size_t n);      /* n = 0: any length */
int mc_reply_is_str(const struct redisReply *r);
int mc_reply_is_int(const struct redisReply *r);
/* Copy a string reply into dst[size] (truncating). */
void mc_reply_copy(char *dst, size_t size, const struct redisReply *r);

/* Record readers shared by the families (mc_store_rec.c): an account hash
 * (0 / MC_REPLY_SHAPE) and a certificate hash (an mc_reply_fn into an
 * mc_cert_rec). */
struct mc_account;
int mc_rec_read_account(const struct redisReply *r, struct mc_account *out);
int mc_rec_read_cert(const struct redisReply *r, void *out, mc_err *err);

/* The QR session's fields as sess_open (lua/mcert.lua) stores them, for
 * the functions that open a session of their own kind (enroll_open):
 * appended to c as field/value pairs pointing into the returned storage,
 * which the caller free()s after mc_store_call. mc_sess_read_open maps
 * sess_open's reply into an mc_open_result (mc_store_sess.h). Both in
 * mc_store_sess.c. */
struct mc_session;
void *mc_cmd_add_sess_open(mc_cmd *c, const struct mc_session *s, const uint8_t poll_hash[32],
                           const char *requester_name, const char *org, const char *org_name);
int mc_sess_read_open(const struct redisReply *r, void *out, mc_err *err);
/* An answer's reply {'ok'|'dup', result, account} into an mc_answer_res
 * (mc_store_sess.h), for the functions that answer a session of their own
 * kind (renew_commit, renew_reject). In mc_store_sess.c. */
int mc_sess_read_answer(const struct redisReply *r, void *out, mc_err *err);

/* An order hash (pay.lua's record) into an mc_order (mc_store_pay.h), for
 * the families that read orders with what they pay (renewals). 0 /
 * MC_REPLY_SHAPE. In mc_store_pay.c. */
struct mc_order;
int mc_order_read(const struct redisReply *hash, struct mc_order *o);

/* The Functions library built into this binary (generated from lua/). */
extern const char mc_lua_src[];
extern const size_t mc_lua_len;
extern const char mc_lua_version[];

#endif
