/*
 * mc_buf.c — see mc_buf.h. Doubling growth; abort on OOM (the only policy
 * that keeps every caller simple; an allocation failure here means the
 * process cannot do anything useful anyway).
 */
#include "mc_buf.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mc_buf_reserve(mc_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t need = b->len + extra;
    if (need < b->len) {
        fputs("mc_buf: size overflow\n", stderr);
        abort();
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(b->ptr, cap);
    if (p == NULL) {
        fputs("mc_buf: out of memory\n", stderr);
        abort();
    }
    b->ptr = p;
    b->cap = cap;
}

void mc_buf_append(mc_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    mc_buf_reserve(b, n);
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
}

void mc_buf_free(mc_buf *b)
{
    if (b == NULL)
        return;
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

void mc_buf_free_secure(mc_buf *b)
{
    if (b == NULL)
        return;
    if (b->ptr != NULL)
        OPENSSL_cleanse(b->ptr, b->cap);
    mc_buf_free(b);
}

int mc_slice_eq_str(mc_slice s, const char *z)
{
    size_t n = strlen(z);
    return s.len == n && (n == 0 || memcmp(s.ptr, z, n) == 0);
}
