/**
 * The usage query: sums of request records grouped by attribution dimensions and a UTC period,
 * one SQL statement, every sum in bigint. Which tables it reads (see src/reports/README.md):
 *
 * - fast path — every grouping and filter dimension is one usage_day_totals keeps, the interval is
 *   day/week/month/none: usage_day_totals for the whole days inside [from, to) (everything below the
 *   refresh watermark), plus raw records for the partial days at the edges and for the whole days'
 *   records created since the watermark;
 * - full path — otherwise: raw records in [from, to) plus usage_rollups (records retention moved out
 *   of request_records) whose day starts in [from, to). A rolled-up day cannot be split: with
 *   interval=hour its records sit in the day's 00:00 bucket.
 *
 * Periods are UTC unless the query names a time zone (`tz`, IANA): then hours, days, weeks and
 * months are the viewer's, truncated by Postgres in that zone. usage_day_totals keeps UTC days, so
 * day/week/month buckets in another zone read raw records (the full path): a UTC day cannot be
 * split between two local days, and the sums must stay exact. Totals (interval none) in any zone
 * keep the fast path: their range edges are partial days, read raw as always.
 *
 * Both add outcomes (by the subject's start time) for successes, failures and cost per success.
 * Each record is in exactly one of the tables a path reads, whatever the refresh and retention
 * jobs are doing at the time, so sums never double-count and never drop.
 */
