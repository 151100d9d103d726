--[[
sign.lua — signing bid documents (PROTOCOL.md §8): sign sessions' extra
steps, the phone's inbox, the account's sign history, verification notes,
and the platform's API keys. Appended after mcert.lua (whose helpers it
uses: now, fail, hget, audit, volatile, sess_answerable, sess_answered,
inbox_add, inbox_drop, count_add).
]]

---------------------------------------------------------------- signing

-- A sign session (PROTOCOL.md §8) is a QR session with more fields (docs,
-- text, signing_time, alg, apikey, want) that also sits in its
-- certificate's inbox (mcert.lua's inbox_add; its entry from C:
-- "<match>\0<documents>\0<requester name>\0<text>") and in its account's
-- history: a zset (sid -> created) and a hash (sid -> summary JSON, sid:s
-- -> state, sid:t -> "created expires answered_at"), the newest 100 kept
-- for 30 days. The inbox is volatile like the sessions it points at; the
-- history and the audit are durable.

local HISTORY_MAX = 100
local HISTORY_TTL = 30 * 86400

local function history_set(hh, sid, state, t)
  if redis.call('HEXISTS', hh, sid) == 0 then return end
  local times = hget(hh, sid .. ':t') or '0 0 0'
  local c, e = string.match(times, '^(%d+) (%d+)')
  redis.call('HSET', hh, sid .. ':s', state, sid .. ':t', (c or '0') .. ' ' .. (e or '0') .. ' ' .. t)
end

-- KEYS: sess, inbox zset, inbox hash, history zset, history hash, audit
-- ARGV: ttl, inbox entry, history summary, who, from, docs audit line,
--       then the session's field/value pairs -> {created, expires}
local function sign_open(keys, args)
  local s, iz, ih, hz, hh, au = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6]
  if redis.call('EXISTS', s) == 1 then return fail('sid_collision') end
  local t = now()
  local ttl = tonumber(args[1])
  local kv = {}
  for i = 7, #args do kv[#kv + 1] = args[i] end
  volatile('HSET', s, 'state', 'pending', 'created', t, 'expires', t + ttl,
           'signing_time', t, 'cert', '', 'claimed', '0', unpack(kv))
  volatile('EXPIREAT', s, t + ttl + 60)
  local sid = hget(s, 'sid')
  inbox_add(iz, ih, sid, t, t + ttl, args[2])
  local tm = redis.call('TIME') -- microseconds order two requests of one second
  redis.call('ZADD', hz, tonumber(tm[1]) + tonumber(tm[2]) / 1e6, sid)
  redis.call('HSET', hh, sid, args[3], sid .. ':s', 'pending', sid .. ':t', t .. ' ' .. (t + ttl) .. ' 0')
  local n = redis.call('ZCARD', hz)
  if n > HISTORY_MAX then
    local old = redis.call('ZRANGE', hz, 0, n - HISTORY_MAX - 1)
    for _, o in ipairs(old) do redis.call('HDEL', hh, o, o .. ':s', o .. ':t') end
    redis.call('ZREMRANGEBYRANK', hz, 0, n - HISTORY_MAX - 1)
  end
  redis.call('EXPIRE', hz, HISTORY_TTL)
  redis.call('EXPIRE', hh, HISTORY_TTL)
  audit(au, t, args[4], args[5], 'sign_request', 'sid', sid, 'account', hget(s, 'account'),
        'cert', hget(s, 'want'), 'docs', args[6])
  return {t, t + ttl}
end

