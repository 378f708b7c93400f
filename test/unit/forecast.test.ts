/**
 * The forecast and its "will exceed its cap on <date>" alert, on a synthetic month under a
 * controlled clock (2026-06-15 12:00 UTC): acme spends a steady $12 a day, beta a growing $1 more
 * each day. The dates the caps are reached follow from those numbers by hand (see each test).
 */
import { and, eq, gte, isNull, lt, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertChannels, budgetRules, requestRecords } from "../../schema";
import { watchEpisodes } from "../../schema/trust";
import type { RuleStatus } from "../../src/budgets";
import { periodWindow } from "../../src/budgets/periods";
import { forecastAccount, type SpentOf } from "../../src/forecast";
import { runForecastAlerts } from "../../src/forecast/cron";
import { dailyModel, project } from "../../src/forecast/trend";
import { type AlertDouble, startAlertDouble } from "../alert-double/server";
import { insertRecords, newAccount, type RecordRow, record, startTestDb, type TestDb } from "./reports-fixtures";

const H = 3_600_000;
const NOW = new Date("2026-06-15T12:00:00Z");
const ACC = "acc_forecast";

let t: TestDb;
let hooks: AlertDouble;

/** Spent per rule from the records, as the budget counters would hold it (Redis in production). */
const spentOf: SpentOf = async (accountId, rules, now) => {
  const out = new Map<string, RuleStatus>();
  for (const rule of rules) {
    const window = periodWindow(rule.period, now);
    const rows = await t.db
      .select({ tenant: requestRecords.tenant, cost: sql<string>`sum(${requestRecords.costNano})` })
      .from(requestRecords)
      .where(
        and(
          eq(requestRecords.accountId, accountId),
          gte(requestRecords.startedAt, new Date(window.startMs!)),
          lt(requestRecords.startedAt, new Date(now)),
          rule.scopeId === "*" ? undefined : eq(requestRecords.tenant, rule.scopeId!),
        ),
      )
      .groupBy(requestRecords.tenant);
    const members = rows.map((r) => ({ value: r.tenant!, spentNano: BigInt(r.cost), reservedNano: 0n }));
    const spentNano = members.reduce((s, m) => s + m.spentNano, 0n);
    out.set(rule.id, { window, spentNano, reservedNano: 0n, ...(rule.scopeId === "*" ? { members } : {}) });
  }
  return out;
};

function history(): RecordRow[] {
  const rows: RecordRow[] = [];
  for (let h = Date.parse("2026-06-01T00:00:00Z"); h < NOW.getTime(); h += H) {
    const day = new Date(h).getUTCDate(); // 1 … 15
    rows.push(record(ACC, { tenant: "acme", startedAt: new Date(h), costNano: 500_000_000n })); // $12 a day
    // $day a day, in two halves (00:00 and 12:00).
    if (new Date(h).getUTCHours() % 12 === 0)
      rows.push(record(ACC, { tenant: "beta", startedAt: new Date(h), costNano: BigInt(day * 5e8) }));
  }
  return rows;
}

async function addRule(id: string, scopeId: string, capUsd: number): Promise<void> {
  await t.db.insert(budgetRules).values({
    id,
    accountId: ACC,
    scopeType: "tenant",
    scopeId,
    period: "month",
    capNano: BigInt(capUsd * 1e9),
    mode: "hard",
  });
}

beforeAll(async () => {
  [t, hooks] = await Promise.all([startTestDb(), startAlertDouble()]);
  await newAccount(t.db, ACC);
  await t.db.insert(alertChannels).values({ id: "alr_fc", accountId: ACC, kind: "webhook", url: `${hooks.url}/fc` });
  await insertRecords(t.db, history());
  await addRule("bud_acme", "acme", 300);
  await addRule("bud_each", "*", 200);
}, 120_000);
afterAll(async () => {
  await Promise.all([t?.stop(), hooks?.close()]);
});

describe("the projection", () => {
  it("a steady series: spent plus the same spend each remaining day", () => {
    const m = dailyModel(new Array(14).fill(12e9), 6e9, 0.5);
    expect(m.method).toBe("trend");
    expect(m.day(3)).toBeCloseTo(12e9);
    const p = project(m, 174e9, 300e9, NOW.getTime(), Date.parse("2026-07-01T00:00:00Z"));
    expect(p.projectedNano! / 1e9).toBeCloseTo(174 + 15.5 * 12);
    expect(new Date(p.exceedsAtMs!).toISOString()).toBe("2026-06-26T00:00:00.000Z");
  });
  it("a new series uses its average; a day running hot is projected at its own pace", () => {
    const fresh = dailyModel([0, 0, 0, 0, 5e9], 0, 0.5);
    expect(fresh.method).toBe("average");
    expect(fresh.day(1)).toBeCloseTo(5e9 / 1.5);
    const hot = dailyModel(new Array(14).fill(1e9), 10e9, 0.25);
    expect(hot.todayPace).toBeCloseTo(40e9);
    expect(project(hot, 0, 1e18, NOW.getTime(), null).projectedNano).toBeNull();
  });
});

