/**
 * A gateway key's copy in Redis: the hash the hot path reads (src/proxy/identify.ts) and the
 * admission script checks on every call (revoked, rate limits). Postgres holds the truth; this is
 * the one place that writes the copy — at creation and revocation (src/keys.ts), after a limits
 * change, and when a call finds it missing (src/budgets/store.ts loadKeyIntoRedis,
 * src/proxy/identify.ts) — so its fields are spelled once. The key name is src/lib/redis-keys.ts's.
 */
import { hashReply, type ScriptRedis } from "./lib/redis";
import { redisKeys } from "./lib/redis-keys";

export interface KeyCopy {
  id: string;
  accountId: string;
  environment: string | null;
  name: string;
  revoked: boolean;
}

export interface KeyCopyLimits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  maxWaitMs?: number | null;
}

/**
 * The rate-limit fields, with the `lim` mark last: the admission script reads Postgres's limits
 * (status key_unknown) until the hash carries it. 0 = no limit; an empty mw = the default wait.
 */
function limitFields(limits: KeyCopyLimits): string[] {
  const mw = limits.maxWaitMs === null || limits.maxWaitMs === undefined ? "" : String(limits.maxWaitMs);
  return [
    "rpm",
    String(limits.requestsPerMinute ?? 0),
    "tpm",
    String(limits.tokensPerMinute ?? 0),
    "mw",
    mw,
    "lim",
    "1",
  ];
}

/** Writes the key's copy; with `limits`, its rate limits and the `lim` mark too (one HSET). */
export async function writeKeyCopy(
  redis: ScriptRedis,
  keyHash: string,
  key: KeyCopy,
  limits?: KeyCopyLimits,
): Promise<void> {
  await redis.exec([
    "HSET",
    redisKeys.gatewayKey(keyHash),
    "id",
    key.id,
    "account",
    key.accountId,
    "env",
    key.environment ?? "",
    "name",
    key.name,
    "revoked",
    key.revoked ? "1" : "0",
    ...(limits ? limitFields(limits) : []),
  ]);
}

/** After a limits change: the copy gets the new limits (a missing copy is rebuilt on the next call). */
export async function writeKeyLimits(redis: ScriptRedis, keyHash: string, limits: KeyCopyLimits): Promise<void> {
  const key = redisKeys.gatewayKey(keyHash);
  if (!(await redis.exec(["EXISTS", key]))) return;
  await redis.exec(["HSET", key, ...limitFields(limits)]);
}

/** The copy as the hot path needs it; null when Redis has none (or an incomplete one). */
export async function readKeyCopy(
  redis: ScriptRedis,
  keyHash: string,
): Promise<{ id: string; accountId: string; environment: string | null; revoked: boolean } | null> {
  const stored = hashReply(await redis.exec(["HGETALL", redisKeys.gatewayKey(keyHash)]));
  if (!(stored?.id && stored.account)) return null;
  return { id: stored.id, accountId: stored.account, environment: stored.env || null, revoked: stored.revoked === "1" };
}
