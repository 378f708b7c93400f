/**
 * Outcomes and unit economics on a known set: retries and failed attempts count in the cost of a
 * success; workflows' calls, cost, duration and outcome; active users, cache share and savings.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nanoToUsd } from "../../src/lib/money";
import { refreshDayTotals } from "../../src/reports/maintenance";
import { recordOutcome } from "../../src/reports/outcomes";
import { queryUnits, queryWorkflows } from "../../src/reports/units";
import { queryUsage, sumsToJson } from "../../src/reports/usage";
import { insertRecords, newAccount, record, startTestDb, type TestDb } from "./reports-fixtures";

let t: TestDb;
const O = "acc_outcomes";
const OTHER = "acc_other";
const M = 1_000_000n; // $0.001
const at = (s: string) => new Date(`2026-04-10T${s}Z`);
const FROM = new Date("2026-04-01T00:00:00Z");
const TO = new Date("2026-05-01T00:00:00Z");
const range = { accountId: O, from: FROM, to: TO, filters: [] };

beforeAll(async () => {
  t = await startTestDb();
  await newAccount(t.db, O);
  await newAccount(t.db, OTHER);
  await insertRecords(t.db, [
    // checkout: op1 failed then its retry op1.2 succeeded; op2 answered but the outcome failed;
    // op3 was refused (429) then retried; op4 has no outcome. $1.00 in all.
    record(O, {
      id: "op1",
      feature: "checkout",
      tenant: "t1",
      status: 500,
      costNano: 100n * M,
      startedAt: at("09:00:00"),
    }),
    record(O, { id: "op1.2", feature: "checkout", tenant: "t1", costNano: 150n * M, startedAt: at("09:00:03") }),
    record(O, { id: "op2", feature: "checkout", tenant: "t1", costNano: 200n * M, startedAt: at("09:10:00") }),
    record(O, { id: "op3", feature: "checkout", tenant: "t2", status: 429, costNano: 0n, startedAt: at("09:20:00") }),
    record(O, { id: "op3.2", feature: "checkout", tenant: "t2", costNano: 250n * M, startedAt: at("09:20:02") }),
    record(O, { id: "op4", feature: "checkout", tenant: "t2", costNano: 300n * M, startedAt: at("09:30:00") }),
    // agent: workflow wfA (3 calls, one failed), wfB (2 calls).
    record(O, {
      id: "a1",
      feature: "agent",
      workflow: "wfA",
      userId: "u1",
      costNano: 10n * M,
      startedAt: at("10:00:00"),
      finishedAt: at("10:00:02"),
    }),
    record(O, {
      id: "a2",
      feature: "agent",
      workflow: "wfA",
      userId: "u1",
      status: 500,
      costNano: 20n * M,
      startedAt: at("10:00:05"),
      finishedAt: at("10:00:06"),
    }),
    record(O, {
      id: "a3",
      feature: "agent",
      workflow: "wfA",
      userId: "u1",
      costNano: 30n * M,
      startedAt: at("10:00:20"),
      finishedAt: at("10:00:31.5"),
    }),
    record(O, {
      id: "b1",
      feature: "agent",
      workflow: "wfB",
      userId: "u2",
      costNano: 40n * M,
      startedAt: at("11:00:00"),
      finishedAt: at("11:00:01"),
    }),
    record(O, {
      id: "b2",
      feature: "agent",
      workflow: "wfB",
      userId: "u2",
      costNano: 50n * M,
      startedAt: at("11:00:10"),
      finishedAt: at("11:00:12"),
    }),
    // caching: rates as numbers, as strings, missing, and without a cache-read rate.
    record(O, {
      id: "c1",
      feature: "cache",
      userId: "u3",
      cacheReadTokens: 1000,
      inputTokens: 3000,
      ratesApplied: { input: 2_500_000_000, cacheRead: 1_250_000_000 },
      startedAt: at("12:00:00"),
    }),
    record(O, {
      id: "c2",
      feature: "cache",
      userId: "u3",
      cacheReadTokens: 2000,
      inputTokens: 2000,
      ratesApplied: { input: "3000000000", cacheRead: "300000000" },
      startedAt: at("12:01:00"),
    }),
    record(O, {
      id: "c3",
      feature: "cache",
      cacheReadTokens: 500,
      inputTokens: 500,
      ratesApplied: null,
      startedAt: at("12:02:00"),
    }),
    record(O, {
      id: "c4",
      feature: "cache",
      cacheReadTokens: 400,
      inputTokens: 100,
      ratesApplied: { input: 1_000_000_000 },
      startedAt: at("12:03:00"),
    }),
    // a May user, for per-month active users
    record(O, {
      id: "m1",
      feature: "agent",
      userId: "u9",
      costNano: 7n * M,
      startedAt: new Date("2026-05-02T00:00:00Z"),
    }),
    // the same ids in another account
    record(OTHER, { id: "op2", feature: "checkout", costNano: 999n * M, startedAt: at("09:10:00") }),
    record(OTHER, { id: "x1", workflow: "wfOther", startedAt: at("09:10:00") }),
  ]);
  const post = (kind: "request" | "workflow", id: string, success: boolean, value?: number) =>
    recordOutcome(t.db, { accountId: O, kind, subjectId: id, success, value }, { waitMs: 0 });
  expect(await post("request", "op1.2", false)).not.toBeNull(); // replaced just below
  expect(await post("request", "op1.2", true, 5)).not.toBeNull();
  expect(await post("request", "op2", false)).not.toBeNull();
  expect(await post("request", "op3.2", true, 7)).not.toBeNull();
  expect(await post("workflow", "wfA", true, 42)).not.toBeNull();
  expect(await post("workflow", "wfB", false)).not.toBeNull();
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe("outcomes", () => {
  it("refuses ids of other accounts and unknown ids", async () => {
    const opts = { waitMs: 0 };
    expect(
      await recordOutcome(t.db, { accountId: O, kind: "request", subjectId: "x1", success: true }, opts),
    ).toBeNull();
    expect(
      await recordOutcome(t.db, { accountId: O, kind: "workflow", subjectId: "wfOther", success: true }, opts),
    ).toBeNull();
    expect(
      await recordOutcome(t.db, { accountId: O, kind: "request", subjectId: "nope", success: true }, opts),
    ).toBeNull();
  });

  it("waits a little for a record still being written", async () => {
    const pending = recordOutcome(
      t.db,
      { accountId: OTHER, kind: "request", subjectId: "late", success: true },
      { waitMs: 3000, everyMs: 50 },
    );
    await new Promise((r) => setTimeout(r, 200));
    await insertRecords(t.db, [record(OTHER, { id: "late", startedAt: at("13:00:00") })]);
    expect(await pending).toMatchObject({ kind: "request", id: "late", success: true });
  });

  it("gives cost per successful outcome with failed attempts and retries in the cost", async () => {
    const res = await queryUsage(t.db, { ...range, groupBy: ["feature"], interval: "none" });
    const byFeature = Object.fromEntries(res.groups.map((g) => [g.dims.feature, sumsToJson(g.sums)]));
    expect(byFeature.checkout).toMatchObject({
      requests: 6,
      errors: 2,
      costUsd: "1.00",
      successes: 2,
      failures: 1,
      costPerSuccessUsd: "0.50",
      outcomeValue: 12,
    });
    // Workflow outcomes count for the feature of the workflow's first call.
    expect(byFeature.agent).toMatchObject({
      requests: 5,
      errors: 1,
      costUsd: "0.15",
      successes: 1,
      failures: 1,
      costPerSuccessUsd: "0.15",
    });
    expect(byFeature.cache).toMatchObject({ successes: 0, costPerSuccessUsd: null });
    // Per tenant: t1 had op1 + op1.2 + op2 ($0.45), one success; t2 $0.55, one success.
    const byTenant = await queryUsage(t.db, {
      ...range,
      groupBy: ["tenant"],
      interval: "none",
      filters: [{ dim: "feature", values: ["checkout"] }],
    });
    expect(byTenant.groups.map((g) => [g.dims.tenant, sumsToJson(g.sums).costPerSuccessUsd])).toEqual([
      ["t1", "0.45"],
      ["t2", "0.55"],
    ]);
  });

  it("reports workflows: calls, cost, duration, outcome", async () => {
    const rows = await queryWorkflows(t.db, { ...range, limit: 10 });
    expect(rows).toEqual([
      {
        workflow: "wfB",
        calls: 2,
        errors: 0,
        costUsd: "0.09",
        startedAt: "2026-04-10T11:00:00.000Z",
        finishedAt: "2026-04-10T11:00:12.000Z",
        durationMs: 12_000,
        success: false,
        value: null,
      },
      {
        workflow: "wfA",
        calls: 3,
        errors: 1,
        costUsd: "0.06",
        startedAt: "2026-04-10T10:00:00.000Z",
        finishedAt: "2026-04-10T10:00:31.500Z",
        durationMs: 31_500,
        success: true,
        value: 42,
      },
    ]);
  });
});

describe("unit metrics", () => {
  it("computes cost per request, active user per month, workflow and success; caching", async () => {
    const u = await queryUnits(t.db, { ...range, to: new Date("2026-06-01T00:00:00Z") });
    const total = 1000n + 150n + 7n; // in M
    expect(u.requests).toBe(16);
    expect(u.costUsd).toBe("1.157");
    expect(u.costPerRequestUsd).toBe("0.0723125"); // 1.157 / 16
    expect(u.activeUsers).toBe(4);
    expect(u.months).toEqual([
      {
        month: "2026-04-01T00:00:00.000Z",
        activeUsers: 3,
        requests: 15,
        costUsd: "1.15",
        costPerActiveUserUsd: "0.383333333",
      },
      {
        month: "2026-05-01T00:00:00.000Z",
        activeUsers: 1,
        requests: 1,
        costUsd: "0.007",
        costPerActiveUserUsd: "0.007",
      },
    ]);
    expect(u.workflows).toBe(2);
    expect(u.workflowCostUsd).toBe("0.15");
    expect(u.costPerWorkflowUsd).toBe("0.075");
    expect(u.successes).toBe(3);
    expect(u.failures).toBe(2);
    expect(u.costPerSuccessUsd).toBe("0.385666667"); // 1.157 / 3, rounded half up to the nano
    expect(total).toBe(1157n);
    // Cache: 3900 of 9500 input tokens read from cache (the other records have none).
    expect(u.cachedInputTokens).toBe(3900);
    expect(u.inputTokensTotal).toBe(9500);
    expect(u.cachedInputShare).toBeCloseTo(3900 / 9500, 6);
    // 1000 × (2.5 − 1.25) $/M + 2000 × (3.0 − 0.3) $/M = $0.00125 + $0.0054; c4 saves 0; c3 unknown.
    expect(u.cacheSavingsUsd).toBe("0.00665");
    expect(u.cacheSavingsUnknownRequests).toBe(1);
  });

  it("says null, not zero, when no call recorded its rates", async () => {
    const u = await queryUnits(t.db, {
      ...range,
      filters: [
        { dim: "feature", values: ["cache"] },
        { dim: "user", values: ["(unallocated)"] },
      ],
    });
    // c3 (unknown) and c4 (no cache-read rate: saves 0): the sum is 0 with an unknown → null.
    expect(u.cacheSavingsUsd).toBeNull();
    expect(u.cacheSavingsUnknownRequests).toBe(1);
  });
});

describe("cache savings on the usage query's fast path", () => {
  it("equal the units report's to the nano-USD, rounding each record, whatever the path", async () => {
    const S = await newAccount(t.db, "acc_savings");
    const { rows } = await t.pool.query<{ at: Date }>("select now() - interval '1 hour' as at");
    // Rates that leave fractions of a nano-USD per record: 7 × 1,000,000,001 / 1e6 = 7,000.000007.
    const rates = { input: 1_000_000_001, cacheRead: 0 };
    const day = (d: number, h = 12) => new Date(Date.UTC(2026, 3, d, h));
    const old = [3, 5, 7, 9, 11].map((n, i) =>
      record(S, { cacheReadTokens: n, ratesApplied: rates, startedAt: day(10 + i), createdAt: rows[0]!.at }),
    );
    const fresh = [13, 17].map((n, i) =>
      record(S, { cacheReadTokens: n, ratesApplied: rates, startedAt: day(12 + i, 3) }),
    );
    const unknown = record(S, { cacheReadTokens: 5, ratesApplied: null, startedAt: day(12), createdAt: rows[0]!.at });
    await insertRecords(t.db, [...old, ...fresh, unknown]);
    await refreshDayTotals(t.db);
    const q = {
      accountId: S,
      from: new Date("2026-04-10T06:00:00Z"),
      to: TO,
      filters: [],
      groupBy: [],
      interval: "none" as const,
    };
    const u = await queryUnits(t.db, q);
    const perRecord = [3, 5, 7, 9, 11, 13, 17].reduce((s, n) => s + BigInt(Math.round((n * 1_000_000_001) / 1e6)), 0n);
    expect(u.cacheSavingsUsd).toBe(nanoToUsd(perRecord));
    for (const path of ["fast", "full"] as const) {
      const usage = await queryUsage(t.db, { ...q, cacheSavings: true, path });
      expect(usage.totals.cacheSavingsNano, path).toBe(perRecord);
      expect(usage.totals.cacheSavingsUnknown, path).toBe(1n);
    }
    // Without asking, the usage query does not read the rates.
    expect((await queryUsage(t.db, q)).totals.cacheSavingsNano).toBe(0n);
  });
});
