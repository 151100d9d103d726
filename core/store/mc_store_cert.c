/*
 * mc_store_cert.c — the key history: a record with its links (and DER if
 * asked), by fingerprint or serial, and walks along the renewal links
 * (see mc_store_cert.h; the function is lua/cert.lua's cert_view).
 *
 * A walk is a chain of steps on one out struct, each step one cert_view
 * call whose callback starts the next: the caller's cb runs once, at the
 * end or at the first error.
 */
#include "mc_store_cert.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"
#include "mc_store_renew.h" /* mc_store_serial_fp: the index */

static const mc_field link_fields[] = {
    MC_FSTR(mc_cert_links, prev),          MC_FSTR(mc_cert_links, next),
    MC_FSTR(mc_cert_links, superseded_by), MC_FSTR(mc_cert_links, renewal),
    MC_FSTR(mc_cert_links, reason),
};

void mc_cert_hist_free(mc_cert_hist *h)
{
    if (h != NULL)
        mc_buf_free(&h->der);
}

/* A record's field list (cert_view's reply) into h; an empty list: no
 * record (h->c.fp ""). */
static int read_hist(const redisReply *r, void *out, mc_err *err)
{
    mc_cert_hist *h = out;
    h->der.len = 0;
    if (mc_rec_read_cert(r, &h->c, err) != 0 ||
        mc_fields_read(link_fields, MC_NFIELDS(link_fields), r, &h->l) != 0)
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->len == 3 && memcmp(k->str, "der", 3) == 0) {
            if (v->len > MC_CERT_DER_MAX)
                return MC_REPLY_SHAPE;
            mc_buf_append(&h->der, v->str, v->len);
        }
    }
    /* a record always names itself; an empty reply names nothing */
    if (r->elements == 0)
        h->c.fp[0] = '\0';
    return 0;
}

void mc_store_cert_view(mc_store *st, const char *fp, int with_der, mc_cert_hist *out,
                        mc_store_cb cb, void *privdata)
{
    char kc[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "cert_view", 1, 1);
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp[0] ? fp : "-"));
    mc_cmd_add(&c, with_der ? "1" : "0");
    mc_store_call(st, &c, read_hist, out, cb, privdata);
}

/* ---- by serial: the index, then the record ---- */

/* The state of a by-serial read between its two steps, on the heap so
 * that the caller's out stays a plain mc_cert_hist; freed before cb. */
typedef struct serial_step {
    mc_store *st;
    int with_der;
    char fp[65];
    mc_cert_hist *out;
    mc_store_cb cb;
    void *privdata;
} serial_step;

static void serial_on_record(void *privdata, const mc_err *err)
{
    serial_step *s = privdata;
    mc_store_cb cb = s->cb;
    void *pd = s->privdata;
    free(s);
    cb(pd, err);
}

static void serial_on_index(void *privdata, const mc_err *err)
{
    serial_step *s = privdata;
    if (err->status != 0 || s->fp[0] == '\0') {
        serial_on_record(s, err);
        return;
    }
    mc_store_cert_view(s->st, s->fp, s->with_der, s->out, serial_on_record, s);
}

void mc_store_cert_by_serial(mc_store *st, const char *serial, int with_der, mc_cert_hist *out,
                             mc_store_cb cb, void *privdata)
{
    serial_step *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort(); /* out of memory (as the store's own allocations) */
    out->c.fp[0] = '\0';
    out->der.len = 0;
    s->st = st;
    s->with_der = with_der;
    s->out = out;
    s->cb = cb;
    s->privdata = privdata;
    mc_store_serial_fp(st, serial, s->fp, serial_on_index, s);
}

/* ---- walks ---- */

static void walk_on_record(void *privdata, const mc_err *err);

static void walk_read(mc_cert_walk *w, const char *fp)
{
    mc_store_cert_view(w->st, fp, 0, &w->cur, walk_on_record, w);
}

static int walk_seen(const mc_cert_walk *w, const char *fp)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->v[i].c.fp, fp) == 0)
            return 1;
    return 0;
}

static void walk_on_record(void *privdata, const mc_err *err)
{
    mc_cert_walk *w = privdata;
    if (err->status != 0 || w->cur.c.fp[0] == '\0' || walk_seen(w, w->cur.c.fp)) {
        w->cb(w->privdata, err);
        return;
    }
    w->v[w->n] = w->cur;
    memset(&w->v[w->n].der, 0, sizeof(w->v[w->n].der)); /* no DER on walks */
    w->n++;
    const char *link = w->dir == MC_CERT_PREV ? w->cur.l.prev : w->cur.l.next;
    if (w->n >= w->max || link[0] == '\0' || walk_seen(w, link)) {
        w->cb(w->privdata, err);
        return;
    }
    char fp[65];
    snprintf(fp, sizeof(fp), "%s", link);
    walk_read(w, fp);
}

void mc_store_cert_walk(mc_store *st, const char *fp, mc_cert_dir dir, size_t max,
                        mc_cert_walk *out, mc_store_cb cb, void *privdata)
{
    mc_cert_walk_free(out);
    out->n = 0;
    out->st = st;
    out->dir = dir;
    out->max = max == 0 || max > MC_CERT_WALK_MAX ? MC_CERT_WALK_MAX : max;
    out->cb = cb;
    out->privdata = privdata;
    if (fp == NULL || fp[0] == '\0') {
        cb(privdata, &(mc_err){0});
        return;
    }
    walk_read(out, fp);
}

void mc_cert_walk_free(mc_cert_walk *w)
{
    if (w == NULL)
        return;
    mc_buf_free(&w->cur.der);
}
