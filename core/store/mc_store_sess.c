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
#include "mc_enroll_proto.h"
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
    /* sign sessions (§8); the binary fields docs and results are read
     * apart (sign_blob) */
    char text[MC_SIGN_TEXT_MAX + 1];
    int64_t signing_time, ndocs;
    char alg[8];
    char apikey[24];
    char want[65];
    /* enroll sessions (§9.7) */
    char app[MC_APP_ID_MAX + 1];
    char holder_name[129];
    /* renew sessions (§10.3; want above: the certificate renewed) */
    char renewal[MC_RENEWAL_ID_LEN + 1];
    char serial[MC_SERIAL_HEX_MAX + 1];
    int64_t old_not_after, new_not_after, years;
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
    MC_FSTR(R, result),    MC_FSTR(R, text),      MC_FINT(R, signing_time),
    MC_FINT(R, ndocs),     MC_FSTR(R, alg),       MC_FSTR(R, apikey),
    MC_FSTR(R, want),      MC_FSTR(R, app),       MC_FSTR(R, holder_name),
    MC_FSTR(R, renewal),   MC_FSTR(R, serial),    MC_FINT(R, old_not_after),
    MC_FINT(R, new_not_after), MC_FINT(R, years),
};
/* What sign_open writes besides sess_open_fields (signing_time comes from
 * Redis). */
static const mc_field sign_open_fields[] = {
    MC_FSTR(R, text), MC_FINT(R, ndocs), MC_FSTR(R, alg), MC_FSTR(R, apikey), MC_FSTR(R, want),
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

/* The value of field `name` in a hash reply (flat field/value array), or
 * NULL. O(fields). */
static const redisReply *hash_field(const redisReply *r, const char *name)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1];
    return NULL;
}

/* A sign session's documents and the rest of its sign fields into si. */
static int read_sign(const redisReply *hash, const mc_sess_rec *rec, mc_sign_info *si,
                     mc_err *err)
{
    const redisReply *d = hash_field(hash, "docs");
    mc_err e2;
    mc_err_clear(&e2);
    memset(si, 0, sizeof(*si));
    if (d == NULL || d->type != REDIS_REPLY_STRING ||
        mc_docs_decode((const uint8_t *)d->str, d->len, si, &e2) != 0 ||
        (int64_t)si->ndocs != rec->ndocs)
        return corrupt(err);
    si->signing_time = rec->signing_time;
    memcpy(si->text, rec->text, sizeof(si->text));
    return 0;
}

