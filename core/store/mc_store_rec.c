/*
 * mc_store_rec.c — organisations, accounts, certificates, bindings and
 * the audit stream: arguments in, replies out (see
 * mc_store_rec.h). Each write is one Redis Function of lua/mcert.lua.
 */
#include "mc_store_rec.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"

static const mc_field org_fields[] = {
    MC_FSTR(mc_org, uscc), MC_FSTR(mc_org, name), MC_FINT(mc_org, created),
};

static const mc_field account_fields[] = {
    MC_FSTR(mc_account, login),    MC_FSTR(mc_account, name),     MC_FSTR(mc_account, org),
    MC_FSTR(mc_account, role),     MC_FSTR(mc_account, pw),       MC_FSTR(mc_account, cert),
    MC_FSTR(mc_account, bound_by), MC_FINT(mc_account, bound_at), MC_FINT(mc_account, bind_gen),
    MC_FINT(mc_account, created),
};

static const mc_field cert_fields[] = {
    MC_FSTR(mc_cert_rec, fp),         MC_FSTR(mc_cert_rec, serial),
    MC_FSTR(mc_cert_rec, uscc),       MC_FSTR(mc_cert_rec, cn),
    MC_FSTR(mc_cert_rec, org_name),   MC_FSTR(mc_cert_rec, issuer),
    MC_FSTR(mc_cert_rec, alg),        MC_FSTR(mc_cert_rec, status),
    MC_FSTR(mc_cert_rec, account),    MC_FINT(mc_cert_rec, not_before),
    MC_FINT(mc_cert_rec, not_after),  MC_FINT(mc_cert_rec, revoked_at),
    MC_FINT(mc_cert_rec, superseded_at),
};

/* exported for the other families (mc_store_web.c reads accounts too) */
int mc_rec_read_account(const redisReply *r, mc_account *out)
{
    return mc_fields_read(account_fields, MC_NFIELDS(account_fields), r, out);
}

/* A hash that must exist: an empty reply is not_found. */
static int read_found(const mc_field *tab, size_t n, const redisReply *r, void *out,
                      mc_err *err)
{
    if (mc_reply_is_array(r, 0) && r->elements == 0)
        return mc_err_set(err, 404, "not_found", "no such record");
    return mc_fields_read(tab, n, r, out);
}

static int read_org(const redisReply *r, void *out, mc_err *err)
{
    return read_found(org_fields, MC_NFIELDS(org_fields), r, out, err);
}

static int read_account(const redisReply *r, void *out, mc_err *err)
{
    return read_found(account_fields, MC_NFIELDS(account_fields), r, out, err);
}

int mc_rec_read_cert(const redisReply *r, void *out, mc_err *err)
{
    return mc_fields_read(cert_fields, MC_NFIELDS(cert_fields), r, out);
}

static void hgetall(mc_store *st, const char *kind, const char *id, mc_reply_fn parse,
                    void *out, mc_store_cb cb, void *privdata)
{
    char key[160];
    mc_cmd c;
    mc_cmd_plain(&c, "HGETALL");
    mc_cmd_add(&c, mc_key(key, sizeof(key), kind, id));
    mc_store_call(st, &c, parse, out, cb, privdata);
}

void mc_cert_rec_from_info(const mc_cert_info *ci, mc_cert_rec *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->fp, sizeof(c->fp), "%s", ci->fp_hex);
    snprintf(c->serial, sizeof(c->serial), "%s", ci->serial_hex);
    snprintf(c->uscc, sizeof(c->uscc), "%s", ci->uscc);
    snprintf(c->cn, sizeof(c->cn), "%s", ci->cn);
    snprintf(c->org_name, sizeof(c->org_name), "%s", ci->org_name);
    snprintf(c->issuer, sizeof(c->issuer), "%s", ci->issuer_cn);
    snprintf(c->alg, sizeof(c->alg), "%s", mc_alg_name(ci->alg));
    snprintf(c->status, sizeof(c->status), "valid");
    c->not_before = ci->not_before;
    c->not_after = ci->not_after;
}

