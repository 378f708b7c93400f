/**
 * Every call gets an id, returned in x-tollgate-request-id and used for GET /v1/requests/{id}.
 * With the client's own id, the first attempt uses it as is and each later attempt with the same
 * id (an SDK retry) becomes `{id}.2`, `{id}.3`, … — every attempt may have been billed upstream.
 * The attempt counter is one Redis INCR that runs while the upstream call is in flight, so it
 * adds nothing before the first upstream byte.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { newId } from "../lib/ids";
import { redisKeys } from "../lib/redis-keys";

/** How long a client id is remembered for numbering retries. */
const ATTEMPTS_TTL_SECONDS = 7 * 24 * 3600;

export function attemptId(clientId: string, attempt: number): string {
  return attempt <= 1 ? clientId : `${clientId}.${attempt}`;
}

export async function assignRequestId(
  redis: Redis | null,
  accountId: string,
  clientId: string | null,
): Promise<string> {
  if (!clientId) return newId("req");
  if (!redis) return `${clientId}.${newId("req").slice(4, 12)}`;
  const key = redisKeys.requestIdAttempts(accountId, clientId);
  const [attempt] = (await redis.pipeline().incr(key).expire(key, ATTEMPTS_TTL_SECONDS).exec()) as [number, number];
  return attemptId(clientId, Number(attempt));
}
