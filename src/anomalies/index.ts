/**
 * Spend anomalies, run by the cron job (src/scheduled.ts) every 5 minutes:
 *   - spend.anomaly: a tenant, feature or key spent far more in the last hour than its own baseline
 *     (spend.ts, baseline.ts);
 *   - workflow.runaway: a workflow's call rate or cost per call jumped, or it spent in minutes what
 *     the account's workflows spend in all (workflows.ts).
 * Each alerts once per episode (src/alerts/episodes.ts) through the account's alert channels, with
 * the numbers that triggered it. Pure functions of the records and `now`, so tests replay a
 * synthetic history under a controlled clock.
 */
import { type AccountEvent, type DeliverDeps, deliverEvents } from "../alerts";
import { type Observation, settleEpisodes } from "../alerts/episodes";
import { nanoToUsd } from "../lib/money";
import type { ReportsDb } from "../reports/db";
import { DEFAULT_SPEND_THRESHOLDS, type SpendThresholds } from "./baseline";
import { type SeriesVerdict, spendVerdicts } from "./spend";
import {
  DEFAULT_RUNAWAY_THRESHOLDS,
  type RunawayThresholds,
  type WorkflowVerdict,
  workflowVerdicts,
} from "./workflows";

export { DEFAULT_SPEND_THRESHOLDS, type SpendThresholds } from "./baseline";
export { DEFAULT_RUNAWAY_THRESHOLDS, type RunawayThresholds } from "./workflows";

const usd = (nano: number | bigint) => nanoToUsd(BigInt(Math.round(Number(nano))));

export function spendEvent(v: SeriesVerdict, episodeId: string): AccountEvent {
  const b = v.baseline;
  const ratio = b.expected > 0 ? Math.round((Number(v.windowNano) / b.expected) * 10) / 10 : null;
  const what = `${v.dimension} ${v.value}`;
  return {
    id: `anomaly:${episodeId}`,
    type: "spend.anomaly",
    createdAt: v.windowEnd.toISOString(),
    accountId: v.accountId,
    subject: `${what} spent $${usd(v.windowNano)} in the last hour (usually $${usd(b.expected)})`,
    message: `Spend anomaly: ${what} spent $${usd(v.windowNano)} in the hour to ${v.windowEnd.toISOString()} (${v.windowRequests} calls), ${ratio === null ? "with no spend in the 7 days before" : `${ratio}× its usual $${usd(b.expected)} an hour`} (trailing 7-day mean $${usd(b.mean)} ± $${usd(b.stddev)}, same hour of day $${usd(b.sameHourMean)}). This alert is sent once until the spend is back to normal.`,
    episodeId,
    scope: { type: v.dimension, id: v.value },
    window: {
      from: v.windowStart.toISOString(),
      to: v.windowEnd.toISOString(),
      spendUsd: usd(v.windowNano),
      requests: v.windowRequests,
    },
    baseline: {
      method: "hourly spend over the 168 hours before the window; expected = max(mean, same-hour-of-day mean)",
      meanUsd: usd(b.mean),
      stddevUsd: usd(b.stddev),
      sameHourMeanUsd: usd(b.sameHourMean),
      expectedUsd: usd(b.expected),
      hoursOfHistory: b.hoursSeen,
    },
    ratio,
  };
}

export function runawayEvent(v: WorkflowVerdict, episodeId: string): AccountEvent {
  return {
    id: `anomaly:${episodeId}`,
    type: "workflow.runaway",
    createdAt: v.recent.to.toISOString(),
    accountId: v.accountId,
    subject: `workflow ${v.workflow} is running away: ${v.recent.calls} calls, $${usd(v.recent.costNano)} in 5 minutes`,
    message: `Runaway workflow ${v.workflow}: ${v.reasons.join("; ")}. Since its first call ${v.before.minutes} minutes earlier it had made ${v.before.calls} calls for $${usd(v.before.costNano)}. Cap it with a workflow budget (POST /admin/v1/accounts/${v.accountId}/budgets {"scope":{"type":"workflow","id":"*"},…}). This alert is sent once while the workflow keeps running.`,
    episodeId,
    workflow: v.workflow,
    window: {
      from: v.recent.from.toISOString(),
      to: v.recent.to.toISOString(),
      calls: v.recent.calls,
      costUsd: usd(v.recent.costNano),
    },
    before: { calls: v.before.calls, costUsd: usd(v.before.costNano), minutes: v.before.minutes },
    accountTypical: v.typical
      ? { workflows: v.typical.workflows, p95CostUsd: usd(v.typical.p95CostNano), p95Calls: v.typical.p95Calls }
      : null,
    reasons: v.reasons,
  };
}

export interface WatchDeps {
  db: ReportsDb;
  /** Where alerts go (the account's channels); absent: episodes are kept, nothing is sent. */
  alerts?: Omit<DeliverDeps, "db">;
  spend?: SpendThresholds;
  runaway?: RunawayThresholds;
}

export interface WatchResult {
  spend: SeriesVerdict[];
  workflows: WorkflowVerdict[];
  alerted: AccountEvent[];
}

export async function runAnomalyWatch(deps: WatchDeps, now: Date): Promise<WatchResult> {
  const [spend, workflows] = await Promise.all([
    spendVerdicts(deps.db, now, deps.spend ?? DEFAULT_SPEND_THRESHOLDS),
    workflowVerdicts(deps.db, now, deps.runaway ?? DEFAULT_RUNAWAY_THRESHOLDS),
  ]);
  const spendObs: Observation[] = spend
    .filter((v) => v.verdict !== "normal")
    .map((v) => ({
      accountId: v.accountId,
      dimension: v.dimension,
      value: v.value,
      state: v.verdict === "open" ? "open" : "hold",
      event: (id) => spendEvent(v, id),
    }));
  const workflowObs: Observation[] = workflows.map((v) => ({
    accountId: v.accountId,
    dimension: "workflow",
    value: v.workflow,
    state: v.reasons.length ? "open" : "hold",
    event: (id) => runawayEvent(v, id),
  }));
  const alerted = [
    ...(await settleEpisodes(deps.db, "spend", spendObs, now)),
    ...(await settleEpisodes(deps.db, "workflow", workflowObs, now)),
  ];
  if (deps.alerts && alerted.length) await deliverEvents(alerted, { ...deps.alerts, db: deps.db });
  return { spend, workflows, alerted };
}
