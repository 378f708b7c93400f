/**
 * Usage in the viewer's time zone, against a real Postgres: records a millisecond either side of
 * local midnight at +05:30 (Asia/Kolkata) and −08:00 (America/Los_Angeles in January) land in
 * their local days; the day sums equal the range total on every read path; UTC stays the default;
 * ranges of local dates start at local midnight.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshDayTotals } from "../../src/reports/maintenance";
import { parseInstant, resolveRange } from "../../src/reports/range";
import { queryUsage, type UsageQuery } from "../../src/reports/usage";
import { insertRecords, newAccount, type RecordRow, record, startTestDb, type TestDb } from "./reports-fixtures";

let t: TestDb;
const A = "acc_zones";

// Local midnights of 2026-01-15: Kolkata 2026-01-14T18:30Z, Los Angeles 2026-01-15T08:00Z.
const AT: [string, bigint][] = [
  ["2026-01-14T18:29:59.999Z", 1n], // Kolkata 14th 23:59:59.999
  ["2026-01-14T18:30:00.000Z", 2n], // Kolkata 15th 00:00
  ["2026-01-15T07:59:59.999Z", 4n], // Los Angeles 14th 23:59:59.999
  ["2026-01-15T08:00:00.000Z", 8n], // Los Angeles 15th 00:00
  ["2026-01-15T23:59:59.999Z", 16n], // UTC 15th, last ms (Kolkata 16th)
  ["2026-01-16T00:00:00.000Z", 32n], // UTC 16th
];

beforeAll(async () => {
  t = await startTestDb();
  await newAccount(t.db, A);
  const { rows } = await t.pool.query<{ at: Date }>("select now() - interval '1 hour' as at");
  const old: RecordRow[] = AT.map(([at, cost]) =>
    record(A, {
      startedAt: new Date(at),
      costNano: cost,
      feature: cost > 4n ? "late" : "early",
      createdAt: rows[0]!.at,
    }),
  );
  await insertRecords(t.db, old);
  await refreshDayTotals(t.db);
  // The same again, after the watermark: the fast path's raw tail.
  await insertRecords(
    t.db,
    AT.map(([at, cost]) => record(A, { startedAt: new Date(at), costNano: cost * 1000n, feature: "tail" })),
  );
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

const base = (over: Partial<UsageQuery>): UsageQuery => ({
  accountId: A,
  from: new Date("2026-01-10T00:00:00Z"),
  to: new Date("2026-01-20T00:00:00Z"),
  groupBy: [],
  interval: "day",
  filters: [],
  ...over,
});

const days = async (q: UsageQuery) =>
  (await queryUsage(t.db, q)).groups.map((g) => [g.periodStart?.toISOString(), g.sums.costNano]);

describe("usage in a time zone", () => {
  it("buckets days at local midnight, +05:30", async () => {
    const q = base({ tz: "Asia/Kolkata", filters: [{ dim: "feature", values: ["early", "late"] }] });
    expect(await days(q)).toEqual([
      ["2026-01-13T18:30:00.000Z", 1n],
      ["2026-01-14T18:30:00.000Z", 2n + 4n + 8n],
      ["2026-01-15T18:30:00.000Z", 16n + 32n],
    ]);
  });

  it("buckets days at local midnight, −08:00", async () => {
    const q = base({ tz: "America/Los_Angeles", filters: [{ dim: "feature", values: ["early", "late"] }] });
    expect(await days(q)).toEqual([
      ["2026-01-14T08:00:00.000Z", 1n + 2n + 4n],
      ["2026-01-15T08:00:00.000Z", 8n + 16n + 32n],
    ]);
  });

  it("keeps UTC the default", async () => {
    const q = base({ filters: [{ dim: "feature", values: ["early", "late"] }] });
    expect(await days(q)).toEqual([
      ["2026-01-14T00:00:00.000Z", 1n + 2n],
      ["2026-01-15T00:00:00.000Z", 4n + 8n + 16n],
      ["2026-01-16T00:00:00.000Z", 32n],
    ]);
    expect(await days({ ...q, tz: "UTC" })).toEqual(await days(q));
  });

  it("day sums equal the range total, on every path, for ranges of local days", async () => {
    for (const tz of ["Asia/Kolkata", "America/Los_Angeles"]) {
      // 14th–15th local, [local 14th 00:00, local 16th 00:00): partial UTC days at both edges.
      const range = resolveRange({ from: "2026-01-14", to: "2026-01-16" }, {}, { tz });
      for (const path of [undefined, "full"] as const) {
        const q = base({ ...range, path });
        const byDay = await queryUsage(t.db, q);
        const total = await queryUsage(t.db, { ...q, interval: "none" });
        expect(byDay.groups.length).toBe(2);
        expect(byDay.groups.reduce((s, g) => s + g.sums.costNano, 0n)).toBe(total.totals.costNano);
        expect(byDay.totals).toEqual(total.totals);
        // Day buckets in a zone read raw records; the total keeps the day totals.
        expect(byDay.path).toBe("full");
        if (path === undefined) expect(total.path).toBe("fast");
      }
    }
    const kolkata = resolveRange({ from: "2026-01-14", to: "2026-01-16" }, {}, { tz: "Asia/Kolkata" });
    const total = await queryUsage(t.db, base({ ...kolkata, interval: "none" }));
    // Kolkata 14th–15th: the first four (the last two are the 16th there), in both copies.
    expect(total.totals.costNano).toBe((1n + 2n + 4n + 8n) * 1001n);
  });

  it("reads dates and wall times in the zone; offsets stay absolute", () => {
    expect(new Date(parseInstant("2026-01-15", "Asia/Kolkata")).toISOString()).toBe("2026-01-14T18:30:00.000Z");
    expect(new Date(parseInstant("2026-01-15T09:00", "America/Los_Angeles")).toISOString()).toBe(
      "2026-01-15T17:00:00.000Z",
    );
    expect(new Date(parseInstant("2026-01-15T09:00:00Z", "Asia/Kolkata")).toISOString()).toBe(
      "2026-01-15T09:00:00.000Z",
    );
    expect(new Date(parseInstant("2026-01-15")).toISOString()).toBe("2026-01-15T00:00:00.000Z");
    expect(Number.isNaN(parseInstant("2026-02-30"))).toBe(true);
  });

  it("defaults to the 30 local days up to the next local midnight", () => {
    const r = resolveRange({}, {}, { tz: "Asia/Kolkata" });
    expect(r.tz).toBe("Asia/Kolkata");
    expect(r.to.toISOString().slice(11)).toBe("18:30:00.000Z");
    expect(r.to.getTime() - r.from.getTime()).toBe(30 * 86_400_000);
    expect(r.to.getTime()).toBeGreaterThan(Date.now());
    expect(r.to.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    const utc = resolveRange({}, {});
    expect(utc.tz).toBeUndefined();
    expect(utc.to.toISOString().slice(11)).toBe("00:00:00.000Z");
  });
});
