/*
 * mc_store.c — Redis store of mcert (see mc_store.h for the key layout).
 *
 * Every change is a Lua script run with EVALSHA (falling back to EVAL after a
 * NOSCRIPT, e.g. after a Redis restart): the checks and the writes happen in
 * one atomic step, so two racing answers to one session can never both win,
 * and a refused change leaves nothing behind. Scripts report refusals as
 * error replies whose text is the wire code ("cert_bound"); mc_store maps it
 * to an HTTP status.
 *
 * Scripts only touch keys under "{mc}"; the few keys they derive inside the
 * script (web sessions of a certificate, the account of a revoked cert) share
 * that hash tag and so the slot.
 *
 * Cost: one round trip per call (reads are HGETALL, a few MULTI-free
 * pipelines for lists). Blocking: yes, on the caller's thread.
 */
#include "mc_store.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K "{mc}:"
#define ARGS_MAX 48

/* Shared Lua prelude: session checks used by every answering script. */
#define LUA_PRELUDE                                                              \
    "local function sess_open(s, now)\n"                                         \
    "  if redis.call('EXISTS', s) == 0 then return 'unknown_session' end\n"      \
    "  local st = redis.call('HGET', s, 'state')\n"                              \
    "  if now >= tonumber(redis.call('HGET', s, 'expires')) then\n"              \
    "    return 'session_expired' end\n"                                         \
    "  if st ~= 'pending' and st ~= 'scanned' then return 'session_done' end\n"  \
    "  return nil\n"                                                             \
    "end\n"                                                                      \
    "local function fail(c) return redis.error_reply(c) end\n"

enum {
    S_SESSION_CREATE,
    S_SESSION_SCAN,
    S_BIND_APPROVE,
    S_LOGIN_APPROVE,
    S_REJECT,
    S_WEB_CREATE,
    S_UNBIND,
    S_REVOKE,
    S_ORG_CREATE,
    S_ACCT_CREATE,
    S_CERT_PUT,
    S_PWFAIL,
    S_POLL,
    S_AUTH,
    S_LOGOUT,
    S_COUNT
};

/* KEYS[1]=sess; ARGV[1]=pexpireat ms, ARGV[2..]=field/value pairs */
static const char lua_session_create[] =
    LUA_PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 1 then return fail('sid_collision') end\n"
    "for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end\n"
    "redis.call('PEXPIREAT', KEYS[1], ARGV[1])\n"
    "return 'ok'\n";

/* KEYS[1]=sess; ARGV: now, sid, channel */
static const char lua_session_scan[] =
    LUA_PRELUDE
    "local e = sess_open(KEYS[1], tonumber(ARGV[1])) if e then return fail(e) end\n"
    "if redis.call('HGET', KEYS[1], 'state') == 'pending' then\n"
    "  redis.call('HSET', KEYS[1], 'state', 'scanned')\n"
    "  redis.call('PUBLISH', ARGV[3], ARGV[2] .. ' scanned')\n"
    "end\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "local rq = redis.call('HGET', KEYS[1], 'requester')\n"
    "local acc = redis.call('HGET', KEYS[1], 'account')\n"
    "if rq and rq ~= '' then\n"
    "  table.insert(h, 'requester_name')\n"
    "  table.insert(h, redis.call('HGET', '{mc}:acct:' .. rq, 'name') or '')\n"
    "end\n"
    "if acc and acc ~= '' then\n"
    "  local org = redis.call('HGET', '{mc}:acct:' .. acc, 'org') or ''\n"
    "  table.insert(h, 'org_name')\n"
    "  table.insert(h, redis.call('HGET', '{mc}:org:' .. org, 'name') or '')\n"
    "end\n"
    "return h\n";

/* KEYS: sess, acct, cert, audit
 * ARGV: now, sid, fp, login, serial, uscc, cn, org_name, issuer, alg, nb, na,
 *       who, from, channel */
static const char lua_bind_approve[] =
    LUA_PRELUDE
    "local now = tonumber(ARGV[1])\n"
    "local e = sess_open(KEYS[1], now) if e then return fail(e) end\n"
    "if redis.call('HGET', KEYS[1], 'purpose') ~= 'bind' then return fail('purpose_mismatch') end\n"
    "if redis.call('HGET', KEYS[1], 'account') ~= ARGV[4] then return fail('account_mismatch') end\n"
    "local cst = redis.call('HGET', KEYS[3], 'status')\n"
    "if cst and cst ~= 'valid' then return fail('cert_revoked') end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then return fail('not_found') end\n"
    "local org = redis.call('HGET', KEYS[2], 'org')\n"
    "if org ~= ARGV[6] then return fail('org_mismatch') end\n"
    /* the opener's right may have changed since the session was opened */
    "local rq = redis.call('HGET', KEYS[1], 'requester')\n"
    "if rq ~= ARGV[4] then\n"
    "  local rk = '{mc}:acct:' .. rq\n"
    "  if redis.call('HGET', rk, 'role') ~= 'admin' or redis.call('HGET', rk, 'org') ~= org then\n"
    "    return fail('not_permitted') end\n"
    "end\n"
    "local cacc = redis.call('HGET', KEYS[3], 'account')\n"
    "if cacc and cacc ~= '' then return fail('cert_bound') end\n"
    "local acert = redis.call('HGET', KEYS[2], 'cert')\n"
    "if acert and acert ~= '' then return fail('account_bound') end\n"
    "if not cst then\n"
    "  redis.call('HSET', KEYS[3], 'fp', ARGV[3], 'serial', ARGV[5], 'uscc', ARGV[6],\n"
    "    'cn', ARGV[7], 'org_name', ARGV[8], 'issuer', ARGV[9], 'alg', ARGV[10],\n"
    "    'not_before', ARGV[11], 'not_after', ARGV[12], 'status', 'valid', 'recorded_at', now)\n"
    "end\n"
    "redis.call('HSET', KEYS[3], 'account', ARGV[4], 'bound_at', now)\n"
    "local by = redis.call('HGET', KEYS[1], 'requester')\n"
    "redis.call('HSET', KEYS[2], 'cert', ARGV[3], 'bound_at', now, 'bound_by', by)\n"
    "redis.call('HSET', KEYS[1], 'state', 'approved', 'cert', ARGV[3], 'answered_at', now)\n"
    "redis.call('XADD', KEYS[4], '*', 'at', now, 'who', ARGV[13], 'from', ARGV[14],\n"
    "  'what', 'bind', 'account', ARGV[4], 'cert', ARGV[3], 'sid', ARGV[2], 'by', by)\n"
    "redis.call('PUBLISH', ARGV[15], ARGV[2] .. ' approved')\n"
    "return 'ok'\n";

