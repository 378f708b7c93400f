/**
 * The knobs of the two protocols the simulation compares, with the values docs/budget-leases.md
 * argues for. Times are ms; amounts nano-USD.
 */

/** per-call: today's protocol (src/budgets/README.md). lease: admit against leased slices, no
 * Redis round trip before forwarding. lease+check: leases, plus the one read per call that keeps
 * revocation immediate. */
export type Mode = "per-call" | "lease" | "lease+check";

/**
 * Deliberately wrong leases, for the test that shows the checker catches them:
 *   no-shrink         a grant is what the isolate asks for, whatever the headroom;
 *   refund-in-flight  closing a lease refunds the part still covering calls in flight;
 *   short-expiry      a lease expires at the end of its window, before its calls can settle.
 */
export type Broken = "no-shrink" | "refund-in-flight" | "short-expiry";

export interface LeasePolicy {
  /** W: an isolate admits against a lease only this long after its last grant, and only for keys
   * it checked in Redis this recently — the bound on staleness (revocation, rule changes). */
  windowMs: number;
  /** S: one grant takes at most 1/S of the counter's headroom, so grants shrink as the cap nears. */
  share: number;
  /** A grant must fit this many calls of the asking call's worst case, else a per-call hold. */
  minCalls: number;
  /** No grant once settled + holds + leases reach this percent of the cap. */
  stopPct: number;
  /** The isolate asks for this many times the worst cases it saw in the last window. */
  demandFactor: number;
  broken?: Broken;
}

export interface ProtocolConfig {
  /** How long a hold (and a lease past its window) counts without a settle: the Worker's 15 min. */
  holdMs: number;
  /** How long a call may wait for holds in flight (the default x-tollgate-max-wait-ms). */
  maxWaitMs: number;
  /** Group commit: a finished call's settle waits this long for an admit to ride on. */
  groupCommitMs: number;
  lease: LeasePolicy;
}

export const DEFAULT_PROTOCOL: ProtocolConfig = {
  holdMs: 15 * 60_000,
  maxWaitMs: 5_000,
  groupCommitMs: 20,
  lease: { windowMs: 2_000, share: 8, minCalls: 4, stopPct: 90, demandFactor: 2 },
};
