/**
 * Pushing an account's billed records to Stripe as meter events (src/billing/exports/stripe.ts),
 * from the cron job or POST …/exports/stripe/push, with a cursor so each record goes once.
 *
 * The cursor (export_cursors, target "stripe") is the last exported record's Postgres insertion
 * time and id, compared inside Postgres (its microseconds never pass through a JS Date). Records
 * are read in (created_at, id) order, and only those inserted more than SETTLE_LAG ago: created_at
 * is the inserting transaction's start, so a slow flush can commit rows older than ones already
 * visible; the lag leaves it time. The cursor moves after each batch Stripe took; when Stripe is
 * down the push stops and the next one starts from the same place. Sending a record twice (a
 * crash between Stripe's answer and the cursor's update, two pushes at once, a replay) is
 * harmless: Stripe de-duplicates the identifier, the record id (docs/stripe-export.md).
 *
 * A record is passed over (counted, the cursor moves on) when its tenant has no Stripe customer in
 * the mapping, when it is not rated (billed_nano null: Redis was down), when it bills 0, or when it
 * started outside Stripe's 35-day window (Stripe would refuse it, or with v2 drop it silently).
 */
import { and, asc, eq, lt, sql } from "drizzle-orm";
import { requestRecords } from "../../../schema";
import { accountBilling, exportCursors, type StripeExportRow } from "../../../schema/billing";
import { nowMs } from "../../lib/clock";
import { decryptSecret } from "../../lib/crypto";
import type { Db } from "../../lib/db";
import {
  DEFAULT_EVENT_NAME,
  type MeterEvent,
  type StripeSender,
  type StripeTarget,
  StripeUnavailable,
  stripeSender,
} from "./stripe";

export const STRIPE_TARGET = "stripe";
const SETTLE_LAG = sql`interval '1 minute'`;
const BATCH = 500;
/** Per push (one cron run, one API call): bounded so a Worker invocation stays within its subrequests. */
const MAX_EVENTS: Record<"v1" | "v2", number> = { v1: 500, v2: 5_000 };
/** Stripe takes timestamps within the past 35 calendar days; an hour's margin for the push itself. */
const OLDEST_MS = 35 * 86_400_000 - 3_600_000;

export interface PushResult {
  sent: number;
  duplicates: number;
  rejected: number;
  skipped: { unmapped: number; unrated: number; zero: number; tooOld: number };
  requests: number;
  sessions: number;
  /** Whether every record old enough was handled (false: stopped by the cap or by an error). */
  caughtUp: boolean;
  error: string | null;
}

export interface PushDeps {
  db: Db;
  sealingSecret: string;
  fetch?: typeof fetch;
}

export async function stripeTarget(cfg: StripeExportRow, sealingSecret: string): Promise<StripeTarget> {
  return {
    secretKey: await decryptSecret(cfg.secretKeySealed, sealingSecret),
    api: cfg.api,
    apiBaseUrl: cfg.apiBaseUrl,
    meterEventsBaseUrl: cfg.meterEventsBaseUrl,
    eventName: cfg.eventName || DEFAULT_EVENT_NAME,
    customerKey: cfg.customerKey ?? "stripe_customer_id",
    valueKey: cfg.valueKey ?? "value",
  };
}

const rr = requestRecords;
const ec = exportCursors;

function pendingRecords(db: Db, accountId: string, limit: number) {
  return db
    .select({ id: rr.id, tenant: rr.tenant, billedNano: rr.billedNano, startedAt: rr.startedAt })
    .from(rr)
    .where(
      and(
        eq(rr.accountId, accountId),
        lt(rr.createdAt, sql`now() - ${SETTLE_LAG}`),
        sql`not exists (select 1 from ${ec} where ${ec.accountId} = ${accountId} and ${ec.target} = ${STRIPE_TARGET}
          and (${rr.createdAt}, ${rr.id}) <= (${ec.createdAt}, ${ec.recordId}))`,
      ),
    )
    .orderBy(asc(rr.createdAt), asc(rr.id))
    .limit(limit);
}

