/**
 * Rating plans and who is on which (the rules: src/billing/plans.ts; semantics: docs/billing.md).
 *
 *   POST /accounts/{account}/plans                 {name, kind, …}  → 201
 *   GET  /accounts/{account}/plans, GET|PUT …/plans/{planId}
 *   PUT  /accounts/{account}/billing               {timeZone?, defaultPlanId?}   (GET reads it)
 *   PUT  /accounts/{account}/tenants/{tenant}/plan {planId | null}              (GET: the plan in force)
 *   POST /accounts/{account}/tenants/{tenant}/rerate {period}   an open period's records billed again
 *                                                               under the plan in force (src/billing/rerate.ts)
 *
 * Until the account sets a plan, every tenant is billed our cost (markup 0).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAccount } from "../../accounts";
import {
  createPlan,
  listPlans,
  planFromRow,
  readAccountBilling,
  replacePlan,
  requirePlan,
  setAccountBilling,
  setTenantPlan,
  tenantPlan,
} from "../../billing/plans";
import { reratePeriod } from "../../billing/rerate";
import { isTimeZone } from "../../billing/zone";
import { nowMs } from "../../lib/clock";
import { invalidRequest } from "../../lib/errors";
import { nanoToUsd } from "../../lib/money";
import { redisClient } from "../../lib/redis";
import { AccountParam } from "../account";
import { type ApiEnv, newApi } from "../app";
import { PlanBody, PlanJson, planDefinition, planJson, TenantParam } from "../billing-schemas";
import { ok } from "../schemas";

const tags = ["Admin: billing"];
const stores = (c: Context<ApiEnv>) => ({ db: c.var.db, redis: redisClient(c.var.config) });
const PlanParam = AccountParam.extend({
  planId: z.string().openapi({ param: { name: "planId", in: "path" }, example: "pln_3xAmpLe" }),
});

function definitionOf(body: z.infer<typeof PlanBody>) {
  const r = planDefinition(body);
  if ("issues" in r) throw invalidRequest(r.issues.map((m) => ({ path: m.split(":")[0] ?? "(body)", message: m })));
  return r.definition;
}

const AccountBilling = z
  .object({
    timeZone: z.string().openapi({ example: "Europe/Berlin", description: "IANA zone of the invoice months" }),
    defaultPlanId: z.string().nullable().openapi({ description: "null: tenants without a plan are billed our cost" }),
  })
  .openapi("AccountBilling");

const TenantPlanJson = z
  .object({
    tenant: z.string(),
    planId: z.string().nullable().openapi({ description: "The tenant's own plan; null: the default" }),
    source: z.enum(["tenant", "default", "at_cost"]),
    plan: PlanJson,
  })
  .openapi("TenantPlan");

const tenantPlanJson = (t: Awaited<ReturnType<typeof tenantPlan>>) => ({ ...t, plan: planJson(t.plan) });

export const plansAdmin = newApi()
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/plans",
      tags,
      summary: "Create a rating plan (markup, unit rates per bucket, graduated tiers, package; free allowances)",
      request: {
        params: AccountParam,
        body: { required: true, content: { "application/json": { schema: PlanBody } } },
      },
      responses: { 201: { description: "Created", content: { "application/json": { schema: PlanJson } } } },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const body = c.req.valid("json");
      const row = await createPlan(stores(c), account, body.name, definitionOf(body));
      return c.json(planJson(planFromRow(row), row), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/plans",
      tags,
      summary: "The account's plans",
      request: { params: AccountParam },
      responses: ok(z.array(PlanJson), "Plans"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(
        (await listPlans(c.var.db, account)).map((p) => planJson(planFromRow(p), p)),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/plans/{planId}",
      tags,
      summary: "One plan",
      request: { params: PlanParam },
      responses: ok(PlanJson, "The plan"),
    }),
    async (c) => {
      const { account, planId } = c.req.valid("param");
      const row = await requirePlan(c.var.db, account, planId);
      return c.json(planJson(planFromRow(row), row), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/plans/{planId}",
      tags,
      summary:
        "Replace a plan's definition (a new version: calls from now on are rated under it; re-rate an open period to apply it to earlier calls)",
      request: { params: PlanParam, body: { required: true, content: { "application/json": { schema: PlanBody } } } },
      responses: ok(PlanJson, "The plan now"),
    }),
    async (c) => {
      const { account, planId } = c.req.valid("param");
      const body = c.req.valid("json");
      const row = await replacePlan(stores(c), account, planId, body.name, definitionOf(body));
      return c.json(planJson(planFromRow(row), row), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/billing",
      tags,
      summary: "The account's billing settings: invoice time zone, default plan",
      request: {
        params: AccountParam,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z
                .object({ timeZone: z.string().optional(), defaultPlanId: z.string().nullable().optional() })
                .strict(),
            },
          },
        },
      },
      responses: ok(AccountBilling, "The settings now"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const body = c.req.valid("json");
      if (body.timeZone !== undefined && !isTimeZone(body.timeZone)) {
        throw invalidRequest([{ path: "timeZone", message: "an IANA time zone, e.g. Europe/Berlin" }]);
      }
      return c.json(await setAccountBilling(stores(c), account, body), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/billing",
      tags,
      summary: "The account's billing settings",
      request: { params: AccountParam },
      responses: ok(AccountBilling, "The settings"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(await readAccountBilling(c.var.db, account), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/tenants/{tenant}/plan",
      tags,
      summary: "Put a tenant on its own plan (null: back to the account's default)",
      request: {
        params: TenantParam,
        body: {
          required: true,
          content: { "application/json": { schema: z.object({ planId: z.string().nullable() }).strict() } },
        },
      },
      responses: ok(TenantPlanJson, "The tenant's plan now"),
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(tenantPlanJson(await setTenantPlan(stores(c), account, tenant, c.req.valid("json").planId)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/tenants/{tenant}/plan",
      tags,
      summary: "The plan a tenant's calls are rated under",
      request: { params: TenantParam },
      responses: ok(TenantPlanJson, "The tenant's plan"),
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(tenantPlanJson(await tenantPlan(c.var.db, account, tenant)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/tenants/{tenant}/rerate",
      tags,
      summary:
        "Re-rate an open period: its records billed again, in order, under the plan in force (not once finalized)",
      request: {
        params: TenantParam,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z.object({ period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM") }).strict(),
            },
          },
        },
      },
      responses: ok(
        z.object({
          records: z.number().int(),
          billedBeforeUsd: z.string(),
          billedAfterUsd: z.string(),
          planVersion: z.string(),
        }),
        "Re-rated",
      ),
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const r = await reratePeriod(stores(c), account, tenant, c.req.valid("json").period, nowMs());
      return c.json(
        {
          records: r.records,
          billedBeforeUsd: nanoToUsd(r.billedBeforeNano),
          billedAfterUsd: nanoToUsd(r.billedAfterNano),
          planVersion: r.planVersion,
        },
        200,
      );
    },
  );
