-- sweep.lua: the periodic server-side work, safe to run from every gateway at once.
-- Promotes due scheduled jobs (unless an RQ scheduler holds the queue's lock) and takes back
-- expired leases as failed attempts.
-- KEYS: none (derived).
-- ARGV: A.limit (most jobs to move per queue and kind), A.exc_info (zlib of the text "lease
--   expired"), A.exc_string (base64 of that), A.lock_owner (the scheduler-lock owner name
--   shared by all gateways).
-- Returns a row (R.promoted, R.expired, R.expired_ids: the first EXPIRED_IDS_SHOWN of them); a
-- caller that sees either count at the limit runs it again.

local limit = tonumber(ARGV[A.limit])
local exc_zlib, exc_b64, owner = ARGV[A.exc_info], ARGV[A.exc_string], ARGV[A.lock_owner]
local promoted, expired = 0, 0
local EXPIRED_IDS_SHOWN = 5
local expired_ids = {}

for _, qkey in ipairs(redis.call('SMEMBERS', QUEUES)) do
  local q = string.sub(qkey, #'rq:queue:' + 1)
  local lock = 'rq:scheduler-lock:' .. q
  local holder = redis.call('GET', lock)
  if not holder or holder == owner then
    local due = redis.call('ZRANGEBYSCORE', k_scheduled(q), '-inf', NOW, 'LIMIT', 0, limit)
    if #due > 0 then
      -- Held only while moving: RQ's scheduler takes the lock with SET NX, so it cannot move
      -- this queue's jobs at the same moment; between our sweeps it may.
      redis.call('SET', lock, owner, 'EX', 5)
      for _, id in ipairs(due) do
        redis.call('ZREM', k_scheduled(q), id)
        if redis.call('EXISTS', k_job(id)) == 1 then
          enqueue_now(id, q, redis.call('HGET', k_job(id), 'enqueue_at_front') == '1')
          promoted = promoted + 1
        end
      end
    end
  end
  local dead = redis.call('ZRANGEBYSCORE', k_wip(q), '-inf', NOW, 'LIMIT', 0, limit)
  for _, member in ipairs(dead) do
    redis.call('ZREM', k_wip(q), member)
    local id, token = string.match(member, '^([^:]+):(.*)$')
    if not id then id, token = member, '' end
    -- Only a job still started was abandoned: one that RQ canceled, deleted or requeued
    -- meanwhile has moved on, and its stale entry is just dropped.
    local status = redis.call('HGET', k_job(id), 'status')
    if status == 'started' then
      execution_ended(id, token)
      retry_or_fail(id, q, token, true, exc_zlib, exc_b64)
      expired = expired + 1
      if #expired_ids < EXPIRED_IDS_SHOWN then expired_ids[#expired_ids + 1] = id end
    elseif status then
      execution_ended(id, token)
    end
  end
end
local row = {}
row[R.promoted], row[R.expired], row[R.expired_ids] = promoted, expired, expired_ids
return row
