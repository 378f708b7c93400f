/**
 * The cron job's part: every account that stored a provider admin key (cost_sources) gets a
 * fetched report at most every FETCH_EVERY_HOURS (by Postgres's clock, which dates the last fetch),
 * covering the FETCH_DAYS days before yesterday (yesterday is left out: the providers' reports
 * fill in over the following day, and a half-reported day would be flagged as missing calls).
 * A report with flagged lines that the source's previous report did not flag raises one
 * `reconciliation.difference_found` alert; the same differences fetched again do not.
 */
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import { costSources } from "../../schema/trust";
import { type AccountEvent, type DeliverDeps, deliverEvents } from "../alerts";
import { decryptSecret } from "../lib/crypto";
import type { ReportsDb } from "../reports/db";
import { fetchProviderData } from "./fetch";
import { getReconciliation, reconcile, type StoredReconciliation } from "./index";
import { addDays, dayOf, type ReconcileProvider } from "./types";

export const FETCH_EVERY_HOURS = 6;
export const FETCH_DAYS = 7;
const MAX_SOURCES_PER_RUN = 20;

export interface FetchJobDeps {
  db: ReportsDb;
  sealingSecret: string;
  alerts?: Omit<DeliverDeps, "db">;
  fetch?: typeof fetch;
}

/** The days a scheduled fetch covers at `now`. */
export function fetchPeriod(now: Date): { from: string; to: string } {
  const yesterday = addDays(dayOf(now), -1);
  return { from: addDays(yesterday, -FETCH_DAYS), to: yesterday };
}

const flaggedKeys = (r: StoredReconciliation | null) =>
  new Set(
    (r?.lines ?? [])
      .filter((l) => l.flagged)
      .map((l) => `${l.day}|${l.model}|${l.bucket}|${l.causes.map((c) => c.code).join(",")}`),
  );

export function differenceEvent(report: StoredReconciliation): AccountEvent {
  const causes = report.causes.map((c) => `${c.code} (${c.lines} lines, $${c.differenceUsd})`).join(", ");
  return {
    id: `reconciliation:${report.id}`,
    type: "reconciliation.difference_found",
    createdAt: report.createdAt,
    accountId: report.accountId,
    subject: `${report.provider} billed $${report.totals.theirCostUsd ?? "?"}, Tollgate recorded $${report.totals.ourCostUsd} (${report.period.from}–${report.period.to})`,
    message: `Reconciliation ${report.id} with ${report.provider} for ${report.period.from} to ${report.period.to}: ${report.totals.flaggedLines} lines over the thresholds, difference $${report.totals.differenceUsd ?? "?"}. Likely causes: ${causes || "none named"}. GET /admin/v1/accounts/${report.accountId}/reconciliations/${report.id}`,
    reconciliationId: report.id,
    provider: report.provider,
    period: report.period,
    totals: report.totals,
    causes: report.causes,
  };
}

/** Fetches one source now and reconciles; also what POST …/cost-sources/{provider}/fetch runs. */
export async function fetchAndReconcile(
  deps: FetchJobDeps,
  accountId: string,
  provider: ReconcileProvider,
  period: { from: string; to: string },
): Promise<StoredReconciliation> {
  const [source] = await deps.db
    .select()
    .from(costSources)
    .where(and(eq(costSources.accountId, accountId), eq(costSources.provider, provider)));
  if (!source) throw new Error(`no cost source ${provider} for ${accountId}`);
  try {
    const adminKey = await decryptSecret(source.adminKeyCiphertext, deps.sealingSecret);
    const data = await fetchProviderData(provider, { adminKey, baseUrl: source.baseUrl }, period, deps.fetch);
    const report = await reconcile(deps.db, { accountId, data, ...period, source: "fetch" });
    const previous = source.lastReconciliationId
      ? await getReconciliation(deps.db, accountId, source.lastReconciliationId)
      : null;
    await deps.db
      .update(costSources)
      .set({ lastFetchedAt: sql`now()`, lastStatus: "ok", lastError: null, lastReconciliationId: report.id })
      .where(and(eq(costSources.accountId, accountId), eq(costSources.provider, provider)));
    const before = flaggedKeys(previous);
    const isNew = [...flaggedKeys(report)].some((k) => !before.has(k));
    if (isNew && deps.alerts) await deliverEvents([differenceEvent(report)], { ...deps.alerts, db: deps.db });
    return report;
  } catch (err) {
    await deps.db
      .update(costSources)
      .set({
        lastFetchedAt: sql`now()`,
        lastStatus: "error",
        lastError: String((err as Error)?.message ?? err).slice(0, 1000),
      })
      .where(and(eq(costSources.accountId, accountId), eq(costSources.provider, provider)));
    throw err;
  }
}

/** The sources due now, fetched one after the other; a failure is kept on its source and logged. */
export async function runCostFetches(deps: FetchJobDeps, now: Date): Promise<number> {
  const due = await deps.db
    .select({ accountId: costSources.accountId, provider: costSources.provider })
    .from(costSources)
    .where(
      or(
        isNull(costSources.lastFetchedAt),
        lt(costSources.lastFetchedAt, sql`now() - make_interval(hours => ${FETCH_EVERY_HOURS})`),
      ),
    )
    .orderBy(sql`${costSources.lastFetchedAt} asc nulls first`)
    .limit(MAX_SOURCES_PER_RUN);
  let done = 0;
  for (const s of due) {
    try {
      await fetchAndReconcile(deps, s.accountId, s.provider as ReconcileProvider, fetchPeriod(now));
      done++;
    } catch (err) {
      console.error(`cost report fetch ${s.accountId}/${s.provider} failed`, err);
    }
  }
  return done;
}
