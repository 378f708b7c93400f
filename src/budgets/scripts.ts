/**
 * Every Lua script Tollgate runs, each beside its SHA-1 (run by src/lib/redis.ts runScript, which
 * falls back from EVALSHA to EVAL). Money in these scripts is integer nano-USD: Lua numbers are
 * doubles and Redis truncates them, so nothing here ever works with fractions (caps stay below
 * 2^53, src/budgets/rules.ts MAX_CAP_NANO).
 *
 * Conventions, so a reader never counts positions:
 *   - every KEYS and ARGV slot is named in a local at the top of its script;
 *   - replies are flat name/value lists ({'status', 'ok', 'remaining', 12, …}), decoded by name in
 *     src/budgets/replies.ts;
 *   - times a Worker sends (now, hold expiries, waiter deadlines) are only compared with each
 *     other; what Redis expires by itself gets a lifetime in seconds, never an instant, so a
 *     Worker whose clock is off from Redis's cannot write a key that is already expired.
 * The layout of the keys is in src/budgets/keys.ts; the protocol (hold, wait, settle, expiry) in
 * src/budgets/README.md.
 */
import { WALLET_LUA } from "../billing/lua";
import type { LuaScript } from "../lib/redis";

/**
 * Lua shared by the budget scripts (pasted in front of each: a script cannot call another).
 *
 * rule_entry: one applicable rule as the scripts pass it around; its keys derive from the prefix.
 * sweep: holds whose Worker never settled stop counting at their expiry.
 * standing: where a call of cost `worst` stands against one hard rule — 'over_cap' (its worst case
 *   alone is more than the cap), 'cap' (settled spend + worst case > cap: it cannot fit this
 *   period even if every hold in flight came back at zero), 'in_flight' (it fits once holds in
 *   flight settle), 'throttled' (past the rule's throttle mark calls go one at a time), or nil
 *   (it fits now).
 * hold: reserve `worst` on a rule for a ticket until `expiresAt`.
 * drop_waiter: a waiting call leaves every queue it stood in (its rules', and its wallet's: `wt`).
 *
 * The wallet functions (a prepaid tenant's credit, held and settled with the budgets) are
 * src/billing/lua.ts, pasted after these.
 */
const COMMON = `
local function rule_entry(P, id, pk, member, cap, throttle, life)
  local base = id .. ':' .. pk
  return {id = id, pk = pk, member = member, cap = tonumber(cap), throttle = tonumber(throttle), life = life,
    bs = P .. 'bs:' .. base, br = P .. 'br:' .. base, bz = P .. 'bz:' .. base,
    bq = P .. 'bq:' .. base .. ':' .. member}
end

local function sweep(e, now)
  local expired = redis.call('ZRANGEBYSCORE', e.bz, '-inf', now)
  if #expired == 0 then return end
  for _, m in ipairs(expired) do
    local amt, mem = string.match(m, '^[^|]*|(%d+)|(.*)$')
    if amt and redis.call('HINCRBY', e.br, mem, -tonumber(amt)) <= 0 then redis.call('HDEL', e.br, mem) end
  end
  redis.call('ZREMRANGEBYSCORE', e.bz, '-inf', now)
end

local function counters(e)
  return tonumber(redis.call('HGET', e.bs, e.member) or '0'), tonumber(redis.call('HGET', e.br, e.member) or '0')
end

local function standing(e, spent, reserved, worst)
  if worst > e.cap then return 'over_cap' end
  if spent + worst > e.cap then return 'cap' end
  if spent + reserved + worst > e.cap then return 'in_flight' end
  if e.throttle > 0 and reserved > 0 and spent + reserved >= e.throttle then return 'throttled' end
  return nil
end

local function hold(e, ticket, worstStr, expiresAt)
  redis.call('ZADD', e.bz, expiresAt, ticket .. '|' .. worstStr .. '|' .. e.member)
  redis.call('HINCRBY', e.br, e.member, tonumber(worstStr))
  redis.call('EXPIRE', e.bz, e.life)
  redis.call('EXPIRE', e.br, e.life)
end

local function waiter_rules(P, w)
  local list = {}
  for i = 1, tonumber(w.n or '0') do
    list[i] = rule_entry(P, w['i' .. i], w['p' .. i], w['m' .. i], w['c' .. i], w['t' .. i], w['l' .. i])
  end
  return list
end

local function drop_waiter(P, ticket, rules, wt)
  for _, e in ipairs(rules) do redis.call('ZREM', e.bq, ticket) end
  if wt then redis.call('ZREM', P .. 'wq:' .. wt, ticket) end
  redis.call('DEL', P .. 'bw:' .. ticket)
end

local function hash(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end
`;

