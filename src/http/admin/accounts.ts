/** POST /admin/v1/accounts, GET /admin/v1/accounts/{account} */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { accounts } from "../../../schema";
import { writeRulesToRedis } from "../../budgets/store";
import { nowMs } from "../../lib/clock";
import type { Db } from "../../lib/db";
import { GatewayError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { redisClient } from "../../lib/redis";
import { refreshAccountSettings } from "../../proxy/identify";
import { newApi } from "../app";

export const AccountParam = z.object({
  account: z
    .string()
    .min(1)
    .openapi({ param: { name: "account", in: "path" }, example: "acc_3xAmpLe" }),
});

const Account = z
  .object({ id: z.string(), name: z.string(), retentionDays: z.number().int(), createdAt: z.string() })
  .openapi("Account");

const toJson = (a: typeof accounts.$inferSelect) => ({
  id: a.id,
  name: a.name,
  retentionDays: a.retentionDays,
  createdAt: a.createdAt.toISOString(),
});

/** 404 unless the account exists; every /accounts/{account}/… route starts with this. */
export async function requireAccount(db: Db, accountId: string): Promise<typeof accounts.$inferSelect> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, accountId));
  if (!row) throw new GatewayError("not_found", `No account ${accountId}.`);
  return row;
}

export const accountsAdmin = newApi()
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts",
      tags: ["Admin: accounts"],
      summary: "Create an account",
      request: {
        body: {
          required: true,
          content: { "application/json": { schema: z.object({ name: z.string().trim().min(1).max(200) }) } },
        },
      },
      responses: { 201: { description: "Created", content: { "application/json": { schema: Account } } } },
    }),
    async (c) => {
      const { name } = c.req.valid("json");
      const [row] = await c.var.db
        .insert(accounts)
        .values({ id: newId("acc"), name })
        .returning();
      // Its (empty) budget rules and settings are in Redis from the start: no call has to read Postgres.
      const redis = redisClient(c.var.config);
      await Promise.all([
        writeRulesToRedis(redis, row!.id, [], nowMs()),
        refreshAccountSettings(redis, c.var.db, row!.id),
      ]);
      return c.json(toJson(row!), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}",
      tags: ["Admin: accounts"],
      summary: "Read an account",
      request: { params: AccountParam },
      responses: { 200: { description: "The account", content: { "application/json": { schema: Account } } } },
    }),
    async (c) => c.json(toJson(await requireAccount(c.var.db, c.req.valid("param").account)), 200),
  );