import { and, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { outcomes, reportState, usageDayTotals, usageRollups } from "../../schema/reports";
import { nanoToUsd } from "../lib/money";
import { divRound, queryRows, type ReportsDb } from "./db";
import {
  DAY_TOTALS_DIMENSIONS,
  type Dimension,
  type DimensionFilter,
  dimensionSql,
  filterSql,
  type NamedDimension,
  type Source,
  UNALLOCATED,
} from "./dimensions";
import {
  aggregateMetricsSql,
  BUCKETS,
  type Bucket,
  outcomeMetricsSql,
  outerMetricsSql,
  rawMetricsSql,
  SUM_ALIASES,
  type SumAlias,
} from "./metrics";

export const INTERVALS = ["hour", "day", "week", "month", "none"] as const;
export type Interval = (typeof INTERVALS)[number];

export const DAY_TOTALS_WATERMARK = "usage_day_totals";

export interface UsageQuery {
  accountId: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  groupBy: Dimension[];
  interval: Interval;
  filters: DimensionFilter[];
  /** IANA zone of the periods (date_trunc in that zone); absent: UTC. Checked by the caller (src/lib/zone.ts). */
  tz?: string;
  /** Top lists: the groups with the highest cost first, at most `limit`. */
  top?: { limit: number };
  /** Top lists: the totals of the same query without grouping, if known (else a second query reads them). */
  totals?: UsageSums;
  /** Tests and the benchmark: force a path. */
  path?: "fast" | "full";
  /** Also sum what caching saved (cacheSavingsNano, cacheSavingsUnknown); otherwise they are 0. */
  cacheSavings?: boolean;
}

export type UsageSums = Record<SumAlias, bigint> & { outcomeValue: number | null };

export interface UsageGroup {
  /** Dimension name → value (UNALLOCATED when the records had none). */
  dims: Record<string, string>;
  periodStart: Date | null;
  sums: UsageSums;
}

export interface UsageResult {
  groups: UsageGroup[];
  totals: UsageSums;
  path: "fast" | "full";
  /** Top lists: how many groups there are in all (the ones past the limit are "others"). */
  groupCount?: number;
}

const DAY_MS = 86_400_000;
const floorDay = (d: Date) => new Date(Math.floor(d.getTime() / DAY_MS) * DAY_MS);
const ceilDay = (d: Date) => new Date(Math.ceil(d.getTime() / DAY_MS) * DAY_MS);
const q = (name: string) => sql.raw(`"${name}"`);

const isUtc = (tz: string | undefined) => tz === undefined || tz === "UTC";

export function canUseDayTotals(query: Pick<UsageQuery, "groupBy" | "filters" | "interval" | "tz">): boolean {
  return (
    query.interval !== "hour" &&
    (query.interval === "none" || isUtc(query.tz)) &&
    query.groupBy.every((d) => DAY_TOTALS_DIMENSIONS.includes(d)) &&
    query.filters.every((f) => DAY_TOTALS_DIMENSIONS.includes(f.dim))
  );
}

function periodSql(interval: Interval, time: SQL, tz = "UTC"): SQL {
  if (interval === "none") return sql`null::timestamptz`;
  return sql`date_trunc(${sql.raw(`'${interval}'`)}, ${time}, ${tz}::text)`;
}

interface Branch {
  source: Source;
  from: SQL;
  time: SQL;
  where: SQL[];
  metrics: SQL;
}

function branchSql(b: Branch, query: UsageQuery): SQL {
  const dims = query.groupBy.map((d, i) => sql`${dimensionSql(b.source, d)!} as ${q(`g${i}`)}`);
  const where = [...b.where, ...query.filters.map((f) => filterSql(b.source, f))];
  const groupOrdinals = sql.raw(Array.from({ length: query.groupBy.length + 1 }, (_, i) => String(i + 1)).join(", "));
  return sql`select ${sql.join([...dims, sql`${periodSql(query.interval, b.time, query.tz)} as "period"`], sql`, `)}, ${b.metrics}
    from ${b.from} where ${and(...where)} group by ${groupOrdinals}`;
}

function rawBranch(query: UsageQuery, from: Date, to: Date, extra: SQL[] = []): Branch {
  const rr = requestRecords;
  return {
    source: "raw",
    from: sql`${rr}`,
    time: sql`${rr.startedAt}`,
    where: [eq(rr.accountId, query.accountId), gte(rr.startedAt, from), lt(rr.startedAt, to), ...extra],
    metrics: rawMetricsSql(query.cacheSavings),
  };
}

function outcomeBranch(query: UsageQuery): Branch {
  return {
    source: "outcomes",
    from: sql`${outcomes}`,
    time: sql`${outcomes.startedAt}`,
    where: [
      eq(outcomes.accountId, query.accountId),
      gte(outcomes.startedAt, query.from),
      lt(outcomes.startedAt, query.to),
    ],
    metrics: outcomeMetricsSql(sql`${outcomes.success}`, sql`${outcomes.value}`),
  };
}

/** The refresh watermark: usage_day_totals holds every record created before it. */
export async function dayTotalsWatermark(db: ReportsDb): Promise<Date | null> {
  const [row] = await db
    .select({ watermark: reportState.watermark })
    .from(reportState)
    .where(eq(reportState.name, DAY_TOTALS_WATERMARK));
  return row?.watermark ?? null;
}

async function branches(db: ReportsDb, query: UsageQuery): Promise<{ list: Branch[]; path: "fast" | "full" }> {
  const rr = requestRecords;
  const dFrom = ceilDay(query.from);
  const dTo = floorDay(query.to);
  const fast = query.path === "fast" || (query.path !== "full" && canUseDayTotals(query) && dFrom < dTo);
  if (fast) {
    if (!canUseDayTotals(query)) throw new Error("this query cannot read usage_day_totals");
    const watermark = await dayTotalsWatermark(db);
    const list: Branch[] = [];
    if (dFrom < dTo && watermark) {
      list.push({
        source: "dayTotals",
        from: sql`${usageDayTotals}`,
        time: sql`${usageDayTotals.day}`,
        where: [
          eq(usageDayTotals.accountId, query.accountId),
          gte(usageDayTotals.day, dFrom),
          lt(usageDayTotals.day, dTo),
        ],
        metrics: aggregateMetricsSql(usageDayTotals, query.cacheSavings),
      });
      if (query.from < dFrom) list.push(rawBranch(query, query.from, dFrom));
      if (dTo < query.to) list.push(rawBranch(query, dTo, query.to));
      list.push(rawBranch(query, dFrom, dTo, [gte(rr.createdAt, watermark)]));
    } else {
      list.push(rawBranch(query, query.from, query.to));
    }
    list.push(outcomeBranch(query));
    return { list, path: "fast" };
  }
  const list: Branch[] = [
    rawBranch(query, query.from, query.to),
    {
      source: "rollups",
      from: sql`${usageRollups}`,
      time: sql`${usageRollups.day}`,
      where: [
        eq(usageRollups.accountId, query.accountId),
        gte(usageRollups.day, query.from),
        lt(usageRollups.day, query.to),
      ],
      metrics: aggregateMetricsSql(usageRollups, query.cacheSavings),
    },
    outcomeBranch(query),
  ];
  return { list, path: "full" };
}

type Row = Record<string, string | number | Date | null>;

function sumsOf(row: Row): UsageSums {
  const sums = {} as UsageSums;
  for (const n of SUM_ALIASES) sums[n] = BigInt((row[n] as string | null) ?? "0");
  sums.outcomeValue = row.outcomeValue === null || row.outcomeValue === undefined ? null : Number(row.outcomeValue);
  return sums;
}

export function emptySums(): UsageSums {
  const sums = {} as UsageSums;
  for (const n of SUM_ALIASES) sums[n] = 0n;
  sums.outcomeValue = null;
  return sums;
}

export function addSums(into: UsageSums, add: UsageSums): UsageSums {
  for (const n of SUM_ALIASES) into[n] += add[n];
  if (add.outcomeValue !== null) into.outcomeValue = (into.outcomeValue ?? 0) + add.outcomeValue;
  return into;
}

export async function queryUsage(db: ReportsDb, query: UsageQuery): Promise<UsageResult> {
  const { list, path } = await branches(db, query);
  const union = sql.join(
    list.map((b) => branchSql(b, query)),
    sql` union all `,
  );
  const groupCols = query.groupBy.map((_, i) => q(`g${i}`));
  const byGroup = sql.join([...groupCols, sql`"period"`], sql`, `);
  const order = query.top
    ? sql`order by sum("costNano") desc, ${sql.join([...groupCols, sql`"period"`], sql`, `)} limit ${query.top.limit}`
    : sql`order by "period" nulls first${groupCols.length ? sql`, ${sql.join(groupCols, sql`, `)}` : sql``}`;
  // A window over the grouped rows counts them before the limit cuts: the size of "N others".
  const groupCount = query.top ? sql`, count(*) over () as "groupCount"` : sql``;
  const rows = await queryRows<Row>(
    db,
    sql`select ${byGroup}, ${outerMetricsSql()}${groupCount} from (${union}) u group by ${byGroup} ${order}`,
  );
  const groups = rows.map((row) => {
    const dims: Record<string, string> = {};
    query.groupBy.forEach((d, i) => {
      dims[d] = (row[`g${i}`] as string | null) ?? UNALLOCATED;
    });
    const period = row.period;
    return {
      dims,
      periodStart: period === null || period === undefined ? null : new Date(period as string | Date),
      sums: sumsOf(row),
    };
  });
  let totals = emptySums();
  if (query.top) {
    // The top N are not all the groups: totals come from the same query without grouping.
    totals = query.totals ?? (await queryUsage(db, { ...query, groupBy: [], interval: "none", top: undefined })).totals;
    return { groups, totals, path, groupCount: Number(rows[0]?.groupCount ?? 0) };
  }
  for (const g of groups) addSums(totals, g.sums);
  return { groups, totals, path };
}

/** The JSON of one row or of the totals: counts as numbers, money as decimal USD strings. */
export interface UsageRowJson {
  [dimOrPeriod: string]: unknown;
  requests: number;
  errors: number;
  unpricedRequests: number;
  costUsd: string;
  successes: number;
  failures: number;
  costPerSuccessUsd: string | null;
  outcomeValue: number | null;
}

export function sumsToJson(s: UsageSums): UsageRowJson {
  const buckets = Object.fromEntries(BUCKETS.map((b) => [b, Number(s[b])])) as Record<Bucket, number>;
  return {
    requests: Number(s.requests),
    errors: Number(s.errors),
    ...buckets,
    costUsd: nanoToUsd(s.costNano),
    unpricedRequests: Number(s.unpricedRequests),
    successes: Number(s.successes),
    failures: Number(s.failures),
    costPerSuccessUsd: s.successes > 0n ? nanoToUsd(divRound(s.costNano, s.successes)) : null,
    outcomeValue: s.outcomeValue,
  };
}

export function groupToJson(g: UsageGroup, interval: Interval): UsageRowJson {
  return {
    ...g.dims,
    ...(interval === "none" ? {} : { periodStart: g.periodStart?.toISOString() ?? null }),
    ...sumsToJson(g.sums),
  };
}

export interface TopQuery extends Omit<UsageQuery, "groupBy" | "interval" | "top" | "path"> {
  by: NamedDimension;
  limit: number;
  /** The range's totals for these filters, when the caller has them already (saves a query). */
  totals?: UsageSums;
}

export interface TopJson {
  by: NamedDimension;
  from: string;
  to: string;
  /** Highest cost first; `share` of the total cost, null when the total is 0. */
  rows: (UsageRowJson & { value: string; share: number | null })[];
  /** Every group past the limit, summed: `count` of them (0: the rows are all there is). */
  others: UsageRowJson & { count: number };
  totals: UsageRowJson;
}

/** totals − Σ parts, sum by sum (the outcome value too, when there is one). */
export function subtractSums(totals: UsageSums, parts: UsageSums[]): UsageSums {
  const rest = addSums(emptySums(), totals);
  for (const p of parts) {
    for (const n of SUM_ALIASES) rest[n] -= p[n];
    if (p.outcomeValue !== null && rest.outcomeValue !== null) rest.outcomeValue -= p.outcomeValue;
  }
  return rest;
}

/** The top values of one dimension by cost (the usage query with one group and a limit). */
export async function queryTop(db: ReportsDb, query: TopQuery): Promise<TopJson> {
  const { by, limit, totals, ...range } = query;
  const result = await queryUsage(db, { ...range, groupBy: [by], interval: "none", top: { limit }, totals });
  const total = result.totals.costNano;
  return {
    by,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    rows: result.groups.map((g) => ({
      value: g.dims[by] ?? UNALLOCATED,
      share: total > 0n ? Number((g.sums.costNano * 1_000_000n) / total) / 1_000_000 : null,
      ...sumsToJson(g.sums),
    })),
    others: {
      count: Math.max(0, (result.groupCount ?? 0) - result.groups.length),
      ...sumsToJson(
        subtractSums(
          result.totals,
          result.groups.map((g) => g.sums),
        ),
      ),
    },
    totals: sumsToJson(result.totals),
  };
}

/** The column order of the CSV (and of the JSON rows): dimensions, periodStart, then these. */
export const METRIC_COLUMNS = [
  "requests",
  "errors",
  ...BUCKETS,
  "costUsd",
  "unpricedRequests",
  "successes",
  "failures",
  "costPerSuccessUsd",
  "outcomeValue",
] as const;
