/**
 * Pricing: the public surface. Pure and Worker-safe (no node: imports, no fs): the generated catalog
 * is bundled, rates are integers, costs are computed in bigint. The admin body schema (zod) is in
 * ./account-body (imported directly by the admin API, so the metering path stays free of zod).
 */
import { catalog } from "./catalog";
import { type PriceResult, type PriceUsageInput, priceUsageWith, selectPeriod } from "./cost";
import { resolveModel } from "./resolve";
import { FEE_KEYS, type FeeKey, type RateTable, TOKEN_RATE_KEYS, type TokenRateKey } from "./types";

export type { AccountPriceOverride, AccountRates } from "./account";
export type { AccountOverrideBody } from "./account-body";
export type { AppliedRates, PricedResult, PriceResult, PriceUsageInput, TokenBucket, UnpricedResult } from "./cost";
export type { Catalog, CatalogModel, FeeKey, RateTable, RateValue, TieredRate, TokenRateKey } from "./types";

/** Version id of the bundled catalog (sha-256 prefix of its content); stored with every cost record. */
export const catalogVersion: string = catalog.version;

/** Prices one call against the bundled catalog. See cost.ts for the arithmetic and rounding. */
export function priceUsage(input: PriceUsageInput): PriceResult {
  return priceUsageWith(catalog, input);
}

export interface ModelLookup {
  /** Catalog provider whose entry applies (the vendor's for an OpenRouter pass-through). */
  provider: string;
  modelId: string;
  /** The rates in force at `at` (context tiers kept as they are). */
  rates: RateTable;
  /** Each rate at its highest tier: what a worst-case reservation should use. */
  maxRates: Partial<Record<TokenRateKey | FeeKey, number>>;
  maxOutputTokens: number | null;
  contextWindow: number | null;
  batchDiscountBps: number | null;
}

/** For budgets: the model's rates at `at` and its limits, or null when the model is unknown. */
export function lookupModel(provider: string, model: string, at: Date): ModelLookup | null {
  const r = resolveModel(catalog, provider, model);
  if (!r) return null;
  const rates = selectPeriod(r.model, at).rates;
  const maxRates: ModelLookup["maxRates"] = {};
  for (const k of [...TOKEN_RATE_KEYS, ...FEE_KEYS]) {
    const v = rates[k];
    if (v === undefined) continue;
    maxRates[k] = typeof v === "number" ? v : Math.max(v.base, ...v.tiers.map(([, rate]) => rate));
  }
  return {
    provider: r.provider,
    modelId: r.model.id,
    rates,
    maxRates,
    maxOutputTokens: r.model.maxOutputTokens ?? null,
    contextWindow: r.model.contextWindow ?? null,
    batchDiscountBps: catalog.providers[provider.toLowerCase().trim()]?.batchDiscountBps ?? null,
  };
}
