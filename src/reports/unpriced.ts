/**
 * Models an account called that nothing could price — never silently $0 — with call and token
 * totals: GET /admin/v1/accounts/{account}/unpriced and the dashboard's unpriced page.
 */
import { and, count, desc, eq, max, sql, sum } from "drizzle-orm";
import { requestRecords } from "../../schema";
import type { Db } from "../lib/db";

export interface UnpricedModel {
  provider: string;
  model: string | null;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  lastSeenAt: string | null;
}

export async function queryUnpriced(db: Db, accountId: string): Promise<UnpricedModel[]> {
  const rr = requestRecords;
  const model = sql<string | null>`coalesce(${rr.modelAnswered}, ${rr.modelRequested})`;
  const rows = await db
    .select({
      provider: rr.provider,
      model,
      calls: count(),
      inputTokens: sum(
        sql`${rr.inputTokens} + ${rr.cacheReadTokens} + ${rr.cacheWriteTokens} + ${rr.cacheWrite1hTokens} + ${rr.inputAudioTokens} + ${rr.cacheAudioReadTokens}`,
      ).mapWith(Number),
      outputTokens: sum(sql`${rr.outputTokens} + ${rr.outputAudioTokens}`).mapWith(Number),
      lastSeenAt: max(rr.startedAt),
    })
    .from(rr)
    .where(and(eq(rr.accountId, accountId), eq(rr.priced, false)))
    .groupBy(rr.provider, model)
    .orderBy(desc(count()));
  return rows.map((r) => ({ ...r, lastSeenAt: r.lastSeenAt ? new Date(r.lastSeenAt).toISOString() : null }));
}
