/*
 * mc_store_sess.c — QR sessions: arguments in, replies out (see
 * mc_store_sess.h). The session hash is read through one field table into
 * mc_sess_rec (strings as stored), then converted to mc_session; a record
 * that does not convert is corrupt: 503, but the reply order is fine, so
 * the connection stays.
 */
#include "mc_store_sess.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_crypto.h"
#include "mc_store_int.h"

/* The session hash as stored. */
typedef struct mc_sess_rec {
    char sid[MC_SID_LEN + 1];
    char purpose[16];
    char state[12];
    char nonce[2 * MC_NONCE_LEN + 1];
    char origin[MC_ORIGIN_MAX + 1];
    char account[MC_ACCOUNT_MAX + 1];
    char requester[MC_ACCOUNT_MAX + 1];
    char requester_name[129];
    char org[MC_USCC_LEN + 1];
    char org_name[129];
    char ip[MC_IP_MAX + 1];
    char ua[MC_UA_MAX + 1];
    int64_t created, expires, match;
    char choices[16];
    char poll[65];
    char cert[65];
    char claimed[4];
    char result[16];
} mc_sess_rec;

#define R mc_sess_rec
static const mc_field sess_fields[] = {
    MC_FSTR(R, sid),       MC_FSTR(R, purpose),   MC_FSTR(R, state),
    MC_FSTR(R, nonce),     MC_FSTR(R, origin),    MC_FSTR(R, account),
    MC_FSTR(R, requester), MC_FSTR(R, requester_name), MC_FSTR(R, org_name),
    MC_FSTR(R, org),       MC_FSTR(R, ip),        MC_FSTR(R, ua),
    MC_FINT(R, created),
    MC_FINT(R, expires),   MC_FINT(R, match),     MC_FSTR(R, choices),
    MC_FSTR(R, poll),      MC_FSTR(R, cert),      MC_FSTR(R, claimed),
    MC_FSTR(R, result),
};
/* What sess_open writes (created, expires, state come from Redis). */
static const mc_field sess_open_fields[] = {
    MC_FSTR(R, sid),       MC_FSTR(R, purpose),   MC_FSTR(R, nonce),
    MC_FSTR(R, origin),    MC_FSTR(R, account),   MC_FSTR(R, requester),
    MC_FSTR(R, requester_name), MC_FSTR(R, org), MC_FSTR(R, org_name),
    MC_FSTR(R, ip),        MC_FSTR(R, ua),        MC_FINT(R, match),
    MC_FSTR(R, choices),
    MC_FSTR(R, poll),
};
#undef R

static int corrupt(mc_err *err)
{
    return mc_err_set(err, 503, "store_unavailable", "corrupt session record");
}

/* Read a session hash reply into s (and rec, if given). now: Redis's clock,
 * or 0 to leave the state as stored. */
static int read_session(const redisReply *r, int64_t now, mc_session *s, mc_sess_rec *rec,
                        mc_err *err)
{
    mc_sess_rec tmp;
    if (rec == NULL)
        rec = &tmp;
    if (mc_fields_read(sess_fields, MC_NFIELDS(sess_fields), r, rec) != 0)
        return MC_REPLY_SHAPE;
    memset(s, 0, sizeof(*s));
    memcpy(s->sid, rec->sid, sizeof(s->sid));
    s->purpose = mc_purpose_parse(rec->purpose, strlen(rec->purpose));
    snprintf(s->state, sizeof(s->state), "%s", rec->state);
    snprintf(s->origin, sizeof(s->origin), "%s", rec->origin);
    snprintf(s->account, sizeof(s->account), "%s", rec->account);
    snprintf(s->requester, sizeof(s->requester), "%s", rec->requester);
    snprintf(s->ip, sizeof(s->ip), "%s", rec->ip);
    snprintf(s->ua, sizeof(s->ua), "%s", rec->ua);
    s->created = rec->created;
    s->expires = rec->expires;
    s->match = (uint32_t)rec->match;
    if (sscanf(rec->choices, "%u,%u,%u", &s->choices[0], &s->choices[1], &s->choices[2]) != 3 ||
        mc_unhex(rec->nonce, strlen(rec->nonce), s->nonce, MC_NONCE_LEN) != 0 ||
        s->purpose == MC_PURPOSE_NONE)
        return corrupt(err);
    if (now > 0 && (strcmp(s->state, "pending") == 0 || strcmp(s->state, "scanned") == 0) &&
        now >= s->expires)
        snprintf(s->state, sizeof(s->state), "expired");
    return 0;
}

