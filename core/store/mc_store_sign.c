/*
 * mc_store_sign.c — the inbox, the sign history and the API keys:
 * arguments in, replies out (see mc_store_sign.h; the functions are in
 * lua/mcert.lua).
 */
#include "mc_store_sign.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"
#include "mc_store_sync.h"

/* ---- the inbox ---- */

void mc_inbox_entry_pack(const mc_inbox_entry *e, mc_buf *out)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%u", e->match);
    mc_buf_append(out, num, (size_t)n + 1); /* with its NUL: the separator */
    n = snprintf(num, sizeof(num), "%u", e->documents);
    mc_buf_append(out, num, (size_t)n + 1);
    mc_buf_append(out, e->requester_name, strlen(e->requester_name) + 1);
    mc_buf_append(out, e->text, strlen(e->text));
}

/* Copy the NUL-separated field starting at *p (before end) into dst;
 * advances *p past its separator. -1 if it does not fit. */
static int next_field(const char **p, const char *end, char *dst, size_t size, int last)
{
    const char *q = last ? end : memchr(*p, '\0', (size_t)(end - *p));
    if (q == NULL || (size_t)(q - *p) >= size)
        return -1;
    memcpy(dst, *p, (size_t)(q - *p));
    dst[q - *p] = '\0';
    *p = last ? end : q + 1;
    return 0;
}

/* "<created>\0<expires>\0<match>\0<ndocs>\0<requester_name>\0<text>" */
static int read_entry(const redisReply *v, mc_inbox_entry *e)
{
    char c[24], x[24], m[16], d[16];
    const char *p = v->str, *end = v->str + v->len;
    memset(e, 0, sizeof(*e));
    if (next_field(&p, end, c, sizeof(c), 0) != 0 || next_field(&p, end, x, sizeof(x), 0) != 0 ||
        next_field(&p, end, m, sizeof(m), 0) != 0 || next_field(&p, end, d, sizeof(d), 0) != 0 ||
        next_field(&p, end, e->requester_name, sizeof(e->requester_name), 0) != 0 ||
        next_field(&p, end, e->text, sizeof(e->text), 1) != 0)
        return -1;
    e->created = strtoll(c, NULL, 10);
    e->expires = strtoll(x, NULL, 10);
    e->match = (uint32_t)strtoul(m, NULL, 10);
    e->documents = (uint32_t)strtoul(d, NULL, 10);
    /* a sign request has 1..32 documents; an extension (renew.lua's
     * renew_open, §10.3) none */
    snprintf(e->purpose, sizeof(e->purpose), "%s", e->documents == 0 ? "renew" : "sign");
    return 0;
}

static int read_inbox(const redisReply *r, void *out, mc_err *err)
{
    mc_inbox *ib = out;
    if (!mc_reply_is_array(r, 3) || !mc_reply_is_str(r->element[0]) ||
        !mc_reply_is_int(r->element[1]) || !mc_reply_is_array(r->element[2], 0))
        return MC_REPLY_SHAPE;
    ib->der.len = 0;
    mc_buf_append(&ib->der, r->element[0]->str, r->element[0]->len);
    ib->now = r->element[1]->integer;
    const redisReply *l = r->element[2];
    ib->n = 0;
    for (size_t i = 0; i < l->elements && ib->n < MC_INBOX_MAX; i++) {
        const redisReply *it = l->element[i];
        if (!mc_reply_is_array(it, 2) || !mc_reply_is_str(it->element[0]) ||
            !mc_reply_is_str(it->element[1]))
            return MC_REPLY_SHAPE;
        /* the sid is the zset member; the entry does not repeat it */
        if (read_entry(it->element[1], &ib->e[ib->n]) != 0)
            return mc_err_set(err, 503, "store_unavailable", "corrupt inbox entry");
        mc_reply_copy(ib->e[ib->n].sid, sizeof(ib->e[ib->n].sid), it->element[0]);
        ib->n++;
    }
    return 0;
}

void mc_store_inbox_list(mc_store *st, const char *fp, const char *nonce_hex, mc_inbox *out,
                         mc_store_cb cb, void *privdata)
{
    char kc[96], kn[160], kiz[112], kih[112], id[120];
    snprintf(id, sizeof(id), "%s:%s", fp, nonce_hex);
    mc_cmd c;
    mc_cmd_fcall(&c, "inbox_list", 4, 0);
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_cmd_add(&c, mc_key(kn, sizeof(kn), "nonce", id));
    mc_cmd_add(&c, mc_key(kiz, sizeof(kiz), "inbox", fp));
    mc_cmd_add(&c, mc_key(kih, sizeof(kih), "inboxe", fp));
    mc_cmd_addi(&c, 900);
    mc_store_call(st, &c, read_inbox, out, cb, privdata);
}

