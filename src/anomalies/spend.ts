/**
 * Spend per hour per tenant, feature and key, against each series' own baseline (baseline.ts).
 * Two statements per run: the last hour's spend of every series (only those near the minimum go
 * on), then the 168 hourly sums before it for those series alone — so the cost of a run follows
 * the series that spend, not the size of the history. Times are the records' started_at (the
 * gateway's clock) against the cron job's `now` (the same clock). The last hour across all accounts
 * is found through the insertion-time index, bounded by Postgres's own clock (a record is inserted
 * within seconds of its end, or after a spill within the hour), so no clock is compared with the
 * other; the history is per account (the account/time index).
 */
import { sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { queryRows, type ReportsDb } from "../reports/db";
import { BASELINE_HOURS, type Baseline, baselineOf, type SpendThresholds, type Verdict, verdict } from "./baseline";

export const WINDOW_MS = 3_600_000;
export const SPEND_DIMENSIONS = ["tenant", "feature", "key"] as const;
export type SpendDimension = (typeof SPEND_DIMENSIONS)[number];

export interface SeriesVerdict {
  accountId: string;
  dimension: SpendDimension;
  value: string;
  windowStart: Date;
  windowEnd: Date;
  windowNano: bigint;
  windowRequests: number;
  baseline: Baseline;
  verdict: Verdict;
}

const r = requestRecords;
const DIMS = sql`(values ('tenant', ${r.tenant}), ('feature', ${r.feature}), ('key', ${r.keyId})) as d(dim, value)`;

export async function spendVerdicts(db: ReportsDb, now: Date, t: SpendThresholds): Promise<SeriesVerdict[]> {
  const windowStart = new Date(now.getTime() - WINDOW_MS);
  const current = await queryRows<{ account_id: string; dim: SpendDimension; value: string; cost: string; n: string }>(
    db,
    sql`select ${r.accountId} as account_id, d.dim, d.value, sum(${r.costNano}) as cost, count(*) as n
        from ${r} cross join lateral ${DIMS}
        where ${r.startedAt} >= ${windowStart} and ${r.startedAt} < ${now} and d.value is not null
          and ${r.createdAt} >= now() - interval '3 hours'
        group by 1, 2, 3
        having sum(${r.costNano}) >= ${(t.minNano / 2n).toString()}`,
  );
  if (current.length === 0) return [];
  const candidates = JSON.stringify(current.map((c) => ({ account_id: c.account_id, dim: c.dim, value: c.value })));
  const from = new Date(windowStart.getTime() - BASELINE_HOURS * 3_600_000);
  const history = await queryRows<{ account_id: string; dim: string; value: string; k: number; cost: string }>(
    db,
    sql`select ${r.accountId} as account_id, d.dim, d.value,
          floor(extract(epoch from (${windowStart}::timestamptz - ${r.startedAt})) / 3600)::int as k,
          sum(${r.costNano}) as cost
        from ${r} cross join lateral ${DIMS}
        join jsonb_to_recordset(${candidates}::jsonb) as c(account_id text, dim text, value text)
          on c.account_id = ${r.accountId} and c.dim = d.dim and c.value = d.value
        where ${r.accountId} in (select distinct c2.account_id from jsonb_to_recordset(${candidates}::jsonb) as c2(account_id text))
          and ${r.startedAt} >= ${from} and ${r.startedAt} < ${windowStart}
        group by 1, 2, 3, 4`,
  );
  const hourly = new Map<string, number[]>();
  for (const h of history) {
    const key = `${h.account_id}|${h.dim}|${h.value}`;
    const series = hourly.get(key) ?? new Array<number>(BASELINE_HOURS).fill(0);
    if (h.k >= 0 && h.k < BASELINE_HOURS) series[h.k] = Number(h.cost);
    hourly.set(key, series);
  }
  return current.map((c) => {
    const baseline = baselineOf(hourly.get(`${c.account_id}|${c.dim}|${c.value}`) ?? []);
    const windowNano = BigInt(c.cost);
    return {
      accountId: c.account_id,
      dimension: c.dim,
      value: c.value,
      windowStart,
      windowEnd: now,
      windowNano,
      windowRequests: Number(c.n),
      baseline,
      verdict: verdict(Number(windowNano), baseline, t),
    };
  });
}