/* KEYS: sess, cert, audit; ARGV: now, sid, fp, uscc, who, from, channel.
 * Finds the account bound to the certificate; returns its login. */
static const char lua_login_approve[] =
    LUA_PRELUDE
    "local now = tonumber(ARGV[1])\n"
    "local e = sess_open(KEYS[1], now) if e then return fail(e) end\n"
    "if redis.call('HGET', KEYS[1], 'purpose') ~= 'login' then return fail('purpose_mismatch') end\n"
    "local cst = redis.call('HGET', KEYS[2], 'status')\n"
    "if cst and cst ~= 'valid' then return fail('cert_revoked') end\n"
    "local acc = redis.call('HGET', KEYS[2], 'account')\n"
    "if not acc or acc == '' then return fail('not_bound') end\n"
    "local ak = '{mc}:acct:' .. acc\n"
    "if redis.call('HGET', ak, 'cert') ~= ARGV[3] then return fail('not_bound') end\n"
    "if redis.call('HGET', ak, 'org') ~= ARGV[4] then return fail('org_mismatch') end\n"
    "redis.call('HSET', KEYS[1], 'state', 'approved', 'cert', ARGV[3], 'account', acc,\n"
    "  'answered_at', now)\n"
    "redis.call('XADD', KEYS[3], '*', 'at', now, 'who', ARGV[5], 'from', ARGV[6],\n"
    "  'what', 'login_approve', 'account', acc, 'cert', ARGV[3], 'sid', ARGV[2])\n"
    "redis.call('PUBLISH', ARGV[7], ARGV[2] .. ' approved')\n"
    "return acc\n";

/* KEYS: sess; ARGV: now, sid, fp, channel */
static const char lua_reject[] =
    LUA_PRELUDE
    "local now = tonumber(ARGV[1])\n"
    "local e = sess_open(KEYS[1], now) if e then return fail(e) end\n"
    "redis.call('HSET', KEYS[1], 'state', 'rejected', 'cert', ARGV[3], 'answered_at', now)\n"
    "redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' rejected')\n"
    "return 'ok'\n";

/* KEYS: sess, web, audit; ARGV: now, poll hash hex, tokhash, ip, web expires, from.
 * Checks the poll secret's hash (a Lua string compare: it can leak timing
 * about SHA-256(secret) only, which reveals nothing of the secret), and for
 * an approved, unclaimed login creates the web session. Returns
 * {claimed_now, flat session hash}. */
static const char lua_poll[] =
    LUA_PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 0 then return fail('unknown_session') end\n"
    "if redis.call('HGET', KEYS[1], 'poll') ~= ARGV[2] then return fail('bad_poll_secret') end\n"
    "local claimed = 0\n"
    "if redis.call('HGET', KEYS[1], 'purpose') == 'login' and\n"
    "   redis.call('HGET', KEYS[1], 'state') == 'approved' and\n"
    "   redis.call('HGET', KEYS[1], 'claimed') ~= '1' then\n"
    "  local acc = redis.call('HGET', KEYS[1], 'account')\n"
    "  local cert = redis.call('HGET', KEYS[1], 'cert')\n"
    "  redis.call('HSET', KEYS[1], 'claimed', '1')\n"
    "  redis.call('HSET', KEYS[2], 'account', acc, 'cert', cert, 'ip', ARGV[4],\n"
    "    'created', ARGV[1], 'expires', ARGV[5])\n"
    "  redis.call('EXPIREAT', KEYS[2], ARGV[5])\n"
    "  redis.call('SADD', '{mc}:certweb:' .. cert, ARGV[3])\n"
    /* the set lives as long as its newest web session (all share one ttl) */
    "  redis.call('EXPIREAT', '{mc}:certweb:' .. cert, ARGV[5])\n"
    "  redis.call('XADD', KEYS[3], '*', 'at', ARGV[1], 'who', acc, 'from', ARGV[6],\n"
    "    'what', 'web_login', 'account', acc, 'cert', cert,\n"
    "    'sid', redis.call('HGET', KEYS[1], 'sid'))\n"
    "  claimed = 1\n"
    "end\n"
    "return {claimed, redis.call('HGETALL', KEYS[1])}\n";

/* KEYS: web; returns {web session hash, its account's hash} or {} */
static const char lua_auth[] =
    "local w = redis.call('HGETALL', KEYS[1])\n"
    "if #w == 0 then return {} end\n"
    "local acc = redis.call('HGET', KEYS[1], 'account')\n"
    "return {w, redis.call('HGETALL', '{mc}:acct:' .. acc)}\n";

/* KEYS: web; ARGV: tokhash. Ends a web session and forgets it in the set
 * of its certificate. */
static const char lua_logout[] =
    "local cert = redis.call('HGET', KEYS[1], 'cert')\n"
    "if cert and cert ~= '' then redis.call('SREM', '{mc}:certweb:' .. cert, ARGV[1]) end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return 'ok'\n";

/* KEYS: web, audit; ARGV: now, account, cert, ip, expires, who, from */
static const char lua_web_create[] =
    "redis.call('HSET', KEYS[1], 'account', ARGV[2], 'cert', ARGV[3], 'ip', ARGV[4],\n"
    "  'created', ARGV[1], 'expires', ARGV[5])\n"
    "redis.call('EXPIREAT', KEYS[1], ARGV[5])\n"
    "redis.call('XADD', KEYS[2], '*', 'at', ARGV[1], 'who', ARGV[6], 'from', ARGV[7],\n"
    "  'what', 'web_login', 'account', ARGV[2], 'cert', ARGV[3])\n"
    "return 'ok'\n";

