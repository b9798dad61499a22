-- jobs.lua: one page of a queue's jobs in one state, oldest or newest first.
-- KEYS: none (derived).
-- ARGV: A.queue, A.state ('queued', or a registry's name below), A.offset, A.limit, A.newest
--   ('1' for newest first), A.max_bytes.
-- Returns {total, jobs, next}: the list's or registry's size; a row per job (R.id, R.hash,
-- R.result as job.lua's; R.entry, the job's place in the window from 0); and the offset the next
-- page starts at. Ids whose job hash is gone (expired, or deleted by RQ's tools) are skipped, so
-- a page can be shorter than the limit while `total` still counts them. A page also ends once
-- its jobs' fields pass max_bytes (it holds one job at least), so that one reply cannot run to
-- gigabytes. One LRANGE or ZRANGE window and two commands per job: never more than the page.

local REGISTRIES = {started = k_wip, scheduled = k_scheduled, deferred = k_deferred,
  finished = k_finished, failed = k_failed, canceled = k_canceled}

local q, state, newest = ARGV[A.queue], ARGV[A.state], ARGV[A.newest] == '1'
local first = tonumber(ARGV[A.offset])
local last = first + tonumber(ARGV[A.limit]) - 1
local total, ids
if state == 'queued' then
  -- The list's head is the next job to run; newest first counts from its tail.
  total = redis.call('LLEN', k_queue(q))
  if newest then
    local window = redis.call('LRANGE', k_queue(q), -last - 1, -first - 1)
    ids = {}
    for i = #window, 1, -1 do ids[#ids + 1] = window[i] end
  else
    ids = redis.call('LRANGE', k_queue(q), first, last)
  end
else
  local key = REGISTRIES[state](q)
  total = redis.call('ZCARD', key)
  ids = redis.call(newest and 'ZREVRANGE' or 'ZRANGE', key, first, last)
end

local max_bytes = tonumber(ARGV[A.max_bytes])
local jobs, bytes, read = {}, 0, 0
for i, entry in ipairs(ids) do
  if bytes > max_bytes and #jobs > 0 then break end
  read = i
  -- Leases are '<id>:<token>'; an id holds no ':', and the token stays with its holder.
  local id = state == 'started' and string.match(entry, '^[^:]+') or entry
  local fields, result = read_job(id)
  if fields then
    local row = new_row()
    row[R.id], row[R.hash], row[R.result], row[R.entry] = id, fields, result, i - 1
    jobs[#jobs + 1] = row
    for _, value in ipairs(fields) do bytes = bytes + #value end
    for _, value in ipairs(result) do bytes = bytes + #value end
  end
end
return {total, jobs, first + read}
