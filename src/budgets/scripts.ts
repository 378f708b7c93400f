/**
 * Every Lua script Tollgate runs, each beside its SHA-1 (see src/lib/redis.ts runScript). Money in
 * these scripts is integer nano-USD: Lua numbers are doubles and Redis truncates them, so nothing
 * here ever works with fractions.
 */
import type { LuaScript } from "../lib/redis";

/** /health: proves the script path (EVALSHA → EVAL) and returns the server clock (seconds). */
export const HEALTH_SCRIPT: LuaScript = {
  name: "health",
  source: "return tonumber(redis.call('TIME')[1])",
  sha1: "937f606f926ae44e175e50b0b599db430f06ac6e",
};

/** ADMIT: key check, per-key rate limits, every applicable budget rule checked and the worst case reserved on all hard rules at once — or one refusal. */
export const ADMIT_SCRIPT: LuaScript = {
  name: "admit",
  source: `-- ADMIT: one call before forwarding. KEYS: 1 gateway key hash, 2 the account's rules hash,
-- 3/4 requests-per-minute window (current/previous), 5/6 tokens-per-minute window (current/previous).
-- ARGV: 1 now ms, 2 reservation id, 3 worst-case nano (integer string), 4 estimated tokens,
-- 5 reservation expiry ms, 6 account key prefix "tg:{acc}:", 7 ms elapsed in the rate window,
-- 8..13 day/week/month period key and counter lifetime (s from now), 14 lifetime (s) of "total"
-- reservation sets, 15 n, then n pairs (scope type, value). Times a Worker sends (now, reservation
-- expiry) are only compared with each other; what Redis expires by itself gets a lifetime, never
-- an instant, so a Worker clock skewed from Redis's cannot write a key that is already expired.
local key = redis.call('HMGET', KEYS[1], 'id', 'revoked', 'lim', 'rpm', 'tpm')
if not key[1] or not key[3] then return {'key_unknown'} end
if key[2] == '1' then return {'key_revoked'} end

local now = tonumber(ARGV[1])
local worst = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local elapsed = tonumber(ARGV[7])
local W = 60000

-- Sliding window counter: the previous minute weighs what is left of it, so a burst across a
-- minute boundary cannot reach twice the limit (a fixed window allows that). Returns nil or ms to wait.
local function limited(limit, curKey, prevKey, cost)
  if limit <= 0 then return nil end
  local cur = tonumber(redis.call('GET', curKey) or '0')
  local prev = tonumber(redis.call('GET', prevKey) or '0')
  if prev * (W - elapsed) + (cur + cost) * W <= limit * W then return nil end
  if cost > limit then return -1 end
  local wait
  if cur + cost <= limit then
    wait = W - math.floor((limit - cur - cost) * W / prev) - elapsed
  else
    local need = 0
    if cur > 0 then need = W - math.floor((limit - cost) * W / cur) end
    if need < 0 then need = 0 end
    wait = (W - elapsed) + need
  end
  if wait < 1 then wait = 1 end
  return wait
end

local rpm = tonumber(key[4] or '0') or 0
local tpm = tonumber(key[5] or '0') or 0
local wait = limited(rpm, KEYS[3], KEYS[4], 1)
if wait then return {'rate_limited', 'rpm', rpm, wait} end
if tokens > 0 then
  wait = limited(tpm, KEYS[5], KEYS[6], tokens)
  if wait then return {'rate_limited', 'tpm', tpm, wait} end
end

-- Every rule that applies, with one HMGET: per scope type its own field and its "*" field.
local n = tonumber(ARGV[15])
local fields = {'__v'}
local scopes = {}
for i = 1, n do
  local s = {t = ARGV[14 + 2 * i], v = ARGV[15 + 2 * i]}
  if s.t == 'account' then
    fields[#fields + 1] = 'account|'
    s.own = #fields
  else
    if s.v ~= '*' then
      fields[#fields + 1] = s.t .. '|' .. s.v
      s.own = #fields
    end
    fields[#fields + 1] = s.t .. '|*'
    s.any = #fields
  end
  scopes[i] = s
end
local got = redis.call('HMGET', KEYS[2], unpack(fields))
if not got[1] then return {'rules_unknown'} end

local pk = {day = ARGV[8], week = ARGV[10], month = ARGV[12], total = 'total'}
local px = {day = ARGV[9], week = ARGV[11], month = ARGV[13], total = '0'}
local P = ARGV[6]
local entries = {}
local function add(encoded, s, scopeId, member, skip)
  local periods = {}
  for r in string.gmatch(encoded, '[^;]+') do
    local id, period, cap, mode, alerts = string.match(r, '^([^,]*),([^,]*),([^,]*),([^,]*),(.*)$')
    if id and pk[period] and not (skip and skip[period]) then
      periods[period] = true
      local base = id .. ':' .. pk[period]
      entries[#entries + 1] = {id = id, t = s.t, scopeId = scopeId, v = s.v, member = member, period = period,
        cap = cap, mode = mode, alerts = alerts, bz = P .. 'bz:' .. base, br = P .. 'br:' .. base}
    end
  end
  return periods
end
for _, s in ipairs(scopes) do
  local own = {}
  if s.own and got[s.own] then own = add(got[s.own], s, s.v, '_', nil) end
  -- A scope's own rule for a period replaces the "*" rule of that period.
  if s.any and got[s.any] then add(got[s.any], s, '*', s.v, own) end
end

-- Check every hard rule first; nothing is written unless all of them admit the call.
local remaining = -1
for _, e in ipairs(entries) do
  if e.mode == 'hard' then
    local cap = tonumber(e.cap)
    -- Reservations whose Worker never settled stop counting at their expiry.
    local expired = redis.call('ZRANGEBYSCORE', e.bz, '-inf', now)
    if #expired > 0 then
      for _, m in ipairs(expired) do
        local amt, mem = string.match(m, '^[^|]*|(%d+)|(.*)$')
        if amt and redis.call('HINCRBY', e.br, mem, -tonumber(amt)) <= 0 then redis.call('HDEL', e.br, mem) end
      end
      redis.call('ZREMRANGEBYSCORE', e.bz, '-inf', now)
    end
    local spent = tonumber(redis.call('HGET', P .. 'bs:' .. e.id .. ':' .. pk[e.period], e.member) or '0')
    local reserved = tonumber(redis.call('HGET', e.br, e.member) or '0')
    if worst > cap or spent + reserved + worst > cap then
      local why = 'cap'
      if worst > cap then why = 'over_cap' end
      return {'denied', e.id, e.t, e.scopeId, e.v, e.period, pk[e.period], e.cap, spent, reserved, why}
    end
    local left = cap - spent - reserved - worst
    if remaining < 0 or left < remaining then remaining = left end
  end
end

-- Reserve the worst case on every hard rule at once. Member: "<reservation id>|<amount>|<member>".
for _, e in ipairs(entries) do
  if e.mode == 'hard' then
    redis.call('ZADD', e.bz, ARGV[5], ARGV[2] .. '|' .. ARGV[3] .. '|' .. e.member)
    redis.call('HINCRBY', e.br, e.member, worst)
    local x = px[e.period]
    if x == '0' then x = ARGV[14] end
    redis.call('EXPIRE', e.bz, x)
    redis.call('EXPIRE', e.br, x)
  end
end
if rpm > 0 then
  redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], 2 * W)
end
if tpm > 0 and tokens > 0 then
  redis.call('INCRBY', KEYS[5], tokens)
  redis.call('PEXPIRE', KEYS[5], 2 * W)
end

local out = {}
for i, e in ipairs(entries) do
  out[i] = {e.id, e.t, e.scopeId, e.v, e.member, e.period, pk[e.period], e.cap, e.mode, e.alerts}
end
return {'ok', remaining, out}
`,
  sha1: "759c9ab76e1e976d8ad7ded59005bb57ecaae3d2",
};