/* KEYS: acct, cert, certweb, audit; ARGV: login, fp, now, who, from */
static const char lua_unbind[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('not_found') end\n"
    "if redis.call('HGET', KEYS[1], 'cert') ~= ARGV[2] then return redis.error_reply('not_bound') end\n"
    "redis.call('HSET', KEYS[1], 'cert', '', 'bound_at', '0', 'bound_by', '')\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'account', '') end\n"
    "local ended = 0\n"
    "for _, t in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
    "  ended = ended + redis.call('DEL', '{mc}:web:' .. t)\n"
    "end\n"
    "redis.call('DEL', KEYS[3])\n"
    "redis.call('XADD', KEYS[4], '*', 'at', ARGV[3], 'who', ARGV[4], 'from', ARGV[5],\n"
    "  'what', 'unbind', 'account', ARGV[1], 'cert', ARGV[2], 'ended', ended)\n"
    "return ended\n";

/* KEYS: cert, certweb, audit; ARGV: fp, now, who, from */
static const char lua_revoke[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('not_found') end\n"
    "if redis.call('HGET', KEYS[1], 'status') == 'revoked' then return redis.error_reply('cert_revoked') end\n"
    "local acc = redis.call('HGET', KEYS[1], 'account')\n"
    "if acc and acc ~= '' then\n"
    "  local ak = '{mc}:acct:' .. acc\n"
    "  if redis.call('HGET', ak, 'cert') == ARGV[1] then\n"
    "    redis.call('HSET', ak, 'cert', '', 'bound_at', '0', 'bound_by', '')\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'status', 'revoked', 'account', '', 'revoked_at', ARGV[2])\n"
    "for _, t in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', '{mc}:web:' .. t) end\n"
    "redis.call('DEL', KEYS[2])\n"
    "redis.call('XADD', KEYS[3], '*', 'at', ARGV[2], 'who', ARGV[3], 'from', ARGV[4],\n"
    "  'what', 'revoke', 'cert', ARGV[1], 'account', acc or '')\n"
    "return 'ok'\n";

/* KEYS: org, audit; ARGV: uscc, name, now, who, from */
static const char lua_org_create[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('org_exists') end\n"
    "redis.call('HSET', KEYS[1], 'uscc', ARGV[1], 'name', ARGV[2], 'created', ARGV[3])\n"
    "redis.call('XADD', KEYS[2], '*', 'at', ARGV[3], 'who', ARGV[4], 'from', ARGV[5],\n"
    "  'what', 'org_create', 'org', ARGV[1])\n"
    "return 'ok'\n";

/* KEYS: acct, orgaccts, org, audit; ARGV: login, name, org, role, pw, now, who, from */
static const char lua_acct_create[] =
    "if redis.call('EXISTS', KEYS[3]) == 0 then return redis.error_reply('not_found') end\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('account_exists') end\n"
    "redis.call('HSET', KEYS[1], 'login', ARGV[1], 'name', ARGV[2], 'org', ARGV[3],\n"
    "  'role', ARGV[4], 'pw', ARGV[5], 'cert', '', 'bound_at', '0', 'bound_by', '',\n"
    "  'created', ARGV[6])\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "redis.call('XADD', KEYS[4], '*', 'at', ARGV[6], 'who', ARGV[7], 'from', ARGV[8],\n"
    "  'what', 'account_create', 'account', ARGV[1], 'org', ARGV[3], 'role', ARGV[4])\n"
    "return 'ok'\n";

/* KEYS: cert, audit; ARGV: fp serial uscc cn org_name issuer alg nb na now who from */
static const char lua_cert_put[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('cert_exists') end\n"
    "redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'serial', ARGV[2], 'uscc', ARGV[3],\n"
    "  'cn', ARGV[4], 'org_name', ARGV[5], 'issuer', ARGV[6], 'alg', ARGV[7],\n"
    "  'not_before', ARGV[8], 'not_after', ARGV[9], 'status', 'valid', 'account', '',\n"
    "  'recorded_at', ARGV[10])\n"
    "redis.call('XADD', KEYS[2], '*', 'at', ARGV[10], 'who', ARGV[11], 'from', ARGV[12],\n"
    "  'what', 'cert_issue', 'cert', ARGV[1], 'org', ARGV[3], 'serial', ARGV[2])\n"
    "return 'ok'\n";

/* KEYS: pwfail; ARGV: window seconds */
static const char lua_pwfail[] =
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
    "return n\n";

static const char *const lua_src[S_COUNT] = {
    [S_SESSION_CREATE] = lua_session_create, [S_SESSION_SCAN] = lua_session_scan,
    [S_BIND_APPROVE] = lua_bind_approve,     [S_LOGIN_APPROVE] = lua_login_approve,
    [S_REJECT] = lua_reject,
    [S_WEB_CREATE] = lua_web_create,         [S_UNBIND] = lua_unbind,
    [S_REVOKE] = lua_revoke,                 [S_ORG_CREATE] = lua_org_create,
    [S_ACCT_CREATE] = lua_acct_create,       [S_CERT_PUT] = lua_cert_put,
    [S_PWFAIL] = lua_pwfail,                 [S_POLL] = lua_poll,
    [S_AUTH] = lua_auth,                     [S_LOGOUT] = lua_logout,
};

struct mc_store {
    redisContext *ctx;
    char sha[S_COUNT][41]; /* SHA1 hex of each script, from SCRIPT LOAD */
};

/* Wire codes a script may return, and their HTTP status. */
static const struct {
    const char *code;
    int status;
} script_errors[] = {
    {"unknown_session", 404}, {"session_expired", 410}, {"session_done", 409},
    {"purpose_mismatch", 409}, {"account_mismatch", 409}, {"not_found", 404},
    {"cert_revoked", 403},    {"cert_bound", 409},      {"account_bound", 409},
    {"org_mismatch", 403},    {"not_bound", 404},
    {"org_exists", 409},      {"account_exists", 409},  {"cert_exists", 409},
    {"sid_collision", 503},   {"bad_poll_secret", 403},
};

/* An argv under construction; numbers are formatted into `nums`. */
typedef struct cmd {
    int argc;
    const char *argv[ARGS_MAX];
    size_t len[ARGS_MAX];
    char nums[ARGS_MAX][24];
} cmd;

static void cmd_add(cmd *c, const char *s)
{
    c->argv[c->argc] = s;
    c->len[c->argc] = strlen(s);
    c->argc++;
}

static void cmd_addi(cmd *c, long long v)
{
    snprintf(c->nums[c->argc], sizeof(c->nums[0]), "%lld", v);
    cmd_add(c, c->nums[c->argc]);
}

/* A certificate record's fields, in the order the scripts take them:
 * serial, uscc, cn, org_name, issuer, alg, not_before, not_after. */
static void cmd_add_cert(cmd *c, const mc_cert_rec *cr)
{
    cmd_add(c, cr->serial);
    cmd_add(c, cr->uscc);
    cmd_add(c, cr->cn);
    cmd_add(c, cr->org_name);
    cmd_add(c, cr->issuer);
    cmd_add(c, cr->alg);
    cmd_addi(c, cr->not_before);
    cmd_addi(c, cr->not_after);
}

static int store_unavailable(mc_store *st, mc_err *err)
{
    return mc_err_set(err, 503, "store_unavailable", "record store unavailable: %s",
                      st->ctx ? st->ctx->errstr : "no connection");
}

/* Run one command; reconnect and retry once after an I/O error. The reply
 * is the caller's (freeReplyObject). NULL with err set on failure. */
static redisReply *store_run(mc_store *st, const cmd *c, mc_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (st->ctx->err && redisReconnect(st->ctx) != REDIS_OK)
            continue;
        redisReply *r = redisCommandArgv(st->ctx, c->argc, (const char **)c->argv, c->len);
        if (r != NULL)
            return r;
    }
    store_unavailable(st, err);
    return NULL;
}

/* Run script `id` with keys and args already in c after the
 * "EVALSHA sha nkeys" prefix slots. Maps error replies to wire codes. */
static redisReply *store_script(mc_store *st, int id, cmd *c, mc_err *err)
{
    c->argv[0] = "EVALSHA";
    c->len[0] = 7;
    c->argv[1] = st->sha[id];
    c->len[1] = 40;
    redisReply *r = store_run(st, c, err);
    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        c->argv[0] = "EVAL";
        c->len[0] = 4;
        c->argv[1] = lua_src[id];
        c->len[1] = strlen(lua_src[id]);
        r = store_run(st, c, err);
    }
    if (r == NULL)
        return NULL;
    if (r->type == REDIS_REPLY_ERROR) {
        /* Redis 7 prefixes a script's error_reply text with "ERR " */
        const char *text = r->str;
        size_t tlen = r->len;
        if (tlen > 4 && strncmp(text, "ERR ", 4) == 0) {
            text += 4;
            tlen -= 4;
        }
        for (size_t i = 0; i < sizeof(script_errors) / sizeof(script_errors[0]); i++) {
            size_t n = strlen(script_errors[i].code);
            if (tlen >= n && strncmp(text, script_errors[i].code, n) == 0 &&
                (text[n] == '\0' || text[n] == ' ')) {
                mc_err_set(err, script_errors[i].status, script_errors[i].code, "%s",
                           script_errors[i].code);
                freeReplyObject(r);
                return NULL;
            }
        }
        mc_err_set(err, 503, "store_unavailable", "store script failed: %.100s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Run a script whose reply only says "done". 0 / -1. */
static int store_exec(mc_store *st, int id, cmd *c, mc_err *err)
{
    redisReply *r = store_script(st, id, c, err);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Prepare a script call: slots 0,1 reserved, then nkeys. */
static void cmd_script(cmd *c, int nkeys)
{
    c->argc = 2;
    cmd_addi(c, nkeys);
}

mc_store *mc_store_connect(const char *host, int port, mc_err *err)
{
    mc_store *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        return NULL;
    }
    struct timeval tv = {5, 0};
    st->ctx = redisConnectWithTimeout(host, port, tv);
    if (st->ctx == NULL || st->ctx->err) {
        mc_err_set(err, 503, "store_unavailable", "redis %s:%d: %s", host, port,
                   st->ctx ? st->ctx->errstr : "cannot allocate context");
        mc_store_free(st);
        return NULL;
    }
    redisSetTimeout(st->ctx, tv);
    for (int i = 0; i < S_COUNT; i++) {
        redisReply *r = redisCommand(st->ctx, "SCRIPT LOAD %s", lua_src[i]);
        if (r == NULL || r->type != REDIS_REPLY_STRING || r->len != 40) {
            mc_err_set(err, 503, "store_unavailable", "SCRIPT LOAD %d: %s", i,
                       r && r->type == REDIS_REPLY_ERROR ? r->str : st->ctx->errstr);
            if (r)
                freeReplyObject(r);
            mc_store_free(st);
            return NULL;
        }
        memcpy(st->sha[i], r->str, 40);
        st->sha[i][40] = '\0';
        freeReplyObject(r);
    }
    return st;
}

void mc_store_free(mc_store *st)
{
    if (st == NULL)
        return;
    if (st->ctx)
        redisFree(st->ctx);
    free(st);
}

int mc_store_ping(mc_store *st, mc_err *err)
{
    cmd c = {0};
    cmd_add(&c, "PING");
    redisReply *r = store_run(st, &c, err);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return ok ? 0 : store_unavailable(st, err);
}

/* ---- hash reading helpers ---- */

/* Copy a field value into dst (truncating). */
static void copy_field(char *dst, size_t dstsize, const redisReply *v)
{
    size_t n = v->len < dstsize - 1 ? v->len : dstsize - 1;
    memcpy(dst, v->str, n);
    dst[n] = '\0';
}

static int field_is(const redisReply *k, const char *name)
{
    size_t n = strlen(name);
    return k->len == n && memcmp(k->str, name, n) == 0;
}

#define FIELD_STR(kr, vr, name, dst)                          \
    if (field_is(kr, name)) {                                 \
        copy_field(dst, sizeof(dst), vr);                     \
        continue;                                             \
    }
#define FIELD_INT(kr, vr, name, dst)                          \
    if (field_is(kr, name)) {                                 \
        dst = strtoll((vr)->str, NULL, 10);                   \
        continue;                                             \
    }

/* HGETALL key; NULL with not_found if missing. */
static redisReply *store_hgetall(mc_store *st, const char *key, mc_err *err)
{
    cmd c = {0};
    cmd_add(&c, "HGETALL");
    cmd_add(&c, key);
    redisReply *r = store_run(st, &c, err);
    if (r == NULL)
        return NULL;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        store_unavailable(st, err);
        return NULL;
    }
    if (r->elements == 0) {
        freeReplyObject(r);
        mc_err_set(err, 404, "not_found", "no such record");
        return NULL;
    }
    return r;
}

/* ---- organisations and accounts ---- */

int mc_store_org_create(mc_store *st, const mc_org *o, const mc_actor *a, mc_err *err)
{
    char key[64];
    snprintf(key, sizeof(key), K "org:%s", o->uscc);
    cmd c;
    cmd_script(&c, 2);
    cmd_add(&c, key);
    cmd_add(&c, K "audit");
    cmd_add(&c, o->uscc);
    cmd_add(&c, o->name);
    cmd_addi(&c, o->created);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    return store_exec(st, S_ORG_CREATE, &c, err);
}

int mc_store_org_get(mc_store *st, const char *uscc, mc_org *o, mc_err *err)
{
    char key[64];
    snprintf(key, sizeof(key), K "org:%s", uscc);
    redisReply *r = store_hgetall(st, key, err);
    if (r == NULL)
        return -1;
    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        FIELD_STR(k, v, "uscc", o->uscc);
        FIELD_STR(k, v, "name", o->name);
        FIELD_INT(k, v, "created", o->created);
    }
    freeReplyObject(r);
    return 0;
}

int mc_store_account_create(mc_store *st, const mc_account *acc, const mc_actor *a,
                            mc_err *err)
{
    char kacct[96], korgacc[64], korg[64];
    snprintf(kacct, sizeof(kacct), K "acct:%s", acc->login);
    snprintf(korgacc, sizeof(korgacc), K "orgaccts:%s", acc->org);
    snprintf(korg, sizeof(korg), K "org:%s", acc->org);
    cmd c;
    cmd_script(&c, 4);
    cmd_add(&c, kacct);
    cmd_add(&c, korgacc);
    cmd_add(&c, korg);
    cmd_add(&c, K "audit");
    cmd_add(&c, acc->login);
    cmd_add(&c, acc->name);
    cmd_add(&c, acc->org);
    cmd_add(&c, acc->role);
    cmd_add(&c, acc->pw);
    cmd_addi(&c, acc->created);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    return store_exec(st, S_ACCT_CREATE, &c, err);
}

static void parse_cert(const redisReply *r, mc_cert_rec *cr);

static void parse_account(const redisReply *r, mc_account *acc)
{
    memset(acc, 0, sizeof(*acc));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        FIELD_STR(k, v, "login", acc->login);
        FIELD_STR(k, v, "name", acc->name);
        FIELD_STR(k, v, "org", acc->org);
        FIELD_STR(k, v, "role", acc->role);
        FIELD_STR(k, v, "pw", acc->pw);
        FIELD_STR(k, v, "cert", acc->cert);
        FIELD_STR(k, v, "bound_by", acc->bound_by);
        FIELD_INT(k, v, "bound_at", acc->bound_at);
        FIELD_INT(k, v, "created", acc->created);
    }
}

int mc_store_account_get(mc_store *st, const char *login, mc_account *acc, mc_err *err)
{
    char key[96];
    snprintf(key, sizeof(key), K "acct:%s", login);
    redisReply *r = store_hgetall(st, key, err);
    if (r == NULL)
        return -1;
    parse_account(r, acc);
    freeReplyObject(r);
    return 0;
}

static int cmp_account(const void *a, const void *b)
{
    return strcmp(((const mc_account *)a)->login, ((const mc_account *)b)->login);
}

/* Send n HGETALLs of keys[i] in one pipeline and read the n replies into
 * out[] (NULL where a reply is missing). 0 / -1 (store_unavailable). */
static int store_hgetall_many(mc_store *st, char (*keys)[96], size_t n, redisReply **out,
                              mc_err *err)
{
    if (st->ctx->err && redisReconnect(st->ctx) != REDIS_OK)
        return store_unavailable(st, err);
    for (size_t i = 0; i < n; i++) {
        const char *argv[2] = {"HGETALL", keys[i]};
        size_t len[2] = {7, strlen(keys[i])};
        if (redisAppendCommandArgv(st->ctx, 2, argv, len) != REDIS_OK)
            return store_unavailable(st, err);
    }
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(st->ctx, &r) != REDIS_OK || r == NULL ||
            ((redisReply *)r)->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject(r);
            for (size_t k = 0; k < i; k++)
                freeReplyObject(out[k]);
            return store_unavailable(st, err);
        }
        out[i] = r;
    }
    return 0;
}

int mc_store_org_bindings(mc_store *st, const char *uscc, mc_account **accs,
                          mc_cert_rec **certs, size_t *n, mc_err *err)
{
    char key[64];
    snprintf(key, sizeof(key), K "orgaccts:%s", uscc);
    *accs = NULL;
    *certs = NULL;
    *n = 0;
    cmd c = {0};
    cmd_add(&c, "SMEMBERS");
    cmd_add(&c, key);
    redisReply *m = store_run(st, &c, err);
    if (m == NULL)
        return -1;
    if (m->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(m);
        return store_unavailable(st, err);
    }
    size_t cnt = m->elements;
    int rc = -1;
    char(*keys)[96] = calloc(cnt ? cnt : 1, sizeof(*keys));
    redisReply **rep = calloc(cnt ? cnt : 1, sizeof(*rep));
    mc_account *a = calloc(cnt ? cnt : 1, sizeof(*a));
    mc_cert_rec *cr = calloc(cnt ? cnt : 1, sizeof(*cr));
    if (keys == NULL || rep == NULL || a == NULL || cr == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto done;
    }
    /* round trip 2: every account */
    for (size_t i = 0; i < cnt; i++)
        snprintf(keys[i], sizeof(keys[i]), K "acct:%.*s", (int)m->element[i]->len,
                 m->element[i]->str);
    if (store_hgetall_many(st, keys, cnt, rep, err) != 0)
        goto done;
    size_t na = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (rep[i]->elements > 0)
            parse_account(rep[i], &a[na++]);
        freeReplyObject(rep[i]);
    }
    qsort(a, na, sizeof(a[0]), cmp_account);
    /* round trip 3: every bound certificate */
    size_t nc = 0;
    size_t *idx = calloc(na ? na : 1, sizeof(*idx));
    if (idx == NULL) {
        mc_err_set(err, 500, "internal", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < na; i++)
        if (a[i].cert[0] != '\0') {
            snprintf(keys[nc], sizeof(keys[nc]), K "cert:%s", a[i].cert);
            idx[nc++] = i;
        }
    if (store_hgetall_many(st, keys, nc, rep, err) != 0) {
        free(idx);
        goto done;
    }
    for (size_t k = 0; k < nc; k++) {
        if (rep[k]->elements > 0)
            parse_cert(rep[k], &cr[idx[k]]);
        freeReplyObject(rep[k]);
    }
    free(idx);
    *accs = a;
    *certs = cr;
    *n = na;
    a = NULL;
    cr = NULL;
    rc = 0;
done:
    freeReplyObject(m);
    free(keys);
    free(rep);
    free(a);
    free(cr);
    return rc;
}

/* ---- certificate records ---- */

int mc_store_cert_put(mc_store *st, const mc_cert_rec *cr, const mc_actor *a, int64_t now,
                      mc_err *err)
{
    char key[96];
    snprintf(key, sizeof(key), K "cert:%s", cr->fp);
    cmd c;
    cmd_script(&c, 2);
    cmd_add(&c, key);
    cmd_add(&c, K "audit");
    cmd_add(&c, cr->fp);
    cmd_add_cert(&c, cr);
    cmd_addi(&c, now);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    return store_exec(st, S_CERT_PUT, &c, err);
}

static void parse_cert(const redisReply *r, mc_cert_rec *cr)
{
    memset(cr, 0, sizeof(*cr));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        FIELD_STR(k, v, "fp", cr->fp);
        FIELD_STR(k, v, "serial", cr->serial);
        FIELD_STR(k, v, "uscc", cr->uscc);
        FIELD_STR(k, v, "cn", cr->cn);
        FIELD_STR(k, v, "org_name", cr->org_name);
        FIELD_STR(k, v, "issuer", cr->issuer);
        FIELD_STR(k, v, "alg", cr->alg);
        FIELD_STR(k, v, "status", cr->status);
        FIELD_STR(k, v, "account", cr->account);
        FIELD_INT(k, v, "not_before", cr->not_before);
        FIELD_INT(k, v, "not_after", cr->not_after);
    }
}

