/**
 * The scheduled jobs of the reports: the incremental refresh of usage_day_totals and retention.
 * `runRetention(db, now)` is what the Worker's `scheduled` handler calls; it refreshes first.
 *
 * Refresh: usage_day_totals holds every record created before a watermark (report_state). A run adds
 * the records created in [watermark, Postgres's now − lag) in chunks, each chunk one INSERT … SELECT … ON
 * CONFLICT DO UPDATE and the watermark move, in one transaction that holds the watermark row lock
 * (concurrent runs queue). The lag covers inserts whose transaction started before the bound but had
 * not committed yet (created_at is the insert's transaction start).
 *
 * Retention: per account, records that started before (today 00:00 UTC − retention_days) and are
 * already below the watermark are MOVED to usage_rollups: one statement deletes a batch and adds its
 * sums to the rollups (`WITH moved AS (DELETE … RETURNING *) INSERT … SELECT … FROM moved`), so the
 * rollup is built before the rows are gone and a record is always in exactly one of the two tables —
 * a run stopped half-way, or a late record for a day already rolled up, stays exact.
 */
import { type AnyColumn, asc, eq, type SQL, sql } from "drizzle-orm";
import { accounts, requestRecords } from "../../schema";
import { reportState, usageDayTotals, usageRollups } from "../../schema/reports";
import { billingAccounts, retentionFloor } from "../billing/maintenance";
import { nowDate, nowMs } from "../lib/clock";
import { queryRows, type ReportsDb } from "./db";
import { BUCKETS, cacheSavingsSql, cacheSavingsUnknownSql } from "./metrics";
import { DAY_TOTALS_WATERMARK } from "./usage";

export const RETENTION_DAYS = [30, 90, 365] as const;
export type RetentionDays = (typeof RETENTION_DAYS)[number];

const DAY_MS = 86_400_000;
const rr = requestRecords;
const id = (c: AnyColumn) => sql.identifier(c.name);

type AggregateTable = typeof usageDayTotals | typeof usageRollups;

/** Dimension columns of each aggregate and the request_records expression that fills them. */
function dimensionsOf(target: AggregateTable): [AnyColumn, SQL][] {
  const common: [AnyColumn, SQL][] = [
    [target.provider, sql`${rr.provider}`],
    [target.model, sql`coalesce(${rr.modelAnswered}, ${rr.modelRequested})`],
    [target.feature, sql`${rr.feature}`],
    [target.tenant, sql`${rr.tenant}`],
    [target.environment, sql`${rr.environment}`],
    [target.keyId, sql`${rr.keyId}`],
  ];
  if (target === usageDayTotals) return common;
  return [
    ...common,
    [usageRollups.userId, sql`${rr.userId}`],
    [usageRollups.workflow, sql`${rr.workflow}`],
    [usageRollups.tags, sql`coalesce(${rr.tags}, '{}'::jsonb)`],
    // Added with routing: rollup rows written before carry one dimension less in their hash, so a
    // day may have two rows for the same dimensions; every report sums them, so the sums stay exact.
    [usageRollups.route, sql`${rr.route}`],
  ];
}

/**
 * INSERT INTO target SELECT sums FROM `from` GROUP BY account, day, dimensions, adding onto rows
 * already there. `from` must expose request_records' columns under the name "request_records".
 */
