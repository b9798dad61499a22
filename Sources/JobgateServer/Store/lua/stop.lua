-- stop.lua: stops a started job. One that a jobgate lease holds ends now as `stopped`: kept in
-- the failed registry (requeue runs it again), not retried, its dependents left deferred (as RQ
-- leaves them); the holder's next heartbeat, ack, fail or release answers STOPPED. One that an RQ
-- worker runs gets RQ's own stop-job command on rq:pubsub:<worker>, and that worker stops it.
-- KEYS: none (derived).
-- ARGV: A.id, A.lease (token; '' = whichever lease holds it), A.worker ('' = any; otherwise only
--   a job this jobgate worker holds: RQ's commands name the worker), A.exc_info and A.exc_string
--   (the reason, as fail.lua takes it).
-- Returns 'stopped', or 'stopping' when an RQ worker was asked; NOT_FOUND, WRONG_STATE, WRONG_TYPE.

local id, token, worker = ARGV[A.id], ARGV[A.lease], ARGV[A.worker]
local f = redis.call('HMGET', k_job(id), 'origin', 'status', 'worker_name', 'rate_limit_key', 'rate_limit_concurrency')
local q, status, w, slot = f[1], f[2], f[3] or '', limit_key(f[4], f[5])
if not q then return redis.error_reply('NOT_FOUND no job ' .. id) end
local bad_key = queue_keys_error(q) or (w ~= '' and worker_keys_error(w)) or (slot and limit_keys_error(slot))
if bad_key then return redis.error_reply(bad_key) end
if status ~= 'started' then
  return redis.error_reply('WRONG_STATE job ' .. id .. ' is ' .. tostring(status) ..
    '; only a started job can be stopped (cancel one that has not started)')
end
if worker ~= '' and worker ~= w then
  return redis.error_reply('WRONG_STATE job ' .. id .. ' is not run by worker ' .. worker)
end
if w ~= '' and redis.call('HGET', k_worker(w), 'version') ~= 'jobgate' then
  if worker ~= '' then return redis.error_reply('WRONG_STATE job ' .. id .. ' is run by an RQ worker') end
  redis.call('PUBLISH', 'rq:pubsub:' .. w, cjson.encode({command = 'stop-job', job_id = id}))
  return 'stopping'
end
local member
if token ~= '' then
  if redis.call('ZSCORE', k_wip(q), id .. ':' .. token) then member = id .. ':' .. token end
else
  member = lease_members(q, id .. ':*', true)[1]
end
if not member then return redis.error_reply('WRONG_STATE job ' .. id .. ' has no live lease to stop') end
token = string.sub(member, #id + 2)
redis.call('ZREM', k_wip(q), member)
limit_freed(q)
redis.call('HSET', k_job(id), 'jobgate_stopped_lease', token)
execution_ended(id, token, w, 'failed_job_count')
fail_job(id, q, token, ARGV[A.exc_info], ARGV[A.exc_string], 'stopped')
return 'stopped'
