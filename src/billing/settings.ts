/**
 * What the hot path needs to rate a call: the account's plans, its default plan, each tenant's own
 * plan and the zone of its invoice periods. Part of the account's settings (src/account-settings.ts:
 * one JSON value in Redis, cached per isolate for seconds), so rating costs no round trip; a plan
 * change reaches every isolate within that cache's lifetime.
 */
import { and, eq, isNotNull } from "drizzle-orm";
import { accountBilling, billingPlans, tenantBilling } from "../../schema/billing";
import type { Db } from "../lib/db";
import { AT_COST, type Plan } from "./plan";

export interface BillingSettings {
  timeZone: string;
  plans: Record<string, Plan>;
  defaultPlanId: string | null;
  /** tenant → plan id, for tenants with a plan of their own. */
  tenantPlanIds: Record<string, string>;
}

export const NO_BILLING: BillingSettings = { timeZone: "UTC", plans: {}, defaultPlanId: null, tenantPlanIds: {} };

export async function loadBillingSettings(db: Db, accountId: string): Promise<BillingSettings> {
  const [[account], plans, tenants] = await Promise.all([
    db.select().from(accountBilling).where(eq(accountBilling.accountId, accountId)),
    db.select().from(billingPlans).where(eq(billingPlans.accountId, accountId)),
    db
      .select({ tenant: tenantBilling.tenant, planId: tenantBilling.planId })
      .from(tenantBilling)
      .where(and(eq(tenantBilling.accountId, accountId), isNotNull(tenantBilling.planId))),
  ]);
  return {
    timeZone: account?.timeZone ?? "UTC",
    defaultPlanId: account?.defaultPlanId ?? null,
    plans: Object.fromEntries(
      plans.map((p) => [p.id, { id: p.id, name: p.name, version: p.version, definition: p.definition }]),
    ),
    tenantPlanIds: Object.fromEntries(tenants.map((t) => [t.tenant, t.planId!])),
  };
}

/** The plan a tenant's calls are rated under: its own, else the account's default, else at cost. */
export function planOf(billing: BillingSettings | undefined, tenant: string): Plan {
  if (!billing) return AT_COST;
  const id = billing.tenantPlanIds[tenant] ?? billing.defaultPlanId;
  return (id && billing.plans[id]) || AT_COST;
}
