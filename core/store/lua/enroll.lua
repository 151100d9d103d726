--[[
enroll.lua — delivering an approved application's certificate to the phone
(PROTOCOL.md §9.7): the enroll QR session, the redemption of the activation
code, and the one atomic step that records what the CA issued. Appended
after mcert.lua (whose helpers it uses: now, fail, hget, audit, volatile,
sess_closed, sess_answered, cert_record, sess_open, count_add, refuse).

Records (the data model of issue 7):
  {mc}:act:<app>   the activation, made by APP's approve: hash, expires,
                   tries (wrong tries so far), state open|used|locked; this
                   file adds fp (the certificate issued), csr (SHA-256 hex
                   of the CSR it was issued for), used_at, locked_at
  {mc}:app:<app>   the application: only `state` (approved_pending_issue
                   -> issued), `cert` and `gen` are written here
  {mc}:cert:<fp>   the certificate record (cert_put's fields, DER kept)
  {mc}:serial:<S>  serial (upper-case hex) -> fp, the CA's index

The CSR check and the CA's signature run in C between enroll_begin and
enroll_commit, never inside Redis; enroll_commit therefore re-checks every
condition that may have changed meanwhile (a racing redemption, a lock, the
expiry, the application's state).

A redemption repeated after a lost reply (the same code and byte-identical
CSR, while the activation lives) finds the activation used for that CSR and
gets the certificate already issued (`again`), never a second one.

Locals are kept few: the library is one Lua chunk (at most 200 locals).
]]

local ENROLL = {}

-- The activation's refusal at time t before any code is compared (nil if
-- it can be tried): missing, locked, expired.
function ENROLL.closed(ka, kp, t)
  if redis.call('EXISTS', ka) == 0 or redis.call('EXISTS', kp) == 0 then
    return 'no_activation'
  end
  if hget(ka, 'state') == 'locked' then return 'activation_locked' end
  if t >= tonumber(hget(ka, 'expires') or '0') then return 'activation_expired' end
  return nil
end

-- A QR session that an enrollment of application `app` may answer (nil)
-- or the refusal.
function ENROLL.sess(ks, app, t)
  local e = sess_closed(ks, t)
  if e then return e end
  if hget(ks, 'purpose') ~= 'enroll' then return 'purpose_mismatch' end
  if hget(ks, 'app') ~= app then return 'app_mismatch' end
  return nil
end

-- KEYS: act, app, audit, the client address's counter, sess (only when
--       ARGV sid is not '')
-- ARGV: code hash (SHA-256 hex of "<app>:<code>"), csr hash, tries allowed,
--       sid, who, from, app id, wrong codes allowed per address, window (s)
-- The code is counted BEFORE it is compared (the try is added to `tries`
-- first; a right code takes it back), so parallel guesses never get more
-- comparisons than allowed; the last wrong one locks the activation.
-- Per client address too (like pw_attempt): a try is counted on the
-- address's counter before the code is compared, and given back when it
-- was right, so one source cannot lock everyone's activations by guessing
-- order numbers; over the limit the code is not compared at all.
-- -> {'limited', retry_after} (nothing but the address's counter written) |
--    {'wrong', tries left} | {'locked', 0} (both written and audited) |
--    {'again', fp} (already issued for this CSR) |
--    {'open', holder_name, org_name, uscc, alg, applicant}
local function enroll_begin(keys, args)
  local ka, kp, au, ki, ks = keys[1], keys[2], keys[3], keys[4], keys[5]
  local hash, csr, max, sid, who, from, app =
    args[1], args[2], tonumber(args[3]), args[4], args[5], args[6], args[7]
  local per_ip, win = tonumber(args[8]), tonumber(args[9])
  local t = now()
  local e = ENROLL.closed(ka, kp, t)
  if e then return fail(e) end
  local m = count_add(ki, win)
  if m > per_ip then return {'limited', refuse(ki, m - per_ip, win)} end
  local n = redis.call('HINCRBY', ka, 'tries', 1)
  if hget(ka, 'hash') == hash then
    volatile('DECR', ki)
  else
    if n >= max then
      redis.call('HSET', ka, 'state', 'locked', 'locked_at', t)
      audit(au, t, who, from, 'activation_locked', 'app', app, 'tries', n)
      return {'locked', 0}
    end
    audit(au, t, who, from, 'activation_wrong_code', 'app', app, 'tries', n)
    return {'wrong', max - n}
  end
  redis.call('HINCRBY', ka, 'tries', -1)
  local st = hget(ka, 'state')
  if st == 'used' then
    if hget(ka, 'csr') == csr then return {'again', hget(ka, 'fp') or ''} end
    return fail('activation_used')
  end
  if st ~= 'open' then return fail('no_activation') end
  if hget(kp, 'state') ~= 'approved_pending_issue' then return fail('bad_transition') end
  if sid ~= '' then
    local se = ENROLL.sess(ks, app, t)
    if se then return fail(se) end
  end
  return {'open', hget(kp, 'holder_name') or '', hget(kp, 'org_name') or '',
          hget(kp, 'uscc') or '', hget(kp, 'alg') or '', hget(kp, 'applicant') or ''}
end

-- KEYS: cert. The certificate of a repeated redemption: -> {status, der}
-- ({'', ''} if unrecorded).
local function enroll_cert(keys, args)
  return {hget(keys[1], 'status') or '', hget(keys[1], 'der') or ''}
end

-- KEYS: act, app, cert, audit, serial index, orgcerts (cert_record), sess
--       (only when sid ~= '')
-- ARGV: code hash, csr hash, sid, who, from, app id, fp, then the
--       certificate's 9 fields (cert_record: serial, uscc, cn, org_name,
--       issuer, alg, not_before, not_after, der)
-- The issued certificate recorded, the activation used (remembering fp and
-- the CSR), the application issued with cert = fp, audited; the QR
-- session, if named and still answerable, approved (its browser wakes).
-- Re-checks what may have changed since enroll_begin.
-- -> {'ok', fp} | {'again', fp} (a racing identical redemption won: the
--    certificate passed here was not recorded)
local function enroll_commit(keys, args)
  local ka, kp, kc, au, kn, ko, ks = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6],
    keys[7]
  local hash, csr, sid, who, from, app, fp =
    args[1], args[2], args[3], args[4], args[5], args[6], args[7]
  local t = now()
  local e = ENROLL.closed(ka, kp, t)
  if e then return fail(e) end
  if hget(ka, 'hash') ~= hash then return fail('activation_used') end -- replaced since
  local st = hget(ka, 'state')
  if st == 'used' then
    if hget(ka, 'csr') == csr then return {'again', hget(ka, 'fp') or ''} end
    return fail('activation_used')
  end
  if st ~= 'open' then return fail('no_activation') end
  local from_state = hget(kp, 'state')
  if from_state ~= 'approved_pending_issue' then return fail('bad_transition') end
  if redis.call('EXISTS', kc) == 1 then return fail('cert_exists') end
  cert_record(kc, fp, args, 8, t, kn, ko) -- with the serial index (lua/ca.lua)
  redis.call('HSET', kc, 'account', '', 'app', app)
  redis.call('HSET', ka, 'state', 'used', 'fp', fp, 'csr', csr, 'used_at', t)
  redis.call('HSET', kp, 'state', 'issued', 'cert', fp)
  redis.call('HINCRBY', kp, 'gen', 1)
  audit(au, t, who, from, 'cert_issue', 'cert', fp, 'org', args[9], 'serial', args[8],
        'app', app)
  audit(au, t, who, from, 'app_issued', 'app', app, 'from_state', from_state,
        'to_state', 'issued', 'cert', fp)
  if sid ~= '' and not ENROLL.sess(ks, app, t) then
    sess_answered(ks, sid, t, 'approved', 'approved', fp, csr)
  end
  return {'ok', fp}
end

-- KEYS: sess, opens counter, open sessions (zset) of the client address,
--       app, act
-- ARGV: app id, then sess_open's ARGV (ttl, limits, field/value pairs)
-- The web's enroll QR (purpose enroll) of an application that can still
-- be redeemed: approved_pending_issue, its activation open and unexpired.
-- -> sess_open's reply
local function enroll_open(keys, args)
  local kp, ka = keys[4], keys[5]
  if redis.call('EXISTS', kp) == 0 then return fail('not_found') end
  if hget(kp, 'state') ~= 'approved_pending_issue' then return fail('bad_transition') end
  local e = ENROLL.closed(ka, kp, now())
  if e then return fail(e) end
  if hget(ka, 'state') ~= 'open' then return fail('activation_used') end
  local rest = {}
  for i = 2, #args do rest[#rest + 1] = args[i] end
  rest[#rest + 1] = 'app'
  rest[#rest + 1] = args[1]
  return sess_open({keys[1], keys[2], keys[3]}, rest)
end

reg('enroll_begin', enroll_begin)
reg('enroll_cert', enroll_cert, true)
reg('enroll_commit', enroll_commit)
reg('enroll_open', enroll_open)
