/**
 * The sums every usage row carries, and how each source computes them. Raw records are counted and
 * summed; the daily aggregates (usage_day_totals, usage_rollups) are re-summed; outcomes only add
 * successes, failures and value. Every sum is bigint in SQL and crosses into JS as a decimal string.
 */
import { type SQL, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import type { usageDayTotals, usageRollups } from "../../schema/reports";
import { USAGE_COUNTS, type UsageCount } from "../usage";

/** Token and unit buckets, in the order of the API and the CSV. Same property names in every table. */
export const BUCKETS = USAGE_COUNTS;
export type Bucket = UsageCount;

/**
 * Column aliases of a source branch, in this order: requests, errors, unpriced, buckets…, cost,
 * successes, failures, what caching saved and on how many calls that is unknown, value. The two
 * cache sums are computed only when a query asks for them (raw records pay a JSON read each).
 */
export const SUM_ALIASES = [
  "requests",
  "errors",
  "unpricedRequests",
  ...BUCKETS,
  "costNano",
  "successes",
  "failures",
  "cacheSavingsNano",
  "cacheSavingsUnknown",
] as const;
export type SumAlias = (typeof SUM_ALIASES)[number];

const rr = requestRecords;
const alias = (name: string) => sql.raw(`"${name}"`);

/** Calls with cache reads whose applied rates do not say the input rate: what they saved is unknown. */
export const cacheSavingsUnknownSql = () => sql`(${rr.cacheReadTokens} > 0 and ${appliedRateSql("input")} is null)`;

/** The metric columns of a raw-records branch (which GROUPs BY its dimensions). */
export function rawMetricsSql(cacheSavings = false): SQL {
  const parts: SQL[] = [
    sql`count(*)::bigint as ${alias("requests")}`,
    sql`(count(*) filter (where ${rr.status} >= 400))::bigint as ${alias("errors")}`,
    sql`(count(*) filter (where not ${rr.priced}))::bigint as ${alias("unpricedRequests")}`,
    ...BUCKETS.map((b) => sql`sum(${rr[b]})::bigint as ${alias(b)}`),
    sql`sum(${rr.costNano})::bigint as ${alias("costNano")}`,
    sql`0::bigint as ${alias("successes")}`,
    sql`0::bigint as ${alias("failures")}`,
    cacheSavings
      ? sql`coalesce(sum(${cacheSavingsSql()}), 0)::bigint as ${alias("cacheSavingsNano")}`
      : sql`0::bigint as ${alias("cacheSavingsNano")}`,
    cacheSavings
      ? sql`(count(*) filter (where ${cacheSavingsUnknownSql()}))::bigint as ${alias("cacheSavingsUnknown")}`
      : sql`0::bigint as ${alias("cacheSavingsUnknown")}`,
    sql`null::float8 as ${alias("outcomeValue")}`,
  ];
  return sql.join(parts, sql`, `);
}

/** The metric columns of a branch over usage_day_totals or usage_rollups. */
export function aggregateMetricsSql(t: typeof usageDayTotals | typeof usageRollups, cacheSavings = false): SQL {
  const parts: SQL[] = [
    sql`sum(${t.requests})::bigint as ${alias("requests")}`,
    sql`sum(${t.errors})::bigint as ${alias("errors")}`,
    sql`sum(${t.unpricedRequests})::bigint as ${alias("unpricedRequests")}`,
    ...BUCKETS.map((b) => sql`sum(${t[b]})::bigint as ${alias(b)}`),
    sql`sum(${t.costNano})::bigint as ${alias("costNano")}`,
    sql`0::bigint as ${alias("successes")}`,
    sql`0::bigint as ${alias("failures")}`,
    cacheSavings
      ? sql`sum(${t.cacheSavingsNano})::bigint as ${alias("cacheSavingsNano")}`
      : sql`0::bigint as ${alias("cacheSavingsNano")}`,
    cacheSavings
      ? sql`sum(${t.cacheSavingsUnknown})::bigint as ${alias("cacheSavingsUnknown")}`
      : sql`0::bigint as ${alias("cacheSavingsUnknown")}`,
    sql`null::float8 as ${alias("outcomeValue")}`,
  ];
  return sql.join(parts, sql`, `);
}

/** The metric columns of a branch over outcomes: usage zero, outcomes counted. */
export function outcomeMetricsSql(success: SQL, value: SQL): SQL {
  const zeros = ["requests", "errors", "unpricedRequests", ...BUCKETS, "costNano"].map(
    (n) => sql`0::bigint as ${alias(n)}`,
  );
  return sql.join(
    [
      ...zeros,
      sql`(count(*) filter (where ${success}))::bigint as ${alias("successes")}`,
      sql`(count(*) filter (where not ${success}))::bigint as ${alias("failures")}`,
      sql`0::bigint as ${alias("cacheSavingsNano")}`,
      sql`0::bigint as ${alias("cacheSavingsUnknown")}`,
      sql`sum(${value})::float8 as ${alias("outcomeValue")}`,
    ],
    sql`, `,
  );
}

/** The outer re-aggregation over the union of branches: every sum as text (bigint-safe). */
export function outerMetricsSql(): SQL {
  return sql.join(
    [
      ...SUM_ALIASES.map((n) => sql`sum(${alias(n)})::text as ${alias(n)}`),
      sql`sum(${alias("outcomeValue")})::float8 as ${alias("outcomeValue")}`,
    ],
    sql`, `,
  );
}

/**
 * Tolerant reader of one applied rate in request_records.rates_applied (nano-USD per million
 * tokens): a JSON number or a decimal string under `key`, at the top level or under `rates`;
 * anything else (absent, tiered object, junk) reads as NULL.
 */
export function appliedRateSql(key: string): SQL {
  const one = (obj: SQL) => sql`(case jsonb_typeof(${obj} -> ${key})
    when 'number' then (${obj} ->> ${key})::numeric
    when 'string' then case when (${obj} ->> ${key}) ~ '^[0-9]+(\\.[0-9]+)?$' then (${obj} ->> ${key})::numeric end
  end)`;
  return sql`coalesce(${one(sql`${rr.ratesApplied}`)}, ${one(sql`(${rr.ratesApplied} -> 'rates')`)})`;
}

/**
 * What caching saved on one record, in whole nano-USD: cache-read tokens × (input rate −
 * cache-read rate) / 1e6, rounded per record. 0 without cache reads; a missing cache-read rate
 * means cache reads were billed as input (saves 0); NULL when the input rate is unknown.
 * Rounding each record (not each group) makes every sum of savings exact and additive: the daily
 * aggregates, the rollups and a raw scan give the same total for the same records, whatever they
 * are grouped by — so the usage query's fast path and the units report agree to the nano-USD.
 * Plus, on a route's response-cache hit, the whole upstream cost of the answer it replayed
 * (saved_nano, already whole nano-USD).
 */
export function cacheSavingsSql(): SQL {
  const input = appliedRateSql("input");
  const cacheRead = appliedRateSql("cacheRead");
  return sql`((case when ${rr.cacheReadTokens} = 0 then 0::numeric
    else round(${rr.cacheReadTokens}::numeric * (${input} - coalesce(${cacheRead}, ${input})) / 1000000) end)
    + coalesce(${rr.savedNano}, 0)::numeric)`;
}
