import { describe, expect, it } from "vitest";
import { emptyUsage, type Usage } from "../usage";
import type { AccountPriceOverride } from "./account";
import { catalog } from "./catalog";
import { priceUsageWith } from "./cost";
import { catalogVersion, priceUsage } from "./index";
import type { Catalog } from "./types";

const at = new Date("2026-01-15T12:00:00Z");
const usage = (u: Partial<Usage>): Usage => ({ ...emptyUsage(), ...u });

function priced(r: ReturnType<typeof priceUsage>) {
  if (!r.priced) throw new Error(`unpriced: ${r.reason}`);
  return r;
}

describe("priceUsage: never a silent zero", () => {
  it("unknown model → priced:false with the catalog version and a reason", () => {
    const r = priceUsage({ provider: "openai", model: "gpt-99-ultra", usage: usage({ inputTokens: 10 }), at });
    expect(r).toEqual({
      priced: false,
      catalogVersion,
      reason: 'unknown model "gpt-99-ultra" for provider openai',
    });
  });

  it("unknown provider → priced:false", () => {
    const r = priceUsage({ provider: "acme", model: "gpt-4o", usage: usage({ inputTokens: 10 }), at });
    expect(r.priced).toBe(false);
    if (!r.priced) expect(r.reason).toContain("unknown provider");
  });

  it("falls back to the requested model when the answered one is unknown", () => {
    const r = priced(
      priceUsage({
        provider: "openai",
        model: "gpt-4o-some-new-snapshot",
        requestedModel: "gpt-4o",
        usage: usage({ inputTokens: 1000 }),
        at,
      }),
    );
    expect(r.modelId).toBe("gpt-4o");
    expect(r.costNano).toBe(2_500_000); // 1000 × $2.50/M
  });

  it("prices the answered model first", () => {
    const r = priced(
      priceUsage({
        provider: "openai",
        model: "gpt-4o-mini",
        requestedModel: "gpt-4o",
        usage: usage({ inputTokens: 1000 }),
        at,
      }),
    );
    expect(r.modelId).toBe("gpt-4o-mini");
  });

  it("a model priced only in units we do not meter (whisper: audio hours) is unpriced, not 0", () => {
    const r = priceUsage({ provider: "openai", model: "whisper-1", usage: usage({}), at });
    expect(r.priced).toBe(false);
    if (!r.priced) expect(r.reason).toMatch(/audio_hours/);
  });

  it("a bucket with tokens and no rate is listed in rates.unpriced (embeddings have no output rate)", () => {
    const r = priced(
      priceUsage({
        provider: "openai",
        model: "text-embedding-3-small",
        usage: usage({ inputTokens: 100, outputTokens: 5 }),
        at,
      }),
    );
    expect(r.rates.unpriced).toEqual(["outputTokens"]);
    expect(r.rates.tokens.outputTokens).toBeNull();
  });

  it("web searches on a model without a search fee are listed as unpriced", () => {
    const r = priced(
      priceUsage({
        provider: "openai",
        model: "gpt-4.1-nano",
        usage: usage({ inputTokens: 1, webSearchRequests: 2 }),
        at,
      }),
    );
    expect(r.rates.unpriced).toEqual(["webSearchRequests"]);
  });

  it("an explicitly free entry (OpenRouter :free) costs 0 with all rates 0, nothing unpriced", () => {
    const r = priced(
      priceUsage({
        provider: "openrouter",
        model: "meta-llama/llama-3.3-70b-instruct:free",
        usage: usage({ inputTokens: 1000, outputTokens: 1000 }),
        at,
      }),
    );
    expect(r.costNano).toBe(0);
    expect(r.rates.unpriced).toEqual([]);
    expect(r.rates.tokens.inputTokens).toBe(0);
  });

  it("invalid usage (negative, fractional) → priced:false", () => {
    for (const bad of [{ inputTokens: -1 }, { outputTokens: 1.5 }, { webSearchRequests: Number.NaN }]) {
      const r = priceUsage({ provider: "openai", model: "gpt-4o", usage: usage(bad), at });
      expect(r.priced).toBe(false);
    }
  });
});

/** A catalog with one provider, "acme", holding just these models. */
function acmeCatalog(version: string, models: Catalog["providers"][string]["models"]): Catalog {
  return { ...catalog, version, providers: { acme: { sourceId: "acme", name: "Acme", models } } };
}

