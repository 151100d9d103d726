/*
 * mc_enroll_proto.c — the enrollment messages (see mc_enroll_proto.h).
 *
 * Why a file of its own: enrollment is a message pair of its own (not a QR
 * session answer: nothing is signed but the CSR), and mc_proto.c is big
 * enough. It keeps mc_proto.c's rules by using its walker and field
 * readers (mc_proto_int.h) rather than a second decoder.
 *
 * Design: encoders write through mc_proto.c's packer into an mc_buf
 * (shortest forms; never fail, abort only on out-of-memory in mc_buf). Decoders are
 * one key table and one field handler per message.
 *
 * Non-goals: validating the CSR's DER (the server parses it with OpenSSL,
 * api/enroll.c) or the chain's certificates (the phone's import does).
 */
#include "mc_enroll_proto.h"

#include <msgpack.h>
#include <openssl/crypto.h>
#include <string.h>

#include "mc_apply.h"
#include "mc_crypto.h"
#include "mc_proto_int.h"

int mc_app_id_valid(const char *s, size_t n)
{
    if (s == NULL || n == 0 || n > MC_APP_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

int mc_enroll_code_valid(const char *s, size_t n)
{
    if (s == NULL || n != MC_ENROLL_CODE_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

void mc_enroll_code_hash(const char *app, const char *code, char hex[65])
{
    mc_app_code_hash(app, code, hex); /* the approval's definition (mc_apply.c) */
}

/* ---- encoding ---- */

void mc_enroll_req_encode(const mc_enroll_req *r, mc_buf *out)
{
    msgpack_packer pk;
    mc_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, r->sid[0] != '\0' ? 5 : 4);
    mc_mp_str(&pk, "v");
    msgpack_pack_uint32(&pk, MC_PROTO_VERSION);
    mc_mp_str(&pk, "app");
    mc_mp_str(&pk, r->app);
    mc_mp_str(&pk, "code");
    mc_mp_str(&pk, r->code);
    mc_mp_str(&pk, "csr");
    mc_mp_bin(&pk, r->csr.ptr, r->csr.len);
    if (r->sid[0] != '\0') {
        mc_mp_str(&pk, "sid");
        mc_mp_str(&pk, r->sid);
    }
}

void mc_enroll_reply_encode(const char *app, const char *fp, const mc_slice *chain, size_t n,
                            mc_buf *out)
{
    msgpack_packer pk;
    mc_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, 4);
    mc_mp_str(&pk, "state");
    mc_mp_str(&pk, "issued");
    mc_mp_str(&pk, "app");
    mc_mp_str(&pk, app);
    mc_mp_fp_chain(&pk, fp, chain, n);
}

/* ---- the request ---- */

enum { QK_V, QK_APP, QK_CODE, QK_CSR, QK_SID, QK_COUNT };
static const char *const req_keys[QK_COUNT] = {"v", "app", "code", "csr", "sid"};

static int app_get(const msgpack_object *val, char *dst, size_t size, mc_err *err)
{
    if (mc_mp_get_str(val, "app", dst, size, err) != 0)
        return -1;
    if (!mc_app_id_valid(dst, val->via.str.size))
        return mc_err_set(err, 400, "bad_field",
                          "field \"app\" must be 1..%d of 0-9 and A-Z", MC_APP_ID_MAX);
    return 0;
}

static int req_field(int k, const msgpack_object *val, const uint8_t *p, size_t n, void *out,
                     mc_err *err)
{
    mc_enroll_req *r = out;

    switch (k) {
    case QK_V:
        return mc_mp_get_version(val, err);
    case QK_APP:
        return app_get(val, r->app, sizeof(r->app), err);
    case QK_CODE:
        if (mc_mp_get_str(val, "code", r->code, sizeof(r->code), err) != 0)
            return -1;
        if (!mc_enroll_code_valid(r->code, val->via.str.size))
            return mc_err_set(err, 400, "bad_field", "field \"code\" must be %d digits",
                              MC_ENROLL_CODE_LEN);
        return 0;
    case QK_CSR:
        return mc_mp_get_bin(val, "csr", 1, MC_ENROLL_CSR_MAX, p, n, &r->csr, err);
    case QK_SID:
        return mc_mp_get_sid(val, r->sid, sizeof(r->sid), err);
    default:
        return mc_err_set(err, 500, "internal", "unhandled enroll field");
    }
}

int mc_enroll_req_decode(const uint8_t *p, size_t n, mc_enroll_req *r, mc_err *err)
{
    memset(r, 0, sizeof(*r));
    if (mc_mp_decode_map(p, n, req_keys, QK_COUNT,
                         MC_MP_ALL(QK_COUNT) & ~(UINT32_C(1) << QK_SID), req_field, r, NULL,
                         err) != 0) {
        OPENSSL_cleanse(r, sizeof(*r));
        return -1;
    }
    return 0;
}

/* ---- the reply ---- */

enum { YK_STATE, YK_APP, YK_FP, YK_CHAIN, YK_COUNT };
static const char *const reply_keys[YK_COUNT] = {"state", "app", "fp", "chain"};

static int reply_field(int k, const msgpack_object *val, const uint8_t *p, size_t n,
                       void *out, mc_err *err)
{
    mc_enroll_reply *r = out;

    switch (k) {
    case YK_STATE:
        if (mc_mp_get_str(val, "state", r->state, sizeof(r->state), err) != 0)
            return -1;
        if (strcmp(r->state, "issued") != 0)
            return mc_err_set(err, 400, "bad_field", "field \"state\" must be issued");
        return 0;
    case YK_APP:
        return app_get(val, r->app, sizeof(r->app), err);
    case YK_FP:
        return mc_mp_get_fp(val, r->fp, err);
    case YK_CHAIN:
        return mc_mp_get_chain(val, p, n, r->chain, &r->nchain, err);
    default:
        return mc_err_set(err, 500, "internal", "unhandled enroll reply field");
    }
}

int mc_enroll_reply_decode(const uint8_t *p, size_t n, mc_enroll_reply *r, mc_err *err)
{
    memset(r, 0, sizeof(*r));
    if (mc_mp_decode_map(p, n, reply_keys, YK_COUNT, MC_MP_ALL(YK_COUNT), reply_field, r, NULL,
                         err) != 0) {
        memset(r, 0, sizeof(*r));
        return -1;
    }
    return 0;
}
