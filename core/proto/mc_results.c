/*
 * mc_results.c — see mc_results.h. Walks the bytes itself (array header,
 * then bin8/16/32 headers), so no allocation and no msgpack-c zone.
 */
#include "mc_results.h"

#include <msgpack.h>
#include <string.h>

static int write_buf(void *data, const char *buf, size_t len)
{
    mc_buf_append((mc_buf *)data, buf, len);
    return 0;
}

void mc_results_encode(const mc_buf *blobs, size_t n, mc_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, write_buf);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_bin(&pk, blobs[i].len);
        msgpack_pack_bin_body(&pk, blobs[i].ptr, blobs[i].len);
    }
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
