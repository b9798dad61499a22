-- forget.lua: removes a queue that holds no jobs (nor rate-limited ones waiting for a slot): its
-- member of rq:queues (so RQ's tools and jobgate's sweeps stop listing it), its pause flag and
-- operator limits (limit.lua), and registries left holding only expired entries. Enqueuing to it
-- again brings it back, unpaused and unlimited. A schedule that enqueues to it would bring it
-- back at its next run, so that refuses it too.
-- KEYS: none (derived).
-- ARGV: A.queue.
-- Returns 'forgotten'; WRONG_STATE naming each place that still holds jobs, and each schedule.

local q = ARGV[A.queue]
-- Finished and failed entries are scored by when they expire: past that, their jobs are gone.
local unexpired = '(' .. NOW_NUM
local places = {
  {'queued', redis.call('LLEN', k_queue(q))},
  {'started', redis.call('ZCARD', k_wip(q))},
  {'scheduled', redis.call('ZCARD', k_scheduled(q))},
  {'deferred', redis.call('ZCARD', k_deferred(q))},
  {'finished', redis.call('ZCOUNT', k_finished(q), unexpired, '+inf')},
  {'failed', redis.call('ZCOUNT', k_failed(q), unexpired, '+inf')},
  {'canceled', redis.call('ZCARD', k_canceled(q))},
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
redis.call('UNLINK', k_finished(q), k_failed(q), k_limit(q), k_limit_starts(q))
return 'forgotten'
