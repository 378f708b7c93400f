/**
 * One Worker isolate, as the two protocols would run it: per call (every call asks Redis before
 * it is forwarded) or leases (calls that fit in the isolate's slices go at once). State lives in
 * the isolate only between requests, the way module-level state does in a Worker, and is gone
 * when the isolate dies: its pending settles and reports are lost, its holds and leases stay in
 * Redis until they expire.
 */
import type { Scheduler } from "./events";
import type { Mode, ProtocolConfig } from "./policy";
import type { AdmitReply, FlushItem, Store } from "./store";

export interface Call {
  id: number;
  key: string;
  /** Every hard counter the call is under (account, its tenant's `*` counter, its feature's). */
  counters: string[];
  worst: number;
  /** What the provider bills, ≤ worst (the worst case is an upper bound: src/wire/estimate.ts). */
  actual: number;
  durationMs: number;
}

export interface Outcome {
  call: Call;
  arrivedAt: number;
  admitted: boolean;
  refusal: string | null;
  /** The counter that refused it (budget refusals only). */
  refusedOn: string | null;
  /** When Redis (or the isolate, for a local admission) decided. */
  decidedAt: number;
  forwardedAt: number | null;
  /** Redis round trips before the call was forwarded or refused. */
  roundTrips: number;
  /** Admitted with no budget round trip. */
  local: boolean;
  /** The isolate died while the call was in flight: never settled. */
  lost: boolean;
}

export type RequestKind = "admit" | "blpop" | "check" | "flush";

export interface IsolateEnv {
  sched: Scheduler;
  store: Store;
  cfg: ProtocolConfig;
  mode: Mode;
  /** One request to Redis: `op` runs there (it may answer later, as BLPOP does), `reply` back here. */
  request<T>(from: Isolate, kind: RequestKind, op: (done: (value: T) => void) => void, reply: (value: T) => void): void;
  decided(o: Outcome): void;
  /** A call finished and its cost joined this isolate's queue (conservation check). */
  finished(call: Call): void;
}

interface LocalLease {
  /** What Redis holds for this lease, less the actuals and refunds this isolate already counted. */
  amount: number;
  /** Worst cases of the calls admitted against it and not finished. */
  inflight: number;
  /** Admitting; a closed lease only covers its calls in flight. */
  open: boolean;
  admitUntil: number;
}

type Via = Map<string, "lease" | "hold">;

export class Isolate {
  alive = true;
  diedAt = Number.POSITIVE_INFINITY;
  readonly leases = new Map<string, LocalLease>();
  /** Actual cost of finished calls whose settle or report had not left when the isolate died. */
  readonly lost = new Map<string, number>();
  private pending: FlushItem[] = [];
  private flushArmed = false;
  private readonly keyCheckedAt = new Map<string, number>();
  private readonly demand = new Map<string, { at: number; worst: number }[]>();

  constructor(
    readonly id: string,
    readonly region: number,
    private readonly env: IsolateEnv,
  ) {}

  arrive(call: Call): void {
    const now = this.env.sched.now;
    const o: Outcome = {
      call,
      arrivedAt: now,
      admitted: false,
      refusal: null,
      refusedOn: null,
      decidedAt: now,
      forwardedAt: null,
      roundTrips: 0,
      local: false,
      lost: false,
    };
    const via: Via = new Map();
    if (this.env.mode === "per-call") {
      this.admitRemote(o, call.counters, via, false);
      return;
    }
    const lp = this.env.cfg.lease;
    this.noteDemand(call, now);
    // Leases: take room in every lease that has it; Redis covers the rest (and re-checks the key).
    const remote: string[] = [];
    for (const c of call.counters) {
      const l = this.leases.get(c);
      if (l?.open && now < l.admitUntil && l.amount - l.inflight >= call.worst) {
        l.inflight += call.worst;
        via.set(c, "lease");
      } else remote.push(c);
    }
    const keyFresh = now - (this.keyCheckedAt.get(call.key) ?? Number.NEGATIVE_INFINITY) < lp.windowMs;
    if (remote.length > 0 || (this.env.mode === "lease" && !keyFresh)) {
      this.admitRemote(o, remote, via, false);
      return;
    }
    if (this.env.mode === "lease") {
      o.local = true;
      o.decidedAt = now;
      this.forward(o, via);
      return;
    }
    // lease+check: the budget is local, the key is still read before forwarding (the queued
    // reports ride in the same request, as they would on an admit).
    const items = this.takePending();
    o.roundTrips += 1;
    this.env.request<{ revoked: boolean; at: number; stop: string[] }>(
      this,
      "check",
      (done) => {
        const stop = items.length > 0 ? this.env.store.flush(this.id, items) : [];
        done({ revoked: this.env.store.keyRevoked(call.key), at: this.env.sched.now, stop });
      },
      ({ revoked, at, stop }) => {
        for (const c of stop) this.close(c);
        o.decidedAt = at;
        if (revoked) return this.refuse(o, via, "key_revoked");
        o.local = true;
        this.forward(o, via);
      },
    );
  }

