-- dispatch.lua: runs a batch of ops in one script call. The gateway gathers the ops that
-- arrive in one turn of its event loop (from any number of clients) and sends them together:
-- Redis then pays its per-call costs (a round trip, the clock, the AOF's MULTI/EXEC) once per
-- batch instead of once per op. Each op still runs whole, in order, and no other client's
-- command can run between them.
-- Loaded after the prelude and after every op script wrapped as OPS[n] = function(ARGV) ... end.
-- KEYS: none.
-- ARGV: repeated per op: op number (its index in OPS), m (its argument count), its m arguments.
-- Returns one reply per op: what the op returned (nil as a nil reply), or an error reply if it
-- raised one (the ops before and after it still ran).

local replies = {}
local i = 1
while i <= #ARGV do
  local op, m = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local args = {}
  for j = 1, m do args[j] = ARGV[i + 1 + j] end
  local ok, reply = pcall(OPS[op], args)
  if not ok then
    reply = redis.error_reply(type(reply) == 'table' and reply.err or tostring(reply))
  elseif reply == nil then
    reply = false
  end
  replies[#replies + 1] = reply
  i = i + 2 + m
end
return replies
