/**
 * The usage reports — GET …/usage, …/usage/top, …/usage/units, …/usage/workflows — declared once
 * (query schemas, response schemas, handlers) and mounted twice, without middleware (the mounting
 * app brings auth, config and the db session):
 * - `usageV1`, in the gateway-key app at /v1: the caller's own account ("/v1/usage").
 * - `usageAdmin`, in the admin app at /admin/v1: any account ("/admin/v1/accounts/{account}/usage").
 * The queries themselves are in src/reports/.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { isTimeZone } from "../lib/zone";
import { usageCsv } from "../reports/csv";
import type { ReportsDb } from "../reports/db";
import { DIMENSIONS, type Dimension, parseDimension, UNALLOCATED } from "../reports/dimensions";
import { ISO_INSTANT, maxRangeDays, parseInstant, resolveRange } from "../reports/range";
import { queryUnits, queryWorkflows } from "../reports/units";
import { groupToJson, INTERVALS, type Interval, queryTop, queryUsage, sumsToJson } from "../reports/usage";
import { type AccountSource, accountRoute, callerAccount, pathAccount } from "./account";
import { newApi } from "./app";
import { errorResponses, ok } from "./schemas";

// ---- query parameters --------------------------------------------------------------------------

/** ISO 8601 date or date-time, kept as text: without an offset it is read in `tz` (src/reports/range.ts). */
const Instant = z
  .string()
  .regex(ISO_INSTANT, {
    message: "an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z",
    abort: true,
  })
  .refine((s) => !Number.isNaN(parseInstant(s)), "not a valid date");

const TimeZone = z
  .string()
  .refine(isTimeZone, "an IANA time zone name, e.g. Asia/Kolkata or America/Los_Angeles (not an offset)")
  .optional()
  .openapi({
    description:
      "IANA time zone of the calendar: periods (interval) are truncated there, a date or a date-time without an offset is local time there, and the default range ends at the next local midnight. Default: UTC.",
    example: "Asia/Kolkata",
  });

const DIMENSION_LIST = `${DIMENSIONS.join(", ")}, tag:<name>`;

const FilterValue = z.string().min(1).max(300);
const filterParams = Object.fromEntries(
  DIMENSIONS.map((d) => [
    d,
    z
      .union([FilterValue, z.array(FilterValue)])
      .optional()
      .openapi({
        description: `Only records with this ${d} (repeat the parameter for several; "${UNALLOCATED}" = none).`,
      }),
  ]),
) as Record<
  (typeof DIMENSIONS)[number],
  z.ZodOptional<z.ZodUnion<[typeof FilterValue, z.ZodArray<typeof FilterValue>]>>
>;

const RangeParams = z.object({
  from: Instant.optional().openapi({
    type: "string",
    description: "Start, inclusive (ISO 8601; without an offset, in `tz`, else UTC). Default: `to` − 30 days.",
    example: "2026-11-01T00:00:00Z",
  }),
  to: Instant.optional().openapi({
    type: "string",
    description: "End, exclusive. Default: the next 00:00 (UTC, or in `tz`).",
    example: "2026-12-01T00:00:00Z",
  }),
  tz: TimeZone,
  ...filterParams,
});

const GroupBy = z
  .string()
  .max(500)
  .transform((s, ctx) => {
    const names = s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
    const dims: Dimension[] = [];
    for (const name of names) {
      const dim = parseDimension(name);
      if (!dim) ctx.addIssue({ code: "custom", message: `unknown dimension "${name}"; one of ${DIMENSION_LIST}` });
      else if (dims.includes(dim)) ctx.addIssue({ code: "custom", message: `"${name}" given twice` });
      else dims.push(dim);
    }
    if (dims.length > 8) ctx.addIssue({ code: "custom", message: "at most 8 dimensions" });
    return dims;
  });

const UsageParams = RangeParams.extend({
  groupBy: GroupBy.optional().openapi({
    type: "string",
    description: `Comma-separated dimensions: ${DIMENSION_LIST}.`,
    example: "feature,tenant,model",
  }),
  interval: z
    .enum(INTERVALS)
    .default("none")
    .openapi({ description: "Periods in UTC, or in `tz`; weeks start on Monday (ISO)." }),
  format: z.enum(["json", "csv"]).optional().openapi({ description: "csv, or send Accept: text/csv." }),
});

