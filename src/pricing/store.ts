/**
 * Account price overrides in Postgres, and the Redis copy of the account's settings that the
 * metering path reads (rebuilt after every change). What the admin API (src/http/admin/prices.ts)
 * and the dashboard's "set a price" form both call.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { desc, eq } from "drizzle-orm";
import { priceOverrides } from "../../schema";
import { refreshAccountSettings } from "../account-settings";
import { requireAccount } from "../accounts";
import type { Db } from "../lib/db";
import { type AccountOverrideBody, accountOverrideFromBody } from "./account-body";

export type OverrideRow = typeof priceOverrides.$inferSelect;

/** Stores (or replaces, for the same effective time) one override; `body` as accountOverrideBodySchema reads it. */
export async function setPriceOverride(
  { db, redis }: { db: Db; redis: Redis },
  accountId: string,
  provider: string,
  model: string,
  body: AccountOverrideBody,
): Promise<OverrideRow> {
  await requireAccount(db, accountId);
  const o = accountOverrideFromBody(provider, model, body);
  const values = {
    accountId,
    provider,
    model,
    effectiveFrom: o.effectiveFrom,
    rates: (o.rates as Record<string, number> | undefined) ?? null,
    discountBasisPoints: o.discountPercent === undefined ? null : Math.round(o.discountPercent * 100),
  };
  const [row] = await db
    .insert(priceOverrides)
    .values(values)
    .onConflictDoUpdate({
      target: [priceOverrides.accountId, priceOverrides.provider, priceOverrides.model, priceOverrides.effectiveFrom],
      set: { rates: values.rates, discountBasisPoints: values.discountBasisPoints },
    })
    .returning();
  await refreshAccountSettings(redis, db, accountId);
  return row!;
}

export async function listPriceOverrides(db: Db, accountId: string): Promise<OverrideRow[]> {
  await requireAccount(db, accountId);
  return db
    .select()
    .from(priceOverrides)
    .where(eq(priceOverrides.accountId, accountId))
    .orderBy(priceOverrides.provider, priceOverrides.model, desc(priceOverrides.effectiveFrom));
}
