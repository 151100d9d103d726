/*
 * mc_blob.c — the blob interface and its directory backend (see
 * mc_blob.h). Temporary names carry 64 random bits, so two threads or two
 * nodes writing the same blob at once each rename a whole file onto the
 * same name (same bytes): the last rename wins, harmlessly.
 */
#include "mc_blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mc_apply.h"
#include "mc_crypto.h"

typedef struct blob_dir {
    char root[512];
} blob_dir;

/* an upload's id as APP checks it (mc_blob_id_valid) is this store's */
_Static_assert(MC_BLOB_ID_LEN == MC_BLOB_ID_HEX, "one length of a blob id");

static int id_ok(const char *id)
{
    return mc_blob_id_valid(id, strnlen(id, MC_BLOB_ID_LEN + 1));
}

static int mkdir_p(const char *dir)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static void path_of(const blob_dir *d, const char *id, char *sub, size_t subsize, char *file,
                    size_t filesize)
{
    snprintf(sub, subsize, "%s/%.2s", d->root, id);
    snprintf(file, filesize, "%s/%.2s/%s", d->root, id, id + 2);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int dir_exists(mc_blob *self, const char *id, mc_err *err)
{
    blob_dir *d = self->impl;
    char sub[600], file[700];
    if (!id_ok(id))
        return mc_err_set(err, 400, "bad_field", "not a blob id");
    path_of(d, id, sub, sizeof(sub), file, sizeof(file));
    struct stat sb;
    if (stat(file, &sb) == 0)
        return 1;
    if (errno == ENOENT || errno == ENOTDIR)
        return 0;
    return mc_err_set(err, 500, "internal", "blob store: stat failed (%s)", strerror(errno));
}

static int dir_put(mc_blob *self, const void *p, size_t n, const char *id, mc_err *err)
{
    blob_dir *d = self->impl;
    int have = dir_exists(self, id, err);
    if (have != 0)
        return have < 0 ? -1 : 0;
    char sub[600], file[700], tmp[720];
    path_of(d, id, sub, sizeof(sub), file, sizeof(file));
    if (mkdir_p(sub) != 0)
        return mc_err_set(err, 500, "internal", "blob store: cannot make a directory (%s)",
                          strerror(errno));
    uint8_t rnd[8];
    char rhex[17];
    mc_random(rnd, sizeof(rnd));
    mc_hex(rnd, sizeof(rnd), rhex);
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", sub, rhex);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return mc_err_set(err, 500, "internal", "blob store: cannot create (%s)",
                          strerror(errno));
    int ok = write_all(fd, p, n) == 0 && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, file) != 0) {
        if (ok)
            e = errno;
        unlink(tmp);
        return mc_err_set(err, 500, "internal", "blob store: cannot write (%s)", strerror(e));
    }
    if (fsync_dir(sub) != 0)
        return mc_err_set(err, 500, "internal", "blob store: cannot sync (%s)",
                          strerror(errno));
    return 0;
}

static int dir_get(mc_blob *self, const char *id, size_t max, mc_buf *out, mc_err *err)
{
    blob_dir *d = self->impl;
    char sub[600], file[700];
    if (!id_ok(id))
        return mc_err_set(err, 400, "bad_field", "not a blob id");
    path_of(d, id, sub, sizeof(sub), file, sizeof(file));
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return mc_err_set(err, 404, "not_found", "no such upload");
        return mc_err_set(err, 500, "internal", "blob store: cannot open (%s)",
                          strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0) {
        close(fd);
        return mc_err_set(err, 500, "internal", "blob store: stat failed");
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return mc_err_set(err, 413, "too_large", "blob larger than %zu bytes", max);
    }
    size_t n = (size_t)sb.st_size, start = out->len;
    mc_buf_reserve(out, n + 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, out->ptr + start + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n)
        return mc_err_set(err, 500, "internal", "blob store: short read");
    uint8_t h[32];
    char hex[65];
    mc_sha256(out->ptr + start, n, h);
    mc_hex(h, 32, hex);
    if (strcmp(hex, id) != 0)
        return mc_err_set(err, 500, "internal", "blob store: stored bytes do not match their id");
    out->len = start + n;
    return 0;
}

static void dir_free(mc_blob *self)
{
    free(self->impl);
    free(self);
}

static const mc_blob_ops DIR_OPS = {dir_put, dir_get, dir_exists, dir_free};

mc_blob *mc_blob_dir_new(const char *dir, mc_err *err)
{
    if (dir == NULL || dir[0] == '\0' || strlen(dir) >= sizeof(((blob_dir *)0)->root)) {
        mc_err_set(err, 500, "internal", "blob store: bad directory name");
        return NULL;
    }
    if (mkdir_p(dir) != 0) {
        mc_err_set(err, 500, "internal", "blob store: cannot make %s (%s)", dir,
                   strerror(errno));
        return NULL;
    }
    mc_blob *b = calloc(1, sizeof(*b));
    blob_dir *d = calloc(1, sizeof(*d));
    if (b == NULL || d == NULL) {
        free(b);
        free(d);
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    snprintf(d->root, sizeof(d->root), "%s", dir);
    b->ops = &DIR_OPS;
    b->impl = d;
    return b;
}

int mc_blob_put(mc_blob *b, const void *p, size_t n, char id[MC_BLOB_ID_LEN + 1], mc_err *err)
{
    uint8_t h[32];
    mc_sha256(p, n, h);
    mc_hex(h, 32, id);
    return b->ops->put(b, p, n, id, err);
}

int mc_blob_get(mc_blob *b, const char *id, size_t max, mc_buf *out, mc_err *err)
{
    return b->ops->get(b, id, max, out, err);
}

int mc_blob_exists(mc_blob *b, const char *id, mc_err *err)
{
    return b->ops->exists(b, id, err);
}

void mc_blob_free(mc_blob *b)
{
    if (b != NULL)
        b->ops->free(b);
}
