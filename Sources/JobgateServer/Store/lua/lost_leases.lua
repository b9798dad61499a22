-- lost_leases.lua: finds the leases a lease call may have made while the gateway stopped
-- waiting for its answer (Redis stalled past the command timeout, or the connection broke):
-- the gateway made their tokens, and nobody holds them.
-- KEYS: none (derived).
-- ARGV: A.queue_count, then that many queue names, then the tokens.
-- Returns the lease members found, '<id>:<token>'. Each token is looked for with a ZSCAN of
-- each queue's rq:wip (lease_members), which runs only after such a failure.

local nq = tonumber(ARGV[A.queue_count])
local found = {}
for t = A.tail + nq, #ARGV do
  for i = 1, nq do
    for _, member in ipairs(lease_members(ARGV[A.tail + i - 1], '*:' .. ARGV[t], false)) do found[#found + 1] = member end
  end
end
return found
