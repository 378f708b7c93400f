/**
 * The workload: who calls, when, under which counters, and how much each call could and does
 * cost. Drawn once per seed, before either protocol runs, so both see exactly the same calls.
 */
import type { Call } from "./isolate";
import { Rng, Zipf } from "./rng";

export interface Workload {
  durationMs: number;
  /** Mean arrival rate across all isolates outside bursts. */
  callsPerSec: number;
  /** Every `everyMs`, for `lengthMs`, arrivals run `factor` times faster. */
  burst: { everyMs: number; lengthMs: number; factor: number };
  /** Round-trip time to the Redis primary from each region, ms (regions × isolatesPerRegion isolates). */
  regionRttMs: number[];
  isolatesPerRegion: number;
  /** Zipf exponent of traffic across isolates (rank order shuffled across regions). */
  isolateSkew: number;
  /** Hard rules besides the account's: a `*` tenant rule, a rule on the "chat" feature (half the calls). */
  rules: { tenant: boolean; feature: boolean };
  tenants: number;
  tenantSkew: number;
  keys: number;
  /** Worst case per call, nano-USD, drawn log-uniformly in [min, max]. */
  worstNano: [number, number];
  /** actual = worst × k / 1000, k uniform in this range (integer arithmetic). */
  actualPermille: [number, number];
  streamShare: number;
  jsonMs: [number, number];
  streamMs: [number, number];
  /** This share of isolates dies at a uniform instant between the two shares of the run. */
  deaths: { share: number; from: number; to: number };
  /** One key is revoked at this share of the run (null: none). */
  revokeAt: number | null;
}

export interface Arrival {
  at: number;
  /** Which isolate slot gets it: a dead isolate's slot is served by its replacement. */
  slot: number;
  call: Call;
}

export interface Plan {
  arrivals: Arrival[];
  /** Slot and instant of each isolate death. */
  deaths: { slot: number; at: number }[];
  revokeAt: number | null;
  revokedKey: string;
  slots: number;
}

export const REVOKED_KEY = "k0";

export function plan(w: Workload, seed: number): Plan {
  const rng = new Rng(seed);
  const slots = w.regionRttMs.length * w.isolatesPerRegion;
  // Zipf rank → slot, shuffled, so the hot isolates are spread over the regions.
  const rankToSlot = Array.from({ length: slots }, (_, i) => i);
  for (let i = slots - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [rankToSlot[i], rankToSlot[j]] = [rankToSlot[j]!, rankToSlot[i]!];
  }
  const isolates = new Zipf(slots, w.isolateSkew);
  const tenants = new Zipf(w.tenants, w.tenantSkew);
  const phase = rng.int(0, w.burst.everyMs - 1);
  const arrivals: Arrival[] = [];
  const base = w.callsPerSec / 1000;
  const ratio = w.worstNano[1] / w.worstNano[0];
  for (let t = 0, id = 0; ; id++) {
    const bursting = (t + phase) % w.burst.everyMs < w.burst.lengthMs;
    t += rng.gap(bursting ? base * w.burst.factor : base);
    if (t >= w.durationMs) break;
    const worst = Math.floor(w.worstNano[0] * ratio ** rng.float());
    const actual = Math.floor((worst * rng.int(w.actualPermille[0], w.actualPermille[1])) / 1000);
    const stream = rng.float() < w.streamShare;
    const durationMs = stream ? rng.int(w.streamMs[0], w.streamMs[1]) : rng.int(w.jsonMs[0], w.jsonMs[1]);
    const counters = ["account"];
    const tenant = tenants.sample(rng);
    if (w.rules.tenant) counters.push(`tenant:${tenant}`);
    if (rng.float() < 0.5 && w.rules.feature) counters.push("feature:chat");
    const call = { id, key: `k${rng.int(0, w.keys - 1)}`, counters, worst, actual, durationMs };
    arrivals.push({ at: t, slot: rankToSlot[isolates.sample(rng)]!, call });
  }
  const deaths: Plan["deaths"] = [];
  for (let slot = 0; slot < slots; slot++) {
    if (rng.float() < w.deaths.share) {
      const at = w.durationMs * (w.deaths.from + (w.deaths.to - w.deaths.from) * rng.float());
      deaths.push({ slot, at });
    }
  }
  const revokeAt = w.revokeAt === null ? null : w.durationMs * w.revokeAt;
  return { arrivals, deaths, revokeAt, revokedKey: REVOKED_KEY, slots };
}
