-- lease.lua: takes up to `count` jobs from the queues in strict priority order.
-- KEYS: none (derived).
-- ARGV: 1 count, 2 lease seconds ('' = each job's timeout, default 180), 3 worker name,
--   4 n (number of queues), 5..4+n queue names, then `count` fresh lease tokens.
-- Returns one {id, queue, data, meta, retries_left, attempt, expires_at, token, lease_seconds}
-- per leased job. Ids whose job hash is gone (deleted, expired ttl) are dropped. A named worker
-- also gets RQ's worker and execution keys (see the prelude).

local count = tonumber(ARGV[1])
local lease_for = tonumber(ARGV[2])
local worker = ARGV[3]
local nq = tonumber(ARGV[4])
local queues = {}
for i = 1, nq do queues[i] = ARGV[4 + i] end
local out = {}

for i = 1, nq do
  local q = ARGV[4 + i]
  if #out >= count then break end
  if not is_paused(q) then
    while #out < count do
      local ids = redis.call('LPOP', k_queue(q), count - #out)
      if not ids then break end
      local leases = {}  -- score, member pairs: one ZADD per LPOP
      for _, id in ipairs(ids) do
        local job = k_job(id)
        local f = redis.call('HMGET', job, 'data', 'timeout', 'meta', 'retries_left', 'jobgate_attempts', 'ttl', 'failure_ttl')
        if f[1] then
          local seconds = lease_for or tonumber(f[2]) or DEFAULT_TIMEOUT
          -- RQ's timeout -1 means "no limit"; a lease must still end, heartbeats extend it.
          if seconds <= 0 then seconds = DEFAULT_TIMEOUT end
          local token = ARGV[4 + nq + #out + 1]
          local attempt = (tonumber(f[5]) or 0) + 1
          local expires = num(NOW + seconds)  -- once: the score and the reply share it
          redis.call('HSET', job, 'status', 'started', 'started_at', NOW_TS, 'last_heartbeat', NOW_TS,
            'worker_name', worker, 'jobgate_attempts', attempt, 'jobgate_lease', seconds)
          -- Only a job with a ttl, or one failed with a failure_ttl and requeued by RQ, can
          -- carry an expiry here (jobgate's requeue persists); RQ persists at start too.
          if f[6] or f[7] then redis.call('PERSIST', job) end
          leases[#leases + 1] = expires
          leases[#leases + 1] = id .. ':' .. token
          if worker ~= '' then execution_started(worker, queues, id, token, NOW + seconds) end
          out[#out + 1] = {id, q, f[1], f[3] or false, f[4] or false, attempt, expires, token, tostring(seconds)}
        end
      end
      if #leases > 0 then redis.call('ZADD', k_wip(q), unpack(leases)) end
    end
  end
end
return out
