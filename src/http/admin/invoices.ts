/**
 * Invoices (src/billing/invoices.ts; docs/billing.md §7). JSON, or CSV / printable HTML with
 * `format=csv|html` (or Accept: text/csv, text/html).
 *
 *   GET  /accounts/{account}/invoices/draft?tenant=&period=YYYY-MM     the period as its records stand
 *   POST /accounts/{account}/invoices {tenant, period}                 finalize once → 201 (200: already was)
 *   GET  /accounts/{account}/invoices[?tenant=&period=]                finalized and void invoices
 *   GET  /accounts/{account}/invoices/{invoiceId}
 *   POST /accounts/{account}/invoices/{invoiceId}/void {reissue?}      void (and finalize anew)
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAccount } from "../../accounts";
import { invoiceCsv, invoiceHtml } from "../../billing/invoice-render";
import {
  documentOf,
  draftInvoice,
  finalizeInvoice,
  type InvoiceDocument,
  listInvoices,
  requireInvoice,
  voidInvoice,
} from "../../billing/invoices";
import { nowMs } from "../../lib/clock";
import { redisClient } from "../../lib/redis";
import { AccountParam } from "../account";
import { type ApiEnv, newApi } from "../app";
import { TenantParam } from "../billing-schemas";
import { ok } from "../schemas";

const tags = ["Admin: invoices"];
const stores = (c: Context<ApiEnv>) => ({ db: c.var.db, redis: redisClient(c.var.config) });

const Period = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM")
  .openapi({ example: "2026-11" });
const Format = z.enum(["json", "csv", "html"]).optional();
const Tenant = TenantParam.shape.tenant.openapi({ param: { name: "tenant", in: "query" } });

const LineJson = z.object({
  kind: z.enum(["usage", "allowance", "true_up"]),
  model: z.string().nullable(),
  feature: z.string().nullable(),
  bucket: z.string().nullable(),
  description: z.string(),
  quantity: z.string(),
  unit: z.string(),
  unitAmountUsd: z.string().nullable(),
  amountUsd: z.string(),
});

export const InvoiceJson = z
  .object({
    id: z.string().nullable(),
    number: z.string().nullable(),
    status: z.enum(["draft", "finalized", "void"]),
    accountId: z.string(),
    tenant: z.string(),
    currency: z.literal("USD"),
    period: z.object({ key: z.string(), timeZone: z.string(), start: z.string(), end: z.string() }),
    plan: z.object({ id: z.string(), name: z.string(), version: z.string(), kind: z.string() }),
    lines: z.array(LineJson),
    credits: z.array(z.object({ grantId: z.string(), amountUsd: z.string() })),
    subtotalUsd: z.string(),
    creditsAppliedUsd: z.string(),
    amountDueUsd: z.string().openapi({ description: "subtotal − credits applied" }),
    overageUsd: z.string(),
    recordsBilledUsd: z.string().openapi({ description: "Σ billedUsd of the period's records" }),
    trueUpUsd: z.string(),
    records: z.number().int(),
    unratedRecords: z.number().int(),
    finalizableAt: z.string().nullable(),
    finalizedAt: z.string().nullable(),
    voidedAt: z.string().nullable(),
    replacesId: z.string().nullable(),
    hash: z.string().nullable(),
  })
  .openapi("Invoice");

function render(c: Context<ApiEnv>, doc: InvoiceDocument, format: string | undefined, status: 200 | 201 = 200) {
  const accept = c.req.header("accept") ?? "";
  const f = format ?? (accept.includes("text/csv") ? "csv" : accept.includes("text/html") ? "html" : "json");
  const name = `${doc.number ?? `draft-${doc.tenant}-${doc.period.key}`}`.replace(/[^\w.-]+/g, "_");
  if (f === "csv") {
    return c.body(invoiceCsv(doc), status, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${name}.csv"`,
    });
  }
  if (f === "html") return c.html(invoiceHtml(doc), status);
  return c.json(doc, status);
}

const content = {
  "application/json": { schema: InvoiceJson },
  "text/csv": { schema: z.string() },
  "text/html": { schema: z.string() },
};
const InvoiceParam = AccountParam.extend({
  invoiceId: z.string().openapi({ param: { name: "invoiceId", in: "path" }, example: "inv_3xAmpLe" }),
});

export const invoicesAdmin = newApi()
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/invoices/draft",
      tags,
      summary: "A tenant's invoice for a period as its records stand now (a draft)",
      request: { params: AccountParam, query: z.object({ tenant: Tenant, period: Period, format: Format }) },
      responses: { 200: { description: "The draft", content } },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const { tenant, period, format } = c.req.valid("query");
      return render(c, await draftInvoice(c.var.db, account, tenant, period), format);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/invoices",
      tags,
      summary: "Finalize a tenant's invoice for an ended period, once (number, frozen totals, hash)",
      request: {
        params: AccountParam,
        body: {
          required: true,
          content: {
            "application/json": { schema: z.object({ tenant: TenantParam.shape.tenant, period: Period }).strict() },
          },
        },
      },
      responses: {
        201: { description: "Finalized now", content: { "application/json": { schema: InvoiceJson } } },
        200: {
          description: "It already was: the invoice as it was frozen",
          content: { "application/json": { schema: InvoiceJson } },
        },
        409: { description: "The period has not ended yet (error.reason = period_open)" },
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const { tenant, period } = c.req.valid("json");
      const { invoice, created } = await finalizeInvoice(stores(c), account, tenant, period, nowMs());
      return c.json(invoice, created ? 201 : 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/invoices",
      tags,
      summary: "Finalized and void invoices, newest first",
      request: {
        params: AccountParam,
        query: z.object({ tenant: Tenant.optional(), period: Period.optional() }),
      },
      responses: ok(z.array(InvoiceJson), "Invoices"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json((await listInvoices(c.var.db, account, c.req.valid("query"))).map(documentOf), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/invoices/{invoiceId}",
      tags,
      summary: "One invoice",
      request: { params: InvoiceParam, query: z.object({ format: Format }) },
      responses: { 200: { description: "The invoice", content } },
    }),
    async (c) => {
      const { account, invoiceId } = c.req.valid("param");
      return render(c, documentOf(await requireInvoice(c.var.db, account, invoiceId)), c.req.valid("query").format);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/invoices/{invoiceId}/void",
      tags,
      summary: "Void a finalized invoice (never edited); with reissue, finalize the period again as it stands",
      request: {
        params: InvoiceParam,
        body: {
          required: false,
          content: { "application/json": { schema: z.object({ reissue: z.boolean().optional() }).strict() } },
        },
      },
      responses: ok(z.object({ voided: InvoiceJson, reissued: InvoiceJson.nullable() }), "Voided"),
    }),
    async (c) => {
      const { account, invoiceId } = c.req.valid("param");
      const body = (await c.req.json().catch(() => ({}))) as { reissue?: boolean };
      return c.json(await voidInvoice(stores(c), account, invoiceId, nowMs(), body.reissue === true), 200);
    },
  );