describe("arithmetic", () => {
  it("rounds ONCE, half up, on the final division — not per bucket", () => {
    // $0.0004/M and $0.0003/M = 0.4 and 0.3 nano per token. 1 + 1 token = 0.7 nano → 1; rounding
    // each bucket first would give 0 + 0 = 0. 0.5 exactly rounds up; 0.25 rounds down.
    const tiny = acmeCatalog("t", [
      { id: "a", match: { equals: "a" }, periods: [{ rates: { input: 400_000, output: 300_000 } }] },
      { id: "b", match: { equals: "b" }, periods: [{ rates: { input: 500_000, output: 250_000 } }] },
    ]);
    const cost = (model: string, u: Partial<Usage>) => {
      const r = priceUsageWith(tiny, { provider: "acme", model, usage: usage(u), at });
      return r.priced ? r.costNano : Number.NaN;
    };
    expect(cost("a", { inputTokens: 1, outputTokens: 1 })).toBe(1);
    expect(cost("a", { inputTokens: 1 })).toBe(0);
    expect(cost("b", { inputTokens: 1 })).toBe(1);
    expect(cost("b", { outputTokens: 1 })).toBe(0);
    // In the real catalog: deepseek-v4-pro cache reads at $0.003625/M = 3.625 nano per token (before 2026-08-17).
    const before = new Date("2026-08-01T12:00:00Z");
    const v4 = (n: number) =>
      priced(
        priceUsage({
          provider: "deepseek",
          model: "deepseek-v4-pro",
          usage: usage({ cacheReadTokens: n }),
          at: before,
        }),
      ).costNano;
    expect([v4(1), v4(2), v4(3)]).toEqual([4, 7, 11]); // 3.625, 7.25, 10.875
  });

  it("reasoning tokens are part of output and never priced on top", () => {
    const base = priced(priceUsage({ provider: "openai", model: "o3", usage: usage({ outputTokens: 1000 }), at }));
    const withReasoning = priced(
      priceUsage({ provider: "openai", model: "o3", usage: usage({ outputTokens: 1000, reasoningTokens: 900 }), at }),
    );
    expect(withReasoning.costNano).toBe(base.costNano);
    expect(withReasoning.rates.outputReasoning).toBeNull();
  });

  it("reports the rates applied and the tier chosen", () => {
    const r = priced(
      priceUsage({
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        usage: usage({ inputTokens: 199_000, cacheReadTokens: 2000, outputTokens: 10 }),
        at,
      }),
    );
    expect(r.rates.tier).toEqual({ totalInputTokens: 201_000, start: 200_000 });
    expect(r.rates.tokens.inputTokens).toBe(6_000_000_000);
    expect(r.rates.tokens.cacheReadTokens).toBe(600_000_000);
    expect(r.rates.tokens.outputTokens).toBe(22_500_000_000);
    expect(r.catalogVersion).toBe(catalogVersion);
    expect(r.source).toBe("catalog");
  });

  it("a cache bucket a model does not price apart falls back to the input rate (genai-prices semantics)", () => {
    // gpt-4o has no cache-write rate (OpenAI charged nothing extra for writes before GPT-5.6).
    const r = priced(priceUsage({ provider: "openai", model: "gpt-4o", usage: usage({ cacheWriteTokens: 1000 }), at }));
    expect(r.costNano).toBe(2_500_000);
  });

  it("batch with no known discount: standard price plus a warning", () => {
    const r = priced(
      priceUsage({
        provider: "groq",
        model: "llama-3.1-8b-instant",
        usage: usage({ inputTokens: 1000 }),
        at,
        batch: true,
      }),
    );
    expect(r.costNano).toBe(50_000);
    expect(r.rates.batchDiscountBps).toBe(0);
    expect(r.rates.warnings[0]).toMatch(/no batch discount/);
  });

  it("batch discounts tokens but not per-unit tool fees", () => {
    const r = priced(
      priceUsage({
        provider: "anthropic",
        model: "claude-sonnet-4-20250514",
        usage: usage({ inputTokens: 1000, webSearchRequests: 1 }),
        at,
        batch: true,
      }),
    );
    expect(r.costNano).toBe(1_500_000 + 10_000_000); // 1000×$3/M ÷ 2 + 1 × $0.01
  });

  it("huge usage stays exact (bigint); beyond the safe-integer range it is unpriced, not wrapped", () => {
    const big = usage({ inputTokens: 2 ** 30, outputTokens: 2 ** 30 });
    const r = priced(priceUsage({ provider: "openai", model: "o1-pro", usage: big, at }));
    // (150 + 600) $/M × 2^30 tokens = 750 × 1000 nano × 2^30
    expect(r.costNano).toBe(750_000 * 2 ** 30);
    const over = priceUsage({ provider: "openai", model: "o1-pro", usage: usage({ outputTokens: 2 ** 40 }), at });
    expect(over.priced).toBe(false);
  });
});

