/**
 * The opt-in response cache of a route. Stored in Redis (Upstash), not Workers KV:
 *   - the lookup rides in the lean client's pipeline (src/lib/redis-rest.ts) with the key's
 *     revocation check, one round trip, and only on routes that ask for a cache;
 *   - an entry is readable as soon as it is written, from every region (KV takes up to a minute to
 *     show a write elsewhere, so "identical calls hit within the TTL" would not hold), and TTLs of
 *     a few seconds work (KV's minimum is 60 s);
 *   - deployment stays `wrangler deploy` on Upstash + Neon, with no namespace to create and bind.
 *
 * Exact match on the normalized request: the route (and its revision: changing the route forgets
 * its answers), the endpoint path, and the body after the route's policy (default model, max-tokens
 * cap) with its keys sorted at every level, so spacing and key order do not matter and every
 * parameter does. Scope "tenant" (the default) puts the tenant in the key: tenant A never reads
 * tenant B's entry, nor a call without a tenant either's. "account" shares entries across tenants.
 * The key is a SHA-256 of that, so no prompt text is in a Redis key name; the entry holds the
 * answer itself, which is the point of a response cache and why it is opt-in with a TTL.
 *
 * Known limit: numbers are compared as parsed, so two integers above 2^53 that round to the same
 * double (a `seed`) share an entry.
 */
import { sha256Hex } from "../lib/crypto";
import { redisKeys } from "../lib/redis-keys";
import type { RouteSetting } from "./types";

/** Answers larger than this are not cached (an Upstash request has a size limit; such answers are rare). */
export const MAX_CACHED_BYTES = 512 * 1024;

/** x-tollgate-cache on a request: "bypass" neither reads nor writes the cache for this call. */
export const CACHE_HEADER = "x-tollgate-cache";

export interface CacheEntry {
  status: number;
  contentType: string;
  /** The body exactly as the client got it (an SSE stream replays as the same events). */
  body: string;
  streamed: boolean;
  provider: string;
  modelRequested: string | null;
  modelAnswered: string | null;
  /** What the answer cost upstream, nano-USD (what a hit saves). */
  costNano: string;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export async function cacheKey(p: {
  accountId: string;
  route: RouteSetting;
  tenant: string | null;
  path: string;
  body: Record<string, unknown>;
}): Promise<string> {
  const cache = p.route.cache!;
  const scope = cache.scope === "account" ? ["account"] : ["tenant", p.tenant];
  const material = JSON.stringify([p.route.name, p.route.rev, scope, p.path, canonical(p.body)]);
  return redisKeys.responseCache(p.accountId, await sha256Hex(material));
}

export function decodeEntry(raw: unknown): CacheEntry | null {
  if (typeof raw !== "string") return null;
  try {
    const e = JSON.parse(raw) as CacheEntry;
    return typeof e.body === "string" && typeof e.status === "number" ? e : null;
  } catch {
    return null;
  }
}

/** SET … EX: Redis gets the entry's lifetime, never an instant (a Worker's clock may be off). */
export function storeCommand(key: string, entry: CacheEntry, ttlSeconds: number): [string, ...(string | number)[]] {
  return ["SET", key, JSON.stringify(entry), "EX", Math.max(1, Math.floor(ttlSeconds))];
}
