/*
 * mc_store_cert.h — the key history (PROTOCOL.md §10.8): a certificate
 * record with its renewal links, read by fingerprint or by serial, and the
 * chain of renewals walked from one certificate. The function is in
 * lua/cert.lua.
 *
 * Keys (hash tag {mc}; all written elsewhere):
 *   cert:<fp>     the record (mcert.lua's cert_record; renew.lua adds prev,
 *                 next, renewal, superseded_at, superseded_by; ca.lua's
 *                 revoke adds revoked_at, reason)
 *   serial:<HEX>  -> fp (lua/ca.lua's header)
 *
 * Cost: one round trip per record read. A walk is one round trip per
 * certificate in the chain (every key a Function touches comes in KEYS, and
 * the next key is only known from the record before it); renewals are
 * years apart, so chains are short, and a walk stops at MC_CERT_WALK_MAX.
 *
 * Every call is async on an async store (mc_store.h): out and privdata
 * live until cb. Free out with its *_free also after an error.
 */
#ifndef MC_STORE_CERT_H
#define MC_STORE_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_store.h"
#include "mc_store_rec.h"

#define MC_CERT_WALK_MAX 64

/* What a record says about its place in the history, beside mc_cert_rec. */
typedef struct mc_cert_links {
    char prev[65];                /* the certificate this one renewed, "" if first */
    char next[65];                /* its successor, "" if none */
    char superseded_by[65];
    char renewal[33];             /* the renewal that issued it, "" if none */
    char reason[4];               /* revoke's RFC 5280 reason as stored, "" if none */
} mc_cert_links;

typedef struct mc_cert_hist {
    mc_cert_rec c;                /* c.fp "" when there is no such record */
    mc_cert_links l;
    mc_buf der;                   /* owned; filled only when asked (with_der) */
} mc_cert_hist;
void mc_cert_hist_free(mc_cert_hist *h);

/* One record by fingerprint (64 hex); with_der: its DER too. A missing
 * record is not an error (out->c.fp ""). */
void mc_store_cert_view(mc_store *st, const char *fp, int with_der, mc_cert_hist *out,
                        mc_store_cb cb, void *privdata);

/* One record by serial (upper-case hex, no leading zero octets:
 * mc_serial_norm, mc_x509.h): the serial index, then the record (two round trips).
 * Neither there: out->c.fp "". */
void mc_store_cert_by_serial(mc_store *st, const char *serial, int with_der, mc_cert_hist *out,
                             mc_store_cb cb, void *privdata);

/* A walk along the renewal links from fp: `prev` (older: the key history,
 * newest first) or `next` (newer: to the current certificate), fp's record
 * first, at most max (<= MC_CERT_WALK_MAX) records, no DER. It ends at a
 * link that is empty, names no record, or names one already seen. fp ""
 * or unrecorded: n = 0 (fp "": cb runs before this returns). out must be
 * zeroed (or from an earlier walk); after an error it holds the records
 * read before it. */
typedef enum mc_cert_dir { MC_CERT_PREV, MC_CERT_NEXT } mc_cert_dir;
typedef struct mc_cert_walk {
    mc_cert_hist v[MC_CERT_WALK_MAX];
    size_t n;
    /* internal state of the steps */
    mc_store *st;
    mc_cert_dir dir;
    size_t max;
    mc_cert_hist cur;
    mc_store_cb cb;
    void *privdata;
} mc_cert_walk;
void mc_store_cert_walk(mc_store *st, const char *fp, mc_cert_dir dir, size_t max,
                        mc_cert_walk *out, mc_store_cb cb, void *privdata);
void mc_cert_walk_free(mc_cert_walk *w);

#endif