-- KEYS: sess, cert, acct, inbox zset, inbox hash, history hash, audit
-- ARGV: sid, fp, uscc, answer, who, from, login, results, docs audit line
-- -> {'ok'|'dup', result, login}
local function sign_approve(keys, args)
  local s, c, a, iz, ih, hh, au = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7]
  local sid, fp, uscc, answer, who, from, login =
    args[1], args[2], args[3], args[4], args[5], args[6], args[7]
  local early, t = sess_answerable(s, answer)
  if early then return early end
  if hget(s, 'purpose') ~= 'sign' then return fail('purpose_mismatch') end
  if hget(s, 'account') ~= login then return fail('not_bound') end
  local ce = cert_unusable(hget(c, 'status'))
  if ce then return fail(ce) end
  if hget(c, 'account') ~= login or hget(a, 'cert') ~= fp then return fail('not_bound') end
  if hget(a, 'org') ~= uscc then return fail('org_mismatch') end
  volatile('HSET', s, 'results', args[8])
  sess_answered(s, sid, t, 'approved', 'approved', fp, answer)
  inbox_drop(iz, ih, sid)
  history_set(hh, sid, 'approved', t)
  audit(au, t, who, from, 'sign_approve', 'sid', sid, 'account', login, 'cert', fp,
        'docs', args[9])
  return {'ok', 'approved', login}
end

-- KEYS: sess, inbox zset, inbox hash, history hash, audit
-- ARGV: sid, fp, answer, result ('rejected' | 'wrong_number'), who, from
-- -> {'ok'|'dup', result, ''}
local function sign_reject(keys, args)
  local s, iz, ih, hh, au = keys[1], keys[2], keys[3], keys[4], keys[5]
  local sid, fp, answer, result = args[1], args[2], args[3], args[4]
  local early, t = sess_answerable(s, answer)
  if early then return early end
  sess_answered(s, sid, t, 'rejected', result, fp, answer)
  inbox_drop(iz, ih, sid)
  history_set(hh, sid, 'rejected', t)
  audit(au, t, args[5], args[6], 'sign_reject', 'sid', sid, 'account', hget(s, 'account'),
        'cert', fp, 'result', result)
  return {'ok', result, ''}
end

-- KEYS: sess, audit. ARGV: poll hash ('' when by API key), API key id ('' when
-- by poll secret), who, from. The signatures of an approved sign session to
-- whoever may collect them; audited. -> {docs, results}
local function sign_collect(keys, args)
  local s, au = keys[1], keys[2]
  if redis.call('EXISTS', s) == 0 then return fail('unknown_session') end
  if args[1] ~= '' then
    if hget(s, 'poll') ~= args[1] then return fail('bad_poll_secret') end
  elseif args[2] == '' or hget(s, 'apikey') ~= args[2] then
    return fail('bad_poll_secret')
  end
  if hget(s, 'purpose') ~= 'sign' or hget(s, 'state') ~= 'approved' then
    return fail('session_done')
  end
  audit(au, now(), args[3], args[4], 'sign_collect', 'sid', hget(s, 'sid'),
        'account', hget(s, 'account'))
  return {hget(s, 'docs') or '', hget(s, 'results') or ''}
end

