-- job.lua: one consistent read of a job and its latest result.
-- KEYS: none (derived).
-- ARGV: 1 id.
-- Returns {job hash as a flat field/value list, latest result entry's fields (or {})};
-- nil when there is no such job.

local id = ARGV[1]
local fields = redis.call('HGETALL', k_job(id))
if #fields == 0 then return nil end
local latest = redis.call('XREVRANGE', k_results(id), '+', '-', 'COUNT', 1)
local result = {}
if #latest > 0 then result = latest[1][2] end
return {fields, result}
