/**
 * Account-wide settings the hot path reads (src/account-settings.ts, cached in Redis):
 *
 *   PUT /accounts/{account}/settings   {unpricedFallback?: {inputPerMTokUsd, outputPerMTokUsd} | null}
 *   GET /accounts/{account}/settings
 *
 * unpricedFallback: the account's price for models nothing else can price (not in the catalog, no
 * account rate). With it, such calls are held and recorded at that price (`pricedBy: "fallback"`);
 * without it, they are refused under a hard budget (402 unpriced_model) and recorded unpriced
 * elsewhere. null removes it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { accounts } from "../../../schema";
import { refreshAccountSettings } from "../../account-settings";
import { requireAccount } from "../../accounts";
import { nanoToUsd, usdToNano } from "../../lib/money";
import { redisClient } from "../../lib/redis";
import { AccountParam } from "../account";
import { newApi } from "../app";

const USD = /^\d+(\.\d{1,9})?$/;
const UsdPerMTok = z
  .string()
  .regex(USD, 'a non-negative decimal USD amount per million tokens, e.g. "2.50"')
  .refine((v) => !USD.test(v) || usdToNano(v) <= BigInt(Number.MAX_SAFE_INTEGER), "too large")
  .openapi({ example: "5.00" });

const Fallback = z
  .object({ inputPerMTokUsd: UsdPerMTok, outputPerMTokUsd: UsdPerMTok })
  .strict()
  .openapi("UnpricedFallback", {
    description: "USD per million input / output tokens for models nothing else prices",
  });

const Settings = z.object({ unpricedFallback: Fallback.nullable() }).openapi("AccountSettings");

type Row = { unpricedFallback: { inputPerMTokNano: number; outputPerMTokNano: number } | null };
const toJson = (row: Row) => ({
  unpricedFallback: row.unpricedFallback
    ? {
        inputPerMTokUsd: nanoToUsd(BigInt(row.unpricedFallback.inputPerMTokNano)),
        outputPerMTokUsd: nanoToUsd(BigInt(row.unpricedFallback.outputPerMTokNano)),
      }
    : null,
});

const tags = ["Admin: accounts"];

export const settingsAdmin = newApi()
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/settings",
      tags,
      summary: "Set the account's settings (its price for models nothing else can price)",
      request: {
        params: AccountParam,
        body: {
          required: true,
          content: {
            "application/json": { schema: z.object({ unpricedFallback: Fallback.nullable().optional() }).strict() },
          },
        },
      },
      responses: { 200: { description: "The settings now", content: { "application/json": { schema: Settings } } } },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const body = c.req.valid("json");
      await requireAccount(c.var.db, account);
      if (body.unpricedFallback !== undefined) {
        const fallback = body.unpricedFallback
          ? {
              inputPerMTokNano: Number(usdToNano(body.unpricedFallback.inputPerMTokUsd)),
              outputPerMTokNano: Number(usdToNano(body.unpricedFallback.outputPerMTokUsd)),
            }
          : null;
        await c.var.db.update(accounts).set({ unpricedFallback: fallback }).where(eq(accounts.id, account));
        // The hot path reads settings from Redis: the next call sees the change.
        await refreshAccountSettings(redisClient(c.var.config), c.var.db, account);
      }
      return c.json(toJson(await requireAccount(c.var.db, account)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/settings",
      tags,
      summary: "The account's settings",
      request: { params: AccountParam },
      responses: { 200: { description: "The settings", content: { "application/json": { schema: Settings } } } },
    }),
    async (c) => c.json(toJson(await requireAccount(c.var.db, c.req.valid("param").account)), 200),
  );
