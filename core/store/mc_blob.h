/*
 * mc_blob.h — a small content-addressed store for uploaded bytes (the
 * scans of an application): put bytes -> their SHA-256 (hex) as the id;
 * get by id; exists. The same bytes are stored once.
 *
 * Design: an interface (mc_blob_ops) with one backend today, a directory
 * (mc_blob_dir_new): DATA/blobs/ab/cdef… (the first two hex digits name a
 * sub-directory), each file written under a temporary name in that
 * sub-directory, fsync'd, renamed into place and the directory fsync'd:
 * a crash leaves either the whole blob or none (a stray temporary file at
 * worst, never a partial blob under its id). An S3-compatible backend
 * (PUT/GET/HEAD of the object named by the id, If-None-Match: * for the
 * put) implements the same four operations; nothing above this interface
 * knows where the bytes live. Metadata (type, who uploaded, who may read)
 * is not here: it is a Redis record (mc_store_app.h, blob:<id>).
 *
 * Blocking I/O: every call may wait on the disk (or the network). mcertd
 * calls it only on a worker thread (server/mc_workers.h), never on an
 * event loop. A store is safe to use from several threads at once (the
 * directory backend keeps only its path).
 *
 * get re-hashes what it read and refuses bytes whose SHA-256 is not their
 * id (a corrupted file is an error, not served).
 *
 * Errors (mc_err): 404 not_found (get of an unknown id), 400 bad_field (an
 * id that is not 64 lower-case hex), 413 too_large (a blob over the
 * caller's max), 500 internal (I/O: the message names the operation, never
 * the bytes).
 */
#ifndef MC_BLOB_H
#define MC_BLOB_H

#include <stddef.h>

#include "mc_buf.h"
#include "mc_err.h"

#define MC_BLOB_ID_LEN 64

typedef struct mc_blob mc_blob;

/* A backend's operations; `self` is the mc_blob they were made with. */
typedef struct mc_blob_ops {
    int (*put)(mc_blob *self, const void *p, size_t n, const char *id, mc_err *err);
    int (*get)(mc_blob *self, const char *id, size_t max, mc_buf *out, mc_err *err);
    int (*exists)(mc_blob *self, const char *id, mc_err *err);
    void (*free)(mc_blob *self);
} mc_blob_ops;

struct mc_blob {
    const mc_blob_ops *ops;
    void *impl;                   /* the backend's own state */
};

/* The directory backend rooted at dir (made if missing, mode 0700). NULL
 * with err. */
mc_blob *mc_blob_dir_new(const char *dir, mc_err *err);
/* Store the n bytes at p; id receives their SHA-256 hex. Storing bytes
 * already there changes nothing. 0 / -1. */
int mc_blob_put(mc_blob *b, const void *p, size_t n, char id[MC_BLOB_ID_LEN + 1], mc_err *err);
/* The bytes of id (at most max) appended to out (owned by the caller).
 * 0 / -1. */
int mc_blob_get(mc_blob *b, const char *id, size_t max, mc_buf *out, mc_err *err);
/* 1 if id is stored, 0 if not, -1 on error. */
int mc_blob_exists(mc_blob *b, const char *id, mc_err *err);
/* Accepts NULL. */
void mc_blob_free(mc_blob *b);

#endif