/* ---- the history ---- */

void mc_sign_hists_free(mc_sign_hists *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++)
        free(h->h[i].summary);
    free(h->h);
    h->h = NULL;
    h->n = 0;
}

static int read_history(const redisReply *r, void *out, mc_err *err)
{
    mc_sign_hists *h = out;
    mc_sign_hists_free(h);
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_array(r->element[1], 0))
        return MC_REPLY_SHAPE;
    h->now = r->element[0]->integer;
    const redisReply *l = r->element[1];
    h->h = calloc(l->elements + 1, sizeof(*h->h));
    if (h->h == NULL)
        abort();
    for (size_t i = 0; i < l->elements; i++) {
        const redisReply *it = l->element[i];
        if (!mc_reply_is_array(it, 4))
            return MC_REPLY_SHAPE;
        for (int k = 0; k < 4; k++)
            if (!mc_reply_is_str(it->element[k]))
                return MC_REPLY_SHAPE;
        mc_sign_hist *e = &h->h[h->n];
        mc_reply_copy(e->sid, sizeof(e->sid), it->element[0]);
        mc_reply_copy(e->state, sizeof(e->state), it->element[2]);
        long long c = 0, x = 0, a = 0;
        if (sscanf(it->element[3]->str, "%lld %lld %lld", &c, &x, &a) != 3)
            return mc_err_set(err, 503, "store_unavailable", "corrupt sign history");
        e->created = c;
        e->expires = x;
        e->answered_at = a;
        e->summary = strndup(it->element[1]->str, it->element[1]->len);
        if (e->summary == NULL)
            abort();
        h->n++;
    }
    return 0;
}

void mc_store_sign_history(mc_store *st, const char *login, mc_sign_hists *out,
                           mc_store_cb cb, void *privdata)
{
    char khz[112], khh[112];
    mc_cmd c;
    mc_cmd_fcall(&c, "sign_history", 2, 1);
    mc_cmd_add(&c, mc_key(khz, sizeof(khz), "signs", login));
    mc_cmd_add(&c, mc_key(khh, sizeof(khh), "signh", login));
    mc_store_call(st, &c, read_history, out, cb, privdata);
}

/* ---- verification ---- */


void mc_store_verify_note(mc_store *st, const char *fp, const char *verdict, const mc_actor *a,
                          mc_cert_rec *c, mc_store_cb cb, void *privdata)
{
    char kc[96];
    mc_cmd cmd;
    mc_cmd_fcall(&cmd, "verify_note", 2, 0);
    mc_cmd_add(&cmd, mc_key(kc, sizeof(kc), "cert", fp[0] ? fp : "-"));
    mc_cmd_add(&cmd, "{mc}:audit");
    mc_cmd_add(&cmd, a->who);
    mc_cmd_add(&cmd, a->from);
    mc_cmd_add(&cmd, fp[0] ? fp : "-");
    mc_cmd_add(&cmd, verdict);
    mc_store_call(st, &cmd, mc_rec_read_cert, c, cb, privdata);
}

/* ---- API keys ---- */

static const mc_field key_fields[] = {
    MC_FSTR(mc_apikey, id),     MC_FSTR(mc_apikey, hash),    MC_FSTR(mc_apikey, name),
    MC_FSTR(mc_apikey, org),    MC_FSTR(mc_apikey, scopes),  MC_FINT(mc_apikey, created),
    MC_FINT(mc_apikey, revoked_at),
};

