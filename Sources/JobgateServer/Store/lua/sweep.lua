-- sweep.lua: the periodic server-side work, safe to run from every gateway at once.
-- Promotes due scheduled jobs (unless an RQ scheduler holds the queue's lock), takes back
-- expired leases as failed attempts, and tends RQ 3.0's rate limits as RQ's worker maintenance
-- does (at most once a second across all gateways).
-- KEYS: none (derived).
-- ARGV: A.limit (most jobs to move per queue and kind), A.exc_info (zlib of the text "lease
--   expired"), A.exc_string (base64 of that), A.lock_owner (the scheduler-lock owner name
--   shared by all gateways).
-- Returns a row (R.promoted, R.expired, R.expired_ids: the first EXPIRED_IDS_SHOWN of them;
-- R.problem: a key another program wrote, whose queue was left alone, or false); a caller that
-- sees either count at the limit runs it again.

local limit = tonumber(ARGV[A.limit])
local exc_zlib, exc_b64, owner = ARGV[A.exc_info], ARGV[A.exc_string], ARGV[A.lock_owner]
local promoted, expired = 0, 0
local EXPIRED_IDS_SHOWN = 5
local expired_ids = {}

-- The first key another program wrote that kept the sweep from something (named in the reply,
-- for the gateway's log); what it guards is left as it is, since a write there would fail half-way.
local problem = false
local function blocked_by(bad_key)
  if bad_key and not problem then problem = string.sub(bad_key, #'WRONG_TYPE ' + 1) end
  return bad_key
end

-- One queue's due scheduled jobs and expired leases.
local function sweep_queue(q)
  local lock = 'rq:scheduler-lock:' .. q
  local holder = redis.call('GET', lock)
  if not holder or holder == owner then
    local due = redis.call('ZRANGEBYSCORE', k_scheduled(q), '-inf', NOW, 'LIMIT', 0, limit)
    if #due > 0 then
      -- Held only while moving: RQ's scheduler takes the lock with SET NX, so it cannot move
      -- this queue's jobs at the same moment; between our sweeps it may.
      redis.call('SET', lock, owner, 'EX', 5)
      for _, id in ipairs(due) do
        local f = redis.call('HMGET', k_job(id), 'origin', 'enqueue_at_front', 'rate_limit_key', 'rate_limit_concurrency')
        local slot = limit_key(f[3], f[4])
        if not (f[1] and slot and blocked_by(limit_keys_error(slot))) then
          redis.call('ZREM', k_scheduled(q), id)
          if f[1] then
            enter_queue(id, q, f[2] == '1', f[3], f[4])
            promoted = promoted + 1
          end
        end
      end
    end
  end
  local dead = redis.call('ZRANGEBYSCORE', k_wip(q), '-inf', NOW, 'LIMIT', 0, limit)
  for _, member in ipairs(dead) do
    local id, token = string.match(member, '^([^:]+):(.*)$')
    if not id then id, token = member, '' end
    local f = redis.call('HMGET', k_job(id), 'status', 'worker_name', 'rate_limit_key', 'rate_limit_concurrency')
    local status, w, slot = f[1], f[2] or '', limit_key(f[3], f[4])
    if not blocked_by((w ~= '' and worker_keys_error(w)) or (slot and limit_keys_error(slot))) then
      redis.call('ZREM', k_wip(q), member)
      limit_freed(q)
      -- Only a job still started was abandoned: one that RQ canceled, deleted or requeued
      -- meanwhile has moved on, and its stale entry is just dropped.
      if status == 'started' then
        execution_ended(id, token, w)
        retry_or_fail(id, q, token, true, exc_zlib, exc_b64)
        expired = expired + 1
        if #expired_ids < EXPIRED_IDS_SHOWN then expired_ids[#expired_ids + 1] = id end
      elseif status then
        execution_ended(id, token, w)
      end
    end
  end
end

local queues = redis.pcall('SMEMBERS', QUEUES)
if queues.err then blocked_by(key_error(QUEUES, 'set')); queues = NONE end
for _, qkey in ipairs(queues) do
  local q = string.sub(qkey, #'rq:queue:' + 1)
  if not blocked_by(queue_keys_error(q)) then sweep_queue(q) end
end

-- RQ 3.0's RateLimitRegistry.cleanup for one key: slots held by jobs that are no longer queued
-- or started (a holder crashed between its outcome and the release, or a job was deleted) go to
-- the next in line, whoever fits is admitted, and a key with no one in or waiting is removed.
-- Reads the `limit` oldest holders: more than that are only there if jobs bypassed the limit.
local function tend_limit(key)
  if blocked_by(limit_keys_error(key)) then return end
  for _, id in ipairs(redis.call('ZRANGE', k_rl_allowed(key), 0, limit - 1)) do
    free_stale_slot(id, key, redis.call('HGET', k_job(id), 'status'))
  end
  local concurrency = configured_concurrency(key)
  if concurrency > 0 and admit_waiting(key, concurrency) > 0 then return end
  if redis.call('ZCARD', k_rl_allowed(key)) == 0 and redis.call('ZCARD', k_rl_waiting(key)) == 0 then
    redis.call('SREM', RL_KEYS, key)
    redis.call('DEL', k_rl(key), k_rl_allowed(key), k_rl_waiting(key))
  end
end

if redis.call('SET', 'jobgate:rate-limit-maintenance', owner, 'PX', 1000, 'NX') then
  local keys = redis.pcall('SMEMBERS', RL_KEYS)
  if keys.err then blocked_by(key_error(RL_KEYS, 'set')); keys = NONE end
  for _, key in ipairs(keys) do tend_limit(key) end
end

local row = new_row()
row[R.promoted], row[R.expired], row[R.expired_ids] = promoted, expired, expired_ids
row[R.problem] = problem
return row
