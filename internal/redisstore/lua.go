package redisstore

// The counting scripts. Times are Redis TIME in microseconds (instance
// clocks differ; Redis's is the one clock all instances share), floored
// at the newest time the counter has seen so that a failover to a server
// whose clock lags cannot reorder a window. Every script starts with a
// shebang and no flags, so Redis refuses it whole, before it runs, when
// maxmemory is reached: a counter is never half updated (judgeScript then
// answers what it can without writing).
//
// Counter keys (one hash tag, so one slot): meta (a hash: k kind, r rule,
// u sealed subject, l limit, w window, h hold, t newest time, q sequence,
// lu locked until), a (sorted set: rate hits, distinct values, or lockout
// failures, scored by time) and b (lockout reservations, member = token).
// Numbers are formatted with %.0f: Lua's own tostring would round them.

const luaPrelude = `#!lua
local function clock(meta)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('HGET', meta, 't') or '0')
  if last > now then now = last end
  return now
end
local function f(n) return string.format('%.0f', n) end
local function keep(ttl, ...)
  local ms = math.ceil(ttl / 1000) + 1000
  for _, k in ipairs({...}) do redis.call('PEXPIRE', k, ms) end
end
`

// takeScript: KEYS meta, a. ARGV limit, window, rule, sealed.
// Returns {allowed, count, retry_after_us, time, sequence}: the last two
// name the hit recorded (its member, time:sequence, for TakeHit's
// GiveBack), 0 when refused.
var takeScript = newScript(luaPrelude + `
local meta, a = KEYS[1], KEYS[2]
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = clock(meta)
redis.call('ZREMRANGEBYSCORE', a, '-inf', f(now - window))
local n = redis.call('ZCARD', a)
if n >= limit then
  local o = redis.call('ZRANGE', a, 0, 0, 'WITHSCORES')
  return {0, n, tonumber(o[2]) + window - now, 0, 0}
end
local q = redis.call('HINCRBY', meta, 'q', 1)
redis.call('ZADD', a, f(now), f(now) .. ':' .. q)
redis.call('HSET', meta, 't', f(now), 'k', 'rate', 'r', ARGV[3], 'u', ARGV[4], 'l', limit, 'w', f(window))
keep(window, meta, a)
return {1, n + 1, 0, now, q}
`)

// distinctScript: KEYS meta, a. ARGV limit, window, member, rule, sealed.
// Returns {allowed, count, retry_after_us}.
var distinctScript = newScript(luaPrelude + `
local meta, a = KEYS[1], KEYS[2]
local limit, window, v = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local now = clock(meta)
redis.call('ZREMRANGEBYSCORE', a, '-inf', f(now - window))
if not redis.call('ZSCORE', a, v) then
  local n = redis.call('ZCARD', a)
  if n >= limit then
    local o = redis.call('ZRANGE', a, 0, 0, 'WITHSCORES')
    return {0, n, tonumber(o[2]) + window - now}
  end
end
redis.call('ZADD', a, f(now), v)
redis.call('HSET', meta, 't', f(now), 'k', 'distinct', 'r', ARGV[4], 'u', ARGV[5], 'l', limit, 'w', f(window))
keep(window, meta, a)
return {1, redis.call('ZCARD', a), 0}
`)

// luaLockout is shared by reserve and settle: pruning and the TTL.
const luaLockout = `
local meta, a, b = KEYS[1], KEYS[2], KEYS[3]
local limit, window, lockfor, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function prune(now)
  redis.call('ZREMRANGEBYSCORE', a, '-inf', f(now - window))
  redis.call('ZREMRANGEBYSCORE', b, '-inf', f(now - hold))
end
-- seq is the lockout's next token. A new counter's sequence starts at the
-- time: an admin clear (or the keys' expiry) starts it again, and an
-- attempt still in flight from before must not settle, by its token, a
-- reservation made since.
local function seq(now)
  if redis.call('HEXISTS', meta, 'q') == 0 then redis.call('HSET', meta, 'q', f(now)) end
  return redis.call('HINCRBY', meta, 'q', 1)
end
local function save(now, lu)
  redis.call('HSET', meta, 't', f(now), 'k', 'lockout', 'r', ARGV[5], 'u', ARGV[6], 'l', limit, 'w', f(window), 'h', f(hold))
  local ttl = math.max(window, hold)
  if lu > now and lu - now > ttl then ttl = lu - now end
  keep(ttl, meta, a, b)
end
`

// reserveScript: KEYS meta, a (failures), b (reservations). ARGV limit,
// window, lock_for, hold, rule, sealed. Returns {allowed, count,
// retry_after_us, locked, token}.
var reserveScript = newScript(luaPrelude + luaLockout + `
local now = clock(meta)
prune(now)
local lu = tonumber(redis.call('HGET', meta, 'lu') or '0')
local n = redis.call('ZCARD', a) + redis.call('ZCARD', b)
if lu > now then return {0, n, lu - now, 1, 0} end
if n >= limit then
  local t = -1
  local o = redis.call('ZRANGE', b, 0, 0, 'WITHSCORES')
  if o[2] then t = tonumber(o[2]) + hold end
  local p = redis.call('ZRANGE', a, 0, 0, 'WITHSCORES')
  if p[2] then
    local u = tonumber(p[2]) + window
    if t < 0 or u < t then t = u end
  end
  return {0, n, t - now, 0, 0}
end
local tok = seq(now)
redis.call('ZADD', b, f(now), tok)
save(now, lu)
return {1, n + 1, 0, 0, tok}
`)

