-- heartbeat.lua: a lease holder is still at work: the lease is pushed out, and the job's meta
-- (RQ's `meta` field, which job.get_meta() and rq-dashboard show) may be replaced or get a
-- progress figure.
-- KEYS: none (derived).
-- ARGV: A.id, A.lease (token), A.extend (seconds; '' = the lease's own length, '0' = leave the
--   expiry as it is), A.meta (a JSON object replacing the job's meta; '' = keep it), A.progress
--   (a number stored as meta's "progress"; '' = none).
-- Returns a row (R.expires_at: Unix seconds, text; R.shutdown: 1 when RQ's shutdown command was
-- sent to the lease's named worker); NOT_FOUND, LEASE_LOST or STOPPED as error replies.

local id, token = ARGV[A.id], ARGV[A.lease]
local q, member, f, w = held_lease(id, token, false, 'jobgate_lease', 'meta')
if not q then return redis.error_reply(member) end
local row = new_row()
local extend = ARGV[A.extend]
if tonumber(extend) == 0 then
  row[R.expires_at] = num(tonumber(redis.call('ZSCORE', k_wip(q), member)))
else
  local expires = NOW + (tonumber(extend) or tonumber(f[1]) or DEFAULT_TIMEOUT)
  redis.call('ZADD', k_wip(q), 'XX', num(expires), member)
  if w ~= '' then execution_extended(w, id, token, expires) end
  row[R.expires_at] = num(expires)
end
local fields = {'last_heartbeat', NOW_TS}
local meta = ARGV[A.meta]
if ARGV[A.progress] ~= '' then
  local ok, decoded = pcall(cjson.decode, meta ~= '' and meta or f[2] or '{}')
  if not ok or type(decoded) ~= 'table' then decoded = {} end
  decoded.progress = tonumber(ARGV[A.progress])
  meta = cjson.encode(decoded)
end
if meta ~= '' then
  fields[#fields + 1] = 'meta'
  fields[#fields + 1] = meta
end
redis.call('HSET', k_job(id), unpack(fields))
row[R.shutdown] = (w ~= '' and redis.call('EXISTS', 'jobgate:shutdown:' .. w)) or 0
return row
