-- schedules.lua: the schedules, soonest next run first, or only the one named; and Redis's clock.
-- KEYS: none (derived, see the prelude).
-- ARGV: A.name: one schedule's name, or '' for all of them.
-- Returns {now (Unix seconds as text), rows}, a row per schedule: R.name; R.cron, R.every and
-- R.tz (nil when not given); R.run_at (the next run, whole Unix seconds as text, 'inf' when it
-- never runs again); R.last_job (nil before the first run); R.job (the job object as given).

local listed
if ARGV[A.name] == '' then
  listed = redis.call('ZRANGE', SCHEDULES, 0, -1, 'WITHSCORES')
else
  local run_at = redis.call('ZSCORE', SCHEDULES, ARGV[A.name])
  listed = run_at and {ARGV[A.name], run_at} or {}
end
local rows = {}
for i = 1, #listed, 2 do
  local f = redis.call('HMGET', k_schedule(listed[i]), 'cron', 'every', 'tz', 'last_job', 'job')
  local row = new_row()
  row[R.name] = listed[i]
  row[R.cron] = f[1] ~= '' and f[1]
  row[R.every] = f[2] ~= '' and f[2]
  row[R.tz] = f[3] ~= '' and f[3]
  row[R.run_at] = listed[i + 1]
  row[R.last_job] = f[4]
  row[R.job] = f[5] or '{}'
  rows[#rows + 1] = row
end
return {NOW_NUM, rows}
