-- pause.lua: pauses or resumes leasing from a queue (enqueues still land in it).
-- KEYS: none (derived).
-- ARGV: A.queue, A.paused ('1' to pause, '0' to resume).
-- Returns the number of jobs waiting in the queue.

local q = ARGV[A.queue]
local pausing = ARGV[A.paused] == '1'
if pausing then
  redis.call('SADD', PAUSED, q)
else
  redis.call('SREM', PAUSED, q)
end
forget_cached()
register_queue(q)
local waiting = redis.call('LLEN', k_queue(q))
-- Waiting leases on every gateway look again now that the queue can give.
if not pausing and waiting > 0 then redis.call('PUBLISH', READY_CHANNEL, q) end
return waiting
