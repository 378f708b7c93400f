/**
 * Budget rules: Postgres holds them; every change is copied into the account's Redis rules hash
 * (the scope's one field), which the admission script reads. Lists show the current period's
 * spent, reserved and remaining, exact, from the Redis counters.
 *
 *   POST   /accounts/{account}/budgets              {scope: {type, id?}, period, capUsd, mode?, alertAt?}
 *   GET    /accounts/{account}/budgets[?value=acme] (value: read that scope id of `*` rules only)
 *   GET    /accounts/{account}/budgets/{budgetId}
 *   PATCH  /accounts/{account}/budgets/{budgetId}   any of the POST fields
 *   DELETE /accounts/{account}/budgets/{budgetId}
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { budgetRules } from "../../../schema/index";
import { requireAccount } from "../../accounts";
import { BudgetJson, budgetToJson } from "../../budgets/json";
import { budgetKeys } from "../../budgets/keys";
import { PERIODS } from "../../budgets/periods";
import { DEFAULT_ALERT_AT, MAX_CAP_NANO, MODES, SCOPE_TYPES, type ScopeType } from "../../budgets/rules";
import { budgetStatus } from "../../budgets/status";
import { ruleFromRow, syncScopeToRedis } from "../../budgets/store";
import { nowDate, nowMs } from "../../lib/clock";
import type { Db } from "../../lib/db";
import { GatewayError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { usdToNano } from "../../lib/money";
import { redisClient } from "../../lib/redis";
import { AccountParam } from "../account";
import type { ApiEnv } from "../app";
import { newApi } from "../app";

const ScopeId = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, "printable ASCII, as sent in x-tollgate-* headers");

const Scope = z
  .object({ type: z.enum(SCOPE_TYPES), id: ScopeId.nullish() })
  .superRefine((s, ctx) => {
    if (s.type === "account" && s.id != null) {
      ctx.addIssue({ code: "custom", path: ["id"], message: 'an "account" scope has no id' });
    }
    if (s.type !== "account" && s.id == null) {
      ctx.addIssue({
        code: "custom",
        path: ["id"],
        message: `a "${s.type}" scope needs an id, or "*" for each one separately`,
      });
    }
  })
  .openapi({ example: { type: "tenant", id: "*" } });

const CapUsd = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    try {
      const nano = usdToNano(String(v));
      if (nano <= 0n) ctx.addIssue({ code: "custom", message: "must be more than 0" });
      else if (nano > MAX_CAP_NANO) ctx.addIssue({ code: "custom", message: "must be at most 9000000 USD" });
      return nano;
    } catch {
      ctx.addIssue({ code: "custom", message: 'a USD amount as a decimal string, e.g. "12.50"' });
      return z.NEVER;
    }
  })
  .openapi({ type: "string", example: "5.00" });

const AlertAt = z
  .array(z.number().int().min(1).max(1000))
  .max(10)
  .refine((a) => new Set(a).size === a.length, "thresholds must be distinct")
  .openapi({ example: DEFAULT_ALERT_AT });

const CreateBody = z.object({
  scope: Scope,
  period: z.enum(PERIODS),
  capUsd: CapUsd,
  mode: z.enum(MODES).default("hard"),
  alertAt: AlertAt.default(DEFAULT_ALERT_AT),
});
const PatchBody = z
  .object({
    scope: Scope.optional(),
    period: z.enum(PERIODS).optional(),
    capUsd: CapUsd.optional(),
    mode: z.enum(MODES).optional(),
    alertAt: AlertAt.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "nothing to change");

const BudgetParam = AccountParam.extend({
  budgetId: z.string().openapi({ param: { name: "budgetId", in: "path" }, example: "bud_3xAmpLe" }),
});
const ListQuery = z.object({
  value: z
    .string()
    .optional()
    .openapi({ description: "For `*` rules: show this scope id's counter only (e.g. one tenant)" }),
});

type Row = typeof budgetRules.$inferSelect;

async function requireRule(db: Db, accountId: string, budgetId: string): Promise<Row> {
  const [row] = await db
    .select()
    .from(budgetRules)
    .where(and(eq(budgetRules.accountId, accountId), eq(budgetRules.id, budgetId)));
  if (!row) throw new GatewayError("not_found", `No budget ${budgetId} in account ${accountId}.`);
  return row;
}

/** Copies the changed scopes to Redis; if that fails, drops the hash so the next call rebuilds it. */
async function syncScopes(c: Context<ApiEnv>, accountId: string, scopes: [ScopeType, string | null][]): Promise<void> {
  const redis = redisClient(c.var.config);
  try {
    for (const [type, id] of scopes) await syncScopeToRedis(redis, c.var.db, accountId, type, id);
  } catch (err) {
    await redis.del(budgetKeys.rules(accountId)).catch(() => {});
    throw new GatewayError(
      "unavailable",
      `The budget is saved but Redis did not take the change (${(err as Error).message}); the gateway reloads it from Postgres on its next call.`,
    );
  }
}

