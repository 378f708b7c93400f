/**
 * Budget rules as an operator manages them: Postgres holds them; every change is copied into the
 * account's Redis rules hash (the scope's one field), which the admission script reads. What the
 * APIs show is each rule with its current period's spent and reserved, exact, from the Redis
 * counters (src/budgets/status.ts).
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { and, eq } from "drizzle-orm";
import { budgetRules } from "../../schema/index";
import { nowDate, nowMs } from "../lib/clock";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { newId } from "../lib/ids";
import { budgetKeys } from "./keys";
import type { Period } from "./periods";
import { applicableRules, type BudgetAttribution, type BudgetRule, type Mode, type ScopeType } from "./rules";
import { budgetStatus, type RuleStatus } from "./status";
import { listRules, ruleFromRow, syncScopeToRedis } from "./store";

export type RuleRow = typeof budgetRules.$inferSelect;

export interface RuleInput {
  scope: { type: ScopeType; id?: string | null };
  period: Period;
  capNano: bigint;
  mode: Mode;
  alertAt: number[];
  /** Percent of the cap past which calls go one at a time; null: never. */
  throttleAt?: number | null;
}

export interface RuleWithStatus {
  rule: BudgetRule;
  status: RuleStatus | undefined;
  row: RuleRow;
}

interface Stores {
  db: Db;
  redis: Redis;
}

const scopeIdOf = (scope: RuleInput["scope"]) => (scope.type === "account" ? null : (scope.id ?? null));
const ascending = (a: number[]) => [...a].sort((x, y) => x - y);

export async function requireRule(db: Db, accountId: string, budgetId: string): Promise<RuleRow> {
  const [row] = await db
    .select()
    .from(budgetRules)
    .where(and(eq(budgetRules.accountId, accountId), eq(budgetRules.id, budgetId)));
  if (!row) throw new GatewayError("not_found", `No budget ${budgetId} in account ${accountId}.`);
  return row;
}

export async function listRuleRows(db: Db, accountId: string): Promise<RuleRow[]> {
  return db
    .select()
    .from(budgetRules)
    .where(eq(budgetRules.accountId, accountId))
    .orderBy(budgetRules.createdAt, budgetRules.id);
}

/** `value`: for `*` rules, read that scope id's counter only (e.g. one tenant). */
export async function withStatus(redis: Redis, rows: RuleRow[], value?: string): Promise<RuleWithStatus[]> {
  const rules = rows.map(ruleFromRow);
  const only: Record<string, string> = {};
  if (value !== undefined) for (const r of rules) if (r.scopeId === "*") only[r.id] = value;
  const accountId = rows[0]?.accountId;
  const status = accountId ? await budgetStatus(redis, accountId, rules, nowMs(), only) : new Map();
  return rows.map((row, i) => ({ rule: rules[i]!, status: status.get(row.id), row }));
}

/** The rules that apply to a call with this attribution, each with the counter it would count on. */
export async function applicableWithStatus(
  { db, redis }: Stores,
  attribution: BudgetAttribution,
): Promise<{ rule: BudgetRule; status: RuleStatus | undefined; appliesTo: string }[]> {
  const applied = applicableRules(await listRules(db, attribution.accountId), attribution);
  const only: Record<string, string> = {};
  for (const a of applied) if (a.member !== "_") only[a.rule.id] = a.value;
  const rules = applied.map((a) => a.rule);
  const status = await budgetStatus(redis, attribution.accountId, rules, nowMs(), only);
  return applied.map((a) => ({ rule: a.rule, status: status.get(a.rule.id), appliesTo: a.value }));
}

/** Copies the changed scopes to Redis; if that fails, drops the hash so the next call rebuilds it. */
async function syncScopes(
  { db, redis }: Stores,
  accountId: string,
  scopes: [ScopeType, string | null][],
): Promise<void> {
  try {
    for (const [type, id] of scopes) await syncScopeToRedis(redis, db, accountId, type, id);
  } catch (err) {
    await redis.del(budgetKeys.rules(accountId)).catch(() => {});
    throw new GatewayError(
      "unavailable",
      `The budget is saved but Redis did not take the change (${(err as Error).message}); the gateway reloads it from Postgres on its next call.`,
    );
  }
}

export async function createRule(stores: Stores, accountId: string, input: RuleInput): Promise<RuleWithStatus> {
  const scopeId = scopeIdOf(input.scope);
  const [row] = await stores.db
    .insert(budgetRules)
    .values({
      id: newId("bud"),
      accountId,
      scopeType: input.scope.type,
      scopeId,
      period: input.period,
      capNano: input.capNano,
      mode: input.mode,
      alertAt: ascending(input.alertAt),
      throttleAt: input.throttleAt ?? null,
    })
    .returning();
  await syncScopes(stores, accountId, [[input.scope.type, scopeId]]);
  const [out] = await withStatus(stores.redis, [row!]);
  return out!;
}

/** This period's counters are kept unless the period changes. */
export async function updateRule(
  stores: Stores,
  accountId: string,
  budgetId: string,
  patch: Partial<RuleInput>,
): Promise<RuleWithStatus> {
  const before = await requireRule(stores.db, accountId, budgetId);
  const scopeType = patch.scope?.type ?? (before.scopeType as ScopeType);
  const scopeId = patch.scope ? scopeIdOf(patch.scope) : before.scopeId;
  const [row] = await stores.db
    .update(budgetRules)
    .set({
      scopeType,
      scopeId,
      ...(patch.period ? { period: patch.period } : {}),
      ...(patch.capNano !== undefined ? { capNano: patch.capNano } : {}),
      ...(patch.mode ? { mode: patch.mode } : {}),
      ...(patch.alertAt ? { alertAt: ascending(patch.alertAt) } : {}),
      ...(patch.throttleAt !== undefined ? { throttleAt: patch.throttleAt } : {}),
      updatedAt: nowDate(),
    })
    .where(eq(budgetRules.id, budgetId))
    .returning();
  const scopes: [ScopeType, string | null][] = [[scopeType, scopeId]];
  if (before.scopeType !== scopeType || before.scopeId !== scopeId) {
    scopes.push([before.scopeType as ScopeType, before.scopeId]);
  }
  await syncScopes(stores, accountId, scopes);
  const [out] = await withStatus(stores.redis, [row!]);
  return out!;
}

/** Calls stop counting against the rule at once. Returns it with its counters as they were. */
export async function deleteRule(stores: Stores, accountId: string, budgetId: string): Promise<RuleWithStatus> {
  const row = await requireRule(stores.db, accountId, budgetId);
  const [out] = await withStatus(stores.redis, [row]);
  await stores.db.delete(budgetRules).where(eq(budgetRules.id, budgetId));
  await syncScopes(stores, accountId, [[row.scopeType as ScopeType, row.scopeId]]);
  return out!;
}
