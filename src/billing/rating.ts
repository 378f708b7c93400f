/**
 * The period price function P of a plan (src/billing/plan.ts) and a call's billed amount, the
 * increment P(after) − P(before) (docs/billing.md §2), in bigint. Rounding happens in one place:
 * P is rounded half-up to an integer nano-USD, so increments telescope and Σ records = P(period).
 *
 * The settle script (src/billing/lua.ts) computes the same increments against the state it keeps
 * in Redis; this module is the reference it is tested against (test/unit/billing-wallet.test.ts,
 * src/billing/rating.test.ts), and what invoices (P of the period) and re-rating (the increments in record order) use.
 *
 * Rating state: for markup and unit plans the exact sum S of the scaled amounts (P = S / D rounded
 * half-up, D = 10,000 or 1,000,000); for graduated and package plans the period's quantity q.
 */
import { TOKEN_BUCKETS, type TokenBucket, totalInputTokens, totalOutputTokens, type Usage } from "../usage";
import type { Meter, Plan, PlanDefinition, Tier } from "./plan";

/** What one call adds: its usage and our cost of it (0 when unpriced). */
export interface CallAmounts {
  usage: Usage;
  costNano: bigint;
}

export interface RatingState {
  /** Markup and unit plans: Σ of the calls' scaled amounts (nano-USD × D). */
  s: bigint;
  /** Graduated and package plans: the period's quantity of the meter. */
  q: bigint;
}

export const EMPTY_STATE: RatingState = { s: 0n, q: 0n };
export const MILLION = 1_000_000n;
export const BP = 10_000n;

/** roundHalfUp(n / d) for n ≥ 0, d > 0. */
export const roundHalfUp = (n: bigint, d: bigint): bigint => (2n * n + d) / (2n * d);
const ceilDiv = (n: bigint, d: bigint): bigint => (n + d - 1n) / d;
const max0 = (n: bigint) => (n < 0n ? 0n : n);

/** The call's quantity of a meter. */
export function meterQuantity(meter: Meter, call: CallAmounts): bigint {
  const u = call.usage;
  switch (meter) {
    case "tokens":
      return BigInt(totalInputTokens(u) + totalOutputTokens(u));
    case "input_tokens":
      return BigInt(totalInputTokens(u));
    case "output_tokens":
      return BigInt(totalOutputTokens(u));
    case "requests":
      return 1n;
    case "cost":
      return call.costNano;
  }
}

/** The denominator of a linear plan's scaled amounts. */
export const linearDenominator = (d: PlanDefinition): bigint => (d.kind === "markup" ? BP : MILLION);

/** A linear (markup or unit) plan's scaled amount of one call: billed = s / D before rounding. */
export function scaledAmount(d: PlanDefinition, call: CallAmounts): bigint {
  if (d.kind === "markup") return call.costNano * (BP + BigInt(d.markupBp));
  if (d.kind !== "unit") throw new Error(`${d.kind} plans are not linear`);
  let s = 0n;
  for (const b of TOKEN_BUCKETS) s += BigInt(call.usage[b]) * BigInt(d.ratesPerMTokNano[b] ?? 0);
  return s;
}

/** N(q) of a graduated plan: Σ over entered tiers of flat × 1e6 + rate × units in the tier. */
export function tierNumerator(tiers: Tier[], q: bigint): bigint {
  let n = 0n;
  let start = 0n;
  for (const t of tiers) {
    if (q <= start) break;
    const top = t.upTo === null || BigInt(t.upTo) > q ? q : BigInt(t.upTo);
    n += BigInt(t.flatNano) * MILLION + BigInt(t.ratePerMillion) * (top - start);
    if (t.upTo === null) break;
    start = BigInt(t.upTo);
  }
  return n;
}

/** Gross price of the state (before a markup/unit plan's free allowance). */
function gross(d: PlanDefinition, st: RatingState): bigint {
  switch (d.kind) {
    case "markup":
    case "unit":
      return roundHalfUp(st.s, linearDenominator(d));
    case "graduated":
      return roundHalfUp(tierNumerator(d.tiers, st.q), MILLION);
    case "package":
      return ceilDiv(max0(st.q - BigInt(d.allowance)), BigInt(d.packageSize)) * BigInt(d.packagePriceNano);
  }
}

