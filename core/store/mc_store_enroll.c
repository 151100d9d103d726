/*
 * mc_store_enroll.c — enrollment's records: arguments in, replies out (see
 * mc_store_enroll.h; the functions are in lua/enroll.lua).
 */
#include "mc_store_enroll.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_store_int.h"

/* ---- the application ---- */

#define R mc_enroll_app
static const mc_field app_fields[] = {
    MC_FSTR(R, id),          MC_FSTR(R, state),       MC_FSTR(R, applicant),
    MC_FSTR(R, uscc),        MC_FSTR(R, org_name),    MC_FSTR(R, holder_name),
    MC_FSTR(R, alg),         MC_FSTR(R, cert),
};
#undef R

static int read_app(const redisReply *r, void *out, mc_err *err)
{
    return mc_fields_read(app_fields, MC_NFIELDS(app_fields), r, out) != 0 ? MC_REPLY_SHAPE : 0;
}

void mc_store_enroll_app(mc_store *st, const char *id, mc_enroll_app *out, mc_store_cb cb,
                         void *privdata)
{
    char ka[64];
    mc_cmd c;
    mc_cmd_plain(&c, "HGETALL");
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "app", id));
    mc_store_call(st, &c, read_app, out, cb, privdata);
}

/* ---- redemption ---- */

static int kind_is(const redisReply *e, const char *k)
{
    return mc_reply_is_str(e) && strcmp(e->str, k) == 0;
}

/* {'wrong', n} | {'locked', 0} | {'limited', s} | {'again', fp} | {'open', holder_name,
 * org_name, uscc, alg, applicant} */
static int read_begin(const redisReply *r, void *out, mc_err *err)
{
    mc_enroll_try *t = out;
    memset(t, 0, sizeof(*t));
    if (!mc_reply_is_array(r, 0) || r->elements < 2 || !mc_reply_is_str(r->element[0]))
        return MC_REPLY_SHAPE;
    const redisReply *const *e = (const redisReply *const *)r->element;
    if ((kind_is(e[0], "wrong") || kind_is(e[0], "locked") || kind_is(e[0], "limited")) &&
        r->elements == 2 && mc_reply_is_int(e[1])) {
        t->kind = kind_is(e[0], "wrong")    ? MC_ENROLL_WRONG
                  : kind_is(e[0], "locked") ? MC_ENROLL_LOCKED
                                            : MC_ENROLL_LIMITED;
        t->tries_left = (int)e[1]->integer; /* LIMITED: the seconds to wait */
        return 0;
    }
    if (kind_is(e[0], "again") && r->elements == 2 && mc_reply_is_str(e[1])) {
        t->kind = MC_ENROLL_AGAIN;
        mc_reply_copy(t->fp, sizeof(t->fp), e[1]);
        return 0;
    }
    if (!kind_is(e[0], "open") || r->elements != 6)
        return MC_REPLY_SHAPE;
    for (size_t i = 1; i < 6; i++)
        if (!mc_reply_is_str(e[i]))
            return MC_REPLY_SHAPE;
    t->kind = MC_ENROLL_OPEN;
    mc_reply_copy(t->app.holder_name, sizeof(t->app.holder_name), e[1]);
    mc_reply_copy(t->app.org_name, sizeof(t->app.org_name), e[2]);
    mc_reply_copy(t->app.uscc, sizeof(t->app.uscc), e[3]);
    mc_reply_copy(t->app.alg, sizeof(t->app.alg), e[4]);
    mc_reply_copy(t->app.applicant, sizeof(t->app.applicant), e[5]);
    snprintf(t->app.state, sizeof(t->app.state), "approved_pending_issue");
    return 0;
}

