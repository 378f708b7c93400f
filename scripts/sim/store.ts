/**
 * The authoritative counter store: a model of Redis running the budget scripts. Each public
 * method is one script call, applied whole at the instant its request reaches Redis — the
 * atomicity the real scripts get from Redis running one script at a time. It mirrors the
 * protocol of src/budgets/README.md (holds, waiters, hand-off, expiry) and adds leases as
 * docs/budget-leases.md specifies them: a third term, `leased`, beside settled `spent` and
 * per-call `reserved`.
 *
 * It is also the checker: after every write it tests spent + reserved + leased ≤ cap on the
 * counters written, and keeps the largest spent − cap it ever saw (the overshoot).
 */
import type { Scheduler } from "./events";
import type { ProtocolConfig } from "./policy";

/** A hold (one call's worst case) or a lease (an isolate's slice), as Redis keeps it. */
export interface Entry {
  amount: number;
  expiresAt: number;
  isolate: string;
  createdAt: number;
}

export interface Counter {
  id: string;
  cap: number;
  spent: number;
  reserved: number;
  leased: number;
  holds: Map<string, Entry>;
  /** One lease per isolate and counter: a new grant tops it up and extends it. */
  leases: Map<string, Entry>;
  /** Tickets of the calls waiting on this counter, oldest first (bq:…). */
  queue: string[];
  /** No entry expires before this: sweeps skip the scan until then. */
  nextExpiry: number;
}

export type FlushItem =
  /** A per-call hold's settle: drop the hold, add the actual cost. */
  | { kind: "settle"; ticket: string; counters: string[]; held: number; actual: number }
  /** A lease report: add `actual` to spent and take `actual + refund` off the sender's lease. */
  | { kind: "report"; counter: string; actual: number; refund: number };

export interface AdmitRequest {
  /** The Worker's clock when it sent the request. */
  now: number;
  isolate: string;
  ticket: string;
  key: string;
  worst: number;
  /** The call's hard counters this request must cover (the rest fit in the isolate's leases). */
  counters: string[];
  /** Lease modes: the slice the isolate would like per counter; null: holds only. */
  wants: Map<string, number> | null;
  /** A waiter's last attempt: never waits again. */
  final: boolean;
  maxWaitMs: number;
}

export type Refusal = "cap" | "over_cap" | "in_flight";

export type AdmitReply =
  /** Admitted: `grants` says which counters took the call in a (topped-up) lease; the rest hold it.
   * `stop`: counters where this isolate should close its lease and go per call. */
  | { status: "ok"; grants: Map<string, number>; stop: string[]; decidedAt: number }
  | { status: "wait"; waitMs: number }
  | { status: "denied"; reason: Refusal; counter: string; decidedAt: number }
  | { status: "key_revoked"; decidedAt: number };

interface Waiter {
  ticket: string;
  isolate: string;
  counters: string[];
  worst: number;
  deadline: number;
}

/** As in the SETTLE script: per freed counter, stop after this many waiters that still do not fit. */
const LATER = 32;
const MAX_WAITERS = 1000;

export class Store {
  readonly counters = new Map<string, Counter>();
  /** Holds and leases swept at their expiry, kept so what dead isolates stranded can be measured. */
  readonly expired: { counter: string; entry: Entry }[] = [];
  violations = 0;
  firstViolation: string | null = null;
  maxOvershoot = 0;
  /** Reports that asked to take more off a lease than it had (only a broken protocol does). */
  clamped = 0;
  /** Redis commands, counted the way the Lua of src/budgets/scripts.ts issues them (a model). */
  commands = 0;
  private readonly revoked = new Set<string>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly woken = new Map<string, string>();
  private readonly popping = new Map<string, (value: string | null) => void>();

  constructor(
    caps: Map<string, number>,
    private readonly sched: Scheduler,
    private readonly cfg: ProtocolConfig,
  ) {
    for (const [id, cap] of caps) {
      // stopPct compares cap × percent: keep that product an exact integer.
      if (!Number.isSafeInteger(cap * 100)) throw new RangeError(`cap ${cap} is too large for the model`);
      const c = { id, cap, spent: 0, reserved: 0, leased: 0, holds: new Map(), leases: new Map(), queue: [] };
      this.counters.set(id, { ...c, nextExpiry: Number.POSITIVE_INFINITY });
    }
  }

  revoke(key: string): void {
    this.revoked.add(key);
  }

  /** The one read that keeps revocation immediate under leases (HGET of the key's hash). */
  keyRevoked(key: string): boolean {
    this.commands += 1;
    return this.revoked.has(key);
  }

