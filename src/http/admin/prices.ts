/**
 * Account price overrides (negotiated discounts, self-hosted or fine-tuned models) and the list of
 * models this account called that nothing could price — never silently $0 (src/pricing/store.ts
 * and src/reports/unpriced.ts do the work; the dashboard calls them too).
 *   PUT /admin/v1/accounts/{account}/prices/{provider}/{model}   (model URL-encoded: openai%2Fgpt-4o)
 *   GET /admin/v1/accounts/{account}/prices
 *   GET /admin/v1/accounts/{account}/unpriced
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAccount } from "../../accounts";
import { redisClient } from "../../lib/redis";
import { accountOverrideBodySchema, ratesToUsd } from "../../pricing/account-body";
import { listPriceOverrides, type OverrideRow, setPriceOverride } from "../../pricing/store";
import { queryUnpriced } from "../../reports/unpriced";
import { AccountParam } from "../account";
import { newApi } from "../app";

const Override = z
  .object({
    provider: z.string(),
    model: z.string(),
    effectiveFrom: z.string(),
    rates: z
      .record(z.string(), z.string())
      .nullable()
      .openapi({ description: "USD per million tokens (fees per 1,000)" }),
    discountPercent: z.number().nullable(),
  })
  .openapi("PriceOverride");

const toJson = (o: OverrideRow) => ({
  provider: o.provider,
  model: o.model,
  effectiveFrom: o.effectiveFrom.toISOString(),
  rates: ratesToUsd(o.rates),
  discountPercent: o.discountBasisPoints === null ? null : o.discountBasisPoints / 100,
});

export const pricesAdmin = newApi()
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/prices/{provider}/{model}",
      tags: ["Admin: pricing"],
      summary: "Set custom rates and/or a discount for one model (or * for all of a provider's models)",
      request: {
        params: AccountParam.extend({
          provider: z
            .string()
            .min(1)
            .max(64)
            .openapi({ param: { name: "provider", in: "path" } }),
          model: z
            .string()
            .min(1)
            .max(256)
            .openapi({ param: { name: "model", in: "path" } }),
        }),
        body: { required: true, content: { "application/json": { schema: accountOverrideBodySchema } } },
      },
      responses: { 200: { description: "Stored", content: { "application/json": { schema: Override } } } },
    }),
    async (c) => {
      const { account, provider, model } = c.req.valid("param");
      const stores = { db: c.var.db, redis: redisClient(c.var.config) };
      return c.json(toJson(await setPriceOverride(stores, account, provider, model, c.req.valid("json"))), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/prices",
      tags: ["Admin: pricing"],
      summary: "List the account's price overrides",
      request: { params: AccountParam },
      responses: { 200: { description: "Overrides", content: { "application/json": { schema: z.array(Override) } } } },
    }),
    async (c) => {
      const rows = await listPriceOverrides(c.var.db, c.req.valid("param").account);
      return c.json(rows.map(toJson), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/unpriced",
      tags: ["Admin: pricing"],
      summary: "Models called by this account that could not be priced, with call and token totals",
      request: { params: AccountParam },
      responses: {
        200: {
          description: "Unpriced models",
          content: {
            "application/json": {
              schema: z.array(
                z.object({
                  provider: z.string(),
                  model: z.string().nullable(),
                  calls: z.number().int(),
                  inputTokens: z.number().int(),
                  outputTokens: z.number().int(),
                  lastSeenAt: z.string().nullable(),
                }),
              ),
            },
          },
        },
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(await queryUnpriced(c.var.db, account), 200);
    },
  );
