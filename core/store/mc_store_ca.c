/*
 * mc_store_ca.c — revocation, the CRL's state and OCSP statuses:
 * arguments in, replies out (see mc_store_ca.h; the functions are in
 * lua/ca.lua).
 */
#include "mc_store_ca.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"
#include "mc_store_renew.h" /* mc_store_serial_fp: the index */
#include "mc_store_sync.h"

/* An integer sent as a string (ZSCORE, HGET) or as an integer. 0 / -1. */
static int reply_i64(const redisReply *r, int64_t *out)
{
    if (mc_reply_is_int(r)) {
        *out = r->integer;
        return 0;
    }
    if (!mc_reply_is_str(r) || r->len == 0 || r->len > 20)
        return -1;
    char tmp[24], *end;
    memcpy(tmp, r->str, r->len);
    tmp[r->len] = '\0';
    long long v = strtoll(tmp, &end, 10);
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* ---- revoke ---- */

static int read_revoked(const redisReply *r, void *out, mc_err *err)
{
    mc_revoked *rv = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_int(r->element[1]))
        return MC_REPLY_SHAPE;
    if (rv != NULL) {
        rv->revoked_at = r->element[0]->integer;
        rv->crlver = r->element[1]->integer;
    }
    return 0;
}

void mc_store_ca_revoke(mc_store *st, const char *fp, const char *login, int reason,
                        const mc_actor *a, mc_revoked *out, mc_store_cb cb, void *privdata)
{
    char kc[96], ka[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "revoke", 7, 0);
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login[0] ? login : "-"));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, "{mc}:crl");
    mc_cmd_add(&c, "{mc}:crlinfo");
    mc_cmd_add(&c, "{mc}:crlver");
    mc_cmd_add(&c, "{mc}:crlexp");
    mc_cmd_add(&c, fp);
    mc_cmd_add(&c, login);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_addi(&c, reason);
    mc_store_call(st, &c, read_revoked, out, cb, privdata);
}

/* ---- the CRL ---- */

static int read_ver(const redisReply *r, void *out, mc_err *err)
{
    int64_t *v = out;
    if (r->type == REDIS_REPLY_NIL) {
        *v = 0;
        return 0;
    }
    return reply_i64(r, v) == 0 ? 0 : MC_REPLY_SHAPE;
}

void mc_store_crl_ver(mc_store *st, int64_t *ver, mc_store_cb cb, void *privdata)
{
    mc_cmd c;
    mc_cmd_plain(&c, "GET");
    mc_cmd_add(&c, "{mc}:crlver");
    mc_store_call(st, &c, read_ver, ver, cb, privdata);
}

void mc_crl_state_free(mc_crl_state *s)
{
    if (s == NULL)
        return;
    free(s->e);
    s->e = NULL;
    s->n = 0;
}

static int read_crl(const redisReply *r, void *out, mc_err *err)
{
    mc_crl_state *s = out;
    mc_crl_state_free(s);
    if (!mc_reply_is_array(r, 3) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_int(r->element[1]) || !mc_reply_is_array(r->element[2], 0) ||
        r->element[2]->elements % 3 != 0)
        return MC_REPLY_SHAPE;
    s->ver = r->element[0]->integer;
    s->now = r->element[1]->integer;
    const redisReply *l = r->element[2];
    s->e = calloc(l->elements / 3 + 1, sizeof(*s->e));
    if (s->e == NULL)
        abort();
    for (size_t i = 0; i + 2 < l->elements; i += 3) {
        mc_crl_entry *e = &s->e[s->n];
        int64_t at, reason;
        if (!mc_reply_is_str(l->element[i]) || reply_i64(l->element[i + 1], &at) != 0 ||
            reply_i64(l->element[i + 2], &reason) != 0)
            return MC_REPLY_SHAPE;
        if (l->element[i]->len >= sizeof(e->serial) || reason < 0 || reason > 10)
            return mc_err_set(err, 503, "store_unavailable", "corrupt CRL entry");
        mc_reply_copy(e->serial, sizeof(e->serial), l->element[i]);
        e->revoked_at = at;
        e->reason = (int)reason;
        s->n++;
    }
    return 0;
}

