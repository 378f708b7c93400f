/** A cost record as finish.ts builds it, for tests: a plain metered chat call, `over` on top. */
import type { CostRecord } from "../../src/records/record";
import { emptyUsage } from "../../src/usage";

export function costRecord(over: Partial<CostRecord> = {}): CostRecord {
  return {
    id: "req_1",
    accountId: "acc_1",
    keyId: null,
    tenant: null,
    feature: null,
    userId: null,
    environment: "production",
    workflow: null,
    tags: {},
    provider: "openai",
    modelRequested: "gpt-4o-mini",
    modelAnswered: null,
    endpoint: "chat",
    streamed: false,
    status: 200,
    usage: emptyUsage(),
    costNano: 0n,
    priced: true,
    pricedBy: "catalog",
    priceVersion: "v1",
    ratesApplied: null,
    usageSource: "reported",
    budgetChecked: true,
    latencyMs: 5,
    ttftMs: null,
    startedAt: new Date("2026-01-02T03:04:05.678Z"),
    finishedAt: new Date("2026-01-02T03:04:05.999Z"),
    ...over,
  };
}
