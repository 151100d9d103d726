/*
 * mc_certcache.h — a per-event-loop memo of chains that already verified.
 *
 * Why: every phone answer carries its certificate chain, and checking it
 * costs a full X.509 parse and the CA's signature verification (as much as
 * the answer's own signature). The same phone sends the same bytes every
 * time, so a verified chain is remembered, keyed by SHA-256 over the exact
 * chain bytes.
 *
 * Rules: only successful verifications are remembered; an entry is used only
 * from the leaf's notBefore until the earliest notAfter of the whole
 * verified path (leaf, intermediates and the anchor: mc_cert_info's
 * path_not_after), and for at most MC_CERTCACHE_TTL seconds after it was
 * verified (so a changed trust store is noticed within that time);
 * revocation is not this module's business (the store's records are
 * checked on every answer).
 *
 * Not thread-safe: one cache per event loop. Direct-mapped, fixed size:
 * O(1) lookups, a colliding chain simply replaces the older entry.
 */
#ifndef MC_CERTCACHE_H
#define MC_CERTCACHE_H

#include "mc_x509.h"

#define MC_CERTCACHE_TTL 600

typedef struct mc_certcache mc_certcache;

mc_certcache *mc_certcache_new(size_t slots); /* NULL on OOM */
void mc_certcache_free(mc_certcache *c);

/* Same contract as mc_cert_verify_chain (leaf_pub, when non-NULL, receives a
 * new reference the caller frees; *leaf_pub is NULL on failure). A chain of
 * a shape the full check refuses outright (count, NULL or empty or
 * oversized slice) and a NULL trust store bypass the cache. A hit costs one
 * SHA-256 over the chain bytes (hashed in place). */
int mc_certcache_verify(mc_certcache *c, const mc_trust *t, const mc_slice *chain, size_t n,
                        int64_t now, mc_cert_info *info, EVP_PKEY **leaf_pub, mc_err *err);

/* Hits and misses since creation (benchmarks, health). */
void mc_certcache_stats(const mc_certcache *c, unsigned long *hits, unsigned long *misses);

#endif
