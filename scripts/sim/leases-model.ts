/**
 * The budget-lease simulation's core (docs/budget-leases.md): one workload, N isolates × M
 * regions, one authoritative store, run under one protocol, measured. scripts/sim/leases.ts
 * prints it; scripts/sim/leases.test.ts checks it.
 */
import { Scheduler } from "./events";
import { type Call, Isolate, type IsolateEnv, type Outcome, type RequestKind } from "./isolate";
import { DEFAULT_PROTOCOL, type Mode, type ProtocolConfig } from "./policy";
import { Rng } from "./rng";
import { Store } from "./store";
import { plan, type Workload } from "./traffic";

/** Hard caps, nano-USD: the account, each tenant (a `*` rule), the "chat" feature. */
export interface Caps {
  account: number;
  tenant: number;
  feature: number;
}

export interface Scenario {
  name: string;
  about: string;
  workload: Workload;
  caps: Caps;
}

export interface Result {
  scenario: string;
  mode: Mode;
  seed: number;
  calls: number;
  admitted: number;
  /** Admitted with no budget round trip. */
  local: number;
  refused: Record<string, number>;
  /** Refused while holds or leases in flight stood in its way (settled spend + its worst case was
   * within every cap) and its wait ran out: the measure of scripts/bench/budget-burst.ts. */
  refusedInFlight: number;
  /** Of those, the ones that fit even counting every call admitted so far at its actual cost: an
   * admitter that knew the actuals (and left no room idle in leases) would have let them through. */
  wouldHaveFit: number;
  overshootNano: number;
  /** Writes after which settled + holds + leases exceeded a cap. */
  violations: number;
  firstViolation: string | null;
  /** Counters that refused at least one call on budget: how much of their cap was spent (min, mean, ‰). */
  capUsed: { counters: number; minPermille: number; meanPermille: number } | null;
  /** Redis round trips before forwarding (or refusing), per call. */
  roundTripsPerCall: number;
  /** Time from arrival to forwarding, admitted calls, ms. */
  msBeforeForward: { mean: number; p99: number };
  redisRequestsPerCall: number;
  redisCommandsPerCall: number;
  /** Of dead isolates: the most any one counter had stranded (nano-USD and ‰ of its cap), and the longest. */
  stranded: { isolatesDied: number; lostCalls: number; maxNano: number; maxPermilleOfCap: number; maxSeconds: number };
  /** Calls of the revoked key admitted after its revocation, and the latest of them. */
  revocation: { admittedAfter: number; maxLagMs: number } | null;
  /** Settled spend on every counter is exactly the actual cost of the calls that reported it. */
  conserved: boolean;
  /** Holds and leases of live isolates still counting after the run: must be 0, all returned. */
  leftoverNano: number;
  /** Reports that found less in their lease than they took off (0 unless the protocol is broken). */
  clampedReports: number;
}

export function runScenario(
  s: Scenario,
  mode: Mode,
  seed: number,
  protocol: ProtocolConfig = DEFAULT_PROTOCOL,
): Result {
  const w = s.workload;
  const p = plan(w, seed);
  const sched = new Scheduler();
  const store = new Store(counterCaps(s), sched, protocol);
  const jitter = new Rng(seed).fork(0x51ed);
  const requests: Record<RequestKind, number> = { admit: 0, blpop: 0, check: 0, flush: 0 };
  const outcomes: Outcome[] = [];
  const finished = new Map<string, number>();
  // The oracle for "would have fit": every admitted call at its actual cost, per counter.
  const admittedActual = new Map<string, number>();
  const fit = new Set<Outcome>();
  // One way to or from the primary: half the region's RTT, ±15 %, plus up to 1 ms. The jitter is
  // what reorders requests, including two of the same isolate.
  const oneWay = (region: number) => (w.regionRttMs[region]! / 2) * (0.85 + 0.3 * jitter.float()) + jitter.float();
  const env: IsolateEnv = {
    sched,
    store,
    cfg: protocol,
    mode,
    request(from, kind, op, reply) {
      requests[kind] += 1;
      sched.after(oneWay(from.region), () =>
        op((value) =>
          sched.after(oneWay(from.region), () => {
            if (from.alive) reply(value);
          }),
        ),
      );
    },
    decided(o) {
      outcomes.push(o);
      if (o.admitted)
        for (const c of o.call.counters) admittedActual.set(c, (admittedActual.get(c) ?? 0) + o.call.actual);
      const fits = (c: string) => (admittedActual.get(c) ?? 0) + o.call.worst <= store.counters.get(c)!.cap;
      if (o.refusal === "in_flight" && o.call.counters.every(fits)) fit.add(o);
    },
    finished(call: Call) {
      for (const c of call.counters) finished.set(c, (finished.get(c) ?? 0) + call.actual);
    },
  };
  const all: Isolate[] = [];
  const slots: Isolate[] = [];
  const spawn = (slot: number, generation: number) => {
    const iso = new Isolate(`i${slot}.${generation}`, slot % w.regionRttMs.length, env);
    all.push(iso);
    slots[slot] = iso;
  };
  for (let slot = 0; slot < p.slots; slot++) spawn(slot, 0);
  for (const a of p.arrivals) sched.at(a.at, () => slots[a.slot]!.arrive(a.call));
  for (const d of p.deaths) {
    sched.at(d.at, () => {
      slots[d.slot]!.die();
      // The platform starts a fresh isolate for the same traffic: no leases, no queue.
      spawn(d.slot, 1);
    });
  }
  if (p.revokeAt !== null) sched.at(p.revokeAt, () => store.revoke(p.revokedKey));
  sched.run();

  return {
    scenario: s.name,
    mode,
    seed,
    calls: p.arrivals.length,
    admitted: outcomes.filter((o) => o.admitted).length,
    local: outcomes.filter((o) => o.local).length,
    refused: countBy(outcomes.filter((o) => !o.admitted).map((o) => o.refusal ?? "?")),
    refusedInFlight: outcomes.filter((o) => o.refusal === "in_flight").length,
    wouldHaveFit: fit.size,
    overshootNano: store.maxOvershoot,
    violations: store.violations,
    firstViolation: store.firstViolation,
    capUsed: capUsed(store, outcomes),
    roundTripsPerCall: sum(outcomes.map((o) => o.roundTrips)) / p.arrivals.length,
    msBeforeForward: latency(outcomes),
    redisRequestsPerCall: sum(Object.values(requests)) / p.arrivals.length,
    redisCommandsPerCall: store.commands / p.arrivals.length,
    stranded: stranded(store, all, outcomes),
    revocation: p.revokeAt === null ? null : revocation(outcomes, p.revokedKey, p.revokeAt),
    conserved: conserved(store, all, finished),
    leftoverNano: leftover(store, all),
    clampedReports: store.clamped,
  };
}