int mc_store_cert_get(mc_store *st, const char *fp, mc_cert_rec *cr, int *found, mc_err *err)
{
    char key[96];
    snprintf(key, sizeof(key), K "cert:%s", fp);
    memset(cr, 0, sizeof(*cr));
    mc_err e2;
    mc_err_clear(&e2);
    redisReply *r = store_hgetall(st, key, &e2);
    if (r == NULL) {
        if (e2.status == 404) {
            *found = 0;
            return 0;
        }
        if (err)
            *err = e2;
        return -1;
    }
    *found = 1;
    parse_cert(r, cr);
    freeReplyObject(r);
    return 0;
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

int mc_store_cert_revoke(mc_store *st, const char *fp, const mc_actor *a, int64_t now,
                         mc_err *err)
{
    char kc[96], kw[96];
    snprintf(kc, sizeof(kc), K "cert:%s", fp);
    snprintf(kw, sizeof(kw), K "certweb:%s", fp);
    cmd c;
    cmd_script(&c, 3);
    cmd_add(&c, kc);
    cmd_add(&c, kw);
    cmd_add(&c, K "audit");
    cmd_add(&c, fp);
    cmd_addi(&c, now);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    return store_exec(st, S_REVOKE, &c, err);
}

/* ---- sessions ---- */

int mc_store_session_create(mc_store *st, const mc_session *s, const uint8_t poll_hash[32],
                            mc_err *err)
{
    char key[64], nonce[2 * MC_NONCE_LEN + 1], poll[65], choices[16];
    snprintf(key, sizeof(key), K "sess:%s", s->sid);
    mc_hex(s->nonce, MC_NONCE_LEN, nonce);
    mc_hex(poll_hash, 32, poll);
    snprintf(choices, sizeof(choices), "%u,%u,%u", s->choices[0], s->choices[1],
             s->choices[2]);
    cmd c;
    cmd_script(&c, 1);
    cmd_add(&c, key);
    cmd_addi(&c, (long long)(s->expires + 60) * 1000);
    cmd_add(&c, "sid");        cmd_add(&c, s->sid);
    cmd_add(&c, "purpose");    cmd_add(&c, mc_purpose_name(s->purpose));
    cmd_add(&c, "state");      cmd_add(&c, "pending");
    cmd_add(&c, "nonce");      cmd_add(&c, nonce);
    cmd_add(&c, "origin");     cmd_add(&c, s->origin);
    cmd_add(&c, "account");    cmd_add(&c, s->account);
    cmd_add(&c, "requester");  cmd_add(&c, s->requester);
    cmd_add(&c, "ip");         cmd_add(&c, s->ip);
    cmd_add(&c, "ua");         cmd_add(&c, s->ua);
    cmd_add(&c, "created");    cmd_addi(&c, s->created);
    cmd_add(&c, "expires");    cmd_addi(&c, s->expires);
    cmd_add(&c, "match");      cmd_addi(&c, s->match);
    cmd_add(&c, "choices");    cmd_add(&c, choices);
    cmd_add(&c, "poll");       cmd_add(&c, poll);
    cmd_add(&c, "cert");       cmd_add(&c, "");
    cmd_add(&c, "claimed");    cmd_add(&c, "0");
    return store_exec(st, S_SESSION_CREATE, &c, err);
}

/* Parse a session hash reply (flat field/value array). */
static int parse_session(const redisReply *r, int64_t now, mc_session *s, mc_sess_extra *x,
                         mc_err *err)
{
    memset(s, 0, sizeof(*s));
    if (x)
        memset(x, 0, sizeof(*x));
    char purpose[16] = "", nonce[2 * MC_NONCE_LEN + 1] = "", poll[65] = "", choices[16] = "";
    char cert[65] = "", claimed[4] = "";
    long long match = 0, answered = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        FIELD_STR(k, v, "sid", s->sid);
        FIELD_STR(k, v, "purpose", purpose);
        FIELD_STR(k, v, "state", s->state);
        FIELD_STR(k, v, "nonce", nonce);
        FIELD_STR(k, v, "origin", s->origin);
        FIELD_STR(k, v, "account", s->account);
        FIELD_STR(k, v, "requester", s->requester);
        FIELD_STR(k, v, "ip", s->ip);
        FIELD_STR(k, v, "ua", s->ua);
        FIELD_INT(k, v, "created", s->created);
        FIELD_INT(k, v, "expires", s->expires);
        FIELD_INT(k, v, "match", match);
        FIELD_STR(k, v, "choices", choices);
        FIELD_STR(k, v, "poll", poll);
        FIELD_STR(k, v, "cert", cert);
        FIELD_STR(k, v, "claimed", claimed);
        FIELD_INT(k, v, "answered_at", answered);
        if (x) {
            FIELD_STR(k, v, "requester_name", x->requester_name);
            FIELD_STR(k, v, "org_name", x->org_name);
        }
    }
    s->purpose = mc_purpose_parse(purpose, strlen(purpose));
    s->match = (uint32_t)match;
    if (sscanf(choices, "%u,%u,%u", &s->choices[0], &s->choices[1], &s->choices[2]) != 3 ||
        mc_unhex(nonce, strlen(nonce), s->nonce, MC_NONCE_LEN) != 0 ||
        s->purpose == MC_PURPOSE_NONE)
        return mc_err_set(err, 503, "store_unavailable", "corrupt session record");
    if (x) {
        if (mc_unhex(poll, strlen(poll), x->poll_hash, 32) != 0)
            return mc_err_set(err, 503, "store_unavailable", "corrupt session record");
        snprintf(x->cert, sizeof(x->cert), "%s", cert);
        x->claimed = claimed[0] == '1';
        x->answered_at = answered;
    }
    if ((strcmp(s->state, "pending") == 0 || strcmp(s->state, "scanned") == 0) &&
        now >= s->expires)
        snprintf(s->state, sizeof(s->state), "expired");
    return 0;
}

