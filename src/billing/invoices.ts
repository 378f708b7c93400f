/**
 * Invoices per tenant per calendar month in the account's zone (docs/billing.md §7).
 *
 *   draft      computed from the period's records whenever it is read (src/billing/invoice-lines.ts);
 *   finalized  once, after the period ended and its records can no longer arrive (its end + the
 *              longest a call can run + the record flush, by the gateway's clock — the clock that
 *              dated the records): the number is assigned, the lines and totals frozen, hashed;
 *   void       a finalized invoice is never edited: a correction voids it and finalizes a new one
 *              (a new number, `replacesId` naming the void one), e.g. after re-rating the period.
 *
 * A unique index allows one live (finalized) invoice per tenant and period, so two finalizations
 * racing each other produce one invoice; the loser reads the winner's. Finalizing also stops the
 * wallet carrying the overage the invoice bills (src/billing/scripts.ts DEBT_CLEAR); voiding gives
 * it back until the reissue bills it again.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { accountBilling, invoices, tenantBilling } from "../../schema/billing";
import { sha256Hex } from "../lib/crypto";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { newId } from "../lib/ids";
import { nanoToUsd, usdToNano } from "../lib/money";
import { runScript, type ScriptRedis } from "../lib/redis";
import { METER_MAX_MS } from "../proxy/tally";
import { flushRecords, RECORD_FLUSH_DELAY_MS } from "../records/record";
import { queryRows } from "../reports/db";
import { emptyUsage, TOKEN_BUCKETS } from "../usage";
import { type InvoiceLine, invoiceLines, type RecordGroup } from "./invoice-lines";
import { billingKeys } from "./keys";
import { DEBT_CLEAR_SCRIPT } from "./scripts";
import { loadBillingSettings, planOf } from "./settings";
import { type MonthWindow, monthByKey } from "./zone";

/** A period can be finalized this long after it ended: its last call has finished and been recorded. */
export const FINALIZE_AFTER_MS = METER_MAX_MS + RECORD_FLUSH_DELAY_MS + 4 * 60_000;

export type InvoiceStatus = "draft" | "finalized" | "void";

export interface InvoiceDocument {
  id: string | null;
  number: string | null;
  status: InvoiceStatus;
  accountId: string;
  tenant: string;
  currency: "USD";
  period: { key: string; timeZone: string; start: string; end: string };
  plan: { id: string; name: string; version: string; kind: string };
  lines: InvoiceLine[];
  credits: { grantId: string; amountUsd: string }[];
  subtotalUsd: string;
  creditsAppliedUsd: string;
  amountDueUsd: string;
  overageUsd: string;
  recordsBilledUsd: string;
  trueUpUsd: string;
  records: number;
  unratedRecords: number;
  /** When a draft may be finalized (ISO); null once finalized. */
  finalizableAt: string | null;
  finalizedAt: string | null;
  voidedAt: string | null;
  replacesId: string | null;
  hash: string | null;
}

export type InvoiceRow = typeof invoices.$inferSelect;

const rr = requestRecords;

/** The account's invoice zone (UTC until it sets one). */
export async function accountZone(db: Db, accountId: string): Promise<string> {
  const [row] = await db
    .select({ timeZone: accountBilling.timeZone })
    .from(accountBilling)
    .where(eq(accountBilling.accountId, accountId));
  return row?.timeZone ?? "UTC";
}

export async function periodOf(
  db: Db,
  accountId: string,
  periodKey: string,
): Promise<{ window: MonthWindow; timeZone: string }> {
  const timeZone = await accountZone(db, accountId);
  const window = monthByKey(timeZone, periodKey);
  if (!window)
    throw new GatewayError("invalid_request", `period must be YYYY-MM, not "${periodKey}".`, {}, [
      { path: "period", message: "YYYY-MM" },
    ]);
  return { window, timeZone };
}

