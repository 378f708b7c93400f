/**
 * The one cost function: usage × the model's rates → integer nano-USD.
 *
 * Arithmetic is bigint end to end, with ONE rounding step at the very end:
 *
 *   tokenSum = Σ bucket tokens × rate            (rate: nano-USD per 1e6 tokens)
 *   feeSum   = (webSearches × webSearchPerK + [1 × requestPerK]) × 1000
 *                                               (per-K fees brought to the same 1e-6 nano scale)
 *   num      = (tokenSum × (10000 − batchBps) + feeSum × 10000) × (10000 − accountBps)
 *   costNano = ⌊(num + den/2) / den⌋,  den = 1e6 × 1e4 × 1e4     — round half up, once
 *
 * so a call's cost is never the sum of separately rounded parts. Batch discounts apply to token
 * charges only (per-unit tool fees are not batch-discounted); an account discount applies to all.
 *
 * Bucket semantics follow genai-prices: a bucket the model does not price apart falls into its
 * parent (a cache read of a model with no cache-read rate costs the input rate; a 1-hour cache write
 * with no 1-hour rate costs the cache-write rate, else input). Reasoning tokens are PART of
 * outputTokens and are never added on top; only a model that prices reasoning apart (Perplexity
 * Sonar Deep Research) bills that part of the output at its own rate.
 *
 * Context tiers: every tiered rate is chosen by the call's total input tokens (all input buckets,
 * cached and audio included — `totalInputTokens`), a tier applying when that total is STRICTLY
 * greater than its start, the last such tier winning — exactly genai-prices.
 */
import { TOKEN_BUCKETS, type TokenBucket, totalInputTokens, type Usage } from "../usage";
import { type AccountPriceOverride, discountBps, pickAccountOverride } from "./account";
import { normalizeModelName, resolveModel } from "./resolve";
import type { Catalog, CatalogModel, PricePeriod, RateTable, RateValue, TokenRateKey } from "./types";

export { TOKEN_BUCKETS, type TokenBucket } from "../usage";

/** Which rate prices a bucket: the first key the model has. */
export const BUCKET_RATE_CHAIN: Readonly<Record<TokenBucket, readonly TokenRateKey[]>> = {
  inputTokens: ["input"],
  cacheReadTokens: ["cacheRead", "input"],
  cacheWriteTokens: ["cacheWrite", "input"],
  cacheWrite1hTokens: ["cacheWrite1h", "cacheWrite", "input"],
  inputAudioTokens: ["inputAudio", "input"],
  cacheAudioReadTokens: ["cacheAudioRead", "inputAudio", "cacheRead", "input"],
  outputTokens: ["output"],
  outputAudioTokens: ["outputAudio", "output"],
};

/** What was applied, stored with the cost record so a bill can be explained and recomputed. */
export interface AppliedRates {
  /** nano-USD per Mtok applied to each bucket (tier chosen, fallbacks resolved); null = no rate. */
  tokens: Record<TokenBucket, number | null>;
  /** nano-USD per Mtok for the reasoning part of outputTokens when the model prices it apart, else null. */
  outputReasoning: number | null;
  /** nano-USD per 1,000 web searches; null = not priced. */
  webSearchPerK: number | null;
  /** nano-USD per 1,000 calls, charged once per call; null = none. */
  requestPerK: number | null;
  /** Total input tokens the context tier was chosen by, and the start of the tier applied (null = base). */
  tier: { totalInputTokens: number; start: number | null };
  /** The price period applied: `from` date and/or time-of-day window [startSec, endSec) UTC. */
  period: { from: string | null; timeOfDay: [number, number] | null };
  batchDiscountBps: number;
  accountDiscountBps: number;
  /** effectiveFrom (ISO) of the account override applied, if any. */
  accountOverrideFrom: string | null;
  /** Usage buckets with a positive count and no rate: billed 0 and listed so it is never silent. */
  unpriced: string[];
  warnings: string[];
}

export interface PricedResult {
  priced: true;
  /** Safe integer nano-USD. */
  costNano: number;
  catalogVersion: string;
  /** Catalog provider whose rates applied (the vendor's for an OpenRouter pass-through). */
  provider: string;
  modelId: string;
  /** "catalog": catalog rates (maybe with an account discount); "account": account rates replaced some. */
  /** What priced it: the catalog, the account's own rates, or the account's fallback for unpriced models. */
  source: "catalog" | "account" | "fallback";
  rates: AppliedRates;
}

export interface UnpricedResult {
  priced: false;
  catalogVersion: string;
  reason: string;
}

