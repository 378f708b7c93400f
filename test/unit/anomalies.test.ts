/**
 * Spend anomalies and runaway workflows on a synthetic history under a controlled clock: two weeks
 * of hourly spend with a daily rhythm, then spikes and loops; the watcher runs as the cron job
 * would, every few minutes of `now`, and each episode alerts once, through the alert channels,
 * with the numbers that triggered it.
 */
import { and, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertChannels } from "../../schema";
import { watchEpisodes } from "../../schema/trust";
import { runAnomalyWatch } from "../../src/anomalies";
import { baselineOf, DEFAULT_SPEND_THRESHOLDS, verdict } from "../../src/anomalies/baseline";
import { type AlertDouble, startAlertDouble } from "../alert-double/server";
import { insertRecords, newAccount, prng, type RecordRow, record, startTestDb, type TestDb } from "./reports-fixtures";

const H = 3_600_000;
const MIN = 60_000;
// The controlled clock: a Wednesday afternoon. Nothing here reads the real time.
const NOW = new Date("2026-06-10T14:00:00Z");
const at = (ms: number) => new Date(NOW.getTime() + ms);

let t: TestDb;
let hooks: AlertDouble;
const ACC = "acc_anomalies";
const WF = "acc_workflows";

/** Spend `usd` during [start, start + ms), as `n` records evenly spaced. */
function spend(accountId: string, attrs: Partial<RecordRow>, start: Date, ms: number, usd: number, n = 6): RecordRow[] {
  return Array.from({ length: n }, (_, i) =>
    record(accountId, {
      ...attrs,
      startedAt: new Date(start.getTime() + Math.floor((i * ms) / n)),
      costNano: BigInt(Math.round((usd / n) * 1e9)),
    }),
  );
}

const acme = { tenant: "acme", feature: "chat", keyId: "key_a" };
const batch = { tenant: "batch-co", feature: "reports", keyId: "key_b" };

/** Two weeks before NOW: acme spends $2/h in business hours (8–18 UTC) and $0.20/h at night, ±20 %; batch-co runs a $20 job 09:00–10:00 every day. */
function history(): RecordRow[] {
  const rand = prng(7);
  const rows: RecordRow[] = [];
  const start = NOW.getTime() - 14 * 24 * H;
  for (let h = start; h < NOW.getTime(); h += H) {
    const hour = new Date(h).getUTCHours();
    const base = hour >= 8 && hour < 18 ? 2 : 0.2;
    rows.push(...spend(ACC, acme, new Date(h), H, base * (0.8 + 0.4 * rand()), 4));
    if (hour === 9) rows.push(...spend(ACC, batch, new Date(h), H, 20, 6));
  }
  return rows;
}

const sent = (type: string) =>
  hooks.received
    .filter((r) => r.path === "/anomalies")
    .map(
      (r) =>
        JSON.parse(r.body) as {
          type: string;
          scope?: { type: string; id: string };
          workflow?: string;
          [k: string]: unknown;
        },
    )
    .filter((e) => e.type === type);

beforeAll(async () => {
  [t, hooks] = await Promise.all([startTestDb(), startAlertDouble()]);
  await newAccount(t.db, ACC);
  await newAccount(t.db, WF);
  await t.db.insert(alertChannels).values([
    { id: "alr_anom", accountId: ACC, kind: "webhook", url: `${hooks.url}/anomalies` },
    { id: "alr_wf", accountId: WF, kind: "webhook", url: `${hooks.url}/anomalies` },
  ]);
  await insertRecords(t.db, history());
}, 120_000);
afterAll(async () => {
  await Promise.all([t?.stop(), hooks?.close()]);
});

const deps = () => ({ db: t.db, alerts: { config: { sealingSecret: "x".repeat(16) } } });

