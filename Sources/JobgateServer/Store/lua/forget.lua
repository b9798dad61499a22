-- forget.lua: removes a queue that holds no jobs (nor rate-limited ones waiting for a slot): its
-- member of rq:queues (so RQ's tools and jobgate's sweeps stop listing it), its pause flag and
-- operator limits (limit.lua), and registries left holding only expired entries. Enqueuing to it
-- again brings it back, unpaused and unlimited. A schedule that enqueues to it would bring it
-- back at its next run, so that refuses it too. A key of the queue that another program wrote
-- with another type holds none of its jobs and is not jobgate's to remove: it is left alone.
-- KEYS: none (derived).
-- ARGV: A.queue.
-- Returns 'forgotten'; WRONG_STATE naming each place that still holds jobs, and each schedule.

local q = ARGV[A.queue]
local foreign = {}
local function count(cmd, key, want, ...)
  local n, problem = tolerant_count(cmd, key, want, ...)
  if problem then foreign[key] = true end
  return n
end
-- Finished and failed entries are scored by when they expire: past that, their jobs are gone.
local unexpired = '(' .. NOW_NUM
local places = {
  {'queued', count('LLEN', k_queue(q), 'list')},
  {'started', count('ZCARD', k_wip(q), 'zset')},
  {'scheduled', count('ZCARD', k_scheduled(q), 'zset')},
  {'deferred', count('ZCARD', k_deferred(q), 'zset')},
  {'finished', count('ZCOUNT', k_finished(q), 'zset', unexpired, '+inf')},
  {'failed', count('ZCOUNT', k_failed(q), 'zset', unexpired, '+inf')},
  {'canceled', count('ZCARD', k_canceled(q), 'zset')},
  {'rate_limited', rate_limited_per_queue()[q] or 0},
}
local remaining = {}
for _, place in ipairs(places) do
  if place[2] > 0 then remaining[#remaining + 1] = place[2] .. ' ' .. place[1] end
end
local schedules = {}
for _, name in ipairs(redis.call('ZRANGE', SCHEDULES, 0, -1)) do
  local ok, job = pcall(cjson.decode, redis.call('HGET', k_schedule(name), 'job') or 'null')
  if ok and type(job) == 'table' and job.queue == q then schedules[#schedules + 1] = name end
end
if #schedules > 0 then
  table.sort(schedules)
  remaining[#remaining + 1] = 'the schedule' .. (#schedules > 1 and 's ' or ' ') .. table.concat(schedules, ', ')
    .. ' (unschedule ' .. (#schedules > 1 and 'them' or 'it') .. ' first)'
end
if #remaining > 0 then
  return redis.error_reply('WRONG_STATE queue ' .. q .. ' still has ' .. table.concat(remaining, ', '))
end
redis.call('SREM', QUEUES, k_queue(q))
redis.call('SREM', PAUSED, q)
redis.call('SREM', LIMITED, q)
forget_cached()
-- UNLINK frees a long run of expired entries off Redis's main thread.
local expired = {k_limit(q), k_limit_starts(q)}
for _, key in ipairs({k_finished(q), k_failed(q)}) do
  if not foreign[key] then expired[#expired + 1] = key end
end
redis.call('UNLINK', unpack(expired))
return 'forgotten'