void mc_cmd_add_cert_keys(mc_cmd *c, const mc_cert_rec *cr, char ks[80], char ko[64])
{
    mc_cmd_add(c, mc_key(ks, 80, "serial", cr->serial)); /* lua/ca.lua */
    mc_cmd_add(c, mc_key(ko, 64, "orgcerts", cr->uscc)); /* lua/apply.lua's fee */
}

void mc_cmd_add_cert(mc_cmd *c, const mc_cert_rec *cr)
{
    mc_cmd_add(c, cr->serial);
    mc_cmd_add(c, cr->uscc);
    mc_cmd_add(c, cr->cn);
    mc_cmd_add(c, cr->org_name);
    mc_cmd_add(c, cr->issuer);
    mc_cmd_add(c, cr->alg);
    mc_cmd_addi(c, cr->not_before);
    mc_cmd_addi(c, cr->not_after);
    mc_cmd_addn(c, cr->der.ptr != NULL ? (const void *)cr->der.ptr : "", cr->der.len);
}

/* ---- organisations and accounts ---- */

void mc_store_org_create(mc_store *st, const mc_org *o, const mc_actor *a, mc_store_cb cb,
                         void *privdata)
{
    char korg[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "org_create", 2, 0);
    mc_cmd_add(&c, mc_key(korg, sizeof(korg), "org", o->uscc));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, o->uscc);
    mc_cmd_add(&c, o->name);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}

void mc_store_org_get(mc_store *st, const char *uscc, mc_org *out, mc_store_cb cb,
                      void *privdata)
{
    hgetall(st, "org", uscc, read_org, out, cb, privdata);
}

void mc_store_account_create(mc_store *st, const mc_account *acc, const mc_actor *a,
                             mc_store_cb cb, void *privdata)
{
    char kacct[96], korgacc[64], korg[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "acct_create", 4, 0);
    mc_cmd_add(&c, mc_key(kacct, sizeof(kacct), "acct", acc->login));
    mc_cmd_add(&c, mc_key(korgacc, sizeof(korgacc), "orgaccts", acc->org));
    mc_cmd_add(&c, mc_key(korg, sizeof(korg), "org", acc->org));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, acc->login);
    mc_cmd_add(&c, acc->name);
    mc_cmd_add(&c, acc->org);
    mc_cmd_add(&c, acc->role);
    mc_cmd_add(&c, acc->pw);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}

void mc_store_account_get(mc_store *st, const char *login, mc_account *out, mc_store_cb cb,
                          void *privdata)
{
    hgetall(st, "acct", login, read_account, out, cb, privdata);
}

static int read_view(const redisReply *r, void *out, mc_err *err)
{
    mc_acct_view *v = out;
    if (!mc_reply_is_array(r, 2) ||
        mc_fields_read(org_fields, MC_NFIELDS(org_fields), r->element[0], &v->org) != 0 ||
        mc_fields_read(cert_fields, MC_NFIELDS(cert_fields), r->element[1], &v->cert) != 0)
        return MC_REPLY_SHAPE;
    return 0;
}

void mc_store_account_view(mc_store *st, const char *uscc, const char *fp, mc_acct_view *out,
                           mc_store_cb cb, void *privdata)
{
    char korg[64], kcert[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "hgetall_many", 2, 1);
    mc_cmd_add(&c, mc_key(korg, sizeof(korg), "org", uscc));
    mc_cmd_add(&c, mc_key(kcert, sizeof(kcert), "cert", fp[0] ? fp : "-"));
    mc_store_call(st, &c, read_view, out, cb, privdata);
}

/* ---- the organisation's list: members, their accounts, their certs ---- */

