/**
 * The billing side of the cron trigger (src/scheduled.ts): finalize last month's invoices once they
 * can no longer change, and keep records of periods that may still be invoiced from moving out of
 * request_records (retention, src/reports/maintenance.ts).
 *
 * Accounts with billing: those with billing settings, a plan or a grant. Their tenants with records
 * in the month before the current one (in the account's zone) get that month finalized from its end
 * + FINALIZE_AFTER_MS on, at most `limit` invoices a run (the next run continues).
 */
import { sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { nowMs } from "../lib/clock";
import type { Db } from "../lib/db";
import type { ScriptRedis } from "../lib/redis";
import { queryRows, type ReportsDb } from "../reports/db";
import { FINALIZE_AFTER_MS, finalizeInvoice } from "./invoices";
import { monthOf } from "./zone";

/** Accounts that bill their tenants, with their invoice zone. */
export async function billingAccounts(db: ReportsDb): Promise<{ accountId: string; timeZone: string }[]> {
  const rows = await queryRows<{ account_id: string; time_zone: string | null }>(
    db,
    sql`select a.account_id, ab.time_zone from (
        select account_id from account_billing union select account_id from billing_plans
        union select distinct account_id from credit_grants
      ) a left join account_billing ab on ab.account_id = a.account_id order by 1`,
  );
  return rows.map((r) => ({ accountId: r.account_id, timeZone: r.time_zone ?? "UTC" }));
}

/** The month before the one `now` falls in, in the zone. */
function previousMonth(timeZone: string, now: number) {
  return monthOf(timeZone, monthOf(timeZone, now).startMs - 1);
}

/**
 * Records of billing accounts that started on or after this instant stay in request_records: the
 * previous month's, until its invoices are finalized (the retention job moves older ones only).
 */
export function retentionFloor(timeZone: string, now: Date): Date {
  return new Date(previousMonth(timeZone, now.getTime()).startMs);
}

export async function finalizeClosedPeriods(
  stores: { db: Db; redis: ScriptRedis },
  now: number,
  limit = 100,
): Promise<{ finalized: number; done: boolean }> {
  let finalized = 0;
  for (const a of await billingAccounts(stores.db)) {
    const month = previousMonth(a.timeZone, now);
    if (now < month.endMs + FINALIZE_AFTER_MS) continue;
    const tenants = await queryRows<{ tenant: string }>(
      stores.db,
      sql`select distinct r.tenant from ${requestRecords} r
        where r.account_id = ${a.accountId} and r.tenant is not null
          and r.started_at >= ${new Date(month.startMs).toISOString()}::timestamptz
          and r.started_at < ${new Date(month.endMs).toISOString()}::timestamptz
          and not exists (select 1 from invoices i where i.account_id = r.account_id and i.tenant = r.tenant
            and i.period_key = ${month.key} and i.status = 'finalized')
        order by 1 limit ${limit - finalized}`,
    );
    for (const { tenant } of tenants) {
      await finalizeInvoice(stores, a.accountId, tenant, month.key, nowMs());
      finalized++;
    }
    if (finalized >= limit) return { finalized, done: false };
  }
  return { finalized, done: true };
}