  die(): void {
    this.alive = false;
    this.diedAt = this.env.sched.now;
    for (const item of this.pending) {
      for (const c of item.kind === "settle" ? item.counters : [item.counter]) {
        this.lost.set(c, (this.lost.get(c) ?? 0) + item.actual);
      }
    }
    this.pending = [];
  }

  private admitRemote(o: Outcome, counters: string[], via: Via, final: boolean): void {
    const { store, cfg, sched } = this.env;
    const sentAt = sched.now;
    const call = o.call;
    const wants =
      this.env.mode === "per-call" || final ? null : new Map(counters.map((c) => [c, this.want(c, sentAt)]));
    // Group commit: the settles and reports queued here ride in front of the admit.
    const items = this.takePending();
    o.roundTrips += 1;
    this.env.request<{ reply: AdmitReply; stop: string[] }>(
      this,
      "admit",
      (done) => {
        const stop = items.length > 0 ? store.flush(this.id, items) : [];
        const req = {
          now: sentAt,
          isolate: this.id,
          ticket: `t${call.id}`,
          key: call.key,
          worst: call.worst,
          counters,
        };
        done({ reply: store.admit({ ...req, wants, final, maxWaitMs: cfg.maxWaitMs }), stop });
      },
      ({ reply, stop }) => {
        for (const c of stop) this.close(c);
        this.onAdmit(o, counters, via, reply, sentAt);
      },
    );
  }

  private onAdmit(o: Outcome, counters: string[], via: Via, reply: AdmitReply, sentAt: number): void {
    if (reply.status === "wait") {
      this.waitFor(o, counters, via, reply.waitMs);
      return;
    }
    o.decidedAt = reply.decidedAt;
    if (reply.status !== "ok") {
      if (reply.status === "denied") o.refusedOn = reply.counter;
      this.refuse(o, via, reply.status === "denied" ? reply.reason : "key_revoked");
      return;
    }
    this.keyCheckedAt.set(o.call.key, sentAt);
    for (const c of counters) {
      const g = reply.grants.get(c);
      if (g) this.topUp(c, g, o.call.worst, sentAt);
      via.set(c, g ? "lease" : "hold");
    }
    // Near the cap (or with waiters) Redis grants no lease: give back what this isolate still has there.
    for (const c of reply.stop) this.close(c);
    this.forward(o, via);
  }

  /** One BLPOP on the call's wake list; without a hand-off, one last admit. */
  private waitFor(o: Outcome, counters: string[], via: Via, waitMs: number): void {
    o.roundTrips += 1;
    this.env.request<{ value: string | null; at: number }>(
      this,
      "blpop",
      (done) => this.env.store.blpop(`t${o.call.id}`, waitMs, (value) => done({ value, at: this.env.sched.now })),
      ({ value, at }) => {
        if (value !== "ok") return this.admitRemote(o, counters, via, true);
        o.decidedAt = at;
        for (const c of counters) via.set(c, "hold");
        this.forward(o, via);
      },
    );
  }

  private refuse(o: Outcome, via: Via, reason: string): void {
    for (const [c, how] of via) if (how === "lease") this.releaseLease(c, o.call.worst, 0);
    o.refusal = reason;
    this.env.decided(o);
  }

