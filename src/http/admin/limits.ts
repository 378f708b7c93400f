/**
 * Per-key rate limits, enforced by the admission script (sliding one-minute window):
 *
 *   PUT /accounts/{account}/keys/{keyId}/limits   {requestsPerMinute?: n|null, tokensPerMinute?: n|null, maxWaitMs?: n|null}
 *   GET /accounts/{account}/keys/{keyId}/limits
 *
 * null or absent = no limit. maxWaitMs: how long the key's calls wait for budget holds in flight
 * when the request does not say (x-tollgate-max-wait-ms); null = the default, 5 s; 0 = never wait. Postgres holds them (key_limits); the key's Redis hash carries them
 * as rpm/tpm, rebuilt from Postgres whenever the hash is missing.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { keyLimits } from "../../../schema/budgets";
import { gatewayKeys } from "../../../schema/index";
import { MAX_WAIT_LIMIT_MS, writeKeyLimitsToRedis } from "../../budgets";
import { nowDate } from "../../lib/clock";
import type { Db } from "../../lib/db";
import { GatewayError } from "../../lib/errors";
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

async function requireKey(db: Db, accountId: string, keyId: string) {
  const [key] = await db
    .select()
    .from(gatewayKeys)
    .where(and(eq(gatewayKeys.accountId, accountId), eq(gatewayKeys.id, keyId)));
  if (!key) throw new GatewayError("not_found", `No key ${keyId} in account ${accountId}.`);
  return key;
}

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
      const body = c.req.valid("json");
      const key = await requireKey(c.var.db, account, keyId);
      const values = {
        requestsPerMinute: body.requestsPerMinute ?? null,
        tokensPerMinute: body.tokensPerMinute ?? null,
        maxWaitMs: body.maxWaitMs ?? null,
      };
      await c.var.db
        .insert(keyLimits)
        .values({ keyId, accountId: account, ...values })
        .onConflictDoUpdate({ target: keyLimits.keyId, set: { ...values, updatedAt: nowDate() } });
      await writeKeyLimitsToRedis(redisClient(c.var.config), key.keyHash, values);
      return c.json({ keyId, ...values }, 200);
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
      await requireKey(c.var.db, account, keyId);
      const [row] = await c.var.db.select().from(keyLimits).where(eq(keyLimits.keyId, keyId));
      return c.json(
        {
          keyId,
          requestsPerMinute: row?.requestsPerMinute ?? null,
          tokensPerMinute: row?.tokensPerMinute ?? null,
          maxWaitMs: row?.maxWaitMs ?? null,
        },
        200,
      );
    },
  );