// settleScript: KEYS meta, a, b. ARGV limit, window, lock_for, hold, rule,
// sealed, token, settlement (0 release, 1 failure, 2 success). Returns 1.
var settleScript = newScript(luaPrelude + luaLockout + `
local tok, st = ARGV[7], ARGV[8]
if st ~= '1' and redis.call('EXISTS', meta) == 0 then return 1 end
local now = clock(meta)
if tok ~= '0' then redis.call('ZREM', b, tok) end
prune(now)
local lu = tonumber(redis.call('HGET', meta, 'lu') or '0')
if st == '1' then
  local q = seq(now)
  redis.call('ZADD', a, f(now), f(now) .. ':' .. q)
  if redis.call('ZCARD', a) >= limit then
    -- Locked: the failures are spent; after the lock the user starts
    -- again with a full allowance.
    lu = now + lockfor
    redis.call('HSET', meta, 'lu', f(lu))
    redis.call('DEL', a)
  end
elseif st == '2' then
  redis.call('DEL', a)
  redis.call('HDEL', meta, 'lu')
  lu = 0
end
save(now, lu)
return 1
`)

// judgeScript judges a take, a distinct take or a lockout reservation
// without recording it, for a call Redis refused at maxmemory: a read-only
// script still runs there (no-writes implies allow-oom), so a user already
// locked or a client already over its limit stays refused, as in the
// memory store, while only what would need a write gets on_full. KEYS
// meta, a, b. ARGV kind (rate, distinct, lockout), limit, window, then
// the member (distinct) or the hold (lockout). Returns {state, count,
// retry_after_us, locked}: state 1 refused, 2 allowed without a write (a
// distinct value already counted), 0 would need a write.
var judgeScript = newScript(`#!lua flags=no-writes
local meta, a, b = KEYS[1], KEYS[2], KEYS[3]
local kind, limit, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('HGET', meta, 't') or '0')
if last > now then now = last end
` + luaReadCounter + `
if kind == 'distinct' then
  local s = redis.call('ZSCORE', a, ARGV[4])
  if s and tonumber(s) > now - window then return {2, live(a, window), 0, 0} end
end
local hold, lu = 0, 0
if kind == 'lockout' then
  hold, lu = tonumber(ARGV[4]), tonumber(redis.call('HGET', meta, 'lu') or '0')
end
local n, refused, retry, locked = judge(kind, limit, window, hold, lu)
if refused then return {1, n, retry, locked} end
return {0, n, 0, 0}
`)

// peekScript reads a counter for the admin view without changing it.
// KEYS meta, a, b. Returns {kind, rule, sealed, limit, count, limited,
// retry_after_us, locked_until_us} or nil when the counter is gone.
var peekScript = newScript(`#!lua flags=no-writes
local meta, a, b = KEYS[1], KEYS[2], KEYS[3]
local h = redis.call('HMGET', meta, 'k', 'r', 'u', 'l', 'w', 'h', 'lu')
if not h[1] then return nil end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
` + luaReadCounter + `
local limit, hold, lu = tonumber(h[4]), tonumber(h[6] or '0'), 0
if h[1] == 'lockout' then lu = tonumber(h[7] or '0') end
local n, refused, retry = judge(h[1], limit, tonumber(h[5]), hold, lu)
if lu <= now then lu = 0 end
if not refused then retry = 0 end
return {h[1], h[2], h[3], limit, n, refused and 1 or 0, retry, f(lu)}
`)

// luaReadCounter reads a counter without writing, for judgeScript and
// peekScript, which define meta, a, b and now before it: live counts the
// members of a sorted set within span of now (what the counting scripts'
// pruning keeps), oldest says when the oldest of them leaves it, and
// judge says what the counter would answer now: its count, whether it
// refuses, for how long, and whether that is a lockout's lock (1 or 0).
const luaReadCounter = `
local function f(n) return string.format('%.0f', n) end
local function live(k, span)
  return redis.call('ZCOUNT', k, '(' .. f(now - span), '+inf')
end
local function oldest(k, span)
  local o = redis.call('ZRANGEBYSCORE', k, '(' .. f(now - span), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if o[2] then return tonumber(o[2]) + span end
  return -1
end
local function judge(kind, limit, window, hold, lu)
  local n = live(a, window)
  if kind == 'lockout' then
    n = n + live(b, hold)
    if lu > now then return n, true, lu - now, 1 end
    if n >= limit then
      local x, y = oldest(b, hold), oldest(a, window)
      if x < 0 or (y >= 0 and y < x) then x = y end
      return n, true, x - now, 0
    end
    return n, false, 0, 0
  end
  if n >= limit then return n, true, oldest(a, window) - now, 0 end
  return n, false, 0, 0
end
`