int mc_apikey_has_scope(const char *scopes, const char *scope)
{
    size_t n = strlen(scope);
    for (const char *p = scopes; *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (len == n && memcmp(p, scope, n) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

void mc_store_apikey_create(mc_store *st, const mc_apikey *k, const mc_actor *a,
                            mc_store_cb cb, void *privdata)
{
    char kk[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "apikey_create", 3, 0);
    mc_cmd_add(&c, mc_key(kk, sizeof(kk), "apikey", k->id));
    mc_cmd_add(&c, "{mc}:apikeys");
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, k->id);
    mc_cmd_add(&c, k->hash);
    mc_cmd_add(&c, k->name);
    mc_cmd_add(&c, k->org);
    mc_cmd_add(&c, k->scopes);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}

void mc_store_apikey_revoke(mc_store *st, const char *id, const mc_actor *a, mc_store_cb cb,
                            void *privdata)
{
    char kk[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "apikey_revoke", 2, 0);
    mc_cmd_add(&c, mc_key(kk, sizeof(kk), "apikey", id));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, id);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}

static int read_key_auth(const redisReply *r, void *out, mc_err *err)
{
    mc_apikey_auth *x = out;
    memset(x, 0, sizeof(*x));
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]))
        return MC_REPLY_SHAPE;
    if (r->element[0]->integer == 0) {
        if (!mc_reply_is_int(r->element[1]))
            return MC_REPLY_SHAPE;
        x->limited = 1;
        x->retry_after = (int)r->element[1]->integer;
        return 0;
    }
    return mc_fields_read(key_fields, MC_NFIELDS(key_fields), r->element[1], &x->key);
}

void mc_store_apikey_auth(mc_store *st, const char *id, const char *hash, int per_minute,
                          mc_apikey_auth *out, mc_store_cb cb, void *privdata)
{
    char kk[64], kr[80];
    mc_cmd c;
    mc_cmd_fcall(&c, "apikey_auth", 2, 0);
    mc_cmd_add(&c, mc_key(kk, sizeof(kk), "apikey", id));
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "rl:apikey", id));
    mc_cmd_add(&c, hash);
    mc_cmd_addi(&c, per_minute);
    mc_store_call(st, &c, read_key_auth, out, cb, privdata);
}

/* ---- blocking (mcertctl) ---- */

int mc_sync_apikey_create(mc_store *st, const mc_apikey *k, const mc_actor *a, mc_err *err)
{
    mc_err e;
    mc_err_clear(&e);
    mc_store_apikey_create(st, k, a, mc_store_sync_cb, &e);
    if (err)
        *err = e;
    return e.status ? -1 : 0;
}

int mc_sync_apikey_revoke(mc_store *st, const char *id, const mc_actor *a, mc_err *err)
{
    mc_err e;
    mc_err_clear(&e);
    mc_store_apikey_revoke(st, id, a, mc_store_sync_cb, &e);
    if (err)
        *err = e;
    return e.status ? -1 : 0;
}

static int read_ids(const redisReply *r, void *out, mc_err *err)
{
    mc_apikeys *ks = out;
    if (!mc_reply_is_array(r, 0))
        return MC_REPLY_SHAPE;
    ks->k = calloc(r->elements + 1, sizeof(*ks->k));
    if (ks->k == NULL)
        abort();
    ks->n = r->elements;
    for (size_t i = 0; i < r->elements; i++) {
        if (!mc_reply_is_str(r->element[i]))
            return MC_REPLY_SHAPE;
        mc_reply_copy(ks->k[i].id, sizeof(ks->k[i].id), r->element[i]);
    }
    return 0;
}

/* hgetall_many's {key hash...}, one per id read */
static int read_keys(const redisReply *r, void *out, mc_err *err)
{
    mc_apikeys *ks = out;
    if (!mc_reply_is_array(r, ks->n))
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < ks->n; i++)
        if (mc_fields_read(key_fields, MC_NFIELDS(key_fields), r->element[i], &ks->k[i]) != 0)
            return MC_REPLY_SHAPE;
    return 0;
}

static void keys_key_at(const void *arg, size_t i, char *buf, size_t size)
{
    const mc_apikeys *ks = arg;
    mc_key(buf, size, "apikey", ks->k[i].id);
}

static int by_created(const void *a, const void *b)
{
    const mc_apikey *x = a, *y = b;
    return x->created < y->created ? -1 : x->created > y->created ? 1 : strcmp(x->id, y->id);
}

int mc_sync_apikey_list(mc_store *st, mc_apikeys *out, mc_err *err)
{
    mc_err e;
    mc_err_clear(&e);
    memset(out, 0, sizeof(*out));
    mc_cmd c;
    mc_cmd_plain(&c, "SMEMBERS");
    mc_cmd_add(&c, "{mc}:apikeys");
    mc_store_call(st, &c, read_ids, out, mc_store_sync_cb, &e);
    /* then every key's hash in one call (not one round trip per key) */
    if (e.status == 0 && out->n > 0)
        mc_store_fcall_keys(st, "hgetall_many", out->n, keys_key_at, out, read_keys, out,
                            mc_store_sync_cb, &e);
    if (e.status == 0)
        qsort(out->k, out->n, sizeof(*out->k), by_created);
    if (err)
        *err = e;
    return e.status ? -1 : 0;
}
