/** A reconciliation report as JSON (src/reconcile/compare.ts ReportJson), for /openapi.json. */
import { z } from "@hono/zod-openapi";

const Usd = z.string().nullable();
const CAUSES = [
  "missing_day",
  "missing_records",
  "extra_records",
  "unpriced_model",
  "price_change",
  "bucket_priced_differently",
  "model_priced_differently",
  "unexplained",
] as const;

const Money = {
  ourCostUsd: Usd,
  theirCostUsd: Usd.openapi({ description: "null when only token counts were given" }),
  differenceUsd: Usd.openapi({ description: "ours − theirs" }),
  differencePercent: z.number().nullable().openapi({ description: "of theirs; null when theirs is 0 or unknown" }),
};

const Cause = z.object({ code: z.enum(CAUSES), message: z.string() }).openapi("ReconciliationCause");

const Line = z
  .object({
    day: z.string(),
    model: z.string().openapi({ description: 'the provider\'s model name; "*" for lines not per model' }),
    bucket: z.enum(["input", "cache_read", "cache_write", "cache_write_1h", "output", "web_search", "other", "total"]),
    ...Money,
    ourTokens: z.number().int().nullable(),
    theirTokens: z.number().int().nullable(),
    tokenDifference: z.number().int().nullable(),
    tokenDifferencePercent: z.number().nullable(),
    theirRequests: z.number().int().nullable(),
    ourRecords: z.number().int().nullable(),
    ourRatePerMTokUsd: Usd,
    theirRatePerMTokUsd: Usd,
    flagged: z.boolean(),
    causes: z.array(Cause),
    theirLineItems: z.array(z.string()).optional(),
  })
  .openapi("ReconciliationLine");

export const ReconciliationJson = z
  .object({
    id: z.string(),
    accountId: z.string(),
    source: z.enum(["upload", "fetch"]),
    createdAt: z.string(),
    provider: z.string(),
    period: z.object({ from: z.string(), to: z.string() }),
    sources: z.array(z.string()),
    compared: z.object({ tokens: z.boolean(), costs: z.boolean() }),
    thresholds: z.object({ percent: z.number(), minDifferenceUsd: z.string() }),
    totals: z.object({ ...Money, lines: z.number().int(), flaggedLines: z.number().int() }),
    causes: z.array(
      z.object({
        code: z.enum(CAUSES),
        message: z.string(),
        lines: z.number().int(),
        days: z.array(z.string()),
        models: z.array(z.string()),
        differenceUsd: z.string(),
      }),
    ),
    days: z.array(z.object({ day: z.string(), ...Money, flagged: z.boolean(), ourRecords: z.number().int() })),
    lines: z.array(Line),
    notes: z.array(z.string()),
  })
  .openapi("Reconciliation");

export const ReconciliationSummaryJson = z
  .object({
    id: z.string(),
    provider: z.string(),
    source: z.string(),
    period: z.object({ from: z.string(), to: z.string() }),
    ourCostUsd: z.string(),
    theirCostUsd: Usd,
    flaggedLines: z.number().int(),
    causes: z.array(z.string()),
    createdAt: z.string(),
  })
  .openapi("ReconciliationSummary");
