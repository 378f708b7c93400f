/**
 * Rating plans: what a tenant is billed for its calls, as integers (docs/billing.md §1–2).
 *
 * Every plan is a period price function P over the tenant's usage in one invoice period (a calendar
 * month in the account's time zone); a call is billed the increment P(after) − P(before), so the
 * records of a period always add up to P of the period (src/billing/rating.ts).
 *
 *   markup     P(C) = roundHalfUp(C × (10000 + markupBp) / 10000), C = our cost (nano-USD)
 *   unit       P(Q) = roundHalfUp(Σ_b Q_b × rate_b / 1e6), rate_b nano-USD per million tokens of bucket b
 *   graduated  P(q) = roundHalfUp(Σ_tiers entered (flat × 1e6 + rate × units in tier) / 1e6) over one meter
 *   package    P(q) = ceil(max(0, q − allowance) / size) × price
 *
 * A free allowance: on markup and unit plans the first `freeAllowanceNano` of each period's price is
 * free (P' = max(0, P − A)); on graduated plans a first tier at rate 0; on package plans the first
 * `allowance` units. No volume plans: crossing a volume tier lowers P, which a wallet cannot take
 * back from calls already debited (docs/billing.md §2 allows forbidding them, as Lago does).
 *
 * Bounds keep every intermediate below 2^53, so the settle script (Lua doubles) computes exactly
 * what this module computes with bigint.
 */
import type { TokenBucket } from "../usage";

/** What a graduated or package plan counts: tokens of a kind, calls, or our cost in nano-USD. */
export const METERS = ["tokens", "input_tokens", "output_tokens", "requests", "cost"] as const;
export type Meter = (typeof METERS)[number];

export const PLAN_KINDS = ["markup", "unit", "graduated", "package"] as const;
export type PlanKind = (typeof PLAN_KINDS)[number];

/** A graduated tier: units of the meter below `upTo` (exclusive, cumulative; null = no end). */
export interface Tier {
  upTo: number | null;
  /** nano-USD per 1,000,000 units of the meter (per Mtok; for the cost meter 1,000,000 = at cost). */
  ratePerMillion: number;
  /** nano-USD charged once when the period's quantity first enters the tier. */
  flatNano: number;
}

export type PlanDefinition =
  | { kind: "markup"; markupBp: number; freeAllowanceNano: number }
  | { kind: "unit"; ratesPerMTokNano: Partial<Record<TokenBucket, number>>; freeAllowanceNano: number }
  | { kind: "graduated"; meter: Meter; tiers: Tier[] }
  | { kind: "package"; meter: Meter; packageSize: number; packagePriceNano: number; allowance: number };

export interface Plan {
  id: string;
  name: string;
  /** Changes whenever the definition does: rating state and records carry it. */
  version: string;
  definition: PlanDefinition;
}

/** The plan of a tenant without one and of an account without any: billed = our cost (docs/billing.md). */
export const AT_COST: Plan = {
  id: "at_cost",
  name: "At cost",
  version: "at_cost",
  definition: { kind: "markup", markupBp: 0, freeAllowanceNano: 0 },
};

/** Limits that keep the settle script's doubles exact (src/budgets/rules.ts MAX_CAP_NANO for money). */
export const MAX_RATE_PER_MILLION = 1_000_000_000_000; // $1,000 per million units
export const MAX_MARKUP_BP = 1_000_000; // 100× our cost
export const MAX_QUANTITY = 1_000_000_000_000_000; // per period
export const MAX_TIERS = 20;

/** Is this plan billed = our cost, so no rating state is needed? */
export function isAtCost(plan: Plan): boolean {
  const d = plan.definition;
  return d.kind === "markup" && d.markupBp === 0 && d.freeAllowanceNano === 0;
}

/** A description of what is wrong with a definition (the admin API's 400), or null. */
export function planProblems(d: PlanDefinition): string[] {
  const out: string[] = [];
  const int = (v: number, name: string, min: number, max: number) => {
    if (!Number.isSafeInteger(v) || v < min || v > max) out.push(`${name} must be an integer from ${min} to ${max}`);
  };
  switch (d.kind) {
    case "markup":
      int(d.markupBp, "markupBp", 0, MAX_MARKUP_BP);
      int(d.freeAllowanceNano, "freeAllowance", 0, Number.MAX_SAFE_INTEGER);
      break;
    case "unit":
      for (const [b, r] of Object.entries(d.ratesPerMTokNano)) int(r ?? 0, `rates.${b}`, 0, MAX_RATE_PER_MILLION);
      int(d.freeAllowanceNano, "freeAllowance", 0, Number.MAX_SAFE_INTEGER);
      break;
    case "graduated": {
      if (d.tiers.length === 0 || d.tiers.length > MAX_TIERS) out.push(`tiers: 1 to ${MAX_TIERS}`);
      let last = 0;
      d.tiers.forEach((t, i) => {
        int(t.ratePerMillion, `tiers.${i}.rate`, 0, MAX_RATE_PER_MILLION);
        int(t.flatNano, `tiers.${i}.flat`, 0, Number.MAX_SAFE_INTEGER);
        if (t.upTo === null) {
          if (i !== d.tiers.length - 1) out.push(`tiers.${i}.upTo: only the last tier may be open-ended`);
        } else {
          int(t.upTo, `tiers.${i}.upTo`, 1, MAX_QUANTITY);
          if (t.upTo <= last) out.push(`tiers.${i}.upTo must be above the previous tier's`);
          last = t.upTo;
        }
      });
      if (d.tiers.at(-1)?.upTo !== null) out.push("the last tier must be open-ended (upTo null)");
      break;
    }
    case "package":
      int(d.packageSize, "packageSize", 1, MAX_QUANTITY);
      int(d.packagePriceNano, "packagePrice", 0, Number.MAX_SAFE_INTEGER);
      int(d.allowance, "allowance", 0, MAX_QUANTITY);
      break;
  }
  return out;
}
