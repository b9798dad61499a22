-- stats.lua: counts per queue, for every queue RQ's tools would list.
-- KEYS: none (derived).
-- ARGV: none.
-- Returns one row per queue (R.queue, R.queued, R.started, R.scheduled, R.failed, R.finished,
-- R.paused: 1 or 0).

local out = {}
for _, qkey in ipairs(redis.call('SMEMBERS', QUEUES)) do
  local q = string.sub(qkey, #'rq:queue:' + 1)
  local row = {}
  row[R.queue], row[R.queued], row[R.started] = q, redis.call('LLEN', qkey), redis.call('ZCARD', k_wip(q))
  row[R.scheduled], row[R.failed] = redis.call('ZCARD', k_scheduled(q)), redis.call('ZCARD', k_failed(q))
  row[R.finished], row[R.paused] = redis.call('ZCARD', k_finished(q)), redis.call('SISMEMBER', PAUSED, q)
  out[#out + 1] = row
end
return out
