-- prelude.lua: prepended to every jobgate script when it is loaded; never run alone.
-- Holds the clock (Redis TIME, so every gateway agrees whatever its host clock says), RQ 2.x
-- key names, RQ's timestamp format, and the job moves shared by several scripts.
--
-- Keys are derived from ids and queue names inside the scripts rather than passed as KEYS:
-- batch ops touch a variable set of keys, and RQ's own layout spreads one job over many hash
-- slots, so Redis Cluster is not supported (neither does RQ support it).

-- The clock: set by begin_call() at the start of every script call (see the end of this file).
local NOW, SEC, USEC, NOW_TS, NOW_NUM

local QUEUES = 'rq:queues'
local READY_CHANNEL = 'jobgate:ready'
local DONE_CHANNEL = 'jobgate:done'
local PAUSED = 'jobgate:paused'
-- Schedules: name -> next run (whole Unix seconds), and one hash per schedule.
local SCHEDULES = 'jobgate:schedules'
local DEFAULT_RESULT_TTL = 500
local DEFAULT_FAILURE_TTL = 31536000
local DEFAULT_TIMEOUT = 180
-- An empty list to read, never to fill. Every table a script makes costs Redis about 0.3 µs,
-- so the hot paths make none they can do without (CONTRIBUTING.md, "Lua and Redis time").
local NONE = {}

local function k_job(id) return 'rq:job:' .. id end
local function k_results(id) return 'rq:results:' .. id end
local function k_queue(q) return 'rq:queue:' .. q end
local function k_wip(q) return 'rq:wip:' .. q end
local function k_scheduled(q) return 'rq:scheduled:' .. q end
local function k_failed(q) return 'rq:failed:' .. q end
local function k_finished(q) return 'rq:finished:' .. q end
local function k_deferred(q) return 'rq:deferred:' .. q end
local function k_canceled(q) return 'rq:canceled:' .. q end
local function k_dependents(id) return 'rq:job:' .. id .. ':dependents' end
-- RQ's own spelling: prefix 'rq:job:' + ':' + id.
local function k_dependencies(id) return 'rq:job::' .. id .. ':dependencies' end
local function k_worker(w) return 'rq:worker:' .. w end
-- RQ 3.0 reads a worker's current jobs only from this set of '<id>:<execution>'.
local function k_worker_executions(w) return 'rq:worker:' .. w .. ':executions' end
local function k_execution(id, token) return 'rq:execution:' .. id .. ':' .. token end
local function k_executions(id) return 'rq:executions:' .. id end
local function k_schedule(name) return 'jobgate:schedule:' .. name end

-- RQ's timestamp: UTC '%Y-%m-%dT%H:%M:%S.%fZ' (civil date from days since the epoch).
local function rq_ts(sec, usec)
  local days = math.floor(sec / 86400)
  local rem = sec - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', y, m, d,
    math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60, usec)
end

-- Scores and replies carry fractional seconds as text: Lua numbers returned to Redis are truncated.
local function num(x) return string.format('%.3f', x) end

