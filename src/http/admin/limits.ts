/**
 * Per-key rate limits, enforced by the admission script (sliding one-minute window):
 *
 *   PUT /accounts/{account}/keys/{keyId}/limits   {requestsPerMinute?: n|null, tokensPerMinute?: n|null, maxWaitMs?: n|null}
 *   GET /accounts/{account}/keys/{keyId}/limits
 *
 * null or absent = no limit. maxWaitMs: how long the key's calls wait for budget holds in flight
 * when the request does not say (x-tollgate-max-wait-ms); null = the default, 5 s; 0 = never wait.
 * Postgres holds them (key_limits); the key's Redis hash carries them, rebuilt from Postgres
 * whenever the hash is missing. The work is src/keys.ts (the dashboard calls it too).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { MAX_WAIT_LIMIT_MS } from "../../budgets";
import { getKeyLimits, setKeyLimits } from "../../keys";
import { redisClient } from "../../lib/redis";
import { AccountParam } from "../account";
import { newApi } from "../app";

const KeyParam = AccountParam.extend({ keyId: z.string().openapi({ param: { name: "keyId", in: "path" } }) });
const Limit = z.number().int().min(1).max(1_000_000_000).nullable();
const MaxWait = z.number().int().min(0).max(MAX_WAIT_LIMIT_MS).nullable();
const LimitsJson = z
  .object({
    keyId: z.string(),
    requestsPerMinute: z.number().int().nullable(),
    tokensPerMinute: z.number().int().nullable(),
    maxWaitMs: z.number().int().nullable(),
  })
  .openapi("KeyLimits");

const tags = ["Admin: keys"];

export const limitsAdmin = newApi()
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/keys/{keyId}/limits",
      tags,
      summary:
        "Set a key's rate limits (requests and tokens per minute; 429 with retry-after beyond them) and its budget wait",
      request: {
        params: KeyParam,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z.object({
                requestsPerMinute: Limit.optional(),
                tokensPerMinute: Limit.optional(),
                maxWaitMs: MaxWait.optional(),
              }),
            },
          },
        },
      },
      responses: { 200: { description: "The limits now", content: { "application/json": { schema: LimitsJson } } } },
    }),
    async (c) => {
      const { account, keyId } = c.req.valid("param");
      const stores = { db: c.var.db, redis: redisClient(c.var.config) };
      return c.json({ keyId, ...(await setKeyLimits(stores, account, keyId, c.req.valid("json"))) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/keys/{keyId}/limits",
      tags,
      summary: "A key's rate limits",
      request: { params: KeyParam },
      responses: { 200: { description: "The limits", content: { "application/json": { schema: LimitsJson } } } },
    }),
    async (c) => {
      const { account, keyId } = c.req.valid("param");
      return c.json({ keyId, ...(await getKeyLimits(c.var.db, account, keyId)) }, 200);
    },
  );
