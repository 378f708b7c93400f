/**
 * The Upstash REST client (production: Upstash; locally: scripts/services/upstash-rest.ts in front
 * of a real redis-server) and the one way we run Lua: EVALSHA first, EVAL when the server answers
 * NOSCRIPT (a fresh Redis, a flush, a failover). Scripts live in src/budgets/scripts.ts.
 */
import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "../config";

export interface LuaScript {
  name: string;
  source: string;
  /** SHA-1 of `source`, hex; a unit test recomputes it so it can never drift. */
  sha1: string;
}

/**
 * A client for ONE request. Never share it across requests: its auto-pipelining batches the
 * commands issued together into one HTTP call (that is how settle + record queue cost one round
 * trip), and a batch holding two requests' commands would read one request's response body in the
 * other's context — which Workers refuse ("Cannot perform I/O on behalf of a different request").
 */
export function redisClient(config: Pick<Config, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">): Redis {
  return new Redis({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    // Budget decisions must not wait on retries with backoff: fail fast, then FAIL_MODE decides.
    retry: { retries: 0 },
    automaticDeserialization: false,
    enableTelemetry: false,
    // Plain JSON replies: base64 (the default) costs a TextDecoder per string on every call, and
    // nothing we store is binary. Read-your-writes sync tokens are for replicas we do not read from.
    responseEncoding: false,
    readYourWrites: false,
  });
}

/**
 * What running a Lua script, or any one command, needs: @upstash/redis's client has these three
 * methods, and so does the hot path's lean client (src/lib/redis-rest.ts).
 */
export interface ScriptRedis {
  evalsha(sha1: string, keys: string[], args: (string | number)[]): Promise<unknown>;
  eval(source: string, keys: string[], args: (string | number)[]): Promise<unknown>;
  exec(args: [string, ...(string | number)[]]): Promise<unknown>;
}

export async function runScript<T>(
  redis: ScriptRedis,
  script: LuaScript,
  keys: string[],
  args: (string | number)[],
): Promise<T> {
  try {
    return (await redis.evalsha(script.sha1, keys, args)) as T;
  } catch (err) {
    if (!String((err as Error)?.message ?? err).includes("NOSCRIPT")) throw err;
    // EVAL also caches the script server-side, so the next EVALSHA hits.
    return (await redis.eval(script.source, keys, args)) as T;
  }
}

/** A Redis read on a cache miss that takes longer is treated as Redis down (Postgres answers instead). */
export const REDIS_READ_TIMEOUT_MS = 2000;

/** Rejects after `ms` so a hung dependency cannot hold a request (or /health) hostage. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A Redis hash reply as an object. With automaticDeserialization off (our client), HGETALL comes
 * back as the raw [field, value, field, value, …] array; null or [] when the key does not exist.
 */
export function hashReply(reply: unknown): Record<string, string> | null {
  if (reply === null || reply === undefined) return null;
  if (!Array.isArray(reply)) return reply as Record<string, string>;
  if (reply.length === 0) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}
