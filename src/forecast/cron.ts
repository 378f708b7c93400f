/**
 * The cron job's forecast alert: a hard budget whose projected spend reaches its cap before the
 * period ends gets `budget.forecast_exceeds_cap` — "… will exceed its cap on <date>" — once per
 * rule, value and period (src/alerts/episodes.ts); the episode stays open while the projection
 * (or the spend) stays at or over the cap, and a later one may alert again after it fell back.
 * Only accounts with hard rules are looked at.
 */
import { eq } from "drizzle-orm";
import { budgetRules } from "../../schema";
import { type AccountEvent, type DeliverDeps, deliverEvents } from "../alerts";
import { type Observation, settleEpisodes } from "../alerts/episodes";
import { describePeriod } from "../budgets/periods";
import { describeScope } from "../budgets/rules";
import { nanoToUsd } from "../lib/money";
import type { ReportsDb } from "../reports/db";
import { type BudgetForecast, forecastAccount, type SpentOf } from "./index";

export interface ForecastJobDeps {
  db: ReportsDb;
  spentOf: SpentOf;
  alerts?: Omit<DeliverDeps, "db">;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

export function forecastEvent(accountId: string, f: BudgetForecast, episodeId: string, now: Date): AccountEvent {
  const r = f.rule;
  const scope = describeScope(r.scopeType, r.scopeId, f.value ?? undefined);
  const period = describePeriod({ period: r.period, key: f.periodKey, startMs: null, endMs: f.periodEndMs });
  const on = f.exceedsAt ? day(f.exceedsAt) : "?";
  return {
    id: `forecast:${episodeId}`,
    type: "budget.forecast_exceeds_cap",
    createdAt: now.toISOString(),
    accountId,
    subject: `${scope} will exceed its $${nanoToUsd(r.capNano)} cap on ${on}`,
    message: `${scope} will exceed its $${nanoToUsd(r.capNano)} hard cap for ${period} on ${on} at the current trend: $${nanoToUsd(f.spentNano)} spent, about $${nanoToUsd(f.perDayNano)} a day${f.projectedNano !== null ? `, $${nanoToUsd(f.projectedNano)} projected by the period's end` : ""} (${f.method === "trend" ? "linear trend of the last 14 days" : "average daily spend so far"}). Calls will be refused from then on (402). This alert is sent once while the projection stays over the cap.`,
    episodeId,
    budget: {
      id: r.id,
      scope: { type: r.scopeType, id: r.scopeId },
      period: r.period,
      mode: r.mode,
      capUsd: nanoToUsd(r.capNano),
    },
    scopeValue: f.value,
    periodKey: f.periodKey,
    exceedsAt: f.exceedsAt?.toISOString() ?? null,
    spentUsd: nanoToUsd(f.spentNano),
    projectedUsd: f.projectedNano === null ? null : nanoToUsd(f.projectedNano),
    perDayUsd: nanoToUsd(f.perDayNano),
    method: f.method,
  };
}

export async function runForecastAlerts(deps: ForecastJobDeps, now: Date): Promise<AccountEvent[]> {
  const accounts = await deps.db
    .selectDistinct({ accountId: budgetRules.accountId })
    .from(budgetRules)
    .where(eq(budgetRules.mode, "hard"));
  const observations: Observation[] = [];
  for (const { accountId } of accounts) {
    const forecast = await forecastAccount(deps.db, accountId, now, deps.spentOf).catch((err) => {
      console.error(`forecast for ${accountId} failed`, err);
      return null;
    });
    for (const f of forecast?.budgets ?? []) {
      if (f.rule.mode !== "hard" || f.status === "on_track") continue;
      observations.push({
        accountId,
        dimension: "budget",
        value: `${f.rule.id}|${f.value ?? "_"}|${f.periodKey}`,
        // Already over the cap: the threshold alerts say so; the episode just stays open.
        state: f.status === "will_exceed" ? "open" : "hold",
        event: (id) => forecastEvent(accountId, f, id, now),
      });
    }
  }
  const opened = await settleEpisodes(deps.db, "forecast", observations, now);
  if (deps.alerts && opened.length) await deliverEvents(opened, { ...deps.alerts, db: deps.db });
  return opened;
}
