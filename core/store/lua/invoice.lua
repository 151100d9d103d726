--[[
invoice.lua — invoices (发票, PROTOCOL.md §11): an organisation's saved
titles (发票抬头), the request of an invoice for a paid order, and the
operator's issue, reject and void. Appended after mcert.lua (whose helpers it
uses: now, fail, hget, audit, invoice_holds, reg), in name order after
enroll.lua.

The state table is C's (core/domain/mc_invoice.c): each transition is handed
the states it may start from ("requested,issued") and the state it leads to;
the function re-checks the state it reads, atomically with its writes, and
refuses with bad_transition leaving everything as it was. Where C judged a
record it read (the order's organisation and amount, the invoice it
replaces), the function refuses with `stale` when that moved meanwhile.

Keys (hash tag {mc}; all durable):
  inv:<oid>       hash, the invoice of order <oid> (one per order; a new
                  request replaces a rejected or voided one — the old one
                  stays in the audit): id order kind ref uscc owner amount
                  state title_* receiver_phone receiver_email goods_*
                  reason pdf pdf_source requested_at issued_at ended_at
                  requester by gen
  invid:<id>      string id -> oid: the invoice number's index (the one of
                  a replaced invoice is deleted with it)
  invorg:<uscc>   zset oid -> requested_at: an organisation's invoices
  invall          zset oid -> requested_at: every invoice (the operators')
  titles:<uscc>   hash tid -> JSON of a saved title (C writes the fields and
                  reads them; id, created and seq are added here; at most
                  `max` of them)
  order:<oid>     PAY's order: read here (uscc, state, amount), never written
  blob:<sha256>   an upload's record (apply.lua's): a generated PDF gets one
                  (type application/pdf) when its invoice is issued
  outbox          the sandbox gateway's stream: the email to the receiver

Locals are kept few (one table, INV): the library is one Lua chunk.
]]

local INV = {}

-- true when state st is one of list ("a,b")
function INV.listed(list, st)
  for s in string.gmatch(list or '', '[^,]+') do
    if s == st then return true end
  end
  return false
end

-- nil when the invoice exists, is number `id` and its state is one of
-- list ("a,b"); else the refusal: not_permitted when the state is one of
-- `anyone` (those an operator may start from, if given) but not of the
-- caller's list, bad_transition when no one may
function INV.from(k, id, list, anyone)
  if redis.call('EXISTS', k) == 0 or hget(k, 'id') ~= id then return fail('not_found') end
  local st = hget(k, 'state')
  if INV.listed(list, st) then return nil end
  if INV.listed(anyone, st) then return fail('not_permitted') end
  return fail('bad_transition')
end

-- KEYS: titles, audit. ARGV: who, from, tid, json (the title's fields as C
-- checked them), max, mode ('add' | 'edit'), uscc. The stored JSON gets
-- `id`, `created` (unix s) and `seq` (TIME as seconds and 6 digits of
-- microseconds: the order titles are listed in) here; an edit keeps them.
-- -> every title (HGETALL)
function INV.title_put(keys, args)
  local k, au = keys[1], keys[2]
  local tid, mode = args[3], args[6]
  local old = redis.call('HGET', k, tid)
  local obj = cjson.decode(args[4])
  if mode == 'add' then
    if old then return fail('id_collision') end
    if redis.call('HLEN', k) >= tonumber(args[5]) then return fail('too_many_titles') end
    local tm = redis.call('TIME')
    obj.created = tonumber(tm[1])
    obj.seq = tm[1] .. string.format('%06d', tonumber(tm[2]))
  else
    if not old then return fail('not_found') end
    local prev = cjson.decode(old)
    obj.created, obj.seq = prev.created, prev.seq
  end
  obj.id = tid
  redis.call('HSET', k, tid, cjson.encode(obj))
  audit(au, now(), args[1], args[2], 'invoice_title_' .. mode, 'org', args[7], 'title', tid)
  return redis.call('HGETALL', k)
end

-- KEYS: titles, audit. ARGV: who, from, tid, uscc. -> every title left
function INV.title_del(keys, args)
  local k, au = keys[1], keys[2]
  if redis.call('HDEL', k, args[3]) == 0 then return fail('not_found') end
  audit(au, now(), args[1], args[2], 'invoice_title_delete', 'org', args[4], 'title', args[3])
  return redis.call('HGETALL', k)
end

