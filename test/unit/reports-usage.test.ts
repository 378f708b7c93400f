/**
 * The usage query against a real Postgres: every grouping, interval and filter checked against
 * sums computed here from the seeded rows, on both read paths (day totals + raw tail, and raw +
 * rollups); the unallocated group; UTC interval boundaries; CSV equal to JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageCsv } from "../../src/reports/csv";
import type { Dimension, DimensionFilter } from "../../src/reports/dimensions";
import { refreshDayTotals } from "../../src/reports/maintenance";
import { BUCKETS } from "../../src/reports/metrics";
import { groupToJson, type Interval, queryUsage, type UsageQuery } from "../../src/reports/usage";
import { insertRecords, newAccount, prng, type RecordRow, record, startTestDb, type TestDb } from "./reports-fixtures";

let t: TestDb;
const A = "acc_usage_a";
const B = "acc_usage_b";
const seeded: RecordRow[] = [];
const START = Date.parse("2026-03-01T00:00:00Z");
const DAY = 86_400_000;

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomRecord(r: () => number, accountId: string, createdAt?: Date): RecordRow {
  const modelRequested = pick(r, ["gpt-4o", "claude-sonnet", "mini"]);
  const tags: Record<string, string> = pick<Record<string, string>>(r, [
    {},
    { team: "a" },
    { team: "b" },
    { team: "a", region: "eu" },
  ]);
  const n = (max: number) => Math.floor(r() * max);
  return record(accountId, {
    tenant: pick(r, ["t1", "t2", "t3", null]),
    feature: pick(r, ["chat", "search", "summarize", null]),
    provider: pick(r, ["openai", "anthropic"]),
    modelRequested,
    modelAnswered: r() < 0.3 ? null : `${modelRequested}-v1`,
    userId: pick(r, ["u1", "u2", "u3", "u4", null]),
    environment: pick(r, ["production", "staging"]),
    workflow: pick(r, ["wf1", "wf2", "wf3", "wf4", null]),
    keyId: pick(r, ["key_1", "key_2", null]),
    tags,
    status: pick(r, [200, 200, 200, 200, 429, 500]),
    priced: r() < 0.9,
    inputTokens: n(5000),
    cacheReadTokens: n(3000),
    cacheWriteTokens: n(1000),
    cacheWrite1hTokens: n(500),
    inputAudioTokens: n(100),
    cacheAudioReadTokens: n(50),
    outputTokens: n(2000),
    outputAudioTokens: n(80),
    reasoningTokens: n(700),
    webSearchRequests: n(3),
    costNano: BigInt(n(2_000_000_000)) * 7n,
    startedAt: new Date(START + Math.floor(r() * 10 * DAY)),
    ...(createdAt ? { createdAt } : {}),
  });
}

beforeAll(async () => {
  t = await startTestDb();
  await newAccount(t.db, A);
  await newAccount(t.db, B);
  const r = prng(7);
  // created_at is Postgres's clock (the refresh reads it by Postgres's now), so "an hour ago" is too.
  const { rows } = await t.pool.query<{ at: Date }>("select now() - interval '1 hour' as at");
  const hourAgo = rows[0]!.at;
  // Half created an hour ago (they go into usage_day_totals), half just now (the raw tail).
  for (let i = 0; i < 600; i++) seeded.push(randomRecord(r, A, hourAgo));
  // Boundaries: the last millisecond of Sunday 2026-03-01 and the first of Monday 2026-03-02.
  seeded.push(
    record(A, { startedAt: new Date("2026-03-01T23:59:59.999Z"), feature: "edge", costNano: 11n, createdAt: hourAgo }),
  );
  seeded.push(
    record(A, { startedAt: new Date("2026-03-02T00:00:00.000Z"), feature: "edge", costNano: 13n, createdAt: hourAgo }),
  );
  await insertRecords(t.db, seeded);
  await refreshDayTotals(t.db);
  const fresh: RecordRow[] = [];
  for (let i = 0; i < 400; i++) fresh.push(randomRecord(r, A));
  await insertRecords(t.db, fresh);
  seeded.push(...fresh);
  // Another account's records never show up.
  const other: RecordRow[] = [];
  for (let i = 0; i < 100; i++) other.push(randomRecord(r, B, hourAgo));
  await insertRecords(t.db, other);
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

// ---- expected sums, computed from the seeded rows ----------------------------------------------------

function dimValue(row: RecordRow, dim: Dimension): string | null {
  if (dim.startsWith("tag:")) return (row.tags as Record<string, string> | null)?.[dim.slice(4)] ?? null;
  switch (dim) {
    case "provider":
      return row.provider;
    case "model":
      return row.modelAnswered ?? row.modelRequested ?? null;
    case "feature":
      return row.feature ?? null;
    case "tenant":
      return row.tenant ?? null;
    case "user":
      return row.userId ?? null;
    case "env":
      return row.environment;
    case "workflow":
      return row.workflow ?? null;
    case "key":
      return row.keyId ?? null;
  }
  throw new Error(dim);
}

function periodOf(d: Date, interval: Interval): string | null {
  const ms = d.getTime();
  if (interval === "none") return null;
  if (interval === "hour") return new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
  const day = Math.floor(ms / DAY) * DAY;
  if (interval === "day") return new Date(day).toISOString();
  if (interval === "week") return new Date(day - ((new Date(day).getUTCDay() + 6) % 7) * DAY).toISOString();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString();
}

type Sums = Record<string, bigint>;
const METRICS = ["requests", "errors", "unpricedRequests", ...BUCKETS, "costNano"] as const;

function expected(q: Omit<UsageQuery, "accountId">): Map<string, Sums> {
  const out = new Map<string, Sums>();
  for (const row of seeded) {
    if (row.accountId !== A) continue;
    if (row.startedAt < q.from || row.startedAt >= q.to) continue;
    if (!q.filters.every((f) => f.values.includes(dimValue(row, f.dim) ?? "(unallocated)"))) continue;
    const key = JSON.stringify([
      ...q.groupBy.map((d) => dimValue(row, d) ?? "(unallocated)"),
      periodOf(row.startedAt, q.interval),
    ]);
    const s = out.get(key) ?? Object.fromEntries(METRICS.map((m) => [m, 0n]));
    s.requests! += 1n;
    if (row.status >= 400) s.errors! += 1n;
    if (!row.priced) s.unpricedRequests! += 1n;
    for (const b of BUCKETS) s[b]! += BigInt(row[b] ?? 0);
    s.costNano! += row.costNano ?? 0n;
    out.set(key, s);
  }
  return out;
}

async function actual(q: Omit<UsageQuery, "accountId">): Promise<Map<string, Sums>> {
  const res = await queryUsage(t.db, { accountId: A, ...q });
  const out = new Map<string, Sums>();
  const totals = Object.fromEntries(METRICS.map((m) => [m, 0n])) as Sums;
  for (const g of res.groups) {
    const key = JSON.stringify([...q.groupBy.map((d) => g.dims[d]), g.periodStart?.toISOString() ?? null]);
    expect(out.has(key), `duplicate group ${key}`).toBe(false);
    out.set(key, Object.fromEntries(METRICS.map((m) => [m, g.sums[m]])));
    for (const m of METRICS) totals[m]! += g.sums[m];
  }
  for (const m of METRICS) expect(res.totals[m], `totals.${m}`).toBe(totals[m]);
  return out;
}

const FROM = new Date("2026-03-01T00:00:00Z");
const TO = new Date("2026-03-11T00:00:00Z");

describe("usage query", () => {
  it("reads usage_day_totals for old records and the raw tail for new ones", async () => {
    const { rows } = await t.pool.query("select sum(requests)::int as n from usage_day_totals where account_id = $1", [
      A,
    ]);
    expect(rows[0].n).toBe(602);
    const res = await queryUsage(t.db, {
      accountId: A,
      from: FROM,
      to: TO,
      groupBy: ["feature"],
      interval: "day",
      filters: [],
    });
    expect(res.path).toBe("fast");
    expect(Number(res.totals.requests)).toBe(1002);
  });

  const groupings: Dimension[][] = [
    [],
    ["feature"],
    ["tenant"],
    ["feature", "tenant"],
    ["model"],
    ["provider", "model"],
    ["env", "key"],
    ["user"],
    ["workflow"],
    ["tag:team"],
    ["tag:region", "feature"],
  ];
  const intervals: Interval[] = ["none", "hour", "day", "week", "month"];
  for (const groupBy of groupings) {
    for (const interval of intervals) {
      it(`groupBy=${groupBy.join(",") || "(none)"} interval=${interval}`, async () => {
        const q = { from: FROM, to: TO, groupBy, interval, filters: [] };
        const want = expected(q);
        expect(want.size).toBeGreaterThan(0);
        expect(await actual(q)).toEqual(want);
        // Both read paths agree when both can answer.
        if (interval !== "hour" && !groupBy.some((d) => d === "user" || d === "workflow" || d.startsWith("tag:"))) {
          expect(await actual({ ...q, path: "fast" })).toEqual(want);
          expect(await actual({ ...q, path: "full" })).toEqual(want);
        }
      });
    }
  }

  it("keeps spend without feature or tenant in an explicit (unallocated) group", async () => {
    const res = await queryUsage(t.db, {
      accountId: A,
      from: FROM,
      to: TO,
      groupBy: ["feature", "tenant"],
      interval: "none",
      filters: [],
    });
    const unallocated = res.groups.filter(
      (g) => g.dims.feature === "(unallocated)" && g.dims.tenant === "(unallocated)",
    );
    expect(unallocated).toHaveLength(1);
    const n = seeded.filter((r) => r.accountId === A && r.feature === null && r.tenant === null).length;
    expect(Number(unallocated[0]!.sums.requests)).toBe(n);
    expect(n).toBeGreaterThan(0);
  });

  it("filters on any dimension, tags and (unallocated), on both paths", async () => {
    const cases: DimensionFilter[][] = [
      [{ dim: "feature", values: ["chat"] }],
      [
        { dim: "feature", values: ["chat", "(unallocated)"] },
        { dim: "tenant", values: ["t2"] },
      ],
      [{ dim: "model", values: ["mini", "gpt-4o-v1"] }],
      [{ dim: "user", values: ["(unallocated)"] }],
      [{ dim: "tag:team", values: ["a"] }],
      [
        { dim: "key", values: ["key_2"] },
        { dim: "env", values: ["staging"] },
      ],
    ];
    for (const filters of cases) {
      for (const groupBy of [["feature"], ["tenant", "model"]] as Dimension[][]) {
        const q = { from: FROM, to: TO, groupBy, interval: "day" as const, filters };
        expect(await actual(q)).toEqual(expected(q));
      }
    }
  });

  it("reads half-open [from, to) ranges, unaligned ones too", async () => {
    const ranges: [string, string][] = [
      ["2026-03-02T00:00:00.000Z", "2026-03-05T00:00:00.000Z"],
      ["2026-03-01T07:30:00.000Z", "2026-03-06T13:15:00.000Z"],
      ["2026-03-03T10:00:00.000Z", "2026-03-03T11:00:00.000Z"],
    ];
    for (const [from, to] of ranges) {
      const q = {
        from: new Date(from),
        to: new Date(to),
        groupBy: ["feature"] as Dimension[],
        interval: "day" as const,
        filters: [],
      };
      expect(await actual(q)).toEqual(expected(q));
      expect(await actual({ ...q, path: "full" })).toEqual(expected(q));
    }
  });

  it("puts 23:59:59.999 and 00:00:00.000 UTC in different days and weeks", async () => {
    const q = { groupBy: [] as Dimension[], filters: [{ dim: "feature" as const, values: ["edge"] }] };
    const day = await queryUsage(t.db, { accountId: A, from: FROM, to: TO, interval: "day", ...q });
    expect(day.groups.map((g) => [g.periodStart?.toISOString(), g.sums.costNano])).toEqual([
      ["2026-03-01T00:00:00.000Z", 11n],
      ["2026-03-02T00:00:00.000Z", 13n],
    ]);
    const week = await queryUsage(t.db, { accountId: A, from: FROM, to: TO, interval: "week", ...q });
    expect(week.groups.map((g) => [g.periodStart?.toISOString(), g.sums.costNano])).toEqual([
      ["2026-02-23T00:00:00.000Z", 11n],
      ["2026-03-02T00:00:00.000Z", 13n],
    ]);
    const before = await queryUsage(t.db, {
      accountId: A,
      from: FROM,
      to: new Date("2026-03-02T00:00:00.000Z"),
      interval: "none",
      ...q,
    });
    expect(before.totals.costNano).toBe(11n);
    const after = await queryUsage(t.db, {
      accountId: A,
      from: new Date("2026-03-02T00:00:00.000Z"),
      to: TO,
      interval: "none",
      ...q,
    });
    expect(after.totals.costNano).toBe(13n);
  });

  it("never shows another account's records", async () => {
    const res = await queryUsage(t.db, {
      accountId: A,
      from: FROM,
      to: TO,
      groupBy: [],
      interval: "none",
      filters: [],
    });
    expect(Number(res.totals.requests)).toBe(seeded.filter((r) => r.accountId === A).length);
  });

  it("orders top lists by cost and keeps totals over everything", async () => {
    const all = await queryUsage(t.db, {
      accountId: A,
      from: FROM,
      to: TO,
      groupBy: ["tenant"],
      interval: "none",
      filters: [],
    });
    const top = await queryUsage(t.db, {
      accountId: A,
      from: FROM,
      to: TO,
      groupBy: ["tenant"],
      interval: "none",
      filters: [],
      top: { limit: 2 },
    });
    const sorted = [...all.groups].sort((a, b) => (b.sums.costNano > a.sums.costNano ? 1 : -1));
    expect(top.groups.map((g) => g.dims.tenant)).toEqual(sorted.slice(0, 2).map((g) => g.dims.tenant));
    expect(top.totals).toEqual(all.totals);
  });

  it("writes CSV with the same rows as JSON", async () => {
    const groupBy: Dimension[] = ["feature", "tag:team"];
    const res = await queryUsage(t.db, { accountId: A, from: FROM, to: TO, groupBy, interval: "day", filters: [] });
    const rows = res.groups.map((g) => groupToJson(g, "day"));
    const csv = usageCsv(groupBy, rows);
    const lines = csv.trimEnd().split("\r\n");
    const header = lines[0]!.split(",");
    expect(header).toEqual([
      "feature",
      "tag:team",
      "periodStart",
      "requests",
      "errors",
      ...BUCKETS,
      "costUsd",
      "unpricedRequests",
      "successes",
      "failures",
      "costPerSuccessUsd",
      "outcomeValue",
    ]);
    expect(lines).toHaveLength(rows.length + 1);
    lines.slice(1).forEach((line, i) => {
      const cells = line.split(",");
      const want = header.map((h) => {
        const v = rows[i]![h];
        return v === null || v === undefined ? "" : String(v);
      });
      expect(cells).toEqual(want);
    });
  });
});
