#!lua name=mcert
--[[
mcert.lua — every state transition of mcert's records, as Redis Functions.

Why: each change (bind, login approval, unbind, revoke, token minting ...) is
one function run atomically inside Redis, so its checks and its writes are
one step: two racing answers can never both win, and a refused change
leaves nothing behind. A request is one round trip where the logic allows.

Rules every function keeps:
  - every key it touches arrives in KEYS (none is built here), so the code
    is correct on Redis Cluster; all keys share the hash tag {mc};
  - time is Redis's own clock (TIME), never the calling node's;
  - a refusal is redis.error_reply('<wire code>'): C maps the code to its
    HTTP status (core/store/mc_store_reply.c) and nothing was written;
  - every change of a durable record appends one entry to the audit stream
    (who, from, what, at) in the same step;
  - state changes of a QR session are published on the events channel as
    "<sid> <state>" so that long polls on any node wake at once;
  - durability: writes to durable records (organisations, accounts,
    certificates, bindings, web sessions) and the audit stream go to the
    AOF (fsynced before the reply: appendfsync always) and to replicas.
    Writes to QR sessions, their events and the throttle counters are
    `volatile`: they go to replicas (a Sentinel failover keeps them) but
    not to the AOF, so they cost no fsync — a crash of Redis itself loses
    the QR sessions in flight (a user scans a new code), never a record.
    A bind changes both kinds in one function: atomic in memory, and on
    replay the records are there and the session is not.

Files: this one holds the shared helpers, the QR sessions, web sessions
and records, and its registry; every other lua/*.lua (one per capability:
sign.lua, ...) is appended after it in name order into the same library
(core/store/lua/embed.cmake), sees its locals, and registers its own
functions at its end.

Loaded by mcertd (FUNCTION LOAD REPLACE) when `mc_version` does not return
the version below (the SHA-1 of the whole library, substituted at build
time).
Non-goals: no policy decided here that C can decide before the call; the few
re-checks (a bind's requester rights) guard against state that changed
since C decided, and say so.
]]

local VERSION = '@MC_LUA_VERSION@'
local CHANNEL = '{mc}:events'

local function now()
  return tonumber(redis.call('TIME')[1])
end

local function fail(code)
  return redis.error_reply(code)
end

-- HGET that gives nil (not false) for a missing field or key
local function hget(k, f)
  local v = redis.call('HGET', k, f)
  if v == false then return nil end
  return v
end

local function audit(k, t, who, from, what, ...)
  redis.call('XADD', k, '*', 'at', t, 'who', who, 'from', from, 'what', what, ...)
end

-- Writes that need not survive a crash of Redis (see the header).
local function volatile(...)
  redis.set_repl(redis.REPL_REPLICA)
  local r = redis.call(...)
  redis.set_repl(redis.REPL_ALL)
  return r
end

-- A throttle's counter (volatile): one more in k, whose window of win
-- seconds starts at its first count. -> the count
local function count_add(k, win)
  local n = volatile('INCR', k)
  if n == 1 then volatile('EXPIRE', k, win) end
  return n
end

local function publish(sid, state)
  volatile('PUBLISH', CHANNEL, sid .. ' ' .. state)
end

-- nil if the session can still be answered at time t, else the wire code
local function sess_closed(s, t)
  if redis.call('EXISTS', s) == 0 then return 'unknown_session' end
  local st = hget(s, 'state')
  if st ~= 'pending' and st ~= 'scanned' then return 'session_done' end
  if t >= tonumber(hget(s, 'expires') or '0') then return 'session_expired' end
  return nil
end

-- The first result of an answer that was already applied, if `answer`
-- (SHA-256 hex of the answer message) is that answer: a phone re-sending
-- after a lost reply gets what the first send got.
local function sess_dup(s, answer)
  local st = hget(s, 'state')
  if (st == 'approved' or st == 'rejected') and hget(s, 'answer') == answer then
    return {'dup', hget(s, 'result') or st, hget(s, 'account') or ''}
  end
  return nil
end

-- The first step of every answer: nil and Redis's time when the session
-- can take this answer; else the reply to return at once — the first
-- result of this same answer (sess_dup), or the refusal.
-- (A missing session has no state: sess_dup passes, sess_closed refuses it.)
local function sess_answerable(s, answer)
  local d = sess_dup(s, answer)
  if d then return d end
  local t = now()
  local e = sess_closed(s, t)
  if e then return fail(e) end
  return nil, t
end

-- An approval's event also names the session's purpose, account and
-- certificate: a poll can then collect a login in one call.
local function sess_answered(s, sid, t, state, result, fp, answer)
  volatile('HSET', s, 'state', state, 'result', result, 'cert', fp,
           'answered_at', t, 'answer', answer)
  if state == 'approved' then
    publish(sid, state .. ' ' .. hget(s, 'purpose') .. ' ' .. hget(s, 'account') .. ' ' .. fp)
  else
    publish(sid, state)
  end
end

-- A certificate's inbox (PROTOCOL.md §8.4; sign.lua's header): a zset
-- sid -> expires and a hash sid -> "<created>\0<expires>\0<entry>", as
-- volatile as the sessions it points at. A session created at t and
-- expiring at exp joins it, the expired entries of the zset leave; both
-- keys outlive any entry (a session lives at most a day). Sign requests
-- (sign.lua) and extensions (renew.lua) both sit there.
local function inbox_add(iz, ih, sid, t, exp, entry)
  volatile('ZREMRANGEBYSCORE', iz, '-inf', t)
  volatile('ZADD', iz, exp, sid)
  volatile('HSET', ih, sid, t .. '\0' .. exp .. '\0' .. entry)
  volatile('EXPIREAT', iz, t + 86400 + 120)
  volatile('EXPIREAT', ih, t + 86400 + 120)
end

-- A session answered (or gone) leaves its certificate's inbox.
local function inbox_drop(iz, ih, sid)
  volatile('ZREM', iz, sid)
  volatile('HDEL', ih, sid)
end

-- The refusal of a certificate record's status for use (login, bind,
-- sign): nil when valid or not recorded (cst nil), 'cert_superseded' when a
-- renewal replaced it (PROTOCOL.md §10), else 'cert_revoked'.
local function cert_unusable(cst)
  if cst == nil or cst == 'valid' then return nil end
  if cst == 'superseded' then return 'cert_superseded' end
  return 'cert_revoked'
end

-- A certificate record from 9 positional arguments starting at args[i]:
-- serial, uscc, cn, org_name, issuer, alg, not_before, not_after, der
-- (mc_cmd_add_cert in C sends them in that order). ks is the serial index
-- key {mc}:serial:<serial> (KEYS; C: mc_serial_key): it names the record
-- by serial for OCSP and `mcertctl revoke --serial` (lua/ca.lua). The
-- first record of a serial keeps it: a certificate of another trusted CA
-- with the same serial cannot take over the index.
-- ks, ko: the keys of the serial index and of the organisation's set of
-- certificates (apply.lua's fee rule counts it); mc_cmd_add_cert_keys in C
-- sends both.
local function cert_record(c, fp, args, i, t, ks, ko)
  if not ks or not ko then error('cert_record needs the serial index and orgcerts keys') end
  redis.call('HSET', c, 'fp', fp, 'serial', args[i], 'uscc', args[i + 1], 'cn', args[i + 2],
             'org_name', args[i + 3], 'issuer', args[i + 4], 'alg', args[i + 5],
             'not_before', args[i + 6], 'not_after', args[i + 7], 'status', 'valid',
             'recorded_at', t)
  if args[i + 8] ~= '' then redis.call('HSET', c, 'der', args[i + 8]) end
  redis.call('SET', ks, fp, 'NX')
  redis.call('SADD', ko, fp)
end

-- The account side of ending a binding; the new bind_gen ends the web
-- sessions the certificate made (web_auth compares it).
local function account_unbind(a)
  redis.call('HSET', a, 'cert', '', 'bound_at', '0', 'bound_by', '')
  redis.call('HINCRBY', a, 'bind_gen', 1)
end

-- An invoice that holds its order's money (PROTOCOL.md §11): requested or
-- issued. A refund of that order is refused (invoice_open) until the
-- invoice is voided or rejected. k: {mc}:inv:<oid> (KEYS of the caller).
local function invoice_holds(k)
  local st = hget(k, 'state')
  return st == 'requested' or st == 'issued'
end

-- An order's money goes back (PROTOCOL.md §9.6): the order o (KEYS of
-- the caller) becomes refund_pending and is queued in refundq rq at t for
-- PAY's sweep, which asks the provider until it confirms (pay.lua). A
-- withdrawn or rejected application (apply.lua), a payment its owner can
-- no longer take (pay.lua) and a renewal's refund (renew.lua) do it.
local function order_refund(o, rq, oid, t)
  redis.call('HSET', o, 'state', 'refund_pending')
  redis.call('ZADD', rq, t, oid)
end

---------------------------------------------------------------- version

local function mc_version(keys, args)
  return VERSION
end

---------------------------------------------------------------- sessions

-- KEYS: sess, opens counter of the client address, its open sessions (zset)
-- ARGV: ttl, opens per minute (0: no limit), open sessions (0: no limit),
--       then field/value pairs. -> {created, expires}, or {0, retry_after}
-- when the address is over a limit (nothing stored). Unauthenticated work
-- is bounded per client address, across all nodes.
local function sess_open(keys, args)
  local s, ko, kp = keys[1], keys[2], keys[3]
  if redis.call('EXISTS', s) == 1 then return fail('sid_collision') end
  local t = now()
  local ttl, max_opens, max_pending = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
  if max_opens > 0 then
    if count_add(ko, 60) > max_opens then return {0, math.max(redis.call('TTL', ko), 1)} end
  end
  if max_pending > 0 then
    volatile('ZREMRANGEBYSCORE', kp, '-inf', t)
    if redis.call('ZCARD', kp) >= max_pending then
      local first = redis.call('ZRANGE', kp, 0, 0, 'WITHSCORES')
      return {0, math.max(tonumber(first[2]) - t, 1)}
    end
    volatile('ZADD', kp, t + ttl, s)
    volatile('EXPIREAT', kp, t + ttl + 60) -- with its newest session's key
  end
  local kv = {}
  for i = 4, #args do kv[#kv + 1] = args[i] end
  volatile('HSET', s, 'state', 'pending', 'created', t, 'expires', t + ttl,
           'cert', '', 'claimed', '0', unpack(kv))
  -- readers see "expired" from `expires` on; the key itself goes a minute later
  volatile('EXPIREAT', s, t + ttl + 60)
  return {t, t + ttl}
end

-- KEYS: sess. ARGV: sid. The phone fetched it: pending -> scanned.
-- -> the session hash
local function sess_scan(keys, args)
  local s = keys[1]
  local e = sess_closed(s, now())
  if e then return fail(e) end
  if hget(s, 'state') == 'pending' then
    volatile('HSET', s, 'state', 'scanned')
    publish(args[1], 'scanned')
  end
  return redis.call('HGETALL', s)
end

-- KEYS: sess, cert. ARGV: answer hash. What checking an answer needs, read
-- in one step: -> {'dup', result, account} for an answer already applied,
-- else {'open', session hash, cert's bound account, cert status}.
local function sess_answer_ctx(keys, args)
  local s, c = keys[1], keys[2]
  local early = sess_answerable(s, args[1])
  if early then return early end
  return {'open', redis.call('HGETALL', s), hget(c, 'account') or '', hget(c, 'status') or ''}
end

-- KEYS: sess, acct (target), cert, requester's acct (= acct for self), audit,
--       serial index, orgcerts (cert_record)
-- ARGV: sid, fp, login, answer, who, from, then the certificate's 9
--       fields (cert_record)
-- -> {'ok'|'dup', result, login}
local function bind_approve(keys, args)
  local s, a, c, rq, au = keys[1], keys[2], keys[3], keys[4], keys[5]
  local sid, fp, login, answer, who, from = args[1], args[2], args[3], args[4], args[5], args[6]
  local uscc = args[8]
  local early, t = sess_answerable(s, answer)
  if early then return early end
  if hget(s, 'purpose') ~= 'bind' then return fail('purpose_mismatch') end
  if hget(s, 'account') ~= login then return fail('account_mismatch') end
  local cst = hget(c, 'status')
  local ce = cert_unusable(cst)
  if ce then return fail(ce) end
  if redis.call('EXISTS', a) == 0 then return fail('not_found') end
  local org = hget(a, 'org')
  if org ~= uscc then return fail('org_mismatch') end
  -- mc_policy_may_manage, re-checked: the opener's rights may have changed
  -- in the minutes since the session was opened
  local by = hget(s, 'requester') or ''
  if by ~= login and (hget(rq, 'role') ~= 'admin' or hget(rq, 'org') ~= org) then
    return fail('not_permitted')
  end
  if (hget(c, 'account') or '') ~= '' then return fail('cert_bound') end
  if (hget(a, 'cert') or '') ~= '' then return fail('account_bound') end
  if not cst then
    cert_record(c, fp, args, 7, t, keys[6], keys[7])
  elseif not hget(c, 'der') and args[15] ~= '' then
    redis.call('HSET', c, 'der', args[15])
  end
  redis.call('HSET', c, 'account', login, 'bound_at', t)
  redis.call('HSET', a, 'cert', fp, 'bound_at', t, 'bound_by', by)
  redis.call('HINCRBY', a, 'bind_gen', 1)
  sess_answered(s, sid, t, 'approved', 'approved', fp, answer)
  audit(au, t, who, from, 'bind', 'account', login, 'cert', fp, 'sid', sid, 'by', by)
  return {'ok', 'approved', login}
end

-- KEYS: sess, cert, acct (the one the certificate is bound to), audit
-- ARGV: sid, fp, uscc, answer, who, from, login
-- -> {'ok'|'dup', result, login}
local function login_approve(keys, args)
  local s, c, a, au = keys[1], keys[2], keys[3], keys[4]
  local sid, fp, uscc, answer, who, from, login =
    args[1], args[2], args[3], args[4], args[5], args[6], args[7]
  local early, t = sess_answerable(s, answer)
  if early then return early end
  if hget(s, 'purpose') ~= 'login' then return fail('purpose_mismatch') end
  local ce = cert_unusable(hget(c, 'status'))
  if ce then return fail(ce) end
  if login == '' or hget(c, 'account') ~= login or hget(a, 'cert') ~= fp then
    return fail('not_bound')
  end
  if hget(a, 'org') ~= uscc then return fail('org_mismatch') end
  volatile('HSET', s, 'account', login)
  sess_answered(s, sid, t, 'approved', 'approved', fp, answer)
  audit(au, t, who, from, 'login_approve', 'account', login, 'cert', fp, 'sid', sid)
  return {'ok', 'approved', login}
end

-- KEYS: sess. ARGV: sid, fp, answer, result ('rejected' | 'wrong_number')
-- A signed rejection, or an approval with the wrong number (which ends the
-- session too: a guess must not get a second try). -> {'ok'|'dup', result, ''}
local function sess_reject(keys, args)
  local s = keys[1]
  local sid, fp, answer, result = args[1], args[2], args[3], args[4]
  local early, t = sess_answerable(s, answer)
  if early then return early end
  sess_answered(s, sid, t, 'rejected', result, fp, answer)
  return {'ok', result, ''}
end

-- KEYS: sess. The browser's read: -> {now, session hash}. The poll secret
-- is checked by the caller (in constant time, against the hash's `poll`),
-- so that one read serves every browser waiting on the session.
local function sess_poll(keys, args)
  local s = keys[1]
  if redis.call('EXISTS', s) == 0 then return fail('unknown_session') end
  return {now(), redis.call('HGETALL', s)}
end

-- KEYS: sess, web, cert, acct, audit
-- ARGV: poll hash, web ttl, ip, from, login, fp
-- Hands out the web session of an approved login: creates it once; later
-- calls by the poll-secret holder find it again (the token is derived from
-- the poll secret, so the same one is returned). Re-checks that the
-- certificate is still valid and still bound to that account.
-- -> {'new'|'again', web expires, session expires} or {'ended', 0, session
-- expires} when it was collected and has ended. 'stale' when login/fp are
-- not the session's (the caller's hint was wrong: read the session).
local function login_mint(keys, args)
  local s, w, c, a, au = keys[1], keys[2], keys[3], keys[4], keys[5]
  local ph, ttl, ip, from, login, fp = args[1], tonumber(args[2]), args[3], args[4], args[5], args[6]
  if redis.call('EXISTS', s) == 0 then return fail('unknown_session') end
  if hget(s, 'poll') ~= ph then return fail('bad_poll_secret') end
  if hget(s, 'purpose') ~= 'login' or hget(s, 'state') ~= 'approved' then
    return fail('session_done')
  end
  if hget(s, 'account') ~= login or hget(s, 'cert') ~= fp then return fail('stale') end
  -- on every read, not only the first: a token is never handed out for a
  -- certificate revoked or unbound since (it would not work anyway)
  local cst = hget(c, 'status')
  if cst ~= 'valid' then return fail(cert_unusable(cst) or 'cert_revoked') end
  if hget(c, 'account') ~= login or hget(a, 'cert') ~= fp then return fail('not_bound') end
  local sexp = tonumber(hget(s, 'expires'))
  if hget(s, 'claimed') == '1' then
    local exp = hget(w, 'expires')
    if exp then return {'again', tonumber(exp), sexp} end
    return {'ended', 0, sexp}
  end
  local t = now()
  redis.call('HSET', w, 'account', login, 'cert', fp, 'ip', ip, 'created', t,
             'expires', t + ttl, 'bind_gen', hget(a, 'bind_gen') or '0')
  redis.call('EXPIREAT', w, t + ttl)
  volatile('HSET', s, 'claimed', '1')
  audit(au, t, login, from, 'web_login', 'account', login, 'cert', fp, 'sid', hget(s, 'sid'))
  return {'new', t + ttl, sexp}
end

---------------------------------------------------------------- web sessions

-- A source that keeps trying past its limit waits longer each time: the
-- counter's window doubles with every refused attempt after the first
-- (15 min, 30 min, 1 h, ... at most a day). -> seconds left
local function refuse(k, over, win)
  local want = math.min(win * 2 ^ math.min(over - 1, 7), 86400)
  local left = redis.call('TTL', k)
  if left < want then
    volatile('EXPIRE', k, want)
    left = want
  end
  return left
end

-- KEYS: per (account, address) counter, per address counter, acct
-- ARGV: limit per account and address, limit per address, window seconds
-- A password attempt is counted BEFORE the password is checked, so parallel
-- guesses never get more checks than the limit; and per account AND
-- address, so a stranger guessing cannot lock the owner out from elsewhere.
-- -> {0, retry_after} when over a limit, else {1, account hash ({} if none)}
local function pw_attempt(keys, args)
  local pa, pi, a = keys[1], keys[2], keys[3]
  local la, li, win = tonumber(args[1]), tonumber(args[2]), tonumber(args[3])
  local n1 = count_add(pa, win)
  local n2 = count_add(pi, win)
  if n1 > la or n2 > li then
    local ttl = 1
    if n1 > la then ttl = math.max(ttl, refuse(pa, n1 - la, win)) end
    if n2 > li then ttl = math.max(ttl, refuse(pi, n2 - li, win)) end
    return {0, ttl}
  end
  return {1, redis.call('HGETALL', a)}
end

-- KEYS: web, acct, audit, per (account, address) counter, per address counter
-- ARGV: login, ttl, ip, from. A password login that succeeded: the
-- account's counter for that address is cleared, the address's gets its
-- attempt back. -> expires
local function web_open(keys, args)
  local w, a, au = keys[1], keys[2], keys[3]
  local login, ttl, ip, from = args[1], tonumber(args[2]), args[3], args[4]
  if redis.call('EXISTS', a) == 0 then return fail('not_found') end
  volatile('DEL', keys[4])
  if tonumber(redis.call('GET', keys[5]) or '0') > 0 then volatile('DECR', keys[5]) end
  local t = now()
  redis.call('HSET', w, 'account', login, 'cert', '', 'ip', ip, 'created', t,
             'expires', t + ttl, 'bind_gen', '')
  redis.call('EXPIREAT', w, t + ttl)
  audit(au, t, login, from, 'web_login', 'account', login, 'cert', '')
  return t + ttl
end

-- KEYS: web, acct. ARGV: login. The web session of a token and its
-- account: -> {web hash, account hash}. A session made by a certificate
-- login holds only while that certificate — or the one a renewal replaced
-- it with — stays bound to the account by the same binding (bind_gen):
-- unbind and revoke end it without touching it.
local function web_auth(keys, args)
  local w, a = keys[1], keys[2]
  local acc = hget(w, 'account')
  if not acc or acc ~= args[1] then return fail('unauthorized') end
  if now() >= tonumber(hget(w, 'expires') or '0') then return fail('unauthorized') end
  if redis.call('EXISTS', a) == 0 then return fail('unauthorized') end
  -- bind_gen moves on with every bind, unbind and revoke, but not when a
  -- renewal moves the binding to the renewed certificate (renew.lua): the
  -- web sessions made with the certificate it replaced stay
  local cert = hget(w, 'cert') or ''
  if cert ~= '' and ((hget(a, 'cert') or '') == '' or hget(a, 'bind_gen') ~= hget(w, 'bind_gen')) then
    return fail('unauthorized')
  end
  return {redis.call('HGETALL', w), redis.call('HGETALL', a)}
end

-- KEYS: web. Logout.
local function web_close(keys, args)
  redis.call('DEL', keys[1])
  return 'ok'
end

---------------------------------------------------------------- records

-- KEYS: org, audit. ARGV: uscc, name, who, from
local function org_create(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then return fail('org_exists') end
  local t = now()
  redis.call('HSET', keys[1], 'uscc', args[1], 'name', args[2], 'created', t)
  audit(keys[2], t, args[3], args[4], 'org_create', 'org', args[1])
  return 'ok'
end

-- KEYS: acct, orgaccts, org, audit. ARGV: login, name, org, role, pw, who, from
local function acct_create(keys, args)
  if redis.call('EXISTS', keys[3]) == 0 then return fail('not_found') end
  if redis.call('EXISTS', keys[1]) == 1 then return fail('account_exists') end
  local t = now()
  redis.call('HSET', keys[1], 'login', args[1], 'name', args[2], 'org', args[3],
             'role', args[4], 'pw', args[5], 'cert', '', 'bound_at', '0', 'bound_by', '',
             'bind_gen', '0', 'created', t)
  redis.call('SADD', keys[2], args[1])
  audit(keys[4], t, args[6], args[7], 'account_create', 'account', args[1], 'org', args[3],
        'role', args[4])
  return 'ok'
end

-- KEYS: cert, audit, serial index, orgcerts (cert_record). ARGV: fp, who, from, then
-- the certificate's 9 fields (cert_record)
local function cert_put(keys, args)
  if redis.call('EXISTS', keys[1]) == 1 then return fail('cert_exists') end
  local t = now()
  cert_record(keys[1], args[1], args, 4, t, keys[3], keys[4])
  redis.call('HSET', keys[1], 'account', '')
  audit(keys[2], t, args[2], args[3], 'cert_issue', 'cert', args[1], 'org', args[5],
        'serial', args[4])
  return 'ok'
end

-- KEYS: acct, cert, audit. ARGV: login, fp, who, from.
-- Frees both sides; the certificate's web sessions stop authenticating
-- (web_auth compares bind_gen).
local function unbind(keys, args)
  local a, c, au = keys[1], keys[2], keys[3]
  local login, fp = args[1], args[2]
  if redis.call('EXISTS', a) == 0 then return fail('not_found') end
  if hget(a, 'cert') ~= fp then return fail('not_bound') end
  local t = now()
  account_unbind(a)
  if redis.call('EXISTS', c) == 1 then redis.call('HSET', c, 'account', '') end
  audit(au, t, args[3], args[4], 'unbind', 'account', login, 'cert', fp)
  return 'ok'
end

-- revoke: lua/ca.lua (with its reason, the CRL and the serial index).

-- KEYS: any number of hashes. -> their HGETALLs, in order ({} if missing)
local function hgetall_many(keys, args)
  local out = {}
  for i = 1, #keys do out[i] = redis.call('HGETALL', keys[i]) end
  return out
end

---------------------------------------------------------------- registry

local function reg(name, fn, ro)
  if ro then
    redis.register_function{function_name = name, callback = fn, flags = {'no-writes'}}
  else
    redis.register_function(name, fn)
  end
end

reg('mc_version', mc_version, true)
reg('sess_open', sess_open)
reg('sess_scan', sess_scan)
reg('sess_answer_ctx', sess_answer_ctx, true)
reg('bind_approve', bind_approve)
reg('login_approve', login_approve)
reg('sess_reject', sess_reject)
reg('sess_poll', sess_poll, true)
reg('login_mint', login_mint)
reg('pw_attempt', pw_attempt)
reg('web_open', web_open)
reg('web_auth', web_auth, true)
reg('web_close', web_close)
reg('org_create', org_create)
reg('acct_create', acct_create)
reg('cert_put', cert_put)
reg('unbind', unbind)
reg('hgetall_many', hgetall_many, true)
