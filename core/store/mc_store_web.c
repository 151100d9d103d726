/*
 * mc_store_web.c — web sessions: arguments in, replies out (see
 * mc_store_web.h).
 */
#include "mc_store_web.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "mc_store_int.h"


static const mc_field web_fields[] = {
    MC_FSTR(mc_websess, account), MC_FSTR(mc_websess, cert),    MC_FSTR(mc_websess, ip),
    MC_FSTR(mc_websess, bind_gen), MC_FINT(mc_websess, created), MC_FINT(mc_websess, expires),
};

static int read_expires(const redisReply *r, void *out, mc_err *err)
{
    if (!mc_reply_is_int(r))
        return MC_REPLY_SHAPE;
    *(int64_t *)out = r->integer;
    return 0;
}

/* The two counter keys of an attempt. */
static void pw_keys(const char *login, const char *ip, char ka[160], char ki[96])
{
    snprintf(ka, 160, "{mc}:pwfail:%s:%s", login, ip);
    snprintf(ki, 96, "{mc}:pwfail-ip:%s", ip);
}

static int read_attempt(const redisReply *r, void *out, mc_err *err)
{
    mc_pw_attempt *a = out;
    memset(a, 0, sizeof(*a));
    if (!mc_reply_is_array(r, 2) || !mc_reply_is_int(r->element[0]))
        return MC_REPLY_SHAPE;
    a->allowed = r->element[0]->integer == 1;
    if (!a->allowed) {
        if (!mc_reply_is_int(r->element[1]))
            return MC_REPLY_SHAPE;
        a->retry_after = (int)r->element[1]->integer;
        return 0;
    }
    if (mc_reply_is_array(r->element[1], 0) && r->element[1]->elements == 0)
        return 0;
    return mc_rec_read_account(r->element[1], &a->acc) != 0 ? MC_REPLY_SHAPE : 0;
}

void mc_store_pw_attempt(mc_store *st, const char *login, const char *ip,
                         const mc_pw_limits *lim, mc_pw_attempt *out, mc_store_cb cb,
                         void *privdata)
{
    char kpa[160], kpi[96], ka[96];
    pw_keys(login, ip, kpa, kpi);
    mc_cmd c;
    mc_cmd_fcall(&c, "pw_attempt", 3, 0);
    mc_cmd_add(&c, kpa);
    mc_cmd_add(&c, kpi);
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login));
    mc_cmd_addi(&c, lim->per_account);
    mc_cmd_addi(&c, lim->per_address);
    mc_cmd_addi(&c, lim->window);
    mc_store_call(st, &c, read_attempt, out, cb, privdata);
}

void mc_store_web_open(mc_store *st, const char *tok_hash, const char *login, int ttl,
                       const char *ip, int64_t *expires, mc_store_cb cb, void *privdata)
{
    char kw[96], ka[96], kpa[160], kpi[96];
    pw_keys(login, ip, kpa, kpi);
    mc_cmd c;
    mc_cmd_fcall(&c, "web_open", 5, 0);
    mc_cmd_add(&c, mc_key(kw, sizeof(kw), "web", tok_hash));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login));
    mc_cmd_add(&c, "{mc}:audit");
    mc_cmd_add(&c, kpa);
    mc_cmd_add(&c, kpi);
    mc_cmd_add(&c, login);
    mc_cmd_addi(&c, ttl);
    mc_cmd_add(&c, ip);
    mc_cmd_add(&c, ip);
    mc_store_call(st, &c, read_expires, expires, cb, privdata);
}

static int read_auth(const redisReply *r, void *out, mc_err *err)
{
    mc_authed *a = out;
    if (!mc_reply_is_array(r, 2) ||
        mc_fields_read(web_fields, sizeof(web_fields) / sizeof(web_fields[0]), r->element[0],
                       &a->web) != 0 ||
        mc_rec_read_account(r->element[1], &a->acc) != 0)
        return MC_REPLY_SHAPE;
    return 0;
}

void mc_store_web_auth(mc_store *st, const char *tok_hash, const char *login, mc_authed *out,
                       mc_store_cb cb, void *privdata)
{
    char kw[96], ka[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "web_auth", 2, 1);
    mc_cmd_add(&c, mc_key(kw, sizeof(kw), "web", tok_hash));
    mc_cmd_add(&c, mc_key(ka, sizeof(ka), "acct", login));
    mc_cmd_add(&c, login);
    mc_store_call(st, &c, read_auth, out, cb, privdata);
}

void mc_store_web_close(mc_store *st, const char *tok_hash, mc_store_cb cb, void *privdata)
{
    char kw[96];
    mc_cmd c;
    mc_cmd_fcall(&c, "web_close", 1, 0);
    mc_cmd_add(&c, mc_key(kw, sizeof(kw), "web", tok_hash));
    mc_store_call(st, &c, NULL, NULL, cb, privdata);
}
