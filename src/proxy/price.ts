/**
 * Step 7: the provider's usage × the model's rates → the call's cost (integer nano-USD), with what
 * priced it and the rates applied (kept on the record, so a bill can be explained). Pure.
 */
import type { UnpricedFallback } from "../account-settings";
import { type AccountPriceOverride, catalogVersion, priceUsage } from "../pricing";
import type { CostRecord } from "../records/record";
import type { Usage } from "../usage";

export type PricedCall = Pick<CostRecord, "costNano" | "priced" | "pricedBy" | "priceVersion" | "ratesApplied">;

export function priceCall(p: {
  provider: string;
  /** The model answered, else the model asked. */
  model: string | null;
  requestedModel: string | null;
  usage: Usage | null;
  at: Date;
  overrides: readonly AccountPriceOverride[];
  unpricedFallback?: UnpricedFallback;
}): PricedCall {
  // Nothing to price (an error with no usage, an unmetered endpoint): zero cost, truly.
  if (!p.usage) return { costNano: 0n, priced: true, pricedBy: null, priceVersion: catalogVersion, ratesApplied: null };
  if (!p.model)
    return { costNano: 0n, priced: false, pricedBy: null, priceVersion: catalogVersion, ratesApplied: null };
  const price = priceUsage({
    provider: p.provider,
    model: p.model,
    requestedModel: p.requestedModel,
    usage: p.usage,
    at: p.at,
    overrides: p.overrides,
    ...(p.unpricedFallback ? { unpricedFallback: p.unpricedFallback } : {}),
  });
  if (!price.priced) {
    return {
      costNano: 0n,
      priced: false,
      pricedBy: null,
      priceVersion: price.catalogVersion,
      ratesApplied: { unpricedReason: price.reason },
    };
  }
  return {
    costNano: BigInt(price.costNano),
    priced: true,
    pricedBy: price.source,
    priceVersion: price.catalogVersion,
    ratesApplied: { modelId: price.modelId, provider: price.provider, source: price.source, ...price.rates },
  };
}
