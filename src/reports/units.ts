/**
 * Unit economics over a time range (raw records + retention rollups, so old months stay exact):
 * cost per request, per active user per month, per workflow and per successful outcome; the share
 * of input tokens served from cache and what caching saved. And the per-workflow report.
 */
import { and, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { outcomes, usageRollups } from "../../schema/reports";
import { nanoToUsd } from "../lib/money";
import { divRound, queryRows, type ReportsDb } from "./db";
import { type DimensionFilter, filterSql } from "./dimensions";
import { cacheSavingsSql, cacheSavingsUnknownSql } from "./metrics";

const rr = requestRecords;
const ru = usageRollups;

export interface RangeQuery {
  accountId: string;
  from: Date;
  to: Date;
  filters: DimensionFilter[];
  /** IANA zone of the calendar months; absent: UTC. */
  tz?: string;
}

const perUnit = (costNano: bigint, units: bigint) => (units > 0n ? nanoToUsd(divRound(costNano, units)) : null);

/** The share of input tokens read from cache, to 6 decimals; null without input. */
export function cachedInputShare(cached: bigint, inputAll: bigint): number | null {
  return inputAll > 0n ? Math.round((Number(cached) / Number(inputAll)) * 1e6) / 1e6 : null;
}

/** What caching saved, as USD; null (unknown) when every cache-reading call lacked its rates. */
export function cacheSavingsUsd(savingsNano: bigint, unknownCalls: bigint): string | null {
  return unknownCalls > 0n && savingsNano === 0n ? null : nanoToUsd(savingsNano);
}

function rawWhere(q: RangeQuery, extra: SQL[] = []): SQL {
  return and(
    eq(rr.accountId, q.accountId),
    gte(rr.startedAt, q.from),
    lt(rr.startedAt, q.to),
    ...extra,
    ...q.filters.map((f) => filterSql("raw", f)),
  )!;
}

function rollupWhere(q: RangeQuery, extra: SQL[] = []): SQL {
  return and(
    eq(ru.accountId, q.accountId),
    gte(ru.day, q.from),
    lt(ru.day, q.to),
    ...extra,
    ...q.filters.map((f) => filterSql("rollups", f)),
  )!;
}

export interface UnitsJson {
  from: string;
  to: string;
  requests: number;
  errors: number;
  costUsd: string;
  costPerRequestUsd: string | null;
  activeUsers: number;
  /** Calendar months (UTC, or the query's zone) of the range: cost of all calls ÷ users with at least one call that month. */
  months: {
    month: string;
    activeUsers: number;
    requests: number;
    costUsd: string;
    costPerActiveUserUsd: string | null;
  }[];
  workflows: number;
  workflowCostUsd: string;
  costPerWorkflowUsd: string | null;
  successes: number;
  failures: number;
  costPerSuccessUsd: string | null;
  inputTokensTotal: number;
  cachedInputTokens: number;
  cachedInputShare: number | null;
  cacheSavingsUsd: string | null;
  /** Requests with cache reads whose applied rates were not recorded: their savings are not in cacheSavingsUsd. */
  cacheSavingsUnknownRequests: number;
}

export async function queryUnits(db: ReportsDb, q: RangeQuery): Promise<UnitsJson> {
  const month = (t: SQL) => sql`date_trunc('month', ${t}, ${q.tz ?? "UTC"}::text)`;
  const inputAll = (t: typeof rr | typeof ru) =>
    sql`(${t.inputTokens} + ${t.cacheReadTokens} + ${t.cacheWriteTokens} + ${t.cacheWrite1hTokens} + ${t.inputAudioTokens} + ${t.cacheAudioReadTokens})`;
  const cached = (t: typeof rr | typeof ru) => sql`(${t.cacheReadTokens} + ${t.cacheAudioReadTokens})`;
  const raw = sql`select ${month(sql`${rr.startedAt}`)} as m, ${rr.userId} as u, ${rr.workflow} as w,
      count(*)::bigint as requests, (count(*) filter (where ${rr.status} >= 400))::bigint as errors,
      sum(${rr.costNano})::bigint as cost, sum(${inputAll(rr)})::bigint as input_all, sum(${cached(rr)})::bigint as cached,
      coalesce(round(sum(${cacheSavingsSql()})), 0)::bigint as savings,
      (count(*) filter (where ${cacheSavingsUnknownSql()}))::bigint as unknown
    from ${rr} where ${rawWhere(q)} group by 1, 2, 3`;
  const rolled = sql`select ${month(sql`${ru.day}`)} as m, ${ru.userId} as u, ${ru.workflow} as w,
      sum(${ru.requests})::bigint, sum(${ru.errors})::bigint, sum(${ru.costNano})::bigint,
      sum(${inputAll(ru)})::bigint, sum(${cached(ru)})::bigint, sum(${ru.cacheSavingsNano})::bigint,
      sum(${ru.cacheSavingsUnknown})::bigint
    from ${ru} where ${rollupWhere(q)} group by 1, 2, 3`;
  const rows = await queryRows<Record<string, string | Date | null>>(
    db,
    sql`select m, count(distinct u)::text as users, count(distinct w)::text as workflows,
        sum(requests)::text as requests, sum(errors)::text as errors, sum(cost)::text as cost,
        coalesce(sum(cost) filter (where w is not null), 0)::text as workflow_cost,
        sum(input_all)::text as input_all, sum(cached)::text as cached, sum(savings)::text as savings,
        sum(unknown)::text as unknown, grouping(m) as is_total
      from (${raw} union all ${rolled}) s group by grouping sets ((m), ()) order by m nulls last`,
  );
  const [outcome] = await queryRows<{ successes: string; failures: string }>(
    db,
    sql`select (count(*) filter (where ${outcomes.success}))::text as successes,
        (count(*) filter (where not ${outcomes.success}))::text as failures
      from ${outcomes} where ${and(
        eq(outcomes.accountId, q.accountId),
        gte(outcomes.startedAt, q.from),
        lt(outcomes.startedAt, q.to),
        ...q.filters.map((f) => filterSql("outcomes", f)),
      )}`,
  );
  const n = (v: unknown) => BigInt((v as string | null) ?? "0");
  const total = rows.find((r) => Number(r.is_total) === 1) ?? {};
  const cost = n(total.cost);
  const requests = n(total.requests);
  const successes = n(outcome?.successes);
  const inputAllTokens = n(total.input_all);
  const cachedTokens = n(total.cached);
  const savings = n(total.savings);
  const unknown = n(total.unknown);
  return {
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    requests: Number(requests),
    errors: Number(n(total.errors)),
    costUsd: nanoToUsd(cost),
    costPerRequestUsd: perUnit(cost, requests),
    activeUsers: Number(n(total.users)),
    months: rows
      .filter((r) => Number(r.is_total) !== 1)
      .map((r) => ({
        month: new Date(r.m as string | Date).toISOString(),
        activeUsers: Number(n(r.users)),
        requests: Number(n(r.requests)),
        costUsd: nanoToUsd(n(r.cost)),
        costPerActiveUserUsd: perUnit(n(r.cost), n(r.users)),
      })),
    workflows: Number(n(total.workflows)),
    workflowCostUsd: nanoToUsd(n(total.workflow_cost)),
    costPerWorkflowUsd: perUnit(n(total.workflow_cost), n(total.workflows)),
    successes: Number(successes),
    failures: Number(n(outcome?.failures)),
    costPerSuccessUsd: perUnit(cost, successes),
    inputTokensTotal: Number(inputAllTokens),
    cachedInputTokens: Number(cachedTokens),
    cachedInputShare: cachedInputShare(cachedTokens, inputAllTokens),
    // Unknown when every cache-reading request lacked rates; partial sums are flagged by the count.
    cacheSavingsUsd: cacheSavingsUsd(savings, unknown),
    cacheSavingsUnknownRequests: Number(unknown),
  };
}

export interface WorkflowJson {
  workflow: string;
  calls: number;
  errors: number;
  costUsd: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** null: no outcome posted for this workflow. */
  success: boolean | null;
  value: number | null;
}

/** Workflows whose calls started in the range, latest first: calls, cost, duration (first start → last finish), outcome. */
export async function queryWorkflows(db: ReportsDb, q: RangeQuery & { limit: number }): Promise<WorkflowJson[]> {
  const raw = sql`select ${rr.workflow} as w, count(*)::bigint as calls, (count(*) filter (where ${rr.status} >= 400))::bigint as errors,
      sum(${rr.costNano})::bigint as cost, min(${rr.startedAt}) as first, max(${rr.finishedAt}) as last
    from ${rr} where ${rawWhere(q, [sql`${rr.workflow} is not null`])} group by 1`;
  const rolled = sql`select ${ru.workflow}, sum(${ru.requests})::bigint, sum(${ru.errors})::bigint, sum(${ru.costNano})::bigint,
      min(${ru.firstStartedAt}), max(${ru.lastFinishedAt})
    from ${ru} where ${rollupWhere(q, [sql`${ru.workflow} is not null`])} group by 1`;
  const rows = await queryRows<Record<string, string | Date | boolean | number | null>>(
    db,
    sql`select s.w, s.calls::text as calls, s.errors::text as errors, s.cost::text as cost, s.first, s.last,
        o.success, o.value
      from (select w, sum(calls) as calls, sum(errors) as errors, sum(cost) as cost, min(first) as first, max(last) as last
            from (${raw} union all ${rolled}) u group by w) s
      left join ${outcomes} o on o.account_id = ${q.accountId} and o.kind = 'workflow' and o.subject_id = s.w
      order by s.first desc, s.w limit ${q.limit}`,
  );
  return rows.map((r) => {
    const first = new Date(r.first as string | Date);
    const last = new Date(r.last as string | Date);
    return {
      workflow: r.w as string,
      calls: Number(r.calls),
      errors: Number(r.errors),
      costUsd: nanoToUsd(BigInt(r.cost as string)),
      startedAt: first.toISOString(),
      finishedAt: last.toISOString(),
      durationMs: Math.max(0, last.getTime() - first.getTime()),
      success: (r.success as boolean | null) ?? null,
      value: r.value === null || r.value === undefined ? null : Number(r.value),
    };
  });
}