async function recordGroups(db: Db, accountId: string, tenant: string, w: MonthWindow): Promise<RecordGroup[]> {
  const buckets = TOKEN_BUCKETS.map((b) => sql`coalesce(sum(${rr[b]}), 0)::text as ${sql.identifier(b)}`);
  const rows = await queryRows<Record<string, string | null>>(
    db,
    sql`select coalesce(${rr.modelAnswered}, ${rr.modelRequested}) as model, ${rr.feature} as feature,
        count(*)::int as records, (count(*) filter (where ${rr.usageSource} <> 'none'))::int as requests,
        ${sql.join(buckets, sql`, `)},
        coalesce(sum(${rr.costNano}), 0)::text as cost, coalesce(sum(${rr.billedNano}), 0)::text as billed,
        (count(*) filter (where ${rr.billedNano} is null))::int as unrated, coalesce(sum(${rr.overageNano}), 0)::text as overage
      from ${rr}
      where ${rr.accountId} = ${accountId} and ${rr.tenant} = ${tenant}
        and ${rr.startedAt} >= ${new Date(w.startMs).toISOString()}::timestamptz
        and ${rr.startedAt} < ${new Date(w.endMs).toISOString()}::timestamptz
      group by 1, 2 order by 1 nulls first, 2 nulls first`,
  );
  return rows.map((r) => {
    const usage = emptyUsage();
    for (const b of TOKEN_BUCKETS) usage[b] = Number(r[b] ?? 0);
    return {
      model: r.model ?? null,
      feature: r.feature ?? null,
      records: Number(r.records),
      requests: Number(r.requests),
      usage,
      costNano: BigInt(r.cost ?? "0"),
      billedNano: BigInt(r.billed ?? "0"),
      unrated: Number(r.unrated),
      overageNano: BigInt(r.overage ?? "0"),
    };
  });
}

async function creditsApplied(db: Db, accountId: string, tenant: string, w: MonthWindow) {
  return queryRows<{ grant_id: string; nano: string }>(
    db,
    sql`select e.key as grant_id, sum(e.value::bigint)::text as nano
      from ${rr} cross join lateral jsonb_each_text(${rr.walletDraws}) e
      where ${rr.accountId} = ${accountId} and ${rr.tenant} = ${tenant} and ${rr.walletDraws} is not null
        and ${rr.startedAt} >= ${new Date(w.startMs).toISOString()}::timestamptz
        and ${rr.startedAt} < ${new Date(w.endMs).toISOString()}::timestamptz
      group by 1 order by 1`,
  );
}

/** The invoice of a tenant's period as its records stand now (a draft). */
export async function draftInvoice(
  db: Db,
  accountId: string,
  tenant: string,
  periodKey: string,
): Promise<InvoiceDocument> {
  const [{ window, timeZone }, billing] = await Promise.all([
    periodOf(db, accountId, periodKey),
    loadBillingSettings(db, accountId),
  ]);
  const plan = planOf(billing, tenant);
  const [groups, credits] = await Promise.all([
    recordGroups(db, accountId, tenant, window),
    creditsApplied(db, accountId, tenant, window),
  ]);
  const t = invoiceLines(plan, groups);
  const creditsNano = credits.reduce((s, c) => s + BigInt(c.nano), 0n);
  return {
    id: null,
    number: null,
    status: "draft",
    accountId,
    tenant,
    currency: "USD",
    period: {
      key: periodKey,
      timeZone,
      start: new Date(window.startMs).toISOString(),
      end: new Date(window.endMs).toISOString(),
    },
    plan: { id: plan.id, name: plan.name, version: plan.version, kind: plan.definition.kind },
    lines: t.lines,
    credits: credits.map((c) => ({ grantId: c.grant_id, amountUsd: nanoToUsd(BigInt(c.nano)) })),
    subtotalUsd: nanoToUsd(t.subtotalNano),
    creditsAppliedUsd: nanoToUsd(creditsNano),
    amountDueUsd: nanoToUsd(t.subtotalNano - creditsNano),
    overageUsd: nanoToUsd(t.overageNano),
    recordsBilledUsd: nanoToUsd(t.recordsBilledNano),
    trueUpUsd: nanoToUsd(t.trueUpNano),
    records: t.records,
    unratedRecords: t.unratedRecords,
    finalizableAt: new Date(window.endMs + FINALIZE_AFTER_MS).toISOString(),
    finalizedAt: null,
    voidedAt: null,
    replacesId: null,
    hash: null,
  };
}

