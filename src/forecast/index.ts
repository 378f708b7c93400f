/**
 * The forecast: where each budget's spend is heading by the end of its period, and the day it
 * will reach its cap at the current trend (trend.ts) — for GET /v1/usage/forecast (and the admin
 * API's copy) and for the cron job's "will exceed its cap on <date>" alert (cron.ts).
 *
 * Spent is the budget's own counter (src/budgets/status.ts, what GET …/budgets shows); the trend
 * is the scope's daily spend from the records (history.ts). A `*` rule is forecast for each value
 * that spent this period. Besides the budgets, the whole account's calendar month.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { type BudgetRule, budgetStatus, type RuleStatus, type ScopeType } from "../budgets";
import { periodWindow } from "../budgets/periods";
import { listRules } from "../budgets/store";
import type { Db } from "../lib/db";
import type { ReportsDb } from "../reports/db";
import { type DailySpend, dailySpend, spendSince } from "./history";
import { DAY_MS, dailyModel, project } from "./trend";

export interface Forecast {
  spentNano: bigint;
  /** At the period's end; null for `total`. */
  projectedNano: bigint | null;
  /** When the cap is reached at this trend; null: not before the period ends (or the 90-day horizon). */
  exceedsAt: Date | null;
  status: "on_track" | "will_exceed" | "exceeded";
  method: "trend" | "average";
  /** Projected spend per day now, and its change per day (trend). */
  perDayNano: bigint;
  slopePerDayNano: bigint;
}

export interface BudgetForecast extends Forecast {
  rule: BudgetRule;
  /** The value of a `*` rule this forecast is for; null for other rules. */
  value: string | null;
  periodKey: string;
  periodEndMs: number | null;
}

export interface AccountForecast {
  generatedAt: Date;
  month: Omit<Forecast, "status" | "exceedsAt"> & { periodKey: string; periodStartMs: number; periodEndMs: number };
  budgets: BudgetForecast[];
}

export type SpentOf = (accountId: string, rules: BudgetRule[], now: number) => Promise<Map<string, RuleStatus>>;

export const spentFromRedis =
  (redis: Redis): SpentOf =>
  (accountId, rules, now) =>
    budgetStatus(redis, accountId, rules, now);

const EMPTY: DailySpend = { history: [], todayNano: 0 };
const nano = (v: number) => BigInt(Math.round(v));

function forecastOf(
  spentNano: bigint,
  capNano: bigint | null,
  daily: DailySpend,
  now: Date,
  endMs: number | null,
): Forecast {
  const fraction = (now.getTime() % DAY_MS) / DAY_MS;
  const model = dailyModel(daily.history, daily.todayNano, fraction);
  const cap = capNano === null ? Number.POSITIVE_INFINITY : Number(capNano);
  const p = project(model, Number(spentNano), cap, now.getTime(), endMs);
  const exceeded = capNano !== null && spentNano >= capNano;
  return {
    spentNano,
    projectedNano: p.projectedNano === null ? null : nano(p.projectedNano),
    exceedsAt: exceeded || p.exceedsAtMs === null ? null : new Date(p.exceedsAtMs),
    status: exceeded ? "exceeded" : p.exceedsAtMs !== null ? "will_exceed" : "on_track",
    method: model.method,
    perDayNano: nano(model.todayPace),
    slopePerDayNano: nano(model.slopePerDay),
  };
}

export async function forecastAccount(
  db: ReportsDb,
  accountId: string,
  now: Date,
  spentOf: SpentOf,
  only?: { budgetId?: string },
): Promise<AccountForecast> {
  const rules = (await listRules(db as unknown as Db, accountId)).filter(
    (r) => !only?.budgetId || r.id === only.budgetId,
  );
  const scopes = new Set<ScopeType>(["account", ...rules.map((r) => r.scopeType)]);
  const month = periodWindow("month", now.getTime());
  const [status, spentThisMonth, ...histories] = await Promise.all([
    rules.length ? spentOf(accountId, rules, now.getTime()) : Promise.resolve(new Map<string, RuleStatus>()),
    spendSince(db, accountId, new Date(month.startMs!), now),
    ...[...scopes].map((s) => dailySpend(db, accountId, s, now)),
  ]);
  const daily = new Map([...scopes].map((s, i) => [s, histories[i]!]));
  const budgets: BudgetForecast[] = [];
  for (const rule of rules) {
    const st = status.get(rule.id);
    const window = st?.window ?? periodWindow(rule.period, now.getTime());
    const series = daily.get(rule.scopeType)!;
    const base = { rule, periodKey: window.key, periodEndMs: window.endMs };
    if (rule.scopeId === "*") {
      for (const m of st?.members ?? []) {
        budgets.push({
          ...base,
          value: m.value,
          ...forecastOf(m.spentNano, rule.capNano, series.get(m.value) ?? EMPTY, now, window.endMs),
        });
      }
      continue;
    }
    const value = rule.scopeType === "account" ? "" : (rule.scopeId ?? "");
    budgets.push({
      ...base,
      value: null,
      ...forecastOf(st?.spentNano ?? 0n, rule.capNano, series.get(value) ?? EMPTY, now, window.endMs),
    });
  }
  // The account's calendar month, spent from the records.
  const acct = daily.get("account")!.get("") ?? EMPTY;
  const { status: _s, exceedsAt: _e, ...m } = forecastOf(spentThisMonth, null, acct, now, month.endMs);
  return {
    generatedAt: now,
    month: { ...m, periodKey: month.key, periodStartMs: month.startMs!, periodEndMs: month.endMs! },
    budgets,
  };
}
