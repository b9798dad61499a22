-- fail.lua: a leased job's attempt failed.
-- KEYS: none (derived).
-- ARGV: A.id, A.lease (token), A.exc_info (the error text zlib-compressed, RQ's exc_info),
--   A.exc_string (base64 of that, RQ's exc_string), A.retry ('1' to retry while retries are
--   left, '0' to fail now).
-- Returns a row (R.state, R.retries_left, R.retry_at, R.queue); NOT_FOUND or LEASE_LOST as errors.

local id, token = ARGV[A.id], ARGV[A.lease]
local q, member, _, w = held_lease(id, token, true)
if not q then return redis.error_reply(member) end
execution_ended(id, token, w, 'failed_job_count')
local row = new_row()
row[R.state], row[R.retries_left], row[R.retry_at] =
  retry_or_fail(id, q, token, ARGV[A.retry] == '1', ARGV[A.exc_info], ARGV[A.exc_string])
row[R.retry_at] = row[R.retry_at] or false
row[R.queue] = q
return row