/** SHA-256 of what an invoice says: period, tenant, plan, lines, credits and totals. */
export async function invoiceHash(doc: InvoiceDocument): Promise<string> {
  const { tenant, period, plan, lines, credits, subtotalUsd, creditsAppliedUsd, amountDueUsd, overageUsd } = doc;
  return sha256Hex(
    JSON.stringify({ tenant, period, plan, lines, credits, subtotalUsd, creditsAppliedUsd, amountDueUsd, overageUsd }),
  );
}

export function documentOf(row: InvoiceRow): InvoiceDocument {
  return {
    ...(row.document as InvoiceDocument),
    id: row.id,
    number: row.number,
    status: row.status as InvoiceStatus,
    voidedAt: row.voidedAt?.toISOString() ?? null,
  };
}

/** The period's finalized (not void) invoice, if any. */
export async function liveInvoice(
  db: Db,
  accountId: string,
  tenant: string,
  periodKey: string,
): Promise<InvoiceRow | undefined> {
  const [row] = await db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.accountId, accountId),
        eq(invoices.tenant, tenant),
        eq(invoices.periodKey, periodKey),
        eq(invoices.status, "finalized"),
      ),
    );
  return row;
}

/** The wallet stops (or, for a voided invoice, again starts) carrying overage an invoice bills. */
async function moveInvoicedOverage(
  db: Db,
  redis: ScriptRedis,
  accountId: string,
  tenant: string,
  nano: bigint,
): Promise<void> {
  if (nano === 0n) return;
  await db
    .update(tenantBilling)
    .set({ overageInvoicedNano: sql`${tenantBilling.overageInvoicedNano} + ${nano.toString()}::bigint` })
    .where(and(eq(tenantBilling.accountId, accountId), eq(tenantBilling.tenant, tenant)));
  await runScript(redis, DEBT_CLEAR_SCRIPT, [billingKeys.wallet(accountId, tenant)], [nano.toString()]);
}

/**
 * Finalizes a tenant's period once. `created` is false when it was already finalized (the existing
 * invoice is returned as it was frozen).
 */