int mc_store_session_get(mc_store *st, const char *sid, int64_t now, mc_session *s,
                         mc_sess_extra *x, mc_err *err)
{
    char key[64];
    snprintf(key, sizeof(key), K "sess:%s", sid);
    mc_err e2;
    mc_err_clear(&e2);
    redisReply *r = store_hgetall(st, key, &e2);
    if (r == NULL) {
        if (e2.status == 404)
            return mc_err_set(err, 404, "unknown_session", "no such session");
        if (err)
            *err = e2;
        return -1;
    }
    int rc = parse_session(r, now, s, x, err);
    freeReplyObject(r);
    return rc;
}

int mc_store_session_scan(mc_store *st, const char *sid, int64_t now, mc_session *s,
                          mc_sess_extra *x, mc_err *err)
{
    char key[64];
    snprintf(key, sizeof(key), K "sess:%s", sid);
    cmd c;
    cmd_script(&c, 1);
    cmd_add(&c, key);
    cmd_addi(&c, now);
    cmd_add(&c, sid);
    cmd_add(&c, MC_EVENTS_CHANNEL);
    redisReply *r = store_script(st, S_SESSION_SCAN, &c, err);
    if (r == NULL)
        return -1;
    int rc = r->type == REDIS_REPLY_ARRAY ? parse_session(r, now, s, x, err)
                                          : store_unavailable(st, err);
    freeReplyObject(r);
    return rc;
}