void mc_store_crl_read(mc_store *st, mc_crl_state *out, mc_store_cb cb, void *privdata)
{
    mc_cmd c;
    mc_cmd_fcall(&c, "crl_read", 4, 1);
    mc_cmd_add(&c, "{mc}:crl");
    mc_cmd_add(&c, "{mc}:crlinfo");
    mc_cmd_add(&c, "{mc}:crlver");
    mc_cmd_add(&c, "{mc}:crlexp");
    mc_store_call(st, &c, read_crl, out, cb, privdata);
}

/* ---- OCSP ---- */

static int read_ocsp(const redisReply *r, void *out, mc_err *err)
{
    mc_ocsp_lookup *o = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_array(r->element[1], o->nsent))
        return MC_REPLY_SHAPE;
    o->now = r->element[0]->integer;
    for (size_t k = 0; k < o->nsent; k++) {
        const redisReply *it = r->element[1]->element[k];
        int64_t at, reason;
        if (!mc_reply_is_array(it, 3) || !mc_reply_is_str(it->element[0]) ||
            reply_i64(it->element[1], &at) != 0 || reply_i64(it->element[2], &reason) != 0)
            return MC_REPLY_SHAPE;
        mc_ocsp_status *s = &o->st[o->sent[k]];
        const redisReply *state = it->element[0];
        if (state->len == 7 && memcmp(state->str, "revoked", 7) == 0) {
            s->state = MC_OCSP_REVOKED;
            s->revoked_at = at;
            s->reason = reason >= 0 && reason <= 10 ? (int)reason : 0;
        } else if (state->len == 4 && memcmp(state->str, "good", 4) == 0) {
            s->state = MC_OCSP_GOOD;
        } else {
            s->state = MC_OCSP_UNKNOWN;
        }
    }
    return 0;
}

void mc_store_ocsp_status(mc_store *st, const mc_ocsp_ask *asks, size_t n, mc_ocsp_lookup *out,
                          mc_store_cb cb, void *privdata)
{
    char keys[MC_OCSP_REQ_MAX][80];
    mc_cmd c;
    out->nsent = 0;
    for (size_t i = 0; i < n && i < MC_OCSP_REQ_MAX; i++) {
        memset(&out->st[i], 0, sizeof(out->st[i]));
        out->st[i].state = MC_OCSP_UNKNOWN;
        if (asks[i].ours)
            out->sent[out->nsent++] = i;
    }
    mc_cmd_fcall(&c, "ocsp_status", 2 + (int)out->nsent, 1);
    mc_cmd_add(&c, "{mc}:crl");
    mc_cmd_add(&c, "{mc}:crlinfo");
    for (size_t k = 0; k < out->nsent; k++)
        mc_cmd_add(&c, mc_key(keys[k], sizeof(keys[k]), "serial", asks[out->sent[k]].serial));
    for (size_t k = 0; k < out->nsent; k++)
        mc_cmd_add(&c, asks[out->sent[k]].serial);
    mc_store_call(st, &c, read_ocsp, out, cb, privdata);
}

/* ---- blocking ---- */

int mc_sync_ca_revoke(mc_store *st, const char *fp, int reason, const mc_actor *a,
                      mc_revoked *out, mc_err *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        mc_cert_rec c;
        int found;
        if (mc_sync_cert_get(st, fp, &c, &found, err) != 0)
            return -1;
        if (!found)
            return mc_err_set(err, 404, "not_found", "no such certificate");
        mc_err e;
        mc_err_clear(&e);
        mc_store_ca_revoke(st, fp, c.account, reason, a, out, mc_store_sync_cb, &e);
        if (e.status == 0 || strcmp(e.code, "stale") != 0) {
            if (err)
                *err = e;
            return e.status ? -1 : 0;
        }
    }
    return mc_err_set(err, 503, "store_unavailable", "the binding keeps changing; try again");
}

int mc_sync_serial_fp(mc_store *st, const char *serial, char fp[65], int *found, mc_err *err)
{
    mc_err e;
    mc_err_clear(&e);
    fp[0] = '\0';
    mc_store_serial_fp(st, serial, fp, mc_store_sync_cb, &e);
    if (err)
        *err = e;
    *found = e.status == 0 && fp[0] != '\0';
    return e.status ? -1 : 0;
}

int mc_sync_crl_read(mc_store *st, mc_crl_state *out, mc_err *err)
{
    mc_err e;
    mc_err_clear(&e);
    mc_store_crl_read(st, out, mc_store_sync_cb, &e);
    if (err)
        *err = e;
    return e.status ? -1 : 0;
}
