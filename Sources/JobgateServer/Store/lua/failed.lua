-- failed.lua: one page of a queue's failed registry, oldest first.
-- KEYS: none (derived).
-- ARGV: A.queue, A.offset, A.limit.
-- Returns {total, jobs}: the registry's size, and a row per job (R.id, R.hash, R.result as
-- job.lua's); registry entries whose job hash has expired are skipped.

local q, offset, limit = ARGV[A.queue], tonumber(ARGV[A.offset]), tonumber(ARGV[A.limit])
local jobs = {}
for _, id in ipairs(redis.call('ZRANGE', k_failed(q), offset, offset + limit - 1)) do
  local fields, result = read_job(id)
  if fields then
    local row = {}
    row[R.id], row[R.hash], row[R.result] = id, fields, result
    jobs[#jobs + 1] = row
  end
end
return {redis.call('ZCARD', k_failed(q)), jobs}