static int cmp_login(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int read_members(const redisReply *r, void *out, mc_err *err)
{
    mc_org_list *l = out;
    if (!mc_reply_is_array(r, 0))
        return MC_REPLY_SHAPE;
    size_t n = r->elements < MC_ORG_LIST_MAX ? r->elements : MC_ORG_LIST_MAX;
    /* every array of the three steps, at once: n is known now */
    l->logins = calloc(n ? n : 1, sizeof(*l->logins));
    l->accs = calloc(n ? n : 1, sizeof(*l->accs));
    l->certs = calloc(n ? n : 1, sizeof(*l->certs));
    if (l->logins == NULL || l->accs == NULL || l->certs == NULL)
        return mc_err_set(err, 503, "store_unavailable", "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return MC_REPLY_SHAPE;
        mc_reply_copy(l->logins[i], sizeof(l->logins[i]), r->element[i]);
    }
    l->n = n;
    qsort(l->logins, n, sizeof(*l->logins), cmp_login);
    return 0;
}

/* The keys of n hashes in one hgetall_many call: argv is built on the heap
 * because n is not small. */
static void call_many(mc_store *st, const char *kind, size_t n, const char *(*id)(void *, size_t),
                      void *ctx, mc_reply_fn parse, void *out, mc_store_cb cb);

static int read_accounts(const redisReply *r, void *out, mc_err *err)
{
    mc_org_list *l = out;
    if (!mc_reply_is_array(r, l->n))
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < l->n; i++)
        if (mc_fields_read(account_fields, MC_NFIELDS(account_fields), r->element[i],
                           &l->accs[i]) != 0)
            return MC_REPLY_SHAPE;
    return 0;
}

static int read_certs(const redisReply *r, void *out, mc_err *err)
{
    mc_org_list *l = out;
    if (!mc_reply_is_array(r, l->n))
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < l->n; i++)
        if (mc_fields_read(cert_fields, MC_NFIELDS(cert_fields), r->element[i], &l->certs[i]) !=
            0)
            return MC_REPLY_SHAPE;
    return 0;
}

static const char *login_at(void *ctx, size_t i)
{
    return ((mc_org_list *)ctx)->logins[i];
}

static const char *cert_at(void *ctx, size_t i)
{
    mc_org_list *l = ctx;
    /* an unbound account still takes a slot: a key that never exists */
    return l->accs[i].cert[0] ? l->accs[i].cert : "-";
}

/* The last step, or an error of any step. */
static void list_done(void *privdata, const mc_err *err)
{
    mc_org_list *l = privdata;
    l->cb(l->privdata, err);
}

static void list_on_accounts(void *privdata, const mc_err *err)
{
    mc_org_list *l = privdata;
    if (err->status != 0)
        list_done(l, err);
    else
        call_many(l->st, "cert", l->n, cert_at, l, read_certs, l, list_done);
}

static void list_on_members(void *privdata, const mc_err *err)
{
    mc_org_list *l = privdata;
    if (err->status != 0)
        list_done(l, err);
    else
        call_many(l->st, "acct", l->n, login_at, l, read_accounts, l, list_on_accounts);
}

void mc_store_org_list(mc_store *st, const char *uscc, mc_org_list *out, mc_store_cb cb,
                       void *privdata)
{
    memset(out, 0, sizeof(*out));
    out->st = st;
    out->cb = cb;
    out->privdata = privdata;
    char key[64];
    mc_cmd c;
    mc_cmd_plain(&c, "SMEMBERS");
    mc_cmd_add(&c, mc_key(key, sizeof(key), "orgaccts", uscc));
    mc_store_call(st, &c, read_members, out, list_on_members, out);
}

void mc_org_list_free(mc_org_list *l)
{
    if (l == NULL)
        return;
    if (l->accs)
        OPENSSL_cleanse(l->accs, l->n * sizeof(*l->accs)); /* password hashes */
    free(l->accs);
    free(l->certs);
    free(l->logins);
    l->accs = NULL;
    l->certs = NULL;
    l->logins = NULL;
}

/* ---- certificates and bindings ---- */

void mc_store_cert_put(mc_store *st, const mc_cert_rec *cr, const mc_actor *a, mc_store_cb cb,
                       void *privdata)
{
    char kc[96], kn[80], ko[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "cert_put", 4, 0);
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", cr->fp));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add_cert_keys(&c, cr, kn, ko);
    mc_cmd_add(&c, cr->fp);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add_cert(&c, cr);
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}

