/**
 * Gateway keys: created with a name, an owner and an environment, shown once, stored as a SHA-256
 * hash in Postgres (source of truth) and in Redis (what the hot path reads). Revoking marks both;
 * every proxied call re-checks the Redis mark, so a revoked key is refused at once.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { gatewayKeys } from "../../../schema";
import { requireAccount } from "../../accounts";
import { markKeyRevoked } from "../../budgets";
import { nowDate } from "../../lib/clock";
import { sha256Hex } from "../../lib/crypto";
import { GatewayError } from "../../lib/errors";
import { newGatewayKey, newId } from "../../lib/ids";
import { redisClient } from "../../lib/redis";
import { storeKeyInRedis } from "../../proxy/identify";
import { AccountParam } from "../account";
import { newApi } from "../app";

const Environment = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)");

const KeyInfo = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    environment: z.string().nullable(),
    keyPrefix: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi("GatewayKey");

const toJson = (k: typeof gatewayKeys.$inferSelect) => ({
  id: k.id,
  name: k.name,
  owner: k.owner,
  environment: k.environment,
  keyPrefix: k.keyPrefix,
  createdAt: k.createdAt.toISOString(),
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

export const keysAdmin = newApi()
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/keys",
      tags: ["Admin: keys"],
      summary: "Create a gateway key (the key is in this answer only)",
      request: {
        params: AccountParam,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z.object({
                name: z.string().trim().min(1).max(200),
                owner: z.string().trim().min(1).max(200),
                environment: Environment.optional(),
              }),
            },
          },
        },
      },
      responses: {
        201: {
          description: "Created",
          content: { "application/json": { schema: KeyInfo.extend({ key: z.string().openapi({ example: "tg_…" }) }) } },
        },
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const body = c.req.valid("json");
      await requireAccount(c.var.db, account);
      const key = newGatewayKey();
      const keyHash = await sha256Hex(key);
      const [row] = await c.var.db
        .insert(gatewayKeys)
        .values({
          id: newId("key"),
          accountId: account,
          name: body.name,
          owner: body.owner,
          environment: body.environment ?? null,
          keyHash,
          keyPrefix: key.slice(0, 7),
        })
        .returning();
      await storeKeyInRedis(redisClient(c.var.config), keyHash, {
        id: row!.id,
        accountId: account,
        environment: row!.environment,
        name: row!.name,
        revoked: false,
      });
      // A new key has no rate limits yet: say so, so its first call need not read Postgres for them.
      await redisClient(c.var.config).hset(`tg:key:${keyHash}`, { rpm: "0", tpm: "0", lim: "1" });
      return c.json({ ...toJson(row!), key }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/keys",
      tags: ["Admin: keys"],
      summary: "List an account's keys (never the keys themselves)",
      request: { params: AccountParam },
      responses: { 200: { description: "Keys", content: { "application/json": { schema: z.array(KeyInfo) } } } },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const rows = await c.var.db
        .select()
        .from(gatewayKeys)
        .where(eq(gatewayKeys.accountId, account))
        .orderBy(desc(gatewayKeys.createdAt));
      return c.json(rows.map(toJson), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/keys/{keyId}",
      tags: ["Admin: keys"],
      summary: "Revoke a key: refused (401) from then on",
      request: { params: AccountParam.extend({ keyId: z.string().openapi({ param: { name: "keyId", in: "path" } }) }) },
      responses: { 200: { description: "Revoked", content: { "application/json": { schema: KeyInfo } } } },
    }),
    async (c) => {
      const { account, keyId } = c.req.valid("param");
      const [existing] = await c.var.db
        .select()
        .from(gatewayKeys)
        .where(and(eq(gatewayKeys.accountId, account), eq(gatewayKeys.id, keyId)));
      if (!existing) throw new GatewayError("not_found", `No key ${keyId} in account ${account}.`);
      const [row] = await c.var.db
        .update(gatewayKeys)
        .set({ revokedAt: existing.revokedAt ?? nowDate() })
        .where(eq(gatewayKeys.id, keyId))
        .returning();
      // Redis first would be safer against a crash between the two, but Postgres is the truth and
      // a Redis miss reads it; marking Redis after is enough because the hot path checks Redis.
      const redis = redisClient(c.var.config);
      await storeKeyInRedis(redis, existing.keyHash, {
        id: keyId,
        accountId: account,
        environment: existing.environment,
        name: existing.name,
        revoked: true,
      });
      // Calls of this key waiting for budget room are not handed it either.
      await markKeyRevoked(redis, account, keyId);
      return c.json(toJson(row!), 200);
    },
  );
