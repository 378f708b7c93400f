/**
 * Cost records: an insert that keeps failing is spilled to a Redis stream, never lost, and a
 * later drain moves it into Postgres exactly once. Real Redis (through the Upstash endpoint) and
 * real Postgres.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestRecords } from "../../schema";
import type { Db } from "../../src/lib/db";
import { redisKeys } from "../../src/lib/redis-keys";
import { type CostRecord, drainSpill, writeRecord } from "../../src/records/record";
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
  it("writes once: a second write of the same id is a no-op", async () => {
    const deps = { db: () => postgres.db, redis: redis.redis, backoffMs: [] };
    expect(await writeRecord(record("req_once"), deps)).toBe("written");
    expect(await writeRecord({ ...record("req_once"), status: 500 }, deps)).toBe("written");
    const rows = await postgres.db.select().from(requestRecords).where(eq(requestRecords.id, "req_once"));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe(200);
    expect(rows[0]!.costNano).toBe(12_345_678_901_234n);
  });

  it("spills to Redis after retries, then drains into Postgres exactly once", async () => {
    let attempts = 0;
    const failing = {
      db: () => {
        attempts++;
        return brokenDb();
      },
      redis: redis.redis,
      backoffMs: [1, 1],
    };
    expect(await writeRecord(record("req_spilled_1"), failing)).toBe("spilled");
    expect(await writeRecord(record("req_spilled_2"), failing)).toBe("spilled");
    expect(attempts).toBe(6); // three tries each
    expect(await redis.redis.xlen(redisKeys.recordSpill())).toBeGreaterThanOrEqual(2);

    const healthy = { db: () => postgres.db, redis: redis.redis };
    const drained = await drainSpill(healthy);
    expect(drained).toBeGreaterThanOrEqual(2);
    expect(await redis.redis.xlen(redisKeys.recordSpill())).toBe(0);
    expect(await drainSpill(healthy)).toBe(0);

    const [row] = await postgres.db.select().from(requestRecords).where(eq(requestRecords.id, "req_spilled_2"));
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

  it("the same request id in two accounts is two records", async () => {
    const deps = { db: () => postgres.db, redis: redis.redis, backoffMs: [] };
    await writeRecord(record("client-id-1", "acc_a"), deps);
    await writeRecord(record("client-id-1", "acc_b"), deps);
    const rows = await postgres.db.select().from(requestRecords).where(eq(requestRecords.id, "client-id-1"));
    expect(rows.map((r) => r.accountId).sort()).toEqual(["acc_a", "acc_b"]);
  });
});
