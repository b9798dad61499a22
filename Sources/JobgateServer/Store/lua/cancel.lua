-- cancel.lua: cancels a job that has not started, RQ's way (status canceled, rq:canceled).
-- KEYS: none (derived).
-- ARGV: A.id.
-- Returns 'canceled'; NOT_FOUND, WRONG_TYPE (see queue_keys_error), or WRONG_STATE when the job is not queued, scheduled, deferred
-- or rate_limited. A rate-limited job leaves its key's line, and its slot goes on (RQ's cancel).

local id = ARGV[A.id]
local f = redis.call('HMGET', k_job(id), 'status', 'origin', 'rate_limit_key', 'rate_limit_concurrency')
if not f[2] then return redis.error_reply('NOT_FOUND no job ' .. id) end
local status, q, slot = f[1], f[2], limit_key(f[3], f[4])
local bad_key = queue_keys_error(q) or (slot and limit_keys_error(slot))
if bad_key then return redis.error_reply(bad_key) end
if status ~= 'queued' and status ~= 'scheduled' and status ~= 'deferred' and status ~= 'rate_limited' then
  return redis.error_reply('WRONG_STATE job ' .. id .. ' is ' .. tostring(status) ..
    '; only queued, scheduled, deferred or rate_limited jobs can be canceled')
end
redis.call('LREM', k_queue(q), 1, id)
redis.call('ZREM', k_scheduled(q), id)
redis.call('ZREM', k_deferred(q), id)
redis.call('HSET', k_job(id), 'status', 'canceled', 'ended_at', NOW_TS)
redis.call('ZADD', k_canceled(q), SEC, id)
if slot then
  redis.call('ZREM', k_rl_waiting(slot), id)
  free_stale_slot(id, slot, 'canceled')
end
announce_done(id)
return 'canceled'
