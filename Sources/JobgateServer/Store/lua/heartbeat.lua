-- heartbeat.lua: pushes a live lease's expiry out.
-- KEYS: none (derived).
-- ARGV: 1 id, 2 lease token, 3 extend seconds ('' = the lease's own length).
-- Returns the new expiry (Unix seconds, text); NOT_FOUND or LEASE_LOST as error replies.

local id, token = ARGV[1], ARGV[2]
local q, member = held_lease(id, token, true)
if not q then return redis.error_reply(member) end
local seconds = tonumber(ARGV[3]) or tonumber(redis.call('HGET', k_job(id), 'jobgate_lease')) or DEFAULT_TIMEOUT
local expires = NOW + seconds
redis.call('ZADD', k_wip(q), 'XX', num(expires), member)
redis.call('HSET', k_job(id), 'last_heartbeat', NOW_TS)
local worker = redis.call('HGET', k_job(id), 'worker_name')
if worker and worker ~= '' then execution_extended(worker, id, token, expires) end
return num(expires)
