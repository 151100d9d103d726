/*
 * mc_store_fields.c — table-driven mapping between hashes and structs, and
 * the reply shape checks every mapper uses (see mc_store_int.h).
 *
 * Cost: O(fields x rows) string compares per hash read; the tables have
 * at most ~20 rows, so this is a few hundred nanoseconds.
 */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"

int mc_reply_is_array(const redisReply *r, size_t n)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY && (n == 0 || r->elements == n);
}

int mc_reply_is_str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

int mc_reply_is_int(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_INTEGER;
}

void mc_reply_copy(char *dst, size_t size, const redisReply *r)
{
    size_t n = r->len < size - 1 ? r->len : size - 1;
    memcpy(dst, r->str, n);
    dst[n] = '\0';
}

static const mc_field *find(const mc_field *tab, size_t n, const redisReply *k)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(tab[i].name) == k->len && memcmp(tab[i].name, k->str, k->len) == 0)
            return &tab[i];
    return NULL;
}

int mc_fields_read(const mc_field *tab, size_t n, const redisReply *r, void *out)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        return MC_REPLY_SHAPE;
    size_t size = 0;
    for (size_t i = 0; i < n; i++)
        if (tab[i].off + tab[i].size > size)
            size = tab[i].off + tab[i].size;
    memset(out, 0, size);
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return MC_REPLY_SHAPE;
        const mc_field *f = find(tab, n, k);
        if (f == NULL)
            continue;
        char *dst = (char *)out + f->off;
        if (f->type == MC_F_STR) {
            mc_reply_copy(dst, f->size, v);
        } else {
            int64_t x = strtoll(v->str, NULL, 10);
            memcpy(dst, &x, sizeof(x));
        }
    }
    return 0;
}

void mc_fields_add(mc_cmd *c, const mc_field *tab, size_t n, const void *in)
{
    for (size_t i = 0; i < n; i++) {
        const char *src = (const char *)in + tab[i].off;
        mc_cmd_add(c, tab[i].name);
        if (tab[i].type == MC_F_STR) {
            mc_cmd_addn(c, src, strnlen(src, tab[i].size));
        } else {
            int64_t x;
            memcpy(&x, src, sizeof(x));
            mc_cmd_addi(c, (long long)x);
        }
    }
}
