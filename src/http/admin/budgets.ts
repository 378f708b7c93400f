/**
 * Budget rules of an account (the rules and their Redis copies: src/budgets/manage.ts). Lists show
 * the current period's spent, reserved and remaining, exact, from the Redis counters.
 *
 *   POST   /accounts/{account}/budgets              {scope: {type, id?}, period, capUsd, mode?, alertAt?}
 *   GET    /accounts/{account}/budgets[?value=acme] (value: read that scope id of `*` rules only)
 *   GET    /accounts/{account}/budgets/{budgetId}
 *   PATCH  /accounts/{account}/budgets/{budgetId}   any of the POST fields
 *   DELETE /accounts/{account}/budgets/{budgetId}
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAccount } from "../../accounts";
import { createRule, deleteRule, listRuleRows, requireRule, updateRule, withStatus } from "../../budgets";
import { redisClient } from "../../lib/redis";
import { AccountParam } from "../account";
import type { ApiEnv } from "../app";
import { newApi } from "../app";
import { BudgetCreateBody, BudgetJson, BudgetPatchBody, ruleJson } from "../budget-schemas";

const BudgetParam = AccountParam.extend({
  budgetId: z.string().openapi({ param: { name: "budgetId", in: "path" }, example: "bud_3xAmpLe" }),
});
const ListQuery = z.object({
  value: z
    .string()
    .optional()
    .openapi({ description: "For `*` rules: show this scope id's counter only (e.g. one tenant)" }),
});

const stores = (c: Context<ApiEnv>) => ({ db: c.var.db, redis: redisClient(c.var.config) });

const tags = ["Admin: budgets"];

export const budgetsAdmin = newApi()
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/budgets",
      tags,
      summary: "Create a budget rule",
      request: {
        params: AccountParam,
        body: { required: true, content: { "application/json": { schema: BudgetCreateBody } } },
      },
      responses: { 201: { description: "Created", content: { "application/json": { schema: BudgetJson } } } },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      // capUsd is nano-USD already (BudgetCreateBody's transform).
      const { capUsd, ...rule } = c.req.valid("json");
      return c.json(ruleJson(await createRule(stores(c), account, { ...rule, capNano: capUsd })), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/budgets",
      tags,
      summary: "List budget rules with this period's spent, reserved and remaining",
      request: { params: AccountParam, query: ListQuery },
      responses: { 200: { description: "Budgets", content: { "application/json": { schema: z.array(BudgetJson) } } } },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const rows = await withStatus(
        redisClient(c.var.config),
        await listRuleRows(c.var.db, account),
        c.req.valid("query").value,
      );
      return c.json(rows.map(ruleJson), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/budgets/{budgetId}",
      tags,
      summary: "Read one budget rule with its counters",
      request: { params: BudgetParam, query: ListQuery },
      responses: { 200: { description: "The budget", content: { "application/json": { schema: BudgetJson } } } },
    }),
    async (c) => {
      const { account, budgetId } = c.req.valid("param");
      const row = await requireRule(c.var.db, account, budgetId);
      const [rule] = await withStatus(redisClient(c.var.config), [row], c.req.valid("query").value);
      return c.json(ruleJson(rule!), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/accounts/{account}/budgets/{budgetId}",
      tags,
      summary: "Change a budget rule (this period's counters are kept unless the period changes)",
      request: {
        params: BudgetParam,
        body: { required: true, content: { "application/json": { schema: BudgetPatchBody } } },
      },
      responses: { 200: { description: "Changed", content: { "application/json": { schema: BudgetJson } } } },
    }),
    async (c) => {
      const { account, budgetId } = c.req.valid("param");
      const { capUsd, ...patch } = c.req.valid("json");
      const change = { ...patch, ...(capUsd !== undefined ? { capNano: capUsd } : {}) };
      return c.json(ruleJson(await updateRule(stores(c), account, budgetId, change)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/budgets/{budgetId}",
      tags,
      summary: "Delete a budget rule (calls stop counting against it at once)",
      request: { params: BudgetParam },
      responses: { 200: { description: "Deleted", content: { "application/json": { schema: BudgetJson } } } },
    }),
    async (c) => {
      const { account, budgetId } = c.req.valid("param");
      return c.json(ruleJson(await deleteRule(stores(c), account, budgetId)), 200);
    },
  );
