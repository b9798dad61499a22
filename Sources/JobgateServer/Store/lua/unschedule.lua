-- unschedule.lua: removes a schedule (the jobs it enqueued stay).
-- KEYS: none (derived, see the prelude).
-- ARGV: A.name.
-- Returns 1, or a NOT_FOUND error when there is no such schedule.

local name = ARGV[A.name]
local removed = redis.call('ZREM', SCHEDULES, name) + redis.call('DEL', k_schedule(name))
if removed == 0 then return redis.error_reply('NOT_FOUND no schedule ' .. name) end
return 1