/** P of a state: what the period so far costs under the plan. */
export function priceOf(d: PlanDefinition, st: RatingState): bigint {
  const g = gross(d, st);
  return d.kind === "markup" || d.kind === "unit" ? max0(g - BigInt(d.freeAllowanceNano)) : g;
}

/** The free allowance used by a state: nano-USD (markup, unit) or units (graduated, package). */
export function allowanceUsed(d: PlanDefinition, st: RatingState): bigint {
  switch (d.kind) {
    case "markup":
    case "unit": {
      const g = gross(d, st);
      const a = BigInt(d.freeAllowanceNano);
      return g < a ? g : a;
    }
    case "graduated": {
      const first = d.tiers[0];
      if (first?.ratePerMillion !== 0 || first.flatNano !== 0 || first.upTo === null) return 0n;
      return st.q < BigInt(first.upTo) ? st.q : BigInt(first.upTo);
    }
    case "package":
      return st.q < BigInt(d.allowance) ? st.q : BigInt(d.allowance);
  }
}

/** The state after a call. */
export function advance(d: PlanDefinition, st: RatingState, call: CallAmounts): RatingState {
  if (d.kind === "markup" || d.kind === "unit") return { s: st.s + scaledAmount(d, call), q: st.q };
  return { s: st.s, q: st.q + meterQuantity(d.meter, call) };
}

/** One call rated: its billed amount (the increment of P) and the state after it. */
export function rateCall(plan: Plan, st: RatingState, call: CallAmounts): { billedNano: bigint; state: RatingState } {
  const next = advance(plan.definition, st, call);
  return { billedNano: priceOf(plan.definition, next) - priceOf(plan.definition, st), state: next };
}

/**
 * The most a call can be billed, whatever the period's state: what the wallet holds. For unit and
 * markup plans rounding can add at most 1 nano-USD to the exact amount; a graduated plan is held at
 * its dearest rate plus every flat fee (a call may enter all tiers); a package plan at one more
 * package than the call's quantity fills.
 */
export function ratedWorstNano(plan: Plan, worst: CallAmounts): bigint {
  const d = plan.definition;
  switch (d.kind) {
    case "markup":
    case "unit":
      return scaledAmount(d, worst) / linearDenominator(d) + 1n;
    case "graduated": {
      const q = meterQuantity(d.meter, worst);
      const rate = BigInt(Math.max(...d.tiers.map((t) => t.ratePerMillion)));
      const flats = d.tiers.reduce((s, t) => s + BigInt(t.flatNano), 0n);
      return (q * rate) / MILLION + flats + 1n;
    }
    case "package": {
      const q = meterQuantity(d.meter, worst);
      return (ceilDiv(q, BigInt(d.packageSize)) + 1n) * BigInt(d.packagePriceNano);
    }
  }
}

/**
 * The settle script's rating program for one call (src/billing/lua.ts rate_call reads it):
 *   lin|D|sHi|sLo|allowance     add s = sHi × D + sLo to the state's (hi, lo)
 *   tier|q|upTo:flat:rate;…     add q to the state's quantity (upTo "" = no end); D = 1e6
 *   pkg|q|size|price|allowance  add q to the state's quantity
 */
export function ratingProgram(plan: Plan, call: CallAmounts): string {
  const d = plan.definition;
  switch (d.kind) {
    case "markup":
    case "unit": {
      const D = linearDenominator(d);
      const s = scaledAmount(d, call);
      return `lin|${D}|${s / D}|${s % D}|${d.freeAllowanceNano}`;
    }
    case "graduated":
      return `tier|${meterQuantity(d.meter, call)}|${d.tiers.map((t) => `${t.upTo ?? ""}:${t.flatNano}:${t.ratePerMillion}`).join(";")}`;
    case "package":
      return `pkg|${meterQuantity(d.meter, call)}|${d.packageSize}|${d.packagePriceNano}|${d.allowance}`;
  }
}

/** A period's totals, for P of the period (invoices): the sum of its calls' amounts. */
export function totalState(plan: Plan, calls: Iterable<CallAmounts>): RatingState {
  let st = EMPTY_STATE;
  for (const c of calls) st = advance(plan.definition, st, c);
  return st;
}

export type { TokenBucket };