/** /health: proves the script path (EVALSHA → EVAL) and returns the server clock (seconds). */
export const HEALTH_SCRIPT: LuaScript = {
  name: "health",
  source: "return tonumber(redis.call('TIME')[1])",
  sha1: "937f606f926ae44e175e50b0b599db430f06ac6e",
};

/**
 * ADMIT: the key check, per-key rate limits, every applicable budget rule and — for a prepaid
 * tenant — its wallet checked; then the worst case held on all hard rules and the rated worst case
 * on the wallet at once, or the call queued to wait for holds in flight, or one refusal. A
 * waiter's last attempt (`final`) first takes a hand-off a settle left it.
 */
export const ADMIT_SCRIPT: LuaScript = {
  name: "admit",
  source: `-- ADMIT (src/budgets/admit.ts)
local keyHash = KEYS[1]       -- the gateway key's hash: id, revoked, lim, rpm, tpm, mw
local rulesKey = KEYS[2]      -- the account's rules hash (src/budgets/rules.ts)
local rpmKey, rpmPrevKey = KEYS[3], KEYS[4]   -- requests this minute / the previous minute
local tpmKey, tpmPrevKey = KEYS[5], KEYS[6]   -- tokens this minute / the previous minute
local now = tonumber(ARGV[1])                 -- the Worker's clock, ms
local ticket = ARGV[2]                        -- the reservation id, also the waiter's ticket
local worstStr = ARGV[3]                      -- the call's worst case, nano-USD
local worst = tonumber(worstStr)
local tokens = tonumber(ARGV[4])              -- tokens counted against tokens-per-minute now
local holdMs = tonumber(ARGV[5])              -- how long a hold counts without a settle
local P = ARGV[6]                             -- the account's key prefix, "tg:{acc}:"
local elapsed = tonumber(ARGV[7])             -- ms into the current rate-limit minute
local periodKey = {day = ARGV[8], week = ARGV[10], month = ARGV[12], total = 'total'}
local periodLife = {day = ARGV[9], week = ARGV[11], month = ARGV[13], total = ARGV[14]}  -- seconds
local waitArg = tonumber(ARGV[15])            -- ms this call may wait; -1: the key's own setting
local unpriced = ARGV[16] == '1'              -- nothing can price the model
local final = ARGV[17] == '1'                 -- a waiter's last attempt: never waits again
local probe = ARGV[18] == '1'                 -- a tighter worst case can be had: ask for it rather than wait or refuse
local wTenant = ARGV[19]                      -- the tenant whose wallet may apply ('' = none: no tenant, or not metered)
local wWorstStr = ARGV[20]                    -- the call's rated worst case under the tenant's plan, nano-USD
local wWorst = tonumber(wWorstStr)
local wUnrated = ARGV[21] == '1'              -- the tenant's plan cannot rate the call (its model is unpriced)
local n = tonumber(ARGV[22])                  -- then n pairs: scope type, value
local DEFAULT_WAIT_MS, MAX_WAITERS, W = 5000, 1000, 60000
${COMMON}
${WALLET_LUA}
local key = redis.call('HMGET', keyHash, 'id', 'revoked', 'lim', 'rpm', 'tpm', 'mw')
if not key[1] or not key[3] then return {'status', 'key_unknown'} end
if key[2] == '1' then return {'status', 'key_revoked'} end

-- Sliding window counter: the previous minute weighs what is left of it, so a burst across a
-- minute boundary cannot reach twice the limit. Returns nil, or ms to wait (-1: never fits).
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
-- A waiter's last attempt was counted when it first arrived.
if not final then
  local wait = limited(rpm, rpmKey, rpmPrevKey, 1)
  if wait then return {'status', 'rate_limited', 'limit', 'rpm', 'limit_value', rpm, 'wait_ms', wait} end
  if tokens > 0 then
    wait = limited(tpm, tpmKey, tpmPrevKey, tokens)
    if wait then return {'status', 'rate_limited', 'limit', 'tpm', 'limit_value', tpm, 'wait_ms', wait} end
  end
end

-- Every rule that applies, with one HMGET: per scope type its own field and its "*" field.
local fields = {'__v'}
local scopes = {}
for i = 1, n do
  local s = {t = ARGV[21 + 2 * i], v = ARGV[22 + 2 * i]}
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
local got = redis.call('HMGET', rulesKey, unpack(fields))
if not got[1] then return {'status', 'rules_unknown'} end

local entries, hard = {}, {}
local function add(encoded, s, scopeId, member, skip)
  local periods = {}
  for r in string.gmatch(encoded, '[^;]+') do
    local id, period, cap, mode, throttle, alerts = string.match(r, '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),(.*)$')
    if id and periodKey[period] and not (skip and skip[period]) then
      periods[period] = true
      local e = rule_entry(P, id, periodKey[period], member, cap, throttle, periodLife[period])
      e.t, e.scopeId, e.v, e.period, e.mode, e.alerts = s.t, scopeId, s.v, period, mode, alerts
      entries[#entries + 1] = e
      if mode == 'hard' then hard[#hard + 1] = e end
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

local function describe(e)
  return {'rule', e.id, 'scope_type', e.t, 'scope_id', e.scopeId, 'value', e.v, 'member', e.member,
    'period', e.period, 'period_key', e.pk, 'cap', e.cap, 'mode', e.mode, 'alerts', e.alerts}
end
local function entry_list()
  local out = {}
  for i, e in ipairs(entries) do out[i] = describe(e) end
  return out
end
local function remaining()
  local least = -1
  for _, e in ipairs(hard) do
    local spent, reserved = counters(e)
    local left = e.cap - spent - reserved
    if least < 0 or left < least then least = left end
  end
  return least
end

-- A waiter's last attempt: a settle may have handed it a hold already; else it leaves the queues.
if final then
  local woke = redis.call('LPOP', P .. 'bk:' .. ticket)
  if woke == 'ok' then return {'status', 'ok', 'remaining', remaining(), 'handed_off', 1, 'entries', entry_list()} end
  local w = hash(P .. 'bw:' .. ticket)
  if w then drop_waiter(P, ticket, waiter_rules(P, w), w.wt) end
end

if unpriced and #hard > 0 then
  local reply = {'status', 'unpriced'}
  for _, x in ipairs(describe(hard[1])) do reply[#reply + 1] = x end
  return reply
end

-- Check every hard rule first; nothing is written unless all of them admit the call. A rule that
-- can never fit refuses at once; one that fits once holds in flight settle makes the call wait.
local blocked, blockedWhy
for _, e in ipairs(hard) do
  sweep(e, now)
  local spent, reserved = counters(e)
  local why = standing(e, spent, reserved, worst)
  -- Nothing written yet: the Worker counts the input exactly and comes back with that worst case.
  if why and probe then return {'status', 'tighten', 'reason', why} end
  if why == 'over_cap' or why == 'cap' then
    local reply = {'status', 'denied', 'reason', why, 'spent', spent, 'reserved', reserved, 'throttle', e.throttle}
    for _, x in ipairs(describe(e)) do reply[#reply + 1] = x end
    return reply
  end
  if why and not blocked then blocked, blockedWhy = e, why end
end

-- A prepaid tenant (one that ever received a grant) needs live credit for the call's rated worst
-- case: refused at once when its settled balance cannot cover it, waiting when holds in flight
-- leave too little available; the hold is made below with the budgets' (docs/billing.md §5).
local wl, wst, walletWhy
if wTenant ~= '' then
  local idx = redis.call('HMGET', P .. 'wallets', '__v', wTenant)
  if not idx[1] then return {'status', 'wallets_unknown'} end
  if idx[2] then
    wl = wallet_entry(P, wTenant)
    if redis.call('HEXISTS', wl.w, '__v') == 0 then return {'status', 'wallet_unknown'} end
    if wUnrated then return {'status', 'wallet_unpriced'} end
    wallet_sweep(wl, now)
    wst = wallet_read(wl, now)
    walletWhy = wallet_standing(wst, wWorst)
    if walletWhy and probe then return {'status', 'tighten', 'reason', walletWhy} end
  end
end
local function wallet_denial(why)
  return {'status', 'insufficient_credits', 'reason', why, 'settled', wst.settled, 'reserved', wst.reserved,
    'required', wWorst}
end
if walletWhy == 'balance' then return wallet_denial(walletWhy) end

local function count_rates()
  if rpm > 0 then
    redis.call('INCR', rpmKey)
    redis.call('PEXPIRE', rpmKey, 2 * W)
  end
  if tpm > 0 and tokens > 0 then
    redis.call('INCRBY', tpmKey, tokens)
    redis.call('PEXPIRE', tpmKey, 2 * W)
  end
end

if blocked or walletWhy then
  local spent, reserved = 0, 0
  if blocked then spent, reserved = counters(blocked) end
  local waitMs = waitArg
  if waitMs < 0 then waitMs = tonumber(key[6] or '') or DEFAULT_WAIT_MS end
  local full = (blocked and redis.call('ZCARD', blocked.bq) >= MAX_WAITERS)
    or (walletWhy and redis.call('ZCARD', wl.wq) >= MAX_WAITERS)
  if final or waitMs <= 0 or full then
    if not blocked then return wallet_denial(walletWhy) end
    local reply = {'status', 'denied', 'reason', blockedWhy, 'spent', spent, 'reserved', reserved,
      'throttle', blocked.throttle}
    for _, x in ipairs(describe(blocked)) do reply[#reply + 1] = x end
    return reply
  end
  -- Wait: a waiter record a settle can hand a hold to, and the ticket in every hard rule's queue.
  local bw = P .. 'bw:' .. ticket
  local record = {'worst', worstStr, 'hold_ms', holdMs, 'deadline', now + waitMs, 'key', key[1], 'n', #hard}
  for i, e in ipairs(hard) do
    for _, x in ipairs({'i' .. i, e.id, 'p' .. i, e.pk, 'm' .. i, e.member, 'c' .. i, e.cap, 't' .. i, e.throttle,
      'l' .. i, e.life}) do record[#record + 1] = x end
  end
  -- The wallet, when it applies: a settle hands off a hold on it too (wt: tenant, ww: its hold).
  if wl then
    for _, x in ipairs({'wt', wTenant, 'ww', wWorstStr}) do record[#record + 1] = x end
  end
  redis.call('HSET', bw, unpack(record))
  local life = math.ceil(waitMs / 1000) + 60
  redis.call('EXPIRE', bw, life)
  for _, e in ipairs(hard) do
    redis.call('ZADD', e.bq, now, ticket)
    redis.call('EXPIRE', e.bq, life)
  end
  if wl then
    redis.call('ZADD', wl.wq, now, ticket)
    redis.call('EXPIRE', wl.wq, life)
  end
  count_rates()
  local reply = {'status', 'wait', 'wait_ms', waitMs, 'reason', blockedWhy or walletWhy, 'spent', spent,
    'reserved', reserved, 'entries', entry_list()}
  if wl then for _, x in ipairs({'wallet_held', wWorst}) do reply[#reply + 1] = x end end
  if blocked then
    for _, x in ipairs({'throttle', blocked.throttle}) do reply[#reply + 1] = x end
    for _, x in ipairs(describe(blocked)) do reply[#reply + 1] = x end
  end
  return reply
end

-- Hold the worst case on every hard rule at once. Member: "<ticket>|<amount>|<member>".
for _, e in ipairs(hard) do hold(e, ticket, worstStr, now + holdMs) end
if not final then count_rates() end
local reply = {'status', 'ok', 'remaining', remaining(), 'entries', entry_list()}
if wl then
  wallet_hold(wl, wst, ticket, wWorstStr, now + holdMs)
  for _, x in ipairs({'wallet_held', wWorst, 'wallet_available', wst.settled - wst.reserved}) do reply[#reply + 1] = x end
end
return reply
`,
  sha1: "da1a8f63b11b3db0f60cf64cc60b115fa146d712",
};

