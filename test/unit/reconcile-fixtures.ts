/**
 * A week of synthetic traffic for the reconciliation tests, and what each provider's double bills
 * for it — with planted differences, each of a kind the report must find and explain:
 *
 *   OpenAI    day 3 (2026-03-04) has no records at all           → missing_day
 *             acme-custom-1 on day 2 is a model nothing prices     → unpriced_model
 *             gpt-4o-mini's output rate is ×1.5 from day 5 on      → price_change on 2026-03-06
 *   Anthropic claude-sonnet-4-5's 5-minute cache writes billed ×2 → bucket_priced_differently
 *             day 6 (2026-03-07): 20 % more input than recorded    → missing_records
 *
 * Records are priced by the real cost function (src/pricing), so their rates_applied are what the
 * gateway stores.
 */
import { priceUsage } from "../../src/pricing";
import { emptyUsage, type Usage } from "../../src/usage";
import type { PriceBook, UsageRow } from "../cost-api-double/server";
import { type RecordRow, record } from "./reports-fixtures";

export const DAYS = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"];
export const PERIOD = { from: "2026-03-02", to: "2026-03-09" };
export const OUTAGE_DAY = "2026-03-04";
export const UNPRICED_DAY = "2026-03-03";
export const PRICE_CHANGE_DAY = "2026-03-06";
export const MISSING_RECORDS_DAY = "2026-03-07";

export const OPENAI_CALL: Partial<Usage> = { inputTokens: 100_000, cacheReadTokens: 20_000, outputTokens: 30_000 };
export const CUSTOM_CALL: Partial<Usage> = { inputTokens: 50_000, outputTokens: 10_000 };
export const CLAUDE_CALL: Partial<Usage> = {
  inputTokens: 100_000,
  cacheReadTokens: 50_000,
  cacheWriteTokens: 20_000,
  outputTokens: 20_000,
};

function priced(
  accountId: string,
  provider: string,
  model: string,
  u: Partial<Usage>,
  at: Date,
  over: Partial<RecordRow> = {},
): RecordRow {
  const { providerReportedCostNano: _, ...usage } = { ...emptyUsage(), ...u };
  const price = priceUsage({ provider, model, usage, at, overrides: [] });
  return record(accountId, {
    provider,
    modelRequested: model,
    modelAnswered: model,
    startedAt: at,
    finishedAt: new Date(at.getTime() + 2000),
    ...usage,
    costNano: price.priced ? BigInt(price.costNano) : 0n,
    priced: price.priced,
    pricedBy: price.priced ? price.source : null,
    ratesApplied: price.priced
      ? { modelId: price.modelId, provider: price.provider, source: price.source, ...price.rates }
      : { unpricedReason: price.reason },
    ...over,
  });
}

const at = (day: string, i: number) => new Date(Date.parse(`${day}T08:00:00Z`) + i * 600_000);

export function recordsFor(accountId: string): RecordRow[] {
  const rows: RecordRow[] = [];
  for (const day of DAYS) {
    if (day !== OUTAGE_DAY) {
      for (let i = 0; i < 10; i++) rows.push(priced(accountId, "openai", "gpt-4o-mini", OPENAI_CALL, at(day, i)));
    }
    if (day === UNPRICED_DAY) {
      for (let i = 0; i < 3; i++) rows.push(priced(accountId, "openai", "acme-custom-1", CUSTOM_CALL, at(day, 20 + i)));
    }
    for (let i = 0; i < 5; i++) {
      rows.push(
        priced(
          accountId,
          "anthropic",
          "claude-sonnet-4-5",
          { ...CLAUDE_CALL, webSearchRequests: i === 0 ? 1 : 0 },
          at(day, 30 + i),
        ),
      );
    }
  }
  return rows;
}

const times = (u: Partial<Usage>, n: number) => ({
  input: (u.inputTokens ?? 0) * n,
  cacheRead: (u.cacheReadTokens ?? 0) * n,
  cacheWrite: (u.cacheWriteTokens ?? 0) * n,
  output: (u.outputTokens ?? 0) * n,
  requests: n,
});

/** What OpenAI counted: every day's calls, the outage day's too (they reached OpenAI), and the custom model's. */
export function openaiUsage(): UsageRow[] {
  const rows: UsageRow[] = [];
  for (const day of DAYS) {
    rows.push({ day, model: "gpt-4o-mini", ...times(OPENAI_CALL, 10) });
    if (day === UNPRICED_DAY) rows.push({ day, model: "acme-custom-1", ...times(CUSTOM_CALL, 3) });
  }
  return rows;
}

export const openaiPrices: PriceBook = (model, day) =>
  model === "gpt-4o-mini"
    ? { input: 150_000_000, cacheRead: 75_000_000, output: day >= PRICE_CHANGE_DAY ? 900_000_000 : 600_000_000 }
    : { input: 1_000_000_000, output: 2_000_000_000 };

export function anthropicUsage(): UsageRow[] {
  return DAYS.map((day) => {
    const u = { day, model: "claude-sonnet-4-5", ...times(CLAUDE_CALL, 5), webSearches: 1 };
    return day === MISSING_RECORDS_DAY ? { ...u, input: u.input * 1.2, requests: 6 } : u;
  });
}

export const anthropicPrices: PriceBook = () => ({
  input: 3_000_000_000,
  cacheRead: 300_000_000,
  cacheWrite: 7_500_000_000,
  output: 15_000_000_000,
  webSearch: 10_000_000_000,
});