-- Puts job ids on a queue, in order, with one command per 1000; the first jobs into an empty
-- queue wake waiting leases on every gateway (a busy queue publishes nothing, so a loaded
-- system pays nothing for wake-ups). At the front, each id goes before the ones pushed
-- before it, as one LPUSH per job would put them.
local function push_ready(q, ids, front)
  for first = 1, #ids, 1000 do
    local last = math.min(first + 999, #ids)
    local n = redis.call(front and 'LPUSH' or 'RPUSH', k_queue(q), unpack(ids, first, last))
    if n == last - first + 1 then redis.call('PUBLISH', READY_CHANNEL, q) end
  end
end

local function enqueue_now(id, q, front)
  redis.call('HSET', k_job(id), 'status', 'queued', 'enqueued_at', NOW_TS)
  push_ready(q, {id}, front)
end

-- RQ 3.0's concurrency limits (RateLimit(key, concurrency), rate_limit.py), in RQ's keys and by
-- RQ's rules, so RQ's workers and jobgate's leases share one limit. A limited job holds a slot
-- in rq:rl:<key>:allowed from its admission while it is queued or started; the others wait in
-- rq:rl:<key>:rate_limited, oldest first (whole-second scores, ties in id order, as RQ's).
local RL_KEYS = 'rq:rl-keys'
local function k_rl(key) return 'rq:rl:' .. key end
local function k_rl_allowed(key) return 'rq:rl:' .. key .. ':allowed' end
local function k_rl_waiting(key) return 'rq:rl:' .. key .. ':rate_limited' end

-- What one script call has already learned, so a batch of ops asks Redis once: the queues
-- already in rq:queues, which are paused, which are limited (below), which keys hold what RQ
-- keeps there (`checked`, by key and by queue: see key_error). Each table is made when
-- first needed; begin_call() forgets them all, and so does a script that changes what they
-- hold (pause, limit, forget).
local registered, paused, limited, any_limited, checked

local function forget_cached()
  registered, paused, limited, any_limited, checked = nil, nil, nil, nil, nil
end

-- What is wrong with a key that holds another type than RQ keeps there (a missing key is
-- fine), or false.
local function key_type_problem(key, want)
  local t = redis.call('TYPE', key).ok
  if t == want or t == 'none' then return false end
  return key .. ' holds a ' .. t .. ' where RQ keeps a ' .. want ..
    ' (did another program write it?); rename or remove that key'
end

-- How many entries a queue's key holds (`cmd` counts them: LLEN, ZCARD, ZCOUNT) and false; or 0
-- and the problem, when another program wrote the key with another type, so that one such key
-- neither fails a whole listing (stats) nor keeps its queue from being forgotten.
local function tolerant_count(cmd, key, want, ...)
  local n = redis.pcall(cmd, key, ...)
  if type(n) ~= 'table' then return n, false end
  return 0, key_type_problem(key, want) or n.err
end

-- A key written by another program with another type (a string at rq:queue:<q>) must not fail
-- an op half-way with its first writes kept (jobs made but never queued, or started but in no
-- registry): every op that changes jobs checks the keys it will write before its first write,
-- each key once per call. Returns the WRONG_TYPE error text, or nil.
local function key_error(key, want)
  checked = checked or {}
  if checked[key] == nil then checked[key] = key_type_problem(key, want) end
  return checked[key] and 'WRONG_TYPE ' .. checked[key] or nil
end

-- The keys the ops on a queue's jobs write: RQ's list of queues, the queue's list and its
-- registries (cached by queue name, which costs a batch less than a key name per job).
local function queue_keys_error(q)
  checked = checked or {}
  local known = checked[q]
  if known == nil then
    known = key_error(QUEUES, 'set') or key_error(k_queue(q), 'list') or key_error(k_wip(q), 'zset')
      or key_error(k_scheduled(q), 'zset') or key_error(k_deferred(q), 'zset')
      or key_error(k_finished(q), 'zset') or key_error(k_failed(q), 'zset')
      or key_error(k_canceled(q), 'zset') or false
    checked[q] = known
  end
  return known or nil
end

-- The keys a named worker's leases write (see execution_started): RQ's worker set, the worker's
-- hash and its executions set.
local function worker_keys_error(w)
  return key_error('rq:workers', 'set') or key_error(k_worker(w), 'hash') or key_error(k_worker_executions(w), 'set')
end

-- RQ 3.0's keys of a rate-limit key, which a limited job's outcome writes (its slot goes on).
local function limit_keys_error(key)
  return key_error(RL_KEYS, 'set') or key_error(k_rl(key), 'hash') or key_error(k_rl_allowed(key), 'zset')
    or key_error(k_rl_waiting(key), 'zset')
end

-- Jobs waiting for a slot, per queue (stats, forget). RQ lines them up per key, not per queue,
-- so this reads each waiting job's origin: O(rate-limited jobs), in pages of 1000.
local function rate_limited_per_queue()
  local per_queue = {}
  local keys = redis.pcall('SMEMBERS', RL_KEYS)
  if keys.err then return per_queue end  -- another program's key: nothing of ours to count
  for _, key in ipairs(keys) do
    local first = 0
    repeat
      local ids = redis.pcall('ZRANGE', k_rl_waiting(key), first, first + 999)
      if ids.err then break end
      for _, id in ipairs(ids) do
        local q = redis.call('HGET', k_job(id), 'origin')
        if q then per_queue[q] = (per_queue[q] or 0) + 1 end
      end
      first = first + 1000
    until #ids < 1000
  end
  return per_queue
end

-- A job's limit key, from its rate_limit_key and rate_limit_concurrency fields; nil when it is
-- unlimited (RQ needs both fields set, and the concurrency an integer).
local function limit_key(key, concurrency)
  if key and key ~= '' and tonumber(concurrency) then return key end
  return nil
end

-- Fills free slots with waiting jobs (RQ's acquire script): each goes onto its queue, at the
-- front if its enqueue_at_front is '1', and wakes leases like any enqueue. An entry whose job is
-- gone or no longer rate_limited is dropped. One whose queue has a key another program wrote
-- goes back to the head of the line, and admission stops there (WRONG_TYPE: nothing may be
-- half done). Returns how many got in.
local function admit_waiting(key, concurrency)
  local allowed, waiting = k_rl_allowed(key), k_rl_waiting(key)
  local admitted = 0
  while redis.call('ZCARD', allowed) < concurrency do
    local popped = redis.call('ZPOPMIN', waiting)
    if #popped == 0 then break end
    local id = popped[1]
    local f = redis.call('HMGET', k_job(id), 'origin', 'status', 'enqueue_at_front')
    if f[1] and f[2] == 'rate_limited' then
      if queue_keys_error(f[1]) then
        redis.call('ZADD', waiting, popped[2], id)
        break
      end
      redis.call('ZADD', allowed, SEC, id)
      enqueue_now(id, f[1], f[3] == '1')
      admitted = admitted + 1
    end
  end
  return admitted
end

local function configured_concurrency(key)
  return tonumber(redis.call('HGET', k_rl(key), 'concurrency')) or 0
end

-- A limited job joins the back of its key's line (RQ's submission) and whoever fits is admitted,
-- up to the job's own concurrency, which also becomes the key's (the last writer wins, as in
-- RQ). `front` is written as enqueue_at_front, which admission reads.
local function wait_for_slot(id, key, concurrency, front)
  redis.call('SADD', RL_KEYS, key)
  redis.call('HSET', k_rl(key), 'concurrency', concurrency)
  redis.call('HSET', k_job(id), 'status', 'rate_limited', 'enqueue_at_front', front and '1' or '0')
  redis.call('ZADD', k_rl_waiting(key), SEC, id)
  admit_waiting(key, tonumber(concurrency))
end

-- A job (re-)entering its queue from outside it (a due scheduled job, a released dependent, a
-- requeue): a limited one goes through the limiter, as RQ 3.0 sends it.
local function enter_queue(id, q, front, key, concurrency)
  if limit_key(key, concurrency) then
    wait_for_slot(id, key, concurrency, front)
  else
    enqueue_now(id, q, front)
  end
end

-- The job's outcome left it neither queued nor started (RQ's release rule): its slot, if it held
-- one, goes to the next in line. `key` is limit_key's answer (nil: nothing to do).
local function free_slot(id, key)
  if not key then return end
  redis.call('ZREM', k_rl_allowed(key), id)
  admit_waiting(key, configured_concurrency(key))
end

-- RQ's release-stale, for those who do not own the outcome (cancel, delete, the sweep): the slot
-- stays while the job is queued or started (`status`, nil once deleted) or an execution of it is
-- live (an RQ work horse may still be running it), and only a slot actually held is given on.
local function free_stale_slot(id, key, status)
  if status == 'queued' or status == 'started' then return end
  if redis.call('ZCOUNT', k_executions(id), '(' .. SEC, '+inf') > 0 then return end
  if redis.call('ZREM', k_rl_allowed(key), id) == 0 then return end
  admit_waiting(key, configured_concurrency(key))
end

local function register_queue(q)
  registered = registered or {}
  if not registered[q] then
    redis.call('SADD', QUEUES, k_queue(q))
    registered[q] = true
  end
end

local function is_paused(q)
  paused = paused or {}
  if paused[q] == nil then paused[q] = redis.call('SISMEMBER', PAUSED, q) == 1 end
  return paused[q]
end

-- An operator's limits on a queue (limit.lua sets them): at most `concurrency` jobs started at
-- once, at most `rate_max` leases started in any `rate_per` seconds (a sliding window of lease
-- starts, `jobgate:limit:<q>:starts`). Only queues in LIMITED pay more than one SISMEMBER.
local LIMITED = 'jobgate:limited'
local function k_limit(q) return 'jobgate:limit:' .. q end
local function k_limit_starts(q) return 'jobgate:limit:' .. q .. ':starts' end

-- One EXISTS per script call answers for every queue while no queue is capped (the usual case).
local function is_limited(q)
  if any_limited == nil then any_limited = redis.call('EXISTS', LIMITED) == 1 end
  if not any_limited then return false end
  limited = limited or {}
  if limited[q] == nil then limited[q] = redis.call('SISMEMBER', LIMITED, q) == 1 end
  return limited[q]
end

-- How many more jobs of `q` may start now, at most `want` (`want` when it has no limits).
local function limit_room(q, want)
  if not is_limited(q) then return want end
  local l = redis.call('HMGET', k_limit(q), 'concurrency', 'rate_max', 'rate_per')
  local room = want
  if l[1] then room = math.min(room, tonumber(l[1]) - redis.call('ZCARD', k_wip(q))) end
  if l[2] then
    redis.call('ZREMRANGEBYSCORE', k_limit_starts(q), '-inf', '(' .. num(NOW - tonumber(l[3])))
    room = math.min(room, tonumber(l[2]) - redis.call('ZCARD', k_limit_starts(q)))
  end
  return math.max(room, 0)
end

-- Lease starts count against a rate limit's window: the leases' tokens are
-- tokens[first..last].
local function limit_started(q, tokens, first, last)
  if last < first or not is_limited(q) then return end
  local entries = {}
  for i = first, last do
    entries[#entries + 1] = NOW
    entries[#entries + 1] = tokens[i]
  end
  redis.call('ZADD', k_limit_starts(q), unpack(entries))
  redis.call('EXPIRE', k_limit_starts(q), 86400)
end

-- A job of a limited queue ended its lease: a waiting lease on any gateway may take the next.
local function limit_freed(q)
  if is_limited(q) and redis.call('LLEN', k_queue(q)) > 0 then redis.call('PUBLISH', READY_CHANNEL, q) end
end

-- Lease members of rq:wip:<q>, '<id>:<token>', that match a glob (ids and tokens hold no glob
-- characters, so `id .. ':*'` or `'*:' .. token` is exact), paged with ZSCAN since the registry
-- may be long; `first_only` stops at the first.
local function lease_members(q, match, first_only)
  local members, cursor = {}, '0'
  repeat
    local page = redis.call('ZSCAN', k_wip(q), cursor, 'MATCH', match, 'COUNT', 1000)
    cursor = page[1]
    for i = 1, #page[2], 2 do members[#members + 1] = page[2][i] end
  until cursor == '0' or (first_only and #members > 0)
  return members
end

-- RQ's scheduled registry holds whole seconds; rounding up means a job never runs early.
local function add_scheduled(id, q, at)
  local whole = math.ceil(at)
  redis.call('ZADD', k_scheduled(q), whole, id)
  return whole
end

local function schedule(id, q, at)
  redis.call('HSET', k_job(id), 'status', 'scheduled')
  return add_scheduled(id, q, at)
end

-- The lease named by (id, token), if it still holds the job: returns the queue, the wip member,
-- the job's values of the fields named after `take` (read in the same HMGET), its worker_name
-- ('' for none) and its rate-limit key (limit_key's answer); or nil and the error (NOT_FOUND,
-- WRONG_TYPE for a key the outcome would write, STOPPED, LEASE_LOST). A lease
-- holds the job while its entry is in the queue's started registry, past its expiry too until
-- a sweep takes it back, so heartbeat, ack, fail and release agree on it. With `take`, the
-- lease is also ended (the ZREM is the check).
local function held_lease(id, token, take, ...)
  local f = redis.call('HMGET', k_job(id), 'origin', 'worker_name', 'rate_limit_key', 'rate_limit_concurrency', ...)
  local q, w, slot = f[1], f[2] or '', limit_key(f[3], f[4])
  if not q then return nil, 'NOT_FOUND no job ' .. id end
  local bad_key = queue_keys_error(q) or (w ~= '' and worker_keys_error(w)) or (slot and limit_keys_error(slot))
  if bad_key then return nil, bad_key end
  local member = id .. ':' .. token
  local held
  if take then
    held = redis.call('ZREM', k_wip(q), member) == 1
    if held then limit_freed(q) end
  else
    held = redis.call('ZSCORE', k_wip(q), member) ~= false
  end
  if not held then
    if redis.call('HGET', k_job(id), 'jobgate_stopped_lease') == token then
      return nil, 'STOPPED job ' .. id .. ' was stopped while this lease held it; stop working on it'
    end
    return nil, 'LEASE_LOST the lease on job ' .. id .. ' expired and was taken back, or was reassigned'
  end
  for _ = 1, 4 do table.remove(f, 1) end
  return q, member, f, w, slot
end

-- A job reached a final state: wake `result` requests waiting for it, on any gateway. Only a
-- job a `result` request marked (jobgate_awaited) publishes, so a plain ack pays nothing; a
-- caller that has already read the mark passes it.
local function announce_done(id, awaited)
  if awaited == nil then awaited = redis.call('HGET', k_job(id), 'jobgate_awaited') end
  if awaited then redis.call('PUBLISH', DONE_CHANNEL, id) end
end

-- After `id` finished (or failed for good, `parent_failed`): queue each deferred dependent
-- whose dependencies are all done. Done means finished, or, for a dependent enqueued with RQ's
-- allow_failure, also failed, stopped or canceled. A dependency whose hash is gone finished and
-- expired, or was deleted: it no longer holds anything back. After a success the dependents set
-- has done its job; after a failure it keeps the dependents still waiting for a rerun. A ready
-- dependent whose queue or rate-limit keys another program wrote stays deferred (WRONG_TYPE:
-- nothing may be half done), and so does the set, naming it.
local function release_dependents(id, parent_failed)
  local key = k_dependents(id)
  local children = redis.call('SMEMBERS', key)
  if #children == 0 then return end
  local kept = false
  for _, child in ipairs(children) do
    local f = redis.call('HMGET', k_job(child), 'status', 'origin', 'enqueue_at_front', 'allow_dependency_failures',
      'rate_limit_key', 'rate_limit_concurrency')
    local tolerant = f[4] == '1'
    if f[1] == 'deferred' and (tolerant or not parent_failed) then
      local ready = true
      for _, parent in ipairs(redis.call('SMEMBERS', k_dependencies(child))) do
        if parent ~= id then
          local st = redis.call('HGET', k_job(parent), 'status')
          local done = not st or st == 'finished' or
            (tolerant and (st == 'failed' or st == 'stopped' or st == 'canceled'))
          if not done then ready = false; break end
        end
      end
      local slot = limit_key(f[5], f[6])
      if ready and (queue_keys_error(f[2]) or (slot and limit_keys_error(slot))) then
        kept = true
      elseif ready then
        redis.call('ZREM', k_deferred(f[2]), child)
        enter_queue(child, f[2], f[3] == '1', f[5], f[6])
        if parent_failed then redis.call('SREM', key, child) end
      end
    end
  end
  if not parent_failed and not kept then redis.call('DEL', key) end
end

-- A job's hash and its newest result entry, as flat field lists; nil when there is no such job.
local function read_job(id)
  local fields = redis.call('HGETALL', k_job(id))
  if #fields == 0 then return nil end
  local latest = redis.call('XREVRANGE', k_results(id), '+', '-', 'COUNT', 1)
  local result = {}
  if #latest > 0 then result = latest[1][2] end
  return fields, result
end

local function expire_or_persist(key, ttl)
  if ttl == -1 then redis.call('PERSIST', key) else redis.call('EXPIRE', key, ttl) end
end

-- A named worker's lease as RQ shows one: the worker hash (`rq info` lists it, busy, with its
-- current job: RQ 2 reads current_job, RQ 3 the worker's executions set; `peer`, the lease's
-- connection, as its ip_address) and the execution keys. They outlive the lease by a minute, as
-- RQ's do.
local function execution_started(w, queues, peer, id, token, expires)
  local ttl = math.ceil(expires - NOW) + 60
  local wkey = k_worker(w)
  if redis.call('EXISTS', wkey) == 0 then
    redis.call('HSET', wkey, 'birth', NOW_TS, 'successful_job_count', 0, 'failed_job_count', 0)
  end
  redis.call('HSET', wkey, 'name', w, 'queues', table.concat(queues, ','), 'state', 'busy',
    'current_job', id, 'last_heartbeat', NOW_TS, 'version', 'jobgate', 'ip_address', peer)
  redis.call('EXPIRE', wkey, math.max(ttl, 480))
  redis.call('SADD', 'rq:workers', wkey)
  for _, q in ipairs(queues) do redis.call('SADD', 'rq:workers:' .. q, wkey) end
  redis.call('HSET', k_execution(id, token), 'id', token, 'job_id', id, 'created_at', NOW_NUM,
    'last_heartbeat', NOW_NUM, 'worker_name', w)
  redis.call('EXPIRE', k_execution(id, token), ttl)
  redis.call('ZADD', k_executions(id), SEC + ttl, token)
  redis.call('EXPIRE', k_executions(id), ttl)
  redis.call('SADD', k_worker_executions(w), id .. ':' .. token)
  redis.call('EXPIRE', k_worker_executions(w), ttl)
end

local function execution_extended(w, id, token, expires)
  local ttl = math.ceil(expires - NOW) + 60
  redis.call('HSET', k_execution(id, token), 'last_heartbeat', NOW_NUM)
  redis.call('EXPIRE', k_execution(id, token), ttl)
  redis.call('ZADD', k_executions(id), SEC + ttl, token)
  redis.call('EXPIRE', k_executions(id), ttl)
  redis.call('HSET', k_worker(w), 'last_heartbeat', NOW_TS)
  redis.call('EXPIRE', k_worker(w), math.max(ttl, 480))
  redis.call('EXPIRE', k_worker_executions(w), ttl)
end

-- A lease ended (settled, expired or deleted): its execution goes, and its named worker is idle
-- again unless it has moved on to another job. `w` is the job's worker_name when the caller
-- has already read it. `counted`, when the attempt finished or failed, is the worker's counter
-- RQ's `rq info` shows ('successful_job_count' or 'failed_job_count'; RQ counts every failed
-- attempt, retried or not).
local function execution_ended(id, token, w, counted)
  if w == nil then w = redis.call('HGET', k_job(id), 'worker_name') end
  if not w or w == '' then return end
  redis.call('DEL', k_execution(id, token))
  redis.call('ZREM', k_executions(id), token)
  redis.call('SREM', k_worker_executions(w), id .. ':' .. token)
  -- Only a live worker hash counts: HINCRBY would make one without its expiry.
  if counted and redis.call('EXISTS', k_worker(w)) == 1 then redis.call('HINCRBY', k_worker(w), counted, 1) end
  if redis.call('HGET', k_worker(w), 'current_job') == id then
    redis.call('HDEL', k_worker(w), 'current_job')
    redis.call('HSET', k_worker(w), 'state', 'idle')
  end
end

-- The attempt ended the job: failed (its allow_failure dependents may go on), or stopped (kept
-- in the failed registry too, as RQ keeps it; its dependents stay deferred, as RQ leaves them).
local function fail_job(id, q, token, exc_zlib, exc_b64, status)
  status = status or 'failed'
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'failure_ttl', 'rate_limit_key', 'rate_limit_concurrency')
  local ttl = tonumber(f[1]) or DEFAULT_FAILURE_TTL
  redis.call('HSET', job, 'status', status, 'ended_at', NOW_TS, 'exc_info', exc_zlib)
  -- Microseconds in the score keep the registry in failure order (RQ only compares it with now).
  redis.call('ZADD', k_failed(q), ttl == -1 and '+inf' or string.format('%.6f', NOW + ttl), id)
  redis.call('XADD', k_results(id), 'MAXLEN', '~', 10, '*', 'type', 2, 'exc_string', exc_b64,
    'execution_id', token, 'execution_ended_at', NOW_NUM)
  expire_or_persist(job, ttl)
  expire_or_persist(k_results(id), ttl)
  if status == 'failed' then release_dependents(id, true) end
  free_slot(id, limit_key(f[2], f[3]))
  announce_done(id)
end

-- A failed attempt: again later while retries are left (RQ's interval rule), else failed.
-- Returns the new state, the retries left and, when scheduled, when it runs again.
local function retry_or_fail(id, q, token, allow_retry, exc_zlib, exc_b64)
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'retries_left', 'retry_intervals', 'enqueue_at_front_on_retry',
    'rate_limit_key', 'rate_limit_concurrency')
  local left = tonumber(f[1]) or 0
  if allow_retry and left > 0 then
    local delay = 0
    if f[2] then
      local ok, intervals = pcall(cjson.decode, f[2])
      if ok and type(intervals) == 'table' and #intervals > 0 then
        delay = tonumber(intervals[math.max(#intervals - left, 0) + 1]) or 0
      end
    end
    redis.call('HSET', job, 'retries_left', left - 1, 'exc_info', exc_zlib)
    if delay > 0 then
      local at = schedule(id, q, NOW + delay)
      free_slot(id, limit_key(f[4], f[5]))
      return 'scheduled', left - 1, at
    end
    enqueue_now(id, q, f[3] == '1')  -- straight back: it keeps its slot
    return 'queued', left - 1
  end
  fail_job(id, q, token, exc_zlib, exc_b64)
  return 'failed', math.max(left, 0)
end

-- Starts a script call: reads the clock and forgets what the last call learned. The scripts
-- may be loaded as a Redis function library, whose top level runs once, at load: so nothing
-- above reads Redis or keeps state of its own between calls.
local function begin_call()
  local t = redis.call('TIME')
  SEC, USEC = tonumber(t[1]), tonumber(t[2])
  NOW = SEC + USEC / 1000000
  NOW_TS, NOW_NUM = rq_ts(SEC, USEC), num(NOW)
  forget_cached()
end
