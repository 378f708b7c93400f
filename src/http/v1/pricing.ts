/** GET /v1/pricing/{provider}/{model}: the rates that apply to the calling key's account, now. */
import { createRoute, z } from "@hono/zod-openapi";
import { accountSettings, priceOverridesOf } from "../../account-settings";
import { nowDate } from "../../lib/clock";
import { GatewayError } from "../../lib/errors";
import { redisClient } from "../../lib/redis";
import { catalogVersion, lookupModel, priceUsage } from "../../pricing";
import { ratesToUsd } from "../../pricing/account-body";
import { emptyUsage } from "../../usage";
import { newApi } from "../app";

export const pricingApi = newApi().openapi(
  createRoute({
    method: "get",
    path: "/pricing/{provider}/{model}",
    tags: ["Usage"],
    summary: "The rates this account pays for a model (catalog + its overrides), USD per million tokens",
    request: {
      params: z.object({
        provider: z
          .string()
          .min(1)
          .openapi({ param: { name: "provider", in: "path" } }),
        model: z
          .string()
          .min(1)
          .openapi({ param: { name: "model", in: "path" } }),
      }),
    },
    responses: {
      200: {
        description: "Rates",
        content: {
          "application/json": {
            schema: z.object({
              provider: z.string(),
              model: z.string(),
              modelId: z.string(),
              catalogVersion: z.string(),
              source: z.enum(["catalog", "account"]),
              ratesUsdPerMillion: z.record(z.string(), z.string().nullable()),
              discountPercent: z.number(),
              maxOutputTokens: z.number().nullable(),
              contextWindow: z.number().nullable(),
              tiered: z.boolean(),
            }),
          },
        },
      },
      404: { description: "No price for this model" },
    },
  }),
  async (c) => {
    const { provider, model } = c.req.valid("param");
    const settings = await accountSettings(c.var.caller.accountId, {
      redis: redisClient(c.var.config),
      db: () => c.var.db,
    });
    const at = nowDate();
    // Price a one-token-per-bucket call: the applied rates come back resolved, overrides included.
    const probe = { ...emptyUsage(), inputTokens: 1, outputTokens: 1 };
    const price = priceUsage({ provider, model, usage: probe, at, overrides: priceOverridesOf(settings) });
    if (!price.priced) throw new GatewayError("not_found", `No price for ${provider}/${model}: ${price.reason}`);
    const lookup = lookupModel(provider, model, at);
    const rates: Record<string, string | null> = {};
    for (const [bucket, nano] of Object.entries(price.rates.tokens)) {
      rates[bucket.replace(/Tokens$/, "")] = nano === null ? null : (ratesToUsd({ x: nano })?.x ?? null);
    }
    return c.json(
      {
        provider,
        model,
        modelId: price.modelId,
        catalogVersion,
        source: price.source,
        ratesUsdPerMillion: rates,
        discountPercent: price.rates.accountDiscountBps / 100,
        maxOutputTokens: lookup?.maxOutputTokens ?? null,
        contextWindow: lookup?.contextWindow ?? null,
        tiered: Object.values(lookup?.rates ?? {}).some((r) => typeof r === "object"),
      },
      200,
    );
  },
);