describe("GET /v1/usage/forecast's numbers", () => {
  it("acme's hard $300 cap: spent $174, $360 by the month's end, reached on 2026-06-26", async () => {
    const f = await forecastAccount(t.db, ACC, NOW, spentOf);
    const acme = f.budgets.find((b) => b.rule.id === "bud_acme")!;
    expect(acme).toMatchObject({ status: "will_exceed", method: "trend", value: null, periodKey: "2026-06" });
    expect(acme.spentNano).toBe(174_000_000_000n);
    expect(Number(acme.projectedNano) / 1e9).toBeCloseTo(360, 6);
    expect(acme.exceedsAt!.toISOString()).toBe("2026-06-26T00:00:00.000Z");
    expect(Number(acme.perDayNano) / 1e9).toBeCloseTo(12, 6);
  });

  it("the per-tenant $200 rule, each tenant apart: acme on 2026-06-17 16:00, beta (growing) on 2026-06-20 12:00", async () => {
    const f = await forecastAccount(t.db, ACC, NOW, spentOf);
    const each = f.budgets.filter((b) => b.rule.id === "bud_each");
    expect(each.map((b) => b.value).sort()).toEqual(["acme", "beta"]);
    // acme: $174 + $6 for the rest of today = $180 at midnight, then $12 a day: $20 more = 1⅔ days.
    expect(each.find((b) => b.value === "acme")!.exceedsAt!.toISOString()).toBe("2026-06-17T16:00:00.000Z");
    // beta: $105 (days 1–14) + $7.50 = $112.50 now, $120 at midnight; then $16, $17, $18, $19 → $190 by the 20th, $10 of its $20 by noon.
    const beta = each.find((b) => b.value === "beta")!;
    expect(Number(beta.spentNano) / 1e9).toBeCloseTo(112.5, 6);
    expect(Number(beta.slopePerDayNano) / 1e9).toBeCloseTo(1, 6);
    expect(beta.exceedsAt!.toISOString()).toBe("2026-06-20T12:00:00.000Z");
    expect(Number(beta.projectedNano) / 1e9).toBeCloseTo(120 + (16 + 30) * 7.5, 4);
    // The whole account this month.
    expect(Number(f.month.spentNano) / 1e9).toBeCloseTo(174 + 112.5, 6);
  });
});

describe("the alert: will exceed its cap on <date>", () => {
  const events = () =>
    hooks.received.filter((r) => r.path === "/fc").map((r) => JSON.parse(r.body) as Record<string, unknown>);

  it("once per rule, value and period, until the projection falls back under the cap", async () => {
    const deps = { db: t.db, spentOf, alerts: { config: { sealingSecret: "x".repeat(16) } } };
    const first = await runForecastAlerts(deps, NOW);
    expect(first.map((e) => e.subject).sort()).toEqual([
      'tenant "acme" (the per-tenant rule "*") will exceed its $200.00 cap on 2026-06-17',
      'tenant "acme" will exceed its $300.00 cap on 2026-06-26',
      'tenant "beta" (the per-tenant rule "*") will exceed its $200.00 cap on 2026-06-20',
    ]);
    const acme = events().find((e) => (e.budget as { id: string }).id === "bud_acme")!;
    expect(acme).toMatchObject({
      type: "budget.forecast_exceeds_cap",
      exceedsAt: "2026-06-26T00:00:00.000Z",
      spentUsd: "174.00",
      projectedUsd: "360.00",
      perDayUsd: "12.00",
      method: "trend",
    });
    // An hour later: still heading over, no second alert.
    expect(await runForecastAlerts(deps, new Date(NOW.getTime() + H))).toEqual([]);
    expect(events()).toHaveLength(3);

    // The cap raised to $1,000: on track, the episode closes; lowered again: alerted again.
    await t.db.update(budgetRules).set({ capNano: 1_000_000_000_000n }).where(eq(budgetRules.id, "bud_acme"));
    await runForecastAlerts(deps, new Date(NOW.getTime() + 2 * H));
    const open = await t.db
      .select()
      .from(watchEpisodes)
      .where(and(eq(watchEpisodes.kind, "forecast"), isNull(watchEpisodes.closedAt)));
    expect(open.map((e) => e.value.split("|")[0]).sort()).toEqual(["bud_each", "bud_each"]);
    await t.db.update(budgetRules).set({ capNano: 300_000_000_000n }).where(eq(budgetRules.id, "bud_acme"));
    const again = await runForecastAlerts(deps, new Date(NOW.getTime() + 3 * H));
    expect(again.map((e) => (e.budget as { id: string }).id)).toEqual(["bud_acme"]);
  });

  it("soft budgets and budgets on track are not alerted", async () => {
    await t.db.update(budgetRules).set({ mode: "soft" }).where(eq(budgetRules.id, "bud_each"));
    const r = await runForecastAlerts({ db: t.db, spentOf }, new Date(NOW.getTime() + 4 * H));
    expect(r).toEqual([]);
    const open = await t.db
      .select()
      .from(watchEpisodes)
      .where(and(eq(watchEpisodes.kind, "forecast"), isNull(watchEpisodes.closedAt)));
    expect(open.map((e) => e.value.split("|")[0])).toEqual(["bud_acme"]);
  });
});
