/**
 * Reconciliation reports (src/reconcile/): the provider's own usage and cost data against the
 * account's records.
 *   POST /admin/v1/accounts/{account}/reconciliations           → 201 the report
 *        application/json     {provider, usage?, costs?, csv?, from?, to?, thresholdPercent?, minDifferenceUsd?}
 *        text/csv             the console's cost export; provider, from, … in the query
 *        multipart/form-data  fields provider, from, …; files `file` (cost CSV), `usage` and `costs` (API JSON)
 *   GET  /admin/v1/accounts/{account}/reconciliations           newest first, without lines
 *   GET  /admin/v1/accounts/{account}/reconciliations/{reconciliationId}
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAccount } from "../../accounts";
import { GatewayError, invalidRequest } from "../../lib/errors";
import { usdToNano } from "../../lib/money";
import {
  DEFAULT_THRESHOLDS,
  getReconciliation,
  listReconciliations,
  type ProviderData,
  reconcile,
  type Thresholds,
} from "../../reconcile";
import { AccountParam } from "../account";
import { type ApiEnv, newApi } from "../app";
import { errorResponses } from "../schemas";
import { ReconciliationJson, ReconciliationSummaryJson } from "./reconciliation-schemas";

const tags = ["Admin: reconciliation"];
const Provider = z.enum(["openai", "anthropic"]);
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a UTC day, YYYY-MM-DD");
const Usd = z.string().regex(/^\d+(\.\d{1,9})?$/, "a USD amount such as 0.01");

const Options = {
  from: Day.optional().openapi({ description: "First day (UTC) compared; default: the provider data's first" }),
  to: Day.optional().openapi({ description: "Day after the last compared; default: the provider data's end" }),
  thresholdPercent: z.coerce
    .number()
    .min(0)
    .max(1000)
    .optional()
    .openapi({
      description: `Flag lines whose difference is at least this % of the provider's (default ${DEFAULT_THRESHOLDS.percent})`,
    }),
  minDifferenceUsd: Usd.optional().openapi({ description: "…and at least this much (default 0.01)" }),
};

const UploadJson = z
  .object({
    provider: Provider,
    usage: z.unknown().optional().openapi({
      description:
        "OpenAI: GET /v1/organization/usage/completions (group_by=model, bucket_width=1d) response, or an array of its pages; Anthropic: GET /v1/organizations/usage_report/messages (group_by[]=model)",
    }),
    costs: z.unknown().optional().openapi({
      description:
        "OpenAI: GET /v1/organization/costs (group_by=line_item) response or pages; Anthropic: GET /v1/organizations/cost_report (group_by[]=description)",
    }),
    csv: z.string().max(20_000_000).optional().openapi({ description: "The console's cost CSV export, as text" }),
    ...Options,
  })
  .strict()
  .openapi("ReconciliationUpload");

const UploadForm = z.object({
  provider: Provider,
  file: z.any().optional().openapi({ type: "string", format: "binary", description: "The cost CSV export" }),
  usage: z.any().optional().openapi({ type: "string", format: "binary", description: "Usage API JSON" }),
  costs: z.any().optional().openapi({ type: "string", format: "binary", description: "Costs API JSON" }),
  ...Options,
});

const CsvQuery = z.object({ provider: Provider.optional(), ...Options });

type Upload = {
  provider: "openai" | "anthropic";
  from?: string;
  to?: string;
  thresholdPercent?: number;
  minDifferenceUsd?: string;
};

function thresholdsOf(o: Upload): Thresholds {
  return {
    percent: o.thresholdPercent ?? DEFAULT_THRESHOLDS.percent,
    minDifferenceNano: o.minDifferenceUsd ? usdToNano(o.minDifferenceUsd) : DEFAULT_THRESHOLDS.minDifferenceNano,
  };
}

async function text(part: unknown): Promise<string | undefined> {
  if (part === undefined || part === null || part === "") return undefined;
  if (typeof part === "string") return part;
  if (typeof (part as Blob).text === "function") return (part as Blob).text();
  return undefined;
}

function json(name: string, raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw invalidRequest([{ path: name, message: "is not JSON" }]);
  }
}

/** The three ways an upload arrives, read into one shape. */
async function readUpload(c: Context<ApiEnv>): Promise<{ data: ProviderData; options: Upload }> {
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  if (type.startsWith("application/json")) {
    const b = (c.req as unknown as { valid(t: "json"): z.infer<typeof UploadJson> }).valid("json");
    return {
      data: {
        provider: b.provider,
        ...(b.usage !== undefined ? { usage: b.usage } : {}),
        ...(b.costs !== undefined ? { costs: b.costs } : {}),
        ...(b.csv !== undefined ? { csv: b.csv } : {}),
      },
      options: b,
    };
  }
  if (type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded")) {
    const f = (c.req as unknown as { valid(t: "form"): z.infer<typeof UploadForm> }).valid("form");
    const [csv, usage, costs] = await Promise.all([text(f.file), text(f.usage), text(f.costs)]);
    return {
      data: {
        provider: f.provider,
        ...(csv !== undefined ? { csv } : {}),
        ...(usage !== undefined ? { usage: json("usage", usage) } : {}),
        ...(costs !== undefined ? { costs: json("costs", costs) } : {}),
      },
      options: f,
    };
  }
  if (type.startsWith("text/csv") || type.startsWith("text/plain")) {
    const q = CsvQuery.safeParse(c.req.query());
    if (!q.success) throw invalidRequest(q.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
    if (!q.data.provider)
      throw invalidRequest([{ path: "provider", message: "required (in the query for a CSV body)" }]);
    return {
      data: { provider: q.data.provider, csv: await c.req.text() },
      options: { ...q.data, provider: q.data.provider },
    };
  }
  throw invalidRequest([
    { path: "(body)", message: "send application/json, text/csv (with ?provider=) or multipart/form-data" },
  ]);
}

export const reconciliationsAdmin = newApi()
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/reconciliations",
      tags,
      summary: "Compare the provider's own usage and cost report with Tollgate's records",
      description:
        "Per UTC day, model and bucket: both costs, the difference in USD and percent, both token counts, the rates implied, a flag over the thresholds and the likely causes (missing_day, missing_records, extra_records, unpriced_model, price_change, bucket_priced_differently, model_priced_differently, unexplained). The report is stored.",
      request: {
        params: AccountParam,
        query: CsvQuery.partial(),
        body: {
          required: false,
          content: {
            "application/json": { schema: UploadJson },
            "multipart/form-data": { schema: UploadForm },
            "text/csv": { schema: z.string().openapi({ description: "The cost CSV export" }) },
          },
        },
      },
      responses: {
        201: { description: "The report", content: { "application/json": { schema: ReconciliationJson } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const { data, options } = await readUpload(c);
      const report = await reconcile(c.var.db, {
        accountId: account,
        data,
        ...(options.from ? { from: options.from } : {}),
        ...(options.to ? { to: options.to } : {}),
        thresholds: thresholdsOf(options),
        source: "upload",
      });
      return c.json(report as never, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/reconciliations",
      tags,
      summary: "The account's reconciliation reports, newest first (uploads and the cron job's fetches)",
      request: {
        params: AccountParam,
        query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
      },
      responses: {
        200: {
          description: "Reports, without their lines",
          content: { "application/json": { schema: z.array(ReconciliationSummaryJson) } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(await listReconciliations(c.var.db, account, c.req.valid("query").limit), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/reconciliations/{reconciliationId}",
      tags,
      summary: "One reconciliation report",
      request: {
        params: AccountParam.extend({
          reconciliationId: z.string().openapi({ param: { name: "reconciliationId", in: "path" } }),
        }),
      },
      responses: {
        200: { description: "The report", content: { "application/json": { schema: ReconciliationJson } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account, reconciliationId } = c.req.valid("param");
      const report = await getReconciliation(c.var.db, account, reconciliationId);
      if (!report) throw new GatewayError("not_found", `No reconciliation ${reconciliationId} in account ${account}.`);
      return c.json(report as never, 200);
    },
  );
