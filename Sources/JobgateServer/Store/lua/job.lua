-- job.lua: one consistent read of a job and its latest result.
-- KEYS: none (derived).
-- ARGV: 1 id.
-- Returns {job hash as a flat field/value list, latest result entry's fields (or {})};
-- nil when there is no such job.

return read_job(ARGV[1])
