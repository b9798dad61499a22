-- job.lua: one consistent read of a job and its latest result.
-- KEYS: none (derived).
-- ARGV: A.id.
-- Returns a row (R.hash: the job hash as a flat field/value list, R.result: the latest
-- result entry's fields, or {}); nil when there is no such job.

local fields, result = read_job(ARGV[A.id])
if not fields then return nil end
local row = new_row()
row[R.hash], row[R.result] = fields, result
return row
