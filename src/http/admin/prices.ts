/**
 * Account price overrides (negotiated discounts, self-hosted or fine-tuned models) and the list of
 * models this account called that nothing could price — never silently $0.
 *   PUT /admin/v1/accounts/{account}/prices/{provider}/{model}   (model URL-encoded: openai%2Fgpt-4o)
 *   GET /admin/v1/accounts/{account}/prices
 *   GET /admin/v1/accounts/{account}/unpriced
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, count, desc, eq, max, sql, sum } from "drizzle-orm";
import { priceOverrides, requestRecords } from "../../../schema";
import { requireAccount } from "../../accounts";
import { redisClient } from "../../lib/redis";
import { accountOverrideBodySchema, accountOverrideFromBody, ratesToUsd } from "../../pricing/account-body";
import { refreshAccountSettings } from "../../proxy/identify";
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

const toJson = (o: typeof priceOverrides.$inferSelect) => ({
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
      await requireAccount(c.var.db, account);
      const o = accountOverrideFromBody(provider, model, c.req.valid("json"));
      const values = {
        accountId: account,
        provider,
        model,
        effectiveFrom: o.effectiveFrom,
        rates: (o.rates as Record<string, number> | undefined) ?? null,
        discountBasisPoints: o.discountPercent === undefined ? null : Math.round(o.discountPercent * 100),
      };
      const [row] = await c.var.db
        .insert(priceOverrides)
        .values(values)
        .onConflictDoUpdate({
          target: [
            priceOverrides.accountId,
            priceOverrides.provider,
            priceOverrides.model,
            priceOverrides.effectiveFrom,
          ],
          set: { rates: values.rates, discountBasisPoints: values.discountBasisPoints },
        })
        .returning();
      await refreshAccountSettings(redisClient(c.var.config), c.var.db, account);
      return c.json(toJson(row!), 200);
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
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const rows = await c.var.db
        .select()
        .from(priceOverrides)
        .where(eq(priceOverrides.accountId, account))
        .orderBy(priceOverrides.provider, priceOverrides.model, desc(priceOverrides.effectiveFrom));
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
      const model = sql<string | null>`coalesce(${requestRecords.modelAnswered}, ${requestRecords.modelRequested})`;
      const rows = await c.var.db
        .select({
          provider: requestRecords.provider,
          model,
          calls: count(),
          inputTokens: sum(
            sql`${requestRecords.inputTokens} + ${requestRecords.cacheReadTokens} + ${requestRecords.cacheWriteTokens} + ${requestRecords.cacheWrite1hTokens} + ${requestRecords.inputAudioTokens} + ${requestRecords.cacheAudioReadTokens}`,
          ).mapWith(Number),
          outputTokens: sum(sql`${requestRecords.outputTokens} + ${requestRecords.outputAudioTokens}`).mapWith(Number),
          lastSeenAt: max(requestRecords.startedAt),
        })
        .from(requestRecords)
        .where(and(eq(requestRecords.accountId, account), eq(requestRecords.priced, false)))
        .groupBy(requestRecords.provider, model)
        .orderBy(desc(count()));
      return c.json(
        rows.map((r) => ({ ...r, lastSeenAt: r.lastSeenAt ? new Date(r.lastSeenAt).toISOString() : null })),
        200,
      );
    },
  );