describe("account overrides", () => {
  const ov = (o: Partial<AccountPriceOverride>): AccountPriceOverride => ({
    provider: "openai",
    model: "gpt-4o",
    effectiveFrom: new Date("2025-01-01T00:00:00Z"),
    ...o,
  });
  const u = usage({ inputTokens: 1000, outputTokens: 1000 }); // gpt-4o list: 2_500_000 + 10_000_000

  it("custom rates replace the catalog rate of their bucket only", () => {
    const r = priced(
      priceUsage({
        provider: "openai",
        model: "gpt-4o",
        usage: u,
        at,
        overrides: [ov({ rates: { input: 1_000_000_000 } })],
      }),
    );
    expect(r.costNano).toBe(1_000_000 + 10_000_000);
    expect(r.source).toBe("account");
  });

  it("a discount multiplies the whole cost, as basis points, still one rounding", () => {
    const r = priced(
      priceUsage({ provider: "openai", model: "gpt-4o", usage: u, at, overrides: [ov({ discountPercent: 12.5 })] }),
    );
    expect(r.costNano).toBe(10_937_500); // 12_500_000 × 0.875
    expect(r.rates.accountDiscountBps).toBe(1250);
  });

  it("rates and discount together, with batch", () => {
    const r = priced(
      priceUsage({
        provider: "openai",
        model: "gpt-4o",
        usage: u,
        at,
        batch: true,
        overrides: [ov({ rates: { output: 8_000_000_000 }, discountPercent: 10 })],
      }),
    );
    expect(r.costNano).toBe(4_725_000); // (2_500_000 + 8_000_000) × 0.5 × 0.9
  });

  it("not yet in force → ignored; a specific model beats '*'; the latest in force wins", () => {
    const future = ov({ discountPercent: 50, effectiveFrom: new Date("2027-01-01T00:00:00Z") });
    expect(
      priced(priceUsage({ provider: "openai", model: "gpt-4o", usage: u, at, overrides: [future] })).costNano,
    ).toBe(12_500_000);
    const all = ov({ model: "*", discountPercent: 50 });
    const specific = ov({ model: "GPT-4o", discountPercent: 20 });
    const later = ov({ discountPercent: 40, effectiveFrom: new Date("2025-06-01T00:00:00Z") });
    expect(
      priced(priceUsage({ provider: "openai", model: "gpt-4o-2024-08-06", usage: u, at, overrides: [all, specific] }))
        .costNano,
    ).toBe(10_000_000);
    expect(
      priced(priceUsage({ provider: "openai", model: "gpt-4o", usage: u, at, overrides: [all, specific, later] }))
        .costNano,
    ).toBe(7_500_000);
    expect(
      priced(priceUsage({ provider: "openai", model: "gpt-4.1", usage: u, at, overrides: [all, specific] })).costNano,
    ).toBe(5_000_000); // gpt-4.1: (2_000_000 + 8_000_000) × 0.5
  });

  it("prices a model the catalog does not know from the account's own rates (self-hosted / fine-tune)", () => {
    const r = priced(
      priceUsage({
        provider: "openai",
        model: "ft:my-private-model",
        usage: u,
        at,
        overrides: [ov({ model: "ft:my-private-model", rates: { input: 500_000_000, output: 1_500_000_000 } })],
      }),
    );
    expect(r.costNano).toBe(500_000 + 1_500_000);
    expect(r.modelId).toBe("ft:my-private-model");
  });

  it("a discount alone does not make an unknown model priced", () => {
    const r = priceUsage({
      provider: "openai",
      model: "nope",
      usage: u,
      at,
      overrides: [ov({ model: "nope", discountPercent: 10 })],
    });
    expect(r.priced).toBe(false);
  });

  it("an invalid discount is rejected, not applied", () => {
    const r = priceUsage({
      provider: "openai",
      model: "gpt-4o",
      usage: u,
      at,
      overrides: [ov({ discountPercent: 101 })],
    });
    expect(r.priced).toBe(false);
  });
});

describe("priceUsageWith (injected catalog)", () => {
  it("uses the catalog it is given", () => {
    const tiny = acmeCatalog("test", [
      { id: "m", match: { equals: "m" }, periods: [{ rates: { input: 1_000_000_000 } }] },
    ]);
    const r = priceUsageWith(tiny, { provider: "acme", model: "M", usage: usage({ inputTokens: 7 }), at });
    expect(r).toMatchObject({ priced: true, costNano: 7_000, catalogVersion: "test", modelId: "m" });
  });
});