async function withStatus(c: Context<ApiEnv>, rows: Row[], value?: string) {
  const rules = rows.map(ruleFromRow);
  const now = nowMs();
  const only: Record<string, string> = {};
  if (value !== undefined) for (const r of rules) if (r.scopeId === "*") only[r.id] = value;
  const accountId = rows[0]?.accountId;
  const status = accountId ? await budgetStatus(redisClient(c.var.config), accountId, rules, now, only) : new Map();
  return rows.map((row, i) => budgetToJson(rules[i]!, status.get(row.id), row));
}

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
        body: { required: true, content: { "application/json": { schema: CreateBody } } },
      },
      responses: { 201: { description: "Created", content: { "application/json": { schema: BudgetJson } } } },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const body = c.req.valid("json");
      await requireAccount(c.var.db, account);
      const scopeId = body.scope.type === "account" ? null : (body.scope.id ?? null);
      const [row] = await c.var.db
        .insert(budgetRules)
        .values({
          id: newId("bud"),
          accountId: account,
          scopeType: body.scope.type,
          scopeId,
          period: body.period,
          capNano: body.capUsd,
          mode: body.mode,
          alertAt: [...body.alertAt].sort((a, b) => a - b),
        })
        .returning();
      await syncScopes(c, account, [[body.scope.type, scopeId]]);
      const [json] = await withStatus(c, [row!]);
      return c.json(json!, 201);
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
      const rows = await c.var.db
        .select()
        .from(budgetRules)
        .where(eq(budgetRules.accountId, account))
        .orderBy(budgetRules.createdAt, budgetRules.id);
      return c.json(await withStatus(c, rows, c.req.valid("query").value), 200);
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
      const [json] = await withStatus(c, [row], c.req.valid("query").value);
      return c.json(json!, 200);
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
        body: { required: true, content: { "application/json": { schema: PatchBody } } },
      },
      responses: { 200: { description: "Changed", content: { "application/json": { schema: BudgetJson } } } },
    }),
    async (c) => {
      const { account, budgetId } = c.req.valid("param");
      const body = c.req.valid("json");
      const before = await requireRule(c.var.db, account, budgetId);
      const scopeType = body.scope?.type ?? (before.scopeType as ScopeType);
      const scopeId = body.scope ? (body.scope.type === "account" ? null : (body.scope.id ?? null)) : before.scopeId;
      const [row] = await c.var.db
        .update(budgetRules)
        .set({
          scopeType,
          scopeId,
          ...(body.period ? { period: body.period } : {}),
          ...(body.capUsd !== undefined ? { capNano: body.capUsd } : {}),
          ...(body.mode ? { mode: body.mode } : {}),
          ...(body.alertAt ? { alertAt: [...body.alertAt].sort((a, b) => a - b) } : {}),
          updatedAt: nowDate(),
        })
        .where(eq(budgetRules.id, budgetId))
        .returning();
      const scopes: [ScopeType, string | null][] = [[scopeType, scopeId]];
      if (before.scopeType !== scopeType || before.scopeId !== scopeId) {
        scopes.push([before.scopeType as ScopeType, before.scopeId]);
      }
      await syncScopes(c, account, scopes);
      const [json] = await withStatus(c, [row!]);
      return c.json(json!, 200);
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
      const row = await requireRule(c.var.db, account, budgetId);
      const [json] = await withStatus(c, [row]);
      await c.var.db.delete(budgetRules).where(eq(budgetRules.id, budgetId));
      await syncScopes(c, account, [[row.scopeType as ScopeType, row.scopeId]]);
      return c.json(json!, 200);
    },
  );
