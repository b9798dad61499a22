-- fail.lua: a leased job's attempt failed.
-- KEYS: none (derived).
-- ARGV: 1 id, 2 lease token, 3 error text zlib-compressed (RQ's exc_info),
--   4 base64 of that (RQ's exc_string), 5 '1' to retry while retries are left, '0' to fail now.
-- Returns {state, retries_left, retry_at}; NOT_FOUND or LEASE_LOST as errors.

local id, token = ARGV[1], ARGV[2]
local q, member, f = held_lease(id, token, true, {'worker_name'})
if not q then return redis.error_reply(member) end
execution_ended(id, token, f[1] or false)
return retry_or_fail(id, q, token, ARGV[5] == '1', ARGV[3], ARGV[4])