int mc_store_bind_approve(mc_store *st, const char *sid, const char *login,
                          const mc_cert_rec *cr, const mc_actor *a, int64_t now, mc_err *err)
{
    char ks[64], ka[96], kc[96];
    snprintf(ks, sizeof(ks), K "sess:%s", sid);
    snprintf(ka, sizeof(ka), K "acct:%s", login);
    snprintf(kc, sizeof(kc), K "cert:%s", cr->fp);
    cmd c;
    cmd_script(&c, 4);
    cmd_add(&c, ks);
    cmd_add(&c, ka);
    cmd_add(&c, kc);
    cmd_add(&c, K "audit");
    cmd_addi(&c, now);
    cmd_add(&c, sid);
    cmd_add(&c, cr->fp);
    cmd_add(&c, login);
    cmd_add_cert(&c, cr);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    cmd_add(&c, MC_EVENTS_CHANNEL);
    return store_exec(st, S_BIND_APPROVE, &c, err);
}

int mc_store_login_approve(mc_store *st, const char *sid, const char *fp, const char *uscc,
                           const mc_actor *a, int64_t now, char login[MC_ACCOUNT_MAX + 1],
                           mc_err *err)
{
    char ks[64], kc[96];
    snprintf(ks, sizeof(ks), K "sess:%s", sid);
    snprintf(kc, sizeof(kc), K "cert:%s", fp);
    cmd c;
    cmd_script(&c, 3);
    cmd_add(&c, ks);
    cmd_add(&c, kc);
    cmd_add(&c, K "audit");
    cmd_addi(&c, now);
    cmd_add(&c, sid);
    cmd_add(&c, fp);
    cmd_add(&c, uscc);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    cmd_add(&c, MC_EVENTS_CHANNEL);
    redisReply *r = store_script(st, S_LOGIN_APPROVE, &c, err);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_STRING;
    if (ok)
        copy_field(login, MC_ACCOUNT_MAX + 1, r);
    freeReplyObject(r);
    return ok ? 0 : store_unavailable(st, err);
}

