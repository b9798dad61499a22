-- await.lua: reads a job for `result`; if it has not reached a final state, marks it awaited
-- (field jobgate_awaited) so the script that ends it publishes its id on jobgate:done.
-- KEYS: none (derived).
-- ARGV: 1 id.
-- Returns {1 if final else 0, job fields, latest result fields}; nil when there is no such job.

local id = ARGV[1]
local j = read_job(id)
if not j then return nil end
local status = redis.call('HGET', k_job(id), 'status')
if status == 'finished' or status == 'failed' or status == 'canceled' or status == 'stopped' then
  return {1, j[1], j[2]}
end
redis.call('HSET', k_job(id), 'jobgate_awaited', '1')
return {0, j[1], j[2]}
