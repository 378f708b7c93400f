/**
 * Admin API edge for account price overrides: the zod schema of the request body and its conversion
 * from decimal USD strings to integer nano-USD rates, and back for the answers (ratesToUsd). The API
 * that stores overrides is src/http/admin/prices.ts; it validates with `accountOverrideBodySchema`
 * and stores `accountOverrideFromBody(...)`.
 */
import { z } from "zod";
import { nowDate } from "../lib/clock";
import { nanoToUsd, usdToNano } from "../lib/money";
import type { AccountPriceOverride, AccountRates } from "./account";
import type { FeeKey, TokenRateKey } from "./types";

const usdString = z
  .string()
  .regex(/^\d+(\.\d{1,9})?$/, 'a non-negative decimal USD amount with at most 9 decimals, e.g. "2.50"');

/** Admin API body: rates are decimal USD strings per million tokens (fees: per 1,000 units). */
export const accountOverrideBodySchema = z
  .object({
    rates: z
      .object({
        inputUsd: usdString.optional(),
        cacheReadUsd: usdString.optional(),
        cacheWriteUsd: usdString.optional(),
        cacheWrite1hUsd: usdString.optional(),
        inputAudioUsd: usdString.optional(),
        cacheAudioReadUsd: usdString.optional(),
        outputUsd: usdString.optional(),
        outputAudioUsd: usdString.optional(),
        outputReasoningUsd: usdString.optional(),
        webSearchPerThousandUsd: usdString.optional(),
        requestPerThousandUsd: usdString.optional(),
      })
      .strict()
      .optional(),
    discountPercent: z
      .number()
      .min(0)
      .max(100)
      .refine((p) => Number.isInteger(Math.round(p * 100)) && Math.abs(p * 100 - Math.round(p * 100)) < 1e-9, {
        message: "at most 2 decimals",
      })
      .optional(),
    /** `YYYY-MM-DD` (UTC midnight) or an ISO date-time with offset; defaults to now. */
    effectiveFrom: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
  })
  .strict()
  .refine((b) => b.rates !== undefined || b.discountPercent !== undefined, {
    message: "give rates, discountPercent, or both",
  });

export type AccountOverrideBody = z.infer<typeof accountOverrideBodySchema>;

const BODY_KEYS: Record<string, TokenRateKey | FeeKey> = {
  inputUsd: "input",
  cacheReadUsd: "cacheRead",
  cacheWriteUsd: "cacheWrite",
  cacheWrite1hUsd: "cacheWrite1h",
  inputAudioUsd: "inputAudio",
  cacheAudioReadUsd: "cacheAudioRead",
  outputUsd: "output",
  outputAudioUsd: "outputAudio",
  outputReasoningUsd: "outputReasoning",
  webSearchPerThousandUsd: "webSearch",
  requestPerThousandUsd: "request",
};

const RATE_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(BODY_KEYS).map(([api, key]) => [key, api]),
);

/** The other way: nano-USD per Mtok (fees per 1,000) → decimal USD under the body's names (1e9 nano = $1). */
export function ratesToUsd(rates: Record<string, number> | null | undefined): Record<string, string> | null {
  if (!rates) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rates)) out[RATE_NAMES[k] ?? k] = nanoToUsd(BigInt(v));
  return out;
}

/** Validated body → override. USD per million → nano per Mtok is exact (usdToNano, ≤ 9 decimals). */
export function accountOverrideFromBody(
  provider: string,
  model: string,
  body: AccountOverrideBody,
  now: Date = nowDate(),
): AccountPriceOverride {
  const out: AccountPriceOverride = {
    provider,
    model,
    effectiveFrom: body.effectiveFrom
      ? new Date(body.effectiveFrom.length === 10 ? `${body.effectiveFrom}T00:00:00Z` : body.effectiveFrom)
      : now,
  };
  if (body.rates) {
    const rates: AccountRates = {};
    for (const [k, v] of Object.entries(body.rates)) {
      const key = BODY_KEYS[k];
      if (key && v !== undefined) {
        const nano = usdToNano(v);
        if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${k} too large`);
        rates[key] = Number(nano);
      }
    }
    out.rates = rates;
  }
  if (body.discountPercent !== undefined) out.discountPercent = body.discountPercent;
  return out;
}
