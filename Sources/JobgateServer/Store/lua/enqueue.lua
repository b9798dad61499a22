-- enqueue.lua: creates one or more jobs (a batch is one atomic step).
-- KEYS: none (derived, see the prelude).
-- ARGV: per job, the arguments named in Enqueue.swift's EnqueueArgument (A.id, A.queue, ...),
--   repeated; '' means "not given": the field is left out of the job hash, as RQ does.
--   data is zlib of ["func", null, args, kwargs]; run_at is Unix seconds, delay seconds from
--   now by Redis's clock; depends_on a JSON list of ids; fresh is '1' when the caller made the
--   id as a random uuid4, which cannot collide (the duplicate check is skipped).
--   rate_limit_key and rate_limit_concurrency are RQ 3.0's limit (both or neither): a job ready
--   to run waits in line for a slot (see the prelude); a scheduled or deferred one only when it
--   becomes ready, as RQ's do.
-- Returns a row per job, flat (see add_row): R.state 'queued', 'rate_limited', 'scheduled' or
-- 'deferred', or an error reply for that job (DUPLICATE, NOT_FOUND for a missing parent,
-- WRONG_TYPE for a key of its queue, parents or rate limit that another program wrote: see
-- key_error; all are checked before the job's first write);
-- R.run_at for a scheduled job. A job depending on unfinished jobs is deferred RQ's way
-- (rq:deferred, both dependency sets) until they all finish.
-- What comes before the function this file returns is made once, with the script's function
-- (see Script.swift): a call pays only for its jobs.

local STRIDE = A.tail - 1
-- Arguments stored as job fields of the same meaning when given: argument, field name, ...
local OPTIONAL = {A.description, 'description', A.timeout, 'timeout', A.result_ttl, 'result_ttl',
  A.failure_ttl, 'failure_ttl', A.ttl, 'ttl', A.meta, 'meta', A.retries, 'retries_left',
  A.retry_intervals, 'retry_intervals', A.rate_limit_key, 'rate_limit_key',
  A.rate_limit_concurrency, 'rate_limit_concurrency'}

-- The run of ready jobs bound for one queue and end, in ARGV order: pushed with one command
-- when a job goes elsewhere or the batch ends.
local run_q, run_front, run_ids

local function push_run()
  if run_ids then push_ready(run_q, run_ids, run_front) end
  run_ids = nil
end

-- The job hash's fields, as HSET takes them: one list, of which each job uses the first `n`
-- entries (created_at is set per call).
local fields, n = {'data', false, 'origin', false, 'created_at', false}, 6

local function add_field(name, value)
  fields[n + 1], fields[n + 2] = name, value
  n = n + 2
end

-- Returns the job's state and, when scheduled, when it runs; or an error reply.
local function enqueue_one(ARGV, b)
  local id, q = ARGV[b + A.id], ARGV[b + A.queue]
  local bad_key = queue_keys_error(q)
  if bad_key then return redis.error_reply(bad_key) end
  local job = k_job(id)
  if ARGV[b + A.fresh] ~= '1' and redis.call('EXISTS', job) == 1 then
    return redis.error_reply('DUPLICATE a job with this id already exists')
  end
  local parents, pending = NONE, NONE  -- lists made only for a job with depends_on
  if ARGV[b + A.depends_on] ~= '' then
    parents, pending = cjson.decode(ARGV[b + A.depends_on]), {}
    for _, p in ipairs(parents) do
      bad_key = key_error(k_job(p), 'hash') or key_error(k_dependents(p), 'set')
      if bad_key then return redis.error_reply(bad_key) end
      local st = redis.call('HGET', k_job(p), 'status')
      if not st then return redis.error_reply('NOT_FOUND depends_on names job ' .. p .. ', which does not exist') end
      if st ~= 'finished' then pending[#pending + 1] = p end
    end
  end
  fields[2], fields[4], n = ARGV[b + A.data], q, 6
  if #parents > 0 then
    add_field('dependency_ids', ARGV[b + A.depends_on])
    add_field('dependency_id', parents[1])
  end
  for k = 1, #OPTIONAL, 2 do
    local value = ARGV[b + OPTIONAL[k]]
    if value ~= '' then add_field(OPTIONAL[k + 1], value) end
  end
  local front = ARGV[b + A.at_front] == '1'
  local run_at = tonumber(ARGV[b + A.run_at])
  local delay = tonumber(ARGV[b + A.delay])
  if delay then run_at = NOW + delay end
  local status = 'queued'
  if #pending > 0 then
    status = 'deferred'
  elseif run_at and run_at > NOW then
    status = 'scheduled'
  end
  local slot = limit_key(ARGV[b + A.rate_limit_key], ARGV[b + A.rate_limit_concurrency])
  if status == 'queued' and slot then status = 'rate_limited' end
  bad_key = slot and limit_keys_error(slot)
  if bad_key then return redis.error_reply(bad_key) end
  register_queue(q)
  if #parents > 0 then redis.call('SADD', k_dependencies(id), unpack(parents)) end
  add_field('status', status)
  if status == 'queued' then
    add_field('enqueued_at', NOW_TS)
  elseif front then
    add_field('enqueue_at_front', '1')
  end
  redis.call('HSET', job, unpack(fields, 1, n))
  if ARGV[b + A.ttl] ~= '' then redis.call('EXPIRE', job, ARGV[b + A.ttl]) end
  if status == 'deferred' then
    redis.call('ZADD', k_deferred(q), SEC, id)
    for _, p in ipairs(pending) do redis.call('SADD', k_dependents(p), id) end
    return 'deferred'
  elseif status == 'scheduled' then
    return 'scheduled', add_scheduled(id, q, run_at)  -- status is in the HSET above
  elseif status == 'rate_limited' then
    push_run()  -- the jobs before it are in their queue before it may be let in
    wait_for_slot(id, slot, ARGV[b + A.rate_limit_concurrency], front)
    return redis.call('HGET', job, 'status')
  end
  if run_ids and (run_q ~= q or run_front ~= front) then push_run() end
  if not run_ids then run_q, run_front, run_ids = q, front, {} end
  run_ids[#run_ids + 1] = id
  return 'queued'
end

-- A call sets afresh what the last one left: the run (an error may have cut it short) and the
-- clock in the field list.
return function(ARGV)
  run_ids = nil
  fields[6] = NOW_TS
  local rows = {}
  for b = 0, #ARGV - 1, STRIDE do
    local state, run_at = enqueue_one(ARGV, b)
    local at = add_row(rows)
    rows[at + R.state] = state
    if run_at then rows[at + R.run_at] = run_at end
  end
  push_run()
  return rows
end