void mc_store_enroll_begin(mc_store *st, const char *app, const char *code_hash,
                           const char *csr_hash, const char *sid, const mc_actor *a,
                           mc_enroll_try *out, mc_store_cb cb, void *privdata)
{
    char kact[64], kapp[64], ks[64], ki[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "enroll_begin", sid[0] ? 5 : 4, 0);
    mc_cmd_add(&c, mc_key(kact, sizeof(kact), "act", app));
    mc_cmd_add(&c, mc_key(kapp, sizeof(kapp), "app", app));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, mc_key(ki, sizeof(ki), "enrollfail-ip", a->from));
    if (sid[0])
        mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, code_hash);
    mc_cmd_add(&c, csr_hash);
    mc_cmd_addi(&c, MC_ENROLL_TRIES);
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add(&c, app);
    mc_cmd_addi(&c, MC_ENROLL_TRIES_PER_ADDRESS);
    mc_cmd_addi(&c, MC_ENROLL_WINDOW);
    mc_store_call(st, &c, read_begin, out, cb, privdata);
}

static int read_cert(const redisReply *r, void *out, mc_err *err)
{
    mc_enroll_cert *x = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_str(r->element[0]) ||
        !mc_reply_is_str(r->element[1]))
        return MC_REPLY_SHAPE;
    mc_reply_copy(x->status, sizeof(x->status), r->element[0]);
    x->der.len = 0;
    mc_buf_append(&x->der, r->element[1]->str, r->element[1]->len);
    return 0;
}

void mc_store_enroll_cert(mc_store *st, const char *fp, mc_enroll_cert *out, mc_store_cb cb,
                          void *privdata)
{
    char kc[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "enroll_cert", 1, 1);
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_store_call(st, &c, read_cert, out, cb, privdata);
}

/* {'ok', fp} | {'again', fp} */
static int read_commit(const redisReply *r, void *out, mc_err *err)
{
    mc_enroll_done *d = out;
    memset(d, 0, sizeof(*d));
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_str(r->element[1]) ||
        !(kind_is(r->element[0], "ok") || kind_is(r->element[0], "again")))
        return MC_REPLY_SHAPE;
    d->again = kind_is(r->element[0], "again");
    mc_reply_copy(d->fp, sizeof(d->fp), r->element[1]);
    return 0;
}

void mc_store_enroll_commit(mc_store *st, const char *app, const char *code_hash,
                            const char *csr_hash, const char *sid, const mc_cert_rec *cr,
                            const mc_actor *a, mc_enroll_done *out, mc_store_cb cb,
                            void *privdata)
{
    char kact[64], kapp[64], kc[96], kn[80], ko[64], ks[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "enroll_commit", sid[0] ? 7 : 6, 0);
    mc_cmd_add(&c, mc_key(kact, sizeof(kact), "act", app));
    mc_cmd_add(&c, mc_key(kapp, sizeof(kapp), "app", app));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", cr->fp));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add_cert_keys(&c, cr, kn, ko);
    if (sid[0])
        mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, code_hash);
    mc_cmd_add(&c, csr_hash);
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add(&c, app);
    mc_cmd_add(&c, cr->fp);
    mc_cmd_add_cert(&c, cr);
    mc_store_call(st, &c, read_commit, out, cb, privdata);
}

/* ---- the enroll QR session ---- */

void mc_store_enroll_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32],
                          int ttl, const mc_open_limits *lim, const mc_enroll_app *app,
                          const char *requester_name, mc_open_result *out, mc_store_cb cb,
                          void *privdata)
{
    char ks[64], kopens[96], kpending[96], kapp[64], kact[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "enroll_open", 5, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", s->sid));
    mc_cmd_add(&c, mc_key(kopens, sizeof(kopens), "opens", s->ip));
    mc_cmd_add(&c, mc_key(kpending, sizeof(kpending), "pending", s->ip));
    mc_cmd_add(&c, mc_key(kapp, sizeof(kapp), "app", app->id));
    mc_cmd_add(&c, mc_key(kact, sizeof(kact), "act", app->id));
    mc_cmd_add(&c, app->id);
    mc_cmd_addi(&c, ttl);
    mc_cmd_addi(&c, lim->opens_per_minute);
    mc_cmd_addi(&c, lim->pending);
    void *rec = mc_cmd_add_sess_open(&c, s, poll_hash, requester_name, app->uscc, app->org_name);
    mc_cmd_add(&c, "holder_name");
    mc_cmd_add(&c, app->holder_name);
    mc_store_call(st, &c, mc_sess_read_open, out, cb, privdata);
    free(rec);
}
