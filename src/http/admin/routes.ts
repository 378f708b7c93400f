/**
 * Routes (src/routing/README.md): fallback chains, weighted splits, budget downgrade, the response
 * cache and the model policy of an account's calls.
 *
 *   PUT    /accounts/{account}/routes/{name}   {targets, fallbackOn?, timeoutMs?, onBudget?, cache?, maxTokensCap?, allowedModels?, defaultModel?, defaultFor?}
 *   GET    /accounts/{account}/routes/{name}
 *   DELETE /accounts/{account}/routes/{name}
 *   GET    /accounts/{account}/routes
 *
 * The shapes are checked here; what needs the account (providers and their formats — a
 * cross-format route is a 400 —, keys, defaults another route claims) in src/routing/manage.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAccount } from "../../accounts";
import { redisClient } from "../../lib/redis";
import { deleteRoute, getRoute, listRoutes, putRoute } from "../../routing/manage";
import { ASKED_MODEL, FALLBACK_ON } from "../../routing/types";
import { AccountParam } from "../account";
import { newApi } from "../app";
import { errorResponses } from "../schemas";

const NameParam = AccountParam.extend({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, . _ -, at most 64, starting with a letter or digit")
    .openapi({ param: { name: "name", in: "path" }, example: "chat-default" }),
});

const Provider = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "a provider id");
const Model = z.string().min(1).max(200);

const Target = z
  .object({
    provider: Provider,
    model: Model.openapi({ description: `The model to send; "${ASKED_MODEL}" sends the model the call asks for` }),
    weight: z.number().int().min(0).max(10_000).optional().openapi({
      description: "Share of first attempts (weighted split); targets without a weight are fallbacks only",
    }),
  })
  .strict();

const RouteBody = z
  .object({
    targets: z.array(Target).min(1).max(10),
    fallbackOn: z
      .array(z.enum(FALLBACK_ON))
      .max(4)
      .optional()
      .openapi({ description: 'What moves a call to the next target; default ["429","5xx","timeout"]' }),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    onBudget: z.object({ provider: Provider, model: Model }).strict().optional(),
    cache: z
      .object({
        ttlSeconds: z
          .number()
          .int()
          .min(1)
          .max(30 * 86_400),
        scope: z.enum(["tenant", "account"]),
      })
      .strict()
      .optional(),
    maxTokensCap: z.number().int().min(1).max(10_000_000).optional(),
    allowedModels: z.array(Model).min(1).max(200).optional(),
    defaultModel: Model.optional(),
    defaultFor: z
      .object({
        keys: z.array(z.string().min(1)).max(1000).optional(),
        features: z.array(z.string().min(1).max(256)).max(1000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi("RouteInput");

const RouteJson = RouteBody.extend({
  name: z.string(),
  format: z.enum(["openai", "anthropic"]).openapi({ description: "The wire format of every target" }),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Route");

const tags = ["Admin: routes"];
const one = (description: string) => ({
  200: { description, content: { "application/json": { schema: RouteJson } } },
  ...errorResponses,
});

export const routesAdmin = newApi()
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/routes/{name}",
      tags,
      summary: "Create or replace a route (a cross-format route is refused with 400)",
      request: {
        params: NameParam,
        body: { required: true, content: { "application/json": { schema: RouteBody } } },
      },
      responses: one("The route now"),
    }),
    async (c) => {
      const { account, name } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const row = await putRoute(redisClient(c.var.config), c.var.db, account, name, c.req.valid("json"));
      return c.json(row, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/routes/{name}",
      tags,
      summary: "One route",
      request: { params: NameParam },
      responses: one("The route"),
    }),
    async (c) => {
      const { account, name } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(await getRoute(c.var.db, account, name), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/routes/{name}",
      tags,
      summary: "Delete a route (calls naming it get a 400 from then on)",
      request: { params: NameParam },
      responses: one("The deleted route"),
    }),
    async (c) => {
      const { account, name } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(await deleteRoute(redisClient(c.var.config), c.var.db, account, name), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/routes",
      tags,
      summary: "The account's routes, by name",
      request: { params: AccountParam },
      responses: {
        200: { description: "Routes", content: { "application/json": { schema: z.array(RouteJson) } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(await listRoutes(c.var.db, account), 200);
    },
  );
