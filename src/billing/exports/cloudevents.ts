/**
 * Usage as CloudEvents 1.0 (structured JSON) for OpenMeter-style ingestion (docs/billing.md §8):
 * one event per record, `id` = the record id (so a consumer that de-duplicates on id counts a record
 * once however often it is exported), `subject` = the tenant, `time` = when the request started,
 * integer token counts and nano-USD amounts (JSON integers, never fractions).
 * Batch mode is a JSON array of such events (application/cloudevents-batch+json); JSON lines one
 * per line. Required attributes per the CloudEvents 1.0 JSON schema: specversion, id, source, type.
 */
import { and, asc, eq, gte, lt, sql } from "drizzle-orm";
import { requestRecords } from "../../../schema";
import type { Db } from "../../lib/db";
import { USAGE_COUNTS } from "../../usage";
import { periodOf } from "../invoices";

export const CLOUDEVENT_TYPE = "tollgate.llm.usage.v1";
/** Records with no tenant are exported under this subject (the reports' name for it). */
export const UNALLOCATED = "(unallocated)";

export interface UsageCloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: typeof CLOUDEVENT_TYPE;
  subject: string;
  time: string;
  datacontenttype: "application/json";
  data: Record<string, string | number | null>;
}

export function usageCloudEvent(r: typeof requestRecords.$inferSelect): UsageCloudEvent {
  const tokens = Object.fromEntries(USAGE_COUNTS.map((k) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), r[k]]));
  return {
    specversion: "1.0",
    id: r.id,
    source: `tollgate://${r.accountId}`,
    type: CLOUDEVENT_TYPE,
    subject: r.tenant ?? UNALLOCATED,
    time: r.startedAt.toISOString(),
    datacontenttype: "application/json",
    data: {
      provider: r.provider,
      model: r.modelAnswered ?? r.modelRequested,
      feature: r.feature,
      env: r.environment,
      workflow: r.workflow,
      ...tokens,
      // JSON integers: nano-USD amounts stay below 2^53 (src/budgets/rules.ts MAX_CAP_NANO).
      cost_nano: Number(r.costNano),
      billed_nano: r.billedNano === null ? null : Number(r.billedNano),
    },
  };
}

/** The events of a period (the account's invoice month), in (started_at, id) order, a page at a time. */
export async function periodCloudEvents(
  db: Db,
  accountId: string,
  q: { period: string; tenant?: string; after?: string; limit: number },
): Promise<UsageCloudEvent[]> {
  const { window } = await periodOf(db, accountId, q.period);
  const rr = requestRecords;
  const rows = await db
    .select()
    .from(rr)
    .where(
      and(
        eq(rr.accountId, accountId),
        gte(rr.startedAt, new Date(window.startMs)),
        lt(rr.startedAt, new Date(window.endMs)),
        q.tenant === undefined ? undefined : eq(rr.tenant, q.tenant),
        q.after === undefined
          ? undefined
          : sql`(${rr.startedAt}, ${rr.id}) > (select r.started_at, r.id from ${rr} r where r.account_id = ${accountId} and r.id = ${q.after})`,
      ),
    )
    .orderBy(asc(rr.startedAt), asc(rr.id))
    .limit(q.limit);
  return rows.map(usageCloudEvent);
}

/** JSON lines: one structured-mode event per line (OpenMeter's ingest reads either form). */
export const jsonLines = (events: UsageCloudEvent[]): string => events.map((e) => `${JSON.stringify(e)}\n`).join("");