function aggregateInsertSql(target: AggregateTable, from: SQL): SQL {
  const dims = dimensionsOf(target);
  const day = sql`date_trunc('day', ${rr.startedAt}, 'UTC')`;
  const hash = sql`md5(jsonb_build_array(${sql.join(
    dims.map(([, e]) => e),
    sql`, `,
  )})::text)`;
  const sums: [AnyColumn, SQL][] = [
    [target.requests, sql`count(*)`],
    [target.errors, sql`count(*) filter (where ${rr.status} >= 400)`],
    [target.unpricedRequests, sql`count(*) filter (where not ${rr.priced})`],
    ...BUCKETS.map((b): [AnyColumn, SQL] => [target[b], sql`sum(${rr[b]})`]),
    [target.costNano, sql`sum(${rr.costNano})`],
    [target.cacheSavingsNano, sql`coalesce(round(sum(${cacheSavingsSql()})), 0)`],
    [target.cacheSavingsUnknown, sql`count(*) filter (where ${cacheSavingsUnknownSql()})`],
    [target.firstStartedAt, sql`min(${rr.startedAt})`],
    [target.lastFinishedAt, sql`max(${rr.finishedAt})`],
  ];
  const columns = [target.accountId, target.day, target.dimsHash, ...dims.map(([c]) => c), ...sums.map(([c]) => c)];
  const groupCount = 3 + dims.length;
  const table = sql`${target}`;
  const merge = sums.map(([c]) => {
    if (c === target.firstStartedAt) return sql`${id(c)} = least(${table}.${id(c)}, excluded.${id(c)})`;
    if (c === target.lastFinishedAt) return sql`${id(c)} = greatest(${table}.${id(c)}, excluded.${id(c)})`;
    return sql`${id(c)} = ${table}.${id(c)} + excluded.${id(c)}`;
  });
  return sql`insert into ${table} (${sql.join(columns.map(id), sql`, `)})
    select ${rr.accountId}, ${day}, ${hash}, ${sql.join(
      dims.map(([, e]) => e),
      sql`, `,
    )}, ${sql.join(
      sums.map(([, e]) => e),
      sql`, `,
    )}
    from ${from}
    group by ${sql.raw(Array.from({ length: groupCount }, (_, i) => String(i + 1)).join(", "))}
    on conflict (${id(target.accountId)}, ${id(target.day)}, ${id(target.dimsHash)}) do update set ${sql.join(merge, sql`, `)}`;
}

export interface RefreshResult {
  watermark: Date | null;
  chunks: number;
  /** False when the time budget ran out before reaching now − lag. */
  caughtUp: boolean;
}

/**
 * Adds records created since the watermark to usage_day_totals. created_at is Postgres's clock, so
 * the bound (now − lag) is read from Postgres too: a Worker whose clock runs ahead of the
 * database's must not move the watermark past records it has not seen yet.
 */
export async function refreshDayTotals(
  db: ReportsDb,
  opts: { lagMs?: number; chunkRows?: number; budgetMs?: number } = {},
): Promise<RefreshResult> {
  const [bound] = await queryRows<{ target: string | Date }>(
    db,
    sql`select now() - ${opts.lagMs ?? 60_000} * interval '1 millisecond' as target`,
  );
  const target = new Date(bound!.target);
  const chunkRows = opts.chunkRows ?? 20_000;
  const deadline = nowMs() + (opts.budgetMs ?? 15_000);
  let chunks = 0;
  for (;;) {
    const step = await db.transaction(async (tx) => {
      const [state] = await queryRows<{ watermark: string | Date }>(
        tx as unknown as ReportsDb,
        sql`select ${reportState.watermark} as watermark from ${reportState}
          where ${eq(reportState.name, DAY_TOTALS_WATERMARK)} for update`,
      );
      let start = state ? new Date(state.watermark) : null;
      if (!start) {
        const [first] = await queryRows<{ first: string | Date | null }>(
          tx as unknown as ReportsDb,
          sql`select min(${rr.createdAt}) as first from ${rr}`,
        );
        // Nothing recorded yet: start at the target, so the next run only looks at new records.
        start = first?.first ? new Date(first.first) : target;
        if (start > target) start = target;
        await tx.insert(reportState).values({ name: DAY_TOTALS_WATERMARK, watermark: start }).onConflictDoNothing();
      }
      if (start >= target) return { watermark: start, done: true, inserted: false };
      // A chunk is the next `chunkRows` records (one index range scan finds where it ends), so a
      // busy hour and a quiet month cost the same few statements.
      const [edge] = await queryRows<{ at: string | Date | null }>(
        tx as unknown as ReportsDb,
        sql`select ${rr.createdAt} as at from ${rr}
          where ${rr.createdAt} > ${start.toISOString()}::timestamptz and ${rr.createdAt} < ${target.toISOString()}::timestamptz
          order by ${rr.createdAt} offset ${chunkRows} limit 1`,
      );
      const end = edge?.at ? new Date(edge.at) : target;
      await tx.execute(
        aggregateInsertSql(
          usageDayTotals,
          sql`${rr} where ${rr.createdAt} >= ${start.toISOString()}::timestamptz and ${rr.createdAt} < ${end.toISOString()}::timestamptz`,
        ),
      );
      await tx
        .update(reportState)
        .set({ watermark: end, updatedAt: nowDate() })
        .where(eq(reportState.name, DAY_TOTALS_WATERMARK));
      return { watermark: end, done: end >= target, inserted: true };
    });
    if (step.inserted) chunks++;
    if (step.done) return { watermark: step.watermark, chunks, caughtUp: true };
    if (nowMs() > deadline) return { watermark: step.watermark, chunks, caughtUp: false };
  }
}

