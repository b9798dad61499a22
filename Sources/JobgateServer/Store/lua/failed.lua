-- failed.lua: one page of a queue's failed registry, oldest first.
-- KEYS: none (derived).
-- ARGV: 1 queue, 2 offset, 3 limit.
-- Returns {total, {{id, job fields, latest result fields}, ...}}; registry entries whose job
-- hash has expired are skipped.

local q, offset, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, id in ipairs(redis.call('ZRANGE', k_failed(q), offset, offset + limit - 1)) do
  local j = read_job(id)
  if j then out[#out + 1] = {id, j[1], j[2]} end
end
return {redis.call('ZCARD', k_failed(q)), out}
