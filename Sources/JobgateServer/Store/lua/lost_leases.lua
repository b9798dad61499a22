-- lost_leases.lua: finds the leases a lease call may have made while the gateway stopped
-- waiting for its answer (Redis stalled past the command timeout, or the connection broke):
-- the gateway made their tokens, and nobody holds them.
-- KEYS: none (derived).
-- ARGV: A.queue_count, then that many queue names, then the tokens.
-- Returns the lease members found, '<id>:<token>'. Each token is looked for with a ZSCAN of
-- each queue's rq:wip (MATCH '*:<token>': tokens are hex), paged: the registry may be long, and
-- this runs only after such a failure.

local nq = tonumber(ARGV[A.queue_count])
local found = {}
for t = A.tail + nq, #ARGV do
  for i = 1, nq do
    local cursor = '0'
    repeat
      local page = redis.call('ZSCAN', k_wip(ARGV[A.tail + i - 1]), cursor, 'MATCH', '*:' .. ARGV[t], 'COUNT', 1000)
      cursor = page[1]
      for j = 1, #page[2], 2 do found[#found + 1] = page[2][j] end
    until cursor == '0'
  end
end
return found