  private forward(o: Outcome, via: Via): void {
    o.admitted = true;
    o.forwardedAt = this.env.sched.now;
    this.env.decided(o);
    this.env.sched.after(o.call.durationMs, () => {
      if (!this.alive) {
        o.lost = true;
        return;
      }
      const holds: string[] = [];
      for (const [c, how] of via) {
        if (how === "hold") holds.push(c);
        else this.releaseLease(c, o.call.worst, o.call.actual);
      }
      if (holds.length > 0) {
        this.pending.push({
          kind: "settle",
          ticket: `t${o.call.id}`,
          counters: holds,
          held: o.call.worst,
          actual: o.call.actual,
        });
      }
      this.env.finished(o.call);
      this.armFlush();
    });
  }

  /** A call under a lease is done (or refused): its actual is spent; while the lease admits, the
   * rest of its worst case stays with the isolate; once it is closed, that rest goes back. */
  private releaseLease(c: string, worst: number, actual: number): void {
    const l = this.leases.get(c)!;
    l.inflight -= worst;
    l.amount -= actual;
    const refund = l.open ? 0 : worst - actual;
    l.amount -= refund;
    if (actual + refund > 0) this.report(c, actual, refund);
    if (!l.open && l.inflight === 0) this.leases.delete(c);
  }

  private topUp(c: string, grant: number, worst: number, sentAt: number): void {
    const l = this.leases.get(c) ?? { amount: 0, inflight: 0, open: true, admitUntil: 0 };
    l.amount += grant;
    l.inflight += worst;
    l.open = true;
    // By the send time: Redis dated the lease's expiry from the same instant, so it outlives this window.
    l.admitUntil = sentAt + this.env.cfg.lease.windowMs;
    this.leases.set(c, l);
    const until = l.admitUntil;
    // In a Worker: a timer inside the waitUntil of the call that took the grant (W ≤ 30 s).
    this.env.sched.at(until, () => {
      if (this.alive && l.open && l.admitUntil === until && this.leases.get(c) === l) this.close(c);
    });
  }

  /** Stop admitting against a lease: its unused part goes back now, the rest as its calls finish. */
  private close(c: string): void {
    const l = this.leases.get(c);
    if (!l?.open) return;
    l.open = false;
    const unused = l.amount - l.inflight;
    const refund = this.env.cfg.lease.broken === "refund-in-flight" ? l.amount : unused;
    l.amount = l.inflight;
    if (refund > 0) this.report(c, 0, refund);
    if (l.inflight === 0) this.leases.delete(c);
  }

  private report(c: string, actual: number, refund: number): void {
    // One report per counter per flush: a busy lease costs Redis one write per flush, not per call.
    const same = this.pending.find((i) => i.kind === "report" && i.counter === c);
    if (same?.kind === "report") {
      same.actual += actual;
      same.refund += refund;
    } else this.pending.push({ kind: "report", counter: c, actual, refund });
    this.armFlush();
  }

  private armFlush(): void {
    if (this.flushArmed) return;
    this.flushArmed = true;
    this.env.sched.after(this.env.cfg.groupCommitMs, () => {
      this.flushArmed = false;
      if (!this.alive) return;
      const items = this.takePending();
      if (items.length === 0) return;
      this.env.request<string[]>(
        this,
        "flush",
        (done) => done(this.env.store.flush(this.id, items)),
        (stop) => {
          for (const c of stop) this.close(c);
        },
      );
    });
  }

  private takePending(): FlushItem[] {
    const items = this.pending;
    this.pending = [];
    return items;
  }

  private noteDemand(call: Call, now: number): void {
    for (const c of call.counters) {
      const seen = this.demand.get(c) ?? [];
      seen.push({ at: now, worst: call.worst });
      while (seen.length > 0 && seen[0]!.at <= now - this.env.cfg.lease.windowMs) seen.shift();
      this.demand.set(c, seen);
    }
  }

  /** A slice for about the next window: demandFactor × the worst cases seen in the last one. */
  private want(c: string, now: number): number {
    let sum = 0;
    for (const d of this.demand.get(c) ?? []) if (d.at > now - this.env.cfg.lease.windowMs) sum += d.worst;
    return this.env.cfg.lease.demandFactor * sum;
  }
}
