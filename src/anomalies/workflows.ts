/**
 * Runaway workflows: an agent loop caught within minutes. Every run looks at the workflows with
 * calls in the last RECENT_MS and compares that window with
 *   - the workflow's own earlier calls (up to a day back): its call rate jumped (≥ RATE_JUMP× with
 *     at least MIN_CALLS calls), or its cost per call did (≥ COST_PER_CALL_JUMP×, a context that
 *     keeps growing), and
 *   - the account's typical workflow (the 95th percentile of its other workflows' totals over 7 days):
 *     the window alone spent or called ≥ TYPICAL_MULTIPLE× what 95 % of them do in all.
 * An episode stays open while the workflow keeps being called; one that goes quiet for RECENT_MS
 * and then runs away again is a new episode.
 */
import { sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { nanoToUsd } from "../lib/money";
import { queryRows, type ReportsDb } from "../reports/db";

export const RECENT_MS = 5 * 60_000;
const OWN_HISTORY_MS = 24 * 3_600_000;
const TYPICAL_DAYS = 7;

export interface RunawayThresholds {
  rateJump: number;
  minCalls: number;
  costPerCallJump: number;
  minCostNano: bigint;
  typicalMultiple: number;
  /** An account needs this many past workflows before "typical" means anything. */
  minWorkflows: number;
}

export const DEFAULT_RUNAWAY_THRESHOLDS: RunawayThresholds = {
  rateJump: 5,
  minCalls: 20,
  costPerCallJump: 5,
  minCostNano: 500_000_000n,
  typicalMultiple: 5,
  minWorkflows: 10,
};

export interface WorkflowVerdict {
  accountId: string;
  workflow: string;
  recent: { from: Date; to: Date; calls: number; costNano: bigint };
  before: { calls: number; costNano: bigint; minutes: number };
  typical: { workflows: number; p95CostNano: bigint; p95Calls: number } | null;
  /** Why it is a runaway; empty: it is not (an open episode holds while the workflow is active). */
  reasons: string[];
}

interface Row {
  account_id: string;
  workflow: string;
  recent_calls: string;
  recent_cost: string;
  before_calls: string;
  before_cost: string;
  first_at: Date | string;
}

const r = requestRecords;
const usd = (nano: number | bigint) => `$${nanoToUsd(BigInt(Math.round(Number(nano))))}`;

export async function workflowVerdicts(db: ReportsDb, now: Date, t: RunawayThresholds): Promise<WorkflowVerdict[]> {
  const recentFrom = new Date(now.getTime() - RECENT_MS);
  const rows = await queryRows<Row>(
    db,
    sql`select ${r.accountId} as account_id, ${r.workflow} as workflow,
          count(*) filter (where ${r.startedAt} >= ${recentFrom}) as recent_calls,
          coalesce(sum(${r.costNano}) filter (where ${r.startedAt} >= ${recentFrom}), 0) as recent_cost,
          count(*) filter (where ${r.startedAt} < ${recentFrom}) as before_calls,
          coalesce(sum(${r.costNano}) filter (where ${r.startedAt} < ${recentFrom}), 0) as before_cost,
          min(${r.startedAt}) as first_at
        from ${r}
        where ${r.workflow} is not null
          and ${r.startedAt} >= ${new Date(now.getTime() - OWN_HISTORY_MS)} and ${r.startedAt} < ${now}
          and (${r.accountId}, ${r.workflow}) in (
            select ${r.accountId}, ${r.workflow} from ${r}
            where ${r.workflow} is not null and ${r.startedAt} >= ${recentFrom} and ${r.startedAt} < ${now}
              -- Found through the insertion-time index, bounded by Postgres's clock (see spend.ts).
              and ${r.createdAt} >= now() - interval '1 hour')
        group by 1, 2`,
  );
  if (rows.length === 0) return [];
  const accounts = [...new Set(rows.map((x) => x.account_id))];
  const typicalRows = await queryRows<{ account_id: string; workflows: string; p95_cost: string; p95_calls: string }>(
    db,
    sql`select account_id, count(*) as workflows,
          percentile_cont(0.95) within group (order by cost) as p95_cost,
          percentile_cont(0.95) within group (order by calls) as p95_calls
        from (select ${r.accountId} as account_id, ${r.workflow} as workflow, sum(${r.costNano}) as cost, count(*) as calls
              from ${r}
              where ${r.accountId} in (select jsonb_array_elements_text(${JSON.stringify(accounts)}::jsonb))
                and ${r.workflow} is not null
                and ${r.startedAt} >= ${new Date(now.getTime() - TYPICAL_DAYS * 86_400_000)} and ${r.startedAt} < ${recentFrom}
              group by 1, 2) w
        -- The workflows being judged are not part of what is typical.
        where (account_id, workflow) not in (
          select c.account_id, c.workflow from jsonb_to_recordset(${JSON.stringify(rows.map((x) => ({ account_id: x.account_id, workflow: x.workflow })))}::jsonb)
            as c(account_id text, workflow text))
        group by 1`,
  );
  const typical = new Map(typicalRows.map((x) => [x.account_id, x]));
  return rows.map((x) => {
    const recentCalls = Number(x.recent_calls);
    const recentCost = BigInt(x.recent_cost);
    const beforeCalls = Number(x.before_calls);
    const beforeCost = BigInt(x.before_cost);
    const firstAt = new Date(x.first_at).getTime();
    const minutes = Math.max(0, (recentFrom.getTime() - firstAt) / 60_000);
    const ty = typical.get(x.account_id);
    const typ =
      ty && Number(ty.workflows) >= t.minWorkflows
        ? {
            workflows: Number(ty.workflows),
            p95CostNano: BigInt(Math.round(Number(ty.p95_cost))),
            p95Calls: Number(ty.p95_calls),
          }
        : null;
    const reasons: string[] = [];
    const recentMinutes = RECENT_MS / 60_000;
    if (beforeCalls > 0 && minutes >= 10 && recentCalls >= t.minCalls) {
      const rateBefore = beforeCalls / minutes;
      const rateNow = recentCalls / recentMinutes;
      if (rateNow >= t.rateJump * rateBefore) {
        reasons.push(
          `call rate ${rateNow.toFixed(1)}/min in the last ${recentMinutes} minutes, ${(rateNow / rateBefore).toFixed(1)}× its ${rateBefore.toFixed(2)}/min before`,
        );
      }
    }
    if (beforeCalls >= 3 && recentCalls >= 3 && recentCost >= t.minCostNano && beforeCost > 0n) {
      const cpcBefore = Number(beforeCost) / beforeCalls;
      const cpcNow = Number(recentCost) / recentCalls;
      if (cpcNow >= t.costPerCallJump * cpcBefore) {
        reasons.push(
          `cost per call ${usd(cpcNow)}, ${(cpcNow / cpcBefore).toFixed(1)}× its ${usd(cpcBefore)} before (a context that keeps growing?)`,
        );
      }
    }
    if (typ) {
      const costLimit = BigInt(Math.max(Number(t.minCostNano) * 2, Number(typ.p95CostNano) * t.typicalMultiple));
      if (recentCost >= costLimit) {
        reasons.push(
          `${usd(recentCost)} in ${recentMinutes} minutes, ≥ ${t.typicalMultiple}× the ${usd(typ.p95CostNano)} that 95 % of this account's workflows cost in all`,
        );
      }
      const callLimit = Math.max(t.minCalls * 2, typ.p95Calls * t.typicalMultiple);
      if (recentCalls >= callLimit) {
        reasons.push(
          `${recentCalls} calls in ${recentMinutes} minutes, ≥ ${t.typicalMultiple}× the ${Math.round(typ.p95Calls)} calls that 95 % of this account's workflows make in all`,
        );
      }
    }
    return {
      accountId: x.account_id,
      workflow: x.workflow,
      recent: { from: recentFrom, to: now, calls: recentCalls, costNano: recentCost },
      before: { calls: beforeCalls, costNano: beforeCost, minutes: Math.round(minutes) },
      typical: typ,
      reasons,
    };
  });
}
