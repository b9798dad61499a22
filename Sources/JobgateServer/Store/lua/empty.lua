-- empty.lua: deletes jobs from the head of a queue (RQ's Queue.empty, in steps): each leaves the
-- list, and its hash, results and dependency sets go. The queue's registries are not touched.
-- KEYS: none (derived).
-- ARGV: A.queue, A.limit (most list entries to remove in this call).
-- Each call is atomic; a whole queue is emptied by calling again until nothing is left.
-- Returns a row (R.deleted: entries removed from the list, R.queued: entries left in it), or
-- WRONG_TYPE (see queue_keys_error).
-- An entry whose job is not queued there any more (a leftover RQ tolerates too) only leaves
-- the list: its job lives on wherever it is.

local q, limit = ARGV[A.queue], tonumber(ARGV[A.limit])
local bad_key = queue_keys_error(q)
if bad_key then return redis.error_reply(bad_key) end
local ids = redis.call('LRANGE', k_queue(q), 0, limit - 1)
-- A deleted job's slot goes on: its rate-limit line's keys are checked before anything moves.
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', k_job(id), 'rate_limit_key', 'rate_limit_concurrency')
  local slot = limit_key(f[1], f[2])
  bad_key = slot and limit_keys_error(slot)
  if bad_key then return redis.error_reply(bad_key) end
end
if #ids > 0 then redis.call('LTRIM', k_queue(q), #ids, -1) end
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', k_job(id), 'status', 'origin', 'jobgate_awaited', 'rate_limit_key', 'rate_limit_concurrency')
  if f[1] == 'queued' and f[2] == q then
    for _, parent in ipairs(redis.call('SMEMBERS', k_dependencies(id))) do
      redis.call('SREM', k_dependents(parent), id)
    end
    redis.call('DEL', k_job(id), k_results(id), k_dependents(id), k_dependencies(id))
    -- An RQ 3.0 rate-limit slot the job held goes to the next in line (as delete.lua does).
    local slot = limit_key(f[4], f[5])
    if slot then free_stale_slot(id, slot, nil) end
    redis.call('DEL', k_executions(id))
    announce_done(id, f[3] or false)
  end
end
local row = new_row()
row[R.deleted], row[R.queued] = #ids, redis.call('LLEN', k_queue(q))
return row
