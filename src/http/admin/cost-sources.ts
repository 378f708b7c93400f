/**
 * Provider admin keys for reconciliation: with one stored, the cron job fetches the provider's
 * usage and cost reports every 6 hours and reconciles them (src/reconcile/cron.ts).
 *   PUT    /admin/v1/accounts/{account}/cost-sources/{provider}        {adminApiKey, baseUrl?}
 *   GET    /admin/v1/accounts/{account}/cost-sources                   (never the keys)
 *   DELETE /admin/v1/accounts/{account}/cost-sources/{provider}
 *   POST   /admin/v1/accounts/{account}/cost-sources/{provider}/fetch  {from?, to?} → 201 a report, now
 * `provider` is openai (an admin key, sk-admin-…) or anthropic (sk-ant-admin…). The key is sealed
 * like provider keys.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { costSources } from "../../../schema/trust";
import { requireAccount } from "../../accounts";
import { alertConfig } from "../../alerts";
import { sealingSecret } from "../../config";
import { nowDate } from "../../lib/clock";
import { encryptSecret } from "../../lib/crypto";
import { GatewayError, invalidRequest } from "../../lib/errors";
import { fetchAndReconcile, fetchPeriod } from "../../reconcile/cron";
import { FetchError } from "../../reconcile/fetch";
import { AccountParam } from "../account";
import { newApi } from "../app";
import { errorResponses } from "../schemas";
import { ReconciliationJson } from "./reconciliation-schemas";

const tags = ["Admin: reconciliation"];
const Params = AccountParam.extend({
  provider: z.enum(["openai", "anthropic"]).openapi({ param: { name: "provider", in: "path" } }),
});
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a UTC day, YYYY-MM-DD");

const Body = z
  .object({
    adminApiKey: z.string().min(1).max(4096),
    baseUrl: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL")
      .optional()
      .openapi({ description: "Default: https://api.openai.com/v1, https://api.anthropic.com" }),
  })
  .strict();

const SourceJson = z
  .object({
    provider: z.string(),
    baseUrl: z.string().nullable(),
    hasAdminKey: z.literal(true),
    lastFetchedAt: z.string().nullable(),
    lastStatus: z.enum(["ok", "error"]).nullable(),
    lastError: z.string().nullable(),
    lastReconciliationId: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi("CostSource");

const toJson = (r: typeof costSources.$inferSelect) => ({
  provider: r.provider,
  baseUrl: r.baseUrl,
  hasAdminKey: true as const,
  lastFetchedAt: r.lastFetchedAt?.toISOString() ?? null,
  lastStatus: (r.lastStatus as "ok" | "error" | null) ?? null,
  lastError: r.lastError,
  lastReconciliationId: r.lastReconciliationId,
  updatedAt: r.updatedAt.toISOString(),
});

const one = (description: string) => ({
  200: { description, content: { "application/json": { schema: SourceJson } } },
  ...errorResponses,
});

export const costSourcesAdmin = newApi()
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/cost-sources/{provider}",
      tags,
      summary: "Store a provider admin key: the cron job then fetches and reconciles its reports every 6 hours",
      request: { params: Params, body: { required: true, content: { "application/json": { schema: Body } } } },
      responses: one("Stored"),
    }),
    async (c) => {
      const { account, provider } = c.req.valid("param");
      const body = c.req.valid("json");
      await requireAccount(c.var.db, account);
      const values = {
        accountId: account,
        provider,
        adminKeyCiphertext: await encryptSecret(body.adminApiKey, sealingSecret(c.var.config)),
        baseUrl: body.baseUrl ?? null,
        updatedAt: nowDate(),
      };
      const [row] = await c.var.db
        .insert(costSources)
        .values(values)
        .onConflictDoUpdate({ target: [costSources.accountId, costSources.provider], set: values })
        .returning();
      return c.json(toJson(row!), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/cost-sources",
      tags,
      summary: "The account's provider admin keys (never the keys) and how their last fetch went",
      request: { params: AccountParam },
      responses: {
        200: { description: "Sources", content: { "application/json": { schema: z.array(SourceJson) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const rows = await c.var.db.select().from(costSources).where(eq(costSources.accountId, account));
      return c.json(rows.map(toJson), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/cost-sources/{provider}",
      tags,
      summary: "Forget a provider admin key",
      request: { params: Params },
      responses: one("Deleted"),
    }),
    async (c) => {
      const { account, provider } = c.req.valid("param");
      const [row] = await c.var.db
        .delete(costSources)
        .where(and(eq(costSources.accountId, account), eq(costSources.provider, provider)))
        .returning();
      if (!row) throw new GatewayError("not_found", `Account ${account} has no ${provider} admin key.`);
      return c.json(toJson(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/cost-sources/{provider}/fetch",
      tags,
      summary: "Fetch the provider's reports now and reconcile them (default: the 7 days before yesterday)",
      request: {
        params: Params,
        body: {
          required: false,
          content: {
            "application/json": {
              schema: z.object({ from: Day.optional(), to: Day.optional() }).strict(),
            },
          },
        },
      },
      responses: {
        201: { description: "The report", content: { "application/json": { schema: ReconciliationJson } } },
        ...errorResponses,
        502: { description: "The provider's API refused or failed" },
      },
    }),
    async (c) => {
      const { account, provider } = c.req.valid("param");
      const body = c.req.valid("json") as { from?: string; to?: string };
      await requireAccount(c.var.db, account);
      const [source] = await c.var.db
        .select()
        .from(costSources)
        .where(and(eq(costSources.accountId, account), eq(costSources.provider, provider)));
      if (!source) throw new GatewayError("not_found", `Account ${account} has no ${provider} admin key.`);
      const period = { ...fetchPeriod(nowDate()), ...body };
      if (period.to <= period.from) throw invalidRequest([{ path: "to", message: "must be after from" }]);
      try {
        const report = await fetchAndReconcile(
          {
            db: c.var.db,
            sealingSecret: sealingSecret(c.var.config),
            alerts: { config: alertConfig(c.var.config, c.env) },
          },
          account,
          provider,
          period,
        );
        return c.json(report as never, 201);
      } catch (err) {
        if (err instanceof FetchError) throw new GatewayError("upstream_unreachable", `${provider}: ${err.message}`);
        throw err;
      }
    },
  );
