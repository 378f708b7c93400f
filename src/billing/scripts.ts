/**
 * The wallet scripts besides ADMIT and SETTLE (src/budgets/scripts.ts, which hold and debit
 * wallets): loading a wallet from Postgres, adding a grant, changing alert settings, reading the
 * balance, clearing invoiced debt, and setting rating state after a re-rate. Each beside its SHA-1
 * (src/budgets/scripts.test.ts checks them); conventions as in src/budgets/scripts.ts. Layout:
 * src/billing/keys.ts.
 */
import type { LuaScript } from "../lib/redis";
import { WALLET_LUA } from "./lua";

/** Thresholds "T1,T2" (nano) and a top-up rule "threshold|amount|cooldown" written armed per the balance. */
const SETTINGS_LUA = `
local function apply_settings(wl, st, thresholds, topup)
  local want = {}
  for t in string.gmatch(thresholds, '%d+') do want['a|' .. t] = tonumber(t) end
  for f, _ in pairs(st.h) do
    if string.match(f, '^a|%d+$') and not want[f] then redis.call('HDEL', wl.w, f) end
  end
  for f, t in pairs(want) do
    if not st.h[f] then
      local armed = '0'
      if st.settled >= t then armed = '1' end
      redis.call('HSET', wl.w, f, armed)
    end
  end
  if topup == '' then
    redis.call('HDEL', wl.w, 'topup', 'topup_armed')
  elseif st.h.topup ~= topup then
    local th = tonumber(string.match(topup, '^(%d+)|'))
    local armed = '0'
    if st.settled >= th then armed = '1' end
    redis.call('HSET', wl.w, 'topup', topup, 'topup_armed', armed)
  end
end
`;

/** WALLET_LOAD: a tenant's whole wallet from Postgres, unless a concurrent load already wrote it. */
export const WALLET_LOAD_SCRIPT: LuaScript = {
  name: "wallet-load",
  source: `-- WALLET_LOAD (src/billing/store.ts)
local P = ARGV[1]               -- the account's key prefix
local tenant = ARGV[2]
local stamp = ARGV[3]           -- written to __v: the wallet is loaded
local now = tonumber(ARGV[4])   -- the Worker's clock, ms
local debt = ARGV[5]            -- overage not yet invoiced, nano
local seq = ARGV[6]             -- top-up crossings so far
local thresholds = ARGV[7]      -- "T1,T2" nano
local topup = ARGV[8]           -- "threshold|amount|cooldown" or ''
-- then grant field / remaining pairs
${WALLET_LUA}
${SETTINGS_LUA}
local wl = wallet_entry(P, tenant)
if redis.call('HEXISTS', wl.w, '__v') == 1 then return 0 end
-- Holds of a wallet Redis lost are gone with it: their settles find nothing to release.
redis.call('DEL', wl.w, wl.wz)
redis.call('HSET', wl.w, '__v', stamp, 'reserved', 0, 'debt', debt, 'seq', seq)
for i = 9, #ARGV, 2 do redis.call('HSET', wl.w, ARGV[i], ARGV[i + 1]) end
local st = wallet_read(wl, now)
apply_settings(wl, st, thresholds, topup)
if st.settled <= 0 then redis.call('HSET', wl.w, 'depleted', '1') end
if redis.call('HEXISTS', P .. 'wallets', '__v') == 1 then redis.call('HSET', P .. 'wallets', tenant, '1') end
return 1
`,
  sha1: "25889b43993a6e6bccedb1ee51447d77344ebfab",
};

/** WALLET_CREDIT: a new grant, in a loaded wallet; thresholds the balance now reaches are re-armed. */
export const WALLET_CREDIT_SCRIPT: LuaScript = {
  name: "wallet-credit",
  source: `-- WALLET_CREDIT (src/billing/grants.ts)
local P = ARGV[1]               -- the account's key prefix
local tenant = ARGV[2]
local field = ARGV[3]           -- the grant's field (src/billing/keys.ts grantField)
local amount = ARGV[4]          -- nano
local now = tonumber(ARGV[5])   -- the Worker's clock, ms
${WALLET_LUA}
local wl = wallet_entry(P, tenant)
if redis.call('HEXISTS', wl.w, '__v') == 0 then return {'status', 'unloaded'} end
-- HSETNX: a retried credit cannot reset a grant that calls already drew on.
redis.call('HSETNX', wl.w, field, amount)
if redis.call('HEXISTS', P .. 'wallets', '__v') == 1 then redis.call('HSET', P .. 'wallets', tenant, '1') end
wallet_sweep(wl, now)
local st = wallet_read(wl, now)
return {'status', 'ok', 'events', wallet_rearm(wl, st), 'settled', st.settled}
`,
  sha1: "37d315457e50bdafeccf0ba7ce7a97ca686773e3",
};

