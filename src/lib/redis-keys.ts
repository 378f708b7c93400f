/**
 * Every Redis key Tollgate uses, in one place. Postgres is the source of truth; Redis holds what
 * the hot path reads, so a request never waits on Postgres before its first upstream byte.
 * `{…}` hash tags keep one account's keys in one cluster slot, so a script may touch them together.
 */
export const redisKeys = {
  /** Hash: id, account, env, name, revoked ("0"/"1"). Written by the admin API, read by identify. */
  gatewayKey: (keyHash: string) => `tg:key:${keyHash}`,
  /** String (JSON AccountSettings): provider credentials (sealed), custom providers, price overrides. */
  accountSettings: (accountId: string) => `tg:{${accountId}}:settings`,
  /** Counter per client request id: how many attempts used it (→ `{id}.2`, `{id}.3`, …). */
  requestIdAttempts: (accountId: string, clientRequestId: string) => `tg:{${accountId}}:rid:${clientRequestId}`,
  /** String (JSON, src/routing/cache.ts): a route's cached answer, by the SHA-256 of its normalized request; lives its TTL. */
  responseCache: (accountId: string, hash: string) => `tg:{${accountId}}:rc:${hash}`,
  /** Stream of cost records waiting to be batch-inserted into Postgres (src/records/record.ts). */
  recordQueue: () => "tg:records:queue",
  /** Marker (SET NX PX): exists while a flush of the queue is scheduled; its creator flushes. */
  recordFlushDue: () => "tg:records:flush-due",
};