int mc_store_session_poll(mc_store *st, const char *sid, const uint8_t poll_hash[32],
                          const char *tok_hash, const mc_websess *w, const char *from,
                          int64_t now, mc_session *s, mc_sess_extra *x, int *claimed,
                          mc_err *err)
{
    char ks[64], kw[96], poll[65];
    snprintf(ks, sizeof(ks), K "sess:%s", sid);
    snprintf(kw, sizeof(kw), K "web:%s", tok_hash);
    mc_hex(poll_hash, 32, poll);
    cmd c;
    cmd_script(&c, 3);
    cmd_add(&c, ks);
    cmd_add(&c, kw);
    cmd_add(&c, K "audit");
    cmd_addi(&c, now);
    cmd_add(&c, poll);
    cmd_add(&c, tok_hash);
    cmd_add(&c, w->ip);
    cmd_addi(&c, w->expires);
    cmd_add(&c, from);
    redisReply *r = store_script(st, S_POLL, &c, err);
    if (r == NULL)
        return -1;
    int rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_ARRAY) {
        rc = store_unavailable(st, err);
    } else {
        *claimed = r->element[0]->integer == 1;
        rc = parse_session(r->element[1], now, s, x, err);
    }
    freeReplyObject(r);
    return rc;
}

int mc_store_session_reject(mc_store *st, const char *sid, const char *fp, int64_t now,
                            mc_err *err)
{
    char ks[64];
    snprintf(ks, sizeof(ks), K "sess:%s", sid);
    cmd c;
    cmd_script(&c, 1);
    cmd_add(&c, ks);
    cmd_addi(&c, now);
    cmd_add(&c, sid);
    cmd_add(&c, fp);
    cmd_add(&c, MC_EVENTS_CHANNEL);
    return store_exec(st, S_REJECT, &c, err);
}

