/**
 * Per-account price overrides (negotiated discounts, self-hosted or fine-tuned models): the type and
 * how the cost function picks one. The admin request body (zod) lives in account-body.ts, so the
 * metering path does not pull in zod.
 */
import type { FeeKey, TokenRateKey } from "./types";

/** Rates in the catalog's units: nano-USD per Mtok for tokens, nano-USD per 1,000 units for fees. */
export type AccountRates = Partial<Record<TokenRateKey | FeeKey, number>>;

export interface AccountPriceOverride {
  /** Provider id as called (e.g. "openrouter", "openai"). */
  provider: string;
  /**
   * Model this applies to: a catalog model id (`gpt-4o`), the exact model name sent or answered
   * (`my-finetune-v3`), or `*` for every model of the provider. Compared case-insensitively.
   */
  model: string;
  effectiveFrom: Date;
  /** Custom rates: each one REPLACES the catalog rate of its bucket (flat, no context tiers). */
  rates?: AccountRates;
  /** Discount on the whole call cost, 0–100 with at most 2 decimals (applied as basis points). */
  discountPercent?: number;
}

/** discountPercent → basis points (12.5% → 1250). Throws on anything outside 0–100 with ≤ 2 decimals. */
export function discountBps(percent: number | undefined): number {
  if (percent === undefined) return 0;
  const bps = Math.round(percent * 100);
  if (!Number.isFinite(percent) || bps < 0 || bps > 10_000 || Math.abs(percent * 100 - bps) > 1e-9) {
    throw new RangeError(`discountPercent must be 0–100 with at most 2 decimals: ${percent}`);
  }
  return bps;
}

/**
 * The one override that applies: among those of this provider already in force at `at`, one naming
 * the model (any of `names`) beats a `*` one; among equals the latest effectiveFrom wins.
 */
export function pickAccountOverride(
  overrides: readonly AccountPriceOverride[] | undefined,
  provider: string,
  names: readonly string[],
  at: Date,
): AccountPriceOverride | undefined {
  if (!overrides?.length) return undefined;
  const p = provider.toLowerCase().trim();
  const wanted = new Set(names.map((n) => n.toLowerCase().trim()));
  let specific: AccountPriceOverride | undefined;
  let wildcard: AccountPriceOverride | undefined;
  for (const o of overrides) {
    if (o.provider.toLowerCase().trim() !== p || o.effectiveFrom.getTime() > at.getTime()) continue;
    const m = o.model.toLowerCase().trim();
    if (m === "*") {
      if (!wildcard || o.effectiveFrom > wildcard.effectiveFrom) wildcard = o;
    } else if (wanted.has(m)) {
      if (!specific || o.effectiveFrom > specific.effectiveFrom) specific = o;
    }
  }
  return specific ?? wildcard;
}
