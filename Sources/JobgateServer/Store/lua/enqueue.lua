-- enqueue.lua: creates one or more jobs (a batch is one atomic step).
-- KEYS: none (derived, see the prelude).
-- ARGV: 16 slots per job, repeated:
--   1 id, 2 queue, 3 data (zlib of ["func", null, args, kwargs]), 4 description, 5 timeout,
--   6 result_ttl, 7 failure_ttl, 8 ttl, 9 meta (JSON object), 10 retries, 11 retry_intervals
--   (JSON list), 12 at_front ('1' or ''), 13 run_at (Unix seconds, '' = now),
--   14 delay (seconds from now by Redis's clock, '' = none), 15 depends_on (JSON list of ids,
--   '' = none), 16 fresh ('1' when the caller generated the id as a random uuid4, which
--   cannot collide: the duplicate check is skipped).
--   '' means "not given": the field is left out of the job hash, as RQ does.
-- Returns one {state, run_at or missing parent id} per job: state 'queued', 'scheduled',
-- 'deferred', 'duplicate' or 'missing_parent'. A job depending on unfinished jobs is deferred
-- RQ's way (rq:deferred, both dependency sets) until they all finish.

local STRIDE = 16
local OPTIONAL = {[4] = 'description', [5] = 'timeout', [6] = 'result_ttl', [7] = 'failure_ttl',
  [8] = 'ttl', [9] = 'meta', [10] = 'retries_left', [11] = 'retry_intervals'}

-- Ids to push per queue and end, in ARGV order: one push per queue once every job is written.
local pushes = {}

local function enqueue_one(b)
  local id, q = ARGV[b + 1], ARGV[b + 2]
  local job = k_job(id)
  if ARGV[b + 16] ~= '1' and redis.call('EXISTS', job) == 1 then return {'duplicate'} end
  local parents, pending = {}, {}
  if ARGV[b + 15] ~= '' then
    parents = cjson.decode(ARGV[b + 15])
    for _, p in ipairs(parents) do
      local st = redis.call('HGET', k_job(p), 'status')
      if not st then return {'missing_parent', p} end
      if st ~= 'finished' then pending[#pending + 1] = p end
    end
  end
  local fields = {'data', ARGV[b + 3], 'origin', q, 'created_at', NOW_TS}
  if #parents > 0 then
    fields[#fields + 1] = 'dependency_ids'
    fields[#fields + 1] = ARGV[b + 15]
    fields[#fields + 1] = 'dependency_id'
    fields[#fields + 1] = parents[1]
  end
  for slot = 4, 11 do
    if ARGV[b + slot] ~= '' then
      fields[#fields + 1] = OPTIONAL[slot]
      fields[#fields + 1] = ARGV[b + slot]
    end
  end
  local front = ARGV[b + 12] == '1'
  local run_at = tonumber(ARGV[b + 13])
  local delay = tonumber(ARGV[b + 14])
  if delay then run_at = NOW + delay end
  register_queue(q)
  if #parents > 0 then redis.call('SADD', k_dependencies(id), unpack(parents)) end
  local status = 'queued'
  if #pending > 0 then
    status = 'deferred'
  elseif run_at and run_at > NOW then
    status = 'scheduled'
  end
  fields[#fields + 1] = 'status'
  fields[#fields + 1] = status
  if status == 'queued' then
    fields[#fields + 1] = 'enqueued_at'
    fields[#fields + 1] = NOW_TS
  elseif front then
    fields[#fields + 1] = 'enqueue_at_front'
    fields[#fields + 1] = '1'
  end
  redis.call('HSET', job, unpack(fields))
  if ARGV[b + 8] ~= '' then redis.call('EXPIRE', job, ARGV[b + 8]) end
  if status == 'deferred' then
    redis.call('ZADD', k_deferred(q), SEC, id)
    for _, p in ipairs(pending) do redis.call('SADD', k_dependents(p), id) end
    return {'deferred'}
  elseif status == 'scheduled' then
    return {'scheduled', add_scheduled(id, q, run_at)}  -- status is in the HSET above
  end
  local key = (front and 'L' or 'R') .. q
  if not pushes[key] then
    pushes[key] = {q = q, front = front, ids = {}}
    pushes[#pushes + 1] = pushes[key]
  end
  table.insert(pushes[key].ids, id)
  return {'queued'}
end

local out = {}
for b = 0, #ARGV - 1, STRIDE do
  out[#out + 1] = enqueue_one(b)
end
for _, p in ipairs(pushes) do push_ready(p.q, p.ids, p.front) end
return out
