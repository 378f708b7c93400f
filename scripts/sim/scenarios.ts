/**
 * The scenarios docs/budget-leases.md reports, at full size (50 isolates × 5 regions), and a
 * small one for the unit test. Amounts nano-USD: 1_000_000_000 = $1.
 */
import type { Scenario } from "./leases-model";
import type { Workload } from "./traffic";

const USD = 1_000_000_000;

/** 150 calls/s for a minute, 6× bursts of 3 s every 20 s: ~15,000 calls, ~$8.5 actual, ~$16 worst case. */
export const BASE_WORKLOAD: Workload = {
  durationMs: 60_000,
  callsPerSec: 150,
  burst: { everyMs: 20_000, lengthMs: 3_000, factor: 6 },
  // The Redis primary sits in the first region; the others are further away, up to the far side of the world.
  regionRttMs: [4, 30, 80, 150, 220],
  isolatesPerRegion: 50,
  isolateSkew: 1.1,
  rules: { tenant: true, feature: true },
  tenants: 200,
  tenantSkew: 1,
  keys: 8,
  worstNano: [50_000, 5_000_000],
  actualPermille: [30, 1000],
  streamShare: 0.3,
  jsonMs: [200, 2_000],
  streamMs: [2_000, 30_000],
  deaths: { share: 0.02, from: 0.2, to: 0.9 },
  revokeAt: 0.5,
};

const FAR = { account: 10_000 * USD, tenant: 1_000 * USD, feature: 5_000 * USD };
const ONE_SCOPE: Partial<Workload> = { rules: { tenant: false, feature: false }, keys: 4 };

export const SCENARIOS: Scenario[] = [
  {
    name: "one scope, far from cap",
    about: "an account rule only, 4 keys, caps never near: the best case for leases",
    workload: { ...BASE_WORKLOAD, ...ONE_SCOPE },
    caps: FAR,
  },
  {
    name: "three scopes, far from cap",
    about: "account, `*` tenant (200 tenants) and feature rules, 8 keys, caps never near",
    workload: BASE_WORKLOAD,
    caps: FAR,
  },
  {
    name: "burst to the cap",
    about: "three scopes; the account cap is ~60 % of demand, the hottest tenants hit their `*` cap",
    workload: BASE_WORKLOAD,
    caps: { account: 5 * USD, tenant: USD / 2, feature: 4 * USD },
  },
  {
    name: "burst to the cap, actual = worst",
    about: "as above, every call costs its full worst case (max_tokens reached): nothing returns from a hold",
    workload: { ...BASE_WORKLOAD, actualPermille: [1000, 1000] },
    caps: { account: 5 * USD, tenant: USD / 2, feature: 4 * USD },
  },
  {
    name: "isolates die while leased",
    about: "one scope, cap reached late; 10 % of isolates die between 20 % and 60 % of the run",
    workload: { ...BASE_WORKLOAD, ...ONE_SCOPE, deaths: { share: 0.1, from: 0.2, to: 0.6 } },
    caps: { ...FAR, account: 7 * USD },
  },
  {
    name: "long tail of tenants",
    about: "5,000 tenants, flatter skew, $0.05 each: `*` counters an isolate rarely sees twice",
    workload: { ...BASE_WORKLOAD, tenants: 5_000, tenantSkew: 0.7 },
    caps: { ...FAR, tenant: USD / 20 },
  },
  {
    name: "quiet traffic",
    about: "one scope, 10 calls/s over the same 250 isolates",
    workload: { ...BASE_WORKLOAD, ...ONE_SCOPE, callsPerSec: 10 },
    caps: FAR,
  },
];

/**
 * Unit-test size: `isolates` per region, about `calls` calls in 20 s, caps that are hit (the
 * account at roughly half the worst-case demand), `deathShare` of the isolates dying.
 */
export function small(isolates: number, regions: number, calls: number, deathShare: number): Scenario {
  const durationMs = 20_000;
  return {
    name: "small",
    about: "unit-test size",
    workload: {
      ...BASE_WORKLOAD,
      durationMs,
      callsPerSec: (calls * 1000) / durationMs / 1.6,
      burst: { everyMs: 5_000, lengthMs: 1_000, factor: 4 },
      regionRttMs: BASE_WORKLOAD.regionRttMs.slice(0, regions),
      isolatesPerRegion: isolates,
      tenants: 6,
      streamMs: [2_000, 8_000],
      deaths: { share: deathShare, from: 0.2, to: 0.8 },
    },
    caps: { account: calls * 500_000, tenant: calls * 150_000, feature: calls * 300_000 },
  };
}
