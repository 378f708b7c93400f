/**
 * Cost records: queued in a Redis stream, batch-inserted by one flusher, never lost when Postgres
 * is down, written directly when Redis is. Real Redis (through the Upstash endpoint) and real
 * Postgres.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestRecords } from "../../schema";
import { freePort } from "../../scripts/services/ports";
import type { Db } from "../../src/lib/db";
import { redisClient } from "../../src/lib/redis";
import { redisKeys } from "../../src/lib/redis-keys";
import { type CostRecord, flushRecords, queueRecord } from "../../src/records/record";
import { emptyUsage } from "../../src/usage";
import { startTestPostgres, startTestRedis, type TestPostgres, type TestRedis } from "./budgets-stack";

let redis: TestRedis;
let postgres: TestPostgres;
beforeAll(async () => {
  [redis, postgres] = await Promise.all([startTestRedis(), startTestPostgres()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

function record(id: string, accountId = "acc_records"): CostRecord {
  return {
    id,
    accountId,
    keyId: "key_1",
    tenant: "acme",
    feature: null,
    userId: null,
    environment: "production",
    workflow: null,
    tags: { team: "search" },
    provider: "openai",
    modelRequested: "gpt-4o-mini",
    modelAnswered: "gpt-4o-mini-2024-07-18",
    endpoint: "chat",
    streamed: true,
    status: 200,
    usage: { ...emptyUsage(), inputTokens: 12, outputTokens: 34, reasoningTokens: 5, providerReportedCostNano: 99 },
    costNano: 12_345_678_901_234n,
    priced: true,
    pricedBy: "catalog",
    priceVersion: "v1",
    ratesApplied: { input: 150000000 },
    usageSource: "reported",
    budgetChecked: true,
    latencyMs: 120,
    ttftMs: 30,
    startedAt: new Date("2026-11-23T10:00:00.000Z"),
    finishedAt: new Date("2026-11-23T10:00:00.120Z"),
  };
}

const brokenDb = (): Db => {
  throw new Error("Postgres is down");
};

describe("records", () => {
  const healthy = () => ({ db: () => postgres.db, redis: redis.redis, backoffMs: [], flushDelayMs: 100 });

  it("queued records reach Postgres in one batch, flushed by the call that found no flush due", async () => {
    const deps = healthy();
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => queueRecord(record(`req_batch_${i}`), deps)));
    expect(results).toEqual(["queued", "queued", "queued", "queued", "queued"]);
    // By the time the flusher's promise resolved (the other four return at once), all five are in.
    const rows = await postgres.db.select().from(requestRecords);
    expect(
      rows
        .filter((r) => r.id.startsWith("req_batch_"))
        .map((r) => r.id)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5].map((i) => `req_batch_${i}`));
    expect(await redis.redis.xlen(redisKeys.recordQueue())).toBe(0);
  });

  it("writes once: a second record with the same id is a no-op", async () => {
    const deps = healthy();
    await queueRecord(record("req_once"), deps);
    await queueRecord({ ...record("req_once"), status: 500 }, deps);
    await flushRecords(deps);
    const rows = await postgres.db.select().from(requestRecords).where(eq(requestRecords.id, "req_once"));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe(200);
    expect(rows[0]!.costNano).toBe(12_345_678_901_234n);
  });

  it("Postgres down: records stay queued and a later flush moves them exactly once", async () => {
    // Mark a flush as due so these calls only queue; the flush below plays the later flusher.
    await redis.redis.set(redisKeys.recordFlushDue(), "1", { px: 60_000 });
    const broken = { ...healthy(), db: brokenDb };
    expect(await queueRecord(record("req_queued_1"), broken)).toBe("queued");
    expect(await queueRecord(record("req_queued_2"), broken)).toBe("queued");
    await expect(flushRecords(broken)).rejects.toThrow(/Postgres is down/);
    expect(await redis.redis.xlen(redisKeys.recordQueue())).toBeGreaterThanOrEqual(2);

    expect(await flushRecords(healthy())).toBeGreaterThanOrEqual(2);
    expect(await redis.redis.xlen(redisKeys.recordQueue())).toBe(0);
    expect(await flushRecords(healthy())).toBe(0);
    await redis.redis.del(redisKeys.recordFlushDue());

    const [row] = await postgres.db.select().from(requestRecords).where(eq(requestRecords.id, "req_queued_2"));
    // Everything survives the trip through the stream: bigints, dates, JSON, usage.
    expect(row).toMatchObject({
      accountId: "acc_records",
      costNano: 12_345_678_901_234n,
      providerReportedCostNano: 99n,
      tags: { team: "search" },
      reasoningTokens: 5,
      startedAt: new Date("2026-11-23T10:00:00.000Z"),
    });
  });

  it("Redis down: the record goes straight to Postgres", async () => {
    const deadPort = await freePort();
    const deadRedis = {
      ...healthy(),
      redis: redisClient({ UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${deadPort}`, UPSTASH_REDIS_REST_TOKEN: "x" }),
    };
    expect(await queueRecord(record("req_direct"), deadRedis)).toBe("written");
    const rows = await postgres.db.select().from(requestRecords).where(eq(requestRecords.id, "req_direct"));
    expect(rows).toHaveLength(1);
  });

  it("the same request id in two accounts is two records", async () => {
    const deps = healthy();
    await queueRecord(record("client-id-1", "acc_a"), deps);
    await queueRecord(record("client-id-1", "acc_b"), deps);
    await flushRecords(deps);
    const rows = await postgres.db.select().from(requestRecords).where(eq(requestRecords.id, "client-id-1"));
    expect(rows.map((r) => r.accountId).sort()).toEqual(["acc_a", "acc_b"]);
  });
});
