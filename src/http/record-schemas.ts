/** A cost record as JSON (money as USD strings): GET /v1/requests/{id} and the dashboard's record page. */
import { z } from "@hono/zod-openapi";
import type { requestRecords } from "../../schema";
import { nanoToUsd } from "../lib/money";

export const CostRecordJson = z
  .object({
    id: z.string(),
    accountId: z.string(),
    keyId: z.string().nullable(),
    tenant: z.string().nullable(),
    feature: z.string().nullable(),
    user: z.string().nullable(),
    environment: z.string(),
    workflow: z.string().nullable(),
    tags: z.record(z.string(), z.string()),
    provider: z.string(),
    model: z.string().nullable().openapi({ description: "The model that answered, else the one asked for" }),
    modelRequested: z.string().nullable(),
    modelAnswered: z.string().nullable(),
    endpoint: z.string(),
    streamed: z.boolean(),
    status: z.number().int(),
    inputTokens: z.number().int().openapi({ description: "Uncached input tokens" }),
    cacheReadTokens: z.number().int(),
    cacheWriteTokens: z.number().int(),
    cacheWrite1hTokens: z.number().int(),
    inputAudioTokens: z.number().int(),
    cacheAudioReadTokens: z.number().int(),
    outputTokens: z.number().int().openapi({ description: "All output tokens, reasoning included" }),
    outputAudioTokens: z.number().int(),
    reasoningTokens: z.number().int().openapi({ description: "The part of outputTokens spent reasoning" }),
    webSearchRequests: z.number().int(),
    costUsd: z.string().openapi({ example: "0.001046" }),
    billedUsd: z.string().nullable().openapi({
      example: "0.001255",
      description: "What the tenant is billed under its plan (our cost until a plan is set); null: not rated",
    }),
    overageUsd: z
      .string()
      .nullable()
      .openapi({ description: "The part of billedUsd the tenant's credit could not cover" }),
    walletDraws: z
      .record(z.string(), z.string())
      .nullable()
      .openapi({ description: "Grant id → USD drawn from it by this call" }),
    planVersion: z
      .string()
      .nullable()
      .openapi({ description: "The plan version the call was rated under; null: at our cost" }),
    providerReportedCostUsd: z.string().nullable(),
    priced: z.boolean(),
    pricedBy: z
      .enum(["catalog", "account", "fallback"])
      .nullable()
      .openapi({ description: "The catalog, the account's own rates, or its fallback price for unpriced models" }),
    priceVersion: z.string().nullable(),
    ratesApplied: z.unknown(),
    usageSource: z.enum(["reported", "estimated", "none"]),
    budgetChecked: z.boolean(),
    latencyMs: z.number().int().nullable(),
    ttftMs: z.number().int().nullable(),
    startedAt: z.string(),
    finishedAt: z.string(),
    route: z.string().nullable().openapi({ description: "The route the call went through" }),
    attempt: z.number().int().nullable().openapi({ description: "Which attempt of the route's chain (1, 2, …)" }),
    attemptOf: z.string().nullable().openapi({ description: "The id of the call's first attempt (on later attempts)" }),
    cache: z.enum(["hit", "miss"]).nullable().openapi({ description: "The route's response cache: hit or miss" }),
    savedUsd: z.string().nullable().openapi({ description: "A cache hit: what the answer cost upstream" }),
    maxTokensApplied: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The output limit the route's maxTokensCap put into the forwarded body" }),
    downgradedFrom: z
      .string()
      .nullable()
      .openapi({ description: "provider/model asked, when a hard budget refused it and onBudget's model answered" }),
  })
  .openapi("CostRecord");

export function recordToJson(r: typeof requestRecords.$inferSelect): z.infer<typeof CostRecordJson> {
  return {
    id: r.id,
    accountId: r.accountId,
    keyId: r.keyId,
    tenant: r.tenant,
    feature: r.feature,
    user: r.userId,
    environment: r.environment,
    workflow: r.workflow,
    tags: r.tags ?? {},
    provider: r.provider,
    model: r.modelAnswered ?? r.modelRequested,
    modelRequested: r.modelRequested,
    modelAnswered: r.modelAnswered,
    endpoint: r.endpoint,
    streamed: r.streamed,
    status: r.status,
    inputTokens: r.inputTokens,
    cacheReadTokens: r.cacheReadTokens,
    cacheWriteTokens: r.cacheWriteTokens,
    cacheWrite1hTokens: r.cacheWrite1hTokens,
    inputAudioTokens: r.inputAudioTokens,
    cacheAudioReadTokens: r.cacheAudioReadTokens,
    outputTokens: r.outputTokens,
    outputAudioTokens: r.outputAudioTokens,
    reasoningTokens: r.reasoningTokens,
    webSearchRequests: r.webSearchRequests,
    costUsd: nanoToUsd(r.costNano),
    billedUsd: r.billedNano === null ? null : nanoToUsd(r.billedNano),
    overageUsd: r.overageNano === null ? null : nanoToUsd(r.overageNano),
    walletDraws: r.walletDraws
      ? Object.fromEntries(Object.entries(r.walletDraws).map(([g, n]) => [g, nanoToUsd(BigInt(n))]))
      : null,
    planVersion: r.planVersion,
    providerReportedCostUsd: r.providerReportedCostNano === null ? null : nanoToUsd(r.providerReportedCostNano),
    priced: r.priced,
    pricedBy: (r.pricedBy ?? null) as "catalog" | "account" | "fallback" | null,
    priceVersion: r.priceVersion,
    ratesApplied: r.ratesApplied,
    usageSource: r.usageSource as "reported" | "estimated" | "none",
    budgetChecked: r.budgetChecked,
    latencyMs: r.latencyMs,
    ttftMs: r.ttftMs,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt.toISOString(),
    route: r.route,
    attempt: r.attempt,
    attemptOf: r.attemptOf,
    cache: (r.cache ?? null) as "hit" | "miss" | null,
    savedUsd: r.savedNano === null ? null : nanoToUsd(r.savedNano),
    maxTokensApplied: r.maxTokensApplied,
    downgradedFrom: r.downgradedFrom,
  };
}
