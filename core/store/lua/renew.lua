--[[
renew.lua — renewal (续费) and extension (延期) of a certificate
(PROTOCOL.md §10): the renewal with its order, its refund, the extension's
QR session, and the one atomic step that records the extended certificate
and moves everything to it. Appended after mcert.lua (whose helpers it
uses: now, fail, hget, audit, volatile, sess_open, sess_answerable,
sess_answered, cert_record, cert_unusable, invoice_holds, order_refund,
inbox_add, inbox_drop), ca.lua (crl_add) and pay.lua.

Records (durable):
  {mc}:ren:<rid>     the renewal: id fp serial uscc org_name holder account
                     years fee order state created expires paid_at
                     extended_at old_not_after new_fp new_serial
                     new_not_after rekey refund_at by gen
  {mc}:renof:<fp>    string -> rid: the certificate's open renewal
                     (pending_payment, or pending_extension); readers treat
                     a pending_payment one past `expires` as expired
  {mc}:renorg:<uscc> zset rid -> created; {mc}:renall the same for all
  {mc}:order:<oid>   its order (pay.lua's record, kind 'renewal')
States: pending_payment -> pending_extension (pay.lua's notice) ->
extended (renew_commit); pending_extension -> refunding (renew_refund) ->
refunded (pay.lua's refunded notice).

The certificate records are mcert.lua's; renew_commit adds to them:
  old: status superseded, superseded_at, superseded_by, next; on the CRL
       with reason 4 (superseded) at superseded_at, the CRL's version moved
  new: prev (the old fp), renewal, and the old one's binding
The account's `cert` moves to the new certificate with its bind_gen
unchanged: the web sessions made with the old one stay (web_auth).

Locals are kept few (one chunk, at most 200): the helpers are in REN.
]]

local REN = {}

-- The renewal hash and its order hash, flat, for C.
function REN.pair(kr, ko)
  return {redis.call('HGETALL', kr), redis.call('HGETALL', ko)}
end

-- KEYS: cert, renof(fp). -> {cert hash, open renewal id ('' if none)}:
-- what C reads before it decides (who may, the certificate's status) and
-- builds its keys. (A repeated extension answer reads its certificate
-- with enroll.lua's enroll_cert.)
local function renew_cert(keys, args)
  return {redis.call('HGETALL', keys[1]), redis.call('GET', keys[2]) or ''}
end

-- KEYS: cert, renof, the new renewal, the new order, renorg, renall, audit,
--       the open renewal C read ({mc}:ren:- if none), its order ({mc}:order:-)
-- ARGV: rid, oid, fp, years, fee, provider, ttl, order name, who, from,
--       grace seconds, the open renewal id C read ('' if none), account
--       (the certificate's holder as C read it), holder name
-- A renewal of a valid certificate, within the grace after its expiry,
-- with no open renewal: made with its order in one step. An open
-- pending_payment one, unexpired, is answered again (created 0); an
-- expired one is closed and replaced. -> {created 0|1, now, {ren, order}}
local function renew_create(keys, args)
  local c, kf, kr, ko, kg, kall, au, kc, kco =
    keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7], keys[8], keys[9]
  local rid, oid, fp, years, fee, provider, ttl, name, who, from, grace, cur, login =
    args[1], args[2], args[3], args[4], tonumber(args[5]), args[6], tonumber(args[7]),
    args[8], args[9], args[10], tonumber(args[11]), args[12], args[13]
  if redis.call('EXISTS', c) == 0 then return fail('not_found') end
  if (redis.call('GET', kf) or '') ~= cur then return fail('stale') end
  if (hget(c, 'account') or '') ~= login then return fail('stale') end
  local ce = cert_unusable(hget(c, 'status'))
  if ce then return fail(ce) end
  local t = now()
  if t > tonumber(hget(c, 'not_after') or '0') + grace then return fail('cert_expired') end
  if cur ~= '' then
    local rs = hget(kc, 'state')
    if rs == 'pending_extension' then return fail('renewal_open') end
    if rs == 'pending_payment' and t < tonumber(hget(kc, 'expires') or '0') then
      if tonumber(hget(kc, 'years') or '0') == tonumber(years) then
        return {0, t, REN.pair(kc, kco)}
      end
    end
    if rs == 'pending_payment' then
      -- never paid (or another number of years asked): closed, replaced
      redis.call('HSET', kc, 'state', 'expired')
      redis.call('HINCRBY', kc, 'gen', 1)
      if hget(kco, 'state') == 'pending' then redis.call('HSET', kco, 'state', 'expired') end
      audit(au, t, who, from, 'renewal_expire', 'renewal', cur)
    end
  end
  if redis.call('EXISTS', kr) == 1 or redis.call('EXISTS', ko) == 1 then
    return fail('order_collision')
  end
  local uscc = hget(c, 'uscc') or ''
  redis.call('HSET', kr, 'id', rid, 'fp', fp, 'serial', hget(c, 'serial') or '',
             'uscc', uscc, 'org_name', hget(c, 'org_name') or '', 'holder', hget(c, 'cn') or '',
             'account', login, 'years', years, 'fee', fee, 'order', oid,
             'state', 'pending_payment', 'created', t, 'expires', t + ttl, 'paid_at', 0,
             'extended_at', 0, 'old_not_after', hget(c, 'not_after') or '0', 'new_fp', '',
             'new_serial', '', 'new_not_after', 0, 'rekey', '0', 'refund_at', 0, 'by', who,
             'gen', 1)
  redis.call('HSET', ko, 'id', oid, 'kind', 'renewal', 'app', '', 'renewal', rid,
             'amount', fee, 'provider', provider, 'state', 'pending', 'created', t,
             'expires', t + ttl, 'paid_at', 0, 'txn', '', 'refund_req', '', 'refund_txn', '',
             'refunded_at', 0, 'uscc', uscc, 'applicant', login,
             'payer', hget(c, 'org_name') or '', 'name', name)
  redis.call('SET', kf, rid)
  local tm = redis.call('TIME') -- microseconds order two renewals of one second
  local score = tonumber(tm[1]) + tonumber(tm[2]) / 1e6
  redis.call('ZADD', kg, score, rid)
  redis.call('ZADD', kall, score, rid)
  audit(au, t, who, from, 'renewal_create', 'renewal', rid, 'cert', fp, 'years', years,
        'fee', fee, 'order', oid)
  audit(au, t, who, from, 'order_create', 'order', oid, 'renewal', rid, 'amount', fee,
        'provider', provider)
  return {1, t, REN.pair(kr, ko)}
end

-- KEYS: ren, its order. -> {now, {ren, order}} ({} for a missing renewal)
local function renew_get(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return fail('not_found') end
  return {now(), REN.pair(keys[1], keys[2])}
end

-- KEYS: renewals. -> {now, {their hashes}}: whether each is still open
-- (the candidates' filter, C: mc_ren_state_open).
local function renew_states(keys, args)
  local out = {}
  for i = 1, #keys do out[i] = redis.call('HGETALL', keys[i]) end
  return {now(), out}
end

-- KEYS: renorg:<uscc> or renall. ARGV: max. -> {now, {rid...}} newest first
local function renew_ids(keys, args)
  return {now(), redis.call('ZREVRANGE', keys[1], 0, tonumber(args[1]) - 1)}
end

-- KEYS: ren, its order, renof(fp), refundq, the order's invoice, audit,
--       the renewal's certificate
-- ARGV: rid, who, from, holder (the holder now C judged the caller to be,
--       or '*' for an admin of its organisation, who acts whoever holds it)
-- 申请退款: a paid renewal not extended gives its money back: the renewal
-- becomes refunding (refunded when the provider's notice lands, pay.lua),
-- its order refund_pending and queued for PAY's refund, the certificate
-- free for a new renewal. Refused while an invoice holds the order, and
-- when the holder C judged is no longer the holder (the binding moved
-- since C read it: not_permitted, as C would now judge).
-- -> {now, {ren, order}}
local function renew_refund(keys, args)
  local kr, ko, kf, rq, ki, au, kc = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6],
    keys[7]
  local rid, who, from, holder = args[1], args[2], args[3], args[4]
  if redis.call('EXISTS', kr) == 0 then return fail('not_found') end
  if holder ~= '*' then
    -- the holder now: the certificate's account; for one no longer valid
    -- (bound to nobody) the renewal's (renew.c may_act_now)
    local now_holder = hget(kr, 'account') or ''
    if hget(kc, 'status') == 'valid' then now_holder = hget(kc, 'account') or '' end
    if holder == '' or now_holder ~= holder then return fail('not_permitted') end
  end
  if hget(kr, 'state') ~= 'pending_extension' then return fail('bad_transition') end
  local oid = hget(kr, 'order') or ''
  if hget(ko, 'id') ~= oid or hget(ko, 'state') ~= 'paid' then return fail('bad_transition') end
  if invoice_holds(ki) then return fail('invoice_open') end
  local t = now()
  order_refund(ko, rq, oid, t)
  redis.call('HSET', kr, 'state', 'refunding', 'refund_at', t)
  redis.call('HINCRBY', kr, 'gen', 1)
  if redis.call('GET', kf) == rid then redis.call('DEL', kf) end
  audit(au, t, who, from, 'renewal_refund', 'renewal', rid, 'order', oid,
        'amount', hget(ko, 'amount') or '0')
  return {t, REN.pair(kr, ko)}
end

-- KEYS: sess, opens counter, open sessions of the client address, ren,
--       inbox zset, inbox hash (of the renewal's certificate)
-- ARGV: rid, inbox entry (without its times), then sess_open's ARGV (ttl,
--       limits, field/value pairs)
-- The extension's QR session of a pending_extension renewal; it also sits
-- in the certificate's inbox (§8.4) so that the phone finds it there.
-- -> sess_open's reply
local function renew_open(keys, args)
  local kr, iz, ih = keys[4], keys[5], keys[6]
  if redis.call('EXISTS', kr) == 0 then return fail('not_found') end
  if hget(kr, 'state') ~= 'pending_extension' then return fail('bad_transition') end
  local rest = {}
  for i = 3, #args do rest[#rest + 1] = args[i] end
  local r = sess_open({keys[1], keys[2], keys[3]}, rest)
  if type(r) == 'table' and not r.err and r[1] ~= 0 then
    inbox_add(iz, ih, hget(keys[1], 'sid'), r[1], r[2], args[2])
  end
  return r
end

-- KEYS: sess, ren, old cert, new cert, acct (the old one's account, or
--       {mc}:acct:- when unbound), renof(old fp), serial index (new),
--       orgcerts, crl, crlinfo, crlver, inbox zset, inbox hash (old fp), audit,
--       crlexp
-- ARGV: sid, answer, old fp, new fp, login (the old one's account as C read
--       it), who, from, rekey ('0'|'1'), rid, new_not_after, then the new
--       certificate's 9 fields (cert_record)
-- The extension, after C checked the phone's signature with the current
-- certificate and the CA issued the new one: every record condition
-- re-checked, then in one step the new certificate recorded, bound where
-- the old one was, the old one superseded (and on the CRL), the renewal
-- extended, the session approved. -> {'ok'|'dup', result, login}
local function renew_commit(keys, args)
  local s, kr, kc, kn, a, kf, ks, ko, kl, ki, kv, iz, ih, au =
    keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7], keys[8], keys[9],
    keys[10], keys[11], keys[12], keys[13], keys[14]
  local sid, answer, fp, nfp, login, who, from, rekey, rid, nna =
    args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[10]
  local early, t = sess_answerable(s, answer)
  if early then return early end
  if hget(s, 'purpose') ~= 'renew' or hget(s, 'renewal') ~= rid then
    return fail('purpose_mismatch')
  end
  if hget(kr, 'state') ~= 'pending_extension' then return fail('bad_transition') end
  if hget(kr, 'fp') ~= fp then return fail('not_current_cert') end
  local st = hget(kc, 'status')
  if st == 'revoked' then return fail('cert_revoked') end
  if st ~= 'valid' then return fail('cert_superseded') end
  -- the binding is the one read, and the one the session named (the
  -- account the phone was shown and signed): else nothing moves
  if (hget(kc, 'account') or '') ~= login or (hget(s, 'account') or '') ~= login then
    return fail('binding_changed')
  end
  if login ~= '' and hget(a, 'cert') ~= fp then return fail('binding_changed') end
  if redis.call('EXISTS', kn) == 1 then return fail('cert_exists') end
  cert_record(kn, nfp, args, 11, t, ks, ko)
  redis.call('HSET', kn, 'account', login, 'prev', fp, 'renewal', rid,
             'bound_at', hget(kc, 'bound_at') or '0')
  local serial = hget(kc, 'serial') or ''
  redis.call('HSET', kc, 'status', 'superseded', 'superseded_at', t, 'superseded_by', nfp,
             'next', nfp, 'account', '')
  crl_add(kl, ki, keys[15], kc, serial, t, 4)
  redis.call('INCR', kv)
  if login ~= '' then redis.call('HSET', a, 'cert', nfp) end
  redis.call('HSET', kr, 'state', 'extended', 'extended_at', t, 'new_fp', nfp,
             'new_serial', args[11], 'new_not_after', nna, 'rekey', rekey)
  redis.call('HINCRBY', kr, 'gen', 1)
  if redis.call('GET', kf) == rid then redis.call('DEL', kf) end
  inbox_drop(iz, ih, sid)
  sess_answered(s, sid, t, 'approved', 'approved', nfp, answer)
  audit(au, t, who, from, 'cert_issue', 'cert', nfp, 'org', args[12], 'serial', args[11],
        'renewal', rid, 'prev', fp)
  audit(au, t, who, from, 'renew_extend', 'renewal', rid, 'cert', fp, 'new_cert', nfp,
        'account', login, 'rekey', rekey, 'sid', sid, 'new_not_after', nna)
  return {'ok', 'approved', login}
end

-- KEYS: sess, inbox zset, inbox hash (the renewal's certificate)
-- ARGV: sid, fp, answer, result. A renew session ended unapproved (signed
-- rejection or a wrong number): also out of the inbox. -> {'ok'|'dup', result, ''}
local function renew_reject(keys, args)
  local early, t = sess_answerable(keys[1], args[3])
  if early then return early end
  inbox_drop(keys[2], keys[3], args[1])
  sess_answered(keys[1], args[1], t, 'rejected', args[4], args[2], args[3])
  return {'ok', args[4], ''}
end

reg('renew_cert', renew_cert, true)
reg('renew_create', renew_create)
reg('renew_get', renew_get, true)
reg('renew_ids', renew_ids, true)
reg('renew_states', renew_states, true)
reg('renew_refund', renew_refund)
reg('renew_open', renew_open)
reg('renew_commit', renew_commit)
reg('renew_reject', renew_reject)