export type PriceResult = PricedResult | UnpricedResult;

export interface PriceUsageInput {
  /** Provider id as called (openai, anthropic, gemini, openrouter, …). */
  provider: string;
  /** The model the provider ANSWERED with (fall back to the model asked when the response names none). */
  model: string;
  /** The model the client asked for; tried when `model` does not resolve. */
  requestedModel?: string | null;
  usage: Usage;
  /** When the call was made: selects the price period (price history, time-of-day rates). */
  at: Date;
  overrides?: readonly AccountPriceOverride[];
  /** Priced at the provider's batch discount (overrides.json); unknown discount → standard rates + warning. */
  batch?: boolean;
  /** The account's rates for a model nothing else prices (nano-USD per Mtok); used only then. */
  unpricedFallback?: { inputPerMTokNano: number; outputPerMTokNano: number };
}

/** genai-prices' period selection: scan from the last period; first that holds wins; else the first. */
export function selectPeriod(model: CatalogModel, at: Date): PricePeriod {
  const t = at.getTime();
  if (Number.isNaN(t)) throw new RangeError("invalid call time");
  const ps = model.periods;
  const sec = at.getUTCHours() * 3600 + at.getUTCMinutes() * 60 + at.getUTCSeconds() + at.getUTCMilliseconds() / 1000;
  for (let i = ps.length - 1; i >= 0; i--) {
    const p = ps[i] as PricePeriod;
    if (p.from !== undefined) {
      if (t >= Date.parse(`${p.from}T00:00:00Z`)) return p;
    } else if (p.tod) {
      const [s, e] = p.tod;
      if (e < s ? sec >= s || sec < e : sec >= s && sec < e) return p;
    } else {
      return p;
    }
  }
  return ps[0] as PricePeriod;
}

function rateAt(v: RateValue, totalIn: number): { rate: number; start: number | null } {
  if (typeof v === "number") return { rate: v, start: null };
  let rate = v.base;
  let start: number | null = null;
  for (const [s, r] of v.tiers) {
    if (totalIn > s) {
      rate = r;
      start = s;
    }
  }
  return { rate, start };
}

const USAGE_FIELDS = [...TOKEN_BUCKETS, "reasoningTokens", "webSearchRequests"] as const;

function invalidUsage(u: Usage): string | null {
  for (const f of USAGE_FIELDS) {
    const v = u[f];
    if (!Number.isSafeInteger(v) || v < 0) return `invalid usage: ${f}=${String(v)}`;
  }
  return null;
}

const DEN = 1_000_000n * 10_000n * 10_000n;

/**
 * Prices a call. Pure: no I/O; the catalog is passed in (index.ts binds the bundled one).
 * Returns priced:false — never a silent 0 — for an unknown provider or model, a model priced only in
 * units Tollgate does not meter, or invalid usage.
 */
export function priceUsageWith(cat: Catalog, input: PriceUsageInput): PriceResult {
  const result = priceOnce(cat, input);
  const fallback = input.unpricedFallback;
  if (result.priced || !fallback || invalidUsage(input.usage)) return result;
  // Nothing priced it: the account's fallback, as a rate override for exactly this model.
  const again = priceOnce(cat, {
    ...input,
    overrides: [
      {
        provider: input.provider,
        model: input.model,
        effectiveFrom: new Date(0),
        rates: { input: fallback.inputPerMTokNano, output: fallback.outputPerMTokNano },
      },
    ],
  });
  return again.priced ? { ...again, source: "fallback" } : result;
}

