/**
 * POST /admin/v1/accounts, GET /admin/v1/accounts/{account},
 * PUT /admin/v1/accounts/{account}/retention (src/reports/maintenance.ts keeps the rest).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { type Account as AccountRow, createAccount, requireAccount } from "../../accounts";
import { GatewayError } from "../../lib/errors";
import { redisClient } from "../../lib/redis";
import { RETENTION_DAYS, setRetention } from "../../reports/maintenance";
import { AccountParam } from "../account";
import { newApi } from "../app";
import { ok } from "../schemas";

const Account = z
  .object({ id: z.string(), name: z.string(), retentionDays: z.number().int(), createdAt: z.string() })
  .openapi("Account");

const toJson = (a: AccountRow) => ({
  id: a.id,
  name: a.name,
  retentionDays: a.retentionDays,
  createdAt: a.createdAt.toISOString(),
});

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
      const row = await createAccount(redisClient(c.var.config), c.var.db, c.req.valid("json").name);
      return c.json(toJson(row), 201);
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
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/retention",
      tags: ["Admin: accounts"],
      summary: "How long raw call records are kept (older days live on as daily rollups)",
      request: {
        params: AccountParam,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z.object({
                days: z
                  .union(RETENTION_DAYS.map((d) => z.literal(d)))
                  .openapi({ type: "integer", enum: [...RETENTION_DAYS] }),
              }),
            },
          },
        },
      },
      responses: ok(z.object({ accountId: z.string(), retentionDays: z.number().int() }), "Set"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const { days } = c.req.valid("json");
      if (!(await setRetention(c.var.db, account, days))) throw new GatewayError("not_found", `No account ${account}.`);
      return c.json({ accountId: account, retentionDays: days }, 200);
    },
  );
