-- release.lua: gives a leased job back without spending a retry.
-- KEYS: none (derived).
-- ARGV: A.id, A.lease (token), A.delay (seconds; '' or 0 = back at the front of its queue now),
--   A.undelivered ('1' when the lease's reply never reached its client: the attempt the lease
--   counted is taken back).
-- Returns a row (R.state, R.run_at); NOT_FOUND or LEASE_LOST as errors.

local id, token = ARGV[A.id], ARGV[A.lease]
local q, member, _, w, slot = held_lease(id, token, true)
if not q then return redis.error_reply(member) end
execution_ended(id, token, w)
if ARGV[A.undelivered] == '1' then redis.call('HINCRBY', k_job(id), 'jobgate_attempts', -1) end
local delay = tonumber(ARGV[A.delay]) or 0
local row = new_row()
if delay > 0 then
  row[R.state], row[R.run_at] = 'scheduled', schedule(id, q, NOW + delay)
  free_slot(id, slot)  -- a rate-limited job waits in line again when it is due
else
  enqueue_now(id, q, true)  -- it keeps its rate-limit slot
  row[R.state], row[R.run_at] = 'queued', false
end
return row
