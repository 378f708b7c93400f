/**
 * Gateway keys over HTTP: created with a name, an owner and an environment, shown once, revoked.
 * What that means in Postgres and Redis is src/keys.ts (the dashboard calls the same functions);
 * every proxied call re-checks the Redis mark, so a revoked key is refused at once.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { createKey, type KeyRow, listKeys, revokeKey } from "../../keys";
import { redisClient } from "../../lib/redis";
import { AccountParam } from "../account";
import { newApi } from "../app";

export const Environment = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)");

/** The body of POST …/keys (the dashboard's form is read with it too). */
export const KeyCreateBody = z.object({
  name: z.string().trim().min(1).max(200),
  owner: z.string().trim().min(1).max(200),
  environment: Environment.optional(),
});

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

const toJson = (k: KeyRow) => ({
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
            "application/json": { schema: KeyCreateBody },
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
      const stores = { db: c.var.db, redis: redisClient(c.var.config) };
      const { row, key } = await createKey(stores, account, c.req.valid("json"));
      return c.json({ ...toJson(row), key }, 201);
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
    async (c) => c.json((await listKeys(c.var.db, c.req.valid("param").account)).map(toJson), 200),
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
      const row = await revokeKey({ db: c.var.db, redis: redisClient(c.var.config) }, account, keyId);
      return c.json(toJson(row), 200);
    },
  );
