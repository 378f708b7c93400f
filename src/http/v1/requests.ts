/** GET /v1/requests/{id}: one call's cost record, for the account of the gateway key that asks. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { requestRecords } from "../../../schema";
import { GatewayError } from "../../lib/errors";
import { nanoToUsd } from "../../lib/money";
import { newApi } from "../app";
import { IdParam } from "../schemas";

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
  };
}

export const requestsApi = newApi().openapi(
  createRoute({
    method: "get",
    path: "/requests/{id}",
    tags: ["Usage"],
    summary: "One call's cost record (gateway key; its own account only)",
    request: { params: IdParam },
    responses: {
      200: { description: "The record", content: { "application/json": { schema: CostRecordJson } } },
      404: { description: "No such record in this account" },
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const [row] = await c.var.db
      .select()
      .from(requestRecords)
      .where(and(eq(requestRecords.accountId, c.var.caller.accountId), eq(requestRecords.id, id)));
    if (!row) throw new GatewayError("not_found", `No request ${id} in this account.`);
    return c.json(recordToJson(row), 200);
  },
);
