import { describe, expect, it } from "vitest";
import { discountBps, pickAccountOverride } from "./account";
import { accountOverrideBodySchema, accountOverrideFromBody } from "./account-body";

describe("account override admin body", () => {
  it("accepts decimal USD-per-million strings and converts them exactly to nano per Mtok", () => {
    const body = accountOverrideBodySchema.parse({
      rates: { inputUsd: "2.50", outputUsd: "10", cacheReadUsd: "0.000000001", webSearchPerThousandUsd: "8" },
      discountPercent: 12.5,
      effectiveFrom: "2026-02-01",
    });
    const o = accountOverrideFromBody("openai", "gpt-4o", body);
    expect(o).toEqual({
      provider: "openai",
      model: "gpt-4o",
      effectiveFrom: new Date("2026-02-01T00:00:00Z"),
      rates: { input: 2_500_000_000, output: 10_000_000_000, cacheRead: 1, webSearch: 8_000_000_000 },
      discountPercent: 12.5,
    });
  });

  it("defaults effectiveFrom to now and accepts an ISO date-time with offset", () => {
    const now = new Date("2026-03-03T03:03:03Z");
    expect(
      accountOverrideFromBody("x", "y", accountOverrideBodySchema.parse({ discountPercent: 5 }), now).effectiveFrom,
    ).toBe(now);
    const b = accountOverrideBodySchema.parse({ discountPercent: 5, effectiveFrom: "2026-03-03T10:00:00+02:00" });
    expect(accountOverrideFromBody("x", "y", b).effectiveFrom.toISOString()).toBe("2026-03-03T08:00:00.000Z");
  });

  it("rejects floats as rates, >9 decimals, negative, unknown keys, empty bodies, bad discounts", () => {
    const bad = [
      { rates: { inputUsd: 2.5 } },
      { rates: { inputUsd: "0.0000000001" } },
      { rates: { inputUsd: "-1" } },
      { rates: { input: "1" } },
      {},
      { discountPercent: 100.5 },
      { discountPercent: 1.234 },
      { discountPercent: 5, effectiveFrom: "yesterday" },
    ];
    for (const b of bad) expect(accountOverrideBodySchema.safeParse(b).success, JSON.stringify(b)).toBe(false);
  });

  it("discount percent → basis points", () => {
    expect([discountBps(undefined), discountBps(0), discountBps(12.5), discountBps(33.33), discountBps(100)]).toEqual([
      0, 0, 1250, 3333, 10_000,
    ]);
    expect(() => discountBps(-1)).toThrow(RangeError);
    expect(() => discountBps(0.001)).toThrow(RangeError);
  });

  it("picks one override: in force, specific over '*', latest first", () => {
    const d = (s: string) => new Date(s);
    const all = { provider: "OpenAI", model: "*", effectiveFrom: d("2025-01-01") };
    const a = { provider: "openai", model: "gpt-4o", effectiveFrom: d("2025-01-01") };
    const b = { provider: "openai", model: "gpt-4o", effectiveFrom: d("2025-06-01") };
    expect(pickAccountOverride([all, a, b], "openai", ["gpt-4o"], d("2025-03-01"))).toBe(a);
    expect(pickAccountOverride([all, a, b], "openai", ["gpt-4o"], d("2025-07-01"))).toBe(b);
    expect(pickAccountOverride([all, a, b], "openai", ["gpt-4.1"], d("2025-07-01"))).toBe(all);
    expect(pickAccountOverride([all, a, b], "anthropic", ["gpt-4o"], d("2025-07-01"))).toBeUndefined();
    expect(pickAccountOverride([a], "openai", ["gpt-4o"], d("2024-12-31"))).toBeUndefined();
  });
});
