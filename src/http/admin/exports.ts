/**
 * Exports of billed usage (docs/billing.md §8, docs/stripe-export.md):
 *   GET    /admin/v1/accounts/{account}/exports/cloudevents?period=YYYY-MM[&tenant=&format=batch|jsonl&after=&limit=]
 *   GET    /admin/v1/accounts/{account}/exports/stripe         the Stripe export (never the key) and its cursor
 *   PUT    /admin/v1/accounts/{account}/exports/stripe         {secretKey, api, eventName?, customers, …}
 *   DELETE /admin/v1/accounts/{account}/exports/stripe
 *   POST   /admin/v1/accounts/{account}/exports/stripe/push    {replayFrom?} → what this push sent
 * With a Stripe export configured the cron job pushes every 5 minutes; the push route runs one now.
 * The secret key is sealed like provider keys (src/lib/crypto.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { accountBilling, exportCursors } from "../../../schema/billing";
import { requireAccount } from "../../accounts";
import { jsonLines, periodCloudEvents } from "../../billing/exports/cloudevents";
import { pushToStripe, replayFrom, STRIPE_TARGET, stripeConfig } from "../../billing/exports/push";
import { DEFAULT_EVENT_NAME, STRIPE_API, STRIPE_METER_EVENTS } from "../../billing/exports/stripe";
import { sealingSecret } from "../../config";
import { nowDate } from "../../lib/clock";
import { encryptSecret } from "../../lib/crypto";
import { GatewayError } from "../../lib/errors";
import { AccountParam } from "../account";
import { type ApiEnv, newApi } from "../app";
import { errorResponses, ok } from "../schemas";

const tags = ["Admin: exports"];
const BATCH_TYPE = "application/cloudevents-batch+json";
const LINES_TYPE = "application/x-ndjson";
const HttpUrl = z.url().refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL");

const CloudEventsQuery = z.object({
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM")
    .openapi({ example: "2026-11", description: "The invoice month, in the account's billing zone" }),
  tenant: z.string().min(1).max(200).optional(),
  format: z.enum(["batch", "jsonl"]).optional().openapi({ description: "Default batch (a JSON array)" }),
  after: z.string().min(1).optional().openapi({ description: "The last record id of the previous page" }),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const StripeBody = z
  .object({
    secretKey: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .openapi({ description: "sk_… or rk_… (a restricted key with meter events write); required the first time" }),
    api: z.enum(["v1", "v2"]).default("v1").openapi({ description: "v1: one request per event; v2: the stream" }),
    eventName: z.string().min(1).max(100).default(DEFAULT_EVENT_NAME),
    customers: z
      .record(z.string().min(1).max(200), z.string().min(1).max(255))
      .openapi({ description: "tenant → Stripe customer id (cus_…); other tenants are not exported" }),
    customerKey: z.string().min(1).max(100).optional().openapi({ description: "Default stripe_customer_id" }),
    valueKey: z.string().min(1).max(100).optional().openapi({ description: "Default value" }),
    apiBaseUrl: HttpUrl.optional().openapi({ description: `Default ${STRIPE_API}` }),
    meterEventsBaseUrl: HttpUrl.optional().openapi({ description: `Default ${STRIPE_METER_EVENTS}` }),
  })
  .strict();

const CursorJson = z
  .object({
    recordId: z.string(),
    createdAt: z.string(),
    exported: z.number().int(),
    lastError: z.string().nullable(),
    updatedAt: z.string(),
  })
  .nullable()
  .openapi({ description: "The last record the export handled (insertion order); null: none yet" });

const StripeJson = z
  .object({
    api: z.enum(["v1", "v2"]),
    eventName: z.string(),
    customers: z.record(z.string(), z.string()),
    customerKey: z.string(),
    valueKey: z.string(),
    apiBaseUrl: z.string(),
    meterEventsBaseUrl: z.string(),
    hasSecretKey: z.literal(true),
    cursor: CursorJson,
  })
  .openapi("StripeExport");

const PushJson = z
  .object({
    sent: z.number().int(),
    duplicates: z.number().int().openapi({ description: "Stripe already had the identifier (counted once there)" }),
    rejected: z.number().int().openapi({ description: "Refused for good (a 400); the cursor moved past them" }),
    skipped: z.object({
      unmapped: z.number().int(),
      unrated: z.number().int(),
      zero: z.number().int(),
      tooOld: z.number().int(),
    }),
    requests: z.number().int(),
    sessions: z.number().int(),
    caughtUp: z.boolean(),
    error: z.string().nullable(),
  })
  .openapi("StripePush");

async function cloudEventsResponse(
  c: Context<ApiEnv>,
  account: string,
  q: z.infer<typeof CloudEventsQuery>,
): Promise<Response> {
  const events = await periodCloudEvents(c.var.db, account, {
    period: q.period,
    limit: q.limit,
    ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
    ...(q.after !== undefined ? { after: q.after } : {}),
  });
  const headers: Record<string, string> = {};
  if (events.length === q.limit) headers["x-tollgate-next-after"] = events.at(-1)!.id;
  if (q.format === "jsonl") return c.body(jsonLines(events), 200, { ...headers, "content-type": LINES_TYPE });
  return c.body(JSON.stringify(events), 200, { ...headers, "content-type": BATCH_TYPE });
}

const Ok = z.object({ ok: z.literal(true) });
const notConfigured = () => new GatewayError("not_found", "No Stripe export is configured for this account.");

export const exportsAdmin = newApi()
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/exports/cloudevents",
      tags,
      summary: "A period's billed usage as CloudEvents (batch or JSON lines), for OpenMeter-style ingestion",
      request: { params: AccountParam, query: CloudEventsQuery },
      responses: {
        200: {
          description: "Events in (started_at, id) order; x-tollgate-next-after is set when there may be more",
          content: {
            [BATCH_TYPE]: { schema: z.string().openapi({ description: "A JSON array of CloudEvents" }) },
            [LINES_TYPE]: { schema: z.string().openapi({ description: "One CloudEvent (JSON) per line" }) },
          },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      // A body in two media types, not one JSON schema (as src/http/usage.ts does for CSV).
      return (await cloudEventsResponse(c, account, c.req.valid("query"))) as never;
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/exports/stripe",
      tags,
      summary: "The account's Stripe meter event export (never the key) and its cursor",
      request: { params: AccountParam },
      responses: {
        200: { description: "Configured", content: { "application/json": { schema: StripeJson } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const cfg = await stripeConfig(c.var.db, account);
      if (!cfg) throw notConfigured();
      const [cursor] = await c.var.db
        .select()
        .from(exportCursors)
        .where(and(eq(exportCursors.accountId, account), eq(exportCursors.target, STRIPE_TARGET)));
      return c.json(
        {
          api: cfg.api,
          eventName: cfg.eventName,
          customers: cfg.customers,
          customerKey: cfg.customerKey ?? "stripe_customer_id",
          valueKey: cfg.valueKey ?? "value",
          apiBaseUrl: cfg.apiBaseUrl,
          meterEventsBaseUrl: cfg.meterEventsBaseUrl,
          hasSecretKey: true as const,
          cursor: cursor
            ? {
                recordId: cursor.recordId,
                createdAt: cursor.createdAt.toISOString(),
                exported: cursor.exported,
                lastError: cursor.lastError,
                updatedAt: cursor.updatedAt.toISOString(),
              }
            : null,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/exports/stripe",
      tags,
      summary: "Export billed usage to Stripe as meter events (identifier = record id, value = billed nano-USD)",
      request: {
        params: AccountParam,
        body: { required: true, content: { "application/json": { schema: StripeBody } } },
      },
      responses: ok(Ok, "Stored"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const body = c.req.valid("json");
      await requireAccount(c.var.db, account);
      const before = await stripeConfig(c.var.db, account);
      if (!body.secretKey && !before)
        throw new GatewayError("invalid_request", "secretKey is required the first time.", {}, [
          { path: "secretKey", message: "required" },
        ]);
      const stripe = {
        secretKeySealed: body.secretKey
          ? await encryptSecret(body.secretKey, sealingSecret(c.var.config))
          : before!.secretKeySealed,
        api: body.api,
        eventName: body.eventName,
        customers: body.customers,
        ...(body.customerKey ? { customerKey: body.customerKey } : {}),
        ...(body.valueKey ? { valueKey: body.valueKey } : {}),
        apiBaseUrl: body.apiBaseUrl ?? STRIPE_API,
        meterEventsBaseUrl: body.meterEventsBaseUrl ?? STRIPE_METER_EVENTS,
      };
      await c.var.db
        .insert(accountBilling)
        .values({ accountId: account, stripe, updatedAt: nowDate() })
        .onConflictDoUpdate({ target: accountBilling.accountId, set: { stripe, updatedAt: nowDate() } });
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/exports/stripe",
      tags,
      summary: "Stop exporting to Stripe (the cursor stays, so exporting again resumes where it stopped)",
      request: { params: AccountParam },
      responses: ok(Ok, "Removed"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      await c.var.db
        .update(accountBilling)
        .set({ stripe: null, updatedAt: nowDate() })
        .where(eq(accountBilling.accountId, account));
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/exports/stripe/push",
      tags,
      summary: "Push the records not yet exported to Stripe now (replayFrom: send again from that time; harmless)",
      request: {
        params: AccountParam,
        body: {
          required: false,
          content: {
            "application/json": {
              schema: z
                .object({
                  replayFrom: z.iso
                    .datetime({ offset: true })
                    .optional()
                    .openapi({ description: "Move the cursor back to this insertion time first" }),
                })
                .strict(),
            },
          },
        },
      },
      responses: {
        200: { description: "What this push did", content: { "application/json": { schema: PushJson } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      // Absent without a JSON content type (an optional body).
      const body = (c.req.valid("json") ?? {}) as { replayFrom?: string };
      if (body.replayFrom) await replayFrom(c.var.db, account, Date.parse(body.replayFrom));
      const result = await pushToStripe({ db: c.var.db, sealingSecret: sealingSecret(c.var.config) }, account);
      if (!result) throw notConfigured();
      return c.json(result, 200);
    },
  );
