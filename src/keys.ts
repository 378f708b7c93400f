/**
 * Gateway keys as an operator manages them: created with a name, an owner and an environment,
 * shown once, stored as a SHA-256 hash in Postgres (the truth) and in Redis (what the hot path
 * reads); revoked in both; per-key rate limits. The admin API (src/http/admin/keys.ts, limits.ts)
 * and the dashboard both call these, so a key made or revoked in either behaves the same.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { and, desc, eq } from "drizzle-orm";
import { keyLimits } from "../schema/budgets";
import { gatewayKeys } from "../schema/index";
import { requireAccount } from "./accounts";
import { markKeyRevoked } from "./budgets";
import { writeKeyCopy, writeKeyLimits } from "./key-copy";
import { nowDate } from "./lib/clock";
import { sha256Hex } from "./lib/crypto";
import type { Db } from "./lib/db";
import { GatewayError } from "./lib/errors";
import { newGatewayKey, newId } from "./lib/ids";

export type KeyRow = typeof gatewayKeys.$inferSelect;

interface Stores {
  db: Db;
  redis: Redis;
}

export interface KeyLimits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  /** How long the key's calls wait for budget holds in flight; null: the default (5 s). */
  maxWaitMs: number | null;
}

/** A new key; `key` is the secret, returned here only. */
export async function createKey(
  { db, redis }: Stores,
  accountId: string,
  input: { name: string; owner: string; environment?: string | null },
): Promise<{ row: KeyRow; key: string }> {
  await requireAccount(db, accountId);
  const key = newGatewayKey();
  const keyHash = await sha256Hex(key);
  const [row] = await db
    .insert(gatewayKeys)
    .values({
      id: newId("key"),
      accountId,
      name: input.name,
      owner: input.owner,
      environment: input.environment ?? null,
      keyHash,
      keyPrefix: key.slice(0, 7),
    })
    .returning();
  // A new key has no rate limits yet: say so, so its first call need not read Postgres for them.
  await writeKeyCopy(
    redis,
    keyHash,
    { id: row!.id, accountId, environment: row!.environment, name: row!.name, revoked: false },
    { requestsPerMinute: null, tokensPerMinute: null },
  );
  return { row: row!, key };
}

/** Newest first, never the secret. */
export async function listKeys(db: Db, accountId: string): Promise<KeyRow[]> {
  await requireAccount(db, accountId);
  return db.select().from(gatewayKeys).where(eq(gatewayKeys.accountId, accountId)).orderBy(desc(gatewayKeys.createdAt));
}

export async function requireKey(db: Db, accountId: string, keyId: string): Promise<KeyRow> {
  const [key] = await db
    .select()
    .from(gatewayKeys)
    .where(and(eq(gatewayKeys.accountId, accountId), eq(gatewayKeys.id, keyId)));
  if (!key) throw new GatewayError("not_found", `No key ${keyId} in account ${accountId}.`);
  return key;
}

/** Refused (401) from the next call on. Revoking twice keeps the first time. */
export async function revokeKey({ db, redis }: Stores, accountId: string, keyId: string): Promise<KeyRow> {
  const existing = await requireKey(db, accountId, keyId);
  const [row] = await db
    .update(gatewayKeys)
    .set({ revokedAt: existing.revokedAt ?? nowDate() })
    .where(eq(gatewayKeys.id, keyId))
    .returning();
  // Redis first would be safer against a crash between the two, but Postgres is the truth and
  // a Redis miss reads it; marking Redis after is enough because the hot path checks Redis.
  await writeKeyCopy(redis, existing.keyHash, {
    id: keyId,
    accountId,
    environment: existing.environment,
    name: existing.name,
    revoked: true,
  });
  // Calls of this key waiting for budget room are not handed it either.
  await markKeyRevoked(redis, accountId, keyId);
  return row!;
}

/** null or absent = no limit (maxWaitMs: the default). Postgres holds them; the key's Redis hash carries them. */
export async function setKeyLimits(
  { db, redis }: Stores,
  accountId: string,
  keyId: string,
  limits: Partial<KeyLimits>,
): Promise<KeyLimits> {
  const key = await requireKey(db, accountId, keyId);
  const values = {
    requestsPerMinute: limits.requestsPerMinute ?? null,
    tokensPerMinute: limits.tokensPerMinute ?? null,
    maxWaitMs: limits.maxWaitMs ?? null,
  };
  await db
    .insert(keyLimits)
    .values({ keyId, accountId, ...values })
    .onConflictDoUpdate({ target: keyLimits.keyId, set: { ...values, updatedAt: nowDate() } });
  await writeKeyLimits(redis, key.keyHash, values);
  return values;
}

/** Every key's limits in the account (keys without a row have none). */
export async function listKeyLimits(db: Db, accountId: string): Promise<Map<string, KeyLimits>> {
  const rows = await db.select().from(keyLimits).where(eq(keyLimits.accountId, accountId));
  return new Map(
    rows.map((r) => [
      r.keyId,
      { requestsPerMinute: r.requestsPerMinute, tokensPerMinute: r.tokensPerMinute, maxWaitMs: r.maxWaitMs },
    ]),
  );
}

export async function getKeyLimits(db: Db, accountId: string, keyId: string): Promise<KeyLimits> {
  await requireKey(db, accountId, keyId);
  const [row] = await db.select().from(keyLimits).where(eq(keyLimits.keyId, keyId));
  return {
    requestsPerMinute: row?.requestsPerMinute ?? null,
    tokensPerMinute: row?.tokensPerMinute ?? null,
    maxWaitMs: row?.maxWaitMs ?? null,
  };
}