/** SETTLE: drop the reservation, add the actual cost on every rule, return the thresholds crossed for the first time this period. Idempotent per reservation id. */
export const SETTLE_SCRIPT: LuaScript = {
  name: "settle",
  source: `-- SETTLE: one call after the response. KEYS: 1 the reservation's settled marker, 2 the
-- tokens-per-minute window the call was counted in. ARGV: 1 reservation id, 2 reserved nano
-- (the string admit used), 3 actual nano, 4 marker TTL s, 5 token correction (actual - estimated),
-- 6 account key prefix, 7 n, then per rule: id, member, period key, mode, alerts, counter lifetime
-- (s from now, "0" = keep forever).
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then return {'duplicate'} end
local actual = tonumber(ARGV[3])
local delta = tonumber(ARGV[5])
if delta ~= 0 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCRBY', KEYS[2], delta) end
local P = ARGV[6]
local crossed = {}
for i = 0, tonumber(ARGV[7]) - 1 do
  local o = 8 + i * 6
  local id, member, pk, mode, alerts, x = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5]
  local base = id .. ':' .. pk
  -- An expired reservation was already subtracted when it was swept: ZREM says whether it is ours to drop.
  if mode == 'hard' and redis.call('ZREM', P .. 'bz:' .. base, ARGV[1] .. '|' .. ARGV[2] .. '|' .. member) == 1 then
    local br = P .. 'br:' .. base
    if redis.call('HINCRBY', br, member, -tonumber(ARGV[2])) <= 0 then redis.call('HDEL', br, member) end
  end
  local bs = P .. 'bs:' .. base
  local spent = redis.call('HINCRBY', bs, member, actual)
  if x ~= '0' then redis.call('EXPIRE', bs, x) end
  for pct, amt in string.gmatch(alerts, '(%d+):(%d+)') do
    if spent >= tonumber(amt) then
      local mk = P .. 'ba:' .. base .. ':' .. pct .. ':' .. member
      local set
      if x ~= '0' then set = redis.call('SET', mk, '1', 'NX', 'EX', x) else set = redis.call('SET', mk, '1', 'NX') end
      if set then crossed[#crossed + 1] = {id, member, pk, tonumber(pct), spent} end
    end
  end
end
return {'ok', crossed}
`,
  sha1: "cc6f67bba819c914eba474a93d18fb8ea43ed31d",
};

