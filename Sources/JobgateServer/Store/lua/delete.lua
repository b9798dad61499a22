-- delete.lua: removes a job and every trace of it, whatever its state. A lease on it is gone
-- too: its holder's ack answers NOT_FOUND.
-- KEYS: none (derived).
-- ARGV: A.id.
-- Returns 'deleted'; NOT_FOUND when there is no such job, WRONG_TYPE (see queue_keys_error).

local id = ARGV[A.id]
local f = redis.call('HMGET', k_job(id), 'origin', 'rate_limit_key', 'rate_limit_concurrency')
local q, slot = f[1], limit_key(f[2], f[3])
if not q then return redis.error_reply('NOT_FOUND no job ' .. id) end
local bad_key = queue_keys_error(q) or (slot and limit_keys_error(slot))
if bad_key then return redis.error_reply(bad_key) end
redis.call('LREM', k_queue(q), 0, id)
for _, key in ipairs({k_scheduled(q), k_deferred(q), k_failed(q), k_finished(q), k_canceled(q)}) do
  redis.call('ZREM', key, id)
end
for _, member in ipairs(lease_members(q, id .. ':*', false)) do
  redis.call('ZREM', k_wip(q), member)
  execution_ended(id, string.sub(member, #id + 2))
end
for _, parent in ipairs(redis.call('SMEMBERS', k_dependencies(id))) do
  redis.call('SREM', k_dependents(parent), id)
end
redis.call('DEL', k_job(id), k_results(id), k_dependents(id), k_dependencies(id))
-- A rate-limited job leaves its line, and its slot goes on unless an RQ work horse still runs
-- it (a live execution left after jobgate's own leases ended above; RQ's delete).
if slot then
  redis.call('ZREM', k_rl_waiting(slot), id)
  free_stale_slot(id, slot, nil)
end
redis.call('DEL', k_executions(id))
announce_done(id)
return 'deleted'