function priceOnce(cat: Catalog, input: PriceUsageInput): PriceResult {
  const version = cat.version;
  const bad = invalidUsage(input.usage);
  if (bad) return { priced: false, catalogVersion: version, reason: bad };
  if (Number.isNaN(input.at.getTime())) return { priced: false, catalogVersion: version, reason: "invalid call time" };

  const names = [input.model, input.requestedModel].filter((n): n is string => typeof n === "string" && n !== "");
  let resolved = null;
  for (const n of names) {
    resolved = resolveModel(cat, input.provider, n);
    if (resolved) break;
  }
  const override = pickAccountOverride(
    input.overrides,
    input.provider,
    resolved ? [resolved.model.id, ...names] : names,
    input.at,
  );
  const warnings: string[] = [];

  let table: RateTable;
  let period: PricePeriod | null = null;
  let provider: string;
  let modelId: string;
  if (resolved) {
    period = selectPeriod(resolved.model, input.at);
    table = period.rates;
    provider = resolved.provider;
    modelId = resolved.model.id;
    if (Object.keys(table).length === 0 && resolved.model.unsupported?.length && !override?.rates) {
      return {
        priced: false,
        catalogVersion: version,
        reason: `model ${provider}/${modelId} is priced only in units Tollgate does not meter: ${resolved.model.unsupported.join(", ")}`,
      };
    }
  } else if (override?.rates && Object.keys(override.rates).length > 0) {
    // Not in the catalog, but the account set its own rates (self-hosted, fine-tuned, custom endpoint).
    table = {};
    provider = input.provider.toLowerCase().trim();
    modelId = override.model === "*" ? normalizeModelName(names[0] ?? "") : override.model;
  } else {
    const known = Boolean(cat.providers[input.provider.toLowerCase().trim()]);
    return {
      priced: false,
      catalogVersion: version,
      reason: known
        ? `unknown model ${JSON.stringify(names.join(" / "))} for provider ${input.provider}`
        : `unknown provider ${JSON.stringify(input.provider)}`,
    };
  }
  const replaced = override?.rates && Object.keys(override.rates).length > 0;
  if (replaced) table = { ...table, ...override?.rates };
  // An entry with no rates at all is an explicitly free model (OpenRouter ":free", Gemma on AI Studio).
  const free = Object.keys(table).length === 0;

  const u = input.usage;
  const totalIn = totalInputTokens(u);
  let tierStart: number | null = null;
  const pick = (keys: readonly TokenRateKey[]): number | null => {
    for (const k of keys) {
      const v = table[k];
      if (v !== undefined) {
        const { rate, start } = rateAt(v, totalIn);
        if (start !== null && (tierStart === null || start > tierStart)) tierStart = start;
        return rate;
      }
    }
    return free ? 0 : null;
  };

  const applied = {} as Record<TokenBucket, number | null>;
  const unpriced: string[] = [];
  let tokenSum = 0n;
  const reasoningRate = table.outputReasoning !== undefined ? pick(["outputReasoning"]) : null;
  for (const b of TOKEN_BUCKETS) {
    const rate = pick(BUCKET_RATE_CHAIN[b]);
    applied[b] = rate;
    let tokens = u[b];
    if (b === "outputTokens" && reasoningRate !== null) {
      const reasoning = Math.min(u.reasoningTokens, u.outputTokens);
      tokens -= reasoning;
      tokenSum += BigInt(reasoning) * BigInt(reasoningRate);
    }
    if (tokens === 0) continue;
    if (rate === null) unpriced.push(b);
    else tokenSum += BigInt(tokens) * BigInt(rate);
  }

  const webSearchPerK = table.webSearch !== undefined ? rateAt(table.webSearch, totalIn).rate : free ? 0 : null;
  const requestPerK = table.request !== undefined ? rateAt(table.request, totalIn).rate : null;
  let feeSum = 0n;
  if (u.webSearchRequests > 0) {
    if (webSearchPerK === null) unpriced.push("webSearchRequests");
    else feeSum += BigInt(u.webSearchRequests) * BigInt(webSearchPerK) * 1000n;
  }
  if (requestPerK !== null) feeSum += BigInt(requestPerK) * 1000n;

  let batchBps = 0;
  if (input.batch) {
    const bp = cat.providers[input.provider.toLowerCase().trim()]?.batchDiscountBps;
    if (bp === undefined) warnings.push(`no batch discount known for ${input.provider}: priced at standard rates`);
    else batchBps = bp;
  }
  let accountBps: number;
  try {
    accountBps = discountBps(override?.discountPercent);
  } catch (e) {
    return { priced: false, catalogVersion: version, reason: (e as Error).message };
  }

  const num = (tokenSum * BigInt(10_000 - batchBps) + feeSum * 10_000n) * BigInt(10_000 - accountBps);
  const cost = (num + DEN / 2n) / DEN;
  if (cost > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { priced: false, catalogVersion: version, reason: "cost exceeds the safe integer range" };
  }

  return {
    priced: true,
    costNano: Number(cost),
    catalogVersion: version,
    provider,
    modelId,
    source: replaced ? "account" : "catalog",
    rates: {
      tokens: applied,
      outputReasoning: reasoningRate,
      webSearchPerK,
      requestPerK,
      tier: { totalInputTokens: totalIn, start: tierStart },
      period: { from: period?.from ?? null, timeOfDay: period?.tod ?? null },
      batchDiscountBps: batchBps,
      accountDiscountBps: accountBps,
      accountOverrideFrom: override ? override.effectiveFrom.toISOString() : null,
      unpriced,
      warnings,
    },
  };
}
