-- heartbeat.lua: pushes a live lease's expiry out.
-- KEYS: none (derived).
-- ARGV: A.id, A.lease (token), A.extend (seconds; '' = the lease's own length).
-- Returns the new expiry (Unix seconds, text); NOT_FOUND or LEASE_LOST as error replies.

local id, token = ARGV[A.id], ARGV[A.lease]
local q, member, f = held_lease(id, token, false, {'jobgate_lease', 'worker_name'})
if not q then return redis.error_reply(member) end
local seconds = tonumber(ARGV[A.extend]) or tonumber(f[1]) or DEFAULT_TIMEOUT
local expires = NOW + seconds
redis.call('ZADD', k_wip(q), 'XX', num(expires), member)
redis.call('HSET', k_job(id), 'last_heartbeat', NOW_TS)
if f[2] and f[2] ~= '' then execution_extended(f[2], id, token, expires) end
return num(expires)