const TopParams = RangeParams.extend({
  by: z.enum(DIMENSIONS).default("tenant"),
  limit: z.coerce.number().int().min(1).max(1000).default(10),
});

const WorkflowParams = RangeParams.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The range and filters of this request (rules in src/reports/range.ts). */
const rangeOf = (c: Context, bounds: { from?: string; to?: string; tz?: string }, maxDays?: number) =>
  resolveRange(bounds, c.req.queries(), { maxDays, tz: bounds.tz });

// ---- response schemas ----------------------------------------------------------------------------

const count = (description?: string) =>
  z
    .number()
    .int()
    .openapi(description ? { description } : {});
const Sums = {
  requests: count("Call attempts (retries included)"),
  errors: count("Attempts answered with status >= 400"),
  inputTokens: count("Uncached input tokens"),
  cacheReadTokens: count(),
  cacheWriteTokens: count(),
  cacheWrite1hTokens: count(),
  inputAudioTokens: count(),
  cacheAudioReadTokens: count(),
  outputTokens: count("Output tokens, reasoning included"),
  outputAudioTokens: count(),
  reasoningTokens: count("The part of outputTokens spent reasoning"),
  webSearchRequests: count(),
  costUsd: z.string().openapi({ example: "12.304117" }),
  unpricedRequests: count("Calls of models with no known price (their cost is 0 here)"),
  successes: count("Successful outcomes posted for these calls or their workflows"),
  failures: count(),
  costPerSuccessUsd: z
    .string()
    .nullable()
    .openapi({ description: "costUsd ÷ successes (failed attempts and retries included in the cost)" }),
  outcomeValue: z.number().nullable().openapi({ description: "Sum of the outcomes' value" }),
};
const UsageTotals = z.object(Sums).openapi("UsageTotals");
const UsageRow = z
  .object({ periodStart: z.string().optional().openapi({ description: "Absent with interval=none" }), ...Sums })
  .catchall(z.string())
  .openapi("UsageRow", {
    description: `One group: its dimension values (keys named as in groupBy; "${UNALLOCATED}" when missing), periodStart, sums.`,
  });
const UsageReport = z
  .object({
    from: z.string(),
    to: z.string(),
    interval: z.enum(INTERVALS),
    tz: z.string().optional().openapi({ description: "The time zone of the periods, when one was asked for" }),
    groupBy: z.array(z.string()),
    rows: z.array(UsageRow),
    totals: UsageTotals,
  })
  .openapi("UsageReport");
const TopReport = z
  .object({
    by: z.string(),
    from: z.string(),
    to: z.string(),
    rows: z.array(z.object({ value: z.string(), share: z.number().nullable(), ...Sums })),
    others: z
      .object({ count: count("How many groups are past the limit"), ...Sums })
      .openapi({ description: "Every group past the limit, summed (count 0: the rows are all there is)" }),
    totals: UsageTotals,
  })
  .openapi("TopReport");
const UsdPer = z.string().nullable();
const UnitsReport = z
  .object({
    from: z.string(),
    to: z.string(),
    requests: count(),
    errors: count(),
    costUsd: z.string(),
    costPerRequestUsd: UsdPer,
    activeUsers: count(),
    months: z.array(
      z.object({
        month: z.string(),
        activeUsers: count(),
        requests: count(),
        costUsd: z.string(),
        costPerActiveUserUsd: UsdPer,
      }),
    ),
    workflows: count(),
    workflowCostUsd: z.string(),
    costPerWorkflowUsd: UsdPer,
    successes: count(),
    failures: count(),
    costPerSuccessUsd: UsdPer,
    inputTokensTotal: count(),
    cachedInputTokens: count(),
    cachedInputShare: z.number().nullable(),
    cacheSavingsUsd: UsdPer.openapi({
      description:
        "Σ cache-read tokens × (input rate − cache-read rate); null when no cache-reading call had its rates recorded",
    }),
    cacheSavingsUnknownRequests: count(),
  })
  .openapi("UnitsReport");
const WorkflowRow = z
  .object({
    workflow: z.string(),
    calls: count(),
    errors: count(),
    costUsd: z.string(),
    startedAt: z.string(),
    finishedAt: z.string(),
    durationMs: count("First call's start to last call's finish"),
    success: z.boolean().nullable(),
    value: z.number().nullable(),
  })
  .openapi("WorkflowReport");
