/**
 * GET …/usage/forecast — projected spend at each budget's period end and the day it reaches its
 * cap at the current trend (src/forecast/), plus the account's calendar month. Declared once,
 * mounted in /v1 (the caller's account) and /admin/v1 (any account), like the usage reports.
 */
import { z } from "@hono/zod-openapi";
import { type BudgetForecast, forecastAccount, spentFromRedis } from "../forecast";
import { nowDate } from "../lib/clock";
import { nanoToUsd } from "../lib/money";
import { redisClient } from "../lib/redis";
import { type AccountSource, accountRoute, callerAccount, pathAccount } from "./account";
import { newApi } from "./app";
import { ok } from "./schemas";

const METHOD =
  "Spent: the budget's own counter. Per day ahead: a least-squares line through the scope's daily spend over the last 14 complete UTC days (from its first spend; fewer than 3 days: the average so far), never below zero; the rest of today at the larger of that and today's own pace.";

const Trend = {
  method: z.enum(["trend", "average"]),
  perDayUsd: z.string().openapi({ description: "Projected spend per day now" }),
  trendPerDayUsd: z.string().openapi({ description: "How much that changes per day (the line's slope)" }),
};

const BudgetForecastJson = z
  .object({
    budgetId: z.string(),
    scope: z.object({ type: z.string(), id: z.string().nullable() }),
    value: z.string().nullable().openapi({ description: 'For a "*" rule: the value (tenant, feature, …) this is for' }),
    period: z.string(),
    periodKey: z.string(),
    periodEnd: z.string().nullable(),
    mode: z.string(),
    capUsd: z.string(),
    spentUsd: z.string(),
    projectedUsd: z.string().nullable().openapi({ description: "At the period's end; null for total" }),
    projectedPercent: z.number().nullable(),
    exceedsAt: z
      .string()
      .nullable()
      .openapi({ description: "When the cap is reached at this trend (null: not this period)" }),
    willExceed: z.boolean(),
    status: z.enum(["on_track", "will_exceed", "exceeded"]),
    ...Trend,
  })
  .openapi("BudgetForecast");

const ForecastJson = z
  .object({
    generatedAt: z.string(),
    method: z.string(),
    month: z.object({
      periodKey: z.string(),
      periodStart: z.string(),
      periodEnd: z.string(),
      spentUsd: z.string().openapi({ description: "Recorded spend of the whole account this month" }),
      projectedUsd: z.string(),
      ...Trend,
    }),
    budgets: z.array(BudgetForecastJson),
  })
  .openapi("Forecast");

const usd = (n: bigint) => nanoToUsd(n < 0n ? 0n : n);

function budgetJson(f: BudgetForecast) {
  const r = f.rule;
  return {
    budgetId: r.id,
    scope: { type: r.scopeType, id: r.scopeId },
    value: f.value,
    period: r.period,
    periodKey: f.periodKey,
    periodEnd: f.periodEndMs === null ? null : new Date(f.periodEndMs).toISOString(),
    mode: r.mode,
    capUsd: nanoToUsd(r.capNano),
    spentUsd: nanoToUsd(f.spentNano),
    projectedUsd: f.projectedNano === null ? null : usd(f.projectedNano),
    projectedPercent:
      f.projectedNano === null || r.capNano === 0n
        ? null
        : Math.round((Number(f.projectedNano) / Number(r.capNano)) * 1000) / 10,
    exceedsAt: f.exceedsAt?.toISOString() ?? null,
    willExceed: f.status !== "on_track",
    status: f.status,
    method: f.method,
    perDayUsd: usd(f.perDayNano),
    trendPerDayUsd: nanoToUsd(f.slopePerDayNano),
  };
}

export function forecastApi(account: AccountSource, tag: string) {
  return newApi().openapi(
    accountRoute(account, {
      method: "get",
      path: "/usage/forecast",
      tags: [tag],
      summary: "Projected spend at each budget's period end, and when it reaches its cap at the current trend",
      description: METHOD,
      request: { query: z.object({ budgetId: z.string().optional().openapi({ description: "Only this budget" }) }) },
      responses: ok(ForecastJson, "The forecast"),
    }),
    async (c) => {
      const accountId = await account.accountId(c);
      const { budgetId } = c.req.valid("query") as { budgetId?: string };
      const f = await forecastAccount(c.var.db, accountId, nowDate(), spentFromRedis(redisClient(c.var.config)), {
        ...(budgetId ? { budgetId } : {}),
      });
      return c.json(
        {
          generatedAt: f.generatedAt.toISOString(),
          method: METHOD,
          month: {
            periodKey: f.month.periodKey,
            periodStart: new Date(f.month.periodStartMs).toISOString(),
            periodEnd: new Date(f.month.periodEndMs).toISOString(),
            spentUsd: nanoToUsd(f.month.spentNano),
            projectedUsd: usd(f.month.projectedNano ?? f.month.spentNano),
            method: f.month.method,
            perDayUsd: usd(f.month.perDayNano),
            trendPerDayUsd: nanoToUsd(f.month.slopePerDayNano),
          },
          budgets: f.budgets.map(budgetJson),
        },
        200,
      );
    },
  );
}

export const forecastV1 = forecastApi(callerAccount, "Usage");
export const forecastAdmin = forecastApi(pathAccount, "Admin: usage");
