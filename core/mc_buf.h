/*
 * mc_buf.h — length-carrying byte buffers.
 *
 * mc_slice is a borrowed view ({ptr, len}); whoever hands one out says how
 * long it stays valid. mc_buf is an owned, growable buffer: mc_buf_free()
 * releases it (and accepts a zeroed or already freed buffer). Peer data is
 * never NUL-terminated by assumption: always use the length.
 *
 * Functions that may abort: mc_buf_append/mc_buf_reserve abort on
 * out-of-memory (the only abort in this module).
 */
#ifndef MC_BUF_H
#define MC_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct mc_slice {
    const uint8_t *ptr;
    size_t len;
} mc_slice;

typedef struct mc_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
} mc_buf;

#define MC_SLICE_STR(s) ((mc_slice){(const uint8_t *)(s), strlen(s)})

void mc_buf_reserve(mc_buf *b, size_t extra);          /* aborts on OOM */
void mc_buf_append(mc_buf *b, const void *p, size_t n); /* aborts on OOM */
void mc_buf_free(mc_buf *b);                           /* wipes nothing */
void mc_buf_free_secure(mc_buf *b);                    /* OPENSSL_cleanse first */

/* 1 if equal (same length, same bytes); 0 otherwise. Not constant time. */
int mc_slice_eq_str(mc_slice s, const char *z);

#endif
