--[[
cert.lua — the key history (PROTOCOL.md §10.8): a certificate record as
GET /api/v1/certs/<serial> and GET /api/v1/bindings/<account>/certs show it.
Appended after mcert.lua and ca.lua (it uses reg from mcert.lua); read-only.

The records are mcert.lua's cert_record; their history fields are written
by renew.lua's renew_commit (prev, next, renewal, superseded_at,
superseded_by) and ca.lua's revoke (revoked_at, reason). The serial index
is ca.lua's. A chain is walked by C, one call per record: the next key is
only known from the record before it, and every key comes in KEYS.

Locals are kept few (one chunk, at most 200): the functions are in CERT.
]]

local CERT = {}

-- KEYS: cert. ARGV: with_der ('1' or '0').
-- -> the record's field/value list ({} if there is none), its DER (the
-- field 'der', up to 4 KiB) only when asked: a walk of 64 records need not
-- carry 256 KiB.
function CERT.view(keys, args)
  local h = redis.call('HGETALL', keys[1])
  if args[1] == '1' then return h end
  local out = {}
  for i = 1, #h, 2 do
    if h[i] ~= 'der' then
      out[#out + 1] = h[i]
      out[#out + 1] = h[i + 1]
    end
  end
  return out
end

reg('cert_view', CERT.view, true)
