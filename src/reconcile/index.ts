/**
 * Reconciliation: the provider's own usage and cost reports against Tollgate's records, per day,
 * model and bucket (README.md in this folder explains a report). The routes are
 * src/http/admin/reconciliations.ts (upload, list, read) and src/http/admin/cost-sources.ts (the
 * admin keys the cron job fetches with, fetch.ts).
 */
import { and, desc, eq } from "drizzle-orm";
import { reconciliations } from "../../schema/trust";
import { invalidRequest } from "../lib/errors";
import { newId } from "../lib/ids";
import { usdToNano } from "../lib/money";
import type { ReportsDb } from "../reports/db";
import { compare, DEFAULT_THRESHOLDS, type ReportJson, type Thresholds } from "./compare";
import { type ProviderData, theirReport } from "./input";
import { ourSide } from "./ours";
import { addDays, type TheirReport } from "./types";

export type { ReportJson, Thresholds } from "./compare";
export { DEFAULT_THRESHOLDS } from "./compare";
export type { ProviderData } from "./input";
export type { ReconcileProvider } from "./types";

/** The longest period one report covers (the providers' own APIs page 31 days at a time). */
export const MAX_DAYS = 93;

export interface ReconcileInput {
  accountId: string;
  data: ProviderData;
  /** YYYY-MM-DD; default: the days the provider's data covers. */
  from?: string;
  to?: string;
  thresholds?: Thresholds;
  source: "upload" | "fetch";
}

export interface StoredReconciliation extends ReportJson {
  id: string;
  accountId: string;
  source: "upload" | "fetch";
  createdAt: string;
}

function periodOf(their: TheirReport, from?: string, to?: string): { from: string; to: string } {
  const f = from ?? their.from;
  const t = to ?? their.to;
  if (!f || !t) throw invalidRequest([{ path: "from", message: "the provider's data has no days; give from and to" }]);
  if (t <= f) throw invalidRequest([{ path: "to", message: "must be after from" }]);
  if (addDays(f, MAX_DAYS) < t) throw invalidRequest([{ path: "to", message: `at most ${MAX_DAYS} days per report` }]);
  return { from: f, to: t };
}

/** Compares and stores; resolves to the stored report. */
export async function reconcile(db: ReportsDb, input: ReconcileInput): Promise<StoredReconciliation> {
  const their = theirReport(input.data);
  const period = periodOf(their, input.from, input.to);
  const ours = await ourSide(db, { accountId: input.accountId, provider: input.data.provider, ...period });
  const report = compare(their, ours, period, input.thresholds ?? DEFAULT_THRESHOLDS, {
    accountId: input.accountId,
  });
  const id = newId("rec");
  const [row] = await db
    .insert(reconciliations)
    .values({
      id,
      accountId: input.accountId,
      provider: input.data.provider,
      source: input.source,
      periodFrom: period.from,
      periodTo: period.to,
      ourCostNano: usdToNano(report.totals.ourCostUsd ?? "0"),
      theirCostNano: report.totals.theirCostUsd === null ? null : usdToNano(report.totals.theirCostUsd),
      flaggedLines: report.totals.flaggedLines,
      report: report as unknown as Record<string, unknown>,
    })
    .returning({ createdAt: reconciliations.createdAt });
  return { id, accountId: input.accountId, source: input.source, createdAt: row!.createdAt.toISOString(), ...report };
}

type Row = typeof reconciliations.$inferSelect;

const stored = (r: Row): StoredReconciliation => ({
  id: r.id,
  accountId: r.accountId,
  source: r.source as "upload" | "fetch",
  createdAt: r.createdAt.toISOString(),
  ...(r.report as unknown as ReportJson),
});

export async function getReconciliation(
  db: ReportsDb,
  accountId: string,
  id: string,
): Promise<StoredReconciliation | null> {
  const [row] = await db
    .select()
    .from(reconciliations)
    .where(and(eq(reconciliations.accountId, accountId), eq(reconciliations.id, id)));
  return row ? stored(row) : null;
}

export interface ReconciliationSummary {
  id: string;
  provider: string;
  source: string;
  period: { from: string; to: string };
  ourCostUsd: string;
  theirCostUsd: string | null;
  flaggedLines: number;
  causes: string[];
  createdAt: string;
}

export async function listReconciliations(
  db: ReportsDb,
  accountId: string,
  limit: number,
): Promise<ReconciliationSummary[]> {
  const rows = await db
    .select()
    .from(reconciliations)
    .where(eq(reconciliations.accountId, accountId))
    .orderBy(desc(reconciliations.createdAt), desc(reconciliations.id))
    .limit(limit);
  return rows.map((r) => {
    const report = r.report as unknown as ReportJson;
    return {
      id: r.id,
      provider: r.provider,
      source: r.source,
      period: { from: r.periodFrom, to: r.periodTo },
      ourCostUsd: report.totals.ourCostUsd ?? "0.00",
      theirCostUsd: report.totals.theirCostUsd,
      flaggedLines: r.flaggedLines,
      causes: report.causes.map((c) => c.code),
      createdAt: r.createdAt.toISOString(),
    };
  });
}
