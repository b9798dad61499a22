-- await.lua: reads a job for `result`; if it has not reached a final state, marks it awaited
-- (field jobgate_awaited) so the script that ends it publishes its id on jobgate:done.
-- KEYS: none (derived).
-- ARGV: A.id.
-- Returns a row (R.final: 1 if the job has reached a final state, else 0; R.hash and R.result as
-- job.lua's); nil when there is no such job.

local id = ARGV[A.id]
local fields, result = read_job(id)
if not fields then return nil end
local status = redis.call('HGET', k_job(id), 'status')
local final = status == 'finished' or status == 'failed' or status == 'canceled' or status == 'stopped'
if not final then redis.call('HSET', k_job(id), 'jobgate_awaited', '1') end
local row = new_row()
row[R.final], row[R.hash], row[R.result] = final and 1 or 0, fields, result
return row
