/**
 * Lua the budget scripts share with wallets and rating (pasted into ADMIT and SETTLE in
 * src/budgets/scripts.ts, and into the wallet scripts in src/billing/scripts.ts: a script cannot
 * call another). Key layout: src/billing/keys.ts. Semantics: docs/billing.md §2–6.
 *
 * Numbers: Lua numbers are doubles, exact for integers below 2^53; money stays below
 * src/budgets/rules.ts MAX_CAP_NANO and quantities below src/billing/plan.ts MAX_QUANTITY, and
 * products that could exceed 2^53 are split (mulsplit), so every amount here is the exact integer
 * src/billing/rating.ts computes in bigint. Numbers are turned into strings only with `int`
 * (Lua's own conversion keeps 14 digits).
 *
 * divmod / mulsplit: exact integer division, and floor(a × b / d) with its remainder.
 * rate_call: a call's billed amount, the increment P(after) − P(before) of its plan's period price,
 *   with the rating state advanced (programs: src/billing/rating.ts ratingProgram).
 * wallet_entry / wallet_sweep / wallet_read: a tenant's wallet, its expired holds dropped, its live
 *   grants (effective ≤ now < expires, by the Worker's clock it was given) in draw-down order and its
 *   balance: settled = Σ live remaining − debt; reserved = Σ holds; available = settled − reserved.
 * wallet_standing: 'balance' (settled < the call's rated worst case, or ≤ 0: it cannot fit until a
 *   grant), 'in_flight' (it fits once holds settle), or nil (it fits now).
 * wallet_hold / wallet_release: a call's hold on the wallet, and its release at settle.
 * wallet_debit: the billed amount drawn from the live grants in order; the rest is overage (debt).
 * wallet_crossings: thresholds the debit crossed downward (each fires once, re-armed by a grant),
 *   depletion, and the top-up request (once per crossing, not within its cooldown).
 * wallet_rearm: after a grant, thresholds the balance is at or above again ('recovered').
 */
