/**
 * Daily spend per value of one scope (tenant, feature, key, user, env, workflow, or the whole
 * account) over the TREND_DAYS complete UTC days before `now` plus today so far, from the raw
 * records (retention keeps at least 30 days of them). Days are by started_at, the gateway's clock,
 * like `now`.
 */
import { and, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import type { ScopeType } from "../budgets";
import { queryRows, type ReportsDb } from "../reports/db";
import { DAY_MS, TREND_DAYS } from "./trend";

const r = requestRecords;

export const SCOPE_COLUMN: Record<ScopeType, SQL | null> = {
  account: null,
  tenant: sql`${r.tenant}`,
  feature: sql`${r.feature}`,
  key: sql`${r.keyId}`,
  user: sql`${r.userId}`,
  env: sql`${r.environment}`,
  workflow: sql`${r.workflow}`,
};

export interface DailySpend {
  /** Complete days before today, oldest first (TREND_DAYS of them). */
  history: number[];
  todayNano: number;
}

/** value ("" for the account) → its daily spend. */
export async function dailySpend(
  db: ReportsDb,
  accountId: string,
  scope: ScopeType,
  now: Date,
): Promise<Map<string, DailySpend>> {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const from = new Date(today - TREND_DAYS * DAY_MS);
  const column = SCOPE_COLUMN[scope];
  const value = column ? sql`coalesce(${column}, '')` : sql`''`;
  const rows = await queryRows<{ value: string; day: string; cost: string }>(
    db,
    sql`select ${value} as value, floor(extract(epoch from ${r.startedAt}) / 86400)::int as day, sum(${r.costNano}) as cost
        from ${r}
        where ${and(eq(r.accountId, accountId), gte(r.startedAt, from), lt(r.startedAt, now))}
        group by 1, 2`,
  );
  const out = new Map<string, DailySpend>();
  const todayIndex = today / DAY_MS;
  for (const row of rows) {
    const s = out.get(row.value) ?? { history: new Array<number>(TREND_DAYS).fill(0), todayNano: 0 };
    const offset = Number(row.day) - todayIndex;
    if (offset === 0) s.todayNano += Number(row.cost);
    else if (offset < 0 && offset >= -TREND_DAYS) s.history[TREND_DAYS + offset] = Number(row.cost);
    out.set(row.value, s);
  }
  return out;
}

/** The account's recorded spend in [from, now). */
export async function spendSince(db: ReportsDb, accountId: string, from: Date, now: Date): Promise<bigint> {
  const [row] = await queryRows<{ cost: string | null }>(
    db,
    sql`select sum(${r.costNano}) as cost from ${r}
        where ${and(eq(r.accountId, accountId), gte(r.startedAt, from), lt(r.startedAt, now))}`,
  );
  return BigInt(row?.cost ?? 0);
}
