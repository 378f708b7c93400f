/**
 * Accounts: creating one (with its empty budget rules, settings and index of prepaid tenants
 * already in Redis, so no call has to read Postgres) and the lookup every /accounts/{account}/… operation starts with.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { asc, eq } from "drizzle-orm";
import { accounts } from "../schema";
import { refreshAccountSettings } from "./account-settings";
import { loadWalletIndex } from "./billing/store";
import { writeRulesToRedis } from "./budgets";
import { nowMs } from "./lib/clock";
import type { Db } from "./lib/db";
import { GatewayError } from "./lib/errors";
import { newId } from "./lib/ids";

export type Account = typeof accounts.$inferSelect;

/** 404 unless the account exists. */
export async function requireAccount(db: Db, accountId: string): Promise<Account> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, accountId));
  if (!row) throw new GatewayError("not_found", `No account ${accountId}.`);
  return row;
}

export async function createAccount(redis: Redis, db: Db, name: string): Promise<Account> {
  const [row] = await db
    .insert(accounts)
    .values({ id: newId("acc"), name })
    .returning();
  await Promise.all([
    writeRulesToRedis(redis, row!.id, [], nowMs()),
    refreshAccountSettings(redis, db, row!.id),
    loadWalletIndex(redis, db, row!.id, nowMs()),
  ]);
  return row!;
}

/** Every account, oldest first (the dashboard's account picker for an admin). */
export async function listAccounts(db: Db, limit = 500): Promise<Account[]> {
  return db.select().from(accounts).orderBy(asc(accounts.createdAt), asc(accounts.id)).limit(limit);
}