export const WALLET_LUA = `
local function int(n) return string.format('%d', n) end

local function divmod(a, d)
  local q = math.floor(a / d)
  local r = a - q * d
  if r < 0 then q, r = q - 1, r + d elseif r >= d then q, r = q + 1, r - d end
  return q, r
end

local function mulsplit(a, b, d)
  local b1, b0 = divmod(b, d)
  local a1, a0 = divmod(a, d)
  local p1, p0 = divmod(a0 * b0, d)
  return a * b1 + a1 * b0 + p1, p0
end

local function rate_call(program, rs, actual, life)
  if program == 'cost' then return actual end
  local kind = string.match(program, '^(%a+)|')
  local billed
  if kind == 'lin' then
    local D, sHi, sLo, A = string.match(program, '^lin|(%d+)|(%d+)|(%d+)|(%d+)$')
    D, sHi, sLo, A = tonumber(D), tonumber(sHi), tonumber(sLo), tonumber(A)
    local st = redis.call('HMGET', rs, 'hi', 'lo')
    local hi, lo = tonumber(st[1] or '0'), tonumber(st[2] or '0')
    local function price(h, l)
      local p = h
      if 2 * l >= D then p = p + 1 end
      p = p - A
      if p < 0 then p = 0 end
      return p
    end
    local before = price(hi, lo)
    hi, lo = hi + sHi, lo + sLo
    if lo >= D then hi, lo = hi + 1, lo - D end
    redis.call('HSET', rs, 'hi', int(hi), 'lo', int(lo))
    billed = price(hi, lo) - before
  elseif kind == 'tier' then
    local q, spec = string.match(program, '^tier|(%d+)|(.*)$')
    local tiers = {}
    for up, flat, rate in string.gmatch(spec, '(%d*):(%d+):(%d+)') do
      tiers[#tiers + 1] = {up = tonumber(up), flat = tonumber(flat), rate = tonumber(rate)}
    end
    local D = 1000000
    local function price(Q)
      local hi, lo, start = 0, 0, 0
      for _, t in ipairs(tiers) do
        if Q <= start then break end
        local top = Q
        if t.up and t.up < Q then top = t.up end
        local h, l = mulsplit(t.rate, top - start, D)
        hi, lo = hi + h + t.flat, lo + l
        if lo >= D then hi, lo = hi + 1, lo - D end
        if not t.up then break end
        start = t.up
      end
      if 2 * lo >= D then hi = hi + 1 end
      return hi
    end
    local before = tonumber(redis.call('HGET', rs, 'q') or '0')
    billed = price(redis.call('HINCRBY', rs, 'q', q)) - price(before)
  elseif kind == 'pkg' then
    local q, size, each, A = string.match(program, '^pkg|(%d+)|(%d+)|(%d+)|(%d+)$')
    size, each, A = tonumber(size), tonumber(each), tonumber(A)
    local function packs(Q)
      if Q <= A then return 0 end
      local n, r = divmod(Q - A, size)
      if r > 0 then n = n + 1 end
      return n
    end
    local before = tonumber(redis.call('HGET', rs, 'q') or '0')
    billed = (packs(redis.call('HINCRBY', rs, 'q', q)) - packs(before)) * each
  else
    error('unknown rating program ' .. program)
  end
  redis.call('EXPIRE', rs, life)
  return billed
end

local function wallet_entry(P, tenant)
  return {tenant = tenant, w = P .. 'w:' .. tenant, wz = P .. 'wz:' .. tenant, wq = P .. 'wq:' .. tenant,
    cool = P .. 'wc:' .. tenant}
end

local function wallet_sweep(wl, now)
  local expired = redis.call('ZRANGEBYSCORE', wl.wz, '-inf', now)
  if #expired == 0 then return end
  local total = 0
  for _, m in ipairs(expired) do
    local amt = string.match(m, '|(%d+)$')
    if amt then total = total + tonumber(amt) end
  end
  if redis.call('HINCRBY', wl.w, 'reserved', -total) < 0 then redis.call('HSET', wl.w, 'reserved', 0) end
  redis.call('ZREMRANGEBYSCORE', wl.wz, '-inf', now)
end

local function wallet_read(wl, now)
  local flat = redis.call('HGETALL', wl.w)
  local h, live, sum = {}, {}, 0
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    local exp, id, eff = string.match(f, '^g|%d+|(%d+)|%d+|([^|]+)|(%d+)$')
    if exp then
      if tonumber(eff) <= now and now < tonumber(exp) then
        local rem = tonumber(v)
        live[#live + 1] = {f = f, id = id, rem = rem}
        sum = sum + rem
      end
    else
      h[f] = v
    end
  end
  table.sort(live, function(a, b) return a.f < b.f end)
  return {h = h, live = live, settled = sum - tonumber(h.debt or '0'), reserved = tonumber(h.reserved or '0')}
end

local function wallet_standing(st, worst)
  if st.settled <= 0 or st.settled < worst then return 'balance' end
  local available = st.settled - st.reserved
  if available <= 0 or available < worst then return 'in_flight' end
  return nil
end

local function wallet_hold(wl, st, ticket, worstStr, expiresAt)
  redis.call('ZADD', wl.wz, expiresAt, ticket .. '|' .. worstStr)
  st.reserved = redis.call('HINCRBY', wl.w, 'reserved', tonumber(worstStr))
end

local function wallet_release(wl, ticket, heldStr)
  if redis.call('ZREM', wl.wz, ticket .. '|' .. heldStr) == 1 then
    if redis.call('HINCRBY', wl.w, 'reserved', -tonumber(heldStr)) < 0 then redis.call('HSET', wl.w, 'reserved', 0) end
  end
end

local function wallet_debit(wl, st, billed)
  local left, draws = billed, {}
  for _, g in ipairs(st.live) do
    if left <= 0 then break end
    local take = g.rem
    if take > left then take = left end
    if take > 0 then
      g.rem = redis.call('HINCRBY', wl.w, g.f, -take)
      if g.rem <= 0 then redis.call('HDEL', wl.w, g.f) end
      draws[#draws + 1] = g.id .. ':' .. int(take)
      left = left - take
    end
  end
  if left > 0 then redis.call('HINCRBY', wl.w, 'debt', left) end
  st.settled = st.settled - billed
  return draws, left
end

local function wallet_crossings(wl, st, before)
  local events = {}
  for f, v in pairs(st.h) do
    local t = string.match(f, '^a|(%d+)$')
    if t and v == '1' and st.settled < tonumber(t) then
      redis.call('HSET', wl.w, f, '0')
      events[#events + 1] = {'kind', 'dropped', 'threshold', tonumber(t), 'balance', st.settled}
    end
  end
  if st.h.depleted ~= '1' and st.settled <= 0 and before > 0 then
    redis.call('HSET', wl.w, 'depleted', '1')
    events[#events + 1] = {'kind', 'depleted', 'threshold', 0, 'balance', st.settled}
  end
  local topup = {}
  local th, amt, cool = string.match(st.h.topup or '', '^(%d+)|(%d+)|(%d+)$')
  if th and st.h.topup_armed == '1' and st.settled < tonumber(th) then
    if redis.call('SET', wl.cool, '1', 'NX', 'EX', cool) then
      redis.call('HSET', wl.w, 'topup_armed', '0')
      topup = {'seq', redis.call('HINCRBY', wl.w, 'seq', 1), 'amount', tonumber(amt), 'threshold', tonumber(th),
        'balance', st.settled}
    end
  end
  return events, topup
end

local function wallet_rearm(wl, st)
  local events = {}
  for f, v in pairs(st.h) do
    local t = string.match(f, '^a|(%d+)$')
    if t and v == '0' and st.settled >= tonumber(t) then
      redis.call('HSET', wl.w, f, '1')
      events[#events + 1] = {'kind', 'recovered', 'threshold', tonumber(t), 'balance', st.settled}
    end
  end
  if st.h.depleted == '1' and st.settled > 0 then redis.call('HSET', wl.w, 'depleted', '0') end
  local th = string.match(st.h.topup or '', '^(%d+)|')
  if th and st.h.topup_armed ~= '1' and st.settled >= tonumber(th) then redis.call('HSET', wl.w, 'topup_armed', '1') end
  return events
end
`;
