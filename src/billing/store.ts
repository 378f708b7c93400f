/**
 * Postgres is the truth for grants and wallet settings; Redis holds the live wallets the admission
 * and settle scripts read and debit. On a miss (a new Redis, a flush, an eviction) the account's
 * index of prepaid tenants, or one tenant's wallet, is rebuilt from Postgres: each grant's remaining
 * is its amount less the draws of the records in Postgres (credit_grants.drawn_nano, advanced as
 * records land: src/billing/ledger.ts), so the queue of records not yet flushed is flushed first.
 */
import { and, eq } from "drizzle-orm";
import { creditGrants, tenantBilling } from "../../schema/billing";
import { budgetKeys } from "../budgets/keys";
import { RULES_LOAD_SCRIPT } from "../budgets/scripts";
import type { Db } from "../lib/db";
import { runScript, type ScriptRedis } from "../lib/redis";
import { flushRecords } from "../records/record";
import { billingKeys, grantField } from "./keys";
import { WALLET_LOAD_SCRIPT } from "./scripts";

/** An account's prepaid tenants (every tenant that ever received a grant), in Redis. */
export async function loadWalletIndex(redis: ScriptRedis, db: Db, accountId: string, now: number): Promise<void> {
  const rows = await db
    .selectDistinct({ tenant: creditGrants.tenant })
    .from(creditGrants)
    .where(eq(creditGrants.accountId, accountId));
  // The same replace-a-hash-with-its-stamp script the rules use.
  const args = [String(now), ...rows.flatMap((r) => [r.tenant, "1"])];
  await runScript(redis, RULES_LOAD_SCRIPT, [billingKeys.walletIndex(accountId)], args);
}

/** Thresholds and the top-up rule as the scripts take them. */
export function encodeWalletSettings(row: typeof tenantBilling.$inferSelect | undefined): {
  thresholds: string;
  topUp: string;
} {
  const t = row?.topUp;
  return {
    thresholds: (row?.lowBalanceNano ?? []).join(","),
    topUp: t ? `${t.thresholdNano}|${t.amountNano}|${t.cooldownSeconds}` : "",
  };
}

/** One tenant's wallet, rebuilt from Postgres (a no-op when another load got there first). */
export async function loadWallet(
  redis: ScriptRedis,
  db: Db,
  accountId: string,
  tenant: string,
  now: number,
): Promise<void> {
  await flushRecords({ db: () => db, redis });
  const [grants, [settings]] = await Promise.all([
    db
      .select()
      .from(creditGrants)
      .where(and(eq(creditGrants.accountId, accountId), eq(creditGrants.tenant, tenant))),
    db
      .select()
      .from(tenantBilling)
      .where(and(eq(tenantBilling.accountId, accountId), eq(tenantBilling.tenant, tenant))),
  ]);
  const debt = (settings?.overageNano ?? 0n) - (settings?.overageInvoicedNano ?? 0n);
  const { thresholds, topUp } = encodeWalletSettings(settings);
  const args = [
    budgetKeys.prefix(accountId),
    tenant,
    String(now),
    String(now),
    (debt > 0n ? debt : 0n).toString(),
    String(settings?.topUpSeq ?? 0),
    thresholds,
    topUp,
  ];
  for (const g of grants) {
    const remaining = g.amountNano - g.drawnNano;
    if (remaining > 0n) args.push(grantField(grantKey(g)), remaining.toString());
  }
  await runScript(redis, WALLET_LOAD_SCRIPT, [], args);
}

/** What orders a grant (src/billing/keys.ts grantField). */
export function grantKey(g: typeof creditGrants.$inferSelect) {
  return {
    id: g.id,
    priority: g.priority,
    expiresAtMs: g.expiresAt ? g.expiresAt.getTime() : null,
    createdAtMs: g.createdAt.getTime(),
    effectiveAtMs: g.effectiveAt.getTime(),
  };
}

/** Rebuilds what Redis lost: the index of prepaid tenants, or one tenant's wallet. */
export type WalletLoader = (what: "index" | "wallet", accountId: string, tenant: string) => Promise<void>;

/** The admission's loader (src/budgets/admit.ts AdmitDeps.loadWallet). */
export function walletLoader(redis: ScriptRedis, db: () => Db, now: number): WalletLoader {
  return async (what, accountId, tenant) => {
    if (what === "index") await loadWalletIndex(redis, db(), accountId, now);
    else await loadWallet(redis, db(), accountId, tenant, now);
  };
}
