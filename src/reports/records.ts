/**
 * Cost records one at a time: one call's record (GET /v1/requests/{id}, the dashboard's detail
 * page) and the latest calls matching a range and filters (the dashboard's requests table), newest
 * first, paged by a (started_at, id) cursor so a page never repeats or skips a record.
 */
import { and, desc, eq, gte, lt, or, type SQL } from "drizzle-orm";
import { requestRecords } from "../../schema";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { filterSql } from "./dimensions";
import type { ReportRange } from "./range";

export type RecordRow = typeof requestRecords.$inferSelect;

const rr = requestRecords;

/** 404 unless the account has a record with this id. */
export async function findRecord(db: Db, accountId: string, id: string): Promise<RecordRow> {
  const [row] = await db
    .select()
    .from(rr)
    .where(and(eq(rr.accountId, accountId), eq(rr.id, id)));
  if (!row) throw new GatewayError("not_found", `No request ${id} in this account.`);
  return row;
}

export interface RecordCursor {
  startedAt: Date;
  id: string;
}

/** Up to `limit` records in the range, newest first, older than `before` when given; `next` pages on. */
export async function listRecords(
  db: Db,
  q: ReportRange & { accountId: string; limit: number; before?: RecordCursor },
): Promise<{ rows: RecordRow[]; next: RecordCursor | null }> {
  const where: SQL[] = [
    eq(rr.accountId, q.accountId),
    gte(rr.startedAt, q.from),
    lt(rr.startedAt, q.to),
    ...q.filters.map((f) => filterSql("raw", f)),
  ];
  if (q.before) {
    where.push(
      or(lt(rr.startedAt, q.before.startedAt), and(eq(rr.startedAt, q.before.startedAt), lt(rr.id, q.before.id)))!,
    );
  }
  const rows = await db
    .select()
    .from(rr)
    .where(and(...where))
    .orderBy(desc(rr.startedAt), desc(rr.id))
    .limit(q.limit + 1);
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return { rows: page, next: more && last ? { startedAt: last.startedAt, id: last.id } : null };
}