export async function finalizeInvoice(
  stores: { db: Db; redis: ScriptRedis },
  accountId: string,
  tenant: string,
  periodKey: string,
  now: number,
  replaces: InvoiceRow | null = null,
): Promise<{ invoice: InvoiceDocument; created: boolean }> {
  const { db, redis } = stores;
  const existing = await liveInvoice(db, accountId, tenant, periodKey);
  if (existing) return { invoice: documentOf(existing), created: false };
  const { window } = await periodOf(db, accountId, periodKey);
  if (now < window.endMs + FINALIZE_AFTER_MS) {
    throw new GatewayError(
      "conflict",
      `The period ${periodKey} of tenant "${tenant}" can be finalized from ${new Date(window.endMs + FINALIZE_AFTER_MS).toISOString()} (its end, plus the time its last calls take to be recorded).`,
      {},
      undefined,
      { reason: "period_open" },
    );
  }
  // Records still queued in Redis belong on this invoice.
  await flushRecords({ db: () => db, redis });
  const draft = await draftInvoice(db, accountId, tenant, periodKey);
  const id = newId("inv");
  const doc: InvoiceDocument = {
    ...draft,
    id,
    status: "finalized",
    finalizableAt: null,
    finalizedAt: new Date(now).toISOString(),
    replacesId: replaces?.id ?? null,
  };
  doc.hash = await invoiceHash(doc);
  // The number is taken in the same transaction as the insert: a finalization that loses the race
  // rolls back and leaves no gap in the numbers.
  const lost = new Error("lost");
  const row = await db
    .transaction(async (tx) => {
      await tx.insert(accountBilling).values({ accountId }).onConflictDoNothing();
      const [n] = await tx
        .update(accountBilling)
        .set({ nextInvoiceNumber: sql`${accountBilling.nextInvoiceNumber} + 1` })
        .where(eq(accountBilling.accountId, accountId))
        .returning({ next: accountBilling.nextInvoiceNumber });
      const number = `INV-${String((n?.next ?? 2) - 1).padStart(6, "0")}`;
      const [inserted] = await tx
        .insert(invoices)
        .values({
          id,
          accountId,
          tenant,
          periodKey,
          timeZone: draft.period.timeZone,
          periodStart: new Date(window.startMs),
          periodEnd: new Date(window.endMs),
          status: "finalized",
          number,
          subtotalNano: usdToNano(doc.subtotalUsd),
          creditsAppliedNano: usdToNano(doc.creditsAppliedUsd),
          amountDueNano: usdToNano(doc.amountDueUsd),
          overageNano: usdToNano(doc.overageUsd),
          document: { ...doc, number },
          hash: doc.hash!,
          replacesId: replaces?.id ?? null,
          finalizedAt: new Date(now),
        })
        .onConflictDoNothing()
        .returning();
      if (!inserted) throw lost;
      return inserted;
    })
    .catch((err) => {
      if (err === lost) return undefined;
      throw err;
    });
  if (!row) {
    // A concurrent finalization won (its number was not used by us: the transaction inserted nothing).
    const winner = await liveInvoice(db, accountId, tenant, periodKey);
    if (!winner) throw new Error("invoice finalization lost a race but found no invoice");
    return { invoice: documentOf(winner), created: false };
  }
  await moveInvoicedOverage(db, redis, accountId, tenant, row.overageNano);
  return { invoice: documentOf(row), created: true };
}

export async function requireInvoice(db: Db, accountId: string, invoiceId: string): Promise<InvoiceRow> {
  const [row] = await db
    .select()
    .from(invoices)
    .where(and(eq(invoices.accountId, accountId), eq(invoices.id, invoiceId)));
  if (!row) throw new GatewayError("not_found", `No invoice ${invoiceId} in account ${accountId}.`);
  return row;
}

/** Voids a finalized invoice; with `reissue`, finalizes the period again as it stands now. */
export async function voidInvoice(
  stores: { db: Db; redis: ScriptRedis },
  accountId: string,
  invoiceId: string,
  now: number,
  reissue: boolean,
): Promise<{ voided: InvoiceDocument; reissued: InvoiceDocument | null }> {
  const row = await requireInvoice(stores.db, accountId, invoiceId);
  if (row.status !== "finalized") throw new GatewayError("conflict", `Invoice ${invoiceId} is ${row.status}.`);
  const [voided] = await stores.db
    .update(invoices)
    .set({ status: "void", voidedAt: new Date(now) })
    .where(and(eq(invoices.id, invoiceId), eq(invoices.status, "finalized")))
    .returning();
  if (!voided) throw new GatewayError("conflict", `Invoice ${invoiceId} was voided meanwhile.`);
  await moveInvoicedOverage(stores.db, stores.redis, accountId, row.tenant, -row.overageNano);
  const reissued = reissue
    ? (await finalizeInvoice(stores, accountId, row.tenant, row.periodKey, now, row)).invoice
    : null;
  return { voided: documentOf(voided), reissued };
}

export async function listInvoices(
  db: Db,
  accountId: string,
  filter: { tenant?: string; period?: string },
): Promise<InvoiceRow[]> {
  return db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.accountId, accountId),
        ...(filter.tenant ? [eq(invoices.tenant, filter.tenant)] : []),
        ...(filter.period ? [eq(invoices.periodKey, filter.period)] : []),
      ),
    )
    .orderBy(desc(invoices.finalizedAt), desc(invoices.id))
    .limit(500);
}
