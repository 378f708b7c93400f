/**
 * Retention: records past an account's retention are moved into daily rollups in bounded batches;
 * reports across the boundary are the same before, during and after; late records still count.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestRecords } from "../../schema";
import type { Dimension } from "../../src/reports/dimensions";
import { refreshDayTotals, retentionCutoff, runRetention, setRetention } from "../../src/reports/maintenance";
import { queryUnits, queryWorkflows } from "../../src/reports/units";
import { type Interval, queryUsage, type UsageQuery } from "../../src/reports/usage";
import { insertRecords, newAccount, prng, type RecordRow, record, startTestDb, type TestDb } from "./reports-fixtures";

let t: TestDb;
const R = "acc_ret";
const KEEP = "acc_keep";
const NOW = new Date("2026-06-15T10:00:00Z");
const FROM = new Date("2026-04-01T00:00:00Z");
const TO = new Date("2026-06-16T00:00:00Z");
const DAY = 86_400_000;
let total = 0;

function seed(accountId: string, n: number, r: () => number): RecordRow[] {
  const rows: RecordRow[] = [];
  const span = NOW.getTime() - FROM.getTime() - 3_600_000;
  for (let i = 0; i < n; i++) {
    const startedAt = new Date(FROM.getTime() + Math.floor(r() * span));
    const finishedAt = new Date(startedAt.getTime() + 1000 + Math.floor(r() * 5000));
    rows.push(
      record(accountId, {
        startedAt,
        finishedAt,
        // Written a second after the call: below the watermark of a refresh at NOW.
        createdAt: new Date(finishedAt.getTime() + 1000),
        feature: [null, "chat", "search"][i % 3]!,
        tenant: [null, "t1", "t2", "t3"][Math.floor(r() * 4)]!,
        userId: [null, "u1", "u2"][Math.floor(r() * 3)]!,
        workflow: r() < 0.5 ? `wf${Math.floor(r() * 20)}` : null,
        tags: r() < 0.5 ? { team: r() < 0.5 ? "a" : "b" } : {},
        modelAnswered: r() < 0.2 ? null : "gpt-4o-2024",
        status: r() < 0.1 ? 500 : 200,
        inputTokens: Math.floor(r() * 1000),
        cacheReadTokens: Math.floor(r() * 300),
        outputTokens: Math.floor(r() * 400),
        costNano: BigInt(Math.floor(r() * 1e8)),
        ratesApplied: r() < 0.7 ? { input: 2_500_000_000, cacheRead: 250_000_000 } : null,
      }),
    );
  }
  return rows;
}

const QUERIES: Omit<UsageQuery, "accountId">[] = [];
for (const groupBy of [
  [],
  ["feature"],
  ["tenant", "model"],
  ["user"],
  ["workflow"],
  ["tag:team", "feature"],
] as Dimension[][]) {
  for (const interval of ["none", "day", "week", "month"] as Interval[]) {
    QUERIES.push({ from: FROM, to: TO, groupBy, interval, filters: [] });
  }
}
QUERIES.push({
  from: FROM,
  to: TO,
  groupBy: ["feature"],
  interval: "day",
  filters: [{ dim: "tag:team", values: ["a"] }],
});

/** Every report this test compares, as plain JSON (both read paths where both apply). */
async function snapshot(accountId: string) {
  // The reports are independent reads: run them side by side over the pool.
  const [usage, units, workflows] = await Promise.all([
    Promise.all(
      QUERIES.map(async (q) => {
        const [full, auto] = await Promise.all([
          queryUsage(t.db, { ...q, accountId, path: "full" }),
          queryUsage(t.db, { ...q, accountId }),
        ]);
        expect(auto.groups).toEqual(full.groups);
        return [full.groups, full.totals];
      }),
    ),
    queryUnits(t.db, { accountId, from: FROM, to: TO, filters: [] }),
    queryWorkflows(t.db, { accountId, from: FROM, to: TO, filters: [], limit: 1000 }),
  ]);
  const out = [...usage.flat(), units, workflows];
  return JSON.parse(JSON.stringify(out, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await t.pool.query(sql, params);
  return Number(rows[0].n);
}

beforeAll(async () => {
  t = await startTestDb();
  await newAccount(t.db, R, 90);
  await newAccount(t.db, KEEP, 365);
  const r = prng(11);
  const rows = [...seed(R, 1500, r), ...seed(KEEP, 300, r)];
  total = 1500;
  await insertRecords(t.db, rows);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe("retention", () => {
  it("is settable to 30, 90 or 365 days", async () => {
    expect(await setRetention(t.db, R, 30)).toBe(true);
    expect(await setRetention(t.db, "acc_missing", 30)).toBe(false);
  });

  it("moves records past retention into rollups in bounded batches, reports unchanged", async () => {
    const before = await snapshot(R);
    const keepBefore = await snapshot(KEEP);
    const cutoff = retentionCutoff(NOW, 30);
    expect(cutoff.toISOString()).toBe("2026-05-16T00:00:00.000Z");
    const old = await count("select count(*) as n from request_records where account_id = $1 and started_at < $2", [
      R,
      cutoff,
    ]);
    expect(old).toBeGreaterThan(600);

    // A bounded run stops part-way; the reports are still exact in between.
    const first = await runRetention(t.db, NOW, { batchSize: 100, maxBatches: 3 });
    expect(first.done).toBe(false);
    const moved = first.accounts.find((a) => a.accountId === R)?.moved ?? 0;
    expect(moved % 100).toBe(0);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(300);
    expect(await snapshot(R)).toEqual(before);

    let runs = 1;
    for (;;) {
      const res = await runRetention(t.db, NOW, { batchSize: 100, maxBatches: 3 });
      runs++;
      if (res.done) break;
      expect(runs).toBeLessThan(20);
    }
    expect(
      await count("select count(*) as n from request_records where account_id = $1 and started_at < $2", [R, cutoff]),
    ).toBe(0);
    expect(await count("select count(*) as n from request_records where account_id = $1", [R])).toBe(total - old);
    expect(await count("select sum(requests) as n from usage_rollups where account_id = $1", [R])).toBe(old);
    expect(await count("select count(*) as n from usage_rollups where day >= $1", [cutoff])).toBe(0);
    // The 365-day account keeps everything.
    expect(await count("select count(*) as n from request_records where account_id = $1", [KEEP])).toBe(300);

    expect(await snapshot(R)).toEqual(before);
    expect(await snapshot(KEEP)).toEqual(keepBefore);
  });

  it("hour intervals over rolled-up days put each day in its 00:00 bucket", async () => {
    const q = {
      accountId: R,
      from: new Date("2026-04-10T00:00:00Z"),
      to: new Date("2026-04-11T00:00:00Z"),
      groupBy: [],
      filters: [],
    };
    const hours = await queryUsage(t.db, { ...q, interval: "hour" });
    const day = await queryUsage(t.db, { ...q, interval: "day" });
    expect(hours.groups.map((g) => g.periodStart?.toISOString())).toEqual(["2026-04-10T00:00:00.000Z"]);
    expect(hours.totals).toEqual(day.totals);
  });

  it("counts a late record for a rolled-up day, before and after it is moved", async () => {
    const cost = 123_456_789n;
    const startedAt = new Date("2026-04-20T08:00:00Z");
    const q = {
      accountId: R,
      from: new Date("2026-04-20T00:00:00Z"),
      to: new Date("2026-04-21T00:00:00Z"),
      groupBy: ["user" as Dimension],
      interval: "day" as Interval,
      filters: [],
    };
    const before = await queryUsage(t.db, q);
    await t.db.insert(requestRecords).values(
      record(R, {
        id: "late_1",
        userId: "u-late",
        startedAt,
        costNano: cost,
        createdAt: new Date(NOW.getTime() - 120_000),
      }),
    );
    const withLate = await queryUsage(t.db, q);
    expect(withLate.totals.costNano).toBe(before.totals.costNano + cost);
    // The refresh watermark already passed its created_at: it reaches the day totals only if the
    // refresh saw it — the full path reads raw + rollups and is exact either way.
    await runRetention(t.db, new Date(NOW.getTime() + DAY), { batchSize: 1000 });
    expect(await count("select count(*) as n from request_records where id = 'late_1'")).toBe(0);
    const after = await queryUsage(t.db, q);
    expect(after.totals).toEqual(withLate.totals);
    expect(after.groups.find((g) => g.dims.user === "u-late")?.sums.costNano).toBe(cost);
  });

  it("refreshes day totals incrementally and idempotently, up to Postgres's now minus the lag", async () => {
    const totals = () => count("select coalesce(sum(requests), 0) as n from usage_day_totals");
    const a = await refreshDayTotals(t.db);
    const counted = await totals();
    expect(counted).toBeGreaterThan(0);
    const b = await refreshDayTotals(t.db);
    // Postgres's clock moved on a little: the watermark may follow, but nothing is counted twice.
    expect(await totals()).toBe(counted);
    expect(b.watermark!.getTime()).toBeGreaterThanOrEqual(a.watermark!.getTime());
    const { rows } = await t.pool.query("select extract(epoch from now() - interval '60 seconds') * 1000 as ms");
    expect(Math.abs(b.watermark!.getTime() - Number(rows[0].ms))).toBeLessThan(5_000);
  });
});
