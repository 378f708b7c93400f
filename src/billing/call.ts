/**
 * One proxied call's billing, computed on the hot path from the account's cached settings (no
 * round trip): the plan its tenant is rated under, the invoice period it belongs to (the month its
 * request started in, in the account's zone), where its rating state lives — and, at admission, the
 * rated worst case the tenant's wallet must hold (docs/billing.md §5); after the call, what the
 * settle script is asked to rate.
 */
import { COUNTER_GRACE_SECONDS } from "../budgets/periods";
import type { Usage } from "../usage";
import { billingKeys } from "./keys";
import { isAtCost, type Plan } from "./plan";
import { type CallAmounts, ratedWorstNano, ratingProgram } from "./rating";
import { type BillingSettings, planOf } from "./settings";
import { monthOf } from "./zone";

export interface CallBilling {
  tenant: string;
  plan: Plan;
  periodKey: string;
  stateKey: string;
  /** When the period's rating state may go (its end + grace), unix seconds by the Worker's clock. */
  stateExpireAt: number;
}

/** null: the call has no tenant (nobody to bill; its record is billed at our cost). */
export function callBilling(
  accountId: string,
  billing: BillingSettings | undefined,
  tenant: string | null,
  startedAt: number,
): CallBilling | null {
  if (!tenant) return null;
  const plan = planOf(billing, tenant);
  const month = monthOf(billing?.timeZone ?? "UTC", startedAt);
  return {
    tenant,
    plan,
    periodKey: month.key,
    stateKey: billingKeys.ratingState(accountId, month.key, plan.version, tenant),
    stateExpireAt: Math.floor(month.endMs / 1000) + COUNTER_GRACE_SECONDS,
  };
}

/** Whether the plan's price depends on our cost (then an unpriced model cannot be rated). */
function ratesCost(plan: Plan): boolean {
  const d = plan.definition;
  return d.kind === "markup" || ((d.kind === "graduated" || d.kind === "package") && d.meter === "cost");
}

/**
 * What the wallet check of the admission needs: the most the call can be billed over the usage
 * shapes its worst case allows (src/proxy/admit.ts worstCase), under the tenant's plan.
 */
export function walletCheck(
  b: CallBilling,
  shapes: CallAmounts[],
  unpriced: boolean,
): { tenant: string; ratedWorstNano: bigint; unrated: boolean } {
  let worst = 0n;
  for (const s of shapes) {
    const rated = isAtCost(b.plan) ? s.costNano : ratedWorstNano(b.plan, s);
    if (rated > worst) worst = rated;
  }
  return { tenant: b.tenant, ratedWorstNano: worst, unrated: unpriced && ratesCost(b.plan) };
}

/**
 * What the settle does for the call: rate it (plans other than at cost) and debit a prepaid
 * tenant's wallet; null when neither applies (billed = our cost, nothing kept in Redis).
 */
export function settleBilling(
  b: CallBilling | null,
  prepaid: boolean,
  usage: Usage | null,
  costNano: bigint,
): { program: string; stateKey: string; stateExpireAt: number; planVersion: string } | null {
  if (!b || (isAtCost(b.plan) && !prepaid)) return null;
  // No usage (an error, an unmetered answer): nothing to rate, and the period's quantity does not move.
  const program = usage && !isAtCost(b.plan) ? ratingProgram(b.plan, { usage, costNano }) : "";
  return { program, stateKey: b.stateKey, stateExpireAt: b.stateExpireAt, planVersion: b.plan.version };
}