/** WALLET_SETTINGS: low-balance thresholds and the top-up rule of a loaded wallet. */
export const WALLET_SETTINGS_SCRIPT: LuaScript = {
  name: "wallet-settings",
  source: `-- WALLET_SETTINGS (src/billing/wallet-settings.ts)
local P = ARGV[1]               -- the account's key prefix
local tenant = ARGV[2]
local now = tonumber(ARGV[3])   -- the Worker's clock, ms
local thresholds = ARGV[4]      -- "T1,T2" nano
local topup = ARGV[5]           -- "threshold|amount|cooldown" or ''
${WALLET_LUA}
${SETTINGS_LUA}
local wl = wallet_entry(P, tenant)
if redis.call('HEXISTS', wl.w, '__v') == 0 then return 0 end
apply_settings(wl, wallet_read(wl, now), thresholds, topup)
return 1
`,
  sha1: "8b466ed462d07756bb44d3adf4b2d4cbf48e950a",
};

/** WALLET_STATUS: the balance, exact (expired holds swept first), and every grant's remaining. */
export const WALLET_STATUS_SCRIPT: LuaScript = {
  name: "wallet-status",
  source: `-- WALLET_STATUS (src/billing/wallet.ts)
local P = ARGV[1]               -- the account's key prefix
local tenant = ARGV[2]
local now = tonumber(ARGV[3])   -- the Worker's clock, ms
${WALLET_LUA}
local wl = wallet_entry(P, tenant)
if redis.call('HEXISTS', wl.w, '__v') == 0 then return {'status', 'unloaded'} end
wallet_sweep(wl, now)
local st = wallet_read(wl, now)
local grants = {}
local flat = redis.call('HGETALL', wl.w)
for i = 1, #flat, 2 do
  local id = string.match(flat[i], '^g|%d+|%d+|%d+|([^|]+)|%d+$')
  if id then grants[#grants + 1] = id; grants[#grants + 1] = flat[i + 1] end
end
return {'status', 'ok', 'settled', st.settled, 'reserved', st.reserved, 'debt', tonumber(st.h.debt or '0'),
  'grants', grants}
`,
  sha1: "a6c64c8b5eac038e54123070caada5fdfe5ddb7e",
};

/** DEBT_CLEAR: an invoice billed this much overage; the wallet stops carrying it. */
export const DEBT_CLEAR_SCRIPT: LuaScript = {
  name: "wallet-debt-clear",
  source: `-- DEBT_CLEAR (src/billing/invoices.ts)
local w = KEYS[1]               -- the wallet
local amount = tonumber(ARGV[1])  -- nano
if redis.call('HEXISTS', w, '__v') == 0 then return 0 end
local debt = tonumber(redis.call('HGET', w, 'debt') or '0')
if amount > debt then amount = debt end
redis.call('HINCRBY', w, 'debt', -amount)
return amount
`,
  sha1: "489474414de209204a042bc7c20f8de8c9929f1a",
};

/** RATE_SET: a tenant's rating state after its period was re-rated (src/billing/rerate.ts). */
export const RATE_SET_SCRIPT: LuaScript = {
  name: "rating-set",
  source: `-- RATE_SET (src/billing/rerate.ts)
local rs = KEYS[1]              -- the rating state
redis.call('DEL', rs)
redis.call('HSET', rs, 'hi', ARGV[1], 'lo', ARGV[2], 'q', ARGV[3])
redis.call('EXPIRE', rs, ARGV[4])
return 1
`,
  sha1: "7bad99ac769e8a327e1d1a9d9abc2dd76c38107a",
};

export const BILLING_SCRIPTS: LuaScript[] = [
  WALLET_LOAD_SCRIPT,
  WALLET_CREDIT_SCRIPT,
  WALLET_SETTINGS_SCRIPT,
  WALLET_STATUS_SCRIPT,
  DEBT_CLEAR_SCRIPT,
  RATE_SET_SCRIPT,
];