/* A renew session's view extras from its record (§10.3). */
static int read_renew(const mc_sess_rec *rec, mc_renew_info *ri, mc_err *err)
{
    memset(ri, 0, sizeof(*ri));
    if (strlen(rec->renewal) != MC_RENEWAL_ID_LEN || rec->years < 1 ||
        rec->years > MC_RENEW_YEARS_MAX || rec->new_not_after <= 0 || rec->old_not_after < 0)
        return corrupt(err);
    memcpy(ri->renewal, rec->renewal, sizeof(rec->renewal));
    memcpy(ri->serial, rec->serial, sizeof(rec->serial));
    ri->not_after = rec->old_not_after;
    ri->new_not_after = rec->new_not_after;
    ri->years = (uint32_t)rec->years;
    return 0;
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

static void open_rec(mc_sess_rec *rec, const mc_session *s, const uint8_t poll_hash[32],
                     const char *requester_name, const char *org, const char *org_name);

void mc_store_sess_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32], int ttl,
                        const mc_open_limits *lim, const char *requester_name,
                        const char *org, const char *org_name, mc_open_result *out,
                        mc_store_cb cb, void *privdata)
{
    mc_sess_rec rec;
    open_rec(&rec, s, poll_hash, requester_name, org, org_name);
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

/* The session fields common to sess_open and sign_open. */
static void open_rec(mc_sess_rec *rec, const mc_session *s, const uint8_t poll_hash[32],
                     const char *requester_name, const char *org, const char *org_name)
{
    memset(rec, 0, sizeof(*rec));
    memcpy(rec->sid, s->sid, sizeof(rec->sid));
    snprintf(rec->purpose, sizeof(rec->purpose), "%s", mc_purpose_name(s->purpose));
    mc_hex(s->nonce, MC_NONCE_LEN, rec->nonce);
    snprintf(rec->origin, sizeof(rec->origin), "%s", s->origin);
    snprintf(rec->account, sizeof(rec->account), "%s", s->account);
    snprintf(rec->requester, sizeof(rec->requester), "%s", s->requester);
    snprintf(rec->requester_name, sizeof(rec->requester_name), "%s", requester_name);
    snprintf(rec->org, sizeof(rec->org), "%s", org);
    snprintf(rec->org_name, sizeof(rec->org_name), "%s", org_name);
    snprintf(rec->ip, sizeof(rec->ip), "%s", s->ip);
    snprintf(rec->ua, sizeof(rec->ua), "%s", s->ua);
    rec->match = s->match;
    snprintf(rec->choices, sizeof(rec->choices), "%u,%u,%u", s->choices[0], s->choices[1],
             s->choices[2]);
    mc_hex(poll_hash, 32, rec->poll);
}

/* "alg:hex,alg:hex,..." — the documents as the audit records them, the
 * same line for sign_open and sign_approve. */
#define DOCS_AUDIT_MAX (MC_DOCS_MAX * (sizeof(((mc_doc *)0)->alg) + 2 * MC_DIGEST_LEN + 1) + 1)
static void docs_audit(const mc_sign_info *si, char out[DOCS_AUDIT_MAX])
{
    char *p = out;
    *p = '\0';
    for (size_t i = 0; i < si->ndocs && i < MC_DOCS_MAX; i++) {
        char hex[2 * MC_DIGEST_LEN + 1];
        mc_hex(si->docs[i].digest, MC_DIGEST_LEN, hex);
        p += snprintf(p, DOCS_AUDIT_MAX - (size_t)(p - out), "%s%s:%s", i ? "," : "",
                      si->docs[i].alg, hex);
    }
}

void mc_store_sign_open(mc_store *st, const mc_session *s, const uint8_t poll_hash[32], int ttl,
                        const char *requester_name, const char *org, const char *org_name,
                        const mc_sign_open *so, const mc_actor *a, mc_open_result *out,
                        mc_store_cb cb, void *privdata)
{
    mc_sess_rec *rec = malloc(sizeof(*rec));
    if (rec == NULL)
        abort(); /* out of memory (the transport aborts the same way) */
    open_rec(rec, s, poll_hash, requester_name, org, org_name);
    snprintf(rec->text, sizeof(rec->text), "%s", so->si->text);
    rec->ndocs = (int64_t)so->si->ndocs;
    snprintf(rec->alg, sizeof(rec->alg), "%s", so->alg);
    snprintf(rec->apikey, sizeof(rec->apikey), "%s", so->apikey);
    snprintf(rec->want, sizeof(rec->want), "%s", so->want);
    mc_buf docs = {0};
    mc_docs_encode(so->si, &docs);
    char audit[DOCS_AUDIT_MAX];
    docs_audit(so->si, audit);
    char ks[64], kiz[112], kih[112], khz[112], khh[112];
    mc_cmd c;
    mc_cmd_fcall(&c, "sign_open", 6, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", s->sid));
    mc_cmd_add(&c, mc_key(kiz, sizeof(kiz), "inbox", so->want));
    mc_cmd_add(&c, mc_key(kih, sizeof(kih), "inboxe", so->want));
    mc_cmd_add(&c, mc_key(khz, sizeof(khz), "signs", s->account));
    mc_cmd_add(&c, mc_key(khh, sizeof(khh), "signh", s->account));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_addi(&c, ttl);
    mc_cmd_addn(&c, so->entry, so->entry_len);
    mc_cmd_add(&c, so->summary);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add(&c, audit);
    mc_fields_add(&c, sess_open_fields, MC_NFIELDS(sess_open_fields), rec);
    mc_fields_add(&c, sign_open_fields, MC_NFIELDS(sign_open_fields), rec);
    mc_cmd_add(&c, "docs");
    mc_cmd_addn(&c, docs.ptr, docs.len);
    mc_store_call(st, &c, read_open, out, cb, privdata);
    mc_buf_free(&docs);
    free(rec);
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
    if (v->s.purpose == MC_PURPOSE_ENROLL) {
        if (!mc_app_id_valid(rec.app, strlen(rec.app)))
            return corrupt(err);
        memcpy(v->app, rec.app, sizeof(v->app));
        memcpy(v->holder_name, rec.holder_name, sizeof(v->holder_name));
    }
    if (v->s.purpose == MC_PURPOSE_SIGN)
        return v->sign != NULL ? read_sign(r, &rec, v->sign, err) : corrupt(err);
    if (v->s.purpose == MC_PURPOSE_RENEW)
        return v->renew != NULL ? read_renew(&rec, v->renew, err) : corrupt(err);
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
    mc_sign_info *si = x->sign;
    memset(x, 0, sizeof(*x));
    x->sign = si;
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
    if (x->s.purpose == MC_PURPOSE_SIGN) {
        memcpy(x->alg, rec.alg, sizeof(x->alg));
        memcpy(x->want, rec.want, sizeof(x->want));
        return si != NULL ? read_sign(r->element[1], &rec, si, err) : corrupt(err);
    }
    if (x->s.purpose == MC_PURPOSE_RENEW) {
        memcpy(x->want, rec.want, sizeof(x->want));
        return read_renew(&rec, &x->renew, err);
    }
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
    char ks[64], ka[96], kc[96], kr[96], kn[80], ko[64];
    mc_cmd c;
    mc_cmd_fcall(&c, "bind_approve", 7, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", cr->fp));
    mc_cmd_add(&c, mc_key(kr, sizeof(kr), "acct", requester[0] ? requester : login));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add_cert_keys(&c, cr, kn, ko);
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, cr->fp);
    mc_cmd_add(&c, login);
    mc_cmd_add(&c, answer);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_cmd_add_cert(&c, cr);
    mc_store_call(st, &c, read_answer_res, out, cb, privdata);
}

/* The audit key and the ARGV that login_approve and sign_approve share:
 * sid, fp, uscc, answer, who, from, login. */
static void approve_args(mc_cmd *c, const char *sid, const char *fp, const char *uscc,
                         const char *answer, const mc_actor *a, const char *login)
{
    mc_cmd_add(c, "{mc}:audit");
    mc_cmd_add(c, sid);
    mc_cmd_add(c, fp);
    mc_cmd_add(c, uscc);
    mc_cmd_add(c, answer);
    mc_cmd_add(c, a->who);
    mc_cmd_add(c, a->from);
    mc_cmd_add(c, login);
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
    approve_args(&c, sid, fp, uscc, answer, a, login);
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
    memcpy(p->apikey, rec.apikey, sizeof(p->apikey));
    memcpy(p->want, rec.want, sizeof(p->want));
    p->ndocs = (int)rec.ndocs;
    p->signing_time = rec.signing_time;
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

/* ---- sign sessions: the answer and the collection ---- */

void mc_store_sign_approve(mc_store *st, const char *sid, const char *fp, const char *uscc,
                           const char *login, const char *answer, const mc_buf *results,
                           const mc_sign_info *si, const mc_actor *a, mc_answer_res *out,
                           mc_store_cb cb, void *privdata)
{
    char ks[64], kc[96], ka[96], kiz[112], kih[112], khh[112], audit[DOCS_AUDIT_MAX];
    docs_audit(si, audit);
    mc_cmd c;
    mc_cmd_fcall(&c, "sign_approve", 7, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(kc, sizeof(kc), "cert", fp));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login[0] ? login : "-"));
    mc_cmd_add(&c, mc_key(kiz, sizeof(kiz), "inbox", fp));
    mc_cmd_add(&c, mc_key(kih, sizeof(kih), "inboxe", fp));
    mc_cmd_add(&c, mc_key(khh, sizeof(khh), "signh", login[0] ? login : "-"));
    approve_args(&c, sid, fp, uscc, answer, a, login);
    mc_cmd_addn(&c, results->ptr, results->len);
    mc_cmd_add(&c, audit);
    mc_store_call(st, &c, read_answer_res, out, cb, privdata);
}

void mc_store_sign_reject(mc_store *st, const char *sid, const char *want, const char *login,
                          const char *fp, const char *answer, const char *result,
                          const mc_actor *a, mc_answer_res *out, mc_store_cb cb,
                          void *privdata)
{
    char ks[64], kiz[112], kih[112], khh[112];
    mc_cmd c;
    mc_cmd_fcall(&c, "sign_reject", 5, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, mc_key(kiz, sizeof(kiz), "inbox", want[0] ? want : "-"));
    mc_cmd_add(&c, mc_key(kih, sizeof(kih), "inboxe", want[0] ? want : "-"));
    mc_cmd_add(&c, mc_key(khh, sizeof(khh), "signh", login[0] ? login : "-"));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, sid);
    mc_cmd_add(&c, fp);
    mc_cmd_add(&c, answer);
    mc_cmd_add(&c, result);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, read_answer_res, out, cb, privdata);
}

