-- ack.lua: leased jobs finished; each result is kept for its job's result_ttl (RQ's success path).
-- KEYS: none (derived).
-- ARGV: per job, repeated: A.id, A.lease (token), A.result (base64 of the result's JSON;
--   '' = null).
-- Returns a row per job, flat (see add_row): R.state 'finished', or 'deleted' for result_ttl 0,
-- or an error reply (NOT_FOUND, LEASE_LOST); R.queue, for the gateway's per-queue counters.
-- A batch settles each job on its own merits. An ack repeated with the lease that finished the
-- job answers 'finished' again and changes nothing (R.queue false: nothing to count again).
-- A job with RQ's Repeat (repeats_left > 0) runs again, as an RQ 3 worker would: now, or after
-- the first of repeat_intervals, which then drops that interval unless it is the last one.
-- A rate-limited job's slot goes to the next in line unless it runs again now (RQ's rule).
-- What comes before the function this file returns is made once, with the script's function
-- (see Script.swift): a call pays only for its jobs.

-- The run of finished jobs of one queue, as score, id pairs for rq:finished: added with one
-- ZADD (per 2000) when a job of another queue finishes or the batch ends.
local run_q, run_entries

local function add_run()
  if not run_entries then return end
  for first = 1, #run_entries, 2000 do
    redis.call('ZADD', k_finished(run_q), unpack(run_entries, first, math.min(first + 1999, #run_entries)))
  end
  run_entries = nil
end

-- Whether any job of the batch has dependents. Only enqueue adds them, never an ack, so one
-- EXISTS over the batch's sets (per 1000) answers for every job, where an SMEMBERS per job
-- cost each ack about 1 µs of Redis.
local function any_dependents(ARGV)
  local keys = {}
  for b = 0, #ARGV - 1, A.tail - 1 do keys[#keys + 1] = k_dependents(ARGV[b + A.id]) end
  for first = 1, #keys, 1000 do
    if redis.call('EXISTS', unpack(keys, first, math.min(first + 999, #keys))) > 0 then return true end
  end
  return false
end
local has_dependents

-- Whether the job finished by this lease: its newest result carries the lease as its execution.
local function finished_by(id, token)
  if redis.call('HGET', k_job(id), 'status') ~= 'finished' then return false end
  local newest = redis.call('XREVRANGE', k_results(id), '+', '-', 'COUNT', 1)[1]
  local fields = newest and newest[2] or {}
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'execution_id' then return fields[i + 1] == token end
  end
  return false
end

-- Returns the job's new state and its queue (false when this ack changed nothing), or an error
-- reply.
local function ack(id, token, value)
  local q, member, f, w, slot = held_lease(id, token, true, 'result_ttl', 'repeats_left', 'repeat_intervals', 'jobgate_awaited')
  if not q then
    -- The same ack again (its reply was lost to a broken connection or a timeout): answered
    -- as the first one was, so a client may always retry an ack.
    if string.sub(member, 1, 10) == 'LEASE_LOST' and finished_by(id, token) then return 'finished', false end
    return redis.error_reply(member)
  end
  execution_ended(id, token, w, 'successful_job_count')
  local awaited = f[4] or false
  local job, results = k_job(id), k_results(id)
  local ttl = tonumber(f[1]) or DEFAULT_RESULT_TTL
  if has_dependents then release_dependents(id, false) end
  if ttl == 0 then
    redis.call('DEL', job, results, k_dependencies(id))
    free_slot(id, slot)
    announce_done(id, awaited)
    return 'deleted', q
  end
  redis.call('HSET', job, 'status', 'finished', 'ended_at', NOW_TS)
  if value ~= '' then
    redis.call('XADD', results, 'MAXLEN', '~', 10, '*', 'type', 1, 'return_value', value,
      'execution_id', token, 'execution_ended_at', NOW_NUM)
  else
    redis.call('XADD', results, 'MAXLEN', '~', 10, '*', 'type', 1,
      'execution_id', token, 'execution_ended_at', NOW_NUM)
  end
  if run_entries and run_q ~= q then add_run() end
  if not run_entries then run_q, run_entries = q, {} end
  run_entries[#run_entries + 1] = ttl == -1 and '+inf' or SEC + ttl
  run_entries[#run_entries + 1] = id
  expire_or_persist(results, ttl)
  local repeats = tonumber(f[2]) or 0
  if repeats > 0 then
    local interval = 0
    local ok, intervals = pcall(cjson.decode, f[3] or '[]')
    if ok and type(intervals) == 'table' and #intervals > 0 then
      interval = tonumber(intervals[1]) or 0
      if #intervals > 1 then
        table.remove(intervals, 1)
        redis.call('HSET', job, 'repeat_intervals', cjson.encode(intervals))
      end
    end
    redis.call('HSET', job, 'repeats_left', repeats - 1)
    redis.call('PERSIST', job)  -- it must outlive result_ttl while it waits to run again
    if interval > 0 then
      schedule(id, q, NOW + interval)
      free_slot(id, slot)
    else
      enqueue_now(id, q, false)
    end
  else
    expire_or_persist(job, ttl)
    free_slot(id, slot)
  end
  announce_done(id, awaited)
  return 'finished', q
end

-- A call sets afresh what the last one left: the run (an error may have cut it short) and
-- whether its jobs have dependents.
return function(ARGV)
  run_entries = nil
  has_dependents = any_dependents(ARGV)
  local rows = {}
  for b = 0, #ARGV - 1, A.tail - 1 do
    local state, q = ack(ARGV[b + A.id], ARGV[b + A.lease], ARGV[b + A.result])
    local at = add_row(rows)
    rows[at + R.state] = state
    if q then rows[at + R.queue] = q end
  end
  add_run()
  return rows
end