  /** ADMIT (with the lease grant folded in): the key, then every counter, then hold or lease. */
  admit(req: AdmitRequest): AdmitReply {
    const now = this.sched.now;
    this.commands += 2;
    if (this.revoked.has(req.key)) return { status: "key_revoked", decidedAt: now };
    if (req.final) {
      // A settle may have handed this call a hold while its wait ran out; else it leaves the queues.
      const woke = this.woken.get(req.ticket);
      this.woken.delete(req.ticket);
      if (woke === "ok") return { status: "ok", grants: new Map(), stop: [], decidedAt: now };
      this.dropWaiter(req.ticket);
    }
    let blocked: Counter | null = null;
    for (const id of req.counters) {
      const c = this.counter(id);
      this.sweep(c, req.now);
      this.commands += 3;
      const why = standing(c, req.worst);
      if (why === "over_cap" || why === "cap") return { status: "denied", reason: why, counter: id, decidedAt: now };
      if (why && !blocked) blocked = c;
    }
    if (blocked) {
      if (req.final || req.maxWaitMs <= 0 || blocked.queue.length >= MAX_WAITERS) {
        return { status: "denied", reason: "in_flight", counter: blocked.id, decidedAt: now };
      }
      const w = { ticket: req.ticket, isolate: req.isolate, counters: req.counters, worst: req.worst, deadline: 0 };
      w.deadline = req.now + req.maxWaitMs;
      this.waiters.set(req.ticket, w);
      for (const id of req.counters) this.counter(id).queue.push(req.ticket);
      this.commands += 2 + req.counters.length;
      return { status: "wait", waitMs: req.maxWaitMs };
    }
    const grants = new Map<string, number>();
    const stop: string[] = [];
    for (const id of req.counters) {
      const c = this.counter(id);
      const want = req.wants?.get(id);
      const g = want === undefined ? 0 : this.grantSize(c, req.worst, want);
      if (g > 0) {
        this.lease(c, req.isolate, g, req.now);
        grants.set(id, g);
      } else {
        this.hold(c, req.ticket, req.worst, req.now, req.isolate);
        if (want !== undefined) stop.push(id);
      }
      this.commands += 4;
      this.check(c);
    }
    return { status: "ok", grants, stop, decidedAt: now };
  }

  /** SETTLEs and lease reports of one group commit, then the hand-off to waiters on what they freed.
   * Answers the counters on which the sender should close its lease (waiters, or the cap near). */
  flush(isolate: string, items: FlushItem[]): string[] {
    const now = this.sched.now;
    const freed = new Set<Counter>();
    const reported = new Set<Counter>();
    this.commands += 1;
    for (const item of items) {
      if (item.kind === "settle") {
        for (const id of item.counters) {
          const c = this.counter(id);
          // A hold already swept at its expiry was subtracted then: drop it only if it is still there.
          if (c.holds.delete(item.ticket)) c.reserved -= item.held;
          c.spent += item.actual;
          this.commands += 4;
          this.check(c);
          freed.add(c);
        }
      } else {
        const c = this.counter(item.counter);
        c.spent += item.actual;
        const lease = c.leases.get(isolate);
        let take = item.actual + item.refund;
        if (!lease || take > lease.amount) {
          // Only a lease that expired before its calls settled, or a broken protocol, gets here.
          if (lease || take > 0) this.clamped += 1;
          take = lease?.amount ?? 0;
        }
        if (lease) {
          lease.amount -= take;
          c.leased -= take;
          if (lease.amount === 0) c.leases.delete(isolate);
        }
        this.commands += 4;
        this.check(c);
        freed.add(c);
        reported.add(c);
      }
    }
    this.handOff(freed, now);
    const stop: string[] = [];
    for (const c of reported) if (!this.mayLease(c)) stop.push(c.id);
    return stop;
  }

  /** BLPOP on a waiter's wake list: the value a settle pushed, or null after `timeoutMs`. */
  blpop(ticket: string, timeoutMs: number, reply: (value: string | null) => void): void {
    this.commands += 1;
    const ready = this.woken.get(ticket);
    if (ready !== undefined) {
      this.woken.delete(ticket);
      reply(ready);
      return;
    }
    this.popping.set(ticket, reply);
    this.sched.after(timeoutMs, () => {
      if (this.popping.get(ticket) !== reply) return;
      this.popping.delete(ticket);
      reply(null);
    });
  }

  /** Every live hold and lease, and the expired ones, with their counter. */
  *entries(): Generator<{ counter: Counter; entry: Entry }> {
    for (const c of this.counters.values()) {
      for (const entry of c.holds.values()) yield { counter: c, entry };
      for (const entry of c.leases.values()) yield { counter: c, entry };
    }
    for (const e of this.expired) yield { counter: this.counter(e.counter), entry: e.entry };
  }

  private counter(id: string): Counter {
    const c = this.counters.get(id);
    if (!c) throw new Error(`no counter ${id}`);
    return c;
  }

