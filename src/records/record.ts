/**
 * Step 9: one cost record per call attempt, written after the response (inside waitUntil).
 * Idempotent on the request id. An insert that still fails after retries goes to a Redis stream
 * (the spill) and is drained later by the cron trigger and by later calls — no record is lost.
 * Never the prompt, never the completion: nothing here can hold either.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { requestRecords } from "../../schema";
import type { Db } from "../lib/db";
import { hashReply } from "../lib/redis";
import { redisKeys } from "../lib/redis-keys";
import type { Usage, UsageSource } from "../usage";

export interface CostRecord {
  id: string;
  accountId: string;
  keyId: string | null;
  tenant: string | null;
  feature: string | null;
  userId: string | null;
  environment: string;
  workflow: string | null;
  tags: Record<string, string>;
  provider: string;
  modelRequested: string | null;
  modelAnswered: string | null;
  endpoint: string;
  streamed: boolean;
  status: number;
  usage: Usage;
  costNano: bigint;
  priced: boolean;
  priceVersion: string | null;
  ratesApplied: unknown;
  usageSource: UsageSource;
  budgetChecked: boolean;
  latencyMs: number | null;
  ttftMs: number | null;
  startedAt: Date;
  finishedAt: Date;
}

export function toRow(r: CostRecord): typeof requestRecords.$inferInsert {
  const u = r.usage;
  return {
    id: r.id,
    accountId: r.accountId,
    keyId: r.keyId,
    tenant: r.tenant,
    feature: r.feature,
    userId: r.userId,
    environment: r.environment,
    workflow: r.workflow,
    tags: r.tags,
    provider: r.provider,
    modelRequested: r.modelRequested,
    modelAnswered: r.modelAnswered,
    endpoint: r.endpoint,
    streamed: r.streamed,
    status: r.status,
    inputTokens: u.inputTokens,
    cacheReadTokens: u.cacheReadTokens,
    cacheWriteTokens: u.cacheWriteTokens,
    cacheWrite1hTokens: u.cacheWrite1hTokens,
    inputAudioTokens: u.inputAudioTokens,
    cacheAudioReadTokens: u.cacheAudioReadTokens,
    outputTokens: u.outputTokens,
    outputAudioTokens: u.outputAudioTokens,
    reasoningTokens: u.reasoningTokens,
    webSearchRequests: u.webSearchRequests,
    costNano: r.costNano,
    providerReportedCostNano:
      u.providerReportedCostNano === undefined ? null : BigInt(Math.round(u.providerReportedCostNano)),
    priced: r.priced,
    priceVersion: r.priceVersion,
    ratesApplied: r.ratesApplied ?? null,
    usageSource: r.usageSource,
    budgetChecked: r.budgetChecked,
    latencyMs: r.latencyMs,
    ttftMs: r.ttftMs,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

/** JSON-safe form for the spill stream: bigint as string, dates as ISO. */
function serialize(row: typeof requestRecords.$inferInsert): string {
  return JSON.stringify(row, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
}
function deserialize(text: string): typeof requestRecords.$inferInsert {
  const row = JSON.parse(text, (_, v) => (typeof v === "string" && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));
  for (const k of ["startedAt", "finishedAt"] as const) row[k] = new Date(row[k]);
  return row;
}

async function insertRows(db: Db, rows: (typeof requestRecords.$inferInsert)[]): Promise<void> {
  await db
    .insert(requestRecords)
    .values(rows)
    .onConflictDoNothing({ target: [requestRecords.accountId, requestRecords.id] });
}

export interface RecordDeps {
  db: () => Db;
  redis: Redis;
  /** Backoff between insert attempts, ms; tests shorten it. */
  backoffMs?: number[];
}

export async function writeRecord(record: CostRecord, deps: RecordDeps): Promise<"written" | "spilled"> {
  const row = toRow(record);
  const backoff = deps.backoffMs ?? [50, 250];
  for (let attempt = 0; ; attempt++) {
    try {
      await insertRows(deps.db(), [row]);
      return "written";
    } catch (err) {
      if (attempt >= backoff.length) {
        console.error(`record ${record.id}: insert failed ${attempt + 1} times, spilling to Redis`, err);
        break;
      }
      await new Promise((r) => setTimeout(r, backoff[attempt]));
    }
  }
  await deps.redis.xadd(redisKeys.recordSpill(), "*", { row: serialize(row) });
  return "spilled";
}

/** Moves up to `max` spilled records into Postgres; returns how many were written. */
export async function drainSpill(deps: RecordDeps, max = 200): Promise<number> {
  // Raw XRANGE reply (automaticDeserialization is off): [[entryId, [field, value, …]], …]
  const entries = (await deps.redis.xrange(redisKeys.recordSpill(), "-", "+", max)) as unknown as [string, string[]][];
  if (!Array.isArray(entries) || entries.length === 0) return 0;
  const ids: string[] = [];
  const rows: (typeof requestRecords.$inferInsert)[] = [];
  for (const [id, fields] of entries) {
    const row = hashReply(fields)?.row;
    ids.push(id);
    if (row) rows.push(deserialize(row));
  }
  if (rows.length) await insertRows(deps.db(), rows);
  // Deleted only after the insert succeeded; a crash in between re-inserts, which is a no-op.
  await deps.redis.xdel(redisKeys.recordSpill(), ids);
  return rows.length;
}
