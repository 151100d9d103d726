/*
 * mc_store_renew.c — renewals: arguments in, replies out (see
 * mc_store_renew.h; the functions are in lua/renew.lua).
 */
#include "mc_store_renew.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"

#define R mc_renewal
static const mc_field ren_fields[] = {
    MC_FSTR(R, id),          MC_FSTR(R, fp),          MC_FSTR(R, serial),
    MC_FSTR(R, uscc),        MC_FSTR(R, org_name),    MC_FSTR(R, holder),
    MC_FSTR(R, account),     MC_FSTR(R, order),       MC_FSTR(R, state),
    MC_FSTR(R, by),          MC_FSTR(R, new_fp),      MC_FSTR(R, new_serial),
    MC_FSTR(R, rekey),       MC_FINT(R, years),       MC_FINT(R, fee),
    MC_FINT(R, created),     MC_FINT(R, expires),     MC_FINT(R, paid_at),
    MC_FINT(R, extended_at), MC_FINT(R, old_not_after), MC_FINT(R, new_not_after),
    MC_FINT(R, refund_at),   MC_FINT(R, gen),
};
#undef R

void mc_ren_order_id(const char *rid, char out[MC_PAY_OID_LEN + 1])
{
    snprintf(out, MC_PAY_OID_LEN + 1, "PO%s", rid + 2);
}

/* {ren hash, order hash} into p (p->now untouched). */
static int read_pair(const redisReply *r, mc_ren_pair *p)
{
    if (!mc_reply_is_array(r, 2))
        return MC_REPLY_SHAPE;
    if (mc_fields_read(ren_fields, MC_NFIELDS(ren_fields), r->element[0], &p->r) != 0 ||
        mc_order_read(r->element[1], &p->o) != 0)
        return MC_REPLY_SHAPE;
    return 0;
}

/* {now, {ren, order}} */
static int read_now_pair(const redisReply *r, void *out, mc_err *err)
{
    mc_ren_pair *p = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]))
        return MC_REPLY_SHAPE;
    if (read_pair(r->element[1], p) != 0)
        return MC_REPLY_SHAPE;
    p->now = r->element[0]->integer;
    p->o.now = p->now;
    if (p->r.id[0] == '\0')
        return mc_err_set(err, 404, "not_found", "no such renewal");
    return 0;
}

/* ---- the certificate ---- */

static int read_cert(const redisReply *r, void *out, mc_err *err)
{
    mc_ren_cert *x = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_str(r->element[1]))
        return MC_REPLY_SHAPE;
    int rc = mc_rec_read_cert(r->element[0], &x->c, err);
    if (rc != 0)
        return rc;
    mc_reply_copy(x->open, sizeof(x->open), r->element[1]);
    return 0;
}

void mc_store_renew_cert(mc_store *st, const char *fp, mc_ren_cert *out, mc_store_cb cb,
                         void *privdata)
{
    char kc[96], kf[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_cert", 2, 1);
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_cmd_add(&c, mc_key(kf, sizeof(kf), "renof", fp));
    mc_store_call(st, &c, read_cert, out, cb, privdata);
}

static int read_serial(const redisReply *r, void *out, mc_err *err)
{
    char *fp = out;
    fp[0] = '\0';
    if (r->type == REDIS_REPLY_NIL)
        return 0;
    if (!mc_reply_is_str(r) || r->len != 64)
        return MC_REPLY_SHAPE;
    mc_reply_copy(fp, 65, r);
    return 0;
}

void mc_store_serial_fp(mc_store *st, const char *serial, char fp[65], mc_store_cb cb,
                        void *privdata)
{
    char k[80];
    mc_cmd c;
    mc_cmd_plain(&c, "GET");
    mc_cmd_add(&c, mc_key(k, sizeof(k), "serial", serial));
    mc_store_call(st, &c, read_serial, fp, cb, privdata);
}

/* MGET of the renof keys: the rids, nil where none */
static int read_renofs(const redisReply *r, void *out, mc_err *err)
{
    mc_ren_opens *x = out;
    if (!mc_reply_is_array(r, 0) || r->elements != x->n)
        return MC_REPLY_SHAPE;
    x->nasked = 0;
    for (size_t i = 0; i < x->n; i++) {
        x->open[i] = 0;
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_NIL)
            continue;
        if (!mc_reply_is_str(e) || !mc_ren_id_valid(e->str, e->len))
            return MC_REPLY_SHAPE;
        memcpy(x->rid[x->nasked], e->str, MC_REN_ID_LEN + 1);
        x->asked[x->nasked++] = i;
    }
    return 0;
}

