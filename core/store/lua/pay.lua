--[[
pay.lua — payment orders (PROTOCOL.md §9.6): an application's order, the
provider's notices (paid, refunded) and refund requests. Appended after
mcert.lua (whose helpers it uses: now, fail, hget, audit, order_refund, reg).

Records (durable, all under {mc}):
  order:<oid>  hash: id kind ('app', the default, or 'renewal': renew.lua
               makes those) app | renewal (what it pays) amount (fen)
               provider state created expires
               paid_at txn refund_req refund_txn refunded_at, and copied
               from the application when made: uscc applicant payer (the
               organisation's name) name (订单名称)
  refundq      zset oid -> when it was marked refund_pending: the orders
               whose refund the provider has not confirmed yet (the sweep of
               server/api/pay.c asks again for each)
Order states: pending -> paid -> refund_pending -> refunded; pending ->
expired (replaced by a new order, or paid too late). A pending order past
`expires` is expired whatever its field says (readers compute it).

The application hash ({mc}:app:<id>, owned by apply.lua) is written here
only in its fields state (pending_payment -> pending_review), paid ("1"
once paid, "0" once refunded), order (the current order) and gen (+1 on
each write), each time after re-checking its state.
]]

local function order_get(o)
  return redis.call('HGETALL', o)
end

-- What an order pays, and what its notices do there: an application
-- (apply.lua's record; paid -> pending_review) or a renewal (renew.lua's;
-- paid -> pending_extension, its refund refunding -> refunded). `takes`
-- says whether the owner can still take this order's payment; `paid` and
-- `refunded` are its side of the two notices (the order's side is
-- pay_notify's). Each returns the owner's state after it.
local PAY = {}
PAY.app = {
  field = 'app', prefix = '{mc}:app:',
  takes = function(a, oid)
    return hget(a, 'state') == 'pending_payment' and hget(a, 'order') == oid
  end,
  paid = function(a, au, t, who, from, id, oid)
    redis.call('HSET', a, 'state', 'pending_review', 'paid', '1')
    redis.call('HINCRBY', a, 'gen', 1)
    audit(au, t, who, from, 'app_paid', 'app', id, 'from_state', 'pending_payment',
          'to_state', 'pending_review', 'order', oid)
  end,
  refunded = function(a, oid)
    if hget(a, 'order') == oid and hget(a, 'paid') == '1' then
      redis.call('HSET', a, 'paid', '0')
      redis.call('HINCRBY', a, 'gen', 1)
    end
  end,
}
PAY.renewal = {
  field = 'renewal', prefix = '{mc}:ren:',
  takes = function(r, oid)
    return hget(r, 'state') == 'pending_payment' and hget(r, 'order') == oid
  end,
  paid = function(r, au, t, who, from, id, oid)
    redis.call('HSET', r, 'state', 'pending_extension', 'paid_at', t)
    redis.call('HINCRBY', r, 'gen', 1)
    audit(au, t, who, from, 'renewal_paid', 'renewal', id, 'order', oid)
  end,
  refunded = function(r, oid)
    if hget(r, 'state') == 'refunding' and hget(r, 'order') == oid then
      redis.call('HSET', r, 'state', 'refunded')
      redis.call('HINCRBY', r, 'gen', 1)
    end
  end,
}

-- KEYS: app, its current order (the app's `order`; '{mc}:order:-' if none),
--       the new order, audit
-- ARGV: new oid, provider, ttl, order name, who, from, the app's current
--       order id as C read it ('' if none)
-- An application in pending_payment with a fee gets an order: its current
-- one again while that is pending, unexpired and of the same amount; else a
-- new one (a stale pending one is marked expired). -> {created 0|1, now, order}
local function pay_order(keys, args)
  local a, ko, kn, au = keys[1], keys[2], keys[3], keys[4]
  local oid, provider, ttl, name, who, from, cur =
    args[1], args[2], tonumber(args[3]), args[4], args[5], args[6], args[7]
  if redis.call('EXISTS', a) == 0 then return fail('not_found') end
  -- the app changed since C read it: C's keys are wrong, nothing done
  if (hget(a, 'order') or '') ~= cur then return fail('stale') end
  if hget(a, 'state') ~= 'pending_payment' then return fail('bad_transition') end
  local fee = tonumber(hget(a, 'fee') or '0') or 0
  if fee <= 0 then return fail('bad_transition') end
  local t = now()
  local app = hget(a, 'id') or ''
  if cur ~= '' and redis.call('EXISTS', ko) == 1 then
    local st = hget(ko, 'state')
    if st == 'pending' and t < tonumber(hget(ko, 'expires') or '0')
       and tonumber(hget(ko, 'amount') or '0') == fee then
      return {0, t, order_get(ko)}
    end
    if st == 'pending' then
      redis.call('HSET', ko, 'state', 'expired')
      audit(au, t, who, from, 'order_expire', 'order', cur, 'app', app)
    end
  end
  if redis.call('EXISTS', kn) == 1 then return fail('order_collision') end
  redis.call('HSET', kn, 'id', oid, 'app', app, 'amount', fee, 'provider', provider,
             'state', 'pending', 'created', t, 'expires', t + ttl, 'paid_at', 0, 'txn', '',
             'refund_req', '', 'refund_txn', '', 'refunded_at', 0,
             'uscc', hget(a, 'uscc') or '', 'applicant', hget(a, 'applicant') or '',
             'payer', hget(a, 'org_name') or '', 'name', name)
  redis.call('HSET', a, 'order', oid)
  redis.call('HINCRBY', a, 'gen', 1)
  audit(au, t, who, from, 'order_create', 'order', oid, 'app', app, 'amount', fee,
        'provider', provider)
  return {1, t, order_get(kn)}
end

-- KEYS: order. -> {now, order}
local function pay_order_get(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return fail('unknown_order') end
  return {now(), order_get(keys[1])}
end

-- KEYS: order, what it pays (C read the order's `kind` and `app` or
--       `renewal`: PAY's owners), refundq, audit
-- ARGV: oid, amount, status ('paid' | 'refunded'), txn, provider, who, from
-- A provider's notice, already authenticated and fresh (C). Idempotent by
-- (order, amount, status): a notice whose status the order already reached
-- changes nothing and gets the answer of the first. A payment for an owner
-- that can no longer take it (an application withdrawn meanwhile, a
-- renewal expired, or paying an order that is not the owner's current one)
-- makes the order paid and at once refund_pending: the money goes back (C
-- asks the provider). -> {outcome 'ok' | 'dup' | 'refund', order state,
-- owner state}
local function pay_notify(keys, args)
  local o, a, rq, au = keys[1], keys[2], keys[3], keys[4]
  local oid, amount, status, txn, provider, who, from =
    args[1], tonumber(args[2]), args[3], args[4], args[5], args[6], args[7]
  if redis.call('EXISTS', o) == 0 then return fail('unknown_order') end
  local own = PAY[hget(o, 'kind') == 'renewal' and 'renewal' or 'app']
  local id = hget(o, own.field) or ''
  if a ~= own.prefix .. id then return fail('stale') end
  if hget(o, 'provider') ~= provider then return fail('provider_mismatch') end
  if tonumber(hget(o, 'amount') or '0') ~= amount then return fail('amount_mismatch') end
  local st = hget(o, 'state')
  local t = now()
  if status == 'paid' then
    if st == 'paid' or st == 'refund_pending' or st == 'refunded' then
      return {'dup', st, hget(a, 'state') or ''}
    end
    if st ~= 'pending' or t >= tonumber(hget(o, 'expires') or '0') then
      return fail('order_expired')
    end
    redis.call('HSET', o, 'state', 'paid', 'paid_at', t, 'txn', txn)
    audit(au, t, who, from, 'order_paid', 'order', oid, own.field, id, 'amount', amount,
          'txn', txn)
    if own.takes(a, oid) then
      own.paid(a, au, t, who, from, id, oid)
      return {'ok', 'paid', hget(a, 'state')}
    end
    local ast = hget(a, 'state') or ''
    order_refund(o, rq, oid, t)
    audit(au, t, who, from, 'order_refund_pending', 'order', oid, own.field, id,
          own.field .. '_state', ast)
    return {'refund', 'refund_pending', ast}
  end
  if status == 'refunded' then
    if st == 'refunded' then return {'dup', st, hget(a, 'state') or ''} end
    if st ~= 'refund_pending' then return fail('bad_transition') end
    redis.call('HSET', o, 'state', 'refunded', 'refund_txn', txn, 'refunded_at', t)
    redis.call('ZREM', rq, oid)
    audit(au, t, who, from, 'order_refunded', 'order', oid, own.field, id, 'amount', amount,
          'txn', txn)
    own.refunded(a, oid)
    return {'ok', 'refunded', hget(a, 'state') or ''}
  end
  -- unreachable: C passes only paid | refunded (mc_pay.c); a broken
  -- caller is the store's fault, 503
  return fail('bad_status')
end

-- KEYS: order, refundq, audit. ARGV: oid, a new refund request id, who, from
-- Before the provider is asked for a refund: an order in refund_pending
-- keeps (or gets, the first time) its refund request id and stays queued;
-- any other state is answered as it is, and a stale queue entry dropped
-- (also of an order that does not exist). -> {now, order ({} if none)}
local function pay_refund_start(keys, args)
  local o, rq, au = keys[1], keys[2], keys[3]
  local oid = args[1]
  if redis.call('EXISTS', o) == 0 then
    redis.call('ZREM', rq, oid)
    return {now(), {}}
  end
  local st = hget(o, 'state')
  local t = now()
  if st == 'refund_pending' then
    redis.call('ZADD', rq, 'NX', t, oid)
    if (hget(o, 'refund_req') or '') == '' then
      redis.call('HSET', o, 'refund_req', args[2])
      -- named by what the order pays (an application or a renewal), as
      -- pay_notify's entries are
      local own = PAY[hget(o, 'kind') == 'renewal' and 'renewal' or 'app']
      audit(au, t, args[3], args[4], 'refund_request', 'order', oid,
            own.field, hget(o, own.field) or '', 'amount', hget(o, 'amount') or '0',
            'refund_req', args[2])
    end
  else
    redis.call('ZREM', rq, oid)
  end
  return {t, order_get(o)}
end

-- KEYS: refundq. ARGV: age (seconds), max. The queued refunds marked at
-- least `age` seconds ago, oldest first.
local function pay_refund_due(keys, args)
  return redis.call('ZRANGEBYSCORE', keys[1], '-inf', now() - tonumber(args[1]),
                    'LIMIT', 0, tonumber(args[2]))
end

reg('pay_order', pay_order)
reg('pay_order_get', pay_order_get, true)
reg('pay_notify', pay_notify)
reg('pay_refund_start', pay_refund_start)
reg('pay_refund_due', pay_refund_due, true)