static int read_collect(const redisReply *r, void *out, mc_err *err)
{
    mc_sign_results *x = out;
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_str(r->element[0]) ||
        !mc_reply_is_str(r->element[1]))
        return MC_REPLY_SHAPE;
    mc_err e2;
    mc_err_clear(&e2);
    memset(&x->si, 0, sizeof(x->si));
    x->results.len = 0;
    mc_buf_append(&x->results, r->element[1]->str, r->element[1]->len);
    if (mc_docs_decode((const uint8_t *)r->element[0]->str, r->element[0]->len, &x->si, &e2) !=
        0)
        return corrupt(err);
    return 0;
}

void mc_store_sign_collect(mc_store *st, const char *sid, const uint8_t *poll_hash,
                           const char *apikey, const mc_actor *a, mc_sign_results *results,
                           mc_store_cb cb, void *privdata)
{
    char ks[64], ph[65] = "";
    if (poll_hash != NULL)
        mc_hex(poll_hash, 32, ph);
    mc_cmd c;
    mc_cmd_fcall(&c, "sign_collect", 2, 0);
    mc_cmd_add(&c, mc_key(ks, sizeof(ks), "sess", sid));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, ph);
    mc_cmd_add(&c, poll_hash != NULL ? "" : apikey);
    mc_cmd_add(&c, a->who);
    mc_cmd_add(&c, a->from);
    mc_store_call(st, &c, read_collect, results, cb, privdata);
}

/* ---- shared with the other session kinds (mc_store_int.h) ---- */

void *mc_cmd_add_sess_open(mc_cmd *c, const mc_session *s, const uint8_t poll_hash[32],
                           const char *requester_name, const char *org, const char *org_name)
{
    mc_sess_rec *rec = malloc(sizeof(*rec));
    if (rec == NULL)
        abort(); /* out of memory (the transport aborts the same way) */
    open_rec(rec, s, poll_hash, requester_name, org, org_name);
    mc_fields_add(c, sess_open_fields, MC_NFIELDS(sess_open_fields), rec);
    return rec; /* the arguments point into it */
}

int mc_sess_read_open(const redisReply *r, void *out, mc_err *err)
{
    return read_open(r, out, err);
}

int mc_sess_read_answer(const redisReply *r, void *out, mc_err *err)
{
    return read_answer_res(r, out, err);
}