/* renew_states: {now, {ren hash...}} */
static int read_open_rens(const redisReply *r, void *out, mc_err *err)
{
    mc_ren_opens *x = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_array(r->element[1], 0) || r->element[1]->elements != x->nasked)
        return MC_REPLY_SHAPE;
    int64_t now = r->element[0]->integer;
    for (size_t j = 0; j < x->nasked; j++) {
        mc_renewal ren;
        if (mc_fields_read(ren_fields, MC_NFIELDS(ren_fields), r->element[1]->element[j],
                           &ren) != 0)
            return MC_REPLY_SHAPE;
        x->open[x->asked[j]] =
            ren.id[0] != '\0' && mc_ren_state_open(mc_ren_state_now(ren.state, ren.expires, now));
    }
    return 0;
}

static void opens_key_at(const void *arg, size_t j, char *buf, size_t size)
{
    const mc_ren_opens *x = arg;
    mc_key(buf, size, "ren", x->rid[j]);
}

/* The second call: the states of the renewals found (mc_store_fcall_keys).
 * Aborts on out of memory. */
static void opens_on_renofs(void *privdata, const mc_err *err)
{
    mc_ren_opens *x = privdata;
    if (err->status != 0 || x->nasked == 0) {
        x->cb(x->privdata, err);
        return;
    }
    mc_store_fcall_keys(x->st, "renew_states", x->nasked, opens_key_at, x, read_open_rens, x,
                        x->cb, x->privdata);
}

void mc_store_renew_opens(mc_store *st, mc_ren_opens *out, mc_store_cb cb, void *privdata)
{
    out->st = st;
    out->cb = cb;
    out->privdata = privdata;
    char keys[MC_REN_LIST_MAX][96];
    const char *argv[MC_REN_LIST_MAX + 1];
    size_t lens[MC_REN_LIST_MAX + 1];
    argv[0] = "MGET";
    for (size_t i = 0; i < out->n; i++) {
        mc_key(keys[i], sizeof(keys[i]), "renof", out->fp[i]);
        argv[1 + i] = keys[i];
    }
    for (size_t i = 0; i < out->n + 1; i++)
        lens[i] = strlen(argv[i]);
    mc_store_callv(st, (int)(out->n + 1), argv, lens, read_renofs, out, opens_on_renofs, out);
}

/* ---- create ---- */

/* {created, now, {ren, order}} */
static int read_created(const redisReply *r, void *out, mc_err *err)
{
    mc_ren_pair *p = out;
    if (!mc_reply_is_array(r, 3) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_int(r->element[1]))
        return MC_REPLY_SHAPE;
    if (read_pair(r->element[2], p) != 0)
        return MC_REPLY_SHAPE;
    p->created_now = r->element[0]->integer == 1;
    p->now = r->element[1]->integer;
    p->o.now = p->now;
    return 0;
}

void mc_store_renew_create(mc_store *st, const mc_ren_new *in, const mc_actor *a,
                           mc_ren_pair *out, mc_store_cb cb, void *privdata)
{
    const mc_cert_rec *cr = &in->rc->c;
    const char *cur = in->rc->open;
    char oid[MC_PAY_OID_LEN + 1], coid[MC_PAY_OID_LEN + 1] = "-";
    char kc[96], kf[96], kr[64], ko[64], kg[64], kcr[64], kco[64], name[64];
    mc_ren_order_id(in->rid, oid);
    if (cur[0] != '\0')
        mc_ren_order_id(cur, coid);
    snprintf(name, sizeof(name), "移动证书续费 %s", in->rid);
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_create", 9, 0);
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", cr->fp));
    mc_cmd_add(&c, mc_key(kf, sizeof(kf), "renof", cr->fp));
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "ren", in->rid));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", oid));
    mc_cmd_add(&c, mc_key(kg, sizeof(kg), "renorg", cr->uscc));
    mc_cmd_add(&c, "{mc}:renall");
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, mc_key(kcr, sizeof(kcr), "ren", cur[0] ? cur : "-"));
    mc_cmd_add(&c, mc_key(kco, sizeof(kco), "order", coid));
    mc_cmd_add(&c, in->rid);
    mc_cmd_add(&c, oid);
    mc_cmd_add(&c, cr->fp);
    mc_cmd_addi(&c, in->years);
    mc_cmd_addi(&c, in->fee);
    mc_cmd_add(&c, in->provider);
    mc_cmd_addi(&c, in->ttl);
    mc_cmd_add(&c, name);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_addi(&c, in->grace);
    mc_cmd_add(&c, cur);
    mc_cmd_add(&c, cr->account);
    mc_store_call(st, &c, read_created, out, cb, privdata);
}

