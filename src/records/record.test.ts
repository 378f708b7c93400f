import { describe, expect, it } from "vitest";
import { costRecord } from "../../test/helpers/records";
import { emptyUsage } from "../usage";
import { type CostRecord, ROW_COLUMNS, rowJson } from "./record";

const base: CostRecord = costRecord({ usage: { ...emptyUsage(), inputTokens: 12, outputTokens: 34 }, costNano: 123n });

/** Every optional field set: the row then has every column. */
const full: CostRecord = {
  ...base,
  keyId: "key_1",
  tenant: "t",
  feature: "f",
  userId: "u",
  workflow: "w",
  modelAnswered: "gpt-4o-mini-2024-07-18",
  usage: { ...base.usage, providerReportedCostNano: 120.4 },
  ratesApplied: { modelId: "gpt-4o-mini" },
  ttftMs: 3,
  billedNano: 99n,
  routing: {
    route: "r",
    attempt: 2,
    attemptOf: "req_0",
    cache: "miss",
    savedNano: 7n,
    maxTokensApplied: 100,
    downgradedFrom: "gpt-4o",
  },
};

describe("rowJson (the record as its Postgres row)", () => {
  it("a record with every field set has exactly the table's columns but the bill's (created_at is Postgres's)", () => {
    // A plan's or wallet's bill is put on the row by the flush (src/billing/ledger.ts applyBill).
    const billColumns = ["overage_nano", "wallet_draws", "plan_version"];
    expect(Object.keys(JSON.parse(rowJson(full))).sort()).toEqual(
      ROW_COLUMNS.filter((c) => !billColumns.includes(c)).sort(),
    );
  });

  it("leaves nulls out, writes bigints as strings and times as ISO", () => {
    const row = JSON.parse(rowJson(base));
    for (const absent of ["key_id", "tenant", "model_answered", "rates_applied", "ttft_ms", "route", "saved_nano"])
      expect(row).not.toHaveProperty(absent);
    expect(row).toMatchObject({
      cost_nano: "123",
      billed_nano: "123",
      input_tokens: 12,
      output_tokens: 34,
      started_at: "2026-01-02T03:04:05.678Z",
    });
    const f = JSON.parse(rowJson(full));
    expect(f).toMatchObject({ billed_nano: "99", saved_nano: "7", provider_reported_cost_nano: "120", attempt: 2 });
  });

  it("a bill the settle script will write leaves billed_nano to the flush", () => {
    expect(JSON.parse(rowJson({ ...full, billPending: true }))).not.toHaveProperty("billed_nano");
  });
});
