-- schedule.lua: creates or replaces a schedule; the same definition again changes nothing.
-- KEYS: none (derived: SCHEDULES and k_schedule, see the prelude).
-- ARGV: A.name; A.cron, A.every, A.tz ('' when not given); A.job (the job object as given, JSON
--   text, for listings); A.run_at (the first run, whole Unix seconds, which the gateway computed
--   from Redis's clock); then, from A.tail, the job's arguments in enqueue.lua's layout (its id
--   left empty), kept MessagePack-encoded for schedules_fire.lua to enqueue.
-- Returns a row: R.state ('created', 'replaced' or 'unchanged') and R.run_at (the next run now
-- stored, as text; an unchanged schedule keeps its own, and a replaced one keeps its last_job).

local name = ARGV[A.name]
local key = k_schedule(name)
local definition = {'cron', ARGV[A.cron], 'every', ARGV[A.every], 'tz', ARGV[A.tz], 'job', ARGV[A.job],
  'enqueue', cmsgpack.pack({unpack(ARGV, A.tail)})}
local stored = redis.call('HMGET', key, 'cron', 'every', 'tz', 'job', 'enqueue')
local run_at = redis.call('ZSCORE', SCHEDULES, name)
local state = 'created'
if run_at and stored[5] then
  state = 'unchanged'
  for i = 1, 5 do
    if stored[i] ~= definition[2 * i] then state = 'replaced' end
  end
end
if state ~= 'unchanged' then
  redis.call('HSET', key, unpack(definition))
  run_at = ARGV[A.run_at]
  redis.call('ZADD', SCHEDULES, run_at, name)
end
local row = new_row()
row[R.state] = state
row[R.run_at] = run_at
return row