/* ---- web sessions ---- */

int mc_store_web_create(mc_store *st, const char *tok_hash, const mc_websess *w,
                        const mc_actor *a, int64_t now, mc_err *err)
{
    char kw[96];
    snprintf(kw, sizeof(kw), K "web:%s", tok_hash);
    cmd c;
    cmd_script(&c, 2);
    cmd_add(&c, kw);
    cmd_add(&c, K "audit");
    cmd_addi(&c, now);
    cmd_add(&c, w->account);
    cmd_add(&c, w->cert);
    cmd_add(&c, w->ip);
    cmd_addi(&c, w->expires);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    return store_exec(st, S_WEB_CREATE, &c, err);
}

static void parse_web(const redisReply *r, mc_websess *w)
{
    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        FIELD_STR(k, v, "account", w->account);
        FIELD_STR(k, v, "cert", w->cert);
        FIELD_STR(k, v, "ip", w->ip);
        FIELD_INT(k, v, "created", w->created);
        FIELD_INT(k, v, "expires", w->expires);
    }
}

int mc_store_web_auth(mc_store *st, const char *tok_hash, int64_t now, mc_websess *w,
                      mc_account *acc, mc_err *err)
{
    char kw[96];
    snprintf(kw, sizeof(kw), K "web:%s", tok_hash);
    cmd c;
    cmd_script(&c, 1);
    cmd_add(&c, kw);
    redisReply *r = store_script(st, S_AUTH, &c, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || (r->elements != 0 && r->elements != 2)) {
        freeReplyObject(r);
        return store_unavailable(st, err);
    }
    int ok = r->elements == 2 && r->element[0]->type == REDIS_REPLY_ARRAY &&
             r->element[1]->type == REDIS_REPLY_ARRAY && r->element[1]->elements > 0;
    if (ok) {
        parse_web(r->element[0], w);
        parse_account(r->element[1], acc);
        ok = now < w->expires && w->account[0] != '\0';
    }
    freeReplyObject(r);
    if (!ok)
        return mc_err_set(err, 401, "unauthorized", "not logged in or session ended");
    return 0;
}

int mc_store_web_delete(mc_store *st, const char *tok_hash, mc_err *err)
{
    char kw[96];
    snprintf(kw, sizeof(kw), K "web:%s", tok_hash);
    cmd c;
    cmd_script(&c, 1);
    cmd_add(&c, kw);
    cmd_add(&c, tok_hash);
    return store_exec(st, S_LOGOUT, &c, err);
}

int mc_store_unbind(mc_store *st, const char *login, const char *fp, const mc_actor *a,
                    int64_t now, mc_err *err)
{
    char ka[96], kc[96], kcw[96];
    snprintf(ka, sizeof(ka), K "acct:%s", login);
    snprintf(kc, sizeof(kc), K "cert:%s", fp);
    snprintf(kcw, sizeof(kcw), K "certweb:%s", fp);
    cmd c;
    cmd_script(&c, 4);
    cmd_add(&c, ka);
    cmd_add(&c, kc);
    cmd_add(&c, kcw);
    cmd_add(&c, K "audit");
    cmd_add(&c, login);
    cmd_add(&c, fp);
    cmd_addi(&c, now);
    cmd_add(&c, a->who);
    cmd_add(&c, a->from);
    return store_exec(st, S_UNBIND, &c, err);
}

int mc_store_pwfail_count(mc_store *st, const char *login, long long *n, mc_err *err)
{
    char key[96];
    snprintf(key, sizeof(key), K "pwfail:%s", login);
    cmd c = {0};
    cmd_add(&c, "GET");
    cmd_add(&c, key);
    redisReply *r = store_run(st, &c, err);
    if (r == NULL)
        return -1;
    *n = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    return 0;
}

int mc_store_pwfail_add(mc_store *st, const char *login, int window, mc_err *err)
{
    char key[96];
    snprintf(key, sizeof(key), K "pwfail:%s", login);
    cmd c;
    cmd_script(&c, 1);
    cmd_add(&c, key);
    cmd_addi(&c, window);
    return store_exec(st, S_PWFAIL, &c, err);
}

int mc_store_pwfail_clear(mc_store *st, const char *login, mc_err *err)
{
    char key[96];
    snprintf(key, sizeof(key), K "pwfail:%s", login);
    cmd c = {0};
    cmd_add(&c, "DEL");
    cmd_add(&c, key);
    redisReply *r = store_run(st, &c, err);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int mc_store_audit_each(mc_store *st, size_t count, mc_audit_cb cb, void *privdata, mc_err *err)
{
    cmd c = {0};
    cmd_add(&c, "XREVRANGE");
    cmd_add(&c, K "audit");
    cmd_add(&c, "+");
    cmd_add(&c, "-");
    cmd_add(&c, "COUNT");
    cmd_addi(&c, (long long)count);
    redisReply *r = store_run(st, &c, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return store_unavailable(st, err);
    }
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        redisReply *f = e->element[1];
        const char *kv[64];
        size_t n = 0;
        for (size_t k = 0; k < f->elements && n < 64; k++)
            if (f->element[k]->type == REDIS_REPLY_STRING)
                kv[n++] = f->element[k]->str;
        cb(privdata, e->element[0]->str, kv, n);
    }
    freeReplyObject(r);
    return 0;
}

int mc_store_audit_len(mc_store *st, long long *n, mc_err *err)
{
    cmd c = {0};
    cmd_add(&c, "XLEN");
    cmd_add(&c, K "audit");
    redisReply *r = store_run(st, &c, err);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_INTEGER;
    if (ok)
        *n = r->integer;
    freeReplyObject(r);
    return ok ? 0 : store_unavailable(st, err);
}
