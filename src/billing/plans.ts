/**
 * Plans as an operator manages them (Postgres holds them; the hot path reads them from the account's
 * cached settings, refreshed after every change: src/billing/settings.ts): an account's plans, its
 * default plan and time zone, and each tenant's own plan. Changing a plan's definition gives it a
 * new version; calls from then on are rated in a new rating state for that version, and an open
 * period can be re-rated under it (src/billing/rerate.ts).
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq, sql } from "drizzle-orm";
import { accountBilling, billingPlans, tenantBilling } from "../../schema/billing";
import { refreshAccountSettings } from "../account-settings";
import { sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { newId } from "../lib/ids";
import { AT_COST, type Plan, type PlanDefinition, planProblems } from "./plan";
import { loadBillingSettings, planOf } from "./settings";

export type PlanRow = typeof billingPlans.$inferSelect;

interface Stores {
  db: Db;
  redis: Redis;
}

const version = async (id: string, d: PlanDefinition) => `${id}.${(await sha256Hex(JSON.stringify(d))).slice(0, 12)}`;

function check(d: PlanDefinition): void {
  const problems = planProblems(d);
  if (problems.length) {
    throw new GatewayError(
      "invalid_request",
      `invalid plan: ${problems.join("; ")}`,
      {},
      problems.map((message) => ({ path: "(plan)", message })),
    );
  }
}

export const planFromRow = (p: PlanRow): Plan => ({
  id: p.id,
  name: p.name,
  version: p.version,
  definition: p.definition,
});

export async function createPlan(
  { db, redis }: Stores,
  accountId: string,
  name: string,
  d: PlanDefinition,
): Promise<PlanRow> {
  check(d);
  const id = newId("pln");
  const [row] = await db
    .insert(billingPlans)
    .values({ id, accountId, name, definition: d, version: await version(id, d) })
    .returning();
  await refreshAccountSettings(redis, db, accountId);
  return row!;
}

export async function requirePlan(db: Db, accountId: string, planId: string): Promise<PlanRow> {
  const [row] = await db
    .select()
    .from(billingPlans)
    .where(and(eq(billingPlans.accountId, accountId), eq(billingPlans.id, planId)));
  if (!row) throw new GatewayError("not_found", `No plan ${planId} in account ${accountId}.`);
  return row;
}

export async function listPlans(db: Db, accountId: string): Promise<PlanRow[]> {
  return db.select().from(billingPlans).where(eq(billingPlans.accountId, accountId)).orderBy(billingPlans.createdAt);
}

export async function replacePlan(
  { db, redis }: Stores,
  accountId: string,
  planId: string,
  name: string,
  d: PlanDefinition,
): Promise<PlanRow> {
  check(d);
  await requirePlan(db, accountId, planId);
  const [row] = await db
    .update(billingPlans)
    .set({ name, definition: d, version: await version(planId, d), updatedAt: sql`now()` })
    .where(and(eq(billingPlans.accountId, accountId), eq(billingPlans.id, planId)))
    .returning();
  await refreshAccountSettings(redis, db, accountId);
  return row!;
}

export interface AccountBillingInput {
  timeZone?: string;
  defaultPlanId?: string | null;
}

export async function setAccountBilling({ db, redis }: Stores, accountId: string, input: AccountBillingInput) {
  if (input.defaultPlanId) await requirePlan(db, accountId, input.defaultPlanId);
  const set = {
    ...(input.timeZone !== undefined ? { timeZone: input.timeZone } : {}),
    ...(input.defaultPlanId !== undefined ? { defaultPlanId: input.defaultPlanId } : {}),
  };
  await db
    .insert(accountBilling)
    .values({ accountId, ...set })
    .onConflictDoUpdate({ target: accountBilling.accountId, set: { ...set, updatedAt: sql`now()` } });
  await refreshAccountSettings(redis, db, accountId);
  return readAccountBilling(db, accountId);
}

export async function readAccountBilling(db: Db, accountId: string) {
  const [row] = await db.select().from(accountBilling).where(eq(accountBilling.accountId, accountId));
  return { timeZone: row?.timeZone ?? "UTC", defaultPlanId: row?.defaultPlanId ?? null };
}

/** A tenant's own plan (null: the account's default). */
export async function setTenantPlan({ db, redis }: Stores, accountId: string, tenant: string, planId: string | null) {
  if (planId) await requirePlan(db, accountId, planId);
  await db
    .insert(tenantBilling)
    .values({ accountId, tenant, planId })
    .onConflictDoUpdate({
      target: [tenantBilling.accountId, tenantBilling.tenant],
      set: { planId, updatedAt: sql`now()` },
    });
  await refreshAccountSettings(redis, db, accountId);
  return tenantPlan(db, accountId, tenant);
}

/** The plan a tenant is rated under now, and where it comes from. */
export async function tenantPlan(db: Db, accountId: string, tenant: string) {
  const billing = await loadBillingSettings(db, accountId);
  const plan = planOf(billing, tenant);
  const own = billing.tenantPlanIds[tenant] ?? null;
  const source: "tenant" | "default" | "at_cost" =
    plan === AT_COST ? "at_cost" : own && billing.plans[own] ? "tenant" : "default";
  return { tenant, planId: own, plan, source };
}
