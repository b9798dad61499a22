-- requeue.lua: puts failed jobs back on their queue (RQ's FailedJobRegistry.requeue).
-- KEYS: none (derived).
-- ARGV: A.mode ('id' or 'queue'), A.target (the job id or queue name), A.limit (most jobs to
--   move, queue mode).
-- Each call is atomic; a whole queue is requeued by calling again until nothing is left.
-- Returns a row (R.moved, R.still_failed); NOT_FOUND, WRONG_TYPE (see queue_keys_error), or
-- WRONG_STATE for a job that is not failed.

-- A rate-limited job goes to the back of its key's line, as RQ 3.0's requeue sends it. Returns
-- WRONG_TYPE, and moves nothing, when that line's keys are another program's.
local function requeue(id, q)
  local f = redis.call('HMGET', k_job(id), 'rate_limit_key', 'rate_limit_concurrency')
  local slot = limit_key(f[1], f[2])
  local bad_key = slot and limit_keys_error(slot)
  if bad_key then return bad_key end
  redis.call('ZREM', k_failed(q), id)
  redis.call('HSET', k_job(id), 'started_at', '', 'ended_at', '')
  redis.call('HDEL', k_job(id), 'exc_info', 'jobgate_stopped_lease')
  redis.call('PERSIST', k_job(id))  -- the failure TTL must not run out while it waits again
  enter_queue(id, q, false, f[1], f[2])
end

local function counts(moved, q)
  local row = new_row()
  row[R.moved], row[R.still_failed] = moved, redis.call('ZCARD', k_failed(q))
  return row
end

if ARGV[A.mode] == 'id' then
  local id = ARGV[A.target]
  local q = redis.call('HGET', k_job(id), 'origin')
  if not q then return redis.error_reply('NOT_FOUND no job ' .. id) end
  local bad_key = queue_keys_error(q)
  if bad_key then return redis.error_reply(bad_key) end
  if not redis.call('ZSCORE', k_failed(q), id) then
    return redis.error_reply('WRONG_STATE job ' .. id .. ' is not in the failed registry')
  end
  bad_key = requeue(id, q)
  if bad_key then return redis.error_reply(bad_key) end
  return counts(1, q)
end

local q, limit = ARGV[A.target], tonumber(ARGV[A.limit])
local bad_key = queue_keys_error(q)
if bad_key then return redis.error_reply(bad_key) end
local moved = 0
for _, id in ipairs(redis.call('ZRANGE', k_failed(q), 0, limit - 1)) do
  if redis.call('EXISTS', k_job(id)) == 1 then
    -- A job whose rate-limit line is another program's key stays failed (and stops this call:
    -- the next one would meet it first again).
    bad_key = requeue(id, q)
    if bad_key then
      if moved == 0 then return redis.error_reply(bad_key) end
      break
    end
    moved = moved + 1
  else
    redis.call('ZREM', k_failed(q), id)
  end
end
return counts(moved, q)
