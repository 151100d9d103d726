/*
 * mc_results.c — see mc_results.h. The sign results' decoder walks the
 * bytes itself (array header, then bin8/16/32 headers), so no allocation
 * and no msgpack-c zone. The renew reply, which comes from the network to
 * the phone, goes through mc_proto_int.h's strict map walk like every
 * other phone message; its keys depend on its state, judged after the
 * walk (map order is the sender's).
 */
#include "mc_results.h"

#include <msgpack.h>
#include <string.h>

#include "mc_proto_int.h"

void mc_results_encode(const mc_buf *blobs, size_t n, mc_buf *out)
{
    msgpack_packer pk;
    mc_mp_packer_init(&pk, out);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        mc_mp_bin(&pk, blobs[i].ptr, blobs[i].len);
}

/* A big-endian unsigned of k bytes at p. */
static size_t be(const uint8_t *p, size_t k)
{
    size_t v = 0;
    for (size_t i = 0; i < k; i++)
        v = v << 8 | p[i];
    return v;
}

int mc_results_decode(const uint8_t *p, size_t n, mc_slice *out, size_t max, size_t *count)
{
    size_t off = 0, cnt;
    *count = 0;
    if (n < 1)
        return -1;
    if ((p[0] & 0xf0) == 0x90) {
        cnt = p[0] & 0x0f;
        off = 1;
    } else if (p[0] == 0xdc && n >= 3) {
        cnt = be(p + 1, 2);
        off = 3;
    } else {
        return -1;
    }
    if (cnt > max)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        size_t k;
        if (off >= n)
            return -1;
        switch (p[off]) {
        case 0xc4: k = 1; break;
        case 0xc5: k = 2; break;
        case 0xc6: k = 4; break;
        default: return -1;
        }
        if (n - off - 1 < k)
            return -1;
        size_t len = be(p + off + 1, k);
        off += 1 + k;
        if (len > n - off)
            return -1;
        out[i] = (mc_slice){p + off, len};
        off += len;
    }
    if (off != n)
        return -1;
    *count = cnt;
    return 0;
}

/* ---- the renew reply (PROTOCOL.md §10.4) ---- */

int mc_result_renew_encode(const char *result, const char *account, const char *fp_hex,
                           const mc_slice *chain, size_t n, mc_buf *out)
{
    int approved = result != NULL && strcmp(result, "approved") == 0;
    if (approved && (fp_hex == NULL || strlen(fp_hex) != 64 || n < 1 || n > MC_CHAIN_MAX))
        return -1;
    msgpack_packer pk;
    mc_mp_packer_init(&pk, out);
    msgpack_pack_map(&pk, approved ? 4 : 2);
    mc_mp_str(&pk, "state");
    mc_mp_str(&pk, result);
    mc_mp_str(&pk, "account");
    mc_mp_str(&pk, account);
    if (!approved)
        return 0;
    mc_mp_fp_chain(&pk, fp_hex, chain, n);
    return 0;
}

enum { RR_STATE, RR_ACCOUNT, RR_FP, RR_CHAIN, RR_COUNT };
static const char *const renew_result_keys[RR_COUNT] = {"state", "account", "fp", "chain"};
#define RR_APPROVED_ONLY ((UINT32_C(1) << RR_FP) | (UINT32_C(1) << RR_CHAIN))

static int renew_result_field(int k, const msgpack_object *val, const uint8_t *p, size_t n,
                              void *out, mc_err *err)
{
    mc_renew_result *r = out;

    switch (k) {
    case RR_STATE:
        if (mc_mp_get_str(val, "state", r->state, sizeof(r->state), err) != 0)
            return -1;
        if (strcmp(r->state, "approved") != 0 && strcmp(r->state, "rejected") != 0)
            return mc_err_set(err, 400, "bad_field",
                              "field \"state\" must be approved or rejected");
        return 0;
    case RR_ACCOUNT:
        return mc_mp_get_str(val, "account", r->account, sizeof(r->account), err);
    case RR_FP:
        return mc_mp_get_fp(val, r->fp, err);
    case RR_CHAIN:
        return mc_mp_get_chain(val, p, n, r->chain, &r->nchain, err);
    default:
        return mc_err_set(err, 500, "internal", "unhandled renew result field");
    }
}

int mc_result_renew_decode(const uint8_t *p, size_t n, mc_renew_result *out, mc_err *err)
{
    uint32_t seen = 0;
    memset(out, 0, sizeof(*out));
    if (mc_mp_decode_map(p, n, renew_result_keys, RR_COUNT,
                         MC_MP_ALL(RR_COUNT) & ~RR_APPROVED_ONLY, renew_result_field, out,
                         &seen, err) != 0)
        goto fail;
    int approved = strcmp(out->state, "approved") == 0;
    for (int k = RR_FP; k <= RR_CHAIN; k++) {
        int has = (seen & (UINT32_C(1) << k)) != 0;
        if (approved && !has) {
            mc_err_set(err, 400, "bad_field", "field \"%s\" is missing (state approved)",
                       renew_result_keys[k]);
            goto fail;
        }
        if (!approved && has) {
            mc_err_set(err, 400, "bad_field", "field \"%s\" is not allowed (state %s)",
                       renew_result_keys[k], out->state);
            goto fail;
        }
    }
    return 0;
fail:
    memset(out, 0, sizeof(*out));
    return -1;
}