/** 00:00 UTC of `now`'s day minus the retention: records that started before it are past retention. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - retentionDays * DAY_MS);
}

export interface RetentionResult {
  refresh: RefreshResult;
  accounts: { accountId: string; cutoff: Date; moved: number; done: boolean }[];
  /** False when a bound (batches per run) stopped it: the next run continues. */
  done: boolean;
}

/**
 * The scheduled job: refresh usage_day_totals, then move records past each account's retention
 * into usage_rollups, `batchSize` records per statement, at most `maxBatches` statements per run.
 */
export async function runRetention(
  db: ReportsDb,
  now: Date,
  opts: { batchSize?: number; maxBatches?: number; refresh?: Parameters<typeof refreshDayTotals>[1] } = {},
): Promise<RetentionResult> {
  const batchSize = opts.batchSize ?? 5000;
  let batchesLeft = opts.maxBatches ?? 40;
  const refresh = await refreshDayTotals(db, opts.refresh);
  const result: RetentionResult = { refresh, accounts: [], done: true };
  const watermark = refresh.watermark;
  if (!watermark) return result;
  const list = await db
    .select({ id: accounts.id, retentionDays: accounts.retentionDays })
    .from(accounts)
    .orderBy(asc(accounts.id));
  // An account that bills its tenants keeps last month's records until its invoices are final.
  const billing = new Map((await billingAccounts(db)).map((a) => [a.accountId, a.timeZone]));
  for (const account of list) {
    const zone = billing.get(account.id);
    const floor = zone === undefined ? null : retentionFloor(zone, now);
    const kept = retentionCutoff(now, account.retentionDays);
    const cutoff = floor && floor < kept ? floor : kept;
    const entry = { accountId: account.id, cutoff, moved: 0, done: false };
    result.accounts.push(entry);
    while (batchesLeft > 0) {
      batchesLeft--;
      const moved = sql`(delete from ${rr} where (${rr.accountId}, ${rr.id}) in (
          select ${rr.accountId}, ${rr.id} from ${rr}
          where ${rr.accountId} = ${account.id}
            and ${rr.startedAt} < ${cutoff.toISOString()}::timestamptz
            and ${rr.createdAt} < ${watermark.toISOString()}::timestamptz
          limit ${batchSize})
        returning *)`;
      const rows = await queryRows<{ n: string }>(
        db,
        sql`with moved as ${moved}, rolled as (${aggregateInsertSql(usageRollups, sql`moved as ${rr}`)} returning 1)
          select (select count(*) from moved)::text as n`,
      );
      const n = Number(rows[0]?.n ?? 0);
      entry.moved += n;
      if (n < batchSize) {
        entry.done = true;
        break;
      }
    }
    if (!entry.done) result.done = false;
  }
  return result;
}

/** PUT …/retention: 30, 90 or 365 days. */
export async function setRetention(db: ReportsDb, accountId: string, days: RetentionDays): Promise<boolean> {
  const rows = await db
    .update(accounts)
    .set({ retentionDays: days })
    .where(eq(accounts.id, accountId))
    .returning({ id: accounts.id });
  return rows.length > 0;
}
