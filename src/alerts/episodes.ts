/**
 * "Alert once per episode" for the cron job's watchers (spend anomalies, runaway workflows,
 * budget forecasts). Each run, a watcher says for every subject it saw whether it is over the
 * opening threshold (`open`) or only over the lower one that keeps an episode going (`hold`); any
 * open episode of the watcher's kind it does not mention has ended and is closed. An episode opens
 * with one insert that a partial unique index (schema/trust.ts watch_episodes) lets at most one
 * concurrent run win; the winner's event is returned for delivery — the others' are not.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { watchEpisodes } from "../../schema/trust";
import { newId } from "../lib/ids";
import type { ReportsDb } from "../reports/db";
import type { AccountEvent } from "./index";

export interface Observation {
  accountId: string;
  dimension: string;
  value: string;
  state: "open" | "hold";
  /** The alert to send if this observation opens an episode; gets the episode's id. */
  event: (episodeId: string) => AccountEvent;
}

const subject = (o: { accountId: string; dimension: string; value: string }) =>
  `${o.accountId}|${o.dimension}|${o.value}`;

/** Applies a run's observations to the kind's episodes; resolves to the events of episodes it opened. */
export async function settleEpisodes(
  db: ReportsDb,
  kind: string,
  observations: Observation[],
  now: Date,
): Promise<AccountEvent[]> {
  const open = await db
    .select({
      id: watchEpisodes.id,
      accountId: watchEpisodes.accountId,
      dimension: watchEpisodes.dimension,
      value: watchEpisodes.value,
    })
    .from(watchEpisodes)
    .where(and(eq(watchEpisodes.kind, kind), isNull(watchEpisodes.closedAt)));
  const openBySubject = new Map(open.map((e) => [subject(e), e.id]));
  const seen = new Set<string>();
  const opened: AccountEvent[] = [];
  const held: string[] = [];
  for (const o of observations) {
    const s = subject(o);
    seen.add(s);
    const existing = openBySubject.get(s);
    if (existing) {
      held.push(existing);
      continue;
    }
    if (o.state !== "open") continue;
    const id = newId("anm");
    const event = o.event(id);
    const [row] = await db
      .insert(watchEpisodes)
      .values({
        id,
        accountId: o.accountId,
        kind,
        dimension: o.dimension,
        value: o.value,
        openedAt: now,
        lastSeenAt: now,
        event: event as unknown as Record<string, unknown>,
      })
      .onConflictDoNothing()
      .returning({ id: watchEpisodes.id });
    if (row) opened.push(event);
  }
  if (held.length) await db.update(watchEpisodes).set({ lastSeenAt: now }).where(inArray(watchEpisodes.id, held));
  const ended = open.filter((e) => !seen.has(subject(e))).map((e) => e.id);
  if (ended.length) {
    await db
      .update(watchEpisodes)
      .set({ closedAt: now })
      .where(and(inArray(watchEpisodes.id, ended), sql`${watchEpisodes.closedAt} is null`));
  }
  return opened;
}
