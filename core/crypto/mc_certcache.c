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
 * different chains share a key. Hashes the caller's bytes in place (no
 * copy: this runs on every phone answer). n <= MC_CHAIN_MAX. */
static void chain_key(const mc_slice *chain, size_t n, uint8_t key[32])
{
    uint8_t hdr[1 + 8 * MC_CHAIN_MAX];
    mc_slice parts[1 + 2 * MC_CHAIN_MAX];
    size_t np = 0;

    hdr[0] = (uint8_t)n;
    parts[np++] = (mc_slice){hdr, 1};
    for (size_t i = 0; i < n; i++) {
        uint8_t *h = hdr + 1 + 8 * i;
        uint64_t len = chain[i].len;
        for (int k = 0; k < 8; k++)
            h[k] = (uint8_t)(len >> (56 - 8 * k));
        parts[np++] = (mc_slice){h, 8};
        parts[np++] = chain[i];
    }
    mc_sha256_parts(parts, np, key);
}

/* Only chains of a shape mc_cert_verify_chain could accept are looked up;
 * anything else goes straight to it for the refusal (and is never hashed). */
static int cacheable(const mc_trust *t, const mc_slice *chain, size_t n)
{
    if (t == NULL || chain == NULL || n == 0 || n > MC_CHAIN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (chain[i].ptr == NULL || chain[i].len == 0 ||
            chain[i].len > MC_CERT_DER_MAX)
            return 0;
    return 1;
}

int mc_certcache_verify(mc_certcache *c, const mc_trust *t, const mc_slice *chain, size_t n,
                        int64_t now, mc_cert_info *info, EVP_PKEY **leaf_pub, mc_err *err)
{
    uint8_t key[32];
    uint64_t h;
    entry *e;

    if (leaf_pub != NULL)
        *leaf_pub = NULL;
    if (!cacheable(t, chain, n))
        return mc_cert_verify_chain(t, chain, n, now, info, leaf_pub, err);
    chain_key(chain, n, key);
    memcpy(&h, key, sizeof(h));
    e = &c->slots[h % c->nslots];
    if (e->used && CRYPTO_memcmp(e->key, key, 32) == 0 && now >= e->info.not_before &&
        now <= e->info.path_not_after && now >= e->verified_at &&
        now - e->verified_at < MC_CERTCACHE_TTL) {
        c->hits++;
    } else {
        mc_cert_info ci;
        EVP_PKEY *pub = NULL;

        c->misses++;
        if (mc_cert_verify_chain(t, chain, n, now, &ci, &pub, err) != 0)
            return -1; /* a failure leaves the slot's entry alone */
        EVP_PKEY_free(e->pub);
        memcpy(e->key, key, 32);
        e->used = 1;
        e->verified_at = now;
        e->info = ci;
        e->pub = pub; /* the cache's reference */
    }
    if (leaf_pub != NULL) {
        if (!EVP_PKEY_up_ref(e->pub))
            return mc_err_set(err, 500, "internal", "EVP_PKEY_up_ref failed");
        *leaf_pub = e->pub;
    }
    if (info != NULL)
        *info = e->info;
    return 0;
}

void mc_certcache_stats(const mc_certcache *c, unsigned long *hits, unsigned long *misses)
{
    *hits = c->hits;
    *misses = c->misses;
}