/* ---- open ---- */

static int read_open(const redisReply *r, void *out, mc_err *err)
{
    mc_open_result *o = out;
    memset(o, 0, sizeof(*o));
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]) ||
        !mc_reply_is_int(r->element[1]))
        return MC_REPLY_SHAPE;
    if (r->element[0]->integer == 0) {
        o->limited = 1;
        o->retry_after = (int)r->element[1]->integer;
        return 0;
    }
    o->created = r->element[0]->integer;
    o->expires = r->element[1]->integer;
    return 0;
}

void mc_store_sess_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32], int ttl,
                        const mc_open_limits *lim, const char *requester_name,
                        const char *org, const char *org_name, mc_open_result *out,
                        mc_store_cb cb, void *privdata)
{
    mc_sess_rec rec;
    memset(&rec, 0, sizeof(rec));
    memcpy(rec.sid, s->sid, sizeof(rec.sid));
    snprintf(rec.purpose, sizeof(rec.purpose), "%s", mc_purpose_name(s->purpose));
    mc_hex(s->nonce, MC_NONCE_LEN, rec.nonce);
    snprintf(rec.origin, sizeof(rec.origin), "%s", s->origin);
    snprintf(rec.account, sizeof(rec.account), "%s", s->account);
    snprintf(rec.requester, sizeof(rec.requester), "%s", s->requester);
    snprintf(rec.requester_name, sizeof(rec.requester_name), "%s", requester_name);
    snprintf(rec.org, sizeof(rec.org), "%s", org);
    snprintf(rec.org_name, sizeof(rec.org_name), "%s", org_name);
    snprintf(rec.ip, sizeof(rec.ip), "%s", s->ip);
    snprintf(rec.ua, sizeof(rec.ua), "%s", s->ua);
    rec.match = s->match;
    snprintf(rec.choices, sizeof(rec.choices), "%u,%u,%u", s->choices[0], s->choices[1],
             s->choices[2]);
    mc_hex(poll_hash, 32, rec.poll);
    char key[64], kopens[96], kpending[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "sess_open", 3, 0);
    mc_cmd_add(&c, mc_key(key, sizeof(key), "sess", s->sid));
    mc_cmd_add(&c, mc_key(kopens, sizeof(kopens), "opens", s->ip));
    mc_cmd_add(&c, mc_key(kpending, sizeof(kpending), "pending", s->ip));
    mc_cmd_addi(&c, ttl);
    mc_cmd_addi(&c, lim->opens_per_minute);
    mc_cmd_addi(&c, lim->pending);
    mc_fields_add(&c, sess_open_fields, MC_NFIELDS(sess_open_fields), &rec);
    mc_store_call(st, &c, read_open, out, cb, privdata);
}

static int read_exists(const redisReply *r, void *out, mc_err *err)
{
    if (!mc_reply_is_int(r))
        return MC_REPLY_SHAPE;
    *(long long *)out = r->integer;
    return 0;
}

void mc_store_sess_exists(mc_store *st, const char *sid, long long *out, mc_store_cb cb,
                          void *privdata)
{
    char key[64];
    mc_cmd c;
    mc_cmd_plain(&c, "EXISTS");
    mc_cmd_add(&c, mc_key(key, sizeof(key), "sess", sid));
    mc_store_call(st, &c, read_exists, out, cb, privdata);
}

