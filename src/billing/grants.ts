/**
 * Credit grants (docs/billing.md §3): a tenant's first grant makes it prepaid. A grant is written to
 * Postgres first, then into the tenant's live wallet in Redis in one script call (src/billing/scripts.ts
 * WALLET_CREDIT) before the API answers, so the very next call sees it (0 s staleness); a wallet Redis
 * does not hold yet is loaded whole from Postgres instead, which includes the new grant.
 *
 * An idempotency key is unique per tenant: reusing it is a 409 naming the grant it made, so a
 * replayed top-up webhook (src/billing/events.ts) cannot grant twice.
 */
import { and, eq, sql } from "drizzle-orm";
import { creditGrants, tenantBilling } from "../../schema/billing";
import { budgetKeys } from "../budgets/keys";
import { list, named, str } from "../budgets/replies";
import { MAX_CAP_NANO } from "../budgets/rules";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { newId } from "../lib/ids";
import { runScript, type ScriptRedis } from "../lib/redis";
import { grantField } from "./keys";
import { WALLET_CREDIT_SCRIPT } from "./scripts";
import { grantKey, loadWallet } from "./store";

export const CATEGORIES = ["paid", "promotional"] as const;
export type Category = (typeof CATEGORIES)[number];
export const DEFAULT_PRIORITY = 10;

export type GrantRow = typeof creditGrants.$inferSelect;

export interface GrantInput {
  amountNano: bigint;
  priority?: number;
  effectiveAt?: Date;
  expiresAt?: Date | null;
  category?: Category;
  /** What the tenant paid (default: the amount for paid grants, 0 for promotional ones). */
  costBasisNano?: bigint;
  idempotencyKey?: string;
  source?: "api" | "topup";
}

/** A balance that rose back to a threshold after a grant (an alert: wallet.recovered). */
export interface Recovery {
  thresholdNano: bigint;
  balanceNano: bigint;
}

interface Stores {
  db: Db;
  redis: ScriptRedis;
}

export async function createGrant(
  { db, redis }: Stores,
  accountId: string,
  tenant: string,
  input: GrantInput,
  now: number,
): Promise<{ grant: GrantRow; recovered: Recovery[] }> {
  const effectiveAt = input.effectiveAt ?? new Date(now);
  if (input.expiresAt && input.expiresAt.getTime() <= effectiveAt.getTime()) {
    throw new GatewayError("invalid_request", "expiresAt must be after effectiveAt.", {}, [
      { path: "expiresAt", message: "must be after effectiveAt" },
    ]);
  }
  // Lua sums a wallet's grants as doubles: keep what a tenant can hold below 2^53.
  const [open] = await db
    .select({ left: sql<string>`coalesce(sum(${creditGrants.amountNano} - ${creditGrants.drawnNano}), 0)::text` })
    .from(creditGrants)
    .where(and(eq(creditGrants.accountId, accountId), eq(creditGrants.tenant, tenant)));
  if (BigInt(open?.left ?? "0") + input.amountNano > MAX_CAP_NANO) {
    throw new GatewayError("invalid_request", "A tenant's grants may hold at most 9000000 USD together.");
  }
  const category = input.category ?? "paid";
  const [row] = await db
    .insert(creditGrants)
    .values({
      id: newId("grt"),
      accountId,
      tenant,
      amountNano: input.amountNano,
      costBasisNano: input.costBasisNano ?? (category === "paid" ? input.amountNano : 0n),
      category,
      priority: input.priority ?? DEFAULT_PRIORITY,
      effectiveAt,
      expiresAt: input.expiresAt ?? null,
      idempotencyKey: input.idempotencyKey ?? null,
      source: input.source ?? "api",
    })
    .onConflictDoNothing({ target: [creditGrants.accountId, creditGrants.tenant, creditGrants.idempotencyKey] })
    .returning();
  if (!row) {
    const [existing] = await db
      .select({ id: creditGrants.id })
      .from(creditGrants)
      .where(
        and(
          eq(creditGrants.accountId, accountId),
          eq(creditGrants.tenant, tenant),
          eq(creditGrants.idempotencyKey, input.idempotencyKey ?? ""),
        ),
      );
    throw new GatewayError(
      "conflict",
      `Idempotency key "${input.idempotencyKey}" was already used for grant ${existing?.id} of tenant "${tenant}".`,
      {},
      undefined,
      { grant_id: existing?.id ?? null },
    );
  }
  await db.insert(tenantBilling).values({ accountId, tenant }).onConflictDoNothing();
  const reply = named(
    await runScript(
      redis,
      WALLET_CREDIT_SCRIPT,
      [],
      [budgetKeys.prefix(accountId), tenant, grantField(grantKey(row)), row.amountNano.toString(), String(now)],
    ),
  );
  if (str(reply, "status") === "unloaded") {
    await loadWallet(redis, db, accountId, tenant, now);
    return { grant: row, recovered: [] };
  }
  return {
    grant: row,
    recovered: list(reply, "events").map((e) => ({
      thresholdNano: BigInt(str(e, "threshold")),
      balanceNano: BigInt(str(e, "balance")),
    })),
  };
}

export async function listGrants(db: Db, accountId: string, tenant: string): Promise<GrantRow[]> {
  return db
    .select()
    .from(creditGrants)
    .where(and(eq(creditGrants.accountId, accountId), eq(creditGrants.tenant, tenant)))
    .orderBy(creditGrants.priority, creditGrants.createdAt, creditGrants.id);
}