void mc_store_cert_get(mc_store *st, const char *fp, mc_cert_rec *out, mc_store_cb cb,
                       void *privdata)
{
    hgetall(st, "cert", fp, mc_rec_read_cert, out, cb, privdata);
}

void mc_store_unbind(mc_store *st, const char *login, const char *fp, const mc_actor *a,
                     mc_store_cb cb, void *privdata)
{
    char ka[96], kc[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "unbind", 3, 0);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, login);
    mc_cmd_add(&c, fp);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}

/* ---- one read of many hashes ---- */

static void call_many(mc_store *st, const char *kind, size_t n, const char *(*id)(void *, size_t),
                      void *ctx, mc_reply_fn parse, void *out, mc_store_cb cb)
{
    size_t argc = 3 + n;
    const char **argv = calloc(argc, sizeof(*argv));
    size_t *lens = calloc(argc, sizeof(*lens));
    char (*keys)[160] = calloc(n ? n : 1, sizeof(*keys));
    char nk[24];
    if (argv == NULL || lens == NULL || keys == NULL) {
        free(argv);
        free(lens);
        free(keys);
        mc_err e;
        mc_err_set(&e, 503, "store_unavailable", "out of memory");
        cb(ctx, &e);
        return;
    }
    argv[0] = "FCALL_RO";
    argv[1] = "hgetall_many";
    snprintf(nk, sizeof(nk), "%zu", n);
    argv[2] = nk;
    for (size_t i = 0; i < n; i++)
        argv[3 + i] = mc_key(keys[i], sizeof(keys[i]), kind, id(ctx, i));
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    mc_store_callv(st, (int)argc, argv, lens, parse, out, cb, ctx);
    free(argv);
    free(lens);
    free(keys);
}

/* ---- audit ---- */

static int read_count(const redisReply *r, void *out, mc_err *err)
{
    if (!mc_reply_is_int(r))
        return MC_REPLY_SHAPE;
    *(long long *)out = r->integer;
    return 0;
}

typedef struct audit_walk {
    mc_audit_cb cb;
    void *privdata;
} audit_walk;

static int read_audit(const redisReply *r, void *out, mc_err *err)
{
    audit_walk *w = out;
    if (!mc_reply_is_array(r, 0))
        return MC_REPLY_SHAPE;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (!mc_reply_is_array(e, 2) || e->element[0]->type != REDIS_REPLY_STRING ||
            !mc_reply_is_array(e->element[1], 0))
            return MC_REPLY_SHAPE;
        const redisReply *f = e->element[1];
        const char *kv[64];
        size_t n = 0;
        for (size_t k = 0; k < f->elements && n < 64; k++)
            if (f->element[k]->type == REDIS_REPLY_STRING)
                kv[n++] = f->element[k]->str;
        w->cb(w->privdata, e->element[0]->str, kv, n);
    }
    return 0;
}

int mc_store_audit_each(mc_store *st, size_t count, mc_audit_cb cb, void *privdata, mc_err *err)
{
    audit_walk w = {cb, privdata};
    mc_cmd c;
    mc_cmd_plain(&c, "XREVRANGE");
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, "+");
    mc_cmd_add(&c, "-");
    mc_cmd_add(&c, "COUNT");
    mc_cmd_addi(&c, (long long)count);
    mc_err e;
    mc_store_call(st, &c, read_audit, &w, mc_store_sync_cb, &e);
    if (err)
        *err = e;
    return e.status ? -1 : 0;
}

int mc_store_audit_len(mc_store *st, long long *n, mc_err *err)
{
    mc_cmd c;
    mc_cmd_plain(&c, "XLEN");
    mc_cmd_add(&c, "{mc}:audit");
    mc_err e;
    mc_store_call(st, &c, read_count, n, mc_store_sync_cb, &e);
    if (err)
        *err = e;
    return e.status ? -1 : 0;
}
