/*
 * mc_results.h — how a sign session's results (one CMS SignedData per
 * document) are kept in its record: a msgpack array of bin, in the
 * documents' order. Server-internal (never on the wire), but the record
 * is read back from Redis, so the decoder is strict all the same.
 */
#ifndef MC_RESULTS_H
#define MC_RESULTS_H

#include <stddef.h>

#include "mc_buf.h"

/* Append the array of the n blobs to out. Never fails (aborts on OOM). */
void mc_results_encode(const mc_buf *blobs, size_t n, mc_buf *out);
/* Slices into p of up to max blobs; *count receives how many. 0 / -1 (not
 * exactly one array of bins, or more than max). */
int mc_results_decode(const uint8_t *p, size_t n, mc_slice *out, size_t max, size_t *count);

#endif