/** The cursor onto a record, with its exact insertion time (copied inside Postgres). */
async function advance(db: Db, accountId: string, recordId: string, exported: number, error: string | null) {
  await db.execute(sql`
    insert into ${ec} (account_id, target, created_at, record_id, exported, last_error, updated_at)
    select ${accountId}, ${STRIPE_TARGET}, r.created_at, r.id, ${exported}, ${error}, now()
      from ${rr} r where r.account_id = ${accountId} and r.id = ${recordId}
    on conflict (account_id, target) do update set created_at = excluded.created_at,
      record_id = excluded.record_id, exported = ${ec}.exported + excluded.exported,
      last_error = excluded.last_error, updated_at = now()`);
}

async function noteError(db: Db, accountId: string, error: string) {
  await db
    .update(ec)
    .set({ lastError: error, updatedAt: sql`now()` })
    .where(and(eq(ec.accountId, accountId), eq(ec.target, STRIPE_TARGET)));
}

/** Sets the cursor back to `fromMs` (insertion time): the records after it are sent again. */
export async function replayFrom(db: Db, accountId: string, fromMs: number): Promise<void> {
  const values = { accountId, target: STRIPE_TARGET, createdAt: new Date(fromMs), recordId: "", updatedAt: sql`now()` };
  await db
    .insert(ec)
    .values(values)
    .onConflictDoUpdate({ target: [ec.accountId, ec.target], set: { createdAt: values.createdAt, recordId: "" } });
}

export async function stripeConfig(db: Db, accountId: string): Promise<StripeExportRow | null> {
  const [row] = await db
    .select({ stripe: accountBilling.stripe })
    .from(accountBilling)
    .where(eq(accountBilling.accountId, accountId));
  return row?.stripe ?? null;
}

export async function pushToStripe(deps: PushDeps, accountId: string): Promise<PushResult | null> {
  const cfg = await stripeConfig(deps.db, accountId);
  if (!cfg) return null;
  const sender = stripeSender(await stripeTarget(cfg, deps.sealingSecret), deps.fetch);
  return pushWith(deps.db, accountId, cfg, sender, MAX_EVENTS[cfg.api]);
}

export async function pushWith(
  db: Db,
  accountId: string,
  cfg: Pick<StripeExportRow, "customers">,
  sender: StripeSender,
  maxEvents: number,
): Promise<PushResult> {
  const out: PushResult = {
    sent: 0,
    duplicates: 0,
    rejected: 0,
    skipped: { unmapped: 0, unrated: 0, zero: 0, tooOld: 0 },
    requests: 0,
    sessions: 0,
    caughtUp: false,
    error: null,
  };
  let handled = 0;
  while (handled < maxEvents) {
    const rows = await pendingRecords(db, accountId, Math.min(BATCH, maxEvents - handled));
    if (rows.length === 0) {
      out.caughtUp = true;
      break;
    }
    const events: MeterEvent[] = [];
    const oldest = nowMs() - OLDEST_MS;
    for (const r of rows) {
      const customerId = r.tenant === null ? undefined : cfg.customers[r.tenant];
      if (!customerId) out.skipped.unmapped++;
      else if (r.billedNano === null) out.skipped.unrated++;
      else if (r.billedNano <= 0n) out.skipped.zero++;
      else if (r.startedAt.getTime() < oldest) out.skipped.tooOld++;
      else
        events.push({
          identifier: r.id,
          customerId,
          value: r.billedNano.toString(),
          timestampMs: r.startedAt.getTime(),
        });
    }
    try {
      const res = await sender.send(events);
      out.sent += res.sent;
      out.duplicates += res.duplicates;
      out.rejected += res.rejected.length;
      out.requests += res.requests;
      const lastRejection = res.rejected.at(-1);
      const error = lastRejection ? `${lastRejection.identifier}: ${lastRejection.error}` : null;
      await advance(db, accountId, rows.at(-1)!.id, res.sent + res.duplicates, error);
    } catch (err) {
      if (!(err instanceof StripeUnavailable)) throw err;
      out.error = err.message;
      await noteError(db, accountId, err.message);
      break;
    } finally {
      out.sessions = sender.sessions();
    }
    handled += rows.length;
  }
  return out;
}

/** The cron job: every account with a Stripe export configured. */
export async function pushAllToStripe(deps: PushDeps): Promise<void> {
  const rows = await deps.db
    .select({ accountId: accountBilling.accountId })
    .from(accountBilling)
    .where(sql`${accountBilling.stripe} is not null`);
  for (const { accountId } of rows) {
    await pushToStripe(deps, accountId).catch((err) => console.error(`stripe export of ${accountId} failed`, err));
  }
}