describe("the baseline", () => {
  it("expects the same hour of the day, so a daily job is not an anomaly", () => {
    const hourly = new Array<number>(168).fill(0);
    for (let d = 1; d <= 7; d++) hourly[d * 24 - 1] = 20e9; // the hour before the window, each day
    const b = baselineOf(hourly);
    expect(b.sameHourMean).toBe(20e9);
    expect(b.mean).toBeCloseTo((7 * 20e9) / 168);
    expect(verdict(20e9, b, DEFAULT_SPEND_THRESHOLDS)).toBe("normal");
    // The same $20 in an hour with no such history opens.
    expect(verdict(20e9, baselineOf([...new Array(167).fill(0), 1e9]), DEFAULT_SPEND_THRESHOLDS)).toBe("open");
    // A fresh series (first spend < 24 h ago) opens only at the new-series minimum.
    const fresh = baselineOf([1e8, 1e8]);
    expect(fresh.hoursSeen).toBe(2);
    expect(verdict(3e9, fresh, DEFAULT_SPEND_THRESHOLDS)).not.toBe("open");
    expect(verdict(6e9, fresh, DEFAULT_SPEND_THRESHOLDS)).toBe("open");
  });
});

describe("spend per tenant, feature and key", () => {
  it("normal traffic — including batch-co's daily $20 hour — alerts nothing", async () => {
    // 10:00 on the same day: batch-co's job hour just ended.
    const r = await runAnomalyWatch(deps(), new Date(NOW.getTime() - 4 * H));
    expect(r.spend.find((s) => s.value === "batch-co")?.verdict).toBe("normal");
    expect(r.alerted).toEqual([]);
    expect((await runAnomalyWatch(deps(), NOW)).alerted).toEqual([]);
  });

  it("a spike alerts once per tenant, feature and key, with its numbers, until it is over", async () => {
    // acme spends $30 in 25 minutes.
    await insertRecords(t.db, spend(ACC, acme, at(0), 25 * MIN, 30, 25));
    const first = await runAnomalyWatch(deps(), at(25 * MIN));
    expect(
      first.alerted.map((e) => `${(e.scope as { type: string }).type}:${(e.scope as { id: string }).id}`).sort(),
    ).toEqual(["feature:chat", "key:key_a", "tenant:acme"]);
    const [tenant] = sent("spend.anomaly").filter((e) => e.scope?.type === "tenant");
    expect(tenant).toMatchObject({ accountId: ACC, scope: { type: "tenant", id: "acme" } });
    const window = tenant!.window as { spendUsd: string; requests: number };
    expect(Number(window.spendUsd)).toBeGreaterThan(30);
    const baseline = tenant!.baseline as { expectedUsd: string; meanUsd: string; sameHourMeanUsd: string };
    expect(Number(baseline.sameHourMeanUsd)).toBeGreaterThan(1.5);
    expect(Number(baseline.sameHourMeanUsd)).toBeLessThan(2.5);
    expect(tenant!.ratio as number).toBeGreaterThan(10);
    expect(String(tenant!.message)).toContain("tenant acme spent $");

    // Five minutes later the spike goes on: no second alert.
    await insertRecords(t.db, spend(ACC, acme, at(25 * MIN), 5 * MIN, 6, 5));
    expect((await runAnomalyWatch(deps(), at(30 * MIN))).alerted).toEqual([]);
    expect(sent("spend.anomaly")).toHaveLength(3);

    // Two hours on, spend is back to its usual: the episodes close.
    await insertRecords(t.db, spend(ACC, acme, at(90 * MIN), 60 * MIN, 2, 4));
    await runAnomalyWatch(deps(), at(150 * MIN));
    const open = await t.db
      .select()
      .from(watchEpisodes)
      .where(and(eq(watchEpisodes.accountId, ACC), isNull(watchEpisodes.closedAt)));
    expect(open).toEqual([]);

    // A new spike is a new episode: alerted again.
    await insertRecords(t.db, spend(ACC, acme, at(150 * MIN), 20 * MIN, 25, 20));
    const again = await runAnomalyWatch(deps(), at(170 * MIN));
    expect(again.alerted.filter((e) => (e.scope as { type: string }).type === "tenant")).toHaveLength(1);
    expect(sent("spend.anomaly")).toHaveLength(6);
  });
});

