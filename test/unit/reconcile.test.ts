/**
 * Reconciliation against the providers' own reports, served by the cost-API double from a week of
 * synthetic traffic with planted differences (reconcile-fixtures.ts): each is flagged and named,
 * nothing else is; the CSV export says the same as the API; the cron job fetches with a stored
 * admin key, follows pagination, and alerts once for the same differences.
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertChannels } from "../../schema";
import { alertDeliveries } from "../../schema/budgets";
import { costSources, reconciliations } from "../../schema/trust";
import { encryptSecret } from "../../src/lib/crypto";
import { reconcile, type StoredReconciliation } from "../../src/reconcile";
import { fetchPeriod, runCostFetches } from "../../src/reconcile/cron";
import { fetchProviderData } from "../../src/reconcile/fetch";
import { type AlertDouble, startAlertDouble } from "../alert-double/server";
import { type CostApiDouble, openaiCostCsv, startCostApiDouble } from "../cost-api-double/server";
import {
  anthropicPrices,
  anthropicUsage,
  MISSING_RECORDS_DAY,
  OUTAGE_DAY,
  openaiPrices,
  openaiUsage,
  PERIOD,
  PRICE_CHANGE_DAY,
  recordsFor,
  UNPRICED_DAY,
} from "./reconcile-fixtures";
import { insertRecords, newAccount, startTestDb, type TestDb } from "./reports-fixtures";

const OPENAI_KEY = "sk-admin-test-openai";
const ANTHROPIC_KEY = "sk-ant-admin01-test";
const SECRET = "0123456789abcdef0123456789";

let t: TestDb;
let double: CostApiDouble;
let hooks: AlertDouble;
const ACCOUNT = "acc_reconcile";

beforeAll(async () => {
  [t, double, hooks] = await Promise.all([startTestDb(), startCostApiDouble(), startAlertDouble()]);
  await newAccount(t.db, ACCOUNT);
  await insertRecords(t.db, recordsFor(ACCOUNT));
  double.set("openai", { usage: openaiUsage(), prices: openaiPrices, adminKey: OPENAI_KEY });
  double.set("anthropic", { usage: anthropicUsage(), prices: anthropicPrices, adminKey: ANTHROPIC_KEY });
}, 120_000);
afterAll(async () => {
  await Promise.all([t?.stop(), double?.close(), hooks?.close()]);
});

const flagged = (r: StoredReconciliation) =>
  r.lines
    .filter((l) => l.flagged)
    .map((l) => `${l.day} ${l.model} ${l.bucket}: ${l.causes.map((c) => c.code).join("+")}`);

async function fetched(provider: "openai" | "anthropic") {
  const source =
    provider === "openai"
      ? { adminKey: OPENAI_KEY, baseUrl: double.openaiBase }
      : { adminKey: ANTHROPIC_KEY, baseUrl: double.anthropicBase };
  return fetchProviderData(provider, source, PERIOD);
}

describe("OpenAI: Usage and Costs APIs", () => {
  let report: StoredReconciliation;
  beforeAll(async () => {
    report = await reconcile(t.db, { accountId: ACCOUNT, data: await fetched("openai"), source: "upload" });
  });

  it("covers the days the provider's buckets cover, with both sides' totals", () => {
    expect(report.period).toEqual(PERIOD);
    expect(report.compared).toEqual({ tokens: true, costs: true });
    expect(report.days).toHaveLength(7);
    expect(report.days.find((d) => d.day === OUTAGE_DAY)).toMatchObject({
      ourRecords: 0,
      ourCostUsd: "0.00",
      flagged: true,
    });
    expect(Number(report.totals.theirCostUsd)).toBeGreaterThan(Number(report.totals.ourCostUsd));
  });

  it("flags exactly the planted differences and names their causes", () => {
    expect(flagged(report).sort()).toEqual(
      [
        `${OUTAGE_DAY} gpt-4o-mini input: missing_day`,
        `${OUTAGE_DAY} gpt-4o-mini cache_read: missing_day`,
        `${OUTAGE_DAY} gpt-4o-mini output: missing_day`,
        `${OUTAGE_DAY} gpt-4o-mini total: missing_day`,
        `${UNPRICED_DAY} acme-custom-1 input: unpriced_model`,
        `${UNPRICED_DAY} acme-custom-1 output: unpriced_model`,
        `${UNPRICED_DAY} acme-custom-1 total: unpriced_model`,
        ...["2026-03-06", "2026-03-07", "2026-03-08"].flatMap((d) => [
          `${d} gpt-4o-mini output: price_change`,
          `${d} gpt-4o-mini total: price_change`,
        ]),
      ].sort(),
    );
  });

  it("explains with the numbers: the rates before and after the change, the model to price", () => {
    const change = report.lines.find(
      (l) => l.day === PRICE_CHANGE_DAY && l.model === "gpt-4o-mini" && l.bucket === "output",
    )!;
    expect(change).toMatchObject({
      ourTokens: 300_000,
      theirTokens: 300_000,
      ourRatePerMTokUsd: "0.60",
      theirRatePerMTokUsd: "0.90",
    });
    expect(change.differenceUsd).toBe("-0.09");
    expect(change.differencePercent).toBe(-33.33);
    expect(change.causes[0]!.message).toContain(`changed on ${PRICE_CHANGE_DAY} from $0.60 per Mtok to $0.90 per Mtok`);
    const unpriced = report.causes.find((c) => c.code === "unpriced_model")!;
    expect(unpriced.message).toContain(`/prices/openai/acme-custom-1`);
    expect(unpriced.differenceUsd).toBe("-0.21");
    const missing = report.causes.find((c) => c.code === "missing_day")!;
    expect(missing.days).toEqual([OUTAGE_DAY]);
    expect(missing.differenceUsd).toBe("-0.345");
    // Days before the change agree to the nano-dollar.
    const calm = report.lines.filter((l) => l.day === "2026-03-02");
    expect(calm.every((l) => l.differenceUsd === "0.00" && !l.flagged)).toBe(true);
  });

  it("the console's cost CSV says what the Costs API says", async () => {
    const data = await fetched("openai");
    const csv = openaiCostCsv((data.costs as [Parameters<typeof openaiCostCsv>[0]])[0]);
    const fromCsv = await reconcile(t.db, {
      accountId: ACCOUNT,
      data: { provider: "openai", usage: data.usage, csv },
      source: "upload",
    });
    expect(fromCsv.sources).toEqual(["openai usage API (completions)", "openai cost CSV export"]);
    expect(flagged(fromCsv).sort()).toEqual(flagged(report).sort());
    expect(fromCsv.totals).toEqual(report.totals);
  });

  it("with costs only, a price change cannot be told from missing calls, and the report says so", async () => {
    const data = await fetched("openai");
    const r = await reconcile(t.db, {
      accountId: ACCOUNT,
      data: { provider: "openai", costs: data.costs },
      source: "upload",
    });
    expect(r.compared).toEqual({ tokens: false, costs: true });
    const change = r.lines.find((l) => l.day === PRICE_CHANGE_DAY && l.bucket === "output")!;
    expect(change.flagged).toBe(true);
    expect(change.causes.map((c) => c.code)).toEqual(["unexplained"]);
    expect(change.causes[0]!.message).toContain("usage report");
    // The outage day is still named: it needs no token counts.
    expect(r.lines.find((l) => l.day === OUTAGE_DAY && l.bucket === "total")!.causes[0]!.code).toBe("missing_day");
  });
});

describe("Anthropic: usage report and cost report", () => {
  let report: StoredReconciliation;
  beforeAll(async () => {
    report = await reconcile(t.db, { accountId: ACCOUNT, data: await fetched("anthropic"), source: "upload" });
  });

  it("flags the cache writes billed differently and the day with missing calls", () => {
    const lines = flagged(report);
    const writes = lines.filter((l) => l.includes("cache_write:"));
    expect(writes).toHaveLength(7);
    expect(writes.every((l) => l.endsWith("bucket_priced_differently"))).toBe(true);
    expect(lines).toContain(`${MISSING_RECORDS_DAY} claude-sonnet-4-5 input: missing_records`);
    expect(lines.filter((l) => !l.includes("cache_write:") && !l.includes(" total:"))).toEqual([
      `${MISSING_RECORDS_DAY} claude-sonnet-4-5 input: missing_records`,
    ]);
    const write = report.lines.find((l) => l.bucket === "cache_write" && l.day === "2026-03-02")!;
    expect(write).toMatchObject({ ourRatePerMTokUsd: "3.75", theirRatePerMTokUsd: "7.50", differencePercent: -50 });
    expect(write.causes[0]!.message).toContain("while its other buckets agree");
    const missing = report.lines.find((l) => l.day === MISSING_RECORDS_DAY && l.bucket === "input")!;
    expect(missing).toMatchObject({
      ourTokens: 500_000,
      theirTokens: 600_000,
      tokenDifference: -100_000,
      tokenDifferencePercent: -16.67,
    });
  });

  it("web searches: billed without a model, compared over all models", () => {
    const search = report.lines.filter((l) => l.bucket === "web_search");
    const anyModel = search.filter((l) => l.model === "*");
    expect(anyModel).toHaveLength(7);
    expect(anyModel.every((l) => l.ourCostUsd === "0.01" && l.theirCostUsd === "0.01" && !l.flagged)).toBe(true);
    const perModel = search.filter((l) => l.model === "claude-sonnet-4-5");
    expect(perModel.every((l) => l.ourTokens === 1 && l.theirTokens === 1 && l.theirCostUsd === null)).toBe(true);
  });
});

describe("fetched by the cron job with a stored admin key", () => {
  it("fetches the days before yesterday, stores the report, and alerts once for the same differences", async () => {
    await t.db
      .insert(alertChannels)
      .values({ id: "alr_recon", accountId: ACCOUNT, kind: "webhook", url: `${hooks.url}/recon` });
    await t.db.insert(costSources).values({
      accountId: ACCOUNT,
      provider: "anthropic",
      adminKeyCiphertext: await encryptSecret(ANTHROPIC_KEY, SECRET),
      baseUrl: double.anthropicBase,
    });
    // 2026-03-10, midday: the period is 2026-03-02 to 2026-03-09, the fixture's week.
    const now = new Date("2026-03-10T12:00:00Z");
    expect(fetchPeriod(now)).toEqual(PERIOD);
    const deps = { db: t.db, sealingSecret: SECRET, alerts: { config: { sealingSecret: SECRET } } };
    expect(await runCostFetches(deps, now)).toBe(1);
    // Not due again within 6 hours (by Postgres's clock).
    expect(await runCostFetches(deps, now)).toBe(0);
    const [source] = await t.db.select().from(costSources).where(eq(costSources.accountId, ACCOUNT));
    expect(source).toMatchObject({ lastStatus: "ok", lastError: null });
    const [stored] = await t.db
      .select()
      .from(reconciliations)
      .where(eq(reconciliations.id, source!.lastReconciliationId!));
    expect(stored).toMatchObject({
      source: "fetch",
      provider: "anthropic",
      periodFrom: PERIOD.from,
      periodTo: PERIOD.to,
    });
    expect(stored!.flaggedLines).toBeGreaterThan(0);
    const sent = hooks.received.filter((r) => r.path === "/recon");
    expect(sent).toHaveLength(1);
    const event = JSON.parse(sent[0]!.body) as { type: string; causes: { code: string }[]; reconciliationId: string };
    expect(event.type).toBe("reconciliation.difference_found");
    expect(event.reconciliationId).toBe(stored!.id);
    expect(event.causes.map((c) => c.code).sort()).toEqual(["bucket_priced_differently", "missing_records"]);
    const [delivery] = await t.db
      .select()
      .from(alertDeliveries)
      .where(eq(alertDeliveries.eventId, `reconciliation:${stored!.id}`));
    expect(delivery).toMatchObject({
      eventType: "reconciliation.difference_found",
      budgetId: null,
      status: "delivered",
    });

    // Due again later: the same differences, no second alert.
    await t.db.update(costSources).set({ lastFetchedAt: sql`now() - interval '7 hours'` });
    expect(await runCostFetches(deps, now)).toBe(1);
    expect(hooks.received.filter((r) => r.path === "/recon")).toHaveLength(1);
  });

  it("pages through a long period and keeps a failure on the source", async () => {
    const before = double.requests.length;
    const data = await fetchProviderData(
      "openai",
      { adminKey: OPENAI_KEY, baseUrl: double.openaiBase },
      { from: "2026-02-01", to: "2026-03-12" },
    );
    // 39 days at 31 buckets a page: two pages per endpoint.
    expect((data.usage as unknown[]).length).toBe(2);
    expect(double.requests.slice(before).filter((r) => r.status === 200)).toHaveLength(4);

    await t.db.insert(costSources).values({
      accountId: ACCOUNT,
      provider: "openai",
      adminKeyCiphertext: await encryptSecret("sk-admin-wrong", SECRET),
      baseUrl: double.openaiBase,
    });
    await runCostFetches({ db: t.db, sealingSecret: SECRET }, new Date("2026-03-10T12:00:00Z"));
    const [source] = await t.db.select().from(costSources).where(eq(costSources.provider, "openai"));
    expect(source!.lastStatus).toBe("error");
    expect(source!.lastError).toContain("HTTP 401");
  });
});