-- KEYS: inv, order, invid (the new number's), invid of the invoice it
--       replaces ('{mc}:invid:-' if none), invorg, invall, audit
-- ARGV: who, from, id, the replaced invoice's id as C read it ('' if none),
--       uscc, owner, kind, ref, amount, then field/value pairs (title_*,
--       receiver_*, goods_*: as C checked and built them)
-- The order must still be the organisation's, of that amount and paid; the
-- order's invoice, if any, rejected or voided. -> the invoice
function INV.request(keys, args)
  local k, o, kid, kold, korg, kall, au =
    keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7]
  local id, old, uscc = args[3], args[4], args[5]
  if redis.call('EXISTS', o) == 0 then return fail('unknown_order') end
  if hget(o, 'uscc') ~= uscc or tonumber(hget(o, 'amount') or '0') ~= tonumber(args[9]) then
    return fail('stale')
  end
  if hget(o, 'state') ~= 'paid' then return fail('order_not_paid') end
  -- §11.4's order: a request that lost a race to another one is told the
  -- invoice exists (409), before the replaced one it read is judged stale
  if invoice_holds(k) then return fail('invoice_exists') end
  if (hget(k, 'id') or '') ~= old then return fail('stale') end
  if redis.call('EXISTS', kid) == 1 then return fail('id_collision') end
  local t = now()
  local oid = hget(o, 'id') or ''
  local gen = tonumber(hget(k, 'gen') or '0') + 1
  if old ~= '' then redis.call('DEL', kold) end
  redis.call('DEL', k)
  local kv = {}
  for i = 10, #args do kv[#kv + 1] = args[i] end
  redis.call('HSET', k, 'id', id, 'order', oid, 'kind', args[7], 'ref', args[8], 'uscc', uscc,
             'owner', args[6], 'amount', args[9], 'state', 'requested', 'reason', '',
             'pdf', '', 'pdf_source', '', 'requested_at', t, 'issued_at', 0, 'ended_at', 0,
             'requester', args[1], 'by', '', 'gen', gen, unpack(kv))
  redis.call('SET', kid, oid)
  redis.call('ZADD', korg, t, oid)
  redis.call('ZADD', kall, t, oid)
  audit(au, t, args[1], args[2], 'invoice_request', 'invoice', id, 'order', oid,
        'amount', args[9], 'title', hget(k, 'title_name') or '',
        'tax_id', hget(k, 'title_tax_id') or '', 'replaces', old)
  return redis.call('HGETALL', k)
end

-- KEYS: inv, blob (the PDF's), outbox, audit
-- ARGV: who, from, id, from-states, to, pdf blob id, its size, source
--       ('generated' | 'upload'), the email's subject and text
-- The invoice issued with its PDF and the email to the receiver, in one
-- step. A generated PDF's blob gets its record here. -> the invoice
function INV.issue(keys, args)
  local k, b, ob, au = keys[1], keys[2], keys[3], keys[4]
  local e = INV.from(k, args[3], args[4])
  if e then return e end
  local t = now()
  if redis.call('EXISTS', b) == 0 then
    redis.call('HSET', b, 'id', args[6], 'type', 'application/pdf', 'size', args[7],
               'created', t)
  end
  redis.call('HSET', k, 'state', args[5], 'pdf', args[6], 'pdf_source', args[8],
             'issued_at', t, 'by', args[1], 'reason', '')
  redis.call('HINCRBY', k, 'gen', 1)
  local oid = hget(k, 'order')
  redis.call('XADD', ob, 'MAXLEN', '~', '100000', '*', 'to', hget(k, 'receiver_email'),
             'subject', args[9], 'text', args[10], 'at', t, 'kind', 'email',
             'invoice', args[3], 'order', oid, 'pdf', args[6])
  audit(au, t, args[1], args[2], 'invoice_issue', 'invoice', args[3], 'order', oid,
        'pdf', args[6], 'source', args[8])
  return redis.call('HGETALL', k)
end

-- KEYS: inv, audit. ARGV: who, from, id, from-states, to, reason, what
-- ('invoice_reject' | 'invoice_void'), the from-states of an operator.
-- Rejected by an operator, or voided (an operator; the requester's side
-- withdraws a requested one: one issued meanwhile is not_permitted, as C
-- would have said): the order's money is no longer held (invoice_holds).
-- -> the invoice
function INV.finish(keys, args)
  local k, au = keys[1], keys[2]
  local e = INV.from(k, args[3], args[4], args[8])
  if e then return e end
  local t = now()
  redis.call('HSET', k, 'state', args[5], 'reason', args[6], 'ended_at', t, 'by', args[1])
  redis.call('HINCRBY', k, 'gen', 1)
  audit(au, t, args[1], args[2], args[7], 'invoice', args[3], 'order', hget(k, 'order'),
        'reason', args[6])
  return redis.call('HGETALL', k)
end

reg('inv_title_put', INV.title_put)
reg('inv_title_del', INV.title_del)
reg('inv_request', INV.request)
reg('inv_issue', INV.issue)
reg('inv_finish', INV.finish)
