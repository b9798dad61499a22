-- schedules_fire.lua: fires due schedules, each once however many gateways try.
-- KEYS: none (derived, see the prelude).
-- ARGV: A.job_id_at: where enqueue.lua's arguments hold the job id; then, from A.tail, three per
--   schedule: its name, the due time schedules_due.lua returned (text, unchanged), and the run
--   that follows it (whole Unix seconds, '' for never), which the gateway computed.
-- A schedule whose stored next run is no longer that due time is left alone: another gateway
-- fired it first, or it was replaced or removed meanwhile. Otherwise its job for that run,
-- with the id `<name>-<due>`, is made by enqueue.lua itself (run_op), exactly as an `enqueue`
-- would make it (a queue that was empty wakes waiting leases), unless a job with that id
-- already exists; and the following run is stored.
-- Returns a row per schedule: R.job (the job's id, false when left alone) and R.outcome
-- ('fired', 'exists' or 'raced').

local out = {}
for i = A.tail, #ARGV, 3 do
  local name, due, following = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local row = new_row()
  row[R.job] = false
  row[R.outcome] = 'raced'
  local key = k_schedule(name)
  local stored = redis.call('HGET', key, 'enqueue')
  if stored and redis.call('ZSCORE', SCHEDULES, name) == due then
    local id = name .. '-' .. due
    local job = cmsgpack.unpack(stored)
    job[tonumber(ARGV[A.job_id_at])] = id
    -- enqueue.lua answers flat rows, whose first field is the job's state, or an error reply.
    local state = run_op('enqueue', job)[1]
    row[R.job] = id
    if type(state) == 'table' and state.err then
      row[R.outcome] = 'exists'
    else
      row[R.outcome] = 'fired'
      redis.call('HSET', key, 'last_job', id)
    end
    redis.call('ZADD', SCHEDULES, following == '' and '+inf' or following, name)
  end
  out[#out + 1] = row
end
return out
