/**
 * A tenant's low-balance thresholds and auto top-up rule (docs/billing.md §6). Postgres holds them;
 * the live wallet gets them at once (each threshold armed when the balance is at or above it), so
 * the next settle that crosses one fires it.
 */
import { and, eq, sql } from "drizzle-orm";
import { creditGrants, tenantBilling } from "../../schema/billing";
import { budgetKeys } from "../budgets/keys";
import type { Db } from "../lib/db";
import { runScript, type ScriptRedis } from "../lib/redis";
import { WALLET_SETTINGS_SCRIPT } from "./scripts";
import { encodeWalletSettings, loadWallet } from "./store";

export interface TopUpRule {
  thresholdNano: number;
  amountNano: number;
  cooldownSeconds: number;
}

export interface WalletSettings {
  lowBalanceNano: number[];
  topUp: TopUpRule | null;
}

export async function readWalletSettings(db: Db, accountId: string, tenant: string): Promise<WalletSettings> {
  const [row] = await db
    .select()
    .from(tenantBilling)
    .where(and(eq(tenantBilling.accountId, accountId), eq(tenantBilling.tenant, tenant)));
  return { lowBalanceNano: row?.lowBalanceNano ?? [], topUp: row?.topUp ?? null };
}

export async function writeWalletSettings(
  { db, redis }: { db: Db; redis: ScriptRedis },
  accountId: string,
  tenant: string,
  settings: WalletSettings,
  now: number,
): Promise<WalletSettings> {
  const lowBalanceNano = [...new Set(settings.lowBalanceNano)].sort((a, b) => b - a);
  const [row] = await db
    .insert(tenantBilling)
    .values({ accountId, tenant, lowBalanceNano, topUp: settings.topUp })
    .onConflictDoUpdate({
      target: [tenantBilling.accountId, tenantBilling.tenant],
      set: { lowBalanceNano, topUp: settings.topUp, updatedAt: sql`now()` },
    })
    .returning();
  const { thresholds, topUp } = encodeWalletSettings(row);
  const applied = await runScript(
    redis,
    WALLET_SETTINGS_SCRIPT,
    [],
    [budgetKeys.prefix(accountId), tenant, String(now), thresholds, topUp],
  );
  // A wallet Redis does not hold yet gets the settings when it is loaded; only prepaid tenants have one.
  if (Number(applied) !== 1) {
    const [grant] = await db
      .select({ id: creditGrants.id })
      .from(creditGrants)
      .where(and(eq(creditGrants.accountId, accountId), eq(creditGrants.tenant, tenant)))
      .limit(1);
    if (grant) await loadWallet(redis, db, accountId, tenant, now);
  }
  return { lowBalanceNano, topUp: row?.topUp ?? null };
}
