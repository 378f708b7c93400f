/**
 * Provider credentials and custom providers of an account.
 *   PUT    /admin/v1/accounts/{account}/providers/{provider}  {apiKey?, baseUrl?, format?}
 *   GET    /admin/v1/accounts/{account}/providers             (never the keys)
 *   DELETE /admin/v1/accounts/{account}/providers/{provider}
 * A built-in id stores the account's key for it (and may re-point its base URL); a new id is a
 * custom OpenAI- or Anthropic-compatible provider and needs baseUrl and format. Keys are sealed
 * with AES-GCM (src/lib/crypto.ts) before they reach Postgres or Redis.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { providerConfigs } from "../../../schema";
import { refreshAccountSettings } from "../../account-settings";
import { requireAccount } from "../../accounts";
import { sealingSecret } from "../../config";
import { nowDate } from "../../lib/clock";
import { encryptSecret } from "../../lib/crypto";
import { GatewayError, invalidRequest } from "../../lib/errors";
import { redisClient } from "../../lib/redis";
import { BUILTIN_PROVIDERS } from "../../providers";
import { AccountParam } from "../account";
import { newApi } from "../app";

const ProviderParam = AccountParam.extend({
  provider: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lowercase letters, digits and -, at most 63")
    .openapi({ param: { name: "provider", in: "path" }, example: "openai" }),
});

const ProviderInfo = z
  .object({
    provider: z.string(),
    builtin: z.boolean(),
    hasApiKey: z.boolean(),
    baseUrl: z.string().nullable(),
    format: z.enum(["openai", "anthropic"]).nullable(),
    updatedAt: z.string(),
  })
  .openapi("ProviderConfig");

const Body = z
  .object({
    apiKey: z.string().min(1).max(4096).optional(),
    baseUrl: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL")
      .optional(),
    format: z.enum(["openai", "anthropic"]).optional(),
  })
  .strict();

const toJson = (r: typeof providerConfigs.$inferSelect) => ({
  provider: r.provider,
  builtin: Object.hasOwn(BUILTIN_PROVIDERS, r.provider),
  hasApiKey: r.apiKeyCiphertext !== null,
  baseUrl: r.baseUrl,
  format: (r.format as "openai" | "anthropic" | null) ?? null,
  updatedAt: r.updatedAt.toISOString(),
});

export const providersAdmin = newApi()
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/providers/{provider}",
      tags: ["Admin: providers"],
      summary: "Store a provider key, re-point a built-in, or register a custom provider",
      request: { params: ProviderParam, body: { required: true, content: { "application/json": { schema: Body } } } },
      responses: { 200: { description: "Stored", content: { "application/json": { schema: ProviderInfo } } } },
    }),
    async (c) => {
      const { account, provider } = c.req.valid("param");
      const body = c.req.valid("json");
      await requireAccount(c.var.db, account);
      const builtin = Object.hasOwn(BUILTIN_PROVIDERS, provider);
      const [existing] = await c.var.db
        .select()
        .from(providerConfigs)
        .where(and(eq(providerConfigs.accountId, account), eq(providerConfigs.provider, provider)));
      const baseUrl = body.baseUrl ?? existing?.baseUrl ?? null;
      const format = body.format ?? existing?.format ?? null;
      if (!builtin) {
        const issues = [
          ...(baseUrl ? [] : [{ path: "baseUrl", message: `required for the custom provider "${provider}"` }]),
          ...(format ? [] : [{ path: "format", message: `required for the custom provider "${provider}"` }]),
        ];
        if (issues.length) throw invalidRequest(issues);
      }
      const sealed = body.apiKey ? await encryptSecret(body.apiKey, sealingSecret(c.var.config)) : undefined;
      const values = {
        accountId: account,
        provider,
        apiKeyCiphertext: sealed ?? existing?.apiKeyCiphertext ?? null,
        baseUrl,
        format,
        updatedAt: nowDate(),
      };
      const [row] = await c.var.db
        .insert(providerConfigs)
        .values(values)
        .onConflictDoUpdate({ target: [providerConfigs.accountId, providerConfigs.provider], set: values })
        .returning();
      await refreshAccountSettings(redisClient(c.var.config), c.var.db, account);
      return c.json(toJson(row!), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/providers",
      tags: ["Admin: providers"],
      summary: "List the account's provider settings (never the keys)",
      request: { params: AccountParam },
      responses: {
        200: { description: "Providers", content: { "application/json": { schema: z.array(ProviderInfo) } } },
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const rows = await c.var.db.select().from(providerConfigs).where(eq(providerConfigs.accountId, account));
      return c.json(rows.map(toJson), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/providers/{provider}",
      tags: ["Admin: providers"],
      summary: "Forget a provider key / custom provider",
      request: { params: ProviderParam },
      responses: { 200: { description: "Deleted", content: { "application/json": { schema: ProviderInfo } } } },
    }),
    async (c) => {
      const { account, provider } = c.req.valid("param");
      const [row] = await c.var.db
        .delete(providerConfigs)
        .where(and(eq(providerConfigs.accountId, account), eq(providerConfigs.provider, provider)))
        .returning();
      if (!row) throw new GatewayError("not_found", `Account ${account} has no settings for ${provider}.`);
      await refreshAccountSettings(redisClient(c.var.config), c.var.db, account);
      return c.json(toJson(row), 200);
    },
  );