  /**
   * How much to lease: at most 1/S of the headroom (so grants shrink geometrically as the cap
   * nears and can never exceed it), at least minCalls of this call's worst case (else a hold), none
   * once the counter is stopPct committed or has waiters (they come first).
   */
  private grantSize(c: Counter, worst: number, want: number): number {
    const p = this.cfg.lease;
    if (p.broken === "no-shrink") return Math.max(want, worst);
    if (!this.mayLease(c)) return 0;
    const g = Math.min(want, Math.floor((c.cap - committed(c)) / p.share));
    return g >= p.minCalls * worst ? g : 0;
  }

  private mayLease(c: Counter): boolean {
    if (this.cfg.lease.broken === "no-shrink") return true;
    return c.queue.length === 0 && committed(c) * 100 < c.cap * this.cfg.lease.stopPct;
  }

  private lease(c: Counter, isolate: string, amount: number, now: number): void {
    const p = this.cfg.lease;
    const e = c.leases.get(isolate) ?? { amount: 0, expiresAt: 0, isolate, createdAt: now };
    // Past its window a lease must still cover calls admitted at the window's last instant.
    const tail = p.broken === "short-expiry" ? 0 : this.cfg.holdMs;
    e.amount += amount;
    e.expiresAt = Math.max(e.expiresAt, now + p.windowMs + tail);
    c.leases.set(isolate, e);
    c.leased += amount;
    c.nextExpiry = Math.min(c.nextExpiry, e.expiresAt);
  }

  private hold(c: Counter, ticket: string, amount: number, now: number, isolate: string): void {
    const e = { amount, expiresAt: now + this.cfg.holdMs, isolate, createdAt: now };
    c.holds.set(ticket, e);
    c.reserved += amount;
    c.nextExpiry = Math.min(c.nextExpiry, e.expiresAt);
  }

  /** Holds and leases whose Worker never settled stop counting at their expiry. */
  private sweep(c: Counter, now: number): void {
    if (now < c.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [map, field] of [
      [c.holds, "reserved"],
      [c.leases, "leased"],
    ] as const) {
      for (const [id, e] of map) {
        if (e.expiresAt <= now) {
          map.delete(id);
          c[field] -= e.amount;
          this.expired.push({ counter: c.id, entry: e });
        } else next = Math.min(next, e.expiresAt);
      }
    }
    c.nextExpiry = next;
  }

  private handOff(freed: Set<Counter>, now: number): void {
    for (const q of freed) {
      let later = 0;
      for (const ticket of [...q.queue]) {
        if (later >= LATER) break;
        const w = this.waiters.get(ticket);
        this.commands += 1;
        if (!w) {
          q.queue.splice(q.queue.indexOf(ticket), 1);
          continue;
        }
        let verdict: "fits" | "later" | "denied" | "expired" = w.deadline < now ? "expired" : "fits";
        for (const id of w.counters) {
          if (verdict !== "fits") break;
          const c = this.counter(id);
          this.sweep(c, now);
          const why = standing(c, w.worst);
          if (why === "over_cap" || why === "cap") verdict = "denied";
          else if (why) verdict = "later";
        }
        if (verdict === "later") {
          later += 1;
          continue;
        }
        if (verdict === "fits") {
          for (const id of w.counters) {
            const c = this.counter(id);
            this.hold(c, ticket, w.worst, now, w.isolate);
            this.check(c);
          }
        }
        this.dropWaiter(ticket);
        this.wake(ticket, verdict === "fits" ? "ok" : verdict);
      }
    }
  }

  private dropWaiter(ticket: string): void {
    const w = this.waiters.get(ticket);
    if (!w) return;
    for (const id of w.counters) {
      const q = this.counter(id).queue;
      const i = q.indexOf(ticket);
      if (i >= 0) q.splice(i, 1);
    }
    this.waiters.delete(ticket);
  }

  private wake(ticket: string, value: string): void {
    const reply = this.popping.get(ticket);
    if (reply) {
      this.popping.delete(ticket);
      reply(value);
    } else this.woken.set(ticket, value);
  }

  /** The invariant, after every write: settled + holds + leases ≤ cap, in exact integers. */
  private check(c: Counter): void {
    const total = committed(c);
    if (!Number.isSafeInteger(total) || c.reserved < 0 || c.leased < 0) throw new Error(`counter ${c.id} broke`);
    if (total > c.cap) {
      this.violations += 1;
      this.firstViolation ??= `${c.id} at ${this.sched.now} ms: ${c.spent} + ${c.reserved} + ${c.leased} > ${c.cap}`;
    }
    this.maxOvershoot = Math.max(this.maxOvershoot, c.spent - c.cap);
  }
}

const committed = (c: Counter) => c.spent + c.reserved + c.leased;

/** Where a call of cost `worst` stands against one counter (the Lua `standing`, with leases as in flight). */
function standing(c: Counter, worst: number): Refusal | null {
  if (worst > c.cap) return "over_cap";
  if (c.spent + worst > c.cap) return "cap";
  if (committed(c) + worst > c.cap) return "in_flight";
  return null;
}