/* ---- the phone's fetch ---- */

static int read_scan(const redisReply *r, void *out, mc_err *err)
{
    mc_session_view *v = out;
    mc_sess_rec rec;
    int rc = read_session(r, 0, &v->s, &rec, err);
    if (rc != 0)
        return rc;
    snprintf(v->requester_name, sizeof(v->requester_name), "%s", rec.requester_name);
    snprintf(v->org_name, sizeof(v->org_name), "%s", rec.org_name);
    return 0;
}

/* A function of the session key alone; the sid as its argument if
 * with_sid (it publishes). */
static void sess_fcall(mc_store *st, const char *fn, int ro, const char *sid, int with_sid,
                       mc_reply_fn parse, void *out, mc_store_cb cb, void *privdata)
{
    char key[64];
    mc_cmd c;
    mc_cmd_fcall(&c, fn, 1, ro);
    mc_cmd_add(&c, mc_key(key, sizeof(key), "sess", sid));
    if (with_sid)
        mc_cmd_add(&c, sid);
    mc_store_call(st, &c, parse, out, cb, privdata);
}

void mc_store_sess_scan(mc_store *st, const char *sid, mc_session_view *out, mc_store_cb cb,
                        void *privdata)
{
    sess_fcall(st, "sess_scan", 0, sid, 1, read_scan, out, cb, privdata);
}

/* ---- answers ---- */

/* {'dup'|'ok', result, account} */
static int read_result(const redisReply *r, int *dup, char result[16],
                       char account[MC_ACCOUNT_MAX + 1])
{
    if (!mc_reply_is_array(r, 3) || !mc_reply_is_str(r->element[0]) ||
        !mc_reply_is_str(r->element[1]) || !mc_reply_is_str(r->element[2]))
        return MC_REPLY_SHAPE;
    *dup = strcmp(r->element[0]->str, "dup") == 0;
    mc_reply_copy(result, 16, r->element[1]);
    mc_reply_copy(account, MC_ACCOUNT_MAX + 1, r->element[2]);
    return 0;
}

static int read_answer_ctx(const redisReply *r, void *out, mc_err *err)
{
    mc_answer_ctx *x = out;
    memset(x, 0, sizeof(*x));
    if (mc_reply_is_array(r, 3))
        return read_result(r, &x->dup, x->result, x->account);
    if (!mc_reply_is_array(r, 4) || !mc_reply_is_str(r->element[2]) ||
        !mc_reply_is_str(r->element[3]))
        return MC_REPLY_SHAPE;
    mc_sess_rec rec;
    int rc = read_session(r->element[1], 0, &x->s, &rec, err);
    if (rc != 0)
        return rc;
    memcpy(x->org, rec.org, sizeof(x->org));
    mc_reply_copy(x->cert_account, sizeof(x->cert_account), r->element[2]);
    mc_reply_copy(x->cert_status, sizeof(x->cert_status), r->element[3]);
    return 0;
}

void mc_store_sess_answer_ctx(mc_store *st, const char *sid, const char *fp, const char *answer,
                              mc_answer_ctx *out, mc_store_cb cb, void *privdata)
{
    char ks[64], kc[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "sess_answer_ctx", 2, 1);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_cmd_add(&c, answer);
    mc_store_call(st, &c, read_answer_ctx, out, cb, privdata);
}

static int read_answer_res(const redisReply *r, void *out, mc_err *err)
{
    mc_answer_res *x = out;
    memset(x, 0, sizeof(*x));
    return read_result(r, &x->dup, x->result, x->account);
}

void mc_store_bind_approve(mc_store *st, const char *sid, const char *login,
                           const char *requester, const mc_cert_rec *cr, const char *answer,
                           const mc_actor *a, mc_answer_res *out, mc_store_cb cb,
                           void *privdata)
{
    char ks[64], ka[96], kc[96], kr[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "bind_approve", 5, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", cr->fp));
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "acct", requester[0] ? requester : login));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, cr->fp);
    mc_cmd_add(&c, login);
    mc_cmd_add(&c, answer);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add_cert(&c, cr);
    mc_store_call(st, &c, read_answer_res, out, cb, privdata);
}

