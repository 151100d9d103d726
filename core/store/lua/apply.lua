--[[
apply.lua — certificate applications (申领, PROTOCOL.md §9.1–§9.5): every
transition of an application, its uploads' links, the identity-check
counter. Appended after mcert.lua (whose helpers it uses: now, fail, hget,
audit, volatile, invoice_holds, order_refund).

The state table is C's (core/domain/mc_apply.c): each transition is handed
the states it may start from ("draft,rejected") and the state it leads to,
so the table is written once; a function re-checks the state it reads here,
atomically with its writes, and refuses with bad_transition (409) leaving
everything as it was. Functions that act on what C read and judged first
(the fields it validated, the order it will refund) also get the record's
`gen`, bumped by every write, and refuse with `stale` when it moved.

Keys (hash tag {mc}):
  app:<id>        hash, the application (fields: the team's data model)
  apps:<uscc>     zset id -> created (with microseconds): an organisation's
                  applications
  appq            zset id -> submitted_at (with microseconds): every
                  application not in draft
  applive:<uscc>  set of ids: an organisation's applications that count
                  against its free first certificate (§9.5): submitted and
                  not rejected or withdrawn (pending_payment, pending_review,
                  approved_pending_issue, issued). Only this file moves
                  applications into or out of that set of states.
  orgcerts:<uscc> set of fps: the organisation's certificate records
                  (written where certificates are recorded; read here)
  act:<id>        hash, the activation (hash, expires, tries, state)
  outbox          stream, the sandbox SMS gateway (to, text, at, kind, app)
  order:<oid>     hash, a payment order (PAY's, lua/pay.lua): only `state`
                  is set here, to refund_pending, when a paid application
                  is withdrawn or rejected, and the order is queued in
  refundq         zset oid -> when (PAY's refund queue: its sweep asks the
                  provider again until the refund is confirmed)
  inv:<oid>       hash, the order's invoice (invoice.lua's): only read — a
                  paid application is not refunded while it holds the money
  blob:<sha256>   hash, an upload: type, size, created, and per uploader
                  `u:<login>` = its organisation
  idck:<holder>   hash day -> identity checks that day (volatile)
]]

local function app_flat(a)
  return redis.call('HGETALL', a)
end

-- nil when state s is one of list ("a,b,c"), else the refusal
local function app_from(a, list)
  local st = hget(a, 'state')
  if not st then return fail('not_found') end
  for s in string.gmatch(list, '[^,]+') do
    if s == st then return nil end
  end
  return fail('bad_transition')
end

local function app_bump(a)
  redis.call('HINCRBY', a, 'gen', 1)
end

-- true when the organisation's next certificate is its first (§9.5): it
-- has no certificate record (orgcerts) and no application that counts
-- (applive) but `except` ('' for none)
local function org_first(live, oc, except)
  local others = redis.call('SCARD', live)
  if except ~= '' then others = others - redis.call('SISMEMBER', live, except) end
  return others == 0 and redis.call('SCARD', oc) == 0
end

-- KEYS: app, apps zset, audit. ARGV: who, from, then field/value pairs
-- (id, uscc, applicant and the form's fields). -> the application
local function app_create(keys, args)
  local a, az, au = keys[1], keys[2], keys[3]
  if redis.call('EXISTS', a) == 1 then return fail('id_collision') end
  local t = now()
  local kv = {}
  for i = 3, #args do kv[#kv + 1] = args[i] end
  redis.call('HSET', a, 'state', 'draft', 'fee', '0', 'reason', '', 'created', t,
             'submitted_at', '0', 'reviewed_at', '0', 'reviewer', '', 'order', '',
             'paid', '0', 'cert', '', 'gen', '1', unpack(kv))
  local id = hget(a, 'id')
  local tm = redis.call('TIME') -- microseconds order two creations of one second
  redis.call('ZADD', az, tonumber(tm[1]) + tonumber(tm[2]) / 1e6, id)
  audit(au, t, args[1], args[2], 'app_create', 'app', id, 'org', hget(a, 'uscc'))
  return app_flat(a)
end

-- KEYS: app, audit. ARGV: who, from, gen, from-states, then field/value
-- pairs (the whole form, as C merged and checked it). -> the application
local function app_edit(keys, args)
  local a, au = keys[1], keys[2]
  local e = app_from(a, args[4])
  if e then return e end
  if hget(a, 'gen') ~= args[3] then return fail('stale') end
  local kv = {}
  for i = 5, #args do kv[#kv + 1] = args[i] end
  if #kv > 0 then redis.call('HSET', a, unpack(kv)) end
  app_bump(a)
  audit(au, now(), args[1], args[2], 'app_edit', 'app', hget(a, 'id'))
  return app_flat(a)
end

-- KEYS: app, appq, applive, orgcerts, audit.
-- ARGV: who, from, gen, from-states, fee if first, fee if not first,
-- state when nothing is to be paid, state when a fee is to be paid.
-- "First" (§9.5): the organisation has no certificate record and no other
-- application that counts (applive). A paid application (paid "1") owes
-- nothing more. -> the application
local function app_submit(keys, args)
  local a, aq, live, oc, au = keys[1], keys[2], keys[3], keys[4], keys[5]
  local e = app_from(a, args[4])
  if e then return e end
  if hget(a, 'gen') ~= args[3] then return fail('stale') end
  local id = hget(a, 'id')
  local first = org_first(live, oc, id)
  local fee = tonumber(first and args[5] or args[6])
  local st = args[8]
  if fee == 0 or hget(a, 'paid') == '1' then st = args[7] end
  local t = now()
  redis.call('HSET', a, 'state', st, 'fee', fee, 'submitted_at', t, 'reason', '')
  app_bump(a)
  local tm = redis.call('TIME')
  redis.call('ZADD', aq, tonumber(tm[1]) + tonumber(tm[2]) / 1e6, id)
  redis.call('SADD', live, id)
  audit(au, t, args[1], args[2], 'app_submit', 'app', id, 'state', st, 'fee', fee)
  return app_flat(a)
end

-- The refund side of ending a paid application: its order (KEYS given as
-- the one C read; `stale` if the application names another now) becomes
-- refund_pending and is queued for PAY's refund, and the application is no
-- longer paid at once (paid "0": a resubmission pays again, whenever the
-- provider confirms the refund). A refund is refused (invoice_open) while
-- the order's invoice (ki: {mc}:inv:<oid>, invoice.lua's) holds the money:
-- requested or issued (§11). -> the order id to refund, or ''
local function app_unpay(a, o, rq, oid, t, ki)
  if (hget(a, 'order') or '') ~= oid then return nil, fail('stale') end
  if hget(a, 'paid') ~= '1' then return '' end
  if oid == '' or hget(o, 'state') ~= 'paid' then return '' end
  if invoice_holds(ki) then return nil, fail('invoice_open') end
  order_refund(o, rq, oid, t)
  redis.call('HSET', a, 'paid', '0')
  return oid
end

-- The end of an application, withdrawn or rejected (a reviewer's
-- `reason`, nil for a withdrawal): the state re-checked, what was paid
-- handed back (app_unpay), the new state set, out of applive, audited as
-- `what`. KEYS and ARGV 1..4 as the two callers below take them.
-- -> {application, order id to refund or ''}
local function app_end(keys, args, what, reason, oid)
  local a, live, o, rq, au = keys[1], keys[2], keys[3], keys[4], keys[5]
  local e = app_from(a, args[3])
  if e then return e end
  local t = now()
  local refund, err = app_unpay(a, o, rq, oid, t, keys[6])
  if err then return err end
  local id = hget(a, 'id')
  if reason then
    redis.call('HSET', a, 'state', args[4], 'reason', reason, 'reviewed_at', t,
               'reviewer', args[1])
    audit(au, t, args[1], args[2], what, 'app', id, 'reason', reason, 'refund', refund)
  else
    redis.call('HSET', a, 'state', args[4])
    audit(au, t, args[1], args[2], what, 'app', id, 'refund', refund)
  end
  app_bump(a)
  redis.call('SREM', live, id)
  return {app_flat(a), refund}
end

-- KEYS: app, applive, order (or any key when none), refundq, audit, the
-- order's invoice ({mc}:inv:<order>, or any key when none).
-- ARGV: who, from, from-states, to, order id ('' when none).
-- -> {application, order id to refund or ''}
local function app_withdraw(keys, args)
  return app_end(keys, args, 'app_withdraw', nil, args[5])
end

-- KEYS: app, applive, order (or any key when none), refundq, audit, the
-- order's invoice ({mc}:inv:<order>, or any key when none).
-- ARGV: who, from, from-states, to, reason, order id ('' when none).
-- -> {application, order id to refund or ''}
local function app_reject(keys, args)
  return app_end(keys, args, 'app_reject', args[5], args[6])
end

-- KEYS: app, act, outbox, audit.
-- ARGV: who, from, from-states, to, code hash (SHA-256 hex of
-- "<id>:<code>"), activation ttl, SMS text (holds the code: it goes to
-- the outbox only, never to the audit).
-- The approval, the activation and the SMS are one step. -> the application
local function app_approve(keys, args)
  local a, act, ob, au = keys[1], keys[2], keys[3], keys[4]
  local e = app_from(a, args[3])
  if e then return e end
  local t = now()
  redis.call('HSET', a, 'state', args[4], 'reviewed_at', t, 'reviewer', args[1], 'reason', '')
  app_bump(a)
  local id = hget(a, 'id')
  redis.call('DEL', act)
  redis.call('HSET', act, 'app', id, 'hash', args[5], 'expires', t + tonumber(args[6]),
             'tries', '0', 'state', 'open', 'created', t)
  redis.call('XADD', ob, 'MAXLEN', '~', '100000', '*', 'to', hget(a, 'mobile'),
             'text', args[7], 'at', t, 'kind', 'activation', 'app', id)
  audit(au, t, args[1], args[2], 'app_approve', 'app', id, 'activation_expires',
        t + tonumber(args[6]))
  return app_flat(a)
end

-- KEYS: app, act, outbox, audit. ARGV: who, from, code hash, ttl, sms,
-- reissues allowed. A new activation code for an approved application whose
-- code was lost, locked (5 wrong) or expired: the old code stops working,
-- the tries start again, the SMS goes out again — at most `reissues` times.
-- Refusals: bad_transition (not approved_pending_issue), activation_used,
-- too_many_attempts. -> the application
local function app_reactivate(keys, args)
  local a, act, ob, au = keys[1], keys[2], keys[3], keys[4]
  if redis.call('EXISTS', a) == 0 then return fail('not_found') end
  if hget(a, 'state') ~= 'approved_pending_issue' then return fail('bad_transition') end
  if hget(act, 'state') == 'used' then return fail('activation_used') end
  local n = tonumber(hget(act, 'reissues') or '0')
  if n >= tonumber(args[6]) then return fail('too_many_reissues') end
  local t = now()
  local id = hget(a, 'id')
  redis.call('DEL', act)
  redis.call('HSET', act, 'app', id, 'hash', args[3], 'expires', t + tonumber(args[4]),
             'tries', '0', 'state', 'open', 'created', t, 'reissues', n + 1)
  redis.call('XADD', ob, 'MAXLEN', '~', '100000', '*', 'to', hget(a, 'mobile'),
             'text', args[5], 'at', t, 'kind', 'activation', 'app', id)
  app_bump(a)
  audit(au, t, args[1], args[2], 'activation_reissue', 'app', id, 'activation_expires',
        t + tonumber(args[4]), 'reissue', n + 1)
  return app_flat(a)
end

-- KEYS: the holder's counter, ARGV: limit per day. The day is Redis's
-- (UTC+8). Counted before the check it allows: an attempt over the limit
-- is still counted (and refused).  -> {count, seconds to the day's end}
local function app_identity_count(keys, args)
  local t = now()
  local day = math.floor((t + 28800) / 86400)
  local n = volatile('HINCRBY', keys[1], tostring(day), 1)
  volatile('EXPIRE', keys[1], 2 * 86400)
  if n > tonumber(args[1]) then return fail('too_many_attempts') end
  return {n, (day + 1) * 86400 - 28800 - t}
end

-- KEYS: app, audit. ARGV: who, from, from-states, holder_id checked,
-- identity to record ('face_passed' | the one it had), result
-- ('passed' | 'failed'). `stale` if the holder changed meanwhile.
-- -> the application
local function app_identity_set(keys, args)
  local a, au = keys[1], keys[2]
  local e = app_from(a, args[3])
  if e then return e end
  if hget(a, 'holder_id') ~= args[4] then return fail('stale') end
  local t = now()
  redis.call('HSET', a, 'identity', args[5])
  app_bump(a)
  audit(au, t, args[1], args[2], 'app_identity', 'app', hget(a, 'id'), 'result', args[6])
  return app_flat(a)
end

-- KEYS: applive, orgcerts. ARGV: id of the application to leave out ('').
-- -> 1 if the organisation's next certificate is its first (§9.5)
local function app_first(keys, args)
  if org_first(keys[1], keys[2], args[1]) then return 1 end
  return 0
end

-- KEYS: blob, audit. ARGV: who, from, id, type, size, login, org.
-- An upload's bytes are stored (C, before this call); this links them to
-- the uploader. -> 'ok'
local function blob_link(keys, args)
  local b, au = keys[1], keys[2]
  local t = now()
  if redis.call('EXISTS', b) == 0 then
    redis.call('HSET', b, 'id', args[3], 'type', args[4], 'size', args[5], 'created', t)
  end
  local f = 'u:' .. args[6]
  if redis.call('HEXISTS', b, f) == 0 then
    redis.call('HSET', b, f, args[7])
    audit(au, t, args[1], args[2], 'upload', 'blob', args[3], 'type', args[4],
          'size', args[5])
  end
  return 'ok'
end

reg('app_create', app_create)
reg('app_edit', app_edit)
reg('app_submit', app_submit)
reg('app_withdraw', app_withdraw)
reg('app_reject', app_reject)
reg('app_approve', app_approve)
reg('app_reactivate', app_reactivate)
reg('app_identity_count', app_identity_count)
reg('app_identity_set', app_identity_set)
reg('app_first', app_first, true)
reg('blob_link', blob_link)