function counterCaps(s: Scenario): Map<string, number> {
  const caps = new Map([
    ["account", s.caps.account],
    ["feature:chat", s.caps.feature],
  ]);
  for (let t = 0; t < s.workload.tenants; t++) caps.set(`tenant:${t}`, s.caps.tenant);
  return caps;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** spent / cap in permille, exactly (bigint: spent × 1000 can pass 2^53 on large caps). */
const permille = (spent: number, cap: number) => Number((BigInt(spent) * 1000n) / BigInt(cap));

function capUsed(store: Store, outcomes: Outcome[]): Result["capUsed"] {
  const full = new Set(outcomes.filter((o) => o.refusedOn).map((o) => o.refusedOn!));
  if (full.size === 0) return null;
  const used = [...full].map((id) => {
    const c = store.counters.get(id)!;
    return permille(c.spent, c.cap);
  });
  return { counters: used.length, minPermille: Math.min(...used), meanPermille: Math.round(sum(used) / used.length) };
}

function latency(outcomes: Outcome[]): Result["msBeforeForward"] {
  const ms = outcomes
    .filter((o) => o.forwardedAt !== null)
    .map((o) => o.forwardedAt! - o.arrivedAt)
    .sort((a, b) => a - b);
  if (ms.length === 0) return { mean: 0, p99: 0 };
  return { mean: sum(ms) / ms.length, p99: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]! };
}

/** What dead isolates left counting in Redis (their holds and leases) until it expired. */
function stranded(store: Store, isolates: Isolate[], outcomes: Outcome[]): Result["stranded"] {
  const byId = new Map(isolates.map((i) => [i.id, i]));
  const perCounter = new Map<string, number>();
  let maxMs = 0;
  for (const { counter, entry } of store.entries()) {
    const iso = byId.get(entry.isolate)!;
    const from = Math.max(iso.diedAt, entry.createdAt);
    if (entry.amount === 0 || entry.expiresAt <= from) continue;
    perCounter.set(counter.id, (perCounter.get(counter.id) ?? 0) + entry.amount);
    maxMs = Math.max(maxMs, entry.expiresAt - from);
  }
  let worst = 0;
  let most = 0;
  for (const [id, amount] of perCounter) {
    worst = Math.max(worst, permille(amount, store.counters.get(id)!.cap));
    most = Math.max(most, amount);
  }
  return {
    isolatesDied: isolates.filter((i) => !i.alive).length,
    lostCalls: outcomes.filter((o) => o.lost).length,
    maxNano: most,
    maxPermilleOfCap: worst,
    maxSeconds: maxMs / 1000,
  };
}

function revocation(outcomes: Outcome[], key: string, at: number): Result["revocation"] {
  const late = outcomes.filter((o) => o.admitted && o.call.key === key && o.decidedAt > at);
  return { admittedAfter: late.length, maxLagMs: Math.max(0, ...late.map((o) => o.decidedAt - at)) };
}

function conserved(store: Store, isolates: Isolate[], finished: Map<string, number>): boolean {
  for (const c of store.counters.values()) {
    let lost = 0;
    for (const i of isolates) lost += i.lost.get(c.id) ?? 0;
    if (c.spent !== (finished.get(c.id) ?? 0) - lost) return false;
  }
  return true;
}

function leftover(store: Store, isolates: Isolate[]): number {
  const live = new Set(isolates.filter((i) => i.alive).map((i) => i.id));
  let total = 0;
  for (const c of store.counters.values()) {
    for (const e of [...c.holds.values(), ...c.leases.values()]) if (live.has(e.isolate)) total += e.amount;
  }
  return total;
}
