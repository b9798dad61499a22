-- shutdown.lua: RQ's shutdown command named a worker: if it is a jobgate worker, its next
-- heartbeat and lease tell it so (see heartbeat.lua and lease.lua).
-- KEYS: none (derived).
-- ARGV: A.worker.
-- Returns 1 when marked, 0 when the worker is not jobgate's (RQ's own workers act themselves).

local w = ARGV[A.worker]
if redis.call('HGET', k_worker(w), 'version') ~= 'jobgate' then return 0 end
redis.call('SET', 'jobgate:shutdown:' .. w, '1', 'EX', 86400)
return 1
