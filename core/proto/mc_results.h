/*
 * mc_results.h — the results a session's answer produces, as bytes:
 *  - a sign session's results (one CMS SignedData per document), kept in
 *    its record: a msgpack array of bin, in the documents' order.
 *    Server-internal (never on the wire), but the record is read back from
 *    Redis, so the decoder is strict all the same;
 *  - a renew session's reply to the phone (PROTOCOL.md §10.4): on approval
 *    {"state": "approved", "account": str, "fp": str (64 hex, the NEW
 *    certificate), "chain": [bin leaf DER, bin CA DER]}; on a reject the
 *    plain {"state": "rejected", "account": ""} of mc_result_encode. The
 *    phone decodes it on the strict path of every phone message
 *    (mc_proto_int.h).
 */
#ifndef MC_RESULTS_H
#define MC_RESULTS_H

#include <stddef.h>

#include "mc_buf.h"
#include "mc_err.h"
#include "mc_proto.h"

/* Append the array of the n blobs to out. Never fails (aborts on OOM). */
void mc_results_encode(const mc_buf *blobs, size_t n, mc_buf *out);
/* Slices into p of up to max blobs; *count receives how many. 0 / -1 (not
 * exactly one array of bins, or more than max). */
int mc_results_decode(const uint8_t *p, size_t n, mc_slice *out, size_t max, size_t *count);

/* The renew reply, appended to out. result "approved": the 4 keys, fp_hex
 * the new certificate's fingerprint (64 characters), chain[0..n) its DER
 * chain, leaf first; any other result (i.e. "rejected"): {state: result,
 * account} only, fp_hex and chain unused. 0, or -1 with nothing written
 * for an approval whose fp_hex is not 64 characters or whose n is not
 * 1..MC_CHAIN_MAX (a caller's bug). Aborts only on out-of-memory. */
int mc_result_renew_encode(const char *result, const char *account, const char *fp_hex,
                           const mc_slice *chain, size_t n, mc_buf *out);

/* What the phone gets back. Slices point into the decoded input. */
typedef struct mc_renew_result {
    char state[16];                /* "approved" | "rejected" */
    char account[MC_ACCOUNT_MAX + 1];
    char fp[65];                   /* approved: 64 lower-case hex; rejected: "" */
    mc_slice chain[MC_CHAIN_MAX];  /* approved: 1..MC_CHAIN_MAX bins of 1..MC_CERT_DER_MAX */
    size_t nchain;                 /* rejected: 0 */
} mc_renew_result;

/* Phone side, strict: state "approved" with fp and chain (all 4 keys), or
 * "rejected" without them (2 keys). 0 / -1 (bad_msgpack, too_large,
 * bad_field naming the field); *out zeroed on -1. */
int mc_result_renew_decode(const uint8_t *p, size_t n, mc_renew_result *out, mc_err *err);

#endif