-- KEYS: history zset, history hash. -> {now, {summary, state, times}...}
-- newest first
local function sign_history(keys, args)
  local hz, hh = keys[1], keys[2]
  local out = {}
  local sids = redis.call('ZREVRANGE', hz, 0, HISTORY_MAX - 1)
  for _, sid in ipairs(sids) do
    local v = redis.call('HMGET', hh, sid, sid .. ':s', sid .. ':t')
    if v[1] then out[#out + 1] = {sid, v[1], v[2] or 'pending', v[3] or '0 0 0'} end
  end
  return {now(), out}
end

-- KEYS: cert, nonce key, inbox zset, inbox hash. ARGV: nonce ttl.
-- The phone's inbox, once its request is fresh: the certificate must be
-- recorded with its DER, bound, valid and unexpired; the nonce is claimed
-- (durably: a replay is refused even after a restart of Redis). The
-- caller then checks the signature with the DER's key.
-- -> {der, now, {sid, entry}...}
local function inbox_list(keys, args)
  local c, kn, iz, ih = keys[1], keys[2], keys[3], keys[4]
  local der = hget(c, 'der')
  if not der or (hget(c, 'account') or '') == '' then return fail('not_bound') end
  local cst = hget(c, 'status')
  if cst ~= 'valid' then return fail(cert_unusable(cst) or 'cert_revoked') end
  local t = now()
  if t >= tonumber(hget(c, 'not_after') or '0') then return fail('cert_expired') end
  if not redis.call('SET', kn, '1', 'NX', 'EX', tonumber(args[1])) then
    return fail('replayed')
  end
  local gone = redis.call('ZRANGEBYSCORE', iz, '-inf', t)
  for _, sid in ipairs(gone) do volatile('HDEL', ih, sid) end
  if #gone > 0 then volatile('ZREMRANGEBYSCORE', iz, '-inf', t) end
  local out = {}
  local live = redis.call('ZRANGE', iz, 0, -1, 'WITHSCORES')
  for i = 1, #live, 2 do
    local e = hget(ih, live[i])
    if e then out[#out + 1] = {live[i], e} end
  end
  -- oldest first: entries start with their creation time (same width)
  table.sort(out, function(x, y) return x[2] < y[2] end)
  local n = math.min(#out, 100)
  local flat = {}
  for i = 1, n do flat[i] = out[i] end
  return {der, t, flat}
end

-- KEYS: cert, audit. ARGV: who, from, fp, verdict ('valid' or the reason).
-- A verification (§8.8): the signer's record as it is now, and the audit
-- line of who checked what. -> the certificate hash ({} if unrecorded)
local function verify_note(keys, args)
  audit(keys[2], now(), args[1], args[2], 'verify', 'cert', args[3], 'verdict', args[4])
  return redis.call('HGETALL', keys[1])
end

---------------------------------------------------------------- API keys

-- KEYS: key hash, key set, audit. ARGV: id, hash, name, org, scopes, who, from
local function apikey_create(keys, args)
  local k, ks, au = keys[1], keys[2], keys[3]
  if redis.call('EXISTS', k) == 1 then return fail('apikey_exists') end
  local t = now()
  redis.call('HSET', k, 'id', args[1], 'hash', args[2], 'name', args[3], 'org', args[4],
             'scopes', args[5], 'created', t, 'revoked_at', '0')
  redis.call('SADD', ks, args[1])
  audit(au, t, args[6], args[7], 'apikey_create', 'apikey', args[1], 'org', args[4],
        'scopes', args[5])
  return 'ok'
end

-- KEYS: key hash, audit. ARGV: id, who, from
local function apikey_revoke(keys, args)
  local k, au = keys[1], keys[2]
  if redis.call('EXISTS', k) == 0 then return fail('not_found') end
  if hget(k, 'revoked_at') ~= '0' then return fail('apikey_revoked') end
  local t = now()
  redis.call('HSET', k, 'revoked_at', t)
  audit(au, t, args[2], args[3], 'apikey_revoke', 'apikey', args[1])
  return 'ok'
end

-- KEYS: key hash, its per-minute counter. ARGV: hash (SHA-256 hex of the
-- whole key), calls per minute (0: no limit). Only a call with the right
-- key is counted (a stranger cannot spend a platform's allowance); the
-- compared values are digests, so comparing them plainly reveals nothing
-- of the secret. -> {1, key hash} or {0, retry_after}
local function apikey_auth(keys, args)
  local k, kr = keys[1], keys[2]
  local h = hget(k, 'hash')
  if not h or h ~= args[1] or hget(k, 'revoked_at') ~= '0' then
    return fail('unauthorized')
  end
  local lim = tonumber(args[2])
  if lim > 0 then
    if count_add(kr, 60) > lim then return {0, math.max(redis.call('TTL', kr), 1)} end
  end
  return {1, redis.call('HGETALL', k)}
end


reg('sign_open', sign_open)
reg('sign_approve', sign_approve)
reg('sign_reject', sign_reject)
reg('sign_collect', sign_collect)
reg('sign_history', sign_history, true)
reg('inbox_list', inbox_list)
reg('verify_note', verify_note)
reg('apikey_create', apikey_create)
reg('apikey_revoke', apikey_revoke)
reg('apikey_auth', apikey_auth)
