import { describe, expect, it } from "vitest";
import { catalog } from "./catalog";
import { lookupModel } from "./index";
import { normalizeDateSnapshot, resolveModel, resolveUncached } from "./resolve";

const id = (provider: string, model: string) => {
  const r = resolveUncached(catalog, provider, model);
  return r ? `${r.provider}/${r.model.id}` : null;
};

describe("resolveModel", () => {
  it("dated snapshots, case and whitespace", () => {
    expect(id("openai", "gpt-4o-mini-2024-07-18")).toBe("openai/gpt-4o-mini");
    expect(id("openai", "  GPT-4o-Mini ")).toBe("openai/gpt-4o-mini");
    expect(id("anthropic", "claude-3-5-sonnet-20241022")).toBe("anthropic/claude-3-5-sonnet");
  });

  it("compact dates are normalized like genai-prices (-YYYYMMDD → -YYYY-MM-DD), invalid dates left alone", () => {
    expect(normalizeDateSnapshot("gpt-4.1-20250414")).toBe("gpt-4.1-2025-04-14");
    expect(normalizeDateSnapshot("x-20251341")).toBe("x-20251341");
    expect(id("openai", "gpt-4.1-20250414")).toBe("openai/gpt-4.1");
  });

  it("per-provider catalogs: the same model costs differently on different providers", () => {
    expect(id("groq", "openai/gpt-oss-120b")).toBe("groq/openai/gpt-oss-120b");
    expect(id("fireworks", "accounts/fireworks/models/gpt-oss-120b")).toBe("fireworks/gpt-oss-120b");
    const groq = lookupModel("groq", "openai/gpt-oss-120b", new Date("2026-01-01"));
    const fw = lookupModel("fireworks", "accounts/fireworks/models/gpt-oss-120b", new Date("2026-01-01"));
    expect(groq?.rates.input).toBe(150_000_000);
    expect(fw?.rates.cacheRead).not.toBe(groq?.rates.cacheRead);
  });

  it("openrouter: own entry first, then the vendor's provider for a pass-through model", () => {
    expect(id("openrouter", "anthropic/claude-sonnet-4")).toBe("openrouter/anthropic/claude-sonnet-4");
    expect(id("openrouter", "openai/gpt-4.1-2025-04-14")).toBe("openai/gpt-4.1");
    expect(id("openrouter", "openai/text-embedding-3-small")).toBe("openai/text-embedding-3-small");
    expect(id("openrouter", "google/gemini-2.5-pro-preview-06-05")).not.toBeNull();
    expect(id("openrouter", "unknown-vendor/model")).toBeNull();
  });

  it("a vendor prefix naming the provider itself is stripped; other providers do not borrow prices", () => {
    expect(id("openai", "openai/gpt-4o")).toBe("openai/gpt-4o");
    expect(id("groq", "openai/gpt-4o")).toBeNull();
  });

  it("genai-prices provider fallbacks (azure → openai) and Gemini-native names", () => {
    expect(id("azure", "gpt-4o-mini")).not.toBeNull();
    expect(id("gemini", "models/gemini-2.5-flash")).toBe("gemini/gemini-2.5-flash");
    expect(id("xai", "grok-4")).toBe("xai/grok-4-0709");
  });

  it("unknown provider or empty name → null; results are memoized", () => {
    expect(id("nope", "gpt-4o")).toBeNull();
    expect(id("openai", "")).toBeNull();
    expect(resolveModel(catalog, "openai", "gpt-4o")).toBe(resolveModel(catalog, "openai", "gpt-4o"));
  });
});

describe("lookupModel (budgets: worst case)", () => {
  it("returns rates in force, the highest tier of each, and the limits", () => {
    const m = lookupModel("anthropic", "claude-sonnet-4-5-20250929", new Date("2026-01-01"));
    expect(m).toMatchObject({
      provider: "anthropic",
      modelId: "claude-sonnet-4-5",
      maxRates: { input: 6_000_000_000, output: 22_500_000_000, cacheWrite1h: 12_000_000_000 },
      contextWindow: 200_000,
      batchDiscountBps: 5000,
    });
    const mini = lookupModel("openai", "gpt-4o-mini", new Date("2026-01-01"));
    expect(mini?.maxOutputTokens).toBe(16_384);
    expect(mini?.contextWindow).toBe(128_000);
  });

  it("unknown → null", () => {
    expect(lookupModel("openai", "gpt-99", new Date())).toBeNull();
  });
});
