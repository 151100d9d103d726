/*
 * mc_certcache.c — see mc_certcache.h.
 */
#include "mc_certcache.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint8_t key[32];
    int used;
    int64_t verified_at;
    mc_cert_info info;
    EVP_PKEY *pub;
} entry;

struct mc_certcache {
    entry *slots;
    size_t nslots;
    unsigned long hits, misses;
};

mc_certcache *mc_certcache_new(size_t slots)
{
    mc_certcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->nslots = slots ? slots : 1;
    c->slots = calloc(c->nslots, sizeof(entry));
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void mc_certcache_free(mc_certcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        EVP_PKEY_free(c->slots[i].pub);
    free(c->slots);
    free(c);
}

/* SHA-256 over count, then each certificate's length and bytes: no two
 * different chains share a key. */
static void chain_key(const mc_slice *chain, size_t n, uint8_t key[32])
{
    mc_buf b = {0};
    uint8_t hdr[8];
    hdr[0] = (uint8_t)n;
    mc_buf_append(&b, hdr, 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t len = chain[i].len;
        for (int k = 0; k < 8; k++)
            hdr[k] = (uint8_t)(len >> (56 - 8 * k));
        mc_buf_append(&b, hdr, 8);
        mc_buf_append(&b, chain[i].ptr, chain[i].len);
    }
    mc_sha256(b.ptr, b.len, key);
    mc_buf_free(&b);
}

int mc_certcache_verify(mc_certcache *c, const mc_trust *t, const mc_slice *chain, size_t n,
                        int64_t now, mc_cert_info *info, EVP_PKEY **leaf_pub, mc_err *err)
{
    if (chain == NULL || n == 0 || n > MC_CHAIN_MAX)
        return mc_cert_verify_chain(t, chain, n, now, info, leaf_pub, err);
    for (size_t i = 0; i < n; i++)
        if (chain[i].len == 0 || chain[i].len > MC_CERT_DER_MAX)
            return mc_cert_verify_chain(t, chain, n, now, info, leaf_pub, err);
    uint8_t key[32];
    chain_key(chain, n, key);
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    entry *e = &c->slots[h % c->nslots];
    if (e->used && CRYPTO_memcmp(e->key, key, 32) == 0 && now >= e->info.not_before &&
        now <= e->info.not_after && now >= e->verified_at &&
        now - e->verified_at < MC_CERTCACHE_TTL) {
        if (leaf_pub != NULL) {
            if (!EVP_PKEY_up_ref(e->pub))
                return mc_err_set(err, 500, "internal", "EVP_PKEY_up_ref failed");
            *leaf_pub = e->pub;
        }
        if (info != NULL)
            *info = e->info;
        c->hits++;
        return 0;
    }
    c->misses++;
    mc_cert_info ci;
    EVP_PKEY *pub = NULL;
    if (mc_cert_verify_chain(t, chain, n, now, &ci, &pub, err) != 0)
        return -1;
    EVP_PKEY_free(e->pub);
    memcpy(e->key, key, 32);
    e->used = 1;
    e->verified_at = now;
    e->info = ci;
    e->pub = pub; /* the cache's reference */
    if (info != NULL)
        *info = ci;
    if (leaf_pub != NULL) {
        if (!EVP_PKEY_up_ref(pub))
            return mc_err_set(err, 500, "internal", "EVP_PKEY_up_ref failed");
        *leaf_pub = pub;
    }
    return 0;
}

void mc_certcache_stats(const mc_certcache *c, unsigned long *hits, unsigned long *misses)
{
    *hits = c->hits;
    *misses = c->misses;
}