describe("runaway workflows", () => {
  const T0 = at(24 * H);
  const call = (workflow: string, startedAt: Date, usd: number) =>
    record(WF, { workflow, tenant: "t1", startedAt, costNano: BigInt(Math.round(usd * 1e9)) });

  beforeAll(async () => {
    const rows: RecordRow[] = [];
    // A week of ordinary agent runs: 30 workflows of 10 calls, $0.005 each.
    for (let w = 0; w < 30; w++) {
      const start = T0.getTime() - (w + 1) * 5 * H;
      for (let i = 0; i < 10; i++) rows.push(call(`run-${w}`, new Date(start + i * MIN), 0.005));
    }
    // Now: three workflows started 20 minutes ago, one call a minute for 15 minutes.
    for (const wf of ["run-loop", "run-grow", "run-ok"]) {
      for (let i = 0; i < 15; i++) rows.push(call(wf, new Date(T0.getTime() - 20 * MIN + i * MIN), 0.002));
    }
    // Then, in the last 5 minutes: run-loop calls 12 times a minute; run-grow's calls cost 100×; run-ok goes on as before.
    for (let i = 0; i < 60; i++) rows.push(call("run-loop", new Date(T0.getTime() - 5 * MIN + i * 5000), 0.002));
    for (let i = 0; i < 5; i++) rows.push(call("run-grow", new Date(T0.getTime() - 5 * MIN + i * MIN), 0.2));
    for (let i = 0; i < 5; i++) rows.push(call("run-ok", new Date(T0.getTime() - 5 * MIN + i * MIN), 0.002));
    await insertRecords(t.db, rows);
  });

  it("catches a loop within minutes, by call rate and by cost per call, and not the workflow that behaves", async () => {
    const r = await runAnomalyWatch(deps(), T0);
    const runaways = r.alerted.filter((e) => e.type === "workflow.runaway");
    expect(runaways.map((e) => e.workflow).sort()).toEqual(["run-grow", "run-loop"]);
    // The loops' spend is also far over tenant t1's hourly baseline: that is its own alert.
    expect(
      r.alerted
        .filter((e) => e.type === "spend.anomaly")
        .map((e) => (e.scope as { id: string }).id)
        .sort(),
    ).toEqual(["key_1", "t1"]);
    const loop = sent("workflow.runaway").find((e) => e.workflow === "run-loop")!;
    expect(loop.window).toMatchObject({ calls: 60 });
    expect((loop.reasons as string[]).some((x) => x.startsWith("call rate 12.0/min"))).toBe(true);
    expect(loop.before).toMatchObject({ calls: 15, minutes: 15 });
    expect(loop.accountTypical).toMatchObject({ workflows: 30, p95Calls: 10 });
    const grow = sent("workflow.runaway").find((e) => e.workflow === "run-grow")!;
    expect((grow.reasons as string[]).some((x) => x.startsWith("cost per call $0.20, 100.0×"))).toBe(true);
    expect(r.workflows.find((w) => w.workflow === "run-ok")!.reasons).toEqual([]);
  });

  it("alerts once while the loop runs, and closes when it stops", async () => {
    await insertRecords(
      t.db,
      Array.from({ length: 60 }, (_, i) => call("run-loop", new Date(T0.getTime() + i * 5000), 0.002)),
    );
    expect((await runAnomalyWatch(deps(), at(24 * H + 5 * MIN))).alerted).toEqual([]);
    expect(sent("workflow.runaway").filter((e) => e.workflow === "run-loop")).toHaveLength(1);
    await runAnomalyWatch(deps(), at(24 * H + 20 * MIN));
    const open = await t.db
      .select()
      .from(watchEpisodes)
      .where(and(eq(watchEpisodes.accountId, WF), eq(watchEpisodes.kind, "workflow"), isNull(watchEpisodes.closedAt)));
    expect(open).toEqual([]);
  });
});
