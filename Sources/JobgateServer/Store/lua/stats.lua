-- stats.lua: counts per queue, for every queue RQ's tools would list.
-- KEYS: none (derived).
-- ARGV: none.
-- Returns one row per queue (R.queue, R.queued, R.started, R.scheduled, R.deferred, R.failed,
-- R.finished, R.canceled, R.paused: 1 or 0, R.oldest_queued_seconds: how long the job at the
-- head of the queue has waited, by Redis's clock, as text; nil when the queue is empty or the
-- head job has no readable enqueued_at), R.rate_limited (jobs waiting for an RQ 3.0 rate-limit
-- slot), R.limit_concurrency, R.limit_rate_max, R.limit_rate_per and R.limit_window (an operator's
-- caps and the lease starts in the rate window; false where the queue has none), R.problem (a key
-- of the queue that another program wrote with another type, counted as empty: see
-- tolerant_count; false when none). Counting costs O(1) per queue and key; the age reads one job
-- per queue; the rate-limited count reads each waiting job (see rate_limited_per_queue).

-- Unix seconds of an RQ timestamp ('%Y-%m-%dT%H:%M:%S.%fZ', UTC); nil if it is not one.
local function rq_ts_seconds(text)
  local y, m, d, hh, mm, ss, frac = string.match(text or '', '^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)')
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  -- Days from the civil date (the inverse of rq_ts in the prelude), March-based years.
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  return days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss) + (tonumber('0.' .. frac) or 0)
end

local function oldest_queued_seconds(q)
  local head = redis.pcall('LINDEX', k_queue(q), 0)
  if type(head) ~= 'string' then return false end
  local enqueued = rq_ts_seconds(redis.call('HGET', k_job(head), 'enqueued_at'))
  -- A producer's clock ahead of Redis's must not make a job younger than new.
  return enqueued and num(math.max(NOW - enqueued, 0)) or false
end

-- The queue's first foreign key, once count has met one.
local problem
local function count(cmd, key, want)
  local n, found = tolerant_count(cmd, key, want)
  problem = problem or found
  return n
end

local rate_limited = rate_limited_per_queue()
local out = {}
for _, qkey in ipairs(redis.call('SMEMBERS', QUEUES)) do
  local q = string.sub(qkey, #'rq:queue:' + 1)
  local row = new_row()
  problem = false
  row[R.queue], row[R.queued], row[R.started] = q, count('LLEN', qkey, 'list'), count('ZCARD', k_wip(q), 'zset')
  row[R.scheduled], row[R.deferred] = count('ZCARD', k_scheduled(q), 'zset'), count('ZCARD', k_deferred(q), 'zset')
  row[R.failed], row[R.finished] = count('ZCARD', k_failed(q), 'zset'), count('ZCARD', k_finished(q), 'zset')
  row[R.canceled], row[R.paused] = count('ZCARD', k_canceled(q), 'zset'), redis.call('SISMEMBER', PAUSED, q)
  row[R.oldest_queued_seconds] = oldest_queued_seconds(q)
  row[R.rate_limited] = rate_limited[q] or 0
  -- An operator's caps (limit.lua): false where none; the window counts lease starts in it.
  row[R.limit_concurrency], row[R.limit_rate_max], row[R.limit_rate_per], row[R.limit_window] = false, false, false, false
  if is_limited(q) then
    local l = redis.call('HMGET', k_limit(q), 'concurrency', 'rate_max', 'rate_per')
    row[R.limit_concurrency], row[R.limit_rate_max], row[R.limit_rate_per] = l[1] or false, l[2] or false, l[3] or false
    if l[3] then row[R.limit_window] = redis.call('ZCOUNT', k_limit_starts(q), num(NOW - tonumber(l[3])), '+inf') end
  end
  row[R.problem] = problem
  out[#out + 1] = row
end
return out
