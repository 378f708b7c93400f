/**
 * GET /v1/budgets (gateway key): the budgets that apply to the calling key — account, key and
 * environment rules always, and the tenant/feature/user/workflow rules for the values given in the
 * query (as the call's x-tollgate-* headers would) — each with this period's spent, reserved and
 * remaining. For a `*` rule the numbers are the given value's own counter.
 *
 * Mount behind withConfigAndDb and requireGatewayKey (c.var.caller), like /v1/requests.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { applicableWithStatus } from "../../budgets";
import { redisClient } from "../../lib/redis";
import { newApi } from "../app";
import { BudgetJson, budgetToJson } from "../budget-schemas";

const Value = z.string().min(1).max(256).optional();

export const keyBudgetsApi = newApi().openapi(
  createRoute({
    method: "get",
    path: "/budgets",
    tags: ["Usage"],
    summary: "The budgets that apply to this key (and to the attribution given in the query)",
    request: {
      query: z.object({ tenant: Value, feature: Value, user: Value, env: Value, workflow: Value }),
    },
    responses: {
      200: {
        description: "Applicable budgets",
        content: {
          "application/json": {
            schema: z.object({
              budgets: z.array(
                BudgetJson.extend({ appliesTo: z.string().openapi({ description: "The scope id counted" }) }),
              ),
            }),
          },
        },
      },
    },
  }),
  async (c) => {
    const caller = c.var.caller;
    const q = c.req.valid("query");
    const applied = await applicableWithStatus(
      { db: c.var.db, redis: redisClient(c.var.config) },
      {
        accountId: caller.accountId,
        keyId: caller.keyId,
        tenant: q.tenant ?? null,
        feature: q.feature ?? null,
        user: q.user ?? null,
        environment: q.env ?? caller.environment ?? "production",
        workflow: q.workflow ?? null,
      },
    );
    const budgets = applied.map(({ rule, status, appliesTo }) => {
      const { members: _m, membersCount: _c, ...json } = budgetToJson(rule, status);
      return { ...json, appliesTo };
    });
    return c.json({ budgets }, 200);
  },
);