// ---- handlers ---------------------------------------------------------------------------------------

type Params = z.infer<typeof UsageParams>;

async function usageResponse(c: Context, db: ReportsDb, accountId: string, p: Params): Promise<Response> {
  const groupBy = p.groupBy ?? [];
  const interval = p.interval as Interval;
  const range = rangeOf(c, p, maxRangeDays(interval));
  const result = await queryUsage(db, { accountId, ...range, groupBy, interval });
  const rows = result.groups.map((g) => groupToJson(g, interval));
  const wantsCsv =
    p.format === "csv" || (p.format === undefined && /\btext\/csv\b/i.test(c.req.header("accept") ?? ""));
  if (wantsCsv) {
    return c.body(usageCsv(groupBy, rows), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="usage-${range.from.toISOString().slice(0, 10)}-${range.to.toISOString().slice(0, 10)}.csv"`,
    });
  }
  return c.json(
    {
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      interval,
      ...(range.tz ? { tz: range.tz } : {}),
      groupBy,
      rows,
      totals: sumsToJson(result.totals),
    },
    200,
  );
}

const usageDescription = `Sums of the account's calls in [from, to), grouped by any of ${DIMENSION_LIST} and an interval (UTC, or the zone given as tz).
A group value that is missing is "${UNALLOCATED}". Model = the model that answered, else the one asked for.
format=csv or Accept: text/csv gives the same rows as CSV (header line; columns: the groupBy dimensions, periodStart, then ${Object.keys(Sums).join(", ")}).
Filters: any dimension as a parameter (repeatable), and tag:<name>=<value>.`;

// ---- the routes, for either account source ---------------------------------------------------------

const dbOf = (c: { var: { db: unknown } }) => c.var.db as ReportsDb;

export function usageApi(account: AccountSource, tag: string) {
  const tags = [tag];
  return newApi()
    .openapi(
      accountRoute(account, {
        method: "get",
        path: "/usage",
        tags,
        summary: "Usage report",
        description: usageDescription,
        request: { query: UsageParams },
        responses: {
          200: {
            description: "The report",
            content: { "application/json": { schema: UsageReport }, "text/csv": { schema: z.string() } },
          },
          ...errorResponses,
        },
      }),
      async (c) => usageResponse(c, dbOf(c), await account.accountId(c), c.req.valid("query")) as never,
    )
    .openapi(
      accountRoute(account, {
        method: "get",
        path: "/usage/top",
        tags,
        summary: "Top tenants, features, models… by cost",
        request: { query: TopParams },
        responses: ok(TopReport, "The top groups, highest cost first"),
      }),
      async (c) => {
        const accountId = await account.accountId(c);
        const { by, limit, ...bounds } = c.req.valid("query");
        return c.json(await queryTop(dbOf(c), { accountId, ...rangeOf(c, bounds), by, limit }), 200);
      },
    )
    .openapi(
      accountRoute(account, {
        method: "get",
        path: "/usage/units",
        tags,
        summary: "Unit economics: cost per request, active user, workflow and successful outcome; caching",
        request: { query: RangeParams },
        responses: ok(UnitsReport, "The unit metrics"),
      }),
      async (c) => {
        const accountId = await account.accountId(c);
        return c.json(await queryUnits(dbOf(c), { accountId, ...rangeOf(c, c.req.valid("query")) }), 200);
      },
    )
    .openapi(
      accountRoute(account, {
        method: "get",
        path: "/usage/workflows",
        tags,
        summary: "Workflows: calls, cost, duration, outcome (latest first)",
        request: { query: WorkflowParams },
        responses: ok(z.object({ rows: z.array(WorkflowRow) }), "Workflows"),
      }),
      async (c) => {
        const accountId = await account.accountId(c);
        const p = c.req.valid("query");
        return c.json({ rows: await queryWorkflows(dbOf(c), { accountId, ...rangeOf(c, p), limit: p.limit }) }, 200);
      },
    );
}

export const usageV1 = usageApi(callerAccount, "Usage");
export const usageAdmin = usageApi(pathAccount, "Admin: usage");
