-- dispatch.lua: runs a batch of ops in one script call. The gateway gathers the ops that
-- arrive together, from any number of clients, and sends them in one call:
-- Redis then pays its per-call costs (a round trip, the clock, the AOF's MULTI/EXEC) once per
-- batch instead of once per op. Each op still runs whole, in order, and no other client's
-- command can run between them.
-- Loaded after the prelude and `run_op(name, ARGV)`, which runs the named script's file as a
-- function with ARGV as its arguments (see Script.swift). What follows it calls dispatch:
-- `return dispatch(ARGV)` for EVAL, or a function registered under the library's name.
-- KEYS: none.
-- ARGV: repeated per op: script name, m (its argument count), its m arguments.
-- Returns one reply per op: what the op returned (nil as a nil reply), or an error reply if it
-- raised one (the ops before and after it still ran).

local function dispatch(ARGV)
  begin_call()
  local replies = {}
  local i = 1
  while i <= #ARGV do
    local op, m = ARGV[i], tonumber(ARGV[i + 1])
    -- Made whole by unpack, not grown one by one (growing costs Redis time), except for a
    -- batch too large for Lua's stack.
    local args
    if m <= 2000 then
      args = {unpack(ARGV, i + 2, i + 1 + m)}
    else
      args = {}
      for j = 1, m do args[j] = ARGV[i + 1 + j] end
    end
    local ok, reply = pcall(run_op, op, args)
    if not ok then
      reply = redis.error_reply(type(reply) == 'table' and reply.err or tostring(reply))
    elseif reply == nil then
      reply = false
    end
    replies[#replies + 1] = reply
    i = i + 2 + m
  end
  return replies
end
