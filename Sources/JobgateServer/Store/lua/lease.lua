-- lease.lua: takes up to `count` jobs from the queues in strict priority order.
-- KEYS: none (derived).
-- ARGV: the arguments named in Lease.swift (A.count, A.lease_for: '' = each job's timeout,
--   default 180; A.worker, A.peer: the client's address, A.queue_count), then that many queue
--   names, then `count` fresh lease tokens.
-- Returns {rows, shutdown}: a row per leased job, flat (R.id, R.queue, R.data, ...: see add_row
-- and Lease.Row), and 1 when RQ's shutdown command was sent to this named worker (then nothing
-- is leased, and the command is used up); or WRONG_TYPE (see queue_keys_error). Ids whose job
-- hash is gone (deleted, expired ttl) are dropped. A named worker also gets RQ's worker and
-- execution keys (see the prelude). A queue at its operator's limits (limit.lua) gives nothing,
-- and the next queue in order is tried.

local count = tonumber(ARGV[A.count])
local lease_for = tonumber(ARGV[A.lease_for])
local worker = ARGV[A.worker]
local nq = tonumber(ARGV[A.queue_count])
-- The queue names are ARGV[A.tail .. A.tail + nq - 1]; a list of them only for RQ's worker keys.
local queues = worker ~= '' and {unpack(ARGV, A.tail, A.tail + nq - 1)} or NONE
local first_token = A.tail + nq
local rows, taken = {}, 0
-- A queue whose keys another program wrote fails the lease before it takes anything, and so do
-- a named worker's keys.
for i = 1, nq do
  local q = ARGV[A.tail + i - 1]
  local bad_key = queue_keys_error(q) or (worker ~= '' and key_error('rq:workers:' .. q, 'set'))
  if bad_key then return redis.error_reply(bad_key) end
end
if worker ~= '' then
  local bad_key = worker_keys_error(worker)
  if bad_key then return redis.error_reply(bad_key) end
end
if worker ~= '' and redis.call('DEL', 'jobgate:shutdown:' .. worker) == 1 then return {rows, 1} end

for i = 1, nq do
  local q = ARGV[A.tail + i - 1]
  if taken >= count then break end
  local room = is_paused(q) and 0 or limit_room(q, count - taken)
  if room > 0 then
    local first = taken + 1  -- this queue's jobs start here
    while taken < count and taken - first + 1 < room do
      local ids = redis.call('LPOP', k_queue(q), math.min(count - taken, room - (taken - first + 1)))
      if not ids then break end
      local leases = {}  -- score, member pairs: one ZADD per LPOP
      for _, id in ipairs(ids) do
        local job = k_job(id)
        -- An id whose key is not a job hash (another program wrote it) is dropped like a gone job,
        -- rather than failing the lease with the ids before it popped.
        local f = redis.pcall('HMGET', job, 'data', 'timeout', 'meta', 'retries_left', 'jobgate_attempts', 'ttl', 'failure_ttl')
        if not f.err and f[1] then
          local seconds = lease_for or tonumber(f[2]) or DEFAULT_TIMEOUT
          -- RQ's timeout -1 means "no limit"; a lease must still end, heartbeats extend it.
          if seconds <= 0 then seconds = DEFAULT_TIMEOUT end
          local token = ARGV[first_token + taken]
          local attempt = (tonumber(f[5]) or 0) + 1
          local expires = num(NOW + seconds)  -- once: the score and the reply share it
          redis.call('HSET', job, 'status', 'started', 'started_at', NOW_TS, 'last_heartbeat', NOW_TS,
            'worker_name', worker, 'jobgate_attempts', attempt, 'jobgate_lease', seconds)
          -- Only a job with a ttl, or one failed with a failure_ttl and requeued by RQ, can
          -- carry an expiry here (jobgate's requeue persists); RQ persists at start too.
          if f[6] or f[7] then redis.call('PERSIST', job) end
          leases[#leases + 1] = expires
          leases[#leases + 1] = id .. ':' .. token
          if worker ~= '' then execution_started(worker, queues, ARGV[A.peer], id, token, NOW + seconds) end
          local at = add_row(rows)
          rows[at + R.id], rows[at + R.queue], rows[at + R.data] = id, q, f[1]
          rows[at + R.meta], rows[at + R.retries_left] = f[3] or false, f[4] or false
          rows[at + R.attempt], rows[at + R.expires_at] = attempt, expires
          rows[at + R.lease], rows[at + R.lease_seconds] = token, tostring(seconds)
          taken = taken + 1
        end
      end
      if #leases > 0 then redis.call('ZADD', k_wip(q), unpack(leases)) end
    end
    limit_started(q, ARGV, first_token + first - 1, first_token + taken - 1)
  end
end
return {rows, 0}