/* ---- reads ---- */

void mc_store_renew_get(mc_store *st, const char *rid, mc_ren_pair *out, mc_store_cb cb,
                        void *privdata)
{
    char kr[64], ko[64], oid[MC_PAY_OID_LEN + 1];
    mc_ren_order_id(rid, oid);
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_get", 2, 1);
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "ren", rid));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", oid));
    mc_store_call(st, &c, read_now_pair, out, cb, privdata);
}

void mc_ren_list_free(mc_ren_list *l)
{
    free(l->p);
    free(l->ids);
    l->p = NULL;
    l->ids = NULL;
    l->n = 0;
}

/* {{ren, order}, ...} for the ids asked */
static int read_rows(const redisReply *r, void *out, mc_err *err)
{
    mc_ren_list *l = out;
    if (!mc_reply_is_array(r, 0) || r->elements != 2 * l->n)
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < l->n; i++) {
        mc_ren_pair *p = &l->p[i];
        if (mc_fields_read(ren_fields, MC_NFIELDS(ren_fields), r->element[2 * i], &p->r) != 0 ||
            mc_order_read(r->element[2 * i + 1], &p->o) != 0)
            return MC_REPLY_SHAPE;
        p->now = p->o.now = l->now;
    }
    return 0;
}

static void list_on_ids(void *privdata, const mc_err *err);

/* {now, {rid...}} */
static int read_ids(const redisReply *r, void *out, mc_err *err)
{
    mc_ren_list *l = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_array(r->element[1], 0) || r->element[1]->elements > MC_REN_LIST_MAX)
        return MC_REPLY_SHAPE;
    const redisReply *ids = r->element[1];
    l->now = r->element[0]->integer;
    l->n = 0;
    for (size_t i = 0; i < ids->elements; i++) {
        if (!mc_reply_is_str(ids->element[i]) ||
            !mc_ren_id_valid(ids->element[i]->str, ids->element[i]->len))
            return MC_REPLY_SHAPE;
        memcpy(l->ids[l->n++], ids->element[i]->str, MC_REN_ID_LEN + 1);
    }
    return 0;
}

void mc_store_renew_list(mc_store *st, const char *uscc, mc_ren_list *out, mc_store_cb cb,
                         void *privdata)
{
    mc_ren_list_free(out);
    out->ids = calloc(MC_REN_LIST_MAX, sizeof(*out->ids));
    if (out->ids == NULL)
        abort();
    out->st = st;
    out->cb = cb;
    out->privdata = privdata;
    char kz[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_ids", 1, 1);
    mc_cmd_add(&c, uscc ? mc_key(kz, sizeof(kz), "renorg", uscc) : "{mc}:renall");
    mc_cmd_addi(&c, MC_REN_LIST_MAX);
    mc_store_call(st, &c, read_ids, out, list_on_ids, out);
}

/* Keys 2i and 2i+1: renewal i and its order. */
static void list_key_at(const void *arg, size_t k, char *buf, size_t size)
{
    const mc_ren_list *l = arg;
    char oid[MC_PAY_OID_LEN + 1];
    if (k % 2 == 0) {
        mc_key(buf, size, "ren", l->ids[k / 2]);
        return;
    }
    mc_ren_order_id(l->ids[k / 2], oid);
    mc_key(buf, size, "order", oid);
}

/* The second call: every renewal and its order, O(n) keys
 * (mc_store_fcall_keys). Aborts on out of memory. */
static void list_on_ids(void *privdata, const mc_err *err)
{
    mc_ren_list *l = privdata;
    if (err->status != 0 || l->n == 0) {
        l->cb(l->privdata, err);
        return;
    }
    l->p = calloc(l->n, sizeof(*l->p));
    if (l->p == NULL)
        abort();
    mc_store_fcall_keys(l->st, "hgetall_many", 2 * l->n, list_key_at, l, read_rows, l, l->cb,
                        l->privdata);
}

/* ---- refund ---- */

void mc_store_renew_refund(mc_store *st, const mc_renewal *r, const char *holder,
                           const mc_actor *a, mc_ren_pair *out, mc_store_cb cb, void *privdata)
{
    char kr[64], ko[64], kf[96], ki[64], kc[96], oid[MC_PAY_OID_LEN + 1];
    mc_ren_order_id(r->id, oid);
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_refund", 7, 0);
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "ren", r->id));
    mc_cmd_add(&c, mc_key(ko, sizeof(ko), "order", oid));
    mc_cmd_add(&c, mc_key(kf, sizeof(kf), "renof", r->fp));
    mc_cmd_add(&c, "{mc}:refundq");
    mc_cmd_add(&c, mc_key(ki, sizeof(ki), "inv", oid));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", r->fp));
    mc_cmd_add(&c, r->id);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add(&c, holder);
    mc_store_call(st, &c, read_now_pair, out, cb, privdata);
}

