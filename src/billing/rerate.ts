/**
 * Re-rating an open period (a plan changed, or calls were rated under an earlier version): every
 * record of the tenant's period is billed again under the plan in force, in the order the calls
 * started, by the same increments the settle script uses (src/billing/rating.ts), and the period's
 * rating state in Redis is set to the result, so the calls that follow telescope from it. A period
 * with a finalized invoice is never re-rated (void it first).
 *
 * Wallet draws are not redone: a prepaid tenant keeps what its calls drew, and the invoice shows the
 * difference as amount due (or a negative one). Calls that settle while the re-rate runs may be
 * rated against the state it replaces; the invoice's true-up line would show any such difference.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { lifetimeSeconds } from "../budgets/admit";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { runScript, type ScriptRedis } from "../lib/redis";
import { flushRecords } from "../records/record";
import { emptyUsage, TOKEN_BUCKETS } from "../usage";
import { callBilling } from "./call";
import { liveInvoice } from "./invoices";
import { EMPTY_STATE, linearDenominator, type RatingState, rateCall } from "./rating";
import { RATE_SET_SCRIPT } from "./scripts";
import { loadBillingSettings } from "./settings";
import { monthByKey } from "./zone";

const rr = requestRecords;
const BATCH = 1000;

export interface RerateResult {
  records: number;
  billedBeforeNano: bigint;
  billedAfterNano: bigint;
  planVersion: string;
}

export async function reratePeriod(
  stores: { db: Db; redis: ScriptRedis },
  accountId: string,
  tenant: string,
  periodKey: string,
  now: number,
): Promise<RerateResult> {
  const { db, redis } = stores;
  const billing = await loadBillingSettings(db, accountId);
  const window = monthByKey(billing.timeZone, periodKey);
  if (!window) throw new GatewayError("invalid_request", `period must be YYYY-MM, not "${periodKey}".`);
  const final = await liveInvoice(db, accountId, tenant, periodKey);
  if (final)
    throw new GatewayError(
      "conflict",
      `Period ${periodKey} of tenant "${tenant}" has a finalized invoice (${final.id}): void it first.`,
    );
  await flushRecords({ db: () => db, redis });
  const b = callBilling(accountId, billing, tenant, window.startMs)!;
  let state: RatingState = EMPTY_STATE;
  let before = 0n;
  let after = 0n;
  let count = 0;
  let cursor: { startedAt: Date; id: string } | null = null;
  for (;;) {
    const rows: (typeof rr.$inferSelect)[] = await db
      .select()
      .from(rr)
      .where(
        and(
          eq(rr.accountId, accountId),
          eq(rr.tenant, tenant),
          sql`${rr.startedAt} >= ${new Date(window.startMs).toISOString()}::timestamptz`,
          sql`${rr.startedAt} < ${new Date(window.endMs).toISOString()}::timestamptz`,
          ...(cursor
            ? [sql`(${rr.startedAt}, ${rr.id}) > (${cursor.startedAt.toISOString()}::timestamptz, ${cursor.id})`]
            : []),
        ),
      )
      .orderBy(asc(rr.startedAt), asc(rr.id))
      .limit(BATCH);
    if (rows.length === 0) break;
    const updates: { id: string; billed: string }[] = [];
    for (const r of rows) {
      const usage = emptyUsage();
      for (const k of TOKEN_BUCKETS) usage[k] = r[k];
      // As the settle does: a call without usage is billed 0 and does not move the period's quantity.
      const rated =
        r.usageSource === "none" ? { billedNano: 0n, state } : rateCall(b.plan, state, { usage, costNano: r.costNano });
      state = rated.state;
      before += r.billedNano ?? 0n;
      after += rated.billedNano;
      updates.push({ id: r.id, billed: rated.billedNano.toString() });
    }
    await db.execute(
      sql`update ${rr} set billed_nano = v.billed, plan_version = ${b.plan.version}
        from json_to_recordset(${JSON.stringify(updates)}::json) as v(id text, billed bigint)
        where ${rr.accountId} = ${accountId} and ${rr.id} = v.id`,
    );
    count += rows.length;
    const last = rows[rows.length - 1]!;
    cursor = { startedAt: last.startedAt, id: last.id };
    if (rows.length < BATCH) break;
  }
  const D =
    b.plan.definition.kind === "markup" || b.plan.definition.kind === "unit"
      ? linearDenominator(b.plan.definition)
      : 1n;
  await runScript(
    redis,
    RATE_SET_SCRIPT,
    [b.stateKey],
    [
      (state.s / D).toString(),
      (state.s % D).toString(),
      state.q.toString(),
      String(lifetimeSeconds(b.stateExpireAt, now)),
    ],
  );
  return { records: count, billedBeforeNano: before, billedAfterNano: after, planVersion: b.plan.version };
}
