-- release.lua: gives a leased job back without spending a retry.
-- KEYS: none (derived).
-- ARGV: 1 id, 2 lease token, 3 delay seconds ('' or 0 = back at the front of its queue now).
-- Returns {state, run_at}; NOT_FOUND or LEASE_LOST as errors.

local id, token = ARGV[1], ARGV[2]
local q, member, f = held_lease(id, token, true, {'worker_name'})
if not q then return redis.error_reply(member) end
execution_ended(id, token, f[1] or false)
local delay = tonumber(ARGV[3]) or 0
if delay > 0 then
  return {'scheduled', schedule(id, q, NOW + delay)}
end
enqueue_now(id, q, true)
return {'queued'}
