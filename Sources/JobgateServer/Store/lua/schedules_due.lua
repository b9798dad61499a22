-- schedules_due.lua: the schedules whose next run has come, for the gateway to work out what
-- follows each (the cron and time-zone arithmetic is in Swift) before schedules_fire.lua.
-- KEYS: none (derived, see the prelude).
-- ARGV: A.limit: at most this many, the longest due first.
-- Returns {now (Unix seconds as text), rows}, a row per due schedule: R.name; R.due (its stored
-- next run, as text, which schedules_fire.lua compares with); R.cron, R.every, R.tz ('' when
-- not given).

local due = redis.call('ZRANGEBYSCORE', SCHEDULES, '-inf', NOW_NUM, 'WITHSCORES', 'LIMIT', 0, ARGV[A.limit])
local rows = {}
for i = 1, #due, 2 do
  local f = redis.call('HMGET', k_schedule(due[i]), 'cron', 'every', 'tz')
  local row = new_row()
  row[R.name] = due[i]
  row[R.due] = due[i + 1]
  row[R.cron] = f[1] or ''
  row[R.every] = f[2] or ''
  row[R.tz] = f[3] or ''
  rows[#rows + 1] = row
end
return {NOW_NUM, rows}