/**
 * SETTLE: drop the hold, add the actual cost on every rule, return the thresholds crossed for the
 * first time this period; rate the call under its tenant's plan and debit a prepaid tenant's
 * wallet (returning the wallet thresholds the debit crossed and a top-up request); then hand the
 * room the holds leave to the calls waiting on those rules and that wallet, oldest first.
 * Idempotent per reservation id.
 */
export const SETTLE_SCRIPT: LuaScript = {
  name: "settle",
  source: `-- SETTLE (src/budgets/settle.ts)
local settledKey = KEYS[1]          -- set once: a retried settle is a no-op
local tpmKey = KEYS[2]              -- the tokens-per-minute window the call was counted in
local ticket = ARGV[1]              -- the reservation id
local heldStr = ARGV[2]             -- exactly what admit held (the string it used)
local actual = tonumber(ARGV[3])    -- the call's actual cost, nano-USD
local markLife = ARGV[4]            -- seconds the settled marker lives
local tokenDelta = tonumber(ARGV[5])  -- actual tokens − estimated
local P = ARGV[6]                   -- the account's key prefix
local now = tonumber(ARGV[7])       -- the Worker's clock, ms
local wTenant = ARGV[8]             -- the prepaid tenant whose wallet is debited ('' = none)
local wHeldStr = ARGV[9]            -- exactly what admit held on that wallet ('' = no hold)
local program = ARGV[10]            -- the rating program (src/billing/rating.ts); '' = billed is the actual cost
local rsKey = ARGV[11]              -- the rating state (src/billing/keys.ts)
local rsLife = ARGV[12]             -- seconds the rating state lives
local billField = ARGV[13]          -- the request id the bill is kept under for the record ('' = keep none)
local billsLife = ARGV[14]          -- seconds the bills hash lives
local planVersion = ARGV[15]        -- the plan the call was rated under
local n = tonumber(ARGV[16])        -- then per rule: id, member, period key, mode, alerts, counter lifetime (s, "0" = forever)
-- Per freed rule, waiters are looked at oldest first until LATER of them still do not fit (the
-- ones that never will, or whose wait is over, are answered and leave: they do not count), and
-- never more than SCAN in all, which bounds the script.
local LATER, SCAN = 32, 1000
${COMMON}
${WALLET_LUA}
if not redis.call('SET', settledKey, '1', 'NX', 'EX', markLife) then return {'status', 'duplicate'} end
if tokenDelta ~= 0 and redis.call('EXISTS', tpmKey) == 1 then redis.call('INCRBY', tpmKey, tokenDelta) end

local crossed, freed = {}, {}
for i = 0, n - 1 do
  local o = 17 + i * 6
  local id, member, pk, mode, alerts, life = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5]
  local e = rule_entry(P, id, pk, member, 0, 0, life)
  -- An expired hold was already subtracted when it was swept: ZREM says whether it is ours to drop.
  if mode == 'hard' then
    if redis.call('ZREM', e.bz, ticket .. '|' .. heldStr .. '|' .. member) == 1 then
      if redis.call('HINCRBY', e.br, member, -tonumber(heldStr)) <= 0 then redis.call('HDEL', e.br, member) end
    end
    freed[#freed + 1] = e
  end
  local spent = redis.call('HINCRBY', e.bs, member, actual)
  if life ~= '0' then redis.call('EXPIRE', e.bs, life) end
  for pct, amt in string.gmatch(alerts, '(%d+):(%d+)') do
    if spent >= tonumber(amt) then
      local mk = P .. 'ba:' .. id .. ':' .. pk .. ':' .. pct .. ':' .. member
      local set
      if life ~= '0' then set = redis.call('SET', mk, '1', 'NX', 'EX', life) else set = redis.call('SET', mk, '1', 'NX') end
      if set then crossed[#crossed + 1] = {'rule', id, 'member', member, 'period_key', pk, 'pct', tonumber(pct), 'spent', spent} end
    end
  end
end

-- Billing (docs/billing.md §2, §5): the call's billed amount is the increment of its plan's period
-- price, and a prepaid tenant's wallet gives up its hold and is debited that amount across its live
-- grants in draw-down order; what they cannot cover is overage. The bill is kept for the record.
local billed, overage, draws, walletEvents, topup = actual, 0, {}, {}, {}
if program ~= '' then billed = rate_call(program, rsKey, actual, rsLife) end
local wallets = {}
if wTenant ~= '' then
  local wl = wallet_entry(P, wTenant)
  if redis.call('HEXISTS', wl.w, '__v') == 1 then
    if wHeldStr ~= '' then wallet_release(wl, ticket, wHeldStr) end
    wallet_sweep(wl, now)
    local st = wallet_read(wl, now)
    local before = st.settled
    draws, overage = wallet_debit(wl, st, billed)
    walletEvents, topup = wallet_crossings(wl, st, before)
    wallets[wTenant] = {e = wl, st = st}
    if wHeldStr ~= '' then freed[#freed + 1] = {bq = wl.wq} end
  else
    overage = billed
  end
end
if billField ~= '' then
  redis.call('HSET', P .. 'bills', billField, int(billed) .. '|' .. int(overage) .. '|' .. planVersion .. '|' .. table.concat(draws, ','))
  redis.call('EXPIRE', P .. 'bills', billsLife)
end
-- A waiter's wallet, read once per settle (holds made here update it).
local function wallet_of(tenant)
  if not wallets[tenant] then
    local e = wallet_entry(P, tenant)
    wallet_sweep(e, now)
    wallets[tenant] = {e = e, st = wallet_read(e, now)}
  end
  return wallets[tenant]
end

-- Hand-off: the waiters of each freed rule and wallet, oldest first, get a hold as soon as every
-- hard rule and the wallet they are under have room (and are told at once when one of them never
-- will). Each is woken by a push to its own list, which its Worker is blocked on (BLPOP): no polling.
local handed = 0
local function wake(t, what)
  local bk = P .. 'bk:' .. t
  redis.call('RPUSH', bk, what)
  redis.call('EXPIRE', bk, 60)
end
for _, q in ipairs(freed) do
  local later = 0
  for _, t in ipairs(redis.call('ZRANGE', q.bq, 0, SCAN - 1)) do
    if later >= LATER then break end
    local w = hash(P .. 'bw:' .. t)
    if not w then
      redis.call('ZREM', q.bq, t)
    else
      local rules = waiter_rules(P, w)
      local worst = tonumber(w.worst)
      local verdict = 'fits'
      if tonumber(w.deadline) < now then verdict = 'expired' end
      -- A key revoked while its call waited gets no hold (the revocation lists the key in the
      -- account's own slot, src/budgets/keys.ts): the call's last attempt then refuses it.
      if w.key and redis.call('SISMEMBER', P .. 'krev', w.key) == 1 then verdict = 'denied' end
      if verdict == 'fits' then
        for _, e in ipairs(rules) do
          sweep(e, now)
          local spent, reserved = counters(e)
          local why = standing(e, spent, reserved, worst)
          if why == 'over_cap' or why == 'cap' then verdict = 'denied' break end
          if why then verdict = 'later' end
        end
      end
      local ww
      if verdict ~= 'expired' and verdict ~= 'denied' and w.wt then
        ww = wallet_of(w.wt)
        local why = wallet_standing(ww.st, tonumber(w.ww))
        if why == 'balance' then verdict = 'denied' elseif why then verdict = 'later' end
      end
      if verdict == 'fits' then
        for _, e in ipairs(rules) do hold(e, t, w.worst, now + tonumber(w.hold_ms)) end
        if ww then wallet_hold(ww.e, ww.st, t, w.ww, now + tonumber(w.hold_ms)) end
        drop_waiter(P, t, rules, w.wt)
        wake(t, 'ok')
        handed = handed + 1
      elseif verdict == 'later' then
        later = later + 1
      else
        drop_waiter(P, t, rules, w.wt)
        wake(t, verdict)
      end
    end
  end
end
return {'status', 'ok', 'handed_off', handed, 'crossed', crossed, 'billed', billed, 'overage', overage,
  'draws', draws, 'wallet_events', walletEvents, 'topup', topup}
`,
  sha1: "4fd122588052b420f080b9e00d5ca87ef14335a8",
};

