/**
 * Postgres is the truth for rules and key limits; Redis holds what the admission script reads.
 * These functions copy the one into the other: after an admin change (one scope's field), and on
 * a miss (the whole account, or one key) — a new Redis, a flush, an eviction.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { keyLimits } from "../../schema/budgets";
import { budgetRules, gatewayKeys } from "../../schema/index";
import { writeKeyCopy } from "../key-copy";
import type { Db } from "../lib/db";
import { runScript, type ScriptRedis } from "../lib/redis";
import { budgetKeys } from "./keys";
import type { Period } from "./periods";
import { type BudgetRule, encodeRule, encodeRulesIndex, type Mode, type ScopeType, scopeField } from "./rules";
import { RULES_LOAD_SCRIPT, RULES_PUT_SCRIPT } from "./scripts";

export function ruleFromRow(row: typeof budgetRules.$inferSelect): BudgetRule {
  return {
    id: row.id,
    accountId: row.accountId,
    scopeType: row.scopeType as ScopeType,
    scopeId: row.scopeId,
    period: row.period as Period,
    capNano: row.capNano,
    mode: row.mode as Mode,
    alertAt: [...row.alertAt].sort((a, b) => a - b),
    throttleAt: row.throttleAt ?? null,
  };
}

export async function listRules(db: Db, accountId: string): Promise<BudgetRule[]> {
  const rows = await db.select().from(budgetRules).where(eq(budgetRules.accountId, accountId));
  return rows.map(ruleFromRow).sort((a, b) => a.id.localeCompare(b.id));
}

/** Rebuilds an account's whole rules hash from Postgres. */
export async function loadRulesIntoRedis(
  redis: ScriptRedis,
  db: Db,
  accountId: string,
  now: number,
): Promise<BudgetRule[]> {
  const rules = await listRules(db, accountId);
  await writeRulesToRedis(redis, accountId, rules, now);
  return rules;
}

/** Replaces the account's rules hash with these rules (all of the account's rules). */
export async function writeRulesToRedis(
  redis: ScriptRedis,
  accountId: string,
  rules: BudgetRule[],
  now: number,
): Promise<void> {
  const args: string[] = [String(now)];
  for (const [field, value] of Object.entries(encodeRulesIndex(rules))) args.push(field, value);
  await runScript(redis, RULES_LOAD_SCRIPT, [budgetKeys.rules(accountId)], args);
}

/**
 * After a rule of this scope was created, changed or deleted: rewrites the scope's field from
 * Postgres (in a loaded hash only; an unloaded one is rebuilt whole by the next call).
 */
export async function syncScopeToRedis(
  redis: Redis,
  db: Db,
  accountId: string,
  scopeType: ScopeType,
  scopeId: string | null,
): Promise<void> {
  const rules = (await listRules(db, accountId)).filter((r) => r.scopeType === scopeType && r.scopeId === scopeId);
  const value = rules.map(encodeRule).sort().join(";");
  await runScript(redis, RULES_PUT_SCRIPT, [budgetKeys.rules(accountId)], [scopeField(scopeType, scopeId), value]);
}

/**
 * Writes a gateway key's Redis hash from Postgres, with its rate limits and the `lim` mark the
 * admission script requires. false: no such key.
 */
export async function loadKeyIntoRedis(redis: ScriptRedis, db: Db, keyHash: string): Promise<boolean> {
  const [row] = await db
    .select({ key: gatewayKeys, limits: keyLimits })
    .from(gatewayKeys)
    .leftJoin(keyLimits, eq(keyLimits.keyId, gatewayKeys.id))
    .where(eq(gatewayKeys.keyHash, keyHash));
  if (!row) return false;
  await writeKeyCopy(
    redis,
    keyHash,
    {
      id: row.key.id,
      accountId: row.key.accountId,
      environment: row.key.environment,
      name: row.key.name,
      revoked: row.key.revokedAt !== null,
    },
    {
      requestsPerMinute: row.limits?.requestsPerMinute ?? null,
      tokensPerMinute: row.limits?.tokensPerMinute ?? null,
      maxWaitMs: row.limits?.maxWaitMs ?? null,
    },
  );
  return true;
}

/**
 * After a key is revoked: its calls still waiting for budget holds must not be handed one (the
 * settle that would hand it checks this set, in the account's own slot). A wait is at most
 * MAX_WAIT_LIMIT_MS, so the mark only has to outlive that.
 */
export async function markKeyRevoked(redis: ScriptRedis, accountId: string, keyId: string): Promise<void> {
  const key = budgetKeys.revokedKeys(accountId);
  await redis.exec(["SADD", key, keyId]);
  await redis.exec(["EXPIRE", key, 120]);
}
