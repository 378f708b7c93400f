/**
 * Outcomes: POST /v1/requests/{id}/outcome and /v1/workflows/{id}/outcome record whether a call or
 * a whole workflow succeeded. The subject's attribution is copied onto the outcome (a workflow's is
 * that of its first call), so outcome reports read one table and survive retention.
 *
 * A record is written after its response ends (waitUntil), so an outcome posted right after the
 * last byte may come before it: the lookup retries for up to `waitMs` before answering 404.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { outcomes, usageRollups } from "../../schema/reports";
import { nowDate, nowMs } from "../lib/clock";
import type { ReportsDb } from "./db";

export type OutcomeKind = "request" | "workflow";

export interface OutcomeInput {
  accountId: string;
  kind: OutcomeKind;
  subjectId: string;
  success: boolean;
  value?: number | null;
}

type Subject = Omit<typeof outcomes.$inferInsert, "accountId" | "kind" | "subjectId" | "success" | "value">;

const rr = requestRecords;
const rawSubject = {
  startedAt: rr.startedAt,
  provider: rr.provider,
  model: sql<string | null>`coalesce(${rr.modelAnswered}, ${rr.modelRequested})`,
  feature: rr.feature,
  tenant: rr.tenant,
  userId: rr.userId,
  environment: rr.environment,
  workflow: rr.workflow,
  keyId: rr.keyId,
  tags: rr.tags,
  route: rr.route,
};

async function findSubject(db: ReportsDb, accountId: string, kind: OutcomeKind, id: string): Promise<Subject | null> {
  if (kind === "request") {
    const [row] = await db
      .select(rawSubject)
      .from(rr)
      .where(and(eq(rr.accountId, accountId), eq(rr.id, id)));
    return row ?? null;
  }
  const [first] = await db
    .select(rawSubject)
    .from(rr)
    .where(and(eq(rr.accountId, accountId), eq(rr.workflow, id)))
    .orderBy(asc(rr.startedAt))
    .limit(1);
  // Its first calls may already be rolled up by retention.
  const r = usageRollups;
  const [rolled] = await db
    .select({
      startedAt: r.firstStartedAt,
      provider: r.provider,
      model: r.model,
      feature: r.feature,
      tenant: r.tenant,
      userId: r.userId,
      environment: r.environment,
      workflow: r.workflow,
      keyId: r.keyId,
      tags: r.tags,
      route: r.route,
    })
    .from(r)
    .where(and(eq(r.accountId, accountId), eq(r.workflow, id)))
    .orderBy(asc(r.firstStartedAt))
    .limit(1);
  if (first && rolled) return rolled.startedAt < first.startedAt ? rolled : first;
  return first ?? rolled ?? null;
}

export interface OutcomeJson {
  kind: OutcomeKind;
  id: string;
  success: boolean;
  value: number | null;
  startedAt: string;
  recordedAt: string;
}

/** Records (or replaces) an outcome; null when the account has no such request or workflow. */
export async function recordOutcome(
  db: ReportsDb,
  input: OutcomeInput,
  opts: { waitMs?: number; everyMs?: number } = {},
): Promise<OutcomeJson | null> {
  const deadline = nowMs() + (opts.waitMs ?? 2000);
  let subject = await findSubject(db, input.accountId, input.kind, input.subjectId);
  while (!subject && nowMs() < deadline) {
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 250));
    subject = await findSubject(db, input.accountId, input.kind, input.subjectId);
  }
  if (!subject) return null;
  const row = {
    ...subject,
    accountId: input.accountId,
    kind: input.kind,
    subjectId: input.subjectId,
    success: input.success,
    value: input.value ?? null,
    recordedAt: nowDate(),
  };
  const [saved] = await db
    .insert(outcomes)
    .values(row)
    .onConflictDoUpdate({
      target: [outcomes.accountId, outcomes.kind, outcomes.subjectId],
      set: { success: row.success, value: row.value, recordedAt: row.recordedAt },
    })
    .returning();
  return {
    kind: input.kind,
    id: input.subjectId,
    success: saved!.success,
    value: saved!.value,
    startedAt: saved!.startedAt.toISOString(),
    recordedAt: saved!.recordedAt.toISOString(),
  };
}
