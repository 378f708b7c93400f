/**
 * Step 1: gateway key → account, key settings.
 *
 * The key comes either as the SDK's own API key (Authorization: Bearer tg_… or x-api-key: tg_…),
 * and then the account's stored provider credential is used upstream; or in x-tollgate-key with
 * the client's provider key left in Authorization / x-api-key ("bring your own key").
 *
 * Lookups: an in-isolate cache (keys rarely change; revocation is re-checked on every call by the
 * admission script, so the cache cannot let a revoked key through), then Redis, then Postgres —
 * which also repopulates Redis, so losing Redis data never locks anyone out. The Redis copy is read
 * and written through src/key-copy.ts; the account's settings (the step's other read) are
 * src/account-settings.ts's, where the admin API's writes also go.
 */

import { and, eq } from "drizzle-orm";
import { accounts, gatewayKeys } from "../../schema";
import type { SettingsDeps } from "../account-settings";
import { readKeyCopy, writeKeyCopy } from "../key-copy";
import { nowMs } from "../lib/clock";
import { sha256Hex } from "../lib/crypto";
import { GatewayError } from "../lib/errors";
import { IsolateCache } from "../lib/isolate-cache";
import { REDIS_READ_TIMEOUT_MS, withTimeout } from "../lib/redis";

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
  const authorization = headers.get("authorization")?.trim() ?? "";
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  const apiKey = headers.get("x-api-key")?.trim();
  const explicit = headers.get("x-tollgate-key")?.trim();
  if (explicit) {
    // Bring-your-own-key only when the client sent a provider key of its own. A gateway key left in
    // Authorization / x-api-key as well is not one: the stored provider key is used and it is stripped.
    const ownAuthorization = authorization !== "" && !bearer?.startsWith(KEY_PREFIX);
    const ownApiKey = Boolean(apiKey) && !apiKey?.startsWith(KEY_PREFIX);
    return { gatewayKey: explicit, byok: ownAuthorization || ownApiKey };
  }
  if (bearer?.startsWith(KEY_PREFIX)) return { gatewayKey: bearer, byok: false };
  if (apiKey?.startsWith(KEY_PREFIX)) return { gatewayKey: apiKey, byok: false };
  return null;
}

/** Redis first, Postgres only on a miss: the same as the account settings' read. */
export type IdentifyDeps = SettingsDeps;

const IDENTITY_TTL_MS = 60_000;

const identityCache = new IsolateCache<Identity>(IDENTITY_TTL_MS);
// A key's SHA-256 never changes: hashed once per isolate, not on every call.
const keyHashes = new IsolateCache<string>(Number.POSITIVE_INFINITY);

export const unauthorized = (why: string) => new GatewayError("authentication", why);

/** The hash under which a key is stored and checked for revocation. */
export const hashGatewayKey = (key: string) => sha256Hex(key);

export async function identify(presented: PresentedKey, deps: IdentifyDeps): Promise<Identity> {
  const now = deps.now ?? nowMs();
  if (!presented.gatewayKey.startsWith(KEY_PREFIX)) throw unauthorized("Tollgate gateway keys start with tg_.");
  const keyHash = await keyHashes.get(presented.gatewayKey, now, () => hashGatewayKey(presented.gatewayKey));
  return identityCache.get(keyHash, now, async () => {
    // Redis unreachable: Postgres still knows the key (FAIL_MODE then decides about budgets).
    const stored = await withTimeout(readKeyCopy(deps.redis, keyHash), REDIS_READ_TIMEOUT_MS, "Redis").catch(
      () => null,
    );
    if (!stored) return identifyFromPostgres(keyHash, deps);
    if (stored.revoked) throw unauthorized("This Tollgate key has been revoked.");
    return { keyId: stored.id, keyHash, accountId: stored.accountId, environment: stored.environment };
  });
}

async function identifyFromPostgres(keyHash: string, deps: IdentifyDeps): Promise<Identity> {
  const [row] = await deps
    .db()
    .select({
      id: gatewayKeys.id,
      accountId: gatewayKeys.accountId,
      environment: gatewayKeys.environment,
      revokedAt: gatewayKeys.revokedAt,
      name: gatewayKeys.name,
    })
    .from(gatewayKeys)
    .innerJoin(accounts, eq(accounts.id, gatewayKeys.accountId))
    .where(and(eq(gatewayKeys.keyHash, keyHash)));
  if (!row) throw unauthorized("Unknown Tollgate key.");
  await writeKeyCopy(deps.redis, keyHash, {
    id: row.id,
    accountId: row.accountId,
    environment: row.environment,
    name: row.name,
    revoked: row.revokedAt !== null,
  }).catch(() => {}); // Best effort: the next call tries again.
  if (row.revokedAt) throw unauthorized("This Tollgate key has been revoked.");
  return { keyId: row.id, keyHash, accountId: row.accountId, environment: row.environment };
}