/** STATUS: exact spent and reserved of rules for the APIs (expired holds swept first). */
export const STATUS_SCRIPT: LuaScript = {
  name: "budget-status",
  source: `-- STATUS (src/budgets/status.ts)
local now = tonumber(ARGV[1])   -- the Worker's clock, ms
local P = ARGV[2]               -- the account's key prefix
local n = tonumber(ARGV[3])     -- then per rule: id, period key, member ("_", or "*" = every value)
${COMMON}
local out = {}
for i = 0, n - 1 do
  local id, pk, member = ARGV[4 + i * 3], ARGV[5 + i * 3], ARGV[6 + i * 3]
  local e = rule_entry(P, id, pk, member, 0, 0, '0')
  sweep(e, now)
  if member == '*' then
    out[#out + 1] = {'spent', redis.call('HGETALL', e.bs), 'reserved', redis.call('HGETALL', e.br)}
  else
    local spent, reserved = counters(e)
    out[#out + 1] = {'spent', {member, spent}, 'reserved', {member, reserved}}
  end
end
return out
`,
  sha1: "29f0213654821bdc6079f3910a6722c9242f4d08",
};

/** RULES_LOAD: rebuild an account's rules hash from Postgres (after a miss). */
export const RULES_LOAD_SCRIPT: LuaScript = {
  name: "rules-load",
  source: `-- RULES_LOAD: replace an account's rules hash.
local rulesKey = KEYS[1]   -- the account's rules hash
local stamp = ARGV[1]      -- written to __v: the hash is loaded
-- then field/value pairs
redis.call('DEL', rulesKey)
redis.call('HSET', rulesKey, '__v', stamp)
for i = 2, #ARGV, 2 do redis.call('HSET', rulesKey, ARGV[i], ARGV[i + 1]) end
return 1
`,
  sha1: "e7e0fb698de0a98da6d62456d71a5d3d08070713",
};

/** RULES_PUT: rewrite one scope's rules after an admin change. */
export const RULES_PUT_SCRIPT: LuaScript = {
  name: "rules-put",
  source: `-- RULES_PUT: rewrite one scope's field, only in a loaded hash (an unloaded one is rebuilt whole
-- from Postgres by the next call).
local rulesKey = KEYS[1]   -- the account's rules hash
local field = ARGV[1]      -- the scope's field, e.g. "tenant|acme"
local value = ARGV[2]      -- its encoded rules; "" = none left
if redis.call('HEXISTS', rulesKey, '__v') == 0 then return 0 end
if value == '' then redis.call('HDEL', rulesKey, field) else redis.call('HSET', rulesKey, field, value) end
return 1
`,
  sha1: "758aee90c2b00707436bdabc7bc5f94eb6e183f8",
};

export const ALL_SCRIPTS: LuaScript[] = [
  HEALTH_SCRIPT,
  ADMIT_SCRIPT,
  SETTLE_SCRIPT,
  STATUS_SCRIPT,
  RULES_LOAD_SCRIPT,
  RULES_PUT_SCRIPT,
];