void mc_store_login_approve(mc_store *st, const char *sid, const char *fp, const char *uscc,
                            const char *login, const char *answer, const mc_actor *a,
                            mc_answer_res *out, mc_store_cb cb, void *privdata)
{
    char ks[64], kc[96], ka[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "login_approve", 4, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login[0] ? login : "-"));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, fp);
    mc_cmd_add(&c, uscc);
    mc_cmd_add(&c, answer);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add(&c, login);
    mc_store_call(st, &c, read_answer_res, out, cb, privdata);
}

void mc_store_sess_reject(mc_store *st, const char *sid, const char *fp, const char *answer,
                          const char *result, mc_answer_res *out, mc_store_cb cb,
                          void *privdata)
{
    char ks[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "sess_reject", 1, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, fp);
    mc_cmd_add(&c, answer);
    mc_cmd_add(&c, result);
    mc_store_call(st, &c, read_answer_res, out, cb, privdata);
}

/* ---- the browser's poll ---- */

static int read_poll(const redisReply *r, void *out, mc_err *err)
{
    mc_sess_poll *p = out;
    memset(p, 0, sizeof(*p));
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]))
        return MC_REPLY_SHAPE;
    p->now = r->element[0]->integer;
    mc_sess_rec rec;
    int rc = read_session(r->element[1], p->now, &p->s, &rec, err);
    if (rc != 0)
        return rc;
    memcpy(p->cert, rec.cert, sizeof(p->cert));
    memcpy(p->result, rec.result, sizeof(p->result));
    p->claimed = rec.claimed[0] == '1';
    if (mc_unhex(rec.poll, strlen(rec.poll), p->poll_hash, 32) != 0)
        return corrupt(err);
    return 0;
}

void mc_store_sess_poll(mc_store *st, const char *sid, mc_sess_poll *out, mc_store_cb cb,
                        void *privdata)
{
    sess_fcall(st, "sess_poll", 1, sid, 0, read_poll, out, cb, privdata);
}

static int read_mint(const redisReply *r, void *out, mc_err *err)
{
    mc_mint *m = out;
    if (!mc_reply_is_array(r, 3) || !mc_reply_is_str(r->element[0]) ||
        !mc_reply_is_int(r->element[1]) || !mc_reply_is_int(r->element[2]))
        return MC_REPLY_SHAPE;
    m->session_expires = r->element[2]->integer;
    const char *k = r->element[0]->str;
    m->kind = strcmp(k, "new") == 0 ? MC_MINT_NEW : strcmp(k, "again") == 0 ? MC_MINT_AGAIN
              : strcmp(k, "ended") == 0 ? MC_MINT_ENDED : 0;
    if (m->kind == 0)
        return MC_REPLY_SHAPE;
    m->expires = r->element[1]->integer;
    return 0;
}

void mc_store_login_mint(mc_store *st, const char *sid, const uint8_t poll_hash[32],
                         const char *tok_hash, int ttl, const char *ip, const char *login,
                         const char *fp, mc_mint *out, mc_store_cb cb, void *privdata)
{
    char ks[64], kw[96], kc[96], ka[96], ph[65];
    mc_hex(poll_hash, 32, ph);
    mc_cmd c;
    mc_cmd_fcall(&c, "login_mint", 5, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(kw, sizeof(kw), "web", tok_hash));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp[0] ? fp : "-"));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login[0] ? login : "-"));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, ph);
    mc_cmd_addi(&c, ttl);
    mc_cmd_add(&c, ip);
    mc_cmd_add(&c, ip);
    mc_cmd_add(&c, login);
    mc_cmd_add(&c, fp);
    mc_store_call(st, &c, read_mint, out, cb, privdata);
}
