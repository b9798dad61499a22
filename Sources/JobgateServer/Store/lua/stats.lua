-- stats.lua: counts per queue, for every queue RQ's tools would list.
-- KEYS: none (derived).
-- ARGV: none.
-- Returns one {queue, queued, started, scheduled, failed, finished, paused} per queue.

local out = {}
for _, qkey in ipairs(redis.call('SMEMBERS', QUEUES)) do
  local q = string.sub(qkey, #'rq:queue:' + 1)
  out[#out + 1] = {q, redis.call('LLEN', qkey), redis.call('ZCARD', k_wip(q)),
    redis.call('ZCARD', k_scheduled(q)), redis.call('ZCARD', k_failed(q)),
    redis.call('ZCARD', k_finished(q)), redis.call('SISMEMBER', PAUSED, q)}
end
return out
