/**
 * Step 1: gateway key → account, key settings.
 *
 * The key comes either as the SDK's own API key (Authorization: Bearer tg_… or x-api-key: tg_…),
 * and then the account's stored provider credential is used upstream; or in x-tollgate-key with
 * the client's provider key left in Authorization / x-api-key ("bring your own key").
 *
 * Lookups: an in-isolate cache (keys rarely change; revocation is re-checked on every call by the
 * admission script, so the cache cannot let a revoked key through), then Redis, then Postgres —
 * which also repopulates Redis, so losing Redis data never locks anyone out.
 */
import { and, eq } from "drizzle-orm";
import type { Redis } from "@upstash/redis/cloudflare";
import { accounts, gatewayKeys } from "../../schema";
import { type AccountSettings, loadAccountSettings } from "../account-settings";
import { sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { redisKeys } from "../lib/redis-keys";

export interface Identity {
  keyId: string;
  keyHash: string;
  accountId: string;
  /** The key's environment, the default for x-tollgate-env. */
  environment: string | null;
}

export interface PresentedKey {
  gatewayKey: string;
  /** true: the client's own provider key is in Authorization / x-api-key and goes upstream as is. */
  byok: boolean;
}

const KEY_PREFIX = "tg_";

export function readGatewayKey(headers: Headers): PresentedKey | null {
  const explicit = headers.get("x-tollgate-key");
  if (explicit) return { gatewayKey: explicit.trim(), byok: true };
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get("authorization") ?? "")?.[1];
  if (bearer?.startsWith(KEY_PREFIX)) return { gatewayKey: bearer, byok: false };
  const apiKey = headers.get("x-api-key")?.trim();
  if (apiKey?.startsWith(KEY_PREFIX)) return { gatewayKey: apiKey, byok: false };
  return null;
}

export interface IdentifyDeps {
  redis: Redis;
  /** Opened only on a Redis miss. */
  db: () => Db;
  now?: number;
}

interface Cached<T> {
  value: T;
  expiresAt: number;
}
const IDENTITY_TTL_MS = 60_000;
const SETTINGS_TTL_MS = 10_000;
const identityCache = new Map<string, Cached<Identity>>();
const settingsCache = new Map<string, Cached<AccountSettings>>();

function cacheGet<T>(cache: Map<string, Cached<T>>, id: string, now: number): T | undefined {
  const hit = cache.get(id);
  if (hit && hit.expiresAt > now) return hit.value;
  if (hit) cache.delete(id);
  return undefined;
}
function cacheSet<T>(cache: Map<string, Cached<T>>, id: string, value: T, ttl: number, now: number): void {
  // Bounded: an isolate serving many keys forgets the oldest first.
  if (cache.size >= 5000) cache.delete(cache.keys().next().value as string);
  cache.set(id, { value, expiresAt: now + ttl });
}

export const unauthorized = (why: string) => new GatewayError("authentication", why);

/** The hash under which a key is stored and checked for revocation. */
export const hashGatewayKey = (key: string) => sha256Hex(key);

export async function identify(presented: PresentedKey, deps: IdentifyDeps): Promise<Identity> {
  const now = deps.now ?? Date.now();
  if (!presented.gatewayKey.startsWith(KEY_PREFIX)) throw unauthorized("Tollgate gateway keys start with tg_.");
  const keyHash = await hashGatewayKey(presented.gatewayKey);
  const cached = cacheGet(identityCache, keyHash, now);
  if (cached) return cached;

  const stored = (await deps.redis.hgetall(redisKeys.gatewayKey(keyHash))) as Record<string, string> | null;
  let identity: Identity;
  if (stored?.id && stored.account) {
    if (stored.revoked === "1") throw unauthorized("This Tollgate key has been revoked.");
    identity = { keyId: stored.id, keyHash, accountId: stored.account, environment: stored.env || null };
  } else {
    identity = await identifyFromPostgres(keyHash, deps);
  }
  cacheSet(identityCache, keyHash, identity, IDENTITY_TTL_MS, now);
  return identity;
}

async function identifyFromPostgres(keyHash: string, deps: IdentifyDeps): Promise<Identity> {
  const [row] = await deps
    .db()
    .select({ id: gatewayKeys.id, accountId: gatewayKeys.accountId, environment: gatewayKeys.environment, revokedAt: gatewayKeys.revokedAt, name: gatewayKeys.name })
    .from(gatewayKeys)
    .innerJoin(accounts, eq(accounts.id, gatewayKeys.accountId))
    .where(and(eq(gatewayKeys.keyHash, keyHash)));
  if (!row) throw unauthorized("Unknown Tollgate key.");
  await storeKeyInRedis(deps.redis, keyHash, {
    id: row.id,
    accountId: row.accountId,
    environment: row.environment,
    name: row.name,
    revoked: row.revokedAt !== null,
  });
  if (row.revokedAt) throw unauthorized("This Tollgate key has been revoked.");
  return { keyId: row.id, keyHash, accountId: row.accountId, environment: row.environment };
}

export async function storeKeyInRedis(
  redis: Redis,
  keyHash: string,
  key: { id: string; accountId: string; environment: string | null; name: string; revoked: boolean },
): Promise<void> {
  await redis.hset(redisKeys.gatewayKey(keyHash), {
    id: key.id,
    account: key.accountId,
    env: key.environment ?? "",
    name: key.name,
    revoked: key.revoked ? "1" : "0",
  });
}

export async function accountSettings(accountId: string, deps: IdentifyDeps): Promise<AccountSettings> {
  const now = deps.now ?? Date.now();
  const cached = cacheGet(settingsCache, accountId, now);
  if (cached) return cached;
  const raw = (await deps.redis.get(redisKeys.accountSettings(accountId))) as string | null;
  let settings: AccountSettings;
  if (raw) {
    settings = JSON.parse(raw) as AccountSettings;
  } else {
    settings = await loadAccountSettings(deps.db(), accountId);
    await deps.redis.set(redisKeys.accountSettings(accountId), JSON.stringify(settings));
  }
  cacheSet(settingsCache, accountId, settings, SETTINGS_TTL_MS, now);
  return settings;
}

/** After an admin change: the next read rebuilds from Postgres. (Other isolates catch up within SETTINGS_TTL_MS.) */
export async function invalidateAccountSettings(redis: Redis, accountId: string): Promise<void> {
  settingsCache.delete(accountId);
  await redis.del(redisKeys.accountSettings(accountId));
}
