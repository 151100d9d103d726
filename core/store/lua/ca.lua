--[[
ca.lua — revocation and what the CA publishes about it (PROTOCOL.md §9.8):
revoke with an RFC 5280 reason, the CRL's entries and version, OCSP's
statuses. Appended after mcert.lua (whose helpers it uses: now, fail, hget,
audit, account_unbind; cert_record there writes the serial index).

Keys (all durable):
  {mc}:crl            zset serial -> revoked_at: every revoked serial
  {mc}:crlinfo        hash serial -> reason (RFC 5280 CRLReason, 0..10)
  {mc}:crlexp         hash serial -> the certificate's notAfter: an entry
                      is left out of the CRL from a day after it (RFC 5280
                      §3.3; OCSP still answers revoked). Entries without
                      one (made before it existed) stay.
  {mc}:crlver         counter: bumped by every revocation; the CRL's
                      cRLNumber, and what a node compares to know that its
                      cached CRL is stale
  {mc}:serial:<HEX>   string -> fp: a recorded certificate by its serial
                      (upper-case hex, no leading zero octets); written by
                      cert_record (mcert.lua). Records made before it
                      existed have none: OCSP says `unknown` for them while
                      they are valid (revoked ones are on the CRL anyway).
]]

---------------------------------------------------------------- revocation

-- A serial onto the CRL (KEYS of the caller: crl, crlinfo, crlexp) at t
-- with its reason and the certificate's notAfter (from its record c);
-- nothing for a record without a serial. The CRL's version (crlver) is
-- the caller's to move. revoke below and renew.lua's renew_commit
-- (superseded, reason 4) both write entries this way.
local function crl_add(kl, ki, ke, c, serial, t, reason)
  if serial == '' then return end
  redis.call('ZADD', kl, t, serial)
  redis.call('HSET', ki, serial, reason)
  redis.call('HSET', ke, serial, hget(c, 'not_after') or '0')
end

-- KEYS: cert, acct (the bound account as the caller read it, or any key
-- when none), audit, crl, crlinfo, crlver, crlexp.
-- ARGV: fp, login ('' if unbound), who, from, reason (0..10, checked by C).
-- The certificate is recorded revoked with its reason and unbound; its
-- account's bind_gen moves on, so the web sessions it made end (web_auth);
-- its serial joins the CRL and the CRL's version moves on, in one step.
-- A superseded certificate (a renewal replaced it: on the CRL with reason
-- 4 since, bound to nobody) may still be revoked, e.g. for the compromise of
-- its old key: it becomes revoked with the new reason and time, its CRL
-- entry takes both, superseded_at and its links stay. Only a revoked one
-- is refused (cert_revoked).
-- 'stale' if the binding changed since the caller read it (read again).
-- -> {revoked_at, crlver}
local function revoke(keys, args)
  local c, a, au, kl, ki, kv = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6]
  local fp, login, who, from, reason = args[1], args[2], args[3], args[4], args[5]
  if redis.call('EXISTS', c) == 0 then return fail('not_found') end
  if hget(c, 'status') == 'revoked' then return fail('cert_revoked') end
  if (hget(c, 'account') or '') ~= login then return fail('stale') end
  local serial = hget(c, 'serial') or ''
  local t = now()
  if login ~= '' and hget(a, 'cert') == fp then account_unbind(a) end
  redis.call('HSET', c, 'status', 'revoked', 'account', '', 'revoked_at', t, 'reason', reason)
  crl_add(kl, ki, keys[7], c, serial, t, reason)
  local ver = redis.call('INCR', kv)
  audit(au, t, who, from, 'revoke', 'cert', fp, 'account', login, 'serial', serial,
        'reason', reason)
  return {t, ver}
end

---------------------------------------------------------------- publishing

-- KEYS: crl, crlinfo, crlver, crlexp. Everything the CRL holds, as of one
-- moment: -> {crlver, now, {serial, revoked_at, reason, serial, ...}} (by
-- revocation time), without the entries whose certificate expired more
-- than a day ago. O(N) in the revoked serials: a node reads it only when
-- crlver moved, or hourly (api/ca.c).
local function crl_read(keys, args)
  local kl, ki, kv, ke = keys[1], keys[2], keys[3], keys[4]
  local z = redis.call('ZRANGE', kl, 0, -1, 'WITHSCORES')
  local t = now()
  local out = {}
  for i = 1, #z, 2 do
    local na = tonumber(hget(ke, z[i]) or '0') or 0
    if na == 0 or t <= na + 86400 then
      out[#out + 1] = z[i]
      out[#out + 1] = z[i + 1]
      out[#out + 1] = hget(ki, z[i]) or '0'
    end
  end
  return {tonumber(redis.call('GET', kv) or '0'), t, out}
end

-- KEYS: crl, crlinfo, then one serial index key per serial.
-- ARGV: the serials (as in the keys). -> {now, {state, revoked_at, reason}
-- per serial}: 'revoked' if on the CRL, else 'good' if a certificate was
-- recorded with that serial, else 'unknown'.
local function ocsp_status(keys, args)
  local kl, ki = keys[1], keys[2]
  local out = {}
  for i = 1, #args do
    local at = redis.call('ZSCORE', kl, args[i])
    if at then
      out[i] = {'revoked', at, hget(ki, args[i]) or '0'}
    elseif redis.call('EXISTS', keys[2 + i]) == 1 then
      out[i] = {'good', '0', '0'}
    else
      out[i] = {'unknown', '0', '0'}
    end
  end
  return {now(), out}
end

reg('revoke', revoke)
reg('crl_read', crl_read, true)
reg('ocsp_status', ocsp_status, true)
