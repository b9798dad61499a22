-- limit.lua: sets or clears an operator's limits on a queue, enforced by every gateway's lease
-- (see limit_room in the prelude). RQ's own workers do not know them, as they do not know pause.
-- KEYS: none (derived).
-- ARGV: A.queue, A.concurrency ('' = unchanged, '-' = clear, else at most that many started at
--   once), A.rate_max and A.rate_per ('' = unchanged, '-' = clear, else at most rate_max leases
--   started in any rate_per seconds).
-- Returns a row (R.concurrency, R.rate_max, R.rate_per: the limits now in force, false where
-- none; R.started: jobs of the queue started now; R.window: lease starts in the rate window).

local q = ARGV[A.queue]
local key = k_limit(q)
local function apply(field, value)
  if value == '-' then redis.call('HDEL', key, field) elseif value ~= '' then redis.call('HSET', key, field, value) end
end
apply('concurrency', ARGV[A.concurrency])
apply('rate_max', ARGV[A.rate_max])
apply('rate_per', ARGV[A.rate_per])
if redis.call('EXISTS', key) == 1 then
  redis.call('SADD', LIMITED, q)
  register_queue(q)
else
  redis.call('SREM', LIMITED, q)
  redis.call('DEL', k_limit_starts(q))
end
forget_cached()
local l = redis.call('HMGET', key, 'concurrency', 'rate_max', 'rate_per')
local row = new_row()
row[R.concurrency], row[R.rate_max], row[R.rate_per] = l[1] or false, l[2] or false, l[3] or false
row[R.started] = redis.call('ZCARD', k_wip(q))
if l[3] then redis.call('ZREMRANGEBYSCORE', k_limit_starts(q), '-inf', '(' .. num(NOW - tonumber(l[3]))) end
row[R.window] = redis.call('ZCARD', k_limit_starts(q))
-- Raised or cleared limits may let waiting leases take more now.
if redis.call('LLEN', k_queue(q)) > 0 then redis.call('PUBLISH', READY_CHANNEL, q) end
return row
