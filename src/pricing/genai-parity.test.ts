/**
 * Property test: for EVERY model in the catalog, and random usage vectors and call times, our
 * integer costNano equals genai-prices' own calcPrice() (USD float × 1e9) to within 1 nano-USD.
 *
 * Bucket mapping to genai-prices usage keys (their counts overlap; ours do not):
 *   input_tokens            = every input token (uncached, cache read/write, audio) = totalInputTokens
 *   cache_read_tokens       = cacheRead + cacheAudioRead
 *   cache_write_tokens      = cacheWrite + cacheWrite1h;  cache_write_1h_tokens = cacheWrite1h
 *   input_audio_tokens      = inputAudio + cacheAudioRead; cache_audio_read_tokens = cacheAudioRead
 *   output_tokens           = output + outputAudio;  output_audio_tokens = outputAudio
 *   output_reasoning_tokens = reasoning (inside output);  web_searches = webSearchRequests
 */
import { readFileSync } from "node:fs";
import { calcPrice } from "@pydantic/genai-prices";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { emptyUsage, totalInputTokens, type Usage } from "../usage";
import { catalog } from "./catalog";
import { priceUsage } from "./index";
import type { CatalogModel, MatchLogic } from "./types";

function toGenai(u: Usage): Record<string, number> {
  return {
    input_tokens: totalInputTokens(u),
    cache_read_tokens: u.cacheReadTokens + u.cacheAudioReadTokens,
    cache_write_tokens: u.cacheWriteTokens + u.cacheWrite1hTokens,
    cache_write_1h_tokens: u.cacheWrite1hTokens,
    input_audio_tokens: u.inputAudioTokens + u.cacheAudioReadTokens,
    cache_audio_read_tokens: u.cacheAudioReadTokens,
    output_tokens: u.outputTokens + u.outputAudioTokens,
    output_audio_tokens: u.outputAudioTokens,
    output_reasoning_tokens: u.reasoningTokens,
    web_searches: u.webSearchRequests,
  };
}

/** Literal names a model's match logic accepts (or at least mentions); both sides then resolve them. */
function namesOf(m: MatchLogic): string[] {
  if ("or" in m) return m.or.flatMap(namesOf);
  if ("and" in m) return m.and.flatMap(namesOf);
  if ("equals" in m) return [m.equals];
  if ("starts_with" in m) return [m.starts_with];
  if ("ends_with" in m) return [m.ends_with];
  if ("contains" in m) return [m.contains];
  return [];
}

/** Deliberate differences: every model pricing/overrides.json patches, with the override's reason. */
const overridesFile = JSON.parse(readFileSync(new URL("../../pricing/overrides.json", import.meta.url), "utf8")) as {
  models: { provider: string; model: string; effectiveFrom: string; reason: string }[];
};
const deliberate = new Map(
  overridesFile.models.map((o) => [`${o.provider}/${o.model}`, { from: o.effectiveFrom, reason: o.reason }]),
);

const tokens = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 1_000_000 }));
const usageArb = fc
  .record({
    inputTokens: tokens,
    cacheReadTokens: tokens,
    cacheWriteTokens: tokens,
    cacheWrite1hTokens: tokens,
    inputAudioTokens: tokens,
    cacheAudioReadTokens: tokens,
    outputTokens: tokens,
    outputAudioTokens: tokens,
    reasoningShare: fc.double({ min: 0, max: 1, noNaN: true }),
    webSearchRequests: fc.integer({ min: 0, max: 20 }),
  })
  .map(
    ({ reasoningShare, ...u }): Usage => ({
      ...emptyUsage(),
      ...u,
      reasoningTokens: Math.floor(u.outputTokens * reasoningShare),
    }),
  );
const atArb = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2027, 5, 1) }).map((t) => new Date(t));

interface Target {
  provider: string;
  sourceId: string;
  model: CatalogModel;
  name: string;
}

const targets: Target[] = [];
for (const [provider, p] of Object.entries(catalog.providers)) {
  for (const model of p.models) {
    const name = namesOf(model.match)[0] ?? model.id;
    targets.push({ provider, sourceId: p.sourceId, model, name });
  }
}

function compare(t: Target, usage: Usage, at: Date): void {
  const ours = priceUsage({ provider: t.provider, model: t.name, usage, at });
  const theirs = calcPrice(toGenai(usage), t.name, { providerId: t.sourceId, timestamp: at });
  if (!ours.priced) {
    // Only models priced solely in units we do not meter may be unpriced; genai-prices then charges 0.
    expect(ours.reason, `${t.provider}/${t.name}`).toMatch(/units Tollgate does not meter/);
    expect(theirs?.total_price ?? 0).toBe(0);
    return;
  }
  expect(theirs, `${t.provider}/${t.name}: genai-prices found no model`).not.toBeNull();
  if (!theirs) return;
  expect(ours.modelId).toBe(theirs.model.id);
  const key = `${ours.provider}/${ours.modelId}`;
  const d = deliberate.get(key);
  if (d && at >= new Date(`${d.from}T00:00:00Z`)) return; // deliberate override (reason in overrides.json)
  const theirsNano = theirs.total_price * 1e9;
  const diff = Math.abs(ours.costNano - theirsNano);
  if (diff > 1) {
    throw new Error(
      `${t.provider}/${t.name} at ${at.toISOString()}: ours ${ours.costNano} vs genai-prices ${theirsNano} ` +
        `usage ${JSON.stringify(usage)}`,
    );
  }
}

describe("parity with genai-prices calcPrice", () => {
  it(`covers every catalog model (${targets.length})`, () => {
    expect(targets.length).toBe(Object.values(catalog.providers).reduce((n, p) => n + p.models.length, 0));
  });

  it("random usage and call times, every model, within 1 nano-USD", () => {
    for (const t of targets) {
      fc.assert(
        fc.property(usageArb, atArb, (usage, at) => compare(t, usage, at)),
        { numRuns: 12, seed: 20_260_101 },
      );
    }
  }, 120_000);

  it("at and around every context tier boundary", () => {
    const at = new Date("2026-02-01T12:00:00Z");
    let checked = 0;
    for (const t of targets) {
      const starts = new Set<number>();
      for (const p of t.model.periods)
        for (const v of Object.values(p.rates)) if (typeof v === "object") for (const [s] of v.tiers) starts.add(s);
      for (const s of starts) {
        for (const total of [s - 1, s, s + 1]) {
          const usage = { ...emptyUsage(), inputTokens: total - 1000, cacheReadTokens: 1000, outputTokens: 777 };
          compare(t, usage, at);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("the deliberate exclusions are exactly the overrides, each with a reason", () => {
    for (const [key, d] of deliberate) {
      expect(d.reason.length, key).toBeGreaterThan(20);
      const [provider, ...rest] = key.split("/");
      expect(
        catalog.providers[provider as string]?.models.some((m) => m.id === rest.join("/")),
        key,
      ).toBe(true);
    }
  });
});