/* ---- the extension's session ---- */

void mc_store_renew_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32],
                         int ttl, const mc_open_limits *lim, const mc_renewal *r,
                         const char *requester_name, const char *entry, size_t entry_len,
                         mc_open_result *out, mc_store_cb cb, void *privdata)
{
    char ks[64], kopens[96], kpending[96], kr[64], kiz[96], kih[96];
    char nna[24], years[24], ona[24];
    snprintf(nna, sizeof(nna), "%lld", (long long)mc_ren_new_not_after(r->old_not_after, r->years));
    snprintf(ona, sizeof(ona), "%lld", (long long)r->old_not_after);
    snprintf(years, sizeof(years), "%lld", (long long)r->years);
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_open", 6, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", s->sid));
    mc_cmd_add(&c, mc_key(kopens, sizeof(kopens), "opens", s->ip));
    mc_cmd_add(&c, mc_key(kpending, sizeof(kpending), "pending", s->ip));
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "ren", r->id));
    mc_cmd_add(&c, mc_key(kiz, sizeof(kiz), "inbox", r->fp));
    mc_cmd_add(&c, mc_key(kih, sizeof(kih), "inboxe", r->fp));
    mc_cmd_add(&c, r->id);
    mc_cmd_addn(&c, entry, entry_len);
    mc_cmd_addi(&c, ttl);
    mc_cmd_addi(&c, lim->opens_per_minute);
    mc_cmd_addi(&c, lim->pending);
    void *rec = mc_cmd_add_sess_open(&c, s, poll_hash, requester_name, r->uscc, r->org_name);
    static const char *const names[] = {"renewal", "want", "serial", "old_not_after",
                                        "new_not_after", "years"};
    const char *vals[] = {r->id, r->fp, r->serial, ona, nna, years};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        mc_cmd_add(&c, names[i]);
        mc_cmd_add(&c, vals[i]);
    }
    mc_store_call(st, &c, mc_sess_read_open, out, cb, privdata);
    free(rec);
}

void mc_store_renew_commit(mc_store *st, const mc_ren_commit *in, const mc_actor *a,
                           mc_answer_res *out, mc_store_cb cb, void *privdata)
{
    const mc_cert_rec *nc = in->nc;
    char ks[64], kr[64], kc[96], kn[96], ka[96], kf[96], kser[80], korg[64], kiz[96], kih[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_commit", 15, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", in->sid));
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "ren", in->rid));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", in->old_fp));
    mc_cmd_add(&c, mc_key(kn, sizeof(kn), "cert", nc->fp));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", in->login[0] ? in->login : "-"));
    mc_cmd_add(&c, mc_key(kf, sizeof(kf), "renof", in->old_fp));
    mc_cmd_add_cert_keys(&c, nc, kser, korg);
    mc_cmd_add(&c, "{mc}:crl");
    mc_cmd_add(&c, "{mc}:crlinfo");
    mc_cmd_add(&c, "{mc}:crlver");
    mc_cmd_add(&c, mc_key(kiz, sizeof(kiz), "inbox", in->old_fp));
    mc_cmd_add(&c, mc_key(kih, sizeof(kih), "inboxe", in->old_fp));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, "{mc}:crlexp");
    mc_cmd_add(&c, in->sid);
    mc_cmd_add(&c, in->answer);
    mc_cmd_add(&c, in->old_fp);
    mc_cmd_add(&c, nc->fp);
    mc_cmd_add(&c, in->login);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add(&c, in->rekey ? "1" : "0");
    mc_cmd_add(&c, in->rid);
    mc_cmd_addi(&c, in->new_not_after);
    mc_cmd_add_cert(&c, nc);
    mc_store_call(st, &c, mc_sess_read_answer, out, cb, privdata);
}

void mc_store_renew_reject(mc_store *st, const char *sid, const char *want, const char *fp,
                           const char *answer, const char *result, mc_answer_res *out,
                           mc_store_cb cb, void *privdata)
{
    char ks[64], kiz[96], kih[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "renew_reject", 3, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(kiz, sizeof(kiz), "inbox", want[0] ? want : "-"));
    mc_cmd_add(&c, mc_key(kih, sizeof(kih), "inboxe", want[0] ? want : "-"));
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, fp);
    mc_cmd_add(&c, answer);
    mc_cmd_add(&c, result);
    mc_store_call(st, &c, mc_sess_read_answer, out, cb, privdata);
}