/** STATUS: exact spent and reserved per rule for the APIs. */
export const STATUS_SCRIPT: LuaScript = {
  name: "budget-status",
  source: `-- STATUS: exact spent and reserved of rules for the APIs (expired reservations swept first).
-- ARGV: 1 now ms, 2 account key prefix, 3 n, then per rule: id, period key, member ("_", or "*" = every value).
local now = tonumber(ARGV[1])
local P = ARGV[2]
local out = {}
for i = 0, tonumber(ARGV[3]) - 1 do
  local id, pk, member = ARGV[4 + i * 3], ARGV[5 + i * 3], ARGV[6 + i * 3]
  local base = id .. ':' .. pk
  local bz, br, bs = P .. 'bz:' .. base, P .. 'br:' .. base, P .. 'bs:' .. base
  local expired = redis.call('ZRANGEBYSCORE', bz, '-inf', now)
  if #expired > 0 then
    for _, m in ipairs(expired) do
      local amt, mem = string.match(m, '^[^|]*|(%d+)|(.*)$')
      if amt and redis.call('HINCRBY', br, mem, -tonumber(amt)) <= 0 then redis.call('HDEL', br, mem) end
    end
    redis.call('ZREMRANGEBYSCORE', bz, '-inf', now)
  end
  if member == '*' then
    out[#out + 1] = {redis.call('HGETALL', bs), redis.call('HGETALL', br)}
  else
    out[#out + 1] = {{member, redis.call('HGET', bs, member) or '0'}, {member, redis.call('HGET', br, member) or '0'}}
  end
end
return out
`,
  sha1: "64f9e10f69be8f46be1dd8374653bbce59b17c28",
};

/** RULES_LOAD: rebuild an account's rules hash from Postgres (after a miss). */
export const RULES_LOAD_SCRIPT: LuaScript = {
  name: "rules-load",
  source: `-- RULES_LOAD: replace an account's rules hash. KEYS: 1 rules hash. ARGV: 1 stamp, then field/value pairs.
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '__v', ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`,
  sha1: "7990252a481118b642d6542cb5a60d5f5666378a",
};

/** RULES_PUT: rewrite one scope's rules after an admin change. */
export const RULES_PUT_SCRIPT: LuaScript = {
  name: "rules-put",
  source: `-- RULES_PUT: rewrite one scope's field after an admin change, only in a loaded hash (an unloaded
-- one is rebuilt whole from Postgres by the next call). KEYS: 1 rules hash. ARGV: 1 field, 2 value ("" = none).
if redis.call('HEXISTS', KEYS[1], '__v') == 0 then return 0 end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`,
  sha1: "0bd65e768e96146a5616ab3f13ad2f023581b77b",
};

export const ALL_SCRIPTS: LuaScript[] = [
  HEALTH_SCRIPT,
  ADMIT_SCRIPT,
  SETTLE_SCRIPT,
  STATUS_SCRIPT,
  RULES_LOAD_SCRIPT,
  RULES_PUT_SCRIPT,
];
